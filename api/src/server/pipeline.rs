//! The one path of every GraphQL operation, whichever transport brought it:
//!
//! 1. **authenticate** — once per HTTP request, or once per WebSocket connection at
//!    `connection_init` ([`AppState::authenticate`]);
//! 2. **persisted-document lookup** — a hash or document id becomes its text, an APQ
//!    registration is stored, the trusted-documents mode is enforced;
//! 3. **parse once** — long documents on the blocking pool; the parsed document stays in the
//!    request for async-graphql to reuse;
//! 4. **document limits** — size, expansion, aliases, root fields, nesting, introspection;
//!    then the operation type the transport may run (queries only over GET, subscriptions
//!    only over WebSocket);
//! 5. **cost and rate limit** — the validated complexity is charged to the caller's bucket
//!    ([`crate::ratelimit::CostLimit`]);
//! 6. **execute** — with the DataLoader batches driven inside the operation's own future
//!    ([`drive`]) and the statement counter in scope; unmasked personal-data reads are logged
//!    before the response leaves, or the response is withheld;
//! 7. **classify errors** — every error gets its `extensions.code` ([`crate::error::classify`]);
//! 8. **metrics** — operation count, latency and error codes.
//!
//! The transports ([`super::http`], [`super::ws`]) only decode what arrives, call
//! [`AppState::run`] or [`AppState::subscribe`], and encode what comes back.

use super::drive::{Driven, DrivenStream};
use super::limits::DocumentLimits;
use super::request_id::RequestId;
use super::state::AppState;
use crate::auth::{self, Caller};
use crate::db::STATEMENTS;
use crate::error::{ApiError, ApiResult, classify};
use crate::loaders::DbLoader;
use crate::metrics::{InFlight, Operation};
use crate::ratelimit::{CostCtx, CostLimit, Throttle};
use crate::schema::{self, GridgovSchema, PiiReads, RequestCtx};
use crate::store::write::Actor;
use async_graphql::dataloader::DataLoader;
use async_graphql::parser::types::OperationType;
use async_graphql::{Request, Response, ServerError, Value};
use axum::http::HeaderMap;
use futures_util::future::BoxFuture;
use futures_util::stream::{self, BoxStream, StreamExt};
use sea_orm::DatabaseConnection;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tracing::Instrument;

/// The schema with the limits of `limits`, the cost extension, and introspection and
/// suggestions on or off (no data attached: each operation brings its own context).
pub fn build_schema(limits: &crate::config::Limits, introspection: bool) -> GridgovSchema {
    let mut builder = schema::builder()
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity)
        .limit_recursive_depth(limits.max_recursive_depth)
        .data(schema::stats::StatsPolicy {
            min_count: limits.stats_min_count,
        })
        .extension(CostLimit);
    if !introspection {
        builder = builder.disable_introspection().disable_suggestions();
    }
    builder.finish()
}

/// How an operation arrived: what it may run depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `GET /graphql`: queries only (a GET must not change anything).
    Get,
    /// `POST /graphql`: queries and mutations.
    Post,
    /// `/graphql/ws`: subscriptions only.
    WebSocket,
}

/// One operation as a transport decoded it.
pub struct Incoming {
    pub request: Request,
    /// A persisted document's id sent beside the request (GraphQL-over-HTTP `documentId`,
    /// Relay's `doc_id`).
    pub document_id: Option<String>,
}

impl From<Request> for Incoming {
    fn from(request: Request) -> Self {
        Incoming {
            request,
            document_id: None,
        }
    }
}

/// The outcome of one operation: its response and the caller's bucket afterwards.
pub struct Answer {
    pub response: Response,
    pub throttle: Throttle,
}

/// Documents at least this long are parsed and checked on the blocking pool.
///
/// Parsing is not cheap: about 0.16 ms per KiB for small documents and 0.9 ms per KiB at
/// 256 KiB (release build). Run on a runtime worker it would hold that worker, and the request
/// timeout could not fire, as a timer only fires when the future it races yields. Most
/// documents are shorter; they parse in under 0.2 ms, which the hop to another thread would
/// only add to, so they are parsed where they arrive.
const PARSE_OFF_RUNTIME: usize = 1024;

impl AppState {
    /// Step 1: who is calling, from the `Authorization` header; `client` is the client's
    /// address (the key of an anonymous caller's bucket).
    pub async fn authenticate(&self, headers: &HeaderMap, client: IpAddr) -> ApiResult<Caller> {
        auth::authenticate(&self.db, &self.settings.auth, headers, &client.to_string()).await
    }

    /// The actor of a caller's operations, for audit entries and the access log.
    pub fn actor(caller: Caller, ids: &RequestId) -> Actor {
        Actor {
            id: caller.id.clone(),
            request_id: ids.id.clone(),
            client_request_id: ids.client.clone(),
            caller: Arc::new(caller),
        }
    }

    /// The document limits of this server.
    fn document_limits(&self) -> DocumentLimits {
        DocumentLimits::new(&self.settings.limits, self.settings.introspection())
    }

    /// Steps 2–4: the request with its document parsed and within every limit, and what it
    /// asks to run.
    async fn prepare(
        &self,
        incoming: Incoming,
        actor: &Actor,
        transport: Transport,
    ) -> Result<(Request, Operation), Vec<ServerError>> {
        let Incoming {
            request,
            document_id,
        } = incoming;
        let mut request = request;
        let exempt = self
            .persisted
            .exempts(actor.id.starts_with(auth::apikey::ACTOR_PREFIX));
        self.persisted
            .resolve(&mut request, document_id.as_deref(), exempt)
            .await
            .map_err(|e| vec![e.to_server_error()])?;
        let mut request = parse(request, self.document_limits()).await?;
        let operation = Operation::of(&mut request);
        let refusal = match (transport, operation.kind) {
            (Transport::Get, Some(OperationType::Mutation | OperationType::Subscription)) => {
                Some(ApiError::MethodNotAllowed(
                    "mutations and subscriptions must be sent with POST or over WebSocket",
                ))
            }
            (Transport::Post, Some(OperationType::Subscription)) => Some(ApiError::bad_input(
                "query",
                "subscriptions run over WebSocket at /graphql/ws (protocol graphql-transport-ws)",
            )),
            (Transport::WebSocket, Some(OperationType::Query | OperationType::Mutation)) => {
                Some(only_subscriptions())
            }
            _ => None,
        };
        match refusal {
            Some(e) => Err(vec![e.to_server_error()]),
            None => Ok((request, operation)),
        }
    }

    /// Runs one operation of an HTTP request, steps 2–8, inside its `graphql.operation` span.
    pub async fn run(&self, incoming: Incoming, actor: &Actor, transport: Transport) -> Answer {
        let _in_flight = InFlight::start();
        let started = Instant::now();
        let cost = Arc::new(CostCtx::new(self.rate.clone(), actor.id.clone()));
        let (response, operation) = match self.prepare(incoming, actor, transport).await {
            Err(errors) => (Response::from_errors(errors), Operation::invalid()),
            Ok((request, operation)) => {
                let span = operation.span();
                let response = self
                    .execute(request, &operation, actor.clone(), cost.clone())
                    .instrument(span)
                    .await;
                (response, operation)
            }
        };
        let mut response = response;
        for e in &mut response.errors {
            classify(e);
        }
        response
            .extensions
            .insert("cost".to_owned(), cost.extension(&response.data));
        operation.record(started.elapsed(), &response);
        Answer {
            response,
            throttle: cost.throttle(),
        }
    }

    /// Step 6 for a query or mutation.
    async fn execute(
        &self,
        request: Request,
        operation: &Operation,
        actor: Actor,
        cost: Arc<CostCtx>,
    ) -> Response {
        // Queries read from the replica; writes and the access log of personal data stay on
        // the primary.
        let reads = match (operation.kind, &self.replica) {
            (Some(OperationType::Query), Some(replica)) => replica,
            _ => &self.db,
        };
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<BoxFuture<'static, ()>>();
        let pii_reads = PiiReads::default();
        let logged_as = actor.clone();
        let request = request.data(cost).data(RequestCtx::new(
            reads.clone(),
            loader(reads, &actor, tx),
            actor,
            self.changes.clone(),
            pii_reads.clone(),
        ));
        let counter = Arc::new(AtomicU64::new(0));
        let run = Driven::new(self.schema.execute(request), rx);
        let run = crate::store::seal::with_key(self.cursor_key.clone(), run);
        let run = crate::caps::scope(self.settings.limits.caps(), run);
        let mut response = STATEMENTS.scope(counter.clone(), run).await;
        let statements = counter.load(Ordering::Relaxed);
        metrics::histogram!(crate::metrics::SQL_STATEMENTS).record(statements as f64);
        let reads = std::mem::take(&mut *pii_reads.lock().unwrap_or_else(|p| p.into_inner()));
        // On the primary even when the query read from a replica: a replica is read-only.
        if let Err(e) = crate::store::pii::log_reads(&self.db, &logged_as, reads).await {
            // Personal data whose disclosure cannot be recorded is not disclosed.
            tracing::error!(error = %e, "writing the PII access log failed; response withheld");
            response = Response::from_errors(vec![ApiError::Internal.to_server_error()]);
        }
        if self.settings.debug_extensions {
            response
                .extensions
                .insert("sqlStatements".to_owned(), Value::from(statements));
        }
        response
    }

    /// Steps 2–8 for a subscription of a WebSocket connection: its events, each classified,
    /// with the DataLoader batches driven inside the stream and the statement counter and
    /// cursor key in scope while it is polled. A refusal is a stream of one error response.
    pub async fn subscribe(
        &self,
        incoming: Incoming,
        actor: &Actor,
        session: Arc<async_graphql::Data>,
    ) -> BoxStream<'static, Response> {
        let (request, operation) = match self.prepare(incoming, actor, Transport::WebSocket).await {
            Ok(prepared) => prepared,
            Err(errors) => {
                let mut response = Response::from_errors(errors);
                for e in &mut response.errors {
                    classify(e);
                }
                Operation::invalid().record(Duration::ZERO, &response);
                return stream::once(async move { response }).boxed();
            }
        };
        operation.record_start();
        let cost = Arc::new(CostCtx::new(self.rate.clone(), actor.id.clone()));
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<BoxFuture<'static, ()>>();
        let request = request.data(cost).data(RequestCtx::new(
            self.db.clone(),
            loader(&self.db, actor, tx),
            actor.clone(),
            self.changes.clone(),
            PiiReads::default(),
        ));
        let events = self
            .schema
            .execute_stream_with_session_data(request, session);
        let counter = Arc::new(AtomicU64::new(0));
        let events = DrivenStream::new(events, rx, counter.clone(), self.settings.limits.caps());
        let mut seen = 0;
        crate::store::seal::scope_stream(self.cursor_key.clone(), events)
            .map(move |mut response| {
                let now = counter.load(Ordering::Relaxed);
                metrics::histogram!(crate::metrics::SQL_STATEMENTS).record((now - seen) as f64);
                seen = now;
                for e in &mut response.errors {
                    classify(e);
                }
                operation.record_errors(&response);
                response
            })
            .boxed()
    }
}

/// The DataLoader of one operation over `db`, whose batches are handed to `batches` for the
/// operation's own future or stream to drive.
fn loader(
    db: &DatabaseConnection,
    actor: &Actor,
    batches: tokio::sync::mpsc::UnboundedSender<BoxFuture<'static, ()>>,
) -> DataLoader<DbLoader> {
    DataLoader::new(
        DbLoader {
            db: db.clone(),
            caller: actor.caller.clone(),
        },
        move |fut: BoxFuture<'static, ()>| {
            // The receiver lives as long as the operation, so sending cannot fail while a
            // resolver still waits for the batch.
            let _ = batches.send(fut);
        },
    )
    .delay(Duration::ZERO)
}

/// Step 3 and the first half of step 4: parses the request's document once, keeping it in the
/// request, and measures it against `limits`. A syntax error is left for async-graphql to
/// report as usual.
async fn parse(mut request: Request, limits: DocumentLimits) -> Result<Request, Vec<ServerError>> {
    limits.check_size(&request.query).map_err(|e| vec![e])?;
    if request.query.len() < PARSE_OFF_RUNTIME {
        if let Ok(doc) = request.parsed_query() {
            limits.check(doc).map_err(|e| vec![e])?;
        }
        return Ok(request);
    }
    // The parse runs to its end even if the request times out meanwhile; the timeout still
    // answers on time, as this future only awaits.
    let checked = tokio::task::spawn_blocking(move || {
        let outcome = match request.parsed_query() {
            Ok(doc) => limits.check(doc),
            Err(_) => Ok(()),
        };
        (request, outcome)
    })
    .await;
    match checked {
        Ok((request, Ok(()))) => Ok(request),
        Ok((_, Err(e))) => Err(vec![e]),
        Err(e) => Err(vec![
            ApiError::internal(format!("parsing a document failed: {e}")).to_server_error(),
        ]),
    }
}

pub(crate) fn only_subscriptions() -> ApiError {
    ApiError::bad_input(
        "query",
        "only subscriptions run over WebSocket; send queries and mutations to POST /graphql",
    )
}
