//! API keys: `gg_` followed by 40 random letters and digits, stored only as a SHA-256 hash
//! (the keys are random enough that a slow password hash adds nothing).
//!
//! [`rotate`] issues a replacement with the same rights and keeps the old key valid for a grace
//! period (`grace_until`), so that a partner can deploy the new key before the old one stops.

use super::{Caller, Role, grid_scopes};
use crate::error::{ApiError, ApiResult};
use crate::store::write::now;
use chrono::{DateTime, Utc};
use entity::api_key;
use rand::Rng;
use rand::distr::Alphanumeric;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, Set, TransactionTrait,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub const PREFIX: &str = "gg_";
/// The start of an API-key caller's id (`apikey:<uuid>`).
pub const ACTOR_PREFIX: &str = "apikey:";

fn hash(key: &str) -> String {
    format!("{:x}", Sha256::digest(key.as_bytes()))
}

/// What a new key may do.
#[derive(Debug, Clone)]
pub struct NewKey {
    pub name: String,
    pub role: Role,
    pub grid_codes: Vec<String>,
    pub organization_id: Option<Uuid>,
    pub scopes: Vec<String>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Creates a key and returns it with its secret — the only time the secret is seen.
pub async fn create(
    db: &DatabaseConnection,
    new: NewKey,
) -> Result<(api_key::Model, String), DbErr> {
    insert(db, new).await
}

async fn insert(
    conn: &impl ConnectionTrait,
    new: NewKey,
) -> Result<(api_key::Model, String), DbErr> {
    let secret: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(40)
        .map(char::from)
        .collect();
    let key = format!("{PREFIX}{secret}");
    let at = now();
    let model = api_key::Model {
        id: Uuid::now_v7(),
        name: new.name,
        key_hash: hash(&key),
        role: new.role.to_string(),
        grid_codes: serde_json::to_string(&new.grid_codes).unwrap_or_else(|_| "[]".into()),
        organization_id: new.organization_id,
        scopes: serde_json::to_string(&new.scopes).unwrap_or_else(|_| "[]".into()),
        expires_at: new.expires_at,
        revoked_at: None,
        replaced_by: None,
        grace_until: None,
        created_at: at,
        updated_at: at,
        version: 1,
    };
    api_key::Entity::insert(model.clone().into_active_model().reset_all())
        .exec_without_returning(conn)
        .await?;
    Ok((model, key))
}

/// The longest grace period of a rotated key.
pub const MAX_GRACE: std::time::Duration = std::time::Duration::from_secs(90 * 86_400);

/// Parses a duration such as `7d`, `12h`, `30m` or `45s` (a whole number and one unit).
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let unit = s
        .char_indices()
        .last()
        .map(|(i, _)| i)
        .ok_or("empty duration")?;
    let (number, suffix) = s.split_at(unit);
    let scale: u64 = match suffix {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "`{s}`: end the duration with s, m, h or d, e.g. 7d"
            ));
        }
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{s}`: a whole number then s, m, h or d, e.g. 7d"))?;
    n.checked_mul(scale)
        .map(std::time::Duration::from_secs)
        .ok_or_else(|| format!("`{s}` is too long"))
}

/// Why a key could not be rotated; every message is fit for the operator.
#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    #[error("no API key {0}")]
    NotFound(Uuid),
    #[error("API key {0} is revoked")]
    Revoked(Uuid),
    #[error("API key {0} has expired")]
    Expired(Uuid),
    #[error("API key {old} was already replaced by {new}; rotate that one instead")]
    AlreadyReplaced { old: Uuid, new: Uuid },
    #[error("the grace period may last 90 days at most")]
    GraceTooLong,
    #[error("API key {0} has an unknown role")]
    UnknownRole(Uuid),
    #[error("API key {0} changed meanwhile; try again")]
    Conflict(Uuid),
    #[error("database error: {0}")]
    Db(#[from] DbErr),
}

/// A rotation: the old key (now with `replaced_by` and `grace_until`), its replacement and the
/// replacement's secret — the only time it is seen.
#[derive(Debug)]
pub struct Rotated {
    pub old: api_key::Model,
    pub new: api_key::Model,
    pub key: String,
}

/// Issues a replacement for key `id` with the same name, role, grids, organisation, scopes and
/// expiry; the old key stays valid for `grace` more (then UNAUTHENTICATED).
pub async fn rotate(
    db: &DatabaseConnection,
    id: Uuid,
    grace: std::time::Duration,
) -> Result<Rotated, RotateError> {
    if grace > MAX_GRACE {
        return Err(RotateError::GraceTooLong);
    }
    let old = api_key::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(RotateError::NotFound(id))?;
    let at = now();
    if old.revoked_at.is_some() {
        return Err(RotateError::Revoked(id));
    }
    if let Some(new) = old.replaced_by {
        return Err(RotateError::AlreadyReplaced { old: id, new });
    }
    if old.expires_at.is_some_and(|e| e <= at) {
        return Err(RotateError::Expired(id));
    }
    let grace_until =
        at + chrono::Duration::from_std(grace).map_err(|_| RotateError::GraceTooLong)?;
    let new = NewKey {
        name: old.name.clone(),
        role: old.role.parse().map_err(|_| RotateError::UnknownRole(id))?,
        grid_codes: serde_json::from_str(&old.grid_codes).unwrap_or_default(),
        organization_id: old.organization_id,
        scopes: serde_json::from_str(&old.scopes).unwrap_or_default(),
        expires_at: old.expires_at,
    };
    // The insert comes first, so that SQLite takes its write lock at once; the update is
    // conditional, so that of two concurrent rotations (or a rotation and a revocation) one
    // fails instead of leaving two replacements.
    let txn = db.begin().await?;
    let (new, key) = insert(&txn, new).await?;
    let updated = api_key::Entity::update_many()
        .col_expr(api_key::Column::ReplacedBy, Expr::value(new.id))
        .col_expr(api_key::Column::GraceUntil, Expr::value(grace_until))
        .col_expr(api_key::Column::UpdatedAt, Expr::value(at))
        .col_expr(
            api_key::Column::Version,
            Expr::col(api_key::Column::Version).add(1),
        )
        .filter(api_key::Column::Id.eq(id))
        .filter(api_key::Column::Version.eq(old.version))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        txn.rollback().await?;
        return Err(RotateError::Conflict(id));
    }
    txn.commit().await?;
    CACHE.invalidate_all();
    let old = api_key::Model {
        replaced_by: Some(new.id),
        grace_until: Some(grace_until),
        updated_at: at,
        version: old.version + 1,
        ..old
    };
    Ok(Rotated { old, new, key })
}

/// When key `k` stops being valid: its expiry or the end of its grace period, the earlier.
pub fn valid_until(k: &api_key::Model) -> Option<DateTime<Utc>> {
    match (k.expires_at, k.grace_until) {
        (Some(e), Some(g)) => Some(std::cmp::min(e, g)),
        (e, g) => e.or(g),
    }
}

pub async fn list(db: &DatabaseConnection) -> Result<Vec<api_key::Model>, DbErr> {
    api_key::Entity::find()
        .order_by_asc(api_key::Column::CreatedAt)
        .all(db)
        .await
}

/// Revokes a key; `false` when there is no such key.
pub async fn revoke(db: &DatabaseConnection, id: Uuid) -> Result<bool, DbErr> {
    let Some(key) = api_key::Entity::find_by_id(id).one(db).await? else {
        return Ok(false);
    };
    let version = key.version;
    let mut am = key.into_active_model();
    am.revoked_at = Set(Some(now()));
    am.updated_at = Set(now());
    am.version = Set(version + 1);
    am.update(db).await?;
    CACHE.invalidate_all();
    Ok(true)
}

/// How long a key, once checked, is trusted without looking it up again.
pub const CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(5);

/// A checked key's caller and when it stops being valid.
type CachedKey = (Caller, Option<DateTime<Utc>>);

/// Callers of recently checked keys, by key hash (never the key itself): a partner's requests
/// then skip the key lookup (and the lookup of its grid scopes). An entry lives [`CACHE_TTL`] at
/// most, and is not used past the key's expiry; so a key revoked by another process (the CLI,
/// another replica) stops working within [`CACHE_TTL`], and [`revoke`] in this process clears
/// the cache at once.
static CACHE: std::sync::LazyLock<moka::sync::Cache<String, CachedKey>> =
    std::sync::LazyLock::new(|| {
        moka::sync::Cache::builder()
            .max_capacity(10_000)
            .time_to_live(CACHE_TTL)
            .build()
    });

/// The caller behind an API key; UNAUTHENTICATED when unknown, revoked, expired or past the
/// grace period of its rotation.
pub async fn authenticate(db: &DatabaseConnection, key: &str) -> ApiResult<Caller> {
    let key_hash = hash(key);
    if let Some((caller, expires)) = CACHE.get(&key_hash)
        && expires.is_none_or(|e| e > Utc::now())
    {
        return Ok(caller);
    }
    let found = api_key::Entity::find()
        .filter(api_key::Column::KeyHash.eq(key_hash.clone()))
        .one(db)
        .await?;
    let Some(k) = found else {
        return Err(ApiError::Unauthenticated);
    };
    let until = valid_until(&k);
    if k.revoked_at.is_some() || until.is_some_and(|e| e <= Utc::now()) {
        return Err(ApiError::Unauthenticated);
    }
    let role: Role = k.role.parse().map_err(|_| ApiError::Unauthenticated)?;
    let codes: Vec<String> = serde_json::from_str(&k.grid_codes).unwrap_or_default();
    let scopes: Vec<String> = serde_json::from_str(&k.scopes).unwrap_or_default();
    let caller = Caller {
        id: format!("{ACTOR_PREFIX}{}", k.id),
        role,
        grids: grid_scopes(db, &codes).await?,
        organization_id: k.organization_id,
        person_id: None,
        scopes,
        expires_at: until.map(std::time::SystemTime::from),
    };
    CACHE.insert(key_hash, (caller.clone(), until));
    Ok(caller)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn durations_take_one_unit() {
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_duration("12h"), Ok(Duration::from_secs(12 * 3_600)));
        assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(1_800)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        for bad in [
            "",
            "d",
            "7",
            "7w",
            "-1d",
            "1.5d",
            "7 d",
            "99999999999999999999d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
