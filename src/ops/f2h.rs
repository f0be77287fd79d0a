//! F2HCloud scoped keys (issue 17), protocol-neutral: creating a key, checking a presented
//! key in the documented order (the key, the caller's address, the capability, the
//! server), and the anti-hack bans and US unblock requests the F2HCloud face shows.
//! Everything else the face does goes through the same operations as the InvAPI's
//! (`ops::power`, `ops::pxe`, ...), with the [`Principal`] built here from the key.

use std::net::IpAddr;

use crate::domain::f2h::{cidr_allows, parse_capabilities, parse_cidrs, parse_key};
use crate::domain::rules::shorten;
use crate::error::{Error, Result};
use crate::ops::sessions::Principal;
use crate::secrets;
use crate::state::AppState;
use crate::store::{self, f2h::F2hKey, servers::Server, sessions::Session};

/// What a new key is asked to be.
#[derive(Debug, Clone, Default)]
pub struct NewKey {
    pub label: String,
    /// Servers by hostname (the account's).
    pub servers: Vec<String>,
    /// The allow-list, one network per line.
    pub cidrs: String,
    pub capabilities: Vec<String>,
}

/// A key that was let in: the stored key, read, and the principal it acts as.
#[derive(Debug, Clone)]
pub struct Authorized {
    pub key: F2hKey,
    pub servers: Vec<i64>,
    pub cidrs: Vec<String>,
    pub capabilities: Vec<String>,
    pub principal: Principal,
}

impl Authorized {
    pub fn can(&self, capability: &str) -> bool {
        self.capabilities.iter().any(|c| c == capability)
    }
}

/// Why a presented key was not let in, in the documented order.
#[derive(Debug)]
pub enum Refused {
    /// No key at all.
    Missing,
    /// Malformed, unknown, wrong secret or revoked.
    Invalid,
    /// The caller's address is outside the key's allow-list.
    OutsideAllowList,
    /// Something failed on the emulator's side.
    Failed(Error),
}

/// Creates a key for the account and returns it with its full text (`f2h.<id>.<secret>`),
/// which is stored only as a digest and shown once.
pub async fn create_key(
    state: &AppState,
    account_id: i64,
    new: &NewKey,
) -> Result<(F2hKey, String)> {
    let capabilities = parse_capabilities(&new.capabilities).map_err(Error::Invalid)?;
    let cidrs = parse_cidrs(&new.cidrs).map_err(Error::Invalid)?;
    let label = new.label.trim();
    if label.chars().count() > 100 {
        return Err(Error::invalid("label: at most 100 characters"));
    }
    if new.servers.is_empty() {
        return Err(Error::invalid(
            "servers: tick at least one server (required for server capabilities)",
        ));
    }
    let mut tx = store::begin_write(&state.db).await?;
    if store::accounts::get(&mut *tx, account_id).await?.is_none() {
        return Err(Error::not_found(format!("account {account_id} not found")));
    }
    let mut ids = Vec::new();
    for host in &new.servers {
        let id = store::f2h::server_by_hostname(&mut *tx, account_id, host.trim())
            .await?
            .ok_or_else(|| {
                Error::invalid(format!(
                    "servers: the account has no server named '{}'",
                    shorten(host)
                ))
            })?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    let id = secrets::random_hex(8);
    let secret = secret();
    let key = F2hKey {
        id: id.clone(),
        account_id,
        secret_digest: secrets::digest(&secret),
        label: label.to_owned(),
        server_ids: serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into()),
        cidrs: serde_json::to_string(&cidrs).unwrap_or_else(|_| "[]".into()),
        capabilities: serde_json::to_string(&capabilities).unwrap_or_else(|_| "[]".into()),
        created_at: state.clock.now(),
        last_used_at: None,
        revoked_at: None,
    };
    store::f2h::insert_key(&mut *tx, &key).await?;
    crate::queue::commit(state, tx).await?;
    Ok((key, format!("f2h.{id}.{secret}")))
}

/// A new secret: 40 ASCII letters and digits.
fn secret() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let bytes = hex::decode(secrets::random_hex(40)).unwrap_or_default();
    bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}

/// Revokes a key by its public id (`f2h.<id>.…`): from then on it is an invalid API key.
pub async fn revoke_key(state: &AppState, id: &str) -> Result<()> {
    match store::f2h::revoke_key(&state.db, id, state.clock.now()).await? {
        true => Ok(()),
        false => Err(Error::not_found(format!("no live F2HCloud key {id}"))),
    }
}

/// Checks a presented key (the `X-API-Key` header, if any) from `caller`: the key itself,
/// then the allow-list. Notes when the key was used.
pub async fn authorize(
    state: &AppState,
    presented: Option<&str>,
    caller: IpAddr,
) -> std::result::Result<Authorized, Refused> {
    let presented = presented.ok_or(Refused::Missing)?;
    let (id, secret) = parse_key(presented).ok_or(Refused::Invalid)?;
    let failed = |e: sqlx::Error| Refused::Failed(e.into());
    let key = store::f2h::key(&state.db, id)
        .await
        .map_err(failed)?
        .ok_or(Refused::Invalid)?;
    let given = secrets::digest(secret);
    if !constant_time_eq(given.as_bytes(), key.secret_digest.as_bytes()) || key.revoked_at.is_some()
    {
        return Err(Refused::Invalid);
    }
    let cidrs: Vec<String> = serde_json::from_str(&key.cidrs).unwrap_or_default();
    if !cidr_allows(&cidrs, caller) {
        return Err(Refused::OutsideAllowList);
    }
    let account = store::accounts::get(&state.db, key.account_id)
        .await
        .map_err(failed)?
        .ok_or(Refused::Invalid)?;
    let now = state.clock.now();
    store::f2h::touch_key(&state.db, &key.id, now)
        .await
        .map_err(failed)?;
    let principal = Principal {
        session: Session {
            token_digest: String::new(),
            salt: String::new(),
            account_id: account.id,
            api_key_id: None,
            // The key's servers are checked here, per request ([`scoped_server`]).
            server_id: 0,
            kind: "f2h".into(),
            bound_ip: None,
            created_at: key.created_at,
            expires_at: i64::MAX,
        },
        account,
    };
    Ok(Authorized {
        servers: serde_json::from_str(&key.server_ids).unwrap_or_default(),
        capabilities: serde_json::from_str(&key.capabilities).unwrap_or_default(),
        cidrs,
        key,
        principal,
    })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The key's server named `hostname`, or `None` when the key may not act on it (whether or
/// not such a server exists anywhere: the answer tells nothing of other servers).
pub async fn scoped_server(
    state: &AppState,
    auth: &Authorized,
    hostname: &str,
) -> Result<Option<Server>> {
    if hostname.is_empty() || hostname.len() > 253 {
        return Ok(None);
    }
    let Some(id) = store::f2h::server_by_hostname(&state.db, auth.key.account_id, hostname).await?
    else {
        return Ok(None);
    };
    if !auth.servers.contains(&id) {
        return Ok(None);
    }
    Ok(store::servers::get(&state.db, id)
        .await?
        .filter(|s| s.account_id == Some(auth.key.account_id)))
}

/// How long a ban of a simulated attack lasts.
pub const BAN_SECONDS: i64 = 2 * 3600;
/// A second US unblock of one address within this window goes to review.
pub const UNBLOCK_WINDOW_SECONDS: i64 = 24 * 3600;
/// The jails simulated attacks trip.
const JAILS: [&str; 3] = ["sshd", "recidive", "nginx-http-auth"];

/// The attack the emulator simulates on a server in one hour of its clock, if any: about
/// one hour in three, from an address of 198.51.100.0/24 (TEST-NET-2), tripping one jail.
pub fn simulated_attack(server_id: i64, hour: i64) -> Option<(String, &'static str, i64)> {
    let d = hex::decode(secrets::digest(&format!("f2h-attack:{server_id}:{hour}"))).ok()?;
    if d[0] % 3 != 0 {
        return None;
    }
    let address = format!("198.51.100.{}", 1 + u16::from(d[1]) % 254);
    let at = hour * 3600 + i64::from(u16::from_be_bytes([d[2], d[3]]) % 3600);
    Some((address, JAILS[usize::from(d[4]) % JAILS.len()], at))
}

/// The anti-hack view of a server: its fail2ban-style bans in force (the scenario's and
/// those of the attacks simulated on the emulator's clock so far) and the blocks on its
/// addresses (the abuse team's HACK blocks and the customer's own).
pub async fn antihack(
    state: &AppState,
    server: &Server,
) -> Result<(Vec<store::f2h::Ban>, Vec<store::network::Block>)> {
    let now = state.clock.now();
    let hour = now.div_euclid(3600);
    let mut due = Vec::new();
    for h in (hour - BAN_SECONDS / 3600)..=hour {
        if let Some((address, jail, at)) = simulated_attack(server.id, h) {
            if at <= now
                && at + BAN_SECONDS > now
                && !store::f2h::ban_made(&state.db, server.id, &address, jail, at).await?
            {
                due.push((address, jail, at));
            }
        }
    }
    if !due.is_empty() {
        let mut tx = store::begin_write(&state.db).await?;
        for (address, jail, at) in &due {
            store::f2h::insert_ban(&mut *tx, server.id, address, jail, *at, at + BAN_SECONDS)
                .await?;
        }
        crate::queue::commit(state, tx).await?;
    }
    Ok((
        store::f2h::bans(&state.db, server.id, now).await?,
        store::f2h::server_blocks(&state.db, server.id, now).await?,
    ))
}

/// Lifts the bans of `address` on the server (in one jail, when named); refused when none
/// is in force.
pub async fn unban(
    state: &AppState,
    server: &Server,
    address: &str,
    jail: Option<&str>,
) -> Result<u64> {
    let now = state.clock.now();
    let mut tx = store::begin_write(&state.db).await?;
    let n = store::f2h::lift_bans(&mut *tx, server.id, address, jail, now).await?;
    if n == 0 {
        return Err(Error::not_found(format!(
            "{address} is not banned on this server"
        )));
    }
    crate::queue::commit(state, tx).await?;
    Ok(n)
}

/// What a US unblock request came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnblockOutcome {
    /// The block is gone.
    Lifted,
    /// A second request for the address within the window: the abuse team reviews it.
    PendingReview,
}

impl UnblockOutcome {
    pub fn name(self) -> &'static str {
        match self {
            UnblockOutcome::Lifted => "lifted",
            UnblockOutcome::PendingReview => "pending_review",
        }
    }
}

/// US anti-hack unblock: lifts the block in force on one of the server's addresses (the
/// abuse team's HACK block as well as the customer's), unless the address was unblocked
/// this way within the window: then the request waits for review and the block stays.
/// `spam_only` limits it to blocks for spam (the anti-spam unblock).
pub async fn us_unblock(
    state: &AppState,
    server: &Server,
    address: &str,
    reason: &str,
    spam_only: bool,
) -> Result<UnblockOutcome> {
    let now = state.clock.now();
    let mut tx = store::begin_write(&state.db).await?;
    let block = store::f2h::server_blocks(&mut *tx, server.id, now)
        .await?
        .into_iter()
        .find(|b| b.address == address && (!spam_only || is_spam(b)))
        .ok_or_else(|| Error::Conflict(format!("{address} is not blocked")))?;
    let recent =
        store::f2h::unblocks_since(&mut *tx, address, now - UNBLOCK_WINDOW_SECONDS).await?;
    let outcome = if recent > 0 {
        UnblockOutcome::PendingReview
    } else {
        store::network::unblock(&mut tx, &block.address).await?;
        UnblockOutcome::Lifted
    };
    store::f2h::insert_unblock(&mut *tx, server.id, address, reason, outcome.name(), now).await?;
    crate::queue::commit(state, tx).await?;
    Ok(outcome)
}

/// Whether a block is the abuse team's for spam (the address is listed, SMTP is blocked).
pub fn is_spam(b: &store::network::Block) -> bool {
    b.kind == "admin" && b.description.to_ascii_lowercase().contains("spam")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::test_support::{state, DEMO};

    #[tokio::test]
    async fn a_created_key_is_let_in_and_only_its_digest_is_stored() {
        let state = state().await;
        let new = NewKey {
            label: "ci".into(),
            servers: vec!["nl-bm-01".into()],
            cidrs: "127.0.0.0/8".into(),
            capabilities: vec!["reboot".into()],
        };
        let (key, full) = create_key(&state, DEMO, &new).await.expect("created");
        let secret = full.rsplit('.').next().expect("secret");
        assert!(!key.secret_digest.contains(secret));
        assert_eq!(key.server_ids, "[40102]");
        let local: IpAddr = "127.0.0.1".parse().expect("ip");
        let auth = authorize(&state, Some(&full), local).await.expect("let in");
        assert!(auth.can("reboot") && !auth.can("server_details"));
        assert!(scoped_server(&state, &auth, "nl-bm-01")
            .await
            .expect("read")
            .is_some());
        assert!(scoped_server(&state, &auth, "nl-vmmini-01")
            .await
            .expect("read")
            .is_none());
        let outside: IpAddr = "192.0.2.1".parse().expect("ip");
        assert!(matches!(
            authorize(&state, Some(&full), outside).await,
            Err(Refused::OutsideAllowList)
        ));
        let wrong = format!("{}x", &full[..full.len() - 1]);
        assert!(matches!(
            authorize(&state, Some(&wrong), local).await,
            Err(Refused::Invalid)
        ));
        assert!(matches!(
            authorize(&state, None, local).await,
            Err(Refused::Missing)
        ));
    }

    #[tokio::test]
    async fn a_key_needs_known_servers_and_capabilities() {
        let state = state().await;
        let mut new = NewKey {
            servers: vec!["aurora-web-01".into()],
            capabilities: vec!["reboot".into()],
            ..NewKey::default()
        };
        let err = create_key(&state, DEMO, &new)
            .await
            .expect_err("not demo's");
        assert!(err.to_string().contains("no server named"), "{err}");
        new.servers = vec!["nl-bm-01".into()];
        new.capabilities = vec![];
        assert!(create_key(&state, DEMO, &new).await.is_err());
    }
}
