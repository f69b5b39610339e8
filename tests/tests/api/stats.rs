//! Statistics: hand-computed figures on the fixture, perturbation for AGENCY, access by role,
//! cost, and agreement between SQLite and PostgreSQL on the demo data. Differencing attacks and
//! record keys are in `disclosure.rs`.

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

/// Every figure, each count with `perturbed`, and a monthly series.
const FULL: &str = r#"query($g: ID!, $from: DateTime, $to: DateTime) { stats(withinGridId: $g, from: $from, to: $to) {
    ...figures
    byChildGrid { grid { code } ...figures }
    series(interval: MONTH) { start serviceCount { ...n } participationCount { ...n } volunteerHours }
} }
fragment n on StatCount { value suppressed perturbed }
fragment figures on GridStats {
    residentCount { ...n } residentsByTag { tag count { ...n } } residentsByGender { key count { ...n } }
    residentsByAgeBand { key count { ...n } }
    gridCount { ...n } gridsWithWorker { ...n } coverageRate workerCount { ...n } residentsPerWorker
    serviceCount { ...n } servicesByStatus { status count { ...n } } servicesByCategory { category count { ...n } } completionRate
    participationCount { ...n } volunteerCount { ...n } volunteerHours noShowRate
    byOrganization { organization { name } count { ...n } }
}"#;

/// Every count of a statistics response by its path (`residentCount`,
/// `byChildGrid.370685001001-01.residentsByTag.KEY_CARE`, …): (value, perturbed, suppressed).
pub fn counts(v: &Value) -> std::collections::BTreeMap<String, (i64, bool, bool)> {
    fn walk(
        v: &Value,
        path: String,
        out: &mut std::collections::BTreeMap<String, (i64, bool, bool)>,
    ) {
        match v {
            Value::Object(m) if m.contains_key("perturbed") => {
                let value = m["value"].as_i64().expect("a count is never null");
                out.insert(
                    path,
                    (value, m["perturbed"] == true, m["suppressed"] == true),
                );
            }
            Value::Object(m) => {
                for (k, v) in m {
                    walk(v, format!("{path}.{k}"), out);
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    // Elements by what they are about, so that lists of different lengths line up.
                    let name = ["tag", "key", "status", "category", "start"]
                        .iter()
                        .find_map(|k| item[*k].as_str().map(str::to_owned))
                        .or_else(|| item["grid"]["code"].as_str().map(str::to_owned))
                        .or_else(|| {
                            item.get("organization")
                                .map(|o| o["name"].as_str().unwrap_or("none").to_owned())
                        })
                        .unwrap_or_else(|| i.to_string());
                    walk(item, format!("{path}.{name}"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(v, String::new(), &mut out);
    out
}

/// Counts of grids and services, which are not personal and stay exact for everyone.
pub fn is_exact_figure(path: &str) -> bool {
    ["serviceCount", "servicesBy", "gridCount", "gridsWithWorker"]
        .iter()
        .any(|f| path.contains(f))
}

/// Whether `shown` is a value the perturbation may publish for the exact count `n` with
/// smallest count `k`.
pub fn allowed(n: i64, shown: i64, k: i64) -> bool {
    match n {
        0 => shown == 0,
        n if n < k => shown == 0 || shown == k,
        n => shown >= k && (shown - n).abs() <= 2,
    }
}

db_test!(
    agency_counts_are_perturbed_within_bounds_and_never_small,
    // Each FULL query is charged about 113,000 points; this test sends 21.
    settings = |s: &mut ServeSettings| s.auth.rate_limit_points = u32::MAX,
    |app| async move {
        // Arrange: the fixture (k = 5 by default), every subtree, as ADMIN and as AGENCY.
        let f = fixture::load(&app.db).await;
        let agency = agency_key(&app).await;
        let k = 5;
        let (mut zeros, mut small, mut large, mut moved) = (0, 0, 0, 0);
        for g in ["D", "S", "C1", "C2", "G11", "G12", "G21"] {
            let vars = json!({ "g": f.grid(g), "from": "2026-01-01T00:00:00Z", "to": "2027-01-01T00:00:00Z" });
            // Act
            let exact = app.gql(FULL, vars.clone()).await;
            let shown = app.gql_as(Some(&agency), FULL, vars.clone()).await;
            let again = app.gql_as(Some(&agency), FULL, vars).await;
            // Assert
            assert!(exact.get("errors").is_none(), "{exact:#}");
            assert!(shown.get("errors").is_none(), "{shown:#}");
            assert_eq!(
                shown["data"], again["data"],
                "{g}: asking again gives the same figures"
            );
            let (exact, shown_stats) = (&exact["data"]["stats"], &shown["data"]["stats"]);
            let (exact_counts, shown_counts) = (counts(exact), counts(shown_stats));
            assert!(exact_counts.len() > 50, "{g}: {exact_counts:?}");
            for (path, (n, perturbed, suppressed)) in &exact_counts {
                assert!(
                    !perturbed && !suppressed,
                    "{g}{path}: ADMIN gets exact figures"
                );
                let Some((v, perturbed, suppressed)) = shown_counts.get(path) else {
                    // An organisation shown with 0 is left out of byOrganization.
                    assert!(
                        path.contains("byOrganization") && *n < k,
                        "{g}{path} missing"
                    );
                    continue;
                };
                assert!(!suppressed, "{g}{path}: nothing is suppressed any more");
                if is_exact_figure(path) {
                    assert_eq!(
                        (v, perturbed),
                        (n, &false),
                        "{g}{path}: not personal, exact"
                    );
                    continue;
                }
                assert!(perturbed, "{g}{path}");
                assert!(allowed(*n, *v, k), "{g}{path}: {n} shown as {v}");
                match n {
                    0 => zeros += 1,
                    n if *n < k => small += 1,
                    _ => large += 1,
                }
                moved += i32::from(v != n);
            }
            assert!(shown_counts.keys().all(|p| exact_counts.contains_key(p)));
            // Rates: grids and services exact; the others from the figures as shown.
            for rate in ["coverageRate", "completionRate"] {
                assert_eq!(shown_stats[rate], exact[rate], "{g} {rate}");
            }
            let (r, w) = (
                shown_counts[".residentCount"].0,
                shown_counts[".workerCount"].0,
            );
            let expected = if w == 0 {
                Value::Null
            } else {
                json!(((r as f64 / w as f64) * 10_000.0).round() / 10_000.0)
            };
            assert_eq!(shown_stats["residentsPerWorker"], expected, "{g}");
            // Hours to the nearest 10, and 0 when no participation is shown.
            let hours = shown_stats["volunteerHours"].as_f64().unwrap();
            let exact_hours = exact["volunteerHours"].as_f64().unwrap();
            assert_eq!(hours % 10.0, 0.0, "{g}: {hours}");
            if shown_counts[".participationCount"].0 == 0 || shown_counts[".volunteerCount"].0 == 0
            {
                assert_eq!(hours, 0.0, "{g}");
            } else {
                assert_eq!(hours, (exact_hours / 10.0).round() * 10.0, "{g}");
            }
            for b in shown_stats["series"].as_array().unwrap() {
                let h = b["volunteerHours"].as_f64().unwrap();
                assert_eq!(h % 10.0, 0.0);
                if b["participationCount"]["value"] == 0 {
                    assert_eq!(h, 0.0);
                }
            }
        }
        // The fixture has counts of every kind, so none of the checks above was vacuous.
        assert!(
            zeros > 10 && small > 10 && large > 5,
            "{zeros} {small} {large}"
        );
        assert!(moved > 0, "perturbation changed nothing");
    }
);

db_test!(
    the_smallest_count_follows_the_setting,
    settings = |s: &mut ServeSettings| s.limits.stats_min_count = 3,
    |app| async move {
        let f = fixture::load(&app.db).await;
        let agency = agency_key(&app).await;
        let vars = json!({ "g": f.grid("D"), "from": "2026-01-01T00:00:00Z", "to": "2027-01-01T00:00:00Z" });
        let exact = counts(&app.gql(FULL, vars.clone()).await["data"]["stats"]);
        let shown = counts(&app.gql_as(Some(&agency), FULL, vars).await["data"]["stats"]);
        let mut threes = 0;
        for (path, (v, perturbed, _)) in &shown {
            let n = exact[path].0;
            if *perturbed {
                assert!(allowed(n, *v, 3), "{path}: {n} shown as {v}");
                // k itself is shown as it is: with the default k = 5 a 3 would be 0 or 5.
                if n == 3 {
                    assert_eq!(*v, 3, "{path}");
                    threes += 1;
                }
            }
        }
        assert!(
            threes >= 2,
            "the fixture has counts of 3 (KEY_CARE, G12's residents)"
        );
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
    Some((counts_only(stats.total()), parts))
}

/// `f` without its cell keys, which are random and differ between two databases.
fn counts_only(f: gridgov::store::stats::Figures) -> gridgov::store::stats::Figures {
    use gridgov::store::stats::Cell;
    let c = |c: Cell| Cell {
        count: c.count,
        key: 0,
    };
    let m = |m: std::collections::BTreeMap<String, Cell>| {
        m.into_iter().map(|(k, v)| (k, c(v))).collect()
    };
    gridgov::store::stats::Figures {
        residents: c(f.residents),
        by_gender: m(f.by_gender),
        by_age_band: m(f.by_age_band),
        by_tag: m(f.by_tag),
        workers: c(f.workers),
        participations: c(f.participations),
        volunteers: c(f.volunteers),
        no_shows: c(f.no_shows),
        attended_or_missed: c(f.attended_or_missed),
        by_organization: f
            .by_organization
            .into_iter()
            .map(|(k, v)| (k, c(v)))
            .collect(),
        ..f
    }
}

#[tokio::test]
async fn sqlite_and_postgres_agree_on_the_demo_data() {
    let Some((pg, pg_parts)) = demo_stats(Backend::Postgres).await else {
        return;
    };
    let (lite, lite_parts) = demo_stats(Backend::Sqlite).await.unwrap();
    assert!(lite.residents.count > 4000, "{lite:?}");
    assert!(lite.participations.count > 1000);
    assert!(lite.workers.count > 50 && lite.volunteers.count > 50);
    assert_eq!(lite_parts, pg_parts);
    assert_eq!(lite, pg);
}

db_test!(
    series_buckets_follow_the_time_zone,
    // A series is charged as 400 buckets (see statistics_are_charged_by_the_work_they_do): more
    // than two in a row would wait for the rate limit.
    settings = |s: &mut ServeSettings| s.auth.rate_limit_points = u32::MAX,
    |app| async move {
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
    }
);

db_test!(
    statistics_are_charged_by_the_work_they_do,
    |app| async move {
        let f = fixture::load(&app.db).await;
        let cost = |body: &Value| {
            assert!(body.get("errors").is_none(), "{body:#}");
            body["extensions"]["cost"]["requestedQueryCost"]
                .as_u64()
                .unwrap()
        };
        let g = json!({ "g": f.grid("D"), "from": "2026-01-01T00:00:00Z", "to": "2027-01-01T00:00:00Z" });
        let list = cost(
            &app.gql("{ grids(first: 100) { nodes { id } } }", json!({}))
                .await,
        );
        assert_eq!(
            list, 201,
            "listing 100 nodes: the unit of the charges below"
        );
        let one = "query($g: ID!, $from: DateTime, $to: DateTime) { stats(withinGridId: $g, from: $from, to: $to) { gridCount { value } } }";
        let stats = cost(&app.gql(one, g.clone()).await);
        assert!(stats >= list, "{stats}");
        let nested = cost(
            &app.gql(
                "query($g: ID!) { grid(id: $g) { stats { gridCount { value } } } }",
                g.clone(),
            )
            .await,
        );
        assert!(nested > list, "Grid.stats: {nested}");
        // byChildGrid: 100 children whatever their number, each at least a page of 100 nodes.
        let children = cost(&app.gql("query($g: ID!) { stats(withinGridId: $g) { gridCount { value } byChildGrid { gridCount { value } } } }", g.clone()).await);
        assert!(children - stats >= 100 * list, "{children}");
        // series: 400 buckets whatever the window, each at least a page of 100 nodes.
        let series = cost(&app.gql("query($g: ID!, $from: DateTime, $to: DateTime) { stats(withinGridId: $g, from: $from, to: $to) { gridCount { value } series(interval: MONTH) { start } } }", g.clone()).await);
        assert!(series - stats >= 400 * list, "{series}");
        // Every figure with byChildGrid and a series stays within the default limit (250,000)…
        let full = cost(&app.gql(FULL, g.clone()).await);
        assert!(full > series && full <= 250_000, "{full}");
        // …but a series for every child (a statement pair per child) does not.
        let body = app.gql("query($g: ID!, $from: DateTime, $to: DateTime) { stats(withinGridId: $g, from: $from, to: $to) { byChildGrid { series(interval: DAY) { start } } } }", g).await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{body}"
        );
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("complex"),
            "{body}"
        );
    }
);
