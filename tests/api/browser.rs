//! The dashboard in a real browser: headless Chromium through chromedriver (Debian's
//! `chromium` and `chromium-driver`), driven with fantoccini. Orders a VM through the API
//! and watches its deploy reach `deploy_done` on the Tasks page without a reload, reboots
//! a server with its button, pays an invoice, and saves screenshots of the main pages to
//! `target/screenshots/`. The Swagger UIs too: the F2HCloud face's `/docs` authorizes with
//! a scoped key and executes a reboot, the control plane's `/_emu/docs` lists its
//! operations and executes one with the admin token. Skipped, with a message saying why,
//! when Chromium or chromedriver is not installed (`.ci/run` installs them).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

use crate::helpers::*;

/// The first of `names` found on the `PATH`.
fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

/// chromedriver on a free loopback port; killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_driver(driver: &PathBuf) -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("free port")
        .local_addr()
        .expect("addr")
        .port();
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let d = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    // Waits (at most 20 s) until chromedriver accepts connections.
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start listening on port {port}");
}

async fn browser(driver: &Driver, chromium: &PathBuf) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".to_owned(),
        json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu", "--window-size=1280,900"],
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a browser session")
}

fn shots_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).expect("screenshots dir");
    dir
}

async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    std::fs::write(shots_dir().join(name), png).expect("write screenshot");
}

/// Waits (in real time, at most 20 s) until the element's text contains `want`.
async fn wait_for_text(c: &Client, css: &str, want: &str) -> String {
    let mut last = String::new();
    for _ in 0..100 {
        if let Ok(e) = c.find(Locator::Css(css)).await {
            last = e.text().await.unwrap_or_default();
            if last.contains(want) {
                return last;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{css} never showed {want:?}; last text: {last}");
}

/// Chromium and chromedriver, or `None` after saying that `test` is skipped without them.
fn chromium_and_driver(test: &str) -> Option<(PathBuf, PathBuf)> {
    match (
        on_path(&["chromium", "chromium-browser", "google-chrome"]),
        on_path(&["chromedriver"]),
    ) {
        (Some(chromium), Some(driver)) => Some((chromium, driver)),
        _ => {
            println!(
                "SKIPPED {test}: chromium and chromedriver are not installed (apt-get install \
                 -y chromium chromium-driver; .ci/run installs them)"
            );
            None
        }
    }
}

#[tokio::test]
async fn the_dashboard_follows_an_order_a_reboot_and_a_payment_in_a_browser() {
    let Some((chromium, driver)) =
        chromium_and_driver("the_dashboard_follows_an_order_a_reboot_and_a_payment_in_a_browser")
    else {
        return;
    };
    let app = TestApp::spawn().await;
    let driver = start_driver(&driver).await;
    let c = browser(&driver, &chromium).await;
    let base = app.base.clone();
    let result = async {
        // The overview.
        c.goto(&format!("{base}/")).await.expect("overview");
        assert_eq!(
            c.find(Locator::Css("h1"))
                .await
                .expect("h1")
                .text()
                .await
                .expect("text"),
            "Overview"
        );
        shot(&c, "overview.png").await;
        c.goto(&format!("{base}/servers")).await.expect("servers");
        shot(&c, "servers.png").await;

        // Order a VM through the API, then watch its deploy on the Tasks page.
        let t = app.long_token().await;
        let order = app
            .call(
                "eq",
                &[
                    ("action", "order_instance"),
                    ("token", &t),
                    ("deploy_period", "monthly"),
                    ("pin", DEMO_PIN),
                    ("preset", "108"),
                    ("location_name", "NL"),
                    ("os_id", "187"),
                    ("traffic_plan", "25"),
                    ("root_pass", "Secret-pass1"),
                    ("hostname", "browser-test.example.com"),
                ],
            )
            .await;
        ok(&order);
        let key = order["callback"].as_str().expect("callback").to_owned();
        c.goto(&format!("{base}/tasks")).await.expect("tasks");
        wait_for_text(&c, "#live-state", "live updates: on").await;
        // A mark on the page that a reload would wipe.
        c.execute("window.notReloaded = true; return true;", vec![])
            .await
            .expect("mark");
        let row = format!("tr[data-key='{key}']");
        wait_for_text(&c, &row, "eq/order_instance").await;
        shot(&c, "tasks-running.png").await;
        for _ in 0..60 {
            app.advance(600).await;
            app.run_tasks().await;
            if app.check(&key).await["result"] == "OK" {
                break;
            }
        }
        let done = wait_for_text(&c, &row, "deploy_done").await;
        assert!(done.contains("done"), "{done}");
        let still: Value = c
            .execute("return window.notReloaded === true;", vec![])
            .await
            .expect("mark");
        assert_eq!(still, json!(true), "the page was updated without a reload");
        shot(&c, "tasks.png").await;

        // Reboot the new server with its button.
        let id = order["id"].as_i64().expect("id");
        c.goto(&format!("{base}/servers/{id}"))
            .await
            .expect("server page");
        c.find(Locator::XPath("//button[normalize-space()='Reboot']"))
            .await
            .expect("the Reboot button")
            .click()
            .await
            .expect("click");
        let notice = wait_for_text(&c, ".notice", "reboot queued").await;
        assert!(notice.contains("task "), "{notice}");
        wait_for_text(&c, "table.tasks", "eq/reboot").await;
        app.advance(600).await;
        app.run_tasks().await;
        c.refresh().await.expect("refresh");
        wait_for_text(&c, "table.tasks", "done").await;
        shot(&c, "server.png").await;

        // Pay an invoice that waits: a year of a GPU server exceeds the demo credit.
        let gpu = app.order_gpu_year(&t).await;
        ok(&gpu);
        assert_eq!(gpu["status"], "Unpaid");
        let invoice = gpu["invoice"].as_i64().expect("invoice");
        c.goto(&format!("{base}/accounts")).await.expect("accounts");
        let inv_row = format!("tr[data-invoice='{invoice}']");
        wait_for_text(&c, &inv_row, "Unpaid").await;
        c.find(Locator::Css(&format!("{inv_row} button")))
            .await
            .expect("the Pay button")
            .click()
            .await
            .expect("click");
        wait_for_text(&c, ".notice", &format!("invoice {invoice} paid")).await;
        wait_for_text(&c, &inv_row, "Paid").await;
        shot(&c, "accounts.png").await;

        // The same pages on a phone's width.
        c.set_window_size(390, 844).await.expect("resize");
        c.goto(&format!("{base}/servers/{id}"))
            .await
            .expect("server page");
        shot(&c, "server-phone.png").await;
    }
    .await;
    let _ = c.close().await;
    drop(driver);
    app.stop().await;
    result
}

/// Clicks the element `css` finds (waiting, at most 20 s, until it is there).
async fn click(c: &Client, css: &str) {
    let e = c
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
    e.click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

/// Types `text` into the input `css` finds (waiting for it).
async fn type_into(c: &Client, css: &str, text: &str) {
    let e = c
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
    e.send_keys(text)
        .await
        .unwrap_or_else(|e| panic!("type into {css}: {e}"));
}

/// Swagger UI's "Authorize" dialog: `value` into its (first) input, applied, closed.
async fn authorize(c: &Client, value: &str) {
    click(c, ".auth-wrapper button.authorize").await;
    type_into(c, ".modal-ux .auth-container input", value).await;
    click(c, ".modal-ux button.modal-btn.authorize").await;
    // Applied: the dialog offers to log out instead.
    wait_for_text(c, ".modal-ux .auth-btn-wrapper", "Logout").await;
    click(c, ".modal-ux button.btn-done").await;
}

/// Opens operation `op` (its block's id), "Try it out", fills `params` (name, value),
/// "Execute"; the status and body Swagger UI shows.
async fn execute(c: &Client, op: &str, params: &[(&str, &str)]) -> (String, String) {
    let block = format!("#{op}");
    click(c, &format!("{block} button.opblock-summary-control")).await;
    click(c, &format!("{block} button.try-out__btn")).await;
    for (name, value) in params {
        type_into(
            c,
            &format!("{block} tr[data-param-name='{name}'] input"),
            value,
        )
        .await;
    }
    click(c, &format!("{block} button.execute")).await;
    let answer = format!("{block} .live-responses-table tr.response");
    let status = text_of(c, &format!("{answer} .response-col_status")).await;
    let body = text_of(
        c,
        &format!("{answer} .response-col_description .highlight-code pre"),
    )
    .await;
    (status.trim().to_owned(), body)
}

/// The text of the element `css` finds, once it has some (waiting, at most 20 s).
async fn text_of(c: &Client, css: &str) -> String {
    for _ in 0..100 {
        if let Ok(e) = c.find(Locator::Css(css)).await {
            let text = e.text().await.unwrap_or_default();
            if !text.trim().is_empty() {
                return text;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{css} never showed any text");
}

/// The value of `"key": "..."` in a JSON text as Swagger UI shows it.
fn json_field(text: &str, key: &str) -> Option<String> {
    let v: Value = serde_json::from_str(text).ok()?;
    v[key].as_str().map(str::to_owned)
}

#[tokio::test]
async fn the_f2h_swagger_ui_authorizes_with_a_key_and_executes_a_reboot() {
    let Some((chromium, driver)) =
        chromium_and_driver("the_f2h_swagger_ui_authorizes_with_a_key_and_executes_a_reboot")
    else {
        return;
    };
    /// The demo scenario's single-server F2HCloud key (nl-bm-01, server 40102).
    const KEY: &str = "f2h.deadbeefcafe0001.DemoSingleServerKey0123456789abcdef";
    let app = TestApp::spawn().await;
    // Powered off through the InvAPI, so that the reboot has something to show.
    let token = app.demo_token().await;
    let off = app
        .call(
            "eq",
            &[
                ("action", "off"),
                ("token", &token),
                ("id", "40102"),
                ("pin", DEMO_PIN),
            ],
        )
        .await;
    app.complete(off["callback"].as_str().expect("key")).await;
    assert_eq!(app.show(&token, 40102).await["server_data"]["power"], "off");
    let driver = start_driver(&driver).await;
    let c = browser(&driver, &chromium).await;
    let result = async {
        c.goto(&format!("{}/docs", app.f2h_base))
            .await
            .expect("docs");
        wait_for_text(&c, ".info .title", "F2HCloud API").await;
        authorize(&c, KEY).await;
        shot(&c, "f2h-docs.png").await;
        let (status, body) = execute(
            &c,
            "operations-default-customer_reboot_server",
            &[("hostname", "nl-bm-01")],
        )
        .await;
        shot(&c, "f2h-docs-reboot.png").await;
        assert_eq!(status, "202", "{body}");
        let task = json_field(&body, "task_id").unwrap_or_else(|| panic!("a task id: {body}"));
        assert_eq!(json_field(&body, "action").as_deref(), Some("reboot"));
        // The curl line Swagger UI shows carries the key it was given.
        let curl = wait_for_text(
            &c,
            "#operations-default-customer_reboot_server .curl-command",
            "X-API-Key",
        )
        .await;
        assert!(curl.contains("/api/servers/nl-bm-01/reboot"), "{curl}");
        // The reboot really was queued: the InvAPI polls the same task, which completes
        // on the emulator clock and powers the server on.
        let done = app.complete(&task).await;
        ok(&done);
        assert_eq!(done["context"]["action"], "reboot", "{done}");
        assert_eq!(app.show(&token, 40102).await["server_data"]["power"], "on");
    }
    .await;
    let _ = c.close().await;
    drop(driver);
    app.stop().await;
    result
}

#[tokio::test]
async fn the_control_planes_swagger_ui_lists_its_operations_and_executes_one_with_the_token() {
    let Some((chromium, driver)) = chromium_and_driver(
        "the_control_planes_swagger_ui_lists_its_operations_and_executes_one_with_the_token",
    ) else {
        return;
    };
    const TOKEN: &str = "t0ken-for-the-browser";
    let mut config = test_config();
    config.admin_token = Some(TOKEN.parse().expect("token"));
    let app = TestApp::spawn_with(config).await;
    let doc: Value = app
        .client
        .get(format!("{}/_emu/openapi.json", app.base))
        .send()
        .await
        .expect("doc")
        .json()
        .await
        .expect("json");
    let operations: usize = doc["paths"]
        .as_object()
        .expect("paths")
        .values()
        .map(|item| item.as_object().map_or(0, |o| o.len()))
        .sum();
    let driver = start_driver(&driver).await;
    let c = browser(&driver, &chromium).await;
    let result = async {
        c.goto(&format!("{}/_emu/docs", app.base))
            .await
            .expect("docs");
        wait_for_text(&c, ".info .title", "hostkey-emu control plane").await;
        // Every operation of the document is on the page.
        let mut shown = 0;
        for _ in 0..100 {
            shown = c
                .find_all(Locator::Css(".opblock"))
                .await
                .expect("blocks")
                .len();
            if shown == operations {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(shown, operations, "operations listed");
        shot(&c, "emu-docs.png").await;
        authorize(&c, TOKEN).await;
        let (status, body) = execute(&c, "operations-emulator-health", &[]).await;
        assert_eq!(status, "200", "{body}");
        assert_eq!(json_field(&body, "status").as_deref(), Some("ok"), "{body}");
        let (status, body) = execute(
            &c,
            "operations-emulator-advance_clock",
            &[("seconds", "120")],
        )
        .await;
        assert_eq!(status, "200", "{body}");
        shot(&c, "emu-docs-advance.png").await;
        // The clock really moved.
        let r = app
            .client
            .get(format!("{}/_emu/clock", app.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("clock");
        let clock: Value = r.json().await.expect("json");
        assert_eq!(clock["offset_ms"], 120_000, "{clock}");
    }
    .await;
    let _ = c.close().await;
    drop(driver);
    app.stop().await;
    result
}
