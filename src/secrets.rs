//! Secrets: argon2 for passwords and PINs, SHA-256 digests for API keys and tokens,
//! and the random formats the InvAPI uses (32-hex tokens and callback keys, `16hex-16hex` API keys).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Argon2 cost settings; tests lower the memory cost.
#[derive(Debug, Clone, Copy)]
pub struct Hasher {
    memory_kib: u32,
}

impl Hasher {
    pub fn new(memory_kib: u32) -> Self {
        Hasher {
            memory_kib: memory_kib.max(8),
        }
    }

    fn argon2(&self) -> Argon2<'static> {
        let params = Params::new(self.memory_kib, 2, 1, None).unwrap_or_default();
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }

    /// Hashes a password or PIN into a PHC string, off the async threads.
    pub async fn hash(&self, secret: &str) -> anyhow_like::Result<String> {
        let this = *self;
        let secret = secret.to_owned();
        tokio::task::spawn_blocking(move || this.hash_blocking(&secret))
            .await
            .map_err(|e| anyhow_like::Error(e.to_string()))?
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
        let this = *self;
        let (salt, secret) = (salt.to_owned(), secret.to_owned());
        tokio::task::spawn_blocking(move || {
            let mut out = [0u8; 16];
            this.argon2()
                .hash_password_into(secret.as_bytes(), salt.as_bytes(), &mut out)
                .map_err(|e| anyhow_like::Error(e.to_string()))?;
            Ok(hex::encode(out))
        })
        .await
        .map_err(|e| anyhow_like::Error(e.to_string()))?
    }

    /// Verifies a secret against a stored PHC string (its own parameters are used).
    pub async fn verify(&self, secret: &str, phc: &str) -> bool {
        let this = *self;
        let secret = secret.to_owned();
        let phc = phc.to_owned();
        tokio::task::spawn_blocking(move || {
            PasswordHash::new(&phc)
                .map(|h| this.argon2().verify_password(secret.as_bytes(), &h).is_ok())
                .unwrap_or(false)
        })
        .await
        .unwrap_or(false)
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

#[cfg(test)]
mod tests {
    use super::*;

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
