//! What an oVirt engine answers about a VM beyond power (vm.php): its snapshot events, the
//! engine and cluster of a location, and the VM's resource statistics, drawn from the same
//! deterministic synthetic source as the traffic graphs ([`super::traffic`]).

use serde::{Deserialize, Serialize};

use super::traffic;

/// What oVirt does with a VM's snapshot (vm.php's three snapshot actions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotOp {
    Create,
    Restore,
    Remove,
}

/// The oVirt version the simulated engines run.
pub const VERSION: &str = "4.5.6";

/// The engine of a location, as vm/get_engine shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Engine {
    pub name: String,
    pub url: String,
    pub cluster: String,
    pub datacenter: String,
}

/// The engine and cluster serving a location's VMs (`dc_name`: the data centre's name).
pub fn engine(location: &str, dc_name: &str) -> Engine {
    let code = location.to_ascii_lowercase();
    let name = format!("ovirt-engine-{code}.hostkey-emu.local");
    Engine {
        url: format!("https://{name}/ovirt-engine/api"),
        name,
        cluster: format!("{location}-Cluster-01"),
        datacenter: dc_name.to_owned(),
    }
}

/// The event oVirt logs when a snapshot operation of `vm` is over.
pub fn snapshot_done(op: SnapshotOp, snapshot: &str, vm: &str) -> String {
    use SnapshotOp::*;
    match op {
        Create => format!("Snapshot '{snapshot}' creation for VM '{vm}' has been completed."),
        Restore => format!("VM {vm} restoring from Snapshot '{snapshot}' has been completed."),
        Remove => format!("Snapshot '{snapshot}' deletion for VM '{vm}' has been completed."),
    }
}

/// One statistics sample of a VM.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Load {
    pub at: i64,
    /// CPU use, percent of the VM's vCPUs.
    pub cpu: f64,
    /// Memory in use, percent.
    pub memory: f64,
    /// Disk reads and writes, bytes per second.
    pub disk_read: f64,
    pub disk_write: f64,
    /// Network, bits per second: the traffic graphs' own samples.
    pub net_in: f64,
    pub net_out: f64,
}

/// Statistics from `start` to `end` every `step` seconds. The network columns are
/// [`traffic::series`] itself (same seed, same averages), and CPU, memory and disk follow
/// its activity, so the VM is busy when its port is.
pub fn load(seed: u64, start: i64, end: i64, step: i64, avg_in: f64, avg_out: f64) -> Vec<Load> {
    let round = |x: f64| (x * 10.0).round() / 10.0;
    traffic::series(seed, start, end, step, avg_in, avg_out)
        .into_iter()
        .map(|s| {
            // Activity relative to the average: about 0.4 at night, 1.6 in the evening.
            let activity = if avg_out > 0.0 {
                s.bps_out / avg_out
            } else {
                1.0
            };
            Load {
                at: s.at,
                cpu: round((3.0 + 22.0 * activity).clamp(0.0, 100.0)),
                memory: round((38.0 + 9.0 * activity).clamp(0.0, 100.0)),
                disk_read: (120_000.0 * activity).round(),
                disk_write: (60_000.0 * activity).round(),
                net_in: s.bps_in,
                net_out: s.bps_out,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_follow_the_traffic_series_and_repeat() {
        let a = load(7, 86_400, 2 * 86_400, 300, 1e6, 4e6);
        assert_eq!(a, load(7, 86_400, 2 * 86_400, 300, 1e6, 4e6));
        let t = traffic::series(7, 86_400, 2 * 86_400, 300, 1e6, 4e6);
        assert_eq!(a.len(), t.len());
        for (l, s) in a.iter().zip(&t) {
            assert_eq!((l.at, l.net_in, l.net_out), (s.at, s.bps_in, s.bps_out));
            assert!((0.0..=100.0).contains(&l.cpu) && (0.0..=100.0).contains(&l.memory));
        }
        // Busier evenings than nights.
        let at = |h: i64| {
            a.iter()
                .find(|l| l.at == 86_400 + h * 3600)
                .expect("sample")
                .cpu
        };
        assert!(at(20) > at(4), "{} vs {}", at(20), at(4));
    }

    #[test]
    fn engines_and_events_use_ovirts_words() {
        let e = engine("NL", "Amsterdam DC");
        assert_eq!(e.name, "ovirt-engine-nl.hostkey-emu.local");
        assert_eq!(e.cluster, "NL-Cluster-01");
        assert_eq!(
            snapshot_done(SnapshotOp::Create, "s1", "vm1"),
            "Snapshot 's1' creation for VM 'vm1' has been completed."
        );
    }
}
