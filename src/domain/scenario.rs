//! Scenarios: the fixture data an empty database is filled with (at first start and at
//! `/_emu/reset`). The built-in `demo` scenario is `seeds/demo.json`, embedded in the binary;
//! `--scenario PATH` loads another file of the same format.
//!
//! Dates in a scenario are relative (`registered_days_ago`, `days_left`) so the data stays
//! believable whenever it is loaded. Secrets in a scenario are clear text by design (they are
//! fixtures); the loader stores only their hashes and digests.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::domain::hardware::HardwareSpec;

/// The built-in demo scenario.
pub const DEMO: &str = include_str!("../../seeds/demo.json");

/// A whole scenario file. Its servers are parsed ([`ServerSpec`]) or, for loading a big
/// file with little memory, left as their JSON text ([`ScenarioText`]) and parsed a few
/// at a time.
#[derive(Debug, Clone, Deserialize)]
pub struct Scenario<S = ServerSpec> {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub locations: Vec<LocationSpec>,
    pub subnets: Vec<SubnetSpec>,
    pub accounts: Vec<AccountSpec>,
    pub servers: Vec<S>,
}

/// A scenario whose servers are still JSON text, borrowed from the file's text: the
/// servers of a scenario take several times the memory of their text once parsed.
pub type ScenarioText<'a> = Scenario<&'a RawValue>;

/// A server of a scenario, parsed or still text.
pub trait ServerSource {
    /// The server; `Err` says why its text is not a server.
    fn spec(&self) -> std::result::Result<Cow<'_, ServerSpec>, String>;
}

impl ServerSource for ServerSpec {
    fn spec(&self) -> std::result::Result<Cow<'_, ServerSpec>, String> {
        Ok(Cow::Borrowed(self))
    }
}

impl ServerSource for &RawValue {
    fn spec(&self) -> std::result::Result<Cow<'_, ServerSpec>, String> {
        serde_json::from_str(self.get())
            .map(Cow::Owned)
            .map_err(|e| format!("a server is invalid: {e}"))
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct LocationSpec {
    pub code: String,
    pub id: i64,
    pub name: String,
    pub dc_name: String,
    pub country: String,
    /// The company that sells this location's servers, one line per address line (the
    /// seller block of its invoices); none: the provider's own.
    #[serde(default)]
    pub company: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SubnetSpec {
    pub id: i64,
    pub location: String,
    /// `31.207.44.0/25`
    pub network: String,
    pub gateway: String,
    pub vlan: i64,
    /// public, ipmi, nat
    #[serde(default = "public")]
    pub kind: String,
    /// Which servers a public pool serves: `ovirt` (VMs) or `bm` (bare metal); empty for
    /// any. IPMI and NAT pools are tagged by their kind.
    #[serde(default)]
    pub tag: String,
}

impl SubnetSpec {
    /// The tag stored for this subnet.
    pub fn stored_tag(&self) -> &str {
        match self.kind.as_str() {
            "ipmi" | "nat" => &self.kind,
            _ => &self.tag,
        }
    }
}

fn public() -> String {
    "public".into()
}

#[derive(Debug, Clone, Deserialize)]
pub struct AccountSpec {
    pub id: i64,
    pub handle: String,
    pub whmcs_id: i64,
    pub email: String,
    /// The billing password, in clear (the fixture's documented credential); may be left
    /// out when `password_hash` is given.
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub pin: Option<String>,
    /// The password's argon2 PHC string, precomputed so that loading costs no hashing; used
    /// when its costs are the emulator's (`--argon2-memory-kib`), else `password` is hashed.
    #[serde(default)]
    pub password_hash: Option<String>,
    /// The PIN's PHC string, the same way.
    #[serde(default)]
    pub pin_hash: Option<String>,
    pub firstname: String,
    pub lastname: String,
    #[serde(default)]
    pub companyname: String,
    #[serde(default)]
    pub address1: String,
    #[serde(default)]
    pub address2: String,
    #[serde(default)]
    pub city: String,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub postcode: String,
    pub country: String,
    #[serde(default)]
    pub phonenumber: String,
    #[serde(default = "eur")]
    pub currency_code: String,
    /// Credit balance, e.g. "998.39".
    #[serde(default)]
    pub credit: String,
    #[serde(default)]
    pub corporate: i64,
    #[serde(default)]
    pub verified: Option<i64>,
    /// How long ago the account was opened; by default a month before its oldest server.
    #[serde(default)]
    pub created_days_ago: Option<i64>,
    /// The rest of the WHMCS client profile (whmcs/get_client): tax id, language, group,
    /// two-factor flag, e-mail preferences, custom fields...
    #[serde(default)]
    pub billing: Option<Value>,
    #[serde(default)]
    pub api_keys: Vec<ApiKeySpec>,
    #[serde(default)]
    pub tags: Vec<TagSpec>,
    /// F2HCloud scoped keys (issue 17), for the F2HCloud face.
    #[serde(default)]
    pub f2h_keys: Vec<F2hKeySpec>,
    /// Anti-hack bans in force on the account's servers when the scenario is loaded.
    #[serde(default)]
    pub f2h_bans: Vec<F2hBanSpec>,
}

/// An F2HCloud scoped key of a scenario.
#[derive(Debug, Clone, Deserialize)]
pub struct F2hKeySpec {
    /// The full key, `f2h.<16 hex>.<secret>` (stored as a digest of the secret).
    pub key: String,
    #[serde(default)]
    pub label: String,
    /// The servers it may act on, by hostname.
    pub servers: Vec<String>,
    /// The allow-list, one network per line.
    #[serde(default)]
    pub cidrs: String,
    pub capabilities: Vec<String>,
}

/// A fail2ban-style ban on one of the account's servers.
#[derive(Debug, Clone, Deserialize)]
pub struct F2hBanSpec {
    /// The server, by hostname.
    pub server: String,
    pub ip: String,
    #[serde(default = "sshd")]
    pub jail: String,
    /// Minutes until it expires, counted from the load.
    pub expires_in_minutes: i64,
}

fn sshd() -> String {
    "sshd".into()
}

fn eur() -> String {
    "EUR".into()
}

#[derive(Debug, Clone, Deserialize)]
pub struct ApiKeySpec {
    pub id: i64,
    pub name: String,
    /// The full key, `<16 hex>-<16 hex>`.
    pub key: String,
    #[serde(default)]
    pub server_id: i64,
    #[serde(default)]
    pub ip: String,
    #[serde(default = "none")]
    pub login_notify_method: String,
    #[serde(default)]
    pub login_notify_address: Option<String>,
    #[serde(default = "yes")]
    pub active: i64,
}

fn none() -> String {
    "none".into()
}
fn yes() -> i64 {
    1
}

#[derive(Debug, Clone, Deserialize)]
pub struct TagSpec {
    #[serde(default)]
    pub id: Option<i64>,
    pub tag: String,
    #[serde(default)]
    pub value: String,
    #[serde(default)]
    pub extra: String,
    /// A date in `extra` as Unix seconds, this many days before the scenario is loaded
    /// (e.g. when an e-mail address was verified), so that it moves with the data.
    #[serde(default)]
    pub extra_days_ago: Option<i64>,
    #[serde(default)]
    pub internal: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServerSpec {
    pub id: i64,
    /// Handle of the renting account; none = not rented.
    #[serde(default)]
    pub account: Option<String>,
    pub location: String,
    /// vm | bm
    pub kind: String,
    /// VPS, Dedicated, GPU
    #[serde(rename = "type")]
    pub server_type: String,
    #[serde(default = "rent")]
    pub status: String,
    #[serde(default = "on")]
    pub power: String,
    /// ovirt | ipmi | none
    pub control: String,
    #[serde(default)]
    pub ipmi_model: String,
    pub preset: String,
    #[serde(default)]
    pub preset_description: String,
    pub hardware: HardwareSpec,
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub licenses: Vec<Value>,
    #[serde(default)]
    pub os: Option<Value>,
    pub registered_days_ago: i64,
    /// Days to the next due date; by default the next renewal of the billing cycle after
    /// today (a negative value: overdue).
    #[serde(default)]
    pub days_left: Option<i64>,
    #[serde(default = "monthly")]
    pub billing_cycle: String,
    /// Recurring price, e.g. "9.00".
    pub recurring: String,
    #[serde(default)]
    pub limit_traffic: i64,
    #[serde(default = "thousand")]
    pub limit_bands: i64,
    #[serde(default)]
    pub cost_traffic: i64,
    #[serde(default)]
    pub traffic_in_gb: f64,
    #[serde(default)]
    pub traffic_out_gb: f64,
    pub interfaces: Vec<InterfaceSpec>,
    #[serde(default)]
    pub ipmi: Option<IpmiSpec>,
    #[serde(default)]
    pub tags: Vec<TagSpec>,
    /// A Hestia Control Panel installed on the server (issue 18).
    #[serde(default)]
    pub hestia: Option<HestiaSpec>,
}

/// A Hestia Control Panel on a scenario's server: its admin password and API switches
/// (hestia-protocol.md A.3, A.7). The panel is filled (admin user, packages, IPs) the first
/// time the Hestia face is asked for it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HestiaSpec {
    /// The admin password in clear, for the start-up banner only; the panel keeps
    /// `admin_password_hash`.
    #[serde(default)]
    pub admin_password: String,
    /// The admin password's argon2 PHC string, precomputed so that loading costs no hashing.
    pub admin_password_hash: String,
    /// `API`: `yes` or `no`.
    #[serde(default = "hestia_api")]
    pub api: String,
    /// `API_SYSTEM`: `0`, `1` or `2`.
    #[serde(default = "hestia_api_system")]
    pub api_system: String,
    /// `API_ALLOWED_IP`: comma list or `allow-all` (a fresh install's is empty).
    #[serde(default)]
    pub api_allowed_ip: String,
}

fn hestia_api() -> String {
    "yes".into()
}
fn hestia_api_system() -> String {
    "1".into()
}

fn rent() -> String {
    "rent".into()
}
fn on() -> String {
    "on".into()
}
fn monthly() -> String {
    "Monthly".into()
}
fn thousand() -> i64 {
    1000
}

#[derive(Debug, Clone, Deserialize)]
pub struct InterfaceSpec {
    pub id: i64,
    #[serde(rename = "type")]
    pub iface_type: String,
    pub mac: String,
    #[serde(default)]
    pub main: bool,
    #[serde(default)]
    pub virt: bool,
    #[serde(default)]
    pub switch_owner: String,
    #[serde(default)]
    pub switch_model: String,
    #[serde(default)]
    pub switch_port: String,
    #[serde(default = "thousand")]
    pub speed: i64,
    #[serde(default)]
    pub ips: Vec<IpSpec>,
    /// The port is switched off by HOSTKEY's abuse team, with this reason.
    #[serde(default)]
    pub admin_block: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct IpSpec {
    pub address: String,
    #[serde(default)]
    pub main: bool,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub license_id: Option<i64>,
    #[serde(default)]
    pub license_name: Option<String>,
    /// The address is blocked by HOSTKEY's abuse team, with this reason.
    #[serde(default)]
    pub admin_block: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct IpmiSpec {
    pub id: i64,
    pub ip: String,
    pub mac: String,
}

/// What the running emulator keeps of its scenario: the text (built in, or the file's as
/// read at start, so that a reset brings back exactly what was loaded), its name and its
/// first account (for the start-up banner). The servers are parsed again only to load them.
#[derive(Debug, Clone)]
pub struct ScenarioInfo {
    /// `demo` or the file's path, as given.
    pub label: String,
    pub text: Cow<'static, str>,
    pub name: String,
    pub first_account: Option<AccountSpec>,
    /// The first server's Hestia panel, if a server has one (for the start-up banner).
    pub hestia_demo: Option<HestiaSpec>,
}

impl ScenarioInfo {
    /// Reads and parses a scenario given by name (`demo`) or path; its servers are checked
    /// by [`Scenario::check`] or as they are loaded.
    pub fn read(name_or_path: &str) -> std::result::Result<ScenarioInfo, String> {
        let text = read_text(name_or_path)?;
        let sc = ScenarioText::parse(&text, name_or_path)?;
        let (name, first_account) = (sc.name.clone(), sc.accounts.first().cloned());
        let hestia_demo = first_hestia(&sc);
        drop(sc);
        Ok(ScenarioInfo {
            label: name_or_path.to_owned(),
            text,
            name,
            first_account,
            hestia_demo,
        })
    }

    /// The scenario, its servers as text.
    pub fn parse(&self) -> std::result::Result<ScenarioText<'_>, String> {
        ScenarioText::parse(&self.text, &self.label)
    }
}

/// The first server's Hestia panel; only servers that name one are parsed.
fn first_hestia(sc: &ScenarioText<'_>) -> Option<HestiaSpec> {
    #[derive(Deserialize)]
    struct Only {
        #[serde(default)]
        hestia: Option<HestiaSpec>,
    }
    sc.servers
        .iter()
        .filter(|s| s.get().contains("\"hestia\""))
        .find_map(|s| serde_json::from_str::<Only>(s.get()).ok()?.hestia)
}

/// The text of a scenario given by name (`demo`, built in) or path.
pub fn read_text(name_or_path: &str) -> std::result::Result<Cow<'static, str>, String> {
    if name_or_path == "demo" {
        Ok(Cow::Borrowed(DEMO))
    } else {
        std::fs::read_to_string(name_or_path)
            .map(Cow::Owned)
            .map_err(|e| format!("cannot read scenario {name_or_path}: {e}"))
    }
}

impl<'a> ScenarioText<'a> {
    /// Parses a scenario's text, leaving its servers as text (`label` names it in errors).
    pub fn parse(text: &'a str, label: &str) -> std::result::Result<Self, String> {
        serde_json::from_str(text).map_err(|e| format!("invalid scenario {label}: {e}"))
    }
}

impl Scenario {
    /// Parses a scenario given by name (`demo`) or path, and checks it.
    pub fn resolve(name_or_path: &str) -> std::result::Result<Scenario, String> {
        let text = read_text(name_or_path)?;
        let s: Scenario = serde_json::from_str(&text)
            .map_err(|e| format!("invalid scenario {name_or_path}: {e}"))?;
        s.check()?;
        Ok(s)
    }

    /// Days since an account was opened: as given, else a month before its oldest server.
    pub fn account_age_days(&self, a: &AccountSpec) -> i64 {
        a.created_days_ago.unwrap_or_else(|| {
            self.servers
                .iter()
                .filter(|s| s.account.as_deref() == Some(a.handle.as_str()))
                .map(|s| s.registered_days_ago)
                .max()
                .unwrap_or(0)
                + 30
        })
    }

    pub fn subnet_of(&self, addr: &str) -> Option<&SubnetSpec> {
        let ip: Ipv4Addr = addr.parse().ok()?;
        self.subnets.iter().find(|s| {
            s.network
                .parse::<Ipv4Net>()
                .map(|n| n.contains(&ip))
                .unwrap_or(false)
        })
    }
}

impl<S: ServerSource> Scenario<S> {
    /// Consistency rules: addresses inside a subnet of the server's location and never
    /// its network, gateway or broadcast address; unique MACs; known accounts and locations;
    /// accounts opened before their servers; day counts within [`MAX_DAYS`]. The servers
    /// are checked one at a time (see [`Checker`]).
    pub fn check(&self) -> std::result::Result<(), String> {
        let mut checker = self.checker()?;
        for (i, srv) in self.servers.iter().enumerate() {
            let spec = srv.spec().map_err(|e| format!("servers[{i}]: {e}"))?;
            checker.server(&spec)?;
        }
        Ok(())
    }

    /// Checks everything but the servers, and returns what checks them.
    pub fn checker(&self) -> std::result::Result<Checker<'_>, String> {
        for a in &self.accounts {
            let owner = format!("account {}", a.handle);
            within_days(&owner, "created_days_ago", a.created_days_ago)?;
            for t in &a.tags {
                within_days(&owner, "extra_days_ago", t.extra_days_ago)?;
            }
        }
        let mut subnets = Vec::with_capacity(self.subnets.len());
        for s in &self.subnets {
            let net: Ipv4Net = s
                .network
                .parse()
                .map_err(|_| format!("subnet {}: bad network {}", s.id, s.network))?;
            let gw: Ipv4Addr = s
                .gateway
                .parse()
                .map_err(|_| format!("subnet {}: bad gateway", s.id))?;
            if !net.contains(&gw) {
                return Err(format!("subnet {}: gateway {gw} outside {net}", s.id));
            }
            if !self.locations.iter().any(|l| l.code == s.location) {
                return Err(format!("subnet {}: unknown location {}", s.id, s.location));
            }
            subnets.push((net, s));
        }
        for a in &self.accounts {
            if a.password.is_empty() && a.password_hash.is_none() {
                return Err(format!(
                    "account {}: a password or password_hash is required",
                    a.handle
                ));
            }
            for (what, phc) in [
                ("password_hash", &a.password_hash),
                ("pin_hash", &a.pin_hash),
            ] {
                if let Some(phc) = phc {
                    if argon2::password_hash::PasswordHash::new(phc).is_err() {
                        return Err(format!(
                            "account {}: {what} is not an argon2 PHC string",
                            a.handle
                        ));
                    }
                }
            }
            for k in &a.api_keys {
                if !crate::domain::rules::well_formed_key(&k.key.to_ascii_lowercase()) {
                    return Err(format!(
                        "account {}: API key {} is not <16 hex>-<16 hex>",
                        a.handle, k.id
                    ));
                }
            }
        }
        Ok(Checker {
            accounts: self
                .accounts
                .iter()
                .map(|a| (a.handle.as_str(), a))
                .collect(),
            locations: self.locations.iter().map(|l| l.code.as_str()).collect(),
            subnets,
            macs: HashSet::new(),
            addrs: HashSet::new(),
            oldest: HashMap::new(),
        })
    }
}

/// Checks a scenario's servers one at a time, remembering what later servers are checked
/// against (MACs and addresses taken, each account's oldest server).
pub struct Checker<'s> {
    accounts: HashMap<&'s str, &'s AccountSpec>,
    locations: HashSet<&'s str>,
    subnets: Vec<(Ipv4Net, &'s SubnetSpec)>,
    macs: HashSet<String>,
    addrs: HashSet<String>,
    /// Per account handle, the most `registered_days_ago` of its servers so far.
    oldest: HashMap<String, i64>,
}

impl<'s> Checker<'s> {
    /// Checks one server against the scenario and the servers checked before it.
    pub fn server(&mut self, srv: &ServerSpec) -> std::result::Result<(), String> {
        let owner = format!("server {}", srv.id);
        if let Some(h) = &srv.hestia {
            if argon2::password_hash::PasswordHash::new(&h.admin_password_hash).is_err() {
                return Err(format!(
                    "{owner}: hestia.admin_password_hash is not an argon2 PHC string"
                ));
            }
            let switches_ok = matches!(h.api.as_str(), "yes" | "no")
                && matches!(h.api_system.as_str(), "0" | "1" | "2");
            if !switches_ok {
                return Err(format!(
                    "{owner}: hestia.api must be yes or no, hestia.api_system 0, 1 or 2"
                ));
            }
        }
        within_days(&owner, "registered_days_ago", Some(srv.registered_days_ago))?;
        within_days(&owner, "days_left", srv.days_left)?;
        for t in &srv.tags {
            within_days(&owner, "extra_days_ago", t.extra_days_ago)?;
        }
        if let Some(a) = &srv.account {
            let Some(acct) = self.accounts.get(a.as_str()) else {
                return Err(format!("server {}: unknown account {a}", srv.id));
            };
            // An account's age defaults to a month before its oldest server, so only a
            // given age can be too young.
            if acct
                .created_days_ago
                .is_some_and(|days| days < srv.registered_days_ago)
            {
                return Err(format!(
                    "server {}: registered before account {a} was opened",
                    srv.id
                ));
            }
            let oldest = self.oldest.entry(a.clone()).or_insert(0);
            *oldest = (*oldest).max(srv.registered_days_ago);
        }
        if !self.locations.contains(srv.location.as_str()) {
            return Err(format!(
                "server {}: unknown location {}",
                srv.id, srv.location
            ));
        }
        let mut all: Vec<(&str, bool)> = Vec::new();
        for i in &srv.interfaces {
            if !self.macs.insert(i.mac.to_ascii_lowercase()) {
                return Err(format!("server {}: duplicate MAC {}", srv.id, i.mac));
            }
            all.extend(i.ips.iter().map(|ip| (ip.address.as_str(), false)));
        }
        if let Some(ipmi) = &srv.ipmi {
            if !self.macs.insert(ipmi.mac.to_ascii_lowercase()) {
                return Err(format!("server {}: duplicate MAC {}", srv.id, ipmi.mac));
            }
            all.push((ipmi.ip.as_str(), true));
        }
        for (a, is_ipmi) in all {
            if !self.addrs.insert(a.to_owned()) {
                return Err(format!("server {}: address {a} used twice", srv.id));
            }
            let ip: Ipv4Addr = a
                .parse()
                .map_err(|_| format!("server {}: {a} is in no subnet", srv.id))?;
            let (net, sub) = self
                .subnet(ip)
                .ok_or_else(|| format!("server {}: {a} is in no subnet", srv.id))?;
            if sub.location != srv.location {
                return Err(format!(
                    "server {}: {a} belongs to a subnet in {}",
                    srv.id, sub.location
                ));
            }
            if is_ipmi != (sub.kind == "ipmi") {
                return Err(format!(
                    "server {}: {a} is in a {} subnet",
                    srv.id, sub.kind
                ));
            }
            let own_tag = crate::domain::rules::pool_tag(srv.kind == "vm");
            if !is_ipmi && !sub.tag.is_empty() && sub.tag != own_tag {
                return Err(format!(
                    "server {}: {a} is in a pool tagged {}, a {} server needs one tagged {own_tag}",
                    srv.id, sub.tag, srv.kind
                ));
            }
            if ip == net.network() || ip == net.broadcast() || a == sub.gateway {
                return Err(format!(
                    "server {}: {a} is a reserved address of {net}",
                    srv.id
                ));
            }
        }
        Ok(())
    }

    /// The subnet an address is in (the first that holds it, as listed).
    pub fn subnet(&self, ip: Ipv4Addr) -> Option<(Ipv4Net, &'s SubnetSpec)> {
        self.subnets
            .iter()
            .find(|(net, _)| net.contains(&ip))
            .map(|(net, s)| (*net, *s))
    }

    /// Days since an account was opened: as given, else a month before its oldest server
    /// among those checked so far.
    pub fn account_age_days(&self, a: &AccountSpec) -> i64 {
        a.created_days_ago
            .unwrap_or_else(|| self.oldest.get(&a.handle).copied().unwrap_or(0) + 30)
    }
}

impl ServerSpec {
    /// The next due date: `days_left` when given, else the first renewal of the billing
    /// cycle (counted in calendar months from the registration day) after today.
    pub fn due_date(&self, now: i64) -> i64 {
        let today = midnight(now);
        if let Some(days) = self.days_left {
            return today + days * 86400;
        }
        let months = match self.billing_cycle.to_ascii_lowercase().as_str() {
            "quarterly" => 3,
            "semi-annually" => 6,
            "annually" => 12,
            "biennially" => 24,
            _ => 1,
        };
        let reg = today - self.registered_days_ago * 86400;
        let Some(start) = chrono::DateTime::<chrono::Utc>::from_timestamp(reg, 0) else {
            return today + 30 * 86400;
        };
        (1..)
            .map_while(|n| start.checked_add_months(chrono::Months::new(months * n)))
            .map(|d| d.timestamp())
            .find(|d| *d > today)
            .unwrap_or(today + 30 * 86400)
    }
}

/// The most days a scenario's day counts may reach either way (a century), so that every
/// date derived from them stays far inside the range of Unix seconds.
pub const MAX_DAYS: i64 = 36_500;

/// Refuses a day count beyond [`MAX_DAYS`] (found by fuzzing: the loader's date arithmetic
/// overflowed).
fn within_days(owner: &str, field: &str, days: Option<i64>) -> std::result::Result<(), String> {
    match days {
        Some(d) if !(-MAX_DAYS..=MAX_DAYS).contains(&d) => Err(format!(
            "{owner}: {field} {d} is beyond {MAX_DAYS} days either way"
        )),
        _ => Ok(()),
    }
}

pub fn midnight(now: i64) -> i64 {
    now - now.rem_euclid(86400)
}

/// "998.39" -> 99839. What does not parse counts as 0; amounts beyond `i64` cents saturate.
pub fn parse_cents(s: &str) -> i64 {
    let s = s.trim();
    if s.is_empty() {
        return 0;
    }
    let neg = s.starts_with('-');
    let s = s.trim_start_matches('-');
    let (whole, frac) = s.split_once('.').unwrap_or((s, "0"));
    // The first two characters (not bytes: "1.€" must not split a character), padded.
    let frac: String = frac.chars().chain(std::iter::repeat('0')).take(2).collect();
    let v = whole
        .parse::<i64>()
        .unwrap_or(0)
        .saturating_mul(100)
        .saturating_add(frac.parse::<i64>().unwrap_or(0));
    if neg {
        -v
    } else {
        v
    }
}

/// 99839 -> "998.39"
pub fn format_cents(c: i64) -> String {
    let sign = if c < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", c.abs() / 100, c.abs() % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_secrets_are_checked() {
        let demo = || Scenario::resolve("demo").expect("demo");
        let mut sc = demo();
        sc.accounts[0].password_hash = Some("not a hash".into());
        let e = sc.check().expect_err("bad PHC");
        assert!(
            e.contains("password_hash is not an argon2 PHC string"),
            "{e}"
        );
        let mut sc = demo();
        sc.accounts[1].pin_hash = Some("argon2id:broken".into());
        assert!(sc.check().expect_err("bad PHC").contains("pin_hash"));
        let mut sc = demo();
        sc.accounts[0].password.clear();
        sc.accounts[0].password_hash = None;
        assert!(sc
            .check()
            .expect_err("no password")
            .contains("a password or password_hash is required"));
        // A precomputed hash alone is enough.
        let mut sc = demo();
        sc.accounts[0].password.clear();
        sc.check().expect("the hash stands in for the password");
    }

    #[test]
    fn demo_due_dates_follow_the_billing_cycle_and_accounts_predate_their_servers() {
        let sc = Scenario::resolve("demo").expect("demo");
        let now = 1_796_000_000; // a fixed moment in late 2026
        let today = midnight(now);
        for srv in &sc.servers {
            let due = srv.due_date(now);
            if let Some(days) = srv.days_left {
                assert_eq!(due, today + days * 86400, "server {}", srv.id);
                continue;
            }
            assert!(due > today, "server {}: the next due date is ahead", srv.id);
            let months = match srv.billing_cycle.as_str() {
                "Quarterly" => 3,
                "Annually" => 12,
                _ => 1,
            };
            let reg = chrono::DateTime::<chrono::Utc>::from_timestamp(
                today - srv.registered_days_ago * 86400,
                0,
            )
            .expect("date");
            let renewals = (1..200).any(|n| {
                reg.checked_add_months(chrono::Months::new(months * n))
                    .is_some_and(|d| d.timestamp() == due)
            });
            assert!(renewals, "server {}: due on a renewal day", srv.id);
            assert!(
                due - today <= i64::from(months) * 31 * 86400,
                "server {}: within one cycle",
                srv.id
            );
            let acct = sc
                .accounts
                .iter()
                .find(|a| Some(a.handle.as_str()) == srv.account.as_deref())
                .expect("account");
            assert!(sc.account_age_days(acct) >= srv.registered_days_ago);
        }
    }

    #[test]
    fn money_round_trips() {
        assert_eq!(parse_cents("998.39"), 99839);
        assert_eq!(parse_cents("9"), 900);
        assert_eq!(parse_cents("-5.5"), -550);
        assert_eq!(format_cents(99839), "998.39");
        assert_eq!(format_cents(-550), "-5.50");
    }

    /// Found by fuzzing the scenario loader: a price or credit with a multi-byte character
    /// after the point sliced a character in two, and a huge amount overflowed.
    #[test]
    fn odd_amounts_parse_without_panicking() {
        assert_eq!(parse_cents("1.€"), 100);
        assert_eq!(parse_cents("92233720368547758.07"), i64::MAX);
        assert_eq!(parse_cents("-92233720368547758.07"), -i64::MAX);
    }

    /// Found by fuzzing the scenario loader: a day count near `i64::MAX` overflowed the
    /// loader's date arithmetic; the check now refuses day counts beyond a century.
    #[test]
    fn day_counts_beyond_a_century_are_refused() {
        let mut sc = Scenario::resolve("demo").expect("demo");
        sc.servers[0].registered_days_ago = MAX_DAYS;
        sc.accounts
            .iter_mut()
            .for_each(|a| a.created_days_ago = Some(MAX_DAYS));
        assert!(sc.check().is_ok(), "a century is fine");
        sc.servers[0].days_left = Some(i64::MAX);
        let id = sc.servers[0].id;
        assert_eq!(
            sc.check(),
            Err(format!(
                "server {id}: days_left {} is beyond 36500 days either way",
                i64::MAX
            ))
        );
        sc.servers[0].days_left = None;
        sc.accounts[0].created_days_ago = Some(-MAX_DAYS - 1);
        assert!(sc
            .check()
            .expect_err("refused")
            .contains("created_days_ago"));
    }

    #[test]
    fn the_demo_scenario_is_consistent() {
        let s = Scenario::resolve("demo").expect("demo parses and passes its checks");
        assert!(s.servers.len() >= 8);
        let demo = s
            .accounts
            .iter()
            .find(|a| a.handle == "demo")
            .expect("demo account");
        assert_eq!(demo.email, "demo@hostkey-emu.local");
        assert!(demo
            .api_keys
            .iter()
            .any(|k| k.key == "deadbeef00000001-0123456789abcdef" && k.server_id == 0));
        let server_key = demo
            .api_keys
            .iter()
            .find(|k| k.key == "deadbeef00000002-0123456789abcdef")
            .expect("per-server key");
        assert!(s
            .servers
            .iter()
            .any(|x| x.id == server_key.server_id && x.account.as_deref() == Some("demo")));
        for c in ["ovirt", "ipmi", "none"] {
            assert!(
                s.servers.iter().any(|x| x.control == c),
                "a server with control {c}"
            );
        }
    }

    #[test]
    fn a_scenario_file_is_read_and_checked() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("s.json");
        let mut v: serde_json::Value = serde_json::from_str(DEMO).expect("demo json");
        v["name"] = serde_json::json!("custom");
        std::fs::write(&path, v.to_string()).expect("write");
        let s = Scenario::resolve(path.to_str().expect("utf8")).expect("custom scenario");
        assert_eq!(s.name, "custom");
        // A server address outside every subnet is refused with a clear message.
        v["servers"][0]["interfaces"][0]["ips"][0]["address"] = serde_json::json!("203.0.113.7");
        std::fs::write(&path, v.to_string()).expect("write");
        let e = Scenario::resolve(path.to_str().expect("utf8")).expect_err("inconsistent");
        assert!(e.contains("203.0.113.7 is in no subnet"), "{e}");
        // So are a malformed API key, a VM in a bare-metal pool and a server older than
        // its account.
        let mut bad = serde_json::from_str::<serde_json::Value>(DEMO).expect("demo json");
        bad["accounts"][0]["api_keys"][0]["key"] = serde_json::json!("short");
        std::fs::write(&path, bad.to_string()).expect("write");
        let e = Scenario::resolve(path.to_str().expect("utf8")).expect_err("bad key");
        assert!(e.contains("is not <16 hex>-<16 hex>"), "{e}");
        let mut bad = serde_json::from_str::<serde_json::Value>(DEMO).expect("demo json");
        bad["servers"][0]["interfaces"][0]["ips"][1]["address"] = serde_json::json!("5.39.218.90");
        std::fs::write(&path, bad.to_string()).expect("write");
        let e = Scenario::resolve(path.to_str().expect("utf8")).expect_err("pool");
        assert!(e.contains("a vm server needs one tagged ovirt"), "{e}");
        let mut bad = serde_json::from_str::<serde_json::Value>(DEMO).expect("demo json");
        bad["accounts"][0]["created_days_ago"] = serde_json::json!(10);
        std::fs::write(&path, bad.to_string()).expect("write");
        let e = Scenario::resolve(path.to_str().expect("utf8")).expect_err("age");
        assert!(
            e.contains("registered before account demo was opened"),
            "{e}"
        );
        let e = Scenario::resolve("/nonexistent/scenario.json").expect_err("missing");
        assert!(e.starts_with("cannot read scenario"));
    }
}
