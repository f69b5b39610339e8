//! JWT bearer tokens of portal users: HS256 with a shared secret or RS256 with a public key;
//! issuer, audience, expiry (`exp`, required) and not-before (`nbf`, when present) checked, with
//! `GRIDGOV_JWT_LEEWAY` seconds of clock skew (default 5; jsonwebtoken's own default is 60).
//!
//! Claims: `sub`, `role` (as for API keys), `grids` (grid codes), `org` and `person` (UUIDs),
//! `scope` (space-separated, e.g. `pii:read`).

use super::{Caller, Role, grid_scopes};
use crate::config::AuthSettings;
use crate::error::{ApiError, ApiResult};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode};
use sea_orm::DatabaseConnection;
use serde::Deserialize;
use uuid::Uuid;

#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
    role: String,
    #[serde(default)]
    grids: Vec<String>,
    org: Option<Uuid>,
    person: Option<Uuid>,
    #[serde(default)]
    scope: String,
    /// Seconds since the epoch (validated by jsonwebtoken, read for [`expiry`]); a NumericDate
    /// may have a fraction.
    exp: f64,
}

fn key(settings: &AuthSettings) -> Option<(DecodingKey, Algorithm)> {
    if let Some(pem) = &settings.jwt_rs256_public_key {
        return DecodingKey::from_rsa_pem(pem.as_bytes())
            .ok()
            .map(|k| (k, Algorithm::RS256));
    }
    settings
        .jwt_hs256_secret
        .as_ref()
        .map(|s| (DecodingKey::from_secret(s.as_bytes()), Algorithm::HS256))
}

/// The claims of a token that passes every check, or `UNAUTHENTICATED`.
fn verify(settings: &AuthSettings, token: &str) -> ApiResult<Claims> {
    let Some((key, alg)) = key(settings) else {
        return Err(ApiError::Unauthenticated);
    };
    let mut validation = Validation::new(alg);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.set_issuer(&[settings.jwt_issuer.as_str()]);
    validation.set_audience(&[settings.jwt_audience.as_str()]);
    validation.validate_nbf = true;
    validation.leeway = settings.jwt_leeway;
    Ok(decode::<Claims>(token, &key, &validation)
        .map_err(|e| {
            tracing::info!(reason = %e, "JWT refused");
            ApiError::Unauthenticated
        })?
        .claims)
}

/// When a valid token expires (its `exp`); `None` for a token that does not verify. An open
/// WebSocket closes then (the leeway only covers clock skew at the moment a token is checked).
pub fn expiry(settings: &AuthSettings, token: &str) -> Option<std::time::SystemTime> {
    let claims = verify(settings, token).ok()?;
    let after_epoch = std::time::Duration::try_from_secs_f64(claims.exp).ok()?;
    std::time::UNIX_EPOCH.checked_add(after_epoch)
}

pub async fn authenticate(
    db: &DatabaseConnection,
    settings: &AuthSettings,
    token: &str,
) -> ApiResult<Caller> {
    let claims = verify(settings, token)?;
    let role: Role = claims.role.parse().map_err(|_| ApiError::Unauthenticated)?;
    Ok(Caller {
        id: format!("jwt:{}", claims.sub),
        role,
        grids: grid_scopes(db, &claims.grids).await?,
        organization_id: claims.org,
        person_id: claims.person,
        scopes: claims.scope.split_whitespace().map(str::to_owned).collect(),
    })
}
