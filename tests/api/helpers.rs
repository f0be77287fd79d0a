//! Test harness: starts the real emulator on 127.0.0.1:0 and talks HTTP to it, as a client would.

use std::net::{IpAddr, SocketAddr};

use hostkey_emu::app::{self, AppState};
use hostkey_emu::config::Config;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const DEMO_KEY: &str = "deadbeef00000001-0123456789abcdef";
pub const DEMO_SERVER_KEY: &str = "deadbeef00000002-0123456789abcdef";
pub const OTHER_KEY: &str = "deadbeef00000003-0123456789abcdef";
pub const DEMO_USER: &str = "demo@hostkey-emu.local";
pub const DEMO_PASSWORD: &str = "Demo-pass-1";
pub const DEMO_PIN: &str = "1234";

/// A running emulator.
pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub client: reqwest::Client,
    /// The DNS server's address (UDP and TCP), on a port of its own.
    pub dns: SocketAddr,
    /// The S3 endpoint's base URL (`http://127.0.0.1:<port>`).
    pub s3_base: String,
    /// The F2HCloud face's base URL (`http://127.0.0.1:<port>`).
    pub f2h_base: String,
    /// The HTTPS listener's address, when the test asked for one (`spawn_tls`).
    pub tls_addr: Option<SocketAddr>,
    /// The Hestia Control Panel API's address (HTTPS, `https://127.0.0.1:<port>`).
    pub hestia_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<()>>,
    dns_task: Option<JoinHandle<()>>,
    /// The database file's directory, when the test did not choose a database itself.
    _dir: Option<tempfile::TempDir>,
    /// The running emulator's state (for tests of what has no HTTP face yet).
    pub state: AppState,
}

/// The configuration tests start from: in-memory database, realistic task durations (jobs
/// run only when the test moves the clock), cheap hashing, short login delays.
pub fn test_config() -> Config {
    let mut c = Config::for_tests();
    c.argon2_memory_kib = 64;
    c.login_delay_ms = 2;
    c.login_delay_max_ms = 16;
    c
}

impl TestApp {
    /// An emulator on a database file of its own (the default setup: read-only readers and
    /// one writer, so that a write sent down the read path fails the test).
    pub async fn spawn() -> TestApp {
        let dir = tempfile::tempdir().expect("dir");
        let mut config = test_config();
        config.db = dir.path().join("emu.db").to_string_lossy().into_owned();
        let mut app = Self::spawn_with(config).await;
        app._dir = Some(dir);
        app
    }

    /// An emulator on a database file (the default setup), so that requests really run on
    /// several connections at once; the directory lives as long as the returned guard.
    pub async fn spawn_on_file() -> (TestApp, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("dir");
        let mut config = test_config();
        config.db = dir.path().join("emu.db").to_string_lossy().into_owned();
        (Self::spawn_with(config).await, dir)
    }

    /// An emulator whose tasks complete as soon as the worker sees them (`--task-speed
    /// instant`), as a CI fixture would run it.
    pub async fn spawn_instant() -> TestApp {
        let mut config = test_config();
        config.task_speed = "instant".parse().expect("speed");
        Self::spawn_with(config).await
    }

    pub async fn spawn_with(config: Config) -> TestApp {
        Self::spawn_maybe_tls(config, false).await
    }

    /// An emulator with an HTTPS listener too (on 127.0.0.1:0), certificates from its local CA.
    pub async fn spawn_tls() -> TestApp {
        Self::spawn_maybe_tls(test_config(), true).await
    }

    async fn spawn_maybe_tls(config: Config, tls: bool) -> TestApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let s3 = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind S3");
        let s3_addr = s3.local_addr().expect("S3 addr");
        let f2h = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind F2HCloud");
        let f2h_addr = f2h.local_addr().expect("F2HCloud addr");
        let tls = match tls {
            true => Some((
                tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind TLS"),
                std::sync::Arc::new(
                    hostkey_emu::tls::Tls::load(&config.db, &config.tls_names, None).expect("tls"),
                ),
            )),
            false => None,
        };
        let tls_addr = tls.as_ref().map(|(l, _)| l.local_addr().expect("TLS addr"));
        let hestia_wanted = config.hestia_listen.0.is_some();
        let hestia = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind Hestia");
        let hestia_addr = hestia.local_addr().expect("Hestia addr");
        let hestia_tls =
            std::sync::Arc::new(hostkey_emu::tls::Tls::load_panel(&config.db).expect("tls"));
        let state = AppState::new(config).await.expect("state");
        let shared = state.clone();
        let dns_sockets = hostkey_emu::dns::Sockets::bind("127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("bind dns");
        let dns = dns_sockets.local_addr().expect("dns addr");
        let dns_task = tokio::spawn(hostkey_emu::dns::serve(
            dns_sockets,
            state.clone(),
            std::future::pending(),
        ));
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            // `--hestia-listen off`: no Hestia listener (its address is then unused).
            let hestia = hestia_wanted.then_some((hestia, hestia_tls));
            app::serve_all_with_hestia(listener, Some(s3), Some(f2h), tls, hestia, state, async {
                let _ = rx.await;
            })
            .await
            .expect("serve");
        });
        TestApp {
            addr,
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
            dns,
            s3_base: format!("http://{s3_addr}"),
            f2h_base: format!("http://{f2h_addr}"),
            tls_addr,
            hestia_addr,
            stop: Some(tx),
            handle: Some(handle),
            dns_task: Some(dns_task),
            _dir: None,
            state: shared,
        }
    }

    /// Stops the server gracefully and waits until it has.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            h.await.expect("server task");
        }
        if let Some(h) = self.dns_task.take() {
            h.abort();
        }
    }

    /// POSTs a form to `/<module>.php` and returns the JSON answer (asserting HTTP 200).
    pub async fn call(&self, module: &str, form: &[(&str, &str)]) -> Value {
        let r = self.post(module, form).await;
        assert_eq!(r.status(), 200, "HTTP status of {module}.php {form:?}");
        let ct = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        assert!(ct.starts_with("application/json"), "content type {ct}");
        r.json().await.expect("json body")
    }

    /// Starts `call` in its own task, so that many requests are in flight at once; the
    /// handle gives the JSON answer.
    pub fn spawn_call(&self, module: &str, form: &[(&str, &str)]) -> JoinHandle<Value> {
        let url = format!("{}/{module}.php", self.base);
        let client = self.client.clone();
        let form: Vec<(String, String)> = form
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        tokio::spawn(async move {
            client
                .post(url)
                .form(&form)
                .send()
                .await
                .expect("request")
                .json()
                .await
                .expect("json body")
        })
    }

    pub async fn post(&self, module: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(format!("{}/{module}.php", self.base))
            .form(form)
            .send()
            .await
            .expect("request")
    }

    /// A client whose requests come from another loopback address.
    pub fn client_from(&self, ip: &str) -> reqwest::Client {
        reqwest::Client::builder()
            .local_address(ip.parse::<IpAddr>().expect("ip"))
            .build()
            .expect("client")
    }

    /// Logs in with an API key and returns the token.
    pub async fn login_key(&self, key: &str) -> String {
        let v = self
            .call("auth", &[("action", "login"), ("key", key)])
            .await;
        v["result"]["token"]
            .as_str()
            .unwrap_or_else(|| panic!("login failed: {v}"))
            .to_owned()
    }

    /// The demo account's token (account API key).
    pub async fn demo_token(&self) -> String {
        self.login_key(DEMO_KEY).await
    }

    /// A demo token that outlives long clock jumps (a day).
    pub async fn long_token(&self) -> String {
        let v = self
            .call(
                "auth",
                &[("action", "login"), ("key", DEMO_KEY), ("ttl", "86400")],
            )
            .await;
        v["result"]["token"]
            .as_str()
            .unwrap_or_else(|| panic!("login failed: {v}"))
            .to_owned()
    }

    pub async fn other_token(&self) -> String {
        self.login_key(OTHER_KEY).await
    }

    /// Servers of the account behind a token.
    pub async fn server_ids(&self, token: &str) -> Vec<i64> {
        let v = self
            .call("eq", &[("action", "list"), ("token", token)])
            .await;
        v["servers"]
            .as_array()
            .expect("servers")
            .iter()
            .map(|x| x.as_i64().expect("id"))
            .collect()
    }

    /// The first server of the token's account whose eq/show matches the predicate.
    pub async fn find_server(&self, token: &str, pred: impl Fn(&Value) -> bool) -> i64 {
        for id in self.server_ids(token).await {
            let show = self
                .call(
                    "eq",
                    &[
                        ("action", "show"),
                        ("token", token),
                        ("id", &id.to_string()),
                    ],
                )
                .await;
            if pred(&show) {
                return id;
            }
        }
        panic!("no server matches");
    }

    /// eq/show of a server.
    pub async fn show(&self, token: &str, id: impl std::fmt::Display) -> Value {
        self.call(
            "eq",
            &[
                ("action", "show"),
                ("token", token),
                ("id", &id.to_string()),
            ],
        )
        .await
    }

    /// Orders a year of a GPU server in US (`eq/order_instance`): more than the demo
    /// credit, so its invoice waits for a payment. The answer.
    pub async fn order_gpu_year(&self, token: &str) -> Value {
        self.call(
            "eq",
            &[
                ("action", "order_instance"),
                ("token", token),
                ("deploy_period", "annually"),
                ("pin", DEMO_PIN),
                ("preset", "gpu.4xa5000"),
                ("location_name", "US"),
                ("os_id", "187"),
                ("traffic_plan", "31"),
                ("root_pass", "Secret-pass1"),
            ],
        )
        .await
    }

    /// GET a control-plane path (`/_emu/outbox`), asserting HTTP 200; the JSON answer.
    pub async fn control_get(&self, path: &str) -> Value {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("control plane");
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().await.expect("json")
    }

    /// POST to a control-plane path (`/_emu/reset`); the response, to check its status.
    pub async fn control_post(&self, path: &str) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.base))
            .send()
            .await
            .expect("control plane")
    }

    /// Moves the emulator's clock forward.
    pub async fn advance(&self, seconds: u64) {
        let r = self
            .client
            .post(format!(
                "{}/_emu/clock/advance?seconds={seconds}",
                self.base
            ))
            .send()
            .await
            .expect("advance");
        assert_eq!(r.status(), 200);
    }

    /// Runs every due job and waits for them.
    pub async fn run_tasks(&self) -> i64 {
        let v: Value = self
            .client
            .post(format!("{}/_emu/tasks/run", self.base))
            .send()
            .await
            .expect("run")
            .json()
            .await
            .expect("json");
        v["ran"].as_i64().expect("ran")
    }

    /// eq_callback.php action=check.
    pub async fn check(&self, key: &str) -> Value {
        self.call("eq_callback", &[("action", "check"), ("key", key)])
            .await
    }

    /// Lets simulated time pass far enough for any single job, runs it, returns the record.
    pub async fn complete(&self, key: &str) -> Value {
        self.advance(600).await;
        self.run_tasks().await;
        self.check(key).await
    }
}

/// A local HTTP endpoint that records the JSON bodies POSTed to it (webhook receiver).
pub struct Sink {
    pub url: String,
    pub received: std::sync::Arc<std::sync::Mutex<Vec<Value>>>,
    notify: std::sync::Arc<tokio::sync::Notify>,
}

impl Sink {
    pub async fn start() -> Sink {
        use axum::routing::post;
        let received: std::sync::Arc<std::sync::Mutex<Vec<Value>>> = Default::default();
        let notify = std::sync::Arc::new(tokio::sync::Notify::new());
        let (r, n) = (received.clone(), notify.clone());
        let app = axum::Router::new().route(
            "/hook",
            post(move |axum::Json(v): axum::Json<Value>| {
                let (r, n) = (r.clone(), n.clone());
                async move {
                    r.lock().expect("lock").push(v);
                    n.notify_one();
                    "ok"
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await.expect("sink") });
        Sink {
            url,
            received,
            notify,
        }
    }

    /// Waits (at most 10 s) until `n` notices have arrived and returns them.
    pub async fn wait_for(&self, n: usize) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let got = self.received.lock().expect("lock").clone();
            if got.len() >= n {
                return got;
            }
            if tokio::time::timeout_at(deadline, self.notify.notified())
                .await
                .is_err()
            {
                panic!("expected {n} webhook notices, got {}", got.len());
            }
        }
    }
}

impl TestApp {
    /// Moves the clock in steps of `step` seconds, running due work, until the record is
    /// final (at most `max` steps); returns every record seen, the final one last.
    pub async fn drive(&self, key: &str, step: u64, max: usize) -> Vec<Value> {
        let mut seen = Vec::new();
        for _ in 0..max {
            self.advance(step).await;
            self.run_tasks().await;
            let v = self.check(key).await;
            let last = v["result"] == "OK" || v["result"] == "Fail" || v["result"] == -1;
            seen.push(v);
            if last {
                return seen;
            }
        }
        panic!(
            "record {key} not final after {max} steps: {:?}",
            seen.last()
        );
    }
}

/// Asserts the error envelope and returns its message.
pub fn error_of(v: &Value) -> String {
    assert_eq!(v["result"], -1, "expected an error envelope, got {v}");
    assert_eq!(
        v.as_object().map(|o| o.len()),
        Some(2),
        "error envelope has exactly result and error: {v}"
    );
    v["error"].as_str().expect("error text").to_owned()
}

/// Asserts a compact success with result OK.
pub fn ok(v: &Value) -> &Value {
    assert_eq!(v["result"], "OK", "expected success, got {v}");
    assert!(v.get("error").is_none(), "success without error field: {v}");
    v
}

/// Runs the emulator's binary with these arguments, at most `limit`; its output.
pub fn run_binary(args: &[&str], limit: std::time::Duration) -> std::process::Output {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hostkey-emu"))
        .args(args)
        .env_remove("HOSTKEY_EMU_SCENARIO")
        .env_remove("HOSTKEY_EMU_DB")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let deadline = std::time::Instant::now() + limit;
    // Polls for the exit, so that a binary that wrongly keeps serving fails the test
    // instead of hanging it.
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "hostkey-emu {args:?} still running after {limit:?}; stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Output bytes as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A control-plane call with an optional JSON body: the status and the JSON answer.
pub async fn emu(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = app.client.request(method, format!("{}{path}", app.base));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.expect("request");
    let status = r.status().as_u16();
    (status, r.json().await.expect("json"))
}
