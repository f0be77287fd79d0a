//! The emulator's shared state: the database, the clock, the configuration, the scenario,
//! the catalogue and the worker's wake-up. Every layer may use it; it imports nothing above
//! the core (no face, no router, no worker).

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{Mutex, Notify};

use crate::clock::Clock;
use crate::config::Config;
use crate::domain::catalogue::Catalogue;
use crate::domain::scenario::{ScenarioHead, ScenarioInfo, ScenarioSource};
use crate::readcache::Memo;
use crate::secrets::{self, Hasher};
use crate::store::{self, Db};

/// Everything a request handler or the worker needs; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub db: Db,
    pub clock: Clock,
    pub config: Config,
    pub hasher: Hasher,
    pub scenario: ScenarioInfo,
    /// The product catalogue (reference data).
    pub catalogue: Catalogue,
    /// Wakes the worker when a job is submitted or the clock moves.
    pub wake: Notify,
    /// Serialises job execution between the worker loop and `/_emu/tasks/run`.
    pub worker_lock: Mutex<()>,
    /// Outgoing HTTP (login webhooks, post-install callbacks).
    pub http: reqwest::Client,
    /// Serialises login attempts per key or user and PIN checks per account.
    pub gate: crate::gate::Gate,
    /// Sessions with their accounts by token digest, for the current auth generation (see
    /// `store::Db::auth_generation`).
    pub sessions: Memo<String, store::sessions::SessionAccount>,
    /// Whole answers of pure actions by a digest of what they depend on, for the current
    /// write generation.
    pub answers: Memo<[u8; 32], bytes::Bytes>,
    /// Server rows by id, for the current servers generation (see
    /// `store::Db::generation_of`): what every action on one server checks first.
    pub servers: Memo<i64, store::servers::Server>,
    /// The bytes of S3 objects (beside the database file, or in memory).
    pub s3_blobs: store::s3_blobs::Blobs,
    /// What S3 secret keys are derived from (see `ops::s3`).
    pub s3_master: secrets::S3MasterKey,
    /// Injected faults (`/_emu/faults`).
    pub faults: crate::faults::Faults,
    /// Requests answered and webhooks sent (`/_emu/requests`).
    pub journal: crate::journal::Journal,
    /// Counters and histograms for `/_emu/metrics`.
    pub metrics: crate::metrics::Metrics,
    /// Named snapshots of the whole state (`/_emu/snapshots`).
    pub snapshots: store::backup::Shelf,
    /// The local CA's certificate (PEM) once the HTTPS listener serves with it, for
    /// `GET /_emu/ca.pem`.
    pub tls_ca: std::sync::OnceLock<String>,
    /// The `/tmp/` files `v-make-tmp-file` wrote in Hestia panels (memory only, bounded).
    pub hestia_tmp: crate::domain::hestia::TmpFiles,
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Scenario(String),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("{0}")]
    Load(#[from] crate::error::Error),
}

impl AppState {
    /// Opens the database, loads the scenario into it if it is empty, restores the clock.
    pub async fn new(config: Config) -> Result<AppState, StartError> {
        // The scenario is parsed once: for the banner's summary, the load and its faults.
        let source = ScenarioSource::read(&config.scenario).map_err(StartError::Scenario)?;
        let mut sc = source.parse().map_err(StartError::Scenario)?;
        let head = ScenarioHead::of(&sc);
        let catalogue = Catalogue::builtin().map_err(StartError::Scenario)?;
        let db = store::open_with(&config.db, config.sync).await?;
        let offset = store::meta_get(&db, "clock_offset_ms")
            .await?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let clock = Clock::with_offset(offset);
        let hasher = Hasher::new(config.argon2_memory_kib);
        if store::is_empty(&db).await? {
            let loading = std::time::Instant::now();
            let generated = source.generated();
            match store::scenario::load_text(&sc, generated, &db, &hasher, clock.now()).await {
                Err(crate::error::Error::Invalid(why)) => return Err(StartError::Scenario(why)),
                r => r?,
            }
            tracing::info!(
                scenario = %sc.name,
                servers = sc.servers.len() + generated.unwrap_or(0) as usize,
                loaded_ms = loading.elapsed().as_millis(),
                "loaded scenario into an empty database"
            );
        } else {
            // Not loaded, but a broken scenario is reported now rather than at a reset.
            sc.check().map_err(StartError::Scenario)?;
        }
        // Rules from the scenario, then from `--faults`; their shape is checked here, their
        // module and action names by the control plane when rules are posted.
        let any = |_: &str, _: Option<&str>| true;
        let mut rules =
            crate::faults::from_scenario(sc.faults.take(), &any).map_err(StartError::Scenario)?;
        drop(sc);
        let scenario = source.into_info(head);
        if let Some(path) = &config.faults {
            rules.extend(crate::faults::read_file(path, &any).map_err(StartError::Scenario)?);
        }
        let faults = crate::faults::Faults::new(rules, clock.now());
        let journal = crate::journal::Journal::new(config.journal_size);
        let config_db = config.db.clone();
        let s3_master = secrets::S3MasterKey::for_db(&config_db)
            .map_err(|e| StartError::Scenario(format!("S3 master key: {e}")))?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| StartError::Scenario(format!("http client: {e}")))?;
        Ok(AppState(Arc::new(Inner {
            db,
            clock,
            config,
            hasher,
            scenario,
            catalogue,
            wake: Notify::new(),
            worker_lock: Mutex::new(()),
            http,
            gate: Default::default(),
            sessions: Memo::new(4096, 8 << 20),
            answers: Memo::new(4096, 16 << 20),
            servers: Memo::new(16_384, 16 << 20),
            s3_blobs: store::s3_blobs::Blobs::for_db(&config_db),
            s3_master,
            faults,
            journal,
            metrics: crate::metrics::Metrics::new(),
            snapshots: store::backup::Shelf::for_db(&config_db),
            tls_ca: std::sync::OnceLock::new(),
            hestia_tmp: Default::default(),
        })))
    }
}

impl AppState {
    /// POSTs a JSON notice in the background (login notices, post-install callbacks);
    /// failures are logged, never retried forever. The log names the URL without its query
    /// or credentials, which customers use for secrets.
    pub fn send_webhook(&self, url: String, body: Value) {
        let state = self.clone();
        tokio::spawn(async move {
            let shown = secrets::loggable_url(&url);
            let started = std::time::Instant::now();
            let time = state.clock.now();
            let (status, answer) = match state.http.post(&url).json(&body).send().await {
                Ok(r) => {
                    let status = r.status();
                    if status.is_success() {
                        tracing::debug!(url = %shown, "webhook delivered")
                    } else {
                        tracing::warn!(url = %shown, status = %status, "webhook refused")
                    }
                    (status.as_u16(), r.bytes().await.unwrap_or_default())
                }
                Err(e) => {
                    tracing::warn!(url = %shown, error = %e.without_url(), "webhook failed");
                    (0, bytes::Bytes::new())
                }
            };
            state.journal_webhook(time, shown, &body, status, &answer, started);
        });
    }

    /// Records a webhook the emulator sent in the journal (face `webhook`; its body's
    /// fields, secrets masked).
    fn journal_webhook(
        &self,
        time: i64,
        url: String,
        body: &Value,
        status: u16,
        answer: &[u8],
        started: std::time::Instant,
    ) {
        let fields: serde_json::Map<String, Value> = match body {
            Value::Object(o) => o
                .iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) => crate::journal::masked(k, s),
                        _ if crate::journal::is_secret(k) => crate::journal::MASK.into(),
                        other => other.clone(),
                    };
                    (k.clone(), v)
                })
                .collect(),
            _ => Default::default(),
        };
        let action = body
            .get("action")
            .or_else(|| body.get("event"))
            .and_then(Value::as_str)
            .unwrap_or("notice")
            .to_owned();
        let server = body.get("id").and_then(|v| match v {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        });
        let (answer, answer_truncated) = crate::journal::kept_answer(answer);
        self.journal.record(crate::journal::Entry {
            seq: 0,
            time,
            face: "webhook",
            client: "emulator".into(),
            module: "webhook".into(),
            action: action.into(),
            server,
            account: None,
            url: Some(url),
            fields: crate::journal::Entry::fields_of(&fields),
            status,
            answer: answer.into(),
            answer_truncated,
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
            fault: None,
        });
    }
}
