//! Users and packages (hestia-protocol.md B #1-14): add, delete, suspend, change password,
//! package, shell, contact and name, list users, a user, packages and stats, check a
//! password. A user's package limits are copied into the user when the package is given
//! (as `user.conf` holds them); its counters are counted from what it owns.

use super::{active_user, check, code, fail, field, listed, pick, user, within, Cmd, Output, Step};
use crate::domain::hestia::listing::{Field, Listing, Row};
use crate::domain::hestia::{self as rules};
use crate::store::hestia::{self as objects, Attrs, Object};
use crate::store::{self};

/// The package fields a user carries (`pkg_data` without TIME/DATE).
const PACKAGE_FIELDS: &[&str] = &[
    "WEB_TEMPLATE",
    "BACKEND_TEMPLATE",
    "PROXY_TEMPLATE",
    "DNS_TEMPLATE",
    "WEB_DOMAINS",
    "WEB_ALIASES",
    "DNS_DOMAINS",
    "DNS_RECORDS",
    "MAIL_DOMAINS",
    "MAIL_ACCOUNTS",
    "RATE_LIMIT",
    "DATABASES",
    "CRON_JOBS",
    "DISK_QUOTA",
    "CPU_QUOTA",
    "CPU_QUOTA_PERIOD",
    "MEMORY_LIMIT",
    "SWAP_LIMIT",
    "BANDWIDTH",
    "NS",
    "SHELL",
    "BACKUPS",
    "BACKUPS_INCREMENTAL",
];

/// `v-list-users` fields (B.1).
const LIST_USERS: &[&str] = &[
    "NAME",
    "PACKAGE",
    "WEB_TEMPLATE",
    "BACKEND_TEMPLATE",
    "PROXY_TEMPLATE",
    "DNS_TEMPLATE",
    "WEB_DOMAINS",
    "WEB_ALIASES",
    "DNS_DOMAINS",
    "DNS_RECORDS",
    "MAIL_DOMAINS",
    "MAIL_ACCOUNTS",
    "DATABASES",
    "CRON_JOBS",
    "DISK_QUOTA",
    "CPU_QUOTA",
    "CPU_QUOTA_PERIOD",
    "MEMORY_LIMIT",
    "SWAP_LIMIT",
    "BANDWIDTH",
    "NS",
    "SHELL",
    "BACKUPS",
    "CONTACT",
    "CRON_REPORTS",
    "RKEY",
    "ROLE",
    "SUSPENDED",
    "SUSPENDED_USERS",
    "SUSPENDED_WEB",
    "SUSPENDED_DNS",
    "SUSPENDED_MAIL",
    "SUSPENDED_DB",
    "SUSPENDED_CRON",
    "IP_AVAIL",
    "IP_OWNED",
    "U_USERS",
    "U_DISK",
    "U_DISK_DIRS",
    "U_DISK_WEB",
    "U_DISK_MAIL",
    "U_DISK_DB",
    "U_BANDWIDTH",
    "U_WEB_DOMAINS",
    "U_WEB_SSL",
    "U_WEB_ALIASES",
    "U_DNS_DOMAINS",
    "U_DNS_RECORDS",
    "U_MAIL_DOMAINS",
    "U_MAIL_DKIM",
    "U_MAIL_ACCOUNTS",
    "U_DATABASES",
    "U_CRON_JOBS",
    "U_BACKUPS",
    "LANGUAGE",
    "TIME",
    "DATE",
];

/// `v-list-user` fields (B.1).
const LIST_USER: &[&str] = &[
    "NAME",
    "PACKAGE",
    "WEB_TEMPLATE",
    "BACKEND_TEMPLATE",
    "PROXY_TEMPLATE",
    "DNS_TEMPLATE",
    "WEB_DOMAINS",
    "WEB_ALIASES",
    "DNS_DOMAINS",
    "DNS_RECORDS",
    "MAIL_DOMAINS",
    "MAIL_ACCOUNTS",
    "DATABASES",
    "CRON_JOBS",
    "DISK_QUOTA",
    "BANDWIDTH",
    "HOME",
    "NS",
    "SHELL",
    "BACKUPS",
    "CONTACT",
    "CRON_REPORTS",
    "RKEY",
    "TWOFA",
    "QRCODE",
    "ROLE",
    "SUSPENDED",
    "SUSPENDED_USERS",
    "SUSPENDED_WEB",
    "SUSPENDED_DNS",
    "SUSPENDED_MAIL",
    "SUSPENDED_DB",
    "SUSPENDED_CRON",
    "IP_AVAIL",
    "IP_OWNED",
    "U_USERS",
    "U_DISK",
    "U_DISK_DIRS",
    "U_DISK_WEB",
    "U_DISK_MAIL",
    "U_DISK_DB",
    "U_BANDWIDTH",
    "U_WEB_DOMAINS",
    "U_WEB_SSL",
    "U_WEB_ALIASES",
    "U_DNS_DOMAINS",
    "U_DNS_RECORDS",
    "U_MAIL_DOMAINS",
    "U_MAIL_DKIM",
    "U_MAIL_ACCOUNTS",
    "U_DATABASES",
    "U_CRON_JOBS",
    "U_BACKUPS",
    "BACKUPS_INCREMENTAL",
    "LANGUAGE",
    "THEME",
    "NOTIFICATIONS",
    "PREF_UI_SORT",
    "LOGIN_DISABLED",
    "LOGIN_USE_IPLIST",
    "LOGIN_ALLOW_IPS",
    "PHPCLI",
    "TIME",
    "DATE",
];

/// `v-list-user-stats` fields (B.1).
const STATS: &[&str] = &[
    "TIME",
    "PACKAGE",
    "IP_OWNED",
    "DISK_QUOTA",
    "U_DISK",
    "U_DISK_DIRS",
    "U_DISK_WEB",
    "U_DISK_MAIL",
    "U_DISK_DB",
    "BANDWIDTH",
    "U_BANDWIDTH",
    "U_WEB_DOMAINS",
    "U_WEB_SSL",
    "U_WEB_ALIASES",
    "U_DNS_DOMAINS",
    "U_DNS_RECORDS",
    "U_MAIL_DOMAINS",
    "U_MAIL_DKIM",
    "U_MAIL_ACCOUNTS",
    "U_DATABASES",
    "U_CRON_JOBS",
    "U_BACKUPS",
];

/// `v-list-user-packages` fields (B.1); `v-list-user-package` adds three.
const PACKAGES: &[&str] = &[
    "WEB_TEMPLATE",
    "PROXY_TEMPLATE",
    "DNS_TEMPLATE",
    "WEB_DOMAINS",
    "WEB_ALIASES",
    "DNS_DOMAINS",
    "DNS_RECORDS",
    "MAIL_DOMAINS",
    "MAIL_ACCOUNTS",
    "DATABASES",
    "CRON_JOBS",
    "DISK_QUOTA",
    "CPU_QUOTA",
    "CPU_QUOTA_PERIOD",
    "MEMORY_LIMIT",
    "SWAP_LIMIT",
    "BANDWIDTH",
    "NS",
    "SHELL",
    "BACKUPS",
    "TIME",
    "DATE",
];

const PACKAGE: &[&str] = &[
    "WEB_TEMPLATE",
    "BACKEND_TEMPLATE",
    "PROXY_TEMPLATE",
    "DNS_TEMPLATE",
    "WEB_DOMAINS",
    "WEB_ALIASES",
    "DNS_DOMAINS",
    "DNS_RECORDS",
    "MAIL_DOMAINS",
    "MAIL_ACCOUNTS",
    "RATE_LIMIT",
    "DATABASES",
    "CRON_JOBS",
    "DISK_QUOTA",
    "CPU_QUOTA",
    "CPU_QUOTA_PERIOD",
    "MEMORY_LIMIT",
    "SWAP_LIMIT",
    "BANDWIDTH",
    "NS",
    "SHELL",
    "BACKUPS",
    "BACKUPS_INCREMENTAL",
    "TIME",
    "DATE",
];

/// Shells a user may get (`/etc/shells` of a Debian install, by name).
const SHELLS: &[&str] = &["nologin", "bash", "sh", "rbash", "dash", "zsh"];

fn keys(list: &'static [&'static str]) -> impl Iterator<Item = &'static str> {
    list.iter().copied().filter(|k| !k.is_empty())
}

/// A new user's `user.conf` fields (v-add-user's "Filling user config").
pub(super) fn new_user_attrs(
    name: &str,
    package: &str,
    pkg: &Attrs,
    email: &str,
    role: &str,
    now: i64,
) -> Attrs {
    let mut a = Attrs::new();
    a.insert("NAME".into(), name.into());
    a.insert("PACKAGE".into(), package.into());
    for &k in PACKAGE_FIELDS {
        a.insert(k.into(), field(pkg, k));
    }
    for (k, v) in [
        ("CONTACT", email),
        ("CRON_REPORTS", "yes"),
        ("TWOFA", ""),
        ("QRCODE", ""),
        ("PHPCLI", ""),
        ("ROLE", role),
        ("SUSPENDED", "no"),
        ("LANGUAGE", ""),
        ("THEME", ""),
        ("NOTIFICATIONS", "no"),
        ("PREF_UI_SORT", "name"),
        ("LOGIN_DISABLED", "no"),
        ("LOGIN_USE_IPLIST", "no"),
        ("LOGIN_ALLOW_IPS", ""),
    ] {
        a.insert(k.into(), v.into());
    }
    a.insert("RKEY".into(), rkey());
    let (t, d) = rules::time_and_date(now);
    a.insert("TIME".into(), t);
    a.insert("DATE".into(), d);
    a
}

/// A fresh RKEY (`generate_password`: 10 letters and digits).
fn rkey() -> String {
    use rand::Rng;
    const SET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    (0..10)
        .map(|_| char::from(SET[rng.gen_range(0..SET.len())]))
        .collect()
}

/// The counters of a user, counted from what it owns (`U_*`, `SUSPENDED_*`, `IP_*`).
pub(super) fn counters(owned: &[Object], users: usize, root: bool) -> Attrs {
    let count = |kind: &str| of(owned, kind).count();
    let yes = |kind: &str, key: &str| {
        of(owned, kind)
            .filter(|o| field(&o.attrs(), key) == "yes")
            .count()
    };
    let sum = |kind: &str, key: &str| -> u64 {
        of(owned, kind)
            .map(|o| field(&o.attrs(), key).parse::<u64>().unwrap_or(0))
            .sum()
    };
    let aliases: usize = of(owned, "web")
        .map(|o| {
            field(&o.attrs(), "ALIAS")
                .split(',')
                .filter(|s| !s.is_empty())
                .count()
        })
        .sum();
    let (web, mail, db) = (
        sum("web", "U_DISK"),
        sum("mail", "U_DISK"),
        sum("db", "U_DISK"),
    );
    let dirs = if owned.is_empty() { 0 } else { 1 };
    let mut c = Attrs::new();
    let mut put = |k: &str, v: String| {
        c.insert(k.to_owned(), v);
    };
    put("U_USERS", if root { users } else { 0 }.to_string());
    put("U_DISK", (web + mail + db + dirs).to_string());
    put("U_DISK_DIRS", dirs.to_string());
    put("U_DISK_WEB", web.to_string());
    put("U_DISK_MAIL", mail.to_string());
    put("U_DISK_DB", db.to_string());
    put("U_BANDWIDTH", sum("web", "U_BANDWIDTH").to_string());
    put("U_WEB_DOMAINS", count("web").to_string());
    put("U_WEB_SSL", yes("web", "SSL").to_string());
    put("U_WEB_ALIASES", aliases.to_string());
    put("U_DNS_DOMAINS", count("dns").to_string());
    put("U_DNS_RECORDS", count("record").to_string());
    put("U_MAIL_DOMAINS", count("mail").to_string());
    put("U_MAIL_DKIM", yes("mail", "DKIM").to_string());
    put("U_MAIL_ACCOUNTS", count("account").to_string());
    put("U_DATABASES", count("db").to_string());
    put("U_CRON_JOBS", count("cron").to_string());
    put("U_BACKUPS", count("backup").to_string());
    put("SUSPENDED_USERS", "0".into());
    put("SUSPENDED_WEB", yes("web", "SUSPENDED").to_string());
    put("SUSPENDED_DNS", yes("dns", "SUSPENDED").to_string());
    put("SUSPENDED_MAIL", yes("mail", "SUSPENDED").to_string());
    put("SUSPENDED_DB", yes("db", "SUSPENDED").to_string());
    put("SUSPENDED_CRON", yes("cron", "SUSPENDED").to_string());
    put("IP_OWNED", if root { "1" } else { "0" }.into());
    put("IP_AVAIL", if root { "0" } else { "1" }.into());
    c
}

/// The objects of one kind.
fn of<'a>(owned: &'a [Object], kind: &'a str) -> impl Iterator<Item = &'a Object> + 'a {
    owned.iter().filter(move |o| o.kind == kind)
}

/// A user's fields for listing: its own and its counters, HOME.
async fn full(c: &Cmd<'_>, u: &Object, users: usize, root_user: &str) -> Step<Attrs> {
    let owned = objects::owned(&c.state.db, c.panel_id, &u.name).await?;
    let mut a = u.attrs();
    a.extend(counters(&owned, users, u.name == root_user));
    a.insert("HOME".into(), format!("/home/{}", u.name));
    Ok(a)
}

const USER_LISTING: Listing = Listing {
    key: "USER",
    keyed: true,
    shell: &[
        "PACKAGE",
        "U_WEB_DOMAINS",
        "U_DNS_DOMAINS",
        "U_MAIL_DOMAINS",
        "U_DATABASES",
        "U_DISK",
        "U_BANDWIDTH",
        "SUSPENDED",
        "DATE",
    ],
};

fn row(name: &str, a: &Attrs, list: &'static [&'static str]) -> Row {
    (
        name.to_owned(),
        keys(list).map(|k| (k, Field::Text(field(a, k)))).collect(),
    )
}

/// `v-add-user USER PASSWORD EMAIL [PACKAGE] [NAME] [LASTNAME]` (B #3).
pub(super) async fn add(c: &Cmd<'_>) -> Step<Output> {
    c.need(3)?;
    let (name, email) = (c.arg(1), c.arg(3));
    let package = c.or(4, "default");
    let mut full_name = c.arg(5).to_owned();
    if !c.arg(6).is_empty() {
        // LASTNAME is appended for the WHMCS/Blesta Vesta modules.
        full_name = format!("{full_name} {}", c.arg(6));
    }
    check(rules::valid_user(name), "user", name)?;
    check(rules::valid_email(email), "email", email)?;
    check(rules::valid_name(package), "package", package)?;
    check(rules::valid_text(&full_name), "name", &full_name)?;
    if rules::RESERVED_USERS.contains(&name.to_lowercase().as_str()) {
        return Err(fail(
            code::E_INVALID,
            format!(
                "The user name '{name}' is reserved and cannot be used. List of reserved names: {}",
                rules::RESERVED_USERS.join(" ")
            ),
        ));
    }
    let pw = c.password(2)?;
    let hash = c.hash(&pw).await?;
    let mut tx = store::begin_write(&c.state.db).await?;
    if objects::get(&mut *tx, c.place("user", "", ""), name)
        .await?
        .is_some()
    {
        return Err(fail(code::E_EXISTS, format!("user {name} exists")));
    }
    let pkg = objects::get(&mut *tx, c.place("package", "", ""), package)
        .await?
        .ok_or_else(|| fail(code::E_NOTEXIST, format!("package {package} doesn't exist")))?;
    let attrs = new_user_attrs(&full_name, package, &pkg.attrs(), email, "user", c.now);
    objects::insert(
        &mut *tx,
        c.place("user", "", ""),
        name,
        &attrs,
        Some(&hash),
        c.now,
    )
    .await?;
    tx.commit().await?;
    Ok(Output::ok())
}

/// The root user's name (`ROOT_USER`).
async fn root(c: &Cmd<'_>) -> Step<String> {
    Ok(c.panel().await?.root_user)
}

/// `v-delete-user USER [RESTART]` (B #4): the user and everything it owns.
pub(super) async fn delete(c: &Cmd<'_>) -> Step<Output> {
    c.need(1)?;
    let name = c.arg(1);
    check(rules::valid_user(name), "user", name)?;
    let root = root(c).await?;
    let mut tx = store::begin_write(&c.state.db).await?;
    let u = user(&mut tx, c, name).await?;
    if name == root {
        return Err(fail(
            code::E_FORBIDEN,
            format!("user {name} is the ROOT_USER and can not be deleted"),
        ));
    }
    objects::delete_owned(&mut *tx, c.panel_id, name).await?;
    objects::delete(&mut *tx, u.id).await?;
    tx.commit().await?;
    Ok(Output::ok())
}

/// `v-suspend-user USER [RESTART]` / `v-unsuspend-user` (B #5, #6): the user and its web,
/// DNS and mail domains, databases and cron jobs.
pub(super) async fn suspend(c: &Cmd<'_>, on: bool) -> Step<Output> {
    c.need(1)?;
    let name = c.arg(1);
    check(rules::valid_user(name), "user", name)?;
    let root = root(c).await?;
    let mut tx = store::begin_write(&c.state.db).await?;
    let u = user(&mut tx, c, name).await?;
    if on && name == root {
        return Err(fail(
            code::E_FORBIDEN,
            format!("user {name} is the ROOT_USER and can not be suspended"),
        ));
    }
    super::set_suspended(&mut tx, &u, "user", on).await?;
    for o in objects::owned(&mut *tx, c.panel_id, name).await? {
        if ["web", "dns", "mail", "db", "cron"].contains(&o.kind.as_str()) {
            let mut a = o.attrs();
            a.insert("SUSPENDED".into(), if on { "yes" } else { "no" }.into());
            objects::set_attrs(&mut *tx, o.id, &a).await?;
        }
    }
    tx.commit().await?;
    Ok(Output::ok())
}

/// `v-change-user-password USER PASSWORD` (B #7): a new hash and a new RKEY.
pub(super) async fn change_password(c: &Cmd<'_>) -> Step<Output> {
    c.need(2)?;
    let name = c.arg(1);
    check(rules::valid_user(name), "user", name)?;
    let pw = c.password(2)?;
    let hash = c.hash(&pw).await?;
    let mut tx = store::begin_write(&c.state.db).await?;
    let u = user(&mut tx, c, name).await?;
    let mut a = u.attrs();
    a.insert("RKEY".into(), rkey());
    objects::set_attrs(&mut *tx, u.id, &a).await?;
    objects::set_secret(&mut *tx, u.id, &hash).await?;
    tx.commit().await?;
    Ok(Output::ok())
}

/// Changes some fields of a user (after `check`ing its arguments).
async fn change(c: &Cmd<'_>, name: &str, fields: &[(&str, String)]) -> Step<Output> {
    let mut tx = store::begin_write(&c.state.db).await?;
    let u = user(&mut tx, c, name).await?;
    let mut a = u.attrs();
    for (k, v) in fields {
        a.insert((*k).to_owned(), v.clone());
    }
    objects::set_attrs(&mut *tx, u.id, &a).await?;
    tx.commit().await?;
    Ok(Output::ok())
}

/// `v-change-user-package USER PACKAGE [FORCE]` (B #8): the package's limits replace the
/// user's.
pub(super) async fn change_package(c: &Cmd<'_>) -> Step<Output> {
    c.need(2)?;
    let (name, package) = (c.arg(1), c.arg(2));
    check(rules::valid_user(name), "user", name)?;
    check(rules::valid_name(package), "package", package)?;
    let mut tx = store::begin_write(&c.state.db).await?;
    let u = user(&mut tx, c, name).await?;
    let pkg = objects::get(&mut *tx, c.place("package", "", ""), package)
        .await?
        .ok_or_else(|| fail(code::E_NOTEXIST, format!("package {package} doesn't exist")))?;
    let p = pkg.attrs();
    let mut a = u.attrs();
    a.insert("PACKAGE".into(), package.into());
    for &k in PACKAGE_FIELDS {
        a.insert(k.into(), field(&p, k));
    }
    objects::set_attrs(&mut *tx, u.id, &a).await?;
    tx.commit().await?;
    Ok(Output::ok())
}

/// `v-change-user-shell USER SHELL` (B #9).
pub(super) async fn change_shell(c: &Cmd<'_>) -> Step<Output> {
    c.need(2)?;
    let (name, shell) = (c.arg(1), c.arg(2));
    check(rules::valid_user(name), "user", name)?;
    if !SHELLS.contains(&shell) {
        return Err(fail(code::E_INVALID, format!("shell {shell} is not valid")));
    }
    change(c, name, &[("SHELL", shell.to_owned())]).await
}

/// `v-change-user-contact USER EMAIL` (B #10).
pub(super) async fn change_contact(c: &Cmd<'_>) -> Step<Output> {
    c.need(2)?;
    let (name, email) = (c.arg(1), c.arg(2));
    check(rules::valid_user(name), "user", name)?;
    check(rules::valid_email(email), "email", email)?;
    change(c, name, &[("CONTACT", email.to_owned())]).await
}

/// `v-change-user-name USER NAME [LAST_NAME]` (B #11).
pub(super) async fn change_name(c: &Cmd<'_>) -> Step<Output> {
    c.need(2)?;
    let name = c.arg(1);
    let mut full_name = c.arg(2).to_owned();
    if !c.arg(3).is_empty() {
        full_name = format!("{full_name} {}", c.arg(3));
    }
    check(rules::valid_user(name), "user", name)?;
    check(rules::valid_text(&full_name), "name", &full_name)?;
    change(c, name, &[("NAME", full_name)]).await
}

/// `v-list-users [FORMAT]` (B #1): every user, oldest first; `list` prints names only.
pub(super) async fn list(c: &Cmd<'_>) -> Step<Output> {
    let root = root(c).await?;
    let users = objects::list(&c.state.db, c.place("user", "", "")).await?;
    if c.opt(1) == Some("list") {
        let mut out = String::new();
        for u in &users {
            out.push_str(&u.name);
            out.push('\n');
        }
        return Ok(Output {
            exit: 0,
            stdout: out,
        });
    }
    let format = c.format(1);
    let mut rows = Vec::new();
    for u in &users {
        let a = full(c, u, users.len(), &root).await?;
        rows.push(row(&u.name, &a, LIST_USERS));
    }
    Ok(listed(format, &USER_LISTING, &rows))
}

/// `v-list-user USER [FORMAT]` (B #2).
pub(super) async fn show(c: &Cmd<'_>) -> Step<Output> {
    c.need(1)?;
    let name = c.arg(1);
    check(rules::valid_user(name), "user", name)?;
    let root = root(c).await?;
    let mut conn = c.state.db.acquire().await?;
    let u = user(&mut conn, c, name).await?;
    drop(conn);
    let users = objects::list(&c.state.db, c.place("user", "", ""))
        .await?
        .len();
    let a = full(c, &u, users, &root).await?;
    let how = Listing {
        shell: &[],
        ..USER_LISTING
    };
    Ok(listed(c.format(2), &how, &[row(name, &a, LIST_USER)]))
}

const PACKAGE_LISTING: Listing = Listing {
    key: "PACKAGE",
    keyed: true,
    shell: &[
        "WEB_DOMAINS",
        "DNS_DOMAINS",
        "MAIL_DOMAINS",
        "DATABASES",
        "SHELL",
        "DISK_QUOTA",
        "BANDWIDTH",
    ],
};

/// `v-list-user-packages [FORMAT]` (B #12).
pub(super) async fn packages(c: &Cmd<'_>) -> Step<Output> {
    let pkgs = objects::list(&c.state.db, c.place("package", "", "")).await?;
    let rows: Vec<Row> = pkgs
        .iter()
        .map(|p| (p.name.clone(), pick(&p.attrs(), PACKAGES)))
        .collect();
    Ok(listed(c.format(1), &PACKAGE_LISTING, &rows))
}

/// `v-list-user-package PACKAGE [FORMAT]` (B #12).
pub(super) async fn package(c: &Cmd<'_>) -> Step<Output> {
    c.need(1)?;
    let name = c.arg(1);
    check(rules::valid_name(name), "package", name)?;
    let p = objects::get(&c.state.db, c.place("package", "", ""), name)
        .await?
        .ok_or_else(|| fail(code::E_NOTEXIST, format!("package {name} doesn't exist")))?;
    let how = Listing {
        shell: &[],
        ..PACKAGE_LISTING
    };
    Ok(listed(
        c.format(2),
        &how,
        &[(p.name.clone(), pick(&p.attrs(), PACKAGE))],
    ))
}

/// `v-list-user-stats USER [FORMAT]` (B #13): one line per month, keyed by its first day
/// (the emulator keeps this month's: the counters as they are now).
pub(super) async fn stats(c: &Cmd<'_>) -> Step<Output> {
    c.need(1)?;
    let name = c.arg(1);
    check(rules::valid_user(name), "user", name)?;
    let root = root(c).await?;
    let mut conn = c.state.db.acquire().await?;
    let u = user(&mut conn, c, name).await?;
    drop(conn);
    let users = objects::list(&c.state.db, c.place("user", "", ""))
        .await?
        .len();
    let mut a = full(c, &u, users, &root).await?;
    let (t, d) = rules::time_and_date(c.now);
    a.insert("TIME".into(), t);
    let month = format!("{}-01", &d[..7]);
    let how = Listing {
        key: "DATE",
        keyed: true,
        shell: &[
            "PACKAGE",
            "U_DISK",
            "U_BANDWIDTH",
            "U_WEB_DOMAINS",
            "U_DATABASES",
        ],
    };
    Ok(listed(c.format(2), &how, &[row(&month, &a, STATS)]))
}

/// `v-check-user-password USER PASSWORD [IP] [RETURN_HASH]` (B #14): nothing on success;
/// exit 9 `password missmatch` (sic) otherwise.
pub(super) async fn verify(c: &Cmd<'_>) -> Step<Output> {
    c.need(2)?;
    let name = c.arg(1);
    check(rules::valid_user(name), "user", name)?;
    let pw = c.password(2)?;
    let mut conn = c.state.db.acquire().await?;
    let u = user(&mut conn, c, name).await?;
    drop(conn);
    let good = match &u.secret {
        Some(phc) => c.state.hasher.verify(&pw, phc).await,
        None => false,
    };
    if !good {
        return Err(fail(code::E_PASSWORD, "password missmatch"));
    }
    Ok(Output::ok())
}

/// The user named by argument 1 (which must exist and not be suspended) with its fields,
/// for commands that add objects to it.
pub(super) async fn owner_for_add(
    conn: &mut sqlx::SqliteConnection,
    c: &Cmd<'_>,
) -> Step<(Object, Attrs)> {
    let name = c.arg(1);
    check(rules::valid_user(name), "user", name)?;
    let u = active_user(conn, c, name).await?;
    let a = u.attrs();
    Ok((u, a))
}

/// How many objects of `kind` the user owns (for a package limit).
pub(super) async fn used(
    conn: &mut sqlx::SqliteConnection,
    c: &Cmd<'_>,
    owner: &str,
    kind: &str,
) -> Step<usize> {
    Ok(objects::owned(&mut *conn, c.panel_id, owner)
        .await?
        .iter()
        .filter(|o| o.kind == kind)
        .count())
}

/// Checks the package limit `limit` for one more `kind` object of the user.
pub(super) async fn room_for(
    conn: &mut sqlx::SqliteConnection,
    c: &Cmd<'_>,
    owner: &Object,
    limit: &str,
    kind: &str,
) -> Step<()> {
    let n = used(conn, c, &owner.name, kind).await?;
    within(&owner.attrs(), limit, n)
}
