//! `eq.php`: servers. Dispatch on `action`; the actions live in topic files
//! (PIN codes, inventory, power control).

mod inventory;
mod pin;
mod power;

use axum::extract::State;
use axum::response::Response;
use serde_json::Value;

use super::{respond, Call};
use crate::app::AppState;
use crate::error::{Error, Result};
use crate::ops::sessions;
use crate::sim::power::PowerOp;

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
        other => {
            let op = PowerOp::from_action(other)
                .ok_or_else(|| Error::UnknownAction(other.to_owned()))?;
            power::power(state, call, &caller, op).await
        }
    }
}
