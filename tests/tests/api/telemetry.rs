//! Traces, logs and metrics: the spans of one request and their parents, the W3C
//! `traceparent`, no personal data in spans or logs, `/metrics` and `/readyz`.

use crate::db_test;
use crate::fixture;
use crate::harness::TestApp;
use crate::mutations::id_number;
use gridgov::config::{LogFormat, ServeSettings, TelemetrySettings};
use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

/// Everything the process's subscriber captured: exported spans and JSON log lines.
pub struct Captured {
    spans: InMemorySpanExporter,
    logs: LogBuffer,
}

#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogBuffer {
    type Writer = LogBuffer;
    fn make_writer(&'a self) -> LogBuffer {
        self.clone()
    }
}

/// Installs gridgov's own subscriber once for this test process, over an in-memory span
/// exporter and a log buffer. Tests running in parallel share it and tell their spans apart by
/// trace id.
pub fn capture() -> &'static Captured {
    static CAPTURED: OnceLock<Captured> = OnceLock::new();
    CAPTURED.get_or_init(|| {
        let spans = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(spans.clone())
            .build();
        let logs = LogBuffer::default();
        let settings = TelemetrySettings {
            log_format: LogFormat::Json,
            log: "info".into(),
        };
        let subscriber = gridgov::telemetry::subscriber(&settings, logs.clone(), Some(&provider));
        tracing::subscriber::set_global_default(subscriber).expect("first subscriber");
        // The provider must outlive every test; the exporter keeps what it was given.
        std::mem::forget(provider);
        Captured { spans, logs }
    })
}

impl Captured {
    fn trace(&self, trace: TraceId) -> Vec<SpanData> {
        self.spans
            .get_finished_spans()
            .unwrap()
            .into_iter()
            .filter(|s| s.span_context.trace_id() == trace)
            .collect()
    }
    fn all_spans(&self) -> String {
        format!("{:?}", self.spans.get_finished_spans().unwrap())
    }
    fn logs(&self) -> String {
        String::from_utf8_lossy(&self.logs.0.lock().unwrap()).into_owned()
    }
}

fn attr(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.as_str().into_owned())
}

fn named<'a>(spans: &'a [SpanData], name: &str) -> Vec<&'a SpanData> {
    spans.iter().filter(|s| s.name == name).collect()
}

/// A fresh W3C trace context: (trace id, parent span id, `traceparent` header).
fn traceparent() -> (TraceId, SpanId, String) {
    let trace = uuid::Uuid::new_v4().simple().to_string();
    let parent = &uuid::Uuid::new_v4().simple().to_string()[..16];
    let header = format!("00-{trace}-{parent}-01");
    (
        TraceId::from_hex(&trace).unwrap(),
        SpanId::from_hex(parent).unwrap(),
        header,
    )
}

/// A query with a DataLoader batch (`node`) and a root connection (`grids`).
const TRACED: &str = "query Traced($id: ID!) { node(id: $id) { ... on Grid { name } } grids(first: 3) { totalCount } }";

db_test!(
    spans_of_a_request_nest_under_the_callers_trace,
    |app| async move {
        let captured = capture();
        let f = fixture::load(&app.db).await;
        let (trace, remote_parent, header) = traceparent();

        let r = app
            .http
            .post(app.url("/graphql"))
            .bearer_auth(&app.admin_key)
            .header("traceparent", &header)
            .header("x-request-id", "trace-test-1")
            .json(&json!({
                "query": TRACED,
                "variables": { "id": f.grid("G11") },
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        // The server picks the request id; the client's is kept beside it.
        let request_id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_ne!(request_id, "trace-test-1");
        let body: serde_json::Value = r.json().await.unwrap();
        assert!(body.get("errors").is_none(), "{body:#}");

        let spans = captured.trace(trace);
        // Span names follow OpenTelemetry's conventions: `{method} {path}`, `{type} {name}`.
        let http = named(&spans, "POST /graphql");
        assert_eq!(http.len(), 1, "one request span in the trace: {spans:#?}");
        let http = http[0];
        assert_eq!(
            http.parent_span_id, remote_parent,
            "the traceparent is the parent"
        );
        assert!(http.parent_span_is_remote);
        assert_eq!(attr(http, "url.path").as_deref(), Some("/graphql"));
        assert_eq!(attr(http, "request_id"), Some(request_id));
        assert_eq!(
            attr(http, "client_request_id").as_deref(),
            Some("trace-test-1")
        );

        let op = named(&spans, "query Traced");
        assert_eq!(op.len(), 1, "{spans:#?}");
        let op = op[0];
        assert_eq!(op.parent_span_id, http.span_context.span_id());
        assert_eq!(
            attr(op, "graphql.operation.name").as_deref(),
            Some("Traced")
        );
        assert_eq!(attr(op, "graphql.operation.type").as_deref(), Some("query"));
        assert_eq!(attr(op, "graphql.depth").as_deref(), Some("2"));
        let complexity: u64 = attr(op, "graphql.complexity").unwrap().parse().unwrap();
        let cost: u64 = attr(op, "graphql.cost").unwrap().parse().unwrap();
        assert!(complexity > 1 && cost == complexity, "{op:#?}");

        let batches = named(&spans, "dataloader.batch");
        assert!(
            !batches.is_empty(),
            "node(id:) loads through the DataLoader"
        );
        for b in &batches {
            assert_eq!(b.parent_span_id, op.span_context.span_id());
        }
        assert!(
            batches
                .iter()
                .any(|b| attr(b, "loader").as_deref() == Some("ById")
                    && attr(b, "table").as_deref() == Some("grid"))
        );

        let sql: Vec<&SpanData> = spans
            .iter()
            .filter(|s| s.name.starts_with("sea_orm."))
            .collect();
        let system = match app.db.get_database_backend() {
            sea_orm::DbBackend::Postgres => "postgresql",
            _ => "sqlite",
        };
        for s in &sql {
            assert_eq!(attr(s, "db.system").as_deref(), Some(system), "{s:#?}");
        }
        let under = |parent: SpanId| sql.iter().filter(move |s| s.parent_span_id == parent);
        let batch_sql: Vec<_> = batches
            .iter()
            .flat_map(|b| under(b.span_context.span_id()))
            .collect();
        assert!(
            batch_sql
                .iter()
                .any(|s| attr(s, "db.statement").is_some_and(|q| q.contains("\"grid\""))),
            "the batch's SELECT is its child: {sql:#?}"
        );
        assert!(
            under(op.span_context.span_id()).count() > 0,
            "the root connection's statements are children of the operation: {sql:#?}"
        );
    }
);

db_test!(
    no_personal_data_reaches_spans_or_logs,
    settings = |s: &mut ServeSettings| s.auth.jwt_hs256_secret = Some("telemetry-test".into()),
    |app| async move {
        let captured = capture();
        let f = fixture::load(&app.db).await;
        let idn = id_number("19770304", 917);
        let phone = "13987654321";
        let (_, _, header) = traceparent();
        let create = "mutation($i: CreatePersonInput!) { createPerson(input: $i) { person { id idNumber phone } } }";
        let vars = json!({ "i": { "name": "隐私", "idNumber": idn, "phone": phone, "gridId": f.grid("G21") } });

        let r = app
            .http
            .post(app.url("/graphql"))
            .bearer_auth(&app.admin_key)
            .header("traceparent", &header)
            .json(&json!({ "query": create, "variables": vars }))
            .send()
            .await
            .unwrap();
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(
            body["data"]["createPerson"]["person"]["idNumber"],
            idn.as_str()
        );
        let person = body["data"]["createPerson"]["person"]["id"].clone();
        // The same ID number again is refused (a unique-key violation inside the database).
        let again = app.gql(create, vars.clone()).await;
        assert_eq!(
            again["errors"][0]["extensions"]["code"], "CONFLICT",
            "{again:#}"
        );
        // Read back unmasked (an access-log write), and send the phone number in a GET query
        // string.
        let read = app
            .data(
                "query($id: ID!) { node(id: $id) { ... on Person { idNumber phone } } }",
                json!({ "id": person }),
            )
            .await;
        assert_eq!(read["node"]["phone"], phone);
        let get = app
            .http
            .get(app.url("/graphql"))
            .bearer_auth(&app.admin_key)
            .query(&[(
                "query",
                format!("{{ people(filter: {{ search: \"{phone}\" }}) {{ totalCount }} }}"),
            )])
            .send()
            .await
            .unwrap();
        assert_eq!(get.status(), 200);
        // A refused JWT is logged inside its request span; the log line carries the id.
        let request_id = format!("pii-test-{}", uuid::Uuid::new_v4().simple());
        let refused = app
            .http
            .post(app.url("/graphql"))
            .bearer_auth("not.a.jwt")
            .header("x-request-id", &request_id)
            .json(&json!({ "query": "{ grids { totalCount } }" }))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 401);

        let logs = captured.logs();
        let line = logs
            .lines()
            .find(|l| l.contains("JWT refused") && l.contains(&request_id));
        assert!(line.is_some(), "the log line names its request id:\n{logs}");
        let spans = captured.all_spans();
        for secret in [idn.as_str(), phone] {
            assert!(!spans.contains(secret), "personal data in a span");
            assert!(!logs.contains(secret), "personal data in the log");
        }
        assert!(
            spans.contains("pii_access_log"),
            "the access-log write was traced (so the search above saw the statements)"
        );
    }
);

db_test!(
    metrics_count_operations_errors_and_pools,
    |app| async move {
        let name = format!("Metered{}", uuid::Uuid::new_v4().simple());
        for _ in 0..2 {
            app.data(
                &format!("query {name} {{ grids {{ totalCount }} }}"),
                json!({}),
            )
            .await;
        }
        let e = app.error("{ node(id: \"bad\") { id } }", json!({})).await;
        assert_eq!(e["extensions"]["code"], "BAD_USER_INPUT");

        let r = app.http.get(app.url("/metrics")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
        let page = r.text().await.unwrap();
        let value = |prefix: &str| metric_in(&page, prefix);
        assert_eq!(
            value(&format!(
                "gridgov_graphql_operations_total{{operation=\"{name}\",type=\"query\"}}"
            )),
            2.0
        );
        assert_eq!(
            value(&format!(
                "gridgov_graphql_operation_duration_seconds_count{{operation=\"{name}\",type=\"query\"}}"
            )),
            2.0
        );
        assert!(value("gridgov_graphql_errors_total{code=\"BAD_USER_INPUT\"}") >= 1.0);
        assert!(value("gridgov_graphql_sql_statements_count") >= 2.0);
        let open = value("gridgov_db_connections{pool=\"primary\",state=\"idle\"}")
            + value("gridgov_db_connections{pool=\"primary\",state=\"in_use\"}");
        assert!(open >= 1.0, "the pool holds its minimum connection");
        assert!(page.contains("# TYPE gridgov_subscriptions_open gauge"));
        assert!(value("gridgov_subscriptions_open ") >= 0.0);
        assert!(value("gridgov_rate_limited_total ") >= 0.0);
    }
);

db_test!(
    rate_limit_refusals_are_counted,
    settings = |s: &mut ServeSettings| {
        s.auth.rate_limit_points = 10;
        s.auth.rate_limit_restore = 1;
    },
    |app| async move {
        let before = metric(&app, "gridgov_rate_limited_total ").await;
        // 9 points: the first call empties the bucket, the second must wait.
        let q = "{ grids(first: 4) { nodes { name } } }";
        app.gql(q, json!({})).await;
        let body = app.gql(q, json!({})).await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "RATE_LIMITED");
        let after = metric(&app, "gridgov_rate_limited_total ").await;
        assert!(after >= before + 1.0, "{before} → {after}");
    }
);

/// The value of the first `/metrics` line starting with `prefix`.
pub async fn metric(app: &TestApp, prefix: &str) -> f64 {
    let page = app.http.get(app.url("/metrics")).send().await.unwrap();
    metric_in(&page.text().await.unwrap(), prefix)
}

/// The value of the first line of a Prometheus `page` starting with `prefix`.
pub fn metric_in(page: &str, prefix: &str) -> f64 {
    page.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no `{prefix}` in:\n{page}"))
}

db_test!(
    readyz_answers_once_migrations_are_current,
    |app| async move {
        let r = app.http.get(app.url("/readyz")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.text().await.unwrap(), "ready");

        use migration::{Migrator, MigratorTrait};
        Migrator::down(&app.db, Some(1)).await.unwrap();
        let r = app.http.get(app.url("/readyz")).send().await.unwrap();
        assert_eq!(r.status(), 503);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(
            body,
            json!({ "ready": false, "reason": "database migrations pending" })
        );

        Migrator::up(&app.db, None).await.unwrap();
        let r = app.http.get(app.url("/readyz")).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }
);
