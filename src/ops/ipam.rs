//! Address management: which addresses of a location's pools are free, and atomic
//! allocation. Callers run these inside a `BEGIN IMMEDIATE` transaction (`begin_write`), so
//! SQLite's single writer makes choose-and-insert atomic: concurrent requests never get the
//! same address, and a failed request gives back everything it took (rollback).

use std::collections::HashSet;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use sqlx::SqliteConnection;

use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{network, servers::Subnet};

/// Opens a write transaction that holds SQLite's write lock from its first statement.
pub async fn begin_write(state: &AppState) -> Result<crate::store::WriteTx> {
    Ok(crate::store::begin_write(&state.db).await?)
}

/// The network of a subnet row.
pub fn net_of(s: &Subnet) -> Option<Ipv4Net> {
    format!("{}/{}", s.network, s.cidr).parse().ok()
}

/// Host addresses of a subnet that may be handed out: never the network, broadcast or gateway.
pub fn usable_hosts(s: &Subnet) -> Vec<Ipv4Addr> {
    let Some(net) = net_of(s) else {
        return Vec::new();
    };
    let gw: Option<Ipv4Addr> = s.gateway.parse().ok();
    net.hosts()
        .filter(|h| Some(*h) != gw && *h != net.network() && *h != net.broadcast())
        .collect()
}

/// A free address as show_ipv4_free lists it.
#[derive(Debug, Clone)]
pub struct Free {
    pub address: Ipv4Addr,
    pub subnet: Subnet,
}

/// Free addresses of these subnets; those released less than `fresh_period` seconds ago are
/// counted apart (`fresh_period < 0` ignores the quarantine).
pub async fn free_in(
    conn: &mut SqliteConnection,
    subnets: &[Subnet],
    fresh_period: i64,
    now: i64,
) -> Result<(Vec<Free>, usize)> {
    let mut free = Vec::new();
    let mut quarantined = 0;
    for s in subnets {
        let taken = network::taken(conn, s.id).await?;
        let fresh: HashSet<String> = if fresh_period > 0 {
            network::released_since(conn, s.id, now - fresh_period).await?
        } else {
            HashSet::new()
        };
        for h in usable_hosts(s) {
            let a = h.to_string();
            if taken.contains(&a) {
                continue;
            }
            if fresh.contains(&a) {
                quarantined += 1;
                continue;
            }
            free.push(Free {
                address: h,
                subnet: s.clone(),
            });
        }
    }
    Ok((free, quarantined))
}

/// Takes `count` free addresses from the subnets, in order, for a server's port.
pub async fn allocate(
    conn: &mut SqliteConnection,
    subnets: &[Subnet],
    server_id: i64,
    port: &str,
    count: usize,
    fresh_period: i64,
    now: i64,
) -> Result<Vec<(String, i64)>> {
    let (free, _) = free_in(conn, subnets, fresh_period, now).await?;
    if free.len() < count {
        return Err(Error::Conflict(format!(
            "not enough free addresses: {count} requested, {} available",
            free.len()
        )));
    }
    let mut out = Vec::with_capacity(count);
    for f in free.into_iter().take(count) {
        let a = f.address.to_string();
        network::assign(conn, &a, f.subnet.id, server_id, port, false, now).await?;
        out.push((a, f.subnet.vlan));
    }
    Ok(out)
}

/// Takes specific addresses: each must be free and usable in one of the subnets.
pub async fn allocate_exact(
    conn: &mut SqliteConnection,
    subnets: &[Subnet],
    wanted: &[Ipv4Addr],
    server_id: i64,
    port: &str,
    fresh_period: i64,
    now: i64,
) -> Result<Vec<(String, i64)>> {
    let mut out = Vec::new();
    for ip in wanted {
        let Some(s) = subnets
            .iter()
            .find(|s| net_of(s).is_some_and(|n| n.contains(ip)))
        else {
            return Err(Error::invalid(format!(
                "{ip} is not in a pool available to this server"
            )));
        };
        if !usable_hosts(s).contains(ip) {
            return Err(Error::invalid(format!(
                "{ip} is a reserved address of {}/{}",
                s.network, s.cidr
            )));
        }
        let a = ip.to_string();
        if network::taken(conn, s.id).await?.contains(&a) {
            return Err(Error::Conflict(format!("{ip} is already in use")));
        }
        if fresh_period > 0
            && network::released_since(conn, s.id, now - fresh_period)
                .await?
                .contains(&a)
        {
            return Err(Error::Conflict(format!(
                "{ip} was released less than {fresh_period} seconds ago"
            )));
        }
        network::assign(conn, &a, s.id, server_id, port, false, now).await?;
        out.push((a, s.vlan));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usable_hosts_skip_network_gateway_and_broadcast() {
        let s = Subnet {
            id: 1,
            location: "NL".into(),
            network: "10.0.0.0".into(),
            cidr: 29,
            gateway: "10.0.0.1".into(),
            vlan: 100,
            kind: "public".into(),
            tag: "bm".into(),
        };
        let h: Vec<String> = usable_hosts(&s).iter().map(|a| a.to_string()).collect();
        assert_eq!(
            h,
            vec!["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"]
        );
    }
}
