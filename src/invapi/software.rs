//! `software.php`: list (001 "software/list"): software that installs with an OS, for all
//! instances or one. No token needed. Its `os` tag lists the compatible OS ids.

use serde_json::{json, Value};

use super::catalogue::{location, tags};
use super::dispatch::{actions, Ctx, Module};
use crate::domain::catalogue;
use crate::error::{Error, Result};

/// `software.php`, declared once. No token needed.
pub static MODULE: Module = Module {
    name: "software",
    actions: actions![public_pure "list" => list],
};

/// software/list (001 "software/list"): software for all instances or one (`instance_id`),
/// optionally checked against a location.
async fn list(ctx: &Ctx) -> Result<Value> {
    let (state, call) = (&ctx.state, &ctx.call);
    let preset = super::os::instance(state, call)?;
    let loc = match call.params.get("location") {
        Some(l) => Some(location(Some(l))?),
        None => None,
    };
    if let (Some(p), Some(l)) = (preset, &loc) {
        if !p.locations.contains(l) {
            return Err(Error::invalid(format!(
                "instance {} is not available in {l}",
                p.id
            )));
        }
    }
    let list: Vec<Value> = state
        .catalogue
        .software
        .iter()
        .filter(|s| preset.is_none_or(|p| s.kinds.contains(&p.kind)))
        .map(|s| {
            json!({"id": s.id, "name": s.name, "description": s.description, "price": catalogue::number(s.price),
                   "active": 1, "icon": s.icon, "task": s.task, "tags": tags("software", s.id, &s.tags)})
        })
        .collect();
    Ok(json!({"result": "OK", "action": "list", "software": list}))
}
