//! Job steps of network operations: switch ports, address blocks (BIRD), address
//! configuration on the router, static NAT (RouterOS).

use sqlx::SqliteConnection;

use super::{Ctx, Step};
use crate::error::{Error, Result};
use crate::queue::{IpChange, NatChange};
use crate::sim::{network as netsim, Effect, Outcome};
use crate::store::{self, network::Block};

fn done(o: Outcome) -> Result<Step> {
    Ok(Step::Done(o))
}

/// net/get_status: the switch's view of the port `iface_id` on `vlan`.
pub async fn port_status(
    cx: &Ctx<'_>,
    tx: &mut SqliteConnection,
    iface_id: i64,
    vlan: i64,
) -> Result<Step> {
    let Some(server) = store::servers::get(&mut *tx, cx.record.server_id).await? else {
        return done(Outcome::fail("Server is no longer available", None));
    };
    let iface = store::servers::interface_in(&mut *tx, iface_id)
        .await?
        .ok_or_else(|| Error::internal(format!("interface {iface_id} missing")))?;
    let (scope, debug) =
        netsim::port_status(&server, &iface, vlan, std::slice::from_ref(&iface.mac));
    done(Outcome::ok(scope, Some(debug), Effect::None))
}

/// net/port_on, net/port_off: the customer's own block of the port, with `reason`.
pub async fn port(
    cx: &Ctx<'_>,
    tx: &mut SqliteConnection,
    iface_id: i64,
    on: bool,
    reason: &str,
) -> Result<Step> {
    let server_id = cx.record.server_id;
    if on {
        store::network::set_port(tx, iface_id, true, None, "").await?;
        sync_block_tag(tx, server_id).await?;
        done(Outcome::ok(
            "Port is on",
            Some("Plugged".into()),
            Effect::None,
        ))
    } else {
        store::network::set_port(tx, iface_id, false, Some("customer"), reason).await?;
        sync_block_tag(tx, server_id).await?;
        done(Outcome::ok(
            "Port is off",
            Some("Unplugged".into()),
            Effect::None,
        ))
    }
}

/// net/block_ip (`block` is its description and whether it lifts after four hours),
/// net/unblock_ip (`block` is `None`).
pub async fn ip_block(
    cx: &Ctx<'_>,
    tx: &mut SqliteConnection,
    address: &str,
    block: Option<(&str, bool)>,
) -> Result<Step> {
    let server_id = cx.record.server_id;
    // Checked again when the router is told: the address may have been removed
    // (and even handed to another server) since the request.
    if store::network::holder_of(&mut *tx, address).await? != Some(server_id) {
        return done(Outcome::fail(
            format!("IP {address} is no longer assigned to server {server_id}"),
            None,
        ));
    }
    match block {
        Some((description, four_hours)) => {
            let b = Block {
                address: address.to_owned(),
                server_id,
                kind: "customer".into(),
                description: description.to_owned(),
                created_at: cx.now,
                expires_at: four_hours.then_some(cx.now + 4 * 3600),
            };
            store::network::block(tx, &b).await?;
            done(Outcome::ok("blocked", None, Effect::None))
        }
        None => {
            store::network::unblock(tx, address).await?;
            done(Outcome::ok("unblocked", None, Effect::None))
        }
    }
}

/// net/add_ipv4, net/remove_ipv4: the router's answer to routing `address` on `port`.
pub fn ip_config(address: &str, port: &str, change: &IpChange) -> Step {
    let (scope, debug) = match change {
        IpChange::Add { vlan } => (
            format!("IP {address} added to {port}"),
            format!("ip route add {address}/32 dev {port}.{vlan}"),
        ),
        IpChange::Remove => (
            format!("IP {address} removed from {port}"),
            format!("ip route del {address}/32"),
        ),
    };
    Step::Done(Outcome::ok(scope, Some(debug), Effect::None))
}

/// nat/add_static_nat, nat/remove_static_nat: the rule `rule_id` of `public_ip` on the
/// router; a removed rule expires now.
pub async fn nat(
    cx: &Ctx<'_>,
    tx: &mut SqliteConnection,
    rule_id: i64,
    public_ip: &str,
    change: &NatChange,
) -> Result<Step> {
    match change {
        NatChange::Add { private_ip } => done(Outcome::ok(
            public_ip,
            Some(netsim::nat_add_debug(public_ip, private_ip)),
            Effect::None,
        )),
        NatChange::Remove { router_id } => {
            store::network::set_nat_expiry(&mut *tx, rule_id, cx.now).await?;
            done(Outcome::ok(
                public_ip,
                Some(netsim::nat_remove_debug(router_id)),
                Effect::None,
            ))
        }
    }
}

/// Rebuilds the server's customer `block` tag (000 port_off `reason`) from its ports that
/// the customer switched off: the reason as value and the port as extra, or, with several
/// ports off, `port: reason` pairs and the port list. No such port: no tag.
async fn sync_block_tag(tx: &mut SqliteConnection, server_id: i64) -> Result<()> {
    let off = store::network::customer_port_blocks(&mut *tx, server_id).await?;
    if off.is_empty() {
        store::tags::delete_own(&mut *tx, "eq", server_id, "block").await?;
        return Ok(());
    }
    let (value, extra) = match off.as_slice() {
        [(port, reason)] => (reason.clone(), port.clone()),
        many => (
            many.iter()
                .map(|(p, r)| format!("{p}: {r}"))
                .collect::<Vec<_>>()
                .join("; "),
            many.iter()
                .map(|(p, _)| p.as_str())
                .collect::<Vec<_>>()
                .join(","),
        ),
    };
    store::tags::upsert(&mut *tx, "eq", server_id, "block", &value, &extra, 0).await?;
    Ok(())
}
