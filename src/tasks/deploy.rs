//! Job steps of deployments and reinstalls (staged: payment, the operations team, stages
//! 1/5 to 5/5, done), PXE configuration, boot devices, the PXE installer, IPMI users, BMC
//! reset, consoles.

use serde_json::json;
use sqlx::SqliteConnection;

use super::{Ctx, Step};
use crate::clock::format_datetime;
use crate::error::{Error, Result};
use crate::ops::orders;
use crate::queue::Job;
use crate::secrets;
use crate::sim::{installer, Effect, Outcome};
use crate::state::AppState;
use crate::store::{self, callbacks::Callback, deploy::Deployment, servers::Server};

/// How often an unpaid order looks at its invoice again. A payment through the control
/// plane wakes the job at once; this only catches a payment that arrived another way.
const PAYMENT_RECHECK_MS: i64 = 60_000;

/// How long the operations team takes to set up a hwraid / no_autodeploy stock server
/// ("within one business day"): emulator-clock time, never shortened by the task speed.
const MANUAL_SETUP_MS: i64 = 20 * 3600 * 1000;

fn done(o: Outcome) -> Result<Step> {
    Ok(Step::Done(o))
}

/// The installer's stage machine shared by deploy, reinstall and PXE installs: stages 1 to 5
/// report progress; `None` after stage 5 means "finish now".
fn installer_stage(stage: i64, vm: bool) -> Option<Step> {
    (1..=5).contains(&stage).then(|| Step::Stage {
        scope: installer::STAGES[(stage - 1) as usize].to_owned(),
        next_in_ms: installer::stage_ms(vm, stage as usize),
        next_stage: stage + 1,
    })
}

async fn server_in(tx: &mut SqliteConnection, id: i64) -> Result<Server> {
    store::servers::get(&mut *tx, id)
        .await?
        .ok_or_else(|| Error::internal(format!("server {id} vanished")))
}

/// A new order: stage 0 waits for the invoice (and the operations team when `manual`),
/// then the installer's stages, then the server is handed over.
pub async fn deploy(
    cx: &Ctx<'_>,
    tx: &mut SqliteConnection,
    invoice: i64,
    vm: bool,
    manual: bool,
) -> Result<Step> {
    if cx.stage == 0 {
        if let Some(wait) = before_install(tx, cx.record, invoice, manual).await? {
            return Ok(wait);
        }
    }
    match installer_stage(cx.stage.max(1), vm) {
        Some(s) => Ok(s),
        None => finish_install(cx.state, tx, cx.record, cx.now, false).await,
    }
}

/// eq/order_instance on an existing server: a reinstall onto a paid licence (`invoice`)
/// waits for its invoice, as an order does; the server is off while the installer runs.
pub async fn reinstall(
    cx: &Ctx<'_>,
    tx: &mut SqliteConnection,
    invoice: Option<i64>,
    vm: bool,
) -> Result<Step> {
    if let (0, Some(invoice)) = (cx.stage, invoice) {
        if let Some(wait) = await_payment(tx, invoice).await? {
            return Ok(wait);
        }
    }
    match installer_stage(cx.stage.max(1), vm) {
        Some(s) => {
            if cx.stage <= 1 {
                store::servers::set_power(&mut *tx, cx.record.server_id, "off").await?;
            }
            Ok(s)
        }
        None => finish_install(cx.state, tx, cx.record, cx.now, true).await,
    }
}

/// The PXE installer a reboot started: its stages, then the OS it was configured with
/// (`os_id` and `hostname`; without `os_id`, what the PXE configuration says now).
pub async fn installer(
    cx: &Ctx<'_>,
    tx: &mut SqliteConnection,
    vm: bool,
    os_id: Option<i64>,
    hostname: &str,
    post_install_callback: Option<&str>,
) -> Result<Step> {
    match installer_stage(cx.stage.max(1), vm) {
        Some(s) => Ok(s),
        None => {
            let configured = os_id.map(|os| (os, hostname));
            finish_pxe_install(cx, tx, configured, post_install_callback).await
        }
    }
}

/// eq/create_pxe (`create`), eq/clear_pxe: the configuration itself was written with the
/// request; the job reports it.
pub fn pxe_config(create: bool) -> Step {
    let scope = if create {
        "Configuration_successfully_created"
    } else {
        "Configuration_successfully_cleared"
    };
    Step::Done(Outcome::ok(scope, None, Effect::None))
}

/// eq/boot_dev: the server boots from `media` (`pxe`, `disk` or `cd`) from now on.
pub async fn boot_dev(
    cx: &Ctx<'_>,
    tx: &mut SqliteConnection,
    media: &str,
    vm: bool,
) -> Result<Step> {
    store::deploy::set_boot_dev(&mut *tx, cx.record.server_id, media).await?;
    let scope = match (media, vm) {
        ("disk", true) => "VM is boot for disk".to_owned(),
        ("cd", _) => "Set Boot Device to cdrom".to_owned(),
        (m, _) => format!("Set Boot Device to {m}"),
    };
    done(Outcome::ok(scope, None, Effect::None))
}

/// eq/unit_reset: the BMC's answer to a cold reset.
pub fn unit_reset() -> Step {
    Step::Done(Outcome::ok(
        "Unit is reset",
        Some("Sent cold reset command to MC".into()),
        Effect::None,
    ))
}

/// eq/console: the virt-viewer file of the job's server.
pub async fn console(cx: &Ctx<'_>, tx: &mut SqliteConnection) -> Result<Step> {
    let server = server_in(tx, cx.record.server_id).await?;
    done(console_file(&server))
}

/// add_ipmi_user (`add`) / remove_ipmi_user (of `user`): the user tool's output; a new
/// user's name and password go only into the record's context (001), never into the
/// database.
pub async fn ipmi_user(
    cx: &Ctx<'_>,
    tx: &mut SqliteConnection,
    add: bool,
    user: Option<&str>,
) -> Result<Step> {
    let (record, now) = (cx.record, cx.now);
    let when = chrono::DateTime::<chrono::Utc>::from_timestamp(now, 0)
        .map(|d| d.format("%Y/%m/%d %H:%M:%S").to_string())
        .unwrap_or_default();
    if add {
        let user = format!("u{}", installer::random_alnum(7));
        let password = installer::random_alnum(16);
        let Some(slot) = store::deploy::add_ipmi_user(tx, record.server_id, &user, now).await?
        else {
            return Ok(Step::Done(Outcome::fail(
                "No free IPMI user slot (users 3 to 15 are taken), remove one with eq/remove_ipmi_user",
                None,
            )));
        };
        let mut o = Outcome::ok(installer::ipmi_user_added(&when, slot), None, Effect::None);
        o.context.insert("User".into(), json!(user));
        o.context.insert("Password".into(), json!(password));
        return Ok(Step::Done(o));
    }
    let user = user.unwrap_or_default();
    store::deploy::remove_ipmi_user(tx, record.server_id, user).await?;
    let mut o = Outcome::ok(format!("{when}  User removed"), None, Effect::None);
    o.context.insert("User".into(), json!(user));
    Ok(Step::Done(o))
}

/// eq/console: a virt-viewer file whose SPICE address is stable per server.
fn console_file(server: &Server) -> Outcome {
    let host = format!("146.0.78.{}", 10 + server.id % 200);
    let port = 5900 + (server.id % 1000) as u16 * 2;
    let engine = format!(
        "ovr-{}-engine02a.infra.hostkey-emu.local",
        server.location.to_ascii_lowercase()
    );
    let vv = installer::console_vv(
        server.id,
        &host,
        port,
        &installer::random_alnum(8),
        &engine,
        &installer::vm_guid(server.id),
    );
    Outcome::ok(vv, Some(String::new()), Effect::None)
}

/// novnc / recreate_novnc / stop_novnc (`op` open, recreate, stop): every open session of
/// the server ends; open and recreate start a new one for `white_ip`, served at
/// `<base>/novnc/<token>` for two hours.
pub async fn novnc(
    cx: &Ctx<'_>,
    tx: &mut SqliteConnection,
    op: &str,
    white_ip: &str,
    base: &str,
) -> Result<Step> {
    let (record, now) = (cx.record, cx.now);
    let stopped = store::deploy::stop_consoles(tx, record.server_id, now).await?;
    if op == "stop" {
        let scope = format!("Console session terminated ({stopped} closed)");
        return Ok(Step::Done(Outcome::ok(scope, None, Effect::None)));
    }
    let token = secrets::random_hex(16);
    let expires = now + 2 * 3600;
    let digest = secrets::digest(&token);
    store::deploy::open_console(tx, &digest, record.server_id, white_ip, now, expires).await?;
    let url = format!("{base}/novnc/{token}");
    let mut o = Outcome::ok(url.clone(), None, Effect::None);
    o.context.insert("url".into(), json!(url));
    o.context
        .insert("expires".into(), json!(format_datetime(expires)));
    Ok(Step::Done(o))
}

/// Stage 0 of a new order: the invoice must be paid, then a hwraid / no_autodeploy stock
/// server waits for the operations team. `None` when the installer may start.
async fn before_install(
    tx: &mut SqliteConnection,
    record: &Callback,
    invoice: i64,
    manual: bool,
) -> Result<Option<Step>> {
    if let Some(wait) = await_payment(tx, invoice).await? {
        return Ok(Some(wait));
    }
    store::servers::activate_paid(&mut *tx, record.server_id).await?;
    if manual {
        return Ok(Some(Step::Wait {
            scope: " Deployment is scheduled with the operations team (hardware RAID or manual setup), \
                    usually within one business day"
                .into(),
            for_ms: MANUAL_SETUP_MS,
            next_stage: 1,
        }));
    }
    Ok(None)
}

/// The wait for the job's invoice, or `None` once it is paid.
async fn await_payment(tx: &mut SqliteConnection, invoice: i64) -> Result<Option<Step>> {
    let paid = store::billing::get(&mut *tx, invoice)
        .await?
        .is_some_and(|i| i.status == "Paid");
    Ok((!paid).then(|| Step::Wait {
        scope: format!(" Waiting for payment of invoice {invoice}"),
        for_ms: PAYMENT_RECHECK_MS,
        next_stage: 0,
    }))
}

/// The addresses a completion record reports: the main address and the IPMI address
/// ("0.0.0.0" when the server has none, as the documents show for VMs).
async fn completion_addresses(
    tx: &mut SqliteConnection,
    server: &Server,
) -> Result<(String, String)> {
    let (main, ipmi) = store::deploy::install_addresses(tx, server.id).await?;
    Ok((main, ipmi.unwrap_or_else(|| "0.0.0.0".to_owned())))
}

/// The last step of a deployment or reinstall: the OS and credentials take effect, the
/// server is on, the install marker goes, the e-mail and webhook go out. Only this record
/// carries `ip` (decisions.md §4: `id` + `ip` in the context mean "done").
async fn finish_install(
    state: &AppState,
    tx: &mut SqliteConnection,
    record: &Callback,
    now: i64,
    reinstall: bool,
) -> Result<Step> {
    let d = store::deploy::get(&mut *tx, record.server_id)
        .await?
        .ok_or_else(|| Error::internal("deployment record missing"))?;
    let install = orders::Install {
        os_id: d.os_id,
        soft_id: d.soft_id,
        hostname: &d.hostname,
    };
    let (os_name, panel) =
        orders::apply_install(tx, state, record.server_id, &install, now).await?;
    store::deploy::finish(tx, record.server_id, now).await?;
    store::deploy::release_install(tx, &record.key).await?;
    let server = server_in(tx, record.server_id).await?;
    let (ip, ip_ipmi) = completion_addresses(tx, &server).await?;
    let (scope, debug) = if reinstall {
        (json!({"result": "deploy_done"}).to_string(), String::new())
    } else {
        let message = format!("Autodeploy completed, check VRI-208-{}", server.id);
        (
            json!({"result": "deploy_done", "message": message}).to_string(),
            "0".to_owned(),
        )
    };
    let mut o = Outcome::ok(scope, Some(debug), Effect::None);
    o.context.insert("ip".into(), json!(ip));
    o.context.insert("ip_ipmi".into(), json!(ip_ipmi));
    // A Hestia panel's login, told once here as a marketplace install tells it (the panel
    // keeps only a hash; the record expires with the retention period).
    if let Some(p) = &panel {
        o.context.insert("hestia_url".into(), json!(p.url));
        o.context.insert("hestia_user".into(), json!(p.user));
        o.context
            .insert("hestia_password".into(), json!(p.password));
    }
    if let Some(url) = &d.post_install_callback {
        o.webhook = Some((
            url.clone(),
            json!({"id": server.id.to_string(), "ip": ip, "hostname": d.hostname, "os": os_name,
                   "action": if reinstall { "reinstall_vm" } else { "deploy_vm" }, "status": "deploy_done",
                   "key": record.key}),
        ));
    }
    if d.deploy_notify == 1 && !reinstall {
        notify_ready(tx, &server, &d, &ip, os_name.as_deref(), now).await?;
    }
    Ok(Step::Done(o))
}

/// The deploy notice of `deploy_notify=true`, in the outbox.
async fn notify_ready(
    tx: &mut SqliteConnection,
    server: &Server,
    d: &Deployment,
    ip: &str,
    os_name: Option<&str>,
    now: i64,
) -> Result<()> {
    let Some(account) = server.account_id else {
        return Ok(());
    };
    let Some(to) = store::accounts::get(&mut *tx, account)
        .await?
        .map(|a| a.email)
    else {
        return Ok(());
    };
    let body = format!(
        "Hello,\n\nyour server {} ({}) in {} is ready.\n\nIP address: {ip}\nOperating system: {}\n\
         Log in with the root password you chose when ordering.\n\nHOSTKEY",
        server.id,
        d.hostname,
        server.location,
        os_name.unwrap_or("none (own OS)"),
    );
    let subject = format!("Server {} is ready", server.id);
    store::outbox::push(&mut *tx, Some(account), &to, &subject, &body, now).await?;
    Ok(())
}

/// The end of a PXE install: the configured OS (`configured`: OS and hostname) takes
/// effect. The scope keeps 001's words inside a `deploy_done` result and the context gains
/// `ip` and `ip_ipmi`, so both markers of decisions.md §4 are there.
async fn finish_pxe_install(
    cx: &Ctx<'_>,
    tx: &mut SqliteConnection,
    configured: Option<(i64, &str)>,
    post_install_callback: Option<&str>,
) -> Result<Step> {
    let (state, record, now) = (cx.state, cx.record, cx.now);
    let server = server_in(tx, record.server_id).await?;
    // What was configured when the server booted the installer (a clear_pxe since then
    // does not change what is on the disk); jobs queued by older versions read the config.
    let (os_id, hostname) = match configured {
        Some((os, hostname)) => (Some(os), hostname.to_owned()),
        None => store::deploy::pxe(&mut *tx, server.id)
            .await?
            .map(|c| (c.os_id, c.hostname))
            .unwrap_or_default(),
    };
    let hostname = if hostname.is_empty() {
        server.id.to_string()
    } else {
        hostname
    };
    let install = orders::Install {
        os_id,
        soft_id: None,
        hostname: &hostname,
    };
    orders::apply_install(tx, state, server.id, &install, now).await?;
    store::deploy::release_install(tx, &record.key).await?;
    let (ip, ip_ipmi) = completion_addresses(tx, &server).await?;
    let scope = json!({"result": "deploy_done", "message": installer::PXE_DONE}).to_string();
    let mut o = Outcome::ok(scope, None, Effect::None);
    o.context.insert("ip".into(), json!(ip));
    o.context.insert("ip_ipmi".into(), json!(ip_ipmi));
    o.context.insert("reinstall".into(), json!(1));
    if let Some(url) = post_install_callback {
        o.webhook = Some((
            url.to_owned(),
            json!({"id": server.id.to_string(), "ip": ip, "action": "reinstall",
                   "status": "deploy_done", "hostname": hostname, "key": record.key}),
        ));
    }
    Ok(Step::Done(o))
}

/// A reboot (or power-on) of a server whose boot device is PXE with a configuration in place
/// starts the installer; its stages go to the eq/reinstall master key when one is waiting,
/// else to a new record. Returns the key the installer reports to (`None`: no install, also
/// when another install already runs on the server).
pub async fn boot_from_pxe(
    state: &AppState,
    tx: &mut SqliteConnection,
    server: &Server,
    now: i64,
) -> Result<Option<String>> {
    if store::deploy::boot_dev(&mut *tx, server.id).await? != "pxe" {
        return Ok(None);
    }
    let Some(pxe) = store::deploy::pxe(&mut *tx, server.id)
        .await?
        .filter(|c| c.os_id.is_some())
    else {
        return Ok(None);
    };
    if store::deploy::running_install(&mut *tx, server.id)
        .await?
        .is_some()
    {
        return Ok(None);
    }
    let key = installer_key(tx, server, pxe.reinstall_key.as_deref(), now).await?;
    // Free a moment ago in this transaction, so the claim succeeds.
    store::deploy::claim_install(tx, server.id, "pxe", &key, now).await?;
    store::deploy::take_master_key(tx, server.id).await?;
    store::callbacks::stage(&mut *tx, &key, installer::STAGES[0], now).await?;
    let due = state.clock.now_ms()
        + state
            .config
            .task_speed
            .scale(installer::stage_ms(server.is_vm(), 1));
    let job = Job::Installer {
        vm: server.is_vm(),
        os_id: pxe.os_id,
        hostname: pxe.hostname,
        post_install_callback: pxe.post_install_callback,
    };
    let (kind, payload) = job.to_columns()?;
    let id = store::jobs::enqueue(&mut *tx, &key, &kind, &payload, due, now).await?;
    store::jobs::reschedule(&mut *tx, id, 2, due).await?;
    Ok(Some(key))
}

/// The record the PXE installer reports to: the waiting eq/reinstall master key, or a new
/// record when nobody asked for one (a reboot with PXE still configured).
async fn installer_key(
    tx: &mut SqliteConnection,
    server: &Server,
    master: Option<&str>,
    now: i64,
) -> Result<String> {
    if let Some(k) = master {
        let waiting = store::callbacks::get(&mut *tx, k)
            .await?
            .is_some_and(|c| c.state == "pending");
        if waiting {
            return Ok(k.to_owned());
        }
    }
    let k = secrets::callback_key();
    let ctx = crate::queue::server_context("reinstall", server.id, &server.location);
    store::callbacks::create(
        &mut *tx,
        &store::callbacks::NewCallback {
            key: &k,
            module: "eq",
            account_id: server.account_id,
            server_id: server.id,
            action: "reinstall",
            context: &ctx,
        },
        now,
    )
    .await?;
    Ok(k)
}
