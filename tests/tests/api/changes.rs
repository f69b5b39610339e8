//! The change feed: every create, update and delete in commit order, resumable, scoped, and
//! replayable into exactly the objects a caller can see.

use crate::db_test;
use crate::fixture::{self, Fixture};
use crate::harness::TestApp;
use crate::mutations::id_number;
use gridgov::auth::Role;
use serde_json::{Value, json};
use std::collections::BTreeMap;

const FEED: &str = "query($after: String, $first: Int) {
  changes(after: $after, first: $first) {
    edges { cursor node { cursor kind entityType objectId node { id } } }
    pageInfo { hasNextPage endCursor }
  }
}";

/// A partner's copy of what it can see (object id → entity type), kept by reading the feed.
#[derive(Default, Debug)]
struct Copy {
    objects: BTreeMap<String, String>,
    cursor: Option<String>,
    deletions: Vec<String>,
}

/// Reads the feed from the copy's cursor to its end, in pages of 4, and applies it: keep
/// `node` when present, remove the object when it is null.
async fn sync(app: &TestApp, token: Option<&str>, copy: &mut Copy) {
    let mut last_cursor = copy.cursor.clone();
    loop {
        let body = app
            .gql_as(token, FEED, json!({ "after": copy.cursor, "first": 4 }))
            .await;
        assert!(body.get("errors").is_none(), "feed errors: {body:#}");
        let page = &body["data"]["changes"];
        for edge in page["edges"].as_array().expect("edges") {
            let change = &edge["node"];
            assert_eq!(edge["cursor"], change["cursor"]);
            assert_ne!(
                Some(edge["cursor"].as_str().unwrap().to_owned()),
                last_cursor
            );
            last_cursor = Some(edge["cursor"].as_str().unwrap().to_owned());
            let id = change["objectId"].as_str().expect("objectId").to_owned();
            match &change["node"] {
                Value::Null => {
                    copy.objects.remove(&id);
                    if change["kind"] == "DELETED" {
                        copy.deletions.push(id);
                    }
                }
                node => {
                    assert_eq!(node["id"].as_str(), Some(id.as_str()), "node of {change:#}");
                    let ty = change["entityType"].as_str().unwrap().to_owned();
                    copy.objects.insert(id, ty);
                }
            }
        }
        let end = page["pageInfo"]["endCursor"].as_str().map(str::to_owned);
        assert!(end.is_some(), "endCursor is always given: {page:#}");
        copy.cursor = end;
        if page["pageInfo"]["hasNextPage"] != json!(true) {
            break;
        }
    }
}

/// What `token` sees through the ordinary connections (object id → entity type); a
/// connection the role may not read at all (FORBIDDEN, AGENCY's people) holds nothing for it.
async fn visible(app: &TestApp, token: Option<&str>) -> BTreeMap<String, String> {
    let mut all = BTreeMap::new();
    for (field, ty) in [
        ("grids", "GRID"),
        ("people", "PERSON"),
        ("organizations", "ORGANIZATION"),
        ("services", "SERVICE"),
        ("participations", "PARTICIPATION"),
    ] {
        let q = format!("{{ {field}(first: 100) {{ nodes {{ id }} }} }}");
        let body = app.gql_as(token, &q, json!({})).await;
        if body["errors"][0]["extensions"]["code"] == "FORBIDDEN" {
            continue;
        }
        assert!(body.get("errors").is_none(), "errors: {body:#}");
        for n in body["data"][field]["nodes"].as_array().expect("nodes") {
            all.insert(n["id"].as_str().unwrap().to_owned(), ty.to_owned());
        }
    }
    all
}

/// The fixture, with its bulk-loaded rows recorded in the feed as the demo seed does.
async fn fixture_in_feed(app: &TestApp) -> Fixture {
    let f = fixture::load(&app.db).await;
    let recorded = gridgov::store::changes::baseline(&app.db).await.unwrap();
    // 7 grids, 3 organisations, 12 people, 5 services, 8 participations.
    assert_eq!(recorded, 35);
    f
}

db_test!(
    replaying_the_feed_reproduces_what_each_caller_sees,
    |app| async move {
        let f = fixture_in_feed(&app).await;
        let callers: Vec<(&str, Option<String>)> = vec![
            ("admin", Some(app.admin_key.clone())),
            (
                "manager of C1",
                Some(
                    app.key(Role::GridManager, &["370685001001"], None, &[])
                        .await,
                ),
            ),
            (
                "volunteer org",
                Some(
                    app.key(Role::VolunteerOrg, &[], Some(f.orgs["vol"]), &[])
                        .await,
                ),
            ),
            ("agency", Some(app.key(Role::Agency, &[], None, &[]).await)),
            ("public", None),
        ];
        let mut copies: Vec<Copy> = callers.iter().map(|_| Copy::default()).collect();
        let check = |phase: &'static str| {
            let app = &app;
            let callers = &callers;
            move |copies: Vec<Copy>| async move {
                let mut synced = Vec::new();
                for ((who, token), mut copy) in callers.iter().zip(copies) {
                    sync(app, token.as_deref(), &mut copy).await;
                    let seen = visible(app, token.as_deref()).await;
                    assert_eq!(copy.objects, seen, "{phase}: the copy of {who} differs");
                    synced.push(copy);
                }
                synced
            }
        };

        // Phase 1: the bulk-loaded fixture.
        copies = check("fixture")(copies).await;
        assert_eq!(copies[0].objects.len(), 35);

        // Phase 2: creations and updates, a person moving into C1, a deletion, a membership, a
        // publication and a registration.
        let created = app
        .data(
            "mutation($g: ID!, $n: String!) { createPerson(input: { name: \"新居民\", gridId: $g, idNumber: $n }) { person { id } } }",
            json!({ "g": f.grid("G21"), "n": id_number("19800101", 11) }),
        )
        .await;
        let newcomer = created["createPerson"]["person"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        app.data(
        "mutation($p: ID!, $g: ID!) { updatePerson(id: $p, input: { gridId: $g }) { person { id } } }",
        json!({ "p": newcomer, "g": f.grid("G11") }),
    )
    .await;
        let gone = app
        .data(
            "mutation($g: ID!) { createPerson(input: { name: \"过客\", gridId: $g }) { person { id } } }",
            json!({ "g": f.grid("G11") }),
        )
        .await["createPerson"]["person"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
        let membership = app
        .data(
            "mutation($p: ID!, $o: ID!) { addMembership(input: { personId: $p, organizationId: $o }) { membership { id } } }",
            json!({ "p": newcomer, "o": f.org("vol") }),
        )
        .await["addMembership"]["membership"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
        app.data(
            "mutation($s: ID!) { transitionService(id: $s, to: PUBLISHED) { service { status } } }",
            json!({ "s": f.service("s4") }),
        )
        .await;
        app.data(
        "mutation($s: ID!, $p: ID!, $o: ID!) { registerParticipation(input: { serviceId: $s, personId: $p, organizationId: $o }) { participation { id } } }",
        json!({ "s": f.service("s2"), "p": newcomer, "o": f.org("vol") }),
    )
    .await;
        copies = check("creations and updates")(copies).await;
        let manager = &copies[1];
        assert!(manager.objects.contains_key(&newcomer), "moved into C1");
        assert!(manager.objects.contains_key(&f.grid("G12")));
        assert!(copies[2].objects.contains_key(&newcomer), "a new member");
        assert!(
            copies[4].objects.contains_key(&f.service("s4")),
            "published"
        );

        // Phase 3: deletions and moves out of scope, read incrementally from each cursor.
        app.data(
            "mutation($p: ID!) { deletePerson(id: $p) { deletedId } }",
            json!({ "p": gone }),
        )
        .await;
        app.data(
            "mutation($m: ID!) { removeMembership(id: $m) { deletedId } }",
            json!({ "m": membership }),
        )
        .await;
        app.data(
        "mutation($g: ID!, $c: ID!) { updateGrid(id: $g, input: { parentId: $c }) { grid { id } } }",
        json!({ "g": f.grid("G12"), "c": f.grid("C2") }),
    )
    .await;
        copies = check("deletions and moves")(copies).await;
        let manager = &copies[1];
        assert!(!manager.objects.contains_key(&f.grid("G12")), "G12 left C1");
        assert!(
            !manager.objects.contains_key(&f.person("chen_jing")),
            "with its residents"
        );
        assert!(
            !manager.objects.contains_key(&f.service("s3")),
            "and its services"
        );
        assert!(
            manager.deletions.contains(&gone),
            "the tombstone reached C1's manager"
        );
        assert!(
            !copies[2].objects.contains_key(&newcomer),
            "no longer a member"
        );
        assert!(
            !copies[2].deletions.contains(&gone),
            "a person the organisation never saw leaves no tombstone there"
        );

        // A replay from the start gives the same result.
        let fresh: Vec<Copy> = callers.iter().map(|_| Copy::default()).collect();
        let replayed = check("replay from the start")(fresh).await;
        for (a, b) in replayed.iter().zip(&copies) {
            assert_eq!(a.objects, b.objects);
            assert_eq!(a.cursor, b.cursor, "the feed ends at the same place");
        }
    }
);

db_test!(feed_arguments_are_validated, |app| async move {
    for (args, field) in [
        ("first: 0", "first"),
        ("first: 1001", "first"),
        ("after: \"bm90IGEgY3Vyc29y\"", "after"),
        ("entityTypes: []", "entityTypes"),
    ] {
        let e = app
            .error(
                &format!("{{ changes({args}) {{ edges {{ cursor }} }} }}"),
                json!({}),
            )
            .await;
        assert_eq!(e["extensions"]["code"], "BAD_USER_INPUT", "{args}: {e:#}");
        assert_eq!(e["extensions"]["field"], field, "{args}: {e:#}");
    }
});

db_test!(
    concurrent_writes_get_distinct_consecutive_positions,
    |app| async move {
        let writes = (0..20).map(|i| {
        let app = &app;
        async move {
            app.data(
                "mutation($n: String!) { createOrganization(input: { name: $n, kind: COMMUNITY_GROUP }) { organization { id } } }",
                json!({ "n": format!("组织{i}") }),
            )
            .await["createOrganization"]["organization"]["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    });
        let mut created: Vec<String> = futures_util::future::join_all(writes).await;
        let body = app
        .data(
            "{ changes(first: 100, entityTypes: [ORGANIZATION]) { edges { cursor node { kind objectId } } pageInfo { hasNextPage } } }",
            json!({}),
        )
        .await;
        let edges = body["changes"]["edges"].as_array().unwrap();
        let mut seen: Vec<String> = edges
            .iter()
            .map(|e| {
                assert_eq!(e["node"]["kind"], "CREATED");
                e["node"]["objectId"].as_str().unwrap().to_owned()
            })
            .collect();
        // Positions are the numbers 1..=20 in order: nothing skipped, nothing twice.
        let mut positions: Vec<i64> = Vec::new();
        for e in edges {
            let plain = app.open_cursor(e["cursor"].as_str().unwrap()).await;
            positions.push(plain["change:".len()..].parse().unwrap());
        }
        assert_eq!(positions, (1..=20).collect::<Vec<i64>>());
        created.sort();
        seen.sort();
        assert_eq!(seen, created);
    }
);
