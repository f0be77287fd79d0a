//! The job queue's worker. Every async action creates a callback record and a job in one
//! transaction; the worker runs jobs when they fall due (on the emulator's clock, scaled by
//! the task speed), applies their effect and completes the record.
//!
//! `run_due` is the step function: the background loop calls it, and so does
//! `POST /_emu/tasks/run`, so tests and users can drain the queue without waiting.

pub mod deploy;
pub mod iso;
pub mod jenkins;
pub mod network;
pub mod remote_hands;
pub mod retention;
#[cfg(test)]
mod tests;
pub mod vm;

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures_util::FutureExt;
use serde_json::{json, Map, Value};

use crate::error::{Error, Result};
use crate::queue::Job;
use crate::sim::{self, power::PowerOp, Effect, Outcome};
use crate::state::AppState;
use crate::store::{self, callbacks::Callback, jobs::JobRow};
use sqlx::SqliteConnection;

/// Runs every job that was due when the pass started, once; returns how many ran.
///
/// One pass, not "until nothing is due": a staged job is rescheduled after the pass start
/// (see `run_one`), so at `--task-speed instant` a job that keeps re-staging cannot hold
/// the worker lock forever and starve `/_emu/reset`, `/_emu/tasks/run` or shutdown.
///
/// A job that cannot be loaded, fails or panics is finished as a failure on its own; the
/// pass goes on with the next job.
pub async fn run_due(state: &AppState) -> Result<usize> {
    let _guard = state.worker_lock.lock().await;
    // The billing cycle first: what fell due on the clock (renewals, suspensions, the end
    // of cancelled services) happens before the jobs that may depend on it.
    if let Err(e) = crate::ops::billing::cycle(state).await {
        tracing::error!(error = %e, "billing cycle failed");
    }
    let pass_start_ms = state.clock.now_ms();
    let mut ran = 0;
    while let Some(row) = store::jobs::claim_due(&state.db, pass_start_ms).await? {
        if let Err(why) = run_claimed(state, &row, pass_start_ms).await {
            // The detail (a database error, a panic) belongs in the log; clients see a
            // plain failure record.
            tracing::error!(job = row.id, kind = %row.kind, error = %why, "job failed");
            give_up(state, &row).await?;
        }
        ran += 1;
    }
    Ok(ran)
}

/// Parses a claimed row and runs one step of it. `Err` says, for the log, why the job
/// failed: its row does not load (an unknown kind, a payload that does not fit it), its
/// step failed, or its step panicked.
async fn run_claimed(
    state: &AppState,
    row: &JobRow,
    pass_start_ms: i64,
) -> std::result::Result<(), String> {
    let job = Job::from_columns(&row.kind, &row.payload)
        .map_err(|e| format!("the job does not load: {e}"))?;
    // A panicked step's transaction is dropped with it, before `give_up`, and so rolled
    // back; nothing else the step touches outlives it, so the worker can carry on.
    let result = AssertUnwindSafe(run_one(state, row, &job, pass_start_ms))
        .catch_unwind()
        .await;
    match result {
        Ok(Ok(())) => Ok(()),
        Ok(Err(Error::Internal(detail))) => Err(detail),
        Ok(Err(other)) => Err(other.to_string()),
        Err(panic) => Err(format!("the job panicked: {}", panic_message(&*panic))),
    }
}

/// The message of a panic (`panic!("...")` gives a `&str` or a `String`), for the log.
pub fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "a panic without a message"
    }
}

/// A job that cannot run is finished as a failure rather than retried forever; an install
/// it was running no longer blocks the server.
async fn give_up(state: &AppState, job: &JobRow) -> Result<()> {
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

/// What every step reads besides its job's fields: the state, the record it reports on,
/// the stage it runs as and the time.
pub struct Ctx<'a> {
    pub state: &'a AppState,
    pub record: &'a Callback,
    /// 0 on the first run; staged jobs run again as the stage their last step named.
    pub stage: i64,
    pub now: i64,
}

/// Runs one step of a loaded job and stores what it produced.
async fn run_one(state: &AppState, row: &JobRow, job: &Job, pass_start_ms: i64) -> Result<()> {
    let now = state.clock.now();
    let Some(record) = store::callbacks::get(&state.db, &row.callback_key).await? else {
        // The record was reset away; nothing to report to.
        store::jobs::finish(&state.db, row.id, now).await?;
        return Ok(());
    };
    let mut tx = store::begin_write(&state.db).await?;
    let cx = Ctx {
        state,
        record: &record,
        stage: row.stage,
        now,
    };
    let step = match state.faults.fate(&row.callback_key) {
        Some(fate) => faulted(&mut tx, row, fate).await?,
        None => step(&cx, &mut tx, job).await?,
    };
    let mut webhook = None;
    match step {
        Step::Done(outcome) => {
            webhook = outcome.webhook.clone();
            let mut context: Map<String, Value> =
                serde_json::from_str(&record.context).unwrap_or_default();
            context.extend(outcome.context.clone());
            store::callbacks::finish(
                &mut *tx,
                &row.callback_key,
                outcome.ok,
                &outcome.scope,
                &Value::Object(context),
                outcome.debug.as_deref(),
                now,
            )
            .await?;
            store::jobs::finish(&mut *tx, row.id, now).await?;
        }
        Step::Stage {
            scope,
            next_in_ms,
            next_stage,
        } => {
            store::callbacks::stage(&mut *tx, &row.callback_key, &scope, now).await?;
            let due = state.clock.now_ms() + state.config.task_speed.scale(next_in_ms);
            // Never due again within the pass that ran it (see `run_due`).
            let due = due.max(pass_start_ms + 1);
            store::jobs::reschedule(&mut *tx, row.id, next_stage, due).await?;
        }
        Step::Wait {
            scope,
            for_ms,
            next_stage,
        } => {
            store::callbacks::stage(&mut *tx, &row.callback_key, &scope, now).await?;
            let due = (state.clock.now_ms() + for_ms).max(pass_start_ms + 1);
            store::jobs::reschedule(&mut *tx, row.id, next_stage, due).await?;
        }
    }
    tx.commit().await?;
    if let Some((url, body)) = webhook {
        state.send_webhook(url, body);
    }
    Ok(())
}

/// The step of a job whose task an injected fault decided (`/_emu/faults`): a failure
/// record as 001 shows one (`Fail` with the hardware's output in `debug`), or a stage that
/// never ends (the job is due again only in the far future). An install the job holds is
/// released on failure, as a real failure releases it.
async fn faulted(
    tx: &mut SqliteConnection,
    row: &JobRow,
    fate: crate::faults::Effect,
) -> Result<Step> {
    use crate::faults::{
        Effect as Fate, DEFAULT_FAIL_DEBUG, DEFAULT_FAIL_SCOPE, DEFAULT_STUCK_STAGE,
    };
    match fate {
        Fate::TaskStuck { stage } => Ok(Step::Wait {
            scope: stage.unwrap_or_else(|| DEFAULT_STUCK_STAGE.to_owned()),
            // A century of emulator time: forever, as far as a test goes.
            for_ms: 100 * 365 * 86_400_000,
            next_stage: row.stage,
        }),
        Fate::TaskFail { scope, debug } => {
            store::deploy::release_install(tx, &row.callback_key).await?;
            Ok(Step::Done(Outcome::fail(
                scope.unwrap_or_else(|| DEFAULT_FAIL_SCOPE.to_owned()),
                Some(debug.unwrap_or_else(|| DEFAULT_FAIL_DEBUG.to_owned())),
            )))
        }
        other => Err(Error::internal(format!(
            "{} is no task fault",
            other.kind()
        ))),
    }
}

/// Runs one step of a job inside the transaction that records its outcome, so a state
/// change and the record that reports it are stored together. A new job kind is a new
/// `Job` variant, and this match does not compile until it is handled here.
async fn step(cx: &Ctx<'_>, tx: &mut SqliteConnection, job: &Job) -> Result<Step> {
    match job {
        Job::Power { op } => power(cx, tx, *op).await,
        Job::RemoteHands { action } => remote_hands::step(cx, tx, action).await,
        Job::RemoteHandsReply { ticket } => remote_hands::reply(cx, tx, *ticket).await,
        Job::Snapshot { snapshot, op } => vm::snapshot(tx, *snapshot, *op).await,
        Job::IsoDownload { iso } => iso::download(tx, *iso).await,
        Job::Jenkins { task, params } => jenkins::run(cx, tx, task, params).await,
        Job::VirtualMedia { iso } => iso::media(cx, tx, *iso).await,
        Job::PortStatus { iface_id, vlan } => network::port_status(cx, tx, *iface_id, *vlan).await,
        Job::Port {
            iface_id,
            on,
            reason,
        } => network::port(cx, tx, *iface_id, *on, reason).await,
        Job::IpBlock {
            address,
            block,
            description,
            four_hours,
        } => {
            let block = block.then_some((description.as_str(), *four_hours));
            network::ip_block(cx, tx, address, block).await
        }
        Job::IpConfig {
            address,
            port,
            change,
        } => Ok(network::ip_config(address, port, change)),
        Job::Nat {
            rule_id,
            public_ip,
            change,
        } => network::nat(cx, tx, *rule_id, public_ip, change).await,
        Job::Deploy {
            invoice,
            vm,
            manual,
        } => deploy::deploy(cx, tx, *invoice, *vm, *manual).await,
        Job::Reinstall { vm, invoice } => deploy::reinstall(cx, tx, *invoice, *vm).await,
        Job::Installer {
            vm,
            os_id,
            hostname,
            post_install_callback,
        } => {
            let callback = post_install_callback.as_deref();
            deploy::installer(cx, tx, *vm, *os_id, hostname, callback).await
        }
        Job::PxeConfig { create } => Ok(deploy::pxe_config(*create)),
        Job::BootDev { media, vm } => deploy::boot_dev(cx, tx, media, *vm).await,
        Job::IpmiUser { add, user } => deploy::ipmi_user(cx, tx, *add, user.as_deref()).await,
        Job::UnitReset => Ok(deploy::unit_reset()),
        Job::Console => deploy::console(cx, tx).await,
        Job::Novnc { op, white_ip, base } => deploy::novnc(cx, tx, op, white_ip, base).await,
        Job::Cancellation { request } => {
            let (ok, scope, webhook) =
                crate::ops::billing::cancellation_step(tx, *request, cx.now).await?;
            let mut outcome = if ok {
                Outcome::ok(scope, None, sim::Effect::None)
            } else {
                Outcome::fail(scope, None)
            };
            outcome.webhook = webhook;
            Ok(Step::Done(outcome))
        }
        #[cfg(test)]
        Job::Panic { message } => {
            // Half a step: a write that the panic must take back with the transaction.
            store::servers::set_power(&mut *tx, cx.record.server_id, "off").await?;
            panic!("{message}")
        }
    }
}

/// eq/on, off, hard_off, reboot, status, sensors: the simulated BMC or oVirt answers, and
/// a server that boots with PXE set starts the installer.
async fn power(cx: &Ctx<'_>, tx: &mut SqliteConnection, op: PowerOp) -> Result<Step> {
    let Some(server) = store::servers::get(&mut *tx, cx.record.server_id).await? else {
        return Ok(Step::Done(Outcome::fail(
            "Server is no longer available",
            None,
        )));
    };
    let mut outcome = sim::power::execute(op, &server, cx.now);
    apply(tx, cx.record.server_id, &outcome.effect).await?;
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
        if let Some(key) = deploy::boot_from_pxe(cx.state, tx, &server, cx.now).await? {
            outcome.context.insert("reinstall_key".into(), json!(key));
        } else if let Some((iso, name)) = store::iso::mounted(&mut *tx, server.id).await? {
            // Without a PXE install, a mounted ISO image is what the server boots
            // (iso/mount_iso): the record says so.
            outcome.context.insert("booted_iso".into(), json!(name));
            outcome.context.insert("booted_iso_id".into(), json!(iso));
        }
    }
    Ok(Step::Done(outcome))
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
    // Under the worker lock, a job marked running is nobody's: this loop may be a restart
    // after a panic while `/_emu/tasks/run` runs a pass.
    let requeued = {
        let _guard = state.worker_lock.lock().await;
        store::jobs::requeue_running(&state.db).await
    };
    match requeued {
        Ok(0) => {}
        Ok(n) => tracing::info!(jobs = n, "requeued jobs left running by an earlier worker"),
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
        if now - last_housekeeping >= state.config.prune_interval {
            last_housekeeping = now;
            if let Err(e) = retention::prune(&state).await {
                tracing::warn!(error = %e, "pruning failed");
            }
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
