//! Access control: credentials, what each role sees (and masked), what it is refused, the PII
//! access log and rate limiting.

use crate::db_test;
use crate::fixture::{self, Fixture};
use crate::harness::TestApp;
use chrono::{Duration, Utc};
use gridgov::auth::{Role, apikey};
use gridgov::config::ServeSettings;
use serde_json::{Value, json};

async fn key(
    app: &TestApp,
    role: Role,
    grids: &[&str],
    org: Option<uuid::Uuid>,
    scopes: &[&str],
) -> String {
    app.key(role, grids, org, scopes).await
}

struct Keys {
    admin: String,
    manager: String,
    manager_no_pii: String,
    volunteer: String,
    agency: String,
}

async fn keys(app: &TestApp, f: &Fixture) -> Keys {
    Keys {
        admin: app.admin_key.clone(),
        manager: key(
            app,
            Role::GridManager,
            &["370685001001"],
            None,
            &["pii:read"],
        )
        .await,
        manager_no_pii: key(app, Role::GridManager, &["370685001001"], None, &[]).await,
        volunteer: key(
            app,
            Role::VolunteerOrg,
            &[],
            Some(f.orgs["vol"]),
            &["pii:read"],
        )
        .await,
        agency: key(app, Role::Agency, &[], None, &["pii:read"]).await,
    }
}

async fn data_as(app: &TestApp, token: Option<&str>, q: &str, v: Value) -> Value {
    let body = app.gql_as(token, q, v).await;
    assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
    body["data"].clone()
}

async fn error_as(app: &TestApp, token: Option<&str>, q: &str, v: Value) -> Value {
    let body = app.gql_as(token, q, v).await;
    body["errors"][0].clone()
}

const TOTALS: &str = "{ grids { totalCount nodes { id } } people { totalCount nodes { id } } organizations { totalCount } services { totalCount nodes { title } } participations { totalCount } auditLog { totalCount } piiAccessLog { totalCount } }";

db_test!(
    each_role_sees_its_scope_and_totals_match,
    |app| async move {
        let f = fixture::load(&app.db).await;
        let k = keys(&app, &f).await;
        // One mutation so that the audit log is not empty.
        app.data("mutation { createOrganization(input: { name: \"审计\", kind: COMMUNITY_GROUP }) { organization { id } } }", json!({})).await;
        let cases: [(&str, Option<&str>, [i64; 7]); 4] = [
            ("ADMIN", Some(&k.admin), [7, 12, 4, 5, 8, 1, 0]),
            ("GRID_MANAGER", Some(&k.manager), [3, 7, 4, 3, 8, 0, 0]),
            ("VOLUNTEER_ORG", Some(&k.volunteer), [7, 4, 4, 3, 5, 0, 0]),
            ("PUBLIC", None, [7, 0, 0, 3, 0, 0, 0]),
        ];
        for (role, token, expect) in cases {
            let d = data_as(&app, token, TOTALS, json!({})).await;
            let got = [
                "grids",
                "people",
                "organizations",
                "services",
                "participations",
                "auditLog",
                "piiAccessLog",
            ]
            .map(|f| d[f]["totalCount"].as_i64().unwrap());
            assert_eq!(got, expect, "{role}");
            // Pages agree with totals.
            assert_eq!(
                d["grids"]["nodes"].as_array().unwrap().len() as i64,
                expect[0],
                "{role}"
            );
            assert_eq!(
                d["people"]["nodes"].as_array().unwrap().len() as i64,
                expect[1],
                "{role}"
            );
        }
        // AGENCY receives statistics only: grids, organisations and services, and FORBIDDEN
        // wherever it asks for people, participations or the logs.
        let d = data_as(
            &app,
            Some(&k.agency),
            "{ grids { totalCount } organizations { totalCount } services { totalCount } }",
            json!({}),
        )
        .await;
        assert_eq!(
            [
                &d["grids"]["totalCount"],
                &d["organizations"]["totalCount"],
                &d["services"]["totalCount"]
            ],
            [&json!(7), &json!(4), &json!(5)]
        );
        for q in [
            "{ people { totalCount } }",
            "{ participations { totalCount } }",
            "{ auditLog { totalCount } }",
            "{ piiAccessLog { totalCount } }",
        ] {
            let e = error_as(&app, Some(&k.agency), q, json!({})).await;
            assert_eq!(e["extensions"]["code"], "FORBIDDEN", "{q}: {e}");
        }
        // PUBLIC sees published services only.
        let d = data_as(&app, None, "{ services { nodes { status } } }", json!({})).await;
        assert!(
            d["services"]["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .all(|s| s["status"] != "DRAFT" && s["status"] != "CANCELLED")
        );
        // Nested connections are scoped too.
        let q = "query($g: ID) { grid(id: $g) { residents(includeDescendants: true) { totalCount } services(includeDescendants: true) { totalCount } } }";
        let d = data_as(&app, Some(&k.volunteer), q, json!({ "g": f.grid("D") })).await;
        assert_eq!(d["grid"]["residents"]["totalCount"], 4);
    }
);

db_test!(
    personal_data_is_masked_unless_allowed_and_reads_are_logged,
    |app| async move {
        let f = fixture::load(&app.db).await;
        let k = keys(&app, &f).await;
        let q = "query($id: ID!) { node(id: $id) { ... on Person { name phone address birthDate ageBand gender } } }";
        let v = json!({ "id": f.person("wang_fang") });
        let raw = "13810000001";
        let masked = "138****0001";
        let d = data_as(&app, Some(&k.admin), q, v.clone()).await;
        assert_eq!(d["node"]["phone"], raw);
        let d = data_as(&app, Some(&k.manager), q, v.clone()).await;
        assert_eq!(
            d["node"]["phone"], raw,
            "GRID_MANAGER with pii:read in its subtree"
        );
        let d = data_as(&app, Some(&k.manager_no_pii), q, v.clone()).await;
        assert_eq!(d["node"]["phone"], masked);
        assert_eq!(d["node"]["name"], "王芳");
        assert_eq!(
            d["node"]["birthDate"],
            Value::Null,
            "the masked digits of an ID number are the birth date"
        );
        let d = data_as(&app, Some(&k.volunteer), q, v.clone()).await;
        assert_eq!(
            d["node"]["phone"], masked,
            "no grid scope: masked even with pii:read"
        );
        assert_eq!(
            d["node"]["birthDate"],
            Value::Null,
            "no grid scope: no birth date"
        );
        assert!(d["node"]["ageBand"].is_string(), "{d}");
        let e = error_as(&app, Some(&k.agency), q, v.clone()).await;
        assert_eq!(e["extensions"]["code"], "FORBIDDEN", "{e}");
        let d = data_as(&app, None, q, v.clone()).await;
        assert_eq!(d["node"], Value::Null);

        // Two unmasked reads (ADMIN, GRID_MANAGER) were logged, birth date included; masked
        // ones were not.
        let log = data_as(&app, Some(&k.admin), "query($p: ID) { piiAccessLog(filter: { personId: $p }) { totalCount nodes { actor fields personId requestId } } }", json!({ "p": f.person("wang_fang") })).await;
        assert_eq!(log["piiAccessLog"]["totalCount"], 2);
        assert_eq!(
            log["piiAccessLog"]["nodes"][0]["fields"],
            json!(["birthDate", "phone"])
        );
        assert!(
            log["piiAccessLog"]["nodes"][0]["actor"]
                .as_str()
                .unwrap()
                .starts_with("apikey:")
        );
        let d = data_as(
            &app,
            Some(&k.manager),
            "{ piiAccessLog { totalCount } }",
            json!({}),
        )
        .await;
        assert_eq!(
            d["piiAccessLog"]["totalCount"], 0,
            "only ADMIN reads the access log"
        );
    }
);

db_test!(out_of_scope_objects_look_missing, |app| async move {
    let f = fixture::load(&app.db).await;
    let k = keys(&app, &f).await;
    let missing = gridgov::schema::relay::global_id("Person", uuid::Uuid::now_v7()).0;
    let q = "query($id: ID!) { node(id: $id) { id } }";
    let outside = data_as(
        &app,
        Some(&k.manager),
        q,
        json!({ "id": f.person("sun_li") }),
    )
    .await;
    let absent = data_as(&app, Some(&k.manager), q, json!({ "id": missing })).await;
    assert_eq!(outside, absent);
    assert_eq!(outside["node"], Value::Null);
    let upd =
        "mutation($id: ID!) { updatePerson(id: $id, input: { name: \"x\" }) { person { id } } }";
    let e1 = error_as(
        &app,
        Some(&k.manager),
        upd,
        json!({ "id": f.person("sun_li") }),
    )
    .await;
    let e2 = error_as(&app, Some(&k.manager), upd, json!({ "id": missing })).await;
    assert_eq!(e1["extensions"], e2["extensions"]);
    assert_eq!(e1["message"], e2["message"]);
    assert_eq!(e1["extensions"]["code"], "NOT_FOUND");
});

db_test!(mutations_are_refused_by_role_and_scope, |app| async move {
    let f = fixture::load(&app.db).await;
    let k = keys(&app, &f).await;
    let svc = |grid: &str| json!({ "i": { "gridId": f.grid(grid), "organizerId": f.org("gov"), "title": "巡查", "category": "SAFETY", "startsAt": "2026-12-20T01:00:00Z" } });
    let create =
        "mutation($i: CreateServiceInput!) { createService(input: $i) { service { id } } }";
    for token in [Some(k.agency.as_str()), Some(k.volunteer.as_str()), None] {
        let e = error_as(&app, token, create, svc("G11")).await;
        assert_eq!(e["extensions"]["code"], "FORBIDDEN", "{e}");
    }
    let e = error_as(&app, Some(&k.manager), create, svc("G21")).await;
    assert_eq!(e["extensions"]["code"], "NOT_FOUND");
    assert_eq!(e["extensions"]["field"], "gridId");
    data_as(&app, Some(&k.manager), create, svc("G11")).await;
    let org = "mutation { createOrganization(input: { name: \"x\", kind: GOVERNMENT }) { organization { id } } }";
    assert_eq!(
        error_as(&app, Some(&k.manager), org, json!({})).await["extensions"]["code"],
        "FORBIDDEN"
    );
    let root = "mutation { createGrid(input: { code: \"370686\", name: \"x\", level: DISTRICT }) { grid { id } } }";
    assert_eq!(
        error_as(&app, Some(&k.manager), root, json!({})).await["extensions"]["code"],
        "FORBIDDEN"
    );

    // A volunteer organisation registers its own members, for itself.
    let reg = "mutation($i: RegisterParticipationInput!) { registerParticipation(input: $i) { participation { id organization { name } } } }";
    let d = data_as(
        &app,
        Some(&k.volunteer),
        reg,
        json!({ "i": { "serviceId": f.service("s2"), "personId": f.person("wu_ting") } }),
    )
    .await;
    assert_eq!(
        d["registerParticipation"]["participation"]["organization"]["name"],
        "泉山志愿者协会"
    );
    let e = error_as(
        &app,
        Some(&k.volunteer),
        reg,
        json!({ "i": { "serviceId": f.service("s2"), "personId": f.person("li_na") } }),
    )
    .await;
    assert_eq!(
        (
            e["extensions"]["code"].clone(),
            e["extensions"]["field"].clone()
        ),
        (json!("NOT_FOUND"), json!("personId"))
    );
    let e = error_as(&app, Some(&k.volunteer), reg, json!({ "i": { "serviceId": f.service("s2"), "personId": f.person("liu_yang"), "organizationId": f.org("gov") } })).await;
    assert_eq!(e["extensions"]["code"], "FORBIDDEN");
    let e = error_as(
        &app,
        Some(&k.volunteer),
        reg,
        json!({ "i": { "serviceId": f.service("s4"), "personId": f.person("liu_yang") } }),
    )
    .await;
    assert_eq!(
        e["extensions"]["code"], "NOT_FOUND",
        "a draft service is out of its view"
    );
    // It checks in its own registrations only.
    let theirs = data_as(&app, Some(&k.admin), "query($s: ID!) { participations(filter: { serviceId: $s }) { nodes { id organization { name } person { name } } } }", json!({ "s": f.service("s2") })).await;
    let nodes = theirs["participations"]["nodes"].as_array().unwrap();
    let own = nodes
        .iter()
        .find(|n| n["person"]["name"] == "杨磊")
        .unwrap()["id"]
        .clone();
    let other = nodes
        .iter()
        .find(|n| n["person"]["name"] == "赵敏")
        .unwrap()["id"]
        .clone();
    // At a time inside s2's window (2026-06-01, 01:00–04:00).
    let check_in = "mutation($id: ID!) { checkIn(id: $id, at: \"2026-06-01T01:30:00Z\") { participation { status } } }";
    data_as(&app, Some(&k.volunteer), check_in, json!({ "id": own })).await;
    assert_eq!(
        error_as(&app, Some(&k.volunteer), check_in, json!({ "id": other })).await["extensions"]["code"],
        "NOT_FOUND"
    );
    assert_eq!(
        error_as(&app, Some(&k.agency), check_in, json!({ "id": other })).await["extensions"]["code"],
        "FORBIDDEN"
    );
});

async fn status_and_code(app: &TestApp, auth: &str) -> (u16, Value) {
    let r = app
        .http
        .post(app.url("/graphql"))
        .header("authorization", auth)
        .json(&json!({ "query": "{ grids { totalCount } }" }))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    (status, body["errors"][0]["extensions"]["code"].clone())
}

fn jwt(claims: Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

db_test!(
    bad_credentials_are_unauthenticated,
    settings = |s: &mut ServeSettings| s.auth.jwt_hs256_secret = Some("s3cret".into()),
    |app| async move {
        let f = fixture::load(&app.db).await;
        let unauthenticated = (401, json!("UNAUTHENTICATED"));
        assert_eq!(
            status_and_code(&app, "Bearer gg_notakey").await,
            unauthenticated
        );
        assert_eq!(
            status_and_code(&app, "Basic dXNlcjpwYXNz").await,
            unauthenticated
        );
        assert_eq!(status_and_code(&app, "Bearer ").await, unauthenticated);
        // Revoked and expired keys.
        let (model, revoked) = apikey::create(
            &app.db,
            apikey::NewKey {
                name: "r".into(),
                role: Role::Admin,
                grid_codes: vec![],
                organization_id: None,
                scopes: vec![],
                expires_at: None,
            },
        )
        .await
        .unwrap();
        assert_eq!(
            status_and_code(&app, &format!("Bearer {revoked}")).await.0,
            200
        );
        apikey::revoke(&app.db, model.id).await.unwrap();
        assert_eq!(
            status_and_code(&app, &format!("Bearer {revoked}")).await,
            unauthenticated
        );
        let (_, expired) = apikey::create(
            &app.db,
            apikey::NewKey {
                name: "e".into(),
                role: Role::Admin,
                grid_codes: vec![],
                organization_id: None,
                scopes: vec![],
                expires_at: Some(Utc::now() - Duration::hours(1)),
            },
        )
        .await
        .unwrap();
        assert_eq!(
            status_and_code(&app, &format!("Bearer {expired}")).await,
            unauthenticated
        );

        // JWTs: issuer, audience, expiry and signature are checked; claims give role and scope.
        let exp = (Utc::now() + Duration::hours(1)).timestamp();
        let good = json!({ "sub": "u1", "role": "GRID_MANAGER", "grids": ["370685001002"], "scope": "pii:read", "iss": "gridgov", "aud": "gridgov-api", "exp": exp });
        let token = jwt(good.clone(), "s3cret");
        let d = data_as(&app, Some(&token), "{ people { totalCount } }", json!({})).await;
        assert_eq!(d["people"]["totalCount"], 5, "the JWT's grid scope applies");
        let d = data_as(
            &app,
            Some(&token),
            "query($id: ID!) { person(id: $id) { phone } }",
            json!({ "id": f.person("sun_li") }),
        )
        .await;
        assert_eq!(d["person"]["phone"], "13810000011");
        for (field, value) in [
            ("exp", json!((Utc::now() - Duration::hours(1)).timestamp())),
            ("aud", json!("other")),
            ("iss", json!("evil")),
            ("role", json!("ROOT")),
        ] {
            let mut claims = good.clone();
            claims[field] = value;
            assert_eq!(
                status_and_code(&app, &format!("Bearer {}", jwt(claims, "s3cret"))).await,
                unauthenticated,
                "{field}"
            );
        }
        assert_eq!(
            status_and_code(&app, &format!("Bearer {}", jwt(good, "wrong"))).await,
            unauthenticated
        );
    }
);

db_test!(
    rate_limits_charge_complexity_and_report_cost,
    settings = |s: &mut ServeSettings| {
        s.auth.rate_limit_points = 50;
        s.auth.rate_limit_restore = 1;
    },
    |app| async move {
        fixture::load(&app.db).await;
        let q = "{ grids(first: 10) { nodes { code } } }";
        let body = app.gql(q, json!({})).await;
        let cost = &body["extensions"]["cost"];
        assert_eq!(cost["requestedQueryCost"], 21);
        assert_eq!(cost["actualQueryCost"], 9, "data + connection + 7 grids");
        assert_eq!(cost["throttleStatus"]["maximumAvailable"], 50);
        assert_eq!(cost["throttleStatus"]["restoreRate"], 1);
        assert_eq!(cost["throttleStatus"]["currentlyAvailable"], 29);
        let body = app.gql(q, json!({})).await;
        // 8 left, or 9 if the machine was slow enough for a point to come back in between.
        let left = body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"]
            .as_i64()
            .unwrap();
        assert!((8..=9).contains(&left), "{left}");
        let r = app
            .http
            .post(app.url("/graphql"))
            .bearer_auth(&app.admin_key)
            .json(&json!({ "query": q }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 429);
        let retry: u64 = r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((12..=14).contains(&retry), "{retry}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["errors"][0]["extensions"]["code"], "RATE_LIMITED");
        assert_eq!(body["errors"][0]["extensions"]["retryAfter"], retry);
        // Buckets are per credential: an anonymous caller still has its own.
        let body = app.gql_as(None, q, json!({})).await;
        assert!(body.get("errors").is_none(), "{body}");
        // More than a bucket holds is refused outright: 400, and no Retry-After, since no
        // wait makes it affordable.
        let r = app
            .http
            .post(app.url("/graphql"))
            .json(&json!({ "query": "{ grids(first: 30) { nodes { code } } }" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        assert!(r.headers().get("retry-after").is_none());
        let body: Value = r.json().await.unwrap();
        let e = &body["errors"][0]["extensions"];
        assert_eq!(e["code"], "MAX_COST_EXCEEDED", "{body}");
        assert_eq!(e["requestedQueryCost"], 61);
        assert_eq!(e["maximumAvailable"], 50);
    }
);

/// Every mutation, with arguments valid for the fixture.
fn all_mutations(f: &Fixture) -> Vec<(&'static str, String, Value)> {
    let p = f.person("wang_fang");
    let s = f.service("s2");
    let part = gridgov::schema::relay::global_id("Participation", f.participations[4]).0;
    let member = gridgov::schema::relay::global_id("Membership", f.memberships[0]).0;
    vec![
        ("createGrid", "mutation($v: ID) { createGrid(input: { code: \"370685001001-09\", name: \"x\", level: GRID, parentId: $v }) { grid { id } } }".into(), json!({ "v": f.grid("C1") })),
        ("updateGrid", "mutation($v: ID!) { updateGrid(id: $v, input: { name: \"x\" }) { grid { id } } }".into(), json!({ "v": f.grid("G11") })),
        ("deleteGrid", "mutation($v: ID!) { deleteGrid(id: $v) { deletedId } }".into(), json!({ "v": f.grid("G11") })),
        ("createPerson", "mutation($v: ID!) { createPerson(input: { name: \"x\", gridId: $v }) { person { id } } }".into(), json!({ "v": f.grid("G11") })),
        ("updatePerson", "mutation($v: ID!) { updatePerson(id: $v, input: { name: \"x\" }) { person { id } } }".into(), json!({ "v": p })),
        ("deletePerson", "mutation($v: ID!) { deletePerson(id: $v) { deletedId } }".into(), json!({ "v": p })),
        ("setPersonTags", "mutation($v: ID!) { setPersonTags(personId: $v, tags: [KEY_CARE]) { person { id } } }".into(), json!({ "v": p })),
        ("createOrganization", "mutation { createOrganization(input: { name: \"x\", kind: GOVERNMENT }) { organization { id } } }".into(), json!({})),
        ("updateOrganization", "mutation($v: ID!) { updateOrganization(id: $v, input: { name: \"x\" }) { organization { id } } }".into(), json!({ "v": f.org("vol") })),
        ("addMembership", "mutation($v: ID!, $o: ID!) { addMembership(input: { personId: $v, organizationId: $o }) { membership { id } } }".into(), json!({ "v": f.person("li_na"), "o": f.org("vol") })),
        ("removeMembership", "mutation($v: ID!) { removeMembership(id: $v) { deletedId } }".into(), json!({ "v": member })),
        ("assignGridWorker", "mutation($g: ID!, $v: ID!) { assignGridWorker(gridId: $g, personId: $v, role: VOLUNTEER) { gridAssignment { id } } }".into(), json!({ "g": f.grid("G11"), "v": f.person("li_na") })),
        ("unassignGridWorker", "mutation($g: ID!, $v: ID!) { unassignGridWorker(gridId: $g, personId: $v) { deletedId } }".into(), json!({ "g": f.grid("G11"), "v": p })),
        ("createService", "mutation($g: ID!, $o: ID!) { createService(input: { gridId: $g, organizerId: $o, title: \"x\", category: OTHER, startsAt: \"2026-12-20T00:00:00Z\" }) { service { id } } }".into(), json!({ "g": f.grid("G11"), "o": f.org("vol") })),
        ("updateService", "mutation($v: ID!) { updateService(id: $v, input: { title: \"x\" }) { service { id } } }".into(), json!({ "v": s })),
        ("transitionService", "mutation($v: ID!) { transitionService(id: $v, to: IN_PROGRESS) { service { id } } }".into(), json!({ "v": s })),
        ("registerParticipation", "mutation($s: ID!, $v: ID!) { registerParticipation(input: { serviceId: $s, personId: $v }) { participation { id } } }".into(), json!({ "s": s, "v": f.person("wu_ting") })),
        ("registerParticipations", "mutation($s: ID!, $v: ID!) { registerParticipations(inputs: [{ serviceId: $s, personId: $v }]) { succeeded } }".into(), json!({ "s": s, "v": f.person("wu_ting") })),
        ("checkIn", "mutation($v: ID!) { checkIn(id: $v) { participation { id } } }".into(), json!({ "v": part })),
        ("checkOut", "mutation($v: ID!) { checkOut(id: $v) { participation { id } } }".into(), json!({ "v": part })),
        ("cancelParticipation", "mutation($v: ID!) { cancelParticipation(id: $v) { participation { id } } }".into(), json!({ "v": part })),
        ("markNoShow", "mutation($v: ID!) { markNoShow(id: $v) { participation { id } } }".into(), json!({ "v": part })),
    ]
}

db_test!(
    every_mutation_is_refused_to_roles_without_the_right,
    |app| async move {
        let f = fixture::load(&app.db).await;
        let k = keys(&app, &f).await;
        let participation_writes = [
            "registerParticipation",
            "registerParticipations",
            "checkIn",
            "checkOut",
            "cancelParticipation",
            "markNoShow",
        ];
        let admin_only = [
            "createOrganization",
            "updateOrganization",
            "addMembership",
            "removeMembership",
        ];
        for (name, q, v) in all_mutations(&f) {
            for (role, token) in [("AGENCY", Some(k.agency.as_str())), ("PUBLIC", None)] {
                let e = error_as(&app, token, &q, v.clone()).await;
                assert_eq!(e["extensions"]["code"], "FORBIDDEN", "{role} {name}: {e}");
            }
            let e = error_as(&app, Some(&k.volunteer), &q, v.clone()).await;
            if participation_writes.contains(&name) {
                assert_ne!(
                    e["extensions"]["code"], "FORBIDDEN",
                    "VOLUNTEER_ORG {name}: {e}"
                );
            } else {
                assert_eq!(
                    e["extensions"]["code"], "FORBIDDEN",
                    "VOLUNTEER_ORG {name}: {e}"
                );
            }
            let e = error_as(&app, Some(&k.manager), &q, v.clone()).await;
            if admin_only.contains(&name) {
                assert_eq!(
                    e["extensions"]["code"], "FORBIDDEN",
                    "GRID_MANAGER {name}: {e}"
                );
            } else {
                assert_ne!(
                    e["extensions"]["code"], "FORBIDDEN",
                    "GRID_MANAGER {name}: {e}"
                );
            }
        }
        // Nothing the refused calls could have written was written.
        let d = data_as(
            &app,
            Some(&k.admin),
            "{ organizations { totalCount } grids { totalCount } }",
            json!({}),
        )
        .await;
        assert_eq!(d["organizations"]["totalCount"], 3);
    }
);
