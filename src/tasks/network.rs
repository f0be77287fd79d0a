//! Job steps of network operations: switch ports, address blocks (BIRD), address
//! configuration on the router, static NAT (RouterOS).

use serde_json::Value;
use sqlx::SqliteConnection;

use super::Step;
use crate::error::{Error, Result};
use crate::sim::{network as netsim, Outcome};
use crate::store::{self, callbacks::Callback, network::Block};

fn str_of<'a>(p: &'a Value, k: &str) -> Result<&'a str> {
    p.get(k)
        .and_then(Value::as_str)
        .ok_or_else(|| Error::internal(format!("job payload without {k}")))
}

fn int_of(p: &Value, k: &str) -> Result<i64> {
    p.get(k)
        .and_then(Value::as_i64)
        .ok_or_else(|| Error::internal(format!("job payload without {k}")))
}

/// Runs one step of a network job kind; `None` when the kind is not a network one.
pub async fn step(
    tx: &mut SqliteConnection,
    kind: &str,
    record: &Callback,
    p: &Value,
    now: i64,
) -> Result<Option<Step>> {
    let done = |o: Outcome| Ok(Some(Step::Done(o)));
    match kind {
        "port_status" => {
            let iface_id = int_of(p, "iface_id")?;
            let Some(server) = store::servers::get_in(&mut *tx, record.server_id).await? else {
                return done(Outcome::fail("Server is no longer available", None));
            };
            let iface = store::servers::interface_in(&mut *tx, iface_id)
                .await?
                .ok_or_else(|| Error::internal(format!("interface {iface_id} missing")))?;
            let vlan = int_of(p, "vlan")?;
            let (scope, debug) =
                netsim::port_status(&server, &iface, vlan, std::slice::from_ref(&iface.mac));
            done(Outcome::ok(scope, Some(debug), crate::sim::Effect::None))
        }
        "port" => {
            let iface_id = int_of(p, "iface_id")?;
            let on = p.get("on").and_then(Value::as_bool).unwrap_or(false);
            let reason = p.get("reason").and_then(Value::as_str).unwrap_or("");
            if on {
                store::network::set_port(tx, iface_id, true, None, "").await?;
                sync_block_tag(tx, record.server_id).await?;
                done(Outcome::ok(
                    "Port is on",
                    Some("Plugged".into()),
                    crate::sim::Effect::None,
                ))
            } else {
                store::network::set_port(tx, iface_id, false, Some("customer"), reason).await?;
                sync_block_tag(tx, record.server_id).await?;
                done(Outcome::ok(
                    "Port is off",
                    Some("Unplugged".into()),
                    crate::sim::Effect::None,
                ))
            }
        }
        "ip_block" => {
            let address = str_of(p, "address")?;
            // Checked again when the router is told: the address may have been removed
            // (and even handed to another server) since the request.
            if store::network::holder_of(&mut *tx, address).await? != Some(record.server_id) {
                return done(Outcome::fail(
                    format!(
                        "IP {address} is no longer assigned to server {}",
                        record.server_id
                    ),
                    None,
                ));
            }
            if p.get("block").and_then(Value::as_bool).unwrap_or(false) {
                let four_hours = p
                    .get("four_hours")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                let b = Block {
                    address: address.to_owned(),
                    server_id: record.server_id,
                    kind: "customer".into(),
                    description: p
                        .get("description")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned(),
                    created_at: now,
                    expires_at: four_hours.then_some(now + 4 * 3600),
                };
                store::network::block(tx, &b).await?;
                done(Outcome::ok("blocked", None, crate::sim::Effect::None))
            } else {
                store::network::unblock(tx, address).await?;
                done(Outcome::ok("unblocked", None, crate::sim::Effect::None))
            }
        }
        "ip_config" => {
            let address = str_of(p, "address")?;
            let port = str_of(p, "port")?;
            let (scope, debug) = if str_of(p, "op")? == "add" {
                (
                    format!("IP {address} added to {port}"),
                    format!(
                        "ip route add {address}/32 dev {port}.{}",
                        int_of(p, "vlan")?
                    ),
                )
            } else {
                (
                    format!("IP {address} removed from {port}"),
                    format!("ip route del {address}/32"),
                )
            };
            done(Outcome::ok(scope, Some(debug), crate::sim::Effect::None))
        }
        "nat" => {
            let rule_id = int_of(p, "rule_id")?;
            let public = str_of(p, "public_ip")?;
            if str_of(p, "op")? == "add" {
                let private = str_of(p, "private_ip")?;
                done(Outcome::ok(
                    public,
                    Some(netsim::nat_add_debug(public, private)),
                    crate::sim::Effect::None,
                ))
            } else {
                store::network::set_nat_expiry(&mut *tx, rule_id, now).await?;
                let router = str_of(p, "router_id")?;
                done(Outcome::ok(
                    public,
                    Some(netsim::nat_remove_debug(router)),
                    crate::sim::Effect::None,
                ))
            }
        }
        _ => Ok(None),
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
