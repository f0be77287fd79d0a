//! eq.php: PIN codes, list, show, update_servers, power control, sensors, rename.

use serde_json::Value;

use crate::helpers::*;

fn is_vm(s: &Value) -> bool {
    s["IPMI"]["model"] == "ovirt" && s["server_data"]["status"] == "rent"
}
fn is_supermicro(s: &Value) -> bool {
    s["IPMI"]["model"] == "Supermicro" && s["server_data"]["status"] == "rent"
}
fn is_idrac(s: &Value) -> bool {
    s["IPMI"]["model"] == "iDRAC9"
}
fn no_remote_control(s: &Value) -> bool {
    s["IPMI"]["model"] == ""
}
fn suspended(s: &Value) -> bool {
    s["server_data"]["status"] == "power_off"
}

#[tokio::test]
async fn list_returns_ids_after_servers_as_in_001() {
    let app = TestApp::spawn().await;
    let token = app.demo_token().await;
    let r = app
        .post("eq", &[("action", "list"), ("token", &token)])
        .await;
    let text = r.text().await.expect("body");
    assert!(
        text.starts_with("{\"servers\":["),
        "001 puts servers first: {text}"
    );
    assert!(text.contains("\"result\":\"OK\""), "compact JSON: {text}");
    let ids = app.server_ids(&token).await;
    assert!(ids.len() >= 6);
    app.stop().await;
}

#[tokio::test]
async fn list_filters_by_location_status_group_ip_mac_and_component() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let all = app.server_ids(&t).await;
    let vm = app.find_server(&t, is_vm).await;
    let s = app.show(&t, vm).await;
    let ip = s["IP"][0]["IP"].as_str().expect("ip").to_owned();
    let mac = s["interfaces"][0]["mac"]
        .as_str()
        .expect("mac")
        .to_uppercase();
    let cpu_component = s["hardware"]["components"][1]["id"]
        .as_i64()
        .expect("component id")
        .to_string();
    let ids = |v: &Value| -> Vec<i64> {
        v["servers"]
            .as_array()
            .expect("servers")
            .iter()
            .filter_map(Value::as_i64)
            .collect()
    };
    let by_ip = app
        .call("eq", &[("action", "list"), ("token", &t), ("ip", &ip)])
        .await;
    assert_eq!(ids(&by_ip), vec![vm]);
    let by_mac = app
        .call("eq", &[("action", "list"), ("token", &t), ("mac", &mac)])
        .await;
    assert_eq!(ids(&by_mac), vec![vm]);
    let nl = app
        .call(
            "eq",
            &[("action", "list"), ("token", &t), ("location", "NL")],
        )
        .await;
    assert!(ids(&nl).contains(&vm) && ids(&nl).len() < all.len());
    let nl_fi = app
        .call(
            "eq",
            &[("action", "list"), ("token", &t), ("location", "NL,FI")],
        )
        .await;
    assert!(ids(&nl_fi).len() > ids(&nl).len());
    let off = app
        .call(
            "eq",
            &[("action", "list"), ("token", &t), ("status", "power_off")],
        )
        .await;
    let off_ids = ids(&off);
    assert!(!off_ids.is_empty() && !off_ids.contains(&vm));
    let vps = app
        .call("eq", &[("action", "list"), ("token", &t), ("group", "VPS")])
        .await;
    assert!(ids(&vps).contains(&vm));
    let none = app
        .call(
            "eq",
            &[("action", "list"), ("token", &t), ("group", "VPS,2CPU")],
        )
        .await;
    assert!(ids(&none).is_empty(), "groups combine with AND");
    let comp = app
        .call(
            "eq",
            &[
                ("action", "list"),
                ("token", &t),
                ("component", &cpu_component),
            ],
        )
        .await;
    assert!(ids(&comp).contains(&vm));
    let bad = app
        .call(
            "eq",
            &[("action", "list"), ("token", &t), ("component", "cpu")],
        )
        .await;
    assert_eq!(error_of(&bad), "eq/list: invalid component id 'cpu'");
    app.stop().await;
}

#[tokio::test]
async fn list_full_returns_objects() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let v = app
        .call("eq", &[("action", "list"), ("token", &t), ("full", "1")])
        .await;
    let first = &v["servers"][0];
    assert!(first["id"].is_i64());
    for k in ["name", "status", "location", "ip", "type"] {
        assert!(first[k].is_string(), "{k} in {first}");
    }
    app.stop().await;
}

#[tokio::test]
async fn show_has_the_001_shape_with_strict_types() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let vm = app.find_server(&t, is_vm).await;
    let v = app.show(&t, vm).await;
    ok(&v);
    let sd = &v["server_data"];
    assert_eq!(sd["id"], vm);
    for k in [
        "limit_traffic",
        "limit_bands",
        "days_left",
        "IsShape",
        "account_id",
        "cost_traffic",
    ] {
        assert!(sd[k].is_i64(), "server_data.{k} is a number: {}", sd[k]);
    }
    for k in [
        "hwconfig",
        "status",
        "type",
        "due_date",
        "datePeriod",
        "Condition_Component",
    ] {
        assert!(sd[k].is_string(), "server_data.{k} is a string");
    }
    assert_eq!(sd["due_date"].as_str().map(str::len), Some(10));
    let hw = &v["hardware"];
    assert_eq!(hw["vm"], 1);
    assert!(hw["components"].as_array().expect("components").len() >= 4);
    assert!(hw["ram"].is_i64() && hw["hdd"].is_i64());
    let ip = &v["IP"][0];
    assert!(ip["main_ip"].is_i64() && ip["vlan"].is_i64() && ip["locked"].is_i64());
    assert!(ip["IP"].is_string() && ip["MAC"].is_string());
    assert_eq!(v["IPMI"]["model"], "ovirt");
    assert!(v["location"]["location_id"].is_i64());
    assert_eq!(v["location"]["dc_location"], sd["location"]);
    let tags = v["tags"].as_array().expect("tags");
    assert!(tags.iter().any(|t| t["tag"] == "hostname"));
    assert!(
        tags[0]["id"].is_i64() && tags[0]["internal"].is_i64() && tags[0]["component_id"].is_i64()
    );
    assert!(v["groups"][0]["ID"].is_string());
    assert!(v["preset"].is_string());
    let bm = app.find_server(&t, is_supermicro).await;
    let b = app.show(&t, bm).await;
    assert_eq!(b["hardware"]["vm"], 0);
    let ipmi = &b["IPMI"]["interfaces"][0];
    assert!(ipmi["IP"].as_str().is_some_and(|s| s.starts_with("10.")));
    let missing = app
        .call("eq", &[("action", "show"), ("token", &t), ("id", "999999")])
        .await;
    assert_eq!(error_of(&missing), "eq/show: server 999999 not found");
    let bad = app
        .call("eq", &[("action", "show"), ("token", &t), ("id", "abc")])
        .await;
    assert_eq!(error_of(&bad), "eq/show: invalid id 'abc'");
    let none = app.call("eq", &[("action", "show"), ("token", &t)]).await;
    assert_eq!(error_of(&none), "eq/show: id is required");
    app.stop().await;
}

#[tokio::test]
async fn update_servers_answers_the_superset() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let v = app
        .call("eq", &[("action", "update_servers"), ("token", &t)])
        .await;
    ok(&v);
    assert_eq!(
        v["servers"].as_array().map(Vec::len),
        Some(app.server_ids(&t).await.len())
    );
    assert!(v["billing_servers"].is_array());
    assert!(v["deploy_keys"].is_object());
    app.stop().await;
}

#[tokio::test]
async fn reboot_completes_through_the_callback_and_changes_nothing_else() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let vm = app.find_server(&t, is_vm).await;
    let v = app
        .call(
            "eq",
            &[
                ("action", "reboot"),
                ("token", &t),
                ("id", &vm.to_string()),
                ("pin", DEMO_PIN),
            ],
        )
        .await;
    assert_eq!(v.as_object().map(|o| o.len()), Some(3), "{v}");
    assert_eq!(v["action"], "reboot");
    let key = v["callback"].as_str().expect("callback").to_owned();
    assert_eq!(key.len(), 32);
    let pending = app.check(&key).await;
    assert_eq!(
        pending,
        serde_json::json!({"result": "Not ready", "key": key})
    );
    app.run_tasks().await;
    assert_eq!(
        app.check(&key).await["result"],
        "Not ready",
        "a reboot takes tens of seconds"
    );
    let done = app.complete(&key).await;
    assert_eq!(done["result"], "OK");
    assert_eq!(done["scope"], "VM is rebooted");
    assert_eq!(done["context"]["id"], vm.to_string());
    assert_eq!(done["context"]["location"], "NL");
    assert!(done["debug"].is_string());
    app.stop().await;
}

#[tokio::test]
async fn off_and_on_change_the_stored_power_state() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let bm = app.find_server(&t, is_supermicro).await;
    let id = bm.to_string();
    let off = app
        .call(
            "eq",
            &[
                ("action", "off"),
                ("token", &t),
                ("id", &id),
                ("pin", DEMO_PIN),
            ],
        )
        .await;
    let key = off["callback"].as_str().expect("key").to_owned();
    assert_eq!(
        app.show(&t, bm).await["server_data"]["power"],
        "on",
        "not before completion"
    );
    let done = app.complete(&key).await;
    assert_eq!(done["debug"], "Chassis Power Control: Soft");
    assert_eq!(app.show(&t, bm).await["server_data"]["power"], "off");
    let status = app
        .call("eq", &[("action", "status"), ("token", &t), ("id", &id)])
        .await;
    let done = app
        .complete(status["callback"].as_str().expect("key"))
        .await;
    assert_eq!(done["scope"], "Chassis Power is off");
    let on = app
        .call("eq", &[("action", "on"), ("token", &t), ("id", &id)])
        .await;
    let done = app.complete(on["callback"].as_str().expect("key")).await;
    assert_eq!(done["debug"], "Chassis Power Control: Up/On");
    assert_eq!(app.show(&t, bm).await["server_data"]["power"], "on");
    let hard = app
        .call("eq", &[("action", "hard_off"), ("token", &t), ("id", &id)])
        .await;
    let done = app.complete(hard["callback"].as_str().expect("key")).await;
    assert_eq!(done["debug"], "Chassis Power Control: Down/Off");
    app.stop().await;
}

#[tokio::test]
async fn sensors_read_a_bmc_and_refuse_a_vm() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let dell = app.find_server(&t, is_idrac).await;
    let v = app
        .call(
            "eq",
            &[
                ("action", "sensors"),
                ("token", &t),
                ("id", &dell.to_string()),
            ],
        )
        .await;
    let done = app.complete(v["callback"].as_str().expect("key")).await;
    assert_eq!(done["context"]["action"], "get_sensors");
    let scope = done["scope"].as_str().expect("scope");
    assert!(scope.contains("Inlet Temp") && scope.ends_with('\n'));
    assert!(!done["debug"].as_str().expect("debug").contains('\n'));
    let vm = app.find_server(&t, is_vm).await;
    let v = app
        .call(
            "eq",
            &[
                ("action", "sensors"),
                ("token", &t),
                ("id", &vm.to_string()),
            ],
        )
        .await;
    assert!(error_of(&v).contains("bare-metal servers only"));
    app.stop().await;
}

#[tokio::test]
async fn a_server_without_remote_control_points_to_remote_hands() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let id = app.find_server(&t, no_remote_control).await.to_string();
    for action in ["on", "off", "reboot", "status"] {
        let v = app
            .call("eq", &[("action", action), ("token", &t), ("id", &id)])
            .await;
        let e = error_of(&v);
        assert!(
            e.contains("no remote control") && e.contains("jira.php"),
            "{action}: {e}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn a_suspended_server_cannot_be_powered_on() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let id = app.find_server(&t, suspended).await.to_string();
    let v = app
        .call("eq", &[("action", "on"), ("token", &t), ("id", &id)])
        .await;
    assert!(error_of(&v).contains("suspended"));
    app.stop().await;
}

#[tokio::test]
async fn check_pin_reports_through_the_callback() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let v = app
        .call(
            "eq",
            &[("action", "check_pin"), ("token", &t), ("pin", DEMO_PIN)],
        )
        .await;
    assert_eq!(v["action"], "check_pin");
    let rec = app.check(v["callback"].as_str().expect("key")).await;
    assert_eq!(rec["result"], "OK");
    assert_eq!(
        rec["context"],
        serde_json::json!({"action": "check_pin", "id": "0"})
    );
    let v = app
        .call(
            "eq",
            &[("action", "check_pin"), ("token", &t), ("pin", "9999")],
        )
        .await;
    let rec = app.check(v["callback"].as_str().expect("key")).await;
    assert_eq!(rec["result"], "Fail");
    assert_eq!(rec["scope"], "Invalid pin code");
    assert_eq!(rec["status"], "failure");
    app.stop().await;
}

#[tokio::test]
async fn set_pin_needs_the_old_pin_and_changes_it() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let v = app
        .call(
            "eq",
            &[("action", "set_pin"), ("token", &t), ("new_pin", "5678")],
        )
        .await;
    assert_eq!(
        error_of(&v),
        "eq/set_pin: old_pin is required to change the PIN code"
    );
    let v = app
        .call(
            "eq",
            &[
                ("action", "set_pin"),
                ("token", &t),
                ("old_pin", "0000"),
                ("new_pin", "5678"),
            ],
        )
        .await;
    let rec = app.check(v["callback"].as_str().expect("key")).await;
    assert_eq!(rec["result"], "Fail");
    assert_eq!(rec["scope"], "Invalid PIN/email combination, please check");
    let v = app
        .call(
            "eq",
            &[
                ("action", "set_pin"),
                ("token", &t),
                ("old_pin", DEMO_PIN),
                ("new_pin", "5678"),
            ],
        )
        .await;
    assert_eq!(
        app.check(v["callback"].as_str().expect("key")).await["result"],
        "OK"
    );
    let v = app
        .call(
            "eq",
            &[("action", "check_pin"), ("token", &t), ("pin", "5678")],
        )
        .await;
    assert_eq!(
        app.check(v["callback"].as_str().expect("key")).await["result"],
        "OK"
    );
    let v = app
        .call(
            "eq",
            &[
                ("action", "set_pin"),
                ("token", &t),
                ("old_pin", "5678"),
                ("new_pin", "12"),
            ],
        )
        .await;
    assert_eq!(error_of(&v), "eq/set_pin: new_pin must be 4 to 8 digits");
    app.stop().await;
}

#[tokio::test]
async fn five_wrong_pins_block_every_pin_check_until_the_cooling_off_ends() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let vm = app.find_server(&t, is_vm).await.to_string();
    for i in 0..4 {
        let v = app
            .call(
                "eq",
                &[
                    ("action", "on"),
                    ("token", &t),
                    ("id", &vm),
                    ("pin", "0000"),
                ],
            )
            .await;
        assert_eq!(error_of(&v), "eq/on: invalid pin code", "failure {i}");
    }
    let v = app
        .call(
            "eq",
            &[
                ("action", "on"),
                ("token", &t),
                ("id", &vm),
                ("pin", "0000"),
            ],
        )
        .await;
    assert!(error_of(&v).contains("Blocked For Security Purposes"));
    // Now even the right PIN fails.
    let v = app
        .call(
            "eq",
            &[
                ("action", "on"),
                ("token", &t),
                ("id", &vm),
                ("pin", DEMO_PIN),
            ],
        )
        .await;
    assert!(error_of(&v).contains("Blocked For Security Purposes"));
    let v = app
        .call(
            "eq",
            &[("action", "check_pin"), ("token", &t), ("pin", DEMO_PIN)],
        )
        .await;
    let rec = app.check(v["callback"].as_str().expect("key")).await;
    assert_eq!(rec["result"], "Fail");
    assert_eq!(rec["debug"], "Blocked For Security Purposes");
    app.advance(901).await;
    let v = app
        .call(
            "eq",
            &[
                ("action", "on"),
                ("token", &t),
                ("id", &vm),
                ("pin", DEMO_PIN),
            ],
        )
        .await;
    ok(&v);
    app.stop().await;
}

#[tokio::test]
async fn password_sessions_need_the_pin_and_key_sessions_may_omit_it() {
    let app = TestApp::spawn().await;
    let v = app
        .call(
            "auth",
            &[
                ("action", "whmcslogin"),
                ("user", DEMO_USER),
                ("password", DEMO_PASSWORD),
            ],
        )
        .await;
    let pw = v["result"]["token"].as_str().expect("token").to_owned();
    let key = app.demo_token().await;
    let vm = app.find_server(&key, is_vm).await.to_string();
    let v = app
        .call("eq", &[("action", "reboot"), ("token", &pw), ("id", &vm)])
        .await;
    assert_eq!(error_of(&v), "eq/reboot: pin is required for this action");
    ok(&app
        .call(
            "eq",
            &[
                ("action", "reboot"),
                ("token", &pw),
                ("id", &vm),
                ("pin", DEMO_PIN),
            ],
        )
        .await);
    ok(&app
        .call("eq", &[("action", "reboot"), ("token", &key), ("id", &vm)])
        .await);
    app.stop().await;
}

#[tokio::test]
async fn rename_server_sets_the_hostname() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let vm = app.find_server(&t, is_vm).await;
    let id = vm.to_string();
    let v = app
        .call(
            "eq",
            &[
                ("action", "rename_server"),
                ("token", &t),
                ("id", &id),
                ("hostname", "web-01.example.com"),
            ],
        )
        .await;
    ok(&v);
    assert_eq!(v["hostname"], "web-01.example.com");
    assert_eq!(
        app.show(&t, vm).await["server_data"]["name"],
        "web-01.example.com"
    );
    let v = app
        .call(
            "eq",
            &[
                ("action", "rename_server"),
                ("token", &t),
                ("id", &id),
                ("hostname", "bad_name!"),
            ],
        )
        .await;
    assert!(error_of(&v).starts_with("eq/rename_server: invalid hostname"));
    app.stop().await;
}

#[tokio::test]
async fn parallel_pin_guesses_get_no_more_tries_than_the_lockout_allows() {
    // Real argon2 cost, so that many checks are in flight at once.
    let mut config = test_config();
    config.argon2_memory_kib = 19_456;
    let app = TestApp::spawn_with(config).await;
    let t = app.demo_token().await;
    // Thirty guesses at once, the right PIN among them late: at most five are checked.
    let mut handles = Vec::new();
    for i in 0..30 {
        let pin = if i == 12 {
            DEMO_PIN.to_owned()
        } else {
            format!("{}", 5000 + i)
        };
        let call = app.spawn_call(
            "eq",
            &[
                ("action", "on"),
                ("token", &t),
                ("id", "40101"),
                ("pin", &pin),
            ],
        );
        handles.push((pin, call));
    }
    let mut checked = 0;
    for (pin, h) in handles {
        let v = h.await.expect("task");
        if v["result"] == "OK" {
            assert_eq!(pin, DEMO_PIN, "only the right PIN can pass");
            checked += 1;
        } else if error_of(&v) == "eq/on: invalid pin code" {
            checked += 1;
        } else {
            assert!(
                error_of(&v).contains("Blocked For Security Purposes"),
                "{v}"
            );
        }
    }
    assert!(checked <= 5, "{checked} guesses were really checked");
    app.stop().await;
}

#[tokio::test]
async fn right_pins_sent_in_parallel_all_pass() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let mut handles = Vec::new();
    for _ in 0..12 {
        handles.push(app.spawn_call(
            "eq",
            &[
                ("action", "on"),
                ("token", &t),
                ("id", "40101"),
                ("pin", DEMO_PIN),
            ],
        ));
    }
    for h in handles {
        let v = h.await.expect("task");
        ok(&v);
    }
    app.stop().await;
}

#[tokio::test]
async fn a_per_server_key_cannot_touch_the_account_pin() {
    let app = TestApp::spawn().await;
    let t = app.login_key(DEMO_SERVER_KEY).await;
    for form in [
        vec![
            ("action", "set_pin"),
            ("old_pin", DEMO_PIN),
            ("new_pin", "7777"),
        ],
        vec![("action", "check_pin"), ("pin", DEMO_PIN)],
    ] {
        let mut f = vec![("token", t.as_str())];
        f.extend(form);
        let v = app.call("eq", &f).await;
        assert!(
            error_of(&v).contains("permission denied, the account PIN code cannot be managed with the API key of server 40101"),
            "{v}"
        );
    }
    // The PIN is unchanged: the account key's session still passes with the old one.
    let a = app.demo_token().await;
    let v = app
        .call(
            "eq",
            &[("action", "check_pin"), ("token", &a), ("pin", DEMO_PIN)],
        )
        .await;
    let rec = app.complete(v["callback"].as_str().expect("key")).await;
    assert_eq!(rec["result"], "OK", "{rec}");
    app.stop().await;
}

#[tokio::test]
async fn power_actions_on_one_server_complete_in_the_order_they_were_sent() {
    let app = TestApp::spawn().await;
    let t = app.long_token().await;
    // A VM's off takes longer than its on: sent back to back, the on must still win.
    let mut keys = Vec::new();
    for action in ["off", "on"] {
        let v = app
            .call("eq", &[("action", action), ("token", &t), ("id", "40101")])
            .await;
        keys.push(v["callback"].as_str().expect("key").to_owned());
    }
    // Once the on's own duration has passed, it is still waiting for the off.
    app.drive(&keys[0], 5, 60).await;
    assert_eq!(app.check(&keys[1]).await["result"], "Not ready");
    let done = app.drive(&keys[1], 5, 60).await;
    assert_eq!(done.last().expect("final")["scope"], "VM is up now");
    assert_eq!(app.show(&t, 40101).await["server_data"]["power"], "on");
    app.stop().await;
}

#[tokio::test]
async fn every_traffic_period_began_within_the_last_month() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let clock = app.control_get("/_emu/clock").await;
    let now = clock["now"].as_i64().expect("now");
    let today = hostkey_emu::clock::format_datetime(now);
    let month_ago = hostkey_emu::clock::format_datetime(now - 31 * 86_400);
    for id in app.server_ids(&t).await {
        let s = app.show(&t, id).await;
        let start = s["server_data"]["datePeriod"].as_str().expect("datePeriod");
        // The same format sorts as text.
        assert!(
            start <= today.as_str(),
            "{id}: period starts {start}, after {today}"
        );
        assert!(
            start >= month_ago.as_str(),
            "{id}: period starts {start}, before {month_ago}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn a_per_server_keys_wrong_pins_lock_only_that_key() {
    let app = TestApp::spawn().await;
    let server_key = app.login_key(DEMO_SERVER_KEY).await;
    let account = app.demo_token().await;
    let reboot = |token: String, id: &'static str, pin: &'static str| {
        let app = &app;
        async move {
            app.call(
                "eq",
                &[
                    ("action", "reboot"),
                    ("token", &token),
                    ("id", id),
                    ("pin", pin),
                ],
            )
            .await
        }
    };
    for _ in 0..4 {
        let v = reboot(server_key.clone(), "40101", "0000").await;
        assert_eq!(error_of(&v), "eq/reboot: invalid pin code");
    }
    let v = reboot(server_key.clone(), "40101", "0000").await;
    assert!(error_of(&v).contains("Blocked For Security Purposes"));
    // The key is blocked, even with the right PIN...
    let v = reboot(server_key.clone(), "40101", DEMO_PIN).await;
    assert!(error_of(&v).contains("Blocked For Security Purposes"));
    // ...but the account's own sessions are not.
    ok(&reboot(account.clone(), "40102", DEMO_PIN).await);
    // The key's lockout ends with its cooling-off period.
    app.advance(901).await;
    let fresh = app.login_key(DEMO_SERVER_KEY).await;
    ok(&reboot(fresh, "40101", DEMO_PIN).await);
    app.stop().await;
}

/// eq/unified_server_search: one query by id, hostname, address, MAC or tag value, inside
/// the session's scope.
#[tokio::test]
async fn unified_server_search_finds_by_id_hostname_address_mac_and_tag() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let search = |token: String, q: &'static str| {
        let app = &app;
        async move {
            let v = app
                .call(
                    "eq",
                    &[
                        ("action", "unified_server_search"),
                        ("token", &token),
                        ("query", q),
                    ],
                )
                .await;
            ok(&v)["servers"].clone()
        }
    };
    let ids = |v: &[i64]| serde_json::json!(v);
    assert_eq!(search(t.clone(), "40102").await, ids(&[40102]));
    assert_eq!(search(t.clone(), "31.207.45.23").await, ids(&[40101]));
    assert_eq!(search(t.clone(), "AC-1F-6B-4E-92-3A").await, ids(&[40102]));
    let ok_tag = app
        .call(
            "tags",
            &[
                ("action", "add"),
                ("token", &t),
                ("id", "40102"),
                ("tag", "billing_ref"),
                ("value", "ZEBRA-9"),
            ],
        )
        .await;
    ok(&ok_tag);
    assert_eq!(search(t.clone(), "zebra-9").await, ids(&[40102]));
    let show = app.show(&t, 40101).await;
    let hostname = show["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .find(|x| x["tag"] == "hostname")
        .expect("hostname")["value"]
        .as_str()
        .expect("value")
        .to_owned();
    let v = app
        .call(
            "eq",
            &[
                ("action", "unified_server_search"),
                ("token", &t),
                ("query", &hostname),
            ],
        )
        .await;
    assert!(
        v["servers"]
            .as_array()
            .expect("ids")
            .contains(&40101.into()),
        "{hostname}: {v}"
    );
    assert_eq!(search(t.clone(), "no-such-thing-anywhere").await, ids(&[]));
    // Scope: a per-server key and another account find nothing of the rest.
    let scoped = app.login_key(DEMO_SERVER_KEY).await;
    assert_eq!(search(scoped.clone(), "40102").await, ids(&[]));
    assert_eq!(search(scoped, "31.207.45.23").await, ids(&[40101]));
    let other = app.other_token().await;
    for q in ["40101", "31.207.45.23", "AC-1F-6B-4E-92-3A", "zebra-9"] {
        assert_eq!(search(other.clone(), q).await, ids(&[]), "{q}");
    }
    let v = app
        .call("eq", &[("action", "unified_server_search"), ("token", &t)])
        .await;
    assert_eq!(error_of(&v), "eq/unified_server_search: query is required");
    app.stop().await;
}
