//! The server: its state, its router, the two transports of GraphQL (HTTP at `/graphql`,
//! WebSocket at `/graphql/ws`) and the one pipeline both call.
//!
//! The modules form a tree, each using only those below it:
//! ```text
//! mod (Application: bind, serve, shut down)
//! └─ router (routes, layers: request ids, CORS, compression, timeouts, JSON error bodies;
//!    │        /healthz, /readyz, /metrics, /schema.graphql)
//!    ├─ http (GraphQL over HTTP: decoding, CSRF rules, batches)
//!    └─ ws   (GraphQL over WebSocket: graphql-transport-ws, close codes, credential checks)
//!       └─ pipeline (authenticate → persisted document → parse → limits → cost → execute →
//!          │         classify → metrics)
//!          ├─ limits, drive, client_ip, request_id
//!          └─ reply (media type, status and headers of an answer), state
//! ```

mod client_ip;
mod drive;
mod http;
pub mod limits;
pub mod pipeline;
pub mod reply;
pub mod request_id;
pub mod router;
pub mod state;
mod ws;

pub use request_id::RequestId;
pub use state::AppState;

use crate::config::ServeSettings;
use crate::events::ChangeHub;
use crate::shutdown::ShutdownSignal;
use sea_orm::DatabaseConnection;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// A bound, ready-to-run server.
pub struct Application {
    listener: TcpListener,
    /// The listener of `/metrics` alone, when it has an address of its own.
    metrics_listener: Option<TcpListener>,
    state: AppState,
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
        let schema = pipeline::build_schema(&settings.limits, settings.introspection());
        let state = AppState {
            persisted: crate::persisted::Persisted::new(
                db.clone(),
                &settings.documents,
                settings.limits.max_document_bytes,
            ),
            cursor_key: Arc::new(cursor_key),
            sdl: Arc::new(state::Sdl::of(&schema)),
            schema,
            changes: ChangeHub::start(db.clone(), settings.notify_database_url.as_deref())
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?,
            db,
            replica: None,
            shutdown: ShutdownSignal::default(),
            rate: crate::ratelimit::RateLimits::new(
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
            let metrics = axum::serve(listener, router::metrics_router(self.state.clone()))
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
            router::router(self.state).into_make_service_with_connect_info::<SocketAddr>(),
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
