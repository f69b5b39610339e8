//! Request ids: the server's own for every HTTP request, with the client's beside it.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use uuid::Uuid;

/// The ids of one HTTP request: the server's own (a new UUID v7, whatever the client sends),
/// sent back in the `x-request-id` response header and recorded in audit entries and the
/// personal-data access log; and the client's `x-request-id`, kept beside it when it is a sane
/// token, so that a client can find its requests without choosing what the server records as
/// their identity.
#[derive(Debug, Clone)]
pub struct RequestId {
    pub id: String,
    pub client: Option<String>,
}

/// Longest client request id kept.
pub const MAX_CLIENT_REQUEST_ID: usize = 128;

/// The request and response header of request ids.
pub const REQUEST_ID: &str = "x-request-id";

impl RequestId {
    /// A new server id, with the client's id from `headers` when it is 1 to 128 characters of
    /// `A-Z a-z 0-9 - _ . :` (anything else is dropped: it would go into logs and the audit
    /// trail).
    pub fn new(headers: &HeaderMap) -> RequestId {
        let client = headers
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .filter(|s| {
                !s.is_empty()
                    && s.len() <= MAX_CLIENT_REQUEST_ID
                    && s.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
            })
            .map(str::to_owned);
        RequestId {
            id: Uuid::now_v7().to_string(),
            client,
        }
    }
}

/// Middleware: gives the request its ids and its `http.request` span, and sends the id back.
pub async fn middleware(mut request: Request, next: Next) -> Response {
    let ids = RequestId::new(request.headers());
    let id = ids.id.clone();
    // The span of the whole request: every log line inside carries `request_id`, and its
    // OpenTelemetry parent is the caller's `traceparent`. Only the path is recorded: a GET
    // query string may hold variables with personal data.
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let span = tracing::info_span!(
        "http.request",
        otel.name = %format_args!("{method} {path}"),
        otel.kind = "server",
        http.request.method = %method,
        url.path = %path,
        request_id = %id,
        client_request_id = tracing::field::Empty,
        http.response.status_code = tracing::field::Empty,
    );
    if let Some(client) = &ids.client {
        span.record("client_request_id", client.as_str());
    }
    // Fails only when no OpenTelemetry layer is installed: then there is no trace to join.
    let _ = span.set_parent(crate::telemetry::remote_parent(request.headers()));
    request.extensions_mut().insert(ids);
    let mut response = next.run(request).instrument(span.clone()).await;
    span.record("http.response.status_code", response.status().as_u16());
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}
