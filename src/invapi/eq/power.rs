//! eq/status, sensors, on, off, hard_off, reboot (001 "Server power control"): async,
//! completed by the worker through `sim::power`.

use serde_json::{json, Value};

use super::super::dispatch::Ctx;
use crate::error::{Error, Result};
use crate::ops::servers;
use crate::queue::{self, Job, NewTask};
use crate::sim::power::PowerOp;

/// One power action: checks, then a job whose completion changes the power state.
pub async fn power(ctx: &Ctx) -> Result<Value> {
    let op = PowerOp::from_action(ctx.action)
        .ok_or_else(|| Error::UnknownAction(ctx.action.to_owned()))?;
    let (state, _, caller) = ctx.parts()?;
    let server = ctx.server().await?;
    let id = server.id;
    let changes_power = !matches!(op, PowerOp::Status | PowerOp::Sensors);
    if changes_power {
        ctx.pin().await?;
    }
    if server.control == "none" {
        let jira = match op {
            PowerOp::On => "request_pon",
            PowerOp::Off | PowerOp::HardOff => "request_poff",
            PowerOp::Reboot => "request_reboot",
            _ => "request_check",
        };
        return Err(Error::invalid(format!(
            "server {id} has no remote control, please request remote hands with jira.php action={jira}"
        )));
    }
    if op == PowerOp::Sensors && server.is_vm() {
        return Err(Error::invalid(format!(
            "sensors are available for bare-metal servers only, server {id} is a virtual machine"
        )));
    }
    if changes_power {
        servers::ensure_online(&server, "power control")?;
    }
    let vm = server.is_vm();
    let mut context = queue::server_context(op.context_action(vm), id, &server.location);
    if vm {
        context["ip_ipmi"] = json!("");
    }
    let key = queue::submit(
        state,
        NewTask {
            module: "eq",
            account_id: Some(caller.account.id),
            server_id: id,
            action: op.action(),
            context,
            job: Job::Power { op },
            duration_ms: op.duration_ms(vm),
        },
    )
    .await?;
    Ok(json!({"result": "OK", "action": op.action(), "callback": key}))
}
