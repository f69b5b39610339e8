//! No N+1: the number of SQL statements depends on the query's depth, not on page sizes.

use crate::db_test;
use crate::fixture;
use serde_json::json;

const NESTED: &str = r#"query($n: Int) { grids(first: $n) { nodes { code
    residents(first: $n) { totalCount nodes { name
        participations(first: $n) { totalCount nodes { status service { title organizer { name } } } } } } } } }"#;

// first: 100 on three levels is far over the default complexity limit and rate-limit bucket,
// which are not what this test is about.
db_test!(
    statement_count_does_not_depend_on_page_size,
    settings = |s: &mut gridgov::config::ServeSettings| {
        s.limits.max_complexity = usize::MAX;
        s.auth.rate_limit_points = u32::MAX;
    },
    |app| async move {
        fixture::load(&app.db).await;
        let mut counts = Vec::new();
        for n in [5, 100] {
            let body = app.gql(NESTED, json!({ "n": n })).await;
            assert!(body.get("errors").is_none(), "{body}");
            let grids = body["data"]["grids"]["nodes"].as_array().unwrap();
            let residents: i64 = grids
                .iter()
                .map(|g| g["residents"]["totalCount"].as_i64().unwrap())
                .sum();
            assert!(residents > 0, "first: {n} reaches no residents");
            counts.push(
                body["extensions"]["sqlStatements"]
                    .as_u64()
                    .expect("sqlStatements"),
            );
        }
        // grids, residents (+count), participations (+count), service, organizer.
        assert_eq!(
            counts[0], counts[1],
            "statements for first: 5 and first: 100 differ: {counts:?}"
        );
        assert_eq!(
            counts[1], 7,
            "not one statement per level (+1 per totalCount): {counts:?}"
        );

        let body = app
        .gql("{ grids(first: 100) { nodes { residents(includeDescendants: true, first: 100) { totalCount nodes { grid { code } tags } } } } }", json!({}))
        .await;
        assert!(body.get("errors").is_none(), "{body}");
        // grids, residents (+count), their grids, their tags.
        assert_eq!(
            body["extensions"]["sqlStatements"].as_u64().unwrap(),
            5,
            "{body}"
        );
    }
);
