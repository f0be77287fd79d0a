//! The Hestia Control Panel face (issue 18): the REST API of the panels running on emulated
//! servers, on a listener of its own (`--hestia-listen`, port 8083 as Hestia's nginx), HTTPS
//! only (plain HTTP gets nginx's 497 redirect, see [`crate::tls`]).
//!
//! One endpoint, `/api/` (also `/api/index.php`), follows hestia-protocol.md to the byte:
//! the panel is chosen by the `Host` header (the server's hostname or main address, else the
//! only panel); the body is a form (when it carries `access_key`, `user` or `hash`) or a JSON
//! object of any content type, the query string never read; `arg1..arg13` are trimmed and
//! their gaps collapse. Then the legacy path (API switch, IP, password or key, cmd; always
//! HTTP 200) or the access-key path (API_SYSTEM, IP, cmd, key, permission, user argument;
//! statuses from exit codes, `Hestia-Exit-Code`), each with its exact error strings. A panel
//! whose server is off, suspended or being installed answers nothing: the connection closes.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use serde_json::{Map, Value};
use tracing::Span;

use crate::domain::hestia_keys::{self as rules, Path};
use crate::ops::hestia_access as access;
use crate::state::AppState;
use crate::store::hestia_panels::Panel;

/// The largest body read (nginx's `client_max_body_size` default, 1 MiB).
const MAX_BODY: usize = 1024 * 1024;

/// What the API answers a request that carries no credentials (A.4).
pub const NULL_DATA: &str = "Error: data received is null or invalid, check https://hestiacp.com/docs/server-administration/rest-api.html";

/// The face's router: `/api/` and `/api/index.php`; anything else is nginx's 404.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/", any(api))
        .route("/api/index.php", any(api))
        .fallback(|| async { nginx_page(StatusCode::NOT_FOUND) })
        .layer(axum::middleware::from_fn(head_limits))
        .layer(axum::middleware::from_fn_with_state(
            std::time::Duration::from_secs(state.config.request_timeout.max(1)),
            time_limit,
        ))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send + 'static>| {
                tracing::error!("Hestia face panicked");
                nginx_page(StatusCode::INTERNAL_SERVER_ERROR)
            },
        ))
        .layer(axum::middleware::map_response(nginx_headers))
        .layer(tower_http::trace::TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(state)
}

/// The request's span: method and route only (credentials travel in the body, never logged).
fn request_span(req: &Request) -> Span {
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("(unmatched)", |p| p.as_str());
    tracing::debug_span!("hestia", method = %req.method(), path = %path)
}

/// The headers Hestia's nginx adds to every answer (`server_tokens off`, A.1).
async fn nginx_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(header::SERVER, HeaderValue::from_static("nginx"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("x-frame-options", HeaderValue::from_static("SAMEORIGIN"));
    h.insert(
        "x-xss-protection",
        HeaderValue::from_static("1; mode=block"),
    );
    r
}

/// The emulator's limits on the request target and header section, as nginx pages.
async fn head_limits(req: Request, next: axum::middleware::Next) -> Response {
    let r = crate::http::limits::head_limits(req, next).await;
    match r.status() {
        StatusCode::URI_TOO_LONG => nginx_page(StatusCode::URI_TOO_LONG),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => nginx_page(StatusCode::BAD_REQUEST),
        _ => r,
    }
}

/// A request that outlives the request timeout: nginx's 504.
async fn time_limit(
    State(limit): State<std::time::Duration>,
    req: Request,
    next: axum::middleware::Next,
) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(r) => r,
        Err(_) => nginx_page(StatusCode::GATEWAY_TIMEOUT),
    }
}

/// nginx's own error page for `status`.
pub fn nginx_page(status: StatusCode) -> Response {
    let title = format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    );
    let body = format!(
        "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n\
         <hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    );
    (status, [(header::CONTENT_TYPE, "text/html")], body).into_response()
}

/// What PHP sends: `text/html; charset=UTF-8` unless the script said otherwise.
fn php(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=UTF-8")],
        body,
    )
        .into_response()
}

/// A panel that cannot be reached: the connection closes without an answer, as with a
/// host that is down (the connection layer reads this marker).
fn unreachable() -> Response {
    let mut r = StatusCode::BAD_GATEWAY.into_response();
    r.extensions_mut().insert(crate::faults::DropConnection);
    r
}

/// The host a request names, without its port, lower-cased.
fn host_of(headers: &HeaderMap) -> String {
    let raw = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim();
    let host = match raw.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => raw.rsplit_once(':').map_or(raw, |(h, _)| h),
    };
    host.to_ascii_lowercase()
}

/// POST /api/ (and /api/index.php): hestia-protocol.md A.1–A.8.
async fn api(State(state): State<AppState>, req: Request) -> Response {
    let started = Instant::now();
    let host = host_of(req.headers());
    let remote = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(std::net::IpAddr::from([127, 0, 0, 1]), |c| c.0.ip());
    let panel = match access::panel_for_host(&state, &host).await {
        Ok(Some(p)) => p,
        Ok(None) => {
            return php(
                StatusCode::NOT_FOUND,
                format!(
                    "hostkey-emu: no Hestia Control Panel answers for host '{}': order or reinstall a server \
                     with the \"{}\" software, then use its hostname or main address (GET /_emu/hestia/panels lists them)",
                    crate::domain::rules::shorten(&host),
                    access::SOFTWARE_NAME
                ),
            )
        }
        Err(e) => return internal(e),
    };
    match access::reachable(&state, &panel).await {
        Ok(true) => {}
        Ok(false) => return unreachable(),
        Err(e) => return internal(e),
    }
    match panel.api_mode.as_str() {
        "removed" => return nginx_page(StatusCode::NOT_FOUND),
        "disabled" => return php(StatusCode::OK, "Error: Disabled".to_owned()),
        _ => {}
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = match axum::body::to_bytes(req.into_body(), MAX_BODY).await {
        Ok(b) => b,
        Err(_) => return nginx_page(StatusCode::PAYLOAD_TOO_LARGE),
    };
    let fields = read_fields(&content_type, body).await;
    let client = rules::client_ip(remote);
    let answer = match answer(&state, &panel, &client, fields.as_ref()).await {
        Ok(a) => a,
        Err(e) => return internal(e),
    };
    let response = answer.response();
    record(&state, &panel, &client, fields.as_ref(), &answer, started);
    response
}

/// An internal failure: logged with its detail, answered as nginx's 500 page.
fn internal(e: crate::error::Error) -> Response {
    tracing::error!(error = ?e, "Hestia face: internal error");
    nginx_page(StatusCode::INTERNAL_SERVER_ERROR)
}

/// The request's fields, PHP's way: `$_POST` of a form when it carries `access_key`, `user`
/// or `hash`; else the body decoded as a JSON object (any content type); else `None`.
async fn read_fields(content_type: &str, body: Bytes) -> Option<HashMap<String, String>> {
    let lower = content_type.to_ascii_lowercase();
    let mut form = HashMap::new();
    if lower.starts_with("application/x-www-form-urlencoded") {
        for (k, v) in form_urlencoded::parse(&body) {
            form.insert(k.into_owned(), v.into_owned());
        }
    } else if lower.starts_with("multipart/form-data") {
        if let Ok(boundary) = multer::parse_boundary(content_type) {
            let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(body) });
            let mut m = multer::Multipart::new(stream, boundary);
            while let Ok(Some(field)) = m.next_field().await {
                let name = field.name().unwrap_or("").to_owned();
                let is_file = field.file_name().is_some();
                let Ok(bytes) = field.bytes().await else {
                    break;
                };
                if !is_file {
                    form.insert(name, String::from_utf8_lossy(&bytes).into_owned());
                }
            }
        }
        return ["access_key", "user", "hash"]
            .iter()
            .any(|k| form.contains_key(*k))
            .then_some(form);
    }
    if ["access_key", "user", "hash"]
        .iter()
        .any(|k| form.contains_key(*k))
    {
        return Some(form);
    }
    let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(&body) else {
        return None;
    };
    Some(json_fields(object))
}

/// A JSON object's members as PHP sees them once it reads them as strings (numbers in
/// their decimal text, `true` as `1`, `false` and `null` empty); nested values are left out.
fn json_fields(object: Map<String, Value>) -> HashMap<String, String> {
    object
        .into_iter()
        .filter_map(|(k, v)| {
            let text = match v {
                Value::String(s) => s,
                Value::Number(n) => n.to_string(),
                Value::Bool(true) => "1".to_owned(),
                Value::Bool(false) | Value::Null => String::new(),
                Value::Array(_) | Value::Object(_) => return None,
            };
            Some((k, text))
        })
        .collect()
}

/// How the answer is rendered: by the legacy engine or the access-key engine.
#[derive(Debug)]
enum Answer {
    /// 405: no credentials, no JSON object (the text in every mode).
    NullData,
    /// A refusal before the command ran: HTTP status, `Hestia-Exit-Code`, body.
    Refused {
        status: u16,
        exit: u16,
        body: String,
    },
    /// The legacy engine's answer to a command that ran: 200, no exit-code header.
    Legacy { body: String, cmd: String },
    /// The access-key engine's answer to a command that ran.
    Keyed {
        exit: u8,
        output: String,
        code_mode: bool,
        cmd: String,
    },
}

impl Answer {
    fn response(&self) -> Response {
        match self {
            Answer::NullData => with_exit(
                php(StatusCode::METHOD_NOT_ALLOWED, NULL_DATA.to_owned()),
                405,
            ),
            Answer::Refused { status, exit, body } => with_exit(
                php(
                    StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_REQUEST),
                    body.clone(),
                ),
                *exit,
            ),
            Answer::Legacy { body, .. } => php(StatusCode::OK, body.clone()),
            Answer::Keyed {
                exit,
                output,
                code_mode,
                ..
            } => {
                if *code_mode {
                    return with_exit(php(StatusCode::OK, exit.to_string()), u16::from(*exit));
                }
                let text = output.trim().to_owned();
                if *exit == 0 && text.is_empty() {
                    return with_exit(StatusCode::NO_CONTENT.into_response(), 0);
                }
                let status = StatusCode::from_u16(rules::http_status(u16::from(*exit)))
                    .unwrap_or(StatusCode::BAD_REQUEST);
                let json = *exit == 0 && rules::json_truthy(&text);
                let mut r = php(status, text);
                if json {
                    r.headers_mut().insert(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/json; charset=utf-8"),
                    );
                }
                with_exit(r, u16::from(*exit))
            }
        }
    }

    fn status(&self) -> u16 {
        match self {
            Answer::NullData => 405,
            Answer::Refused { status, .. } => *status,
            Answer::Legacy { .. } => 200,
            Answer::Keyed {
                exit,
                output,
                code_mode,
                ..
            } => match (*code_mode, *exit, output.trim().is_empty()) {
                (true, _, _) => 200,
                (false, 0, true) => 204,
                (false, e, _) => rules::http_status(u16::from(e)),
            },
        }
    }
}

fn with_exit(mut r: Response, exit: u16) -> Response {
    r.headers_mut()
        .insert("hestia-exit-code", HeaderValue::from(exit));
    r
}

/// `api_error`: the status from the code, the message prefixed with `Error: ` unless it
/// already is, or just the code in code mode.
fn refused(exit: u16, message: &str, code_mode: bool) -> Answer {
    let body = if code_mode {
        exit.to_string()
    } else if message.starts_with("Error:") {
        message.to_owned()
    } else {
        format!("Error: {message}")
    };
    Answer::Refused {
        status: rules::http_status(exit),
        exit,
        body,
    }
}

/// The request, read: the command, its arguments as sent (by number) and collapsed.
struct Call<'a> {
    fields: &'a HashMap<String, String>,
    cmd: String,
    /// `arg1..arg13` that were present, trimmed, by their number.
    numbered: Vec<(usize, String)>,
    code_mode: bool,
}

impl<'a> Call<'a> {
    fn new(fields: &'a HashMap<String, String>) -> Call<'a> {
        let numbered = (1..=13)
            .filter_map(|i| {
                fields
                    .get(&format!("arg{i}"))
                    .map(|v| (i, v.trim().to_owned()))
            })
            .collect();
        Call {
            fields,
            cmd: fields.get("cmd").map_or("", |c| c.trim()).to_owned(),
            numbered,
            code_mode: fields.get("returncode").map(String::as_str) == Some("yes"),
        }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }

    /// The arguments as the command receives them: gaps collapsed.
    fn args(&self) -> Vec<String> {
        self.numbered.iter().map(|(_, v)| v.clone()).collect()
    }

    /// `arg<n>` as sent (the access-key check reads the USER argument by its number).
    fn arg_numbered(&self, n: usize) -> Option<&str> {
        self.numbered
            .iter()
            .find(|(i, _)| *i == n)
            .map(|(_, v)| v.as_str())
    }

    /// The `cmd` checks (both paths): empty, then its characters.
    fn cmd_refusal(&self) -> Option<Answer> {
        if self.cmd.is_empty() {
            return Some(refused(2, "Error: Command not provided", self.code_mode));
        }
        if !rules::is_command_name(&self.cmd) {
            return Some(refused(
                2,
                &format!("Error: {} command invalid", self.cmd),
                self.code_mode,
            ));
        }
        None
    }
}

/// Runs the checks of A.4 in their order and the command; which engine answers depends
/// on the credentials.
async fn answer(
    state: &AppState,
    panel: &Panel,
    client: &str,
    fields: Option<&HashMap<String, String>>,
) -> crate::error::Result<Answer> {
    let Some(fields) = fields else {
        return Ok(Answer::NullData);
    };
    let mut fields = fields.clone();
    // `hash=ID:SECRET` is an access key for clients with one credential field.
    if !fields.contains_key("access_key") {
        let pair = fields
            .get("hash")
            .and_then(|h| rules::split_access_hash(h))
            .map(|(id, secret)| (id.to_owned(), secret.to_owned()));
        if let Some((id, secret)) = pair {
            fields.remove("hash");
            fields.insert("access_key".into(), id);
            fields.insert("secret_key".into(), secret);
        }
    }
    let call = Call::new(&fields);
    if call.get("access_key").is_some() && call.get("secret_key").is_some() {
        return keyed(state, panel, client, &call).await;
    }
    if call.get("user").is_some() || call.get("hash").is_some() {
        return legacy(state, panel, client, &call).await;
    }
    Ok(Answer::NullData)
}

/// The legacy path: API switch, IP, password or key, cmd; the command's answer with 200.
async fn legacy(
    state: &AppState,
    panel: &Panel,
    client: &str,
    call: &Call<'_>,
) -> crate::error::Result<Answer> {
    let code_mode = call.code_mode;
    if panel.api != "yes" {
        // Two echoes with no separator (A.4).
        let body = if code_mode {
            "Error: API has been disabled11".to_owned()
        } else {
            "Error: API has been disabledError: API Disabled".to_owned()
        };
        return Ok(Answer::Refused {
            status: 400,
            exit: 11,
            body,
        });
    }
    if !rules::ip_allowed(&panel.api_allowed_ip, client, Path::Legacy) {
        return Ok(refused(
            10,
            "Error: IP is not allowed to connect with API",
            code_mode,
        ));
    }
    match call.get("hash").filter(|h| !h.is_empty()) {
        Some(key) => {
            if !access::check_api_key(state, panel, key).await? {
                return Ok(refused(9, "Error: authentication failed", code_mode));
            }
        }
        None => {
            if call.get("user") != Some(panel.root_user.as_str()) {
                return Ok(refused(10, "Error: authentication failed", code_mode));
            }
            let Some(password) = call.get("password").filter(|p| !p.is_empty()) else {
                return Ok(refused(9, "Error: authentication failed", code_mode));
            };
            if !access::check_password(state, panel, password).await? {
                return Ok(refused(9, "Error: authentication failed", code_mode));
            }
        }
    }
    if let Some(refusal) = call.cmd_refusal() {
        return Ok(refusal);
    }
    let cmd = call.cmd.clone();
    // A command Hestia does not have fails in sudo, on stderr: exit 1, nothing printed.
    let output = if access::command_exists(&cmd) {
        access::run(state, panel, &cmd, &call.args()).await?
    } else {
        crate::ops::hestia::Output {
            exit: 1,
            stdout: String::new(),
        }
    };
    let body = if code_mode {
        output.exit.to_string()
    } else if output.stdout.trim().is_empty() {
        // The quirk: `OK` whenever nothing was printed, whatever the exit code.
        "OK".to_owned()
    } else {
        // exec(): lines without trailing whitespace, joined, plus a newline.
        let lines: Vec<&str> = output
            .stdout
            .trim_end()
            .lines()
            .map(str::trim_end)
            .collect();
        format!("{}\n", lines.join("\n"))
    };
    Ok(Answer::Legacy { body, cmd })
}

/// The access-key path: API_SYSTEM, IP, cmd, the key, the non-admin gates, the command.
async fn keyed(
    state: &AppState,
    panel: &Panel,
    client: &str,
    call: &Call<'_>,
) -> crate::error::Result<Answer> {
    let code_mode = call.code_mode;
    if panel.api_system.is_empty() || panel.api_system == "0" {
        return Ok(refused(11, "Error: API has been disabled", code_mode));
    }
    if !rules::ip_allowed(&panel.api_allowed_ip, client, Path::AccessKey) {
        return Ok(refused(
            10,
            "Error: IP is not allowed to connect with API",
            code_mode,
        ));
    }
    if let Some(refusal) = call.cmd_refusal() {
        return Ok(refusal);
    }
    let (id, secret) = (
        call.get("access_key").unwrap_or(""),
        call.get("secret_key").unwrap_or(""),
    );
    if id.is_empty() || secret.is_empty() {
        return Ok(refused(9, "Error: Authentication failed", code_mode));
    }
    let holder = match access::check_access_key(state, panel, id, secret, &call.cmd).await? {
        Ok(h) => h,
        Err(r) => return Ok(refused(u16::from(r.exit), &r.message, code_mode)),
    };
    if !holder.root {
        if panel.api_system != "2" {
            return Ok(refused(21, "Error: API has been disabled", code_mode));
        }
        let position = rules::command(&call.cmd).map_or(0, |c| c.user_arg);
        if position > 0 && call.arg_numbered(position) != Some(holder.key.user.as_str()) {
            return Ok(refused(
                10,
                &format!(
                    "Error: Key {} - the \"user\" argument doesn\\'t match the key\\'s user",
                    holder.key.id
                ),
                code_mode,
            ));
        }
    }
    let output = access::run(state, panel, &call.cmd, &call.args()).await?;
    Ok(Answer::Keyed {
        exit: output.exit,
        output: output.stdout,
        code_mode,
        cmd: call.cmd.clone(),
    })
}

/// Commands whose answers carry a secret: the journal keeps no part of them.
const SECRET_ANSWERS: &[&str] = &[
    "v-add-access-key",
    "v-generate-api-key",
    "v-list-access-key",
    "v-check-access-key",
];

/// Records the request in the journal (`/_emu/requests`, face `hestia`, module `hestia`,
/// action = the command), with every credential and password argument masked.
fn record(
    state: &AppState,
    panel: &Panel,
    client: &str,
    fields: Option<&HashMap<String, String>>,
    answer: &Answer,
    started: Instant,
) {
    let empty = HashMap::new();
    let fields = fields.unwrap_or(&empty);
    let cmd = fields.get("cmd").map_or("", |c| c.trim());
    let action = if cmd.is_empty() {
        "(none)".to_owned()
    } else if rules::is_command_name(cmd) && cmd.len() <= 64 {
        cmd.to_owned()
    } else {
        "(invalid)".to_owned()
    };
    let options: Vec<String> = rules::command(cmd)
        .map(|c| {
            c.options
                .split_whitespace()
                .map(|o| o.trim_matches(|ch| ch == '[' || ch == ']').to_owned())
                .collect()
        })
        .unwrap_or_default();
    let mut kept = Map::new();
    let mut position = 0;
    for i in 1..=13 {
        let name = format!("arg{i}");
        let Some(v) = fields.get(&name) else { continue };
        position += 1;
        let option = options.get(position - 1).map_or("", String::as_str);
        let secret = ["PASS", "HASH", "SECRET", "KEY"]
            .iter()
            .any(|w| option.contains(w))
            || (cmd == "v-make-tmp-file" && position == 1);
        kept.insert(
            name.clone(),
            if secret {
                Value::String(crate::journal::MASK.to_owned())
            } else {
                crate::journal::masked(&name, v)
            },
        );
    }
    for (k, v) in fields {
        if k.starts_with("arg") && kept.contains_key(k) {
            continue;
        }
        let value = if matches!(
            k.as_str(),
            "hash" | "password" | "secret_key" | "access_key"
        ) {
            Value::String(crate::journal::MASK.to_owned())
        } else {
            crate::journal::masked(k, v)
        };
        kept.insert(k.clone(), value);
    }
    let body = match answer {
        Answer::NullData => NULL_DATA.to_owned(),
        Answer::Refused { body, .. } => body.clone(),
        Answer::Legacy { body, .. } => body.clone(),
        Answer::Keyed {
            output,
            exit,
            code_mode,
            ..
        } => {
            if *code_mode {
                exit.to_string()
            } else {
                output.trim().to_owned()
            }
        }
    };
    let ran = match answer {
        Answer::Legacy { cmd, .. } | Answer::Keyed { cmd, .. } => Some(cmd.as_str()),
        _ => None,
    };
    let (answer_text, truncated) = if ran.is_some_and(|c| SECRET_ANSWERS.contains(&c)) {
        ("(holds a secret, not kept)".to_owned(), true)
    } else {
        crate::journal::kept_answer(body.as_bytes())
    };
    state.journal.record(crate::journal::Entry {
        seq: 0,
        time: state.clock.now(),
        face: "hestia",
        client: client.into(),
        module: "hestia".into(),
        action: action.into(),
        server: Some(panel.server_id),
        account: None,
        url: None,
        fields: crate::journal::Entry::fields_of(&kept),
        status: answer.status(),
        answer: answer_text.into(),
        answer_truncated: truncated,
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        fault: None,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_is_read_without_its_port() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("Panel.Example:8083"));
        assert_eq!(host_of(&h), "panel.example");
        h.insert(header::HOST, HeaderValue::from_static("[::1]:8083"));
        assert_eq!(host_of(&h), "::1");
        h.insert(header::HOST, HeaderValue::from_static("10.0.0.1"));
        assert_eq!(host_of(&h), "10.0.0.1");
    }

    #[tokio::test]
    async fn forms_count_only_with_credentials_and_json_objects_of_any_type_do() {
        let form = read_fields(
            "application/x-www-form-urlencoded",
            Bytes::from_static(b"user=admin&cmd=v-list-users&arg1=+json+&arg3="),
        )
        .await
        .expect("a form with user");
        assert_eq!(form["arg1"], " json ");
        assert_eq!(form["arg3"], "");
        assert!(read_fields(
            "application/x-www-form-urlencoded",
            Bytes::from_static(b"cmd=v-list-users")
        )
        .await
        .is_none());
        let json = read_fields(
            "text/plain",
            Bytes::from_static(br#"{"hash":"a:b","cmd":"v-list-users","arg1":5,"x":[1]}"#),
        )
        .await
        .expect("a JSON object");
        assert_eq!(json["arg1"], "5");
        assert!(!json.contains_key("x"));
        assert!(read_fields("application/json", Bytes::from_static(b"[1]"))
            .await
            .is_none());
        assert!(read_fields("", Bytes::new()).await.is_none());
    }

    #[test]
    fn arguments_are_trimmed_and_their_gaps_collapse() {
        let fields: HashMap<String, String> = [
            ("cmd", " v-list-user "),
            ("arg1", " bob "),
            ("arg3", "json"),
            ("arg5", ""),
            ("arg14", "ignored"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let call = Call::new(&fields);
        assert_eq!(call.cmd, "v-list-user");
        assert_eq!(call.args(), ["bob", "json", ""]);
        assert_eq!(call.arg_numbered(3), Some("json"));
        assert_eq!(call.arg_numbered(2), None);
        assert!(!call.code_mode);
    }
}
