//! DNS domains and records (hestia-protocol.md B #25-31): `v-add-dns-domain` writes the
//! `default.tpl` records, records get the next free ID, and the zones are served by the
//! emulator's DNS server as they are now ([`served_zone`]).

use sqlx::SqliteConnection;

use super::users::{owner_for_add, room_for};
use super::web::{domain_arg, is_new};
use super::{check, code, fail, field, listed, object, pick, user, user_domain, Cmd, Output, Step};
use crate::domain::hestia::listing::{Listing, Row};
use crate::domain::hestia::{self as rules};
use crate::error::Result;
use crate::state::AppState;
use crate::store::hestia::{self as objects, Attrs, Object};
use crate::store::{self};

/// `v-list-dns-domains` / `v-list-dns-domain` fields (B.1).
const DOMAIN: &[&str] = &[
    "IP",
    "TPL",
    "TTL",
    "EXP",
    "SOA",
    "SERIAL",
    "DNSSEC",
    "SRC",
    "RECORDS",
    "SUSPENDED",
    "TIME",
    "DATE",
];

/// `v-list-dns-records` fields (B.1).
const RECORD: &[&str] = &[
    "RECORD",
    "TYPE",
    "PRIORITY",
    "VALUE",
    "ID",
    "SUSPENDED",
    "TIME",
    "DATE",
    "TTL",
];

/// Record types `is_type_valid` accepts.
const TYPES: &[&str] = &[
    "A", "AAAA", "CAA", "CNAME", "DNSKEY", "DS", "IPSECKEY", "KEY", "MX", "NS", "PTR", "SPF",
    "SRV", "TLSA", "TXT",
];

/// The zone TTL of new domains.
const TTL: &str = "14400";

/// A zone's serial for a day: YYYYMMDD01.
fn serial(date: &str) -> String {
    format!("{}01", date.replace('-', ""))
}

/// The next serial after `old` on `date`: the day's first, or one more.
fn next_serial(old: &str, date: &str) -> String {
    let today = serial(date);
    match (old.parse::<u64>(), today.parse::<u64>()) {
        (Ok(o), Ok(t)) if o >= t => (o + 1).to_string(),
        _ => today,
    }
}

/// Adds a DNS domain with its template records inside the caller's transaction
/// (v-add-dns-domain, v-add-domain). `ns` empty: the user's package name servers.
pub(super) async fn add_in(
    conn: &mut SqliteConnection,
    c: &Cmd<'_>,
    owner: &Object,
    domain: &str,
    ip: &str,
    ns: &[String],
) -> Step<()> {
    is_new(conn, c, "dns", domain).await?;
    room_for(conn, c, owner, "DNS_DOMAINS", "dns").await?;
    let o = owner.attrs();
    let ns: Vec<String> = if ns.is_empty() {
        field(&o, "NS")
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    } else {
        ns.to_vec()
    };
    let (t, d) = rules::time_and_date(c.now);
    let exp = rules::time_and_date(c.now + 365 * 86_400).1;
    let mut a = Attrs::new();
    for (k, v) in [
        ("IP", ip.to_owned()),
        ("TPL", field(&o, "DNS_TEMPLATE")),
        ("TTL", TTL.into()),
        ("EXP", exp),
        ("SOA", ns.first().cloned().unwrap_or_default()),
        ("SERIAL", serial(&d)),
        ("DNSSEC", "no".into()),
        ("SRC", String::new()),
        ("SUSPENDED", "no".into()),
        ("TIME", t.clone()),
        ("DATE", d.clone()),
    ] {
        a.insert(k.into(), v);
    }
    objects::insert(
        &mut *conn,
        c.place("dns", &owner.name, ""),
        domain,
        &a,
        None,
        c.now,
    )
    .await?;
    for (i, (record, rtype, priority, value)) in rules::template_records(domain, ip, &ns)
        .into_iter()
        .enumerate()
    {
        let id = (i + 1).to_string();
        let mut r = Attrs::new();
        for (k, v) in [
            ("ID", id.clone()),
            ("RECORD", record),
            ("TYPE", rtype),
            ("PRIORITY", priority),
            ("VALUE", value),
            ("SUSPENDED", "no".into()),
            ("TIME", t.clone()),
            ("DATE", d.clone()),
            ("TTL", String::new()),
        ] {
            r.insert(k.into(), v);
        }
        objects::insert(
            &mut *conn,
            c.place("record", &owner.name, domain),
            &id,
            &r,
            None,
            c.now,
        )
        .await?;
    }
    Ok(())
}

/// `v-add-dns-domain USER DOMAIN IP [NS1]...[NS8] [RESTART]` (B #25).
pub(super) async fn add(c: &Cmd<'_>) -> Step<Output> {
    c.need(3)?;
    let domain = domain_arg(c, 2)?;
    let ip = c.arg(3);
    check(rules::valid_ip(ip), "ip", ip)?;
    let mut ns = Vec::new();
    for i in 4..=11 {
        let n = c.arg(i).trim_end_matches('.').to_lowercase();
        if !n.is_empty() {
            check(rules::valid_domain(&n), &format!("ns{}", i - 3), c.arg(i))?;
            ns.push(n);
        }
    }
    let mut tx = store::begin_write(&c.state.db).await?;
    let (owner, _) = owner_for_add(&mut tx, c).await?;
    add_in(&mut tx, c, &owner, &domain, ip, &ns).await?;
    tx.commit().await?;
    Ok(Output::ok())
}

/// A domain's records in ID order.
async fn records_of(conn: &mut SqliteConnection, c: &Cmd<'_>, z: &Object) -> Step<Vec<Object>> {
    let mut rs = objects::list(&mut *conn, c.place("record", &z.owner, &z.name)).await?;
    rs.sort_by_key(|r| r.name.parse::<u64>().unwrap_or(u64::MAX));
    Ok(rs)
}

/// `v-list-dns-domains USER [FORMAT]` / `v-list-dns-domain USER DOMAIN [FORMAT]` (B #26).
pub(super) async fn list(c: &Cmd<'_>, one: Option<&str>) -> Step<Output> {
    c.need(if one.is_some() { 2 } else { 1 })?;
    let name = c.arg(1);
    check(rules::valid_user(name), "user", name)?;
    let mut conn = c.state.db.acquire().await?;
    user(&mut conn, c, name).await?;
    let zones = match one {
        Some(_) => vec![user_domain(&mut conn, c, "dns", "dns domain").await?.1],
        None => objects::list(&mut *conn, c.place("dns", name, "")).await?,
    };
    let mut rows: Vec<Row> = Vec::new();
    for z in &zones {
        let mut a = z.attrs();
        let n = records_of(&mut conn, c, z).await?.len();
        a.insert("RECORDS".into(), n.to_string());
        rows.push((z.name.clone(), pick(&a, DOMAIN)));
    }
    let how = Listing {
        key: "DOMAIN",
        keyed: true,
        shell: &["IP", "TPL", "TTL", "DNSSEC", "RECORDS", "SUSPENDED", "DATE"],
    };
    Ok(listed(
        c.format(if one.is_some() { 3 } else { 2 }),
        &how,
        &rows,
    ))
}

/// `v-delete-dns-domain USER DOMAIN` (B #27), with its records.
pub(super) async fn delete(c: &Cmd<'_>) -> Step<Output> {
    c.need(2)?;
    let mut tx = store::begin_write(&c.state.db).await?;
    let (u, z) = user_domain(&mut tx, c, "dns", "dns domain").await?;
    objects::delete_children(&mut *tx, c.place("record", &u.name, &z.name)).await?;
    objects::delete(&mut *tx, z.id).await?;
    tx.commit().await?;
    Ok(Output::ok())
}

/// A record's RECORD, TYPE, VALUE and PRIORITY as Hestia stores them: the record
/// lower-cased, the type upper-cased, host names given a trailing dot, TXT quoted, a
/// priority only for MX and SRV (10 by default).
fn record_fields(
    record: &str,
    rtype: &str,
    value: &str,
    priority: &str,
) -> Step<(String, String, String, String)> {
    let record = record.trim().to_lowercase();
    check(
        !record.is_empty()
            && record
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || "-._*@".contains(ch)),
        "record",
        &record,
    )?;
    let rtype = rtype.trim().to_uppercase();
    if !TYPES.contains(&rtype.as_str()) {
        return Err(fail(code::E_INVALID, format!("{rtype} type is invalid")));
    }
    let mut value = value.trim().to_owned();
    check(
        !value.is_empty() && !value.chars().any(char::is_control),
        "dvalue",
        &value,
    )?;
    match rtype.as_str() {
        "NS" | "CNAME" | "MX" | "PTR" | "SRV" if !value.ends_with('.') => value.push('.'),
        "TXT" | "SPF" if !value.starts_with('"') => value = format!("\"{value}\""),
        "A" => check(rules::valid_ip(&value), "ip", &value)?,
        _ => {}
    }
    let priority = match rtype.as_str() {
        "MX" | "SRV" => {
            let p = if priority.is_empty() { "10" } else { priority };
            check(p.parse::<u16>().is_ok(), "priority", p)?;
            p.to_owned()
        }
        _ => String::new(),
    };
    Ok((record, rtype, value, priority))
}

/// Bumps a zone's serial after a change of its records.
async fn touch(conn: &mut SqliteConnection, c: &Cmd<'_>, z: &Object) -> Step<()> {
    let mut a = z.attrs();
    let (_, d) = rules::time_and_date(c.now);
    a.insert("SERIAL".into(), next_serial(&field(&a, "SERIAL"), &d));
    objects::set_attrs(&mut *conn, z.id, &a).await?;
    Ok(())
}

/// The TTL argument: empty, or a number of seconds.
fn ttl_arg(c: &Cmd<'_>, i: usize) -> Step<String> {
    let ttl = c.arg(i);
    check(ttl.is_empty() || ttl.parse::<u32>().is_ok(), "ttl", ttl)?;
    Ok(ttl.to_owned())
}

/// `v-add-dns-record USER DOMAIN RECORD TYPE VALUE [PRIORITY] [ID] [RESTART] [TTL]`
/// (B #28): ID is the highest plus one when not given.
pub(super) async fn add_record(c: &Cmd<'_>) -> Step<Output> {
    c.need(5)?;
    let (record, rtype, value, priority) = record_fields(c.arg(3), c.arg(4), c.arg(5), c.arg(6))?;
    let id_arg = c.arg(7);
    check(
        id_arg.is_empty() || id_arg.parse::<u32>().is_ok(),
        "id",
        id_arg,
    )?;
    let ttl = ttl_arg(c, 9)?;
    let mut tx = store::begin_write(&c.state.db).await?;
    let (u, z) = user_domain(&mut tx, c, "dns", "dns domain").await?;
    if field(&u.attrs(), "SUSPENDED") == "yes" {
        return Err(fail(
            code::E_SUSPENDED,
            format!("user {} is suspended", u.name),
        ));
    }
    if field(&z.attrs(), "SUSPENDED") == "yes" {
        return Err(fail(
            code::E_SUSPENDED,
            format!("dns {} is suspended", z.name),
        ));
    }
    let rs = records_of(&mut tx, c, &z).await?;
    super::within(&u.attrs(), "DNS_RECORDS", rs.len())?;
    let id = if id_arg.is_empty() {
        let max = rs
            .iter()
            .filter_map(|r| r.name.parse::<u64>().ok())
            .max()
            .unwrap_or(0);
        (max + 1).to_string()
    } else {
        let id = id_arg.parse::<u64>().unwrap_or(0).to_string();
        if rs.iter().any(|r| r.name == id) {
            return Err(fail(code::E_EXISTS, format!("ID={id} already exists")));
        }
        id
    };
    let mut a = Attrs::new();
    for (k, v) in [
        ("ID", id.clone()),
        ("RECORD", record),
        ("TYPE", rtype),
        ("PRIORITY", priority),
        ("VALUE", value),
        ("SUSPENDED", "no".into()),
        ("TTL", ttl),
    ] {
        a.insert(k.into(), v);
    }
    c.stamp(&mut a);
    objects::insert(
        &mut *tx,
        c.place("record", &u.name, &z.name),
        &id,
        &a,
        None,
        c.now,
    )
    .await?;
    touch(&mut tx, c, &z).await?;
    tx.commit().await?;
    Ok(Output::ok())
}

/// `v-list-dns-records USER DOMAIN [FORMAT]` (B #29): keyed by ID; a record without its
/// own TTL shows the zone's.
pub(super) async fn records(c: &Cmd<'_>) -> Step<Output> {
    c.need(2)?;
    let mut conn = c.state.db.acquire().await?;
    let (_, z) = user_domain(&mut conn, c, "dns", "dns domain").await?;
    let zone_ttl = field(&z.attrs(), "TTL");
    let rows: Vec<Row> = records_of(&mut conn, c, &z)
        .await?
        .iter()
        .map(|r| {
            let mut a = r.attrs();
            if field(&a, "TTL").is_empty() {
                a.insert("TTL".into(), zone_ttl.clone());
            }
            (r.name.clone(), pick(&a, RECORD))
        })
        .collect();
    let how = Listing {
        key: "ID",
        keyed: true,
        shell: &["RECORD", "TYPE", "VALUE", "DATE"],
    };
    Ok(listed(c.format(3), &how, &rows))
}

/// The record named by argument 3 of the zone.
async fn record_of(conn: &mut SqliteConnection, c: &Cmd<'_>, z: &Object) -> Step<Object> {
    let id = c.arg(3);
    check(id.parse::<u32>().is_ok(), "id", id)?;
    object(
        conn,
        c.place("record", &z.owner, &z.name),
        id,
        &format!("{} id", z.name),
    )
    .await
}

/// `v-change-dns-record USER DOMAIN ID RECORD TYPE VALUE [PRIORITY] [RESTART] [TTL]` (B #30).
pub(super) async fn change_record(c: &Cmd<'_>) -> Step<Output> {
    c.need(6)?;
    let (record, rtype, value, priority) = record_fields(c.arg(4), c.arg(5), c.arg(6), c.arg(7))?;
    let ttl = ttl_arg(c, 9)?;
    let mut tx = store::begin_write(&c.state.db).await?;
    let (_, z) = user_domain(&mut tx, c, "dns", "dns domain").await?;
    let r = record_of(&mut tx, c, &z).await?;
    let mut a = r.attrs();
    a.insert("RECORD".into(), record);
    a.insert("TYPE".into(), rtype);
    a.insert("VALUE".into(), value);
    a.insert("PRIORITY".into(), priority);
    if !ttl.is_empty() {
        a.insert("TTL".into(), ttl);
    }
    c.stamp(&mut a);
    objects::set_attrs(&mut *tx, r.id, &a).await?;
    touch(&mut tx, c, &z).await?;
    tx.commit().await?;
    Ok(Output::ok())
}

/// `v-delete-dns-record USER DOMAIN ID [RESTART]` (B #31).
pub(super) async fn delete_record(c: &Cmd<'_>) -> Step<Output> {
    c.need(3)?;
    let mut tx = store::begin_write(&c.state.db).await?;
    let (_, z) = user_domain(&mut tx, c, "dns", "dns domain").await?;
    let r = record_of(&mut tx, c, &z).await?;
    objects::delete(&mut *tx, r.id).await?;
    touch(&mut tx, c, &z).await?;
    tx.commit().await?;
    Ok(Output::ok())
}

/// The panel zone holding `name`, as the DNS server's zone and records (see
/// [`super::dns_zone_holding`]).
pub(super) async fn served_zone(
    state: &AppState,
    name: &str,
) -> Result<Option<(store::dns::Zone, Vec<store::dns::Record>)>> {
    let Some(z) = objects::zone_holding(&state.db, name).await? else {
        return Ok(None);
    };
    let a = z.attrs();
    if field(&a, "SUSPENDED") == "yes" {
        return Ok(None);
    }
    let ttl: i64 = field(&a, "TTL").parse().unwrap_or(14_400);
    let soa_host = field(&a, "SOA");
    let zone = store::dns::Zone {
        id: -z.id,
        account_id: 0,
        server_id: 0,
        name: z.name.clone(),
        kind: "Native".into(),
        masters: String::new(),
        dnssec: 0,
        soa_ttl: ttl,
        mname: format!("{}.", soa_host.trim_end_matches('.')),
        rname: format!("root.{}.", z.name),
        serial: field(&a, "SERIAL").parse().unwrap_or(1),
        refresh: 7200,
        retry: 3600,
        expire: 1_209_600,
        minimum: 180,
        created_at: z.created_at,
        updated_at: z.created_at,
    };
    let at = objects::Place {
        panel_id: z.panel_id,
        kind: "record",
        owner: &z.owner,
        parent: &z.name,
    };
    let records = objects::list(&state.db, at)
        .await?
        .into_iter()
        .filter_map(|r| {
            let ra = r.attrs();
            if field(&ra, "SUSPENDED") == "yes" {
                return None;
            }
            let host = field(&ra, "RECORD");
            let full = if host == "@" {
                z.name.clone()
            } else {
                format!("{host}.{}", z.name)
            };
            let value = field(&ra, "VALUE");
            let priority = field(&ra, "PRIORITY");
            let rtype = field(&ra, "TYPE");
            let content = match rtype.as_str() {
                "MX" | "SRV" => format!("{priority} {value}"),
                "TXT" | "SPF" => txt_chunks(&value),
                _ => value.clone(),
            };
            Some(store::dns::Record {
                id: r.id,
                zone_id: -z.id,
                name: full,
                rtype,
                content,
                given: value,
                ttl: field(&ra, "TTL").parse().unwrap_or(ttl),
                priority: priority.parse().unwrap_or(0),
                created_at: r.created_at,
            })
        })
        .collect();
    Ok(Some((zone, records)))
}

/// Adds records to the user's DNS domain `domain` if it has one (the DKIM records of a
/// mail domain), each with the next free ID; whether the domain was there.
pub(super) async fn add_records_in(
    conn: &mut SqliteConnection,
    c: &Cmd<'_>,
    owner: &str,
    domain: &str,
    records: &[(&str, &str, String)],
) -> Step<bool> {
    let Some(z) = objects::get(&mut *conn, c.place("dns", owner, ""), domain).await? else {
        return Ok(false);
    };
    let mut next = records_of(conn, c, &z)
        .await?
        .iter()
        .filter_map(|r| r.name.parse::<u64>().ok())
        .max()
        .unwrap_or(0);
    for (record, rtype, value) in records {
        next += 1;
        let id = next.to_string();
        let mut a = Attrs::new();
        for (k, v) in [
            ("ID", id.clone()),
            ("RECORD", (*record).to_owned()),
            ("TYPE", (*rtype).to_owned()),
            ("PRIORITY", String::new()),
            ("VALUE", value.clone()),
            ("SUSPENDED", "no".into()),
            ("TTL", String::new()),
        ] {
            a.insert(k.into(), v);
        }
        c.stamp(&mut a);
        objects::insert(
            &mut *conn,
            c.place("record", owner, domain),
            &id,
            &a,
            None,
            c.now,
        )
        .await?;
    }
    touch(conn, c, &z).await?;
    Ok(true)
}

/// Deletes the records named `names` (any type) from the user's DNS domain, if it has one.
pub(super) async fn delete_records_in(
    conn: &mut SqliteConnection,
    c: &Cmd<'_>,
    owner: &str,
    domain: &str,
    names: &[&str],
) -> Step<()> {
    let Some(z) = objects::get(&mut *conn, c.place("dns", owner, ""), domain).await? else {
        return Ok(());
    };
    for r in records_of(conn, c, &z).await? {
        if names.contains(&field(&r.attrs(), "RECORD").as_str()) {
            objects::delete(&mut *conn, r.id).await?;
        }
    }
    touch(conn, c, &z).await?;
    Ok(())
}

/// A TXT value as DNS character-strings of at most 255 bytes: a single quoted string longer
/// than that (a DKIM key) is split into several, as name servers do.
fn txt_chunks(value: &str) -> String {
    let inner = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .filter(|v| !v.contains('"') && !v.contains('\\') && v.is_ascii());
    match inner {
        Some(v) if v.len() > 255 => v
            .as_bytes()
            .chunks(255)
            .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
            .collect::<Vec<_>>()
            .join(" "),
        _ => value.to_owned(),
    }
}
