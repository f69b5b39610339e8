//! Disclosure control of the statistics shown to agencies: record keys, the same value for the
//! same records whatever the query, and differencing attacks, over a synthetic street built for
//! them (the demo data's grids hold 55–112 residents each, so it has no small grid to attack).

use crate::db_test;
use crate::harness::{Backend, TestApp, TestDb};
use crate::stats::{allowed, counts};
use chrono::{DateTime, TimeZone, Utc};
use entity::*;
use gridgov::auth::{Role, apikey};
use gridgov::config::{DatabaseSettings, ServeSettings};
use gridgov::schema::relay::{decode_global_id, global_id};
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, IntoActiveModel, Statement};
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};
use uuid::Uuid;

/// The smallest count AGENCY may see (the default of `GRIDGOV_STATS_MIN_COUNT`).
const K: i64 = 5;
/// Communities of the synthetic street.
const COMMUNITIES: usize = 300;
/// Grids per community: one small one (1 to K − 1 residents) and four of 8 to 20.
const GRIDS: usize = 5;

fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).single().unwrap()
}

/// A small deterministic generator (the data set is the same on every run; only the record
/// keys, drawn by the database, differ).
struct Lcg(u64);
impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

struct Community {
    street: Uuid,
    id: Uuid,
    /// Grids and their residents.
    grids: Vec<(Uuid, i64)>,
    /// Which grid is the small one.
    small: usize,
    /// Participations in the January and February services.
    january: i64,
    february: i64,
}

fn grid_row(id: Uuid, code: String, level: GridLevel, parent: Option<(Uuid, &str)>) -> grid::Model {
    let path = format!("{}{id}/", parent.map_or("/", |p| p.1));
    grid::Model {
        id,
        code,
        name: format!("合成网格{id}"),
        level,
        parent_id: parent.map(|p| p.0),
        path,
        boundary: None,
        created_at: at(2025, 1, 1),
        updated_at: at(2025, 1, 1),
        version: 1,
    }
}

async fn insert_all<A, M>(db: &DatabaseConnection, rows: Vec<M>)
where
    M: IntoActiveModel<A> + Clone,
    A: sea_orm::ActiveModelTrait + Send,
{
    for chunk in rows.chunks(1000) {
        let models: Vec<A> = chunk
            .iter()
            .cloned()
            .map(|m| m.into_active_model())
            .collect();
        A::Entity::insert_many(models).exec(db).await.unwrap();
    }
}

/// A street of [`COMMUNITIES`] communities of [`GRIDS`] grids; in each community a service in
/// January and one in February, attended by some of its residents.
async fn synthetic_street(db: &DatabaseConnection) -> Vec<Community> {
    let mut rng = Lcg(0x5eed);
    let street = Uuid::now_v7();
    let street_path = format!("/{street}/");
    let mut grids = vec![grid_row(street, "900001".into(), GridLevel::Street, None)];
    let mut people = Vec::new();
    let mut communities = Vec::new();
    let org = Uuid::now_v7();
    let (mut services, mut participations) = (Vec::new(), Vec::new());
    for c in 0..COMMUNITIES {
        let id = Uuid::now_v7();
        let path = format!("{street_path}{id}/");
        grids.push(grid_row(
            id,
            format!("900001{c:03}"),
            GridLevel::Community,
            Some((street, &street_path)),
        ));
        let small = c % GRIDS;
        let mut community = Community {
            street,
            id,
            grids: Vec::new(),
            small,
            january: 0,
            february: 0,
        };
        let mut residents = Vec::new();
        for g in 0..GRIDS {
            let gid = Uuid::now_v7();
            grids.push(grid_row(
                gid,
                format!("900001{c:03}-{g:02}"),
                GridLevel::Grid,
                Some((id, &path)),
            ));
            // The small counts 1 to K − 1 each in a quarter of the communities.
            let n = if g == small {
                1 + (c as i64 % (K - 1))
            } else {
                8 + rng.below(13) as i64
            };
            for _ in 0..n {
                let pid = Uuid::now_v7();
                residents.push(pid);
                people.push(person::Model {
                    id: pid,
                    name: "居民".into(),
                    gender: Some(if rng.below(2) == 0 {
                        Gender::Male
                    } else {
                        Gender::Female
                    }),
                    birth_date: None,
                    phone: None,
                    id_number: None,
                    grid_id: gid,
                    address: None,
                    erased_at: None,
                    created_at: at(2025, 1, 1),
                    updated_at: at(2025, 1, 1),
                    version: 1,
                });
            }
            community.grids.push((gid, n));
        }
        for (month, count) in [(1, &mut community.january), (2, &mut community.february)] {
            let sid = Uuid::now_v7();
            services.push(service::Model {
                id: sid,
                grid_id: community.grids[0].0,
                organizer_id: org,
                title: "合成服务".into(),
                description: None,
                category: ServiceCategory::Health,
                status: ServiceStatus::Completed,
                starts_at: at(2026, month, 10),
                ends_at: None,
                capacity: None,
                location: None,
                created_at: at(2025, 12, 1),
                updated_at: at(2025, 12, 1),
                version: 1,
            });
            *count = 1 + rng.below(12) as i64;
            for person in residents.iter().skip(month as usize).take(*count as usize) {
                participations.push(participation::Model {
                    id: Uuid::now_v7(),
                    service_id: sid,
                    person_id: *person,
                    organization_id: None,
                    role: ParticipationRole::Beneficiary,
                    status: ParticipationStatus::Completed,
                    registered_at: at(2026, 1, 1),
                    checked_in_at: None,
                    checked_out_at: None,
                    minutes: None,
                    external_ref: None,
                    created_at: at(2026, 1, 1),
                    updated_at: at(2026, 1, 1),
                    version: 1,
                });
            }
        }
        communities.push(community);
    }
    insert_all::<grid::ActiveModel, _>(db, grids).await;
    organization::Entity::insert(
        organization::Model {
            id: org,
            name: "合成机构".into(),
            kind: OrganizationKind::Government,
            contact_name: None,
            contact_phone: None,
            contact_email: None,
            created_at: at(2025, 1, 1),
            updated_at: at(2025, 1, 1),
            version: 1,
        }
        .into_active_model(),
    )
    .exec(db)
    .await
    .unwrap();
    insert_all::<person::ActiveModel, _>(db, people).await;
    insert_all::<service::ActiveModel, _>(db, services).await;
    insert_all::<participation::ActiveModel, _>(db, participations).await;
    communities
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

fn gid(id: Uuid) -> String {
    global_id("Grid", id).0
}

/// `selection` of `Grid.stats` for every grid of `ids`, `per_query` grids at a time, by grid.
async fn grid_stats(
    app: &TestApp,
    token: &str,
    ids: &[Uuid],
    per_query: usize,
    selection: &str,
) -> HashMap<Uuid, Value> {
    let q = format!(
        "query($ids: [ID!]!) {{ nodes(ids: $ids) {{ ... on Grid {{ id {selection} }} }} }}"
    );
    nodes(app, token, ids, per_query, &q).await
}

/// `query` (over `nodes(ids: $ids)`) for every grid of `ids`, `per_query` grids at a time.
async fn nodes(
    app: &TestApp,
    token: &str,
    ids: &[Uuid],
    per_query: usize,
    q: &str,
) -> HashMap<Uuid, Value> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(per_query) {
        let ids: Vec<String> = chunk.iter().map(|i| gid(*i)).collect();
        let body = app.gql_as(Some(token), q, json!({ "ids": ids })).await;
        assert!(body.get("errors").is_none(), "{body:#}");
        for (id, node) in chunk.iter().zip(body["data"]["nodes"].as_array().unwrap()) {
            out.insert(*id, node.clone());
        }
    }
    out
}

fn unlimited(s: &mut ServeSettings) {
    // Thousands of statistics in a few seconds: the test is not about rate limiting.
    s.auth.rate_limit_points = u32::MAX;
    s.auth.rate_limit_restore = u32::MAX;
}

db_test!(
    differencing_a_parent_against_its_children_recovers_small_counts_no_better_than_chance,
    settings = unlimited,
    |app| async move {
        // Arrange: in every community one grid holds 1 to 4 residents (each value in a quarter of
        // the communities) and the four others 8 to 20, so the community and those four are all
        // at least K: the old suppression showed them exactly and hid only the small grid, and
        // "community − the four others" gave its count back every time.
        let communities = synthetic_street(&app.db).await;
        let agency = agency_key(&app).await;
        let ids: Vec<Uuid> = communities.iter().map(|c| c.id).collect();
        let selection =
            "stats { residentCount { value } byChildGrid { grid { id } residentCount { value } } }";

        // Act: every community with its grids, as ADMIN and as AGENCY. (A grid's figures in
        // `byChildGrid` are those of its own `stats`, see the next test: the same as asking for
        // each grid on its own, which is how one defeated the old suppression.)
        let by_grid = |m: HashMap<Uuid, Value>| -> HashMap<Uuid, i64> {
            let mut out = HashMap::new();
            for (id, node) in m {
                let stats = &node["stats"];
                out.insert(id, stats["residentCount"]["value"].as_i64().unwrap());
                for child in stats["byChildGrid"].as_array().unwrap() {
                    let child_id = decode_global_id(child["grid"]["id"].as_str().unwrap(), "id")
                        .unwrap()
                        .1;
                    out.insert(child_id, child["residentCount"]["value"].as_i64().unwrap());
                }
            }
            out
        };
        let exact = by_grid(grid_stats(&app, &app.admin_key, &ids, 8, selection).await);
        let shown = by_grid(grid_stats(&app, &agency, &ids, 8, selection).await);
        let residents = |m: &HashMap<Uuid, i64>, id: Uuid| m[&id];
        let ids: Vec<Uuid> = exact.keys().copied().collect();
        assert_eq!(ids.len(), COMMUNITIES * (GRIDS + 1));

        // Assert: ADMIN sees the data set as built.
        for c in &communities {
            assert_eq!(
                residents(&exact, c.id),
                c.grids.iter().map(|g| g.1).sum::<i64>()
            );
            for (g, n) in &c.grids {
                assert_eq!(residents(&exact, *g), *n);
            }
        }
        // The attack: the small grid's count estimated as the community minus its other grids.
        let attack = |m: &HashMap<Uuid, i64>| -> usize {
            communities
                .iter()
                .filter(|c| {
                    let others: i64 = c
                        .grids
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| *i != c.small)
                        .map(|(_, g)| residents(m, g.0))
                        .sum();
                    residents(m, c.id) - others == c.grids[c.small].1
                })
                .count()
        };
        let chance = (1..K)
            .map(|v| {
                communities
                    .iter()
                    .filter(|c| c.grids[c.small].1 == v)
                    .count()
            })
            .max()
            .unwrap();
        assert_eq!(
            chance,
            COMMUNITIES / 4,
            "guessing the commonest small count"
        );
        // The old suppression showed every count the attack uses (each at least K) exactly.
        for c in &communities {
            assert!(residents(&exact, c.id) >= K);
            let grids = c.grids.iter().enumerate();
            assert!(grids.clone().all(|(i, g)| i == c.small || g.1 >= K));
            assert!(grids.filter(|(_, g)| g.1 < K).count() == 1);
        }
        // On exact figures (ADMIN's, or what the old suppression showed here) it always works…
        assert_eq!(attack(&exact), COMMUNITIES);
        // …on perturbed ones no more often than guessing. The estimate's error is the sum of five
        // independent noises: it is right about 15% of the time (45 of 300, σ ≈ 6), against 25%
        // for the guess; this fails by chance with a probability below one in a million.
        let hits = attack(&shown);
        eprintln!(
            "synthetic street: {hits} of {COMMUNITIES} small counts recovered; guessing gets {chance}"
        );
        assert!(
            hits <= chance,
            "the difference gave {hits} of {COMMUNITIES} small counts back"
        );

        // Every published count is allowed for its exact count, and the noise is unbiased.
        let (mut moved, mut large, mut bias) = (0, 0, 0i64);
        for id in &ids {
            let (n, v) = (residents(&exact, *id), residents(&shown, *id));
            assert!(allowed(n, v, K), "{n} shown as {v}");
            if n >= K + 2 {
                large += 1;
                moved += usize::from(v != n);
            }
            bias += v - n;
        }
        // 5/8 of the counts of K + 2 or more move; a mean error near 0 (σ of the mean ≈ 0.04).
        assert!(moved * 2 > large, "{moved} of {large} moved");
        let mean = bias as f64 / ids.len() as f64;
        assert!(mean.abs() < 0.25, "mean error {mean}");
    }
);

db_test!(
    the_same_records_publish_the_same_value_by_every_route,
    settings = unlimited,
    |app| async move {
        // Arrange
        let communities = synthetic_street(&app.db).await;
        let agency = agency_key(&app).await;
        let some: Vec<&Community> = communities.iter().take(20).collect();
        let grids: Vec<Uuid> = some
            .iter()
            .flat_map(|c| c.grids.iter().map(|g| g.0))
            .collect();
        let parents: Vec<Uuid> = some.iter().map(|c| c.id).collect();
        let figures = "residentCount { value } residentsByGender { key count { value } } participationCount { value } volunteerCount { value } workerCount { value }";

        // Act: each grid as `Grid.stats`, as a child in its community's `byChildGrid`, and as
        // `stats(withinGridId:)` (twice).
        let alone = grid_stats(
            &app,
            &agency,
            &grids,
            100,
            &format!("stats {{ {figures} }}"),
        )
        .await;
        let within = grid_stats(
            &app,
            &agency,
            &parents,
            8,
            &format!("stats {{ byChildGrid {{ grid {{ id }} {figures} }} }}"),
        )
        .await;
        let root = format!("query($g: ID!) {{ stats(withinGridId: $g) {{ {figures} }} }}");

        // Assert
        let mut compared = 0;
        for c in &some {
            let children = within[&c.id]["stats"]["byChildGrid"].as_array().unwrap();
            assert_eq!(children.len(), GRIDS);
            for child in children {
                let id = c
                    .grids
                    .iter()
                    .find(|g| gid(g.0) == child["grid"]["id"])
                    .unwrap()
                    .0;
                let mut child = child.clone();
                child.as_object_mut().unwrap().remove("grid");
                assert_eq!(child, alone[&id]["stats"], "byChildGrid and Grid.stats");
                compared += 1;
            }
        }
        for g in grids.iter().take(10) {
            for _ in 0..2 {
                let body = app
                    .gql_as(Some(&agency), &root, json!({ "g": gid(*g) }))
                    .await;
                assert_eq!(
                    body["data"]["stats"], alone[g]["stats"],
                    "stats(withinGridId:)"
                );
            }
        }
        assert_eq!(compared, 20 * GRIDS);
    }
);

db_test!(
    adjacent_time_windows_do_not_add_up_for_agencies,
    settings = unlimited,
    |app| async move {
        // Arrange: in each community a service on 10 January and one on 10 February.
        let communities = synthetic_street(&app.db).await;
        // Participations have record keys of their own, drawn for each of them.
        let participation_keys = keys(&app.db, "participation").await;
        assert!(participation_keys.len() > 3000);
        assert!(participation_keys.iter().collect::<BTreeSet<_>>().len() > 200);
        let agency = agency_key(&app).await;
        let street = communities[0].street;
        let (jan, feb, mar) = (
            "2026-01-01T00:00:00Z",
            "2026-02-01T00:00:00Z",
            "2026-03-01T00:00:00Z",
        );
        let window = |name: &str, from: &str, to: &str| {
            format!(
                "{name}: stats(from: \"{from}\", to: \"{to}\") {{ byChildGrid {{ grid {{ id }} participationCount {{ value }} }} }}"
            )
        };
        let selection = [
            window("jan", jan, feb),
            window("feb", feb, mar),
            window("both", jan, mar),
        ]
        .join(" ");

        // Act: each window over the street, every community a child.
        let by_community = |m: HashMap<Uuid, Value>| -> HashMap<(Uuid, &'static str), i64> {
            let mut out = HashMap::new();
            for w in ["jan", "feb", "both"] {
                for child in m[&street][w]["byChildGrid"].as_array().unwrap() {
                    let id = decode_global_id(child["grid"]["id"].as_str().unwrap(), "id")
                        .unwrap()
                        .1;
                    out.insert(
                        (id, w),
                        child["participationCount"]["value"].as_i64().unwrap(),
                    );
                }
            }
            out
        };
        let exact = by_community(grid_stats(&app, &app.admin_key, &[street], 1, &selection).await);
        let shown = by_community(grid_stats(&app, &agency, &[street], 1, &selection).await);

        // Assert: the February count as "both months − January" is right for every community on
        // exact figures, and wrong for most on perturbed ones (right about 30% of the time).
        let value = |m: &HashMap<(Uuid, &'static str), i64>, id: Uuid, w: &'static str| m[&(id, w)];
        let right = |m: &HashMap<(Uuid, &'static str), i64>| {
            communities
                .iter()
                .filter(|c| value(m, c.id, "both") - value(m, c.id, "jan") == c.february)
                .count()
        };
        for c in &communities {
            assert_eq!(
                (value(&exact, c.id, "jan"), value(&exact, c.id, "feb")),
                (c.january, c.february)
            );
            for w in ["jan", "feb", "both"] {
                let n = value(&exact, c.id, w);
                assert!(allowed(n, value(&shown, c.id, w), K), "{w}: {n}");
            }
        }
        assert_eq!(right(&exact), COMMUNITIES);
        let right = right(&shown);
        assert!(
            right * 2 < COMMUNITIES,
            "{right} of {COMMUNITIES} February counts recovered"
        );
    }
);

/// Record keys: drawn by the database for rows that existed before the migration and for every
/// later INSERT (none of which names the column), and the migration goes down and up again.
async fn record_keys_are_drawn_by_the_database(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let settings = DatabaseSettings {
        database_url: db.url.clone(),
        db_max_connections: 2,
        db_acquire_timeout: 5,
    };
    let conn = gridgov::db::connect(&settings).await.unwrap();
    let before_keys = Migrator::migrations().len() - 1;
    Migrator::up(&conn, Some(before_keys as u32)).await.unwrap();
    let street = Uuid::now_v7();
    let person = |i: usize| person::Model {
        id: Uuid::now_v7(),
        name: format!("居民{i}"),
        gender: None,
        birth_date: None,
        phone: None,
        id_number: None,
        grid_id: street,
        address: None,
        erased_at: None,
        created_at: at(2025, 1, 1),
        updated_at: at(2025, 1, 1),
        version: 1,
    };
    grid::Entity::insert(
        grid_row(street, "900002".into(), GridLevel::Street, None).into_active_model(),
    )
    .exec(&conn)
    .await
    .unwrap();
    insert_all::<person::ActiveModel, _>(&conn, (0..50).map(person).collect()).await;

    Migrator::up(&conn, None).await.unwrap();
    let existing = keys(&conn, "person").await;
    assert_eq!(existing.len(), 50);
    assert!(
        existing.iter().all(|k| (0..256).contains(k)),
        "{existing:?}"
    );
    // 50 keys drawn from 256 take about 45 distinct values; a constant default takes one.
    let distinct = |k: &[i32]| k.iter().collect::<BTreeSet<_>>().len();
    assert!(distinct(&existing) >= 25, "{existing:?}");

    insert_all::<person::ActiveModel, _>(&conn, (50..100).map(person).collect()).await;
    let all = keys(&conn, "person").await;
    assert_eq!(all.len(), 100);
    assert_eq!(all[..50], existing[..], "a key is permanent");
    assert!(all.iter().all(|k| (0..256).contains(k)));
    assert!(distinct(&all[50..]) >= 25, "{all:?}");

    // Down: the column goes, the rows stay; up again: keys again.
    // Roll back 000012 and every migration after it.
    let all = Migrator::migrations();
    let at = all
        .iter()
        .position(|m| m.name() == "m20261202_000012_record_key")
        .unwrap();
    let steps = u32::try_from(all.len() - at).unwrap();
    Migrator::down(&conn, Some(steps)).await.unwrap();
    let probe =
        Statement::from_string(conn.get_database_backend(), "SELECT record_key FROM person");
    assert!(
        conn.query_all_raw(probe).await.is_err(),
        "record_key survived the rollback"
    );
    Migrator::up(&conn, None).await.unwrap();
    let again = keys(&conn, "person").await;
    assert_eq!(again.len(), 100);
    assert!(distinct(&again) >= 50, "{again:?}");
}

crate::backend_test!(record_keys_are_drawn_by_the_database);

/// The record keys of `table`, oldest row first (ids are UUID v7).
async fn keys(conn: &DatabaseConnection, table: &str) -> Vec<i32> {
    let sql = format!("SELECT record_key FROM {table} ORDER BY id");
    let rows = conn
        .query_all_raw(Statement::from_string(conn.get_database_backend(), sql))
        .await
        .unwrap();
    rows.iter()
        .map(|r| r.try_get_by_index::<i32>(0).unwrap())
        .collect()
}

db_test!(record_keys_never_appear_in_the_api, |app| async move {
    // People created through the API get a key from the database…
    let f = crate::fixture::load(&app.db).await;
    let create = "mutation($g: ID!, $n: String!) { createPerson(input: { name: $n, gridId: $g }) { person { id } } }";
    for i in 0..30 {
        let data = app
            .data(
                create,
                json!({ "g": f.grid("G21"), "n": format!("新居民{i}") }),
            )
            .await;
        assert!(data["createPerson"]["person"]["id"].is_string());
    }
    let rows = app
        .db
        .query_all_raw(Statement::from_string(
            app.db.get_database_backend(),
            "SELECT record_key FROM person WHERE name LIKE '新居民%'",
        ))
        .await
        .unwrap();
    let keys: BTreeSet<i32> = rows
        .iter()
        .map(|r| r.try_get_by_index::<i32>(0).unwrap())
        .collect();
    assert!(
        keys.len() >= 15 && keys.iter().all(|k| (0..256).contains(k)),
        "{keys:?}"
    );
    // …and no type of the API has a field that shows it (the SDL the server prints, equal to
    // the code by the schema-drift test).
    let sdl = gridgov::schema::sdl().to_lowercase();
    assert!(sdl.contains("type gridstats"), "the SDL lists the types");
    for word in ["recordkey", "record_key", "cellkey", "cell_key"] {
        assert!(!sdl.contains(word), "{word} in the SDL");
    }
});

/// The figures of the demo-data test, for a grid and for each of its children.
const DEMO: &str = r#"query($ids: [ID!]!) { nodes(ids: $ids) { ... on Grid { id
    stats(from: "2026-01-01T00:00:00Z", to: "2027-01-01T00:00:00Z") { ...f byChildGrid { grid { code } ...f } } } } }
fragment f on GridStats {
    residentCount { ...n } residentsByTag { tag count { ...n } } residentsByGender { key count { ...n } }
    residentsByAgeBand { key count { ...n } } participationCount { ...n } workerCount { ...n } volunteerCount { ...n }
}
fragment n on StatCount { value suppressed perturbed }"#;

/// Across every community of the demo data (seeded before the server starts, since seeding
/// writes the change feed as the server would).
async fn on_the_demo_data_differencing_recovers_small_counts_no_better_than_chance(
    backend: Backend,
) {
    // Arrange: the demo street (8 communities, 60 grids); its small counts are those of care
    // tags, age bands and workers per grid.
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    {
        let settings = DatabaseSettings {
            database_url: db.url.clone(),
            db_max_connections: 4,
            db_acquire_timeout: 10,
        };
        let conn = gridgov::db::connect(&settings).await.unwrap();
        Migrator::up(&conn, None).await.unwrap();
        gridgov::seed::seed_demo(&conn, 1, false).await.unwrap();
        conn.close().await.unwrap();
    }
    let app = TestApp::spawn_on(db, |_, _| {}, unlimited).await;
    let agency = agency_key(&app).await;
    use sea_orm::{ColumnTrait, QueryFilter};
    let communities: Vec<Uuid> = grid::Entity::find()
        .filter(grid::Column::Level.eq(GridLevel::Community))
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.id)
        .collect();
    assert_eq!(communities.len(), 8);

    // Act: every community with its grids, as ADMIN and as AGENCY; and every grid alone.
    let exact = nodes(&app, &app.admin_key, &communities, 8, DEMO).await;
    let shown = nodes(&app, &agency, &communities, 8, DEMO).await;
    let grids: HashMap<String, Uuid> = grid::Entity::find()
        .filter(grid::Column::Level.eq(GridLevel::Grid))
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|g| (g.code, g.id))
        .collect();
    let ids: Vec<Uuid> = grids.values().copied().collect();
    let alone = nodes(&app, &agency, &ids, 8, DEMO).await;

    // Assert: every count is allowed for its exact value, and each grid in its community's
    // byChildGrid shows what it shows alone.
    let mut children_seen = 0;
    for c in &communities {
        let (e, s) = (counts(&exact[c]["stats"]), counts(&shown[c]["stats"]));
        assert_eq!(e.keys().collect::<Vec<_>>(), s.keys().collect::<Vec<_>>());
        for (path, (n, ..)) in &e {
            let (v, perturbed, _) = s[path];
            assert!(perturbed && allowed(*n, v, K), "{path}: {n} shown as {v}");
        }
        for child in shown[c]["stats"]["byChildGrid"].as_array().unwrap() {
            let id = grids[child["grid"]["code"].as_str().unwrap()];
            assert_eq!(counts(child), counts(&alone[&id]["stats"]), "{id}");
            children_seen += 1;
        }
    }
    assert_eq!(children_seen, 60);

    // The attack: each small count (1 to K − 1) of a grid estimated as its community's count
    // minus those of the community's other grids, for every figure that adds up over grids.
    let additive = |path: &str| !path.contains("workerCount") && !path.contains("volunteerCount");
    let attack = |m: &HashMap<Uuid, Value>| -> (usize, usize, usize) {
        let (mut cells, mut hits) = (0, 0);
        let mut by_value = [0usize; K as usize];
        for c in &communities {
            let truth = counts(&exact[c]["stats"]);
            let got = counts(&m[c]["stats"]);
            let kids: Vec<String> = m[c]["stats"]["byChildGrid"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k["grid"]["code"].as_str().unwrap().to_owned())
                .collect();
            for figure in truth
                .keys()
                .filter(|p| !p.starts_with(".byChildGrid") && additive(p))
            {
                for kid in &kids {
                    let n = truth[&format!(".byChildGrid.{kid}{figure}")].0;
                    if !(1..K).contains(&n) {
                        continue;
                    }
                    let others: i64 = kids
                        .iter()
                        .filter(|o| *o != kid)
                        .map(|o| got[&format!(".byChildGrid.{o}{figure}")].0)
                        .sum();
                    cells += 1;
                    by_value[n as usize] += 1;
                    hits += usize::from(got[figure].0 - others == n);
                }
            }
        }
        (cells, hits, by_value.into_iter().max().unwrap())
    };
    let (cells, exact_hits, chance) = attack(&exact);
    assert!(cells > 100, "{cells} small counts");
    // On exact figures it always works (the statistic can fail)…
    assert_eq!(exact_hits, cells);
    // …on perturbed ones no more often than guessing the commonest small count. (Seven
    // other grids' noises add up: about one estimate in ten is right, against more than
    // one in four for the guess.)
    let (_, hits, _) = attack(&shown);
    eprintln!("demo data: {hits} of {cells} small counts recovered; guessing gets {chance}");
    assert!(
        hits <= chance,
        "{hits} of {cells} recovered; guessing gets {chance}"
    );
}

crate::backend_test!(on_the_demo_data_differencing_recovers_small_counts_no_better_than_chance);
