//! Test harness: fresh databases, a running server, and a small GraphQL client.

use gridgov::config::{DatabaseSettings, DatabaseTuning, ServeSettings};
use gridgov::server::Application;
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::{Value, json};
use std::net::SocketAddr;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh database that is removed when dropped.
pub struct TestDb {
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    // Held only so that the directory lives as long as the test.
    File(#[allow(dead_code)] tempfile::TempDir),
    PgDatabase {
        admin_url: String,
        name: String,
    },
    /// A database the test manages itself.
    Nothing,
}

impl TestDb {
    /// A database at `url` that the test itself creates and removes.
    pub fn existing(url: String) -> TestDb {
        TestDb {
            url,
            cleanup: Cleanup::Nothing,
        }
    }

    /// A new empty database, or `None` (with a loud note) when PostgreSQL is not configured.
    pub async fn create(backend: Backend) -> Option<TestDb> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
                Some(TestDb {
                    url,
                    cleanup: Cleanup::File(dir),
                })
            }
            Backend::Postgres => {
                let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
                    eprintln!("!!! SKIPPED on PostgreSQL: TEST_DATABASE_URL is not set");
                    return None;
                };
                let name = format!("gg_t_{}", uuid::Uuid::new_v4().simple());
                let admin = Database::connect(&admin_url)
                    .await
                    .expect("connect to TEST_DATABASE_URL");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await
                    .expect("create database");
                admin.close().await.ok();
                let url = replace_db_name(&admin_url, &name);
                Some(TestDb {
                    url,
                    cleanup: Cleanup::PgDatabase { admin_url, name },
                })
            }
        }
    }
}

fn replace_db_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let prefix = base.rsplit_once('/').map(|(p, _)| p).unwrap_or(base);
    match query {
        Some(q) => format!("{prefix}/{name}?{q}"),
        None => format!("{prefix}/{name}"),
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Cleanup::PgDatabase { admin_url, name } = &self.cleanup {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs inside the test's runtime; use a thread with its own runtime.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async {
                    if let Ok(admin) = Database::connect(&admin_url).await {
                        let _ = admin
                            .execute_unprepared(&format!(
                                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                            ))
                            .await;
                    }
                });
            })
            .join();
        }
    }
}

/// A pool over the database of `settings`, with every migration applied.
pub async fn migrated(settings: &DatabaseSettings, tuning: &DatabaseTuning) -> DatabaseConnection {
    let db = gridgov::db::connect_tuned(settings, tuning)
        .await
        .expect("connect");
    Migrator::up(&db, None).await.expect("migrate");
    db
}

/// A new ADMIN API key with `pii:read`.
pub async fn admin_key(db: &DatabaseConnection) -> String {
    let (_, key) = gridgov::auth::apikey::create(
        db,
        gridgov::auth::apikey::NewKey {
            name: "test admin".into(),
            role: gridgov::auth::Role::Admin,
            grid_codes: vec![],
            organization_id: None,
            scopes: vec!["pii:read".into()],
            expires_at: None,
        },
    )
    .await
    .expect("admin key");
    key
}

/// Holds the organisation table's write lock until the returned transaction ends, so that a
/// mutation writing an organisation must wait for it.
pub async fn hold_write_lock(db: &DatabaseConnection) -> sea_orm::DatabaseTransaction {
    use sea_orm::TransactionTrait;
    let blocker = db.begin().await.expect("begin");
    let lock = match db.get_database_backend() {
        // The first write in a transaction takes SQLite's single write lock.
        sea_orm::DbBackend::Sqlite => "CREATE TABLE hold_write_lock (x INTEGER)",
        _ => "LOCK TABLE organization IN ACCESS EXCLUSIVE MODE",
    };
    blocker.execute_unprepared(lock).await.expect("lock");
    blocker
}

/// A running server over a migrated database.
pub struct TestApp {
    pub addr: SocketAddr,
    /// Where `/metrics` is served when it has a listener of its own (`metrics_listen`).
    pub metrics_addr: Option<SocketAddr>,
    /// An ADMIN key with `pii:read`, sent by [`gql`](Self::gql) and friends.
    pub admin_key: String,
    pub db: DatabaseConnection,
    pub http: reqwest::Client,
    /// Shuts the server down when triggered.
    pub shutdown: gridgov::shutdown::ShutdownSignal,
    _db: TestDb,
}

impl TestApp {
    /// Starts gridgov over a fresh, migrated database, with the server settings adjusted by
    /// `configure`; `None` when the backend is unavailable.
    pub async fn spawn_with(
        backend: Backend,
        configure: impl FnOnce(&mut ServeSettings),
    ) -> Option<TestApp> {
        let test_db = TestDb::create(backend).await?;
        Some(TestApp::spawn_on(test_db, |_, _| {}, configure).await)
    }

    /// Starts gridgov over `test_db` (migrated here), with its pool settings adjusted by `pool`
    /// and its server settings by `configure`. A `read_replica_url` set by `configure` is
    /// connected as the read replica.
    pub async fn spawn_on(
        test_db: TestDb,
        pool: impl FnOnce(&mut DatabaseSettings, &mut DatabaseTuning),
        configure: impl FnOnce(&mut ServeSettings),
    ) -> TestApp {
        let mut settings = DatabaseSettings {
            database_url: test_db.url.clone(),
            db_max_connections: 5,
            db_acquire_timeout: 5,
        };
        let mut tuning = DatabaseTuning::default();
        pool(&mut settings, &mut tuning);
        let db = migrated(&settings, &tuning).await;
        let mut serve = ServeSettings::ephemeral().expect("default settings");
        serve.debug_extensions = true;
        configure(&mut serve);
        let replica = gridgov::db::connect_read_replica(
            &settings,
            &tuning,
            serve.read_replica_url.as_deref(),
        )
        .await
        .expect("connect the replica");
        let app = Application::build(db.clone(), serve)
            .await
            .expect("bind")
            .with_read_replica(replica);
        let addr = app.local_addr().expect("addr");
        let metrics_addr = app.metrics_addr().map(|a| a.expect("metrics addr"));
        let shutdown = app.shutdown_signal();
        tokio::spawn(app.run_until_stopped());
        let admin_key = admin_key(&db).await;
        TestApp {
            addr,
            metrics_addr,
            db,
            admin_key,
            http: reqwest::Client::new(),
            shutdown,
            _db: test_db,
        }
    }

    /// Starts a second gridgov server over the same database (another replica of the
    /// service), with its own connection pool; returns its address.
    pub async fn second_server(&self) -> SocketAddr {
        self.second_server_with(|_, _| {}).await
    }

    /// Like [`second_server`](Self::second_server), with its settings adjusted by `configure`
    /// (which also gets the database URL).
    pub async fn second_server_with(
        &self,
        configure: impl FnOnce(&mut ServeSettings, &str),
    ) -> SocketAddr {
        let settings = DatabaseSettings {
            database_url: self._db.url.clone(),
            db_max_connections: 5,
            db_acquire_timeout: 5,
        };
        let db = gridgov::db::connect(&settings)
            .await
            .expect("connect replica");
        let mut serve = ServeSettings::ephemeral().expect("default settings");
        serve.debug_extensions = true;
        configure(&mut serve, &self._db.url);
        let app = Application::build(db, serve).await.expect("bind replica");
        let addr = app.local_addr().expect("addr");
        tokio::spawn(app.run_until_stopped());
        addr
    }

    /// A new API key of `role` for `grids` (codes) or `org`, with `scopes`.
    pub async fn key(
        &self,
        role: gridgov::auth::Role,
        grids: &[&str],
        org: Option<uuid::Uuid>,
        scopes: &[&str],
    ) -> String {
        let new = gridgov::auth::apikey::NewKey {
            name: format!("{role} test key"),
            role,
            grid_codes: grids.iter().map(|s| s.to_string()).collect(),
            organization_id: org,
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            expires_at: None,
        };
        gridgov::auth::apikey::create(&self.db, new)
            .await
            .expect("api key")
            .1
    }

    /// The plain content of a cursor this server sealed, opened with the key it keeps in the
    /// database (for tests that check what a cursor encodes).
    pub async fn open_cursor(&self, cursor: &str) -> String {
        use sea_orm::ConnectionTrait;
        let row = self
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                self.db.get_database_backend(),
                "SELECT secret FROM server_key WHERE name = 'cursor'",
            ))
            .await
            .expect("read the cursor key")
            .expect("a cursor key");
        let secret: String = row.try_get("", "secret").expect("secret");
        let key = gridgov::store::seal::CursorKey::from_hex(&secret).expect("key");
        String::from_utf8(key.open(cursor).expect("a cursor of this server")).expect("utf-8")
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// POSTs a GraphQL request and returns the whole JSON response.
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        self.gql_as(Some(&self.admin_key), query, variables).await
    }

    /// POSTs a GraphQL request with `token` as bearer credential (none: PUBLIC).
    pub async fn gql_as(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut req = self
            .http
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.expect("request");
        resp.json().await.expect("json body")
    }

    /// Like [`gql`](Self::gql) but fails the test on any GraphQL error; returns `data`.
    pub async fn data(&self, query: &str, variables: Value) -> Value {
        let body = self.gql(query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
        body["data"].clone()
    }

    /// Returns the single error of a response that must have failed.
    pub async fn error(&self, query: &str, variables: Value) -> Value {
        let body = self.gql(query, variables).await;
        let errors = body["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("expected errors: {body:#}"));
        assert!(!errors.is_empty(), "expected errors: {body:#}");
        errors[0].clone()
    }
}

/// Declares a test that runs once on SQLite and once on PostgreSQL:
/// `db_test!(name, |app| async move { … });`
#[macro_export]
macro_rules! db_test {
    ($name:ident, |$app:ident| $body:expr) => {
        $crate::db_test!($name, settings = |_s| {}, |$app| $body);
    };
    ($name:ident, settings = $configure:expr, |$app:ident| $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let $app = $crate::harness::TestApp::spawn_with(
                    $crate::harness::Backend::Sqlite,
                    $configure,
                )
                .await
                .expect("sqlite");
                $body.await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some($app) = $crate::harness::TestApp::spawn_with(
                    $crate::harness::Backend::Postgres,
                    $configure,
                )
                .await
                else {
                    return;
                };
                $body.await;
            }
        }
    };
}

/// Declares a test that runs `async fn $name(backend: Backend)` once on SQLite and once on
/// PostgreSQL, for tests that set up their own servers: `backend_test!(name);`
#[macro_export]
macro_rules! backend_test {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::harness::Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::harness::Backend::Postgres).await;
            }
        }
    };
}

/// Ids (`id` fields) of a connection's `nodes`.
pub fn ids(conn: &Value) -> Vec<String> {
    conn["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| n["id"].as_str().expect("id").to_owned())
        .collect()
}
