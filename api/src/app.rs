//! The HTTP application: router, handlers and serving until a shutdown signal.

use crate::auth;
use crate::config::ServeSettings;
use crate::events::ChangeHub;
use crate::http;
use crate::schema::{self, GridgovSchema};
use crate::store::write::Actor;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use sea_orm::DatabaseConnection;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tower_http::timeout::TimeoutLayer;
use uuid::Uuid;

/// Shared state of the HTTP handlers.
#[derive(Clone)]
pub struct AppState {
    pub schema: GridgovSchema,
    pub db: DatabaseConnection,
    pub settings: Arc<ServeSettings>,
    pub rate: Arc<schema::cost::RateLimits>,
    pub changes: Arc<ChangeHub>,
}

/// The router, shared by `gridgov serve` and the tests.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/graphql", get(http::graphql_get).post(http::graphql_post))
        .route("/graphql/ws", get(crate::ws::upgrade))
        .route("/graphql/assets/{file}", get(crate::graphiql::asset))
        .route("/healthz", get(healthz))
        .layer(DefaultBodyLimit::max(state.settings.limits.body_limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(state.settings.limits.request_timeout),
        ))
        .layer(middleware::from_fn(request_id))
        .with_state(state)
}

/// The id of one HTTP request: the client's `x-request-id` when it is a sane token, else a new
/// UUID. Echoed in the response header and recorded in audit entries.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

async fn request_id(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|s| {
            !s.is_empty()
                && s.len() <= 128
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| Uuid::now_v7().to_string());
    request.extensions_mut().insert(RequestId(id.clone()));
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

const REQUEST_ID: &str = "x-request-id";

async fn healthz() -> &'static str {
    "ok"
}

impl AppState {
    pub(crate) async fn execute(
        &self,
        request: async_graphql::Request,
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
            Err(e) => {
                let mut error = async_graphql::ServerError::new(e.to_string(), None);
                let mut ext = async_graphql::ErrorExtensionValues::default();
                e.fill_extensions(&mut ext);
                error.extensions = Some(ext);
                return async_graphql::Response::from_errors(vec![error]);
            }
        };
        let actor = Actor {
            id: caller.id.clone(),
            request_id: id.0.clone(),
            caller: Arc::new(caller),
        };
        schema::execute(
            &self.schema,
            &self.db,
            request,
            actor,
            &self.changes,
            &self.rate,
            self.settings.debug_extensions,
        )
        .await
    }
}

/// A bound, ready-to-run server.
pub struct Application {
    listener: TcpListener,
    router: Router,
}

impl Application {
    /// Binds the listener (port 0 picks a free port) and builds the router over `db`.
    pub async fn build(db: DatabaseConnection, settings: ServeSettings) -> std::io::Result<Self> {
        let listener = TcpListener::bind(settings.listen).await?;
        tokio::spawn(purge_idempotency_keys(db.clone()));
        let state = AppState {
            schema: schema::build_schema(&settings.limits),
            changes: ChangeHub::start(db.clone()),
            db,
            rate: schema::cost::RateLimits::new(
                settings.auth.rate_limit_points,
                settings.auth.rate_limit_restore,
            ),
            settings: Arc::new(settings),
        };
        Ok(Application {
            listener,
            router: router(state),
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until SIGINT or SIGTERM, then lets in-flight requests finish.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown_signal())
        .await
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

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}
