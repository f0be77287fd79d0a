//! Ordering and reinstalling (001 "eq/order_instance"): validation with the documents'
//! messages, the invoice (paid from credit when it covers the price), the new server with
//! addresses from the location's pools, and the staged deployment job. One install runs
//! per server at a time: the marker (`running_installs`) is set in the same write
//! transaction that starts the install.

use serde_json::{json, Value};
use sqlx::SqliteConnection;

use super::ipam;
use crate::domain::catalogue::{self, Os, Software, TrafficPlan, PERIODS};
use crate::domain::hardware::HardwareSpec;
use crate::domain::rules::shorten;
use crate::domain::rules::valid_hostname;
use crate::error::{Error, Result};
use crate::queue::{self, Job, NewTask};
use crate::state::AppState;
use crate::store::{self, accounts::Account, deploy::Deployment, servers::Server};

/// What an order or a reinstall asks for.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub preset: String,
    pub location: String,
    pub os_id: Option<i64>,
    /// 002: the OS by name when `os_id` is not given.
    pub os_name: Option<String>,
    pub soft_id: Option<i64>,
    pub traffic_plan: Option<i64>,
    pub root_pass: Option<String>,
    pub hostname: Option<String>,
    pub post_install_callback: Option<String>,
    pub own_os: bool,
    pub period: String,
    pub deploy_notify: bool,
    /// jenkins/get_tasks id to run after the install (-1 = none).
    pub jenkins_task: Option<i64>,
    pub ssh_key: Option<String>,
    /// Size of the root partition in percent of the disk.
    pub root_size: Option<i64>,
    /// 002: public IPv4 addresses of a new server (1 when absent).
    pub ipv4_amount: Option<i64>,
}

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

/// Memory and disk of the machine an OS goes on, in GB.
#[derive(Debug, Clone, Copy)]
pub struct Size {
    pub ram: i64,
    pub disk: i64,
}

/// Extra IPv4 addresses a new server may have, and their monthly price (EUR).
const MAX_IPV4: i64 = 8;
const EXTRA_IPV4_MONTHLY: f64 = 3.0;

fn another_install(server_id: i64) -> Error {
    Error::Verbatim(format!(
        "another reinstall in progress for {server_id}, please wait"
    ))
}

/// The OS a request names (`os_id`, or 002's `os_name`), checked against the instance kind
/// and size; `None` for `own_os=1`.
fn resolve_os<'a>(
    state: &'a AppState,
    req: &Request,
    kind: &str,
    size: Size,
    what: &str,
) -> Result<Option<&'a Os>> {
    if req.own_os {
        return Ok(None);
    }
    let c = &state.catalogue;
    let os = match (req.os_id, &req.os_name) {
        (Some(id), _) => c
            .os(id)
            .ok_or_else(|| Error::not_found(format!("os_id {id} not found, see os/list")))?,
        (None, Some(name)) => c.os_named(name, kind).ok_or_else(|| {
            Error::not_found(format!(
                "os_name '{}' not found, see os/list",
                shorten(name)
            ))
        })?,
        (None, None) => return Err(Error::invalid("os_id is required (or own_os=1)")),
    };
    check_os(os, kind, size, what)?;
    Ok(Some(os))
}

/// Can this OS go on this kind of machine, of this size? (002: "OS is not compatible with
/// preset"; the text says which OS and why.)
pub fn check_os(os: &Os, kind: &str, size: Size, what: &str) -> Result<()> {
    if !os.fits(kind) {
        return Err(Error::invalid(format!(
            "OS {} (#{}) is not compatible with {what}",
            os.name, os.id
        )));
    }
    if let Some(why) = os.shortfall(size.ram, size.disk) {
        return Err(Error::invalid(format!(
            "OS {} (#{}) is not compatible with {what}: {why}",
            os.name, os.id
        )));
    }
    Ok(())
}

/// The software a request names, checked against the instance kind, its memory and the OS.
fn resolve_software<'a>(
    state: &'a AppState,
    req: &Request,
    os: Option<&Os>,
    kind: &str,
    size: Size,
    what: &str,
) -> Result<Option<&'a Software>> {
    let Some(id) = req.soft_id else {
        return Ok(None);
    };
    let s = state
        .catalogue
        .software(id)
        .ok_or_else(|| Error::not_found(format!("soft_id {id} not found, see software/list")))?;
    if !s.fits_kind(kind) {
        return Err(Error::invalid(format!(
            "extra software {} (#{id}) is not available for {what}, it installs on {} servers",
            s.name,
            s.kinds.join(", ")
        )));
    }
    match os {
        Some(o) if s.fits(o, kind) => {}
        // 001's own wording for this case, unprefixed.
        Some(o) => {
            return Err(Error::Verbatim(format!(
                "reinstall: extra software {} (#{id}) is not compatible with {}",
                s.name, o.name
            )))
        }
        None => {
            return Err(Error::invalid(
                "software cannot be installed without an OS (own_os=1)",
            ))
        }
    }
    if size.ram < s.min_ram {
        return Err(Error::invalid(format!(
            "extra software {} (#{id}) needs at least {} GB RAM, {what} has {} GB",
            s.name, s.min_ram, size.ram
        )));
    }
    Ok(Some(s))
}

/// The root password policy (001: min 8 characters, upper- and lowercase Latin letters, a
/// special character); not needed for `own_os=1`.
fn check_root_pass(req: &Request) -> Result<()> {
    if req.own_os {
        return Ok(());
    }
    let pass = req
        .root_pass
        .as_deref()
        .ok_or_else(|| Error::invalid("root_pass is required"))?;
    if !catalogue::root_pass_ok(pass) {
        return Err(Error::invalid(
            "root_pass must be at least 8 characters long with upper- and lowercase Latin letters and a special character",
        ));
    }
    Ok(())
}

/// The jenkins_task must exist and be meant for this instance kind.
fn check_jenkins_task(state: &AppState, task: Option<i64>, kind: &str) -> Result<()> {
    let Some(task) = task.filter(|t| *t != -1) else {
        return Ok(());
    };
    let known = state
        .catalogue
        .jenkins_tasks
        .iter()
        .find(|t| t["id"].as_i64() == Some(task))
        .ok_or_else(|| {
            Error::invalid(format!(
                "jenkins_task {task} not found, see jenkins/get_tasks"
            ))
        })?;
    let fits = known["tags"]
        .as_array()
        .is_some_and(|tags| tags.iter().any(|t| t["tag"] == kind));
    if !fits {
        return Err(Error::invalid(format!(
            "jenkins_task {task} ({}) needs a GPU server",
            known["desc"].as_str().unwrap_or("")
        )));
    }
    Ok(())
}

/// hostname, ssh_key, root_size and post_install_callback, when given.
fn check_options(req: &Request) -> Result<()> {
    if let Some(h) = &req.hostname {
        if !valid_hostname(h) {
            return Err(Error::invalid(format!("invalid hostname '{}'", shorten(h))));
        }
    }
    if let Some(k) = &req.ssh_key {
        const KINDS: [&str; 6] = [
            "ssh-rsa ",
            "ssh-ed25519 ",
            "ecdsa-sha2-nistp256 ",
            "ecdsa-sha2-nistp384 ",
            "ecdsa-sha2-nistp521 ",
            "sk-ssh-ed25519@openssh.com ",
        ];
        if !KINDS.iter().any(|p| k.trim_start().starts_with(p)) || k.split_whitespace().count() < 2
        {
            return Err(Error::invalid(
                "ssh_key must be an OpenSSH public key (ssh-ed25519 AAAA... comment)",
            ));
        }
    }
    if let Some(r) = req.root_size {
        if !(1..=100).contains(&r) {
            return Err(Error::invalid(
                "root_size must be between 1 and 100 (percent of the disk)",
            ));
        }
    }
    if let Some(u) = &req.post_install_callback {
        let url = reqwest::Url::parse(u).ok();
        let usable = url.is_some_and(|url| {
            matches!(url.scheme(), "http" | "https")
                && url.host_str().is_some_and(|h| !h.is_empty())
        });
        if !usable {
            return Err(Error::invalid(
                "post_install_callback must be an http(s) URL with a host",
            ));
        }
    }
    Ok(())
}

/// Everything an install needs checked, in the order the documents list it.
fn validate<'a>(
    state: &'a AppState,
    req: &Request,
    kind: &str,
    size: Size,
    what: &str,
) -> Result<(Option<&'a Os>, Option<&'a Software>)> {
    let os = resolve_os(state, req, kind, size, what)?;
    let soft = resolve_software(state, req, os, kind, size, what)?;
    check_root_pass(req)?;
    check_options(req)?;
    check_jenkins_task(state, req.jenkins_task, kind)?;
    Ok((os, soft))
}

/// What the order is for: a preset instance or a stock server.
struct Target {
    kind: String,
    vm: bool,
    hardware: HardwareSpec,
    preset_name: String,
    description: String,
    server_type: String,
    monthly: f64,
    stock_id: Option<i64>,
    manual: bool,
    ipmi_model: String,
    groups: Vec<String>,
}

impl Target {
    fn size(&self) -> Size {
        Size {
            ram: self.hardware.ram_gb(),
            disk: self.hardware.disk_gb(),
        }
    }
}

/// The preset or stock server an order names. Whether a stock server is still for sale is
/// checked later, inside the order's write transaction.
fn target(state: &AppState, req: &Request) -> Result<Target> {
    let c = &state.catalogue;
    if let Some(s) = req
        .preset
        .trim()
        .parse::<i64>()
        .ok()
        .and_then(|id| c.stock(id))
    {
        if s.location != req.location {
            return Err(Error::invalid(format!(
                "stock server {} is in {}, not in {}",
                s.id, s.location, req.location
            )));
        }
        let gpu = s.hardware.gpu.is_some();
        return Ok(Target {
            kind: if gpu { "gpu".into() } else { "bm".into() },
            vm: false,
            hardware: s.hardware.clone(),
            preset_name: format!("stock.{}", s.id),
            description: s.hardware.config(false),
            server_type: if gpu { "GPU" } else { "Dedicated" }.into(),
            monthly: s.monthly,
            stock_id: Some(s.id),
            manual: s.manual_deploy(),
            ipmi_model: s.ipmi_model.clone(),
            groups: catalogue::groups_for(&s.hardware, false, false),
        });
    }
    let p = c.preset(&req.preset).ok_or_else(|| {
        Error::not_found(format!(
            "preset {} not found, see presets/list",
            shorten(&req.preset)
        ))
    })?;
    let monthly = p
        .monthly(&req.location, "EUR")
        .filter(|_| p.locations.contains(&req.location))
        .ok_or_else(|| {
            Error::invalid(format!(
                "preset {} is not available in {}",
                p.name, req.location
            ))
        })?;
    let vm = p.kind == "vm" || p.kind == "vgpu";
    Ok(Target {
        kind: p.kind.clone(),
        vm,
        hardware: p.hardware.clone(),
        preset_name: p.name.clone(),
        description: p.description.clone(),
        server_type: match p.kind.as_str() {
            "vm" | "vgpu" => "VPS",
            "gpu" => "GPU",
            _ => "Dedicated",
        }
        .into(),
        monthly,
        stock_id: None,
        manual: false,
        ipmi_model: if vm {
            "ovirt".into()
        } else {
            catalogue::ipmi_model_for(&p.hardware).into()
        },
        groups: catalogue::groups_for(&p.hardware, vm, true),
    })
}

fn cents(eur: f64) -> i64 {
    (eur * 100.0).round() as i64
}

fn months_of(period: &str) -> Result<i64> {
    PERIODS
        .iter()
        .find(|p| p.0 == period)
        .map(|p| p.1)
        .ok_or_else(|| {
            Error::invalid("deploy_period must be monthly, quarterly, semi-annually or annually")
        })
}

/// One invoice line: type, description, amount in cents (the server id is added later).
type Line = (String, String, i64);

/// The invoice lines of an order: the server, a Windows licence per core, paid software,
/// a paid traffic plan, extra IPv4 addresses.
fn invoice_lines(
    t: &Target,
    os: Option<&Os>,
    soft: Option<&Software>,
    plan: &TrafficPlan,
    extra_ips: i64,
    period: &str,
    months: i64,
) -> Vec<Line> {
    let m = months as f64;
    let mut lines = vec![(
        "Hosting".to_owned(),
        format!("{} {} ({period})", t.server_type, t.description),
        cents(catalogue::period_price(t.monthly, months)),
    )];
    lines.extend(licence_lines(os, soft, t.hardware.cores(), months));
    if plan.price > 0.0 {
        lines.push((
            "Traffic".into(),
            format!("Traffic plan {}", plan.name),
            cents(plan.price * m),
        ));
    }
    if extra_ips > 0 {
        lines.push((
            "Addon".into(),
            format!("{extra_ips} additional IPv4 address(es)"),
            cents(EXTRA_IPV4_MONTHLY * extra_ips as f64 * m),
        ));
    }
    lines
}

/// The paid licences of an install, for `months`: Windows per core, paid software.
fn licence_lines(os: Option<&Os>, soft: Option<&Software>, cores: i64, months: i64) -> Vec<Line> {
    let m = months as f64;
    let mut lines = Vec::new();
    if let Some(o) = os.filter(|o| o.windows) {
        lines.push((
            "Addon".into(),
            format!("{} licence ({cores} cores)", o.name),
            cents(o.monthly(cores) * m),
        ));
    }
    if let Some(s) = soft.filter(|s| s.price > 0.0) {
        lines.push((
            "Addon".into(),
            format!("{} licence", s.name),
            cents(s.price * m),
        ));
    }
    lines
}

/// CPU cores of a server's stored hardware (licences are priced per core).
fn server_cores(hardware: &str) -> i64 {
    let hw: Value = serde_json::from_str(hardware).unwrap_or_default();
    hw["cpu_cores"].as_i64().unwrap_or(1).max(1)
}

/// A locally administered MAC that no interface has yet.
async fn fresh_mac(conn: &mut SqliteConnection, vm: bool) -> Result<String> {
    for _ in 0..16 {
        let b: [u8; 4] = rand::random();
        let mac = if vm {
            format!("56:6f:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3])
        } else {
            format!("ac:1f:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3])
        };
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM interfaces WHERE mac = ?")
            .bind(&mac)
            .fetch_one(&mut *conn)
            .await?;
        if n == 0 {
            return Ok(mac);
        }
    }
    Err(Error::internal("could not find a free MAC address"))
}

/// A unique-constraint failure while building a server means a parallel order took the
/// same stock server first: say so instead of "internal error".
fn sold_meanwhile(t: &Target) -> impl Fn(sqlx::Error) -> Error + '_ {
    move |e| match t.stock_id {
        Some(id) if store::is_unique_violation(&e) => stock_gone(id),
        _ => e.into(),
    }
}

fn stock_gone(id: i64) -> Error {
    Error::Conflict(format!(
        "stock server {id} is no longer available, see stocks/list"
    ))
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
    sqlx::query(
        "INSERT INTO servers (id, account_id, location, kind, type, status, power, control, ipmi_model, preset, \
         preset_description, hwconfig, hardware, groups, licenses, os, reg_date, due_date, billing_cycle, recurring_cents, \
         limit_traffic, limit_bands, created_at) VALUES (?, ?, ?, ?, ?, 'pending', 'off', ?, ?, ?, ?, ?, ?, ?, '[]', NULL, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(b.server_id)
    .bind(b.account_id)
    .bind(b.location)
    .bind(if t.vm { "vm" } else { "bm" })
    .bind(&t.server_type)
    .bind(if t.vm { "ovirt" } else { "ipmi" })
    .bind(&t.ipmi_model)
    .bind(&t.preset_name)
    .bind(&t.description)
    .bind(t.hardware.config(t.vm))
    .bind(t.hardware.render(t.vm, b.location).to_string())
    .bind(serde_json::to_string(&t.groups)?)
    .bind(b.now)
    .bind(b.now + months * 30 * 86_400)
    .bind(match months {
        1 => "Monthly",
        3 => "Quarterly",
        6 => "Semi-Annually",
        _ => "Annually",
    })
    .bind(cents(catalogue::period_price(t.monthly, months)))
    .bind(b.plan.limit_out)
    .bind(b.plan.bandwidth)
    .bind(b.now)
    .execute(&mut *tx)
    .await
    .map_err(sold_meanwhile(t))?;
    Ok(())
}

/// eth0 with `ipv4` addresses from the location's pool for this kind of server (the first
/// is the main address), and for bare metal an IPMI port with an address of the IPMI pool.
async fn wire_server(tx: &mut SqliteConnection, b: &Build<'_>) -> Result<()> {
    let (t, location, server_id, now) = (b.t, b.location, b.server_id, b.now);
    let mac = fresh_mac(tx, t.vm).await?;
    sqlx::query(
        "INSERT INTO interfaces (server_id, type, mac, is_main, is_virt, switch_owner, switch_model, switch_port, speed) \
         VALUES (?, 'eth0', ?, 1, 0, ?, ?, ?, ?)",
    )
    .bind(server_id)
    .bind(&mac)
    .bind(if t.vm { "" } else { "hostkey" })
    .bind(if t.vm { "virtual" } else { "Juniper EX4300-48T" })
    .bind(if t.vm { "virtual".to_owned() } else { format!("ge-0/0/{}", server_id % 48) })
    .bind(b.plan.bandwidth.max(1000))
    .execute(&mut *tx)
    .await?;
    let pool_tag = store::servers::pool_tag(t.vm);
    let pools = store::network::subnets_in(tx, location, "public", Some(pool_tag), None).await?;
    let ips = ipam::allocate(tx, &pools, server_id, "eth0", b.ipv4, 0, now).await?;
    store::network::set_main(tx, server_id, &ips[0].0, now).await?;
    if !t.vm {
        let ipmi_mac = fresh_mac(tx, false).await?;
        sqlx::query("INSERT INTO interfaces (server_id, type, mac, switch_model) VALUES (?, 'ipmi', ?, 'ipmi')")
            .bind(server_id)
            .bind(&ipmi_mac)
            .execute(&mut *tx)
            .await?;
        let tech = store::network::subnets_in(tx, location, "ipmi", None, None).await?;
        ipam::allocate(tx, &tech, server_id, "ipmi", 1, 0, now).await?;
    }
    Ok(())
}

/// eq/order_instance without `id`: invoice, server, deployment job, in one write
/// transaction (so parallel orders never share a stock server, an id or an address).
pub async fn order(state: &AppState, account: &Account, req: &Request) -> Result<Placed> {
    let months = months_of(&req.period)?;
    let t = target(state, req)?;
    let what = format!("preset {}", t.preset_name);
    let (os, soft) = validate(state, req, &t.kind, t.size(), &what)?;
    let plan_id = req
        .traffic_plan
        .ok_or_else(|| Error::invalid("traffic_plan is required, see traffic_plans/list"))?;
    let plan = state
        .catalogue
        .plan(plan_id)
        .filter(|p| p.fits(&req.location, &t.kind))
        .ok_or_else(|| {
            Error::invalid(format!(
                "traffic_plan {plan_id} is not available for {what} in {}",
                req.location
            ))
        })?;
    let ipv4 = req.ipv4_amount.unwrap_or(1);
    if !(1..=MAX_IPV4).contains(&ipv4) {
        return Err(Error::invalid(format!(
            "ipv4_amount must be between 1 and {MAX_IPV4}"
        )));
    }
    let lines = invoice_lines(&t, os, soft, plan, ipv4 - 1, &req.period, months);
    let now = state.clock.now();
    let mut tx = ipam::begin_write(state).await?;
    let server_id = match t.stock_id {
        Some(id) if store::deploy::is_sold(&mut tx, id).await? => return Err(stock_gone(id)),
        Some(id) => id,
        None => {
            let stock: Vec<i64> = state.catalogue.stock.iter().map(|s| s.id).collect();
            store::deploy::next_server_id(&mut tx, &stock).await?
        }
    };
    let items: Vec<(String, i64, String, i64)> = lines
        .into_iter()
        .map(|(kind, desc, amount)| (kind, server_id, desc, amount))
        .collect();
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
    let hostname = req
        .hostname
        .clone()
        .unwrap_or_else(|| server_id.to_string());
    for (tag, value, extra) in [
        ("hostname", hostname.as_str(), ""),
        ("order_origin", "invapi", "1"),
        ("deploy_status", "install", ""),
    ] {
        store::tags::upsert(&mut *tx, "eq", server_id, tag, value, extra, 0).await?;
    }
    if let Some(id) = t.stock_id {
        sqlx::query("INSERT INTO stock_sold (stock_id, server_id) VALUES (?, ?)")
            .bind(id)
            .bind(server_id)
            .execute(&mut *tx)
            .await
            .map_err(sold_meanwhile(&t))?;
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
    tx.commit().await?;
    state.wake.notify_one();
    Ok(Placed {
        invoice,
        paid,
        server_id,
        callback,
        os_name: os.map(|o| o.name.clone()).unwrap_or_default(),
        soft_name: soft.map(|s| s.name.clone()).unwrap_or_default(),
    })
}

/// The instance kind of an existing server (vm, vgpu, bm, gpu): its preset's, else guessed
/// from the server itself (scenario servers, stock servers).
pub fn server_kind(state: &AppState, server: &Server) -> String {
    if let Some(p) = state.catalogue.preset_named(&server.preset) {
        return p.kind.clone();
    }
    if server.is_vm() {
        "vm".into()
    } else if server.r#type == "GPU" {
        "gpu".into()
    } else {
        "bm".into()
    }
}

/// Memory and disk of an existing server, from its eq/show hardware.
pub fn server_size(server: &Server) -> Size {
    let hw: Value = serde_json::from_str(&server.hardware).unwrap_or_default();
    Size {
        ram: hw["ram"].as_i64().unwrap_or(0),
        disk: hw["hdd"].as_i64().unwrap_or(0),
    }
}

/// A server that can be reinstalled remotely: rented (not suspended or waiting for
/// payment) and with remote control (else only remote hands can boot it).
pub fn check_reinstallable(server: &Server) -> Result<()> {
    if server.control == "none" {
        return Err(Error::invalid(format!(
            "server {} has no remote control, a reinstall needs remote hands (jira.php action=request_PXEboot)",
            server.id
        )));
    }
    if server.status != "rent" {
        return Err(Error::denied(format!(
            "server {} is not active ({}), it cannot be reinstalled",
            server.id,
            if server.status == "pending" {
                "waiting for payment or deployment"
            } else {
                "suspended"
            }
        )));
    }
    Ok(())
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
    let (os, soft) = validate(state, req, &kind, server_size(server), &what)?;
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
        None => sqlx::query_scalar(
            "SELECT value FROM tags WHERE component = 'eq' AND component_id = ? AND tag = 'hostname'",
        )
        .bind(server.id)
        .fetch_optional(&mut *tx)
        .await?
        .unwrap_or_else(|| server.id.to_string()),
    };
    // Licences the server does not have yet (Windows per core, paid software) are invoiced
    // for a month; the reinstall then waits for that invoice, as an order does.
    let lines = reinstall_lines(server, os, soft);
    let (invoice, paid) = if lines.is_empty() {
        (0, true)
    } else {
        store::billing::create(&mut tx, account.id, &lines, now).await?
    };
    let mut context = queue::server_context("reinstall_vm", server.id, &server.location);
    context["reinstall"] = json!(1);
    let callback = queue::submit_in(
        state,
        &mut tx,
        NewTask {
            module: "eq",
            account_id: Some(account.id),
            server_id: server.id,
            action: "order_instance",
            context,
            job: Job::Reinstall {
                vm: server.is_vm(),
                invoice: (invoice > 0).then_some(invoice),
            },
            duration_ms: 3_000,
        },
    )
    .await?;
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
    tx.commit().await?;
    state.wake.notify_one();
    Ok(Placed {
        invoice,
        paid,
        server_id: server.id,
        callback,
        os_name: os.map(|o| o.name.clone()).unwrap_or_default(),
        soft_name: soft.map(|s| s.name.clone()).unwrap_or_default(),
    })
}

/// Invoice lines (type, server, description, cents) for the licences a reinstall adds, a
/// month each, leaving out those the server already holds.
fn reinstall_lines(
    server: &Server,
    os: Option<&Os>,
    soft: Option<&Software>,
) -> Vec<(String, i64, String, i64)> {
    let held: Vec<i64> = serde_json::from_str::<Vec<Value>>(&server.licenses)
        .unwrap_or_default()
        .iter()
        .filter_map(|l| l["id"].as_i64())
        .collect();
    let os = os.filter(|o| !held.contains(&o.id));
    let soft = soft.filter(|sw| !held.contains(&sw.id));
    licence_lines(os, soft, server_cores(&server.hardware), 1)
        .into_iter()
        .map(|(kind, desc, amount)| (kind, server.id, desc, amount))
        .collect()
}

/// What a finished install leaves on a server.
#[derive(Debug, Clone, Copy)]
pub struct Install<'a> {
    /// None: own_os, no OS at all.
    pub os_id: Option<i64>,
    pub soft_id: Option<i64>,
    pub hostname: &'a str,
}

/// The value of the `Password` tag. 001's eq/show has the root password there; the
/// emulator never keeps a secret in clear, so the tag says one was set without showing it.
pub const PASSWORD_TAG_VALUE: &str = "********";
const PASSWORD_TAG_EXTRA: &str = "set at install, not stored";

/// The server's new OS and credentials once an install completes: OS (eq/show `OS`), the
/// `OS`, `user_name`, `Password` (masked) and `hostname` tags, installed software (`soft`
/// tag, `webpanel` for a control panel) and the paid licences (Windows, software).
pub async fn apply_install(
    conn: &mut SqliteConnection,
    state: &AppState,
    server_id: i64,
    install: &Install<'_>,
    now: i64,
) -> Result<Option<String>> {
    let os = install.os_id.and_then(|id| state.catalogue.os(id));
    let soft = install.soft_id.and_then(|id| state.catalogue.software(id));
    let os_json = os.map(|o| json!({"id": o.id, "name": o.name}).to_string());
    let licences = licences(conn, state, server_id, (os, soft), now).await?;
    sqlx::query(
        "UPDATE servers SET os = ?, licenses = ?, power = 'on', status = 'rent' WHERE id = ?",
    )
    .bind(&os_json)
    .bind(licences.to_string())
    .bind(server_id)
    .execute(&mut *conn)
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
    sqlx::query(
        "DELETE FROM tags WHERE component = 'eq' AND component_id = ? \
         AND tag IN ('deploy_status', 'OS', 'user_name', 'Password', 'soft', 'webpanel')",
    )
    .bind(server_id)
    .execute(&mut *conn)
    .await?;
    if let Some(o) = os {
        let tags = [
            ("OS", o.name.as_str(), "", 0),
            ("user_name", o.user_name.as_str(), "", 0),
            ("Password", PASSWORD_TAG_VALUE, PASSWORD_TAG_EXTRA, 1),
        ];
        for (tag, value, extra, internal) in tags {
            store::tags::upsert(&mut *conn, "eq", server_id, tag, value, extra, internal).await?;
        }
    }
    if let Some(s) = soft {
        let id = s.id.to_string();
        store::tags::upsert(&mut *conn, "eq", server_id, "soft", &s.name, &id, 0).await?;
        if s.is_control_panel() {
            let url = format!("https://{}:2087", install.hostname);
            let panel = s.name.to_ascii_lowercase();
            store::tags::upsert(&mut *conn, "eq", server_id, "webpanel", &panel, &url, 0).await?;
        }
    }
    Ok(os.map(|o| o.name.clone()))
}

/// eq/show `licenses` after an install: licences bought apart from installs (a panel on an
/// address) stay; those of the previous OS and software give way to a Windows licence for
/// the server's cores and one for paid software, as 001 lists them (`id`, `name`, `amount`,
/// `date_buy`).
async fn licences(
    conn: &mut SqliteConnection,
    state: &AppState,
    server_id: i64,
    install: (Option<&Os>, Option<&Software>),
    now: i64,
) -> Result<Value> {
    let (os, soft) = install;
    let (hardware, current): (String, String) =
        sqlx::query_as("SELECT hardware, licenses FROM servers WHERE id = ?")
            .bind(server_id)
            .fetch_one(&mut *conn)
            .await?;
    let cores = server_cores(&hardware);
    let bought = crate::clock::format_date(now);
    let c = &state.catalogue;
    let from_an_install = |l: &Value| {
        l["id"]
            .as_i64()
            .is_some_and(|id| c.os(id).is_some() || c.software(id).is_some())
    };
    let mut list: Vec<Value> = serde_json::from_str::<Vec<Value>>(&current)
        .unwrap_or_default()
        .into_iter()
        .filter(|l| !from_an_install(l))
        .collect();
    if let Some(o) = os.filter(|o| o.windows) {
        list.push(
            json!({"id": o.id, "name": format!("{} ({cores} cores)", o.name),
                         "amount": cores, "date_buy": bought}),
        );
    }
    if let Some(s) = soft.filter(|s| s.price > 0.0) {
        list.push(json!({"id": s.id, "name": s.name, "amount": 1, "date_buy": bought}));
    }
    Ok(Value::Array(list))
}
