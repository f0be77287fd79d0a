//! Remembered answers (issue 9's read model) are the answers the database gives: after
//! random writes, every pure read answers the same with and without `Cache-Control:
//! no-cache`, and a read right after a write shows the write.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

use crate::helpers::TestApp;

/// The pure reads compared after each write.
fn reads(token: &str, ids: &[i64]) -> Vec<(&'static str, Vec<(String, String)>)> {
    let t = |pairs: &[(&str, &str)]| {
        let mut v = vec![("token".to_owned(), token.to_owned())];
        v.extend(pairs.iter().map(|(k, x)| (k.to_string(), x.to_string())));
        v
    };
    let mut out = vec![
        ("eq", t(&[("action", "list")])),
        ("eq", t(&[("action", "list"), ("full", "1")])),
        ("eq", t(&[("action", "list"), ("location", "NL")])),
        ("eq", t(&[("action", "list"), ("status", "rent")])),
        (
            "presets",
            vec![
                ("action".into(), "list".into()),
                ("location".into(), "NL".into()),
            ],
        ),
        ("stocks", vec![("action".into(), "list".into())]),
    ];
    for id in ids {
        out.push(("eq", t(&[("action", "show"), ("id", &id.to_string())])));
    }
    out
}

async fn post(app: &TestApp, module: &str, form: &[(String, String)], fresh: bool) -> Value {
    let mut r = app
        .client
        .post(format!("{}/{module}.php", app.base))
        .form(form);
    if fresh {
        r = r.header("cache-control", "no-cache");
    }
    let r = r.send().await.expect("request");
    assert_eq!(r.status(), 200);
    r.json().await.expect("json")
}

/// One random write of the demo account (or the clock, or the worker).
async fn random_write(app: &TestApp, rng: &mut StdRng, token: &str, ids: &[i64]) -> String {
    let id = ids[rng.gen_range(0..ids.len())].to_string();
    let form = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        let mut v = vec![("token".to_owned(), token.to_owned())];
        v.extend(pairs.iter().map(|(k, x)| (k.to_string(), x.to_string())));
        v
    };
    let value = rng.gen_range(0..1000).to_string();
    let (module, f) = match rng.gen_range(0..7) {
        0 => (
            "tags",
            form(&[
                ("action", "add"),
                ("id", &id),
                ("tag", "cache_test"),
                ("value", &value),
            ]),
        ),
        1 => (
            "tags",
            form(&[("action", "delete"), ("id", &id), ("tag", "cache_test")]),
        ),
        2 => (
            "eq",
            form(&[
                ("action", "rename_server"),
                ("id", &id),
                ("hostname", &format!("h{value}")),
            ]),
        ),
        3 => ("eq", form(&[("action", "off"), ("id", &id)])),
        4 => ("eq", form(&[("action", "on"), ("id", &id)])),
        5 => {
            app.advance(rng.gen_range(1..300)).await;
            return "clock".into();
        }
        _ => {
            app.run_tasks().await;
            return "tasks".into();
        }
    };
    let v = post(app, module, &f, false).await;
    format!("{module} {:?} -> {}", &f[1..], v["result"])
}

#[tokio::test]
async fn remembered_answers_equal_fresh_ones_after_random_writes() {
    let app = TestApp::spawn().await;
    let token = app.demo_token().await;
    let ids = app.server_ids(&token).await;
    assert!(ids.len() >= 3, "{ids:?}");
    let reads = reads(&token, &ids);
    let mut rng = StdRng::seed_from_u64(0x5eed_0009);
    let mut changed = 0;
    let mut last: Vec<Value> = Vec::new();
    for round in 0..40 {
        let what = if round == 0 {
            "start".to_owned()
        } else {
            random_write(&app, &mut rng, &token, &ids).await
        };
        let mut now = Vec::new();
        for (module, form) in &reads {
            // Twice from memory (the second is surely remembered), then fresh.
            let first = post(&app, module, form, false).await;
            let again = post(&app, module, form, false).await;
            let fresh = post(&app, module, form, true).await;
            assert_eq!(
                first, fresh,
                "round {round} after {what}: {module} {form:?}"
            );
            assert_eq!(
                again, fresh,
                "round {round} after {what}: {module} {form:?}"
            );
            now.push(fresh);
        }
        if !last.is_empty() && now != last {
            changed += 1;
        }
        last = now;
    }
    assert!(
        changed >= 10,
        "the writes changed what the reads see ({changed} rounds)"
    );
}

#[tokio::test]
async fn a_remembered_session_ends_with_its_logout_and_sees_its_accounts_changes() {
    let app = TestApp::spawn().await;
    let keep = app.demo_token().await;
    // A second session of the account, of another kind (a second login with the same key
    // may answer the same token).
    let v = app
        .call(
            "auth",
            &[
                ("action", "whmcslogin"),
                ("user", crate::helpers::DEMO_USER),
                ("password", crate::helpers::DEMO_PASSWORD),
            ],
        )
        .await;
    let pw = v["result"]["token"].as_str().expect("token").to_owned();
    assert_ne!(pw, keep);
    for t in [&keep, &pw] {
        let v = app.call("eq", &[("action", "list"), ("token", t)]).await;
        assert_eq!(v["result"], "OK", "{v}");
    }
    let v = app
        .call("auth", &[("action", "logout"), ("token", &pw)])
        .await;
    assert_ne!(v["result"], -1, "{v}");
    let v = app.call("eq", &[("action", "list"), ("token", &pw)]).await;
    assert_eq!(
        v["error"], "auth: invalid token",
        "a remembered session ended: {v}"
    );
    let v = app
        .call("eq", &[("action", "list"), ("token", &keep)])
        .await;
    assert_eq!(v["result"], "OK", "the others live on: {v}");
}
