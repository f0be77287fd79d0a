//! Named snapshots of the whole state (`/_emu/snapshots`): the database, with its queued
//! jobs and the bytes of its S3 objects, and the emulator clock's moment. Taking one does not stop requests (the copy is
//! made while the writer is held, between two writes); restoring one replaces the state in
//! one transaction, under the worker's lock, and the memos of the read model are forgotten
//! (the generations rise when the writer is given back).
//!
//! Both run in a task of their own, so a client that goes away half-way cancels nothing.

use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::backup::{self, SnapshotInfo};

fn checked(name: &str) -> Result<&str> {
    if backup::valid_name(name) {
        Ok(name)
    } else {
        Err(Error::invalid(
            "a snapshot name is 1 to 64 letters, digits, '-', '_' or '.' (not first)",
        ))
    }
}

/// Saves the whole state as `name`; a name in use is a conflict.
pub async fn take(state: &AppState, name: &str) -> Result<SnapshotInfo> {
    let name = checked(name)?.to_owned();
    let shelf = &state.snapshots;
    shelf.prepare().map_err(Error::internal)?;
    let path = shelf.path(&name);
    if path.exists() {
        return Err(Error::Conflict(format!(
            "snapshot {name} exists; delete it first"
        )));
    }
    let (st, to) = (state.clone(), path.clone());
    tokio::spawn(async move {
        let clock = Some((st.clock.now_ms(), st.clock.offset_ms()));
        backup::save(&st.db, &st.s3_blobs, &to, clock).await
    })
    .await
    .map_err(Error::internal)??;
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    Ok(SnapshotInfo {
        name,
        bytes,
        created: chrono::Utc::now().timestamp(),
    })
}

/// Brings the state of snapshot `name` back; a restoration already under way is a conflict.
pub async fn restore(state: &AppState, name: &str) -> Result<()> {
    let name = checked(name)?;
    let path = state.snapshots.path(name);
    if !path.exists() {
        return Err(Error::NotFound(format!("snapshot {name} not found")));
    }
    let Ok(turn) = state.snapshots.restoring.clone().try_lock_owned() else {
        return Err(Error::Conflict(
            "another snapshot is being restored; try again when it is done".into(),
        ));
    };
    let st = state.clone();
    tokio::spawn(async move {
        // No job runs half on the old state and half on the new one.
        let _worker = st.worker_lock.lock().await;
        let offset = backup::restore(
            &st.db,
            &st.s3_blobs,
            &path,
            chrono::Utc::now().timestamp_millis(),
        )
        .await?;
        st.clock.set_offset_ms(offset);
        drop(turn);
        Ok::<_, Error>(())
    })
    .await
    .map_err(Error::internal)??;
    state.wake.notify_one();
    Ok(())
}

/// The snapshots kept, by name.
pub fn list(state: &AppState) -> Result<Vec<SnapshotInfo>> {
    state.snapshots.list().map_err(Error::internal)
}

/// Deletes snapshot `name`.
pub fn delete(state: &AppState, name: &str) -> Result<()> {
    let name = checked(name)?;
    match std::fs::remove_file(state.snapshots.path(name)) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(Error::NotFound(format!("snapshot {name} not found")))
        }
        Err(e) => Err(Error::internal(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn state() -> AppState {
        let mut config = crate::config::Config::for_tests();
        config.argon2_memory_kib = 64;
        AppState::new(config).await.expect("state")
    }

    #[tokio::test]
    async fn a_restore_while_another_runs_is_a_conflict_and_changes_nothing() {
        let st = state().await;
        take(&st, "a").await.expect("take");
        let generation = st.db.generation();
        let held = st
            .snapshots
            .restoring
            .clone()
            .try_lock_owned()
            .expect("turn");
        let e = restore(&st, "a").await.expect_err("busy");
        assert!(matches!(e, Error::Conflict(_)), "{e:?}");
        assert_eq!(st.db.generation(), generation, "nothing written");
        drop(held);
        restore(&st, "a").await.expect("its turn");
        assert!(st.db.generation() > generation, "the memos are forgotten");
        assert!(matches!(take(&st, "a").await, Err(Error::Conflict(_))));
        assert!(matches!(restore(&st, "b").await, Err(Error::NotFound(_))));
        assert!(matches!(delete(&st, "../a"), Err(Error::Invalid(_))));
        delete(&st, "a").expect("delete");
        assert!(list(&st).expect("list").is_empty());
    }
}
