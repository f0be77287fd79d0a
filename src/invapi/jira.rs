//! `jira.php`: remote-hands requests (001 "Remote hands"): request_pon, request_poff,
//! request_reboot, request_PXEboot, request_kvm, request_check. Each opens a ticket with the
//! documents' subject and message and mails a confirmation; the simulated duty shift carries
//! it out later (a job on the emulator's clock) and closes the ticket.

use serde_json::{json, Value};

use super::dispatch::{actions, Ctx, Module};
use crate::error::{Error, Result};
use crate::ops::servers;
use crate::queue::{self, Job, NewTask};
use crate::store;

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
    ],
};

/// How long the duty shift takes to get to a request, in realistic milliseconds.
const DUTY_SHIFT_MS: i64 = 20 * 60 * 1000;

/// What each request asks for: (action, permission, subject, what the message asks).
const REQUESTS: &[(&str, &str, &str, &str)] = &[
    (
        "request_pon",
        "eq/on",
        "CP request: Manual power ON the server {id} please",
        "please power on the server {id}",
    ),
    (
        "request_poff",
        "eq/off",
        "CP request: Manual power OFF the server {id} please",
        "please power off the server {id}",
    ),
    (
        "request_reboot",
        "eq/reboot",
        "CP request: Manual REBOOT the server {id} please",
        "please reboot the server {id}",
    ),
    (
        "request_PXEboot",
        "eq/PXEboot",
        "CP request: Manual boot from PXE the server {id} please",
        "please set PXE boot the server {id}",
    ),
    (
        "request_kvm",
        "eq/kvm",
        "CP request: KVM to the server {id} please",
        "please connect KVM module to the server {id}",
    ),
    (
        "request_check",
        "eq/check",
        "CP request: Manual check the server {id} please",
        "please check the server {id} and boot in into OS",
    ),
];

/// jira/request_* (001 "jira/request_pon" and the five after it): one remote-hands ticket.
async fn request(ctx: &Ctx) -> Result<Value> {
    let Some(&(action, permission, subject, ask)) =
        REQUESTS.iter().find(|(a, ..)| *a == ctx.action)
    else {
        return Err(Error::UnknownAction(ctx.action.to_owned()));
    };
    let (state, call, caller) = ctx.parts()?;
    let server = ctx.server().await?;
    let id = server.id;
    servers::ensure_online(&server, "remote hands")?;
    let subject = subject.replace("{id}", &id.to_string());
    let message = format!(
        "Dear HOSTKEY support, {} since it doesn't have remote control. \n This is automated message from INVAPI, no extra verification required.",
        ask.replace("{id}", &id.to_string())
    );
    let now = state.clock.now();
    let mut tx = store::begin_write(&state.db).await?;
    let key = queue::submit_in(
        state,
        &mut tx,
        NewTask {
            module: "eq",
            account_id: Some(caller.account.id),
            server_id: id,
            action,
            context: queue::server_context(action, id, &server.location),
            job: Job::RemoteHands {
                action: action.to_owned(),
            },
            duration_ms: DUTY_SHIFT_MS,
        },
    )
    .await?;
    let ticket = store::remote_hands::open(
        &mut tx,
        caller.account.id,
        id,
        action,
        &subject,
        &message,
        &key,
        now,
    )
    .await?;
    let issue = store::remote_hands::key_of(ticket);
    store::outbox::push(
        &mut *tx,
        Some(caller.account.id),
        &caller.account.email,
        &format!("[{issue}] {subject}"),
        &format!(
            "Your request {issue} was received:\n\n{message}\n\nThe duty shift will reply in this ticket once it is done."
        ),
        now,
    )
    .await?;
    queue::commit(state, tx).await?;
    let base = format!("http://{}", call.host);
    Ok(json!({
        "result": "OK",
        "action": {
            "permission": permission,
            "subject": subject,
            "message": message,
            "msg": {
                "action": action,
                "id": id,
                "callback_url": format!("{base}/eq_callback.php"),
                "callback_key": key,
            },
        },
        "jira_url": format!("{base}/_emu/tickets/{issue}"),
        "jira_issue": issue,
    }))
}
