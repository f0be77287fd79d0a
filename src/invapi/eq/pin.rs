//! eq/set_pin and eq/check_pin (001 "PIN codes"): answered with a callback whose record
//! carries the outcome, as the documents show.

use serde_json::{json, Value};

use super::super::args::Args;
use super::super::dispatch::Ctx;
use crate::error::{Error, Result};
use crate::ops::pin;

/// The answer of both actions: the key of the finished record.
fn answer(action: &str, callback: String) -> Value {
    json!({"result": "OK", "action": action, "callback": callback})
}

/// eq/set_pin (001 "eq/set_pin"): sets the PIN, or changes it when `old_pin` matches.
pub async fn set_pin(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    pin::account_only(caller)?;
    let new_pin = call.params.req_str("new_pin")?;
    let old_pin = call.params.get("old_pin");
    let r = pin::set_pin(state, caller, &new_pin, old_pin).await?;
    Ok(answer("set_pin", r.callback))
}

/// eq/check_pin (001 "eq/check_pin"): `pin` (the table's `old_pin` is accepted too).
pub async fn check_pin(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    pin::account_only(caller)?;
    let given = call
        .params
        .get("pin")
        .or_else(|| call.params.get("old_pin"))
        .ok_or_else(|| Error::invalid("pin is required"))?;
    let r = pin::check_pin(state, caller, given).await?;
    Ok(answer("check_pin", r.callback))
}
