//! Operation: losing the database and getting it back, PostgreSQL without prepared-statement
//! caching (for transaction-mode poolers), and a read replica for queries.

use crate::fixture;
use crate::harness::{Backend, TestApp, TestDb};
use gridgov::config::ServeSettings;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::{Value, json};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A PostgreSQL cluster of this test's own, which the test may stop and start.
struct PrivatePg {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

impl PrivatePg {
    /// A new cluster, started; `None` (with a loud note) when no PostgreSQL binaries exist.
    fn start() -> Option<PrivatePg> {
        let Some(bin) = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|b| b.join("initdb").exists() && b.join("pg_ctl").exists())
            .max()
        else {
            eprintln!("!!! SKIPPED: no PostgreSQL binaries under /usr/lib/postgresql/*/bin");
            return None;
        };
        let dir = tempfile::tempdir().expect("temp dir");
        // A free port: bound and released at once.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let pg = PrivatePg { dir, bin, port };
        if is_root() {
            // PostgreSQL refuses to run as root.
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(pg.dir.path())
                .status()
                .expect("chown")
                .success();
            assert!(ok, "chown the cluster directory to postgres");
        }
        pg.run(
            "initdb",
            &["-A", "trust", "-U", "postgres", "-D", &pg.data()],
        );
        pg.pg_ctl("start");
        Some(pg)
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// `pg_ctl start|stop`, waiting until it is done.
    fn pg_ctl(&self, action: &str) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.dir.path().display()
        );
        let (data, log) = (self.data(), self.dir.path().join("server.log"));
        let log = log.display().to_string();
        let mut args = vec![action, "-w", "-D", &data, "-l", &log, "-o", &options];
        if action == "stop" {
            args.extend(["-m", "fast"]);
        }
        self.run("pg_ctl", &args);
    }

    fn run(&self, program: &str, args: &[&str]) {
        let program = self.bin.join(program);
        let status = if is_root() {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(&program)
                .args(args)
                .current_dir(self.dir.path())
                .status()
        } else {
            Command::new(&program)
                .args(args)
                .current_dir(self.dir.path())
                .status()
        }
        .expect("run a PostgreSQL program");
        assert!(status.success(), "{} {args:?} failed", program.display());
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        if Path::new(&self.data()).join("postmaster.pid").exists() {
            let _ = std::panic::catch_unwind(|| self.pg_ctl("stop"));
        }
    }
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

async fn post(app: &TestApp, query: &str) -> (u16, Value) {
    let r = app
        .http
        .post(app.url("/graphql"))
        .bearer_auth(&app.admin_key)
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn readyz(app: &TestApp) -> (u16, String) {
    let r = app.http.get(app.url("/readyz")).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// PostgreSQL only: an SQLite file does not go away while the process holds it open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_the_database_fails_fast_and_recovers_by_itself() {
    let Some(pg) = PrivatePg::start() else {
        return;
    };
    let app = TestApp::spawn_on(
        TestDb::existing(pg.url()),
        |db, _| db.db_acquire_timeout = 2,
        // Far above the acquire timeout: a 408 would mean the request waited for the
        // database instead of failing.
        |s: &mut ServeSettings| s.limits.request_timeout = 120,
    )
    .await;
    let query = "{ grids { totalCount } }";
    // A key never used yet: checking it needs the database (used keys are cached briefly).
    let unchecked = app.key(gridgov::auth::Role::Admin, &[], None, &[]).await;
    let (status, body) = post(&app, query).await;
    assert_eq!(
        (status, &body["data"]["grids"]["totalCount"]),
        (200, &json!(0))
    );

    pg.pg_ctl("stop");
    let (status, body) = post(&app, query).await;
    assert_eq!(status, 503, "{body:#}");
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "UNAVAILABLE",
        "{body:#}"
    );
    assert_eq!(body["errors"][0]["message"], "database unavailable");
    let text = body.to_string().to_lowercase();
    for leak in ["select", "sqlx", "connection refused", "127.0.0.1"] {
        assert!(!text.contains(leak), "`{leak}` leaked: {body}");
    }
    let (status, ready) = readyz(&app).await;
    assert_eq!(status, 503);
    assert_eq!(
        serde_json::from_str::<Value>(&ready).unwrap(),
        json!({ "ready": false, "reason": "database unavailable" })
    );
    let r = app
        .http
        .post(app.url("/graphql"))
        .bearer_auth(&unchecked)
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        503,
        "checking a new credential needs the database"
    );

    pg.pg_ctl("start");
    // The pool reconnects on its own: poll, with a generous bound, until it has.
    let mut recovered = None;
    for _ in 0..120 {
        let (status, body) = post(&app, query).await;
        if status == 200 {
            recovered = Some(body);
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let body = recovered.expect("gridgov recovered when the database came back");
    assert_eq!(body["data"]["grids"]["totalCount"], 0, "{body:#}");
    assert_eq!(readyz(&app).await, (200, "ready".to_owned()));
}

/// Named prepared statements of the pool's one connection (sqlx's cache); unnamed statements,
/// which a transaction-mode pooler can carry, are not listed.
async fn prepared_statements(db: &DatabaseConnection) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT count(*) AS n FROM pg_prepared_statements",
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

/// PostgreSQL only: the setting is sqlx's PostgreSQL statement cache.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statement_cache_zero_leaves_no_prepared_statements_on_the_server() {
    let mut counts = Vec::new();
    for cache in [0, 100] {
        let Some(db) = TestDb::create(Backend::Postgres).await else {
            return;
        };
        // One connection, so that the check below sees the session the queries ran in.
        let app = TestApp::spawn_on(
            db,
            |db, tuning| {
                db.db_max_connections = 1;
                tuning.db_statement_cache = cache;
            },
            |_| {},
        )
        .await;
        let f = fixture::load(&app.db).await;
        for _ in 0..3 {
            let data = app
                .data(
                    "query($id: ID!) { grids(first: 5) { totalCount nodes { name } } node(id: $id) { id } }",
                    json!({ "id": f.grid("G11") }),
                )
                .await;
            assert_eq!(data["node"]["id"], f.grid("G11"));
        }
        counts.push(prepared_statements(&app.db).await);
    }
    assert_eq!(counts[0], 0, "no server-side statements with the cache off");
    assert!(
        counts[1] > 0,
        "the default caches them (so the check can see them)"
    );
}

async fn count(db: &DatabaseConnection, table: &str) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT count(*) AS n FROM {table}"),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

crate::backend_test!(queries_read_from_the_replica_and_writes_go_to_the_primary);

async fn queries_read_from_the_replica_and_writes_go_to_the_primary(backend: Backend) {
    // The "replica" is a second database holding the fixture; the primary starts empty, so
    // every row a query returns proves where it read.
    let Some(replica_db) = TestDb::create(backend).await else {
        return;
    };
    let replica = crate::harness::migrated(
        &gridgov::config::DatabaseSettings {
            database_url: replica_db.url.clone(),
            db_max_connections: 2,
            db_acquire_timeout: 5,
        },
        &Default::default(),
    )
    .await;
    let f = fixture::load(&replica).await;
    let primary_db = TestDb::create(backend).await.expect("second database");
    let url = replica_db.url.clone();
    let app = TestApp::spawn_on(
        primary_db,
        |_, _| {},
        move |s| s.read_replica_url = Some(url),
    )
    .await;
    let grids_in_replica = count(&replica, "grid").await;
    assert!(grids_in_replica > 0);

    let data = app.data("{ grids { totalCount } }", json!({})).await;
    assert_eq!(
        data["grids"]["totalCount"], grids_in_replica,
        "queries read the replica"
    );

    let data = app
        .data(
            "mutation { createOrganization(input: { name: \"仅主库\", kind: GOVERNMENT }) { organization { id name } } }",
            json!({}),
        )
        .await;
    assert_eq!(data["createOrganization"]["organization"]["name"], "仅主库");
    assert_eq!(
        count(&app.db, "organization").await,
        1,
        "the write is on the primary"
    );
    assert_eq!(count(&app.db, "audit_log").await, 1, "with its audit entry");
    assert_eq!(
        count(&replica, "organization").await,
        3,
        "the replica is untouched"
    );

    // An unmasked phone number read from the replica is logged on the primary.
    let data = app
        .data(
            "query($id: ID!) { node(id: $id) { ... on Person { phone } } }",
            json!({ "id": f.person("zhang_wei") }),
        )
        .await;
    assert!(
        data["node"]["phone"]
            .as_str()
            .is_some_and(|p| p.len() == 11),
        "{data:#}"
    );
    assert_eq!(count(&app.db, "pii_access_log").await, 1);
    assert_eq!(count(&replica, "pii_access_log").await, 0);
}
