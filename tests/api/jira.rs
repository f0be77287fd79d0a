//! jira.php: remote-hands tickets, carried out by the simulated duty shift.

use serde_json::{json, Value};

use crate::helpers::*;

const NO_REMOTE: &str = "40105"; // demo bare metal without remote control, DE

async fn jira(app: &TestApp, token: &str, action: &str, id: &str) -> Value {
    app.call("jira", &[("action", action), ("token", token), ("id", id)])
        .await
}

async fn power(app: &TestApp, token: &str) -> Value {
    app.show(token, NO_REMOTE).await["server_data"]["power"].clone()
}

#[tokio::test]
async fn a_request_opens_a_ticket_that_the_duty_shift_carries_out() {
    let app = TestApp::spawn().await;
    let t = app.long_token().await;
    let v = jira(&app, &t, "request_poff", NO_REMOTE).await;
    assert_eq!(v["result"], "OK");
    let a = &v["action"];
    assert_eq!(a["permission"], "eq/off");
    assert_eq!(
        a["subject"],
        "CP request: Manual power OFF the server 40105 please"
    );
    assert_eq!(
        a["message"],
        "Dear HOSTKEY support, please power off the server 40105 since it doesn't have remote control. \n This is automated message from INVAPI, no extra verification required."
    );
    assert_eq!(a["msg"]["action"], "request_poff");
    assert_eq!(a["msg"]["id"], 40105, "a number, as 001 shows");
    assert_eq!(
        a["msg"]["callback_url"],
        format!("{}/eq_callback.php", app.base)
    );
    let key = a["msg"]["callback_key"].as_str().expect("key").to_owned();
    assert_eq!(key.len(), 32);
    let issue = v["jira_issue"].as_str().expect("issue").to_owned();
    assert!(issue.starts_with("RHR-"), "{issue}");
    assert_eq!(v["jira_url"], format!("{}/_emu/tickets/{issue}", app.base));
    // The confirmation mail, and an open ticket.
    let outbox = app.control_get("/_emu/outbox").await;
    assert!(outbox["mails"][0]["subject"]
        .as_str()
        .expect("subject")
        .starts_with(&format!("[{issue}] CP request: Manual power OFF")));
    let ticket = app.control_get(&format!("/_emu/tickets/{issue}")).await;
    assert_eq!(ticket["ticket"]["status"], "open");
    // The duty shift needs its time: nothing happens in the first minutes.
    app.advance(300).await;
    app.run_tasks().await;
    assert_eq!(app.check(&key).await["result"], "Not ready");
    assert_eq!(power(&app, &t).await, "on");
    app.advance(1200).await;
    app.run_tasks().await;
    let done = app.check(&key).await;
    assert_eq!(done["result"], "OK");
    assert_eq!(
        done["scope"],
        "The server 40105 was powered off by the duty shift"
    );
    assert_eq!(done["context"]["jira_issue"], issue.as_str());
    assert_eq!(power(&app, &t).await, "off");
    let ticket = app.control_get(&format!("/_emu/tickets/{issue}")).await;
    assert_eq!(ticket["ticket"]["status"], "done");
    let outbox = app.control_get("/_emu/outbox").await;
    assert!(outbox["mails"][0]["subject"]
        .as_str()
        .expect("subject")
        .starts_with(&format!("[{issue}] Resolved:")));
    // And back on.
    let v = jira(&app, &t, "request_pon", NO_REMOTE).await;
    let key = v["action"]["msg"]["callback_key"]
        .as_str()
        .expect("key")
        .to_owned();
    app.advance(1800).await;
    app.run_tasks().await;
    assert_eq!(app.check(&key).await["result"], "OK");
    assert_eq!(power(&app, &t).await, "on");
    app.stop().await;
}

#[tokio::test]
async fn every_request_has_the_documented_permission_and_subject() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    for (action, permission, subject) in [
        (
            "request_pon",
            "eq/on",
            "CP request: Manual power ON the server 40105 please",
        ),
        (
            "request_poff",
            "eq/off",
            "CP request: Manual power OFF the server 40105 please",
        ),
        (
            "request_reboot",
            "eq/reboot",
            "CP request: Manual REBOOT the server 40105 please",
        ),
        (
            "request_PXEboot",
            "eq/PXEboot",
            "CP request: Manual boot from PXE the server 40105 please",
        ),
        (
            "request_kvm",
            "eq/kvm",
            "CP request: KVM to the server 40105 please",
        ),
        (
            "request_check",
            "eq/check",
            "CP request: Manual check the server 40105 please",
        ),
    ] {
        let v = jira(&app, &t, action, NO_REMOTE).await;
        assert_eq!(v["action"]["permission"], permission, "{action}");
        assert_eq!(v["action"]["subject"], subject, "{action}");
        assert!(v["action"]["message"]
            .as_str()
            .expect("message")
            .ends_with("since it doesn't have remote control. \n This is automated message from INVAPI, no extra verification required."));
    }
    let tickets = app.control_get("/_emu/tickets").await;
    assert_eq!(tickets["tickets"].as_array().map(Vec::len), Some(6));
    app.stop().await;
}

#[tokio::test]
async fn requests_are_checked_like_every_server_action() {
    let app = TestApp::spawn().await;
    let demo = app.demo_token().await;
    let other = app.other_token().await;
    let v = jira(&app, &other, "request_pon", NO_REMOTE).await;
    let e = error_of(&v);
    assert!(
        e.contains("not found") || e.contains("permission denied"),
        "{e}"
    );
    let v = jira(&app, &demo, "request_teleport", NO_REMOTE).await;
    assert_eq!(error_of(&v), "jira: unknown action request_teleport");
    let v = app
        .call("jira", &[("action", "request_pon"), ("token", "nope")])
        .await;
    assert_eq!(error_of(&v), "auth: invalid token");
    let v = app
        .call("jira", &[("action", "request_pon"), ("token", &demo)])
        .await;
    assert_eq!(error_of(&v), "jira/request_pon: id is required");
    let r = app
        .client
        .get(format!("{}/_emu/tickets/RHR-999", app.base))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 404);
    let body: Value = r.json().await.expect("json");
    assert_eq!(
        body,
        json!({"status": "error", "error": "ticket RHR-999 not found"})
    );
    app.stop().await;
}

#[tokio::test]
async fn a_pxe_boot_by_hand_starts_the_configured_installer() {
    let app = TestApp::spawn().await;
    let t = app.long_token().await;
    let r = app
        .call(
            "eq",
            &[("action", "reinstall"), ("token", &t), ("id", "40102")],
        )
        .await;
    let master = r["callback"].as_str().expect("key").to_owned();
    let c = app
        .call(
            "eq",
            &[
                ("action", "create_pxe"),
                ("token", &t),
                ("id", "40102"),
                ("os_id", "211"),
                ("root_pass", "mnN48Dl@4"),
                ("hostname", "bm1.example.com"),
                ("reinstall_key", &master),
            ],
        )
        .await;
    app.complete(c["callback"].as_str().expect("key")).await;
    let v = jira(&app, &t, "request_PXEboot", "40102").await;
    let key = v["action"]["msg"]["callback_key"]
        .as_str()
        .expect("key")
        .to_owned();
    app.advance(1800).await;
    app.run_tasks().await;
    let done = app.check(&key).await;
    assert_eq!(done["result"], "OK");
    assert_eq!(done["context"]["reinstall_key"], master.as_str());
    assert_eq!(
        app.check(&master).await["result"],
        "Stage",
        "the installer runs"
    );
    app.stop().await;
}
