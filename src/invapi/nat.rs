//! `nat.php`: add_static_nat, remove_static_nat (001 "IPMI access"): on-demand NAT from a
//! public pool address to the server's IPMI for two hours; polled on nat_callback.php.

use serde_json::{json, Value};

use super::dispatch::{actions, Ctx, Module};
use crate::error::{Error, Result};
use crate::ops::ipam;
use crate::ops::sessions::Principal;
use crate::queue::{self, Job, NatChange, NewTask};
use crate::sim::network::router_id;
use crate::store::{self, network::NatRule, servers::Server};

/// `nat.php`, declared once (001 "nat/add_static_nat", "nat/remove_static_nat").
pub static MODULE: Module = Module {
    name: "nat",
    actions: actions![
        session "add_static_nat" => add,
        session "remove_static_nat" => remove,
    ],
};

/// How long a rule stays before it lifts itself.
pub const NAT_LIFETIME: i64 = 2 * 3600;

fn nat_task<'a>(
    caller: &Principal,
    server: &Server,
    action: &'a str,
    ctx_action: &str,
    job: Job,
) -> NewTask<'a> {
    NewTask {
        module: "nat",
        account_id: Some(caller.account.id),
        server_id: server.id,
        action,
        context: queue::server_context(ctx_action, server.id, &server.location),
        job,
        duration_ms: 6_000,
    }
}

/// nat/add_static_nat (001 "nat/add_static_nat"): asking again while a rule is active
/// extends it and reports the same address.
async fn add(ctx: &Ctx) -> Result<Value> {
    let (state, _, caller) = ctx.parts()?;
    let server = &ctx.server().await?;
    ctx.pin().await?;
    crate::ops::servers::ensure_online(server, "remote access")?;
    if server.is_vm() {
        return Err(Error::invalid(format!(
            "server {} is a virtual machine without IPMI, use eq/console for its console",
            server.id
        )));
    }
    let ipmi = store::servers::ips(&state.db, server.id)
        .await?
        .into_iter()
        .find(|i| i.port == "ipmi");
    let (Some(ipmi), "ipmi") = (ipmi, server.control.as_str()) else {
        return Err(Error::invalid(format!(
            "server {} has no IPMI, request KVM from remote hands with jira.php action=request_kvm",
            server.id
        )));
    };
    let now = state.clock.now();
    let mut tx = ipam::begin_write(state).await?;
    let rule = match store::network::active_nat(&mut *tx, server.id, now).await? {
        Some(r) => {
            store::network::set_nat_expiry(&mut *tx, r.id, now + NAT_LIFETIME).await?;
            r
        }
        None => {
            let pools =
                store::network::subnets_in(&mut tx, &server.location, "nat", None, None).await?;
            let used = store::network::nat_in_use(&mut tx, now).await?;
            let public = pools
                .iter()
                .flat_map(|s| ipam::usable_hosts(s).into_iter())
                .map(|a| a.to_string())
                .find(|a| !used.contains(a))
                .ok_or_else(|| {
                    Error::Conflict(format!(
                        "the NAT pool of {} is exhausted, try again later",
                        server.location
                    ))
                })?;
            let mut r = NatRule {
                id: 0,
                server_id: server.id,
                public_ip: public,
                private_ip: ipmi.address.clone(),
                router_id: String::new(),
                created_at: now,
                expires_at: now + NAT_LIFETIME,
            };
            let next: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM nat_rules")
                .fetch_one(&mut *tx)
                .await?;
            r.router_id = router_id(next);
            r.id = store::network::add_nat(&mut tx, &r).await?;
            r
        }
    };
    let job = Job::Nat {
        rule_id: rule.id,
        public_ip: rule.public_ip,
        change: NatChange::Add {
            private_ip: rule.private_ip,
        },
    };
    let key = queue::submit_in(
        state,
        &mut tx,
        nat_task(caller, server, "add_static_nat", "add_static_nat", job),
    )
    .await?;
    queue::commit(state, tx).await?;
    Ok(json!({"result": "OK", "action": "add_static_nat", "callback": key}))
}

/// nat/remove_static_nat (001 "nat/remove_static_nat"); the record's context reads
/// `remove_staticnat`, as documented.
async fn remove(ctx: &Ctx) -> Result<Value> {
    let (state, _, caller) = ctx.parts()?;
    let server = &ctx.server().await?;
    let now = state.clock.now();
    let rule = store::network::active_nat(&state.db, server.id, now)
        .await?
        .ok_or_else(|| {
            Error::not_found(format!("no static NAT is active for server {}", server.id))
        })?;
    let job = Job::Nat {
        rule_id: rule.id,
        public_ip: rule.public_ip,
        change: NatChange::Remove {
            router_id: rule.router_id,
        },
    };
    let key = queue::submit(
        state,
        nat_task(caller, server, "remove_static_nat", "remove_staticnat", job),
    )
    .await?;
    Ok(json!({"result": "OK", "action": "remove_static_nat", "callback": key}))
}
