//! The control plane's test tools: injected faults (`/_emu/faults`), the request journal
//! (`/_emu/requests`) and the metrics (`/_emu/metrics`). JSON in and out; bad input gets a
//! 400 with the reason and changes nothing.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{bad_request, error_response, fail, not_found, Input};
use crate::faults::{self, Matcher};
use crate::journal::{self, Entry};
use crate::state::AppState;

/// The tools' routes (merged into the control plane, behind its admin token).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/_emu/faults",
            post(add_faults).get(list_faults).delete(clear_faults),
        )
        .route("/_emu/faults/{id}", delete(remove_fault))
        .route("/_emu/requests", get(list_requests).delete(clear_requests))
        .route("/_emu/requests/count", post(count_requests))
        .route("/_emu/metrics", get(metrics))
}

/// Is `module` (and `action`, when given) a module and action of the InvAPI? `webhook`
/// names the journal's webhooks.
pub fn known(module: &str, action: Option<&str>) -> bool {
    if module == "webhook" {
        return true;
    }
    // The Hestia face's requests: module `hestia`, the command as the action.
    if module == "hestia" {
        return action.is_none_or(crate::ops::hestia_access::command_exists);
    }
    crate::invapi::MODULES
        .iter()
        .find(|m| m.name == module)
        .is_some_and(|m| action.is_none_or(|a| m.actions.iter().any(|x| x.name == a)))
}

/// A JSON body, or why it is none (for a 400).
fn json_body(body: &Bytes) -> Result<Value, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err("a JSON body is required".into());
    }
    serde_json::from_slice(body).map_err(|e| format!("invalid JSON: {e}"))
}

/// POST /_emu/faults: adds a rule (a JSON object) or several (an array), all or none.
#[utoipa::path(post, path = "/_emu/faults", tag = "faults", operation_id = "add_faults",
    summary = "Add fault rules",
    description = "One rule (an object) or several (an array), added all or none. A rule \
        matches requests by module, action, server, account and fields, and has an effect: \
        error, http, latency, drop, truncate, task_fail or task_stuck.",
    request_body(content = super::docs::FaultRules, content_type = "application/json"),
    responses(
        (status = 201, description = "Added", body = super::docs::FaultsAdded),
        (status = 400, description = "Not JSON, or a bad rule (named by its place)", body = super::docs::ControlError),
        (status = 409, description = "Too many rules", body = super::docs::ControlError),
    ))]
pub(super) async fn add_faults(State(state): State<AppState>, body: Bytes) -> Response {
    let value = match json_body(&body) {
        Ok(v) => v,
        Err(why) => return bad_request(why),
    };
    let specs = match faults::parse_rules(value, &known) {
        Ok(s) => s,
        Err(why) => return bad_request(why),
    };
    let now = state.clock.now();
    match state.faults.add(specs, now) {
        Ok(ids) => {
            let rules: Vec<Value> = state
                .faults
                .list(now)
                .into_iter()
                .filter(|r| r["id"].as_u64().is_some_and(|id| ids.contains(&id)))
                .collect();
            (
                StatusCode::CREATED,
                Json(json!({"status": "ok", "ids": ids, "faults": rules})),
            )
                .into_response()
        }
        Err(why) => error_response(StatusCode::CONFLICT, why),
    }
}

/// GET /_emu/faults: every rule with its hit count.
#[utoipa::path(get, path = "/_emu/faults", tag = "faults", operation_id = "list_faults",
    summary = "The fault rules, with their hit counts",
    responses((status = 200, description = "Every rule", body = super::docs::FaultList)))]
pub(super) async fn list_faults(State(state): State<AppState>) -> Response {
    Json(json!({"status": "ok", "faults": state.faults.list(state.clock.now())})).into_response()
}

/// DELETE /_emu/faults: removes every rule.
#[utoipa::path(delete, path = "/_emu/faults", tag = "faults", operation_id = "clear_faults",
    summary = "Remove every fault rule",
    responses((status = 200, description = "How many went", body = super::docs::Removed)))]
pub(super) async fn clear_faults(State(state): State<AppState>) -> Response {
    Json(json!({"status": "ok", "removed": state.faults.clear()})).into_response()
}

/// DELETE /_emu/faults/{id}
#[utoipa::path(delete, path = "/_emu/faults/{id}", tag = "faults", operation_id = "remove_fault",
    summary = "Remove one fault rule",
    params(("id" = u64, Path, description = "The rule's id")),
    responses(
        (status = 200, description = "Removed", body = super::docs::Removed),
        (status = 404, description = "No such rule", body = super::docs::ControlError),
    ))]
pub(super) async fn remove_fault(
    State(state): State<AppState>,
    Input(Path(id)): Input<Path<String>>,
) -> Response {
    match id.parse::<u64>() {
        Ok(n) if state.faults.remove(n) => {
            Json(json!({"status": "ok", "removed": 1})).into_response()
        }
        _ => not_found("fault", &id),
    }
}

/// The journal's default and largest page.
const DEFAULT_LIMIT: usize = 100;

/// GET /_emu/requests?module=&action=&server=&account=&since=&limit=: newest first.
#[utoipa::path(get, path = "/_emu/requests", tag = "journal", operation_id = "list_requests",
    summary = "The journal of requests, newest first",
    description = "Requests the emulated APIs answered and webhooks the emulator sent, \
        secrets masked. Every filter given must hold.",
    params(
        ("module" = Option<String>, Query, description = "A module (eq, auth...), or webhook"),
        ("action" = Option<String>, Query, description = "An action of the module"),
        ("server" = Option<i64>, Query, description = "The server the request named"),
        ("account" = Option<i64>, Query, description = "The account of the request's session"),
        ("since" = Option<i64>, Query, description = "Only entries at or after this emulator time (Unix seconds)"),
        ("limit" = Option<i64>, Query, description = "At most this many (100 when left out)"),
    ),
    responses(
        (status = 200, description = "The matching entries", body = super::docs::Requests),
        (status = 400, description = "An unknown filter, module or action, or a bad number", body = super::docs::ControlError),
    ))]
pub(super) async fn list_requests(
    State(state): State<AppState>,
    Input(Query(q)): Input<Query<HashMap<String, String>>>,
) -> Response {
    let query = match journal_query(&q) {
        Ok(query) => query,
        Err(why) => return bad_request(why),
    };
    let list = state.journal.list(&query);
    Json(json!({"status": "ok", "count": list.len(), "requests": list})).into_response()
}

/// The journal query of `GET /_emu/requests`'s parameters, or why there is none.
fn journal_query(q: &HashMap<String, String>) -> Result<journal::Query, String> {
    let mut query = journal::Query {
        limit: DEFAULT_LIMIT,
        ..journal::Query::default()
    };
    for (k, v) in q {
        let number = |what: &str| {
            v.trim()
                .parse::<i64>()
                .map_err(|_| format!("{what} must be a whole number"))
        };
        match k.as_str() {
            "module" => query.matcher.module = Some(v.clone()),
            "action" => query.matcher.action = Some(v.clone()),
            "server" => query.matcher.server = Some(number("server")?),
            "account" => query.matcher.account = Some(number("account")?),
            "since" => query.since = Some(number("since")?),
            "limit" => match number("limit")? {
                n if n >= 1 => query.limit = usize::try_from(n).unwrap_or(usize::MAX),
                _ => return Err("limit must be at least 1".into()),
            },
            other => {
                return Err(format!(
                    "unknown filter {other:.40}; use module, action, server, account, since, limit"
                ))
            }
        }
    }
    query.matcher.check(&known)?;
    Ok(query)
}

/// DELETE /_emu/requests: forgets the journal.
#[utoipa::path(delete, path = "/_emu/requests", tag = "journal", operation_id = "clear_requests",
    summary = "Forget the journal",
    responses((status = 200, description = "How many went", body = super::docs::Removed)))]
pub(super) async fn clear_requests(State(state): State<AppState>) -> Response {
    Json(json!({"status": "ok", "removed": state.journal.clear()})).into_response()
}

/// The body of `POST /_emu/requests/count`: a matcher, and optionally a time and a status.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CountMatcher {
    /// A module (`eq`, `auth`...), or `webhook`.
    #[serde(default)]
    module: Option<String>,
    /// An action of the module.
    #[serde(default)]
    action: Option<String>,
    /// The server the request named.
    #[serde(default)]
    server: Option<i64>,
    /// The account of the request's session.
    #[serde(default)]
    account: Option<i64>,
    /// Parameters that must have exactly these values (a number matches its decimal text).
    #[serde(default)]
    #[schema(value_type = Object)]
    fields: std::collections::BTreeMap<String, Value>,
    /// Only entries at or after this emulator time (Unix seconds).
    #[serde(default)]
    since: Option<i64>,
    /// Only entries answered with this HTTP status.
    #[serde(default)]
    status: Option<u16>,
}

/// POST /_emu/requests/count: how many recorded requests match (WireMock-style
/// verification: `{"module":"eq","action":"reboot","server":40101}`).
#[utoipa::path(post, path = "/_emu/requests/count", tag = "journal", operation_id = "count_requests",
    summary = "Count the recorded requests that match",
    description = "WireMock-style verification: {\"module\":\"eq\",\"action\":\"reboot\",\"server\":40101}.",
    request_body(content = CountMatcher, content_type = "application/json"),
    responses(
        (status = 200, description = "How many matched", body = super::docs::Count),
        (status = 400, description = "Not JSON, an unknown field, module or action", body = super::docs::ControlError),
    ))]
pub(super) async fn count_requests(State(state): State<AppState>, body: Bytes) -> Response {
    let value = match json_body(&body) {
        Ok(v) => v,
        Err(why) => return bad_request(why),
    };
    let m: CountMatcher = match serde_json::from_value(value) {
        Ok(m) => m,
        Err(e) => return bad_request(format!("invalid matcher: {e}")),
    };
    let matcher = Matcher {
        module: m.module,
        action: m.action,
        server: m.server,
        account: m.account,
        fields: m.fields,
    };
    if let Err(why) = matcher.check(&known) {
        return bad_request(why);
    }
    let count = match m.status {
        None => state.journal.count(&matcher, m.since),
        Some(status) => state
            .journal
            .list(&journal::Query {
                matcher: matcher.clone(),
                since: m.since,
                limit: usize::MAX,
            })
            .iter()
            .filter(|e: &&Entry| e.status == status)
            .count(),
    };
    Json(json!({"status": "ok", "count": count})).into_response()
}

/// GET /_emu/metrics: the Prometheus text format.
#[utoipa::path(get, path = "/_emu/metrics", tag = "metrics", operation_id = "metrics",
    summary = "Metrics in the Prometheus text format",
    description = "Requests by face, module, action and result, latency histograms, tasks \
        by kind and state, faults applied, live worlds, database size, journal length.",
    responses((status = 200, description = "OpenMetrics text", body = String,
        content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8")))]
pub(super) async fn metrics(State(state): State<AppState>) -> Response {
    let tasks = match crate::store::jobs::counts_by_kind(&state.db).await {
        Ok(t) => t,
        Err(e) => return fail(e),
    };
    let db_bytes = match crate::store::database_bytes(&state.db).await {
        Ok(b) => b,
        Err(e) => return fail(e),
    };
    let text = state.metrics.encode(&tasks, db_bytes, state.journal.len());
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}
