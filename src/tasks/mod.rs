//! The job queue's worker. Every async action creates a callback record and a job in one
//! transaction; the worker runs jobs when they fall due (on the emulator's clock, scaled by
//! the task speed), applies their effect and completes the record.
//!
//! `run_due` is the step function: the background loop calls it, and so does
//! `POST /_emu/tasks/run`, so tests and users can drain the queue without waiting.

pub mod deploy;
pub mod network;
pub mod remote_hands;

use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::error::{Error, Result};
use crate::sim::{self, power::PowerOp, Effect, Outcome};
use crate::state::AppState;
use crate::store::{self, callbacks::Callback, jobs::Job};
use sqlx::SqliteConnection;

/// Runs every job that was due when the pass started, once; returns how many ran.
///
/// One pass, not "until nothing is due": a staged job is rescheduled after the pass start
/// (see `run_one`), so at `--task-speed instant` a job that keeps re-staging cannot hold
/// the worker lock forever and starve `/_emu/reset`, `/_emu/tasks/run` or shutdown.
pub async fn run_due(state: &AppState) -> Result<usize> {
    let _guard = state.worker_lock.lock().await;
    let pass_start_ms = state.clock.now_ms();
    let mut ran = 0;
    while let Some(job) = store::jobs::claim_due(&state.db, pass_start_ms).await? {
        if let Err(e) = run_one(state, &job, pass_start_ms).await {
            // The detail (a database error, say) belongs in the log; clients see a plain
            // failure record.
            let detail = match &e {
                Error::Internal(d) => d.clone(),
                other => other.to_string(),
            };
            tracing::error!(job = job.id, kind = %job.kind, error = %detail, "job failed");
            give_up(state, &job).await?;
        }
        ran += 1;
    }
    Ok(ran)
}

/// A job that cannot run is finished as a failure rather than retried forever; an install
/// it was running no longer blocks the server.
async fn give_up(state: &AppState, job: &Job) -> Result<()> {
    let now = state.clock.now();
    // The failure record keeps the request's context (action, id, location).
    let context: Value = match store::callbacks::get(&state.db, &job.callback_key).await? {
        Some(record) => serde_json::from_str(&record.context).unwrap_or_else(|_| json!({})),
        None => json!({}),
    };
    let mut tx = store::begin_write(&state.db).await?;
    store::callbacks::finish(
        &mut *tx,
        &job.callback_key,
        false,
        "The operation could not be completed, please contact support",
        &context,
        None,
        now,
    )
    .await
    .ok();
    store::deploy::release_install(&mut tx, &job.callback_key).await?;
    store::jobs::finish(&mut *tx, job.id, now).await?;
    tx.commit().await?;
    Ok(())
}

/// What one step of a job produced.
#[derive(Debug, Clone)]
pub enum Step {
    /// The job is over; the record becomes OK or Fail.
    Done(Outcome),
    /// Staged work (deploy, reinstall): the record shows `Stage` with this scope, and the
    /// job runs again (as stage `next_stage`) after `next_in_ms` realistic milliseconds.
    Stage {
        scope: String,
        next_in_ms: i64,
        next_stage: i64,
    },
    /// Staged work waiting on the world outside the simulated hardware (a payment, the
    /// operations team): like `Stage`, but `for_ms` is emulator-clock time that the task
    /// speed does not shorten, so even `--task-speed instant` waits until the clock is
    /// advanced (or the job is woken, as a payment does).
    Wait {
        scope: String,
        for_ms: i64,
        next_stage: i64,
    },
}

async fn run_one(state: &AppState, job: &Job, pass_start_ms: i64) -> Result<()> {
    let now = state.clock.now();
    let payload: Value = serde_json::from_str(&job.payload)?;
    let Some(record) = store::callbacks::get(&state.db, &job.callback_key).await? else {
        // The record was reset away; nothing to report to.
        store::jobs::finish(&state.db, job.id, now).await?;
        return Ok(());
    };
    let mut tx = store::begin_write(&state.db).await?;
    let step = step(state, &mut tx, job, &record, &payload, now).await?;
    let mut webhook = None;
    match step {
        Step::Done(outcome) => {
            webhook = outcome.webhook.clone();
            let mut context: Map<String, Value> =
                serde_json::from_str(&record.context).unwrap_or_default();
            context.extend(outcome.context.clone());
            store::callbacks::finish(
                &mut *tx,
                &job.callback_key,
                outcome.ok,
                &outcome.scope,
                &Value::Object(context),
                outcome.debug.as_deref(),
                now,
            )
            .await?;
            store::jobs::finish(&mut *tx, job.id, now).await?;
        }
        Step::Stage {
            scope,
            next_in_ms,
            next_stage,
        } => {
            store::callbacks::stage(&mut *tx, &job.callback_key, &scope, now).await?;
            let due = state.clock.now_ms() + state.config.task_speed.scale(next_in_ms);
            // Never due again within the pass that ran it (see `run_due`).
            let due = due.max(pass_start_ms + 1);
            store::jobs::reschedule(&mut *tx, job.id, next_stage, due).await?;
        }
        Step::Wait {
            scope,
            for_ms,
            next_stage,
        } => {
            store::callbacks::stage(&mut *tx, &job.callback_key, &scope, now).await?;
            let due = (state.clock.now_ms() + for_ms).max(pass_start_ms + 1);
            store::jobs::reschedule(&mut *tx, job.id, next_stage, due).await?;
        }
    }
    tx.commit().await?;
    if let Some((url, body)) = webhook {
        state.send_webhook(url, body);
    }
    Ok(())
}

/// Runs one step of a job inside the transaction that records its outcome, so a state
/// change and the record that reports it are stored together. New job kinds go here.
async fn step(
    state: &AppState,
    tx: &mut SqliteConnection,
    job: &Job,
    record: &Callback,
    payload: &Value,
    now: i64,
) -> Result<Step> {
    match job.kind.as_str() {
        "power" => {
            let op = payload
                .get("op")
                .and_then(Value::as_str)
                .and_then(PowerOp::from_action)
                .ok_or_else(|| Error::internal("power job without op"))?;
            let Some(server) = store::servers::get_in(&mut *tx, record.server_id).await? else {
                return Ok(Step::Done(Outcome::fail(
                    "Server is no longer available",
                    None,
                )));
            };
            let mut outcome = sim::power::execute(op, &server, now);
            apply(tx, record.server_id, &outcome.effect).await?;
            // A server boots on a reboot, or on `on` when it was off; `on` for a server
            // that is already running changes nothing and boots nothing.
            let boots = match op {
                PowerOp::Reboot => true,
                PowerOp::On => server.power != "on",
                _ => false,
            };
            if boots && outcome.ok {
                // With PXE as boot device and a PXE configuration, the server boots the
                // installer; the key it reports to is named here, so that a reinstall
                // nobody asked eq/reinstall for can still be followed.
                if let Some(key) = deploy::boot_from_pxe(state, tx, &server, now).await? {
                    outcome.context.insert("reinstall_key".into(), json!(key));
                }
            }
            Ok(Step::Done(outcome))
        }
        "remote_hands" => remote_hands::step(state, tx, record, payload, now).await,
        other => {
            if let Some(step) = network::step(tx, other, record, payload, now).await? {
                return Ok(step);
            }
            match deploy::step(state, tx, job, record, payload, now).await? {
                Some(step) => Ok(step),
                None => Err(Error::internal(format!("unknown job kind {other}"))),
            }
        }
    }
}

/// Stores a simulated effect.
async fn apply(tx: &mut SqliteConnection, server_id: i64, effect: &Effect) -> Result<()> {
    match effect {
        Effect::None => {}
        Effect::Power(p) => store::servers::set_power(&mut *tx, server_id, p).await?,
    }
    Ok(())
}

/// Background loop: runs due jobs, then sleeps until the next one is due, a new job is
/// submitted, or the clock moves. Returns when `shutdown` resolves.
pub async fn worker(state: AppState, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    match store::jobs::requeue_running(&state.db).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            jobs = n,
            "requeued jobs left running by the previous process"
        ),
        Err(e) => tracing::error!(error = %e, "could not requeue running jobs"),
    }
    let mut last_housekeeping = 0;
    loop {
        if *shutdown.borrow() {
            break;
        }
        if let Err(e) = run_due(&state).await {
            tracing::error!(error = %e, "worker step failed");
        }
        let now = state.clock.now();
        if now - last_housekeeping >= 60 {
            last_housekeeping = now;
            housekeeping(&state, now).await;
        }
        let wait = match store::jobs::next_due_ms(&state.db).await {
            Ok(Some(due)) => (due - state.clock.now_ms()).clamp(0, 1000),
            _ => 1000,
        };
        tokio::select! {
            _ = state.wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(wait as u64)) => {}
            _ = shutdown.changed() => {}
        }
    }
    tracing::info!("worker stopped; unfinished jobs stay queued");
}

async fn housekeeping(state: &AppState, now: i64) {
    let r = async {
        store::callbacks::purge_expired(&state.db, now, state.config.callback_retention).await?;
        store::sessions::purge_expired(&state.db, now).await?;
        store::jobs::purge_done(&state.db, now - 86_400).await?;
        Ok::<_, sqlx::Error>(())
    }
    .await;
    if let Err(e) = r {
        tracing::warn!(error = %e, "housekeeping failed");
    }
}
