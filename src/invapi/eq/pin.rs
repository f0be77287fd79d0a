//! eq/set_pin and eq/check_pin (001 "PIN codes"): answered with a callback whose record
//! carries the outcome, as the documents show.

use serde_json::{json, Value};

use super::super::args::Args;
use super::super::dispatch::Ctx;
use crate::domain::rules::valid_pin;
use crate::error::{Error, Result};
use crate::ops::pin::{self, PinCheck};
use crate::ops::sessions::Principal;
use crate::secrets;
use crate::state::AppState;
use crate::store::{self, callbacks::NewCallback};

async fn record(
    state: &AppState,
    caller: &Principal,
    action: &str,
    ok: bool,
    scope: &str,
    debug: Option<&str>,
) -> Result<Value> {
    let key = secrets::callback_key();
    let context = json!({"action": action, "id": "0"});
    store::callbacks::create_final(
        &state.db,
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
    Ok(json!({"result": "OK", "action": action, "callback": key}))
}

/// The PIN belongs to the account: a per-server key's session may neither change it nor
/// test guesses against it (its failures would lock the whole account).
fn account_session_only(caller: &Principal) -> Result<()> {
    match caller.scope().server_id {
        Some(id) => Err(Error::denied(format!(
            "permission denied, the account PIN code cannot be managed with the API key of server {id}"
        ))),
        None => Ok(()),
    }
}

/// eq/set_pin (001 "eq/set_pin"): sets the PIN, or changes it when `old_pin` matches.
pub async fn set_pin(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    account_session_only(caller)?;
    let new_pin = call.params.req_str("new_pin")?;
    if !valid_pin(&new_pin) {
        return Err(Error::invalid("new_pin must be 4 to 8 digits"));
    }
    let has_pin = store::accounts::get(&state.db, caller.account.id)
        .await?
        .is_some_and(|a| a.pin_hash.is_some());
    if has_pin {
        let old = call
            .params
            .get("old_pin")
            .ok_or_else(|| Error::invalid("old_pin is required to change the PIN code"))?;
        match pin::check(state, caller.account.id, pin::Counter::Account, old).await? {
            PinCheck::Valid => {}
            PinCheck::Blocked => {
                let scope = "Invalid PIN/email combination, please check";
                return record(
                    state,
                    caller,
                    "set_pin",
                    false,
                    scope,
                    Some("Blocked For Security Purposes"),
                )
                .await;
            }
            PinCheck::Wrong | PinCheck::NotSet => {
                return record(
                    state,
                    caller,
                    "set_pin",
                    false,
                    "Invalid PIN/email combination, please check",
                    None,
                )
                .await;
            }
        }
    }
    let hash = state.hasher.hash(&new_pin).await?;
    store::accounts::set_pin(&state.db, caller.account.id, &hash).await?;
    record(state, caller, "set_pin", true, "PIN code was set", Some("")).await
}

/// eq/check_pin (001 "eq/check_pin"): `pin` (the table's `old_pin` is accepted too).
pub async fn check_pin(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    account_session_only(caller)?;
    let given = call
        .params
        .get("pin")
        .or_else(|| call.params.get("old_pin"))
        .ok_or_else(|| Error::invalid("pin is required"))?
        .to_owned();
    match pin::check(state, caller.account.id, pin::Counter::Account, &given).await? {
        PinCheck::Valid => {
            record(
                state,
                caller,
                "check_pin",
                true,
                "PIN code is valid",
                Some(""),
            )
            .await
        }
        PinCheck::Wrong => {
            record(state, caller, "check_pin", false, "Invalid pin code", None).await
        }
        PinCheck::Blocked => {
            record(
                state,
                caller,
                "check_pin",
                false,
                "Invalid pin code",
                Some("Blocked For Security Purposes"),
            )
            .await
        }
        PinCheck::NotSet => {
            record(
                state,
                caller,
                "check_pin",
                false,
                "PIN code is not set, use eq/set_pin first",
                None,
            )
            .await
        }
    }
}
