//! `net.php`: get_status, port_off, port_on, block_ip, unblock_ip (001 "Network
//! operations"), add_ipv4, remove_ipv4, show_ipv4_free (000), show_cacti (001: a PNG).

use std::net::Ipv4Addr;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::args::{shorten, Args};
use super::{respond, Call};
use crate::chart;
use crate::clock::format_datetime;
use crate::error::{Error, Result};
use crate::ops::sessions::{self, Caller};
use crate::ops::{ipam, pin, servers};
use crate::queue::{self, ip_context, NewTask};
use crate::sim::traffic;
use crate::state::AppState;
use crate::store::{self, servers::Interface, servers::Server};

pub async fn handle(State(state): State<AppState>, call: Call) -> Response {
    let action = call.action().to_owned();
    if action == "show_cacti" {
        return match show_cacti(&state, &call).await {
            Ok(png) => ([(header::CONTENT_TYPE, "image/png")], png).into_response(),
            Err(Cacti::NoGraph { id, port }) => {
                // 001's failure for a port without a graph carries the action and the
                // request's context next to the error (a superset of the one shape).
                let mut body = super::error_body(
                    "net",
                    "show_cacti",
                    Error::invalid(format!(
                        "failed to load img for server {id} port {port}: failed to find cacti id for this server interface"
                    )),
                );
                body["action"] = json!("show_cacti");
                body["context"] = json!({"id": id, "port": port});
                axum::Json(body).into_response()
            }
            Err(Cacti::Api(e)) => respond("net", &action, Err(e)),
        };
    }
    let result = run(&state, &call, &action).await;
    respond("net", &action, result)
}

async fn run(state: &AppState, call: &Call, action: &str) -> Result<Value> {
    const KNOWN: &[&str] = &[
        "get_status",
        "port_off",
        "port_on",
        "block_ip",
        "unblock_ip",
        "add_ipv4",
        "remove_ipv4",
        "show_ipv4_free",
    ];
    if !KNOWN.contains(&action) {
        return Err(Error::UnknownAction(action.to_owned()));
    }
    let caller = sessions::resolve(state, call.params.get("token"), call.client_ip).await?;
    let id = call.params.req_int("id")?;
    let server = servers::owned(state, caller.scope(), id).await?;
    match action {
        "get_status" => get_status(state, call, &caller, &server).await,
        "port_off" => port_switch(state, call, &caller, &server, false).await,
        "port_on" => port_switch(state, call, &caller, &server, true).await,
        "block_ip" => block_ip(state, call, &caller, &server).await,
        "unblock_ip" => unblock_ip(state, call, &caller, &server).await,
        "add_ipv4" => add_ipv4(state, call, &caller, &server).await,
        "remove_ipv4" => remove_ipv4(state, call, &caller, &server).await,
        _ => show_ipv4_free(state, call, &server).await,
    }
}

/// The interface named by `port` (eth0, eth1...) or `port_id`, else the main one.
async fn port_of(state: &AppState, call: &Call, server: &Server) -> Result<Interface> {
    let ifaces = store::servers::interfaces(&state.db, server.id).await?;
    let port_id = call.params.opt_int("port_id")?;
    let wanted = call.params.get("port").map(|p| p.trim().to_owned());
    let found = match (&wanted, port_id) {
        (Some(p), _) => ifaces.iter().find(|i| &i.r#type == p && i.r#type != "ipmi"),
        (None, Some(pid)) => ifaces.iter().find(|i| i.id == pid && i.r#type != "ipmi"),
        (None, None) => ifaces
            .iter()
            .find(|i| i.is_main == 1)
            .or(ifaces.iter().find(|i| i.r#type != "ipmi")),
    };
    found.cloned().ok_or_else(|| {
        let p = wanted
            .or(port_id.map(|x| x.to_string()))
            .unwrap_or_default();
        Error::invalid(format!(
            "invalid request for server {} with port {}",
            server.id,
            shorten(&p)
        ))
    })
}

/// The VLAN of a port: that of its addresses, else the location's first public pool.
async fn vlan_of(state: &AppState, server: &Server, port: &str) -> Result<i64> {
    let ips = store::servers::ips(&state.db, server.id).await?;
    if let Some(ip) = ips.iter().find(|i| i.port == port) {
        return Ok(ip.vlan);
    }
    let mut conn = state.db.acquire().await?;
    let subnets = store::network::subnets_in(
        &mut conn,
        &server.location,
        "public",
        Some(server.pool_tag()),
        None,
    )
    .await?;
    drop(conn);
    Ok(subnets.first().map(|s| s.vlan).unwrap_or(1))
}

async fn ipmi_ip(state: &AppState, server: &Server) -> Result<String> {
    let ips = store::servers::ips(&state.db, server.id).await?;
    Ok(ips
        .iter()
        .find(|i| i.port == "ipmi")
        .map(|i| i.address.clone())
        .unwrap_or_else(|| "0.0.0.0".into()))
}

async fn port_context(
    state: &AppState,
    action: &str,
    server: &Server,
    iface: &Interface,
) -> Result<Value> {
    let mut ctx = queue::server_context(action, server.id, &server.location);
    ctx["ip_ipmi"] = json!(ipmi_ip(state, server).await?);
    ctx["interface_id"] = json!(iface.r#type);
    ctx["port"] = json!(iface.r#type);
    Ok(ctx)
}

fn task<'a>(
    caller: &Caller,
    server: &Server,
    action: &'a str,
    kind: &'a str,
    context: Value,
    payload: Value,
    ms: i64,
) -> NewTask<'a> {
    NewTask {
        module: "eq",
        account_id: Some(caller.account.id),
        server_id: server.id,
        action,
        context,
        kind,
        payload,
        duration_ms: ms,
    }
}

/// net/get_status (001 "net/get_status"): the switch (or oVirt) view of a port, async.
async fn get_status(
    state: &AppState,
    call: &Call,
    caller: &Caller,
    server: &Server,
) -> Result<Value> {
    pin::require(state, caller, call.params.get("pin")).await?;
    let iface = port_of(state, call, server).await?;
    let vlan = vlan_of(state, server, &iface.r#type).await?;
    let ctx = port_context(state, "get_status", server, &iface).await?;
    let payload = json!({"iface_id": iface.id, "vlan": vlan});
    let key = queue::submit(
        state,
        task(
            caller,
            server,
            "get_status",
            "port_status",
            ctx,
            payload,
            3_000,
        ),
    )
    .await?;
    Ok(json!({"result": "OK", "action": "get_status", "callback": key}))
}

/// net/port_off and net/port_on (001, 000): the customer's own block; an administrative
/// block can only be lifted by support.
async fn port_switch(
    state: &AppState,
    call: &Call,
    caller: &Caller,
    server: &Server,
    on: bool,
) -> Result<Value> {
    let action = if on { "port_on" } else { "port_off" };
    pin::require(state, caller, call.params.get("pin")).await?;
    let iface = port_of(state, call, server).await?;
    let (blocked_by, _) = store::network::port_block(&state.db, iface.id).await?;
    if blocked_by.as_deref() == Some("admin") {
        return Err(Error::denied(
            "admin ban could not be lifted this way, please contact support or abuse team.",
        ));
    }
    let reason = call
        .params
        .opt_str("reason", 255)?
        .unwrap_or_else(|| "blocked by customer".into());
    let ctx = port_context(state, action, server, &iface).await?;
    let payload = json!({"iface_id": iface.id, "on": on, "reason": reason, "port": iface.r#type});
    let key = queue::submit(
        state,
        task(caller, server, action, "port", ctx, payload, 8_000),
    )
    .await?;
    Ok(json!({"result": "OK", "action": action, "callback": key}))
}

/// An address of the server (not its IPMI address).
async fn own_address(state: &AppState, call: &Call, server: &Server, name: &str) -> Result<String> {
    let ip = call.params.req_str(name)?;
    let parsed: Ipv4Addr = ip
        .parse()
        .map_err(|_| Error::invalid(format!("invalid ip '{}'", shorten(&ip))))?;
    let ips = store::servers::ips(&state.db, server.id).await?;
    let addr = parsed.to_string();
    if !ips.iter().any(|i| i.address == addr && i.port != "ipmi") {
        return Err(Error::not_found(format!(
            "ip {addr} not found on server {}",
            server.id
        )));
    }
    Ok(addr)
}

/// net/block_ip (001 "net/block_ip"): blocks an address of the server, optionally for four hours.
async fn block_ip(
    state: &AppState,
    call: &Call,
    caller: &Caller,
    server: &Server,
) -> Result<Value> {
    pin::require(state, caller, call.params.get("pin")).await?;
    let ip = own_address(state, call, server, "ip").await?;
    let description = call.params.opt_str("description", 255)?.unwrap_or_default();
    let four_hours = call.params.opt_bool("four_hours")?.unwrap_or(false);
    if let Some(b) = store::network::active_block(&state.db, &ip, state.clock.now()).await? {
        return Err(Error::Conflict(format!(
            "{ip} is already blocked since {}",
            format_datetime(b.created_at)
        )));
    }
    let payload =
        json!({"address": ip, "block": true, "description": description, "four_hours": four_hours});
    let key = queue::submit(
        state,
        task(
            caller,
            server,
            "block_ip",
            "ip_block",
            ip_context("block_ip", server.id, &ip),
            payload,
            5_000,
        ),
    )
    .await?;
    Ok(json!({"result": "OK", "action": "block_ip", "callback": key}))
}

/// net/unblock_ip (001 "net/unblock_ip"): lifts the customer's own blocks only.
async fn unblock_ip(
    state: &AppState,
    call: &Call,
    caller: &Caller,
    server: &Server,
) -> Result<Value> {
    pin::require(state, caller, call.params.get("pin")).await?;
    let ip = own_address(state, call, server, "ip").await?;
    let block = store::network::active_block(&state.db, &ip, state.clock.now())
        .await?
        .ok_or_else(|| Error::invalid(format!("{ip} is not blocked")))?;
    if block.kind != "customer" {
        return Err(Error::denied(format!(
            "permission denied to remove block for {ip}. Please contact support."
        )));
    }
    let payload = json!({"address": ip, "block": false});
    let ctx = ip_context("unblock_ip", server.id, &ip);
    let key = queue::submit(
        state,
        task(
            caller,
            server,
            "unblock_ip",
            "ip_block",
            ctx,
            payload,
            5_000,
        ),
    )
    .await?;
    Ok(json!({"result": "OK", "action": "unblock_ip", "callback": key}))
}

/// The tag of the public pools a request may use: the server's own (`ovirt` for a VM, `bm`
/// for bare metal). `tag` may name it; technical networks are for administrators.
fn pool_tag(call: &Call, server: &Server) -> Result<&'static str> {
    if call.params.opt_bool("allow_tech_networks")? == Some(true) {
        return Err(Error::denied(
            "permission denied, allow_tech_networks is for administrators",
        ));
    }
    let own = server.pool_tag();
    let asked = call
        .params
        .get("tag")
        .map(|t| t.trim().to_ascii_lowercase());
    match asked.as_deref() {
        None => Ok(own),
        Some(t) if t == own => Ok(own),
        Some("ipmi") => Err(Error::denied(
            "permission denied, technical networks (ipmi) are for administrators",
        )),
        Some(t @ ("ovirt" | "bm")) => Err(Error::invalid(format!(
            "{t} pools are not available to server {}, it takes addresses from {own} pools",
            server.id
        ))),
        Some(other) => Err(Error::invalid(format!(
            "invalid tag '{}', expected ovirt, bm or ipmi",
            shorten(other)
        ))),
    }
}

/// The pools to allocate from: the port's own VLAN first, then the location's others
/// (or exactly the VLAN asked for).
async fn pools(
    conn: &mut sqlx::SqliteConnection,
    call: &Call,
    server: &Server,
    own_vlan: i64,
) -> Result<Vec<store::servers::Subnet>> {
    let tag = pool_tag(call, server)?;
    let vlan = call.params.opt_int("vlan")?;
    let mut subnets =
        store::network::subnets_in(conn, &server.location, "public", Some(tag), vlan).await?;
    if subnets.is_empty() {
        return Err(Error::invalid(match vlan {
            Some(v) => format!("no {tag} pool with vlan {v} in {}", server.location),
            None => format!("no {tag} pool in {}", server.location),
        }));
    }
    if vlan.is_none() {
        subnets.sort_by_key(|s| s.vlan != own_vlan);
    }
    Ok(subnets)
}

fn fresh_period(call: &Call) -> Result<i64> {
    let f = call.params.opt_int("fresh_period")?.unwrap_or(0);
    if !(-1..=31_536_000).contains(&f) {
        return Err(Error::invalid(
            "fresh_period must be between -1 and 31536000 seconds",
        ));
    }
    Ok(f)
}

/// net/add_ipv4 (000 "add_ipv4"): `amount` new addresses, or the given `ip` / `ips[]`.
async fn add_ipv4(
    state: &AppState,
    call: &Call,
    caller: &Caller,
    server: &Server,
) -> Result<Value> {
    let iface = port_of(state, call, server).await?;
    let mut wanted: Vec<Ipv4Addr> = Vec::new();
    for raw in call
        .params
        .list("ips")
        .into_iter()
        .chain(call.params.get("ip").map(str::to_owned))
    {
        let ip = raw
            .trim()
            .parse()
            .map_err(|_| Error::invalid(format!("invalid ip '{}'", shorten(&raw))))?;
        if !wanted.contains(&ip) {
            wanted.push(ip);
        }
    }
    let amount = call.params.opt_int("amount")?;
    if wanted.is_empty() && amount.is_none() {
        return Err(Error::invalid("invalid request, give amount, ip or ips[]"));
    }
    if wanted.is_empty() && amount.is_some_and(|a| a < 1) {
        return Err(Error::invalid("amount must be at least 1"));
    }
    let amount = amount.unwrap_or(0);
    if !(0..=32).contains(&amount) || wanted.len() > 32 {
        return Err(Error::invalid("at most 32 addresses per request"));
    }
    let fresh = fresh_period(call)?;
    let now = state.clock.now();
    // Everything read outside the transaction is read before it: it holds a connection.
    let own_vlan = vlan_of(state, server, &iface.r#type).await?;
    let mut tx = ipam::begin_write(state).await?;
    let subnets = pools(&mut tx, call, server, own_vlan).await?;
    let mut got = ipam::allocate_exact(
        &mut tx,
        &subnets,
        &wanted,
        server.id,
        &iface.r#type,
        fresh,
        now,
    )
    .await?;
    got.extend(
        ipam::allocate(
            &mut tx,
            &subnets,
            server.id,
            &iface.r#type,
            amount as usize,
            fresh,
            now,
        )
        .await?,
    );
    let has_main: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM ips WHERE server_id = ? AND port <> 'ipmi' AND main_ip = 1",
    )
    .bind(server.id)
    .fetch_one(&mut *tx)
    .await?;
    if has_main == 0 {
        if let Some((first, _)) = got.first() {
            store::network::set_main(&mut tx, server.id, first, now).await?;
        }
    }
    let mut keys = Vec::new();
    for (address, vlan) in &got {
        let ctx = ip_context("add_ipv4", server.id, address);
        let payload = json!({"address": address, "op": "add", "port": iface.r#type, "vlan": vlan});
        keys.push(
            queue::submit_in(
                state,
                &mut tx,
                task(caller, server, "add_ipv4", "ip_config", ctx, payload, 4_000),
            )
            .await?,
        );
    }
    tx.commit().await?;
    state.wake.notify_one();
    let ips: Vec<Value> = got
        .iter()
        .map(|(a, v)| json!({"IP": a, "vlan": v}))
        .collect();
    Ok(json!({"result": "OK", "action": "add_ipv4", "id": server.id, "ips": ips, "keys": keys}))
}

/// net/remove_ipv4 (000 "remove_ipv4"): one address, or every extra address with remove_all=1.
/// The main address goes only when it is the last one. Everything is read and checked
/// inside the write transaction, so concurrent removals and set_main calls cannot act on
/// an address that has meanwhile moved to another server or lost its main flag.
async fn remove_ipv4(
    state: &AppState,
    call: &Call,
    caller: &Caller,
    server: &Server,
) -> Result<Value> {
    let remove_all = call.params.opt_bool("remove_all")?.unwrap_or(false);
    let wanted: Option<Ipv4Addr> = match call.params.get("ip") {
        Some(raw) => Some(
            raw.trim()
                .parse()
                .map_err(|_| Error::invalid(format!("invalid ip '{}'", shorten(raw))))?,
        ),
        None if remove_all => None,
        None => return Err(Error::invalid("No IP specified")),
    };
    let now = state.clock.now();
    let mut tx = ipam::begin_write(state).await?;
    let ips = store::servers::ips(&mut *tx, server.id).await?;
    let public: Vec<_> = ips.into_iter().filter(|i| i.port != "ipmi").collect();
    let mut targets = Vec::new();
    let mut kept = Vec::new();
    if let Some(ip) = wanted {
        let addr = ip.to_string();
        let row = public.iter().find(|i| i.address == addr).ok_or_else(|| {
            Error::not_found(format!("ip {addr} not found on server {}", server.id))
        })?;
        if row.main_ip == 1 && public.len() > 1 {
            return Err(Error::Conflict(format!(
                "{addr} is the main address of server {}; make another address main with ip/set_main first",
                server.id
            )));
        }
        if store::network::admin_blocked(&mut tx, &addr, now).await? {
            return Err(Error::denied(format!(
                "{addr} is blocked by the abuse team and cannot be removed"
            )));
        }
        targets.push(row.clone());
    } else {
        // remove_all: every extra address; those under an abuse block stay (and are named).
        let extra: Vec<_> = public.iter().filter(|i| i.main_ip == 0).collect();
        let addresses: Vec<&str> = extra.iter().map(|i| i.address.as_str()).collect();
        let blocked = store::network::admin_blocked_among(&mut tx, &addresses, now).await?;
        for row in extra {
            if blocked.contains(&row.address) {
                kept.push(row.address.clone());
            } else {
                targets.push(row.clone());
            }
        }
        if targets.is_empty() && kept.is_empty() {
            return Err(Error::invalid(format!(
                "server {} has no extra addresses to remove",
                server.id
            )));
        }
    }
    // All at once: a bounded number of statements however many addresses go.
    let released: Vec<(&str, i64)> = targets
        .iter()
        .map(|t| (t.address.as_str(), t.subnet_id))
        .collect();
    let missing = store::network::release_many(&mut tx, server.id, &released, now).await?;
    if let Some(address) = missing.first() {
        return Err(Error::not_found(format!(
            "ip {address} not found on server {}",
            server.id
        )));
    }
    let tasks = targets
        .iter()
        .map(|t| {
            let ctx = ip_context("remove_ipv4", server.id, &t.address);
            let payload = json!({"address": t.address, "op": "remove", "port": t.port});
            task(
                caller,
                server,
                "remove_ipv4",
                "ip_config",
                ctx,
                payload,
                4_000,
            )
        })
        .collect();
    let keys = queue::submit_many_in(state, &mut tx, tasks).await?;
    tx.commit().await?;
    state.wake.notify_one();
    let removed: Vec<Value> = targets
        .iter()
        .map(|t| json!({"ip": t.address, "vlan": t.vlan}))
        .collect();
    let mut out = json!({"result": "OK", "action": "remove_ipv4", "id": server.id, "ips": removed, "keys": keys});
    if !kept.is_empty() {
        // Addresses under an abuse block cannot be released by the customer.
        out["kept"] = json!(kept);
    }
    Ok(out)
}

/// net/show_ipv4_free (000 "show_ipv4_free"): free addresses of the server's pools.
async fn show_ipv4_free(state: &AppState, call: &Call, server: &Server) -> Result<Value> {
    let iface = port_of(state, call, server).await?;
    let fresh = fresh_period(call)?;
    let filter = call.params.get("ip").map(|s| s.trim().to_owned());
    let now = state.clock.now();
    let own_vlan = vlan_of(state, server, &iface.r#type).await?;
    let mut conn = state.db.acquire().await?;
    let subnets = pools(&mut conn, call, server, own_vlan).await?;
    let (free, quarantined) = ipam::free_in(&mut conn, &subnets, fresh, now).await?;
    drop(conn);
    // The location code, as ip/get_ip and eq/list show it.
    let loc_name = &server.location;
    let matching: Vec<&ipam::Free> = free
        .iter()
        .filter(|f| {
            filter
                .as_deref()
                .is_none_or(|p| f.address.to_string().contains(p))
        })
        .collect();
    let ips: Vec<Value> = matching
        .iter()
        .take(512)
        .map(|f| {
            json!({"ip": f.address.to_string(), "vlan": f.subnet.vlan,
                   "subnet": format!("{}/{}", f.subnet.network, f.subnet.cidr), "location": loc_name, "status": "free"})
        })
        .collect();
    let subnet_rows: Vec<Value> = subnets
        .iter()
        .map(|s| {
            let net = ipam::net_of(s);
            json!({"network": s.network, "mask": s.cidr, "broadcast": net.map(|n| n.broadcast().to_string()),
                   // 000: a /24 has a total of 254, the host addresses (the gateway is one of them).
                   "vlan": s.vlan, "total": net.map_or(0, |n| n.hosts().count()),
                   "free": free.iter().filter(|f| f.subnet.id == s.id).count()})
        })
        .collect();
    let total_ips = ips.len();
    Ok(json!({
        "result": "OK", "action": "show_ipv4_free", "id": server.id, "ips": ips, "subnets": subnet_rows,
        "res": {"total_found": matching.len(), "filtered": quarantined + (free.len() - matching.len())},
        "total_ips": total_ips, "fresh": fresh,
    }))
}

/// net/show_cacti (001 "net/show_cacti"): the port's traffic graph as a PNG;
/// graph 1 = day, 2 = month, 3 = year.
/// Why show_cacti drew no graph.
enum Cacti {
    /// The port has no graph (001's documented failure).
    NoGraph {
        id: i64,
        port: String,
    },
    Api(Error),
}

impl From<Error> for Cacti {
    fn from(e: Error) -> Self {
        Cacti::Api(e)
    }
}

impl From<sqlx::Error> for Cacti {
    fn from(e: sqlx::Error) -> Self {
        Cacti::Api(e.into())
    }
}

async fn show_cacti(state: &AppState, call: &Call) -> std::result::Result<Vec<u8>, Cacti> {
    let caller = sessions::resolve(state, call.params.get("token"), call.client_ip).await?;
    let id = call.params.req_int("id")?;
    let server = servers::owned(state, caller.scope(), id).await?;
    pin::require(state, &caller, call.params.get("pin")).await?;
    let graph = call.params.opt_int("graph")?.unwrap_or(1);
    if !(1..=3).contains(&graph) {
        return Err(Error::invalid("graph must be 1 (daily), 2 (monthly) or 3 (annual)").into());
    }
    let iface = port_of(state, call, &server)
        .await
        .map_err(|_| Cacti::NoGraph {
            id,
            port: shorten(call.params.get("port").unwrap_or("")),
        })?;
    let now = state.clock.now();
    let (avg_in, avg_out) = traffic::average_bps(&server, iface.is_main == 1, now);
    let seed = (server.id as u64) << 8 | iface.id as u64 & 0xff;
    let (span, step, label_every, fmt, name) = match graph {
        1 => (86_400, 300, 4 * 3600, "%H:%M", "Daily (5 Minute Average)"),
        2 => (
            30 * 86_400,
            7_200,
            5 * 86_400,
            "%d %b",
            "Monthly (2 Hour Average)",
        ),
        _ => (
            365 * 86_400,
            86_400,
            61 * 86_400,
            "%b %Y",
            "Yearly (1 Day Average)",
        ),
    };
    let samples = traffic::series(seed, now - span, now, step, avg_in, avg_out);
    let first_label = (now - span) - (now - span).rem_euclid(label_every) + label_every;
    let labels: Vec<(i64, String)> = (0..)
        .map(|i| first_label + i * label_every)
        .take_while(|t| *t < now)
        .map(|t| {
            let text = chrono::DateTime::<chrono::Utc>::from_timestamp(t, 0)
                .map(|d| d.format(fmt).to_string())
                .unwrap_or_default();
            (t, text)
        })
        .collect();
    let hostname = store::tags::get(&state.db, "eq", id, "hostname")
        .await?
        .map(|t| t.value)
        .unwrap_or(id.to_string());
    let title = format!("{hostname} - Traffic - {} - {name}", iface.r#type);
    Ok(chart::render(&title, &samples, &labels))
}
