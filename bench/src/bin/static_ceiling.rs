//! The HTTP ceiling: an axum server that answers `POST /static/N` with a fixed JSON body of N
//! bytes (`{"data":{"x":"aaa…"}}`), reading the request body but doing no other work.
//!
//! `static_ceiling --listen 127.0.0.1:PORT`

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::post;
use clap::Parser;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "127.0.0.1:8090")]
    listen: std::net::SocketAddr,
}

type Bodies = Arc<Mutex<HashMap<usize, Bytes>>>;

/// A JSON document of exactly `n` bytes (at least the 20 bytes of the empty one).
fn body_of(n: usize) -> Bytes {
    let frame = r#"{"data":{"x":""}}"#;
    let pad = n.saturating_sub(frame.len());
    Bytes::from(format!(r#"{{"data":{{"x":"{}"}}}}"#, "a".repeat(pad)))
}

async fn answer(
    State(bodies): State<Bodies>,
    Path(n): Path<usize>,
    _request: Bytes,
) -> impl IntoResponse {
    let body = {
        let mut cache = bodies.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .entry(n.min(16 << 20))
            .or_insert_with(|| body_of(n))
            .clone()
    };
    ([(header::CONTENT_TYPE, "application/json")], body)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let app = Router::new()
        .route("/static/{n}", post(answer))
        .with_state(Bodies::default());
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
