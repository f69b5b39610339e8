//! JWTs from an identity provider: keys fetched from a JWKS served by the test itself, chosen by
//! `kid`, refetched (rate-limited) on an unknown `kid`; static RS256/ES256 public keys; API-key
//! rotation with a grace period.

use crate::fixture;
use crate::harness::{Backend, TestApp};
use crate::{backend_test, db_test};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use chrono::{Duration, Utc};
use gridgov::auth::apikey::{self, RotateError};
use gridgov::auth::{Role, authenticate_token};
use gridgov::config::AuthSettings;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

const RSA_A: &str = include_str!("keys/rsa-a.pem");
const RSA_A_PUB: &str = include_str!("keys/rsa-a.pub.pem");
const RSA_B: &str = include_str!("keys/rsa-b.pem");
const RSA_FOREIGN: &str = include_str!("keys/rsa-foreign.pem");
const EC_A: &str = include_str!("keys/ec-a.pem");
const EC_A_PUB: &str = include_str!("keys/ec-a.pub.pem");
const EC_FOREIGN: &str = include_str!("keys/ec-foreign.pem");

fn jwk(name: &str) -> Value {
    let text = match name {
        "rsa-a" => include_str!("keys/rsa-a.jwk.json"),
        "rsa-b" => include_str!("keys/rsa-b.jwk.json"),
        "ec-a" => include_str!("keys/ec-a.jwk.json"),
        other => panic!("no JWK {other}"),
    };
    serde_json::from_str(text).unwrap()
}

/// A JWKS endpoint whose keys the test changes while the server runs, and which counts how
/// often it is asked.
#[derive(Clone, Default)]
struct Jwks {
    keys: Arc<Mutex<Vec<Value>>>,
    hits: Arc<AtomicUsize>,
    failing: Arc<AtomicBool>,
}

impl Jwks {
    async fn serve(keys: Vec<Value>) -> (Jwks, SocketAddr) {
        let jwks = Jwks::default();
        *jwks.keys.lock().unwrap() = keys;
        let router = axum::Router::new()
            .route("/jwks.json", axum::routing::get(serve_jwks))
            .with_state(jwks.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await });
        (jwks, addr)
    }

    fn set(&self, keys: Vec<Value>) {
        *self.keys.lock().unwrap() = keys;
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

async fn serve_jwks(State(jwks): State<Jwks>) -> Response {
    jwks.hits.fetch_add(1, Ordering::SeqCst);
    if jwks.failing.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let keys = jwks.keys.lock().unwrap().clone();
    axum::Json(json!({ "keys": keys })).into_response()
}

/// A GRID_MANAGER of grid 370685001002 (5 people in the fixture), valid for an hour.
fn claims() -> Value {
    json!({
        "sub": "idp-user", "role": "GRID_MANAGER", "grids": ["370685001002"],
        "iss": "gridgov", "aud": "gridgov-api",
        "exp": (Utc::now() + Duration::hours(1)).timestamp(),
    })
}

fn token(alg: Algorithm, kid: Option<&str>, key: &str, claims: &Value) -> String {
    let key = match alg {
        Algorithm::RS256 => EncodingKey::from_rsa_pem(key.as_bytes()).unwrap(),
        Algorithm::ES256 => EncodingKey::from_ec_pem(key.as_bytes()).unwrap(),
        _ => EncodingKey::from_secret(key.as_bytes()),
    };
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

/// An unsigned token (`alg: none`).
fn unsigned(kid: &str, claims: &Value) -> String {
    let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.",
        b64(json!({ "alg": "none", "typ": "JWT", "kid": kid })),
        b64(claims.clone())
    )
}

/// The people the token's caller counts (`Ok`), or the HTTP status and error code (`Err`).
async fn people(app: &TestApp, token: &str) -> Result<i64, (u16, Value)> {
    let r = app
        .http
        .post(app.url("/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": "{ people { totalCount } }" }))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    match body["data"]["people"]["totalCount"].as_i64() {
        Some(n) if status == 200 => Ok(n),
        _ => Err((status, body["errors"][0]["extensions"]["code"].clone())),
    }
}

fn unauthenticated() -> Result<i64, (u16, Value)> {
    Err((401, json!("UNAUTHENTICATED")))
}

async fn spawn_with_jwks(backend: Backend, addr: SocketAddr, min_refresh: u64) -> Option<TestApp> {
    TestApp::spawn_with(backend, |s| {
        s.auth.jwt_jwks_url = Some(format!("http://{addr}/jwks.json"));
        s.auth.jwt_jwks_min_refresh = min_refresh;
        // Set but unused: a JWKS turns the shared secret off.
        s.auth.jwt_hs256_secret = Some("shared".into());
    })
    .await
}

async fn jwks_tokens_are_checked_by_kid_and_alg(backend: Backend) {
    // Arrange
    let (jwks, addr) = Jwks::serve(vec![jwk("rsa-a"), jwk("ec-a")]).await;
    let Some(app) = spawn_with_jwks(backend, addr, 60).await else {
        return;
    };
    fixture::load(&app.db).await;
    let c = claims();

    // Act / Assert: the keys of the set verify tokens with their kid, RS256 and ES256.
    assert_eq!(
        people(&app, &token(Algorithm::RS256, Some("rsa-a"), RSA_A, &c)).await,
        Ok(5)
    );
    assert_eq!(
        people(&app, &token(Algorithm::ES256, Some("ec-a"), EC_A, &c)).await,
        Ok(5)
    );
    assert_eq!(jwks.hits(), 1, "the set is fetched once and cached");

    let refused = [
        (
            "another RSA key under a known kid",
            token(Algorithm::RS256, Some("rsa-a"), RSA_FOREIGN, &c),
        ),
        (
            "another EC key under a known kid",
            token(Algorithm::ES256, Some("ec-a"), EC_FOREIGN, &c),
        ),
        (
            "ES256 against the RSA key's kid",
            token(Algorithm::ES256, Some("rsa-a"), EC_A, &c),
        ),
        (
            "RS256 against the EC key's kid",
            token(Algorithm::RS256, Some("ec-a"), RSA_A, &c),
        ),
        ("no kid", token(Algorithm::RS256, None, RSA_A, &c)),
        (
            "HS256 with the configured secret",
            token(Algorithm::HS256, Some("rsa-a"), "shared", &c),
        ),
        ("alg none", unsigned("rsa-a", &c)),
        (
            "unknown kid",
            token(Algorithm::RS256, Some("rsa-b"), RSA_B, &c),
        ),
        (
            "unknown kid again",
            token(Algorithm::RS256, Some("nope"), RSA_FOREIGN, &c),
        ),
    ];
    for (what, t) in &refused {
        assert_eq!(people(&app, t).await, unauthenticated(), "{what}");
    }
    let mut wrong_issuer = c.clone();
    wrong_issuer["iss"] = json!("evil");
    assert_eq!(
        people(
            &app,
            &token(Algorithm::RS256, Some("rsa-a"), RSA_A, &wrong_issuer)
        )
        .await,
        unauthenticated(),
        "issuer still checked"
    );

    // An unknown kid refetches at most once per minimum refresh interval (60 s here), counted
    // from the last fetch: none of them has, the first fetch being seconds old.
    assert_eq!(
        jwks.hits(),
        1,
        "unknown kids within the interval do not refetch"
    );
    // So a key added to the set now is not seen before the interval has passed.
    jwks.set(vec![jwk("rsa-a"), jwk("ec-a"), jwk("rsa-b")]);
    assert_eq!(
        people(&app, &token(Algorithm::RS256, Some("rsa-b"), RSA_B, &c)).await,
        unauthenticated()
    );
    assert_eq!(jwks.hits(), 1);
}
backend_test!(jwks_tokens_are_checked_by_kid_and_alg);

async fn a_rotated_jwks_is_picked_up_on_an_unknown_kid(backend: Backend) {
    // Arrange: one key, a refetch allowed every second.
    let (jwks, addr) = Jwks::serve(vec![jwk("rsa-a")]).await;
    let Some(app) = spawn_with_jwks(backend, addr, 1).await else {
        return;
    };
    fixture::load(&app.db).await;
    let c = claims();
    let a = token(Algorithm::RS256, Some("rsa-a"), RSA_A, &c);
    let b = token(Algorithm::RS256, Some("rsa-b"), RSA_B, &c);
    assert_eq!(people(&app, &a).await, Ok(5));

    // Act: the provider rotates from key a to key b.
    jwks.set(vec![jwk("rsa-b")]);
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;

    // Assert: the first token with the new kid makes the server refetch; the retired key is
    // gone with the old set.
    assert_eq!(people(&app, &b).await, Ok(5), "the new key is fetched");
    assert_eq!(jwks.hits(), 2);
    assert_eq!(
        people(&app, &a).await,
        unauthenticated(),
        "the retired key is dropped"
    );

    // Act: the provider fails.
    jwks.failing.store(true, Ordering::SeqCst);
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let unknown = token(Algorithm::RS256, Some("rsa-foreign"), RSA_FOREIGN, &c);

    // Assert: unknown kids are refused, known keys keep working.
    assert_eq!(people(&app, &unknown).await, unauthenticated());
    assert_eq!(jwks.hits(), 3, "the failed fetch was attempted");
    assert_eq!(
        people(&app, &b).await,
        Ok(5),
        "cached keys survive a failed fetch"
    );
}
backend_test!(a_rotated_jwks_is_picked_up_on_an_unknown_kid);

db_test!(
    an_unreachable_jwks_refuses_tokens,
    settings = |s: &mut gridgov::config::ServeSettings| {
        // A port nothing listens on (the listener is dropped at once).
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        s.auth.jwt_jwks_url = Some(format!("http://127.0.0.1:{port}/jwks.json"));
        s.auth.jwt_jwks_timeout = 2;
    },
    |app| async move {
        let t = token(Algorithm::RS256, Some("rsa-a"), RSA_A, &claims());
        assert_eq!(people(&app, &t).await, unauthenticated());
        let health = app.http.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(health.status().as_u16(), 200, "the server keeps serving");
    }
);

db_test!(
    static_rs256_and_es256_public_keys_verify_tokens,
    settings = |s: &mut gridgov::config::ServeSettings| {
        s.auth.jwt_rs256_public_key = Some(RSA_A_PUB.into());
        s.auth.jwt_es256_public_key = Some(EC_A_PUB.into());
        s.auth.jwt_hs256_secret = Some("shared".into());
    },
    |app| async move {
        fixture::load(&app.db).await;
        let c = claims();
        assert_eq!(
            people(&app, &token(Algorithm::RS256, None, RSA_A, &c)).await,
            Ok(5)
        );
        assert_eq!(
            people(&app, &token(Algorithm::ES256, None, EC_A, &c)).await,
            Ok(5)
        );
        for (what, t) in [
            (
                "foreign RSA key",
                token(Algorithm::RS256, None, RSA_FOREIGN, &c),
            ),
            (
                "foreign EC key",
                token(Algorithm::ES256, None, EC_FOREIGN, &c),
            ),
            (
                "HS256 beside public keys",
                token(Algorithm::HS256, None, "shared", &c),
            ),
            ("alg none", unsigned("x", &c)),
        ] {
            assert_eq!(people(&app, &t).await, unauthenticated(), "{what}");
        }

        // The caller carries the token's expiry.
        let settings = AuthSettings {
            jwt_rs256_public_key: Some(RSA_A_PUB.into()),
            jwt_issuer: "gridgov".into(),
            jwt_audience: "gridgov-api".into(),
            ..AuthSettings::default()
        };
        let exp = c["exp"].as_u64().unwrap();
        let caller = authenticate_token(
            &app.db,
            &settings,
            &token(Algorithm::RS256, None, RSA_A, &c),
        )
        .await
        .unwrap();
        assert_eq!(caller.role, Role::GridManager);
        assert_eq!(
            caller.expires_at,
            Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(exp))
        );
    }
);

db_test!(
    rotated_api_keys_keep_working_for_their_grace_period,
    |app| async move {
        // Arrange
        fixture::load(&app.db).await;
        let new_key = || apikey::NewKey {
            name: "partner".into(),
            role: Role::GridManager,
            grid_codes: vec!["370685001002".into()],
            organization_id: None,
            scopes: vec![],
            expires_at: Some(Utc::now() + Duration::days(30)),
        };
        let (old, old_key) = apikey::create(&app.db, new_key()).await.unwrap();
        let (short, short_key) = apikey::create(&app.db, new_key()).await.unwrap();
        let week = std::time::Duration::from_secs(7 * 86_400);

        // Act
        let rotated = apikey::rotate(&app.db, old.id, week).await.unwrap();
        let instant = apikey::rotate(&app.db, short.id, std::time::Duration::ZERO)
            .await
            .unwrap();

        // Assert: during the grace period both keys work, with the same rights.
        assert_eq!(people(&app, &old_key).await, Ok(5));
        assert_eq!(people(&app, &rotated.key).await, Ok(5));
        let stored = apikey::list(&app.db).await.unwrap();
        let stored_old = stored.iter().find(|k| k.id == old.id).unwrap();
        let stored_new = stored.iter().find(|k| k.id == rotated.new.id).unwrap();
        assert_eq!(
            stored_new.expires_at, stored_old.expires_at,
            "the expiry is kept"
        );
        assert!(stored_new.expires_at.is_some());
        assert_eq!(stored_new.grid_codes, stored_old.grid_codes);
        assert_eq!(stored_new.role, "GRID_MANAGER");
        assert_eq!(stored_old.replaced_by, Some(rotated.new.id));
        let grace_until = stored_old.grace_until.unwrap();
        assert!(
            (grace_until - (Utc::now() + Duration::days(7)))
                .num_seconds()
                .abs()
                < 60,
            "{grace_until}"
        );
        // The old key's caller ends with its grace period.
        let caller = authenticate_token(&app.db, &AuthSettings::default(), &old_key)
            .await
            .unwrap();
        assert_eq!(caller.expires_at, Some(grace_until.into()));

        // Past the grace period the old key is refused and the new one works.
        assert_eq!(people(&app, &short_key).await, unauthenticated());
        assert_eq!(people(&app, &instant.key).await, Ok(5));

        // A key is rotated once; revoked keys and overlong grace periods are refused.
        assert!(matches!(
            apikey::rotate(&app.db, old.id, week).await,
            Err(RotateError::AlreadyReplaced { new, .. }) if new == rotated.new.id
        ));
        apikey::revoke(&app.db, rotated.new.id).await.unwrap();
        assert!(matches!(
            apikey::rotate(&app.db, rotated.new.id, week).await,
            Err(RotateError::Revoked(_))
        ));
        assert!(matches!(
            apikey::rotate(&app.db, instant.new.id, apikey::MAX_GRACE * 2).await,
            Err(RotateError::GraceTooLong)
        ));
        assert!(matches!(
            apikey::rotate(&app.db, uuid::Uuid::now_v7(), week).await,
            Err(RotateError::NotFound(_))
        ));
    }
);
