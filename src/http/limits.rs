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
use serde_json::json;

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
    let uri = req.uri();
    let target = uri.path_and_query().map_or(0, |pq| pq.as_str().len())
        + uri.authority().map_or(0, |a| a.as_str().len());
    if target > MAX_URI_BYTES {
        return refusal(StatusCode::URI_TOO_LONG, &uri_too_long_text());
    }
    let headers = req.headers();
    let header_bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if header_bytes > MAX_HEADER_BYTES {
        return refusal(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            &headers_too_large_text(),
        );
    }
    next.run(req).await
}

/// A refusal with its status and the JSON body.
fn refusal(status: StatusCode, text: &str) -> Response {
    (status, Json(json!({"result": -1, "error": text}))).into_response()
}
