//! ssh_keys.php: list, add, delete over real state; duplicates, one default, the per-server
//! key refused; eq/order_instance naming a stored key, its fingerprint in the server's tags.

use serde_json::Value;

use crate::helpers::*;

/// Keys made by `ssh-keygen`, with the fingerprints `ssh-keygen -lf` printed.
pub const ED25519: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIslOTxq0jgi6hYcg5HqxCwc+LQcpeCaBHNHeLLO2qnt me@host";
pub const ED25519_FP: &str = "SHA256:bfBWSB3CSypTMptoeKyo4q5gckv5YMfZU4bXP6OexAw";
const P384: &str = "ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBJMT0wNVjKPbqj9KmX/fXAOhoQ4fCxyCp+5YKbeeslWjofghvSU7DXmFnacErfJCeZXBdfKAkB0brQsGg88CB6Aq8kEnOcCAls541Vxp2ljKQ9uQVMWdSx7uLSwJF8Jcsw== me@host";
const P384_FP: &str = "SHA256:3vUz43nZ4WO1u6/cb8qF5abM5xNXqrEBs8Hpq9TM9ks";
const RSA1024: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQCkZfQZ5toIaMQmHs/Ju9FNTiM1c1U4XBMFzmOWe/6tenWjvfimYhxXGixrx/AR+Jd4RYdklNXSP1NhUrXsNX0L4OON4jTPsv3HOjKdX6ud2BLAiG0PryXMouO4yhhTB093xwt/ggTlPeNkDRUnOJR1IS6+tcq6fP1rHD9O+CvVmw== me@host";

async fn add(app: &TestApp, token: &str, name: &str, key: &str, default: &str) -> Value {
    app.call(
        "ssh_keys",
        &[
            ("action", "add"),
            ("token", token),
            ("params[name]", name),
            ("params[key]", key),
            ("params[default]", default),
        ],
    )
    .await
}

async fn list(app: &TestApp, token: &str) -> Vec<Value> {
    let v = app
        .call("ssh_keys", &[("action", "list"), ("token", token)])
        .await;
    ok(&v);
    v["sshkeys"].as_array().expect("sshkeys").clone()
}

#[tokio::test]
async fn keys_are_added_listed_with_one_default_and_deleted() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    assert!(list(&app, &t).await.is_empty());
    let a = add(&app, &t, "laptop", ED25519, "1").await;
    ok(&a);
    let k = &a["sshkey"];
    assert!(k["id"].is_i64(), "numbers as numbers: {k}");
    assert_eq!(k["customer_id"], 38642);
    assert_eq!(k["default"], 1);
    assert_eq!(k["name"], "laptop");
    assert_eq!(k["key"], ED25519);
    assert_eq!(k["fingerprint"], ED25519_FP);
    assert_eq!(k["created"].as_str().map(str::len), Some(19));
    // Flat fields work too; the new default clears the old one.
    let b = app
        .call(
            "ssh_keys",
            &[
                ("action", "add"),
                ("token", &t),
                ("name", "ci"),
                ("key", P384),
                ("default", "1"),
            ],
        )
        .await;
    ok(&b);
    assert_eq!(b["sshkey"]["fingerprint"], P384_FP);
    let keys = list(&app, &t).await;
    let shown: Vec<(Value, Value)> = keys
        .iter()
        .map(|k| (k["name"].clone(), k["default"].clone()))
        .collect();
    assert_eq!(
        shown,
        vec![("laptop".into(), 0.into()), ("ci".into(), 1.into())]
    );
    // Duplicates: the same name, the same key under another comment.
    let v = add(
        &app,
        &t,
        "laptop",
        RSA1024.replace("1024", "x").as_str(),
        "0",
    )
    .await;
    assert!(error_of(&v).starts_with("ssh_keys/add: "), "{v}");
    let v = add(&app, &t, "laptop", ED25519, "0").await;
    assert_eq!(
        error_of(&v),
        "ssh_keys/add: an SSH key named 'laptop' already exists"
    );
    let v = add(&app, &t, "again", &ED25519.replace("me@host", "x"), "0").await;
    assert_eq!(
        error_of(&v),
        format!(
            "ssh_keys/add: this key is already stored as 'laptop' (id {})",
            k["id"]
        )
    );
    // Bad keys are refused with the reason.
    let v = add(&app, &t, "weak", RSA1024, "0").await;
    assert_eq!(
        error_of(&v),
        "ssh_keys/add: key is not a valid OpenSSH public key: an RSA key needs at least 2048 bits, this one has 1024"
    );
    let blob = ED25519.split(' ').nth(1).expect("blob");
    let v = add(&app, &t, "liar", &format!("ssh-rsa {blob}"), "0").await;
    assert!(
        error_of(&v).contains("of type 'ssh-ed25519', not ssh-rsa"),
        "{v}"
    );
    let v = app
        .call(
            "ssh_keys",
            &[("action", "add"), ("token", &t), ("name", "x")],
        )
        .await;
    assert_eq!(error_of(&v), "ssh_keys/add: key is required");
    assert_eq!(list(&app, &t).await.len(), 2);
    // Delete, then it is gone.
    let id = k["id"].to_string();
    let d = app
        .call(
            "ssh_keys",
            &[("action", "delete"), ("token", &t), ("id", &id)],
        )
        .await;
    ok(&d);
    assert_eq!(d["id"], k["id"]);
    let d = app
        .call(
            "ssh_keys",
            &[("action", "delete"), ("token", &t), ("id", &id)],
        )
        .await;
    assert_eq!(
        error_of(&d),
        format!("ssh_keys/delete: ssh key {id} not found")
    );
    let keys = list(&app, &t).await;
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["name"], "ci");
    app.stop().await;
}

#[tokio::test]
async fn a_per_server_key_and_another_account_reach_none_of_them() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let a = add(&app, &t, "laptop", ED25519, "1").await;
    let id = a["sshkey"]["id"].to_string();
    let scoped = app.login_key(DEMO_SERVER_KEY).await;
    let refused = "permission denied, a per-server key cannot manage the account's SSH keys";
    for (action, form) in [
        ("list", vec![]),
        ("add", vec![("name", "x"), ("key", P384)]),
        ("delete", vec![("id", id.as_str())]),
    ] {
        let mut f = vec![("action", action), ("token", scoped.as_str())];
        f.extend(form);
        let v = app.call("ssh_keys", &f).await;
        assert_eq!(error_of(&v), format!("ssh_keys/{action}: {refused}"));
    }
    let other = app.other_token().await;
    assert!(list(&app, &other).await.is_empty());
    let v = app
        .call(
            "ssh_keys",
            &[("action", "delete"), ("token", &other), ("id", &id)],
        )
        .await;
    assert!(error_of(&v).contains("not found"));
    assert_eq!(list(&app, &t).await.len(), 1, "still there");
    app.stop().await;
}

fn tag<'a>(show: &'a Value, name: &str) -> Option<&'a Value> {
    show["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .find(|t| t["tag"] == name)
}

#[tokio::test]
async fn an_order_names_a_stored_key_and_the_server_shows_its_fingerprint() {
    let app = TestApp::spawn().await;
    let t = app.long_token().await;
    ok(&add(&app, &t, "laptop", ED25519, "0").await);
    let order = |key: &'static str| {
        vec![
            ("action", "order_instance"),
            ("token", t.as_str()),
            ("deploy_period", "monthly"),
            ("pin", DEMO_PIN),
            ("preset", "108"),
            ("location_name", "NL"),
            ("os_id", "187"),
            ("traffic_plan", "25"),
            ("root_pass", "Secret-pass1"),
            ("ssh_key", key),
        ]
    };
    let v = app.call("eq", &order("laptop")).await;
    ok(&v);
    let id = v["id"].as_i64().expect("id");
    let key = v["callback"].as_str().expect("key").to_owned();
    app.drive(&key, 120, 40).await;
    let show = app.show(&t, id).await;
    let fp = tag(&show, "ssh_key").expect("ssh_key tag");
    assert_eq!(
        (&fp["value"], &fp["extra"]),
        (&ED25519_FP.into(), &"laptop".into())
    );
    // By text: the fingerprint, no name.
    let v = app.call("eq", &order(P384)).await;
    ok(&v);
    let show = app.show(&t, v["id"].as_i64().expect("id")).await;
    assert_eq!(tag(&show, "ssh_key").expect("tag")["value"], P384_FP);
    // A reinstall naming the stored key by id; one without a key removes the tag.
    let stored = list(&app, &t).await[0]["id"].to_string();
    let reinstall = |key: Option<&'static str>| {
        let mut f = vec![
            ("action", "order_instance"),
            ("token", t.as_str()),
            ("id", "40101"),
            ("pin", DEMO_PIN),
            ("os_id", "187"),
            ("root_pass", "Secret-pass1"),
        ];
        f.extend(key.map(|k| ("ssh_key", k)));
        f
    };
    let mut f = reinstall(None);
    f.push(("ssh_key", stored.as_str()));
    let v = app.call("eq", &f).await;
    ok(&v);
    let show = app.show(&t, 40101).await;
    assert_eq!(tag(&show, "ssh_key").expect("tag")["value"], ED25519_FP);
    app.drive(v["callback"].as_str().expect("key"), 120, 40)
        .await;
    let show = app.show(&t, 40101).await;
    assert_eq!(tag(&show, "ssh_key").expect("kept")["value"], ED25519_FP);
    let v = app.call("eq", &reinstall(None)).await;
    ok(&v);
    assert!(tag(&app.show(&t, 40101).await, "ssh_key").is_none());
    // A name the account has not stored is no key.
    let v = app.call("eq", &order("desktop")).await;
    assert_eq!(
        error_of(&v),
        "eq/order_instance: ssh_key must be an OpenSSH public key (ssh-ed25519 AAAA... comment)"
    );
    // Another account cannot name demo's key.
    let other = app.other_token().await;
    let mut f = order("laptop");
    f[1].1 = other.as_str();
    f.retain(|(k, _)| *k != "pin");
    let v = app.call("eq", &f).await;
    assert!(
        error_of(&v).contains("ssh_key must be an OpenSSH public key"),
        "{v}"
    );
    app.stop().await;
}
