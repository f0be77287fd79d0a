//! `iso.php`: ISO images (issue 13; the MCP server's iso tools): list_iso, uploaded,
//! upload (async), add, mount_iso and unmount_iso (async; virtual media through the
//! server's IPMI or oVirt), delete.

use serde_json::{json, Value};

use super::args::Args;
use super::dispatch::{actions, Ctx, Module};
use crate::clock::format_datetime;
use crate::error::{Error, Result};
use crate::ops::iso::{self, Listed};
use crate::store::iso::Image;

/// `iso.php`, declared once.
pub static MODULE: Module = Module {
    name: "iso",
    actions: actions![
        session "list_iso" => list_iso,
        session "uploaded" => uploaded,
        session "upload" => upload,
        session "add" => add,
        session "mount_iso" => mount_iso,
        session "unmount_iso" => unmount_iso,
        session "delete" => delete,
    ],
};

fn listed(i: &Listed) -> Value {
    json!({
        "id": i.id, "name": i.name, "public": i64::from(i.public), "size": i.size,
        "status": i.status, "url": i.url,
        "created": if i.created_at > 0 { format_datetime(i.created_at) } else { String::new() },
    })
}

fn image(i: &Image) -> Value {
    json!({
        "id": i.id, "name": i.name, "public": 0, "size": i.size, "status": i.status,
        "url": i.url, "created": format_datetime(i.created_at),
    })
}

/// iso/list_iso (`server_id`, optional): the public images of the server's location (of
/// every location without one) and the account's own ready images.
async fn list_iso(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let server = match call.params.opt_int("server_id")? {
        Some(id) => Some(ctx.server_by_id(id).await?),
        None => None,
    };
    let found = iso::list(state, caller, server.as_ref()).await?;
    Ok(json!({
        "result": "OK", "module": "iso", "action": "list_iso",
        "isos": found.iter().map(listed).collect::<Vec<_>>(),
    }))
}

/// iso/uploaded: the account's own images, downloading ones too.
async fn uploaded(ctx: &Ctx) -> Result<Value> {
    let (state, _, caller) = ctx.parts()?;
    let found = iso::uploaded(state, caller).await?;
    Ok(json!({
        "result": "OK", "module": "iso", "action": "uploaded",
        "isos": found.iter().map(listed).collect::<Vec<_>>(),
    }))
}

/// iso/upload (`url`, `name` optional): the library downloads the image (async).
async fn upload(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let url = call.params.req_str("url")?;
    let name = call.params.opt_str("name", 200)?;
    let (img, key) = iso::upload(state, caller, &url, name.as_deref()).await?;
    Ok(json!({
        "result": "OK", "module": "iso", "action": "upload", "callback": key,
        "iso": image(&img),
    }))
}

/// iso/add (`name`, `url` optional): adds an image at once, or changes the URL of the
/// account's image of that name.
async fn add(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let name = call.params.req_str("name")?;
    let url = call.params.opt_str("url", 4096)?;
    let (img, created) = iso::add(state, caller, &name, url.as_deref()).await?;
    Ok(json!({
        "result": "OK", "module": "iso", "action": "add", "created": i64::from(created),
        "iso": image(&img),
    }))
}

/// iso/mount_iso (`id`: the server; `iso_id` or `name`: the image): async.
async fn mount_iso(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let server = ctx.server().await?;
    let p = &call.params;
    let iso_id = p.opt_int("iso_id")?;
    let name = p.opt_str("name", 200)?.filter(|n| !n.is_empty());
    if iso_id.is_none() && name.is_none() {
        return Err(Error::invalid("iso_id or name is required"));
    }
    let key = iso::mount(state, caller, &server, iso_id, name.as_deref()).await?;
    Ok(json!({"result": "OK", "module": "iso", "action": "mount_iso", "callback": key}))
}

/// iso/unmount_iso (`id`: the server): async.
async fn unmount_iso(ctx: &Ctx) -> Result<Value> {
    let (state, _, caller) = ctx.parts()?;
    let server = ctx.server().await?;
    let key = iso::unmount(state, caller, &server).await?;
    Ok(json!({"result": "OK", "module": "iso", "action": "unmount_iso", "callback": key}))
}

/// iso/delete (`id`: the image): refused while it is mounted, and for public images.
async fn delete(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let id = call.params.req_int("id")?;
    let img = iso::delete(state, caller, id).await?;
    Ok(json!({"result": "OK", "module": "iso", "action": "delete", "id": img.id}))
}
