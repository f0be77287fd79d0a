//! The web dashboard at `/`: every page answers with its content, values are shown as text,
//! state changes need the CSRF token and the same origin, the admin token guards it when
//! one is set, and its buttons go through the same operations as the API.

use futures_util::StreamExt;
use reqwest::redirect::Policy;
use reqwest::StatusCode;

use crate::helpers::*;

/// A client that shows redirects instead of following them.
fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .expect("client")
}

async fn page(app: &TestApp, path: &str) -> String {
    let r = app
        .client
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200, "GET {path}");
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(ct.starts_with("text/html"), "GET {path}: {ct}");
    r.text().await.expect("body")
}

/// The CSRF token the dashboard's forms carry.
fn csrf_of(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .expect("a form with the CSRF token");
    html[at + 19..at + 19 + 64].to_owned()
}

async fn post_form(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    client
        .post(format!("{}{path}", app.base))
        .form(form)
        .send()
        .await
        .expect("post")
}

#[tokio::test]
async fn every_page_answers_with_its_content_and_the_api_keeps_its_paths() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let vm = app
        .find_server(&t, |s| {
            s["IPMI"]["model"] == "ovirt" && s["server_data"]["status"] == "rent"
        })
        .await;
    let overview = page(&app, "/").await;
    assert!(overview.contains("<h1>Overview</h1>"));
    assert!(overview.contains("servers"));
    assert!(overview.contains("href=\"/tasks\""));
    let servers = page(&app, "/servers").await;
    assert!(servers.contains(&format!("href=\"/servers/{vm}\"")));
    let filtered = page(&app, "/servers?kind=bm").await;
    assert!(
        !filtered.contains(&format!("href=\"/servers/{vm}\"")),
        "the kind filter leaves the VM out"
    );
    let server = page(&app, &format!("/servers/{vm}")).await;
    for text in [
        "Reboot",
        "Power off",
        "Interfaces",
        "Addresses and blocks",
        "traffic.png",
    ] {
        assert!(server.contains(text), "server page shows {text}");
    }
    let png = app
        .client
        .get(format!("{}/servers/{vm}/traffic.png", app.base))
        .send()
        .await
        .expect("png");
    assert_eq!(png.status(), 200);
    assert_eq!(png.headers()["content-type"], "image/png");
    assert!(page(&app, "/tasks").await.contains("Run due tasks now"));
    let accounts = page(&app, "/accounts").await;
    assert!(accounts.contains(DEMO_USER));
    assert!(accounts.contains("API keys") && accounts.contains("Sessions"));
    assert!(
        !accounts.contains(DEMO_KEY),
        "API keys are shown masked, never whole"
    );
    assert!(page(&app, "/outbox").await.contains("Remote-hands tickets"));
    assert!(page(&app, "/clock").await.contains("Reset the world"));
    let js = app
        .client
        .get(format!("{}/assets/dash.js", app.base))
        .send()
        .await
        .expect("js");
    assert_eq!(js.status(), 200);
    assert!(js.text().await.expect("js").contains("EventSource"));
    // The InvAPI and the control plane keep their paths.
    let unknown = app
        .client
        .get(format!("{}/nope.php", app.base))
        .send()
        .await
        .expect("php");
    let body: serde_json::Value = unknown.json().await.expect("json");
    assert_eq!(body["result"], -1);
    assert_eq!(app.control_get("/_emu/health").await["status"], "ok");
    app.stop().await;
}

#[tokio::test]
async fn values_are_shown_as_text_never_as_markup() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let vm = app
        .find_server(&t, |s| {
            s["IPMI"]["model"] == "ovirt" && s["server_data"]["status"] == "rent"
        })
        .await;
    let id = vm.to_string();
    let evil = "<script>alert(1)</script>";
    let tag = app
        .call(
            "tags",
            &[
                ("action", "add"),
                ("token", &t),
                ("id", &id),
                ("tag", "note"),
                ("value", evil),
            ],
        )
        .await;
    ok(&tag);
    // A host name that is no host name: tags.php sets the `hostname` tag as it is given.
    let host = app
        .call(
            "tags",
            &[
                ("action", "add"),
                ("token", &t),
                ("id", &id),
                ("tag", "hostname"),
                ("value", "<b>host</b><script>x()</script>"),
            ],
        )
        .await;
    ok(&host);
    let escaped = "&lt;script&gt;alert(1)&lt;/script&gt;";
    let server = page(&app, &format!("/servers/{vm}")).await;
    assert!(server.contains(escaped), "the tag value is shown as text");
    assert!(server.contains("&lt;b&gt;host&lt;/b&gt;&lt;script&gt;x()&lt;/script&gt;"));
    assert!(!server.contains(evil) && !server.contains("<b>host</b>"));
    let servers = page(&app, "/servers").await;
    assert!(
        servers.contains("&lt;b&gt;host&lt;/b&gt;"),
        "the host name in the table is text"
    );
    assert!(!servers.contains("<script>x()"));
    // A filter value comes back escaped too.
    let reflected = page(&app, "/servers?q=%22%3E%3Cscript%3Ey()%3C/script%3E").await;
    assert!(!reflected.contains("<script>y()"));
    assert!(reflected.contains("&quot;&gt;&lt;script&gt;y()"));
    app.stop().await;
}

#[tokio::test]
async fn a_state_change_without_the_csrf_token_or_from_another_site_is_refused() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let vm = app
        .find_server(&t, |s| {
            s["IPMI"]["model"] == "ovirt" && s["server_data"]["status"] == "rent"
        })
        .await;
    let path = format!("/servers/{vm}/power");
    let client = no_redirects();
    let csrf = csrf_of(&page(&app, &format!("/servers/{vm}")).await);
    let none = post_form(&app, &client, &path, &[("op", "reboot")]).await;
    assert_eq!(none.status(), StatusCode::FORBIDDEN);
    assert!(none.text().await.expect("body").contains("CSRF"));
    let wrong = post_form(
        &app,
        &client,
        &path,
        &[("op", "reboot"), ("csrf", &"0".repeat(64))],
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    let cross = client
        .post(format!("{}{path}", app.base))
        .header("Origin", "http://evil.example")
        .form(&[("op", "reboot"), ("csrf", csrf.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    let fetch_site = client
        .post(format!("{}/clock/advance", app.base))
        .header("Sec-Fetch-Site", "cross-site")
        .form(&[("amount", "1"), ("csrf", csrf.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(fetch_site.status(), StatusCode::FORBIDDEN);
    // Nothing was queued by the refused requests.
    let tasks = page(&app, "/tasks/table").await;
    assert!(!tasks.contains("eq/reboot"), "{tasks}");
    // With the token, from the page itself, the reboot goes through eq/reboot's operation.
    let done = client
        .post(format!("{}{path}", app.base))
        .header("Origin", app.base.as_str())
        .form(&[("op", "reboot"), ("csrf", csrf.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let to = done.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    assert!(
        to.starts_with(&format!("/servers/{vm}?msg=reboot+queued")),
        "{to}"
    );
    assert!(page(&app, "/tasks/table").await.contains("eq/reboot"));
    app.advance(600).await;
    app.run_tasks().await;
    assert!(page(&app, &format!("/servers/{vm}"))
        .await
        .contains("pill done"));
    app.stop().await;
}

#[tokio::test]
async fn with_an_admin_token_the_dashboard_needs_a_login() {
    const TOKEN: &str = "dash-Admin-token-1";
    let mut config = test_config();
    config.admin_token = Some(TOKEN.parse().expect("token"));
    let app = TestApp::spawn_with(config).await;
    let client = no_redirects();
    let get = |path: &str| client.get(format!("{}{path}", app.base)).send();
    let r = get("/").await.expect("get");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/login");
    assert_eq!(
        get("/servers").await.expect("get").status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(get("/login").await.expect("get").status(), 200);
    assert_eq!(get("/assets/dash.css").await.expect("get").status(), 200);
    let post = post_form(&app, &client, "/clock/reset", &[]).await;
    assert_eq!(post.status(), StatusCode::UNAUTHORIZED);
    // The bearer token of the control plane opens it too (for scripts).
    let bearer = client
        .get(format!("{}/accounts", app.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("get");
    assert_eq!(bearer.status(), 200);
    // The login form: a wrong token sets nothing, the right one a cookie without the token.
    let wrong = post_form(&app, &client, "/login", &[("token", "nope")]).await;
    assert!(wrong.headers().get("set-cookie").is_none());
    assert!(wrong.headers()["location"]
        .to_str()
        .expect("loc")
        .starts_with("/login?msg="));
    let right = post_form(&app, &client, "/login", &[("token", TOKEN)]).await;
    assert_eq!(right.status(), StatusCode::SEE_OTHER);
    let cookie = right.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    assert!(
        !cookie.contains(TOKEN),
        "the cookie does not hold the token"
    );
    let pair = cookie.split(';').next().expect("pair").to_owned();
    let with_cookie = client
        .get(format!("{}/clock", app.base))
        .header("Cookie", &pair)
        .send()
        .await
        .expect("get");
    assert_eq!(with_cookie.status(), 200);
    let csrf = csrf_of(&with_cookie.text().await.expect("body"));
    let advance = client
        .post(format!("{}/clock/advance", app.base))
        .header("Cookie", &pair)
        .form(&[("amount", "2"), ("unit", "hours"), ("csrf", csrf.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(advance.status(), StatusCode::SEE_OTHER);
    let clock = client
        .get(format!("{}/_emu/clock", app.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("clock")
        .json::<serde_json::Value>()
        .await
        .expect("json");
    assert!(clock["offset_ms"].as_i64().expect("offset") >= 7_200_000);
    app.stop().await;
}

#[tokio::test]
async fn an_invoice_is_paid_and_a_deploy_followed_live_from_the_dashboard() {
    let app = TestApp::spawn().await;
    let t = app.long_token().await;
    // A year of a GPU server: more than the demo credit, so its invoice waits.
    let order = app.order_gpu_year(&t).await;
    ok(&order);
    assert_eq!(order["status"], "Unpaid");
    let invoice = order["invoice"].as_i64().expect("invoice");
    let accounts = page(&app, "/accounts").await;
    let pay_path = format!("/invoices/{invoice}/pay");
    assert!(
        accounts.contains(&pay_path),
        "an unpaid invoice has its Pay button"
    );
    let pdf = app
        .client
        .get(format!("{}/invoices/{invoice}/pdf", app.base))
        .send()
        .await
        .expect("pdf");
    assert_eq!(pdf.status(), 200);
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    assert!(pdf.bytes().await.expect("pdf").starts_with(b"%PDF"));

    // The live stream sends the table at once and again after every change.
    let live = app
        .client
        .get(format!("{}/tasks/live", app.base))
        .send()
        .await
        .expect("live");
    assert_eq!(live.headers()["content-type"], "text/event-stream");
    let mut stream = live.bytes_stream();
    let mut seen = String::new();
    let first = tokio::time::timeout(std::time::Duration::from_secs(10), stream.next())
        .await
        .expect("a first event")
        .expect("chunk")
        .expect("bytes");
    seen.push_str(&String::from_utf8_lossy(&first));
    assert!(seen.contains("event: tasks"), "{seen}");

    let csrf = csrf_of(&accounts);
    let paid = post_form(
        &app,
        &no_redirects(),
        &pay_path,
        &[("csrf", &csrf), ("back", "/accounts")],
    )
    .await;
    assert_eq!(paid.status(), StatusCode::SEE_OTHER);
    let balance = app.control_get("/_emu/accounts/demo").await;
    let inv = balance["invoices"]
        .as_array()
        .expect("invoices")
        .iter()
        .find(|i| i["id"] == invoice)
        .expect("the invoice")
        .clone();
    assert_eq!(inv["status"], "Paid");
    assert!(
        !page(&app, "/accounts").await.contains(&pay_path),
        "a paid invoice has no Pay button"
    );

    // The deploy goes on; the stream reports it done without the page being asked again.
    for _ in 0..40 {
        app.advance(600).await;
        app.run_tasks().await;
        if page(&app, "/tasks/table").await.contains("deploy_done") {
            break;
        }
    }
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while !seen.contains("deploy_done") {
        let chunk = tokio::time::timeout_at(deadline, stream.next())
            .await
            .expect("deploy_done reaches the live stream")
            .expect("chunk")
            .expect("bytes");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    drop(stream);
    app.stop().await;
}

#[tokio::test]
async fn the_reinstall_button_reinstalls_the_same_os_through_order_instance() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let vm = app
        .find_server(&t, |s| {
            s["IPMI"]["model"] == "ovirt" && s["server_data"]["status"] == "rent"
        })
        .await;
    let csrf = csrf_of(&page(&app, &format!("/servers/{vm}")).await);
    let r = post_form(
        &app,
        &no_redirects(),
        &format!("/servers/{vm}/reinstall"),
        &[("csrf", &csrf), ("root_pass", "Secret-pass1")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = r.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    assert!(to.contains("msg=reinstall+queued"), "{to}");
    let again = post_form(
        &app,
        &no_redirects(),
        &format!("/servers/{vm}/reinstall"),
        &[("csrf", &csrf), ("root_pass", "Secret-pass1")],
    )
    .await;
    let to = again.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    assert!(
        to.contains("msg=reinstall+refused"),
        "a second reinstall waits, as in the API: {to}"
    );
    assert!(page(&app, "/tasks/table")
        .await
        .contains("eq/order_instance"));
    app.stop().await;
}

/// The Requests page shows the journal (filtered, each call with its fields and answer,
/// secrets masked); the Faults page lists rules with their hits, adds and removes them.
#[tokio::test]
async fn the_requests_and_faults_pages_show_and_steer_the_test_tools() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let faults = page(&app, "/faults").await;
    assert!(faults.contains("no fault rules"), "{faults}");
    let csrf = csrf_of(&faults);
    let client = no_redirects();
    // A bad rule is refused with its reason, and nothing is added.
    let r = post_form(
        &app,
        &client,
        "/faults/add",
        &[
            ("csrf", &csrf),
            (
                "rule",
                "{\"module\":\"nope\",\"effect\":{\"type\":\"error\",\"error\":\"internal\"}}",
            ),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().expect("ascii").to_owned();
    assert!(to.contains("not+added"), "{to}");
    assert!(page(&app, "/faults").await.contains("no fault rules"));
    // Without the CSRF token: refused.
    let r = post_form(&app, &client, "/faults/add", &[("rule", "{}")]).await;
    assert_eq!(r.status(), 403);
    // A good rule: listed, then hit by a request, which the journal shows with the fault.
    let rule = r#"{"module":"eq","action":"show","server":40101,"times":1,"effect":{"type":"error","error":"not_found"}}"#;
    let r = post_form(
        &app,
        &client,
        "/faults/add",
        &[("csrf", &csrf), ("rule", rule)],
    )
    .await;
    assert_eq!(r.status(), 303);
    let listed = page(&app, "/faults").await;
    assert!(
        listed.contains("&quot;action&quot;:&quot;show&quot;"),
        "{listed}"
    );
    let v = app
        .call("eq", &[("action", "show"), ("token", &t), ("id", "40101")])
        .await;
    assert_eq!(v["result"], -1, "{v}");
    let requests = page(&app, "/requests?module=eq&action=show").await;
    assert!(requests.contains("<b>eq/show</b>"), "{requests}");
    assert!(requests.contains("fault 1"), "{requests}");
    assert!(!requests.contains(&t), "the token is masked");
    let auth = page(&app, "/requests?module=auth").await;
    assert!(auth.contains("<b>auth/login</b>"), "{auth}");
    assert!(!auth.contains("<b>eq/show</b>"), "only auth calls: {auth}");
    let bad = page(&app, "/requests?server=x").await;
    assert!(bad.contains("must be a server id"), "{bad}");
    // Hits are counted; the rule is removed with its button.
    let listed = page(&app, "/faults").await;
    assert!(listed.contains("<td>1</td>"), "one hit: {listed}");
    let r = post_form(&app, &client, "/faults/1/delete", &[("csrf", &csrf)]).await;
    assert_eq!(r.status(), 303);
    assert!(page(&app, "/faults").await.contains("no fault rules"));
    // The journal can be forgotten from the page.
    let r = post_form(&app, &client, "/requests/clear", &[("csrf", &csrf)]).await;
    assert_eq!(r.status(), 303);
    assert!(page(&app, "/requests")
        .await
        .contains("no requests recorded"));
    app.stop().await;
}

/// The F2HCloud "Generate API key" form: the key is shown once, in the answer to the form
/// (never in a URL), works against the F2HCloud API at once, and the list never shows it.
#[tokio::test]
async fn the_f2h_key_form_makes_a_key_shown_once_that_the_f2h_api_takes() {
    let app = TestApp::spawn().await;
    let form = page(&app, "/f2h/keys").await;
    assert!(form.contains("Generate API key"), "{form}");
    assert!(
        form.contains("value=\"antihack_unban\""),
        "every capability is offered"
    );
    let csrf = csrf_of(&form);
    let client = no_redirects();
    // No capability: refused with the reason, nothing made.
    let r = post_form(
        &app,
        &client,
        "/f2h/keys",
        &[
            ("csrf", &csrf),
            ("account_id", "38642"),
            ("label", "none"),
            ("servers", "nl-bm-01"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert!(r.headers()["location"]
        .to_str()
        .expect("ascii")
        .contains("not+created"));
    let r = post_form(
        &app,
        &client,
        "/f2h/keys",
        &[
            ("account_id", "38642"),
            ("label", "x"),
            ("capabilities", "reboot"),
        ],
    )
    .await;
    assert_eq!(r.status(), 403, "without the CSRF token");
    let r = post_form(
        &app,
        &client,
        "/f2h/keys",
        &[
            ("csrf", &csrf),
            ("account_id", "38642"),
            ("label", "from the dashboard"),
            ("servers", "nl-bm-01\n"),
            ("cidrs", "127.0.0.0/8"),
            ("capabilities", "server_details"),
            ("capabilities", "reboot"),
        ],
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let shown = r.text().await.expect("body");
    let at =
        shown.find("<pre id=\"new-key\">").expect("the new key") + "<pre id=\"new-key\">".len();
    let key = shown[at..].split('<').next().expect("key").to_owned();
    assert!(key.starts_with("f2h."), "{key}");
    let me: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/api/keys/self", app.f2h_base))
        .header("X-API-Key", &key)
        .send()
        .await
        .expect("f2h")
        .json()
        .await
        .expect("json");
    assert_eq!(me["label"], "from the dashboard", "{me}");
    let secret = key.rsplit('.').next().expect("secret");
    let listed = page(&app, "/f2h/keys").await;
    assert!(listed.contains("from the dashboard"));
    assert!(!listed.contains(secret), "the list never shows a secret");
    // Revoked with its button: from then on an invalid API key.
    let id = key.split('.').nth(1).expect("id");
    let r = post_form(
        &app,
        &client,
        &format!("/f2h/keys/{id}/revoke"),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(r.status(), 303);
    let r = reqwest::Client::new()
        .get(format!("{}/api/keys/self", app.f2h_base))
        .header("X-API-Key", &key)
        .send()
        .await
        .expect("f2h");
    assert_eq!(r.status(), 401);
    let body: serde_json::Value = r.json().await.expect("json");
    assert_eq!(body["detail"], "Invalid API key");
    assert!(page(&app, "/f2h/keys").await.contains("revoked "));
    // The control plane revokes too; a key revoked already, or unknown, is a 404.
    let r = app
        .client
        .delete(format!("{}/_emu/f2h/keys/{id}", app.base))
        .send()
        .await
        .expect("delete");
    assert_eq!(r.status(), 404);
    let r = app
        .client
        .delete(format!("{}/_emu/f2h/keys/deadbeefcafe0001", app.base))
        .send()
        .await
        .expect("delete");
    assert_eq!(r.status(), 200, "a demo key");
    app.stop().await;
}
