//! Cost-based rate limiting, per credential (like Shopify's): a token bucket in points.
//!
//! An operation's requested cost is its complexity (each field 1, a connection its page size
//! times what each node selects). It is taken from the caller's bucket before execution; an
//! operation the bucket cannot pay for now is RATE_LIMITED with `retryAfter` (seconds). Every
//! response reports `extensions.cost { requested actual throttleStatus { maximumAvailable
//! currentlyAvailable restoreRate } }`, where `actual` counts the objects actually returned.
//! Buckets live in each replica's memory.

use crate::error::ApiError;
use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextValidation};
use async_graphql::{ErrorExtensionValues, ServerError, ValidationResult, Value};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

type Limiter =
    RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock, StateInformationMiddleware>;

/// The buckets of every caller of this replica.
pub struct RateLimits {
    limiter: Limiter,
    points: u32,
    restore: u32,
}

impl RateLimits {
    /// Buckets of `points`, refilled at `restore` points per second.
    pub fn new(points: u32, restore: u32) -> Arc<Self> {
        let points_nz = NonZeroU32::new(points).unwrap_or(NonZeroU32::MIN);
        let restore_nz = NonZeroU32::new(restore).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::per_second(restore_nz).allow_burst(points_nz);
        let limiter = RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>();
        Arc::new(RateLimits {
            limiter,
            points: points_nz.get(),
            restore: restore_nz.get(),
        })
    }
}

/// The cost accounting of one request.
pub struct CostCtx {
    pub limits: Arc<RateLimits>,
    pub key: String,
    report: Mutex<(u64, u32)>,
}

impl CostCtx {
    pub fn new(limits: Arc<RateLimits>, key: String) -> Self {
        let full = limits.points;
        CostCtx {
            limits,
            key,
            report: Mutex::new((0, full)),
        }
    }

    fn set(&self, requested: u64, available: u32) {
        if let Ok(mut r) = self.report.lock() {
            *r = (requested, available);
        }
    }

    /// `extensions.cost` of the response whose data is `data`.
    pub fn extension(&self, data: &Value) -> Value {
        let (requested, available) = self.report.lock().map(|r| *r).unwrap_or((0, 0));
        let actual = if requested == 0 { 0 } else { objects(data) };
        let json = serde_json::json!({
            "requested": requested,
            "actual": actual,
            "throttleStatus": {
                "maximumAvailable": self.limits.points,
                "currentlyAvailable": available,
                "restoreRate": self.limits.restore,
            }
        });
        Value::from_json(json).unwrap_or(Value::Null)
    }
}

/// Objects in a response: each resolved object (node, connection, edge…) counts one.
fn objects(v: &Value) -> u64 {
    match v {
        Value::Object(map) => 1 + map.values().map(objects).sum::<u64>(),
        Value::List(items) => items.iter().map(objects).sum(),
        _ => 0,
    }
}

fn limited(message: String, retry_after: u64) -> ServerError {
    metrics::counter!(crate::metrics::RATE_LIMITED).increment(1);
    let mut e = ServerError::new(message, None);
    let mut ext = ErrorExtensionValues::default();
    ApiError::RateLimited {
        retry_after_secs: retry_after,
    }
    .fill_extensions(&mut ext);
    e.extensions = Some(ext);
    e
}

/// Charges each operation's complexity to the caller's bucket after validation.
pub struct CostLimit;

impl ExtensionFactory for CostLimit {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(CostLimit)
    }
}

#[async_trait::async_trait]
impl Extension for CostLimit {
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        let Some(cost) = ctx.data_opt::<Arc<CostCtx>>() else {
            return Ok(result);
        };
        let requested = u32::try_from(result.complexity.max(1)).unwrap_or(u32::MAX);
        // Inside the `graphql.operation` span of `AppState::execute`.
        let span = tracing::Span::current();
        span.record("graphql.depth", result.depth);
        span.record("graphql.complexity", result.complexity);
        span.record("graphql.cost", requested);
        let n = NonZeroU32::new(requested).unwrap_or(NonZeroU32::MIN);
        let limits = &cost.limits;
        match limits.limiter.check_key_n(&cost.key, n) {
            Ok(Ok(state)) => {
                cost.set(u64::from(requested), state.remaining_burst_capacity());
                Ok(result)
            }
            Ok(Err(not_until)) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                // What is in the bucket now: the cost minus what the wait will restore.
                let restoring = (wait.as_secs_f64() * f64::from(limits.restore)).ceil() as u64;
                let available = u64::from(requested).saturating_sub(restoring);
                cost.set(u64::from(requested), u32::try_from(available).unwrap_or(0));
                let retry_after = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                Err(vec![limited(
                    format!(
                        "rate limited: the operation costs {requested} points; retry after {retry_after} s"
                    ),
                    retry_after,
                )])
            }
            Err(_) => {
                cost.set(u64::from(requested), 0);
                Err(vec![limited(
                    format!(
                        "the operation costs {requested} points, more than a bucket holds ({}); ask for less",
                        limits.points
                    ),
                    0,
                )])
            }
        }
    }
}
