//! The built-in `large:N` scenario: one account with N servers, generated deterministically
//! (the same N gives the same servers, ids, addresses and MACs, every time), for load tests
//! and for clients that page through many servers.
//!
//! The servers are copies of the demo's oVirt VM (40101) and Supermicro bare-metal server
//! (40102), two VMs to one bare-metal server, spread round-robin over the demo's locations,
//! as `bench/gen_scenario.py` makes them. Each location gets a VM pool and a bare-metal
//! pool (`/17`s of 100.64.0.0/10), an IPMI network and a NAT pool; a server's addresses
//! and MACs follow from its number, so each server is made on its own when the loader
//! reaches it and no file or document of N servers is ever built.
//!
//! The account logs in with the API key [`API_KEY`], or [`EMAIL`] / [`PASSWORD`], PIN
//! [`PIN`].

use std::borrow::Cow;
use std::net::Ipv4Addr;
use std::sync::OnceLock;

use super::{
    ApiKeySpec, FieldError, InterfaceSpec, IpSpec, IpmiSpec, Scenario, ServerSource, ServerSpec,
    SubnetSpec, DEMO,
};

/// The most servers `large:N` makes (each location's pools hold 32,766 addresses).
pub const MAX_SERVERS: u32 = 100_000;
/// The account's API key (all servers).
pub const API_KEY: &str = "be0c000000000000-0123456789abcdef";
/// The account's e-mail (its login) and password, and its PIN.
pub const EMAIL: &str = "large@hostkey-emu.local";
pub const PASSWORD: &str = "Bench-pass-1";
pub const PIN: &str = "1234";
/// [`PASSWORD`] and [`PIN`] as argon2 PHC strings at the emulator's default costs (those of
/// bench/gen_scenario.py), so that loading costs no hashing.
const PASSWORD_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$uTx1zFDjL7MZgmVPnbfmkw$Hy9sHjeemH/ftwvj/OFJwaS/oJjNfjguCJ1gmFmPHpA";
const PIN_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$xRXdFoeUU4z8ZMUBlgAk+w$gwgqjOFSQfKXoO/MbldqHoWNn2J3th+Ylh87CpyQLfk";

/// The first server's id; server `i` (from 0) is `FIRST_ID + i`.
pub const FIRST_ID: i64 = 100_001;
const ACCOUNT_ID: i64 = 200_000;
const FIRST_INTERFACE_ID: i64 = 2_000_000;
const FIRST_TAG_ID: i64 = 5_000_000;
const FIRST_SUBNET_ID: i64 = 9_000;
/// Interface ids (and MACs) per server: the template's ports and the IPMI port.
const PORTS: i64 = 4;
/// Tag ids per server.
const TAGS: i64 = 16;

/// `large:N` given as a scenario: `None` when `name` is another scenario, else N or why it
/// is not a valid N.
pub fn count(name: &str) -> Option<Result<u32, String>> {
    let n = match name.strip_prefix("large:") {
        Some(n) => n,
        None if name == "large" => "",
        None => return None,
    };
    Some(
        n.trim()
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_SERVERS).contains(n))
            .ok_or_else(|| {
                format!(
                    "scenario large:{n}: the number of servers must be a whole number from 1 to \
                     {MAX_SERVERS} (e.g. large:10000)"
                )
            }),
    )
}

/// What every generated server is made from: the demo's locations, account and the two
/// template servers.
struct Templates {
    demo: Scenario,
    vm: ServerSpec,
    bm: ServerSpec,
}

fn templates() -> &'static Templates {
    static TEMPLATES: OnceLock<Templates> = OnceLock::new();
    TEMPLATES.get_or_init(|| {
        // The demo is built in and checked by the unit tests.
        let demo: Scenario = serde_json::from_str(DEMO).expect("the demo scenario parses");
        let find = |id| {
            demo.servers
                .iter()
                .find(|s| s.id == id)
                .cloned()
                .expect("the demo's template servers")
        };
        let (vm, bm) = (find(40101), find(40102));
        Templates { demo, vm, bm }
    })
}

/// A location's pools: (VM pool, bare-metal pool, IPMI network, NAT pool) as
/// (network, prefix) pairs.
fn pools(location: usize) -> [(Ipv4Addr, u8); 4] {
    let i = location as u8;
    [
        (Ipv4Addr::new(100, 64 + i, 0, 0), 17),
        (Ipv4Addr::new(100, 64 + i, 128, 0), 17),
        (Ipv4Addr::new(10, 200 + i, 0, 0), 17),
        (Ipv4Addr::new(100, 96 + i, 0, 0), 28),
    ]
}

/// The `k`th address handed out of a pool: after the network address and the gateway.
fn host(pool: (Ipv4Addr, u8), k: u32) -> String {
    Ipv4Addr::from(u32::from(pool.0) + 2 + k).to_string()
}

/// A locally administered MAC from a number; unique per number.
fn mac(n: i64) -> String {
    let b = (n as u32).to_be_bytes();
    format!("52:54:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3])
}

/// `large:N` without its servers: the demo's locations, four pools per location and the
/// one account.
pub fn frame(n: u32) -> Scenario {
    let t = templates();
    let mut subnets = Vec::new();
    for (i, l) in t.demo.locations.iter().enumerate() {
        let kinds = [
            ("public", "ovirt"),
            ("public", "bm"),
            ("ipmi", ""),
            ("nat", ""),
        ];
        for (j, ((net, prefix), (kind, tag))) in pools(i).into_iter().zip(kinds).enumerate() {
            let id = FIRST_SUBNET_ID + 4 * i as i64 + j as i64;
            subnets.push(SubnetSpec {
                id,
                location: l.code.clone(),
                network: format!("{net}/{prefix}"),
                gateway: Ipv4Addr::from(u32::from(net) + 1).to_string(),
                vlan: 100 + id % 3000,
                kind: kind.into(),
                tag: tag.into(),
            });
        }
    }
    let mut account = t.demo.accounts[0].clone();
    account.id = ACCOUNT_ID;
    account.handle = "large".into();
    account.whmcs_id = 300_000;
    account.email = EMAIL.into();
    account.password = PASSWORD.into();
    account.pin = Some(PIN.into());
    account.password_hash = Some(PASSWORD_HASH.into());
    account.pin_hash = Some(PIN_HASH.into());
    account.created_days_ago = Some(900);
    account.api_keys = vec![ApiKeySpec {
        id: 400_000,
        name: "large".into(),
        key: API_KEY.into(),
        server_id: 0,
        ip: String::new(),
        login_notify_method: "none".into(),
        login_notify_address: None,
        active: 1,
    }];
    account.tags = Vec::new();
    account.f2h_keys = Vec::new();
    account.f2h_bans = Vec::new();
    if let Some(b) = account.billing.as_mut().and_then(|b| b.as_object_mut()) {
        b.insert("uuid".into(), "00000000-0000-4000-8000-000000000000".into());
    }
    Scenario {
        name: format!("large-{n}"),
        description: format!(
            "One account with {n} servers (two VMs to one bare-metal server) over the demo's \
             locations, generated by hostkey-emu (--scenario large:{n})."
        ),
        locations: t.demo.locations.clone(),
        subnets,
        accounts: vec![account],
        servers: Vec::new(),
        faults: None,
    }
}

/// [`frame`] as JSON text (what [`super::ScenarioInfo`] keeps).
pub fn frame_text(n: u32) -> String {
    serde_json::to_string(&frame(n)).unwrap_or_default()
}

/// The `i`th server (from 0) of every `large:N` with N > i.
pub fn server(i: u32) -> ServerSpec {
    let t = templates();
    let locations = t.demo.locations.len().max(1);
    let id = FIRST_ID + i64::from(i);
    let location = (id as usize) % locations;
    // Servers of one location are `locations` apart, so this numbers them within it.
    let k = i / locations as u32;
    let vm = i % 3 != 2;
    let [vm_pool, bm_pool, ipmi_pool, _] = pools(location);
    let mut s = if vm { t.vm.clone() } else { t.bm.clone() };
    s.id = id;
    s.account = Some("large".into());
    s.location = t.demo.locations[location].code.clone();
    s.licenses = Vec::new();
    s.registered_days_ago = 1 + id % 800;
    let base = i64::from(i) * PORTS;
    s.interfaces = s
        .interfaces
        .iter()
        .take(PORTS as usize - 1)
        .enumerate()
        .map(|(n, port)| InterfaceSpec {
            id: FIRST_INTERFACE_ID + base + n as i64,
            mac: mac(base + n as i64),
            admin_block: None,
            ips: if n == 0 {
                vec![IpSpec {
                    address: host(if vm { vm_pool } else { bm_pool }, k),
                    main: true,
                    description: String::new(),
                    license_id: None,
                    license_name: None,
                    admin_block: None,
                }]
            } else {
                Vec::new()
            },
            ..port.clone()
        })
        .collect();
    s.ipmi = (!vm).then(|| IpmiSpec {
        id: FIRST_INTERFACE_ID + base + PORTS - 1,
        ip: host(ipmi_pool, k),
        mac: mac(base + PORTS - 1),
    });
    s.tags = s
        .tags
        .iter()
        .take(TAGS as usize)
        .enumerate()
        .map(|(j, tag)| {
            let mut tag = tag.clone();
            tag.id = Some(FIRST_TAG_ID + i64::from(i) * TAGS + j as i64);
            if tag.tag == "hostname" {
                tag.value = format!("large-{id}");
            }
            tag
        })
        .collect();
    s
}

/// The whole `large:N`, its servers made (for checks and tests; the loader takes
/// [`Generated`] servers instead).
pub fn scenario(n: u32) -> Scenario {
    frame(n).with_servers((0..n).map(server).collect())
}

/// The servers of `large:N`, each made when the loader asks for it.
pub fn servers(n: u32) -> Vec<Generated> {
    (0..n).map(Generated).collect()
}

/// A server of `large:N` by number, made on demand.
#[derive(Debug, Clone, Copy)]
pub struct Generated(pub u32);

impl ServerSource for Generated {
    fn spec(&self) -> Result<Cow<'_, ServerSpec>, FieldError> {
        Ok(Cow::Owned(server(self.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_n_is_bounded_with_a_clear_message() {
        assert_eq!(count("demo"), None);
        assert_eq!(count("large:10"), Some(Ok(10)));
        assert_eq!(count("large:100000"), Some(Ok(MAX_SERVERS)));
        for bad in [
            "large:0",
            "large:100001",
            "large:x",
            "large:",
            "large",
            "large:-1",
        ] {
            let e = count(bad).expect("a large scenario").expect_err(bad);
            assert!(e.contains("from 1 to 100000"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_large_scenario_is_consistent_and_the_same_every_time() {
        let sc = scenario(1000);
        sc.check().expect("consistent");
        assert_eq!(sc.servers.len(), 1000);
        let vms = sc.servers.iter().filter(|s| s.kind == "vm").count();
        assert_eq!(vms, 667, "two VMs to one bare-metal server");
        let locations: std::collections::HashSet<_> =
            sc.servers.iter().map(|s| s.location.as_str()).collect();
        assert_eq!(locations.len(), sc.locations.len(), "every location");
        let again = scenario(1000);
        assert_eq!(
            serde_json::to_string(&sc).expect("json"),
            serde_json::to_string(&again).expect("json")
        );
        // A server does not depend on N.
        assert_eq!(
            serde_json::to_value(server(7)).expect("json"),
            serde_json::to_value(&scenario(8).servers[7]).expect("json")
        );
    }

    #[test]
    fn the_largest_scenario_fits_its_pools() {
        // The last servers of each location at N = MAX_SERVERS still check (addresses
        // inside their pools, not the broadcast address).
        let sc = frame(MAX_SERVERS).with_servers(
            (MAX_SERVERS - 30..MAX_SERVERS)
                .map(server)
                .collect::<Vec<_>>(),
        );
        sc.check().expect("consistent");
    }
}
