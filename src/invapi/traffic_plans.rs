//! `traffic_plans.php`: list (001 "traffic_plans/list"): plans of a location, optionally
//! for one instance (`instance_id` or `instance`). No token needed.

use serde_json::{json, Value};

use super::catalogue::{location, tags};
use super::dispatch::{actions, Ctx, Module};
use crate::domain::catalogue;
use crate::error::{Error, Result};

/// `traffic_plans.php`, declared once. No token needed.
pub static MODULE: Module = Module {
    name: "traffic_plans",
    actions: actions![public_pure "list" => list],
};

async fn list(ctx: &Ctx) -> Result<Value> {
    let (state, call) = (&ctx.state, &ctx.call);
    let loc = location(call.params.get("location"))?;
    let preset = super::os::instance(state, call)?;
    let list: Vec<Value> = state
        .catalogue
        .traffic_plans
        .iter()
        .filter(|t| t.locations.contains(&loc))
        // An instance not sold in the location has no plans there.
        .filter(|t| preset.is_none_or(|p| p.locations.contains(&loc) && t.kinds.contains(&p.kind)))
        .map(|t| {
            json!({"id": t.id, "name": t.name, "limit_in": t.limit_in, "limit_out": t.limit_out, "rate_in": t.rate_in,
                   "rate_out": t.rate_out, "bandwidth": t.bandwidth, "locations": format!("{},", t.locations.join(",")),
                   "currency_id": t.currency_id, "active": t.active, "web_plan": t.web_plan,
                   "price": catalogue::number(t.price), "main_plan": t.main_plan, "tags": tags("traffic_plans", t.id, &t.tags)})
        })
        .collect();
    if list.is_empty() {
        return Err(Error::invalid("error while looking for traffic plans"));
    }
    Ok(json!({"result": "OK", "action": "list", "traffic_plans": list}))
}
