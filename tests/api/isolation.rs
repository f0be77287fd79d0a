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
    let target = demo_ids[0].to_string();
    let calls: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("eq", vec![("action", "show"), ("id", &target)]),
        ("eq", vec![("action", "status"), ("id", &target)]),
        ("eq", vec![("action", "sensors"), ("id", &target)]),
        ("eq", vec![("action", "on"), ("id", &target)]),
        ("eq", vec![("action", "off"), ("id", &target)]),
        ("eq", vec![("action", "hard_off"), ("id", &target)]),
        ("eq", vec![("action", "reboot"), ("id", &target)]),
        (
            "eq",
            vec![
                ("action", "rename_server"),
                ("id", &target),
                ("hostname", "x.example.com"),
            ],
        ),
        ("tags", vec![("action", "list"), ("id", &target)]),
        (
            "tags",
            vec![
                ("action", "add"),
                ("id", &target),
                ("tag", "a"),
                ("value", "b"),
            ],
        ),
        (
            "tags",
            vec![("action", "remove"), ("id", &target), ("tag", "hostname")],
        ),
        (
            "api_keys",
            vec![("action", "list_for_server"), ("server_id", &target)],
        ),
        (
            "api_keys",
            vec![("action", "add"), ("name", "x"), ("server_id", &target)],
        ),
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
    app.stop().await;
}
