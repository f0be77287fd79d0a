//! ISO images (iso.php): the public images each location offers, and the rules for an
//! image's name and download URL.

use crate::domain::rules::shorten;
use crate::error::{Error, Result};

/// The first id of an account's own images; public ones are below.
pub const FIRST_OWN_ID: i64 = 1001;

/// A public image: id, file name, size in bytes, and the locations that offer it (empty:
/// every one).
pub struct Public {
    pub id: i64,
    pub name: &'static str,
    pub size: i64,
    pub locations: &'static [&'static str],
}

/// The public library.
pub const PUBLIC: &[Public] = &[
    Public {
        id: 1,
        name: "ubuntu-24.04.1-live-server-amd64.iso",
        size: 2_773_874_688,
        locations: &[],
    },
    Public {
        id: 2,
        name: "debian-12.8.0-amd64-netinst.iso",
        size: 663_748_608,
        locations: &[],
    },
    Public {
        id: 3,
        name: "Rocky-9.5-x86_64-minimal.iso",
        size: 1_999_634_432,
        locations: &[],
    },
    Public {
        id: 4,
        name: "AlmaLinux-9.5-x86_64-minimal.iso",
        size: 1_883_242_496,
        locations: &[],
    },
    Public {
        id: 5,
        name: "systemrescue-11.03-amd64.iso",
        size: 1_006_632_960,
        locations: &[],
    },
    Public {
        id: 6,
        name: "memtest86-plus-7.20.iso",
        size: 25_165_824,
        locations: &[],
    },
    Public {
        id: 7,
        name: "proxmox-ve_8.3-1.iso",
        size: 1_465_909_248,
        locations: &["NL", "FI", "DE"],
    },
    Public {
        id: 8,
        name: "Windows_Server_2022_EVAL_x64_en-us.iso",
        size: 5_044_211_712,
        locations: &["NL", "DE", "US"],
    },
];

/// The public images of a location (`None`: of every location).
pub fn public_in(location: Option<&str>) -> impl Iterator<Item = &'static Public> + '_ {
    PUBLIC.iter().filter(move |p| match location {
        None => true,
        Some(l) => p.locations.is_empty() || p.locations.contains(&l),
    })
}

/// A public image by id.
pub fn public(id: i64) -> Option<&'static Public> {
    PUBLIC.iter().find(|p| p.id == id)
}

/// An image name: 1 to 128 of `A-Za-z0-9._+-`.
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+'));
    if !ok {
        return Err(Error::invalid(format!(
            "invalid name '{}': use 1 to 128 of A-Z a-z 0-9 . _ - +",
            shorten(name)
        )));
    }
    Ok(())
}

/// A download URL: http or https, with a host, whose path ends in `.iso`. Returns the file
/// name the path ends with (the image's default name).
pub fn check_url(url: &str) -> Result<String> {
    let bad = || {
        Error::invalid(format!(
            "invalid url '{}': expected an http(s) URL with a host whose path ends in .iso",
            shorten(url)
        ))
    };
    if url.len() > 2048 {
        return Err(Error::invalid("url is too long (at most 2048 characters)"));
    }
    let parsed = url::Url::parse(url.trim()).map_err(|_| bad())?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad());
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(bad());
    }
    let file = parsed
        .path_segments()
        .and_then(|mut s| s.next_back())
        .unwrap_or("")
        .to_owned();
    if file.len() <= 4 || !file.to_ascii_lowercase().ends_with(".iso") {
        return Err(bad());
    }
    Ok(file)
}

/// The size a download of `url` turns out to have: from 200 MiB to about 4.7 GiB, the same
/// for the same URL (the emulator fetches nothing).
pub fn simulated_size(url: &str) -> i64 {
    use sha2::{Digest, Sha256};
    let h = Sha256::digest(url.as_bytes());
    let n = u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as i64;
    (200 + n % 4_600) * 1024 * 1024
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_http_with_a_host_and_an_iso_file() {
        assert_eq!(
            check_url("https://releases.example.com/os/alpine-3.20.iso").expect("ok"),
            "alpine-3.20.iso"
        );
        assert_eq!(
            check_url("http://mirror.example.org/x/Image.ISO?token=1").expect("ok"),
            "Image.ISO"
        );
        for bad in [
            "ftp://example.com/a.iso",
            "https:///a.iso",
            "https://example.com/a.img",
            "https://example.com/",
            "https://example.com/.iso",
            "file:///etc/a.iso",
            "not a url",
            "javascript:alert(1)//a.iso",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_and_the_public_library() {
        assert!(check_name("my-image_1.2+x.iso").is_ok());
        for bad in ["", "a b.iso", "../a.iso", &"x".repeat(129)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert!(PUBLIC.iter().all(|p| p.id < FIRST_OWN_ID));
        let tr: Vec<i64> = public_in(Some("TR")).map(|p| p.id).collect();
        assert!(!tr.contains(&7) && tr.contains(&1));
        assert!(public_in(Some("NL")).any(|p| p.id == 7));
        assert_eq!(
            public(8).map(|p| p.name),
            Some("Windows_Server_2022_EVAL_x64_en-us.iso")
        );
        let s = simulated_size("https://a.example/x.iso");
        assert_eq!(s, simulated_size("https://a.example/x.iso"));
        assert!(s >= 200 * 1024 * 1024);
    }
}
