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
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::domain::hardware::HardwareSpec;

pub mod large;

/// The built-in demo scenario.
pub const DEMO: &str = include_str!("../../seeds/demo.json");

/// A hostkey-emu scenario: the locations, subnets, accounts and servers an empty database
/// is filled with. Dates are relative to the moment it is loaded; secrets are given in
/// clear (they are fixtures) and stored only as hashes and digests.
//
// In the emulator, its servers are parsed ([`ServerSpec`]) or, for loading a big file
// with little memory, left as their JSON text ([`ScenarioText`]) and parsed a few at a
// time.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(rename = "Scenario")]
pub struct Scenario<S = ServerSpec> {
    /// The scenario's name (`/_emu/health` and the start-up banner show it).
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The data centres; servers and subnets name them by `code`.
    pub locations: Vec<LocationSpec>,
    /// The address pools; every server address must be inside one of its location.
    pub subnets: Vec<SubnetSpec>,
    /// The customers; the first one is shown in the start-up banner.
    pub accounts: Vec<AccountSpec>,
    /// The servers, rented (`account`) or in stock.
    pub servers: Vec<S>,
    /// Fault rules in force from the start (the rules of `POST /_emu/faults`; README,
    /// "Injected faults"); checked when the emulator starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faults: Option<Vec<Value>>,
}

/// A scenario whose servers are still JSON text, borrowed from the file's text: the
/// servers of a scenario take several times the memory of their text once parsed.
pub type ScenarioText<'a> = Scenario<&'a RawValue>;

/// A server of a scenario, parsed or still text.
pub trait ServerSource {
    /// The server; `Err` says why its text is not a server, with the path of the bad
    /// field inside the server.
    fn spec(&self) -> std::result::Result<Cow<'_, ServerSpec>, FieldError>;
}

impl ServerSource for ServerSpec {
    fn spec(&self) -> std::result::Result<Cow<'_, ServerSpec>, FieldError> {
        Ok(Cow::Borrowed(self))
    }
}

impl ServerSource for &RawValue {
    fn spec(&self) -> std::result::Result<Cow<'_, ServerSpec>, FieldError> {
        from_json(self.get(), false).map(Cow::Owned)
    }
}

/// A data centre (location/list).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub struct LocationSpec {
    /// Short code (`NL`), unique; what servers and subnets name.
    pub code: String,
    /// location_id of the API.
    pub id: i64,
    pub name: String,
    /// The data centre's name as the API shows it.
    pub dc_name: String,
    /// ISO country code.
    pub country: String,
    /// The company that sells this location's servers, one line per address line (the
    /// seller block of its invoices); none: the provider's own.
    #[serde(default)]
    pub company: Vec<String>,
}

/// An IPv4 address pool of a location.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub struct SubnetSpec {
    /// subnet_id of the API, unique.
    pub id: i64,
    /// The location's `code`.
    pub location: String,
    /// The network, `a.b.c.d/n` (`31.207.44.0/25`).
    pub network: String,
    /// The gateway, an address inside the network (never given to a server).
    pub gateway: String,
    pub vlan: i64,
    /// `public`, `ipmi` (servers' IPMI addresses) or `nat`.
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

/// A customer account.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub struct AccountSpec {
    /// customer_id of the API, unique.
    pub id: i64,
    /// The name servers use to say whose they are (`account`), unique.
    pub handle: String,
    /// The WHMCS client id, unique.
    pub whmcs_id: i64,
    /// The billing login (whmcs), unique.
    pub email: String,
    /// The billing password, in clear (the fixture's documented credential); may be left
    /// out when `password_hash` is given.
    #[serde(default)]
    pub password: String,
    /// The PIN some actions ask for, in clear; none: no PIN set.
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
    /// InvAPI keys (auth.php login with `key`).
    #[serde(default)]
    pub api_keys: Vec<ApiKeySpec>,
    /// The account's tags (tags.php, component `customers`).
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
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
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
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
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

/// An InvAPI key of an account.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub struct ApiKeySpec {
    /// api_keys' id, unique.
    pub id: i64,
    pub name: String,
    /// The full key, `<16 hex>-<16 hex>`.
    pub key: String,
    /// The one server the key may act on; 0: all the account's servers.
    #[serde(default)]
    pub server_id: i64,
    /// Allow-list of client addresses, space separated; empty: anywhere.
    #[serde(default)]
    pub ip: String,
    /// `none`, `email` or `webhook`.
    #[serde(default = "none")]
    pub login_notify_method: String,
    #[serde(default)]
    pub login_notify_address: Option<String>,
    /// 1: usable, 0: disabled.
    #[serde(default = "yes")]
    pub active: i64,
}

fn none() -> String {
    "none".into()
}
fn yes() -> i64 {
    1
}

/// A tag (tags.php) of an account or a server: `hostname` names a server.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub struct TagSpec {
    /// The tag's id, unique; none: numbered by the database.
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
    /// 1: set by HOSTKEY, read-only to the customer.
    #[serde(default)]
    pub internal: i64,
}

/// A server: a VM (`vm`) or a bare-metal server (`bm`).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub struct ServerSpec {
    /// The server's id in the API, unique.
    pub id: i64,
    /// Handle of the renting account; none = not rented.
    #[serde(default)]
    pub account: Option<String>,
    /// The location's `code`.
    pub location: String,
    /// `vm` or `bm`.
    pub kind: String,
    /// VPS, Dedicated, GPU
    #[serde(rename = "type")]
    pub server_type: String,
    /// `rent`, or `power_off` (suspended).
    #[serde(default = "rent")]
    pub status: String,
    /// `on` or `off`.
    #[serde(default = "on")]
    pub power: String,
    /// How it is powered and reinstalled: `ovirt`, `ipmi` or `none`.
    pub control: String,
    /// IPMI.model of eq/show: `ovirt`, `Supermicro`, `iDRAC9`...
    #[serde(default)]
    pub ipmi_model: String,
    /// The preset (catalogue) name, e.g. `vm.mini`.
    pub preset: String,
    #[serde(default)]
    pub preset_description: String,
    pub hardware: HardwareSpec,
    /// Group codes (eq/list `group=`).
    #[serde(default)]
    pub groups: Vec<String>,
    /// eq/show `licenses`, as the API shows them.
    #[serde(default)]
    pub licenses: Vec<Value>,
    /// The installed system, `{"id": 187, "name": "Ubuntu 22.04"}`; none: not installed.
    #[serde(default)]
    pub os: Option<Value>,
    /// Days between the registration and the load (at most 36500).
    pub registered_days_ago: i64,
    /// Days to the next due date; by default the next renewal of the billing cycle after
    /// today (a negative value: overdue).
    #[serde(default)]
    pub days_left: Option<i64>,
    /// `Monthly`, `Quarterly`, `Semi-Annually`, `Annually` or `Biennially`.
    #[serde(default = "monthly")]
    pub billing_cycle: String,
    /// Recurring price, e.g. "9.00".
    pub recurring: String,
    /// Outbound traffic included, in TB.
    #[serde(default)]
    pub limit_traffic: i64,
    /// Port speed limit, Mbit/s.
    #[serde(default = "thousand")]
    pub limit_bands: i64,
    #[serde(default)]
    pub cost_traffic: i64,
    /// Traffic this month so far.
    #[serde(default)]
    pub traffic_in_gb: f64,
    #[serde(default)]
    pub traffic_out_gb: f64,
    /// The network ports and their addresses.
    pub interfaces: Vec<InterfaceSpec>,
    /// The IPMI port of a bare-metal server.
    #[serde(default)]
    pub ipmi: Option<IpmiSpec>,
    /// The server's tags (tags.php, component `eq`); `hostname` is its name.
    #[serde(default)]
    pub tags: Vec<TagSpec>,
    /// A Hestia Control Panel installed on the server (issue 18).
    #[serde(default)]
    pub hestia: Option<HestiaSpec>,
}

/// A Hestia Control Panel on a scenario's server: its admin password and API switches
/// (hestia-protocol.md A.3, A.7). The panel is filled (admin user, packages, IPs) the first
/// time the Hestia face is asked for it.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
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

/// A network port of a server.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub struct InterfaceSpec {
    /// The port's id, unique.
    pub id: i64,
    /// `eth0`, `eth1`...; unique per server.
    #[serde(rename = "type")]
    pub iface_type: String,
    /// `56:6f:3a:19:c4:07`; unique in the scenario.
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

/// An address of a port.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub struct IpSpec {
    /// An IPv4 address inside a subnet of the server's location (a pool tagged for its
    /// kind, if tagged), not its network, gateway or broadcast address; unique.
    pub address: String,
    /// The server's main address.
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

/// The IPMI port of a bare-metal server.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub struct IpmiSpec {
    /// The port's id, unique among ports.
    pub id: i64,
    /// An address in an `ipmi` subnet of the server's location.
    pub ip: String,
    /// Unique in the scenario, like the ports'.
    pub mac: String,
}

/// What the running emulator keeps of its scenario: the text (built in, or the file's as
/// read at start, so that a reset brings back exactly what was loaded), its name and its
/// first account (for the start-up banner). The servers are parsed again only to load them.
/// A generated scenario (`large:N`) keeps the text of everything but its servers, and how
/// many servers to generate when it is loaded.
#[derive(Debug, Clone)]
pub struct ScenarioInfo {
    /// `demo`, `large:N` or the file's path, as given.
    pub label: String,
    pub text: Cow<'static, str>,
    pub name: String,
    pub first_account: Option<AccountSpec>,
    /// The first server's Hestia panel, if a server has one (for the start-up banner).
    pub hestia_demo: Option<HestiaSpec>,
    /// `large:N`: the servers are generated (see [`large`]), not in `text`.
    pub generated: Option<u32>,
}

impl ScenarioInfo {
    /// Reads and parses a scenario given by name (`demo`, `large:N`) or path; its servers
    /// are checked by [`Scenario::check`] or as they are loaded.
    pub fn read(name_or_path: &str) -> std::result::Result<ScenarioInfo, String> {
        let source = ScenarioSource::read(name_or_path)?;
        let head = ScenarioHead::of(&source.parse()?);
        Ok(source.into_info(head))
    }

    /// The scenario, its servers as text (none for a generated scenario: see
    /// [`ScenarioInfo::generated`]).
    pub fn parse(&self) -> std::result::Result<ScenarioText<'_>, String> {
        ScenarioText::parse(&self.text, &self.label)
    }
}

/// A scenario's text as read, before it is parsed: for a caller that parses it once and
/// keeps a [`ScenarioInfo`] afterwards (the emulator's start loads the servers from the
/// same parse).
pub struct ScenarioSource {
    label: String,
    text: Cow<'static, str>,
    generated: Option<u32>,
}

impl ScenarioSource {
    /// The text of a scenario given by name (`demo`, `large:N`) or path.
    pub fn read(name_or_path: &str) -> std::result::Result<ScenarioSource, String> {
        let (text, generated) = match large::count(name_or_path) {
            Some(n) => {
                let n = n?;
                (Cow::Owned(large::frame_text(n)), Some(n))
            }
            None => (read_text(name_or_path)?, None),
        };
        Ok(ScenarioSource {
            label: name_or_path.to_owned(),
            text,
            generated,
        })
    }

    /// `large:N`: how many servers are generated (see [`large`]).
    pub fn generated(&self) -> Option<u32> {
        self.generated
    }

    /// The scenario, its servers as text.
    pub fn parse(&self) -> std::result::Result<ScenarioText<'_>, String> {
        ScenarioText::parse(&self.text, &self.label)
    }

    /// What the emulator keeps, with the summary taken from this text's parse.
    pub fn into_info(self, head: ScenarioHead) -> ScenarioInfo {
        ScenarioInfo {
            label: self.label,
            text: self.text,
            name: head.name,
            first_account: head.first_account,
            hestia_demo: head.hestia_demo,
            generated: self.generated,
        }
    }
}

/// What [`ScenarioInfo`] keeps of a parsed scenario besides its text.
pub struct ScenarioHead {
    name: String,
    first_account: Option<AccountSpec>,
    hestia_demo: Option<HestiaSpec>,
}

impl ScenarioHead {
    pub fn of(sc: &ScenarioText<'_>) -> ScenarioHead {
        ScenarioHead {
            name: sc.name.clone(),
            first_account: sc.accounts.first().cloned(),
            hestia_demo: first_hestia(sc),
        }
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

/// The JSON Schema (draft 2020-12) of a scenario file, derived from these types: what
/// `GET /_emu/scenario.schema.json` serves and `docs/scenario.schema.json` holds.
pub fn schema() -> Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(Scenario)).unwrap_or_default();
    if let Some(root) = schema.as_object_mut() {
        root.insert("title".into(), "hostkey-emu scenario".into());
    }
    schema
}

/// [`schema`] as the text of `docs/scenario.schema.json` (pretty, ending in a newline).
pub fn schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&schema()).unwrap_or_default();
    text.push('\n');
    text
}

/// What is wrong with a scenario, and where: `path` is the bad field's, as in
/// `servers[3].interfaces[0].mac` (empty for the whole document).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub path: String,
    pub message: String,
}

impl FieldError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            path: path.into(),
            message: message.into(),
        }
    }

    /// The same error, its path inside `prefix` (`servers[3]` + `mac`: `servers[3].mac`).
    pub fn under(self, prefix: &str) -> FieldError {
        let path = match self.path.as_str() {
            "" => prefix.to_owned(),
            p if p.starts_with('[') => format!("{prefix}{p}"),
            p => format!("{prefix}.{p}"),
        };
        FieldError { path, ..self }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl From<FieldError> for String {
    fn from(e: FieldError) -> String {
        e.to_string()
    }
}

/// Parses JSON text into `T`; an error names the path of the field that did not parse
/// (`servers[3].interfaces[0].mac: invalid type: integer `7`, expected a string at line 40
/// column 17`). `positions`: keep serde's line and column (meaningless for a server
/// parsed on its own, whose text is a slice of the file's).
pub fn from_json<'a, T: Deserialize<'a>>(
    text: &'a str,
    positions: bool,
) -> std::result::Result<T, FieldError> {
    let de = &mut serde_json::Deserializer::from_str(text);
    let fail = |path: String, e: serde_json::Error| {
        let mut message = e.to_string();
        if !positions {
            if let Some(at) = message.rfind(" at line ") {
                message.truncate(at);
            }
        }
        let path = if path == "." { String::new() } else { path };
        FieldError::new(path, message)
    };
    // Text that parses (nearly always) parses without tracking the path: the tracker keeps
    // a copy of every key it passes, which made up much of a big scenario's parsing. Only
    // a failure is parsed again, to name the path.
    let mut fast = serde_json::Deserializer::from_str(text);
    if let Ok(value) = T::deserialize(&mut fast) {
        if fast.end().is_ok() {
            return Ok(value);
        }
    }
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        let path = e.path().to_string();
        fail(path, e.into_inner())
    })?;
    de.end().map_err(|e| fail(String::new(), e))?;
    Ok(value)
}

impl<'a> ScenarioText<'a> {
    /// Parses a scenario's text, leaving its servers as text (`label` names it in errors).
    pub fn parse(text: &'a str, label: &str) -> std::result::Result<Self, String> {
        from_json(text, true).map_err(|e| format!("invalid scenario {label}: {e}"))
    }
}

impl<S> Scenario<S> {
    /// The same scenario with other servers (a generated scenario's, see [`large`]).
    pub fn with_servers<T>(self, servers: Vec<T>) -> Scenario<T> {
        Scenario {
            name: self.name,
            description: self.description,
            locations: self.locations,
            subnets: self.subnets,
            accounts: self.accounts,
            servers,
            faults: self.faults,
        }
    }
}

impl Scenario {
    /// Parses a scenario given by name (`demo`, `large:N`) or path, and checks it.
    pub fn resolve(name_or_path: &str) -> std::result::Result<Scenario, String> {
        if let Some(n) = large::count(name_or_path) {
            let s = large::scenario(n?);
            s.check()?;
            return Ok(s);
        }
        let text = read_text(name_or_path)?;
        let s: Scenario =
            from_json(&text, true).map_err(|e| format!("invalid scenario {name_or_path}: {e}"))?;
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
    /// its network, gateway or broadcast address; well-formed and unique MACs; known
    /// accounts and locations; accounts opened before their servers; day counts within
    /// [`MAX_DAYS`]. The servers are checked one at a time (see [`Checker`]). The error
    /// names the bad field's path (`servers[3].interfaces[0].mac: invalid MAC "zz"`).
    pub fn check(&self) -> std::result::Result<(), String> {
        match self.problems(1).into_iter().next() {
            Some(e) => Err(e.to_string()),
            None => Ok(()),
        }
    }

    /// Every rule broken, up to `most` of them (at most one per server), in the order of
    /// the document.
    pub fn problems(&self, most: usize) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let mut checker = self.checker_noting(&mut errors);
        for (i, srv) in self.servers.iter().enumerate() {
            if errors.len() >= most {
                break;
            }
            let checked = srv
                .spec()
                .map_err(|e| e.under(&format!("servers[{i}]")))
                .and_then(|spec| checker.server(i, &spec));
            if let Err(e) = checked {
                errors.push(e);
            }
        }
        errors.truncate(most);
        errors
    }

    /// Checks everything but the servers, and returns what checks them.
    pub fn checker(&self) -> std::result::Result<Checker<'_>, String> {
        let mut errors = Vec::new();
        let checker = self.checker_noting(&mut errors);
        match errors.into_iter().next() {
            Some(e) => Err(e.to_string()),
            None => Ok(checker),
        }
    }

    /// Checks everything but the servers, noting what is wrong in `errors`, and returns
    /// what checks them (a bad subnet is left out of it).
    fn checker_noting(&self, errors: &mut Vec<FieldError>) -> Checker<'_> {
        let mut note = |path: String, message: String| errors.push(FieldError::new(path, message));
        let mut locations = HashSet::new();
        for (i, l) in self.locations.iter().enumerate() {
            if !locations.insert(l.code.as_str()) {
                note(
                    format!("locations[{i}].code"),
                    format!("duplicate location {:?}", l.code),
                );
            }
        }
        let mut subnets = Vec::with_capacity(self.subnets.len());
        for (i, s) in self.subnets.iter().enumerate() {
            let at = |field: &str| format!("subnets[{i}].{field}");
            let Ok(net) = s.network.parse::<Ipv4Net>() else {
                note(
                    at("network"),
                    format!("invalid network {:?} (expected a.b.c.d/n)", s.network),
                );
                continue;
            };
            let Ok(gw) = s.gateway.parse::<Ipv4Addr>() else {
                note(
                    at("gateway"),
                    format!("invalid gateway {:?} (expected an IPv4 address)", s.gateway),
                );
                continue;
            };
            if !net.contains(&gw) {
                note(at("gateway"), format!("gateway {gw} outside {net}"));
                continue;
            }
            if !locations.contains(s.location.as_str()) {
                note(at("location"), format!("unknown location {:?}", s.location));
                continue;
            }
            if !["public", "ipmi", "nat"].contains(&s.kind.as_str()) {
                note(
                    at("kind"),
                    format!("unknown kind {:?} (public, ipmi or nat)", s.kind),
                );
            }
            subnets.push((net, s));
        }
        for (i, a) in self.accounts.iter().enumerate() {
            let at = |field: &str| format!("accounts[{i}].{field}");
            if let Err(e) = within_days(a.created_days_ago) {
                note(at("created_days_ago"), e);
            }
            for (j, t) in a.tags.iter().enumerate() {
                if let Err(e) = within_days(t.extra_days_ago) {
                    note(at(&format!("tags[{j}].extra_days_ago")), e);
                }
            }
            if a.password.is_empty() && a.password_hash.is_none() {
                note(
                    at("password"),
                    "a password or password_hash is required".into(),
                );
            }
            for (what, phc) in [
                ("password_hash", &a.password_hash),
                ("pin_hash", &a.pin_hash),
            ] {
                if let Some(phc) = phc {
                    if argon2::password_hash::PasswordHash::new(phc).is_err() {
                        note(at(what), format!("{what} is not an argon2 PHC string"));
                    }
                }
            }
            for (j, k) in a.api_keys.iter().enumerate() {
                if !crate::domain::rules::well_formed_key(&k.key.to_ascii_lowercase()) {
                    note(
                        at(&format!("api_keys[{j}].key")),
                        format!("API key {} is not <16 hex>-<16 hex>", k.id),
                    );
                }
            }
            for (j, k) in a.f2h_keys.iter().enumerate() {
                if crate::domain::f2h::parse_key(&k.key).is_none() {
                    note(
                        at(&format!("f2h_keys[{j}].key")),
                        "key is not f2h.<16 hex>.<secret>".into(),
                    );
                }
            }
            for (j, b) in a.f2h_bans.iter().enumerate() {
                if b.ip.parse::<std::net::IpAddr>().is_err() {
                    note(
                        at(&format!("f2h_bans[{j}].ip")),
                        format!("{:?} is no IP address", b.ip),
                    );
                }
            }
        }
        Checker {
            accounts: self
                .accounts
                .iter()
                .map(|a| (a.handle.as_str(), a))
                .collect(),
            locations,
            subnets,
            macs: HashSet::new(),
            addrs: HashSet::new(),
            oldest: HashMap::new(),
        }
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

/// Is this a MAC address as the API shows them (`56:6f:3a:19:c4:07`)?
pub fn well_formed_mac(mac: &str) -> bool {
    let parts: Vec<&str> = mac.split(':').collect();
    parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

impl<'s> Checker<'s> {
    /// Checks one server (the `index`th of the scenario's, for the error's path) against
    /// the scenario and the servers checked before it.
    pub fn server(
        &mut self,
        index: usize,
        srv: &ServerSpec,
    ) -> std::result::Result<(), FieldError> {
        self.server_fields(srv).map_err(|(path, message)| {
            FieldError::new(path, message).under(&format!("servers[{index}]"))
        })
    }

    /// [`Checker::server`], the error's path relative to the server.
    fn server_fields(&mut self, srv: &ServerSpec) -> std::result::Result<(), (String, String)> {
        let field = |f: &str, e: String| (f.to_owned(), e);
        if let Some(h) = &srv.hestia {
            if argon2::password_hash::PasswordHash::new(&h.admin_password_hash).is_err() {
                return Err(field(
                    "hestia.admin_password_hash",
                    "not an argon2 PHC string".to_owned(),
                ));
            }
            if !matches!(h.api.as_str(), "yes" | "no") {
                return Err(field(
                    "hestia.api",
                    format!("{:?} is not one of yes, no", h.api),
                ));
            }
            if !matches!(h.api_system.as_str(), "0" | "1" | "2") {
                return Err(field(
                    "hestia.api_system",
                    format!("{:?} is not one of 0, 1, 2", h.api_system),
                ));
            }
        }
        within_days(Some(srv.registered_days_ago)).map_err(|e| field("registered_days_ago", e))?;
        within_days(srv.days_left).map_err(|e| field("days_left", e))?;
        for (j, t) in srv.tags.iter().enumerate() {
            within_days(t.extra_days_ago).map_err(|e| (format!("tags[{j}].extra_days_ago"), e))?;
        }
        for (name, value, allowed) in [
            ("kind", &srv.kind, &["vm", "bm"][..]),
            ("control", &srv.control, &["ovirt", "ipmi", "none"][..]),
            ("power", &srv.power, &["on", "off"][..]),
        ] {
            if !allowed.contains(&value.as_str()) {
                return Err(field(
                    name,
                    format!("{value:?} is not one of {}", allowed.join(", ")),
                ));
            }
        }
        if let Some(a) = &srv.account {
            let Some(acct) = self.accounts.get(a.as_str()) else {
                return Err(field("account", format!("unknown account {a:?}")));
            };
            // An account's age defaults to a month before its oldest server, so only a
            // given age can be too young.
            if acct
                .created_days_ago
                .is_some_and(|days| days < srv.registered_days_ago)
            {
                return Err(field(
                    "registered_days_ago",
                    format!("server {} registered before account {a} was opened", srv.id),
                ));
            }
            let oldest = self.oldest.entry(a.clone()).or_insert(0);
            *oldest = (*oldest).max(srv.registered_days_ago);
        }
        if !self.locations.contains(srv.location.as_str()) {
            return Err(field(
                "location",
                format!("unknown location {:?}", srv.location),
            ));
        }
        // Every address with its path and whether it is an IPMI address.
        let mut all: Vec<(String, &str, bool)> = Vec::new();
        for (j, i) in srv.interfaces.iter().enumerate() {
            let mac_path = format!("interfaces[{j}].mac");
            if !well_formed_mac(&i.mac) {
                return Err((mac_path, format!("invalid MAC {:?}", i.mac)));
            }
            if !self.macs.insert(i.mac.to_ascii_lowercase()) {
                return Err((mac_path, format!("duplicate MAC {}", i.mac)));
            }
            all.extend(i.ips.iter().enumerate().map(|(k, ip)| {
                (
                    format!("interfaces[{j}].ips[{k}].address"),
                    ip.address.as_str(),
                    false,
                )
            }));
        }
        if let Some(ipmi) = &srv.ipmi {
            if !well_formed_mac(&ipmi.mac) {
                return Err(field("ipmi.mac", format!("invalid MAC {:?}", ipmi.mac)));
            }
            if !self.macs.insert(ipmi.mac.to_ascii_lowercase()) {
                return Err(field("ipmi.mac", format!("duplicate MAC {}", ipmi.mac)));
            }
            all.push(("ipmi.ip".to_owned(), ipmi.ip.as_str(), true));
        }
        for (path, a, is_ipmi) in all {
            let fail = |message: String| Err((path.clone(), message));
            let Ok(ip) = a.parse::<Ipv4Addr>() else {
                return fail(format!("invalid IPv4 address {a:?}"));
            };
            if !self.addrs.insert(a.to_owned()) {
                return fail(format!("address {a} used twice"));
            }
            let Some((net, sub)) = self.subnet(ip) else {
                return fail(format!("{a} is in no subnet"));
            };
            if sub.location != srv.location {
                return fail(format!("{a} belongs to a subnet in {}", sub.location));
            }
            if is_ipmi != (sub.kind == "ipmi") {
                return fail(format!("{a} is in a {} subnet", sub.kind));
            }
            let own_tag = crate::domain::rules::pool_tag(srv.kind == "vm");
            if !is_ipmi && !sub.tag.is_empty() && sub.tag != own_tag {
                return fail(format!(
                    "{a} is in a pool tagged {}, a {} server needs one tagged {own_tag}",
                    sub.tag, srv.kind
                ));
            }
            if ip == net.network() || ip == net.broadcast() || a == sub.gateway {
                return fail(format!("{a} is a reserved address of {net}"));
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
fn within_days(days: Option<i64>) -> std::result::Result<(), String> {
    match days {
        Some(d) if !(-MAX_DAYS..=MAX_DAYS).contains(&d) => {
            Err(format!("{d} is beyond {MAX_DAYS} days either way"))
        }
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
    fn errors_name_the_path_of_the_bad_field() {
        let mut v: serde_json::Value = serde_json::from_str(DEMO).expect("demo json");
        v["servers"][3]["interfaces"][0]["mac"] = serde_json::json!("zz");
        v["servers"][1]["ipmi"]["ip"] = serde_json::json!("10.0.0.300");
        v["servers"][6]["kind"] = serde_json::json!("vps");
        v["subnets"][0]["network"] = serde_json::json!("31.207.45.0");
        v["accounts"][0]["tags"][0]["extra_days_ago"] = serde_json::json!(99_999);
        let text = v.to_string();
        let sc = ScenarioText::parse(&text, "t").expect("parses");
        let found: Vec<String> = sc.problems(10).iter().map(ToString::to_string).collect();
        for line in [
            r#"subnets[0].network: invalid network "31.207.45.0" (expected a.b.c.d/n)"#,
            "accounts[0].tags[0].extra_days_ago: 99999 is beyond 36500 days either way",
            // The broken subnet is left out: its addresses are in none.
            "servers[0].interfaces[0].ips[0].address: 31.207.45.23 is in no subnet",
            r#"servers[3].interfaces[0].mac: invalid MAC "zz""#,
            r#"servers[1].ipmi.ip: invalid IPv4 address "10.0.0.300""#,
            r#"servers[6].kind: "vps" is not one of vm, bm"#,
        ] {
            assert!(found.iter().any(|f| f == line), "{line} in {found:#?}");
        }
        assert!(
            found[0].starts_with("subnets[0]"),
            "in the document's order"
        );
        assert!(sc.problems(2).len() == 2, "at most as many as asked");
        assert_eq!(sc.check().expect_err("bad"), found[0]);
        // A parse error inside a server: the path from the document's root, without the
        // line and column of the server's own text.
        let mut v: serde_json::Value = serde_json::from_str(DEMO).expect("demo json");
        v["servers"][1]["interfaces"][1]["speed"] = serde_json::json!("fast");
        let text = v.to_string();
        let sc = ScenarioText::parse(&text, "t").expect("parses");
        assert_eq!(
            sc.check().expect_err("bad"),
            r#"servers[1].interfaces[1].speed: invalid type: string "fast", expected i64"#
        );
        // Outside the servers, serde's position stays.
        v["accounts"][1]["whmcs_id"] = serde_json::json!("x");
        let e = ScenarioText::parse(&v.to_string(), "t.json").expect_err("bad");
        assert!(
            e.starts_with(r#"invalid scenario t.json: accounts[1].whmcs_id: invalid type: string "x", expected i64 at line 1 column"#),
            "{e}"
        );
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
        assert_eq!(
            sc.check(),
            Err(format!(
                "servers[0].days_left: {} is beyond 36500 days either way",
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
