//! The GraphQL schema: types and root fields per domain, plus the shared Relay pieces.

pub mod audit;
pub mod changes;
pub mod cost;
mod drive;
pub mod grid;
pub mod input;
pub mod limits;
pub mod mutation;
pub mod organization;
pub mod participation;
pub mod person;
pub mod relay;
pub mod scalars;
pub mod service;
pub mod stats;

use crate::db::STATEMENTS;
use crate::error::{ApiError, ApiResult};
use crate::events::ChangeHub;
use crate::loaders::{ById, DbLoader};
use crate::store::write::Actor;
use async_graphql::dataloader::DataLoader;
use async_graphql::{
    Context, ErrorExtensionValues, ID, Interface, MergedObject, Object, Response, Schema,
    ServerError, Value,
};
use entity::{
    grid as grid_e, grid_assignment, membership, organization as org_e, participation as part_e,
    person as person_e, service as service_e,
};
use futures_util::future::{BoxFuture, try_join_all};
use sea_orm::DatabaseConnection;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use uuid::Uuid;

use grid::Grid;
use organization::{GridAssignment, Membership, Organization};
use participation::Participation;
use person::Person;
use service::Service;

/// Most ids `nodes(ids:)` accepts at once.
pub const MAX_NODES: usize = 100;

/// What every resolver of one request shares.
pub struct RequestCtx {
    pub db: DatabaseConnection,
    pub loader: Arc<DataLoader<DbLoader>>,
    /// Who is calling, for the audit trail and the scope of idempotency keys.
    pub actor: Actor,
    /// Committed changes: mutations number theirs, subscriptions listen.
    pub changes: Arc<ChangeHub>,
    /// Unmasked personal-data reads of this request, written to the access log when it ends.
    pii_reads: Arc<std::sync::Mutex<Vec<(Uuid, &'static str)>>>,
    /// Specs of the nested connections, built once per document field.
    pub child_specs: crate::loaders::ChildSpecs,
}

impl RequestCtx {
    /// The context of an operation that runs outside an HTTP request (a subscription): its
    /// DataLoader batches run on their own tasks.
    pub fn detached(db: DatabaseConnection, actor: Actor, changes: Arc<ChangeHub>) -> Self {
        let loader = DataLoader::new(
            DbLoader {
                db: db.clone(),
                caller: actor.caller.clone(),
            },
            tokio::spawn,
        );
        RequestCtx {
            db,
            loader: Arc::new(loader),
            actor,
            changes,
            pii_reads: Arc::default(),
            child_specs: Default::default(),
        }
    }

    /// Notes that `field` of `person` was shown unmasked.
    pub fn record_pii_read(&self, person: Uuid, field: &'static str) {
        match self.pii_reads.lock() {
            Ok(mut reads) => reads.push((person, field)),
            Err(poisoned) => poisoned.into_inner().push((person, field)),
        }
    }

    pub fn of<'a>(ctx: &Context<'a>) -> ApiResult<&'a RequestCtx> {
        ctx.data::<RequestCtx>()
            .map_err(|_| ApiError::internal("request context missing"))
    }
}

/// An object with a global id, fetchable with `node(id:)` and `nodes(ids:)` (Relay's object
/// identification).
#[derive(Interface)]
#[graphql(field(
    name = "id",
    ty = "ID",
    desc = "Global id: opaque, stable for the object's life, unique across all types."
))]
pub enum Node {
    Grid(Grid),
    Person(Person),
    Organization(Organization),
    Membership(Membership),
    GridAssignment(GridAssignment),
    Service(Service),
    Participation(Participation),
    AuditEntry(audit::AuditEntry),
    PiiAccess(audit::PiiAccess),
}

async fn load_node(rq: &RequestCtx, kind: &str, id: Uuid, field: &str) -> ApiResult<Option<Node>> {
    let l = &rq.loader;
    Ok(match kind {
        "Grid" => l
            .load_one(ById::<grid_e::Entity>::new(id))
            .await?
            .map(|m| Node::Grid(Grid(m))),
        "Person" => l
            .load_one(ById::<person_e::Entity>::new(id))
            .await?
            .map(|m| Node::Person(Person(m))),
        "Organization" => l
            .load_one(ById::<org_e::Entity>::new(id))
            .await?
            .map(|m| Node::Organization(Organization(m))),
        "Membership" => l
            .load_one(ById::<membership::Entity>::new(id))
            .await?
            .map(|m| Node::Membership(Membership(m))),
        "GridAssignment" => l
            .load_one(ById::<grid_assignment::Entity>::new(id))
            .await?
            .map(|m| Node::GridAssignment(GridAssignment(m))),
        "Service" => l
            .load_one(ById::<service_e::Entity>::new(id))
            .await?
            .map(|m| Node::Service(Service(m))),
        "Participation" => l
            .load_one(ById::<part_e::Entity>::new(id))
            .await?
            .map(|m| Node::Participation(Participation(m))),
        "AuditEntry" => l
            .load_one(ById::<entity::audit_log::Entity>::new(id))
            .await?
            .map(|m| Node::AuditEntry(audit::AuditEntry(m))),
        "PiiAccess" => l
            .load_one(ById::<entity::pii_access_log::Entity>::new(id))
            .await?
            .map(|m| Node::PiiAccess(audit::PiiAccess(m))),
        _ => {
            return Err(ApiError::bad_input(
                field,
                format!("`{field}` is not a valid global id"),
            ));
        }
    })
}

#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Any object by its global id; null when it does not exist or the caller may not see it.
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Global id of any type (`BAD_USER_INPUT` when it is not a global id).")]
        id: ID,
    ) -> ApiResult<Option<Node>> {
        let (kind, key) = relay::decode_global_id(&id, "id")?;
        load_node(RequestCtx::of(ctx)?, &kind, key, "id").await
    }
    /// Objects by global id, in the order given (null where missing); at most 100 ids.
    #[graphql(complexity = "ids.len().max(1) * child_complexity")]
    async fn nodes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Global ids of any types, at most 100; repeats are answered again.")]
        ids: Vec<ID>,
    ) -> ApiResult<Vec<Option<Node>>> {
        if ids.len() > MAX_NODES {
            return Err(ApiError::bad_input(
                "ids",
                format!("`ids` takes at most {MAX_NODES} ids"),
            ));
        }
        let rq = RequestCtx::of(ctx)?;
        let decoded = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                relay::decode_global_id(id, &format!("ids[{i}]")).map(|(k, v)| (i, k, v))
            })
            .collect::<ApiResult<Vec<_>>>()?;
        try_join_all(decoded.iter().map(|(i, kind, key)| async move {
            load_node(rq, kind, *key, &format!("ids[{i}]")).await
        }))
        .await
    }
}

/// Reads. Every field answers only with what the caller's role may see: rows out of its scope
/// are left out of connections (null for `node` and single-object lookups), and hidden fields
/// are null or masked (see `docs/security.md`).
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(
    NodeQuery,
    grid::GridQuery,
    person::PersonQuery,
    organization::OrganizationQuery,
    service::ServiceQuery,
    participation::ParticipationQuery,
    audit::AuditQuery,
    audit::PiiAccessQuery,
    stats::StatsQuery,
    changes::ChangeQuery,
);

impl Default for grid::GridQuery {
    fn default() -> Self {
        grid::GridQuery
    }
}
impl Default for person::PersonQuery {
    fn default() -> Self {
        person::PersonQuery
    }
}
impl Default for organization::OrganizationQuery {
    fn default() -> Self {
        organization::OrganizationQuery
    }
}
impl Default for service::ServiceQuery {
    fn default() -> Self {
        service::ServiceQuery
    }
}
impl Default for participation::ParticipationQuery {
    fn default() -> Self {
        participation::ParticipationQuery
    }
}

pub type GridgovSchema = Schema<QueryRoot, mutation::MutationRoot, changes::SubscriptionRoot>;

/// Builds the schema with the request limits of `limits`, introspection and suggestions on or
/// off (no data attached: each request brings its own context).
pub fn build_schema(limits: &crate::config::Limits, introspection: bool) -> GridgovSchema {
    let mut builder = Schema::build(
        QueryRoot::default(),
        mutation::MutationRoot::default(),
        changes::SubscriptionRoot,
    )
    .limit_depth(limits.max_depth)
    .limit_complexity(limits.max_complexity)
    .limit_recursive_depth(limits.max_recursive_depth)
    .data(stats::StatsPolicy {
        min_count: limits.stats_min_count,
    })
    .extension(cost::CostLimit)
    .extension(limits::DocumentLimits::new(limits, introspection));
    if !introspection {
        builder = builder.disable_introspection().disable_suggestions();
    }
    builder.finish()
}

/// The SDL of the schema (limits do not change it), with the `@specifiedBy` URLs of the
/// custom scalars.
pub fn sdl() -> String {
    Schema::build(
        QueryRoot::default(),
        mutation::MutationRoot::default(),
        changes::SubscriptionRoot,
    )
    .finish()
    .sdl_with_options(async_graphql::SDLExportOptions::new().include_specified_by())
}

/// Gives every error a stable `extensions.code`, and hides the text of anything unexpected.
pub fn classify(e: &mut ServerError) {
    let ext = e
        .extensions
        .get_or_insert_with(ErrorExtensionValues::default);
    if let Some(api) = e
        .source
        .as_ref()
        .and_then(|s| s.downcast_ref::<ApiError>())
        .cloned()
    {
        e.message = api.to_string();
        api.fill_extensions(ext);
    } else if e.source.is_some() {
        // A resolver turned some other error into a GraphQL error with `?`: its text may hold
        // internal detail, so the client gets a generic message and the log gets the cause.
        tracing::error!(error = %e.message, "unclassified resolver error");
        e.message = "internal error".to_owned();
        ext.set("code", ApiError::Internal.code());
    } else if ext.get("code").is_none() {
        // Parse, validation and argument-coercion errors of async-graphql.
        ext.set("code", "BAD_USER_INPUT");
    }
}

/// Writes one access-log row per person whose personal data the request showed unmasked.
async fn log_pii_reads(
    db: &DatabaseConnection,
    actor: &Actor,
    reads: Vec<(Uuid, &'static str)>,
) -> Result<(), sea_orm::DbErr> {
    use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel};
    let mut by_person: std::collections::BTreeMap<Uuid, std::collections::BTreeSet<&str>> =
        Default::default();
    for (person, field) in reads {
        by_person.entry(person).or_default().insert(field);
    }
    if by_person.is_empty() {
        return Ok(());
    }
    let now = crate::store::write::now();
    let rows: Vec<_> = by_person
        .into_iter()
        .map(|(person_id, fields)| {
            entity::pii_access_log::Model {
                id: Uuid::now_v7(),
                actor: actor.id.clone(),
                person_id,
                fields: fields.into_iter().collect::<Vec<_>>().join(","),
                request_id: actor.request_id.clone(),
                client_request_id: actor.client_request_id.clone(),
                created_at: now,
                updated_at: now,
                version: 1,
            }
            .into_active_model()
            .reset_all()
        })
        .collect();
    for chunk in rows.chunks(500) {
        entity::pii_access_log::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// The pools one request uses.
#[derive(Clone, Copy)]
pub struct Databases<'a> {
    /// Writes and the personal-data access log.
    pub primary: &'a DatabaseConnection,
    /// What resolvers and loaders read from: a read replica for queries, else the primary.
    pub reads: &'a DatabaseConnection,
}

/// Executes one GraphQL request with its own DataLoader and statement counter.
///
/// The DataLoader's batch futures run inside this future rather than on other tasks (see
/// [`drive`]): a batch is first polled only after every resolver that can make progress has
/// registered its key, so each level of a query is one statement whatever the page sizes
/// (async-graphql issue 1306: no timer delay is needed to collect keys).
pub async fn execute(
    schema: &GridgovSchema,
    dbs: Databases<'_>,
    request: async_graphql::Request,
    actor: Actor,
    changes: &Arc<ChangeHub>,
    rate: &Arc<cost::RateLimits>,
    report_statements: bool,
) -> Response {
    let cost = Arc::new(cost::CostCtx::new(rate.clone(), actor.id.clone()));
    let request = request.data(cost.clone());
    let counter = Arc::new(AtomicU64::new(0));
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<BoxFuture<'static, ()>>();
    let loader = DataLoader::new(
        DbLoader {
            db: dbs.reads.clone(),
            caller: actor.caller.clone(),
        },
        move |fut: BoxFuture<'static, ()>| {
            // The receiver lives until the request finishes, so sending cannot fail while a
            // resolver still waits for the batch.
            let _ = tx.send(fut);
        },
    )
    .delay(Duration::ZERO);
    let pii_reads = Arc::new(std::sync::Mutex::new(Vec::new()));
    let logged_as = actor.clone();
    let request = request.data(RequestCtx {
        db: dbs.reads.clone(),
        loader: Arc::new(loader),
        actor,
        changes: changes.clone(),
        pii_reads: pii_reads.clone(),
        child_specs: Default::default(),
    });
    let run = drive::Driven::new(schema.execute(request), rx);
    let mut response = STATEMENTS.scope(counter.clone(), run).await;
    let statements = counter.load(Ordering::Relaxed);
    metrics::histogram!(crate::metrics::SQL_STATEMENTS).record(statements as f64);
    let reads = std::mem::take(&mut *pii_reads.lock().unwrap_or_else(|p| p.into_inner()));
    // On the primary even when the query read from a replica: a replica is read-only.
    if let Err(e) = log_pii_reads(dbs.primary, &logged_as, reads).await {
        // Personal data whose disclosure cannot be recorded is not disclosed.
        tracing::error!(error = %e, "writing the PII access log failed; response withheld");
        response = Response::from_errors(vec![ServerError::new("internal error", None)]);
        if let Some(ext) = response.errors.first_mut().map(|e| {
            e.extensions
                .get_or_insert_with(ErrorExtensionValues::default)
        }) {
            ext.set("code", ApiError::Internal.code());
        }
    }
    for e in &mut response.errors {
        classify(e);
    }
    response
        .extensions
        .insert("cost".to_owned(), cost.extension(&response.data));
    if report_statements {
        response
            .extensions
            .insert("sqlStatements".to_owned(), Value::from(statements));
    }
    response
}
