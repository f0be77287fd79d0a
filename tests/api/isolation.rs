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
