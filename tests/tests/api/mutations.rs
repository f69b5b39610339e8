//! Mutations: every success path and every rule, with the exact error code and field.

use crate::db_test;
use crate::fixture::{self, Fixture};
use crate::harness::TestApp;
use serde_json::{Value, json};

/// A valid resident ID number for a birth date `yyyymmdd` and a sequence (odd: male).
pub fn id_number(birth: &str, seq: u32) -> String {
    let first17 = format!("370685{birth}{seq:03}");
    let check = gridgov::validate::id_number_check_char(&first17).expect("17 digits");
    format!("{first17}{check}")
}

/// Runs a mutation that must succeed and returns `data`.
pub async fn ok(app: &TestApp, q: &str, v: Value) -> Value {
    app.data(q, v).await
}

/// Runs a mutation that must fail; asserts its code (and field, when given) and returns the error.
pub async fn refused(app: &TestApp, q: &str, v: Value, code: &str, field: Option<&str>) -> Value {
    let e = app.error(q, v).await;
    assert_eq!(e["extensions"]["code"], code, "{e:#}");
    if let Some(field) = field {
        assert_eq!(e["extensions"]["field"], field, "{e:#}");
    }
    e
}

async fn count(app: &TestApp, q: &str) -> i64 {
    let data = app.data(q, json!({})).await;
    let (_, conn) = data.as_object().unwrap().iter().next().unwrap();
    conn["totalCount"].as_i64().unwrap()
}

async fn audit_count(app: &TestApp, action: &str) -> i64 {
    let data = app
        .data(
            "query($a: String) { auditLog(filter: { action: $a }) { totalCount } }",
            json!({ "a": action }),
        )
        .await;
    data["auditLog"]["totalCount"].as_i64().unwrap()
}

const CREATE_GRID: &str = "mutation($i: CreateGridInput!) { createGrid(input: $i) { grid { id code name level version path: ancestors { code } parent { code } } } }";
const UPDATE_GRID: &str = "mutation($id: ID!, $i: UpdateGridInput!, $v: Int) { updateGrid(id: $id, input: $i, expectedVersion: $v) { grid { id code name version updatedAt ancestors { code } } } }";

db_test!(grid_create_update_move_delete, |app| async move {
    let f = fixture::load(&app.db).await;
    let data = ok(&app, CREATE_GRID, json!({ "i": { "code": "370685001001-03", "name": "金晖社区第三网格", "level": "GRID", "parentId": f.grid("C1"),
        "boundary": { "type": "Polygon", "coordinates": [[[120.0, 37.0], [120.1, 37.0], [120.1, 37.1], [120.0, 37.0]]] } } })).await;
    let g = &data["createGrid"]["grid"];
    assert_eq!(g["version"], 1);
    assert_eq!(g["parent"]["code"], "370685001001");
    assert_eq!(
        g["path"],
        json!([{ "code": "370685" }, { "code": "370685001" }, { "code": "370685001001" }])
    );
    let new_id = g["id"].as_str().unwrap().to_owned();
    assert_eq!(
        count(
            &app,
            &format!(
                "{{ grids(filter: {{ withinGridId: \"{}\" }}) {{ totalCount }} }}",
                f.grid("C1")
            )
        )
        .await,
        4
    );

    // Rename with the right version: version and updatedAt move on.
    let data = ok(
        &app,
        UPDATE_GRID,
        json!({ "id": new_id, "i": { "name": "第三网格" }, "v": 1 }),
    )
    .await;
    assert_eq!(data["updateGrid"]["grid"]["name"], "第三网格");
    assert_eq!(data["updateGrid"]["grid"]["version"], 2);
    // A stale version is refused with the current one.
    let e = refused(
        &app,
        UPDATE_GRID,
        json!({ "id": new_id, "i": { "name": "x" }, "v": 1 }),
        "CONFLICT",
        None,
    )
    .await;
    assert_eq!(e["extensions"]["currentVersion"], 2);

    // Move community C1 (with its grids and residents) under a new street.
    let data = ok(&app, CREATE_GRID, json!({ "i": { "code": "370685002", "name": "罗峰街道", "level": "STREET", "parentId": f.grid("D") } })).await;
    let street2 = data["createGrid"]["grid"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let data = ok(
        &app,
        UPDATE_GRID,
        json!({ "id": f.grid("C1"), "i": { "parentId": street2 } }),
    )
    .await;
    assert_eq!(
        data["updateGrid"]["grid"]["ancestors"],
        json!([{ "code": "370685" }, { "code": "370685002" }])
    );
    let q = "query($g: ID) { grid(id: $g) { residents(includeDescendants: true) { totalCount } } }";
    assert_eq!(
        app.data(q, json!({ "g": street2 })).await["grid"]["residents"]["totalCount"],
        7
    );
    assert_eq!(
        app.data(q, json!({ "g": f.grid("S") })).await["grid"]["residents"]["totalCount"],
        5
    );
    let data = app
        .data(
            "query($g: ID) { grid(id: $g) { ancestors { code } } }",
            json!({ "g": f.grid("G11") }),
        )
        .await;
    assert_eq!(
        data["grid"]["ancestors"],
        json!([{ "code": "370685" }, { "code": "370685002" }, { "code": "370685001001" }])
    );
    assert_eq!(
        count(
            &app,
            &format!("{{ people(filter: {{ withinGridId: \"{street2}\" }}) {{ totalCount }} }}")
        )
        .await,
        7
    );

    // Not under itself or its own descendants.
    let e = refused(
        &app,
        UPDATE_GRID,
        json!({ "id": f.grid("C1"), "i": { "parentId": f.grid("G11") } }),
        "CONFLICT",
        None,
    )
    .await;
    assert_eq!(e["extensions"]["reason"], "CYCLE");

    // Delete: refused while in use, allowed when empty.
    let del = "mutation($id: ID!) { deleteGrid(id: $id) { deletedId } }";
    let e = refused(&app, del, json!({ "id": f.grid("C1") }), "CONFLICT", None).await;
    assert_eq!(e["extensions"]["reason"], "GRID_IN_USE");
    assert_eq!(e["extensions"]["children"], 3);
    refused(&app, del, json!({ "id": f.grid("G11") }), "CONFLICT", None).await;
    let data = ok(&app, del, json!({ "id": new_id })).await;
    assert_eq!(data["deleteGrid"]["deletedId"], json!(new_id));
    assert_eq!(
        app.data(
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": new_id })
        )
        .await["node"],
        json!(null)
    );
    refused(&app, del, json!({ "id": new_id }), "NOT_FOUND", None).await;

    let audit = app
        .data(
            "{ auditLog(filter: { entityType: \"Grid\" }) { nodes { action entityId after } } }",
            json!({}),
        )
        .await;
    assert_eq!(audit_count(&app, "createGrid").await, 2, "{audit:#}");
    assert_eq!(audit_count(&app, "updateGrid").await, 2);
    assert_eq!(audit_count(&app, "deleteGrid").await, 1);
});

db_test!(grid_rules_name_the_field, |app| async move {
    let f = fixture::load(&app.db).await;
    let cases = [
        (
            json!({ "code": "12ab", "name": "x", "level": "GRID", "parentId": f.grid("C1") }),
            "BAD_USER_INPUT",
            "code",
        ),
        (
            json!({ "code": "370685001001-04", "name": "  ", "level": "GRID", "parentId": f.grid("C1") }),
            "BAD_USER_INPUT",
            "name",
        ),
        (
            json!({ "code": "370685001001-04", "name": "x", "level": "STREET", "parentId": f.grid("C1") }),
            "BAD_USER_INPUT",
            "level",
        ),
        (
            json!({ "code": "370686", "name": "x", "level": "GRID" }),
            "BAD_USER_INPUT",
            "parentId",
        ),
        (
            json!({ "code": "370685001001-04", "name": "x", "level": "GRID", "parentId": f.person("li_na") }),
            "BAD_USER_INPUT",
            "parentId",
        ),
        (
            json!({ "code": "370685001001-04", "name": "x", "level": "GRID", "parentId": f.grid("C1"), "boundary": { "type": "Blob" } }),
            "BAD_USER_INPUT",
            "boundary",
        ),
    ];
    for (input, code, field) in cases {
        refused(&app, CREATE_GRID, json!({ "i": input }), code, Some(field)).await;
    }
    let missing = gridgov::schema::relay::global_id("Grid", uuid::Uuid::now_v7()).0;
    refused(&app, CREATE_GRID, json!({ "i": { "code": "370685001001-04", "name": "x", "level": "GRID", "parentId": missing } }), "NOT_FOUND", Some("parentId")).await;
    let e = refused(&app, CREATE_GRID, json!({ "i": { "code": "370685001001-01", "name": "x", "level": "GRID", "parentId": f.grid("C1") } }), "CONFLICT", None).await;
    assert_eq!(e["extensions"]["reason"], "CODE_TAKEN");
    assert_eq!(
        count(&app, "{ grids { totalCount } }").await,
        7,
        "refused creations wrote nothing"
    );
    assert_eq!(audit_count(&app, "createGrid").await, 0);
});

const CREATE_PERSON: &str = "mutation($i: CreatePersonInput!) { createPerson(input: $i) { person { id name gender birthDate phone idNumber tags version grid { code } } } }";

db_test!(person_create_validates_personal_data, |app| async move {
    let f = fixture::load(&app.db).await;
    let idn = id_number("19850612", 123);
    let data = ok(&app, CREATE_PERSON, json!({ "i": { "name": "高峰", "idNumber": idn, "phone": "13912345678", "gridId": f.grid("G21"), "tags": ["KEY_CARE", "KEY_CARE", "DISABLED"] } })).await;
    let p = &data["createPerson"]["person"];
    assert_eq!(
        p["birthDate"], "1985-06-12",
        "birth date comes from the ID number"
    );
    assert_eq!(p["gender"], "MALE", "odd sequence is male");
    assert_eq!(p["grid"]["code"], "370685001002-01");
    let mut tags: Vec<String> = serde_json::from_value(p["tags"].clone()).unwrap();
    tags.sort();
    assert_eq!(tags, ["DISABLED", "KEY_CARE"]);

    let mut bad = idn.clone();
    let last = if bad.ends_with('0') { '1' } else { '0' };
    bad.pop();
    bad.push(last);
    let e = refused(
        &app,
        CREATE_PERSON,
        json!({ "i": { "name": "a", "idNumber": bad, "gridId": f.grid("G21") } }),
        "BAD_USER_INPUT",
        Some("idNumber"),
    )
    .await;
    assert!(
        !e.to_string().contains(&bad[..10]),
        "personal data in an error: {e}"
    );
    refused(&app, CREATE_PERSON, json!({ "i": { "name": "a", "idNumber": id_number("19850230", 2), "gridId": f.grid("G21") } }), "BAD_USER_INPUT", Some("idNumber")).await;
    refused(&app, CREATE_PERSON, json!({ "i": { "name": "a", "idNumber": id_number("19900101", 2), "birthDate": "1990-01-02", "gridId": f.grid("G21") } }), "BAD_USER_INPUT", Some("birthDate")).await;
    refused(&app, CREATE_PERSON, json!({ "i": { "name": "a", "idNumber": id_number("19900101", 2), "gender": "MALE", "gridId": f.grid("G21") } }), "BAD_USER_INPUT", Some("gender")).await;
    for phone in ["12345678901", "1391234567", "139123456789", "1391234567a"] {
        let e = refused(
            &app,
            CREATE_PERSON,
            json!({ "i": { "name": "a", "phone": phone, "gridId": f.grid("G21") } }),
            "BAD_USER_INPUT",
            Some("phone"),
        )
        .await;
        assert!(
            !e.to_string().contains(phone),
            "personal data in an error: {e}"
        );
    }
    let e = refused(
        &app,
        CREATE_PERSON,
        json!({ "i": { "name": "b", "idNumber": idn, "gridId": f.grid("G21") } }),
        "CONFLICT",
        None,
    )
    .await;
    assert_eq!(e["extensions"]["reason"], "ID_NUMBER_TAKEN");
    refused(
        &app,
        CREATE_PERSON,
        json!({ "i": { "name": "b", "gridId": f.org("vol") } }),
        "BAD_USER_INPUT",
        Some("gridId"),
    )
    .await;
    assert_eq!(count(&app, "{ people { totalCount } }").await, 13);

    // The audit trail masks personal data.
    let data = app
        .data(
            "{ auditLog(filter: { action: \"createPerson\" }) { nodes { after entityId } } }",
            json!({}),
        )
        .await;
    let after = &data["auditLog"]["nodes"][0]["after"];
    assert_eq!(after["phone"], "139****5678");
    assert!(!after.to_string().contains(&idn), "{after}");
});

db_test!(person_update_tags_and_delete, |app| async move {
    let f = fixture::load(&app.db).await;
    let upd = "mutation($id: ID!, $i: UpdatePersonInput!, $v: Int) { updatePerson(id: $id, input: $i, expectedVersion: $v) { person { name address phone gridId: grid { code } version } } }";
    let data = ok(&app, upd, json!({ "id": f.person("sun_li"), "i": { "name": "孙莉", "address": null, "gridId": f.grid("G12") }, "v": 1 })).await;
    let p = &data["updatePerson"]["person"];
    assert_eq!(p["name"], "孙莉");
    assert_eq!(p["address"], json!(null));
    assert_eq!(p["gridId"]["code"], "370685001001-02");
    assert_eq!(p["version"], 2);
    assert!(p["phone"].is_string(), "absent fields are left alone");
    refused(
        &app,
        upd,
        json!({ "id": f.person("sun_li"), "i": { "name": null } }),
        "BAD_USER_INPUT",
        Some("name"),
    )
    .await;
    refused(
        &app,
        upd,
        json!({ "id": f.person("sun_li"), "i": { "phone": "999" } }),
        "BAD_USER_INPUT",
        Some("phone"),
    )
    .await;
    let e = refused(
        &app,
        upd,
        json!({ "id": f.person("sun_li"), "i": { "name": "x" }, "v": 1 }),
        "CONFLICT",
        None,
    )
    .await;
    assert_eq!(e["extensions"]["currentVersion"], 2);

    let tags = "mutation($id: ID!, $t: [PersonTag!]!) { setPersonTags(personId: $id, tags: $t) { person { tags version } } }";
    let data = ok(
        &app,
        tags,
        json!({ "id": f.person("sun_li"), "t": ["ELDERLY_LIVING_ALONE"] }),
    )
    .await;
    assert_eq!(
        data["setPersonTags"]["person"]["tags"],
        json!(["ELDERLY_LIVING_ALONE"])
    );
    assert_eq!(data["setPersonTags"]["person"]["version"], 3);
    let data = ok(&app, tags, json!({ "id": f.person("sun_li"), "t": [] })).await;
    assert_eq!(data["setPersonTags"]["person"]["tags"], json!([]));

    let del = "mutation($id: ID!) { deletePerson(id: $id) { deletedId } }";
    let e = refused(
        &app,
        del,
        json!({ "id": f.person("wang_fang") }),
        "CONFLICT",
        None,
    )
    .await;
    assert_eq!(e["extensions"]["reason"], "PERSON_HAS_PARTICIPATIONS");
    ok(&app, del, json!({ "id": f.person("sun_li") })).await;
    refused(
        &app,
        del,
        json!({ "id": f.person("sun_li") }),
        "NOT_FOUND",
        None,
    )
    .await;
    assert_eq!(count(&app, "{ people { totalCount } }").await, 11);
});

db_test!(
    organizations_memberships_and_grid_workers,
    |app| async move {
        let f = fixture::load(&app.db).await;
        let create = "mutation($i: CreateOrganizationInput!) { createOrganization(input: $i) { organization { id name kind contactEmail } } }";
        let data = ok(&app, create, json!({ "i": { "name": "红十字志愿队", "kind": "VOLUNTEER_ORGANIZATION", "contactEmail": "rc@example.org" } })).await;
        let org = data["createOrganization"]["organization"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        refused(
            &app,
            create,
            json!({ "i": { "name": "x", "kind": "GOVERNMENT", "contactEmail": "nope" } }),
            "BAD_USER_INPUT",
            Some("contactEmail"),
        )
        .await;
        let upd = "mutation($id: ID!, $i: UpdateOrganizationInput!) { updateOrganization(id: $id, input: $i) { organization { name contactEmail version } } }";
        let data = ok(
            &app,
            upd,
            json!({ "id": org, "i": { "name": "红十字会志愿服务队", "contactEmail": null } }),
        )
        .await;
        assert_eq!(
            data["updateOrganization"]["organization"],
            json!({ "name": "红十字会志愿服务队", "contactEmail": null, "version": 2 })
        );

        let add = "mutation($i: AddMembershipInput!) { addMembership(input: $i) { membership { id role joinedOn person { name } organization { name } } } }";
        let data = ok(&app, add, json!({ "i": { "personId": f.person("zhou_jie"), "organizationId": org, "role": "COORDINATOR", "joinedOn": "2026-03-01" } })).await;
        let m = &data["addMembership"]["membership"];
        assert_eq!(m["role"], "COORDINATOR");
        assert_eq!(m["joinedOn"], "2026-03-01");
        assert_eq!(m["person"]["name"], "周杰");
        let membership = m["id"].as_str().unwrap().to_owned();
        let e = refused(
            &app,
            add,
            json!({ "i": { "personId": f.person("zhou_jie"), "organizationId": org } }),
            "CONFLICT",
            None,
        )
        .await;
        assert_eq!(e["extensions"]["reason"], "ALREADY_MEMBER");
        refused(
            &app,
            add,
            json!({ "i": { "personId": f.person("zhou_jie"), "organizationId": f.grid("D") } }),
            "BAD_USER_INPUT",
            Some("organizationId"),
        )
        .await;
        let rm = "mutation($id: ID!) { removeMembership(id: $id) { deletedId } }";
        ok(&app, rm, json!({ "id": membership })).await;
        refused(&app, rm, json!({ "id": membership }), "NOT_FOUND", None).await;

        let assign = "mutation($g: ID!, $p: ID!, $r: GridWorkerRole!) { assignGridWorker(gridId: $g, personId: $p, role: $r, since: \"2026-01-01\") { gridAssignment { role since grid { code } person { name } } } }";
        let data = ok(
            &app,
            assign,
            json!({ "g": f.grid("G21"), "p": f.person("huang_qiang"), "r": "GRID_HEAD" }),
        )
        .await;
        assert_eq!(
            data["assignGridWorker"]["gridAssignment"]["grid"]["code"],
            "370685001002-01"
        );
        let e = refused(
            &app,
            assign,
            json!({ "g": f.grid("G21"), "p": f.person("huang_qiang"), "r": "VOLUNTEER" }),
            "CONFLICT",
            None,
        )
        .await;
        assert_eq!(e["extensions"]["reason"], "ALREADY_ASSIGNED");
        let workers = app
            .data(
                "query($g: ID) { grid(id: $g) { workers { role } } }",
                json!({ "g": f.grid("G21") }),
            )
            .await;
        assert_eq!(workers["grid"]["workers"], json!([{ "role": "GRID_HEAD" }]));
        let unassign = "mutation($g: ID!, $p: ID!) { unassignGridWorker(gridId: $g, personId: $p) { deletedId } }";
        ok(
            &app,
            unassign,
            json!({ "g": f.grid("G21"), "p": f.person("huang_qiang") }),
        )
        .await;
        refused(
            &app,
            unassign,
            json!({ "g": f.grid("G21"), "p": f.person("huang_qiang") }),
            "NOT_FOUND",
            None,
        )
        .await;
        for action in [
            "createOrganization",
            "updateOrganization",
            "addMembership",
            "removeMembership",
            "assignGridWorker",
            "unassignGridWorker",
        ] {
            assert_eq!(audit_count(&app, action).await, 1, "{action}");
        }
    }
);

pub const CREATE_SERVICE: &str = "mutation($i: CreateServiceInput!) { createService(input: $i) { service { id status capacity version startsAt endsAt } } }";
pub const TRANSITION: &str = "mutation($id: ID!, $to: ServiceStatus!, $v: Int) { transitionService(id: $id, to: $to, expectedVersion: $v) { service { status version } } }";

/// Creates a service in G11 with `capacity` and moves it to PUBLISHED.
pub async fn published_service(app: &TestApp, f: &Fixture, capacity: Option<i32>) -> String {
    let data = ok(app, CREATE_SERVICE, json!({ "i": { "gridId": f.grid("G11"), "organizerId": f.org("vol"), "title": "入户走访", "category": "ELDERLY_CARE",
        "startsAt": "2026-12-10T01:00:00Z", "endsAt": "2026-12-10T04:00:00Z", "capacity": capacity } })).await;
    let id = data["createService"]["service"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    ok(app, TRANSITION, json!({ "id": id, "to": "PUBLISHED" })).await;
    id
}

db_test!(service_life_cycle_and_rules, |app| async move {
    let f = fixture::load(&app.db).await;
    let base = json!({ "gridId": f.grid("G11"), "organizerId": f.org("vol"), "title": "义诊", "category": "HEALTH", "startsAt": "2026-12-10T01:00:00.123456789Z" });
    let data = ok(&app, CREATE_SERVICE, json!({ "i": base })).await;
    let s = &data["createService"]["service"];
    assert_eq!(s["status"], "DRAFT");
    assert_eq!(
        s["startsAt"], "2026-12-10T01:00:00.123456+00:00",
        "stored with microsecond precision"
    );
    let id = s["id"].as_str().unwrap().to_owned();
    let mut bad = base.clone();
    bad["endsAt"] = json!("2026-12-10T00:00:00Z");
    refused(
        &app,
        CREATE_SERVICE,
        json!({ "i": bad }),
        "BAD_USER_INPUT",
        Some("endsAt"),
    )
    .await;
    let mut bad = base.clone();
    bad["capacity"] = json!(-1);
    refused(
        &app,
        CREATE_SERVICE,
        json!({ "i": bad }),
        "BAD_USER_INPUT",
        Some("capacity"),
    )
    .await;
    let mut bad = base.clone();
    bad["organizerId"] =
        json!(gridgov::schema::relay::global_id("Organization", uuid::Uuid::now_v7()).0);
    refused(
        &app,
        CREATE_SERVICE,
        json!({ "i": bad }),
        "NOT_FOUND",
        Some("organizerId"),
    )
    .await;

    // DRAFT → IN_PROGRESS skips a step.
    let e = refused(
        &app,
        TRANSITION,
        json!({ "id": id, "to": "IN_PROGRESS" }),
        "CONFLICT",
        None,
    )
    .await;
    assert_eq!(e["extensions"]["currentStatus"], "DRAFT");
    for (to, version) in [("PUBLISHED", 2), ("IN_PROGRESS", 3), ("COMPLETED", 4)] {
        let data = ok(
            &app,
            TRANSITION,
            json!({ "id": id, "to": to, "v": version - 1 }),
        )
        .await;
        assert_eq!(
            data["transitionService"]["service"],
            json!({ "status": to, "version": version })
        );
    }
    let e = refused(
        &app,
        TRANSITION,
        json!({ "id": id, "to": "CANCELLED" }),
        "CONFLICT",
        None,
    )
    .await;
    assert_eq!(e["extensions"]["currentStatus"], "COMPLETED");
    let data = ok(&app, CREATE_SERVICE, json!({ "i": base })).await;
    let other = data["createService"]["service"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    ok(&app, TRANSITION, json!({ "id": other, "to": "CANCELLED" })).await;
    refused(
        &app,
        TRANSITION,
        json!({ "id": other, "to": "PUBLISHED" }),
        "CONFLICT",
        None,
    )
    .await;
    let e = refused(
        &app,
        TRANSITION,
        json!({ "id": id, "to": "CANCELLED", "v": 1 }),
        "CONFLICT",
        None,
    )
    .await;
    assert_eq!(e["extensions"]["currentVersion"], 4);

    // Capacity cannot drop below the places taken (s2 holds two places).
    let upd = "mutation($id: ID!, $i: UpdateServiceInput!) { updateService(id: $id, input: $i) { service { capacity title endsAt } } }";
    let e = refused(
        &app,
        upd,
        json!({ "id": f.service("s2"), "i": { "capacity": 1 } }),
        "CONFLICT",
        None,
    )
    .await;
    assert_eq!(e["extensions"]["reason"], "CAPACITY_BELOW_PARTICIPANTS");
    let data = ok(
        &app,
        upd,
        json!({ "id": f.service("s2"), "i": { "capacity": 2, "title": "探访", "endsAt": null } }),
    )
    .await;
    assert_eq!(
        data["updateService"]["service"],
        json!({ "capacity": 2, "title": "探访", "endsAt": null })
    );
    refused(
        &app,
        upd,
        json!({ "id": f.service("s2"), "i": { "endsAt": "2020-01-01T00:00:00Z" } }),
        "BAD_USER_INPUT",
        Some("endsAt"),
    )
    .await;
});
