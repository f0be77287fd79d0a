//! Retention: what the emulator keeps, and for how long, on its own clock. The worker runs
//! [`prune`] every `--prune-interval` seconds of emulator time (and `POST /_emu/prune` runs
//! it at once), so that a long-running emulator under steady load stays the same size.
//!
//! Nothing a client can still legitimately read goes: a final record stays for its
//! retention after the first read (`--callback-retention`), an unread one for a generous
//! age (`--unread-retention`), pending and staged records and their jobs until they are
//! over, api_keys/history records of what was done to keys for ever (they tell which keys
//! an account had), and nothing the scenario loaded is touched.
//!
//! What goes is wiped, not hidden: the database zeroes deleted content (`secure_delete`),
//! and each prune ends by emptying the write-ahead log, whose old frames would otherwise
//! still hold the pages as they were (secrets of records past their retention included).

use serde::Serialize;

use crate::error::Result;
use crate::state::AppState;
use crate::store;

/// How many rows one prune removed, per kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Pruned {
    /// Final records whose retention after the first read is over.
    pub read_records: u64,
    /// Final records nobody read within `--unread-retention`.
    pub unread_records: u64,
    /// Jobs finished more than `--job-retention` ago.
    pub jobs: u64,
    /// Expired sessions.
    pub sessions: u64,
    /// Runs of failed logins or PINs that no longer count.
    pub login_failures: u64,
    /// Login records of api_keys/history older than `--history-retention`.
    pub login_history: u64,
    /// Outbox e-mails older than `--history-retention`.
    pub outbox: u64,
    /// Remote-hands tickets closed more than `--history-retention` ago.
    pub tickets: u64,
    /// Console (noVNC) sessions that are over.
    pub consoles: u64,
    /// Whether the write-ahead log was emptied afterwards (it is not in memory, or when
    /// busy readers kept the checkpoint from finishing; the next prune tries again).
    pub wal_emptied: bool,
}

impl Pruned {
    /// Rows removed in all.
    pub fn total(&self) -> u64 {
        self.read_records
            + self.unread_records
            + self.jobs
            + self.sessions
            + self.login_failures
            + self.login_history
            + self.outbox
            + self.tickets
            + self.consoles
    }
}

/// Applies every retention period once, as of the emulator's clock now.
pub async fn prune(state: &AppState) -> Result<Pruned> {
    let (db, c, now) = (&state.db, &state.config, state.clock.now());
    // A run of failures stops counting after a quiet hour, and a per-key PIN lockout after
    // `pin_lockout`: older runs mean nothing any more.
    let failures_kept = c.pin_lockout.max(3600);
    let pruned = Pruned {
        // Jobs first: deleting a record deletes its job with it (the foreign key cascades).
        // `purge_done` deletes strictly before its time: a job finished exactly
        // `job_retention` ago goes too.
        jobs: store::jobs::purge_done(db, now.saturating_sub(c.job_retention) + 1).await?,
        read_records: store::callbacks::purge_expired(db, now, c.callback_retention).await?,
        unread_records: store::callbacks::purge_unread(db, now, c.unread_retention).await?,
        sessions: store::sessions::purge_expired(db, now).await?,
        login_failures: store::sessions::purge_failures(db, now - failures_kept).await?,
        login_history: store::api_keys::purge_logins(db, now - c.history_retention).await?,
        outbox: store::outbox::purge(db, now - c.history_retention).await?,
        tickets: store::remote_hands::purge_done(db, now - c.history_retention).await?,
        consoles: store::deploy::purge_consoles(db, now).await?,
        wal_emptied: false,
    };
    let pruned = Pruned {
        wal_emptied: store::maintenance::truncate_wal(db).await?,
        ..pruned
    };
    if pruned.total() > 0 {
        tracing::debug!(?pruned, "pruned");
    }
    Ok(pruned)
}
