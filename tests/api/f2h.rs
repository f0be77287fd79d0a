//! The F2HCloud face (issue 17): scoped keys, the authorization order with FastAPI's
//! bodies on every endpoint, and what one API sees of changes made through the other.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{ok, TestApp, DEMO_PIN};

const DEMO_ACCOUNT: i64 = 38642;
/// The demo scenario's single-server key (nl-bm-01, every capability).
const SINGLE_KEY: &str = "f2h.deadbeefcafe0001.DemoSingleServerKey0123456789abcdef";
/// The demo scenario's multi-server key (read-only capabilities and reboot).
const MULTI_KEY: &str = "f2h.deadbeefcafe0002.DemoMultiServerKey0123456789abcdef";
const CAPS: [&str; 10] = [
    "server_details",
    "reboot",
    "rescue_exit",
    "install_status",
    "ipmi_status",
    "antihack_status",
    "antihack_unban",
    "us_unblock",
    "antispam_status",
    "antispam_unblock",
];

/// Creates a key through the control plane; the full key.
async fn key(app: &TestApp, servers: &[&str], caps: &[&str], cidrs: &str) -> String {
    let r = app
        .client
        .post(format!("{}/_emu/f2h/keys", app.base))
        .json(
            &json!({"account_id": DEMO_ACCOUNT, "label": "test", "servers": servers,
                      "capabilities": caps, "cidrs": cidrs}),
        )
        .send()
        .await
        .expect("create key");
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.expect("json");
    v["key"].as_str().expect("key").to_owned()
}

/// One request to the face; the status, the `WWW-Authenticate` header and the JSON body.
async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    key: Option<&str>,
    body: Option<&Value>,
) -> (StatusCode, Option<String>, Value) {
    let mut req = app
        .client
        .request(method, format!("{}{path}", app.f2h_base));
    if let Some(k) = key {
        req = req.header("X-API-Key", k);
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    let r = req.send().await.expect("request");
    let status = r.status();
    let www = r
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().expect("text").to_owned());
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(
        ct.starts_with("application/json"),
        "{path}: content type {ct}"
    );
    (status, www, r.json().await.expect("json"))
}

async fn get(app: &TestApp, path: &str, key: &str) -> (StatusCode, Value) {
    let (s, _, v) = call(app, Method::GET, path, Some(key), None).await;
    (s, v)
}

async fn post(app: &TestApp, path: &str, key: &str, body: Value) -> (StatusCode, Value) {
    let (s, _, v) = call(app, Method::POST, path, Some(key), Some(&body)).await;
    (s, v)
}

/// One endpoint of the matrix: method, path on nl-bm-01, capability, body, and the status
/// the good key gets.
struct Endpoint {
    method: Method,
    path: String,
    capability: Option<&'static str>,
    server: bool,
    body: Option<Value>,
    good: u16,
}

#[tokio::test]
async fn every_endpoint_checks_the_key_the_address_the_capability_and_the_server_in_order() {
    let app = TestApp::spawn().await;
    let good = key(&app, &["nl-bm-01"], &CAPS, "127.0.0.0/8").await;
    let other_server = key(&app, &["nl-vmmini-01"], &CAPS, "").await;
    let outside = key(&app, &["nl-bm-01"], &CAPS, "192.0.2.0/24").await;
    // A task of the good key, for GET /api/tasks/{id}.
    let (s, v) = post(&app, "/api/servers/nl-bm-01/reboot", &good, json!({})).await;
    assert_eq!(s, 202, "{v}");
    let task = v["task_id"].as_str().expect("task id").to_owned();
    let h = "/api/servers/nl-bm-01";
    let ep = |method: Method, path: String, cap, server, body, good| Endpoint {
        method,
        path,
        capability: cap,
        server,
        body,
        good,
    };
    let endpoints = vec![
        ep(
            Method::GET,
            "/api/servers".into(),
            Some("server_details"),
            false,
            None,
            200,
        ),
        ep(
            Method::GET,
            h.into(),
            Some("server_details"),
            true,
            None,
            200,
        ),
        ep(
            Method::POST,
            format!("{h}/reboot"),
            Some("reboot"),
            true,
            None,
            202,
        ),
        ep(
            Method::POST,
            format!("{h}/rescue/exit"),
            Some("rescue_exit"),
            true,
            None,
            409,
        ),
        ep(
            Method::GET,
            format!("{h}/install"),
            Some("install_status"),
            true,
            None,
            200,
        ),
        ep(
            Method::GET,
            format!("{h}/ipmi"),
            Some("ipmi_status"),
            true,
            None,
            200,
        ),
        ep(
            Method::GET,
            format!("{h}/antihack"),
            Some("antihack_status"),
            true,
            None,
            200,
        ),
        ep(
            Method::POST,
            format!("{h}/antihack/unban"),
            Some("antihack_unban"),
            true,
            Some(json!({"ip": "203.0.113.77"})),
            200,
        ),
        ep(
            Method::POST,
            format!("{h}/antihack/us-unblock"),
            Some("us_unblock"),
            true,
            Some(json!({"ip": "5.39.218.37", "reason": "fixed"})),
            409,
        ),
        ep(
            Method::GET,
            format!("{h}/antispam"),
            Some("antispam_status"),
            true,
            None,
            200,
        ),
        ep(
            Method::POST,
            format!("{h}/antispam/unblock"),
            Some("antispam_unblock"),
            true,
            Some(json!({"ip": "5.39.218.37"})),
            409,
        ),
        ep(
            Method::GET,
            format!("/api/tasks/{task}"),
            Some("reboot"),
            false,
            None,
            200,
        ),
        ep(Method::GET, "/api/keys/self".into(), None, false, None, 200),
    ];
    for e in &endpoints {
        let what = format!("{} {}", e.method, e.path);
        let body = e.body.as_ref();
        // No key: 401 Not authenticated, with WWW-Authenticate: APIKey.
        let (s, www, v) = call(&app, e.method.clone(), &e.path, None, body).await;
        assert_eq!(s, 401, "{what}");
        assert_eq!(www.as_deref(), Some("APIKey"), "{what}");
        assert_eq!(v, json!({"detail": "Not authenticated"}), "{what}");
        // Malformed, unknown and wrong-secret keys: 401 Invalid API key.
        for bad in [
            "garbage",
            "f2h.deadbeefcafe0001.WrongSecret000000000000000000",
            "f2h.0000000000000000.DemoSingleServerKey0123456789abcdef",
        ] {
            let (s, _, v) = call(&app, e.method.clone(), &e.path, Some(bad), body).await;
            assert_eq!(s, 401, "{what} {bad}");
            assert_eq!(v, json!({"detail": "Invalid API key"}), "{what}");
        }
        // A key used from outside its allow-list: 403 before anything else.
        let (s, _, v) = call(&app, e.method.clone(), &e.path, Some(&outside), body).await;
        assert_eq!(s, 403, "{what}");
        assert!(
            v["detail"]
                .as_str()
                .expect("detail")
                .contains("CIDR allowlist"),
            "{what}: {v}"
        );
        if let Some(cap) = e.capability {
            let without: Vec<&str> = CAPS.iter().copied().filter(|c| *c != cap).collect();
            let lacking = key(&app, &["nl-bm-01"], &without, "").await;
            let (s, _, v) = call(&app, e.method.clone(), &e.path, Some(&lacking), body).await;
            assert_eq!(s, 403, "{what}");
            assert_eq!(
                v,
                json!({"detail": format!("API key lacks the '{cap}' capability")}),
                "{what}"
            );
        }
        let (s, _, v) = call(&app, e.method.clone(), &e.path, Some(&other_server), body).await;
        if e.server {
            assert_eq!(s, 403, "{what}");
            assert_eq!(
                v,
                json!({"detail": "Server is not in this API key's scope"}),
                "{what}"
            );
        } else if e.path.starts_with("/api/tasks/") {
            assert_eq!(s, 404, "another server's task is not revealed: {what}");
        } else {
            assert_eq!(s, 200, "{what}");
            assert!(!v.to_string().contains("nl-bm-01"), "{what}: {v}");
        }
        let (s, _, v) = call(&app, e.method.clone(), &e.path, Some(&good), body).await;
        assert_eq!(s.as_u16(), e.good, "{what}: {v}");
    }
    app.stop().await;
}

#[tokio::test]
async fn out_of_scope_servers_get_one_answer_whether_they_exist_or_not() {
    let app = TestApp::spawn().await;
    let mut answers = Vec::new();
    for host in [
        "fi-storage-01",
        "aurora-web-01",
        "no-such-host.example",
        &"a".repeat(300),
    ] {
        let (s, v) = get(&app, &format!("/api/servers/{host}"), SINGLE_KEY).await;
        answers.push((s, v));
    }
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
    assert_eq!(answers[0].0, 403);
    app.stop().await;
}

#[tokio::test]
async fn the_scenario_keys_list_their_servers_and_describe_themselves_without_the_secret() {
    let app = TestApp::spawn().await;
    let (s, v) = get(&app, "/api/servers", MULTI_KEY).await;
    assert_eq!(s, 200);
    let names: Vec<&str> = v
        .as_array()
        .expect("list")
        .iter()
        .map(|s| s["hostname"].as_str().expect("hostname"))
        .collect();
    assert_eq!(names, vec!["nl-vmmini-01", "nl-bm-01", "fi-storage-01"]);
    let (s, me) = get(&app, "/api/keys/self", MULTI_KEY).await;
    assert_eq!(s, 200);
    assert_eq!(me["id"], "deadbeefcafe0002");
    assert_eq!(me["label"], "fleet monitoring");
    assert!(!me.to_string().contains("DemoMultiServerKey"), "{me}");
    let (_, again) = get(&app, "/api/keys/self", MULTI_KEY).await;
    assert!(again["last_used_at"].is_string(), "{again}");

    let (s, d) = get(&app, "/api/servers/nl-bm-01", SINGLE_KEY).await;
    assert_eq!(s, 200);
    assert_eq!(d["netboot"], "disk");
    assert_eq!(d["ipmi_available"], true);
    assert_eq!(d["power"], "on");
    assert!(d["addresses"]
        .as_array()
        .expect("addresses")
        .iter()
        .any(|a| a["ip"] == "5.39.218.37" && a["main"] == true));
    let (_, vm) = get(&app, "/api/servers/nl-vmmini-01/ipmi", MULTI_KEY).await;
    assert_eq!(vm["available"], false, "{vm}");
    let (_, install) = get(&app, "/api/servers/nl-bm-01/install", SINGLE_KEY).await;
    assert_eq!(install["state"], "idle", "{install}");
    app.stop().await;
}

#[tokio::test]
async fn a_reboot_through_f2h_is_a_task_the_invapi_sees() {
    let app = TestApp::spawn().await;
    let token = app.demo_token().await;
    // Powered off through the InvAPI...
    let off = app
        .call(
            "eq",
            &[
                ("action", "off"),
                ("token", &token),
                ("id", "40102"),
                ("pin", DEMO_PIN),
            ],
        )
        .await;
    app.complete(off["callback"].as_str().expect("key")).await;
    let (_, d) = get(&app, "/api/servers/nl-bm-01", SINGLE_KEY).await;
    assert_eq!(d["power"], "off", "F2H sees the InvAPI's power state: {d}");
    // ...rebooted through F2H, which powers a chassis that is off on.
    let (s, v) = post(&app, "/api/servers/nl-bm-01/reboot", SINGLE_KEY, json!({})).await;
    assert_eq!(s, 202, "{v}");
    let task = v["task_id"].as_str().expect("task").to_owned();
    let (_, t) = get(&app, &format!("/api/tasks/{task}"), SINGLE_KEY).await;
    assert_eq!(t["status"], "queued", "{t}");
    assert_eq!(t["action"], "reboot");
    // The InvAPI polls the same record (eq_callback.php), and it completes on the clock.
    let done = app.complete(&task).await;
    ok(&done);
    assert_eq!(done["context"]["action"], "reboot", "{done}");
    let (_, t) = get(&app, &format!("/api/tasks/{task}"), SINGLE_KEY).await;
    assert_eq!(t["status"], "done", "{t}");
    // eq/status of the InvAPI reads the power state the reboot left.
    let st = app
        .call(
            "eq",
            &[("action", "status"), ("token", &token), ("id", "40102")],
        )
        .await;
    let status = app.complete(st["callback"].as_str().expect("key")).await;
    assert_eq!(status["debug"], "Chassis Power is on", "{status}");
    assert_eq!(app.show(&token, 40102).await["server_data"]["power"], "on");
    // Unknown and malformed task ids: 404, not 5xx.
    for id in ["0123456789abcdef0123456789abcdef", "junk", "%ff%fe"] {
        let (s, v) = get(&app, &format!("/api/tasks/{id}"), SINGLE_KEY).await;
        assert_eq!(s, 404, "{id}: {v}");
    }
    app.stop().await;
}

/// eq/show's row of one address.
async fn locked(app: &TestApp, token: &str, id: &str, ip: &str) -> i64 {
    let s = app.show(token, id).await;
    s["IP"]
        .as_array()
        .expect("IP")
        .iter()
        .find(|i| i["IP"] == ip)
        .expect("row")["locked"]
        .as_i64()
        .expect("locked")
}

#[tokio::test]
async fn a_block_placed_through_the_invapi_is_lifted_through_f2h_then_sent_to_review() {
    let app = TestApp::spawn().await;
    let token = app.demo_token().await;
    let ip = "5.39.218.38";
    let block = |desc: &'static str| {
        let (app, token) = (&app, &token);
        async move {
            let v = app
                .call(
                    "net",
                    &[
                        ("token", token),
                        ("action", "block_ip"),
                        ("id", "40102"),
                        ("ip", ip),
                        ("description", desc),
                    ],
                )
                .await;
            let done = app.complete(v["callback"].as_str().expect("key")).await;
            assert_eq!(done["scope"], "blocked", "{done}");
        }
    };
    block("scanning").await;
    let (s, v) = get(&app, "/api/servers/nl-bm-01/antihack", SINGLE_KEY).await;
    assert_eq!(s, 200);
    assert!(
        v["blocks"]
            .as_array()
            .expect("blocks")
            .iter()
            .any(|b| b["ip"] == ip && b["reason"] == "scanning"),
        "{v}"
    );
    assert!(
        v["bans"]
            .as_array()
            .expect("bans")
            .iter()
            .any(|b| b["ip"] == "203.0.113.77" && b["jail"] == "sshd"),
        "the scenario's ban: {v}"
    );
    assert_eq!(locked(&app, &token, "40102", ip).await, 1);
    let body = json!({"ip": ip, "reason": "the scanner is removed"});
    let (s, v) = post(
        &app,
        "/api/servers/nl-bm-01/antihack/us-unblock",
        SINGLE_KEY,
        body.clone(),
    )
    .await;
    assert_eq!(
        (s.as_u16(), v["status"].clone()),
        (200, json!("lifted")),
        "{v}"
    );
    assert_eq!(locked(&app, &token, "40102", ip).await, 0);
    // A second unblock of the address within the window waits for review.
    block("scanning again").await;
    let (s, v) = post(
        &app,
        "/api/servers/nl-bm-01/antihack/us-unblock",
        SINGLE_KEY,
        body,
    )
    .await;
    assert_eq!(
        (s.as_u16(), v["status"].clone()),
        (202, json!("pending_review")),
        "{v}"
    );
    assert_eq!(locked(&app, &token, "40102", ip).await, 1);
    app.stop().await;
}

#[tokio::test]
async fn the_abuse_teams_spam_block_is_listed_and_unblocked_through_f2h() {
    let app = TestApp::spawn().await;
    let key = key(&app, &["nl-vmmini-01"], &CAPS, "").await;
    let (s, v) = get(&app, "/api/servers/nl-vmmini-01/antispam", &key).await;
    assert_eq!(s, 200);
    assert_eq!(v["smtp_port_25_blocked"], true, "{v}");
    assert_eq!(v["listed"][0]["ip"], "31.207.45.24", "{v}");
    let (s, v) = post(
        &app,
        "/api/servers/nl-vmmini-01/antispam/unblock",
        &key,
        json!({"ip": "31.207.45.24"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let token = app.demo_token().await;
    assert_eq!(locked(&app, &token, "40101", "31.207.45.24").await, 0);
    let (_, v) = get(&app, "/api/servers/nl-vmmini-01/antispam", &key).await;
    assert_eq!(v["smtp_port_25_blocked"], false, "{v}");
    app.stop().await;
}

#[tokio::test]
async fn simulated_attacks_ban_addresses_on_the_clock_and_unban_lifts_them() {
    let app = TestApp::spawn().await;
    let mut seen = None;
    for _ in 0..48 {
        let (_, v) = get(&app, "/api/servers/nl-bm-01/antihack", SINGLE_KEY).await;
        if let Some(b) = v["bans"].as_array().expect("bans").iter().find(|b| {
            b["ip"]
                .as_str()
                .is_some_and(|ip| ip.starts_with("198.51.100."))
        }) {
            seen = Some(b.clone());
            break;
        }
        app.advance(3600).await;
    }
    let ban = seen.expect("an attack within two days");
    let ip = ban["ip"].as_str().expect("ip");
    let (s, v) = post(
        &app,
        "/api/servers/nl-bm-01/antihack/unban",
        SINGLE_KEY,
        json!({"ip": ip}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (_, v) = get(&app, "/api/servers/nl-bm-01/antihack", SINGLE_KEY).await;
    assert!(
        !v["bans"]
            .as_array()
            .expect("bans")
            .iter()
            .any(|b| b["ip"] == ip && b["jail"] == ban["jail"]),
        "an unbanned address stays unbanned: {v}"
    );
    app.stop().await;
}

#[tokio::test]
async fn junk_input_gets_4xx_with_a_detail_never_5xx() {
    let app = TestApp::spawn().await;
    let unban = "/api/servers/nl-bm-01/antihack/unban";
    // Bodies: none, not JSON, wrong types, a bad address: 422 in FastAPI's list shape.
    let cases: Vec<(Option<&str>, &str)> = vec![
        (None, "missing"),
        (Some("not json"), "json_invalid"),
        (Some("[1,2]"), "model_attributes_type"),
        (Some("{\"ip\": 5}"), "string_type"),
        (Some("{\"ip\": \"999.1.1.1\"}"), "ip_any_address"),
        (Some("{}"), "missing"),
    ];
    for (body, kind) in cases {
        let mut req = app
            .client
            .post(format!("{}{unban}", app.f2h_base))
            .header("X-API-Key", SINGLE_KEY)
            .header("content-type", "application/json");
        if let Some(b) = body {
            req = req.body(b.to_owned());
        }
        let r = req.send().await.expect("request");
        assert_eq!(r.status(), 422, "{body:?}");
        let v: Value = r.json().await.expect("json");
        let first = &v["detail"][0];
        assert_eq!(first["type"], kind, "{body:?}: {v}");
        assert!(first["loc"].is_array() && first["msg"].is_string(), "{v}");
    }
    // Header and path junk.
    let junk_paths = [
        "/api/servers/%00",
        "/api/servers/%ff%fe/reboot",
        "/api/servers/..%2f..%2fetc/install",
        "/api/nothing",
        "/api/servers/nl-bm-01/unknown",
    ];
    for p in junk_paths {
        let r = app
            .client
            .get(format!("{}{p}", app.f2h_base))
            .header("X-API-Key", SINGLE_KEY)
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        assert!((400..500).contains(&status), "{p}: {status}");
        let v: Value = r.json().await.expect("json");
        assert!(v.get("detail").is_some(), "{p}: {v}");
    }
    let r = app
        .client
        .get(format!("{}/api/keys/self", app.f2h_base))
        .header(
            "X-API-Key",
            reqwest::header::HeaderValue::from_bytes(b"f2h.\xff\xfe").expect("value"),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 401);
    let r = app
        .client
        .delete(format!("{}/api/servers/nl-bm-01/reboot", app.f2h_base))
        .header("X-API-Key", SINGLE_KEY)
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 405);
    // Bad key definitions at the control plane: 400, nothing created.
    for bad in [
        json!({"account_id": DEMO_ACCOUNT, "servers": ["nl-bm-01"], "capabilities": []}),
        json!({"account_id": DEMO_ACCOUNT, "servers": ["nl-bm-01"], "capabilities": ["root"]}),
        json!({"account_id": DEMO_ACCOUNT, "servers": [], "capabilities": ["reboot"]}),
        json!({"account_id": DEMO_ACCOUNT, "servers": ["aurora-web-01"], "capabilities": ["reboot"]}),
        json!({"account_id": DEMO_ACCOUNT, "servers": ["nl-bm-01"], "capabilities": ["reboot"], "cidrs": "10.0.0.0/33"}),
        json!({"servers": "x"}),
    ] {
        let r = app
            .client
            .post(format!("{}/_emu/f2h/keys", app.base))
            .json(&bad)
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 400, "{bad}");
    }
    app.stop().await;
}

#[tokio::test]
async fn the_openapi_document_names_every_endpoint_and_swagger_ui_is_served_offline() {
    let app = TestApp::spawn().await;
    let r = app
        .client
        .get(format!("{}/api/openapi.json", app.f2h_base))
        .send()
        .await
        .expect("openapi");
    assert_eq!(r.status(), 200);
    let doc: Value = r.json().await.expect("json");
    assert!(doc["openapi"].as_str().expect("version").starts_with("3."));
    assert_eq!(doc["servers"][0]["url"], "/api");
    let scheme = &doc["components"]["securitySchemes"]["APIKeyHeader"];
    assert_eq!(
        (
            scheme["type"].clone(),
            scheme["in"].clone(),
            scheme["name"].clone()
        ),
        (json!("apiKey"), json!("header"), json!("X-API-Key"))
    );
    for (path, method) in [
        ("/servers", "get"),
        ("/servers/{hostname}", "get"),
        ("/servers/{hostname}/reboot", "post"),
        ("/servers/{hostname}/rescue/exit", "post"),
        ("/servers/{hostname}/install", "get"),
        ("/servers/{hostname}/ipmi", "get"),
        ("/servers/{hostname}/antihack", "get"),
        ("/servers/{hostname}/antihack/unban", "post"),
        ("/servers/{hostname}/antihack/us-unblock", "post"),
        ("/servers/{hostname}/antispam", "get"),
        ("/servers/{hostname}/antispam/unblock", "post"),
        ("/tasks/{id}", "get"),
        ("/keys/self", "get"),
    ] {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is documented");
        assert!(op["responses"]["401"].is_object(), "{method} {path}: 401");
        assert!(op["responses"]["403"].is_object(), "{method} {path}: 403");
        assert!(
            op["tags"].is_null(),
            "{method} {path}: untagged, as FastAPI's"
        );
    }
    assert_eq!(
        doc["paths"]["/servers/{hostname}/reboot"]["post"]["summary"],
        "Customer Reboot Server"
    );
    assert!(doc["components"]["schemas"]["HTTPValidationError"].is_object());
    let page = app
        .client
        .get(format!("{}/docs", app.f2h_base))
        .send()
        .await
        .expect("docs");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(
        html.contains("/api/openapi.json") && !html.contains("https://"),
        "offline: {html}"
    );
    for (asset, size) in [
        ("swagger-ui-bundle.js", 1_000_000),
        ("swagger-ui.css", 100_000),
    ] {
        let r = app
            .client
            .get(format!("{}/docs/{asset}", app.f2h_base))
            .send()
            .await
            .expect("asset");
        assert_eq!(r.status(), 200, "{asset}");
        assert!(r.bytes().await.expect("bytes").len() > size, "{asset}");
    }
    app.stop().await;
}

#[tokio::test]
async fn rescue_entered_through_the_invapis_pxe_path_is_left_through_f2h() {
    let app = TestApp::spawn().await;
    let token = app.demo_token().await;
    let (s, v) = post(
        &app,
        "/api/servers/nl-bm-01/rescue/exit",
        SINGLE_KEY,
        json!({}),
    )
    .await;
    assert_eq!(s, 409, "not in rescue: {v}");
    assert_eq!(v["detail"], "Server is not in rescue mode");
    let b = app
        .call(
            "eq",
            &[
                ("action", "boot_dev"),
                ("token", &token),
                ("id", "40102"),
                ("media", "pxe"),
                ("pin", DEMO_PIN),
            ],
        )
        .await;
    app.complete(b["callback"].as_str().unwrap_or_else(|| panic!("{b}")))
        .await;
    let (_, d) = get(&app, "/api/servers/nl-bm-01", SINGLE_KEY).await;
    assert_eq!(d["netboot"], "rescue", "{d}");
    let (s, v) = post(
        &app,
        "/api/servers/nl-bm-01/rescue/exit",
        SINGLE_KEY,
        json!({}),
    )
    .await;
    assert_eq!(s, 202, "{v}");
    let done = app.complete(v["task_id"].as_str().expect("task")).await;
    assert_eq!(done["context"]["action"], "bootdev_disk", "{done}");
    let (_, d) = get(&app, "/api/servers/nl-bm-01", SINGLE_KEY).await;
    assert_eq!(d["netboot"], "disk", "{d}");
    app.stop().await;
}

#[tokio::test]
async fn an_invapi_reinstall_shows_its_life_cycle_through_f2h() {
    let app = TestApp::spawn().await;
    let token = app.long_token().await;
    let key = key(&app, &["nl-vmmini-01"], &CAPS, "").await;
    let path = "/api/servers/nl-vmmini-01/install";
    let v = app
        .call(
            "eq",
            &[
                ("action", "order_instance"),
                ("token", &token),
                ("id", "40101"),
                ("pin", DEMO_PIN),
                ("os_id", "205"),
                ("root_pass", "mnN48Dl@4"),
            ],
        )
        .await;
    let callback = v["callback"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"))
        .to_owned();
    let (_, first) = get(&app, path, &key).await;
    assert_eq!(first["state"], "queued", "{first}");
    let (_, d) = get(&app, "/api/servers/nl-vmmini-01", &key).await;
    assert_eq!(d["netboot"], "install", "{d}");
    let (s, v) = post(
        &app,
        "/api/servers/nl-vmmini-01/rescue/exit",
        &key,
        json!({}),
    )
    .await;
    assert_eq!(
        (s.as_u16(), v["detail"].clone()),
        (409, json!("An install is running on this server"))
    );
    let mut states = Vec::new();
    for _ in 0..40 {
        app.advance(60).await;
        app.run_tasks().await;
        let (_, st) = get(&app, path, &key).await;
        let state = st["state"].as_str().expect("state").to_owned();
        if state == "installing" || state == "post_install" {
            assert!(
                st["stage"].as_str().expect("stage").starts_with('('),
                "{st}"
            );
            assert!(st["progress"].as_u64().expect("progress") < 100);
        }
        states.push(state.clone());
        if state == "idle" {
            break;
        }
    }
    assert!(states.iter().any(|s| s == "installing"), "{states:?}");
    assert!(states.iter().any(|s| s == "post_install"), "{states:?}");
    assert_eq!(
        states.last().map(String::as_str),
        Some("idle"),
        "{states:?}"
    );
    ok(&app.check(&callback).await);
    app.stop().await;
}

#[tokio::test]
async fn the_database_keeps_no_secret_of_a_key() {
    let (app, dir) = TestApp::spawn_on_file().await;
    let full = key(&app, &["nl-bm-01"], &CAPS, "").await;
    let secret = full.rsplit('.').next().expect("secret").to_owned();
    let (s, _) = get(&app, "/api/keys/self", &full).await;
    assert_eq!(s, 200);
    let (s, _) = get(&app, "/api/keys/self", SINGLE_KEY).await;
    assert_eq!(s, 200);
    app.stop().await;
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir.path()).expect("dir") {
        let path = entry.expect("entry").path();
        if path.is_file() {
            bytes.extend(std::fs::read(&path).expect("read"));
        }
    }
    assert!(bytes.len() > 4096, "the database was read");
    assert!(
        bytes
            .windows(b"deadbeefcafe0001".len())
            .any(|w| w == b"deadbeefcafe0001"),
        "the key's public id is stored"
    );
    for s in [secret.as_str(), "DemoSingleServerKey0123456789abcdef"] {
        assert!(
            !bytes.windows(s.len()).any(|w| w == s.as_bytes()),
            "a secret is in the database files"
        );
    }
}
