//! The `/_emu/` control plane: health, reset, clock, task draining, outbox, invoices and
//! account balances. Not part of the HOSTKEY API; its answers are plain JSON objects, its
//! errors too: `{"status":"error","error":"..."}`, also for input axum itself rejects.
//! With an admin token configured (always, when listening beyond loopback), every `/_emu/`
//! route requires it as a bearer token.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Html;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

pub mod docs;
mod tools;
pub use tools::known as known_module_action;

use crate::config::AdminToken;
use crate::state::AppState;
use crate::store;

mod hestia;
mod snapshots;

/// The control plane's routes. With an `admin_token`, every `/_emu/` route requires it as
/// `Authorization: Bearer <token>`; the console pages (`/novnc/{token}`) are the customers'
/// and carry their own token.
pub fn routes(admin_token: Option<AdminToken>) -> Router<AppState> {
    Router::new()
        .route("/_emu/health", get(health))
        .route("/_emu/reset", post(reset))
        .route("/_emu/clock", get(clock))
        .route("/_emu/clock/advance", post(advance))
        .route("/_emu/tasks/run", post(run_tasks))
        .route("/_emu/prune", post(prune))
        .route("/_emu/outbox", get(outbox))
        .route("/_emu/invoices/{id}/pay", post(pay_invoice))
        .route("/_emu/invoices/{id}/refund", post(refund_invoice))
        .route("/_emu/accounts/{id}", get(account))
        .route("/_emu/tickets", get(tickets))
        .route("/_emu/tickets/{key}", get(ticket))
        .route("/_emu/dns/{zone}", get(dns_zone))
        .merge(tools::routes())
        .merge(hestia::routes())
        .route("/_emu/f2h/keys", post(create_f2h_key))
        .route("/_emu/f2h/keys/{id}", delete(revoke_f2h_key))
        .route(
            "/_emu/snapshots",
            get(snapshots::list).post(snapshots::create),
        )
        .route("/_emu/snapshots/{name}/restore", post(snapshots::restore))
        .route("/_emu/snapshots/{name}", delete(snapshots::delete))
        .route("/_emu/scenario.schema.json", get(scenario_schema))
        .method_not_allowed_fallback(method_not_allowed)
        .route_layer(axum::middleware::from_fn_with_state(
            admin_token,
            require_admin,
        ))
        .route("/novnc/{token}", get(novnc_page))
        // A public certificate, so no admin token: clients fetch it to trust the HTTPS
        // listener.
        .route("/_emu/ca.pem", get(ca_pem))
}

/// GET /_emu/scenario.schema.json: the JSON Schema of scenario files (`docs/scenarios.md`),
/// derived from the types the loader reads.
#[utoipa::path(get, path = "/_emu/scenario.schema.json", tag = "emulator",
    operation_id = "scenario_schema", summary = "The JSON Schema of scenario files",
    description = "Generated from the types the scenario loader reads (docs/scenarios.md).",
    responses((status = 200, description = "The schema", body = Object,
        content_type = "application/schema+json")))]
async fn scenario_schema() -> Response {
    (
        [(header::CONTENT_TYPE, "application/schema+json")],
        crate::domain::scenario::schema_text(),
    )
        .into_response()
}

/// GET /_emu/ca.pem: the local CA that issued the HTTPS listener's certificate.
#[utoipa::path(get, path = "/_emu/ca.pem", tag = "emulator", operation_id = "ca_pem",
    summary = "The local CA's certificate",
    description = "Public: clients fetch it to trust the HTTPS listener (--tls-listen).",
    security(()),
    responses(
        (status = 200, description = "The CA certificate (PEM)", body = String, content_type = "application/x-pem-file"),
        (status = 404, description = "No local CA: the HTTPS listener is off or uses --tls-cert", body = docs::ControlError),
    ))]
async fn ca_pem(State(state): State<AppState>) -> Response {
    match state.tls_ca.get() {
        Some(pem) => (
            [(header::CONTENT_TYPE, "application/x-pem-file")],
            pem.clone(),
        )
            .into_response(),
        None => error_response(
            StatusCode::NOT_FOUND,
            "no local CA: the HTTPS listener is off (--tls-listen) or uses --tls-cert",
        ),
    }
}

/// Lets a request through when no admin token is set or it presents the right one;
/// otherwise answers 401 in the control plane's error shape. The token is never logged.
pub async fn require_admin(
    State(token): State<Option<AdminToken>>,
    req: Request,
    next: Next,
) -> Response {
    let Some(token) = token else {
        return next.run(req).await;
    };
    let reason = match bearer(req.headers()) {
        Some(presented) if token.matches(presented) => return next.run(req).await,
        Some(_) => "wrong admin token",
        None => "admin token required: send Authorization: Bearer <token>",
    };
    let mut response = error_response(StatusCode::UNAUTHORIZED, reason);
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"hostkey-emu control plane\""),
    );
    response
}

/// The credential of an `Authorization: Bearer <token>` header (the scheme in any case).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, credential) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| credential.trim())
}

/// An extractor (`Query`, `Path`) whose rejection is the control plane's JSON 400 instead of
/// axum's plain-text one, so scripts that parse every answer as JSON can read the reason.
struct Input<T>(T);

impl<S, T> FromRequestParts<S> for Input<T>
where
    S: Send + Sync,
    T: FromRequestParts<S>,
    T::Rejection: std::fmt::Display,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match T::from_request_parts(parts, state).await {
            Ok(value) => Ok(Input(value)),
            // axum's texts name the parameter and the problem, never anything internal.
            Err(rejection) => Err(bad_request(rejection.to_string())),
        }
    }
}

/// The control plane's error answer: `{"status":"error","error":"..."}` with a status code.
fn error_response(status: StatusCode, reason: impl Into<String>) -> Response {
    (
        status,
        Json(json!({"status": "error", "error": reason.into()})),
    )
        .into_response()
}

fn bad_request(reason: impl Into<String>) -> Response {
    error_response(StatusCode::BAD_REQUEST, reason)
}

/// Something asked for by id or key that does not exist; the id is quoted back, cut short.
fn not_found(what: &str, id: &str) -> Response {
    let id: String = id.chars().take(40).collect();
    error_response(StatusCode::NOT_FOUND, format!("{what} {id} not found"))
}

/// A known control-plane path with the wrong method (`GET /_emu/reset`).
async fn method_not_allowed() -> Response {
    error_response(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
}

fn fail(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "control plane failure");
    error_response(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
}

/// GET /_emu/health
#[utoipa::path(get, path = "/_emu/health", tag = "emulator", operation_id = "health",
    summary = "Health, version, scenario, clock and queue",
    responses((status = 200, description = "The emulator answers", body = docs::Health)))]
async fn health(State(state): State<AppState>) -> Response {
    match store::jobs::counts(&state.db).await {
        Ok((queued, running)) => Json(json!({
            "status": "ok",
            "version": env!("CARGO_PKG_VERSION"),
            "revision": env!("HOSTKEY_EMU_GIT_REV"),
            "scenario": state.scenario.name,
            "time": state.clock.now(),
            "clock_offset_ms": state.clock.offset_ms(),
            "jobs": {"queued": queued, "running": running},
        }))
        .into_response(),
        Err(e) => fail(e),
    }
}

/// POST /_emu/reset: the database back to the scenario's initial state, clock included.
#[utoipa::path(post, path = "/_emu/reset", tag = "emulator", operation_id = "reset",
    summary = "Reset to the scenario",
    description = "The database back to the scenario's initial state, the clock included; \
        injected faults back to the ones the emulator started with, the journal emptied.",
    responses((status = 200, description = "Reset", body = docs::Reset)))]
async fn reset(State(state): State<AppState>) -> Response {
    match reset_world(&state).await {
        Ok(()) => Json(json!({"status": "ok", "scenario": state.scenario.name})).into_response(),
        Err(e) => fail(e),
    }
}

/// The database back to the scenario's initial state, clock included (the control plane's
/// and the dashboard's reset).
pub async fn reset_world(state: &AppState) -> Result<(), crate::error::Error> {
    let _worker = state.worker_lock.lock().await;
    let r = async {
        let mut conn = state.db.acquire_write().await?;
        store::wipe(&mut conn).await?;
        drop(conn);
        state.s3_blobs.clear().await;
        state.clock.set_offset_ms(0);
        // The test tools start over too: the rules the emulator started with, no journal.
        state.faults.reset(state.clock.now());
        state.journal.clear();
        state.hestia_tmp.clear();
        // Checked when the emulator started.
        let sc = state
            .scenario
            .parse()
            .map_err(crate::error::Error::internal)?;
        let generated = state.scenario.generated;
        store::scenario::load_text(&sc, generated, &state.db, &state.hasher, state.clock.now())
            .await?;
        Ok::<_, crate::error::Error>(())
    }
    .await;
    if r.is_ok() {
        tracing::info!(scenario = %state.scenario.name, "reset to scenario");
    }
    r
}

/// GET /_emu/clock
#[utoipa::path(get, path = "/_emu/clock", tag = "emulator", operation_id = "clock",
    summary = "The emulator clock",
    responses((status = 200, description = "Now, on the emulator clock", body = docs::Clock)))]
async fn clock(State(state): State<AppState>) -> Response {
    Json(json!({"now": state.clock.now(), "offset_ms": state.clock.offset_ms()})).into_response()
}

#[derive(Deserialize)]
struct Advance {
    seconds: Option<f64>,
}

/// POST /_emu/clock/advance?seconds=N: moves emulated time forward (never back).
#[utoipa::path(post, path = "/_emu/clock/advance", tag = "emulator", operation_id = "advance_clock",
    summary = "Move the clock forward",
    description = "Moves emulated time forward (never back); jobs that fall due run at the \
        worker's next turn, or at once with POST /_emu/tasks/run.",
    params(("seconds" = Option<f64>, Query, description = "Seconds to move (0 to 315360000; 0 when left out)")),
    responses(
        (status = 200, description = "The clock moved", body = docs::Advanced),
        (status = 400, description = "seconds out of range or not a number", body = docs::ControlError),
    ))]
async fn advance(
    State(state): State<AppState>,
    Input(Query(q)): Input<Query<Advance>>,
) -> Response {
    let secs = q.seconds.unwrap_or(0.0);
    if !secs.is_finite() || !(0.0..=10.0 * 365.0 * 86_400.0).contains(&secs) {
        return bad_request("seconds must be between 0 and 315360000");
    }
    let offset = match advance_clock(&state, (secs * 1000.0) as i64).await {
        Ok(offset) => offset,
        Err(e) => return fail(e),
    };
    Json(json!({"status": "ok", "now": state.clock.now(), "offset_ms": offset})).into_response()
}

/// Moves emulated time forward by `ms` (kept across restarts) and wakes the worker;
/// returns the clock's new offset.
pub async fn advance_clock(state: &AppState, ms: i64) -> Result<i64, sqlx::Error> {
    let offset = state.clock.advance_ms(ms);
    store::meta_set(&state.db, "clock_offset_ms", &offset.to_string()).await?;
    state.wake.notify_one();
    Ok(offset)
}

/// POST /_emu/tasks/run: runs every job that is due now and answers when they are done.
#[utoipa::path(post, path = "/_emu/tasks/run", tag = "emulator", operation_id = "run_tasks",
    summary = "Run the due jobs now",
    description = "Runs every job that is due on the emulator clock and answers when they are done.",
    responses((status = 200, description = "The jobs ran", body = docs::Ran)))]
async fn run_tasks(State(state): State<AppState>) -> Response {
    match crate::tasks::run_due(&state).await {
        Ok(ran) => Json(json!({"status": "ok", "ran": ran})).into_response(),
        Err(e) => fail(e),
    }
}

/// POST /_emu/prune: applies the retention periods now (the worker does it every
/// `--prune-interval` seconds of emulator time) and answers how many rows went, per kind.
#[utoipa::path(post, path = "/_emu/prune", tag = "emulator", operation_id = "prune",
    summary = "Apply the retention periods now",
    responses((status = 200, description = "Rows removed, per kind", body = docs::Pruned)))]
async fn prune(State(state): State<AppState>) -> Response {
    match crate::tasks::retention::prune(&state).await {
        Ok(pruned) => Json(json!({"status": "ok", "pruned": pruned})).into_response(),
        Err(e) => fail(e),
    }
}

/// GET /_emu/outbox: the e-mails the emulator would have sent, newest first.
#[utoipa::path(get, path = "/_emu/outbox", tag = "inspect", operation_id = "outbox",
    summary = "The e-mails the emulator would have sent",
    responses((status = 200, description = "Newest first", body = docs::Outbox)))]
async fn outbox(State(state): State<AppState>) -> Response {
    match store::outbox::list(&state.db, 200).await {
        Ok(mails) => Json(json!({"status": "ok", "mails": mails})).into_response(),
        Err(e) => fail(e),
    }
}

#[derive(Deserialize)]
struct PayQuery {
    gateway: Option<String>,
    amount: Option<String>,
}

/// The amount of a payment or refund (`amount=12.50`), if one was given; the error is the
/// reason, for a 400.
fn query_amount(raw: Option<&str>) -> Result<Option<i64>, String> {
    match raw.map(str::trim).filter(|a| !a.is_empty()) {
        None => Ok(None),
        Some(a) => crate::domain::money::parse_amount(a).map(Some),
    }
}

/// A payment or refund as the control plane reports it.
fn payment_json(p: &crate::ops::billing::Payment) -> serde_json::Value {
    json!({"status": "ok", "invoice": p.invoice, "invoice_status": p.status, "transaction": p.transaction,
           "amount": crate::domain::money::cents_str(p.amount),
           "balance": crate::domain::money::cents_str(p.balance)})
}

/// The control plane's answer to a billing error: 404 for an unknown invoice, `conflict`
/// for one in the wrong state, 400 for bad input.
fn billing_error(e: crate::error::Error, conflict: StatusCode) -> Response {
    use crate::error::Error;
    match e {
        Error::NotFound(m) => error_response(StatusCode::NOT_FOUND, m),
        Error::Conflict(m) => error_response(conflict, m),
        Error::Invalid(m) | Error::Denied(m) => bad_request(m),
        // The log keeps the detail that the core error hides from clients.
        Error::Internal(detail) => fail(detail),
        other => fail(other),
    }
}

/// POST /_emu/invoices/{id}/pay[?gateway=paypal&amount=12.50]: a payment through a
/// gateway (bank transfer by default) of the balance or a part of it, recorded as a
/// transaction; a covered invoice becomes Paid and what waits for it goes on.
#[utoipa::path(post, path = "/_emu/invoices/{id}/pay", tag = "billing", operation_id = "pay_invoice",
    summary = "Pay an invoice",
    description = "A payment through a gateway (bank transfer by default) of the balance or \
        a part of it; a covered invoice becomes Paid and what waits for it goes on.",
    params(
        ("id" = i64, Path, description = "The invoice"),
        ("gateway" = Option<String>, Query, description = "The gateway (banktransfer when left out)"),
        ("amount" = Option<String>, Query, description = "The amount (the balance when left out), e.g. 12.50"),
    ),
    responses(
        (status = 200, description = "Paid", body = docs::Payment),
        (status = 400, description = "Bad id or amount", body = docs::ControlError),
        (status = 404, description = "No unpaid invoice with this id", body = docs::ControlError),
    ))]
async fn pay_invoice(
    State(state): State<AppState>,
    Input(Path(id)): Input<Path<i64>>,
    Input(Query(q)): Input<Query<PayQuery>>,
) -> Response {
    let amount = match query_amount(q.amount.as_deref()) {
        Ok(a) => a,
        Err(reason) => return bad_request(reason),
    };
    let gateway = q.gateway.as_deref().unwrap_or("banktransfer");
    match crate::ops::billing::pay(&state, id, gateway, amount).await {
        Ok(p) => Json(payment_json(&p)).into_response(),
        // A paid or cancelled invoice is "not found" as an unpaid one, as it always was.
        Err(e) => billing_error(e, StatusCode::NOT_FOUND),
    }
}

/// POST /_emu/invoices/{id}/refund[?amount=5.00]: refunds gateway payments of an invoice
/// (all of them by default).
#[utoipa::path(post, path = "/_emu/invoices/{id}/refund", tag = "billing", operation_id = "refund_invoice",
    summary = "Refund an invoice's payments",
    params(
        ("id" = i64, Path, description = "The invoice"),
        ("amount" = Option<String>, Query, description = "The amount (everything paid through gateways when left out)"),
    ),
    responses(
        (status = 200, description = "Refunded", body = docs::Payment),
        (status = 400, description = "Bad id or amount", body = docs::ControlError),
        (status = 404, description = "No such invoice", body = docs::ControlError),
        (status = 409, description = "Nothing to refund", body = docs::ControlError),
    ))]
async fn refund_invoice(
    State(state): State<AppState>,
    Input(Path(id)): Input<Path<i64>>,
    Input(Query(q)): Input<Query<PayQuery>>,
) -> Response {
    let amount = match query_amount(q.amount.as_deref()) {
        Ok(a) => a,
        Err(reason) => return bad_request(reason),
    };
    match crate::ops::billing::refund(&state, id, amount).await {
        Ok(p) => Json(payment_json(&p)).into_response(),
        Err(e) => billing_error(e, StatusCode::CONFLICT),
    }
}

fn money(cents: i64) -> serde_json::Value {
    crate::domain::catalogue::number(cents as f64 / 100.0)
}

/// GET /_emu/accounts/{id}: an account's credit balance and invoices (newest first, with
/// their lines), by account id or scenario handle, so tests can watch money move.
#[utoipa::path(get, path = "/_emu/accounts/{id}", tag = "inspect", operation_id = "account",
    summary = "An account's balance and invoices",
    params(("id" = String, Path, description = "The account's id or scenario handle")),
    responses(
        (status = 200, description = "The account and its invoices, newest first", body = docs::AccountAnswer),
        (status = 404, description = "No such account", body = docs::ControlError),
    ))]
async fn account(State(state): State<AppState>, Input(Path(id)): Input<Path<String>>) -> Response {
    let r = async {
        let Some(b) = store::billing::balance(&state.db, &id).await? else {
            return Ok(None);
        };
        let mut invoices = Vec::new();
        for i in store::billing::invoices_of(&state.db, b.id).await? {
            let items: Vec<serde_json::Value> = store::billing::items_of(&state.db, i.id)
                .await?
                .into_iter()
                .map(|it| json!({"type": it.r#type, "relid": it.relid, "description": it.description,
                                 "amount": money(it.amount_cents)}))
                .collect();
            invoices.push(json!({
                "id": i.id, "status": i.status, "total": money(i.total_cents),
                "credit": money(i.credit_cents), "created_at": i.created_at, "paid_at": i.paid_at,
                "items": items, "kind": i.kind, "total_cents": i.total_cents,
                "credit_cents": i.credit_cents, "paid_cents": i.paid_cents, "server_id": i.server_id,
            }));
        }
        Ok::<_, sqlx::Error>(Some(json!({
            "status": "ok",
            "account": {"id": b.id, "handle": b.handle, "email": b.email, "currency": b.currency_code,
                        "credit": money(b.credit_cents), "credit_cents": b.credit_cents},
            "invoices": invoices,
        })))
    }
    .await;
    match r {
        Ok(Some(v)) => Json(v).into_response(),
        Ok(None) => not_found("account", &id),
        Err(e) => fail(e),
    }
}

fn ticket_json(t: store::remote_hands::Ticket) -> serde_json::Value {
    json!({
        "key": store::remote_hands::key_of(t.id), "status": t.status, "server_id": t.server_id,
        "account_id": t.account_id, "action": t.action, "subject": t.subject, "message": t.message,
        "resolution": t.resolution, "callback_key": t.callback_key,
        "created": crate::clock::format_datetime(t.created_at),
        "done": t.done_at.map(crate::clock::format_datetime),
    })
}

/// GET /_emu/tickets: remote-hands tickets (jira.php), newest first.
#[utoipa::path(get, path = "/_emu/tickets", tag = "inspect", operation_id = "tickets",
    summary = "Remote-hands tickets (jira.php)",
    responses((status = 200, description = "Newest first", body = docs::Tickets)))]
async fn tickets(State(state): State<AppState>) -> Response {
    match store::remote_hands::list(&state.db, 200).await {
        Ok(list) => {
            let list: Vec<_> = list.into_iter().map(ticket_json).collect();
            Json(json!({"status": "ok", "tickets": list})).into_response()
        }
        Err(e) => fail(e),
    }
}

/// GET /_emu/tickets/{key}: one ticket (where jira.php's `jira_url` points).
#[utoipa::path(get, path = "/_emu/tickets/{key}", tag = "inspect", operation_id = "ticket",
    summary = "One remote-hands ticket",
    params(("key" = String, Path, description = "The ticket's key (RH-<n>), where jira.php's jira_url points")),
    responses(
        (status = 200, description = "The ticket", body = docs::TicketAnswer),
        (status = 404, description = "No such ticket", body = docs::ControlError),
    ))]
async fn ticket(State(state): State<AppState>, Input(Path(key)): Input<Path<String>>) -> Response {
    let found = match store::remote_hands::id_of(&key) {
        Some(id) => store::remote_hands::get(&state.db, id).await,
        None => Ok(None),
    };
    match found {
        Ok(Some(t)) => Json(json!({"status": "ok", "ticket": ticket_json(t)})).into_response(),
        Ok(None) => not_found("ticket", &key),
        Err(e) => fail(e),
    }
}

/// GET /_emu/dns/{zone}: a hosted zone (pdns.php) as a zone file, whoever's it is.
#[utoipa::path(get, path = "/_emu/dns/{zone}", tag = "inspect", operation_id = "dns_zone",
    summary = "A hosted zone (pdns.php) as a zone file",
    params(("zone" = String, Path, description = "The zone's name, e.g. example.com")),
    responses(
        (status = 200, description = "The zone file", body = String, content_type = "text/plain"),
        (status = 400, description = "Not a zone name", body = docs::ControlError),
        (status = 404, description = "No such zone", body = docs::ControlError),
    ))]
async fn dns_zone(
    State(state): State<AppState>,
    Input(Path(zone)): Input<Path<String>>,
) -> Response {
    match crate::ops::dns::zone_file(&state, &zone).await {
        Ok(Some(text)) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            )],
            text,
        )
            .into_response(),
        Ok(None) => not_found("zone", &zone),
        Err(crate::error::Error::Invalid(reason)) => bad_request(reason),
        Err(e) => fail(e),
    }
}

/// GET /novnc/{token}: the browser console of eq/novnc, a page naming the server; only
/// from the session's `white_ip` when one was given.
async fn novnc_page(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
) -> Response {
    let now = state.clock.now();
    let session = match store::deploy::console(&state.db, &crate::secrets::digest(&token)).await {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let Some(s) = session.filter(|s| s.stopped_at.is_none() && s.expires_at > now) else {
        return (
            StatusCode::NOT_FOUND,
            Html("<!doctype html><title>noVNC</title><h1>Console session not found</h1><p>The session has expired or was stopped. Open a new one with eq/novnc.</p>".to_owned()),
        )
            .into_response();
    };
    if !white_ip_admits(&s.white_ip, client.ip()) {
        return (
            StatusCode::FORBIDDEN,
            Html(format!(
                "<!doctype html><title>noVNC</title><h1>Access denied</h1><p>This console session is open to {} only.</p>",
                html_escape(&s.white_ip)
            )),
        )
            .into_response();
    }
    let server = store::servers::get(&state.db, s.server_id)
        .await
        .ok()
        .flatten();
    let hostname = store::tags::get(&state.db, "eq", s.server_id, "hostname")
        .await
        .ok()
        .flatten()
        .map(|t| t.value);
    let (power, location) = server.map(|x| (x.power, x.location)).unwrap_or_default();
    let name = html_escape(&hostname.unwrap_or_else(|| s.server_id.to_string()));
    let page = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>noVNC - {name}</title>\
         <style>body{{background:#1d1f21;color:#c5c8c6;font-family:monospace;margin:2em}}\
         .screen{{background:#000;color:#8ae234;padding:1.5em;border:1px solid #444;width:640px;height:300px}}</style></head>\
         <body><h1>noVNC console</h1><p>Connected to server <b>{id}</b> ({name}) in {location}, power {power}.</p>\
         <div class=\"screen\"><pre>{name} login: _</pre></div>\
         <p>hostkey-emu simulated console; session valid until {until} UTC.</p></body></html>",
        id = s.server_id,
        until = crate::clock::format_datetime(s.expires_at),
    );
    Html(page).into_response()
}

/// An empty white_ip admits everyone; IPv4-mapped IPv6 clients count as their IPv4 address.
fn white_ip_admits(white_ip: &str, client: IpAddr) -> bool {
    if white_ip.is_empty() {
        return true;
    }
    let client = match client {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(client),
        v4 => v4,
    };
    white_ip.parse::<IpAddr>().is_ok_and(|w| w == client)
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// What `POST /_emu/f2h/keys` takes: the NOC's "Generate API key" form as JSON.
#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct NewF2hKey {
    /// The account the key acts for.
    account_id: i64,
    #[serde(default)]
    label: String,
    /// Its servers, by hostname (required when a server capability is granted).
    #[serde(default)]
    servers: Vec<String>,
    /// The CIDR allow-list, one network per line (empty: any address).
    #[serde(default)]
    cidrs: String,
    /// At least one of server_details, reboot, rescue_exit, install_status, ipmi_status,
    /// antihack_status, antihack_unban, us_unblock, antispam_status, antispam_unblock.
    #[serde(default)]
    capabilities: Vec<String>,
}

/// DELETE /_emu/f2h/keys/{id}: revokes an F2HCloud key (its public id, the part between
/// `f2h.` and the secret); it answers `Invalid API key` from then on.
#[utoipa::path(delete, path = "/_emu/f2h/keys/{id}", tag = "f2h", operation_id = "revoke_f2h_key",
    summary = "Revoke an F2HCloud key",
    description = "From then on the key answers 401 Invalid API key.",
    params(("id" = String, Path, description = "The key's public id (between f2h. and the secret)")),
    responses(
        (status = 200, description = "Revoked", body = docs::F2hKeyRevoked),
        (status = 404, description = "No such key", body = docs::ControlError),
    ))]
async fn revoke_f2h_key(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    match crate::ops::f2h::revoke_key(&state, &id).await {
        Ok(()) => Json(json!({"status": "ok", "revoked": id})).into_response(),
        Err(crate::error::Error::NotFound(e)) => error_response(StatusCode::NOT_FOUND, e),
        Err(e) => fail(e),
    }
}

/// POST /_emu/f2h/keys: creates an F2HCloud scoped key; its full text is in this answer
/// and nowhere else (only a digest of the secret is kept).
#[utoipa::path(post, path = "/_emu/f2h/keys", tag = "f2h", operation_id = "create_f2h_key",
    summary = "Create an F2HCloud scoped key",
    description = "The NOC's Generate API key form as JSON. The full key is in this answer \
        and nowhere else: only a digest of its secret is kept.",
    request_body(content = NewF2hKey, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = docs::F2hKeyCreated),
        (status = 400, description = "Not JSON, or a bad field", body = docs::ControlError),
        (status = 404, description = "No such account or server", body = docs::ControlError),
    ))]
async fn create_f2h_key(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    let new: NewF2hKey = match serde_json::from_slice(&body) {
        Ok(n) => n,
        Err(e) => return bad_request(format!("expected a JSON object: {e}")),
    };
    let args = crate::ops::f2h::NewKey {
        label: new.label,
        servers: new.servers,
        cidrs: new.cidrs,
        capabilities: new.capabilities,
    };
    match crate::ops::f2h::create_key(&state, new.account_id, &args).await {
        Ok((key, full)) => (
            StatusCode::CREATED,
            Json(json!({
                "status": "ok",
                "id": key.id,
                "key": full,
                "label": key.label,
                "capabilities": serde_json::from_str::<serde_json::Value>(&key.capabilities).unwrap_or_default(),
                "note": "the full key is shown once; only a digest of its secret is kept",
            })),
        )
            .into_response(),
        Err(crate::error::Error::Internal(e)) => fail(e),
        Err(crate::error::Error::NotFound(e)) => error_response(StatusCode::NOT_FOUND, e),
        Err(e) => bad_request(e.to_string()),
    }
}
