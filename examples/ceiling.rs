//! The benchmark's ceiling: a bare axum 0.8 JSON hello-world, the most any axum service can
//! answer on this machine. `bench/run.sh` drives it side by side with the emulator, with the
//! same load tool and the same requests, so the emulator's figures read as a share of it.
//!
//! Every method and path gets the same small JSON answer; the request body is read (and
//! only its length used) so that a POST costs what reading a form costs, and keep-alive
//! connections stay reusable. It listens on loopback, on the port given as the only argument
//! (0, the default, picks a free one), and prints `listening on http://ADDR` once bound.
//!
//! cargo run --release --example ceiling -- [port]

use axum::body::Bytes;
use axum::Json;
use serde_json::{json, Value};

/// Answers any request with a small JSON document, as an InvAPI call would be answered.
async fn hello(body: Bytes) -> Json<Value> {
    Json(json!({"result": "OK", "message": "hello", "received": body.len()}))
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
