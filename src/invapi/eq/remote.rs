//! Remote access (001 "Remote access", 002): add_ipmi_user, remove_ipmi_user, unit_reset,
//! console (oVirt VMs), novnc, recreate_novnc, stop_novnc (a console page the emulator
//! serves). The checks live in `ops::remote`.

use serde_json::{json, Value};

use super::super::args::Args;
use super::super::dispatch::Ctx;
use crate::error::Result;
use crate::ops::remote::{self, Novnc, NovncOp};

/// eq/add_ipmi_user (001 "eq/add_ipmi_user": async, the user and password arrive in the
/// record's context).
pub async fn add_ipmi_user(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let server = ctx.server().await?;
    let admin = call.params.get("admin_user").is_some();
    let key = remote::add_ipmi_user(state, caller, &server, admin).await?;
    Ok(json!({"result": "OK", "action": "add_ipmi_user", "callback": key}))
}

/// eq/remove_ipmi_user (001 "eq/remove_ipmi_user"; 002's `username` picks the user, else
/// the newest one goes).
pub async fn remove_ipmi_user(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let server = ctx.server().await?;
    let username = call.params.get("username");
    let key = remote::remove_ipmi_user(state, caller, &server, username).await?;
    Ok(json!({"result": "OK", "action": "remove_ipmi_user", "id": server.id, "callback": key}))
}

/// eq/unit_reset (001 "eq/unit_reset"): a cold reset of the BMC.
pub async fn unit_reset(ctx: &Ctx) -> Result<Value> {
    let (state, _, caller) = ctx.parts()?;
    let server = ctx.server().await?;
    ctx.pin().await?;
    let key = remote::unit_reset(state, caller, &server).await?;
    Ok(json!({"result": "OK", "action": "unit_reset", "callback": key}))
}

/// eq/console (001 "eq/console"): a virt-viewer file for an oVirt VM in the record's scope.
pub async fn console(ctx: &Ctx) -> Result<Value> {
    let (state, _, caller) = ctx.parts()?;
    let server = ctx.server().await?;
    ctx.pin().await?;
    let key = remote::console(state, caller, &server).await?;
    Ok(json!({"result": "OK", "action": "console", "callback": key}))
}

/// eq/novnc, recreate_novnc, stop_novnc (002 "eq/novnc", "eq/recreate_novnc",
/// "eq/stop_novnc"): a browser console served by the emulator; `white_ip` limits who may
/// open it.
pub async fn novnc(ctx: &Ctx) -> Result<Value> {
    let op = match ctx.action {
        "recreate_novnc" => NovncOp::Recreate,
        "stop_novnc" => NovncOp::Stop,
        _ => NovncOp::Open,
    };
    let (state, call, caller) = ctx.parts()?;
    let server = ctx.server().await?;
    // The server's state is checked before the arguments are read, as the API does.
    remote::console_reachable(&server, op)?;
    let req = Novnc {
        op,
        white_ip: call.params.opt_str("white_ip", 64)?.unwrap_or_default(),
        base_url: format!("http://{}", call.host),
    };
    let key = remote::novnc(state, caller, &server, &req).await?;
    Ok(json!({"result": "OK", "action": op.action(), "callback": key}))
}
