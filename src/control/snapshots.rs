//! `/_emu/snapshots`: save the whole state under a name, list, restore, delete.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::{bad_request, error_response, fail, Input};
use crate::error::Error;
use crate::state::AppState;

/// The control plane's answer to an error of `ops::snapshots`.
fn snapshot_error(e: Error) -> Response {
    match e {
        Error::NotFound(m) => error_response(StatusCode::NOT_FOUND, m),
        Error::Conflict(m) => error_response(StatusCode::CONFLICT, m),
        Error::Invalid(m) => bad_request(m),
        Error::Internal(detail) => fail(detail),
        other => fail(other),
    }
}

/// A JSON object body (or none: `{}`); the error names the problem, for a 400.
fn json_body<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, String> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| format!("invalid JSON body: {e}"))
}

/// What `POST /_emu/snapshots` takes.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewSnapshot {
    /// The snapshot's name (required).
    #[schema(required = true, example = "before-upgrade")]
    name: Option<String>,
}

/// POST /_emu/snapshots `{"name": "before-upgrade"}`: saves the whole state (database,
/// queued tasks, the clock's moment) while requests go on.
#[utoipa::path(post, path = "/_emu/snapshots", tag = "snapshots", operation_id = "create_snapshot",
    summary = "Save the whole state under a name",
    description = "The database, the queued tasks, the S3 objects' bytes and the clock's moment, saved consistently \
        while requests go on.",
    request_body(content = NewSnapshot, content_type = "application/json"),
    responses(
        (status = 201, description = "Saved", body = super::docs::SnapshotTaken),
        (status = 400, description = "Not JSON, no name or a bad one", body = super::docs::ControlError),
        (status = 409, description = "A snapshot of that name exists, or a restore runs", body = super::docs::ControlError),
    ))]
pub(super) async fn create(State(state): State<AppState>, body: Bytes) -> Response {
    let req: NewSnapshot = match json_body(&body) {
        Ok(r) => r,
        Err(why) => return bad_request(why),
    };
    let Some(name) = req.name else {
        return bad_request("name is required");
    };
    match crate::ops::snapshots::take(&state, &name).await {
        Ok(info) => (
            StatusCode::CREATED,
            Json(json!({"status": "ok", "snapshot": info})),
        )
            .into_response(),
        Err(e) => snapshot_error(e),
    }
}

/// GET /_emu/snapshots
#[utoipa::path(get, path = "/_emu/snapshots", tag = "snapshots", operation_id = "list_snapshots",
    summary = "The saved snapshots",
    responses((status = 200, description = "Every snapshot", body = super::docs::Snapshots)))]
pub(super) async fn list(State(state): State<AppState>) -> Response {
    match crate::ops::snapshots::list(&state) {
        Ok(list) => Json(json!({"status": "ok", "snapshots": list})).into_response(),
        Err(e) => snapshot_error(e),
    }
}

/// POST /_emu/snapshots/{name}/restore: the state of the snapshot back, all at once.
#[utoipa::path(post, path = "/_emu/snapshots/{name}/restore", tag = "snapshots", operation_id = "restore_snapshot",
    summary = "Bring a snapshot's state back",
    description = "All at once: the world answers as it did when the snapshot was taken.",
    params(("name" = String, Path, description = "The snapshot's name")),
    responses(
        (status = 200, description = "Restored", body = super::docs::Restored),
        (status = 404, description = "No such snapshot", body = super::docs::ControlError),
        (status = 409, description = "Another restore runs", body = super::docs::ControlError),
    ))]
pub(super) async fn restore(
    State(state): State<AppState>,
    Input(Path(name)): Input<Path<String>>,
) -> Response {
    match crate::ops::snapshots::restore(&state, &name).await {
        Ok(()) => Json(json!({
            "status": "ok", "restored": name, "now": state.clock.now(),
            "offset_ms": state.clock.offset_ms(),
        }))
        .into_response(),
        Err(e) => snapshot_error(e),
    }
}

/// DELETE /_emu/snapshots/{name}
#[utoipa::path(delete, path = "/_emu/snapshots/{name}", tag = "snapshots", operation_id = "delete_snapshot",
    summary = "Delete a snapshot",
    params(("name" = String, Path, description = "The snapshot's name")),
    responses(
        (status = 200, description = "Deleted", body = super::docs::SnapshotDeleted),
        (status = 404, description = "No such snapshot", body = super::docs::ControlError),
    ))]
pub(super) async fn delete(
    State(state): State<AppState>,
    Input(Path(name)): Input<Path<String>>,
) -> Response {
    match crate::ops::snapshots::delete(&state, &name) {
        Ok(()) => Json(json!({"status": "ok", "deleted": name})).into_response(),
        Err(e) => snapshot_error(e),
    }
}
