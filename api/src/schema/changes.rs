//! The change feed (`changes`) and the subscriptions (`serviceChanged`, `participationChanged`),
//! both read from `change_event` and scoped by the policy (`policy::rows::feed_visible`, and
//! `store::changes` for the anchors recorded with each change).

use super::participation::Participation;
use super::relay::{NodeObject, PageInfo, global_id};
use super::scalars::DateTime;
use super::scalars::{ChangeKind, EntityType};
use super::service::Service;
use super::{Node, RequestCtx, load_node};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::loaders::ById;
use crate::policy::Scoped;
use crate::store::Table;
use crate::store::changes::{self, Change as Row};
use async_graphql::{Context, ID, Object, OutputType, SimpleObject, Subscription};
use entity::{change_event, grid, participation, service};
use futures_util::Stream;
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};
use uuid::Uuid;

/// Changes per page when `first` is not given.
pub const DEFAULT_CHANGES: u64 = 100;

/// The sealed cursor of the change numbered `seq`.
fn cursor(seq: i64) -> ApiResult<String> {
    crate::store::seal::seal(format!("change:{seq}").as_bytes())
}

fn decode_cursor(c: &str) -> ApiResult<i64> {
    let what = "cursor of `changes`";
    let plain = crate::store::seal::open(c, "after", what)?;
    String::from_utf8(plain)
        .ok()
        .and_then(|s| s.strip_prefix("change:")?.parse::<i64>().ok())
        .filter(|n| *n >= 0)
        .ok_or_else(|| ApiError::bad_input("after", format!("`after` is not a valid {what}")))
}

/// The `NAME` of the table behind an entity type, as used in global ids.
fn type_name(t: entity::EntityType) -> &'static str {
    match t {
        entity::EntityType::Grid => <grid::Entity as Table>::NAME,
        entity::EntityType::Person => <entity::person::Entity as Table>::NAME,
        entity::EntityType::Organization => <entity::organization::Entity as Table>::NAME,
        entity::EntityType::Service => <service::Entity as Table>::NAME,
        entity::EntityType::Participation => <participation::Entity as Table>::NAME,
        entity::EntityType::Incident => <entity::incident::Entity as Table>::NAME,
    }
}

/// One create, update or delete, as the caller may see it.
pub struct Change(Row);

/// One create, update or delete of an object, as the caller may see it.
#[Object]
impl Change {
    /// Position in the feed: pass it as `after` to continue after this change.
    async fn cursor(&self) -> ApiResult<String> {
        cursor(self.0.seq.unwrap_or(0))
    }
    /// Whether the object was created, updated or deleted.
    async fn kind(&self) -> ChangeKind {
        self.0.kind.into()
    }
    /// The type of the object that changed.
    async fn entity_type(&self) -> EntityType {
        self.0.entity_type.into()
    }
    /// Global id of the object that changed (also for deletions).
    async fn object_id(&self) -> ID {
        global_id(type_name(self.0.entity_type), self.0.entity_id)
    }
    /// The object as it is now; null when it has been deleted or is no longer visible to the
    /// caller (moved out of its scope): a copy kept in sync should then be removed.
    async fn node(&self, ctx: &Context<'_>) -> ApiResult<Option<Node>> {
        let rq = RequestCtx::of(ctx)?;
        load_node(rq, type_name(self.0.entity_type), self.0.entity_id, "id").await
    }
    /// When the mutation that made the change ran.
    async fn at(&self) -> DateTime {
        self.0.created_at.into()
    }
}

/// One change of the feed with its position.
#[derive(SimpleObject)]
pub struct ChangeEdge {
    /// Position of this change: pass it as `after` to continue after it.
    pub cursor: String,
    /// The change.
    pub node: Change,
}

/// A page of the change feed.
pub struct ChangeConnection {
    edges: Vec<ChangeEdge>,
    page_info: PageInfo,
}

/// A page of the change feed, in commit order.
#[Object]
impl ChangeConnection {
    /// The changes of this page with their cursors, oldest first.
    async fn edges(&self) -> &Vec<ChangeEdge> {
        &self.edges
    }
    /// The changes of `edges`, for clients that do not need a cursor per change.
    async fn nodes(&self) -> Vec<&Change> {
        self.edges.iter().map(|e| &e.node).collect()
    }
    /// `endCursor` is where the next page starts; it stays where it was when the feed holds
    /// nothing new, so it can be stored and polled.
    async fn page_info(&self) -> &PageInfo {
        &self.page_info
    }
}

/// The condition on `entity_type` for an `entityTypes` argument.
fn of_types(types: &Option<Vec<EntityType>>) -> ApiResult<Condition> {
    match types {
        None => Ok(Condition::all()),
        Some(t) if t.is_empty() => Err(ApiError::bad_input(
            "entityTypes",
            "`entityTypes` must name at least one type (omit it for all)",
        )),
        Some(t) => Ok(Condition::all().add(
            change_event::Column::EntityType.is_in(t.iter().map(|t| entity::EntityType::from(*t))),
        )),
    }
}

#[derive(Default)]
pub struct ChangeQuery;

#[Object]
impl ChangeQuery {
    /// Every create, update and delete the caller may see, in commit order: from the start, or
    /// after the cursor `after`. A change is visible when its object was visible to the caller
    /// before or after it, so deletions and moves out of scope reach those who held the object.
    /// Replaying from the start — keep `node` when present, remove the object when it is null —
    /// reproduces exactly the objects the caller can see.
    #[graphql(
        complexity = "(first.map_or(DEFAULT_CHANGES as usize, |n| usize::try_from(n).unwrap_or(0))).max(1) * child_complexity + 1"
    )]
    async fn changes(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Start after this change: a `cursor` or `pageInfo.endCursor` of an earlier page (from the start when omitted)."
        )]
        after: Option<String>,
        #[graphql(desc = "Changes per page: 1 to 1000, default 100.")] first: Option<i32>,
        #[graphql(desc = "Only changes of these types (all when omitted).")] entity_types: Option<
            Vec<EntityType>,
        >,
    ) -> ApiResult<ChangeConnection> {
        let rq = RequestCtx::of(ctx)?;
        let first = match first {
            None => DEFAULT_CHANGES,
            Some(n) => u64::try_from(n)
                .ok()
                .filter(|n| (1..=crate::caps::current().max_changes).contains(n))
                .ok_or_else(|| {
                    let max = crate::caps::current().max_changes;
                    ApiError::bad_input("first", format!("`first` must be 1 to {max}"))
                })?,
        };
        let from = after
            .as_deref()
            .map(decode_cursor)
            .transpose()?
            .unwrap_or(0);
        if let Some(types) = &entity_types {
            let types: Vec<entity::EntityType> = types.iter().map(|t| (*t).into()).collect();
            crate::policy::rows::feed_readable(&rq.actor.caller, &types)?;
        }
        let filter =
            of_types(&entity_types)?.add(crate::policy::rows::feed_visible(&rq.actor.caller));
        let mut rows = changes::after(&rq.db, from, first + 1, filter).await?;
        let has_next_page = rows.len() as u64 > first;
        rows.truncate(first as usize);
        let edges = rows
            .into_iter()
            .map(|r| {
                Ok(ChangeEdge {
                    cursor: cursor(r.seq.unwrap_or(0))?,
                    node: Change(r),
                })
            })
            .collect::<ApiResult<Vec<ChangeEdge>>>()?;
        let page_info = PageInfo {
            has_next_page,
            has_previous_page: from > 0,
            start_cursor: edges.first().map(|e| e.cursor.clone()),
            end_cursor: Some(match edges.last() {
                Some(e) => e.cursor.clone(),
                None => cursor(from)?,
            }),
        };
        Ok(ChangeConnection { edges, page_info })
    }
}

/// A change of one object, delivered to a subscription.
#[derive(SimpleObject)]
#[graphql(concrete(name = "ServiceEvent", params(Service)))]
#[graphql(concrete(name = "ParticipationEvent", params(Participation)))]
#[graphql(concrete(name = "IncidentChangeEvent", params(super::incident::Incident)))]
pub struct ObjectEvent<N: OutputType> {
    /// Whether the object was created, updated or deleted.
    pub kind: ChangeKind,
    /// Global id of the object (also when `node` is null).
    pub object_id: ID,
    /// The object as it is now; null when it was deleted or is no longer visible to the
    /// subscriber (moved out of its scope).
    pub node: Option<N>,
    /// Where this change is in the change feed: `changes(after: cursor)` resumes from here after
    /// a reconnection.
    pub cursor: String,
    /// When the mutation that made the change ran.
    pub at: DateTime,
}

/// What one subscription wants to hear about.
struct Filter {
    entity: entity::EntityType,
    service: Option<Uuid>,
    /// Path of the `withinGridId` grid.
    within: Option<String>,
}

impl Filter {
    fn matches(&self, c: &Row) -> bool {
        c.entity_type == self.entity
            && self.service.is_none_or(|s| c.service_id == Some(s))
            && self.within.as_deref().is_none_or(|root| {
                [&c.path_before, &c.path_after]
                    .into_iter()
                    .flatten()
                    .any(|p| p.starts_with(root))
            })
    }
}

/// Changes read per statement when a subscription fell behind the broadcast.
const CATCH_UP: u64 = 500;

/// The state of one subscription between events.
struct Watch<N: OutputType> {
    db: DatabaseConnection,
    caller: Arc<Caller>,
    filter: Filter,
    rx: broadcast::Receiver<Arc<Row>>,
    /// Highest `seq` handled.
    last: i64,
    ready: VecDeque<ObjectEvent<N>>,
}

impl<N> Watch<N>
where
    N: NodeObject,
    N::Entity: Scoped,
{
    /// Waits for the next batch of changes; `None` when the broadcast has ended.
    async fn next_batch(&mut self) -> Option<Vec<Arc<Row>>> {
        match self.rx.recv().await {
            Ok(first) => {
                let mut batch = vec![first];
                while batch.len() < 100 {
                    match self.rx.try_recv() {
                        Ok(c) => batch.push(c),
                        Err(
                            TryRecvError::Empty | TryRecvError::Closed | TryRecvError::Lagged(_),
                        ) => break,
                    }
                }
                Some(batch)
            }
            // Fell behind: the broadcast dropped changes this subscription had not seen yet;
            // they are all in the table.
            Err(RecvError::Lagged(_)) => Some(Vec::new()),
            Err(RecvError::Closed) => None,
        }
    }

    /// Turns `batch` (or, when it is empty after a lag, everything after `last`) into events.
    async fn handle(&mut self, batch: Vec<Arc<Row>>) -> ApiResult<()> {
        if batch.is_empty() {
            loop {
                let cond =
                    Condition::all().add(change_event::Column::EntityType.eq(self.filter.entity));
                let rows = changes::after(&self.db, self.last, CATCH_UP, cond).await?;
                let full = rows.len() as u64 == CATCH_UP;
                self.deliver(rows.into_iter().map(Arc::new).collect())
                    .await?;
                if !full {
                    return Ok(());
                }
            }
        }
        self.deliver(batch).await
    }

    async fn deliver(&mut self, batch: Vec<Arc<Row>>) -> ApiResult<()> {
        let fresh: Vec<Arc<Row>> = batch
            .into_iter()
            .filter(|c| c.seq.is_some_and(|s| s > self.last))
            .collect();
        if let Some(s) = fresh.iter().filter_map(|c| c.seq).max() {
            self.last = s;
        }
        let wanted: Vec<Arc<Row>> = fresh
            .into_iter()
            .filter(|c| self.filter.matches(c))
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        // The same conditions as the feed and the queries: one statement each.
        let visible: HashSet<i64> = change_event::Entity::find()
            .select_only()
            .column(change_event::Column::Seq)
            .filter(change_event::Column::Seq.is_in(wanted.iter().filter_map(|c| c.seq)))
            .filter(crate::policy::rows::feed_visible(&self.caller))
            .into_tuple::<Option<i64>>()
            .all(&self.db)
            .await?
            .into_iter()
            .flatten()
            .collect();
        let wanted: Vec<Arc<Row>> = wanted
            .into_iter()
            .filter(|c| c.seq.is_some_and(|s| visible.contains(&s)))
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        let id_col = <N::Entity as Table>::id_col();
        let nodes: HashMap<Uuid, N> = N::Entity::find()
            .filter(id_col.is_in(wanted.iter().map(|c| c.entity_id)))
            .filter(N::Entity::visible(&self.caller))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| (<N::Entity as Table>::model_id(&m), N::from_model(m)))
            .collect();
        for c in wanted {
            self.ready.push_back(ObjectEvent {
                kind: c.kind.into(),
                object_id: global_id(type_name(c.entity_type), c.entity_id),
                node: nodes.get(&c.entity_id).cloned(),
                cursor: cursor(c.seq.unwrap_or(0))?,
                at: c.created_at.into(),
            });
        }
        Ok(())
    }
}

/// The events of one subscription, from the moment it starts.
async fn watch<N>(
    ctx: &Context<'_>,
    entity: entity::EntityType,
    service_id: Option<ID>,
    within_grid_id: Option<ID>,
) -> ApiResult<impl Stream<Item = ApiResult<ObjectEvent<N>>> + use<N>>
where
    N: NodeObject,
    N::Entity: Scoped,
{
    let rq = RequestCtx::of(ctx)?;
    N::Entity::readable(&rq.actor.caller)?;
    // Listen first, so nothing committed after the checks below is missed.
    let rx = rq.changes.subscribe();
    let service = match service_id {
        Some(id) => {
            let id = super::relay::id_of::<service::Entity>(&id, "serviceId")?;
            rq.loader
                .load_one(ById::<service::Entity>::new(id))
                .await?
                .ok_or_else(|| ApiError::NotFoundField {
                    what: "Service".into(),
                    field: "serviceId".into(),
                })?;
            Some(id)
        }
        None => None,
    };
    let within = match within_grid_id {
        Some(id) => {
            let id = super::relay::id_of::<grid::Entity>(&id, "withinGridId")?;
            let g = rq
                .loader
                .load_one(ById::<grid::Entity>::new(id))
                .await?
                .ok_or_else(|| ApiError::NotFoundField {
                    what: "Grid".into(),
                    field: "withinGridId".into(),
                })?;
            Some(g.path)
        }
        None => None,
    };
    let last = changes::last_seq(&rq.db).await?;
    let state = Watch::<N> {
        db: rq.db.clone(),
        caller: rq.actor.caller.clone(),
        filter: Filter {
            entity,
            service,
            within,
        },
        rx,
        last,
        ready: VecDeque::new(),
    };
    Ok(futures_util::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(event) = st.ready.pop_front() {
                return Some((Ok(event), st));
            }
            let batch = st.next_batch().await?;
            if let Err(e) = st.handle(batch).await {
                return Some((Err(e), st));
            }
        }
    }))
}

#[derive(Default)]
pub struct SubscriptionRoot;

/// Live changes, over WebSocket at `/graphql/ws` (`graphql-transport-ws`). Events are
/// scoped like the matching queries; a subscription opened with a JWT is closed at the token's
/// expiry (close code 4403).
#[Subscription(name = "Subscription")]
impl SubscriptionRoot {
    /// Services created or changed from now on (fields, status, participant count), optionally
    /// only those within the subtree of `withinGridId`; scoped like `services`.
    async fn service_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Only services in the subtree of this grid (global id), the grid included."
        )]
        within_grid_id: Option<ID>,
    ) -> Result<impl Stream<Item = ApiResult<ObjectEvent<Service>>> + use<>, ApiError> {
        watch::<Service>(ctx, entity::EntityType::Service, None, within_grid_id).await
    }

    /// Participations registered or changed from now on (check-in, check-out, cancellation…),
    /// optionally only those of `serviceId` or within the subtree of `withinGridId`; scoped like
    /// `participations`.
    async fn participation_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only participations of this service (global id).")] service_id: Option<
            ID,
        >,
        #[graphql(
            desc = "Only participations of services in the subtree of this grid (global id)."
        )]
        within_grid_id: Option<ID>,
    ) -> Result<impl Stream<Item = ApiResult<ObjectEvent<Participation>>> + use<>, ApiError> {
        watch::<Participation>(
            ctx,
            entity::EntityType::Participation,
            service_id,
            within_grid_id,
        )
        .await
    }

    /// Incidents reported or changed from now on (every transition, rating and
    /// re-assignment), optionally only those in the subtree of `withinGridId`; scoped like
    /// `incidents`, except that a caller who sees only its own reports follows them with
    /// `incidents` instead (the feed does not record reporters).
    async fn incident_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Only incidents in the subtree of this grid (global id), the grid included."
        )]
        within_grid_id: Option<ID>,
    ) -> Result<
        impl Stream<Item = ApiResult<ObjectEvent<super::incident::Incident>>> + use<>,
        ApiError,
    > {
        watch::<super::incident::Incident>(ctx, entity::EntityType::Incident, None, within_grid_id)
            .await
    }
}
