//! Grids: the administrative hierarchy.

use super::RequestCtx;
use super::organization::GridAssignment;
use super::person::{Person, PersonFilter, PersonOrderField};
use super::relay::{Connection, NodeObject, id_of};
use super::scalars::{DateTime, GridLevel, Order, order_field, order_spec, search_text};
use super::service::{Service, ServiceFilter, ServiceOrderField};
use crate::error::{ApiError, ApiResult};
use crate::loaders::{ById, ListBy};
use crate::store::filters;
use crate::store::page::PageRequest;
use async_graphql::{Context, Enum, ID, InputObject, Json, Object};
use entity::{grid, grid_assignment, person, service};
use gridgov_macros::{connections, node};
use sea_orm::sea_query::{Alias, ColumnRef, Expr, ExprTrait, IntoColumnRef, JoinType};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryTrait, Select};
use uuid::Uuid;

#[derive(Clone)]
pub struct Grid(pub grid::Model);

impl NodeObject for Grid {
    type Entity = grid::Entity;
    fn from_model(m: grid::Model) -> Self {
        Grid(m)
    }
}

/// What `grids` and `children` can be sorted by.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum GridOrderField {
    /// When the grid was created.
    CreatedAt,
    /// The grid's name, in code-point order.
    Name,
    /// The administrative code: the hierarchy's order, a parent before its children.
    Code,
    /// The level, district first.
    Level,
}
order_field!(GridOrderField, grid::Entity, default = (Code, Asc), {
    CreatedAt => (grid::Column::CreatedAt, "CREATED_AT"),
    Name => (grid::Column::Name, "NAME"),
    Code => (grid::Column::Code, "CODE"),
    Level => (grid::Column::Level, "LEVEL"),
});

/// Filter of `grids`; all given conditions must hold.
#[derive(InputObject, Default)]
pub struct GridFilter {
    /// Grids of this level only.
    pub level: Option<GridLevel>,
    /// Direct children of this grid.
    pub parent_id: Option<ID>,
    /// This grid and its whole subtree.
    pub within_grid_id: Option<ID>,
    /// Case-insensitive substring of the name or code.
    pub search: Option<String>,
}

impl GridFilter {
    pub fn apply(self, mut select: Select<grid::Entity>) -> ApiResult<Select<grid::Entity>> {
        if let Some(level) = self.level {
            select = select.filter(grid::Column::Level.eq(entity::GridLevel::from(level)));
        }
        if let Some(parent) = &self.parent_id {
            select = select.filter(
                grid::Column::ParentId.eq(id_of::<grid::Entity>(parent, "filter.parentId")?),
            );
        }
        if let Some(root) = &self.within_grid_id {
            let root = id_of::<grid::Entity>(root, "filter.withinGridId")?;
            select = select.filter(filters::path_in_subtree(
                Expr::col((grid::Entity, grid::Column::Path)),
                root,
            ));
        }
        if let Some(s) = &self.search {
            select = select.filter(filters::search(
                &[grid::Column::Name, grid::Column::Code],
                &search_text(s, "filter.search")?,
            ));
        }
        Ok(select)
    }
}

/// The ancestors of a grid, from its `path`, root first (the grid itself excluded).
fn ancestor_ids(m: &grid::Model) -> Vec<Uuid> {
    m.path
        .split('/')
        .filter_map(|s| Uuid::parse_str(s).ok())
        .filter(|id| *id != m.id)
        .collect()
}

/// The grids of `ids` the caller may see, in the order of `ids` (one batched lookup).
pub(crate) async fn grids_in_order(rq: &RequestCtx, ids: &[Uuid]) -> ApiResult<Vec<Grid>> {
    let mut found = rq
        .loader
        .load_many(ids.iter().map(|id| ById::<grid::Entity>::new(*id)))
        .await?;
    Ok(ids
        .iter()
        .filter_map(|id| found.remove(&ById::new(*id)))
        .map(Grid)
        .collect())
}

/// A unit of the administrative hierarchy (district, street, community or grid), with its
/// residents, services and grid workers. Every role may read grids, PUBLIC included.
#[node(tracked = "the grid")]
#[Object]
impl Grid {
    /// Administrative code, e.g. `370685001003` (community) or `370685001003-07` (grid).
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// Display name, e.g. `东城社区第7网格`.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Level in the hierarchy.
    async fn level(&self) -> GridLevel {
        self.0.level.into()
    }
    /// The grid one level up; null for a district (a root).
    async fn parent(&self, ctx: &Context<'_>) -> ApiResult<Option<Grid>> {
        let Some(parent) = self.0.parent_id else {
            return Ok(None);
        };
        Ok(RequestCtx::of(ctx)?
            .loader
            .load_one(ById::<grid::Entity>::new(parent))
            .await?
            .map(Grid))
    }
    /// Ancestors from the root down to the parent.
    async fn ancestors(&self, ctx: &Context<'_>) -> ApiResult<Vec<Grid>> {
        grids_in_order(RequestCtx::of(ctx)?, &ancestor_ids(&self.0)).await
    }
    /// Direct children.
    #[connection]
    async fn children(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only those that match every condition given; all when omitted.")]
        filter: Option<GridFilter>,
        #[graphql(desc = "Sort order (default `CODE` ascending); ties are broken by id.")]
        order_by: Option<Order<GridOrderField>>,
    ) -> ApiResult<Connection<Grid>> {
        Connection::child(ctx, self.0.id, || {
            let page = PageRequest::new(first, after, last, before)?;
            let select = filter.unwrap_or_default().apply(grid::Entity::find())?;
            let partition = (grid::Entity, grid::Column::ParentId).into_column_ref();
            Ok((select, partition, order_spec(order_by), page))
        })
        .await
    }
    /// Residents whose home is this grid (or, with `includeDescendants`, any grid below it).
    #[connection]
    async fn residents(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only those that match every condition given; all when omitted.")]
        filter: Option<PersonFilter>,
        #[graphql(desc = "Sort order (default `CREATED_AT` ascending); ties are broken by id.")]
        order_by: Option<Order<PersonOrderField>>,
        #[graphql(
            default = false,
            desc = "Also those of every grid below this one, at any depth."
        )]
        include_descendants: bool,
    ) -> ApiResult<Connection<Person>> {
        let caller = RequestCtx::of(ctx)?.actor.caller.clone();
        Connection::child(ctx, self.0.id, || {
            let page = PageRequest::new(first, after, last, before)?;
            super::person::check_order(&caller, order_by.as_ref())?;
            let select = filter
                .unwrap_or_default()
                .apply(&caller, person::Entity::find())?;
            let (select, partition) = by_grid(
                select,
                (person::Entity, person::Column::GridId),
                include_descendants,
            );
            Ok((select, partition, order_spec(order_by), page))
        })
        .await
    }
    /// Services delivered in this grid (or, with `includeDescendants`, anywhere below it).
    #[connection]
    async fn services(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only those that match every condition given; all when omitted.")]
        filter: Option<ServiceFilter>,
        #[graphql(desc = "Sort order (default `STARTS_AT` ascending); ties are broken by id.")]
        order_by: Option<Order<ServiceOrderField>>,
        #[graphql(
            default = false,
            desc = "Also those of every grid below this one, at any depth."
        )]
        include_descendants: bool,
    ) -> ApiResult<Connection<Service>> {
        Connection::child(ctx, self.0.id, || {
            let page = PageRequest::new(first, after, last, before)?;
            let select = filter.unwrap_or_default().apply(service::Entity::find())?;
            let (select, partition) = by_grid(
                select,
                (service::Entity, service::Column::GridId),
                include_descendants,
            );
            Ok((select, partition, order_spec(order_by), page))
        })
        .await
    }
    /// Incidents in this grid (or, with `includeDescendants`, anywhere below it), as the
    /// caller may see them (see `Query.incidents`).
    #[connection]
    async fn incidents(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only those that match every condition given; all when omitted.")]
        filter: Option<super::incident::IncidentFilter>,
        #[graphql(desc = "Sort order (default `REPORTED_AT` descending); ties are broken by id.")]
        order_by: Option<Order<super::incident::IncidentOrderField>>,
        #[graphql(
            default = false,
            desc = "Also those of every grid below this one, at any depth."
        )]
        include_descendants: bool,
    ) -> ApiResult<Connection<super::incident::Incident>> {
        Connection::child(ctx, self.0.id, || {
            let page = PageRequest::new(first, after, last, before)?;
            super::incident::nested_in_grid(filter, order_by, include_descendants, page)
        })
        .await
    }
    /// Statistics over this grid's subtree (see `Query.stats`).
    #[graphql(complexity = "super::stats::stats_cost(child_complexity)")]
    async fn stats(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Only services starting at or after this instant count, with their participations (no lower bound when omitted). Residents and grids are counted as they are now."
        )]
        from: Option<DateTime>,
        #[graphql(
            desc = "Only services starting before this instant count (no upper bound when omitted); must be after `from`."
        )]
        to: Option<DateTime>,
        #[graphql(
            default = "Asia/Shanghai",
            desc = "IANA time zone (e.g. `Asia/Shanghai`) of the `series` buckets: each starts at local midnight."
        )]
        time_zone: String,
    ) -> ApiResult<super::stats::GridStats> {
        let (from, to) = (from.map(Into::into), to.map(Into::into));
        super::stats::stats_for(ctx, self.0.id, from, to, &time_zone).await
    }
    /// People responsible for this grid.
    async fn workers(&self, ctx: &Context<'_>) -> ApiResult<Vec<GridAssignment>> {
        let key = ListBy::<grid_assignment::Entity> {
            key: self.0.id,
            by: grid_assignment::Column::GridId,
        };
        let rows = RequestCtx::of(ctx)?
            .loader
            .load_one(key)
            .await?
            .unwrap_or_default();
        Ok(rows.iter().cloned().map(GridAssignment).collect())
    }
    /// Boundary as a GeoJSON geometry.
    async fn boundary(&self) -> Option<Json<serde_json::Value>> {
        self.0
            .boundary
            .as_deref()
            .and_then(|b| serde_json::from_str(b).ok())
            .map(Json)
    }
}

/// Partitions rows of `E` by the grid they belong to: directly (`grid_col`), or, with
/// `include_descendants`, by every ancestor of that grid (a join on the ancestor's path range),
/// so that one statement serves the subtrees of many grids.
pub fn by_grid<E: EntityTrait>(
    mut select: Select<E>,
    grid_col: (E, impl sea_orm::IdenStatic),
    include_descendants: bool,
) -> (Select<E>, ColumnRef) {
    if !include_descendants {
        return (select, grid_col.into_column_ref());
    }
    let (own, anc) = (Alias::new("gg_own"), Alias::new("gg_anc"));
    let path = |t: &Alias| Expr::col((t.clone(), grid::Column::Path));
    QueryTrait::query(&mut select)
        .join_as(
            JoinType::InnerJoin,
            grid::Entity,
            own.clone(),
            Expr::col((own.clone(), grid::Column::Id)).equals(grid_col),
        )
        .join_as(
            JoinType::InnerJoin,
            grid::Entity,
            anc.clone(),
            Condition::all()
                .add(path(&own).gte(path(&anc)))
                .add(path(&own).lt(filters::subtree_upper_bound(path(&anc)))),
        );
    (select, (anc, grid::Column::Id).into_column_ref())
}

pub struct GridQuery;

#[connections]
#[Object]
impl GridQuery {
    /// A grid by global id or by administrative code (exactly one of them).
    async fn grid(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Global id of the grid.")] id: Option<ID>,
        #[graphql(desc = "Administrative code of the grid, e.g. `370685001003-07`.")] code: Option<
            String,
        >,
    ) -> ApiResult<Option<Grid>> {
        let rq = RequestCtx::of(ctx)?;
        match (id, code) {
            (Some(id), None) => {
                let id = id_of::<grid::Entity>(&id, "id")?;
                Ok(rq
                    .loader
                    .load_one(ById::<grid::Entity>::new(id))
                    .await?
                    .map(Grid))
            }
            (None, Some(code)) => Ok(grid::Entity::find()
                .filter(grid::Column::Code.eq(code))
                .filter(<grid::Entity as crate::policy::Scoped>::visible(
                    &rq.actor.caller,
                ))
                .one(&rq.db)
                .await?
                .map(Grid)),
            _ => Err(ApiError::bad_input(
                "id",
                "pass exactly one of `id` and `code`",
            )),
        }
    }
    /// All grids, filtered and paged; every role sees every grid.
    #[connection]
    async fn grids(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only those that match every condition given; all when omitted.")]
        filter: Option<GridFilter>,
        #[graphql(desc = "Sort order (default `CODE` ascending); ties are broken by id.")]
        order_by: Option<Order<GridOrderField>>,
    ) -> ApiResult<Connection<Grid>> {
        let page = PageRequest::new(first, after, last, before)?;
        let select = filter.unwrap_or_default().apply(grid::Entity::find())?;
        Connection::root(RequestCtx::of(ctx)?, select, order_spec(order_by), page).await
    }
}
