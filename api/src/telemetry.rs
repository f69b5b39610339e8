//! Logs and traces: one `tracing` subscriber writing pretty or JSON logs and, when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set, exporting spans over OTLP/HTTP.
//!
//! Spans: `http.request` (the remote parent from a W3C `traceparent` header, the request id),
//! `graphql.operation` (name, type, depth, complexity, cost), `dataloader.batch` and one
//! `sea_orm.*` span per SQL statement (`db.system`, `db.statement` with placeholders, never
//! values). Log lines inside a request carry its `request_id` through the request span.

use crate::config::{LogFormat, TelemetrySettings};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Subscriber;
use tracing_subscriber::filter::{EnvFilter, LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::prelude::*;

/// Flushes exported spans when dropped; keep it alive for the life of the process.
#[must_use = "spans are flushed when the guard is dropped"]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(e) = provider.shutdown()
        {
            eprintln!("flushing spans failed: {e}");
        }
    }
}

/// Installs the global subscriber; a second call (tests) is a no-op.
pub fn init(settings: &TelemetrySettings) -> TelemetryGuard {
    let provider = match std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT") {
        Ok(endpoint) if !endpoint.trim().is_empty() => match otlp_provider() {
            Ok(provider) => Some(provider),
            Err(e) => {
                eprintln!("OTLP export disabled: {e}");
                None
            }
        },
        _ => None,
    };
    let _ = subscriber(settings, std::io::stderr, provider.as_ref()).try_init();
    TelemetryGuard { provider }
}

/// A tracer provider exporting over OTLP/HTTP in batches; the exporter reads the standard
/// `OTEL_EXPORTER_OTLP_*` and `OTEL_SERVICE_NAME` variables itself.
fn otlp_provider() -> Result<SdkTracerProvider, opentelemetry_otlp::ExporterBuildError> {
    use opentelemetry_otlp::WithExportConfig as _;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .build()?;
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(
            std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| "gridgov".to_owned()),
        )
        .build();
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
}

/// The subscriber [`init`] installs: logs to `writer` filtered by `GRIDGOV_LOG`, spans of
/// gridgov and sea-orm to `provider`. Tests build it over a captured writer and an in-memory
/// exporter.
pub fn subscriber<W>(
    settings: &TelemetrySettings,
    writer: W,
    provider: Option<&SdkTracerProvider>,
) -> impl Subscriber + Send + Sync + 'static
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_new(&settings.log).unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt::layer().with_writer(writer);
    let logs = match settings.log_format {
        LogFormat::Json => logs.json().boxed(),
        LogFormat::Pretty => logs.boxed(),
    }
    .with_filter(filter);
    let spans = provider.map(|p| {
        tracing_opentelemetry::layer()
            .with_tracer(p.tracer("gridgov"))
            .with_filter(
                Targets::new()
                    .with_default(LevelFilter::OFF)
                    .with_target("gridgov", LevelFilter::INFO)
                    .with_target("sea_orm", LevelFilter::INFO),
            )
    });
    tracing_subscriber::registry().with(logs).with(spans)
}

/// The remote parent named by a W3C `traceparent` (and `tracestate`) header, if any.
pub fn remote_parent(headers: &axum::http::HeaderMap) -> opentelemetry::Context {
    use opentelemetry::propagation::TextMapPropagator as _;
    opentelemetry_sdk::propagation::TraceContextPropagator::new()
        .extract(&opentelemetry_http::HeaderExtractor(headers))
}
