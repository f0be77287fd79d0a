//! The test-tool control plane: snapshots (`/_emu/snapshots`) and isolated worlds
//! (`/_emu/worlds`, `/w/{id}/`).

use serde_json::{json, Value};

use crate::helpers::*;

/// POSTs a form to `<base>/<module>.php` and returns the JSON answer.
async fn call_at(
    client: &reqwest::Client,
    base: &str,
    module: &str,
    form: &[(&str, &str)],
) -> Value {
    let r = client
        .post(format!("{base}{module}.php"))
        .form(form)
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 200, "{module}.php {form:?}");
    r.json().await.expect("json")
}

/// The tags of a server, as `tag=value` strings.
async fn tags_of(client: &reqwest::Client, base: &str, token: &str, id: &str) -> Vec<String> {
    let l = call_at(
        client,
        base,
        "tags",
        &[("action", "list"), ("token", token), ("id", id)],
    )
    .await;
    l["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .map(|t| {
            format!(
                "{}={}",
                t["tag"].as_str().unwrap_or(""),
                t["value"].as_str().unwrap_or("")
            )
        })
        .collect()
}

/// Every row of the database file at `path`, read from a copy (so the original is not
/// touched), the clock's offset left out (a restore sets it to the snapshot's moment).
async fn dump_of(path: &std::path::Path) -> Vec<String> {
    let dir = tempfile::tempdir().expect("dir");
    let copy = dir.path().join("copy.db");
    std::fs::copy(path, &copy).expect("copy");
    let db = hostkey_emu::store::open(copy.to_str().expect("utf-8"))
        .await
        .expect("open");
    let rows = hostkey_emu::store::backup::dump(&db).await.expect("dump");
    db.close().await;
    rows.into_iter()
        .filter(|r| {
            !r.starts_with("meta: 'clock_offset_ms'") && !r.starts_with("meta: 'snapshot_now_ms'")
        })
        .collect()
}

#[tokio::test]
async fn a_snapshot_taken_under_concurrent_writes_is_restored_to_an_identical_state() {
    let (app, dir) = TestApp::spawn_on_file().await;
    let t = app.long_token().await;
    let id = app.server_ids(&t).await[0].to_string();
    // Writes in flight while the snapshot is taken.
    let writes: Vec<_> = (0..40)
        .map(|i| {
            let v = format!("v{i}");
            app.spawn_call(
                "tags",
                &[
                    ("action", "add"),
                    ("token", &t),
                    ("id", &id),
                    ("tag", &format!("t{i}")),
                    ("value", &v),
                ],
            )
        })
        .collect();
    let (status, s) = emu(
        &app,
        reqwest::Method::POST,
        "/_emu/snapshots",
        Some(json!({"name": "mid"})),
    )
    .await;
    assert_eq!(status, 201, "{s}");
    assert_eq!(s["snapshot"]["name"], "mid");
    for w in writes {
        ok(&w.await.expect("write"));
    }
    // After the snapshot: a tag, a clock jump, a new session.
    ok(&app
        .call(
            "tags",
            &[
                ("action", "add"),
                ("token", &t),
                ("id", &id),
                ("tag", "after"),
                ("value", "x"),
            ],
        )
        .await);
    let (status, _) = emu(
        &app,
        reqwest::Method::POST,
        "/_emu/clock/advance?seconds=3600",
        None,
    )
    .await;
    assert_eq!(status, 200);
    let snap_file = dir.path().join("emu.db.snapshots").join("mid.db");
    let saved = dump_of(&snap_file).await;
    assert!(
        saved.iter().any(|r| r.starts_with("sessions: ")),
        "the dump has rows"
    );

    let (status, r) = emu(
        &app,
        reqwest::Method::POST,
        "/_emu/snapshots/mid/restore",
        None,
    )
    .await;
    assert_eq!(status, 200, "{r}");
    let live = {
        // The live file with its WAL, as the emulator sees it.
        let path = dir.path().join("emu.db");
        let db = hostkey_emu::store::open(path.to_str().expect("utf-8"))
            .await
            .expect("open");
        let rows = hostkey_emu::store::backup::dump(&db).await.expect("dump");
        db.close().await;
        rows.into_iter()
            .filter(|r| {
                !r.starts_with("meta: 'clock_offset_ms'")
                    && !r.starts_with("meta: 'snapshot_now_ms'")
            })
            .collect::<Vec<_>>()
    };
    let only_live: Vec<_> = live.iter().filter(|r| !saved.contains(r)).collect();
    let only_saved: Vec<_> = saved.iter().filter(|r| !live.contains(r)).collect();
    assert_eq!(
        (only_live, only_saved),
        (vec![], vec![]),
        "every table as in the snapshot"
    );
    assert_eq!(live, saved);
    // The restored world answers as it did: the old token works, the later tag is gone,
    // the clock is back.

    let tags = tags_of(&app.client, &format!("{}/", app.base), &t, &id).await;
    assert!(!tags.contains(&"after=x".to_owned()), "{tags:?}");
    assert!(r["offset_ms"].as_i64().expect("offset") < 3_000_000, "{r}");

    let (status, l) = emu(&app, reqwest::Method::GET, "/_emu/snapshots", None).await;
    assert_eq!(status, 200);
    assert_eq!(l["snapshots"][0]["name"], "mid", "{l}");
    let (status, _) = emu(&app, reqwest::Method::DELETE, "/_emu/snapshots/mid", None).await;
    assert_eq!(status, 200);
    assert!(!snap_file.exists());
    app.stop().await;
}

#[tokio::test]
async fn snapshots_of_an_in_memory_database_restore_and_bad_input_is_refused_clearly() {
    let app = TestApp::spawn_with(test_config()).await;
    let t = app.long_token().await;
    let id = app.server_ids(&t).await[0].to_string();
    let base = format!("{}/", app.base);
    let (status, _) = emu(
        &app,
        reqwest::Method::POST,
        "/_emu/snapshots",
        Some(json!({"name": "clean"})),
    )
    .await;
    assert_eq!(status, 201);
    ok(&app
        .call(
            "tags",
            &[
                ("action", "add"),
                ("token", &t),
                ("id", &id),
                ("tag", "k"),
                ("value", "v"),
            ],
        )
        .await);
    assert!(tags_of(&app.client, &base, &t, &id)
        .await
        .contains(&"k=v".to_owned()));
    let (status, _) = emu(
        &app,
        reqwest::Method::POST,
        "/_emu/snapshots/clean/restore",
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(!tags_of(&app.client, &base, &t, &id)
        .await
        .contains(&"k=v".to_owned()));

    for (method, path, body, want) in [
        (
            reqwest::Method::POST,
            "/_emu/snapshots/nope/restore",
            None,
            404,
        ),
        (reqwest::Method::DELETE, "/_emu/snapshots/nope", None, 404),
        (
            reqwest::Method::POST,
            "/_emu/snapshots",
            Some(json!({"name": "clean"})),
            409,
        ),
        (
            reqwest::Method::POST,
            "/_emu/snapshots",
            Some(json!({"name": "../etc"})),
            400,
        ),
        (
            reqwest::Method::POST,
            "/_emu/snapshots",
            Some(json!({"name": ""})),
            400,
        ),
        (
            reqwest::Method::POST,
            "/_emu/snapshots",
            Some(json!({})),
            400,
        ),
        (
            reqwest::Method::POST,
            "/_emu/snapshots",
            Some(json!({"name": 5})),
            400,
        ),
        (
            reqwest::Method::POST,
            "/_emu/snapshots/bad%20name/restore",
            None,
            400,
        ),
    ] {
        let (status, v) = emu(&app, method.clone(), path, body.clone()).await;
        assert_eq!(status, want, "{method} {path} {body:?}: {v}");
        assert_eq!(v["status"], "error", "{v}");
        assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "{v}");
    }
    app.stop().await;
}

#[tokio::test]
async fn thirty_parallel_worlds_see_nothing_of_each_other_and_deleting_frees_them() {
    let app = TestApp::spawn_with(test_config()).await;
    let jobs: Vec<_> = (0..30)
        .map(|i| {
            let client = app.client.clone();
            let root = app.base.clone();
            tokio::spawn(async move {
                let r = client
                    .post(format!("{root}/_emu/worlds"))
                    .json(&json!({"task_speed": "instant"}))
                    .send()
                    .await
                    .expect("create");
                assert_eq!(r.status(), 201);
                let w: Value = r.json().await.expect("json");
                let base = w["world"]["base_url"].as_str().expect("base").to_owned();
                let wid = w["world"]["id"].as_str().expect("id").to_owned();
                let login = call_at(
                    &client,
                    &base,
                    "auth",
                    &[("action", "login"), ("key", DEMO_KEY)],
                )
                .await;
                let t = login["result"]["token"].as_str().expect("token").to_owned();
                let list =
                    call_at(&client, &base, "eq", &[("action", "list"), ("token", &t)]).await;
                let sid = list["servers"][0].as_i64().expect("server").to_string();
                let mine = format!("job{i}");
                ok(&call_at(
                    &client,
                    &base,
                    "tags",
                    &[
                        ("action", "add"),
                        ("token", &t),
                        ("id", &sid),
                        ("tag", "owner"),
                        ("value", &mine),
                    ],
                )
                .await);
                // Its own clock.
                let c: Value = client
                    .post(format!("{base}_emu/clock/advance?seconds={}", i + 1))
                    .send()
                    .await
                    .expect("advance")
                    .json()
                    .await
                    .expect("json");
                assert_eq!(c["offset_ms"].as_i64(), Some((i as i64 + 1) * 1000), "{c}");
                (wid, base, t, sid, mine)
            })
        })
        .collect();
    let mut worlds = Vec::new();
    for j in jobs {
        worlds.push(j.await.expect("job"));
    }
    for (_, base, t, sid, mine) in &worlds {
        let tags = tags_of(&app.client, base, t, sid).await;
        let owners: Vec<_> = tags.iter().filter(|t| t.starts_with("owner=")).collect();
        assert_eq!(owners, vec![&format!("owner={mine}")], "only its own write");
    }
    // A token of one world means nothing in another, nor in the default world.
    let (_, base0, t0, _, _) = &worlds[0];
    let (_, base1, _, _, _) = &worlds[1];
    let v = call_at(
        &app.client,
        base1,
        "eq",
        &[("action", "list"), ("token", t0)],
    )
    .await;
    assert_eq!(v["result"], -1, "{v}");
    let v = app.call("eq", &[("action", "list"), ("token", t0)]).await;
    assert_eq!(v["result"], -1, "{v}");
    let (_, l) = emu(&app, reqwest::Method::GET, "/_emu/worlds", None).await;
    assert_eq!(l["worlds"].as_array().map(Vec::len), Some(30), "{l}");
    for (wid, ..) in &worlds {
        let (status, _) = emu(
            &app,
            reqwest::Method::DELETE,
            &format!("/_emu/worlds/{wid}"),
            None,
        )
        .await;
        assert_eq!(status, 200);
    }
    let (_, l) = emu(&app, reqwest::Method::GET, "/_emu/worlds", None).await;
    assert_eq!(l["worlds"], json!([]), "{l}");
    let r = app
        .client
        .post(format!("{base0}eq.php"))
        .form(&[("action", "list")])
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), 404, "a deleted world is gone");
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["status"], "error");
    app.stop().await;
}

#[tokio::test]
async fn worlds_are_bounded_and_bad_requests_for_them_are_refused() {
    let mut config = test_config();
    config.max_worlds = 1;
    let app = TestApp::spawn_with(config).await;
    let (status, v) = emu(
        &app,
        reqwest::Method::POST,
        "/_emu/worlds",
        Some(json!({"task_speed": "fast"})),
    )
    .await;
    assert_eq!(status, 400, "{v}");
    let (status, v) = emu(
        &app,
        reqwest::Method::POST,
        "/_emu/worlds",
        Some(json!({"scenario": "/nonexistent.json"})),
    )
    .await;
    assert_eq!(status, 400, "{v}");
    let (status, v) = emu(
        &app,
        reqwest::Method::POST,
        "/_emu/worlds",
        Some(json!({"colour": 1})),
    )
    .await;
    assert_eq!(status, 400, "{v}");
    let (status, w) = emu(&app, reqwest::Method::POST, "/_emu/worlds", None).await;
    assert_eq!(status, 201, "{w}");
    let (status, v) = emu(&app, reqwest::Method::POST, "/_emu/worlds", None).await;
    assert_eq!(status, 409, "{v}");
    let (status, _) = emu(&app, reqwest::Method::DELETE, "/_emu/worlds/999", None).await;
    assert_eq!(status, 404);
    // A world's control plane and snapshots are its own.
    let id = w["world"]["id"].as_str().expect("id");
    let (status, h) = emu(
        &app,
        reqwest::Method::GET,
        &format!("/w/{id}/_emu/health"),
        None,
    )
    .await;
    assert_eq!((status, h["status"].as_str()), (200, Some("ok")));
    let (status, _) = emu(
        &app,
        reqwest::Method::POST,
        &format!("/w/{id}/_emu/snapshots"),
        Some(json!({"name": "w"})),
    )
    .await;
    assert_eq!(status, 201);
    let (_, l) = emu(&app, reqwest::Method::GET, "/_emu/snapshots", None).await;
    assert_eq!(l["snapshots"], json!([]), "{l}");
    app.stop().await;
}

#[tokio::test]
async fn an_embedded_emulator_answers_at_its_base_url_and_its_helpers_drive_it() {
    let emu = hostkey_emu::Emulator::builder()
        .task_speed("instant")
        .configure(|c| c.argon2_memory_kib = 64)
        .start()
        .await
        .expect("start");
    assert!(emu.base_url().starts_with("http://127.0.0.1:") && emu.base_url().ends_with('/'));
    let client = reqwest::Client::new();
    let login = call_at(
        &client,
        emu.base_url(),
        "auth",
        &[("action", "login"), ("key", DEMO_KEY)],
    )
    .await;
    assert!(login["result"]["token"].is_string(), "{login}");
    emu.snapshot("s").await.expect("snapshot");
    emu.advance_clock(120).await.expect("advance");
    let c = emu
        .control(reqwest::Method::GET, "_emu/clock", None)
        .await
        .expect("clock");
    assert!(c["offset_ms"].as_i64().expect("offset") >= 120_000, "{c}");
    emu.run_tasks().await.expect("tasks");
    emu.restore("s").await.expect("restore");
    let c = emu
        .control(reqwest::Method::GET, "_emu/clock", None)
        .await
        .expect("clock");
    assert!(c["offset_ms"].as_i64().expect("offset") < 120_000, "{c}");
    assert!(emu.restore("missing").await.is_err());
    assert!(hostkey_emu::Emulator::builder()
        .task_speed("fast")
        .start()
        .await
        .is_err());
    emu.reset().await.expect("reset");
    let base = emu.base_url().to_owned();
    emu.stop().await;
    assert!(
        client
            .get(format!("{base}_emu/health"))
            .send()
            .await
            .is_err(),
        "stopped"
    );
}
