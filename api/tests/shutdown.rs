//! The real `gridgov` binary as a process: SIGTERM lets an in-flight request finish, refuses new
//! connections and exits 0; the grace period bounds how long it waits.
//!
//! These live in the `gridgov` package rather than in `tests/` because only here does Cargo
//! build the binary for the tests (`CARGO_BIN_EXE_gridgov`). They share the black-box tests'
//! harness for their databases.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly; the workspace lints are for request paths"
)]

#[allow(dead_code, unused_imports)]
#[path = "../../tests/tests/api/harness.rs"]
mod harness;

use harness::{Backend, TestDb};
use sea_orm::{DatabaseConnection, DatabaseTransaction};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

/// A generous bound for anything that should take moments.
const PATIENCE: Duration = Duration::from_secs(60);

/// A running `gridgov serve` over a fresh, migrated database, and an ADMIN key.
struct Server {
    child: Child,
    addr: SocketAddr,
    key: String,
    db: DatabaseConnection,
    _db: TestDb,
}

impl Server {
    async fn start(backend: Backend, grace_secs: u64) -> Option<Server> {
        let test_db = TestDb::create(backend).await?;
        let settings = gridgov::config::DatabaseSettings {
            database_url: test_db.url.clone(),
            db_max_connections: 2,
            db_acquire_timeout: 5,
        };
        let db = harness::migrated(&settings, &Default::default()).await;
        let key = harness::admin_key(&db).await;
        let mut child = Command::new(env!("CARGO_BIN_EXE_gridgov"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("DATABASE_URL", &test_db.url)
            .env("GRIDGOV_LOG_FORMAT", "json")
            .env("GRIDGOV_LOG", "info")
            .env("GRIDGOV_SHUTDOWN_GRACE", grace_secs.to_string())
            .env("GRIDGOV_REQUEST_TIMEOUT", "300")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start gridgov");
        // The address is in the JSON log line announcing it; the rest of the log is drained so
        // that the server never blocks on a full pipe.
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("gridgov: {line}");
                let addr = serde_json::from_str::<Value>(&line)
                    .ok()
                    .and_then(|v| v["fields"]["addr"].as_str().map(str::to_owned));
                if let Some(addr) = addr {
                    let _ = tx.send(addr);
                }
            }
        });
        let addr = rx
            .recv_timeout(PATIENCE)
            .expect("gridgov announced its address")
            .parse()
            .unwrap();
        Some(Server {
            child,
            addr,
            key,
            db,
            _db: test_db,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn sigterm(&self) {
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -TERM");
    }

    /// Waits for the process to exit.
    async fn exit_status(&mut self) -> ExitStatus {
        for _ in 0..(PATIENCE.as_millis() / 50) {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("gridgov did not exit");
    }

    /// Waits until `n` GraphQL operations are running, read from `/metrics`.
    async fn operations_in_flight(&self, n: u32) {
        let client = reqwest::Client::new();
        for _ in 0..(PATIENCE.as_millis() / 50) {
            let page = client
                .get(self.url("/metrics"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            if page
                .lines()
                .any(|l| l == format!("gridgov_graphql_operations_in_flight {n}"))
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{n} operations never ran at once");
    }

    /// Waits until the listener refuses connections.
    async fn refusing_connections(&self) {
        for _ in 0..(PATIENCE.as_millis() / 50) {
            if tokio::net::TcpStream::connect(self.addr).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("gridgov kept accepting connections after SIGTERM");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const CREATE_ORGANIZATION: &str = r#"mutation { createOrganization(input: { name: "在途", kind: GOVERNMENT }) { organization { name } } }"#;

/// A response on its way: (status, body).
type Response = tokio::task::JoinHandle<reqwest::Result<(u16, Value)>>;

/// Sends `createOrganization` on a connection of its own.
fn create_organization(server: &Server) -> Response {
    let (url, key) = (server.url("/graphql"), server.key.clone());
    tokio::spawn(async move {
        let r = reqwest::Client::new()
            .post(url)
            .bearer_auth(key)
            .json(&json!({ "query": CREATE_ORGANIZATION }))
            .send()
            .await?;
        Ok((r.status().as_u16(), r.json().await?))
    })
}

/// A server with a `createOrganization` in flight (waiting for a write lock the test holds),
/// sent SIGTERM.
async fn sigterm_during_a_blocked_mutation(
    backend: Backend,
    grace_secs: u64,
) -> Option<(Server, DatabaseTransaction, Response)> {
    let server = Server::start(backend, grace_secs).await?;
    let blocker = harness::hold_write_lock(&server.db).await;
    let request = create_organization(&server);
    server.operations_in_flight(1).await;
    server.sigterm();
    Some((server, blocker, request))
}

crate::backend_test!(sigterm_lets_the_request_in_flight_finish);

async fn sigterm_lets_the_request_in_flight_finish(backend: Backend) {
    let Some((mut server, blocker, request)) =
        sigterm_during_a_blocked_mutation(backend, 120).await
    else {
        return;
    };
    server.refusing_connections().await;
    blocker.rollback().await.unwrap();

    let (status, body) = request.await.unwrap().expect("the response arrived");
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(
        body["data"]["createOrganization"]["organization"]["name"], "在途",
        "{body:#}"
    );
    assert!(server.exit_status().await.success(), "exit code 0");
}

crate::backend_test!(connections_open_after_the_grace_period_are_dropped);

async fn connections_open_after_the_grace_period_are_dropped(backend: Backend) {
    let Some((mut server, blocker, request)) = sigterm_during_a_blocked_mutation(backend, 1).await
    else {
        return;
    };
    let status = server.exit_status().await;
    assert!(
        status.success(),
        "exit code 0 after the grace period: {status}"
    );
    let outcome = request.await.unwrap();
    assert!(
        outcome.is_err(),
        "the request still waiting for the lock got no response: {outcome:?}"
    );
    blocker.rollback().await.unwrap();
}
