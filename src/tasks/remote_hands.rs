//! The simulated duty shift: when a remote-hands ticket (jira.php, rhr.php) falls due, an
//! engineer does what it asks at the server, and the ticket is closed with a reply in its
//! thread and by e-mail; a message in the thread (rhr/chat) gets its answer. A ticket the
//! customer canceled meanwhile is left alone.

use serde_json::json;
use sqlx::SqliteConnection;

use super::{deploy, Ctx, Step};
use crate::error::Result;
use crate::sim::{Effect, Outcome};
use crate::store;
use crate::store::remote_hands::Ticket;
use crate::store::servers::Server;

/// Carries out the ticket behind the job's record; `action` is what it asks for
/// (`request_pon`...).
pub async fn step(cx: &Ctx<'_>, tx: &mut SqliteConnection, action: &str) -> Result<Step> {
    let (record, now) = (cx.record, cx.now);
    let fail = |why: &str| Ok(Step::Done(Outcome::fail(why.to_owned(), None)));
    let Some(ticket) = store::remote_hands::by_callback(&mut *tx, &record.key).await? else {
        return fail("The remote-hands request is no longer on record");
    };
    let issue = store::remote_hands::key_of(ticket.id);
    if ticket.status == "canceled" {
        return fail(&format!(
            "The remote-hands request {issue} was canceled by the customer"
        ));
    }
    let mut installer = None;
    let done = if action == "request_assistance" {
        format!("The sales department answered the request {issue} by e-mail")
    } else {
        let Some(server) = store::servers::get(&mut *tx, record.server_id).await? else {
            return fail("Server is no longer available");
        };
        visit(cx, tx, &server, &ticket, action, &mut installer).await?
    };
    store::remote_hands::close(&mut *tx, ticket.id, &done, now).await?;
    store::remote_hands::add_message(&mut *tx, ticket.id, "support", &done, now).await?;
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

/// What the duty shift does at `server` for a ticket, in its own words; a boot that starts
/// the PXE installer names the installer's record in `installer`.
async fn visit(
    cx: &Ctx<'_>,
    tx: &mut SqliteConnection,
    server: &Server,
    ticket: &Ticket,
    action: &str,
    installer: &mut Option<String>,
) -> Result<String> {
    let (state, now) = (cx.state, cx.now);
    let id = server.id;
    Ok(match action {
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
            *installer = deploy::boot_from_pxe(state, tx, server, now).await?;
            if action == "request_reboot" {
                format!("The server {id} was rebooted by the duty shift")
            } else {
                format!("The server {id} was checked by the duty shift and booted into its OS")
            }
        }
        "request_PXEboot" => {
            store::deploy::set_boot_dev(&mut *tx, id, "pxe").await?;
            store::servers::set_power(&mut *tx, id, "on").await?;
            *installer = deploy::boot_from_pxe(state, tx, server, now).await?;
            format!("The server {id} was set to boot from PXE and restarted by the duty shift")
        }
        "rhr_add" if ticket.request_type != "KVM" => format!(
            "The duty shift carried out the request {} at the server {id}",
            store::remote_hands::key_of(ticket.id)
        ),
        _ => format!(
            "An IP KVM was connected to the server {id} by the duty shift; the access details follow in the ticket"
        ),
    })
}

/// The duty shift's answer to the customer's latest message in a ticket's thread.
pub async fn reply(cx: &Ctx<'_>, tx: &mut SqliteConnection, ticket_id: i64) -> Result<Step> {
    let Some(ticket) = store::remote_hands::get(&mut *tx, ticket_id).await? else {
        return Ok(Step::Done(Outcome::fail(
            "The remote-hands request is no longer on record".to_owned(),
            None,
        )));
    };
    let issue = store::remote_hands::key_of(ticket.id);
    let answer = match ticket.status.as_str() {
        "open" => format!(
            "Duty shift: thank you, your message is noted in {issue}; the engineer takes it into account at the server."
        ),
        "done" => format!(
            "Duty shift: {issue} is already carried out; if anything is still wrong, please open a new request with the details."
        ),
        _ => format!("Duty shift: {issue} was canceled, nothing more will be done."),
    };
    store::remote_hands::add_message(&mut *tx, ticket.id, "support", &answer, cx.now).await?;
    let mut o = Outcome::ok(
        format!("The duty shift replied in {issue}"),
        Some(String::new()),
        Effect::None,
    );
    o.context.insert("jira_issue".into(), json!(issue));
    Ok(Step::Done(o))
}
