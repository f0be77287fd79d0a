//! The task-submission API: what an async action asks the queue for. An operation creates
//! its callback record and its job in one transaction (together with the business write the
//! record reports on); the worker (`tasks`) runs the job when it falls due.

use serde_json::{json, Value};
use sqlx::SqliteConnection;

use crate::error::Result;
use crate::secrets;
use crate::state::AppState;
use crate::store::{self, callbacks::NewCallback, jobs::NewJob};

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
    tx.commit().await?;
    state.wake.notify_one();
    Ok(key)
}

/// Creates the record and its job inside the caller's transaction (together with the
/// business write it reports on). Call `state.wake.notify_one()` after committing.
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

/// Creates the records and jobs of several tasks inside the caller's transaction, in two
/// statements whatever their number; returns their keys in the tasks' order. Tasks of a
/// serial kind (which queue behind each other per server) are submitted one by one.
pub async fn submit_many_in(
    state: &AppState,
    conn: &mut SqliteConnection,
    tasks: Vec<NewTask<'_>>,
) -> Result<Vec<String>> {
    if tasks
        .iter()
        .any(|t| SERIAL_KINDS.contains(&t.kind) && t.server_id != 0)
    {
        let mut keys = Vec::with_capacity(tasks.len());
        for t in tasks {
            keys.push(submit_in(state, conn, t).await?);
        }
        return Ok(keys);
    }
    let now = state.clock.now();
    let keys: Vec<String> = tasks.iter().map(|_| secrets::callback_key()).collect();
    let records: Vec<NewCallback<'_>> = tasks
        .iter()
        .zip(&keys)
        .map(|(t, key)| NewCallback {
            key,
            module: t.module,
            account_id: t.account_id,
            server_id: t.server_id,
            action: t.action,
            context: &t.context,
        })
        .collect();
    let jobs: Vec<NewJob<'_>> = tasks
        .iter()
        .zip(&keys)
        .map(|(t, key)| NewJob {
            callback_key: key,
            kind: t.kind,
            payload: &t.payload,
            due_at_ms: state.clock.now_ms() + state.config.task_speed.scale(t.duration_ms),
        })
        .collect();
    store::callbacks::create_many(&mut *conn, &records, now).await?;
    store::jobs::enqueue_many(&mut *conn, &jobs, now).await?;
    Ok(keys)
}

/// The context every server record starts with: action, id (a string), location.
pub fn server_context(action: &str, server_id: i64, location: &str) -> Value {
    json!({"action": action, "id": server_id.to_string(), "location": location})
}

/// The context of an address record: action, id and ip, without location (001 block_ip).
pub fn ip_context(action: &str, server_id: i64, ip: &str) -> Value {
    json!({"action": action, "id": server_id.to_string(), "ip": ip})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    /// A state on the demo scenario with cheap hashing.
    async fn state() -> AppState {
        let mut config = Config::for_tests();
        config.argon2_memory_kib = 64;
        AppState::new(config).await.expect("state")
    }

    /// A task of `kind` on server 40101.
    fn task(kind: &str, n: i64) -> NewTask<'_> {
        NewTask {
            module: "eq",
            account_id: Some(38642),
            server_id: 40101,
            action: "remove_ipv4",
            context: ip_context("remove_ipv4", 40101, &format!("10.0.0.{n}")),
            kind,
            payload: json!({"n": n}),
            duration_ms: 4_000,
        }
    }

    #[tokio::test]
    async fn many_tasks_get_their_records_and_jobs_in_two_statements() {
        let state = state().await;
        let mut tx = store::begin_write(&state.db).await.expect("begin");
        let tasks = vec![task("ip_config", 2), task("ip_config", 3)];
        let (keys, n) = store::counting(submit_many_in(&state, &mut tx, tasks)).await;
        let keys = keys.expect("submit");
        tx.commit().await.expect("commit");
        assert_eq!(n, 2);
        assert_eq!(keys.len(), 2);
        assert_ne!(keys[0], keys[1]);
        for (key, ip) in keys.iter().zip(["10.0.0.2", "10.0.0.3"]) {
            let c = store::callbacks::get(&state.db, key)
                .await
                .expect("get")
                .expect("record");
            assert_eq!((c.state.as_str(), c.server_id), ("pending", 40101));
            let ctx: Value = serde_json::from_str(&c.context).expect("json");
            assert_eq!(ctx["ip"], ip);
        }
        let mut tx = store::begin_write(&state.db).await.expect("begin");
        let (keys, n) = store::counting(submit_many_in(&state, &mut tx, Vec::new())).await;
        assert_eq!((keys.expect("submit").len(), n), (0, 0));
        tx.rollback().await.expect("rollback");
    }

    #[tokio::test]
    async fn power_tasks_queue_behind_each_other_one_by_one() {
        let state = state().await;
        let mut tx = store::begin_write(&state.db).await.expect("begin");
        let keys = submit_many_in(&state, &mut tx, vec![task("power", 1), task("power", 2)])
            .await
            .expect("submit");
        let last = store::jobs::last_due_for_server(&mut tx, "power", 40101)
            .await
            .expect("due")
            .expect("queued");
        tx.commit().await.expect("commit");
        assert_eq!(keys.len(), 2);
        let took = state.config.task_speed.scale(4_000);
        assert!(
            last >= state.clock.now_ms() - 1_000 + 2 * took,
            "the second waits for the first"
        );
    }
}
