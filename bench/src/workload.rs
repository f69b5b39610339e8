//! The workloads, as request bodies for gridgov and for PostGraphile, over ids drawn from the
//! demo data.

use crate::load::{AckPath, Request, Workload};
use anyhow::Context;
use gridgov::schema::relay::global_id;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use uuid::Uuid;

/// (1) One person by global id.
pub const GG_NODE: &str =
    "query($id: ID!) { node(id: $id) { id ... on Person { name gender birthDate } } }";
/// (2) The grids of a community, ten residents of each, five participations of each with their
/// service.
pub const GG_NESTED: &str = "query($p: ID!) { grids(first: 10, filter: { parentId: $p }) { nodes { id code name residents(first: 10) { nodes { id name participations(first: 5) { nodes { id role status service { id title startsAt } } } } } } } }";
/// (1) in PostGraphile's schema.
pub const PGL_NODE: &str =
    "query($id: ID!) { node(id: $id) { id ... on Person { name gender birthDate } } }";
/// (2) in PostGraphile's schema, in gridgov's orders (grids by code, residents by creation,
/// participations by registration; the primary key breaks ties in both).
pub const PGL_NESTED: &str = "query($p: UUID!) { allGrids(first: 10, condition: { parentId: $p }, orderBy: [CODE_ASC, PRIMARY_KEY_ASC]) { nodes { id code name peopleByGridId(first: 10, orderBy: [CREATED_AT_ASC, PRIMARY_KEY_ASC]) { nodes { id name participationsByPersonId(first: 5, orderBy: [REGISTERED_AT_ASC, PRIMARY_KEY_ASC]) { nodes { id role status serviceByServiceId { id title startsAt } } } } } } } }";
/// (3) Every figure of `stats` over a subtree.
pub const GG_STATS: &str = r#"query($g: ID!, $from: DateTime, $to: DateTime) { stats(withinGridId: $g, from: $from, to: $to) {
    residentCount { value } residentsByTag { tag count { value } } residentsByGender { key count { value } }
    residentsByAgeBand { key count { value } } gridCount { value } gridsWithWorker { value } coverageRate
    workerCount { value } residentsPerWorker gridsWithoutWorker(first: 10) { totalCount nodes { code } }
    serviceCount { value } servicesByStatus { status count { value } } servicesByCategory { category count { value } }
    completionRate participationCount { value } volunteerCount { value } volunteerHours noShowRate
    byOrganization { organization { name } count { value } }
    byChildGrid { grid { code } residentCount { value } participationCount { value } coverageRate }
    series(interval: MONTH) { start serviceCount { value } participationCount { value } volunteerHours } } }"#;
/// (4) and the writes of (5).
pub const GG_REGISTER: &str = "mutation($i: [RegisterParticipationInput!]!) { registerParticipations(inputs: $i) { succeeded failed results { participation { id } error { code message } } } }";

/// Ids drawn from the database once per run.
pub struct Fixture {
    /// A random sample of residents, for lookups.
    pub people: Vec<Uuid>,
    /// Every community (level 3).
    pub communities: Vec<Uuid>,
    /// Residents in a random order, handed out in disjoint slices to writers.
    pub writers: Vec<Uuid>,
}

async fn uuids(db: &DatabaseConnection, sql: &str) -> anyhow::Result<Vec<Uuid>> {
    let rows = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?;
    rows.iter()
        .map(|r| r.try_get::<Uuid>("", "id").context("id column"))
        .collect()
}

impl Fixture {
    /// Draws the ids; `setseed` makes the sample the same from run to run.
    pub async fn load(db: &DatabaseConnection) -> anyhow::Result<Self> {
        db.execute_unprepared("SELECT setseed(0.42)").await?;
        let people = uuids(db, "SELECT id FROM person ORDER BY random() LIMIT 20000").await?;
        let communities = uuids(db, "SELECT id FROM grid WHERE level = 3 ORDER BY code").await?;
        let writers = uuids(db, "SELECT id FROM person ORDER BY md5(id::text)").await?;
        anyhow::ensure!(
            !people.is_empty() && !communities.is_empty(),
            "the database holds no demo data"
        );
        Ok(Fixture {
            people,
            communities,
            writers,
        })
    }
}

fn body(query: &str, variables: Value) -> String {
    json!({ "query": query, "variables": variables }).to_string()
}

/// A cheap, well-mixed index for request `seq` of `client` (SplitMix64).
fn pick(client: usize, seq: u64, len: usize) -> usize {
    let mut z = (client as u64) << 40 ^ seq ^ 0x9E37_79B9_7F4A_7C15;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    usize::try_from(z % len.max(1) as u64).unwrap_or(0)
}

/// Sends one of a fixed set of read bodies, chosen at random per request.
pub struct Reads(pub Vec<String>);

impl Reads {
    pub fn node(people: &[Uuid], node_id: impl Fn(Uuid) -> String, query: &str) -> Self {
        Reads(
            people
                .iter()
                .map(|p| body(query, json!({ "id": node_id(*p) })))
                .collect(),
        )
    }
    pub fn gridgov_node(people: &[Uuid]) -> Self {
        Self::node(people, |p| global_id("Person", p).0, GG_NODE)
    }
    pub fn gridgov_nested(communities: &[Uuid]) -> Self {
        Reads(
            communities
                .iter()
                .map(|c| body(GG_NESTED, json!({ "p": global_id("Grid", *c) })))
                .collect(),
        )
    }
    pub fn postgraphile_nested(communities: &[Uuid]) -> Self {
        Reads(
            communities
                .iter()
                .map(|c| body(PGL_NESTED, json!({ "p": c })))
                .collect(),
        )
    }
    pub fn gridgov_stats(communities: &[Uuid]) -> Self {
        Reads(
            communities
                .iter()
                .map(|c| {
                    body(
                        GG_STATS,
                        json!({ "g": global_id("Grid", *c), "from": "2026-01-01T00:00:00+08:00", "to": "2027-01-01T00:00:00+08:00" }),
                    )
                })
                .collect(),
        )
    }
}

impl Workload for Reads {
    fn request(&self, client: usize, seq: u64) -> Request {
        Request {
            body: self.0[pick(client, seq, self.0.len())].clone(),
            acks: None,
        }
    }
}

/// Registrations into services of the run. Worker `w` (of `workers`) owns the `w`-th slice of
/// [`Fixture::writers`]; each of its calls takes the next `batch` residents of its slice, and when
/// the slice is used up it moves on to its next service ("lap"). Every item carries an
/// idempotency key unique to the run.
pub struct Registrations {
    /// Global ids of the services: `workers × laps`, lap-major.
    pub services: Vec<String>,
    /// Global ids of the residents.
    pub people: Vec<String>,
    pub workers: usize,
    pub batch: usize,
    pub run: String,
    calls: Vec<AtomicU64>,
}

impl Registrations {
    pub fn new(
        services: Vec<String>,
        workers: usize,
        people: &[Uuid],
        batch: usize,
        run: String,
    ) -> Self {
        let workers = workers.max(1);
        Registrations {
            services,
            people: people.iter().map(|p| global_id("Person", *p).0).collect(),
            workers,
            batch: batch.max(1),
            run,
            calls: (0..workers).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    fn next(&self, client: usize) -> Request {
        let worker = client % self.workers;
        let call = self.calls[worker].fetch_add(1, Ordering::Relaxed);
        let slice = self.people.len() / self.workers;
        let per_lap = (slice / self.batch).max(1) as u64;
        let lap = usize::try_from(call / per_lap).unwrap_or(0);
        // Past the last lap the services repeat: the repeated residents then fail as already
        // registered and make the run invalid, which says the run was too long for the data.
        let service = &self.services[(lap * self.workers + worker) % self.services.len().max(1)];
        let start = worker * slice + usize::try_from(call % per_lap).unwrap_or(0) * self.batch;
        let items: Vec<Value> = (start..start + self.batch)
            .filter_map(|i| self.people.get(i))
            .enumerate()
            .map(|(i, p)| {
                json!({
                    "serviceId": service,
                    "personId": p,
                    "idempotencyKey": format!("{}-{worker}-{call}-{i}", self.run),
                })
            })
            .collect();
        Request {
            body: body(GG_REGISTER, json!({ "i": items })),
            acks: Some(AckPath::RegisterParticipations),
        }
    }
}

impl Workload for Registrations {
    fn request(&self, client: usize, _seq: u64) -> Request {
        self.next(client)
    }
}

/// (5): 70 % node lookups, 20 % nested reads, 10 % registrations of a few residents.
pub struct Mixed {
    pub node: Reads,
    pub nested: Reads,
    pub writes: Registrations,
}

impl Workload for Mixed {
    fn request(&self, client: usize, seq: u64) -> Request {
        match pick(client, seq ^ 0x5555, 10) {
            0..=6 => self.node.request(client, seq),
            7 | 8 => self.nested.request(client, seq),
            _ => self.writes.next(client),
        }
    }
}

/// Creates and publishes `n` services without capacity for the registrations of a run.
pub async fn create_services(
    client: &crate::Client,
    n: usize,
    run: &str,
) -> anyhow::Result<Vec<String>> {
    let (data, _) = client
        .run("{ organizations(filter: { kind: GOVERNMENT }, first: 1) { nodes { id } } grid(code: \"370685001001\") { id } }", json!({}))
        .await?;
    let organizer = data["organizations"]["nodes"][0]["id"].clone();
    let grid = data["grid"]["id"].clone();
    let starts = (chrono::Utc::now() + chrono::Duration::days(60)).to_rfc3339();
    let mut services = Vec::with_capacity(n);
    for i in 0..n {
        let (d, _) = client
            .run(
                "mutation($i: CreateServiceInput!) { createService(input: $i) { service { id } } }",
                json!({ "i": { "gridId": grid, "organizerId": organizer, "title": format!("{run} {i}"), "category": "OTHER", "startsAt": starts } }),
            )
            .await?;
        let id = d["createService"]["service"]["id"].clone();
        client
            .run(
                "mutation($id: ID!) { transitionService(id: $id, to: PUBLISHED) { service { id } } }",
                json!({ "id": id }),
            )
            .await?;
        services.push(
            id.as_str()
                .map(str::to_owned)
                .context("createService returned no id")?,
        );
    }
    Ok(services)
}

/// Checks in SQL that every acknowledged participation exists once, and counts the rows of the
/// run's services that no client was told about (writes whose answer was lost).
#[derive(Debug, Clone, serde::Serialize)]
pub struct WriteAudit {
    pub acknowledged: usize,
    pub distinct_acknowledged: usize,
    pub found: u64,
    pub missing: u64,
    pub rows_in_run_services: u64,
    pub duplicate_person_rows: u64,
}

impl WriteAudit {
    pub fn ok(&self) -> bool {
        self.missing == 0
            && self.duplicate_person_rows == 0
            && self.acknowledged == self.distinct_acknowledged
    }
}

pub async fn audit_writes(
    db: &DatabaseConnection,
    acked: &[String],
    services: &[String],
) -> anyhow::Result<WriteAudit> {
    let to_uuid = |g: &String| {
        gridgov::schema::relay::decode_global_id(g, "id")
            .map(|(_, u)| u)
            .map_err(|e| anyhow::anyhow!("{e}"))
    };
    let ids: Vec<Uuid> = acked.iter().map(to_uuid).collect::<anyhow::Result<_>>()?;
    let mut distinct = ids.clone();
    distinct.sort();
    distinct.dedup();
    let service_ids: Vec<Uuid> = services
        .iter()
        .map(to_uuid)
        .collect::<anyhow::Result<_>>()?;
    let count = |sql: String| async move {
        let row = db
            .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
            .await?
            .context("no row")?;
        anyhow::Ok(u64::try_from(row.try_get::<i64>("", "n")?).unwrap_or(0))
    };
    let list = |v: &[Uuid]| {
        v.iter()
            .map(|u| format!("'{u}'"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut found = 0;
    for chunk in distinct.chunks(5000) {
        found += count(format!(
            "SELECT count(*) AS n FROM participation WHERE id IN ({})",
            list(chunk)
        ))
        .await?;
    }
    let (rows, dups) = if service_ids.is_empty() {
        (0, 0)
    } else {
        let s = list(&service_ids);
        (
            count(format!("SELECT count(*) AS n FROM participation WHERE service_id IN ({s})")).await?,
            count(format!("SELECT count(*) AS n FROM (SELECT service_id, person_id FROM participation WHERE service_id IN ({s}) GROUP BY 1, 2 HAVING count(*) > 1) d")).await?,
        )
    };
    Ok(WriteAudit {
        acknowledged: ids.len(),
        distinct_acknowledged: distinct.len(),
        found,
        missing: (distinct.len() as u64).saturating_sub(found),
        rows_in_run_services: rows,
        duplicate_person_rows: dups,
    })
}
