//! The benchmark's ceiling: a bare axum 0.8 JSON hello-world, the most any axum service can
//! answer on this machine. `bench/run.sh` drives it side by side with the emulator, with the
//! same load tool and the same requests, so the emulator's figures read as a share of it.
//!
//! Every method and path gets the same small JSON answer; the request body is read (and
//! only its length used) so that a POST costs what reading a form costs, and keep-alive
//! connections stay reusable. It listens on loopback, on the port given as the only argument
//! (0, the default, picks a free one), and prints `listening on http://ADDR` once bound.
//! `CEILING_PAD=N` adds a string of N bytes to the answer, rendered once at the first
//! request: the ceiling for answers of that size (a 7 KB `presets/list`, say), to tell the
//! cost of the size from the emulator's own.
//!
//! cargo run --release --example ceiling -- [port]

use std::sync::OnceLock;

use axum::body::Bytes;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// The answer `CEILING_PAD` asks for, rendered once: the hello document with a string of
/// N bytes added. Rendered once because that is how the emulator answers a large
/// catalogue listing (remembered bytes), so the padded ceiling measures what answers of
/// that size cost to send, not the serializing of 7 KB on every request.
fn padded() -> Option<&'static Bytes> {
    static PADDED: OnceLock<Option<Bytes>> = OnceLock::new();
    PADDED
        .get_or_init(|| {
            let n: usize = std::env::var("CEILING_PAD").ok()?.parse().ok()?;
            let doc =
                json!({"result": "OK", "message": "hello", "received": 0, "pad": "x".repeat(n)});
            Some(Bytes::from(doc.to_string()))
        })
        .as_ref()
}

/// Answers any request with a small JSON document, as an InvAPI call would be answered
/// (or with the padded document of `CEILING_PAD`).
async fn hello(body: Bytes) -> Response {
    match padded() {
        None => Json(json!({"result": "OK", "message": "hello", "received": body.len()}))
            .into_response(),
        Some(doc) => ([(CONTENT_TYPE, "application/json")], doc.clone()).into_response(),
    }
}

#[tokio::main]
async fn main() {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind 127.0.0.1");
    let addr = listener.local_addr().expect("local address");
    println!("listening on http://{addr}");
    let app = axum::Router::new().fallback(hello);
    axum::serve(listener, app).await.expect("serve");
}
