//! Secrets: argon2 for passwords and PINs, SHA-256 digests for API keys and tokens,
//! and the random formats the InvAPI uses (32-hex tokens and callback keys, `16hex-16hex` API keys).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use rand::RngCore;
use sha2::{Digest, Sha256};

/// Argon2 for passwords and PINs: costs that tests can lower, the work on a bounded pool,
/// and a short memory of secrets that were just verified. Cheap to clone (shared inside).
///
/// - **Bounded**: at most [`Hasher::workers`] argon2 computations run at once (about one
///   per core), each on a blocking thread. Every computation holds `memory_kib` of memory,
///   so the bound is also the bound on the memory argon2 holds at once; what it frees goes
///   back to the system (large blocks are mapped and unmapped by the allocator).
/// - **Remembered**: a secret verified against a stored hash is remembered for
///   [`VERIFIED_FOR`] (in this process's memory only, as a keyed digest of the hash and
///   the secret), so that a client sending the same password or PIN with every request
///   does not pay an argon2 computation each time. Only successes are remembered: every
///   wrong secret is computed and counted as before, so lockouts hold exactly, and a changed
///   hash (a new PIN) matches nothing remembered. Session tokens derived from a password
///   are remembered the same way.
#[derive(Clone)]
pub struct Hasher {
    memory_kib: u32,
    shared: std::sync::Arc<Shared>,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher")
            .field("memory_kib", &self.memory_kib)
            .finish_non_exhaustive()
    }
}

/// How long a verified secret (or a derived token) is remembered.
pub const VERIFIED_FOR: std::time::Duration = std::time::Duration::from_secs(60);

/// Most secrets remembered at once.
const REMEMBERED: usize = 4096;

struct Shared {
    /// One permit per argon2 computation that may run.
    permits: tokio::sync::Semaphore,
    workers: usize,
    /// A random key of this process, so that remembered digests say nothing outside it.
    key: [u8; 32],
    verified: Remembered<()>,
    derived: Remembered<String>,
    /// Computations run so far, running now, and the most that ever ran at once.
    computed: AtomicUsize,
    running: AtomicUsize,
    peak: AtomicUsize,
}

/// Secrets (or derived tokens) remembered with the moment they were, by keyed digest.
type Remembered<V> = std::sync::Mutex<HashMap<[u8; 32], (std::time::Instant, V)>>;

/// A remembered value that is still fresh.
fn recall<V: Clone>(map: &Remembered<V>, key: &[u8; 32]) -> Option<V> {
    let map = map.lock().unwrap_or_else(|e| e.into_inner());
    map.get(key)
        .filter(|(at, _)| at.elapsed() < VERIFIED_FOR)
        .map(|(_, v)| v.clone())
}

/// Remembers a value from now, keeping the map bounded (stale entries go first, then
/// everything).
fn remember<V>(map: &Remembered<V>, key: [u8; 32], value: V) {
    let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
    if map.len() >= REMEMBERED {
        map.retain(|_, (at, _)| at.elapsed() < VERIFIED_FOR);
        if map.len() >= REMEMBERED {
            map.clear();
        }
    }
    map.insert(key, (std::time::Instant::now(), value));
}

impl Hasher {
    pub fn new(memory_kib: u32) -> Self {
        crate::allocator::map_large_blocks();
        let workers = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            .clamp(1, 4);
        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        Hasher {
            memory_kib: memory_kib.max(8),
            shared: std::sync::Arc::new(Shared {
                permits: tokio::sync::Semaphore::new(workers),
                workers,
                key,
                verified: Default::default(),
                derived: Default::default(),
                computed: AtomicUsize::new(0),
                running: AtomicUsize::new(0),
                peak: AtomicUsize::new(0),
            }),
        }
    }

    /// How many argon2 computations may run at once.
    pub fn workers(&self) -> usize {
        self.shared.workers
    }

    /// Argon2 computations run so far, and the most that ran at once.
    pub fn computations(&self) -> (usize, usize) {
        (
            self.shared.computed.load(Ordering::Relaxed),
            self.shared.peak.load(Ordering::Relaxed),
        )
    }

    fn argon2(&self) -> Argon2<'static> {
        let params = Params::new(self.memory_kib, 2, 1, None).unwrap_or_default();
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }

    /// Was this PHC string made with this hasher's algorithm and costs (so that a
    /// precomputed hash may stand in for hashing the secret here)?
    pub fn has_costs_of(&self, phc: &str) -> bool {
        let Ok(h) = PasswordHash::new(phc) else {
            return false;
        };
        let Ok(theirs) = Params::try_from(&h) else {
            return false;
        };
        let mine = self.argon2();
        let mine = mine.params();
        h.algorithm.as_str() == "argon2id"
            && h.version == Some(0x13)
            && (theirs.m_cost(), theirs.t_cost(), theirs.p_cost())
                == (mine.m_cost(), mine.t_cost(), mine.p_cost())
    }

    /// A keyed digest of the parts, each length-prefixed.
    fn keyed(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.shared.key);
        for p in parts {
            h.update((p.len() as u64).to_le_bytes());
            h.update(p);
        }
        h.finalize().into()
    }

    /// Runs one argon2 computation on the bounded pool.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(Hasher) -> T + Send + 'static,
    ) -> anyhow_like::Result<T> {
        let _permit = self
            .shared
            .permits
            .acquire()
            .await
            .map_err(|e| anyhow_like::Error(e.to_string()))?;
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let shared = this.shared.clone();
            shared.computed.fetch_add(1, Ordering::Relaxed);
            let now = shared.running.fetch_add(1, Ordering::AcqRel) + 1;
            shared.peak.fetch_max(now, Ordering::AcqRel);
            let out = work(this);
            shared.running.fetch_sub(1, Ordering::AcqRel);
            out
        })
        .await
        .map_err(|e| anyhow_like::Error(e.to_string()))
    }

    /// Hashes a password or PIN into a PHC string, off the async threads.
    pub async fn hash(&self, secret: &str) -> anyhow_like::Result<String> {
        let secret = secret.to_owned();
        self.run(move |this| this.hash_blocking(&secret)).await?
    }

    /// Blocking variant, for seeding.
    pub fn hash_blocking(&self, secret: &str) -> anyhow_like::Result<String> {
        let mut salt = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut salt);
        let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow_like::Error(e.to_string()))?;
        self.argon2()
            .hash_password(secret.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow_like::Error(e.to_string()))
    }

    /// Derives a 32-hex session token from a low-entropy secret (a password) and a salt with
    /// argon2, so that a stored token digest is no faster to attack than the password hash.
    pub async fn derive_token(&self, salt: &str, secret: &str) -> anyhow_like::Result<String> {
        let key = self.keyed(&[b"derive", salt.as_bytes(), secret.as_bytes()]);
        if let Some(token) = recall(&self.shared.derived, &key) {
            return Ok(token);
        }
        let (salt, secret) = (salt.to_owned(), secret.to_owned());
        let token = self
            .run(move |this| {
                let mut out = [0u8; 16];
                this.argon2()
                    .hash_password_into(secret.as_bytes(), salt.as_bytes(), &mut out)
                    .map_err(|e| anyhow_like::Error(e.to_string()))?;
                Ok::<_, anyhow_like::Error>(hex::encode(out))
            })
            .await??;
        remember(&self.shared.derived, key, token.clone());
        Ok(token)
    }

    /// Verifies a secret against a stored PHC string (its own parameters are used).
    pub async fn verify(&self, secret: &str, phc: &str) -> bool {
        let key = self.keyed(&[b"verify", phc.as_bytes(), secret.as_bytes()]);
        if recall(&self.shared.verified, &key).is_some() {
            return true;
        }
        let (secret, phc_owned) = (secret.to_owned(), phc.to_owned());
        let ok = self
            .run(move |this| {
                PasswordHash::new(&phc_owned)
                    .map(|h| this.argon2().verify_password(secret.as_bytes(), &h).is_ok())
                    .unwrap_or(false)
            })
            .await
            .unwrap_or(false);
        if ok {
            remember(&self.shared.verified, key, ());
        }
        ok
    }
}

/// Tiny error type for hashing failures (kept local to avoid an anyhow dependency).
pub mod anyhow_like {
    #[derive(Debug, thiserror::Error)]
    #[error("hashing failed: {0}")]
    pub struct Error(pub String);
    pub type Result<T> = std::result::Result<T, Error>;
}

/// SHA-256 digest as lowercase hex: how API keys and session tokens are stored.
pub fn digest(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

/// `n` random bytes as lowercase hex.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

/// A new callback (async) key: 32 lowercase hex characters.
pub fn callback_key() -> String {
    random_hex(16)
}

/// A new API key: `<16 hex>-<16 hex>`.
pub fn api_key() -> String {
    format!("{}-{}", random_hex(8), random_hex(8))
}

/// The session token for a credential and a session salt: 32 lowercase hex.
///
/// Tokens are derived rather than stored, so that asking again within the lifetime can
/// return the same token (`new: 0`) while the database keeps only the token's digest.
pub fn derive_token(salt: &str, credential: &str) -> String {
    let d = Sha256::digest(format!("{salt}\u{1f}{credential}").as_bytes());
    hex::encode(&d[..16])
}

/// A URL as it may be logged: scheme, host, port and path, without user info, query or
/// fragment (where webhook URLs carry their secrets).
pub fn loggable_url(url: &str) -> String {
    let no_tail = url.split(['?', '#']).next().unwrap_or("");
    match no_tail.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
            let host = authority.rsplit('@').next().unwrap_or(authority);
            let path = if path.is_empty() {
                String::new()
            } else {
                format!("/{path}")
            };
            format!("{scheme}://{host}{path}")
        }
        None => no_tail.chars().take(80).collect(),
    }
}

/// Masks an API key for error messages: the first 4 characters stay, the rest become `X`.
pub fn mask_key(key: &str) -> String {
    key.chars()
        .enumerate()
        .map(|(i, c)| if i < 4 || c == '-' { c } else { 'X' })
        .take(64)
        .collect()
}

/// Is this a well-formed 32-hex key (token or callback key)?
pub fn is_hex32(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The key the S3 accounts' secret keys are derived from (`ops::s3::secret_key`). It lives
/// outside the database, in `<db>.s3/master.key` (created with mode 0600), so that a copy
/// of the database alone reveals no secret key; with `--db :memory:` it is random for the
/// process. Its `Debug` never shows it.
pub struct S3MasterKey([u8; 32]);

impl S3MasterKey {
    /// The key for a database path: read from its file, or created there on first start.
    pub fn for_db(db: &str) -> std::io::Result<S3MasterKey> {
        let Some(dir) = crate::store::s3_blobs::dir_for(db) else {
            return Ok(Self::random());
        };
        let path = dir.join("master.key");
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let bytes = hex::decode(text.trim())
                    .ok()
                    .and_then(|b| <[u8; 32]>::try_from(b).ok());
                bytes.map(S3MasterKey).ok_or_else(|| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("{} is not 64 hex digits", path.display()),
                    )
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(&dir)?;
                let key = Self::random();
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                use std::io::Write;
                options
                    .open(&path)?
                    .write_all(hex::encode(key.0).as_bytes())?;
                Ok(key)
            }
            Err(e) => Err(e),
        }
    }

    fn random() -> S3MasterKey {
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        S3MasterKey(bytes)
    }

    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for S3MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("S3MasterKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_verified_secret_is_remembered_and_a_wrong_one_never_is() {
        let h = Hasher::new(64);
        let phc = h.hash("1234").await.expect("hash");
        let (base, _) = h.computations();
        assert!(h.verify("1234", &phc).await);
        assert!(h.verify("1234", &phc).await);
        assert_eq!(
            h.computations().0,
            base + 1,
            "the second check is remembered"
        );
        for _ in 0..3 {
            assert!(!h.verify("4321", &phc).await);
        }
        assert_eq!(
            h.computations().0,
            base + 4,
            "every wrong secret is computed"
        );
        // A new hash (the PIN was set again) matches nothing remembered.
        let other = h.hash("5678").await.expect("hash");
        assert!(!h.verify("1234", &other).await);
        assert!(h.verify("5678", &other).await);
        // Another process's memory (another hasher) remembers nothing of this one.
        assert!(Hasher::new(64).verify("1234", &phc).await);
    }

    #[tokio::test]
    async fn derived_tokens_are_remembered_per_salt_and_secret() {
        let h = Hasher::new(64);
        let a = h.derive_token("salt-aaaaaaaa", "pw").await.expect("derive");
        let (n, _) = h.computations();
        assert_eq!(
            h.derive_token("salt-aaaaaaaa", "pw").await.expect("derive"),
            a
        );
        assert_eq!(h.computations().0, n, "remembered");
        assert_ne!(
            h.derive_token("salt-bbbbbbbb", "pw").await.expect("derive"),
            a
        );
        assert_ne!(
            h.derive_token("salt-aaaaaaaa", "pw2")
                .await
                .expect("derive"),
            a
        );
        // The same as a fresh computation.
        assert_eq!(
            Hasher::new(64)
                .derive_token("salt-aaaaaaaa", "pw")
                .await
                .expect("derive"),
            a
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn no_more_computations_run_at_once_than_there_are_workers() {
        let h = Hasher::new(256);
        let phc = h.hash("right").await.expect("hash");
        let checks: Vec<_> = (0..24)
            .map(|i| {
                let (h, phc) = (h.clone(), phc.clone());
                tokio::spawn(async move { h.verify(&format!("wrong-{i}"), &phc).await })
            })
            .collect();
        for c in checks {
            assert!(!c.await.expect("task"));
        }
        let (n, peak) = h.computations();
        assert_eq!(n, 25);
        assert!(peak <= h.workers(), "peak {peak} > {}", h.workers());
    }

    #[test]
    fn logged_urls_keep_no_credentials_or_query() {
        assert_eq!(
            loggable_url("https://bot:s3cret@hooks.example.com:8443/in/abc?token=T0P#x"),
            "https://hooks.example.com:8443/in/abc"
        );
        assert_eq!(
            loggable_url("http://127.0.0.1:9/hook"),
            "http://127.0.0.1:9/hook"
        );
        assert_eq!(loggable_url("http://h?k=v"), "http://h");
    }

    #[tokio::test]
    async fn hashes_verify_only_the_right_secret() {
        let h = Hasher::new(64);
        let phc = h.hash("1234").await.expect("hash");
        assert!(phc.starts_with("$argon2id$"));
        assert!(h.verify("1234", &phc).await);
        assert!(!h.verify("4321", &phc).await);
        assert!(!h.verify("1234", "not a hash").await);
    }

    #[test]
    fn formats_match_the_invapi() {
        assert!(is_hex32(&callback_key()));
        let k = api_key();
        assert_eq!(k.len(), 33);
        assert_eq!(&k[16..17], "-");
        assert_eq!(
            mask_key("deadbeef00000001-0123456789abcdef"),
            "deadXXXXXXXXXXXX-XXXXXXXXXXXXXXXX"
        );
        let t = derive_token("salt", "cred");
        assert!(is_hex32(&t));
        assert_eq!(t, derive_token("salt", "cred"));
        assert_ne!(t, derive_token("salt2", "cred"));
        assert_eq!(digest("abc").len(), 64);
    }
}
