//! Persisted documents: Apollo's automatic persisted queries (miss, registration, every replica
//! knowing a registered document, eviction) and trusted documents pushed from a manifest
//! (`GRIDGOV_TRUSTED_DOCUMENTS=off|allow|require`, the API-key exemption).

use crate::db_test;
use crate::harness::TestApp;
use entity::persisted_document;
use gridgov::persisted::{TrustedDocuments, push_manifest, sha256_hex};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use std::net::SocketAddr;

const QUERY: &str = "{ organizations { totalCount } }";

fn apq(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

/// POSTs `body` to `addr` with `token`; returns the status, the Cache-Control header and the
/// JSON body.
async fn post_to(
    addr: SocketAddr,
    token: Option<&str>,
    body: Value,
) -> (reqwest::StatusCode, Option<String>, Value) {
    let mut req = reqwest::Client::new()
        .post(format!("http://{addr}/graphql"))
        .header("accept", "application/graphql-response+json")
        .json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let cache = resp
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (status, cache, resp.json().await.expect("json body"))
}

async fn post(app: &TestApp, token: Option<&str>, body: Value) -> Value {
    post_to(app.addr, token, body).await.2
}

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("expected an error: {body:#}"))
}

fn total(body: &Value) -> i64 {
    body["data"]["organizations"]["totalCount"]
        .as_i64()
        .unwrap_or_else(|| panic!("expected data: {body:#}"))
}

async fn registered(app: &TestApp) -> u64 {
    persisted_document::Entity::find()
        .filter(persisted_document::Column::Trusted.eq(false))
        .count(&app.db)
        .await
        .expect("count")
}

fn require(s: &mut gridgov::config::ServeSettings) {
    s.documents.trusted_documents = TrustedDocuments::Require;
}

fn require_exempting_keys(s: &mut gridgov::config::ServeSettings) {
    s.documents.trusted_documents = TrustedDocuments::Require;
    s.documents.trusted_documents_exempt_api_keys = true;
}

/// A Relay manifest (MD5-like ids that are not the SHA-256 of their text).
const RELAY_MANIFEST: &str = r#"{
  "0123456789abcdef0123456789abcdef": "query Orgs { organizations { totalCount } }",
  "fedcba9876543210fedcba9876543210": "query Grids { grids(first: 1) { totalCount } }"
}"#;

db_test!(
    an_unknown_hash_is_not_found_then_registered_and_known_to_every_replica,
    |app| async move {
        let hash = sha256_hex(QUERY);
        let key = app.admin_key.clone();

        // Arrange / Act: the hash alone, never seen.
        let (status, cache, miss) =
            post_to(app.addr, Some(&key), json!({ "extensions": apq(&hash) })).await;

        // Assert: Apollo's miss, which Apollo Client answers by sending the text; 200 even for
        // graphql-response+json (Apollo Client gives up on hashes after a 400) and not cacheable.
        assert_eq!(code(&miss), "PERSISTED_QUERY_NOT_FOUND", "{miss:#}");
        assert_eq!(miss["errors"][0]["message"], "PersistedQueryNotFound");
        assert_eq!(status, reqwest::StatusCode::OK);
        assert_eq!(cache.as_deref(), Some("private, no-cache, must-revalidate"));
        assert_eq!(registered(&app).await, 0);

        // The retry with the text runs and registers it.
        let retry = post(
            &app,
            Some(&key),
            json!({ "query": QUERY, "extensions": apq(&hash) }),
        )
        .await;
        assert_eq!(total(&retry), 0, "{retry:#}");
        assert_eq!(registered(&app).await, 1);

        // The hash alone now runs, here and on another replica over the same database.
        let hit = post(&app, Some(&key), json!({ "extensions": apq(&hash) })).await;
        assert_eq!(total(&hit), 0, "{hit:#}");
        let other = app.second_server().await;
        let (_, _, elsewhere) =
            post_to(other, Some(&key), json!({ "extensions": apq(&hash) })).await;
        assert_eq!(total(&elsewhere), 0, "{elsewhere:#}");
    }
);

db_test!(
    a_hash_that_is_not_the_text_s_sha256_is_refused,
    |app| async move {
        let key = app.admin_key.clone();
        let wrong = sha256_hex("{ something { else } }");

        let body = post(
            &app,
            Some(&key),
            json!({ "query": QUERY, "extensions": apq(&wrong) }),
        )
        .await;

        assert_eq!(code(&body), "BAD_USER_INPUT", "{body:#}");
        assert_eq!(
            body["errors"][0]["extensions"]["field"],
            "extensions.persistedQuery.sha256Hash"
        );
        assert!(body["data"].is_null(), "nothing ran: {body:#}");
        assert_eq!(registered(&app).await, 0);

        // A version other than 1 is refused too.
        let hash = sha256_hex(QUERY);
        let v2 = json!({ "persistedQuery": { "version": 2, "sha256Hash": hash } });
        let body = post(
            &app,
            Some(&key),
            json!({ "query": QUERY, "extensions": v2 }),
        )
        .await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body:#}");
        assert_eq!(
            body["errors"][0]["extensions"]["field"],
            "extensions.persistedQuery.version"
        );
    }
);

db_test!(
    hashed_queries_run_over_get_and_hashed_mutations_do_not,
    |app| async move {
        let key = app.admin_key.clone();
        let get = |extensions: Value| {
            let url = app.url("/graphql");
            let key = key.clone();
            async move {
                let resp = reqwest::Client::new()
                    .get(url)
                    .query(&[("extensions", extensions.to_string())])
                    .bearer_auth(key)
                    .send()
                    .await
                    .expect("request");
                let status = resp.status();
                (status, resp.json::<Value>().await.expect("json"))
            }
        };
        let hash = sha256_hex(QUERY);
        let (_, miss) = get(apq(&hash)).await;
        assert_eq!(code(&miss), "PERSISTED_QUERY_NOT_FOUND", "{miss:#}");
        post(
            &app,
            Some(&key),
            json!({ "query": QUERY, "extensions": apq(&hash) }),
        )
        .await;

        let (status, hit) = get(apq(&hash)).await;

        assert_eq!(status, reqwest::StatusCode::OK);
        assert_eq!(total(&hit), 0, "{hit:#}");

        // A registered mutation is still refused over GET.
        let mutation = "mutation Typename { __typename }";
        let mutation_hash = sha256_hex(mutation);
        let ran = post(
            &app,
            Some(&key),
            json!({ "query": mutation, "extensions": apq(&mutation_hash) }),
        )
        .await;
        assert_eq!(ran["data"]["__typename"], "Mutation", "{ran:#}");
        let (status, _) = get(apq(&mutation_hash)).await;
        assert_eq!(status, reqwest::StatusCode::METHOD_NOT_ALLOWED);
    }
);

db_test!(
    require_mode_runs_only_pushed_documents,
    settings = require,
    |app| async move {
        let summary = push_manifest(&app.db, RELAY_MANIFEST).await.expect("push");
        assert_eq!(
            (summary.inserted, summary.updated, summary.unchanged),
            (2, 0, 0)
        );
        let key = app.admin_key.clone();

        // Free text, an unknown hash and an unknown hash with its text are all refused, and
        // nothing is registered.
        let free = post(&app, Some(&key), json!({ "query": QUERY })).await;
        assert_eq!(code(&free), "PERSISTED_QUERY_NOT_IN_LIST", "{free:#}");
        assert!(free["data"].is_null());
        let hash = sha256_hex(QUERY);
        let unknown = post(&app, Some(&key), json!({ "extensions": apq(&hash) })).await;
        assert_eq!(code(&unknown), "PERSISTED_QUERY_NOT_IN_LIST", "{unknown:#}");
        let register = post(
            &app,
            Some(&key),
            json!({ "query": QUERY, "extensions": apq(&hash) }),
        )
        .await;
        assert_eq!(
            code(&register),
            "PERSISTED_QUERY_NOT_IN_LIST",
            "{register:#}"
        );
        assert_eq!(registered(&app).await, 0);

        // A pushed document runs by Relay's doc_id (with `query: null`), by documentId and
        // by Apollo's extension, for any caller.
        let relay = post(
            &app,
            None,
            json!({ "doc_id": "0123456789abcdef0123456789abcdef", "query": null, "variables": {} }),
        )
        .await;
        assert_eq!(total(&relay), 0, "{relay:#}");
        let over_http = post(
            &app,
            Some(&key),
            json!({ "documentId": "fedcba9876543210fedcba9876543210" }),
        )
        .await;
        assert_eq!(over_http["data"]["grids"]["totalCount"], 0, "{over_http:#}");
        let apollo = post(
            &app,
            Some(&key),
            json!({ "extensions": apq("0123456789abcdef0123456789abcdef") }),
        )
        .await;
        assert_eq!(total(&apollo), 0, "{apollo:#}");

        // An API key is not exempt unless the setting says so.
        let unknown_id = post(&app, Some(&key), json!({ "documentId": "nope" })).await;
        assert_eq!(
            code(&unknown_id),
            "PERSISTED_QUERY_NOT_IN_LIST",
            "{unknown_id:#}"
        );
    }
);

db_test!(
    require_mode_can_exempt_api_keys,
    settings = require_exempting_keys,
    |app| async move {
        let key = app.admin_key.clone();

        let partner = post(&app, Some(&key), json!({ "query": QUERY })).await;
        let anonymous = post(&app, None, json!({ "query": QUERY })).await;

        assert_eq!(total(&partner), 0, "{partner:#}");
        assert_eq!(
            code(&anonymous),
            "PERSISTED_QUERY_NOT_IN_LIST",
            "{anonymous:#}"
        );
        // A document an exempt key registers does not become trusted for others.
        let hash = sha256_hex(QUERY);
        let registered_by_key = post(
            &app,
            Some(&key),
            json!({ "query": QUERY, "extensions": apq(&hash) }),
        )
        .await;
        assert_eq!(total(&registered_by_key), 0, "{registered_by_key:#}");
        assert_eq!(registered(&app).await, 1);
        let by_hash = post(&app, None, json!({ "extensions": apq(&hash) })).await;
        assert_eq!(code(&by_hash), "PERSISTED_QUERY_NOT_IN_LIST", "{by_hash:#}");
    }
);

db_test!(
    allow_mode_runs_free_text_and_pushed_ids,
    settings = |s| {
        s.documents.trusted_documents = TrustedDocuments::Allow;
    },
    |app| async move {
        push_manifest(&app.db, RELAY_MANIFEST).await.expect("push");

        let free = post(&app, None, json!({ "query": QUERY })).await;
        let pushed = post(
            &app,
            None,
            json!({ "doc_id": "0123456789abcdef0123456789abcdef" }),
        )
        .await;

        assert_eq!(total(&free), 0, "{free:#}");
        assert_eq!(total(&pushed), 0, "{pushed:#}");
        // GraphQL over HTTP by GET, with the id in the query string.
        let by_get: Value = app
            .http
            .get(app.url("/graphql"))
            .query(&[("documentId", "0123456789abcdef0123456789abcdef")])
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json");
        assert_eq!(total(&by_get), 0, "{by_get:#}");
    }
);

db_test!(
    off_mode_ignores_pushed_ids_unless_they_are_the_text_s_hash,
    |app| async move {
        let body = "query Orgs { organizations { totalCount } }";
        let manifest = json!({
            "0123456789abcdef0123456789abcdef": body,
            sha256_hex(body): body,
        });
        push_manifest(&app.db, &manifest.to_string())
            .await
            .expect("push");

        let opaque = post(
            &app,
            None,
            json!({ "doc_id": "0123456789abcdef0123456789abcdef" }),
        )
        .await;
        let hashed = post(&app, None, json!({ "extensions": apq(&sha256_hex(body)) })).await;

        assert_eq!(code(&opaque), "PERSISTED_QUERY_NOT_FOUND", "{opaque:#}");
        assert_eq!(total(&hashed), 0, "{hashed:#}");
    }
);

db_test!(
    without_apq_a_hash_is_not_supported_and_nothing_is_registered,
    settings = |s| {
        s.documents.apq = false;
    },
    |app| async move {
        let hash = sha256_hex(QUERY);

        let alone = post(&app, None, json!({ "extensions": apq(&hash) })).await;
        let with_text = post(
            &app,
            None,
            json!({ "query": QUERY, "extensions": apq(&hash) }),
        )
        .await;

        assert_eq!(code(&alone), "PERSISTED_QUERY_NOT_SUPPORTED", "{alone:#}");
        assert_eq!(total(&with_text), 0, "{with_text:#}");
        assert_eq!(registered(&app).await, 0);
    }
);

db_test!(both_manifest_formats_push_idempotently, |app| async move {
    // Relay / GraphQL Code Generator: a flat object.
    let first = push_manifest(&app.db, RELAY_MANIFEST).await.expect("flat");
    let again = push_manifest(&app.db, RELAY_MANIFEST)
        .await
        .expect("flat again");
    assert_eq!((first.inserted, first.unchanged), (2, 0));
    assert_eq!((again.inserted, again.updated, again.unchanged), (0, 0, 2));

    // Apollo: one id of the flat manifest with a new body, and a new one.
    let apollo = json!({
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [
            { "id": "0123456789abcdef0123456789abcdef", "name": "Orgs", "type": "query",
              "body": "query Orgs { organizations { nodes { id } } }" },
            { "id": "apollo-1", "name": "Typename", "type": "query", "body": "query Typename { __typename }" }
        ]
    });
    let s = push_manifest(&app.db, &apollo.to_string())
        .await
        .expect("apollo");
    assert_eq!((s.inserted, s.updated, s.unchanged), (1, 1, 0));
    let row = persisted_document::Entity::find_by_id("0123456789abcdef0123456789abcdef".to_owned())
        .one(&app.db)
        .await
        .expect("read")
        .expect("row");
    assert_eq!(row.operation_name.as_deref(), Some("Orgs"));
    assert!(row.body.contains("nodes"), "updated body: {}", row.body);

    // A document that does not parse refuses the whole manifest.
    let broken = json!({ "good": "{ __typename }", "bad": "{ unclosed" });
    let err = push_manifest(&app.db, &broken.to_string())
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("\"bad\""), "{err}");
    let good = persisted_document::Entity::find_by_id("good".to_owned())
        .one(&app.db)
        .await
        .expect("read");
    assert!(good.is_none(), "nothing of a refused manifest is stored");
    // Apollo manifests of another version are refused.
    let v2 = json!({ "format": "apollo-persisted-query-manifest", "version": 2, "operations": [] });
    assert!(push_manifest(&app.db, &v2.to_string()).await.is_err());
});

db_test!(
    registered_documents_are_evicted_beyond_capacity_but_pushed_ones_stay,
    settings = |s| {
        s.documents.apq_capacity = 2;
    },
    |app| async move {
        use sea_orm::{ActiveModelTrait, ActiveValue};
        push_manifest(&app.db, RELAY_MANIFEST).await.expect("push");
        let texts = [
            "query A { organizations { totalCount } }",
            "query B { organizations { totalCount } }",
            "query C { organizations { totalCount } }",
        ];
        for text in texts {
            let body = post(
                &app,
                None,
                json!({ "query": text, "extensions": apq(&sha256_hex(text)) }),
            )
            .await;
            assert_eq!(total(&body), 0, "{body:#}");
        }

        // The least recently used registered document went; the pushed ones stayed.
        assert_eq!(registered(&app).await, 2);
        let other = app
            .second_server_with(|s, _| s.documents.trusted_documents = TrustedDocuments::Allow)
            .await;
        let (_, _, first) = post_to(
            other,
            None,
            json!({ "extensions": apq(&sha256_hex(texts[0])) }),
        )
        .await;
        assert_eq!(code(&first), "PERSISTED_QUERY_NOT_FOUND", "{first:#}");
        let (_, _, last) = post_to(
            other,
            None,
            json!({ "extensions": apq(&sha256_hex(texts[2])) }),
        )
        .await;
        assert_eq!(total(&last), 0, "{last:#}");
        let (_, _, pushed) = post_to(
            other,
            None,
            json!({ "doc_id": "0123456789abcdef0123456789abcdef" }),
        )
        .await;
        assert_eq!(total(&pushed), 0, "{pushed:#}");

        // A registered document unused for longer than the retention goes at the next
        // registration.
        let stale = persisted_document::ActiveModel {
            id: ActiveValue::Unchanged(sha256_hex(texts[1])),
            last_used_at: ActiveValue::Set(chrono::Utc::now() - chrono::Duration::days(31)),
            ..Default::default()
        };
        stale.update(&app.db).await.expect("age a document");
        let text = "query D { organizations { totalCount } }";
        post(
            &app,
            None,
            json!({ "query": text, "extensions": apq(&sha256_hex(text)) }),
        )
        .await;
        let left: Vec<String> = persisted_document::Entity::find()
            .filter(persisted_document::Column::Trusted.eq(false))
            .all(&app.db)
            .await
            .expect("rows")
            .into_iter()
            .map(|d| d.id)
            .collect();
        assert!(
            !left.contains(&sha256_hex(texts[1])),
            "stale document kept: {left:?}"
        );
        assert!(
            left.contains(&sha256_hex(text)) && left.contains(&sha256_hex(texts[2])),
            "{left:?}"
        );
    }
);

#[tokio::test]
async fn gridgov_documents_push_reads_a_manifest_file() {
    use gridgov::cli::{Cli, Command, DocumentsAction};
    let dir = tempfile::tempdir().expect("temp dir");
    let manifest = dir.path().join("persisted-documents.json");
    std::fs::write(&manifest, RELAY_MANIFEST).expect("write manifest");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("cli.db").display());
    let cli = |action: DocumentsAction| Cli {
        database: gridgov::config::DatabaseSettings {
            database_url: url.clone(),
            db_max_connections: 2,
            db_acquire_timeout: 5,
        },
        db_tuning: gridgov::config::DatabaseTuning::default(),
        telemetry: gridgov::config::TelemetrySettings {
            log_format: gridgov::config::LogFormat::Pretty,
            log: "warn".into(),
        },
        command: Command::Documents { action },
    };

    gridgov::cli::run(cli(DocumentsAction::Push {
        file: manifest.clone(),
    }))
    .await
    .expect("push");
    gridgov::cli::run(cli(DocumentsAction::List))
        .await
        .expect("list");

    let db = sea_orm::Database::connect(&url).await.expect("connect");
    let trusted = persisted_document::Entity::find()
        .filter(persisted_document::Column::Trusted.eq(true))
        .count(&db)
        .await
        .expect("count");
    assert_eq!(trusted, 2);
    let missing = dir.path().join("absent.json");
    assert!(
        gridgov::cli::run(cli(DocumentsAction::Push { file: missing }))
            .await
            .is_err()
    );
}

db_test!(
    require_mode_holds_over_websocket,
    settings = require,
    |app| async move {
        let mut sub = crate::subscriptions::Sub::start(
            app.addr,
            None,
            "subscription { serviceChanged { kind } }",
            json!({}),
        )
        .await;

        let line = sub.next().await;

        let errors = line["next"]["errors"]
            .as_array()
            .or(line["error"].as_array())
            .unwrap_or_else(|| panic!("expected errors: {line}"))
            .clone();
        assert_eq!(
            errors[0]["extensions"]["code"], "PERSISTED_QUERY_NOT_IN_LIST",
            "{line}"
        );
    }
);
