//! The GraphQL schema: types and root fields per domain, plus the shared Relay pieces.

pub mod audit;
pub mod changes;
pub mod grid;
pub mod incident;
pub mod input;
pub mod mutation;
pub mod organization;
pub mod participation;
pub mod person;
pub mod relay;
pub mod scalars;
pub mod service;
pub mod stats;
pub mod viewer;

use crate::error::{ApiError, ApiResult};
use crate::events::ChangeHub;
use crate::loaders::{ById, DbLoader};
use crate::store::write::Actor;
use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, ID, Interface, MergedObject, Object, Schema};
use entity::{
    grid as grid_e, grid_assignment, membership, organization as org_e, participation as part_e,
    person as person_e, service as service_e,
};
use futures_util::future::try_join_all;
use sea_orm::DatabaseConnection;
use std::sync::Arc;
use uuid::Uuid;

use grid::Grid;
use organization::{GridAssignment, Membership, Organization};
use participation::Participation;
use person::Person;
use service::Service;

/// What every resolver of one request shares.
pub struct RequestCtx {
    pub db: DatabaseConnection,
    pub loader: Arc<DataLoader<DbLoader>>,
    /// Who is calling, for the audit trail and the scope of idempotency keys.
    pub actor: Actor,
    /// Committed changes: mutations number theirs, subscriptions listen.
    pub changes: Arc<ChangeHub>,
    /// Unmasked personal-data reads of this request, written to the access log when it ends.
    pii_reads: PiiReads,
    /// Specs of the nested connections, built once per document field.
    pub child_specs: crate::loaders::ChildSpecs,
}

/// Unmasked personal-data reads of one request: (person, field).
pub type PiiReads = Arc<std::sync::Mutex<Vec<(Uuid, &'static str)>>>;

impl RequestCtx {
    /// The context of one operation: resolvers read from `db` through `loader`; unmasked
    /// personal-data reads are noted in `pii_reads`, for the pipeline to log.
    pub fn new(
        db: DatabaseConnection,
        loader: DataLoader<DbLoader>,
        actor: Actor,
        changes: Arc<ChangeHub>,
        pii_reads: PiiReads,
    ) -> Self {
        RequestCtx {
            db,
            loader: Arc::new(loader),
            actor,
            changes,
            pii_reads,
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
    Incident(incident::Incident),
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
        "Incident" => l
            .load_one(ById::<entity::incident::Entity>::new(id))
            .await?
            .map(|m| Node::Incident(incident::Incident(m))),
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
        let max = crate::caps::current().max_nodes;
        if ids.len() > max {
            return Err(ApiError::bad_input(
                "ids",
                format!("`ids` takes at most {max} ids"),
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
    incident::IncidentQuery,
    audit::AuditQuery,
    audit::PiiAccessQuery,
    stats::StatsQuery,
    changes::ChangeQuery,
    viewer::ViewerQuery,
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

/// The schema's builder, without limits or extensions (the server adds its own; see
/// `server::pipeline::build_schema`).
pub fn builder()
-> async_graphql::SchemaBuilder<QueryRoot, mutation::MutationRoot, changes::SubscriptionRoot> {
    Schema::build(
        QueryRoot::default(),
        mutation::MutationRoot::default(),
        changes::SubscriptionRoot,
    )
}

/// The SDL of `schema`, with the `@specifiedBy` URLs of the custom scalars.
pub fn sdl_of(schema: &GridgovSchema) -> String {
    schema.sdl_with_options(async_graphql::SDLExportOptions::new().include_specified_by())
}

/// The SDL of the schema (limits do not change it).
pub fn sdl() -> String {
    sdl_of(&builder().finish())
}
