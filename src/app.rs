//! Application state, the router, and `serve`: the app binds nothing itself, so tests hand it
//! a listener on port 0 and a shutdown future.

use std::future::Future;
use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::{Mutex, Notify};

use crate::clock::Clock;
use crate::config::Config;
use crate::domain::catalogue::Catalogue;
use crate::secrets::Hasher;
use crate::seed::Scenario;
use crate::store::{self, Db};

/// Everything a request handler or the worker needs; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub db: Db,
    pub clock: Clock,
    pub config: Config,
    pub hasher: Hasher,
    pub scenario: Scenario,
    /// The product catalogue (reference data).
    pub catalogue: Catalogue,
    /// Wakes the worker when a job is submitted or the clock moves.
    pub wake: Notify,
    /// Serialises job execution between the worker loop and `/_emu/tasks/run`.
    pub worker_lock: Mutex<()>,
    /// Outgoing HTTP (login webhooks, post-install callbacks).
    pub http: reqwest::Client,
    /// Serialises login attempts per key or user (throttling).
    pub login_gate: crate::ops::sessions::LoginGate,
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
        let scenario = Scenario::resolve(&config.scenario).map_err(StartError::Scenario)?;
        let catalogue = Catalogue::builtin().map_err(StartError::Scenario)?;
        let db = store::open(&config.db).await?;
        let offset = store::meta_get(&db, "clock_offset_ms")
            .await?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let clock = Clock::with_offset(offset);
        let hasher = Hasher::new(config.argon2_memory_kib);
        if store::is_empty(&db).await? {
            scenario.load(&db, &hasher, clock.now()).await?;
            tracing::info!(scenario = %scenario.name, "loaded scenario into an empty database");
        }
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
            login_gate: Default::default(),
        })))
    }
}

/// The whole HTTP surface: the InvAPI modules and the `/_emu/` control plane.
pub fn router(state: AppState) -> Router {
    let timeout = Duration::from_secs(state.config.request_timeout.max(1));
    crate::invapi::routes()
        .merge(crate::control::routes())
        .fallback(crate::invapi::unknown_module)
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            crate::invapi::panic_response,
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// Serves until `shutdown` resolves, then finishes in-flight requests and stops the worker
/// (queued jobs stay in the database for the next start).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(crate::tasks::worker(state.clone(), stop_rx));
    let app = router(state);
    let result = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    let _ = stop_tx.send(true);
    let _ = worker.await;
    result
}
