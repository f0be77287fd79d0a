//! `/_emu/requests`: what clients sent, secrets masked, filtered and counted.

use serde_json::{json, Value};

use crate::helpers::{Sink, TestApp, DEMO_KEY};

impl TestApp {
    /// POST /_emu/requests/count with a matcher; the count.
    pub async fn count_requests(&self, matcher: Value) -> u64 {
        let r = self
            .client
            .post(format!("{}/_emu/requests/count", self.base))
            .json(&matcher)
            .send()
            .await
            .expect("count");
        assert_eq!(r.status(), 200, "count {matcher}");
        let v: Value = r.json().await.expect("json");
        v["count"].as_u64().expect("count")
    }
}

#[tokio::test]
async fn every_request_is_recorded_newest_first_with_its_secrets_masked() {
    let app = TestApp::spawn().await;
    let t = app.long_token().await;
    app.call(
        "eq",
        &[
            ("action", "reboot"),
            ("token", &t),
            ("id", "40101"),
            ("pin", "1234"),
        ],
    )
    .await;
    app.call("eq", &[("action", "show"), ("token", &t), ("id", "40102")])
        .await;
    let j = app.control_get("/_emu/requests").await;
    let list = j["requests"].as_array().expect("requests");
    assert_eq!(list.len(), 3, "login, reboot, show: {j}");
    let (show, reboot, login) = (&list[0], &list[1], &list[2]);
    assert_eq!(show["action"], "show");
    assert_eq!(show["server"], 40102);
    assert_eq!(reboot["module"], "eq");
    assert_eq!(reboot["fields"]["token"], "***");
    assert_eq!(reboot["fields"]["pin"], "***");
    assert_eq!(reboot["fields"]["id"], "40101");
    assert_eq!(reboot["status"], 200);
    assert_eq!(reboot["client"], "127.0.0.1");
    assert!(
        reboot["account"].as_i64().is_some(),
        "the session's account"
    );
    assert!(login["account"].is_null(), "a login has no session yet");
    assert!(reboot["answer"]
        .as_str()
        .expect("answer")
        .contains("\"callback\""));
    assert!(reboot["duration_ms"].as_f64().expect("duration") >= 0.0);
    assert_eq!(login["fields"]["key"], "***");
    // The raw secrets are nowhere in the journal.
    let text = j.to_string();
    assert!(!text.contains(&t), "token leaked");
    assert!(!text.contains(DEMO_KEY), "key leaked");
    assert!(!text.contains("\"1234\""), "pin leaked");
    assert!(list[0]["seq"].as_u64() > list[1]["seq"].as_u64());
}

#[tokio::test]
async fn filters_select_by_module_action_server_time_and_limit() {
    let app = TestApp::spawn().await;
    let t = app.long_token().await;
    for id in ["40101", "40102", "40101"] {
        app.call("eq", &[("action", "show"), ("token", &t), ("id", id)])
            .await;
    }
    app.call("os", &[("action", "list")]).await;
    let get = |q: &'static str| app.control_get(q);
    assert_eq!(
        get("/_emu/requests?module=eq&action=show").await["count"],
        3
    );
    assert_eq!(get("/_emu/requests?server=40101").await["count"], 2);
    assert_eq!(get("/_emu/requests?module=os").await["count"], 1);
    assert_eq!(get("/_emu/requests?limit=2").await["count"], 2);
    assert_eq!(
        get("/_emu/requests?limit=1").await["requests"][0]["module"],
        "os"
    );
    let now = app.control_get("/_emu/clock").await["now"]
        .as_i64()
        .expect("now");
    app.advance(10).await;
    app.call("os", &[("action", "list")]).await;
    let later = app
        .control_get(&format!("/_emu/requests?since={}", now + 5))
        .await;
    assert_eq!(later["count"], 1);
    // A filter that matches nothing is an empty list; one that cannot match is a 400.
    assert_eq!(get("/_emu/requests?server=1").await["requests"], json!([]));
    for bad in [
        "/_emu/requests?module=nope",
        "/_emu/requests?module=eq&action=nope",
        "/_emu/requests?server=abc",
        "/_emu/requests?limit=0",
        "/_emu/requests?colour=red",
    ] {
        let r = app
            .client
            .get(format!("{}{bad}", app.base))
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), 400, "{bad}");
        let v: Value = r.json().await.expect("json");
        assert_eq!(v["status"], "error");
    }
}

#[tokio::test]
async fn verification_counts_what_matches() {
    let app = TestApp::spawn().await;
    let t = app.long_token().await;
    for id in ["40101", "40101", "40102"] {
        app.call("eq", &[("action", "reboot"), ("token", &t), ("id", id)])
            .await;
    }
    let count = |m: Value| app.count_requests(m);
    assert_eq!(
        count(json!({"module": "eq", "action": "reboot", "server": 40101})).await,
        2
    );
    assert_eq!(count(json!({"module": "eq", "action": "reboot"})).await, 3);
    assert_eq!(
        count(json!({"module": "eq", "fields": {"id": "40102"}})).await,
        1
    );
    assert_eq!(count(json!({"module": "eq", "action": "off"})).await, 0);
    assert_eq!(count(json!({"module": "auth", "status": 200})).await, 1);
    for bad in [json!({"module": "nope"}), json!({"colour": 1}), json!([1])] {
        let r = app
            .client
            .post(format!("{}/_emu/requests/count", app.base))
            .json(&bad)
            .send()
            .await
            .expect("count");
        assert_eq!(r.status(), 400, "{bad}");
    }
    // Cleared, nothing matches; a reset clears it too.
    app.emu_delete("/_emu/requests").await;
    assert_eq!(count(json!({"module": "eq"})).await, 0);
    app.call("os", &[("action", "list")]).await;
    assert_eq!(app.control_post("/_emu/reset").await.status(), 200);
    assert_eq!(count(json!({})).await, 0);
}

#[tokio::test]
async fn webhooks_the_emulator_sends_are_recorded() {
    let app = TestApp::spawn().await;
    let sink = Sink::start().await;
    let t = app.demo_token().await;
    let v = app
        .call(
            "api_keys",
            &[
                ("action", "add"),
                ("token", &t),
                ("params[name]", "hooked"),
                ("params[login_notify_method]", "webhook"),
                ("params[login_notify_address]", &sink.url),
            ],
        )
        .await;
    let key = v["data"]["api_key"].as_str().expect("key").to_owned();
    app.login_key(&key).await;
    sink.wait_for(1).await;
    // The journal entry is written once the answer is read: give it a moment.
    let mut found = Value::Null;
    for _ in 0..100 {
        let j = app.control_get("/_emu/requests?module=webhook").await;
        if j["count"] == 1 {
            found = j["requests"][0].clone();
            break;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(found["face"], "webhook", "{found}");
    assert_eq!(found["action"], "login");
    assert_eq!(found["status"], 200);
    assert!(found["url"].as_str().expect("url").ends_with("/hook"));
    assert_eq!(found["fields"]["event"], "login");
}

#[tokio::test]
async fn the_ring_keeps_only_the_newest_requests() {
    let mut config = crate::helpers::test_config();
    config.journal_size = 3;
    let app = TestApp::spawn_with(config).await;
    for _ in 0..5 {
        app.call("os", &[("action", "list")]).await;
    }
    let j = app.control_get("/_emu/requests?limit=100").await;
    assert_eq!(j["count"], 3);
    assert_eq!(j["requests"][0]["seq"], 5);
    assert_eq!(j["requests"][2]["seq"], 3);
}
