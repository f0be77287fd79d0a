//! The PXE reinstall path (001 "Reinstall the operating system on the server (second
//! option)"): eq/reinstall (master key), create_pxe, boot_dev, clear_pxe; an eq/reboot with
//! PXE as boot device then runs the installer, which reports its stages on the master key.
//! The checks and writes live in `ops::pxe`.

use serde_json::{json, Value};

use super::super::args::{shorten, Args};
use super::super::dispatch::Ctx;
use crate::error::{Error, Result};
use crate::http::php_form::Params;
use crate::ops::pxe::{self, BootMedia, CreatePxe};
use crate::state::AppState;
use crate::store::servers::Server;

/// eq/reinstall (001 "eq/reinstall"): the master key the installer will report its stages
/// to.
pub async fn reinstall(ctx: &Ctx) -> Result<Value> {
    let (state, _, caller) = ctx.parts()?;
    let server = ctx.server().await?;
    let key = pxe::reinstall(state, caller, &server).await?;
    Ok(json!({"result": "OK", "action": "reinstall", "stage": "create_pxe", "callback": key}))
}

/// The arguments of eq/create_pxe, each checked as it is read, in the API's order (the
/// OS before the password before the hostname), after the server's state.
fn create_args(state: &AppState, server: &Server, p: &Params) -> Result<CreatePxe> {
    pxe::remote_boot(server, "PXE boot")?;
    let os_id = p.req_int("os_id")?;
    pxe::pxe_os(state, server, os_id)?;
    let root_pass = p.req_str("root_pass")?;
    pxe::check_root_pass(&root_pass)?;
    let hostname = p.req_str("hostname")?;
    pxe::check_hostname(&hostname)?;
    Ok(CreatePxe {
        os_id,
        root_pass,
        hostname,
        post_install_callback: p.opt_str("post_install_callback", 2048)?,
        reinstall_key: p.get("reinstall_key").map(|k| k.trim().to_owned()),
    })
}

/// eq/create_pxe (001 "eq/create_pxe"): the PXE configuration for an OS install; the OS
/// must suit the server's kind and size (002: "OS is not compatible with preset").
pub async fn create_pxe(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let server = ctx.server().await?;
    ctx.pin().await?;
    let args = create_args(state, &server, &call.params)?;
    let key = pxe::create(state, caller, &server, &args).await?;
    Ok(json!({"result": "OK", "action": "create_pxe", "callback": key}))
}

/// The `media` of eq/boot_dev: pxe, disk or cd (002 also says cdrom); 002's `boot_mode` is
/// checked and accepted.
fn boot_media(p: &Params) -> Result<BootMedia> {
    let media = p.req_str("media")?.to_ascii_lowercase();
    let media = match media.as_str() {
        "pxe" => BootMedia::Pxe,
        "disk" => BootMedia::Disk,
        "cd" | "cdrom" => BootMedia::Cd,
        other => {
            return Err(Error::invalid(format!(
                "invalid media '{}', expected pxe, disk or cd",
                shorten(other)
            )))
        }
    };
    if let Some(m) = p.get("boot_mode") {
        if !["uefi", "legacy", "auto"].contains(&m.trim()) {
            return Err(Error::invalid("boot_mode must be uefi, legacy or auto"));
        }
    }
    Ok(media)
}

/// eq/boot_dev (001 "eq/boot_dev", 002): media pxe, disk or cd.
pub async fn boot_dev(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let server = ctx.server().await?;
    ctx.pin().await?;
    // The server's state is checked before the arguments are read, as the API does.
    pxe::remote_boot(&server, "changing the boot device")?;
    let media = boot_media(&call.params)?;
    let key = pxe::boot_dev(state, caller, &server, media).await?;
    Ok(json!({"result": "OK", "action": "boot_dev", "callback": key}))
}

/// eq/clear_pxe (001 "eq/clear_pxe"): removes the PXE configuration, so that a reboot no
/// longer starts the installer.
pub async fn clear_pxe(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let server = ctx.server().await?;
    let hostname = call.params.req_str("hostname")?;
    let key = pxe::clear(state, caller, &server, &hostname).await?;
    Ok(json!({"result": "OK", "action": "clear_pxe", "callback": key}))
}
