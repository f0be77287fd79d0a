//! eq/order_instance for new servers: invoice, deployment stages, webhook, e-mail, stock
//! servers, payment waits, validation.

use serde_json::Value;

use crate::helpers::*;

fn order_form<'a>(token: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![
        ("action", "order_instance"),
        ("token", token),
        ("deploy_period", "monthly"),
        ("deploy_notify", "true"),
        ("pin", DEMO_PIN),
        ("preset", "108"),
        ("location_name", "NL"),
        ("os_id", "187"),
        ("traffic_plan", "25"),
        ("root_pass", "Secret-pass1"),
    ];
    for (k, v) in extra {
        f.retain(|(x, _)| x != k);
        f.push((k, v));
    }
    f
}

const FAILURE_WORDS: [&str; 5] = ["failed", "error", "cancel", "aborted", "rejected"];

#[tokio::test]
async fn an_order_is_invoiced_deployed_and_announced() {
    let app = TestApp::spawn().await;
    let sink = Sink::start().await;
    let t = app.long_token().await;
    let v = app
        .call(
            "eq",
            &order_form(
                &t,
                &[
                    ("soft_id", "20"),
                    ("hostname", "web1.example.com"),
                    ("post_install_callback", &sink.url),
                    (
                        "ssh_key",
                        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ1c2luZXNz ops@example.com",
                    ),
                    ("jenkins_task", "-1"),
                    ("root_size", "80"),
                ],
            ),
        )
        .await;
    ok(&v);
    assert_eq!(v["action"], "order_instance");
    assert!(v["invoice"].is_i64());
    assert_eq!(v["status"], "Paid", "the demo account's credit covers it");
    assert_eq!(v["deploy_status"], "install");
    assert_eq!(v["os_name"], "Ubuntu 22.04");
    assert_eq!(v["soft_name"], "WordPress");
    let id = v["id"].as_i64().expect("id");
    let key = v["callback"].as_str().expect("key").to_owned();
    assert_eq!(key.len(), 32);
    // The deploy key is also in update_servers, under the invoice id.
    let u = app
        .call("eq", &[("action", "update_servers"), ("token", &t)])
        .await;
    assert_eq!(u["deploy_keys"][v["invoice"].to_string()], key.as_str());
    assert!(u["servers"]
        .as_array()
        .expect("servers")
        .contains(&Value::from(id)));
    assert_eq!(app.check(&key).await["result"], "Not ready");
    let seen = app.drive(&key, 120, 40).await;
    let stages: Vec<&str> = seen
        .iter()
        .filter(|r| r["result"] == "Stage")
        .filter_map(|r| r["scope"].as_str())
        .collect();
    assert!(
        stages.contains(&" (1/5) OS installation started"),
        "{stages:?}"
    );
    assert!(stages.iter().any(|s| s.starts_with(" (4/5)")));
    for s in &stages {
        assert!(
            FAILURE_WORDS.iter().all(|w| !s.to_lowercase().contains(w)),
            "in-progress record says {s}"
        );
    }
    let last = seen.last().expect("final");
    assert_eq!(last["result"], "OK");
    assert!(last["scope"]
        .as_str()
        .expect("scope")
        .contains("deploy_done"));
    assert_eq!(last["context"]["action"], "deploy_vm");
    assert_eq!(last["context"]["id"], id.to_string());
    let ip = last["context"]["ip"].as_str().expect("ip").to_owned();
    assert!(
        ip.starts_with("31.207.45.") || ip.starts_with("5.39.218."),
        "an NL public address: {ip}"
    );
    let show = app
        .call(
            "eq",
            &[("action", "show"), ("token", &t), ("id", &id.to_string())],
        )
        .await;
    assert_eq!(show["OS"]["name"], "Ubuntu 22.04");
    assert_eq!(show["server_data"]["power"], "on");
    assert_eq!(show["server_data"]["status"], "rent");
    assert_eq!(show["server_data"]["name"], "web1.example.com");
    assert_eq!(show["IP"][0]["IP"], ip.as_str());
    assert_eq!(show["preset"], "vm.pico");
    assert!(
        show["tags"]
            .as_array()
            .expect("tags")
            .iter()
            .all(|x| x["tag"] != "Password"),
        "the root password is not kept"
    );
    let list = app
        .call("eq", &[("action", "list"), ("token", &t), ("ip", &ip)])
        .await;
    assert_eq!(list["servers"], serde_json::json!([id]));
    let notice = &sink.wait_for(1).await[0];
    assert_eq!(notice["id"], id.to_string());
    assert_eq!(notice["ip"], ip.as_str());
    assert_eq!(notice["status"], "deploy_done");
    let outbox: Value = app
        .client
        .get(format!("{}/_emu/outbox", app.base))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(
        outbox["mails"][0]["subject"],
        format!("Server {id} is ready")
    );
    assert_eq!(outbox["mails"][0]["to_address"], DEMO_USER);
    let after = app
        .call("eq", &[("action", "update_servers"), ("token", &t)])
        .await;
    assert_eq!(
        after["deploy_keys"],
        serde_json::json!({}),
        "no deployment left running"
    );
    app.stop().await;
}

#[tokio::test]
async fn an_unpaid_order_waits_for_its_invoice() {
    let app = TestApp::spawn().await;
    let t = app.long_token().await;
    let v = app
        .call(
            "eq",
            &order_form(
                &t,
                &[
                    ("preset", "gpu.4xa5000"),
                    ("location_name", "US"),
                    ("traffic_plan", "31"),
                    ("deploy_period", "annually"),
                ],
            ),
        )
        .await;
    ok(&v);
    assert_eq!(
        v["status"], "Unpaid",
        "a year of a GPU server exceeds the credit"
    );
    let invoice = v["invoice"].as_i64().expect("invoice");
    let key = v["callback"].as_str().expect("key").to_owned();
    for _ in 0..3 {
        app.advance(3600).await;
        app.run_tasks().await;
    }
    let r = app.check(&key).await;
    assert_eq!(r["result"], "Stage");
    assert_eq!(
        r["scope"],
        format!(" Waiting for payment of invoice {invoice}")
    );
    let u = app
        .call("eq", &[("action", "update_servers"), ("token", &t)])
        .await;
    let b = &u["billing_servers"][0];
    assert_eq!(b["status"], "Pending payment");
    assert_eq!(b["billingcycle"], "Annually");
    assert!(b["config"].is_string());
    let pay = app
        .client
        .post(format!("{}/_emu/invoices/{invoice}/pay", app.base))
        .send()
        .await
        .expect("pay");
    assert_eq!(pay.status(), 200);
    let again = app
        .client
        .post(format!("{}/_emu/invoices/{invoice}/pay", app.base))
        .send()
        .await
        .expect("pay");
    assert_eq!(again.status(), 404, "an invoice is paid once");
    let last = app.drive(&key, 600, 40).await.pop().expect("final");
    assert_eq!(last["result"], "OK");
    app.stop().await;
}

#[tokio::test]
async fn stock_servers_are_sold_once_and_hwraid_ones_deploy_by_hand() {
    let app = TestApp::spawn().await;
    let t = app.long_token().await;
    let v = app
        .call(
            "eq",
            &order_form(
                &t,
                &[
                    ("preset", "40514"),
                    ("location_name", "FI"),
                    ("traffic_plan", "31"),
                ],
            ),
        )
        .await;
    ok(&v);
    assert_eq!(v["id"], 40514, "the stock server keeps its id");
    let key = v["callback"].as_str().expect("key").to_owned();
    let list = app
        .call(
            "stocks",
            &[("action", "list"), ("location", "FI"), ("group", "ALL")],
        )
        .await;
    assert!(
        list["servers"]
            .as_array()
            .expect("servers")
            .iter()
            .all(|s| s["id"] != 40514),
        "sold"
    );
    let twice = app
        .call(
            "eq",
            &order_form(
                &t,
                &[
                    ("preset", "40514"),
                    ("location_name", "FI"),
                    ("traffic_plan", "31"),
                ],
            ),
        )
        .await;
    assert!(error_of(&twice).contains("no longer available"));
    assert_eq!(
        app.drive(&key, 600, 40).await.pop().expect("final")["result"],
        "OK"
    );
    let show = app
        .call("eq", &[("action", "show"), ("token", &t), ("id", "40514")])
        .await;
    assert!(show["IPMI"]["interfaces"][0]["IP"]
        .as_str()
        .is_some_and(|ip| ip.starts_with("10.24.16.")));
    let hw = app
        .call(
            "eq",
            &order_form(
                &t,
                &[
                    ("preset", "44717"),
                    ("location_name", "FI"),
                    ("traffic_plan", "31"),
                ],
            ),
        )
        .await;
    let key = hw["callback"].as_str().expect("key").to_owned();
    let seen = app.drive(&key, 3600, 40).await;
    assert!(seen.iter().any(|r| r["scope"]
        .as_str()
        .is_some_and(|s| s.contains("operations team"))));
    let waited = seen
        .iter()
        .take_while(|r| {
            r["scope"]
                .as_str()
                .is_some_and(|s| s.contains("operations team"))
        })
        .count();
    assert!(
        waited >= 15,
        "a manual deployment takes most of a day, saw {waited} hours"
    );
    assert_eq!(seen.last().expect("final")["result"], "OK");
    app.stop().await;
}

#[tokio::test]
async fn orders_are_validated_with_clear_messages() {
    let app = TestApp::spawn().await;
    let t = app.long_token().await;
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("preset", "nope")], "eq/order_instance: preset nope not found, see presets/list"),
        (vec![("preset", "gpu.4xa5000"), ("location_name", "IS")], "eq/order_instance: preset gpu.4xa5000 is not available in IS"),
        (vec![("os_id", "196")], "eq/order_instance: OS Windows Server 2022 (#196) is not compatible with preset vm.pico"),
        (vec![("soft_id", "49")], "reinstall: extra software Odoo (#49) is not compatible with Ubuntu 22.04"),
        (vec![("traffic_plan", "31")], "eq/order_instance: traffic_plan 31 is not available for preset vm.pico in NL"),
        (vec![("root_pass", "mdLus8Ng")], "eq/order_instance: root_pass must be at least 8 characters long with upper- and lowercase Latin letters and a special character"),
        (vec![("deploy_period", "weekly")], "eq/order_instance: deploy_period must be monthly, quarterly, semi-annually or annually"),
        (vec![("location_name", "MARS")], "eq/order_instance: invalid location 'MARS', expected NL, US, FI, DE, IS, TR or UK"),
        (vec![("pin", "0000")], "eq/order_instance: invalid pin code"),
        (vec![("hostname", "bad_host")], "eq/order_instance: invalid hostname 'bad_host'"),
        (vec![("jenkins_task", "1")], "eq/order_instance: jenkins_task 1 (Install GPU drivers) needs a GPU server"),
        (vec![("jenkins_task", "9")], "eq/order_instance: jenkins_task 9 not found, see jenkins/get_tasks"),
        (vec![("ssh_key", "hello")], "eq/order_instance: ssh_key must be an OpenSSH public key (ssh-ed25519 AAAA... comment)"),
        (vec![("root_size", "150")], "eq/order_instance: root_size must be between 1 and 100 (percent of the disk)"),
    ];
    for (extra, expected) in cases {
        let v = app.call("eq", &order_form(&t, &extra)).await;
        assert_eq!(error_of(&v), expected, "{extra:?}");
    }
    let server_key = app.login_key(DEMO_SERVER_KEY).await;
    let v = app.call("eq", &order_form(&server_key, &[])).await;
    assert!(error_of(&v).contains("per-server key cannot order"));
    // own_os=1 needs neither OS nor root password.
    let v = app
        .call(
            "eq",
            &order_form(&t, &[("own_os", "1"), ("os_id", ""), ("root_pass", "")]),
        )
        .await;
    ok(&v);
    assert_eq!(v["os_name"], "");
    app.stop().await;
}
