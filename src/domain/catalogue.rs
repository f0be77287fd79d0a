//! The product catalogue (presets, OS, software, traffic plans, stock servers, Jenkins
//! tasks): reference data the API reads but never changes, embedded from
//! `seeds/catalogue.json`. Which stock servers are sold is state, kept in the store.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::hardware::HardwareSpec;

/// The built-in catalogue.
pub const BUILTIN: &str = include_str!("../../seeds/catalogue.json");

#[derive(Debug, Clone, Deserialize)]
pub struct Catalogue {
    pub presets: Vec<Preset>,
    pub os: Vec<Os>,
    pub software: Vec<Software>,
    pub traffic_plans: Vec<TrafficPlan>,
    pub stock: Vec<StockServer>,
    pub jenkins_tasks: Vec<Value>,
}

/// A tag of a catalogue item (rendered with ids by the API layer).
#[derive(Debug, Clone, Deserialize)]
pub struct ItemTag {
    pub tag: String,
    pub value: Value,
    #[serde(default)]
    pub extra: String,
    #[serde(default)]
    pub internal: i64,
}

/// An instance type that can be ordered (presets/list).
#[derive(Debug, Clone, Deserialize)]
pub struct Preset {
    pub id: i64,
    pub name: String,
    /// vm, bm, gpu, vgpu
    pub kind: String,
    pub description: String,
    pub cpu: i64,
    pub ram: i64,
    pub hdd: String,
    pub gpu: String,
    pub locations: Vec<String>,
    #[serde(rename = "virtual")]
    pub is_virtual: i64,
    /// location -> currency -> monthly price (-1 = not sold in that currency)
    pub price: BTreeMap<String, BTreeMap<String, f64>>,
    pub available: i64,
    pub server_type: String,
    pub hardware: HardwareSpec,
    pub tags: Vec<ItemTag>,
}

/// An operating system (os/list).
#[derive(Debug, Clone, Deserialize)]
pub struct Os {
    pub id: i64,
    pub name: String,
    pub family: String,
    pub kinds: Vec<String>,
    pub user_name: String,
    pub windows: bool,
    pub price_per_core_eur: f64,
    pub min_ram: i64,
    pub min_hdd: i64,
    pub pxe_os_id: Option<i64>,
    pub tags: Vec<ItemTag>,
}

/// Software installed with the OS (software/list).
#[derive(Debug, Clone, Deserialize)]
pub struct Software {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub price: f64,
    pub icon: String,
    pub task: String,
    /// OS ids it installs on.
    pub os: Vec<i64>,
    pub kinds: Vec<String>,
    pub min_ram: i64,
    pub tags: Vec<ItemTag>,
}

/// A traffic plan (traffic_plans/list).
#[derive(Debug, Clone, Deserialize)]
pub struct TrafficPlan {
    pub id: i64,
    pub name: String,
    pub limit_in: i64,
    pub limit_out: i64,
    pub rate_in: i64,
    pub rate_out: i64,
    pub bandwidth: i64,
    pub locations: Vec<String>,
    pub currency_id: i64,
    pub active: i64,
    pub web_plan: i64,
    pub price: f64,
    pub main_plan: i64,
    pub kinds: Vec<String>,
    pub tags: Vec<ItemTag>,
}

/// A physical server in stock (stocks/list).
#[derive(Debug, Clone, Deserialize)]
pub struct StockServer {
    pub id: i64,
    pub name: String,
    pub location: String,
    pub hardware: HardwareSpec,
    pub cpu_perf: i64,
    pub cpu_perflink: String,
    /// 1CPU, 2CPU, GPU, AMD, AMD-MODERN, INTEL
    pub group: Vec<String>,
    pub monthly: f64,
    pub tags: Value,
    pub ipmi_model: String,
}

impl StockServer {
    /// hwraid or no_autodeploy: deployed by hand within a business day.
    pub fn manual_deploy(&self) -> bool {
        self.tags.get("hwraid").is_some() || self.tags.get("no_autodeploy").is_some()
    }
}

/// Billing periods: months, and the discount of the documents' billing plans.
pub const PERIODS: &[(&str, i64, f64)] = &[
    ("monthly", 1, 1.0),
    ("quarterly", 3, 0.97),
    ("semi-annually", 6, 0.94),
    ("annually", 12, 0.88),
];

/// Price for `months` at a monthly price, with the period discount, rounded to cents.
pub fn period_price(monthly: f64, months: i64) -> f64 {
    let discount = PERIODS
        .iter()
        .find(|p| p.1 == months)
        .map(|p| p.2)
        .unwrap_or(1.0);
    (monthly * months as f64 * discount * 100.0).round() / 100.0
}

/// `{"1": p, "3": ..., "6": ..., "12": ...}` for a monthly price.
pub fn billing_plan(monthly: f64, discounted: bool) -> Value {
    let mut m = serde_json::Map::new();
    for (_, months, _) in PERIODS {
        let v = if discounted {
            period_price(monthly, *months)
        } else {
            monthly * *months as f64
        };
        m.insert(months.to_string(), number(v));
    }
    Value::Object(m)
}

/// A price as the documents print it: an integer when whole, else two decimals.
pub fn number(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        Value::from(v as i64)
    } else {
        Value::from((v * 100.0).round() / 100.0)
    }
}

impl Catalogue {
    pub fn builtin() -> Result<Catalogue, String> {
        serde_json::from_str(BUILTIN).map_err(|e| format!("invalid built-in catalogue: {e}"))
    }

    /// A preset by id or name.
    pub fn preset(&self, id_or_name: &str) -> Option<&Preset> {
        let key = id_or_name.trim();
        self.presets
            .iter()
            .find(|p| p.id.to_string() == key || p.name.eq_ignore_ascii_case(key))
    }

    pub fn os(&self, id: i64) -> Option<&Os> {
        self.os.iter().find(|o| o.id == id)
    }

    /// An OS by name (002's `os_name` without `os_id`), preferring one for this instance kind.
    pub fn os_named(&self, name: &str, kind: &str) -> Option<&Os> {
        let name = name.trim();
        let mut named = self.os.iter().filter(|o| o.name.eq_ignore_ascii_case(name));
        let first = named.clone().next();
        named.find(|o| o.fits(kind)).or(first)
    }

    pub fn software(&self, id: i64) -> Option<&Software> {
        self.software.iter().find(|s| s.id == id)
    }

    pub fn plan(&self, id: i64) -> Option<&TrafficPlan> {
        self.traffic_plans.iter().find(|p| p.id == id)
    }

    pub fn stock(&self, id: i64) -> Option<&StockServer> {
        self.stock.iter().find(|s| s.id == id)
    }

    /// The preset a server was built from, by its name.
    pub fn preset_named(&self, name: &str) -> Option<&Preset> {
        self.presets.iter().find(|p| p.name == name)
    }
}

impl Preset {
    /// Monthly price in a location and currency (None: not sold there).
    pub fn monthly(&self, location: &str, currency: &str) -> Option<f64> {
        self.price
            .get(location)
            .and_then(|c| c.get(currency))
            .copied()
            .filter(|p| *p >= 0.0)
    }
}

impl Os {
    pub fn fits(&self, kind: &str) -> bool {
        self.kinds.iter().any(|k| k == kind)
    }

    /// What a server of `ram_gb` / `disk_gb` lacks for this OS (its `min_ram` and `min_hdd`
    /// tags); `None` when it is big enough.
    pub fn shortfall(&self, ram_gb: i64, disk_gb: i64) -> Option<String> {
        let mut missing = Vec::new();
        if ram_gb < self.min_ram {
            missing.push(format!("{} GB RAM (has {ram_gb} GB)", self.min_ram));
        }
        if disk_gb < self.min_hdd {
            missing.push(format!("{} GB disk (has {disk_gb} GB)", self.min_hdd));
        }
        (!missing.is_empty()).then(|| format!("it needs at least {}", missing.join(" and ")))
    }

    /// Monthly licence price for a number of cores (Windows: per core).
    pub fn monthly(&self, cores: i64) -> f64 {
        self.price_per_core_eur * cores.max(1) as f64
    }
}

impl Software {
    pub fn fits(&self, os: &Os, kind: &str) -> bool {
        self.os.contains(&os.id) && self.fits_kind(kind)
    }

    /// Is it offered on this instance kind at all (vm, bm, gpu, vgpu)?
    pub fn fits_kind(&self, kind: &str) -> bool {
        self.kinds.iter().any(|k| k == kind)
    }

    /// A hosting control panel (its `group` tag): eq/show lists it as the `webpanel` tag.
    pub fn is_control_panel(&self) -> bool {
        self.tags
            .iter()
            .any(|t| t.tag == "group" && t.value == "Control panels")
    }
}

/// The inventory groups (eq/list `group=`, eq/show `groups`) of a server built from this
/// hardware, derived as the stock servers' are: VMs are `VPS`; physical servers get
/// `1CPU`/`2CPU` by socket count, `AMD`, `Gpu`, `Dell` and `Storage` (four or more spinning
/// disks) from their parts. Servers ordered from a preset are also `Instances`.
pub fn groups_for(hw: &HardwareSpec, vm: bool, from_preset: bool) -> Vec<String> {
    let mut g: Vec<&str> = Vec::new();
    if vm {
        g.push("VPS");
    } else {
        g.push(if hw.cpu.count > 1 { "2CPU" } else { "1CPU" });
        if hw.cpu.kind.starts_with("AMD") {
            g.push("AMD");
        }
        if hw.gpu.is_some() {
            g.push("Gpu");
        }
        if hw.platform.name.contains("Dell") {
            g.push("Dell");
        }
        let spinning: i64 = hw
            .disks
            .iter()
            .filter(|d| d.kind == "HDD")
            .map(|d| d.count)
            .sum();
        if spinning >= 4 {
            g.push("Storage");
        }
    }
    if from_preset {
        g.push("Instances");
    }
    g.into_iter().map(str::to_owned).collect()
}

/// The BMC a physical server of this hardware has (eq/show `IPMI.model`).
pub fn ipmi_model_for(hw: &HardwareSpec) -> &'static str {
    if hw.platform.name.contains("Dell") {
        "iDRAC9"
    } else {
        "Supermicro"
    }
}

impl TrafficPlan {
    pub fn fits(&self, location: &str, kind: &str) -> bool {
        self.locations.iter().any(|l| l == location) && self.kinds.iter().any(|k| k == kind)
    }
}

/// The root password policy of order_instance: at least 8 characters, upper- and lowercase
/// Latin letters and at least one special character.
pub fn root_pass_ok(p: &str) -> bool {
    p.chars().count() >= 8
        && p.chars().any(|c| c.is_ascii_uppercase())
        && p.chars().any(|c| c.is_ascii_lowercase())
        && p.chars().any(|c| !c.is_ascii_alphanumeric())
        && p.len() <= 128
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_catalogue_parses_and_is_consistent() {
        let c = Catalogue::builtin().expect("parses");
        assert!(c.presets.len() >= 10 && c.os.len() >= 8 && !c.stock.is_empty());
        for p in &c.presets {
            assert!(
                c.os.iter().any(|o| o.fits(&p.kind)),
                "an OS for preset {}",
                p.name
            );
            assert!(
                c.traffic_plans
                    .iter()
                    .any(|t| p.locations.iter().any(|l| t.fits(l, &p.kind))),
                "a plan for {}",
                p.name
            );
            for l in &p.locations {
                assert!(
                    p.monthly(l, "EUR").is_some(),
                    "{} has an EUR price in {l}",
                    p.name
                );
            }
        }
        for s in &c.software {
            assert!(
                s.os.iter().all(|id| c.os(*id).is_some()),
                "{} names known OS",
                s.name
            );
        }
        assert!(c.preset("108").is_some() && c.preset("vm.mini").is_some());
    }

    #[test]
    fn every_preset_is_built_from_the_hardware_it_advertises() {
        let c = Catalogue::builtin().expect("parses");
        for p in &c.presets {
            let hdd: i64 = p.hdd.parse().expect("hdd is a number of GB");
            assert_eq!(p.hardware.ram_gb(), p.ram, "{} RAM", p.name);
            assert_eq!(p.hardware.disk_gb(), hdd, "{} disk", p.name);
            assert_eq!(p.hardware.cores(), p.cpu, "{} cores", p.name);
        }
        let pico = c.preset("vm.pico").expect("pico");
        assert_eq!(pico.hardware.config(true), "1 vCore/1Gb/15Gb SSD");
    }

    #[test]
    fn groups_and_bmc_follow_the_hardware() {
        let c = Catalogue::builtin().expect("parses");
        let gpu = c.preset("gpu.1xa4000").expect("gpu");
        assert_eq!(
            groups_for(&gpu.hardware, false, true),
            ["1CPU", "AMD", "Gpu", "Instances"]
        );
        let dell = c.preset("bm.2x6230.256").expect("dell");
        assert_eq!(
            groups_for(&dell.hardware, false, true),
            ["2CPU", "Dell", "Storage", "Instances"]
        );
        assert_eq!(ipmi_model_for(&dell.hardware), "iDRAC9");
        let vm = c.preset("vm.mini").expect("vm");
        assert_eq!(groups_for(&vm.hardware, true, true), ["VPS", "Instances"]);
        assert_eq!(
            ipmi_model_for(&c.preset("bm.e2288g.32").expect("bm").hardware),
            "Supermicro"
        );
    }

    #[test]
    fn an_os_needs_its_minimum_ram_and_disk() {
        let c = Catalogue::builtin().expect("parses");
        let win = c.os(202).expect("windows for VMs");
        assert_eq!(
            win.shortfall(1, 15).as_deref(),
            Some("it needs at least 2 GB RAM (has 1 GB) and 32 GB disk (has 15 GB)")
        );
        assert_eq!(win.shortfall(2, 40), None);
        assert_eq!(
            c.os_named("windows server 2022", "bm").map(|o| o.id),
            Some(196)
        );
        assert_eq!(
            c.os_named("Windows Server 2022", "vm").map(|o| o.id),
            Some(202)
        );
        assert!(c.os_named("BeOS", "vm").is_none());
        let cpanel = c.software(38).expect("cpanel");
        assert!(cpanel.is_control_panel() && !c.software(18).expect("grafana").is_control_panel());
    }

    #[test]
    fn prices_follow_the_documented_billing_plan() {
        // 001's stock example: 115 a month is 334.65 a quarter, 648.6 a half year, 1214.4 a year.
        assert_eq!(period_price(115.0, 3), 334.65);
        assert_eq!(period_price(115.0, 6), 648.6);
        assert_eq!(period_price(115.0, 12), 1214.4);
        assert_eq!(number(3.0), Value::from(3));
        assert!(root_pass_ok("mnN48Dl@4"));
        assert!(!root_pass_ok("mdLus8Ng"), "no special character");
        assert!(!root_pass_ok("short@A"));
    }
}
