//! Reinstalls: through eq/order_instance with `id`, and the PXE path (reinstall, create_pxe,
//! boot_dev, reboot, five stages, clear_pxe).

use serde_json::Value;

use crate::helpers::*;

async fn eq(app: &TestApp, token: &str, form: &[(&str, &str)]) -> Value {
    let mut f = vec![("token", token)];
    f.extend_from_slice(form);
    app.call("eq", &f).await
}

async fn os_of(app: &TestApp, token: &str, id: &str) -> Value {
    eq(app, token, &[("action", "show"), ("id", id)]).await["OS"].clone()
}

#[tokio::test]
async fn order_instance_with_an_id_reinstalls_the_server() {
    let app = TestApp::spawn().await;
    let t = app.long_token().await;
    let v = eq(
        &app,
        &t,
        &[
            ("action", "order_instance"),
            ("id", "40101"),
            ("pin", DEMO_PIN),
            ("os_id", "205"),
            ("soft_id", "18"),
            ("root_pass", "mnN48Dl@4"),
            ("deploy_notify", "true"),
        ],
    )
    .await;
    assert_eq!(
        v,
        serde_json::json!({"result": "OK", "action": "order_instance", "callback": v["callback"], "deploy_status": "reinstall",
                           "id": 40101, "os_name": "RockyLinux 9", "soft_name": "Grafana"})
    );
    let key = v["callback"].as_str().expect("key").to_owned();
    let busy = eq(
        &app,
        &t,
        &[
            ("action", "order_instance"),
            ("id", "40101"),
            ("os_id", "187"),
            ("root_pass", "mnN48Dl@4"),
        ],
    )
    .await;
    assert_eq!(
        error_of(&busy),
        "another reinstall in progress for 40101, please wait"
    );
    let last = app.drive(&key, 120, 40).await.pop().expect("final");
    assert_eq!(last["scope"], "{\"result\":\"deploy_done\"}");
    assert_eq!(last["context"]["action"], "reinstall_vm");
    assert_eq!(last["context"]["reinstall"], 1);
    assert_eq!(last["context"]["ip"], "31.207.45.23");
    assert_eq!(last["debug"], "");
    assert_eq!(
        os_of(&app, &t, "40101").await,
        serde_json::json!({"id": 205, "name": "RockyLinux 9"})
    );
    // A clean slate: no OS at all.
    let v = eq(
        &app,
        &t,
        &[
            ("action", "order_instance"),
            ("id", "40101"),
            ("own_os", "1"),
        ],
    )
    .await;
    app.drive(v["callback"].as_str().expect("key"), 120, 40)
        .await;
    assert!(os_of(&app, &t, "40101").await.is_null());
    let bad = eq(
        &app,
        &t,
        &[
            ("action", "order_instance"),
            ("id", "40101"),
            ("os_id", "187"),
            ("soft_id", "49"),
            ("root_pass", "mnN48Dl@4"),
        ],
    )
    .await;
    assert_eq!(
        error_of(&bad),
        "reinstall: extra software Odoo (#49) is not compatible with Ubuntu 22.04"
    );
    let other = eq(
        &app,
        &t,
        &[
            ("action", "order_instance"),
            ("id", "40107"),
            ("os_id", "187"),
            ("root_pass", "mnN48Dl@4"),
        ],
    )
    .await;
    assert!(error_of(&other).contains("permission denied"));
    app.stop().await;
}

#[tokio::test]
async fn the_pxe_path_reports_five_stages_on_the_master_key() {
    let app = TestApp::spawn().await;
    let t = app.long_token().await;
    let id = "40102";
    let r = eq(&app, &t, &[("action", "reinstall"), ("id", id)]).await;
    assert_eq!(r["stage"], "create_pxe");
    let master = r["callback"].as_str().expect("key").to_owned();
    assert_eq!(app.check(&master).await["result"], "Not ready");
    let wrong = eq(
        &app,
        &t,
        &[
            ("action", "create_pxe"),
            ("id", id),
            ("os_id", "211"),
            ("root_pass", "mnN48Dl@4"),
            ("hostname", "bm1.example.com"),
            ("reinstall_key", "0123456789abcdef0123456789abcdef"),
        ],
    )
    .await;
    assert!(error_of(&wrong).contains("reinstall_key is not the master key"));
    let c = eq(
        &app,
        &t,
        &[
            ("action", "create_pxe"),
            ("id", id),
            ("pin", DEMO_PIN),
            ("os_id", "223"),
            ("root_pass", "mnN48Dl@4"),
            ("hostname", "bm1.example.com"),
            ("reinstall_key", &master),
        ],
    )
    .await;
    assert_eq!(
        app.complete(c["callback"].as_str().expect("key")).await["scope"],
        "Configuration_successfully_created"
    );
    let b = eq(
        &app,
        &t,
        &[("action", "boot_dev"), ("id", id), ("media", "pxe")],
    )
    .await;
    let done = app.complete(b["callback"].as_str().expect("key")).await;
    assert_eq!(done["scope"], "Set Boot Device to pxe");
    assert_eq!(done["context"]["action"], "bootdev_pxe");
    let rb = eq(&app, &t, &[("action", "reboot"), ("id", id)]).await;
    app.complete(rb["callback"].as_str().expect("key")).await;
    let first = app.check(&master).await;
    assert_eq!(first["result"], "Stage");
    assert_eq!(first["scope"], " (1/5) OS installation started");
    assert_eq!(
        first["context"],
        serde_json::json!({"action": "reinstall", "id": id, "location": "NL"})
    );
    let seen = app.drive(&master, 600, 20).await;
    let scopes: Vec<&str> = seen.iter().filter_map(|r| r["scope"].as_str()).collect();
    for stage in ["(2/5)", "(3/5)", "(4/5)"] {
        assert!(
            scopes.iter().any(|s| s.contains(stage)),
            "{stage} in {scopes:?}"
        );
    }
    let last = seen.last().expect("final");
    assert_eq!(last["result"], "OK");
    assert_eq!(last["scope"], " Deploy completed, Server is online");
    assert!(last["debug"].is_null());
    assert_eq!(os_of(&app, &t, id).await["name"], "Ubuntu 24.04");
    let show = eq(&app, &t, &[("action", "show"), ("id", id)]).await;
    assert_eq!(show["server_data"]["name"], "bm1.example.com");
    // PXE is still the boot device: another reboot installs again (with the new config).
    let c = eq(
        &app,
        &t,
        &[
            ("action", "create_pxe"),
            ("id", id),
            ("os_id", "211"),
            ("root_pass", "mnN48Dl@4"),
            ("hostname", "bm1.example.com"),
        ],
    )
    .await;
    app.complete(c["callback"].as_str().expect("key")).await;
    let rb = eq(&app, &t, &[("action", "reboot"), ("id", id)]).await;
    app.complete(rb["callback"].as_str().expect("key")).await;
    for _ in 0..10 {
        app.advance(600).await;
        app.run_tasks().await;
    }
    assert_eq!(
        os_of(&app, &t, id).await["name"],
        "Debian 12",
        "the reboot reinstalled the server"
    );
    // Disk boot and a cleared config: a reboot is just a reboot.
    let b = eq(
        &app,
        &t,
        &[("action", "boot_dev"), ("id", id), ("media", "disk")],
    )
    .await;
    assert_eq!(
        app.complete(b["callback"].as_str().expect("key")).await["context"]["action"],
        "bootdev_disk"
    );
    let mismatch = eq(
        &app,
        &t,
        &[
            ("action", "clear_pxe"),
            ("id", id),
            ("hostname", "other.example.com"),
        ],
    )
    .await;
    assert!(error_of(&mismatch).contains("does not match"));
    let cl = eq(
        &app,
        &t,
        &[
            ("action", "clear_pxe"),
            ("id", id),
            ("hostname", "bm1.example.com"),
        ],
    )
    .await;
    assert_eq!(
        app.complete(cl["callback"].as_str().expect("key")).await["scope"],
        "Configuration_successfully_cleared"
    );
    let bad = eq(
        &app,
        &t,
        &[("action", "boot_dev"), ("id", id), ("media", "floppy")],
    )
    .await;
    assert!(error_of(&bad).contains("invalid media 'floppy'"));
    let none = eq(&app, &t, &[("action", "reinstall"), ("id", "40105")]).await;
    assert!(error_of(&none).contains("no remote control"));
    app.stop().await;
}
