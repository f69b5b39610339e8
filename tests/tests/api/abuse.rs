//! Abuse resistance: documents that expand exponentially through fragments, limits counted
//! through fragments at any depth, JWT `nbf` and leeway, subscriptions closed when their token
//! expires, server-chosen request ids, the production profile and a metrics listener of its own.

use crate::db_test;
use crate::fixture;
use crate::harness::TestApp;
use crate::subscriptions::Sub;
use chrono::{Duration as Span, Utc};
use gridgov::config::{Profile, ServeSettings};
use serde_json::{Value, json};
use std::time::Duration;

/// The first error of a response.
fn first_error(body: &Value) -> &Value {
    &body["errors"][0]
}

fn message(body: &Value) -> &str {
    first_error(body)["message"].as_str().unwrap_or("")
}

/// `{ grid(code: "370685") { ...F0 } }` with `levels` fragments each spreading the next one
/// twice, the last selecting `leaf`: 2^levels leaves below one root field. About 1 KB for 26
/// levels.
fn doubling(levels: usize, leaf: &str) -> String {
    let mut q = String::from("{ grid(code: \"370685\") { ...F0 } }");
    for i in 0..levels {
        q.push_str(&format!(
            " fragment F{i} on Grid {{ ...F{n} ...F{n} }}",
            n = i + 1
        ));
    }
    q.push_str(&format!(" fragment F{levels} on Grid {{ {leaf} }}"));
    q
}

/// An anonymous request through its own client (no credential).
async fn post(app: &TestApp, query: &str) -> Value {
    app.http
        .post(app.url("/graphql"))
        .json(&json!({ "query": query }))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json body")
}

db_test!(
    a_document_expanding_exponentially_is_refused_before_validation,
    |app| async move {
        // Arrange: the ~1 KB document that took 8 s of validation CPU, 2^26 fields expanded
        // below one root field.
        let hostile = doubling(26, "__typename");
        assert!(hostile.len() < 1500, "{} bytes", hostile.len());

        // Act: several at once, with a health check and an ordinary query beside them.
        let app = &app;
        let floods = (0..6).map(|_| post(app, &hostile));
        let health = async {
            let r = app
                .http
                .get(app.url("/healthz"))
                .send()
                .await
                .expect("healthz");
            (r.status().as_u16(), r.text().await.unwrap_or_default())
        };
        let ordinary = post(app, "{ grids { totalCount } }");
        // A generous bound: without the expansion limit the flood holds both runtime workers
        // for tens of seconds and none of this answers within it.
        let (refusals, health, ordinary) = tokio::time::timeout(Duration::from_secs(20), async {
            tokio::join!(futures_util::future::join_all(floods), health, ordinary)
        })
        .await
        .expect("the server stopped answering while refusing hostile documents");

        // Assert: each refused as too large once expanded, by the expansion limit and not by
        // complexity (which async-graphql only knows after walking all 2^26 fields).
        for body in &refusals {
            assert_eq!(
                first_error(body)["extensions"]["code"],
                "BAD_USER_INPUT",
                "{body}"
            );
            assert!(
                message(body).contains("expands to 67108865 fields"),
                "{body}"
            );
            assert_eq!(body["data"], Value::Null);
        }
        assert_eq!(health, (200, "ok".to_owned()));
        assert_eq!(ordinary["data"]["grids"]["totalCount"], 0, "{ordinary}");
    }
);

db_test!(
    the_expansion_limit_is_a_setting,
    settings = |s: &mut ServeSettings| s.limits.max_expanded_fields = 40,
    |app| async move {
        fixture::load(&app.db).await;
        // `grid` plus 2^5 = 32 leaves: 33 fields.
        let allowed = doubling(5, "code");
        let body = post(&app, &allowed).await;
        assert!(body.get("errors").is_none(), "{body}");
        assert_eq!(body["data"]["grid"]["code"], "370685");
        // 65 fields.
        let body = post(&app, &doubling(6, "code")).await;
        assert_eq!(first_error(&body)["extensions"]["code"], "BAD_USER_INPUT");
        assert!(message(&body).contains("expands to 65 fields"), "{body}");
        assert!(message(&body).contains("at most 40"), "{body}");
    }
);

/// `levels` fragments nested inside each other, each adding `each` to its selection set.
fn nested_fragments(outer: &str, on: &str, levels: usize, each: &str, last: &str) -> String {
    let mut q = outer.replace("…", "...N0");
    for i in 0..levels {
        q.push_str(&format!(
            " fragment N{i} on {on} {{ {each} ...N{} }}",
            i + 1
        ));
    }
    q.push_str(&format!(" fragment N{levels} on {on} {{ {last} }}"));
    q
}

db_test!(
    root_fields_are_counted_through_fragments_nested_at_any_depth,
    |app| async move {
        // 24 fragments inside each other, each with one root field: 25 root fields (> 20).
        let q = nested_fragments(
            "{ … }",
            "Query",
            24,
            "grids { totalCount }",
            "grids { totalCount }",
        );
        let body = post(&app, &q).await;
        assert_eq!(
            first_error(&body)["extensions"]["code"],
            "BAD_USER_INPUT",
            "{body}"
        );
        assert!(message(&body).contains("25 root fields"), "{body}");
        // 19 of them pass (20 root fields).
        let q = nested_fragments(
            "{ … }",
            "Query",
            19,
            "grids { totalCount }",
            "grids { totalCount }",
        );
        let body = post(&app, &q).await;
        assert!(body.get("errors").is_none(), "{body}");
    }
);

db_test!(
    aliases_in_a_fragment_count_at_every_spread,
    |app| async move {
        fixture::load(&app.db).await;
        let spreads = |n: usize| {
            format!(
                "{{ grid(code: \"370685\") {{ {} }} }} fragment A on Grid {{ a: code b: name }}",
                "...A ".repeat(n)
            )
        };
        // 15 spreads × 2 aliases = 30: allowed.
        let body = post(&app, &spreads(15)).await;
        assert!(body.get("errors").is_none(), "{body}");
        assert_eq!(body["data"]["grid"]["a"], "370685");
        // 16 × 2 = 32 > 30, though the document spells only two aliases.
        let body = post(&app, &spreads(16)).await;
        assert_eq!(
            first_error(&body)["extensions"]["code"],
            "BAD_USER_INPUT",
            "{body}"
        );
        assert!(message(&body).contains("32 aliases"), "{body}");
    }
);

db_test!(
    depth_is_counted_through_fragments_nested_at_any_depth,
    settings = |s: &mut ServeSettings| {
        s.limits.max_depth = 20;
        s.limits.max_recursive_depth = 64;
    },
    |app| async move {
        fixture::load(&app.db).await;
        // grid → `levels` parents → code: depth levels + 2, one fragment per parent.
        let chain = |levels: usize| {
            let mut q = String::from("{ grid(code: \"370685001001\") { ...P0 } }");
            for i in 0..levels {
                q.push_str(&format!(
                    " fragment P{i} on Grid {{ code parent {{ ...P{} }} }}",
                    i + 1
                ));
            }
            q.push_str(&format!(" fragment P{levels} on Grid {{ code }}"));
            q
        };
        // 18 fragments deep: depth 20, allowed (the parents run out at the root: nulls).
        let body = post(&app, &chain(18)).await;
        assert!(body.get("errors").is_none(), "{body}");
        assert_eq!(body["data"]["grid"]["code"], "370685001001");
        // 19 fragments deep: depth 21.
        let body = post(&app, &chain(19)).await;
        assert_eq!(
            first_error(&body)["extensions"]["code"],
            "BAD_USER_INPUT",
            "{body}"
        );
        assert!(message(&body).contains("nested too deep"), "{body}");
    }
);

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
    a_subscription_expanding_exponentially_is_refused,
    |app| async move {
        let mut q = String::from("subscription { serviceChanged { node { ...F0 } } }");
        for i in 0..26 {
            q.push_str(&format!(
                " fragment F{i} on Service {{ ...F{n} ...F{n} }}",
                n = i + 1
            ));
        }
        q.push_str(" fragment F26 on Service { __typename }");
        let mut sub = Sub::start(app.addr, Some(&app.admin_key), &q, json!({})).await;
        let line = sub.next().await;
        let errors = line["error"]
            .as_array()
            .or(line["next"]["errors"].as_array())
            .unwrap_or_else(|| panic!("expected errors: {line}"))
            .clone();
        assert_eq!(errors[0]["extensions"]["code"], "BAD_USER_INPUT", "{line}");
        let message = errors[0]["message"].as_str().unwrap_or("");
        assert!(message.contains("expands to 67108866 fields"), "{line}");
    }
);

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

/// Whether `GET /graphql` from a browser answers the GraphiQL page.
async fn serves_graphiql(app: &TestApp) -> bool {
    let r = app
        .http
        .get(app.url("/graphql"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    let ok = r.status() == 200;
    ok && r.text().await.unwrap().contains("graphiql.min.js")
}

db_test!(
    a_plain_server_runs_the_production_profile,
    |app| async move {
        // No profile given and no demo: production.
        for q in [
            "{ __schema { queryType { name } } }",
            "{ __type(name: \"Grid\") { name } }",
            "query { ...I } fragment I on Query { __schema { types { name } } }",
        ] {
            let body = post(&app, q).await;
            let e = first_error(&body);
            assert_eq!(e["extensions"]["code"], "BAD_USER_INPUT", "{body}");
            assert_eq!(
                e["extensions"]["reason"], "INTROSPECTION_DISABLED",
                "{body}"
            );
            assert!(
                message(&body).contains("introspection is disabled"),
                "{body}"
            );
            assert_eq!(body["data"], Value::Null, "{body}");
        }
        // `__typename` is not introspection.
        let body = post(&app, "{ __typename }").await;
        assert_eq!(body["data"]["__typename"], "Query", "{body}");
        // No suggestions.
        let body = post(&app, "{ gridz { totalCount } }").await;
        assert_eq!(first_error(&body)["extensions"]["code"], "BAD_USER_INPUT");
        assert!(!message(&body).contains("Did you mean"), "{body}");
        assert!(message(&body).contains("gridz"), "{body}");
        // No GraphiQL, nor its assets.
        assert!(!serves_graphiql(&app).await);
        let r = app
            .http
            .get(app.url("/graphql/assets/graphiql.min.js"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
    }
);

db_test!(
    graphiql_can_be_turned_on_in_production,
    settings = |s: &mut ServeSettings| s.graphiql = Some(true),
    |app| async move {
        assert!(serves_graphiql(&app).await);
        let body = post(&app, "{ __schema { queryType { name } } }").await;
        assert_eq!(
            first_error(&body)["extensions"]["reason"],
            "INTROSPECTION_DISABLED"
        );
    }
);

db_test!(
    a_demo_server_runs_the_development_profile,
    settings = |s: &mut ServeSettings| s.demo = true,
    |app| async move {
        let body = post(&app, "{ __schema { queryType { name } } }").await;
        assert_eq!(
            body["data"]["__schema"]["queryType"]["name"], "Query",
            "{body}"
        );
        assert!(serves_graphiql(&app).await);
        let body = post(&app, "{ gridz { totalCount } }").await;
        assert!(message(&body).contains("Did you mean"), "{body}");
    }
);

db_test!(
    a_demo_server_given_the_production_profile_runs_it,
    settings = |s: &mut ServeSettings| {
        s.demo = true;
        s.limits.profile = Some(Profile::Production);
    },
    |app| async move {
        let body = post(&app, "{ __schema { queryType { name } } }").await;
        assert_eq!(
            first_error(&body)["extensions"]["reason"],
            "INTROSPECTION_DISABLED"
        );
        assert!(!serves_graphiql(&app).await);
    }
);

db_test!(
    metrics_can_have_a_listener_of_their_own,
    settings = |s: &mut ServeSettings| s.metrics_listen = Some(([127, 0, 0, 1], 0).into()),
    |app| async move {
        let metrics = app.metrics_addr.expect("a metrics listener");
        assert_ne!(metrics, app.addr);
        app.data("{ grids { totalCount } }", json!({})).await;
        // Not on the main listener any more…
        let r = app.http.get(app.url("/metrics")).send().await.unwrap();
        assert_eq!(r.status(), 404);
        // …but on its own, and nothing else is there.
        let r = app
            .http
            .get(format!("http://{metrics}/metrics"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let page = r.text().await.unwrap();
        assert!(page.contains("gridgov_graphql_operations_total"), "{page}");
        let r = app
            .http
            .post(format!("http://{metrics}/graphql"))
            .json(&json!({ "query": "{ grids { totalCount } }" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
    }
);

db_test!(
    a_document_longer_than_the_limit_is_refused_before_parsing,
    settings = |s: &mut ServeSettings| s.limits.max_document_bytes = 4096,
    |app| async move {
        // 5 KB of padding in a comment: nothing for validation, but all of it to parse.
        let padded = format!("{{ grids {{ totalCount }} }} #{}", "x".repeat(5000));
        let body = post(&app, &padded).await;
        assert_eq!(
            first_error(&body)["extensions"]["code"],
            "BAD_USER_INPUT",
            "{body}"
        );
        assert_eq!(first_error(&body)["extensions"]["field"], "query", "{body}");
        assert!(message(&body).contains("4096"), "{body}");
        assert!(body["data"].is_null(), "{body}");
        // Just under the limit it runs.
        let fits = format!("{{ grids {{ totalCount }} }} #{}", "x".repeat(3000));
        let body = post(&app, &fits).await;
        assert!(body.get("errors").is_none(), "{body}");
        assert_eq!(body["data"]["grids"]["totalCount"], 0);
    }
);
