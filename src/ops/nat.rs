//! Static NAT to IPMI (001 "nat/add_static_nat", "nat/remove_static_nat"): on demand, an
//! address of the location's NAT pool is mapped to the server's IPMI address for two
//! hours; the router (RouterOS) is told by a job.

use super::ipam;
use super::sessions::Principal;
use crate::error::{Error, Result};
use crate::queue::{self, Job, NatChange, NewTask};
use crate::sim::network::router_id;
use crate::state::AppState;
use crate::store::{self, network::NatRule, servers::Server};

/// How long a rule stays before it lifts itself.
pub const NAT_LIFETIME: i64 = 2 * 3600;

/// A NAT job, reported on a `nat` record.
fn nat_task<'a>(
    caller: &Principal,
    server: &Server,
    action: &'a str,
    ctx_action: &str,
    job: Job,
) -> NewTask<'a> {
    let context = queue::server_context(ctx_action, server.id, &server.location);
    NewTask::on_server(
        "nat",
        caller.account.id,
        server,
        action,
        context,
        job,
        6_000,
    )
}

/// Static NAT add (001 "nat/add_static_nat"): maps a free NAT pool address to the
/// server's IPMI for [`NAT_LIFETIME`]; asking again while a rule is in force extends it
/// and keeps its address. Only an online bare-metal server with IPMI has one. Returns
/// the callback key.
pub async fn add(state: &AppState, caller: &Principal, server: &Server) -> Result<String> {
    super::servers::ensure_online(server, "remote access")?;
    if server.is_vm() {
        return Err(Error::VmWithoutIpmi { server: server.id });
    }
    let ipmi = store::servers::ips(&state.db, server.id)
        .await?
        .into_iter()
        .find(|i| i.port == "ipmi");
    let (Some(ipmi), "ipmi") = (ipmi, server.control.as_str()) else {
        return Err(Error::NoIpmi {
            server: server.id,
            what: "static NAT",
        });
    };
    let now = state.clock.now();
    let mut tx = store::begin_write(&state.db).await?;
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
            let next = store::network::next_nat_id(&mut *tx).await?;
            r.router_id = router_id(next);
            r.id = store::network::add_nat(&mut tx, &r).await?;
            r
        }
    };
    let payload = Job::Nat {
        rule_id: rule.id,
        public_ip: rule.public_ip,
        change: NatChange::Add {
            private_ip: rule.private_ip,
        },
    };
    let key = queue::submit_in(
        state,
        &mut tx,
        nat_task(caller, server, "add_static_nat", "add_static_nat", payload),
    )
    .await?;
    queue::commit(state, tx).await?;
    Ok(key)
}

/// Static NAT removal (001 "nat/remove_static_nat"): queues the removal of the rule in
/// force; the record's context reads `remove_staticnat`, as documented. Returns the
/// callback key.
pub async fn remove(state: &AppState, caller: &Principal, server: &Server) -> Result<String> {
    let now = state.clock.now();
    let mut tx = store::begin_write(&state.db).await?;
    let rule = store::network::active_nat(&mut *tx, server.id, now)
        .await?
        .ok_or_else(|| {
            Error::not_found(format!("no static NAT is active for server {}", server.id))
        })?;
    let payload = Job::Nat {
        rule_id: rule.id,
        public_ip: rule.public_ip,
        change: NatChange::Remove {
            router_id: rule.router_id,
        },
    };
    let key = queue::submit_in(
        state,
        &mut tx,
        nat_task(
            caller,
            server,
            "remove_static_nat",
            "remove_staticnat",
            payload,
        ),
    )
    .await?;
    queue::commit(state, tx).await?;
    Ok(key)
}

/// The server whose rule in force maps the public address `ip`, if it is inside the
/// caller's scope; anything else (no rule, or another account's) is "not found", so that
/// nothing reveals whose the address is.
pub async fn server_on(state: &AppState, caller: &Principal, ip: &str) -> Result<Server> {
    let now = state.clock.now();
    let none = || Error::not_found(format!("no static NAT is active on {ip}"));
    let rule = store::network::active_nat_on(&state.db, ip, now)
        .await?
        .ok_or_else(none)?;
    if !caller.scope().admits(rule.server_id) {
        return Err(none());
    }
    super::servers::owned(state, caller.scope(), rule.server_id)
        .await
        .map_err(|_| none())
}

/// Static NAT removal named by the public address (nat/clear_static_nat, nat/drop_nat with
/// `ip`): as [`remove`] for the server whose rule it is; with `server` given too, the rule
/// must be that server's. Returns the callback key.
pub async fn remove_on(
    state: &AppState,
    caller: &Principal,
    ip: &str,
    server: Option<&Server>,
) -> Result<String> {
    let holder = server_on(state, caller, ip).await?;
    if let Some(s) = server {
        if s.id != holder.id {
            return Err(Error::not_found(format!(
                "no static NAT of server {} is active on {ip}",
                s.id
            )));
        }
    }
    remove(state, caller, &holder).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::test_support::{job_of, principal, queued, server, state, DEMO};
    use serde_json::json;

    #[tokio::test]
    async fn add_maps_a_pool_address_to_ipmi_and_asking_again_extends_it() {
        let state = state().await;
        let caller = principal(&state, DEMO).await;
        let bm = server(&state, 40102).await;
        let key = add(&state, &caller, &bm).await.expect("add");
        let (kind, payload) = job_of(&state, &key).await;
        assert_eq!(kind, "nat");
        assert_eq!(payload["op"], "add");
        assert_eq!(payload["private_ip"], "10.14.32.117");
        let public = payload["public_ip"].as_str().expect("public").to_owned();
        assert!(public.starts_with("185.17.147."), "{public}");
        let now = state.clock.now();
        let rule = store::network::active_nat(&state.db, bm.id, now)
            .await
            .expect("nat")
            .expect("in force");
        assert_eq!(rule.expires_at, now + NAT_LIFETIME);
        assert_eq!(rule.router_id, router_id(rule.id));

        let again = add(&state, &caller, &bm).await.expect("again");
        assert_eq!(job_of(&state, &again).await.1["public_ip"], public.as_str());
        assert_eq!(
            store::network::active_nat(&state.db, bm.id, now)
                .await
                .expect("nat")
                .map(|r| r.id),
            Some(rule.id),
            "the same rule"
        );
    }

    #[tokio::test]
    async fn remove_on_finds_the_rule_by_address_within_the_scope_only() {
        let state = state().await;
        let caller = principal(&state, DEMO).await;
        let bm = server(&state, 40102).await;
        let key = add(&state, &caller, &bm).await.expect("add");
        let public = job_of(&state, &key).await.1["public_ip"]
            .as_str()
            .expect("public")
            .to_owned();
        assert_eq!(
            server_on(&state, &caller, &public).await.expect("on").id,
            40102
        );
        let scoped = crate::ops::test_support::principal_of_key(
            &state,
            crate::ops::test_support::DEMO_SERVER_KEY,
        )
        .await;
        let other =
            crate::ops::test_support::principal_of_key(&state, crate::ops::test_support::OTHER_KEY)
                .await;
        for who in [&scoped, &other] {
            let e = remove_on(&state, who, &public, None)
                .await
                .expect_err("not theirs");
            assert_eq!(
                e.to_string(),
                format!("no static NAT is active on {public}")
            );
        }
        let vm = server(&state, 40101).await;
        let e = remove_on(&state, &caller, &public, Some(&vm))
            .await
            .expect_err("another server's");
        assert!(matches!(e, Error::NotFound(_)), "{e:?}");
        let key = remove_on(&state, &caller, &public, Some(&bm))
            .await
            .expect("remove");
        assert_eq!(job_of(&state, &key).await.1["op"], "remove");
        assert!(remove_on(&state, &caller, "185.17.147.250", None)
            .await
            .is_err());
    }

    #[tokio::test]
    async fn add_is_refused_without_ipmi_and_while_offline() {
        let state = state().await;
        let caller = principal(&state, DEMO).await;
        let vm = server(&state, 40101).await;
        let e = add(&state, &caller, &vm).await.expect_err("vm");
        assert!(matches!(e, Error::VmWithoutIpmi { server: 40101 }), "{e:?}");
        let none = server(&state, 40105).await;
        let e = add(&state, &caller, &none).await.expect_err("no ipmi");
        assert!(matches!(e, Error::NoIpmi { server: 40105, .. }), "{e:?}");
        let suspended = server(&state, 40106).await;
        let e = add(&state, &caller, &suspended)
            .await
            .expect_err("suspended");
        assert!(matches!(e, Error::Denied(_)), "{e:?}");
        assert_eq!(queued(&state).await, 0);
    }

    #[tokio::test]
    async fn remove_queues_the_removal_of_the_rule_in_force_only() {
        let state = state().await;
        let caller = principal(&state, DEMO).await;
        let bm = server(&state, 40102).await;
        let e = remove(&state, &caller, &bm).await.expect_err("no rule");
        assert_eq!(e.to_string(), "no static NAT is active for server 40102");
        let added = add(&state, &caller, &bm).await.expect("add");
        let (_, first) = job_of(&state, &added).await;
        let key = remove(&state, &caller, &bm).await.expect("remove");
        let (kind, payload) = job_of(&state, &key).await;
        assert_eq!(kind, "nat");
        assert_eq!(
            (&payload["op"], &payload["rule_id"], &payload["public_ip"]),
            (&json!("remove"), &first["rule_id"], &first["public_ip"])
        );
        let record = store::callbacks::get(&state.db, &key)
            .await
            .expect("record")
            .expect("created");
        assert_eq!(record.module, "nat");
        assert!(record.context.contains("remove_staticnat"));
    }
}
