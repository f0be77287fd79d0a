//! Secrets at rest (issue 10): after a session of every action that takes or yields a
//! secret, and once the emulator's clock has passed every window in which a client may
//! read one back, the whole database (every column of every table, the database file's
//! bytes, the write-ahead log's) holds none of them.

use std::path::Path;

use serde_json::Value;
use sqlx::{Connection, Row};

use crate::helpers::*;

/// Everything the database holds: every column of every row of every table (cast to
/// bytes), the database file and its write-ahead log after a checkpoint, as three byte
/// strings.
async fn dump(db: &Path) -> [(&'static str, Vec<u8>); 3] {
    let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(db);
    let mut conn = sqlx::SqliteConnection::connect_with(&opts)
        .await
        .expect("connect");
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
            .fetch_all(&mut conn)
            .await
            .expect("tables");
    let mut rows = Vec::new();
    for t in &tables {
        let columns: Vec<String> =
            sqlx::query_scalar(&format!("SELECT name FROM pragma_table_info('{t}')"))
                .fetch_all(&mut conn)
                .await
                .expect("columns");
        for c in &columns {
            for r in sqlx::query(&format!("SELECT CAST(\"{c}\" AS BLOB) FROM \"{t}\""))
                .fetch_all(&mut conn)
                .await
                .expect("rows")
            {
                if let Some(bytes) = r.try_get::<Option<Vec<u8>>, _>(0).expect("cell") {
                    rows.extend_from_slice(&bytes);
                    rows.push(b'\n');
                }
            }
        }
    }
    // A passive checkpoint, as SQLite runs on its own: the log keeps its frames.
    sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
        .execute(&mut conn)
        .await
        .expect("checkpoint");
    conn.close().await.expect("close");
    let file = std::fs::read(db).expect("database file");
    let mut wal_path = db.as_os_str().to_owned();
    wal_path.push("-wal");
    let wal = std::fs::read(&wal_path).unwrap_or_default();
    [
        ("rows", rows),
        ("database file", file),
        ("write-ahead log", wal),
    ]
}

/// The secrets among `secrets` that appear in a dump, with where.
fn found_in(dump: &[(&'static str, Vec<u8>)], secrets: &[(&str, String)]) -> Vec<String> {
    let mut found = Vec::new();
    for (what, secret) in secrets {
        for (place, bytes) in dump {
            if bytes.windows(secret.len()).any(|w| w == secret.as_bytes()) {
                found.push(format!("{what} in the {place}"));
            }
        }
    }
    found
}

/// The value of a `name=value` line of a virt-viewer file.
fn vv_line(vv: &str, name: &str) -> String {
    vv.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} in {vv}"))
        .to_owned()
}

/// An eq.php action with a token.
async fn eq(app: &TestApp, token: &str, form: &[(&str, &str)]) -> Value {
    let mut f = vec![("token", token)];
    f.extend_from_slice(form);
    app.call("eq", &f).await
}

/// The token of a login's answer.
fn token_of(v: &Value) -> String {
    v["result"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token: {v}"))
        .to_owned()
}

#[tokio::test]
async fn no_secret_a_client_sent_or_received_outlives_its_read_back_window() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("emu.db");
    let mut config = test_config();
    config.db = db.to_string_lossy().into_owned();
    config.unread_retention = 3600;
    // Only the prunes this test asks for.
    config.prune_interval = 10 * 365 * 86_400;
    let app = TestApp::spawn_with(config).await;
    let sink = Sink::start().await;
    // Sent: the demo key and password, PINs, root passwords, a webhook URL's secret.
    let (new_pin, wrong_pin) = ("73019468", "51937208");
    let root = [
        "Rz7x!reinstall-Q9",
        "Px4v!create-pxe-K2",
        "Nw0r!new-order-J5",
    ];
    let hook_secret = "Hk93LmQzWv71";
    // Received: tokens, a new key, an IPMI password, console credentials.
    let t1 = token_of(
        &app.call("auth", &[("action", "login"), ("key", DEMO_KEY)])
            .await,
    );
    let t2 = token_of(
        &app.call(
            "auth",
            &[
                ("action", "whmcslogin"),
                ("user", DEMO_USER),
                ("password", DEMO_PASSWORD),
            ],
        )
        .await,
    );
    let set = eq(
        &app,
        &t1,
        &[
            ("action", "set_pin"),
            ("new_pin", new_pin),
            ("old_pin", DEMO_PIN),
        ],
    )
    .await;
    ok(&set);
    ok(&eq(&app, &t1, &[("action", "check_pin"), ("pin", new_pin)]).await);
    ok(&eq(&app, &t1, &[("action", "check_pin"), ("pin", wrong_pin)]).await);
    let added = app
        .call(
            "api_keys",
            &[
                ("action", "add"),
                ("token", &t1),
                ("params[name]", "at rest"),
            ],
        )
        .await;
    let k3 = added["data"]["api_key"].as_str().expect("key").to_owned();
    let t3 = app.login_key(&k3).await;
    let ipmi = eq(&app, &t1, &[("action", "add_ipmi_user"), ("id", "40102")]).await;
    let ipmi = app.complete(ipmi["callback"].as_str().expect("key")).await;
    let ipmi_password = ipmi["context"]["Password"]
        .as_str()
        .expect("password")
        .to_owned();
    let novnc = eq(&app, &t1, &[("action", "novnc"), ("id", "40101")]).await;
    let novnc = app.complete(novnc["callback"].as_str().expect("key")).await;
    let url = novnc["context"]["url"].as_str().expect("url");
    let console_token = url.rsplit('/').next().expect("token").to_owned();
    let console = eq(&app, &t1, &[("action", "console"), ("id", "40101")]).await;
    let console = app
        .complete(console["callback"].as_str().expect("key"))
        .await;
    let vv = console["scope"].as_str().expect("vv");
    let (vv_password, sso) = (vv_line(vv, "password"), vv_line(vv, "sso-token"));
    let hook = format!("{}?secret={hook_secret}", sink.url);
    let reinstall = eq(
        &app,
        &t1,
        &[
            ("action", "order_instance"),
            ("id", "40101"),
            ("os_id", "205"),
            ("root_pass", root[0]),
            ("post_install_callback", &hook),
        ],
    )
    .await;
    let seen = app
        .drive(reinstall["callback"].as_str().expect("key"), 120, 40)
        .await;
    assert_eq!(seen.last().expect("final")["result"], "OK");
    sink.wait_for(1).await;
    let master = eq(&app, &t1, &[("action", "reinstall"), ("id", "40103")]).await;
    let pxe = eq(
        &app,
        &t1,
        &[
            ("action", "create_pxe"),
            ("id", "40103"),
            ("os_id", "223"),
            ("root_pass", root[1]),
            ("hostname", "bm3.example.com"),
            ("reinstall_key", master["callback"].as_str().expect("key")),
        ],
    )
    .await;
    app.complete(pxe["callback"].as_str().expect("key")).await;
    let order = eq(
        &app,
        &t1,
        &[
            ("action", "order_instance"),
            ("deploy_period", "monthly"),
            ("preset", "108"),
            ("location_name", "NL"),
            ("os_id", "187"),
            ("traffic_plan", "25"),
            ("root_pass", root[2]),
        ],
    )
    .await;
    ok(&order);

    let never_stored: Vec<(&str, String)> = vec![
        ("the demo key", DEMO_KEY.to_owned()),
        ("the demo password", DEMO_PASSWORD.to_owned()),
        ("the login token", t1.clone()),
        ("the whmcslogin token", t2),
        ("the new PIN", new_pin.to_owned()),
        ("a wrong PIN", wrong_pin.to_owned()),
        ("the added key", k3.clone()),
        ("the added key's second half", k3[17..].to_owned()),
        ("the added key's token", t3),
        ("a reinstall's root password", root[0].to_owned()),
        ("a PXE root password", root[1].to_owned()),
        ("an order's root password", root[2].to_owned()),
    ];
    let read_back: Vec<(&str, String)> = vec![
        ("the IPMI password", ipmi_password),
        ("the noVNC token", console_token),
        ("the console password", vv_password),
        ("the console SSO token", sso),
    ];
    let used_up = vec![("the post-install webhook's secret", hook_secret.to_owned())];
    // Within their windows the records the client reads hold what it reads back...
    let now = dump(&db).await;
    assert_eq!(found_in(&now[..1], &read_back).len(), read_back.len());
    // ...while what is never kept appears nowhere, not even in the log; a used webhook
    // URL is gone from the rows.
    assert_eq!(found_in(&now, &never_stored), Vec::<String>::new());
    assert_eq!(found_in(&now[..1], &used_up), Vec::<String>::new());
    // Past every window (read records: 600 s after the first read; finished jobs: an
    // hour), the prune wipes the rest.
    app.advance(3700).await;
    let r = app.control_post("/_emu/prune").await;
    let pruned: Value = r.json().await.expect("json");
    assert_eq!(pruned["pruned"]["wal_emptied"], true, "{pruned}");
    let later = dump(&db).await;
    let all: Vec<(&str, String)> = never_stored
        .into_iter()
        .chain(read_back)
        .chain(used_up)
        .collect();
    assert_eq!(found_in(&later, &all), Vec::<String>::new());
    app.stop().await;
}
