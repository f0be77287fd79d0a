//! A database's state as a scenario (`hostkey-emu scenario export`): what the scenario
//! format can say of the locations, subnets, accounts and servers, with dates made relative
//! to `now` again, so that loading the file into an empty database answers eq/list and
//! eq/show as this one does.
//!
//! The database keeps secrets only as hashes and digests: passwords and PINs are exported
//! as their PHC strings (`password_hash`, `pin_hash`), and an API key or F2HCloud key only
//! when the caller knows it in clear (the keys of the scenario the database was loaded
//! from); the others are left out and reported. What the format has no field for (orders,
//! invoices, DNS zones, S3, tickets, a port the customer switched off...) is not exported:
//! a snapshot (`hostkey-emu snapshot export`) keeps everything.

use std::collections::HashMap;

use serde_json::Value;
use sqlx::FromRow;

use super::{sql, Db};
use crate::domain::hardware::HardwareSpec;
use crate::domain::scenario::{
    format_cents, midnight, AccountSpec, ApiKeySpec, F2hBanSpec, F2hKeySpec, InterfaceSpec, IpSpec,
    IpmiSpec, LocationSpec, Scenario, ServerSpec, SubnetSpec, TagSpec,
};
use crate::secrets;

/// An exported scenario and what could not be exported.
#[derive(Debug)]
pub struct Export {
    pub scenario: Scenario,
    /// One line per thing left out (a key whose secret is unknown, ...).
    pub left_out: Vec<String>,
}

/// Whole days from `earlier` to `later`, rounded (loads place dates on whole days).
fn days(later: i64, earlier: i64) -> i64 {
    (later - earlier + 43_200).div_euclid(86_400)
}

#[derive(FromRow)]
struct SubnetRow {
    id: i64,
    location: String,
    network: String,
    cidr: i64,
    gateway: String,
    vlan: i64,
    kind: String,
    tag: String,
}

#[derive(FromRow)]
struct AccountRow {
    id: i64,
    handle: String,
    whmcs_id: i64,
    email: String,
    password_hash: String,
    firstname: String,
    lastname: String,
    companyname: String,
    address1: String,
    address2: String,
    city: String,
    state: String,
    postcode: String,
    country: String,
    phonenumber: String,
    currency_code: String,
    credit_cents: i64,
    corporate: i64,
    verified: Option<i64>,
    pin_hash: Option<String>,
    created_at: i64,
    billing_profile: String,
}

#[derive(FromRow)]
struct ServerRow {
    id: i64,
    handle: Option<String>,
    location: String,
    kind: String,
    #[sqlx(rename = "type")]
    server_type: String,
    status: String,
    power: String,
    control: String,
    ipmi_model: String,
    preset: String,
    preset_description: String,
    hardware: String,
    groups: String,
    licenses: String,
    os: Option<String>,
    reg_date: i64,
    due_date: i64,
    billing_cycle: String,
    recurring_cents: i64,
    limit_traffic: i64,
    cost_traffic: i64,
    limit_bands: i64,
    traffic_in_gb: f64,
    traffic_out_gb: f64,
}

#[derive(FromRow)]
struct InterfaceRow {
    id: i64,
    server_id: i64,
    #[sqlx(rename = "type")]
    port: String,
    mac: String,
    is_main: i64,
    is_virt: i64,
    switch_owner: String,
    switch_model: String,
    switch_port: String,
    speed: i64,
    blocked_by: Option<String>,
    block_reason: String,
}

#[derive(FromRow)]
struct IpRow {
    address: String,
    server_id: i64,
    port: String,
    main_ip: i64,
    description: String,
    license_id: Option<i64>,
    license_name: Option<String>,
    admin_block: Option<String>,
}

#[derive(FromRow)]
struct TagRow {
    id: i64,
    component_id: i64,
    tag: String,
    value: String,
    extra: String,
    internal: i64,
}

#[derive(FromRow)]
struct KeyRow {
    id: i64,
    account_id: i64,
    server_id: i64,
    name: String,
    key_digest: String,
    ip: String,
    login_notify_method: String,
    login_notify_address: Option<String>,
    active: i64,
}

#[derive(FromRow)]
struct F2hKeyRow {
    id: String,
    account_id: i64,
    secret_digest: String,
    label: String,
    server_ids: String,
    cidrs: String,
    capabilities: String,
}

#[derive(FromRow)]
struct BanRow {
    account_id: i64,
    server_id: i64,
    address: String,
    jail: String,
    expires_at: i64,
}

/// The rows of a query (no parameters), grouped by their owner.
async fn grouped<T>(
    db: &Db,
    query: &str,
    owner: impl Fn(&T) -> i64,
) -> Result<HashMap<i64, Vec<T>>, sqlx::Error>
where
    T: Send + Unpin + for<'r> FromRow<'r, sqlx::sqlite::SqliteRow>,
{
    Ok(group(sql::query_as::<T>(query).fetch_all(db).await?, owner))
}

/// Rows grouped by an owner id, in the order read.
fn group<T>(rows: Vec<T>, owner: impl Fn(&T) -> i64) -> HashMap<i64, Vec<T>> {
    let mut map: HashMap<i64, Vec<T>> = HashMap::new();
    for r in rows {
        map.entry(owner(&r)).or_default().push(r);
    }
    map
}

fn tag_spec(t: TagRow) -> TagSpec {
    TagSpec {
        id: Some(t.id),
        tag: t.tag,
        value: t.value,
        extra: t.extra,
        extra_days_ago: None,
        internal: t.internal,
    }
}

/// The database's state at `now` (the emulator's clock) as a scenario. `known_keys`: API
/// keys and F2HCloud keys in clear (`f2h.<id>.<secret>` for the latter) that may be
/// exported when the database holds their digest.
pub async fn export(db: &Db, now: i64, known_keys: &[String]) -> Result<Export, sqlx::Error> {
    let mut left_out = Vec::new();
    let name = super::meta_get(db, "scenario")
        .await?
        .unwrap_or_else(|| "exported".into());
    let today = midnight(now);

    let locations: Vec<(String, i64, String, String, String, String)> = sql::query_as(
        "SELECT code, id, name, dc_name, country, company FROM locations ORDER BY rowid",
    )
    .fetch_all(db)
    .await?;
    let locations = locations
        .into_iter()
        .map(|(code, id, name, dc_name, country, company)| LocationSpec {
            code,
            id,
            name,
            dc_name,
            country,
            company: company.lines().map(str::to_owned).collect(),
        })
        .collect();

    let subnets: Vec<SubnetRow> = sql::query_as(
        "SELECT id, location, network, cidr, gateway, vlan, kind, tag FROM subnets ORDER BY rowid",
    )
    .fetch_all(db)
    .await?;
    let subnets = subnets
        .into_iter()
        .map(|s| SubnetSpec {
            id: s.id,
            location: s.location,
            network: format!("{}/{}", s.network, s.cidr),
            gateway: s.gateway,
            vlan: s.vlan,
            // IPMI and NAT pools are tagged by their kind when loaded.
            tag: if s.kind == "public" {
                s.tag
            } else {
                String::new()
            },
            kind: s.kind,
        })
        .collect();

    let hostnames: HashMap<i64, String> = sql::query_as::<(i64, String)>(
        "SELECT component_id, value FROM tags WHERE component = 'eq' AND tag = 'hostname'",
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .collect();

    // Keys known in clear, by digest (API keys) and by public id (F2HCloud keys).
    let api_known: HashMap<String, &String> =
        known_keys.iter().map(|k| (secrets::digest(k), k)).collect();
    let f2h_known: HashMap<(String, String), &String> = known_keys
        .iter()
        .filter_map(|k| {
            let (id, secret) = crate::domain::f2h::parse_key(k)?;
            Some(((id.to_owned(), secrets::digest(secret)), k))
        })
        .collect();

    let mut account_tags = grouped::<TagRow>(
        db,
        "SELECT id, component_id, tag, value, extra, internal FROM tags \
         WHERE component = 'customers' ORDER BY id",
        |t| t.component_id,
    )
    .await?;
    let mut api_keys = grouped::<KeyRow>(
        db,
        "SELECT id, account_id, server_id, name, key_digest, ip, login_notify_method, \
         login_notify_address, active FROM api_keys ORDER BY id",
        |k| k.account_id,
    )
    .await?;
    let mut f2h_keys = grouped::<F2hKeyRow>(
        db,
        "SELECT id, account_id, secret_digest, label, server_ids, cidrs, capabilities \
         FROM f2h_keys WHERE revoked_at IS NULL ORDER BY created_at, id",
        |k| k.account_id,
    )
    .await?;
    let mut bans = group(
        sql::query_as::<BanRow>(
            "SELECT s.account_id AS account_id, b.server_id, b.address, b.jail, b.expires_at \
             FROM f2h_bans b JOIN servers s ON s.id = b.server_id \
             WHERE b.lifted_at IS NULL AND b.expires_at > ? AND s.account_id IS NOT NULL \
             ORDER BY b.id",
        )
        .bind(now)
        .fetch_all(db)
        .await?,
        |b| b.account_id,
    );

    let account_rows: Vec<AccountRow> = sql::query_as(
        "SELECT id, handle, whmcs_id, email, password_hash, firstname, lastname, companyname, \
         address1, address2, city, state, postcode, country, phonenumber, currency_code, \
         credit_cents, corporate, verified, pin_hash, created_at, billing_profile \
         FROM accounts ORDER BY rowid",
    )
    .fetch_all(db)
    .await?;
    let mut accounts = Vec::with_capacity(account_rows.len());
    for a in account_rows {
        let mut keys = Vec::new();
        for k in api_keys.remove(&a.id).unwrap_or_default() {
            match api_known.get(&k.key_digest) {
                Some(clear) => keys.push(ApiKeySpec {
                    id: k.id,
                    name: k.name,
                    key: (*clear).clone(),
                    server_id: k.server_id,
                    ip: k.ip,
                    login_notify_method: k.login_notify_method,
                    login_notify_address: k.login_notify_address,
                    active: k.active,
                }),
                None => left_out.push(format!(
                    "account {}: API key {} ({:?}): its secret is kept only as a digest",
                    a.handle, k.id, k.name
                )),
            }
        }
        let mut f2h = Vec::new();
        for k in f2h_keys.remove(&a.id).unwrap_or_default() {
            let Some(clear) = f2h_known.get(&(k.id.clone(), k.secret_digest.clone())) else {
                left_out.push(format!(
                    "account {}: F2HCloud key f2h.{}: its secret is kept only as a digest",
                    a.handle, k.id
                ));
                continue;
            };
            let ids: Vec<i64> = serde_json::from_str(&k.server_ids).unwrap_or_default();
            let servers: Vec<String> = ids
                .iter()
                .filter_map(|id| hostnames.get(id).cloned())
                .collect();
            if servers.len() != ids.len() || servers.is_empty() {
                left_out.push(format!(
                    "account {}: F2HCloud key f2h.{}: a server of it has no hostname",
                    a.handle, k.id
                ));
                continue;
            }
            let cidrs: Vec<String> = serde_json::from_str(&k.cidrs).unwrap_or_default();
            f2h.push(F2hKeySpec {
                key: (*clear).clone(),
                label: k.label,
                servers,
                cidrs: cidrs.join("\n"),
                capabilities: serde_json::from_str(&k.capabilities).unwrap_or_default(),
            });
        }
        let mut f2h_bans = Vec::new();
        for b in bans.remove(&a.id).unwrap_or_default() {
            let Some(server) = hostnames.get(&b.server_id) else {
                left_out.push(format!(
                    "account {}: ban of {} on server {}: the server has no hostname",
                    a.handle, b.address, b.server_id
                ));
                continue;
            };
            f2h_bans.push(F2hBanSpec {
                server: server.clone(),
                ip: b.address,
                jail: b.jail,
                expires_in_minutes: ((b.expires_at - now + 59) / 60).max(1),
            });
        }
        let billing: Option<Value> = serde_json::from_str(&a.billing_profile).ok();
        accounts.push(AccountSpec {
            id: a.id,
            handle: a.handle,
            whmcs_id: a.whmcs_id,
            email: a.email,
            password: String::new(),
            pin: None,
            password_hash: Some(a.password_hash),
            pin_hash: a.pin_hash,
            firstname: a.firstname,
            lastname: a.lastname,
            companyname: a.companyname,
            address1: a.address1,
            address2: a.address2,
            city: a.city,
            state: a.state,
            postcode: a.postcode,
            country: a.country,
            phonenumber: a.phonenumber,
            currency_code: a.currency_code,
            credit: format_cents(a.credit_cents),
            corporate: a.corporate,
            verified: a.verified,
            created_days_ago: Some(days(now, a.created_at)),
            billing: billing.filter(|b| b.as_object().is_some_and(|o| !o.is_empty())),
            api_keys: keys,
            tags: account_tags
                .remove(&a.id)
                .unwrap_or_default()
                .into_iter()
                .map(tag_spec)
                .collect(),
            f2h_keys: f2h,
            f2h_bans,
        });
    }

    let mut server_tags = grouped::<TagRow>(
        db,
        "SELECT id, component_id, tag, value, extra, internal FROM tags \
         WHERE component = 'eq' ORDER BY id",
        |t| t.component_id,
    )
    .await?;
    let mut interfaces = grouped::<InterfaceRow>(
        db,
        "SELECT id, server_id, type, mac, is_main, is_virt, switch_owner, switch_model, \
         switch_port, speed, blocked_by, block_reason FROM interfaces ORDER BY id",
        |i| i.server_id,
    )
    .await?;
    let mut ips = grouped::<IpRow>(
        db,
        "SELECT i.address, i.server_id, i.port, i.main_ip, i.description, i.license_id, \
         i.license_name, b.description AS admin_block FROM ips i \
         LEFT JOIN ip_blocks b ON b.address = i.address AND b.kind = 'admin' \
         WHERE i.server_id IS NOT NULL ORDER BY i.id",
        |i| i.server_id,
    )
    .await?;
    let server_rows: Vec<ServerRow> = sql::query_as(
        "SELECT s.id, a.handle, s.location, s.kind, s.type, s.status, s.power, s.control, \
         s.ipmi_model, s.preset, s.preset_description, s.hardware, s.groups, s.licenses, s.os, \
         s.reg_date, s.due_date, s.billing_cycle, s.recurring_cents, s.limit_traffic, \
         s.cost_traffic, s.limit_bands, s.traffic_in_gb, s.traffic_out_gb \
         FROM servers s LEFT JOIN accounts a ON a.id = s.account_id ORDER BY s.id",
    )
    .fetch_all(db)
    .await?;
    let mut servers = Vec::with_capacity(server_rows.len());
    for s in server_rows {
        let rendered: Value = serde_json::from_str(&s.hardware).unwrap_or_default();
        let Some(hardware) = HardwareSpec::from_rendered(&rendered) else {
            left_out.push(format!("server {}: its hardware cannot be read", s.id));
            continue;
        };
        let mut addresses = ips.remove(&s.id).unwrap_or_default();
        let mut ipmi = None;
        let mut ports = Vec::new();
        for i in interfaces.remove(&s.id).unwrap_or_default() {
            let (mine, rest): (Vec<IpRow>, Vec<IpRow>) =
                addresses.into_iter().partition(|a| a.port == i.port);
            addresses = rest;
            if i.port == "ipmi" {
                match mine.into_iter().next() {
                    Some(a) => {
                        ipmi = Some(IpmiSpec {
                            id: i.id,
                            ip: a.address,
                            mac: i.mac,
                        })
                    }
                    None => left_out.push(format!("server {}: IPMI port without address", s.id)),
                }
                continue;
            }
            if i.blocked_by.as_deref().is_some_and(|b| b != "admin") {
                left_out.push(format!(
                    "server {}: port {} switched off by the customer (exported switched on)",
                    s.id, i.port
                ));
            }
            ports.push(InterfaceSpec {
                id: i.id,
                iface_type: i.port,
                mac: i.mac,
                main: i.is_main != 0,
                virt: i.is_virt != 0,
                switch_owner: i.switch_owner,
                switch_model: i.switch_model,
                switch_port: i.switch_port,
                speed: i.speed,
                ips: mine
                    .into_iter()
                    .map(|a| IpSpec {
                        address: a.address,
                        main: a.main_ip != 0,
                        description: a.description,
                        license_id: a.license_id,
                        license_name: a.license_name,
                        admin_block: a.admin_block,
                    })
                    .collect(),
                admin_block: (i.blocked_by.as_deref() == Some("admin")).then_some(i.block_reason),
            });
        }
        for a in addresses {
            left_out.push(format!(
                "server {}: address {} on port {}, which the server does not have",
                s.id, a.address, a.port
            ));
        }
        servers.push(ServerSpec {
            // A Hestia panel's state is not part of a scenario export (its users, domains
            // and keys live in the panel's own tables).
            hestia: None,
            id: s.id,
            account: s.handle,
            location: s.location,
            kind: s.kind,
            server_type: s.server_type,
            status: s.status,
            power: s.power,
            control: s.control,
            ipmi_model: s.ipmi_model,
            preset: s.preset,
            preset_description: s.preset_description,
            hardware,
            groups: serde_json::from_str(&s.groups).unwrap_or_default(),
            licenses: serde_json::from_str(&s.licenses).unwrap_or_default(),
            os: s
                .os
                .and_then(|o| serde_json::from_str(&o).ok())
                .filter(|o: &Value| !o.is_null()),
            registered_days_ago: days(today, s.reg_date),
            days_left: Some(days(s.due_date, today)),
            billing_cycle: s.billing_cycle,
            recurring: format_cents(s.recurring_cents),
            limit_traffic: s.limit_traffic,
            limit_bands: s.limit_bands,
            cost_traffic: s.cost_traffic,
            traffic_in_gb: s.traffic_in_gb,
            traffic_out_gb: s.traffic_out_gb,
            interfaces: ports,
            ipmi,
            tags: server_tags
                .remove(&s.id)
                .unwrap_or_default()
                .into_iter()
                .map(tag_spec)
                .collect(),
        });
    }
    Ok(Export {
        scenario: Scenario {
            name,
            description: format!("Exported by hostkey-emu {}", env!("CARGO_PKG_VERSION")),
            locations,
            subnets,
            accounts,
            servers,
            faults: None,
        },
        left_out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::scenario::Scenario;
    use crate::secrets::Hasher;
    use crate::store;

    const NOW: i64 = 1_796_000_000;

    fn demo_keys(sc: &Scenario) -> Vec<String> {
        sc.accounts
            .iter()
            .flat_map(|a| {
                a.api_keys
                    .iter()
                    .map(|k| k.key.clone())
                    .chain(a.f2h_keys.iter().map(|k| k.key.clone()))
            })
            .collect()
    }

    #[tokio::test]
    async fn the_demo_exports_to_a_scenario_that_loads_the_same_rows() {
        let demo = Scenario::resolve("demo").expect("demo");
        let hasher = Hasher::new(19456);
        let db = store::open(":memory:").await.expect("db");
        store::scenario::load(&demo, &db, &hasher, NOW)
            .await
            .expect("loads");
        let out = export(&db, NOW, &demo_keys(&demo)).await.expect("export");
        assert!(out.left_out.is_empty(), "{:?}", out.left_out);
        let sc = out.scenario;
        sc.check().expect("the export is consistent");
        assert_eq!(sc.servers.len(), demo.servers.len());
        assert_eq!(
            sc.accounts[0].api_keys.len(),
            demo.accounts[0].api_keys.len()
        );
        assert_eq!(
            sc.accounts[0].f2h_keys.len(),
            demo.accounts[0].f2h_keys.len()
        );
        // Loaded again at the same moment: the same servers, addresses and tags.
        let again = store::open(":memory:").await.expect("db");
        store::scenario::load(&sc, &again, &hasher, NOW)
            .await
            .expect("the export loads");
        for table in [
            "servers",
            "interfaces",
            "ips",
            "ip_blocks",
            "tags",
            "api_keys",
        ] {
            assert_eq!(
                store::test_support::count(&again, table).await,
                store::test_support::count(&db, table).await,
                "{table}"
            );
        }
        let row = |db: Db| async move {
            sql::query_as::<(i64, String, i64, i64, String)>(
                "SELECT id, hwconfig, reg_date, due_date, hardware FROM servers ORDER BY id",
            )
            .fetch_all(&db)
            .await
            .expect("servers")
        };
        assert_eq!(row(again).await, row(db).await);
    }

    #[tokio::test]
    async fn keys_whose_secret_is_unknown_are_left_out_and_reported() {
        let demo = Scenario::resolve("demo").expect("demo");
        let db = store::open(":memory:").await.expect("db");
        store::scenario::load(&demo, &db, &Hasher::new(64), NOW)
            .await
            .expect("loads");
        let out = export(&db, NOW, &[]).await.expect("export");
        assert!(out.scenario.accounts.iter().all(|a| a.api_keys.is_empty()));
        assert!(
            out.left_out
                .iter()
                .any(|l| l.contains("API key 484") && l.contains("digest")),
            "{:?}",
            out.left_out
        );
        out.scenario.check().expect("still consistent");
    }
}
