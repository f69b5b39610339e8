//! Keyset pagination: both directions, every ordering, limits and stability under inserts.

use crate::db_test;
use crate::fixture;
use crate::harness::TestApp;
use chrono::{TimeZone, Utc};
use entity::person;
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel};
use serde_json::{Value, json};
use std::collections::HashSet;

/// Walks a root connection page by page; returns the nodes in order and the reported total.
async fn walk(
    app: &TestApp,
    field: &str,
    order_type: &str,
    order: Value,
    select: &str,
    size: i64,
    backward: bool,
) -> (Vec<Value>, i64) {
    let (size_arg, cursor_arg, cursor_field, more) = if backward {
        ("last", "before", "startCursor", "hasPreviousPage")
    } else {
        ("first", "after", "endCursor", "hasNextPage")
    };
    let q = format!(
        "query($o: {order_type}, $n: Int, $c: String) {{ {field}(orderBy: $o, {size_arg}: $n, {cursor_arg}: $c) {{
            totalCount pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
            edges {{ cursor node {{ {select} }} }} }} }}"
    );
    let (mut nodes, mut cursor, mut pages) = (Vec::new(), Value::Null, 0);
    let total = loop {
        let data = app
            .data(&q, json!({ "o": order, "n": size, "c": cursor }))
            .await;
        let conn = &data[field];
        let total = conn["totalCount"].as_i64().unwrap();
        let mut page: Vec<Value> = conn["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"].clone())
            .collect();
        let info = &conn["pageInfo"];
        if let Some(first) = conn["edges"].as_array().unwrap().first() {
            assert_eq!(info["startCursor"], first["cursor"]);
        }
        assert!(page.len() as i64 <= size);
        if backward {
            page.extend(nodes);
            nodes = page;
        } else {
            nodes.extend(page);
        }
        pages += 1;
        assert!(pages <= 200, "pagination does not terminate");
        if !info[more].as_bool().unwrap() {
            break total;
        }
        cursor = info[cursor_field].clone();
    };
    (nodes, total)
}

fn ids(nodes: &[Value]) -> Vec<String> {
    nodes
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Checks one ordering: small pages forward and backward both give the single-page sequence,
/// every node once, as many as `totalCount`; DESC is exactly the reverse of ASC.
async fn check_ordering(
    app: &TestApp,
    field: &str,
    order_type: &str,
    order_field: &str,
    key: &str,
) {
    let asc = json!({ "field": order_field, "direction": "ASC" });
    let desc = json!({ "field": order_field, "direction": "DESC" });
    let select = format!("id {key}");
    let (all, total) = walk(app, field, order_type, asc.clone(), &select, 100, false).await;
    assert!(total >= 3, "{field}: fixture too small to test ordering");
    assert_eq!(all.len() as i64, total, "{field} {order_field}");
    let distinct: HashSet<String> = ids(&all).into_iter().collect();
    assert_eq!(
        distinct.len() as i64,
        total,
        "{field} {order_field}: duplicates"
    );
    let (forward, _) = walk(app, field, order_type, asc.clone(), &select, 2, false).await;
    assert_eq!(
        ids(&forward),
        ids(&all),
        "{field} {order_field}: forward pages"
    );
    let (backward, _) = walk(app, field, order_type, asc, &select, 2, true).await;
    assert_eq!(
        ids(&backward),
        ids(&all),
        "{field} {order_field}: backward pages"
    );
    let (reversed, _) = walk(app, field, order_type, desc, &select, 3, false).await;
    let mut expect = ids(&all);
    expect.reverse();
    assert_eq!(
        ids(&reversed),
        expect,
        "{field} {order_field}: DESC is not the reverse of ASC"
    );
    // Timestamps also sort the same way as strings in Rust; text follows the database's
    // collation, and LEVEL the hierarchy (tested on its own).
    if !matches!(order_field, "NAME" | "TITLE" | "CODE" | "LEVEL") {
        let keys: Vec<String> = all.iter().map(|n| n[key].to_string()).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "{field} {order_field}: not sorted");
    }
}

db_test!(
    every_ordering_pages_consistently_both_ways,
    |app| async move {
        fixture::load(&app.db).await;
        for (f, key) in [
            ("CODE", "code"),
            ("NAME", "name"),
            ("LEVEL", "level"),
            ("CREATED_AT", "createdAt"),
        ] {
            check_ordering(&app, "grids", "GridOrder", f, key).await;
        }
        for (f, key) in [("NAME", "name"), ("CREATED_AT", "createdAt")] {
            check_ordering(&app, "people", "PersonOrder", f, key).await;
            check_ordering(&app, "organizations", "OrganizationOrder", f, key).await;
        }
        for (f, key) in [
            ("STARTS_AT", "startsAt"),
            ("TITLE", "title"),
            ("CREATED_AT", "createdAt"),
        ] {
            check_ordering(&app, "services", "ServiceOrder", f, key).await;
        }
        for (f, key) in [
            ("REGISTERED_AT", "registeredAt"),
            ("CREATED_AT", "createdAt"),
        ] {
            check_ordering(&app, "participations", "ParticipationOrder", f, key).await;
        }
    }
);

db_test!(level_orders_by_hierarchy_not_alphabet, |app| async move {
    fixture::load(&app.db).await;
    let data = app
        .data(
            "{ grids(orderBy: { field: LEVEL, direction: ASC }) { nodes { level } } }",
            json!({}),
        )
        .await;
    let levels: Vec<&str> = data["grids"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["level"].as_str().unwrap())
        .collect();
    assert_eq!(
        levels,
        [
            "DISTRICT",
            "STREET",
            "COMMUNITY",
            "COMMUNITY",
            "GRID",
            "GRID",
            "GRID"
        ]
    );
});

db_test!(pages_are_stable_under_inserts, |app| async move {
    fixture::load(&app.db).await;
    let q = "query($c: String) { people(first: 3, after: $c, orderBy: { field: CREATED_AT, direction: ASC }) { nodes { id } pageInfo { endCursor } } }";
    let all = app.data("{ people(first: 100, orderBy: { field: CREATED_AT, direction: ASC }) { nodes { id } } }", json!({})).await;
    let all = crate::harness::ids(&all["people"]);
    let first = app.data(q, json!({ "c": null })).await;
    assert_eq!(crate::harness::ids(&first["people"]), all[..3]);
    // A row inserted before the cursor must neither shift nor repeat the next page.
    let early = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    let row = person::Model {
        id: uuid::Uuid::now_v7(),
        name: "新居民".into(),
        gender: None,
        birth_date: None,
        phone: None,
        id_number: None,
        grid_id: entity::grid::Entity::find()
            .one(&app.db)
            .await
            .unwrap()
            .unwrap()
            .id,
        address: None,
        erased_at: None,
        created_at: early,
        updated_at: early,
        version: 1,
    };
    person::Entity::insert(row.into_active_model().reset_all())
        .exec(&app.db)
        .await
        .unwrap();
    let second = app
        .data(q, json!({ "c": first["people"]["pageInfo"]["endCursor"] }))
        .await;
    assert_eq!(crate::harness::ids(&second["people"]), all[3..6]);
});

db_test!(page_size_defaults_and_limits, |app| async move {
    let f = fixture::load(&app.db).await;
    let grid = f.grids["G21"];
    for i in 0..25 {
        let at = Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).unwrap();
        let row = person::Model {
            id: uuid::Uuid::now_v7(),
            name: format!("居民{i:02}"),
            gender: None,
            birth_date: None,
            phone: None,
            id_number: None,
            grid_id: grid,
            address: None,
            erased_at: None,
            created_at: at,
            updated_at: at,
            version: 1,
        };
        person::Entity::insert(row.into_active_model().reset_all())
            .exec(&app.db)
            .await
            .unwrap();
    }
    let data = app
        .data(
            "{ people { totalCount nodes { id } pageInfo { hasNextPage } } }",
            json!({}),
        )
        .await;
    assert_eq!(data["people"]["totalCount"], 37);
    assert_eq!(
        data["people"]["nodes"].as_array().unwrap().len(),
        20,
        "default page size"
    );
    assert_eq!(data["people"]["pageInfo"]["hasNextPage"], true);
    let data = app
        .data("{ people(first: 100) { nodes { id } } }", json!({}))
        .await;
    assert_eq!(data["people"]["nodes"].as_array().unwrap().len(), 37);
    let data = app
        .data(
            "{ people(first: 0) { nodes { id } pageInfo { hasNextPage } } }",
            json!({}),
        )
        .await;
    assert_eq!(data["people"]["nodes"], json!([]));
    assert_eq!(data["people"]["pageInfo"]["hasNextPage"], true);

    for (q, field) in [
        ("{ people(first: 101) { totalCount } }", "first"),
        ("{ people(last: 101) { totalCount } }", "last"),
        ("{ people(first: -1) { totalCount } }", "first"),
        ("{ people(first: 2, last: 2) { totalCount } }", "last"),
        (
            "{ grids { nodes { residents(first: 500) { totalCount } } } }",
            "first",
        ),
    ] {
        let e = app.error(q, json!({})).await;
        assert_eq!(e["extensions"]["code"], "BAD_USER_INPUT", "{q}");
        assert_eq!(e["extensions"]["field"], field, "{q}");
    }
});

db_test!(bad_cursors_are_bad_user_input, |app| async move {
    fixture::load(&app.db).await;
    let data = app.data("{ people(first: 1, orderBy: { field: NAME, direction: ASC }) { pageInfo { endCursor } } }", json!({})).await;
    let cursor = data["people"]["pageInfo"]["endCursor"].clone();
    let e = app
        .error("query($c: String) { people(after: $c, orderBy: { field: CREATED_AT, direction: ASC }) { totalCount } }", json!({ "c": cursor }))
        .await;
    assert_eq!(e["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(e["extensions"]["field"], "after");
    let e = app
        .error("{ people(before: \"!!!\") { totalCount } }", json!({}))
        .await;
    assert_eq!(e["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(e["extensions"]["field"], "before");
});

db_test!(nested_connections_page_per_parent, |app| async move {
    let f = fixture::load(&app.db).await;
    let q = r#"{ grids(filter: { level: GRID }) { nodes { code residents(first: 2) { totalCount pageInfo { hasNextPage endCursor } nodes { id } } } } }"#;
    let data = app.data(q, json!({})).await;
    let grids = data["grids"]["nodes"].as_array().unwrap();
    let counts: Vec<(i64, usize, bool)> = grids
        .iter()
        .map(|g| {
            let r = &g["residents"];
            (
                r["totalCount"].as_i64().unwrap(),
                r["nodes"].as_array().unwrap().len(),
                r["pageInfo"]["hasNextPage"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(counts, [(4, 2, true), (3, 2, true), (5, 2, true)]);
    // Continue G11's residents from its own cursor.
    let g11 = &grids[0]["residents"];
    let q = "query($g: ID, $c: String) { grid(id: $g) { residents(first: 10, after: $c) { nodes { id } pageInfo { hasNextPage hasPreviousPage } } } }";
    let rest = app
        .data(
            q,
            json!({ "g": f.grid("G11"), "c": g11["pageInfo"]["endCursor"] }),
        )
        .await;
    let rest = &rest["grid"]["residents"];
    assert_eq!(rest["nodes"].as_array().unwrap().len(), 2);
    assert_eq!(rest["pageInfo"]["hasNextPage"], false);
    assert_eq!(rest["pageInfo"]["hasPreviousPage"], true);
    let mut seen: HashSet<String> = crate::harness::ids(g11).into_iter().collect();
    for id in crate::harness::ids(rest) {
        assert!(seen.insert(id), "nested pages overlap");
    }
    assert_eq!(seen.len(), 4);
});
