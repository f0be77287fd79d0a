//! Ordering rules (001 "eq/order_instance", "Reinstall server using eq/order_instance"; 002
//! for `os_name` and `ipv4_amount`): what an order or a reinstall may ask for, checked in the
//! order the documents list it and answered in their words; what a new server is built as;
//! what a finished install leaves on a server. Pure functions over the catalogue and the
//! hardware: `ops::orders` runs them and writes what they decide. Prices are in `pricing`.

use serde_json::{json, Value};

use super::catalogue::{self, Catalogue, Os, Preset, Software, TrafficPlan};
use super::hardware::HardwareSpec;
use super::rules::{shorten, valid_hostname};
use crate::error::{Error, Result};

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
    /// The `ssh_key` tag the key leaves on the server: its fingerprint and, for a stored
    /// key (`ssh_keys.php`), its name; `None` when no key was given or it has no
    /// fingerprint.
    pub ssh_key_tag: Option<(String, String)>,
    /// Size of the root partition in percent of the disk.
    pub root_size: Option<i64>,
    /// 002: public IPv4 addresses of a new server (1 when absent).
    pub ipv4_amount: Option<i64>,
}

/// Memory and disk of the machine an OS goes on, in GB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    pub ram: i64,
    pub disk: i64,
}

/// Public IPv4 addresses a new server may have (the first one comes with the server).
pub const MAX_IPV4: i64 = 8;

/// The OS a request names (`os_id`, or 002's `os_name`), checked against the instance kind
/// and size; `None` for `own_os=1`.
pub fn resolve_os<'a>(
    c: &'a Catalogue,
    req: &Request,
    kind: &str,
    size: Size,
    what: &str,
) -> Result<Option<&'a Os>> {
    if req.own_os {
        return Ok(None);
    }
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
pub fn resolve_software<'a>(
    c: &'a Catalogue,
    req: &Request,
    os: Option<&Os>,
    kind: &str,
    size: Size,
    what: &str,
) -> Result<Option<&'a Software>> {
    let Some(id) = req.soft_id else {
        return Ok(None);
    };
    let s = c
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
pub fn check_root_pass(req: &Request) -> Result<()> {
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

/// The jenkins_task must exist and be meant for this instance kind (-1 is "do nothing").
pub fn check_jenkins_task(c: &Catalogue, task: Option<i64>, kind: &str) -> Result<()> {
    let Some(task) = task.filter(|t| *t != -1) else {
        return Ok(());
    };
    let known = c
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
pub fn check_options(req: &Request) -> Result<()> {
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
        let url = url::Url::parse(u).ok();
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

/// Everything an install needs checked, in the order the documents list it: the OS, the
/// software, the root password, the options, the Jenkins task.
pub fn validate<'a>(
    c: &'a Catalogue,
    req: &Request,
    kind: &str,
    size: Size,
    what: &str,
) -> Result<(Option<&'a Os>, Option<&'a Software>)> {
    let os = resolve_os(c, req, kind, size, what)?;
    let soft = resolve_software(c, req, os, kind, size, what)?;
    check_root_pass(req)?;
    check_options(req)?;
    check_jenkins_task(c, req.jenkins_task, kind)?;
    Ok((os, soft))
}

/// What an order is for: a preset instance or a stock server, and what it is built as.
#[derive(Debug, Clone)]
pub struct Target {
    /// vm, vgpu, bm, gpu
    pub kind: String,
    /// Built as an oVirt VM (vm and vgpu presets).
    pub vm: bool,
    pub hardware: HardwareSpec,
    /// eq/show `preset`: the preset's name, or `stock.<id>`.
    pub preset_name: String,
    pub description: String,
    /// VPS, Dedicated, GPU
    pub server_type: String,
    /// EUR a month.
    pub monthly: f64,
    pub stock_id: Option<i64>,
    /// Deployed by hand (hwraid or no_autodeploy stock servers).
    pub manual: bool,
    pub ipmi_model: String,
    pub groups: Vec<String>,
}

impl Target {
    /// Memory and disk of the machine, for the OS and software checks.
    pub fn size(&self) -> Size {
        Size {
            ram: self.hardware.ram_gb(),
            disk: self.hardware.disk_gb(),
        }
    }
}

/// The preset or stock server an order names (a number that is a stock id is a stock
/// server), in the order's location. Whether a stock server is still for sale is state: the
/// order checks it inside its write transaction.
pub fn target(c: &Catalogue, req: &Request) -> Result<Target> {
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

/// The traffic plan an order names: required, and offered in the location for the kind.
pub fn traffic_plan<'a>(
    c: &'a Catalogue,
    req: &Request,
    kind: &str,
    what: &str,
) -> Result<&'a TrafficPlan> {
    let plan_id = req
        .traffic_plan
        .ok_or_else(|| Error::invalid("traffic_plan is required, see traffic_plans/list"))?;
    c.plan(plan_id)
        .filter(|p| p.fits(&req.location, kind))
        .ok_or_else(|| {
            Error::invalid(format!(
                "traffic_plan {plan_id} is not available for {what} in {}",
                req.location
            ))
        })
}

/// 002's `ipv4_amount`: 1 (the default) to [`MAX_IPV4`] public addresses.
pub fn ipv4_amount(req: &Request) -> Result<i64> {
    let ipv4 = req.ipv4_amount.unwrap_or(1);
    if !(1..=MAX_IPV4).contains(&ipv4) {
        return Err(Error::invalid(format!(
            "ipv4_amount must be between 1 and {MAX_IPV4}"
        )));
    }
    Ok(ipv4)
}

/// The hostname a new server gets: the requested one, else its id.
pub fn hostname(req: &Request, server_id: i64) -> String {
    req.hostname
        .clone()
        .unwrap_or_else(|| server_id.to_string())
}

/// The instance kind of an existing server (vm, vgpu, bm, gpu): its preset's, else guessed
/// from the server itself (scenario servers, stock servers): a VM, a GPU server, bare metal.
pub fn server_kind(preset: Option<&Preset>, vm: bool, server_type: &str) -> String {
    if let Some(p) = preset {
        return p.kind.clone();
    }
    if vm {
        "vm".into()
    } else if server_type == "GPU" {
        "gpu".into()
    } else {
        "bm".into()
    }
}

/// Memory and disk of an existing server, from its eq/show `hardware` (JSON text); 0 when
/// unknown.
pub fn hardware_size(hardware: &str) -> Size {
    let hw: Value = serde_json::from_str(hardware).unwrap_or_default();
    Size {
        ram: hw["ram"].as_i64().unwrap_or(0),
        disk: hw["hdd"].as_i64().unwrap_or(0),
    }
}

/// CPU cores of a server's eq/show `hardware` (JSON text), at least 1 (licences are priced
/// per core).
pub fn hardware_cores(hardware: &str) -> i64 {
    let hw: Value = serde_json::from_str(hardware).unwrap_or_default();
    hw["cpu_cores"].as_i64().unwrap_or(1).max(1)
}

/// A server that can be reinstalled remotely: with remote control (else only remote hands
/// can boot it), and rented (not suspended or waiting for payment).
pub fn check_reinstallable(server_id: i64, control: &str, status: &str) -> Result<()> {
    if control == "none" {
        return Err(Error::invalid(format!(
            "server {server_id} has no remote control, a reinstall needs remote hands (jira.php action=request_PXEboot)"
        )));
    }
    if status != "rent" {
        return Err(Error::denied(format!(
            "server {server_id} is not active ({}), it cannot be reinstalled",
            if status == "pending" {
                "waiting for payment or deployment"
            } else {
                "suspended"
            }
        )));
    }
    Ok(())
}

/// A locally administered MAC address from four random bytes: `56:6f:` for oVirt VMs,
/// `ac:1f:` (Supermicro's prefix) for physical ports.
pub fn mac_address(vm: bool, b: [u8; 4]) -> String {
    let prefix = if vm { "56:6f" } else { "ac:1f" };
    format!(
        "{prefix}:{:02x}:{:02x}:{:02x}:{:02x}",
        b[0], b[1], b[2], b[3]
    )
}

/// Where a new server's eth0 is plugged in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uplink {
    pub switch_owner: &'static str,
    pub switch_model: &'static str,
    pub switch_port: String,
    /// Mbit/s
    pub speed: i64,
}

/// eth0 of a new server: a virtual port for a VM; for bare metal a port of the
/// location's Juniper switch (picked by server id); at the plan's bandwidth, 1 Gbit/s at
/// least.
pub fn uplink(vm: bool, server_id: i64, bandwidth: i64) -> Uplink {
    Uplink {
        switch_owner: if vm { "" } else { "hostkey" },
        switch_model: if vm { "virtual" } else { "Juniper EX4300-48T" },
        switch_port: if vm {
            "virtual".to_owned()
        } else {
            format!("ge-0/0/{}", server_id % 48)
        },
        speed: bandwidth.max(1000),
    }
}

/// The value of the `Password` tag. 001's eq/show has the root password there; the
/// emulator never keeps a secret in clear, so the tag says one was set without showing it.
pub const PASSWORD_TAG_VALUE: &str = "********";
const PASSWORD_TAG_EXTRA: &str = "set at install, not stored";

/// Server tags an install writes; a new install removes those of the previous one
/// (`hostname` stays: the new install sets it).
pub const INSTALL_TAGS: &[&str] = &[
    "deploy_status",
    "OS",
    "user_name",
    "Password",
    "soft",
    "webpanel",
    "hestia_url",
    "hestia_user",
];

/// The tag that shows the fingerprint of the SSH key an order or reinstall installed.
pub const SSH_KEY_TAG: &str = "ssh_key";

/// The catalogue's Hestia Control Panel software: an install of it runs an emulated panel.
pub const HESTIA_SOFTWARE: &str = "Hestia Control Panel";

/// A server tag to write: name, value, extra, internal.
pub type TagValue = (&'static str, String, String, i64);

/// The tags a finished install leaves (besides `hostname`): the OS, its user and the masked
/// password; the software (`soft`, its id as extra), and for a control panel the
/// `webpanel` tag with its URL on the hostname.
pub fn install_tags(os: Option<&Os>, soft: Option<&Software>, hostname: &str) -> Vec<TagValue> {
    let mut tags = Vec::new();
    if let Some(o) = os {
        tags.push(("OS", o.name.clone(), String::new(), 0));
        tags.push(("user_name", o.user_name.clone(), String::new(), 0));
        tags.push((
            "Password",
            PASSWORD_TAG_VALUE.to_owned(),
            PASSWORD_TAG_EXTRA.to_owned(),
            1,
        ));
    }
    if let Some(s) = soft {
        tags.push(("soft", s.name.clone(), s.id.to_string(), 0));
        if s.name == HESTIA_SOFTWARE {
            // Hestia's panel and API listen on 8083.
            let url = format!("https://{hostname}:8083/");
            tags.push(("webpanel", "hestiacp".to_owned(), url, 0));
        } else if s.is_control_panel() {
            let url = format!("https://{hostname}:2087");
            tags.push(("webpanel", s.name.to_ascii_lowercase(), url, 0));
        }
    }
    tags
}

/// eq/show `os` after an install (`{"id", "name"}` as JSON text), `None` without an OS.
pub fn os_field(os: Option<&Os>) -> Option<String> {
    os.map(|o| json!({"id": o.id, "name": o.name}).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cat() -> Catalogue {
        Catalogue::builtin().expect("catalogue")
    }

    /// A request that passes every check for a vm.mini in NL with Ubuntu 22.04.
    fn req() -> Request {
        Request {
            preset: "vm.mini".into(),
            location: "NL".into(),
            os_id: Some(187),
            traffic_plan: Some(25),
            root_pass: Some("mnN48Dl@4".into()),
            period: "monthly".into(),
            ..Request::default()
        }
    }

    fn msg(r: Result<impl std::fmt::Debug>) -> String {
        r.expect_err("an error").to_string()
    }

    const BIG: Size = Size {
        ram: 64,
        disk: 1000,
    };

    #[test]
    fn the_os_is_found_by_id_or_by_name_and_own_os_needs_none() {
        let c = cat();
        let os = resolve_os(&c, &req(), "vm", BIG, "preset vm.mini").expect("ok");
        assert_eq!(os.map(|o| o.id), Some(187));
        let by_name = Request {
            os_id: None,
            os_name: Some("windows server 2022".into()),
            ..req()
        };
        let os = resolve_os(&c, &by_name, "bm", BIG, "x").expect("ok");
        assert_eq!(os.map(|o| o.id), Some(196), "the one for bare metal");
        let own = Request {
            own_os: true,
            os_id: None,
            ..req()
        };
        assert!(resolve_os(&c, &own, "vm", BIG, "x").expect("ok").is_none());
        let none = Request {
            os_id: None,
            ..req()
        };
        assert_eq!(
            msg(resolve_os(&c, &none, "vm", BIG, "x")),
            "os_id is required (or own_os=1)"
        );
        let unknown = Request {
            os_id: Some(9),
            ..req()
        };
        let e = resolve_os(&c, &unknown, "vm", BIG, "x").expect_err("unknown");
        assert!(matches!(e, Error::NotFound(_)));
        assert_eq!(e.to_string(), "os_id 9 not found, see os/list");
        let beos = Request {
            os_id: None,
            os_name: Some("BeOS".into()),
            ..req()
        };
        assert_eq!(
            msg(resolve_os(&c, &beos, "vm", BIG, "x")),
            "os_name 'BeOS' not found, see os/list"
        );
    }

    #[test]
    fn an_os_must_suit_the_kind_and_the_minimum_ram_and_disk() {
        let c = cat();
        let win_vm = c.os(202).expect("202");
        assert!(check_os(win_vm, "vm", Size { ram: 2, disk: 32 }, "w").is_ok());
        assert_eq!(
            msg(check_os(win_vm, "bm", BIG, "preset bm.e2288g.32")),
            "OS Windows Server 2022 (#202) is not compatible with preset bm.e2288g.32"
        );
        assert_eq!(
            msg(check_os(
                win_vm,
                "vm",
                Size { ram: 1, disk: 15 },
                "preset vm.pico"
            )),
            "OS Windows Server 2022 (#202) is not compatible with preset vm.pico: \
             it needs at least 2 GB RAM (has 1 GB) and 32 GB disk (has 15 GB)"
        );
        let e = check_os(win_vm, "vm", Size { ram: 2, disk: 31 }, "w").expect_err("disk");
        assert!(matches!(e, Error::Invalid(_)));
    }

    #[test]
    fn software_must_suit_the_kind_the_os_and_the_memory() {
        let c = cat();
        let ubuntu = c.os(187);
        let rocky = c.os(205);
        let with = |id| Request {
            soft_id: Some(id),
            ..req()
        };
        assert!(resolve_software(&c, &req(), ubuntu, "vm", BIG, "w")
            .expect("none")
            .is_none());
        let s = resolve_software(&c, &with(38), rocky, "vm", BIG, "w").expect("cpanel");
        assert_eq!(s.map(|s| s.id), Some(38));
        assert_eq!(
            msg(resolve_software(&c, &with(38), rocky, "gpu", BIG, "preset gpu.1xa4000")),
            "extra software cPanel (#38) is not available for preset gpu.1xa4000, it installs on vm, bm servers"
        );
        let e = resolve_software(&c, &with(38), ubuntu, "vm", BIG, "w").expect_err("os");
        assert!(matches!(e, Error::Verbatim(_)), "001's wording, unprefixed");
        assert_eq!(
            e.to_string(),
            "reinstall: extra software cPanel (#38) is not compatible with Ubuntu 22.04"
        );
        assert_eq!(
            msg(resolve_software(&c, &with(18), None, "vm", BIG, "w")),
            "software cannot be installed without an OS (own_os=1)"
        );
        assert_eq!(
            msg(resolve_software(
                &c,
                &with(38),
                rocky,
                "vm",
                Size { ram: 1, disk: 15 },
                "preset vm.pico"
            )),
            "extra software cPanel (#38) needs at least 2 GB RAM, preset vm.pico has 1 GB"
        );
        let e = resolve_software(&c, &with(7), ubuntu, "vm", BIG, "w").expect_err("unknown");
        assert!(matches!(e, Error::NotFound(_)));
        assert_eq!(e.to_string(), "soft_id 7 not found, see software/list");
    }

    #[test]
    fn the_root_password_follows_the_policy_unless_the_os_is_the_customers() {
        assert!(check_root_pass(&req()).is_ok());
        let none = Request {
            root_pass: None,
            ..req()
        };
        assert_eq!(msg(check_root_pass(&none)), "root_pass is required");
        let weak = Request {
            root_pass: Some("mdLus8Ng".into()),
            ..req()
        };
        assert!(msg(check_root_pass(&weak)).starts_with("root_pass must be at least 8"));
        let own = Request {
            own_os: true,
            root_pass: None,
            ..req()
        };
        assert!(check_root_pass(&own).is_ok());
    }

    #[test]
    fn a_jenkins_task_must_exist_and_suit_the_kind() {
        let c = cat();
        assert!(check_jenkins_task(&c, None, "vm").is_ok());
        assert!(check_jenkins_task(&c, Some(-1), "vm").is_ok(), "do nothing");
        assert!(check_jenkins_task(&c, Some(1), "gpu").is_ok());
        assert!(check_jenkins_task(&c, Some(1), "vgpu").is_ok());
        assert_eq!(
            msg(check_jenkins_task(&c, Some(3), "vgpu")),
            "jenkins_task 3 (Install GPU drivers + NVIDIA docker + IOMMU patch) needs a GPU server"
        );
        assert_eq!(
            msg(check_jenkins_task(&c, Some(99), "gpu")),
            "jenkins_task 99 not found, see jenkins/get_tasks"
        );
    }

    #[test]
    fn options_are_checked_when_given() {
        assert!(check_options(&req()).is_ok());
        fn with(f: impl FnOnce(&mut Request)) -> Result<()> {
            let mut r = req();
            f(&mut r);
            check_options(&r)
        }
        assert!(with(|r| r.hostname = Some("web-1.example.com".into())).is_ok());
        assert_eq!(
            msg(with(|r| r.hostname = Some("under_score".into()))),
            "invalid hostname 'under_score'"
        );
        assert!(with(|r| r.ssh_key = Some("ssh-ed25519 AAAAC3Nz me@host".into())).is_ok());
        assert!(with(|r| r.ssh_key = Some("  ssh-rsa AAAAB3".into())).is_ok());
        assert_eq!(
            msg(with(|r| r.ssh_key = Some("ssh-ed25519".into()))),
            "ssh_key must be an OpenSSH public key (ssh-ed25519 AAAA... comment)"
        );
        assert!(with(|r| r.ssh_key = Some("ssh-dss AAAA x".into())).is_err());
        assert!(with(|r| r.root_size = Some(1)).is_ok());
        assert!(with(|r| r.root_size = Some(100)).is_ok());
        assert_eq!(
            msg(with(|r| r.root_size = Some(0))),
            "root_size must be between 1 and 100 (percent of the disk)"
        );
        assert!(with(|r| r.root_size = Some(101)).is_err());
        assert!(with(|r| r.post_install_callback = Some("https://hooks.example/x".into())).is_ok());
        for bad in ["ftp://example.com/", "not a url", "file:///etc/passwd"] {
            assert_eq!(
                msg(with(|r| r.post_install_callback = Some(bad.into()))),
                "post_install_callback must be an http(s) URL with a host",
                "{bad}"
            );
        }
    }

    #[test]
    fn validation_runs_in_the_documented_order() {
        let c = cat();
        let (os, soft) = validate(&c, &req(), "vm", BIG, "w").expect("valid");
        assert_eq!((os.map(|o| o.id), soft.map(|s| s.id)), (Some(187), None));
        // Both the OS and the password are wrong: the OS is reported first.
        let both = Request {
            os_id: Some(9),
            root_pass: None,
            ..req()
        };
        assert_eq!(
            msg(validate(&c, &both, "vm", BIG, "w")),
            "os_id 9 not found, see os/list"
        );
        // The password before the options, the options before the Jenkins task.
        let later = Request {
            root_pass: None,
            hostname: Some("-bad".into()),
            jenkins_task: Some(99),
            ..req()
        };
        assert_eq!(
            msg(validate(&c, &later, "vm", BIG, "w")),
            "root_pass is required"
        );
        let last = Request {
            hostname: Some("-bad".into()),
            jenkins_task: Some(99),
            ..req()
        };
        assert_eq!(
            msg(validate(&c, &last, "vm", BIG, "w")),
            "invalid hostname '-bad'"
        );
    }

    #[test]
    fn a_preset_is_built_as_its_kind_in_the_locations_that_sell_it() {
        let c = cat();
        let t = target(&c, &req()).expect("vm.mini");
        assert_eq!(
            (t.kind.as_str(), t.vm, t.server_type.as_str(), t.monthly),
            ("vm", true, "VPS", 9.0)
        );
        assert_eq!(
            (t.preset_name.as_str(), t.ipmi_model.as_str()),
            ("vm.mini", "ovirt")
        );
        assert_eq!(t.size(), Size { ram: 4, disk: 60 });
        assert_eq!(t.groups, ["VPS", "Instances"]);
        assert!(t.stock_id.is_none() && !t.manual);
        let dell = Request {
            preset: "204".into(),
            ..req()
        };
        let t = target(&c, &dell).expect("by id");
        assert_eq!(
            (
                t.kind.as_str(),
                t.vm,
                t.server_type.as_str(),
                t.ipmi_model.as_str()
            ),
            ("bm", false, "Dedicated", "iDRAC9")
        );
        let gpu = Request {
            preset: "gpu.1xa4000".into(),
            ..req()
        };
        assert_eq!(target(&c, &gpu).expect("gpu").server_type, "GPU");
        let vgpu = Request {
            preset: "vgpu.a16.1".into(),
            ..req()
        };
        let t = target(&c, &vgpu).expect("vgpu");
        assert!(t.vm && t.server_type == "VPS" && t.kind == "vgpu");
        let far = Request {
            preset: "vm.xlarge".into(),
            location: "UK".into(),
            ..req()
        };
        assert_eq!(
            msg(target(&c, &far)),
            "preset vm.xlarge is not available in UK"
        );
        let unknown = Request {
            preset: "vm.giant".into(),
            ..req()
        };
        let e = target(&c, &unknown).expect_err("unknown");
        assert!(matches!(e, Error::NotFound(_)));
        assert_eq!(e.to_string(), "preset vm.giant not found, see presets/list");
    }

    #[test]
    fn a_stock_server_is_ordered_in_its_own_location() {
        let c = cat();
        let fi = Request {
            preset: "40514".into(),
            location: "FI".into(),
            ..req()
        };
        let t = target(&c, &fi).expect("stock");
        assert_eq!(
            (
                t.kind.as_str(),
                t.server_type.as_str(),
                t.stock_id,
                t.monthly
            ),
            ("bm", "Dedicated", Some(40514), 115.0)
        );
        assert_eq!((t.preset_name.as_str(), t.manual), ("stock.40514", false));
        assert_eq!(t.description, t.hardware.config(false));
        assert!(
            !t.groups.contains(&"Instances".to_owned()),
            "not from a preset"
        );
        let hwraid = Request {
            preset: "44717".into(),
            location: "FI".into(),
            ..req()
        };
        assert!(
            target(&c, &hwraid).expect("hwraid").manual,
            "deployed by hand"
        );
        let gpu = Request {
            preset: "46230".into(),
            location: "US".into(),
            ..req()
        };
        let t = target(&c, &gpu).expect("gpu");
        assert_eq!((t.kind.as_str(), t.server_type.as_str()), ("gpu", "GPU"));
        let elsewhere = Request {
            preset: "40514".into(),
            location: "NL".into(),
            ..req()
        };
        assert_eq!(
            msg(target(&c, &elsewhere)),
            "stock server 40514 is in FI, not in NL"
        );
    }

    #[test]
    fn the_traffic_plan_is_required_and_must_suit_location_and_kind() {
        let c = cat();
        assert_eq!(traffic_plan(&c, &req(), "vm", "w").expect("plan").id, 25);
        let none = Request {
            traffic_plan: None,
            ..req()
        };
        assert_eq!(
            msg(traffic_plan(&c, &none, "vm", "w")),
            "traffic_plan is required, see traffic_plans/list"
        );
        let bm_plan = Request {
            traffic_plan: Some(31),
            ..req()
        };
        assert_eq!(
            msg(traffic_plan(&c, &bm_plan, "vm", "preset vm.mini")),
            "traffic_plan 31 is not available for preset vm.mini in NL"
        );
        let uk = Request {
            traffic_plan: Some(32),
            location: "UK".into(),
            ..req()
        };
        assert!(traffic_plan(&c, &uk, "bm", "w").is_err(), "not sold in UK");
    }

    #[test]
    fn one_to_eight_addresses_and_the_hostname_defaults_to_the_id() {
        assert_eq!(ipv4_amount(&req()).expect("default"), 1);
        for n in [1, MAX_IPV4] {
            let r = Request {
                ipv4_amount: Some(n),
                ..req()
            };
            assert_eq!(ipv4_amount(&r).expect("in range"), n);
        }
        for n in [0, MAX_IPV4 + 1] {
            let r = Request {
                ipv4_amount: Some(n),
                ..req()
            };
            assert_eq!(msg(ipv4_amount(&r)), "ipv4_amount must be between 1 and 8");
        }
        assert_eq!(hostname(&req(), 40123), "40123");
        let named = Request {
            hostname: Some("web".into()),
            ..req()
        };
        assert_eq!(hostname(&named, 40123), "web");
    }

    #[test]
    fn an_existing_servers_kind_size_and_cores() {
        let c = cat();
        assert_eq!(
            server_kind(c.preset_named("vgpu.a16.1"), true, "VPS"),
            "vgpu"
        );
        assert_eq!(server_kind(None, true, "VPS"), "vm");
        assert_eq!(server_kind(None, false, "GPU"), "gpu");
        assert_eq!(server_kind(None, false, "Dedicated"), "bm");
        let hw = r#"{"ram": 32, "hdd": 960, "cpu_cores": 8}"#;
        assert_eq!(hardware_size(hw), Size { ram: 32, disk: 960 });
        assert_eq!(hardware_cores(hw), 8);
        assert_eq!(hardware_size("not json"), Size { ram: 0, disk: 0 });
        assert_eq!(hardware_cores("{}"), 1);
        assert_eq!(hardware_cores(r#"{"cpu_cores": 0}"#), 1, "at least one");
    }

    #[test]
    fn only_a_rented_server_with_remote_control_is_reinstalled() {
        assert!(check_reinstallable(1, "ipmi", "rent").is_ok());
        let e = check_reinstallable(7, "none", "rent").expect_err("no control");
        assert!(matches!(e, Error::Invalid(_)));
        assert!(e.to_string().contains("jira.php action=request_PXEboot"));
        let e = check_reinstallable(7, "ovirt", "pending").expect_err("pending");
        assert!(matches!(e, Error::Denied(_)));
        assert_eq!(
            e.to_string(),
            "server 7 is not active (waiting for payment or deployment), it cannot be reinstalled"
        );
        assert_eq!(
            msg(check_reinstallable(7, "ovirt", "power_off")),
            "server 7 is not active (suspended), it cannot be reinstalled"
        );
    }

    #[test]
    fn new_ports_get_a_mac_of_their_kind_and_bare_metal_a_switch_port() {
        assert_eq!(mac_address(true, [1, 2, 0xab, 0xff]), "56:6f:01:02:ab:ff");
        assert_eq!(mac_address(false, [0, 0, 0, 0x10]), "ac:1f:00:00:00:10");
        let vm = uplink(true, 40150, 100);
        assert_eq!(
            (
                vm.switch_owner,
                vm.switch_model,
                vm.switch_port.as_str(),
                vm.speed
            ),
            ("", "virtual", "virtual", 1000)
        );
        let bm = uplink(false, 40150, 10_000);
        assert_eq!(
            (
                bm.switch_owner,
                bm.switch_model,
                bm.switch_port.as_str(),
                bm.speed
            ),
            ("hostkey", "Juniper EX4300-48T", "ge-0/0/22", 10_000)
        );
    }

    #[test]
    fn an_install_leaves_os_credentials_software_and_panel_tags() {
        let c = cat();
        let rocky = c.os(205);
        let cpanel = c.software(38);
        let tags = install_tags(rocky, cpanel, "web.example.com");
        let names: Vec<&str> = tags.iter().map(|t| t.0).collect();
        assert_eq!(names, ["OS", "user_name", "Password", "soft", "webpanel"]);
        assert!(
            names.iter().all(|n| INSTALL_TAGS.contains(n)),
            "a reinstall clears them"
        );
        assert_eq!(tags[0].1, "RockyLinux 9");
        assert_eq!(
            (tags[2].1.as_str(), tags[2].3),
            (PASSWORD_TAG_VALUE, 1),
            "masked and internal"
        );
        assert_eq!((tags[3].1.as_str(), tags[3].2.as_str()), ("cPanel", "38"));
        assert_eq!(
            (tags[4].1.as_str(), tags[4].2.as_str()),
            ("cpanel", "https://web.example.com:2087")
        );
        let grafana = install_tags(c.os(187), c.software(18), "h");
        assert_eq!(grafana.len(), 4, "no panel");
        assert!(install_tags(None, None, "h").is_empty(), "own OS");
        assert_eq!(
            os_field(c.os(187)).as_deref(),
            Some(r#"{"id":187,"name":"Ubuntu 22.04"}"#)
        );
        assert_eq!(os_field(None), None);
    }
}
