//! GraphQL over WebSocket at `/graphql/ws`, for subscriptions: the `graphql-transport-ws`
//! protocol (npm `graphql-ws`), and the older `graphql-ws` sub-protocol of
//! subscriptions-transport-ws.
//!
//! The client authenticates in `connection_init` with the credentials of the HTTP API
//! (`{"authorization": "Bearer …"}` as `connectionParams`; none for a PUBLIC caller). Only
//! subscription operations run here — queries and mutations go to `POST /graphql`. Each
//! subscription goes through the same pipeline as an HTTP operation (persisted documents,
//! limits, cost, the batch driver and the statement counter). Subscriptions never carry
//! unmasked personal data: the caller's `pii:read` scope does not apply to them, since an event
//! stream cannot be written to the access log before it is shown.
//!
//! Close codes (graphql-ws): 4400 a message that is not one of the protocol's; 4401 a bad
//! credential at `connection_init`, or a `subscribe` before the connection was acknowledged;
//! 4403 a credential revoked or expired later (checked every `GRIDGOV_WS_RECHECK` seconds, and a
//! JWT's `exp` closes the connection when it passes); 4408 no `connection_init` within 10 s;
//! 4429 a second `connection_init`; 1001 the server is shutting down.

use super::client_ip::client_ip;
use super::pipeline::{Incoming, only_subscriptions};
use super::request_id::RequestId;
use super::state::AppState;
use crate::auth;
use crate::error::ApiError;
use crate::store::write::Actor;
use async_graphql::http::{WebSocket as GqlWebSocket, WsMessage};
use async_graphql::{Data, Executor, Request, Response};
use axum::Extension;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response as HttpResponse};
use futures_util::stream::{self, BoxStream, StreamExt};
use futures_util::{SinkExt, future};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// How long a client has to send `connection_init` after the upgrade.
const CONNECTION_INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// The sub-protocols spoken, preferred first.
const PROTOCOLS: [&str; 2] = ["graphql-transport-ws", "graphql-ws"];

/// Upgrades `GET /graphql/ws` to a GraphQL WebSocket connection.
pub async fn upgrade(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
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
    let media = super::reply::negotiate(&headers);
    let Some(chosen) = PROTOCOLS.iter().find(|p| offered.iter().any(|o| o == *p)) else {
        let e = ApiError::BadUserInput {
            message: "offer the WebSocket sub-protocol `graphql-transport-ws` (npm graphql-ws)"
                .to_owned(),
            field: None,
        };
        return super::reply::refusal(&e, media);
    };
    let Ok(protocol) = chosen.parse() else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let client = client_ip(peer.ip(), &headers, &state.settings.trusted_proxies);
    let mut response = ws
        .protocols(PROTOCOLS)
        .max_message_size(
            usize::try_from(state.settings.limits.ws_max_message_bytes).unwrap_or(usize::MAX),
        )
        .on_upgrade(move |socket| serve(socket, state, protocol, client, id))
        .into_response();
    response.headers_mut().insert(
        header::SEC_WEBSOCKET_PROTOCOL,
        HeaderValue::from_static(chosen),
    );
    response
}

/// What `connection_init` established, shared by the connection loop and its executor.
#[derive(Default)]
struct Session {
    actor: OnceLock<Actor>,
    /// The credential the connection was opened with, checked again every `ws_recheck`
    /// seconds.
    credential: OnceLock<HeaderMap>,
    /// When the connection's credential expires.
    expires: OnceLock<tokio::time::Instant>,
    /// `connection_init` was refused: the close async-graphql sends next is a 4401.
    refused: AtomicBool,
}

/// Runs one connection until either side closes it.
async fn serve(
    socket: WebSocket,
    state: AppState,
    protocol: async_graphql::http::WebSocketProtocols,
    client: IpAddr,
    id: RequestId,
) {
    let session = Arc::new(Session::default());
    let executor = WsExecutor {
        state: state.clone(),
        session: session.clone(),
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
    let init_session = session.clone();
    let connection = GqlWebSocket::new(executor, input, protocol).on_connection_init(
        move |params: serde_json::Value| async move {
            let refused = |e: ApiError| {
                init_session.refused.store(true, Ordering::SeqCst);
                async_graphql::Error::new(format!("Unauthorized: {e}"))
            };
            let token = match ["authorization", "Authorization"]
                .iter()
                .find_map(|k| params.get(*k))
            {
                None | Some(serde_json::Value::Null) => None,
                Some(serde_json::Value::String(t)) => Some(t.clone()),
                Some(_) => return Err(refused(ApiError::Unauthenticated)),
            };
            let mut headers = HeaderMap::new();
            if let Some(t) = &token {
                let value =
                    HeaderValue::from_str(t).map_err(|_| refused(ApiError::Unauthenticated))?;
                headers.insert(header::AUTHORIZATION, value);
            }
            let mut caller = init_state
                .authenticate(&headers, client)
                .await
                .map_err(refused)?;
            caller.scopes.retain(|s| s != auth::PII_READ);
            if let Some(at) = caller.expires_at {
                // As an instant of the runtime's clock (0 left for one already past).
                let left = at
                    .duration_since(std::time::SystemTime::now())
                    .unwrap_or_default();
                let _ = init_session.expires.set(tokio::time::Instant::now() + left);
            }
            let _ = init_session.credential.set(headers);
            let _ = init_session.actor.set(AppState::actor(caller, &id));
            Ok(Data::default())
        },
    );
    let mut connection = std::pin::pin!(connection);
    let period = Duration::from_secs(state.settings.ws_recheck);
    let mut recheck = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let init_deadline = tokio::time::Instant::now() + CONNECTION_INIT_TIMEOUT;
    loop {
        // Set during `connection_init`, before the acknowledgement this loop then forwards: the
        // next turn of the loop sees it.
        let expiry = async {
            match session.expires.get() {
                Some(at) => tokio::time::sleep_until(*at).await,
                None => std::future::pending().await,
            }
        };
        let uninitialised = async {
            if session.actor.get().is_none() && !session.refused.load(Ordering::SeqCst) {
                tokio::time::sleep_until(init_deadline).await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        let message = tokio::select! {
            m = connection.next() => m,
            () = expiry => {
                close(&mut sink, 4403, "Forbidden: the credential has expired").await;
                break;
            }
            () = uninitialised => {
                close(&mut sink, 4408, "Connection initialisation timeout").await;
                break;
            }
            _ = recheck.tick() => {
                if still_valid(&state, session.credential.get(), client).await {
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
                let (code, reason) = close_code(&session, code, reason);
                close(&mut sink, code, reason).await;
                break;
            }
        };
        if sent.is_err() {
            break;
        }
    }
}

/// The graphql-ws close code of a close async-graphql asks for: it closes a refused
/// `connection_init` and a message it cannot read alike with 1002, and a `subscribe` before the
/// acknowledgement with 1011.
fn close_code(session: &Session, code: u16, reason: String) -> (u16, String) {
    match code {
        1002 if session.refused.load(Ordering::SeqCst) => (4401, reason),
        1002 => (4400, format!("Invalid message received: {reason}")),
        1011 if session.actor.get().is_none() => (4401, "Unauthorized".to_owned()),
        _ => (code, reason),
    }
}

/// Sends a close frame; the connection ends either way.
async fn close(
    sink: &mut futures_util::stream::SplitSink<WebSocket, Message>,
    code: u16,
    reason: impl Into<String>,
) {
    let mut reason: String = reason.into();
    // A close frame's reason is at most 123 bytes.
    while reason.len() > 123 {
        reason.pop();
    }
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
async fn still_valid(state: &AppState, credential: Option<&HeaderMap>, client: IpAddr) -> bool {
    let Some(headers) = credential else {
        return true;
    };
    !matches!(
        state.authenticate(headers, client).await,
        Err(ApiError::Unauthenticated)
    )
}

/// Runs the operations of one connection: subscriptions only, each with the connection's
/// caller, at most `GRIDGOV_WS_MAX_SUBSCRIPTIONS` at once.
#[derive(Clone)]
struct WsExecutor {
    state: AppState,
    session: Arc<Session>,
    open: Arc<AtomicUsize>,
}

/// A response holding one error with its `extensions.code`.
fn refusal(e: ApiError) -> Response {
    Response::from_errors(vec![e.to_server_error()])
}

/// One open subscription: counted per connection and in `gridgov_subscriptions_open` until
/// its stream ends or is dropped.
struct Open(Arc<AtomicUsize>);

impl Open {
    /// Takes a place on the connection, when one is free.
    fn take(count: &Arc<AtomicUsize>, max: usize) -> Option<Open> {
        if count.fetch_add(1, Ordering::SeqCst) >= max {
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
        let refuse = |e| stream::once(future::ready(refusal(e))).boxed();
        let Some(actor) = self.session.actor.get().cloned() else {
            return refuse(ApiError::Unauthenticated);
        };
        let max =
            usize::try_from(self.state.settings.limits.ws_max_subscriptions).unwrap_or(usize::MAX);
        let Some(open) = Open::take(&self.open, max) else {
            return refuse(ApiError::bad_input(
                "subscribe",
                format!("a connection may hold at most {max} subscriptions"),
            ));
        };
        let state = self.state.clone();
        let session = session_data.unwrap_or_default();
        stream::once(async move {
            state
                .subscribe(Incoming::from(request), &actor, session)
                .await
        })
        .flatten()
        .map(move |response| {
            let _held = &open;
            response
        })
        .boxed()
    }
}
