//! The client-facing caps of the operation being served: page sizes and the other bounds on
//! what one argument may ask for, from the server's settings (`config::Limits`).
//!
//! They are read deep inside argument validation and pagination, which have no request
//! context, so the pipeline runs each operation with its server's caps in a task-local
//! ([`scope`], [`sync_scope`] for a subscription's stream); outside one (unit tests, tools)
//! the defaults apply.

/// Bounds on what one argument may ask for. Every field is a setting (`GRIDGOV_MAX_*`); see
/// `docs/security.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// Largest `first`/`last` of a connection.
    pub max_page_size: u64,
    /// Most ids of one `nodes(ids:)`.
    pub max_nodes: usize,
    /// Largest `first` of `changes`.
    pub max_changes: u64,
    /// Most buckets of one statistics `series`.
    pub max_series_buckets: usize,
    /// Most items of one `registerParticipations`.
    pub max_batch_items: usize,
    /// Longest `search` text, in characters.
    pub max_search_chars: usize,
    /// Most values of one list filter (`status`, `category`).
    pub max_filter_values: usize,
    /// Largest GeoJSON `boundary` of a grid, in bytes.
    pub max_boundary_bytes: usize,
}

impl Default for Caps {
    fn default() -> Self {
        Caps {
            max_page_size: 100,
            max_nodes: 100,
            max_changes: 1000,
            max_series_buckets: 400,
            max_batch_items: 1000,
            max_search_chars: 100,
            max_filter_values: 20,
            max_boundary_bytes: 256 * 1024,
        }
    }
}

tokio::task_local! {
    static CAPS: Caps;
}

/// The caps of the operation being served (the defaults outside one).
pub fn current() -> Caps {
    CAPS.try_with(|c| *c).unwrap_or_default()
}

/// Runs `fut` with `caps` in force.
pub async fn scope<F: std::future::Future>(caps: Caps, fut: F) -> F::Output {
    CAPS.scope(caps, fut).await
}

/// Runs `f` with `caps` in force (for polling a stream).
pub fn sync_scope<R>(caps: Caps, f: impl FnOnce() -> R) -> R {
    CAPS.sync_scope(caps, f)
}
