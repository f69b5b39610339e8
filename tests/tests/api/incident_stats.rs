//! Incident statistics (`GridStats.incidents`): hand-computed figures on incidents made through
//! the API, per subtree, per child grid, in a window and per bucket of a series; perturbation
//! for AGENCY; access by role.

use crate::db_test;
use crate::fixture;
use crate::harness::TestApp;
use crate::stats::allowed;
use chrono::{DateTime, Duration, TimeZone, Utc};
use gridgov::auth::Role;
use gridgov::config::ServeSettings;
use gridgov::store::stats::{Cell, Perturbation};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};

/// Every incident figure, of the root, of each child and of each monthly bucket.
const Q: &str = r#"query($g: ID!, $from: DateTime, $to: DateTime) { stats(withinGridId: $g, from: $from, to: $to, timeZone: "UTC") {
    incidents { ...incidents }
    byChildGrid { grid { code } incidents { ...incidents } }
} }
fragment n on StatCount { value perturbed suppressed }
fragment incidents on IncidentStats {
    count { ...n }
    byStatus { status count { ...n } } byCategory { code category { name } count { ...n } }
    bySeverity { severity count { ...n } } bySource { source count { ...n } }
    closureRate onTimeRate medianHoursToAccept medianHoursToClose
    overdue { ...n } escalations { ...n } meanSatisfaction
}"#;

const SERIES: &str = r#"query($g: ID!, $from: DateTime, $to: DateTime) { stats(withinGridId: $g, from: $from, to: $to, timeZone: "UTC") {
    series(interval: MONTH) { start incidents {
        count { value } byStatus { status count { value } } byCategory { code count { value } }
        bySeverity { severity count { value } } bySource { source count { value } }
        closureRate onTimeRate medianHoursToAccept medianHoursToClose
        overdue { value } escalations { value } meanSatisfaction
    } }
} }"#;

/// 2026-06-01T00:00Z, the fixture's first report.
fn t() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).single().unwrap()
}

/// Sets timestamp columns of the incident titled `title`, directly in the database (report and
/// step times are the server's clock; the figures need known ones).
async fn set_times(app: &TestApp, title: &str, times: &[(&str, DateTime<Utc>)]) {
    let backend = app.db.get_database_backend();
    let ph = |i: usize| match backend {
        DbBackend::Postgres => format!("${i}"),
        _ => "?".to_owned(),
    };
    let sets: Vec<String> = times
        .iter()
        .enumerate()
        .map(|(i, (col, _))| format!("{col} = {}", ph(i + 1)))
        .collect();
    let sql = format!(
        "UPDATE incident SET {} WHERE title = {}",
        sets.join(", "),
        ph(times.len() + 1)
    );
    let mut values: Vec<sea_orm::Value> = times.iter().map(|(_, t)| (*t).into()).collect();
    values.push(title.into());
    let done = app
        .db
        .execute_raw(Statement::from_sql_and_values(backend, sql, values))
        .await
        .unwrap();
    assert_eq!(done.rows_affected(), 1, "{title}");
}

async fn report(app: &TestApp, grid: &str, category: &str, source: &str, title: &str) -> String {
    let d = app
        .data(
            "mutation($i: ReportIncidentInput!) { reportIncident(input: $i) { incident { id } } }",
            json!({ "i": { "gridId": grid, "categoryCode": category, "source": source, "title": title } }),
        )
        .await;
    d["reportIncident"]["incident"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Takes `steps` (mutation names, with `dispatchIncident` to `org`) on incident `id`.
async fn steps(app: &TestApp, id: &str, org: &str, steps: &[&str]) {
    for step in steps {
        let (args, vars) = match *step {
            "dispatchIncident" => ("(id: $id, assigneeId: $a)", json!({ "id": id, "a": org })),
            "rejectIncident" | "escalateIncident" => {
                ("(id: $id, reason: \"test\")", json!({ "id": id }))
            }
            _ => ("(id: $id)", json!({ "id": id })),
        };
        let decl = if *step == "dispatchIncident" {
            "$id: ID!, $a: ID"
        } else {
            "$id: ID!"
        };
        let q = format!("mutation({decl}) {{ {step}{args} {{ incident {{ status }} }} }}");
        app.data(&q, vars).await;
    }
}

async fn rate(app: &TestApp, id: &str, satisfaction: i32) {
    app.data(
        "mutation($id: ID!, $s: Int!) { rateIncident(id: $id, satisfaction: $s) { incident { satisfaction } } }",
        json!({ "id": id, "s": satisfaction }),
    )
    .await;
}

/// Eight incidents in the street S (children C1: G11, G12; C2: G21), all through the API, then
/// their times set. Hand-computed figures are in the tests below.
///
/// | # | grid | category (top) | severity | source | status | accept h | close h | other |
/// |---|---|---|---|---|---|---|---|---|
/// | 1 | G11 | CITY | SIMPLE | PORTAL | CLOSED | 2 | 10 on time | rated 4 |
/// | 2 | G11 | CITY | SIMPLE | GRID_WORKER | CLOSED on the spot | 1 | 30 late | rated 2 |
/// | 3 | G12 | DISPUTE | GENERAL | HOTLINE | REJECTED | – | – | |
/// | 4 | G12 | SAFETY | CRITICAL | PARTNER | ACCEPTED | 6 | – | overdue (due) |
/// | 5 | G21 | SANITATION | SIMPLE | PORTAL | REPORTED | – | – | overdue (accept) |
/// | 6 | G21 | EPIDEMIC | MAJOR | OPEN311 | ESCALATED twice | – | – | |
/// | 7 | G11 | CITY | GENERAL | GRID_WORKER | ESCALATED after acceptance | – | – | overdue (accept) |
/// | 8 | G12 | CITY | MAJOR | HOTLINE | CLOSED | 4 | 20 on time | rated 5 |
///
/// 1–6 are reported in June 2026, 7–8 in July.
async fn incidents(app: &TestApp) -> fixture::Fixture {
    let f = fixture::load(&app.db).await;
    let gov = f.org("gov");
    let full = [
        "acceptIncident",
        "dispatchIncident",
        "startIncident",
        "resolveIncident",
        "verifyIncident",
        "closeIncident",
    ];
    let i1 = report(app, &f.grid("G11"), "CITY_STREETLIGHT", "PORTAL", "i1").await;
    steps(app, &i1, &gov, &full).await;
    rate(app, &i1, 4).await;
    let i2 = report(app, &f.grid("G11"), "CITY_PARKING", "GRID_WORKER", "i2").await;
    steps(app, &i2, &gov, &["closeIncident"]).await;
    rate(app, &i2, 2).await;
    let i3 = report(app, &f.grid("G12"), "DISPUTE_NEIGHBOUR", "HOTLINE", "i3").await;
    steps(app, &i3, &gov, &["rejectIncident"]).await;
    let i4 = report(app, &f.grid("G12"), "SAFETY_GAS", "PARTNER", "i4").await;
    steps(app, &i4, &gov, &["acceptIncident"]).await;
    report(app, &f.grid("G21"), "SANITATION_WASTE", "PORTAL", "i5").await;
    let i6 = report(app, &f.grid("G21"), "EPIDEMIC_LEAD", "OPEN311", "i6").await;
    steps(app, &i6, &gov, &["escalateIncident", "escalateIncident"]).await;
    let i7 = report(app, &f.grid("G11"), "CITY_ROAD", "GRID_WORKER", "i7").await;
    steps(app, &i7, &gov, &["acceptIncident", "escalateIncident"]).await;
    let i8 = report(app, &f.grid("G12"), "CITY_FIRE_LANE", "HOTLINE", "i8").await;
    steps(app, &i8, &gov, &full).await;
    rate(app, &i8, 5).await;

    let (t, h, d) = (t(), Duration::hours, Duration::days);
    set_times(
        app,
        "i1",
        &[
            ("created_at", t),
            ("accepted_at", t + h(2)),
            ("closed_at", t + h(10)),
            ("due_at", t + h(72)),
        ],
    )
    .await;
    let t2 = t + d(1);
    set_times(
        app,
        "i2",
        &[
            ("created_at", t2),
            ("accepted_at", t2 + h(1)),
            ("closed_at", t2 + h(30)),
            ("due_at", t2 + h(24)),
        ],
    )
    .await;
    set_times(app, "i3", &[("created_at", t + d(2))]).await;
    let t4 = t + d(3);
    set_times(
        app,
        "i4",
        &[
            ("created_at", t4),
            ("accepted_at", t4 + h(6)),
            ("due_at", t4 + h(48)),
        ],
    )
    .await;
    // Past its acceptance deadline; its closing deadline (from the report) is still ahead.
    let t5 = t + d(4);
    set_times(
        app,
        "i5",
        &[("created_at", t5), ("accept_due_at", t5 + h(12))],
    )
    .await;
    set_times(app, "i6", &[("created_at", t + d(5))]).await;
    let t7 = t + d(35);
    set_times(
        app,
        "i7",
        &[("created_at", t7), ("accept_due_at", t7 + h(2))],
    )
    .await;
    let t8 = t + d(36);
    set_times(
        app,
        "i8",
        &[
            ("created_at", t8),
            ("accepted_at", t8 + h(4)),
            ("closed_at", t8 + h(20)),
            ("due_at", t8 + h(24)),
        ],
    )
    .await;
    f
}

/// The value of the count of `key` in a breakdown list whose elements name it in `field`.
fn of(list: &Value, field: &str, key: &str) -> i64 {
    list.as_array()
        .unwrap()
        .iter()
        .find(|c| c[field] == key)
        .unwrap_or_else(|| panic!("{key} missing from {list}"))["count"]["value"]
        .as_i64()
        .unwrap()
}

/// A breakdown as `key: value` pairs, in the order listed.
fn pairs(list: &Value, field: &str) -> Vec<(String, i64)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c[field].as_str().unwrap().to_owned(),
                c["count"]["value"].as_i64().unwrap(),
            )
        })
        .collect()
}

db_test!(
    incident_figures_match_hand_computed_values,
    |app| async move {
        // Arrange
        let f = incidents(&app).await;

        // Act: the street, all time.
        let d = app.data(Q, json!({ "g": f.grid("S") })).await;

        // Assert
        let s = &d["stats"]["incidents"];
        assert_eq!(s["count"]["value"], 8);
        assert_eq!(s["count"]["perturbed"], false);
        assert_eq!(
            pairs(&s["byStatus"], "status"),
            [
                ("REPORTED", 1),
                ("ACCEPTED", 1),
                ("DISPATCHED", 0),
                ("IN_PROGRESS", 0),
                ("RESOLVED", 0),
                ("VERIFIED", 0),
                ("CLOSED", 3),
                ("REJECTED", 1),
                ("REOPENED", 0),
                ("ESCALATED", 2),
            ]
            .map(|(k, v)| (k.to_owned(), v))
        );
        assert_eq!(
            pairs(&s["byCategory"], "code"),
            [
                ("CITY", 4),
                ("DISPUTE", 1),
                ("EPIDEMIC", 1),
                ("LIVELIHOOD", 0),
                ("SAFETY", 1),
                ("SANITATION", 1),
            ]
            .map(|(k, v)| (k.to_owned(), v)),
            "sub-categories count under their parent; every top-level category, by code"
        );
        assert_eq!(s["byCategory"][0]["category"]["name"], "城市管理");
        assert_eq!(
            pairs(&s["bySeverity"], "severity"),
            [("SIMPLE", 3), ("GENERAL", 2), ("MAJOR", 2), ("CRITICAL", 1)]
                .map(|(k, v)| (k.to_owned(), v))
        );
        assert_eq!(
            pairs(&s["bySource"], "source"),
            [
                ("PORTAL", 2),
                ("GRID_WORKER", 2),
                ("HOTLINE", 2),
                ("OPEN311", 1),
                ("PARTNER", 1),
            ]
            .map(|(k, v)| (k.to_owned(), v))
        );
        assert_eq!(s["closureRate"], 0.4286, "3 closed of 7 not rejected");
        assert_eq!(s["onTimeRate"], 0.6667, "i2 closed after its deadline");
        assert_eq!(
            s["medianHoursToAccept"], 3.0,
            "1, 2, 4, 6 h: i7 lost its acceptance by escalating"
        );
        assert_eq!(s["medianHoursToClose"], 20.0, "10, 20, 30 h");
        assert_eq!(s["overdue"]["value"], 3, "i4 (due), i5 and i7 (acceptance)");
        assert_eq!(s["escalations"]["value"], 3, "i6 twice, i7 once");
        assert_eq!(s["meanSatisfaction"], 3.67, "(4 + 2 + 5) / 3");

        // Per child grid: incidents are placed by their grid, even when escalated above it.
        let kids = d["stats"]["byChildGrid"].as_array().unwrap();
        let kid = |code: &str| {
            kids.iter()
                .find(|k| k["grid"]["code"] == code)
                .map(|k| k["incidents"].clone())
                .unwrap()
        };
        let (c1, c2) = (kid("370685001001"), kid("370685001002"));
        assert_eq!(c1["count"]["value"], 6);
        assert_eq!(c2["count"]["value"], 2);
        assert_eq!(of(&c1["byStatus"], "status", "CLOSED"), 3);
        assert_eq!(of(&c2["byStatus"], "status", "ESCALATED"), 1);
        assert_eq!(of(&c2["byCategory"], "code", "EPIDEMIC"), 1);
        assert_eq!(c1["closureRate"], 0.6, "3 of 5");
        assert_eq!(c2["closureRate"], 0.0);
        assert_eq!(c1["onTimeRate"], 0.6667);
        assert_eq!(c2["onTimeRate"], Value::Null, "nothing closed");
        assert_eq!(c1["medianHoursToAccept"], 3.0);
        assert_eq!(c2["medianHoursToAccept"], Value::Null);
        assert_eq!(c1["medianHoursToClose"], 20.0);
        assert_eq!(
            (&c1["overdue"]["value"], &c2["overdue"]["value"]),
            (&json!(2), &json!(1))
        );
        assert_eq!(
            (&c1["escalations"]["value"], &c2["escalations"]["value"]),
            (&json!(1), &json!(2))
        );
        assert_eq!(c2["meanSatisfaction"], Value::Null);

        // A child's figures are those of the child's own stats, and Grid.stats agrees.
        let own = app.data(Q, json!({ "g": f.grid("C1") })).await;
        assert_eq!(own["stats"]["incidents"], c1);
        let nested = app
        .data(
            "query($g: ID!) { grid(id: $g) { stats { incidents { count { value } overdue { value } } } } }",
            json!({ "g": f.grid("G21") }),
        )
        .await;
        assert_eq!(
            nested["grid"]["stats"]["incidents"],
            json!({ "count": { "value": 2 }, "overdue": { "value": 1 } })
        );

        // A window: June only (i1–i6).
        let d = app
        .data(
            Q,
            json!({ "g": f.grid("S"), "from": "2026-06-01T00:00:00Z", "to": "2026-07-01T00:00:00Z" }),
        )
        .await;
        let w = &d["stats"]["incidents"];
        assert_eq!(w["count"]["value"], 6);
        assert_eq!(of(&w["byCategory"], "code", "CITY"), 2);
        assert_eq!(w["closureRate"], 0.4, "2 of 5");
        assert_eq!(w["onTimeRate"], 0.5);
        assert_eq!(w["medianHoursToAccept"], 2.0, "1, 2, 6 h");
        assert_eq!(w["medianHoursToClose"], 20.0, "10 and 30 h");
        assert_eq!(w["overdue"]["value"], 2);
        assert_eq!(w["escalations"]["value"], 2);
        assert_eq!(w["meanSatisfaction"], 3.0);
        // The lower bound is inclusive: i1 is reported at 2026-06-01T00:00Z exactly.
        let d = app
        .data(
            Q,
            json!({ "g": f.grid("S"), "from": "2026-06-01T00:00:00Z", "to": "2026-06-01T00:00:01Z" }),
        )
        .await;
        assert_eq!(d["stats"]["incidents"]["count"]["value"], 1);

        // The incident figures are computed only when selected, in three statements for the root
        // and every child together.
        let without = app
        .gql("query($g: ID!) { stats(withinGridId: $g) { gridCount { value } byChildGrid { gridCount { value } } } }", json!({ "g": f.grid("S") }))
        .await["extensions"]["sqlStatements"]
        .as_u64()
        .unwrap();
        let with = app
        .gql("query($g: ID!) { stats(withinGridId: $g) { gridCount { value } incidents { count { value } } byChildGrid { gridCount { value } incidents { count { value } } } } }", json!({ "g": f.grid("S") }))
        .await["extensions"]["sqlStatements"]
        .as_u64()
        .unwrap();
        assert_eq!(with - without, 3, "{without} → {with}");
    }
);

db_test!(
    series_buckets_count_incidents_by_report_time,
    settings = |s: &mut ServeSettings| s.auth.rate_limit_points = u32::MAX,
    |app| async move {
        // Arrange
        let f = incidents(&app).await;

        // Act: June and July 2026, by month.
        let d = app
            .data(
                SERIES,
                json!({ "g": f.grid("S"), "from": "2026-06-01T00:00:00Z", "to": "2026-08-01T00:00:00Z" }),
            )
            .await;

        // Assert
        let buckets = d["stats"]["series"].as_array().unwrap();
        assert_eq!(buckets.len(), 2);
        let (june, july) = (&buckets[0]["incidents"], &buckets[1]["incidents"]);
        assert_eq!(buckets[1]["start"], "2026-07-01T00:00:00+00:00");
        assert_eq!(
            (&june["count"]["value"], &july["count"]["value"]),
            (&json!(6), &json!(2))
        );
        assert_eq!(of(&june["byStatus"], "status", "REJECTED"), 1);
        assert_eq!(of(&july["byStatus"], "status", "ESCALATED"), 1);
        assert_eq!(of(&july["byStatus"], "status", "CLOSED"), 1);
        assert_eq!(of(&july["byCategory"], "code", "CITY"), 2);
        assert_eq!(of(&june["bySeverity"], "severity", "CRITICAL"), 1);
        assert_eq!(of(&july["bySource"], "source", "HOTLINE"), 1);
        assert_eq!(june["closureRate"], 0.4);
        assert_eq!(july["closureRate"], 0.5);
        assert_eq!(
            (&june["onTimeRate"], &july["onTimeRate"]),
            (&json!(0.5), &json!(1.0))
        );
        assert_eq!(june["medianHoursToAccept"], 2.0);
        assert_eq!(july["medianHoursToAccept"], 4.0);
        assert_eq!(june["medianHoursToClose"], 20.0);
        assert_eq!(july["medianHoursToClose"], 20.0);
        assert_eq!(
            (&june["overdue"]["value"], &july["overdue"]["value"]),
            (&json!(2), &json!(1))
        );
        assert_eq!(
            (&june["escalations"]["value"], &july["escalations"]["value"]),
            (&json!(2), &json!(1))
        );
        assert_eq!(
            (&june["meanSatisfaction"], &july["meanSatisfaction"]),
            (&json!(3.0), &json!(5.0))
        );

        // An empty bucket: zeros and nulls.
        let d = app
            .data(
                SERIES,
                json!({ "g": f.grid("S"), "from": "2026-05-01T00:00:00Z", "to": "2026-06-01T00:00:00Z" }),
            )
            .await;
        let may = &d["stats"]["series"][0]["incidents"];
        assert_eq!(may["count"]["value"], 0);
        assert_eq!(may["closureRate"], Value::Null);
        assert_eq!(may["medianHoursToClose"], Value::Null);
    }
);

/// Every count of a response by its path, with `perturbed`.
fn incident_counts(v: &Value) -> Vec<(String, i64, bool)> {
    crate::stats::counts(v)
        .into_iter()
        .map(|(path, (value, perturbed, _))| (path, value, perturbed))
        .collect()
}

/// The cell of the incidents titled in `titles`, from their record keys in the database.
async fn cell_of(app: &TestApp, titles: &[&str]) -> Cell {
    let rows = app
        .db
        .query_all_raw(Statement::from_string(
            app.db.get_database_backend(),
            "SELECT title, record_key FROM incident",
        ))
        .await
        .unwrap();
    let mut sum = 0i64;
    for r in &rows {
        let title: String = r.try_get("", "title").unwrap();
        let key: i32 = r.try_get("", "record_key").unwrap();
        if titles.contains(&title.as_str()) {
            sum += i64::from(key);
        }
    }
    Cell::new(titles.len() as i64, sum)
}

fn share(num: i64, den: i64) -> Value {
    if den == 0 {
        Value::Null
    } else {
        json!(((num.min(den) as f64 / den as f64) * 10_000.0).round() / 10_000.0)
    }
}

db_test!(
    agency_gets_incident_counts_perturbed_and_small_groups_hidden,
    |app| async move {
        // Arrange: k = 5 by default.
        let f = incidents(&app).await;
        let agency = app.key(Role::Agency, &[], None, &[]).await;
        let (k, p) = (5, Perturbation::new(5));
        let vars = json!({ "g": f.grid("S") });

        // Act
        let exact = app.data(Q, vars.clone()).await;
        let shown = app.gql_as(Some(&agency), Q, vars.clone()).await;
        let again = app.gql_as(Some(&agency), Q, vars).await;

        // Assert: every count perturbed within the table's bounds, the same every time.
        assert!(shown.get("errors").is_none(), "{shown:#}");
        assert_eq!(shown["data"], again["data"], "the same figures every time");
        let shown = &shown["data"]["stats"];
        let exact_counts = incident_counts(&exact["stats"]);
        let shown_counts = incident_counts(shown);
        assert_eq!(
            exact_counts.iter().map(|c| &c.0).collect::<Vec<_>>(),
            shown_counts.iter().map(|c| &c.0).collect::<Vec<_>>()
        );
        assert!(exact_counts.len() > 80, "{}", exact_counts.len());
        for ((path, n, exact_perturbed), (_, v, perturbed)) in
            exact_counts.iter().zip(&shown_counts)
        {
            assert!(!exact_perturbed, "{path}: ADMIN gets exact counts");
            assert!(perturbed, "{path}: every incident count is perturbed");
            assert!(allowed(*n, *v, k), "{path}: {n} shown as {v}");
        }
        assert!(
            exact_counts.iter().any(|c| c.1 > 0 && c.1 < k),
            "the fixture has small counts"
        );
        // The published values are those of the cells of record keys, and the rates are of
        // published counts (each its own cell), at most 1.
        let all = ["i1", "i2", "i3", "i4", "i5", "i6", "i7", "i8"];
        let closed = p.publish(cell_of(&app, &["i1", "i2", "i8"]).await);
        let not_rejected =
            p.publish(cell_of(&app, &["i1", "i2", "i4", "i5", "i6", "i7", "i8"]).await);
        let on_time = p.publish(cell_of(&app, &["i1", "i8"]).await);
        let s = &shown["incidents"];
        assert_eq!(s["count"]["value"], p.publish(cell_of(&app, &all).await));
        assert_eq!(of(&s["byStatus"], "status", "CLOSED"), closed);
        assert_eq!(
            s["overdue"]["value"],
            p.publish(cell_of(&app, &["i4", "i5", "i7"]).await)
        );
        assert_eq!(s["closureRate"], share(closed, not_rejected));
        assert_eq!(s["onTimeRate"], share(on_time, closed));
        // Escalations: i6's key twice and i7's once.
        let (i6, i7) = (cell_of(&app, &["i6"]).await, cell_of(&app, &["i7"]).await);
        assert_eq!(s["escalations"]["value"], p.publish(i6 + i6 + i7));
        // Fewer than k accepted, closed or rated incidents: medians and the mean are hidden.
        for stats in [
            s,
            &shown["byChildGrid"][0]["incidents"],
            &shown["byChildGrid"][1]["incidents"],
        ] {
            for hidden in [
                "medianHoursToAccept",
                "medianHoursToClose",
                "meanSatisfaction",
            ] {
                assert_eq!(stats[hidden], Value::Null, "{hidden}");
            }
        }

        // VOLUNTEER_ORG and PUBLIC are refused, as for every statistic.
        let q = "query($g: ID!) { stats(withinGridId: $g) { incidents { count { value } } } }";
        let org = app
            .key(Role::VolunteerOrg, &[], Some(f.orgs["vol"]), &[])
            .await;
        for token in [Some(org.as_str()), None] {
            let body = app.gql_as(token, q, json!({ "g": f.grid("S") })).await;
            assert_eq!(
                body["errors"][0]["extensions"]["code"], "FORBIDDEN",
                "{body}"
            );
            assert_eq!(body["data"], Value::Null, "{body}");
        }
    }
);

db_test!(
    agency_sees_medians_and_means_of_at_least_k_incidents_coarsened,
    settings = |s: &mut ServeSettings| s.limits.stats_min_count = 3,
    |app| async move {
        // Arrange: k = 3, so the street's 4 accepted, 3 closed and 3 rated incidents are enough.
        let f = incidents(&app).await;
        let agency = app.key(Role::Agency, &[], None, &[]).await;

        // Act
        let d = app
            .gql_as(Some(&agency), Q, json!({ "g": f.grid("S") }))
            .await;

        // Assert: to the hour and to the tenth (exact: 3, 20 and 3.67).
        let s = &d["data"]["stats"]["incidents"];
        assert_eq!(s["medianHoursToAccept"], 3.0, "{d}");
        assert_eq!(s["medianHoursToClose"], 20.0);
        assert_eq!(s["meanSatisfaction"], 3.7);
        // C2 has nothing accepted; C1 has all 3 ratings (i1, i2, i8), its mean shown.
        let kid = |code: &str| {
            d["data"]["stats"]["byChildGrid"]
                .as_array()
                .unwrap()
                .iter()
                .find(|k| k["grid"]["code"] == code)
                .map(|k| k["incidents"].clone())
                .unwrap()
        };
        assert_eq!(kid("370685001002")["medianHoursToAccept"], Value::Null);
        assert_eq!(kid("370685001001")["meanSatisfaction"], 3.7);
        // June alone has 2 closed incidents: fewer than k, hidden; ADMIN sees 20.
        let june = json!({ "g": f.grid("S"), "from": "2026-06-01T00:00:00Z", "to": "2026-07-01T00:00:00Z" });
        let d = app.gql_as(Some(&agency), Q, june.clone()).await;
        assert_eq!(
            d["data"]["stats"]["incidents"]["medianHoursToClose"],
            Value::Null
        );
        assert_eq!(
            d["data"]["stats"]["incidents"]["medianHoursToAccept"], 2.0,
            "1, 2, 6 h"
        );
        let d = app.data(Q, june).await;
        assert_eq!(d["stats"]["incidents"]["medianHoursToClose"], 20.0);
    }
);
