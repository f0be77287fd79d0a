//! The ISO library and virtual media at work (iso.php): an upload's download finishing,
//! and an image put in or taken out of a server's virtual CD-ROM by its BMC or by oVirt.

use serde_json::json;
use sqlx::SqliteConnection;

use super::{Ctx, Step};
use crate::domain::iso;
use crate::error::Result;
use crate::sim::{Effect, Outcome};
use crate::store;

/// iso/upload: the download of image `id` is over (the size is the simulated one).
pub async fn download(tx: &mut SqliteConnection, id: i64) -> Result<Step> {
    let Some(image) = store::iso::get(&mut *tx, id).await? else {
        return Ok(Step::Done(Outcome::fail(
            "The ISO image was deleted before its download finished",
            None,
        )));
    };
    let size = iso::simulated_size(&image.url);
    store::iso::set_ready(&mut *tx, id, size).await?;
    let mut o = Outcome::ok(
        format!("ISO image {} downloaded: {size} bytes", image.name),
        Some(String::new()),
        Effect::None,
    );
    o.context.insert("size".into(), json!(size));
    Ok(Step::Done(o))
}

/// iso/mount_iso (`Some(image)`), iso/unmount_iso (`None`).
pub async fn media(cx: &Ctx<'_>, tx: &mut SqliteConnection, image: Option<i64>) -> Result<Step> {
    let fail = |why: String| Ok(Step::Done(Outcome::fail(why, None)));
    let Some(server) = store::servers::get(&mut *tx, cx.record.server_id).await? else {
        return fail("Server is no longer available".into());
    };
    let vm = store::tags::get(&mut *tx, "eq", server.id, "hostname")
        .await?
        .map(|t| t.value)
        .unwrap_or_else(|| server.id.to_string());
    let scope = match image {
        Some(id) => {
            let name = match iso::public(id) {
                Some(p) => p.name.to_owned(),
                None => match store::iso::get(&mut *tx, id).await? {
                    Some(i) if i.status == "ready" => i.name,
                    _ => return fail(format!("ISO image {id} no longer exists")),
                },
            };
            store::iso::mount(&mut *tx, server.id, id, &name).await?;
            if server.is_vm() {
                format!("CD {name} was inserted to VM {vm}.")
            } else {
                format!("Virtual media: {name} mounted on the virtual CD-ROM of {vm}, it boots on the next reboot")
            }
        }
        None => {
            store::iso::unmount(&mut *tx, server.id).await?;
            if server.is_vm() {
                format!("CD was ejected from VM {vm}.")
            } else {
                format!("Virtual media: the virtual CD-ROM of {vm} was emptied")
            }
        }
    };
    Ok(Step::Done(Outcome::ok(
        scope,
        Some(String::new()),
        Effect::None,
    )))
}
