//! The privacy policy, black-box: every role × table × read path against the declaration in
//! `gridgov::policy`, field disclosure, sealed cursors, filters through related rows, AGENCY's
//! statistics-only view and PIPL erasure.

use crate::fixture::{self, Fixture};
use crate::harness::{Backend, TestApp};
use crate::{backend_test, db_test};
use entity::*;
use gridgov::auth::{Caller, GridScope, Role};
use gridgov::policy::{self, Field, Rows, Show, Table, rows_of};
use gridgov::schema::relay::global_id;
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use uuid::Uuid;

/// The grid code of community C1, the GRID_MANAGER's scope.
const C1: &str = "370685001001";

/// One caller of the walk: its key and the `Caller` the server builds for it.
struct Who {
    name: &'static str,
    token: Option<String>,
    caller: Caller,
}

async fn callers(app: &TestApp, f: &Fixture) -> Vec<Who> {
    let c1 = grid::Entity::find_by_id(f.grids["C1"])
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let caller = |role, grids: Vec<GridScope>, org, scopes: &[&str]| Caller {
        id: String::new(),
        role,
        grids,
        organization_id: org,
        person_id: None,
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        expires_at: None,
    };
    let c1_scope = || {
        vec![GridScope {
            id: c1.id,
            path: c1.path.clone(),
        }]
    };
    let vol = f.orgs["vol"];
    vec![
        Who {
            name: "ADMIN",
            token: Some(app.admin_key.clone()),
            caller: caller(Role::Admin, vec![], None, &["pii:read"]),
        },
        Who {
            name: "GRID_MANAGER",
            token: Some(app.key(Role::GridManager, &[C1], None, &["pii:read"]).await),
            caller: caller(Role::GridManager, c1_scope(), None, &["pii:read"]),
        },
        Who {
            name: "GRID_MANAGER without pii:read",
            token: Some(app.key(Role::GridManager, &[C1], None, &[]).await),
            caller: caller(Role::GridManager, c1_scope(), None, &[]),
        },
        Who {
            name: "VOLUNTEER_ORG",
            token: Some(
                app.key(Role::VolunteerOrg, &[], Some(vol), &["pii:read"])
                    .await,
            ),
            caller: caller(Role::VolunteerOrg, vec![], Some(vol), &["pii:read"]),
        },
        Who {
            name: "AGENCY",
            token: Some(app.key(Role::Agency, &[], None, &["pii:read"]).await),
            caller: caller(Role::Agency, vec![], None, &["pii:read"]),
        },
        Who {
            name: "PUBLIC",
            token: None,
            caller: caller(Role::Public, vec![], None, &[]),
        },
    ]
}

/// Every row of the fixture with the anchors the policy judges it by.
struct Rowset {
    c1_grids: BTreeSet<Uuid>,
    grids: Vec<grid::Model>,
    people: Vec<person::Model>,
    orgs: Vec<organization::Model>,
    memberships: Vec<membership::Model>,
    assignments: Vec<grid_assignment::Model>,
    services: Vec<service::Model>,
    participations: Vec<participation::Model>,
}

impl Rowset {
    async fn load(app: &TestApp, f: &Fixture) -> Rowset {
        let grids = grid::Entity::find().all(&app.db).await.unwrap();
        let c1 = grids.iter().find(|g| g.id == f.grids["C1"]).unwrap();
        let c1_grids = grids
            .iter()
            .filter(|g| g.path.starts_with(&c1.path))
            .map(|g| g.id)
            .collect();
        Rowset {
            c1_grids,
            people: person::Entity::find().all(&app.db).await.unwrap(),
            orgs: organization::Entity::find().all(&app.db).await.unwrap(),
            memberships: membership::Entity::find().all(&app.db).await.unwrap(),
            assignments: grid_assignment::Entity::find().all(&app.db).await.unwrap(),
            services: service::Entity::find().all(&app.db).await.unwrap(),
            participations: participation::Entity::find().all(&app.db).await.unwrap(),
            grids,
        }
    }

    fn members_of(&self, org: Option<Uuid>) -> BTreeSet<Uuid> {
        self.memberships
            .iter()
            .filter(|m| Some(m.organization_id) == org)
            .map(|m| m.person_id)
            .collect()
    }

    /// What the declaration says `who` sees of `table`: `None` when it is FORBIDDEN.
    fn expected(&self, table: Table, who: &Caller) -> Option<BTreeSet<Uuid>> {
        let rule = rows_of(table, who.role);
        if rule == Rows::Forbidden {
            return None;
        }
        let org = who.organization_id;
        let in_c1 = |g: Uuid| who.grids.iter().any(|_| self.c1_grids.contains(&g));
        let published = |s: &service::Model| {
            matches!(
                s.status,
                ServiceStatus::Published | ServiceStatus::InProgress | ServiceStatus::Completed
            )
        };
        let admits = |subtree: bool, own: bool, public: bool| match rule {
            Rows::All => true,
            Rows::Hidden | Rows::Forbidden => false,
            Rows::InSubtrees => subtree,
            Rows::OwnOrganization => own,
            Rows::Published => public,
            Rows::PublishedOrOwn => public || own,
            // The fixture's rows are reported by no caller.
            Rows::OwnReports => false,
        };
        let members = self.members_of(org);
        let service_grid = |id: Uuid| {
            self.services
                .iter()
                .find(|s| s.id == id)
                .map(|s| s.grid_id)
                .unwrap()
        };
        let person_in = |id: Uuid, grids: &dyn Fn(Uuid) -> bool| {
            self.people.iter().any(|p| p.id == id && grids(p.grid_id))
        };
        let set: BTreeSet<Uuid> = match table {
            Table::Grid => self
                .grids
                .iter()
                .filter(|g| admits(in_c1(g.id), false, false))
                .map(|g| g.id)
                .collect(),
            Table::Person => self
                .people
                .iter()
                .filter(|p| admits(in_c1(p.grid_id), members.contains(&p.id), false))
                .map(|p| p.id)
                .collect(),
            Table::Organization => self
                .orgs
                .iter()
                .filter(|_| admits(false, false, false))
                .map(|o| o.id)
                .collect(),
            Table::Membership => self
                .memberships
                .iter()
                .filter(|m| {
                    admits(
                        person_in(m.person_id, &in_c1),
                        Some(m.organization_id) == org,
                        false,
                    )
                })
                .map(|m| m.id)
                .collect(),
            Table::GridAssignment => self
                .assignments
                .iter()
                .filter(|a| admits(in_c1(a.grid_id), false, false))
                .map(|a| a.id)
                .collect(),
            Table::Service => self
                .services
                .iter()
                .filter(|s| admits(in_c1(s.grid_id), Some(s.organizer_id) == org, published(s)))
                .map(|s| s.id)
                .collect(),
            Table::Participation => self
                .participations
                .iter()
                .filter(|x| {
                    admits(
                        in_c1(service_grid(x.service_id)),
                        x.organization_id.is_some() && x.organization_id == org,
                        false,
                    )
                })
                .map(|x| x.id)
                .collect(),
            // Incidents are checked role by role in `incidents.rs`; the fixture has none.
            Table::PersonTag
            | Table::AuditLog
            | Table::PiiAccessLog
            | Table::Incident
            | Table::IncidentCategory
            | Table::Responsibility => BTreeSet::new(),
        };
        Some(set)
    }
}

/// The outcome of one read: the global ids it returned, or FORBIDDEN.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Ids(BTreeSet<String>),
    Forbidden,
}

fn ids_in(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(map) => {
            if let Some(Value::String(id)) = map.get("id") {
                out.insert(id.clone());
            }
            map.values().for_each(|v| ids_in(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| ids_in(v, out)),
        _ => {}
    }
}

/// Runs `q` and collects the ids at `leaf` (the innermost `id` fields), or FORBIDDEN.
async fn read(app: &TestApp, who: &Who, q: &str, v: Value, leaf: &str) -> Outcome {
    let body = app.gql_as(who.token.as_deref(), q, v).await;
    if let Some(errors) = body["errors"].as_array() {
        assert!(
            errors
                .iter()
                .all(|e| e["extensions"]["code"] == "FORBIDDEN"),
            "{}: {q}: {body:#}",
            who.name
        );
        return Outcome::Forbidden;
    }
    let mut ids = BTreeSet::new();
    ids_in(&body["data"][leaf], &mut ids);
    Outcome::Ids(ids)
}

fn outcome(kind: &str, expected: Option<BTreeSet<Uuid>>) -> Outcome {
    match expected {
        None => Outcome::Forbidden,
        Some(set) => Outcome::Ids(set.into_iter().map(|id| global_id(kind, id).0).collect()),
    }
}

db_test!(
    every_role_table_and_read_path_follows_the_declaration,
    |app| async move {
        let f = fixture::load(&app.db).await;
        gridgov::store::changes::baseline(&app.db).await.unwrap();
        let rows = Rowset::load(&app, &f).await;
        let who = callers(&app, &f).await;
        // (table, global-id type, feed type, [(read path, query, the field holding the ids)])
        let paths: [WalkedTable; 7] = [
            (
                Table::Grid,
                "Grid",
                Some("GRID"),
                vec![("root", "{ leaf: grids(first: 100) { nodes { id } } }")],
            ),
            (
                Table::Person,
                "Person",
                Some("PERSON"),
                vec![
                    ("root", "{ leaf: people(first: 100) { nodes { id } } }"),
                    (
                        "Grid.residents",
                        "{ g: grids(first: 100) { nodes { leaf: residents(first: 100) { nodes { id } } } } }",
                    ),
                ],
            ),
            (
                Table::Organization,
                "Organization",
                Some("ORGANIZATION"),
                vec![(
                    "root",
                    "{ leaf: organizations(first: 100) { nodes { id } } }",
                )],
            ),
            (
                Table::Membership,
                "Membership",
                None,
                vec![(
                    "Organization.members",
                    "{ o: organizations(first: 100) { nodes { leaf: members(first: 100) { nodes { id } } } } }",
                )],
            ),
            (
                Table::GridAssignment,
                "GridAssignment",
                None,
                vec![(
                    "Grid.workers",
                    "{ g: grids(first: 100) { nodes { leaf: workers { id } } } }",
                )],
            ),
            (
                Table::Service,
                "Service",
                Some("SERVICE"),
                vec![
                    ("root", "{ leaf: services(first: 100) { nodes { id } } }"),
                    (
                        "Grid.services",
                        "{ g: grids(first: 100) { nodes { leaf: services(first: 100) { nodes { id } } } } }",
                    ),
                ],
            ),
            (
                Table::Participation,
                "Participation",
                Some("PARTICIPATION"),
                vec![(
                    "root",
                    "{ leaf: participations(first: 100) { nodes { id } } }",
                )],
            ),
        ];
        let mut checked = 0;
        for w in &who {
            for (table, kind, feed, reads) in &paths {
                let expected = rows.expected(*table, &w.caller);
                // Nested reads go through parents the caller sees: grids and organisations are
                // visible wherever their children are, so the union is the whole visible set,
                // except that a role without organisations sees no memberships through them.
                for (path, q) in reads {
                    let got = read(&app, w, q, json!({}), leaf_root(q)).await;
                    let mut want = outcome(kind, expected.clone());
                    if *table == Table::Membership
                        && rows_of(Table::Organization, w.caller.role) == Rows::Hidden
                    {
                        want = Outcome::Ids(BTreeSet::new());
                    }
                    assert_eq!(got, want, "{} × {table:?} × {path}", w.name);
                    checked += 1;
                }
                // node(ids:) over every row of the table: the visible ones come back.
                let all: Vec<String> = rows
                    .expected(*table, &Caller::admin("walk"))
                    .unwrap()
                    .into_iter()
                    .map(|id| global_id(kind, id).0)
                    .collect();
                let q = "query($ids: [ID!]!) { leaf: nodes(ids: $ids) { id } }";
                let got = read(&app, w, q, json!({ "ids": all }), "leaf").await;
                assert_eq!(
                    got,
                    outcome(kind, expected.clone()),
                    "{} × {table:?} × nodes",
                    w.name
                );
                checked += 1;
                if let Some(feed) = feed {
                    let q = format!(
                        "{{ changes(first: 1000, entityTypes: [{feed}]) {{ edges {{ node {{ objectId }} }} }} }}"
                    );
                    let body = app.gql_as(w.token.as_deref(), &q, json!({})).await;
                    let got = if body["errors"][0]["extensions"]["code"] == "FORBIDDEN" {
                        Outcome::Forbidden
                    } else {
                        assert!(body.get("errors").is_none(), "{body:#}");
                        Outcome::Ids(
                            body["data"]["changes"]["edges"]
                                .as_array()
                                .unwrap()
                                .iter()
                                .map(|e| e["node"]["objectId"].as_str().unwrap().to_owned())
                                .collect(),
                        )
                    };
                    assert_eq!(
                        got,
                        outcome(kind, expected.clone()),
                        "{} × {table:?} × feed",
                        w.name
                    );
                    checked += 1;
                }
            }
            // Statistics over C1 (seven residents): exact, perturbed or FORBIDDEN as declared.
            let body = app
                .gql_as(
                    w.token.as_deref(),
                    "query($g: ID!) { stats(withinGridId: $g) { residentCount { value perturbed } } }",
                    json!({ "g": f.grid("C1") }),
                )
                .await;
            let count = &body["data"]["stats"]["residentCount"];
            match policy::statistics(&w.caller) {
                Err(_) => assert_eq!(
                    body["errors"][0]["extensions"]["code"], "FORBIDDEN",
                    "{}: {body:#}",
                    w.name
                ),
                Ok(policy::Statistics::Exact) => assert_eq!(
                    *count,
                    json!({ "value": 7, "perturbed": false }),
                    "{}",
                    w.name
                ),
                Ok(_) => assert_eq!(count["perturbed"], true, "{}: {body:#}", w.name),
            }
            // The whole feed of AGENCY carries no person or participation.
            let body = app
                .gql_as(
                    w.token.as_deref(),
                    "{ changes(first: 1000) { edges { node { entityType } } } }",
                    json!({}),
                )
                .await;
            let types: BTreeSet<String> = body["data"]["changes"]["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"]["entityType"].as_str().unwrap().to_owned())
                .collect();
            for (t, table) in [
                ("PERSON", Table::Person),
                ("PARTICIPATION", Table::Participation),
            ] {
                let allowed = !matches!(
                    rows_of(table, w.caller.role),
                    Rows::Forbidden | Rows::Hidden
                );
                if !allowed {
                    assert!(!types.contains(t), "{}: {t} in the feed", w.name);
                }
            }
        }
        // Per caller: 9 connection reads, 7 `nodes` reads and 5 feeds.
        assert_eq!(checked, 6 * (9 + 7 + 5), "every read path was walked");
    }
);

/// A table of the walk: its policy name, its global-id type, its feed type, and its
/// connection reads (path, query).
type WalkedTable = (
    Table,
    &'static str,
    Option<&'static str>,
    Vec<(&'static str, &'static str)>,
);

/// The alias under which a walk query returns its ids.
fn leaf_root(q: &str) -> &'static str {
    if q.starts_with("{ leaf:") {
        "leaf"
    } else if q.starts_with("{ g:") {
        "g"
    } else {
        "o"
    }
}

/// A person whose every personal field is set: G11 (in C1), member of `vol`.
async fn identified_person(app: &TestApp, f: &Fixture) -> (String, &'static str) {
    let id_number = "370685198506120023";
    let d = app
        .data(
            "mutation($g: ID!, $n: String!) { createPerson(input: { name: \"韩梅\", gridId: $g, idNumber: $n, phone: \"13912345678\", address: \"泉山街道1号\" }) { person { id } } }",
            json!({ "g": f.grid("G11"), "n": id_number }),
        )
        .await;
    let id = d["createPerson"]["person"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.data(
        "mutation($p: ID!, $o: ID!) { addMembership(input: { personId: $p, organizationId: $o }) { membership { id } } }",
        json!({ "p": id, "o": f.org("vol") }),
    )
    .await;
    (id, id_number)
}

db_test!(
    personal_fields_follow_the_declaration_and_never_complete_an_id_number,
    |app| async move {
        let f = fixture::load(&app.db).await;
        let (id, id_number) = identified_person(&app, &f).await;
        let raw = [
            (Field::PersonName, json!("韩梅")),
            (Field::PersonPhone, json!("13912345678")),
            (Field::PersonIdNumber, json!(id_number)),
            (Field::PersonBirthDate, json!("1985-06-12")),
            (Field::PersonAddress, json!("泉山街道1号")),
            (Field::PersonGender, json!("FEMALE")),
        ];
        let masked = |field: Field| match field {
            Field::PersonPhone => json!("139****5678"),
            Field::PersonIdNumber => json!("370685********0023"),
            _ => Value::Null,
        };
        let names = [
            "name",
            "phone",
            "idNumber",
            "birthDate",
            "address",
            "gender",
        ];
        let q = "query($id: ID!) { node(id: $id) { ... on Person { name phone idNumber birthDate address gender ageBand } } }";
        for w in callers(&app, &f).await {
            let body = app.gql_as(w.token.as_deref(), q, json!({ "id": id })).await;
            if rows_of(Table::Person, w.caller.role) == Rows::Forbidden {
                assert_eq!(
                    body["errors"][0]["extensions"]["code"], "FORBIDDEN",
                    "{}",
                    w.name
                );
                assert!(!body.to_string().contains("韩梅"));
                continue;
            }
            let node = &body["data"]["node"];
            if rows_of(Table::Person, w.caller.role) == Rows::Hidden {
                assert_eq!(*node, Value::Null, "{}", w.name);
                continue;
            }
            for ((field, value), name) in raw.iter().zip(names) {
                let want = match policy::disclosure(&w.caller, *field, false) {
                    Show::Plain | Show::Logged => value.clone(),
                    Show::Masked => masked(*field),
                    _ => Value::Null,
                };
                assert_eq!(node[name], want, "{} × {name}", w.name);
            }
            // Whatever the combination, the birth date digits never appear beside a masked ID
            // number: at least 8 (here all) of its hidden digits stay unknown.
            let text = body.to_string();
            if node["idNumber"] != json!(id_number) {
                assert!(
                    !text.contains("19850612") && !text.contains("1985-06-12"),
                    "{}: {text}",
                    w.name
                );
            }
        }
        // Unmasked reads of the birth date are logged like phone and ID number.
        let log = app
            .data(
                "query($p: ID) { piiAccessLog(filter: { personId: $p }) { nodes { fields } } }",
                json!({ "p": id }),
            )
            .await;
        let fields: Vec<Value> = log["piiAccessLog"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["fields"].clone())
            .collect();
        assert!(
            fields.contains(&json!(["birthDate", "idNumber", "phone"])),
            "{fields:?}"
        );

        // Audit snapshots carry the birth year only, beside the masked ID number.
        app.data(
            "mutation($p: ID!) { updatePerson(id: $p, input: { address: \"泉山街道2号\" }) { person { id } } }",
            json!({ "p": id }),
        )
        .await;
        let audit = app
            .data(
                "query($e: ID) { auditLog(filter: { entityId: $e }) { nodes { action before after } } }",
                json!({ "e": id }),
            )
            .await;
        let text = audit.to_string();
        assert!(text.contains("1985******"), "{text}");
        assert!(text.contains("370685********0023"), "{text}");
        assert!(
            !text.contains("19850612") && !text.contains("1985-06-12"),
            "{text}"
        );
    }
);

db_test!(
    organisation_contacts_follow_the_rules_of_a_persons_name_and_phone,
    |app| async move {
        let f = fixture::load(&app.db).await;
        for org in ["vol", "gov"] {
            app.data(
                "mutation($o: ID!) { updateOrganization(id: $o, input: { contactPhone: \"13700001111\" }) { organization { id } } }",
                json!({ "o": f.org(org) }),
            )
            .await;
        }
        let q = "query($v: ID!, $g: ID!) { v: node(id: $v) { ... on Organization { contactName contactPhone contactEmail } } g: node(id: $g) { ... on Organization { contactName contactPhone contactEmail } } }";
        let v = json!({ "v": f.org("vol"), "g": f.org("gov") });
        let mut seen = 0;
        for w in callers(&app, &f).await {
            let body = app.gql_as(w.token.as_deref(), q, v.clone()).await;
            assert!(body.get("errors").is_none(), "{}: {body:#}", w.name);
            for (alias, org) in [("v", "vol"), ("g", "gov")] {
                let node = &body["data"][alias];
                if rows_of(Table::Organization, w.caller.role) == Rows::Hidden {
                    assert_eq!(*node, Value::Null);
                    continue;
                }
                let own = w.caller.organization_id == Some(f.orgs[org]);
                for (field, name, raw, masked) in [
                    (
                        Field::OrganizationContactName,
                        "contactName",
                        json!("联系人"),
                        Value::Null,
                    ),
                    (
                        Field::OrganizationContactPhone,
                        "contactPhone",
                        json!("13700001111"),
                        json!("137****1111"),
                    ),
                    (
                        Field::OrganizationContactEmail,
                        "contactEmail",
                        json!(format!("{org}@example.org")),
                        Value::Null,
                    ),
                ] {
                    let want = match policy::disclosure(&w.caller, field, own) {
                        Show::Plain | Show::Logged => raw,
                        Show::Masked => masked,
                        _ => Value::Null,
                    };
                    assert_eq!(node[name], want, "{} × {org} × {name}", w.name);
                    seen += 1;
                }
            }
        }
        assert_eq!(seen, 5 * 2 * 3);
        // AGENCY and other organisations never get the contact person; ADMIN's read is logged.
        let log = app
            .data("{ piiAccessLog { nodes { fields } } }", json!({}))
            .await;
        assert!(log.to_string().contains("contactPhone"), "{log}");
    }
);

db_test!(
    filters_through_related_rows_see_only_visible_ones,
    |app| async move {
        let f = fixture::load(&app.db).await;
        // wang_fang is a member of `vol`; she also joins `gov`, which `vol` cannot see.
        app.data(
        "mutation($p: ID!, $o: ID!) { addMembership(input: { personId: $p, organizationId: $o }) { membership { id } } }",
        json!({ "p": f.person("wang_fang"), "o": f.org("gov") }),
    )
    .await;
        let q =
            "query($o: ID!) { people(filter: { organizationId: $o }) { totalCount nodes { id } } }";
        let vol = app
            .key(Role::VolunteerOrg, &[], Some(f.orgs["vol"]), &[])
            .await;
        let body = app
            .gql_as(Some(&vol), q, json!({ "o": f.org("gov") }))
            .await;
        assert_eq!(body["data"]["people"]["totalCount"], 0, "{body:#}");
        // The same filter as ADMIN finds both members of `gov`; as `vol` over its own organisation,
        // all four of its members.
        let d = app.data(q, json!({ "o": f.org("gov") })).await;
        assert_eq!(d["people"]["totalCount"], 2);
        let body = app
            .gql_as(Some(&vol), q, json!({ "o": f.org("vol") }))
            .await;
        assert_eq!(body["data"]["people"]["totalCount"], 4, "{body:#}");
    }
);

db_test!(agency_receives_statistics_only, |app| async move {
    let f = fixture::load(&app.db).await;
    let agency = app.key(Role::Agency, &[], None, &["pii:read"]).await;
    let forbidden = [
        ("people", "{ people { totalCount } }", json!({})),
        (
            "people by name",
            "{ people(orderBy: { field: NAME, direction: ASC }) { edges { cursor } } }",
            json!({}),
        ),
        (
            "search",
            "{ people(filter: { search: \"王\" }) { totalCount } }",
            json!({}),
        ),
        (
            "person",
            "query($p: ID!) { person(id: $p) { id } }",
            json!({ "p": f.person("wang_fang") }),
        ),
        (
            "node",
            "query($p: ID!) { node(id: $p) { id } }",
            json!({ "p": f.person("wang_fang") }),
        ),
        (
            "residents",
            "query($g: ID!) { grid(id: $g) { residents { totalCount } } }",
            json!({ "g": f.grid("G11") }),
        ),
        (
            "worker's person",
            "query($g: ID!) { grid(id: $g) { workers { role person { id name } } } }",
            json!({ "g": f.grid("G11") }),
        ),
        (
            "participations",
            "{ participations { totalCount } }",
            json!({}),
        ),
        (
            "participant count",
            "{ services { nodes { participantCount } } }",
            json!({}),
        ),
        (
            "members",
            "{ organizations { nodes { members { totalCount } } } }",
            json!({}),
        ),
        (
            "feed of people",
            "{ changes(entityTypes: [PERSON]) { edges { cursor } } }",
            json!({}),
        ),
    ];
    for (what, q, v) in forbidden {
        let body = app.gql_as(Some(&agency), q, v).await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "{what}: {body:#}"
        );
        for (_, name) in fixture::NAMES {
            assert!(!body.to_string().contains(name), "{what} leaks a name");
        }
    }
    // What it may read: statistics, grids, services.
    let body = app
        .gql_as(
            Some(&agency),
            "query($g: ID!) { stats(withinGridId: $g) { residentCount { value } } services { totalCount } grid(id: $g) { workers { role } } }",
            json!({ "g": f.grid("D") }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body:#}");
    assert_eq!(body["data"]["services"]["totalCount"], 5);
});

/// Base64 of a cursor, decoded as far as it goes (what an attacker reads out of it).
fn decoded(cursor: &str) -> String {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .unwrap_or_default();
    String::from_utf8_lossy(&bytes).into_owned()
}

async fn cursors_are_sealed(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |_| {}).await else {
        return;
    };
    let f = fixture::load(&app.db).await;
    gridgov::store::changes::baseline(&app.db).await.unwrap();
    let q = "query($a: String) { people(first: 3, after: $a, orderBy: { field: NAME, direction: ASC }) { edges { cursor node { id } } pageInfo { endCursor } } }";
    let d = app.data(q, json!({ "a": null })).await;
    let edges = d["people"]["edges"].as_array().unwrap().clone();
    for e in &edges {
        let c = e["cursor"].as_str().unwrap();
        let text = decoded(c);
        for (_, name) in fixture::NAMES {
            assert!(!text.contains(name), "a cursor shows a name");
        }
        assert!(!text.contains("NAME") && !text.contains("\"o\""), "{text}");
    }
    // The cursor works, and continues right after its edge.
    let end = d["people"]["pageInfo"]["endCursor"].clone();
    assert_eq!(end, edges[2]["cursor"]);
    let next = app.data(q, json!({ "a": end })).await;
    assert_eq!(next["people"]["edges"].as_array().unwrap().len(), 3);
    assert_ne!(
        next["people"]["edges"][0]["node"]["id"],
        edges[2]["node"]["id"]
    );

    let bad_input = |body: Value, field: &str| {
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{body:#}"
        );
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body:#}");
    };
    // A tampered cursor.
    let mut chars: Vec<char> = end.as_str().unwrap().chars().collect();
    let i = chars.len() / 2;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    let tampered: String = chars.into_iter().collect();
    bad_input(app.gql(q, json!({ "a": tampered })).await, "after");
    // A cursor made by hand in the old clear format.
    let forged = {
        use base64::Engine;
        let plain =
            json!({ "o": "NAME", "v": { "t": "s", "v": "王" }, "i": f.people["wang_fang"] });
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(plain.to_string())
    };
    bad_input(app.gql(q, json!({ "a": forged })).await, "after");
    // A cursor of another deployment (its own key in its own database).
    let other = TestApp::spawn_with(backend, |_| {}).await.unwrap();
    fixture::load(&other.db).await;
    let foreign =
        other.data(q, json!({ "a": null })).await["people"]["pageInfo"]["endCursor"].clone();
    bad_input(app.gql(q, json!({ "a": foreign })).await, "after");
    // A replica over the same database shares the key.
    let replica = app.second_server().await;
    let body: Value = app
        .http
        .post(format!("http://{replica}/graphql"))
        .bearer_auth(&app.admin_key)
        .json(&json!({ "query": q, "variables": { "a": end } }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["data"]["people"], next["people"], "{body:#}");

    // Feed cursors are sealed too.
    let d = app
        .data(
            "{ changes(first: 2) { edges { cursor } pageInfo { endCursor } } }",
            json!({}),
        )
        .await;
    let end = d["changes"]["pageInfo"]["endCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!decoded(&end).contains("change"), "{}", decoded(&end));
    assert_eq!(app.open_cursor(&end).await, "change:2");
    let body = app
        .gql(
            "query($a: String) { changes(after: $a) { edges { cursor } } }",
            json!({ "a": foreign }),
        )
        .await;
    bad_input(body, "after");
}
backend_test!(cursors_are_sealed);

db_test!(
    erasing_a_person_removes_personal_data_for_good,
    |app| async move {
        let f = fixture::load(&app.db).await;
        let (id, _) = identified_person(&app, &f).await;
        let reg = "mutation($s: ID!, $p: ID!) { registerParticipation(input: { serviceId: $s, personId: $p }) { participation { id } } }";
        let part = app
            .data(reg, json!({ "s": f.service("s2"), "p": id }))
            .await["registerParticipation"]["participation"]["id"]
            .clone();
        // Read unmasked once, so that the PII access log has an entry.
        app.data(
            "query($p: ID!) { person(id: $p) { phone } }",
            json!({ "p": id }),
        )
        .await;
        let stats = "query($g: ID!) { stats(withinGridId: $g) { residentCount { value } participationCount { value } } }";
        let before = app.data(stats, json!({ "g": f.grid("D") })).await;
        let feed = app
            .data(
                "{ changes(first: 1000) { pageInfo { endCursor } } }",
                json!({}),
            )
            .await["changes"]["pageInfo"]["endCursor"]
            .clone();

        // Only ADMIN may erase, with a reason.
        let erase =
            "mutation($p: ID!, $r: String!) { erasePerson(id: $p, reason: $r) { erasedId } }";
        let manager = app.key(Role::GridManager, &[C1], None, &["pii:read"]).await;
        let body = app
            .gql_as(Some(&manager), erase, json!({ "p": id, "r": "本人申请" }))
            .await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "{body:#}"
        );
        let e = app.error(erase, json!({ "p": id, "r": " " })).await;
        assert_eq!(e["extensions"]["field"], "reason");
        let d = app
            .data(
                erase,
                json!({ "p": id, "r": "本人申请（PIPL 第四十七条）" }),
            )
            .await;
        assert_eq!(d["erasePerson"]["erasedId"], json!(id));

        // Gone for every caller and every path.
        let d = app
            .data(
                "query($p: ID!) { person(id: $p) { id } node(id: $p) { id } }",
                json!({ "p": id }),
            )
            .await;
        assert_eq!(d["person"], Value::Null);
        assert_eq!(d["node"], Value::Null);
        let d = app
            .data(
                "query($x: ID!) { node(id: $x) { ... on Participation { id person { id } } } }",
                json!({ "x": part }),
            )
            .await;
        assert_eq!(d["node"]["id"], part, "the participation stays");
        assert_eq!(d["node"]["person"], Value::Null);
        // The database holds none of the data.
        let row = person::Entity::find_by_id(
            gridgov::schema::relay::decode_global_id(&id, "id")
                .unwrap()
                .1,
        )
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
        assert_eq!(
            (
                row.name.as_str(),
                row.phone,
                row.id_number,
                row.address,
                row.birth_date
            ),
            ("", None, None, None, None)
        );
        assert!(row.erased_at.is_some());
        // The feed records a deletion; statistics still count the participation.
        let d = app.data("query($a: String) { changes(after: $a) { edges { node { kind objectId node { id } } } } }", json!({ "a": feed })).await;
        let edges = d["changes"]["edges"].as_array().unwrap();
        assert!(
            edges.iter().any(|e| e["node"]["kind"] == "DELETED"
                && e["node"]["objectId"] == json!(id)
                && e["node"]["node"].is_null()),
            "{d:#}"
        );
        let after = app.data(stats, json!({ "g": f.grid("D") })).await;
        assert_eq!(
            after["stats"]["participationCount"],
            before["stats"]["participationCount"]
        );
        // Audit snapshots of the person are gone; the erasure itself is audited with its reason.
        let audit = app
        .data("query($e: ID) { auditLog(filter: { entityId: $e }) { nodes { action before after details } } }", json!({ "e": id }))
        .await;
        let text = audit.to_string();
        for secret in ["韩梅", "泉山街道1号", "1985", "5678", "0023"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(
            text.contains("erasePerson") && text.contains("PIPL"),
            "{text}"
        );
        // The PII access log keeps the person's id only.
        let log = app.data("query($p: ID) { piiAccessLog(filter: { personId: $p }) { nodes { personId fields } } }", json!({ "p": id })).await;
        let entries = log["piiAccessLog"]["nodes"].as_array().unwrap();
        assert!(!entries.is_empty(), "{log}");
        for e in entries {
            assert_eq!(e["personId"], json!(id), "{log}");
        }
        // Erasing again finds nothing.
        let e = app.error(erase, json!({ "p": id, "r": "again" })).await;
        assert_eq!(e["extensions"]["code"], "NOT_FOUND");
    }
);

db_test!(
    agency_cannot_count_registrations_through_service_changes,
    |app| async move {
        let f = fixture::load(&app.db).await;
        gridgov::store::changes::baseline(&app.db).await.unwrap();
        let agency = app.key(Role::Agency, &[], None, &[]).await;
        let feed = "query($a: String) { changes(after: $a, entityTypes: [SERVICE]) { edges { node { objectId } } pageInfo { endCursor } } }";
        let start =
            app.data(feed, json!({ "a": null })).await["changes"]["pageInfo"]["endCursor"].clone();
        // A registration moves s2's participantCount; a rename changes what AGENCY may read.
        app.data(
            "mutation($s: ID!, $p: ID!) { registerParticipation(input: { serviceId: $s, personId: $p }) { participation { id } } }",
            json!({ "s": f.service("s2"), "p": f.person("sun_li") }),
        )
        .await;
        let seen = |body: &Value| body["data"]["changes"]["edges"].as_array().unwrap().len();
        let admin = app.gql(feed, json!({ "a": start })).await;
        assert_eq!(seen(&admin), 1, "ADMIN hears of the new count: {admin:#}");
        let body = app.gql_as(Some(&agency), feed, json!({ "a": start })).await;
        assert_eq!(
            seen(&body),
            0,
            "AGENCY must not count registrations: {body:#}"
        );
        app.data(
            "mutation($s: ID!) { updateService(id: $s, input: { title: \"探访（改期）\" }) { service { id } } }",
            json!({ "s": f.service("s2") }),
        )
        .await;
        let body = app.gql_as(Some(&agency), feed, json!({ "a": start })).await;
        assert_eq!(
            seen(&body),
            1,
            "a real change of the service still reaches it: {body:#}"
        );
    }
);
