//! Routes and layers.
//!
//! `/graphql` (see [`super::http`]), `/graphql/ws` (see [`super::ws`]), `/schema.graphql` (the
//! deployed SDL), `/healthz` (the process is alive), `/readyz` (the database answers and its
//! migrations are current) and `/metrics` (Prometheus text format; on a listener of its own
//! when `GRIDGOV_METRICS_LISTEN` is set), and Open311 GeoReport v2 under `/open311/v2/` (see
//! [`crate::open311`]: it runs GraphQL operations through the pipeline and has its own error
//! bodies and timeout).
//!
//! Layers, outermost first: request ids and the request span; CORS (when origins are
//! configured); response compression (gzip, br, zstd, as the client accepts); gzip request
//! bodies; and, closest to the handlers, the request timeout and the rewriting of any
//! non-GraphQL error answer on the GraphQL routes into a GraphQL error body.

use super::reply::{self, Media};
use super::state::AppState;
use super::{http, request_id, ws};
use crate::error::ApiError;
use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::net::SocketAddr;
use std::time::Duration;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::decompression::RequestDecompressionLayer;

/// The request headers a browser client may send cross-origin.
const CORS_HEADERS: [&str; 6] = [
    "authorization",
    "content-type",
    "x-gridgov-csrf",
    "apollo-require-preflight",
    "traceparent",
    "x-request-id",
];

/// The response headers a cross-origin client may read.
const EXPOSED_HEADERS: [&str; 5] = [
    "x-request-id",
    "retry-after",
    "ratelimit",
    "ratelimit-policy",
    "www-authenticate",
];

/// The router, shared by `gridgov serve` and the tests.
pub fn router(state: AppState) -> Router {
    let mut graphql = Router::new()
        .route("/graphql", get(http::graphql_get).post(http::graphql_post))
        .route("/graphql/ws", get(ws::upgrade))
        .route("/schema.graphql", get(schema_sdl));
    if state.settings.graphiql() {
        graphql = graphql.route("/graphql/assets/{file}", get(crate::graphiql::asset));
    }
    let graphql = graphql.layer(middleware::from_fn_with_state(
        state.clone(),
        graphql_errors,
    ));
    let mut router = Router::new()
        .merge(graphql)
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .nest(
            "/open311/v2",
            crate::open311::router(state.clone(), super::client_ip::client_ip),
        );
    if state.settings.metrics_listen.is_none() {
        router = router.route("/metrics", get(metrics));
    }
    let router = router
        .layer(RequestDecompressionLayer::new().gzip(true))
        .layer(CompressionLayer::new().gzip(true).br(true).zstd(true));
    let router = match cors(&state.settings.cors_origins) {
        Some(cors) => router.layer(cors),
        None => router,
    };
    router
        .layer(middleware::from_fn(request_id::middleware))
        .with_state(state)
}

/// The CORS layer of `origins`, when there are any: exact origins may send credentials; with
/// `*` no credentials are allowed (browsers refuse the combination anyway).
fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let layer = CorsLayer::new()
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers(CORS_HEADERS.map(HeaderName::from_static))
        .expose_headers(EXPOSED_HEADERS.map(HeaderName::from_static))
        .max_age(Duration::from_secs(600));
    if origins.iter().any(|o| o == "*") {
        return Some(layer.allow_origin(AllowOrigin::any()));
    }
    let exact: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    Some(
        layer
            .allow_origin(AllowOrigin::list(exact))
            .allow_credentials(true),
    )
}

/// The request timeout, and a GraphQL error body for every error answer on the GraphQL routes
/// that is not one already: a timeout (408), a body over the limit (413), an unsupported
/// `Content-Encoding` (415), a method the route does not take (405).
async fn graphql_errors(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let media = reply::negotiate(request.headers());
    let secs = state.settings.limits.request_timeout;
    let response = match tokio::time::timeout(Duration::from_secs(secs), next.run(request)).await {
        Ok(response) => response,
        Err(_) => return reply::refusal(&ApiError::Timeout { secs }, media),
    };
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if !status.is_client_error() && !status.is_server_error() || is_json {
        return response;
    }
    let error = match status {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge {
            limit: state.settings.limits.body_limit,
        },
        StatusCode::METHOD_NOT_ALLOWED => {
            ApiError::MethodNotAllowed("this route takes GET and POST only")
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::BadUserInput {
            message: "unsupported Content-Encoding: send the body as is or gzip-compressed"
                .to_owned(),
            field: None,
        },
        StatusCode::REQUEST_TIMEOUT => ApiError::Timeout { secs },
        s if s.is_client_error() => ApiError::BadUserInput {
            message: format!(
                "bad request ({})",
                s.canonical_reason().unwrap_or("refused")
            ),
            field: None,
        },
        _ => ApiError::Internal,
    };
    let mut answer = reply::refusal(&error, media);
    *answer.status_mut() = status;
    if let Some(allow) = response.headers().get(header::ALLOW) {
        answer.headers_mut().insert(header::ALLOW, allow.clone());
    }
    answer
}

/// `GET /schema.graphql`: the deployed SDL, to any caller while introspection is on and to
/// authenticated callers (any valid credential) when it is off, with an `ETag` so that
/// tooling can poll it cheaply (`If-None-Match` → 304).
async fn schema_sdl(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let media = Media::Json;
    let client = super::client_ip::client_ip(peer.ip(), &headers, &state.settings.trusted_proxies);
    let credential = headers.contains_key(header::AUTHORIZATION);
    match state.authenticate(&headers, client).await {
        Err(e) => return reply::refusal(&e, media),
        Ok(_) if !credential && !state.settings.introspection() => {
            let mut r = reply::refusal(&ApiError::Unauthenticated, media);
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(reply::CREDENTIAL_REQUIRED),
            );
            return r;
        }
        Ok(_) => {}
    }
    let sdl = &state.sdl;
    let etag = HeaderValue::from_str(&sdl.etag).ok();
    let matches = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| {
            let t = t.trim();
            t == "*" || t.trim_start_matches("W/") == sdl.etag
        });
    let mut response = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            )],
            sdl.text.clone(),
        )
            .into_response()
    };
    if let Some(etag) = etag {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    response
}

async fn healthz() -> &'static str {
    "ok"
}

/// 200 `ready` when the database answers and its migrations are current, else 503 with the
/// reason as JSON (`{"ready": false, "reason": "database unavailable"}`).
async fn readyz(State(state): State<AppState>) -> Response {
    match crate::db::readiness(&state.db, state.replica.as_ref()).await {
        Ok(()) => "ready".into_response(),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({ "ready": false, "reason": reason.to_string() })),
        )
            .into_response(),
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    let body = crate::metrics::render(&state.db, state.replica.as_ref());
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

/// The router of a metrics listener of its own: `/metrics` and nothing else.
pub fn metrics_router(state: AppState) -> Router {
    let secs = state.settings.limits.request_timeout;
    Router::new()
        .route("/metrics", get(metrics))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(secs),
        ))
        .with_state(state)
}
