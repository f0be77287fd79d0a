//! Request parsing and bad input: every malformed request gets the error envelope.

use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn query_string_get_json_and_multipart_bodies_all_work() {
    let app = TestApp::spawn().await;
    let r = app
        .client
        .get(format!("{}/auth.php?action=login&key={DEMO_KEY}", app.base))
        .send()
        .await
        .expect("get");
    let v: Value = r.json().await.expect("json");
    let token = v["result"]["token"].as_str().expect("token").to_owned();
    let r = app
        .client
        .post(format!("{}/eq.php", app.base))
        .json(&serde_json::json!({"action": "list", "token": token}))
        .send()
        .await
        .expect("json body");
    ok(&r.json::<Value>().await.expect("json"));
    let form = reqwest::multipart::Form::new()
        .text("action", "list")
        .text("token", token.clone());
    let r = app
        .client
        .post(format!("{}/eq.php", app.base))
        .multipart(form)
        .send()
        .await
        .expect("multipart");
    ok(&r.json::<Value>().await.expect("json"));
    // Body wins over the query string.
    let r = app
        .client
        .post(format!("{}/eq.php?action=zap", app.base))
        .form(&[("action", "list"), ("token", token.as_str())])
        .send()
        .await
        .expect("post");
    ok(&r.json::<Value>().await.expect("json"));
    app.stop().await;
}

#[tokio::test]
async fn unknown_modules_actions_and_tokens_get_the_documented_errors() {
    let app = TestApp::spawn().await;
    let r = app
        .client
        .post(format!("{}/nope.php", app.base))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 404);
    let v: Value = r.json().await.expect("json");
    assert_eq!(error_of(&v), "unknown module /nope.php");
    let t = app.demo_token().await;
    let v = app
        .call("eq", &[("action", "teleport"), ("token", &t)])
        .await;
    assert_eq!(error_of(&v), "eq: unknown action teleport");
    let v = app.call("eq", &[("token", &t)]).await;
    assert_eq!(error_of(&v), "eq: missing action");
    for token in [
        "",
        "abc",
        "0123456789abcdef0123456789abcdef",
        "ZZZZ'; DROP TABLE sessions; --",
    ] {
        let v = app
            .call("eq", &[("action", "list"), ("token", token)])
            .await;
        assert_eq!(error_of(&v), "auth: invalid token", "token {token:?}");
    }
    app.stop().await;
}

#[tokio::test]
async fn junk_bodies_and_wrong_types_never_break_the_server() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let url = format!("{}/eq.php", app.base);
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("application/json", b"{not json".to_vec()),
        ("application/json", b"[1,2,3]".to_vec()),
        (
            "application/json",
            b"{\"action\":{\"deep\":{\"deeper\":[1,{\"x\":2}]}}}".to_vec(),
        ),
        (
            "application/x-www-form-urlencoded",
            vec![0xff, 0xfe, 0x00, 0x26, 0x3d, 0x3d],
        ),
        (
            "application/x-www-form-urlencoded",
            b"action=show&id[]=1&id[]=2&token[x]=y".to_vec(),
        ),
        (
            "multipart/form-data; boundary=xyz",
            b"--xyz\r\nbroken".to_vec(),
        ),
        ("text/plain", b"\x00\x01\x02".to_vec()),
    ];
    for (ct, body) in bodies {
        let r = app
            .client
            .post(&url)
            .header("content-type", ct)
            .body(body.clone())
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), 200, "{ct} {body:?}");
        let v: Value = r.json().await.expect("json envelope");
        assert_eq!(v["result"], -1, "{ct}: {v}");
    }
    for (k, v) in [
        ("id", "1e9"),
        ("id", "-5"),
        ("id", "99999999999999999999999"),
        ("id", "0x10"),
    ] {
        let r = app
            .call("eq", &[("action", "show"), ("token", &t), (k, v)])
            .await;
        assert!(error_of(&r).starts_with("eq/show: "), "{v}: {r}");
    }
    let long = "a".repeat(5000);
    let r = app
        .call(
            "eq",
            &[
                ("action", "rename_server"),
                ("token", &t),
                ("id", "40101"),
                ("hostname", &long),
            ],
        )
        .await;
    assert!(error_of(&r).contains("invalid hostname"));
    let r = app
        .call(
            "auth",
            &[("action", "login"), ("key", DEMO_KEY), ("fix_ip", "maybe")],
        )
        .await;
    assert_eq!(
        error_of(&r),
        "auth/login: invalid fix_ip 'maybe', expected 1 or 0"
    );
    // Still healthy afterwards.
    ok(&app.call("eq", &[("action", "list"), ("token", &t)]).await);
    app.stop().await;
}

#[tokio::test]
async fn bodies_over_the_limit_get_413_and_the_envelope() {
    let app = TestApp::spawn().await;
    let huge = vec![b'a'; 2 * 1024 * 1024];
    let r = app
        .client
        .post(format!("{}/eq.php", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(huge)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 413);
    let v: Value = r.json().await.expect("json");
    assert!(error_of(&v).contains("too large"));
    // Chunked bodies without a length are cut off too.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..40).map(|_| Ok(vec![b'b'; 64 * 1024])).collect();
    let stream = futures_util::stream::iter(chunks);
    let r = app
        .client
        .post(format!("{}/eq.php", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 413);
    app.stop().await;
}

#[tokio::test]
async fn responses_are_compact_json() {
    let app = TestApp::spawn().await;
    let r = app
        .post("auth", &[("action", "login"), ("key", DEMO_KEY)])
        .await;
    assert_eq!(r.headers()["content-type"], "application/json");
    let text = r.text().await.expect("text");
    assert!(text.starts_with("{\"result\":{\"token\":\""), "{text}");
    assert!(!text.contains(": ") && !text.contains('\n'));
    app.stop().await;
}
