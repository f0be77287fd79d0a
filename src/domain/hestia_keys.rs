//! The Hestia face's rules without I/O (hestia-protocol.md A.4–A.10): the command list
//! (`domain::hestia::commands`), the API profiles Hestia ships, the formats of
//! access keys and legacy keys, the IP allow-list, the exit-code to HTTP status map, and the
//! listings of the face's own commands (access keys, API profiles) in Hestia's formats.

use rand::Rng;

pub use crate::domain::hestia::commands::Command;

/// The command `name`, when Hestia has it (the list in `domain::hestia::commands`).
pub fn command(name: &str) -> Option<&'static Command> {
    crate::domain::hestia::commands::lookup(name)
}

/// `check_args`' answer to too few arguments: `Usage: <cmd> <OPTIONS>` (exit 1, E_ARGS).
pub fn usage(name: &str) -> String {
    match command(name) {
        Some(c) if !c.options.is_empty() && c.options != "NONE" => {
            format!("Usage: {name} {}", c.options)
        }
        _ => format!("Usage: {name}"),
    }
}

/// Whether a `cmd` has only the characters Hestia accepts (`^[a-zA-Z0-9_-]+$`).
pub fn is_command_name(cmd: &str) -> bool {
    !cmd.is_empty()
        && cmd
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// An API profile (`/usr/local/hestia/data/api/<name>`): its role and commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    pub name: &'static str,
    /// `admin` or `user`: who may hold a key with it.
    pub role: &'static str,
    pub commands: &'static [&'static str],
}

/// The profiles Hestia 1.10 ships (`install/common/api/`), in `ls` order.
pub const PROFILES: &[Profile] = &[
    Profile {
        name: "billing",
        role: "admin",
        commands: &[
            "v-add-user",
            "v-delete-user",
            "v-suspend-user",
            "v-unsuspend-user",
            "v-change-user-shell",
            "v-list-user",
            "v-list-users",
            "v-make-tmp-file",
            "v-add-domain",
            "v-change-user-package",
            "v-change-user-password",
        ],
    },
    Profile {
        name: "mail-accounts",
        role: "user",
        commands: &[
            "v-list-mail-domains",
            "v-list-mail-domain",
            "v-list-mail-account",
            "v-list-mail-accounts",
            "v-list-mail-account-autoreply",
            "v-delete-mail-account",
            "v-delete-mail-account-alias",
            "v-delete-mail-account-autoreply",
            "v-delete-mail-account-forward",
            "v-delete-mail-account-fwd-only",
            "v-add-mail-account",
            "v-add-mail-account-alias",
            "v-add-mail-account-autoreply",
            "v-add-mail-account-forward",
            "v-add-mail-account-fwd-only",
            "v-change-mail-account-password",
            "v-change-mail-account-quota",
            "v-suspend-mail-account",
            "v-suspend-mail-accounts",
            "v-unsuspend-mail-account",
            "v-unsuspend-mail-accounts",
        ],
    },
    Profile {
        name: "phpmyadmin-sso",
        role: "admin",
        commands: &["v-add-database-temp-user", "v-delete-database-temp-user"],
    },
    Profile {
        name: "purge-nginx-cache",
        role: "user",
        commands: &[
            "v-purge-nginx-cache",
            "v-list-web-domains",
            "v-list-web-domain",
        ],
    },
    Profile {
        name: "sync-dns-cluster",
        role: "admin",
        commands: &[
            "v-list-users",
            "v-list-sys-config",
            "v-list-user",
            "v-add-cron-restart-job",
            "v-delete-dns-domains-src",
            "v-insert-dns-domain",
            "v-insert-dns-record",
            "v-insert-dns-records",
            "v-rebuild-dns-domain",
            "v-rebuild-dns-domains",
            "v-delete-dns-record",
            "v-make-tmp-file",
            "v-delete-dns-domain",
        ],
    },
    Profile {
        name: "update-dns-records",
        role: "user",
        commands: &["v-list-dns-records", "v-change-dns-record"],
    },
];

/// The profile `name`, when Hestia ships it.
pub fn profile(name: &str) -> Option<&'static Profile> {
    PROFILES.iter().find(|p| p.name == name)
}

/// The profile names of a stored PERMISSIONS value (a comma list; '' = none).
pub fn permission_names(permissions: &str) -> Vec<&str> {
    permissions
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect()
}

/// Whether a key with these PERMISSIONS may run `cmd` (`check_access_key_cmd`): the union
/// of its profiles' commands; no profile at all means every command, for ROOT_USER's keys
/// only.
pub fn key_allows(permissions: &str, owner_is_root: bool, cmd: &str) -> bool {
    let names = permission_names(permissions);
    if names.is_empty() {
        return owner_is_root;
    }
    names
        .iter()
        .filter_map(|n| profile(n))
        .any(|p| p.commands.contains(&cmd))
}

/// A new ACCESS_KEY_ID: 20 characters from `[0-9A-Za-z]`.
pub fn new_access_key_id() -> String {
    random_from(
        b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
        20,
    )
}

/// A new SECRET_ACCESS_KEY: 40 characters from `[0-9A-Za-z_\-=]`.
pub fn new_secret_access_key() -> String {
    random_from(
        b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-=",
        40,
    )
}

/// A new legacy API key (`v-generate-api-key`): 32 characters from `[A-Za-z0-9_-]`.
pub fn new_legacy_key() -> String {
    random_from(
        b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-",
        32,
    )
}

fn random_from(alphabet: &[u8], n: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..n)
        .map(|_| alphabet[rng.gen_range(0..alphabet.len())] as char)
        .collect()
}

/// `^[[:alnum:]]{20}$`: the format `v-check-access-key` wants for a key id.
pub fn is_access_key_id(id: &str) -> bool {
    id.len() == 20 && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// `^[[:alnum:]|_.+/^~=%-]{40}$`: the format `v-check-access-key` wants for a secret.
pub fn is_secret_access_key(secret: &str) -> bool {
    secret.len() == 40
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"|_.+/^~=%-".contains(&b))
}

/// The `hash` field read as `ACCESS_KEY_ID:SECRET_ACCESS_KEY` (exactly one `:`, parts of
/// 20 and 40 characters); `None`: a legacy key.
pub fn split_access_hash(hash: &str) -> Option<(&str, &str)> {
    let (id, secret) = hash.split_once(':')?;
    (!secret.contains(':') && id.len() == 20 && secret.len() == 40).then_some((id, secret))
}

/// Which allow-list reading applies: the access-key path also takes `0.0.0.0` as allow-all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    Legacy,
    AccessKey,
}

/// `API_ALLOWED_IP` against the caller (already without an `::ffff:` prefix): `allow-all`,
/// or an entry exactly equal to the address (no CIDR); an empty list refuses everyone.
pub fn ip_allowed(allowed: &str, client: &str, path: Path) -> bool {
    let entries: Vec<&str> = allowed
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    if allowed.trim() == "allow-all" {
        return true;
    }
    entries
        .iter()
        .any(|e| *e == client || (path == Path::AccessKey && *e == "0.0.0.0"))
}

/// The client address as Hestia compares it: an IPv4-mapped IPv6 address as plain IPv4.
pub fn client_ip(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => v6.to_string(),
        },
        v4 => v4.to_string(),
    }
}

/// `exit_code_to_http_code` (A.5): the HTTP status of an exit code on the access-key path.
pub fn http_status(exit: u16) -> u16 {
    match exit {
        0 => 200,
        1 => 400,
        2 => 422,
        5 | 6 | 9 | 10 | 21 => 401,
        n if n >= 100 => n,
        _ => 400,
    }
}

/// PHP's `json_decode($output)` is truthy: what makes the access-key path answer
/// `application/json` (an empty list `{\n}` decodes to `[]`, which is not).
pub fn json_truthy(output: &str) -> bool {
    use serde_json::Value;
    match serde_json::from_str::<Value>(output) {
        Ok(Value::Object(o)) => !o.is_empty(),
        Ok(Value::Array(a)) => !a.is_empty(),
        Ok(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Ok(Value::String(s)) => !s.is_empty() && s != "0",
        Ok(Value::Bool(b)) => b,
        _ => false,
    }
}

/// An access key as its listings show it (the secret only right after it was made).
#[derive(Debug, Clone)]
pub struct KeyView {
    pub id: String,
    /// The secret, only in `v-add-access-key`'s own answer (later it is a digest).
    pub secret: Option<String>,
    pub user: String,
    pub permissions: String,
    pub comment: String,
    /// `TIME` (`HH:MM:SS`) and `DATE` (`YYYY-MM-DD`).
    pub time: String,
    pub date: String,
}

/// `TIME` and `DATE` of a moment (Unix seconds), as Hestia writes them.
pub fn time_date(at: i64) -> (String, String) {
    let d = chrono::DateTime::<chrono::Utc>::from_timestamp(at, 0).unwrap_or_default();
    (
        d.format("%H:%M:%S").to_string(),
        d.format("%Y-%m-%d").to_string(),
    )
}

/// A JSON string as Hestia's scripts print it.
fn js(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

fn json_array(items: &[&str]) -> String {
    format!(
        "[{}]",
        items.iter().map(|i| js(i)).collect::<Vec<_>>().join(", ")
    )
}

/// `v-list-access-key ID FORMAT` (also `v-add-access-key`'s answer); `None` for a format
/// Hestia does not know (it prints nothing).
pub fn render_key(k: &KeyView, format: &str) -> Option<String> {
    let secret = k.secret.as_deref().unwrap_or("");
    let perms = permission_names(&k.permissions);
    Some(match format {
        "json" => format!(
            "{{\n    \"ACCESS_KEY_ID\": {},\n    \"SECRET_ACCESS_KEY\": {},\n    \"USER\": {},\n    \
             \"PERMISSIONS\": {},\n    \"COMMENT\": {},\n    \"TIME\": {},\n    \"DATE\": {}\n}}",
            js(&k.id),
            js(secret),
            js(&k.user),
            json_array(&perms),
            js(&k.comment),
            js(&k.time),
            js(&k.date)
        ),
        "plain" => format!("{}:{secret}", k.id),
        "csv" => format!(
            "ACCESS_KEY_ID,SECRET_ACCESS_KEY,USER,PERMISSIONS,COMMENT,TIME,DATE\n{},{secret},{},\"{}\",\"{}\",{},{}",
            k.id, k.user, k.permissions, k.comment, k.time, k.date
        ),
        "shell" => table(
            &["ACCESS_KEY_ID", "SECRET_ACCESS_KEY", "USER", "PERMISSIONS", "COMMENT"],
            &[vec![
                k.id.clone(),
                secret.to_owned(),
                k.user.clone(),
                k.permissions.clone(),
                k.comment.clone(),
            ]],
        ),
        _ => return None,
    })
}

/// `v-list-access-keys [USER] FORMAT`: keyed by key id, without the secrets.
pub fn render_keys(keys: &[KeyView], format: &str) -> Option<String> {
    Some(match format {
        "json" => {
            let mut out = String::from("{");
            for (i, k) in keys.iter().enumerate() {
                out += &format!(
                    "\n    {}: {{\n        \"ACCESS_KEY_ID\": {},\n        \"USER\": {},\n        \
                     \"PERMISSIONS\": {},\n        \"COMMENT\": {},\n        \"TIME\": {},\n        \"DATE\": {}\n    }}{}",
                    js(&k.id),
                    js(&k.id),
                    js(&k.user),
                    json_array(&permission_names(&k.permissions)),
                    js(&k.comment),
                    js(&k.time),
                    js(&k.date),
                    if i + 1 < keys.len() { "," } else { "" }
                );
            }
            out + "\n}"
        }
        "plain" => keys
            .iter()
            .map(|k| {
                format!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    k.id, k.user, k.permissions, k.comment, k.time, k.date
                )
            })
            .collect::<Vec<_>>()
            .join("\n"),
        "csv" => {
            let mut out = String::from("ACCESS_KEY_ID,USER,PERMISSIONS,COMMENT,TIME,DATE");
            for k in keys {
                out += &format!(
                    "\n{},{},\"{}\",\"{}\",{},{}",
                    k.id, k.user, k.permissions, k.comment, k.time, k.date
                );
            }
            out
        }
        "shell" => table(
            &["ID", "USER", "PERMISSIONS", "COMMENT", "DATE"],
            &keys
                .iter()
                .map(|k| {
                    vec![
                        k.id.clone(),
                        k.user.clone(),
                        k.permissions.clone(),
                        k.comment.clone(),
                        k.date.clone(),
                    ]
                })
                .collect::<Vec<_>>(),
        ),
        _ => return None,
    })
}

/// `v-list-apis FORMAT`: every profile with its role and commands.
pub fn render_profiles(format: &str) -> Option<String> {
    Some(match format {
        "json" => {
            let mut out = String::from("{");
            for (i, p) in PROFILES.iter().enumerate() {
                out += &format!(
                    "\n    {}: {{\n        \"COMMANDS\": {},\n        \"ROLE\": {}\n    }}{}",
                    js(p.name),
                    json_array(p.commands),
                    js(p.role),
                    if i + 1 < PROFILES.len() { "," } else { "" }
                );
            }
            out + "\n}"
        }
        "plain" => PROFILES
            .iter()
            .map(|p| format!("{}\t{}\t{}", p.name, p.role, p.commands.join(",")))
            .collect::<Vec<_>>()
            .join("\n"),
        "csv" => {
            let mut out = String::from("API,ROLE,COMMANDS");
            for p in PROFILES {
                out += &format!("\n{},{},\"{}\"", p.name, p.role, p.commands.join(","));
            }
            out
        }
        "shell" => table(
            &["API", "ROLE", "COMMANDS"],
            &PROFILES
                .iter()
                .map(|p| vec![p.name.to_owned(), p.role.to_owned(), p.commands.join(",")])
                .collect::<Vec<_>>(),
        ),
        _ => return None,
    })
}

/// `v-list-api NAME FORMAT`: one profile.
pub fn render_profile(p: &Profile, format: &str) -> Option<String> {
    Some(match format {
        "json" => format!(
            "{{\n    \"API\": {},\n    \"ROLE\": {},\n    \"COMMANDS\": {}\n}}",
            js(p.name),
            js(p.role),
            json_array(p.commands)
        ),
        "plain" => format!("{}\t{}\t{}", p.name, p.role, p.commands.join(",")),
        "csv" => format!(
            "API,ROLE,COMMANDS\n{},{},\"{}\"",
            p.name,
            p.role,
            p.commands.join(",")
        ),
        "shell" => format!(
            "API:        {}\nROLE:       {}\nCOMMANDS:   {}",
            p.name,
            p.role,
            p.commands.join(",")
        ),
        _ => return None,
    })
}

/// The `shell` format: a header, a dashed line, columns padded as `column -t` pads them.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    let mut out = vec![
        line(header.iter().map(|h| h.to_string()).collect()),
        line(header.iter().map(|h| "-".repeat(h.len())).collect()),
    ];
    out.extend(rows.iter().map(|r| line(r.clone())));
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_list_gives_options_and_the_user_position() {
        let c = command("v-add-access-key").expect("listed");
        assert_eq!(c.options, "USER [PERMISSIONS] [COMMENT] [FORMAT]");
        assert_eq!(c.user_arg, 1);
        assert_eq!(command("v-list-sys-config").expect("listed").user_arg, 0);
        assert!(
            command("v-update-dns-record").is_none(),
            "not a Hestia command"
        );
        assert!(crate::domain::hestia::commands::all().len() > 500);
        assert_eq!(
            usage("v-add-user"),
            "Usage: v-add-user USER PASSWORD EMAIL [PACKAGE] [NAME] [LASTNAME]"
        );
    }

    #[test]
    fn command_names_take_letters_digits_dash_and_underscore_only() {
        assert!(is_command_name("v-list-users"));
        assert!(is_command_name("v_x-1"));
        assert!(!is_command_name(""));
        assert!(!is_command_name("v-list-users;id"));
        assert!(!is_command_name("../v-x"));
    }

    #[test]
    fn keys_have_the_documented_formats() {
        let (id, secret, legacy) = (
            new_access_key_id(),
            new_secret_access_key(),
            new_legacy_key(),
        );
        assert!(is_access_key_id(&id), "{id}");
        assert!(is_secret_access_key(&secret), "{secret}");
        assert_eq!(legacy.len(), 32);
        assert!(is_secret_access_key(
            "lcp45pvgZh0f_33veMB2P6HDVUYpYeHjTatZ=hDu"
        ));
        assert!(!is_access_key_id("short"));
        assert!(!is_secret_access_key(&"a".repeat(39)));
        let hash = format!("{id}:{secret}");
        assert_eq!(
            split_access_hash(&hash),
            Some((id.as_str(), secret.as_str()))
        );
        assert_eq!(split_access_hash(&legacy), None);
        assert_eq!(split_access_hash(&format!("{id}:{secret}:")), None);
    }

    #[test]
    fn the_allow_list_is_exact_and_only_access_keys_read_0_0_0_0_as_everyone() {
        assert!(!ip_allowed("", "127.0.0.1", Path::Legacy));
        assert!(ip_allowed("allow-all", "10.0.0.1", Path::Legacy));
        assert!(ip_allowed("10.0.0.1,127.0.0.1", "127.0.0.1", Path::Legacy));
        assert!(!ip_allowed("127.0.0.0", "127.0.0.1", Path::AccessKey));
        assert!(ip_allowed("0.0.0.0", "8.8.8.8", Path::AccessKey));
        assert!(!ip_allowed("0.0.0.0", "8.8.8.8", Path::Legacy));
        let mapped: std::net::IpAddr = "::ffff:127.0.0.1".parse().expect("ip");
        assert_eq!(client_ip(mapped), "127.0.0.1");
    }

    #[test]
    fn exit_codes_map_to_the_documented_statuses() {
        let map: Vec<u16> = [0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 21, 405]
            .iter()
            .map(|c| http_status(*c))
            .collect();
        assert_eq!(
            map,
            [200, 400, 422, 400, 400, 401, 401, 400, 401, 401, 400, 401, 405]
        );
    }

    #[test]
    fn json_output_is_json_only_when_php_would_call_it_truthy() {
        assert!(json_truthy("{\"a\":{\"B\":\"1\"}}"));
        assert!(!json_truthy("{\n}"));
        assert!(!json_truthy("0"));
        assert!(!json_truthy("OK"));
        assert!(json_truthy("5"));
    }

    #[test]
    fn permissions_are_the_union_of_the_profiles_and_empty_is_root_only() {
        assert!(key_allows("billing", false, "v-add-user"));
        assert!(!key_allows("billing", true, "v-add-dns-domain"));
        assert!(key_allows(
            "billing,update-dns-records",
            false,
            "v-change-dns-record"
        ));
        assert!(key_allows("", true, "v-anything"));
        assert!(!key_allows("", false, "v-list-users"));
    }

    #[test]
    fn key_listings_follow_the_documented_json_shapes() {
        let k = KeyView {
            id: "A".repeat(20),
            secret: Some("s".repeat(40)),
            user: "admin".into(),
            permissions: "billing,sync-dns-cluster".into(),
            comment: "whmcs".into(),
            time: "10:00:00".into(),
            date: "2026-01-02".into(),
        };
        let one: serde_json::Value =
            serde_json::from_str(&render_key(&k, "json").expect("json")).expect("parses");
        assert_eq!(one["SECRET_ACCESS_KEY"], "s".repeat(40));
        assert_eq!(one["PERMISSIONS"][1], "sync-dns-cluster");
        assert_eq!(
            render_key(&k, "plain").expect("plain"),
            format!("{}:{}", k.id, "s".repeat(40))
        );
        assert_eq!(render_key(&k, "yaml"), None);
        let all: serde_json::Value =
            serde_json::from_str(&render_keys(std::slice::from_ref(&k), "json").expect("json"))
                .expect("parses");
        assert!(all[&k.id].get("SECRET_ACCESS_KEY").is_none());
        assert_eq!(all[&k.id]["USER"], "admin");
        assert_eq!(render_keys(&[], "json").as_deref(), Some("{\n}"));
        let apis: serde_json::Value =
            serde_json::from_str(&render_profiles("json").expect("json")).expect("parses");
        assert_eq!(apis["billing"]["ROLE"], "admin");
        let one: serde_json::Value = serde_json::from_str(
            &render_profile(profile("update-dns-records").expect("shipped"), "json").expect("json"),
        )
        .expect("parses");
        assert_eq!(one["COMMANDS"][1], "v-change-dns-record");
    }
}
