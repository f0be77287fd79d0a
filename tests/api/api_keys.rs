//! api_keys.php: list, list_for_server, view, add, edit, delete, history; notices; scope.

use serde_json::Value;

use crate::helpers::*;

async fn keys(app: &TestApp, token: &str, form: &[(&str, &str)]) -> Value {
    let mut f = vec![("token", token)];
    f.extend_from_slice(form);
    app.call("api_keys", &f).await
}

fn assert_key_object(k: &Value) {
    for f in ["id", "active", "server_id"] {
        assert!(k[f].is_i64(), "{f} is a number in {k}");
    }
    for f in ["name", "ip", "token_view", "login_notify_method"] {
        assert!(k[f].is_string(), "{f} is a string in {k}");
    }
    assert_eq!(k["token_view"].as_str().map(str::len), Some(4));
    assert!(k.get("login_notify_address").is_some());
    assert!(k.get("api_key").is_none(), "the key itself is never listed");
}

#[tokio::test]
async fn list_view_and_list_for_server_show_the_seeded_keys() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let v = keys(&app, &t, &[("action", "list")]).await;
    assert_eq!(v["module"], "api_keys");
    assert_eq!(v["action"], "list");
    let data = v["data"].as_array().expect("data");
    assert_eq!(data.len(), 2);
    data.iter().for_each(assert_key_object);
    let account_key = data
        .iter()
        .find(|k| k["server_id"] == 0)
        .expect("account key");
    assert_eq!(account_key["token_view"], "dead");
    let server_key = data
        .iter()
        .find(|k| k["server_id"] != 0)
        .expect("server key");
    let sid = server_key["server_id"].as_i64().expect("id").to_string();
    let v = keys(
        &app,
        &t,
        &[("action", "list_for_server"), ("params[server_id]", &sid)],
    )
    .await;
    assert_eq!(v["data"].as_array().map(Vec::len), Some(1));
    let id = account_key["id"].as_i64().expect("id").to_string();
    let v = keys(&app, &t, &[("action", "view"), ("params[id]", &id)]).await;
    assert_eq!(v["data"]["id"], account_key["id"]);
    let v = keys(&app, &t, &[("action", "view"), ("params[id]", "999999")]).await;
    assert_eq!(error_of(&v), "api_keys/view: api key 999999 not found");
    app.stop().await;
}

#[tokio::test]
async fn add_shows_the_key_once_and_it_logs_in() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let v = keys(
        &app,
        &t,
        &[
            ("action", "add"),
            ("params[name]", "terraform"),
            ("params[ip]", "10.0.0.1, 10.3.4.5"),
            ("params[login_notify_method]", "none"),
            ("params[active]", "1"),
        ],
    )
    .await;
    ok(&v);
    let d = &v["data"];
    let key = d["api_key"].as_str().expect("key");
    assert_eq!(key.len(), 33);
    assert_eq!(&key[16..17], "-");
    assert_eq!(d["token_view"].as_str(), Some(&key[..4]));
    assert_eq!(d["ip"], "10.0.0.1 10.3.4.5", "echoed space separated");
    assert_eq!(d["server_id"], 0);
    let listed = keys(&app, &t, &[("action", "list")]).await;
    assert!(!listed.to_string().contains(key), "never shown again");
    // Without the allow-list the new key logs in.
    let id = d["id"].as_i64().expect("id").to_string();
    ok(&keys(
        &app,
        &t,
        &[("action", "edit"), ("params[id]", &id), ("params[ip]", "")],
    )
    .await);
    let v = app.call("auth", &[("action", "login"), ("key", key)]).await;
    assert_eq!(v["result"]["token"].as_str().map(str::len), Some(32));
    // Narrowing the allow-list again ends the key's sessions: 127.0.0.1 is not on it.
    let session = v["result"]["token"].as_str().expect("token").to_owned();
    ok(&keys(
        &app,
        &t,
        &[
            ("action", "edit"),
            ("params[id]", &id),
            ("params[ip]", "10.9.9.9"),
        ],
    )
    .await);
    let v = app
        .call("eq", &[("action", "list"), ("token", &session)])
        .await;
    assert_eq!(error_of(&v), "auth: invalid token");
    let v = app.call("auth", &[("action", "login"), ("key", key)]).await;
    assert!(error_of(&v).contains("is not allowed for this key"));
    let bad = keys(
        &app,
        &t,
        &[
            ("action", "add"),
            ("params[name]", "x"),
            ("params[ip]", "999.1.1.1"),
        ],
    )
    .await;
    assert_eq!(
        error_of(&bad),
        "api_keys/add: invalid ip or network '999.1.1.1'"
    );
    let bad = keys(
        &app,
        &t,
        &[
            ("action", "add"),
            ("params[name]", "x"),
            ("params[login_notify_method]", "sms"),
        ],
    )
    .await;
    assert!(error_of(&bad).contains("invalid login_notify_method"));
    let bad = keys(
        &app,
        &t,
        &[("action", "add"), ("params[login_notify_method]", "none")],
    )
    .await;
    assert_eq!(error_of(&bad), "api_keys/add: name is required");
    app.stop().await;
}

#[tokio::test]
async fn edit_and_delete_are_recorded_in_history() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let v = keys(
        &app,
        &t,
        &[
            ("action", "add"),
            ("params[name]", "test key 2"),
            ("params[active]", "1"),
        ],
    )
    .await;
    let id = v["data"]["id"].as_i64().expect("id");
    let sid = id.to_string();
    let key = v["data"]["api_key"].as_str().expect("key").to_owned();
    let v = keys(
        &app,
        &t,
        &[
            ("action", "edit"),
            ("params[id]", &sid),
            ("params[name]", "new_new test"),
            ("params[active]", "0"),
            ("params[login_notify_method]", "email"),
            ("params[login_notify_address]", "ops@example.com"),
        ],
    )
    .await;
    assert_eq!(v["data"], serde_json::json!({"id": id}));
    let refused = app
        .call("auth", &[("action", "login"), ("key", &key)])
        .await;
    assert!(error_of(&refused).contains("not active"));
    let v = keys(&app, &t, &[("action", "delete"), ("params[id]", &sid)]).await;
    assert_eq!(v["data"]["id"], id);
    let gone = keys(&app, &t, &[("action", "view"), ("params[id]", &sid)]).await;
    assert!(error_of(&gone).contains("not found"));
    let h = keys(&app, &t, &[("action", "history"), ("params[id]", &sid)]).await;
    let msgs: Vec<String> = h["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|r| r["message"].as_str().expect("msg").to_owned())
        .collect();
    assert!(
        msgs[0].starts_with(&format!("Deleted api_key {id}. json:{{\"id\":\"{id}\"}}")),
        "{msgs:?}"
    );
    assert!(msgs.iter().any(|m| m.starts_with(&format!(
        "Changed api_key {id}. name from 'test key 2' to 'new_new test', active from '1' to '0'"
    ))));
    assert!(msgs
        .iter()
        .any(|m| m.contains("login_notify_method from 'none' to 'email'")));
    assert!(msgs
        .iter()
        .any(|m| m.starts_with(&format!("Updated api_key {id}. json:{{\"id\":\"{id}\""))));
    assert!(msgs
        .last()
        .expect("first")
        .starts_with(&format!("Created new api_key {id}. json:")));
    let row = &h["data"][0];
    assert!(row["id"].is_i64());
    assert_eq!(row["type"], "action");
    assert_eq!(row["date"].as_str().map(str::len), Some(19));
    assert_eq!(row["login"], DEMO_USER);
    // Period filters: nothing before 2001, nothing in a window far in the future.
    let old = keys(
        &app,
        &t,
        &[
            ("action", "history"),
            ("params[id]", &sid),
            ("params[period_to]", "2001-01-01"),
        ],
    )
    .await;
    assert_eq!(old["data"].as_array().map(Vec::len), Some(0));
    let future = keys(
        &app,
        &t,
        &[
            ("action", "history"),
            ("params[id]", &sid),
            ("params[period_from]", "2999-01-01"),
        ],
    )
    .await;
    assert_eq!(future["data"].as_array().map(Vec::len), Some(0));
    let bad = keys(
        &app,
        &t,
        &[
            ("action", "history"),
            ("params[id]", &sid),
            ("params[period_from]", "yesterday"),
        ],
    )
    .await;
    assert_eq!(
        error_of(&bad),
        "api_keys/history: invalid period_from 'yesterday', expected Y-M-D"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_per_server_session_sees_only_its_server_and_cannot_touch_account_keys() {
    let app = TestApp::spawn().await;
    let v = app
        .call("auth", &[("action", "login"), ("key", DEMO_SERVER_KEY)])
        .await;
    let servers = v["result"]["servers"].as_array().expect("servers").clone();
    assert_eq!(servers.len(), 1, "a per-server key sees one server");
    let own = servers[0].as_i64().expect("id");
    let t = v["result"]["token"].as_str().expect("token").to_owned();
    let list = keys(&app, &t, &[("action", "list")]).await;
    assert!(list["data"]
        .as_array()
        .expect("data")
        .iter()
        .all(|k| k["server_id"] == own));
    let add = keys(&app, &t, &[("action", "add"), ("params[name]", "sneaky")]).await;
    assert!(error_of(&add).contains("permission denied"));
    let account = app.demo_token().await;
    let all = keys(&app, &account, &[("action", "list")]).await;
    let account_key_id = all["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|k| k["server_id"] == 0)
        .expect("key")["id"]
        .as_i64()
        .expect("id")
        .to_string();
    let view = keys(
        &app,
        &t,
        &[("action", "view"), ("params[id]", &account_key_id)],
    )
    .await;
    assert!(error_of(&view).contains("permission denied"));
    // The session acts on its server and nowhere else.
    ok(&app
        .call(
            "eq",
            &[("action", "show"), ("token", &t), ("id", &own.to_string())],
        )
        .await);
    let ids = app.server_ids(&account).await;
    let other = ids
        .iter()
        .find(|i| **i != own)
        .expect("another server")
        .to_string();
    let v = app
        .call("eq", &[("action", "show"), ("token", &t), ("id", &other)])
        .await;
    assert!(error_of(&v).contains("permission denied"));
    let v = app
        .call("tags", &[("action", "list"), ("token", &t), ("id", &other)])
        .await;
    assert!(error_of(&v).contains("permission denied"));
    app.stop().await;
}

#[tokio::test]
async fn webhook_and_email_login_notices_are_delivered() {
    let app = TestApp::spawn().await;
    let sink = Sink::start().await;
    let hook = sink.url.clone();
    let t = app.demo_token().await;
    let v = keys(
        &app,
        &t,
        &[
            ("action", "add"),
            ("params[name]", "hooked"),
            ("params[login_notify_method]", "webhook"),
            ("params[login_notify_address]", &hook),
        ],
    )
    .await;
    let key = v["data"]["api_key"].as_str().expect("key").to_owned();
    let id = v["data"]["id"].as_i64().expect("id");
    app.login_key(&key).await;
    let got = sink.wait_for(1).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["event"], "login");
    assert_eq!(got[0]["api_key_id"], id);
    assert_eq!(got[0]["ip"], "127.0.0.1");
    // An e-mail notice lands in the outbox.
    let v = keys(
        &app,
        &t,
        &[
            ("action", "add"),
            ("params[name]", "mailed"),
            ("params[login_notify_method]", "email"),
            ("params[login_notify_address]", "sec@example.com"),
        ],
    )
    .await;
    let key = v["data"]["api_key"].as_str().expect("key").to_owned();
    app.login_key(&key).await;
    let outbox = app.control_get("/_emu/outbox").await;
    let mail = &outbox["mails"][0];
    assert_eq!(mail["to_address"], "sec@example.com");
    assert!(mail["subject"]
        .as_str()
        .expect("subject")
        .contains("mailed"));
    let bad = keys(
        &app,
        &t,
        &[
            ("action", "add"),
            ("params[name]", "x"),
            ("params[login_notify_method]", "webhook"),
            ("params[login_notify_address]", "not a url"),
        ],
    )
    .await;
    assert!(error_of(&bad).contains("http(s) URL"));
    app.stop().await;
}

#[tokio::test]
async fn a_deleted_keys_id_is_never_given_to_a_new_key() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let add = |name: &'static str| {
        let (app, t) = (&app, t.clone());
        async move {
            let v = keys(
                app,
                &t,
                &[
                    ("action", "add"),
                    ("params[name]", name),
                    ("params[active]", "1"),
                ],
            )
            .await;
            v["data"]["id"].as_i64().expect("id")
        }
    };
    let first = add("a2").await;
    let sid = first.to_string();
    ok(&keys(&app, &t, &[("action", "delete"), ("params[id]", &sid)]).await);
    let second = add("a3").await;
    assert!(second > first, "new id {second} after deleted {first}");
    // A tag removed and added again gets a new id too.
    let tag = |action: &'static str| {
        let (app, t) = (&app, t.clone());
        async move {
            app.call(
                "tags",
                &[
                    ("action", action),
                    ("token", &t),
                    ("id", "40102"),
                    ("tag", "ref"),
                    ("value", "x"),
                ],
            )
            .await
        }
    };
    let a = tag("add").await["id"].as_i64().expect("id");
    ok(&tag("remove").await);
    let b = tag("add").await["id"].as_i64().expect("id");
    assert!(b > a, "tag id {b} after removed {a}");
    // After a reset the ids start where a fresh database starts.
    let r = app.control_post("/_emu/reset").await;
    assert_eq!(r.status(), 200);
    let t2 = app.demo_token().await;
    let v = keys(
        &app,
        &t2,
        &[
            ("action", "add"),
            ("params[name]", "a4"),
            ("params[active]", "1"),
        ],
    )
    .await;
    assert_eq!(v["data"]["id"].as_i64(), Some(first));
    app.stop().await;
}
