//! The conventions GraphQL clients expect at the edges: CORS, content negotiation with
//! q-values, GraphQL bodies on every error status, WWW-Authenticate, compression, rate-limit
//! headers and names, client addresses behind proxies, `viewer`, the SDL endpoint and the
//! graphql-ws close codes.

use crate::db_test;
use crate::fixture;
use crate::harness::TestApp;
use futures_util::{SinkExt, StreamExt};
use gridgov::auth::Role;
use gridgov::config::ServeSettings;
use serde_json::{Value, json};
use std::io::Write;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// Apollo Client 4's default `Accept`.
const APOLLO_ACCEPT: &str = "application/graphql-response+json,application/json;q=0.9";
const PORTAL: &str = "https://portal.example.org";

db_test!(
    preflights_are_answered_for_configured_origins_only,
    settings = |s: &mut ServeSettings| s.cors_origins = vec![PORTAL.to_owned()],
    |app| async move {
        let preflight = |origin: &'static str| {
            app.http
                .request(reqwest::Method::OPTIONS, app.url("/graphql"))
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .header(
                    "access-control-request-headers",
                    "authorization,content-type,apollo-require-preflight,traceparent",
                )
                .send()
        };
        let r = preflight(PORTAL).await.unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        let h = r.headers();
        assert_eq!(h["access-control-allow-origin"], PORTAL);
        assert_eq!(h["access-control-allow-credentials"], "true");
        let allowed = h["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .to_lowercase();
        for wanted in [
            "authorization",
            "content-type",
            "x-gridgov-csrf",
            "apollo-require-preflight",
            "traceparent",
            "x-request-id",
        ] {
            assert!(allowed.contains(wanted), "{wanted} missing from {allowed}");
        }
        assert!(
            h["access-control-allow-methods"]
                .to_str()
                .unwrap()
                .contains("POST")
        );
        let r = preflight("https://evil.example.com").await.unwrap();
        assert!(r.headers().get("access-control-allow-origin").is_none());
        // The actual request carries the origin back, and exposes the headers clients read.
        let r = app
            .http
            .post(app.url("/graphql"))
            .header("origin", PORTAL)
            .json(&json!({ "query": "{ viewer { role } }" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["access-control-allow-origin"], PORTAL);
        let exposed = r.headers()["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .to_lowercase();
        assert!(exposed.contains("ratelimit") && exposed.contains("x-request-id"));
    }
);

db_test!(
    without_configured_origins_there_is_no_cors,
    |app| async move {
        let r = app
            .http
            .post(app.url("/graphql"))
            .header("origin", PORTAL)
            .json(&json!({ "query": "{ viewer { role } }" }))
            .send()
            .await
            .unwrap();
        assert!(r.headers().get("access-control-allow-origin").is_none());
    }
);

db_test!(
    apollo_clients_get_graphql_bodies_for_401_and_429,
    settings = |s: &mut ServeSettings| {
        s.auth.rate_limit_points = 10;
        s.auth.rate_limit_restore = 1;
    },
    |app| async move {
        let r = app
            .http
            .post(app.url("/graphql"))
            .header("accept", APOLLO_ACCEPT)
            .bearer_auth("gg_not-a-key")
            .json(&json!({ "query": "{ viewer { role } }" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(
            r.headers()["content-type"],
            "application/graphql-response+json"
        );
        let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
        assert!(
            challenge.starts_with("Bearer ") && challenge.contains("invalid_token"),
            "{challenge}"
        );
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");

        // 9 points: the second call must wait at least a whole second, never 0.
        let q = json!({ "query": "{ grids(first: 4) { nodes { name } } }" });
        let send = || {
            app.http
                .post(app.url("/graphql"))
                .header("accept", APOLLO_ACCEPT)
                .json(&q)
                .send()
        };
        assert_eq!(send().await.unwrap().status(), 200);
        let r = send().await.unwrap();
        assert_eq!(r.status(), 429);
        assert_eq!(
            r.headers()["content-type"],
            "application/graphql-response+json"
        );
        let retry: u64 = r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(retry >= 1, "{retry}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["errors"][0]["extensions"]["code"], "RATE_LIMITED");
    }
);

db_test!(
    size_and_time_refusals_are_graphql_bodies,
    settings = |s: &mut ServeSettings| s.limits.body_limit = 2048,
    |app| async move {
        let big = json!({ "query": format!("{{ viewer {{ role }} }} # {}", "x".repeat(3000)) });
        let r = app
            .http
            .post(app.url("/graphql"))
            .header("accept", APOLLO_ACCEPT)
            .json(&big)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 413);
        assert_eq!(
            r.headers()["content-type"],
            "application/graphql-response+json"
        );
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["errors"][0]["extensions"]["code"], "PAYLOAD_TOO_LARGE");
        // A method the route does not take is a GraphQL body too.
        let r = app
            .http
            .put(app.url("/graphql"))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 405);
        let body: Value = r.json().await.unwrap();
        assert_eq!(
            body["errors"][0]["extensions"]["code"],
            "METHOD_NOT_ALLOWED"
        );
    }
);

db_test!(
    responses_are_compressed_and_gzip_bodies_read,
    |app| async move {
        fixture::load(&app.db).await;
        let q = json!({ "query": "{ grids(first: 50) { nodes { code name } } }" });
        for encoding in ["gzip", "br", "zstd"] {
            let r = app
                .http
                .post(app.url("/graphql"))
                .header("accept-encoding", encoding)
                .json(&q)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            assert_eq!(r.headers()["content-encoding"], encoding);
        }
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(q.to_string().as_bytes()).unwrap();
        let r = app
            .http
            .post(app.url("/graphql"))
            .header("content-type", "application/json")
            .header("content-encoding", "gzip")
            .body(gz.finish().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        let nodes = body["data"]["grids"]["nodes"].as_array().unwrap();
        assert!(!nodes.is_empty(), "{body}");
    }
);

db_test!(
    every_response_carries_the_rate_limit_headers_and_shopify_names,
    settings = |s: &mut ServeSettings| {
        s.auth.rate_limit_points = 1000;
        s.auth.rate_limit_restore = 100;
    },
    |app| async move {
        let r = app
            .http
            .post(app.url("/graphql"))
            .bearer_auth(&app.admin_key)
            .json(&json!({ "query": "{ viewer { role rateLimit { maximumAvailable currentlyAvailable restoreRate } } }" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["ratelimit-policy"], "\"points\";q=1000;w=10");
        let header = r.headers()["ratelimit"].to_str().unwrap().to_owned();
        let body: Value = r.json().await.unwrap();
        let cost = &body["extensions"]["cost"];
        let requested = cost["requestedQueryCost"].as_u64().unwrap();
        assert!(requested > 0);
        let left = cost["throttleStatus"]["currentlyAvailable"]
            .as_u64()
            .unwrap();
        assert_eq!(left, 1000 - requested);
        assert_eq!(header, format!("\"points\";r={left};t=1"));
        let viewer = &body["data"]["viewer"];
        assert_eq!(viewer["role"], "ADMIN");
        assert_eq!(
            viewer["rateLimit"],
            json!({ "maximumAvailable": 1000, "currentlyAvailable": left, "restoreRate": 100 })
        );
        // A refused credential still gets the headers of its (anonymous) bucket.
        let r = app
            .http
            .post(app.url("/graphql"))
            .bearer_auth("gg_nope")
            .json(&json!({ "query": "{ viewer { role } }" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        assert!(r.headers().get("ratelimit").is_some());
    }
);

/// Whether an anonymous caller sending `x-forwarded-for: client` may run a 9-point query.
async fn anonymous_call(app: &TestApp, client: &str) -> u16 {
    app.http
        .post(app.url("/graphql"))
        .header("x-forwarded-for", client)
        .json(&json!({ "query": "{ grids(first: 4) { nodes { name } } }" }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

db_test!(
    anonymous_callers_behind_a_trusted_proxy_have_buckets_of_their_own,
    settings = |s: &mut ServeSettings| {
        s.auth.rate_limit_points = 10;
        s.auth.rate_limit_restore = 1;
        s.trusted_proxies = vec![gridgov::config::parse_proxy("127.0.0.1").unwrap()];
    },
    |app| async move {
        assert_eq!(anonymous_call(&app, "198.51.100.1").await, 200);
        assert_eq!(anonymous_call(&app, "198.51.100.1").await, 429);
        assert_eq!(
            anonymous_call(&app, "198.51.100.2").await,
            200,
            "another client behind the proxy"
        );
        // The client cannot choose its address by prepending one: the proxy's entry counts.
        assert_eq!(anonymous_call(&app, "203.0.113.9, 198.51.100.1").await, 429);
    }
);

db_test!(
    forwarded_addresses_from_untrusted_peers_are_ignored,
    settings = |s: &mut ServeSettings| {
        s.auth.rate_limit_points = 10;
        s.auth.rate_limit_restore = 1;
    },
    |app| async move {
        assert_eq!(anonymous_call(&app, "198.51.100.1").await, 200);
        assert_eq!(
            anonymous_call(&app, "198.51.100.2").await,
            429,
            "one bucket: the peer's"
        );
    }
);

db_test!(viewer_describes_any_caller, |app| async move {
    let f = fixture::load(&app.db).await;
    let body = app
        .gql_as(
            None,
            "{ viewer { role scopes grids { code } organization { id } rateLimit { maximumAvailable } } }",
            json!({}),
        )
        .await;
    let v = &body["data"]["viewer"];
    assert_eq!(v["role"], "PUBLIC", "{body}");
    assert_eq!(v["scopes"], json!([]));
    assert_eq!(v["grids"], json!([]));
    assert_eq!(v["organization"], Value::Null);
    assert_eq!(v["rateLimit"]["maximumAvailable"], 250_000);
    let org = f.org("vol");
    let key = app
        .key(Role::VolunteerOrg, &[], Some(f.orgs["vol"]), &[])
        .await;
    let body = app
        .gql_as(
            Some(&key),
            "{ viewer { role organization { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["viewer"]["role"], "VOLUNTEER_ORG", "{body}");
    assert_eq!(body["data"]["viewer"]["organization"]["id"], org);
    let key = app
        .key(Role::GridManager, &["370685001001"], None, &[])
        .await;
    let body = app
        .gql_as(Some(&key), "{ viewer { role grids { code } } }", json!({}))
        .await;
    assert_eq!(
        body["data"]["viewer"],
        json!({ "role": "GRID_MANAGER", "grids": [{ "code": "370685001001" }] })
    );
});

db_test!(
    the_sdl_is_served_to_authenticated_callers_with_introspection_off,
    |app| async move {
        let r = app
            .http
            .get(app.url("/schema.graphql"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        assert!(
            r.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Bearer")
        );
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
        let r = app
            .http
            .get(app.url("/schema.graphql"))
            .bearer_auth(&app.admin_key)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let etag = r.headers()["etag"].to_str().unwrap().to_owned();
        assert_eq!(r.text().await.unwrap(), gridgov::schema::sdl());
        let r = app
            .http
            .get(app.url("/schema.graphql"))
            .bearer_auth(&app.admin_key)
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 304);
        // Introspection stays off meanwhile.
        let body = app
            .gql("{ __schema { queryType { name } } }", json!({}))
            .await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    }
);

/// A raw graphql-transport-ws connection: sends `frames` in order and returns the close
/// code the server ends with.
async fn close_code(app: &TestApp, frames: &[Value]) -> Option<u16> {
    let mut request = format!("ws://{}/graphql/ws", app.addr)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    for frame in frames {
        let text = match frame {
            Value::String(raw) => raw.clone(),
            other => other.to_string(),
        };
        ws.send(Message::Text(text.into())).await.unwrap();
    }
    let wait = std::time::Duration::from_secs(15);
    loop {
        match tokio::time::timeout(wait, ws.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|f| u16::from(f.code)),
            Ok(Some(Ok(_))) => continue,
            _ => return None,
        }
    }
}

db_test!(
    websocket_failures_close_with_graphql_ws_codes,
    |app| async move {
        let init = |token: &str| json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } });
        let subscribe = json!({ "type": "subscribe", "id": "1", "payload": { "query": "subscription { serviceChanged { kind } }" } });
        assert_eq!(close_code(&app, &[init("gg_not-a-key")]).await, Some(4401));
        assert_eq!(
            close_code(&app, std::slice::from_ref(&subscribe)).await,
            Some(4401),
            "subscribe before connection_ack"
        );
        assert_eq!(close_code(&app, &[json!("{not json")]).await, Some(4400));
        let good = init(&app.admin_key);
        assert_eq!(
            close_code(&app, &[good.clone(), good]).await,
            Some(4429),
            "a second connection_init"
        );
    }
);

db_test!(
    client_facing_caps_are_settings,
    settings = |s: &mut ServeSettings| {
        s.limits.max_page_size = 5;
        s.limits.max_nodes = 2;
        s.limits.max_search_chars = 3;
        s.limits.max_changes = 7;
    },
    |app| async move {
        let f = fixture::load(&app.db).await;
        let body = app
            .gql("{ grids(first: 5) { nodes { code } } }", json!({}))
            .await;
        assert_eq!(
            body["data"]["grids"]["nodes"].as_array().map(Vec::len),
            Some(5),
            "{body}"
        );
        let e = app
            .error("{ grids(first: 6) { nodes { code } } }", json!({}))
            .await;
        assert_eq!(e["extensions"]["code"], "BAD_USER_INPUT");
        assert_eq!(e["extensions"]["field"], "first");
        assert!(e["message"].as_str().unwrap().contains("at most 5"), "{e}");
        let ids = json!({ "ids": [f.grid("D"), f.grid("S"), f.grid("C1")] });
        let e = app
            .error("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", ids)
            .await;
        assert_eq!(e["extensions"]["field"], "ids");
        let e = app
            .error(
                "{ grids(filter: { search: \"abcd\" }) { totalCount } }",
                json!({}),
            )
            .await;
        assert_eq!(e["extensions"]["code"], "BAD_USER_INPUT", "{e}");
        let e = app
            .error(
                "{ changes(first: 8) { pageInfo { hasNextPage } } }",
                json!({}),
            )
            .await;
        assert_eq!(e["extensions"]["field"], "first", "{e}");
    }
);
