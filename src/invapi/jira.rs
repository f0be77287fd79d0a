//! `jira.php`: remote-hands requests (001 "Remote hands"): request_pon, request_poff,
//! request_reboot, request_PXEboot, request_kvm, request_check. Each opens a ticket with the
//! documents' subject and message and mails a confirmation; the simulated duty shift carries
//! it out later (a job on the emulator's clock) and closes the ticket.

use axum::extract::State;
use axum::response::Response;
use serde_json::{json, Value};

use super::args::Args;
use super::{respond, Call};
use crate::error::{Error, Result};
use crate::ops::servers;
use crate::ops::sessions;
use crate::queue::{self, Job, NewTask};
use crate::state::AppState;
use crate::store;

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

pub async fn handle(State(state): State<AppState>, call: Call) -> Response {
    let action = call.action().to_owned();
    let result = request(&state, &call, &action).await;
    respond("jira", &action, result)
}

/// jira/request_* (001 "jira/request_pon" and the five after it): one remote-hands ticket.
async fn request(state: &AppState, call: &Call, action: &str) -> Result<Value> {
    let Some(&(action, permission, subject, ask)) = REQUESTS.iter().find(|(a, ..)| *a == action)
    else {
        return Err(Error::UnknownAction(action.to_owned()));
    };
    let caller = sessions::resolve(state, call.params.get("token"), call.client_ip).await?;
    let id = call.params.req_int("id")?;
    let server = servers::owned(state, caller.scope(), id).await?;
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
    tx.commit().await?;
    state.wake.notify_one();
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
