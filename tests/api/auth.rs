//! auth.php: login, whmcslogin, logout, info; expiry, IP binding, allow-lists, throttling.

use serde_json::Value;

use crate::helpers::*;

/// How long the emulator held a login back (header `x-emu-login-delay-ms`; 0 when absent).
fn delay_of(r: &reqwest::Response) -> u64 {
    r.headers()
        .get("x-emu-login-delay-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// `n` logins with `key` sent at once.
fn parallel_logins(
    app: &TestApp,
    key: &'static str,
    n: usize,
) -> Vec<tokio::task::JoinHandle<reqwest::Response>> {
    (0..n)
        .map(|_| {
            let (client, url) = (app.client.clone(), format!("{}/auth.php", app.base));
            tokio::spawn(async move {
                client
                    .post(url)
                    .form(&[("action", "login"), ("key", key)])
                    .send()
                    .await
                    .expect("send")
            })
        })
        .collect()
}

#[tokio::test]
async fn login_with_the_account_key_returns_a_token_and_the_documented_fields() {
    let app = TestApp::spawn().await;
    let v = app
        .call("auth", &[("action", "login"), ("key", DEMO_KEY)])
        .await;
    let r = &v["result"];
    let token = r["token"].as_str().expect("token");
    assert_eq!(token.len(), 32);
    assert!(token
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    assert_eq!(r["role"], "Customer billing");
    assert_eq!(r["role_type"], "Customer");
    assert!(r["whmcs_id"].is_i64());
    assert!(r["customer_id"].is_i64());
    assert_eq!(r["whmcs_location"], "whmcs_com");
    assert_eq!(r["permissions"].as_array().map(Vec::len), Some(143));
    assert!(r["servers"].as_array().expect("servers").len() >= 6);
    assert!(r["servers"][0].is_i64());
    assert_eq!(r["new"], 1);
    assert!(r["token_expire"].as_i64().expect("expire") > 1_700_000_000);
    app.stop().await;
}

#[tokio::test]
async fn asking_again_within_the_lifetime_returns_the_same_token() {
    let app = TestApp::spawn().await;
    let a = app
        .call("auth", &[("action", "login"), ("key", DEMO_KEY)])
        .await;
    let b = app
        .call("auth", &[("action", "login"), ("key", DEMO_KEY)])
        .await;
    assert_eq!(a["result"]["token"], b["result"]["token"]);
    assert_eq!(b["result"]["new"], 0);
    // The params[key] spelling and a JSON body work alike.
    let c = app
        .call("auth", &[("action", "login"), ("params[key]", DEMO_KEY)])
        .await;
    assert_eq!(c["result"]["token"], a["result"]["token"]);
    app.stop().await;
}

#[tokio::test]
async fn a_wrong_key_is_refused_with_the_masked_key() {
    let app = TestApp::spawn().await;
    let v = app
        .call(
            "auth",
            &[
                ("action", "login"),
                ("key", "deadbeef00000009-0123456789abcdef"),
            ],
        )
        .await;
    assert_eq!(
        error_of(&v),
        "Invalid API key deadXXXXXXXXXXXX-XXXXXXXXXXXXXXXX"
    );
    let v = app
        .call("auth", &[("action", "login"), ("key", "nonsense")])
        .await;
    assert!(error_of(&v).starts_with("Invalid API key "));
    let v = app.call("auth", &[("action", "login")]).await;
    assert_eq!(error_of(&v), "auth/login: key is required");
    app.stop().await;
}

#[tokio::test]
async fn whmcslogin_uses_email_and_password() {
    let app = TestApp::spawn().await;
    let v = app
        .call(
            "auth",
            &[
                ("action", "whmcslogin"),
                ("user", DEMO_USER),
                ("password", DEMO_PASSWORD),
            ],
        )
        .await;
    let r = &v["result"];
    assert_eq!(r["token"].as_str().map(str::len), Some(32));
    assert_eq!(r["role"], "Customer Billing");
    assert!(r["whmcs_token"].is_null());
    assert_eq!(
        r["billing_options"]["native_endpoint"],
        app.addr.to_string()
    );
    assert!(v["timings"].is_array());
    let exp = r["token_expire"].as_i64().expect("expire");
    let now = app.control_get("/_emu/clock").await;
    let ttl = exp - now["now"].as_i64().expect("now");
    assert!(
        (3590..=3600).contains(&ttl),
        "whmcslogin lasts an hour by default, got {ttl}"
    );
    let again = app
        .call(
            "auth",
            &[
                ("action", "whmcslogin"),
                ("user", DEMO_USER),
                ("password", DEMO_PASSWORD),
            ],
        )
        .await;
    assert_eq!(again["result"]["token"], r["token"]);
    assert_eq!(again["result"]["new"], 0);
    let bad = app
        .call(
            "auth",
            &[
                ("action", "whmcslogin"),
                ("user", DEMO_USER),
                ("password", "wrong-pass"),
            ],
        )
        .await;
    assert!(error_of(&bad).starts_with("auth: authenthication failure"));
    let nobody = app
        .call(
            "auth",
            &[
                ("action", "whmcslogin"),
                ("user", "nobody@example.com"),
                ("password", "x"),
            ],
        )
        .await;
    assert!(error_of(&nobody).starts_with("auth: authenthication failure"));
    app.stop().await;
}

#[tokio::test]
async fn info_describes_the_session() {
    let app = TestApp::spawn().await;
    let token = app.demo_token().await;
    let v = app
        .call("auth", &[("action", "info"), ("token", &token)])
        .await;
    let r = &v["result"];
    let servers = r["servers"]
        .as_object()
        .expect("servers is an id -> id object");
    assert!(servers.len() >= 6);
    for (k, val) in servers {
        assert_eq!(val.as_str(), Some(k.as_str()));
    }
    assert_eq!(r["email"], DEMO_USER);
    assert!(
        r["whmcs_id"].is_string(),
        "whmcs_id is a string in auth/info"
    );
    assert_eq!(r["permissions"].as_array().map(Vec::len), Some(143));
    assert_eq!(r["role_name"], "Customer billing");
    assert_eq!(r["client_ip"], "127.0.0.1");
    assert_eq!(r["tags"][0]["component"], "customers");
    assert_eq!(r["billing_options"]["url"], format!("http://{}/", app.addr));
    app.stop().await;
}

#[tokio::test]
async fn logout_ends_the_session() {
    let app = TestApp::spawn().await;
    let token = app.demo_token().await;
    let v = app
        .call("auth", &[("action", "logout"), ("token", &token)])
        .await;
    assert_eq!(v["result"], "OK");
    let v = app
        .call("eq", &[("action", "list"), ("token", &token)])
        .await;
    assert_eq!(error_of(&v), "auth: invalid token");
    app.stop().await;
}

#[tokio::test]
async fn a_token_expires_after_its_ttl_on_the_emulator_clock() {
    let app = TestApp::spawn().await;
    let v = app
        .call(
            "auth",
            &[("action", "login"), ("key", DEMO_KEY), ("ttl", "60")],
        )
        .await;
    let token = v["result"]["token"].as_str().expect("token").to_owned();
    ok(&app
        .call("eq", &[("action", "list"), ("token", &token)])
        .await);
    app.advance(61).await;
    let v = app
        .call("eq", &[("action", "list"), ("token", &token)])
        .await;
    assert!(error_of(&v).contains("invalid token"));
    // A fresh login after expiry gives a new token.
    let again = app
        .call(
            "auth",
            &[("action", "login"), ("key", DEMO_KEY), ("ttl", "60")],
        )
        .await;
    assert_eq!(again["result"]["new"], 1);
    assert_ne!(again["result"]["token"], token.as_str());
    let bad = app
        .call(
            "auth",
            &[("action", "login"), ("key", DEMO_KEY), ("ttl", "abc")],
        )
        .await;
    assert_eq!(error_of(&bad), "auth/login: invalid ttl 'abc'");
    app.stop().await;
}

#[tokio::test]
async fn tokens_are_bound_to_the_client_ip_unless_fix_ip_is_0() {
    let app = TestApp::spawn().await;
    let token = app.demo_token().await;
    let other = app.client_from("127.0.0.2");
    let url = format!("{}/eq.php", app.base);
    let v: Value = other
        .post(&url)
        .form(&[("action", "list"), ("token", token.as_str())])
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(error_of(&v), "auth: invalid token");
    let v = app
        .call(
            "auth",
            &[("action", "login"), ("key", DEMO_KEY), ("fix_ip", "0")],
        )
        .await;
    let free = v["result"]["token"].as_str().expect("token").to_owned();
    assert_ne!(free, token, "an unbound session is a different session");
    let v: Value = other
        .post(&url)
        .form(&[("action", "list"), ("token", free.as_str())])
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    ok(&v);
    app.stop().await;
}

#[tokio::test]
async fn an_allow_list_and_an_inactive_flag_are_checked_at_login() {
    let app = TestApp::spawn().await;
    let token = app.demo_token().await;
    let v = app
        .call(
            "api_keys",
            &[
                ("action", "add"),
                ("token", &token),
                ("params[name]", "ci"),
                ("params[ip]", "127.0.0.2, 10.0.0.0/8"),
                ("params[login_notify_method]", "none"),
                ("params[active]", "1"),
            ],
        )
        .await;
    let key = v["data"]["api_key"].as_str().expect("key").to_owned();
    let id = v["data"]["id"].as_i64().expect("id").to_string();
    let refused = app
        .call("auth", &[("action", "login"), ("key", &key)])
        .await;
    assert!(error_of(&refused).contains("access from 127.0.0.1 is not allowed"));
    let from_allowed: Value = app
        .client_from("127.0.0.2")
        .post(format!("{}/auth.php", app.base))
        .form(&[("action", "login"), ("key", key.as_str())])
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(
        from_allowed["result"]["token"].as_str().map(str::len),
        Some(32)
    );
    let v = app
        .call(
            "api_keys",
            &[
                ("action", "edit"),
                ("token", &token),
                ("params[id]", &id),
                ("params[ip]", ""),
                ("params[active]", "0"),
            ],
        )
        .await;
    ok(&v);
    let inactive = app
        .call("auth", &[("action", "login"), ("key", &key)])
        .await;
    assert!(error_of(&inactive).contains("not active"));
    app.stop().await;
}

#[tokio::test]
async fn repeated_failed_logins_are_delayed_more_and_more() {
    let app = TestApp::spawn().await;
    let bad = "deadbeef000000aa-0123456789abcdef";
    let mut delays = Vec::new();
    for _ in 0..6 {
        let r = app.post("auth", &[("action", "login"), ("key", bad)]).await;
        delays.push(delay_of(&r));
    }
    assert_eq!(&delays[..3], &[0, 0, 0], "the first failures are free");
    assert!(
        delays[3] > 0 && delays[4] > delays[3] && delays[5] > delays[4],
        "growing delays: {delays:?}"
    );
    // Another key is not affected.
    let r = app
        .post("auth", &[("action", "login"), ("key", DEMO_KEY)])
        .await;
    assert!(r.headers().get("x-emu-login-delay-ms").is_none());
    app.stop().await;
}

#[tokio::test]
async fn parallel_failed_logins_wait_their_delays_one_after_another() {
    let mut config = test_config();
    config.login_free_failures = 0;
    config.login_delay_ms = 40;
    config.login_delay_max_ms = 40;
    let app = TestApp::spawn_with(config).await;
    let bad = "deadbeef000000bb-0123456789abcdef";
    let started = std::time::Instant::now();
    let mut total = 0;
    for h in parallel_logins(&app, bad, 10) {
        total += delay_of(&h.await.expect("task"));
    }
    // With no free failures every attempt is held back 40 ms; since attempts queue per
    // key, the whole burst cannot finish before the sum of its delays.
    assert_eq!(total, 10 * 40);
    assert!(started.elapsed() >= std::time::Duration::from_millis(10 * 40));
    app.stop().await;
}

#[tokio::test]
async fn a_long_queue_of_failed_logins_is_refused_in_the_envelope_not_timed_out() {
    let mut config = test_config();
    // Ten attempts of 600 ms each queue for 6 s, past the 4 s request timeout: those that
    // would wait more than half of it are refused at once instead.
    config.request_timeout = 4;
    config.login_free_failures = 0;
    config.login_delay_ms = 600;
    config.login_delay_max_ms = 600;
    let app = TestApp::spawn_with(config).await;
    let bad = "deadbeef000000cc-0123456789abcdef";
    for h in parallel_logins(&app, bad, 10) {
        let r = h.await.expect("task");
        let status = r.status();
        let v: Value = r.json().await.expect("json");
        assert_eq!(status, 200, "{v}");
        assert_eq!(
            error_of(&v),
            "Invalid API key deadXXXXXXXXXXXX-XXXXXXXXXXXXXXXX"
        );
    }
    app.stop().await;
}
