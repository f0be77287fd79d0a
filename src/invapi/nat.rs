//! `nat.php`: add_static_nat, remove_static_nat (001 "IPMI access"), clear_static_nat and
//! drop_nat (issue 13 item 6, by the public address): on-demand NAT from a
//! public pool address to the server's IPMI for two hours; polled on nat_callback.php.
//! The operations are [`crate::ops::nat`]'s.

use serde_json::{json, Value};

use super::args::{shorten, Args};
use super::dispatch::{actions, Ctx, Module};
use crate::error::{Error, Result};
use crate::ops::nat;

/// `nat.php`, declared once (001 "nat/add_static_nat", "nat/remove_static_nat").
pub static MODULE: Module = Module {
    name: "nat",
    actions: actions![
        session "add_static_nat" => add,
        session "remove_static_nat" => remove,
        session "clear_static_nat" => clear,
        session "drop_nat" => drop_nat,
    ],
};

/// nat/add_static_nat (001 "nat/add_static_nat"): asking again while a rule is active
/// extends it and reports the same address.
async fn add(ctx: &Ctx) -> Result<Value> {
    let (state, _, caller) = ctx.parts()?;
    let server = ctx.server().await?;
    ctx.pin().await?;
    let key = nat::add(state, caller, &server).await?;
    Ok(json!({"result": "OK", "action": "add_static_nat", "callback": key}))
}

/// nat/remove_static_nat (001 "nat/remove_static_nat"); the record's context reads
/// `remove_staticnat`, as documented.
async fn remove(ctx: &Ctx) -> Result<Value> {
    let (state, _, caller) = ctx.parts()?;
    let server = ctx.server().await?;
    let key = nat::remove(state, caller, &server).await?;
    Ok(json!({"result": "OK", "action": "remove_static_nat", "callback": key}))
}

/// The public NAT address argument `ip`, if given (an IPv4 address).
fn public_ip(ctx: &Ctx) -> Result<Option<String>> {
    match ctx.params().opt_str("ip", 64)?.filter(|ip| !ip.is_empty()) {
        None => Ok(None),
        Some(raw) => raw
            .parse::<std::net::Ipv4Addr>()
            .map(|ip| Some(ip.to_string()))
            .map_err(|_| Error::invalid(format!("invalid ip '{}'", shorten(&raw)))),
    }
}

/// nat/clear_static_nat (`ip`): removes the rule in force on that public address, as
/// remove_static_nat does for its server.
async fn clear(ctx: &Ctx) -> Result<Value> {
    let (state, _, caller) = ctx.parts()?;
    let ip = public_ip(ctx)?.ok_or_else(|| Error::invalid("ip is required"))?;
    let key = nat::remove_on(state, caller, &ip, None).await?;
    Ok(json!({"result": "OK", "action": "clear_static_nat", "callback": key}))
}

/// nat/drop_nat (`id` and/or `ip`): removes the server's rule in force, or the one on the
/// public address; with both, the rule on `ip` must be the server's.
async fn drop_nat(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let ip = public_ip(ctx)?;
    let server = match call.params.opt_int("id")? {
        Some(id) => Some(ctx.server_by_id(id).await?),
        None => None,
    };
    let key = match (&ip, &server) {
        (Some(ip), s) => nat::remove_on(state, caller, ip, s.as_ref()).await?,
        (None, Some(s)) => nat::remove(state, caller, s).await?,
        (None, None) => return Err(Error::invalid("id or ip is required")),
    };
    Ok(json!({"result": "OK", "action": "drop_nat", "callback": key}))
}
