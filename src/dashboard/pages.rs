//! The dashboard's pages as maud markup: one function per page, one layout. Every value
//! goes through maud's `(...)` splices, which escape it; nothing is inserted raw.

use std::collections::BTreeMap;

use maud::{html, Markup, DOCTYPE};
use serde_json::Value;

use super::{csrf_token, ServerFilter};
use crate::clock::{format_date, format_datetime};
use crate::domain::money::cents_str;
use crate::error::Error;
use crate::state::AppState;
use crate::store::{self, dashboard as dash};

/// The navigation: (path, label).
const NAV: &[(&str, &str)] = &[
    ("/", "Overview"),
    ("/servers", "Servers"),
    ("/tasks", "Tasks"),
    ("/accounts", "Accounts"),
    ("/requests", "Requests"),
    ("/faults", "Faults"),
    ("/f2h/keys", "F2H keys"),
    ("/outbox", "Outbox & tickets"),
    ("/clock", "Clock"),
];

/// The page frame: head, navigation with the emulator's clock, an optional notice.
fn layout(title: &str, current: &str, notice: Option<&str>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · hostkey-emu" }
                link rel="stylesheet" href="/assets/dash.css";
                script src="/assets/dash.js" defer {}
            }
            body {
                header {
                    a.brand href="/" { "hostkey-emu" }
                    nav {
                        @for (path, label) in NAV {
                            a href=(path) class=[(*path == current).then_some("current")] { (label) }
                        }
                    }
                }
                main {
                    h1 { (title) }
                    @if let Some(n) = notice {
                        p.notice role="status" { (n) }
                    }
                    (body)
                }
            }
        }
    }
}

/// A POST button with the CSRF token.
fn button(action: &str, label: &str, fields: &[(&str, &str)], class: &str) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            input type="hidden" name="csrf" value=(csrf_token());
            @for (k, v) in fields {
                input type="hidden" name=(k) value=(v);
            }
            button type="submit" class=(class) { (label) }
        }
    }
}

/// A short page that only says something (refusals, not found).
pub fn message(title: &str, text: &str) -> Markup {
    layout(
        title,
        "",
        None,
        html! { p { (text) } p { a href="/" { "Back to the overview" } } },
    )
}

/// The OS of a server's eq/show `os` column: (id, name).
pub fn os_of(server: &store::servers::Server) -> Option<(i64, String)> {
    os_json(server.os.as_deref())
}

fn os_json(os: Option<&str>) -> Option<(i64, String)> {
    let v: Value = serde_json::from_str(os?).ok()?;
    Some((
        v.get("id")?.as_i64()?,
        v.get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
    ))
}

fn money(cents: i64, currency: &str) -> String {
    format!("{} {currency}", cents_str(cents))
}

/// The stage a record shows: the `result` of its scope (`deploy_done`...), else the scope.
fn stage_of(t: &dash::TaskRow) -> String {
    let Some(scope) = t.scope.as_deref().filter(|s| !s.is_empty()) else {
        return String::new();
    };
    match serde_json::from_str::<Value>(scope) {
        Ok(v) => v
            .get("result")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| scope.to_owned()),
        Err(_) => scope.to_owned(),
    }
}

/// Queued, running, done or failed.
fn task_column(t: &dash::TaskRow) -> &'static str {
    match t.state.as_str() {
        "ok" => "done",
        "fail" => "failed",
        "stage" => "running",
        _ if t.job_state.as_deref() == Some("running") => "running",
        _ => "queued",
    }
}

/// GET /
pub async fn overview(state: &AppState, notice: Option<&str>) -> Result<Markup, Error> {
    let accounts = dash::accounts(&state.db).await?;
    let servers = dash::servers(&state.db).await?;
    let (queued, running) = store::jobs::counts(&state.db).await?;
    let mut by_location: BTreeMap<(String, String), usize> = BTreeMap::new();
    for s in &servers {
        let key = (
            s.location.clone(),
            format!("{} / power {}", s.status, s.power),
        );
        *by_location.entry(key).or_default() += 1;
    }
    let tasks = dash::tasks(&state.db, None, 8).await?;
    let body = html! {
        section.cards {
            a.card href="/accounts" { b { (accounts.len()) } " accounts" }
            a.card href="/servers" { b { (servers.len()) } " servers" }
            a.card href="/tasks" { b { (running) } " tasks running, " b { (queued) } " queued" }
            a.card href="/clock" { "clock " b { (format_datetime(state.clock.now())) } " UTC" }
            span.card { "task speed " b { (format!("{:?}", state.config.task_speed)) } }
            span.card { "scenario " b { (state.scenario.name) } }
        }
        h2 { "Servers by location and state" }
        div.scroll { table {
            thead { tr { th { "location" } th { "state" } th { "servers" } } }
            tbody {
                @for ((loc, st), n) in &by_location {
                    tr {
                        td { a href={ "/servers?location=" (loc) } { (loc) } }
                        td { (st) }
                        td { (n) }
                    }
                }
            }
        } }
        h2 { "Latest tasks" }
        (task_rows(&tasks))
        h2 { "Last requests" }
        (request_rows(&state.journal.list(&crate::journal::Query { limit: 10, ..Default::default() })))
        p { a href="/requests" { "All requests" } " · " a href="/faults" { "Faults" } }
    };
    Ok(layout("Overview", "/", notice, body))
}

fn matches(want: &Option<String>, have: &str) -> bool {
    match want.as_deref().map(str::trim) {
        None | Some("") => true,
        Some(w) => w.eq_ignore_ascii_case(have),
    }
}

/// GET /servers
pub async fn servers(state: &AppState, f: &ServerFilter) -> Result<Markup, Error> {
    let all = dash::servers(&state.db).await?;
    let q = f.q.as_deref().unwrap_or("").trim().to_lowercase();
    let list: Vec<&dash::ServerRow> = all
        .iter()
        .filter(|s| matches(&f.location, &s.location))
        .filter(|s| matches(&f.kind, &s.kind))
        .filter(|s| matches(&f.power, &s.power))
        .filter(|s| matches(&f.status, &s.status))
        .filter(|s| {
            matches(
                &f.account,
                &s.account_id.map(|a| a.to_string()).unwrap_or_default(),
            )
        })
        .filter(|s| {
            q.is_empty()
                || s.id.to_string() == q
                || s.hostname
                    .as_deref()
                    .unwrap_or("")
                    .to_lowercase()
                    .contains(&q)
                || s.main_ip.as_deref().unwrap_or("").contains(&q)
        })
        .collect();
    let mut locations: Vec<&str> = all.iter().map(|s| s.location.as_str()).collect();
    locations.sort_unstable();
    locations.dedup();
    let select = |name: &str, options: &[&str], current: &Option<String>| {
        html! {
            label { (name) " "
                select name=(name) {
                    option value="" { "any" }
                    @for o in options {
                        option value=(o) selected[current.as_deref() == Some(*o)] { (o) }
                    }
                }
            }
        }
    };
    let body = html! {
        form.filters method="get" action="/servers" {
            label { "search " input type="search" name="q" value=(f.q.as_deref().unwrap_or("")) placeholder="id, host name or IP"; }
            (select("location", &locations, &f.location))
            (select("kind", &["vm", "bm"], &f.kind))
            (select("power", &["on", "off"], &f.power))
            (select("status", &["rent", "power_off", "pending", "terminated"], &f.status))
            label { "account " input type="text" name="account" size="6" value=(f.account.as_deref().unwrap_or("")); }
            button type="submit" { "Filter" }
        }
        p.muted { (list.len()) " of " (all.len()) " servers" }
        div.scroll { table #servers {
            thead { tr {
                th { "id" } th { "name" } th { "kind" } th { "location" } th { "power" }
                th { "status" } th { "main IP" } th { "OS" } th { "due" } th { "account" }
            } }
            tbody {
                @for s in &list {
                    tr {
                        td { a href={ "/servers/" (s.id) } { (s.id) } }
                        td { (s.hostname.as_deref().unwrap_or("")) }
                        td { (s.kind) }
                        td { (s.location) }
                        td { span class={ "pill " (s.power) } { (s.power) } }
                        td { (s.status) }
                        td { (s.main_ip.as_deref().unwrap_or("")) }
                        td { (os_json(s.os.as_deref()).map(|o| o.1).unwrap_or_default()) }
                        td { (format_date(s.due_date)) }
                        td { (s.account_id.map(|a| a.to_string()).unwrap_or_default()) }
                    }
                }
            }
        } }
    };
    Ok(layout("Servers", "/servers", None, body))
}

/// GET /servers/{id}
pub async fn server(
    state: &AppState,
    id: i64,
    notice: Option<&str>,
) -> Result<Option<Markup>, Error> {
    let Some(s) = store::servers::get(&state.db, id).await? else {
        return Ok(None);
    };
    let now = state.clock.now();
    let ifaces = store::servers::interfaces(&state.db, id).await?;
    let ips = store::inventory::ips(&state.db, id, now).await?;
    let tags = store::tags::list(&state.db, "eq", id).await?;
    let tasks = dash::tasks(&state.db, Some(id), 50).await?;
    let invoices = dash::invoices(&state.db, Some(id)).await?;
    let hostname = tags
        .iter()
        .find(|t| t.tag == "hostname")
        .map(|t| t.value.clone())
        .unwrap_or_default();
    let hardware: Value = serde_json::from_str(&s.hardware).unwrap_or(Value::Null);
    let here = format!("/servers/{id}");
    let body = html! {
        section.cards {
            span.card { "power " b { span class={ "pill " (s.power) } { (s.power) } } }
            span.card { "status " b { (s.status) } }
            span.card { (s.kind) " in " b { (s.location) } }
            span.card { "OS " b { (os_of(&s).map(|o| o.1).unwrap_or_default()) } }
            span.card { "due " b { (format_date(s.due_date)) } }
            @if let Some(a) = s.account_id { a.card href="/accounts" { "account " b { (a) } } }
        }
        div.actions {
            (button(&format!("{here}/power"), "Power on", &[("op", "on")], ""))
            (button(&format!("{here}/power"), "Power off", &[("op", "off")], ""))
            (button(&format!("{here}/power"), "Reboot", &[("op", "reboot")], "primary"))
            form.inline method="post" action={ (here) "/reinstall" } {
                input type="hidden" name="csrf" value=(csrf_token());
                input type="password" name="root_pass" placeholder="new root password" required autocomplete="new-password";
                " "
                button type="submit" class="danger" { "Reinstall (same OS)" }
            }
        }
        h2 { "Hardware" }
        p { (s.preset) " " span.muted { (s.preset_description) } }
        @if let Value::Object(map) = &hardware {
            div.scroll { table { tbody {
                @for (k, v) in map {
                    tr { th { (k) } td.wrap { (match v { Value::String(t) => t.clone(), other => other.to_string() }) } }
                }
            } } }
        } @else {
            pre { (s.hardware) }
        }
        h2 { "Interfaces" }
        div.scroll { table {
            thead { tr { th { "port" } th { "MAC" } th { "main" } th { "status" } th { "switch" } th { "speed" } } }
            tbody { @for i in &ifaces { tr {
                td { (i.r#type) } td { code { (i.mac) } } td { @if i.is_main == 1 { "yes" } }
                td { (i.status) @if let Some(b) = &i.blocked_by { " (blocked by " (b) ")" } }
                td { (i.switch_model) " " (i.switch_port) } td { (i.speed) }
            } } }
        } }
        h2 { "Addresses and blocks" }
        div.scroll { table {
            thead { tr { th { "address" } th { "port" } th { "main" } th { "VLAN" } th { "status" } th { "block" } } }
            tbody { @for ip in &ips { tr {
                td { code { (ip.address) } } td { (ip.port) } td { @if ip.main_ip == 1 { "yes" } }
                td { (ip.vlan) } td { (ip.status) }
                td { @if let Some(at) = ip.blocked_at { "blocked since " (format_datetime(at)) ": " (ip.block_description.as_deref().unwrap_or("")) } }
            } } }
        } }
        h2 { "Tags" }
        div.scroll { table #tags {
            thead { tr { th { "tag" } th { "value" } th { "extra" } th { "set by" } } }
            tbody { @for t in &tags { tr {
                td { (t.tag) } td { (t.value) } td { (t.extra) }
                td { @if t.internal == 1 { "HOSTKEY" } @else { "customer" } }
            } } }
        } }
        h2 { "Traffic" }
        img.graph src={ (here) "/traffic.png?graph=1" } alt={ "traffic graph of " (hostname) } loading="lazy";
        h2 { "Tasks" }
        (task_rows(&tasks))
        h2 { "Invoices" }
        (invoice_rows(&invoices, &here))
    };
    let title = if hostname.is_empty() {
        format!("Server {id}")
    } else {
        format!("Server {id} · {hostname}")
    };
    Ok(Some(layout(&title, "/servers", notice, body)))
}

/// A table of records with their stages.
fn task_rows(tasks: &[dash::TaskRow]) -> Markup {
    html! {
        div.scroll { table.tasks {
            thead { tr {
                th { "state" } th { "action" } th { "stage" } th { "server" } th { "account" }
                th { "created" } th { "updated" } th { "record" }
            } }
            tbody {
                @for t in tasks {
                    @let col = task_column(t);
                    tr class=(col) data-key=(t.key) {
                        td { span class={ "pill " (col) } { (col) } }
                        td { (t.module) "/" (t.action) }
                        td.stage { (stage_of(t)) }
                        td { @if t.server_id > 0 { a href={ "/servers/" (t.server_id) } { (t.server_id) } } }
                        td { (t.account_id.map(|a| a.to_string()).unwrap_or_default()) }
                        td { (format_datetime(t.created_at)) }
                        td { (format_datetime(t.updated_at)) }
                        td { code { (t.key) } }
                    }
                }
                @if tasks.is_empty() { tr { td colspan="8" { span.muted { "no tasks" } } } }
            }
        } }
    }
}

/// GET /tasks
pub async fn tasks(state: &AppState, notice: Option<&str>) -> Result<Markup, Error> {
    let table = tasks_table(state).await?;
    let body = html! {
        div.actions {
            (button("/tasks/run", "Run due tasks now", &[], "primary"))
            span.muted #live-state { "live updates: connecting…" }
        }
        div #tasks data-live="/tasks/live" { (table) }
    };
    Ok(layout("Tasks", "/tasks", notice, body))
}

/// The Tasks page's table, grouped: running, queued, failed, done (what the live stream
/// sends).
pub async fn tasks_table(state: &AppState) -> Result<Markup, Error> {
    let all = dash::tasks(&state.db, None, 300).await?;
    let (queued, running) = store::jobs::counts(&state.db).await?;
    let mut groups: BTreeMap<u8, Vec<dash::TaskRow>> = BTreeMap::new();
    for t in all {
        let order = match task_column(&t) {
            "running" => 0,
            "queued" => 1,
            "failed" => 2,
            _ => 3,
        };
        groups.entry(order).or_default().push(t);
    }
    let names = ["Running", "Queued", "Failed", "Done"];
    Ok(html! {
        p.muted {
            "clock " (format_datetime(state.clock.now())) " UTC · jobs running " (running)
            ", queued " (queued)
        }
        @for (i, name) in names.iter().enumerate() {
            @let rows = groups.get(&(i as u8)).map(Vec::as_slice).unwrap_or(&[]);
            h2 { (name) " (" (rows.len()) ")" }
            (task_rows(rows))
        }
    })
}

/// Invoices with pay buttons and PDF links; `back` is where paying returns to.
fn invoice_rows(invoices: &[store::billing::Invoice], back: &str) -> Markup {
    html! {
        div.scroll { table.invoices {
            thead { tr {
                th { "invoice" } th { "account" } th { "kind" } th { "status" } th { "total" }
                th { "balance" } th { "created" } th { "due" } th { "server" } th {}
            } }
            tbody {
                @for i in invoices {
                    tr data-invoice=(i.id) {
                        td { (i.id) } td { (i.account_id) } td { (i.kind) }
                        td { span class={ "pill " (i.status.to_lowercase()) } { (i.status) } }
                        td { (cents_str(i.total_cents)) } td { (cents_str(i.balance())) }
                        td { (format_date(i.created_at)) } td { (format_date(i.due_at)) }
                        td { @if i.server_id > 0 { a href={ "/servers/" (i.server_id) } { (i.server_id) } } }
                        td {
                            a href={ "/invoices/" (i.id) "/pdf" } { "PDF" } " "
                            @if i.status == "Unpaid" {
                                (button(&format!("/invoices/{}/pay", i.id), "Pay", &[("back", back)], "primary"))
                            }
                        }
                    }
                }
                @if invoices.is_empty() { tr { td colspan="10" { span.muted { "no invoices" } } } }
            }
        } }
    }
}

/// GET /accounts
pub async fn accounts(state: &AppState, notice: Option<&str>) -> Result<Markup, Error> {
    let now = state.clock.now();
    let accounts = dash::accounts(&state.db).await?;
    let keys = dash::api_keys(&state.db).await?;
    let sessions = dash::sessions(&state.db, now).await?;
    let invoices = dash::invoices(&state.db, None).await?;
    let body = html! {
        div.scroll { table #accounts {
            thead { tr {
                th { "id" } th { "handle" } th { "e-mail" } th { "status" } th { "credit" }
                th { "servers" } th { "PIN" }
            } }
            tbody { @for a in &accounts { tr {
                td { (a.id) } td { (a.handle) } td { (a.email) } td { (a.status) }
                td { (money(a.credit_cents, &a.currency_code)) }
                td { a href={ "/servers?account=" (a.id) } { (a.servers) } }
                td {
                    @if !a.has_pin { "none" }
                    @else if a.pin_locked_until > now { span.pill.failed { "locked until " (format_datetime(a.pin_locked_until)) } }
                    @else if a.pin_failures > 0 { "set, " (a.pin_failures) " wrong in a row" }
                    @else { "set" }
                }
            } } }
        } }
        h2 { "Invoices" }
        (invoice_rows(&invoices, "/accounts"))
        h2 { "API keys" }
        div.scroll { table {
            thead { tr { th { "id" } th { "account" } th { "name" } th { "key" } th { "server" } th { "allowed IPs" } th { "active" } th { "login notice" } } }
            tbody { @for k in &keys { tr {
                td { (k.id) } td { (k.account_id) } td { (k.name) } td { code { (k.token_view) } }
                td { @if k.server_id > 0 { (k.server_id) } @else { "all" } }
                td { (k.ip) } td { @if k.active == 1 { "yes" } @else { "no" } }
                td { (k.login_notify_method) }
            } } }
        } }
        h2 { "Sessions" }
        div.scroll { table {
            thead { tr { th { "account" } th { "kind" } th { "API key" } th { "server" } th { "bound IP" } th { "opened" } th { "expires" } } }
            tbody {
                @for s in &sessions { tr {
                    td { (s.account_id) } td { (s.kind) }
                    td { (s.api_key_id.map(|k| k.to_string()).unwrap_or_default()) }
                    td { @if s.server_id > 0 { (s.server_id) } }
                    td { (s.bound_ip.as_deref().unwrap_or("")) }
                    td { (format_datetime(s.created_at)) } td { (format_datetime(s.expires_at)) }
                } }
                @if sessions.is_empty() { tr { td colspan="7" { span.muted { "no live sessions" } } } }
            }
        } }
    };
    Ok(layout("Accounts", "/accounts", notice, body))
}

/// GET /outbox
pub async fn outbox(state: &AppState) -> Result<Markup, Error> {
    let mails = store::outbox::list(&state.db, 200).await?;
    let tickets = store::remote_hands::list(&state.db, 200).await?;
    let body = html! {
        h2 { "E-mails (" (mails.len()) ")" }
        @for m in &mails {
            details.mail {
                summary { (format_datetime(m.created_at)) " · " b { (m.subject) } " → " (m.to_address) }
                pre { (m.body) }
            }
        }
        @if mails.is_empty() { p.muted { "no e-mails" } }
        h2 { "Remote-hands tickets (" (tickets.len()) ")" }
        div.scroll { table {
            thead { tr { th { "ticket" } th { "status" } th { "server" } th { "action" } th { "subject" } th { "opened" } th { "done" } } }
            tbody {
                @for t in &tickets { tr {
                    td { (store::remote_hands::key_of(t.id)) } td { (t.status) }
                    td { @if t.server_id > 0 { a href={ "/servers/" (t.server_id) } { (t.server_id) } } }
                    td { (t.action) } td { (t.subject) }
                    td { (format_datetime(t.created_at)) }
                    td { (t.done_at.map(format_datetime).unwrap_or_default()) }
                } }
                @if tickets.is_empty() { tr { td colspan="7" { span.muted { "no tickets" } } } }
            }
        } }
    };
    Ok(layout("Outbox and tickets", "/outbox", None, body))
}

/// GET /clock
pub fn clock(state: &AppState, notice: Option<&str>) -> Markup {
    let body = html! {
        p { "Emulated time: " b #now { (format_datetime(state.clock.now())) " UTC" }
            " (" (state.clock.offset_ms() / 1000) " s ahead of real time)" }
        p { "Task speed: " (format!("{:?}", state.config.task_speed)) }
        form.filters method="post" action="/clock/advance" {
            input type="hidden" name="csrf" value=(csrf_token());
            label { "advance by " input type="number" name="amount" min="0" step="any" value="60"; }
            select name="unit" {
                option value="seconds" { "seconds" } option value="minutes" { "minutes" }
                option value="hours" { "hours" } option value="days" { "days" }
            }
            button type="submit" class="primary" { "Advance" }
        }
        h2 { "Reset" }
        p { "Puts the whole world back to the scenario " b { (state.scenario.name) } ", clock included." }
        (button("/clock/reset", "Reset the world", &[], "danger"))
    };
    layout("Clock", "/clock", notice, body)
}

/// GET /login
pub fn login(notice: Option<&str>) -> Markup {
    let body = html! {
        p { "This dashboard needs the control plane's admin token (" code { "--admin-token" } ", or the one the banner printed)." }
        form.filters method="post" action="/login" {
            label { "admin token " input type="password" name="token" autocomplete="current-password" autofocus; }
            button type="submit" class="primary" { "Log in" }
        }
    };
    layout("Log in", "", notice, body)
}

/// The journal's entries as a table, each expandable to its fields and answer.
fn request_rows(entries: &[crate::journal::Entry]) -> Markup {
    html! {
        @for e in entries {
            details.request {
                summary {
                    (format_datetime(e.time)) " · " b { (e.module) "/" (e.action) }
                    @if let Some(s) = e.server { " · server " (s) }
                    " · " (e.status) " · " (format!("{:.1} ms", e.duration_ms)) " · " (e.client)
                    @if let Some(f) = e.fault { " · " b { "fault " (f) } }
                }
                h3 { "Fields" }
                pre { (serde_json::to_string_pretty(&e.fields()).unwrap_or_default()) }
                h3 { "Answer" @if e.answer_truncated { " (cut)" } }
                pre { (e.answer) }
            }
        }
        @if entries.is_empty() { p.muted { "no requests recorded" } }
    }
}

/// What the Requests page filters on (all optional).
#[derive(Debug, Default, serde::Deserialize)]
pub struct RequestFilter {
    pub module: Option<String>,
    pub action: Option<String>,
    pub server: Option<String>,
    pub limit: Option<String>,
    pub msg: Option<String>,
}

/// GET /requests: the request journal, newest first, with filters.
pub fn requests(state: &AppState, f: &RequestFilter) -> Markup {
    let text = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let server = text(&f.server);
    let limit = text(&f.limit)
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(100)
        .clamp(1, 1000);
    let mut notice = f.msg.clone();
    let matcher = crate::faults::Matcher {
        module: text(&f.module),
        action: text(&f.action),
        server: server.as_deref().and_then(|s| s.parse().ok()),
        ..Default::default()
    };
    if server.is_some() && matcher.server.is_none() {
        notice = Some("the server filter must be a server id (a number)".into());
    }
    let entries = state.journal.list(&crate::journal::Query {
        matcher,
        since: None,
        limit,
    });
    let body = html! {
        form.filters method="get" action="/requests" {
            label { "module " input name="module" value=[f.module.as_deref()] placeholder="eq"; }
            label { "action " input name="action" value=[f.action.as_deref()] placeholder="reboot"; }
            label { "server " input name="server" value=[f.server.as_deref()] placeholder="40101"; }
            label { "limit " input type="number" name="limit" min="1" max="1000" value=(limit); }
            button type="submit" { "Filter" }
        }
        p.muted { (state.journal.len()) " of at most " (state.journal.capacity()) " requests kept; secrets are masked" }
        (request_rows(&entries))
        form method="post" action="/requests/clear" {
            input type="hidden" name="csrf" value=(csrf_token());
            button type="submit" { "Forget every request" }
        }
    };
    layout("Requests", "/requests", notice.as_deref(), body)
}

/// GET /faults: the fault rules with their hits; add one (JSON) or remove them.
pub fn faults(state: &AppState, notice: Option<&str>) -> Markup {
    let rules = state.faults.list(state.clock.now());
    let body = html! {
        div.scroll { table {
            thead { tr { th { "id" } th { "matches" } th { "effect" } th { "hits" } th { "remaining" } th { "active" } th {} } }
            tbody {
                @for r in &rules { tr {
                    td { (r["id"]) }
                    td { code { (rule_match(r)) } }
                    td { code { (serde_json::to_string(&r["effect"]).unwrap_or_default()) } }
                    td { (r["hits"]) }
                    td { (r["remaining"]) }
                    td { (r["active"]) }
                    td { form method="post" action={ "/faults/" (r["id"]) "/delete" } {
                        input type="hidden" name="csrf" value=(csrf_token());
                        button type="submit" { "Remove" }
                    } }
                } }
                @if rules.is_empty() { tr { td colspan="7" { span.muted { "no fault rules" } } } }
            }
        } }
        h2 { "Add a rule" }
        p.muted { "A rule as POST /_emu/faults takes it (see the README's Testing your client), e.g. "
            code { r#"{"module":"eq","action":"reboot","server":40101,"times":1,"effect":{"type":"error","error":"not_found"}}"# } }
        form method="post" action="/faults/add" {
            input type="hidden" name="csrf" value=(csrf_token());
            textarea name="rule" rows="5" cols="80" required {}
            button type="submit" class="primary" { "Add" }
        }
    };
    layout("Faults", "/faults", notice, body)
}

/// What a rule matches, as JSON (its module, action, server, account and fields).
fn rule_match(rule: &serde_json::Value) -> String {
    let picked: serde_json::Map<String, serde_json::Value> =
        ["module", "action", "server", "account", "fields"]
            .iter()
            .filter_map(|k| rule.get(*k).map(|v| ((*k).to_owned(), v.clone())))
            .collect();
    serde_json::Value::Object(picked).to_string()
}

/// GET /f2h/keys (and the answer of a new key): the F2HCloud scoped keys, and the
/// "Generate API key" form shaped like the NOC's. `created` is a key just made, shown once.
pub async fn f2h_keys(
    state: &AppState,
    notice: Option<&str>,
    created: Option<&str>,
) -> Result<Markup, Error> {
    let keys = store::f2h::keys(&state.db).await?;
    let accounts = dash::accounts(&state.db).await?;
    let list = |json: &str| -> String {
        serde_json::from_str::<Vec<Value>>(json)
            .unwrap_or_default()
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| v.to_string())
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let body = html! {
        @if let Some(full) = created {
            div.notice role="status" {
                p { b { "Your new API key" } " (shown once; only a digest of its secret is kept):" }
                pre #new-key { (full) }
                p { "Use it as " code { "X-API-Key: " (full) } }
            }
        }
        div.scroll { table {
            thead { tr { th { "id" } th { "account" } th { "label" } th { "servers" } th { "allowed networks" } th { "capabilities" } th { "created" } th { "last used" } th {} } }
            tbody {
                @for k in &keys { tr {
                    td { code { "f2h." (k.id) ".…" } } td { (k.account_id) } td { (k.label) }
                    td { (list(&k.server_ids)) } td { (list(&k.cidrs)) } td { (list(&k.capabilities)) }
                    td { (format_datetime(k.created_at)) }
                    td { (k.last_used_at.map(format_datetime).unwrap_or_else(|| "never".into())) }
                    td {
                        @if let Some(at) = k.revoked_at { "revoked " (format_datetime(at)) }
                        @else { form method="post" action={ "/f2h/keys/" (k.id) "/revoke" } {
                            input type="hidden" name="csrf" value=(csrf_token());
                            button type="submit" { "Revoke" }
                        } }
                    }
                } }
                @if keys.is_empty() { tr { td colspan="9" { span.muted { "no keys" } } } }
            }
        } }
        h2 { "Generate API key" }
        form method="post" action="/f2h/keys" {
            input type="hidden" name="csrf" value=(csrf_token());
            p { label { "Account " select name="account_id" {
                @for a in &accounts { option value=(a.id) { (a.handle) " (" (a.id) ")" } }
            } } }
            p { label { "Label " input name="label" placeholder="backup script" required; } }
            p { label { "Servers (hostnames, one per line) " br; textarea name="servers" rows="3" cols="40" {} } }
            p { label { "Allowed networks (CIDR, one per line; empty: any) " br; textarea name="cidrs" rows="3" cols="40" {} } }
            fieldset { legend { "Capabilities" }
                @for c in crate::domain::f2h::CAPABILITIES {
                    label { input type="checkbox" name="capabilities" value=(c); " " (c) } " "
                }
            }
            button type="submit" class="primary" { "Generate API key" }
        }
    };
    Ok(layout("F2HCloud API keys", "/f2h/keys", notice, body))
}
