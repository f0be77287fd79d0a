//! Switch ports: which port a request means, its status as the switch (or oVirt) sees
//! it, and switching it off and on again (001 "net/get_status", "net/port_off",
//! "net/port_on"). The customer lifts only their own block; one the abuse team set stays
//! until support lifts it.

use serde_json::{json, Value};

use super::addresses;
use super::sessions::Principal;
use crate::domain::rules::shorten;
use crate::error::{Error, Result};
use crate::queue::{self, Job, NewTask};
use crate::state::AppState;
use crate::store::{self, servers::Interface, servers::Server};

/// Which port of a server a request means: by name (`eth0`, `eth1`...), by interface id,
/// or (neither given) the main one. A name wins over an id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortRef {
    pub name: Option<String>,
    pub id: Option<i64>,
}

/// The port a request means (never the IPMI port).
pub async fn find(state: &AppState, server: &Server, port: &PortRef) -> Result<Interface> {
    let ifaces = store::servers::interfaces(&state.db, server.id).await?;
    let found = match (&port.name, port.id) {
        (Some(p), _) => ifaces.iter().find(|i| &i.r#type == p && i.r#type != "ipmi"),
        (None, Some(pid)) => ifaces.iter().find(|i| i.id == pid && i.r#type != "ipmi"),
        (None, None) => ifaces
            .iter()
            .find(|i| i.is_main == 1)
            .or(ifaces.iter().find(|i| i.r#type != "ipmi")),
    };
    found.cloned().ok_or_else(|| {
        let p = port
            .name
            .clone()
            .or(port.id.map(|x| x.to_string()))
            .unwrap_or_default();
        Error::invalid(format!(
            "invalid request for server {} with port {}",
            server.id,
            shorten(&p)
        ))
    })
}

/// The server's IPMI address as port records show it (`0.0.0.0` without one).
async fn ipmi_ip(state: &AppState, server: &Server) -> Result<String> {
    let ips = store::servers::ips(&state.db, server.id).await?;
    Ok(ips
        .iter()
        .find(|i| i.port == "ipmi")
        .map(|i| i.address.clone())
        .unwrap_or_else(|| "0.0.0.0".into()))
}

/// The context a port record starts with (001: action, id, location, ip_ipmi,
/// interface_id, port).
async fn port_context(
    state: &AppState,
    action: &str,
    server: &Server,
    iface: &Interface,
) -> Result<Value> {
    let mut ctx = queue::server_context(action, server.id, &server.location);
    ctx["ip_ipmi"] = json!(ipmi_ip(state, server).await?);
    ctx["interface_id"] = json!(iface.r#type);
    ctx["port"] = json!(iface.r#type);
    Ok(ctx)
}

/// A job of the network operations on a server, reported on an `eq` record.
pub(super) fn eq_task<'a>(
    caller: &Principal,
    server: &Server,
    action: &'a str,
    context: Value,
    job: Job,
    ms: i64,
) -> NewTask<'a> {
    NewTask::on_server("eq", caller.account.id, server, action, context, job, ms)
}

/// Port status (001 "net/get_status"): asks the switch (or oVirt) how the port is;
/// returns the callback key of the job that answers.
pub async fn status(
    state: &AppState,
    caller: &Principal,
    server: &Server,
    iface: &Interface,
) -> Result<String> {
    let vlan = addresses::port_vlan(state, server, &iface.r#type).await?;
    let context = port_context(state, "get_status", server, iface).await?;
    let job = Job::PortStatus {
        iface_id: iface.id,
        vlan,
    };
    queue::submit(
        state,
        eq_task(caller, server, "get_status", context, job, 3_000),
    )
    .await
}

/// Refuses a port the abuse team blocked ([`Error::AdminPortBlock`]): only support can
/// switch it on or off again.
pub async fn not_admin_blocked(state: &AppState, iface: &Interface) -> Result<()> {
    let (blocked_by, _) = store::network::port_block(&state.db, iface.id).await?;
    if blocked_by.as_deref() == Some("admin") {
        return Err(Error::AdminPortBlock);
    }
    Ok(())
}

/// Port off or on (001 "net/port_off", "net/port_on"; 000): the customer's own block,
/// with a reason (`blocked by customer` when none is given). A port the abuse team
/// blocked is refused ([`Error::AdminPortBlock`]) either way. Returns the callback key.
pub async fn switch(
    state: &AppState,
    caller: &Principal,
    server: &Server,
    iface: &Interface,
    on: bool,
    reason: Option<String>,
) -> Result<String> {
    let action = if on { "port_on" } else { "port_off" };
    // Read before the write transaction: the in-memory pool has a single connection.
    let context = port_context(state, action, server, iface).await?;
    let mut tx = store::begin_write(&state.db).await?;
    let (blocked_by, _) = store::network::port_block(&mut *tx, iface.id).await?;
    if blocked_by.as_deref() == Some("admin") {
        return Err(Error::AdminPortBlock);
    }
    let reason = reason.unwrap_or_else(|| "blocked by customer".into());
    let job = Job::Port {
        iface_id: iface.id,
        on,
        reason,
    };
    let key = queue::submit_in(
        state,
        &mut tx,
        eq_task(caller, server, action, context, job, 8_000),
    )
    .await?;
    queue::commit(state, tx).await?;
    Ok(key)
}

/// The traffic graph of a port as a PNG (net/show_cacti, the dashboard's server page):
/// graph 1 = day, 2 = month, 3 = year, drawn from `sim::traffic` up to now.
pub async fn traffic_graph(
    state: &AppState,
    server: &Server,
    iface: &Interface,
    graph: i64,
) -> Result<Vec<u8>> {
    use crate::sim::traffic;
    let id = server.id;
    let now = state.clock.now();
    let (avg_in, avg_out) = traffic::average_bps(server, iface.is_main == 1, now);
    let seed = (server.id as u64) << 8 | iface.id as u64 & 0xff;
    let (span, step, label_every, fmt, name) = match graph {
        1 => (86_400, 300, 4 * 3600, "%H:%M", "Daily (5 Minute Average)"),
        2 => (
            30 * 86_400,
            7_200,
            5 * 86_400,
            "%d %b",
            "Monthly (2 Hour Average)",
        ),
        _ => (
            365 * 86_400,
            86_400,
            61 * 86_400,
            "%b %Y",
            "Yearly (1 Day Average)",
        ),
    };
    let samples = traffic::series(seed, now - span, now, step, avg_in, avg_out);
    let first_label = (now - span) - (now - span).rem_euclid(label_every) + label_every;
    let labels: Vec<(i64, String)> = (0..)
        .map(|i| first_label + i * label_every)
        .take_while(|t| *t < now)
        .map(|t| {
            let text = chrono::DateTime::<chrono::Utc>::from_timestamp(t, 0)
                .map(|d| d.format(fmt).to_string())
                .unwrap_or_default();
            (t, text)
        })
        .collect();
    let hostname = store::tags::get(&state.db, "eq", id, "hostname")
        .await?
        .map(|t| t.value)
        .unwrap_or(id.to_string());
    let title = format!("{hostname} - Traffic - {} - {name}", iface.r#type);
    Ok(crate::chart::render(&title, &samples, &labels))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::test_support::{job_of, principal, server, state, DEMO};

    /// A port by name.
    fn named(name: &str) -> PortRef {
        PortRef {
            name: Some(name.into()),
            id: None,
        }
    }

    #[tokio::test]
    async fn a_port_is_found_by_name_by_id_or_as_the_main_one_but_never_ipmi() {
        let state = state().await;
        let bm = server(&state, 40102).await;
        assert_eq!(
            find(&state, &bm, &PortRef::default())
                .await
                .expect("main")
                .r#type,
            "eth0"
        );
        assert_eq!(
            find(&state, &bm, &named("eth1")).await.expect("eth1").id,
            131503
        );
        let by_id = PortRef {
            name: None,
            id: Some(131503),
        };
        assert_eq!(find(&state, &bm, &by_id).await.expect("id").r#type, "eth1");
        let e = find(&state, &bm, &named("ipmi")).await.expect_err("ipmi");
        assert_eq!(
            e.to_string(),
            "invalid request for server 40102 with port ipmi"
        );
        // Another server's interface id is no port of this one.
        let foreign = PortRef {
            name: None,
            id: Some(131501),
        };
        assert!(matches!(
            find(&state, &bm, &foreign).await,
            Err(Error::Invalid(_))
        ));
    }

    #[tokio::test]
    async fn status_queues_a_port_status_job_with_the_ports_vlan() {
        let state = state().await;
        let caller = principal(&state, DEMO).await;
        let bm = server(&state, 40102).await;
        let eth0 = find(&state, &bm, &named("eth0")).await.expect("eth0");
        let key = status(&state, &caller, &bm, &eth0).await.expect("status");
        let (kind, payload) = job_of(&state, &key).await;
        assert_eq!(kind, "port_status");
        assert_eq!(
            payload,
            json!({"iface_id": 131502, "vlan": eth0_vlan(&state).await})
        );
    }

    /// The VLAN of 40102's eth0 (that of its main address).
    async fn eth0_vlan(state: &AppState) -> i64 {
        store::servers::ips(&state.db, 40102)
            .await
            .expect("ips")
            .into_iter()
            .find(|i| i.address == "5.39.218.37")
            .expect("main")
            .vlan
    }

    #[tokio::test]
    async fn switching_off_queues_the_customers_block_with_its_reason() {
        let state = state().await;
        let caller = principal(&state, DEMO).await;
        let bm = server(&state, 40102).await;
        let eth0 = find(&state, &bm, &named("eth0")).await.expect("eth0");
        let key = switch(&state, &caller, &bm, &eth0, false, None)
            .await
            .expect("off");
        let (kind, payload) = job_of(&state, &key).await;
        assert_eq!(kind, "port");
        assert_eq!(
            payload,
            json!({"iface_id": 131502, "on": false, "reason": "blocked by customer"})
        );
        let key = switch(&state, &caller, &bm, &eth0, true, Some("done".into()))
            .await
            .expect("on");
        assert_eq!(job_of(&state, &key).await.1["reason"], "done");
    }

    #[tokio::test]
    async fn a_port_the_abuse_team_blocked_is_refused_and_nothing_is_queued() {
        let state = state().await;
        let caller = principal(&state, DEMO).await;
        let bm = server(&state, 40102).await;
        let eth1 = find(&state, &bm, &named("eth1")).await.expect("eth1");
        for on in [true, false] {
            let e = switch(&state, &caller, &bm, &eth1, on, None)
                .await
                .expect_err("admin block");
            assert!(matches!(e, Error::AdminPortBlock), "{e:?}");
        }
        assert_eq!(crate::ops::test_support::queued(&state).await, 0);
    }
}
