//! The HTTP answer of a GraphQL response: the media type the client accepts, the status the
//! GraphQL-over-HTTP specification gives it, and the headers that go with it.
//!
//! - The media type follows the `Accept` header's q-values: `application/graphql-response+json`
//!   when the client ranks it at least as high as `application/json` (Apollo Client 4 sends
//!   `application/graphql-response+json,application/json;q=0.9`); `application/json` without
//!   an `Accept` header, for `*/*` alone, or when the client prefers it.
//! - The status comes from the errors' [`ApiError`], never from their text: a persisted
//!   document unknown here (`PERSISTED_QUERY_NOT_FOUND`, `…_NOT_SUPPORTED`) → 200 with
//!   `Cache-Control: no-cache`, as Apollo Server answers (Apollo Client's link then sends the
//!   text, where a 400 would make it stop using hashes); every error
//!   `UNAUTHENTICATED` → 401 with `WWW-Authenticate: Bearer` (RFC 6750); every error
//!   `RATE_LIMITED` → 429 with `Retry-After`; every error `UNAVAILABLE` → 503;
//!   `MAX_COST_EXCEEDED` → 400; the transport's own refusals 400, 405, 408 and 413; any other
//!   request error (nothing executed) → 400 with `application/graphql-response+json`, 200 with
//!   `application/json`; everything else 200.
//! - Every non-2xx answer is a GraphQL response body, `{"errors": [...]}` with
//!   `extensions.code` in each error.

use crate::error::ApiError;
use async_graphql::Response as GqlResponse;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

pub const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
pub const JSON: &str = "application/json";

/// The media type of an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Media {
    GraphqlResponse,
    Json,
}

impl Media {
    fn as_str(self) -> &'static str {
        match self {
            Media::GraphqlResponse => GRAPHQL_RESPONSE,
            Media::Json => JSON,
        }
    }
}

/// The q-value `accept` gives `media`: that of the most specific matching range (RFC 9110
/// §12.5.1), 0 when none matches. `wildcard` tells whether only `*/*` or `application/*`
/// matched.
fn quality(accept: &str, media: &str) -> (f32, bool) {
    let (ty, _) = media.split_once('/').unwrap_or((media, ""));
    let mut best: Option<(u8, f32)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let specificity = if name == media {
            3
        } else if name.strip_suffix("/*") == Some(ty) {
            2
        } else if name == "*/*" {
            1
        } else {
            continue;
        };
        let q = parts
            .filter_map(|p| {
                let (k, v) = p.split_once('=')?;
                (k.trim().eq_ignore_ascii_case("q")).then(|| v.trim().parse::<f32>().ok())?
            })
            .next()
            .unwrap_or(1.0)
            .clamp(0.0, 1.0);
        if best.is_none_or(|(s, _)| specificity > s) {
            best = Some((specificity, q));
        }
    }
    match best {
        Some((s, q)) => (q, s < 3),
        None => (0.0, false),
    }
}

/// The media type to answer with, from the `Accept` header.
pub fn negotiate(headers: &HeaderMap) -> Media {
    let accept = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    if accept.trim().is_empty() {
        return Media::Json;
    }
    let (graphql, by_wildcard) = quality(&accept, GRAPHQL_RESPONSE);
    let (json, _) = quality(&accept, JSON);
    // A bare `*/*` is what legacy clients and curl send: they get `application/json`.
    if graphql > 0.0 && graphql >= json && !by_wildcard {
        Media::GraphqlResponse
    } else {
        Media::Json
    }
}

/// Errors raised before execution started (parse, validation, coercion, limits, refusals):
/// the response has no data and no error has a path.
fn is_request_error(r: &GqlResponse) -> bool {
    !r.errors.is_empty()
        && r.data == async_graphql::Value::Null
        && r.errors.iter().all(|e| e.path.is_empty())
}

/// Whether every error says that a persisted document is unknown here (and that the client
/// should send its text, or stop sending hashes).
fn is_persisted_miss(r: &GqlResponse) -> bool {
    !r.errors.is_empty()
        && r.errors.iter().all(|e| {
            matches!(
                ApiError::of(e),
                Some(ApiError::PersistedQueryNotFound | ApiError::PersistedQueryNotSupported)
            )
        })
}

/// The status of a lone operation's response.
pub fn status(r: &GqlResponse, media: Media) -> StatusCode {
    let errors: Vec<Option<&ApiError>> = r.errors.iter().map(ApiError::of).collect();
    let all =
        |f: fn(&ApiError) -> bool| !errors.is_empty() && errors.iter().all(|e| e.is_some_and(f));
    if is_persisted_miss(r) {
        // 200 as Apollo Server answers: Apollo Client stops sending hashes after a 400.
        StatusCode::OK
    } else if all(|e| matches!(e, ApiError::Unauthenticated)) {
        StatusCode::UNAUTHORIZED
    } else if all(|e| matches!(e, ApiError::Unavailable)) {
        // The database is unreachable: tell load balancers and clients to come back later
        // rather than that the request was wrong.
        StatusCode::SERVICE_UNAVAILABLE
    } else if all(|e| matches!(e, ApiError::RateLimited { .. })) {
        StatusCode::TOO_MANY_REQUESTS
    } else if all(|e| matches!(e, ApiError::PayloadTooLarge { .. })) {
        StatusCode::PAYLOAD_TOO_LARGE
    } else if all(|e| matches!(e, ApiError::Timeout { .. })) {
        StatusCode::REQUEST_TIMEOUT
    } else if all(|e| matches!(e, ApiError::MethodNotAllowed(_))) {
        StatusCode::METHOD_NOT_ALLOWED
    } else if all(|e| matches!(e, ApiError::MaxCostExceeded { .. }))
        || (is_request_error(r) && media == Media::GraphqlResponse)
    {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    }
}

/// The body of a response: without `data` when nothing executed.
fn body(r: &GqlResponse) -> serde_json::Value {
    let mut value = serde_json::to_value(r).unwrap_or_else(|e| {
        tracing::error!(error = %e, "response serialisation failed");
        serde_json::json!({ "errors": [{ "message": "internal error", "extensions": { "code": "INTERNAL" } }] })
    });
    if is_request_error(r)
        && let Some(map) = value.as_object_mut()
    {
        map.remove("data");
    }
    value
}

fn json(status: StatusCode, media: Media, body: &serde_json::Value) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => {
            let mut r = (status, bytes).into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(media.as_str()),
            );
            r
        }
        Err(e) => {
            tracing::error!(error = %e, "response serialisation failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// `WWW-Authenticate` of a 401 (RFC 6750 §3): a credential was sent and refused.
pub const INVALID_TOKEN: &str = "Bearer realm=\"gridgov\", error=\"invalid_token\"";
/// `WWW-Authenticate` of a 401 for a request that needs a credential and has none.
pub const CREDENTIAL_REQUIRED: &str = "Bearer realm=\"gridgov\"";

/// The HTTP answer of one operation.
pub fn single(r: &GqlResponse, media: Media) -> Response {
    let status = status(r, media);
    let mut response = json(status, media, &body(r));
    let headers = response.headers_mut();
    if is_persisted_miss(r) {
        // A miss must not be cached: the client's next request registers the document.
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-cache, must-revalidate"),
        );
    }
    match status {
        StatusCode::UNAUTHORIZED => {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(INVALID_TOKEN),
            );
        }
        StatusCode::TOO_MANY_REQUESTS => {
            let wait = r.errors.iter().find_map(|e| match ApiError::of(e) {
                Some(ApiError::RateLimited {
                    retry_after_secs, ..
                }) => Some(*retry_after_secs),
                _ => None,
            });
            if let Some(wait) = wait {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(wait.max(1)));
            }
        }
        StatusCode::METHOD_NOT_ALLOWED => {
            headers.insert(header::ALLOW, HeaderValue::from_static("POST"));
        }
        _ => {}
    }
    response
}

/// The HTTP answer of an array batch: 200 with one response per operation.
pub fn batch(responses: &[GqlResponse], media: Media) -> Response {
    let bodies: Vec<serde_json::Value> = responses.iter().map(body).collect();
    json(StatusCode::OK, media, &serde_json::Value::Array(bodies))
}

/// The answer of a request refused before any operation ran: a request that is not a
/// well-formed GraphQL-over-HTTP request is 400 whatever the media type.
pub fn refusal(e: &ApiError, media: Media) -> Response {
    let mut response = single(&GqlResponse::from_errors(vec![e.to_server_error()]), media);
    if response.status() == StatusCode::OK {
        *response.status_mut() = StatusCode::BAD_REQUEST;
    }
    response
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failed test may panic
mod tests {
    use super::*;

    fn accept(v: &str) -> Media {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(v).expect("header"));
        negotiate(&h)
    }

    #[test]
    fn q_values_choose_the_media_type() {
        assert_eq!(
            accept("application/graphql-response+json,application/json;q=0.9"),
            Media::GraphqlResponse,
            "Apollo Client 4's default"
        );
        assert_eq!(
            accept("application/graphql-response+json;q=0.5, application/json"),
            Media::Json
        );
        assert_eq!(accept("application/json"), Media::Json);
        assert_eq!(
            accept("application/graphql-response+json"),
            Media::GraphqlResponse
        );
        assert_eq!(accept("*/*"), Media::Json, "legacy clients");
        assert_eq!(
            accept("application/graphql-response+json;q=0, */*"),
            Media::Json,
            "q=0 refuses"
        );
        assert_eq!(
            accept("application/json, application/graphql-response+json"),
            Media::GraphqlResponse,
            "a tie goes to the GraphQL media type"
        );
        assert_eq!(accept("text/html"), Media::Json);
        assert_eq!(negotiate(&HeaderMap::new()), Media::Json);
    }

    #[test]
    fn the_status_follows_the_errors_not_their_text() {
        let only = |e: ApiError| GqlResponse::from_errors(vec![e.to_server_error()]);
        assert_eq!(
            status(&only(ApiError::Unauthenticated), Media::Json),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            status(&only(ApiError::Unavailable), Media::GraphqlResponse),
            StatusCode::SERVICE_UNAVAILABLE
        );
        let mut imitation = async_graphql::ServerError::new("database unavailable", None);
        imitation.extensions = Some(Default::default());
        assert_eq!(
            status(&GqlResponse::from_errors(vec![imitation]), Media::Json),
            StatusCode::OK,
            "a message that reads like an outage is not one"
        );
        assert_eq!(
            status(
                &only(ApiError::MaxCostExceeded {
                    requested: 2,
                    maximum: 1
                }),
                Media::Json
            ),
            StatusCode::BAD_REQUEST
        );
    }
}
