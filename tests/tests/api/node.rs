//! `node`, `nodes` and global ids.

use crate::db_test;
use crate::fixture;
use base64::Engine;
use serde_json::json;

db_test!(node_resolves_every_type, |app| async move {
    let f = fixture::load(&app.db).await;
    let q = r#"query($g: ID!) { grid(id: $g) { id workers { id person { id memberships { id organization { id } } } } } }"#;
    let data = app.data(q, json!({ "g": f.grid("G11") })).await;
    let assignment = data["grid"]["workers"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let membership = data["grid"]["workers"][0]["person"]["memberships"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let data = app
        .data("{ participations(first: 1) { nodes { id } } }", json!({}))
        .await;
    let participation = data["participations"]["nodes"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cases = [
        ("Grid", f.grid("G11")),
        ("Person", f.person("wang_fang")),
        ("Organization", f.org("vol")),
        ("Membership", membership),
        ("GridAssignment", assignment),
        ("Service", f.service("s1")),
        ("Participation", participation),
    ];
    for (typename, id) in &cases {
        let data = app
            .data(
                "query($id: ID!) { node(id: $id) { __typename id } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(data["node"]["__typename"], *typename);
        assert_eq!(data["node"]["id"], json!(id));
    }
    let all: Vec<&String> = cases.iter().map(|(_, id)| id).collect();
    let data = app
        .data(
            "query($ids: [ID!]!) { nodes(ids: $ids) { __typename } }",
            json!({ "ids": all }),
        )
        .await;
    let names: Vec<&str> = data["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["__typename"].as_str().unwrap())
        .collect();
    assert_eq!(names, cases.iter().map(|(t, _)| *t).collect::<Vec<_>>());
});

db_test!(nodes_keeps_order_and_nulls_missing, |app| async move {
    let f = fixture::load(&app.db).await;
    let missing = gridgov::schema::relay::global_id("Person", uuid::Uuid::now_v7()).0;
    let data = app
        .data(
            "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
            json!({ "ids": [f.service("s2"), missing, f.grid("D")] }),
        )
        .await;
    assert_eq!(
        data["nodes"],
        json!([{ "id": f.service("s2") }, null, { "id": f.grid("D") }])
    );
    let data = app
        .data(
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": missing }),
        )
        .await;
    assert_eq!(data["node"], json!(null));
});

db_test!(malformed_ids_are_bad_user_input, |app| async move {
    let f = fixture::load(&app.db).await;
    let unknown_type = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!("Spaceship:{}", uuid::Uuid::now_v7()));
    for bad in [
        "not-an-id",
        "",
        "R3JpZDpub3QtYS11dWlk",
        unknown_type.as_str(),
    ] {
        let e = app
            .error(
                "query($id: ID!) { node(id: $id) { id } }",
                json!({ "id": bad }),
            )
            .await;
        assert_eq!(e["extensions"]["code"], "BAD_USER_INPUT", "{bad}: {e}");
        assert_eq!(e["extensions"]["field"], "id");
    }
    let e = app
        .error(
            "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
            json!({ "ids": [f.grid("D"), "garbage"] }),
        )
        .await;
    assert_eq!(e["extensions"]["field"], "ids[1]");
    // A well-formed id of the wrong type for a typed lookup.
    let e = app
        .error(
            "query($id: ID) { grid(id: $id) { id } }",
            json!({ "id": f.person("li_na") }),
        )
        .await;
    assert_eq!(e["extensions"]["code"], "BAD_USER_INPUT");
    assert!(e["message"].as_str().unwrap().contains("Grid"));
    let e = app
        .error(
            "query($f: PersonFilter) { people(filter: $f) { totalCount } }",
            json!({ "f": { "gridId": f.org("vol") } }),
        )
        .await;
    assert_eq!(e["extensions"]["field"], "filter.gridId");
    let too_many: Vec<String> = (0..101).map(|_| f.grid("D")).collect();
    let e = app
        .error(
            "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
            json!({ "ids": too_many }),
        )
        .await;
    assert_eq!(e["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(e["extensions"]["field"], "ids");
});
