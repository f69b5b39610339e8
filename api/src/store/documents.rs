//! Persisted documents in the database, so that every replica knows every document: automatic
//! persisted queries registered by clients and trusted documents pushed from a manifest. The
//! rules of when which document may run are in `crate::persisted`.

use crate::store::write::now;
use chrono::{DateTime, Utc};
use entity::persisted_document::{self, Column, Entity};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};

pub use persisted_document::Model as Document;

/// How often a document's `last_used_at` is brought up to date, at most: eviction needs the
/// order of use, not the moment, and a write per request would cost more than the lookup.
pub const TOUCH_EVERY: chrono::Duration = chrono::Duration::hours(1);

/// The document with the id `id`, if any.
#[tracing::instrument(skip(db))]
pub async fn find(db: &DatabaseConnection, id: &str) -> Result<Option<Document>, DbErr> {
    Entity::find_by_id(id.to_owned()).one(db).await
}

/// Records that `doc` was used now, when its last recorded use is older than [`TOUCH_EVERY`].
pub async fn touch(db: &DatabaseConnection, doc: &Document) -> Result<(), DbErr> {
    let now = now();
    if now - doc.last_used_at < TOUCH_EVERY {
        return Ok(());
    }
    Entity::update_many()
        .col_expr(Column::LastUsedAt, Expr::value(now))
        .filter(Column::Id.eq(doc.id.as_str()))
        .filter(Column::LastUsedAt.lt(now - TOUCH_EVERY))
        .exec(db)
        .await?;
    Ok(())
}

/// How many registered (untrusted) documents are kept, and for how long unused.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub capacity: u64,
    pub unused_for: chrono::Duration,
}

/// Registers an automatic persisted query (`id` is the SHA-256 hex of `body`, checked by the
/// caller), then evicts beyond `retention`. An id already present, registered or trusted, is
/// left as it is. Returns whether a row was added.
#[tracing::instrument(skip(db, body), fields(bytes = body.len()))]
pub async fn register(
    db: &DatabaseConnection,
    id: &str,
    body: &str,
    retention: Retention,
) -> Result<bool, DbErr> {
    let now = now();
    let row = persisted_document::ActiveModel {
        id: ActiveValue::Set(id.to_owned()),
        body: ActiveValue::Set(body.to_owned()),
        operation_name: ActiveValue::Set(None),
        trusted: ActiveValue::Set(false),
        created_at: ActiveValue::Set(now),
        last_used_at: ActiveValue::Set(now),
    };
    let added = matches!(
        Entity::insert(row)
            .on_conflict_do_nothing()
            .exec_without_returning(db)
            .await?,
        sea_orm::TryInsertResult::Inserted(n) if n > 0
    );
    if added {
        evict(db, retention).await?;
    }
    Ok(added)
}

/// Deletes registered documents unused for longer than `retention.unused_for`, then the least
/// recently used ones beyond `retention.capacity`. Trusted documents are never deleted. Two
/// replicas evicting at once may delete a little more than needed; never less than needed
/// for long, as every registration evicts again.
pub async fn evict(db: &DatabaseConnection, retention: Retention) -> Result<u64, DbErr> {
    let mut deleted = Entity::delete_many()
        .filter(Column::Trusted.eq(false))
        .filter(Column::LastUsedAt.lt(now() - retention.unused_for))
        .exec(db)
        .await?
        .rows_affected;
    let registered = Entity::find()
        .filter(Column::Trusted.eq(false))
        .count(db)
        .await?;
    if registered > retention.capacity {
        let oldest: Vec<String> = Entity::find()
            .select_only()
            .column(Column::Id)
            .filter(Column::Trusted.eq(false))
            .order_by_asc(Column::LastUsedAt)
            .order_by_asc(Column::Id)
            .limit(registered - retention.capacity)
            .into_tuple()
            .all(db)
            .await?;
        deleted += Entity::delete_many()
            .filter(Column::Trusted.eq(false))
            .filter(Column::Id.is_in(oldest))
            .exec(db)
            .await?
            .rows_affected;
    }
    Ok(deleted)
}

/// One document of a trusted-documents manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedDocument {
    pub id: String,
    pub body: String,
    pub name: Option<String>,
}

/// What [`push`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PushSummary {
    /// Ids that were not stored before.
    pub inserted: usize,
    /// Ids stored with another body or name, or as a registered (untrusted) document.
    pub updated: usize,
    /// Ids stored exactly so already.
    pub unchanged: usize,
}

/// Stores `docs` as trusted documents, in one transaction: pushing the same manifest twice
/// changes nothing the second time.
pub async fn push(db: &DatabaseConnection, docs: &[TrustedDocument]) -> Result<PushSummary, DbErr> {
    let txn = db.begin().await?;
    let mut summary = PushSummary::default();
    for doc in docs {
        let now = now();
        match Entity::find_by_id(doc.id.clone()).one(&txn).await? {
            Some(old) if old.trusted && old.body == doc.body && old.operation_name == doc.name => {
                summary.unchanged += 1;
            }
            Some(_) => {
                Entity::update_many()
                    .col_expr(Column::Body, Expr::value(doc.body.clone()))
                    .col_expr(Column::OperationName, Expr::value(doc.name.clone()))
                    .col_expr(Column::Trusted, Expr::value(true))
                    .col_expr(Column::LastUsedAt, Expr::value(now))
                    .filter(Column::Id.eq(doc.id.as_str()))
                    .exec(&txn)
                    .await?;
                summary.updated += 1;
            }
            None => {
                insert_trusted(&txn, doc, now).await?;
                summary.inserted += 1;
            }
        }
    }
    txn.commit().await?;
    Ok(summary)
}

async fn insert_trusted(
    txn: &impl ConnectionTrait,
    doc: &TrustedDocument,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    Entity::insert(persisted_document::ActiveModel {
        id: ActiveValue::Set(doc.id.clone()),
        body: ActiveValue::Set(doc.body.clone()),
        operation_name: ActiveValue::Set(doc.name.clone()),
        trusted: ActiveValue::Set(true),
        created_at: ActiveValue::Set(now),
        last_used_at: ActiveValue::Set(now),
    })
    .exec_without_returning(txn)
    .await?;
    Ok(())
}

/// The trusted documents, by id, and the number of registered ones.
pub async fn list(db: &DatabaseConnection) -> Result<(Vec<Document>, u64), DbErr> {
    let trusted = Entity::find()
        .filter(Column::Trusted.eq(true))
        .order_by_asc(Column::Id)
        .all(db)
        .await?;
    let registered = Entity::find()
        .filter(Column::Trusted.eq(false))
        .count(db)
        .await?;
    Ok((trusted, registered))
}
