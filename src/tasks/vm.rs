//! oVirt at work on a VM's snapshot (vm.php): taking it, restoring the VM from it (only
//! while the VM is still down) or removing it; the record reads as oVirt's event.

use serde_json::json;
use sqlx::SqliteConnection;

use super::Step;
use crate::error::Result;
use crate::queue::SnapshotOp;
use crate::sim::{ovirt, Effect, Outcome};
use crate::store;

/// Carries out `op` on snapshot `id`.
pub async fn snapshot(tx: &mut SqliteConnection, id: i64, op: SnapshotOp) -> Result<Step> {
    let fail = |why: String| Ok(Step::Done(Outcome::fail(why, None)));
    let Some(snap) = store::snapshots::get(&mut *tx, id).await? else {
        return fail("The snapshot no longer exists".into());
    };
    let Some(server) = store::servers::get(&mut *tx, snap.server_id).await? else {
        return fail("VM is no longer available".into());
    };
    let vm = store::tags::get(&mut *tx, "eq", server.id, "hostname")
        .await?
        .map(|t| t.value)
        .unwrap_or_else(|| server.id.to_string());
    match op {
        SnapshotOp::Create => store::snapshots::unlock(&mut *tx, id).await?,
        SnapshotOp::Restore => {
            store::snapshots::unlock(&mut *tx, id).await?;
            if server.power != "off" {
                // Started again while the restore waited: oVirt refuses, nothing changes.
                return fail(format!(
                    "Cannot revert to Snapshot '{}'. VM {vm} must be down.",
                    snap.name
                ));
            }
            store::snapshots::restore(&mut *tx, &snap).await?;
        }
        SnapshotOp::Remove => store::snapshots::delete(&mut *tx, id).await?,
    }
    let mut o = Outcome::ok(
        ovirt::snapshot_done(op, &snap.name, &vm),
        Some(String::new()),
        Effect::None,
    );
    o.context.insert("snapshot_id".into(), json!(snap.uuid));
    Ok(Step::Done(o))
}
