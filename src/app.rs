//! The router (every face and the control plane) and `serve`: the app binds nothing itself,
//! so tests hand it a listener on port 0 and a shutdown future. The state lives in
//! [`crate::state`].
//!
//! Connections are served with hyper directly rather than `axum::serve`, for two limits that
//! `axum::serve` cannot set: a header read timeout (a client that never finishes its headers
//! would otherwise hold its connection forever, since the request timeout only starts once
//! the headers are parsed) and a shutdown deadline (graceful shutdown would otherwise wait
//! for such a client too).

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower::Service;
use tracing::Span;

pub use crate::state::{AppState, StartError};

/// The whole HTTP surface: the InvAPI modules and the `/_emu/` control plane.
pub fn router(state: AppState) -> Router {
    let timeout = Duration::from_secs(state.config.request_timeout.max(1));
    crate::invapi::routes()
        .merge(crate::control::routes())
        .fallback(crate::invapi::unknown_module)
        .layer(axum::middleware::from_fn_with_state(timeout, time_limit))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            crate::invapi::panic_response,
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(state)
}

/// Answers a request that outlives the request timeout with the error envelope of
/// `decisions.md` §3 (tower-http's timeout layer answers with an empty body).
async fn time_limit(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => timeout_response(),
    }
}

/// HTTP 408 with `{"result":-1,"error":"request timed out"}`.
pub fn timeout_response() -> Response {
    (
        StatusCode::REQUEST_TIMEOUT,
        Json(json!({"result": -1, "error": "request timed out"})),
    )
        .into_response()
}

/// The span every request is logged in: method, route and action, nothing else. The query
/// string is never logged, because InvAPI clients send `key`, `password`, `token` and `pin`
/// there as readily as in the body (`decisions.md` §1), and the raw path is replaced by the
/// route's pattern because some paths carry credentials (`/novnc/{token}`).
fn request_span(req: &Request) -> Span {
    let path = match req.extensions().get::<MatchedPath>() {
        Some(route) => route.as_str(),
        // No route matched (the 404 fallback): the path names no known resource.
        None => truncated(req.uri().path(), 80),
    };
    let span = tracing::debug_span!(
        "request",
        method = %req.method(),
        path = %path,
        action = tracing::field::Empty,
    );
    // Parsing the query costs an allocation or two: only when the span is logged at all.
    if !span.is_disabled() {
        if let Some(action) = action_of_query(req.uri().query()) {
            span.record("action", tracing::field::display(action));
        }
    }
    span
}

/// The `action` of a query string, read as the InvAPI reads it (`params[action]` before
/// `action`, the last one winning); values that are no plain action name are not repeated.
fn action_of_query(query: Option<&str>) -> Option<String> {
    let mut params = crate::http::php_form::Params::default();
    params.merge_urlencoded(query?.as_bytes());
    let action = params.get("action")?.trim();
    let plain = action.len() <= 40
        && action
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    Some(if plain {
        action.to_owned()
    } else {
        "(invalid)".to_owned()
    })
}

fn truncated(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((end, _)) => &s[..end],
        None => s,
    }
}

/// Serves until `shutdown` resolves, then stops accepting, lets in-flight requests finish
/// (for at most `shutdown_timeout` seconds, then drops the connections left) and stops the
/// worker (queued jobs stay in the database for the next start).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let worker = tokio::spawn(crate::tasks::worker(state.clone(), stop_rx));
    let limits = Limits {
        header: Duration::from_secs(state.config.header_timeout.max(1)),
        shutdown: Duration::from_secs(state.config.shutdown_timeout),
    };
    let app = router(state);
    serve_connections(listener, app, limits, shutdown).await;
    let _ = stop_tx.send(true);
    let _ = worker.await;
    Ok(())
}

/// The connection-level time limits.
#[derive(Debug, Clone, Copy)]
struct Limits {
    /// How long a client may take to send a request's headers.
    header: Duration,
    /// How long shutdown waits for open connections.
    shutdown: Duration,
}

/// The accept loop: one task per connection, all of them in a `JoinSet` so that shutdown
/// can wait for them and, past the deadline, abort them.
async fn serve_connections(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let (closing_tx, closing_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            (stream, remote) = accept(&listener) => {
                connections.spawn(serve_connection(
                    stream,
                    remote,
                    app.clone(),
                    limits.header,
                    closing_rx.clone(),
                ));
            }
            // Reap finished connections as we go, so the set holds only open ones.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    // Dropping the listener refuses new connections from here on.
    drop(listener);
    let _ = closing_tx.send(true);
    tracing::info!(
        connections = connections.len(),
        deadline_s = limits.shutdown.as_secs(),
        "stopped accepting; finishing in-flight requests"
    );
    let drain = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(limits.shutdown, drain).await.is_err() {
        tracing::warn!(
            connections = connections.len(),
            "shutdown deadline passed; dropping the connections left"
        );
        connections.shutdown().await;
    }
}

/// The next connection. Errors that concern one connection only (it was reset before it
/// was accepted) are skipped; others (out of file descriptors) are logged and retried after
/// a pause, as `axum::serve` does, so the server neither dies nor spins.
async fn accept(listener: &TcpListener) -> (TcpStream, SocketAddr) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    loop {
        match listener.accept().await {
            Ok(accepted) => return accepted,
            Err(e)
                if matches!(
                    e.kind(),
                    ConnectionAborted | ConnectionRefused | ConnectionReset
                ) => {}
            Err(e) => {
                tracing::error!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// One HTTP/1.1 connection (keep-alive included) until the client closes it, the header
/// timeout closes it, or shutdown does: a graceful one closes it once the current request
/// is answered, and at once when it is idle.
async fn serve_connection(
    stream: TcpStream,
    remote: SocketAddr,
    app: Router,
    header_timeout: Duration,
    mut closing: watch::Receiver<bool>,
) {
    let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
        // Handlers read the client address as `ConnectInfo`, as `axum::serve` provides it.
        req.extensions_mut().insert(ConnectInfo(remote));
        // A `Router` is always ready, so it is called without `poll_ready`.
        app.clone().call(req)
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let mut closing_started = false;
    let result = loop {
        tokio::select! {
            result = conn.as_mut() => break result,
            _ = closing.wait_for(|closing| *closing), if !closing_started => {
                closing_started = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    };
    // Header timeouts, resets and malformed requests end here; hyper has answered what
    // deserved an answer (400, 414, 431), so this is no server failure.
    if let Err(e) = result {
        tracing::debug!(%remote, error = %e, "connection closed with an error");
    }
}

#[cfg(test)]
mod statement_counts;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_action_of_a_query_is_kept_for_the_log() {
        let q = "action=whmcslogin&user=demo%40x.local&password=Demo-pass-1&key=k-1&token=t-1\
                 &pin=1234&old_pin=1&new_pin=2&root_pass=Root-pass-1";
        assert_eq!(action_of_query(Some(q)).as_deref(), Some("whmcslogin"));
        assert_eq!(
            action_of_query(Some("params[action]=list&action=show")).as_deref(),
            Some("list"),
            "params[x] before x, as the InvAPI reads it"
        );
        assert_eq!(
            action_of_query(Some("action=Demo-pass-1&password=x")).as_deref(),
            Some("(invalid)"),
            "a value that is no action name is not repeated"
        );
        assert_eq!(action_of_query(Some("password=Demo-pass-1")), None);
        assert_eq!(action_of_query(None), None);
    }

    #[test]
    fn unmatched_paths_are_cut_short_on_a_character_boundary() {
        assert_eq!(truncated("/eq.php", 80), "/eq.php");
        assert_eq!(truncated("/ääää", 3), "/ää");
    }

    #[tokio::test]
    async fn a_timed_out_request_gets_the_error_envelope() {
        let response = timeout_response();
        assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .expect("body");
        assert_eq!(&body[..], br#"{"result":-1,"error":"request timed out"}"#);
    }
}
