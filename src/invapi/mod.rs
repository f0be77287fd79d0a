//! The HOSTKEY InvAPI protocol layer: one file per `*.php` module, the request extractor
//! (`Call`), argument helpers, session checks, and the envelopes of `decisions.md` §2-3.
//! The core (store, sim, tasks) knows nothing of these shapes.

pub mod api_keys;
pub mod args;
pub mod auth;
pub mod callback;
pub mod catalogue;
pub mod eq;
pub mod ip;
pub mod jenkins;
pub mod jira;
pub mod nat;
pub mod net;
pub mod os;
pub mod presets;
pub mod software;
pub mod stocks;
pub mod tags;
pub mod traffic_plans;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequest, Request};
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::error::Error;
use crate::http::php_form::{FormError, Params};
use crate::state::AppState;

/// Routes of every implemented module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth.php", any(auth::handle))
        .route("/api_keys.php", any(api_keys::handle))
        .route("/eq.php", any(eq::handle))
        .route("/tags.php", any(tags::handle))
        .route("/net.php", any(net::handle))
        .route("/ip.php", any(ip::handle))
        .route("/nat.php", any(nat::handle))
        .route("/presets.php", any(presets::handle))
        .route("/os.php", any(os::handle))
        .route("/software.php", any(software::handle))
        .route("/traffic_plans.php", any(traffic_plans::handle))
        .route("/stocks.php", any(stocks::handle))
        .route("/jenkins.php", any(jenkins::handle))
        .route("/jira.php", any(jira::handle))
        .route("/eq_callback.php", any(callback::handle_eq))
        .route("/nat_callback.php", any(callback::handle_nat))
}

/// One InvAPI request: its merged parameters and where it came from.
#[derive(Debug)]
pub struct Call {
    pub params: Params,
    pub client_ip: IpAddr,
    /// `Host` header, for URLs that must point at the emulator itself.
    pub host: String,
}

impl Call {
    /// The requested action ('' when missing).
    pub fn action(&self) -> &str {
        self.params.get("action").map(str::trim).unwrap_or("")
    }
}

/// Rejection of a request whose parameters cannot be read.
pub struct Rejection(Response);

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        self.0
    }
}

impl FromRequest<AppState> for Call {
    type Rejection = Rejection;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let client_ip = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost")
            .to_owned();
        let module = module_of(req.uri());
        match Params::from_request_parts(req, state.config.body_limit).await {
            Ok(params) => Ok(Call { params, client_ip, host }),
            Err(FormError::TooLarge(limit)) => Err(Rejection(
                (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    Json(json!({"result": -1, "error": format!("{module}: request body too large (limit {limit} bytes)")})),
                )
                    .into_response(),
            )),
            Err(e) => Err(Rejection(Json(json!({"result": -1, "error": format!("{module}: {e}")})).into_response())),
        }
    }
}

fn module_of(uri: &Uri) -> String {
    uri.path()
        .trim_start_matches('/')
        .trim_end_matches(".php")
        .chars()
        .take(40)
        .collect()
}

/// Turns an action's result into the HTTP 200 response of the InvAPI.
pub fn respond(module: &str, action: &str, result: Result<Value, Error>) -> Response {
    match result {
        Ok(v) => Json(v).into_response(),
        Err(e) => Json(error_body(module, action, e)).into_response(),
    }
}

/// The one error shape: `{"result":-1,"error":"<module>/<action>: <reason>"}`.
pub fn error_body(module: &str, action: &str, e: Error) -> Value {
    let text = match e {
        Error::InvalidToken => "auth: invalid token".to_owned(),
        Error::InvalidApiKey(masked) => format!("Invalid API key {masked}"),
        Error::UnknownAction(a) if a.is_empty() => format!("{module}: missing action"),
        Error::UnknownAction(a) => format!("{module}: unknown action {}", truncate(&a, 64)),
        Error::Verbatim(s) => s,
        Error::Internal(detail) => {
            tracing::error!(module, action, detail = %detail, "internal error");
            "internal error".to_owned()
        }
        Error::Invalid(m) | Error::NotFound(m) | Error::Denied(m) | Error::Conflict(m) => {
            format!("{module}/{action}: {m}")
        }
    };
    json!({"result": -1, "error": text})
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// Answer for a path that is no InvAPI module.
pub async fn unknown_module(uri: Uri) -> Response {
    let path: String = uri.path().chars().take(80).collect();
    (
        StatusCode::NOT_FOUND,
        Json(json!({"result": -1, "error": format!("unknown module {path}")})),
    )
        .into_response()
}

/// A panic in a handler (a bug) still answers with the error envelope.
pub fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("handler panicked");
    Json(json!({"result": -1, "error": "internal error"})).into_response()
}
