//! Address blocks (001 "net/block_ip", "net/unblock_ip"): a customer blocks one of their
//! server's addresses (for good or for four hours) and lifts only their own blocks; the
//! abuse team's stay. The router (BIRD) is told by a job.

use super::ports::eq_task;
use super::sessions::Principal;
use crate::clock::format_datetime;
use crate::error::{Error, Result};
use crate::queue::{self, ip_context, Job};
use crate::state::AppState;
use crate::store::{
    self,
    servers::{IpRow, Server},
};

/// How a block is set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlockArgs {
    pub description: String,
    /// Lift it by itself after four hours.
    pub four_hours: bool,
}

/// IP block (001 "net/block_ip"): blocks one of the server's addresses (see
/// [`super::addresses::own_address`]); refused while a block is in force. Returns the
/// callback key.
pub async fn block(
    state: &AppState,
    caller: &Principal,
    server: &Server,
    address: &IpRow,
    args: &BlockArgs,
) -> Result<String> {
    let ip = &address.address;
    let mut tx = store::begin_write(&state.db).await?;
    if let Some(b) = store::network::active_block(&mut *tx, ip, state.clock.now()).await? {
        return Err(Error::Conflict(format!(
            "{ip} is already blocked since {}",
            format_datetime(b.created_at)
        )));
    }
    let job = Job::IpBlock {
        address: ip.clone(),
        block: true,
        description: args.description.clone(),
        four_hours: args.four_hours,
    };
    queue_router_job(state, tx, caller, server, "block_ip", ip, job).await
}

/// IP unblock (001 "net/unblock_ip"): lifts the customer's own block on one of the
/// server's addresses; the abuse team's is refused ([`Error::AdminIpBlock`]). Returns
/// the callback key.
pub async fn unblock(
    state: &AppState,
    caller: &Principal,
    server: &Server,
    address: &IpRow,
) -> Result<String> {
    let ip = &address.address;
    let mut tx = store::begin_write(&state.db).await?;
    let block = store::network::active_block(&mut *tx, ip, state.clock.now())
        .await?
        .ok_or_else(|| Error::invalid(format!("{ip} is not blocked")))?;
    if block.kind != "customer" {
        return Err(Error::AdminIpBlock { ip: ip.clone() });
    }
    let job = Job::IpBlock {
        address: ip.clone(),
        block: false,
        description: String::new(),
        four_hours: false,
    };
    queue_router_job(state, tx, caller, server, "unblock_ip", ip, job).await
}

/// Queues the router's job for a block change inside `tx` (with the check that allowed it)
/// and commits; returns the callback key.
async fn queue_router_job(
    state: &AppState,
    mut tx: crate::store::WriteTx,
    caller: &Principal,
    server: &Server,
    action: &'static str,
    ip: &str,
    job: Job,
) -> Result<String> {
    let context = ip_context(action, server.id, ip);
    let task = eq_task(caller, server, action, context, job, 5_000);
    let key = queue::submit_in(state, &mut tx, task).await?;
    queue::commit(state, tx).await?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::addresses::own_address;
    use crate::ops::test_support::{job_of, principal, queued, server, state, DEMO};
    use crate::store::network::Block;
    use serde_json::json;

    /// One of the server's addresses.
    async fn row(state: &AppState, s: &Server, ip: &str) -> IpRow {
        own_address(state, s, ip.parse().expect("ip"))
            .await
            .expect("own")
    }

    #[tokio::test]
    async fn block_queues_the_routers_job_for_an_unblocked_address() {
        let state = state().await;
        let caller = principal(&state, DEMO).await;
        let vm = server(&state, 40101).await;
        let main = row(&state, &vm, "31.207.45.23").await;
        let args = BlockArgs {
            description: "ddos".into(),
            four_hours: true,
        };
        let key = block(&state, &caller, &vm, &main, &args)
            .await
            .expect("block");
        let (kind, payload) = job_of(&state, &key).await;
        assert_eq!(kind, "ip_block");
        assert_eq!(
            payload,
            json!({"address": "31.207.45.23", "block": true, "description": "ddos", "four_hours": true})
        );
        let record = store::callbacks::get(&state.db, &key)
            .await
            .expect("record")
            .expect("created");
        assert_eq!(record.action, "block_ip");
    }

    #[tokio::test]
    async fn an_address_under_a_block_cannot_be_blocked_again() {
        let state = state().await;
        let caller = principal(&state, DEMO).await;
        let vm = server(&state, 40101).await;
        let blocked = row(&state, &vm, "31.207.45.24").await;
        let e = block(&state, &caller, &vm, &blocked, &BlockArgs::default())
            .await
            .expect_err("blocked");
        assert!(e
            .to_string()
            .starts_with("31.207.45.24 is already blocked since "));
        assert_eq!(queued(&state).await, 0);
    }

    #[tokio::test]
    async fn unblock_lifts_the_customers_own_block_only() {
        let state = state().await;
        let caller = principal(&state, DEMO).await;
        let vm = server(&state, 40101).await;
        let main = row(&state, &vm, "31.207.45.23").await;
        let e = unblock(&state, &caller, &vm, &main)
            .await
            .expect_err("not blocked");
        assert_eq!(e.to_string(), "31.207.45.23 is not blocked");
        let mut conn = state.db.acquire().await.expect("conn");
        store::network::block(
            &mut conn,
            &Block {
                address: main.address.clone(),
                server_id: vm.id,
                kind: "customer".into(),
                description: String::new(),
                created_at: state.clock.now(),
                expires_at: None,
            },
        )
        .await
        .expect("block");
        drop(conn);
        let key = unblock(&state, &caller, &vm, &main).await.expect("unblock");
        assert_eq!(
            job_of(&state, &key).await,
            (
                "ip_block".to_owned(),
                json!({"address": "31.207.45.23", "block": false, "description": "", "four_hours": false})
            )
        );
        let admin = row(&state, &vm, "31.207.45.24").await;
        let e = unblock(&state, &caller, &vm, &admin)
            .await
            .expect_err("abuse block");
        assert!(
            matches!(&e, Error::AdminIpBlock { ip } if ip == "31.207.45.24"),
            "{e:?}"
        );
    }
}
