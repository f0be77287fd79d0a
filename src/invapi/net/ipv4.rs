//! net/add_ipv4, net/remove_ipv4, net/show_ipv4_free (000 "add_ipv4", "remove_ipv4",
//! "show_ipv4_free"): a server's addresses from the location's pools. The operations are
//! [`crate::ops::addresses`]'.

use std::net::Ipv4Addr;

use serde_json::{json, Value};

use super::super::args::{shorten, Args};
use super::super::dispatch::Ctx;
use super::{fresh_period, pool_choice, port_ref};
use crate::error::{Error, Result};
use crate::http::php_form::Params;
use crate::ops::addresses::{self, check_amount, AddIpv4, FreeQuery, Removal};
use crate::ops::ports;
use crate::store::servers::Server;

/// An address given to add_ipv4 or remove_ipv4 (`ip`, `ips[]`).
fn ipv4(raw: &str) -> Result<Ipv4Addr> {
    raw.trim()
        .parse()
        .map_err(|_| Error::invalid(format!("invalid ip '{}'", shorten(raw))))
}

/// add_ipv4's arguments: `ips[]` and `ip` (each once), `amount`, `fresh_period` and the
/// pools (`tag`, `allow_tech_networks`, `vlan`).
fn add_args(params: &Params, server: &Server) -> Result<AddIpv4> {
    let mut wanted: Vec<Ipv4Addr> = Vec::new();
    for raw in params
        .list("ips")
        .into_iter()
        .chain(params.get("ip").map(str::to_owned))
    {
        let ip = ipv4(&raw)?;
        if !wanted.contains(&ip) {
            wanted.push(ip);
        }
    }
    let amount = check_amount(wanted.len(), params.opt_int("amount")?)?;
    Ok(AddIpv4 {
        wanted,
        amount,
        fresh_period: fresh_period(params)?,
        pools: pool_choice(params, server)?,
    })
}

/// net/add_ipv4 (000 "add_ipv4"): `amount` new addresses, or the given `ip` / `ips[]`.
pub async fn add_ipv4(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let server = &ctx.server().await?;
    let iface = ports::find(state, server, &port_ref(&call.params)?).await?;
    let args = add_args(&call.params, server)?;
    let added = addresses::add_ipv4(state, caller, server, &iface, &args).await?;
    let ips: Vec<Value> = added
        .ips
        .iter()
        .map(|a| json!({"IP": a.address, "vlan": a.vlan}))
        .collect();
    Ok(
        json!({"result": "OK", "action": "add_ipv4", "id": server.id, "ips": ips, "keys": added.keys}),
    )
}

/// net/remove_ipv4 (000 "remove_ipv4"): one address, or every extra address with
/// remove_all=1. The main address goes only when it is the last one.
pub async fn remove_ipv4(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let server = &ctx.server().await?;
    let remove_all = call.params.opt_bool("remove_all")?.unwrap_or(false);
    let what = match call.params.get("ip") {
        Some(raw) => Removal::One(ipv4(raw)?),
        None if remove_all => Removal::AllExtra,
        None => return Err(Error::invalid("No IP specified")),
    };
    let removed = addresses::remove_ipv4(state, caller, server, what).await?;
    let ips: Vec<Value> = removed
        .ips
        .iter()
        .map(|a| json!({"ip": a.address, "vlan": a.vlan}))
        .collect();
    let mut out = json!({"result": "OK", "action": "remove_ipv4", "id": server.id, "ips": ips, "keys": removed.keys});
    if !removed.kept.is_empty() {
        // Addresses under an abuse block cannot be released by the customer.
        out["kept"] = json!(removed.kept);
    }
    Ok(out)
}

/// net/show_ipv4_free (000 "show_ipv4_free"): free addresses of the server's pools.
pub async fn show_ipv4_free(ctx: &Ctx) -> Result<Value> {
    let (state, call, _) = ctx.parts()?;
    let server = &ctx.server().await?;
    let iface = ports::find(state, server, &port_ref(&call.params)?).await?;
    let query = FreeQuery {
        fresh_period: fresh_period(&call.params)?,
        filter: call.params.get("ip").map(|s| s.trim().to_owned()),
        pools: pool_choice(&call.params, server)?,
    };
    let free = addresses::free_addresses(state, server, &iface, &query).await?;
    // The location code, as ip/get_ip and eq/list show it.
    let loc_name = &server.location;
    let ips: Vec<Value> = free
        .listed
        .iter()
        .map(|f| {
            json!({"ip": f.address.to_string(), "vlan": f.subnet.vlan,
                   "subnet": format!("{}/{}", f.subnet.network, f.subnet.cidr), "location": loc_name, "status": "free"})
        })
        .collect();
    let subnet_rows: Vec<Value> = free
        .pools
        .iter()
        .map(|p| {
            let s = &p.subnet;
            json!({"network": s.network, "mask": s.cidr, "broadcast": p.broadcast,
                   // 000: a /24 has a total of 254, the host addresses (the gateway is one of them).
                   "vlan": s.vlan, "total": p.hosts, "free": p.free})
        })
        .collect();
    let total_ips = ips.len();
    Ok(json!({
        "result": "OK", "action": "show_ipv4_free", "id": server.id, "ips": ips, "subnets": subnet_rows,
        "res": {"total_found": free.total_found, "filtered": free.filtered},
        "total_ips": total_ips, "fresh": query.fresh_period,
    }))
}
