//! eq/status, sensors, on, off, hard_off, reboot (001 "Server power control"): async,
//! completed by the worker through `sim::power`. The checks live in `ops::power`.

use serde_json::{json, Value};

use super::super::dispatch::Ctx;
use crate::error::{Error, Result};
use crate::ops::power;
use crate::sim::power::PowerOp;

/// eq/status, sensors, on, off, hard_off, reboot (001 "eq/on" and the actions beside it):
/// a PIN for those that change the power state, then the power operation.
pub async fn power(ctx: &Ctx) -> Result<Value> {
    let op = PowerOp::from_action(ctx.action)
        .ok_or_else(|| Error::UnknownAction(ctx.action.to_owned()))?;
    let (state, _, caller) = ctx.parts()?;
    let server = ctx.server().await?;
    if power::changes_power(op) {
        ctx.pin().await?;
    }
    let key = power::power(state, caller, &server, op).await?;
    Ok(json!({"result": "OK", "action": op.action(), "callback": key}))
}
