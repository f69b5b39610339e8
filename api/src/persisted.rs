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

use crate::error::ApiError;
use crate::store::documents::{self, Document, PushSummary, Retention, TrustedDocument};
use async_graphql::{BatchRequest, Request, Value};
use clap::{Args, ValueEnum};
use sea_orm::DatabaseConnection;
use sha2::{Digest, Sha256};
use std::any::TypeId;
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
/// Documents at least this long are parsed on the blocking pool (as `app::parse_document`
/// does, for the same reason).
const PARSE_OFF_RUNTIME: usize = 1024;
/// Where errors about the Apollo extension point.
const HASH_FIELD: &str = "extensions.persistedQuery.sha256Hash";

/// The GraphQL-over-HTTP `documentId` or Relay `doc_id` of a request, put into its data by
/// the transport ([`parse_body`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentId(pub String);

/// The `documentId`/`doc_id` a transport stored in `request`'s data.
pub fn document_id(request: &Request) -> Option<String> {
    request
        .data
        .get(&TypeId::of::<DocumentId>())
        .and_then(|d| d.downcast_ref::<DocumentId>())
        .map(|d| d.0.clone())
}

/// The `documentId` (GraphQL over HTTP) or `doc_id` (Relay) of a GET query string.
pub fn query_string_document_id(raw: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Ids {
        #[serde(rename = "documentId")]
        document_id: Option<String>,
        doc_id: Option<String>,
    }
    let uri: axum::http::Uri = format!("/?{raw}").parse().ok()?;
    let ids = axum::extract::Query::<Ids>::try_from_uri(&uri).ok()?.0;
    ids.document_id.or(ids.doc_id).filter(|id| !id.is_empty())
}

/// Marks a request whose text [`Persisted::prefill`] filled in from the document it names.
struct Prefilled;

/// Reads a POST body as one GraphQL request or a batch, like `BatchRequest`'s own
/// deserialisation, and also takes each request's `documentId` (GraphQL over HTTP) or
/// `doc_id` (Relay) into its data as a [`DocumentId`]; a `query` of `null` (Relay sends one
/// beside `doc_id`) counts as none. Bodies that mention neither key take the direct path.
pub fn parse_body(body: &[u8]) -> Result<BatchRequest, serde_json::Error> {
    let mentions = |key: &[u8]| body.windows(key.len()).any(|w| w == key);
    if !mentions(b"documentId") && !mentions(b"doc_id") {
        return serde_json::from_slice(body);
    }
    match serde_json::from_slice::<serde_json::Value>(body)? {
        serde_json::Value::Array(items) if !items.is_empty() => items
            .into_iter()
            .map(request_with_id)
            .collect::<Result<Vec<_>, _>>()
            .map(BatchRequest::Batch),
        // An empty batch: let async-graphql word the refusal.
        serde_json::Value::Array(_) => serde_json::from_slice(body),
        single => request_with_id(single).map(BatchRequest::Single),
    }
}

/// One operation of a JSON body as a request, its `documentId`/`doc_id` taken into its data
/// as a [`DocumentId`] and a `query` of `null` counted as none.
pub fn request_with_id(mut value: serde_json::Value) -> Result<Request, serde_json::Error> {
    use serde::de::Error as _;
    let mut id = None;
    if let Some(object) = value.as_object_mut() {
        for key in ["documentId", "doc_id"] {
            match object.remove(key) {
                None | Some(serde_json::Value::Null) => {}
                Some(serde_json::Value::String(s)) => id = id.or(Some(s)),
                Some(_) => {
                    return Err(serde_json::Error::custom(format!(
                        "`{key}` must be a string"
                    )));
                }
            }
        }
        if object.get("query").is_some_and(serde_json::Value::is_null) {
            object.remove("query");
        }
    }
    let mut request: Request = serde_json::from_value(value)?;
    if let Some(id) = id {
        request.data.insert(DocumentId(id));
    }
    Ok(request)
}

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
        let prefilled = request.data.contains_key(&TypeId::of::<Prefilled>());
        let has_text = !request.query.is_empty() && !prefilled;
        match (document_id, hash) {
            (Some(_), Some(_)) => Err(ApiError::bad_input(
                "documentId",
                "send either documentId or extensions.persistedQuery, not both",
            )),
            (Some(_), None) if has_text => Err(ApiError::bad_input(
                "documentId",
                "send either a document id or the document text, not both",
            )),
            (Some(id), None) => {
                let id = id.strip_prefix("sha256:").unwrap_or(id);
                match self.lookup(id, mode).await? {
                    Some(body) => fill(request, body, prefilled),
                    None => Err(not_found(mode)),
                }
            }
            (None, Some(hash)) => match self.lookup(&hash, mode).await? {
                // The text sent with a known id must be that document (a client that sends
                // both got its id from the text).
                Some(body) if has_text && request.query != body => Err(mismatch()),
                Some(_) if has_text => Ok(()),
                Some(body) => fill(request, body, prefilled),
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

    /// For a transport that must know the operation before it runs it (`GET` refuses
    /// mutations): fills an empty `request.query` from the document its
    /// `extensions.persistedQuery` names, if it is known and any caller could run it; what
    /// may run is still decided by [`resolve`](Self::resolve).
    pub async fn prefill(&self, request: &mut Request) -> Result<(), ApiError> {
        if !request.query.is_empty() {
            return Ok(());
        }
        let id = match (document_id(request), apollo_hash(request)?) {
            (Some(id), None) => match id.strip_prefix("sha256:") {
                Some(hex) => hex.to_owned(),
                None => id,
            },
            (None, Some(hash)) => hash,
            // Nothing named, or both (which `resolve` refuses).
            _ => return Ok(()),
        };
        if let Some(body) = self.lookup(&id, self.mode(self.exempt_api_keys)).await? {
            request.query = body;
            // `resolve` must not take the filled text for free text sent beside an id.
            request.data.insert(Prefilled);
        }
        Ok(())
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

/// Puts the text of the named document into `request`. A request `prefill` filled may have
/// been parsed already: should the document have changed in between (a re-push), the client
/// is told to send it again rather than run a parse of other text.
fn fill(request: &mut Request, body: String, prefilled: bool) -> Result<(), ApiError> {
    if prefilled && request.query != body {
        return Err(ApiError::PersistedQueryNotFound);
    }
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

/// Why a manifest was refused.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("the manifest is not JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error(
        "the manifest must be a JSON object of id → document text, or an Apollo persisted query manifest"
    )]
    Shape,
    #[error("unsupported Apollo manifest version {0} (only 1 is supported)")]
    Version(serde_json::Value),
    #[error("operation {index} of the manifest: {what}")]
    Operation { index: usize, what: String },
    #[error("document {id:?} does not parse: {message}")]
    Syntax { id: String, message: String },
    #[error("document id {0:?} is not 1 to 256 printable characters without spaces")]
    Id(String),
    #[error("document id {0:?} appears twice with different texts")]
    Duplicate(String),
}

/// The documents of a manifest: a flat JSON object `{id: text}` (Relay, GraphQL Code
/// Generator's client preset) or Apollo's
/// `{"format": "apollo-persisted-query-manifest", "version": 1, "operations": [{id, name, type, body}]}`.
/// Every document must parse.
pub fn read_manifest(json: &str) -> Result<Vec<TrustedDocument>, ManifestError> {
    let value: serde_json::Value = serde_json::from_str(json)?;
    let serde_json::Value::Object(object) = value else {
        return Err(ManifestError::Shape);
    };
    let mut docs = Vec::new();
    if object.get("format").and_then(serde_json::Value::as_str)
        == Some("apollo-persisted-query-manifest")
    {
        match object.get("version") {
            Some(v) if v.as_u64() == Some(1) => {}
            other => {
                return Err(ManifestError::Version(
                    other.cloned().unwrap_or(serde_json::Value::Null),
                ));
            }
        }
        let operations = object
            .get("operations")
            .and_then(serde_json::Value::as_array)
            .ok_or(ManifestError::Shape)?;
        for (index, op) in operations.iter().enumerate() {
            let field = |name: &str| op.get(name).and_then(serde_json::Value::as_str);
            let (Some(id), Some(body)) = (field("id"), field("body")) else {
                return Err(ManifestError::Operation {
                    index,
                    what: "needs a string `id` and `body`".into(),
                });
            };
            docs.push(TrustedDocument {
                id: id.to_owned(),
                body: body.to_owned(),
                name: field("name").map(str::to_owned),
            });
        }
    } else {
        for (id, body) in object {
            let serde_json::Value::String(body) = body else {
                return Err(ManifestError::Shape);
            };
            docs.push(TrustedDocument {
                id,
                body,
                name: None,
            });
        }
    }
    let mut seen = std::collections::HashMap::new();
    for doc in &docs {
        if !valid_id(&doc.id) {
            return Err(ManifestError::Id(doc.id.clone()));
        }
        if let Err(e) = async_graphql::parser::parse_query(&doc.body) {
            return Err(ManifestError::Syntax {
                id: doc.id.clone(),
                message: e.to_string(),
            });
        }
        if seen
            .insert(doc.id.as_str(), doc.body.as_str())
            .is_some_and(|b| b != doc.body)
        {
            return Err(ManifestError::Duplicate(doc.id.clone()));
        }
    }
    // The same id twice with the same text (Apollo manifests may repeat one) is one document.
    let mut unique = std::collections::HashSet::new();
    docs.retain(|d| unique.insert(d.id.clone()));
    Ok(docs)
}

/// Reads the manifest `json` and stores its documents as trusted documents, in one
/// transaction (`gridgov documents push`).
pub async fn push_manifest(db: &DatabaseConnection, json: &str) -> anyhow::Result<PushSummary> {
    let docs = read_manifest(json)?;
    Ok(documents::push(db, &docs).await?)
}
