//! `os.php`: list (001 "os/list"): operating systems, all or for one instance (preset).
//! No token needed; Windows prices are per core of the instance.

use serde_json::{json, Value};

use super::catalogue::tags;
use super::dispatch::{actions, Ctx, Module};
use super::Call;
use crate::domain::catalogue::{self, Os, Preset};
use crate::error::{Error, Result};
use crate::state::AppState;

/// `os.php`, declared once. No token needed.
pub static MODULE: Module = Module {
    name: "os",
    actions: actions![public_pure "list" => list],
};

/// The preset named by `instance_id` (or `instance`), if any.
pub fn instance<'a>(state: &'a AppState, call: &Call) -> Result<Option<&'a Preset>> {
    match call
        .params
        .get("instance_id")
        .or_else(|| call.params.get("instance"))
    {
        None => Ok(None),
        Some(i) => state.catalogue.preset(i).map(Some).ok_or_else(|| {
            Error::not_found(format!("instance {} not found", super::args::shorten(i)))
        }),
    }
}

/// An OS is offered for an instance of its kind that has its minimum RAM and disk (the
/// same rule eq/order_instance enforces).
fn fits(o: &Os, p: &Preset) -> bool {
    o.fits(&p.kind)
        && o.shortfall(p.hardware.ram_gb(), p.hardware.disk_gb())
            .is_none()
}

/// os/list (001 "os/list").
async fn list(ctx: &Ctx) -> Result<Value> {
    let (state, call) = (&ctx.state, &ctx.call);
    let preset = instance(state, call)?;
    let cores = preset.map(|p| p.cpu).unwrap_or(1);
    let list: Vec<Value> = state
        .catalogue
        .os
        .iter()
        .filter(|o| preset.is_none_or(|p| fits(o, p)))
        .map(|o| {
            let monthly = o.monthly(cores);
            json!({
                "id": o.id, "name": o.name, "api_enabled": 1, "type_login": 1, "pxe_os_id": o.pxe_os_id,
                "active": 1, "description": "", "tags": tags("OS", o.id, &o.tags),
                "price_EUR": catalogue::number(monthly),
                "billing_plan": {"EUR": catalogue::billing_plan(monthly, false)},
            })
        })
        .collect();
    Ok(json!({"result": "OK", "action": "list", "os_list": list}))
}
