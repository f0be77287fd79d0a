//! F2HCloud scoped API keys (issue 17), without I/O: the key's strict format, the
//! capabilities a key may be granted, and the CIDR allow-list as the NOC's form takes it
//! (one network per line).

use std::net::IpAddr;

use ipnet::IpNet;

/// What a scoped key may be granted, one by one (the NOC's form plus `reboot`).
pub const CAPABILITIES: &[&str] = &[
    "server_details",
    "reboot",
    "rescue_exit",
    "install_status",
    "ipmi_status",
    "antihack_status",
    "antihack_unban",
    "us_unblock",
    "antispam_status",
    "antispam_unblock",
];

/// A presented key split into its public id and its secret: `f2h.<16 hex>.<secret>`,
/// where the secret is 20 to 128 ASCII letters and digits. Anything else is no key.
pub fn parse_key(presented: &str) -> Option<(&str, &str)> {
    let rest = presented.strip_prefix("f2h.")?;
    let (id, secret) = rest.split_once('.')?;
    let id_ok = id.len() == 16
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let secret_ok =
        (20..=128).contains(&secret.len()) && secret.bytes().all(|b| b.is_ascii_alphanumeric());
    (id_ok && secret_ok).then_some((id, secret))
}

/// The capabilities as granted: each known, none twice, at least one; in the order of
/// [`CAPABILITIES`].
pub fn parse_capabilities(given: &[String]) -> Result<Vec<String>, String> {
    if given.is_empty() {
        return Err("select at least one capability".into());
    }
    for c in given {
        if !CAPABILITIES.contains(&c.as_str()) {
            return Err(format!(
                "unknown capability '{}' (known: {})",
                crate::domain::rules::shorten(c),
                CAPABILITIES.join(", ")
            ));
        }
    }
    Ok(CAPABILITIES
        .iter()
        .filter(|c| given.iter().any(|g| g == *c))
        .map(|c| (*c).to_owned())
        .collect())
}

/// The allow-list as the form takes it: one network per line (an address alone is a
/// host network), blank lines ignored; normalised to the network's own notation.
pub fn parse_cidrs(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let net = match line.parse::<IpNet>() {
            Ok(n) => n.trunc(),
            Err(_) => match line.parse::<IpAddr>() {
                Ok(ip) => IpNet::from(ip),
                Err(_) => {
                    return Err(format!(
                        "'{}' is not a network (one per line, e.g. 203.0.113.4/32)",
                        crate::domain::rules::shorten(line)
                    ))
                }
            },
        };
        let text = net.to_string();
        if !out.contains(&text) {
            out.push(text);
        }
    }
    if out.len() > 64 {
        return Err("at most 64 networks".into());
    }
    Ok(out)
}

/// Whether the caller's address is allowed by the list (an empty list allows anyone); an
/// IPv4-mapped IPv6 address counts as its IPv4 address.
pub fn cidr_allows(cidrs: &[String], caller: IpAddr) -> bool {
    if cidrs.is_empty() {
        return true;
    }
    let caller = match caller {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(caller, IpAddr::V4),
        v4 => v4,
    };
    cidrs
        .iter()
        .filter_map(|c| c.parse::<IpNet>().ok())
        .any(|n| n.contains(&caller))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_parsed_strictly() {
        let good = "f2h.deadbeefcafebabe.Example0Replace0With0Your0Real0Key0Here";
        assert_eq!(
            parse_key(good),
            Some((
                "deadbeefcafebabe",
                "Example0Replace0With0Your0Real0Key0Here"
            ))
        );
        for bad in [
            "",
            "f2h.",
            "f2h.deadbeefcafebabe",
            "F2H.deadbeefcafebabe.Example0Replace0With0Your0Real0Key0Here",
            "f2h.DEADBEEFCAFEBABE.Example0Replace0With0Your0Real0Key0Here",
            "f2h.deadbeefcafebab.Example0Replace0With0Your0Real0Key0Here",
            "f2h.deadbeefcafebabe.short",
            "f2h.deadbeefcafebabe.Example0Replace0With0Your0Real0Key0Here.x",
            "f2h.deadbeefcafebabe.Example0Replace0With0Your0Real-Key0Here",
            " f2h.deadbeefcafebabe.Example0Replace0With0Your0Real0Key0Here",
        ] {
            assert_eq!(parse_key(bad), None, "{bad}");
        }
    }

    #[test]
    fn capabilities_need_one_known_name_at_least() {
        assert!(parse_capabilities(&[]).is_err());
        assert!(parse_capabilities(&["root".into()]).is_err());
        assert_eq!(
            parse_capabilities(&["reboot".into(), "server_details".into(), "reboot".into()])
                .expect("ok"),
            vec!["server_details", "reboot"]
        );
    }

    #[test]
    fn the_allow_list_is_one_network_per_line() {
        let nets = parse_cidrs("203.0.113.4/32\n\n 10.1.2.3/8 \n2001:db8::1\n").expect("ok");
        assert_eq!(
            nets,
            vec!["203.0.113.4/32", "10.0.0.0/8", "2001:db8::1/128"]
        );
        assert!(parse_cidrs("203.0.113.4/33").is_err());
        assert!(parse_cidrs("anywhere").is_err());
        assert!(cidr_allows(&nets, "10.9.9.9".parse().expect("ip")));
        assert!(cidr_allows(&nets, "::ffff:10.9.9.9".parse().expect("ip")));
        assert!(!cidr_allows(&nets, "127.0.0.1".parse().expect("ip")));
        assert!(cidr_allows(&[], "127.0.0.1".parse().expect("ip")));
    }
}
