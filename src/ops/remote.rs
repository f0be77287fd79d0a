//! Remote access (001 "Remote access", 002): temporary IPMI users, a BMC reset, oVirt
//! console files for VMs, and browser (noVNC) consoles the emulator serves. Each is checked
//! here and queued as a job; the worker carries it out against the simulated hardware.

use std::net::IpAddr;

use serde_json::json;

use crate::domain::rules::shorten;
use crate::error::{Error, Result};
use crate::ops::servers;
use crate::ops::sessions::Principal;
use crate::queue::{self, Job, NewTask};
use crate::state::AppState;
use crate::store::{self, servers::Server};

/// What a noVNC request does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NovncOp {
    /// A console session (ending the server's previous one).
    Open,
    /// A new session with a new address, ending the old one.
    Recreate,
    /// Ends the server's sessions.
    Stop,
}

impl NovncOp {
    /// The request action it implements (`novnc`, `recreate_novnc`, `stop_novnc`).
    pub fn action(self) -> &'static str {
        match self {
            NovncOp::Open => "novnc",
            NovncOp::Recreate => "recreate_novnc",
            NovncOp::Stop => "stop_novnc",
        }
    }

    /// The job's name for it.
    fn name(self) -> &'static str {
        match self {
            NovncOp::Open => "open",
            NovncOp::Recreate => "recreate",
            NovncOp::Stop => "stop",
        }
    }
}

/// A noVNC request.
#[derive(Debug, Clone)]
pub struct Novnc {
    pub op: NovncOp,
    /// The only address that may open the console ('' for anyone), kept as the customer
    /// wrote it: the refusal page shows it.
    pub white_ip: String,
    /// Where the emulator is reached (`http://host:port`), for the console's address.
    pub base_url: String,
}

/// IPMI actions need an online bare-metal server whose BMC customers may use.
fn needs_ipmi(server: &Server, what: &'static str) -> Result<()> {
    servers::ensure_online(server, "remote access")?;
    if server.is_vm() {
        return Err(Error::VmWithoutIpmi { server: server.id });
    }
    if server.control != "ipmi" {
        return Err(Error::NoIpmi {
            server: server.id,
            what,
        });
    }
    Ok(())
}

/// A remote-access job for `server`; VMs' records show an empty IPMI address.
fn task<'a>(
    caller: &Principal,
    server: &Server,
    action: &'a str,
    job: Job,
    ms: i64,
) -> NewTask<'a> {
    let mut context = queue::server_context(action, server.id, &server.location);
    if server.is_vm() {
        context["ip_ipmi"] = json!("");
    }
    NewTask::on_server("eq", caller.account.id, server, action, context, job, ms)
}

/// Adds a temporary IPMI user on `server` (one the principal owns); the user and password
/// arrive in the record's context. `admin` (an administrator's user) is refused: customers
/// get operator users only. Returns the callback key of the queued job.
pub async fn add_ipmi_user(
    state: &AppState,
    caller: &Principal,
    server: &Server,
    admin: bool,
) -> Result<String> {
    needs_ipmi(server, "an IPMI user")?;
    if admin {
        return Err(Error::denied("admin_user is for administrators"));
    }
    let job = task(
        caller,
        server,
        "add_ipmi_user",
        Job::IpmiUser {
            add: true,
            user: None,
        },
        6_000,
    );
    queue::submit(state, job).await
}

/// Removes a temporary IPMI user of `server` (one the principal owns): `username`, else the
/// newest one. The user is chosen and the job queued in one transaction. Returns the
/// callback key.
pub async fn remove_ipmi_user(
    state: &AppState,
    caller: &Principal,
    server: &Server,
    username: Option<&str>,
) -> Result<String> {
    needs_ipmi(server, "removing an IPMI user")?;
    let mut tx = store::begin_write(&state.db).await?;
    let users = store::deploy::ipmi_users(&mut *tx, server.id).await?;
    let user = match username {
        Some(u) => users
            .iter()
            .find(|x| x.as_str() == u.trim())
            .cloned()
            .ok_or_else(|| Error::not_found(format!("IPMI user {} not found", shorten(u))))?,
        None => users.first().cloned().ok_or_else(|| {
            Error::not_found(format!("server {} has no temporary IPMI user", server.id))
        })?,
    };
    let job = task(
        caller,
        server,
        "remove_ipmi_user",
        Job::IpmiUser {
            add: false,
            user: Some(user),
        },
        5_000,
    );
    let key = queue::submit_in(state, &mut tx, job).await?;
    queue::commit(state, tx).await?;
    Ok(key)
}

/// A cold reset of the BMC of `server` (one the principal owns). Returns the callback key.
pub async fn unit_reset(state: &AppState, caller: &Principal, server: &Server) -> Result<String> {
    needs_ipmi(server, "a BMC reset")?;
    let job = task(caller, server, "unit_reset", Job::UnitReset, 20_000);
    queue::submit(state, job).await
}

/// A virt-viewer file for `server` (one the principal owns), which must be an online oVirt
/// VM; the file arrives in the record's scope. Returns the callback key.
pub async fn console(state: &AppState, caller: &Principal, server: &Server) -> Result<String> {
    if !server.is_vm() {
        return Err(Error::NotVm { server: server.id });
    }
    servers::ensure_online(server, "the console")?;
    let job = task(caller, server, "console", Job::Console, 3_000);
    queue::submit(state, job).await
}

/// Whether the browser console of `server` can be opened, recreated or stopped now:
/// opening needs an online server, every op a server with remote control.
pub fn console_reachable(server: &Server, op: NovncOp) -> Result<()> {
    if op != NovncOp::Stop {
        servers::ensure_online(server, "the console")?;
    }
    if server.control == "none" {
        return Err(Error::NoRemoteConsole { server: server.id });
    }
    Ok(())
}

/// Opens, recreates or stops the browser console of `server` (one the principal owns):
/// opening needs an online server, every op a server with remote control; `white_ip` must
/// be an address when given. Returns the callback key of the queued job.
pub async fn novnc(
    state: &AppState,
    caller: &Principal,
    server: &Server,
    req: &Novnc,
) -> Result<String> {
    console_reachable(server, req.op)?;
    if !req.white_ip.is_empty() && req.white_ip.parse::<IpAddr>().is_err() {
        return Err(Error::invalid(format!(
            "invalid white_ip '{}'",
            shorten(&req.white_ip)
        )));
    }
    let payload = Job::Novnc {
        op: req.op.name().to_owned(),
        white_ip: req.white_ip.clone(),
        base: req.base_url.clone(),
    };
    let job = task(caller, server, req.op.action(), payload, 4_000);
    queue::submit(state, job).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::test_support::{principal, queued, record, server, state, DEMO};

    #[tokio::test]
    async fn an_ipmi_user_is_queued_for_bare_metal_with_ipmi_only() {
        let state = state().await;
        let caller = principal(&state, DEMO).await;
        let bm = server(&state, 40102).await;
        let key = add_ipmi_user(&state, &caller, &bm, false)
            .await
            .expect("queued");
        assert_eq!(record(&state, &key).await.action, "add_ipmi_user");
        let err = add_ipmi_user(&state, &caller, &bm, true)
            .await
            .expect_err("admin");
        assert!(matches!(err, Error::Denied(_)), "{err:?}");
        let vm = server(&state, 40101).await;
        let err = add_ipmi_user(&state, &caller, &vm, false)
            .await
            .expect_err("a VM");
        assert!(
            matches!(err, Error::VmWithoutIpmi { server: 40101 }),
            "{err:?}"
        );
        let hands_only = server(&state, 40105).await;
        let err = add_ipmi_user(&state, &caller, &hands_only, false)
            .await
            .expect_err("no IPMI");
        assert!(
            matches!(err, Error::NoIpmi { server: 40105, .. }),
            "{err:?}"
        );
        assert_eq!(queued(&state).await, 1);
    }

    #[tokio::test]
    async fn removing_picks_the_named_or_newest_user() {
        let state = state().await;
        let caller = principal(&state, DEMO).await;
        let bm = server(&state, 40102).await;
        let err = remove_ipmi_user(&state, &caller, &bm, None)
            .await
            .expect_err("no user yet");
        assert!(err.to_string().contains("no temporary IPMI user"), "{err}");
        let mut conn = state.db.acquire().await.expect("conn");
        for name in ["u0000001", "u0000002"] {
            store::deploy::add_ipmi_user(&mut conn, 40102, name, 0)
                .await
                .expect("add");
        }
        drop(conn);
        let err = remove_ipmi_user(&state, &caller, &bm, Some("nobody"))
            .await
            .expect_err("unknown user");
        assert_eq!(err.to_string(), "IPMI user nobody not found");
        remove_ipmi_user(&state, &caller, &bm, None)
            .await
            .expect("the newest");
        let key = remove_ipmi_user(&state, &caller, &bm, Some("u0000001"))
            .await
            .expect("named");
        assert_eq!(record(&state, &key).await.action, "remove_ipmi_user");
        assert_eq!(queued(&state).await, 2);
    }

    #[tokio::test]
    async fn a_bmc_reset_needs_ipmi() {
        let state = state().await;
        let caller = principal(&state, DEMO).await;
        let bm = server(&state, 40103).await;
        let key = unit_reset(&state, &caller, &bm).await.expect("queued");
        assert_eq!(record(&state, &key).await.action, "unit_reset");
        let hands_only = server(&state, 40105).await;
        let err = unit_reset(&state, &caller, &hands_only)
            .await
            .expect_err("no IPMI");
        assert!(
            matches!(
                err,
                Error::NoIpmi {
                    server: 40105,
                    what: "a BMC reset"
                }
            ),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn a_console_file_is_for_online_vms() {
        let state = state().await;
        let caller = principal(&state, DEMO).await;
        let vm = server(&state, 40101).await;
        let key = console(&state, &caller, &vm).await.expect("queued");
        let ctx: serde_json::Value =
            serde_json::from_str(&record(&state, &key).await.context).expect("json");
        assert_eq!(ctx["ip_ipmi"], "");
        let bm = server(&state, 40102).await;
        let err = console(&state, &caller, &bm).await.expect_err("bare metal");
        assert!(matches!(err, Error::NotVm { server: 40102 }), "{err:?}");
        let suspended = server(&state, 40106).await;
        let err = console(&state, &caller, &suspended)
            .await
            .expect_err("suspended");
        assert!(err.to_string().contains("is suspended"), "{err}");
    }

    #[tokio::test]
    async fn a_browser_console_needs_remote_control_and_a_valid_white_ip() {
        let state = state().await;
        let caller = principal(&state, DEMO).await;
        let open = |white_ip: &str| Novnc {
            op: NovncOp::Open,
            white_ip: white_ip.into(),
            base_url: "http://emu".into(),
        };
        let vm = server(&state, 40101).await;
        let key = novnc(&state, &caller, &vm, &open("127.0.0.2"))
            .await
            .expect("queued");
        assert_eq!(record(&state, &key).await.action, "novnc");
        let err = novnc(&state, &caller, &vm, &open("nope"))
            .await
            .expect_err("not an address");
        assert_eq!(err.to_string(), "invalid white_ip 'nope'");
        let hands_only = server(&state, 40105).await;
        let err = novnc(&state, &caller, &hands_only, &open(""))
            .await
            .expect_err("no console");
        assert!(
            matches!(err, Error::NoRemoteConsole { server: 40105 }),
            "{err:?}"
        );
        // A suspended server's console can still be stopped.
        let suspended = server(&state, 40106).await;
        let stop = Novnc {
            op: NovncOp::Stop,
            ..open("")
        };
        novnc(&state, &caller, &suspended, &stop)
            .await
            .expect("stopped");
        assert!(novnc(&state, &caller, &suspended, &open("")).await.is_err());
        assert_eq!(queued(&state).await, 2);
    }
}
