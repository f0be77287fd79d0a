//! The one dispatcher of the InvAPI face. Every `*.php` module is declared once, as a
//! [`Module`]: its name, its path and its actions (name, access, function). The dispatcher
//! does the prologue every action used to repeat:
//! 1. read `action` and find it in the module's table; an unknown one is answered before
//!    the token is looked at (as the real API does: `eq: unknown action x`);
//! 2. for a session action, resolve the token into a [`Principal`];
//! 3. run the action with a [`Ctx`], which gives it the request's parameters and the
//!    helpers `server()` (owned, by `id`), `pin()` and `task()` (submit and wake);
//! 4. render the result through [`super::respond`] (or the action's own response).

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use axum::extract::State;
use axum::http::{HeaderName, HeaderValue};
use axum::response::Response;
use serde_json::Value;

use super::args::Args;
use super::{respond, Call};
use crate::error::{Error, Result};
use crate::faults::{Applied, DropConnection, Effect, NamedError};
use crate::http::php_form::Params;
use crate::ops::sessions::{self, Principal};
use crate::ops::{pin, servers};
use crate::queue::{self, NewTask};
use crate::state::AppState;
use crate::store::servers::Server;

/// A boxed future borrowing the context.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What an action is: a JSON answer rendered in the one envelope, or (for the rare action
/// that answers with something else, such as a PNG) a whole response.
#[derive(Clone, Copy)]
pub enum Run {
    Json(for<'a> fn(&'a Ctx) -> BoxFuture<'a, Result<Value>>),
    Raw(for<'a> fn(&'a Ctx) -> BoxFuture<'a, Response>),
}

/// Who may call an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No token needed (catalogue, logins, callback checks).
    Public,
    /// A live session token (`token`) is required; the action gets its principal.
    Session,
}

/// One action of a module.
#[derive(Clone, Copy)]
pub struct Action {
    pub name: &'static str,
    pub access: Access,
    pub run: Run,
    /// A pure read: its answer depends on nothing but the database, the catalogue, the
    /// emulator clock's second, the parameters and the session, and it writes nothing. Its
    /// answers are remembered until the next write ([`crate::readcache`]).
    pub pure: bool,
}

/// One `*.php` module: declared once, routed and dispatched from this declaration.
pub struct Module {
    /// The module's name as the envelope's error texts show it (`eq`, `eq_callback`).
    pub name: &'static str,
    pub actions: &'static [Action],
}

impl Module {
    /// The route path, `/<name>.php`.
    pub fn path(&self) -> String {
        format!("/{}.php", self.name)
    }

    fn find(&self, action: &str) -> Option<&Action> {
        self.actions.iter().find(|a| a.name == action)
    }
}

/// Declares a module's action table: `actions![session "list" => list, public "info" => info]`.
/// `session_raw` marks a session action that answers with its own response; `session_pure`
/// and `public_pure` mark pure reads (see [`Action::pure`]).
#[macro_export]
macro_rules! invapi_actions {
    ($($access:ident $name:literal => $f:path),* $(,)?) => {
        &[$($crate::invapi::dispatch::Action {
            name: $name,
            access: $crate::invapi_actions!(@access $access),
            run: $crate::invapi_actions!(@run $access $f),
            pure: $crate::invapi_actions!(@pure $access),
        }),*]
    };
    (@access public) => { $crate::invapi::dispatch::Access::Public };
    (@access public_pure) => { $crate::invapi::dispatch::Access::Public };
    (@access session) => { $crate::invapi::dispatch::Access::Session };
    (@access session_pure) => { $crate::invapi::dispatch::Access::Session };
    (@access session_raw) => { $crate::invapi::dispatch::Access::Session };
    (@pure public_pure) => { true };
    (@pure session_pure) => { true };
    (@pure $access:ident) => { false };
    (@run session_raw $f:path) => { $crate::invapi::dispatch::Run::Raw(|c| Box::pin($f(c))) };
    (@run $access:ident $f:path) => { $crate::invapi::dispatch::Run::Json(|c| Box::pin($f(c))) };
}
pub use crate::invapi_actions as actions;

/// One request on its way through an action.
pub struct Ctx {
    pub state: AppState,
    pub call: Call,
    /// The module's name, for actions shared by several modules.
    pub module: &'static str,
    /// The action's name, for functions that serve several actions.
    pub action: &'static str,
    principal: Option<Principal>,
    /// Headers the action adds to the response (e.g. the login delay).
    headers: Mutex<Vec<(HeaderName, HeaderValue)>>,
}

impl Ctx {
    /// The request's merged parameters.
    pub fn params(&self) -> &Params {
        &self.call.params
    }

    /// Who is asking. Only session actions have a principal; for a public action this is
    /// the error a missing token gets.
    pub fn principal(&self) -> Result<&Principal> {
        self.principal.as_ref().ok_or(Error::InvalidToken)
    }

    /// The state, the call and the principal: what most actions start with.
    pub fn parts(&self) -> Result<(&AppState, &Call, &Principal)> {
        Ok((&self.state, &self.call, self.principal()?))
    }

    /// The server named by `id`, if it is the principal's and inside its scope.
    pub async fn server(&self) -> Result<Server> {
        let id = self.params().req_int("id")?;
        self.server_by_id(id).await
    }

    /// The server with this id, if it is the principal's and inside its scope.
    pub async fn server_by_id(&self, id: i64) -> Result<Server> {
        servers::owned(&self.state, self.principal()?.scope(), id).await
    }

    /// Checks the request's `pin` where the account has one (decisions.md, PIN codes).
    pub async fn pin(&self) -> Result<()> {
        pin::require(&self.state, self.principal()?, self.params().get("pin")).await
    }

    /// Submits an async job (its callback record and the job, in one transaction) and
    /// wakes the worker; returns the callback key.
    pub async fn task(&self, task: NewTask<'_>) -> Result<String> {
        queue::submit(&self.state, task).await
    }

    /// Adds a header to the response.
    pub fn set_header(&self, name: HeaderName, value: HeaderValue) {
        self.headers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((name, value));
    }
}

/// Answers one request to `module`, applying the fault rules (`/_emu/faults`) and
/// recording it in the journal and the metrics.
pub async fn dispatch(module: &'static Module, state: AppState, call: Call) -> Response {
    let started = std::time::Instant::now();
    let time = state.clock.now();
    let journaled = state.journal.capacity() > 0;
    let client = call.client_ip;
    let server = call.params.get("id").and_then(|v| v.trim().parse().ok());
    let fields = if journaled {
        fields_of(&call.params)
    } else {
        crate::journal::Entry::no_fields()
    };
    let mut seen = Seen::default();
    let (response, rendered) = answer(module, state.clone(), call, time, &mut seen).await;
    let truncating = seen
        .fault
        .as_ref()
        .is_some_and(|a| matches!(a.effect, Effect::Truncate { .. }));
    let (response, status, body) = match rendered {
        _ if seen.dropped => (response, 0, bytes::Bytes::new()),
        // A JSON answer rendered here: its bytes are known, nothing to read back.
        Some(body) => {
            let status = response.status().as_u16();
            (response, status, body)
        }
        None => capture(response, truncating).await,
    };
    let action = seen.action.unwrap_or("(unknown)");
    let result: std::borrow::Cow<'static, str> = match status {
        0 => "dropped".into(),
        200 if body.starts_with(b"{\"result\":-1") => "error".into(),
        200 => "ok".into(),
        other => format!("http_{other}").into(),
    };
    let elapsed = started.elapsed();
    state
        .metrics
        .request("invapi", module.name, action, result, elapsed.as_secs_f64());
    if let Some(applied) = &seen.fault {
        state.metrics.fault(applied.effect.kind());
    }
    if journaled {
        let (answer, answer_truncated) = if is_json(&response) {
            state.journal.keep_answer(&body)
        } else {
            // Not read (an image, a PDF): described, not kept.
            (format!("({})", content_type(&response)).into(), true)
        };
        state.journal.record(crate::journal::Entry {
            seq: 0,
            time,
            face: "invapi",
            client: state.journal.client_text(client),
            module: module.name.into(),
            action: match seen.action {
                Some(action) => action.into(),
                None => seen.requested.into(),
            },
            server,
            account: seen.account,
            url: None,
            fields,
            status,
            answer,
            answer_truncated,
            duration_ms: elapsed.as_secs_f64() * 1000.0,
            fault: seen.fault.as_ref().map(|a| a.rule),
        });
    }
    match seen.fault.map(|a| a.effect) {
        Some(Effect::Truncate { bytes }) => truncated(response, body, bytes),
        _ => response,
    }
}

/// What the journal and the metrics learn while a request is answered.
#[derive(Default)]
struct Seen {
    /// The action, when it is one of the module's.
    action: Option<&'static str>,
    /// The action asked for (its first 64 characters), when it is none of the module's.
    requested: String,
    /// The session's account.
    account: Option<i64>,
    fault: Option<Applied>,
    dropped: bool,
}

/// The request's parameters as the journal keeps them, secrets masked: a JSON object's
/// text. Lists are gathered into arrays; the usual request, scalars only, is serialized
/// straight from the parameters.
fn fields_of(params: &Params) -> std::sync::Arc<serde_json::value::RawValue> {
    if params.only_scalars() {
        if let Ok(raw) = serde_json::value::to_raw_value(&Scalars(params)) {
            return raw.into();
        }
    }
    let mut out = serde_json::Map::new();
    params.each(|k, v, list| {
        let v = crate::journal::masked(k, v);
        if list {
            match out
                .entry(k.to_owned())
                .or_insert_with(|| Value::Array(Vec::new()))
            {
                Value::Array(items) => items.push(v),
                other => *other = Value::Array(vec![other.take(), v]),
            }
        } else {
            out.insert(k.to_owned(), v);
        }
    });
    crate::journal::Entry::fields_of(&out)
}

/// Parameters that are all scalars, serialized as the journal's object of masked values.
struct Scalars<'a>(&'a Params);

impl serde::Serialize for Scalars<'_> {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        let mut failed = None;
        self.0.each(|k, v, _| {
            if failed.is_none() {
                failed = map
                    .serialize_entry(k, &crate::journal::masked_text(k, v))
                    .err();
            }
        });
        match failed {
            Some(e) => Err(e),
            None => map.end(),
        }
    }
}

/// Is the response a JSON answer?
fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"))
}

fn content_type(response: &Response) -> String {
    response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("no content type")
        .to_owned()
}

/// The response's status and body, and the response rebuilt around them. Only a JSON
/// answer's body is read (or any body, for `truncate`); other bodies (images, PDFs) pass
/// through unread and are described by the journal.
async fn capture(response: Response, read_any: bool) -> (Response, u16, bytes::Bytes) {
    let status = response.status().as_u16();
    if !read_any && !is_json(&response) {
        return (response, status, bytes::Bytes::new());
    }
    let (parts, body) = response.into_parts();
    // Answers built in memory are one frame; reading them copies nothing.
    match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => (
            Response::from_parts(parts, axum::body::Body::from(bytes.clone())),
            status,
            bytes,
        ),
        Err(_) => (
            Response::from_parts(parts, axum::body::Body::empty()),
            status,
            bytes::Bytes::new(),
        ),
    }
}

/// The `truncate` effect: headers that promise the whole body, then only its first bytes
/// (half of it by default), then the connection closes.
fn truncated(response: Response, body: bytes::Bytes, keep: Option<usize>) -> Response {
    use axum::http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
    let keep = keep
        .unwrap_or(body.len() / 2)
        .min(body.len().saturating_sub(1));
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(TRANSFER_ENCODING);
    parts
        .headers
        .insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    use futures_util::StreamExt;
    let head = body.slice(..keep);
    let first = futures_util::stream::iter([Ok::<_, std::io::Error>(head)]);
    // The break comes a moment later, so that the head and the bytes before it are on the
    // wire first (an error at once would abort the connection before they are flushed).
    let cut = futures_util::stream::once(async {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        Err(std::io::Error::other("body truncated by an injected fault"))
    });
    let stream = first.chain(cut);
    Response::from_parts(parts, axum::body::Body::from_stream(stream))
}

/// The answer of a fault rule that replaces the action's.
fn fault_response(
    module: &Module,
    action: &Action,
    server: Option<i64>,
    effect: &Effect,
) -> Option<Response> {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    match effect {
        Effect::Error { .. } => {
            let error = match effect.named_error()? {
                NamedError::InvalidToken => Error::InvalidToken,
                NamedError::PermissionDenied => Error::Denied("permission denied".into()),
                NamedError::NotFound => Error::NotFound(match server {
                    Some(id) => format!("server {id} not found"),
                    None => "not found".into(),
                }),
                NamedError::Internal => Error::Verbatim("internal error".into()),
                NamedError::Text(text) => Error::Verbatim(text),
            };
            Some(respond(module.name, action.name, Err(error)))
        }
        Effect::Http {
            status,
            body,
            headers,
        } => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY);
            let mut response = match body {
                None => status.into_response(),
                Some(Value::String(text)) => (status, text.clone()).into_response(),
                Some(json) => (status, axum::Json(json.clone())).into_response(),
            };
            for (k, v) in headers {
                if let (Ok(k), Ok(v)) = (
                    HeaderName::from_bytes(k.as_bytes()),
                    HeaderValue::from_str(v),
                ) {
                    response.headers_mut().insert(k, v);
                }
            }
            Some(response)
        }
        Effect::Drop => {
            let mut response = StatusCode::OK.into_response();
            response.extensions_mut().insert(DropConnection);
            Some(response)
        }
        Effect::Latency { .. }
        | Effect::Truncate { .. }
        | Effect::TaskFail { .. }
        | Effect::TaskStuck { .. } => None,
    }
}

/// Answers one request to `module` (the dispatcher proper), with the body of the answer
/// when it is JSON rendered here (none for an action's own response or a fault's).
/// `now` is the emulator clock's time the request came at (the dispatcher reads it once).
async fn answer(
    module: &'static Module,
    state: AppState,
    call: Call,
    now: i64,
    seen: &mut Seen,
) -> (Response, Option<bytes::Bytes>) {
    let requested = call.action();
    let Some(action) = module.find(requested) else {
        seen.requested = requested.chars().take(64).collect();
        return rendered(super::render(
            module.name,
            requested,
            Err(Error::UnknownAction(requested.to_owned())),
        ));
    };
    // Read before anything else: an answer computed while a write was committed (even the
    // session's own expiry) is not remembered.
    let generation = state.db.generation();
    seen.action = Some(action.name);
    let principal = match action.access {
        Access::Public => None,
        Access::Session => {
            match sessions::resolve(&state, call.params.get("token"), call.client_ip).await {
                Ok(p) => Some(p),
                Err(e) => return rendered(super::render(module.name, action.name, Err(e))),
            }
        }
    };
    seen.account = principal.as_ref().map(|p| p.account.id);
    let server = call.params.get("id").and_then(|v| v.trim().parse().ok());
    let applied = {
        let field = |k: &str| call.params.get(k).map(str::to_owned);
        state.faults.check(
            &crate::faults::Request {
                module: module.name,
                action: action.name,
                server,
                account: seen.account,
                field: &field,
            },
            now,
        )
    };
    if let Some(applied) = &applied {
        seen.fault = Some(applied.clone());
        if applied.delay_ms > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(applied.delay_ms)).await;
        }
        if let Some(response) = fault_response(module, action, server, &applied.effect) {
            seen.dropped = matches!(applied.effect, Effect::Drop);
            return (response, None);
        }
    }
    // A fault's answer is no answer to remember, nor is one of a task it decides.
    let task_fault = applied.filter(|a| a.effect.is_task());
    let key = (action.pure && !call.bypass_cache && seen.fault.is_none())
        .then(|| answer_key(module, action, principal.as_ref(), now, &call));
    if let Some(body) = key.as_ref().and_then(|k| state.answers.get(generation, k)) {
        return rendered(body);
    }
    let ctx = Ctx {
        state,
        call,
        module: module.name,
        action: action.name,
        principal,
        headers: Mutex::new(Vec::new()),
    };
    // The body, and whether it is one to remember.
    let (mut response, body, keep) = match (action.run, task_fault) {
        (Run::Json(f), None) => {
            let (response, body) = rendered(super::render(module.name, action.name, f(&ctx).await));
            (response, body, true)
        }
        (Run::Json(f), Some(fault)) => {
            let result = crate::faults::TASK_FAULT.scope(fault, f(&ctx)).await;
            let (response, body) = rendered(super::render(module.name, action.name, result));
            (response, body, false)
        }
        (Run::Raw(f), None) => (f(&ctx).await, None, false),
        (Run::Raw(f), Some(fault)) => (
            crate::faults::TASK_FAULT.scope(fault, f(&ctx)).await,
            None,
            false,
        ),
    };
    let headers = ctx.headers.into_inner().unwrap_or_else(|e| e.into_inner());
    // An answer with headers of its own (a login delay) is not a pure one to keep.
    if let (Some(key), Some(body), true) = (key, &body, keep && headers.is_empty()) {
        let after = ctx.state.db.generation();
        ctx.state.answers.put(generation, after, key, body.clone());
    }
    for (name, value) in headers {
        response.headers_mut().insert(name, value);
    }
    (response, body)
}

/// A JSON answer from its rendered bytes, with those bytes.
fn rendered(body: bytes::Bytes) -> (Response, Option<bytes::Bytes>) {
    (json_response(body.clone()), Some(body))
}

/// What a pure action's answer depends on, as a digest: the action, the session (its token
/// digest; the session's account and scope follow from it), the emulator clock's second and
/// every parameter but the token. A digest, so that no parameter is kept in clear.
fn answer_key(
    module: &Module,
    action: &Action,
    principal: Option<&Principal>,
    now: i64,
    call: &Call,
) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for part in [module.name, action.name] {
        h.update(part.len().to_le_bytes());
        h.update(part.as_bytes());
    }
    let session = principal.map_or("", |p| p.session.token_digest.as_str());
    h.update(session.len().to_le_bytes());
    h.update(session.as_bytes());
    h.update(now.to_le_bytes());
    call.params.fingerprint(&mut h, &["token"]);
    h.finalize().into()
}

/// A JSON answer from its rendered bytes (the same headers as `axum::Json`).
fn json_response(body: bytes::Bytes) -> Response {
    use axum::http::header::CONTENT_TYPE;
    use axum::response::IntoResponse;
    (
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        body,
    )
        .into_response()
}

/// The axum handler of a module.
pub fn handler(
    module: &'static Module,
) -> impl Fn(State<AppState>, Call) -> BoxFuture<'static, Response> + Clone + Send + Sync + 'static
{
    move |State(state): State<AppState>, call: Call| Box::pin(dispatch(module, state, call))
}
