//! Write rules that guard the stored data: clean text, attendance inside the service's window,
//! and registrations that never change hands.

use crate::db_test;
use crate::fixture::{self, Fixture};
use crate::harness::TestApp;
use crate::mutations::{TRANSITION, ok, refused};
use gridgov::auth::Role;
use serde_json::{Value, json};
use std::collections::HashSet;

const CREATE_GRID: &str =
    "mutation($i: CreateGridInput!) { createGrid(input: $i) { grid { id name } } }";
const CREATE_PERSON: &str =
    "mutation($i: CreatePersonInput!) { createPerson(input: $i) { person { id name address } } }";
const UPDATE_PERSON: &str = "mutation($id: ID!, $i: UpdatePersonInput!) { updatePerson(id: $id, input: $i) { person { id name } } }";
const CREATE_ORG: &str = "mutation($i: CreateOrganizationInput!) { createOrganization(input: $i) { organization { id name } } }";
const UPDATE_ORG: &str = "mutation($id: ID!, $i: UpdateOrganizationInput!) { updateOrganization(id: $id, input: $i) { organization { id name } } }";
const CREATE_SERVICE: &str = "mutation($i: CreateServiceInput!) { createService(input: $i) { service { id title description location startsAt endsAt } } }";
const UPDATE_SERVICE: &str = "mutation($id: ID!, $i: UpdateServiceInput!) { updateService(id: $id, input: $i) { service { id title description location startsAt endsAt } } }";
const REGISTER: &str = "mutation($i: RegisterParticipationInput!) { registerParticipation(input: $i) { participation { id status externalRef organization { name } } } }";
const BULK: &str = "mutation($i: [RegisterParticipationInput!]!) { registerParticipations(inputs: $i) { results { participation { id status externalRef } error { code reason } } } }";
const CANCEL: &str = "mutation($id: ID!, $r: String) { cancelParticipation(id: $id, reason: $r) { participation { id status } } }";
const CHECK_IN: &str = "mutation($id: ID!, $at: DateTime) { checkIn(id: $id, at: $at) { participation { status checkedInAt } } }";
const CHECK_OUT: &str = "mutation($id: ID!, $at: DateTime, $m: Int) { checkOut(id: $id, at: $at, minutes: $m) { participation { status checkedOutAt minutes } } }";

fn id_at(data: &Value, pointer: &str) -> String {
    data.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no id at {pointer} in {data}"))
        .to_owned()
}

/// A PUBLISHED service in G11 from `starts` to `ends` (ISO times; `ends` may be null).
async fn service_at(app: &TestApp, f: &Fixture, starts: &str, ends: Value) -> String {
    let data = ok(
        app,
        CREATE_SERVICE,
        json!({ "i": { "gridId": f.grid("G11"), "organizerId": f.org("vol"), "title": "入户走访", "category": "ELDERLY_CARE", "startsAt": starts, "endsAt": ends } }),
    )
    .await;
    let id = id_at(&data, "/createService/service/id");
    ok(app, TRANSITION, json!({ "id": id, "to": "PUBLISHED" })).await;
    id
}

async fn register(app: &TestApp, service: &str, person: &str) -> String {
    let data = ok(
        app,
        REGISTER,
        json!({ "i": { "serviceId": service, "personId": person } }),
    )
    .await;
    id_at(&data, "/registerParticipation/participation/id")
}

// --- Text inputs -------------------------------------------------------------------------

db_test!(
    text_inputs_refuse_control_and_bidi_characters,
    |app| async move {
        let f = fixture::load(&app.db).await;
        let s = service_at(
            &app,
            &f,
            "2026-11-30T01:00:00Z",
            json!("2026-11-30T04:00:00Z"),
        )
        .await;
        let part = register(&app, &s, &f.person("wang_fang")).await;
        let person = f.person("li_na");
        let grid = |name: &str| json!({ "i": { "code": "370685001001-09", "name": name, "level": "GRID", "parentId": f.grid("C1") } });
        let new_person = |i: Value| {
            let mut base = json!({ "name": "新居民", "gridId": f.grid("G21") });
            for (k, v) in i.as_object().unwrap() {
                base[k] = v.clone();
            }
            json!({ "i": base })
        };
        let service = |k: &str, v: &str| {
            let mut i = json!({ "gridId": f.grid("G11"), "organizerId": f.org("vol"), "title": "义诊", "category": "HEALTH", "startsAt": "2026-12-20T01:00:00Z" });
            i[k] = json!(v);
            json!({ "i": i })
        };
        // (what, mutation, variables, field named in the error)
        let cases: Vec<(&str, &str, Value, &str)> = vec![
            (
                "NUL in a grid name",
                CREATE_GRID,
                grid("第九\u{0}网格"),
                "name",
            ),
            (
                "newline in a person's name",
                CREATE_PERSON,
                new_person(json!({ "name": "张\n伟" })),
                "name",
            ),
            (
                "tab in an address (a short text)",
                CREATE_PERSON,
                new_person(json!({ "address": "泉山街道\t3号楼" })),
                "address",
            ),
            (
                "right-to-left override in a person's name",
                UPDATE_PERSON,
                json!({ "id": person, "i": { "name": "李\u{202E}娜" } }),
                "name",
            ),
            (
                "trailing newline in a name",
                UPDATE_PERSON,
                json!({ "id": person, "i": { "name": "李娜\n" } }),
                "name",
            ),
            (
                "first-strong isolate in an organisation's name",
                CREATE_ORG,
                json!({ "i": { "name": "志愿\u{2068}者", "kind": "GOVERNMENT" } }),
                "name",
            ),
            (
                "next line (C1) in an organisation's name",
                UPDATE_ORG,
                json!({ "id": f.org("gov"), "i": { "name": "街道\u{85}办" } }),
                "name",
            ),
            (
                "escape in a contact name",
                CREATE_ORG,
                json!({ "i": { "name": "幸福志愿队", "kind": "GOVERNMENT", "contactName": "\u{1b}[31m王" } }),
                "contactName",
            ),
            (
                "left-to-right embedding in a service title",
                CREATE_SERVICE,
                service("title", "\u{202A}义诊"),
                "title",
            ),
            (
                "NUL in a description (long texts too)",
                CREATE_SERVICE,
                service("description", "说明\u{0}"),
                "description",
            ),
            (
                "pop directional isolate in a description",
                CREATE_SERVICE,
                service("description", "说明\u{2069}"),
                "description",
            ),
            (
                "line separator in a description",
                UPDATE_SERVICE,
                json!({ "id": s, "i": { "description": "第一行\u{2028}第二行" } }),
                "description",
            ),
            (
                "newline in a location",
                UPDATE_SERVICE,
                json!({ "id": s, "i": { "location": "社区\n中心" } }),
                "location",
            ),
            (
                "right-to-left mark in an external reference",
                REGISTER,
                json!({ "i": { "serviceId": s, "personId": f.person("liu_yang"), "externalRef": "A-\u{200F}1" } }),
                "externalRef",
            ),
            (
                "bell in a cancellation reason",
                CANCEL,
                json!({ "id": part, "r": "生病\u{7}" }),
                "reason",
            ),
            (
                "lone carriage return in a cancellation reason",
                CANCEL,
                json!({ "id": part, "r": "生病\r了" }),
                "reason",
            ),
        ];
        for (what, q, v, field) in cases {
            let e = refused(&app, q, v, "BAD_USER_INPUT", Some(field)).await;
            let message = e["message"].as_str().unwrap_or_default();
            assert!(message.contains("must not contain"), "{what}: {e}");
            assert!(
                !message.contains('张') && !message.contains('李'),
                "{what}: the message repeats the value: {message}"
            );
        }
        // Nothing of the above was stored.
        let data = app
            .data(
                "query($p: ID!, $s: ID!, $x: ID!) { person(id: $p) { name } service(id: $s) { description location } participation(id: $x) { status } people(filter: { search: \"新居民\" }) { totalCount } }",
                json!({ "p": person, "s": s, "x": part }),
            )
            .await;
        assert_eq!(data["person"]["name"], "李娜");
        assert_eq!(data["service"]["description"], Value::Null);
        assert_eq!(data["service"]["location"], Value::Null);
        assert_eq!(data["participation"]["status"], "REGISTERED");
        assert_eq!(data["people"]["totalCount"], 0);
    }
);

db_test!(
    long_texts_keep_line_breaks_tabs_and_direction_marks,
    |app| async move {
        let f = fixture::load(&app.db).await;
        let data = ok(
            &app,
            CREATE_SERVICE,
            json!({ "i": { "gridId": f.grid("G11"), "organizerId": f.org("vol"), "title": "义诊", "category": "HEALTH", "startsAt": "2026-11-30T01:00:00Z",
                "description": "第一行\r\n第二行\t(ئۇيغۇرچە\u{200F} 3)\n" } }),
        )
        .await;
        assert_eq!(
            data["createService"]["service"]["description"], "第一行\n第二行\t(ئۇيغۇرچە\u{200F} 3)",
            "CR LF stored as LF, tab and mark kept, trailing newline trimmed"
        );
        let s = id_at(&data, "/createService/service/id");
        ok(&app, TRANSITION, json!({ "id": s, "to": "PUBLISHED" })).await;
        let part = register(&app, &s, &f.person("wang_fang")).await;
        ok(&app, CANCEL, json!({ "id": part, "r": "生病\n改期" })).await;
        let audit = app
            .data(
                "query($id: ID) { auditLog(filter: { entityId: $id, action: \"cancelParticipation\" }) { nodes { details } } }",
                json!({ "id": part }),
            )
            .await;
        assert_eq!(
            audit["auditLog"]["nodes"][0]["details"]["reason"],
            "生病\n改期"
        );
    }
);

db_test!(
    texts_are_stored_nfc_and_counted_after_normalisation,
    |app| async move {
        let f = fixture::load(&app.db).await;
        // "é" written as e + combining acute accent (NFD): 2 characters each, 1 after NFC.
        let nfd = "e\u{301}";
        let data = ok(
            &app,
            CREATE_PERSON,
            json!({ "i": { "name": format!("Ren{nfd}e"), "gridId": f.grid("G21"), "address": format!("Caf{nfd} 3") } }),
        )
        .await;
        let p = &data["createPerson"]["person"];
        assert_eq!(p["name"], "Ren\u{e9}e");
        assert_eq!(p["address"], "Caf\u{e9} 3");
        // A search with the composed spelling finds it.
        let found = app
            .data(
                "{ people(filter: { search: \"Ren\u{e9}e\" }) { totalCount } }",
                json!({}),
            )
            .await;
        assert_eq!(found["people"]["totalCount"], 1);

        // 200 composed characters fit a 200-character name, although 400 were sent.
        let name = nfd.repeat(200);
        let data = ok(
            &app,
            CREATE_GRID,
            json!({ "i": { "code": "370685001001-09", "name": name, "level": "GRID", "parentId": f.grid("C1") } }),
        )
        .await;
        assert_eq!(
            data["createGrid"]["grid"]["name"],
            "\u{e9}".repeat(200),
            "stored composed"
        );
        let e = refused(
            &app,
            CREATE_GRID,
            json!({ "i": { "code": "370685001001-08", "name": nfd.repeat(201), "level": "GRID", "parentId": f.grid("C1") } }),
            "BAD_USER_INPUT",
            Some("name"),
        )
        .await;
        assert!(
            e["message"].as_str().unwrap().contains("at most 200"),
            "{e}"
        );
    }
);

// --- Attendance window -------------------------------------------------------------------

db_test!(
    check_in_and_check_out_stay_inside_the_service_window,
    |app| async move {
        let f = fixture::load(&app.db).await;
        // 01:00–04:00: check-in 23:00 (the day before) to 04:00, check-out until 06:00.
        let s = service_at(
            &app,
            &f,
            "2026-11-30T01:00:00Z",
            json!("2026-11-30T04:00:00Z"),
        )
        .await;
        let a = register(&app, &s, &f.person("wang_fang")).await;
        let b = register(&app, &s, &f.person("liu_yang")).await;
        let c = register(&app, &s, &f.person("yang_lei")).await;

        for at in [
            "1970-01-01T00:00:00Z",
            "2026-11-29T22:59:00Z",
            "2026-11-30T04:00:01Z",
        ] {
            let e = refused(
                &app,
                CHECK_IN,
                json!({ "id": a, "at": at }),
                "BAD_USER_INPUT",
                Some("at"),
            )
            .await;
            assert!(
                e["message"].as_str().unwrap().contains("window"),
                "{at}: {e}"
            );
        }
        // Without `at` the check-in is now, long after the service ended.
        refused(
            &app,
            CHECK_IN,
            json!({ "id": a }),
            "BAD_USER_INPUT",
            Some("at"),
        )
        .await;

        let data = ok(
            &app,
            CHECK_IN,
            json!({ "id": a, "at": "2026-11-29T23:00:00Z" }),
        )
        .await;
        assert_eq!(data["checkIn"]["participation"]["status"], "CHECKED_IN");
        refused(
            &app,
            CHECK_OUT,
            json!({ "id": a, "at": "2026-11-30T06:00:01Z" }),
            "BAD_USER_INPUT",
            Some("at"),
        )
        .await;
        // Without `at` the check-out is now: too late as well.
        refused(
            &app,
            CHECK_OUT,
            json!({ "id": a }),
            "BAD_USER_INPUT",
            Some("at"),
        )
        .await;
        // Explicit minutes above the time inside the window are refused.
        refused(
            &app,
            CHECK_OUT,
            json!({ "id": a, "at": "2026-11-30T06:00:00Z", "m": 421 }),
            "BAD_USER_INPUT",
            Some("minutes"),
        )
        .await;
        let data = ok(
            &app,
            CHECK_OUT,
            json!({ "id": a, "at": "2026-11-30T06:00:00Z" }),
        )
        .await;
        assert_eq!(data["checkOut"]["participation"]["minutes"], 420);

        // The last moment of check-in is `endsAt`.
        ok(
            &app,
            CHECK_IN,
            json!({ "id": b, "at": "2026-11-30T04:00:00Z" }),
        )
        .await;
        let data = ok(
            &app,
            CHECK_OUT,
            json!({ "id": b, "at": "2026-11-30T05:30:00Z", "m": 60 }),
        )
        .await;
        assert_eq!(data["checkOut"]["participation"]["minutes"], 60);

        // Moving the service later after a check-in: time before the new window opens is not
        // credited (check-in 23:00, window now opens at 03:00, check-out 05:00 → 120 minutes).
        ok(
            &app,
            CHECK_IN,
            json!({ "id": c, "at": "2026-11-29T23:00:00Z" }),
        )
        .await;
        ok(
            &app,
            UPDATE_SERVICE,
            json!({ "id": s, "i": { "startsAt": "2026-11-30T05:00:00Z", "endsAt": "2026-11-30T07:00:00Z" } }),
        )
        .await;
        let data = ok(
            &app,
            CHECK_OUT,
            json!({ "id": c, "at": "2026-11-30T05:00:00Z" }),
        )
        .await;
        assert_eq!(data["checkOut"]["participation"]["minutes"], 120);

        let hours = app
            .data(
                "query($s: ID!) { participations(filter: { serviceId: $s }) { nodes { minutes } } }",
                json!({ "s": s }),
            )
            .await;
        let total: i64 = hours["participations"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|n| n["minutes"].as_i64())
            .sum();
        assert_eq!(total, 600, "no more than the windows allow");
    }
);

db_test!(
    a_service_without_end_is_taken_to_last_a_day,
    |app| async move {
        let f = fixture::load(&app.db).await;
        let s = service_at(&app, &f, "2026-11-30T01:00:00Z", Value::Null).await;
        let a = register(&app, &s, &f.person("wang_fang")).await;
        refused(
            &app,
            CHECK_IN,
            json!({ "id": a, "at": "2026-12-01T01:00:01Z" }),
            "BAD_USER_INPUT",
            Some("at"),
        )
        .await;
        ok(
            &app,
            CHECK_IN,
            json!({ "id": a, "at": "2026-12-01T00:30:00Z" }),
        )
        .await;
        refused(
            &app,
            CHECK_OUT,
            json!({ "id": a, "at": "2026-12-01T03:00:01Z" }),
            "BAD_USER_INPUT",
            Some("at"),
        )
        .await;
        let data = ok(
            &app,
            CHECK_OUT,
            json!({ "id": a, "at": "2026-12-01T03:00:00Z" }),
        )
        .await;
        assert_eq!(data["checkOut"]["participation"]["minutes"], 150);
    }
);

// --- Registrations never change hands -----------------------------------------------------

/// A second volunteer organisation with `person` as a member; returns its key and name.
async fn second_org(app: &TestApp, person: &str) -> (String, String) {
    let data = ok(
        app,
        CREATE_ORG,
        json!({ "i": { "name": "幸福志愿队", "kind": "VOLUNTEER_ORGANIZATION" } }),
    )
    .await;
    let org = id_at(&data, "/createOrganization/organization/id");
    ok(
        app,
        "mutation($p: ID!, $o: ID!) { addMembership(input: { personId: $p, organizationId: $o }) { membership { id } } }",
        json!({ "p": person, "o": org }),
    )
    .await;
    let (_, uuid) = gridgov::schema::relay::decode_global_id(&org, "id").expect("org id");
    let key = app.key(Role::VolunteerOrg, &[], Some(uuid), &[]).await;
    (key, "幸福志愿队".to_owned())
}

async fn as_ok(app: &TestApp, token: &str, q: &str, v: Value) -> Value {
    let body = app.gql_as(Some(token), q, v).await;
    assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
    body["data"].clone()
}

db_test!(
    re_registration_after_another_organisations_cancellation_is_a_new_participation,
    |app| async move {
        let f = fixture::load(&app.db).await;
        let s = service_at(
            &app,
            &f,
            "2026-12-20T01:00:00Z",
            json!("2026-12-20T04:00:00Z"),
        )
        .await;
        let person = f.person("wang_fang");
        let a = app
            .key(Role::VolunteerOrg, &[], Some(f.orgs["vol"]), &[])
            .await;
        let (b, b_name) = second_org(&app, &person).await;
        let input = |r: &str, key: &str| json!({ "i": { "serviceId": s, "personId": person, "externalRef": r, "idempotencyKey": key } });

        // A registers and cancels.
        let first = as_ok(&app, &a, REGISTER, input("A-1", "same-key")).await;
        let x = id_at(&first, "/registerParticipation/participation/id");
        as_ok(&app, &a, CANCEL, json!({ "id": x })).await;

        // B registers the same person, with the same key string (its own key space).
        let data = as_ok(&app, &b, REGISTER, input("B-1", "same-key")).await;
        let pb = &data["registerParticipation"]["participation"];
        let y = id_at(&data, "/registerParticipation/participation/id");
        assert_ne!(y, x, "B's registration is a new participation");
        assert_eq!(pb["status"], "REGISTERED");
        assert_eq!(pb["externalRef"], "B-1");
        assert_eq!(pb["organization"]["name"], b_name.as_str());

        // A's replay returns A's cancelled row, never B's.
        let again = as_ok(&app, &a, REGISTER, input("A-1", "same-key")).await;
        assert_eq!(
            again["registerParticipation"]["participation"],
            json!({ "id": x, "status": "CANCELLED", "externalRef": "A-1", "organization": { "name": "泉山志愿者协会" } })
        );
        let bulk = as_ok(
            &app,
            &a,
            BULK,
            json!({ "i": [input("A-1", "same-key")["i"]] }),
        )
        .await;
        assert_eq!(
            bulk["registerParticipations"]["results"][0]["participation"],
            json!({ "id": x, "status": "CANCELLED", "externalRef": "A-1" })
        );
        // B's replay returns B's row.
        let again = as_ok(&app, &b, REGISTER, input("B-1", "same-key")).await;
        assert_eq!(id_at(&again, "/registerParticipation/participation/id"), y);

        // One active participation per person and service, whoever registers.
        let e = app
            .gql_as(Some(&a), REGISTER, input("A-2", "other-key"))
            .await;
        assert_eq!(
            e["errors"][0]["extensions"]["reason"], "ALREADY_REGISTERED",
            "{e}"
        );

        // The cancelled row kept its history: registered by A, cancelled, nothing after.
        let data = app
            .data(
                "query($x: ID!, $s: ID!) { participation(id: $x) { status externalRef organization { name } } auditLog(filter: { entityId: $x }) { nodes { action } } participations(filter: { serviceId: $s }) { totalCount } }",
                json!({ "x": x, "s": s }),
            )
            .await;
        assert_eq!(
            data["participation"],
            json!({ "status": "CANCELLED", "externalRef": "A-1", "organization": { "name": "泉山志愿者协会" } })
        );
        let actions: Vec<&str> = data["auditLog"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|n| n["action"].as_str())
            .collect();
        assert_eq!(actions, ["registerParticipation", "cancelParticipation"]);
        assert_eq!(data["participations"]["totalCount"], 2);

        // After B cancels too, A may register the person again: a third row.
        as_ok(&app, &b, CANCEL, json!({ "id": y })).await;
        let data = as_ok(&app, &a, REGISTER, input("A-3", "third-key")).await;
        let z = id_at(&data, "/registerParticipation/participation/id");
        assert_eq!(HashSet::from([&x, &y, &z]).len(), 3);
        let count = app
            .data(
                "query($s: ID!) { service(id: $s) { participantCount } participations(filter: { serviceId: $s }) { totalCount } }",
                json!({ "s": s }),
            )
            .await;
        assert_eq!(count["service"]["participantCount"], 1);
        assert_eq!(count["participations"]["totalCount"], 3);
    }
);

db_test!(
    a_replay_out_of_the_callers_view_is_not_found,
    |app| async move {
        let f = fixture::load(&app.db).await;
        let s = service_at(
            &app,
            &f,
            "2026-12-20T01:00:00Z",
            json!("2026-12-20T04:00:00Z"),
        )
        .await;
        // A grid manager of community C1 registers a resident of its grid.
        let manager = app
            .key(Role::GridManager, &["370685001001"], None, &[])
            .await;
        let input = json!({ "i": { "serviceId": s, "personId": f.person("zhang_wei"), "externalRef": "M-1", "idempotencyKey": "m-1" } });
        let first = as_ok(&app, &manager, REGISTER, input.clone()).await;
        assert_eq!(
            first["registerParticipation"]["participation"]["externalRef"],
            "M-1"
        );
        // The service moves to a grid of another community: out of the manager's view.
        ok(
            &app,
            UPDATE_SERVICE,
            json!({ "id": s, "i": { "gridId": f.grid("G21") } }),
        )
        .await;
        let body = app.gql_as(Some(&manager), REGISTER, input).await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "NOT_FOUND",
            "{body}"
        );
        assert!(
            !body.to_string().contains("M-1"),
            "the replay leaked the row: {body}"
        );
    }
);

db_test!(
    concurrent_registrations_of_one_person_make_one_active_participation,
    |app| async move {
        let f = fixture::load(&app.db).await;
        let s = service_at(
            &app,
            &f,
            "2026-12-20T01:00:00Z",
            json!("2026-12-20T04:00:00Z"),
        )
        .await;
        let app = std::sync::Arc::new(app);
        let mut tasks = Vec::new();
        for i in 0..12 {
            let (app, s, p) = (app.clone(), s.clone(), f.person("li_na"));
            tasks.push(tokio::spawn(async move {
                app.gql(
                    REGISTER,
                    json!({ "i": { "serviceId": s, "personId": p, "externalRef": format!("r-{i}") } }),
                )
                .await
            }));
        }
        let mut succeeded = 0;
        for t in tasks {
            let body = t.await.unwrap();
            match body.get("errors") {
                None => succeeded += 1,
                Some(e) => assert_eq!(e[0]["extensions"]["reason"], "ALREADY_REGISTERED", "{body}"),
            }
        }
        assert_eq!(succeeded, 1);
        let data = app
            .data(
                "query($s: ID!) { participations(filter: { serviceId: $s }) { totalCount } }",
                json!({ "s": s }),
            )
            .await;
        assert_eq!(data["participations"]["totalCount"], 1);
    }
);

db_test!(
    a_boundary_refuses_the_characters_a_short_text_refuses,
    |app| async move {
        let f = fixture::load(&app.db).await;
        let grid = |code: &str, boundary: Value| json!({ "i": { "code": code, "name": "边界", "level": "GRID", "parentId": f.grid("C1"), "boundary": boundary } });
        let square = json!([[[121.0, 37.0], [121.1, 37.0], [121.1, 37.1], [121.0, 37.0]]]);
        for spoof in ["\u{202E}gnirts", "a\u{0000}b", "\u{2066}x"] {
            let boundary = json!({ "type": "Polygon", "coordinates": square, "name": spoof });
            refused(
                &app,
                CREATE_GRID,
                grid("370685001001-31", boundary),
                "BAD_USER_INPUT",
                Some("boundary"),
            )
            .await;
        }
        // The same geometry with a clean name is stored.
        let boundary = json!({ "type": "Polygon", "coordinates": square, "name": "北区" });
        ok(&app, CREATE_GRID, grid("370685001001-31", boundary)).await;
    }
);
