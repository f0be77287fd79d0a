//! Power control: oVirt wording for VMs, ipmitool wording for BMCs (001 "Server power control",
//! "Asynchronous actions").

use serde::{Deserialize, Serialize};

use super::{sensors, Effect, Outcome};
use crate::store::servers::Server;

/// A power-related operation; serialised as its request action (`hard_off`), as power jobs
/// store it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PowerOp {
    Status,
    Sensors,
    On,
    Off,
    HardOff,
    Reboot,
}

impl PowerOp {
    /// The request action this operation implements.
    pub fn action(self) -> &'static str {
        match self {
            PowerOp::Status => "status",
            PowerOp::Sensors => "sensors",
            PowerOp::On => "on",
            PowerOp::Off => "off",
            PowerOp::HardOff => "hard_off",
            PowerOp::Reboot => "reboot",
        }
    }

    pub fn from_action(a: &str) -> Option<Self> {
        Some(match a {
            "status" => PowerOp::Status,
            "sensors" => PowerOp::Sensors,
            "on" => PowerOp::On,
            "off" => PowerOp::Off,
            "hard_off" => PowerOp::HardOff,
            "reboot" => PowerOp::Reboot,
            _ => return None,
        })
    }

    /// `context.action` of the async record; the documents use other names for some
    /// (sensors -> get_sensors; a VM reboot reads "off" in 001's example).
    pub fn context_action(self, vm: bool) -> &'static str {
        match (self, vm) {
            (PowerOp::Sensors, _) => "get_sensors",
            (PowerOp::Reboot, true) => "off",
            (op, _) => op.action(),
        }
    }

    /// Realistic duration in milliseconds, before task-speed scaling.
    pub fn duration_ms(self, vm: bool) -> i64 {
        match (self, vm) {
            (PowerOp::Status, _) => 2_000,
            (PowerOp::Sensors, _) => 4_000,
            (PowerOp::On, true) => 15_000,
            (PowerOp::On, false) => 40_000,
            (PowerOp::Off, true) => 20_000,
            (PowerOp::Off, false) => 45_000,
            (PowerOp::HardOff, true) => 5_000,
            (PowerOp::HardOff, false) => 8_000,
            (PowerOp::Reboot, true) => 30_000,
            (PowerOp::Reboot, false) => 90_000,
        }
    }
}

/// Runs a power operation against a server as it is now.
pub fn execute(op: PowerOp, server: &Server, now: i64) -> Outcome {
    if server.is_vm() {
        ovirt(op, server)
    } else {
        ipmi(op, server, now)
    }
}

fn ovirt(op: PowerOp, s: &Server) -> Outcome {
    let up = s.power == "on";
    match op {
        PowerOp::Status => {
            let scope = if up { "VM is up now" } else { "VM is down now" };
            Outcome::ok(scope, Some("debug".into()), Effect::None)
        }
        PowerOp::On => Outcome::ok("VM is up now", Some(String::new()), Effect::Power("on")),
        PowerOp::Off => Outcome::ok("VM is down now", Some("debug".into()), Effect::Power("off")),
        PowerOp::HardOff => Outcome::ok(
            "VM is powered off",
            Some("debug".into()),
            Effect::Power("off"),
        ),
        PowerOp::Reboot => Outcome::ok("VM is rebooted", Some("debug".into()), Effect::Power("on")),
        // Handlers refuse sensors for VMs before queueing; answer sanely if one slips through.
        PowerOp::Sensors => Outcome::fail("Sensors are not available for virtual machines", None),
    }
}

fn ipmi(op: PowerOp, s: &Server, now: i64) -> Outcome {
    let up = s.power == "on";
    match op {
        PowerOp::Status => {
            let line = if up {
                "Chassis Power is on"
            } else {
                "Chassis Power is off"
            };
            Outcome::ok(line, Some(line.into()), Effect::None)
        }
        PowerOp::On => Outcome::ok(
            "Power is on",
            Some("Chassis Power Control: Up/On".into()),
            Effect::Power("on"),
        ),
        PowerOp::Off => Outcome::ok(
            "Power is off",
            Some("Chassis Power Control: Soft".into()),
            Effect::Power("off"),
        ),
        PowerOp::HardOff => Outcome::ok(
            "Power is off",
            Some("Chassis Power Control: Down/Off".into()),
            Effect::Power("off"),
        ),
        PowerOp::Reboot => {
            if up {
                Outcome::ok(
                    "Server is rebooted",
                    Some("Chassis Power Control: Reset".into()),
                    Effect::Power("on"),
                )
            } else {
                // `power reset` does nothing to a chassis that is off; HOSTKEY's tooling powers it on.
                Outcome::ok(
                    "Server was powered off, it is powered on now",
                    Some("Chassis Power Control: Up/On".into()),
                    Effect::Power("on"),
                )
            }
        }
        PowerOp::Sensors => {
            let table = sensors::table(s, now);
            Outcome::ok(table.clone(), Some(table.replace('\n', "")), Effect::None)
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn server(kind: &str, power: &str, model: &str) -> Server {
        Server {
            id: 40101,
            account_id: Some(1),
            location: "NL".into(),
            kind: kind.into(),
            r#type: "VPS".into(),
            status: "rent".into(),
            power: power.into(),
            control: if kind == "vm" {
                "ovirt".into()
            } else {
                "ipmi".into()
            },
            ipmi_model: model.into(),
            preset: String::new(),
            preset_description: String::new(),
            hwconfig: String::new(),
            hardware: "{}".into(),
            groups: "[]".into(),
            licenses: "[]".into(),
            os: None,
            reg_date: 0,
            due_date: 0,
            billing_cycle: "Monthly".into(),
            recurring_cents: 0,
            limit_traffic: 0,
            limit_traffic_in: 0,
            cost_traffic: 0,
            limit_bands: 0,
            is_shape: 1,
            traffic_in_gb: 0.0,
            traffic_out_gb: 0.0,
        }
    }

    #[test]
    fn vm_wording_follows_ovirt() {
        let vm = server("vm", "on", "ovirt");
        let o = execute(PowerOp::Off, &vm, 0);
        assert_eq!(o.scope, "VM is down now");
        assert_eq!(o.effect, Effect::Power("off"));
        assert_eq!(execute(PowerOp::Status, &vm, 0).scope, "VM is up now");
        assert_eq!(PowerOp::Reboot.context_action(true), "off");
    }

    #[test]
    fn bare_metal_wording_follows_ipmitool() {
        let bm = server("bm", "off", "Supermicro");
        assert_eq!(
            execute(PowerOp::Status, &bm, 0).debug.as_deref(),
            Some("Chassis Power is off")
        );
        let on = execute(PowerOp::On, &bm, 0);
        assert_eq!(on.debug.as_deref(), Some("Chassis Power Control: Up/On"));
        assert_eq!(on.effect, Effect::Power("on"));
        let s = execute(PowerOp::Sensors, &server("bm", "on", "Supermicro"), 0);
        assert!(s.scope.contains("CPU Temp"));
        assert!(!s.debug.unwrap_or_default().contains('\n'));
    }
}
