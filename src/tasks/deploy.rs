//! Job steps of deployments and reinstalls (staged: payment, the operations team, stages
//! 1/5 to 5/5, done), PXE configuration, boot devices, the PXE installer, IPMI users, BMC
//! reset, consoles.

use serde_json::{json, Value};
use sqlx::SqliteConnection;

use super::Step;
use crate::clock::format_datetime;
use crate::error::{Error, Result};
use crate::ops::orders;
use crate::secrets;
use crate::sim::{installer, Effect, Outcome};
use crate::state::AppState;
use crate::store::{self, callbacks::Callback, deploy::Deployment, jobs::Job, servers::Server};

/// How often an unpaid order looks at its invoice again. A payment through the control
/// plane wakes the job at once; this only catches a payment that arrived another way.
const PAYMENT_RECHECK_MS: i64 = 60_000;

/// How long the operations team takes to set up a hwraid / no_autodeploy stock server
/// ("within one business day"): emulator-clock time, never shortened by the task speed.
const MANUAL_SETUP_MS: i64 = 20 * 3600 * 1000;

fn done(o: Outcome) -> Result<Option<Step>> {
    Ok(Some(Step::Done(o)))
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
    store::servers::get_in(&mut *tx, id)
        .await?
        .ok_or_else(|| Error::internal(format!("server {id} vanished")))
}

/// Runs one step of a deployment-related job kind; `None` when the kind is another one.
pub async fn step(
    state: &AppState,
    tx: &mut SqliteConnection,
    job: &Job,
    record: &Callback,
    p: &Value,
    now: i64,
) -> Result<Option<Step>> {
    let vm = p.get("vm").and_then(Value::as_bool).unwrap_or(false);
    match job.kind.as_str() {
        "deploy" => {
            if job.stage == 0 {
                if let Some(wait) = before_install(tx, record, p).await? {
                    return Ok(Some(wait));
                }
            }
            match installer_stage(job.stage.max(1), vm) {
                Some(s) => Ok(Some(s)),
                None => finish_install(state, tx, record, now, false)
                    .await
                    .map(Some),
            }
        }
        "reinstall" => {
            // A reinstall onto a paid licence waits for its invoice, as an order does.
            if job.stage == 0 && p.get("invoice").is_some() {
                if let Some(wait) = await_payment(tx, p).await? {
                    return Ok(Some(wait));
                }
            }
            match installer_stage(job.stage.max(1), vm) {
                Some(s) => {
                    if job.stage <= 1 {
                        store::servers::set_power(&mut *tx, record.server_id, "off").await?;
                    }
                    Ok(Some(s))
                }
                None => finish_install(state, tx, record, now, true).await.map(Some),
            }
        }
        "installer" => match installer_stage(job.stage.max(1), vm) {
            Some(s) => Ok(Some(s)),
            None => finish_pxe_install(state, tx, record, p, now)
                .await
                .map(Some),
        },
        "pxe_config" => {
            let create = p.get("create").and_then(Value::as_bool).unwrap_or(true);
            let scope = if create {
                "Configuration_successfully_created"
            } else {
                "Configuration_successfully_cleared"
            };
            done(Outcome::ok(scope, None, Effect::None))
        }
        "boot_dev" => {
            let media = p.get("media").and_then(Value::as_str).unwrap_or("disk");
            store::deploy::set_boot_dev(&mut *tx, record.server_id, media).await?;
            let scope = match (media, vm) {
                ("disk", true) => "VM is boot for disk".to_owned(),
                ("cd", _) => "Set Boot Device to cdrom".to_owned(),
                (m, _) => format!("Set Boot Device to {m}"),
            };
            done(Outcome::ok(scope, None, Effect::None))
        }
        "ipmi_user" => ipmi_user(tx, record, p, now).await.map(Some),
        "unit_reset" => done(Outcome::ok(
            "Unit is reset",
            Some("Sent cold reset command to MC".into()),
            Effect::None,
        )),
        "console" => {
            let server = server_in(tx, record.server_id).await?;
            done(console(&server))
        }
        "novnc" => novnc(tx, record, p, now).await.map(Some),
        _ => Ok(None),
    }
}

/// add_ipmi_user / remove_ipmi_user: the user tool's output; a new user's name and
/// password go only into the record's context (001), never into the database.
async fn ipmi_user(
    tx: &mut SqliteConnection,
    record: &Callback,
    p: &Value,
    now: i64,
) -> Result<Step> {
    let when = chrono::DateTime::<chrono::Utc>::from_timestamp(now, 0)
        .map(|d| d.format("%Y/%m/%d %H:%M:%S").to_string())
        .unwrap_or_default();
    if p.get("add").and_then(Value::as_bool).unwrap_or(true) {
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
    let user = p
        .get("user")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    store::deploy::remove_ipmi_user(tx, record.server_id, &user).await?;
    let mut o = Outcome::ok(format!("{when}  User removed"), None, Effect::None);
    o.context.insert("User".into(), json!(user));
    Ok(Step::Done(o))
}

/// eq/console: a virt-viewer file whose SPICE address is stable per server.
fn console(server: &Server) -> Outcome {
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

/// novnc / recreate_novnc / stop_novnc: every open session of the server ends; open and
/// recreate start a new one, served at /novnc/<token> for two hours.
async fn novnc(tx: &mut SqliteConnection, record: &Callback, p: &Value, now: i64) -> Result<Step> {
    let op = p.get("op").and_then(Value::as_str).unwrap_or("open");
    let stopped = store::deploy::stop_consoles(tx, record.server_id, now).await?;
    if op == "stop" {
        let scope = format!("Console session terminated ({stopped} closed)");
        return Ok(Step::Done(Outcome::ok(scope, None, Effect::None)));
    }
    let token = secrets::random_hex(16);
    let white_ip = p.get("white_ip").and_then(Value::as_str).unwrap_or("");
    let expires = now + 2 * 3600;
    let digest = secrets::digest(&token);
    store::deploy::open_console(tx, &digest, record.server_id, white_ip, now, expires).await?;
    let base = p
        .get("base")
        .and_then(Value::as_str)
        .unwrap_or("http://localhost");
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
    p: &Value,
) -> Result<Option<Step>> {
    if let Some(wait) = await_payment(tx, p).await? {
        return Ok(Some(wait));
    }
    store::servers::activate_paid(&mut *tx, record.server_id).await?;
    if p.get("manual").and_then(Value::as_bool).unwrap_or(false) {
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

/// The wait for the job's invoice (payload `invoice`), or `None` once it is paid.
async fn await_payment(tx: &mut SqliteConnection, p: &Value) -> Result<Option<Step>> {
    let invoice = p.get("invoice").and_then(Value::as_i64).unwrap_or(0);
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
    let os_name = orders::apply_install(tx, state, record.server_id, &install, now).await?;
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

/// The end of a PXE install: the configured OS takes effect. The scope keeps 001's words
/// inside a `deploy_done` result and the context gains `ip` and `ip_ipmi`, so both markers
/// of decisions.md §4 are there.
async fn finish_pxe_install(
    state: &AppState,
    tx: &mut SqliteConnection,
    record: &Callback,
    p: &Value,
    now: i64,
) -> Result<Step> {
    let server = server_in(tx, record.server_id).await?;
    // What was configured when the server booted the installer (a clear_pxe since then
    // does not change what is on the disk); jobs queued by older versions read the config.
    let (os_id, hostname) = match p.get("os_id") {
        Some(os) => (
            os.as_i64(),
            p.get("hostname")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        ),
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
    if let Some(url) = p.get("post_install_callback").and_then(Value::as_str) {
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
    let payload = json!({"vm": server.is_vm(), "os_id": pxe.os_id, "hostname": pxe.hostname,
                         "post_install_callback": pxe.post_install_callback});
    let id = store::jobs::enqueue(&mut *tx, &key, "installer", &payload, due, now).await?;
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
        let waiting = store::callbacks::get_in(&mut *tx, k)
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
