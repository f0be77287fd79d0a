//! Web domains (hestia-protocol.md B #15-24): add (alone, or with DNS and mail through
//! `v-add-domain`), list, delete, suspend, aliases, Let's Encrypt, FTP users, the nginx
//! cache purge. A domain is unique on the panel, whoever owns it; it uses the panel's IP.

use sqlx::SqliteConnection;

use super::users::{owner_for_add, room_for};
use super::{
    check, code, fail, field, listed, object, pick, user, user_domain, Cmd, Output, Step, Stop,
};
use crate::domain::hestia::listing::{Listing, Row};
use crate::domain::hestia::{self as rules};
use crate::error::Error;
use crate::store::hestia::{self as objects, Attrs, Object};
use crate::store::{self};

/// `v-list-web-domains` fields (B.1).
const LIST: &[&str] = &[
    "IP",
    "IP6",
    "DOCUMENT_ROOT",
    "U_DISK",
    "U_BANDWIDTH",
    "TPL",
    "ALIAS",
    "STATS",
    "STATS_USER",
    "SSL",
    "SSL_HOME",
    "LETSENCRYPT",
    "FTP_USER",
    "FTP_PATH",
    "AUTH_USER",
    "BACKEND",
    "PROXY",
    "PROXY_EXT",
    "SUSPENDED",
    "TIME",
    "DATE",
];

/// `v-list-web-domain` fields (B.1).
const ONE: &[&str] = &[
    "IP",
    "IP6",
    "DOCUMENT_ROOT",
    "U_DISK",
    "U_BANDWIDTH",
    "TPL",
    "ALIAS",
    "STATS",
    "STATS_USER",
    "SSL",
    "SSL_FORCE",
    "SSL_HSTS",
    "SSL_HOME",
    "LETSENCRYPT",
    "FTP_USER",
    "FTP_PATH",
    "AUTH_USER",
    "BACKEND",
    "PROXY",
    "PROXY_EXT",
    "FASTCGI_CACHE",
    "FASTCGI_DURATION",
    "REDIRECT",
    "REDIRECT_CODE",
    "CUSTOM_DOCROOT",
    "SUSPENDED",
    "TIME",
    "DATE",
];

/// Extensions nginx serves itself in front of the backend (the default PROXY_EXT).
const PROXY_EXT: &str = "css,htm,html,js,mjs,json,xml,apng,avif,bmp,cur,gif,ico,jfif,jpg,jpeg,pjp,pjpeg,png,svg,tif,tiff,webp,aac,caf,flac,m4a,midi,mp3,ogg,opus,wav,3gp,av1,avi,m4v,mkv,mov,mpg,mpeg,mp4,mp4v,webm,otf,ttf,woff,woff2,doc,docx,odf,odp,ods,odt,pdf,ppt,pptx,rtf,txt,xls,xlsx,7z,bz2,gz,rar,tar,tgz,zip,apk,appx,bin,dmg,exe,img,iso,jar,msi";

/// Checks a domain argument (lower-cased, as Hestia does) and returns it.
pub(super) fn domain_arg(c: &Cmd<'_>, i: usize) -> Step<String> {
    let d = c.arg(i).trim_end_matches('.').to_lowercase();
    check(rules::valid_domain(&d), "domain", c.arg(i))?;
    Ok(d)
}

/// `is_domain_new`: a domain (or alias) no user of the panel has as a `kind` domain, else
/// exit 4 `<Kind> domain X exists`.
pub(super) async fn is_new(
    conn: &mut SqliteConnection,
    c: &Cmd<'_>,
    kind: &str,
    name: &str,
) -> Step<()> {
    let words = match kind {
        "web" => "Web domain",
        "dns" => "DNS domain",
        _ => "Mail domain",
    };
    if objects::named(&mut *conn, c.panel_id, kind, name)
        .await?
        .is_some()
    {
        return Err(fail(code::E_EXISTS, format!("{words} {name} exists")));
    }
    if kind == "web" {
        for w in objects::of_kind(&mut *conn, c.panel_id, "web").await? {
            if field(&w.attrs(), "ALIAS").split(',').any(|a| a == name) {
                return Err(fail(code::E_EXISTS, format!("{words} {name} exists")));
            }
        }
    }
    Ok(())
}

/// The IP argument: absent or empty means the panel's; any other must be one of the
/// panel's system IPs.
pub(super) async fn ip_arg(conn: &mut SqliteConnection, c: &Cmd<'_>, i: usize) -> Step<String> {
    let ip = c.arg(i);
    if ip.is_empty() {
        // Read on the caller's connection: an in-memory database has only that one.
        let panel = objects::panel(&mut *conn, c.panel_id).await?;
        return panel
            .map(|p| p.ip)
            .ok_or_else(|| Stop::Fail(Error::not_found(format!("panel {}", c.panel_id))));
    }
    check(rules::valid_ip(ip), "ip", ip)?;
    if objects::get(&mut *conn, c.place("ip", "", ""), ip)
        .await?
        .is_none()
    {
        return Err(fail(code::E_NOTEXIST, format!("ip {ip} doesn't exist")));
    }
    Ok(ip.to_owned())
}

/// Adds a web domain inside the caller's transaction (v-add-web-domain, v-add-domain).
async fn add_in(
    conn: &mut SqliteConnection,
    c: &Cmd<'_>,
    owner: &Object,
    domain: &str,
    ip: &str,
    aliases: Option<&str>,
    proxy_ext: Option<&str>,
) -> Step<()> {
    is_new(conn, c, "web", domain).await?;
    room_for(conn, c, owner, "WEB_DOMAINS", "web").await?;
    // The default alias is www.DOMAIN, except for a subdomain (more than two labels) or a
    // www. domain itself; `none` means no alias.
    let alias: Vec<String> = match aliases {
        Some("none") => Vec::new(),
        Some(list) if !list.is_empty() => list
            .split(',')
            .map(|a| a.trim().trim_end_matches('.').to_lowercase())
            .filter(|a| !a.is_empty())
            .collect(),
        _ if domain.split('.').count() == 2 => vec![format!("www.{domain}")],
        _ => Vec::new(),
    };
    for a in &alias {
        check(rules::valid_domain(a), "alias", a)?;
        is_new(conn, c, "web", a).await?;
    }
    super::within(&owner.attrs(), "WEB_ALIASES", alias.len().saturating_sub(1))?;
    let o = owner.attrs();
    let mut a = Attrs::new();
    for (k, v) in [
        ("IP", ip.to_owned()),
        ("IP6", String::new()),
        ("CUSTOM_DOCROOT", String::new()),
        ("ALIAS", alias.join(",")),
        ("TPL", field(&o, "WEB_TEMPLATE")),
        ("SSL", "no".into()),
        ("SSL_FORCE", "no".into()),
        ("SSL_HSTS", "no".into()),
        ("SSL_HOME", "same".into()),
        ("LETSENCRYPT", "no".into()),
        ("FTP_USER", String::new()),
        ("FTP_PATH", String::new()),
        ("AUTH_USER", String::new()),
        ("BACKEND", field(&o, "BACKEND_TEMPLATE")),
        ("PROXY", field(&o, "PROXY_TEMPLATE")),
        (
            "PROXY_EXT",
            proxy_ext
                .filter(|p| !p.is_empty())
                .unwrap_or(PROXY_EXT)
                .to_owned(),
        ),
        ("STATS", String::new()),
        ("STATS_USER", String::new()),
        ("FASTCGI_CACHE", String::new()),
        ("FASTCGI_DURATION", String::new()),
        ("REDIRECT", String::new()),
        ("REDIRECT_CODE", String::new()),
        ("U_DISK", (1 + rules::spread(domain, 40)).to_string()),
        ("U_BANDWIDTH", "0".into()),
        ("SUSPENDED", "no".into()),
    ] {
        a.insert(k.into(), v);
    }
    c.stamp(&mut a);
    objects::insert(
        &mut *conn,
        c.place("web", &owner.name, ""),
        domain,
        &a,
        None,
        c.now,
    )
    .await?;
    Ok(())
}

/// `v-add-web-domain USER DOMAIN [IP] [RESTART] [ALIASES] [PROXY_EXTENSIONS]` (B #16).
pub(super) async fn add(c: &Cmd<'_>) -> Step<Output> {
    c.need(2)?;
    let domain = domain_arg(c, 2)?;
    let mut tx = store::begin_write(&c.state.db).await?;
    let (owner, _) = owner_for_add(&mut tx, c).await?;
    let ip = ip_arg(&mut tx, c, 3).await?;
    add_in(&mut tx, c, &owner, &domain, &ip, c.opt(5), c.opt(6)).await?;
    tx.commit().await?;
    Ok(Output::ok())
}

/// `v-add-domain USER DOMAIN [IP] [RESTART]` (B #15): the web domain, its DNS zone (unless
/// the panel has it) and its mail domain, all or nothing.
pub(super) async fn add_domain(c: &Cmd<'_>) -> Step<Output> {
    c.need(2)?;
    let domain = domain_arg(c, 2)?;
    let mut tx = store::begin_write(&c.state.db).await?;
    let (owner, _) = owner_for_add(&mut tx, c).await?;
    let ip = ip_arg(&mut tx, c, 3).await?;
    add_in(&mut tx, c, &owner, &domain, &ip, None, None).await?;
    if objects::named(&mut *tx, c.panel_id, "dns", &domain)
        .await?
        .is_none()
    {
        super::dns::add_in(&mut tx, c, &owner, &domain, &ip, &[]).await?;
    }
    if objects::named(&mut *tx, c.panel_id, "mail", &domain)
        .await?
        .is_none()
    {
        super::mail::add_in(&mut tx, c, &owner, &domain, ["yes", "yes", "yes", "no"]).await?;
    }
    tx.commit().await?;
    Ok(Output::ok())
}

/// `v-list-web-domains USER [FORMAT]` / `v-list-web-domain USER DOMAIN [FORMAT]` (B #17).
pub(super) async fn list(c: &Cmd<'_>, one: Option<&str>) -> Step<Output> {
    c.need(if one.is_some() { 2 } else { 1 })?;
    let name = c.arg(1);
    check(rules::valid_user(name), "user", name)?;
    let mut conn = c.state.db.acquire().await?;
    user(&mut conn, c, name).await?;
    let domains = match one {
        Some(_) => vec![user_domain(&mut conn, c, "web", "web domain").await?.1],
        None => objects::list(&mut *conn, c.place("web", name, "")).await?,
    };
    drop(conn);
    let keys = if one.is_some() { ONE } else { LIST };
    let rows: Vec<Row> = domains
        .iter()
        .map(|w| {
            let mut a = w.attrs();
            let root = match field(&a, "CUSTOM_DOCROOT") {
                d if d.is_empty() => format!("/home/{name}/web/{}/public_html/", w.name),
                d => d,
            };
            a.insert("DOCUMENT_ROOT".into(), root);
            (w.name.clone(), pick(&a, keys))
        })
        .collect();
    let shell: &'static [&'static str] = if one.is_some() {
        &[]
    } else {
        &[
            "IP",
            "TPL",
            "SSL",
            "U_DISK",
            "U_BANDWIDTH",
            "SUSPENDED",
            "DATE",
        ]
    };
    let how = Listing {
        key: "DOMAIN",
        keyed: true,
        shell,
    };
    let format = c.format(if one.is_some() { 3 } else { 2 });
    Ok(listed(format, &how, &rows))
}

/// `v-delete-web-domain USER DOMAIN [RESTART]` (B #18), with its FTP users.
pub(super) async fn delete(c: &Cmd<'_>) -> Step<Output> {
    c.need(2)?;
    let mut tx = store::begin_write(&c.state.db).await?;
    let (u, w) = user_domain(&mut tx, c, "web", "web domain").await?;
    objects::delete_children(&mut *tx, c.place("ftp", &u.name, &w.name)).await?;
    objects::delete(&mut *tx, w.id).await?;
    tx.commit().await?;
    Ok(Output::ok())
}

/// `v-suspend-web-domain` / `v-unsuspend-web-domain USER DOMAIN [RESTART]` (B #19).
pub(super) async fn suspend(c: &Cmd<'_>, on: bool) -> Step<Output> {
    c.need(2)?;
    let mut tx = store::begin_write(&c.state.db).await?;
    let (_, w) = user_domain(&mut tx, c, "web", "web domain").await?;
    super::set_suspended(&mut tx, &w, "web", on).await?;
    tx.commit().await?;
    Ok(Output::ok())
}

/// Rewrites a web domain's fields.
async fn save(conn: &mut SqliteConnection, w: &Object, a: &Attrs) -> Step<()> {
    objects::set_attrs(&mut *conn, w.id, a).await?;
    Ok(())
}

/// `v-add-web-domain-alias USER DOMAIN ALIASES [RESTART]` (B #20).
pub(super) async fn add_alias(c: &Cmd<'_>) -> Step<Output> {
    c.need(3)?;
    let mut tx = store::begin_write(&c.state.db).await?;
    let (u, w) = user_domain(&mut tx, c, "web", "web domain").await?;
    if field(&u.attrs(), "SUSPENDED") == "yes" {
        return Err(fail(
            code::E_SUSPENDED,
            format!("user {} is suspended", u.name),
        ));
    }
    let mut a = w.attrs();
    let mut alias: Vec<String> = field(&a, "ALIAS")
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    for new in c
        .arg(3)
        .split(',')
        .map(|s| s.trim().trim_end_matches('.').to_lowercase())
    {
        check(rules::valid_domain(&new), "alias", &new)?;
        is_new(&mut tx, c, "web", &new).await?;
        super::within(&u.attrs(), "WEB_ALIASES", alias.len())?;
        alias.push(new);
    }
    a.insert("ALIAS".into(), alias.join(","));
    save(&mut tx, &w, &a).await?;
    tx.commit().await?;
    Ok(Output::ok())
}

/// `v-add-letsencrypt-domain USER DOMAIN [ALIASES] [MAIL]` and
/// `v-delete-letsencrypt-domain USER DOMAIN [RESTART] [MAIL]` (B #21, #22): the web
/// domain's certificate, or with MAIL=yes the mail domain's (mail.DOMAIN).
pub(super) async fn letsencrypt(c: &Cmd<'_>, on: bool) -> Step<Output> {
    c.need(2)?;
    let mail = c.arg(4) == "yes";
    let name = c.arg(1);
    check(rules::valid_user(name), "user", name)?;
    let domain = domain_arg(c, 2)?;
    let mut tx = store::begin_write(&c.state.db).await?;
    let u = user(&mut tx, c, name).await?;
    if on && field(&u.attrs(), "SUSPENDED") == "yes" {
        return Err(fail(code::E_SUSPENDED, format!("user {name} is suspended")));
    }
    let o = if mail {
        object(&mut tx, c.place("mail", name, ""), &domain, "mail domain").await?
    } else {
        object(&mut tx, c.place("web", name, ""), &domain, "web domain").await?
    };
    let mut a = o.attrs();
    if on && !mail && field(&a, "SUSPENDED") == "yes" {
        return Err(fail(
            code::E_SUSPENDED,
            format!("web {domain} is suspended"),
        ));
    }
    let flag = if on { "yes" } else { "no" };
    a.insert("SSL".into(), flag.into());
    a.insert("LETSENCRYPT".into(), flag.into());
    save(&mut tx, &o, &a).await?;
    tx.commit().await?;
    Ok(Output::ok())
}

/// `v-add-web-domain-ftp USER DOMAIN FTP_USER FTP_PASSWORD [FTP_PATH]` (B #23): the FTP
/// user is `USER_FTPUSER`, its password stored hashed.
pub(super) async fn add_ftp(c: &Cmd<'_>) -> Step<Output> {
    c.need(4)?;
    let short = c.arg(3);
    check(rules::valid_name(short), "ftp_user", short)?;
    let ftp_user = format!("{}_{short}", c.arg(1));
    let path = c.arg(5).trim_matches('/');
    check(
        !path.contains("..") && rules::valid_text(path),
        "ftp_path",
        c.arg(5),
    )?;
    let pw = c.password(4)?;
    let hash = c.hash(&pw).await?;
    let mut tx = store::begin_write(&c.state.db).await?;
    let (u, w) = user_domain(&mut tx, c, "web", "web domain").await?;
    if field(&u.attrs(), "SUSPENDED") == "yes" {
        return Err(fail(
            code::E_SUSPENDED,
            format!("user {} is suspended", u.name),
        ));
    }
    for f in objects::of_kind(&mut *tx, c.panel_id, "ftp").await? {
        if f.name == ftp_user {
            return Err(fail(
                code::E_EXISTS,
                format!("ftp user {ftp_user} already exists"),
            ));
        }
    }
    let full_path = if path.is_empty() {
        format!("/home/{}/web/{}", u.name, w.name)
    } else {
        format!("/home/{}/web/{}/{path}", u.name, w.name)
    };
    let mut f = Attrs::new();
    f.insert("PATH".into(), full_path.clone());
    c.stamp(&mut f);
    objects::insert(
        &mut *tx,
        c.place("ftp", &u.name, &w.name),
        &ftp_user,
        &f,
        Some(&hash),
        c.now,
    )
    .await?;
    let mut a = w.attrs();
    let join = |old: String, new: &str| {
        if old.is_empty() {
            new.to_owned()
        } else {
            format!("{old}:{new}")
        }
    };
    a.insert("FTP_USER".into(), join(field(&a, "FTP_USER"), &ftp_user));
    a.insert("FTP_PATH".into(), join(field(&a, "FTP_PATH"), &full_path));
    save(&mut tx, &w, &a).await?;
    tx.commit().await?;
    Ok(Output::ok())
}

/// `v-purge-nginx-cache USER DOMAIN` (B #24): nothing to purge in the emulator, but the
/// domain must exist.
pub(super) async fn purge_cache(c: &Cmd<'_>) -> Step<Output> {
    c.need(2)?;
    let mut conn = c.state.db.acquire().await?;
    user_domain(&mut conn, c, "web", "web domain").await?;
    Ok(Output::ok())
}
