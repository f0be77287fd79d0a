//! Small validation rules shared by the actions.

use std::net::IpAddr;

use ipnet::IpNet;

/// An API key's IP allow-list: addresses and CIDRs, written with commas and/or spaces.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AllowList {
    entries: Vec<(String, IpNet)>,
}

impl AllowList {
    /// Parses `10.0.0.2, 10.4.6.3/24`; an empty string allows every address.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut entries = Vec::new();
        for item in raw
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
        {
            let net = if item.contains('/') {
                item.parse::<IpNet>()
                    .map_err(|_| format!("invalid ip or network '{item}'"))?
            } else {
                let ip: IpAddr = item
                    .parse()
                    .map_err(|_| format!("invalid ip or network '{item}'"))?;
                IpNet::from(ip)
            };
            if entries.len() >= 64 {
                return Err("too many entries in the ip list (at most 64)".into());
            }
            entries.push((item.to_owned(), net));
        }
        Ok(AllowList { entries })
    }

    /// Allows everything?
    pub fn is_open(&self) -> bool {
        self.entries.is_empty()
    }

    /// Does the list admit this client address?
    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6
                .to_ipv4_mapped()
                .map(IpAddr::V4)
                .unwrap_or(IpAddr::V6(v6)),
            v4 => v4,
        };
        self.is_open() || self.entries.iter().any(|(_, n)| n.contains(&ip))
    }

    /// The list as the API echoes it: space separated.
    pub fn render(&self) -> String {
        self.entries
            .iter()
            .map(|(s, _)| s.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Checks a hostname (RFC 1123 labels, at most 253 characters).
pub fn valid_hostname(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// A PIN is 4 to 8 digits.
pub fn valid_pin(pin: &str) -> bool {
    (4..=8).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit())
}

/// A tag name is at most 64 ASCII letters, digits, `_`, `-`, `.` or `:` (tags.php).
pub fn valid_tag_name(tag: &str) -> bool {
    tag.len() <= 64
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
}

/// Parses a PHP-ish boolean: 1/0, true/false, on/off, yes/no.
pub fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "on" | "yes" => Some(true),
        "0" | "false" | "off" | "no" => Some(false),
        _ => None,
    }
}

/// The subnet tag of public pools for VMs (`ovirt`) or bare metal (`bm`).
pub fn pool_tag(vm: bool) -> &'static str {
    if vm {
        "ovirt"
    } else {
        "bm"
    }
}

/// An API key in the documented format, `<16 hex>-<16 hex>` (decisions.md §7).
pub fn well_formed_key(key: &str) -> bool {
    let b = key.as_bytes();
    b.len() == 33
        && b[16] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 16 || c.is_ascii_hexdigit())
}

/// A value quoted back in an error message, cut to a safe length.
pub fn shorten(v: &str) -> String {
    let s: String = v.chars().take(40).collect();
    if v.chars().count() > 40 {
        format!("{s}...")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_lists_parse_commas_and_cidrs() {
        let l = AllowList::parse("10.0.0.2, 10.4.6.3/24").expect("valid");
        assert_eq!(l.render(), "10.0.0.2 10.4.6.3/24");
        assert!(l.allows("10.0.0.2".parse().expect("ip")));
        assert!(l.allows("10.4.6.200".parse().expect("ip")));
        assert!(!l.allows("10.0.0.3".parse().expect("ip")));
        assert!(l.allows("::ffff:10.0.0.2".parse().expect("ip")));
        assert!(AllowList::parse("")
            .expect("empty")
            .allows("1.2.3.4".parse().expect("ip")));
        assert!(AllowList::parse("10.0.0.300").is_err());
        assert!(AllowList::parse("banana").is_err());
    }

    #[test]
    fn hostnames_and_pins() {
        assert!(valid_hostname("nl-vm-mini.example.com"));
        assert!(!valid_hostname("-bad"));
        assert!(!valid_hostname("under_score"));
        assert!(!valid_hostname(""));
        assert!(valid_pin("1234"));
        assert!(!valid_pin("12a4"));
        assert!(!valid_pin("123"));
        assert_eq!(parse_bool("on"), Some(true));
        assert_eq!(parse_bool("FALSE"), Some(false));
        assert_eq!(parse_bool("maybe"), None);
    }

    #[test]
    fn tag_names_are_short_and_plain() {
        assert!(valid_tag_name("server_number"));
        assert!(valid_tag_name("dc:rack-1.a"));
        assert!(valid_tag_name(&"x".repeat(64)));
        assert!(!valid_tag_name(&"x".repeat(65)));
        assert!(!valid_tag_name("bad tag!"));
        assert!(!valid_tag_name("ünï"));
    }
}
