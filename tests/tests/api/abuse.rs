//! Abuse resistance: JWT `nbf` and leeway, subscriptions closed when their token expires,
//! server-chosen request ids.

use crate::db_test;
use crate::fixture;
use crate::harness::TestApp;
use crate::subscriptions::Sub;
use chrono::{Duration as Span, Utc};
use gridgov::config::ServeSettings;
use serde_json::{Value, json};
use std::time::Duration;

/// The first error of a response.
fn first_error(body: &Value) -> &Value {
    &body["errors"][0]
}

fn jwt(claims: Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("token")
}

/// A valid ADMIN token's claims, with `exp` an hour away.
fn claims() -> Value {
    json!({
        "sub": "portal-user", "role": "ADMIN", "iss": "gridgov", "aud": "gridgov-api",
        "exp": (Utc::now() + Span::hours(1)).timestamp(),
    })
}

async fn status_with(app: &TestApp, token: &str) -> (u16, Value) {
    let r = app
        .http
        .post(app.url("/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": "{ grids { totalCount } }" }))
        .send()
        .await
        .expect("request");
    let status = r.status().as_u16();
    let body: Value = r.json().await.expect("json");
    (status, first_error(&body)["extensions"]["code"].clone())
}

db_test!(
    jwt_not_before_and_expiry_allow_only_the_configured_leeway,
    settings = |s: &mut ServeSettings| s.auth.jwt_hs256_secret = Some("leeway".into()),
    |app| async move {
        let unauthenticated = (401, json!("UNAUTHENTICATED"));
        let with = |field: &str, at: chrono::DateTime<Utc>| {
            let mut c = claims();
            c[field] = json!(at.timestamp());
            jwt(c, "leeway")
        };
        // A valid token, and one valid from a minute ago.
        assert_eq!(
            status_with(&app, &jwt(claims(), "leeway")).await,
            (200, Value::Null)
        );
        let started = with("nbf", Utc::now() - Span::minutes(1));
        assert_eq!(status_with(&app, &started).await, (200, Value::Null));
        // Not valid for another minute.
        let early = with("nbf", Utc::now() + Span::minutes(1));
        assert_eq!(status_with(&app, &early).await, unauthenticated);
        // Expired 30 s ago: inside jsonwebtoken's default leeway of 60 s, outside ours of 5.
        let expired = with("exp", Utc::now() - Span::seconds(30));
        assert_eq!(status_with(&app, &expired).await, unauthenticated);
    }
);

db_test!(
    the_jwt_leeway_is_a_setting,
    settings = |s: &mut ServeSettings| {
        s.auth.jwt_hs256_secret = Some("leeway".into());
        s.auth.jwt_leeway = 120;
    },
    |app| async move {
        let mut c = claims();
        c["exp"] = json!((Utc::now() - Span::seconds(30)).timestamp());
        assert_eq!(
            status_with(&app, &jwt(c, "leeway")).await,
            (200, Value::Null)
        );
        let mut c = claims();
        c["nbf"] = json!((Utc::now() + Span::seconds(60)).timestamp());
        assert_eq!(
            status_with(&app, &jwt(c, "leeway")).await,
            (200, Value::Null)
        );
    }
);

const SERVICE_CHANGED: &str = "subscription { serviceChanged { kind objectId } }";

db_test!(
    a_subscription_closes_when_its_token_expires,
    settings = |s: &mut ServeSettings| {
        s.auth.jwt_hs256_secret = Some("ws-expiry".into());
        // Far beyond the test's patience: only the token's expiry can close the connection.
        s.ws_recheck = 300;
    },
    |app| async move {
        let mut short = claims();
        short["exp"] = json!((Utc::now() + Span::seconds(3)).timestamp());
        let short = jwt(short, "ws-expiry");
        let long = jwt(claims(), "ws-expiry");
        let mut expiring = Sub::start(app.addr, Some(&short), SERVICE_CHANGED, json!({})).await;
        let mut lasting = Sub::start(app.addr, Some(&long), SERVICE_CHANGED, json!({})).await;

        let line = expiring.next().await;
        assert_eq!(line["closed"]["code"], 4403, "{line}");
        // The token is past its `exp` now.
        assert!(
            Utc::now().timestamp() >= short_exp(&short),
            "closed before expiry"
        );
        // The connection with a valid token stays open.
        assert_eq!(lasting.next_within(Duration::from_millis(1500)).await, None);
    }
);

/// The `exp` claim of a token (its payload, not verified).
fn short_exp(token: &str) -> i64 {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).expect("payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64");
    let claims: Value = serde_json::from_slice(&bytes).expect("claims");
    claims["exp"].as_i64().expect("exp")
}

db_test!(
    the_server_chooses_the_request_id_and_keeps_the_clients_beside_it,
    |app| async move {
        let f = fixture::load(&app.db).await;
        // A mutation sent with a request id of the client's choosing.
        let r = app
            .http
            .post(app.url("/graphql"))
            .bearer_auth(&app.admin_key)
            .header("x-request-id", "attacker-chosen")
            .json(&json!({ "query": "mutation { createOrganization(input: { name: \"新组织\", kind: GOVERNMENT }) { organization { id } } }" }))
            .send()
            .await
            .unwrap();
        let server_id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
        let body: Value = r.json().await.unwrap();
        let org = body["data"]["createOrganization"]["organization"]["id"].clone();
        assert_ne!(server_id, "attacker-chosen");
        assert!(uuid::Uuid::parse_str(&server_id).is_ok(), "{server_id}");

        let data = app
            .data(
                "query($e: ID!) { auditLog(filter: { entityId: $e }) { nodes { requestId clientRequestId } } }",
                json!({ "e": org }),
            )
            .await;
        assert_eq!(
            data["auditLog"]["nodes"],
            json!([{ "requestId": server_id, "clientRequestId": "attacker-chosen" }])
        );

        // An unmasked read: the access log records both ids too.
        let r = app
            .http
            .post(app.url("/graphql"))
            .bearer_auth(&app.admin_key)
            .header("x-request-id", "portal-read-1")
            .json(&json!({
                "query": "query($id: ID!) { node(id: $id) { ... on Person { phone } } }",
                "variables": { "id": f.person("sun_li") },
            }))
            .send()
            .await
            .unwrap();
        let read_id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["data"]["node"]["phone"], "13810000011", "{body}");
        let data = app
            .data(
                "query($p: ID!) { piiAccessLog(filter: { personId: $p }) { nodes { requestId clientRequestId } } }",
                json!({ "p": f.person("sun_li") }),
            )
            .await;
        assert_eq!(
            data["piiAccessLog"]["nodes"],
            json!([{ "requestId": read_id, "clientRequestId": "portal-read-1" }])
        );

        // A client id that is not a sane token is not kept.
        for bad in ["x".repeat(129), "has space".to_owned()] {
            let r = app
                .http
                .post(app.url("/graphql"))
                .bearer_auth(&app.admin_key)
                .header("x-request-id", &bad)
                .json(&json!({ "query": "mutation { createOrganization(input: { name: \"另一个\", kind: GOVERNMENT }) { organization { id } } }" }))
                .send()
                .await
                .unwrap();
            let body: Value = r.json().await.unwrap();
            let org = body["data"]["createOrganization"]["organization"]["id"].clone();
            let data = app
                .data(
                    "query($e: ID!) { auditLog(filter: { entityId: $e }) { nodes { clientRequestId } } }",
                    json!({ "e": org }),
                )
                .await;
            assert_eq!(
                data["auditLog"]["nodes"],
                json!([{ "clientRequestId": null }]),
                "{bad}"
            );
        }
    }
);
