//! Open311 GeoReport v2 at `/open311/v2/` (see `docs/open311.md`): services are incident
//! categories, service requests are incidents.
//!
//! The endpoint is another transport of the one pipeline, not a second API. Every read and
//! write of an identified caller is a GraphQL operation run through
//! [`AppState::run`](crate::server::AppState::run) as that caller — `incidents`, `nodes`,
//! `incidentCategories`, `reportIncident` — so scoping, masking, the PII access log, cost and
//! rate limits, metrics and audit entries are those of GraphQL by construction, and a request
//! posted here takes the same code path as `reportIncident`. The one exception is deliberate
//! and narrow: what an anonymous GeoReport client may list ([`public`]), read by a dedicated
//! query that selects only non-personal columns of publicly listed categories.
//!
//! ```text
//! mod (router, timeout, metrics, errors)
//! ├─ handlers (parameters, authentication, the GraphQL operations, merging)
//! │  ├─ mapping (categories → services, incidents → requests, statuses)
//! │  └─ public  (the anonymous listing)
//! └─ xml (the `.xml` variants)
//! ```

mod handlers;
mod mapping;
mod public;
mod xml;

use crate::error::ApiError;
use crate::server::AppState;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use std::net::IpAddr;
use std::time::Duration;

/// The channel a transport says an operation came through, attached to the GraphQL request
/// as request data (clients cannot set request data). `reportIncident` reports with this
/// source when it is present; Open311 attaches `IncidentSource::Open311`.
#[derive(Debug, Clone, Copy)]
pub struct ReportedVia(pub entity::IncidentSource);

/// How the server finds a request's client address (behind trusted proxies): the router
/// hands its resolver in, so that anonymous callers get the same rate-limit bucket here as
/// over GraphQL.
pub type ClientIp = fn(IpAddr, &HeaderMap, &[ipnet::IpNet]) -> IpAddr;

#[derive(Clone, Copy)]
struct ClientResolver(ClientIp);

/// The routes of GeoReport v2, to be nested at `/open311/v2`.
pub fn router(state: AppState, client_ip: ClientIp) -> Router<AppState> {
    Router::new()
        .route("/{file}", get(handlers::get_root).post(handlers::post_root))
        .route("/services/{file}", get(handlers::get_service))
        .route("/requests/{file}", get(handlers::get_request))
        .fallback(not_found)
        .layer(axum::Extension(ClientResolver(client_ip)))
        .layer(middleware::from_fn_with_state(state, guard))
}

/// The format of an answer, from the file name's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

impl Format {
    /// Splits `name.json` / `name.xml` into the name and the format.
    fn split(file: &str) -> Option<(&str, Format)> {
        if let Some(stem) = file.strip_suffix(".json") {
            Some((stem, Format::Json))
        } else {
            file.strip_suffix(".xml").map(|stem| (stem, Format::Xml))
        }
    }

    /// `value` as this format's answer; `root`/`item` name the XML elements.
    fn answer(self, status: StatusCode, root: &str, item: &str, value: &Value) -> Response {
        match self {
            Format::Json => (status, axum::Json(value)).into_response(),
            Format::Xml => (
                status,
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/xml; charset=utf-8"),
                )],
                xml::document(root, item, value),
            )
                .into_response(),
        }
    }
}

/// An error answer in the shape of the spec: `[{"code": 400, "description": "…"}]` with the
/// same HTTP status. The description is an [`ApiError`]'s text or one of ours, never a
/// database message.
#[derive(Debug)]
pub struct Open311Error {
    pub status: StatusCode,
    pub description: String,
    /// Seconds to wait before retrying (429).
    pub retry_after: Option<u64>,
}

impl Open311Error {
    pub fn new(status: StatusCode, description: impl Into<String>) -> Self {
        Open311Error {
            status,
            description: description.into(),
            retry_after: None,
        }
    }

    pub fn bad_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, description)
    }

    pub fn not_found(description: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, description)
    }

    fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
    }

    /// The answer of this error in `format`.
    pub fn answer(&self, format: Format) -> Response {
        let body = json!([{ "code": self.status.as_u16(), "description": self.description }]);
        let mut r = format.answer(self.status, "errors", "error", &body);
        if let Some(secs) = self.retry_after {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        r
    }
}

impl From<&ApiError> for Open311Error {
    fn from(e: &ApiError) -> Self {
        use ApiError as E;
        let status = match e {
            E::BadUserInput { .. } | E::MaxCostExceeded { .. } | E::NotFoundField { .. } => {
                StatusCode::BAD_REQUEST
            }
            E::NotFound(_) => StatusCode::NOT_FOUND,
            E::Conflict { .. } => StatusCode::CONFLICT,
            // GeoReport answers a key that is not valid with 403.
            E::Forbidden(_) | E::Unauthenticated => StatusCode::FORBIDDEN,
            E::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            E::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            E::Timeout { .. } => StatusCode::REQUEST_TIMEOUT,
            E::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            E::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => return Open311Error::internal(),
        };
        let description = match e {
            E::Unauthenticated => "invalid api_key".to_owned(),
            e => e.to_string(),
        };
        Open311Error {
            status,
            description,
            retry_after: match e {
                E::RateLimited {
                    retry_after_secs, ..
                } => Some(*retry_after_secs),
                _ => None,
            },
        }
    }
}

impl From<ApiError> for Open311Error {
    fn from(e: ApiError) -> Self {
        Open311Error::from(&e)
    }
}

/// The format a request asked for, from the last path segment (JSON when it names none).
fn format_of(path: &str) -> Format {
    match path.rsplit('/').next().and_then(Format::split) {
        Some((_, f)) => f,
        None => Format::Json,
    }
}

async fn not_found(request: Request) -> Response {
    Open311Error::not_found("no such GeoReport v2 resource").answer(format_of(request.uri().path()))
}

/// The metric of Open311 answers.
const REQUESTS: &str = "gridgov_open311_requests_total";

/// The request timeout, an error body in the spec's shape for every error answer axum gives
/// itself (405, 413, a rejected path), and the request metric (labels: route and status
/// class, both bounded).
async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let format = format_of(request.uri().path());
    let route = match request.uri().path().trim_start_matches('/').split_once('/') {
        Some(("services", _)) => "service",
        Some(("requests", _)) => "request",
        _ => "root",
    };
    let secs = state.settings.limits.request_timeout;
    let response = match tokio::time::timeout(Duration::from_secs(secs), next.run(request)).await {
        Ok(r) => r,
        Err(_) => Open311Error::from(ApiError::Timeout { secs }).answer(format),
    };
    let status = response.status();
    // Ours are JSON or XML; anything else is axum's own plain-text refusal.
    let ours = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| {
            v.as_bytes().starts_with(b"application/json") || v.as_bytes().starts_with(b"text/xml")
        });
    let response = if (status.is_client_error() || status.is_server_error()) && !ours {
        let description = status
            .canonical_reason()
            .unwrap_or("refused")
            .to_lowercase();
        let mut answer = Open311Error::new(status, description).answer(format);
        if let Some(allow) = response.headers().get(header::ALLOW) {
            answer.headers_mut().insert(header::ALLOW, allow.clone());
        }
        answer
    } else {
        response
    };
    let class = match response.status().as_u16() {
        200..=299 => "2xx",
        400..=499 => "4xx",
        _ => "5xx",
    };
    metrics::counter!(REQUESTS, "route" => route, "status" => class).increment(1);
    response
}
