//! The worker's own guarantees: a job that does not load or that panics fails alone, with
//! the failure record, and the pass goes on with the next due job.

use serde_json::{json, Value};

use super::{panic_message, run_due};
use crate::config::Config;
use crate::queue::{self, Job, NewTask};
use crate::state::AppState;
use crate::store::{self, callbacks::NewCallback};

/// The demo scenario's VM, which is on.
const VM: i64 = 40101;

/// What a job that could not run leaves in its record (`give_up`).
const FAILURE: &str = "The operation could not be completed, please contact support";

/// An emulator state on an in-memory demo database, without a worker loop.
async fn state() -> AppState {
    let mut config = Config::for_tests();
    config.argon2_memory_kib = 64;
    AppState::new(config).await.expect("state")
}

/// A pending record of the VM with its job, written as raw columns (as a row queued by
/// another version would be), due at once.
async fn raw_job(state: &AppState, key: &str, kind: &str, payload: Value) {
    let ctx = queue::server_context("unit_reset", VM, "NL");
    let record = NewCallback {
        key,
        module: "eq",
        account_id: None,
        server_id: VM,
        action: "unit_reset",
        context: &ctx,
    };
    let now = state.clock.now();
    store::callbacks::create(&state.db, &record, now)
        .await
        .expect("record");
    store::jobs::enqueue(&state.db, key, kind, &payload, 0, now)
        .await
        .expect("job");
}

/// A job submitted as an operation would submit it, due at once.
async fn submit(state: &AppState, job: Job) -> String {
    let task = NewTask {
        module: "eq",
        account_id: None,
        server_id: VM,
        action: "unit_reset",
        context: queue::server_context("unit_reset", VM, "NL"),
        job,
        duration_ms: 0,
    };
    queue::submit(state, task).await.expect("submit")
}

/// A record's state, scope and context.
async fn record(state: &AppState, key: &str) -> (String, Option<String>, Value) {
    let r = store::callbacks::get(&state.db, key)
        .await
        .expect("get")
        .expect("record");
    let context = serde_json::from_str(&r.context).expect("context");
    (r.state, r.scope, context)
}

/// Jobs not finished yet.
async fn unfinished(state: &AppState) -> i64 {
    crate::store::test_support::count(&state.db, "jobs WHERE state <> 'done'").await
}

#[tokio::test]
async fn a_row_that_does_not_load_fails_its_job_and_the_next_due_job_still_runs() {
    let state = state().await;
    raw_job(&state, "unknown", "teleport", json!({"to": "mars"})).await;
    raw_job(&state, "malformed", "power", json!({"op": "explode"})).await;
    raw_job(&state, "legacy", "unit_reset", json!({})).await;

    assert_eq!(run_due(&state).await.expect("pass"), 3);

    let context = queue::server_context("unit_reset", VM, "NL");
    for key in ["unknown", "malformed"] {
        let (state_, scope, ctx) = record(&state, key).await;
        assert_eq!(state_, "fail", "{key}");
        assert_eq!(scope.as_deref(), Some(FAILURE), "{key}");
        assert_eq!(
            ctx, context,
            "{key}: the record keeps the request's context"
        );
    }
    let (state_, scope, _) = record(&state, "legacy").await;
    assert_eq!(state_, "ok");
    assert_eq!(scope.as_deref(), Some("Unit is reset"));
    assert_eq!(unfinished(&state).await, 0, "no job is left to retry");
}

#[tokio::test]
async fn a_panicking_job_fails_alone_and_the_next_due_job_in_the_pass_completes() {
    let state = state().await;
    let panics = submit(
        &state,
        Job::Panic {
            message: "the simulated BMC caught fire".into(),
        },
    )
    .await;
    let next = submit(&state, Job::UnitReset).await;

    assert_eq!(run_due(&state).await.expect("pass"), 2);

    let (state_, scope, ctx) = record(&state, &panics).await;
    assert_eq!(state_, "fail");
    assert_eq!(scope.as_deref(), Some(FAILURE));
    assert_eq!(ctx, queue::server_context("unit_reset", VM, "NL"));
    let (state_, scope, _) = record(&state, &next).await;
    assert_eq!(state_, "ok");
    assert_eq!(scope.as_deref(), Some("Unit is reset"));
    assert_eq!(unfinished(&state).await, 0);
    // The panicking step powered the server off before it panicked; that write went with
    // its transaction.
    let vm = store::servers::get(&state.db, VM)
        .await
        .expect("get")
        .expect("vm");
    assert_eq!(vm.power, "on");

    // And the worker goes on working afterwards.
    let later = submit(&state, Job::Console).await;
    assert_eq!(run_due(&state).await.expect("pass"), 1);
    assert_eq!(record(&state, &later).await.0, "ok");
}

#[test]
fn a_panic_message_is_read_from_a_str_or_a_string() {
    let message = |f: fn()| {
        let payload = std::panic::catch_unwind(f).expect_err("panics");
        panic_message(&*payload).to_owned()
    };
    assert_eq!(message(|| panic!("plain words")), "plain words");
    assert_eq!(
        message(|| panic!("formatted {}", 42)),
        "formatted 42",
        "a formatted message is a String"
    );
    assert_eq!(
        message(|| std::panic::panic_any(7_u8)),
        "a panic without a message"
    );
}
