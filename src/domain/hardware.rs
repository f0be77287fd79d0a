//! Hardware descriptions: a compact spec (what a scenario or a preset says) expanded into
//! the `hardware` object of eq/show (001 "eq/show": config, components, tags, summary fields).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// One kind of part, `count` times.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
pub struct Part {
    /// Catalogue component id (eq/list `component=` filter).
    pub component_id: i64,
    pub name: String,
    #[serde(default = "one")]
    pub count: i64,
    /// CPU: cores per unit; RAM/disk/GPU: size in GB.
    #[serde(default)]
    pub size: i64,
    /// CPU: GHz as text; disk: interface.
    #[serde(default)]
    pub detail: String,
    /// CPU vendor (INTEL/AMD), RAM type (DDR4/VRAM), disk type (SSD/NVMe/HDD).
    #[serde(default)]
    pub kind: String,
}

fn one() -> i64 {
    1
}

/// A server's hardware, as parts (eq/show `hardware` is rendered from it).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
pub struct HardwareSpec {
    /// The chassis or VM platform (`count` is ignored).
    pub platform: Part,
    /// `size`: cores per CPU (a VM: vCores per unit); `detail`: GHz; `kind`: vendor.
    pub cpu: Part,
    /// `size`: GB per module; `kind`: `DDR4`, `VRAM`...
    pub ram: Part,
    /// `size`: GB per disk; `detail`: interface (`SATA` when empty); `kind`: `SSD`,
    /// `NVMe`, `HDD`.
    pub disks: Vec<Part>,
    /// `size`: GB of memory per card.
    #[serde(default)]
    pub gpu: Option<Part>,
    #[serde(default)]
    pub motherboard: String,
    #[serde(default)]
    pub uefi: bool,
    /// A hardware RAID controller.
    #[serde(default)]
    pub hwraid: bool,
    /// RAID levels an install may ask for; empty: `LVM_HBA`.
    #[serde(default)]
    pub raid_levels: Vec<String>,
}

impl HardwareSpec {
    /// `4 vCore/4Gb/60Gb SSD` or `E-2288G 8x3.7GHz/64Gb/2x960Gb NVMe`.
    pub fn config(&self, vm: bool) -> String {
        let ram = self.ram.count * self.ram.size;
        let disks = self
            .disks
            .iter()
            .map(|d| {
                if vm {
                    format!("{}Gb {}", d.count * d.size, d.kind)
                } else if d.count > 1 {
                    format!("{}x{}Gb {}", d.count, d.size, d.kind)
                } else {
                    format!("{}Gb {}", d.size, d.kind)
                }
            })
            .collect::<Vec<_>>()
            .join("+");
        let mut s = if vm {
            format!(
                "{} vCore/{}Gb/{}",
                self.cpu.count * self.cpu.size.max(1),
                ram,
                disks
            )
        } else {
            let cpus = if self.cpu.count > 1 {
                format!("{}x", self.cpu.count)
            } else {
                String::new()
            };
            format!(
                "{cpus}{} {}x{}GHz/{}Gb/{}",
                self.cpu.name, self.cpu.size, self.cpu.detail, ram, disks
            )
        };
        if let Some(g) = &self.gpu {
            s.push_str(&format!("/{}x{}", g.count, g.name));
        }
        s
    }

    /// Memory in GB.
    pub fn ram_gb(&self) -> i64 {
        self.ram.count * self.ram.size
    }

    /// Disk space in GB, all disks together.
    pub fn disk_gb(&self) -> i64 {
        self.disks.iter().map(|d| d.count * d.size).sum()
    }

    /// Cores: vCores of a VM, physical cores of a server.
    pub fn cores(&self) -> i64 {
        self.cpu.count * self.cpu.size.max(1)
    }

    /// Component ids present (for the eq/list filter).
    pub fn component_ids(&self) -> Vec<i64> {
        let mut v = vec![
            self.platform.component_id,
            self.cpu.component_id,
            self.ram.component_id,
        ];
        v.extend(self.disks.iter().map(|d| d.component_id));
        v.extend(self.gpu.iter().map(|g| g.component_id));
        v
    }

    /// The spec a `hardware` object was rendered from ([`HardwareSpec::render`]), as far
    /// as it shows: rendering the result gives the same object (a disk without interface
    /// comes back as `SATA`, which renders the same). `None`: not a rendered object.
    pub fn from_rendered(h: &Value) -> Option<HardwareSpec> {
        let components = h.get("components")?.as_array()?;
        let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        let int = |v: &Value, k: &str| v.get(k).and_then(Value::as_i64).unwrap_or(0);
        let part = |c: &Value, size: &str, kind: String, detail: String| Part {
            component_id: int(c, "id"),
            name: text(c, "Name"),
            count: int(c, "Count"),
            size: int(c, size),
            detail,
            kind,
        };
        let of = |t: &'static str| {
            components
                .iter()
                .filter(move |c| c.get("Type").and_then(Value::as_str) == Some(t))
        };
        let tags = h.get("tags");
        let first_tag = |k: &str| {
            tags.and_then(|t| t.get(k))
                .and_then(Value::as_array)
                .and_then(|a| a.first())
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        let platform = of("Platform").next()?;
        let cpu = of("CPU").next()?;
        let ram = of("RAM").next()?;
        let interfaces: Vec<String> = tags
            .and_then(|t| t.get("hdd_interface"))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|v| v.as_str().unwrap_or("").to_owned())
                    .collect()
            })
            .unwrap_or_default();
        let mut unit = 0usize;
        let disks = of("HDD")
            .map(|d| {
                let detail = interfaces.get(unit).cloned().unwrap_or_default();
                unit += usize::try_from(int(d, "Count").max(0)).unwrap_or(0);
                part(d, "Size", text(d, "hdd_type"), detail)
            })
            .collect();
        Some(HardwareSpec {
            platform: Part {
                count: 1,
                ..part(platform, "Size", String::new(), String::new())
            },
            cpu: part(cpu, "Cores", text(cpu, "cpu_type"), text(h, "cpu_frq")),
            ram: part(ram, "Size", first_tag("ram_ramtype"), String::new()),
            disks,
            gpu: of("GPU")
                .next()
                .map(|g| part(g, "Size", String::new(), String::new())),
            motherboard: text(h, "motherboard_name"),
            uefi: int(h, "uefi") != 0,
            hwraid: int(h, "hwraid") != 0,
            raid_levels: h
                .get("raid_levels")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
        })
    }

    /// The eq/show `hardware` object.
    pub fn render(&self, vm: bool, location_list: &str) -> Value {
        let disk_type = self
            .disks
            .first()
            .map(|d| d.kind.clone())
            .unwrap_or_default();
        let mut components = vec![
            json!({"id": self.platform.component_id, "Type": "Platform", "Name": self.platform.name,
                   "Count": 1, "hdd_type": disk_type}),
            json!({"id": self.cpu.component_id, "Type": "CPU", "Name": self.cpu.name, "Count": self.cpu.count,
                   "hdd_type": disk_type, "Cores": self.cpu.size, "cpu_type": self.cpu.kind}),
            json!({"id": self.ram.component_id, "Type": "RAM", "Name": self.ram.name, "Count": self.ram.count,
                   "hdd_type": disk_type, "Size": self.ram.size}),
        ];
        for d in &self.disks {
            components.push(
                json!({"id": d.component_id, "Type": "HDD", "Name": d.name, "Count": d.count,
                                   "hdd_type": d.kind, "Size": d.size}),
            );
        }
        if let Some(g) = &self.gpu {
            components.push(
                json!({"id": g.component_id, "Type": "GPU", "Name": g.name, "Count": g.count,
                                   "hdd_type": disk_type, "Size": g.size}),
            );
        }
        let rep = |v: String, n: i64| -> Value { Value::from(vec![v; n.max(0) as usize]) };
        let n_disks: i64 = self.disks.iter().map(|d| d.count).sum();
        let mut tags = serde_json::Map::new();
        tags.insert(
            "platform_ipmi".into(),
            json!([if vm { "ovirt" } else { "ipmi" }]),
        );
        tags.insert("platform_location".into(), json!([location_list]));
        tags.insert("platform_vm".into(), json!([if vm { "true" } else { "" }]));
        tags.insert("platform_virt".into(), json!([if vm { "1" } else { "0" }]));
        tags.insert(
            "cpu_location".into(),
            rep(location_list.into(), self.cpu.count),
        );
        tags.insert(
            "cpu_frq".into(),
            rep(self.cpu.detail.clone(), self.cpu.count),
        );
        tags.insert(
            "cpu_cores".into(),
            rep(self.cpu.size.to_string(), self.cpu.count),
        );
        tags.insert(
            "cpu_virt".into(),
            rep(if vm { "1" } else { "0" }.into(), self.cpu.count),
        );
        tags.insert(
            "ram_size".into(),
            rep(self.ram.size.to_string(), self.ram.count),
        );
        tags.insert(
            "ram_ramtype".into(),
            rep(self.ram.kind.clone(), self.ram.count),
        );
        let mut hdd_size = Vec::new();
        let mut hdd_type = Vec::new();
        let mut hdd_iface = Vec::new();
        for d in &self.disks {
            for _ in 0..d.count.max(0) {
                hdd_size.push(d.size.to_string());
                hdd_type.push(d.kind.clone());
                hdd_iface.push(if d.detail.is_empty() {
                    "SATA".to_owned()
                } else {
                    d.detail.clone()
                });
            }
        }
        tags.insert("hdd_size".into(), json!(hdd_size));
        tags.insert("hdd_type".into(), json!(hdd_type));
        tags.insert("hdd_interface".into(), json!(hdd_iface));
        tags.insert("eta".into(), json!(if vm { 0.07 } else { 0.5 }));
        let hdd_total: i64 = self.disks.iter().map(|d| d.count * d.size).sum();
        let hdd_groups: Vec<Value> = self
            .disks
            .iter()
            .map(|d| {
                json!({"name": format!("{}Gb {}", d.size * if vm { d.count } else { 1 }, d.kind),
                       "type": if d.kind == "HDD" { "HDD" } else { "SSD" },
                       "count": if vm { 1 } else { d.count }, "size": (d.size * if vm { d.count } else { 1 }).to_string()})
            })
            .collect();
        let pairs: i64 = self.disks.iter().map(|d| d.count / 2).sum();
        json!({
            "config": self.config(vm),
            "components": components,
            "tags": tags,
            "vm": i64::from(vm),
            "gpu": i64::from(self.gpu.is_some()),
            "vds": 0,
            "uefi": i64::from(self.uefi),
            "hwraid": i64::from(self.hwraid),
            "motherboard_name": self.motherboard,
            "cpu_name": if vm { "vCPU".to_owned() } else { self.cpu.name.clone() },
            "cpu_type": if vm { "vCPU".to_owned() } else { self.cpu.kind.clone() },
            "cpu_count": if vm { self.cpu.count * self.cpu.size.max(1) } else { self.cpu.count },
            "cpu_cores": if vm { self.cpu.count * self.cpu.size.max(1) } else { self.cpu.count * self.cpu.size },
            "cpu_frq": self.cpu.detail,
            "ram": self.ram.count * self.ram.size,
            "ram_type": self.ram.kind.to_ascii_lowercase(),
            "hdd": hdd_total,
            "hdd_count": if vm { 1 } else { n_disks },
            "hdd_groups": hdd_groups,
            "hdd_pairs": if vm { 0 } else { pairs },
            "gpu_name": self.gpu.as_ref().map(|g| g.name.clone()),
            "gpu_count": self.gpu.as_ref().map(|g| g.count).unwrap_or(0),
            "raid_levels": if self.raid_levels.is_empty() { vec!["LVM_HBA".to_owned()] } else { self.raid_levels.clone() },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vm_spec() -> HardwareSpec {
        serde_json::from_value(json!({
            "platform": {"component_id": 1, "name": "Ovirt VM"},
            "cpu": {"component_id": 2, "name": "VPS Core", "count": 4, "size": 1, "detail": "2.4", "kind": "INTEL"},
            "ram": {"component_id": 3, "name": "VPS RAM 1Gb", "count": 4, "size": 1, "kind": "VRAM"},
            "disks": [{"component_id": 4, "name": "VPS HDD 10 Gb", "count": 6, "size": 10, "kind": "SSD"}]
        }))
        .expect("spec")
    }

    #[test]
    fn a_rendered_object_gives_back_a_spec_that_renders_the_same() {
        let demo: serde_json::Value =
            serde_json::from_str(crate::domain::scenario::DEMO).expect("demo");
        for srv in demo["servers"].as_array().expect("servers") {
            let spec: HardwareSpec = serde_json::from_value(srv["hardware"].clone()).expect("spec");
            let vm = srv["kind"] == "vm";
            let rendered = spec.render(vm, "NL,DE");
            let back = HardwareSpec::from_rendered(&rendered).expect("a rendered object");
            assert_eq!(back.render(vm, "NL,DE"), rendered, "server {}", srv["id"]);
            assert_eq!(back.config(vm), spec.config(vm));
        }
        assert!(HardwareSpec::from_rendered(&json!({"components": []})).is_none());
    }

    #[test]
    fn a_vm_renders_like_the_documented_example() {
        let s = vm_spec();
        assert_eq!(s.config(true), "4 vCore/4Gb/60Gb SSD");
        let h = s.render(true, "NL");
        assert_eq!(h["ram"], 4);
        assert_eq!(h["hdd"], 60);
        assert_eq!(h["cpu_count"], 4);
        assert_eq!(h["vm"], 1);
        assert_eq!(h["components"].as_array().map(Vec::len), Some(4));
        assert_eq!(h["tags"]["hdd_size"].as_array().map(Vec::len), Some(6));
        assert_eq!(h["hdd_groups"][0]["size"], "60");
        assert_eq!(s.component_ids(), vec![1, 2, 3, 4]);
    }
}
