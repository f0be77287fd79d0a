//! The HTTPS listener: the real host name over TLS trusting only the exported CA, the
//! `CONNECT` proxy, and the clean refusals (plain HTTP on the TLS port, `CONNECT` elsewhere).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{TestApp, DEMO_KEY};

/// The CA as a client gets it: `GET /_emu/ca.pem` on the plain port.
async fn exported_ca(app: &TestApp) -> reqwest::Certificate {
    let r = app
        .client
        .get(format!("{}/_emu/ca.pem", app.base))
        .send()
        .await
        .expect("ca.pem");
    assert_eq!(r.status(), 200);
    let pem = r.bytes().await.expect("body");
    assert!(pem.starts_with(b"-----BEGIN CERTIFICATE-----"));
    reqwest::Certificate::from_pem(&pem).expect("a PEM certificate")
}

/// A client that trusts the emulator's CA and nothing else (no built-in roots).
fn trusting(ca: reqwest::Certificate) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(ca)
        .timeout(Duration::from_secs(20))
}

async fn demo_login(client: &reqwest::Client, url: &str) -> serde_json::Value {
    let r = client
        .post(url)
        .form(&[("action", "login"), ("key", DEMO_KEY)])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{url}: {e:?}"));
    assert_eq!(r.status(), 200);
    r.json().await.expect("json")
}

#[tokio::test]
async fn https_as_invapi_hostkey_com_trusting_only_the_exported_ca() {
    let app = TestApp::spawn_tls().await;
    let tls = app.tls_addr.expect("TLS listener");
    let client = trusting(exported_ca(&app).await)
        .resolve("invapi.hostkey.com", tls)
        .build()
        .expect("client");
    let url = format!("https://invapi.hostkey.com:{}/auth.php", tls.port());
    let v = demo_login(&client, &url).await;
    assert!(v["result"]["token"].as_str().is_some(), "{v}");

    // The same client, without the CA, refuses the certificate.
    let stranger = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .resolve("invapi.hostkey.com", tls)
        .build()
        .expect("client");
    assert!(stranger.post(&url).send().await.is_err());
    app.stop().await;
}

#[tokio::test]
async fn https_through_the_connect_proxy() {
    let app = TestApp::spawn_tls().await;
    let tls = app.tls_addr.expect("TLS listener");
    let client = trusting(exported_ca(&app).await)
        .proxy(reqwest::Proxy::https(format!("http://{tls}")).expect("proxy"))
        .build()
        .expect("client");
    // Port 443, as a hard-coded client has it: the tunnel ends in the emulator.
    let v = demo_login(&client, "https://invapi.hostkey.com/auth.php").await;
    assert!(v["result"]["token"].as_str().is_some(), "{v}");
    app.stop().await;
}

/// Sends raw bytes, returns everything the server answers until it closes.
async fn raw(at: SocketAddr, request: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(at).await.expect("connect");
    s.write_all(request.as_bytes()).await.expect("write");
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut out))
        .await
        .expect("the server closes")
        .expect("read");
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn plain_http_on_the_tls_port_and_connect_elsewhere_are_refused_cleanly() {
    let app = TestApp::spawn_tls().await;
    let tls = app.tls_addr.expect("TLS listener");
    let plain = raw(
        tls,
        "POST /auth.php HTTP/1.1\r\nHost: x\r\ncontent-length: 0\r\n\r\n",
    )
    .await;
    assert!(plain.starts_with("HTTP/1.1 400 "), "{plain}");
    assert!(plain.contains(r#""result":-1"#), "{plain}");
    assert!(plain.contains("this port speaks HTTPS"), "{plain}");

    let elsewhere = raw(
        tls,
        "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
    )
    .await;
    assert!(elsewhere.starts_with("HTTP/1.1 403 "), "{elsewhere}");
    assert!(elsewhere.contains("forwards nothing"), "{elsewhere}");

    // The emulator still serves after both.
    let client = trusting(exported_ca(&app).await)
        .resolve("invapi.hostkey.com", tls)
        .build()
        .expect("client");
    let url = format!("https://invapi.hostkey.com:{}/auth.php", tls.port());
    assert!(demo_login(&client, &url).await["result"]["token"].is_string());
    app.stop().await;
}

#[tokio::test]
async fn without_the_tls_listener_there_is_no_ca_to_fetch() {
    // Nor the Hestia listener, whose certificates come from the same CA.
    let mut config = crate::helpers::test_config();
    config.hestia_listen = hostkey_emu::config::OptionalListen(None);
    let app = TestApp::spawn_with(config).await;
    let r = app
        .client
        .get(format!("{}/_emu/ca.pem", app.base))
        .send()
        .await
        .expect("ca.pem");
    assert_eq!(r.status(), 404);
    let v: serde_json::Value = r.json().await.expect("json");
    assert_eq!(v["status"], "error");
    let health: serde_json::Value = app
        .client
        .get(format!("{}/_emu/health", app.base))
        .send()
        .await
        .expect("health")
        .json()
        .await
        .expect("json");
    assert_eq!(health["version"], env!("CARGO_PKG_VERSION"));
    assert!(
        health["revision"].as_str().is_some_and(|r| !r.is_empty()),
        "{health}"
    );
    app.stop().await;
}
