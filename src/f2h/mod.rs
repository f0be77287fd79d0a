//! The F2HCloud face (issue 17): the scoped-key REST API of F2HCloud's NOC on a listener
//! of its own (`--f2h-listen`, port 8000 as the provider's page shows), over the same
//! accounts, servers, power state, installs, IPMI and address blocks as the InvAPI.
//!
//! No OpenAPI document of F2HCloud is public, so the face behaves as a FastAPI service
//! with an `APIKeyHeader("X-API-Key")` does: every answer is JSON, every error is
//! `{"detail": ...}`, and a request is checked in this order: the header (401 `Not
//! authenticated` with `WWW-Authenticate: APIKey`), the key (401 `Invalid API key`), the
//! caller's address against the key's allow-list (403), the capability (403 naming it),
//! the server (403, the same answer whether or not the server exists), then the input
//! (422 in FastAPI's list shape) and the state (409).

mod antihack;
pub mod docs;

use std::net::SocketAddr;

use axum::extract::rejection::PathRejection;
use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use tracing::Span;

use crate::error::Error;
use crate::ops::callbacks::Progress;
use crate::ops::f2h::{self as keys, Authorized, Refused};
use crate::ops::pxe::BootMedia;
use crate::sim::power::PowerOp;
use crate::state::AppState;
use crate::store::{self, servers::Server};

/// The face's router: everything under `/api`, plus `/docs` (Swagger UI).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/servers", get(list_servers))
        .route("/api/servers/{hostname}", get(server_details))
        .route("/api/servers/{hostname}/reboot", post(reboot))
        .route("/api/servers/{hostname}/rescue/exit", post(rescue_exit))
        .route("/api/servers/{hostname}/install", get(install_status))
        .route("/api/servers/{hostname}/ipmi", get(ipmi_status))
        .route("/api/servers/{hostname}/antihack", get(antihack::status))
        .route(
            "/api/servers/{hostname}/antihack/unban",
            post(antihack::unban),
        )
        .route(
            "/api/servers/{hostname}/antihack/us-unblock",
            post(antihack::us_unblock),
        )
        .route(
            "/api/servers/{hostname}/antispam",
            get(antihack::antispam_status),
        )
        .route(
            "/api/servers/{hostname}/antispam/unblock",
            post(antihack::antispam_unblock),
        )
        .route("/api/tasks/{id}", get(task))
        .route("/api/keys/self", get(key_self))
        .merge(docs::routes())
        .method_not_allowed_fallback(|| async {
            detail(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
        })
        .fallback(|| async { detail(StatusCode::NOT_FOUND, "Not Found") })
        .layer(axum::middleware::from_fn(head_limits))
        .layer(axum::middleware::from_fn_with_state(
            std::time::Duration::from_secs(state.config.request_timeout.max(1)),
            time_limit,
        ))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send + 'static>| {
                tracing::error!("F2HCloud face panicked");
                detail(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
            },
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(state)
}

/// The emulator's limits on the request target and header section, answered FastAPI's way.
async fn head_limits(req: Request, next: axum::middleware::Next) -> Response {
    let r = crate::http::limits::head_limits(req, next).await;
    match r.status() {
        StatusCode::URI_TOO_LONG => detail(StatusCode::URI_TOO_LONG, "Request-URI Too Long"),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => detail(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "Request Header Fields Too Large",
        ),
        _ => r,
    }
}

/// A request that outlives the request timeout: 408 with a `detail`.
async fn time_limit(
    State(limit): State<std::time::Duration>,
    req: Request,
    next: axum::middleware::Next,
) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(r) => r,
        Err(_) => detail(StatusCode::REQUEST_TIMEOUT, "Request timed out"),
    }
}

/// The span of a request: method and route pattern only (never the header carrying the
/// key, nor the raw path).
fn request_span(req: &Request) -> Span {
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("(unmatched)", |p| p.as_str());
    tracing::debug_span!("f2h", method = %req.method(), path = %path)
}

/// FastAPI's error answer: `{"detail": "..."}`.
pub(crate) fn detail(status: StatusCode, text: &str) -> Response {
    (status, Json(json!({ "detail": text }))).into_response()
}

/// A refusal or failure, rendered the FastAPI way.
#[derive(Debug)]
pub(crate) enum Problem {
    NotAuthenticated,
    InvalidKey,
    OutsideAllowList,
    MissingCapability(&'static str),
    OutOfScope,
    /// FastAPI's 422: a list of `{type, loc, msg, input}`.
    Validation(Vec<Value>),
    Status(StatusCode, String),
    Core(Error),
}

impl From<Error> for Problem {
    fn from(e: Error) -> Self {
        Problem::Core(e)
    }
}

impl From<sqlx::Error> for Problem {
    fn from(e: sqlx::Error) -> Self {
        Problem::Core(e.into())
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        match self {
            Problem::NotAuthenticated => {
                let mut r = detail(StatusCode::UNAUTHORIZED, "Not authenticated");
                r.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("APIKey"));
                r
            }
            Problem::InvalidKey => detail(StatusCode::UNAUTHORIZED, "Invalid API key"),
            Problem::OutsideAllowList => detail(
                StatusCode::FORBIDDEN,
                "Client address is not in this API key's CIDR allowlist",
            ),
            Problem::MissingCapability(c) => detail(
                StatusCode::FORBIDDEN,
                &format!("API key lacks the '{c}' capability"),
            ),
            Problem::OutOfScope => detail(
                StatusCode::FORBIDDEN,
                "Server is not in this API key's scope",
            ),
            Problem::Validation(errors) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(json!({ "detail": errors })),
            )
                .into_response(),
            Problem::Status(status, text) => detail(status, &text),
            Problem::Core(e) => core_error(e),
        }
    }
}

/// The core's errors in HTTP terms: refusals of the state are conflicts (409).
fn core_error(e: Error) -> Response {
    let status = match &e {
        Error::Internal(why) => {
            tracing::error!(error = %why, "F2HCloud face: internal error");
            return detail(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
        }
        Error::Invalid(_) => StatusCode::BAD_REQUEST,
        Error::NotFound(_) => StatusCode::NOT_FOUND,
        Error::InvalidToken | Error::InvalidApiKey(_) => StatusCode::UNAUTHORIZED,
        Error::UnknownAction(_) => StatusCode::NOT_FOUND,
        _ => StatusCode::CONFLICT,
    };
    detail(status, &e.to_string())
}

/// One entry of a 422 answer.
pub(crate) fn invalid(kind: &str, loc: Value, msg: &str, input: Value) -> Value {
    json!({"type": kind, "loc": loc, "msg": msg, "input": input})
}

/// The caller, let in by its `X-API-Key` (the allow-list checked too).
pub(crate) struct Key(pub Authorized);

impl FromRequestParts<AppState> for Key {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let presented = match parts.headers.get("x-api-key") {
            None => None,
            // A header that is not text is no key that could match.
            Some(v) => Some(v.to_str().map_err(|_| Problem::InvalidKey)?),
        };
        let caller = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(std::net::IpAddr::from([127, 0, 0, 1]), |c| c.0.ip());
        match keys::authorize(state, presented, caller).await {
            Ok(auth) => Ok(Key(auth)),
            Err(Refused::Missing) => Err(Problem::NotAuthenticated),
            Err(Refused::Invalid) => Err(Problem::InvalidKey),
            Err(Refused::OutsideAllowList) => Err(Problem::OutsideAllowList),
            Err(Refused::Failed(e)) => Err(Problem::Core(e)),
        }
    }
}

impl Key {
    /// Refuses unless the key holds `capability`.
    pub(crate) fn need(&self, capability: &'static str) -> Result<(), Problem> {
        if self.0.can(capability) {
            Ok(())
        } else {
            Err(Problem::MissingCapability(capability))
        }
    }

    /// The key's server named by the path, after the capability check.
    pub(crate) async fn server(
        &self,
        state: &AppState,
        capability: &'static str,
        host: Result<Path<String>, PathRejection>,
    ) -> Result<Server, Problem> {
        self.need(capability)?;
        let Path(host) = host.map_err(|e| {
            Problem::Validation(vec![invalid(
                "string_type",
                json!(["path", "hostname"]),
                &e.body_text(),
                Value::Null,
            )])
        })?;
        keys::scoped_server(state, &self.0, &host)
            .await?
            .ok_or(Problem::OutOfScope)
    }
}

type Host = Result<Path<String>, PathRejection>;

/// The hostname of a server (its `hostname` tag; its id when it has none).
async fn hostname(state: &AppState, id: i64) -> Result<String, Problem> {
    Ok(store::f2h::hostnames(&state.db, &[id])
        .await?
        .pop()
        .map_or_else(|| id.to_string(), |(_, h)| h))
}

/// GET /api/servers: the key's servers.
#[utoipa::path(get, path = "/servers", operation_id = "list_servers", summary = "List Servers", responses((status = 200, description = "The key's servers"), (status = 401, description = "Not authenticated / Invalid API key", body = docs::HTTPError), (status = 403, description = "CIDR allowlist, capability or server scope", body = docs::HTTPError), (status = 422, description = "Validation error", body = docs::HTTPValidationError)))]
pub(crate) async fn list_servers(
    State(state): State<AppState>,
    key: Key,
) -> Result<Response, Problem> {
    key.need("server_details")?;
    let names = store::f2h::hostnames(&state.db, &key.0.servers).await?;
    let mut out = Vec::new();
    for id in &key.0.servers {
        let Some(s) = store::servers::get(&state.db, *id).await? else {
            continue;
        };
        if s.account_id != Some(key.0.key.account_id) {
            continue;
        }
        let host = names
            .iter()
            .find(|(i, _)| i == id)
            .map_or_else(|| id.to_string(), |(_, h)| h.clone());
        out.push(json!({
            "hostname": host,
            "id": s.id,
            "location": s.location,
            "status": s.status,
            "power": s.power,
        }));
    }
    Ok(Json(out).into_response())
}

/// Where the server boots from next: `install` while an install runs, `rescue` while it
/// boots the network (the InvAPI's PXE path), else `disk`.
async fn netboot(state: &AppState, id: i64) -> Result<&'static str, Problem> {
    if store::deploy::running_install(&state.db, id)
        .await?
        .is_some()
    {
        return Ok("install");
    }
    Ok(
        match store::deploy::boot_dev(&state.db, id).await?.as_str() {
            "pxe" => "rescue",
            _ => "disk",
        },
    )
}

/// Whether the customer can reach the server's BMC (bare metal with IPMI).
fn ipmi_available(s: &Server) -> bool {
    !s.is_vm() && s.control == "ipmi"
}

/// GET /api/servers/{hostname}: addresses, location, power, netboot mode, IPMI.
#[utoipa::path(get, path = "/servers/{hostname}", operation_id = "server_details", summary = "Server / Netboot Details", params(("hostname" = String, Path, description = "hostname")), responses((status = 200, description = "Addresses, location, power, netboot mode, IPMI"), (status = 401, description = "Not authenticated / Invalid API key", body = docs::HTTPError), (status = 403, description = "CIDR allowlist, capability or server scope", body = docs::HTTPError), (status = 422, description = "Validation error", body = docs::HTTPValidationError)))]
pub(crate) async fn server_details(
    State(state): State<AppState>,
    key: Key,
    host: Host,
) -> Result<Response, Problem> {
    let s = key.server(&state, "server_details", host).await?;
    let shown = crate::ops::servers::shown(&state, key.0.principal.scope(), s.id).await?;
    let addresses: Vec<Value> = shown
        .ips
        .iter()
        .map(|ip| {
            json!({
                "ip": ip.address,
                "main": ip.main_ip == 1,
                "blocked": ip.blocked_at.is_some(),
            })
        })
        .collect();
    Ok(Json(json!({
        "hostname": hostname(&state, s.id).await?,
        "id": s.id,
        "location": s.location,
        "datacenter": shown.server.dc_name,
        "type": s.r#type,
        "status": s.status,
        "power": s.power,
        "netboot": netboot(&state, s.id).await?,
        "ipmi_available": ipmi_available(&s),
        "addresses": addresses,
    }))
    .into_response())
}

/// POST /api/servers/{hostname}/reboot: queues the reboot; 202 with the task's id.
#[utoipa::path(post, path = "/servers/{hostname}/reboot", operation_id = "customer_reboot_server", summary = "Customer Reboot Server", params(("hostname" = String, Path, description = "hostname")), responses((status = 202, description = "Reboot queued, with the task id"), (status = 409, description = "State conflict", body = docs::HTTPError), (status = 401, description = "Not authenticated / Invalid API key", body = docs::HTTPError), (status = 403, description = "CIDR allowlist, capability or server scope", body = docs::HTTPError), (status = 422, description = "Validation error", body = docs::HTTPValidationError)))]
pub(crate) async fn reboot(
    State(state): State<AppState>,
    key: Key,
    host: Host,
) -> Result<Response, Problem> {
    let s = key.server(&state, "reboot", host).await?;
    let task = crate::ops::power::power(&state, &key.0.principal, &s, PowerOp::Reboot).await?;
    Ok(accepted(&task, &hostname(&state, s.id).await?, "reboot"))
}

fn accepted(task: &str, host: &str, action: &str) -> Response {
    (
        StatusCode::ACCEPTED,
        Json(json!({"task_id": task, "hostname": host, "action": action, "status": "queued"})),
    )
        .into_response()
}

/// POST /api/servers/{hostname}/rescue/exit: the server boots its disk again (409 when it is not
/// in rescue); 202 with the task's id.
#[utoipa::path(post, path = "/servers/{hostname}/rescue/exit", operation_id = "exit_rescue", summary = "Exit Rescue", params(("hostname" = String, Path, description = "hostname")), responses((status = 202, description = "Boot from disk queued, with the task id"), (status = 409, description = "Not in rescue, or an install runs", body = docs::HTTPError), (status = 401, description = "Not authenticated / Invalid API key", body = docs::HTTPError), (status = 403, description = "CIDR allowlist, capability or server scope", body = docs::HTTPError), (status = 422, description = "Validation error", body = docs::HTTPValidationError)))]
pub(crate) async fn rescue_exit(
    State(state): State<AppState>,
    key: Key,
    host: Host,
) -> Result<Response, Problem> {
    let s = key.server(&state, "rescue_exit", host).await?;
    match netboot(&state, s.id).await? {
        "rescue" => {}
        "install" => {
            return Err(Problem::Status(
                StatusCode::CONFLICT,
                "An install is running on this server".into(),
            ))
        }
        _ => {
            return Err(Problem::Status(
                StatusCode::CONFLICT,
                "Server is not in rescue mode".into(),
            ))
        }
    }
    let task = crate::ops::pxe::boot_dev(&state, &key.0.principal, &s, BootMedia::Disk).await?;
    Ok(accepted(
        &task,
        &hostname(&state, s.id).await?,
        "rescue_exit",
    ))
}

/// The install life cycle of a stage the installer reported (`installer::STAGES`).
fn stage_of(scope: Option<&str>) -> (&'static str, u32) {
    let n = scope
        .and_then(|s| s.trim().strip_prefix('('))
        .and_then(|s| s.chars().next())
        .and_then(|c| c.to_digit(10))
        .unwrap_or(0);
    match n {
        0 | 1 => ("installing", 20),
        n => ("post_install", 20 * n.min(4) + 10),
    }
}

/// GET /api/servers/{hostname}/install: idle, queued, pxe, installing, post_install, done or
/// failed, with the InvAPI's stage text and a progress in percent.
#[utoipa::path(get, path = "/servers/{hostname}/install", operation_id = "install_status", summary = "Install Lifecycle Status", params(("hostname" = String, Path, description = "hostname")), responses((status = 200, description = "idle, queued, pxe, installing, post_install, done or failed"), (status = 401, description = "Not authenticated / Invalid API key", body = docs::HTTPError), (status = 403, description = "CIDR allowlist, capability or server scope", body = docs::HTTPError), (status = 422, description = "Validation error", body = docs::HTTPValidationError)))]
pub(crate) async fn install_status(
    State(state): State<AppState>,
    key: Key,
    host: Host,
) -> Result<Response, Problem> {
    let s = key.server(&state, "install_status", host).await?;
    let host = hostname(&state, s.id).await?;
    let Some(running) = store::deploy::running_install(&state.db, s.id).await? else {
        return Ok(
            Json(json!({"hostname": host, "state": "idle", "progress": 0, "stage": null}))
                .into_response(),
        );
    };
    let record = store::callbacks::get(&state.db, &running.callback_key).await?;
    let (phase, progress, stage) = match record.as_ref().map(|r| r.state.as_str()) {
        Some("stage") => {
            let scope = record.as_ref().and_then(|r| r.scope.as_deref());
            let (p, n) = stage_of(scope);
            (p, n, scope.map(|s| s.trim().to_owned()))
        }
        Some("ok") => ("done", 100, None),
        Some("fail") => ("failed", 100, None),
        _ if running.kind == "pxe" => ("pxe", 5, None),
        _ => ("queued", 0, None),
    };
    Ok(Json(json!({
        "hostname": host,
        "state": phase,
        "kind": running.kind,
        "progress": progress,
        "stage": stage,
        "started_at": crate::clock::format_datetime(running.started_at),
    }))
    .into_response())
}

/// GET /api/servers/{hostname}/ipmi: whether the BMC is there for the customer, and its model.
#[utoipa::path(get, path = "/servers/{hostname}/ipmi", operation_id = "ipmi_status", summary = "IPMI Status", params(("hostname" = String, Path, description = "hostname")), responses((status = 200, description = "Whether the BMC is available"), (status = 401, description = "Not authenticated / Invalid API key", body = docs::HTTPError), (status = 403, description = "CIDR allowlist, capability or server scope", body = docs::HTTPError), (status = 422, description = "Validation error", body = docs::HTTPValidationError)))]
pub(crate) async fn ipmi_status(
    State(state): State<AppState>,
    key: Key,
    host: Host,
) -> Result<Response, Problem> {
    let s = key.server(&state, "ipmi_status", host).await?;
    Ok(Json(json!({
        "hostname": hostname(&state, s.id).await?,
        "available": ipmi_available(&s),
        "model": if ipmi_available(&s) { Some(s.ipmi_model.clone()) } else { None },
        "power": s.power,
        "reason": if s.is_vm() { Some("virtual machine") } else if s.control != "ipmi" { Some("no remote control") } else { None },
    }))
    .into_response())
}

/// GET /api/tasks/{id}: a task this key's servers had (404 for any other, so that tasks of
/// others are not revealed).
#[utoipa::path(get, path = "/tasks/{id}", operation_id = "get_task", summary = "Task Status", params(("id" = String, Path, description = "task id")), responses((status = 200, description = "queued, running, done or failed"), (status = 404, description = "No such task of this key", body = docs::HTTPError), (status = 401, description = "Not authenticated / Invalid API key", body = docs::HTTPError), (status = 403, description = "CIDR allowlist, capability or server scope", body = docs::HTTPError), (status = 422, description = "Validation error", body = docs::HTTPValidationError)))]
pub(crate) async fn task(
    State(state): State<AppState>,
    key: Key,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, Problem> {
    key.need("reboot")?;
    let not_found = || Problem::Status(StatusCode::NOT_FOUND, "Task not found".into());
    let Ok(Path(id)) = id else {
        return Err(not_found());
    };
    if !crate::secrets::is_hex32(&id) {
        return Err(not_found());
    }
    let record = store::callbacks::get(&state.db, &id)
        .await?
        .filter(|r| {
            r.account_id == Some(key.0.key.account_id) && key.0.servers.contains(&r.server_id)
        })
        .ok_or_else(not_found)?;
    let progress = crate::ops::callbacks::check(&state, &record.module, &id)
        .await?
        .ok_or_else(not_found)?;
    let (status, message) = match progress {
        Progress::Pending => ("queued", None),
        Progress::Stage { scope, .. } => ("running", scope),
        Progress::Done { ok, scope, .. } => (if ok { "done" } else { "failed" }, scope),
    };
    Ok(Json(json!({
        "task_id": id,
        "hostname": hostname(&state, record.server_id).await?,
        "action": record.action,
        "status": status,
        "message": message.map(|m| m.trim().to_owned()),
        "created_at": crate::clock::format_datetime(record.created_at),
        "updated_at": crate::clock::format_datetime(record.updated_at),
    }))
    .into_response())
}

/// GET /api/keys/self: the key's own scope (never its secret).
#[utoipa::path(get, path = "/keys/self", operation_id = "key_self", summary = "This Key's Scope", responses((status = 200, description = "Label, servers, CIDR allowlist, capabilities"), (status = 401, description = "Not authenticated / Invalid API key", body = docs::HTTPError), (status = 403, description = "CIDR allowlist, capability or server scope", body = docs::HTTPError), (status = 422, description = "Validation error", body = docs::HTTPValidationError)))]
pub(crate) async fn key_self(State(state): State<AppState>, key: Key) -> Result<Response, Problem> {
    let k = &key.0;
    let names: Vec<String> = store::f2h::hostnames(&state.db, &k.servers)
        .await?
        .into_iter()
        .map(|(_, h)| h)
        .collect();
    Ok(Json(json!({
        "id": k.key.id,
        "label": k.key.label,
        "servers": names,
        "cidrs": k.cidrs,
        "capabilities": k.capabilities,
        "created_at": crate::clock::format_datetime(k.key.created_at),
        "last_used_at": k.key.last_used_at.map(crate::clock::format_datetime),
    }))
    .into_response())
}
