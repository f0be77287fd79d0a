//! The control plane's admin token: with one set, every `/_emu/` route wants it as a bearer
//! token and answers 401 in the control plane's error shape without it; the InvAPI and the
//! console pages do not care. Beyond loopback the emulator never serves without one.

use serde_json::Value;

use crate::helpers::*;

const TOKEN: &str = "t0ken-for-tests";

async fn spawn_with_token() -> TestApp {
    let mut config = test_config();
    config.admin_token = Some(TOKEN.parse().expect("token"));
    TestApp::spawn_with(config).await
}

#[tokio::test]
async fn with_a_token_the_control_plane_wants_the_right_bearer() {
    let app = spawn_with_token().await;
    let health = format!("{}/_emu/health", app.base);
    let cases = [
        (
            None,
            "admin token required: send Authorization: Bearer <token>",
        ),
        (
            Some("Basic dDBrZW4="),
            "admin token required: send Authorization: Bearer <token>",
        ),
        (
            Some("Bearer"),
            "admin token required: send Authorization: Bearer <token>",
        ),
        (Some("Bearer wrong"), "wrong admin token"),
        (Some("Bearer t0ken-for-test"), "wrong admin token"),
        (Some("Bearer t0ken-for-testsx"), "wrong admin token"),
    ];
    for (authorization, reason) in cases {
        let mut request = app.client.get(&health);
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let r = request.send().await.expect("send");
        assert_eq!(r.status(), 401, "{authorization:?}");
        assert_eq!(
            r.headers()["www-authenticate"],
            "Bearer realm=\"hostkey-emu control plane\""
        );
        let v: Value = r.json().await.expect("json");
        assert_eq!(v, serde_json::json!({"status": "error", "error": reason}));
    }
    // A refused reset changes nothing: the login made before it still works after.
    let token = app.demo_token().await;
    let r = app.control_post("/_emu/reset").await;
    assert_eq!(r.status(), 401);
    ok(&app
        .call("eq", &[("action", "list"), ("token", &token)])
        .await);

    for scheme in ["Bearer", "bearer"] {
        let r = app
            .client
            .get(&health)
            .header("authorization", format!("{scheme} {TOKEN}"))
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), 200);
        assert_eq!(r.json::<Value>().await.expect("json")["status"], "ok");
    }
    let r = app
        .client
        .post(format!("{}/_emu/reset", app.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("reset");
    assert_eq!(r.status(), 200);
    let v = app
        .call("eq", &[("action", "list"), ("token", &token)])
        .await;
    assert_eq!(
        error_of(&v),
        "auth: invalid token",
        "the reset went through"
    );
    app.stop().await;
}

#[tokio::test]
async fn with_a_token_the_invapi_and_console_pages_are_unaffected() {
    let app = spawn_with_token().await;
    let token = app.demo_token().await;
    ok(&app
        .call("eq", &[("action", "list"), ("token", &token)])
        .await);
    ok(&app.call("os", &[("action", "list")]).await);
    let r = app
        .client
        .get(format!("{}/novnc/no-such-session", app.base))
        .send()
        .await
        .expect("novnc");
    assert_eq!(r.status(), 404, "the console page answers for itself");
    app.stop().await;
}

#[tokio::test]
async fn without_a_token_nothing_is_served_beyond_loopback() {
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0")
        .await
        .expect("bind");
    let state = hostkey_emu::app::AppState::new(test_config())
        .await
        .expect("state");
    let served = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        hostkey_emu::app::serve(listener, state, std::future::pending()),
    )
    .await
    .expect("refused at once");
    let error = served.expect_err("no admin token");
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
    assert!(
        error.to_string().contains("needs an admin token"),
        "{error}"
    );
}
