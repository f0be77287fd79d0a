//! State lives in SQLite: a restart on the same file keeps accounts, sessions, tags, power
//! state and queued jobs, which complete after the restart.

use crate::helpers::*;

#[tokio::test]
async fn state_and_queued_jobs_survive_a_restart_on_the_same_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("emu.db").to_string_lossy().into_owned();
    let mut config = test_config();
    config.db = db.clone();
    let app = TestApp::spawn_with(config.clone()).await;
    let t = app.demo_token().await;
    let id = app.server_ids(&t).await[1].to_string();
    ok(&app
        .call(
            "tags",
            &[
                ("action", "add"),
                ("token", &t),
                ("id", &id),
                ("tag", "kept"),
                ("value", "yes"),
            ],
        )
        .await);
    let v = app
        .call(
            "eq",
            &[
                ("action", "off"),
                ("token", &t),
                ("id", &id),
                ("pin", DEMO_PIN),
            ],
        )
        .await;
    let key = v["callback"].as_str().expect("key").to_owned();
    app.stop().await;

    let app = TestApp::spawn_with(config).await;
    let v = app
        .call("tags", &[("action", "list"), ("token", &t), ("id", &id)])
        .await;
    assert!(
        v["tags"]
            .as_array()
            .expect("tags")
            .iter()
            .any(|x| x["tag"] == "kept"),
        "session and tag survived"
    );
    assert_eq!(app.check(&key).await["result"], "Not ready");
    let done = app.complete(&key).await;
    assert_eq!(done["result"], "OK", "the queued job ran after the restart");
    let show = app
        .call("eq", &[("action", "show"), ("token", &t), ("id", &id)])
        .await;
    assert_eq!(show["server_data"]["power"], "off");
    // Reset puts everything back to the scenario.
    let r = app.control_post("/_emu/reset").await;
    assert_eq!(r.status(), 200);
    let v = app
        .call("tags", &[("action", "list"), ("token", &t), ("id", &id)])
        .await;
    assert_eq!(
        error_of(&v),
        "auth: invalid token",
        "sessions are reset too"
    );
    let t = app.demo_token().await;
    let show = app
        .call("eq", &[("action", "show"), ("token", &t), ("id", &id)])
        .await;
    assert_eq!(show["server_data"]["power"], "on");
    assert!(!show["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .any(|x| x["tag"] == "kept"));
    app.stop().await;
}
