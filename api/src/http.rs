//! GraphQL over HTTP: content negotiation, CSRF protection, batch limits and status codes.
//!
//! - `POST /graphql` takes a JSON body (`application/json` or `application/graphql-response+json`).
//!   Other content types (the ones a browser may send cross-site without a preflight, or none)
//!   are refused unless the request carries a non-empty `x-gridgov-csrf` or
//!   `apollo-require-preflight` header.
//! - `GET /graphql` runs queries from the query string; mutations over GET are refused (405).
//! - The response is `application/graphql-response+json` when the client accepts it (request
//!   errors then answer 400 without `data`), otherwise `application/json` with 200, except for
//!   credential (401), rate-limit (429), body (400/413) and database-unavailable (503) failures.
//!   A persisted-document miss answers 200 either way, as Apollo Client expects.

use crate::app::{AppState, RequestId};
use crate::error::ApiError;
use async_graphql::parser::types::OperationType;
use async_graphql::{BatchRequest, ErrorExtensionValues, Response as GqlResponse, ServerError};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Extension, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

/// The media type to answer with, from the `Accept` header.
fn response_type(headers: &HeaderMap) -> &'static str {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let accepts = |wanted: &str| {
        accept.split(',').any(|part| {
            let mut it = part.split(';');
            let media = it.next().unwrap_or("").trim();
            let refused = it.any(|p| p.trim().replace(' ', "") == "q=0");
            media.eq_ignore_ascii_case(wanted) && !refused
        })
    };
    if accepts(GRAPHQL_RESPONSE) && !accepts(JSON) {
        GRAPHQL_RESPONSE
    } else {
        JSON
    }
}

fn error(message: impl Into<String>, code: &str) -> ServerError {
    let mut e = ServerError::new(message, None);
    let mut ext = ErrorExtensionValues::default();
    ext.set("code", code);
    e.extensions = Some(ext);
    e
}

/// A response made of request errors only, with `status`.
fn refuse(status: StatusCode, headers: &HeaderMap, message: impl Into<String>) -> Response {
    let body = GqlResponse::from_errors(vec![error(message, "BAD_USER_INPUT")]);
    let mut response = json_response(
        status,
        response_type(headers),
        &serde_json::json!({ "errors": body.errors }),
    );
    if status == StatusCode::METHOD_NOT_ALLOWED {
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
    }
    response
}

fn json_response(
    status: StatusCode,
    media: &'static str,
    body: &impl serde::Serialize,
) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => {
            let mut r = (status, bytes).into_response();
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
            r
        }
        Err(e) => {
            tracing::error!(error = %e, "response serialisation failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Errors raised before execution started (parse, validation, coercion, limits).
fn is_request_error(r: &GqlResponse) -> bool {
    !r.errors.is_empty()
        && r.data == async_graphql::Value::Null
        && r.errors.iter().all(|e| e.path.is_empty())
}

/// The `extensions.code` of an error.
pub(crate) fn code_of(e: &ServerError) -> Option<String> {
    e.extensions
        .as_ref()
        .and_then(|x| x.get("code"))
        .and_then(|v| match v {
            async_graphql::Value::String(s) => Some(s.clone()),
            _ => None,
        })
}

/// The HTTP response of one operation.
fn single(r: GqlResponse, media: &'static str) -> Response {
    let codes: Vec<Option<String>> = r.errors.iter().map(code_of).collect();
    let only = |code: &str| !codes.is_empty() && codes.iter().all(|c| c.as_deref() == Some(code));
    let unavailable = ApiError::Unavailable.to_string();
    // Persisted documents: Apollo Client stops using hashes after a 400, and a miss must not
    // be cached (as Apollo Server answers).
    let persisted_miss = only("PERSISTED_QUERY_NOT_FOUND") || only("PERSISTED_QUERY_NOT_SUPPORTED");
    let status = if persisted_miss {
        StatusCode::OK
    } else if only("UNAUTHENTICATED") {
        StatusCode::UNAUTHORIZED
    } else if !r.errors.is_empty() && r.errors.iter().all(|e| e.message == unavailable) {
        // Every error is the database being unreachable: tell load balancers and clients to
        // come back later rather than that the request was wrong.
        StatusCode::SERVICE_UNAVAILABLE
    } else if only("RATE_LIMITED") {
        StatusCode::TOO_MANY_REQUESTS
    } else if media == GRAPHQL_RESPONSE && is_request_error(&r) {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let retry_after = r.errors.iter().find_map(|e| {
        e.extensions
            .as_ref()
            .and_then(|x| x.get("retryAfter"))
            .map(|v| v.to_string())
    });
    let mut response = if media == GRAPHQL_RESPONSE && is_request_error(&r) {
        json_response(status, media, &serde_json::json!({ "errors": r.errors }))
    } else {
        json_response(status, media, &r)
    };
    if persisted_miss {
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-cache, must-revalidate"),
        );
    }
    if status == StatusCode::TOO_MANY_REQUESTS
        && let Some(v) = retry_after.and_then(|v| HeaderValue::from_str(&v).ok())
    {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

/// The operation a request would run, if its document parses.
fn operation_type(request: &mut async_graphql::Request) -> Option<OperationType> {
    let name = request.operation_name.clone();
    let name = name.as_deref();
    let doc = request.parsed_query().ok()?;
    doc.operations
        .iter()
        .find(|(n, _)| name.is_none() || n.map(|n| n.as_str()) == name)
        .map(|(_, op)| op.node.ty)
}

/// GraphiQL for a browser asking for a page without a query (when GraphiQL is on); otherwise a
/// query from the query string.
pub async fn graphql_get(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    Extension(id): Extension<RequestId>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let raw = raw.unwrap_or_default();
    if raw.is_empty() && wants_html(&headers) && state.settings.graphiql() {
        return crate::graphiql::page().into_response();
    }
    let mut request = match async_graphql::http::parse_query_string(&raw) {
        Ok(r) => r,
        Err(e) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                &headers,
                format!("invalid GraphQL request: {e}"),
            );
        }
    };
    // Persisted documents: a GET that names one (`extensions`, `documentId`) is checked for
    // its operation type with the document's text.
    if let Some(id) = crate::persisted::query_string_document_id(&raw) {
        request.data.insert(crate::persisted::DocumentId(id));
    }
    if let Err(e) = state.persisted.prefill(&mut request).await {
        return single(crate::app::error_response(&e), response_type(&headers));
    }
    let mut request = match crate::app::parse_document(request, state.document_limits()).await {
        Ok(r) => r,
        Err(response) => return single(response, response_type(&headers)),
    };
    if matches!(
        operation_type(&mut request),
        Some(OperationType::Mutation | OperationType::Subscription)
    ) {
        return refuse(
            StatusCode::METHOD_NOT_ALLOWED,
            &headers,
            "mutations must be sent with POST",
        );
    }
    single(
        state.execute(request, &id, &headers, client).await,
        response_type(&headers),
    )
}

/// Whether a POST may be a cross-site request forged by a browser form or `fetch` without
/// preflight: refused unless it is JSON or carries a CSRF header.
fn csrf_refused(headers: &HeaderMap) -> bool {
    let preflighted = ["x-gridgov-csrf", "apollo-require-preflight"]
        .iter()
        .any(|h| {
            headers
                .get(*h)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| !v.trim().is_empty())
        });
    if preflighted {
        return false;
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    !(essence == JSON || essence == GRAPHQL_RESPONSE)
}

pub async fn graphql_post(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    Extension(id): Extension<RequestId>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if csrf_refused(&headers) {
        return refuse(
            StatusCode::BAD_REQUEST,
            &headers,
            "send JSON (`Content-Type: application/json`) or an `x-gridgov-csrf` header; this request may be a cross-site request forgery",
        );
    }
    let batch: BatchRequest = match crate::persisted::parse_body(&body) {
        Ok(b) => b,
        Err(e) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                &headers,
                format!("the body is not a GraphQL request: {e}"),
            );
        }
    };
    let media = response_type(&headers);
    match batch {
        BatchRequest::Single(request) => {
            single(state.execute(request, &id, &headers, client).await, media)
        }
        BatchRequest::Batch(requests) => {
            let max = state.settings.limits.max_batch;
            if requests.len() > max {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    &headers,
                    format!(
                        "a batch may hold at most {max} operations (got {})",
                        requests.len()
                    ),
                );
            }
            let mut responses = Vec::with_capacity(requests.len());
            for request in requests {
                responses.push(state.execute(request, &id, &headers, client).await);
            }
            json_response(StatusCode::OK, media, &responses)
        }
    }
}
