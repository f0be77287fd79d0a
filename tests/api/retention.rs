//! Bounded growth (issue 10): a server's queue of power actions is capped, and the prune
//! removes, on the emulator's clock, what no client can read any more, and nothing else.

use serde_json::Value;

use crate::helpers::*;

/// A configuration whose worker prunes only at start, so that each `POST /_emu/prune`
/// answers for everything since the previous one.
fn explicit_prune_config() -> hostkey_emu::config::Config {
    let mut config = test_config();
    config.prune_interval = 10 * 365 * 86_400;
    config
}

/// POST /_emu/prune: the counts of what went.
async fn prune(app: &TestApp) -> Value {
    let r = app.control_post("/_emu/prune").await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["status"], "ok", "{v}");
    v["pruned"].clone()
}

/// eq/status of a server: a power action, queued as a job; the answer.
async fn status(app: &TestApp, token: &str, id: &str) -> Value {
    app.call("eq", &[("action", "status"), ("token", token), ("id", id)])
        .await
}

/// The callback key of an async action's answer.
fn callback_of(v: &Value) -> String {
    ok(v)["callback"].as_str().expect("callback").to_owned()
}

/// Asserts the answer of a record that is no more.
fn gone(v: &Value, key: &str) {
    assert_eq!(error_of(v), format!("AsyncKey {key} not found"));
}

#[tokio::test]
async fn power_actions_queue_up_to_the_limit_then_wait_until_one_finishes() {
    let mut config = test_config();
    config.max_queued_power = 3;
    let app = TestApp::spawn_with(config).await;
    let t = app.long_token().await;
    for _ in 0..3 {
        ok(&status(&app, &t, "40101").await);
    }
    let full = status(&app, &t, "40101").await;
    assert_eq!(
        error_of(&full),
        "eq/status: 3 power actions are already queued for server 40101, please wait until one finishes"
    );
    let reboot = app
        .call(
            "eq",
            &[("action", "reboot"), ("token", &t), ("id", "40101")],
        )
        .await;
    assert!(error_of(&reboot).starts_with("eq/reboot: 3 power actions are already queued"));
    // Every server has its own queue.
    ok(&status(&app, &t, "40102").await);
    // The first status is over after its 2 s: there is room for one more.
    app.advance(2).await;
    app.run_tasks().await;
    ok(&status(&app, &t, "40101").await);
    let full = status(&app, &t, "40101").await;
    assert!(error_of(&full).contains("already queued"), "{full}");
    app.stop().await;
}

#[tokio::test]
async fn a_final_record_goes_after_its_retention_and_an_unread_one_after_a_generous_age() {
    let mut config = explicit_prune_config();
    config.callback_retention = 600;
    config.unread_retention = 86_400;
    let app = TestApp::spawn_with(config).await;
    let t = app.long_token().await;
    let read = callback_of(&status(&app, &t, "40101").await);
    let unread = callback_of(&status(&app, &t, "40102").await);
    let late = callback_of(&status(&app, &t, "40103").await);
    app.advance(10).await;
    app.run_tasks().await;
    ok(&app.check(&read).await);
    // Within its retention after the first read, a record stays.
    app.advance(590).await;
    assert_eq!(prune(&app).await["read_records"], 0);
    ok(&app.check(&read).await);
    app.advance(15).await;
    assert_eq!(prune(&app).await["read_records"], 1);
    gone(&app.check(&read).await, &read);
    // Records nobody read stay for the generous age since they were done...
    app.advance(86_400 - 630).await;
    assert_eq!(prune(&app).await["unread_records"], 0);
    ok(&app.check(&late).await);
    // ...and go after it.
    app.advance(30).await;
    assert_eq!(prune(&app).await["unread_records"], 1);
    gone(&app.check(&unread).await, &unread);
    ok(&app.check(&late).await);
    app.stop().await;
}

#[tokio::test]
async fn work_still_in_progress_is_never_pruned() {
    // An order of more than the account's credit waits for its payment for as long as it
    // takes: its staged record outlives every retention period.
    let mut config = explicit_prune_config();
    config.unread_retention = 3600;
    config.job_retention = 60;
    let app = TestApp::spawn_with(config).await;
    let t = app.long_token().await;
    let v = app.order_gpu_year(&t).await;
    let key = callback_of(&v);
    for _ in 0..3 {
        app.advance(86_400).await;
        app.run_tasks().await;
        prune(&app).await;
    }
    let waiting = app.check(&key).await;
    assert_eq!(waiting["result"], "Stage", "{waiting}");
    assert!(waiting["scope"]
        .as_str()
        .expect("scope")
        .contains("Waiting for payment"));
    app.stop().await;
}

#[tokio::test]
async fn sessions_failure_runs_and_finished_jobs_go_when_they_no_longer_count() {
    let mut config = explicit_prune_config();
    config.job_retention = 600;
    let app = TestApp::spawn_with(config).await;
    let t = app.long_token().await;
    let short = app
        .call(
            "auth",
            &[("action", "login"), ("key", OTHER_KEY), ("ttl", "100")],
        )
        .await;
    assert!(short["result"]["token"].is_string());
    let wrong = app
        .call(
            "auth",
            &[
                ("action", "login"),
                ("key", "deadbeef000000ee-0123456789abcdef"),
            ],
        )
        .await;
    error_of(&wrong);
    let key = callback_of(&status(&app, &t, "40101").await);
    app.advance(10).await;
    app.run_tasks().await;
    ok(&app.check(&key).await);
    // Not yet: the short session is live, the run of failures counts, the job is recent.
    let p = prune(&app).await;
    assert_eq!(
        (&p["sessions"], &p["login_failures"], &p["jobs"]),
        (&Value::from(0), &Value::from(0), &Value::from(0))
    );
    app.advance(3600).await;
    let p = prune(&app).await;
    assert_eq!(p["sessions"], 1, "the expired session: {p}");
    assert_eq!(
        p["login_failures"], 2,
        "the key's run, from its address and overall"
    );
    assert_eq!(p["jobs"], 1);
    // The long session is still good.
    ok(&status(&app, &t, "40101").await);
    app.stop().await;
}

/// Adds an account key whose logins are mailed to the outbox; returns the key and its id.
async fn mailed_key(app: &TestApp, token: &str) -> (String, String) {
    let v = app
        .call(
            "api_keys",
            &[
                ("action", "add"),
                ("token", token),
                ("params[name]", "mailed"),
                ("params[login_notify_method]", "email"),
                ("params[login_notify_address]", "sec@example.com"),
            ],
        )
        .await;
    let key = v["data"]["api_key"].as_str().expect("key").to_owned();
    (key, v["data"]["id"].to_string())
}

async fn history_types(app: &TestApp, token: &str, id: &str) -> Vec<String> {
    let h = app
        .call(
            "api_keys",
            &[("action", "history"), ("token", token), ("params[id]", id)],
        )
        .await;
    h["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|r| r["type"].as_str().expect("type").to_owned())
        .collect()
}

#[tokio::test]
async fn login_history_and_the_outbox_keep_their_retention_and_the_key_records_stay() {
    let mut config = explicit_prune_config();
    config.history_retention = 3000;
    let app = TestApp::spawn_with(config).await;
    let t = app.long_token().await;
    let (key, id) = mailed_key(&app, &t).await;
    app.login_key(&key).await;
    assert_eq!(history_types(&app, &t, &id).await, ["login", "action"]);
    assert_eq!(
        app.control_get("/_emu/outbox").await["mails"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    app.advance(2990).await;
    let p = prune(&app).await;
    assert_eq!(
        (&p["login_history"], &p["outbox"]),
        (&Value::from(0), &Value::from(0))
    );
    app.advance(20).await;
    let p = prune(&app).await;
    // The mailed key's login, and the demo key's that gave the token.
    assert_eq!(
        (&p["login_history"], &p["outbox"]),
        (&Value::from(2), &Value::from(1))
    );
    assert_eq!(
        history_types(&app, &t, &id).await,
        ["action"],
        "what was done to the key stays"
    );
    assert_eq!(
        app.control_get("/_emu/outbox").await["mails"],
        serde_json::json!([])
    );
    app.stop().await;
}

#[tokio::test]
async fn the_worker_prunes_by_itself_as_the_clock_moves() {
    let mut config = test_config();
    config.history_retention = 3000;
    config.prune_interval = 60;
    let app = TestApp::spawn_with(config).await;
    let t = app.long_token().await;
    let (key, _) = mailed_key(&app, &t).await;
    app.login_key(&key).await;
    assert_eq!(
        app.control_get("/_emu/outbox").await["mails"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    app.advance(3100).await;
    // The clock moved: the worker wakes and prunes within its interval; no request asks it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let mails = app.control_get("/_emu/outbox").await["mails"].clone();
        if mails == serde_json::json!([]) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the worker did not prune the outbox: {mails}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    app.stop().await;
}
