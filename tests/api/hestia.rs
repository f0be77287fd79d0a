//! The Hestia Control Panel face (issue 18) against the real server: HTTPS on its own
//! listener, the two response engines, the checks of hestia-protocol.md A.4 in their order
//! (a matrix of credentials × commands), the shapes real clients send (Hestia's own
//! `test/api.bats`, a WHMCS module, the Raycast extension) and the panel's life with its
//! server (order, power, reinstall).

use std::net::SocketAddr;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::TestApp;

/// The demo scenario's panel: server 40102 (`nl-bm-01`, 5.39.218.37), admin password.
const ADMIN_PASSWORD: &str = "Hestia-demo-1";
const NULL_DATA: &str = "Error: data received is null or invalid, check https://hestiacp.com/docs/server-administration/rest-api.html";

/// What the API answered.
#[derive(Debug)]
struct Said {
    status: u16,
    /// `Hestia-Exit-Code`, when there is one.
    exit: Option<String>,
    content_type: String,
    body: String,
}

impl Said {
    fn exit(&self) -> Option<&str> {
        self.exit.as_deref()
    }
}

/// A client of the panel API, as every Hestia client is: certificate checks off.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .expect("client")
}

async fn said(r: reqwest::Response) -> Said {
    let status = r.status().as_u16();
    let exit = r
        .headers()
        .get("hestia-exit-code")
        .map(|v| v.to_str().expect("text").to_owned());
    let content_type = r
        .headers()
        .get("content-type")
        .map_or(String::new(), |v| v.to_str().expect("text").to_owned());
    let body = r.text().await.expect("body");
    Said {
        status,
        exit,
        content_type,
        body,
    }
}

fn api_url(app: &TestApp) -> String {
    format!("https://{}/api/", app.hestia_addr)
}

/// POSTs a form to the demo panel's `/api/`.
async fn form(app: &TestApp, fields: &[(&str, &str)]) -> Said {
    let r = client()
        .post(api_url(app))
        .form(fields)
        .send()
        .await
        .expect("request");
    said(r).await
}

/// POSTs a form as the admin (legacy password).
async fn admin(app: &TestApp, cmd: &str, args: &[&str]) -> Said {
    let names: Vec<String> = (1..=args.len()).map(|i| format!("arg{i}")).collect();
    let mut fields = vec![
        ("user", "admin"),
        ("password", ADMIN_PASSWORD),
        ("cmd", cmd),
    ];
    fields.extend(names.iter().map(String::as_str).zip(args.iter().copied()));
    form(app, &fields).await
}

/// POSTs a form with an access key (`access_key` + `secret_key`).
async fn keyed(app: &TestApp, key: &(String, String), cmd: &str, args: &[&str]) -> Said {
    let names: Vec<String> = (1..=args.len()).map(|i| format!("arg{i}")).collect();
    let mut fields = vec![
        ("access_key", key.0.as_str()),
        ("secret_key", key.1.as_str()),
        ("cmd", cmd),
    ];
    fields.extend(names.iter().map(String::as_str).zip(args.iter().copied()));
    form(app, &fields).await
}

/// A new access key (`v-add-access-key USER PERMISSIONS COMMENT json`), id and secret.
async fn new_key(app: &TestApp, user: &str, permissions: &str) -> (String, String) {
    let r = admin(
        app,
        "v-add-access-key",
        &[user, permissions, "test", "json"],
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    let v: Value = serde_json::from_str(&r.body).expect("json");
    let id = v["ACCESS_KEY_ID"].as_str().expect("id").to_owned();
    let secret = v["SECRET_ACCESS_KEY"].as_str().expect("secret").to_owned();
    assert_eq!((id.len(), secret.len()), (20, 40), "{v}");
    (id, secret)
}

/// Changes the demo panel's API switches through the control plane.
async fn switches(app: &TestApp, server: i64, change: Value) {
    let r = app
        .client
        .patch(format!("{}/_emu/hestia/panels/{server}", app.base))
        .json(&change)
        .send()
        .await
        .expect("patch");
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
}

#[tokio::test]
async fn the_panel_speaks_https_like_hestias_nginx_and_plain_http_is_redirected() {
    let app = TestApp::spawn().await;
    // Plain HTTP on the SSL port: nginx's 497 redirect to the same host, port and URI.
    let mut s = tokio::net::TcpStream::connect(app.hestia_addr)
        .await
        .expect("connect");
    s.write_all(b"POST /api/index.php?x=1 HTTP/1.1\r\nHost: panel.example:8083\r\nContent-Length: 0\r\n\r\n")
        .await
        .expect("write");
    let mut answer = String::new();
    s.read_to_string(&mut answer).await.expect("read");
    assert!(answer.starts_with("HTTP/1.1 302 "), "{answer}");
    assert!(
        answer.contains(&format!(
            "Location: https://panel.example:{}/api/index.php?x=1\r\n",
            app.hestia_addr.port()
        )),
        "{answer}"
    );
    // HTTPS: nginx's headers, nginx's 404 elsewhere, 405 for a GET of the API.
    let r = client()
        .get(format!("https://{}/somewhere", app.hestia_addr))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["server"], "nginx");
    assert_eq!(r.headers()["x-frame-options"], "SAMEORIGIN");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert_eq!(r.headers()["x-xss-protection"], "1; mode=block");
    assert!(r
        .text()
        .await
        .expect("body")
        .contains("<center>nginx</center>"));
    for path in ["/api/", "/api/index.php"] {
        let r = said(
            client()
                .get(format!("https://{}{path}", app.hestia_addr))
                .send()
                .await
                .expect("get"),
        )
        .await;
        assert_eq!(
            (r.status, r.exit(), r.body.as_str()),
            (405, Some("405"), NULL_DATA)
        );
        assert_eq!(r.content_type, "text/html; charset=UTF-8");
    }
    // The certificate is the emulator's CA's: a client that trusts it verifies the panel.
    let pem = app
        .client
        .get(format!("{}/_emu/ca.pem", app.base))
        .send()
        .await
        .expect("ca")
        .text()
        .await
        .expect("pem");
    let strict = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).expect("pem"))
        .resolve("nl-bm-01", app.hestia_addr)
        .build()
        .expect("client");
    for url in [
        format!("https://{}/api/", app.hestia_addr),
        format!("https://nl-bm-01:{}/api/", app.hestia_addr.port()),
    ] {
        let r = strict
            .post(&url)
            .form(&[
                ("user", "admin"),
                ("password", ADMIN_PASSWORD),
                ("cmd", "v-list-apis"),
                ("arg1", "json"),
            ])
            .send()
            .await
            .expect("verified TLS");
        assert_eq!(r.status(), 200, "{url}");
    }
}

#[tokio::test]
async fn the_legacy_engine_answers_200_ok_or_the_output_with_a_newline() {
    let app = TestApp::spawn().await;
    let r = admin(&app, "v-list-apis", &["json"]).await;
    assert_eq!((r.status, r.exit()), (200, None), "{r:?}");
    assert!(r.body.ends_with("}\n"), "{:?}", r.body);
    let v: Value = serde_json::from_str(&r.body).expect("json");
    assert_eq!(v["billing"]["ROLE"], "admin");
    assert_eq!(r.content_type, "text/html; charset=UTF-8");
    // A command that printed nothing: OK. Code mode: the bare exit code.
    let r = admin(&app, "v-add-sys-api-ip", &["10.1.2.3"]).await;
    assert_eq!((r.status, r.body.as_str()), (200, "OK"));
    let r = form(
        &app,
        &[
            ("user", "admin"),
            ("password", ADMIN_PASSWORD),
            ("cmd", "v-list-api"),
            ("arg1", "nope"),
            ("returncode", "yes"),
        ],
    )
    .await;
    assert_eq!((r.status, r.exit(), r.body.as_str()), (200, None, "3"));
    // A failing command is still HTTP 200, its error with a newline.
    let r = admin(&app, "v-list-api", &["nope"]).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (200, "Error: API nope doesn't exist\n")
    );
    // The quirk: an unknown command prints nothing, so `OK` (code mode: 1).
    let r = admin(&app, "v-no-such-command", &[]).await;
    assert_eq!((r.status, r.body.as_str()), (200, "OK"));
    let r = form(
        &app,
        &[
            ("user", "admin"),
            ("password", ADMIN_PASSWORD),
            ("cmd", "v-no-such-command"),
            ("returncode", "yes"),
        ],
    )
    .await;
    assert_eq!(r.body, "1");
    // Too few arguments: the usage line, exit 1.
    let r = admin(&app, "v-add-access-key", &[]).await;
    assert_eq!(
        r.body,
        "Usage: v-add-access-key USER [PERMISSIONS] [COMMENT] [FORMAT]\n"
    );
}

#[tokio::test]
async fn the_access_key_engine_maps_exit_codes_to_statuses_and_always_sends_the_code() {
    let app = TestApp::spawn().await;
    let full = new_key(&app, "admin", "").await;
    let r = keyed(&app, &full, "v-list-apis", &["json"]).await;
    assert_eq!((r.status, r.exit()), (200, Some("0")), "{r:?}");
    assert_eq!(r.content_type, "application/json; charset=utf-8");
    assert!(r.body.ends_with('}'), "trimmed: {:?}", r.body);
    // Empty success: 204.
    let r = keyed(&app, &full, "v-add-sys-api-ip", &["10.1.2.3"]).await;
    assert_eq!((r.status, r.exit(), r.body.as_str()), (204, Some("0"), ""));
    // A failure: its status, its code, its trimmed text.
    let r = keyed(&app, &full, "v-list-api", &["nope"]).await;
    assert_eq!(
        (r.status, r.exit(), r.body.as_str()),
        (400, Some("3"), "Error: API nope doesn't exist")
    );
    assert_eq!(r.content_type, "text/html; charset=UTF-8");
    let r = keyed(&app, &full, "v-add-access-key", &[]).await;
    assert_eq!((r.status, r.exit()), (400, Some("1")));
    let r = keyed(&app, &full, "v-list-access-keys", &["admin", "json"]).await;
    assert_eq!(
        (r.status, r.content_type.as_str()),
        (200, "application/json; charset=utf-8")
    );
    // A user without keys: `{\n}` is not JSON enough for PHP, so text/html.
    let r = keyed(
        &app,
        &full,
        "v-add-user",
        &["nokeys", "N0keys-pass", "n@example.com"],
    )
    .await;
    assert_eq!(r.status, 204, "{r:?}");
    let r = keyed(&app, &full, "v-list-access-keys", &["nokeys", "json"]).await;
    assert_eq!((r.status, r.body.as_str()), (200, "{\n}"));
    assert_eq!(r.content_type, "text/html; charset=UTF-8");
    let r = keyed(&app, &full, "v-delete-access-key", &[&full.0]).await;
    assert_eq!(r.status, 204);
    let other = new_key(&app, "admin", "").await;
    let r = keyed(&app, &other, "v-delete-access-key", &[&other.0]).await;
    assert_eq!(r.status, 204);
    let last = new_key(&app, "admin", "").await;
    let r = keyed(&app, &last, "v-list-access-keys", &["", "json"]).await;
    // Only `last` is left: listed without its secret.
    let v: Value = serde_json::from_str(&r.body).expect("json");
    assert_eq!(v[&last.0]["USER"], "admin");
    assert!(v[&last.0].get("SECRET_ACCESS_KEY").is_none());
    // Code mode: 200 and the bare code, the header too.
    let r = form(
        &app,
        &[
            ("access_key", &last.0),
            ("secret_key", &last.1),
            ("cmd", "v-list-api"),
            ("arg1", "nope"),
            ("returncode", "yes"),
        ],
    )
    .await;
    assert_eq!((r.status, r.exit(), r.body.as_str()), (200, Some("3"), "3"));
    // The secret is shown once: later listings of the key have it empty.
    let r = keyed(&app, &last, "v-list-access-key", &[&last.0, "json"]).await;
    let v: Value = serde_json::from_str(&r.body).expect("json");
    assert_eq!(
        (v["ACCESS_KEY_ID"].as_str(), v["SECRET_ACCESS_KEY"].as_str()),
        (Some(last.0.as_str()), Some(""))
    );
}

/// One cell of the matrix: who asks, what, what comes back.
struct Case {
    who: &'static str,
    fields: Vec<(String, String)>,
    status: u16,
    exit: Option<&'static str>,
    body: String,
}

fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn every_check_comes_in_hestias_order_with_its_status_code_and_words() {
    let app = TestApp::spawn().await;
    // The cast: the admin's legacy key, a full admin key, a billing key, user bob with a
    // key for his web domains, and alice.
    let legacy = admin(&app, "v-generate-api-key", &[]).await;
    let legacy = legacy.body.trim().to_owned();
    assert_eq!(legacy.len(), 32, "{legacy}");
    let full = new_key(&app, "admin", "").await;
    let billing = new_key(&app, "admin", "billing").await;
    for user in ["bob", "alice"] {
        let r = admin(
            &app,
            "v-add-user",
            &[user, "Str0ng-pass-1", &format!("{user}@example.com")],
        )
        .await;
        assert_eq!(r.body, "OK", "v-add-user {user}: {r:?}");
    }
    let bob = new_key(&app, "bob", "purge-nginx-cache").await;
    let (f, b, k) = (&full, &billing, &bob);
    let access = |key: &(String, String), cmd: &str, args: &[&str]| {
        let mut v = fields(&[("access_key", &key.0), ("secret_key", &key.1), ("cmd", cmd)]);
        for (i, a) in args.iter().enumerate() {
            v.push((format!("arg{}", i + 1), a.to_string()));
        }
        v
    };
    let bob_mismatch = format!(
        "Error: Key {} - the \"user\" argument doesn\\'t match the key\\'s user",
        bob.0
    );
    let cases = vec![
        Case { who: "no credentials", fields: fields(&[("cmd", "v-list-users"), ("arg1", "json")]), status: 405, exit: Some("405"), body: NULL_DATA.into() },
        Case { who: "no credentials, code mode", fields: fields(&[("cmd", "v-list-users"), ("returncode", "yes")]), status: 405, exit: Some("405"), body: NULL_DATA.into() },
        Case { who: "wrong password", fields: fields(&[("user", "admin"), ("password", "wrong"), ("cmd", "v-list-apis")]), status: 401, exit: Some("9"), body: "Error: authentication failed".into() },
        Case { who: "no password", fields: fields(&[("user", "admin"), ("cmd", "v-list-apis")]), status: 401, exit: Some("9"), body: "Error: authentication failed".into() },
        Case { who: "not ROOT_USER", fields: fields(&[("user", "bob"), ("password", "Str0ng-pass-1"), ("cmd", "v-list-apis")]), status: 401, exit: Some("10"), body: "Error: authentication failed".into() },
        Case { who: "unknown legacy key", fields: fields(&[("hash", "0123456789abcdef0123456789abcdef"), ("cmd", "v-list-apis")]), status: 401, exit: Some("9"), body: "Error: authentication failed".into() },
        Case { who: "wrong password, code mode", fields: fields(&[("user", "admin"), ("password", "wrong"), ("cmd", "v-list-apis"), ("returncode", "yes")]), status: 401, exit: Some("9"), body: "9".into() },
        Case { who: "legacy: empty cmd", fields: fields(&[("hash", &legacy), ("cmd", "")]), status: 422, exit: Some("2"), body: "Error: Command not provided".into() },
        Case { who: "legacy: bad cmd", fields: fields(&[("hash", &legacy), ("cmd", "v-list-users;id")]), status: 422, exit: Some("2"), body: "Error: v-list-users;id command invalid".into() },
        Case { who: "legacy key", fields: fields(&[("hash", &legacy), ("cmd", "v-list-api"), ("arg1", "billing"), ("arg2", "plain")]), status: 200, exit: None, body: "billing\tadmin\tv-add-user,v-delete-user,v-suspend-user,v-unsuspend-user,v-change-user-shell,v-list-user,v-list-users,v-make-tmp-file,v-add-domain,v-change-user-package,v-change-user-password\n".into() },
        Case { who: "key: empty cmd (before the key)", fields: fields(&[("access_key", "x"), ("secret_key", "y"), ("cmd", "")]), status: 422, exit: Some("2"), body: "Error: Command not provided".into() },
        Case { who: "key: empty secret", fields: fields(&[("access_key", &f.0), ("secret_key", ""), ("cmd", "v-list-apis")]), status: 401, exit: Some("9"), body: "Error: Authentication failed".into() },
        Case { who: "key: bad id", fields: fields(&[("access_key", "short"), ("secret_key", &f.1), ("cmd", "v-list-apis")]), status: 401, exit: Some("9"), body: "Error: invalid access_key_id format :: short".into() },
        Case { who: "key: unknown id", fields: fields(&[("access_key", "AAAAAAAAAAAAAAAAAAAA"), ("secret_key", &f.1), ("cmd", "v-list-apis")]), status: 401, exit: Some("9"), body: "Error: key AAAAAAAAAAAAAAAAAAAA doesn't exist".into() },
        Case { who: "key: bad secret format", fields: fields(&[("access_key", &f.0), ("secret_key", "tooshort"), ("cmd", "v-list-apis")]), status: 401, exit: Some("9"), body: "Error: invalid secret_access_key format".into() },
        Case { who: "key: wrong secret", fields: fields(&[("access_key", &f.0), ("secret_key", &b.1), ("cmd", "v-list-apis")]), status: 401, exit: Some("9"), body: format!("Error: Invalid secret key for key {}", f.0) },
        Case { who: "key: no such command", fields: access(f, "v-update-dns-record", &["admin"]), status: 401, exit: Some("10"), body: "Error: Command v-update-dns-record not found".into() },
        Case { who: "key without the permission", fields: access(b, "v-list-apis", &["json"]), status: 401, exit: Some("10"), body: format!("Error: Key {} don't have permission to run the command v-list-apis", b.0) },
        Case { who: "user key while API_SYSTEM=1", fields: access(k, "v-list-web-domains", &["bob", "json"]), status: 401, exit: Some("21"), body: "Error: API has been disabled".into() },
        Case { who: "good key", fields: access(f, "v-list-api", &["update-dns-records", "plain"]), status: 200, exit: Some("0"), body: "update-dns-records\tuser\tv-list-dns-records,v-change-dns-record".into() },
        Case { who: "good key, hash=ID:SECRET", fields: fields(&[("hash", &format!("{}:{}", f.0, f.1)), ("cmd", "v-list-api"), ("arg1", "update-dns-records"), ("arg2", "plain")]), status: 200, exit: Some("0"), body: "update-dns-records\tuser\tv-list-dns-records,v-change-dns-record".into() },
    ];
    run_cases(&app, &cases).await;
    // Non-admin keys need API_SYSTEM=2; then the USER argument must be the key's user.
    switches(&app, 40102, json!({"api_system": "2"})).await;
    let cases = vec![
        Case {
            who: "another user at the USER position",
            fields: access(k, "v-list-web-domains", &["alice", "json"]),
            status: 401,
            exit: Some("10"),
            body: bob_mismatch.clone(),
        },
        Case {
            who: "no USER argument",
            fields: access(k, "v-list-web-domains", &[]),
            status: 401,
            exit: Some("10"),
            body: bob_mismatch.clone(),
        },
        Case {
            who: "the USER argument by its number, before gaps collapse",
            fields: {
                let mut v = access(k, "v-purge-nginx-cache", &[]);
                v.push(("arg2".into(), "bob".into()));
                v
            },
            status: 401,
            exit: Some("10"),
            body: bob_mismatch,
        },
        Case {
            who: "user key outside its profiles",
            fields: access(k, "v-list-users", &["json"]),
            status: 401,
            exit: Some("10"),
            body: format!(
                "Error: Key {} don't have permission to run the command v-list-users",
                bob.0
            ),
        },
    ];
    run_cases(&app, &cases).await;
    // A user's own key cannot take admin profiles, and needs one.
    let r = admin(&app, "v-add-access-key", &["bob", "billing"]).await;
    assert_eq!(r.body, "Error: Only the admin can run this API\n");
    let r = admin(&app, "v-add-access-key", &["bob", ""]).await;
    assert_eq!(r.body, "Error: Non-admin users need a permission list\n");
    let r = admin(&app, "v-add-access-key", &["bob", "*"]).await;
    assert_eq!(r.body, "Error: API * doesn't exist\n");
    let r = admin(&app, "v-add-access-key", &["carol"]).await;
    assert_eq!(r.body, "Error: user carol doesn't exist\n");
    // A suspended owner's key is refused.
    let r = admin(&app, "v-suspend-user", &["bob"]).await;
    assert_eq!(r.body, "OK");
    run_cases(
        &app,
        &[Case {
            who: "suspended owner",
            fields: access(k, "v-list-web-domains", &["bob", "json"]),
            status: 401,
            exit: Some("9"),
            body: "Error: user bob is suspended".into(),
        }],
    )
    .await;
    // The allow-list: exact addresses; `0.0.0.0` lets access keys (only) in from anywhere.
    switches(&app, 40102, json!({"api_allowed_ip": "10.9.9.9"})).await;
    let refused = "Error: IP is not allowed to connect with API";
    run_cases(
        &app,
        &[
            Case {
                who: "legacy, outside the allow-list",
                fields: fields(&[
                    ("user", "admin"),
                    ("password", ADMIN_PASSWORD),
                    ("cmd", "v-list-apis"),
                ]),
                status: 401,
                exit: Some("10"),
                body: refused.into(),
            },
            Case {
                who: "legacy, outside, before the password",
                fields: fields(&[
                    ("user", "admin"),
                    ("password", "wrong"),
                    ("cmd", "v-list-apis"),
                ]),
                status: 401,
                exit: Some("10"),
                body: refused.into(),
            },
            Case {
                who: "key, outside the allow-list",
                fields: access(f, "v-list-apis", &[]),
                status: 401,
                exit: Some("10"),
                body: refused.into(),
            },
            Case {
                who: "key, outside, before the cmd check",
                fields: access(f, "", &[]),
                status: 401,
                exit: Some("10"),
                body: refused.into(),
            },
        ],
    )
    .await;
    switches(&app, 40102, json!({"api_allowed_ip": "0.0.0.0"})).await;
    run_cases(
        &app,
        &[
            Case {
                who: "legacy: 0.0.0.0 is no wildcard",
                fields: fields(&[("hash", &legacy), ("cmd", "v-list-apis")]),
                status: 401,
                exit: Some("10"),
                body: refused.into(),
            },
            Case {
                who: "key: 0.0.0.0 is everyone",
                fields: access(f, "v-list-api", &["update-dns-records", "plain"]),
                status: 200,
                exit: Some("0"),
                body: "update-dns-records\tuser\tv-list-dns-records,v-change-dns-record".into(),
            },
        ],
    )
    .await;
    // The switches off: each path's own answer, before the allow-list.
    switches(
        &app,
        40102,
        json!({"api": "no", "api_system": "0", "api_allowed_ip": ""}),
    )
    .await;
    run_cases(
        &app,
        &[
            Case {
                who: "API=no",
                fields: fields(&[
                    ("user", "admin"),
                    ("password", ADMIN_PASSWORD),
                    ("cmd", "v-list-apis"),
                ]),
                status: 400,
                exit: Some("11"),
                body: "Error: API has been disabledError: API Disabled".into(),
            },
            Case {
                who: "API=no, code mode",
                fields: fields(&[
                    ("hash", &legacy),
                    ("cmd", "v-list-apis"),
                    ("returncode", "yes"),
                ]),
                status: 400,
                exit: Some("11"),
                body: "Error: API has been disabled11".into(),
            },
            Case {
                who: "API_SYSTEM=0",
                fields: access(f, "v-list-apis", &[]),
                status: 400,
                exit: Some("11"),
                body: "Error: API has been disabled".into(),
            },
        ],
    )
    .await;
    // v-change-sys-api disable / remove: index.php dies, or is gone.
    switches(&app, 40102, json!({"api_mode": "disabled"})).await;
    let r = admin(&app, "v-list-apis", &[]).await;
    assert_eq!(
        (r.status, r.exit(), r.body.as_str()),
        (200, None, "Error: Disabled")
    );
    switches(&app, 40102, json!({"api_mode": "removed"})).await;
    let r = admin(&app, "v-list-apis", &[]).await;
    assert_eq!(r.status, 404);
    assert!(r.body.contains("<center>nginx</center>"), "{}", r.body);
    // Bad switches are refused and change nothing.
    let r = app
        .client
        .patch(format!("{}/_emu/hestia/panels/40102", app.base))
        .json(&json!({"api_system": "7"}))
        .send()
        .await
        .expect("patch");
    assert_eq!(r.status(), 400);
    let r = app
        .client
        .patch(format!("{}/_emu/hestia/panels/40101", app.base))
        .json(&json!({"api": "yes"}))
        .send()
        .await
        .expect("patch");
    assert_eq!(r.status(), 404, "40101 has no panel");
}

async fn run_cases(app: &TestApp, cases: &[Case]) {
    for c in cases {
        let r = said(
            client()
                .post(api_url(app))
                .form(&c.fields)
                .send()
                .await
                .expect("request"),
        )
        .await;
        assert_eq!(
            (r.status, r.exit(), r.body.as_str()),
            (c.status, c.exit, c.body.as_str()),
            "{}",
            c.who
        );
    }
}

#[tokio::test]
async fn a_form_script_like_hestias_own_api_tests_runs_through() {
    // test/api.bats: curl -k -X POST with form fields against /api/index.php.
    let app = TestApp::spawn().await;
    let url = format!("https://{}/api/index.php", app.hestia_addr);
    let post = |fields: Vec<(&'static str, String)>| {
        let url = url.clone();
        async move { said(client().post(url).form(&fields).send().await.expect("curl")).await }
    };
    let pw = || ("password", ADMIN_PASSWORD.to_owned());
    let r = post(vec![
        ("user", "admin".into()),
        pw(),
        ("cmd", "v-make-tmp-file".into()),
        ("arg1", "strongpassword".into()),
        ("arg2", "clusterpassword".into()),
    ])
    .await;
    assert_eq!((r.status, r.body.as_str()), (200, "OK"));
    let r = post(vec![
        ("user", "admin".into()),
        pw(),
        ("cmd", "v-add-user".into()),
        ("arg1", "hestiatest".into()),
        ("arg2", "/tmp/clusterpassword".into()),
        ("arg3", "hestiatest@hestiacp.com".into()),
    ])
    .await;
    assert_eq!((r.status, r.body.as_str()), (200, "OK"), "{r:?}");
    let r = post(vec![
        ("user", "admin".into()),
        pw(),
        ("cmd", "v-list-users".into()),
        ("arg1", "json".into()),
    ])
    .await;
    let users: Value = serde_json::from_str(&r.body).expect("json");
    assert!(users.get("hestiatest").is_some(), "{users}");
    // The key of a billing system: `v-add-user` refused without the profile's permission.
    let key = new_key(&app, "admin", "sync-dns-cluster").await;
    let r = post(vec![
        ("access_key", key.0.clone()),
        ("secret_key", key.1.clone()),
        ("cmd", "v-add-user".into()),
        ("arg1", "x".into()),
    ])
    .await;
    assert!(
        r.body
            .contains("don't have permission to run the command v-add-user"),
        "{r:?}"
    );
    let r = post(vec![
        ("user", "admin".into()),
        pw(),
        ("cmd", "v-delete-user".into()),
        ("arg1", "hestiatest".into()),
    ])
    .await;
    assert_eq!(r.body, "OK");
    // The journal keeps the calls with every secret masked.
    let journal = app
        .client
        .get(format!("{}/_emu/requests?module=hestia", app.base))
        .send()
        .await
        .expect("journal")
        .text()
        .await
        .expect("text");
    assert!(journal.contains("v-add-user"), "{journal}");
    for secret in [ADMIN_PASSWORD, "strongpassword", key.1.as_str()] {
        assert!(!journal.contains(secret), "{secret} in the journal");
    }
}

#[tokio::test]
async fn the_shapes_a_whmcs_module_sends_get_the_answers_it_reads() {
    let app = TestApp::spawn().await;
    // The Vesta/Hestia WHMCS module: user, password and hash all sent, no returncode;
    // success iff the body is `OK`.
    let whmcs = |cmd: &'static str, args: Vec<&'static str>| {
        let app = &app;
        async move {
            let mut f: Vec<(String, String)> = fields(&[
                ("user", "admin"),
                ("password", ADMIN_PASSWORD),
                ("hash", ""),
                ("cmd", cmd),
            ]);
            for (i, a) in args.iter().enumerate() {
                f.push((format!("arg{}", i + 1), a.to_string()));
            }
            said(
                client()
                    .post(api_url(app))
                    .form(&f)
                    .send()
                    .await
                    .expect("post"),
            )
            .await
        }
    };
    let r = whmcs(
        "v-add-user",
        vec![
            "whmcs1",
            "Cl1ent-pass",
            "client@example.com",
            "default",
            "Jane",
            "Doe",
        ],
    )
    .await;
    assert_eq!(r.body, "OK", "{r:?}");
    let r = whmcs("v-list-users", vec!["json"]).await;
    let users: Value = serde_json::from_str(&r.body).expect("json");
    assert_eq!(users["whmcs1"]["PACKAGE"], "default");
    assert!(users["whmcs1"]["U_DISK"].is_string() && users["whmcs1"]["BANDWIDTH"].is_string());
    let r = whmcs("v-change-user-package", vec!["whmcs1", "default"]).await;
    assert_eq!(r.body, "OK");
    let r = whmcs("v-suspend-user", vec!["whmcs1"]).await;
    assert_eq!(r.body, "OK");
    let again = whmcs("v-suspend-user", vec!["whmcs1"]).await;
    assert_eq!(again.status, 200);
    assert!(
        again.body.starts_with("Error: ") && again.body.ends_with('\n'),
        "{again:?}"
    );
    // JosephChuks' module: returncode=yes everywhere, `hash` an access key's ID:SECRET.
    let key = new_key(&app, "admin", "billing").await;
    let hash = format!("{}:{}", key.0, key.1);
    let coded = |cmd: &'static str, args: Vec<&'static str>| {
        let (app, hash) = (&app, hash.clone());
        async move {
            let mut f: Vec<(String, String)> =
                fields(&[("hash", &hash), ("returncode", "yes"), ("cmd", cmd)]);
            for (i, a) in args.iter().enumerate() {
                f.push((format!("arg{}", i + 1), a.to_string()));
            }
            said(
                client()
                    .post(api_url(app))
                    .form(&f)
                    .send()
                    .await
                    .expect("post"),
            )
            .await
        }
    };
    let r = coded("v-unsuspend-user", vec!["whmcs1"]).await;
    assert_eq!((r.status, r.body.as_str(), r.exit()), (200, "0", Some("0")));
    let r = coded("v-unsuspend-user", vec!["whmcs1"]).await;
    assert_eq!(
        (r.status, r.body.as_str(), r.exit()),
        (200, "6", Some("6")),
        "already unsuspended"
    );
    let r = coded(
        "v-add-user",
        vec!["whmcs1", "Cl1ent-pass", "client@example.com"],
    )
    .await;
    assert_eq!(r.body, "4", "exists");
    // The pseudo-command of the billing profile passes the key's checks.
    let r = coded("v-make-tmp-file", vec!["N3w-pass-word", "whmcs1pw"]).await;
    assert_eq!((r.status, r.body.as_str()), (200, "0"));
    let r = coded("v-change-user-password", vec!["whmcs1", "/tmp/whmcs1pw"]).await;
    assert_eq!(r.body, "0");
}

#[tokio::test]
async fn a_raycast_style_json_body_with_hash_id_secret_works() {
    let app = TestApp::spawn().await;
    let key = new_key(&app, "admin", "").await;
    let hash = format!("{}:{}", key.0, key.1);
    let r = said(
        client()
            .post(api_url(&app))
            .json(&json!({"hash": hash, "cmd": "v-list-users", "arg1": "json"}))
            .send()
            .await
            .expect("post"),
    )
    .await;
    assert_eq!((r.status, r.exit()), (200, Some("0")), "{r:?}");
    assert_eq!(r.content_type, "application/json; charset=utf-8");
    let users: Value = serde_json::from_str(&r.body).expect("json");
    assert!(users.get("admin").is_some(), "{users}");
    // `v-add` commands get no `json` argument and print nothing: 204, read as `{}`.
    let r = said(
        client()
            .post(api_url(&app))
            .header("content-type", "text/plain")
            .body(json!({"hash": hash, "cmd": "v-add-user", "arg1": "ray", "arg2": "Ray-pass-12", "arg3": "ray@example.com"}).to_string())
            .send()
            .await
            .expect("post"),
    )
    .await;
    assert_eq!((r.status, r.exit(), r.body.as_str()), (204, Some("0"), ""));
    // A JSON body that is no object is no request.
    let r = said(
        client()
            .post(api_url(&app))
            .body("[1,2]")
            .send()
            .await
            .expect("post"),
    )
    .await;
    assert_eq!((r.status, r.body.as_str()), (405, NULL_DATA));
}

/// A client that sends the panel's hostname (SNI and Host) to the Hestia listener.
fn client_for(host: &str, at: SocketAddr) -> reqwest::Client {
    reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .resolve(host, at)
        .build()
        .expect("client")
}

#[tokio::test]
async fn a_panel_lives_with_its_server_install_power_and_reinstall() {
    let app = TestApp::spawn().await;
    let token = app.long_token().await;
    // The catalogue offers the panel.
    let soft = app
        .call("software", &[("action", "list"), ("token", &token)])
        .await;
    let hestia = soft["software"]
        .as_array()
        .expect("software")
        .iter()
        .find(|s| s["name"] == "Hestia Control Panel")
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(hestia["id"], 61, "{soft}");
    // 40101 reinstalled with Ubuntu 22.04 and Hestia.
    let v = app
        .call(
            "eq",
            &[
                ("action", "order_instance"),
                ("token", &token),
                ("id", "40101"),
                ("os_id", "187"),
                ("soft_id", "61"),
                ("root_pass", "mnN48Dl@4"),
            ],
        )
        .await;
    let key = v["callback"].as_str().expect("callback").to_owned();
    let seen = app.drive(&key, 120, 40).await;
    let done = seen.last().expect("done");
    assert_eq!(done["context"]["hestia_user"], "admin", "{done}");
    assert_eq!(done["context"]["hestia_url"], "https://nl-vmmini-01:8083/");
    let password = done["context"]["hestia_password"]
        .as_str()
        .expect("told once")
        .to_owned();
    let show = app.show(&token, 40101).await;
    let text = show.to_string();
    assert!(
        text.contains("hestia_url") && text.contains("hestiacp"),
        "{text}"
    );
    assert!(
        !text.contains(&password),
        "the password is never in the tags"
    );
    let panels = app.control_get("/_emu/hestia/panels").await;
    let panel = panels["panels"]
        .as_array()
        .expect("panels")
        .iter()
        .find(|p| p["server_id"] == 40101)
        .cloned()
        .expect("a panel for 40101");
    assert_eq!(
        (
            panel["hostname"].as_str(),
            panel["ip"].as_str(),
            panel["api_allowed_ip"].as_str()
        ),
        (Some("nl-vmmini-01"), Some("31.207.45.23"), Some(""))
    );
    // Two panels now: the Host chooses. A fresh panel refuses every address.
    let c = client_for("nl-vmmini-01", app.hestia_addr);
    let url = format!("https://nl-vmmini-01:{}/api/", app.hestia_addr.port());
    let login = [
        ("user", "admin"),
        ("password", password.as_str()),
        ("cmd", "v-list-users"),
        ("arg1", "json"),
    ];
    let r = said(c.post(&url).form(&login).send().await.expect("post")).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (401, "Error: IP is not allowed to connect with API")
    );
    switches(&app, 40101, json!({"api_allowed_ip": "127.0.0.1"})).await;
    let r = said(c.post(&url).form(&login).send().await.expect("post")).await;
    assert_eq!(r.status, 200, "{r:?}");
    let users: Value = serde_json::from_str(&r.body).expect("json");
    assert!(users.get("admin").is_some());
    // The demo panel's password does not open this one.
    let r = said(
        c.post(&url)
            .form(&[
                ("user", "admin"),
                ("password", ADMIN_PASSWORD),
                ("cmd", "v-list-users"),
            ])
            .send()
            .await
            .expect("post"),
    )
    .await;
    assert_eq!(r.status, 401);
    // Powered off: the host is gone, the connection closes without an answer.
    let off = app
        .call(
            "eq",
            &[("action", "off"), ("token", &token), ("id", "40101")],
        )
        .await;
    if let Some(k) = off["callback"].as_str() {
        app.complete(k).await;
    }
    let gone = c.post(&url).form(&login).send().await;
    assert!(gone.is_err(), "answered while off: {gone:?}");
    let on = app
        .call(
            "eq",
            &[("action", "on"), ("token", &token), ("id", "40101")],
        )
        .await;
    if let Some(k) = on["callback"].as_str() {
        app.complete(k).await;
    }
    let r = said(c.post(&url).form(&login).send().await.expect("post")).await;
    assert_eq!(r.status, 200, "back on: {r:?}");
    // A reinstall without the panel removes it.
    let v = app
        .call(
            "eq",
            &[
                ("action", "order_instance"),
                ("token", &token),
                ("id", "40101"),
                ("os_id", "187"),
                ("root_pass", "mnN48Dl@4"),
            ],
        )
        .await;
    let key = v["callback"].as_str().expect("callback").to_owned();
    app.drive(&key, 120, 40).await;
    let r = app
        .client
        .get(format!("{}/_emu/hestia/panels/40101", app.base))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 404);
    let show = app.show(&token, 40101).await.to_string();
    assert!(!show.contains("hestia_url"), "{show}");
}

#[tokio::test]
async fn without_a_panel_for_the_host_the_answer_says_so() {
    let app = TestApp::spawn().await;
    // Two panels: 40102's (the demo) and a second; a host naming neither finds none.
    let token = app.long_token().await;
    let v = app
        .call(
            "eq",
            &[
                ("action", "order_instance"),
                ("token", &token),
                ("id", "40101"),
                ("os_id", "211"),
                ("soft_id", "61"),
                ("root_pass", "mnN48Dl@4"),
            ],
        )
        .await;
    let key = v["callback"].as_str().expect("callback").to_owned();
    app.drive(&key, 120, 40).await;
    let c = client_for("elsewhere.example", app.hestia_addr);
    let r = said(
        c.post(format!(
            "https://elsewhere.example:{}/api/",
            app.hestia_addr.port()
        ))
        .form(&[
            ("user", "admin"),
            ("password", ADMIN_PASSWORD),
            ("cmd", "v-list-users"),
        ])
        .send()
        .await
        .expect("post"),
    )
    .await;
    assert_eq!(r.status, 404);
    assert!(
        r.body
            .contains("no Hestia Control Panel answers for host 'elsewhere.example'"),
        "{}",
        r.body
    );
    // By main address, the demo's.
    let c = client_for("nl-bm-01", app.hestia_addr);
    let r = said(
        c.post(format!("https://nl-bm-01:{}/api/", app.hestia_addr.port()))
            .form(&[
                ("user", "admin"),
                ("password", ADMIN_PASSWORD),
                ("cmd", "v-list-apis"),
            ])
            .send()
            .await
            .expect("post"),
    )
    .await;
    assert_eq!(r.status, 200);
}
