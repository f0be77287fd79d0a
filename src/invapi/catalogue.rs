//! Rendering shared by the catalogue modules (presets, os, software, traffic_plans, stocks):
//! tags with ids, location checks, stock server documents.

use serde_json::{json, Value};

use crate::domain::catalogue::{self, ItemTag, StockServer};
use crate::error::{Error, Result};

/// The locations HOSTKEY sells in.
pub const LOCATIONS: &[&str] = &["NL", "US", "FI", "DE", "IS", "TR", "UK"];

/// A required, known location code.
pub fn location(raw: Option<&str>) -> Result<String> {
    let l = raw
        .map(|l| l.trim().to_ascii_uppercase())
        .ok_or_else(|| Error::invalid("location is required"))?;
    if LOCATIONS.contains(&l.as_str()) {
        Ok(l)
    } else {
        Err(Error::invalid(format!(
            "invalid location '{}', expected NL, US, FI, DE, IS, TR or UK",
            super::args::shorten(&l)
        )))
    }
}

/// Catalogue tags as the API shows them, with stable ids.
pub fn tags(component: &str, component_id: i64, tags: &[ItemTag]) -> Vec<Value> {
    tags.iter()
        .enumerate()
        .map(|(i, t)| {
            json!({"id": 300_000 + component_id * 16 + i as i64, "component": component, "component_id": component_id,
                   "tag": t.tag, "value": t.value, "extra": t.extra, "internal": t.internal})
        })
        .collect()
}

/// A stock server as stocks/list shows it.
pub fn stock_doc(s: &StockServer, location_detail: Option<Value>) -> Value {
    let hw = s.hardware.render(false, &s.location);
    let gpu = s.group.iter().any(|g| g == "GPU");
    let mut doc = json!({
        "id": s.id,
        "name": s.name,
        "hardware": {
            "config": hw["config"], "motherboard_name": hw["motherboard_name"], "cpu_name": hw["cpu_name"],
            "cpu_type": s.hardware.cpu.kind, "cpu_count": hw["cpu_count"], "cpu_cores": hw["cpu_cores"],
            "cpu_frq": hw["cpu_frq"], "ram": hw["ram"], "ram_type": hw["ram_type"], "hdd_count": hw["hdd_count"],
            "hdd_groups": hw["hdd_groups"], "hdd_pairs": hw["hdd_pairs"], "gpu_name": hw["gpu_name"],
            "gpu_count": hw["gpu_count"], "raid_levels": hw["raid_levels"],
        },
        "location": location_detail.unwrap_or_else(|| json!(s.location)),
        "cpu_count": s.hardware.cpu.count.to_string(),
        "cpu_perf": s.cpu_perf,
        "cpu_perflink": s.cpu_perflink,
        "tags": s.tags,
        "deployment_estimate": if s.manual_deploy() { "next business day" } else { "auto" },
        "billing_plan": {"EUR": catalogue::billing_plan(s.monthly, true)},
        "server_group": if gpu { "GPU Server" } else { "Dedicated Server" },
    });
    if let Some(o) = doc.as_object_mut() {
        if o["location"].is_object() {
            o.remove("server_group");
        }
    }
    doc
}
