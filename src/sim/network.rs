//! Switch, oVirt and router output for network operations (001 "net/get_status",
//! "net/port_off", "net/port_on", NAT).

use serde_json::json;

use crate::store::servers::{Interface, Server};

/// The switch a bare-metal port hangs off, named like a data-centre switch.
pub fn switch_name(server: &Server, iface: &Interface) -> String {
    let rack = (server.id % 40) + 1;
    format!(
        "{}-sw{:02}",
        server.location.to_ascii_lowercase(),
        rack + iface.id % 2
    )
}

/// `net/get_status`: the scope (a JSON string) and the debug text.
pub fn port_status(
    server: &Server,
    iface: &Interface,
    vlan: i64,
    macs: &[String],
) -> (String, String) {
    let up = iface.status == "enable";
    if server.is_vm() {
        let scope = json!({
            "switch": "virtual", "port": "virtual", "vlan": format!("v{vlan}"), "speed": iface.speed.to_string(),
            "status": if up { "connected" } else { "disconnected" }, "mac": macs, "port_security": "", "shape": "",
            "interface": iface.r#type,
        });
        return (scope.to_string(), "get status port via Ovirt API".into());
    }
    let status = match (up, iface.blocked_by.as_deref()) {
        (true, _) => "up",
        (false, Some("admin")) => "admin down",
        (false, _) => "down",
    };
    let shape = if server.is_shape == 1 && server.limit_bands < iface.speed {
        format!("{}M", server.limit_bands)
    } else {
        String::new()
    };
    let scope = json!({
        "switch": switch_name(server, iface), "port": iface.switch_port, "vlan": format!("v{vlan}"),
        "speed": iface.speed.to_string(), "status": status, "mac": macs, "port_security": "enabled",
        "shape": shape, "interface": iface.r#type,
    });
    let debug = format!(
        "Physical interface: {port}, {en}, Physical link is {link}\n  Description: {id} {ifname}\n  \
         Link-level type: Ethernet, MTU: 1514, Speed: {speed}mbps, Duplex: Full-Duplex\n  \
         VLAN: v{vlan} ({vlan}), MAC: {mac}\n",
        port = iface.switch_port,
        en = if up { "Enabled" } else { "Administratively down" },
        link = if up { "Up" } else { "Down" },
        id = server.id,
        ifname = iface.r#type,
        speed = iface.speed,
        mac = macs.first().cloned().unwrap_or_default(),
    );
    (scope.to_string(), debug)
}

/// RouterOS command that maps a public address to an IPMI address.
pub fn nat_add_debug(public: &str, private: &str) -> String {
    format!("/ip/firewall/nat/add=action=dst-nat=chain=dstnat=dst-address={public}=to-addresses={private}=.proplist=chain")
}

/// RouterOS command that removes a rule.
pub fn nat_remove_debug(router_id: &str) -> String {
    format!("/ip/firewall/nat/remove=.id={router_id}=.proplist=chain")
}

/// A RouterOS rule id such as `*42B`.
pub fn router_id(rule_id: i64) -> String {
    format!("*{:X}", 0x400 + rule_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::power::tests::server;

    fn iface(status: &str, by: Option<&str>) -> Interface {
        Interface {
            id: 7,
            server_id: 40101,
            r#type: "eth0".into(),
            mac: "56:6f:ff:5b:08:7b".into(),
            is_main: 1,
            is_virt: 0,
            status: status.into(),
            switch_owner: String::new(),
            switch_model: "virtual".into(),
            switch_port: "ge-0/0/17".into(),
            speed: 1000,
            blocked_by: by.map(str::to_owned),
        }
    }

    #[test]
    fn vm_ports_read_like_ovirt_and_bare_metal_like_a_switch() {
        let (scope, debug) = port_status(
            &server("vm", "on", "ovirt"),
            &iface("enable", None),
            415,
            &["m".into()],
        );
        let v: serde_json::Value = serde_json::from_str(&scope).expect("json scope");
        assert_eq!(v["switch"], "virtual");
        assert_eq!(v["vlan"], "v415");
        assert_eq!(v["status"], "connected");
        assert_eq!(debug, "get status port via Ovirt API");
        let (scope, debug) = port_status(
            &server("bm", "on", "Supermicro"),
            &iface("disable", Some("admin")),
            604,
            &[],
        );
        let v: serde_json::Value = serde_json::from_str(&scope).expect("json scope");
        assert_eq!(v["status"], "admin down");
        assert!(debug.contains("Administratively down"));
        assert_eq!(
            nat_remove_debug(&router_id(43)),
            "/ip/firewall/nat/remove=.id=*42B=.proplist=chain"
        );
    }
}
