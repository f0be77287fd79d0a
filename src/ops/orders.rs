//! Ordering and reinstalling (001 "eq/order_instance"): the operations. Each request is
//! checked by the rules of `domain::ordering` and priced by `domain::pricing`, then builds
//! its rows through `store` and submits its staged job (`queue`) inside one write
//! transaction: the invoice (paid from credit when it covers the price), the new server
//! with addresses from the location's pools, the deployment. One install runs per server at
//! a time: the marker (`running_installs`) is set in the same write transaction that starts
//! the install. The worker applies a finished install through [`apply_install`].

use serde_json::json;
use sqlx::SqliteConnection;

use super::ipam;
use crate::domain::catalogue::TrafficPlan;
use crate::domain::ordering::{self, Target};
use crate::domain::pricing;
use crate::error::{Error, Result};
use crate::queue::{self, Job, NewTask};
use crate::state::AppState;
use crate::store::{self, accounts::Account, deploy::Deployment, provisioning, servers::Server};

pub use crate::domain::ordering::{check_os, Request, Size};

/// A placed order.
#[derive(Debug, Clone)]
pub struct Placed {
    pub invoice: i64,
    pub paid: bool,
    pub server_id: i64,
    pub callback: String,
    pub os_name: String,
    pub soft_name: String,
}

/// 001's answer while an install runs on the server.
fn another_install(server_id: i64) -> Error {
    Error::Verbatim(format!(
        "another reinstall in progress for {server_id}, please wait"
    ))
}

/// A stock server that a parallel order took first.
fn stock_gone(id: i64) -> Error {
    Error::Conflict(format!(
        "stock server {id} is no longer available, see stocks/list"
    ))
}

/// A unique-constraint failure while building a server means a parallel order took the
/// same stock server first: say so instead of "internal error".
fn sold_meanwhile(stock_id: Option<i64>) -> impl Fn(sqlx::Error) -> Error {
    move |e| match stock_id {
        Some(id) if store::is_unique_violation(&e) => stock_gone(id),
        _ => e.into(),
    }
}

/// A locally administered MAC that no interface has yet.
async fn fresh_mac(conn: &mut SqliteConnection, vm: bool) -> Result<String> {
    for _ in 0..16 {
        let mac = ordering::mac_address(vm, rand::random());
        if !provisioning::mac_taken(&mut *conn, &mac).await? {
            return Ok(mac);
        }
    }
    Err(Error::internal("could not find a free MAC address"))
}

/// A new server being built inside the order's transaction.
struct Build<'a> {
    t: &'a Target,
    location: &'a str,
    account_id: i64,
    server_id: i64,
    plan: &'a TrafficPlan,
    months: i64,
    ipv4: usize,
    now: i64,
}

/// The servers row of a new order, pending until the invoice is paid.
async fn insert_server(tx: &mut SqliteConnection, b: &Build<'_>) -> Result<()> {
    let (t, months) = (b.t, b.months);
    let row = provisioning::NewServer {
        id: b.server_id,
        account_id: b.account_id,
        location: b.location.to_owned(),
        kind: if t.vm { "vm" } else { "bm" }.into(),
        r#type: t.server_type.clone(),
        control: if t.vm { "ovirt" } else { "ipmi" }.into(),
        ipmi_model: t.ipmi_model.clone(),
        preset: t.preset_name.clone(),
        preset_description: t.description.clone(),
        hwconfig: t.hardware.config(t.vm),
        hardware: t.hardware.render(t.vm, b.location).to_string(),
        groups: serde_json::to_string(&t.groups)?,
        reg_date: b.now,
        due_date: pricing::due_date(b.now, months),
        billing_cycle: pricing::billing_cycle(months).into(),
        recurring_cents: pricing::recurring_cents(t, months),
        limit_traffic: b.plan.limit_out,
        limit_bands: b.plan.bandwidth,
        created_at: b.now,
    };
    provisioning::insert_server(&mut *tx, &row)
        .await
        .map_err(sold_meanwhile(t.stock_id))?;
    Ok(())
}

/// eth0 with `ipv4` addresses from the location's pool for this kind of server (the first
/// is the main address), and for bare metal an IPMI port with an address of the IPMI pool.
async fn wire_server(tx: &mut SqliteConnection, b: &Build<'_>) -> Result<()> {
    let (t, location, server_id, now) = (b.t, b.location, b.server_id, b.now);
    let mac = fresh_mac(tx, t.vm).await?;
    let uplink = ordering::uplink(t.vm, server_id, b.plan.bandwidth);
    provisioning::add_main_port(
        &mut *tx,
        &provisioning::MainPort {
            server_id,
            mac: &mac,
            switch_owner: uplink.switch_owner,
            switch_model: uplink.switch_model,
            switch_port: &uplink.switch_port,
            speed: uplink.speed,
        },
    )
    .await?;
    let pool_tag = store::servers::pool_tag(t.vm);
    let pools = store::network::subnets_in(tx, location, "public", Some(pool_tag), None).await?;
    let ips = ipam::allocate(tx, &pools, server_id, "eth0", b.ipv4, 0, now).await?;
    store::network::set_main(tx, server_id, &ips[0].0, now).await?;
    if !t.vm {
        let ipmi_mac = fresh_mac(tx, false).await?;
        provisioning::add_ipmi_port(&mut *tx, server_id, &ipmi_mac).await?;
        let tech = store::network::subnets_in(tx, location, "ipmi", None, None).await?;
        ipam::allocate(tx, &tech, server_id, "ipmi", 1, 0, now).await?;
    }
    Ok(())
}

/// eq/order_instance without `id`: invoice, server, deployment job, in one write
/// transaction (so parallel orders never share a stock server, an id or an address).
pub async fn order(state: &AppState, account: &Account, req: &Request) -> Result<Placed> {
    let c = &state.catalogue;
    let months = pricing::months_of(&req.period)?;
    let t = ordering::target(c, req)?;
    let what = format!("preset {}", t.preset_name);
    let (os, soft) = ordering::validate(c, req, &t.kind, t.size(), &what)?;
    let plan = ordering::traffic_plan(c, req, &t.kind, &what)?;
    let ipv4 = ordering::ipv4_amount(req)?;
    let lines = pricing::invoice_lines(&t, os, soft, plan, ipv4 - 1, &req.period, months);
    let now = state.clock.now();
    let mut tx = ipam::begin_write(state).await?;
    let server_id = match t.stock_id {
        Some(id) if store::deploy::is_sold(&mut tx, id).await? => return Err(stock_gone(id)),
        Some(id) => id,
        None => {
            let stock: Vec<i64> = c.stock.iter().map(|s| s.id).collect();
            store::deploy::next_server_id(&mut tx, &stock).await?
        }
    };
    let items: Vec<(String, i64, String, i64)> =
        lines.into_iter().map(|l| l.for_server(server_id)).collect();
    let (invoice, paid) = store::billing::create(&mut tx, account.id, &items, now).await?;
    let build = Build {
        t: &t,
        location: &req.location,
        account_id: account.id,
        server_id,
        plan,
        months,
        ipv4: ipv4 as usize,
        now,
    };
    insert_server(&mut tx, &build).await?;
    wire_server(&mut tx, &build).await?;
    let hostname = ordering::hostname(req, server_id);
    for (tag, value, extra) in [
        ("hostname", hostname.as_str(), ""),
        ("order_origin", "invapi", "1"),
        ("deploy_status", "install", ""),
    ] {
        store::tags::upsert(&mut *tx, "eq", server_id, tag, value, extra, 0).await?;
    }
    set_ssh_key_tag(&mut tx, server_id, req, false).await?;
    if let Some(id) = t.stock_id {
        provisioning::mark_sold(&mut *tx, id, server_id)
            .await
            .map_err(sold_meanwhile(t.stock_id))?;
    }
    // No `ip` in the context yet: with `id`, it would tell clients the deployment is done.
    let context = queue::server_context("deploy_vm", server_id, &req.location);
    let callback = queue::submit_in(
        state,
        &mut tx,
        NewTask {
            module: "eq",
            account_id: Some(account.id),
            server_id,
            action: "order_instance",
            context,
            job: Job::Deploy {
                invoice,
                vm: t.vm,
                manual: t.manual,
            },
            duration_ms: 5_000,
        },
    )
    .await?;
    store::deploy::start(
        &mut tx,
        &Deployment {
            server_id,
            kind: "install".into(),
            invoice_id: Some(invoice),
            callback_key: callback.clone(),
            os_id: os.map(|o| o.id),
            soft_id: soft.map(|s| s.id),
            hostname,
            post_install_callback: req.post_install_callback.clone(),
            deploy_notify: i64::from(req.deploy_notify),
            manual: i64::from(t.manual),
            period: req.period.clone(),
            created_at: now,
            finished_at: None,
        },
    )
    .await?;
    if !store::deploy::claim_install(&mut tx, server_id, "install", &callback, now).await? {
        return Err(another_install(server_id));
    }
    queue::commit(state, tx).await?;
    Ok(Placed {
        invoice,
        paid,
        server_id,
        callback,
        os_name: os.map(|o| o.name.clone()).unwrap_or_default(),
        soft_name: soft.map(|s| s.name.clone()).unwrap_or_default(),
    })
}

/// The `ssh_key` tag of a new install: the fingerprint of the key it installs (the stored
/// key's name as extra); a reinstall (`replace`) without one removes the previous
/// install's tag, since that key went with the old system.
async fn set_ssh_key_tag(
    tx: &mut SqliteConnection,
    server_id: i64,
    req: &Request,
    replace: bool,
) -> Result<()> {
    match &req.ssh_key_tag {
        Some((fingerprint, name)) => {
            store::tags::upsert(
                &mut *tx,
                "eq",
                server_id,
                ordering::SSH_KEY_TAG,
                fingerprint,
                name,
                0,
            )
            .await?;
        }
        None if replace => {
            provisioning::clear_tags(&mut *tx, server_id, &[ordering::SSH_KEY_TAG]).await?;
        }
        None => {}
    }
    Ok(())
}

/// The instance kind of an existing server (vm, vgpu, bm, gpu): its preset's, else guessed
/// from the server itself (scenario servers, stock servers).
pub fn server_kind(state: &AppState, server: &Server) -> String {
    let preset = state.catalogue.preset_named(&server.preset);
    ordering::server_kind(preset, server.is_vm(), &server.r#type)
}

/// Memory and disk of an existing server, from its eq/show hardware.
pub fn server_size(server: &Server) -> Size {
    ordering::hardware_size(&server.hardware)
}

/// A server that can be reinstalled remotely: rented (not suspended or waiting for
/// payment) and with remote control (else only remote hands can boot it).
pub fn check_reinstallable(server: &Server) -> Result<()> {
    ordering::check_reinstallable(server.id, &server.control, &server.status)
}

/// eq/order_instance with `id`: reinstalls an existing server through the same installer.
/// The "another reinstall" check and the install marker share one write transaction, so of
/// parallel requests exactly one starts.
pub async fn reinstall(
    state: &AppState,
    account: &Account,
    server: &Server,
    req: &Request,
) -> Result<Placed> {
    let kind = server_kind(state, server);
    let what = format!("server {}", server.id);
    let (os, soft) = ordering::validate(&state.catalogue, req, &kind, server_size(server), &what)?;
    check_reinstallable(server)?;
    let now = state.clock.now();
    let mut tx = ipam::begin_write(state).await?;
    if store::deploy::running_install(&mut *tx, server.id)
        .await?
        .is_some()
    {
        return Err(another_install(server.id));
    }
    let hostname = match &req.hostname {
        Some(h) => h.clone(),
        None => provisioning::hostname(&mut *tx, server.id)
            .await?
            .unwrap_or_else(|| server.id.to_string()),
    };
    // Licences the server does not have yet (Windows per core, paid software) are invoiced
    // for a month; the reinstall then waits for that invoice, as an order does.
    let held = pricing::licence_ids(&server.licenses);
    let cores = ordering::hardware_cores(&server.hardware);
    let lines: Vec<(String, i64, String, i64)> = pricing::reinstall_lines(&held, cores, os, soft)
        .into_iter()
        .map(|l| l.for_server(server.id))
        .collect();
    let (invoice, paid) = if lines.is_empty() {
        (0, true)
    } else {
        store::billing::create(&mut tx, account.id, &lines, now).await?
    };
    let mut context = queue::server_context("reinstall_vm", server.id, &server.location);
    context["reinstall"] = json!(1);
    let job = Job::Reinstall {
        vm: server.is_vm(),
        invoice: (invoice > 0).then_some(invoice),
    };
    let task = NewTask::on_server(
        "eq",
        account.id,
        server,
        "order_instance",
        context,
        job,
        3_000,
    );
    let callback = queue::submit_in(state, &mut tx, task).await?;
    store::deploy::start(
        &mut tx,
        &Deployment {
            server_id: server.id,
            kind: "reinstall".into(),
            invoice_id: (invoice > 0).then_some(invoice),
            callback_key: callback.clone(),
            os_id: os.map(|o| o.id),
            soft_id: soft.map(|s| s.id),
            hostname,
            post_install_callback: req.post_install_callback.clone(),
            deploy_notify: i64::from(req.deploy_notify),
            manual: 0,
            period: String::new(),
            created_at: now,
            finished_at: None,
        },
    )
    .await?;
    if !store::deploy::claim_install(&mut tx, server.id, "reinstall", &callback, now).await? {
        return Err(another_install(server.id));
    }
    store::tags::upsert(
        &mut *tx,
        "eq",
        server.id,
        "deploy_status",
        "reinstall",
        "",
        0,
    )
    .await?;
    set_ssh_key_tag(&mut tx, server.id, req, true).await?;
    queue::commit(state, tx).await?;
    Ok(Placed {
        invoice,
        paid,
        server_id: server.id,
        callback,
        os_name: os.map(|o| o.name.clone()).unwrap_or_default(),
        soft_name: soft.map(|s| s.name.clone()).unwrap_or_default(),
    })
}

/// What a finished install leaves on a server.
#[derive(Debug, Clone, Copy)]
pub struct Install<'a> {
    /// None: own_os, no OS at all.
    pub os_id: Option<i64>,
    pub soft_id: Option<i64>,
    pub hostname: &'a str,
}

/// The server's new OS and credentials once an install completes, inside the worker's
/// transaction: OS (eq/show `OS`), the `OS`, `user_name`, `Password` (masked) and
/// `hostname` tags, installed software (`soft` tag, `webpanel` for a control panel) and the
/// paid licences (Windows, software); the server's Hestia panel (removed, or made afresh
/// with the Hestia software). Returns the OS name and the new panel's login.
pub async fn apply_install(
    conn: &mut SqliteConnection,
    state: &AppState,
    server_id: i64,
    install: &Install<'_>,
    now: i64,
) -> Result<(Option<String>, Option<super::hestia_access::PanelLogin>)> {
    let c = &state.catalogue;
    let os = install.os_id.and_then(|id| c.os(id));
    let soft = install.soft_id.and_then(|id| c.software(id));
    let server = store::servers::get(&mut *conn, server_id)
        .await?
        .ok_or_else(|| Error::internal(format!("server {server_id} missing")))?;
    let licences = pricing::installed_licences(
        c,
        &server.licenses,
        ordering::hardware_cores(&server.hardware),
        (os, soft),
        &crate::clock::format_date(now),
    );
    let os_field = ordering::os_field(os);
    provisioning::complete_install(
        &mut *conn,
        server_id,
        os_field.as_deref(),
        &licences.to_string(),
    )
    .await?;
    store::tags::upsert(
        &mut *conn,
        "eq",
        server_id,
        "hostname",
        install.hostname,
        "",
        0,
    )
    .await?;
    // What the previous install left goes: its OS, credentials, software and panel.
    provisioning::clear_tags(&mut *conn, server_id, ordering::INSTALL_TAGS).await?;
    for (tag, value, extra, internal) in ordering::install_tags(os, soft, install.hostname) {
        store::tags::upsert(&mut *conn, "eq", server_id, tag, &value, &extra, internal).await?;
    }
    // The server's Hestia panel goes with the old disk; the Hestia software makes a new one.
    let panel =
        super::hestia_access::on_install(state, &mut *conn, server_id, soft, install.hostname, now)
            .await?;
    Ok((os.map(|o| o.name.clone()), panel))
}

/// A new server's deployment as eq/deploy reports it: the deployment and the state of the
/// order's invoice.
#[derive(Debug, Clone)]
pub struct Deploying {
    pub deployment: Deployment,
    pub invoice_status: Option<String>,
}

/// eq/deploy (`deploy_data`: the order's invoice id or the account's e-mail, optional):
/// the deployment of a server ordered with eq/order_instance, once its invoice is paid.
/// The deployment runs on its own from the payment on; this names its record. A server
/// that is deployed (or reinstalling) has none to start; an unpaid order waits.
pub async fn deployment(
    state: &AppState,
    account: &Account,
    server: &Server,
    deploy_data: Option<&str>,
) -> Result<Deploying> {
    let none = || {
        Error::Conflict(format!(
            "server {} has no deployment to start: it is deployed; reinstall it with eq/order_instance id={}",
            server.id, server.id
        ))
    };
    let d = store::deploy::get(&state.db, server.id)
        .await?
        .filter(|d| d.kind == "install" && d.finished_at.is_none())
        .ok_or_else(none)?;
    if let Some(data) = deploy_data.map(str::trim).filter(|x| !x.is_empty()) {
        let by_invoice = d.invoice_id.is_some_and(|i| i.to_string() == data);
        let by_email = account.email.eq_ignore_ascii_case(data);
        if !by_invoice && !by_email {
            return Err(Error::invalid(format!(
                "deploy_data '{}' is neither the order's invoice id nor the account's e-mail",
                crate::domain::rules::shorten(data)
            )));
        }
    }
    let invoice_status = match d.invoice_id {
        Some(i) => store::billing::get(&state.db, i)
            .await?
            .map(|inv| inv.status),
        None => None,
    };
    if let (Some(i), Some("Unpaid")) = (d.invoice_id, invoice_status.as_deref()) {
        return Err(Error::Conflict(format!(
            "invoice {i} is unpaid, the deployment of server {} starts once it is paid",
            server.id
        )));
    }
    Ok(Deploying {
        deployment: d,
        invoice_status,
    })
}
