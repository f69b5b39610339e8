//! Fan-out of committed changes to the subscriptions of this replica.
//!
//! A mutation numbers its changes after it commits ([`ChangeHub::committed`]); the numbering
//! transaction notifies channel `gridgov_changes` on PostgreSQL, which every replica LISTENs to on
//! a dedicated connection. Each replica's dispatcher then reads the new rows of `change_event`
//! once, in `seq` order, and broadcasts them to its subscriptions. The notification carries no
//! data (its payload is the highest `seq`), so its size never depends on the change; on SQLite
//! the wake-up is in-process. A poll every [`POLL`] catches anything a lost notification or a
//! replica that died between commit and numbering left behind.

use crate::store::changes::{self, Change};
use sea_orm::sqlx::postgres::PgConnectOptions;
use sea_orm::{Condition, DatabaseConnection, DbBackend};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{Notify, broadcast};

/// How often the dispatcher looks for changes without being woken.
pub const POLL: Duration = Duration::from_secs(1);

/// Changes a subscription may fall behind by before it re-reads them from the database.
const CAPACITY: usize = 4096;

/// Rows read per statement by the dispatcher.
const BATCH: u64 = 500;

/// Least time between two VACUUMs of the numbering list by one replica (only after it
/// numbered something).
const VACUUM_PERIOD: Duration = Duration::from_secs(30);

/// The committed changes of this replica's database, as a broadcast.
pub struct ChangeHub {
    db: DatabaseConnection,
    sender: broadcast::Sender<Arc<Change>>,
    wake: Arc<Notify>,
    /// Changes numbered since the last [`changes::vacuum_pending`].
    stamped: AtomicU64,
}

impl ChangeHub {
    /// Starts the dispatcher (and, on PostgreSQL, the listener) for `db`. The listener
    /// connects to `listen_url` when given (a direct URL past a transaction-mode pooler),
    /// else with the options of `db`'s pool. Fails only when `listen_url` is not a
    /// PostgreSQL URL.
    pub fn start(db: DatabaseConnection, listen_url: Option<&str>) -> Result<Arc<Self>, String> {
        // The URL may hold a password: the message does not repeat it.
        let direct = listen_url
            .map(|url| {
                url.parse::<PgConnectOptions>()
                    .map_err(|_| "GRIDGOV_NOTIFY_DATABASE_URL is not a PostgreSQL URL".to_owned())
            })
            .transpose()?;
        let (sender, _) = broadcast::channel(CAPACITY);
        let hub = Arc::new(ChangeHub {
            db: db.clone(),
            sender,
            wake: Arc::new(Notify::new()),
            stamped: AtomicU64::new(0),
        });
        if db.get_database_backend() == DbBackend::Postgres {
            // A pool of its own with one connection, so that the listener never takes a
            // connection from the requests' pool.
            let options = match direct {
                Some(options) => options,
                None => (*db.get_postgres_connection_pool().connect_options()).clone(),
            };
            let own = sea_orm::sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .max_lifetime(None)
                .idle_timeout(None)
                .connect_lazy_with(options);
            tokio::spawn(listen(own, Arc::downgrade(&hub)));
        }
        tokio::spawn(dispatch(Arc::downgrade(&hub)));
        Ok(hub)
    }

    /// A receiver of every change numbered from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        self.sender.subscribe()
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Called after a mutation committed: numbers its changes and wakes the dispatcher. A
    /// failure is logged and left to the next poll; the mutation itself has succeeded.
    pub async fn committed(&self) {
        match changes::stamp(&self.db).await {
            Ok(0) => {}
            Ok(n) => {
                self.stamped.fetch_add(n, Ordering::Relaxed);
                self.wake.notify_one();
            }
            Err(e) => {
                tracing::warn!(error = %e, "numbering committed changes failed; the next poll retries")
            }
        }
    }
}

/// Reads newly numbered changes and broadcasts them, until the hub is dropped.
async fn dispatch(hub: std::sync::Weak<ChangeHub>) {
    let mut last: Option<i64> = None;
    let mut vacuumed = tokio::time::Instant::now();
    loop {
        let Some(h) = hub.upgrade() else { return };
        if last.is_none() {
            // Where this replica's broadcast starts: changes numbered from now on.
            match changes::last_seq(&h.db).await {
                Ok(n) => last = Some(n),
                Err(e) => tracing::debug!(error = %e, "reading the end of the change feed failed"),
            }
        }
        let wake = h.wake.clone();
        drop(h);
        let woken = tokio::select! {
            () = wake.notified() => true,
            () = tokio::time::sleep(POLL) => false,
        };
        let Some(h) = hub.upgrade() else { return };
        if !woken {
            match changes::stamp(&h.db).await {
                Ok(n) => {
                    h.stamped.fetch_add(n, Ordering::Relaxed);
                }
                Err(e) => tracing::debug!(error = %e, "numbering left-over changes failed"),
            }
        }
        if vacuumed.elapsed() >= VACUUM_PERIOD && h.stamped.swap(0, Ordering::Relaxed) > 0 {
            vacuumed = tokio::time::Instant::now();
            if let Err(e) = changes::vacuum_pending(&h.db).await {
                tracing::debug!(error = %e, "vacuuming the numbering list failed");
            }
        }
        let from = match last {
            Some(n) if h.sender.receiver_count() > 0 => n,
            // Nobody listens (or first round): skip to the end of the feed.
            _ => {
                match changes::last_seq(&h.db).await {
                    Ok(n) => last = Some(n),
                    Err(e) => {
                        tracing::debug!(error = %e, "reading the end of the change feed failed")
                    }
                }
                continue;
            }
        };
        let mut from = from;
        loop {
            match changes::after(&h.db, from, BATCH, Condition::all()).await {
                Ok(rows) => {
                    let full = rows.len() as u64 == BATCH;
                    for row in rows {
                        from = row.seq.unwrap_or(from);
                        // No receiver left is not an error: the next round skips ahead.
                        let _ = h.sender.send(Arc::new(row));
                    }
                    if !full {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "reading committed changes failed; retrying");
                    break;
                }
            }
        }
        last = Some(from);
    }
}

/// LISTENs to [`changes::CHANNEL`] on a dedicated connection and wakes the dispatcher on every
/// notification; reconnects after losing the database.
async fn listen(pool: sea_orm::sqlx::PgPool, hub: std::sync::Weak<ChangeHub>) {
    use sea_orm::sqlx::postgres::PgListener;
    loop {
        let Some(wake) = hub.upgrade().map(|h| h.wake.clone()) else {
            return;
        };
        match PgListener::connect_with(&pool).await {
            Ok(mut listener) => match listener.listen(changes::CHANNEL).await {
                Ok(()) => loop {
                    if hub.strong_count() == 0 {
                        return;
                    }
                    match listener.try_recv().await {
                        Ok(Some(_)) => wake.notify_one(),
                        // The connection was lost and is re-established on the next call;
                        // notifications sent meanwhile are found by reading the table.
                        Ok(None) => wake.notify_one(),
                        Err(e) => {
                            tracing::warn!(error = %e, "change listener lost the database");
                            break;
                        }
                    }
                },
                Err(e) => tracing::warn!(error = %e, "LISTEN for changes failed"),
            },
            Err(e) => tracing::warn!(error = %e, "change listener could not connect"),
        }
        tokio::time::sleep(POLL).await;
    }
}
