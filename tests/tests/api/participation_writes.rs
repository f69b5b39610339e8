//! Registration (single, bulk, idempotent, concurrent) and the participation life cycle.

use crate::db_test;
use crate::fixture;
use crate::harness::TestApp;
use crate::mutations::{CREATE_SERVICE, TRANSITION, ok, published_service, refused};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use std::collections::HashSet;

const REGISTER: &str = "mutation($i: RegisterParticipationInput!) { registerParticipation(input: $i) { participation { id status role version registeredAt person { name } service { participantCount } organization { name } externalRef } } }";
const BULK: &str = "mutation($i: [RegisterParticipationInput!]!) { registerParticipations(inputs: $i) { succeeded failed results { index participation { id person { name } } error { code field reason message } } } }";

fn reg(service: &str, person: &str) -> Value {
    json!({ "serviceId": service, "personId": person })
}

async fn participation_rows(app: &TestApp, service: &str) -> i64 {
    let q = "query($s: ID!) { participations(filter: { serviceId: $s }) { totalCount } }";
    app.data(q, json!({ "s": service })).await["participations"]["totalCount"]
        .as_i64()
        .unwrap()
}

db_test!(registration_rules, |app| async move {
    let f = fixture::load(&app.db).await;
    let s = published_service(&app, &f, Some(2)).await;
    let data = ok(&app, REGISTER, json!({ "i": { "serviceId": s, "personId": f.person("zhang_wei"), "organizationId": f.org("vol"), "role": "BENEFICIARY", "externalRef": "W-1" } })).await;
    let p = &data["registerParticipation"]["participation"];
    assert_eq!(p["status"], "REGISTERED");
    assert_eq!(p["role"], "BENEFICIARY");
    assert_eq!(p["organization"]["name"], "泉山志愿者协会");
    assert_eq!(p["service"]["participantCount"], 1);
    assert_eq!(p["externalRef"], "W-1");
    let first = p["id"].as_str().unwrap().to_owned();

    let e = refused(
        &app,
        REGISTER,
        json!({ "i": reg(&s, &f.person("zhang_wei")) }),
        "CONFLICT",
        Some("personId"),
    )
    .await;
    assert_eq!(e["extensions"]["reason"], "ALREADY_REGISTERED");
    ok(&app, REGISTER, json!({ "i": reg(&s, &f.person("li_na")) })).await;
    let e = refused(
        &app,
        REGISTER,
        json!({ "i": reg(&s, &f.person("liu_yang")) }),
        "CONFLICT",
        None,
    )
    .await;
    assert_eq!(e["extensions"]["reason"], "SERVICE_FULL");

    // A cancellation frees its place; the cancelled person may register again.
    let cancel = "mutation($id: ID!, $r: String) { cancelParticipation(id: $id, reason: $r) { participation { status } } }";
    ok(&app, cancel, json!({ "id": first, "r": "生病" })).await;
    ok(
        &app,
        REGISTER,
        json!({ "i": reg(&s, &f.person("liu_yang")) }),
    )
    .await;
    refused(
        &app,
        REGISTER,
        json!({ "i": reg(&s, &f.person("zhang_wei")) }),
        "CONFLICT",
        None,
    )
    .await;
    assert_eq!(participation_rows(&app, &s).await, 3);

    // Closed services, unknown objects, malformed ids.
    let e = refused(
        &app,
        REGISTER,
        json!({ "i": reg(&f.service("s4"), &f.person("li_na")) }),
        "CONFLICT",
        None,
    )
    .await;
    assert_eq!(e["extensions"]["reason"], "SERVICE_NOT_OPEN");
    assert_eq!(e["extensions"]["currentStatus"], "DRAFT");
    refused(
        &app,
        REGISTER,
        json!({ "i": reg(&f.service("s1"), &f.person("li_na")) }),
        "CONFLICT",
        None,
    )
    .await;
    let ghost = gridgov::schema::relay::global_id("Person", uuid::Uuid::now_v7()).0;
    refused(
        &app,
        REGISTER,
        json!({ "i": reg(&s, &ghost) }),
        "NOT_FOUND",
        Some("personId"),
    )
    .await;
    refused(
        &app,
        REGISTER,
        json!({ "i": reg(&s, "nonsense") }),
        "BAD_USER_INPUT",
        Some("personId"),
    )
    .await;
    refused(
        &app,
        REGISTER,
        json!({ "i": reg(&f.grid("D"), &f.person("li_na")) }),
        "BAD_USER_INPUT",
        Some("serviceId"),
    )
    .await;

    let audit = app.data("query($id: ID) { auditLog(filter: { entityId: $id }) { nodes { action details before after } } }", json!({ "id": first })).await;
    let actions: Vec<&str> = audit["auditLog"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["registerParticipation", "cancelParticipation"]);
    assert_eq!(audit["auditLog"]["nodes"][1]["details"]["reason"], "生病");
    assert_eq!(
        audit["auditLog"]["nodes"][1]["before"]["status"],
        "REGISTERED"
    );
    assert_eq!(
        audit["auditLog"]["nodes"][1]["after"]["status"],
        "CANCELLED"
    );
});

/// A PUBLISHED service in G11 on 2026-11-30 from 01:00 to 04:00 (UTC), so that attendance
/// times inside its window lie in the past.
async fn past_service(app: &TestApp, f: &fixture::Fixture) -> String {
    let data = ok(app, CREATE_SERVICE, json!({ "i": { "gridId": f.grid("G11"), "organizerId": f.org("vol"), "title": "入户走访", "category": "ELDERLY_CARE",
        "startsAt": "2026-11-30T01:00:00Z", "endsAt": "2026-11-30T04:00:00Z" } })).await;
    let id = data["createService"]["service"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    ok(app, TRANSITION, json!({ "id": id, "to": "PUBLISHED" })).await;
    id
}

db_test!(check_in_check_out_and_end_states, |app| async move {
    let f = fixture::load(&app.db).await;
    let s = past_service(&app, &f).await;
    let id = |d: &Value| {
        d["registerParticipation"]["participation"]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let a = id(&ok(
        &app,
        REGISTER,
        json!({ "i": reg(&s, &f.person("wang_fang")) }),
    )
    .await);
    let b = id(&ok(
        &app,
        REGISTER,
        json!({ "i": reg(&s, &f.person("liu_yang")) }),
    )
    .await);
    let c = id(&ok(
        &app,
        REGISTER,
        json!({ "i": reg(&s, &f.person("yang_lei")) }),
    )
    .await);

    let check_in = "mutation($id: ID!, $at: DateTime, $v: Int) { checkIn(id: $id, at: $at, expectedVersion: $v) { participation { status checkedInAt version } } }";
    let check_out = "mutation($id: ID!, $at: DateTime, $m: Int) { checkOut(id: $id, at: $at, minutes: $m) { participation { status checkedOutAt minutes hours } } }";
    refused(&app, check_out, json!({ "id": a }), "CONFLICT", None).await;
    let data = ok(
        &app,
        check_in,
        json!({ "id": a, "at": "2026-11-30T01:00:00Z", "v": 1 }),
    )
    .await;
    assert_eq!(
        data["checkIn"]["participation"],
        json!({ "status": "CHECKED_IN", "checkedInAt": "2026-11-30T01:00:00+00:00", "version": 2 })
    );
    let e = refused(&app, check_in, json!({ "id": a }), "CONFLICT", None).await;
    assert_eq!(e["extensions"]["currentStatus"], "CHECKED_IN");
    refused(
        &app,
        check_out,
        json!({ "id": a, "at": "2026-11-30T00:59:00Z" }),
        "BAD_USER_INPUT",
        Some("at"),
    )
    .await;
    refused(
        &app,
        check_out,
        json!({ "id": a, "at": "2026-11-30T02:30:00Z", "m": 91 }),
        "BAD_USER_INPUT",
        Some("minutes"),
    )
    .await;
    refused(
        &app,
        check_out,
        json!({ "id": a, "at": "2026-11-30T02:30:00Z", "m": -1 }),
        "BAD_USER_INPUT",
        Some("minutes"),
    )
    .await;
    let data = ok(
        &app,
        check_out,
        json!({ "id": a, "at": "2026-11-30T02:30:00Z" }),
    )
    .await;
    assert_eq!(
        data["checkOut"]["participation"],
        json!({ "status": "COMPLETED", "checkedOutAt": "2026-11-30T02:30:00+00:00", "minutes": 90, "hours": 1.5 })
    );

    ok(
        &app,
        check_in,
        json!({ "id": b, "at": "2026-11-30T01:00:00Z" }),
    )
    .await;
    let data = ok(
        &app,
        check_out,
        json!({ "id": b, "at": "2026-11-30T03:00:00Z", "m": 60 }),
    )
    .await;
    assert_eq!(data["checkOut"]["participation"]["minutes"], 60);
    refused(
        &app,
        check_in,
        json!({ "id": c, "at": "2099-01-01T00:00:00Z" }),
        "BAD_USER_INPUT",
        Some("at"),
    )
    .await;

    let no_show = "mutation($id: ID!) { markNoShow(id: $id) { participation { status } } }";
    refused(&app, no_show, json!({ "id": a }), "CONFLICT", None).await;
    assert_eq!(
        ok(&app, no_show, json!({ "id": c })).await["markNoShow"]["participation"]["status"],
        "NO_SHOW"
    );
    let cancel = "mutation($id: ID!) { cancelParticipation(id: $id) { participation { status } } }";
    refused(&app, cancel, json!({ "id": c }), "CONFLICT", None).await;
    refused(&app, cancel, json!({ "id": a }), "CONFLICT", None).await;

    // Check-in needs an open service.
    let d = id(&ok(
        &app,
        REGISTER,
        json!({ "i": reg(&s, &f.person("zhao_min")) }),
    )
    .await);
    ok(&app, TRANSITION, json!({ "id": s, "to": "CANCELLED" })).await;
    let e = refused(&app, check_in, json!({ "id": d }), "CONFLICT", None).await;
    assert_eq!(e["extensions"]["reason"], "SERVICE_NOT_OPEN");
});

db_test!(
    bulk_registration_reports_each_item_in_order,
    |app| async move {
        let f = fixture::load(&app.db).await;
        let s = published_service(&app, &f, Some(3)).await;
        let items = json!([
            reg(&s, &f.person("zhang_wei")),
            reg(&s, &f.person("zhang_wei")),
            reg(&f.service("s4"), &f.person("li_na")),
            reg(&s, "garbage"),
            reg(&s, &f.person("li_na")),
            reg(&s, &f.person("liu_yang")),
            reg(&s, &f.person("chen_jing")),
        ]);
        let data = ok(&app, BULK, json!({ "i": items })).await;
        let r = &data["registerParticipations"];
        assert_eq!(r["succeeded"], 3);
        assert_eq!(r["failed"], 4);
        let results = r["results"].as_array().unwrap();
        let idx: Vec<i64> = results
            .iter()
            .map(|x| x["index"].as_i64().unwrap())
            .collect();
        assert_eq!(idx, [0, 1, 2, 3, 4, 5, 6]);
        let summary: Vec<(Value, Value)> = results
            .iter()
            .map(|x| {
                (
                    x["participation"]["person"]["name"].clone(),
                    x["error"]["reason"].clone(),
                )
            })
            .collect();
        assert_eq!(summary[0], (json!("张伟"), json!(null)));
        assert_eq!(summary[1].1, "ALREADY_REGISTERED");
        assert_eq!(summary[2].1, "SERVICE_NOT_OPEN");
        assert_eq!(results[3]["error"]["code"], "BAD_USER_INPUT");
        assert_eq!(results[3]["error"]["field"], "personId");
        assert_eq!(summary[4].0, "李娜");
        assert_eq!(summary[5].0, "刘洋");
        assert_eq!(summary[6].1, "SERVICE_FULL");
        assert_eq!(participation_rows(&app, &s).await, 3);

        let too_many: Vec<Value> = (0..1001).map(|_| reg(&s, &f.person("li_na"))).collect();
        refused(
            &app,
            BULK,
            json!({ "i": too_many }),
            "BAD_USER_INPUT",
            Some("inputs"),
        )
        .await;
    }
);

/// Creates `n` residents of G21 through the API and returns their ids.
async fn residents(app: &TestApp, f: &fixture::Fixture, n: usize) -> Vec<String> {
    let q = "mutation($i: CreatePersonInput!) { createPerson(input: $i) { person { id } } }";
    let mut ids = Vec::new();
    for i in 0..n {
        let d = ok(
            app,
            q,
            json!({ "i": { "name": format!("志愿者{i}"), "gridId": f.grid("G21") } }),
        )
        .await;
        ids.push(
            d["createPerson"]["person"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    ids
}

db_test!(
    bulk_registration_statements_do_not_grow_with_the_batch,
    |app| async move {
        let f = fixture::load(&app.db).await;
        let people = residents(&app, &f, 60).await;
        let mut counts = Vec::new();
        for (n, chunk) in [(5usize, &people[..5]), (50, &people[5..55])] {
            let s = published_service(&app, &f, None).await;
            let items: Vec<Value> = chunk.iter().enumerate().map(|(i, p)| json!({ "serviceId": s, "personId": p, "idempotencyKey": format!("k-{n}-{i}") })).collect();
            let body = app.gql(BULK, json!({ "i": items })).await;
            assert!(body.get("errors").is_none(), "{body}");
            assert_eq!(body["data"]["registerParticipations"]["succeeded"], n);
            counts.push(body["extensions"]["sqlStatements"].as_u64().unwrap());
        }
        assert_eq!(
            counts[0], counts[1],
            "statements grow with the batch size: {counts:?}"
        );
    }
);

db_test!(idempotency_keys_replay_and_refuse_reuse, |app| async move {
    let f = fixture::load(&app.db).await;
    let s = published_service(&app, &f, None).await;
    let input =
        json!({ "serviceId": s, "personId": f.person("li_na"), "idempotencyKey": "wenming-42" });
    let first = ok(&app, REGISTER, json!({ "i": input })).await;
    let again = ok(&app, REGISTER, json!({ "i": input })).await;
    assert_eq!(
        first["registerParticipation"]["participation"]["id"],
        again["registerParticipation"]["participation"]["id"]
    );
    assert_eq!(participation_rows(&app, &s).await, 1);
    let audit = app
        .data(
            "{ auditLog(filter: { action: \"registerParticipation\" }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(
        audit["auditLog"]["totalCount"], 1,
        "a replay writes nothing"
    );
    let mut other = input.clone();
    other["personId"] = json!(f.person("liu_yang"));
    let e = refused(&app, REGISTER, json!({ "i": other }), "CONFLICT", None).await;
    assert_eq!(e["extensions"]["reason"], "IDEMPOTENCY_KEY_REUSED");

    // The same key in bulk: replays the earlier result.
    let data = ok(&app, BULK, json!({ "i": [input, other] })).await;
    let results = &data["registerParticipations"]["results"];
    assert_eq!(
        results[0]["participation"]["id"],
        first["registerParticipation"]["participation"]["id"]
    );
    assert_eq!(results[1]["error"]["reason"], "IDEMPOTENCY_KEY_REUSED");

    // Create mutations take keys too.
    let q = "mutation($i: CreateOrganizationInput!) { createOrganization(input: $i) { organization { id } } }";
    let i = json!({ "name": "幸福志愿队", "kind": "VOLUNTEER_ORGANIZATION", "idempotencyKey": "org-1" });
    let a = ok(&app, q, json!({ "i": i })).await;
    let b = ok(&app, q, json!({ "i": i })).await;
    assert_eq!(a, b);
    let data = app
        .data(
            "{ organizations(filter: { search: \"幸福\" }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(data["organizations"]["totalCount"], 1);
    let e = refused(
        &app,
        q,
        json!({ "i": { "name": "别的", "kind": "GOVERNMENT", "idempotencyKey": "org-1" } }),
        "CONFLICT",
        Some("idempotencyKey"),
    )
    .await;
    assert_eq!(e["extensions"]["reason"], "IDEMPOTENCY_KEY_REUSED");
    refused(
        &app,
        q,
        json!({ "i": { "name": "x", "kind": "GOVERNMENT", "idempotencyKey": "" } }),
        "BAD_USER_INPUT",
        Some("idempotencyKey"),
    )
    .await;
});

db_test!(
    capacity_holds_under_fifty_concurrent_registrations,
    |app| async move {
        let f = fixture::load(&app.db).await;
        let people = residents(&app, &f, 50).await;
        let s = published_service(&app, &f, Some(10)).await;
        let app = std::sync::Arc::new(app);
        let mut tasks = Vec::new();
        for p in people {
            let (app, s) = (app.clone(), s.clone());
            tasks.push(tokio::spawn(async move {
                app.gql(REGISTER, json!({ "i": { "serviceId": s, "personId": p } }))
                    .await
            }));
        }
        let mut ok_count = 0;
        for t in tasks {
            let body = t.await.unwrap();
            match body.get("errors") {
                None => ok_count += 1,
                Some(e) => assert_eq!(e[0]["extensions"]["reason"], "SERVICE_FULL", "{body}"),
            }
        }
        assert_eq!(ok_count, 10);
        assert_eq!(participation_rows(&app, &s).await, 10);
    }
);

db_test!(
    concurrent_retries_of_one_key_make_one_record,
    |app| async move {
        let f = fixture::load(&app.db).await;
        let s = published_service(&app, &f, None).await;
        let app = std::sync::Arc::new(app);
        let input = json!({ "serviceId": s, "personId": f.person("wu_ting"), "idempotencyKey": "retry-me" });
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (app, input) = (app.clone(), input.clone());
            tasks.push(tokio::spawn(async move {
                app.gql(REGISTER, json!({ "i": input })).await
            }));
        }
        let mut ids = HashSet::new();
        for t in tasks {
            let body = t.await.unwrap();
            assert!(body.get("errors").is_none(), "{body}");
            ids.insert(
                body["data"]["registerParticipation"]["participation"]["id"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        assert_eq!(ids.len(), 1, "every retry returns the one record");
        assert_eq!(participation_rows(&app, &s).await, 1);

        let q = "mutation($i: CreateServiceInput!) { createService(input: $i) { service { id } } }";
        let input = json!({ "gridId": f.grid("G12"), "organizerId": f.org("gov"), "title": "疫苗接种", "category": "HEALTH", "startsAt": "2026-12-20T01:00:00Z", "idempotencyKey": "svc-1" });
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (app, input) = (app.clone(), input.clone());
            tasks.push(tokio::spawn(async move {
                app.gql(q, json!({ "i": input })).await
            }));
        }
        let mut ids = HashSet::new();
        for t in tasks {
            let body = t.await.unwrap();
            assert!(body.get("errors").is_none(), "{body}");
            ids.insert(
                body["data"]["createService"]["service"]["id"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        assert_eq!(ids.len(), 1);
        let data = app
            .data(
                "{ services(filter: { search: \"疫苗接种\" }) { totalCount } }",
                json!({}),
            )
            .await;
        assert_eq!(data["services"]["totalCount"], 1);
    }
);

db_test!(
    failed_mutation_leaves_no_data_and_no_audit_entry,
    |app| async move {
        let f = fixture::load(&app.db).await;
        // Make the audit write of createPerson fail inside the transaction, after the person row
        // was inserted: the whole mutation must roll back.
        let ddl: &[&str] = match app.db.get_database_backend() {
            sea_orm::DbBackend::Sqlite => &[
                "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log WHEN NEW.action = 'createPerson' BEGIN SELECT RAISE(ABORT, 'audit refused'); END",
            ],
            _ => &[
                "CREATE FUNCTION refuse_audit() RETURNS trigger AS $$ BEGIN IF NEW.action = 'createPerson' THEN RAISE EXCEPTION 'audit refused'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql",
                "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION refuse_audit()",
            ],
        };
        for stmt in ddl {
            app.db.execute_unprepared(stmt).await.unwrap();
        }
        let q = "mutation($i: CreatePersonInput!) { createPerson(input: $i) { person { id } } }";
        let e = refused(
            &app,
            q,
            json!({ "i": { "name": "不应存在", "gridId": f.grid("G21"), "tags": ["KEY_CARE"] } }),
            "INTERNAL",
            None,
        )
        .await;
        assert!(
            !e.to_string().contains("audit refused"),
            "database text leaked: {e}"
        );
        let data = app.data("{ people(filter: { search: \"不应存在\" }) { totalCount } auditLog { totalCount } }", json!({})).await;
        assert_eq!(data["people"]["totalCount"], 0);
        assert_eq!(data["auditLog"]["totalCount"], 0);
        let tags = app
            .data(
                "{ people(filter: { tag: KEY_CARE }) { totalCount } }",
                json!({}),
            )
            .await;
        assert_eq!(
            tags["people"]["totalCount"], 3,
            "no tag row of the rolled-back person"
        );
    }
);
