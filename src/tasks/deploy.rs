//! Job steps of deployments and reinstalls (staged: payment, stages 1/5 to 4/5, done),
//! PXE configuration, boot devices, the PXE installer, IPMI users, BMC reset, consoles.

use serde_json::{json, Value};
use sqlx::SqliteConnection;

use super::Step;
use crate::app::AppState;
use crate::clock::format_datetime;
use crate::error::{Error, Result};
use crate::ops::orders;
use crate::secrets;
use crate::sim::{installer, Effect, Outcome};
use crate::store::{self, callbacks::Callback, jobs::Job, servers::Server};

fn done(o: Outcome) -> Result<Option<Step>> {
    Ok(Some(Step::Done(o)))
}

/// The installer's stage machine shared by deploy, reinstall and PXE installs: stages 1 to 4
/// report progress; `None` at stage 5 means "finish now".
fn installer_stage(stage: i64, vm: bool) -> Option<Step> {
    (1..=4).contains(&stage).then(|| Step::Stage {
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
                let invoice = p.get("invoice").and_then(Value::as_i64).unwrap_or(0);
                let paid = store::billing::get(&mut *tx, invoice)
                    .await?
                    .is_some_and(|i| i.status == "Paid");
                if !paid {
                    return Ok(Some(Step::Stage {
                        scope: format!(" Waiting for payment of invoice {invoice}"),
                        next_in_ms: 60_000,
                        next_stage: 0,
                    }));
                }
                sqlx::query(
                    "UPDATE servers SET status = 'rent' WHERE id = ? AND status = 'pending'",
                )
                .bind(record.server_id)
                .execute(&mut *tx)
                .await?;
                if p.get("manual").and_then(Value::as_bool).unwrap_or(false) {
                    return Ok(Some(Step::Stage {
                        scope: " Deployment is scheduled with the operations team (hardware RAID or manual setup), \
                                usually within one business day"
                            .into(),
                        next_in_ms: 20 * 3600 * 1000,
                        next_stage: 1,
                    }));
                }
            }
            match installer_stage(job.stage.max(1), vm) {
                Some(s) => Ok(Some(s)),
                None => finish_install(state, tx, record, now, false)
                    .await
                    .map(Some),
            }
        }
        "reinstall" => match installer_stage(job.stage.max(1), vm) {
            Some(s) => {
                if job.stage <= 1 {
                    store::servers::set_power(&mut *tx, record.server_id, "off").await?;
                }
                Ok(Some(s))
            }
            None => finish_install(state, tx, record, now, true).await.map(Some),
        },
        "installer" => match installer_stage(job.stage.max(1), vm) {
            Some(s) => Ok(Some(s)),
            None => {
                let pxe = store::deploy::pxe(&mut *tx, record.server_id).await?;
                let (os_id, hostname) = pxe
                    .map(|c| (c.os_id, c.hostname))
                    .unwrap_or((None, String::new()));
                let server = server_in(tx, record.server_id).await?;
                let hostname = if hostname.is_empty() {
                    server.id.to_string()
                } else {
                    hostname
                };
                orders::apply_install(tx, state, record.server_id, os_id, &hostname).await?;
                let mut o = Outcome::ok(" Deploy completed, Server is online", None, Effect::None);
                if let Some(url) = p.get("post_install_callback").and_then(Value::as_str) {
                    o.webhook = Some((
                        url.to_owned(),
                        json!({"id": server.id.to_string(), "action": "reinstall",
                        "status": "deploy_done", "hostname": hostname, "key": record.key}),
                    ));
                }
                done(o)
            }
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
        "ipmi_user" => {
            let when = chrono::DateTime::<chrono::Utc>::from_timestamp(now, 0)
                .map(|d| d.format("%Y/%m/%d %H:%M:%S").to_string())
                .unwrap_or_default();
            if p.get("add").and_then(Value::as_bool).unwrap_or(true) {
                let user = format!("u{}", installer::random_alnum(7));
                let password = installer::random_alnum(16);
                let slot = store::deploy::add_ipmi_user(tx, record.server_id, &user, now).await?;
                let mut o =
                    Outcome::ok(installer::ipmi_user_added(&when, slot), None, Effect::None);
                o.context.insert("User".into(), json!(user));
                o.context.insert("Password".into(), json!(password));
                done(o)
            } else {
                let user = p
                    .get("user")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                store::deploy::remove_ipmi_user(tx, record.server_id, &user).await?;
                let mut o = Outcome::ok(format!("{when}  User removed"), None, Effect::None);
                o.context.insert("User".into(), json!(user));
                done(o)
            }
        }
        "unit_reset" => done(Outcome::ok(
            "Unit is reset",
            Some("Sent cold reset command to MC".into()),
            Effect::None,
        )),
        "console" => {
            let server = server_in(tx, record.server_id).await?;
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
            done(Outcome::ok(vv, Some(String::new()), Effect::None))
        }
        "novnc" => {
            let op = p.get("op").and_then(Value::as_str).unwrap_or("open");
            let stopped = store::deploy::stop_consoles(tx, record.server_id, now).await?;
            if op == "stop" {
                return done(Outcome::ok(
                    format!("Console session terminated ({stopped} closed)"),
                    None,
                    Effect::None,
                ));
            }
            let token = secrets::random_hex(16);
            let white_ip = p.get("white_ip").and_then(Value::as_str).unwrap_or("");
            let expires = now + 2 * 3600;
            store::deploy::open_console(
                tx,
                &secrets::digest(&token),
                record.server_id,
                white_ip,
                now,
                expires,
            )
            .await?;
            let base = p
                .get("base")
                .and_then(Value::as_str)
                .unwrap_or("http://localhost");
            let url = format!("{base}/novnc/{token}");
            let mut o = Outcome::ok(url.clone(), None, Effect::None);
            o.context.insert("url".into(), json!(url));
            o.context
                .insert("expires".into(), json!(format_datetime(expires)));
            done(o)
        }
        _ => Ok(None),
    }
}

/// The last step of a deployment or reinstall: the OS and credentials take effect, the
/// server is on, the e-mail and webhook go out.
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
    let os_name = orders::apply_install(tx, state, record.server_id, d.os_id, &d.hostname).await?;
    store::deploy::finish(tx, record.server_id, now).await?;
    let server = server_in(tx, record.server_id).await?;
    let ip: String = sqlx::query_scalar("SELECT COALESCE((SELECT address FROM ips WHERE server_id = ? AND main_ip = 1 AND port <> 'ipmi'), '')")
        .bind(server.id)
        .fetch_one(&mut *tx)
        .await?;
    let scope = if reinstall {
        json!({"result": "deploy_done"}).to_string()
    } else {
        json!({"result": "deploy_done", "message": format!("Autodeploy completed, check VRI-208-{}", server.id)}).to_string()
    };
    let debug = if reinstall {
        String::new()
    } else {
        "0".to_owned()
    };
    let mut o = Outcome::ok(scope, Some(debug), Effect::None);
    o.context.insert("ip".into(), json!(ip));
    if let Some(url) = d.post_install_callback {
        o.webhook = Some((
            url,
            json!({"id": server.id.to_string(), "ip": ip, "hostname": d.hostname, "os": os_name,
                   "action": if reinstall { "reinstall_vm" } else { "deploy_vm" }, "status": "deploy_done",
                   "key": record.key}),
        ));
    }
    if d.deploy_notify == 1 && !reinstall {
        if let Some(account) = server.account_id {
            let email: Option<String> =
                sqlx::query_scalar("SELECT email FROM accounts WHERE id = ?")
                    .bind(account)
                    .fetch_optional(&mut *tx)
                    .await?;
            if let Some(to) = email {
                let body = format!(
                    "Hello,\n\nyour server {} ({}) in {} is ready.\n\nIP address: {ip}\nOperating system: {}\n\
                     Log in with the root password you chose when ordering.\n\nHOSTKEY",
                    server.id,
                    d.hostname,
                    server.location,
                    os_name.clone().unwrap_or_else(|| "none (own OS)".into()),
                );
                sqlx::query("INSERT INTO outbox (account_id, to_address, subject, body, created_at) VALUES (?, ?, ?, ?, ?)")
                    .bind(account)
                    .bind(&to)
                    .bind(format!("Server {} is ready", server.id))
                    .bind(&body)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
        }
    }
    Ok(Step::Done(o))
}

/// A reboot (or power-on) of a server whose boot device is PXE with a configuration in place
/// starts the installer; its stages go to the eq/reinstall master key when one is waiting,
/// else to a new record. Returns the key the installer reports to.
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
    let key = match pxe.reinstall_key.clone() {
        Some(k)
            if store::callbacks::get_in(&mut *tx, &k)
                .await?
                .is_some_and(|c| c.state == "pending") =>
        {
            k
        }
        _ => {
            let k = secrets::callback_key();
            let ctx = super::server_context("reinstall", server.id, &server.location);
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
            k
        }
    };
    store::deploy::take_master_key(tx, server.id).await?;
    store::callbacks::stage(&mut *tx, &key, installer::STAGES[0], now).await?;
    let due = state.clock.now_ms()
        + state
            .config
            .task_speed
            .scale(installer::stage_ms(server.is_vm(), 1));
    let payload = json!({"vm": server.is_vm(), "post_install_callback": pxe.post_install_callback});
    let id = store::jobs::enqueue(&mut *tx, &key, "installer", &payload, due, now).await?;
    store::jobs::reschedule(&mut *tx, id, 2, due).await?;
    Ok(Some(key))
}
