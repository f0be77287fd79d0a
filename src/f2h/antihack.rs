//! The F2HCloud face's anti-hack and anti-spam endpoints: fail2ban-style bans, the
//! provider's blocks on the server's addresses, the US unblock (lifted, or sent to review
//! on a second request within the window) and the anti-spam listing.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::{docs, hostname, invalid, Host, Key, Problem};
use crate::clock::format_datetime;
use crate::ops::f2h as ops;
use crate::state::AppState;
use crate::store::servers::Server;

/// The JSON object of a request body, FastAPI's way: 422 when it is missing, not JSON or
/// not an object.
fn body_object(
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<serde_json::Map<String, Value>, Problem> {
    if body.is_empty() {
        return Err(Problem::Validation(vec![invalid(
            "missing",
            json!(["body"]),
            "Field required",
            Value::Null,
        )]));
    }
    let json_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|t| {
            t.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
    let parsed: Option<Value> = if json_type {
        serde_json::from_slice(body).ok()
    } else {
        None
    };
    match parsed {
        Some(Value::Object(map)) => Ok(map),
        Some(other) => Err(Problem::Validation(vec![invalid(
            "model_attributes_type",
            json!(["body"]),
            "Input should be a valid dictionary or object to extract fields from",
            other,
        )])),
        None => Err(Problem::Validation(vec![invalid(
            "json_invalid",
            json!(["body", 0]),
            "JSON decode error",
            json!({}),
        )])),
    }
}

/// A string field of the body (`required`: 422 `missing` without it).
fn string_field(
    body: &serde_json::Map<String, Value>,
    name: &str,
    required: bool,
    max: usize,
    errors: &mut Vec<Value>,
) -> Option<String> {
    match body.get(name) {
        None | Some(Value::Null) if required => {
            errors.push(invalid(
                "missing",
                json!(["body", name]),
                "Field required",
                json!(body),
            ));
            None
        }
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.chars().count() > max => {
            errors.push(invalid(
                "string_too_long",
                json!(["body", name]),
                &format!("String should have at most {max} characters"),
                Value::String(crate::domain::rules::shorten(s)),
            ));
            None
        }
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            errors.push(invalid(
                "string_type",
                json!(["body", name]),
                "Input should be a valid string",
                other.clone(),
            ));
            None
        }
    }
}

/// The `ip` of a body: an IPv4 or IPv6 address (422 otherwise).
fn ip_field(ip: Option<String>, errors: &mut Vec<Value>) -> Option<String> {
    let ip = ip?;
    match ip.trim().parse::<std::net::IpAddr>() {
        Ok(addr) => Some(addr.to_string()),
        Err(_) => {
            errors.push(invalid(
                "ip_any_address",
                json!(["body", "ip"]),
                "value is not a valid IPv4 or IPv6 address",
                Value::String(crate::domain::rules::shorten(&ip)),
            ));
            None
        }
    }
}

fn expiry(at: Option<i64>) -> Value {
    at.map_or(Value::Null, |t| Value::String(format_datetime(t)))
}

/// GET /api/servers/{host}/antihack: bans with jails and expiry, and the provider's blocks.
#[utoipa::path(get, path = "/servers/{hostname}/antihack", operation_id = "antihack_status", summary = "Antihack (fail2ban) Status", params(("hostname" = String, Path, description = "hostname")), responses((status = 200, description = "Bans with jails and expiry; provider blocks"), (status = 401, description = "Not authenticated / Invalid API key", body = docs::HTTPError), (status = 403, description = "CIDR allowlist, capability or server scope", body = docs::HTTPError), (status = 422, description = "Validation error", body = docs::HTTPValidationError)))]
pub(crate) async fn status(
    State(state): State<AppState>,
    key: Key,
    host: Host,
) -> Result<Response, Problem> {
    let s = key.server(&state, "antihack_status", host).await?;
    let (bans, blocks) = ops::antihack(&state, &s).await?;
    let bans: Vec<Value> = bans
        .iter()
        .map(|b| {
            json!({"ip": b.address, "jail": b.jail, "banned_at": format_datetime(b.created_at),
                   "expires_at": format_datetime(b.expires_at)})
        })
        .collect();
    let blocks: Vec<Value> = blocks
        .iter()
        .map(|b| {
            json!({"ip": b.address, "type": if b.kind == "admin" { "HACK" } else { "CUSTOMER" },
                   "reason": b.description, "blocked_at": format_datetime(b.created_at),
                   "expires_at": expiry(b.expires_at)})
        })
        .collect();
    Ok(Json(json!({
        "hostname": hostname(&state, s.id).await?,
        "bans": bans,
        "blocks": blocks,
    }))
    .into_response())
}

/// POST /api/servers/{host}/antihack/unban: body `{"ip": ..., "jail": ...}` (jail optional).
#[utoipa::path(post, path = "/servers/{hostname}/antihack/unban", operation_id = "antihack_unban", summary = "Unban Antihack / fail2ban", params(("hostname" = String, Path, description = "hostname")), request_body = docs::UnbanRequest, responses((status = 200, description = "Unbanned"), (status = 404, description = "Not banned", body = docs::HTTPError), (status = 401, description = "Not authenticated / Invalid API key", body = docs::HTTPError), (status = 403, description = "CIDR allowlist, capability or server scope", body = docs::HTTPError), (status = 422, description = "Validation error", body = docs::HTTPValidationError)))]
pub(crate) async fn unban(
    State(state): State<AppState>,
    key: Key,
    host: Host,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    let s = key.server(&state, "antihack_unban", host).await?;
    let body = body_object(&headers, &body)?;
    let mut errors = Vec::new();
    let ip = string_field(&body, "ip", true, 64, &mut errors);
    let ip = ip_field(ip, &mut errors);
    let jail = string_field(&body, "jail", false, 64, &mut errors);
    let Some(ip) = ip.filter(|_| errors.is_empty()) else {
        return Err(Problem::Validation(errors));
    };
    let n = ops::unban(&state, &s, &ip, jail.as_deref()).await?;
    Ok(
        Json(json!({"hostname": hostname(&state, s.id).await?, "ip": ip, "unbanned": n}))
            .into_response(),
    )
}

/// The unblock of a body `{"ip": ..., "reason": ...}` on one of the server's addresses.
async fn unblock(
    state: &AppState,
    s: &Server,
    headers: &HeaderMap,
    body: &Bytes,
    spam_only: bool,
) -> Result<Response, Problem> {
    let body = body_object(headers, body)?;
    let mut errors = Vec::new();
    let ip = string_field(&body, "ip", true, 64, &mut errors);
    let ip = ip_field(ip, &mut errors);
    let reason = string_field(&body, "reason", !spam_only, 1000, &mut errors).unwrap_or_default();
    if !spam_only && reason.trim().is_empty() && errors.is_empty() {
        errors.push(invalid(
            "string_too_short",
            json!(["body", "reason"]),
            "String should have at least 1 character",
            Value::String(reason.clone()),
        ));
    }
    let Some(ip) = ip.filter(|_| errors.is_empty()) else {
        return Err(Problem::Validation(errors));
    };
    let own = crate::store::f2h::server_addresses(&state.db, s.id).await?;
    if !own.contains(&ip) {
        return Err(Problem::Status(
            StatusCode::NOT_FOUND,
            format!("{ip} is not an address of this server"),
        ));
    }
    let outcome = ops::us_unblock(state, s, &ip, reason.trim(), spam_only).await?;
    let status = match outcome {
        ops::UnblockOutcome::Lifted => StatusCode::OK,
        ops::UnblockOutcome::PendingReview => StatusCode::ACCEPTED,
    };
    Ok((
        status,
        Json(json!({"hostname": hostname(state, s.id).await?, "ip": ip, "status": outcome.name()})),
    )
        .into_response())
}

/// POST /api/servers/{host}/antihack/us-unblock: body `{"ip": ..., "reason": ...}`.
#[utoipa::path(post, path = "/servers/{hostname}/antihack/us-unblock", operation_id = "us_unblock", summary = "US Anti-hack Unblock", params(("hostname" = String, Path, description = "hostname")), request_body = docs::UsUnblockRequest, responses((status = 200, description = "lifted"), (status = 202, description = "pending_review: a second unblock within 24 hours"), (status = 409, description = "Not blocked", body = docs::HTTPError), (status = 401, description = "Not authenticated / Invalid API key", body = docs::HTTPError), (status = 403, description = "CIDR allowlist, capability or server scope", body = docs::HTTPError), (status = 422, description = "Validation error", body = docs::HTTPValidationError)))]
pub(crate) async fn us_unblock(
    State(state): State<AppState>,
    key: Key,
    host: Host,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    let s = key.server(&state, "us_unblock", host).await?;
    unblock(&state, &s, &headers, &body, false).await
}

/// GET /api/servers/{host}/antispam: listed addresses, their lists, SMTP port 25.
#[utoipa::path(get, path = "/servers/{hostname}/antispam", operation_id = "antispam_status", summary = "Antispam (Spamhaus) Status", params(("hostname" = String, Path, description = "hostname")), responses((status = 200, description = "Listed addresses, lists, SMTP port 25"), (status = 401, description = "Not authenticated / Invalid API key", body = docs::HTTPError), (status = 403, description = "CIDR allowlist, capability or server scope", body = docs::HTTPError), (status = 422, description = "Validation error", body = docs::HTTPValidationError)))]
pub(crate) async fn antispam_status(
    State(state): State<AppState>,
    key: Key,
    host: Host,
) -> Result<Response, Problem> {
    let s = key.server(&state, "antispam_status", host).await?;
    let now = state.clock.now();
    let blocks = crate::store::f2h::server_blocks(&state.db, s.id, now).await?;
    let listed: Vec<Value> = blocks
        .iter()
        .filter(|b| ops::is_spam(b))
        .map(|b| {
            json!({"ip": b.address, "lists": ["Spamhaus SBL"], "reason": b.description,
                   "listed_at": format_datetime(b.created_at)})
        })
        .collect();
    Ok(Json(json!({
        "hostname": hostname(&state, s.id).await?,
        "listed": listed,
        "smtp_port_25_blocked": !listed.is_empty(),
    }))
    .into_response())
}

/// POST /api/servers/{host}/antispam/unblock: body `{"ip": ...}`.
#[utoipa::path(post, path = "/servers/{hostname}/antispam/unblock", operation_id = "antispam_unblock", summary = "Antispam Unblock", params(("hostname" = String, Path, description = "hostname")), request_body = docs::AntispamUnblockRequest, responses((status = 200, description = "lifted"), (status = 202, description = "pending_review"), (status = 409, description = "Not listed", body = docs::HTTPError), (status = 401, description = "Not authenticated / Invalid API key", body = docs::HTTPError), (status = 403, description = "CIDR allowlist, capability or server scope", body = docs::HTTPError), (status = 422, description = "Validation error", body = docs::HTTPValidationError)))]
pub(crate) async fn antispam_unblock(
    State(state): State<AppState>,
    key: Key,
    host: Host,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    let s = key.server(&state, "antispam_unblock", host).await?;
    unblock(&state, &s, &headers, &body, true).await
}
