//! `/_emu/metrics`: the Prometheus text, parsed as Prometheus would parse it.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{emu, TestApp};

fn value_of(
    scrape: &prometheus_parse::Scrape,
    metric: &str,
    labels: &[(&str, &str)],
) -> Option<f64> {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .and_then(|s| match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => Some(v),
            _ => None,
        })
}

#[tokio::test]
async fn metrics_count_requests_tasks_and_faults_in_the_prometheus_text_format() {
    let app = TestApp::spawn().await;
    let t = app.long_token().await;
    app.call("os", &[("action", "list")]).await;
    app.call("os", &[("action", "list")]).await;
    app.call(
        "eq",
        &[("action", "reboot"), ("token", &t), ("id", "40101")],
    )
    .await;
    app.call(
        "eq",
        &[
            ("action", "show"),
            ("token", "0".repeat(32).as_str()),
            ("id", "1"),
        ],
    )
    .await;
    app.fault(json!({"module": "software", "effect": {"type": "http", "status": 503}}))
        .await;
    app.post("software", &[("action", "list")]).await;
    let r = app
        .client
        .get(format!("{}/_emu/metrics", app.base))
        .send()
        .await
        .expect("metrics");
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .expect("type")
        .contains("text"));
    let text = r.text().await.expect("text");
    let lines = text.lines().map(|l| Ok(l.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("parses");
    let requests = "hostkey_emu_requests_total";
    assert_eq!(
        value_of(
            &scrape,
            requests,
            &[("module", "os"), ("action", "list"), ("result", "ok")]
        ),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        value_of(
            &scrape,
            requests,
            &[("module", "eq"), ("action", "show"), ("result", "error")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value_of(
            &scrape,
            requests,
            &[("module", "software"), ("result", "http_503")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value_of(
            &scrape,
            "hostkey_emu_faults_applied_total",
            &[("effect", "http")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value_of(
            &scrape,
            "hostkey_emu_tasks",
            &[("kind", "power"), ("state", "queued")]
        ),
        Some(1.0),
        "{text}"
    );
    assert!(value_of(&scrape, "hostkey_emu_database_bytes", &[]).expect("db size") > 0.0);
    // The latency histogram has its count.
    assert_eq!(
        value_of(
            &scrape,
            "hostkey_emu_request_duration_seconds_count",
            &[("module", "os"), ("action", "list")]
        ),
        Some(2.0),
        "{text}"
    );
    // Once run, the task counts as done.
    app.advance(600).await;
    app.run_tasks().await;
    let text = app
        .client
        .get(format!("{}/_emu/metrics", app.base))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let scrape =
        prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("parses");
    assert_eq!(
        value_of(
            &scrape,
            "hostkey_emu_tasks",
            &[("kind", "power"), ("state", "done")]
        ),
        Some(1.0),
        "{text}"
    );
}

/// `hostkey_emu_worlds` of a scrape of `base`.
async fn worlds_gauge(app: &TestApp, base: &str) -> Option<f64> {
    let text = app
        .client
        .get(format!("{base}/_emu/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let scrape =
        prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("parses");
    value_of(&scrape, "hostkey_emu_worlds", &[])
}

#[tokio::test]
async fn the_worlds_gauge_follows_worlds_as_they_are_created_and_deleted() {
    let app = TestApp::spawn().await;
    assert_eq!(worlds_gauge(&app, &app.base).await, Some(0.0));
    let mut ids = Vec::new();
    for n in 1..=3 {
        let (status, w) = emu(&app, Method::POST, "/_emu/worlds", Some(json!({}))).await;
        assert_eq!(status, 201);
        ids.push(w["world"]["id"].as_str().expect("id").to_owned());
        assert_eq!(worlds_gauge(&app, &app.base).await, Some(f64::from(n)));
    }
    // A refused world (a bad scenario) is not counted.
    let bad = json!({"scenario": "no-such-scenario"});
    let (status, _) = emu(&app, Method::POST, "/_emu/worlds", Some(bad)).await;
    assert_eq!(status, 400);
    assert_eq!(worlds_gauge(&app, &app.base).await, Some(3.0));
    // A world's own metrics count no worlds of its own (worlds do not nest).
    let inside = format!("{}/w/{}", app.base, ids[0]);
    assert_eq!(worlds_gauge(&app, &inside).await, Some(0.0));
    let mut left = 3.0;
    for id in &ids {
        let r = app
            .client
            .delete(format!("{}/_emu/worlds/{id}", app.base))
            .send()
            .await
            .expect("delete");
        assert_eq!(r.status(), 200);
        left -= 1.0;
        assert_eq!(worlds_gauge(&app, &app.base).await, Some(left));
    }
    // Deleting it again changes nothing.
    let r = app
        .client
        .delete(format!("{}/_emu/worlds/{}", app.base, ids[0]))
        .send()
        .await
        .expect("delete");
    assert_eq!(r.status(), 404);
    assert_eq!(worlds_gauge(&app, &app.base).await, Some(0.0));
    app.stop().await;
}
