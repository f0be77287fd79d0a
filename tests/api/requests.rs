//! Request parsing and bad input: every malformed request gets the error envelope. Also the
//! serving layer below it: header and request timeouts, keep-alive, graceful shutdown with a
//! deadline, and request logs that never repeat a secret.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::helpers::*;

#[tokio::test]
async fn query_string_get_json_and_multipart_bodies_all_work() {
    let app = TestApp::spawn().await;
    let r = app
        .client
        .get(format!("{}/auth.php?action=login&key={DEMO_KEY}", app.base))
        .send()
        .await
        .expect("get");
    let v: Value = r.json().await.expect("json");
    let token = v["result"]["token"].as_str().expect("token").to_owned();
    let r = app
        .client
        .post(format!("{}/eq.php", app.base))
        .json(&serde_json::json!({"action": "list", "token": token}))
        .send()
        .await
        .expect("json body");
    ok(&r.json::<Value>().await.expect("json"));
    let form = reqwest::multipart::Form::new()
        .text("action", "list")
        .text("token", token.clone());
    let r = app
        .client
        .post(format!("{}/eq.php", app.base))
        .multipart(form)
        .send()
        .await
        .expect("multipart");
    ok(&r.json::<Value>().await.expect("json"));
    // Body wins over the query string.
    let r = app
        .client
        .post(format!("{}/eq.php?action=zap", app.base))
        .form(&[("action", "list"), ("token", token.as_str())])
        .send()
        .await
        .expect("post");
    ok(&r.json::<Value>().await.expect("json"));
    app.stop().await;
}

#[tokio::test]
async fn unknown_modules_actions_and_tokens_get_the_documented_errors() {
    let app = TestApp::spawn().await;
    let r = app
        .client
        .post(format!("{}/nope.php", app.base))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 404);
    let v: Value = r.json().await.expect("json");
    assert_eq!(error_of(&v), "unknown module /nope.php");
    let t = app.demo_token().await;
    let v = app
        .call("eq", &[("action", "teleport"), ("token", &t)])
        .await;
    assert_eq!(error_of(&v), "eq: unknown action teleport");
    let v = app.call("eq", &[("token", &t)]).await;
    assert_eq!(error_of(&v), "eq: missing action");
    for token in [
        "",
        "abc",
        "0123456789abcdef0123456789abcdef",
        "ZZZZ'; DROP TABLE sessions; --",
    ] {
        let v = app
            .call("eq", &[("action", "list"), ("token", token)])
            .await;
        assert_eq!(error_of(&v), "auth: invalid token", "token {token:?}");
    }
    app.stop().await;
}

#[tokio::test]
async fn junk_bodies_and_wrong_types_never_break_the_server() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let url = format!("{}/eq.php", app.base);
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("application/json", b"{not json".to_vec()),
        ("application/json", b"[1,2,3]".to_vec()),
        (
            "application/json",
            b"{\"action\":{\"deep\":{\"deeper\":[1,{\"x\":2}]}}}".to_vec(),
        ),
        (
            "application/x-www-form-urlencoded",
            vec![0xff, 0xfe, 0x00, 0x26, 0x3d, 0x3d],
        ),
        (
            "application/x-www-form-urlencoded",
            b"action=show&id[]=1&id[]=2&token[x]=y".to_vec(),
        ),
        (
            "multipart/form-data; boundary=xyz",
            b"--xyz\r\nbroken".to_vec(),
        ),
        ("text/plain", b"\x00\x01\x02".to_vec()),
    ];
    for (ct, body) in bodies {
        let r = app
            .client
            .post(&url)
            .header("content-type", ct)
            .body(body.clone())
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), 200, "{ct} {body:?}");
        let v: Value = r.json().await.expect("json envelope");
        assert_eq!(v["result"], -1, "{ct}: {v}");
    }
    for (k, v) in [
        ("id", "1e9"),
        ("id", "-5"),
        ("id", "99999999999999999999999"),
        ("id", "0x10"),
    ] {
        let r = app
            .call("eq", &[("action", "show"), ("token", &t), (k, v)])
            .await;
        assert!(error_of(&r).starts_with("eq/show: "), "{v}: {r}");
    }
    let long = "a".repeat(5000);
    let r = app
        .call(
            "eq",
            &[
                ("action", "rename_server"),
                ("token", &t),
                ("id", "40101"),
                ("hostname", &long),
            ],
        )
        .await;
    assert!(error_of(&r).contains("invalid hostname"));
    let r = app
        .call(
            "auth",
            &[("action", "login"), ("key", DEMO_KEY), ("fix_ip", "maybe")],
        )
        .await;
    assert_eq!(
        error_of(&r),
        "auth/login: invalid fix_ip 'maybe', expected 1 or 0"
    );
    // Still healthy afterwards.
    ok(&app.call("eq", &[("action", "list"), ("token", &t)]).await);
    app.stop().await;
}

#[tokio::test]
async fn bodies_over_the_limit_get_413_and_the_envelope() {
    let app = TestApp::spawn().await;
    let huge = vec![b'a'; 2 * 1024 * 1024];
    let r = app
        .client
        .post(format!("{}/eq.php", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(huge)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 413);
    let v: Value = r.json().await.expect("json");
    assert!(error_of(&v).contains("too large"));
    // Chunked bodies without a length are cut off too.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..40).map(|_| Ok(vec![b'b'; 64 * 1024])).collect();
    let stream = futures_util::stream::iter(chunks);
    let r = app
        .client
        .post(format!("{}/eq.php", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 413);
    app.stop().await;
}

#[tokio::test]
async fn responses_are_compact_json() {
    let app = TestApp::spawn().await;
    let r = app
        .post("auth", &[("action", "login"), ("key", DEMO_KEY)])
        .await;
    assert_eq!(r.headers()["content-type"], "application/json");
    let text = r.text().await.expect("text");
    assert!(text.starts_with("{\"result\":{\"token\":\""), "{text}");
    assert!(!text.contains(": ") && !text.contains('\n'));
    app.stop().await;
}

/// A generous bound for anything that should happen "soon": far above every timeout the
/// tests configure, far below the hang it guards against.
const SOON: Duration = Duration::from_secs(20);

/// Sends one request on a raw connection and reads its answer: the head, and a body of
/// `Content-Length` bytes.
async fn exchange(stream: &mut TcpStream, request: &str) -> (String, String) {
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let mut read_more = async |buf: &mut Vec<u8>, stream: &mut TcpStream| {
        let n = timeout(SOON, stream.read(&mut chunk))
            .await
            .expect("an answer in time")
            .expect("read");
        assert!(n > 0, "connection closed before the answer was complete");
        buf.extend_from_slice(&chunk[..n]);
    };
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        read_more(&mut buf, stream).await;
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().expect("content-length"))
        })
        .expect("a content-length header");
    while buf.len() < head_end + length {
        read_more(&mut buf, stream).await;
    }
    let body = String::from_utf8_lossy(&buf[head_end..head_end + length]).into_owned();
    (head, body)
}

const HEALTH: &str = "GET /_emu/health HTTP/1.1\r\nHost: emu\r\n\r\n";
/// The start of a request whose headers never end (a slowloris client).
const HALF_SENT: &str = "GET /_emu/health HTTP/1.1\r\nHo";

/// Reads until the server closes the connection; a reset counts as closed too.
async fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut rest = Vec::new();
    timeout(SOON, stream.read_to_end(&mut rest)).await.is_ok()
}

#[tokio::test]
async fn keep_alive_serves_several_requests_on_one_connection() {
    let app = TestApp::spawn().await;
    let mut stream = TcpStream::connect(app.addr).await.expect("connect");
    for _ in 0..3 {
        let (head, body) = exchange(&mut stream, HEALTH).await;
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(
            !head.to_ascii_lowercase().contains("connection: close"),
            "{head}"
        );
        let v: Value = serde_json::from_str(&body).expect("json");
        assert_eq!(v["status"], "ok");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let mut config = test_config();
    config.header_timeout = 1;
    let app = TestApp::spawn_with(config).await;
    let mut stream = TcpStream::connect(app.addr).await.expect("connect");
    stream.write_all(HALF_SENT.as_bytes()).await.expect("write");
    assert!(
        closed_by_server(&mut stream).await,
        "the server closes a connection whose headers stay unfinished"
    );
    // The server itself is unaffected.
    let mut other = TcpStream::connect(app.addr).await.expect("connect");
    let (head, _) = exchange(&mut other, HEALTH).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    app.stop().await;
}

#[tokio::test]
async fn shutdown_completes_while_a_client_is_stuck_in_its_headers() {
    let mut config = test_config();
    // Far beyond the test's bound: the header timeout is not what ends this connection.
    config.header_timeout = 3600;
    config.shutdown_timeout = 1;
    let app = TestApp::spawn_with(config).await;
    let addr = app.addr;
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    // One answered request proves the server holds this connection; then it stalls.
    let (head, _) = exchange(&mut stream, HEALTH).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    stream.write_all(HALF_SENT.as_bytes()).await.expect("write");
    timeout(SOON, app.stop())
        .await
        .expect("shutdown finishes despite the stalled client");
    assert!(
        closed_by_server(&mut stream).await,
        "its connection is closed"
    );
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "no connection is accepted after shutdown"
    );
}

/// Log output of the server's tasks, captured for one test. The subscriber is the test
/// thread's default, and a `#[tokio::test]` runtime runs the server's tasks on that thread,
/// so other tests running in parallel neither see nor disturb it.
#[derive(Clone, Default)]
struct Logs {
    text: Arc<Mutex<Vec<u8>>>,
    written: Arc<tokio::sync::watch::Sender<usize>>,
}

impl Logs {
    fn capture(filter: &str) -> (Logs, tracing::subscriber::DefaultGuard) {
        // While only one dispatcher exists, tracing-core decides whether a call site is
        // enabled by asking the default dispatcher of the thread that reaches it first, and
        // caches the answer: a call site first reached by another test would stay disabled
        // here. A second dispatcher, kept for the whole run, makes it ask all of them.
        static SECOND: std::sync::OnceLock<tracing::Dispatch> = std::sync::OnceLock::new();
        SECOND.get_or_init(|| tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default()));
        let logs = Logs::default();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_ansi(false)
            .without_time()
            .with_writer(logs.clone())
            .finish();
        (logs.clone(), tracing::subscriber::set_default(subscriber))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.text.lock().expect("lock")).into_owned()
    }

    /// Waits (boundedly) until the logs contain `needle`.
    async fn wait_for(&self, needle: &str) {
        let mut written = self.written.subscribe();
        let found = timeout(SOON, written.wait_for(|_| self.text().contains(needle))).await;
        assert!(
            found.is_ok(),
            "no log line with {needle:?} in:\n{}",
            self.text()
        );
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.text.lock().expect("lock").extend_from_slice(buf);
        self.written.send_modify(|n| *n += buf.len());
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;
    fn make_writer(&'a self) -> Logs {
        self.clone()
    }
}

/// The configuration of a server whose every login attempt is throttled by `delay_ms`: a
/// request that stays in its handler for as long as a test needs.
fn slow_login_config(delay_ms: u64) -> hostkey_emu::config::Config {
    let mut config = test_config();
    config.login_free_failures = 0;
    config.login_delay_ms = delay_ms;
    config.login_delay_max_ms = delay_ms;
    config
}

/// Starts a login that the server will throttle, and returns once its handler is running.
async fn start_slow_login(
    app: &TestApp,
    logs: &Logs,
) -> tokio::task::JoinHandle<reqwest::Result<reqwest::Response>> {
    let request = app.client.post(format!("{}/auth.php", app.base)).form(&[
        ("action", "login"),
        ("key", "0000000000000000-0000000000000000"),
    ]);
    let pending = tokio::spawn(request.send());
    logs.wait_for("started processing request").await;
    pending
}

#[tokio::test]
async fn graceful_shutdown_lets_a_running_request_finish() {
    let (logs, _guard) = Logs::capture("tower_http=debug");
    let mut config = slow_login_config(1500);
    config.shutdown_timeout = 30;
    let app = TestApp::spawn_with(config).await;
    let pending = start_slow_login(&app, &logs).await;
    timeout(SOON, app.stop()).await.expect("shutdown in time");
    let answer = pending
        .await
        .expect("task")
        .expect("the request is answered");
    assert_eq!(answer.status(), 200);
    let v: Value = answer.json().await.expect("json");
    assert!(error_of(&v).starts_with("Invalid API key"), "{v}");
}

#[tokio::test]
async fn shutdown_drops_requests_still_running_at_its_deadline() {
    let (logs, _guard) = Logs::capture("tower_http=debug");
    let mut config = slow_login_config(3_600_000);
    config.request_timeout = 7200;
    config.shutdown_timeout = 1;
    let app = TestApp::spawn_with(config).await;
    let pending = start_slow_login(&app, &logs).await;
    timeout(SOON, app.stop())
        .await
        .expect("shutdown ends at its deadline, not when the request would");
    let answer = timeout(SOON, pending)
        .await
        .expect("settled")
        .expect("task");
    assert!(
        answer.is_err(),
        "the dropped request gets no answer: {answer:?}"
    );
}

#[tokio::test]
async fn a_request_over_the_time_limit_gets_408_and_the_envelope() {
    // The handler sleeps for an hour; the one-second limit always fires first.
    let mut config = slow_login_config(3_600_000);
    config.request_timeout = 1;
    let app = TestApp::spawn_with(config).await;
    let r = timeout(
        SOON,
        app.post("auth", &[("action", "login"), ("key", DEMO_KEY)]),
    )
    .await
    .expect("answered in time");
    assert_eq!(r.status(), 408);
    assert_eq!(r.headers()["content-type"], "application/json");
    let v: Value = r.json().await.expect("json");
    assert_eq!(error_of(&v), "request timed out");
    app.stop().await;
}

#[tokio::test]
async fn control_plane_bad_input_gets_a_json_400() {
    let app = TestApp::spawn().await;
    let send = |method: reqwest::Method, path: &str| {
        app.client
            .request(method, format!("{}{path}", app.base))
            .send()
    };
    for (path, expected) in [
        ("/_emu/clock/advance?seconds=abc", "seconds"),
        ("/_emu/clock/advance?seconds=-5", "seconds must be between"),
        ("/_emu/invoices/abc/pay", "abc"),
    ] {
        let r = send(reqwest::Method::POST, path).await.expect("send");
        assert_eq!(r.status(), 400, "{path}");
        assert_eq!(r.headers()["content-type"], "application/json", "{path}");
        let v: Value = r.json().await.expect("json");
        assert_eq!(v["status"], "error", "{path}: {v}");
        let error = v["error"].as_str().expect("error text");
        assert!(error.contains(expected), "{path}: {error}");
    }
    let r = send(reqwest::Method::GET, "/_emu/reset")
        .await
        .expect("send");
    assert_eq!(r.status(), 405);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["error"], "method not allowed");
    app.stop().await;
}

#[tokio::test]
async fn request_logs_name_the_route_and_action_but_no_secret() {
    let (logs, _guard) = Logs::capture("hostkey_emu=trace,tower_http=trace,axum=trace");
    let app = TestApp::spawn().await;
    let get = |path_and_query: String| {
        let request = app.client.get(format!("{}{path_and_query}", app.base));
        async { request.send().await.expect("send") }
    };
    get(format!(
        "/auth.php?action=whmcslogin&user={DEMO_USER}&password={DEMO_PASSWORD}"
    ))
    .await;
    let v: Value = get(format!("/auth.php?action=login&key={DEMO_KEY}"))
        .await
        .json()
        .await
        .expect("json");
    let token = v["result"]["token"].as_str().expect("token").to_owned();
    get(format!(
        "/eq.php?action=set_pin&token={token}&old_pin=old-pin-of-test&new_pin=new-pin-of-test&pin=pin-of-test"
    ))
    .await;
    get(format!(
        "/eq.php?action=order_instance&token={token}&root_pass=Root-pass-of-test-1"
    ))
    .await;
    get("/novnc/console-token-of-test-1".to_owned()).await;
    app.stop().await;

    let text = logs.text();
    for secret in [
        DEMO_PASSWORD,
        DEMO_KEY,
        token.as_str(),
        "old-pin-of-test",
        "new-pin-of-test",
        "pin-of-test",
        "Root-pass-of-test-1",
        "console-token-of-test-1",
    ] {
        assert!(!text.contains(secret), "{secret:?} leaked into:\n{text}");
    }
    // The span is there and useful; without these checks, empty logs would pass the above.
    for expected in [
        "path=/auth.php",
        "action=whmcslogin",
        "action=set_pin",
        "path=/novnc/{token}",
    ] {
        assert!(text.contains(expected), "{expected:?} in:\n{text}");
    }
}

/// The actions of issue 13 (ssh_keys, location, license, the new eq, tags, ip, nat and
/// presets actions) answer junk arguments with the envelope: HTTP 200, JSON, never a 5xx.
#[tokio::test]
async fn the_issue_13_actions_answer_junk_with_the_envelope() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let long = "k".repeat(20_000);
    let junk = [
        "\u{0}\u{1}\u{ff}",
        "99999999999999999999999",
        "-1",
        "1e9",
        "::::",
        &long,
    ];
    let calls: [(&str, &str, &[&str]); 13] = [
        ("ssh_keys", "list", &[]),
        ("ssh_keys", "add", &["name", "key", "default"]),
        ("ssh_keys", "delete", &["id"]),
        ("location", "list", &[]),
        ("license", "list", &[]),
        ("eq", "unified_server_search", &["query"]),
        ("tags", "search", &["value"]),
        ("tags", "search_user", &["value"]),
        ("ip", "get_client_ip", &[]),
        ("nat", "clear_static_nat", &["ip"]),
        ("nat", "drop_nat", &["id", "ip"]),
        ("presets", "groups", &["location"]),
        ("eq", "order_instance", &["ssh_key"]),
    ];
    for (module, action, fields) in calls {
        for value in junk {
            let mut form = vec![("action", action), ("token", t.as_str())];
            form.extend(fields.iter().map(|f| (*f, value)));
            let v = app.call(module, &form).await;
            assert!(
                v["result"] == -1 || v["result"] == "OK",
                "{module}/{action} {value:?}: {v}"
            );
            if v["result"] == -1 {
                assert!(v["error"].is_string(), "{v}");
                assert_ne!(v["error"], "internal error", "{module}/{action} {value:?}");
            }
        }
    }
    ok(&app
        .call("ssh_keys", &[("action", "list"), ("token", &t)])
        .await);
    app.stop().await;
}
