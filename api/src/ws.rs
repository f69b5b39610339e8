//! GraphQL over WebSocket at `/graphql/ws`, for subscriptions: the `graphql-transport-ws`
//! protocol (npm `graphql-ws`), and the older `graphql-ws` sub-protocol of
//! subscriptions-transport-ws.
//!
//! The client authenticates in `connection_init` with the credentials of the HTTP API
//! (`{"authorization": "Bearer …"}` as `connectionParams`); a bad credential closes the
//! connection. Only subscription operations run here — queries and mutations go to
//! `POST /graphql`, where their limits, cost and access logging apply. Subscriptions never carry
//! unmasked personal data: the caller's `pii:read` scope does not apply to them, since an event
//! stream cannot be written to the access log before it is shown.
//!
//! The credential is checked again every `GRIDGOV_WS_RECHECK` seconds, and a connection opened
//! with a JWT is closed (4403) when the token's `exp` passes, whenever the next check is due.

use crate::app::{AppState, RequestId};
use crate::auth;
use crate::error::ApiError;
use crate::schema::{self, RequestCtx};
use crate::store::write::Actor;
use async_graphql::http::{WebSocket as GqlWebSocket, WsMessage};
use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql::{Data, Executor, Request, Response, ServerError};
use axum::Extension;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response as HttpResponse};
use futures_util::stream::{self, BoxStream, StreamExt};
use futures_util::{SinkExt, future};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// Subscriptions one connection may hold at once.
pub const MAX_SUBSCRIPTIONS: usize = 20;

/// Largest client message accepted (a subscribe message with its document).
const MAX_MESSAGE: usize = 64 * 1024;

/// The sub-protocols spoken, preferred first.
const PROTOCOLS: [&str; 2] = ["graphql-transport-ws", "graphql-ws"];

/// Upgrades `GET /graphql/ws` to a GraphQL WebSocket connection.
pub async fn upgrade(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    Extension(id): Extension<RequestId>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> HttpResponse {
    let offered: Vec<String> = headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(|p| p.trim().to_ascii_lowercase()))
        .collect();
    let Some(chosen) = PROTOCOLS.iter().find(|p| offered.iter().any(|o| o == *p)) else {
        return (
            StatusCode::BAD_REQUEST,
            "offer the WebSocket sub-protocol `graphql-transport-ws` (npm graphql-ws)",
        )
            .into_response();
    };
    let protocol = match chosen.parse() {
        Ok(p) => p,
        Err(_) => return StatusCode::BAD_REQUEST.into_response(),
    };
    let mut response = ws
        .protocols(PROTOCOLS)
        .max_message_size(MAX_MESSAGE)
        .on_upgrade(move |socket| serve(socket, state, protocol, client, id))
        .into_response();
    response.headers_mut().insert(
        header::SEC_WEBSOCKET_PROTOCOL,
        HeaderValue::from_static(chosen),
    );
    response
}

/// Runs one connection until either side closes it.
async fn serve(
    socket: WebSocket,
    state: AppState,
    protocol: async_graphql::http::WebSocketProtocols,
    client: SocketAddr,
    id: RequestId,
) {
    let actor: Arc<OnceLock<Actor>> = Arc::new(OnceLock::new());
    // The credential the connection was opened with, checked again every `ws_recheck` seconds.
    let credential: Arc<OnceLock<HeaderMap>> = Arc::new(OnceLock::new());
    let init_credential = credential.clone();
    // When the connection's JWT expires.
    let expires: Arc<OnceLock<tokio::time::Instant>> = Arc::new(OnceLock::new());
    let init_expires = expires.clone();
    let executor = WsExecutor {
        state: state.clone(),
        actor: actor.clone(),
        open: Arc::new(AtomicUsize::new(0)),
    };
    let (mut sink, source) = socket.split();
    let input = source
        .take_while(|m| future::ready(matches!(m, Ok(m) if !matches!(m, Message::Close(_)))))
        .filter_map(|m| {
            future::ready(match m {
                Ok(Message::Text(t)) => Some(t.as_bytes().to_vec()),
                Ok(Message::Binary(b)) => Some(b.to_vec()),
                _ => None,
            })
        });
    let init_state = state.clone();
    let connection = GqlWebSocket::new(executor, input, protocol).on_connection_init(
        move |params: serde_json::Value| async move {
            let token = ["authorization", "Authorization"]
                .iter()
                .find_map(|k| params.get(*k).and_then(|v| v.as_str()))
                .map(str::to_owned);
            let mut headers = HeaderMap::new();
            if let Some(t) = &token {
                let value = HeaderValue::from_str(t)
                    .map_err(|_| async_graphql::Error::new("malformed authorization"))?;
                headers.insert(header::AUTHORIZATION, value);
            }
            let mut caller = auth::authenticate(
                &init_state.db,
                &init_state.settings.auth,
                &headers,
                &client.ip().to_string(),
            )
            .await
            .map_err(|e| async_graphql::Error::new(e.to_string()))?;
            caller.scopes.retain(|s| s != auth::PII_READ);
            if let Some(at) = token.as_deref().and_then(|t| jwt_expiry(&init_state, t)) {
                let _ = init_expires.set(at);
            }
            let _ = init_credential.set(headers);
            let _ = actor.set(Actor {
                id: caller.id.clone(),
                request_id: id.id.clone(),
                client_request_id: id.client.clone(),
                caller: Arc::new(caller),
            });
            Ok(Data::default())
        },
    );
    let mut connection = std::pin::pin!(connection);
    let period = std::time::Duration::from_secs(state.settings.ws_recheck);
    let mut recheck = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        // Set during `connection_init`, before the acknowledgement this loop then forwards: the
        // next turn of the loop sees it.
        let expiry = async {
            match expires.get() {
                Some(at) => tokio::time::sleep_until(*at).await,
                None => std::future::pending().await,
            }
        };
        let message = tokio::select! {
            m = connection.next() => m,
            () = expiry => {
                close(&mut sink, 4403, "Forbidden: the token has expired").await;
                break;
            }
            _ = recheck.tick() => {
                if still_valid(&state, credential.get(), &client).await {
                    continue;
                }
                // Revoked or expired since the connection opened: the client must come back
                // with a valid credential.
                close(&mut sink, 4403, "Forbidden: the credential is no longer valid").await;
                break;
            }
            () = state.shutdown.cancelled() => {
                // Going away: the client reconnects, to another replica if there is one.
                close(&mut sink, 1001, "server shutting down").await;
                break;
            }
        };
        let Some(message) = message else { break };
        let sent = match message {
            WsMessage::Text(text) => sink.send(Message::Text(text.into())).await,
            WsMessage::Close(code, reason) => {
                close(&mut sink, code, reason).await;
                break;
            }
        };
        if sent.is_err() {
            break;
        }
    }
}

/// When the JWT of an `Authorization` value expires, as an instant of the runtime's clock;
/// `None` for an API key or no credential.
fn jwt_expiry(state: &AppState, authorization: &str) -> Option<tokio::time::Instant> {
    let token = authorization
        .strip_prefix("Bearer ")
        .or_else(|| authorization.strip_prefix("bearer "))?
        .trim();
    if token.starts_with(auth::apikey::PREFIX) {
        return None;
    }
    let at = auth::jwt::expiry(&state.settings.auth, token)?;
    let left = at
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default();
    Some(tokio::time::Instant::now() + left)
}

/// Sends a close frame; the connection ends either way.
async fn close(
    sink: &mut futures_util::stream::SplitSink<WebSocket, Message>,
    code: u16,
    reason: impl Into<axum::extract::ws::Utf8Bytes>,
) {
    let _ = sink
        .send(Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        })))
        .await;
}

/// Whether the connection's credential still authenticates. Only a refusal of the credential
/// ends the connection: while the database is unreachable the connection stays (its streams
/// read nothing new meanwhile). A connection that has not authenticated yet has nothing to
/// check.
async fn still_valid(
    state: &AppState,
    credential: Option<&HeaderMap>,
    client: &SocketAddr,
) -> bool {
    let Some(headers) = credential else {
        return true;
    };
    let checked = auth::authenticate(
        &state.db,
        &state.settings.auth,
        headers,
        &client.ip().to_string(),
    )
    .await;
    !matches!(checked, Err(ApiError::Unauthenticated))
}

/// Runs the operations of one connection: subscriptions only, each with the connection's
/// caller, at most [`MAX_SUBSCRIPTIONS`] at once.
#[derive(Clone)]
struct WsExecutor {
    state: AppState,
    actor: Arc<OnceLock<Actor>>,
    open: Arc<AtomicUsize>,
}

/// A response holding one error with its `extensions.code`.
fn refusal(e: ApiError) -> Response {
    let mut error = ServerError::new(e.to_string(), None);
    e.fill_extensions(
        error
            .extensions
            .get_or_insert_with(async_graphql::ErrorExtensionValues::default),
    );
    Response::from_errors(vec![error])
}

/// Whether `request` selects a subscription operation (`None` when it does not parse: the
/// schema then reports the syntax error). The parsed document stays in the request.
fn is_subscription(request: &mut Request) -> Option<bool> {
    let name = request.operation_name.clone();
    let doc = request.parsed_query().ok()?;
    let ty = match &doc.operations {
        DocumentOperations::Single(op) => op.node.ty,
        DocumentOperations::Multiple(ops) => match &name {
            Some(name) => ops.get(name.as_str())?.node.ty,
            None => return None,
        },
    };
    Some(ty == OperationType::Subscription)
}

/// One open subscription: counted per connection and in `gridgov_subscriptions_open` until
/// its stream ends or is dropped.
struct Open(Arc<AtomicUsize>);

impl Open {
    /// Takes a place on the connection, when one is free.
    fn take(count: &Arc<AtomicUsize>) -> Option<Open> {
        if count.fetch_add(1, Ordering::SeqCst) >= MAX_SUBSCRIPTIONS {
            count.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        metrics::gauge!(crate::metrics::SUBSCRIPTIONS_OPEN).increment(1.0);
        Some(Open(count.clone()))
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
        metrics::gauge!(crate::metrics::SUBSCRIPTIONS_OPEN).decrement(1.0);
    }
}

impl Executor for WsExecutor {
    async fn execute(&self, _request: Request) -> Response {
        refusal(only_subscriptions())
    }

    fn execute_stream(
        &self,
        request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        // Persisted documents (a hook to be ported with the request pipeline): a subscription
        // may name one, and `GRIDGOV_TRUSTED_DOCUMENTS=require` holds over WebSocket too.
        let this = self.clone();
        stream::once(async move {
            let mut request = request;
            let persisted = &this.state.persisted;
            let Some(actor) = this.actor.get() else {
                // Refused as unauthenticated.
                return this.subscribe(request, session_data);
            };
            let exempt = persisted.exempts(actor.caller.id.starts_with("apikey:"));
            match persisted.resolve(&mut request, None, exempt).await {
                Ok(()) => this.subscribe(request, session_data),
                Err(e) => stream::once(future::ready(refusal(e))).boxed(),
            }
        })
        .flatten()
        .boxed()
    }
}

impl WsExecutor {
    fn subscribe(
        &self,
        mut request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        let refuse = |e| stream::once(future::ready(refusal(e))).boxed();
        let Some(actor) = self.actor.get().cloned() else {
            return refuse(ApiError::Unauthenticated);
        };
        if is_subscription(&mut request) == Some(false) {
            return refuse(only_subscriptions());
        }
        let Some(open) = Open::take(&self.open) else {
            return refuse(ApiError::bad_input(
                "subscribe",
                format!("a connection may hold at most {MAX_SUBSCRIPTIONS} subscriptions"),
            ));
        };
        let state = &self.state;
        let cost = Arc::new(schema::cost::CostCtx::new(
            state.rate.clone(),
            actor.id.clone(),
        ));
        let request = request.data(cost).data(RequestCtx::detached(
            state.db.clone(),
            actor,
            state.changes.clone(),
        ));
        let events = state
            .schema
            .execute_stream_with_session_data(request, session_data.unwrap_or_default());
        // Event cursors are sealed: the stream is polled with the cursor key in scope.
        crate::store::seal::scope_stream(state.cursor_key.clone(), events)
            .map(move |mut response| {
                let _held = &open;
                for e in &mut response.errors {
                    schema::classify(e);
                }
                response
            })
            .boxed()
    }
}

fn only_subscriptions() -> ApiError {
    ApiError::bad_input(
        "query",
        "only subscriptions run over WebSocket; send queries and mutations to POST /graphql",
    )
}
