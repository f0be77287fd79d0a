//! oVirt VMs (issue 13, vm.php): snapshots (taken, restored and removed by oVirt, each a
//! job on the emulator's clock), resource statistics and the engine of a location. Bare
//! metal has none of these.

use super::servers;
use super::sessions::Principal;
use crate::domain::rules::shorten;
use crate::error::{Error, Result};
use crate::queue::{self, Job, NewTask, SnapshotOp};
use crate::sim::ovirt::{self, Engine, Load};
use crate::sim::traffic;
use crate::state::AppState;
use crate::store::snapshots::Snapshot;
use crate::store::{self, servers::Server};

/// How many snapshots a VM may keep.
pub const MAX_SNAPSHOTS: i64 = 10;

/// How long oVirt takes, in realistic milliseconds.
const CREATE_MS: i64 = 60_000;
const RESTORE_MS: i64 = 90_000;
const REMOVE_MS: i64 = 45_000;

/// vm.php is for oVirt VMs: bare metal gets a clear refusal.
pub fn ensure_vm(server: &Server) -> Result<()> {
    if !server.is_vm() {
        return Err(Error::invalid(format!(
            "server {} is bare metal, not an oVirt VM: snapshots, statistics and engines are for virtual machines",
            server.id
        )));
    }
    Ok(())
}

/// A snapshot name: 1 to 64 of `a-zA-Z0-9_-.` (the apidocs' set).
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !ok {
        return Err(Error::invalid(format!(
            "invalid snapshot name '{}': use 1 to 64 of a-z A-Z 0-9 _ - .",
            shorten(name)
        )));
    }
    Ok(())
}

/// A VM's snapshots, oldest first.
pub async fn snapshots(state: &AppState, server: &Server) -> Result<Vec<Snapshot>> {
    ensure_vm(server)?;
    Ok(store::snapshots::list(&state.db, server.id).await?)
}

/// oVirt's id of a snapshot: a UUID drawn from the VM, the name and the moment.
fn uuid(server: i64, name: &str, now: i64) -> String {
    use sha2::{Digest, Sha256};
    let h = Sha256::digest(format!("{server}/{name}/{now}").as_bytes());
    let x: String = h.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-4{}-a{}-{}",
        &x[0..8],
        &x[8..12],
        &x[13..16],
        &x[17..20],
        &x[20..32]
    )
}

/// vm/create_snapshot: oVirt takes a snapshot of the VM's disks as they are now (what a
/// restore brings back: the OS, the licences and the customer's tags); the snapshot is
/// `locked` until the job is done. Returns the record's key.
pub async fn create(
    state: &AppState,
    caller: &Principal,
    server: &Server,
    name: &str,
    kind: &str,
) -> Result<String> {
    ensure_vm(server)?;
    servers::ensure_online(server, "a snapshot")?;
    check_name(name)?;
    let now = state.clock.now();
    let mut tx = store::begin_write(&state.db).await?;
    if store::snapshots::by_name(&mut *tx, server.id, name)
        .await?
        .is_some()
    {
        return Err(Error::Conflict(format!(
            "a snapshot named '{name}' already exists for VM {}",
            server.id
        )));
    }
    if store::snapshots::count(&mut tx, server.id).await? >= MAX_SNAPSHOTS {
        return Err(Error::Conflict(format!(
            "VM {} already has {MAX_SNAPSHOTS} snapshots, remove one first",
            server.id
        )));
    }
    let tags = store::snapshots::customer_tags(&mut tx, server.id).await?;
    let snapshot = Snapshot {
        id: 0,
        server_id: server.id,
        name: name.to_owned(),
        r#type: kind.to_owned(),
        uuid: uuid(server.id, name, now),
        status: "locked".into(),
        os: server.os.clone(),
        licenses: server.licenses.clone(),
        tags: serde_json::to_string(&tags)?,
        created_at: now,
    };
    let id = store::snapshots::insert(&mut tx, &snapshot).await?;
    let key = submit(state, &mut tx, caller, server, id, SnapshotOp::Create, name).await?;
    queue::commit(state, tx).await?;
    Ok(key)
}

/// vm/restore_snapshot: as oVirt, only with the VM down; brings back the OS, the licences
/// and the customer's tags as they were when the snapshot was taken.
pub async fn restore(
    state: &AppState,
    caller: &Principal,
    server: &Server,
    name: &str,
) -> Result<String> {
    ensure_vm(server)?;
    servers::ensure_online(server, "a snapshot restore")?;
    if server.power != "off" {
        return Err(Error::Conflict(format!(
            "Cannot restore snapshot '{}': VM {} must be down, power it off first (eq/off)",
            shorten(name),
            server.id
        )));
    }
    locked_op(state, caller, server, name, SnapshotOp::Restore).await
}

/// vm/remove_snapshot: oVirt deletes the snapshot (merging it into the disks).
pub async fn remove(
    state: &AppState,
    caller: &Principal,
    server: &Server,
    name: &str,
) -> Result<String> {
    ensure_vm(server)?;
    locked_op(state, caller, server, name, SnapshotOp::Remove).await
}

/// Locks an existing, settled snapshot and queues `op` on it.
async fn locked_op(
    state: &AppState,
    caller: &Principal,
    server: &Server,
    name: &str,
    op: SnapshotOp,
) -> Result<String> {
    check_name(name)?;
    let mut tx = store::begin_write(&state.db).await?;
    let snapshot = store::snapshots::by_name(&mut *tx, server.id, name)
        .await?
        .ok_or_else(|| {
            Error::not_found(format!("snapshot '{name}' not found for VM {}", server.id))
        })?;
    if !store::snapshots::lock(&mut tx, snapshot.id).await? {
        return Err(Error::Conflict(format!(
            "snapshot '{name}' is locked by another operation, try again when it is done"
        )));
    }
    let key = submit(state, &mut tx, caller, server, snapshot.id, op, name).await?;
    queue::commit(state, tx).await?;
    Ok(key)
}

async fn submit(
    state: &AppState,
    tx: &mut store::WriteTx,
    caller: &Principal,
    server: &Server,
    snapshot: i64,
    op: SnapshotOp,
    name: &str,
) -> Result<String> {
    let (action, took) = match op {
        SnapshotOp::Create => ("create_snapshot", CREATE_MS),
        SnapshotOp::Restore => ("restore_snapshot", RESTORE_MS),
        SnapshotOp::Remove => ("remove_snapshot", REMOVE_MS),
    };
    let mut context = queue::server_context(action, server.id, &server.location);
    context["snapshot"] = serde_json::json!(name);
    let task = NewTask::on_server(
        "eq",
        caller.account.id,
        server,
        action,
        context,
        Job::Snapshot { snapshot, op },
        took,
    );
    queue::submit_in(state, tx, task).await
}

/// vm/load_stats: the VM's last 24 hours every 5 minutes, from the traffic graphs' source
/// (the main port's series, as net/show_cacti draws it).
pub async fn load_stats(state: &AppState, server: &Server) -> Result<Vec<Load>> {
    ensure_vm(server)?;
    let now = state.clock.now();
    let ifaces = store::servers::interfaces(&state.db, server.id).await?;
    let main = ifaces.iter().find(|i| i.is_main == 1).or(ifaces.first());
    let iface_id = main.map_or(0, |i| i.id);
    let (avg_in, avg_out) = traffic::average_bps(server, true, now);
    let seed = (server.id as u64) << 8 | iface_id as u64 & 0xff;
    Ok(ovirt::load(seed, now - 86_400, now, 300, avg_in, avg_out))
}

/// vm/get_engine: the engine and cluster of the VM's location.
pub async fn engine_of(state: &AppState, server: &Server) -> Result<(String, Engine)> {
    ensure_vm(server)?;
    let dc = store::servers::location(&state.db, &server.location)
        .await?
        .map(|l| l.dc_name)
        .unwrap_or_default();
    Ok((
        server.location.clone(),
        ovirt::engine(&server.location, &dc),
    ))
}

/// vm/get_engine without a VM: the engine of every location.
pub async fn engines(state: &AppState) -> Result<Vec<(String, Engine)>> {
    Ok(store::servers::locations(&state.db)
        .await?
        .into_iter()
        .map(|l| {
            let e = ovirt::engine(&l.code, &l.dc_name);
            (l.code, e)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_names_are_the_documented_set() {
        for good in ["a", "before-upgrade_1.2", &"x".repeat(64)] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in ["", "with space", "ünï", "a/b", &"x".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        let u = uuid(1, "a", 2);
        assert_eq!(u.len(), 36);
        assert_eq!(u, uuid(1, "a", 2));
        assert_ne!(u, uuid(1, "b", 2));
    }
}
