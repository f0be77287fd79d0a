//! Rules of an emulated Hestia panel that need no I/O: name formats (`is_format_valid`),
//! reserved user names, the shipped packages, the DNS template `default.tpl`, the system
//! services, Hestia's TIME/DATE stamps, and the `/tmp/` files `v-make-tmp-file` writes.
//! `listing` renders the four output formats; `commands` is the command list.

pub mod commands;
pub mod listing;

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

/// User names MariaDB/MySQL or sudo would trip over (`v-add-user`'s `is_user_free`).
pub const RESERVED_USERS: [&str; 10] = [
    "aria",
    "aria_log",
    "mysql",
    "mysql_upgrade",
    "ib",
    "ib_buffer",
    "ddl",
    "ddl_recovery",
    "performance",
    "sudo",
];

/// A user name (`is_user_format_valid`): 2 to 30 characters of letters, digits, `-`, `.`,
/// `_`, starting and ending with a letter or digit.
pub fn valid_user(s: &str) -> bool {
    let ok = |c: char| c.is_ascii_alphanumeric();
    (2..=30).contains(&s.len())
        && s.starts_with(ok)
        && s.ends_with(ok)
        && s.chars().all(|c| ok(c) || "-._".contains(c))
}

/// An email address (`is_email_format_valid`): something@domain.tld, no spaces.
pub fn valid_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c == '\'' || c == '"')
}

/// A domain name (`is_domain_format_valid`): dot-separated labels of letters, digits and
/// `-`, none starting or ending with `-`, at most 253 characters; at least two labels.
pub fn valid_domain(s: &str) -> bool {
    s.len() <= 253
        && s.contains('.')
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// A short object name (package, database, mail account, FTP user...): letters, digits,
/// `-`, `.`, `_`, 1 to 64 characters.
pub fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
}

/// A free-text value (NAME, cron command): no control characters, no `\``/`$(`.
pub fn valid_text(s: &str) -> bool {
    !s.chars().any(char::is_control) && !s.contains('`') && !s.contains("$(")
}

/// An IPv4 address.
pub fn valid_ip(s: &str) -> bool {
    s.parse::<std::net::Ipv4Addr>().is_ok()
}

/// A cron time field: `*`, numbers, ranges, lists and steps.
pub fn valid_cron_field(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_digit() || "*,-/".contains(c))
}

/// The limit fields of a package, in `v-list-user-packages`'s order, with the values of
/// the `default` package Hestia ships.
pub fn default_package() -> BTreeMap<String, String> {
    [
        ("WEB_TEMPLATE", "default"),
        ("BACKEND_TEMPLATE", "default"),
        ("PROXY_TEMPLATE", "default"),
        ("DNS_TEMPLATE", "default"),
        ("WEB_DOMAINS", "unlimited"),
        ("WEB_ALIASES", "unlimited"),
        ("DNS_DOMAINS", "unlimited"),
        ("DNS_RECORDS", "unlimited"),
        ("MAIL_DOMAINS", "unlimited"),
        ("MAIL_ACCOUNTS", "unlimited"),
        ("RATE_LIMIT", "200"),
        ("DATABASES", "unlimited"),
        ("CRON_JOBS", "unlimited"),
        ("DISK_QUOTA", "unlimited"),
        ("CPU_QUOTA", "unlimited"),
        ("CPU_QUOTA_PERIOD", "100ms"),
        ("MEMORY_LIMIT", "unlimited"),
        ("SWAP_LIMIT", "unlimited"),
        ("BANDWIDTH", "unlimited"),
        ("NS", "ns1.domain.tld,ns2.domain.tld"),
        ("SHELL", "nologin"),
        ("BACKUPS", "1"),
        ("BACKUPS_INCREMENTAL", "no"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// The packages a fresh panel has: `default`, and `system` (the admin's, `bash`, 10
/// backups...) with their fields.
pub fn shipped_packages() -> Vec<(&'static str, BTreeMap<String, String>)> {
    let default = default_package();
    let mut system = default.clone();
    system.insert("SHELL".into(), "bash".into());
    system.insert("BACKUPS".into(), "10".into());
    system.insert("RATE_LIMIT".into(), "1000".into());
    vec![("default", default), ("system", system)]
}

/// A package limit: `unlimited`, or a number the counter may not reach.
pub fn limit_reached(limit: &str, used: usize) -> bool {
    match limit.parse::<usize>() {
        Ok(n) => used >= n,
        Err(_) => false,
    }
}

/// The records `v-add-dns-domain` writes from the `default.tpl` template, as
/// (RECORD, TYPE, PRIORITY, VALUE): the name servers, the domain's address for `@`, `mail`
/// and the like, `www`/`ftp`/`webmail` CNAMEs, the MX, SPF and DMARC TXT records and the
/// mail SRV records.
pub fn template_records(
    domain: &str,
    ip: &str,
    ns: &[String],
) -> Vec<(String, String, String, String)> {
    let mut out: Vec<(String, String, String, String)> = ns
        .iter()
        .map(|n| ("@".into(), "NS".into(), String::new(), format!("{n}.")))
        .collect();
    let rec = |r: &str, t: &str, p: &str, v: String| (r.to_owned(), t.to_owned(), p.to_owned(), v);
    out.extend([
        rec("@", "A", "", ip.to_owned()),
        rec("www", "CNAME", "", format!("{domain}.")),
        rec("ftp", "CNAME", "", format!("{domain}.")),
        rec("mail", "A", "", ip.to_owned()),
        rec("webmail", "CNAME", "", format!("mail.{domain}.")),
        rec("@", "MX", "0", format!("mail.{domain}.")),
        rec("@", "TXT", "", format!("\"v=spf1 a mx ip4:{ip} -all\"")),
        rec(
            "_dmarc",
            "TXT",
            "",
            "\"v=DMARC1; p=quarantine; pct=100\"".into(),
        ),
        rec("_imap._tcp", "SRV", "0", format!("0 143 mail.{domain}.")),
        rec("_imaps._tcp", "SRV", "0", format!("0 993 mail.{domain}.")),
        rec("_pop3._tcp", "SRV", "0", format!("0 110 mail.{domain}.")),
        rec("_pop3s._tcp", "SRV", "0", format!("0 995 mail.{domain}.")),
        rec(
            "_submission._tcp",
            "SRV",
            "0",
            format!("0 587 mail.{domain}."),
        ),
    ]);
    out
}

/// The services a panel runs (`v-list-sys-services`), with their system names.
pub const SERVICES: [(&str, &str); 13] = [
    ("hestia", "hestia control panel"),
    ("nginx", "web server"),
    ("php8.3-fpm", "php interpreter"),
    ("exim4", "mail server"),
    ("dovecot", "imap/pop3 server"),
    ("clamav-daemon", "email antivirus"),
    ("spamassassin", "email antispam"),
    ("bind9", "dns server"),
    ("mariadb", "database server"),
    ("vsftpd", "ftp server"),
    ("cron", "job scheduler"),
    ("ssh", "ssh server"),
    ("fail2ban", "brute-force monitor"),
];

/// Hestia's TIME and DATE fields of a moment (`date +'%T %F'`).
pub fn time_and_date(secs: i64) -> (String, String) {
    let t = chrono::DateTime::<chrono::Utc>::from_timestamp(secs, 0).unwrap_or_default();
    (
        t.format("%H:%M:%S").to_string(),
        t.format("%Y-%m-%d").to_string(),
    )
}

/// A deterministic small number for believable usage figures (disk, memory), from a name.
pub fn spread(seed: &str, modulo: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    if modulo == 0 {
        0
    } else {
        h % modulo
    }
}

/// Most `/tmp/` files kept (oldest dropped first).
pub const MAX_TMP_FILES: usize = 1024;

/// The `/tmp/` files of every panel that `v-make-tmp-file` wrote, in memory only: like a
/// real `/tmp`, they do not survive a restart, and the passwords they carry never reach
/// the database. Bounded: the oldest file goes when [`MAX_TMP_FILES`] are kept.
#[derive(Debug, Default)]
pub struct TmpFiles(Mutex<VecDeque<(i64, String, String)>>);

impl TmpFiles {
    /// Writes (or overwrites) `/tmp/<name>` of a panel.
    pub fn write(&self, panel_id: i64, name: &str, content: &str) {
        let mut files = self.0.lock().unwrap_or_else(|e| e.into_inner());
        files.retain(|(p, n, _)| !(*p == panel_id && n == name));
        if files.len() >= MAX_TMP_FILES {
            files.pop_front();
        }
        files.push_back((panel_id, name.to_owned(), content.to_owned()));
    }

    /// The first line of `/tmp/<name>` of a panel, if it was written.
    pub fn first_line(&self, panel_id: i64, name: &str) -> Option<String> {
        let files = self.0.lock().unwrap_or_else(|e| e.into_inner());
        files
            .iter()
            .find(|(p, n, _)| *p == panel_id && n == name)
            .map(|(_, _, c)| c.lines().next().unwrap_or("").to_owned())
    }

    /// Forgets every file (a world reset).
    pub fn clear(&self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

/// The file a `/tmp/` password argument names (`is_password_valid`): a path starting with
/// `/tmp/`, without `..`; its base name.
pub fn tmp_path(arg: &str) -> Option<&str> {
    let rest = arg.strip_prefix("/tmp/")?;
    (!rest.is_empty() && !rest.contains("..") && !rest.contains('/')).then_some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_follow_hestias_format() {
        assert!(valid_user("bob"));
        assert!(valid_user("a.b-c_d9"));
        assert!(!valid_user("-bob"));
        assert!(!valid_user("bob_"));
        assert!(!valid_user(""));
        assert!(valid_user(&"a".repeat(30)));
        assert!(!valid_user(&"a".repeat(31)));
        assert!(!valid_user("a"));
        assert!(!valid_user("bo b"));
    }

    #[test]
    fn emails_domains_and_ips_are_checked() {
        assert!(valid_email("bob@example.com"));
        assert!(!valid_email("bob"));
        assert!(!valid_email("bob@localhost"));
        assert!(valid_domain("example.com"));
        assert!(valid_domain("a-b.example.co.uk"));
        assert!(!valid_domain("example"));
        assert!(!valid_domain("-x.com"));
        assert!(!valid_domain("a..com"));
        assert!(valid_ip("10.0.0.1"));
        assert!(!valid_ip("10.0.0"));
    }

    #[test]
    fn limits_are_numbers_or_unlimited() {
        assert!(!limit_reached("unlimited", 1000));
        assert!(limit_reached("1", 1));
        assert!(!limit_reached("2", 1));
        assert!(limit_reached("0", 0));
    }

    #[test]
    fn the_template_has_name_servers_addresses_mail_and_srv_records() {
        let r = template_records(
            "ex.com",
            "1.2.3.4",
            &["ns1.ex.com".into(), "ns2.ex.com".into()],
        );
        assert_eq!(
            r[0],
            ("@".into(), "NS".into(), "".into(), "ns1.ex.com.".into())
        );
        assert!(r.contains(&("@".into(), "MX".into(), "0".into(), "mail.ex.com.".into())));
        assert!(r.contains(&("www".into(), "CNAME".into(), "".into(), "ex.com.".into())));
        assert_eq!(r.iter().filter(|x| x.1 == "SRV").count(), 5);
        assert_eq!(r.len(), 2 + 13);
    }

    #[test]
    fn tmp_files_keep_their_first_line_per_panel_and_are_bounded() {
        let t = TmpFiles::default();
        t.write(1, "pw", "secret\nmore");
        assert_eq!(t.first_line(1, "pw").as_deref(), Some("secret"));
        assert_eq!(t.first_line(2, "pw"), None);
        t.write(1, "pw", "other");
        assert_eq!(t.first_line(1, "pw").as_deref(), Some("other"));
        for i in 0..MAX_TMP_FILES {
            t.write(3, &format!("f{i}"), "x");
        }
        assert_eq!(t.first_line(1, "pw"), None, "the oldest went");
        assert_eq!(tmp_path("/tmp/pw"), Some("pw"));
        assert_eq!(tmp_path("/tmp/../etc/passwd"), None);
        assert_eq!(tmp_path("/etc/pw"), None);
    }
}
