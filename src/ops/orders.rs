//! Ordering and reinstalling (001 "eq/order_instance"): validation with the documents'
//! messages, the invoice (paid from credit when it covers the price), the new server with
//! addresses from the location's pools, and the staged deployment job.

use serde_json::json;

use super::ipam;
use crate::app::AppState;
use crate::domain::catalogue::{self, Os, Software, PERIODS};
use crate::domain::hardware::HardwareSpec;
use crate::domain::rules::valid_hostname;
use crate::error::{Error, Result};
use crate::store::{self, accounts::Account, deploy::Deployment, servers::Server};
use crate::tasks::{self, NewTask};

/// What an order or a reinstall asks for.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub preset: String,
    pub location: String,
    pub os_id: Option<i64>,
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

/// The OS and software a request names, checked against the instance kind.
fn os_and_software<'a>(
    state: &'a AppState,
    req: &Request,
    kind: &str,
    what: &str,
) -> Result<(Option<&'a Os>, Option<&'a Software>)> {
    let c = &state.catalogue;
    let os = if req.own_os {
        None
    } else {
        let id = req
            .os_id
            .ok_or_else(|| Error::invalid("os_id is required (or own_os=1)"))?;
        let os = c
            .os(id)
            .ok_or_else(|| Error::not_found(format!("os_id {id} not found, see os/list")))?;
        if !os.fits(kind) {
            return Err(Error::invalid(format!(
                "OS {} (#{id}) is not compatible with {what}",
                os.name
            )));
        }
        Some(os)
    };
    let soft = match req.soft_id {
        None => None,
        Some(id) => {
            let s = c.software(id).ok_or_else(|| {
                Error::not_found(format!("soft_id {id} not found, see software/list"))
            })?;
            match os {
                Some(o) if s.fits(o, kind) => Some(s),
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
        }
    };
    if !req.own_os {
        let pass = req
            .root_pass
            .as_deref()
            .ok_or_else(|| Error::invalid("root_pass is required"))?;
        if !catalogue::root_pass_ok(pass) {
            return Err(Error::invalid(
                "root_pass must be at least 8 characters long with upper- and lowercase Latin letters and a special character",
            ));
        }
    }
    if let Some(h) = &req.hostname {
        if !valid_hostname(h) {
            return Err(Error::invalid(format!(
                "invalid hostname '{}'",
                crate::invapi::args::shorten(h)
            )));
        }
    }
    if let Some(task) = req.jenkins_task.filter(|t| *t != -1) {
        let known = state
            .catalogue
            .jenkins_tasks
            .iter()
            .find(|t| t["id"].as_i64() == Some(task));
        let Some(known) = known else {
            return Err(Error::invalid(format!(
                "jenkins_task {task} not found, see jenkins/get_tasks"
            )));
        };
        let fits = known["tags"]
            .as_array()
            .is_some_and(|tags| tags.iter().any(|t| t["tag"] == kind));
        if !fits {
            return Err(Error::invalid(format!(
                "jenkins_task {task} ({}) needs a GPU server",
                known["desc"].as_str().unwrap_or("")
            )));
        }
    }
    if let Some(k) = &req.ssh_key {
        let kinds = [
            "ssh-rsa ",
            "ssh-ed25519 ",
            "ecdsa-sha2-nistp256 ",
            "ecdsa-sha2-nistp384 ",
            "ecdsa-sha2-nistp521 ",
            "sk-ssh-ed25519@openssh.com ",
        ];
        if !kinds.iter().any(|p| k.trim_start().starts_with(p)) || k.split_whitespace().count() < 2
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
        if !(u.starts_with("http://") || u.starts_with("https://")) {
            return Err(Error::invalid(
                "post_install_callback must be an http(s) URL",
            ));
        }
    }
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
    cores: i64,
    stock_id: Option<i64>,
    manual: bool,
    ipmi_model: String,
    groups: Vec<String>,
}

fn target(state: &AppState, req: &Request, sold: &[i64]) -> Result<Target> {
    let c = &state.catalogue;
    if let Ok(id) = req.preset.trim().parse::<i64>() {
        if let Some(s) = c.stock(id) {
            if sold.contains(&id) {
                return Err(Error::Conflict(format!(
                    "stock server {id} is no longer available, see stocks/list"
                )));
            }
            if s.location != req.location {
                return Err(Error::invalid(format!(
                    "stock server {id} is in {}, not in {}",
                    s.location, req.location
                )));
            }
            let gpu = s.group.iter().any(|g| g == "GPU");
            return Ok(Target {
                kind: if gpu { "gpu".into() } else { "bm".into() },
                vm: false,
                hardware: s.hardware.clone(),
                preset_name: format!("stock.{id}"),
                description: s.hardware.config(false),
                server_type: if gpu {
                    "GPU".into()
                } else {
                    "Dedicated".into()
                },
                monthly: s.monthly,
                cores: s.hardware.cpu.count * s.hardware.cpu.size,
                stock_id: Some(id),
                manual: s.manual_deploy(),
                ipmi_model: s.ipmi_model.clone(),
                groups: s.group.clone(),
            });
        }
    }
    let p = c.preset(&req.preset).ok_or_else(|| {
        Error::not_found(format!(
            "preset {} not found, see presets/list",
            crate::invapi::args::shorten(&req.preset)
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
            "vm" | "vgpu" => "VPS".into(),
            "gpu" => "GPU".into(),
            _ => "Dedicated".into(),
        },
        monthly,
        cores: p.cpu,
        stock_id: None,
        manual: false,
        ipmi_model: if vm {
            "ovirt".into()
        } else {
            "Supermicro".into()
        },
        groups: if vm {
            vec!["VPS".into(), "Instances".into()]
        } else {
            vec!["Instances".into()]
        },
    })
}

fn cents(eur: f64) -> i64 {
    (eur * 100.0).round() as i64
}

/// A locally administered MAC that no interface has yet.
async fn fresh_mac(conn: &mut sqlx::SqliteConnection, vm: bool) -> Result<String> {
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

/// eq/order_instance without `id`: invoice, server, deployment job.
pub async fn order(state: &AppState, account: &Account, req: &Request) -> Result<Placed> {
    let months = PERIODS
        .iter()
        .find(|p| p.0 == req.period)
        .map(|p| p.1)
        .ok_or_else(|| {
            Error::invalid("deploy_period must be monthly, quarterly, semi-annually or annually")
        })?;
    let sold = store::deploy::sold_stock(&state.db).await?;
    let t = target(state, req, &sold)?;
    let what = format!("preset {}", t.preset_name);
    let (os, soft) = os_and_software(state, req, &t.kind, &what)?;
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
    let now = state.clock.now();
    let mut items = vec![(
        "Hosting".to_owned(),
        0,
        format!("{} {} ({})", t.server_type, t.description, req.period),
        cents(catalogue::period_price(t.monthly, months)),
    )];
    if let Some(o) = os.filter(|o| o.windows) {
        items.push((
            "Addon".into(),
            0,
            format!("{} licence ({} cores)", o.name, t.cores),
            cents(o.monthly(t.cores) * months as f64),
        ));
    }
    if let Some(s) = soft.filter(|s| s.price > 0.0) {
        items.push((
            "Addon".into(),
            0,
            format!("{} licence", s.name),
            cents(s.price * months as f64),
        ));
    }
    if plan.price > 0.0 {
        items.push((
            "Traffic".into(),
            0,
            format!("Traffic plan {}", plan.name),
            cents(plan.price * months as f64),
        ));
    }
    let mut tx = ipam::begin_write(state).await?;
    let server_id = match t.stock_id {
        Some(id) => id,
        None => {
            sqlx::query_scalar("SELECT COALESCE(MAX(id), 40100) + 1 FROM servers")
                .fetch_one(&mut *tx)
                .await?
        }
    };
    for item in &mut items {
        item.1 = server_id;
    }
    let hostname = req
        .hostname
        .clone()
        .unwrap_or_else(|| server_id.to_string());
    let (invoice, paid) = store::billing::create(&mut tx, account.id, &items, now).await?;
    let months_secs = months * 30 * 86_400;
    sqlx::query(
        "INSERT INTO servers (id, account_id, location, kind, type, status, power, control, ipmi_model, preset, \
         preset_description, hwconfig, hardware, groups, licenses, os, reg_date, due_date, billing_cycle, recurring_cents, \
         limit_traffic, limit_bands, created_at) VALUES (?, ?, ?, ?, ?, 'pending', 'off', ?, ?, ?, ?, ?, ?, ?, '[]', NULL, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(server_id)
    .bind(account.id)
    .bind(&req.location)
    .bind(if t.vm { "vm" } else { "bm" })
    .bind(&t.server_type)
    .bind(if t.vm { "ovirt" } else { "ipmi" })
    .bind(&t.ipmi_model)
    .bind(&t.preset_name)
    .bind(&t.description)
    .bind(t.hardware.config(t.vm))
    .bind(t.hardware.render(t.vm, &req.location).to_string())
    .bind(serde_json::to_string(&t.groups)?)
    .bind(now)
    .bind(now + months_secs)
    .bind(match months {
        1 => "Monthly",
        3 => "Quarterly",
        6 => "Semi-Annually",
        _ => "Annually",
    })
    .bind(cents(catalogue::period_price(t.monthly, months)))
    .bind(plan.limit_out)
    .bind(plan.bandwidth)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let mac = fresh_mac(&mut tx, t.vm).await?;
    let iface_id: i64 = sqlx::query_scalar(
        "INSERT INTO interfaces (server_id, type, mac, is_main, is_virt, switch_owner, switch_model, switch_port, speed) \
         VALUES (?, 'eth0', ?, 1, 0, ?, ?, ?, ?) RETURNING id",
    )
    .bind(server_id)
    .bind(&mac)
    .bind(if t.vm { "" } else { "hostkey" })
    .bind(if t.vm { "virtual" } else { "Juniper EX4300-48T" })
    .bind(if t.vm { "virtual".to_owned() } else { format!("ge-0/0/{}", server_id % 48) })
    .bind(plan.bandwidth.max(1000))
    .fetch_one(&mut *tx)
    .await?;
    let _ = iface_id;
    let pools = store::network::subnets_in(
        &mut tx,
        &req.location,
        "public",
        Some(store::servers::pool_tag(t.vm)),
        None,
    )
    .await?;
    let ip = ipam::allocate(&mut tx, &pools, server_id, "eth0", 1, 0, now).await?;
    let main_ip = ip[0].0.clone();
    store::network::set_main(&mut tx, server_id, &main_ip, now).await?;
    if !t.vm {
        let ipmi_mac = fresh_mac(&mut tx, false).await?;
        sqlx::query("INSERT INTO interfaces (server_id, type, mac, switch_model) VALUES (?, 'ipmi', ?, 'ipmi')")
            .bind(server_id)
            .bind(&ipmi_mac)
            .execute(&mut *tx)
            .await?;
        let tech = store::network::subnets_in(&mut tx, &req.location, "ipmi", None, None).await?;
        ipam::allocate(&mut tx, &tech, server_id, "ipmi", 1, 0, now).await?;
    }
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
            .await?;
    }
    let mut context = tasks::server_context("deploy_vm", server_id, &req.location);
    context["ip"] = json!(main_ip);
    context["ip_ipmi"] = json!("0.0.0.0");
    let callback = tasks::submit_in(
        state,
        &mut tx,
        NewTask {
            module: "eq",
            account_id: Some(account.id),
            server_id,
            action: "order_instance",
            context,
            kind: "deploy",
            payload: json!({"invoice": invoice, "vm": t.vm, "manual": t.manual}),
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

/// eq/order_instance with `id`: reinstalls an existing server through the same installer.
pub async fn reinstall(
    state: &AppState,
    account: &Account,
    server: &Server,
    req: &Request,
) -> Result<Placed> {
    let kind = state
        .catalogue
        .preset_named(&server.preset)
        .map(|p| p.kind.clone())
        .unwrap_or_else(|| {
            if server.is_vm() {
                "vm".into()
            } else if server.r#type == "GPU" {
                "gpu".into()
            } else {
                "bm".into()
            }
        });
    let (os, soft) = os_and_software(state, req, &kind, &format!("server {}", server.id))?;
    if store::deploy::get(&state.db, server.id)
        .await?
        .is_some_and(|d| d.finished_at.is_none())
    {
        return Err(Error::Verbatim(format!(
            "another reinstall in progress for {}, please wait",
            server.id
        )));
    }
    if server.status != "rent" {
        return Err(Error::denied(format!(
            "server {} is suspended, it cannot be reinstalled",
            server.id
        )));
    }
    let now = state.clock.now();
    let hostname = match &req.hostname {
        Some(h) => h.clone(),
        None => store::tags::get(&state.db, "eq", server.id, "hostname")
            .await?
            .map(|t| t.value)
            .unwrap_or_else(|| server.id.to_string()),
    };
    let main_ip = store::servers::main_ip(&state.db, server.id).await?;
    let ipmi = store::servers::ips(&state.db, server.id)
        .await?
        .into_iter()
        .find(|i| i.port == "ipmi")
        .map(|i| i.address)
        .unwrap_or_else(|| "0.0.0.0".into());
    let mut context = tasks::server_context("reinstall_vm", server.id, &server.location);
    context["ip"] = json!(main_ip);
    context["ip_ipmi"] = json!(ipmi);
    context["reinstall"] = json!(1);
    let mut tx = state.db.begin().await?;
    let callback = tasks::submit_in(
        state,
        &mut tx,
        NewTask {
            module: "eq",
            account_id: Some(account.id),
            server_id: server.id,
            action: "order_instance",
            context,
            kind: "reinstall",
            payload: json!({"vm": server.is_vm()}),
            duration_ms: 3_000,
        },
    )
    .await?;
    store::deploy::start(
        &mut tx,
        &Deployment {
            server_id: server.id,
            kind: "reinstall".into(),
            invoice_id: None,
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
        invoice: 0,
        paid: true,
        server_id: server.id,
        callback,
        os_name: os.map(|o| o.name.clone()).unwrap_or_default(),
        soft_name: soft.map(|s| s.name.clone()).unwrap_or_default(),
    })
}

/// The server's new OS and credentials once an install completes: OS, user_name and
/// hostname tags (the root password is never stored).
pub async fn apply_install(
    conn: &mut sqlx::SqliteConnection,
    state: &AppState,
    server_id: i64,
    os_id: Option<i64>,
    hostname: &str,
) -> Result<Option<String>> {
    let os = os_id.and_then(|id| state.catalogue.os(id));
    let os_json = os.map(|o| json!({"id": o.id, "name": o.name}).to_string());
    sqlx::query("UPDATE servers SET os = ?, power = 'on', status = 'rent' WHERE id = ?")
        .bind(&os_json)
        .bind(server_id)
        .execute(&mut *conn)
        .await?;
    store::tags::upsert(&mut *conn, "eq", server_id, "hostname", hostname, "", 0).await?;
    sqlx::query("DELETE FROM tags WHERE component = 'eq' AND component_id = ? AND tag IN ('deploy_status', 'OS', 'user_name', 'Password')")
        .bind(server_id)
        .execute(&mut *conn)
        .await?;
    if let Some(o) = os {
        store::tags::upsert(&mut *conn, "eq", server_id, "OS", &o.name, "", 0).await?;
        store::tags::upsert(
            &mut *conn,
            "eq",
            server_id,
            "user_name",
            &o.user_name,
            "",
            0,
        )
        .await?;
    }
    Ok(os.map(|o| o.name.clone()))
}
