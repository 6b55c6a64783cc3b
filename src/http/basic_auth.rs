//! Basic auth against the bcrypt hashes of `basic_auth_users`, checked on
//! every route.
//!
//! bcrypt is slow by design (tens of milliseconds at cost 10), so checks
//! run on the blocking pool and a success is remembered for [`CACHE_TTL`]
//! under the SHA-256 of the credentials (never the password itself): a
//! scrape every 15 s costs one bcrypt a minute. Unknown users are checked
//! against a dummy hash of the highest cost among the users, so a name
//! that does not exist takes at least as long as the slowest that does
//! (a cheaper dummy would tell which names exist), and the two outcomes
//! are combined without a branch.
//!
//! bcrypt work is bounded, as in exporter-toolkit: one check at a time
//! (a semaphore of one), and a request that cannot start its check within
//! [`BCRYPT_WAIT`] is answered 503 without hashing, so clients sending
//! wrong passwords cost at most one core and cannot queue up without end.
//! Remembered successes skip the queue, and each use extends them, so a
//! scraper that keeps scraping never waits behind those clients.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hyper::header::HeaderValue;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// How long a successful basic-auth check is remembered.
pub const CACHE_TTL: Duration = Duration::from_secs(60);
/// How long a request waits for its turn at bcrypt before it is refused
/// (503) without hashing.
pub const BCRYPT_WAIT: Duration = Duration::from_millis(250);
/// At most this many remembered successes (the cache is emptied when full).
const CACHE_MAX: usize = 64;

/// A string that parses as a bcrypt hash (checked while reading, so a bad
/// one is refused with its line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct BcryptHash(String);

impl<'de> Deserialize<'de> for BcryptHash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse::<bcrypt::HashParts>()
            .map_err(|_| serde::de::Error::custom("not a bcrypt hash ($2y$...)"))?;
        Ok(BcryptHash(s))
    }
}

/// The users and their hashes, and the successes remembered.
pub(super) struct BasicAuth {
    users: BTreeMap<String, String>,
    /// The highest cost of the users' hashes: unknown users take as long
    /// as the slowest known one.
    dummy: String,
    ok_cache: Mutex<HashMap<[u8; 32], Instant>>,
    /// One bcrypt at a time.
    gate: Arc<Semaphore>,
}

/// The outcome of a basic-auth check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The credentials are right.
    Allowed,
    /// Missing or wrong credentials (401).
    Denied,
    /// Not checked: bcrypt was busy for [`BCRYPT_WAIT`] (503).
    Busy,
}

impl BasicAuth {
    /// Takes the users of the file and hashes the dummy password once, at
    /// the highest of their costs; that can fail only on a cost bcrypt
    /// refuses.
    pub(super) fn new(
        users: BTreeMap<String, BcryptHash>,
    ) -> Result<BasicAuth, bcrypt::BcryptError> {
        let users: BTreeMap<String, String> = users.into_iter().map(|(u, h)| (u, h.0)).collect();
        let cost = users
            .values()
            .filter_map(|h| h.parse::<bcrypt::HashParts>().ok())
            .map(|p| p.get_cost())
            .max()
            .unwrap_or(bcrypt::DEFAULT_COST);
        let dummy = bcrypt::hash("dsmr-exporter: no such user", cost)?;
        Ok(BasicAuth {
            users,
            dummy,
            ok_cache: Mutex::new(HashMap::new()),
            gate: Arc::new(Semaphore::new(1)),
        })
    }

    /// The user names (for `Debug` and comparing configurations).
    pub(super) fn users(&self) -> &BTreeMap<String, String> {
        &self.users
    }

    /// Whether a request with this `Authorization` header may proceed.
    /// Runs bcrypt on the blocking pool, one check at a time, unless the
    /// same credentials succeeded within [`CACHE_TTL`]; [`Verdict::Busy`]
    /// when its turn did not come within [`BCRYPT_WAIT`].
    pub(super) async fn check(self: &Arc<Self>, authorization: Option<&HeaderValue>) -> Verdict {
        let Some((user, password)) = authorization.and_then(basic_credentials) else {
            return Verdict::Denied;
        };
        let key = cache_key(&user, &password);
        if self.remembered(&key) {
            return Verdict::Allowed;
        }
        let Ok(Ok(permit)) =
            tokio::time::timeout(BCRYPT_WAIT, self.gate.clone().acquire_owned()).await
        else {
            return Verdict::Busy;
        };
        let auth = self.clone();
        // The permit goes with the hashing: a request given up meanwhile
        // still holds the gate until its bcrypt is done.
        let allowed = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            auth.verify(&user, &password)
        })
        .await
        .unwrap_or(false);
        if allowed {
            self.remember(key);
            Verdict::Allowed
        } else {
            Verdict::Denied
        }
    }

    /// bcrypt against the user's hash, or the dummy for an unknown user.
    fn verify(&self, user: &str, password: &str) -> bool {
        let (known, hash) = match self.users.get(user) {
            Some(h) => (1u8, h.as_str()),
            None => (0u8, self.dummy.as_str()),
        };
        // bcrypt compares its digests in constant time; combine with
        // "the user exists" without a branch, as exporter-toolkit does.
        let matched = u8::from(bcrypt::verify(password.as_bytes(), hash).unwrap_or(false));
        known & matched == 1
    }

    /// True when these credentials succeeded within [`CACHE_TTL`] (of
    /// their last use, which this one extends).
    fn remembered(&self, key: &[u8; 32]) -> bool {
        let mut cache = self.ok_cache.lock().unwrap_or_else(|e| e.into_inner());
        match cache.get_mut(key) {
            Some(t) if t.elapsed() < CACHE_TTL => {
                *t = Instant::now();
                true
            }
            _ => false,
        }
    }

    fn remember(&self, key: [u8; 32]) {
        let mut cache = self.ok_cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= CACHE_MAX {
            cache.clear();
        }
        cache.insert(key, Instant::now());
    }
}

/// `Basic base64(user:password)` to its parts; `None` for another scheme,
/// base64 that is not canonical (RFC 4648 with padding), or no `:`.
fn basic_credentials(v: &HeaderValue) -> Option<(String, String)> {
    let v = v.to_str().ok()?;
    let (scheme, b64) = v.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = STANDARD.decode(b64.trim()).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (u, p) = text.split_once(':')?;
    Some((u.to_owned(), p.to_owned()))
}

/// The cache's key: SHA-256 of the credentials, so the password itself is
/// never kept.
fn cache_key(user: &str, password: &str) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(user.as_bytes());
    ctx.update(b"\0");
    ctx.update(password.as_bytes());
    let mut key = [0u8; 32];
    key.copy_from_slice(ctx.finish().as_ref());
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_basic_credentials() {
        let h = HeaderValue::from_static("Basic cHJvbWV0aGV1czpzM2NyZXQ6eA==");
        assert_eq!(
            basic_credentials(&h),
            Some(("prometheus".to_owned(), "s3cret:x".to_owned()))
        );
        assert!(basic_credentials(&HeaderValue::from_static("Bearer abc")).is_none());
        // "ab:c" with one `=` too many.
        assert!(basic_credentials(&HeaderValue::from_static("Basic YWI6Yw===")).is_none());
        assert_eq!(
            basic_credentials(&HeaderValue::from_static("basic YWI6Yw==")),
            Some(("ab".to_owned(), "c".to_owned()))
        );
    }

    #[tokio::test]
    async fn one_bcrypt_at_a_time_and_a_bounded_wait() {
        // Cost 4 ("secret"): the test is about the gate, not the hash.
        let hash = bcrypt::hash("secret", 4).unwrap_or_default();
        let mut users = BTreeMap::new();
        users.insert("p".to_owned(), BcryptHash(hash));
        let Ok(auth) = BasicAuth::new(users) else {
            panic!("a valid cost")
        };
        let auth = Arc::new(auth);
        let good = HeaderValue::from_static("Basic cDpzZWNyZXQ="); // p:secret
        let bad = HeaderValue::from_static("Basic cDp3cm9uZw=="); // p:wrong
        assert_eq!(auth.check(Some(&bad)).await, Verdict::Denied);
        // Someone else is hashing: no check, and no wait beyond BCRYPT_WAIT.
        let held = auth.gate.clone().try_acquire_owned();
        assert!(held.is_ok());
        let t = Instant::now();
        assert_eq!(auth.check(Some(&good)).await, Verdict::Busy);
        assert!(t.elapsed() < BCRYPT_WAIT * 4, "{:?}", t.elapsed());
        drop(held);
        assert_eq!(auth.check(Some(&good)).await, Verdict::Allowed);
        // Remembered: allowed even while the gate is taken.
        let _held = auth.gate.clone().try_acquire_owned();
        assert_eq!(auth.check(Some(&good)).await, Verdict::Allowed);
        assert_eq!(auth.check(Some(&bad)).await, Verdict::Busy);
    }

    #[test]
    fn base64_must_be_canonical() {
        let decode = |s: &str| STANDARD.decode(s).ok();
        assert_eq!(decode("YQ=="), Some(b"a".to_vec()));
        assert_eq!(decode("YWI="), Some(b"ab".to_vec()));
        assert_eq!(decode("YWJj"), Some(b"abc".to_vec()));
        assert_eq!(decode("YWI==="), None);
        assert_eq!(decode("Y"), None);
        assert_eq!(decode("Y!=="), None);
    }
}
