//! Who is calling: API keys for partner systems, JWTs for portal users, or nobody (PUBLIC).
//!
//! A credential that is present but bad, expired or revoked is UNAUTHENTICATED (HTTP 401),
//! never silently PUBLIC.

pub mod apikey;
pub mod jwks;
pub mod jwt;

use crate::config::AuthSettings;
use crate::error::{ApiError, ApiResult};
use axum::http::{HeaderMap, header};
use entity::grid;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

/// What a caller may do; see `docs/security.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Admin,
    GridManager,
    VolunteerOrg,
    Agency,
    Public,
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "ADMIN" => Role::Admin,
            "GRID_MANAGER" => Role::GridManager,
            "VOLUNTEER_ORG" => Role::VolunteerOrg,
            "AGENCY" => Role::Agency,
            "PUBLIC" => Role::Public,
            other => {
                return Err(format!(
                    "unknown role `{other}` (ADMIN, GRID_MANAGER, VOLUNTEER_ORG, AGENCY, PUBLIC)"
                ));
            }
        })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Admin => "ADMIN",
            Role::GridManager => "GRID_MANAGER",
            Role::VolunteerOrg => "VOLUNTEER_ORG",
            Role::Agency => "AGENCY",
            Role::Public => "PUBLIC",
        })
    }
}

/// A grid whose subtree a caller may reach.
#[derive(Debug, Clone)]
pub struct GridScope {
    pub id: Uuid,
    pub path: String,
}

/// The authenticated caller of one request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Stable identity for audit entries, idempotency keys and rate limits.
    pub id: String,
    pub role: Role,
    pub grids: Vec<GridScope>,
    pub organization_id: Option<Uuid>,
    pub person_id: Option<Uuid>,
    pub scopes: Vec<String>,
    /// When the credential stops being valid: a JWT's `exp`, an API key's expiry or the end of
    /// its grace period after a rotation, whichever comes first; `None` for a credential
    /// without an end (or no credential). A WebSocket closes then.
    pub expires_at: Option<std::time::SystemTime>,
}

/// How the identities of anonymous callers begin (never a credential's identity).
const ANONYMOUS_PREFIX: &str = "anonymous:";

/// The scope that unmasks phone and ID numbers.
pub const PII_READ: &str = "pii:read";

impl Caller {
    /// An anonymous caller; `client` distinguishes anonymous callers for rate limiting.
    pub fn public(client: &str) -> Caller {
        Caller {
            id: format!("{ANONYMOUS_PREFIX}{client}"),
            role: Role::Public,
            grids: vec![],
            organization_id: None,
            person_id: None,
            scopes: vec![],
            expires_at: None,
        }
    }

    /// A caller that may do everything (command-line tools, tests).
    pub fn admin(id: &str) -> Caller {
        Caller {
            id: id.to_owned(),
            role: Role::Admin,
            grids: vec![],
            organization_id: None,
            person_id: None,
            scopes: vec![PII_READ.to_owned()],
            expires_at: None,
        }
    }

    /// Whether the caller presented a credential (an API key or a JWT).
    pub fn is_authenticated(&self) -> bool {
        !self.id.starts_with(ANONYMOUS_PREFIX)
    }

    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// Refuses roles that may not write at all.
    pub fn require_write(&self, allowed: &[Role]) -> ApiResult<()> {
        if allowed.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "the {} role may not do this",
                self.role
            )))
        }
    }
}

/// Resolves grid codes to the grids' ids and paths; unknown codes are an error.
pub async fn grid_scopes(db: &DatabaseConnection, codes: &[String]) -> ApiResult<Vec<GridScope>> {
    if codes.is_empty() {
        return Ok(vec![]);
    }
    let grids = grid::Entity::find()
        .filter(grid::Column::Code.is_in(codes.iter().cloned()))
        .all(db)
        .await?;
    if grids.len() != codes.len() {
        tracing::warn!("credential names grid codes that do not exist");
        return Err(ApiError::Unauthenticated);
    }
    Ok(grids
        .into_iter()
        .map(|g| GridScope {
            id: g.id,
            path: g.path,
        })
        .collect())
}

/// Identifies the caller from the `Authorization` header; `client` names an anonymous caller.
#[tracing::instrument(name = "auth.authenticate", skip_all)]
pub async fn authenticate(
    db: &DatabaseConnection,
    settings: &AuthSettings,
    headers: &HeaderMap,
    client: &str,
) -> ApiResult<Caller> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(Caller::public(client));
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(ApiError::Unauthenticated)?;
    authenticate_token(db, settings, token).await
}

/// Identifies the caller from a bearer token (an API key `gg_…` or a JWT).
pub async fn authenticate_token(
    db: &DatabaseConnection,
    settings: &AuthSettings,
    token: &str,
) -> ApiResult<Caller> {
    if token.starts_with(apikey::PREFIX) {
        apikey::authenticate(db, token).await
    } else {
        jwt::authenticate(db, settings, token).await
    }
}
