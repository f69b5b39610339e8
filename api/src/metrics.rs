//! Prometheus metrics, served at `GET /metrics`.
//!
//! Code anywhere records through the `metrics` facade macros (`counter!`, `gauge!`,
//! `histogram!`) with the names below; one process-wide recorder renders them. Labels have
//! bounded values only: operation names are validated, clipped and capped (see
//! [`operation_label`]), error codes are the closed set of `extensions.code`.

use crate::db::pool_connections;
use async_graphql::parser::types::{DocumentOperations, OperationType};
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sea_orm::DatabaseConnection;
use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// GraphQL operations run, by `operation` (name) and `type` (query, mutation, …).
pub const OPERATIONS: &str = "gridgov_graphql_operations_total";
/// Seconds per GraphQL operation, by `operation` and `type`.
pub const OPERATION_SECONDS: &str = "gridgov_graphql_operation_duration_seconds";
/// GraphQL operations running now.
pub const OPERATIONS_IN_FLIGHT: &str = "gridgov_graphql_operations_in_flight";
/// GraphQL errors returned, by `code` (`extensions.code`).
pub const ERRORS: &str = "gridgov_graphql_errors_total";
/// SQL statements one GraphQL operation ran.
pub const SQL_STATEMENTS: &str = "gridgov_graphql_sql_statements";
/// Operations refused by the cost-based rate limit (HTTP 429).
pub const RATE_LIMITED: &str = "gridgov_rate_limited_total";
/// Pooled database connections, by `pool` (primary, replica) and `state` (in_use, idle).
pub const DB_CONNECTIONS: &str = "gridgov_db_connections";
/// Open GraphQL subscriptions (WebSocket operations).
///
/// Contract for the subscription code: increment when a subscription starts and decrement when
/// it ends, whatever the reason —
/// `metrics::gauge!(gridgov::metrics::SUBSCRIPTIONS_OPEN).increment(1.0)` and
/// `….decrement(1.0)` (a drop guard makes the decrement certain). [`install`] registers the
/// gauge so that it reads 0 before the first subscription.
pub const SUBSCRIPTIONS_OPEN: &str = "gridgov_subscriptions_open";

/// Longest operation name kept in labels; longer ones are clipped.
const MAX_NAME_LEN: usize = 64;
/// Distinct operation names labelled before further ones count as `other`.
const MAX_NAMES: usize = 200;

/// The process's recorder, installed on first use (the tests run several servers in one
/// process; they share it).
pub fn install() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full(OPERATION_SECONDS.to_owned()),
                &[
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                    30.0,
                ],
            )
            .and_then(|b| {
                b.set_buckets_for_metric(
                    Matcher::Full(SQL_STATEMENTS.to_owned()),
                    &[1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0, 34.0, 55.0, 100.0],
                )
            });
        let handle = match builder {
            Ok(b) => b.install_recorder().unwrap_or_else(|e| {
                // Another recorder is installed (an embedding program's): keep serving an
                // empty page rather than failing.
                tracing::warn!(error = %e, "metrics recorder not installed");
                PrometheusBuilder::new().build_recorder().handle()
            }),
            Err(e) => {
                tracing::warn!(error = %e, "metrics buckets rejected");
                PrometheusBuilder::new().build_recorder().handle()
            }
        };
        describe();
        handle
    })
}

fn describe() {
    describe_counter!(
        OPERATIONS,
        "GraphQL operations run, by operation name and type"
    );
    describe_histogram!(
        OPERATION_SECONDS,
        metrics::Unit::Seconds,
        "GraphQL operation latency, by operation name and type"
    );
    describe_gauge!(OPERATIONS_IN_FLIGHT, "GraphQL operations running now");
    describe_counter!(ERRORS, "GraphQL errors returned, by extensions.code");
    describe_histogram!(
        SQL_STATEMENTS,
        "SQL statements run by one GraphQL operation"
    );
    describe_counter!(
        RATE_LIMITED,
        "operations refused by the rate limit (HTTP 429)"
    );
    describe_gauge!(
        DB_CONNECTIONS,
        "pooled database connections, by pool and state"
    );
    describe_gauge!(SUBSCRIPTIONS_OPEN, "open GraphQL subscriptions");
    // Registered now so that they read 0 rather than being absent.
    gauge!(SUBSCRIPTIONS_OPEN).increment(0.0);
    counter!(RATE_LIMITED).increment(0);
    gauge!(OPERATIONS_IN_FLIGHT).increment(0.0);
}

/// The `/metrics` page, with the pool gauges read now.
pub fn render(primary: &DatabaseConnection, replica: Option<&DatabaseConnection>) -> String {
    let handle = install();
    for (pool, db) in [("primary", Some(primary)), ("replica", replica)] {
        if let Some(db) = db {
            let (open, idle) = pool_connections(db);
            let in_use = f64::from(open) - idle as f64;
            gauge!(DB_CONNECTIONS, "pool" => pool, "state" => "in_use").set(in_use.max(0.0));
            gauge!(DB_CONNECTIONS, "pool" => pool, "state" => "idle").set(idle as f64);
        }
    }
    handle.render()
}

/// What one GraphQL request asks to run, read from its document before execution: the label
/// of its operation and whether it is a query (which may go to the read replica).
#[derive(Debug, Clone)]
pub struct Operation {
    pub name: String,
    pub kind: Option<OperationType>,
}

impl Operation {
    /// An operation refused before its document could be read (a persisted-document miss, a
    /// limit, a syntax error).
    pub fn invalid() -> Operation {
        Operation {
            name: "invalid".to_owned(),
            kind: None,
        }
    }

    /// What `request` asks to run: the one place the selected operation is read (async-graphql
    /// reuses the parsed document). Several operations without `operationName` select none.
    pub fn of(request: &mut async_graphql::Request) -> Operation {
        let wanted = request.operation_name.clone();
        let Ok(doc) = request.parsed_query() else {
            return Operation::invalid();
        };
        let (name, op) = match (&doc.operations, wanted.as_deref()) {
            (DocumentOperations::Single(op), _) => (None, Some(op)),
            (DocumentOperations::Multiple(ops), Some(n)) => (Some(n), ops.get(n)),
            (DocumentOperations::Multiple(ops), None) => match ops.iter().next() {
                Some((n, op)) if ops.len() == 1 => (Some(n.as_str()), Some(op)),
                _ => (None, None),
            },
        };
        Operation {
            name: operation_label(name),
            kind: op.map(|op| op.node.ty),
        }
    }

    /// `query`, `mutation`, `subscription`, or `unknown` when the document names none.
    pub fn kind_label(&self) -> &'static str {
        match self.kind {
            Some(OperationType::Query) => "query",
            Some(OperationType::Mutation) => "mutation",
            Some(OperationType::Subscription) => "subscription",
            None => "unknown",
        }
    }

    /// The `graphql.operation` span; the cost extension records depth, complexity and cost.
    pub fn span(&self) -> tracing::Span {
        tracing::info_span!(
            "graphql.operation",
            otel.name = %format_args!("{} {}", self.kind_label(), self.name),
            graphql.operation.name = %self.name,
            graphql.operation.type = self.kind_label(),
            graphql.depth = tracing::field::Empty,
            graphql.complexity = tracing::field::Empty,
            graphql.cost = tracing::field::Empty,
        )
    }

    /// Records one finished operation with its response.
    pub fn record(&self, elapsed: Duration, response: &async_graphql::Response) {
        let labels = [
            ("operation", self.name.clone()),
            ("type", self.kind_label().to_owned()),
        ];
        counter!(OPERATIONS, &labels).increment(1);
        histogram!(OPERATION_SECONDS, &labels).record(elapsed.as_secs_f64());
        self.record_errors(response);
    }

    /// Counts a subscription as it starts (its lifetime is no latency worth a histogram).
    pub fn record_start(&self) {
        counter!(OPERATIONS, "operation" => self.name.clone(), "type" => self.kind_label())
            .increment(1);
    }

    /// Counts the errors of one response (of an operation, or one event of a subscription).
    pub fn record_errors(&self, response: &async_graphql::Response) {
        for e in &response.errors {
            let code = crate::error::code_of(e).unwrap_or("INTERNAL").to_owned();
            counter!(ERRORS, "code" => code).increment(1);
        }
    }
}

/// Counts an operation in [`OPERATIONS_IN_FLIGHT`] until dropped, however it ends (a request
/// timeout drops it).
pub struct InFlight(());

impl InFlight {
    pub fn start() -> Self {
        gauge!(OPERATIONS_IN_FLIGHT).increment(1.0);
        InFlight(())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        gauge!(OPERATIONS_IN_FLIGHT).decrement(1.0);
    }
}

/// The label of an operation name: `anonymous` without one; a GraphQL name clipped to 64
/// characters; `invalid` for anything else; `other` once 200 distinct names have been seen,
/// so that clients cannot grow the label set without bound.
pub fn operation_label(name: Option<&str>) -> String {
    static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let Some(name) = name else {
        return "anonymous".to_owned();
    };
    let valid = name.starts_with(|c: char| c == '_' || c.is_ascii_alphabetic())
        && name.chars().all(|c| c == '_' || c.is_ascii_alphanumeric());
    if !valid {
        return "invalid".to_owned();
    }
    // ASCII only, so clipping at a byte index is clipping at a character.
    let name = &name[..name.len().min(MAX_NAME_LEN)];
    let mut seen = SEEN
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if seen.contains(name) {
        name.to_owned()
    } else if seen.len() < MAX_NAMES {
        seen.insert(name.to_owned());
        name.to_owned()
    } else {
        "other".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_labels_are_bounded() {
        assert_eq!(operation_label(None), "anonymous");
        assert_eq!(operation_label(Some("GridTree")), "GridTree");
        assert_eq!(operation_label(Some("drop table")), "invalid");
        assert_eq!(operation_label(Some("1st")), "invalid");
        assert_eq!(operation_label(Some("名字")), "invalid");
        let long = "A".repeat(100);
        assert_eq!(operation_label(Some(&long)), "A".repeat(MAX_NAME_LEN));
        for i in 0..MAX_NAMES {
            operation_label(Some(&format!("Op{i}")));
        }
        assert_eq!(operation_label(Some("OneTooMany")), "other");
        assert_eq!(
            operation_label(Some("GridTree")),
            "GridTree",
            "known names stay"
        );
    }
}
