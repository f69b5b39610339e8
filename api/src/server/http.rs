//! GraphQL over HTTP: decoding requests, CSRF rules, batches; everything else is the pipeline's.
//!
//! - `POST /graphql` takes a JSON body (`application/json` or
//!   `application/graphql-response+json`, optionally gzip-compressed with
//!   `Content-Encoding: gzip`), one operation or an array batch. Other content types (the ones
//!   a browser may send cross-site without a preflight, or none) are refused unless the request
//!   carries a non-empty `x-gridgov-csrf` or `apollo-require-preflight` header.
//! - `GET /graphql` runs queries from the query string (`query`, `operationName`, `variables`,
//!   `extensions`, `documentId`); mutations over GET are refused (405).
//! - Media types, status codes and headers: see [`super::reply`]. Every answer carries the
//!   `RateLimit-Policy` and `RateLimit` headers of the caller's bucket.

use super::client_ip::client_ip;
use super::pipeline::{Answer, Incoming, Transport};
use super::reply::{self, GRAPHQL_RESPONSE, JSON, Media};
use super::request_id::RequestId;
use super::state::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::ratelimit::Throttle;
use axum::body::Body;
use axum::extract::{ConnectInfo, Extension, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use std::net::{IpAddr, SocketAddr};

fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

/// Adds the rate-limit headers of `throttle` to `response`.
fn with_rate_headers(state: &AppState, mut response: Response, throttle: Throttle) -> Response {
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&state.rate.policy_header()) {
        headers.insert("ratelimit-policy", v);
    }
    if let Ok(v) = HeaderValue::from_str(&state.rate.header(throttle)) {
        headers.insert("ratelimit", v);
    }
    response
}

/// A request refused before any operation ran, with the rate-limit headers of the caller's
/// bucket as it is (nothing was charged).
fn refuse(state: &AppState, e: &ApiError, media: Media, key: &str) -> Response {
    with_rate_headers(state, reply::refusal(e, media), state.rate.peek(key))
}

/// The bucket key of a caller that could not be authenticated: its client address.
fn anonymous_key(client: IpAddr) -> String {
    Caller::public(&client.to_string()).id
}

/// GraphiQL for a browser asking for a page without a query (when GraphiQL is on); otherwise a
/// query from the query string.
pub async fn graphql_get(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Extension(ids): Extension<RequestId>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let raw = raw.unwrap_or_default();
    if raw.is_empty() && wants_html(&headers) && state.settings.graphiql() {
        return crate::graphiql::page().into_response();
    }
    let media = reply::negotiate(&headers);
    let client = client_ip(peer.ip(), &headers, &state.settings.trusted_proxies);
    let request = match async_graphql::http::parse_query_string(&raw) {
        Ok(r) => r,
        Err(e) => {
            let e = ApiError::BadUserInput {
                message: format!("invalid GraphQL request: {e}"),
                field: None,
            };
            return refuse(&state, &e, media, &anonymous_key(client));
        }
    };
    let incoming = Incoming {
        request,
        document_id: crate::persisted::query_string_document_id(&raw),
    };
    serve(
        &state,
        &headers,
        client,
        &ids,
        vec![incoming],
        false,
        media,
        Transport::Get,
    )
    .await
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

/// One operation of a POST body: the GraphQL request, and a persisted document's id when the
/// client names one beside it (`documentId`, or Relay's `doc_id`).
fn operation(value: serde_json::Value) -> Result<Incoming, ApiError> {
    let request = crate::persisted::request_with_id(value).map_err(|e| ApiError::BadUserInput {
        message: format!("the body is not a GraphQL request: {e}"),
        field: None,
    })?;
    Ok(Incoming {
        document_id: crate::persisted::document_id(&request),
        request,
    })
}

/// The operations of a POST body, and whether it was an array batch.
fn operations(body: &[u8], max_batch: usize) -> Result<(Vec<Incoming>, bool), ApiError> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| ApiError::BadUserInput {
            message: format!("the body is not JSON: {e}"),
            field: None,
        })?;
    match value {
        serde_json::Value::Array(items) => {
            if items.is_empty() || items.len() > max_batch {
                return Err(ApiError::BadUserInput {
                    message: format!(
                        "a batch holds 1 to {max_batch} operations (got {})",
                        items.len()
                    ),
                    field: None,
                });
            }
            let ops = items.into_iter().map(operation).collect::<Result<_, _>>()?;
            Ok((ops, true))
        }
        object @ serde_json::Value::Object(_) => Ok((vec![operation(object)?], false)),
        _ => Err(ApiError::BadUserInput {
            message: "the body is not a GraphQL request: expected an object or an array".to_owned(),
            field: None,
        }),
    }
}

/// Reads the body, at most `limit` bytes once decompressed.
async fn read_body(body: Body, limit: usize) -> Result<Vec<u8>, ApiError> {
    match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => Ok(bytes.to_vec()),
        Err(e) => {
            let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
            while let Some(s) = source {
                if s.is::<http_body_util::LengthLimitError>() {
                    return Err(ApiError::PayloadTooLarge { limit });
                }
                source = s.source();
            }
            Err(ApiError::BadUserInput {
                message: "the body could not be read (a broken upload or gzip stream)".to_owned(),
                field: None,
            })
        }
    }
}

pub async fn graphql_post(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Extension(ids): Extension<RequestId>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let media = reply::negotiate(&headers);
    let client = client_ip(peer.ip(), &headers, &state.settings.trusted_proxies);
    if csrf_refused(&headers) {
        let e = ApiError::BadUserInput {
            message: "send JSON (`Content-Type: application/json`) or an `x-gridgov-csrf` header; this request may be a cross-site request forgery".to_owned(),
            field: None,
        };
        return refuse(&state, &e, media, &anonymous_key(client));
    }
    let parsed = match read_body(body, state.settings.limits.body_limit).await {
        Ok(body) => operations(&body, state.settings.limits.max_batch),
        Err(e) => Err(e),
    };
    let (incoming, batched) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => return refuse(&state, &e, media, &anonymous_key(client)),
    };
    serve(
        &state,
        &headers,
        client,
        &ids,
        incoming,
        batched,
        media,
        Transport::Post,
    )
    .await
}

/// Authenticates once, runs each operation through the pipeline, and answers.
#[allow(clippy::too_many_arguments)]
async fn serve(
    state: &AppState,
    headers: &HeaderMap,
    client: IpAddr,
    ids: &RequestId,
    incoming: Vec<Incoming>,
    batched: bool,
    media: Media,
    transport: Transport,
) -> Response {
    let caller = match state.authenticate(headers, client).await {
        Ok(caller) => caller,
        Err(e) => return refuse(state, &e, media, &anonymous_key(client)),
    };
    let actor = AppState::actor(caller, ids);
    let mut answers: Vec<Answer> = Vec::with_capacity(incoming.len());
    for op in incoming {
        answers.push(state.run(op, &actor, transport).await);
    }
    let throttle = answers
        .last()
        .map(|a| a.throttle)
        .unwrap_or_else(|| state.rate.peek(&actor.id));
    let responses: Vec<async_graphql::Response> = answers.into_iter().map(|a| a.response).collect();
    let response = match (batched, responses.as_slice()) {
        (false, [one]) => reply::single(one, media),
        _ => reply::batch(&responses, media),
    };
    with_rate_headers(state, response, throttle)
}
