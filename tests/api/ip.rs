//! ip.php: get_ip, get_ptr, update_ptr, set_main.

use serde_json::Value;

use crate::helpers::*;

async fn ip(app: &TestApp, token: &str, form: &[(&str, &str)]) -> Value {
    let mut f = vec![("token", token)];
    f.extend_from_slice(form);
    app.call("ip", &f).await
}

#[tokio::test]
async fn get_ip_describes_the_real_subnet_without_an_envelope() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let v = ip(&app, &t, &[("action", "get_ip"), ("ip", "5.39.218.37")]).await;
    assert_eq!(
        v,
        serde_json::json!({"network": "5.39.218.0", "broadcast": "5.39.218.127", "netmask": "255.255.255.128",
            "gateway": "5.39.218.1", "vlan": 604, "subnet_id": 518, "cidr": 25, "location": "NL", "ip": "5.39.218.37"})
    );
    let other = ip(&app, &t, &[("action", "get_ip"), ("ip", "31.207.45.61")]).await;
    assert_eq!(
        error_of(&other),
        "ip/get_ip: ip 31.207.45.61 not found",
        "another account's address"
    );
    let bad = ip(&app, &t, &[("action", "get_ip"), ("ip", "300.1.1.1")]).await;
    assert_eq!(error_of(&bad), "ip/get_ip: invalid ip '300.1.1.1'");
    app.stop().await;
}

#[tokio::test]
async fn ptr_records_are_validated_stored_and_returned() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let v = ip(
        &app,
        &t,
        &[
            ("action", "get_ptr"),
            ("id", "40101"),
            ("ip", "31.207.45.23"),
        ],
    )
    .await;
    assert_eq!(
        v,
        serde_json::json!({"result": "OK", "message": ["31-207-45-23.static.hostkey-emu.local."]})
    );
    let v = ip(
        &app,
        &t,
        &[
            ("action", "update_ptr"),
            ("id", "40101"),
            ("ip", "31.207.45.23"),
            ("ptr", "mail.example.net\nwww.Example.net."),
        ],
    )
    .await;
    assert_eq!(v, serde_json::json!({"result": "OK", "message": ""}));
    let v = ip(
        &app,
        &t,
        &[
            ("action", "get_ptr"),
            ("id", "40101"),
            ("ip", "31.207.45.23"),
        ],
    )
    .await;
    assert_eq!(
        v["message"],
        serde_json::json!(["mail.example.net.", "www.example.net."])
    );
    let bad = ip(
        &app,
        &t,
        &[
            ("action", "update_ptr"),
            ("id", "40101"),
            ("ip", "31.207.45.23"),
            ("ptr", "bad host!"),
        ],
    )
    .await;
    assert!(error_of(&bad).starts_with("ip/update_ptr: invalid PTR record"));
    // A PTR names a host; an address in its place is refused.
    let literal = ip(
        &app,
        &t,
        &[
            ("action", "update_ptr"),
            ("id", "40101"),
            ("ip", "31.207.45.23"),
            ("ptr", "1.2.3.4"),
        ],
    )
    .await;
    assert_eq!(
        error_of(&literal),
        "ip/update_ptr: invalid PTR record '1.2.3.4', expected a host name"
    );
    let foreign = ip(
        &app,
        &t,
        &[
            ("action", "get_ptr"),
            ("id", "40101"),
            ("ip", "5.39.218.37"),
        ],
    )
    .await;
    assert!(error_of(&foreign).contains("not found on server 40101"));
    app.stop().await;
}

#[tokio::test]
async fn set_main_leaves_exactly_one_main_address() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    // The seeded extra address is under an abuse block: it cannot become the main one.
    let blocked = ip(
        &app,
        &t,
        &[
            ("action", "set_main"),
            ("id", "40101"),
            ("ip", "31.207.45.24"),
            ("main", "31.207.45.24"),
        ],
    )
    .await;
    assert_eq!(
        error_of(&blocked),
        "ip/set_main: 31.207.45.24 is blocked by the abuse team and cannot be the main address"
    );
    ok(&app
        .call(
            "net",
            &[
                ("action", "add_ipv4"),
                ("token", &t),
                ("id", "40101"),
                ("ip", "31.207.45.30"),
            ],
        )
        .await);
    let v = ip(
        &app,
        &t,
        &[
            ("action", "set_main"),
            ("id", "40101"),
            ("ip", "31.207.45.30"),
            ("main", "31.207.45.30"),
        ],
    )
    .await;
    assert_eq!(
        v,
        serde_json::json!({"result": "OK", "message": "31.207.45.30 set as main address"})
    );
    let s = app
        .call("eq", &[("action", "show"), ("token", &t), ("id", "40101")])
        .await;
    let mains: Vec<&Value> = s["IP"]
        .as_array()
        .expect("IP")
        .iter()
        .filter(|i| i["main_ip"] == 1)
        .collect();
    assert_eq!(mains.len(), 1);
    assert_eq!(mains[0]["IP"], "31.207.45.30");
    assert_eq!(s["server_data"]["ip"], "31.207.45.30");
    // ip and main naming two different addresses is a mistake, not a silent choice.
    let differ = ip(
        &app,
        &t,
        &[
            ("action", "set_main"),
            ("id", "40101"),
            ("ip", "31.207.45.99"),
            ("main", "31.207.45.23"),
        ],
    )
    .await;
    assert_eq!(
        error_of(&differ),
        "ip/set_main: ip 31.207.45.99 and main 31.207.45.23 differ, give the address to make main"
    );
    // The former main address can go now.
    let r = app
        .call(
            "net",
            &[
                ("action", "remove_ipv4"),
                ("token", &t),
                ("id", "40101"),
                ("ip", "31.207.45.23"),
            ],
        )
        .await;
    ok(&r);
    app.stop().await;
}

/// ip/get_client_ip: the caller's address as the emulator sees it.
#[tokio::test]
async fn get_client_ip_answers_the_callers_address() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let v = ip(&app, &t, &[("action", "get_client_ip")]).await;
    ok(&v);
    assert_eq!(v["action"], "get_client_ip");
    assert_eq!(v["ip"], "127.0.0.1");
    let v = app
        .call("ip", &[("action", "get_client_ip"), ("token", "nope")])
        .await;
    assert_eq!(error_of(&v), "auth: invalid token");
    app.stop().await;
}

/// ip/list_free_ip: the server's pools' free addresses; one taken by net/add_ipv4 is no
/// longer listed, and is again once released.
#[tokio::test]
async fn list_free_ip_follows_what_is_taken_and_released() {
    let app = TestApp::spawn().await;
    let t = app.long_token().await;
    let list = |v: &serde_json::Value| -> Vec<String> {
        ok(v)["ips"]
            .as_array()
            .expect("ips")
            .iter()
            .map(|i| i["ip"].as_str().expect("ip").to_owned())
            .collect()
    };
    let v = app
        .call(
            "ip",
            &[("action", "list_free_ip"), ("token", &t), ("id", "40101")],
        )
        .await;
    let before = list(&v);
    assert!(!before.is_empty());
    assert!(v["total"].as_i64().expect("total") >= before.len() as i64);
    let show = app.show(&t, "40101").await.to_string();
    assert!(
        before.iter().all(|ip| !show.contains(&format!("\"{ip}\""))),
        "none is taken"
    );
    let pick = before[0].clone();
    let v = app
        .call(
            "net",
            &[
                ("action", "add_ipv4"),
                ("token", &t),
                ("id", "40101"),
                ("ip", &pick),
            ],
        )
        .await;
    ok(&v);
    let v = app
        .call(
            "ip",
            &[
                ("action", "list_free_ip"),
                ("token", &t),
                ("id", "40101"),
                ("ip", &pick),
            ],
        )
        .await;
    assert!(!list(&v).contains(&pick), "taken: {v}");
    let v = app
        .call(
            "net",
            &[
                ("action", "remove_ipv4"),
                ("token", &t),
                ("id", "40101"),
                ("ip", &pick),
            ],
        )
        .await;
    ok(&v);
    let v = app
        .call(
            "ip",
            &[
                ("action", "list_free_ip"),
                ("token", &t),
                ("id", "40101"),
                ("ip", &pick),
            ],
        )
        .await;
    assert!(list(&v).contains(&pick), "released: {v}");
    app.stop().await;
}

/// ip/get_traffic: the period's counters for the main address (eq/show's), a small share
/// for another, and an hourly day from the traffic source.
#[tokio::test]
async fn get_traffic_answers_the_counters_and_a_day_of_the_traffic_source() {
    let app = TestApp::spawn().await;
    let t = app.long_token().await;
    let show = app.show(&t, "40101").await;
    let v = app
        .call(
            "ip",
            &[("action", "get_traffic"), ("token", &t), ("id", "40101")],
        )
        .await;
    ok(&v);
    assert_eq!(v["ip"], "31.207.45.23");
    let hourly = v["hourly"].as_array().expect("hourly");
    assert!(hourly.len() >= 24);
    assert!(hourly
        .iter()
        .all(|h| h["bps_out"].as_f64().expect("bps") > 0.0));
    let in_gb = v["traffic"]["in_gb"].as_f64().expect("in");
    assert!(in_gb > 0.0, "{v}");
    assert!(show["IP"].to_string().contains("31.207.45.23"));
    // The same by address alone; the same moment gives the same day.
    let by_ip = app
        .call(
            "ip",
            &[
                ("action", "get_traffic"),
                ("token", &t),
                ("ip", "31.207.45.23"),
            ],
        )
        .await;
    assert_eq!(by_ip["hourly"], v["hourly"]);
    assert_eq!(by_ip["id"], 40101);
    for (form, want) in [
        (
            vec![("action", "get_traffic")],
            "ip/get_traffic: id or ip is required",
        ),
        (
            vec![("action", "get_traffic"), ("ip", "10.9.9.9")],
            "ip/get_traffic: ip 10.9.9.9 not found",
        ),
    ] {
        let mut f = vec![("token", t.as_str())];
        f.extend(form.iter().copied());
        assert_eq!(error_of(&app.call("ip", &f).await), want);
    }
    app.stop().await;
}
