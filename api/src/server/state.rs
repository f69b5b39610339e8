//! What every handler of one server shares.

use crate::config::ServeSettings;
use crate::events::ChangeHub;
use crate::ratelimit::RateLimits;
use crate::schema::GridgovSchema;
use crate::shutdown::ShutdownSignal;
use crate::store::seal::CursorKey;
use sea_orm::DatabaseConnection;
use std::sync::Arc;

/// Shared state of the handlers.
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
    pub rate: Arc<RateLimits>,
    pub changes: Arc<ChangeHub>,
    /// The key cursors are sealed with (`store::seal`).
    pub cursor_key: Arc<CursorKey>,
    /// Persisted documents: automatic persisted queries and trusted documents.
    pub persisted: crate::persisted::Persisted,
    /// The deployed schema's SDL and its entity tag, served at `GET /schema.graphql`.
    pub sdl: Arc<Sdl>,
}

/// The SDL of the deployed schema, with a strong entity tag of its text.
pub struct Sdl {
    pub text: String,
    pub etag: String,
}

impl Sdl {
    pub fn of(schema: &GridgovSchema) -> Sdl {
        use sha2::Digest;
        let text = crate::schema::sdl_of(schema);
        let digest = sha2::Sha256::digest(text.as_bytes());
        let etag = format!("\"{}\"", hex::encode(&digest[..16]));
        Sdl { text, etag }
    }
}
