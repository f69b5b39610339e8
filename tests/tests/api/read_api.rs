//! Root fields, filters, relations and subtree semantics of the read API.

use crate::db_test;
use crate::fixture;
use crate::harness::ids;
use serde_json::json;

async fn total(
    app: &crate::harness::TestApp,
    field: &str,
    filter_type: &str,
    filter: serde_json::Value,
) -> i64 {
    let q = format!(
        "query($f: {filter_type}) {{ {field}(filter: $f) {{ totalCount nodes {{ id }} }} }}"
    );
    let data = app.data(&q, json!({ "f": filter })).await;
    let conn = &data[field];
    let n = conn["totalCount"].as_i64().expect("totalCount");
    assert_eq!(
        ids(conn).len() as i64,
        n.min(20),
        "page and total disagree for {field} {filter_type}"
    );
    n
}

db_test!(grid_by_code_and_by_id_agree, |app| async move {
    let f = fixture::load(&app.db).await;
    let q = r#"query($code: String, $id: ID) {
        byCode: grid(code: $code) { id code name level parent { code } ancestors { code }
            children { nodes { code } } workers { role person { name } } boundary version }
        byId: grid(id: $id) { id code }
        missing: grid(code: "000000") { id }
    }"#;
    let data = app
        .data(q, json!({ "code": "370685001001", "id": f.grid("C1") }))
        .await;
    let g = &data["byCode"];
    assert_eq!(g["id"], json!(f.grid("C1")));
    assert_eq!(g["name"], "金晖社区");
    assert_eq!(g["level"], "COMMUNITY");
    assert_eq!(g["parent"]["code"], "370685001");
    assert_eq!(
        g["ancestors"],
        json!([{ "code": "370685" }, { "code": "370685001" }])
    );
    assert_eq!(
        g["children"]["nodes"],
        json!([{ "code": "370685001001-01" }, { "code": "370685001001-02" }])
    );
    assert_eq!(g["workers"], json!([]));
    assert_eq!(g["boundary"], json!(null));
    assert_eq!(g["version"], 1);
    assert_eq!(data["byId"]["code"], "370685001001");
    assert_eq!(data["missing"], json!(null));

    let data = app
        .data(
            "query($id: ID) { grid(id: $id) { workers { role person { name } } boundary } }",
            json!({ "id": f.grid("G11") }),
        )
        .await;
    assert_eq!(
        data["grid"]["workers"],
        json!([{ "role": "GRID_HEAD", "person": { "name": "王芳" } }, { "role": "PART_TIME", "person": { "name": "刘洋" } }])
    );
    assert_eq!(data["grid"]["boundary"]["type"], "Polygon");
});

db_test!(grid_needs_exactly_one_of_id_and_code, |app| async move {
    let f = fixture::load(&app.db).await;
    let e = app.error("{ grid { id } }", json!({})).await;
    assert_eq!(e["extensions"]["code"], "BAD_USER_INPUT");
    let e = app
        .error(
            "query($id: ID) { grid(id: $id, code: \"370685\") { id } }",
            json!({ "id": f.grid("D") }),
        )
        .await;
    assert_eq!(e["extensions"]["code"], "BAD_USER_INPUT");
});

db_test!(grid_filters_select_the_right_grids, |app| async move {
    let f = fixture::load(&app.db).await;
    assert_eq!(total(&app, "grids", "GridFilter", json!(null)).await, 7);
    assert_eq!(
        total(&app, "grids", "GridFilter", json!({ "level": "GRID" })).await,
        3
    );
    assert_eq!(
        total(
            &app,
            "grids",
            "GridFilter",
            json!({ "parentId": f.grid("C1") })
        )
        .await,
        2
    );
    assert_eq!(
        total(
            &app,
            "grids",
            "GridFilter",
            json!({ "withinGridId": f.grid("C1") })
        )
        .await,
        3
    );
    assert_eq!(
        total(
            &app,
            "grids",
            "GridFilter",
            json!({ "withinGridId": f.grid("S") })
        )
        .await,
        6
    );
    assert_eq!(
        total(
            &app,
            "grids",
            "GridFilter",
            json!({ "withinGridId": f.grid("G21") })
        )
        .await,
        1
    );
    assert_eq!(
        total(&app, "grids", "GridFilter", json!({ "search": "第二" })).await,
        1
    );
    assert_eq!(
        total(
            &app,
            "grids",
            "GridFilter",
            json!({ "search": "370685001002" })
        )
        .await,
        2
    );
    assert_eq!(
        total(&app, "grids", "GridFilter", json!({ "search": "%" })).await,
        0,
        "LIKE wildcards are literal"
    );
    assert_eq!(
        total(
            &app,
            "grids",
            "GridFilter",
            json!({ "withinGridId": f.grid("C1"), "level": "GRID", "search": "第一" })
        )
        .await,
        1
    );
});

db_test!(person_filters_select_the_right_people, |app| async move {
    let f = fixture::load(&app.db).await;
    assert_eq!(total(&app, "people", "PersonFilter", json!(null)).await, 12);
    assert_eq!(
        total(
            &app,
            "people",
            "PersonFilter",
            json!({ "gridId": f.grid("G11") })
        )
        .await,
        4
    );
    assert_eq!(
        total(
            &app,
            "people",
            "PersonFilter",
            json!({ "gridId": f.grid("C1") })
        )
        .await,
        0
    );
    assert_eq!(
        total(
            &app,
            "people",
            "PersonFilter",
            json!({ "withinGridId": f.grid("C1") })
        )
        .await,
        7
    );
    assert_eq!(
        total(
            &app,
            "people",
            "PersonFilter",
            json!({ "withinGridId": f.grid("D") })
        )
        .await,
        12
    );
    assert_eq!(
        total(&app, "people", "PersonFilter", json!({ "tag": "KEY_CARE" })).await,
        3
    );
    assert_eq!(
        total(
            &app,
            "people",
            "PersonFilter",
            json!({ "organizationId": f.org("vol") })
        )
        .await,
        4
    );
    assert_eq!(
        total(&app, "people", "PersonFilter", json!({ "search": "王" })).await,
        1
    );
    assert_eq!(
        total(
            &app,
            "people",
            "PersonFilter",
            json!({ "withinGridId": f.grid("C1"), "tag": "KEY_CARE" })
        )
        .await,
        2
    );
});

db_test!(
    organization_filters_select_the_right_organizations,
    |app| async move {
        fixture::load(&app.db).await;
        assert_eq!(
            total(&app, "organizations", "OrganizationFilter", json!(null)).await,
            3
        );
        assert_eq!(
            total(
                &app,
                "organizations",
                "OrganizationFilter",
                json!({ "kind": "VOLUNTEER_ORGANIZATION" })
            )
            .await,
            1
        );
        assert_eq!(
            total(
                &app,
                "organizations",
                "OrganizationFilter",
                json!({ "search": "泉山" })
            )
            .await,
            2
        );
    }
);

db_test!(
    service_filters_select_the_right_services,
    |app| async move {
        let f = fixture::load(&app.db).await;
        let t = |v| total(&app, "services", "ServiceFilter", v);
        assert_eq!(t(json!(null)).await, 5);
        assert_eq!(t(json!({ "gridId": f.grid("G21") })).await, 2);
        assert_eq!(t(json!({ "withinGridId": f.grid("C1") })).await, 3);
        assert_eq!(
            t(json!({ "status": ["PUBLISHED", "IN_PROGRESS"] })).await,
            2
        );
        assert_eq!(t(json!({ "category": ["HEALTH"] })).await, 1);
        assert_eq!(t(json!({ "organizerId": f.org("vol") })).await, 2);
        assert_eq!(t(json!({ "startsAfter": "2026-05-01T00:00:00Z" })).await, 3);
        assert_eq!(
            t(json!({ "startsBefore": "2026-05-01T00:00:00Z" })).await,
            2
        );
        assert_eq!(t(json!({ "startsAfter": "2026-05-01T01:00:00Z", "startsBefore": "2026-06-01T01:00:00Z" })).await, 1);
        assert_eq!(t(json!({ "search": "老人" })).await, 1);
    }
);

db_test!(
    participation_filters_select_the_right_participations,
    |app| async move {
        let f = fixture::load(&app.db).await;
        let t = |v| total(&app, "participations", "ParticipationFilter", v);
        assert_eq!(t(json!(null)).await, 8);
        assert_eq!(t(json!({ "serviceId": f.service("s1") })).await, 4);
        assert_eq!(t(json!({ "personId": f.person("wang_fang") })).await, 2);
        assert_eq!(t(json!({ "organizationId": f.org("vol") })).await, 5);
        assert_eq!(t(json!({ "status": ["COMPLETED"] })).await, 3);
        assert_eq!(t(json!({ "status": ["COMPLETED", "NO_SHOW"] })).await, 4);
        assert_eq!(t(json!({ "withinGridId": f.grid("C1") })).await, 8);
        assert_eq!(t(json!({ "withinGridId": f.grid("C2") })).await, 0);
    }
);

db_test!(relations_resolve_both_ways, |app| async move {
    let f = fixture::load(&app.db).await;
    let q = r#"query($p: ID!, $s: ID!, $o: ID!) {
        person(id: $p) { name gender grid { code } tags memberships { role organization { name } }
            participations { totalCount nodes { status hours service { title } organization { name } } } }
        service(id: $s) { title category status capacity participantCount grid { code } organizer { name }
            participations(filter: { status: [CANCELLED] }) { totalCount } }
        organization(id: $o) { kind members(orderBy: { field: JOINED_ON, direction: ASC }) { totalCount nodes { person { name } } }
            services { totalCount nodes { title } } }
    }"#;
    let v = json!({ "p": f.person("wang_fang"), "s": f.service("s2"), "o": f.org("vol") });
    let data = app.data(q, v).await;
    let p = &data["person"];
    assert_eq!(p["gender"], "FEMALE");
    assert_eq!(p["grid"]["code"], "370685001001-01");
    assert_eq!(p["tags"], json!([]));
    assert_eq!(
        p["memberships"],
        json!([{ "role": "MEMBER", "organization": { "name": "泉山志愿者协会" } }])
    );
    assert_eq!(p["participations"]["totalCount"], 2);
    assert_eq!(p["participations"]["nodes"][0]["hours"], 2.0);
    assert_eq!(
        p["participations"]["nodes"][0]["service"]["title"],
        "核酸检测筛查"
    );
    assert_eq!(p["participations"]["nodes"][1]["status"], "CANCELLED");
    let s = &data["service"];
    assert_eq!(
        s["participantCount"], 2,
        "the cancelled participation frees its place"
    );
    assert_eq!(s["capacity"], 10);
    assert_eq!(s["grid"]["code"], "370685001001-01");
    assert_eq!(s["organizer"]["name"], "泉山志愿者协会");
    assert_eq!(s["participations"]["totalCount"], 1);
    let o = &data["organization"];
    assert_eq!(o["kind"], "VOLUNTEER_ORGANIZATION");
    assert_eq!(o["members"]["totalCount"], 4);
    let members: Vec<&str> = o["members"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["person"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(members, ["王芳", "刘洋", "杨磊", "吴婷"]);
    assert_eq!(o["services"]["totalCount"], 2);

    let data = app
        .data(
            "query($id: ID!) { person(id: $id) { tags } }",
            json!({ "id": f.person("li_na") }),
        )
        .await;
    let mut tags: Vec<String> = serde_json::from_value(data["person"]["tags"].clone()).unwrap();
    tags.sort();
    assert_eq!(tags, ["DISABLED", "KEY_CARE"]);
});

db_test!(
    include_descendants_covers_the_whole_subtree,
    |app| async move {
        let f = fixture::load(&app.db).await;
        let q = r#"query($a: ID, $b: ID) {
        c1: grid(id: $a) { own: residents { totalCount } all: residents(includeDescendants: true) { totalCount nodes { grid { code } } }
                           services(includeDescendants: true) { totalCount } }
        d: grid(id: $b) { residents(includeDescendants: true, first: 100) { totalCount nodes { id } } services { totalCount } }
    }"#;
        let data = app
            .data(q, json!({ "a": f.grid("C1"), "b": f.grid("D") }))
            .await;
        assert_eq!(data["c1"]["own"]["totalCount"], 0);
        assert_eq!(data["c1"]["all"]["totalCount"], 7);
        assert!(
            data["c1"]["all"]["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .all(|n| n["grid"]["code"]
                    .as_str()
                    .unwrap()
                    .starts_with("370685001001-"))
        );
        assert_eq!(data["c1"]["services"]["totalCount"], 3);
        assert_eq!(data["d"]["residents"]["totalCount"], 12);
        assert_eq!(ids(&data["d"]["residents"]).len(), 12);
        assert_eq!(data["d"]["services"]["totalCount"], 0);

        // Subtrees of sibling grids fetched in one request do not bleed into each other.
        let data = app
        .data("{ grids(filter: { level: COMMUNITY }) { nodes { code residents(includeDescendants: true) { totalCount } } } }", json!({}))
        .await;
        assert_eq!(
            data["grids"]["nodes"],
            json!([{ "code": "370685001001", "residents": { "totalCount": 7 } }, { "code": "370685001002", "residents": { "totalCount": 5 } }])
        );
    }
);

db_test!(
    http_endpoints_answer,
    settings = |s: &mut gridgov::config::ServeSettings| s.graphiql = Some(true),
    |app| async move {
        fixture::load(&app.db).await;
        let r = app.http.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.text().await.unwrap(), "ok");
        let r = app
            .http
            .get(app.url("/graphql"))
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let page = r.text().await.unwrap();
        assert!(
            page.contains("/graphql/assets/graphiql.min.js"),
            "GraphiQL is served locally, not from a CDN"
        );
        assert!(!page.contains("https://"), "no external scripts");
        for (asset, kind) in [
            ("graphiql.min.js", "text/javascript"),
            ("graphiql.min.css", "text/css"),
            ("react.production.min.js", "text/javascript"),
        ] {
            let r = app
                .http
                .get(app.url(&format!("/graphql/assets/{asset}")))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{asset}");
            assert!(
                r.headers()["content-type"]
                    .to_str()
                    .unwrap()
                    .starts_with(kind),
                "{asset}"
            );
            assert!(r.bytes().await.unwrap().len() > 5000, "{asset}");
        }
        let r = app
            .http
            .get(app.url("/graphql/assets/../../etc/passwd"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        let r = app
            .http
            .get(app.url("/graphql?query=%7Bgrids%7BtotalCount%7D%7D"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["data"]["grids"]["totalCount"], 7);
    }
);
