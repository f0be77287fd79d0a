//! `vm.php`: oVirt VMs (issue 13; HOSTKEY's apidocs "vm"; the MCP server's vm tools):
//! get_snapshot, create_snapshot, restore_snapshot, remove_snapshot (async, with oVirt's
//! words in the record), load_stats, get_engine. Bare metal gets a clear refusal.

use serde_json::{json, Value};

use super::args::Args;
use super::dispatch::{actions, Ctx, Module};
use crate::clock::format_datetime;
use crate::error::{Error, Result};
use crate::ops::vm;
use crate::sim::ovirt::Engine;

/// `vm.php`, declared once.
pub static MODULE: Module = Module {
    name: "vm",
    actions: actions![
        session "get_snapshot" => get_snapshot,
        session "create_snapshot" => create_snapshot,
        session "restore_snapshot" => restore_snapshot,
        session "remove_snapshot" => remove_snapshot,
        session "load_stats" => load_stats,
        session "get_engine" => get_engine,
    ],
};

/// The snapshot name an action names (`name`, or `snapshot`).
fn name(ctx: &Ctx) -> Result<String> {
    let p = ctx.params();
    p.get("name")
        .or(p.get("snapshot"))
        .map(|n| n.trim().to_owned())
        .ok_or_else(|| Error::invalid("name is required"))
}

/// An async answer (apidocs "vm/create_snapshot").
fn queued(action: &str, key: String) -> Value {
    json!({"result": "OK", "module": "vm", "action": action, "callback": key})
}

/// vm/get_snapshot (`id`; apidocs "vm/get_snapshot"): the VM's snapshots, oldest first,
/// and its restore settings.
async fn get_snapshot(ctx: &Ctx) -> Result<Value> {
    let server = ctx.server().await?;
    let kind = ctx.params().opt_str("type", 32)?;
    let list = vm::snapshots(&ctx.state, &server).await?;
    let shown: Vec<Value> = list
        .iter()
        .filter(|s| {
            kind.as_deref()
                .is_none_or(|k| k.is_empty() || k == s.r#type)
        })
        .map(|s| {
            json!({
                "id": s.id, "name": s.name, "snapshot_id": s.uuid, "type": s.r#type,
                "status": s.status, "date": format_datetime(s.created_at),
            })
        })
        .collect();
    Ok(json!({
        "result": "OK", "module": "vm", "action": "get_snapshot", "id": server.id,
        "snapshots": shown,
        "settings": {"auto_restore": 0, "num_rotation": 0, "max_snapshots": vm::MAX_SNAPSHOTS},
    }))
}

/// vm/create_snapshot (`id`, `name`, `type`; apidocs "vm/create_snapshot"): async.
async fn create_snapshot(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let server = ctx.server().await?;
    let name = name(ctx)?;
    let kind = call
        .params
        .opt_str("type", 32)?
        .filter(|k| !k.is_empty())
        .unwrap_or_else(|| "snapshot".into());
    if kind != "snapshot" {
        return Err(Error::invalid(format!(
            "invalid type '{}', expected snapshot",
            super::args::shorten(&kind)
        )));
    }
    let key = vm::create(state, caller, &server, &name, &kind).await?;
    Ok(queued("create_snapshot", key))
}

/// vm/restore_snapshot (`id`, `name`; apidocs "vm/restore_snapshot"): async; the VM must
/// be off.
async fn restore_snapshot(ctx: &Ctx) -> Result<Value> {
    let (state, _, caller) = ctx.parts()?;
    let server = ctx.server().await?;
    let key = vm::restore(state, caller, &server, &name(ctx)?).await?;
    Ok(queued("restore_snapshot", key))
}

/// vm/remove_snapshot (`id`, `name`; apidocs "vm/remove_snapshot"): async.
async fn remove_snapshot(ctx: &Ctx) -> Result<Value> {
    let (state, _, caller) = ctx.parts()?;
    let server = ctx.server().await?;
    let key = vm::remove(state, caller, &server, &name(ctx)?).await?;
    Ok(queued("remove_snapshot", key))
}

/// vm/load_stats (`id`; apidocs "vm/load_stats"): CPU, memory, disk and network of the
/// last 24 hours, every 5 minutes, oldest first; `current` is the latest sample.
async fn load_stats(ctx: &Ctx) -> Result<Value> {
    let server = ctx.server().await?;
    let samples = vm::load_stats(&ctx.state, &server).await?;
    let row = |l: &crate::sim::ovirt::Load| {
        json!({
            "time": format_datetime(l.at), "timestamp": l.at, "cpu": l.cpu, "memory": l.memory,
            "disk_read": l.disk_read, "disk_write": l.disk_write,
            "net_in": l.net_in.round(), "net_out": l.net_out.round(),
        })
    };
    let current = match (server.power.as_str(), samples.last()) {
        ("off", _) | (_, None) => {
            json!({"cpu": 0, "memory": 0, "disk_read": 0, "disk_write": 0, "net_in": 0, "net_out": 0})
        }
        (_, Some(l)) => row(l),
    };
    Ok(json!({
        "result": "OK", "module": "vm", "action": "load_stats", "id": server.id,
        "state": if server.power == "off" { "down" } else { "up" },
        "units": {"cpu": "%", "memory": "%", "disk_read": "B/s", "disk_write": "B/s", "net_in": "bit/s", "net_out": "bit/s"},
        "current": current,
        "stats": samples.iter().map(row).collect::<Vec<_>>(),
    }))
}

fn engine_json(location: &str, e: &Engine) -> Value {
    json!({
        "name": e.name, "url": e.url, "version": crate::sim::ovirt::VERSION,
        "cluster": e.cluster, "datacenter": e.datacenter, "location": location,
    })
}

/// vm/get_engine (`id` optional; the MCP server sends none): the oVirt engine and cluster
/// of the VM's location, or of every location.
async fn get_engine(ctx: &Ctx) -> Result<Value> {
    ctx.principal()?;
    match ctx.params().opt_int("id")? {
        Some(id) => {
            let server = ctx.server_by_id(id).await?;
            let (location, e) = vm::engine_of(&ctx.state, &server).await?;
            Ok(json!({
                "result": "OK", "module": "vm", "action": "get_engine", "id": server.id,
                "engine": engine_json(&location, &e),
            }))
        }
        None => {
            let all = vm::engines(&ctx.state).await?;
            Ok(json!({
                "result": "OK", "module": "vm", "action": "get_engine",
                "engines": all.iter().map(|(l, e)| engine_json(l, e)).collect::<Vec<_>>(),
            }))
        }
    }
}
