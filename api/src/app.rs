//! The HTTP application: router, handlers and serving until a shutdown signal.
//!
//! `/graphql` (see `http`), `/healthz` (the process is alive), `/readyz` (the database answers
//! and its migrations are current) and `/metrics` (Prometheus text format; on a listener of its
//! own when `GRIDGOV_METRICS_LISTEN` is set).

use crate::auth;
use crate::config::ServeSettings;
use crate::events::ChangeHub;
use crate::http;
use crate::metrics::{InFlight, Operation};
use crate::schema::limits::{Checked, DocumentLimits};
use crate::schema::{self, GridgovSchema};
use crate::shutdown::ShutdownSignal;
use crate::store::write::Actor;
use async_graphql::parser::types::OperationType;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sea_orm::DatabaseConnection;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tower_http::timeout::TimeoutLayer;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use uuid::Uuid;

/// Shared state of the HTTP handlers.
#[derive(Clone)]
pub struct AppState {
    pub schema: GridgovSchema,
    /// The primary: every write, authentication and the personal-data access log.
    pub db: DatabaseConnection,
    /// The read replica GraphQL queries read from, when one is configured.
    pub replica: Option<DatabaseConnection>,
    /// Fires when the server starts shutting down. WebSocket handlers select on this and
    /// send close code 1001 (see [`ShutdownSignal`]).
    pub shutdown: ShutdownSignal,
    pub settings: Arc<ServeSettings>,
    pub rate: Arc<schema::cost::RateLimits>,
    pub changes: Arc<ChangeHub>,
    /// The key cursors are sealed with (`store::seal`).
    pub cursor_key: Arc<crate::store::seal::CursorKey>,
    /// Persisted documents: automatic persisted queries and trusted documents.
    pub persisted: crate::persisted::Persisted,
}

/// The router, shared by `gridgov serve` and the tests.
pub fn router(state: AppState) -> Router {
    let mut router = Router::new()
        .route("/graphql", get(http::graphql_get).post(http::graphql_post))
        .route("/graphql/ws", get(crate::ws::upgrade))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz));
    if state.settings.graphiql() {
        router = router.route("/graphql/assets/{file}", get(crate::graphiql::asset));
    }
    if state.settings.metrics_listen.is_none() {
        router = router.route("/metrics", get(metrics));
    }
    router
        .layer(DefaultBodyLimit::max(state.settings.limits.body_limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(state.settings.limits.request_timeout),
        ))
        .layer(middleware::from_fn(request_id))
        .with_state(state)
}

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

async fn request_id(mut request: Request, next: Next) -> Response {
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

const REQUEST_ID: &str = "x-request-id";

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

/// Documents at least this long are parsed and checked on the blocking pool (see
/// [`parse_document`]).
const PARSE_OFF_RUNTIME: usize = 1024;

/// Parses the request's document, keeping it in the request for async-graphql to reuse.
///
/// Parsing is not cheap: about 0.16 ms per KiB for small documents and 0.9 ms per KiB at
/// 256 KiB (release build), so a 2 MiB body, the largest accepted, takes seconds. Run on a
/// runtime worker it would hold that worker, and the request timeout could not fire, as a
/// timer only fires when the future it races yields. A document of 1 KiB or more is therefore
/// parsed, and measured against `limits` (a linear pass, about 5% of the parse), on the blocking
/// pool while the request awaits it: the timeout then answers 408 on time, though the parse
/// itself runs to its end. Most documents are shorter; they parse in under 0.2 ms, which the
/// hop to another thread would only add to, so they are parsed here and measured by the schema's
/// extension.
pub(crate) async fn parse_document(
    mut request: async_graphql::Request,
    limits: DocumentLimits,
) -> Result<async_graphql::Request, async_graphql::Response> {
    if request
        .data
        .contains_key(&std::any::TypeId::of::<Checked>())
    {
        // Parsed and checked already (`GET /graphql` looks at the operation type first).
        return Ok(request);
    }
    if let Err(e) = limits.check_size(&request.query) {
        return Err(async_graphql::Response::from_errors(vec![e]));
    }
    if request.query.len() < PARSE_OFF_RUNTIME {
        // A syntax error stays for async-graphql to report as usual.
        let _ = request.parsed_query();
        return Ok(request);
    }
    tokio::task::spawn_blocking(move || {
        if let Ok(doc) = request.parsed_query() {
            let outcome = limits.check(doc);
            request.data.insert(Checked(outcome));
        }
        request
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "parsing a document failed");
        let mut error = async_graphql::ServerError::new("internal error", None);
        let mut ext = async_graphql::ErrorExtensionValues::default();
        crate::error::ApiError::Internal.fill_extensions(&mut ext);
        error.extensions = Some(ext);
        async_graphql::Response::from_errors(vec![error])
    })
}

impl AppState {
    /// The document limits the schema applies.
    pub(crate) fn document_limits(&self) -> DocumentLimits {
        DocumentLimits::new(&self.settings.limits, self.settings.introspection())
    }

    /// Runs one GraphQL operation inside its `graphql.operation` span and records its metrics.
    pub(crate) async fn execute(
        &self,
        request: async_graphql::Request,
        id: &RequestId,
        headers: &HeaderMap,
        client: SocketAddr,
    ) -> async_graphql::Response {
        let mut request = request;
        if let Err(e) = self.resolve_document(&mut request, headers).await {
            return error_response(&e);
        }
        let mut request = match parse_document(request, self.document_limits()).await {
            Ok(r) => r,
            Err(response) => return response,
        };
        let operation = Operation::of(&mut request);
        let span = operation.span();
        let _in_flight = InFlight::start();
        let started = Instant::now();
        let response = self
            .authenticate_and_execute(request, &operation, id, headers, client)
            .instrument(span)
            .await;
        operation.record(started.elapsed(), &response);
        response
    }

    async fn authenticate_and_execute(
        &self,
        request: async_graphql::Request,
        operation: &Operation,
        id: &RequestId,
        headers: &HeaderMap,
        client: SocketAddr,
    ) -> async_graphql::Response {
        let caller = match auth::authenticate(
            &self.db,
            &self.settings.auth,
            headers,
            &client.ip().to_string(),
        )
        .await
        {
            Ok(caller) => caller,
            Err(e) => return error_response(&e),
        };
        let actor = Actor {
            id: caller.id.clone(),
            request_id: id.id.clone(),
            client_request_id: id.client.clone(),
            caller: Arc::new(caller),
        };
        // Queries read from the replica; writes, subscriptions and the access log of personal
        // data stay on the primary (`schema::execute` takes both).
        let reads = match (operation.kind, &self.replica) {
            (Some(OperationType::Query), Some(replica)) => replica,
            _ => &self.db,
        };
        let run = schema::execute(
            &self.schema,
            schema::Databases {
                primary: &self.db,
                reads,
            },
            request,
            actor,
            &self.changes,
            &self.rate,
            self.settings.debug_extensions,
        );
        crate::store::seal::with_key(self.cursor_key.clone(), run).await
    }
}

// --- Persisted documents: the hook into today's request path (to be ported into the pipeline).

impl AppState {
    /// Fills, registers and checks the request's persisted document (`persisted::resolve`).
    /// It runs before parsing, as a request naming a document has no text yet, and so before
    /// authentication: whether the caller is an API key (for the `require`-mode exemption) is
    /// read from the bearer token's prefix. That is sound because such a token is only ever
    /// authenticated as an API key, and authentication still runs before execution.
    async fn resolve_document(
        &self,
        request: &mut async_graphql::Request,
        headers: &HeaderMap,
    ) -> Result<(), crate::error::ApiError> {
        let api_key = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .is_some_and(|t| t.trim().starts_with(auth::apikey::PREFIX));
        let document_id = crate::persisted::document_id(request);
        self.persisted
            .resolve(
                request,
                document_id.as_deref(),
                self.persisted.exempts(api_key),
            )
            .await
    }
}

// --- End of the persisted-documents hook.

/// A response holding `e` alone, with its `extensions.code`.
pub(crate) fn error_response(e: &crate::error::ApiError) -> async_graphql::Response {
    let mut error = async_graphql::ServerError::new(e.to_string(), None);
    let mut ext = async_graphql::ErrorExtensionValues::default();
    e.fill_extensions(&mut ext);
    error.extensions = Some(ext);
    async_graphql::Response::from_errors(vec![error])
}

/// A bound, ready-to-run server.
pub struct Application {
    listener: TcpListener,
    /// The listener of `/metrics` alone, when it has an address of its own.
    metrics_listener: Option<TcpListener>,
    state: AppState,
}

/// The router of a metrics listener of its own: `/metrics` and nothing else.
fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(state.settings.limits.request_timeout),
        ))
        .with_state(state)
}

impl Application {
    /// Binds the listener (port 0 picks a free port) and prepares the state over `db`.
    pub async fn build(db: DatabaseConnection, settings: ServeSettings) -> std::io::Result<Self> {
        let listener = TcpListener::bind(settings.listen).await?;
        let metrics_listener = match settings.metrics_listen {
            Some(addr) => Some(TcpListener::bind(addr).await?),
            None => None,
        };
        tokio::spawn(purge_idempotency_keys(db.clone()));
        crate::metrics::install();
        let cursor_key =
            crate::store::seal::CursorKey::load(&db, settings.auth.cursor_key.as_deref())
                .await
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let state = AppState {
            persisted: crate::persisted::Persisted::new(
                db.clone(),
                &settings.documents,
                settings.limits.max_document_bytes,
            ),
            cursor_key: Arc::new(cursor_key),
            schema: schema::build_schema(&settings.limits, settings.introspection()),
            changes: ChangeHub::start(db.clone(), settings.notify_database_url.as_deref())
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?,
            db,
            replica: None,
            shutdown: ShutdownSignal::default(),
            rate: schema::cost::RateLimits::new(
                settings.auth.rate_limit_points,
                settings.auth.rate_limit_restore,
            ),
            settings: Arc::new(settings),
        };
        Ok(Application {
            listener,
            metrics_listener,
            state,
        })
    }

    /// Sends GraphQL queries to `replica` (a pool over a read replica of the primary).
    pub fn with_read_replica(mut self, replica: Option<DatabaseConnection>) -> Self {
        self.state.replica = replica;
        self
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The address `/metrics` is served on when it has a listener of its own.
    pub fn metrics_addr(&self) -> Option<std::io::Result<SocketAddr>> {
        self.metrics_listener.as_ref().map(TcpListener::local_addr)
    }

    /// The signal that stops this server (fired by SIGINT/SIGTERM, or by hand).
    pub fn shutdown_signal(&self) -> ShutdownSignal {
        self.state.shutdown.clone()
    }

    /// Serves until the shutdown signal, then stops accepting connections and lets in-flight
    /// requests finish; connections still open after the grace period are dropped.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let signal = self.state.shutdown.clone();
        let grace = Duration::from_secs(self.state.settings.shutdown_grace);
        if let Some(listener) = self.metrics_listener {
            // Ends with the main server: on the signal, or with the runtime.
            let metrics = axum::serve(listener, metrics_router(self.state.clone()))
                .with_graceful_shutdown({
                    let signal = signal.clone();
                    async move { signal.cancelled().await }
                });
            tokio::spawn(async move {
                if let Err(e) = metrics.await {
                    tracing::error!(error = %e, "the metrics listener failed");
                }
            });
        }
        let serve = axum::serve(
            self.listener,
            router(self.state).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown({
            let signal = signal.clone();
            async move { signal.cancelled().await }
        });
        let grace_over = async {
            signal.trigger_on_os_signal().await;
            tokio::time::sleep(grace).await;
        };
        tokio::select! {
            served = serve.into_future() => served,
            () = grace_over => {
                // Returning drops the server; its connection tasks end with the runtime.
                tracing::warn!(
                    grace_secs = grace.as_secs(),
                    "shutdown grace period over; dropping open connections"
                );
                Ok(())
            }
        }
    }
}

/// How long idempotency keys are kept: a day's worth of retries, plus a margin.
const KEEP_IDEMPOTENCY_KEYS: chrono::Duration = chrono::Duration::hours(48);

/// Deletes expired idempotency keys once an hour. Every replica may do it: the delete is
/// idempotent and cheap (indexed on `created_at`).
async fn purge_idempotency_keys(db: DatabaseConnection) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        every.tick().await;
        match crate::store::write::purge_idempotency_keys(&db, KEEP_IDEMPOTENCY_KEYS).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "expired idempotency keys purged"),
            Err(e) => tracing::warn!(error = %e, "purging idempotency keys failed"),
        }
    }
}
