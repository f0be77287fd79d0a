//! `ip.php`: get_ip, get_ptr, update_ptr, set_main (001 "Network operations"). The
//! writes are [`crate::ops::addresses`]' operations.

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
