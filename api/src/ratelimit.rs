//! Cost-based rate limiting per caller, in Shopify's model: a token bucket in points. A leaf
//! module: the pipeline charges through [`CostLimit`], `viewer.rateLimit` reads [`CostCtx`].
//!
//! An operation's requested cost is its complexity (each field 1, a connection its page size
//! times what each node selects). It is taken from the caller's bucket once the operation is
//! validated:
//! - an operation costing more than a full bucket can never run: `MAX_COST_EXCEEDED` (HTTP 400,
//!   no `Retry-After`: waiting does not help);
//! - one the bucket cannot pay for now is `RATE_LIMITED` with `extensions.retryAfter`, the
//!   whole seconds until it can (at least 1), also sent as `Retry-After` on a lone operation.
//!
//! Every response reports Shopify's `extensions.cost { requestedQueryCost actualQueryCost
//! throttleStatus { maximumAvailable currentlyAvailable restoreRate } }` (`actualQueryCost`
//! counts the objects actually returned), and the HTTP transport sends the bucket as the IETF
//! `RateLimit-Policy` / `RateLimit` headers ([`RateLimits::policy_header`],
//! [`RateLimits::header`]).
//!
//! The buckets are kept here rather than in `governor`: a client needs to read its bucket
//! without paying (the headers of a refused request, `viewer.rateLimit`), which `governor`'s
//! keyed limiter cannot do, and its keyed store keeps every key ever seen unless swept. Here a
//! bucket idle long enough to be full again is dropped (it is equal to a new one), so memory
//! follows the callers of the last few seconds. Buckets live in each replica's memory.

use crate::error::ApiError;
use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextValidation};
use async_graphql::{ServerError, ValidationResult, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Most buckets kept at once; beyond it the least recently used are dropped (their callers
/// start again with a full bucket).
const MAX_BUCKETS: u64 = 500_000;

/// One caller's bucket: its level at an instant; it refills continuously from there.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    level: f64,
    at: Instant,
}

/// The buckets of every caller of this replica.
pub struct RateLimits {
    buckets: moka::sync::Cache<String, Arc<Mutex<Bucket>>>,
    /// Points a bucket holds: the most one operation may cost.
    pub points: u32,
    /// Points restored per second.
    pub restore: u32,
}

/// What a bucket holds now, as `throttleStatus` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttle {
    pub maximum_available: u32,
    pub currently_available: u32,
    pub restore_rate: u32,
}

impl RateLimits {
    /// Buckets of `points`, refilled at `restore` points per second (both at least 1).
    pub fn new(points: u32, restore: u32) -> Arc<Self> {
        let points = points.max(1);
        let restore = restore.max(1);
        // A bucket untouched for this long is full again: dropping it changes nothing.
        let refill = Duration::from_secs(u64::from(points.div_ceil(restore)) + 1);
        Arc::new(RateLimits {
            buckets: moka::sync::Cache::builder()
                .max_capacity(MAX_BUCKETS)
                .time_to_idle(refill)
                .build(),
            points,
            restore,
        })
    }

    fn level(&self, bucket: &Bucket, now: Instant) -> f64 {
        let restored =
            now.saturating_duration_since(bucket.at).as_secs_f64() * f64::from(self.restore);
        (bucket.level + restored).min(f64::from(self.points))
    }

    fn bucket(&self, key: &str) -> Arc<Mutex<Bucket>> {
        let full = f64::from(self.points);
        self.buckets.get_with_by_ref(key, || {
            Arc::new(Mutex::new(Bucket {
                level: full,
                at: Instant::now(),
            }))
        })
    }

    fn throttle(&self, level: f64) -> Throttle {
        Throttle {
            maximum_available: self.points,
            // Whole points only: a client must not be told it can afford what it cannot.
            currently_available: level.max(0.0).floor() as u32,
            restore_rate: self.restore,
        }
    }

    /// What `key`'s bucket holds now, without taking anything.
    pub fn peek(&self, key: &str) -> Throttle {
        match self.buckets.get(key) {
            None => self.throttle(f64::from(self.points)),
            Some(bucket) => {
                let b = *bucket.lock().unwrap_or_else(|p| p.into_inner());
                self.throttle(self.level(&b, Instant::now()))
            }
        }
    }

    /// Takes `cost` points from `key`'s bucket, or says why not (nothing is taken then).
    pub fn charge(&self, key: &str, cost: u64) -> Result<Throttle, (ApiError, Throttle)> {
        if cost > u64::from(self.points) {
            return Err((
                ApiError::MaxCostExceeded {
                    requested: cost,
                    maximum: u64::from(self.points),
                },
                self.peek(key),
            ));
        }
        let bucket = self.bucket(key);
        let mut b = bucket.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let level = self.level(&b, now);
        let cost_f = cost as f64;
        if level >= cost_f {
            *b = Bucket {
                level: level - cost_f,
                at: now,
            };
            Ok(self.throttle(level - cost_f))
        } else {
            let wait = (cost_f - level) / f64::from(self.restore);
            // Whole seconds, rounded up, and never 0: a client retrying after `Retry-After`
            // must find the points there.
            let retry_after_secs = (wait.ceil() as u64).max(1);
            Err((
                ApiError::RateLimited {
                    cost,
                    retry_after_secs,
                },
                self.throttle(level),
            ))
        }
    }

    /// The `RateLimit-Policy` header (IETF draft-ietf-httpapi-ratelimit-headers): one policy
    /// named `points` of `q` points over a window of `w` seconds, the time an empty bucket
    /// takes to fill.
    pub fn policy_header(&self) -> String {
        format!(
            "\"points\";q={};w={}",
            self.points,
            self.points.div_ceil(self.restore)
        )
    }

    /// The `RateLimit` header for a bucket holding `throttle`: `r` points remaining, `t`
    /// seconds until the bucket is full again.
    pub fn header(&self, throttle: Throttle) -> String {
        let missing = self.points.saturating_sub(throttle.currently_available);
        format!(
            "\"points\";r={};t={}",
            throttle.currently_available,
            missing.div_ceil(self.restore)
        )
    }
}

/// The cost accounting of one operation.
pub struct CostCtx {
    pub limits: Arc<RateLimits>,
    /// The bucket's key: the caller's identity (an anonymous caller's client address).
    pub key: String,
    report: Mutex<Option<(u64, Throttle)>>,
}

impl CostCtx {
    pub fn new(limits: Arc<RateLimits>, key: String) -> Self {
        CostCtx {
            limits,
            key,
            report: Mutex::new(None),
        }
    }

    fn set(&self, requested: u64, throttle: Throttle) {
        *self.report.lock().unwrap_or_else(|p| p.into_inner()) = Some((requested, throttle));
    }

    /// The bucket after this operation was charged (or refused), else as it is now.
    pub fn throttle(&self) -> Throttle {
        match *self.report.lock().unwrap_or_else(|p| p.into_inner()) {
            Some((_, throttle)) => throttle,
            None => self.limits.peek(&self.key),
        }
    }

    /// `extensions.cost` of the response whose data is `data`.
    pub fn extension(&self, data: &Value) -> Value {
        let report = *self.report.lock().unwrap_or_else(|p| p.into_inner());
        let (requested, throttle) = report.unwrap_or_else(|| (0, self.limits.peek(&self.key)));
        let actual = if requested == 0 { 0 } else { objects(data) };
        let json = serde_json::json!({
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": {
                "maximumAvailable": throttle.maximum_available,
                "currentlyAvailable": throttle.currently_available,
                "restoreRate": throttle.restore_rate,
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
        let requested = result.complexity.max(1) as u64;
        // Inside the `graphql.operation` span of the pipeline.
        let span = tracing::Span::current();
        span.record("graphql.depth", result.depth);
        span.record("graphql.complexity", result.complexity);
        span.record("graphql.cost", requested);
        match cost.limits.charge(&cost.key, requested) {
            Ok(throttle) => {
                cost.set(requested, throttle);
                Ok(result)
            }
            Err((e, throttle)) => {
                cost.set(requested, throttle);
                if matches!(e, ApiError::RateLimited { .. }) {
                    metrics::counter!(crate::metrics::RATE_LIMITED).increment(1);
                }
                Err(vec![e.to_server_error()])
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failed test may panic
mod tests {
    use super::*;

    #[test]
    fn a_bucket_pays_until_empty_then_names_a_wait_of_at_least_one_second() {
        let limits = RateLimits::new(100, 1000);
        let first = limits.charge("a", 60).map_err(|(e, _)| e.to_string());
        assert_eq!(first.map(|t| t.currently_available), Ok(40));
        let Err((e, t)) = limits.charge("a", 60) else {
            panic!("the second charge must be refused");
        };
        assert!(
            matches!(
                e,
                ApiError::RateLimited {
                    retry_after_secs: 1,
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(t.currently_available < 60);
        // Another caller has a bucket of its own.
        assert!(limits.charge("b", 100).is_ok());
    }

    #[test]
    fn an_operation_larger_than_a_bucket_is_refused_for_good() {
        let limits = RateLimits::new(100, 10);
        let Err((e, t)) = limits.charge("a", 101) else {
            panic!("101 points exceed a 100-point bucket");
        };
        assert!(matches!(
            e,
            ApiError::MaxCostExceeded {
                requested: 101,
                maximum: 100
            }
        ));
        assert_eq!(t.currently_available, 100, "nothing was taken");
        assert_eq!(limits.peek("a").currently_available, 100);
    }

    #[test]
    fn headers_follow_the_ietf_draft_shape() {
        let limits = RateLimits::new(250_000, 25_000);
        assert_eq!(limits.policy_header(), "\"points\";q=250000;w=10");
        let t = limits.peek("x");
        assert_eq!(limits.header(t), "\"points\";r=250000;t=0");
        let after = limits.charge("x", 50_000).map_err(|(e, _)| e.to_string());
        let Ok(after) = after else {
            panic!("a full bucket pays 50000");
        };
        assert_eq!(limits.header(after), "\"points\";r=200000;t=2");
    }
}
