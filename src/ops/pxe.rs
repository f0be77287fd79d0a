//! The PXE reinstall path (001 "Reinstall the operating system on the server (second
//! option)"): the master key (eq/reinstall), the PXE configuration (create_pxe), the boot
//! device (boot_dev) and removing the configuration (clear_pxe). A reboot with PXE as boot
//! device then runs the installer, which reports its stages on the master key.
//!
//! One install runs per server at a time: every step that would change what a running
//! installer installs checks for one inside the write transaction that makes the change, so
//! of parallel requests only those before the install starts get through.

use sqlx::SqliteConnection;

use crate::domain::catalogue::root_pass_ok;
use crate::domain::rules::{shorten, valid_hostname};
use crate::error::{Error, Result};
use crate::ops::sessions::Principal;
use crate::ops::{orders, servers};
use crate::queue::{self, Job, NewTask};
use crate::secrets;
use crate::state::AppState;
use crate::store::{self, callbacks::NewCallback, servers::Server};

/// The device a server boots from next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootMedia {
    /// The network: with a PXE configuration, the installer.
    Pxe,
    Disk,
    /// Virtual media (an ISO).
    Cd,
}

impl BootMedia {
    /// The name records and jobs use (`bootdev_pxe`, `{"media": "pxe"}`).
    pub fn name(self) -> &'static str {
        match self {
            BootMedia::Pxe => "pxe",
            BootMedia::Disk => "disk",
            BootMedia::Cd => "cd",
        }
    }
}

/// What eq/create_pxe configures.
#[derive(Debug, Clone)]
pub struct CreatePxe {
    pub os_id: i64,
    /// The root password the installer sets (checked against the password policy).
    pub root_pass: String,
    pub hostname: String,
    /// Where the installer posts when it is done.
    pub post_install_callback: Option<String>,
    /// The master key of eq/reinstall, when the customer names it.
    pub reinstall_key: Option<String>,
}

/// Remote boot steps need a server that is online and has remote control.
/// Whether `server` can be booted remotely now (`what`: the step asking): online, with
/// remote control.
pub fn remote_boot(server: &Server, what: &'static str) -> Result<()> {
    servers::ensure_online(server, what)?;
    if server.control == "none" {
        return Err(Error::NoRemoteBoot {
            server: server.id,
            what,
        });
    }
    Ok(())
}

/// Refuses while an install (order, reinstall or PXE installer) runs on the server. Call it
/// inside the write transaction that makes the change.
async fn not_installing(conn: &mut SqliteConnection, server_id: i64) -> Result<()> {
    if store::deploy::running_install(&mut *conn, server_id)
        .await?
        .is_some()
    {
        return Err(Error::InstallRunning { server: server_id });
    }
    Ok(())
}

/// A job of the PXE path for `server`, reported on a record of its own.
fn task<'a>(
    caller: &Principal,
    server: &Server,
    action: &'a str,
    ctx_action: &str,
    job: Job,
    ms: i64,
) -> NewTask<'a> {
    let context = queue::server_context(ctx_action, server.id, &server.location);
    NewTask::on_server("eq", caller.account.id, server, action, context, job, ms)
}

/// Starts a PXE reinstall of `server` (one the principal owns): creates the master key the
/// installer will report its stages to. The key's record and the server's master key are
/// written in the transaction that checks no install runs. Returns the master key.
pub async fn reinstall(state: &AppState, caller: &Principal, server: &Server) -> Result<String> {
    remote_boot(server, "a reinstall")?;
    let now = state.clock.now();
    let mut tx = store::begin_write(&state.db).await?;
    not_installing(&mut tx, server.id).await?;
    let key = secrets::callback_key();
    let context = queue::server_context("reinstall", server.id, &server.location);
    store::callbacks::create(
        &mut *tx,
        &NewCallback {
            key: &key,
            module: "eq",
            account_id: Some(caller.account.id),
            server_id: server.id,
            action: "reinstall",
            context: &context,
        },
        now,
    )
    .await?;
    store::deploy::set_master_key(&mut tx, server.id, &key, now).await?;
    // No job yet: the installer started by a PXE boot reports on this record.
    tx.commit().await?;
    Ok(key)
}

/// Writes the PXE configuration of an OS install on `server` (one the principal owns): the
/// OS must exist, install over PXE and suit the server's kind and size (002: "OS is not
/// compatible with preset"); the root password and hostname must follow their rules; a
/// named master key must be the server's. Returns the callback key of the queued job.
pub async fn create(
    state: &AppState,
    caller: &Principal,
    server: &Server,
    args: &CreatePxe,
) -> Result<String> {
    remote_boot(server, "PXE boot")?;
    let os_id = args.os_id;
    pxe_os(state, server, os_id)?;
    check_root_pass(&args.root_pass)?;
    check_hostname(&args.hostname)?;
    let mut tx = store::begin_write(&state.db).await?;
    // A configuration changed under a running installer would change what it installs
    // (and the installer has taken the master key, so this check comes first).
    not_installing(&mut tx, server.id).await?;
    if let Some(k) = &args.reinstall_key {
        let ok = store::deploy::pxe(&mut *tx, server.id)
            .await?
            .and_then(|c| c.reinstall_key)
            .is_some_and(|m| m == *k);
        if !ok {
            return Err(Error::NotMasterKey);
        }
    }
    store::deploy::configure_pxe(
        &mut *tx,
        server.id,
        os_id,
        &args.hostname,
        args.post_install_callback.as_deref(),
        state.clock.now(),
    )
    .await?;
    let job = task(
        caller,
        server,
        "create_pxe",
        "create_pxe",
        Job::PxeConfig { create: true },
        4_000,
    );
    let key = queue::submit_in(state, &mut tx, job).await?;
    queue::commit(state, tx).await?;
    Ok(key)
}

/// The OS `os_id` if the catalogue has it, it installs over PXE, and it suits the server's
/// kind and size.
pub fn pxe_os(state: &AppState, server: &Server, os_id: i64) -> Result<()> {
    let os = state
        .catalogue
        .os(os_id)
        .ok_or(Error::UnknownOs { os_id })?;
    if os.pxe_os_id.is_none() {
        return Err(Error::invalid(format!(
            "OS {} (#{os_id}) cannot be installed over PXE on server {}",
            os.name, server.id
        )));
    }
    let what = format!("server {}", server.id);
    let kind = orders::server_kind(state, server);
    orders::check_os(os, &kind, orders::server_size(server), &what)
}

/// The installer's root password rule: 8 characters or more, upper- and lowercase Latin
/// letters and a special character.
pub fn check_root_pass(pass: &str) -> Result<()> {
    if !root_pass_ok(pass) {
        return Err(Error::invalid(
            "root_pass must be at least 8 characters long with upper- and lowercase Latin letters and a special character",
        ));
    }
    Ok(())
}

/// A hostname the installer can set.
pub fn check_hostname(hostname: &str) -> Result<()> {
    if !valid_hostname(hostname) {
        return Err(Error::invalid(format!(
            "invalid hostname '{}'",
            shorten(hostname)
        )));
    }
    Ok(())
}

/// Sets the device `server` (one the principal owns) boots from next; needs remote control.
/// Returns the callback key of the queued job.
pub async fn boot_dev(
    state: &AppState,
    caller: &Principal,
    server: &Server,
    media: BootMedia,
) -> Result<String> {
    remote_boot(server, "changing the boot device")?;
    let ctx_action = format!("bootdev_{}", media.name());
    let payload = Job::BootDev {
        media: media.name().to_owned(),
        vm: server.is_vm(),
    };
    let job = task(caller, server, "boot_dev", &ctx_action, payload, 5_000);
    queue::submit(state, job).await
}

/// Removes the PXE configuration of `server` (one the principal owns), so that a reboot no
/// longer starts the installer; `hostname` must be the configuration's, when it has one.
/// The check, the removal and the job share one transaction. Returns the callback key.
pub async fn clear(
    state: &AppState,
    caller: &Principal,
    server: &Server,
    hostname: &str,
) -> Result<String> {
    let mut tx = store::begin_write(&state.db).await?;
    if let Some(c) = store::deploy::pxe(&mut *tx, server.id).await? {
        if !c.hostname.is_empty() && !c.hostname.eq_ignore_ascii_case(hostname) {
            return Err(Error::invalid(format!(
                "hostname {hostname} does not match the PXE configuration of server {}",
                server.id
            )));
        }
    }
    store::deploy::clear_pxe(&mut *tx, server.id).await?;
    let job = task(
        caller,
        server,
        "clear_pxe",
        "clear_pxe",
        Job::PxeConfig { create: false },
        3_000,
    );
    let key = queue::submit_in(state, &mut tx, job).await?;
    queue::commit(state, tx).await?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::test_support::{principal, queued, record, server, state, DEMO};

    /// A PXE configuration of Ubuntu 22.04 (#223 installs over PXE) for bm1.example.com.
    fn config(reinstall_key: Option<String>) -> CreatePxe {
        CreatePxe {
            os_id: 223,
            root_pass: "mnN48Dl@4".into(),
            hostname: "bm1.example.com".into(),
            post_install_callback: None,
            reinstall_key,
        }
    }

    #[tokio::test]
    async fn a_reinstall_creates_the_master_key_and_a_second_waits_for_the_first() {
        let state = state().await;
        let caller = principal(&state, DEMO).await;
        let bm = server(&state, 40102).await;
        let master = reinstall(&state, &caller, &bm).await.expect("master key");
        assert_eq!(record(&state, &master).await.action, "reinstall");
        let cfg = store::deploy::pxe(&state.db, 40102)
            .await
            .expect("read")
            .expect("config");
        assert_eq!(cfg.reinstall_key.as_deref(), Some(master.as_str()));
        assert_eq!(
            queued(&state).await,
            0,
            "the installer reports, no job runs"
        );
        // While an install runs, neither a new master key nor a configuration is taken.
        let mut conn = state.db.acquire().await.expect("conn");
        store::deploy::claim_install(&mut conn, 40102, "pxe", &master, 0)
            .await
            .expect("claim");
        drop(conn);
        let err = reinstall(&state, &caller, &bm).await.expect_err("busy");
        assert!(
            matches!(err, Error::InstallRunning { server: 40102 }),
            "{err:?}"
        );
        let err = create(&state, &caller, &bm, &config(Some(master)))
            .await
            .expect_err("busy");
        assert!(
            matches!(err, Error::InstallRunning { server: 40102 }),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn a_reinstall_without_remote_control_needs_remote_hands() {
        let state = state().await;
        let caller = principal(&state, DEMO).await;
        let hands_only = server(&state, 40105).await;
        let err = reinstall(&state, &caller, &hands_only)
            .await
            .expect_err("no remote control");
        assert!(
            matches!(
                err,
                Error::NoRemoteBoot {
                    server: 40105,
                    what: "a reinstall"
                }
            ),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn a_configuration_is_stored_with_the_master_key_and_refused_with_another() {
        let state = state().await;
        let caller = principal(&state, DEMO).await;
        let bm = server(&state, 40102).await;
        let master = reinstall(&state, &caller, &bm).await.expect("master key");
        let err = create(&state, &caller, &bm, &config(Some("0".repeat(32))))
            .await
            .expect_err("not the master key");
        assert!(matches!(err, Error::NotMasterKey), "{err:?}");
        let key = create(&state, &caller, &bm, &config(Some(master.clone())))
            .await
            .expect("configured");
        assert_eq!(record(&state, &key).await.action, "create_pxe");
        let cfg = store::deploy::pxe(&state.db, 40102)
            .await
            .expect("read")
            .expect("config");
        assert_eq!(
            (cfg.os_id, cfg.hostname.as_str()),
            (Some(223), "bm1.example.com")
        );
        assert_eq!(cfg.reinstall_key, Some(master), "the master key stays");
        assert_eq!(queued(&state).await, 1);
    }

    #[tokio::test]
    async fn a_configuration_names_a_pxe_os_and_follows_the_rules() {
        let state = state().await;
        let caller = principal(&state, DEMO).await;
        let bm = server(&state, 40102).await;
        let unknown = CreatePxe {
            os_id: 999_999,
            ..config(None)
        };
        let err = create(&state, &caller, &bm, &unknown)
            .await
            .expect_err("unknown OS");
        assert!(
            matches!(err, Error::UnknownOs { os_id: 999_999 }),
            "{err:?}"
        );
        let weak = CreatePxe {
            root_pass: "password".into(),
            ..config(None)
        };
        let err = create(&state, &caller, &bm, &weak)
            .await
            .expect_err("weak password");
        assert!(err.to_string().starts_with("root_pass must be"), "{err}");
        let bad_name = CreatePxe {
            hostname: "-bad-".into(),
            ..config(None)
        };
        let err = create(&state, &caller, &bm, &bad_name)
            .await
            .expect_err("bad hostname");
        assert_eq!(err.to_string(), "invalid hostname '-bad-'");
        assert_eq!(queued(&state).await, 0);
    }

    #[tokio::test]
    async fn the_boot_device_is_set_by_a_job_where_there_is_remote_control() {
        let state = state().await;
        let caller = principal(&state, DEMO).await;
        let bm = server(&state, 40102).await;
        let key = boot_dev(&state, &caller, &bm, BootMedia::Pxe)
            .await
            .expect("queued");
        let ctx: serde_json::Value =
            serde_json::from_str(&record(&state, &key).await.context).expect("json");
        assert_eq!(ctx["action"], "bootdev_pxe");
        let hands_only = server(&state, 40105).await;
        let err = boot_dev(&state, &caller, &hands_only, BootMedia::Disk)
            .await
            .expect_err("no remote control");
        assert!(
            matches!(err, Error::NoRemoteBoot { server: 40105, .. }),
            "{err:?}"
        );
        assert_eq!(queued(&state).await, 1);
    }

    #[tokio::test]
    async fn clearing_checks_the_hostname_then_removes_the_configuration() {
        let state = state().await;
        let caller = principal(&state, DEMO).await;
        let bm = server(&state, 40102).await;
        create(&state, &caller, &bm, &config(None))
            .await
            .expect("configured");
        let err = clear(&state, &caller, &bm, "other.example.com")
            .await
            .expect_err("another hostname");
        assert!(err.to_string().contains("does not match"), "{err}");
        assert!(store::deploy::pxe(&state.db, 40102)
            .await
            .expect("read")
            .is_some());
        let key = clear(&state, &caller, &bm, "BM1.example.com")
            .await
            .expect("cleared");
        assert_eq!(record(&state, &key).await.action, "clear_pxe");
        assert!(store::deploy::pxe(&state.db, 40102)
            .await
            .expect("read")
            .is_none());
        assert_eq!(queued(&state).await, 2);
    }
}
