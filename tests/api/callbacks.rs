//! eq_callback.php / nat_callback.php: states, unknown keys, retention after the first read.

use crate::helpers::*;

#[tokio::test]
async fn unknown_and_malformed_keys_are_not_found() {
    let app = TestApp::spawn().await;
    let v = app.check("0123456789abcdef0123456789abcdef").await;
    assert_eq!(
        error_of(&v),
        "AsyncKey 0123456789abcdef0123456789abcdef not found"
    );
    let v = app.check("zzz").await;
    assert_eq!(error_of(&v), "AsyncKey zzz not found");
    let v = app.call("eq_callback", &[("action", "check")]).await;
    assert_eq!(error_of(&v), "eq_callback/check: key is required");
    let v = app
        .call("eq_callback", &[("action", "peek"), ("key", "x")])
        .await;
    assert_eq!(error_of(&v), "eq_callback: unknown action peek");
    app.stop().await;
}

#[tokio::test]
async fn a_completed_record_expires_after_the_retention_period_from_its_first_read() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let id = app.server_ids(&t).await[0].to_string();
    let v = app
        .call("eq", &[("action", "status"), ("token", &t), ("id", &id)])
        .await;
    let key = v["callback"].as_str().expect("key").to_owned();
    // reinstall_key is accepted as the key's name too.
    let pending = app
        .call(
            "eq_callback",
            &[("action", "check"), ("reinstall_key", &key)],
        )
        .await;
    assert_eq!(pending["result"], "Not ready");
    // Completion long before the first read does not start the retention clock.
    app.advance(3600).await;
    app.run_tasks().await;
    app.advance(3600).await;
    assert_eq!(app.check(&key).await["result"], "OK");
    app.advance(590).await;
    assert_eq!(
        app.check(&key).await["result"],
        "OK",
        "still readable within 10 minutes of the first read"
    );
    app.advance(20).await;
    let v = app.check(&key).await;
    assert_eq!(error_of(&v), format!("AsyncKey {key} not found"));
    app.stop().await;
}

#[tokio::test]
async fn eq_keys_are_not_answered_by_the_nat_poller() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let id = app.server_ids(&t).await[0].to_string();
    let v = app
        .call("eq", &[("action", "status"), ("token", &t), ("id", &id)])
        .await;
    let key = v["callback"].as_str().expect("key");
    let r = app
        .client
        .get(format!(
            "{}/nat_callback.php?action=check&key={key}",
            app.base
        ))
        .send()
        .await
        .expect("get");
    let v: serde_json::Value = r.json().await.expect("json");
    assert!(error_of(&v).ends_with("not found"));
    app.stop().await;
}

#[tokio::test]
async fn parallel_actions_on_a_database_file_all_complete() {
    // A file database (the default) with requests and the worker on several connections:
    // no request or job may fail because another connection wrote first.
    let (app, _dir) = TestApp::spawn_on_file().await;
    let t = app.long_token().await;
    let mut handles = Vec::new();
    for i in 0..24 {
        let (action, id) = match i % 4 {
            0 => ("reboot", "40101"),
            1 => ("novnc", "40102"),
            2 => ("status", "40103"),
            _ => ("add_ipmi_user", "40104"),
        };
        let call = app.spawn_call("eq", &[("action", action), ("token", &t), ("id", id)]);
        handles.push((action, call));
        // Let the worker run jobs while requests keep arriving.
        if i % 6 == 5 {
            app.advance(120).await;
            app.run_tasks().await;
        }
    }
    let mut keys = Vec::new();
    for (action, h) in handles {
        let v = h.await.expect("task");
        assert_eq!(v["result"], "OK", "{action}: {v}");
        keys.push(v["callback"].as_str().expect("key").to_owned());
    }
    app.advance(3600).await;
    app.run_tasks().await;
    for k in keys {
        let rec = app.check(&k).await;
        assert_eq!(rec["result"], "OK", "{rec}");
    }
    app.stop().await;
}
