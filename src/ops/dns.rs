//! DNS hosting (issue 12, `pdns.php`): an account's zones with their SOA and NS records,
//! records checked per type ([`crate::domain::dns`]), subdomains pointing at servers.
//! Every change raises the zone's SOA serial unless told not to. A zone belongs to an
//! account (and optionally a server); another account's zone is refused with 001's
//! permission error, and a session opened with a per-server key sees only that server's
//! zones. The DNS server (`crate::dns`) answers from the same tables.

use super::servers;
use super::sessions::Principal;
use crate::domain::dns::{self as rules, Extra, RType, Soa};
use crate::domain::rules::shorten;
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{self, dns::Record, dns::Subdomain, dns::Zone};

/// SOA fields a request may give (`dns[...]` of add_zone, the SOA fields of add_dns).
#[derive(Debug, Clone, Default)]
pub struct SoaInput {
    pub ttl: Option<i64>,
    pub mname: Option<String>,
    pub rname: Option<String>,
    pub serial: Option<i64>,
    pub refresh: Option<i64>,
    pub retry: Option<i64>,
    pub expire: Option<i64>,
    pub minimum: Option<i64>,
}

/// A zone to create (add_zone; add_domain with the defaults).
#[derive(Debug, Clone, Default)]
pub struct NewZone {
    pub name: String,
    pub server_id: Option<i64>,
    pub kind: Option<String>,
    pub masters: Vec<String>,
    pub dnssec: bool,
    pub soa: SoaInput,
    pub nameservers: Vec<String>,
}

/// Records to add (add_dns).
#[derive(Debug, Clone, Default)]
pub struct NewRecords {
    pub zone: String,
    pub name: String,
    pub old_name: Option<String>,
    pub rtype: String,
    pub contents: Vec<String>,
    pub ttl: Option<i64>,
    pub extra: Extra,
    pub proto: Option<String>,
    pub increase_serial: bool,
    pub soa: SoaInput,
}

/// Today as `YYYYMMDD` on the emulator's clock.
fn today(state: &AppState) -> i64 {
    chrono::DateTime::from_timestamp(state.clock.now(), 0)
        .map(|d| d.format("%Y%m%d").to_string())
        .and_then(|d| d.parse().ok())
        .unwrap_or(19_700_101)
}

fn invalid(e: String) -> Error {
    Error::Invalid(e)
}

/// Is the zone the caller's, within the session's scope?
fn admit(caller: &Principal, zone: Option<Zone>, shown: &str) -> Result<Zone> {
    let zone = zone.ok_or_else(|| Error::not_found(format!("zone {shown} not found")))?;
    if zone.account_id != caller.account.id {
        return Err(Error::denied("permission denied #3, this is not your zone"));
    }
    let scope = caller.scope();
    if let Some(server) = scope.server_id {
        if zone.server_id != server {
            return Err(Error::denied(format!(
                "permission denied, this API key is limited to server {server}"
            )));
        }
    }
    Ok(zone)
}

/// The caller's zone by name.
pub async fn zone(state: &AppState, caller: &Principal, raw: &str) -> Result<Zone> {
    let name = rules::zone_name(raw).map_err(invalid)?;
    admit(
        caller,
        store::dns::zone_named(&state.db, &name).await?,
        &name,
    )
}

/// The caller's zone with its records.
pub async fn zone_with_records(
    state: &AppState,
    caller: &Principal,
    raw: &str,
) -> Result<(Zone, Vec<Record>)> {
    let z = zone(state, caller, raw).await?;
    let records = store::dns::records(&state.db, z.id).await?;
    Ok((z, records))
}

/// The caller's zones (a per-server session: that server's), oldest first.
pub async fn zones(state: &AppState, caller: &Principal) -> Result<Vec<Zone>> {
    let scope = caller.scope();
    let all = store::dns::zones(&state.db, caller.account.id).await?;
    Ok(all
        .into_iter()
        .filter(|z| scope.server_id.is_none_or(|s| s == z.server_id))
        .collect())
}

fn timer(v: Option<i64>, default: i64, what: &str) -> Result<i64> {
    let v = v.unwrap_or(default);
    if (0..=rules::MAX_TTL).contains(&v) {
        Ok(v)
    } else {
        Err(Error::invalid(format!(
            "invalid {what} {v}, expected 0 to {}",
            rules::MAX_TTL
        )))
    }
}

/// Applies given SOA fields to `soa`.
fn apply_soa(soa: &mut Soa, input: &SoaInput) -> Result<()> {
    if let Some(t) = input.ttl {
        soa.ttl = rules::ttl(t).map_err(invalid)?;
    }
    if let Some(m) = &input.mname {
        soa.mname = rules::target(m, "mname", false).map_err(invalid)?;
    }
    if let Some(r) = &input.rname {
        soa.rname = rules::rname(r).map_err(invalid)?;
    }
    if let Some(s) = input.serial {
        if !(0..=i64::from(u32::MAX)).contains(&s) {
            return Err(Error::invalid(format!("invalid serial {s}")));
        }
        soa.serial = s;
    }
    soa.refresh = timer(input.refresh, soa.refresh, "refresh")?;
    soa.retry = timer(input.retry, soa.retry, "retry")?;
    soa.expire = timer(input.expire, soa.expire, "expire")?;
    soa.minimum = timer(input.minimum, soa.minimum, "minimum")?;
    Ok(())
}

/// The zone's SOA.
pub fn soa_of(z: &Zone) -> Soa {
    Soa {
        mname: z.mname.clone(),
        rname: z.rname.clone(),
        serial: z.serial,
        refresh: z.refresh,
        retry: z.retry,
        expire: z.expire,
        minimum: z.minimum,
        ttl: z.soa_ttl,
    }
}

fn set_soa(z: &mut Zone, soa: Soa) {
    z.mname = soa.mname;
    z.rname = soa.rname;
    z.serial = soa.serial;
    z.refresh = soa.refresh;
    z.retry = soa.retry;
    z.expire = soa.expire;
    z.minimum = soa.minimum;
    z.soa_ttl = soa.ttl;
}

/// Creates a zone with its SOA and NS records (add_zone, add_domain). A name that is
/// hosted already is refused, whoever hosts it.
pub async fn add_zone(state: &AppState, caller: &Principal, new: NewZone) -> Result<Zone> {
    let name = rules::zone_name(&new.name).map_err(invalid)?;
    let scope = caller.scope();
    let server_id = match (new.server_id.filter(|s| *s > 0), scope.server_id) {
        (Some(id), _) => servers::owned(state, scope, id).await?.id,
        (None, Some(own)) => own,
        (None, None) => 0,
    };
    let kind = match new.kind.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("master") => "Master",
        Some("native") => "Native",
        Some("slave") => "Slave",
        Some(k) => {
            return Err(Error::invalid(format!(
                "invalid kind '{}', expected Master or Slave",
                shorten(k)
            )))
        }
    };
    let masters: Vec<String> = new
        .masters
        .iter()
        .map(|m| m.trim())
        .filter(|m| !m.is_empty() && *m != "[]")
        .map(|m| {
            m.parse::<std::net::IpAddr>()
                .map(|ip| ip.to_string())
                .map_err(|_| {
                    Error::invalid(format!(
                        "invalid master '{}', expected an address",
                        shorten(m)
                    ))
                })
        })
        .collect::<Result<_>>()?;
    if kind == "Slave" && masters.is_empty() {
        return Err(Error::invalid("a Slave zone needs masters"));
    }
    let mut nameservers = Vec::new();
    for ns in new.nameservers.iter().filter(|n| !n.trim().is_empty()) {
        let ns = rules::target(ns, "name server", false).map_err(invalid)?;
        if !nameservers.contains(&ns) {
            nameservers.push(ns);
        }
    }
    if nameservers.is_empty() {
        nameservers = rules::DEFAULT_NAMESERVERS
            .iter()
            .map(|n| format!("{n}."))
            .collect();
    }
    let mut soa = Soa {
        mname: nameservers[0].clone(),
        rname: format!("hostmaster.{name}."),
        serial: today(state) * 100 + 1,
        refresh: 14_400,
        retry: 3600,
        expire: 604_800,
        minimum: 3600,
        ttl: rules::DEFAULT_TTL,
    };
    apply_soa(&mut soa, &new.soa)?;
    let now = state.clock.now();
    let mut zone = Zone {
        id: 0,
        account_id: caller.account.id,
        server_id,
        name: name.clone(),
        kind: kind.to_owned(),
        masters: serde_json::to_string(&masters)?,
        dnssec: i64::from(new.dnssec),
        soa_ttl: 0,
        mname: String::new(),
        rname: String::new(),
        serial: 0,
        refresh: 0,
        retry: 0,
        expire: 0,
        minimum: 0,
        created_at: now,
        updated_at: now,
    };
    set_soa(&mut zone, soa);
    let mut tx = store::begin_write(&state.db).await?;
    if store::dns::zone_named(&mut *tx, &name).await?.is_some() {
        return Err(Error::Conflict(format!("zone {name} already exists")));
    }
    zone.id = store::dns::insert_zone(&mut *tx, &zone).await?;
    for ns in &nameservers {
        let r = Record {
            id: 0,
            zone_id: zone.id,
            name: name.clone(),
            rtype: "NS".into(),
            content: ns.clone(),
            given: ns.trim_end_matches('.').to_owned(),
            ttl: zone.soa_ttl,
            priority: 0,
            created_at: now,
        };
        store::dns::insert_record(&mut *tx, &r).await?;
    }
    tx.commit().await?;
    Ok(zone)
}

/// Deletes a zone with its records and subdomains.
pub async fn delete_zone(state: &AppState, caller: &Principal, raw: &str) -> Result<Zone> {
    let z = zone(state, caller, raw).await?;
    let mut tx = store::begin_write(&state.db).await?;
    store::dns::delete_zone(&mut *tx, z.id).await?;
    tx.commit().await?;
    Ok(z)
}

/// Deletes a domain by id (001) or by zone name (the Terraform provider sends both).
pub async fn delete_domain(
    state: &AppState,
    caller: &Principal,
    id: Option<i64>,
    zone_name: Option<&str>,
) -> Result<Zone> {
    let z = match (id, zone_name) {
        (Some(id), _) => admit(
            caller,
            store::dns::zone_by_id(&state.db, id).await?,
            &format!("#{id}"),
        )?,
        (None, Some(name)) => zone(state, caller, name).await?,
        (None, None) => return Err(Error::invalid("domain_id is required")),
    };
    let mut tx = store::begin_write(&state.db).await?;
    store::dns::delete_zone(&mut *tx, z.id).await?;
    tx.commit().await?;
    Ok(z)
}

/// The name of an SRV record given 001's `proto` field: `_service._proto`.
fn srv_name(name: &str, proto: Option<&str>) -> Result<String> {
    let Some(proto) = proto.map(str::trim).filter(|p| !p.is_empty()) else {
        return Ok(name.to_owned());
    };
    let proto = proto.trim_start_matches('_').to_ascii_lowercase();
    if !matches!(proto.as_str(), "tcp" | "udp" | "tls" | "sctp") {
        return Err(Error::invalid(format!(
            "invalid proto '{}', expected tcp or udp",
            shorten(&proto)
        )));
    }
    let name = name.trim();
    if name
        .split('.')
        .any(|l| l.eq_ignore_ascii_case(&format!("_{proto}")))
    {
        return Ok(name.to_owned());
    }
    let (service, rest) = name.split_once('.').unwrap_or((name, ""));
    let service = format!("_{}", service.trim_start_matches('_'));
    Ok(if rest.is_empty() {
        format!("{service}._{proto}")
    } else {
        format!("{service}._{proto}.{rest}")
    })
}

/// The checked records of a request: one per content value (A and AAAA values may also
/// be separated by spaces, as 001's example sends them).
fn checked(t: RType, contents: &[String], extra: &Extra) -> Result<Vec<(rules::Rdata, String)>> {
    let mut out: Vec<(rules::Rdata, String)> = Vec::new();
    let mut values: Vec<String> = Vec::new();
    for c in contents {
        if matches!(t, RType::A | RType::Aaaa) {
            values.extend(
                c.split([' ', ',', '\t', '\n'])
                    .filter(|v| !v.is_empty())
                    .map(str::to_owned),
            );
        } else {
            values.push(c.trim().to_owned());
        }
    }
    if values.is_empty() {
        if t == RType::Srv && extra.target.is_some() {
            values.push(String::new());
        } else {
            return Err(Error::invalid("content is required"));
        }
    }
    for v in values {
        let rd = rules::content(t, &v, extra).map_err(invalid)?;
        if out.iter().any(|(o, _)| o.content == rd.content) {
            return Err(Error::invalid(format!(
                "content '{}' is given twice",
                shorten(&v)
            )));
        }
        out.push((rd, v));
    }
    Ok(out)
}

/// Adds records to an RRset (add_dns); with `old_name`, the RRset of that name and type is
/// replaced (renamed and given the new content). The RRset's TTL becomes the new one.
/// Refused: a CNAME beside other data at one name (or at the apex), a record that exists.
pub async fn add_records(state: &AppState, caller: &Principal, new: NewRecords) -> Result<Zone> {
    let mut z = zone(state, caller, &new.zone).await?;
    let t = RType::parse(&new.rtype).map_err(invalid)?;
    let name = if t == RType::Srv {
        srv_name(&new.name, new.proto.as_deref())?
    } else {
        new.name.clone()
    };
    let name = rules::record_name(&name, &z.name).map_err(invalid)?;
    let ttl = rules::ttl(new.ttl.unwrap_or(rules::DEFAULT_TTL)).map_err(invalid)?;
    let values = checked(t, &new.contents, &new.extra)?;
    let old = match new
        .old_name
        .as_deref()
        .map(str::trim)
        .filter(|o| !o.is_empty())
    {
        Some(o) => Some(rules::record_name(o, &z.name).map_err(invalid)?),
        None => None,
    };
    let mut soa = soa_of(&z);
    apply_soa(&mut soa, &new.soa)?;
    let now = state.clock.now();
    let mut tx = store::begin_write(&state.db).await?;
    // Read again inside the transaction: a concurrent change may have come first.
    let current = store::dns::zone_by_id(&mut *tx, z.id).await?;
    let current = admit(caller, current, &z.name)?;
    // A serial the client gives is taken when it is higher; else the serial counts on.
    let given_higher = new.soa.serial.is_some_and(|s| s > current.serial);
    soa.serial = soa.serial.max(current.serial);
    if let Some(old) = &old {
        let gone = store::dns::delete_records(&mut *tx, z.id, old, t.as_str(), None).await?;
        if gone == 0 {
            return Err(Error::not_found(format!(
                "no {} record at {old}. to change",
                t.as_str()
            )));
        }
    }
    let existing = store::dns::records(&mut *tx, z.id).await?;
    let at_name: Vec<&Record> = existing.iter().filter(|r| r.name == name).collect();
    if t == RType::Cname {
        if name == z.name {
            return Err(Error::invalid(format!(
                "a CNAME cannot stand at the zone apex {name}."
            )));
        }
        if at_name.iter().any(|r| r.rtype != "CNAME") {
            return Err(Error::Conflict(format!(
                "{name}. has other records; a CNAME must stand alone"
            )));
        }
        if values.len() > 1 || at_name.iter().any(|r| r.rtype == "CNAME") {
            return Err(Error::Conflict(format!("{name}. can have one CNAME only")));
        }
    } else if at_name.iter().any(|r| r.rtype == "CNAME") {
        return Err(Error::Conflict(format!(
            "{name}. has a CNAME; no other record can stand beside it"
        )));
    }
    for (rd, given) in &values {
        if at_name
            .iter()
            .any(|r| r.rtype == t.as_str() && r.content == rd.content)
        {
            return Err(Error::Conflict(format!(
                "record {name}. {} {} already exists",
                t.as_str(),
                rd.content
            )));
        }
        let r = Record {
            id: 0,
            zone_id: z.id,
            name: name.clone(),
            rtype: t.as_str().to_owned(),
            content: rd.content.clone(),
            given: given.clone(),
            ttl,
            priority: rd.priority,
            created_at: now,
        };
        store::dns::insert_record(&mut *tx, &r).await?;
    }
    store::dns::set_rrset_ttl(&mut *tx, z.id, &name, t.as_str(), ttl).await?;
    if new.increase_serial && !given_higher {
        soa.serial = rules::next_serial(soa.serial, today(state));
    }
    set_soa(&mut z, soa);
    z.updated_at = now;
    store::dns::update_soa(&mut *tx, &z).await?;
    tx.commit().await?;
    Ok(z)
}

/// Deletes the RRset of a name and type (delete_dns).
pub async fn delete_records(
    state: &AppState,
    caller: &Principal,
    zone_raw: &str,
    name: &str,
    rtype: &str,
    increase_serial: bool,
) -> Result<Zone> {
    let mut z = zone(state, caller, zone_raw).await?;
    let t = RType::parse(rtype).map_err(invalid)?;
    let name = rules::record_name(name, &z.name).map_err(invalid)?;
    let mut tx = store::begin_write(&state.db).await?;
    let gone = store::dns::delete_records(&mut *tx, z.id, &name, t.as_str(), None).await?;
    if gone == 0 {
        return Err(Error::not_found(format!(
            "no {} record at {name}. to delete",
            t.as_str()
        )));
    }
    let current = store::dns::zone_by_id(&mut *tx, z.id).await?;
    z.serial = current.map_or(z.serial, |c| c.serial);
    if increase_serial {
        z.serial = rules::next_serial(z.serial, today(state));
    }
    z.updated_at = state.clock.now();
    store::dns::update_soa(&mut *tx, &z).await?;
    tx.commit().await?;
    Ok(z)
}

/// The caller's subdomains (of one server, when given).
pub async fn subdomains(
    state: &AppState,
    caller: &Principal,
    server_id: Option<i64>,
) -> Result<Vec<(Subdomain, Zone)>> {
    if let Some(id) = server_id {
        servers::owned(state, caller.scope(), id).await?;
    }
    let server_id = server_id.or(caller.scope().server_id);
    let zones = zones(state, caller).await?;
    let subs = store::dns::subdomains(&state.db, caller.account.id, server_id).await?;
    Ok(subs
        .into_iter()
        .filter_map(|s| {
            let z = zones.iter().find(|z| z.id == s.zone_id)?.clone();
            Some((s, z))
        })
        .collect())
}

/// The server's main address, for a subdomain's A record.
async fn address_of(state: &AppState, caller: &Principal, server_id: i64) -> Result<String> {
    let server = servers::owned(state, caller.scope(), server_id).await?;
    let ip = store::servers::main_ip(&state.db, server.id).await?;
    if ip.parse::<std::net::Ipv4Addr>().is_err() {
        return Err(Error::Conflict(format!(
            "server {} has no IPv4 address to point at",
            server.id
        )));
    }
    Ok(ip)
}

/// Points `name` of the zone at `ip` (its A RRset), refusing a name with a CNAME.
async fn point(
    tx: &mut sqlx::SqliteConnection,
    z: &Zone,
    name: &str,
    ip: &str,
    now: i64,
) -> Result<()> {
    let existing = store::dns::records(&mut *tx, z.id).await?;
    if existing
        .iter()
        .any(|r| r.name == name && r.rtype == "CNAME")
    {
        return Err(Error::Conflict(format!(
            "{name}. has a CNAME; no other record can stand beside it"
        )));
    }
    store::dns::delete_records(&mut *tx, z.id, name, "A", None).await?;
    let r = Record {
        id: 0,
        zone_id: z.id,
        name: name.to_owned(),
        rtype: "A".into(),
        content: ip.to_owned(),
        given: ip.to_owned(),
        ttl: rules::DEFAULT_TTL,
        priority: 0,
        created_at: now,
    };
    store::dns::insert_record(&mut *tx, &r).await?;
    Ok(())
}

async fn bump(tx: &mut sqlx::SqliteConnection, state: &AppState, zone_id: i64) -> Result<()> {
    if let Some(mut z) = store::dns::zone_by_id(&mut *tx, zone_id).await? {
        z.serial = rules::next_serial(z.serial, today(state));
        z.updated_at = state.clock.now();
        store::dns::update_soa(&mut *tx, &z).await?;
    }
    Ok(())
}

/// A subdomain's label(s) under its domain: not the apex, not a wildcard.
fn sub_name(raw: &str, zone: &str) -> Result<String> {
    let full = rules::record_name(raw, zone).map_err(invalid)?;
    if full == zone || raw.trim().is_empty() || full.starts_with('*') {
        return Err(Error::invalid(format!(
            "invalid subdomain name '{}'",
            shorten(raw)
        )));
    }
    Ok(full)
}

/// Adds a subdomain of a domain pointing at a server (an A record to its main address).
pub async fn add_subdomain(
    state: &AppState,
    caller: &Principal,
    server_id: i64,
    domain_id: i64,
    name: &str,
) -> Result<Subdomain> {
    let ip = address_of(state, caller, server_id).await?;
    let z = admit(
        caller,
        store::dns::zone_by_id(&state.db, domain_id).await?,
        &format!("#{domain_id}"),
    )?;
    let full = sub_name(name, &z.name)?;
    let now = state.clock.now();
    let mut s = Subdomain {
        id: 0,
        zone_id: z.id,
        server_id,
        name: rules::relative(&full, &z.name),
        created_at: now,
    };
    let mut tx = store::begin_write(&state.db).await?;
    point(&mut tx, &z, &full, &ip, now).await?;
    s.id = match store::dns::insert_subdomain(&mut *tx, &s).await {
        Ok(id) => id,
        Err(e) if store::is_unique_violation(&e) => {
            return Err(Error::Conflict(format!(
                "subdomain {} of {} already exists",
                s.name, z.name
            )))
        }
        Err(e) => return Err(e.into()),
    };
    bump(&mut tx, state, z.id).await?;
    tx.commit().await?;
    Ok(s)
}

/// The caller's subdomain by id, with its zone.
async fn own_subdomain(state: &AppState, caller: &Principal, id: i64) -> Result<(Subdomain, Zone)> {
    let s = store::dns::subdomain(&state.db, id)
        .await?
        .ok_or_else(|| Error::not_found(format!("subdomain {id} not found")))?;
    let z = admit(
        caller,
        store::dns::zone_by_id(&state.db, s.zone_id).await?,
        &format!("#{}", s.zone_id),
    )
    .map_err(|e| match e {
        Error::NotFound(_) => Error::not_found(format!("subdomain {id} not found")),
        e => e,
    })?;
    Ok((s, z))
}

/// Renames a subdomain or points it at another server (edit_subdomain).
pub async fn edit_subdomain(
    state: &AppState,
    caller: &Principal,
    id: i64,
    server_id: Option<i64>,
    name: Option<&str>,
) -> Result<Subdomain> {
    let (mut s, z) = own_subdomain(state, caller, id).await?;
    let old_full = rules::record_name(&s.name, &z.name).map_err(invalid)?;
    if let Some(server) = server_id.filter(|s| *s > 0) {
        s.server_id = server;
    }
    let ip = address_of(state, caller, s.server_id).await?;
    let full = match name {
        Some(n) => sub_name(n, &z.name)?,
        None => old_full.clone(),
    };
    s.name = rules::relative(&full, &z.name);
    let now = state.clock.now();
    let mut tx = store::begin_write(&state.db).await?;
    store::dns::delete_records(&mut *tx, z.id, &old_full, "A", None).await?;
    point(&mut tx, &z, &full, &ip, now).await?;
    match store::dns::update_subdomain(&mut *tx, &s).await {
        Ok(()) => {}
        Err(e) if store::is_unique_violation(&e) => {
            return Err(Error::Conflict(format!(
                "subdomain {} of {} already exists",
                s.name, z.name
            )))
        }
        Err(e) => return Err(e.into()),
    }
    bump(&mut tx, state, z.id).await?;
    tx.commit().await?;
    Ok(s)
}

/// Deletes a subdomain and its A records.
pub async fn delete_subdomain(state: &AppState, caller: &Principal, id: i64) -> Result<Subdomain> {
    let (s, z) = own_subdomain(state, caller, id).await?;
    let full = rules::record_name(&s.name, &z.name).map_err(invalid)?;
    let mut tx = store::begin_write(&state.db).await?;
    store::dns::delete_records(&mut *tx, z.id, &full, "A", None).await?;
    store::dns::delete_subdomain(&mut *tx, s.id).await?;
    bump(&mut tx, state, z.id).await?;
    tx.commit().await?;
    Ok(s)
}

/// A zone as a zone file (the control plane's `/_emu/dns/{zone}`), whoever's it is.
pub async fn zone_file(state: &AppState, raw: &str) -> Result<Option<String>> {
    let name = rules::zone_name(raw).map_err(invalid)?;
    let Some(z) = store::dns::zone_named(&state.db, &name).await? else {
        return Ok(None);
    };
    let records = store::dns::records(&state.db, z.id).await?;
    let lines: Vec<rules::Line<'_>> = records
        .iter()
        .map(|r| rules::Line {
            name: &r.name,
            ttl: r.ttl,
            rtype: &r.rtype,
            content: &r.content,
        })
        .collect();
    Ok(Some(rules::zone_file(&z.name, &soa_of(&z), &lines)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::test_support::{principal_of_key, state, DEMO_KEY, DEMO_SERVER_KEY, OTHER_KEY};

    fn txt(zone: &str, name: &str, content: &str) -> NewRecords {
        NewRecords {
            zone: zone.into(),
            name: name.into(),
            rtype: "TXT".into(),
            contents: vec![content.into()],
            increase_serial: true,
            ..NewRecords::default()
        }
    }

    #[tokio::test]
    async fn zones_get_soa_and_ns_and_records_raise_the_serial() {
        let state = state().await;
        let demo = principal_of_key(&state, DEMO_KEY).await;
        let z = add_zone(
            &state,
            &demo,
            NewZone {
                name: "Example.COM.".into(),
                ..NewZone::default()
            },
        )
        .await
        .expect("zone");
        assert_eq!(z.name, "example.com");
        assert_eq!(z.serial % 100, 1, "YYYYMMDD01");
        let (_, recs) = zone_with_records(&state, &demo, "example.com")
            .await
            .expect("view");
        let ns: Vec<&str> = recs.iter().map(|r| r.content.as_str()).collect();
        assert_eq!(ns, ["ns1.hostkey.com.", "ns2.hostkey.com."]);
        let e = add_zone(
            &state,
            &demo,
            NewZone {
                name: "example.com".into(),
                ..NewZone::default()
            },
        )
        .await
        .expect_err("twice");
        assert!(matches!(e, Error::Conflict(_)), "{e:?}");

        let after = add_records(&state, &demo, txt("example.com", "_acme-challenge", "tok"))
            .await
            .expect("txt");
        assert_eq!(after.serial, z.serial + 1);
        let e = add_records(&state, &demo, txt("example.com", "_acme-challenge", "tok"))
            .await
            .expect_err("duplicate");
        assert!(e.to_string().contains("already exists"), "{e}");
        let mut cname = txt("example.com", "_acme-challenge", "x.example.net");
        cname.rtype = "CNAME".into();
        let e = add_records(&state, &demo, cname)
            .await
            .expect_err("cname beside txt");
        assert!(e.to_string().contains("must stand alone"), "{e}");
        let e = add_records(&state, &demo, txt("example.com", "www.other.org.", "x"))
            .await
            .expect_err("outside");
        assert!(e.to_string().contains("outside zone"), "{e}");

        let other = principal_of_key(&state, OTHER_KEY).await;
        let e = add_records(&state, &other, txt("example.com", "x", "y"))
            .await
            .expect_err("theirs");
        assert_eq!(e.to_string(), "permission denied #3, this is not your zone");
        let scoped = principal_of_key(&state, DEMO_SERVER_KEY).await;
        assert!(zones(&state, &scoped).await.expect("zones").is_empty());
        assert!(matches!(
            zone(&state, &scoped, "example.com").await,
            Err(Error::Denied(_))
        ));

        let gone = delete_records(&state, &demo, "example.com", "_acme-challenge", "txt", true)
            .await
            .expect("delete");
        assert_eq!(gone.serial, z.serial + 2);
        assert!(matches!(
            delete_records(&state, &demo, "example.com", "_acme-challenge", "TXT", true).await,
            Err(Error::NotFound(_))
        ));
        let file = zone_file(&state, "example.com")
            .await
            .expect("file")
            .expect("zone");
        assert!(file.starts_with("$ORIGIN example.com.\n"), "{file}");
        assert!(file.contains("IN\tNS\tns1.hostkey.com."), "{file}");
    }

    #[tokio::test]
    async fn subdomains_point_at_servers_and_follow_them() {
        let state = state().await;
        let demo = principal_of_key(&state, DEMO_KEY).await;
        let z = add_zone(
            &state,
            &demo,
            NewZone {
                name: "example.com".into(),
                ..NewZone::default()
            },
        )
        .await
        .expect("zone");
        let s = add_subdomain(&state, &demo, 40101, z.id, "app")
            .await
            .expect("sub");
        let a = |state: &AppState| {
            let state = state.clone();
            async move {
                let recs = store::dns::records(&state.db, z.id).await.expect("records");
                recs.into_iter()
                    .filter(|r| r.rtype == "A")
                    .map(|r| (r.name, r.content))
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(
            a(&state).await,
            [("app.example.com".to_owned(), "31.207.45.23".to_owned())]
        );
        edit_subdomain(&state, &demo, s.id, Some(40102), Some("api"))
            .await
            .expect("edit");
        assert_eq!(
            a(&state).await,
            [("api.example.com".to_owned(), "5.39.218.37".to_owned())]
        );
        assert_eq!(
            subdomains(&state, &demo, Some(40102))
                .await
                .expect("list")
                .len(),
            1
        );
        let other = principal_of_key(&state, OTHER_KEY).await;
        assert!(delete_subdomain(&state, &other, s.id).await.is_err());
        delete_subdomain(&state, &demo, s.id).await.expect("delete");
        assert!(a(&state).await.is_empty());
    }

    #[test]
    fn srv_names_take_the_protocol() {
        assert_eq!(srv_name("sip", Some("tcp")).expect("n"), "_sip._tcp");
        assert_eq!(srv_name("_sip._tcp", Some("tcp")).expect("n"), "_sip._tcp");
        assert_eq!(
            srv_name("sip.office", Some("udp")).expect("n"),
            "_sip._udp.office"
        );
        assert_eq!(srv_name("www", None).expect("n"), "www");
        assert!(srv_name("sip", Some("http")).is_err());
    }
}
