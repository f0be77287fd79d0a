//! S3 storage rules without I/O (issue 13, `s3.php` and the S3 endpoint): the plans and
//! their locations, S3's bucket-name rules, the `s3uid` format and the key types of
//! `show_key`.

use super::rules::shorten;

/// An S3 storage plan (reference data, like the server catalogue).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub id: i64,
    pub name: &'static str,
    /// Storage included, in GB (10^9 bytes, as storage is sold).
    pub size_gb: i64,
    /// Outgoing traffic included per month, in GB.
    pub traffic_gb: i64,
    /// Monthly price in euro cents; 0 is the free plan.
    pub price_cents: i64,
    pub locations: &'static [&'static str],
}

impl Plan {
    pub fn is_free(&self) -> bool {
        self.price_cents == 0
    }

    /// The storage quota in bytes.
    pub fn quota_bytes(&self) -> i64 {
        self.size_gb * 1_000_000_000
    }

    pub fn sold_in(&self, location: &str) -> bool {
        self.locations.contains(&location)
    }
}

/// Where S3 storage is sold.
pub const LOCATIONS: &[&str] = &["NL", "DE", "FI"];

/// The plans, cheapest first.
pub const PLANS: &[Plan] = &[
    Plan {
        id: 1,
        name: "S3 Free 10 GB",
        size_gb: 10,
        traffic_gb: 10,
        price_cents: 0,
        locations: LOCATIONS,
    },
    Plan {
        id: 2,
        name: "S3 Start 100 GB",
        size_gb: 100,
        traffic_gb: 1_000,
        price_cents: 200,
        locations: LOCATIONS,
    },
    Plan {
        id: 3,
        name: "S3 Pro 500 GB",
        size_gb: 500,
        traffic_gb: 5_000,
        price_cents: 900,
        locations: LOCATIONS,
    },
    Plan {
        id: 4,
        name: "S3 Max 1 TB",
        size_gb: 1_000,
        traffic_gb: 10_000,
        price_cents: 1_600,
        locations: &["NL", "DE"],
    },
];

/// A plan by id.
pub fn plan(id: i64) -> Option<&'static Plan> {
    PLANS.iter().find(|p| p.id == id)
}

/// A location code as clients send it (`nl` is `NL`), if S3 storage is sold there.
pub fn location(raw: &str) -> Result<&'static str, String> {
    let up = raw.trim().to_ascii_uppercase();
    LOCATIONS.iter().copied().find(|l| *l == up).ok_or_else(|| {
        format!(
            "location '{}' has no S3 storage (available: {})",
            shorten(raw),
            LOCATIONS.join(", ")
        )
    })
}

/// Checks a bucket name against S3's rules for general purpose buckets: 3 to 63
/// characters of lowercase letters, digits, dots and hyphens, beginning and ending with a
/// letter or digit, no two adjacent dots, not shaped like an IPv4 address, none of the
/// reserved prefixes (`xn--`, `sthree-`, `amzn-s3-demo-`) and suffixes (`-s3alias`,
/// `--ol-s3`, `.mrap`, `--x-s3`). The message says which rule failed.
pub fn check_bucket_name(name: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("invalid bucket name '{}': {why}", shorten(name)));
    let n = name.len();
    if !(3..=63).contains(&n) {
        return bad("use 3 to 63 characters");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return bad("use only lowercase letters, digits, dots and hyphens");
    }
    let edge = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !edge(name.as_bytes()[0]) || !edge(name.as_bytes()[n - 1]) {
        return bad("begin and end with a letter or a digit");
    }
    if name.contains("..") {
        return bad("no two adjacent dots");
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return bad("must not be formatted as an IP address");
    }
    for prefix in ["xn--", "sthree-", "amzn-s3-demo-"] {
        if name.starts_with(prefix) {
            return bad(&format!("the prefix '{prefix}' is reserved"));
        }
    }
    for suffix in ["-s3alias", "--ol-s3", ".mrap", "--x-s3"] {
        if name.ends_with(suffix) {
            return bad(&format!("the suffix '{suffix}' is reserved"));
        }
    }
    Ok(())
}

/// The `s3uid` the documents show (`s3_user_12345`) for an S3 account id.
pub fn s3uid(id: i64) -> String {
    format!("s3_user_{id}")
}

/// An S3 account id from what a client sends as `account_id` or `s3uid`: the `s3uid`
/// itself or the bare number.
pub fn parse_s3uid(raw: &str) -> Option<i64> {
    let raw = raw.trim();
    let digits = raw.strip_prefix("s3_user_").unwrap_or(raw);
    if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|id| *id > 0)
}

/// Which key `show_key` reveals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    Access,
    Secret,
}

impl KeyType {
    /// `access_key` / `secret_key` (also `access` / `secret`).
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "access_key" | "access" => Ok(KeyType::Access),
            "secret_key" | "secret" => Ok(KeyType::Secret),
            _ => Err(format!(
                "invalid key_type '{}', expected access_key or secret_key",
                shorten(raw)
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            KeyType::Access => "access_key",
            KeyType::Secret => "secret_key",
        }
    }
}

/// Longest object key S3 accepts, in bytes.
pub const MAX_KEY_BYTES: usize = 1024;

/// Buckets an S3 account may hold (S3's default limit).
pub const MAX_BUCKETS: i64 = 100;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_follow_s3s_rules() {
        for ok in ["abc", "my-bucket.2024", "a1b", &"a".repeat(63)] {
            assert!(check_bucket_name(ok).is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("ab", "3 to 63"),
            (&"a".repeat(64) as &str, "3 to 63"),
            ("My-Bucket", "lowercase"),
            ("my_bucket", "lowercase"),
            ("-abc", "begin and end"),
            ("abc.", "begin and end"),
            ("a..b", "adjacent dots"),
            ("192.168.1.1", "IP address"),
            ("xn--abc", "prefix"),
            ("abc-s3alias", "suffix"),
            ("bücket", "lowercase"),
        ] {
            let e = check_bucket_name(bad).expect_err(bad);
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn s3uids_read_both_forms_and_nothing_else() {
        assert_eq!(s3uid(7), "s3_user_7");
        assert_eq!(parse_s3uid("s3_user_7"), Some(7));
        assert_eq!(parse_s3uid(" 7 "), Some(7));
        for bad in [
            "",
            "s3_user_",
            "0",
            "-1",
            "s3_user_x",
            "1e3",
            &"9".repeat(30),
        ] {
            assert_eq!(parse_s3uid(bad), None, "{bad}");
        }
    }

    #[test]
    fn plans_locations_and_key_types() {
        assert!(plan(1).expect("free").is_free());
        assert_eq!(plan(2).expect("plan").quota_bytes(), 100_000_000_000);
        assert!(plan(99).is_none());
        assert!(!plan(4).expect("plan").sold_in("FI"));
        assert_eq!(location("nl"), Ok("NL"));
        assert!(location("US").expect_err("not sold").contains("NL, DE, FI"));
        assert_eq!(KeyType::parse("secret_key"), Ok(KeyType::Secret));
        assert_eq!(
            KeyType::parse("ACCESS").map(KeyType::name),
            Ok("access_key")
        );
        assert!(KeyType::parse("root").is_err());
    }
}
