//! What runs inside an emulated Hestia panel, seen from outside the crate while the Hestia
//! face is not part of this build: a panel on a running emulator gets the command sequence
//! a WHMCS module sends (`v-add-user` with six args, `v-add-domain`, `v-list-users json`,
//! `v-change-user-package`, `v-suspend-user`...) through `ops::hestia::run`, and the
//! emulator's DNS server answers the panel's zones over real UDP.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use hostkey_emu::ops::hestia::{self, Output};
use serde_json::Value;
use tokio::net::UdpSocket;

use crate::helpers::*;

/// The panel's address in these tests.
const PANEL_IP: &str = "203.0.113.80";

/// A running emulator with one initialised panel on the demo account's first server.
async fn panel_app() -> (TestApp, i64) {
    let app = TestApp::spawn().await;
    let state = &app.state;
    let server = app.server_ids(&app.demo_token().await).await[0];
    let now = state.clock.now();
    let id =
        hostkey_emu::store::hestia::insert_panel(&state.db, server, "hestia.test", PANEL_IP, now)
            .await
            .expect("panel");
    let mut tx = hostkey_emu::store::begin_write(&state.db)
        .await
        .expect("tx");
    hestia::init_panel(state, &mut tx, id, "Adm1n-pass", "admin@hestia.test", now)
        .await
        .expect("init");
    tx.commit().await.expect("commit");
    (app, id)
}

async fn run(app: &TestApp, panel: i64, cmd: &str, args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    hestia::run(&app.state, panel, cmd, &args)
        .await
        .expect("run")
}

async fn dig(server: SocketAddr, name: &str, rtype: RecordType) -> Message {
    let mut q = Message::new();
    q.set_id(4711)
        .set_message_type(MessageType::Query)
        .set_op_code(OpCode::Query);
    q.add_query(Query::query(Name::from_ascii(name).expect("name"), rtype));
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("udp");
    socket
        .send_to(&q.to_vec().expect("query"), server)
        .await
        .expect("send");
    let mut buf = vec![0u8; 65_535];
    let n = tokio::time::timeout(Duration::from_secs(5), socket.recv(&mut buf))
        .await
        .expect("an answer in time")
        .expect("recv");
    Message::from_vec(&buf[..n]).expect("a DNS answer")
}

#[tokio::test]
async fn a_whmcs_module_s_calls_create_list_upgrade_and_suspend_an_account() {
    let (app, p) = panel_app().await;
    // CreateAccount: six args, then the domain (web + DNS + mail) on the server's address.
    let out = run(
        &app,
        p,
        "v-add-user",
        &[
            "client1",
            "Cl1ent-pass",
            "c@example.com",
            "default",
            "Jane",
            "Doe",
        ],
    )
    .await;
    assert_eq!((out.exit, out.stdout.as_str()), (0, ""));
    let out = run(
        &app,
        p,
        "v-add-domain",
        &["client1", "client1.test", PANEL_IP],
    )
    .await;
    assert_eq!((out.exit, out.stdout.as_str()), (0, ""));
    // UsageUpdate reads U_DISK, DISK_QUOTA, U_BANDWIDTH, BANDWIDTH, all strings.
    let out = run(&app, p, "v-list-users", &["json"]).await;
    assert_eq!(out.exit, 0);
    let users: Value = serde_json::from_str(&out.stdout).expect("json");
    let c = &users["client1"];
    assert_eq!(c["NAME"], "Jane Doe");
    for k in [
        "U_DISK",
        "DISK_QUOTA",
        "U_BANDWIDTH",
        "BANDWIDTH",
        "U_WEB_DOMAINS",
    ] {
        assert!(c[k].is_string(), "{k} is a string");
    }
    assert_eq!(c["U_WEB_DOMAINS"], "1");
    assert_eq!(c["U_DNS_DOMAINS"], "1");
    assert_eq!(c["U_MAIL_DOMAINS"], "1");
    // ChangePackage, ChangePassword, SSH access.
    assert_eq!(
        run(&app, p, "v-change-user-package", &["client1", "system"])
            .await
            .exit,
        0
    );
    assert_eq!(
        run(&app, p, "v-change-user-password", &["client1", "N3w-pass"])
            .await
            .exit,
        0
    );
    assert!(hestia::check_password(&app.state, p, "client1", "N3w-pass")
        .await
        .expect("check"));
    assert_eq!(
        run(&app, p, "v-change-user-shell", &["client1", "bash"])
            .await
            .exit,
        0
    );
    // SuspendAccount twice: the second is E_SUSPENDED.
    assert_eq!(run(&app, p, "v-suspend-user", &["client1"]).await.exit, 0);
    let again = run(&app, p, "v-suspend-user", &["client1"]).await;
    assert_eq!(
        (again.exit, again.stdout.as_str()),
        (5, "Error: user client1 is suspended\n")
    );
    let facts = hestia::user_facts(&app.state, p, "client1")
        .await
        .expect("facts")
        .expect("user");
    assert!(facts.suspended && !facts.admin);
    assert_eq!(run(&app, p, "v-unsuspend-user", &["client1"]).await.exit, 0);
    // TerminateAccount.
    assert_eq!(run(&app, p, "v-delete-user", &["client1"]).await.exit, 0);
    let gone = run(&app, p, "v-list-user", &["client1", "json"]).await;
    assert_eq!(
        (gone.exit, gone.stdout.as_str()),
        (3, "Error: user client1 doesn't exist\n")
    );
    app.stop().await;
}

#[tokio::test]
async fn hestias_own_api_test_adds_a_user_with_a_tmp_password_file() {
    let (app, p) = panel_app().await;
    assert_eq!(
        run(
            &app,
            p,
            "v-make-tmp-file",
            &["strongpassword", "clusterpassword"]
        )
        .await,
        Output::ok()
    );
    let out = run(
        &app,
        p,
        "v-add-user",
        &["hestiatest", "/tmp/clusterpassword", "test@hestiacp.com"],
    )
    .await;
    assert_eq!(out.exit, 0, "{}", out.stdout);
    assert_eq!(
        run(
            &app,
            p,
            "v-check-user-password",
            &["hestiatest", "strongpassword"]
        )
        .await,
        Output::ok()
    );
    let out = run(&app, p, "v-add-user", &["hestiatest"]).await;
    assert_eq!(out.exit, 1);
    assert_eq!(
        out.stdout,
        "Usage: v-add-user USER PASSWORD EMAIL [PACKAGE] [NAME] [LASTNAME]\n"
    );
    let out = run(
        &app,
        p,
        "v-add-firewall-rule",
        &["ACCEPT", "0.0.0.0/0", "22"],
    )
    .await;
    assert_eq!(out.exit, 11);
    assert!(out.stdout.contains("v-add-firewall-rule"));
    app.stop().await;
}

#[tokio::test]
async fn the_dns_server_answers_a_panels_zone_over_udp() {
    let (app, p) = panel_app().await;
    assert_eq!(
        run(
            &app,
            p,
            "v-add-user",
            &["bob", "B0b-pass", "bob@example.com"]
        )
        .await
        .exit,
        0
    );
    assert_eq!(
        run(&app, p, "v-add-domain", &["bob", "bob-hestia.test"])
            .await
            .exit,
        0
    );
    let m = dig(app.dns, "www.bob-hestia.test.", RecordType::A).await;
    assert_eq!(m.response_code(), ResponseCode::NoError);
    assert!(m.authoritative());
    let a: Vec<String> = m
        .answers()
        .iter()
        .filter_map(|r| match r.data() {
            RData::A(a) => Some(a.0.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(a, [PANEL_IP]);
    // A record changed through the panel is answered at once.
    assert_eq!(
        run(
            &app,
            p,
            "v-add-dns-record",
            &["bob", "bob-hestia.test", "api", "A", "198.51.100.9"]
        )
        .await
        .exit,
        0
    );
    let m = dig(app.dns, "api.bob-hestia.test.", RecordType::A).await;
    assert_eq!(m.answers().len(), 1);
    // A suspended user's zone is not served.
    assert_eq!(run(&app, p, "v-suspend-user", &["bob"]).await.exit, 0);
    let m = dig(app.dns, "www.bob-hestia.test.", RecordType::A).await;
    assert_eq!(m.response_code(), ResponseCode::Refused);
    app.stop().await;
}
