//! Remote access (001 "Remote access", 002): add_ipmi_user, remove_ipmi_user, unit_reset,
//! console (oVirt VMs), novnc, recreate_novnc, stop_novnc (a console page the emulator serves).

use serde_json::{json, Value};

use super::super::args::Args;
use super::super::dispatch::Ctx;
use crate::error::{Error, Result};
use crate::ops::servers;
use crate::ops::sessions::Principal;
use crate::queue::{self, Job, NewTask};
use crate::store::{self, servers::Server};

fn needs_ipmi(server: &Server, action: &str) -> Result<()> {
    servers::ensure_online(server, "remote access")?;
    if server.is_vm() {
        return Err(Error::invalid(format!(
            "server {} is a virtual machine without IPMI, use eq/console or eq/novnc",
            server.id
        )));
    }
    if server.control != "ipmi" {
        return Err(Error::invalid(format!(
            "server {} has no IPMI, {action} is not possible; request remote hands with jira.php action=request_kvm",
            server.id
        )));
    }
    Ok(())
}

fn task<'a>(caller: &Principal, server: &Server, action: &'a str, job: Job, ms: i64) -> NewTask<'a> {
    let mut context = queue::server_context(action, server.id, &server.location);
    if server.is_vm() {
        context["ip_ipmi"] = json!("");
    }
    NewTask {
        module: "eq",
        account_id: Some(caller.account.id),
        server_id: server.id,
        action,
        context,
        job,
        duration_ms: ms,
    }
}

/// eq/add_ipmi_user (001 "eq/add_ipmi_user": async, the user and password arrive in the
/// record's context).
pub async fn add_ipmi_user(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let server = ctx.server().await?;
    needs_ipmi(&server, "an IPMI user")?;
    if call.params.get("admin_user").is_some() {
        return Err(Error::denied("admin_user is for administrators"));
    }
    let key = queue::submit(
        state,
        task(
            caller,
            &server,
            "add_ipmi_user",
            Job::IpmiUser {
                add: true,
                user: None,
            },
            6_000,
        ),
    )
    .await?;
    Ok(json!({"result": "OK", "action": "add_ipmi_user", "callback": key}))
}

/// eq/remove_ipmi_user (001 "eq/remove_ipmi_user"; 002's `username` picks the user, else
/// the newest one goes).
pub async fn remove_ipmi_user(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let server = ctx.server().await?;
    needs_ipmi(&server, "removing an IPMI user")?;
    let users = store::deploy::ipmi_users(&state.db, server.id).await?;
    let user = match call.params.get("username") {
        Some(u) => users
            .iter()
            .find(|x| x.as_str() == u.trim())
            .cloned()
            .ok_or_else(|| {
                Error::not_found(format!(
                    "IPMI user {} not found",
                    super::super::args::shorten(u)
                ))
            })?,
        None => users.first().cloned().ok_or_else(|| {
            Error::not_found(format!("server {} has no temporary IPMI user", server.id))
        })?,
    };
    let key = queue::submit(
        state,
        task(
            caller,
            &server,
            "remove_ipmi_user",
            Job::IpmiUser {
                add: false,
                user: Some(user),
            },
            5_000,
        ),
    )
    .await?;
    Ok(json!({"result": "OK", "action": "remove_ipmi_user", "id": server.id, "callback": key}))
}

/// eq/unit_reset (001 "eq/unit_reset"): a cold reset of the BMC.
pub async fn unit_reset(ctx: &Ctx) -> Result<Value> {
    let (state, _, caller) = ctx.parts()?;
    let server = ctx.server().await?;
    ctx.pin().await?;
    needs_ipmi(&server, "a BMC reset")?;
    let key = queue::submit(
        state,
        task(caller, &server, "unit_reset", Job::UnitReset, 20_000),
    )
    .await?;
    Ok(json!({"result": "OK", "action": "unit_reset", "callback": key}))
}

/// eq/console (001 "eq/console"): a virt-viewer file for an oVirt VM in the record's scope.
pub async fn console(ctx: &Ctx) -> Result<Value> {
    let (state, _, caller) = ctx.parts()?;
    let server = ctx.server().await?;
    ctx.pin().await?;
    if !server.is_vm() {
        return Err(Error::invalid(format!(
            "server {} is not a virtual machine; use eq/novnc, or nat/add_static_nat with an IPMI user",
            server.id
        )));
    }
    servers::ensure_online(&server, "the console")?;
    let key = queue::submit(state, task(caller, &server, "console", Job::Console, 3_000)).await?;
    Ok(json!({"result": "OK", "action": "console", "callback": key}))
}

/// eq/novnc, recreate_novnc, stop_novnc (002 "eq/novnc", "eq/recreate_novnc",
/// "eq/stop_novnc"): a browser console served by the emulator; `white_ip` limits who may
/// open it.
pub async fn novnc(ctx: &Ctx) -> Result<Value> {
    let op = match ctx.action {
        "recreate_novnc" => "recreate",
        "stop_novnc" => "stop",
        _ => "open",
    };
    let (state, call, caller) = ctx.parts()?;
    let action = match op {
        "open" => "novnc",
        "recreate" => "recreate_novnc",
        _ => "stop_novnc",
    };
    let server = ctx.server().await?;
    if op != "stop" {
        servers::ensure_online(&server, "the console")?;
    }
    if server.control == "none" {
        return Err(Error::invalid(format!(
            "server {} has no remote console; request KVM with jira.php action=request_kvm",
            server.id
        )));
    }
    let white_ip = call.params.opt_str("white_ip", 64)?.unwrap_or_default();
    if !white_ip.is_empty() && white_ip.parse::<std::net::IpAddr>().is_err() {
        return Err(Error::invalid(format!(
            "invalid white_ip '{}'",
            super::super::args::shorten(&white_ip)
        )));
    }
    let job = Job::Novnc {
        op: op.to_owned(),
        white_ip,
        base: format!("http://{}", call.host),
    };
    let key = queue::submit(state, task(caller, &server, action, job, 4_000)).await?;
    Ok(json!({"result": "OK", "action": action, "callback": key}))
}
