//! Statistics: hand-computed figures on the fixture, suppression for AGENCY, access by role, and
//! agreement between SQLite and PostgreSQL on the demo data.

use crate::db_test;
use crate::fixture;
use crate::harness::{Backend, TestApp, TestDb};
use chrono::{NaiveDate, Utc};
use gridgov::auth::{Role, apikey};
use gridgov::config::{DatabaseSettings, ServeSettings};
use migration::{Migrator, MigratorTrait};
use serde_json::{Value, json};

const ALL: &str = r#"query($g: ID!, $from: DateTime, $to: DateTime) { stats(withinGridId: $g, from: $from, to: $to) {
    grid { code } residentCount { value suppressed }
    residentsByTag { tag count { value } } residentsByGender { key count { value suppressed } }
    residentsByAgeBand { key count { value suppressed } }
    gridCount { value } gridsWithWorker { value } coverageRate workerCount { value } residentsPerWorker
    gridsWithoutWorker { totalCount nodes { code } }
    serviceCount { value } servicesByStatus { status count { value } } servicesByCategory { category count { value } } completionRate
    participationCount { value suppressed } volunteerCount { value } volunteerHours noShowRate
    byOrganization { organization { name } count { value } }
    byChildGrid { grid { code } residentCount { value suppressed } participationCount { value suppressed } }
} }"#;

fn value(list: &Value, key_field: &str, key: &str) -> Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|c| c[key_field] == key)
        .map(|c| c["count"]["value"].clone())
        .unwrap_or(Value::Null)
}

async fn agency_key(app: &TestApp) -> String {
    let new = apikey::NewKey {
        name: "agency".into(),
        role: Role::Agency,
        grid_codes: vec![],
        organization_id: None,
        scopes: vec![],
        expires_at: None,
    };
    apikey::create(&app.db, new).await.unwrap().1
}

db_test!(stats_match_hand_computed_figures, |app| async move {
    let f = fixture::load(&app.db).await;
    let body = app.gql(ALL, json!({ "g": f.grid("D") })).await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let s = &body["data"]["stats"];
    assert_eq!(s["grid"]["code"], "370685");
    assert_eq!(
        s["residentCount"],
        json!({ "value": 12, "suppressed": false })
    );
    assert_eq!(value(&s["residentsByGender"], "key", "MALE"), 6);
    assert_eq!(value(&s["residentsByGender"], "key", "FEMALE"), 6);
    assert_eq!(value(&s["residentsByTag"], "tag", "KEY_CARE"), 3);
    assert_eq!(
        value(&s["residentsByTag"], "tag", "ELDERLY_LIVING_ALONE"),
        2
    );
    assert_eq!(value(&s["residentsByTag"], "tag", "HEALTH_MONITORING"), 1);
    // Age bands from the fixture's birth dates, as of today.
    let today = Utc::now().date_naive();
    let mut bands = std::collections::BTreeMap::new();
    for i in 0..12 {
        let born = NaiveDate::from_ymd_opt(1950 + i * 5, 1 + i as u32 % 12, 10).unwrap();
        let age = today.years_since(born).unwrap();
        let band = match age {
            0..=17 => "0-17",
            18..=34 => "18-34",
            35..=59 => "35-59",
            60..=79 => "60-79",
            _ => "80+",
        };
        *bands.entry(band).or_insert(0) += 1;
    }
    for (band, n) in &bands {
        assert_eq!(value(&s["residentsByAgeBand"], "key", band), *n, "{band}");
    }
    assert_eq!(s["gridCount"]["value"], 3);
    assert_eq!(s["gridsWithWorker"]["value"], 2);
    assert_eq!(s["coverageRate"], 0.6667);
    assert_eq!(s["workerCount"]["value"], 3);
    assert_eq!(s["residentsPerWorker"], 4.0);
    assert_eq!(
        s["gridsWithoutWorker"],
        json!({ "totalCount": 1, "nodes": [{ "code": "370685001002-01" }] })
    );
    assert_eq!(s["serviceCount"]["value"], 5);
    for st in [
        "DRAFT",
        "PUBLISHED",
        "IN_PROGRESS",
        "COMPLETED",
        "CANCELLED",
    ] {
        assert_eq!(value(&s["servicesByStatus"], "status", st), 1, "{st}");
    }
    assert_eq!(value(&s["servicesByCategory"], "category", "LEGAL_AID"), 1);
    assert_eq!(value(&s["servicesByCategory"], "category", "EDUCATION"), 0);
    assert_eq!(s["completionRate"], 0.3333);
    assert_eq!(
        s["participationCount"]["value"], 7,
        "the cancelled participation does not count"
    );
    assert_eq!(s["volunteerCount"]["value"], 4);
    assert_eq!(s["volunteerHours"], 3.5);
    assert_eq!(s["noShowRate"], 0.25);
    let orgs: Vec<(Value, Value)> = s["byOrganization"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["organization"]["name"].clone(),
                o["count"]["value"].clone(),
            )
        })
        .collect();
    assert!(
        orgs.contains(&(json!("泉山志愿者协会"), json!(4))),
        "{orgs:?}"
    );
    assert!(orgs.contains(&(Value::Null, json!(3))), "{orgs:?}");
    assert_eq!(
        s["byChildGrid"],
        json!([{ "grid": { "code": "370685001" }, "residentCount": { "value": 12, "suppressed": false }, "participationCount": { "value": 7, "suppressed": false } }])
    );

    // A community, and a time window.
    let body = app.gql(ALL, json!({ "g": f.grid("S") })).await;
    let kids = &body["data"]["stats"]["byChildGrid"];
    assert_eq!(kids.as_array().unwrap().len(), 2);
    let body = app.gql(ALL, json!({ "g": f.grid("C1"), "from": "2026-05-01T00:00:00Z", "to": "2026-07-01T00:00:00Z" })).await;
    let s = &body["data"]["stats"];
    assert_eq!(s["serviceCount"]["value"], 2, "s2 (June) and s3 (May)");
    assert_eq!(s["participationCount"]["value"], 3, "s2: two, s3: one");
    let body = app.gql("query($g: ID!) { stats(withinGridId: $g, from: \"2026-02-01T00:00:00Z\", to: \"2026-01-01T00:00:00Z\") { serviceCount { value } } }", json!({ "g": f.grid("D") })).await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "to");

    // A constant, small number of statements for every figure at once.
    assert!(body_statements(&app, &f).await <= 12);
});

async fn body_statements(app: &TestApp, f: &fixture::Fixture) -> u64 {
    let body = app.gql(ALL, json!({ "g": f.grid("D") })).await;
    body["extensions"]["sqlStatements"].as_u64().unwrap()
}

db_test!(
    agency_sees_small_counts_suppressed,
    settings = |s: &mut ServeSettings| s.limits.stats_min_count = 4,
    |app| async move {
        let f = fixture::load(&app.db).await;
        let agency = agency_key(&app).await;
        let body = app
            .gql_as(Some(&agency), ALL, json!({ "g": f.grid("D") }))
            .await;
        assert!(body.get("errors").is_none(), "{body:#}");
        let s = &body["data"]["stats"];
        // Tags below 4 are hidden; 12 residents are not.
        assert_eq!(s["residentCount"]["value"], 12);
        assert!(
            s["residentsByTag"]
                .as_array()
                .unwrap()
                .iter()
                .all(|t| t["count"]["value"].is_null()),
            "{}",
            s["residentsByTag"]
        );
        // Age bands: a band below 4 is hidden; when that leaves exactly one hidden band, the next
        // smallest is hidden too — otherwise the total minus the shown bands would reveal it.
        let today = Utc::now().date_naive();
        let mut cells: Vec<(String, i64)> = ["0-17", "18-34", "35-59", "60-79", "80+"]
            .iter()
            .map(|b| (b.to_string(), 0))
            .collect();
        for i in 0..12 {
            let age = today
                .years_since(NaiveDate::from_ymd_opt(1950 + i * 5, 1 + i as u32 % 12, 10).unwrap())
                .unwrap();
            let band = match age {
                0..=17 => 0,
                18..=34 => 1,
                35..=59 => 2,
                60..=79 => 3,
                _ => 4,
            };
            cells[band].1 += 1;
        }
        let mut hidden: Vec<bool> = cells.iter().map(|(_, n)| *n > 0 && *n < 4).collect();
        if hidden.iter().filter(|h| **h).count() == 1
            && let Some(i) = (0..5)
                .filter(|i| !hidden[*i] && cells[*i].1 > 0)
                .min_by_key(|i| cells[*i].1)
        {
            hidden[i] = true;
        }
        let bands = s["residentsByAgeBand"].as_array().unwrap();
        for (i, (band, n)) in cells.iter().enumerate() {
            let got = bands.iter().find(|b| b["key"] == band.as_str()).unwrap();
            if hidden[i] {
                assert_eq!(
                    got["count"],
                    json!({ "value": null, "suppressed": true }),
                    "{band}"
                );
            } else {
                assert_eq!(
                    got["count"],
                    json!({ "value": n, "suppressed": false }),
                    "{band}"
                );
            }
        }
        assert!(
            hidden.iter().filter(|h| **h).count() != 1,
            "a lone hidden band could be recovered"
        );
        // Services: each status has one service, all hidden; the rate built on them too.
        assert!(
            s["servicesByStatus"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["count"]["value"].is_null())
        );
        assert_eq!(s["completionRate"], Value::Null);
        // The same query as ADMIN shows everything.
        let body = app.gql(ALL, json!({ "g": f.grid("D") })).await;
        assert_eq!(
            value(
                &body["data"]["stats"]["servicesByStatus"],
                "status",
                "DRAFT"
            ),
            1
        );

        // byChildGrid: with two children, one small child would be recoverable from the parent.
        let body = app
            .gql_as(Some(&agency), ALL, json!({ "g": f.grid("C1") }))
            .await;
        let kids = body["data"]["stats"]["byChildGrid"]
            .as_array()
            .unwrap()
            .clone();
        let shown: Vec<&Value> = kids.iter().map(|k| &k["residentCount"]).collect();
        // G11 has 4 residents (shown alone), G12 has 3 (hidden): G11 must be hidden as well.
        assert!(shown.iter().all(|c| c["suppressed"] == true), "{shown:?}");
    }
);

db_test!(
    statistics_are_for_agencies_managers_and_admins,
    |app| async move {
        let f = fixture::load(&app.db).await;
        let q = "query($g: ID!) { stats(withinGridId: $g) { residentCount { value } } }";
        let body = app.gql_as(None, q, json!({ "g": f.grid("D") })).await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN");
        let manager = apikey::create(
            &app.db,
            apikey::NewKey {
                name: "m".into(),
                role: Role::GridManager,
                grid_codes: vec!["370685001001".into()],
                organization_id: None,
                scopes: vec![],
                expires_at: None,
            },
        )
        .await
        .unwrap()
        .1;
        let body = app
            .gql_as(Some(&manager), q, json!({ "g": f.grid("C1") }))
            .await;
        assert_eq!(body["data"]["stats"]["residentCount"]["value"], 7);
        let body = app
            .gql_as(Some(&manager), q, json!({ "g": f.grid("D") }))
            .await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "NOT_FOUND",
            "outside its subtree"
        );
        let body = app
            .gql(
                "query($g: ID!) { grid(id: $g) { stats { residentCount { value } } } }",
                json!({ "g": f.grid("C2") }),
            )
            .await;
        assert_eq!(body["data"]["grid"]["stats"]["residentCount"]["value"], 5);
    }
);

/// Seeds the demo data into a fresh database and computes the statistics of its street.
async fn demo_stats(backend: Backend) -> Option<(gridgov::store::stats::Figures, usize)> {
    let db = TestDb::create(backend).await?;
    let settings = DatabaseSettings {
        database_url: db.url.clone(),
        db_max_connections: 4,
        db_acquire_timeout: 10,
    };
    let conn = gridgov::db::connect(&settings).await.unwrap();
    Migrator::up(&conn, None).await.unwrap();
    gridgov::seed::seed_demo(&conn, 1, false).await.unwrap();
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let street = entity::grid::Entity::find()
        .filter(entity::grid::Column::Code.eq("370685001"))
        .one(&conn)
        .await
        .unwrap()
        .unwrap();
    let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    let from = "2026-03-01T00:00:00Z".parse().ok();
    let stats = gridgov::store::stats::subtree_stats(&conn, &street.path, from, None, today)
        .await
        .unwrap();
    let parts = stats.parts.len();
    Some((stats.total(), parts))
}

#[tokio::test]
async fn sqlite_and_postgres_agree_on_the_demo_data() {
    let Some((pg, pg_parts)) = demo_stats(Backend::Postgres).await else {
        return;
    };
    let (lite, lite_parts) = demo_stats(Backend::Sqlite).await.unwrap();
    assert!(lite.residents > 4000, "{lite:?}");
    assert!(lite.participations > 1000);
    assert_eq!(lite_parts, pg_parts);
    assert_eq!(lite, pg);
}

db_test!(series_buckets_follow_the_time_zone, |app| async move {
    let f = fixture::load(&app.db).await;
    let q = "query($g: ID!, $from: DateTime, $to: DateTime, $tz: String!, $i: StatsInterval!) { stats(withinGridId: $g, from: $from, to: $to, timeZone: $tz) { series(interval: $i) { start serviceCount { value } participationCount { value } volunteerHours } } }";
    let body = app.gql(q, json!({ "g": f.grid("D"), "from": "2026-03-01T00:00:00+08:00", "to": "2026-08-01T00:00:00+08:00", "tz": "Asia/Shanghai", "i": "MONTH" })).await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let series = body["data"]["stats"]["series"].as_array().unwrap();
    let starts: Vec<&str> = series
        .iter()
        .map(|b| b["start"].as_str().unwrap())
        .collect();
    assert_eq!(
        starts,
        [
            "2026-02-28T16:00:00+00:00",
            "2026-03-31T16:00:00+00:00",
            "2026-04-30T16:00:00+00:00",
            "2026-05-31T16:00:00+00:00",
            "2026-06-30T16:00:00+00:00"
        ]
    );
    let services: Vec<i64> = series
        .iter()
        .map(|b| b["serviceCount"]["value"].as_i64().unwrap())
        .collect();
    assert_eq!(services, [1, 1, 1, 1, 1]);
    let participations: Vec<i64> = series
        .iter()
        .map(|b| b["participationCount"]["value"].as_i64().unwrap())
        .collect();
    assert_eq!(
        participations,
        [4, 0, 1, 2, 0],
        "empty buckets are included"
    );
    assert_eq!(series[0]["volunteerHours"], 3.5);

    // s1 starts 2026-03-01T01:00Z: 1 March in Shanghai, still 28 February in Los Angeles.
    for (tz, start) in [
        ("Asia/Shanghai", "2026-02-28T16:00:00+00:00"),
        ("America/Los_Angeles", "2026-02-28T08:00:00+00:00"),
    ] {
        let body = app.gql(q, json!({ "g": f.grid("D"), "from": "2026-02-28T00:00:00Z", "to": "2026-03-02T00:00:00Z", "tz": tz, "i": "DAY" })).await;
        let series = body["data"]["stats"]["series"].as_array().unwrap().clone();
        let busy: Vec<&Value> = series
            .iter()
            .filter(|b| b["serviceCount"]["value"] == 1)
            .collect();
        assert_eq!(busy.len(), 1, "{tz}: {series:?}");
        assert_eq!(busy[0]["start"], start, "{tz}");
    }
    // Weeks start on Monday.
    let body = app.gql(q, json!({ "g": f.grid("D"), "from": "2026-03-04T00:00:00+08:00", "to": "2026-03-05T00:00:00+08:00", "tz": "Asia/Shanghai", "i": "WEEK" })).await;
    assert_eq!(
        body["data"]["stats"]["series"][0]["start"], "2026-03-01T16:00:00+00:00",
        "Monday 2 March, Shanghai"
    );

    // Bad input.
    let e = app.gql(q, json!({ "g": f.grid("D"), "from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z", "tz": "Mars/Olympus", "i": "DAY" })).await;
    assert_eq!(e["errors"][0]["extensions"]["field"], "timeZone");
    let e = app.gql(q, json!({ "g": f.grid("D"), "from": "2020-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z", "tz": "UTC", "i": "DAY" })).await;
    assert_eq!(e["errors"][0]["extensions"]["field"], "interval");
    let e = app
        .gql(
            "query($g: ID!) { stats(withinGridId: $g) { series(interval: DAY) { start } } }",
            json!({ "g": f.grid("D") }),
        )
        .await;
    assert_eq!(e["errors"][0]["extensions"]["field"], "from");
});
