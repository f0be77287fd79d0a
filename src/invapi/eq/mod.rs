//! `eq.php`: servers. Dispatch on `action`; the actions live in topic files
//! (PIN codes, inventory, power control).

mod inventory;
mod order;
mod pin;
mod power;
mod pxe;
mod remote;

use axum::extract::State;
use axum::response::Response;
use serde_json::Value;

use super::{respond, Call};
use crate::error::{Error, Result};
use crate::ops::sessions;
use crate::sim::power::PowerOp;
use crate::state::AppState;

pub async fn handle(State(state): State<AppState>, call: Call) -> Response {
    let action = call.action().to_owned();
    let result = run(&state, &call, &action).await;
    respond("eq", &action, result)
}

async fn run(state: &AppState, call: &Call, action: &str) -> Result<Value> {
    const KNOWN: &[&str] = &[
        "set_pin",
        "check_pin",
        "list",
        "show",
        "update_servers",
        "status",
        "sensors",
        "on",
        "off",
        "hard_off",
        "reboot",
        "rename_server",
        "order_instance",
        "reinstall",
        "create_pxe",
        "boot_dev",
        "clear_pxe",
        "add_ipmi_user",
        "remove_ipmi_user",
        "unit_reset",
        "console",
        "novnc",
        "recreate_novnc",
        "stop_novnc",
    ];
    if !KNOWN.contains(&action) {
        return Err(Error::UnknownAction(action.to_owned()));
    }
    let caller = sessions::resolve(state, call.params.get("token"), call.client_ip).await?;
    match action {
        "set_pin" => pin::set_pin(state, call, &caller).await,
        "check_pin" => pin::check_pin(state, call, &caller).await,
        "list" => inventory::list(state, call, &caller).await,
        "show" => inventory::show(state, call, &caller).await,
        "update_servers" => inventory::update_servers(state, &caller).await,
        "rename_server" => inventory::rename_server(state, call, &caller).await,
        "order_instance" => order::order_instance(state, call, &caller).await,
        "reinstall" => pxe::reinstall(state, call, &caller).await,
        "create_pxe" => pxe::create_pxe(state, call, &caller).await,
        "boot_dev" => pxe::boot_dev(state, call, &caller).await,
        "clear_pxe" => pxe::clear_pxe(state, call, &caller).await,
        "add_ipmi_user" => remote::add_ipmi_user(state, call, &caller).await,
        "remove_ipmi_user" => remote::remove_ipmi_user(state, call, &caller).await,
        "unit_reset" => remote::unit_reset(state, call, &caller).await,
        "console" => remote::console(state, call, &caller).await,
        "novnc" => remote::novnc(state, call, &caller, "open").await,
        "recreate_novnc" => remote::novnc(state, call, &caller, "recreate").await,
        "stop_novnc" => remote::novnc(state, call, &caller, "stop").await,
        other => {
            let op = PowerOp::from_action(other)
                .ok_or_else(|| Error::UnknownAction(other.to_owned()))?;
            power::power(state, call, &caller, op).await
        }
    }
}
