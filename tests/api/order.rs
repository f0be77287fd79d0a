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

/// Records still in progress say no failure word and carry no `ip` (decisions.md §4: `id`
/// and `ip` in the context mean "done" to clients).
pub(crate) fn assert_in_progress_records_are_clean(seen: &[Value]) {
    let stages: Vec<&Value> = seen.iter().filter(|r| r["result"] == "Stage").collect();
    assert!(!stages.is_empty(), "saw no Stage record in {seen:?}");
    for r in stages {
        let scope = r["scope"].as_str().expect("scope").to_lowercase();
        assert!(
            FAILURE_WORDS.iter().all(|w| !scope.contains(w)),
            "in-progress record says {scope}"
        );
        assert!(r["context"].get("ip").is_none(), "ip before the end: {r}");
        assert!(
            r["context"].get("ip_ipmi").is_none(),
            "ip_ipmi before the end: {r}"
        );
    }
}

/// GET /_emu/accounts/{id}.
pub(crate) async fn account(app: &TestApp, id: &str) -> Value {
    app.control_get(&format!("/_emu/accounts/{id}")).await
}

/// A year of the US GPU preset: more than the demo account's credit, so it stays unpaid.
async fn order_gpu_server(app: &TestApp, token: &str) -> Value {
    let form = order_form(
        token,
        &[
            ("preset", "gpu.4xa5000"),
            ("location_name", "US"),
            ("traffic_plan", "31"),
            ("deploy_period", "annually"),
        ],
    );
    app.call("eq", &form).await
}

fn tag<'a>(show: &'a Value, name: &str) -> Option<&'a Value> {
    show["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .find(|t| t["tag"] == name)
}

#[tokio::test]
async fn an_order_is_invoiced_deployed_and_announced() {
    let app = TestApp::spawn().await;
    let sink = Sink::start().await;
    let t = app.long_token().await;
    let before = account(&app, "demo").await;
    assert_eq!(before["account"]["credit"], 412.75);
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
    // Money moved: the invoice is paid from the credit, which dropped by its total.
    let after_order = account(&app, "demo").await;
    let invoice = &after_order["invoices"][0];
    assert_eq!(invoice["id"], v["invoice"]);
    assert_eq!(invoice["status"], "Paid");
    assert_eq!(
        invoice["total"], 3,
        "a month of vm.pico in NL; WordPress and plan 25 are free"
    );
    assert_eq!(invoice["items"][0]["relid"], id);
    assert_eq!(after_order["account"]["credit"], 409.75);
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
    for n in 2..=5 {
        let prefix = format!(" ({n}/5)");
        assert!(
            stages.iter().any(|s| s.starts_with(&prefix)),
            "{prefix} in {stages:?}"
        );
    }
    assert_in_progress_records_are_clean(&seen);
    let last = seen.last().expect("final");
    assert_eq!(last["result"], "OK");
    assert!(last["scope"]
        .as_str()
        .expect("scope")
        .contains("deploy_done"));
    assert_eq!(last["context"]["action"], "deploy_vm");
    assert_eq!(last["context"]["id"], id.to_string());
    let ip = last["context"]["ip"].as_str().expect("ip").to_owned();
    assert_eq!(
        last["context"]["ip_ipmi"], "0.0.0.0",
        "a VM has no IPMI address"
    );
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
    // The hardware is the preset's: 1 vCore, 1 GB, 15 GB.
    assert_eq!(show["server_data"]["hwconfig"], "1 vCore/1Gb/15Gb SSD");
    assert_eq!(show["hardware"]["hdd"], 15);
    assert_eq!(show["hardware"]["ram"], 1);
    assert_eq!(show["reinstall"], "", "no install runs any more");
    // Credentials: the user name, and a Password tag that says a password was set without
    // revealing it (the root password is never stored).
    assert_eq!(tag(&show, "user_name").expect("user_name")["value"], "root");
    let password = tag(&show, "Password").expect("Password tag");
    assert_eq!(password["value"], "********");
    assert_eq!(password["internal"], 1);
    assert!(
        !show.to_string().contains("Secret-pass1"),
        "the root password is not kept"
    );
    assert_eq!(tag(&show, "soft").expect("soft tag")["value"], "WordPress");
    let list = app
        .call("eq", &[("action", "list"), ("token", &t), ("ip", &ip)])
        .await;
    assert_eq!(list["servers"], serde_json::json!([id]));
    let notice = &sink.wait_for(1).await[0];
    assert_eq!(notice["id"], id.to_string());
    assert_eq!(notice["ip"], ip.as_str());
    assert_eq!(notice["status"], "deploy_done");
    let outbox = app.control_get("/_emu/outbox").await;
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
    let v = order_gpu_server(&app, &t).await;
    ok(&v);
    assert_eq!(
        v["status"], "Unpaid",
        "a year of a GPU server exceeds the credit"
    );
    let invoice = v["invoice"].as_i64().expect("invoice");
    let balance = account(&app, "demo").await;
    assert_eq!(
        balance["account"]["credit"], 412.75,
        "an unpaid order leaves the credit"
    );
    assert_eq!(balance["invoices"][0]["id"], invoice);
    assert_eq!(balance["invoices"][0]["status"], "Unpaid");
    let id = v["id"].to_string();
    let on = app
        .call(
            "eq",
            &[
                ("action", "on"),
                ("token", &t),
                ("id", &id),
                ("pin", DEMO_PIN),
            ],
        )
        .await;
    assert_eq!(
        error_of(&on),
        format!("eq/on: server {id} is waiting for payment and deployment, power control is available once it is online")
    );
    // Nor can its IPMI be reached through NAT before it is paid and deployed.
    let nat = app
        .call(
            "nat",
            &[("action", "add_static_nat"), ("token", &t), ("id", &id)],
        )
        .await;
    assert_eq!(
        error_of(&nat),
        format!("nat/add_static_nat: server {id} is waiting for payment and deployment, remote access is available once it is online")
    );
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
        .control_post(&format!("/_emu/invoices/{invoice}/pay"))
        .await;
    assert_eq!(pay.status(), 200);
    let again = app
        .control_post(&format!("/_emu/invoices/{invoice}/pay"))
        .await;
    assert_eq!(again.status(), 404, "an invoice is paid once");
    let seen = app.drive(&key, 600, 40).await;
    assert_eq!(seen.last().expect("final")["result"], "OK");
    assert_in_progress_records_are_clean(&seen);
    assert_eq!(
        account(&app, "demo").await["account"]["credit"],
        412.75,
        "an outside payment is not taken from the credit"
    );
    app.stop().await;
}

#[tokio::test]
async fn an_unpaid_order_at_instant_speed_waits_without_spinning_the_worker() {
    let app = TestApp::spawn_instant().await;
    let t = app.long_token().await;
    let v = order_gpu_server(&app, &t).await;
    assert_eq!(v["status"], "Unpaid");
    let invoice = v["invoice"].as_i64().expect("invoice");
    let key = v["callback"].as_str().expect("key").to_owned();
    // The control plane keeps answering, and the waiting job is not run again and again.
    let quick = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .build()
        .expect("client");
    app.run_tasks().await; // the first look at the invoice, unless the worker took it
    let mut ran = Vec::new();
    for _ in 0..3 {
        let r: Value = quick
            .post(format!("{}/_emu/tasks/run", app.base))
            .send()
            .await
            .expect("tasks/run answers while an order waits for payment")
            .json()
            .await
            .expect("json");
        ran.push(r["ran"].as_i64().expect("ran"));
    }
    assert_eq!(
        ran,
        vec![0, 0, 0],
        "the payment wait is not re-run in a loop"
    );
    let r = app.check(&key).await;
    assert_eq!(
        r["scope"],
        format!(" Waiting for payment of invoice {invoice}")
    );
    let health: Value = quick
        .get(format!("{}/_emu/health", app.base))
        .send()
        .await
        .expect("health")
        .json()
        .await
        .expect("json");
    assert_eq!(health["jobs"]["running"], 0);
    assert_eq!(health["jobs"]["queued"], 1);
    let pay = quick
        .post(format!("{}/_emu/invoices/{invoice}/pay", app.base))
        .send()
        .await
        .expect("pay");
    assert_eq!(pay.status(), 200);
    // Paid: the deployment goes on at once, without moving the clock.
    let seen = app.drive(&key, 0, 50).await;
    assert_eq!(seen.last().expect("final")["result"], "OK");
    let reset = quick
        .post(format!("{}/_emu/reset", app.base))
        .send()
        .await
        .expect("reset answers");
    assert_eq!(reset.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn a_reset_answers_while_an_order_waits_for_payment_at_instant_speed() {
    let app = TestApp::spawn_instant().await;
    let t = app.long_token().await;
    let v = order_gpu_server(&app, &t).await;
    assert_eq!(v["status"], "Unpaid");
    let quick = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .build()
        .expect("client");
    let reset = quick
        .post(format!("{}/_emu/reset", app.base))
        .send()
        .await
        .expect("reset answers while an order waits for payment");
    assert_eq!(reset.status(), 200);
    let after = app.check(v["callback"].as_str().expect("key")).await;
    assert!(
        error_of(&after).contains("not found"),
        "the reset removed the order"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_hwraid_stock_server_waits_for_the_operations_team_even_at_instant_speed() {
    let app = TestApp::spawn_instant().await;
    let t = app.long_token().await;
    let v = app
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
    ok(&v);
    let key = v["callback"].as_str().expect("key").to_owned();
    app.run_tasks().await;
    let waiting = |r: &Value| {
        r["scope"]
            .as_str()
            .is_some_and(|s| s.contains("operations team"))
    };
    assert!(waiting(&app.check(&key).await));
    // Nineteen hours later the team is still at it; the task speed does not shorten people.
    app.advance(19 * 3600).await;
    assert_eq!(app.run_tasks().await, 0);
    assert!(waiting(&app.check(&key).await));
    app.advance(3600).await;
    let seen = app.drive(&key, 0, 50).await;
    let last = seen.last().expect("final");
    assert_eq!(last["result"], "OK");
    let show = app.show(&t, 44717).await;
    let ipmi = show["IPMI"]["interfaces"][0]["IP"]
        .as_str()
        .expect("ipmi ip");
    assert_eq!(
        last["context"]["ip_ipmi"], ipmi,
        "the allocated IPMI address"
    );
    assert_eq!(show["IPMI"]["model"], "iDRAC9");
    app.stop().await;
}

#[tokio::test]
async fn parallel_orders_of_one_stock_server_sell_it_once() {
    let (app, _dir) = TestApp::spawn_on_file().await;
    let t = app.long_token().await;
    let mut handles = Vec::new();
    for _ in 0..6 {
        let form = order_form(
            &t,
            &[
                ("preset", "45210"),
                ("location_name", "NL"),
                ("traffic_plan", "31"),
            ],
        );
        handles.push(app.spawn_call("eq", &form));
    }
    let mut sold = 0;
    for h in handles {
        let v = h.await.expect("task");
        if v["result"] == "OK" {
            sold += 1;
            assert_eq!(v["id"], 45210);
        } else {
            assert_eq!(
                error_of(&v),
                "eq/order_instance: stock server 45210 is no longer available, see stocks/list"
            );
        }
    }
    assert_eq!(sold, 1, "exactly one order gets the stock server");
    let invoices = account(&app, "demo").await["invoices"]
        .as_array()
        .expect("invoices")
        .len();
    assert_eq!(invoices, 1, "the losing orders left no invoice behind");
    app.stop().await;
}

#[tokio::test]
async fn new_servers_get_ids_clear_of_the_stock_servers() {
    let app = TestApp::spawn().await;
    let t = app.long_token().await;
    let stock = app
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
    assert_eq!(stock["id"], 40514);
    // The highest id is now a stock server's; the next new server does not follow it.
    let vm = app.call("eq", &order_form(&t, &[])).await;
    assert_eq!(vm["id"], 40109);
    let stock_ids = [40514, 44717, 45210, 45388, 46102, 46230, 46511, 46620];
    for _ in 0..3 {
        let v = app.call("eq", &order_form(&t, &[])).await;
        let id = v["id"].as_i64().expect("id");
        assert!(!stock_ids.contains(&id), "{id} is a stock id");
    }
    // Every stock server can still be ordered under its own id.
    let gpu = app
        .call(
            "eq",
            &order_form(
                &t,
                &[
                    ("preset", "46230"),
                    ("location_name", "US"),
                    ("traffic_plan", "31"),
                ],
            ),
        )
        .await;
    assert_eq!(gpu["id"], 46230, "{gpu}");
    app.stop().await;
}

#[tokio::test]
async fn an_ordered_gpu_server_is_in_its_hardware_groups() {
    let app = TestApp::spawn().await;
    let t = app.long_token().await;
    let v = app
        .call(
            "eq",
            &order_form(
                &t,
                &[
                    ("preset", "gpu.1xa4000"),
                    ("location_name", "NL"),
                    ("traffic_plan", "31"),
                    ("ipv4_amount", "2"),
                    ("os_id", ""),
                    ("os_name", "Ubuntu 24.04"),
                ],
            ),
        )
        .await;
    ok(&v);
    assert_eq!(
        v["os_name"], "Ubuntu 24.04",
        "os_name picks the OS without os_id"
    );
    let id = v["id"].as_i64().expect("id");
    let list = app
        .call(
            "eq",
            &[("action", "list"), ("token", &t), ("group", "Gpu,1CPU,AMD")],
        )
        .await;
    assert!(
        list["servers"]
            .as_array()
            .expect("servers")
            .contains(&Value::from(id)),
        "{list}"
    );
    let show = app.show(&t, id).await;
    assert_eq!(
        show["IP"].as_array().map(Vec::len),
        Some(2),
        "ipv4_amount=2"
    );
    let invoice = &account(&app, "demo").await["invoices"][0];
    let lines: Vec<&str> = invoice["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["description"].as_str())
        .collect();
    assert!(
        lines.iter().any(|l| l.contains("additional IPv4")),
        "{lines:?}"
    );
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
    let seen = app.drive(&key, 600, 40).await;
    assert_in_progress_records_are_clean(&seen);
    let last = seen.last().expect("final");
    assert_eq!(last["result"], "OK");
    let show = app.show(&t, 40514).await;
    let ipmi = show["IPMI"]["interfaces"][0]["IP"].as_str().expect("ipmi");
    assert!(ipmi.starts_with("10.24.16."), "{ipmi}");
    assert_eq!(
        last["context"]["ip_ipmi"], ipmi,
        "bare metal reports its IPMI address"
    );
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
        (vec![("os_id", "202")], "eq/order_instance: OS Windows Server 2022 (#202) is not compatible with preset vm.pico: it needs at least 2 GB RAM (has 1 GB) and 32 GB disk (has 15 GB)"),
        (vec![("os_id", ""), ("os_name", "BeOS 5")], "eq/order_instance: os_name 'BeOS 5' not found, see os/list"),
        (vec![("soft_id", "57")], "eq/order_instance: extra software Ollama + Open WebUI (#57) is not available for preset vm.pico, it installs on gpu, vgpu servers"),
        (vec![("soft_id", "44")], "eq/order_instance: extra software Nextcloud (#44) needs at least 2 GB RAM, preset vm.pico has 1 GB"),
        (vec![("ipv4_amount", "9")], "eq/order_instance: ipv4_amount must be between 1 and 8"),
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
        (vec![("post_install_callback", "http://")], "eq/order_instance: post_install_callback must be an http(s) URL with a host"),
        (vec![("post_install_callback", "ftp://files.example.com/x")], "eq/order_instance: post_install_callback must be an http(s) URL with a host"),
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

/// eq/deploy: an ordered server's deployment waits for its invoice, then names the record
/// eq/update_servers names; a deployed server has none.
#[tokio::test]
async fn eq_deploy_names_a_paid_orders_deployment() {
    let app = TestApp::spawn().await;
    let t = app.long_token().await;
    let v = order_gpu_server(&app, &t).await;
    let invoice = ok(&v)["invoice"].as_i64().expect("invoice");
    let key = v["callback"].as_str().expect("key").to_owned();
    let id = v["id"].to_string();
    let deploy = |data: &'static str| {
        let (app, t, id) = (&app, t.clone(), id.clone());
        async move {
            let mut f = vec![
                ("action", "deploy"),
                ("token", t.as_str()),
                ("id", id.as_str()),
            ];
            if !data.is_empty() {
                f.push(("deploy_data", data));
            }
            app.call("eq", &f).await
        }
    };
    assert_eq!(
        error_of(&deploy("").await),
        format!("eq/deploy: invoice {invoice} is unpaid, the deployment of server {id} starts once it is paid")
    );
    let pay = app
        .control_post(&format!("/_emu/invoices/{invoice}/pay"))
        .await;
    assert_eq!(pay.status(), 200);
    let v = deploy("").await;
    assert_eq!(ok(&v)["callback"], key.as_str());
    assert_eq!(v["deploy_status"], "install");
    assert_eq!(v["invoice"], invoice);
    let u = app
        .call("eq", &[("action", "update_servers"), ("token", &t)])
        .await;
    assert_eq!(u["deploy_keys"][invoice.to_string()], key.as_str());
    // deploy_data names the order's invoice or the account's e-mail.
    let v = app
        .call(
            "eq",
            &[
                ("action", "deploy"),
                ("token", &t),
                ("id", &id),
                ("deploy_data", &invoice.to_string()),
            ],
        )
        .await;
    assert_eq!(ok(&v)["callback"], key.as_str());
    ok(&deploy(DEMO_USER).await);
    let e = error_of(&deploy("someone@example.com").await);
    assert_eq!(
        e,
        "eq/deploy: deploy_data 'someone@example.com' is neither the order's invoice id nor the account's e-mail"
    );
    // Once deployed, there is nothing to start.
    let seen = app.drive(&key, 600, 40).await;
    assert_eq!(seen.last().expect("final")["result"], "OK");
    assert_eq!(
        error_of(&deploy("").await),
        format!("eq/deploy: server {id} has no deployment to start: it is deployed; reinstall it with eq/order_instance id={id}")
    );
    let e = error_of(
        &app.call(
            "eq",
            &[("action", "deploy"), ("token", &t), ("id", "40101")],
        )
        .await,
    );
    assert!(e.contains("has no deployment to start"), "{e}");
    app.stop().await;
}
