//! Unit tests of the panel's commands, family by family, through [`super::run`] on an
//! initialised test panel: output shapes in the four formats, exit codes and error texts
//! (A.6), package limits and counters.

use super::test_support::{json, keys_in_order, ok, panel, sh, ADMIN_PW, IP};
use super::*;
use crate::store::hestia::{self as objects};

async fn add_bob(state: &AppState, p: i64) {
    ok(
        state,
        p,
        "v-add-user",
        &["bob", "Secret-1", "bob@example.com"],
    )
    .await;
}

/// A package with one of everything, for the limit tests.
async fn tiny_package(state: &AppState, p: i64) {
    let mut a = rules::default_package();
    for k in [
        "WEB_DOMAINS",
        "DNS_DOMAINS",
        "MAIL_DOMAINS",
        "MAIL_ACCOUNTS",
        "DATABASES",
        "CRON_JOBS",
        "DNS_RECORDS",
    ] {
        a.insert(k.into(), "1".into());
    }
    a.insert("WEB_ALIASES".into(), "1".into());
    let at = Place {
        panel_id: p,
        kind: "package",
        owner: "",
        parent: "",
    };
    objects::insert(&state.db, at, "tiny", &a, None, 0)
        .await
        .expect("package");
}

// ---------------------------------------------------------------- users and packages

#[tokio::test]
async fn init_panel_makes_the_admin_the_packages_and_the_ip() {
    let (state, p) = panel().await;
    let facts = user_facts(&state, p, "admin").await.expect("facts");
    assert_eq!(
        facts,
        Some(UserFacts {
            admin: true,
            suspended: false
        })
    );
    assert_eq!(user_facts(&state, p, "nobody").await.expect("facts"), None);
    assert!(check_password(&state, p, "admin", ADMIN_PW)
        .await
        .expect("check"));
    assert!(!check_password(&state, p, "admin", "wrong")
        .await
        .expect("check"));
    assert!(!check_password(&state, p, "ghost", ADMIN_PW)
        .await
        .expect("check"));
    let pk = json(&state, p, "v-list-user-packages", &[]).await;
    assert!(pk["default"].is_object() && pk["system"].is_object());
    assert_eq!(pk["default"]["SHELL"], "nologin");
    let ips = json(&state, p, "v-list-sys-ips", &[]).await;
    assert_eq!(ips[IP]["OWNER"], "admin");
    assert_eq!(ips[IP]["STATUS"], "shared");
    // The password is stored only as an argon2 hash.
    let text = crate::store::test_support::table_text(&state.db, "hestia_objects").await;
    assert!(!text.contains(ADMIN_PW));
    assert!(text.contains("$argon2"));
}

#[tokio::test]
async fn add_user_with_six_args_appends_the_last_name_and_lists_in_b1_order() {
    let (state, p) = panel().await;
    let out = sh(
        &state,
        p,
        "v-add-user",
        &[
            "bob",
            "Secret-1",
            "bob@example.com",
            "default",
            "Bob",
            "Smith",
        ],
    )
    .await;
    assert_eq!(out, Output::ok());
    let text = ok(&state, p, "v-list-users", &["json"]).await;
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(v["bob"]["NAME"], "Bob Smith");
    assert_eq!(v["bob"]["PACKAGE"], "default");
    assert_eq!(v["bob"]["CONTACT"], "bob@example.com");
    assert_eq!(v["bob"]["ROLE"], "user");
    assert_eq!(v["admin"]["ROLE"], "admin");
    assert_eq!(v["admin"]["U_USERS"], "2");
    // Every value is a string, in B.1's order.
    for (_, user) in v.as_object().expect("object") {
        assert!(user
            .as_object()
            .expect("user")
            .values()
            .all(|x| x.is_string()));
    }
    let order = keys_in_order(&text, "bob");
    assert_eq!(order.first().map(String::as_str), Some("NAME"));
    assert_eq!(order[1], "PACKAGE");
    assert_eq!(order.last().map(String::as_str), Some("DATE"));
    assert_eq!(order.len(), 57);
    let cpu = order.iter().position(|k| k == "CPU_QUOTA").expect("cpu");
    assert_eq!(order[cpu - 1], "DISK_QUOTA");
    // v-list-user: HOME, TWOFA..., no CPU fields.
    let one = ok(&state, p, "v-list-user", &["bob", "json"]).await;
    let order = keys_in_order(&one, "bob");
    assert_eq!(order.len(), 64);
    assert!(!order.contains(&"CPU_QUOTA".to_string()));
    let home = order.iter().position(|k| k == "HOME").expect("home");
    assert_eq!(order[home - 1], "BANDWIDTH");
    let v: serde_json::Value = serde_json::from_str(&one).expect("json");
    assert_eq!(v["bob"]["HOME"], "/home/bob");
    assert_eq!(v["bob"]["RKEY"].as_str().expect("rkey").len(), 10);
}

#[tokio::test]
async fn list_users_speaks_every_format_and_prints_nothing_for_others() {
    let (state, p) = panel().await;
    add_bob(&state, p).await;
    let plain = ok(&state, p, "v-list-users", &["plain"]).await;
    let lines: Vec<&str> = plain.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[1].starts_with("bob\t\tdefault\t"), "{}", lines[1]);
    let csv = ok(&state, p, "v-list-users", &["csv"]).await;
    assert!(csv.starts_with("USER,NAME,PACKAGE,WEB_TEMPLATE,"));
    assert_eq!(csv.lines().count(), 3);
    let shell = ok(&state, p, "v-list-users", &[]).await;
    assert!(shell.starts_with("USER "), "{shell}");
    assert!(shell.lines().nth(1).expect("dashes").starts_with("----"));
    assert_eq!(ok(&state, p, "v-list-users", &["shell"]).await, shell);
    assert_eq!(ok(&state, p, "v-list-users", &[""]).await, "");
    assert_eq!(ok(&state, p, "v-list-users", &["yaml"]).await, "");
    assert_eq!(
        ok(&state, p, "v-list-users", &["list"]).await,
        "admin\nbob\n"
    );
}

#[tokio::test]
async fn add_user_refuses_what_hestia_refuses() {
    let (state, p) = panel().await;
    let out = sh(&state, p, "v-add-user", &["bob", "pw"]).await;
    assert_eq!(out.exit, 1);
    assert_eq!(
        out.stdout,
        "Usage: v-add-user USER PASSWORD EMAIL [PACKAGE] [NAME] [LASTNAME]\n"
    );
    let out = sh(
        &state,
        p,
        "v-add-user",
        &["mysql", "Secret-1", "m@example.com"],
    )
    .await;
    assert_eq!(out.exit, 2);
    assert!(out
        .stdout
        .starts_with("Error: The user name 'mysql' is reserved and cannot be used."));
    let out = sh(
        &state,
        p,
        "v-add-user",
        &["bob", "Secret-1", "not-an-email"],
    )
    .await;
    assert_eq!(
        (out.exit, out.stdout.as_str()),
        (2, "Error: invalid email format :: not-an-email\n")
    );
    let out = sh(
        &state,
        p,
        "v-add-user",
        &["-bob", "Secret-1", "b@example.com"],
    )
    .await;
    assert_eq!(out.stdout, "Error: invalid user format :: -bob\n");
    let out = sh(
        &state,
        p,
        "v-add-user",
        &["bob", "Secret-1", "b@example.com", "gold"],
    )
    .await;
    assert_eq!(
        (out.exit, out.stdout.as_str()),
        (3, "Error: package gold doesn't exist\n")
    );
    add_bob(&state, p).await;
    let out = sh(
        &state,
        p,
        "v-add-user",
        &["bob", "Secret-1", "b@example.com"],
    )
    .await;
    assert_eq!(
        (out.exit, out.stdout.as_str()),
        (4, "Error: user bob exists\n")
    );
    let out = sh(&state, p, "v-list-user", &["ghost"]).await;
    assert_eq!(
        (out.exit, out.stdout.as_str()),
        (3, "Error: user ghost doesn't exist\n")
    );
}

#[tokio::test]
async fn tmp_files_stand_for_password_arguments() {
    let (state, p) = panel().await;
    ok(
        &state,
        p,
        "v-make-tmp-file",
        &["strongpassword", "clusterpassword"],
    )
    .await;
    ok(
        &state,
        p,
        "v-add-user",
        &["hestiatest", "/tmp/clusterpassword", "t@example.com"],
    )
    .await;
    assert!(check_password(&state, p, "hestiatest", "strongpassword")
        .await
        .expect("check"));
    assert!(
        !check_password(&state, p, "hestiatest", "/tmp/clusterpassword")
            .await
            .expect("check")
    );
    // Another panel's /tmp is its own; a missing file is a literal password.
    ok(
        &state,
        p,
        "v-add-user",
        &["other", "/tmp/nofile", "o@example.com"],
    )
    .await;
    assert!(check_password(&state, p, "other", "/tmp/nofile")
        .await
        .expect("check"));
    let out = sh(&state, p, "v-make-tmp-file", &["x"]).await;
    assert_eq!(out.stdout, "Usage: v-make-tmp-file CONTENT NAME\n");
}

#[tokio::test]
async fn password_changes_check_and_rkey() {
    let (state, p) = panel().await;
    add_bob(&state, p).await;
    let before = json(&state, p, "v-list-user", &["bob"]).await["bob"]["RKEY"].clone();
    ok(&state, p, "v-check-user-password", &["bob", "Secret-1"]).await;
    ok(&state, p, "v-change-user-password", &["bob", "Newer-2"]).await;
    let out = sh(&state, p, "v-check-user-password", &["bob", "Secret-1"]).await;
    assert_eq!(
        (out.exit, out.stdout.as_str()),
        (9, "Error: password missmatch\n")
    );
    ok(&state, p, "v-check-user-password", &["bob", "Newer-2"]).await;
    assert!(check_password(&state, p, "bob", "Newer-2")
        .await
        .expect("check"));
    let after = json(&state, p, "v-list-user", &["bob"]).await["bob"]["RKEY"].clone();
    assert_ne!(before, after);
    let text = crate::store::test_support::table_text(&state.db, "hestia_objects").await;
    assert!(!text.contains("Newer-2") && !text.contains("Secret-1"));
}

#[tokio::test]
async fn suspend_and_unsuspend_answer_5_and_6_when_already_so() {
    let (state, p) = panel().await;
    add_bob(&state, p).await;
    ok(&state, p, "v-add-web-domain", &["bob", "bob.com"]).await;
    ok(&state, p, "v-suspend-user", &["bob"]).await;
    assert_eq!(
        user_facts(&state, p, "bob").await.expect("facts"),
        Some(UserFacts {
            admin: false,
            suspended: true
        })
    );
    let out = sh(&state, p, "v-suspend-user", &["bob"]).await;
    assert_eq!(
        (out.exit, out.stdout.as_str()),
        (5, "Error: user bob is suspended\n")
    );
    let u = json(&state, p, "v-list-user", &["bob"]).await;
    assert_eq!(u["bob"]["SUSPENDED"], "yes");
    assert_eq!(u["bob"]["SUSPENDED_WEB"], "1");
    // A suspended user gets nothing new.
    let out = sh(&state, p, "v-add-web-domain", &["bob", "two.com"]).await;
    assert_eq!(out.exit, 5);
    ok(&state, p, "v-unsuspend-user", &["bob"]).await;
    let out = sh(&state, p, "v-unsuspend-user", &["bob"]).await;
    assert_eq!(
        (out.exit, out.stdout.as_str()),
        (6, "Error: user bob is not suspended\n")
    );
    let w = json(&state, p, "v-list-web-domains", &["bob"]).await;
    assert_eq!(w["bob.com"]["SUSPENDED"], "no");
    assert_eq!(sh(&state, p, "v-suspend-user", &["admin"]).await.exit, 10);
    assert_eq!(sh(&state, p, "v-delete-user", &["admin"]).await.exit, 10);
}

#[tokio::test]
async fn user_changes_package_shell_contact_and_name() {
    let (state, p) = panel().await;
    add_bob(&state, p).await;
    tiny_package(&state, p).await;
    ok(&state, p, "v-change-user-package", &["bob", "tiny"]).await;
    ok(&state, p, "v-change-user-shell", &["bob", "bash"]).await;
    ok(
        &state,
        p,
        "v-change-user-contact",
        &["bob", "new@example.com"],
    )
    .await;
    ok(&state, p, "v-change-user-name", &["bob", "Robert", "Smith"]).await;
    let u_all = json(&state, p, "v-list-user", &["bob"]).await;
    let u = &u_all["bob"];
    assert_eq!(u["PACKAGE"], "tiny");
    assert_eq!(u["WEB_DOMAINS"], "1");
    assert_eq!(u["SHELL"], "bash");
    assert_eq!(u["CONTACT"], "new@example.com");
    assert_eq!(u["NAME"], "Robert Smith");
    let out = sh(&state, p, "v-change-user-package", &["bob", "gold"]).await;
    assert_eq!(
        (out.exit, out.stdout.as_str()),
        (3, "Error: package gold doesn't exist\n")
    );
    assert_eq!(
        sh(&state, p, "v-change-user-shell", &["bob", "fish"])
            .await
            .exit,
        2
    );
    let out = sh(&state, p, "v-change-user-shell", &["bob"]).await;
    assert_eq!(out.stdout, "Usage: v-change-user-shell USER SHELL\n");
    let pk = ok(&state, p, "v-list-user-package", &["default", "json"]).await;
    let order = keys_in_order(&pk, "default");
    assert_eq!(order.len(), 25);
    assert_eq!(order[10], "RATE_LIMIT");
    assert_eq!(order[22], "BACKUPS_INCREMENTAL");
    assert_eq!(
        sh(&state, p, "v-list-user-package", &["gold"]).await.exit,
        3
    );
    let pks = ok(&state, p, "v-list-user-packages", &["json"]).await;
    assert_eq!(keys_in_order(&pks, "default").len(), 22);
}

#[tokio::test]
async fn package_limits_answer_8_and_counters_stay_true() {
    let (state, p) = panel().await;
    tiny_package(&state, p).await;
    ok(
        &state,
        p,
        "v-add-user",
        &["tt", "Secret-1", "tt@example.com", "tiny"],
    )
    .await;
    ok(&state, p, "v-add-web-domain", &["tt", "one.com"]).await;
    let out = sh(&state, p, "v-add-web-domain", &["tt", "two.com"]).await;
    assert_eq!(
        (out.exit, out.stdout.as_str()),
        (
            8,
            "Error: WEB_DOMAINS limit is reached :: upgrade user package\n"
        )
    );
    ok(
        &state,
        p,
        "v-add-database",
        &["tt", "wp", "wp", "Db-pass-1"],
    )
    .await;
    let out = sh(
        &state,
        p,
        "v-add-database",
        &["tt", "wp2", "wp2", "Db-pass-1"],
    )
    .await;
    assert_eq!(out.exit, 8);
    assert!(out.stdout.starts_with("Error: DATABASES limit is reached"));
    ok(
        &state,
        p,
        "v-add-cron-job",
        &["tt", "*", "*", "*", "*", "*", "true"],
    )
    .await;
    assert_eq!(
        sh(
            &state,
            p,
            "v-add-cron-job",
            &["tt", "*", "*", "*", "*", "*", "true"]
        )
        .await
        .exit,
        8
    );
    ok(&state, p, "v-add-mail-domain", &["tt", "one.com"]).await;
    ok(
        &state,
        p,
        "v-add-mail-account",
        &["tt", "one.com", "info", "Mail-pass-1"],
    )
    .await;
    assert_eq!(
        sh(
            &state,
            p,
            "v-add-mail-account",
            &["tt", "one.com", "sales", "Mail-pass-1"]
        )
        .await
        .exit,
        8
    );
    let u_all = json(&state, p, "v-list-user", &["tt"]).await;
    let u = &u_all["tt"];
    assert_eq!(u["U_WEB_DOMAINS"], "1");
    assert_eq!(u["U_WEB_ALIASES"], "1");
    assert_eq!(u["U_DATABASES"], "1");
    assert_eq!(u["U_CRON_JOBS"], "1");
    assert_eq!(u["U_MAIL_DOMAINS"], "1");
    assert_eq!(u["U_MAIL_DKIM"], "1");
    assert_eq!(u["U_MAIL_ACCOUNTS"], "1");
    assert_ne!(u["U_DISK"], "0");
    ok(&state, p, "v-delete-web-domain", &["tt", "one.com"]).await;
    let u_all = json(&state, p, "v-list-user", &["tt"]).await;
    let u = &u_all["tt"];
    assert_eq!(u["U_WEB_DOMAINS"], "0");
    assert_eq!(u["U_WEB_ALIASES"], "0");
    ok(&state, p, "v-add-web-domain", &["tt", "two.com"]).await;
    let stats = json(&state, p, "v-list-user-stats", &["tt"]).await;
    let (_, row) = stats
        .as_object()
        .expect("stats")
        .iter()
        .next()
        .expect("a month");
    assert_eq!(row["U_WEB_DOMAINS"], "1");
}

#[tokio::test]
async fn delete_user_takes_everything_it_owns() {
    let (state, p) = panel().await;
    add_bob(&state, p).await;
    ok(&state, p, "v-add-domain", &["bob", "bob.com"]).await;
    ok(&state, p, "v-delete-user", &["bob"]).await;
    assert_eq!(
        crate::store::test_support::count(&state.db, "hestia_objects WHERE owner = 'bob'").await,
        0
    );
    assert_eq!(sh(&state, p, "v-delete-user", &["bob"]).await.exit, 3);
    // The domain is free again.
    ok(&state, p, "v-add-domain", &["admin", "bob.com"]).await;
}

// ---------------------------------------------------------------- web domains

#[tokio::test]
async fn web_domains_get_the_www_alias_rule_and_the_panels_ip() {
    let (state, p) = panel().await;
    add_bob(&state, p).await;
    ok(&state, p, "v-add-web-domain", &["bob", "Example.COM"]).await;
    ok(&state, p, "v-add-web-domain", &["bob", "shop.example.org"]).await;
    ok(
        &state,
        p,
        "v-add-web-domain",
        &["bob", "bare.net", "", "", "none"],
    )
    .await;
    let w = json(&state, p, "v-list-web-domains", &["bob"]).await;
    assert_eq!(w["example.com"]["ALIAS"], "www.example.com");
    assert_eq!(w["shop.example.org"]["ALIAS"], "");
    assert_eq!(w["bare.net"]["ALIAS"], "");
    assert_eq!(w["example.com"]["IP"], IP);
    assert_eq!(
        w["example.com"]["DOCUMENT_ROOT"],
        "/home/bob/web/example.com/public_html/"
    );
    let text = ok(
        &state,
        p,
        "v-list-web-domain",
        &["bob", "example.com", "json"],
    )
    .await;
    let order = keys_in_order(&text, "example.com");
    let ssl = order.iter().position(|k| k == "SSL").expect("ssl");
    assert_eq!(order[ssl + 1], "SSL_FORCE");
    assert_eq!(order[ssl + 2], "SSL_HSTS");
    assert_eq!(order[order.len() - 4], "CUSTOM_DOCROOT");
    assert_eq!(order.len(), 28);
    let list = ok(&state, p, "v-list-web-domains", &["bob", "json"]).await;
    assert_eq!(keys_in_order(&list, "example.com").len(), 21);
    // Taken, by anyone, including as an alias.
    ok(
        &state,
        p,
        "v-add-user",
        &["eve", "Secret-1", "e@example.com"],
    )
    .await;
    let out = sh(&state, p, "v-add-web-domain", &["eve", "example.com"]).await;
    assert_eq!(
        (out.exit, out.stdout.as_str()),
        (4, "Error: Web domain example.com exists\n")
    );
    assert_eq!(
        sh(&state, p, "v-add-web-domain", &["eve", "www.example.com"])
            .await
            .exit,
        4
    );
    let out = sh(
        &state,
        p,
        "v-add-web-domain",
        &["eve", "other.com", "198.51.100.7"],
    )
    .await;
    assert_eq!(
        (out.exit, out.stdout.as_str()),
        (3, "Error: ip 198.51.100.7 doesn't exist\n")
    );
    let out = sh(&state, p, "v-add-web-domain", &["eve", "bad_domain"]).await;
    assert_eq!(out.stdout, "Error: invalid domain format :: bad_domain\n");
    let out = sh(&state, p, "v-list-web-domain", &["bob", "nope.com"]).await;
    assert_eq!(
        (out.exit, out.stdout.as_str()),
        (3, "Error: web domain nope.com doesn't exist\n")
    );
}

#[tokio::test]
async fn web_domain_aliases_ssl_ftp_cache_suspend_delete() {
    let (state, p) = panel().await;
    add_bob(&state, p).await;
    ok(&state, p, "v-add-web-domain", &["bob", "bob.com"]).await;
    ok(
        &state,
        p,
        "v-add-web-domain-alias",
        &["bob", "bob.com", "shop.bob.com"],
    )
    .await;
    ok(&state, p, "v-add-letsencrypt-domain", &["bob", "bob.com"]).await;
    ok(
        &state,
        p,
        "v-add-web-domain-ftp",
        &["bob", "bob.com", "deploy", "Ftp-pass-1"],
    )
    .await;
    ok(&state, p, "v-purge-nginx-cache", &["bob", "bob.com"]).await;
    let w_all = json(&state, p, "v-list-web-domain", &["bob", "bob.com"]).await;
    let w = &w_all["bob.com"];
    assert_eq!(w["ALIAS"], "www.bob.com,shop.bob.com");
    assert_eq!(w["SSL"], "yes");
    assert_eq!(w["LETSENCRYPT"], "yes");
    assert_eq!(w["FTP_USER"], "bob_deploy");
    assert_eq!(w["FTP_PATH"], "/home/bob/web/bob.com");
    let out = sh(
        &state,
        p,
        "v-add-web-domain-ftp",
        &["bob", "bob.com", "deploy", "x-Pass-2"],
    )
    .await;
    assert_eq!(
        (out.exit, out.stdout.as_str()),
        (4, "Error: ftp user bob_deploy already exists\n")
    );
    ok(
        &state,
        p,
        "v-delete-letsencrypt-domain",
        &["bob", "bob.com"],
    )
    .await;
    ok(&state, p, "v-suspend-web-domain", &["bob", "bob.com"]).await;
    let out = sh(&state, p, "v-suspend-web-domain", &["bob", "bob.com"]).await;
    assert_eq!(
        (out.exit, out.stdout.as_str()),
        (5, "Error: web bob.com is suspended\n")
    );
    ok(&state, p, "v-unsuspend-web-domain", &["bob", "bob.com"]).await;
    assert_eq!(
        sh(&state, p, "v-unsuspend-web-domain", &["bob", "bob.com"])
            .await
            .exit,
        6
    );
    ok(&state, p, "v-delete-web-domain", &["bob", "bob.com"]).await;
    assert_eq!(
        ok(&state, p, "v-list-web-domains", &["bob", "json"]).await,
        "{\n}\n"
    );
    assert_eq!(
        ok(&state, p, "v-list-web-domains", &["bob", "plain"]).await,
        ""
    );
    assert_eq!(
        crate::store::test_support::count(&state.db, "hestia_objects WHERE kind = 'ftp'").await,
        0
    );
}

#[tokio::test]
async fn add_domain_makes_web_dns_and_mail_with_letsencrypt_for_mail() {
    let (state, p) = panel().await;
    add_bob(&state, p).await;
    ok(&state, p, "v-add-domain", &["bob", "bob.com"]).await;
    assert!(json(&state, p, "v-list-web-domains", &["bob"]).await["bob.com"].is_object());
    let dns = json(&state, p, "v-list-dns-domains", &["bob"]).await;
    assert_eq!(dns["bob.com"]["IP"], IP);
    assert!(json(&state, p, "v-list-mail-domains", &["bob"]).await["bob.com"].is_object());
    // WHMCS sends `'' yes`: the mail domain's certificate.
    ok(
        &state,
        p,
        "v-add-letsencrypt-domain",
        &["bob", "bob.com", "", "yes"],
    )
    .await;
    let m_all = json(&state, p, "v-list-mail-domain", &["bob", "bob.com"]).await;
    let m = &m_all["bob.com"];
    assert_eq!(m["SSL"], "yes");
    assert_eq!(m["LETSENCRYPT"], "yes");
    let w_all = json(&state, p, "v-list-web-domain", &["bob", "bob.com"]).await;
    let w = &w_all["bob.com"];
    assert_eq!(w["SSL"], "no");
    // All or nothing: a taken domain adds nothing.
    ok(
        &state,
        p,
        "v-add-user",
        &["eve", "Secret-1", "e@example.com"],
    )
    .await;
    assert_eq!(
        sh(&state, p, "v-add-domain", &["eve", "bob.com"])
            .await
            .exit,
        4
    );
    assert_eq!(
        ok(&state, p, "v-list-dns-domains", &["eve", "json"]).await,
        "{\n}\n"
    );
}

// ---------------------------------------------------------------- DNS

#[tokio::test]
async fn dns_domains_get_the_template_records() {
    let (state, p) = panel().await;
    add_bob(&state, p).await;
    ok(
        &state,
        p,
        "v-add-dns-domain",
        &["bob", "bob.com", "198.51.100.20"],
    )
    .await;
    let text = ok(&state, p, "v-list-dns-domain", &["bob", "bob.com", "json"]).await;
    assert_eq!(
        keys_in_order(&text, "bob.com"),
        [
            "IP",
            "TPL",
            "TTL",
            "EXP",
            "SOA",
            "SERIAL",
            "DNSSEC",
            "SRC",
            "RECORDS",
            "SUSPENDED",
            "TIME",
            "DATE"
        ]
    );
    let d: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(d["bob.com"]["SOA"], "ns1.domain.tld");
    assert_eq!(d["bob.com"]["RECORDS"], "15");
    let text = ok(&state, p, "v-list-dns-records", &["bob", "bob.com", "json"]).await;
    assert_eq!(
        keys_in_order(&text, "1"),
        [
            "RECORD",
            "TYPE",
            "PRIORITY",
            "VALUE",
            "ID",
            "SUSPENDED",
            "TIME",
            "DATE",
            "TTL"
        ]
    );
    let r: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(r["1"]["TYPE"], "NS");
    assert_eq!(r["1"]["VALUE"], "ns1.domain.tld.");
    assert_eq!(r["3"]["RECORD"], "@");
    assert_eq!(r["3"]["VALUE"], "198.51.100.20");
    assert_eq!(r["3"]["TTL"], "14400");
    let mx = r
        .as_object()
        .expect("records")
        .values()
        .find(|x| x["TYPE"] == "MX")
        .expect("mx");
    assert_eq!(mx["VALUE"], "mail.bob.com.");
    assert_eq!(mx["PRIORITY"], "0");
    // Own name servers.
    ok(
        &state,
        p,
        "v-add-dns-domain",
        &[
            "bob",
            "two.com",
            "198.51.100.20",
            "ns1.two.com",
            "ns2.two.com",
        ],
    )
    .await;
    let d = json(&state, p, "v-list-dns-domain", &["bob", "two.com"]).await;
    assert_eq!(d["two.com"]["SOA"], "ns1.two.com");
    let out = sh(&state, p, "v-add-dns-domain", &["bob", "bob.com"]).await;
    assert_eq!(out.stdout, "Usage: v-add-dns-domain USER DOMAIN IP [NS1] [NS2] [NS3] [NS4] [NS5] [NS6] [NS7] [NS8] [RESTART]\n");
    let out = sh(
        &state,
        p,
        "v-add-dns-domain",
        &["bob", "bob.com", "198.51.100.20"],
    )
    .await;
    assert_eq!(
        (out.exit, out.stdout.as_str()),
        (4, "Error: DNS domain bob.com exists\n")
    );
    ok(&state, p, "v-delete-dns-domain", &["bob", "bob.com"]).await;
    let out = sh(&state, p, "v-list-dns-records", &["bob", "bob.com"]).await;
    assert_eq!(
        (out.exit, out.stdout.as_str()),
        (3, "Error: dns domain bob.com doesn't exist\n")
    );
}

#[tokio::test]
async fn dns_records_are_added_changed_and_deleted_as_hestia_does() {
    let (state, p) = panel().await;
    add_bob(&state, p).await;
    ok(
        &state,
        p,
        "v-add-dns-domain",
        &["bob", "bob.com", "198.51.100.20"],
    )
    .await;
    let serial = json(&state, p, "v-list-dns-domain", &["bob", "bob.com"]).await["bob.com"]
        ["SERIAL"]
        .clone();
    ok(
        &state,
        p,
        "v-add-dns-record",
        &["bob", "bob.com", "API", "a", "198.51.100.30"],
    )
    .await;
    ok(
        &state,
        p,
        "v-add-dns-record",
        &["bob", "bob.com", "txt1", "TXT", "hello world"],
    )
    .await;
    ok(
        &state,
        p,
        "v-add-dns-record",
        &["bob", "bob.com", "@", "mx", "mx2.bob.com", ""],
    )
    .await;
    ok(
        &state,
        p,
        "v-add-dns-record",
        &["bob", "bob.com", "x", "A", "198.51.100.31", "", "40"],
    )
    .await;
    let r = json(&state, p, "v-list-dns-records", &["bob", "bob.com"]).await;
    assert_eq!(r["16"]["RECORD"], "api");
    assert_eq!(r["16"]["TYPE"], "A");
    assert_eq!(r["16"]["PRIORITY"], "");
    assert_eq!(r["17"]["VALUE"], "\"hello world\"");
    assert_eq!(r["18"]["VALUE"], "mx2.bob.com.");
    assert_eq!(r["18"]["PRIORITY"], "10");
    assert_eq!(r["40"]["RECORD"], "x");
    let d = json(&state, p, "v-list-dns-domain", &["bob", "bob.com"]).await;
    assert_ne!(d["bob.com"]["SERIAL"], serial);
    let out = sh(
        &state,
        p,
        "v-add-dns-record",
        &["bob", "bob.com", "y", "A", "198.51.100.32", "", "40"],
    )
    .await;
    assert_eq!(
        (out.exit, out.stdout.as_str()),
        (4, "Error: ID=40 already exists\n")
    );
    let out = sh(
        &state,
        p,
        "v-add-dns-record",
        &["bob", "bob.com", "y", "BOGUS", "x"],
    )
    .await;
    assert_eq!(
        (out.exit, out.stdout.as_str()),
        (2, "Error: BOGUS type is invalid\n")
    );
    ok(
        &state,
        p,
        "v-add-dns-record",
        &["bob", "bob.com", "z", "A", "198.51.100.33"],
    )
    .await;
    assert!(json(&state, p, "v-list-dns-records", &["bob", "bob.com"]).await["41"].is_object());
    ok(
        &state,
        p,
        "v-change-dns-record",
        &[
            "bob",
            "bob.com",
            "16",
            "api",
            "A",
            "198.51.100.99",
            "",
            "",
            "300",
        ],
    )
    .await;
    let r = json(&state, p, "v-list-dns-records", &["bob", "bob.com"]).await;
    assert_eq!(r["16"]["VALUE"], "198.51.100.99");
    assert_eq!(r["16"]["TTL"], "300");
    ok(&state, p, "v-delete-dns-record", &["bob", "bob.com", "16"]).await;
    let out = sh(&state, p, "v-delete-dns-record", &["bob", "bob.com", "16"]).await;
    assert_eq!(
        (out.exit, out.stdout.as_str()),
        (3, "Error: bob.com id 16 doesn't exist\n")
    );
    let csv = ok(&state, p, "v-list-dns-records", &["bob", "bob.com", "csv"]).await;
    assert!(csv.starts_with("ID,RECORD,TYPE,PRIORITY,VALUE,ID,SUSPENDED,TIME,DATE,TTL\n"));
}

// ---------------------------------------------------------------- mail

#[tokio::test]
async fn mail_domains_and_accounts() {
    let (state, p) = panel().await;
    add_bob(&state, p).await;
    ok(
        &state,
        p,
        "v-add-mail-domain",
        &["bob", "bob.com", "no", "yes", "no"],
    )
    .await;
    ok(
        &state,
        p,
        "v-add-mail-account",
        &["bob", "bob.com", "Info", "Mail-pass-1", "1024"],
    )
    .await;
    let text = ok(&state, p, "v-list-mail-domains", &["bob", "json"]).await;
    assert_eq!(keys_in_order(&text, "bob.com").len(), 14);
    let m: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(m["bob.com"]["ANTISPAM"], "no");
    assert_eq!(m["bob.com"]["DKIM"], "no");
    assert_eq!(m["bob.com"]["ACCOUNTS"], "1");
    assert_eq!(m["bob.com"]["WEBMAIL_ALIAS"], "webmail.bob.com");
    let one = ok(&state, p, "v-list-mail-domain", &["bob", "bob.com", "json"]).await;
    assert_eq!(keys_in_order(&one, "bob.com").len(), 19);
    let a = ok(
        &state,
        p,
        "v-list-mail-accounts",
        &["bob", "bob.com", "json"],
    )
    .await;
    assert_eq!(
        keys_in_order(&a, "info"),
        [
            "ALIAS",
            "FWD",
            "FWD_ONLY",
            "AUTOREPLY",
            "QUOTA",
            "U_DISK",
            "SUSPENDED",
            "TIME",
            "DATE"
        ]
    );
    let one = ok(
        &state,
        p,
        "v-list-mail-account",
        &["bob", "bob.com", "info", "json"],
    )
    .await;
    let order = keys_in_order(&one, "info");
    assert_eq!(order[5], "RATE_LIMIT");
    assert_eq!(order.last().map(String::as_str), Some("WEBMAIL_ALIAS"));
    let out = sh(
        &state,
        p,
        "v-add-mail-account",
        &["bob", "bob.com", "info", "Mail-pass-1"],
    )
    .await;
    assert_eq!(
        (out.exit, out.stdout.as_str()),
        (4, "Error: mail account info is already exists\n")
    );
    ok(
        &state,
        p,
        "v-change-mail-account-password",
        &["bob", "bob.com", "info", "Mail-pass-2"],
    )
    .await;
    ok(
        &state,
        p,
        "v-delete-mail-account",
        &["bob", "bob.com", "info"],
    )
    .await;
    let out = sh(
        &state,
        p,
        "v-delete-mail-account",
        &["bob", "bob.com", "info"],
    )
    .await;
    assert_eq!(
        (out.exit, out.stdout.as_str()),
        (3, "Error: bob.com account info doesn't exist\n")
    );
    let out = sh(&state, p, "v-add-mail-domain", &["bob", "bob.com"]).await;
    assert_eq!(
        (out.exit, out.stdout.as_str()),
        (4, "Error: Mail domain bob.com exists\n")
    );
    ok(&state, p, "v-delete-mail-domain", &["bob", "bob.com"]).await;
    let out = sh(&state, p, "v-list-mail-accounts", &["bob", "bob.com"]).await;
    assert_eq!(
        (out.exit, out.stdout.as_str()),
        (3, "Error: mail domain bob.com doesn't exist\n")
    );
    let text = crate::store::test_support::table_text(&state.db, "hestia_objects").await;
    assert!(!text.contains("Mail-pass"));
}

// ---------------------------------------------------------------- databases and cron

#[tokio::test]
async fn databases_are_prefixed_with_their_owner() {
    let (state, p) = panel().await;
    add_bob(&state, p).await;
    ok(
        &state,
        p,
        "v-add-database",
        &["bob", "wp", "wpuser", "Db-pass-1"],
    )
    .await;
    ok(
        &state,
        p,
        "v-add-database",
        &["bob", "Shop", "Shop", "/tmp/x", "pgsql"],
    )
    .await;
    let text = ok(&state, p, "v-list-databases", &["bob", "json"]).await;
    assert_eq!(
        keys_in_order(&text, "bob_wp"),
        [
            "DATABASE",
            "DBUSER",
            "HOST",
            "TYPE",
            "CHARSET",
            "U_DISK",
            "SUSPENDED",
            "TIME",
            "DATE"
        ]
    );
    let d: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(d["bob_wp"]["DBUSER"], "bob_wpuser");
    assert_eq!(d["bob_wp"]["HOST"], "localhost");
    assert_eq!(d["bob_wp"]["CHARSET"], "UTF8MB4");
    assert_eq!(d["bob_shop"]["TYPE"], "pgsql");
    let out = sh(
        &state,
        p,
        "v-add-database",
        &["bob", "wp", "wpuser", "Db-pass-1"],
    )
    .await;
    assert_eq!(
        (out.exit, out.stdout.as_str()),
        (4, "Error: DB=bob_wp already exists\n")
    );
    let out = sh(
        &state,
        p,
        "v-add-database",
        &["bob", "x", "x", "Db-pass-1", "oracle"],
    )
    .await;
    assert_eq!(
        (out.exit, out.stdout.as_str()),
        (2, "Error: oracle type is invalid\n")
    );
    assert!(json(&state, p, "v-list-database", &["bob", "bob_wp"]).await["bob_wp"].is_object());
    ok(
        &state,
        p,
        "v-change-database-password",
        &["bob", "bob_wp", "Db-pass-2"],
    )
    .await;
    ok(&state, p, "v-delete-database", &["bob", "bob_wp"]).await;
    let out = sh(&state, p, "v-delete-database", &["bob", "bob_wp"]).await;
    assert_eq!(
        (out.exit, out.stdout.as_str()),
        (3, "Error: db database bob_wp doesn't exist\n")
    );
    let out = sh(&state, p, "v-add-database", &["bob", "wp", "wpuser"]).await;
    assert_eq!(
        out.stdout,
        "Usage: v-add-database USER DATABASE DBUSER DBPASS [TYPE] [HOST] [CHARSET]\n"
    );
}

#[tokio::test]
async fn cron_jobs_keep_quotes_and_number_themselves() {
    let (state, p) = panel().await;
    add_bob(&state, p).await;
    ok(
        &state,
        p,
        "v-add-cron-job",
        &["bob", "*/5", "*", "*", "*", "*", "echo 'hi' > /dev/null"],
    )
    .await;
    ok(
        &state,
        p,
        "v-add-cron-job",
        &["bob", "0", "3", "*", "*", "1-5", "backup", "7"],
    )
    .await;
    ok(
        &state,
        p,
        "v-add-cron-job",
        &["bob", "0", "4", "*", "*", "*", "later"],
    )
    .await;
    let text = ok(&state, p, "v-list-cron-jobs", &["bob", "json"]).await;
    assert_eq!(
        keys_in_order(&text, "1"),
        [
            "MIN",
            "HOUR",
            "DAY",
            "MONTH",
            "WDAY",
            "CMD",
            "JOB",
            "SUSPENDED",
            "TIME",
            "DATE"
        ]
    );
    let j: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(j["1"]["CMD"], "echo 'hi' > /dev/null");
    assert_eq!(j["7"]["WDAY"], "1-5");
    assert_eq!(j["8"]["CMD"], "later");
    let stored = crate::store::test_support::table_text(&state.db, "hestia_objects").await;
    assert!(stored.contains("%quote%hi%quote%"));
    let out = sh(
        &state,
        p,
        "v-add-cron-job",
        &["bob", "0", "3", "*", "*", "*", "x", "7"],
    )
    .await;
    assert_eq!(
        (out.exit, out.stdout.as_str()),
        (4, "Error: JOB=7 already exists\n")
    );
    let out = sh(
        &state,
        p,
        "v-add-cron-job",
        &["bob", "61x", "3", "*", "*", "*", "x"],
    )
    .await;
    assert_eq!(out.stdout, "Error: invalid min format :: 61x\n");
    ok(&state, p, "v-delete-cron-job", &["bob", "7"]).await;
    let out = sh(&state, p, "v-delete-cron-job", &["bob", "7"]).await;
    assert_eq!(
        (out.exit, out.stdout.as_str()),
        (3, "Error: cron job 7 doesn't exist\n")
    );
}

// ---------------------------------------------------------------- system

#[tokio::test]
async fn sys_info_and_config_are_single_wrappers() {
    let (state, p) = panel().await;
    let info = ok(&state, p, "v-list-sys-info", &["json"]).await;
    assert_eq!(
        keys_in_order(&info, "sysinfo"),
        [
            "HOSTNAME",
            "OS",
            "VERSION",
            "ARCH",
            "HESTIA",
            "RELEASE",
            "UPTIME",
            "LOADAVERAGE"
        ]
    );
    let v: serde_json::Value = serde_json::from_str(&info).expect("json");
    assert_eq!(v["sysinfo"]["HOSTNAME"], "panel.example.com");
    assert_eq!(v["sysinfo"]["HESTIA"], "1.10.3");
    let plain = ok(&state, p, "v-list-sys-info", &["plain"]).await;
    assert!(plain.starts_with("panel.example.com\tDebian\t"));
    let config = json(&state, p, "v-list-sys-config", &[]).await;
    let c = &config["config"];
    assert_eq!(c["API"], "yes");
    assert_eq!(c["API_SYSTEM"], "1");
    assert_eq!(c["API_ALLOWED_IP"], "");
    assert_eq!(c["ROOT_USER"], "admin");
    assert_eq!(c["VERSION"], "1.10.3");
    assert!(c.as_object().expect("config").len() > 90);
}

#[tokio::test]
async fn services_ips_and_backups() {
    let (state, p) = panel().await;
    add_bob(&state, p).await;
    ok(&state, p, "v-add-web-domain", &["bob", "bob.com"]).await;
    let s = ok(&state, p, "v-list-sys-services", &["json"]).await;
    assert_eq!(
        keys_in_order(&s, "nginx"),
        ["SYSTEM", "STATE", "CPU", "MEM", "RTIME"]
    );
    ok(&state, p, "v-restart-service", &["nginx"]).await;
    let out = sh(&state, p, "v-restart-service", &["nope"]).await;
    assert_eq!(
        (out.exit, out.stdout.as_str()),
        (20, "Error: Restart of nope failed.\n")
    );
    let ips = ok(&state, p, "v-list-sys-ips", &["json"]).await;
    assert_eq!(keys_in_order(&ips, IP).len(), 10);
    let v: serde_json::Value = serde_json::from_str(&ips).expect("json");
    assert_eq!(v[IP]["U_WEB_DOMAINS"], "1");
    assert_eq!(v[IP]["U_SYS_USERS"], "bob");
    let mine = ok(&state, p, "v-list-user-ips", &["bob", "json"]).await;
    assert_eq!(keys_in_order(&mine, IP), ["OWNER", "STATUS", "NAME", "NAT"]);
    let log = ok(&state, p, "v-backup-user", &["bob", "no"]).await;
    assert!(log.contains("Backup of bob completed"));
    let b = ok(&state, p, "v-list-user-backups", &["bob", "json"]).await;
    let v: serde_json::Value = serde_json::from_str(&b).expect("json");
    let (file, row) = v.as_object().expect("backups").iter().next().expect("one");
    assert!(file.starts_with("bob.") && file.ends_with(".tar"));
    assert_eq!(row["WEB"], "bob.com");
    assert_eq!(row["TYPE"], "local");
    let u = json(&state, p, "v-list-user", &["bob"]).await;
    assert_eq!(u["bob"]["U_BACKUPS"], "1");
}

#[tokio::test]
async fn other_commands_answer_11_naming_themselves() {
    let (state, p) = panel().await;
    let out = sh(
        &state,
        p,
        "v-add-firewall-rule",
        &["ACCEPT", "1.2.3.4", "22"],
    )
    .await;
    assert_eq!(
        (out.exit, out.stdout.as_str()),
        (
            11,
            "Error: v-add-firewall-rule is not available in hostkey-emu\n"
        )
    );
    let out = sh(&state, p, "v-update-dns-record", &[]).await;
    assert_eq!(out.exit, 11);
    assert!(out.stdout.contains("v-update-dns-record"));
    // Every modelled command is in the command list (or is the pseudo-command).
    for cmd in MODELLED {
        assert!(
            commands::lookup(cmd).is_some() || cmd == "v-make-tmp-file",
            "{cmd} is not a Hestia command"
        );
    }
}

#[tokio::test]
async fn a_dkim_mail_domain_publishes_its_key_in_the_users_zone() {
    let (state, p) = panel().await;
    add_bob(&state, p).await;
    ok(&state, p, "v-add-domain", &["bob", "bob.com"]).await;
    let r = json(&state, p, "v-list-dns-records", &["bob", "bob.com"]).await;
    assert_eq!(r["16"]["RECORD"], "mail._domainkey");
    assert_eq!(r["16"]["TYPE"], "TXT");
    let key = r["16"]["VALUE"].as_str().expect("value");
    assert!(
        key.starts_with("\"v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"),
        "{key}"
    );
    assert!(key.ends_with("IDAQAB\""), "{key}");
    assert_eq!(r["17"]["VALUE"], "\"t=y; o=~;\"");
    ok(&state, p, "v-delete-mail-domain", &["bob", "bob.com"]).await;
    let r = json(&state, p, "v-list-dns-records", &["bob", "bob.com"]).await;
    assert_eq!(r.as_object().expect("records").len(), 15);
    // Without DKIM, or without the zone, no records.
    ok(
        &state,
        p,
        "v-add-mail-domain",
        &["bob", "bob.com", "yes", "yes", "no"],
    )
    .await;
    ok(&state, p, "v-add-mail-domain", &["bob", "nozone.com"]).await;
    let r = json(&state, p, "v-list-dns-records", &["bob", "bob.com"]).await;
    assert_eq!(r.as_object().expect("records").len(), 15);
}
