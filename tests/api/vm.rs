//! vm.php: snapshots of oVirt VMs (taken, restored, removed by simulated oVirt), their
//! statistics and engines; bare metal is refused.

use serde_json::Value;

use crate::helpers::*;

const VM: &str = "40101"; // demo oVirt VM, NL, on
const BM: &str = "40102"; // demo bare metal, NL

async fn vm(app: &TestApp, token: &str, form: &[(&str, &str)]) -> Value {
    let mut f = vec![("token", token)];
    f.extend_from_slice(form);
    app.call("vm", &f).await
}

async fn snapshots(app: &TestApp, token: &str) -> Vec<Value> {
    let v = vm(app, token, &[("action", "get_snapshot"), ("id", VM)]).await;
    ok(&v)["snapshots"].as_array().expect("snapshots").clone()
}

/// The customer's tags of the VM, as (tag, value) pairs.
async fn tags(app: &TestApp, token: &str) -> Vec<(String, String)> {
    let show = app.show(token, VM).await;
    let mut t: Vec<(String, String)> = show["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .filter(|t| t["internal"] == 0)
        .map(|t| {
            (
                t["tag"].as_str().expect("tag").to_owned(),
                t["value"].as_str().expect("value").to_owned(),
            )
        })
        .collect();
    t.sort();
    t
}

#[tokio::test]
async fn a_snapshot_is_taken_restored_with_the_vm_off_and_removed() {
    let app = TestApp::spawn().await;
    let t = app.long_token().await;
    assert!(snapshots(&app, &t).await.is_empty());
    let before = tags(&app, &t).await;
    let v = vm(
        &app,
        &t,
        &[
            ("action", "create_snapshot"),
            ("id", VM),
            ("name", "before-upgrade"),
        ],
    )
    .await;
    assert_eq!(ok(&v)["module"], "vm");
    let key = v["callback"].as_str().expect("callback").to_owned();
    assert_eq!(key.len(), 32);
    let list = snapshots(&app, &t).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["name"], "before-upgrade");
    assert_eq!(list[0]["status"], "locked", "being taken");
    assert_eq!(list[0]["snapshot_id"].as_str().map(str::len), Some(36));
    let done = app.complete(&key).await;
    assert_eq!(done["result"], "OK");
    let scope = done["scope"].as_str().expect("scope");
    assert!(
        scope.starts_with("Snapshot 'before-upgrade' creation for VM '")
            && scope.ends_with("' has been completed."),
        "{scope}"
    );
    assert_eq!(snapshots(&app, &t).await[0]["status"], "ok");
    // A second one of that name is refused.
    let e = error_of(
        &vm(
            &app,
            &t,
            &[
                ("action", "create_snapshot"),
                ("id", VM),
                ("name", "before-upgrade"),
            ],
        )
        .await,
    );
    assert_eq!(
        e,
        "vm/create_snapshot: a snapshot named 'before-upgrade' already exists for VM 40101"
    );
    // The VM changes: a new tag, another value.
    for (tag, value) in [("role", "web"), ("OS", "Ubuntu 24.04")] {
        let v = app
            .call(
                "tags",
                &[
                    ("action", "add"),
                    ("token", &t),
                    ("id", VM),
                    ("tag", tag),
                    ("value", value),
                ],
            )
            .await;
        ok(&v);
    }
    assert_ne!(tags(&app, &t).await, before);
    // Restoring needs the VM down, as oVirt does.
    let e = error_of(
        &vm(
            &app,
            &t,
            &[
                ("action", "restore_snapshot"),
                ("id", VM),
                ("name", "before-upgrade"),
            ],
        )
        .await,
    );
    assert_eq!(
        e,
        "vm/restore_snapshot: Cannot restore snapshot 'before-upgrade': VM 40101 must be down, power it off first (eq/off)"
    );
    let off = app
        .call("eq", &[("action", "off"), ("token", &t), ("id", VM)])
        .await;
    let off_key = ok(&off)["callback"].as_str().expect("key").to_owned();
    assert_eq!(app.complete(&off_key).await["result"], "OK");
    let v = vm(
        &app,
        &t,
        &[
            ("action", "restore_snapshot"),
            ("id", VM),
            ("name", "before-upgrade"),
        ],
    )
    .await;
    let key = ok(&v)["callback"].as_str().expect("key").to_owned();
    assert_eq!(app.check(&key).await["result"], "Not ready");
    let done = app.complete(&key).await;
    assert_eq!(done["result"], "OK");
    assert!(done["scope"]
        .as_str()
        .expect("scope")
        .contains("restoring from Snapshot 'before-upgrade' has been completed."));
    assert_eq!(tags(&app, &t).await, before, "the tags as they were");
    // Removed: gone, and a second removal finds nothing.
    let v = vm(
        &app,
        &t,
        &[
            ("action", "remove_snapshot"),
            ("id", VM),
            ("name", "before-upgrade"),
        ],
    )
    .await;
    let key = ok(&v)["callback"].as_str().expect("key").to_owned();
    let e = error_of(
        &vm(
            &app,
            &t,
            &[
                ("action", "restore_snapshot"),
                ("id", VM),
                ("name", "before-upgrade"),
            ],
        )
        .await,
    );
    assert!(e.contains("is locked by another operation"), "{e}");
    let done = app.complete(&key).await;
    assert_eq!(
        done["scope"]
            .as_str()
            .map(|s| s.starts_with("Snapshot 'before-upgrade' deletion for VM")),
        Some(true)
    );
    assert!(snapshots(&app, &t).await.is_empty());
    let e = error_of(
        &vm(
            &app,
            &t,
            &[
                ("action", "remove_snapshot"),
                ("id", VM),
                ("name", "before-upgrade"),
            ],
        )
        .await,
    );
    assert_eq!(
        e,
        "vm/remove_snapshot: snapshot 'before-upgrade' not found for VM 40101"
    );
    app.stop().await;
}

#[tokio::test]
async fn bare_metal_and_bad_names_are_refused() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    for action in [
        "get_snapshot",
        "create_snapshot",
        "restore_snapshot",
        "remove_snapshot",
        "load_stats",
        "get_engine",
    ] {
        let e = error_of(&vm(&app, &t, &[("action", action), ("id", BM), ("name", "a")]).await);
        assert_eq!(
            e,
            format!("vm/{action}: server 40102 is bare metal, not an oVirt VM: snapshots, statistics and engines are for virtual machines")
        );
    }
    for (form, want) in [
        (vec![("action", "create_snapshot"), ("id", VM)], "vm/create_snapshot: name is required"),
        (
            vec![("action", "create_snapshot"), ("id", VM), ("name", "with space")],
            "vm/create_snapshot: invalid snapshot name 'with space': use 1 to 64 of a-z A-Z 0-9 _ - .",
        ),
        (vec![("action", "get_snapshot")], "vm/get_snapshot: id is required"),
        (
            vec![("action", "create_snapshot"), ("id", VM), ("name", "a"), ("type", "backup")],
            "vm/create_snapshot: invalid type 'backup', expected snapshot",
        ),
    ] {
        assert_eq!(error_of(&vm(&app, &t, &form).await), want, "{form:?}");
    }
    // The suspended VM takes no snapshot.
    let e = error_of(
        &vm(
            &app,
            &t,
            &[
                ("action", "create_snapshot"),
                ("id", "40106"),
                ("name", "a"),
            ],
        )
        .await,
    );
    assert!(e.contains("suspended"), "{e}");
    app.stop().await;
}

#[tokio::test]
async fn load_stats_and_engines_come_from_the_simulated_ovirt() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let a = vm(&app, &t, &[("action", "load_stats"), ("id", VM)]).await;
    let stats = ok(&a)["stats"].as_array().expect("stats");
    assert!(stats.len() >= 288, "a day every 5 minutes: {}", stats.len());
    for s in stats {
        let cpu = s["cpu"].as_f64().expect("cpu");
        assert!((0.0..=100.0).contains(&cpu));
        assert!(s["net_out"].as_f64().expect("net") > 0.0);
        assert!(s["disk_read"].as_f64().expect("disk") > 0.0);
    }
    assert_eq!(a["state"], "up");
    // The series ends at the emulator clock's second, so two calls a second apart differ;
    // that the same moment gives the same series is `sim::ovirt`'s unit test.
    // The engine of the VM's location, and of every location.
    let e = vm(&app, &t, &[("action", "get_engine"), ("id", VM)]).await;
    assert_eq!(ok(&e)["engine"]["location"], "NL");
    assert_eq!(e["engine"]["name"], "ovirt-engine-nl.hostkey-emu.local");
    assert_eq!(e["engine"]["cluster"], "NL-Cluster-01");
    let all = vm(&app, &t, &[("action", "get_engine")]).await;
    let engines = ok(&all)["engines"].as_array().expect("engines");
    assert!(engines.len() >= 2);
    assert!(engines.iter().any(|x| x["location"] == "NL"));
    app.stop().await;
}
