//! A server's IPv4 addresses: adding them from the location's pools, removing them,
//! listing what is free, their PTR records and which one is main (000 "add_ipv4",
//! "remove_ipv4", "show_ipv4_free"; 001 "ip/update_ptr", "ip/set_main"). Every write
//! reads and checks inside its `BEGIN IMMEDIATE` transaction, so concurrent requests
//! cannot act on an address that has meanwhile moved or lost its main flag.

use std::net::Ipv4Addr;

use super::ipam;
use super::ports::eq_task;
use super::sessions::Principal;
use crate::domain::rules::{shorten, valid_hostname};
use crate::error::{Error, Result};
use crate::queue::{self, ip_context, IpChange, Job};
use crate::state::AppState;
use crate::store::{
    self,
    servers::{Interface, IpRow, Server, Subnet},
};

/// At most this many addresses are added per request.
pub const MAX_PER_REQUEST: usize = 32;
/// At most this many PTR records per address.
pub const MAX_PTR_RECORDS: usize = 8;
/// show_ipv4_free lists at most this many addresses (it counts them all).
pub const MAX_LISTED: usize = 512;

/// One of the server's public addresses (not its IPMI address).
pub async fn own_address(state: &AppState, server: &Server, ip: Ipv4Addr) -> Result<IpRow> {
    let addr = ip.to_string();
    store::servers::ips(&state.db, server.id)
        .await?
        .into_iter()
        .find(|i| i.address == addr && i.port != "ipmi")
        .ok_or_else(|| Error::not_found(format!("ip {addr} not found on server {}", server.id)))
}

/// The VLAN of a port: that of its addresses, else the location's first public pool
/// for the server.
pub async fn port_vlan(state: &AppState, server: &Server, port: &str) -> Result<i64> {
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

/// Which pools a request may take addresses from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolChoice {
    /// The pools' tag as asked (`ovirt`, `bm`, `ipmi`; any case); the server's own when
    /// none is given.
    pub tag: Option<String>,
    /// Technical networks were asked for (administrators only).
    pub tech_networks: bool,
    /// Exactly this VLAN's pools; otherwise the port's own VLAN first, then the others.
    pub vlan: Option<i64>,
}

/// The tag of the public pools a request may use: the server's own (`ovirt` for a VM,
/// `bm` for bare metal). Technical networks are for administrators.
pub fn pool_tag(choice: &PoolChoice, server: &Server) -> Result<&'static str> {
    if choice.tech_networks {
        return Err(Error::denied(
            "permission denied, allow_tech_networks is for administrators",
        ));
    }
    let own = server.pool_tag();
    let asked = choice.tag.as_deref().map(|t| t.trim().to_ascii_lowercase());
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
    choice: &PoolChoice,
    server: &Server,
    own_vlan: i64,
) -> Result<Vec<Subnet>> {
    let tag = pool_tag(choice, server)?;
    let vlan = choice.vlan;
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

/// How many new addresses an add asks for, beside `named` specific ones: `amount` is
/// needed without them, at least 1, and a request takes at most [`MAX_PER_REQUEST`].
pub fn check_amount(named: usize, amount: Option<i64>) -> Result<usize> {
    if named == 0 && amount.is_none() {
        return Err(Error::invalid("invalid request, give amount, ip or ips[]"));
    }
    if named == 0 && amount.is_some_and(|a| a < 1) {
        return Err(Error::invalid("amount must be at least 1"));
    }
    let amount = amount.unwrap_or(0);
    if !(0..=MAX_PER_REQUEST as i64).contains(&amount) || named > MAX_PER_REQUEST {
        return Err(Error::invalid("at most 32 addresses per request"));
    }
    Ok(amount as usize)
}

/// How long (seconds) a released address stays out of reach: -1 (ignore the
/// quarantine) up to a year.
pub fn check_fresh_period(seconds: i64) -> Result<i64> {
    if !(-1..=31_536_000).contains(&seconds) {
        return Err(Error::invalid(
            "fresh_period must be between -1 and 31536000 seconds",
        ));
    }
    Ok(seconds)
}

/// What to add to a port (checked with [`check_amount`] and [`check_fresh_period`]).
#[derive(Debug, Clone, Default)]
pub struct AddIpv4 {
    /// These addresses exactly (each free, in a pool of the server's).
    pub wanted: Vec<Ipv4Addr>,
    /// And this many more, the first free ones.
    pub amount: usize,
    pub fresh_period: i64,
    pub pools: PoolChoice,
}

/// An address with its VLAN, as added or removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assigned {
    pub address: String,
    pub vlan: i64,
}

/// What an add took: the addresses and the callback keys of their configuration jobs.
#[derive(Debug, Clone)]
pub struct Added {
    pub ips: Vec<Assigned>,
    pub keys: Vec<String>,
}

/// IPv4 add (000 "add_ipv4"): assigns the addresses to the port, makes the first one
/// main when the server has none, and queues one configuration job per address.
pub async fn add_ipv4(
    state: &AppState,
    caller: &Principal,
    server: &Server,
    iface: &Interface,
    args: &AddIpv4,
) -> Result<Added> {
    let now = state.clock.now();
    // Everything read outside the transaction is read before it: it holds a connection.
    let own_vlan = port_vlan(state, server, &iface.r#type).await?;
    let mut tx = store::begin_write(&state.db).await?;
    let subnets = pools(&mut tx, &args.pools, server, own_vlan).await?;
    let mut got = ipam::allocate_exact(
        &mut tx,
        &subnets,
        &args.wanted,
        server.id,
        &iface.r#type,
        args.fresh_period,
        now,
    )
    .await?;
    got.extend(
        ipam::allocate(
            &mut tx,
            &subnets,
            server.id,
            &iface.r#type,
            args.amount,
            args.fresh_period,
            now,
        )
        .await?,
    );
    if !store::network::has_main(&mut *tx, server.id).await? {
        if let Some((first, _)) = got.first() {
            store::network::set_main(&mut tx, server.id, first, now).await?;
        }
    }
    let mut keys = Vec::new();
    for (address, vlan) in &got {
        let context = ip_context("add_ipv4", server.id, address);
        let job = Job::IpConfig {
            address: address.clone(),
            port: iface.r#type.clone(),
            change: IpChange::Add { vlan: *vlan },
        };
        keys.push(
            queue::submit_in(
                state,
                &mut tx,
                eq_task(caller, server, "add_ipv4", context, job, 4_000),
            )
            .await?,
        );
    }
    queue::commit(state, tx).await?;
    let ips = got
        .into_iter()
        .map(|(address, vlan)| Assigned { address, vlan })
        .collect();
    Ok(Added { ips, keys })
}

/// What a removal takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// One address (the main one only when it is the last).
    One(Ipv4Addr),
    /// Every extra (not main) address.
    AllExtra,
}

/// What a removal gave back, the callback keys of its jobs, and the addresses it had to
/// keep because the abuse team blocked them.
#[derive(Debug, Clone)]
pub struct Removed {
    pub ips: Vec<Assigned>,
    pub keys: Vec<String>,
    pub kept: Vec<String>,
}

/// IPv4 removal (000 "remove_ipv4"): gives addresses back to the pool and queues one
/// configuration job per address. The main address goes only when it is the last one;
/// an address under an abuse block stays (named in `kept` by [`Removal::AllExtra`]).
pub async fn remove_ipv4(
    state: &AppState,
    caller: &Principal,
    server: &Server,
    what: Removal,
) -> Result<Removed> {
    let now = state.clock.now();
    let mut tx = store::begin_write(&state.db).await?;
    let ips = store::servers::ips(&mut *tx, server.id).await?;
    let public: Vec<_> = ips.into_iter().filter(|i| i.port != "ipmi").collect();
    let mut targets = Vec::new();
    let mut kept = Vec::new();
    if let Removal::One(ip) = what {
        let addr = ip.to_string();
        let row = public.iter().find(|i| i.address == addr).ok_or_else(|| {
            Error::not_found(format!("ip {addr} not found on server {}", server.id))
        })?;
        if row.main_ip == 1 && public.len() > 1 {
            return Err(Error::MainAddressInUse {
                server: server.id,
                ip: addr,
            });
        }
        if store::network::admin_blocked(&mut tx, &addr, now).await? {
            return Err(Error::denied(format!(
                "{addr} is blocked by the abuse team and cannot be removed"
            )));
        }
        targets.push(row.clone());
    } else {
        // Every extra address; those under an abuse block stay (and are named).
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
            let context = ip_context("remove_ipv4", server.id, &t.address);
            let job = Job::IpConfig {
                address: t.address.clone(),
                port: t.port.clone(),
                change: IpChange::Remove,
            };
            eq_task(caller, server, "remove_ipv4", context, job, 4_000)
        })
        .collect();
    let keys = queue::submit_many_in(state, &mut tx, tasks).await?;
    queue::commit(state, tx).await?;
    let ips = targets
        .into_iter()
        .map(|t| Assigned {
            address: t.address,
            vlan: t.vlan,
        })
        .collect();
    Ok(Removed { ips, keys, kept })
}

/// What show_ipv4_free looks for.
#[derive(Debug, Clone, Default)]
pub struct FreeQuery {
    /// Checked with [`check_fresh_period`].
    pub fresh_period: i64,
    /// Only addresses containing this text.
    pub filter: Option<String>,
    pub pools: PoolChoice,
}

/// One pool with its size and free addresses.
#[derive(Debug, Clone)]
pub struct PoolUsage {
    pub subnet: Subnet,
    pub broadcast: Option<String>,
    /// Host addresses (000: a /24 has 254, the gateway among them).
    pub hosts: usize,
    pub free: usize,
}

/// The free addresses of a server's pools.
#[derive(Debug, Clone)]
pub struct FreeList {
    /// The first [`MAX_LISTED`] free addresses matching the filter.
    pub listed: Vec<ipam::Free>,
    /// Free addresses matching the filter.
    pub total_found: usize,
    /// Addresses left out: still in quarantine, or not matching the filter.
    pub filtered: usize,
    pub pools: Vec<PoolUsage>,
}

/// Free addresses (000 "show_ipv4_free") of the pools a port could take from.
pub async fn free_addresses(
    state: &AppState,
    server: &Server,
    iface: &Interface,
    query: &FreeQuery,
) -> Result<FreeList> {
    let now = state.clock.now();
    let own_vlan = port_vlan(state, server, &iface.r#type).await?;
    let mut conn = state.db.acquire().await?;
    let subnets = pools(&mut conn, &query.pools, server, own_vlan).await?;
    let (free, quarantined) = ipam::free_in(&mut conn, &subnets, query.fresh_period, now).await?;
    drop(conn);
    let pools = subnets
        .into_iter()
        .map(|s| {
            let net = ipam::net_of(&s);
            PoolUsage {
                broadcast: net.map(|n| n.broadcast().to_string()),
                hosts: net.map_or(0, |n| n.hosts().count()),
                free: free.iter().filter(|f| f.subnet.id == s.id).count(),
                subnet: s,
            }
        })
        .collect();
    let all = free.len();
    let matching: Vec<ipam::Free> = free
        .into_iter()
        .filter(|f| {
            query
                .filter
                .as_deref()
                .is_none_or(|p| f.address.to_string().contains(p))
        })
        .collect();
    let total_found = matching.len();
    Ok(FreeList {
        listed: matching.into_iter().take(MAX_LISTED).collect(),
        total_found,
        filtered: quarantined + (all - total_found),
        pools,
    })
}

/// The PTR a provider sets by default: the address, dashed, under its domain (ip/get_ptr
/// and the DNS server's reverse answers, until ip/update_ptr sets others).
pub fn default_ptr(ip: &str) -> String {
    format!("{}.static.hostkey-emu.local.", ip.replace('.', "-"))
}

/// PTR records from the text a customer sends: one host name per line, made fully
/// qualified and lower case, duplicates dropped; at most [`MAX_PTR_RECORDS`].
pub fn ptr_records(raw: &str) -> Result<Vec<String>> {
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
    if records.len() > MAX_PTR_RECORDS {
        return Err(Error::invalid("at most 8 PTR records per address"));
    }
    Ok(records)
}

/// PTR update (001 "ip/update_ptr"): replaces the address's PTR records with those in
/// `raw` (see [`ptr_records`]); returns them as stored.
pub async fn update_ptr(state: &AppState, address: &IpRow, raw: &str) -> Result<Vec<String>> {
    let records = ptr_records(raw)?;
    store::network::set_ptr(
        &state.db,
        &address.address,
        &records.join("\n"),
        state.clock.now(),
    )
    .await?;
    Ok(records)
}

/// Set main address (001 "ip/set_main"): the address becomes the server's only main
/// one. An address the abuse team blocked cannot.
pub async fn set_main(state: &AppState, server: &Server, address: &str) -> Result<()> {
    let now = state.clock.now();
    let mut tx = store::begin_write(&state.db).await?;
    if store::network::admin_blocked(&mut tx, address, now).await? {
        return Err(Error::denied(format!(
            "{address} is blocked by the abuse team and cannot be the main address"
        )));
    }
    // Checked inside the transaction: a concurrent remove_ipv4 may have taken it.
    if !store::network::set_main(&mut tx, server.id, address, now).await? {
        return Err(Error::not_found(format!(
            "ip {address} not found on server {}",
            server.id
        )));
    }
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::ports::{find, PortRef};
    use crate::ops::test_support::{job_of, principal, queued, server, state, DEMO};
    use serde_json::json;

    const VM: i64 = 40101; // NL, main 31.207.45.23, extra 31.207.45.24 (abuse block)
    const BM: i64 = 40102; // NL, main 5.39.218.37, extra 5.39.218.38

    /// The server's main port.
    async fn main_port(state: &AppState, s: &Server) -> Interface {
        find(state, s, &PortRef::default()).await.expect("port")
    }

    /// A server's public addresses with their main flags, main first.
    async fn addresses_of(state: &AppState, id: i64) -> Vec<(String, i64)> {
        store::servers::ips(&state.db, id)
            .await
            .expect("ips")
            .into_iter()
            .filter(|i| i.port != "ipmi")
            .map(|i| (i.address, i.main_ip))
            .collect()
    }

    /// An address literal.
    fn ip(s: &str) -> Ipv4Addr {
        s.parse().expect("ip")
    }

    #[tokio::test]
    async fn own_address_finds_public_addresses_only() {
        let state = state().await;
        let bm = server(&state, BM).await;
        let row = own_address(&state, &bm, ip("5.39.218.38"))
            .await
            .expect("own");
        assert_eq!((row.server_id, row.main_ip), (Some(BM), 0));
        for other in ["10.14.32.117", "31.207.45.23"] {
            let e = own_address(&state, &bm, ip(other))
                .await
                .expect_err("not public or not own");
            assert_eq!(
                e.to_string(),
                format!("ip {other} not found on server {BM}")
            );
        }
    }

    #[test]
    fn amounts_and_fresh_periods_are_checked() {
        assert_eq!(check_amount(0, Some(3)).expect("3"), 3);
        assert_eq!(check_amount(2, None).expect("named only"), 0);
        assert_eq!(check_amount(32, Some(32)).expect("limits"), 32);
        for (named, amount, why) in [
            (0, None, "invalid request, give amount, ip or ips[]"),
            (0, Some(0), "amount must be at least 1"),
            (0, Some(33), "at most 32 addresses per request"),
            (33, None, "at most 32 addresses per request"),
            (1, Some(-1), "at most 32 addresses per request"),
        ] {
            let e = check_amount(named, amount).expect_err("refused");
            assert_eq!(e.to_string(), why, "{named} {amount:?}");
        }
        assert_eq!(check_fresh_period(-1).expect("ignore"), -1);
        assert_eq!(check_fresh_period(31_536_000).expect("a year"), 31_536_000);
        assert!(check_fresh_period(-2).is_err());
        assert!(check_fresh_period(31_536_001).is_err());
    }

    #[tokio::test]
    async fn add_ipv4_takes_free_addresses_from_the_ports_vlan_and_queues_their_jobs() {
        let state = state().await;
        let caller = principal(&state, DEMO).await;
        let vm = server(&state, VM).await;
        let eth0 = main_port(&state, &vm).await;
        let args = AddIpv4 {
            wanted: vec![ip("31.207.45.70")],
            amount: 1,
            ..Default::default()
        };
        let added = add_ipv4(&state, &caller, &vm, &eth0, &args)
            .await
            .expect("add");
        assert_eq!(added.ips.len(), 2);
        assert_eq!(
            added.ips[0],
            Assigned {
                address: "31.207.45.70".into(),
                vlan: 412
            }
        );
        assert_eq!(added.ips[1].vlan, 412, "the port's own VLAN first");
        assert_eq!(added.keys.len(), 2);
        let held = addresses_of(&state, VM).await;
        for a in &added.ips {
            assert!(
                held.contains(&(a.address.clone(), 0)),
                "{} is an extra address",
                a.address
            );
        }
        let (kind, payload) = job_of(&state, &added.keys[0]).await;
        assert_eq!(kind, "ip_config");
        assert_eq!(
            payload,
            json!({"address": "31.207.45.70", "op": "add", "port": "eth0", "vlan": 412})
        );
    }

    #[tokio::test]
    async fn add_ipv4_refuses_a_taken_address_and_other_pools_and_keeps_nothing() {
        let state = state().await;
        let caller = principal(&state, DEMO).await;
        let vm = server(&state, VM).await;
        let eth0 = main_port(&state, &vm).await;
        let before = addresses_of(&state, VM).await;
        let taken = AddIpv4 {
            wanted: vec![ip("31.207.45.71"), ip("31.207.45.61")],
            ..Default::default()
        };
        let e = add_ipv4(&state, &caller, &vm, &eth0, &taken)
            .await
            .expect_err("taken");
        assert_eq!(e.to_string(), "31.207.45.61 is already in use");
        let bm_pools = AddIpv4 {
            amount: 1,
            pools: PoolChoice {
                tag: Some(" BM ".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let e = add_ipv4(&state, &caller, &vm, &eth0, &bm_pools)
            .await
            .expect_err("bm");
        assert_eq!(
            e.to_string(),
            "bm pools are not available to server 40101, it takes addresses from ovirt pools"
        );
        let tech = AddIpv4 {
            amount: 1,
            pools: PoolChoice {
                tech_networks: true,
                ..Default::default()
            },
            ..Default::default()
        };
        let e = add_ipv4(&state, &caller, &vm, &eth0, &tech)
            .await
            .expect_err("tech");
        assert!(matches!(e, Error::Denied(_)), "{e:?}");
        assert_eq!(
            addresses_of(&state, VM).await,
            before,
            "the first address went back"
        );
        assert_eq!(queued(&state).await, 0);
    }

    #[tokio::test]
    async fn add_ipv4_makes_the_first_address_main_when_the_server_has_none() {
        let state = state().await;
        let caller = principal(&state, DEMO).await;
        let bm = server(&state, BM).await;
        for a in ["5.39.218.38", "5.39.218.37"] {
            remove_ipv4(&state, &caller, &bm, Removal::One(ip(a)))
                .await
                .expect("remove");
        }
        assert!(addresses_of(&state, BM).await.is_empty());
        let eth0 = main_port(&state, &bm).await;
        let args = AddIpv4 {
            amount: 2,
            ..Default::default()
        };
        let added = add_ipv4(&state, &caller, &bm, &eth0, &args)
            .await
            .expect("add");
        assert_eq!(
            addresses_of(&state, BM).await,
            vec![
                (added.ips[0].address.clone(), 1),
                (added.ips[1].address.clone(), 0)
            ]
        );
    }

    #[tokio::test]
    async fn remove_ipv4_releases_an_extra_address_and_queues_its_job() {
        let state = state().await;
        let caller = principal(&state, DEMO).await;
        let bm = server(&state, BM).await;
        let removed = remove_ipv4(&state, &caller, &bm, Removal::One(ip("5.39.218.38")))
            .await
            .expect("remove");
        assert_eq!(
            removed.ips,
            vec![Assigned {
                address: "5.39.218.38".into(),
                vlan: removed.ips[0].vlan
            }]
        );
        assert!(removed.kept.is_empty());
        assert_eq!(
            addresses_of(&state, BM).await,
            vec![("5.39.218.37".into(), 1)]
        );
        let (kind, payload) = job_of(&state, &removed.keys[0]).await;
        assert_eq!(kind, "ip_config");
        assert_eq!(
            payload,
            json!({"address": "5.39.218.38", "op": "remove", "port": "eth0"})
        );
    }

    #[tokio::test]
    async fn remove_ipv4_refuses_the_main_address_while_others_remain_and_abuse_blocks() {
        let state = state().await;
        let caller = principal(&state, DEMO).await;
        let vm = server(&state, VM).await;
        let e = remove_ipv4(&state, &caller, &vm, Removal::One(ip("31.207.45.23")))
            .await
            .expect_err("main");
        assert!(
            matches!(&e, Error::MainAddressInUse { server: VM, ip } if ip == "31.207.45.23"),
            "{e:?}"
        );
        let e = remove_ipv4(&state, &caller, &vm, Removal::One(ip("31.207.45.24")))
            .await
            .expect_err("blocked");
        assert_eq!(
            e.to_string(),
            "31.207.45.24 is blocked by the abuse team and cannot be removed"
        );
        // Removing every extra address keeps the blocked one and names it.
        let all = remove_ipv4(&state, &caller, &vm, Removal::AllExtra)
            .await
            .expect("all");
        assert!(all.ips.is_empty() && all.keys.is_empty());
        assert_eq!(all.kept, vec!["31.207.45.24"]);
        assert_eq!(addresses_of(&state, VM).await.len(), 2);
        assert_eq!(queued(&state).await, 0);
    }

    #[tokio::test]
    async fn remove_all_takes_every_extra_address_and_refuses_when_there_is_none() {
        let state = state().await;
        let caller = principal(&state, DEMO).await;
        let bm = server(&state, BM).await;
        let all = remove_ipv4(&state, &caller, &bm, Removal::AllExtra)
            .await
            .expect("all");
        assert_eq!(
            all.ips
                .iter()
                .map(|a| a.address.as_str())
                .collect::<Vec<_>>(),
            vec!["5.39.218.38"]
        );
        let e = remove_ipv4(&state, &caller, &bm, Removal::AllExtra)
            .await
            .expect_err("none left");
        assert_eq!(
            e.to_string(),
            "server 40102 has no extra addresses to remove"
        );
    }

    #[tokio::test]
    async fn free_addresses_are_counted_per_pool_filtered_and_quarantined() {
        let state = state().await;
        let caller = principal(&state, DEMO).await;
        let vm = server(&state, VM).await;
        let eth0 = main_port(&state, &vm).await;
        let all = free_addresses(&state, &vm, &eth0, &FreeQuery::default())
            .await
            .expect("free");
        let pool = &all.pools[0];
        assert_eq!((pool.subnet.vlan, pool.hosts), (412, 126), "a /25");
        assert_eq!(
            all.total_found,
            all.pools.iter().map(|p| p.free).sum::<usize>()
        );
        assert_eq!(all.filtered, 0);
        assert!(all.listed.len() <= MAX_LISTED);
        assert!(!all.listed.iter().any(|f| f.address == ip("31.207.45.23")));

        let narrow = FreeQuery {
            filter: Some("31.207.45.7".into()),
            ..Default::default()
        };
        let some = free_addresses(&state, &vm, &eth0, &narrow)
            .await
            .expect("filtered");
        assert!(some
            .listed
            .iter()
            .all(|f| f.address.to_string().contains("31.207.45.7")));
        assert_eq!(some.filtered, all.total_found - some.total_found);

        // A released address is quarantined for the fresh period.
        let added = add_ipv4(
            &state,
            &caller,
            &vm,
            &eth0,
            &AddIpv4 {
                amount: 1,
                ..Default::default()
            },
        )
        .await
        .expect("add");
        let address = ip(&added.ips[0].address);
        remove_ipv4(&state, &caller, &vm, Removal::One(address))
            .await
            .expect("remove");
        let fresh = FreeQuery {
            fresh_period: 3600,
            ..Default::default()
        };
        let later = free_addresses(&state, &vm, &eth0, &fresh)
            .await
            .expect("fresh");
        assert_eq!(later.filtered, 1);
        assert!(!later.listed.iter().any(|f| f.address == address));
    }

    #[tokio::test]
    async fn free_addresses_refuse_a_vlan_without_pools() {
        let state = state().await;
        let vm = server(&state, VM).await;
        let eth0 = main_port(&state, &vm).await;
        let q = FreeQuery {
            pools: PoolChoice {
                vlan: Some(9999),
                ..Default::default()
            },
            ..Default::default()
        };
        let e = free_addresses(&state, &vm, &eth0, &q)
            .await
            .expect_err("no pool");
        assert_eq!(e.to_string(), "no ovirt pool with vlan 9999 in NL");
    }

    #[test]
    fn ptr_records_are_fully_qualified_lower_case_and_unique() {
        assert_eq!(
            ptr_records("Mail.Example.com\r\nmail.example.com.\n\nweb.example.com").expect("ok"),
            vec!["mail.example.com.", "web.example.com."]
        );
        for bad in ["localhost", "1.2.3.4", "bad_name!.com", "  \n "] {
            assert!(ptr_records(bad).is_err(), "{bad:?}");
        }
        let nine: Vec<String> = (0..9).map(|i| format!("h{i}.example.com")).collect();
        assert_eq!(
            ptr_records(&nine.join("\n")).expect_err("nine").to_string(),
            "at most 8 PTR records per address"
        );
    }

    #[tokio::test]
    async fn update_ptr_stores_the_records_and_refuses_a_bad_one() {
        let state = state().await;
        let vm = server(&state, VM).await;
        let row = own_address(&state, &vm, ip("31.207.45.23"))
            .await
            .expect("own");
        let stored = update_ptr(&state, &row, "a.example.com\nb.example.com")
            .await
            .expect("set");
        assert_eq!(stored, vec!["a.example.com.", "b.example.com."]);
        assert_eq!(
            store::network::ptr(&state.db, "31.207.45.23")
                .await
                .expect("ptr")
                .as_deref(),
            Some("a.example.com.\nb.example.com.")
        );
        assert!(update_ptr(&state, &row, "not a host").await.is_err());
        assert_eq!(
            store::network::ptr(&state.db, "31.207.45.23")
                .await
                .expect("ptr")
                .as_deref(),
            Some("a.example.com.\nb.example.com."),
            "unchanged"
        );
    }

    #[tokio::test]
    async fn set_main_moves_the_main_flag_but_not_to_a_blocked_or_foreign_address() {
        let state = state().await;
        let bm = server(&state, BM).await;
        set_main(&state, &bm, "5.39.218.38").await.expect("own");
        assert_eq!(
            addresses_of(&state, BM).await,
            vec![("5.39.218.38".into(), 1), ("5.39.218.37".into(), 0)]
        );
        let e = set_main(&state, &bm, "31.207.45.61")
            .await
            .expect_err("foreign");
        assert!(matches!(e, Error::NotFound(_)), "{e:?}");
        let vm = server(&state, VM).await;
        let e = set_main(&state, &vm, "31.207.45.24")
            .await
            .expect_err("blocked");
        assert_eq!(
            e.to_string(),
            "31.207.45.24 is blocked by the abuse team and cannot be the main address"
        );
        assert_eq!(
            addresses_of(&state, VM).await[0],
            ("31.207.45.23".into(), 1)
        );
    }
}
