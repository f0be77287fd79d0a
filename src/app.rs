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
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, MatchedPath, Request};
use axum::response::Response;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower::Service;
use tracing::Span;

use crate::http::wire::JsonRefusals;
use crate::tls::Tls;

pub use crate::state::{AppState, StartError};

pub mod worlds;

/// The whole HTTP surface: the InvAPI modules, the `/_emu/` control plane, the dashboard
/// at `/`, and the isolated worlds under `/w/{id}/` (see [`worlds`]).
pub fn router(state: AppState) -> Router {
    let worlds = worlds::Worlds::new(&state);
    let admin = state.config.admin_token.clone();
    world_router(state).merge(worlds::routes(worlds, admin))
}

/// The HTTP surface of one world: the InvAPI modules and the `/_emu/` control plane.
pub fn world_router(state: AppState) -> Router {
    let timeout = Duration::from_secs(state.config.request_timeout.max(1));
    crate::invapi::routes()
        .merge(crate::control::routes(state.config.admin_token.clone()))
        .merge(crate::control::docs::routes(openapi))
        .merge(crate::dashboard::routes(state.config.admin_token.clone()))
        .fallback(crate::invapi::unknown_module)
        // One layer, so that each request pays for one boxed service rather than four:
        // the outermost first.
        .layer(
            tower::ServiceBuilder::new()
                .layer(tower_http::trace::TraceLayer::new_for_http().make_span_with(request_span))
                .layer(tower_http::catch_panic::CatchPanicLayer::custom(
                    crate::invapi::panic_response,
                ))
                .layer(crate::http::limits::GuardLayer::new(timeout)),
        )
        .with_state(state)
}

/// The control plane's OpenAPI document (`GET /_emu/openapi.json`): its own routes and
/// the world routes, which live here above it.
pub fn openapi() -> utoipa::openapi::OpenApi {
    crate::control::docs::document(worlds::openapi())
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

/// Serves the whole HTTP surface on one listener until `shutdown` resolves; see
/// [`serve_faces`].
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state.clone());
    serve_faces(vec![(listener, app)], state, shutdown).await
}

/// Serves the InvAPI on `listener` and, when they are there, the S3 endpoint on `s3`, the
/// F2HCloud face on `f2h` and the InvAPI router over HTTPS (with its `CONNECT` proxy, see
/// [`crate::tls`]) on `tls`; the local CA, if `tls` has one, becomes `GET /_emu/ca.pem`
/// (see [`serve_faces`]).
pub async fn serve_all(
    listener: TcpListener,
    s3: Option<TcpListener>,
    f2h: Option<TcpListener>,
    tls: Option<(TcpListener, Arc<Tls>)>,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut faces = vec![(listener, router(state.clone()))];
    if let Some(s3) = s3 {
        faces.push((s3, crate::s3::router(state.clone())));
    }
    if let Some(f2h) = f2h {
        faces.push((f2h, crate::f2h::router(state.clone())));
    }
    if let Some(pem) = tls.as_ref().and_then(|(_, t)| t.ca_pem()) {
        let _ = state.tls_ca.set(pem.to_owned());
    }
    let tls = tls.map(|(listener, t)| (listener, router(state.clone()), t));
    serve_faces_and_tls(faces, tls, state, shutdown).await
}

/// Serves several faces, each a (listener, router) pair (e.g. the InvAPI on one port and
/// another provider's API on its own, since two faces may share a path like `/api/`),
/// with one worker and one shutdown. A listener beyond loopback without an admin token in
/// the configuration is refused (`InvalidInput`) before anything is served. When `shutdown` resolves, every listener stops
/// accepting, in-flight requests finish (for at most `shutdown_timeout` seconds, then the
/// connections left are dropped) and the worker stops (queued jobs stay in the database for
/// the next start).
pub async fn serve_faces(
    faces: Vec<(TcpListener, Router)>,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_faces_and_tls(faces, None, state, shutdown).await
}

/// [`serve_all`] with the Hestia Control Panel API too, on `hestia` (HTTPS with its own
/// certificates, see [`Tls::load_panel`]).
pub async fn serve_all_with_hestia(
    listener: TcpListener,
    s3: Option<TcpListener>,
    f2h: Option<TcpListener>,
    tls: Option<(TcpListener, Arc<Tls>)>,
    hestia: Option<(TcpListener, Arc<Tls>)>,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut faces = vec![(listener, router(state.clone()))];
    if let Some(s3) = s3 {
        faces.push((s3, crate::s3::router(state.clone())));
    }
    if let Some(f2h) = f2h {
        faces.push((f2h, crate::f2h::router(state.clone())));
    }
    if let Some(pem) = tls.as_ref().and_then(|(_, t)| t.ca_pem()) {
        let _ = state.tls_ca.set(pem.to_owned());
    }
    let mut secure: Vec<_> = tls
        .map(|(listener, t)| (listener, router(state.clone()), t))
        .into_iter()
        .collect();
    if let Some((listener, t)) = hestia {
        if let Some(pem) = t.ca_pem() {
            let _ = state.tls_ca.set(pem.to_owned());
        }
        secure.push((listener, crate::hestia::router(state.clone()), t));
    }
    serve_secure_faces(faces, secure, state, shutdown).await
}

async fn serve_faces_and_tls(
    faces: Vec<(TcpListener, Router)>,
    tls: Option<(TcpListener, Router, Arc<Tls>)>,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_secure_faces(faces, tls.into_iter().collect(), state, shutdown).await
}

async fn serve_secure_faces(
    faces: Vec<(TcpListener, Router)>,
    tls: Vec<(TcpListener, Router, Arc<Tls>)>,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Fail closed: the control plane can reset the world, so it is never served beyond
    // loopback without a token (`Config::secure_control_plane` makes one).
    for listener in faces.iter().map(|f| &f.0).chain(tls.iter().map(|t| &t.0)) {
        let addr = listener.local_addr()?;
        if crate::config::beyond_loopback(addr) && state.config.admin_token.is_none() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{addr} is reachable beyond loopback, so the control plane needs an admin token (--admin-token)"),
            ));
        }
    }
    let (stop_tx, stop_rx) = watch::channel(false);
    let worker_state = state.clone();
    let worker = tokio::spawn(supervise(
        stop_rx.clone(),
        WORKER_RESTART_PAUSE,
        move |stop| crate::tasks::worker(worker_state.clone(), stop),
    ));
    let limits = Limits {
        header: Duration::from_secs(state.config.header_timeout.max(1)),
        shutdown: Duration::from_secs(state.config.shutdown_timeout),
    };
    let mut accept_loops = JoinSet::new();
    for (listener, app) in faces {
        let mut stop = stop_rx.clone();
        accept_loops.spawn(serve_connections(listener, app, None, limits, async move {
            let _ = stop.wait_for(|stop| *stop).await;
        }));
    }
    for (listener, app, tls) in tls {
        let mut stop = stop_rx.clone();
        accept_loops.spawn(serve_connections(
            listener,
            app,
            Some(tls),
            limits,
            async move {
                let _ = stop.wait_for(|stop| *stop).await;
            },
        ));
    }
    shutdown.await;
    let _ = stop_tx.send(true);
    while accept_loops.join_next().await.is_some() {}
    let _ = worker.await;
    Ok(())
}

/// How long the worker loop is left down after it panicked, so that a loop that panics at
/// once cannot spin.
const WORKER_RESTART_PAUSE: Duration = Duration::from_secs(1);

/// Keeps a background loop alive until shutdown: runs `start(stop)` as a task, and when
/// that task ends with a panic, logs the panic and starts it again after `pause` (unless
/// shutdown came meanwhile). Returns when the loop returns on its own (it saw `stop`) or
/// shutdown is asked for while it is down.
async fn supervise<F, Fut>(stop: watch::Receiver<bool>, pause: Duration, start: F)
where
    F: Fn(watch::Receiver<bool>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    loop {
        let Err(e) = tokio::spawn(start(stop.clone())).await else {
            return;
        };
        let why = if e.is_panic() {
            let panic = e.into_panic();
            format!("panicked: {}", crate::tasks::panic_message(&*panic))
        } else {
            e.to_string()
        };
        if *stop.borrow() {
            tracing::error!(error = %why, "worker loop failed during shutdown");
            return;
        }
        tracing::error!(error = %why, "worker loop failed; restarting it");
        let mut stop = stop.clone();
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stop.wait_for(|stopping| *stopping) => return,
        }
    }
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
/// can wait for them and, past the deadline, abort them. With `tls`, each connection is
/// taken through [`Tls::accept`] first.
async fn serve_connections(
    listener: TcpListener,
    app: Router,
    tls: Option<Arc<Tls>>,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let (closing_tx, closing_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            (stream, remote) = accept(&listener) => {
                let (app, closing) = (app.clone(), closing_rx.clone());
                match tls.clone() {
                    None => {
                        connections.spawn(serve_connection(stream, remote, app, limits.header, closing));
                    }
                    Some(tls) => {
                        connections.spawn(async move {
                            if let Some(stream) = tls.accept(stream, limits.header).await {
                                serve_connection(stream, remote, app, limits.header, closing).await;
                            }
                        });
                    }
                }
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
async fn serve_connection<S>(
    stream: S,
    remote: SocketAddr,
    app: Router,
    header_timeout: Duration,
    mut closing: watch::Receiver<bool>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
        // Handlers read the client address as `ConnectInfo`, as `axum::serve` provides it.
        req.extensions_mut().insert(ConnectInfo(remote));
        // A `Router` is always ready, so it is called without `poll_ready`.
        let answer = app.clone().call(req);
        async move {
            let response: Response = match answer.await {
                Ok(r) => r,
                Err(never) => match never {},
            };
            // An injected fault (`/_emu/faults`, `drop`): failing the service makes hyper
            // close the connection without writing the response.
            if response
                .extensions()
                .get::<crate::faults::DropConnection>()
                .is_some()
            {
                return Err(crate::faults::Dropped);
            }
            Ok::<_, crate::faults::Dropped>(response)
        }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        // hyper's own refusals (a head it cannot take) get the JSON body on their way out.
        .serve_connection(TokioIo::new(JsonRefusals::new(stream)), service);
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
    // deserved an answer (400, 414, 431, in the JSON shape), so this is no server failure.
    if let Err(e) = result {
        tracing::debug!(%remote, error = %e, "connection closed with an error");
    }
}

#[cfg(test)]
mod statement_counts;

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::sync::Arc;

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
    async fn a_background_loop_that_panics_is_restarted_until_it_returns() {
        let (_stop_tx, stop_rx) = watch::channel(false);
        let starts = Arc::new(AtomicUsize::new(0));
        let n = starts.clone();
        supervise(stop_rx, Duration::ZERO, move |_stop| {
            let run = n.fetch_add(1, SeqCst);
            async move {
                if run < 2 {
                    panic!("run {run} broke");
                }
            }
        })
        .await;
        assert_eq!(
            starts.load(SeqCst),
            3,
            "two panics, two restarts, then a clean return"
        );
    }

    #[tokio::test]
    async fn a_background_loop_is_not_restarted_once_shutdown_is_asked_for() {
        let (stop_tx, stop_rx) = watch::channel(false);
        let starts = Arc::new(AtomicUsize::new(0));
        let n = starts.clone();
        let started = Arc::new(tokio::sync::Notify::new());
        let supervisor = tokio::spawn({
            let started = started.clone();
            // A pause no test waits out: only shutdown ends it.
            supervise(stop_rx, Duration::from_secs(3600), move |_stop| {
                n.fetch_add(1, SeqCst);
                started.notify_one();
                async { panic!("broke") }
            })
        });
        started.notified().await;
        stop_tx.send(true).expect("send");
        tokio::time::timeout(Duration::from_secs(10), supervisor)
            .await
            .expect("supervision ends with shutdown")
            .expect("no panic escapes");
        assert_eq!(starts.load(SeqCst), 1);
    }
}
