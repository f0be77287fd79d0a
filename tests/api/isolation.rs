//! Account isolation: another account's server ids give `not found` / `permission denied`
//! on every action that takes a server.

use crate::helpers::*;

#[tokio::test]
async fn another_accounts_servers_are_out_of_reach_on_every_action() {
    let app = TestApp::spawn().await;
    let demo = app.demo_token().await;
    let other = app.other_token().await;
    let demo_ids = app.server_ids(&demo).await;
    let other_ids = app.server_ids(&other).await;
    assert!(!other_ids.is_empty());
    assert!(
        demo_ids.iter().all(|i| !other_ids.contains(i)),
        "accounts see disjoint servers"
    );
    // A VM and a bare-metal server, so that no type check answers before ownership does.
    for target in ["40101", "40102"] {
        assert!(demo_ids.contains(&target.parse().expect("id")));
        let ip = if target == "40101" {
            "31.207.45.23"
        } else {
            "5.39.218.37"
        };
        let calls: Vec<(&str, Vec<(&str, &str)>)> = vec![
            ("eq", vec![("action", "show"), ("id", target)]),
            ("eq", vec![("action", "status"), ("id", target)]),
            ("eq", vec![("action", "sensors"), ("id", target)]),
            ("eq", vec![("action", "on"), ("id", target)]),
            ("eq", vec![("action", "off"), ("id", target)]),
            ("eq", vec![("action", "hard_off"), ("id", target)]),
            ("eq", vec![("action", "reboot"), ("id", target)]),
            (
                "eq",
                vec![
                    ("action", "rename_server"),
                    ("id", target),
                    ("hostname", "x.example.com"),
                ],
            ),
            (
                "eq",
                vec![
                    ("action", "order_instance"),
                    ("id", target),
                    ("os_id", "187"),
                    ("root_pass", "Secret-pass1"),
                ],
            ),
            ("eq", vec![("action", "reinstall"), ("id", target)]),
            (
                "eq",
                vec![
                    ("action", "create_pxe"),
                    ("id", target),
                    ("os_id", "187"),
                    ("root_pass", "Secret-pass1"),
                    ("hostname", "x.example.com"),
                ],
            ),
            (
                "eq",
                vec![("action", "boot_dev"), ("id", target), ("media", "pxe")],
            ),
            (
                "eq",
                vec![
                    ("action", "clear_pxe"),
                    ("id", target),
                    ("hostname", "x.example.com"),
                ],
            ),
            ("eq", vec![("action", "add_ipmi_user"), ("id", target)]),
            ("eq", vec![("action", "remove_ipmi_user"), ("id", target)]),
            ("eq", vec![("action", "unit_reset"), ("id", target)]),
            ("eq", vec![("action", "console"), ("id", target)]),
            ("eq", vec![("action", "novnc"), ("id", target)]),
            ("eq", vec![("action", "recreate_novnc"), ("id", target)]),
            ("eq", vec![("action", "stop_novnc"), ("id", target)]),
            ("tags", vec![("action", "list"), ("id", target)]),
            (
                "tags",
                vec![
                    ("action", "add"),
                    ("id", target),
                    ("tag", "a"),
                    ("value", "b"),
                ],
            ),
            (
                "tags",
                vec![("action", "remove"), ("id", target), ("tag", "hostname")],
            ),
            (
                "api_keys",
                vec![("action", "list_for_server"), ("server_id", target)],
            ),
            (
                "api_keys",
                vec![("action", "add"), ("name", "x"), ("server_id", target)],
            ),
            ("net", vec![("action", "get_status"), ("id", target)]),
            (
                "net",
                vec![("action", "port_off"), ("id", target), ("port", "eth0")],
            ),
            (
                "net",
                vec![("action", "port_on"), ("id", target), ("port", "eth0")],
            ),
            (
                "net",
                vec![
                    ("action", "block_ip"),
                    ("id", target),
                    ("ip", ip),
                    ("description", "x"),
                ],
            ),
            (
                "net",
                vec![("action", "unblock_ip"), ("id", target), ("ip", ip)],
            ),
            (
                "net",
                vec![("action", "add_ipv4"), ("id", target), ("amount", "1")],
            ),
            (
                "net",
                vec![("action", "remove_ipv4"), ("id", target), ("ip", ip)],
            ),
            ("net", vec![("action", "show_ipv4_free"), ("id", target)]),
            (
                "net",
                vec![
                    ("action", "show_cacti"),
                    ("id", target),
                    ("port", "eth0"),
                    ("graph", "1"),
                ],
            ),
            ("ip", vec![("action", "get_ip"), ("ip", ip)]),
            (
                "ip",
                vec![("action", "get_ptr"), ("id", target), ("ip", ip)],
            ),
            (
                "ip",
                vec![
                    ("action", "update_ptr"),
                    ("id", target),
                    ("ip", ip),
                    ("ptr", "x.example.com"),
                ],
            ),
            (
                "ip",
                vec![
                    ("action", "set_main"),
                    ("id", target),
                    ("ip", ip),
                    ("main", ip),
                ],
            ),
            ("nat", vec![("action", "add_static_nat"), ("id", target)]),
            ("nat", vec![("action", "remove_static_nat"), ("id", target)]),
            ("nat", vec![("action", "drop_nat"), ("id", target)]),
            ("jira", vec![("action", "request_pon"), ("id", target)]),
            ("jira", vec![("action", "request_kvm"), ("id", target)]),
            (
                "pdns",
                vec![
                    ("action", "add_domain"),
                    ("name", "iso.example"),
                    ("server_id", target),
                ],
            ),
            (
                "pdns",
                vec![
                    ("action", "add_zone"),
                    ("zone", "iso.example"),
                    ("server_id", target),
                ],
            ),
            (
                "pdns",
                vec![("action", "list_subdomains"), ("server_id", target)],
            ),
            (
                "pdns",
                vec![
                    ("action", "add_subdomain"),
                    ("server_id", target),
                    ("domain_id", "1"),
                    ("name", "x"),
                ],
            ),
            ("eq", vec![("action", "suspend"), ("id", target)]),
            ("eq", vec![("action", "unsuspend"), ("id", target)]),
            (
                "whmcs",
                vec![("action", "get_billing_data"), ("id", target)],
            ),
            (
                "whmcs",
                vec![("action", "get_related_invoices"), ("id", target)],
            ),
            (
                "whmcs",
                vec![("action", "get_product_invoice"), ("id", target)],
            ),
            (
                "whmcs",
                vec![("action", "generate_due_invoice"), ("id", target)],
            ),
            (
                "whmcs",
                vec![
                    ("action", "request_cancellation"),
                    ("id", target),
                    ("cancellation_type", "1"),
                ],
            ),
            (
                "whmcs",
                vec![("action", "get_cancellation_requests"), ("id", target)],
            ),
            (
                "whmcs",
                vec![("action", "delete_cancellation_request"), ("id", target)],
            ),
            (
                "jira",
                vec![
                    ("action", "request_assistance"),
                    ("id", target),
                    ("message", "x"),
                ],
            ),
            ("rhr", vec![("action", "add"), ("id", target)]),
            ("vm", vec![("action", "get_snapshot"), ("id", target)]),
            (
                "jenkins",
                vec![("action", "call"), ("id", target), ("task", "-1")],
            ),
            ("ip", vec![("action", "list_free_ip"), ("id", target)]),
            ("eq", vec![("action", "deploy"), ("id", target)]),
            ("ip", vec![("action", "get_traffic"), ("id", target)]),
            ("ip", vec![("action", "get_traffic"), ("ip", ip)]),
            (
                "iso",
                vec![("action", "mount_iso"), ("id", target), ("iso_id", "1")],
            ),
            ("iso", vec![("action", "unmount_iso"), ("id", target)]),
            ("iso", vec![("action", "list_iso"), ("server_id", target)]),
            (
                "vm",
                vec![("action", "create_snapshot"), ("id", target), ("name", "x")],
            ),
            (
                "vm",
                vec![
                    ("action", "restore_snapshot"),
                    ("id", target),
                    ("name", "x"),
                ],
            ),
            (
                "vm",
                vec![("action", "remove_snapshot"), ("id", target), ("name", "x")],
            ),
            ("vm", vec![("action", "load_stats"), ("id", target)]),
            ("vm", vec![("action", "get_engine"), ("id", target)]),
            ("rhr", vec![("action", "add"), ("params[eq_id]", target)]),
        ];
        for (module, form) in calls {
            let mut f = vec![("token", other.as_str())];
            f.extend(form.iter().copied());
            let v = app.call(module, &f).await;
            let e = error_of(&v);
            assert!(
                e.contains("not found") || e.contains("permission denied"),
                "{module} {form:?}: {e}"
            );
        }
    }
    // Nothing of that reached the demo servers: the addresses, PTRs and tags are as before.
    let show = app
        .call(
            "eq",
            &[("action", "show"), ("token", &demo), ("id", "40101")],
        )
        .await;
    assert_eq!(show["IP"][0]["IP"], "31.207.45.23");
    assert_eq!(show["IP"][0]["main_ip"], 1);
    let tags = show["tags"].as_array().expect("tags");
    assert!(tags.iter().all(|t| t["tag"] != "a"));
    assert!(tags.iter().any(|t| t["tag"] == "hostname"));
    let target = "40101".to_owned();
    // Filters never leak: searching by the other account's address finds nothing.
    let show = app
        .call(
            "eq",
            &[("action", "show"), ("token", &demo), ("id", &target)],
        )
        .await;
    let ip = show["IP"][0]["IP"].as_str().expect("ip").to_owned();
    let v = app
        .call("eq", &[("action", "list"), ("token", &other), ("ip", &ip)])
        .await;
    assert_eq!(v["servers"], serde_json::json!([]));
    // Keys of the other account are invisible.
    let keys = app
        .call("api_keys", &[("action", "list"), ("token", &demo)])
        .await;
    let demo_key = keys["data"][0]["id"].as_i64().expect("id").to_string();
    let v = app
        .call(
            "api_keys",
            &[("action", "view"), ("token", &other), ("id", &demo_key)],
        )
        .await;
    assert!(error_of(&v).contains("not found"));
    let v = app
        .call(
            "api_keys",
            &[("action", "delete"), ("token", &other), ("id", &demo_key)],
        )
        .await;
    assert!(error_of(&v).contains("not found"));
    // SSH keys: another account sees and deletes none of demo's; a per-server key's
    // session touches none of the account's.
    let added = app
        .call(
            "ssh_keys",
            &[
                ("action", "add"),
                ("token", &demo),
                ("name", "demo-key"),
                ("key", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIslOTxq0jgi6hYcg5HqxCwc+LQcpeCaBHNHeLLO2qnt me@host"),
            ],
        )
        .await;
    let ssh_id = ok(&added)["sshkey"]["id"].to_string();
    let v = app
        .call("ssh_keys", &[("action", "list"), ("token", &other)])
        .await;
    assert_eq!(v["sshkeys"], serde_json::json!([]));
    let v = app
        .call(
            "ssh_keys",
            &[("action", "delete"), ("token", &other), ("id", &ssh_id)],
        )
        .await;
    assert!(error_of(&v).contains("not found"));
    let scoped = app.login_key(DEMO_SERVER_KEY).await;
    for form in [
        vec![("action", "list")],
        vec![("action", "delete"), ("id", ssh_id.as_str())],
        vec![
            ("action", "add"),
            ("name", "x"),
            ("key", "ssh-ed25519 AAAA"),
        ],
    ] {
        let mut f = vec![("token", scoped.as_str())];
        f.extend(form.iter().copied());
        let e = error_of(&app.call("ssh_keys", &f).await);
        assert!(e.contains("permission denied"), "{form:?}: {e}");
    }
    let v = app
        .call("ssh_keys", &[("action", "list"), ("token", &demo)])
        .await;
    assert_eq!(v["sshkeys"].as_array().map(Vec::len), Some(1));
    // Remote-hands requests (rhr.php): another account and the per-server key (server
    // 40101) neither see nor touch demo's request about 40102.
    let opened = app
        .call(
            "rhr",
            &[
                ("action", "add"),
                ("token", &demo),
                ("id", "40102"),
                ("comment", "demo only"),
            ],
        )
        .await;
    let rhr_id = ok(&opened)["requests"][0]["id"].to_string();
    for token in [&other, &scoped] {
        let v = app
            .call(
                "rhr",
                &[("action", "list"), ("token", token), ("status", "all")],
            )
            .await;
        assert_eq!(v["requests"], serde_json::json!([]), "{v}");
        for form in [
            vec![
                ("action", "chat"),
                ("id", rhr_id.as_str()),
                ("message", "x"),
            ],
            vec![("action", "discard"), ("id", rhr_id.as_str())],
        ] {
            let mut f = vec![("token", token.as_str())];
            f.extend(form.iter().copied());
            let e = error_of(&app.call("rhr", &f).await);
            assert!(
                e.contains("not found") || e.contains("permission denied"),
                "{form:?}: {e}"
            );
        }
    }
    let v = app
        .call("rhr", &[("action", "list"), ("token", &demo)])
        .await;
    assert_eq!(v["requests"][0]["status"], "PENDING", "untouched: {v}");
    assert_eq!(v["requests"].as_array().map(Vec::len), Some(1));
    // iso.php: demo's own image is invisible to another account and to the per-server key,
    // which may not manage the account's images.
    let added = app
        .call(
            "iso",
            &[
                ("action", "add"),
                ("token", &demo),
                ("name", "demo.iso"),
                ("url", "https://a.example.com/demo.iso"),
            ],
        )
        .await;
    let iso_id = ok(&added)["iso"]["id"].to_string();
    let v = app
        .call("iso", &[("action", "uploaded"), ("token", &other)])
        .await;
    assert_eq!(v["isos"], serde_json::json!([]));
    let v = app
        .call("iso", &[("action", "list_iso"), ("token", &other)])
        .await;
    assert!(!v.to_string().contains("demo.iso"), "{v}");
    let e = error_of(
        &app.call(
            "iso",
            &[("action", "delete"), ("token", &other), ("id", &iso_id)],
        )
        .await,
    );
    assert!(e.contains("not found"), "{e}");
    let v = app
        .call("iso", &[("action", "list_iso"), ("token", &scoped)])
        .await;
    assert!(!v.to_string().contains("demo.iso"), "{v}");
    for form in [
        vec![("action", "uploaded")],
        vec![("action", "delete"), ("id", iso_id.as_str())],
        vec![("action", "upload"), ("url", "https://a.example.com/x.iso")],
        vec![("action", "add"), ("name", "x.iso")],
        vec![("action", "mount_iso"), ("id", "40102"), ("iso_id", "1")],
    ] {
        let mut f = vec![("token", scoped.as_str())];
        f.extend(form.iter().copied());
        let e = error_of(&app.call("iso", &f).await);
        assert!(e.contains("permission denied"), "{form:?}: {e}");
    }
    let v = app
        .call("iso", &[("action", "uploaded"), ("token", &demo)])
        .await;
    assert_eq!(v["isos"].as_array().map(Vec::len), Some(1), "{v}");
    // vm.php: the per-server key (server 40101) reaches no other VM of demo's (40106).
    for form in [
        vec![("action", "get_snapshot"), ("id", "40106")],
        vec![
            ("action", "create_snapshot"),
            ("id", "40106"),
            ("name", "x"),
        ],
        vec![("action", "load_stats"), ("id", "40106")],
        vec![("action", "get_engine"), ("id", "40106")],
    ] {
        let mut f = vec![("token", scoped.as_str())];
        f.extend(form.iter().copied());
        let e = error_of(&app.call("vm", &f).await);
        assert!(e.contains("permission denied"), "{form:?}: {e}");
    }
    // Searches and licences: another account and the per-server key (server 40101) find
    // nothing of demo's other servers.
    for (token, hidden) in [(&other, vec!["40101", "40102"]), (&scoped, vec!["40102"])] {
        for q in &hidden {
            let v = app
                .call(
                    "eq",
                    &[
                        ("action", "unified_server_search"),
                        ("token", token),
                        ("query", q),
                    ],
                )
                .await;
            assert_eq!(v["servers"], serde_json::json!([]), "{q}");
        }
        for action in ["search", "search_user"] {
            let v = app
                .call(
                    "tags",
                    &[("action", action), ("token", token), ("value", "e")],
                )
                .await;
            let found = v["servers"].as_array().expect("servers");
            assert!(
                hidden
                    .iter()
                    .all(|h| !found.contains(&h.parse::<i64>().expect("id").into())),
                "{action}: {v}"
            );
        }
        let v = app
            .call("license", &[("action", "list"), ("token", token)])
            .await;
        let servers: Vec<String> = v["licenses"]
            .as_array()
            .expect("licenses")
            .iter()
            .map(|l| l["server_id"].to_string())
            .collect();
        assert!(
            hidden.iter().all(|h| !servers.contains(&h.to_string())),
            "{v}"
        );
    }
    // DNS: demo's zones, records and subdomains are out of the other account's reach on
    // every pdns action, and a per-server key's session sees only its server's zones.
    let pdns = |token: &str, form: &[(&'static str, &str)]| {
        let mut f = vec![("token", token.to_owned())];
        f.extend(form.iter().map(|(k, v)| (*k, (*v).to_owned())));
        f
    };
    let app_ref = &app;
    let call = |f: Vec<(&'static str, String)>| async move {
        let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
        app_ref.call("pdns", &f).await
    };
    let added = call(pdns(
        &demo,
        &[("action", "add_domain"), ("name", "demo-zone.example")],
    ))
    .await;
    let domain = ok(&added)["data"][0]["id"].to_string();
    let scoped_zone = call(pdns(
        &scoped,
        &[("action", "add_domain"), ("name", "scoped-zone.example")],
    ))
    .await;
    ok(&scoped_zone);
    let sub = call(pdns(
        &demo,
        &[
            ("action", "add_subdomain"),
            ("server_id", "40101"),
            ("domain_id", &domain),
            ("name", "app"),
        ],
    ))
    .await;
    let sub = ok(&sub)["data"][0]["id"].to_string();
    let z = "demo-zone.example";
    for form in [
        vec![("action", "view_zone"), ("zone", z)],
        vec![("action", "delete_zone"), ("zone", z)],
        vec![
            ("action", "add_dns"),
            ("zone", z),
            ("name", "x"),
            ("type", "A"),
            ("content", "192.0.2.1"),
        ],
        vec![
            ("action", "delete_dns"),
            ("zone", z),
            ("name", "app"),
            ("type", "A"),
        ],
        vec![("action", "delete_domain"), ("domain_id", domain.as_str())],
        vec![("action", "edit_subdomain"), ("id", sub.as_str())],
        vec![("action", "delete_subdomain"), ("id", sub.as_str())],
    ] {
        let e = error_of(&call(pdns(&other, &form)).await);
        assert!(e.contains("permission denied"), "{form:?}: {e}");
        if !form.iter().any(|(k, _)| *k == "zone") {
            continue;
        }
        // The per-server key's session (server 40101) cannot reach an account-wide zone.
        let e = error_of(&call(pdns(&scoped, &form)).await);
        assert!(e.contains("permission denied"), "scoped {form:?}: {e}");
    }
    for action in ["list_domains", "list_zones", "list_subdomains"] {
        let v = call(pdns(&other, &[("action", action)])).await;
        assert_eq!(v["data"], serde_json::json!([]), "{action}");
    }
    let v = call(pdns(&scoped, &[("action", "list_domains")])).await;
    let names: Vec<&str> = v["data"]
        .as_array()
        .expect("domains")
        .iter()
        .filter_map(|d| d["name"].as_str())
        .collect();
    assert_eq!(names, ["scoped-zone.example"]);
    let v = call(pdns(&demo, &[("action", "view_zone"), ("zone", z)])).await;
    let rrsets = ok(&v)["data"][0]["rrsets"].as_array().expect("rrsets");
    assert!(
        rrsets.iter().any(|r| r["name"] == "app.demo-zone.example."),
        "intact: {v}"
    );
    app.stop().await;
}

/// S3 storage: another account reaches none of demo's S3 accounts through any s3.php
/// action, and a per-server key's session is refused them all.
#[tokio::test]
async fn another_account_and_a_per_server_key_reach_no_s3_account_of_demos() {
    let app = TestApp::spawn().await;
    let demo = app.demo_token().await;
    let other = app.other_token().await;
    let scoped = app.login_key(DEMO_SERVER_KEY).await;
    let v = app
        .call(
            "s3",
            &[
                ("action", "create_order"),
                ("token", &demo),
                ("plan_id", "2"),
                ("bucket", "demo-private"),
            ],
        )
        .await;
    let uid = ok(&v)["s3uid"].as_str().expect("s3uid").to_owned();
    let named = |action: &'static str| -> Vec<(&'static str, String)> {
        let mut f = vec![("action", action.to_owned()), ("s3uid", uid.clone())];
        match action {
            "show_key" => f.push(("key_type", "secret_key".into())),
            "create_bucket" => f.push(("bucket", "demo-second".into())),
            "delete_bucket" | "get_files" => f.push(("bucket", "demo-private".into())),
            "delete_file" => {
                f.push(("bucket", "demo-private".into()));
                f.push(("file", "x.txt".into()));
            }
            _ => {}
        }
        f
    };
    let actions = [
        "show_key",
        "get_buckets",
        "get_buckets_rmq",
        "create_bucket",
        "delete_bucket",
        "get_files",
        "delete_file",
        "update_traffic_info",
        "delete_payment_account",
        "cancel_payment_account_deletion",
        "delete_account",
    ];
    for (token, expected) in [(&other, "not found"), (&scoped, "permission denied")] {
        for action in actions {
            let mut form: Vec<(&str, &str)> = vec![("token", token.as_str())];
            let f = named(action);
            form.extend(f.iter().map(|(k, v)| (*k, v.as_str())));
            let e = error_of(&app.call("s3", &form).await);
            assert!(e.contains(expected), "{action}: {e}");
        }
    }
    let v = app
        .call("s3", &[("action", "get_users"), ("token", &other)])
        .await;
    assert_eq!(v["users"], serde_json::json!([]));
    for action in ["get_users", "create_account", "create_order"] {
        let e = error_of(
            &app.call(
                "s3",
                &[
                    ("action", action),
                    ("token", &scoped),
                    ("plan_id", "1"),
                    ("bucket", "scoped-bucket"),
                ],
            )
            .await,
        );
        assert!(e.contains("permission denied"), "{action}: {e}");
    }
    // Demo's account is whole after all that.
    let v = app
        .call(
            "s3",
            &[("action", "get_buckets"), ("token", &demo), ("s3uid", &uid)],
        )
        .await;
    assert_eq!(ok(&v)["buckets"][0]["name"], "demo-private");
    app.stop().await;
}
