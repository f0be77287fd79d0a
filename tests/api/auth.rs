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

/// The configuration of the lock-out tests: one free failure, then every attempt from an
/// address that failed waits `delay_ms`, long enough that a delayed answer cannot pass for
/// a prompt one.
fn throttled_config(delay_ms: u64) -> hostkey_emu::config::Config {
    let mut config = test_config();
    config.login_free_failures = 1;
    config.login_delay_ms = delay_ms;
    config.login_delay_max_ms = delay_ms;
    config
}

/// Guessers at one key or user from eight other loopback addresses (127.0.0.2..9): each
/// fails once (its free failure, so every address has a run and the subject has eight
/// failures), then two tasks per address keep sending `wrong` until `stop`. Returns the
/// tasks; each gives every answer it got (status, delay header, error text).
async fn strangers_guessing(
    app: &TestApp,
    wrong: &'static [(&'static str, &'static str)],
    stop: &std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> Vec<tokio::task::JoinHandle<Vec<(u16, u64, String)>>> {
    let url = format!("{}/auth.php", app.base);
    let mut tasks = Vec::new();
    for n in 2..=9 {
        let client = app.client_from(&format!("127.0.0.{n}"));
        let r = client.post(&url).form(wrong).send().await.expect("send");
        assert_eq!(delay_of(&r), 0, "the first failure is free");
        let v: Value = r.json().await.expect("json");
        error_of(&v);
        for _ in 0..2 {
            let (client, url, stop) = (client.clone(), url.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                let mut seen = Vec::new();
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    let r = client.post(&url).form(wrong).send().await.expect("send");
                    let (status, delay) = (r.status().as_u16(), delay_of(&r));
                    let v: Value = r.json().await.expect("json");
                    seen.push((status, delay, error_of(&v)));
                }
                seen
            }));
        }
    }
    tasks
}

/// Stops the guessers and checks that every guess failed and that they were held back.
async fn stop_guessing(
    stop: &std::sync::atomic::AtomicBool,
    tasks: Vec<tokio::task::JoinHandle<Vec<(u16, u64, String)>>>,
    delay_ms: u64,
) {
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut delayed = 0;
    for t in tasks {
        for (status, delay, _) in t.await.expect("guesser") {
            assert_eq!(status, 200);
            delayed += usize::from(delay == delay_ms);
        }
    }
    assert!(
        delayed >= 8,
        "the guessers were throttled ({delayed} delayed)"
    );
}

#[tokio::test]
async fn strangers_guessing_the_owners_key_from_other_addresses_do_not_hold_the_owner_back() {
    // Wrong keys with the owner's first half (the throttle's subject) from eight addresses
    // at once; the owner's right key from 127.0.0.1 is answered at once, undelayed.
    const DELAY_MS: u64 = 3000;
    let app = TestApp::spawn_with(throttled_config(DELAY_MS)).await;
    const WRONG: &[(&str, &str)] = &[
        ("action", "login"),
        ("key", "deadbeef00000001-ffffffffffff0000"),
    ];
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let guessers = strangers_guessing(&app, WRONG, &stop).await;
    let started = std::time::Instant::now();
    let r = app
        .post("auth", &[("action", "login"), ("key", DEMO_KEY)])
        .await;
    let elapsed = started.elapsed();
    assert_eq!(delay_of(&r), 0, "the owner is not held back");
    let v: Value = r.json().await.expect("json");
    assert!(v["result"]["token"].is_string(), "the owner gets in: {v}");
    assert!(
        elapsed < std::time::Duration::from_millis(DELAY_MS),
        "answered before any delay could have passed ({elapsed:?})"
    );
    stop_guessing(&stop, guessers, DELAY_MS).await;
    app.stop().await;
}

#[tokio::test]
async fn strangers_guessing_the_owners_password_from_other_addresses_do_not_hold_the_owner_back() {
    const DELAY_MS: u64 = 3000;
    let app = TestApp::spawn_with(throttled_config(DELAY_MS)).await;
    const WRONG: &[(&str, &str)] = &[
        ("action", "whmcslogin"),
        ("user", DEMO_USER),
        ("password", "not-the-password"),
    ];
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let guessers = strangers_guessing(&app, WRONG, &stop).await;
    let started = std::time::Instant::now();
    let r = app
        .post(
            "auth",
            &[
                ("action", "whmcslogin"),
                ("user", DEMO_USER),
                ("password", DEMO_PASSWORD),
            ],
        )
        .await;
    let elapsed = started.elapsed();
    assert_eq!(delay_of(&r), 0, "the owner is not held back");
    let v: Value = r.json().await.expect("json");
    assert!(v["result"]["token"].is_string(), "the owner gets in: {v}");
    assert!(
        elapsed < std::time::Duration::from_millis(DELAY_MS),
        "answered before any delay could have passed ({elapsed:?})"
    );
    stop_guessing(&stop, guessers, DELAY_MS).await;
    app.stop().await;
}

#[tokio::test]
async fn an_address_that_failed_is_still_held_back_even_with_the_right_key() {
    let app = TestApp::spawn_with(throttled_config(300)).await;
    let guesser = app.client_from("127.0.0.2");
    let url = format!("{}/auth.php", app.base);
    let login = |client: &reqwest::Client, key: &str| {
        client
            .post(&url)
            .form(&[("action", "login"), ("key", key)])
            .send()
    };
    let r = login(&guesser, "deadbeef00000001-ffffffffffff0000")
        .await
        .expect("send");
    assert_eq!(delay_of(&r), 0, "the free failure");
    // The next attempt from that address waits its delay, right key or not...
    let started = std::time::Instant::now();
    let r = login(&guesser, DEMO_KEY).await.expect("send");
    assert_eq!(delay_of(&r), 300);
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
    let v: Value = r.json().await.expect("json");
    assert!(v["result"]["token"].is_string(), "{v}");
    // ...and its success ends its run.
    let r = login(&guesser, DEMO_KEY).await.expect("send");
    assert_eq!(delay_of(&r), 0);
    // Another address never failed: not held back at any point.
    let r = login(&app.client_from("127.0.0.3"), DEMO_KEY)
        .await
        .expect("send");
    assert_eq!(delay_of(&r), 0);
    app.stop().await;
}

#[tokio::test]
async fn a_login_whose_turn_would_come_too_late_is_refused_at_once() {
    // Three attempts at once from one address, 1.5 s each, and a 2 s limit on the wait for
    // a turn (half the 4 s request timeout): the third would start at 3 s, so it is refused
    // before the first attempt's delay is even over.
    let mut config = test_config();
    config.request_timeout = 4;
    config.login_free_failures = 0;
    config.login_delay_ms = 1500;
    config.login_delay_max_ms = 1500;
    let app = TestApp::spawn_with(config).await;
    let started = std::time::Instant::now();
    let mut answers = Vec::new();
    for h in parallel_logins(&app, "deadbeef000000dd-0123456789abcdef", 3) {
        answers.push(tokio::spawn(async move {
            let r = h.await.expect("task");
            let answered = started.elapsed();
            (
                answered,
                delay_of(&r),
                r.json::<Value>().await.expect("json"),
            )
        }));
    }
    let mut refused = Vec::new();
    for a in answers {
        let (answered, delay, v) = a.await.expect("task");
        if delay == 0 {
            assert_eq!(
                error_of(&v),
                "Invalid API key deadXXXXXXXXXXXX-XXXXXXXXXXXXXXXX"
            );
            refused.push(answered);
        } else {
            assert_eq!(delay, 1500);
        }
    }
    assert_eq!(refused.len(), 1, "one of three is refused");
    assert!(
        refused[0] < std::time::Duration::from_millis(1500),
        "refused at once, not after waiting ({:?})",
        refused[0]
    );
    app.stop().await;
}
