//! ISO images (issue 13, iso.php): the public library of each location and the account's
//! own images (downloaded from a URL on the emulator's clock, never really fetched), and
//! the virtual CD-ROM of a server (through its IPMI BMC, or oVirt for a VM). A reboot with
//! an image mounted boots it.

use super::servers;
use super::sessions::Principal;
use crate::domain::iso::{self, FIRST_OWN_ID};
use crate::domain::rules::shorten;
use crate::error::{Error, Result};
use crate::queue::{self, Job, NewTask};
use crate::state::AppState;
use crate::store::iso::Image;
use crate::store::{self, servers::Server};

/// How long the library takes to download an image, in realistic milliseconds.
const DOWNLOAD_MS: i64 = 120_000;
/// How long the BMC or oVirt takes to (un)mount virtual media.
const MEDIA_MS: i64 = 15_000;
/// How many own images an account may keep.
pub const MAX_IMAGES: usize = 20;

/// An image a server may mount, or a list shows: public or the account's own.
#[derive(Debug, Clone)]
pub struct Listed {
    pub id: i64,
    pub name: String,
    pub public: bool,
    pub size: i64,
    pub status: String,
    pub url: String,
    pub created_at: i64,
}

impl Listed {
    fn own(i: Image) -> Self {
        Listed {
            id: i.id,
            name: i.name,
            public: false,
            size: i.size,
            status: i.status,
            url: i.url,
            created_at: i.created_at,
        }
    }

    fn public(p: &iso::Public) -> Self {
        Listed {
            id: p.id,
            name: p.name.to_owned(),
            public: true,
            size: p.size,
            status: "ready".into(),
            url: String::new(),
            created_at: 0,
        }
    }
}

/// An account's own images are the whole account's: a per-server key's session may mount
/// public images on its server, but neither sees nor manages the account's.
fn account_wide(caller: &Principal) -> Result<()> {
    if caller.session.server_id > 0 {
        return Err(Error::denied(
            "permission denied, a per-server key cannot manage the account's ISO images",
        ));
    }
    Ok(())
}

/// iso/list_iso: the public images of the server's location (of every location without a
/// server) and the account's own ready ones.
pub async fn list(
    state: &AppState,
    caller: &Principal,
    server: Option<&Server>,
) -> Result<Vec<Listed>> {
    let mut out: Vec<Listed> = iso::public_in(server.map(|s| s.location.as_str()))
        .map(Listed::public)
        .collect();
    if caller.session.server_id > 0 {
        return Ok(out);
    }
    out.extend(
        store::iso::list(&state.db, caller.account.id)
            .await?
            .into_iter()
            .filter(|i| i.status == "ready")
            .map(Listed::own),
    );
    Ok(out)
}

/// iso/uploaded: the account's own images, downloading ones too.
pub async fn uploaded(state: &AppState, caller: &Principal) -> Result<Vec<Listed>> {
    account_wide(caller)?;
    Ok(store::iso::list(&state.db, caller.account.id)
        .await?
        .into_iter()
        .map(Listed::own)
        .collect())
}

/// Checks a new image's name and URL and that the account has room for it; the name
/// defaults to the URL's file name.
fn new_image(url: &str, name: Option<&str>) -> Result<(String, String)> {
    let file = iso::check_url(url)?;
    let name = name
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or(&file)
        .to_owned();
    iso::check_name(&name)?;
    Ok((url.trim().to_owned(), name))
}

/// iso/upload: the library downloads the image at `url` (asynchronously; the emulator
/// fetches nothing). Returns the image, `downloading`, and the record's key.
pub async fn upload(
    state: &AppState,
    caller: &Principal,
    url: &str,
    name: Option<&str>,
) -> Result<(Image, String)> {
    account_wide(caller)?;
    let (url, name) = new_image(url, name)?;
    let now = state.clock.now();
    let mut tx = store::begin_write(&state.db).await?;
    let image = insert(&mut tx, caller, &name, &url, "downloading", now).await?;
    let task = NewTask {
        module: "eq",
        account_id: Some(caller.account.id),
        server_id: 0,
        action: "iso_upload",
        context: serde_json::json!({"action": "iso_upload", "iso_id": image.id, "name": name}),
        job: Job::IsoDownload { iso: image.id },
        duration_ms: DOWNLOAD_MS,
    };
    let key = queue::submit_in(state, &mut tx, task).await?;
    queue::commit(state, tx).await?;
    Ok((image, key))
}

/// Stores a new own image (a name the account has is refused; at most [`MAX_IMAGES`]).
async fn insert(
    tx: &mut store::WriteTx,
    caller: &Principal,
    name: &str,
    url: &str,
    status: &str,
    now: i64,
) -> Result<Image> {
    let account_id = caller.account.id;
    if store::iso::by_name(&mut **tx, account_id, name)
        .await?
        .is_some()
    {
        return Err(Error::Conflict(format!(
            "an ISO image named '{}' already exists",
            shorten(name)
        )));
    }
    if iso::PUBLIC.iter().any(|p| p.name == name) {
        return Err(Error::Conflict(format!(
            "'{}' is the name of a public image, choose another",
            shorten(name)
        )));
    }
    let mut image = Image {
        id: 0,
        account_id,
        name: name.to_owned(),
        url: url.to_owned(),
        status: status.to_owned(),
        size: if status == "ready" {
            iso::simulated_size(url)
        } else {
            0
        },
        created_at: now,
    };
    let count = store::iso::list_in(&mut **tx, account_id).await?;
    if count >= MAX_IMAGES as i64 {
        return Err(Error::Conflict(format!(
            "the account already has {MAX_IMAGES} ISO images, delete one first"
        )));
    }
    image.id = store::iso::insert(tx, &image, FIRST_OWN_ID).await?;
    Ok(image)
}

/// iso/add: adds an image of this name at once (`url`, when given, is checked as for an
/// upload), or, for a name the account has, changes its URL. Returns the image and whether
/// it is new.
pub async fn add(
    state: &AppState,
    caller: &Principal,
    name: &str,
    url: Option<&str>,
) -> Result<(Image, bool)> {
    account_wide(caller)?;
    iso::check_name(name)?;
    let url = match url.map(str::trim).filter(|u| !u.is_empty()) {
        Some(u) => {
            iso::check_url(u)?;
            u.to_owned()
        }
        None => String::new(),
    };
    let now = state.clock.now();
    let mut tx = store::begin_write(&state.db).await?;
    if let Some(old) = store::iso::by_name(&mut *tx, caller.account.id, name).await? {
        if !url.is_empty() {
            store::iso::set_url(&mut tx, old.id, &url).await?;
        }
        tx.commit().await?;
        let img = store::iso::get(&state.db, old.id).await?.unwrap_or(old);
        return Ok((img, false));
    }
    let image = insert(&mut tx, caller, name, &url, "ready", now).await?;
    tx.commit().await?;
    Ok((image, true))
}

/// An own image of the caller's account.
async fn own(state: &AppState, caller: &Principal, id: i64) -> Result<Image> {
    if iso::public(id).is_some() {
        return Err(Error::denied(format!(
            "permission denied, ISO image {id} is a public image"
        )));
    }
    store::iso::get(&state.db, id)
        .await?
        .filter(|i| i.account_id == caller.account.id)
        .ok_or_else(|| Error::not_found(format!("ISO image {id} not found")))
}

/// iso/delete: removes an own image, refused while it is mounted.
pub async fn delete(state: &AppState, caller: &Principal, id: i64) -> Result<Image> {
    account_wide(caller)?;
    let image = own(state, caller, id).await?;
    let mut tx = store::begin_write(&state.db).await?;
    if let Some(server) = store::iso::mounted_on(&mut *tx, id).await?.first() {
        return Err(Error::Conflict(format!(
            "ISO image {id} is mounted on server {server}, unmount it first (iso/unmount_iso)"
        )));
    }
    store::iso::delete(&mut tx, id).await?;
    tx.commit().await?;
    Ok(image)
}

/// The image to mount: by id (public of the server's location, or own and ready), else by
/// name.
async fn mountable(
    state: &AppState,
    caller: &Principal,
    server: &Server,
    iso_id: Option<i64>,
    name: Option<&str>,
) -> Result<(i64, String)> {
    let all = list(state, caller, Some(server)).await?;
    let found = match (iso_id, name) {
        (Some(id), _) => all.into_iter().find(|i| i.id == id).ok_or_else(|| {
            Error::not_found(format!(
                "ISO image {id} not found among the images of server {}'s location and your own",
                server.id
            ))
        })?,
        (None, Some(n)) => all
            .into_iter()
            .find(|i| i.name == n)
            .ok_or_else(|| Error::not_found(format!("ISO image '{}' not found", shorten(n))))?,
        (None, None) => return Err(Error::invalid("iso_id or name is required")),
    };
    Ok((found.id, found.name))
}

/// Which way a server's virtual media is reached: oVirt for a VM, the IPMI BMC for bare
/// metal; a server without remote control has none.
fn media_path(server: &Server) -> Result<&'static str> {
    if server.is_vm() {
        Ok("ovirt")
    } else if server.control == "none" {
        Err(Error::NoRemoteControl {
            server: server.id,
            jira_action: "request_kvm",
        })
    } else {
        Ok("ipmi")
    }
}

/// iso/mount_iso: puts an image in the server's virtual CD-ROM (asynchronous); a server
/// that has one mounted must unmount it first. Returns the record's key.
pub async fn mount(
    state: &AppState,
    caller: &Principal,
    server: &Server,
    iso_id: Option<i64>,
    name: Option<&str>,
) -> Result<String> {
    let via = media_path(server)?;
    servers::ensure_online(server, "virtual media")?;
    let (id, name) = mountable(state, caller, server, iso_id, name).await?;
    let mut tx = store::begin_write(&state.db).await?;
    if let Some((_, old)) = store::iso::mounted(&mut *tx, server.id).await? {
        return Err(Error::Conflict(format!(
            "server {} already has ISO image '{old}' mounted, unmount it first (iso/unmount_iso)",
            server.id
        )));
    }
    let mut context = queue::server_context("mount_iso", server.id, &server.location);
    context["iso_id"] = serde_json::json!(id);
    context["name"] = serde_json::json!(name);
    context["via"] = serde_json::json!(via);
    let task = NewTask::on_server(
        "eq",
        caller.account.id,
        server,
        "mount_iso",
        context,
        Job::VirtualMedia { iso: Some(id) },
        MEDIA_MS,
    );
    let key = queue::submit_in(state, &mut tx, task).await?;
    queue::commit(state, tx).await?;
    Ok(key)
}

/// iso/unmount_iso: empties the server's virtual CD-ROM (asynchronous).
pub async fn unmount(state: &AppState, caller: &Principal, server: &Server) -> Result<String> {
    let via = media_path(server)?;
    let mut tx = store::begin_write(&state.db).await?;
    if store::iso::mounted(&mut *tx, server.id).await?.is_none() {
        return Err(Error::Conflict(format!(
            "no ISO image is mounted on server {}",
            server.id
        )));
    }
    let mut context = queue::server_context("unmount_iso", server.id, &server.location);
    context["via"] = serde_json::json!(via);
    let task = NewTask::on_server(
        "eq",
        caller.account.id,
        server,
        "unmount_iso",
        context,
        Job::VirtualMedia { iso: None },
        MEDIA_MS,
    );
    let key = queue::submit_in(state, &mut tx, task).await?;
    queue::commit(state, tx).await?;
    Ok(key)
}
