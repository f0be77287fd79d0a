//! eq/list, eq/show, eq/update_servers, eq/rename_server (001 "eq/list", "eq/show",
//! "eq/update_servers"; 002 for `full=1` and the superset fields).

use serde_json::{json, Value};

use super::super::args::Args;
use super::super::dispatch::Ctx;
use crate::clock::{format_date, format_datetime};
use crate::error::{Error, Result};
use crate::ops::servers::{self, ListFilter, Shown};
use crate::state::AppState;
use crate::store::{self, accounts::Account, servers::Server};

/// Group ids of the inventory (eq/show `groups[].ID`).
const GROUP_IDS: &[(&str, &str)] = &[
    ("Mini", "24"),
    ("Storage", "25"),
    ("Micro", "26"),
    ("Nodes", "27"),
    ("VPS", "28"),
    ("Dell", "30"),
    ("1CPU", "32"),
    ("2CPU", "33"),
    ("Gpu", "41"),
    ("Instances", "44"),
    ("AMD", "47"),
    ("Ryzen", "53"),
    ("5Ghz", "54"),
];

fn groups_of(s: &Server) -> Vec<String> {
    serde_json::from_str(&s.groups).unwrap_or_default()
}

fn csv(v: &str) -> Vec<String> {
    v.split(',')
        .map(|x| x.trim().to_owned())
        .filter(|x| !x.is_empty())
        .collect()
}

/// eq/list (001 "eq/list"): ids of matching servers; `full=1` gives 002's objects.
pub async fn list(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let p = &call.params;
    // Parsed in this order so that the first bad argument is the one named.
    let id = p.opt_int("id")?;
    let locations = p.get("location").map(csv);
    let statuses = p.get("status").map(csv);
    let r#type = p.get("type").map(str::to_owned);
    let groups = p.get("group").map(csv);
    let components = match p.get("component") {
        Some(component) => Some(
            csv(component)
                .iter()
                .map(|c| {
                    c.parse::<i64>()
                        .map_err(|_| Error::invalid(format!("invalid component id '{c}'")))
                })
                .collect::<Result<Vec<_>>>()?,
        ),
        None => None,
    };
    let filter = ListFilter {
        id,
        locations,
        statuses,
        r#type,
        groups,
        components,
        ip: p.get("ip").map(str::to_owned),
        mac: p.get("mac").map(str::to_owned),
        full: p.opt_bool("full")?.unwrap_or(false),
    };
    let found = servers::list(state, caller.scope(), &filter).await?;
    let servers = if filter.full {
        found
            .iter()
            .map(|s| {
                json!({
                    "id": s.id,
                    "name": s.hostname.clone().unwrap_or_else(|| s.id.to_string()),
                    "status": s.status,
                    "location": s.location,
                    "ip": s.main_ip.clone().unwrap_or_default(),
                    "type": s.r#type,
                })
            })
            .collect()
    } else {
        json!(found.iter().map(|s| s.id).collect::<Vec<_>>())
    };
    Ok(json!({"servers": servers, "result": "OK", "module": "eq", "action": "list"}))
}

/// eq/show (001 "eq/show"): the full description of one server.
pub async fn show(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let id = call.params.req_int("id")?;
    let shown = servers::shown(state, caller.scope(), id).await?;
    render(state, &shown, &caller.account)
}

/// The 001 eq/show document for a server (plus 002's `name`, `location`, `ip` in server_data
/// and its `reinstall`); `account` is the owner's (the caller's).
pub fn render(state: &AppState, shown: &Shown, account: &Account) -> Result<Value> {
    let now = state.clock.now();
    let Shown {
        server: s,
        interfaces,
        ips,
        tags,
    } = shown;
    let s = &s.server;
    let name = tags
        .iter()
        .find(|t| t.tag == "hostname")
        .map(|t| t.value.clone())
        .unwrap_or_else(|| s.id.to_string());
    let main_ip = ips
        .iter()
        .find(|i| i.port != "ipmi" && i.main_ip == 1)
        .or(ips.iter().find(|i| i.port != "ipmi"));
    let days_left = (s.due_date - now).div_euclid(86_400)
        + i64::from((s.due_date - now).rem_euclid(86_400) > 0);
    let period_start = crate::sim::traffic::period_start(s, now);
    let main_if = interfaces
        .iter()
        .find(|i| i.is_main == 1)
        .map(|i| i.r#type.clone())
        .unwrap_or_default();
    let ip_list: Vec<Value> = ips
        .iter()
        .filter(|i| i.port != "ipmi")
        .map(|i| {
            let mac = interfaces
                .iter()
                .find(|f| f.r#type == i.port)
                .map(|f| f.mac.clone())
                .unwrap_or_default();
            json!({
                "port": i.port,
                "MAC": mac,
                "IP": i.address,
                "status": i.status,
                "main_ip": i.main_ip,
                "locked": i64::from(i.blocked_at.is_some()),
                "date_block": i.blocked_at.map(format_datetime),
                "license_id": i.license_id,
                "main_int": i64::from(i.port == main_if),
                "vlan": i.vlan,
                "updated": (now - i.updated_at).max(0) / 86_400,
                "license_name": i.license_name,
                "white_ddos": i.white_ddos,
                "description": i.block_description.clone().filter(|d| !d.is_empty()).unwrap_or_else(|| i.description.clone()),
            })
        })
        .collect();
    let iface_list: Vec<Value> = interfaces
        .iter()
        .filter(|f| f.r#type != "ipmi")
        .map(|f| {
            json!({"id": f.id, "type": f.r#type, "mac": f.mac, "upstream_id": null, "IsMain": f.is_main,
                   "IsVirt": f.is_virt, "Status": f.status, "switch_owner": f.switch_owner,
                   "switch_model": f.switch_model})
        })
        .collect();
    let ipmi_ifaces: Vec<Value> = interfaces
        .iter()
        .filter(|f| f.r#type == "ipmi")
        .map(|f| {
            let ip = ips
                .iter()
                .find(|i| i.port == "ipmi")
                .map(|i| i.address.clone())
                .unwrap_or_default();
            json!({"IP": ip, "MAC": f.mac})
        })
        .collect();
    let groups: Vec<Value> = groups_of(s)
        .iter()
        .map(|g| {
            let id = GROUP_IDS
                .iter()
                .find(|(c, _)| c.eq_ignore_ascii_case(g))
                .map(|(_, i)| *i)
                .unwrap_or("60");
            json!({"ID": id, "Code": g, "Name": g, "active": 1})
        })
        .collect();
    let hardware: Value = serde_json::from_str(&s.hardware)?;
    let licenses: Value = serde_json::from_str(&s.licenses)?;
    let os: Value = match &s.os {
        Some(o) => serde_json::from_str(o)?,
        None => Value::Null,
    };
    // 002's `reinstall`: the key of the install running now ('' when none), so that an
    // install started by a reboot with PXE still configured can be followed.
    let reinstall = shown.server.reinstall.clone().unwrap_or_default();
    let ref_table = if s.is_vm() { "VPS" } else { "Dedicated" };
    Ok(json!({
        "result": "OK",
        "server_data": {
            "id": s.id,
            "ref_tableName": ref_table,
            "Condition_Component": s.status,
            "account_id": s.account_id,
            "type_billing": account.billing_location,
            "is_owner": "Rent",
            "cost_trafficIN": 0,
            "limit_trafficIN": s.limit_traffic_in,
            "cost_traffic": s.cost_traffic,
            "limit_traffic": s.limit_traffic,
            "new_limit_traffic": 0,
            "limit_bands": s.limit_bands,
            "trafficPeriodOut": s.traffic_out_gb.round() as i64,
            "trafficPeriodIn": s.traffic_in_gb.round() as i64,
            "trafficPeriodOutBilling": s.traffic_out_gb.round() as i64,
            "trafficPeriodInBilling": s.traffic_in_gb.round() as i64,
            "datePeriod": format_datetime(period_start),
            "IsShape": s.is_shape,
            "hwconfig": s.hwconfig,
            "status": s.status,
            "type": s.r#type,
            "days_left": days_left,
            "due_date": format_date(s.due_date),
            "name": name,
            "location": s.location,
            "ip": main_ip.map(|i| i.address.clone()).unwrap_or_default(),
            "power": s.power,
        },
        "hardware": hardware,
        "groups": groups,
        "licenses": licenses,
        "location": {
            "dc_location": s.location,
            "location_id": shown.server.location_id,
            "dc_name": shown.server.dc_name,
        },
        "OS": os,
        "IP": ip_list,
        "interfaces": iface_list,
        "IPMI": {"model": s.ipmi_model, "interfaces": ipmi_ifaces},
        "tags": tags,
        "preset": s.preset,
        "preset_description": s.preset_description,
        "reinstall": reinstall,
    }))
}

/// eq/update_servers (001 "eq/update_servers"; 002's superset shape): servers, orders
/// still in billing or deployment, and the deploy keys by invoice id.
pub async fn update_servers(ctx: &Ctx) -> Result<Value> {
    let (state, _, caller) = ctx.parts()?;
    let ids = servers::visible_ids(state, caller.scope()).await?;
    let mut billing = Vec::new();
    let mut keys = serde_json::Map::new();
    for d in store::inventory::running_orders(&state.db, caller.account.id).await? {
        if !caller.scope().admits(d.server_id) {
            continue;
        }
        let Some(invoice_id) = d.invoice_id else {
            continue;
        };
        keys.insert(invoice_id.to_string(), json!(d.callback_key));
        let Some(invoice_status) = &d.invoice_status else {
            continue;
        };
        billing.push(json!({
            "id": d.server_id,
            "config": json!({"preset": d.preset, "location": d.location, "os_id": d.os_id, "soft_id": d.soft_id}).to_string(),
            "status": if invoice_status == "Paid" { "Active" } else { "Pending payment" },
            "regdate": format_date(d.reg_date),
            "name": d.hostname,
            "recurring": crate::domain::catalogue::number(d.recurring_cents as f64 / 100.0),
            "nextduedate": format_date(d.due_date),
            "billingcycle": d.billing_cycle,
        }));
    }
    if ids.is_empty() && billing.is_empty() {
        return Ok(
            json!({"result": -1, "error": "eq/update_servers: No active servers were found for this account",
                         "no_servers": 1}),
        );
    }
    Ok(json!({"result": "OK", "servers": ids, "billing_servers": billing, "deploy_keys": keys}))
}

/// eq/rename_server: sets the server's hostname (its `hostname` tag).
pub async fn rename_server(ctx: &Ctx) -> Result<Value> {
    let (state, call, _) = ctx.parts()?;
    let server = ctx.server().await?;
    let name = call.params.req_str("hostname")?;
    servers::rename(state, &server, &name).await?;
    Ok(json!({"result": "OK", "action": "rename_server", "id": server.id, "hostname": name}))
}

/// eq/unified_server_search (issue 13 item 6; `query`): the scope's servers named by id,
/// hostname, address, MAC or tag value, as eq/list shows ids.
pub async fn unified_server_search(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let query = call
        .params
        .opt_str("query", 256)?
        .filter(|q| !q.is_empty())
        .ok_or_else(|| Error::invalid("query is required"))?;
    let ids = servers::search(state, caller.scope(), &query).await?;
    Ok(json!({"result": "OK", "action": "unified_server_search", "servers": ids}))
}
