//! The task-submission API: what an async action asks the queue for. An operation creates
//! its callback record and its job in one transaction (together with the business write the
//! record reports on); the worker (`tasks`) runs the job when it falls due.

use serde_json::{json, Value};
use sqlx::SqliteConnection;

use crate::error::Result;
use crate::secrets;
use crate::state::AppState;
use crate::store::{self, callbacks::NewCallback};

/// What an async action asks the queue for.
#[derive(Debug, Clone)]
pub struct NewTask<'a> {
    pub module: &'a str,
    pub account_id: Option<i64>,
    pub server_id: i64,
    /// The request action (`on`, `reboot`...).
    pub action: &'a str,
    /// The record's initial context (`action`, `id`, `location`...).
    pub context: Value,
    /// Job kind the worker dispatches on.
    pub kind: &'a str,
    pub payload: Value,
    /// Realistic duration before the (first) step, in milliseconds.
    pub duration_ms: i64,
}

/// Job kinds a server runs one after another, in the order they were asked for.
const SERIAL_KINDS: &[&str] = &["power"];

/// Creates the record and its job in one transaction; returns the callback key.
pub async fn submit(state: &AppState, t: NewTask<'_>) -> Result<String> {
    let mut tx = store::begin_write(&state.db).await?;
    let key = submit_in(state, &mut tx, t).await?;
    commit(state, tx).await?;
    Ok(key)
}

/// Commits a transaction that queued jobs with [`submit_in`], then wakes the worker so they
/// run as soon as they are due.
pub async fn commit(state: &AppState, tx: sqlx::Transaction<'_, sqlx::Sqlite>) -> Result<()> {
    tx.commit().await?;
    state.wake.notify_one();
    Ok(())
}

/// Creates the record and its job inside the caller's transaction (together with the
/// business write it reports on). Finish with [`commit`], which wakes the worker.
pub async fn submit_in(
    state: &AppState,
    conn: &mut SqliteConnection,
    t: NewTask<'_>,
) -> Result<String> {
    let key = secrets::callback_key();
    let now = state.clock.now();
    let took = state.config.task_speed.scale(t.duration_ms);
    let mut due = state.clock.now_ms() + took;
    if SERIAL_KINDS.contains(&t.kind) && t.server_id != 0 {
        // A server does one power action at a time: `on` sent during an `off` starts
        // when the `off` is over, so the last command sent is the state it ends in.
        if let Some(last) = store::jobs::last_due_for_server(conn, t.kind, t.server_id).await? {
            due = due.max(last + took);
        }
    }
    store::callbacks::create(
        &mut *conn,
        &NewCallback {
            key: &key,
            module: t.module,
            account_id: t.account_id,
            server_id: t.server_id,
            action: t.action,
            context: &t.context,
        },
        now,
    )
    .await?;
    store::jobs::enqueue(&mut *conn, &key, t.kind, &t.payload, due, now).await?;
    Ok(key)
}

/// The context every server record starts with: action, id (a string), location.
pub fn server_context(action: &str, server_id: i64, location: &str) -> Value {
    json!({"action": action, "id": server_id.to_string(), "location": location})
}

/// The context of an address record: action, id and ip, without location (001 block_ip).
pub fn ip_context(action: &str, server_id: i64, ip: &str) -> Value {
    json!({"action": action, "id": server_id.to_string(), "ip": ip})
}
