//! The PXE reinstall path (001 "Reinstall the operating system on the server (second
//! option)"): eq/reinstall (master key), create_pxe, boot_dev, clear_pxe; an eq/reboot with
//! PXE as boot device then runs the installer, which reports its stages on the master key.

use serde_json::{json, Value};
use sqlx::SqliteConnection;

use super::super::args::Args;
use super::super::dispatch::Ctx;
use crate::domain::catalogue::root_pass_ok;
use crate::domain::rules::valid_hostname;
use crate::error::{Error, Result};
use crate::ops::sessions::Principal;
use crate::ops::{ipam, orders, servers};
use crate::queue::{self, Job, NewTask};
use crate::secrets;
use crate::store::{self, callbacks::NewCallback, servers::Server};

fn remote_control(server: &Server, action: &str) -> Result<()> {
    servers::ensure_online(server, action)?;
    if server.control == "none" {
        return Err(Error::invalid(format!(
            "server {} has no remote control, {action} needs remote hands (jira.php action=request_PXEboot)",
            server.id
        )));
    }
    Ok(())
}

fn simple_task<'a>(
    caller: &Principal,
    server: &Server,
    action: &'a str,
    ctx_action: &str,
    job: Job,
    ms: i64,
) -> NewTask<'a> {
    NewTask {
        module: "eq",
        account_id: Some(caller.account.id),
        server_id: server.id,
        action,
        context: queue::server_context(ctx_action, server.id, &server.location),
        job,
        duration_ms: ms,
    }
}

/// Refuses while an install (order, reinstall or PXE installer) runs on the server.
async fn not_installing(conn: &mut SqliteConnection, server_id: i64) -> Result<()> {
    if store::deploy::running_install(&mut *conn, server_id)
        .await?
        .is_some()
    {
        return Err(Error::Verbatim(format!(
            "another reinstall in progress for {server_id}, please wait"
        )));
    }
    Ok(())
}

/// eq/reinstall (001 "eq/reinstall"): the master key the installer will report its stages
/// to. Checked and written in one write transaction with the install marker.
pub async fn reinstall(ctx: &Ctx) -> Result<Value> {
    let (state, _, caller) = ctx.parts()?;
    let server = ctx.server().await?;
    remote_control(&server, "a reinstall")?;
    let now = state.clock.now();
    let mut tx = ipam::begin_write(state).await?;
    not_installing(&mut tx, server.id).await?;
    let key = secrets::callback_key();
    let ctx = queue::server_context("reinstall", server.id, &server.location);
    store::callbacks::create(
        &mut *tx,
        &NewCallback {
            key: &key,
            module: "eq",
            account_id: Some(caller.account.id),
            server_id: server.id,
            action: "reinstall",
            context: &ctx,
        },
        now,
    )
    .await?;
    store::deploy::set_master_key(&mut tx, server.id, &key, now).await?;
    tx.commit().await?;
    Ok(json!({"result": "OK", "action": "reinstall", "stage": "create_pxe", "callback": key}))
}

/// eq/create_pxe (001 "eq/create_pxe"): the PXE configuration for an OS install; the OS
/// must suit the server's kind and size (002: "OS is not compatible with preset").
pub async fn create_pxe(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let server = ctx.server().await?;
    ctx.pin().await?;
    remote_control(&server, "PXE boot")?;
    let os_id = call.params.req_int("os_id")?;
    let os = state
        .catalogue
        .os(os_id)
        .ok_or_else(|| Error::not_found(format!("os_id {os_id} not found, see os/list")))?;
    if os.pxe_os_id.is_none() {
        return Err(Error::invalid(format!(
            "OS {} (#{os_id}) cannot be installed over PXE on server {}",
            os.name, server.id
        )));
    }
    let what = format!("server {}", server.id);
    let kind = orders::server_kind(state, &server);
    orders::check_os(os, &kind, orders::server_size(&server), &what)?;
    let pass = call.params.req_str("root_pass")?;
    if !root_pass_ok(&pass) {
        return Err(Error::invalid(
            "root_pass must be at least 8 characters long with upper- and lowercase Latin letters and a special character",
        ));
    }
    let hostname = call.params.req_str("hostname")?;
    if !valid_hostname(&hostname) {
        return Err(Error::invalid(format!(
            "invalid hostname '{}'",
            super::super::args::shorten(&hostname)
        )));
    }
    let callback = call.params.opt_str("post_install_callback", 2048)?;
    let mut tx = ipam::begin_write(state).await?;
    // A configuration changed under a running installer would change what it installs
    // (and the installer has taken the master key, so this check comes first).
    not_installing(&mut tx, server.id).await?;
    if let Some(k) = call.params.get("reinstall_key") {
        let ok = store::deploy::pxe(&mut *tx, server.id)
            .await?
            .and_then(|c| c.reinstall_key)
            .is_some_and(|m| m == k.trim());
        if !ok {
            return Err(Error::invalid(
                "reinstall_key is not the master key of this server, call eq/reinstall first",
            ));
        }
    }
    store::deploy::configure_pxe(
        &mut *tx,
        server.id,
        os_id,
        &hostname,
        callback.as_deref(),
        state.clock.now(),
    )
    .await?;
    let task = simple_task(
        caller,
        &server,
        "create_pxe",
        "create_pxe",
        Job::PxeConfig { create: true },
        4_000,
    );
    let key = queue::submit_in(state, &mut tx, task).await?;
    queue::commit(state, tx).await?;
    Ok(json!({"result": "OK", "action": "create_pxe", "callback": key}))
}

/// eq/boot_dev (001 "eq/boot_dev", 002): media pxe, disk or cd; 002's boot_mode is checked
/// and accepted.
pub async fn boot_dev(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let server = ctx.server().await?;
    ctx.pin().await?;
    remote_control(&server, "changing the boot device")?;
    let media = call.params.req_str("media")?.to_ascii_lowercase();
    let media = match media.as_str() {
        "pxe" | "disk" => media,
        "cd" | "cdrom" => "cd".to_owned(),
        other => {
            return Err(Error::invalid(format!(
                "invalid media '{}', expected pxe, disk or cd",
                super::super::args::shorten(other)
            )))
        }
    };
    if let Some(m) = call.params.get("boot_mode") {
        if !["uefi", "legacy", "auto"].contains(&m.trim()) {
            return Err(Error::invalid("boot_mode must be uefi, legacy or auto"));
        }
    }
    let ctx_action = format!("bootdev_{media}");
    let job = Job::BootDev {
        media,
        vm: server.is_vm(),
    };
    let key = queue::submit(
        state,
        simple_task(caller, &server, "boot_dev", &ctx_action, job, 5_000),
    )
    .await?;
    Ok(json!({"result": "OK", "action": "boot_dev", "callback": key}))
}

/// eq/clear_pxe (001 "eq/clear_pxe"): removes the PXE configuration, so that a reboot no
/// longer starts the installer.
pub async fn clear_pxe(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let server = ctx.server().await?;
    let hostname = call.params.req_str("hostname")?;
    let cfg = store::deploy::pxe(&state.db, server.id).await?;
    if let Some(c) = &cfg {
        if !c.hostname.is_empty() && !c.hostname.eq_ignore_ascii_case(&hostname) {
            return Err(Error::invalid(format!(
                "hostname {hostname} does not match the PXE configuration of server {}",
                server.id
            )));
        }
    }
    store::deploy::clear_pxe(&state.db, server.id).await?;
    let key = queue::submit(
        state,
        simple_task(
            caller,
            &server,
            "clear_pxe",
            "clear_pxe",
            Job::PxeConfig { create: false },
            3_000,
        ),
    )
    .await?;
    Ok(json!({"result": "OK", "action": "clear_pxe", "callback": key}))
}
