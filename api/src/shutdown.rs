//! The process-wide shutdown signal.

use tokio_util::sync::CancellationToken;

/// Fires once, when gridgov starts to shut down (SIGTERM or SIGINT, or [`trigger`] in tests).
/// Clones share one signal.
///
/// The HTTP server stops accepting connections and lets in-flight requests finish within the
/// grace period (`GRIDGOV_SHUTDOWN_GRACE`). Long-lived work must watch it too: **WebSocket
/// handlers select on [`cancelled`] and send close code 1001 (going away)**, so that clients
/// reconnect to another replica instead of seeing a dropped connection.
///
/// [`trigger`]: ShutdownSignal::trigger
/// [`cancelled`]: ShutdownSignal::cancelled
#[derive(Debug, Clone, Default)]
pub struct ShutdownSignal(CancellationToken);

impl ShutdownSignal {
    /// Completes once shutdown has begun (at once if it already has).
    pub async fn cancelled(&self) {
        self.0.cancelled().await
    }

    /// Whether shutdown has begun.
    pub fn is_triggered(&self) -> bool {
        self.0.is_cancelled()
    }

    /// Begins shutdown.
    pub fn trigger(&self) {
        self.0.cancel()
    }

    /// Triggers on SIGINT or SIGTERM; completes when the signal has fired for any reason.
    pub async fn trigger_on_os_signal(&self) {
        tokio::select! {
            () = os_signal() => {
                tracing::info!("shutdown signal received; finishing in-flight requests");
                self.trigger();
            }
            () = self.cancelled() => {}
        }
    }
}

async fn os_signal() {
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
}
