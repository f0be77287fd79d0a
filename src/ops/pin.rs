//! PIN codes: argon2-hashed, with a lockout after repeated failures (decisions.md §6).

use crate::app::AppState;
use crate::error::{Error, Result};
use crate::store;

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

/// Checks a PIN for an account, counting failures towards the lockout. Checks of one
/// account take turns, so parallel guesses see each other's failures: however many arrive
/// at once, no more than `pin_max_failures` wrong PINs are tried before the lockout, and
/// right PINs sent in parallel all pass.
pub async fn check(state: &AppState, account_id: i64, pin: &str) -> Result<PinCheck> {
    let _turn = state.gate.enter(&format!("pin:{account_id}")).await;
    let now = state.clock.now();
    let acct = store::accounts::get(&state.db, account_id)
        .await?
        .ok_or_else(|| Error::internal("session account vanished"))?;
    if acct.pin_locked_until > now {
        return Ok(PinCheck::Blocked);
    }
    if acct.pin_locked_until != 0 {
        store::accounts::pin_unlock(&state.db, account_id).await?;
    }
    let Some(hash) = acct.pin_hash else {
        return Ok(PinCheck::NotSet);
    };
    if state.hasher.verify(pin.trim(), &hash).await {
        store::accounts::pin_succeeded(&state.db, account_id).await?;
        return Ok(PinCheck::Valid);
    }
    let failures = store::accounts::pin_failed(
        &state.db,
        account_id,
        state.config.pin_max_failures,
        now + state.config.pin_lockout,
    )
    .await?;
    if failures >= state.config.pin_max_failures {
        tracing::warn!(
            account_id,
            failures,
            "PIN checks blocked after repeated failures"
        );
        Ok(PinCheck::Blocked)
    } else {
        Ok(PinCheck::Wrong)
    }
}

/// The PIN rule of an action that takes `pin`: verify it when given; when missing, accept
/// it for API-key sessions and refuse it for password sessions of accounts with a PIN
/// (or for every session with `--require-pin`).
pub async fn require(
    state: &AppState,
    account_id: i64,
    password_session: bool,
    pin: Option<&str>,
) -> Result<()> {
    match pin {
        Some(p) => match check(state, account_id, p).await? {
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
            let has_pin = store::accounts::get(&state.db, account_id)
                .await?
                .is_some_and(|a| a.pin_hash.is_some());
            if state.config.require_pin || (password_session && has_pin) {
                Err(Error::invalid("pin is required for this action"))
            } else {
                Ok(())
            }
        }
    }
}
