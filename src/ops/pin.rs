//! PIN codes: argon2-hashed, with a lockout after repeated failures (decisions.md §6).
//! The PIN belongs to the account: it is set and tested (eq/set_pin, eq/check_pin) by
//! account-wide sessions only, and each such operation leaves a finished record (a callback
//! key) carrying its outcome, as 001 shows.

use serde_json::json;

use crate::domain::rules::valid_pin;
use crate::error::{AccountOnly, Error, Result};
use crate::ops::sessions::Principal;
use crate::secrets;
use crate::state::AppState;
use crate::store::{self, accounts::Account, callbacks::NewCallback};

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

    /// The queue this counter's checks take turns in: the account's own, or the key's, so
    /// that a per-server key sending PINs in bulk never makes the account's checks wait.
    fn queue(self, account_id: i64) -> String {
        match self {
            Counter::Key(id) => format!("pin:key:{id}"),
            Counter::Account => format!("pin:{account_id}"),
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

    /// A right PIN ends the run of failures (`acct` as read under the account's turn; with
    /// no failures counted there is nothing to write).
    async fn succeeded(self, state: &AppState, acct: &Account) -> Result<()> {
        match self.key_subject() {
            Some(subject) => store::sessions::clear_failures(&state.db, &subject).await?,
            None if acct.pin_failures > 0 => {
                store::accounts::pin_succeeded(&state.db, acct.id).await?
            }
            None => {}
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
/// counter take turns, so parallel guesses see each other's failures: however many arrive
/// at once, no more than `pin_max_failures` wrong PINs are tried before the lockout, and
/// right PINs sent in parallel all pass. Counters do not queue behind each other.
pub async fn check(
    state: &AppState,
    account_id: i64,
    counter: Counter,
    pin: &str,
) -> Result<PinCheck> {
    let _turn = state.gate.enter(&counter.queue(account_id)).await;
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
        counter.succeeded(state, &acct).await?;
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

/// The PIN belongs to the account: a per-server key's session may neither change it nor
/// test guesses against it (its failures would lock the whole account).
pub fn account_only(caller: &Principal) -> Result<()> {
    match caller.scope().server_id {
        Some(server) => Err(Error::AccountOnly {
            server,
            what: AccountOnly::Pin,
        }),
        None => Ok(()),
    }
}

/// How a request to set the PIN ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinSet {
    /// The new PIN is stored.
    Set,
    /// The account has a PIN and `old_pin` was not it.
    Wrong,
    /// The account's PIN checks are locked after repeated failures.
    Blocked,
}

/// A PIN operation's outcome and the key of the finished record that carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded<T> {
    pub callback: String,
    pub outcome: T,
}

/// The finished record of a PIN operation (account-wide: server 0, id "0").
async fn record<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    state: &AppState,
    caller: &Principal,
    action: &str,
    ok: bool,
    scope: &str,
    debug: Option<&str>,
) -> Result<String> {
    let key = secrets::callback_key();
    let context = json!({"action": action, "id": "0"});
    store::callbacks::create_final(
        db,
        &NewCallback {
            key: &key,
            module: "eq",
            account_id: Some(caller.account.id),
            server_id: 0,
            action,
            context: &context,
        },
        ok,
        scope,
        debug,
        state.clock.now(),
    )
    .await?;
    Ok(key)
}

/// Set PIN (001 "eq/set_pin"): sets the account's PIN, or changes it when `old_pin` is the
/// current one (a wrong one counts towards the lockout). An account session only.
pub async fn set_pin(
    state: &AppState,
    caller: &Principal,
    new_pin: &str,
    old_pin: Option<&str>,
) -> Result<Recorded<PinSet>> {
    account_only(caller)?;
    if !valid_pin(new_pin) {
        return Err(Error::invalid("new_pin must be 4 to 8 digits"));
    }
    let has_pin = store::accounts::get(&state.db, caller.account.id)
        .await?
        .is_some_and(|a| a.pin_hash.is_some());
    if has_pin {
        let old =
            old_pin.ok_or_else(|| Error::invalid("old_pin is required to change the PIN code"))?;
        let refused = match check(state, caller.account.id, Counter::Account, old).await? {
            PinCheck::Valid => None,
            PinCheck::Blocked => Some((PinSet::Blocked, Some("Blocked For Security Purposes"))),
            PinCheck::Wrong | PinCheck::NotSet => Some((PinSet::Wrong, None)),
        };
        if let Some((outcome, debug)) = refused {
            let scope = "Invalid PIN/email combination, please check";
            let callback = record(&state.db, state, caller, "set_pin", false, scope, debug).await?;
            return Ok(Recorded { callback, outcome });
        }
    }
    // Hash before the transaction: argon2 takes its time, and the write lock is shared.
    let hash = state.hasher.hash(new_pin).await?;
    let mut tx = store::begin_write(&state.db).await?;
    store::accounts::set_pin(&mut *tx, caller.account.id, &hash).await?;
    let callback = record(
        &mut *tx,
        state,
        caller,
        "set_pin",
        true,
        "PIN code was set",
        Some(""),
    )
    .await?;
    tx.commit().await?;
    Ok(Recorded {
        callback,
        outcome: PinSet::Set,
    })
}

/// Check PIN (001 "eq/check_pin"): tests a PIN against the account's, counting a wrong one
/// towards the lockout. An account session only.
pub async fn check_pin(
    state: &AppState,
    caller: &Principal,
    pin: &str,
) -> Result<Recorded<PinCheck>> {
    account_only(caller)?;
    let outcome = check(state, caller.account.id, Counter::Account, pin).await?;
    let (ok, scope, debug) = match outcome {
        PinCheck::Valid => (true, "PIN code is valid", Some("")),
        PinCheck::Wrong => (false, "Invalid pin code", None),
        PinCheck::Blocked => (
            false,
            "Invalid pin code",
            Some("Blocked For Security Purposes"),
        ),
        PinCheck::NotSet => (false, "PIN code is not set, use eq/set_pin first", None),
    };
    let callback = record(&state.db, state, caller, "check_pin", ok, scope, debug).await?;
    Ok(Recorded { callback, outcome })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::test_support::{principal_of_key, state, DEMO_KEY, DEMO_PIN, DEMO_SERVER_KEY};

    #[tokio::test]
    async fn a_right_pin_writes_only_to_end_a_run_of_failures() {
        let state = state().await;
        let demo = crate::ops::test_support::DEMO;
        let before = state.db.generation();
        let r = check(&state, demo, Counter::Account, DEMO_PIN).await;
        assert_eq!(r.expect("check"), PinCheck::Valid);
        assert_eq!(state.db.generation(), before, "nothing to write");
        let r = check(&state, demo, Counter::Account, "0000").await;
        assert_eq!(r.expect("check"), PinCheck::Wrong);
        let after_failure = state.db.generation();
        assert!(after_failure > before, "the failure is counted");
        let r = check(&state, demo, Counter::Account, DEMO_PIN).await;
        assert_eq!(r.expect("check"), PinCheck::Valid);
        assert!(state.db.generation() > after_failure, "the run is ended");
        let acct = store::accounts::get(&state.db, demo)
            .await
            .expect("get")
            .expect("demo");
        assert_eq!(acct.pin_failures, 0);
    }

    async fn record_of(state: &AppState, key: &str) -> (String, Option<String>, Option<String>) {
        let r = store::callbacks::get(&state.db, key)
            .await
            .expect("get")
            .expect("record");
        assert_eq!((r.module.as_str(), r.server_id), ("eq", 0));
        (r.state, r.scope, r.debug)
    }

    #[tokio::test]
    async fn check_pin_records_a_right_and_a_wrong_pin() {
        let state = state().await;
        let caller = principal_of_key(&state, DEMO_KEY).await;
        let ok = check_pin(&state, &caller, DEMO_PIN).await.expect("check");
        assert_eq!(ok.outcome, PinCheck::Valid);
        assert_eq!(
            record_of(&state, &ok.callback).await,
            (
                "ok".into(),
                Some("PIN code is valid".into()),
                Some("".into())
            )
        );
        let wrong = check_pin(&state, &caller, "0000").await.expect("check");
        assert_eq!(wrong.outcome, PinCheck::Wrong);
        assert_eq!(
            record_of(&state, &wrong.callback).await,
            ("fail".into(), Some("Invalid pin code".into()), None)
        );
        let acct = store::accounts::get(&state.db, caller.account.id)
            .await
            .expect("get")
            .expect("account");
        assert_eq!(
            acct.pin_failures, 1,
            "a wrong PIN counts towards the lockout"
        );
    }

    #[tokio::test]
    async fn the_lockout_blocks_even_the_right_pin() {
        let state = state().await;
        let caller = principal_of_key(&state, DEMO_KEY).await;
        for _ in 0..state.config.pin_max_failures {
            check_pin(&state, &caller, "0000").await.expect("check");
        }
        let r = check_pin(&state, &caller, DEMO_PIN).await.expect("check");
        assert_eq!(r.outcome, PinCheck::Blocked);
        assert_eq!(
            record_of(&state, &r.callback).await.2.as_deref(),
            Some("Blocked For Security Purposes")
        );
        let r = set_pin(&state, &caller, "5678", Some(DEMO_PIN))
            .await
            .expect("set");
        assert_eq!(r.outcome, PinSet::Blocked);
    }

    #[tokio::test]
    async fn set_pin_changes_the_pin_only_with_the_old_one() {
        let state = state().await;
        let caller = principal_of_key(&state, DEMO_KEY).await;
        let e = set_pin(&state, &caller, "5678", None)
            .await
            .expect_err("old pin needed");
        assert_eq!(e.to_string(), "old_pin is required to change the PIN code");
        let e = set_pin(&state, &caller, "12a4", Some(DEMO_PIN))
            .await
            .expect_err("not digits");
        assert_eq!(e.to_string(), "new_pin must be 4 to 8 digits");
        let wrong = set_pin(&state, &caller, "5678", Some("0000"))
            .await
            .expect("set");
        assert_eq!(wrong.outcome, PinSet::Wrong);
        assert_eq!(
            record_of(&state, &wrong.callback).await.1.as_deref(),
            Some("Invalid PIN/email combination, please check")
        );
        let set = set_pin(&state, &caller, "5678", Some(DEMO_PIN))
            .await
            .expect("set");
        assert_eq!(set.outcome, PinSet::Set);
        assert_eq!(
            record_of(&state, &set.callback).await,
            (
                "ok".into(),
                Some("PIN code was set".into()),
                Some("".into())
            )
        );
        let now = check_pin(&state, &caller, "5678").await.expect("check");
        assert_eq!(now.outcome, PinCheck::Valid);
        let old = check_pin(&state, &caller, DEMO_PIN).await.expect("check");
        assert_eq!(old.outcome, PinCheck::Wrong);
    }

    #[tokio::test]
    async fn a_per_server_session_may_neither_set_nor_test_the_pin() {
        let state = state().await;
        let scoped = principal_of_key(&state, DEMO_SERVER_KEY).await;
        let before = crate::store::test_support::count(&state.db, "callbacks").await;
        for e in [
            set_pin(&state, &scoped, "5678", Some(DEMO_PIN))
                .await
                .expect_err("set"),
            check_pin(&state, &scoped, DEMO_PIN)
                .await
                .expect_err("check"),
        ] {
            assert!(
                matches!(
                    e,
                    Error::AccountOnly {
                        server: 40101,
                        what: AccountOnly::Pin
                    }
                ),
                "{e:?}"
            );
        }
        assert_eq!(
            crate::store::test_support::count(&state.db, "callbacks").await,
            before,
            "no record, no failure counted"
        );
        let acct = store::accounts::get(&state.db, scoped.account.id)
            .await
            .expect("get")
            .expect("account");
        assert_eq!(acct.pin_failures, 0);
    }

    #[tokio::test]
    async fn a_per_server_keys_pin_checks_never_queue_the_accounts() {
        let state = state().await;
        let owner = principal_of_key(&state, DEMO_KEY).await;
        let scoped = principal_of_key(&state, DEMO_SERVER_KEY).await;
        let account = owner.account.id;
        // A check of the per-server key's counter is under way (its turn is taken)...
        let key_turn = state.gate.enter(&Counter::of(&scoped).queue(account)).await;
        // ...the account's own checks go ahead all the same...
        let own = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            check(&state, account, Counter::of(&owner), DEMO_PIN),
        )
        .await
        .expect("not queued behind the key")
        .expect("check");
        assert_eq!(own, PinCheck::Valid);
        // ...while the key's next check waits for its own turn.
        let next = tokio::time::timeout(
            std::time::Duration::from_millis(50),
            check(&state, account, Counter::of(&scoped), DEMO_PIN),
        );
        assert!(next.await.is_err(), "the key's checks take turns");
        drop(key_turn);
    }
}
