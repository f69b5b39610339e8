//! JWT bearer tokens of portal users, verified by one of (first match wins):
//! - the keys of an identity provider's JWKS (`GRIDGOV_JWT_JWKS_URL`, see [`super::jwks`]):
//!   RS256 or ES256, the key chosen by the token's `kid`;
//! - static public keys: RS256 (`GRIDGOV_JWT_RS256_PUBLIC_KEY`) and/or ES256
//!   (`GRIDGOV_JWT_ES256_PUBLIC_KEY`), chosen by the token's `alg`;
//! - a shared HS256 secret (`GRIDGOV_JWT_HS256_SECRET`).
//!
//! A token whose `alg` the configured source does not offer (`none`, HS256 when public keys are
//! configured, ES256 against an RSA key …) is refused before any signature check. Issuer,
//! audience, expiry (`exp`, required) and not-before (`nbf`, when present) are checked, with
//! `GRIDGOV_JWT_LEEWAY` seconds of clock skew (default 5; jsonwebtoken's own default is 60).
//!
//! Claims: `sub`, `role` (as for API keys), `grids` (grid codes), `org` and `person` (UUIDs),
//! `scope` (space-separated, e.g. `pii:read`).

use super::jwks::{self, Key};
use super::{Caller, Role, grid_scopes};
use crate::config::AuthSettings;
use crate::error::{ApiError, ApiResult};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use sea_orm::DatabaseConnection;
use serde::Deserialize;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use uuid::Uuid;

pub use super::jwks::KeySet;

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
    /// Seconds since the epoch (validated by jsonwebtoken, read for [`Caller::expires_at`]); a
    /// NumericDate may have a fraction.
    exp: f64,
}

impl Claims {
    fn expires_at(&self) -> Option<SystemTime> {
        UNIX_EPOCH.checked_add(Duration::try_from_secs_f64(self.exp).ok()?)
    }
}

fn refused(reason: &str) -> ApiError {
    tracing::info!(reason, "JWT refused");
    ApiError::Unauthenticated
}

/// The JWKS settings, when a JWKS is configured.
fn jwks_source(settings: &AuthSettings) -> Option<jwks::Source> {
    let url = settings.jwt_jwks_url.as_ref().filter(|u| !u.is_empty())?;
    // `max(1)`: settings built by `Default` rather than clap have zeros here.
    Some(jwks::Source {
        url: url.clone(),
        min_refresh: Duration::from_secs(settings.jwt_jwks_min_refresh.max(1)),
        refresh: Duration::from_secs(settings.jwt_jwks_refresh.max(1)),
        timeout: Duration::from_secs(settings.jwt_jwks_timeout.max(1)),
    })
}

/// The static key for a token signed with `alg`, if one is configured for it.
fn static_key(settings: &AuthSettings, alg: Algorithm) -> Result<Arc<Key>, &'static str> {
    let rs = settings.jwt_rs256_public_key.as_deref();
    let es = settings.jwt_es256_public_key.as_deref();
    let key = match (alg, rs, es) {
        (Algorithm::RS256, Some(pem), _) => DecodingKey::from_rsa_pem(pem.as_bytes()),
        (Algorithm::ES256, _, Some(pem)) => DecodingKey::from_ec_pem(pem.as_bytes()),
        // A public key turns the shared secret off: whoever holds the secret could otherwise
        // mint tokens the key's owner never issued.
        (Algorithm::HS256, None, None) => match &settings.jwt_hs256_secret {
            Some(secret) => Ok(DecodingKey::from_secret(secret.as_bytes())),
            None => return Err("no JWT key is configured"),
        },
        _ => return Err("algorithm not accepted"),
    };
    key.map(|key| Arc::new(Key { alg, key }))
        .map_err(|_| "the configured public key is not a valid PEM key")
}

/// Checks signature and claims with `key`.
fn check(settings: &AuthSettings, token: &str, key: &Key) -> ApiResult<Claims> {
    let mut validation = Validation::new(key.alg);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.set_issuer(&[settings.jwt_issuer.as_str()]);
    validation.set_audience(&[settings.jwt_audience.as_str()]);
    validation.validate_nbf = true;
    validation.leeway = settings.jwt_leeway;
    Ok(decode::<Claims>(token, &key.key, &validation)
        .map_err(|e| {
            tracing::info!(reason = %e, "JWT refused");
            ApiError::Unauthenticated
        })?
        .claims)
}

/// The key a token asks for: a static one at hand, or one of the JWKS by `kid` and `alg`.
enum Wanted {
    Static(Arc<Key>),
    Jwks {
        source: jwks::Source,
        kid: String,
        alg: Algorithm,
    },
}

fn wanted(settings: &AuthSettings, token: &str) -> ApiResult<Wanted> {
    let header = decode_header(token).map_err(|_| refused("malformed token"))?;
    let Some(source) = jwks_source(settings) else {
        return static_key(settings, header.alg)
            .map(Wanted::Static)
            .map_err(refused);
    };
    if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
        return Err(refused("algorithm not accepted"));
    }
    let kid = header.kid.ok_or_else(|| refused("token names no kid"))?;
    Ok(Wanted::Jwks {
        source,
        kid,
        alg: header.alg,
    })
}

fn unknown_key() -> ApiError {
    refused("no key with the token's kid and alg")
}

/// The claims of a token that passes every check, or `UNAUTHENTICATED`. Fetches the JWKS when
/// the token's `kid` is unknown (rate-limited, see [`jwks`]).
async fn verify(settings: &AuthSettings, token: &str) -> ApiResult<Claims> {
    let key = match wanted(settings, token)? {
        Wanted::Static(key) => key,
        Wanted::Jwks { source, kid, alg } => settings
            .jwks
            .key(&source, &kid, alg)
            .await
            .ok_or_else(unknown_key)?,
    };
    check(settings, token, &key)
}

pub async fn authenticate(
    db: &DatabaseConnection,
    settings: &AuthSettings,
    token: &str,
) -> ApiResult<Caller> {
    let claims = verify(settings, token).await?;
    let role: Role = claims.role.parse().map_err(|_| ApiError::Unauthenticated)?;
    Ok(Caller {
        id: format!("jwt:{}", claims.sub),
        role,
        grids: grid_scopes(db, &claims.grids).await?,
        organization_id: claims.org,
        person_id: claims.person,
        scopes: claims.scope.split_whitespace().map(str::to_owned).collect(),
        expires_at: claims.expires_at(),
    })
}
