//! rhr.php: remote-hands requests over the one ticket store jira.php shares; and
//! jira/request_assistance.

use serde_json::Value;

use crate::helpers::*;

async fn rhr(app: &TestApp, token: &str, form: &[(&str, &str)]) -> Value {
    let mut f = vec![("token", token)];
    f.extend_from_slice(form);
    app.call("rhr", &f).await
}

fn ids(v: &Value) -> Vec<i64> {
    v["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .map(|r| r["id"].as_i64().expect("id"))
        .collect()
}

#[tokio::test]
async fn a_request_is_added_listed_answered_in_its_thread_and_discarded() {
    let app = TestApp::spawn().await;
    let t = app.long_token().await;
    // The documents' form: params[type], params[eq_id].
    let v = rhr(
        &app,
        &t,
        &[
            ("action", "add"),
            ("params[type]", "kvm"),
            ("params[eq_id]", "40102"),
            ("params[request_origin]", "INTERNAL"),
            ("comment", "Please attach a KVM, the server does not boot"),
        ],
    )
    .await;
    ok(&v);
    assert_eq!(
        (v["module"].as_str(), v["action"].as_str()),
        (Some("rhr"), Some("add"))
    );
    let r = &v["requests"][0];
    let id = r["id"].as_i64().expect("a number");
    assert_eq!(r["eq_id"], 40102);
    assert_eq!(r["type"], "KVM");
    assert_eq!(r["status"], "PENDING");
    assert_eq!(r["request_origin"], "CLIENT", "forced for clients");
    assert_eq!(
        r["request"],
        "Please attach a KVM, the server does not boot"
    );
    assert_eq!(r["ticket"], format!("RHR-{id}"));
    assert!(r["assignee"].is_null());
    assert!(r["created_at"].as_str().expect("date").ends_with('Z'));
    // Listed, with the server's location; another filter hides it.
    let listed = rhr(&app, &t, &[("action", "list")]).await;
    assert_eq!(ids(&listed), vec![id]);
    let loc = listed["requests"][0]["eq_location"]
        .as_str()
        .expect("loc")
        .to_owned();
    assert!(!loc.is_empty());
    let v = rhr(&app, &t, &[("action", "list"), ("location", &loc)]).await;
    assert_eq!(ids(&v), vec![id]);
    let v = rhr(&app, &t, &[("action", "list"), ("location", "XX")]).await;
    assert_eq!(ids(&v), Vec::<i64>::new());
    let v = rhr(&app, &t, &[("action", "list"), ("status", "DONE")]).await;
    assert_eq!(ids(&v), Vec::<i64>::new());
    // The same ticket the control plane shows jira.php's under.
    let ticket = app.control_get(&format!("/_emu/tickets/RHR-{id}")).await;
    assert_eq!(ticket["ticket"]["status"], "open");
    // A message in the thread; the duty shift answers a few minutes later.
    let id_s = id.to_string();
    let v = rhr(
        &app,
        &t,
        &[
            ("action", "chat"),
            ("id", &id_s),
            ("message", "It is in rack 4"),
        ],
    )
    .await;
    ok(&v);
    let history = v["history"].as_array().expect("history");
    assert_eq!(history.len(), 2, "the request, then the message: {v}");
    assert_eq!(history[1]["message"], "It is in rack 4");
    assert_eq!(history[1]["author"], "client");
    let key = v["callback"].as_str().expect("key").to_owned();
    assert_eq!(app.check(&key).await["result"], "Not ready");
    app.advance(400).await;
    app.run_tasks().await;
    let done = app.check(&key).await;
    assert_eq!(done["result"], "OK");
    assert_eq!(done["context"]["jira_issue"], format!("RHR-{id}"));
    let v = rhr(
        &app,
        &t,
        &[
            ("action", "chat"),
            ("id", &format!("RHR-{id}")),
            ("message", "thanks"),
        ],
    )
    .await;
    let history = v["history"].as_array().expect("history");
    assert_eq!(history[2]["author"], "support", "{v}");
    assert!(history[2]["message"]
        .as_str()
        .expect("text")
        .starts_with("Duty shift:"));
    // Discarded: gone from the default list, shown when canceled ones are asked for, and
    // the duty shift's visit does nothing.
    let v = rhr(&app, &t, &[("action", "discard"), ("id", &id_s)]).await;
    ok(&v);
    assert_eq!(v["requests"][0]["status"], "CANCELED");
    let visit = r["callback"].as_str().expect("visit key").to_owned();
    let v = rhr(&app, &t, &[("action", "list")]).await;
    assert_eq!(ids(&v), Vec::<i64>::new());
    let v = rhr(&app, &t, &[("action", "list"), ("status", "canceled")]).await;
    assert_eq!(ids(&v), vec![id]);
    app.advance(1800).await;
    app.run_tasks().await;
    let record = app.check(&visit).await;
    assert_eq!(record["result"], "Fail");
    assert!(record["scope"]
        .as_str()
        .expect("scope")
        .contains("canceled"));
    let e = error_of(&rhr(&app, &t, &[("action", "discard"), ("id", &id_s)]).await);
    assert_eq!(
        e,
        format!("rhr/discard: request RHR-{id} is already canceled")
    );
    let e = error_of(
        &rhr(
            &app,
            &t,
            &[("action", "chat"), ("id", &id_s), ("message", "x")],
        )
        .await,
    );
    assert!(e.contains("was canceled"), "{e}");
    app.stop().await;
}

#[tokio::test]
async fn the_duty_shift_carries_out_an_rhr_request_and_jira_tickets_show_in_rhr() {
    let app = TestApp::spawn().await;
    let t = app.long_token().await;
    // The MCP server's form: id, comment, request_type.
    let v = rhr(
        &app,
        &t,
        &[
            ("action", "add"),
            ("id", "40105"),
            ("comment", "Replace the fan"),
            ("request_type", "SERVICE"),
        ],
    )
    .await;
    let id = ok(&v)["requests"][0]["id"].as_i64().expect("id");
    let key = v["callback"].as_str().expect("key").to_owned();
    app.advance(1800).await;
    app.run_tasks().await;
    let done = app.check(&key).await;
    assert_eq!(done["result"], "OK");
    assert_eq!(
        done["scope"],
        format!("The duty shift carried out the request RHR-{id} at the server 40105")
    );
    let v = rhr(&app, &t, &[("action", "list"), ("status", "done")]).await;
    assert_eq!(ids(&v), vec![id]);
    assert_eq!(v["requests"][0]["assignee"], "Duty shift");
    // A jira.php request is in the same store.
    let j = app
        .call(
            "jira",
            &[("action", "request_kvm"), ("token", &t), ("id", "40105")],
        )
        .await;
    let issue = j["jira_issue"].as_str().expect("issue").to_owned();
    let v = rhr(&app, &t, &[("action", "list")]).await;
    let first = &v["requests"][0];
    assert_eq!(first["ticket"], issue.as_str());
    assert_eq!(first["type"], "KVM");
    assert_eq!(first["status"], "PENDING");
    assert_eq!(ids(&v).len(), 2);
    app.stop().await;
}

#[tokio::test]
async fn request_assistance_opens_a_ticket_for_the_sales_team() {
    let app = TestApp::spawn().await;
    let t = app.long_token().await;
    let v = app
        .call(
            "jira",
            &[
                ("action", "request_assistance"),
                ("token", &t),
                ("id", "40102"),
                ("subject", "Move my server"),
                ("message", "Please move it to the next billing cycle"),
            ],
        )
        .await;
    ok(&v);
    let a = &v["action"];
    assert_eq!(a["permission"], "jira/request_assistance");
    assert_eq!(a["subject"], "Move my server");
    assert_eq!(a["message"], "Please move it to the next billing cycle");
    assert_eq!(a["msg"]["id"], 40102);
    let key = a["msg"]["callback_key"].as_str().expect("key").to_owned();
    let issue = v["jira_issue"].as_str().expect("issue").to_owned();
    // Without a server, and shown in rhr/list.
    let v = app
        .call(
            "jira",
            &[
                ("action", "request_assistance"),
                ("token", &t),
                ("message", "A question about invoices"),
            ],
        )
        .await;
    assert_eq!(ok(&v)["action"]["subject"], "CP request: assistance");
    assert_eq!(v["action"]["msg"]["id"], 0);
    let listed = rhr(&app, &t, &[("action", "list")]).await;
    let types: Vec<&str> = listed["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .map(|r| r["type"].as_str().expect("type"))
        .collect();
    assert_eq!(types, vec!["ASSISTANCE", "ASSISTANCE"]);
    app.advance(1800).await;
    app.run_tasks().await;
    let done = app.check(&key).await;
    assert_eq!(done["result"], "OK");
    assert_eq!(
        done["scope"],
        format!("The sales department answered the request {issue} by e-mail")
    );
    // A per-server key's request is about its server.
    let scoped = app.login_key(DEMO_SERVER_KEY).await;
    let v = app
        .call(
            "jira",
            &[
                ("action", "request_assistance"),
                ("token", &scoped),
                ("message", "About my VM"),
            ],
        )
        .await;
    assert_eq!(ok(&v)["action"]["msg"]["id"], 40101);
    let v = rhr(&app, &scoped, &[("action", "list")]).await;
    assert_eq!(v["requests"].as_array().map(Vec::len), Some(1), "{v}");
    // Bad input.
    let e = error_of(
        &app.call("jira", &[("action", "request_assistance"), ("token", &t)])
            .await,
    );
    assert_eq!(e, "jira/request_assistance: message is required");
    let e = error_of(
        &app.call(
            "jira",
            &[
                ("action", "request_assistance"),
                ("token", &t),
                ("id", "40108"),
                ("message", "x"),
            ],
        )
        .await,
    );
    assert!(e.contains("permission denied"), "{e}");
    app.stop().await;
}

#[tokio::test]
async fn bad_rhr_input_gets_clear_errors() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    for (form, want) in [
        (vec![("action", "add")], "rhr/add: id is required"),
        (
            vec![
                ("action", "add"),
                ("id", "40102"),
                ("request_type", "PIZZA"),
            ],
            "rhr/add: invalid type 'PIZZA', expected KVM, UNBLOCK or SERVICE",
        ),
        (
            vec![("action", "add"), ("id", "abc")],
            "rhr/add: invalid id 'abc'",
        ),
        (
            vec![("action", "chat"), ("id", "1")],
            "rhr/chat: message is required",
        ),
        (
            vec![("action", "chat"), ("id", "999"), ("message", "x")],
            "rhr/chat: request 999 not found",
        ),
        (
            vec![("action", "discard"), ("id", "RHR-x")],
            "rhr/discard: invalid id 'RHR-x'",
        ),
        (vec![("action", "discard")], "rhr/discard: id is required"),
        (
            vec![("action", "list"), ("status", "lost")],
            "rhr/list: invalid status 'lost', expected PENDING, DONE, CANCELED or ALL",
        ),
    ] {
        let v = rhr(&app, &t, &form).await;
        assert_eq!(error_of(&v), want, "{form:?}");
    }
    // A server waiting for payment or suspended gets no visit.
    let long = "x".repeat(5000);
    let e = error_of(
        &rhr(
            &app,
            &t,
            &[("action", "add"), ("id", "40102"), ("comment", &long)],
        )
        .await,
    );
    assert!(e.contains("too long"), "{e}");
    let v = rhr(&app, &t, &[("action", "list")]).await;
    assert_eq!(ids(&v), Vec::<i64>::new(), "nothing was opened");
    app.stop().await;
}
