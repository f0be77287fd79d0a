//! `presets.php`: list (001 "presets/list"), show, search, info. No token needed.

use serde_json::{json, Value};

use super::args::Args;
use super::catalogue::{location, tags, LOCATIONS};
use super::dispatch::{actions, Ctx, Module};
use crate::domain::catalogue::{self, Preset};
use crate::error::{Error, Result};

/// `presets.php`, declared once. No token needed.
pub static MODULE: Module = Module {
    name: "presets",
    actions: actions![
        public_pure "list" => list,
        public_pure "show" => show,
        public_pure "search" => search,
        public_pure "info" => info,
        public_pure "groups" => groups,
    ],
};

/// presets/list (001 "presets/list"): the presets sold in a location.
async fn list(ctx: &Ctx) -> Result<Value> {
    let (state, call) = (&ctx.state, &ctx.call);
    let loc = location(call.params.get("location"))?;
    let list: Vec<Value> = state
        .catalogue
        .presets
        .iter()
        .filter(|p| p.locations.contains(&loc))
        .map(|p| doc(p, &loc))
        .collect();
    Ok(json!({"result": "OK", "action": "list", "presets": list}))
}

/// presets/show (permission list of 001; the MCP server's get_preset): one preset by id or
/// name, or every preset when none is named.
async fn show(ctx: &Ctx) -> Result<Value> {
    let (state, call) = (&ctx.state, &ctx.call);
    let c = &state.catalogue;
    let key = call
        .params
        .get("id")
        .or_else(|| call.params.get("preset"))
        .or_else(|| call.params.get("name"));
    let Some(key) = key else {
        let all: Vec<Value> = c.presets.iter().map(|p| doc(p, &p.locations[0])).collect();
        return Ok(json!({"result": "OK", "action": "show", "presets": all}));
    };
    let p = c.preset(key).ok_or_else(|| {
        Error::not_found(format!("preset {} not found", super::args::shorten(key)))
    })?;
    let loc = p.locations.first().cloned().unwrap_or_default();
    Ok(json!({"result": "OK", "action": "show", "preset": doc(p, &loc)}))
}

/// presets/search (permission list of 001): presets whose name, description or server
/// type contains the query, optionally in one location.
async fn search(ctx: &Ctx) -> Result<Value> {
    let (state, call) = (&ctx.state, &ctx.call);
    let q = call
        .params
        .opt_str("query", 128)?
        .or(call.params.opt_str("value", 128)?)
        .or(call.params.opt_str("name", 128)?)
        .unwrap_or_default()
        .to_ascii_lowercase();
    let loc = match call.params.get("location") {
        Some(l) => Some(location(Some(l))?),
        None => None,
    };
    let list: Vec<Value> = state
        .catalogue
        .presets
        .iter()
        .filter(|p| loc.as_ref().is_none_or(|l| p.locations.contains(l)))
        .filter(|p| {
            q.is_empty()
                || p.name.to_ascii_lowercase().contains(&q)
                || p.description.to_ascii_lowercase().contains(&q)
                || p.server_type.to_ascii_lowercase().contains(&q)
        })
        .map(|p| doc(p, loc.as_deref().unwrap_or(&p.locations[0])))
        .collect();
    Ok(json!({"result": "OK", "action": "search", "presets": list}))
}

/// A preset as presets/list shows it; `monthly_com` is the EUR price in `loc`.
pub fn doc(p: &Preset, loc: &str) -> Value {
    let prices: serde_json::Map<String, Value> = p
        .price
        .iter()
        .map(|(l, cur)| {
            let m: serde_json::Map<String, Value> = cur
                .iter()
                .map(|(k, v)| (k.clone(), catalogue::number(*v)))
                .collect();
            (l.clone(), Value::Object(m))
        })
        .collect();
    json!({
        "id": p.id,
        "name": p.name,
        "active": 1,
        "monthly_com": catalogue::number(p.monthly(loc, "EUR").unwrap_or(-1.0)),
        "description": p.description,
        "cpu": p.cpu,
        "ram": p.ram,
        "hdd": p.hdd,
        "gpu": p.gpu,
        "locations": p.locations.join(","),
        "virtual": p.is_virtual,
        "price": prices,
        "available": p.available,
        "server_type": p.server_type,
        "tags": tags("presets", p.id, &p.tags),
    })
}

/// presets/info (the MCP server's get_preset_pricing): presets with prices per location and currency, OS and software with
/// prices, traffic plans per location, in one answer.
async fn info(ctx: &Ctx) -> Result<Value> {
    let state = &ctx.state;
    let c = &state.catalogue;
    let presets: Vec<Value> = c.presets.iter().map(|p| doc(p, &p.locations[0])).collect();
    let os: Vec<Value> = c
        .os
        .iter()
        .map(|o| json!({"id": o.id, "name": o.name, "kinds": o.kinds, "price_per_core_EUR": catalogue::number(o.price_per_core_eur),
                        "billing_plan": {"EUR": catalogue::billing_plan(o.monthly(1), false)}}))
        .collect();
    let software: Vec<Value> = c
        .software
        .iter()
        .map(|s| json!({"id": s.id, "name": s.name, "price": catalogue::number(s.price), "os": s.os}))
        .collect();
    let mut plans = serde_json::Map::new();
    for l in LOCATIONS {
        let list: Vec<Value> = c
            .traffic_plans
            .iter()
            .filter(|t| t.locations.iter().any(|x| x == l))
            .map(|t| json!({"id": t.id, "name": t.name, "price": catalogue::number(t.price), "bandwidth": t.bandwidth}))
            .collect();
        plans.insert((*l).to_owned(), Value::Array(list));
    }
    Ok(
        json!({"result": "OK", "action": "info", "presets": presets, "os": os, "software": software,
           "traffic_plans": plans}),
    )
}

/// The preset groups, in the order presets/groups shows them: id, name, preset kind.
const GROUPS: [(i64, &str, &str); 4] = [
    (1, "Virtual servers", "vm"),
    (2, "Virtual GPU servers", "vgpu"),
    (3, "Dedicated servers", "bm"),
    (4, "GPU servers", "gpu"),
];

/// presets/groups (issue 13 item 6; no token): the presets grouped by kind, each group with
/// its presets' ids and names; `location` narrows to the presets sold there.
async fn groups(ctx: &Ctx) -> Result<Value> {
    let (state, call) = (&ctx.state, &ctx.call);
    let loc = match call.params.get("location") {
        Some(l) => Some(location(Some(l))?),
        None => None,
    };
    let groups: Vec<Value> = GROUPS
        .iter()
        .map(|(id, name, kind)| {
            let presets: Vec<Value> = state
                .catalogue
                .presets
                .iter()
                .filter(|p| p.kind == *kind)
                .filter(|p| loc.as_ref().is_none_or(|l| p.locations.contains(l)))
                .map(|p| json!({"id": p.id, "name": p.name}))
                .collect();
            json!({"id": id, "name": name, "kind": kind, "presets": presets})
        })
        .collect();
    Ok(json!({"result": "OK", "action": "groups", "groups": groups}))
}
