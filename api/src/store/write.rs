//! The write path shared by every mutation: one transaction per mutation with its audit entry,
//! bounded retries, row locks, optimistic versions and idempotency keys.
//!
//! SQLite transactions start with `BEGIN IMMEDIATE`, so a writer takes the write lock up front
//! and never fails with SQLITE_BUSY on a read-to-write upgrade (others wait for the busy
//! timeout). PostgreSQL runs at READ COMMITTED with `SELECT … FOR UPDATE` on the rows a rule
//! depends on; serialisation failures, deadlocks and unique-key races roll the attempt back and
//! run it again, at most [`MAX_ATTEMPTS`] times.

use super::Table;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::policy::Scoped;
use chrono::{DateTime, SubsecRound, Utc};
use entity::{audit_log, idempotency_key};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    EntityTrait, IntoActiveModel, QueryFilter, QuerySelect, SqlErr, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
};
use serde::Serialize;
use serde_json::Value as Json;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use uuid::Uuid;

/// Attempts of one mutation before a transient conflict is reported.
pub const MAX_ATTEMPTS: usize = 5;

/// Who is writing and under which request, for the audit trail and idempotency scope.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The caller's stable identity (`Caller::id`).
    pub id: String,
    /// The server's id of the request.
    pub request_id: String,
    /// The client's `x-request-id`, when it sent a sane one.
    pub client_request_id: Option<String>,
    pub caller: Arc<Caller>,
}

/// Now, at the precision both databases store (microseconds).
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// The open transaction of one mutation attempt.
pub struct Writer {
    pub txn: DatabaseTransaction,
    pub actor: Actor,
    pub now: DateTime<Utc>,
    pub backend: DbBackend,
}

/// Whether a database error means "run the attempt again".
fn transient(e: &DbErr) -> bool {
    if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) {
        return true;
    }
    if let DbErr::Exec(sea_orm::RuntimeErr::SqlxError(err))
    | DbErr::Query(sea_orm::RuntimeErr::SqlxError(err)) = e
        && let sea_orm::sqlx::Error::Database(db) = &**err
    {
        // serialization_failure, deadlock_detected; SQLITE_BUSY / SQLITE_LOCKED.
        return matches!(
            db.code().as_deref(),
            Some("40001" | "40P01" | "5" | "6" | "517" | "262")
        );
    }
    false
}

/// Converts a database error inside a write, keeping whether it is worth a retry.
pub fn db(e: DbErr) -> ApiError {
    if transient(&e) {
        tracing::debug!(error = %e, "transient write conflict");
        ApiError::Retry
    } else {
        ApiError::from(e)
    }
}

/// Runs `f` in one transaction and commits; rolls back on error. Transient conflicts are
/// retried with a fresh transaction.
///
/// `f` gets the attempt's [`Writer`] and must give it back (drop its clones) when its future
/// ends, so that the transaction can be committed.
#[tracing::instrument(name = "db.transaction", skip_all)]
pub async fn transaction<T, F, Fut>(conn: &DatabaseConnection, actor: &Actor, f: F) -> ApiResult<T>
where
    F: Fn(Arc<Writer>) -> Fut,
    Fut: Future<Output = ApiResult<T>>,
{
    let backend = conn.get_database_backend();
    let options = TransactionOptions {
        sqlite_transaction_mode: (backend == DbBackend::Sqlite)
            .then_some(SqliteTransactionMode::Immediate),
        ..Default::default()
    };
    for attempt in 1..=MAX_ATTEMPTS {
        let txn = conn.begin_with_options(options).await.map_err(db)?;
        let writer = Arc::new(Writer {
            txn,
            actor: actor.clone(),
            now: now(),
            backend,
        });
        let outcome = f(writer.clone()).await;
        let txn = match Arc::try_unwrap(writer) {
            Ok(w) => w.txn,
            // Dropping the last clone rolls the transaction back.
            Err(_) => {
                return Err(ApiError::internal(
                    "a write kept its transaction after finishing",
                ));
            }
        };
        let outcome = match outcome {
            Ok(value) => txn.commit().await.map(|()| value).map_err(db),
            Err(e) => {
                if let Err(rollback) = txn.rollback().await {
                    tracing::warn!(error = %rollback, "rollback failed");
                }
                Err(e)
            }
        };
        match outcome {
            Err(ApiError::Retry) if attempt < MAX_ATTEMPTS => {
                // Back off a little so that competing writers do not collide again at once.
                tokio::time::sleep(std::time::Duration::from_millis(5 * attempt as u64)).await;
            }
            Err(ApiError::Retry) => {
                return Err(ApiError::Conflict {
                    message: "the object was changed concurrently; retry the mutation".into(),
                    reason: Some("CONCURRENT_CHANGE"),
                    details: vec![],
                });
            }
            other => return other,
        }
    }
    Err(ApiError::internal("retry loop ended without an outcome"))
}

/// Field values for the audit trail, with personal data masked as the policy says
/// (`policy::fields::SNAPSHOT_MASKS`), and erasure bookkeeping left out.
pub fn snapshot(m: &impl Serialize) -> Json {
    let mut v = serde_json::to_value(m).unwrap_or(Json::Null);
    if let Json::Object(map) = &mut v {
        map.remove("erasedAt");
        for (field, mask) in crate::policy::fields::SNAPSHOT_MASKS {
            if let Some(Json::String(s)) = map.get(field) {
                let masked = mask(s);
                map.insert(field.to_owned(), Json::String(masked));
            }
        }
    }
    v
}

impl Writer {
    /// The audit entry of a change made by this writer.
    pub fn audit_entry(
        &self,
        action: &str,
        entity_type: &str,
        entity_id: Uuid,
        before: Option<Json>,
        after: Option<Json>,
        details: Option<Json>,
    ) -> audit_log::Model {
        audit_log::Model {
            id: Uuid::now_v7(),
            actor: self.actor.id.clone(),
            action: action.to_owned(),
            entity_type: entity_type.to_owned(),
            entity_id,
            before: before.map(|v| v.to_string()),
            after: after.map(|v| v.to_string()),
            details: details.map(|v| v.to_string()),
            request_id: self.actor.request_id.clone(),
            client_request_id: self.actor.client_request_id.clone(),
            created_at: self.now,
            updated_at: self.now,
            version: 1,
        }
    }

    /// Writes the audit entry of this mutation (same transaction).
    pub async fn audit(
        &self,
        action: &str,
        entity_type: &str,
        entity_id: Uuid,
        before: Option<Json>,
        after: Option<Json>,
        details: Option<Json>,
    ) -> ApiResult<()> {
        let entry = self.audit_entry(action, entity_type, entity_id, before, after, details);
        audit_log::Entity::insert(entry.into_active_model().reset_all())
            .exec(&self.txn)
            .await
            .map_err(db)?;
        Ok(())
    }

    /// Inserts a new row.
    pub async fn insert<E: Table>(&self, model: E::Model) -> ApiResult<E::Model>
    where
        E::Model: IntoActiveModel<E::ActiveModel>,
        E::ActiveModel: ActiveModelTrait<Entity = E> + Send,
    {
        E::insert(model.clone().into_active_model().reset_all())
            .exec_without_returning(&self.txn)
            .await
            .map_err(db)?;
        Ok(model)
    }

    /// Loads a row for update (locked on PostgreSQL until the transaction ends); NOT_FOUND if absent.
    pub async fn lock<E: Scoped>(&self, id: Uuid) -> ApiResult<E::Model> {
        self.locked::<E>(id)
            .await?
            .ok_or_else(|| ApiError::not_found(E::NAME))
    }

    /// Like [`lock`](Self::lock), for an object named by the input field `field`.
    pub async fn lock_field<E: Scoped>(&self, id: Uuid, field: &str) -> ApiResult<E::Model> {
        self.locked::<E>(id)
            .await?
            .ok_or_else(|| ApiError::NotFoundField {
                what: E::NAME.to_owned(),
                field: field.to_owned(),
            })
    }

    async fn locked<E: Scoped>(&self, id: Uuid) -> ApiResult<Option<E::Model>> {
        let mut q = E::find()
            .filter(Expr::col((E::default(), E::id_col())).eq(id))
            .filter(E::visible(&self.actor.caller));
        if self.backend == DbBackend::Postgres {
            q = q.lock_exclusive();
        }
        q.one(&self.txn).await.map_err(db)
    }

    /// Looks up a row without locking; NOT_FOUND (naming `field`) if absent.
    pub async fn get<E: Scoped>(&self, id: Uuid, field: &str) -> ApiResult<E::Model> {
        E::find()
            .filter(Expr::col((E::default(), E::id_col())).eq(id))
            .filter(E::visible(&self.actor.caller))
            .one(&self.txn)
            .await
            .map_err(db)?
            .ok_or_else(|| ApiError::NotFoundField {
                what: E::NAME.to_owned(),
                field: field.to_owned(),
            })
    }

    /// Saves an updated row with its version and `updatedAt` bumped; returns the saved row.
    pub async fn update<E: Table>(&self, model: E::Model, version: i32) -> ApiResult<E::Model>
    where
        E::Model: IntoActiveModel<E::ActiveModel>,
        E::ActiveModel: ActiveModelTrait<Entity = E> + Send,
    {
        let mut am = model.into_active_model().reset_all();
        am.set(version_column::<E>()?, (version + 1).into());
        am.set(updated_at_column::<E>()?, self.now.into());
        am.update(&self.txn).await.map_err(db)
    }

    /// Finds the result of an earlier request with the same idempotency key, or refuses a reuse
    /// of the key with a different input. `None`: the key is new (or no key was given).
    pub async fn replay(
        &self,
        operation: &str,
        key: Option<&str>,
        input_hash: &str,
    ) -> ApiResult<Option<Uuid>> {
        let Some(key) = key else { return Ok(None) };
        let found = idempotency_key::Entity::find()
            .filter(idempotency_key::Column::Caller.eq(self.actor.id.as_str()))
            .filter(idempotency_key::Column::Key.eq(key))
            .one(&self.txn)
            .await
            .map_err(db)?;
        match found {
            None => Ok(None),
            Some(k) if k.operation == operation && k.request_hash == input_hash => {
                Ok(Some(k.result_id))
            }
            Some(_) => Err(ApiError::Conflict {
                message: "this idempotency key was already used with a different input".into(),
                reason: Some("IDEMPOTENCY_KEY_REUSED"),
                details: vec![("field".into(), Json::String("idempotencyKey".into()))],
            }),
        }
    }

    /// Records the result of a request made with an idempotency key.
    pub async fn remember(
        &self,
        operation: &str,
        key: Option<&str>,
        input_hash: &str,
        result: Uuid,
    ) -> ApiResult<()> {
        let Some(key) = key else { return Ok(()) };
        let row = idempotency_key::Model {
            id: Uuid::now_v7(),
            caller: self.actor.id.clone(),
            key: key.to_owned(),
            operation: operation.to_owned(),
            request_hash: input_hash.to_owned(),
            result_id: result,
            created_at: self.now,
            updated_at: self.now,
            version: 1,
        };
        idempotency_key::Entity::insert(row.into_active_model().reset_all())
            .exec_without_returning(&self.txn)
            .await
            .map_err(db)?;
        Ok(())
    }
}

fn column_named<E: Table>(name: &str) -> ApiResult<E::Column> {
    use sea_orm::Iterable;
    E::Column::iter()
        .find(|c| sea_orm::IdenStatic::as_str(c) == name)
        .ok_or_else(|| ApiError::internal(format!("{} has no column {name}", E::NAME)))
}
fn version_column<E: Table>() -> ApiResult<E::Column> {
    column_named::<E>("version")
}
fn updated_at_column<E: Table>() -> ApiResult<E::Column> {
    column_named::<E>("updated_at")
}

/// Checks `expectedVersion`: CONFLICT carrying the current version when they differ.
pub fn check_version(current: i32, expected: Option<i32>) -> ApiResult<()> {
    match expected {
        Some(v) if v != current => Err(ApiError::Conflict {
            message: format!("expected version {v}, but the current version is {current}"),
            reason: Some("VERSION_MISMATCH"),
            details: vec![("currentVersion".into(), Json::from(current))],
        }),
        _ => Ok(()),
    }
}

/// Hash of a mutation input (canonical JSON), compared when an idempotency key is reused.
pub fn input_hash(input: &impl Serialize) -> String {
    let json = serde_json::to_string(input).unwrap_or_default();
    format!("{:x}", Sha256::digest(json.as_bytes()))
}

/// Longest idempotency key accepted.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 200;

/// Validates an optional idempotency key.
pub fn idempotency_key(key: &Option<String>) -> ApiResult<Option<&str>> {
    match key.as_deref() {
        Some(k) if k.is_empty() || k.chars().count() > MAX_IDEMPOTENCY_KEY_LEN => {
            Err(ApiError::bad_input(
                "idempotencyKey",
                format!("`idempotencyKey` must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} characters"),
            ))
        }
        other => Ok(other),
    }
}

/// Removes idempotency keys older than `keep` (they are kept at least 24 hours).
pub async fn purge_idempotency_keys(
    conn: &DatabaseConnection,
    keep: chrono::Duration,
) -> Result<u64, DbErr> {
    let cutoff = now() - keep;
    let res = idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::CreatedAt.lt(cutoff))
        .exec(conn)
        .await?;
    Ok(res.rows_affected)
}
