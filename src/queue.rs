//! The task-submission API: what an async action asks the queue for. An operation creates
//! its callback record and its job in one transaction (together with the business write the
//! record reports on); the worker (`tasks`) runs the job when it falls due.
//!
//! A job is a typed [`Job`]; the `jobs` table keeps it as two columns, the variant's tag in
//! `kind` and its fields as a JSON object in `payload` (the shape earlier versions wrote by
//! hand, so rows they queued still load).

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sqlx::SqliteConnection;

use crate::error::{Error, Result};
use crate::secrets;
pub use crate::sim::ovirt::SnapshotOp;
use crate::sim::power::PowerOp;
use crate::state::AppState;
use crate::store::{self, callbacks::NewCallback, jobs::NewJob, servers::Server};

/// One unit of simulated work, one variant per job kind. Fields that earlier versions read
/// with a fallback (`unwrap_or`) keep that fallback as a serde default, so a row they wrote
/// loads as it ran then.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Job {
    /// eq/on, off, hard_off, reboot, status, sensors.
    Power { op: PowerOp },
    /// A jira.php remote-hands ticket; `action` is its request (`request_pon`...).
    RemoteHands { action: String },
    /// The duty shift's reply to a message in a ticket's thread (rhr/chat).
    RemoteHandsReply { ticket: i64 },
    /// vm/create_snapshot, restore_snapshot, remove_snapshot: oVirt works on a snapshot.
    Snapshot { snapshot: i64, op: SnapshotOp },
    /// jenkins/call: a post-install task (an Ansible playbook) run on the server.
    Jenkins {
        task: String,
        #[serde(default)]
        params: std::collections::BTreeMap<String, String>,
    },
    /// iso/upload: the library downloads an image.
    IsoDownload { iso: i64 },
    /// iso/mount_iso (`iso`: the image), iso/unmount_iso (`None`): the virtual CD-ROM.
    VirtualMedia {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        iso: Option<i64>,
    },
    /// net/get_status: the switch's view of a port.
    PortStatus { iface_id: i64, vlan: i64 },
    /// net/port_on, net/port_off.
    Port {
        iface_id: i64,
        #[serde(default)]
        on: bool,
        #[serde(default)]
        reason: String,
    },
    /// net/block_ip (`block`), net/unblock_ip.
    IpBlock {
        address: String,
        #[serde(default)]
        block: bool,
        #[serde(default)]
        description: String,
        #[serde(default)]
        four_hours: bool,
    },
    /// net/add_ipv4, net/remove_ipv4: an address on the router.
    IpConfig {
        address: String,
        port: String,
        #[serde(flatten)]
        change: IpChange,
    },
    /// nat/add_static_nat, nat/remove_static_nat.
    Nat {
        rule_id: i64,
        public_ip: String,
        #[serde(flatten)]
        change: NatChange,
    },
    /// A new order: payment, the operations team (`manual`), the installer.
    Deploy {
        #[serde(default)]
        invoice: i64,
        #[serde(default)]
        vm: bool,
        #[serde(default)]
        manual: bool,
    },
    /// eq/order_instance on an existing server; `invoice` when a licence must be paid first.
    Reinstall {
        #[serde(default)]
        vm: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        invoice: Option<i64>,
    },
    /// The PXE installer a reboot started. Without `os_id` (rows of older versions) the
    /// server's PXE configuration says what to install.
    Installer {
        #[serde(default)]
        vm: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        os_id: Option<i64>,
        #[serde(default)]
        hostname: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        post_install_callback: Option<String>,
    },
    /// eq/create_pxe (`create`), eq/clear_pxe.
    PxeConfig {
        #[serde(default = "yes")]
        create: bool,
    },
    /// eq/boot_dev; `media` is `pxe`, `disk` or `cd`.
    BootDev {
        #[serde(default = "disk")]
        media: String,
        #[serde(default)]
        vm: bool,
    },
    /// eq/add_ipmi_user (`add`), eq/remove_ipmi_user (of `user`).
    IpmiUser {
        #[serde(default = "yes")]
        add: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user: Option<String>,
    },
    /// eq/unit_reset.
    UnitReset,
    /// eq/console.
    Console,
    /// eq/novnc, recreate_novnc, stop_novnc; `op` is `open`, `recreate` or `stop`.
    Novnc {
        #[serde(default = "open")]
        op: String,
        #[serde(default)]
        white_ip: String,
        #[serde(default = "localhost")]
        base: String,
    },
    /// whmcs/request_cancellation: the cancellation request `request` (immediate ones end
    /// the service when this runs).
    Cancellation { request: i64 },
    /// A job whose step panics with `message`: how the tests show that a panicking job
    /// fails alone.
    #[cfg(test)]
    Panic { message: String },
}

/// What an address job does on the router.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum IpChange {
    /// Routes the address to the port's VLAN.
    Add {
        vlan: i64,
    },
    Remove,
}

/// What a NAT job does on the router.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum NatChange {
    Add { private_ip: String },
    Remove { router_id: String },
}

/// Serde default of the flags earlier versions read as true when absent.
fn yes() -> bool {
    true
}

/// Serde default of `BootDev::media`.
fn disk() -> String {
    "disk".into()
}

/// Serde default of `Novnc::op`.
fn open() -> String {
    "open".into()
}

/// Serde default of `Novnc::base`.
fn localhost() -> String {
    "http://localhost".into()
}

impl Job {
    /// Whether a server runs jobs of this kind one after another, in the order they were
    /// asked for (power actions).
    pub fn runs_in_order(&self) -> bool {
        matches!(self, Job::Power { .. })
    }

    /// The `kind` and `payload` columns of this job: the tag, and the other fields as an
    /// object.
    pub fn to_columns(&self) -> std::result::Result<(String, Value), serde_json::Error> {
        use serde::ser::Error as _;
        let Value::Object(mut fields) = serde_json::to_value(self)? else {
            return Err(serde_json::Error::custom("a job serialises to an object"));
        };
        let Some(Value::String(kind)) = fields.shift_remove("kind") else {
            return Err(serde_json::Error::custom("a job serialises with its kind"));
        };
        Ok((kind, Value::Object(fields)))
    }

    /// Reads a job back from its `kind` and `payload` columns; an unknown kind or a payload
    /// that does not fit it is an error.
    pub fn from_columns(kind: &str, payload: &str) -> std::result::Result<Job, serde_json::Error> {
        let mut fields: Map<String, Value> = serde_json::from_str(payload)?;
        fields.insert("kind".into(), Value::String(kind.to_owned()));
        serde_json::from_value(Value::Object(fields))
    }
}

/// What an async action asks the queue for.
#[derive(Debug, Clone)]
pub struct NewTask<'a> {
    pub module: &'a str,
    pub account_id: Option<i64>,
    pub server_id: i64,
    /// The request action (`on`, `reboot`...).
    pub action: &'a str,
    /// The record's initial context (`action`, `id`, `location`...).
    pub context: Value,
    /// What the worker is to do.
    pub job: Job,
    /// Realistic duration before the (first) step, in milliseconds.
    pub duration_ms: i64,
}

impl<'a> NewTask<'a> {
    /// A job on `server` that `account_id` asked for with `action`, reported on a record
    /// of `module` (`eq`, `nat`) that starts with `context`.
    pub fn on_server(
        module: &'a str,
        account_id: i64,
        server: &Server,
        action: &'a str,
        context: Value,
        job: Job,
        duration_ms: i64,
    ) -> Self {
        NewTask {
            module,
            account_id: Some(account_id),
            server_id: server.id,
            action,
            context,
            job,
            duration_ms,
        }
    }
}

/// Creates the record and its job in one transaction; returns the callback key.
pub async fn submit(state: &AppState, t: NewTask<'_>) -> Result<String> {
    let mut tx = store::begin_write(&state.db).await?;
    let key = submit_in(state, &mut tx, t).await?;
    commit(state, tx).await?;
    Ok(key)
}

/// Commits a transaction that queued jobs with [`submit_in`], then wakes the worker so they
/// run as soon as they are due.
pub async fn commit(state: &AppState, tx: crate::store::WriteTx) -> Result<()> {
    tx.commit().await?;
    state.wake.notify_one();
    Ok(())
}

/// Creates the record and its job inside the caller's transaction (together with the
/// business write it reports on). Finish with [`commit`], which wakes the worker.
pub async fn submit_in(
    state: &AppState,
    conn: &mut SqliteConnection,
    t: NewTask<'_>,
) -> Result<String> {
    let key = secrets::callback_key();
    let now = state.clock.now();
    let took = state.config.task_speed.scale(t.duration_ms);
    let mut due = state.clock.now_ms() + took;
    let (kind, payload) = t.job.to_columns()?;
    if t.job.runs_in_order() && t.server_id != 0 {
        // A server does one power action at a time: `on` sent during an `off` starts
        // when the `off` is over, so the last command sent is the state it ends in.
        let queue = store::jobs::serial_queue(conn, &kind, t.server_id).await?;
        // A bounded queue: past the limit a client waits for one to finish, as with a
        // real BMC, instead of lining up work for hours.
        let limit = state.config.max_queued_power;
        if queue.len >= limit {
            return Err(Error::Conflict(format!(
                "{limit} power actions are already queued for server {}, please wait until one finishes",
                t.server_id
            )));
        }
        if let Some(last) = queue.last_due_ms {
            due = due.max(last + took);
        }
    }
    store::callbacks::create(
        &mut *conn,
        &NewCallback {
            key: &key,
            module: t.module,
            account_id: t.account_id,
            server_id: t.server_id,
            action: t.action,
            context: &t.context,
        },
        now,
    )
    .await?;
    store::jobs::enqueue(&mut *conn, &key, &kind, &payload, due, now).await?;
    doom_if_faulted(state, &key);
    Ok(key)
}

/// Creates the records and jobs of several tasks inside the caller's transaction, in two
/// statements whatever their number; returns their keys in the tasks' order. Tasks of a
/// serial kind (which queue behind each other per server) are submitted one by one.
pub async fn submit_many_in(
    state: &AppState,
    conn: &mut SqliteConnection,
    tasks: Vec<NewTask<'_>>,
) -> Result<Vec<String>> {
    if tasks
        .iter()
        .any(|t| t.job.runs_in_order() && t.server_id != 0)
    {
        let mut keys = Vec::with_capacity(tasks.len());
        for t in tasks {
            keys.push(submit_in(state, conn, t).await?);
        }
        return Ok(keys);
    }
    let now = state.clock.now();
    let keys: Vec<String> = tasks.iter().map(|_| secrets::callback_key()).collect();
    let records: Vec<NewCallback<'_>> = tasks
        .iter()
        .zip(&keys)
        .map(|(t, key)| NewCallback {
            key,
            module: t.module,
            account_id: t.account_id,
            server_id: t.server_id,
            action: t.action,
            context: &t.context,
        })
        .collect();
    let columns = tasks
        .iter()
        .map(|t| t.job.to_columns())
        .collect::<std::result::Result<Vec<(String, Value)>, _>>()?;
    let jobs: Vec<NewJob<'_>> = tasks
        .iter()
        .zip(&keys)
        .zip(&columns)
        .map(|((t, key), (kind, payload))| NewJob {
            callback_key: key,
            kind: kind.as_str(),
            payload,
            due_at_ms: state.clock.now_ms() + state.config.task_speed.scale(t.duration_ms),
        })
        .collect();
    store::callbacks::create_many(&mut *conn, &records, now).await?;
    store::jobs::enqueue_many(&mut *conn, &jobs, now).await?;
    for key in &keys {
        doom_if_faulted(state, key);
    }
    Ok(keys)
}

/// When the request that submits a task is under a task fault (`task_fail`,
/// `task_stuck`), notes the task's fate for the worker.
fn doom_if_faulted(state: &AppState, key: &str) {
    if let Some(applied) = crate::faults::current_task_fault() {
        state.faults.doom(key, &applied);
    }
}

/// The context every server record starts with: action, id (a string), location.
pub fn server_context(action: &str, server_id: i64, location: &str) -> Value {
    json!({"action": action, "id": server_id.to_string(), "location": location})
}

/// The context of an address record: action, id and ip, without location (001 block_ip).
pub fn ip_context(action: &str, server_id: i64, ip: &str) -> Value {
    json!({"action": action, "id": server_id.to_string(), "ip": ip})
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The `kind` each variant is stored as: the names earlier versions wrote by hand. The
    /// match is exhaustive, so a new variant cannot be left out of these tests.
    fn stored_kind(job: &Job) -> &'static str {
        match job {
            Job::Power { .. } => "power",
            Job::RemoteHands { .. } => "remote_hands",
            Job::RemoteHandsReply { .. } => "remote_hands_reply",
            Job::Snapshot { .. } => "snapshot",
            Job::IsoDownload { .. } => "iso_download",
            Job::Jenkins { .. } => "jenkins",
            Job::VirtualMedia { .. } => "virtual_media",
            Job::PortStatus { .. } => "port_status",
            Job::Port { .. } => "port",
            Job::IpBlock { .. } => "ip_block",
            Job::IpConfig { .. } => "ip_config",
            Job::Nat { .. } => "nat",
            Job::Deploy { .. } => "deploy",
            Job::Reinstall { .. } => "reinstall",
            Job::Installer { .. } => "installer",
            Job::PxeConfig { .. } => "pxe_config",
            Job::BootDev { .. } => "boot_dev",
            Job::IpmiUser { .. } => "ipmi_user",
            Job::UnitReset => "unit_reset",
            Job::Console => "console",
            Job::Novnc { .. } => "novnc",
            Job::Cancellation { .. } => "cancellation",
            Job::Panic { .. } => "panic",
        }
    }

    /// Every variant, with each optional part both present and absent.
    fn every_job() -> Vec<Job> {
        vec![
            Job::Cancellation { request: 5 },
            Job::Power {
                op: PowerOp::HardOff,
            },
            Job::RemoteHands {
                action: "request_PXEboot".into(),
            },
            Job::RemoteHandsReply { ticket: 3 },
            Job::Snapshot {
                snapshot: 4,
                op: SnapshotOp::Restore,
            },
            Job::IsoDownload { iso: 1001 },
            Job::Jenkins {
                task: "invapi_gpu_conf.dsl".into(),
                params: [("driver".to_owned(), "550".to_owned())].into(),
            },
            Job::VirtualMedia { iso: Some(1) },
            Job::VirtualMedia { iso: None },
            Job::PortStatus {
                iface_id: 7,
                vlan: 1201,
            },
            Job::Port {
                iface_id: 7,
                on: false,
                reason: "maintenance".into(),
            },
            Job::IpBlock {
                address: "31.207.45.23".into(),
                block: true,
                description: "abuse".into(),
                four_hours: true,
            },
            Job::IpConfig {
                address: "31.207.45.24".into(),
                port: "eth0".into(),
                change: IpChange::Add { vlan: 1201 },
            },
            Job::IpConfig {
                address: "31.207.45.24".into(),
                port: "eth0".into(),
                change: IpChange::Remove,
            },
            Job::Nat {
                rule_id: 3,
                public_ip: "5.39.1.10".into(),
                change: NatChange::Add {
                    private_ip: "10.10.0.5".into(),
                },
            },
            Job::Nat {
                rule_id: 3,
                public_ip: "5.39.1.10".into(),
                change: NatChange::Remove {
                    router_id: "*3".into(),
                },
            },
            Job::Deploy {
                invoice: 1001,
                vm: true,
                manual: true,
            },
            Job::Reinstall {
                vm: false,
                invoice: Some(1002),
            },
            Job::Reinstall {
                vm: true,
                invoice: None,
            },
            Job::Installer {
                vm: false,
                os_id: Some(187),
                hostname: "web1".into(),
                post_install_callback: Some("https://hooks.example/done".into()),
            },
            Job::Installer {
                vm: true,
                os_id: None,
                hostname: String::new(),
                post_install_callback: None,
            },
            Job::PxeConfig { create: false },
            Job::BootDev {
                media: "cd".into(),
                vm: false,
            },
            Job::IpmiUser {
                add: true,
                user: None,
            },
            Job::IpmiUser {
                add: false,
                user: Some("u1234567".into()),
            },
            Job::UnitReset,
            Job::Console,
            Job::Novnc {
                op: "recreate".into(),
                white_ip: "198.51.100.7".into(),
                base: "http://emu.test".into(),
            },
            Job::Panic {
                message: "boom".into(),
            },
        ]
    }

    #[test]
    fn every_job_round_trips_through_its_kind_and_payload_columns() {
        let jobs = every_job();
        for job in &jobs {
            let (kind, payload) = job.to_columns().expect("columns");
            assert_eq!(kind, stored_kind(job));
            let fields = payload.as_object().expect("the payload is an object");
            assert!(!fields.contains_key("kind"), "{kind}: the tag is a column");
            let back = Job::from_columns(&kind, &payload.to_string()).expect("load");
            assert_eq!(&back, job, "{kind}");
        }
        let mut kinds: Vec<_> = jobs.iter().map(stored_kind).collect();
        kinds.dedup();
        assert_eq!(kinds.len(), 23, "one sample at least of every kind");
    }

    #[test]
    fn rows_queued_by_the_previous_version_load_into_their_variant() {
        // (kind, payload) exactly as the previous version wrote them.
        let rows = [
            (
                "power",
                json!({"op": "reboot"}),
                Job::Power {
                    op: PowerOp::Reboot,
                },
            ),
            (
                "power",
                json!({"op": "hard_off"}),
                Job::Power {
                    op: PowerOp::HardOff,
                },
            ),
            (
                "remote_hands",
                json!({"action": "request_pon"}),
                Job::RemoteHands {
                    action: "request_pon".into(),
                },
            ),
            (
                "port_status",
                json!({"iface_id": 7, "vlan": 1201}),
                Job::PortStatus {
                    iface_id: 7,
                    vlan: 1201,
                },
            ),
            (
                "port",
                json!({"iface_id": 7, "on": false, "reason": "blocked by customer", "port": "eth0"}),
                Job::Port {
                    iface_id: 7,
                    on: false,
                    reason: "blocked by customer".into(),
                },
            ),
            (
                "ip_block",
                json!({"address": "31.207.45.23", "block": true, "description": "", "four_hours": true}),
                Job::IpBlock {
                    address: "31.207.45.23".into(),
                    block: true,
                    description: String::new(),
                    four_hours: true,
                },
            ),
            (
                "ip_block",
                json!({"address": "31.207.45.23", "block": false}),
                Job::IpBlock {
                    address: "31.207.45.23".into(),
                    block: false,
                    description: String::new(),
                    four_hours: false,
                },
            ),
            (
                "ip_config",
                json!({"address": "31.207.45.24", "op": "add", "port": "eth0", "vlan": 1201}),
                Job::IpConfig {
                    address: "31.207.45.24".into(),
                    port: "eth0".into(),
                    change: IpChange::Add { vlan: 1201 },
                },
            ),
            (
                "ip_config",
                json!({"address": "31.207.45.24", "op": "remove", "port": "eth0"}),
                Job::IpConfig {
                    address: "31.207.45.24".into(),
                    port: "eth0".into(),
                    change: IpChange::Remove,
                },
            ),
            (
                "nat",
                json!({"op": "add", "rule_id": 3, "public_ip": "5.39.1.10", "private_ip": "10.10.0.5"}),
                Job::Nat {
                    rule_id: 3,
                    public_ip: "5.39.1.10".into(),
                    change: NatChange::Add {
                        private_ip: "10.10.0.5".into(),
                    },
                },
            ),
            (
                "nat",
                json!({"op": "remove", "rule_id": 3, "public_ip": "5.39.1.10", "router_id": "*3"}),
                Job::Nat {
                    rule_id: 3,
                    public_ip: "5.39.1.10".into(),
                    change: NatChange::Remove {
                        router_id: "*3".into(),
                    },
                },
            ),
            (
                "deploy",
                json!({"invoice": 1001, "vm": false, "manual": true}),
                Job::Deploy {
                    invoice: 1001,
                    vm: false,
                    manual: true,
                },
            ),
            (
                "reinstall",
                json!({"vm": true}),
                Job::Reinstall {
                    vm: true,
                    invoice: None,
                },
            ),
            (
                "reinstall",
                json!({"vm": false, "invoice": 1002}),
                Job::Reinstall {
                    vm: false,
                    invoice: Some(1002),
                },
            ),
            (
                "installer",
                json!({"vm": false, "os_id": 187, "hostname": "web1", "post_install_callback": null}),
                Job::Installer {
                    vm: false,
                    os_id: Some(187),
                    hostname: "web1".into(),
                    post_install_callback: None,
                },
            ),
            (
                // Older still: the installer read its OS from the PXE configuration.
                "installer",
                json!({"vm": true}),
                Job::Installer {
                    vm: true,
                    os_id: None,
                    hostname: String::new(),
                    post_install_callback: None,
                },
            ),
            (
                "pxe_config",
                json!({"create": true}),
                Job::PxeConfig { create: true },
            ),
            (
                "pxe_config",
                json!({"create": false}),
                Job::PxeConfig { create: false },
            ),
            (
                "boot_dev",
                json!({"media": "pxe", "vm": false}),
                Job::BootDev {
                    media: "pxe".into(),
                    vm: false,
                },
            ),
            (
                "ipmi_user",
                json!({"add": true}),
                Job::IpmiUser {
                    add: true,
                    user: None,
                },
            ),
            (
                "ipmi_user",
                json!({"add": false, "user": "u1234567"}),
                Job::IpmiUser {
                    add: false,
                    user: Some("u1234567".into()),
                },
            ),
            ("unit_reset", json!({}), Job::UnitReset),
            ("console", json!({}), Job::Console),
            (
                "novnc",
                json!({"op": "stop", "white_ip": "", "base": "http://127.0.0.1:8080"}),
                Job::Novnc {
                    op: "stop".into(),
                    white_ip: String::new(),
                    base: "http://127.0.0.1:8080".into(),
                },
            ),
        ];
        for (kind, payload, want) in rows {
            let got = Job::from_columns(kind, &payload.to_string());
            assert_eq!(got.expect(kind), want, "{kind} {payload}");
        }
    }

    #[test]
    fn unknown_kinds_and_payloads_that_do_not_fit_are_errors() {
        let bad = [
            ("teleport", "{}", "unknown variant `teleport`"),
            ("power", "{}", "missing field `op`"),
            ("power", r#"{"op": "explode"}"#, "unknown variant `explode`"),
            (
                "port_status",
                r#"{"iface_id": "7", "vlan": 1}"#,
                "invalid type",
            ),
            (
                "nat",
                r#"{"op": "add", "rule_id": 1, "public_ip": "x"}"#,
                "private_ip",
            ),
            ("console", "[]", "invalid type"),
            ("console", "null", "invalid type"),
            ("console", "not json", "expected"),
        ];
        for (kind, payload, why) in bad {
            let e = Job::from_columns(kind, payload).expect_err(payload);
            assert!(e.to_string().contains(why), "{kind} {payload}: {e}");
        }
    }

    #[test]
    fn only_power_jobs_run_in_order() {
        for job in every_job() {
            assert_eq!(job.runs_in_order(), stored_kind(&job) == "power");
        }
    }

    use crate::config::Config;

    /// A state on the demo scenario with cheap hashing.
    async fn state() -> AppState {
        let mut config = Config::for_tests();
        config.argon2_memory_kib = 64;
        AppState::new(config).await.expect("state")
    }

    /// A task on server 40101: an address change, or a power action (which queue behind
    /// each other).
    fn task(kind: &str, n: i64) -> NewTask<'static> {
        let job = match kind {
            "power" => Job::Power {
                op: PowerOp::Reboot,
            },
            _ => Job::IpConfig {
                address: format!("10.0.0.{n}"),
                port: "eth0".into(),
                change: IpChange::Remove,
            },
        };
        NewTask {
            module: "eq",
            account_id: Some(38642),
            server_id: 40101,
            action: "remove_ipv4",
            context: ip_context("remove_ipv4", 40101, &format!("10.0.0.{n}")),
            job,
            duration_ms: 4_000,
        }
    }

    #[tokio::test]
    async fn many_tasks_get_their_records_and_jobs_in_two_statements() {
        let state = state().await;
        let mut tx = store::begin_write(&state.db).await.expect("begin");
        let tasks = vec![task("ip_config", 2), task("ip_config", 3)];
        let (keys, n) = store::counting(submit_many_in(&state, &mut tx, tasks)).await;
        let keys = keys.expect("submit");
        tx.commit().await.expect("commit");
        assert_eq!(n, 2);
        assert_eq!(keys.len(), 2);
        assert_ne!(keys[0], keys[1]);
        for (key, ip) in keys.iter().zip(["10.0.0.2", "10.0.0.3"]) {
            let c = store::callbacks::get(&state.db, key)
                .await
                .expect("get")
                .expect("record");
            assert_eq!((c.state.as_str(), c.server_id), ("pending", 40101));
            let ctx: Value = serde_json::from_str(&c.context).expect("json");
            assert_eq!(ctx["ip"], ip);
        }
        let mut tx = store::begin_write(&state.db).await.expect("begin");
        let (keys, n) = store::counting(submit_many_in(&state, &mut tx, Vec::new())).await;
        assert_eq!((keys.expect("submit").len(), n), (0, 0));
        tx.rollback().await.expect("rollback");
    }

    #[tokio::test]
    async fn power_tasks_queue_behind_each_other_one_by_one() {
        let state = state().await;
        let mut tx = store::begin_write(&state.db).await.expect("begin");
        let keys = submit_many_in(&state, &mut tx, vec![task("power", 1), task("power", 2)])
            .await
            .expect("submit");
        let last = store::jobs::last_due_for_server(&mut tx, "power", 40101)
            .await
            .expect("due")
            .expect("queued");
        tx.commit().await.expect("commit");
        assert_eq!(keys.len(), 2);
        let took = state.config.task_speed.scale(4_000);
        assert!(
            last >= state.clock.now_ms() - 1_000 + 2 * took,
            "the second waits for the first"
        );
    }
}
