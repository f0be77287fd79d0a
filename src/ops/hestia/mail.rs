//! Mail domains and accounts (hestia-protocol.md B #35-40). Account passwords are stored
//! as argon2 hashes only.

use sqlx::SqliteConnection;

use super::users::{owner_for_add, room_for};
use super::web::{domain_arg, is_new};
use super::{check, code, fail, field, listed, object, pick, user, user_domain, Cmd, Output, Step};
use crate::domain::hestia::listing::{Listing, Row};
use crate::domain::hestia::{self as rules};
use crate::store::hestia::{self as objects, Attrs, Object};
use crate::store::{self};

/// `v-list-mail-domains` fields (B.1).
const LIST: &[&str] = &[
    "ANTIVIRUS",
    "ANTISPAM",
    "REJECT",
    "RATE_LIMIT",
    "DKIM",
    "CATCHALL",
    "ACCOUNTS",
    "U_DISK",
    "SSL",
    "SUSPENDED",
    "TIME",
    "DATE",
    "WEBMAIL_ALIAS",
    "WEBMAIL",
];

/// `v-list-mail-domain` fields (B.1).
const ONE: &[&str] = &[
    "ANTIVIRUS",
    "ANTISPAM",
    "DKIM",
    "CATCHALL",
    "ACCOUNTS",
    "RATE_LIMIT",
    "REJECT",
    "U_DISK",
    "SSL",
    "LETSENCRYPT",
    "SUSPENDED",
    "TIME",
    "DATE",
    "WEBMAIL_ALIAS",
    "WEBMAIL",
    "U_SMTP_RELAY",
    "U_SMTP_RELAY_HOST",
    "U_SMTP_RELAY_PORT",
    "U_SMTP_RELAY_USERNAME",
];

/// `v-list-mail-accounts` fields (B.1).
const ACCOUNTS: &[&str] = &[
    "ALIAS",
    "FWD",
    "FWD_ONLY",
    "AUTOREPLY",
    "QUOTA",
    "U_DISK",
    "SUSPENDED",
    "TIME",
    "DATE",
];

/// `v-list-mail-account` fields (B.1).
const ACCOUNT: &[&str] = &[
    "ALIAS",
    "FWD",
    "FWD_ONLY",
    "AUTOREPLY",
    "QUOTA",
    "RATE_LIMIT",
    "U_DISK",
    "SUSPENDED",
    "TIME",
    "DATE",
    "WEBMAIL_ALIAS",
];

/// A yes/no argument (`is_boolean_format_valid`).
fn yes_no(v: &str, what: &str) -> Step<()> {
    check(v == "yes" || v == "no", what, v)
}

/// Adds a mail domain inside the caller's transaction (v-add-mail-domain, v-add-domain);
/// `flags` are ANTISPAM, ANTIVIRUS, DKIM, REJECT.
pub(super) async fn add_in(
    conn: &mut SqliteConnection,
    c: &Cmd<'_>,
    owner: &Object,
    domain: &str,
    flags: [&str; 4],
) -> Step<()> {
    is_new(conn, c, "mail", domain).await?;
    room_for(conn, c, owner, "MAIL_DOMAINS", "mail").await?;
    let [antispam, antivirus, dkim, reject] = flags;
    let mut a = Attrs::new();
    for (k, v) in [
        ("ANTIVIRUS", antivirus.to_owned()),
        ("ANTISPAM", antispam.to_owned()),
        ("REJECT", reject.to_owned()),
        ("RATE_LIMIT", field(&owner.attrs(), "RATE_LIMIT")),
        ("DKIM", dkim.to_owned()),
        ("CATCHALL", String::new()),
        ("U_DISK", "0".into()),
        ("SSL", "no".into()),
        ("LETSENCRYPT", "no".into()),
        ("SUSPENDED", "no".into()),
        ("WEBMAIL_ALIAS", format!("webmail.{domain}")),
        ("WEBMAIL", "roundcube".into()),
        ("U_SMTP_RELAY", "false".into()),
        ("U_SMTP_RELAY_HOST", String::new()),
        ("U_SMTP_RELAY_PORT", String::new()),
        ("U_SMTP_RELAY_USERNAME", String::new()),
    ] {
        a.insert(k.into(), v);
    }
    c.stamp(&mut a);
    objects::insert(
        &mut *conn,
        c.place("mail", &owner.name, ""),
        domain,
        &a,
        None,
        c.now,
    )
    .await?;
    if dkim == "yes" {
        // Its public key goes into the domain's zone, when the user hosts it.
        let records = [
            (
                DKIM_RECORDS[0],
                "TXT",
                format!("\"v=DKIM1; k=rsa; p={}\"", dkim_public_key()),
            ),
            (DKIM_RECORDS[1], "TXT", "\"t=y; o=~;\"".to_owned()),
        ];
        super::dns::add_records_in(conn, c, &owner.name, domain, &records).await?;
    }
    Ok(())
}

/// The DNS records a mail domain's DKIM key adds to its zone.
const DKIM_RECORDS: [&str; 2] = ["mail._domainkey", "_domainkey"];

/// A believable DKIM public key: a 2048-bit RSA SubjectPublicKeyInfo's shape in base64
/// (random bytes inside: nothing verifies a signature in the emulator).
fn dkim_public_key() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut body = [0u8; 256];
    rand::thread_rng().fill_bytes(&mut body);
    body[0] |= 0x80;
    let mut der = vec![
        0x30, 0x82, 0x01, 0x22, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
        0x01, 0x01, 0x05, 0x00, 0x03, 0x82, 0x01, 0x0f, 0x00, 0x30, 0x82, 0x01, 0x0a, 0x02, 0x82,
        0x01, 0x01, 0x00,
    ];
    der.extend_from_slice(&body);
    der.extend_from_slice(&[0x02, 0x03, 0x01, 0x00, 0x01]);
    base64::engine::general_purpose::STANDARD.encode(der)
}

/// `v-add-mail-domain USER DOMAIN [ANTISPAM] [ANTIVIRUS] [DKIM] [DKIM_SIZE] [RESTART]
/// [REJECT_SPAM]` (B #35).
pub(super) async fn add(c: &Cmd<'_>) -> Step<Output> {
    c.need(2)?;
    let domain = domain_arg(c, 2)?;
    let (antispam, antivirus, dkim) = (c.or(3, "yes"), c.or(4, "yes"), c.or(5, "yes"));
    let reject = c.or(8, "no");
    yes_no(antispam, "antispam")?;
    yes_no(antivirus, "antivirus")?;
    yes_no(dkim, "dkim")?;
    yes_no(reject, "reject")?;
    let size = c.or(6, "2048");
    check(["1024", "2048", "4096"].contains(&size), "dkim_size", size)?;
    let mut tx = store::begin_write(&c.state.db).await?;
    let (owner, _) = owner_for_add(&mut tx, c).await?;
    add_in(
        &mut tx,
        c,
        &owner,
        &domain,
        [antispam, antivirus, dkim, reject],
    )
    .await?;
    tx.commit().await?;
    Ok(Output::ok())
}

/// `v-list-mail-domains USER [FORMAT]` / `v-list-mail-domain USER DOMAIN [FORMAT]` (B #36).
pub(super) async fn list(c: &Cmd<'_>, one: Option<&str>) -> Step<Output> {
    c.need(if one.is_some() { 2 } else { 1 })?;
    let name = c.arg(1);
    check(rules::valid_user(name), "user", name)?;
    let mut conn = c.state.db.acquire().await?;
    user(&mut conn, c, name).await?;
    let domains = match one {
        Some(_) => vec![user_domain(&mut conn, c, "mail", "mail domain").await?.1],
        None => objects::list(&mut *conn, c.place("mail", name, "")).await?,
    };
    let mut rows: Vec<Row> = Vec::new();
    for m in &domains {
        let n = objects::list(&mut *conn, c.place("account", name, &m.name))
            .await?
            .len();
        let mut a = m.attrs();
        a.insert("ACCOUNTS".into(), n.to_string());
        rows.push((
            m.name.clone(),
            pick(&a, if one.is_some() { ONE } else { LIST }),
        ));
    }
    let how = Listing {
        key: "DOMAIN",
        keyed: true,
        shell: &[
            "ANTIVIRUS",
            "ANTISPAM",
            "DKIM",
            "ACCOUNTS",
            "U_DISK",
            "SUSPENDED",
            "DATE",
        ],
    };
    Ok(listed(
        c.format(if one.is_some() { 3 } else { 2 }),
        &how,
        &rows,
    ))
}

/// `v-delete-mail-domain USER DOMAIN` (B #37), with its accounts.
pub(super) async fn delete(c: &Cmd<'_>) -> Step<Output> {
    c.need(2)?;
    let mut tx = store::begin_write(&c.state.db).await?;
    let (u, m) = user_domain(&mut tx, c, "mail", "mail domain").await?;
    objects::delete_children(&mut *tx, c.place("account", &u.name, &m.name)).await?;
    objects::delete(&mut *tx, m.id).await?;
    super::dns::delete_records_in(&mut tx, c, &u.name, &m.name, &DKIM_RECORDS).await?;
    tx.commit().await?;
    Ok(Output::ok())
}

/// An account (local part) argument, lower-cased.
fn account_arg(c: &Cmd<'_>) -> Step<String> {
    let a = c.arg(3).to_lowercase();
    check(rules::valid_name(&a) || a == "*", "account", c.arg(3))?;
    Ok(a)
}

/// `v-add-mail-account USER DOMAIN ACCOUNT PASSWORD [QUOTA]` (B #38).
pub(super) async fn add_account(c: &Cmd<'_>) -> Step<Output> {
    c.need(4)?;
    let account = account_arg(c)?;
    let quota = c.or(5, "unlimited");
    check(
        quota == "unlimited" || quota.parse::<u64>().is_ok(),
        "quota",
        quota,
    )?;
    let pw = c.password(4)?;
    let hash = c.hash(&pw).await?;
    let mut tx = store::begin_write(&c.state.db).await?;
    let (u, m) = user_domain(&mut tx, c, "mail", "mail domain").await?;
    if field(&u.attrs(), "SUSPENDED") == "yes" {
        return Err(fail(
            code::E_SUSPENDED,
            format!("user {} is suspended", u.name),
        ));
    }
    if field(&m.attrs(), "SUSPENDED") == "yes" {
        return Err(fail(
            code::E_SUSPENDED,
            format!("mail {} is suspended", m.name),
        ));
    }
    let at = c.place("account", &u.name, &m.name);
    if objects::get(&mut *tx, at, &account).await?.is_some() {
        return Err(fail(
            code::E_EXISTS,
            format!("mail account {account} is already exists"),
        ));
    }
    let used = super::users::used(&mut tx, c, &u.name, "account").await?;
    super::within(&u.attrs(), "MAIL_ACCOUNTS", used)?;
    let ma = m.attrs();
    let mut a = Attrs::new();
    for (k, v) in [
        ("ALIAS", String::new()),
        ("FWD", String::new()),
        ("FWD_ONLY", "no".into()),
        ("AUTOREPLY", "no".into()),
        ("QUOTA", quota.to_owned()),
        ("RATE_LIMIT", field(&ma, "RATE_LIMIT")),
        ("U_DISK", "0".into()),
        ("SUSPENDED", "no".into()),
        ("WEBMAIL_ALIAS", field(&ma, "WEBMAIL_ALIAS")),
    ] {
        a.insert(k.into(), v);
    }
    c.stamp(&mut a);
    objects::insert(&mut *tx, at, &account, &a, Some(&hash), c.now).await?;
    tx.commit().await?;
    Ok(Output::ok())
}

/// `v-list-mail-accounts USER DOMAIN [FORMAT]` / `v-list-mail-account USER DOMAIN ACCOUNT
/// [FORMAT]` (B #39).
pub(super) async fn accounts(c: &Cmd<'_>, one: Option<&str>) -> Step<Output> {
    c.need(if one.is_some() { 3 } else { 2 })?;
    let mut conn = c.state.db.acquire().await?;
    let (u, m) = user_domain(&mut conn, c, "mail", "mail domain").await?;
    let at = c.place("account", &u.name, &m.name);
    let list = match one {
        Some(_) => {
            let account = account_arg(c)?;
            vec![object(&mut conn, at, &account, &format!("{} account", m.name)).await?]
        }
        None => objects::list(&mut *conn, at).await?,
    };
    let rows: Vec<Row> = list
        .iter()
        .map(|a| {
            (
                a.name.clone(),
                pick(&a.attrs(), if one.is_some() { ACCOUNT } else { ACCOUNTS }),
            )
        })
        .collect();
    let how = Listing {
        key: "ACCOUNT",
        keyed: true,
        shell: &["AUTOREPLY", "QUOTA", "U_DISK", "SUSPENDED", "DATE"],
    };
    Ok(listed(
        c.format(if one.is_some() { 4 } else { 3 }),
        &how,
        &rows,
    ))
}

/// The account named by argument 3 of the mail domain.
async fn account_of(conn: &mut SqliteConnection, c: &Cmd<'_>) -> Step<Object> {
    let (u, m) = user_domain(conn, c, "mail", "mail domain").await?;
    let account = account_arg(c)?;
    object(
        conn,
        c.place("account", &u.name, &m.name),
        &account,
        &format!("{} account", m.name),
    )
    .await
}

/// `v-delete-mail-account USER DOMAIN ACCOUNT` (B #40).
pub(super) async fn delete_account(c: &Cmd<'_>) -> Step<Output> {
    c.need(3)?;
    let mut tx = store::begin_write(&c.state.db).await?;
    let a = account_of(&mut tx, c).await?;
    objects::delete(&mut *tx, a.id).await?;
    tx.commit().await?;
    Ok(Output::ok())
}

/// `v-change-mail-account-password USER DOMAIN ACCOUNT PASSWORD` (B #40).
pub(super) async fn change_password(c: &Cmd<'_>) -> Step<Output> {
    c.need(4)?;
    account_arg(c)?;
    let pw = c.password(4)?;
    let hash = c.hash(&pw).await?;
    let mut tx = store::begin_write(&c.state.db).await?;
    let a = account_of(&mut tx, c).await?;
    objects::set_secret(&mut *tx, a.id, &hash).await?;
    tx.commit().await?;
    Ok(Output::ok())
}
