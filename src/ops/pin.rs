//! PIN codes: argon2-hashed, with a lockout after repeated failures (decisions.md §6).

use crate::error::{Error, Result};
use crate::ops::sessions::Principal;
use crate::state::AppState;
use crate::store::{self, accounts::Account};

/// The result of checking a PIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinCheck {
    Valid,
    Wrong,
    /// Too many failures: every check fails until the cooling-off period ends.
    Blocked,
    /// The account has no PIN yet.
    NotSet,
}

/// Whose run of failures a PIN check counts towards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    /// The account's own (sessions of account keys and of the password).
    Account,
    /// A per-server API key's own, so that such a key can neither lock the account's PIN
    /// for everyone nor guess it faster than the account itself could.
    Key(i64),
}

impl Counter {
    /// The counter of a session's PIN checks.
    pub fn of(caller: &Principal) -> Counter {
        match (caller.session.server_id > 0, caller.session.api_key_id) {
            (true, Some(key)) => Counter::Key(key),
            _ => Counter::Account,
        }
    }

    /// A per-server key's run lives with the login failures, under its own subject.
    fn key_subject(self) -> Option<String> {
        match self {
            Counter::Key(id) => Some(format!("pin:key:{id}")),
            Counter::Account => None,
        }
    }

    /// Is the lockout in force now? One that has run out is cleared, so counting restarts.
    async fn blocked(self, state: &AppState, acct: &Account, now: i64) -> Result<bool> {
        match self.key_subject() {
            Some(subject) => {
                let Some((n, last)) = store::sessions::failure_run(&state.db, &subject).await?
                else {
                    return Ok(false);
                };
                if n < state.config.pin_max_failures {
                    return Ok(false);
                }
                if now - last < state.config.pin_lockout {
                    return Ok(true);
                }
                store::sessions::clear_failures(&state.db, &subject).await?;
                Ok(false)
            }
            None if acct.pin_locked_until > now => Ok(true),
            None => {
                if acct.pin_locked_until != 0 {
                    store::accounts::pin_unlock(&state.db, acct.id).await?;
                }
                Ok(false)
            }
        }
    }

    /// A right PIN ends the run of failures.
    async fn succeeded(self, state: &AppState, account_id: i64) -> Result<()> {
        match self.key_subject() {
            Some(subject) => store::sessions::clear_failures(&state.db, &subject).await?,
            None => store::accounts::pin_succeeded(&state.db, account_id).await?,
        }
        Ok(())
    }

    /// Counts a wrong PIN (locking at the limit); returns the failures in the run.
    async fn failed(self, state: &AppState, account_id: i64, now: i64) -> Result<i64> {
        let max = state.config.pin_max_failures;
        Ok(match self.key_subject() {
            Some(subject) => {
                store::sessions::record_failure(&state.db, &subject, now).await?;
                store::sessions::failure_run(&state.db, &subject)
                    .await?
                    .map_or(1, |(n, _)| n)
            }
            None => {
                let until = now + state.config.pin_lockout;
                store::accounts::pin_failed(&state.db, account_id, max, until).await?
            }
        })
    }
}

/// Checks a PIN for an account, counting failures towards the lockout. Checks of one
/// account take turns, so parallel guesses see each other's failures: however many arrive
/// at once, no more than `pin_max_failures` wrong PINs are tried before the lockout, and
/// right PINs sent in parallel all pass.
pub async fn check(
    state: &AppState,
    account_id: i64,
    counter: Counter,
    pin: &str,
) -> Result<PinCheck> {
    let _turn = state.gate.enter(&format!("pin:{account_id}")).await;
    let now = state.clock.now();
    let acct = store::accounts::get(&state.db, account_id)
        .await?
        .ok_or_else(|| Error::internal("session account vanished"))?;
    if counter.blocked(state, &acct, now).await? {
        return Ok(PinCheck::Blocked);
    }
    let Some(hash) = &acct.pin_hash else {
        return Ok(PinCheck::NotSet);
    };
    if state.hasher.verify(pin.trim(), hash).await {
        counter.succeeded(state, account_id).await?;
        return Ok(PinCheck::Valid);
    }
    let failures = counter.failed(state, account_id, now).await?;
    if failures < state.config.pin_max_failures {
        return Ok(PinCheck::Wrong);
    }
    tracing::warn!(
        account_id,
        failures,
        per_server_key = matches!(counter, Counter::Key(_)),
        "PIN checks blocked after repeated failures"
    );
    Ok(PinCheck::Blocked)
}

/// The PIN rule of an action that takes `pin`: verify it when given; when missing, accept
/// it for API-key sessions and refuse it for password sessions of accounts with a PIN
/// (or for every session with `--require-pin`).
pub async fn require(state: &AppState, caller: &Principal, pin: Option<&str>) -> Result<()> {
    let account_id = caller.account.id;
    match pin {
        Some(p) => match check(state, account_id, Counter::of(caller), p).await? {
            PinCheck::Valid => Ok(()),
            PinCheck::Wrong => Err(Error::denied("invalid pin code")),
            PinCheck::Blocked => Err(Error::denied(
                "invalid pin code, Blocked For Security Purposes",
            )),
            PinCheck::NotSet => Err(Error::invalid(
                "no PIN code is set for this account, set one with eq/set_pin",
            )),
        },
        None => {
            let has_pin = caller.account.pin_hash.is_some();
            if state.config.require_pin || (caller.is_password_session() && has_pin) {
                Err(Error::invalid("pin is required for this action"))
            } else {
                Ok(())
            }
        }
    }
}
