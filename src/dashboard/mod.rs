//! The web dashboard at `/`: server-rendered pages (maud, so every value is HTML-escaped
//! by construction) to see and steer the emulated provider in a browser: overview,
//! servers, tasks (live through Server-Sent Events), accounts and invoices, outbox and
//! tickets, the clock. Its buttons go through the same `ops` functions as the API.
//!
//! Safety: every mutating request is a POST that carries the page's CSRF token (a random
//! value of this process, in a hidden field or the `X-CSRF-Token` header) and, when the
//! browser says where it comes from (`Origin`, `Sec-Fetch-Site`), comes from the dashboard
//! itself. With an admin token configured (always, beyond loopback) every page needs it:
//! as the control plane's bearer token or as the cookie the login form sets.

mod pages;

use std::convert::Infallible;
use std::sync::OnceLock;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::Markup;
use serde::Deserialize;

use crate::config::AdminToken;
use crate::error::Error;
use crate::ops::sessions::Principal;
use crate::sim::power::PowerOp;
use crate::state::AppState;
use crate::store;

/// The cookie the login form sets: a digest of the admin token, never the token itself.
const COOKIE: &str = "hostkey_emu_dash";

/// The dashboard's routes (`/` and its pages, `/login`, `/assets/`).
pub fn routes(admin_token: Option<AdminToken>) -> Router<AppState> {
    Router::new()
        .route("/", get(overview))
        .route("/servers", get(servers))
        .route("/servers/{id}", get(server))
        .route("/servers/{id}/traffic.png", get(traffic_png))
        .route("/servers/{id}/power", post(power))
        .route("/servers/{id}/reinstall", post(reinstall))
        .route("/tasks", get(tasks))
        .route("/tasks/table", get(tasks_table))
        .route("/tasks/live", get(tasks_live))
        .route("/tasks/run", post(run_tasks))
        .route("/accounts", get(accounts))
        .route("/invoices/{id}/pay", post(pay_invoice))
        .route("/invoices/{id}/pdf", get(invoice_pdf))
        .route("/outbox", get(outbox))
        .route("/requests", get(requests))
        .route("/requests/clear", post(clear_requests))
        .route("/f2h/keys", get(f2h_keys).post(create_f2h_key))
        .route("/f2h/keys/{id}/revoke", post(revoke_f2h_key))
        .route("/faults", get(faults))
        .route("/faults/add", post(add_fault))
        .route("/faults/{id}/delete", post(delete_fault))
        .route("/clock", get(clock))
        .route("/clock/advance", post(advance))
        .route("/clock/reset", post(reset))
        .route("/logout", post(logout))
        .route_layer(axum::middleware::from_fn_with_state(
            admin_token.clone(),
            guard,
        ))
        .route("/login", get(login_page).post(login))
        .route("/assets/dash.css", get(css))
        .route("/assets/dash.js", get(js))
}

/// The CSRF token of this process: 32 random bytes as hex, made on first use. Pages put it
/// in their forms; another site cannot read it, so it cannot forge the POSTs.
pub fn csrf_token() -> &'static str {
    static TOKEN: OnceLock<String> = OnceLock::new();
    TOKEN.get_or_init(|| {
        use rand::RngCore;
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        hex::encode(bytes)
    })
}

/// The cookie value that stands for `token`: a digest, so the cookie never holds the token.
fn cookie_value(token: &AdminToken) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(
        format!("hostkey-emu dashboard\0{}", token.reveal()).as_bytes(),
    ))
}

/// Equal strings, compared without an early exit.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The value of a cookie of the request.
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Does the request carry the admin token (the login cookie or the bearer header)?
fn admitted(token: &AdminToken, headers: &HeaderMap) -> bool {
    if cookie(headers, COOKIE).is_some_and(|c| same(c, &cookie_value(token))) {
        return true;
    }
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .is_some_and(|(scheme, t)| scheme.eq_ignore_ascii_case("bearer") && token.matches(t.trim()))
}

/// Is a state-changing request from the dashboard itself? Browsers name the page a request
/// comes from (`Origin`) and whether it is another site's (`Sec-Fetch-Site`); when they
/// say, it must be this host.
fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if !matches!(site, "same-origin" | "none") {
            return false;
        }
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin = origin.to_str().unwrap_or("");
    let origin_host = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .unwrap_or("\0");
    !host.is_empty() && origin_host.eq_ignore_ascii_case(host)
}

/// Every dashboard route but the login form and the assets: the admin token when one is
/// configured (a page is sent to the login form, anything else gets 401), and for a POST
/// the same origin (the CSRF token is checked where the form is read, [`Form::parse`]).
async fn guard(State(token): State<Option<AdminToken>>, req: Request, next: Next) -> Response {
    if let Some(token) = &token {
        if !admitted(token, req.headers()) {
            if req.method() == Method::GET && !req.uri().path().starts_with("/tasks/live") {
                return Redirect::to("/login").into_response();
            }
            return refusal(
                StatusCode::UNAUTHORIZED,
                "admin token required: log in at /login",
            );
        }
    }
    if req.method() == Method::POST && !same_origin(req.headers()) {
        return refusal(StatusCode::FORBIDDEN, "cross-site request refused");
    }
    next.run(req).await
}

/// A plain page that says why a request was refused.
fn refusal(status: StatusCode, why: &str) -> Response {
    (status, Html(pages::message("Refused", why).into_string())).into_response()
}

/// 403 for a POST without the right CSRF token.
fn csrf_refused() -> Response {
    refusal(
        StatusCode::FORBIDDEN,
        "missing or wrong CSRF token: reload the page and try again",
    )
}

/// A POSTed form (URL-encoded), whose CSRF token has been checked.
struct Form(Vec<(String, String)>);

impl Form {
    /// Reads the form and checks its CSRF token (the `csrf` field or the `X-CSRF-Token`
    /// header); `None` for a missing or wrong one (answered with [`csrf_refused`]).
    fn parse(headers: &HeaderMap, body: &[u8]) -> Option<Form> {
        let fields: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
        let presented = headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .or_else(|| {
                fields
                    .iter()
                    .find(|(k, _)| k == "csrf")
                    .map(|(_, v)| v.clone())
            });
        presented
            .filter(|t| same(t, csrf_token()))
            .map(|_| Form(fields))
    }

    /// Every value of a repeated field (checkboxes).
    fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Back to `to` with a notice for the page to show (`?msg=`).
fn back(to: &str, msg: &str) -> Response {
    let q: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("msg", msg)
        .finish();
    let sep = if to.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{to}{sep}{q}")).into_response()
}

fn page(markup: Markup) -> Response {
    (
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Html(markup.into_string()),
    )
        .into_response()
}

/// A failure while reading for a page: logged, shown as a short notice.
fn fail(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "dashboard failure");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Html(pages::message("Error", "internal error (see the log)").into_string()),
    )
        .into_response()
}

fn not_found(what: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        Html(pages::message("Not found", what).into_string()),
    )
        .into_response()
}

/// What a failed operation tells the person who pressed the button.
fn said(e: &Error) -> String {
    match e {
        Error::Internal(_) => "internal error (see the log)".to_owned(),
        other => other.to_string(),
    }
}

/// The account owner of a server or invoice acting through the dashboard, for the `ops`
/// functions that take a principal: a password session of that account that is stored
/// nowhere (the dashboard is the provider's side, not a customer login).
async fn acting_for(state: &AppState, account_id: i64) -> Result<Option<Principal>, Error> {
    let Some(account) = store::accounts::get(&state.db, account_id).await? else {
        return Ok(None);
    };
    let now = state.clock.now();
    let session = store::sessions::Session {
        token_digest: String::new(),
        salt: String::new(),
        account_id,
        api_key_id: None,
        server_id: 0,
        kind: "password".to_owned(),
        bound_ip: None,
        created_at: now,
        expires_at: now + 60,
    };
    Ok(Some(Principal { account, session }))
}

#[derive(Deserialize, Default)]
struct Notice {
    msg: Option<String>,
}

/// GET /: the overview.
async fn overview(State(state): State<AppState>, Query(n): Query<Notice>) -> Response {
    match pages::overview(&state, n.msg.as_deref()).await {
        Ok(m) => page(m),
        Err(e) => fail(e),
    }
}

/// The Servers page's filters (all optional; empty means any).
#[derive(Deserialize, Default, Debug)]
pub struct ServerFilter {
    pub q: Option<String>,
    pub location: Option<String>,
    pub kind: Option<String>,
    pub power: Option<String>,
    pub status: Option<String>,
    pub account: Option<String>,
}

/// GET /servers
async fn servers(State(state): State<AppState>, Query(f): Query<ServerFilter>) -> Response {
    match pages::servers(&state, &f).await {
        Ok(m) => page(m),
        Err(e) => fail(e),
    }
}

/// GET /servers/{id}
async fn server(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(n): Query<Notice>,
) -> Response {
    match pages::server(&state, id, n.msg.as_deref()).await {
        Ok(Some(m)) => page(m),
        Ok(None) => not_found(&format!("server {id} not found")),
        Err(e) => fail(e),
    }
}

#[derive(Deserialize)]
struct Graph {
    graph: Option<i64>,
    port: Option<String>,
}

/// GET /servers/{id}/traffic.png[?graph=1..3&port=eth0]: the traffic graph of
/// net/show_cacti.
async fn traffic_png(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(g): Query<Graph>,
) -> Response {
    let r = async {
        let Some(server) = store::servers::get(&state.db, id).await? else {
            return Ok(None);
        };
        let ifaces = store::servers::interfaces(&state.db, id).await?;
        let iface = match &g.port {
            Some(p) => ifaces.into_iter().find(|i| &i.r#type == p),
            None => {
                let main = ifaces.iter().position(|i| i.is_main == 1).unwrap_or(0);
                ifaces.into_iter().nth(main)
            }
        };
        let Some(iface) = iface else { return Ok(None) };
        let graph = g.graph.unwrap_or(1).clamp(1, 3);
        crate::ops::ports::traffic_graph(&state, &server, &iface, graph)
            .await
            .map(Some)
    }
    .await;
    match r {
        Ok(Some(png)) => ([(header::CONTENT_TYPE, "image/png")], png).into_response(),
        Ok(None) => not_found(&format!("no traffic graph for server {id}")),
        Err(e) => fail(e),
    }
}

/// POST /servers/{id}/power (op = on | off | reboot): eq/on, eq/off, eq/reboot through
/// `ops::power::power` as the server's owner.
async fn power(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(form) = Form::parse(&headers, &body) else {
        return csrf_refused();
    };
    let op = match form.get("op") {
        Some("on") => PowerOp::On,
        Some("off") => PowerOp::Off,
        Some("reboot") => PowerOp::Reboot,
        _ => return back(&format!("/servers/{id}"), "unknown power operation"),
    };
    let r = async {
        let server = store::servers::get(&state.db, id)
            .await?
            .ok_or_else(|| Error::not_found(format!("server {id} not found")))?;
        let owner = server
            .account_id
            .ok_or_else(|| Error::invalid(format!("server {id} is not rented")))?;
        let caller = acting_for(&state, owner)
            .await?
            .ok_or_else(|| Error::not_found("account not found"))?;
        crate::ops::power::power(&state, &caller, &server, op).await
    }
    .await;
    let msg = match r {
        Ok(key) => format!("{} queued (task {key})", op.action()),
        Err(e) => format!("{} refused: {}", op.action(), said(&e)),
    };
    back(&format!("/servers/{id}"), &msg)
}

/// POST /servers/{id}/reinstall (root_pass, optional os_id): eq/order_instance with `id`
/// (the same OS unless `os_id` names another), through `ops::orders::reinstall` as the server's owner.
async fn reinstall(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(form) = Form::parse(&headers, &body) else {
        return csrf_refused();
    };
    let r = async {
        let server = store::servers::get(&state.db, id)
            .await?
            .ok_or_else(|| Error::not_found(format!("server {id} not found")))?;
        let owner = server
            .account_id
            .ok_or_else(|| Error::invalid(format!("server {id} is not rented")))?;
        let caller = acting_for(&state, owner)
            .await?
            .ok_or_else(|| Error::not_found("account not found"))?;
        let os_id = match form.get("os_id").map(str::trim).filter(|s| !s.is_empty()) {
            Some(v) => Some(
                v.parse::<i64>()
                    .map_err(|_| Error::invalid("os_id must be a number"))?,
            ),
            None => pages::os_of(&server).map(|(id, _)| id),
        };
        let req = crate::ops::orders::Request {
            preset: String::new(),
            location: String::new(),
            os_id,
            os_name: None,
            soft_id: None,
            traffic_plan: None,
            root_pass: form.get("root_pass").map(str::to_owned),
            hostname: None,
            post_install_callback: None,
            own_os: false,
            period: String::new(),
            deploy_notify: false,
            jenkins_task: None,
            ssh_key: None,
            ssh_key_tag: None,
            root_size: None,
            ipv4_amount: None,
        };
        crate::ops::orders::reinstall(&state, &caller.account, &server, &req).await
    }
    .await;
    let msg = match r {
        Ok(placed) => format!("reinstall queued (task {})", placed.callback),
        Err(e) => format!("reinstall refused: {}", said(&e)),
    };
    back(&format!("/servers/{id}"), &msg)
}

/// GET /tasks
async fn tasks(State(state): State<AppState>, Query(n): Query<Notice>) -> Response {
    match pages::tasks(&state, n.msg.as_deref()).await {
        Ok(m) => page(m),
        Err(e) => fail(e),
    }
}

/// GET /tasks/table: the tasks table alone (what the live stream sends).
async fn tasks_table(State(state): State<AppState>) -> Response {
    match pages::tasks_table(&state).await {
        Ok(m) => page(m),
        Err(e) => fail(e),
    }
}

/// How often the live stream looks for a change, and how long one stream lasts (the
/// browser reconnects by itself), so that no stream holds a connection forever.
const LIVE_POLL: Duration = Duration::from_millis(400);
const LIVE_FOR: Duration = Duration::from_secs(300);

/// GET /tasks/live: Server-Sent Events, one `tasks` event with the table's HTML at once and
/// after every committed write or clock move.
async fn tasks_live(State(state): State<AppState>) -> Response {
    struct Live {
        state: AppState,
        seen: Option<(u64, i64)>,
        until: tokio::time::Instant,
    }
    let start = Live {
        state,
        seen: None,
        until: tokio::time::Instant::now() + LIVE_FOR,
    };
    let stream = futures_util::stream::unfold(start, |mut live| async move {
        loop {
            if tokio::time::Instant::now() >= live.until {
                return None;
            }
            let now = (live.state.db.generation(), live.state.clock.now());
            if live.seen != Some(now) {
                live.seen = Some(now);
                let html = match pages::tasks_table(&live.state).await {
                    Ok(m) => m.into_string(),
                    Err(e) => {
                        tracing::error!(error = %e, "dashboard live tasks");
                        return None;
                    }
                };
                let event = Event::default().event("tasks").data(html);
                return Some((Ok::<_, Infallible>(event), live));
            }
            tokio::time::sleep(LIVE_POLL).await;
        }
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// POST /tasks/run: runs the due tasks now (as POST /_emu/tasks/run).
async fn run_tasks(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if Form::parse(&headers, &body).is_none() {
        return csrf_refused();
    }
    match crate::tasks::run_due(&state).await {
        Ok(ran) => back("/tasks", &format!("ran {ran} due task(s)")),
        Err(e) => back("/tasks", &format!("running tasks failed: {}", said(&e))),
    }
}

/// GET /accounts
async fn accounts(State(state): State<AppState>, Query(n): Query<Notice>) -> Response {
    match pages::accounts(&state, n.msg.as_deref()).await {
        Ok(m) => page(m),
        Err(e) => fail(e),
    }
}

/// POST /invoices/{id}/pay: pays the balance by bank transfer (as POST
/// /_emu/invoices/{id}/pay); what waits for the invoice goes on.
async fn pay_invoice(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(form) = Form::parse(&headers, &body) else {
        return csrf_refused();
    };
    let to = match form.get("back") {
        Some(b) if b.starts_with('/') && !b.starts_with("//") => b.to_owned(),
        _ => "/accounts".to_owned(),
    };
    let msg = match crate::ops::billing::pay(&state, id, "banktransfer", None).await {
        Ok(p) => format!("invoice {id} paid: {}", p.status),
        Err(e) => format!("invoice {id} not paid: {}", said(&e)),
    };
    back(&to, &msg)
}

/// GET /invoices/{id}/pdf: the invoice as whmcs/download_invoice renders it.
async fn invoice_pdf(State(state): State<AppState>, Path(id): Path<i64>) -> Response {
    let r = async {
        let Some(inv) = store::billing::get(&state.db, id).await? else {
            return Ok(None);
        };
        let Some(caller) = acting_for(&state, inv.account_id).await? else {
            return Ok(None);
        };
        let full = crate::ops::billing::invoice(&state, &caller, id).await?;
        let client = crate::ops::billing::client(&state, &caller).await?;
        let seller = crate::ops::billing::seller(&state, &full.invoice).await?;
        Ok::<_, Error>(Some(crate::ops::billing::invoice_pdf(
            &full, &client, seller,
        )))
    }
    .await;
    match r {
        Ok(Some(pdf)) => (
            [
                (header::CONTENT_TYPE, "application/pdf".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("inline; filename=\"invoice-{id}.pdf\""),
                ),
            ],
            pdf,
        )
            .into_response(),
        Ok(None) => not_found(&format!("invoice {id} not found")),
        Err(e) => fail(e),
    }
}

/// GET /outbox: the e-mails and the remote-hands tickets.
async fn outbox(State(state): State<AppState>) -> Response {
    match pages::outbox(&state).await {
        Ok(m) => page(m),
        Err(e) => fail(e),
    }
}

/// GET /requests: the request journal.
async fn requests(
    State(state): State<AppState>,
    Query(f): Query<pages::RequestFilter>,
) -> Response {
    page(pages::requests(&state, &f))
}

/// POST /requests/clear
async fn clear_requests(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if Form::parse(&headers, &body).is_none() {
        return csrf_refused();
    }
    let n = state.journal.clear();
    back("/requests", &format!("{n} requests forgotten"))
}

/// GET /f2h/keys: the F2HCloud keys and the "Generate API key" form.
async fn f2h_keys(State(state): State<AppState>, Query(n): Query<Notice>) -> Response {
    match pages::f2h_keys(&state, n.msg.as_deref(), None).await {
        Ok(m) => page(m),
        Err(e) => fail(e),
    }
}

/// POST /f2h/keys: makes a key and shows it in this answer only (never in a redirect's
/// URL, which browsers and proxies keep).
async fn create_f2h_key(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(form) = Form::parse(&headers, &body) else {
        return csrf_refused();
    };
    let Some(account) = form
        .get("account_id")
        .and_then(|a| a.trim().parse::<i64>().ok())
    else {
        return back("/f2h/keys", "not created: choose an account");
    };
    let lines = |name: &str| -> Vec<String> {
        form.get(name)
            .unwrap_or("")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let args = crate::ops::f2h::NewKey {
        label: form.get("label").unwrap_or("").trim().to_owned(),
        servers: lines("servers"),
        cidrs: form.get("cidrs").unwrap_or("").to_owned(),
        capabilities: form.all("capabilities"),
    };
    match crate::ops::f2h::create_key(&state, account, &args).await {
        Ok((_, full)) => match pages::f2h_keys(&state, None, Some(&full)).await {
            Ok(m) => page(m),
            Err(e) => fail(e),
        },
        Err(e) => back("/f2h/keys", &format!("not created: {}", said(&e))),
    }
}

/// POST /f2h/keys/{id}/revoke
async fn revoke_f2h_key(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if Form::parse(&headers, &body).is_none() {
        return csrf_refused();
    }
    match crate::ops::f2h::revoke_key(&state, &id).await {
        Ok(()) => back("/f2h/keys", &format!("key {id} revoked")),
        Err(e) => back("/f2h/keys", &format!("not revoked: {}", said(&e))),
    }
}

/// GET /faults
async fn faults(State(state): State<AppState>, Query(n): Query<Notice>) -> Response {
    page(pages::faults(&state, n.msg.as_deref()))
}

/// POST /faults/add (rule: one rule or an array, as `POST /_emu/faults` takes them)
async fn add_fault(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(form) = Form::parse(&headers, &body) else {
        return csrf_refused();
    };
    let rule = form.get("rule").unwrap_or("");
    let value = match serde_json::from_str(rule) {
        Ok(v) => v,
        Err(e) => return back("/faults", &format!("not added: invalid JSON: {e}")),
    };
    let specs = match crate::faults::parse_rules(value, &crate::control::known_module_action) {
        Ok(s) => s,
        Err(why) => return back("/faults", &format!("not added: {why}")),
    };
    match state.faults.add(specs, state.clock.now()) {
        Ok(ids) => back("/faults", &format!("added rule {ids:?}")),
        Err(why) => back("/faults", &format!("not added: {why}")),
    }
}

/// POST /faults/{id}/delete
async fn delete_fault(
    State(state): State<AppState>,
    Path(id): Path<u64>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if Form::parse(&headers, &body).is_none() {
        return csrf_refused();
    }
    match state.faults.remove(id) {
        true => back("/faults", &format!("rule {id} removed")),
        false => back("/faults", &format!("no rule {id}")),
    }
}

/// GET /clock
async fn clock(State(state): State<AppState>, Query(n): Query<Notice>) -> Response {
    page(pages::clock(&state, n.msg.as_deref()))
}

/// POST /clock/advance (amount, unit = seconds | minutes | hours | days)
async fn advance(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(form) = Form::parse(&headers, &body) else {
        return csrf_refused();
    };
    let amount: f64 = match form.get("amount").map(str::trim).unwrap_or("").parse() {
        Ok(a) => a,
        Err(_) => return back("/clock", "the amount must be a number"),
    };
    let unit = match form.get("unit").unwrap_or("seconds") {
        "minutes" => 60.0,
        "hours" => 3600.0,
        "days" => 86_400.0,
        _ => 1.0,
    };
    let secs = amount * unit;
    if !secs.is_finite() || !(0.0..=10.0 * 365.0 * 86_400.0).contains(&secs) {
        return back(
            "/clock",
            "the clock moves forward only, by at most ten years",
        );
    }
    match crate::control::advance_clock(&state, (secs * 1000.0) as i64).await {
        Ok(_) => back("/clock", &format!("advanced {secs} s")),
        Err(e) => fail(e),
    }
}

/// POST /clock/reset: the world back to the scenario (as POST /_emu/reset).
async fn reset(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if Form::parse(&headers, &body).is_none() {
        return csrf_refused();
    }
    match crate::control::reset_world(&state).await {
        Ok(()) => back("/clock", "the world is back to the scenario"),
        Err(e) => fail(e),
    }
}

/// GET /login
async fn login_page(Query(n): Query<Notice>) -> Response {
    page(pages::login(n.msg.as_deref()))
}

/// POST /login (token): sets the dashboard cookie when the admin token is right.
async fn login(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if !same_origin(&headers) {
        return refusal(StatusCode::FORBIDDEN, "cross-site request refused");
    }
    let Some(token) = &state.config.admin_token else {
        return Redirect::to("/").into_response();
    };
    let presented = form_urlencoded::parse(&body)
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    if !token.matches(presented.trim()) {
        let mut r = Redirect::to("/login?msg=wrong+admin+token").into_response();
        *r.status_mut() = StatusCode::SEE_OTHER;
        return r;
    }
    let cookie = format!(
        "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict",
        cookie_value(token)
    );
    let mut r = Redirect::to("/").into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// POST /logout: forgets the cookie.
async fn logout(headers: HeaderMap, body: Bytes) -> Response {
    if Form::parse(&headers, &body).is_none() {
        return csrf_refused();
    }
    let mut r = Redirect::to("/login").into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("hostkey_emu_dash=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict"),
    );
    r
}

async fn css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("dash.css"),
    )
        .into_response()
}

async fn js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("dash.js"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).expect("value"));
        }
        h
    }

    #[test]
    fn only_requests_from_the_dashboard_itself_are_same_origin() {
        assert!(same_origin(&headers(&[("host", "127.0.0.1:8080")])));
        assert!(same_origin(&headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8080")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://evil.example")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "null")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "127.0.0.1:8080"),
            ("sec-fetch-site", "cross-site")
        ])));
    }

    #[test]
    fn the_login_cookie_stands_for_the_token_without_holding_it() {
        let token: AdminToken = "s3cret-Token".parse().expect("token");
        let value = cookie_value(&token);
        assert!(!value.contains("s3cret"));
        let h = headers(&[("cookie", &format!("a=b; {COOKIE}={value}"))]);
        assert!(admitted(&token, &h));
        let other: AdminToken = "other-Token".parse().expect("token");
        assert!(!admitted(&other, &h));
        assert!(admitted(
            &token,
            &headers(&[("authorization", "Bearer s3cret-Token")])
        ));
        assert!(!admitted(&token, &headers(&[])));
    }
}
