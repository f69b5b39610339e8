//! The change feed: one `change_event` row per object a mutation created, changed or deleted,
//! numbered in commit order after the mutation commits.
//!
//! Each row carries the object's *scope* before and after the change — the grid path that places
//! it, the organisations whose callers may see it, whether it is a published service — so that
//! a caller sees a change when it could see the object before it or after it (a tombstone of a
//! deleted object, or an object that moved out of a caller's subtrees, reaches exactly the
//! callers that held it). `policy::rows::feed_visible` turns those columns into each role's SQL
//! condition, from the same declaration as the row rules.
//!
//! Numbering: rows are inserted with `seq` null inside the mutation's transaction, and
//! [`stamp`] numbers every committed, unnumbered row in one statement, serialised between
//! writers (an advisory lock on PostgreSQL, `BEGIN IMMEDIATE` on SQLite). A stamp sees every
//! row committed before it started and numbers them above every earlier stamp, so a reader that
//! has seen `seq` N never later finds a new row below N: resuming from a cursor loses nothing.

use super::Table;
use super::write::{Writer, db, snapshot};
use crate::error::ApiResult;
pub use entity::change_event::Model as Change;
use entity::{
    ChangeKind, EntityType, grid, membership, organization, participation, person, service,
};
use entity::{change_event, change_pending};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, SqliteTransactionMode,
    TransactionOptions, TransactionSession, TransactionTrait,
};
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// Who may see one object at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// Path of the grid that places the object (its own path for a grid).
    pub path: Option<String>,
    /// Organisations whose VOLUNTEER_ORG callers see it.
    pub orgs: BTreeSet<Uuid>,
    /// A published service (visible to PUBLIC callers).
    pub published: bool,
    /// The service a participation belongs to (or the service itself).
    pub service_id: Option<Uuid>,
}

/// Scopes by object id.
pub type Scopes = BTreeMap<Uuid, Scope>;

/// A table whose changes appear in the feed.
pub trait Tracked: Table {
    const TYPE: EntityType;
    /// The query of `(id, path, org, published, service_id)` rows for the objects whose id is
    /// in `ids`, as they are now (one row per organisation where there are several).
    fn scope_query(ids: &[Uuid]) -> Option<SelectStatement>;
}

/// Selects `id`, then `path` from the joined grid, then the given expressions.
fn scope_select<E: Table>(
    grid_col: impl sea_orm::IdenStatic + 'static,
    org: Expr,
    published: Expr,
    service: Expr,
) -> SelectStatement {
    let mut q = Query::select();
    q.expr_as(Expr::col((E::default(), E::id_col())), Alias::new("id"))
        .expr_as(
            Expr::col((grid::Entity, grid::Column::Path)),
            Alias::new("path"),
        )
        .expr_as(org, Alias::new("org"))
        .expr_as(published, Alias::new("published"))
        .expr_as(service, Alias::new("service_id"))
        .from(E::default())
        .inner_join(
            grid::Entity,
            Expr::col((grid::Entity, grid::Column::Id)).equals((E::default(), grid_col)),
        );
    q
}

fn null() -> Expr {
    Expr::cust("NULL")
}

fn no() -> Expr {
    Expr::cust("1 = 0")
}

impl Tracked for grid::Entity {
    const TYPE: EntityType = EntityType::Grid;
    fn scope_query(ids: &[Uuid]) -> Option<SelectStatement> {
        let mut q = Query::select();
        q.expr_as(
            Expr::col((grid::Entity, grid::Column::Id)),
            Alias::new("id"),
        )
        .expr_as(
            Expr::col((grid::Entity, grid::Column::Path)),
            Alias::new("path"),
        )
        .expr_as(null(), Alias::new("org"))
        .expr_as(no(), Alias::new("published"))
        .expr_as(null(), Alias::new("service_id"))
        .from(grid::Entity)
        .and_where(Expr::col((grid::Entity, grid::Column::Id)).is_in(ids.iter().copied()));
        Some(q)
    }
}

impl Tracked for person::Entity {
    const TYPE: EntityType = EntityType::Person;
    fn scope_query(ids: &[Uuid]) -> Option<SelectStatement> {
        let mut q = scope_select::<Self>(
            person::Column::GridId,
            Expr::col((membership::Entity, membership::Column::OrganizationId)),
            no(),
            null(),
        );
        q.left_join(
            membership::Entity,
            Expr::col((membership::Entity, membership::Column::PersonId))
                .equals((person::Entity, person::Column::Id)),
        )
        .and_where(Expr::col((person::Entity, person::Column::Id)).is_in(ids.iter().copied()));
        Some(q)
    }
}

impl Tracked for organization::Entity {
    const TYPE: EntityType = EntityType::Organization;
    /// Every caller but PUBLIC sees every organisation: nothing to record.
    fn scope_query(_: &[Uuid]) -> Option<SelectStatement> {
        None
    }
}

impl Tracked for service::Entity {
    const TYPE: EntityType = EntityType::Service;
    fn scope_query(ids: &[Uuid]) -> Option<SelectStatement> {
        let published =
            Expr::col((service::Entity, service::Column::Status)).is_in(crate::policy::PUBLISHED);
        let mut q = scope_select::<Self>(
            service::Column::GridId,
            Expr::col((service::Entity, service::Column::OrganizerId)),
            published,
            Expr::col((service::Entity, service::Column::Id)),
        );
        q.and_where(Expr::col((service::Entity, service::Column::Id)).is_in(ids.iter().copied()));
        Some(q)
    }
}

impl Tracked for participation::Entity {
    const TYPE: EntityType = EntityType::Participation;
    fn scope_query(ids: &[Uuid]) -> Option<SelectStatement> {
        let mut q = Query::select();
        q.expr_as(
            Expr::col((participation::Entity, participation::Column::Id)),
            Alias::new("id"),
        )
        .expr_as(
            Expr::col((grid::Entity, grid::Column::Path)),
            Alias::new("path"),
        )
        .expr_as(
            Expr::col((participation::Entity, participation::Column::OrganizationId)),
            Alias::new("org"),
        )
        .expr_as(no(), Alias::new("published"))
        .expr_as(
            Expr::col((participation::Entity, participation::Column::ServiceId)),
            Alias::new("service_id"),
        )
        .from(participation::Entity)
        .inner_join(
            service::Entity,
            Expr::col((service::Entity, service::Column::Id))
                .equals((participation::Entity, participation::Column::ServiceId)),
        )
        .inner_join(
            grid::Entity,
            Expr::col((grid::Entity, grid::Column::Id))
                .equals((service::Entity, service::Column::GridId)),
        )
        .and_where(
            Expr::col((participation::Entity, participation::Column::Id))
                .is_in(ids.iter().copied()),
        );
        Some(q)
    }
}

/// Ids per statement in the scope queries and rows per insert.
const CHUNK: usize = 500;

impl Writer {
    /// The scopes of the `E` objects `ids` as they are now in this transaction; taken before a
    /// change so that [`record`](Self::record) knows who saw the objects before it.
    pub async fn scopes<E: Tracked>(&self, ids: &[Uuid]) -> ApiResult<Scopes> {
        let mut scopes = Scopes::new();
        for chunk in ids.chunks(CHUNK) {
            let Some(q) = E::scope_query(chunk) else {
                break;
            };
            for row in self.txn.query_all(&q).await.map_err(db)? {
                let id: Uuid = row.try_get("", "id").map_err(db)?;
                let s = scopes.entry(id).or_default();
                s.path = row.try_get("", "path").map_err(db)?;
                if let Some(org) = row.try_get::<Option<Uuid>>("", "org").map_err(db)? {
                    s.orgs.insert(org);
                }
                s.published |= row.try_get::<bool>("", "published").map_err(db)?;
                s.service_id = row.try_get("", "service_id").map_err(db)?;
            }
        }
        Ok(scopes)
    }

    /// Records that the `E` objects `ids` were created, updated or deleted by this mutation.
    /// `before` holds their scopes before the change (empty for creations); the scopes after
    /// it are read now, except for deletions.
    pub async fn record<E: Tracked>(
        &self,
        kind: ChangeKind,
        ids: &[Uuid],
        before: &Scopes,
    ) -> ApiResult<()> {
        self.record_as::<E>(kind, ids, before, false).await
    }

    async fn record_as<E: Tracked>(
        &self,
        kind: ChangeKind,
        ids: &[Uuid],
        before: &Scopes,
        counts_only: bool,
    ) -> ApiResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let after = if kind == ChangeKind::Deleted {
            Scopes::new()
        } else {
            self.scopes::<E>(ids).await?
        };
        let none = Scope::default();
        let rows: Vec<_> = ids
            .iter()
            .map(|id| {
                let (b, a) = (
                    before.get(id).unwrap_or(&none),
                    after.get(id).unwrap_or(&none),
                );
                let orgs: BTreeSet<&Uuid> = b.orgs.iter().chain(&a.orgs).collect();
                change_event::Model {
                    id: Uuid::now_v7(),
                    seq: None,
                    entity_type: E::TYPE,
                    entity_id: *id,
                    kind,
                    service_id: a.service_id.or(b.service_id),
                    path_before: b.path.clone(),
                    path_after: a.path.clone(),
                    orgs: if orgs.is_empty() {
                        String::new()
                    } else {
                        orgs.iter().fold(",".to_owned(), |s, o| format!("{s}{o},"))
                    },
                    published: b.published || a.published,
                    counts_only,
                    request_id: self.actor.request_id.clone(),
                    created_at: self.now,
                    updated_at: self.now,
                    version: 1,
                }
                .into_active_model()
            })
            .collect();
        for chunk in rows.chunks(CHUNK) {
            let pending: Vec<change_pending::ActiveModel> = chunk
                .iter()
                .map(|r| change_pending::ActiveModel { id: r.id.clone() })
                .collect();
            change_event::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(&self.txn)
                .await
                .map_err(db)?;
            change_pending::Entity::insert_many(pending)
                .exec_without_returning(&self.txn)
                .await
                .map_err(db)?;
        }
        Ok(())
    }

    /// Records the creation of the `E` objects `ids`.
    pub async fn created<E: Tracked>(&self, ids: &[Uuid]) -> ApiResult<()> {
        self.record::<E>(ChangeKind::Created, ids, &Scopes::new())
            .await
    }

    /// Records an update of the `E` objects in `before` (their scopes before the change).
    pub async fn updated<E: Tracked>(&self, before: &Scopes) -> ApiResult<()> {
        let ids: Vec<Uuid> = before.keys().copied().collect();
        self.record::<E>(ChangeKind::Updated, &ids, before).await
    }

    /// Records that only a count of people of the `E` objects `ids` changed (a service's
    /// `participantCount`): a change the policy hides from roles that may not read
    /// participations.
    pub async fn counted<E: Tracked>(&self, ids: &[Uuid]) -> ApiResult<()> {
        self.record_as::<E>(ChangeKind::Updated, ids, &Scopes::new(), true)
            .await
    }

    /// Records an update of the `E` objects `ids`, whose scopes the change cannot have altered.
    pub async fn touched<E: Tracked>(&self, ids: &[Uuid]) -> ApiResult<()> {
        self.record::<E>(ChangeKind::Updated, ids, &Scopes::new())
            .await
    }

    /// Saves `next` over `current` as one tracked change, in the order every update needs: the
    /// object's scope before the change, the row with its version and `updatedAt` bumped, the
    /// feed's update (by id, so a table without scopes still appears) and the audit entry
    /// `action` with both snapshots and `details`. Returns the saved row.
    pub async fn update_tracked<E: Tracked>(
        &self,
        action: &str,
        current: &E::Model,
        next: E::Model,
        details: Option<serde_json::Value>,
    ) -> ApiResult<E::Model>
    where
        E::Model: IntoActiveModel<E::ActiveModel> + serde::Serialize,
        E::ActiveModel: sea_orm::ActiveModelTrait<Entity = E> + Send,
    {
        let id = E::model_id(current);
        let scope = self.scopes::<E>(&[id]).await?;
        let saved = self.update::<E>(next, E::model_version(current)).await?;
        self.record::<E>(ChangeKind::Updated, &[id], &scope).await?;
        self.audit(
            action,
            E::NAME,
            id,
            Some(snapshot(current)),
            Some(snapshot(&saved)),
            details,
        )
        .await?;
        Ok(saved)
    }

    /// Records the deletion of the `E` objects in `before` (their scopes before the deletion).
    pub async fn deleted<E: Tracked>(&self, before: &Scopes) -> ApiResult<()> {
        let ids: Vec<Uuid> = before.keys().copied().collect();
        self.record::<E>(ChangeKind::Deleted, &ids, before).await
    }
}

/// The channel PostgreSQL notifies after each stamp; the payload is the highest `seq`.
pub const CHANNEL: &str = "gridgov_changes";

/// Key of the advisory lock that serialises stamps on PostgreSQL ("gridgov" in ASCII).
const STAMP_LOCK: i64 = 0x0067_7269_6467_6f76;

/// Rows one PostgreSQL numbering statement takes off the list. The bound keeps its plan to
/// index lookups whatever the planner believes about `change_pending`: a queue table's size on
/// disk, before VACUUM, says nothing about the few rows it holds (measured: with 1.1 M dead
/// entries and autovacuum off, the unbounded statement planned two sequential scans of the feed,
/// 1.7 s per bulk registration).
const STAMP_BATCH: u64 = 2000;

/// Numbers up to [`STAMP_BATCH`] committed rows listed in `change_pending`, above the highest
/// `seq` so far, in the order of their mutation's time, and takes them off the list — in one
/// statement, so that exactly the rows it numbers leave the list.
fn stamp_postgres() -> String {
    format!(
        "WITH taken AS (DELETE FROM change_pending \
                         WHERE id IN (SELECT id FROM change_pending ORDER BY id LIMIT {STAMP_BATCH}) \
                         RETURNING id) \
         UPDATE change_event SET seq = numbered.n \
         FROM (SELECT c.id, (SELECT COALESCE(MAX(seq), 0) FROM change_event) \
                            + ROW_NUMBER() OVER (ORDER BY c.created_at, c.id) AS n \
               FROM taken JOIN change_event c ON c.id = taken.id) AS numbered \
         WHERE change_event.id = numbered.id"
    )
}

/// The same for SQLite, which has no `DELETE` in `WITH`: two statements, safe because the
/// numbering transaction holds the write lock (nothing can be added to the list in between).
const STAMP_SQLITE: [&str; 2] = [
    "UPDATE change_event SET seq = numbered.n \
     FROM (SELECT c.id, (SELECT COALESCE(MAX(seq), 0) FROM change_event) \
                        + ROW_NUMBER() OVER (ORDER BY c.created_at, c.id) AS n \
           FROM change_pending p JOIN change_event c ON c.id = p.id) AS numbered \
     WHERE change_event.id = numbered.id",
    "DELETE FROM change_pending",
];

/// Numbers the committed changes that are not numbered yet (see the module comment) and, on
/// PostgreSQL, notifies every replica. Returns how many rows it numbered.
pub async fn stamp<C: ConnectionTrait + TransactionTrait>(conn: &C) -> Result<u64, DbErr> {
    let backend = conn.get_database_backend();
    let txn = conn
        .begin_with_options(TransactionOptions {
            sqlite_transaction_mode: (backend == DbBackend::Sqlite)
                .then_some(SqliteTransactionMode::Immediate),
            ..Default::default()
        })
        .await?;
    if backend == DbBackend::Postgres {
        // Held until commit: stamps run one at a time, each seeing the previous one's numbers.
        // The numbering statements are a few index lookups: compiling them (JIT) would cost
        // more than running them.
        txn.execute_unprepared(&format!(
            "SELECT pg_advisory_xact_lock({STAMP_LOCK}); SET LOCAL jit = off"
        ))
        .await?;
    }
    let numbered = if backend == DbBackend::Postgres {
        // Batch after batch, all committed together: readers see every row numbered at once.
        let (sql, mut total) = (stamp_postgres(), 0);
        loop {
            let n = txn.execute_unprepared(&sql).await?.rows_affected();
            total += n;
            if n < STAMP_BATCH {
                break total;
            }
        }
    } else {
        let n = txn
            .execute_unprepared(STAMP_SQLITE[0])
            .await?
            .rows_affected();
        txn.execute_unprepared(STAMP_SQLITE[1]).await?;
        n
    };
    if numbered > 0 && backend == DbBackend::Postgres {
        // Delivered on commit, to every session listening on any replica. The payload is a
        // number, far below NOTIFY's 8,000-byte limit whatever the size of the change.
        txn.execute_unprepared(&format!(
            "SELECT pg_notify('{CHANNEL}', (SELECT MAX(seq)::text FROM change_event))"
        ))
        .await?;
    }
    txn.commit().await?;
    Ok(numbered)
}

/// Clears `change_pending` of the dead rows that numbering leaves on PostgreSQL. Autovacuum
/// does this where it runs; where it is off or behind, a list emptied thousands of times a
/// minute would otherwise grow on disk without end and every numbering would scan it. Skips
/// the table when another VACUUM holds it; nothing to do on SQLite.
pub async fn vacuum_pending(conn: &impl ConnectionTrait) -> Result<(), DbErr> {
    if conn.get_database_backend() == DbBackend::Postgres {
        conn.execute_unprepared("VACUUM (SKIP_LOCKED) change_pending")
            .await?;
    }
    Ok(())
}

/// The highest `seq` stamped so far (0 for an empty feed).
pub async fn last_seq(conn: &impl ConnectionTrait) -> Result<i64, DbErr> {
    let max: Option<Option<i64>> = change_event::Entity::find()
        .select_only()
        .column_as(change_event::Column::Seq.max(), "m")
        .into_tuple()
        .one(conn)
        .await?;
    Ok(max.flatten().unwrap_or(0))
}

/// Up to `limit` numbered changes after `after`, in feed order, restricted by `filter`.
pub async fn after(
    conn: &impl ConnectionTrait,
    after: i64,
    limit: u64,
    filter: sea_orm::Condition,
) -> Result<Vec<Change>, DbErr> {
    change_event::Entity::find()
        .filter(change_event::Column::Seq.gt(after))
        .filter(filter)
        .order_by_asc(change_event::Column::Seq)
        .limit(limit)
        .all(conn)
        .await
}

/// The ids of the `E` rows matching `cond`.
async fn ids_where<E: Table>(w: &Writer, cond: Condition) -> ApiResult<Vec<Uuid>> {
    E::find()
        .select_only()
        .column_as(Expr::col((E::default(), E::id_col())), "id")
        .filter(cond)
        .into_tuple()
        .all(&w.txn)
        .await
        .map_err(db)
}

/// Everything placed by a grid subtree that is about to move, with its scopes before the move:
/// a move changes who sees each of them, so each gets an update.
pub struct SubtreeScopes {
    grids: Scopes,
    people: Scopes,
    services: Scopes,
    participations: Scopes,
}

impl SubtreeScopes {
    /// Reads the scopes of the subtree of `root` before it moves.
    pub async fn of(w: &Writer, root: Uuid) -> ApiResult<Self> {
        use super::filters::{grid_id_in_subtree, path_in_subtree};
        let grids = ids_where::<grid::Entity>(
            w,
            path_in_subtree(Expr::col((grid::Entity, grid::Column::Path)), root),
        )
        .await?;
        let people =
            ids_where::<person::Entity>(w, grid_id_in_subtree(person::Column::GridId, root))
                .await?;
        let services =
            ids_where::<service::Entity>(w, grid_id_in_subtree(service::Column::GridId, root))
                .await?;
        let mut of_services = Query::select();
        of_services
            .column(service::Column::Id)
            .from(service::Entity)
            .cond_where(grid_id_in_subtree(service::Column::GridId, root));
        let participations = ids_where::<participation::Entity>(
            w,
            Condition::all().add(participation::Column::ServiceId.in_subquery(of_services)),
        )
        .await?;
        Ok(SubtreeScopes {
            grids: w.scopes::<grid::Entity>(&grids).await?,
            people: w.scopes::<person::Entity>(&people).await?,
            services: w.scopes::<service::Entity>(&services).await?,
            participations: w.scopes::<participation::Entity>(&participations).await?,
        })
    }

    /// Records the update of everything in the subtree, after the move.
    pub async fn record(&self, w: &Writer) -> ApiResult<()> {
        w.updated::<grid::Entity>(&self.grids).await?;
        w.updated::<person::Entity>(&self.people).await?;
        w.updated::<service::Entity>(&self.services).await?;
        w.updated::<participation::Entity>(&self.participations)
            .await
    }
}

/// Objects per transaction when [`baseline`] records creations.
const BASELINE_CHUNK: u64 = 1000;

/// Chunks of [`baseline`] between two [`vacuum_pending`].
const VACUUM_EVERY: u64 = 50;

/// Records a creation for every object that has no change yet — data loaded in bulk (the demo
/// seed) or present before the feed existed — so that replaying the feed from the start
/// reproduces it. Runs in transactions of [`BASELINE_CHUNK`] objects, each numbered at once; an
/// interrupted run continues where it stopped. Returns how many creations it recorded.
pub async fn baseline<C>(db: &C) -> Result<u64, DbErr>
where
    C: ConnectionTrait + TransactionTrait<Transaction = DatabaseTransaction>,
{
    Ok(baseline_of::<grid::Entity, C>(db).await?
        + baseline_of::<organization::Entity, C>(db).await?
        + baseline_of::<person::Entity, C>(db).await?
        + baseline_of::<service::Entity, C>(db).await?
        + baseline_of::<participation::Entity, C>(db).await?
        + baseline_of::<entity::incident::Entity, C>(db).await?)
}

async fn baseline_of<E: Tracked, C>(db: &C) -> Result<u64, DbErr>
where
    C: ConnectionTrait + TransactionTrait<Transaction = DatabaseTransaction>,
{
    let id = Expr::col((E::default(), E::id_col()));
    // Objects are taken in id order; an interrupted run resumes after the last one it recorded.
    let mut last: Option<Uuid> = change_event::Entity::find()
        .select_only()
        .column(change_event::Column::EntityId)
        .filter(change_event::Column::EntityType.eq(E::TYPE))
        .filter(change_event::Column::RequestId.eq(BASELINE))
        .order_by_desc(change_event::Column::EntityId)
        .limit(1)
        .into_tuple()
        .one(db)
        .await?;
    let (mut total, mut chunks) = (0, 0u64);
    loop {
        chunks += 1;
        if chunks % VACUUM_EVERY == 0 {
            vacuum_pending(db).await?;
        }
        let mut q = E::find().select_only().column_as(id.clone(), "id");
        if let Some(l) = last {
            q = q.filter(id.clone().gt(l));
        }
        let ids: Vec<Uuid> = q
            .order_by_asc(id.clone())
            .limit(BASELINE_CHUNK)
            .into_tuple()
            .all(db)
            .await?;
        let Some(&end) = ids.last() else {
            return Ok(total);
        };
        // Objects made by mutations already have their changes: one indexed lookup per chunk,
        // rather than an anti-join over the whole feed for every chunk.
        let recorded: BTreeSet<Uuid> = change_event::Entity::find()
            .select_only()
            .column(change_event::Column::EntityId)
            .filter(change_event::Column::EntityId.is_in(ids.iter().copied()))
            .into_tuple()
            .all(db)
            .await?
            .into_iter()
            .collect();
        let fresh: Vec<Uuid> = ids.into_iter().filter(|i| !recorded.contains(i)).collect();
        if !fresh.is_empty() {
            let txn = db.begin().await?;
            let backend = txn.get_database_backend();
            let writer = Writer {
                txn,
                actor: crate::store::write::Actor {
                    id: "system:baseline".to_owned(),
                    request_id: BASELINE.to_owned(),
                    client_request_id: None,
                    caller: std::sync::Arc::new(crate::auth::Caller::admin("system:baseline")),
                },
                now: crate::store::write::now(),
                backend,
            };
            writer
                .created::<E>(&fresh)
                .await
                .map_err(|e| DbErr::Custom(format!("recording existing objects failed: {e}")))?;
            writer.txn.commit().await?;
            stamp(db).await?;
            total += fresh.len() as u64;
        }
        last = Some(end);
    }
}

/// The `request_id` of the changes [`baseline`] records.
const BASELINE: &str = "baseline";
