//! eq/order_instance (001 "eq/order_instance", "Reinstall server using eq/order_instance";
//! decisions.md §5): a new order without `id`, a reinstall with it.

use serde_json::{json, Value};

use super::super::args::Args;
use super::super::catalogue::location;
use super::super::dispatch::Ctx;
use super::super::Call;
use crate::domain::rules::parse_bool;
use crate::error::{Error, Result};
use crate::ops::orders::{self, Request};
use crate::ops::ssh_keys;

fn request(call: &Call) -> Result<Request> {
    let p = &call.params;
    let notify = match p.get("deploy_notify") {
        None => false,
        Some(v) => {
            parse_bool(v).ok_or_else(|| Error::invalid("deploy_notify must be true or false"))?
        }
    };
    Ok(Request {
        preset: p.get("preset").unwrap_or("").trim().to_owned(),
        location: String::new(),
        os_id: p.opt_int("os_id")?,
        os_name: p.opt_str("os_name", 128)?,
        soft_id: p.opt_int("soft_id")?,
        traffic_plan: p.opt_int("traffic_plan")?,
        root_pass: p.get("root_pass").map(str::to_owned),
        hostname: p.opt_str("hostname", 253)?,
        post_install_callback: p.opt_str("post_install_callback", 2048)?,
        own_os: p.opt_bool("own_os")?.unwrap_or(false),
        period: p
            .get("deploy_period")
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase(),
        deploy_notify: notify,
        jenkins_task: p.opt_int("jenkins_task")?,
        ssh_key: p.opt_str("ssh_key", 16_384)?,
        ssh_key_tag: None,
        root_size: p.opt_int("root_size")?,
        ipv4_amount: p.opt_int("ipv4_amount")?,
    })
}

/// eq/order_instance (001 "eq/order_instance", "Reinstall server using eq/order_instance";
/// 002 for `os_name`, `ipv4_amount` and the callback of a new order).
pub async fn order_instance(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    ctx.pin().await?;
    let mut req = request(call)?;
    // `ssh_key` may name a stored key (ssh_keys.php) by id or name instead of giving it.
    if let Some(given) = req.ssh_key.clone().filter(|k| !k.is_empty()) {
        if let Some(k) = ssh_keys::for_order(state, caller, &given).await? {
            req.ssh_key_tag = Some((k.fingerprint, k.name));
            req.ssh_key = Some(k.key);
        }
    }
    if let Some(id) = call.params.opt_int("id")? {
        let server = ctx.server_by_id(id).await?;
        let placed = orders::reinstall(state, &caller.account, &server, &req).await?;
        let mut answer = json!({"result": "OK", "action": "order_instance", "callback": placed.callback,
                         "deploy_status": "reinstall", "id": id, "os_name": placed.os_name,
                         "soft_name": placed.soft_name});
        if placed.invoice > 0 {
            // New paid licences were invoiced (as an order's answer shows its invoice).
            answer["invoice"] = json!(placed.invoice);
            answer["status"] = json!(if placed.paid { "Paid" } else { "Unpaid" });
        }
        return Ok(answer);
    }
    if caller.session.server_id > 0 {
        return Err(Error::denied(
            "permission denied, a per-server key cannot order servers",
        ));
    }
    if req.preset.is_empty() {
        return Err(Error::invalid("preset is required, see presets/list"));
    }
    if req.period.is_empty() {
        return Err(Error::invalid("deploy_period is required"));
    }
    req.location = location(call.params.get("location_name"))?;
    let placed = orders::order(state, &caller.account, &req).await?;
    Ok(json!({
        "result": "OK", "action": "order_instance", "invoice": placed.invoice,
        "status": if placed.paid { "Paid" } else { "Unpaid" },
        "callback": placed.callback, "id": placed.server_id, "deploy_status": "install",
        "os_name": placed.os_name, "soft_name": placed.soft_name,
    }))
}

/// eq/deploy (`id`, `deploy_data`: the order's invoice id or the account's e-mail; 002
/// names the field): the deployment of a server ordered with eq/order_instance, once paid:
/// its record (`callback`, as eq/update_servers' `deploy_keys` names it) and status.
pub async fn deploy(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let server = ctx.server().await?;
    let data = call.params.opt_str("deploy_data", 320)?;
    let d = orders::deployment(state, &caller.account, &server, data.as_deref()).await?;
    Ok(json!({
        "result": "OK", "action": "deploy", "id": server.id,
        "callback": d.deployment.callback_key,
        "deploy_status": "install",
        "invoice": d.deployment.invoice_id,
        "invoice_status": d.invoice_status,
    }))
}
