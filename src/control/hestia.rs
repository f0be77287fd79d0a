//! The control plane's Hestia tools: the panels running on emulated servers and their API
//! switches (`API`, `API_SYSTEM`, `API_ALLOWED_IP`, and the `disabled` / `removed` modes of
//! `v-change-sys-api`), which a fresh panel sets so that nobody may call it yet.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::{bad_request, error_response, fail};
use crate::state::AppState;
use crate::store::hestia_panels::{self, Panel, Switches};

/// The routes (merged into the control plane, behind its admin token).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/_emu/hestia/panels", get(list))
        .route("/_emu/hestia/panels/{server_id}", get(one).patch(change))
}

fn shown(p: &Panel) -> serde_json::Value {
    json!({
        "server_id": p.server_id,
        "hostname": p.hostname,
        "ip": p.ip,
        "root_user": p.root_user,
        "api": p.api,
        "api_system": p.api_system,
        "api_allowed_ip": p.api_allowed_ip,
        "api_mode": p.api_mode,
        "version": p.version,
        "created_at": crate::clock::format_datetime(p.created_at),
    })
}

/// A panel as `/_emu/hestia/panels` shows it (documentation of the answers).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct HestiaPanel {
    server_id: i64,
    hostname: String,
    /// The server's main address, which the panel's web and mail domains use.
    ip: String,
    /// ROOT_USER.
    root_user: String,
    /// API: `yes` or `no` (the legacy password and key).
    api: String,
    /// API_SYSTEM: `0` off, `1` admin keys, `2` every user's keys.
    api_system: String,
    /// API_ALLOWED_IP: a comma list, `allow-all`, or empty (nobody).
    api_allowed_ip: String,
    /// `enabled`, `disabled` (every request: `Error: Disabled`) or `removed` (404).
    api_mode: String,
    version: String,
    created_at: String,
}

/// `GET /_emu/hestia/panels`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct HestiaPanels {
    #[schema(example = "ok")]
    status: String,
    panels: Vec<HestiaPanel>,
}

/// `GET|PATCH /_emu/hestia/panels/{server_id}`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct HestiaPanelAnswer {
    #[schema(example = "ok")]
    status: String,
    panel: HestiaPanel,
}

/// GET /_emu/hestia/panels: every panel with its API switches.
#[utoipa::path(get, path = "/_emu/hestia/panels", tag = "inspect", operation_id = "hestia_panels",
    summary = "The Hestia panels on emulated servers, with their API switches",
    responses((status = 200, description = "Every panel", body = HestiaPanels)))]
async fn list(State(state): State<AppState>) -> Response {
    match hestia_panels::list(&state.db).await {
        Ok(panels) => {
            Json(json!({"status": "ok", "panels": panels.iter().map(shown).collect::<Vec<_>>()}))
                .into_response()
        }
        Err(e) => fail(e),
    }
}

async fn panel_of(state: &AppState, server_id: &str) -> Result<Panel, Response> {
    let not_found = || {
        error_response(
            StatusCode::NOT_FOUND,
            format!(
                "server {} has no Hestia panel",
                crate::domain::rules::shorten(server_id)
            ),
        )
    };
    let id: i64 = server_id.parse().map_err(|_| not_found())?;
    match hestia_panels::by_server(&state.db, id).await {
        Ok(Some(p)) => Ok(p),
        Ok(None) => Err(not_found()),
        Err(e) => Err(fail(e)),
    }
}

/// GET /_emu/hestia/panels/{server_id}: one server's panel.
#[utoipa::path(get, path = "/_emu/hestia/panels/{server_id}", tag = "inspect",
    operation_id = "hestia_panel", summary = "One server's Hestia panel",
    params(("server_id" = String, Path, description = "The server's id")),
    responses(
        (status = 200, description = "The panel", body = HestiaPanelAnswer),
        (status = 404, description = "The server has no panel", body = super::docs::ControlError),
    ))]
async fn one(State(state): State<AppState>, Path(server_id): Path<String>) -> Response {
    match panel_of(&state, &server_id).await {
        Ok(p) => Json(json!({"status": "ok", "panel": shown(&p)})).into_response(),
        Err(r) => r,
    }
}

/// What `PATCH /_emu/hestia/panels/{server_id}` takes: any of the switches.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Change {
    api: Option<String>,
    api_system: Option<String>,
    api_allowed_ip: Option<String>,
    api_mode: Option<String>,
}

/// PATCH /_emu/hestia/panels/{server_id}: changes a panel's API switches; bad values get
/// a 400 and change nothing.
#[utoipa::path(patch, path = "/_emu/hestia/panels/{server_id}", tag = "inspect",
    operation_id = "hestia_panel_switches", summary = "Change a Hestia panel's API switches",
    params(("server_id" = String, Path, description = "The server's id")),
    request_body = Change,
    responses(
        (status = 200, description = "The panel as changed", body = HestiaPanelAnswer),
        (status = 400, description = "A bad switch value; nothing changed", body = super::docs::ControlError),
        (status = 404, description = "The server has no panel", body = super::docs::ControlError),
    ))]
async fn change(
    State(state): State<AppState>,
    Path(server_id): Path<String>,
    body: Bytes,
) -> Response {
    let change: Change = match serde_json::from_slice(&body) {
        Ok(c) => c,
        Err(e) => {
            return bad_request(format!(
                "expected a JSON object of api, api_system, api_allowed_ip, api_mode: {e}"
            ))
        }
    };
    let panel = match panel_of(&state, &server_id).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let switches = Switches {
        api: change.api,
        api_system: change.api_system,
        api_allowed_ip: change.api_allowed_ip,
        api_mode: change.api_mode,
    };
    match crate::ops::hestia_access::set_switches(&state, panel.id, &switches).await {
        Ok(()) => {}
        Err(crate::error::Error::Invalid(why)) => return bad_request(why),
        Err(e) => return fail(e),
    }
    match hestia_panels::get(&state.db, panel.id).await {
        Ok(Some(p)) => Json(json!({"status": "ok", "panel": shown(&p)})).into_response(),
        Ok(None) => error_response(StatusCode::NOT_FOUND, "the panel is gone"),
        Err(e) => fail(e),
    }
}
