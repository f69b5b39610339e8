//! API keys: `gg_` followed by 40 random letters and digits, stored only as a SHA-256 hash
//! (the keys are random enough that a slow password hash adds nothing).

use super::{Caller, Role, grid_scopes};
use crate::error::{ApiError, ApiResult};
use crate::store::write::now;
use chrono::{DateTime, Utc};
use entity::api_key;
use rand::Rng;
use rand::distr::Alphanumeric;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, Set,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub const PREFIX: &str = "gg_";

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
        created_at: at,
        updated_at: at,
        version: 1,
    };
    api_key::Entity::insert(model.clone().into_active_model().reset_all())
        .exec_without_returning(db)
        .await?;
    Ok((model, key))
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

/// A checked key's caller and its expiry.
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

/// The caller behind an API key; UNAUTHENTICATED when unknown, revoked or expired.
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
    if k.revoked_at.is_some() || k.expires_at.is_some_and(|e| e <= Utc::now()) {
        return Err(ApiError::Unauthenticated);
    }
    let role: Role = k.role.parse().map_err(|_| ApiError::Unauthenticated)?;
    let codes: Vec<String> = serde_json::from_str(&k.grid_codes).unwrap_or_default();
    let scopes: Vec<String> = serde_json::from_str(&k.scopes).unwrap_or_default();
    let caller = Caller {
        id: format!("apikey:{}", k.id),
        role,
        grids: grid_scopes(db, &codes).await?,
        organization_id: k.organization_id,
        person_id: None,
        scopes,
    };
    CACHE.insert(key_hash, (caller.clone(), k.expires_at));
    Ok(caller)
}
