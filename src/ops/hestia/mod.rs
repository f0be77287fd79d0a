//! What runs inside an emulated Hestia panel (issue 18): the `v-*` commands of
//! hestia-protocol.md section B on the panel's objects (users, packages, web, DNS and mail
//! domains, records, mail accounts, databases, cron jobs, backups, IPs, services), their
//! output in the four formats (B.1) and their exit codes and error texts (A.6). The Hestia
//! face checks the request (authentication, allow-list, access-key permissions) and then
//! calls [`run`]; it renders the [`Output`] with its two response engines.
//!
//! Each family of commands has its own file; this one holds the dispatcher, the shared
//! steps (`check_args`, `is_object_valid`, package limits, `/tmp/` passwords) and the
//! functions the face calls ([`init_panel`], [`user_facts`], [`check_password`]).

mod dbs;
mod dns;
mod mail;
mod system;
mod users;
mod web;

use sqlx::SqliteConnection;

use crate::domain::hestia::commands;
use crate::domain::hestia::listing::{self, Format, Listing, Row};
use crate::domain::hestia::{self as rules};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::hestia::{self as objects, Attrs, Object, Place};

/// What a v-* command printed on stdout and its exit code (hestia-protocol.md A.6).
/// `stdout` is the text as the script prints it, each line newline-terminated; empty for
/// the commands that print nothing on success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub exit: u8,
    pub stdout: String,
}

impl Output {
    /// Success with nothing printed.
    pub fn ok() -> Output {
        Output {
            exit: 0,
            stdout: String::new(),
        }
    }
}

/// Return codes of `func/main.sh` (A.6).
pub mod code {
    pub const E_ARGS: u8 = 1;
    pub const E_INVALID: u8 = 2;
    pub const E_NOTEXIST: u8 = 3;
    pub const E_EXISTS: u8 = 4;
    pub const E_SUSPENDED: u8 = 5;
    pub const E_UNSUSPENDED: u8 = 6;
    pub const E_INUSE: u8 = 7;
    pub const E_LIMIT: u8 = 8;
    pub const E_PASSWORD: u8 = 9;
    pub const E_FORBIDEN: u8 = 10;
    pub const E_DISABLED: u8 = 11;
    pub const E_RESTART: u8 = 20;
}

/// Why a command stopped early: it exited with a code and a message (as `check_result`
/// does), or the emulator failed (a database error).
enum Stop {
    Exit(Output),
    Fail(Error),
}

impl From<Error> for Stop {
    fn from(e: Error) -> Self {
        Stop::Fail(e)
    }
}

impl From<sqlx::Error> for Stop {
    fn from(e: sqlx::Error) -> Self {
        Stop::Fail(e.into())
    }
}

type Step<T> = std::result::Result<T, Stop>;

/// `check_result CODE MESSAGE`: stdout `Error: MESSAGE`, exit CODE.
fn fail(exit: u8, msg: impl std::fmt::Display) -> Stop {
    Stop::Exit(Output {
        exit,
        stdout: format!("Error: {msg}\n"),
    })
}

/// One command being run: its panel, name, arguments and the moment.
struct Cmd<'a> {
    state: &'a AppState,
    panel_id: i64,
    name: &'a str,
    args: &'a [String],
    now: i64,
}

impl Cmd<'_> {
    /// Argument `i` (1-based, as `$i`), '' when absent.
    fn arg(&self, i: usize) -> &str {
        self.args.get(i - 1).map(String::as_str).unwrap_or("")
    }

    /// Argument `i` when given (present, even empty).
    fn opt(&self, i: usize) -> Option<&str> {
        self.args.get(i - 1).map(String::as_str)
    }

    /// Argument `i`, or `default` when absent or empty (`${i:-default}`).
    fn or<'s>(&'s self, i: usize, default: &'s str) -> &'s str {
        match self.opt(i) {
            Some(v) if !v.is_empty() => v,
            _ => default,
        }
    }

    /// `check_args`: too few arguments print `Usage: <cmd> <OPTIONS>` and exit 1.
    fn need(&self, n: usize) -> Step<()> {
        if self.args.len() < n {
            // v-make-tmp-file is the API's pseudo-command, not in the command list.
            let options = match self.name {
                "v-make-tmp-file" => "CONTENT NAME",
                name => commands::lookup(name)
                    .map(|c| c.options)
                    .unwrap_or_default(),
            };
            return Err(Stop::Exit(Output {
                exit: code::E_ARGS,
                stdout: format!("Usage: {} {options}\n", self.name),
            }));
        }
        Ok(())
    }

    /// The FORMAT argument at `i` (see [`Format::parse`]).
    fn format(&self, i: usize) -> Option<Format> {
        Format::parse(self.opt(i))
    }

    fn place<'p>(&self, kind: &'p str, owner: &'p str, parent: &'p str) -> Place<'p> {
        Place {
            panel_id: self.panel_id,
            kind,
            owner,
            parent,
        }
    }

    /// The panel's configuration row.
    async fn panel(&self) -> Step<objects::PanelConfig> {
        objects::panel(&self.state.db, self.panel_id)
            .await?
            .ok_or_else(|| Stop::Fail(Error::not_found(format!("panel {}", self.panel_id))))
    }

    /// A password argument (`is_password_valid`): a `/tmp/` path naming a file that
    /// `v-make-tmp-file` wrote stands for its first line.
    fn password(&self, i: usize) -> Step<String> {
        let raw = self.arg(i);
        let pw = match rules::tmp_path(raw)
            .and_then(|name| self.state.hestia_tmp.first_line(self.panel_id, name))
        {
            Some(line) => line,
            None => raw.to_owned(),
        };
        if pw.is_empty() || pw.chars().any(char::is_control) {
            return Err(fail(code::E_INVALID, "invalid password format"));
        }
        Ok(pw)
    }

    /// Hashes a password on the bounded argon2 pool.
    async fn hash(&self, pw: &str) -> Step<String> {
        Ok(self.state.hasher.hash(pw).await.map_err(Error::from)?)
    }

    /// Hestia's TIME and DATE of now.
    fn stamp(&self, attrs: &mut Attrs) {
        let (t, d) = rules::time_and_date(self.now);
        attrs.insert("TIME".into(), t);
        attrs.insert("DATE".into(), d);
    }
}

/// `is_format_valid`: stdout `Error: invalid <what> format :: <value>`, exit 2.
fn check(ok: bool, what: &str, value: &str) -> Step<()> {
    if ok {
        Ok(())
    } else {
        Err(fail(
            code::E_INVALID,
            format!("invalid {what} format :: {value}"),
        ))
    }
}

/// Prints a listing, or nothing when the format argument is not one of the four.
fn listed(format: Option<Format>, how: &Listing, rows: &[Row]) -> Output {
    Output {
        exit: 0,
        stdout: format
            .map(|f| listing::render(f, how, rows))
            .unwrap_or_default(),
    }
}

/// A field of an object's attributes, '' when it has none.
fn field(attrs: &Attrs, key: &str) -> String {
    attrs.get(key).cloned().unwrap_or_default()
}

/// The fields `keys` of an object, in that order.
fn pick(attrs: &Attrs, keys: &[&'static str]) -> Vec<(&'static str, listing::Field)> {
    keys.iter()
        .map(|k| (*k, listing::Field::Text(field(attrs, k))))
        .collect()
}

/// `is_object_valid 'user' 'USER'`: the user, or exit 3 `user X doesn't exist`.
async fn user(conn: &mut SqliteConnection, c: &Cmd<'_>, name: &str) -> Step<Object> {
    objects::get(&mut *conn, c.place("user", "", ""), name)
        .await?
        .ok_or_else(|| fail(code::E_NOTEXIST, format!("user {name} doesn't exist")))
}

/// The user, which must not be suspended (`is_object_unsuspended 'user'`).
async fn active_user(conn: &mut SqliteConnection, c: &Cmd<'_>, name: &str) -> Step<Object> {
    let u = user(conn, c, name).await?;
    if field(&u.attrs(), "SUSPENDED") == "yes" {
        return Err(fail(code::E_SUSPENDED, format!("user {name} is suspended")));
    }
    Ok(u)
}

/// `is_object_valid '<conf>' '<KEY>'`: an object of a user, or exit 3
/// `<conf basename> <key> <value> doesn't exist`.
async fn object(
    conn: &mut SqliteConnection,
    at: Place<'_>,
    name: &str,
    words: &str,
) -> Step<Object> {
    objects::get(&mut *conn, at, name)
        .await?
        .ok_or_else(|| fail(code::E_NOTEXIST, format!("{words} {name} doesn't exist")))
}

/// The user named by argument 1 and its domain of `kind` (`web`, `dns`, `mail`) named by
/// argument 2, or exit 3 `<words> <domain> doesn't exist` (e.g. `web domain`).
async fn user_domain(
    conn: &mut SqliteConnection,
    c: &Cmd<'_>,
    kind: &str,
    words: &str,
) -> Step<(Object, Object)> {
    let name = c.arg(1);
    check(rules::valid_user(name), "user", name)?;
    let u = user(conn, c, name).await?;
    let domain = web::domain_arg(c, 2)?;
    let d = object(conn, c.place(kind, name, ""), &domain, words).await?;
    Ok((u, d))
}

/// `is_package_full`: adding one more of `kind` (counted by `used`) must stay within the
/// user's package limit `LIMIT`, else exit 8.
fn within(user: &Attrs, limit: &str, used: usize) -> Step<()> {
    if rules::limit_reached(&field(user, limit), used) {
        return Err(fail(
            code::E_LIMIT,
            format!("{limit} limit is reached :: upgrade user package"),
        ));
    }
    Ok(())
}

/// Sets SUSPENDED on an object (`yes`/`no`), or exits 5/6 if it already is so.
async fn set_suspended(
    conn: &mut SqliteConnection,
    o: &Object,
    words: &str,
    suspend: bool,
) -> Step<()> {
    let mut a = o.attrs();
    let now = field(&a, "SUSPENDED") == "yes";
    if suspend && now {
        return Err(fail(
            code::E_SUSPENDED,
            format!("{words} {} is suspended", o.name),
        ));
    }
    if !suspend && !now {
        return Err(fail(
            code::E_UNSUSPENDED,
            format!("{words} {} is not suspended", o.name),
        ));
    }
    a.insert(
        "SUSPENDED".into(),
        if suspend { "yes" } else { "no" }.into(),
    );
    objects::set_attrs(&mut *conn, o.id, &a).await?;
    Ok(())
}

/// Runs one command on a panel, after the face's checks. `args` are already trimmed and
/// collapsed (A.2). A command of hestia-commands.tsv that is not modelled answers exit 11
/// `Error: <cmd> is not available in hostkey-emu`; a name that is not a Hestia command
/// answers exit 11 too (the face refuses those before, as Hestia's `Command not found`).
pub async fn run(state: &AppState, panel_id: i64, cmd: &str, args: &[String]) -> Result<Output> {
    let c = Cmd {
        state,
        panel_id,
        name: cmd,
        args,
        now: state.clock.now(),
    };
    let done = match cmd {
        "v-make-tmp-file" => system::make_tmp_file(&c).await,
        _ => match dispatch(&c).await {
            Some(done) => done,
            None => Err(not_modelled(cmd)),
        },
    };
    match done {
        Ok(out) => Ok(out),
        Err(Stop::Exit(out)) => Ok(out),
        Err(Stop::Fail(e)) => Err(e),
    }
}

/// The exit-11 answer for a command the emulator does not model.
fn not_modelled(cmd: &str) -> Stop {
    let what = if commands::lookup(cmd).is_some() {
        format!("{cmd} is not available in hostkey-emu")
    } else {
        format!("{cmd} is not a Hestia command")
    };
    fail(code::E_DISABLED, what)
}

/// The command's implementation, if the emulator models it.
async fn dispatch(c: &Cmd<'_>) -> Option<Step<Output>> {
    let out = match c.name {
        // Users and packages.
        "v-add-user" => users::add(c).await,
        "v-delete-user" => users::delete(c).await,
        "v-suspend-user" => users::suspend(c, true).await,
        "v-unsuspend-user" => users::suspend(c, false).await,
        "v-change-user-password" => users::change_password(c).await,
        "v-change-user-package" => users::change_package(c).await,
        "v-change-user-shell" => users::change_shell(c).await,
        "v-change-user-contact" => users::change_contact(c).await,
        "v-change-user-name" => users::change_name(c).await,
        "v-list-users" => users::list(c).await,
        "v-list-user" => users::show(c).await,
        "v-list-user-packages" => users::packages(c).await,
        "v-list-user-package" => users::package(c).await,
        "v-list-user-stats" => users::stats(c).await,
        "v-check-user-password" => users::verify(c).await,
        // Web domains.
        "v-add-domain" => web::add_domain(c).await,
        "v-add-web-domain" => web::add(c).await,
        "v-list-web-domains" => web::list(c, None).await,
        "v-list-web-domain" => web::list(c, Some(c.arg(2))).await,
        "v-delete-web-domain" => web::delete(c).await,
        "v-suspend-web-domain" => web::suspend(c, true).await,
        "v-unsuspend-web-domain" => web::suspend(c, false).await,
        "v-add-web-domain-alias" => web::add_alias(c).await,
        "v-add-letsencrypt-domain" => web::letsencrypt(c, true).await,
        "v-delete-letsencrypt-domain" => web::letsencrypt(c, false).await,
        "v-add-web-domain-ftp" => web::add_ftp(c).await,
        "v-purge-nginx-cache" => web::purge_cache(c).await,
        // DNS.
        "v-add-dns-domain" => dns::add(c).await,
        "v-list-dns-domains" => dns::list(c, None).await,
        "v-list-dns-domain" => dns::list(c, Some(c.arg(2))).await,
        "v-delete-dns-domain" => dns::delete(c).await,
        "v-add-dns-record" => dns::add_record(c).await,
        "v-list-dns-records" => dns::records(c).await,
        "v-change-dns-record" => dns::change_record(c).await,
        "v-delete-dns-record" => dns::delete_record(c).await,
        // Mail.
        "v-add-mail-domain" => mail::add(c).await,
        "v-list-mail-domains" => mail::list(c, None).await,
        "v-list-mail-domain" => mail::list(c, Some(c.arg(2))).await,
        "v-delete-mail-domain" => mail::delete(c).await,
        "v-add-mail-account" => mail::add_account(c).await,
        "v-list-mail-accounts" => mail::accounts(c, None).await,
        "v-list-mail-account" => mail::accounts(c, Some(c.arg(3))).await,
        "v-delete-mail-account" => mail::delete_account(c).await,
        "v-change-mail-account-password" => mail::change_password(c).await,
        // Databases and cron.
        "v-add-database" => dbs::add(c).await,
        "v-list-databases" => dbs::list(c, None).await,
        "v-list-database" => dbs::list(c, Some(c.arg(2))).await,
        "v-delete-database" => dbs::delete(c).await,
        "v-change-database-password" => dbs::change_password(c).await,
        "v-add-cron-job" => dbs::add_cron(c).await,
        "v-list-cron-jobs" => dbs::crons(c).await,
        "v-delete-cron-job" => dbs::delete_cron(c).await,
        // System.
        "v-list-sys-info" => system::info(c).await,
        "v-list-sys-config" => system::config(c).await,
        "v-list-sys-services" => system::services(c).await,
        "v-restart-service" => system::restart(c).await,
        "v-list-sys-ips" => system::ips(c, None).await,
        "v-list-user-ips" => system::ips(c, Some(c.arg(1))).await,
        "v-backup-user" => system::backup(c).await,
        "v-list-user-backups" => system::backups(c).await,
        _ => return None,
    };
    Some(out)
}

/// Every command [`run`] models (the rest of hestia-commands.tsv answers exit 11).
pub const MODELLED: [&str; 61] = [
    "v-add-user",
    "v-delete-user",
    "v-suspend-user",
    "v-unsuspend-user",
    "v-change-user-password",
    "v-change-user-package",
    "v-change-user-shell",
    "v-change-user-contact",
    "v-change-user-name",
    "v-list-users",
    "v-list-user",
    "v-list-user-packages",
    "v-list-user-package",
    "v-list-user-stats",
    "v-check-user-password",
    "v-add-domain",
    "v-add-web-domain",
    "v-list-web-domains",
    "v-list-web-domain",
    "v-delete-web-domain",
    "v-suspend-web-domain",
    "v-unsuspend-web-domain",
    "v-add-web-domain-alias",
    "v-add-letsencrypt-domain",
    "v-delete-letsencrypt-domain",
    "v-add-web-domain-ftp",
    "v-purge-nginx-cache",
    "v-add-dns-domain",
    "v-list-dns-domains",
    "v-list-dns-domain",
    "v-delete-dns-domain",
    "v-add-dns-record",
    "v-list-dns-records",
    "v-change-dns-record",
    "v-delete-dns-record",
    "v-add-mail-domain",
    "v-list-mail-domains",
    "v-list-mail-domain",
    "v-delete-mail-domain",
    "v-add-mail-account",
    "v-list-mail-accounts",
    "v-list-mail-account",
    "v-delete-mail-account",
    "v-change-mail-account-password",
    "v-add-database",
    "v-list-databases",
    "v-list-database",
    "v-delete-database",
    "v-change-database-password",
    "v-add-cron-job",
    "v-list-cron-jobs",
    "v-delete-cron-job",
    "v-list-sys-info",
    "v-list-sys-config",
    "v-list-sys-services",
    "v-restart-service",
    "v-list-sys-ips",
    "v-list-user-ips",
    "v-backup-user",
    "v-list-user-backups",
    "v-make-tmp-file",
];

/// Fills a new panel (the face inserts the `hestia_panels` row in the same transaction):
/// the ROOT_USER admin user with this password (hashed here, on the bounded pool, before
/// anything is written), the shipped packages, the panel's IP as a shared system IP owned
/// by the admin. The services are the fixed list of [`rules::SERVICES`].
///
/// Contract change: takes `state` first (for the argon2 pool and its costs) besides the
/// transaction's connection.
pub async fn init_panel(
    state: &AppState,
    tx: &mut SqliteConnection,
    panel_id: i64,
    admin_password: &str,
    admin_email: &str,
    now: i64,
) -> Result<()> {
    let hash = state.hasher.hash(admin_password).await?;
    let panel = objects::panel(&mut *tx, panel_id)
        .await?
        .ok_or_else(|| Error::not_found(format!("panel {panel_id}")))?;
    let (t, d) = rules::time_and_date(now);
    for (name, mut fields) in rules::shipped_packages() {
        fields.insert("TIME".into(), t.clone());
        fields.insert("DATE".into(), d.clone());
        let at = Place {
            panel_id,
            kind: "package",
            owner: "",
            parent: "",
        };
        objects::insert(&mut *tx, at, name, &fields, None, now).await?;
    }
    let system = rules::shipped_packages()
        .into_iter()
        .find(|(n, _)| *n == "system")
        .map(|(_, f)| f)
        .unwrap_or_default();
    let attrs = users::new_user_attrs(
        "System Administrator",
        "system",
        &system,
        admin_email,
        "admin",
        now,
    );
    let at = Place {
        panel_id,
        kind: "user",
        owner: "",
        parent: "",
    };
    objects::insert(&mut *tx, at, &panel.root_user, &attrs, Some(&hash), now).await?;
    let ip: Attrs = [
        ("OWNER", panel.root_user.as_str()),
        ("STATUS", "shared"),
        ("NAME", ""),
        ("INTERFACE", "eth0"),
        ("NETMASK", "255.255.255.0"),
        ("NAT", ""),
        ("TIME", t.as_str()),
        ("DATE", d.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let at = Place {
        panel_id,
        kind: "ip",
        owner: "",
        parent: "",
    };
    objects::insert(&mut *tx, at, &panel.ip, &ip, None, now).await?;
    Ok(())
}

/// A panel user as the face's checks need it (access-key owner, suspended owner).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserFacts {
    /// ROLE=admin.
    pub admin: bool,
    pub suspended: bool,
}

/// A panel user's role and suspension, if the user exists.
pub async fn user_facts(state: &AppState, panel_id: i64, user: &str) -> Result<Option<UserFacts>> {
    let at = Place {
        panel_id,
        kind: "user",
        owner: "",
        parent: "",
    };
    Ok(objects::get(&state.db, at, user).await?.map(|u| {
        let a = u.attrs();
        UserFacts {
            admin: field(&a, "ROLE") == "admin",
            suspended: field(&a, "SUSPENDED") == "yes",
        }
    }))
}

/// Is this the user's current password (v-change-user-password changes it)? For the
/// legacy password authentication; an unknown user is `false`.
pub async fn check_password(
    state: &AppState,
    panel_id: i64,
    user: &str,
    password: &str,
) -> Result<bool> {
    let at = Place {
        panel_id,
        kind: "user",
        owner: "",
        parent: "",
    };
    let Some(u) = objects::get(&state.db, at, user).await? else {
        return Ok(false);
    };
    Ok(match u.secret {
        Some(phc) => state.hasher.verify(password, &phc).await,
        None => false,
    })
}

/// The panel's DNS zones as the emulator's DNS server serves them: the zone (as a
/// `store::dns::Zone`, its SOA from the Hestia domain) and its records, for the panel DNS
/// domain that holds `name`. Suspended domains are not served.
pub async fn dns_zone_holding(
    state: &AppState,
    name: &str,
) -> Result<Option<(crate::store::dns::Zone, Vec<crate::store::dns::Record>)>> {
    dns::served_zone(state, name).await
}

#[cfg(test)]
pub(crate) mod test_support {
    //! A panel on the demo scenario's first server, initialised as the face would.

    use super::*;

    /// The admin's password in these tests.
    pub(crate) const ADMIN_PW: &str = "Adm1nPassw0rd";
    /// The panel's address.
    pub(crate) const IP: &str = "203.0.113.10";

    /// A test state with one initialised panel; its id.
    pub(crate) async fn panel() -> (AppState, i64) {
        let state = crate::ops::test_support::state().await;
        let server =
            crate::store::servers::ids_for_account(&state.db, crate::ops::test_support::DEMO)
                .await
                .expect("servers")
                .into_iter()
                .next()
                .expect("a server");
        let id = objects::insert_panel(&state.db, server, "panel.example.com", IP, 1_700_000_000)
            .await
            .expect("panel");
        let mut tx = crate::store::begin_write(&state.db).await.expect("tx");
        init_panel(
            &state,
            &mut tx,
            id,
            ADMIN_PW,
            "admin@example.com",
            1_700_000_000,
        )
        .await
        .expect("init");
        tx.commit().await.expect("commit");
        (state, id)
    }

    /// Runs a command with string arguments.
    pub(crate) async fn sh(state: &AppState, panel: i64, cmd: &str, args: &[&str]) -> Output {
        let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        run(state, panel, cmd, &args).await.expect("run")
    }

    /// Runs a command that must succeed; its stdout.
    pub(crate) async fn ok(state: &AppState, panel: i64, cmd: &str, args: &[&str]) -> String {
        let out = sh(state, panel, cmd, args).await;
        assert_eq!(out.exit, 0, "{cmd} {args:?}: {}", out.stdout);
        out.stdout
    }

    /// A JSON listing, parsed.
    pub(crate) async fn json(
        state: &AppState,
        panel: i64,
        cmd: &str,
        args: &[&str],
    ) -> serde_json::Value {
        let mut all: Vec<&str> = args.to_vec();
        all.push("json");
        let out = ok(state, panel, cmd, &all).await;
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{cmd}: {e}: {out}"))
    }

    /// The keys of a JSON object in their printed order.
    pub(crate) fn keys_in_order(text: &str, object: &str) -> Vec<String> {
        // serde_json's Map sorts keys; read the order from the text instead.
        let start = text.find(&format!("\"{object}\": {{")).expect("object");
        let body = &text[start..];
        let end = body.find('}').expect("end");
        body[..end]
            .lines()
            .skip(1)
            .filter_map(|l| l.trim().strip_prefix('"'))
            .filter_map(|l| l.split('"').next())
            .map(str::to_owned)
            .collect()
    }
}

#[cfg(test)]
mod tests;
