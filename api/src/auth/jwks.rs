//! The signing keys of an identity provider, from its JWKS document (`GRIDGOV_JWT_JWKS_URL`).
//!
//! Keys are fetched on first use and kept by `kid` and algorithm. A token naming a `kid` not
//! in the cache makes the set be fetched again — at most once per `GRIDGOV_JWT_JWKS_MIN_REFRESH`
//! seconds, so that made-up `kid`s cannot turn gridgov into a flood of requests to the provider.
//! Keys are fresh for the response's `Cache-Control: max-age` (bounded to
//! [min refresh, one day]) or `GRIDGOV_JWT_JWKS_REFRESH` seconds; a stale set keeps answering
//! while it is fetched again in the background. A fetch that fails keeps the keys already known
//! (the provider being down must not log every user out) and is logged as a warning.
//!
//! Only RS256 (`kty: RSA`) and ES256 (`kty: EC`, `crv: P-256`) signature keys are taken;
//! other entries of the set (encryption keys, other curves, keys without `kid`) are skipped.

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;
use tokio::time::Instant;

/// Longest a fetched key set is trusted as fresh, whatever the provider says.
const MAX_FRESH: Duration = Duration::from_secs(86_400);
/// Largest JWKS document read; real ones are a few KiB.
const MAX_BODY_BYTES: usize = 256 * 1024;

/// How to reach the JWKS and how often; taken from `AuthSettings`.
#[derive(Debug, Clone)]
pub struct Source {
    pub url: String,
    /// Fewest time between two fetches.
    pub min_refresh: Duration,
    /// How long keys are fresh without a `max-age`.
    pub refresh: Duration,
    /// Longest one fetch may take.
    pub timeout: Duration,
}

/// A verification key and the one algorithm it verifies.
pub struct Key {
    pub alg: Algorithm,
    pub key: DecodingKey,
}

/// The cached keys of one JWKS; clones share the cache. `Debug` prints how many keys are held,
/// never the keys.
#[derive(Clone, Default)]
pub struct KeySet(Arc<Inner>);

#[derive(Default)]
struct Inner {
    state: RwLock<State>,
    /// Held while fetching, so that concurrent misses wait for one fetch instead of each
    /// starting their own.
    fetching: tokio::sync::Mutex<()>,
    http: OnceLock<Option<reqwest::Client>>,
}

#[derive(Default)]
struct State {
    keys: HashMap<(String, Algorithm), Arc<Key>>,
    /// When the last fetch started, successful or not.
    attempted: Option<Instant>,
    /// Until when `keys` are fresh.
    fresh_until: Option<Instant>,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let held = self.0.state.read().map(|s| s.keys.len()).unwrap_or(0);
        f.debug_struct("KeySet").field("keys", &held).finish()
    }
}

impl KeySet {
    /// The key for `kid` and `alg`, fetching the set first when `kid` is unknown (and the last
    /// fetch is at least `min_refresh` ago); `None` when there is no such key.
    pub async fn key(&self, source: &Source, kid: &str, alg: Algorithm) -> Option<Arc<Key>> {
        let (found, stale, may_fetch) = self.lookup(source, kid, alg);
        if let Some(key) = found {
            if stale && may_fetch {
                // Answer with the key at hand; the next requests see the new set.
                let (set, source) = (self.clone(), source.clone());
                tokio::spawn(async move { set.refresh(&source).await });
            }
            return Some(key);
        }
        if !may_fetch {
            // A fetch under way may bring the key (the first token of a new key usually comes
            // in a burst): wait for it rather than refuse.
            if self.0.fetching.try_lock().is_err() {
                drop(self.0.fetching.lock().await);
                return self.cached(kid, alg);
            }
            return None;
        }
        self.refresh(source).await;
        self.cached(kid, alg)
    }

    /// The key for `kid` and `alg` if it is cached; never fetches.
    fn cached(&self, kid: &str, alg: Algorithm) -> Option<Arc<Key>> {
        let state = self.0.state.read().ok()?;
        state.keys.get(&(kid.to_owned(), alg)).cloned()
    }

    /// The cached key, whether the set is stale, and whether a fetch is allowed now.
    fn lookup(&self, source: &Source, kid: &str, alg: Algorithm) -> (Option<Arc<Key>>, bool, bool) {
        let Ok(state) = self.0.state.read() else {
            return (None, false, false);
        };
        let now = Instant::now();
        let found = state.keys.get(&(kid.to_owned(), alg)).cloned();
        let stale = state.fresh_until.is_none_or(|t| now >= t);
        (found, stale, may_fetch(&state, source, now))
    }

    /// Fetches the set unless another task did so within `min_refresh`.
    async fn refresh(&self, source: &Source) {
        let _fetching = self.0.fetching.lock().await;
        {
            let Ok(mut state) = self.0.state.write() else {
                return;
            };
            let now = Instant::now();
            // Another task may have fetched while this one waited for the lock.
            if !may_fetch(&state, source, now) {
                return;
            }
            state.attempted = Some(now);
        }
        let fetched = match self.client(source) {
            Some(client) => fetch(client, source).await,
            None => Err("no HTTP client".to_owned()),
        };
        let Ok(mut state) = self.0.state.write() else {
            return;
        };
        match fetched {
            Ok((keys, max_age)) => {
                let fresh = max_age.unwrap_or(source.refresh);
                let fresh = fresh.clamp(source.min_refresh, MAX_FRESH.max(source.min_refresh));
                tracing::debug!(keys = keys.len(), "JWKS fetched");
                state.keys = keys;
                state.fresh_until = Some(Instant::now() + fresh);
            }
            Err(reason) => {
                tracing::warn!(
                    %reason,
                    cached_keys = state.keys.len(),
                    "JWKS could not be fetched; tokens signed by keys not cached are refused"
                );
            }
        }
    }

    fn client(&self, source: &Source) -> Option<&reqwest::Client> {
        self.0
            .http
            .get_or_init(|| {
                reqwest::Client::builder()
                    .connect_timeout(source.timeout)
                    .timeout(source.timeout)
                    .build()
                    .map_err(|e| tracing::error!(error = %e, "JWKS client could not be built"))
                    .ok()
            })
            .as_ref()
    }
}

fn may_fetch(state: &State, source: &Source, now: Instant) -> bool {
    state
        .attempted
        .is_none_or(|t| now.duration_since(t) >= source.min_refresh)
}

type Keys = HashMap<(String, Algorithm), Arc<Key>>;

/// Fetches and parses the set; the error is a reason fit for the log (no URL, no token).
async fn fetch(
    client: &reqwest::Client,
    source: &Source,
) -> Result<(Keys, Option<Duration>), String> {
    let mut response = client
        .get(&source.url)
        .header(reqwest::header::ACCEPT, "application/json")
        .timeout(source.timeout)
        .send()
        .await
        .map_err(|e| e.without_url().to_string())?;
    if !response.status().is_success() {
        return Err(format!("HTTP status {}", response.status().as_u16()));
    }
    let max_age = response
        .headers()
        .get(reqwest::header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .and_then(max_age);
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| e.without_url().to_string())?
    {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(format!("document longer than {MAX_BODY_BYTES} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((parse(&body)?, max_age))
}

/// `max-age` of a `Cache-Control` value; `no-cache`/`no-store` count as 0 (then the
/// minimum refresh interval applies).
pub fn max_age(cache_control: &str) -> Option<Duration> {
    let mut found = None;
    for directive in cache_control.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-cache" || lower == "no-store" {
            return Some(Duration::ZERO);
        }
        if let Some(secs) = lower.strip_prefix("max-age=") {
            found = secs
                .trim_matches('"')
                .parse::<u64>()
                .ok()
                .map(Duration::from_secs);
        }
    }
    found
}

/// The usable keys of a JWKS document. Entries that do not parse or are not RS256/ES256
/// signature keys with a `kid` are skipped, so that one exotic key does not hide the others.
pub fn parse(document: &[u8]) -> Result<Keys, String> {
    #[derive(serde::Deserialize)]
    struct Document {
        keys: Vec<serde_json::Value>,
    }
    let doc: Document =
        serde_json::from_slice(document).map_err(|e| format!("not a JWKS document: {e}"))?;
    let mut keys = HashMap::new();
    for entry in doc.keys {
        let Ok(jwk) = serde_json::from_value::<Jwk>(entry) else {
            continue;
        };
        if let Some((kid, key)) = usable(&jwk) {
            keys.insert((kid, key.alg), Arc::new(key));
        }
    }
    Ok(keys)
}

fn usable(jwk: &Jwk) -> Option<(String, Key)> {
    let kid = jwk.common.key_id.clone()?;
    if !matches!(
        jwk.common.public_key_use,
        None | Some(PublicKeyUse::Signature)
    ) {
        return None;
    }
    let (alg, declared) = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => (Algorithm::RS256, KeyAlgorithm::RS256),
        AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => {
            (Algorithm::ES256, KeyAlgorithm::ES256)
        }
        _ => return None,
    };
    // A key declared for another algorithm (PS256 with an RSA key, say) is not used for this
    // one.
    if jwk.common.key_algorithm.is_some_and(|a| a != declared) {
        return None;
    }
    let key = DecodingKey::from_jwk(jwk).ok()?;
    Some((kid, Key { alg, key }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed test may panic
mod tests {
    use super::*;

    #[test]
    fn max_age_is_read_from_cache_control() {
        assert_eq!(
            max_age("public, max-age=300"),
            Some(Duration::from_secs(300))
        );
        assert_eq!(max_age("Max-Age=\"20\""), Some(Duration::from_secs(20)));
        assert_eq!(max_age("no-store"), Some(Duration::ZERO));
        assert_eq!(max_age("public"), None);
        assert_eq!(max_age("max-age=soon"), None);
    }

    #[test]
    fn only_rs256_and_p256_signature_keys_with_a_kid_are_taken() {
        // `n`/`x`/`y` need only be base64url here: keys are parsed, not used.
        let doc = serde_json::json!({ "keys": [
            { "kty": "RSA", "kid": "r", "n": "AQAB", "e": "AQAB" },
            { "kty": "RSA", "kid": "r-enc", "use": "enc", "n": "AQAB", "e": "AQAB" },
            { "kty": "RSA", "kid": "r-ps", "alg": "PS256", "n": "AQAB", "e": "AQAB" },
            { "kty": "RSA", "n": "AQAB", "e": "AQAB" },
            { "kty": "EC", "kid": "e", "use": "sig", "alg": "ES256", "crv": "P-256", "x": "AQAB", "y": "AQAB" },
            { "kty": "EC", "kid": "e384", "crv": "P-384", "x": "AQAB", "y": "AQAB" },
            { "kty": "oct", "kid": "h", "k": "c2VjcmV0" },
            { "kty": "EC", "kid": "odd", "alg": "ES512", "crv": "P-521", "x": "AQAB", "y": "AQAB" },
        ]});
        let keys = parse(doc.to_string().as_bytes()).unwrap();
        let mut found: Vec<_> = keys.keys().map(|(k, a)| (k.as_str(), *a)).collect();
        found.sort_by_key(|(k, _)| *k);
        assert_eq!(found, [("e", Algorithm::ES256), ("r", Algorithm::RS256)]);
        assert!(parse(b"{\"keys\": 1}").is_err());
    }
}
