//! Which error a request with two problems gets: the server's state (and the pool or port
//! it names) is judged before the remaining arguments are read, as the real API does. These
//! pin the order, so that moving the checks between the face and the core cannot change it.

use crate::helpers::{error_of, TestApp};

/// 40105: bare metal without remote control (remote hands only).
const NO_CONTROL: &str = "40105";
/// 40102: bare metal with IPMI; its eth1 carries an abuse-team block.
const BM: &str = "40102";

#[tokio::test]
async fn create_pxe_judges_the_server_then_the_os_then_the_password_and_hostname() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    // No remote control comes before a missing os_id.
    let v = app
        .call(
            "eq",
            &[("action", "create_pxe"), ("token", &t), ("id", NO_CONTROL)],
        )
        .await;
    assert_eq!(
        error_of(&v),
        "eq/create_pxe: server 40105 has no remote control, PXE boot needs remote hands (jira.php action=request_PXEboot)"
    );
    // An unknown OS comes before a missing root password and hostname.
    let v = app
        .call(
            "eq",
            &[
                ("action", "create_pxe"),
                ("token", &t),
                ("id", BM),
                ("os_id", "999999"),
            ],
        )
        .await;
    assert_eq!(
        error_of(&v),
        "eq/create_pxe: os_id 999999 not found, see os/list"
    );
    app.stop().await;
}

#[tokio::test]
async fn boot_dev_and_novnc_judge_the_server_before_their_arguments() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let v = app
        .call(
            "eq",
            &[
                ("action", "boot_dev"),
                ("token", &t),
                ("id", NO_CONTROL),
                ("media", "floppy"),
            ],
        )
        .await;
    assert_eq!(
        error_of(&v),
        "eq/boot_dev: server 40105 has no remote control, changing the boot device needs remote hands (jira.php action=request_PXEboot)"
    );
    let long_ip = "1".repeat(100);
    let v = app
        .call(
            "eq",
            &[
                ("action", "novnc"),
                ("token", &t),
                ("id", NO_CONTROL),
                ("white_ip", &long_ip),
            ],
        )
        .await;
    assert_eq!(
        error_of(&v),
        "eq/novnc: server 40105 has no remote console; request KVM with jira.php action=request_kvm"
    );
    app.stop().await;
}

#[tokio::test]
async fn port_switches_judge_an_abuse_block_before_the_reason() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let long_reason = "x".repeat(300);
    let v = app
        .call(
            "net",
            &[
                ("action", "port_off"),
                ("token", &t),
                ("id", BM),
                ("port", "eth1"),
                ("reason", &long_reason),
            ],
        )
        .await;
    assert_eq!(
        error_of(&v),
        "net/port_off: admin ban could not be lifted this way, please contact support or abuse team."
    );
    app.stop().await;
}

#[tokio::test]
async fn address_actions_judge_the_pool_tag_before_the_vlan() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    for action in ["add_ipv4", "show_ipv4_free"] {
        let v = app
            .call(
                "net",
                &[
                    ("action", action),
                    ("token", &t),
                    ("id", BM),
                    ("amount", "1"),
                    ("tag", "ipmi"),
                    ("vlan", "not-a-number"),
                ],
            )
            .await;
        assert_eq!(
            error_of(&v),
            format!(
                "net/{action}: permission denied, technical networks (ipmi) are for administrators"
            )
        );
    }
    app.stop().await;
}
