//! `ip.php`: get_ip, get_ptr, update_ptr, set_main (001 "Network operations"). The
//! writes are [`crate::ops::addresses`]' operations. list_free_ip and get_traffic (issue
//! 13; the role's permissions name them) read the pools and the traffic source.

use std::net::Ipv4Addr;

use serde_json::{json, Value};

use super::args::{shorten, Args};
use super::dispatch::{actions, Ctx, Module};
use crate::error::{Error, Result};
use crate::ops::addresses::default_ptr;
use crate::ops::{addresses, ipam, servers};
use crate::store::{self, servers::IpRow, servers::Server};

/// `ip.php`, declared once (001 "Network operations").
pub static MODULE: Module = Module {
    name: "ip",
    actions: actions![
        session "get_ip" => get_ip,
        session "get_ptr" => get_ptr,
        session "update_ptr" => update_ptr,
        session "set_main" => set_main,
        session "get_client_ip" => get_client_ip,
        session "list_free_ip" => list_free_ip,
        session "get_traffic" => get_traffic,
    ],
};

fn parse_ip(raw: &str) -> Result<String> {
    parse_ipv4(raw).map(|ip| ip.to_string())
}

/// An IPv4 address argument.
fn parse_ipv4(raw: &str) -> Result<Ipv4Addr> {
    raw.trim()
        .parse::<Ipv4Addr>()
        .map_err(|_| Error::invalid(format!("invalid ip '{}'", shorten(raw))))
}

/// The server (`id`) and one of its public addresses (`ip`).
async fn server_address(ctx: &Ctx, name: &str) -> Result<(Server, IpRow)> {
    let server = ctx.server().await?;
    let ip = parse_ipv4(&ctx.params().req_str(name)?)?;
    let row = addresses::own_address(&ctx.state, &server, ip).await?;
    Ok((server, row))
}

/// ip/get_ip (001 "ip/get_ip"): the subnet facts of one of the caller's addresses, unwrapped.
async fn get_ip(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let ip = parse_ip(&call.params.req_str("ip")?)?;
    servers::holding(state, caller.scope(), &ip)
        .await?
        .ok_or_else(|| Error::not_found(format!("ip {ip} not found")))?;
    let subnet = store::network::subnet_of(&state.db, &ip)
        .await?
        .ok_or_else(|| Error::internal(format!("{ip} is in no subnet")))?;
    let net = ipam::net_of(&subnet).ok_or_else(|| Error::internal("bad subnet"))?;
    Ok(json!({
        "network": net.network().to_string(),
        "broadcast": net.broadcast().to_string(),
        "netmask": net.netmask().to_string(),
        "gateway": subnet.gateway,
        "vlan": subnet.vlan,
        "subnet_id": subnet.id,
        "cidr": subnet.cidr,
        "location": subnet.location,
        "ip": ip,
    }))
}

/// ip/get_ptr (001 "ip/get_ptr"): `message` lists the PTR records.
async fn get_ptr(ctx: &Ctx) -> Result<Value> {
    let state = &ctx.state;
    let (_, row) = server_address(ctx, "ip").await?;
    let records: Vec<String> = match store::network::ptr(&state.db, &row.address).await? {
        Some(r) => r.lines().map(str::to_owned).collect(),
        None => vec![default_ptr(&row.address)],
    };
    Ok(json!({"result": "OK", "message": records}))
}

/// ip/update_ptr (001 "ip/update_ptr"): several records separated by newlines.
async fn update_ptr(ctx: &Ctx) -> Result<Value> {
    let (state, call, _) = ctx.parts()?;
    let (_, row) = server_address(ctx, "ip").await?;
    let raw = call
        .params
        .opt_str("ptr", 4096)?
        .ok_or_else(|| Error::invalid("ptr is required"))?;
    addresses::update_ptr(state, &row, &raw).await?;
    Ok(json!({"result": "OK", "message": ""}))
}

/// ip/set_main (001 "ip/set_main"): `main` (or `ip`) becomes the only main address.
async fn set_main(ctx: &Ctx) -> Result<Value> {
    let (state, call, _) = ctx.parts()?;
    let name = if call.params.get("main").is_some() {
        "main"
    } else {
        "ip"
    };
    let (server, row) = server_address(ctx, name).await?;
    if name == "main" {
        // 001 sends the address twice (ip and main); two different ones are a mistake.
        if let Some(ip) = call.params.get("ip").map(str::trim) {
            if ip != row.address {
                return Err(Error::invalid(format!(
                    "ip {} and main {} differ, give the address to make main",
                    shorten(ip),
                    row.address
                )));
            }
        }
    }
    addresses::set_main(state, &server, &row.address).await?;
    Ok(json!({"result": "OK", "message": format!("{} set as main address", row.address)}))
}

/// ip/get_client_ip (issue 13 item 6): the caller's address as the emulator sees it (the
/// peer of the connection; an IPv4 client over IPv6 shows as IPv4).
async fn get_client_ip(ctx: &Ctx) -> Result<Value> {
    let ip = match ctx.call.client_ip {
        std::net::IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or(std::net::IpAddr::V6(v6), std::net::IpAddr::V4),
        v4 => v4,
    };
    Ok(json!({"result": "OK", "action": "get_client_ip", "ip": ip.to_string()}))
}

/// ip/list_free_ip (`id`; `ip` filters by a part of the address): the free addresses of
/// the pools the server's main port takes addresses from, as net/show_ipv4_free finds them.
async fn list_free_ip(ctx: &Ctx) -> Result<Value> {
    use crate::ops::addresses::{FreeQuery, PoolChoice};
    use crate::ops::ports::{self, PortRef};
    let (state, call, _) = ctx.parts()?;
    let server = ctx.server().await?;
    let iface = ports::find(
        state,
        &server,
        &PortRef {
            name: None,
            id: None,
        },
    )
    .await?;
    let query = FreeQuery {
        fresh_period: 0,
        filter: call.params.get("ip").map(|s| s.trim().to_owned()),
        pools: PoolChoice {
            tag: None,
            tech_networks: false,
            vlan: None,
        },
    };
    let free = addresses::free_addresses(state, &server, &iface, &query).await?;
    let ips: Vec<Value> = free
        .listed
        .iter()
        .map(|f| {
            json!({
                "ip": f.address.to_string(), "subnet": format!("{}/{}", f.subnet.network, f.subnet.cidr),
                "gateway": f.subnet.gateway, "vlan": f.subnet.vlan, "location": server.location,
            })
        })
        .collect();
    Ok(json!({
        "result": "OK", "module": "ip", "action": "list_free_ip", "id": server.id,
        "ips": ips, "total": free.total_found,
    }))
}

/// ip/get_traffic (`id`, or `ip` alone: the server holding it; `ip` with `id`: one of its
/// addresses): the current traffic period's totals (eq/show's counters for the main
/// address, the secondary ports' share otherwise) and the last 24 hours hour by hour, from
/// the traffic graphs' deterministic source.
async fn get_traffic(ctx: &Ctx) -> Result<Value> {
    use crate::sim::traffic;
    let (state, call, caller) = ctx.parts()?;
    let server = match (call.params.opt_int("id")?, call.params.get("ip")) {
        (Some(_), _) => ctx.server().await?,
        (None, Some(raw)) => {
            let ip = parse_ip(raw)?;
            let id = servers::holding(state, caller.scope(), &ip)
                .await?
                .ok_or_else(|| Error::not_found(format!("ip {ip} not found")))?;
            ctx.server_by_id(id).await?
        }
        (None, None) => return Err(Error::invalid("id or ip is required")),
    };
    let main = store::servers::main_ip(&state.db, server.id).await?;
    let ip = match call.params.get("ip") {
        Some(raw) => {
            let ip = parse_ipv4(raw)?;
            addresses::own_address(state, &server, ip).await?.address
        }
        None => main.clone(),
    };
    let is_main = ip == main;
    let now = state.clock.now();
    let start = traffic::period_start(&server, now);
    let share = if is_main { 1.0 } else { 0.03 };
    let (avg_in, avg_out) = traffic::average_bps(&server, is_main, now);
    let ifaces = store::servers::interfaces(&state.db, server.id).await?;
    let iface_id = ifaces
        .iter()
        .find(|i| i.is_main == 1)
        .or(ifaces.first())
        .map_or(0, |i| i.id);
    let seed = (server.id as u64) << 8 | iface_id as u64 & 0xff;
    let hours: Vec<Value> = traffic::series(seed, now - 86_400, now, 3_600, avg_in, avg_out)
        .iter()
        .map(|s| {
            json!({
                "time": crate::clock::format_datetime(s.at),
                "bps_in": s.bps_in.round(), "bps_out": s.bps_out.round(),
            })
        })
        .collect();
    let gb = |x: f64| (x * share * 1000.0).round() / 1000.0;
    Ok(json!({
        "result": "OK", "module": "ip", "action": "get_traffic", "id": server.id, "ip": ip,
        "period": {
            "from": crate::clock::format_datetime(start),
            "to": crate::clock::format_datetime(now),
        },
        "traffic": {
            "in_gb": gb(server.traffic_in_gb), "out_gb": gb(server.traffic_out_gb),
            "limit_gb": server.limit_traffic,
        },
        "hourly": hours,
    }))
}
