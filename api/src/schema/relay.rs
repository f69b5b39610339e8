//! Relay building blocks shared by every type: opaque global ids and connections.
//!
//! A connection field is written `#[connection] async fn things(&self, ctx, filter, order_by)`
//! in an `impl` under `#[gridgov_macros::node]` (object types) or `#[gridgov_macros::connections]`
//! (root queries): the macro adds `first`, `after`, `last` and `before` with their
//! descriptions and [`page_cost`] as the field's complexity. `#[node(tracked)]` also writes
//! `id` (through [`gid`]), `createdAt`, `updatedAt` and `version`.

use super::RequestCtx;
use crate::error::{ApiError, ApiResult};
use crate::loaders::{ChildCount, ChildPage, ChildSpec};
use crate::policy::Scoped;
use crate::store::Table;
use crate::store::page::{self, OrderSpec, Page, PageRequest};
use async_graphql::{Context, ID, Object, OutputType, SimpleObject};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::future::BoxFuture;
use sea_orm::QueryFilter;
use sea_orm::sea_query::ColumnRef;
use sea_orm::{EntityTrait, Select};
use std::sync::Arc;
use uuid::Uuid;

/// What a nested connection field queries: the filtered select, the column holding the
/// parent's id, the order and the page.
pub type ChildQuery<E> = (Select<E>, ColumnRef, OrderSpec<E>, PageRequest);

/// Encodes the global id of a `kind` row: opaque to clients, stable for the row's life. Code
/// that knows the table writes [`gid`]; this form is for a kind known only at run time.
pub fn global_id(kind: &str, id: Uuid) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("{kind}:{id}")))
}

/// The global id of the `E` row `id`.
pub fn gid<E: Table>(id: Uuid) -> ID {
    global_id(E::NAME, id)
}

/// Decodes a global id into its type name and key; `field` names the argument for errors.
pub fn decode_global_id(id: &str, field: &str) -> ApiResult<(String, Uuid)> {
    URL_SAFE_NO_PAD
        .decode(id)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|s| {
            let (kind, key) = s.split_once(':')?;
            Some((kind.to_owned(), Uuid::parse_str(key).ok()?))
        })
        .ok_or_else(|| ApiError::bad_input(field, format!("`{field}` is not a valid global id")))
}

/// Decodes a global id that must belong to table `E`.
pub fn id_of<E: Table>(id: &ID, field: &str) -> ApiResult<Uuid> {
    let (kind, key) = decode_global_id(id, field)?;
    if kind != E::NAME {
        return Err(ApiError::bad_input(
            field,
            format!("`{field}` must be the id of a {}, not of a {kind}", E::NAME),
        ));
    }
    Ok(key)
}

/// Complexity of a connection field: its page size times the cost of what each node selects,
/// plus the connection itself (GitHub's node-limit rule).
pub fn page_cost(first: Option<i32>, last: Option<i32>, child_complexity: usize) -> usize {
    let size = first
        .or(last)
        .map_or(page::DEFAULT_PAGE_SIZE as usize, |n| {
            usize::try_from(n).unwrap_or(0)
        });
    size.max(1)
        .saturating_mul(child_complexity)
        .saturating_add(1)
}

/// A GraphQL object that wraps one row of a table.
pub trait NodeObject: OutputType + Clone + Send + Sync + 'static {
    type Entity: Scoped;
    fn from_model(m: <Self::Entity as EntityTrait>::Model) -> Self;
}

/// Where a page of a connection stands (Relay cursor connections).
#[derive(SimpleObject, Clone)]
#[graphql(name = "PageInfo")]
pub struct PageInfo {
    /// More nodes follow the last one of this page (in the direction of `first`).
    pub has_next_page: bool,
    /// Nodes precede the first one of this page.
    pub has_previous_page: bool,
    /// Cursor of the first node of the page: pass it as `before` for the page before. Null
    /// when the page is empty.
    pub start_cursor: Option<String>,
    /// Cursor of the last node of the page: pass it as `after` for the next page. Null when the
    /// page is empty.
    pub end_cursor: Option<String>,
}

/// An edge of a connection: a node and the cursor to continue after it (encoded only when
/// asked for).
pub struct Edge<N: NodeObject> {
    node: N,
    page: Arc<Page<<N::Entity as EntityTrait>::Model>>,
    index: usize,
}

#[Object(
    concrete(name = "GridEdge", params(super::grid::Grid)),
    concrete(name = "PersonEdge", params(super::person::Person)),
    concrete(name = "OrganizationEdge", params(super::organization::Organization)),
    concrete(name = "MembershipEdge", params(super::organization::Membership)),
    concrete(name = "ServiceEdge", params(super::service::Service)),
    concrete(
        name = "ParticipationEdge",
        params(super::participation::Participation)
    ),
    concrete(name = "AuditEntryEdge", params(super::audit::AuditEntry)),
    concrete(name = "PiiAccessEdge", params(super::audit::PiiAccess)),
    concrete(name = "IncidentEdge", params(super::incident::Incident)),
    concrete(name = "ResponsibilityEdge", params(super::incident::Responsibility))
)]
/// One node of a connection's page, with its cursor.
impl<N: NodeObject> Edge<N> {
    /// The node.
    async fn node(&self) -> &N {
        &self.node
    }
    /// Opaque cursor: pass it as `after` (or `before`) to continue from this edge.
    async fn cursor(&self) -> ApiResult<String> {
        let row = self
            .page
            .rows
            .get(self.index)
            .ok_or_else(|| ApiError::internal("an edge outside its page"))?;
        self.page.cursor_of(row)
    }
}

type CountFuture = BoxFuture<'static, ApiResult<u64>>;

/// How a connection counts its rows; run only when `totalCount` is asked for.
type Counter = Arc<dyn Fn(&RequestCtx) -> CountFuture + Send + Sync>;

/// A Relay connection of `N`.
pub struct Connection<N: NodeObject> {
    edges: Vec<Edge<N>>,
    page_info: PageInfo,
    total: Counter,
}

impl<N: NodeObject> Connection<N> {
    fn from_page(
        page: Arc<Page<<N::Entity as EntityTrait>::Model>>,
        total: Counter,
    ) -> ApiResult<Self> {
        let edges: Vec<Edge<N>> = page
            .rows
            .iter()
            .enumerate()
            .map(|(index, m)| Edge {
                node: N::from_model(m.clone()),
                page: page.clone(),
                index,
            })
            .collect();
        let page_info = PageInfo {
            has_next_page: page.has_next,
            has_previous_page: page.has_previous,
            start_cursor: page.rows.first().map(|m| page.cursor_of(m)).transpose()?,
            end_cursor: page.rows.last().map(|m| page.cursor_of(m)).transpose()?,
        };
        Ok(Connection {
            edges,
            page_info,
            total,
        })
    }

    /// A root connection: one statement for the page, one more for `totalCount` if asked.
    pub async fn root(
        rq: &RequestCtx,
        select: Select<N::Entity>,
        order: OrderSpec<N::Entity>,
        page: PageRequest,
    ) -> ApiResult<Self> {
        N::Entity::readable(&rq.actor.caller)?;
        let select = select.filter(N::Entity::visible(&rq.actor.caller));
        let p = page::fetch_page(&rq.db, select.clone(), &order, &page).await?;
        let total: Counter = Arc::new(move |rq: &RequestCtx| {
            let (db, select) = (rq.db.clone(), select.clone());
            Box::pin(async move { page::count(&db, select).await })
        });
        Self::from_page(Arc::new(p), total)
    }

    /// A nested connection under `parent`: batched with the same field of every sibling parent.
    /// `build` gives the field's query — the filtered select, the column holding the parent
    /// id, the order and the page — and runs once per field of the document, not per parent.
    pub async fn child(
        ctx: &Context<'_>,
        parent: Uuid,
        build: impl FnOnce() -> ApiResult<ChildQuery<N::Entity>>,
    ) -> ApiResult<Self> {
        let rq = RequestCtx::of(ctx)?;
        N::Entity::readable(&rq.actor.caller)?;
        let field: *const _ = ctx.item;
        let spec = rq.child_specs.get_or_build(field as usize, || {
            let (select, partition, order, page) = build()?;
            let select = select.filter(N::Entity::visible(&rq.actor.caller));
            Ok(ChildSpec::new(select, partition, order, page))
        })?;
        let p = rq
            .loader
            .load_one(ChildPage {
                parent,
                spec: spec.clone(),
            })
            .await?
            .unwrap_or_default();
        let total: Counter = Arc::new(move |rq: &RequestCtx| {
            let (loader, key) = (
                rq.loader.clone(),
                ChildCount {
                    parent,
                    spec: spec.clone(),
                },
            );
            Box::pin(async move { Ok(loader.load_one(key).await?.unwrap_or(0)) })
        });
        Self::from_page(p, total)
    }
}

#[Object(
    concrete(name = "GridConnection", params(super::grid::Grid)),
    concrete(name = "PersonConnection", params(super::person::Person)),
    concrete(
        name = "OrganizationConnection",
        params(super::organization::Organization)
    ),
    concrete(name = "MembershipConnection", params(super::organization::Membership)),
    concrete(name = "ServiceConnection", params(super::service::Service)),
    concrete(
        name = "ParticipationConnection",
        params(super::participation::Participation)
    ),
    concrete(name = "AuditEntryConnection", params(super::audit::AuditEntry)),
    concrete(name = "PiiAccessConnection", params(super::audit::PiiAccess)),
    concrete(name = "IncidentConnection", params(super::incident::Incident)),
    concrete(
        name = "ResponsibilityConnection",
        params(super::incident::Responsibility)
    )
)]
/// One page of a list, as a Relay cursor connection: page forwards with `first`/`after`, or
/// backwards with `last`/`before`. Only the nodes the caller may see are counted and listed.
impl<N: NodeObject> Connection<N>
where
    Edge<N>: OutputType,
{
    /// The nodes of this page with their cursors, in the connection's order.
    async fn edges(&self) -> &Vec<Edge<N>> {
        &self.edges
    }
    /// The nodes of `edges`, for clients that do not need cursors.
    async fn nodes(&self) -> Vec<N> {
        self.edges.iter().map(|e| e.node.clone()).collect()
    }
    /// Whether there are pages before and after this one, and the cursors to reach them.
    async fn page_info(&self) -> &PageInfo {
        &self.page_info
    }
    /// Number of nodes in the whole connection (all pages), given its filter; counted only
    /// when asked for (one more statement).
    async fn total_count(&self, ctx: &Context<'_>) -> ApiResult<i32> {
        let rq = RequestCtx::of(ctx)?;
        let n = (self.total)(rq).await?;
        Ok(i32::try_from(n).unwrap_or(i32::MAX))
    }
}
