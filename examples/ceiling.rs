//! The benchmark's ceiling: a bare axum 0.8 JSON hello-world, the most any axum service can
//! answer on this machine. `bench/run.sh` drives it side by side with the emulator, with the
//! same load tool and the same requests, so the emulator's figures read as a share of it.
//!
//! Every method and path gets the same small JSON answer; the request body is read (and
//! only its length used) so that a POST costs what reading a form costs, and keep-alive
//! connections stay reusable. It listens on loopback, on the port given as the only argument
//! (0, the default, picks a free one), and prints `listening on http://ADDR` once bound.
//! `CEILING_PAD=N` adds a string of N bytes to the answer: the ceiling for answers of that
//! size (a 7 KB `presets/list`, say), to tell the cost of the size from the emulator's own.
//!
//! cargo run --release --example ceiling -- [port]

use std::sync::OnceLock;

use axum::body::Bytes;
use axum::Json;
use serde_json::{json, Value};

/// The padding `CEILING_PAD` asks for (none by default).
fn pad() -> &'static str {
    static PAD: OnceLock<String> = OnceLock::new();
    PAD.get_or_init(|| {
        let n = std::env::var("CEILING_PAD")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        "x".repeat(n)
    })
}

/// Answers any request with a small JSON document, as an InvAPI call would be answered.
async fn hello(body: Bytes) -> Json<Value> {
    match pad() {
        "" => Json(json!({"result": "OK", "message": "hello", "received": body.len()})),
        pad => {
            Json(json!({"result": "OK", "message": "hello", "received": body.len(), "pad": pad}))
        }
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
