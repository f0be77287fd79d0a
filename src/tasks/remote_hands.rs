//! The simulated duty shift: when a remote-hands ticket (jira.php) falls due, an engineer
//! does what it asks at the server, and the ticket is closed with a reply by e-mail.

use serde_json::json;
use sqlx::SqliteConnection;

use super::{deploy, Ctx, Step};
use crate::error::Result;
use crate::sim::{Effect, Outcome};
use crate::store;

/// Carries out the ticket behind the job's record; `action` is what it asks for
/// (`request_pon`...).
pub async fn step(cx: &Ctx<'_>, tx: &mut SqliteConnection, action: &str) -> Result<Step> {
    let (state, record, now) = (cx.state, cx.record, cx.now);
    let fail = |why: &str| Ok(Step::Done(Outcome::fail(why.to_owned(), None)));
    let Some(ticket) = store::remote_hands::by_callback(&mut *tx, &record.key).await? else {
        return fail("The remote-hands request is no longer on record");
    };
    let Some(server) = store::servers::get(&mut *tx, record.server_id).await? else {
        return fail("Server is no longer available");
    };
    let id = server.id;
    let mut installer = None;
    let done = match action {
        "request_pon" => {
            store::servers::set_power(&mut *tx, id, "on").await?;
            format!("The server {id} was powered on by the duty shift")
        }
        "request_poff" => {
            store::servers::set_power(&mut *tx, id, "off").await?;
            format!("The server {id} was powered off by the duty shift")
        }
        "request_reboot" | "request_check" => {
            store::servers::set_power(&mut *tx, id, "on").await?;
            // A machine that boots with PXE set starts the installer, as with eq/reboot.
            installer = deploy::boot_from_pxe(state, tx, &server, now).await?;
            if action == "request_reboot" {
                format!("The server {id} was rebooted by the duty shift")
            } else {
                format!("The server {id} was checked by the duty shift and booted into its OS")
            }
        }
        "request_PXEboot" => {
            store::deploy::set_boot_dev(&mut *tx, id, "pxe").await?;
            store::servers::set_power(&mut *tx, id, "on").await?;
            installer = deploy::boot_from_pxe(state, tx, &server, now).await?;
            format!("The server {id} was set to boot from PXE and restarted by the duty shift")
        }
        _ => format!(
            "An IP KVM was connected to the server {id} by the duty shift; the access details follow in the ticket"
        ),
    };
    let issue = store::remote_hands::key_of(ticket.id);
    store::remote_hands::close(&mut *tx, ticket.id, &done, now).await?;
    let account = match record.account_id {
        Some(a) => store::accounts::get(&mut *tx, a).await?,
        None => None,
    };
    if let Some(a) = account {
        store::outbox::push(
            &mut *tx,
            Some(a.id),
            &a.email,
            &format!("[{issue}] Resolved: {}", ticket.subject),
            &format!("{done}.\n\nThis request is closed; reply to reopen it."),
            now,
        )
        .await?;
    }
    let mut o = Outcome::ok(done, Some(String::new()), Effect::None);
    o.context.insert("jira_issue".into(), json!(issue));
    if let Some(key) = installer {
        o.context.insert("reinstall_key".into(), json!(key));
    }
    Ok(Step::Done(o))
}
