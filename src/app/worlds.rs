//! Isolated worlds (`/_emu/worlds`): independent emulators in the one process, each with
//! its own in-memory database, clock, task queue and worker, memos, snapshots (its own
//! `AppState`), answering under `/w/{id}/`: every `*.php` module and every `/_emu/` route
//! of the default world works under that prefix. The default world stays at `/`.
//!
//! Parallel test jobs each take a world, so they see nothing of each other; deleting a
//! world stops its worker and frees its database. The number of worlds is bounded
//! (`--max-worlds`). The DNS server and the S3 endpoint serve the default world only.
//! `/_emu/metrics` counts the live worlds (`hostkey_emu_worlds`); the world routes are in
//! the control plane's OpenAPI document ([`openapi`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, get};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::watch;
use tower::ServiceExt;

use crate::config::{Config, TaskSpeed};
use crate::state::AppState;

/// The worlds of one server.
pub struct Worlds {
    /// The default world's configuration, which a new world starts from.
    template: Config,
    max: usize,
    next: AtomicU64,
    /// Worlds made or being made (a slot is taken before the slow part of making one).
    taken: AtomicUsize,
    map: Mutex<HashMap<String, Arc<World>>>,
    /// The default world's `worlds` gauge (`/_emu/metrics`): up by one per world made, down
    /// by one per world deleted (the HTTPS listener's router has worlds of its own, counted
    /// in the same gauge).
    live: prometheus_client::metrics::gauge::Gauge,
}

/// One world: its state, its router and its worker.
pub struct World {
    pub id: String,
    pub state: AppState,
    router: Router,
    stop: watch::Sender<bool>,
    worker: Mutex<Option<tokio::task::JoinHandle<()>>>,
    task_speed: String,
}

impl Drop for World {
    fn drop(&mut self) {
        // The worker ends at its next turn (also when the server itself goes away).
        let _ = self.stop.send(true);
    }
}

/// How a new world is made: `POST /_emu/worlds` `{"scenario": "demo", "task_speed": "instant"}`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWorld {
    /// A scenario as `--scenario` takes it (the default world's when absent).
    #[schema(example = "demo")]
    pub scenario: Option<String>,
    /// `instant` or a factor (a number or a string), as `--task-speed`.
    #[schema(example = "instant")]
    pub task_speed: Option<Value>,
}

/// A world as the world routes show it.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct WorldInfo {
    id: String,
    /// Where the world answers: `http://HOST:PORT/w/{id}/`.
    base_url: String,
    scenario: String,
    /// `instant` or a factor.
    task_speed: String,
    /// The world's clock (Unix seconds).
    now: i64,
}

/// `POST /_emu/worlds`, `GET /_emu/worlds/{id}`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct WorldCreated {
    #[schema(example = "ok")]
    status: String,
    world: WorldInfo,
}

/// `GET /_emu/worlds`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct WorldList {
    #[schema(example = "ok")]
    status: String,
    /// The most worlds at once (`--max-worlds`).
    max: u64,
    worlds: Vec<WorldInfo>,
}

/// `DELETE /_emu/worlds/{id}`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct WorldDeleted {
    #[schema(example = "ok")]
    status: String,
    deleted: String,
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(create, list, show, remove))]
struct WorldsDoc;

/// The world routes' part of the control plane's OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi;
    WorldsDoc::openapi()
}

/// Why a world was not made.
#[derive(Debug)]
pub enum WorldError {
    Invalid(String),
    Full(usize),
    Internal(String),
}

impl Worlds {
    /// The worlds of a server whose default world has `state`.
    pub fn new(state: &AppState) -> Arc<Worlds> {
        Arc::new(Worlds {
            template: state.config.clone(),
            max: state.config.max_worlds,
            next: AtomicU64::new(1),
            taken: AtomicUsize::new(0),
            map: Mutex::new(HashMap::new()),
            live: state.metrics.worlds_gauge(),
        })
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<World>>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A world by id.
    pub fn get(&self, id: &str) -> Option<Arc<World>> {
        self.map().get(id).cloned()
    }

    /// The worlds, oldest first.
    pub fn list(&self) -> Vec<Arc<World>> {
        let mut all: Vec<_> = self.map().values().cloned().collect();
        all.sort_by_key(|w| w.id.parse::<u64>().unwrap_or(u64::MAX));
        all
    }

    /// Makes a world: its state (the scenario loaded into a fresh in-memory database), its
    /// router and its worker.
    pub async fn create(&self, req: NewWorld) -> Result<Arc<World>, WorldError> {
        let mut config = self.template.clone();
        config.db = ":memory:".into();
        if let Some(s) = req.scenario {
            config.scenario = s;
        }
        let speed = match &req.task_speed {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(_) => {
                return Err(WorldError::Invalid(
                    "task_speed must be `instant` or a positive number".into(),
                ))
            }
        };
        if let Some(s) = &speed {
            config.task_speed = s.parse::<TaskSpeed>().map_err(WorldError::Invalid)?;
        }
        if self.taken.fetch_add(1, Ordering::AcqRel) >= self.max {
            self.taken.fetch_sub(1, Ordering::AcqRel);
            return Err(WorldError::Full(self.max));
        }
        // Made on a blocking thread: the loader's future is not `Send` (sqlx's executor
        // traits over borrowed scenario text), so a handler cannot hold it.
        let runtime = tokio::runtime::Handle::current();
        let made = tokio::task::spawn_blocking(move || runtime.block_on(AppState::new(config)))
            .await
            .map_err(|e| WorldError::Internal(e.to_string()));
        let made = match made {
            Ok(m) => m,
            Err(e) => {
                self.taken.fetch_sub(1, Ordering::AcqRel);
                return Err(e);
            }
        };
        let state = match made {
            Ok(s) => s,
            Err(e) => {
                self.taken.fetch_sub(1, Ordering::AcqRel);
                return Err(match e {
                    crate::state::StartError::Scenario(why) => WorldError::Invalid(why),
                    crate::state::StartError::Load(crate::error::Error::Invalid(why)) => {
                        WorldError::Invalid(why)
                    }
                    other => WorldError::Internal(other.to_string()),
                });
            }
        };
        let id = self.next.fetch_add(1, Ordering::AcqRel).to_string();
        let (stop, stop_rx) = watch::channel(false);
        let worker_state = state.clone();
        let worker = tokio::spawn(super::supervise(
            stop_rx,
            super::WORKER_RESTART_PAUSE,
            move |stop| crate::tasks::worker(worker_state.clone(), stop),
        ));
        let task_speed = match state.config.task_speed {
            TaskSpeed::Instant => "instant".to_owned(),
            TaskSpeed::Factor(f) => f.to_string(),
        };
        let world = Arc::new(World {
            id: id.clone(),
            router: super::world_router(state.clone()),
            state,
            stop,
            worker: Mutex::new(Some(worker)),
            task_speed,
        });
        self.map().insert(id, world.clone());
        self.live.inc();
        tracing::info!(world = %world.id, scenario = %world.state.scenario.name, "world created");
        Ok(world)
    }

    /// Removes a world: its worker is stopped (and awaited), its database closed.
    pub async fn remove(&self, id: &str) -> bool {
        let Some(world) = self.map().remove(id) else {
            return false;
        };
        self.live.dec();
        self.taken.fetch_sub(1, Ordering::AcqRel);
        let _ = world.stop.send(true);
        let worker = world
            .worker
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(worker) = worker {
            let _ = worker.await;
        }
        world.state.db.close().await;
        tracing::info!(world = %id, "world deleted");
        true
    }
}

fn error(status: StatusCode, reason: impl Into<String>) -> Response {
    (
        status,
        Json(json!({"status": "error", "error": reason.into()})),
    )
        .into_response()
}

/// The routes of the worlds: `/_emu/worlds` (behind the admin token, when one is set) and
/// the `/w/{id}/...` prefix.
pub fn routes(worlds: Arc<Worlds>, admin: Option<crate::config::AdminToken>) -> Router {
    Router::new()
        .route("/_emu/worlds", get(list).post(create))
        .route("/_emu/worlds/{id}", delete(remove).get(show))
        .route_layer(axum::middleware::from_fn_with_state(
            admin,
            crate::control::require_admin,
        ))
        .route("/w/{id}", any(forward))
        .route("/w/{id}/", any(forward))
        .route("/w/{id}/{*rest}", any(forward))
        .with_state(worlds)
}

/// The base URL of a world as the client reaches the server.
fn base_url(headers: &HeaderMap, id: &str) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}/w/{id}/")
}

fn world_json(w: &World, headers: &HeaderMap) -> Value {
    json!({
        "id": w.id, "base_url": base_url(headers, &w.id), "scenario": w.state.scenario.name,
        "task_speed": w.task_speed, "now": w.state.clock.now(),
    })
}

/// POST /_emu/worlds
#[utoipa::path(post, path = "/_emu/worlds", tag = "worlds", operation_id = "create_world",
    summary = "Create an isolated world",
    description = "Its own in-memory database (the scenario loaded), clock, task queue and \
        worker, answering under its base URL /w/{id}/ (every *.php module and /_emu/ route).",
    request_body(content = NewWorld, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = WorldCreated),
        (status = 400, description = "Not JSON, an unknown field, a bad scenario or task_speed", body = crate::control::docs::ControlError),
        (status = 409, description = "As many worlds as --max-worlds allows", body = crate::control::docs::ControlError),
    ))]
async fn create(State(worlds): State<Arc<Worlds>>, headers: HeaderMap, body: Bytes) -> Response {
    let text: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        &body
    };
    let req: NewWorld = match serde_json::from_slice(text) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("invalid JSON body: {e}")),
    };
    match worlds.create(req).await {
        Ok(w) => (
            StatusCode::CREATED,
            Json(json!({"status": "ok", "world": world_json(&w, &headers)})),
        )
            .into_response(),
        Err(WorldError::Invalid(why)) => error(StatusCode::BAD_REQUEST, why),
        Err(WorldError::Full(max)) => error(
            StatusCode::CONFLICT,
            format!("at most {max} worlds (--max-worlds); delete one first"),
        ),
        Err(WorldError::Internal(why)) => {
            tracing::error!(error = %why, "world not created");
            error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

/// GET /_emu/worlds
#[utoipa::path(get, path = "/_emu/worlds", tag = "worlds", operation_id = "list_worlds",
    summary = "The worlds, oldest first",
    responses((status = 200, description = "Every world", body = WorldList)))]
async fn list(State(worlds): State<Arc<Worlds>>, headers: HeaderMap) -> Response {
    let all: Vec<Value> = worlds
        .list()
        .iter()
        .map(|w| world_json(w, &headers))
        .collect();
    Json(json!({"status": "ok", "max": worlds.max, "worlds": all})).into_response()
}

fn unknown(id: &str) -> Response {
    let id: String = id.chars().take(40).collect();
    error(StatusCode::NOT_FOUND, format!("world {id} not found"))
}

/// GET /_emu/worlds/{id}
#[utoipa::path(get, path = "/_emu/worlds/{id}", tag = "worlds", operation_id = "show_world",
    summary = "One world",
    params(("id" = String, Path, description = "The world's id")),
    responses(
        (status = 200, description = "The world", body = WorldCreated),
        (status = 404, description = "No such world", body = crate::control::docs::ControlError),
    ))]
async fn show(
    State(worlds): State<Arc<Worlds>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    match worlds.get(&id) {
        Some(w) => Json(json!({"status": "ok", "world": world_json(&w, &headers)})).into_response(),
        None => unknown(&id),
    }
}

/// DELETE /_emu/worlds/{id}
#[utoipa::path(delete, path = "/_emu/worlds/{id}", tag = "worlds", operation_id = "delete_world",
    summary = "Delete a world",
    description = "Its worker stops and its database is freed.",
    params(("id" = String, Path, description = "The world's id")),
    responses(
        (status = 200, description = "Deleted", body = WorldDeleted),
        (status = 404, description = "No such world", body = crate::control::docs::ControlError),
    ))]
async fn remove(State(worlds): State<Arc<Worlds>>, Path(id): Path<String>) -> Response {
    if worlds.remove(&id).await {
        Json(json!({"status": "ok", "deleted": id})).into_response()
    } else {
        unknown(&id)
    }
}

/// `/w/{id}/<rest>`: the request, without the prefix, to the world's own router.
async fn forward(State(worlds): State<Arc<Worlds>>, mut req: Request) -> Response {
    let path = req.uri().path();
    let tail = path.strip_prefix("/w/").unwrap_or("");
    let (id, rest) = tail.split_once('/').unwrap_or((tail, ""));
    let Some(world) = worlds.get(id) else {
        return unknown(id);
    };
    let target = match req.uri().query() {
        Some(q) => format!("/{rest}?{q}"),
        None => format!("/{rest}"),
    };
    match target.parse::<Uri>() {
        Ok(uri) => *req.uri_mut() = uri,
        Err(_) => return error(StatusCode::BAD_REQUEST, "invalid path"),
    }
    match world.router.clone().oneshot(req).await {
        Ok(r) => r,
        Err(never) => match never {},
    }
}
