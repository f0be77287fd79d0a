//! Remote access: IPMI users, BMC reset, oVirt console files, noVNC pages.

use serde_json::Value;

use crate::helpers::*;

async fn eq(app: &TestApp, token: &str, form: &[(&str, &str)]) -> Value {
    let mut f = vec![("token", token)];
    f.extend_from_slice(form);
    app.call("eq", &f).await
}

#[tokio::test]
async fn ipmi_users_are_created_and_removed() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let v = eq(&app, &t, &[("action", "add_ipmi_user"), ("id", "40102")]).await;
    let rec = app.complete(v["callback"].as_str().expect("key")).await;
    let user = rec["context"]["User"].as_str().expect("user").to_owned();
    assert!(user.starts_with('u') && user.len() == 8);
    assert_eq!(rec["context"]["Password"].as_str().map(str::len), Some(16));
    assert!(rec["scope"]
        .as_str()
        .expect("scope")
        .contains("Set User Password command successful (user 3)"));
    assert_eq!(
        rec["debug"], "",
        "debug is a string, also where 001 prints null"
    );
    let v = eq(
        &app,
        &t,
        &[
            ("action", "remove_ipmi_user"),
            ("id", "40102"),
            ("username", &user),
        ],
    )
    .await;
    assert_eq!(v["id"], 40102);
    let rec = app.complete(v["callback"].as_str().expect("key")).await;
    assert!(rec["scope"]
        .as_str()
        .expect("scope")
        .ends_with("  User removed"));
    assert_eq!(rec["context"]["User"], user.as_str());
    let again = eq(&app, &t, &[("action", "remove_ipmi_user"), ("id", "40102")]).await;
    assert!(error_of(&again).contains("no temporary IPMI user"));
    let vm = eq(&app, &t, &[("action", "add_ipmi_user"), ("id", "40101")]).await;
    assert!(error_of(&vm).contains("virtual machine"));
    let none = eq(&app, &t, &[("action", "add_ipmi_user"), ("id", "40105")]).await;
    assert!(error_of(&none).contains("has no IPMI"));
    let reset = eq(
        &app,
        &t,
        &[("action", "unit_reset"), ("id", "40103"), ("pin", DEMO_PIN)],
    )
    .await;
    let rec = app.complete(reset["callback"].as_str().expect("key")).await;
    assert_eq!(rec["scope"], "Unit is reset");
    assert_eq!(rec["debug"], "Sent cold reset command to MC");
    app.stop().await;
}

#[tokio::test]
async fn a_vm_console_is_a_virt_viewer_file() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let v = eq(
        &app,
        &t,
        &[("action", "console"), ("id", "40101"), ("pin", DEMO_PIN)],
    )
    .await;
    let rec = app.complete(v["callback"].as_str().expect("key")).await;
    let vv = rec["scope"].as_str().expect("scope");
    assert!(vv.starts_with("[virt-viewer]\ntype=spice\n") && vv.contains("\n[ovirt]\n"));
    assert!(vv.contains("title=40101:%d"));
    assert_eq!(rec["context"]["ip_ipmi"], "");
    let bm = eq(&app, &t, &[("action", "console"), ("id", "40102")]).await;
    assert_eq!(
        error_of(&bm),
        "eq/console: server 40102 is not a virtual machine; use eq/novnc, or nat/add_static_nat with an IPMI user"
    );
    let suspended = eq(&app, &t, &[("action", "console"), ("id", "40106")]).await;
    assert!(
        error_of(&suspended).contains("server 40106 is suspended"),
        "{suspended}"
    );
    app.stop().await;
}

#[tokio::test]
async fn novnc_serves_a_console_page_until_stopped() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    // white_ip: only that address may open the console.
    let v = eq(
        &app,
        &t,
        &[
            ("action", "novnc"),
            ("id", "40101"),
            ("white_ip", "127.0.0.2"),
        ],
    )
    .await;
    let rec = app.complete(v["callback"].as_str().expect("key")).await;
    let limited = rec["scope"].as_str().expect("url").to_owned();
    let refused = app.client.get(&limited).send().await.expect("get");
    assert_eq!(refused.status(), 403, "127.0.0.1 is not the white_ip");
    assert!(refused.text().await.expect("html").contains("127.0.0.2"));
    let allowed = app
        .client_from("127.0.0.2")
        .get(&limited)
        .send()
        .await
        .expect("get");
    assert_eq!(allowed.status(), 200, "the white_ip may open it");
    // Without white_ip anyone with the URL may.
    let v = eq(&app, &t, &[("action", "novnc"), ("id", "40101")]).await;
    let rec = app.complete(v["callback"].as_str().expect("key")).await;
    let url = rec["scope"].as_str().expect("url").to_owned();
    assert!(
        url.starts_with(&format!("{}/novnc/", app.base)),
        "served by the emulator: {url}"
    );
    assert_eq!(rec["context"]["url"], url.as_str());
    assert_eq!(
        app.client.get(&limited).send().await.expect("get").status(),
        404,
        "a new session ends the old one"
    );
    let page = app.client.get(&url).send().await.expect("get");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(
        html.contains("40101") && html.contains("nl-vmmini-01"),
        "{html}"
    );
    let v = eq(&app, &t, &[("action", "recreate_novnc"), ("id", "40101")]).await;
    let new_url = app.complete(v["callback"].as_str().expect("key")).await["scope"]
        .as_str()
        .expect("url")
        .to_owned();
    assert_ne!(new_url, url);
    assert_eq!(
        app.client.get(&url).send().await.expect("get").status(),
        404,
        "the old session is gone"
    );
    assert_eq!(
        app.client.get(&new_url).send().await.expect("get").status(),
        200
    );
    let v = eq(&app, &t, &[("action", "stop_novnc"), ("id", "40101")]).await;
    app.complete(v["callback"].as_str().expect("key")).await;
    assert_eq!(
        app.client.get(&new_url).send().await.expect("get").status(),
        404
    );
    let bad = eq(
        &app,
        &t,
        &[("action", "novnc"), ("id", "40101"), ("white_ip", "nope")],
    )
    .await;
    assert!(error_of(&bad).contains("invalid white_ip"));
    let none = eq(&app, &t, &[("action", "novnc"), ("id", "40105")]).await;
    assert!(error_of(&none).contains("no remote console"));
    app.stop().await;
}

#[tokio::test]
async fn ipmi_users_fill_slots_3_to_15_and_no_more() {
    let app = TestApp::spawn().await;
    let t = app.long_token().await;
    for n in 0..13 {
        let v = app
            .call(
                "eq",
                &[("action", "add_ipmi_user"), ("token", &t), ("id", "40102")],
            )
            .await;
        let rec = app.complete(v["callback"].as_str().expect("key")).await;
        assert_eq!(rec["result"], "OK", "user {n}: {rec}");
    }
    let v = app
        .call(
            "eq",
            &[("action", "add_ipmi_user"), ("token", &t), ("id", "40102")],
        )
        .await;
    let rec = app.complete(v["callback"].as_str().expect("key")).await;
    assert_eq!(rec["result"], "Fail");
    assert!(rec["scope"]
        .as_str()
        .expect("scope")
        .starts_with("No free IPMI user slot"));
    app.stop().await;
}

#[tokio::test]
async fn consoles_need_a_server_that_is_online() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    for action in ["novnc", "console"] {
        let v = app
            .call("eq", &[("action", action), ("token", &t), ("id", "40106")])
            .await;
        assert!(
            error_of(&v).contains("server 40106 is suspended"),
            "{action}: {v}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn a_master_key_replaced_by_a_newer_one_expires() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let first = app
        .call(
            "eq",
            &[("action", "reinstall"), ("token", &t), ("id", "40103")],
        )
        .await;
    let second = app
        .call(
            "eq",
            &[("action", "reinstall"), ("token", &t), ("id", "40103")],
        )
        .await;
    let (k1, k2) = (
        first["callback"].as_str().expect("key"),
        second["callback"].as_str().expect("key"),
    );
    assert_eq!(
        error_of(&app.check(k1).await),
        format!("AsyncKey {k1} not found")
    );
    assert_eq!(app.check(k2).await["result"], "Not ready");
    app.stop().await;
}
