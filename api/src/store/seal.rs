//! Sealed cursors: a cursor is its plain content (ordering, sort value, row id) encrypted and
//! authenticated with AES-256-GCM under a server key, so that it reveals nothing — not the
//! name a page was ordered by, not a position in the feed — and a tampered, foreign or
//! expired-key cursor is refused as `BAD_USER_INPUT`.
//!
//! Sealing is deterministic (a synthetic nonce: an HMAC of the content, as in SIV modes), so
//! that the same position always gets the same cursor — clients compare `endCursor` with edge
//! cursors — while different contents never share a nonce.
//!
//! The key is `GRIDGOV_CURSOR_KEY` (64 hex digits) when set, else one generated on first start
//! and kept in the `server_key` table, so that every replica over one database shares it.
//! Requests run with the key in a task-local ([`with_key`], [`scope_stream`]): cursors are
//! encoded and decoded deep inside the pagination code, which has no request context.

use crate::error::{ApiError, ApiResult};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::Stream;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use sea_orm::{ConnectionTrait, DbErr, Statement, Value};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// The name of the cursor key in `server_key`.
const CURSOR_KEY: &str = "cursor";
/// Bytes of an AES-256 key.
const KEY_LEN: usize = 32;

/// The key cursors are sealed with: an encryption key and a nonce key, both derived from one
/// 32-byte secret.
pub struct CursorKey {
    key: LessSafeKey,
    nonce_key: hmac::Key,
}

impl std::fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorKey(<secret>)")
    }
}

impl CursorKey {
    /// A key from 32 raw bytes.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != KEY_LEN {
            return None;
        }
        let master = hmac::Key::new(hmac::HMAC_SHA256, bytes);
        let enc = hmac::sign(&master, b"gridgov cursor encryption");
        let nonce = hmac::sign(&master, b"gridgov cursor nonce");
        let key = UnboundKey::new(&AES_256_GCM, enc.as_ref()).ok()?;
        Some(CursorKey {
            key: LessSafeKey::new(key),
            nonce_key: hmac::Key::new(hmac::HMAC_SHA256, nonce.as_ref()),
        })
    }

    /// A key from 64 hex digits (`GRIDGOV_CURSOR_KEY`).
    pub fn from_hex(s: &str) -> Option<Self> {
        Self::from_bytes(&hex::decode(s.trim()).ok()?)
    }

    /// A new random key.
    pub fn generate() -> Result<Self, String> {
        let mut bytes = [0u8; KEY_LEN];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| "no random source for the cursor key".to_owned())?;
        Self::from_bytes(&bytes).ok_or_else(|| "cursor key rejected".to_owned())
    }

    /// `configured` (hex) when given, else the database's shared key, created on first use.
    pub async fn load(db: &impl ConnectionTrait, configured: Option<&str>) -> Result<Self, String> {
        if let Some(hex_key) = configured {
            return Self::from_hex(hex_key)
                .ok_or_else(|| "GRIDGOV_CURSOR_KEY must be 64 hexadecimal digits".to_owned());
        }
        let stored = shared_secret(db)
            .await
            .map_err(|e| format!("reading the cursor key: {e}"))?;
        Self::from_hex(&stored).ok_or_else(|| "the stored cursor key is malformed".to_owned())
    }

    /// Seals `plain` into a URL-safe cursor: the synthetic nonce, then the ciphertext and its
    /// tag.
    pub fn seal(&self, plain: &[u8]) -> ApiResult<String> {
        let mut nonce = [0u8; NONCE_LEN];
        let mac = hmac::sign(&self.nonce_key, plain);
        nonce.copy_from_slice(&mac.as_ref()[..NONCE_LEN]);
        let mut data = plain.to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut data)
            .map_err(|_| ApiError::internal("sealing a cursor failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(URL_SAFE_NO_PAD.encode(out))
    }

    /// The plain content of a cursor sealed with this key; `None` for anything else.
    pub fn open(&self, cursor: &str) -> Option<Vec<u8>> {
        // Far longer than any cursor this server makes: refuse before decoding.
        if cursor.len() > 1024 {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
        if bytes.len() < NONCE_LEN {
            return None;
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut sealed = sealed.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::empty(), &mut sealed)
            .ok()?;
        Some(plain.to_vec())
    }
}

/// Reads the shared cursor key, inserting a new one when there is none yet. Concurrent first
/// starts of several replicas insert at most one (the name is the primary key) and all read it.
async fn shared_secret(db: &impl ConnectionTrait) -> Result<String, DbErr> {
    let backend = db.get_database_backend();
    let select = || {
        Statement::from_sql_and_values(
            backend,
            match backend {
                sea_orm::DbBackend::Postgres => "SELECT secret FROM server_key WHERE name = $1",
                _ => "SELECT secret FROM server_key WHERE name = ?",
            },
            [Value::from(CURSOR_KEY)],
        )
    };
    if let Some(row) = db.query_one_raw(select()).await? {
        return row.try_get::<String>("", "secret");
    }
    let mut bytes = [0u8; KEY_LEN];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| DbErr::Custom("no random source for the cursor key".into()))?;
    let insert = match backend {
        sea_orm::DbBackend::Postgres => {
            "INSERT INTO server_key (name, secret, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING"
        }
        _ => {
            "INSERT INTO server_key (name, secret, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING"
        }
    };
    db.execute_raw(Statement::from_sql_and_values(
        backend,
        insert,
        [
            Value::from(CURSOR_KEY),
            Value::from(hex::encode(bytes)),
            Value::from(chrono::Utc::now()),
        ],
    ))
    .await?;
    db.query_one_raw(select())
        .await?
        .ok_or_else(|| DbErr::Custom("the cursor key was not stored".into()))?
        .try_get::<String>("", "secret")
}

tokio::task_local! {
    static KEY: Arc<CursorKey>;
}

/// Runs `fut` (one request) with `key` as the cursor key.
pub async fn with_key<F: Future>(key: Arc<CursorKey>, fut: F) -> F::Output {
    KEY.scope(key, fut).await
}

/// Polls `stream` (a subscription) with `key` as the cursor key.
pub fn scope_stream<S: Stream + Unpin>(key: Arc<CursorKey>, stream: S) -> KeyedStream<S> {
    KeyedStream { key, stream }
}

/// A stream polled with a cursor key in scope; see [`scope_stream`].
pub struct KeyedStream<S> {
    key: Arc<CursorKey>,
    stream: S,
}

impl<S: Stream + Unpin> Stream for KeyedStream<S> {
    type Item = S::Item;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = &mut *self;
        let key = this.key.clone();
        KEY.sync_scope(key, || Pin::new(&mut this.stream).poll_next(cx))
    }
}

/// Seals `plain` with the request's cursor key.
pub fn seal(plain: &[u8]) -> ApiResult<String> {
    KEY.try_with(|k| k.seal(plain))
        .map_err(|_| ApiError::internal("no cursor key in this request"))?
}

/// Opens a cursor sealed with the request's key; `BAD_USER_INPUT` on `field` otherwise.
pub fn open(cursor: &str, field: &str, what: &str) -> ApiResult<Vec<u8>> {
    KEY.try_with(|k| k.open(cursor))
        .map_err(|_| ApiError::internal("no cursor key in this request"))?
        .ok_or_else(|| ApiError::bad_input(field, format!("`{field}` is not a valid {what}")))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_cursor_opens_only_with_its_key_and_unchanged() {
        let a = CursorKey::generate().unwrap();
        let b = CursorKey::generate().unwrap();
        let sealed = a.seal(b"{\"o\":\"NAME\",\"v\":\"Zhang Wei\"}").unwrap();
        assert!(!sealed.contains("Zhang"));
        assert_eq!(
            a.open(&sealed).unwrap(),
            b"{\"o\":\"NAME\",\"v\":\"Zhang Wei\"}"
        );
        assert_eq!(b.open(&sealed), None, "a foreign key opens nothing");
        // Flip one character of the ciphertext.
        let mut tampered: Vec<char> = sealed.chars().collect();
        let i = tampered.len() / 2;
        tampered[i] = if tampered[i] == 'A' { 'B' } else { 'A' };
        let tampered: String = tampered.into_iter().collect();
        assert_eq!(a.open(&tampered), None);
        assert_eq!(a.open(""), None);
        assert_eq!(a.open("not base64 !"), None);
        // The same content always seals the same way, different contents differently.
        assert_eq!(a.seal(b"x").unwrap(), a.seal(b"x").unwrap());
        assert_ne!(a.seal(b"x").unwrap(), a.seal(b"y").unwrap());
        assert_ne!(a.seal(b"x").unwrap(), b.seal(b"x").unwrap());
    }

    #[test]
    fn keys_from_hex() {
        assert!(CursorKey::from_hex(&"ab".repeat(32)).is_some());
        assert!(CursorKey::from_hex(&"ab".repeat(31)).is_none());
        assert!(CursorKey::from_hex(&"zz".repeat(32)).is_none());
        assert!(CursorKey::from_hex(&format!(" {} ", "AB".repeat(32))).is_some());
    }
}
