//! Persisted documents: operations named by an id instead of sent as text.
//!
//! - **Automatic persisted queries** (Apollo's protocol): a request carries
//!   `extensions.persistedQuery {version: 1, sha256Hash}`. With the hash alone, a known document
//!   runs and an unknown one answers `PERSISTED_QUERY_NOT_FOUND`; the client then sends the
//!   text with the hash, which registers it (the hash must be the SHA-256 hex of the text).
//!   Registered documents are kept in the database, so that every replica knows them, and the
//!   least recently used are evicted beyond `GRIDGOV_APQ_CAPACITY` or once unused for
//!   `GRIDGOV_APQ_RETENTION_DAYS`: an anonymous caller cannot fill the database.
//! - **Trusted documents**: `gridgov documents push FILE` loads a build's manifest (Relay,
//!   GraphQL Code Generator, Apollo). Manifest ids are opaque (Relay's default is MD5) and
//!   looked up as given, by `extensions.persistedQuery.sha256Hash`, by the GraphQL-over-HTTP
//!   `documentId` (`sha256:<hex>` or a bare id) or by Relay's `doc_id`.
//!   `GRIDGOV_TRUSTED_DOCUMENTS` decides what runs:
//!
//! | mode      | free text            | registered (APQ) ids | pushed ids |
//! |-----------|----------------------|----------------------|------------|
//! | `off`     | runs                 | run                  | only those that are the SHA-256 of their text |
//! | `allow`   | runs                 | run                  | run        |
//! | `require` | `NOT_IN_LIST`        | `NOT_IN_LIST`, none registered | run |
//!
//! In `require` mode, `GRIDGOV_TRUSTED_DOCUMENTS_EXEMPT_API_KEYS` lets API-key callers
//! (partners that write their own queries) work as in `allow`.
//!
//! A small in-memory cache (id → document, a few minutes) spares the database a lookup per
//! request; the database stays the truth, so a document registered on one replica runs on
//! every other.

mod manifest;
mod transport;

pub use manifest::{ManifestError, push_manifest, read_manifest};
pub use transport::{DocumentId, document_id, query_string_document_id, request_with_id};

use crate::error::ApiError;
use crate::store::documents::{self, Document, Retention};
use async_graphql::{Request, Value};
use clap::{Args, ValueEnum};
use sea_orm::DatabaseConnection;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;

/// What `GRIDGOV_TRUSTED_DOCUMENTS` lets run (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TrustedDocuments {
    /// Pushed documents are ignored (unless their id is the SHA-256 of their text).
    Off,
    /// Pushed documents run by id, and free text runs too.
    Allow,
    /// Only pushed documents run.
    Require,
}

/// Settings of persisted documents.
#[derive(Debug, Clone, Args)]
pub struct DocumentSettings {
    /// Trusted documents (pushed with `gridgov documents push`): `off` ignores them, `allow`
    /// runs them by id beside free text, `require` runs nothing else.
    #[arg(long, env = "GRIDGOV_TRUSTED_DOCUMENTS", value_enum, default_value_t = TrustedDocuments::Off)]
    pub trusted_documents: TrustedDocuments,
    /// In `require` mode, let callers with an API key send free text and register automatic
    /// persisted queries, as in `allow` mode.
    #[arg(long, env = "GRIDGOV_TRUSTED_DOCUMENTS_EXEMPT_API_KEYS")]
    pub trusted_documents_exempt_api_keys: bool,
    /// Automatic persisted queries: clients may register a document by sending it with its
    /// SHA-256 hash (off: a hash that is not a trusted document answers
    /// `PERSISTED_QUERY_NOT_SUPPORTED`).
    #[arg(long, env = "GRIDGOV_APQ", default_value_t = true, action = clap::ArgAction::Set)]
    pub apq: bool,
    /// Most automatic persisted queries kept; beyond that the least recently used are evicted.
    /// Trusted documents do not count and are never evicted.
    #[arg(long, env = "GRIDGOV_APQ_CAPACITY", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub apq_capacity: u64,
    /// Days an automatic persisted query is kept without being used.
    #[arg(long, env = "GRIDGOV_APQ_RETENTION_DAYS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3650))]
    pub apq_retention_days: u64,
}

impl Default for DocumentSettings {
    fn default() -> Self {
        DocumentSettings {
            trusted_documents: TrustedDocuments::Off,
            trusted_documents_exempt_api_keys: false,
            apq: true,
            apq_capacity: 10_000,
            apq_retention_days: 30,
        }
    }
}

/// Longest document id accepted (the column's width).
pub const MAX_ID_LEN: usize = 256;
/// How long a document stays in a replica's memory before it is read again (a re-pushed
/// manifest reaches every replica within this time).
const CACHE_FOR: Duration = Duration::from_secs(300);
/// Bytes of document text a replica keeps in memory.
const CACHE_BYTES: u64 = 32 * 1024 * 1024;
/// Documents at least this long are parsed on the blocking pool (as the pipeline does, for the
/// same reason).
const PARSE_OFF_RUNTIME: usize = 1024;
/// Where errors about the Apollo extension point.
const HASH_FIELD: &str = "extensions.persistedQuery.sha256Hash";

/// A document as a replica keeps it in memory.
struct Cached {
    body: String,
    trusted: bool,
    /// The id is the SHA-256 hex of the body (always so for registered documents).
    content_addressed: bool,
}

/// The persisted-document store of a server: the database, the settings and a cache.
#[derive(Clone)]
pub struct Persisted {
    db: DatabaseConnection,
    mode: TrustedDocuments,
    exempt_api_keys: bool,
    apq: bool,
    retention: Retention,
    max_document_bytes: usize,
    cache: moka::sync::Cache<String, Arc<Cached>>,
}

impl std::fmt::Debug for Persisted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Persisted")
            .field("mode", &self.mode)
            .field("exempt_api_keys", &self.exempt_api_keys)
            .field("apq", &self.apq)
            .field("retention", &self.retention)
            .finish_non_exhaustive()
    }
}

impl Persisted {
    /// The store over `db`; documents longer than `max_document_bytes`
    /// (`GRIDGOV_MAX_DOCUMENT_BYTES`) are never registered.
    pub fn new(
        db: DatabaseConnection,
        settings: &DocumentSettings,
        max_document_bytes: usize,
    ) -> Persisted {
        let days = i64::try_from(settings.apq_retention_days).unwrap_or(3650);
        Persisted {
            db,
            mode: settings.trusted_documents,
            exempt_api_keys: settings.trusted_documents_exempt_api_keys,
            apq: settings.apq,
            retention: Retention {
                capacity: settings.apq_capacity,
                unused_for: chrono::Duration::days(days),
            },
            max_document_bytes,
            cache: moka::sync::Cache::builder()
                .time_to_live(CACHE_FOR)
                .weigher(|id: &String, c: &Arc<Cached>| {
                    u32::try_from(id.len() + c.body.len()).unwrap_or(u32::MAX)
                })
                .max_capacity(CACHE_BYTES)
                .build(),
        }
    }

    /// Whether a caller is exempt from `require` mode: `api_key` says the caller
    /// authenticated with an API key.
    pub fn exempts(&self, api_key: bool) -> bool {
        api_key && self.exempt_api_keys
    }

    fn mode(&self, exempt: bool) -> TrustedDocuments {
        match self.mode {
            TrustedDocuments::Require if exempt => TrustedDocuments::Allow,
            mode => mode,
        }
    }

    /// Before parsing: fills `request.query` from the stored document when the request names
    /// one (Apollo's `extensions.persistedQuery`, or `document_id`: the GraphQL-over-HTTP
    /// `documentId`, `sha256:<hex>` or a bare manifest id, or Relay's `doc_id`), registers an
    /// automatic persisted query sent with its text, and enforces the trusted-documents mode.
    /// `exempt`: see [`exempts`](Self::exempts).
    pub async fn resolve(
        &self,
        request: &mut Request,
        document_id: Option<&str>,
        exempt: bool,
    ) -> Result<(), ApiError> {
        let mode = self.mode(exempt);
        let hash = apollo_hash(request)?;
        let has_text = !request.query.is_empty();
        match (document_id, hash) {
            (Some(_), Some(_)) => Err(ApiError::bad_input(
                "documentId",
                "send either documentId or extensions.persistedQuery, not both",
            )),
            (Some(_), None) if has_text => Err(ApiError::bad_input(
                "documentId",
                "send either a document id or the document text, not both",
            )),
            (Some(id), None) => match self.lookup(stored_id(id), mode).await? {
                Some(body) => fill(request, body),
                None => Err(not_found(mode)),
            },
            (None, Some(hash)) => match self.lookup(&hash, mode).await? {
                // The text sent with a known id must be that document (a client that sends
                // both got its id from the text).
                Some(body) if has_text && request.query != body => Err(mismatch()),
                Some(_) if has_text => Ok(()),
                Some(body) => fill(request, body),
                None if mode == TrustedDocuments::Require => Err(ApiError::PersistedQueryNotInList),
                // Without automatic persisted queries nothing but a pushed document could be
                // found: in `off` mode, tell Apollo Client to stop sending hashes.
                None if !has_text && !self.apq && mode == TrustedDocuments::Off => {
                    Err(ApiError::PersistedQueryNotSupported)
                }
                None if !has_text => Err(ApiError::PersistedQueryNotFound),
                None => {
                    if !sha256_hex(&request.query).eq_ignore_ascii_case(&hash) {
                        return Err(mismatch());
                    }
                    if self.apq {
                        self.register(request).await?;
                    }
                    Ok(())
                }
            },
            (None, None) if has_text && mode == TrustedDocuments::Require => {
                Err(ApiError::PersistedQueryNotInList)
            }
            (None, None) => Ok(()),
        }
    }

    /// The text of document `id` if it may run in `mode`.
    async fn lookup(&self, id: &str, mode: TrustedDocuments) -> Result<Option<String>, ApiError> {
        if id.is_empty() || id.len() > MAX_ID_LEN {
            return Ok(None);
        }
        if let Some(hit) = self.cache.get(id) {
            if may_run(&hit, mode) {
                return Ok(Some(hit.body.clone()));
            }
            // Registered documents never become trusted but by a push, which may have
            // happened since this replica cached it: only `require` mode needs to know.
            if mode != TrustedDocuments::Require || hit.trusted {
                return Ok(None);
            }
        }
        let Some(doc) = documents::find(&self.db, id).await? else {
            return Ok(None);
        };
        self.touch(&doc);
        let cached = Arc::new(Cached {
            content_addressed: !doc.trusted || sha256_hex(&doc.body) == doc.id,
            trusted: doc.trusted,
            body: doc.body,
        });
        self.cache.insert(doc.id, cached.clone());
        Ok(may_run(&cached, mode).then(|| cached.body.clone()))
    }

    /// Records the use of `doc` for eviction, in the background: the request need not wait
    /// for a write.
    fn touch(&self, doc: &Document) {
        if doc.trusted || crate::store::write::now() - doc.last_used_at < documents::TOUCH_EVERY {
            return;
        }
        let (db, doc) = (self.db.clone(), doc.clone());
        tokio::spawn(async move {
            if let Err(e) = documents::touch(&db, &doc).await {
                tracing::warn!(error = %e, "recording the use of a persisted document failed");
            }
        });
    }

    /// Registers the text of `request` (its hash checked) when it is short enough and parses.
    /// A document that does not parse is not kept; its syntax error is reported as usual.
    /// A registration that fails is logged: the request still runs from its text.
    async fn register(&self, request: &mut Request) -> Result<(), ApiError> {
        if request.query.len() > self.max_document_bytes || !parses(request).await? {
            return Ok(());
        }
        let id = sha256_hex(&request.query);
        match documents::register(&self.db, &id, &request.query, self.retention).await {
            Ok(_) => {
                self.cache.insert(
                    id,
                    Arc::new(Cached {
                        body: request.query.clone(),
                        trusted: false,
                        content_addressed: true,
                    }),
                );
            }
            Err(e) => tracing::warn!(error = %e, "registering a persisted query failed"),
        }
        Ok(())
    }
}

/// Puts the text of the named document into `request`.
fn fill(request: &mut Request, body: String) -> Result<(), ApiError> {
    request.query = body;
    Ok(())
}

fn may_run(doc: &Cached, mode: TrustedDocuments) -> bool {
    match mode {
        TrustedDocuments::Off => doc.content_addressed,
        TrustedDocuments::Allow => true,
        TrustedDocuments::Require => doc.trusted,
    }
}

/// The stored id a `documentId` names: GraphQL over HTTP writes a SHA-256 id as
/// `sha256:<hex>`; any other id is a manifest's key as given.
fn stored_id(document_id: &str) -> &str {
    document_id.strip_prefix("sha256:").unwrap_or(document_id)
}

fn not_found(mode: TrustedDocuments) -> ApiError {
    match mode {
        TrustedDocuments::Require => ApiError::PersistedQueryNotInList,
        _ => ApiError::PersistedQueryNotFound,
    }
}

fn mismatch() -> ApiError {
    ApiError::bad_input(HASH_FIELD, "provided sha does not match query")
}

/// Whether `request`'s text parses; the parse stays in the request for execution.
async fn parses(request: &mut Request) -> Result<bool, ApiError> {
    if request.query.len() < PARSE_OFF_RUNTIME {
        return Ok(request.parsed_query().is_ok());
    }
    let mut taken = std::mem::replace(request, Request::new(String::new()));
    let (back, ok) = tokio::task::spawn_blocking(move || {
        let ok = taken.parsed_query().is_ok();
        (taken, ok)
    })
    .await
    .map_err(ApiError::internal)?;
    *request = back;
    Ok(ok)
}

/// The id in Apollo's `extensions.persistedQuery`, if the request has one.
fn apollo_hash(request: &Request) -> Result<Option<String>, ApiError> {
    let Some(extension) = request.extensions.get("persistedQuery") else {
        return Ok(None);
    };
    let Value::Object(extension) = extension else {
        return Err(ApiError::bad_input(
            "extensions.persistedQuery",
            "must be an object {version: 1, sha256Hash}",
        ));
    };
    match extension.get("version") {
        Some(Value::Number(n)) if n.as_u64() == Some(1) => {}
        _ => {
            return Err(ApiError::bad_input(
                "extensions.persistedQuery.version",
                "unsupported persisted query version: only version 1 is supported",
            ));
        }
    }
    match extension.get("sha256Hash") {
        Some(Value::String(hash)) if valid_id(hash) => Ok(Some(hash.clone())),
        _ => Err(ApiError::bad_input(
            HASH_FIELD,
            format!("must be a document id of 1 to {MAX_ID_LEN} printable characters"),
        )),
    }
}

/// Whether `id` may name a document: 1 to [`MAX_ID_LEN`] bytes, no spaces or control
/// characters.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && !id.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// The SHA-256 of `text`, in lowercase hex (the id of an automatic persisted query).
pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}
