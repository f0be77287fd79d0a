//! Power control (001 "Server power control"): status, sensors, on, off, hard_off, reboot.
//! Each is checked here and queued as a job; the worker completes it through `sim::power`,
//! which changes the server's power state.

use serde_json::json;

use crate::error::{Error, Result};
use crate::ops::servers;
use crate::ops::sessions::Principal;
use crate::queue::{self, Job, NewTask};
use crate::sim::power::PowerOp;
use crate::state::AppState;
use crate::store::servers::Server;

/// The remote-hands request that does by hand what `op` would do remotely.
fn hands_for(op: PowerOp) -> &'static str {
    match op {
        PowerOp::On => "request_pon",
        PowerOp::Off | PowerOp::HardOff => "request_poff",
        PowerOp::Reboot => "request_reboot",
        PowerOp::Status | PowerOp::Sensors => "request_check",
    }
}

/// Whether the operation changes the power state (and so needs a PIN and an online server).
pub fn changes_power(op: PowerOp) -> bool {
    !matches!(op, PowerOp::Status | PowerOp::Sensors)
}

/// Power operation `op` on `server`, one the principal owns: refused without remote control
/// (remote hands can do it), for sensors of a VM, and, when it changes the power state, for
/// a server that is not online. Returns the callback key of the queued job.
pub async fn power(
    state: &AppState,
    caller: &Principal,
    server: &Server,
    op: PowerOp,
) -> Result<String> {
    let id = server.id;
    if server.control == "none" {
        return Err(Error::NoRemoteControl {
            server: id,
            jira_action: hands_for(op),
        });
    }
    if op == PowerOp::Sensors && server.is_vm() {
        return Err(Error::invalid(format!(
            "sensors are available for bare-metal servers only, server {id} is a virtual machine"
        )));
    }
    if changes_power(op) {
        servers::ensure_online(server, "power control")?;
    }
    let vm = server.is_vm();
    let mut context = queue::server_context(op.context_action(vm), id, &server.location);
    if vm {
        // oVirt VMs have no BMC: their records show an empty IPMI address.
        context["ip_ipmi"] = json!("");
    }
    let task = NewTask::on_server(
        "eq",
        caller.account.id,
        server,
        op.action(),
        context,
        Job::Power { op },
        op.duration_ms(vm),
    );
    queue::submit(state, task).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::test_support::{principal, queued, record, server, state, DEMO};

    #[tokio::test]
    async fn a_power_action_queues_a_job_with_its_record() {
        let state = state().await;
        let caller = principal(&state, DEMO).await;
        let vm = server(&state, 40101).await;
        let key = power(&state, &caller, &vm, PowerOp::Reboot)
            .await
            .expect("queued");
        let rec = record(&state, &key).await;
        assert_eq!((rec.action.as_str(), rec.server_id), ("reboot", 40101));
        assert_eq!(rec.account_id, Some(DEMO));
        let ctx: serde_json::Value = serde_json::from_str(&rec.context).expect("json");
        assert_eq!(ctx["action"], "off", "001 shows a VM reboot as off");
        assert_eq!(ctx["ip_ipmi"], "");
        assert_eq!(queued(&state).await, 1);
    }

    #[tokio::test]
    async fn without_remote_control_remote_hands_are_named() {
        let state = state().await;
        let caller = principal(&state, DEMO).await;
        let hands_only = server(&state, 40105).await;
        let err = power(&state, &caller, &hands_only, PowerOp::On)
            .await
            .expect_err("no remote control");
        assert!(
            matches!(
                err,
                Error::NoRemoteControl {
                    server: 40105,
                    jira_action: "request_pon"
                }
            ),
            "{err:?}"
        );
        assert_eq!(queued(&state).await, 0);
    }

    #[tokio::test]
    async fn sensors_need_bare_metal_and_power_changes_an_online_server() {
        let state = state().await;
        let caller = principal(&state, DEMO).await;
        let vm = server(&state, 40101).await;
        let err = power(&state, &caller, &vm, PowerOp::Sensors)
            .await
            .expect_err("a VM has no sensors");
        assert!(err.to_string().contains("bare-metal servers only"), "{err}");
        let suspended = server(&state, 40106).await;
        let err = power(&state, &caller, &suspended, PowerOp::On)
            .await
            .expect_err("suspended");
        assert!(err.to_string().contains("is suspended"), "{err}");
        // Reading the state of a suspended server is allowed.
        power(&state, &caller, &suspended, PowerOp::Status)
            .await
            .expect("status");
        assert_eq!(queued(&state).await, 1);
    }
}
