//! Logging in (API key or e-mail and password), resolving tokens, logging out, and the
//! throttling of failed logins.

use std::net::IpAddr;
use std::time::Duration;

use serde_json::json;

use super::servers::Scope;
use crate::domain::rules::AllowList;
use crate::error::{Error, Result};
use crate::gate::Turn;
use crate::secrets;
use crate::state::AppState;
use crate::store::{self, accounts::Account, api_keys::ApiKey, sessions::Session};

/// Longest session lifetime a client may ask for (30 days).
pub const MAX_TTL: i64 = 30 * 86_400;

/// A successful login.
#[derive(Debug, Clone)]
pub struct Login {
    pub token: String,
    pub account: Account,
    pub session: Session,
    /// 1 for a new token, 0 when a live one was returned again.
    pub new: i64,
}

/// Who is asking, whatever the face: the account, the scope of servers it may touch
/// (`scope()`), and the credential it proved (the session opened with an API key, a
/// per-server key or e-mail and password).
#[derive(Debug, Clone)]
pub struct Principal {
    pub account: Account,
    pub session: Session,
}

impl Principal {
    pub fn scope(&self) -> Scope {
        Scope {
            account_id: self.account.id,
            server_id: (self.session.server_id > 0).then_some(self.session.server_id),
        }
    }

    /// Opened with e-mail and password (not an API key)?
    pub fn is_password_session(&self) -> bool {
        self.session.kind == "password"
    }
}

/// Waits for the turn of the subject's attempts from the client's address, then delays the
/// answer if that address has failed repeatedly for the subject. Returns the delay applied
/// (ms) and the turn, which the caller keeps until the attempt's success or failure is
/// stored.
///
/// Only the address's own failures count: whoever else guesses at
/// the same key or user, from elsewhere, neither delays nor refuses a right credential,
/// while one address still gets no faster than its own delays allow. An attempt whose turn
/// would come later than half the request timeout (the queue's schedule counts each
/// attempt ahead at the delay it will wait, as if it fails too) gets `busy` at once (the
/// answer of a failed login), so that a burst of guesses is refused with the API's
/// envelope rather than waiting first.
pub async fn throttle(
    state: &AppState,
    subject: &str,
    client: IpAddr,
    busy: Error,
) -> Result<(u64, Turn)> {
    let address = client_address(client);
    let queue_limit = Duration::from_secs(state.config.request_timeout.max(2)) / 2;
    let counted =
        store::sessions::failures_from(&state.db, subject, &address, state.clock.now()).await?;
    // One attempt at a time per subject and address: parallel guesses wait their delays in
    // turn, each as long as its place in the queue says.
    let turn = state
        .gate
        .enter_within(
            &format!("login:{subject}@{address}"),
            queue_limit,
            |ahead| Duration::from_millis(login_delay(state, counted + ahead as i64)),
        )
        .await
        .map_err(|_| busy)?;
    let failures =
        store::sessions::failures_from(&state.db, subject, &address, state.clock.now()).await?;
    let delay = login_delay(state, failures);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    Ok((delay, turn))
}

/// The delay (ms) before an attempt after `failures` failures: none for the free ones, then
/// doubling from `login_delay_ms` up to `login_delay_max_ms`.
fn login_delay(state: &AppState, failures: i64) -> u64 {
    let excess = failures - state.config.login_free_failures;
    if excess < 0 {
        return 0;
    }
    state
        .config
        .login_delay_ms
        .saturating_mul(1u64 << excess.min(20))
        .min(state.config.login_delay_max_ms)
}

/// The client address as throttling counts it: an IPv4 address (also one mapped into
/// IPv6) as itself, an IPv6 address as its /64, which one subscriber usually holds whole.
pub fn client_address(client: IpAddr) -> String {
    match client {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                let net = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
                format!("{net}/64")
            }
        },
    }
}

/// Counts a failed login of `subject` from `client`; a run that grows long from every
/// address together is logged (a guessing attack spread over many addresses, which the
/// per-address throttle slows only address by address).
async fn login_failed(state: &AppState, subject: &str, client: IpAddr, now: i64) -> Result<()> {
    let address = client_address(client);
    let run = store::sessions::record_failure_from(&state.db, subject, &address, now).await?;
    if run >= 64 && run.count_ones() == 1 {
        tracing::warn!(
            subject,
            failures = run,
            "many failed logins for one key or user within the hour"
        );
    }
    Ok(())
}

/// A right credential from `client` ends that address's run of failures.
async fn login_succeeded(state: &AppState, subject: &str, client: IpAddr) -> Result<()> {
    store::sessions::clear_failures_from(&state.db, subject, &client_address(client)).await?;
    Ok(())
}

/// The throttling subject of an API key: a digest of its first half (attempts at keys of
/// one prefix count together), so no part of a tried key is stored.
pub fn key_subject(key: &str) -> String {
    let half: String = key
        .trim()
        .chars()
        .take(16)
        .collect::<String>()
        .to_ascii_lowercase();
    format!("key:{}", &secrets::digest(&half)[..32])
}

/// The throttling subject of a billing login.
pub fn user_subject(user: &str) -> String {
    format!(
        "user:{}",
        user.trim()
            .to_ascii_lowercase()
            .chars()
            .take(128)
            .collect::<String>()
    )
}

pub use crate::domain::rules::well_formed_key;

/// auth/login: a session for an API key.
pub async fn login_with_key(
    state: &AppState,
    key: &str,
    ttl: i64,
    fix_ip: bool,
    client: IpAddr,
) -> Result<Login> {
    let key = key.trim().to_ascii_lowercase();
    let subject = key_subject(&key);
    let masked = secrets::mask_key(&key);
    let row = if well_formed_key(&key) {
        store::api_keys::by_digest(&state.db, &secrets::digest(&key)).await?
    } else {
        None
    };
    let now = state.clock.now();
    let refuse = |why: Option<String>| match why {
        Some(w) => Error::InvalidApiKey(format!("{masked}: {w}")),
        None => Error::InvalidApiKey(masked.clone()),
    };
    let Some(row) = row else {
        login_failed(state, &subject, client, now).await?;
        return Err(refuse(None));
    };
    if row.active != 1 {
        login_failed(state, &subject, client, now).await?;
        return Err(refuse(Some("the key is not active".into())));
    }
    let allow = AllowList::parse(&row.ip).unwrap_or_default();
    if !allow.allows(client) {
        login_failed(state, &subject, client, now).await?;
        return Err(refuse(Some(format!(
            "access from {client} is not allowed for this key"
        ))));
    }
    login_succeeded(state, &subject, client).await?;
    let account = store::accounts::get(&state.db, row.account_id)
        .await?
        .ok_or_else(|| Error::internal("key without account"))?;
    let bound = fix_ip.then(|| client.to_string());
    let mut login = None;
    for s in store::sessions::reusable(
        &state.db,
        account.id,
        Some(row.id),
        "key",
        bound.as_deref(),
        now,
    )
    .await?
    {
        let token = secrets::derive_token(&s.salt, &key);
        if secrets::digest(&token) == s.token_digest {
            login = Some(Login {
                token,
                account: account.clone(),
                session: s,
                new: 0,
            });
            break;
        }
    }
    let login = match login {
        Some(l) => l,
        None => {
            let salt = secrets::random_hex(16);
            let token = secrets::derive_token(&salt, &key);
            let session = Session {
                token_digest: secrets::digest(&token),
                salt,
                account_id: account.id,
                api_key_id: Some(row.id),
                server_id: row.server_id,
                kind: "key".into(),
                bound_ip: bound,
                created_at: now,
                expires_at: now + ttl,
            };
            store::sessions::insert(&state.db, &session).await?;
            Login {
                token,
                account,
                session,
                new: 1,
            }
        }
    };
    store::api_keys::add_history(
        &state.db,
        row.id,
        login.account.id,
        now,
        &format!("Login with api_key {} from {client}", row.id),
        "login",
        &login.account.email,
    )
    .await?;
    notify_login(state, &row, &login, client).await;
    Ok(login)
}

/// Sends the key's login notice: webhooks in the background, e-mails to the outbox.
async fn notify_login(state: &AppState, key: &ApiKey, login: &Login, client: IpAddr) {
    let Some(address) = key.login_notify_address.clone().filter(|a| !a.is_empty()) else {
        return;
    };
    let now = state.clock.now();
    let notice = json!({
        "event": "login",
        "api_key_id": key.id,
        "api_key_name": key.name,
        "token_view": key.token_view,
        "customer_id": login.account.id,
        "server_id": key.server_id,
        "ip": client.to_string(),
        "date": crate::clock::format_datetime(now),
        "new": login.new,
    });
    match key.login_notify_method.as_str() {
        "webhook" => state.send_webhook(address, notice),
        "email" => {
            let body = format!(
                "Hello,\n\nthe API key \"{}\" (#{}, {}...) was used to log in from {} at {} UTC.\n\
                 If this was not you, disable the key with api_keys/edit.\n\nHOSTKEY",
                key.name,
                key.id,
                key.token_view,
                client,
                crate::clock::format_datetime(now)
            );
            let r = store::outbox::push(
                &state.db,
                Some(login.account.id),
                &address,
                &format!("API key login: {}", key.name),
                &body,
                now,
            )
            .await;
            if let Err(e) = r {
                tracing::warn!(error = %e, "could not queue login e-mail");
            }
        }
        _ => {}
    }
}

/// auth/whmcslogin: a session for the billing e-mail and password.
pub async fn login_with_password(
    state: &AppState,
    user: &str,
    password: &str,
    ttl: i64,
    fix_ip: bool,
    client: IpAddr,
) -> Result<Login> {
    let subject = user_subject(user);
    let now = state.clock.now();
    let failure = || Error::Verbatim("auth: authenthication failure  ".into());
    let account = store::accounts::by_email(&state.db, user).await?;
    let Some(account) = account else {
        // Spend the same effort as a real check so that timing does not reveal accounts.
        let _ = state
            .hasher
            .verify(
                password,
                "$argon2id$v=19$m=64,t=2,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
            )
            .await;
        login_failed(state, &subject, client, now).await?;
        return Err(failure());
    };
    if !state.hasher.verify(password, &account.password_hash).await {
        login_failed(state, &subject, client, now).await?;
        return Err(failure());
    }
    login_succeeded(state, &subject, client).await?;
    let bound = fix_ip.then(|| client.to_string());
    if let Some(s) = store::sessions::reusable(
        &state.db,
        account.id,
        None,
        "password",
        bound.as_deref(),
        now,
    )
    .await?
    .into_iter()
    .next()
    {
        let token = state.hasher.derive_token(&s.salt, password).await?;
        if secrets::digest(&token) == s.token_digest {
            return Ok(Login {
                token,
                account,
                session: s,
                new: 0,
            });
        }
    }
    let salt = secrets::random_hex(16);
    let token = state.hasher.derive_token(&salt, password).await?;
    let session = Session {
        token_digest: secrets::digest(&token),
        salt,
        account_id: account.id,
        api_key_id: None,
        server_id: 0,
        kind: "password".into(),
        bound_ip: bound,
        created_at: now,
        expires_at: now + ttl,
    };
    store::sessions::insert(&state.db, &session).await?;
    Ok(Login {
        token,
        account,
        session,
        new: 1,
    })
}

/// The caller behind a token: missing, unknown, expired and IP-mismatched tokens all fail alike.
pub async fn resolve(state: &AppState, token: Option<&str>, client: IpAddr) -> Result<Principal> {
    let token = token
        .map(str::trim)
        .filter(|t| secrets::is_hex32(t))
        .ok_or(Error::InvalidToken)?;
    let digest = secrets::digest(token);
    // The account comes with the session (one statement, or none while nothing was written
    // since it was last read); actions reuse `Principal::account` rather than reading it again.
    // Remembered until a write touches a session, an account or a key (not every write).
    let found = state
        .sessions
        .load(
            || state.db.auth_generation(),
            &digest,
            store::sessions::with_account(&state.db, &digest),
        )
        .await?
        .ok_or(Error::InvalidToken)?;
    let store::sessions::SessionAccount { session, account } = found;
    if session.expires_at <= state.clock.now() {
        store::sessions::delete(&state.db, &digest).await?;
        return Err(Error::InvalidToken);
    }
    if let Some(ip) = &session.bound_ip {
        if *ip != client.to_string() {
            return Err(Error::InvalidToken);
        }
    }
    Ok(Principal { account, session })
}

/// auth/logout: ends the session.
pub async fn logout(state: &AppState, caller: &Principal) -> Result<()> {
    store::sessions::delete(&state.db, &caller.session.token_digest).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_counts_ipv4_as_itself_and_ipv6_by_its_64() {
        let a = |s: &str| client_address(s.parse().expect("ip"));
        assert_eq!(a("192.0.2.7"), "192.0.2.7");
        assert_eq!(a("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(a("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(a("2001:db8:1:2:ffff::9"), a("2001:db8:1:2::1"));
        assert_ne!(a("2001:db8:1:3::1"), a("2001:db8:1:2::1"));
    }
}
