//! Incidents: the life cycle with every illegal step refused, routing by the responsibility
//! list, escalation, deadlines and `overdue`, concurrent steps, history, and roles.

use crate::db_test;
use crate::fixture::{self, Fixture};
use crate::harness::TestApp;
use chrono::{Duration, Utc};
use gridgov::auth::Role;
use gridgov::config::ServeSettings;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

const REPORT: &str = "mutation($i: ReportIncidentInput!) { reportIncident(input: $i) { incident { id status source severity version dueAt acceptDueAt overdue assigneePerson { id } assigneeOrganization { id } handlingGrid { id } contactPhone } } }";
const FIELDS: &str = "incident { id status version escalations handlingGrid { id } assigneePerson { id } assigneeOrganization { id } closedAt resolvedAt acceptedAt dueAt satisfaction overdue }";
const SET_RESP: &str = "mutation($i: SetResponsibilityInput!) { setResponsibility(input: $i) { responsibility { id version } } }";
const HISTORY: &str = "query($id: ID!) { incident(id: $id) { version history { kind fromStatus toStatus position comment reason satisfaction actor } } }";

fn step_query(name: &str, extra: &str) -> String {
    let (decl, args) = match extra {
        "reason" => (", $reason: String!", ", reason: $reason"),
        "assignee" => (", $assigneeId: ID", ", assigneeId: $assigneeId"),
        "satisfaction" => (", $satisfaction: Int!", ", satisfaction: $satisfaction"),
        _ => ("", ""),
    };
    format!(
        "mutation($id: ID!, $note: String, $v: Int{decl}) {{ {name}(id: $id, note: $note, expectedVersion: $v{args}) {{ {FIELDS} }} }}"
    )
}

/// Runs a step as `token` (the admin key when `None`); returns the whole response.
async fn step_as(
    app: &TestApp,
    token: Option<&str>,
    name: &str,
    extra: &str,
    vars: Value,
) -> Value {
    let token = token.unwrap_or(&app.admin_key);
    app.gql_as(Some(token), &step_query(name, extra), vars)
        .await
}

/// Runs a step that must succeed; returns the incident.
async fn step_ok(app: &TestApp, name: &str, extra: &str, vars: Value) -> Value {
    let body = step_as(app, None, name, extra, vars).await;
    assert!(body.get("errors").is_none(), "{name}: {body:#}");
    body["data"][name]["incident"].clone()
}

fn code(body: &Value) -> (String, String) {
    let e = &body["errors"][0]["extensions"];
    (
        e["code"].as_str().unwrap_or("").to_owned(),
        e["reason"].as_str().unwrap_or("").to_owned(),
    )
}

fn report_input(grid: &str, category: &str) -> Value {
    json!({ "gridId": grid, "categoryCode": category, "title": "路面塌陷", "description": "小区门口路面塌陷约一米", "latitude": 37.36, "longitude": 120.40, "address": "金晖路12号", "contactName": "王先生", "contactPhone": "13812345678" })
}

async fn report_as(app: &TestApp, token: &str, input: Value) -> Value {
    let body = app.gql_as(Some(token), REPORT, json!({ "i": input })).await;
    assert!(body.get("errors").is_none(), "report: {body:#}");
    body["data"]["reportIncident"]["incident"].clone()
}

async fn report(app: &TestApp, input: Value) -> Value {
    report_as(app, &app.admin_key.clone(), input).await
}

/// The responsibility lines of the tests: C1 × CITY → the street office; G11 × CITY_ROAD →
/// the grid worker wang_fang.
async fn responsibilities(app: &TestApp, f: &Fixture) {
    for (grid, code, assignee) in [
        (f.grid("C1"), "CITY", f.org("gov")),
        (f.grid("G11"), "CITY_ROAD", f.person("wang_fang")),
        (f.grid("S"), "SANITATION", f.org("vol")),
    ] {
        let body = app
            .gql(
                SET_RESP,
                json!({ "i": { "gridId": grid, "categoryCode": code, "assigneeId": assignee } }),
            )
            .await;
        assert!(body.get("errors").is_none(), "{body:#}");
    }
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

db_test!(
    incident_goes_through_the_whole_life_cycle,
    |app| async move {
        let f = fixture::load(&app.db).await;
        responsibilities(&app, &f).await;
        let inc = report(&app, report_input(&f.grid("G11"), "CITY_ROAD")).await;
        assert_eq!(inc["status"], "REPORTED");
        assert_eq!(
            inc["source"], "PORTAL",
            "ADMIN without `source` reports as PORTAL"
        );
        assert_eq!(inc["severity"], "GENERAL", "the category's default");
        assert_eq!(inc["assigneePerson"]["id"], f.person("wang_fang"));
        assert_eq!(inc["overdue"], false);
        let i = id(&inc);
        let mut v = 1;
        for (name, extra, vars, status) in [
            ("acceptIncident", "", json!({}), "ACCEPTED"),
            ("dispatchIncident", "assignee", json!({}), "DISPATCHED"),
            (
                "startIncident",
                "",
                json!({ "note": "已到现场" }),
                "IN_PROGRESS",
            ),
            ("resolveIncident", "", json!({}), "RESOLVED"),
            ("verifyIncident", "", json!({}), "VERIFIED"),
            ("closeIncident", "", json!({}), "CLOSED"),
        ] {
            let mut vars = vars;
            vars["id"] = json!(i);
            vars["v"] = json!(v);
            let got = step_ok(&app, name, extra, vars).await;
            assert_eq!(got["status"], status, "{name}");
            v += 1;
            assert_eq!(got["version"], v, "{name} bumps the version");
        }
        let rated = step_ok(
            &app,
            "rateIncident",
            "satisfaction",
            json!({ "id": i, "satisfaction": 5, "v": v }),
        )
        .await;
        assert_eq!(rated["satisfaction"], 5);
        assert_eq!(rated["status"], "CLOSED", "rating changes no status");
        assert_eq!(
            rated["assigneePerson"]["id"],
            f.person("wang_fang"),
            "dispatch without assigneeId takes the routed assignee"
        );
        assert!(rated["closedAt"].is_string() && rated["acceptedAt"].is_string());

        let h = app.data(HISTORY, json!({ "id": i })).await;
        let history = h["incident"]["history"].as_array().expect("history");
        let kinds: Vec<&str> = history
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            [
                "REPORTED",
                "ACCEPTED",
                "DISPATCHED",
                "STARTED",
                "RESOLVED",
                "VERIFIED",
                "CLOSED",
                "RATED"
            ]
        );
        let positions: Vec<i64> = history
            .iter()
            .map(|e| e["position"].as_i64().unwrap())
            .collect();
        assert_eq!(positions, (1..=8).collect::<Vec<i64>>());
        assert_eq!(h["incident"]["version"], 8);
        assert_eq!(history[3]["comment"], "已到现场");
        assert_eq!(history[3]["fromStatus"], "DISPATCHED");
        assert_eq!(history[3]["toStatus"], "IN_PROGRESS");
        assert_eq!(history[7]["satisfaction"], 5);

        // One audit entry per mutation, and the feed carries the incident's changes.
        let audit = app
            .data(
                "{ auditLog(filter: { entityType: \"Incident\" }, first: 50) { totalCount } }",
                json!({}),
            )
            .await;
        assert_eq!(audit["auditLog"]["totalCount"], 8, "{audit}");
        let feed = app
            .data(
                "{ changes(entityTypes: [INCIDENT], first: 50) { nodes { kind objectId } } }",
                json!({}),
            )
            .await;
        let nodes = feed["changes"]["nodes"].as_array().expect("feed");
        assert_eq!(nodes.len(), 8, "{feed}");
        assert_eq!(nodes[0]["kind"], "CREATED");
        assert!(nodes.iter().all(|n| n["objectId"] == json!(i)));
    }
);

db_test!(routing_takes_the_most_specific_line, |app| async move {
    let f = fixture::load(&app.db).await;
    responsibilities(&app, &f).await;
    // G12 has no line of its own: C1's line for the parent category CITY applies.
    let g12 = report(&app, report_input(&f.grid("G12"), "CITY_ROAD")).await;
    assert_eq!(g12["assigneeOrganization"]["id"], f.org("gov"));
    assert!(g12["assigneePerson"].is_null());
    // G11 × CITY_ROAD beats C1 × CITY; another CITY subcategory in G11 falls back to C1.
    let road = report(&app, report_input(&f.grid("G11"), "CITY_ROAD")).await;
    assert_eq!(road["assigneePerson"]["id"], f.person("wang_fang"));
    let lamp = report(&app, report_input(&f.grid("G11"), "CITY_STREETLIGHT")).await;
    assert_eq!(lamp["assigneeOrganization"]["id"], f.org("gov"));
    // The street's line covers every grid below it.
    let waste = report(&app, report_input(&f.grid("G21"), "SANITATION_WASTE")).await;
    assert_eq!(waste["assigneeOrganization"]["id"], f.org("vol"));
    // No line at all: nobody is routed, and dispatch then needs an assignee.
    let none = report(&app, report_input(&f.grid("G21"), "DISPUTE_NEIGHBOUR")).await;
    assert!(none["assigneePerson"].is_null() && none["assigneeOrganization"].is_null());
    step_ok(&app, "acceptIncident", "", json!({ "id": id(&none) })).await;
    let body = step_as(
        &app,
        None,
        "dispatchIncident",
        "assignee",
        json!({ "id": id(&none) }),
    )
    .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "assigneeId");
    // A person who is not a grid worker cannot be assigned.
    let body = step_as(
        &app,
        None,
        "dispatchIncident",
        "assignee",
        json!({ "id": id(&none), "assigneeId": f.person("zhang_wei") }),
    )
    .await;
    assert_eq!(
        body["errors"][0]["extensions"]["field"], "assigneeId",
        "{body}"
    );
    let got = step_ok(
        &app,
        "dispatchIncident",
        "assignee",
        json!({ "id": id(&none), "assigneeId": f.person("yang_lei") }),
    )
    .await;
    assert_eq!(got["assigneePerson"]["id"], f.person("yang_lei"));
    // Replacing a line changes the routing of later reports only.
    let body = app
        .gql(
            SET_RESP,
            json!({ "i": { "gridId": f.grid("C1"), "categoryCode": "CITY", "assigneeId": f.org("vol") } }),
        )
        .await;
    assert_eq!(
        body["data"]["setResponsibility"]["responsibility"]["version"],
        2
    );
    let again = report(&app, report_input(&f.grid("G12"), "CITY_ROAD")).await;
    assert_eq!(again["assigneeOrganization"]["id"], f.org("vol"));
    let list = app
        .data(
            "query($g: ID) { responsibilities(withinGridId: $g) { totalCount } }",
            json!({ "g": f.grid("C1") }),
        )
        .await;
    assert_eq!(
        list["responsibilities"]["totalCount"], 2,
        "C1's and G11's lines"
    );
});

db_test!(illegal_transitions_are_conflicts, |app| async move {
    let f = fixture::load(&app.db).await;
    let inc = report(&app, report_input(&f.grid("G11"), "CITY_ROAD")).await;
    let i = id(&inc);
    for (name, extra, vars) in [
        ("startIncident", "", json!({})),
        ("resolveIncident", "", json!({})),
        ("verifyIncident", "", json!({})),
        (
            "dispatchIncident",
            "assignee",
            json!({ "assigneeId": f.org("gov") }),
        ),
        ("reopenIncident", "", json!({})),
        ("rateIncident", "satisfaction", json!({ "satisfaction": 3 })),
        ("closeIncident", "", json!({})),
    ] {
        let mut vars = vars;
        vars["id"] = json!(i);
        let body = step_as(&app, None, name, extra, vars).await;
        assert_eq!(
            code(&body),
            ("CONFLICT".into(), "INVALID_TRANSITION".into()),
            "{name}: {body}"
        );
        assert_eq!(body["errors"][0]["extensions"]["currentStatus"], "REPORTED");
    }
    // Nothing was written by the refused steps.
    let h = app.data(HISTORY, json!({ "id": i })).await;
    assert_eq!(h["incident"]["version"], 1);
    assert_eq!(h["incident"]["history"].as_array().unwrap().len(), 1);

    // A reason is required, and must not be blank.
    let body = step_as(
        &app,
        None,
        "rejectIncident",
        "reason",
        json!({ "id": i, "reason": "  " }),
    )
    .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "reason");
    let rejected = step_ok(
        &app,
        "rejectIncident",
        "reason",
        json!({ "id": i, "reason": "不属于本网格职责" }),
    )
    .await;
    assert_eq!(rejected["status"], "REJECTED");
    for name in ["acceptIncident", "startIncident", "reopenIncident"] {
        let body = step_as(&app, None, name, "", json!({ "id": i })).await;
        assert_eq!(code(&body).1, "INVALID_TRANSITION", "{name} after REJECTED");
    }
    let h = app.data(HISTORY, json!({ "id": i })).await;
    assert_eq!(h["incident"]["history"][1]["reason"], "不属于本网格职责");

    // Out-of-range input.
    let body = step_as(
        &app,
        None,
        "rateIncident",
        "satisfaction",
        json!({ "id": i, "satisfaction": 6 }),
    )
    .await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "satisfaction");
    let mut bad = report_input(&f.grid("G11"), "CITY_ROAD");
    bad["longitude"] = Value::Null;
    let body = app.gql(REPORT, json!({ "i": bad })).await;
    assert_eq!(
        body["errors"][0]["extensions"]["field"], "longitude",
        "{body}"
    );
    let mut bad = report_input(&f.grid("G11"), "NO_SUCH_CATEGORY");
    bad["latitude"] = json!(12.0);
    let body = app.gql(REPORT, json!({ "i": bad })).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{body}"
    );
    assert_eq!(body["errors"][0]["extensions"]["field"], "categoryCode");
    let mut bad = report_input(&f.grid("G11"), "CITY_ROAD");
    bad["contactPhone"] = json!("call me maybe");
    let body = app.gql(REPORT, json!({ "i": bad })).await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "contactPhone");
    let mut bad = report_input(&f.grid("G11"), "CITY_ROAD");
    bad["latitude"] = json!(91.0);
    let body = app.gql(REPORT, json!({ "i": bad })).await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "latitude");
});

db_test!(reopen_and_expected_versions, |app| async move {
    let f = fixture::load(&app.db).await;
    let inc = report(&app, report_input(&f.grid("G11"), "CITY_ROAD")).await;
    let i = id(&inc);
    // A stale version is refused with the current one.
    step_ok(&app, "acceptIncident", "", json!({ "id": i, "v": 1 })).await;
    let body = step_as(
        &app,
        None,
        "dispatchIncident",
        "assignee",
        json!({ "id": i, "v": 1, "assigneeId": f.org("gov") }),
    )
    .await;
    assert_eq!(code(&body), ("CONFLICT".into(), "VERSION_MISMATCH".into()));
    assert_eq!(body["errors"][0]["extensions"]["currentVersion"], 2);
    // Concurrent steps on one version: exactly one wins.
    let vars = json!({ "id": i, "v": 2, "assigneeId": f.org("gov") });
    let (a, b) = tokio::join!(
        step_as(&app, None, "dispatchIncident", "assignee", vars.clone()),
        step_as(&app, None, "dispatchIncident", "assignee", vars.clone())
    );
    let wins = [&a, &b]
        .iter()
        .filter(|r| r.get("errors").is_none())
        .count();
    assert_eq!(wins, 1, "{a} {b}");
    let loser = if a.get("errors").is_some() { &a } else { &b };
    assert_eq!(code(loser).0, "CONFLICT", "{loser}");
    for name in ["startIncident", "resolveIncident"] {
        step_ok(&app, name, "", json!({ "id": i })).await;
    }
    let reopened = step_ok(
        &app,
        "reopenIncident",
        "",
        json!({ "id": i, "note": "复查仍未修好" }),
    )
    .await;
    assert_eq!(reopened["status"], "REOPENED");
    assert!(reopened["resolvedAt"].is_null());
    let started = step_ok(&app, "startIncident", "", json!({ "id": i })).await;
    assert_eq!(started["status"], "IN_PROGRESS");
    for name in ["resolveIncident", "verifyIncident", "closeIncident"] {
        step_ok(&app, name, "", json!({ "id": i })).await;
    }
    // Past the window, a closed incident stays closed.
    let old = at(Utc::now() - Duration::days(31));
    exec(
        &app,
        &format!("UPDATE incident SET closed_at = '{old}', resolved_at = '{old}'"),
    )
    .await;
    let body = step_as(&app, None, "reopenIncident", "", json!({ "id": i })).await;
    assert_eq!(
        code(&body),
        ("CONFLICT".into(), "REOPEN_WINDOW_PASSED".into()),
        "{body}"
    );
});

/// An instant as both databases read it in SQL (SQLite compares the text sqlx writes:
/// RFC 3339 with `+00:00`).
fn at(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
}

/// Runs raw SQL on the test database (to move deadlines and times into the past).
async fn exec(app: &TestApp, sql: &str) {
    let backend = app.db.get_database_backend();
    app.db
        .execute_raw(Statement::from_string(backend, sql.to_owned()))
        .await
        .expect("raw update");
}

db_test!(
    escalation_moves_the_incident_to_the_parent_office,
    |app| async move {
        let f = fixture::load(&app.db).await;
        responsibilities(&app, &f).await;
        let inc = report(&app, report_input(&f.grid("G11"), "CITY_ROAD")).await;
        let i = id(&inc);
        let manager = app
            .key(Role::GridManager, &["370685001001-01"], None, &[])
            .await;
        let body = step_as(
            &app,
            Some(&manager),
            "escalateIncident",
            "reason",
            json!({ "id": i, "reason": "需要城管执法" }),
        )
        .await;
        assert!(body.get("errors").is_none(), "{body}");
        let esc = &body["data"]["escalateIncident"]["incident"];
        assert_eq!(esc["status"], "ESCALATED");
        assert!(
            esc["handlingGrid"].is_null(),
            "the parent grid lies outside the G11 manager's subtree"
        );
        let q = "query($id: ID!) { incident(id: $id) { handlingGrid { id } } }";
        let by_admin = app.data(q, json!({ "id": i })).await;
        assert_eq!(by_admin["incident"]["handlingGrid"]["id"], f.grid("C1"));
        assert_eq!(esc["escalations"], 1);
        assert!(esc["acceptedAt"].is_null());
        assert_eq!(
            esc["assigneeOrganization"]["id"],
            f.org("gov"),
            "routed by the parent's line"
        );
        // The grid's own manager still sees it (the incident stays in its grid).
        let seen = app
            .gql_as(
                Some(&manager),
                "query($id: ID!) { incident(id: $id) { status } }",
                json!({ "id": i }),
            )
            .await;
        assert_eq!(seen["data"]["incident"]["status"], "ESCALATED");
        // Escalated again up to the district, then no further.
        for expected in ["S", "D"] {
            let got = step_ok(
                &app,
                "escalateIncident",
                "reason",
                json!({ "id": i, "reason": "上级协调" }),
            )
            .await;
            assert_eq!(got["handlingGrid"]["id"], f.grid(expected));
        }
        let body = step_as(
            &app,
            None,
            "escalateIncident",
            "reason",
            json!({ "id": i, "reason": "再上报" }),
        )
        .await;
        assert_eq!(code(&body), ("CONFLICT".into(), "NO_PARENT_GRID".into()));
        let accepted = step_ok(&app, "acceptIncident", "", json!({ "id": i })).await;
        assert_eq!(accepted["status"], "ACCEPTED");
        assert_eq!(accepted["escalations"], 3);
        let h = app.data(HISTORY, json!({ "id": i })).await;
        assert_eq!(h["incident"]["history"][1]["reason"], "需要城管执法");
        assert_eq!(h["incident"]["history"][1]["kind"], "ESCALATED");
    }
);

db_test!(simple_incidents_close_on_the_spot, |app| async move {
    let f = fixture::load(&app.db).await;
    let worker = app
        .key(Role::GridManager, &["370685001001-01"], None, &[])
        .await;
    let lamp = report_as(
        &app,
        &worker,
        report_input(&f.grid("G11"), "CITY_STREETLIGHT"),
    )
    .await;
    assert_eq!(lamp["source"], "GRID_WORKER");
    assert_eq!(lamp["severity"], "SIMPLE");
    // Another grid manager of the same grid did not report it.
    let other = app
        .key(Role::GridManager, &["370685001001"], None, &[])
        .await;
    let body = step_as(
        &app,
        Some(&other),
        "closeIncident",
        "",
        json!({ "id": id(&lamp) }),
    )
    .await;
    assert_eq!(code(&body).1, "INVALID_TRANSITION", "{body}");
    let body = step_as(
        &app,
        Some(&worker),
        "closeIncident",
        "",
        json!({ "id": id(&lamp), "note": "已现场更换灯泡" }),
    )
    .await;
    assert!(body.get("errors").is_none(), "{body}");
    let closed = &body["data"]["closeIncident"]["incident"];
    assert_eq!(closed["status"], "CLOSED");
    assert!(closed["closedAt"].is_string() && closed["resolvedAt"].is_string());
    // A GENERAL incident is not closed on the spot, even by its reporter.
    let road = report_as(&app, &worker, report_input(&f.grid("G11"), "CITY_ROAD")).await;
    let body = step_as(
        &app,
        Some(&worker),
        "closeIncident",
        "",
        json!({ "id": id(&road) }),
    )
    .await;
    assert_eq!(code(&body).1, "INVALID_TRANSITION");
    // A grid manager reports only inside its subtrees.
    let body = app
        .gql_as(
            Some(&worker),
            REPORT,
            json!({ "i": report_input(&f.grid("G21"), "CITY_ROAD") }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{body}"
    );
    // Only ADMIN chooses the source.
    let mut hotline = report_input(&f.grid("G11"), "CITY_ROAD");
    hotline["source"] = json!("HOTLINE");
    let body = app
        .gql_as(Some(&worker), REPORT, json!({ "i": hotline.clone() }))
        .await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "source");
    let got = report(&app, hotline).await;
    assert_eq!(got["source"], "HOTLINE");
});

db_test!(overdue_follows_the_deadlines, |app| async move {
    let f = fixture::load(&app.db).await;
    let a = report(&app, report_input(&f.grid("G11"), "CITY_ROAD")).await;
    let b = report(&app, report_input(&f.grid("G11"), "CITY_ROAD")).await;
    let c = report(&app, report_input(&f.grid("G12"), "CITY_ROAD")).await;
    // a: unaccepted past its acceptance deadline; b: accepted, so only `dueAt` counts; c: on time.
    let past = at(Utc::now() - Duration::hours(1));
    let (ia, ib) = (id(&a), id(&b));
    exec(
        &app,
        &format!("UPDATE incident SET accept_due_at = '{past}' WHERE version = 1"),
    )
    .await;
    step_ok(&app, "acceptIncident", "", json!({ "id": ib })).await;
    let q = "query($o: Boolean) { incidents(filter: { overdue: $o }, first: 50) { nodes { id overdue } } }";
    let overdue = app.data(q, json!({ "o": true })).await;
    let got: Vec<&str> = overdue["incidents"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    assert!(got.contains(&ia.as_str()), "{overdue}");
    assert!(
        !got.contains(&ib.as_str()),
        "accepted: the acceptance deadline no longer counts"
    );
    exec(
        &app,
        &format!("UPDATE incident SET due_at = '{past}' WHERE status = 'ACCEPTED'"),
    )
    .await;
    let overdue = app.data(q, json!({ "o": true })).await;
    let got: Vec<&str> = overdue["incidents"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        got.len(),
        3,
        "c's acceptance deadline was moved too: {overdue}"
    );
    assert!(
        overdue["incidents"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["overdue"] == true)
    );
    // Finished incidents are never overdue.
    step_ok(
        &app,
        "rejectIncident",
        "reason",
        json!({ "id": id(&c), "reason": "重复上报" }),
    )
    .await;
    let on_time = app.data(q, json!({ "o": false })).await;
    let got: Vec<&str> = on_time["incidents"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    assert_eq!(got, [id(&c).as_str()]);
});

db_test!(
    roles_see_and_change_only_their_incidents,
    settings = |s: &mut ServeSettings| s.auth.jwt_hs256_secret = Some("s3cret".into()),
    |app| async move {
        let f = fixture::load(&app.db).await;
        responsibilities(&app, &f).await;
        // G11 road → wang_fang; G12 road → gov; G21 waste → vol.
        let road = report(&app, report_input(&f.grid("G11"), "CITY_ROAD")).await;
        let gov = report(&app, report_input(&f.grid("G12"), "CITY_ROAD")).await;
        let vol = report(&app, report_input(&f.grid("G21"), "SANITATION_WASTE")).await;
        let count = "{ incidents { totalCount nodes { id contactName contactPhone } } }";

        // AGENCY: statistics only.
        let agency = app.key(Role::Agency, &[], None, &[]).await;
        let body = app.gql_as(Some(&agency), count, json!({})).await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "{body}"
        );

        // GRID_MANAGER of C2 sees G21's only; cannot act on G11's.
        let c2 = app
            .key(Role::GridManager, &["370685001002"], None, &[])
            .await;
        let body = app.gql_as(Some(&c2), count, json!({})).await;
        assert_eq!(body["data"]["incidents"]["totalCount"], 1);
        assert_eq!(body["data"]["incidents"]["nodes"][0]["id"], id(&vol));
        assert_eq!(
            body["data"]["incidents"]["nodes"][0]["contactPhone"], "138****5678",
            "masked without pii:read"
        );
        let body = step_as(
            &app,
            Some(&c2),
            "acceptIncident",
            "",
            json!({ "id": id(&road) }),
        )
        .await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "NOT_FOUND",
            "out of scope looks missing"
        );

        // VOLUNTEER_ORG sees what is assigned to it; handles but does not manage it.
        let vol_key = app
            .key(Role::VolunteerOrg, &[], Some(f.orgs["vol"]), &[])
            .await;
        let body = app.gql_as(Some(&vol_key), count, json!({})).await;
        assert_eq!(body["data"]["incidents"]["totalCount"], 1, "{body}");
        assert_eq!(body["data"]["incidents"]["nodes"][0]["id"], id(&vol));
        let body = step_as(
            &app,
            Some(&vol_key),
            "acceptIncident",
            "",
            json!({ "id": id(&vol) }),
        )
        .await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN");
        step_ok(&app, "acceptIncident", "", json!({ "id": id(&vol) })).await;
        step_ok(
            &app,
            "dispatchIncident",
            "assignee",
            json!({ "id": id(&vol) }),
        )
        .await;
        let body = step_as(
            &app,
            Some(&vol_key),
            "startIncident",
            "",
            json!({ "id": id(&vol) }),
        )
        .await;
        assert_eq!(
            body["data"]["startIncident"]["incident"]["status"], "IN_PROGRESS",
            "{body}"
        );
        let body = step_as(
            &app,
            Some(&vol_key),
            "verifyIncident",
            "",
            json!({ "id": id(&vol) }),
        )
        .await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN");
        let body = step_as(
            &app,
            Some(&vol_key),
            "startIncident",
            "",
            json!({ "id": id(&gov) }),
        )
        .await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "NOT_FOUND",
            "not its incident"
        );

        // A resident (JWT with `person`) reports and sees only its own.
        let exp = (Utc::now() + Duration::hours(1)).timestamp();
        let claims = json!({ "sub": "resident-1", "role": "PUBLIC", "person": f.people["zhao_min"], "iss": "gridgov", "aud": "gridgov-api", "exp": exp });
        let resident = jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(b"s3cret"),
        )
        .unwrap();
        let own = report_as(
            &app,
            &resident,
            report_input(&f.grid("G12"), "SANITATION_NOISE"),
        )
        .await;
        assert_eq!(own["source"], "PORTAL");
        assert!(own["contactPhone"].is_null(), "PUBLIC gets no contact data");
        let body = app
            .gql_as(
                Some(&resident),
                "{ incidents { totalCount nodes { id reportedByViewer } } }",
                json!({}),
            )
            .await;
        assert_eq!(body["data"]["incidents"]["totalCount"], 1, "{body}");
        assert_eq!(
            body["data"]["incidents"]["nodes"][0]["reportedByViewer"],
            true
        );
        let body = step_as(
            &app,
            Some(&resident),
            "acceptIncident",
            "",
            json!({ "id": id(&own) }),
        )
        .await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN");
        let body = app
            .gql_as(
                Some(&resident),
                "query($id: ID!) { incident(id: $id) { id } }",
                json!({ "id": id(&road) }),
            )
            .await;
        assert!(
            body["data"]["incident"].is_null(),
            "another's report is invisible"
        );
        for name in [
            "acceptIncident",
            "dispatchIncident",
            "startIncident",
            "resolveIncident",
        ] {
            let extra = if name == "dispatchIncident" {
                "assignee"
            } else {
                ""
            };
            let vars = if extra.is_empty() {
                json!({ "id": id(&own) })
            } else {
                json!({ "id": id(&own), "assigneeId": f.org("gov") })
            };
            step_ok(&app, name, extra, vars).await;
        }
        let body = step_as(
            &app,
            Some(&resident),
            "rateIncident",
            "satisfaction",
            json!({ "id": id(&own), "satisfaction": 4 }),
        )
        .await;
        assert_eq!(
            body["data"]["rateIncident"]["incident"]["satisfaction"], 4,
            "{body}"
        );
        let body = step_as(
            &app,
            Some(&resident),
            "reopenIncident",
            "",
            json!({ "id": id(&own) }),
        )
        .await;
        assert_eq!(
            body["data"]["reopenIncident"]["incident"]["status"], "REOPENED",
            "{body}"
        );
        let body = step_as(
            &app,
            Some(&resident),
            "rateIncident",
            "satisfaction",
            json!({ "id": id(&road), "satisfaction": 1 }),
        )
        .await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "NOT_FOUND");

        // Anonymous callers neither report nor see anything.
        let body = app
            .gql_as(
                None,
                REPORT,
                json!({ "i": report_input(&f.grid("G11"), "CITY_ROAD") }),
            )
            .await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "{body}"
        );
        let body = app
            .gql_as(None, "{ incidents { totalCount } }", json!({}))
            .await;
        assert_eq!(body["data"]["incidents"]["totalCount"], 0);

        // Unmasked contact data is logged.
        let body = app.data(count, json!({})).await;
        assert_eq!(body["incidents"]["nodes"][0]["contactPhone"], "13812345678");
        let log = app
            .data(
                "{ piiAccessLog(first: 100) { nodes { fields } } }",
                json!({}),
            )
            .await;
        assert!(
            log["piiAccessLog"]["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n["fields"].to_string().contains("contactPhone")),
            "{log}"
        );
    }
);

db_test!(reports_are_idempotent_per_key, |app| async move {
    let f = fixture::load(&app.db).await;
    let mut input = report_input(&f.grid("G11"), "CITY_ROAD");
    input["idempotencyKey"] = json!("hotline-20261202-0001");
    let first = report(&app, input.clone()).await;
    let again = report(&app, input.clone()).await;
    assert_eq!(first["id"], again["id"]);
    let total = app.data("{ incidents { totalCount } }", json!({})).await;
    assert_eq!(total["incidents"]["totalCount"], 1);
    input["title"] = json!("另一件事");
    let body = app.gql(REPORT, json!({ "i": input })).await;
    assert_eq!(
        code(&body),
        ("CONFLICT".into(), "IDEMPOTENCY_KEY_REUSED".into())
    );
});

db_test!(
    erasing_a_reporter_erases_the_contact_data_of_their_reports,
    settings = |s: &mut ServeSettings| s.auth.jwt_hs256_secret = Some("s3cret".into()),
    |app| async move {
        let f = fixture::load(&app.db).await;
        let exp = (Utc::now() + Duration::hours(1)).timestamp();
        let claims = json!({ "sub": "resident-2", "role": "PUBLIC", "person": f.people["chen_jing"], "iss": "gridgov", "aud": "gridgov-api", "exp": exp });
        let resident = jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(b"s3cret"),
        )
        .unwrap();
        let own = report_as(
            &app,
            &resident,
            report_input(&f.grid("G12"), "SANITATION_NOISE"),
        )
        .await;
        let other = report(&app, report_input(&f.grid("G12"), "SANITATION_NOISE")).await;
        let q = "query($id: ID!) { incident(id: $id) { contactName contactPhone title version } }";
        let before = app.data(q, json!({ "id": id(&own) })).await;
        assert_eq!(before["incident"]["contactName"], "王先生");
        app.data(
            "mutation($id: ID!) { erasePerson(id: $id, reason: \"本人申请删除\") { erasedId } }",
            json!({ "id": f.person("chen_jing") }),
        )
        .await;
        let after = app.data(q, json!({ "id": id(&own) })).await;
        assert!(after["incident"]["contactName"].is_null(), "{after}");
        assert!(after["incident"]["contactPhone"].is_null());
        assert_eq!(
            after["incident"]["title"], "路面塌陷",
            "the incident itself stays"
        );
        assert_eq!(after["incident"]["version"], before["incident"]["version"]);
        let untouched = app.data(q, json!({ "id": id(&other) })).await;
        assert_eq!(
            untouched["incident"]["contactName"], "王先生",
            "only the erased reporter's"
        );
        let audit = app
            .data(
                "query($id: ID!) { auditLog(filter: { entityId: $id }) { nodes { before after } } }",
                json!({ "id": id(&own) }),
            )
            .await;
        assert!(
            audit["auditLog"]["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .all(|n| n["after"].is_null()),
            "{audit}"
        );
    }
);

db_test!(the_history_cannot_be_rewritten, |app| async move {
    let f = fixture::load(&app.db).await;
    let inc = report(&app, report_input(&f.grid("G11"), "CITY_ROAD")).await;
    step_ok(
        &app,
        "acceptIncident",
        "",
        json!({ "id": id(&inc), "note": "立案" }),
    )
    .await;
    let backend = app.db.get_database_backend();
    for sql in [
        "UPDATE incident_event SET comment = 'rewritten'",
        "DELETE FROM incident_event",
    ] {
        let res = app
            .db
            .execute_raw(Statement::from_string(backend, sql.to_owned()))
            .await;
        assert!(res.is_err(), "{sql} must be refused");
    }
    let h = app.data(HISTORY, json!({ "id": id(&inc) })).await;
    assert_eq!(h["incident"]["history"][1]["comment"], "立案");
    assert_eq!(h["incident"]["history"].as_array().unwrap().len(), 2);
});

db_test!(grids_list_their_incidents, |app| async move {
    let f = fixture::load(&app.db).await;
    for g in ["G11", "G11", "G12", "G21"] {
        report(&app, report_input(&f.grid(g), "CITY_ROAD")).await;
    }
    let q = "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Grid { code own: incidents { totalCount } all: incidents(includeDescendants: true, first: 2) { totalCount nodes { grid { code } } } } } }";
    let d = app
        .data(
            q,
            json!({ "ids": [f.grid("C1"), f.grid("G11"), f.grid("C2")] }),
        )
        .await;
    let counts: Vec<(i64, i64)> = d["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["own"]["totalCount"].as_i64().unwrap(),
                n["all"]["totalCount"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(counts, [(0, 3), (2, 2), (0, 1)]);
    assert_eq!(
        d["nodes"][0]["all"]["nodes"].as_array().unwrap().len(),
        2,
        "paged per grid"
    );
    // A grid manager of C2 sees G21's incident only, also under the district.
    let c2 = app
        .key(Role::GridManager, &["370685001002"], None, &[])
        .await;
    let body = app
        .gql_as(
            Some(&c2),
            "query($id: ID!) { node(id: $id) { ... on Grid { incidents(includeDescendants: true) { totalCount } } } }",
            json!({ "id": f.grid("C2") }),
        )
        .await;
    assert_eq!(body["data"]["node"]["incidents"]["totalCount"], 1, "{body}");
});
