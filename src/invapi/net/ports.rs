//! net/get_status, net/port_off, net/port_on (001 "Network operations"; 000): async,
//! completed by the worker through `sim::network`. The operations are
//! [`crate::ops::ports`]'.

use serde_json::{json, Value};

use super::super::args::Args;
use super::super::dispatch::Ctx;
use super::port_ref;
use crate::error::Result;
use crate::ops::ports;

/// net/get_status (001 "net/get_status"): the switch (or oVirt) view of a port, async.
pub async fn get_status(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let server = &ctx.server().await?;
    ctx.pin().await?;
    let iface = ports::find(state, server, &port_ref(&call.params)?).await?;
    let key = ports::status(state, caller, server, &iface).await?;
    Ok(json!({"result": "OK", "action": "get_status", "callback": key}))
}

/// net/port_off (001 "net/port_off").
pub async fn port_off(ctx: &Ctx) -> Result<Value> {
    port_switch(ctx, false).await
}

/// net/port_on (001 "net/port_on").
pub async fn port_on(ctx: &Ctx) -> Result<Value> {
    port_switch(ctx, true).await
}

/// net/port_off and net/port_on (001, 000): the customer's own block, with an optional
/// `reason`; an administrative block can only be lifted by support.
async fn port_switch(ctx: &Ctx, on: bool) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let server = &ctx.server().await?;
    let action = if on { "port_on" } else { "port_off" };
    ctx.pin().await?;
    let iface = ports::find(state, server, &port_ref(&call.params)?).await?;
    // The port's state is checked before the reason is read, as the API does.
    ports::not_admin_blocked(state, &iface).await?;
    let reason = call.params.opt_str("reason", 255)?;
    let key = ports::switch(state, caller, server, &iface, on, reason).await?;
    Ok(json!({"result": "OK", "action": action, "callback": key}))
}
