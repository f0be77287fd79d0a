//! `ip.php`: get_ip, get_ptr, update_ptr, set_main (001 "Network operations").

use std::net::Ipv4Addr;

use axum::extract::State;
use axum::response::Response;
use serde_json::{json, Value};

use super::args::{shorten, Args};
use super::{respond, Call};
use crate::domain::rules::valid_hostname;
use crate::error::{Error, Result};
use crate::ops::sessions::{self, Caller};
use crate::ops::{ipam, servers};
use crate::state::AppState;
use crate::store::{self, servers::IpRow, servers::Server};

pub async fn handle(State(state): State<AppState>, call: Call) -> Response {
    let action = call.action().to_owned();
    let result = run(&state, &call, &action).await;
    respond("ip", &action, result)
}

async fn run(state: &AppState, call: &Call, action: &str) -> Result<Value> {
    if !["get_ip", "get_ptr", "update_ptr", "set_main"].contains(&action) {
        return Err(Error::UnknownAction(action.to_owned()));
    }
    let caller = sessions::resolve(state, call.params.get("token"), call.client_ip).await?;
    match action {
        "get_ip" => get_ip(state, call, &caller).await,
        "get_ptr" => get_ptr(state, call, &caller).await,
        "update_ptr" => update_ptr(state, call, &caller).await,
        _ => set_main(state, call, &caller).await,
    }
}

fn parse_ip(raw: &str) -> Result<String> {
    raw.trim()
        .parse::<Ipv4Addr>()
        .map(|ip| ip.to_string())
        .map_err(|_| Error::invalid(format!("invalid ip '{}'", shorten(raw))))
}

/// The server (`id`) and one of its public addresses (`ip`).
async fn server_address(
    state: &AppState,
    call: &Call,
    caller: &Caller,
    name: &str,
) -> Result<(Server, IpRow)> {
    let id = call.params.req_int("id")?;
    let server = servers::owned(state, caller.scope(), id).await?;
    let ip = parse_ip(&call.params.req_str(name)?)?;
    let row = store::servers::ips(&state.db, id)
        .await?
        .into_iter()
        .find(|r| r.address == ip && r.port != "ipmi")
        .ok_or_else(|| Error::not_found(format!("ip {ip} not found on server {id}")))?;
    Ok((server, row))
}

/// ip/get_ip (001 "ip/get_ip"): the subnet facts of one of the caller's addresses, unwrapped.
async fn get_ip(state: &AppState, call: &Call, caller: &Caller) -> Result<Value> {
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

/// The PTR a provider sets by default: the address, dashed, under its domain.
fn default_ptr(ip: &str) -> String {
    format!("{}.static.hostkey-emu.local.", ip.replace('.', "-"))
}

/// ip/get_ptr (001 "ip/get_ptr"): `message` lists the PTR records.
async fn get_ptr(state: &AppState, call: &Call, caller: &Caller) -> Result<Value> {
    let (_, row) = server_address(state, call, caller, "ip").await?;
    let records: Vec<String> = match store::network::ptr(&state.db, &row.address).await? {
        Some(r) => r.lines().map(str::to_owned).collect(),
        None => vec![default_ptr(&row.address)],
    };
    Ok(json!({"result": "OK", "message": records}))
}

/// ip/update_ptr (001 "ip/update_ptr"): several records separated by newlines.
async fn update_ptr(state: &AppState, call: &Call, caller: &Caller) -> Result<Value> {
    let (_, row) = server_address(state, call, caller, "ip").await?;
    let raw = call
        .params
        .opt_str("ptr", 4096)?
        .ok_or_else(|| Error::invalid("ptr is required"))?;
    let mut records = Vec::new();
    for line in raw
        .split(['\n', '\r'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        let name = line.trim_end_matches('.');
        // A PTR points at a fully qualified name; a numeric last label is an address.
        let tld_numeric = name
            .rsplit('.')
            .next()
            .is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()));
        if !valid_hostname(line) || !name.contains('.') || tld_numeric {
            return Err(Error::invalid(format!(
                "invalid PTR record '{}', expected a host name",
                shorten(line)
            )));
        }
        let fqdn = format!("{}.", line.trim_end_matches('.').to_ascii_lowercase());
        if !records.contains(&fqdn) {
            records.push(fqdn);
        }
    }
    if records.is_empty() {
        return Err(Error::invalid("ptr is required"));
    }
    if records.len() > 8 {
        return Err(Error::invalid("at most 8 PTR records per address"));
    }
    store::network::set_ptr(
        &state.db,
        &row.address,
        &records.join("\n"),
        state.clock.now(),
    )
    .await?;
    Ok(json!({"result": "OK", "message": ""}))
}

/// ip/set_main (001 "ip/set_main"): `main` (or `ip`) becomes the only main address.
async fn set_main(state: &AppState, call: &Call, caller: &Caller) -> Result<Value> {
    let name = if call.params.get("main").is_some() {
        "main"
    } else {
        "ip"
    };
    let (server, row) = server_address(state, call, caller, name).await?;
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
    let now = state.clock.now();
    let mut tx = ipam::begin_write(state).await?;
    // An address the abuse team blocked cannot become the server's main address.
    if store::network::admin_blocked(&mut tx, &row.address, now).await? {
        return Err(Error::denied(format!(
            "{} is blocked by the abuse team and cannot be the main address",
            row.address
        )));
    }
    // Checked again inside the transaction: a concurrent remove_ipv4 may have taken it.
    if !store::network::set_main(&mut tx, server.id, &row.address, now).await? {
        return Err(Error::not_found(format!(
            "ip {} not found on server {}",
            row.address, server.id
        )));
    }
    tx.commit().await?;
    Ok(json!({"result": "OK", "message": format!("{} set as main address", row.address)}))
}
