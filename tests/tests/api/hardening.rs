//! The hardened endpoint: request limits, batches, body size, CSRF, GET mutations, content
//! negotiation and introspection.

use crate::db_test;
use crate::fixture;
use crate::harness::TestApp;
use gridgov::config::{Profile, ServeSettings};
use serde_json::{Value, json};

async fn code_of(app: &TestApp, query: &str) -> Option<String> {
    let body = app.gql(query, json!({})).await;
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .map(str::to_owned)
}

/// `grid { parent { parent … { code } } }` with `k` parents: depth k + 2.
fn parents(k: usize) -> String {
    format!(
        "{{ grid(code: \"370685\") {{ {}code{} }} }}",
        "parent { ".repeat(k),
        " }".repeat(k)
    )
}

db_test!(
    depth_limit,
    settings = |s: &mut ServeSettings| s.limits.max_depth = 5,
    |app| async move {
        assert_eq!(code_of(&app, &parents(3)).await, None, "depth 5 is allowed");
        assert_eq!(
            code_of(&app, &parents(4)).await.as_deref(),
            Some("BAD_USER_INPUT"),
            "depth 6 is refused"
        );
    }
);

db_test!(
    complexity_limit,
    settings = |s: &mut ServeSettings| s.limits.max_complexity = 21,
    |app| async move {
        fixture::load(&app.db).await;
        // A connection costs its page size times what each node selects: 10 × (nodes + code) + 1.
        assert_eq!(
            code_of(&app, "{ grids(first: 10) { nodes { code } } }").await,
            None
        );
        let body = app
            .gql("{ grids(first: 11) { nodes { code } } }", json!({}))
            .await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("complex"),
            "{body}"
        );
        assert_eq!(body["data"], Value::Null, "nothing ran");
    }
);

db_test!(
    alias_and_root_field_limits,
    settings = |s: &mut ServeSettings| {
        s.limits.max_aliases = 3;
        s.limits.max_root_fields = 3;
    },
    |app| async move {
        let aliases = |n: usize| {
            format!(
                "{{ grid(code: \"370685\") {{ {} }} }}",
                (0..n)
                    .map(|i| format!("a{i}: code"))
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        };
        assert_eq!(code_of(&app, &aliases(3)).await, None);
        assert_eq!(
            code_of(&app, &aliases(4)).await.as_deref(),
            Some("BAD_USER_INPUT")
        );
        let plain = |n: usize| {
            [
                "grids { totalCount }",
                "people { totalCount }",
                "services { totalCount }",
                "organizations { totalCount }",
            ][..n]
                .join(" ")
        };
        assert_eq!(code_of(&app, &format!("{{ {} }}", plain(3))).await, None);
        let body = app.gql(&format!("{{ {} }}", plain(4)), json!({})).await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("root fields"),
            "{body}"
        );
        // Fragments do not hide root fields.
        let q = format!("query {{ ...F }} fragment F on Query {{ {} }}", plain(4));
        assert_eq!(code_of(&app, &q).await.as_deref(), Some("BAD_USER_INPUT"));
    }
);

db_test!(
    recursion_limit,
    settings = |s: &mut ServeSettings| s.limits.max_recursive_depth = 6,
    |app| async move {
        let nested = |n: usize| {
            format!(
                "{{ grid(code: \"370685\") {{ {}code{} }} }}",
                "... on Grid { ".repeat(n),
                " }".repeat(n)
            )
        };
        assert_eq!(code_of(&app, &nested(3)).await, None);
        assert!(
            code_of(&app, &nested(8)).await.is_some(),
            "deeply nested fragments are refused"
        );
    }
);

db_test!(
    batches_are_capped,
    settings = |s: &mut ServeSettings| s.limits.max_batch = 2,
    |app| async move {
        let op = json!({ "query": "{ grids { totalCount } }" });
        let r = app
            .http
            .post(app.url("/graphql"))
            .json(&json!([op, op]))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body.as_array().unwrap().len(), 2);
        let r = app
            .http
            .post(app.url("/graphql"))
            .json(&json!([op, op, op]))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    }
);

db_test!(
    bodies_over_the_limit_are_refused,
    settings = |s: &mut ServeSettings| s.limits.body_limit = 2000,
    |app| async move {
        let small = json!({ "query": "{ grids { totalCount } }" });
        let r = app
            .http
            .post(app.url("/graphql"))
            .json(&small)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let big =
            json!({ "query": format!("{{ grids {{ totalCount }} }} # {}", "x".repeat(3000)) });
        let r = app
            .http
            .post(app.url("/graphql"))
            .json(&big)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 413);
    }
);

db_test!(
    requests_over_the_time_limit_are_cut,
    settings = |s: &mut ServeSettings| s.limits.request_timeout = 1,
    |app| async move {
        let blocker = crate::harness::hold_write_lock(&app.db).await;
        let started = std::time::Instant::now();
        let r = app
            .http
            .post(app.url("/graphql"))
            .bearer_auth(&app.admin_key)
            .json(&json!({ "query": "mutation { createOrganization(input: { name: \"x\", kind: GOVERNMENT }) { organization { id } } }" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 408);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "the timeout did not cut the request"
        );
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["errors"][0]["extensions"]["code"], "TIMEOUT", "{body}");
        blocker.rollback().await.unwrap();
        let data = app
            .data("{ organizations { totalCount } }", json!({}))
            .await;
        assert_eq!(
            data["organizations"]["totalCount"], 0,
            "the cut request wrote nothing"
        );
    }
);

db_test!(cross_site_posts_are_refused, |app| async move {
    let body = r#"{"query":"{ grids { totalCount } }"}"#;
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        None,
    ] {
        let mut req = app.http.post(app.url("/graphql")).body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 400, "{content_type:?}");
        let b: Value = r.json().await.unwrap();
        assert_eq!(b["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    }
    for header in ["x-gridgov-csrf", "apollo-require-preflight"] {
        let r = app
            .http
            .post(app.url("/graphql"))
            .header("content-type", "text/plain")
            .header(header, "1")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{header}");
    }
    let r = app
        .http
        .post(app.url("/graphql"))
        .header("content-type", "application/json; charset=utf-8")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
});

db_test!(mutations_over_get_are_refused, |app| async move {
    let q = "mutation { createOrganization(input: { name: \"x\", kind: GOVERNMENT }) { organization { id } } }";
    let r = app
        .http
        .get(app.url("/graphql"))
        .query(&[("query", q)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["allow"], "POST");
    let data = app
        .data("{ organizations { totalCount } }", json!({}))
        .await;
    assert_eq!(
        data["organizations"]["totalCount"], 0,
        "nothing was created"
    );
    let r = app
        .http
        .get(app.url("/graphql"))
        .query(&[("query", "{ organizations { totalCount } }")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
});

db_test!(
    content_negotiation_follows_graphql_over_http,
    |app| async move {
        let bad = json!({ "query": "{ grids(" });
        let r = app
            .http
            .post(app.url("/graphql"))
            .header("accept", "application/graphql-response+json")
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        assert_eq!(
            r.headers()["content-type"],
            "application/graphql-response+json"
        );
        let body: Value = r.json().await.unwrap();
        assert!(body.get("data").is_none(), "{body}");
        let r = app
            .http
            .post(app.url("/graphql"))
            .header("accept", "application/json")
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "application/json");
        let r = app
            .http
            .post(app.url("/graphql"))
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
    }
);

db_test!(
    introspection_is_on_in_development,
    settings = |s: &mut ServeSettings| s.limits.profile = Some(Profile::Development),
    |app| async move {
        // The introspection query of graphql-js 16 (what GraphiQL sends) passes the default limits,
        // the expansion limit included.
        let body = app
            .gql(include_str!("introspection.graphql"), json!({}))
            .await;
        assert!(body.get("errors").is_none(), "{body}");
        assert_eq!(body["data"]["__schema"]["queryType"]["name"], "Query");
        let data = app
            .data("{ __schema { queryType { name } } }", json!({}))
            .await;
        assert_eq!(data["__schema"]["queryType"]["name"], "Query");
        let body = app.gql("{ gridz { totalCount } }", json!({})).await;
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("Did you mean"),
            "{body}"
        );
    }
);

db_test!(
    production_profile_hides_the_schema,
    settings = |s: &mut ServeSettings| s.limits.profile = Some(Profile::Production),
    |app| async move {
        let body = app
            .gql("{ __schema { queryType { name } } }", json!({}))
            .await;
        assert_eq!(
            body["errors"][0]["extensions"]["reason"], "INTROSPECTION_DISABLED",
            "{body}"
        );
        assert_eq!(body["data"], Value::Null, "{body}");
        let body = app.gql("{ gridz { totalCount } }", json!({})).await;
        assert!(
            !body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("Did you mean"),
            "{body}"
        );
    }
);
