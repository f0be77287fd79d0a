//! Remote hands (001 "Remote hands", jira.php): a customer asks the data centre's duty shift
//! to do something at a server that has no remote control. The request opens a ticket, mails
//! a confirmation and queues the shift's visit (a job on the emulator's clock, which closes
//! the ticket), all in one transaction.

use super::servers;
use super::sessions::Principal;
use crate::error::Result;
use crate::queue::{self, Job, NewTask};
use crate::state::AppState;
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
    let id = server.id;
    let action = what.action();
    let (subject, ask) = what.wording(id);
    let message = format!(
        "Dear HOSTKEY support, {ask} since it doesn't have remote control. \n This is automated message from INVAPI, no extra verification required."
    );
    let account = &caller.account;
    let now = state.clock.now();
    let mut tx = store::begin_write(&state.db).await?;
    let job = Job::RemoteHands {
        action: action.to_owned(),
    };
    let context = queue::server_context(action, id, &server.location);
    let task = NewTask::on_server(
        "eq",
        account.id,
        server,
        action,
        context,
        job,
        DUTY_SHIFT_MS,
    );
    let callback = queue::submit_in(state, &mut tx, task).await?;
    let ticket = store::remote_hands::open(
        &mut tx, account.id, id, action, &subject, &message, &callback, now,
    )
    .await?;
    let issue = store::remote_hands::key_of(ticket);
    store::outbox::push(
        &mut *tx,
        Some(account.id),
        &account.email,
        &format!("[{issue}] {subject}"),
        &format!(
            "Your request {issue} was received:\n\n{message}\n\nThe duty shift will reply in this ticket once it is done."
        ),
        now,
    )
    .await?;
    queue::commit(state, tx).await?;
    Ok(Opened {
        callback,
        issue,
        subject,
        message,
    })
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
