//! `/_emu/faults`: each effect as a client sees it, rule bookkeeping, and bad rules.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::{test_config, TestApp};

impl TestApp {
    /// Adds fault rules; the answer (asserting HTTP 201).
    pub async fn fault(&self, rule: Value) -> Value {
        let r = self
            .client
            .post(format!("{}/_emu/faults", self.base))
            .json(&rule)
            .send()
            .await
            .expect("faults");
        assert_eq!(r.status(), 201, "POST /_emu/faults {rule}");
        r.json().await.expect("json")
    }

    /// DELETE a control-plane path, asserting HTTP 200; the JSON answer.
    pub async fn emu_delete(&self, path: &str) -> Value {
        let r = self
            .client
            .delete(format!("{}{path}", self.base))
            .send()
            .await
            .expect("delete");
        assert_eq!(r.status(), 200, "DELETE {path}");
        r.json().await.expect("json")
    }
}

async fn reboot(app: &TestApp, token: &str, id: &str) -> Value {
    app.call("eq", &[("action", "reboot"), ("token", token), ("id", id)])
        .await
}

#[tokio::test]
async fn a_named_error_answers_in_the_modules_envelope_for_the_next_match_only() {
    let app = TestApp::spawn().await;
    let t = app.long_token().await;
    app.fault(
        json!({"module": "eq", "action": "reboot", "server": 40101, "times": 1,
                     "effect": {"type": "error", "error": "not_found"}}),
    )
    .await;
    // Another server is not matched.
    assert_eq!(reboot(&app, &t, "40102").await["result"], "OK");
    let v = reboot(&app, &t, "40101").await;
    assert_eq!(
        v,
        json!({"result": -1, "error": "eq/reboot: server 40101 not found"})
    );
    assert_eq!(reboot(&app, &t, "40101").await["result"], "OK", "times: 1");
    let list = app.control_get("/_emu/faults").await;
    assert_eq!(list["faults"][0]["hits"], 1);
    assert_eq!(list["faults"][0]["remaining"], 0);
    assert_eq!(list["faults"][0]["active"], false);
}

#[tokio::test]
async fn every_named_error_and_a_text_keep_the_documented_words() {
    let app = TestApp::spawn().await;
    let t = app.long_token().await;
    let cases = [
        ("invalid_token", "auth: invalid token"),
        ("permission_denied", "eq/show: permission denied"),
        ("internal", "internal error"),
        (
            "maintenance window, try later",
            "maintenance window, try later",
        ),
    ];
    for (error, text) in cases {
        app.fault(json!({"module": "eq", "action": "show", "times": 1,
                         "effect": {"type": "error", "error": error}}))
            .await;
        let v = app
            .call("eq", &[("action", "show"), ("token", &t), ("id", "40101")])
            .await;
        assert_eq!(v, json!({"result": -1, "error": text}), "{error}");
    }
    // No rule left: the real answer.
    let v = app
        .call("eq", &[("action", "show"), ("token", &t), ("id", "40101")])
        .await;
    assert_ne!(v["result"], -1, "{v}");
}

#[tokio::test]
async fn an_http_status_comes_with_its_body_and_headers() {
    let app = TestApp::spawn().await;
    app.fault(json!({"module": "auth", "action": "login",
                     "effect": {"type": "http", "status": 429, "body": "slow down",
                                "headers": {"Retry-After": "7"}}}))
        .await;
    let r = app
        .post(
            "auth",
            &[("action", "login"), ("key", crate::helpers::DEMO_KEY)],
        )
        .await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "7");
    assert_eq!(r.text().await.expect("body"), "slow down");
    // A JSON body, as a proxy's 502 page would not be, but a gateway's JSON could.
    app.emu_delete("/_emu/faults").await;
    app.fault(
        json!({"module": "auth", "effect": {"type": "http", "status": 502,
                     "body": {"message": "bad gateway"}}}),
    )
    .await;
    let r = app
        .post(
            "auth",
            &[("action", "login"), ("key", crate::helpers::DEMO_KEY)],
        )
        .await;
    assert_eq!(r.status(), 502);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["message"], "bad gateway");
}

#[tokio::test]
async fn latency_holds_the_answer_in_real_time() {
    let app = TestApp::spawn().await;
    app.fault(json!({"module": "os", "action": "list", "times": 1,
                     "effect": {"type": "latency", "ms": 400}}))
        .await;
    let started = Instant::now();
    let v = app.call("os", &[("action", "list")]).await;
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_ne!(v["result"], -1, "answered normally after the delay: {v}");
    let started = Instant::now();
    app.call("os", &[("action", "list")]).await;
    assert!(started.elapsed() < Duration::from_millis(400), "times: 1");
}

#[tokio::test]
async fn a_dropped_connection_gets_no_answer_at_all() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn().await;
    app.fault(json!({"module": "os", "effect": {"type": "drop"}}))
        .await;
    let err = app
        .client
        .post(format!("{}/os.php", app.base))
        .form(&[("action", "list")])
        .send()
        .await
        .expect_err("no answer");
    assert!(!err.is_status(), "{err}");
    // On the wire: the connection closes and not one byte comes back.
    let mut s = tokio::net::TcpStream::connect(app.addr).await.expect("tcp");
    s.write_all(b"GET /os.php?action=list HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let mut got = Vec::new();
    let n = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut got))
        .await
        .expect("closed, not hanging");
    assert!(n.map_or(true, |n| n == 0), "answered {got:?}");
    assert!(got.is_empty());
    // The journal says so.
    let j = app.control_get("/_emu/requests?module=os").await;
    assert_eq!(j["requests"][0]["status"], 0);
    assert!(j["requests"][0]["fault"].as_u64().is_some());
}

#[tokio::test]
async fn a_truncated_body_breaks_off_before_its_promised_length() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn().await;
    app.fault(json!({"module": "os", "effect": {"type": "truncate", "bytes": 10}}))
        .await;
    let r = app
        .client
        .post(format!("{}/os.php", app.base))
        .form(&[("action", "list")])
        .send()
        .await
        .expect("headers arrive");
    assert_eq!(r.status(), 200);
    assert!(r.bytes().await.is_err(), "the body breaks off");
    let mut s = tokio::net::TcpStream::connect(app.addr).await.expect("tcp");
    s.write_all(b"GET /os.php?action=list HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let mut got = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut got))
        .await
        .expect("closed, not hanging");
    let text = String::from_utf8_lossy(&got).to_string();
    let (head, body) = text.split_once("\r\n\r\n").expect("a head");
    let promised: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length: ")
                .map(str::to_owned)
        })
        .expect("content-length")
        .trim()
        .parse()
        .expect("number");
    assert_eq!(body.len(), 10, "{text}");
    assert!(promised > 10, "{head}");
}

#[tokio::test]
async fn an_async_task_can_end_in_the_documented_failure_record() {
    let app = TestApp::spawn().await;
    let t = app.long_token().await;
    app.fault(
        json!({"module": "eq", "action": "reboot", "server": 40101, "times": 1,
                     "effect": {"type": "task_fail", "debug": "ipmitool: session timed out"}}),
    )
    .await;
    let v = reboot(&app, &t, "40101").await;
    assert_eq!(v["result"], "OK", "accepted as usual: {v}");
    let key = v["callback"].as_str().expect("callback").to_owned();
    let record = app.complete(&key).await;
    assert_eq!(record["result"], "Fail", "{record}");
    assert_eq!(record["status"], "failure");
    assert_eq!(record["debug"], "ipmitool: session timed out");
    assert_eq!(record["context"]["id"], "40101");
    // The next reboot is untouched.
    let v = reboot(&app, &t, "40101").await;
    let record = app
        .complete(v["callback"].as_str().expect("callback"))
        .await;
    assert_eq!(record["result"], "OK", "{record}");
}

#[tokio::test]
async fn an_async_task_can_stay_in_a_stage_forever() {
    let app = TestApp::spawn().await;
    let t = app.long_token().await;
    app.fault(json!({"module": "eq", "action": "reboot", "times": 1,
                     "effect": {"type": "task_stuck", "stage": " (2/5) Waiting for the BMC"}}))
        .await;
    let v = reboot(&app, &t, "40101").await;
    let key = v["callback"].as_str().expect("callback").to_owned();
    let record = app.complete(&key).await;
    assert_eq!(record["result"], "Stage", "{record}");
    assert_eq!(record["scope"], " (2/5) Waiting for the BMC");
    app.advance(30 * 86_400).await;
    app.run_tasks().await;
    assert_eq!(app.check(&key).await["result"], "Stage");
}

#[tokio::test]
async fn rules_expire_on_the_emulator_clock_and_match_request_fields() {
    let app = TestApp::spawn().await;
    let t = app.long_token().await;
    app.fault(
        json!({"module": "eq", "action": "show", "fields": {"id": 40102},
                     "expires_in": 60, "effect": {"type": "error", "error": "internal"}}),
    )
    .await;
    let show = |id: &'static str| {
        let (app, t) = (&app, t.clone());
        async move {
            app.call("eq", &[("action", "show"), ("token", &t), ("id", id)])
                .await
        }
    };
    assert_ne!(show("40101").await["result"], -1);
    assert_eq!(show("40102").await["error"], "internal error");
    app.advance(61).await;
    assert_ne!(show("40102").await["result"], -1, "expired");
}

#[tokio::test]
async fn a_seeded_probability_fails_the_same_requests_every_run() {
    let mut runs = Vec::new();
    for _ in 0..2 {
        let app = TestApp::spawn().await;
        app.fault(json!({"module": "os", "probability": 0.5, "seed": 42,
                         "effect": {"type": "error", "error": "internal"}}))
            .await;
        let mut pattern = Vec::new();
        for _ in 0..20 {
            let v = app.call("os", &[("action", "list")]).await;
            pattern.push(v["result"] == -1);
        }
        runs.push(pattern);
    }
    assert_eq!(runs[0], runs[1]);
    let failed = runs[0].iter().filter(|f| **f).count();
    assert!((2..19).contains(&failed), "{failed} of 20 failed");
}

#[tokio::test]
async fn malformed_rules_are_refused_and_nothing_is_half_applied() {
    let app = TestApp::spawn().await;
    let bad = [
        json!({"module": "eq", "effect": {"type": "explode"}}),
        json!({"module": "eqq", "effect": {"type": "drop"}}),
        json!({"module": "eq", "action": "rebot", "effect": {"type": "drop"}}),
        json!({"effect": {"type": "latency", "ms": 3_600_000}}),
        json!({"effect": {"type": "http", "status": 9}}),
        json!({"effect": {"type": "drop"}, "times": 0}),
        json!({"effect": {"type": "drop"}, "probability": 1.5}),
        json!({"effect": {"type": "drop"}, "colour": "red"}),
        json!([{"effect": {"type": "drop"}}, {"effect": {"type": "nope"}}]),
        json!(42),
    ];
    for rule in bad {
        let r = app
            .client
            .post(format!("{}/_emu/faults", app.base))
            .json(&rule)
            .send()
            .await
            .expect("faults");
        assert_eq!(r.status(), 400, "{rule}");
        let v: Value = r.json().await.expect("json error");
        assert_eq!(v["status"], "error");
        assert!(!v["error"].as_str().unwrap_or("").is_empty());
    }
    let r = app
        .client
        .post(format!("{}/_emu/faults", app.base))
        .body("{not json")
        .send()
        .await
        .expect("faults");
    assert_eq!(r.status(), 400);
    let list = app.control_get("/_emu/faults").await;
    assert_eq!(list["faults"], json!([]), "nothing half-applied");
    // Deleting what is not there is a 404.
    let r = app
        .client
        .delete(format!("{}/_emu/faults/99", app.base))
        .send()
        .await
        .expect("delete");
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn rules_are_deleted_one_by_one_or_all_at_once() {
    let app = TestApp::spawn().await;
    let v = app
        .fault(json!([{"module": "os", "effect": {"type": "drop"}},
                      {"module": "software", "effect": {"type": "drop"}}]))
        .await;
    let ids: Vec<u64> = v["ids"]
        .as_array()
        .expect("ids")
        .iter()
        .map(|i| i.as_u64().expect("id"))
        .collect();
    assert_eq!(ids.len(), 2);
    app.emu_delete(&format!("/_emu/faults/{}", ids[0])).await;
    let list = app.control_get("/_emu/faults").await;
    assert_eq!(list["faults"].as_array().expect("list").len(), 1);
    assert_eq!(list["faults"][0]["module"], "software");
    app.emu_delete("/_emu/faults").await;
    assert_ne!(app.call("os", &[("action", "list")]).await["result"], -1);
}

#[tokio::test]
async fn rules_load_from_a_file_and_a_reset_brings_them_back() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("faults.json");
    std::fs::write(
        &path,
        json!([{"module": "os", "action": "list",
                "effect": {"type": "error", "error": "internal"}}])
        .to_string(),
    )
    .expect("write");
    let mut config = test_config();
    config.faults = Some(path.to_string_lossy().into_owned());
    let app = TestApp::spawn_with(config).await;
    assert_eq!(
        app.call("os", &[("action", "list")]).await["error"],
        "internal error"
    );
    app.emu_delete("/_emu/faults").await;
    assert_ne!(app.call("os", &[("action", "list")]).await["result"], -1);
    assert_eq!(app.control_post("/_emu/reset").await.status(), 200);
    assert_eq!(
        app.call("os", &[("action", "list")]).await["error"],
        "internal error"
    );
    // A bad file stops the start with the reason.
    std::fs::write(&path, r#"[{"effect": {"type": "nope"}}]"#).expect("write");
    let mut config = test_config();
    config.faults = Some(path.to_string_lossy().into_owned());
    let e = hostkey_emu::app::AppState::new(config)
        .await
        .err()
        .expect("refused");
    assert!(e.to_string().contains("--faults"), "{e}");
}

#[tokio::test]
async fn rules_load_from_the_scenario_file() {
    let dir = tempfile::tempdir().expect("dir");
    let demo = hostkey_emu::domain::scenario::ScenarioInfo::read("demo").expect("demo");
    let mut scenario: Value = serde_json::from_str(&demo.text).expect("json");
    scenario["faults"] = json!([{"module": "os", "effect": {"type": "http", "status": 503}}]);
    let path = dir.path().join("scenario.json");
    std::fs::write(&path, scenario.to_string()).expect("write");
    let mut config = test_config();
    config.scenario = path.to_string_lossy().into_owned();
    let app = TestApp::spawn_with(config).await;
    assert_eq!(app.post("os", &[("action", "list")]).await.status(), 503);
    assert_eq!(
        app.control_get("/_emu/faults").await["faults"][0]["hits"],
        1
    );
}
