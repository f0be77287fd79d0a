//! Remote hands (001 "Remote hands", jira.php): a customer asks the data centre's duty shift
//! to do something at a server that has no remote control. The request opens a ticket, mails
//! a confirmation and queues the shift's visit (a job on the emulator's clock, which closes
//! the ticket), all in one transaction. rhr.php is the newer front of the same tickets:
//! free-form requests (rhr/add), a thread the duty shift answers (rhr/chat), cancellation
//! (rhr/discard) and the list; jira/request_assistance files one for the sales team.

use super::servers;
use super::sessions::Principal;
use crate::domain::rules::shorten;
use crate::error::{Error, Result};
use crate::queue::{self, Job, NewTask};
use crate::state::AppState;
use crate::store::remote_hands::{ListFilter, Listed, Message, Ticket};
use crate::store::{self, servers::Server};

/// How long the duty shift takes to get to a request, in realistic milliseconds.
const DUTY_SHIFT_MS: i64 = 20 * 60 * 1000;

/// What the duty shift is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    PowerOn,
    PowerOff,
    Reboot,
    PxeBoot,
    Kvm,
    Check,
}

impl Request {
    /// Every request, in the documents' order.
    pub const ALL: [Request; 6] = [
        Request::PowerOn,
        Request::PowerOff,
        Request::Reboot,
        Request::PxeBoot,
        Request::Kvm,
        Request::Check,
    ];

    /// The request's name, as records, jobs and tickets keep it (jira.php's action).
    pub fn action(self) -> &'static str {
        match self {
            Request::PowerOn => "request_pon",
            Request::PowerOff => "request_poff",
            Request::Reboot => "request_reboot",
            Request::PxeBoot => "request_PXEboot",
            Request::Kvm => "request_kvm",
            Request::Check => "request_check",
        }
    }

    /// The request with this name.
    pub fn from_action(action: &str) -> Option<Request> {
        Request::ALL.into_iter().find(|r| r.action() == action)
    }

    /// The ticket's subject and what its message asks for (001's wording), for a server.
    fn wording(self, id: i64) -> (String, String) {
        let (subject, ask) = match self {
            Request::PowerOn => (
                "Manual power ON the server {id} please",
                "please power on the server {id}",
            ),
            Request::PowerOff => (
                "Manual power OFF the server {id} please",
                "please power off the server {id}",
            ),
            Request::Reboot => (
                "Manual REBOOT the server {id} please",
                "please reboot the server {id}",
            ),
            Request::PxeBoot => (
                "Manual boot from PXE the server {id} please",
                "please set PXE boot the server {id}",
            ),
            Request::Kvm => (
                "KVM to the server {id} please",
                "please connect KVM module to the server {id}",
            ),
            Request::Check => (
                "Manual check the server {id} please",
                "please check the server {id} and boot in into OS",
            ),
        };
        let id = id.to_string();
        (
            format!("CP request: {}", subject.replace("{id}", &id)),
            ask.replace("{id}", &id),
        )
    }
}

/// An opened remote-hands ticket.
#[derive(Debug, Clone)]
pub struct Opened {
    /// The key of the record the duty shift finishes.
    pub callback: String,
    /// The ticket's key (`RHR-<id>`).
    pub issue: String,
    pub subject: String,
    pub message: String,
}

/// Remote-hands request: opens the ticket, mails the caller a confirmation and queues the
/// duty shift's visit, in one transaction. `server` is one the caller owns; it must be
/// online (not waiting for deployment, not suspended).
pub async fn request(
    state: &AppState,
    caller: &Principal,
    server: &Server,
    what: Request,
) -> Result<Opened> {
    servers::ensure_online(server, "remote hands")?;
    let (subject, ask) = what.wording(server.id);
    let message = format!(
        "Dear HOSTKEY support, {ask} since it doesn't have remote control. \n This is automated message from INVAPI, no extra verification required."
    );
    let opened = open(
        state,
        caller,
        Some(server),
        NewTicket {
            action: what.action(),
            request_type: "",
            subject,
            message,
            after_ms: DUTY_SHIFT_MS,
        },
    )
    .await?;
    Ok(opened.0)
}

/// What [`open`] files.
struct NewTicket<'a> {
    action: &'a str,
    request_type: &'a str,
    subject: String,
    message: String,
    /// When the duty shift (or the sales team) takes it up, in realistic milliseconds.
    after_ms: i64,
}

/// Opens a ticket about `server` (or about none), puts its message first in its thread,
/// mails the confirmation and queues the visit, in one transaction.
async fn open(
    state: &AppState,
    caller: &Principal,
    server: Option<&Server>,
    t: NewTicket<'_>,
) -> Result<(Opened, i64)> {
    let account = &caller.account;
    let now = state.clock.now();
    let mut tx = store::begin_write(&state.db).await?;
    let job = Job::RemoteHands {
        action: t.action.to_owned(),
    };
    let task = match server {
        Some(server) => NewTask::on_server(
            "eq",
            account.id,
            server,
            t.action,
            queue::server_context(t.action, server.id, &server.location),
            job,
            t.after_ms,
        ),
        None => NewTask {
            module: "eq",
            account_id: Some(account.id),
            server_id: 0,
            action: t.action,
            context: serde_json::json!({"action": t.action}),
            job,
            duration_ms: t.after_ms,
        },
    };
    let callback = queue::submit_in(state, &mut tx, task).await?;
    let id = server.map_or(0, |s| s.id);
    let ticket = store::remote_hands::open(
        &mut tx, account.id, id, t.action, &t.subject, &t.message, &callback, now,
    )
    .await?;
    if !t.request_type.is_empty() {
        store::remote_hands::set_type(&mut tx, ticket, t.request_type).await?;
    }
    store::remote_hands::add_message(&mut tx, ticket, "client", &t.message, now).await?;
    let issue = store::remote_hands::key_of(ticket);
    store::outbox::push(
        &mut *tx,
        Some(account.id),
        &account.email,
        &format!("[{issue}] {}", t.subject),
        &format!(
            "Your request {issue} was received:\n\n{}\n\nThe duty shift will reply in this ticket once it is done.",
            t.message
        ),
        now,
    )
    .await?;
    queue::commit(state, tx).await?;
    Ok((
        Opened {
            callback,
            issue,
            subject: t.subject,
            message: t.message,
        },
        ticket,
    ))
}

/// How long the duty shift takes to answer a message in a ticket's thread, in realistic
/// milliseconds.
const REPLY_MS: i64 = 5 * 60 * 1000;

/// Longest message or comment, in characters.
pub const MAX_MESSAGE: usize = 4000;

/// rhr/add's request types (the documents' list).
pub const TYPES: [&str; 3] = ["KVM", "UNBLOCK", "SERVICE"];

/// A request type as rhr/add takes it (any case); `SERVICE` when none is given.
pub fn parse_type(given: Option<&str>) -> Result<&'static str> {
    let Some(given) = given.filter(|g| !g.trim().is_empty()) else {
        return Ok("SERVICE");
    };
    TYPES
        .into_iter()
        .find(|t| t.eq_ignore_ascii_case(given.trim()))
        .ok_or_else(|| {
            Error::invalid(format!(
                "invalid type '{}', expected KVM, UNBLOCK or SERVICE",
                shorten(given)
            ))
        })
}

/// The type rhr.php shows for a ticket: rhr/add's, or the one a jira.php request stands for.
pub fn type_of(t: &Ticket) -> &str {
    if !t.request_type.is_empty() {
        return &t.request_type;
    }
    match t.action.as_str() {
        "request_kvm" => "KVM",
        "request_assistance" => "ASSISTANCE",
        _ => "SERVICE",
    }
}

/// A message or comment: at most [`MAX_MESSAGE`] characters, something to read.
fn check_message(what: &str, text: &str) -> Result<()> {
    if text.trim().is_empty() {
        return Err(Error::invalid(format!("{what} is required")));
    }
    if text.chars().count() > MAX_MESSAGE {
        return Err(Error::invalid(format!(
            "{what} is too long (at most {MAX_MESSAGE} characters)"
        )));
    }
    Ok(())
}

/// rhr/add: a free-form remote-hands request about a server the caller owns (online), of a
/// [`TYPES`] type; `comment` says what to do (a default wording when absent). The duty shift
/// carries it out like a jira.php request. Returns the opened ticket and its id.
pub async fn add(
    state: &AppState,
    caller: &Principal,
    server: &Server,
    request_type: &'static str,
    comment: Option<&str>,
) -> Result<(Opened, i64)> {
    servers::ensure_online(server, "remote hands")?;
    let id = server.id;
    let message = match comment {
        Some(c) => {
            check_message("comment", c)?;
            c.to_owned()
        }
        None => match request_type {
            "KVM" => format!("Dear HOSTKEY support, please connect KVM module to the server {id}"),
            "UNBLOCK" => format!("Dear HOSTKEY support, please unblock the server {id}"),
            _ => format!("Dear HOSTKEY support, please service the server {id}"),
        },
    };
    open(
        state,
        caller,
        Some(server),
        NewTicket {
            action: "rhr_add",
            request_type,
            subject: format!("CP request: {request_type} for the server {id}"),
            message,
            after_ms: DUTY_SHIFT_MS,
        },
    )
    .await
}

/// jira/request_assistance: a request to the sales department (a cancellation, a move...),
/// about one of the caller's servers or about none.
pub async fn assistance(
    state: &AppState,
    caller: &Principal,
    server: Option<&Server>,
    subject: Option<&str>,
    message: &str,
) -> Result<Opened> {
    check_message("message", message)?;
    let subject = match subject.filter(|s| !s.trim().is_empty()) {
        Some(s) if s.chars().count() > 200 => {
            return Err(Error::invalid(
                "subject is too long (at most 200 characters)",
            ))
        }
        Some(s) => s.trim().to_owned(),
        None => match server {
            Some(s) => format!("CP request: assistance with the server {}", s.id),
            None => "CP request: assistance".to_owned(),
        },
    };
    let (opened, _) = open(
        state,
        caller,
        server,
        NewTicket {
            action: "request_assistance",
            request_type: "",
            subject,
            message: message.to_owned(),
            after_ms: DUTY_SHIFT_MS,
        },
    )
    .await?;
    Ok(opened)
}

/// A ticket of the caller's account, inside its scope: another account's is `not found`,
/// another server's for a per-server key is `permission denied`.
async fn owned_ticket(state: &AppState, caller: &Principal, id: i64) -> Result<Ticket> {
    let not_found = || Error::not_found(format!("request {id} not found"));
    if id <= 0 {
        return Err(not_found());
    }
    let t = store::remote_hands::get(&state.db, id)
        .await?
        .filter(|t| t.account_id == caller.account.id)
        .ok_or_else(not_found)?;
    let scope = caller.scope();
    if let Some(only) = scope.server_id {
        if t.server_id != only {
            return Err(Error::denied(format!(
                "permission denied, this API key is limited to server {only}"
            )));
        }
    }
    Ok(t)
}

/// rhr/chat: adds the caller's message to a ticket's thread and queues the duty shift's
/// reply; returns the thread and the reply's record key. A canceled ticket takes no more
/// messages.
pub async fn chat(
    state: &AppState,
    caller: &Principal,
    id: i64,
    message: &str,
) -> Result<(Vec<Message>, String)> {
    check_message("message", message)?;
    let t = owned_ticket(state, caller, id).await?;
    let issue = store::remote_hands::key_of(t.id);
    if t.status == "canceled" {
        return Err(Error::Conflict(format!(
            "request {issue} was canceled, open a new one with rhr/add"
        )));
    }
    let now = state.clock.now();
    let mut tx = store::begin_write(&state.db).await?;
    store::remote_hands::add_message(&mut tx, t.id, "client", message, now).await?;
    let task = NewTask {
        module: "eq",
        account_id: Some(caller.account.id),
        server_id: t.server_id,
        action: "rhr_chat",
        context: serde_json::json!({
            "action": "rhr_chat", "id": t.server_id.to_string(), "jira_issue": issue,
        }),
        job: Job::RemoteHandsReply { ticket: t.id },
        duration_ms: REPLY_MS,
    };
    let callback = queue::submit_in(state, &mut tx, task).await?;
    queue::commit(state, tx).await?;
    let thread = store::remote_hands::messages(&state.db, t.id).await?;
    Ok((thread, callback))
}

/// rhr/discard: cancels an open ticket; the duty shift's visit then does nothing.
pub async fn discard(state: &AppState, caller: &Principal, id: i64) -> Result<Ticket> {
    let t = owned_ticket(state, caller, id).await?;
    let issue = store::remote_hands::key_of(t.id);
    let now = state.clock.now();
    let mut tx = store::begin_write(&state.db).await?;
    if !store::remote_hands::cancel(&mut tx, t.id, now).await? {
        return Err(Error::Conflict(format!(
            "request {issue} is already {}",
            if t.status == "canceled" {
                "canceled"
            } else {
                "done"
            }
        )));
    }
    tx.commit().await?;
    store::remote_hands::get(&state.db, t.id)
        .await?
        .ok_or_else(|| Error::not_found(format!("request {id} not found")))
}

/// rhr/list: the caller's tickets (a per-server key's: its server's), newest first,
/// filtered by location code and stored statuses (all but canceled when none are given).
pub async fn list(
    state: &AppState,
    caller: &Principal,
    location: Option<String>,
    statuses: Vec<&'static str>,
) -> Result<Vec<Listed>> {
    let statuses = if statuses.is_empty() {
        vec!["open", "done"]
    } else {
        statuses
    };
    let filter = ListFilter {
        account_id: caller.account.id,
        server_id: caller.scope().server_id,
        location,
        statuses,
    };
    Ok(store::remote_hands::list_for(&state.db, &filter).await?)
}

/// A ticket's thread, oldest first (the caller's tickets only).
pub async fn thread(state: &AppState, caller: &Principal, id: i64) -> Result<Vec<Message>> {
    let t = owned_ticket(state, caller, id).await?;
    Ok(store::remote_hands::messages(&state.db, t.id).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::ops::test_support::{principal_of_key, state, DEMO_KEY};
    use crate::store::test_support::count;

    #[test]
    fn requests_are_named_as_jira_php_names_its_actions() {
        for r in Request::ALL {
            assert_eq!(Request::from_action(r.action()), Some(r));
        }
        assert_eq!(Request::from_action("request_nothing"), None);
        assert_eq!(
            Request::Check.wording(7),
            (
                "CP request: Manual check the server 7 please".to_owned(),
                "please check the server 7 and boot in into OS".to_owned()
            )
        );
    }

    #[tokio::test]
    async fn a_request_opens_a_ticket_mails_and_queues_the_duty_shift_together() {
        let state = state().await;
        let caller = principal_of_key(&state, DEMO_KEY).await;
        let server = store::servers::get(&state.db, 40105)
            .await
            .expect("get")
            .expect("server");
        let mails = count(&state.db, "outbox").await;
        let o = request(&state, &caller, &server, Request::PowerOff)
            .await
            .expect("request");
        assert_eq!(
            o.subject,
            "CP request: Manual power OFF the server 40105 please"
        );
        assert!(o.message.starts_with(
            "Dear HOSTKEY support, please power off the server 40105 since it doesn't have remote control."
        ));
        let id = store::remote_hands::id_of(&o.issue).expect("RHR- key");
        let ticket = store::remote_hands::get(&state.db, id)
            .await
            .expect("get")
            .expect("ticket");
        assert_eq!(
            (
                ticket.server_id,
                ticket.action.as_str(),
                ticket.status.as_str()
            ),
            (40105, "request_poff", "open")
        );
        assert_eq!(ticket.callback_key, o.callback);
        assert_eq!(
            count(
                &state.db,
                &format!(
                    "jobs WHERE kind = 'remote_hands' AND callback_key = '{}'",
                    o.callback
                )
            )
            .await,
            1
        );
        assert_eq!(count(&state.db, "outbox").await, mails + 1);
    }

    #[tokio::test]
    async fn a_server_that_is_not_online_gets_no_ticket() {
        let state = state().await;
        let caller = principal_of_key(&state, DEMO_KEY).await;
        let mut server = store::servers::get(&state.db, 40105)
            .await
            .expect("get")
            .expect("server");
        server.status = "pending".into();
        let e = request(&state, &caller, &server, Request::PowerOn)
            .await
            .expect_err("not online");
        assert!(matches!(e, Error::Denied(_)), "{e:?}");
        assert_eq!(count(&state.db, "remote_hands").await, 0);
        assert_eq!(count(&state.db, "jobs").await, 0);
    }
}
