//! The system commands (hestia-protocol.md B #43-47, #49): system info, the configuration
//! (with the panel's API switches), services, IPs, user backups, and the `v-make-tmp-file`
//! pseudo-command whose files later password arguments may name (A.2).

use super::{check, code, fail, field, listed, pick, user, Cmd, Output, Step};
use crate::domain::hestia::listing::{Field, Listing, Row};
use crate::domain::hestia::{self as rules};
use crate::store::hestia::{self as objects, Attrs};
use crate::store::{self};

/// `v-make-tmp-file CONTENT NAME` (A.2): `/tmp/<basename NAME>` holds CONTENT and a newline.
pub(super) async fn make_tmp_file(c: &Cmd<'_>) -> Step<Output> {
    c.need(2)?;
    let name = c.arg(2).rsplit('/').next().unwrap_or("");
    check(!name.is_empty() && name != "..", "name", c.arg(2))?;
    c.state
        .hestia_tmp
        .write(c.panel_id, name, &format!("{}\n", c.arg(1)));
    Ok(Output::ok())
}

/// Minutes the panel has been up (since it was installed, on the emulator's clock).
async fn uptime_minutes(c: &Cmd<'_>) -> Step<i64> {
    let p = c.panel().await?;
    Ok(((c.now - p.created_at) / 60).max(0))
}

/// `v-list-sys-info [FORMAT]` (B #43): `{"sysinfo":{...}}`.
pub(super) async fn info(c: &Cmd<'_>) -> Step<Output> {
    let p = c.panel().await?;
    let up = uptime_minutes(c).await?;
    let fields: Vec<(&'static str, Field)> = vec![
        ("HOSTNAME", p.hostname.into()),
        ("OS", "Debian".into()),
        ("VERSION", "12".into()),
        ("ARCH", "x86_64".into()),
        ("HESTIA", p.version.into()),
        ("RELEASE", "release".into()),
        ("UPTIME", up.to_string().into()),
        ("LOADAVERAGE", "0.08 / 0.03 / 0.01".into()),
    ];
    let how = Listing {
        key: "sysinfo",
        keyed: false,
        shell: &[],
    };
    Ok(listed(c.format(1), &how, &[("sysinfo".into(), fields)]))
}

/// `v-list-sys-config [FORMAT]` (B #44): `{"config":{...}}`, the keys of Hestia's
/// `hestia.conf` in the script's order; API, API_ALLOWED_IP, API_SYSTEM, ROOT_USER and
/// VERSION are the panel's own.
pub(super) async fn config(c: &Cmd<'_>) -> Step<Output> {
    let p = c.panel().await?;
    let from = format!("noreply@{}", p.hostname);
    let pairs: Vec<(&'static str, String)> = vec![
        ("ANTISPAM_SYSTEM", "spamassassin".into()),
        ("ANTIVIRUS_SYSTEM", "clamav-daemon".into()),
        ("API", p.api.clone()),
        ("API_ALLOWED_IP", p.api_allowed_ip.clone()),
        ("API_SYSTEM", p.api_system.clone()),
        ("APP_NAME", "Hestia Control Panel".into()),
        ("BACKEND_PORT", "8083".into()),
        ("BACKUP", "/backup".into()),
        ("BACKUP_GZIP", "4".into()),
        ("BACKUP_INCREMENTAL", "no".into()),
        ("BACKUP_MODE", "zstd".into()),
        ("BACKUP_SYSTEM", "local".into()),
        ("CRON_SYSTEM", "cron".into()),
        ("DB_PGA_ALIAS", String::new()),
        ("DB_PMA_ALIAS", "phpmyadmin".into()),
        ("DB_SYSTEM", "mysql".into()),
        ("DEBUG_MODE", "false".into()),
        ("DEMO_MODE", "no".into()),
        ("DISABLE_IP_CHECK", "no".into()),
        ("DISK_QUOTA", "no".into()),
        ("RESOURCES_LIMIT", "no".into()),
        ("DNS_CLUSTER", String::new()),
        ("DNS_CLUSTER_SYSTEM", String::new()),
        ("DNS_SYSTEM", "bind9".into()),
        ("ENFORCE_SUBDOMAIN_OWNERSHIP", "yes".into()),
        ("FILE_MANAGER", "true".into()),
        ("FIREWALL_EXTENSION", "fail2ban".into()),
        ("FIREWALL_SYSTEM", "iptables".into()),
        ("FROM_EMAIL", from),
        ("FROM_NAME", "Hestia Control Panel".into()),
        ("FTP_SYSTEM", "vsftpd".into()),
        ("HIDE_DOCS", "no".into()),
        ("IMAP_SYSTEM", "dovecot".into()),
        ("INACTIVE_SESSION_TIMEOUT", "60".into()),
        ("LANGUAGE", "en".into()),
        ("LOGIN_STYLE", "default".into()),
        ("MAIL_SYSTEM", "exim4".into()),
        ("PHPMYADMIN_KEY", String::new()),
        ("PLUGIN_APP_INSTALLER", "true".into()),
        ("PLUGIN_FILE_MANAGER", "true".into()),
        ("POLICY_BACKUP_SUSPENDED_USERS", "no".into()),
        ("POLICY_CSRF_STRICTNESS", "1".into()),
        ("POLICY_SYNC_ERROR_DOCUMENTS", "yes".into()),
        ("POLICY_SYNC_SKELETON", "yes".into()),
        ("POLICY_SYSTEM_ENABLE_BACON", "no".into()),
        ("POLICY_SYSTEM_HIDE_ADMIN", "no".into()),
        ("POLICY_SYSTEM_HIDE_SERVICES", "no".into()),
        ("POLICY_SYSTEM_PASSWORD_RESET", "yes".into()),
        ("POLICY_SYSTEM_PROTECTED_ADMIN", "no".into()),
        ("POLICY_USER_CHANGE_THEME", "yes".into()),
        ("POLICY_USER_DELETE_LOGS", "yes".into()),
        ("POLICY_USER_EDIT_DETAILS", "yes".into()),
        ("POLICY_USER_EDIT_DNS_TEMPLATES", "yes".into()),
        ("POLICY_USER_EDIT_WEB_TEMPLATES", "no".into()),
        ("POLICY_USER_EDIT_BACKEND_TEMPLATES", "no".into()),
        ("POLICY_USER_EDIT_PROXY_TEMPLATES", "no".into()),
        ("POLICY_USER_VIEW_LOGS", "yes".into()),
        ("POLICY_USER_VIEW_SUSPENDED", "no".into()),
        ("PROXY_PORT", "80".into()),
        ("PROXY_SSL_PORT", "443".into()),
        ("PROXY_SYSTEM", String::new()),
        ("RELEASE_BRANCH", "release".into()),
        ("REPOSITORY", "apt.hestiacp.com".into()),
        ("ROOT_USER", p.root_user.clone()),
        ("SERVER_SMTP_ADDR", String::new()),
        ("SERVER_SMTP_HOST", String::new()),
        ("SERVER_SMTP_PASSWD", String::new()),
        ("SERVER_SMTP_PORT", String::new()),
        ("SERVER_SMTP_SECURITY", String::new()),
        ("SERVER_SMTP_USER", String::new()),
        ("SMTP_RELAY", "false".into()),
        ("SMTP_RELAY_HOST", String::new()),
        ("SMTP_RELAY_PORT", String::new()),
        ("SMTP_RELAY_USER", String::new()),
        ("STATS_SYSTEM", "awstats".into()),
        ("SUBJECT_EMAIL", "{{subject}}".into()),
        ("SUPPORT_DNSSEC", "yes".into()),
        ("THEME", "dark".into()),
        ("TITLE", "{{appname}}".into()),
        ("UPDATE_AVAILABLE", "no".into()),
        ("UPGRADE_SEND_EMAIL", "true".into()),
        ("UPGRADE_SEND_EMAIL_LOG", "false".into()),
        ("USE_SERVER_SMTP", "false".into()),
        ("VERSION", p.version.clone()),
        ("WEBMAIL_ALIAS", "webmail".into()),
        ("WEBMAIL_SYSTEM", "roundcube".into()),
        ("WEB_BACKEND", "php-fpm".into()),
        ("WEB_PORT", "80".into()),
        ("WEB_RGROUPS", "www-data".into()),
        ("WEB_SSL", "openssl".into()),
        ("WEB_SSL_PORT", "443".into()),
        ("WEB_SYSTEM", "nginx".into()),
        ("WEB_TERMINAL", "false".into()),
        ("WEB_TERMINAL_PORT", "8085".into()),
    ];
    let fields: Vec<(&'static str, Field)> = pairs
        .into_iter()
        .map(|(k, v)| (k, Field::Text(v)))
        .collect();
    let how = Listing {
        key: "config",
        keyed: false,
        shell: &[
            "WEB_SYSTEM",
            "WEB_BACKEND",
            "MAIL_SYSTEM",
            "DB_SYSTEM",
            "DNS_SYSTEM",
            "VERSION",
            "API",
            "API_ALLOWED_IP",
        ],
    };
    Ok(listed(c.format(1), &how, &[("config".into(), fields)]))
}

/// `v-list-sys-services [FORMAT]` (B #45): every service running since the panel started.
pub(super) async fn services(c: &Cmd<'_>) -> Step<Output> {
    let up = uptime_minutes(c).await?;
    let rows: Vec<Row> = rules::SERVICES
        .iter()
        .map(|(name, system)| {
            (
                (*name).to_owned(),
                vec![
                    ("SYSTEM", (*system).into()),
                    ("STATE", "running".into()),
                    ("CPU", "0".into()),
                    ("MEM", (8 + rules::spread(name, 120)).to_string().into()),
                    ("RTIME", up.to_string().into()),
                ],
            )
        })
        .collect();
    let how = Listing {
        key: "NAME",
        keyed: true,
        shell: &["STATE", "CPU", "MEM", "RTIME"],
    };
    Ok(listed(c.format(1), &how, &rows))
}

/// `v-restart-service SERVICE [RESTART]` (B #45): a known service restarts at once.
pub(super) async fn restart(c: &Cmd<'_>) -> Step<Output> {
    c.need(1)?;
    let service = c.arg(1);
    if !rules::SERVICES.iter().any(|(n, _)| *n == service) {
        return Err(fail(
            code::E_RESTART,
            format!("Restart of {service} failed."),
        ));
    }
    Ok(Output::ok())
}

/// `v-list-sys-ips [FORMAT]` / `v-list-user-ips USER [FORMAT]` (B #46): the panel's IPs
/// (the server's address), with the users and web domains on each.
pub(super) async fn ips(c: &Cmd<'_>, of_user: Option<&str>) -> Step<Output> {
    if of_user.is_some() {
        c.need(1)?;
        let name = c.arg(1);
        check(rules::valid_user(name), "user", name)?;
        let mut conn = c.state.db.acquire().await?;
        user(&mut conn, c, name).await?;
    }
    let ips = objects::list(&c.state.db, c.place("ip", "", "")).await?;
    let webs = objects::of_kind(&c.state.db, c.panel_id, "web").await?;
    let mut rows: Vec<Row> = Vec::new();
    for ip in &ips {
        let mut a = ip.attrs();
        if let Some(u) = of_user {
            if field(&a, "STATUS") != "shared" && field(&a, "OWNER") != u {
                continue;
            }
        }
        let on: Vec<_> = webs
            .iter()
            .filter(|w| field(&w.attrs(), "IP") == ip.name)
            .collect();
        let mut users: Vec<&str> = on.iter().map(|w| w.owner.as_str()).collect();
        users.dedup();
        a.insert("U_SYS_USERS".into(), users.join(","));
        a.insert("U_WEB_DOMAINS".into(), on.len().to_string());
        let keys: &[&'static str] = if of_user.is_some() {
            &["OWNER", "STATUS", "NAME", "NAT"]
        } else {
            &[
                "OWNER",
                "STATUS",
                "NAME",
                "U_SYS_USERS",
                "U_WEB_DOMAINS",
                "INTERFACE",
                "NETMASK",
                "NAT",
                "TIME",
                "DATE",
            ]
        };
        rows.push((ip.name.clone(), pick(&a, keys)));
    }
    let how = Listing {
        key: "IP",
        keyed: true,
        shell: &["NETMASK", "NAT", "STATUS", "U_WEB_DOMAINS"],
    };
    Ok(listed(
        c.format(if of_user.is_some() { 2 } else { 1 }),
        &how,
        &rows,
    ))
}

/// `v-backup-user USER NOTIFY` (B #47): a local backup of everything the user owns, named
/// `USER.YYYY-MM-DD_HH-MM-SS.tar`; the package's BACKUPS is how many are kept. Prints the
/// backup log, as the script does.
pub(super) async fn backup(c: &Cmd<'_>) -> Step<Output> {
    c.need(2)?;
    let name = c.arg(1);
    check(rules::valid_user(name), "user", name)?;
    let mut tx = store::begin_write(&c.state.db).await?;
    let u = user(&mut tx, c, name).await?;
    let owned = objects::owned(&mut *tx, c.panel_id, name).await?;
    let names = |kind: &str| {
        owned
            .iter()
            .filter(|o| o.kind == kind)
            .map(|o| o.name.clone())
            .collect::<Vec<_>>()
            .join(",")
    };
    let (t, d) = rules::time_and_date(c.now);
    let file = format!("{name}.{d}_{}.tar", t.replace(':', "-"));
    let at = c.place("backup", name, "");
    if objects::get(&mut *tx, at, &file).await?.is_some() {
        return Err(fail(
            code::E_EXISTS,
            format!("backup {file} already exists"),
        ));
    }
    let disk: u64 = owned
        .iter()
        .map(|o| field(&o.attrs(), "U_DISK").parse::<u64>().unwrap_or(0))
        .sum();
    let mut a = Attrs::new();
    for (k, v) in [
        ("TYPE", "local".to_owned()),
        ("SIZE", (disk + 1).to_string()),
        ("WEB", names("web")),
        ("DNS", names("dns")),
        ("MAIL", names("mail")),
        ("DB", names("db")),
        ("CRON", names("cron")),
        ("UDIR", String::new()),
        ("RUNTIME", "1".into()),
    ] {
        a.insert(k.into(), v);
    }
    c.stamp(&mut a);
    objects::insert(&mut *tx, at, &file, &a, None, c.now).await?;
    let keep = field(&u.attrs(), "BACKUPS")
        .parse::<usize>()
        .unwrap_or(1)
        .max(1);
    let all = objects::list(&mut *tx, at).await?;
    for old in all.iter().take(all.len().saturating_sub(keep)) {
        objects::delete(&mut *tx, old.id).await?;
    }
    tx.commit().await?;
    let stamp = format!("{d} {t}");
    Ok(Output {
        exit: 0,
        stdout: format!(
            "{stamp} System: Backup started\n{stamp} -- SUMMARY --\n{stamp} Backup file: {file}\n{stamp} Backup size: {} MB\n{stamp} Runtime: 1 minute\n{stamp} Backup of {name} completed\n",
            disk + 1
        ),
    })
}

/// `v-list-user-backups USER [FORMAT]` (B #47), oldest first.
pub(super) async fn backups(c: &Cmd<'_>) -> Step<Output> {
    c.need(1)?;
    let name = c.arg(1);
    check(rules::valid_user(name), "user", name)?;
    let mut conn = c.state.db.acquire().await?;
    user(&mut conn, c, name).await?;
    let list = objects::list(&mut *conn, c.place("backup", name, "")).await?;
    let rows: Vec<Row> = list
        .iter()
        .map(|b| {
            (
                b.name.clone(),
                pick(
                    &b.attrs(),
                    &[
                        "TYPE", "SIZE", "WEB", "DNS", "MAIL", "DB", "CRON", "UDIR", "RUNTIME",
                        "TIME", "DATE",
                    ],
                ),
            )
        })
        .collect();
    let how = Listing {
        key: "BACKUP",
        keyed: true,
        shell: &["TYPE", "SIZE", "TIME", "DATE"],
    };
    Ok(listed(c.format(2), &how, &rows))
}
