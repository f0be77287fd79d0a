//! Several faces on their own listeners, with one worker and one shutdown.

use axum::routing::get;
use hostkey_emu::app::{self, AppState};
use serde_json::Value;

use crate::helpers::{test_config, DEMO_KEY};

#[tokio::test]
async fn two_listeners_answer_their_own_routes_and_stop_together() {
    let main = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let second = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let (main_addr, second_addr) = (
        main.local_addr().expect("addr"),
        second.local_addr().expect("addr"),
    );
    let state = AppState::new(test_config()).await.expect("state");
    // A second face shares the state but has routes of its own (a path the InvAPI router
    // does not know).
    let face: axum::Router = axum::Router::new().route("/api/", get(|| async { "second face" }));
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app::serve_faces(
        vec![(main, app::router(state.clone())), (second, face)],
        state,
        async {
            let _ = stop_rx.await;
        },
    ));
    let client = reqwest::Client::new();
    let login: Value = client
        .post(format!("http://{main_addr}/auth.php"))
        .form(&[("action", "login"), ("key", DEMO_KEY), ("fix_ip", "0")])
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    assert!(login["result"]["token"].is_string(), "{login}");
    let second_answer = client
        .get(format!("http://{second_addr}/api/"))
        .send()
        .await
        .expect("second face");
    assert_eq!(second_answer.text().await.expect("text"), "second face");
    let unknown = client
        .get(format!("http://{second_addr}/auth.php"))
        .send()
        .await
        .expect("second face");
    assert_eq!(
        unknown.status(),
        404,
        "the second face has only its own routes"
    );

    stop_tx.send(()).expect("stop");
    tokio::time::timeout(std::time::Duration::from_secs(10), server)
        .await
        .expect("serve returns after shutdown")
        .expect("join")
        .expect("serve");
    for addr in [main_addr, second_addr] {
        assert!(
            tokio::net::TcpStream::connect(addr).await.is_err(),
            "{addr} no longer accepts connections"
        );
    }
}
