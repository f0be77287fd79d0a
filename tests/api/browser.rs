//! The dashboard in a real browser: headless Chromium through chromedriver (Debian's
//! `chromium` and `chromium-driver`), driven with fantoccini. Orders a VM through the API
//! and watches its deploy reach `deploy_done` on the Tasks page without a reload, reboots
//! a server with its button, pays an invoice, and saves screenshots of the main pages to
//! `target/screenshots/`. Skipped, with a message saying why, when Chromium or chromedriver
//! is not installed (`.ci/run` installs them).

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

#[tokio::test]
async fn the_dashboard_follows_an_order_a_reboot_and_a_payment_in_a_browser() {
    let (Some(chromium), Some(driver)) = (
        on_path(&["chromium", "chromium-browser", "google-chrome"]),
        on_path(&["chromedriver"]),
    ) else {
        println!(
            "SKIPPED the_dashboard_follows_an_order_a_reboot_and_a_payment_in_a_browser: \
             chromium and chromedriver are not installed (apt-get install -y chromium \
             chromium-driver; .ci/run installs them)"
        );
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
        let gpu = app
            .call(
                "eq",
                &[
                    ("action", "order_instance"),
                    ("token", &t),
                    ("deploy_period", "annually"),
                    ("pin", DEMO_PIN),
                    ("preset", "gpu.4xa5000"),
                    ("location_name", "US"),
                    ("os_id", "187"),
                    ("traffic_plan", "31"),
                    ("root_pass", "Secret-pass1"),
                ],
            )
            .await;
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
