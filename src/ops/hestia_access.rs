//! The Hestia face's operations (issue 18), protocol-neutral: which panel answers, whether
//! its server can be reached, the credentials (legacy password and key, access keys) checked
//! in Hestia's order, the commands about credentials and the API switches
//! (`v-add-access-key`, `v-generate-api-key`, `v-add-sys-api-ip`...), and a panel's life
//! with its server's installs. Every other command runs in [`crate::ops::hestia`].

use sqlx::SqliteConnection;

use crate::domain::catalogue::Software;
use crate::domain::hestia_keys::{self as rules, KeyView};
use crate::error::{Error, Result};
use crate::ops::hestia::{self as model, Output};
use crate::secrets;
use crate::state::AppState;
use crate::store::{
    self,
    hestia_panels::{self as panels, AccessKey, Panel, Switches},
};

/// The software's name in the catalogue (`software/list`, `eq/order_instance soft_id`).
pub const SOFTWARE_NAME: &str = crate::domain::ordering::HESTIA_SOFTWARE;

/// The commands the face runs itself (credentials and API switches); `run` sends every
/// other one to the panel model.
pub const OWN_COMMANDS: &[&str] = &[
    "v-add-access-key",
    "v-list-access-keys",
    "v-list-access-key",
    "v-delete-access-key",
    "v-check-access-key",
    "v-list-apis",
    "v-list-api",
    "v-generate-api-key",
    "v-revoke-api-key",
    "v-check-api-key",
    "v-add-sys-api-ip",
    "v-delete-sys-api-ip",
    "v-change-sys-api",
];

/// Whether a command exists on a panel: Hestia's scripts and the `v-make-tmp-file`
/// pseudo-command of the API.
pub fn command_exists(cmd: &str) -> bool {
    cmd == "v-make-tmp-file" || rules::command(cmd).is_some()
}

/// The panel a request's `Host` names (see [`panels::for_host`]), filled first when it came
/// from a scenario and was not used yet.
pub async fn panel_for_host(state: &AppState, host: &str) -> Result<Option<Panel>> {
    let Some(panel) = panels::for_host(&state.db, host).await? else {
        return Ok(None);
    };
    if panel.admin_seed.is_some() {
        fill_seeded(state, &panel).await?;
    }
    Ok(Some(panel))
}

/// Fills a scenario's panel (admin user, packages, IPs, services) with its admin password's
/// precomputed PHC string; once, whoever asks first.
async fn fill_seeded(state: &AppState, panel: &Panel) -> Result<()> {
    let now = state.clock.now();
    let mut tx = store::begin_write(&state.db).await?;
    let Some(phc) = panels::take_admin_seed(&mut tx, panel.id).await? else {
        return Ok(());
    };
    let email = admin_email(&mut tx, panel.server_id, &panel.hostname).await?;
    // The clear password is never known: the panel starts with a throwaway one, replaced
    // by the scenario's hash.
    let throwaway = rules::new_secret_access_key();
    model::init_panel(state, &mut tx, panel.id, &throwaway, &email, now).await?;
    let at = store::hestia::Place {
        panel_id: panel.id,
        kind: "user",
        owner: "",
        parent: "",
    };
    let admin = store::hestia::get(&mut *tx, at, &panel.root_user)
        .await?
        .ok_or_else(|| Error::internal("the filled panel has no admin user"))?;
    store::hestia::set_secret(&mut *tx, admin.id, &phc).await?;
    tx.commit().await?;
    Ok(())
}

/// The admin user's e-mail: the server's account's, else `admin@<hostname>`.
async fn admin_email(
    conn: &mut SqliteConnection,
    server_id: i64,
    hostname: &str,
) -> Result<String> {
    let account = store::servers::get(&mut *conn, server_id)
        .await?
        .and_then(|s| s.account_id);
    if let Some(id) = account {
        if let Some(a) = store::accounts::get(&mut *conn, id).await? {
            return Ok(a.email);
        }
    }
    Ok(format!("admin@{hostname}"))
}

/// Whether the panel's server can be reached: powered on, not suspended, not waiting for
/// its deployment, not in an installer. An unreachable panel answers nothing at all.
pub async fn reachable(state: &AppState, panel: &Panel) -> Result<bool> {
    let Some(server) = store::servers::get(&state.db, panel.server_id).await? else {
        return Ok(false);
    };
    if server.power != "on" || matches!(server.status.as_str(), "power_off" | "pending") {
        return Ok(false);
    }
    Ok(store::deploy::running_install(&state.db, server.id)
        .await?
        .is_none())
}

/// Legacy password authentication: `user` must be ROOT_USER and the password its current one.
pub async fn check_password(state: &AppState, panel: &Panel, password: &str) -> Result<bool> {
    model::check_password(state, panel.id, &panel.root_user, password).await
}

/// Legacy key authentication (`v-check-api-key`): at least 16 characters, and a key the
/// panel generated.
pub async fn check_api_key(state: &AppState, panel: &Panel, key: &str) -> Result<bool> {
    if key.len() < 16 {
        return Ok(false);
    }
    Ok(panels::has_api_key(&state.db, panel.id, &secrets::digest(key)).await?)
}

/// A refusal on the access-key path: the exit code and the message (`Error: ...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub exit: u8,
    pub message: String,
}

fn refuse(exit: u8, message: impl Into<String>) -> Refusal {
    Refusal {
        exit,
        message: message.into(),
    }
}

/// An access key that was let in for a command.
#[derive(Debug, Clone)]
pub struct KeyHolder {
    pub key: AccessKey,
    /// The key's user is ROOT_USER (no user-argument check, no `API_SYSTEM=2` needed).
    pub root: bool,
}

/// `v-check-access-key ID SECRET CMD` as the API runs it (A.4): the key's format, its
/// existence, the secret, the command's existence, the permission, the owner's state; every
/// failure but a forbidden command is exit 9.
pub async fn check_access_key(
    state: &AppState,
    panel: &Panel,
    id: &str,
    secret: &str,
    cmd: &str,
) -> Result<std::result::Result<KeyHolder, Refusal>> {
    if !rules::is_access_key_id(id) {
        return Ok(Err(refuse(
            9,
            format!("Error: invalid access_key_id format :: {id}"),
        )));
    }
    let Some(key) = panels::access_key(&state.db, panel.id, id).await? else {
        return Ok(Err(refuse(9, format!("Error: key {id} doesn't exist"))));
    };
    if !rules::is_secret_access_key(secret) {
        return Ok(Err(refuse(9, "Error: invalid secret_access_key format")));
    }
    // Digests are compared, so the comparison's time tells nothing about the secret.
    if secrets::digest(secret) != key.secret_digest {
        return Ok(Err(refuse(
            9,
            format!("Error: Invalid secret key for key {id}"),
        )));
    }
    let Some(owner) = model::user_facts(state, panel.id, &key.user).await? else {
        // The user was deleted: its keys went with it.
        return Ok(Err(refuse(9, format!("Error: key {id} doesn't exist"))));
    };
    if !command_exists(cmd) {
        return Ok(Err(refuse(10, format!("Error: Command {cmd} not found"))));
    }
    let root = key.user == panel.root_user;
    if !rules::key_allows(&key.permissions, root, cmd) {
        return Ok(Err(refuse(
            10,
            format!("Error: Key {id} don't have permission to run the command {cmd}"),
        )));
    }
    if owner.suspended {
        return Ok(Err(refuse(
            9,
            format!("Error: user {} is suspended", key.user),
        )));
    }
    Ok(Ok(KeyHolder { key, root }))
}

/// Runs a command on a panel after the face's checks: the face's own commands here, every
/// other one in the panel model.
pub async fn run(state: &AppState, panel: &Panel, cmd: &str, args: &[String]) -> Result<Output> {
    if OWN_COMMANDS.contains(&cmd) {
        return own(state, panel, cmd, args).await;
    }
    model::run(state, panel.id, cmd, args).await
}

fn out(exit: u8, stdout: impl Into<String>) -> Output {
    Output {
        exit,
        stdout: stdout.into(),
    }
}

/// An argument, `None` when absent.
fn arg(args: &[String], n: usize) -> Option<&str> {
    args.get(n - 1).map(String::as_str)
}

/// The FORMAT argument at `n` (scripts use `${n-default}`): absent gives the default, an
/// empty or unknown format prints nothing.
fn format_at<'a>(args: &'a [String], n: usize, default: &'a str) -> &'a str {
    arg(args, n).unwrap_or(default)
}

async fn own(state: &AppState, panel: &Panel, cmd: &str, args: &[String]) -> Result<Output> {
    let needed = match cmd {
        "v-add-access-key"
        | "v-list-access-key"
        | "v-delete-access-key"
        | "v-list-api"
        | "v-add-sys-api-ip"
        | "v-delete-sys-api-ip"
        | "v-change-sys-api"
        | "v-check-api-key" => 1,
        "v-check-access-key" => 3,
        _ => 0,
    };
    if args.len() < needed {
        return Ok(out(1, rules::usage(cmd)));
    }
    let now = state.clock.now();
    match cmd {
        "v-add-access-key" => add_access_key(state, panel, args, now).await,
        "v-list-access-key" => {
            let id = &args[0];
            if !rules::is_access_key_id(id) {
                return Ok(out(
                    2,
                    format!("Error: invalid access_key_id format :: {id}"),
                ));
            }
            let Some(k) = panels::access_key(&state.db, panel.id, id).await? else {
                return Ok(out(3, format!("Error: key {id} doesn't exist")));
            };
            let text = rules::render_key(&view(&k, None), format_at(args, 2, "shell"));
            Ok(out(0, text.unwrap_or_default()))
        }
        "v-list-access-keys" => {
            let user = arg(args, 1).filter(|u| !u.is_empty());
            if let Some(u) = user {
                if model::user_facts(state, panel.id, u).await?.is_none() {
                    return Ok(out(3, format!("Error: user {u} doesn't exist")));
                }
            }
            let keys: Vec<KeyView> = panels::access_keys(&state.db, panel.id, user)
                .await?
                .iter()
                .map(|k| view(k, None))
                .collect();
            Ok(out(
                0,
                rules::render_keys(&keys, format_at(args, 2, "shell")).unwrap_or_default(),
            ))
        }
        "v-delete-access-key" => {
            let id = &args[0];
            if !rules::is_access_key_id(id) {
                return Ok(out(
                    2,
                    format!("Error: invalid access_key_id format :: {id}"),
                ));
            }
            let mut tx = store::begin_write(&state.db).await?;
            let gone = panels::delete_access_key(&mut *tx, panel.id, id).await?;
            tx.commit().await?;
            Ok(if gone {
                out(0, "")
            } else {
                out(3, format!("Error: key {id} doesn't exist"))
            })
        }
        "v-check-access-key" => {
            match check_access_key(state, panel, &args[0], &args[1], &args[2]).await? {
                Ok(h) => Ok(out(
                    0,
                    rules::render_key(&view(&h.key, None), format_at(args, 5, "shell"))
                        .unwrap_or_default(),
                )),
                Err(r) => Ok(out(r.exit, r.message)),
            }
        }
        "v-list-apis" => Ok(out(
            0,
            rules::render_profiles(format_at(args, 1, "shell")).unwrap_or_default(),
        )),
        "v-list-api" => match rules::profile(&args[0]) {
            Some(p) => Ok(out(
                0,
                rules::render_profile(p, format_at(args, 2, "shell")).unwrap_or_default(),
            )),
            None => Ok(out(3, format!("Error: API {} doesn't exist", args[0]))),
        },
        "v-generate-api-key" => {
            let key = rules::new_legacy_key();
            let mut tx = store::begin_write(&state.db).await?;
            panels::insert_api_key(&mut *tx, panel.id, &secrets::digest(&key), now).await?;
            tx.commit().await?;
            Ok(out(0, key))
        }
        "v-revoke-api-key" => {
            let key = arg(args, 1).unwrap_or("");
            let mut tx = store::begin_write(&state.db).await?;
            let gone = panels::delete_api_key(&mut *tx, panel.id, &secrets::digest(key)).await?;
            tx.commit().await?;
            Ok(if gone {
                out(0, "")
            } else {
                out(3, "Error: key doesn't exist")
            })
        }
        "v-check-api-key" => Ok(if check_api_key(state, panel, &args[0]).await? {
            out(0, "")
        } else {
            out(9, "Error: authentication failed")
        }),
        "v-add-sys-api-ip" | "v-delete-sys-api-ip" => {
            let ip = args[0].replace(' ', "");
            if ip != "allow-all" && ip.parse::<std::net::IpAddr>().is_err() {
                return Ok(out(2, format!("Error: invalid ip format :: {ip}")));
            }
            let mut list: Vec<String> = panel
                .api_allowed_ip
                .split(',')
                .map(str::trim)
                .filter(|e| !e.is_empty())
                .map(str::to_owned)
                .collect();
            if cmd == "v-add-sys-api-ip" {
                // Everyone is let in already: nothing to add.
                if list.contains(&ip) || list.iter().any(|e| e == "allow-all") {
                    return Ok(out(0, ""));
                }
                list.push(ip);
            } else {
                list.retain(|e| *e != ip);
            }
            set_switches(
                state,
                panel.id,
                &Switches {
                    api_allowed_ip: Some(list.join(",")),
                    ..Switches::default()
                },
            )
            .await?;
            Ok(out(0, ""))
        }
        "v-change-sys-api" => {
            let (api, mode) = match args[0].as_str() {
                "enable" => ("yes", "enabled"),
                "disable" => ("no", "disabled"),
                "remove" => ("no", "removed"),
                other => return Ok(out(2, format!("Error: invalid status format :: {other}"))),
            };
            set_switches(
                state,
                panel.id,
                &Switches {
                    api: Some(api.into()),
                    api_mode: Some(mode.into()),
                    ..Switches::default()
                },
            )
            .await?;
            Ok(out(0, ""))
        }
        _ => Err(Error::internal(format!("{cmd} is not the face's"))),
    }
}

fn view(k: &AccessKey, secret: Option<String>) -> KeyView {
    let (time, date) = rules::time_date(k.created_at);
    KeyView {
        id: k.id.clone(),
        secret,
        user: k.user.clone(),
        permissions: k.permissions.clone(),
        comment: k.comment.clone(),
        time,
        date,
    }
}

/// `v-add-access-key USER [PERMISSIONS] [COMMENT] [FORMAT]` (A.10): PERMISSIONS names API
/// profiles; non-admin users need at least one and only `user` ones; an empty list is every
/// command (ROOT_USER). Prints the new key, its secret included (the only time it is shown:
/// the emulator keeps a digest).
async fn add_access_key(
    state: &AppState,
    panel: &Panel,
    args: &[String],
    now: i64,
) -> Result<Output> {
    let user = args[0].as_str();
    let Some(facts) = model::user_facts(state, panel.id, user).await? else {
        return Ok(out(3, format!("Error: user {user} doesn't exist")));
    };
    let permissions: Vec<&str> = rules::permission_names(arg(args, 2).unwrap_or(""));
    let mut profiles = Vec::new();
    for name in &permissions {
        match rules::profile(name) {
            Some(p) => profiles.push(p),
            None => return Ok(out(3, format!("Error: API {name} doesn't exist"))),
        }
    }
    let admin = user == panel.root_user || facts.admin;
    if !admin {
        if profiles.is_empty() {
            return Ok(out(2, "Error: Non-admin users need a permission list"));
        }
        if profiles.iter().any(|p| p.role != "user") {
            return Ok(out(2, "Error: Only the admin can run this API"));
        }
    }
    let comment = arg(args, 3).unwrap_or("").to_owned();
    let secret = rules::new_secret_access_key();
    let key = AccessKey {
        panel_id: panel.id,
        id: rules::new_access_key_id(),
        secret_digest: secrets::digest(&secret),
        user: user.to_owned(),
        permissions: permissions.join(","),
        comment,
        created_at: now,
    };
    let mut tx = store::begin_write(&state.db).await?;
    panels::insert_access_key(&mut *tx, &key).await?;
    tx.commit().await?;
    let text = rules::render_key(&view(&key, Some(secret)), format_at(args, 4, "json"));
    Ok(out(0, text.unwrap_or_default()))
}

/// Changes a panel's API switches (the control plane and `v-*-sys-api*`), checking them.
pub async fn set_switches(state: &AppState, panel_id: i64, s: &Switches) -> Result<()> {
    if let Some(api) = &s.api {
        if !matches!(api.as_str(), "yes" | "no") {
            return Err(Error::invalid("api must be yes or no"));
        }
    }
    if let Some(system) = &s.api_system {
        if !matches!(system.as_str(), "0" | "1" | "2") {
            return Err(Error::invalid("api_system must be 0, 1 or 2"));
        }
    }
    if let Some(mode) = &s.api_mode {
        if !matches!(mode.as_str(), "enabled" | "disabled" | "removed") {
            return Err(Error::invalid(
                "api_mode must be enabled, disabled or removed",
            ));
        }
    }
    if let Some(ips) = &s.api_allowed_ip {
        let bad = ips
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .find(|e| *e != "allow-all" && e.parse::<std::net::IpAddr>().is_err());
        if let Some(bad) = bad {
            return Err(Error::invalid(format!(
                "api_allowed_ip: {} is neither an IP address nor allow-all",
                crate::domain::rules::shorten(bad)
            )));
        }
    }
    let mut tx = store::begin_write(&state.db).await?;
    panels::set_switches(&mut *tx, panel_id, s).await?;
    tx.commit().await?;
    Ok(())
}

/// How a new panel's admin logs in, as the install's completion tells it (never stored in
/// clear: the panel keeps an argon2 hash).
#[derive(Debug, Clone)]
pub struct PanelLogin {
    pub url: String,
    pub user: String,
    pub password: String,
}

/// A finished install, inside the worker's transaction: the server's previous panel goes
/// (a reinstall wipes the disk); with the Hestia software a fresh panel is made for the
/// server's hostname and main address, its admin password generated, and the server gets
/// the `hestia_url` and `hestia_user` tags.
pub async fn on_install(
    state: &AppState,
    conn: &mut SqliteConnection,
    server_id: i64,
    soft: Option<&Software>,
    hostname: &str,
    now: i64,
) -> Result<Option<PanelLogin>> {
    panels::delete_for_server(&mut *conn, server_id).await?;
    if soft.is_none_or(|s| s.name != SOFTWARE_NAME) {
        return Ok(None);
    }
    let (ip, _) = store::deploy::install_addresses(&mut *conn, server_id).await?;
    let panel = panels::insert(&mut *conn, server_id, hostname, &ip, now).await?;
    let password = crate::sim::installer::random_alnum(16);
    let email = admin_email(&mut *conn, server_id, hostname).await?;
    model::init_panel(state, &mut *conn, panel, &password, &email, now).await?;
    let login = PanelLogin {
        url: format!("https://{hostname}:8083/"),
        user: "admin".to_owned(),
        password,
    };
    for (tag, value) in [("hestia_url", &login.url), ("hestia_user", &login.user)] {
        store::tags::upsert(&mut *conn, "eq", server_id, tag, value, "", 0).await?;
    }
    Ok(Some(login))
}
