//! Embedding the emulator in Rust tests: start it on a free loopback port, get its base URL,
//! drive its control plane, and let it stop when the handle goes away.
//!
//! ```no_run
//! # async fn demo() -> Result<(), hostkey_emu::embed::EmbedError> {
//! let emu = hostkey_emu::Emulator::builder()
//!     .scenario("demo")
//!     .task_speed("instant")
//!     .start()
//!     .await?;
//! let login = reqwest::Client::new()
//!     .post(format!("{}auth.php", emu.base_url()))
//!     .form(&[("action", "login"), ("key", "deadbeef00000001-0123456789abcdef")])
//!     .send()
//!     .await?;
//! assert!(login.status().is_success());
//! emu.advance_clock(3600).await?;
//! emu.run_tasks().await?;
//! emu.reset().await?;
//! # Ok(()) }
//! ```
//!
//! The handle's helpers call the control plane over HTTP, as any client would; anything
//! else under `/_emu/` (snapshots, worlds, ...) is reachable with [`Emulator::control`].

use serde_json::Value;
use tokio::sync::oneshot;

use crate::config::Config;
use crate::state::AppState;

/// How to start an [`Emulator`].
pub struct Builder {
    config: Config,
}

/// A running emulator; it shuts down when dropped (or, awaited, with [`Emulator::stop`]).
pub struct Emulator {
    base: String,
    client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// Why the emulator did not start or a control call failed.
pub type EmbedError = Box<dyn std::error::Error + Send + Sync>;

impl Emulator {
    /// A builder: in-memory database, the demo scenario, realistic task durations, cheap
    /// hashing, no billing cycle (as [`Config::for_tests`]).
    pub fn builder() -> Builder {
        let mut config = Config::for_tests();
        config.argon2_memory_kib = 1024;
        Builder { config }
    }

    /// The base URL, ending in `/` (`http://127.0.0.1:PORT/`): modules are `<base>eq.php`.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Calls a control-plane route (`POST`, `path` such as `_emu/reset`) with an optional
    /// JSON body and returns its JSON answer; an error status is an error.
    pub async fn control(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, EmbedError> {
        let mut req = self.client.request(
            method,
            format!("{}{}", self.base, path.trim_start_matches('/')),
        );
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await?;
        let status = r.status();
        let v: Value = r.json().await?;
        if !status.is_success() {
            return Err(format!("{path}: HTTP {status}: {v}").into());
        }
        Ok(v)
    }

    /// Back to the scenario's initial state (`POST /_emu/reset`).
    pub async fn reset(&self) -> Result<(), EmbedError> {
        self.control(reqwest::Method::POST, "_emu/reset", None)
            .await
            .map(drop)
    }

    /// Moves the emulator's clock forward (`POST /_emu/clock/advance`).
    pub async fn advance_clock(&self, seconds: u64) -> Result<(), EmbedError> {
        let path = format!("_emu/clock/advance?seconds={seconds}");
        self.control(reqwest::Method::POST, &path, None)
            .await
            .map(drop)
    }

    /// Runs every task that is due now; answers how many ran (`POST /_emu/tasks/run`).
    pub async fn run_tasks(&self) -> Result<u64, EmbedError> {
        let v = self
            .control(reqwest::Method::POST, "_emu/tasks/run", None)
            .await?;
        Ok(v["ran"].as_u64().unwrap_or(0))
    }

    /// Saves the whole state as `name` (`POST /_emu/snapshots`).
    pub async fn snapshot(&self, name: &str) -> Result<(), EmbedError> {
        let body = serde_json::json!({ "name": name });
        self.control(reqwest::Method::POST, "_emu/snapshots", Some(body))
            .await
            .map(drop)
    }

    /// Brings snapshot `name` back (`POST /_emu/snapshots/{name}/restore`).
    pub async fn restore(&self, name: &str) -> Result<(), EmbedError> {
        let path = format!("_emu/snapshots/{name}/restore");
        self.control(reqwest::Method::POST, &path, None)
            .await
            .map(drop)
    }

    /// Stops the server gracefully and waits until it has.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        // The server task finishes its in-flight requests and stops on its own.
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

impl Builder {
    /// The scenario: `demo`, or a path to a scenario file.
    pub fn scenario(mut self, scenario: impl Into<String>) -> Self {
        self.config.scenario = scenario.into();
        self
    }

    /// `instant`, or a speed-up factor such as `"60"`; an invalid value is reported by
    /// [`Builder::start`].
    pub fn task_speed(mut self, speed: &str) -> Self {
        match speed.parse() {
            Ok(s) => self.config.task_speed = s,
            Err(e) => self.config.scenario = format!("\0invalid task speed: {e}"),
        }
        self
    }

    /// Any other option of the configuration (the database, limits, the billing cycle).
    pub fn configure(mut self, f: impl FnOnce(&mut Config)) -> Self {
        f(&mut self.config);
        self
    }

    /// Starts the emulator on `127.0.0.1` at a free port (without the DNS server and the
    /// S3 endpoint).
    pub async fn start(self) -> Result<Emulator, EmbedError> {
        if let Some(why) = self.config.scenario.strip_prefix('\0') {
            return Err(why.to_owned().into());
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = AppState::new(self.config).await?;
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(crate::app::serve(listener, state, async {
            let _ = rx.await;
        }));
        Ok(Emulator {
            base: format!("http://{addr}/"),
            client: reqwest::Client::new(),
            stop: Some(tx),
            server: Some(server),
        })
    }
}
