//! DNS zones and records without I/O (issue 12, `pdns.php` and the DNS server): zone and
//! record names, the record types the provider hosts and their content rules, SOA serials,
//! and the zone-file text of `/_emu/dns/{zone}`.
//!
//! Names are kept normalized: lower case, no trailing dot (`www.example.com`). Content is
//! kept in PowerDNS' presentation form (host names with a trailing dot, TXT quoted, MX and
//! SRV with their numbers in front), which is what `view_zone` shows and what the DNS
//! server turns into wire records.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::domain::rules::shorten;

/// Longest name, in characters (RFC 1035, without the trailing dot).
pub const MAX_NAME: usize = 253;
/// Shortest and longest TTL a record may have (the Terraform provider's bounds).
pub const MIN_TTL: i64 = 60;
pub const MAX_TTL: i64 = 2_147_483_647;
/// TTL of a record sent without one (001: 3600).
pub const DEFAULT_TTL: i64 = 3600;
/// Longest TXT record (all its strings), in bytes.
pub const MAX_TXT: usize = 4000;
/// The provider's name servers: a zone made by `add_domain` gets them (001 add_zone).
pub const DEFAULT_NAMESERVERS: [&str; 2] = ["ns1.hostkey.com", "ns2.hostkey.com"];

/// The record types the provider hosts (SOA is the zone's own, set through `dns[...]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RType {
    A,
    Aaaa,
    Cname,
    Mx,
    Txt,
    Ns,
    Srv,
    Caa,
    Ptr,
}

impl RType {
    pub const ALL: [RType; 9] = [
        RType::A,
        RType::Aaaa,
        RType::Cname,
        RType::Mx,
        RType::Txt,
        RType::Ns,
        RType::Srv,
        RType::Caa,
        RType::Ptr,
    ];

    /// The type's name as DNS writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            RType::A => "A",
            RType::Aaaa => "AAAA",
            RType::Cname => "CNAME",
            RType::Mx => "MX",
            RType::Txt => "TXT",
            RType::Ns => "NS",
            RType::Srv => "SRV",
            RType::Caa => "CAA",
            RType::Ptr => "PTR",
        }
    }

    /// A type name, any case.
    pub fn parse(raw: &str) -> Result<RType, String> {
        let t = raw.trim();
        RType::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(t))
            .ok_or_else(|| {
                if t.eq_ignore_ascii_case("SOA") {
                    "the SOA record is the zone's own: change it with mname, rname and dns[...]"
                        .to_owned()
                } else {
                    format!(
                        "unknown record type '{}', expected one of A, AAAA, CNAME, MX, TXT, NS, SRV, CAA, PTR",
                        shorten(t)
                    )
                }
            })
    }

    /// Does the type carry a priority (MX preference, SRV priority)?
    pub fn has_priority(self) -> bool {
        matches!(self, RType::Mx | RType::Srv)
    }
}

/// One label of a name: 1 to 63 letters, digits, `-` or `_`, no `-` at either end.
fn valid_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= 63
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

/// A zone name: normalized, with at least two labels.
pub fn zone_name(raw: &str) -> Result<String, String> {
    let name = raw.trim().trim_end_matches('.').to_ascii_lowercase();
    if name.len() > MAX_NAME
        || !name.contains('.')
        || !name.split('.').all(valid_label)
        || name.starts_with('_')
    {
        return Err(format!(
            "invalid zone name '{}', expected a domain such as example.com",
            shorten(raw.trim())
        ));
    }
    Ok(name)
}

/// The full name of a record of `zone`: `''` and `@` are the apex; a name ending in a dot,
/// equal to the zone or ending in `.zone` is taken as full; anything else is relative to
/// the zone. A leading `*` label makes a wildcard. A name outside the zone is refused.
pub fn record_name(raw: &str, zone: &str) -> Result<String, String> {
    let t = raw.trim();
    let lower = t.to_ascii_lowercase();
    let full = if t.is_empty() || t == "@" {
        zone.to_owned()
    } else if let Some(abs) = lower.strip_suffix('.') {
        abs.to_owned()
    } else if lower == zone || lower.ends_with(&format!(".{zone}")) {
        lower
    } else {
        format!("{lower}.{zone}")
    };
    if full != zone && !full.ends_with(&format!(".{zone}")) {
        return Err(format!(
            "record name '{}' is outside zone {zone}",
            shorten(t)
        ));
    }
    let labels: Vec<&str> = full.split('.').collect();
    let ok = full.len() <= MAX_NAME
        && labels
            .iter()
            .enumerate()
            .all(|(i, l)| valid_label(l) || (i == 0 && *l == "*"));
    if !ok {
        return Err(format!("invalid record name '{}'", shorten(t)));
    }
    Ok(full)
}

/// A name as seen from its zone: `@` for the apex, else the labels before the zone.
pub fn relative(name: &str, zone: &str) -> String {
    if name == zone {
        return "@".to_owned();
    }
    name.strip_suffix(&format!(".{zone}"))
        .unwrap_or(name)
        .to_owned()
}

/// A host name a record points at, fully qualified with its trailing dot. `root_ok`
/// allows `.` (a null MX, an SRV with no service).
pub fn target(raw: &str, what: &str, root_ok: bool) -> Result<String, String> {
    let t = raw.trim();
    if root_ok && t == "." {
        return Ok(".".to_owned());
    }
    let name = t.trim_end_matches('.').to_ascii_lowercase();
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && name.split('.').all(valid_label)
        && name.contains('.')
        && name.parse::<Ipv4Addr>().is_err();
    if !ok {
        return Err(format!(
            "invalid {what} '{}', expected a host name",
            shorten(t)
        ));
    }
    Ok(format!("{name}."))
}

/// Optional fields a record can be given beside its content (001 add_dns: SRV's own
/// fields; the Terraform provider's `priority` for MX and SRV).
#[derive(Debug, Clone, Default)]
pub struct Extra {
    pub priority: Option<i64>,
    pub weight: Option<i64>,
    pub port: Option<i64>,
    pub target: Option<String>,
}

/// A checked record's data: the PowerDNS presentation and its priority (MX, SRV; else 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rdata {
    pub content: String,
    pub priority: i64,
}

fn u16_field(v: i64, what: &str) -> Result<i64, String> {
    if (0..=65_535).contains(&v) {
        Ok(v)
    } else {
        Err(format!("invalid {what} {v}, expected 0 to 65535"))
    }
}

fn u16_text(raw: &str, what: &str) -> Result<i64, String> {
    raw.parse::<i64>()
        .map_err(|_| format!("invalid {what} '{}', expected 0 to 65535", shorten(raw)))
        .and_then(|v| u16_field(v, what))
}

/// Checks one record's content for its type and returns it in presentation form.
pub fn content(t: RType, raw: &str, extra: &Extra) -> Result<Rdata, String> {
    let c = raw.trim();
    let plain = |content: String| {
        Ok(Rdata {
            content,
            priority: 0,
        })
    };
    match t {
        RType::A => match c.parse::<Ipv4Addr>() {
            Ok(ip) => plain(ip.to_string()),
            Err(_) => Err(format!(
                "invalid A record content '{}', expected an IPv4 address",
                shorten(c)
            )),
        },
        RType::Aaaa => match c.parse::<Ipv6Addr>() {
            Ok(ip) => plain(ip.to_string()),
            Err(_) => Err(format!(
                "invalid AAAA record content '{}', expected an IPv6 address",
                shorten(c)
            )),
        },
        RType::Cname => plain(target(c, "CNAME target", false)?),
        RType::Ns => plain(target(c, "NS host", false)?),
        RType::Ptr => plain(target(c, "PTR host", false)?),
        RType::Mx => {
            let parts: Vec<&str> = c.split_whitespace().collect();
            let (pref, host) = match parts.as_slice() {
                [pref, host] => (u16_text(pref, "MX priority")?, *host),
                [host] => (
                    u16_field(extra.priority.unwrap_or(10), "MX priority")?,
                    *host,
                ),
                _ => {
                    return Err(format!(
                        "invalid MX record content '{}', expected [priority] host",
                        shorten(c)
                    ))
                }
            };
            let host = target(host, "MX host", true)?;
            Ok(Rdata {
                content: format!("{pref} {host}"),
                priority: pref,
            })
        }
        RType::Srv => {
            let parts: Vec<&str> = c.split_whitespace().collect();
            let from_fields = |weight: Option<i64>, port: Option<i64>, tgt: Option<&str>| {
                let missing = |f: &str| format!("SRV record needs {f}");
                let prio = u16_field(extra.priority.unwrap_or(0), "SRV priority")?;
                let weight = u16_field(weight.ok_or_else(|| missing("weight"))?, "SRV weight")?;
                let port = u16_field(port.ok_or_else(|| missing("port"))?, "SRV port")?;
                let tgt = target(tgt.ok_or_else(|| missing("target"))?, "SRV target", true)?;
                Ok::<_, String>((prio, weight, port, tgt))
            };
            let (prio, weight, port, tgt) = match parts.as_slice() {
                [p, w, port, tgt] => (
                    u16_text(p, "SRV priority")?,
                    u16_text(w, "SRV weight")?,
                    u16_text(port, "SRV port")?,
                    target(tgt, "SRV target", true)?,
                ),
                [w, port, tgt] => from_fields(
                    Some(u16_text(w, "SRV weight")?),
                    Some(u16_text(port, "SRV port")?),
                    Some(tgt),
                )?,
                [] => from_fields(extra.weight, extra.port, extra.target.as_deref())?,
                _ => {
                    return Err(format!(
                        "invalid SRV record content '{}', expected priority weight port target",
                        shorten(c)
                    ))
                }
            };
            Ok(Rdata {
                content: format!("{prio} {weight} {port} {tgt}"),
                priority: prio,
            })
        }
        RType::Txt => plain(txt(c)?),
        RType::Caa => plain(caa(c)?),
    }
}

/// TXT content in presentation form: quoted strings as given (each at most 255 bytes), or
/// plain text, which is quoted and cut into 255-byte strings.
fn txt(c: &str) -> Result<String, String> {
    if c.is_empty() {
        return Err("TXT record content is empty".to_owned());
    }
    let strings = if c.starts_with('"') {
        let strings = txt_strings(c)?;
        if let Some(long) = strings.iter().find(|s| s.len() > 255) {
            return Err(format!(
                "a TXT string is at most 255 bytes, '{}' has {}",
                shorten(&String::from_utf8_lossy(long)),
                long.len()
            ));
        }
        strings
    } else {
        if c.bytes().any(|b| b < 0x20 && b != b'\t') {
            return Err("TXT record content has control characters".to_owned());
        }
        c.as_bytes().chunks(255).map(<[u8]>::to_vec).collect()
    };
    if strings.iter().map(Vec::len).sum::<usize>() > MAX_TXT {
        return Err(format!("TXT record is too long (at most {MAX_TXT} bytes)"));
    }
    Ok(strings
        .iter()
        .map(|s| quote(s))
        .collect::<Vec<_>>()
        .join(" "))
}

/// One string quoted, `"` and `\` escaped, bytes outside printable ASCII as `\DDD`.
fn quote(s: &[u8]) -> String {
    let mut out = String::from("\"");
    for &b in s {
        match b {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(b as char);
            }
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\{b:03}")),
        }
    }
    out.push('"');
    out
}

/// The strings of TXT (or CAA value) presentation text: `"a" "b"`, escapes `\"`, `\\`,
/// `\DDD`.
pub fn txt_strings(c: &str) -> Result<Vec<Vec<u8>>, String> {
    let bad = || {
        format!(
            "invalid TXT record content '{}': unbalanced quotes",
            shorten(c)
        )
    };
    let mut out = Vec::new();
    let bytes = c.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b' ' | b'\t' => i += 1,
            b'"' => {
                i += 1;
                let mut s = Vec::new();
                loop {
                    match bytes.get(i) {
                        None => return Err(bad()),
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(b'\\') => {
                            let digits = bytes
                                .get(i + 1..i + 4)
                                .filter(|d| d.iter().all(u8::is_ascii_digit));
                            if let Some(d) = digits {
                                let v: u32 = std::str::from_utf8(d)
                                    .ok()
                                    .and_then(|d| d.parse().ok())
                                    .unwrap_or(256);
                                s.push(u8::try_from(v).map_err(|_| bad())?);
                                i += 4;
                            } else {
                                s.push(*bytes.get(i + 1).ok_or_else(bad)?);
                                i += 2;
                            }
                        }
                        Some(&b) => {
                            s.push(b);
                            i += 1;
                        }
                    }
                }
                out.push(s);
            }
            _ => return Err(bad()),
        }
    }
    if out.is_empty() {
        return Err(bad());
    }
    Ok(out)
}

/// CAA content: `flags tag value` (RFC 8659), the value quoted in presentation form.
fn caa(c: &str) -> Result<String, String> {
    let bad = || {
        format!(
            "invalid CAA record content '{}', expected flags tag \"value\" (0 issue \"letsencrypt.org\")",
            shorten(c)
        )
    };
    let mut parts = c.splitn(3, char::is_whitespace);
    let flags = parts
        .next()
        .and_then(|f| f.parse::<u8>().ok())
        .ok_or_else(bad)?;
    let tag = parts
        .next()
        .filter(|t| !t.is_empty() && t.len() <= 15 && t.bytes().all(|b| b.is_ascii_alphanumeric()));
    let tag = tag.ok_or_else(bad)?.to_ascii_lowercase();
    let value = parts.next().map(str::trim).ok_or_else(bad)?;
    let value = if value.starts_with('"') {
        let strings = txt_strings(value).map_err(|_| bad())?;
        if strings.len() != 1 {
            return Err(bad());
        }
        strings.into_iter().next().unwrap_or_default()
    } else {
        value.as_bytes().to_vec()
    };
    if value.len() > 255 {
        return Err(bad());
    }
    Ok(format!("{flags} {tag} {}", quote(&value)))
}

/// The CAA presentation form's parts (for the DNS server): flags, tag, value.
pub fn caa_parts(content: &str) -> Option<(u8, String, Vec<u8>)> {
    let mut parts = content.splitn(3, ' ');
    let flags = parts.next()?.parse().ok()?;
    let tag = parts.next()?.to_owned();
    let value = txt_strings(parts.next()?).ok()?.into_iter().next()?;
    Some((flags, tag, value))
}

/// A TTL in the allowed range.
pub fn ttl(v: i64) -> Result<i64, String> {
    if (MIN_TTL..=MAX_TTL).contains(&v) {
        Ok(v)
    } else {
        Err(format!("invalid ttl {v}, expected {MIN_TTL} to {MAX_TTL}"))
    }
}

/// The SOA administrator mailbox as a name (`admin@example.com` becomes
/// `admin.example.com.`).
pub fn rname(raw: &str) -> Result<String, String> {
    target(&raw.trim().replacen('@', ".", 1), "rname", false)
}

/// The serial after a change (PowerDNS' `DEFAULT` SOA-EDIT-API): the date's first serial
/// `YYYYMMDD01` once the serial is older than `today` (`YYYYMMDD`), else one more.
pub fn next_serial(current: i64, today: i64) -> i64 {
    let first = today * 100 + 1;
    if current < first {
        first
    } else {
        current + 1
    }
}

/// SOA timers and names of a zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Soa {
    pub mname: String,
    pub rname: String,
    pub serial: i64,
    pub refresh: i64,
    pub retry: i64,
    pub expire: i64,
    pub minimum: i64,
    pub ttl: i64,
}

impl Soa {
    /// The SOA record's presentation form.
    pub fn content(&self) -> String {
        format!(
            "{} {} {} {} {} {} {}",
            self.mname,
            self.rname,
            self.serial,
            self.refresh,
            self.retry,
            self.expire,
            self.minimum
        )
    }
}

/// One record line of a zone file.
pub struct Line<'a> {
    pub name: &'a str,
    pub ttl: i64,
    pub rtype: &'a str,
    pub content: &'a str,
}

/// A zone as a zone file (RFC 1035 master file): `$ORIGIN`, the SOA, then each record.
pub fn zone_file(zone: &str, soa: &Soa, records: &[Line<'_>]) -> String {
    let mut out = format!("$ORIGIN {zone}.\n$TTL {}\n", soa.ttl);
    out += &format!("{zone}.\t{}\tIN\tSOA\t{}\n", soa.ttl, soa.content());
    for r in records {
        out += &format!("{}.\t{}\tIN\t{}\t{}\n", r.name, r.ttl, r.rtype, r.content);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_and_record_names_are_normalized_and_kept_inside_the_zone() {
        assert_eq!(zone_name(" Example.COM. ").as_deref(), Ok("example.com"));
        for bad in [
            "",
            "com",
            "-a.com",
            "a..com",
            "a b.com",
            "_x.com",
            &"a.".repeat(130),
        ] {
            assert!(zone_name(bad).is_err(), "{bad:?}");
        }
        let z = "example.com";
        assert_eq!(record_name("", z).as_deref(), Ok("example.com"));
        assert_eq!(record_name("@", z).as_deref(), Ok("example.com"));
        assert_eq!(record_name("WWW", z).as_deref(), Ok("www.example.com"));
        assert_eq!(
            record_name("www.example.com", z).as_deref(),
            Ok("www.example.com")
        );
        assert_eq!(
            record_name("www.example.com.", z).as_deref(),
            Ok("www.example.com")
        );
        assert_eq!(
            record_name("_acme-challenge", z).as_deref(),
            Ok("_acme-challenge.example.com")
        );
        assert_eq!(record_name("*.dev", z).as_deref(), Ok("*.dev.example.com"));
        assert!(record_name("www.other.org.", z)
            .unwrap_err()
            .contains("outside zone"));
        assert!(record_name("a*b", z).is_err());
        assert!(record_name("a.*", z).is_err());
        assert_eq!(relative("www.example.com", z), "www");
        assert_eq!(relative("example.com", z), "@");
    }

    #[test]
    fn each_type_checks_its_content() {
        let x = Extra::default();
        let ok = |t, c: &str| content(t, c, &Extra::default()).map(|r| r.content);
        assert_eq!(ok(RType::A, "10.0.0.1").as_deref(), Ok("10.0.0.1"));
        assert!(ok(RType::A, "10.0.0.256").is_err());
        assert!(ok(RType::A, "::1").is_err());
        assert_eq!(ok(RType::Aaaa, "2001:DB8::1").as_deref(), Ok("2001:db8::1"));
        assert!(ok(RType::Aaaa, "10.0.0.1").is_err());
        assert_eq!(
            ok(RType::Cname, "Target.example.net").as_deref(),
            Ok("target.example.net.")
        );
        assert!(ok(RType::Cname, "1.2.3.4").is_err());
        assert!(ok(RType::Ns, "bad host").is_err());
        let mx = content(
            RType::Mx,
            "mail.example.com",
            &Extra {
                priority: Some(5),
                ..x.clone()
            },
        )
        .expect("mx");
        assert_eq!(
            (mx.content.as_str(), mx.priority),
            ("5 mail.example.com.", 5)
        );
        assert_eq!(
            ok(RType::Mx, "20 mx.example.com.").as_deref(),
            Ok("20 mx.example.com.")
        );
        assert!(ok(RType::Mx, "70000 mx.example.com").is_err());
        let srv = Extra {
            priority: Some(10),
            weight: Some(5),
            port: Some(450),
            target: Some("example.com.".into()),
        };
        assert_eq!(
            content(RType::Srv, "", &srv).map(|r| r.content).as_deref(),
            Ok("10 5 450 example.com.")
        );
        assert_eq!(
            ok(RType::Srv, "1 2 3 sip.example.com").as_deref(),
            Ok("1 2 3 sip.example.com.")
        );
        assert!(ok(RType::Srv, "1 2 99999 sip.example.com").is_err());
        assert!(ok(RType::Srv, "").unwrap_err().contains("needs weight"));
        assert_eq!(
            ok(RType::Txt, "v=spf1 -all").as_deref(),
            Ok("\"v=spf1 -all\"")
        );
        assert_eq!(
            ok(RType::Txt, "\"a\" \"b\\\"c\"").as_deref(),
            Ok("\"a\" \"b\\\"c\"")
        );
        assert!(ok(RType::Txt, "\"unbalanced").is_err());
        assert!(ok(RType::Txt, &format!("\"{}\"", "x".repeat(256))).is_err());
        let long = ok(RType::Txt, &"k".repeat(300)).expect("split");
        assert_eq!(long.matches('"').count(), 4, "two strings");
        assert_eq!(
            ok(RType::Caa, "0 issue letsencrypt.org").as_deref(),
            Ok("0 issue \"letsencrypt.org\"")
        );
        assert_eq!(
            caa_parts("128 iodef \"mailto:a@b.c\""),
            Some((128, "iodef".into(), b"mailto:a@b.c".to_vec()))
        );
        assert!(ok(RType::Caa, "300 issue x").is_err());
        assert_eq!(
            ok(RType::Ptr, "host.example.com").as_deref(),
            Ok("host.example.com.")
        );
        assert!(RType::parse("soa").unwrap_err().contains("zone's own"));
        assert!(RType::parse("HINFO")
            .unwrap_err()
            .contains("unknown record type"));
        assert_eq!(RType::parse("aaaa"), Ok(RType::Aaaa));
    }

    #[test]
    fn serials_move_to_the_day_then_count_and_ttls_have_bounds() {
        assert_eq!(next_serial(2023101800, 20260101), 2026010101);
        assert_eq!(next_serial(2026010101, 20260101), 2026010102);
        assert_eq!(next_serial(2026010299, 20260101), 2026010300);
        assert!(ttl(59).is_err() && ttl(60).is_ok() && ttl(MAX_TTL + 1).is_err());
        assert_eq!(
            rname("admin@example.com").as_deref(),
            Ok("admin.example.com.")
        );
    }
}
