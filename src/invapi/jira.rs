//! `jira.php`: remote-hands requests (001 "Remote hands"): request_pon, request_poff,
//! request_reboot, request_PXEboot, request_kvm, request_check. Each opens a ticket with the
//! documents' subject and message and mails a confirmation; the simulated duty shift carries
//! it out later (a job on the emulator's clock) and closes the ticket. request_assistance
//! (issue 13; the MCP server's sales tool) files a free-form request for the sales team.

use serde_json::{json, Value};

use super::args::Args;
use super::dispatch::{actions, Ctx, Module};
use crate::error::{Error, Result};
use crate::ops::remote_hands::{self, Request};

/// `jira.php`, declared once: one remote-hands request per action (001 "jira/request_pon"
/// and the five after it).
pub static MODULE: Module = Module {
    name: "jira",
    actions: actions![
        session "request_pon" => request,
        session "request_poff" => request,
        session "request_reboot" => request,
        session "request_PXEboot" => request,
        session "request_kvm" => request,
        session "request_check" => request,
        session "request_assistance" => request_assistance,
    ],
};

/// The permission each request stands in for (001 shows it in the answer).
fn permission(what: Request) -> &'static str {
    match what {
        Request::PowerOn => "eq/on",
        Request::PowerOff => "eq/off",
        Request::Reboot => "eq/reboot",
        Request::PxeBoot => "eq/PXEboot",
        Request::Kvm => "eq/kvm",
        Request::Check => "eq/check",
    }
}

/// jira/request_* (001 "jira/request_pon" and the five after it): one remote-hands ticket.
async fn request(ctx: &Ctx) -> Result<Value> {
    let Some(what) = Request::from_action(ctx.action) else {
        return Err(Error::UnknownAction(ctx.action.to_owned()));
    };
    let (state, call, caller) = ctx.parts()?;
    let server = ctx.server().await?;
    let opened = remote_hands::request(state, caller, &server, what).await?;
    let base = format!("http://{}", call.host);
    Ok(json!({
        "result": "OK",
        "action": {
            "permission": permission(what),
            "subject": opened.subject,
            "message": opened.message,
            "msg": {
                "action": what.action(),
                "id": server.id,
                "callback_url": format!("{base}/eq_callback.php"),
                "callback_key": opened.callback,
            },
        },
        "jira_url": format!("{base}/_emu/tickets/{}", opened.issue),
        "jira_issue": opened.issue,
    }))
}

/// jira/request_assistance (`id` optional: the server it is about; `subject` optional;
/// `message`): a ticket for the sales department (a cancellation, a move...), in the shape
/// of the other jira.php requests; it shows in rhr/list too.
async fn request_assistance(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let p = &call.params;
    // A per-server key's request is about its server, named or not.
    let id = p.opt_int("id")?.or(caller.scope().server_id);
    let server = match id {
        Some(id) => Some(ctx.server_by_id(id).await?),
        None => None,
    };
    let message = p
        .opt_str("message", remote_hands::MAX_MESSAGE)?
        .filter(|m| !m.is_empty())
        .ok_or_else(|| Error::invalid("message is required"))?;
    let subject = p.opt_str("subject", 200)?;
    let opened =
        remote_hands::assistance(state, caller, server.as_ref(), subject.as_deref(), &message)
            .await?;
    let base = format!("http://{}", call.host);
    Ok(json!({
        "result": "OK",
        "action": {
            "permission": "jira/request_assistance",
            "subject": opened.subject,
            "message": opened.message,
            "msg": {
                "action": "request_assistance",
                "id": server.as_ref().map_or(0, |s| s.id),
                "callback_url": format!("{base}/eq_callback.php"),
                "callback_key": opened.callback,
            },
        },
        "jira_url": format!("{base}/_emu/tickets/{}", opened.issue),
        "jira_issue": opened.issue,
    }))
}
