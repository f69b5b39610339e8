//! Error codes and what errors must never reveal.

use crate::db_test;
use crate::fixture;
use serde_json::json;

db_test!(invalid_documents_are_bad_user_input, |app| async move {
    fixture::load(&app.db).await;
    for q in [
        "{ grids { nodes { nope } } }",
        "{ grids(",
        "{ services(filter: { status: [PLANNED] }) { totalCount } }",
    ] {
        let e = app.error(q, json!({})).await;
        assert_eq!(e["extensions"]["code"], "BAD_USER_INPUT", "{q}: {e}");
    }
});

db_test!(oversized_filters_are_bad_user_input, |app| async move {
    fixture::load(&app.db).await;
    let long = "网".repeat(101);
    let e = app
        .error(
            "query($s: String) { people(filter: { search: $s }) { totalCount } }",
            json!({ "s": long }),
        )
        .await;
    assert_eq!(e["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(e["extensions"]["field"], "filter.search");
    let statuses: Vec<&str> = std::iter::repeat_n("DRAFT", 21).collect();
    let e = app
        .error(
            "query($s: [ServiceStatus!]) { services(filter: { status: $s }) { totalCount } }",
            json!({ "s": statuses }),
        )
        .await;
    assert_eq!(e["extensions"]["field"], "filter.status");
});

db_test!(
    database_failure_is_internal_without_detail,
    |app| async move {
        fixture::load(&app.db).await;
        app.db.clone().close().await.unwrap();
        let body = app
            .gql("{ grids { totalCount nodes { code } } }", json!({}))
            .await;
        let e = &body["errors"][0];
        assert_eq!(e["extensions"]["code"], "UNAVAILABLE");
        let text = body.to_string().to_lowercase();
        for leak in ["select", "sqlx", "pool", "grid\"", "sqlite", "postgres"] {
            assert!(!text.contains(leak), "error leaks `{leak}`: {body}");
        }
    }
);
