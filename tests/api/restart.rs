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

/// The scenario's servers are checked as they are loaded: one that breaks a rule stops the
/// start with its message and leaves the database empty; a database that holds a world
/// already still has its scenario checked at start, not at the next reset.
#[tokio::test]
async fn a_scenario_whose_server_breaks_a_rule_stops_the_start_and_loads_nothing() {
    use hostkey_emu::app::{AppState, StartError};
    let dir = tempfile::tempdir().expect("tempdir");
    let mut doc: serde_json::Value =
        serde_json::from_str(hostkey_emu::domain::scenario::DEMO).expect("demo");
    let servers = doc["servers"].as_array_mut().expect("servers");
    let mac = servers[0]["interfaces"][0]["mac"].clone();
    servers.last_mut().expect("server")["interfaces"][0]["mac"] = mac;
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, doc.to_string()).expect("write");
    let mut config = test_config();
    config.db = dir.path().join("emu.db").to_string_lossy().into_owned();
    config.scenario = broken.to_string_lossy().into_owned();
    let e = AppState::new(config.clone()).await.err().expect("refused");
    assert!(
        matches!(&e, StartError::Scenario(m) if m.contains("duplicate MAC")),
        "{e}"
    );
    let db = hostkey_emu::store::open(&config.db).await.expect("db");
    assert!(hostkey_emu::store::is_empty(&db).await.expect("count"));
    drop(db);
    // A world loaded from the demo, restarted with the broken file: refused at start.
    let mut demo = config.clone();
    demo.scenario = "demo".into();
    drop(AppState::new(demo).await.expect("the demo loads"));
    let e = AppState::new(config).await.err().expect("refused");
    assert!(
        matches!(&e, StartError::Scenario(m) if m.contains("duplicate MAC")),
        "{e}"
    );
}
