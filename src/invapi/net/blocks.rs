//! net/block_ip, net/unblock_ip (001 "net/block_ip", "net/unblock_ip"): async, the
//! router is told by the worker. The operations are [`crate::ops::blocks`]'.

use serde_json::{json, Value};

use super::super::args::Args;
use super::super::dispatch::Ctx;
use super::address;
use crate::error::Result;
use crate::ops::addresses::own_address;
use crate::ops::blocks::{self, BlockArgs};

/// net/block_ip (001 "net/block_ip"): blocks an address of the server, optionally for
/// four hours.
pub async fn block_ip(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let server = &ctx.server().await?;
    ctx.pin().await?;
    let ip = own_address(state, server, address(&call.params, "ip")?).await?;
    let args = BlockArgs {
        description: call.params.opt_str("description", 255)?.unwrap_or_default(),
        four_hours: call.params.opt_bool("four_hours")?.unwrap_or(false),
    };
    let key = blocks::block(state, caller, server, &ip, &args).await?;
    Ok(json!({"result": "OK", "action": "block_ip", "callback": key}))
}

/// net/unblock_ip (001 "net/unblock_ip"): lifts the customer's own blocks only.
pub async fn unblock_ip(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let server = &ctx.server().await?;
    ctx.pin().await?;
    let ip = own_address(state, server, address(&call.params, "ip")?).await?;
    let key = blocks::unblock(state, caller, server, &ip).await?;
    Ok(json!({"result": "OK", "action": "unblock_ip", "callback": key}))
}
