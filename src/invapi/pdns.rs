//! `pdns.php` (001 "DNS zone management"; issue 12): domains, subdomains, zones and
//! records, over [`crate::ops::dns`]. The emulator's DNS server answers from the same
//! zones.
//!
//! Two request dialects, answered in their own shapes (README "Compatibility decisions",
//! `decisions.md` §5): a request with any `params[x]` field is the Terraform provider's,
//! and gets `data` as an object for `add_domain` (`{"id","name"}`) and `view_zone`
//! (`{"id","name","records":[...]}` beside the PowerDNS fields); a flat request (001's curl
//! examples, the MCP server) gets 001's arrays. Every other answer is the same for both.

use serde_json::{json, Value};

use super::args::Args;
use super::dispatch::{actions, Ctx, Module};
use crate::domain::dns::{relative, Extra};
use crate::error::{Error, Result};
use crate::http::php_form::Params;
use crate::ops::dns::{self, NewRecords, NewZone, SoaInput};
use crate::store::dns::{Record, Zone};

/// `pdns.php`, declared once.
pub static MODULE: Module = Module {
    name: "pdns",
    actions: actions![
        session "list_domains" => list_domains,
        session "add_domain" => add_domain,
        session "delete_domain" => delete_domain,
        session "list_subdomains" => list_subdomains,
        session "add_subdomain" => add_subdomain,
        session "edit_subdomain" => edit_subdomain,
        session "delete_subdomain" => delete_subdomain,
        session "list_zones" => list_zones,
        session "view_zone" => view_zone,
        session "add_zone" => add_zone,
        session "delete_zone" => delete_zone,
        session "add_dns" => add_dns,
        session "delete_dns" => delete_dns,
    ],
};

/// The module envelope of every pdns answer.
fn envelope(action: &str, data: Value) -> Value {
    json!({"result": "OK", "module": "pdns", "action": action, "data": data})
}

/// Is this the Terraform provider's dialect (`params[x]` fields)?
fn provider(ctx: &Ctx) -> bool {
    ctx.params().has_wrapped()
}

/// A zone's name in PowerDNS fields: with the trailing dot.
fn dotted(name: &str) -> String {
    format!("{name}.")
}

/// The `masters` of a zone, as stored.
fn masters(z: &Zone) -> Value {
    serde_json::from_str(&z.masters).unwrap_or_else(|_| json!([]))
}

/// A zone in list_zones' shape (001 "pdns/list_zones").
fn zone_summary(z: &Zone) -> Value {
    json!({
        "account": "", "dnssec": z.dnssec != 0, "edited_serial": z.serial,
        "id": dotted(&z.name), "kind": z.kind, "last_check": 0, "masters": masters(z),
        "name": dotted(&z.name), "notified_serial": z.serial, "serial": z.serial,
        "url": format!("/api/v1/servers/localhost/zones/{}.", z.name),
    })
}

/// The RRsets of a zone, SOA first, in PowerDNS' shape.
fn rrsets(z: &Zone, records: &[Record]) -> Vec<Value> {
    let soa = dns::soa_of(z);
    let mut out = vec![json!({
        "comments": [], "name": dotted(&z.name), "ttl": soa.ttl, "type": "SOA",
        "records": [{"content": soa.content(), "disabled": false}],
    })];
    let mut i = 0;
    while i < records.len() {
        let r = &records[i];
        let set: Vec<&Record> = records[i..]
            .iter()
            .take_while(|o| o.name == r.name && o.rtype == r.rtype)
            .collect();
        i += set.len();
        out.push(json!({
            "comments": [], "name": dotted(&r.name), "ttl": r.ttl, "type": r.rtype,
            "records": set.iter().map(|o| json!({"content": o.content, "disabled": false})).collect::<Vec<_>>(),
        }));
    }
    out
}

/// A zone in view_zone's shape (001 "pdns/view_zone"): the PowerDNS zone object.
fn zone_object(z: &Zone, records: &[Record]) -> Value {
    json!({
        "account": "", "api_rectify": false, "dnssec": z.dnssec != 0, "edited_serial": z.serial,
        "id": dotted(&z.name), "kind": z.kind, "last_check": 0, "master_tsig_key_ids": [],
        "masters": masters(z), "name": dotted(&z.name), "notified_serial": z.serial,
        "nsec3narrow": false, "nsec3param": "", "rrsets": rrsets(z, records), "serial": z.serial,
        "slave_tsig_key_ids": [], "soa_edit": "", "soa_edit_api": "DEFAULT",
        "url": format!("/api/v1/servers/localhost/zones/{}.", z.name),
    })
}

/// The zone as the dialect wants it: 001's `[ {zone} ]`, or the provider's object with
/// `id` (the domain id, a number), `name` and `records` beside the PowerDNS fields.
fn zone_data(provider: bool, z: &Zone, records: &[Record]) -> Value {
    let mut obj = zone_object(z, records);
    if !provider {
        return json!([obj]);
    }
    let flat: Vec<Value> = records
        .iter()
        .map(|r| {
            json!({
                "id": r.id, "name": relative(&r.name, &z.name), "type": r.rtype,
                "content": r.given, "ttl": r.ttl, "priority": r.priority,
            })
        })
        .collect();
    obj["id"] = json!(z.id);
    obj["name"] = json!(z.name);
    obj["records"] = json!(flat);
    obj
}

/// The zone argument: `zone`, or as add_zone's table and curl name it, `zonename`/`name`.
fn zone_arg(p: &Params, also: &[&str]) -> Result<String> {
    std::iter::once("zone")
        .chain(also.iter().copied())
        .find_map(|n| p.get(n).map(|v| v.trim().to_owned()))
        .ok_or_else(|| Error::invalid("zone is required"))
}

/// A SOA field: `dns[x]` first, then plain `x`.
fn soa_int(p: &Params, name: &str) -> Result<Option<i64>> {
    match p.opt_int(&format!("dns[{name}]"))? {
        Some(v) => Ok(Some(v)),
        None => p.opt_int(name),
    }
}

fn soa_str(p: &Params, name: &str) -> Result<Option<String>> {
    match p.opt_str(&format!("dns[{name}]"), 255)? {
        Some(v) if !v.is_empty() => Ok(Some(v)),
        _ => Ok(p.opt_str(name, 255)?.filter(|v| !v.is_empty())),
    }
}

fn soa_input(p: &Params) -> Result<SoaInput> {
    Ok(SoaInput {
        ttl: soa_int(p, "ttl")?,
        mname: soa_str(p, "mname")?,
        rname: soa_str(p, "rname")?,
        serial: soa_int(p, "serial")?,
        refresh: soa_int(p, "refresh")?,
        retry: soa_int(p, "retry")?,
        expire: soa_int(p, "expire")?,
        minimum: soa_int(p, "minimum")?,
    })
}

/// pdns/list_domains (001 "pdns/list_domains"): `[{"id","name"}]` in both dialects.
async fn list_domains(ctx: &Ctx) -> Result<Value> {
    let (state, _, caller) = ctx.parts()?;
    let zones = dns::zones(state, caller).await?;
    let data: Vec<Value> = zones
        .iter()
        .map(|z| json!({"id": z.id, "name": z.name}))
        .collect();
    Ok(envelope("list_domains", json!(data)))
}

/// pdns/add_domain (001 "pdns/add_domain"; `name`, optional `server_id`): a zone with the
/// provider's name servers.
async fn add_domain(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let p = &call.params;
    let new = NewZone {
        name: p.req_str("name")?,
        server_id: p.opt_int("server_id")?,
        ..NewZone::default()
    };
    let z = dns::add_zone(state, caller, new).await?;
    let data = if provider(ctx) {
        json!({"id": z.id, "name": z.name})
    } else {
        json!([{"id": z.id}])
    };
    Ok(envelope("add_domain", data))
}

/// pdns/delete_domain (001 "pdns/delete_domain"; `domain_id`, or the provider's `id` and
/// `zone`): the zone with its records and subdomains.
async fn delete_domain(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let p = &call.params;
    let id = match p.opt_int("domain_id")? {
        Some(id) => Some(id),
        None => p.opt_int("id")?,
    };
    let zone = p.get("zone").map(str::trim);
    let z = dns::delete_domain(state, caller, id, zone).await?;
    Ok(envelope("delete_domain", json!([{"id": z.id}])))
}

fn subdomain_json(s: &crate::store::dns::Subdomain) -> Value {
    json!({"id": s.id, "name": s.name, "domain_id": s.zone_id, "server_id": s.server_id})
}

/// pdns/list_subdomains (001 "pdns/list_subdomains"; `server_id`).
async fn list_subdomains(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let server_id = call.params.opt_int("server_id")?;
    let subs = dns::subdomains(state, caller, server_id).await?;
    let data: Vec<Value> = subs.iter().map(|(s, _)| subdomain_json(s)).collect();
    Ok(envelope("list_subdomains", json!(data)))
}

/// pdns/add_subdomain (001 "pdns/add_subdomain"; `server_id`, `domain_id`, `name`): an A
/// record to the server's main address.
async fn add_subdomain(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let p = &call.params;
    let server_id = p.req_int("server_id")?;
    let domain_id = p.req_int("domain_id")?;
    let name = p.req_str("name")?;
    let s = dns::add_subdomain(state, caller, server_id, domain_id, &name).await?;
    Ok(envelope("add_subdomain", json!([{"id": s.id}])))
}

/// pdns/edit_subdomain (001 "pdns/edit_subdomain"; `id`; 001 names no field for the new
/// value: `server_id` points it at another server, `name` renames it).
async fn edit_subdomain(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let p = &call.params;
    let id = p.req_int("id")?;
    let server_id = p.opt_int("server_id")?;
    let name = p.opt_str("name", 253)?.filter(|n| !n.is_empty());
    let s = dns::edit_subdomain(state, caller, id, server_id, name.as_deref()).await?;
    Ok(envelope("edit_subdomain", json!([{"id": s.id}])))
}

/// pdns/delete_subdomain (001 "pdns/delete_subdomain"; `id`): 001 answers with
/// `"action":"delete_domain"`, and so does the emulator.
async fn delete_subdomain(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let id = call.params.req_int("id")?;
    let s = dns::delete_subdomain(state, caller, id).await?;
    Ok(envelope("delete_domain", json!([{"id": s.id}])))
}

/// pdns/list_zones (001 "pdns/list_zones").
async fn list_zones(ctx: &Ctx) -> Result<Value> {
    let (state, _, caller) = ctx.parts()?;
    let zones = dns::zones(state, caller).await?;
    Ok(envelope(
        "list_zones",
        json!(zones.iter().map(zone_summary).collect::<Vec<_>>()),
    ))
}

/// pdns/view_zone (001 "pdns/view_zone"; `zone`), in the dialect's shape.
async fn view_zone(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let zone = zone_arg(&call.params, &[])?;
    let (z, records) = dns::zone_with_records(state, caller, &zone).await?;
    Ok(envelope(
        "view_zone",
        zone_data(provider(ctx), &z, &records),
    ))
}

/// pdns/add_zone (001 "pdns/add_zone"; `zonename`/`name`/`zone`, `kind`, `masters[]`,
/// `dnssec`, `dns[...]`, `nameservers[]`): answers with the new zone as view_zone does,
/// `"action":"view_zone"` as 001 shows.
async fn add_zone(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let p = &call.params;
    let dnssec = p.opt_bool("dnssec")?.unwrap_or(false);
    if dnssec {
        return Err(Error::invalid("dnssec is not offered, send dnssec=false"));
    }
    // `rrsets` is documented as a flag; only its form is checked.
    p.opt_bool("rrsets")?;
    let new = NewZone {
        name: zone_arg(p, &["zonename", "name"])?,
        server_id: p.opt_int("server_id")?,
        kind: p.opt_str("kind", 16)?.filter(|k| !k.is_empty()),
        masters: p.list("masters"),
        dnssec,
        soa: soa_input(p)?,
        nameservers: p.list("nameservers"),
    };
    let z = dns::add_zone(state, caller, new).await?;
    let (z, records) = dns::zone_with_records(state, caller, &z.name).await?;
    Ok(envelope(
        "view_zone",
        zone_data(provider(ctx), &z, &records),
    ))
}

/// pdns/delete_zone (001 "pdns/delete_zone"; `zone`).
async fn delete_zone(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let zone = zone_arg(&call.params, &[])?;
    dns::delete_zone(state, caller, &zone).await?;
    Ok(envelope("delete_zone", Value::Null))
}

/// pdns/add_dns (001 "pdns/add_dns"; `zone`, `name`, `old_name`, `type`, `content` or the
/// provider's `content[]`, `ttl`, `priority`, SRV's `proto`/`weight`/`port`/`target`,
/// `increase_soa_serial`, the SOA fields): answers as 001 shows, `"action":"delete_zone"`.
async fn add_dns(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let p = &call.params;
    let new = NewRecords {
        zone: zone_arg(p, &[])?,
        name: p.opt_str("name", 253)?.unwrap_or_default(),
        old_name: p.opt_str("old_name", 253)?,
        rtype: p.req_str("type")?,
        contents: p.list("content"),
        ttl: p.opt_int("ttl")?,
        extra: Extra {
            priority: p.opt_int("priority")?,
            weight: p.opt_int("weight")?,
            port: p.opt_int("port")?,
            target: p.opt_str("target", 253)?.filter(|t| !t.is_empty()),
        },
        proto: p.opt_str("proto", 16)?,
        increase_serial: p.opt_bool("increase_soa_serial")?.unwrap_or(true),
        soa: SoaInput {
            // `ttl` is the record's; the SOA's own comes as dns[ttl].
            ttl: p.opt_int("dns[ttl]")?,
            ..soa_input(p)?
        },
    };
    dns::add_records(state, caller, new).await?;
    Ok(envelope("delete_zone", Value::Null))
}

/// pdns/delete_dns (001 "pdns/delete_dns"; `zone`, `name`, `type`): the RRset.
async fn delete_dns(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let p = &call.params;
    let zone = zone_arg(p, &[])?;
    let name = p.opt_str("name", 253)?.unwrap_or_default();
    let rtype = p.req_str("type")?;
    let bump = p.opt_bool("increase_soa_serial")?.unwrap_or(true);
    dns::delete_records(state, caller, &zone, &name, &rtype, bump).await?;
    Ok(envelope("delete_dns", Value::Null))
}
