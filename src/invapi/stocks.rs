//! `stocks.php`: list and show (001 "Stock servers"): physical servers ready to order,
//! without the ones already sold. No token needed.

use serde_json::{json, Value};

use super::args::Args;
use super::catalogue::{location, stock_doc};
use super::dispatch::{actions, Ctx, Module};
use crate::error::{Error, Result};
use crate::store;

/// `stocks.php`, declared once. No token needed.
pub static MODULE: Module = Module {
    name: "stocks",
    actions: actions![public_pure "list" => list, public_pure "show" => show],
};

const GROUPS: &[&str] = &["ALL", "1CPU", "2CPU", "GPU", "AMD", "AMD-MODERN", "INTEL"];

/// stocks/list (001 "stocks/list"): unsold stock servers of a location and group.
async fn list(ctx: &Ctx) -> Result<Value> {
    let (state, call) = (&ctx.state, &ctx.call);
    let loc = location(call.params.get("location"))?;
    let group = call
        .params
        .get("group")
        .map(|g| g.trim().to_ascii_uppercase())
        .ok_or_else(|| Error::invalid("group is required"))?;
    if !GROUPS.contains(&group.as_str()) {
        return Err(Error::invalid(format!(
            "invalid group '{}', expected ALL, 1CPU, 2CPU, GPU, AMD, AMD-MODERN or INTEL",
            super::args::shorten(&group)
        )));
    }
    let sold = store::deploy::sold_stock(&state.db).await?;
    let list: Vec<Value> = state
        .catalogue
        .stock
        .iter()
        .filter(|s| s.location == loc && !sold.contains(&s.id))
        .filter(|s| {
            let gpu = s.group.iter().any(|g| g == "GPU");
            // GPU servers are excluded from the other groups.
            group == "ALL"
                || (group == "GPU" && gpu)
                || (!gpu && s.group.iter().any(|g| g.eq_ignore_ascii_case(&group)))
        })
        .map(|s| stock_doc(s, None))
        .collect();
    Ok(json!({"result": "OK", "action": "list", "servers": list}))
}

/// stocks/show (001 "stocks/show"): one unsold stock server with its location detail.
async fn show(ctx: &Ctx) -> Result<Value> {
    let (state, call) = (&ctx.state, &ctx.call);
    let id = call.params.req_int("id")?;
    let sold = store::deploy::sold_stock(&state.db).await?;
    let s = state
        .catalogue
        .stock(id)
        .filter(|s| !sold.contains(&s.id))
        .ok_or_else(|| Error::not_found(format!("server {id} not found")))?;
    let loc = store::servers::location(&state.db, &s.location).await?;
    let detail = json!({"dc_location": s.location, "location_id": loc.as_ref().map(|l| l.id),
                        "country": loc.map(|l| l.country)});
    Ok(json!({"result": "OK", "action": "show", "server_data": stock_doc(s, Some(detail))}))
}
