//! The request-head limits, and the one JSON shape for every refusal made before a request
//! reaches a face.
//!
//! Two places refuse a request head. hyper refuses what it cannot parse (a malformed request
//! line or header: 400), a URI over 64 KiB (414), more than 100 header fields or a head over
//! its read buffer (431), with an empty body; [`crate::http::wire::JsonRefusals`] gives those
//! answers this module's JSON body on their way out. Below hyper's limits, [`head_limits`]
//! enforces the documented, tighter ones (the request target and the header section, as
//! nginx in front of the real API would), so that ordinary over-long requests never get as
//! far as hyper's refusals.

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::future::{ready, Either, FutureExt, Map, Ready};
use serde_json::json;
use std::convert::Infallible;
use std::task::{Context, Poll};
use std::time::Duration;

/// Longest request target (path and query, with the authority when one is sent), in bytes.
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// Largest header section (every field's name and value, plus ": " and CRLF), in bytes.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Most header fields in one request: hyper's own limit (it refuses the 101st field; the
/// answer gets its JSON body from `JsonRefusals`), kept because raising it would make hyper
/// allocate its header array on the heap for every request.
pub const MAX_HEADERS: usize = 100;

/// The text of a 400 for a head that does not parse (hyper's refusal).
pub const MALFORMED_TEXT: &str = "malformed request: not a valid HTTP/1.1 request line or header";

/// The text of a 414.
pub fn uri_too_long_text() -> String {
    format!("request URI too long (limit {MAX_URI_BYTES} bytes)")
}

/// The text of a 431.
pub fn headers_too_large_text() -> String {
    format!(
        "request header fields too large (limit {MAX_HEADERS} fields, {MAX_HEADER_BYTES} bytes)"
    )
}

/// The JSON body of a refusal made before any face has the request:
/// `{"result":-1,"error":"..."}`, the InvAPI's error shape (most clients are InvAPI clients,
/// and before routing it is not known which face was meant).
pub fn refusal_body(text: &str) -> String {
    json!({"result": -1, "error": text}).to_string()
}

/// Middleware: answers 414 or 431 in the JSON shape when the request target or the header
/// section is over the documented limits, before routing. (The field count needs no check
/// here: hyper enforces [`MAX_HEADERS`] itself.)
pub async fn head_limits(req: Request, next: Next) -> Response {
    match head_refusal(&req) {
        Some(refused) => refused,
        None => next.run(req).await,
    }
}

/// The 414 or 431 for a request over the documented head limits; `None` when it is within.
pub fn head_refusal(req: &Request) -> Option<Response> {
    let uri = req.uri();
    let target = uri.path_and_query().map_or(0, |pq| pq.as_str().len())
        + uri.authority().map_or(0, |a| a.as_str().len());
    if target > MAX_URI_BYTES {
        return Some(refusal(StatusCode::URI_TOO_LONG, &uri_too_long_text()));
    }
    let header_bytes: usize = req
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    (header_bytes > MAX_HEADER_BYTES).then(|| {
        refusal(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            &headers_too_large_text(),
        )
    })
}

/// HTTP 408 with `{"result":-1,"error":"request timed out"}`: the answer to a request that
/// outlives the request timeout, in the error envelope of `decisions.md` §3 (tower-http's
/// timeout layer answers with an empty body).
pub fn timeout_response() -> Response {
    refusal(StatusCode::REQUEST_TIMEOUT, "request timed out")
}

/// The InvAPI router's guard, as one layer: the head limits ([`head_refusal`]), then the
/// request timeout ([`timeout_response`]). It does what two `from_fn` middlewares would,
/// without their per-request boxing of the inner service: the InvAPI's hot paths answer
/// tens of thousands of requests a second, and every layer costs each of them.
#[derive(Clone, Copy)]
pub struct GuardLayer {
    timeout: Duration,
}

impl GuardLayer {
    pub fn new(timeout: Duration) -> Self {
        GuardLayer { timeout }
    }
}

impl<S> tower::Layer<S> for GuardLayer {
    type Service = Guard<S>;

    fn layer(&self, inner: S) -> Guard<S> {
        Guard {
            inner,
            timeout: self.timeout,
        }
    }
}

/// The service of [`GuardLayer`].
#[derive(Clone)]
pub struct Guard<S> {
    inner: S,
    timeout: Duration,
}

/// What [`Guard`] makes of its inner answer: the timeout's 408, or the answer.
type Timed = fn(
    Result<Result<Response, Infallible>, tokio::time::error::Elapsed>,
) -> Result<Response, Infallible>;

fn timed(
    answer: Result<Result<Response, Infallible>, tokio::time::error::Elapsed>,
) -> Result<Response, Infallible> {
    answer.unwrap_or_else(|_| Ok(timeout_response()))
}

impl<S> tower::Service<Request> for Guard<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future =
        Either<Ready<Result<Response, Infallible>>, Map<tokio::time::Timeout<S::Future>, Timed>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        match head_refusal(&req) {
            Some(refused) => Either::Left(ready(Ok(refused))),
            None => Either::Right(
                tokio::time::timeout(self.timeout, self.inner.call(req)).map(timed as Timed),
            ),
        }
    }
}

/// A refusal with its status and the JSON body.
fn refusal(status: StatusCode, text: &str) -> Response {
    (status, Json(json!({"result": -1, "error": text}))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::sync::Arc;
    use tower::{Layer, ServiceExt};

    /// An inner service that counts its calls and answers after `delay`.
    fn slow(
        delay: Duration,
        calls: Arc<AtomicUsize>,
    ) -> impl tower::Service<Request, Response = Response, Error = Infallible, Future: Send> + Clone
    {
        tower::service_fn(move |_req: Request| {
            calls.fetch_add(1, SeqCst);
            async move {
                tokio::time::sleep(delay).await;
                Ok::<_, Infallible>((StatusCode::OK, "answered").into_response())
            }
        })
    }

    async fn body(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .expect("body");
        String::from_utf8(bytes.to_vec()).expect("utf-8")
    }

    #[tokio::test]
    async fn a_timed_out_request_gets_the_error_envelope() {
        let response = timeout_response();
        assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
        assert_eq!(
            body(response).await,
            r#"{"result":-1,"error":"request timed out"}"#
        );
    }

    #[tokio::test]
    async fn the_guard_answers_408_past_the_timeout_and_passes_quicker_answers() {
        let calls = Arc::new(AtomicUsize::new(0));
        let request = || Request::new(axum::body::Body::empty());
        // An answer at once, well inside 10 s, passes.
        let quick =
            GuardLayer::new(Duration::from_secs(10)).layer(slow(Duration::ZERO, calls.clone()));
        let response = quick.oneshot(request()).await.expect("infallible");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(body(response).await, "answered");
        // One that would take a minute gets the 408 at 100 ms (the outer timeout is only a
        // backstop against a hang).
        let late = GuardLayer::new(Duration::from_millis(100))
            .layer(slow(Duration::from_secs(60), calls.clone()));
        let response = tokio::time::timeout(Duration::from_secs(30), late.oneshot(request()))
            .await
            .expect("the guard answers before the backstop")
            .expect("infallible");
        assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
        assert_eq!(
            body(response).await,
            r#"{"result":-1,"error":"request timed out"}"#
        );
        assert_eq!(calls.load(SeqCst), 2);
    }

    #[tokio::test]
    async fn the_guard_refuses_heads_over_the_limits_without_calling_the_service() {
        let calls = Arc::new(AtomicUsize::new(0));
        let guard = GuardLayer::new(Duration::from_secs(5));
        let service = guard.layer(slow(Duration::ZERO, calls.clone()));
        let long = format!("/eq.php?action=list&x={}", "a".repeat(MAX_URI_BYTES));
        let req = Request::builder()
            .uri(long)
            .body(axum::body::Body::empty())
            .expect("request");
        let response = service.clone().oneshot(req).await.expect("infallible");
        assert_eq!(response.status(), StatusCode::URI_TOO_LONG);
        assert!(body(response).await.contains(&uri_too_long_text()));
        let big = "b".repeat(MAX_HEADER_BYTES / 2);
        let req = Request::builder()
            .uri("/eq.php")
            .header("x-one", &big)
            .header("x-two", &big)
            .body(axum::body::Body::empty())
            .expect("request");
        let response = service.clone().oneshot(req).await.expect("infallible");
        assert_eq!(
            response.status(),
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
        );
        assert!(body(response).await.contains(&headers_too_large_text()));
        assert_eq!(calls.load(SeqCst), 0, "refused before the service");
        let req = Request::builder()
            .uri("/eq.php")
            .body(axum::body::Body::empty())
            .expect("request");
        let response = service.oneshot(req).await.expect("infallible");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(calls.load(SeqCst), 1);
    }
}
