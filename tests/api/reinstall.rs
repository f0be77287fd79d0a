//! Reinstalls: through eq/order_instance with `id`, and the PXE path (reinstall, create_pxe,
//! boot_dev, reboot, five stages, clear_pxe).

use serde_json::Value;

use crate::helpers::*;
use crate::order::assert_in_progress_records_are_clean;

async fn eq(app: &TestApp, token: &str, form: &[(&str, &str)]) -> Value {
    let mut f = vec![("token", token)];
    f.extend_from_slice(form);
    app.call("eq", &f).await
}

async fn os_of(app: &TestApp, token: &str, id: &str) -> Value {
    eq(app, token, &[("action", "show"), ("id", id)]).await["OS"].clone()
}

fn tag<'a>(show: &'a Value, name: &str) -> Option<&'a Value> {
    show["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .find(|t| t["tag"] == name)
}

fn licence_names(show: &Value) -> Vec<String> {
    show["licenses"]
        .as_array()
        .expect("licenses")
        .iter()
        .filter_map(|l| l["name"].as_str().map(str::to_owned))
        .collect()
}

/// order_instance with `id`: 40101 to RockyLinux 9 with cPanel (a paid licence).
async fn reinstall_with_cpanel(app: &TestApp, token: &str) -> Value {
    eq(
        app,
        token,
        &[
            ("action", "order_instance"),
            ("id", "40101"),
            ("os_id", "205"),
            ("soft_id", "38"),
            ("root_pass", "mnN48Dl@4"),
        ],
    )
    .await
}

const BUSY_40102: &str = "another reinstall in progress for 40102, please wait";

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
    let seen = app.drive(&key, 120, 40).await;
    assert_in_progress_records_are_clean(&seen);
    let last = seen.last().expect("final");
    assert_eq!(last["scope"], "{\"result\":\"deploy_done\"}");
    assert_eq!(last["context"]["action"], "reinstall_vm");
    assert_eq!(last["context"]["reinstall"], 1);
    assert_eq!(last["context"]["ip"], "31.207.45.23");
    assert_eq!(last["context"]["ip_ipmi"], "0.0.0.0");
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
    let hands_only = eq(
        &app,
        &t,
        &[
            ("action", "order_instance"),
            ("id", "40105"),
            ("os_id", "187"),
            ("root_pass", "mnN48Dl@4"),
        ],
    )
    .await;
    assert_eq!(
        error_of(&hands_only),
        "eq/order_instance: server 40105 has no remote control, a reinstall needs remote hands (jira.php action=request_PXEboot)"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_reinstall_replaces_credentials_software_panel_and_licences() {
    let app = TestApp::spawn().await;
    let t = app.long_token().await;
    let before = eq(&app, &t, &[("action", "show"), ("id", "40101")]).await;
    assert_eq!(
        tag(&before, "webpanel").expect("panel")["value"],
        "ispmanager6"
    );
    let v = reinstall_with_cpanel(&app, &t).await;
    assert_eq!(v["soft_name"], "cPanel");
    app.drive(v["callback"].as_str().expect("key"), 120, 40)
        .await;
    let show = eq(&app, &t, &[("action", "show"), ("id", "40101")]).await;
    let panel = tag(&show, "webpanel").expect("the new panel");
    assert_eq!(panel["value"], "cpanel");
    assert_eq!(panel["extra"], "https://nl-vmmini-01:2087");
    assert_eq!(tag(&show, "soft").expect("soft")["value"], "cPanel");
    assert_eq!(
        tag(&show, "Password").expect("password")["value"],
        "********"
    );
    assert_eq!(
        licence_names(&show),
        ["ISPmanager 6 Lite on IP 31.207.45.23", "cPanel"],
        "the address's own licence stays, the paid software is added"
    );
    let v = eq(
        &app,
        &t,
        &[
            ("action", "order_instance"),
            ("id", "40101"),
            ("os_id", "199"),
            ("root_pass", "mnN48Dl@4"),
        ],
    )
    .await;
    app.drive(v["callback"].as_str().expect("key"), 120, 40)
        .await;
    let show = eq(&app, &t, &[("action", "show"), ("id", "40101")]).await;
    assert!(tag(&show, "webpanel").is_none() && tag(&show, "soft").is_none());
    assert_eq!(
        tag(&show, "user_name").expect("user")["value"],
        "Administrator"
    );
    assert_eq!(
        licence_names(&show),
        [
            "ISPmanager 6 Lite on IP 31.207.45.23",
            "Windows Server 2019 (4 cores)"
        ]
    );
    assert_eq!(show["licenses"][1]["amount"], 4);
    app.stop().await;
}

#[tokio::test]
async fn an_os_too_big_for_the_server_is_refused_on_reinstall() {
    let app = TestApp::spawn().await;
    let t = app.long_token().await;
    let v = app
        .call(
            "eq",
            &[
                ("action", "order_instance"),
                ("token", &t),
                ("deploy_period", "monthly"),
                ("preset", "vm.pico"),
                ("location_name", "NL"),
                ("os_id", "187"),
                ("traffic_plan", "25"),
                ("root_pass", "Secret-pass1"),
            ],
        )
        .await;
    let id = v["id"].to_string();
    app.drive(v["callback"].as_str().expect("key"), 120, 40)
        .await;
    let big = eq(
        &app,
        &t,
        &[
            ("action", "order_instance"),
            ("id", &id),
            ("os_id", "202"),
            ("root_pass", "mnN48Dl@4"),
        ],
    )
    .await;
    assert_eq!(
        error_of(&big),
        format!("eq/order_instance: OS Windows Server 2022 (#202) is not compatible with server {id}: it needs at least 2 GB RAM (has 1 GB) and 32 GB disk (has 15 GB)")
    );
    app.stop().await;
}

#[tokio::test]
async fn parallel_reinstalls_of_one_server_start_exactly_one() {
    let (app, _dir) = TestApp::spawn_on_file().await;
    let t = app.long_token().await;
    let mut handles = Vec::new();
    for _ in 0..4 {
        handles.push(app.spawn_call(
            "eq",
            &[
                ("action", "order_instance"),
                ("token", &t),
                ("id", "40104"),
                ("os_id", "187"),
                ("root_pass", "Secret-pass1"),
            ],
        ));
    }
    let mut started = Vec::new();
    for h in handles {
        let v = h.await.expect("task");
        if v["result"] == "OK" {
            started.push(v["callback"].as_str().expect("key").to_owned());
        } else {
            assert_eq!(
                error_of(&v),
                "another reinstall in progress for 40104, please wait"
            );
        }
    }
    assert_eq!(
        started.len(),
        1,
        "one reinstall runs, the others are refused"
    );
    let show = eq(&app, &t, &[("action", "show"), ("id", "40104")]).await;
    assert_eq!(
        show["reinstall"],
        started[0].as_str(),
        "eq/show names the running install"
    );
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
    // `on` for a server that is already running boots nothing: no installer yet.
    let on = eq(&app, &t, &[("action", "on"), ("id", id)]).await;
    let powered = app.complete(on["callback"].as_str().expect("key")).await;
    assert_eq!(powered["result"], "OK");
    assert!(
        powered["context"].get("reinstall_key").is_none(),
        "{powered}"
    );
    assert_eq!(app.check(&master).await["result"], "Not ready");
    let rb = eq(&app, &t, &[("action", "reboot"), ("id", id)]).await;
    let rebooted = app.complete(rb["callback"].as_str().expect("key")).await;
    assert_eq!(rebooted["context"]["reinstall_key"], master.as_str());
    let first = app.check(&master).await;
    assert_eq!(first["result"], "Stage");
    assert_eq!(first["scope"], " (1/5) OS installation started");
    assert_eq!(
        first["context"],
        serde_json::json!({"action": "reinstall", "id": id, "location": "NL"})
    );
    // While the installer runs, nothing else may start an install on the server.
    let show = eq(&app, &t, &[("action", "show"), ("id", id)]).await;
    assert_eq!(show["reinstall"], master.as_str());
    let again = eq(
        &app,
        &t,
        &[
            ("action", "order_instance"),
            ("id", id),
            ("os_id", "187"),
            ("root_pass", "mnN48Dl@4"),
        ],
    )
    .await;
    assert_eq!(error_of(&again), BUSY_40102);
    let master_again = eq(&app, &t, &[("action", "reinstall"), ("id", id)]).await;
    assert_eq!(error_of(&master_again), BUSY_40102);
    let config_again = eq(
        &app,
        &t,
        &[
            ("action", "create_pxe"),
            ("id", id),
            ("os_id", "187"),
            ("root_pass", "mnN48Dl@4"),
            ("hostname", "other.example.com"),
        ],
    )
    .await;
    assert_eq!(error_of(&config_again), BUSY_40102);
    // Also when it names the master key the installer is reporting to.
    let config_keyed = eq(
        &app,
        &t,
        &[
            ("action", "create_pxe"),
            ("id", id),
            ("os_id", "187"),
            ("root_pass", "mnN48Dl@4"),
            ("hostname", "other.example.com"),
            ("reinstall_key", &master),
        ],
    )
    .await;
    assert_eq!(error_of(&config_keyed), BUSY_40102);
    let mut seen = vec![first];
    seen.extend(app.drive(&master, 600, 20).await);
    assert_in_progress_records_are_clean(&seen);
    let scopes: Vec<&str> = seen.iter().filter_map(|r| r["scope"].as_str()).collect();
    for stage in ["(2/5)", "(3/5)", "(4/5)", "(5/5)"] {
        assert!(
            scopes.iter().any(|s| s.contains(stage)),
            "{stage} in {scopes:?}"
        );
    }
    let last = seen.last().expect("final");
    assert_eq!(last["result"], "OK");
    let scope: Value =
        serde_json::from_str(last["scope"].as_str().expect("scope")).expect("a JSON scope");
    assert_eq!(
        scope,
        serde_json::json!({"result": "deploy_done", "message": "Deploy completed, Server is online"})
    );
    assert_eq!(
        last["debug"], "",
        "debug is a string, also where 001 prints null"
    );
    let show = eq(&app, &t, &[("action", "show"), ("id", id)]).await;
    assert_eq!(last["context"]["ip"], show["server_data"]["ip"]);
    assert_eq!(
        last["context"]["ip_ipmi"],
        show["IPMI"]["interfaces"][0]["IP"]
    );
    assert_eq!(last["context"]["reinstall"], 1);
    assert_eq!(show["reinstall"], "", "the install is over");
    assert_eq!(os_of(&app, &t, id).await["name"], "Ubuntu 24.04");
    assert_eq!(show["server_data"]["name"], "bm1.example.com");
    // PXE is still the boot device: another reboot installs again (with the new config),
    // reporting to a key of its own that the reboot's record and eq/show name.
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
    let rebooted = app.complete(rb["callback"].as_str().expect("key")).await;
    let key = rebooted["context"]["reinstall_key"]
        .as_str()
        .expect("the reboot names the installer's key")
        .to_owned();
    assert_ne!(key, master);
    let show = eq(&app, &t, &[("action", "show"), ("id", id)]).await;
    assert_eq!(show["reinstall"], key.as_str());
    let last = app.drive(&key, 600, 20).await.pop().expect("final");
    assert!(last["scope"]
        .as_str()
        .expect("scope")
        .contains("deploy_done"));
    assert_eq!(
        os_of(&app, &t, id).await["name"],
        "Debian 12",
        "the reboot reinstalled the server"
    );
    // A cleared config (PXE still the boot device): a reboot is just a reboot.
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
    let rb = eq(&app, &t, &[("action", "reboot"), ("id", id)]).await;
    let rebooted = app.complete(rb["callback"].as_str().expect("key")).await;
    assert_eq!(rebooted["result"], "OK");
    assert!(
        rebooted["context"].get("reinstall_key").is_none(),
        "no install after clear_pxe: {rebooted}"
    );
    let show = eq(&app, &t, &[("action", "show"), ("id", id)]).await;
    assert_eq!(show["reinstall"], "");
    assert_eq!(show["OS"]["name"], "Debian 12");
    // Disk boot again.
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
    let c = eq(
        &app,
        &t,
        &[
            ("action", "create_pxe"),
            ("id", id),
            ("os_id", "223"),
            ("root_pass", "mnN48Dl@4"),
            ("hostname", "bm1.example.com"),
        ],
    )
    .await;
    app.complete(c["callback"].as_str().expect("key")).await;
    let rb = eq(&app, &t, &[("action", "reboot"), ("id", id)]).await;
    let rebooted = app.complete(rb["callback"].as_str().expect("key")).await;
    assert!(
        rebooted["context"].get("reinstall_key").is_none(),
        "a disk boot does not start the installer"
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

#[tokio::test]
async fn a_reinstall_onto_paid_licences_bills_them_once() {
    let app = TestApp::spawn().await;
    let t = app.long_token().await;
    let credit = |v: &Value| v["account"]["credit_cents"].as_i64().expect("credit");
    let before = credit(&crate::order::account(&app, "demo").await);
    let r = reinstall_with_cpanel(&app, &t).await;
    ok(&r);
    assert_eq!(r["status"], "Paid", "{r}");
    let invoice = r["invoice"].as_i64().expect("invoice");
    let acct = crate::order::account(&app, "demo").await;
    assert_eq!(
        credit(&acct),
        before - 1900,
        "cPanel's month taken from credit"
    );
    assert_eq!(acct["invoices"][0]["id"], invoice);
    assert_eq!(
        acct["invoices"][0]["items"][0]["description"],
        "cPanel licence"
    );
    let done = app
        .drive(r["callback"].as_str().expect("key"), 60, 100)
        .await;
    assert_eq!(done.last().expect("final")["result"], "OK");
    // The licence is held now: reinstalling with it again bills nothing.
    let again = reinstall_with_cpanel(&app, &t).await;
    ok(&again);
    assert!(again.get("invoice").is_none(), "{again}");
    assert_eq!(
        credit(&crate::order::account(&app, "demo").await),
        before - 1900
    );
    app.stop().await;
}

#[tokio::test]
async fn a_reinstall_whose_licence_is_unpaid_waits_for_the_invoice() {
    // The demo scenario with almost no credit.
    let dir = tempfile::tempdir().expect("dir");
    let mut sc: Value = serde_json::from_str(include_str!("../../seeds/demo.json")).expect("demo");
    sc["accounts"][0]["credit"] = serde_json::json!("5.00");
    let path = dir.path().join("poor.json");
    std::fs::write(&path, sc.to_string()).expect("write");
    let mut config = test_config();
    config.scenario = path.to_string_lossy().into_owned();
    let app = TestApp::spawn_with(config).await;
    let t = app.long_token().await;
    let r = reinstall_with_cpanel(&app, &t).await;
    assert_eq!(r["status"], "Unpaid", "{r}");
    let invoice = r["invoice"].as_i64().expect("invoice");
    let key = r["callback"].as_str().expect("key").to_owned();
    app.advance(3600).await;
    app.run_tasks().await;
    let waiting = app.check(&key).await;
    assert_eq!(waiting["result"], "Stage");
    assert_eq!(
        waiting["scope"],
        format!(" Waiting for payment of invoice {invoice}")
    );
    let paid = app
        .control_post(&format!("/_emu/invoices/{invoice}/pay"))
        .await;
    assert_eq!(paid.status(), 200);
    let done = app.drive(&key, 60, 100).await;
    let last = done.last().expect("final");
    assert_eq!(last["result"], "OK", "{last}");
    assert_eq!(last["context"]["id"], "40101");
    app.stop().await;
}
