//! OpenSSH public keys (issue 13, `ssh_keys.php`): the one-line `authorized_keys` form
//! (`<type> <base64 blob> [comment]`) checked against the wire format of RFC 4253 §6.6,
//! RFC 5656 §3.1 and RFC 8709 §4, and the SHA256 fingerprint `ssh-keygen -l` prints.
//! The blob is a few length-prefixed fields, parsed here without a crypto dependency.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Smallest RSA modulus accepted, in bits (as current OpenSSH requires).
pub const MIN_RSA_BITS: usize = 2048;

/// Largest RSA modulus accepted, in bits (OpenSSH's own limit).
pub const MAX_RSA_BITS: usize = 16_384;

/// A checked public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    /// `ssh-ed25519`, `ecdsa-sha2-nistp256`, ... as declared and embedded.
    pub kind: String,
    /// The key in its one-line form: type, blob and comment, single spaces.
    pub text: String,
    /// `SHA256:<base64 without padding>` of the blob, as `ssh-keygen -l` prints it.
    pub fingerprint: String,
    /// Size in bits (256 for ed25519 and nistp256, the modulus size for RSA).
    pub bits: usize,
}

/// The answer to any key that is not an accepted OpenSSH public key, with what is wrong.
fn bad(why: impl std::fmt::Display) -> Error {
    Error::invalid(format!("key is not a valid OpenSSH public key: {why}"))
}

/// Reads the length-prefixed strings of a key blob.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    /// The next `string` (a 4-byte big-endian length, then that many bytes).
    fn string(&mut self) -> Result<&'a [u8]> {
        if self.0.len() < 4 {
            return Err(bad("the key data is truncated"));
        }
        let (len, rest) = self.0.split_at(4);
        let n = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
        if rest.len() < n {
            return Err(bad("the key data is truncated"));
        }
        let (s, rest) = rest.split_at(n);
        self.0 = rest;
        Ok(s)
    }

    /// Nothing may follow the last field.
    fn end(&self) -> Result<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(bad("the key data has trailing bytes"))
        }
    }
}

/// Bits of a positive `mpint` (leading zero bytes ignored); a negative one is refused.
fn mpint_bits(m: &[u8]) -> Result<usize> {
    if m.first().is_some_and(|b| b & 0x80 != 0) {
        return Err(bad("the RSA key has a negative number"));
    }
    let digits: &[u8] = match m.iter().position(|&b| b != 0) {
        Some(i) => &m[i..],
        None => return Ok(0),
    };
    Ok((digits.len() - 1) * 8 + (8 - digits[0].leading_zeros() as usize))
}

/// Checks the blob of a key of type `kind`; returns its size in bits.
fn check_blob(kind: &str, blob: &[u8]) -> Result<usize> {
    let mut r = Reader(blob);
    let embedded = r.string()?;
    if embedded != kind.as_bytes() {
        return Err(bad(format!(
            "the key data is of type '{}', not {kind}",
            String::from_utf8_lossy(embedded)
                .chars()
                .take(40)
                .collect::<String>()
        )));
    }
    let bits = match kind {
        "ssh-ed25519" => {
            if r.string()?.len() != 32 {
                return Err(bad("an ed25519 key is 32 bytes"));
            }
            256
        }
        "ssh-rsa" => {
            let e = r.string()?;
            let n = r.string()?;
            if mpint_bits(e)? < 2 {
                return Err(bad("the RSA exponent is invalid"));
            }
            let bits = mpint_bits(n)?;
            if bits < MIN_RSA_BITS {
                return Err(bad(format!(
                    "an RSA key needs at least {MIN_RSA_BITS} bits, this one has {bits}"
                )));
            }
            if bits > MAX_RSA_BITS {
                return Err(bad(format!("an RSA key has at most {MAX_RSA_BITS} bits")));
            }
            bits
        }
        _ => {
            // ecdsa-sha2-<curve>: the curve again, then an uncompressed point 04||X||Y.
            let (curve, bits, coord) = match kind {
                "ecdsa-sha2-nistp256" => ("nistp256", 256, 32),
                "ecdsa-sha2-nistp384" => ("nistp384", 384, 48),
                "ecdsa-sha2-nistp521" => ("nistp521", 521, 66),
                _ => return Err(bad(format!("unsupported key type {kind}"))),
            };
            if r.string()? != curve.as_bytes() {
                return Err(bad(format!("the curve of the key data is not {curve}")));
            }
            let q = r.string()?;
            if q.len() != 1 + 2 * coord || q[0] != 4 {
                return Err(bad(format!("the {curve} point is malformed")));
            }
            bits
        }
    };
    r.end()?;
    Ok(bits)
}

/// The types accepted: ed25519, ECDSA on the three NIST curves, RSA.
pub const KINDS: [&str; 5] = [
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-rsa",
];

/// Parses and checks a key in its `authorized_keys` form (options before the type are not
/// accepted): the type is one of [`KINDS`], the blob is base64 whose embedded type is the
/// declared one and whose fields are well formed, an RSA modulus has at least 2048 bits.
pub fn parse(line: &str) -> Result<PublicKey> {
    let mut words = line.split_whitespace();
    let kind = words.next().ok_or_else(|| bad("the key is empty"))?;
    if !KINDS.contains(&kind) {
        return Err(bad(format!(
            "unsupported key type '{}' (use ssh-ed25519, ecdsa-sha2-nistp256/384/521 or ssh-rsa)",
            kind.chars().take(40).collect::<String>()
        )));
    }
    let data = words.next().ok_or_else(|| bad("the key data is missing"))?;
    let blob = STANDARD
        .decode(data)
        .map_err(|_| bad("the key data is not base64"))?;
    let bits = check_blob(kind, &blob)?;
    let comment: Vec<&str> = words.collect();
    let mut text = format!("{kind} {data}");
    if !comment.is_empty() {
        text.push(' ');
        text.push_str(&comment.join(" "));
    }
    Ok(PublicKey {
        kind: kind.to_owned(),
        text,
        fingerprint: fingerprint(&blob),
        bits,
    })
}

/// `SHA256:<base64 of the blob's digest, no padding>`.
pub fn fingerprint(blob: &[u8]) -> String {
    format!("SHA256:{}", STANDARD_NO_PAD.encode(Sha256::digest(blob)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys made by `ssh-keygen -t <type> -C me@host`, with what `ssh-keygen -lf` printed.
    pub const ED25519: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIslOTxq0jgi6hYcg5HqxCwc+LQcpeCaBHNHeLLO2qnt me@host";
    const ED25519_FP: &str = "SHA256:bfBWSB3CSypTMptoeKyo4q5gckv5YMfZU4bXP6OexAw";
    const P256: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBAMFUyzu5AyKGUngaVP/lZe0jBOMzrgH81Id6vcjjOQ9nSsJs0edwcQ1Q3kmP6gH1uW4RBkzu4rWbDl6gPnDoWc= me@host";
    const P384: &str = "ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBJMT0wNVjKPbqj9KmX/fXAOhoQ4fCxyCp+5YKbeeslWjofghvSU7DXmFnacErfJCeZXBdfKAkB0brQsGg88CB6Aq8kEnOcCAls541Vxp2ljKQ9uQVMWdSx7uLSwJF8Jcsw== me@host";
    const P521: &str = "ecdsa-sha2-nistp521 AAAAE2VjZHNhLXNoYTItbmlzdHA1MjEAAAAIbmlzdHA1MjEAAACFBACNYS3er6DBmqbjxE9rmphwHTwVi3jPLEojPYK0TRR1YUJpnsy95PIK22CptbcdX0H2wxy43zD/LExvTbF9Sww43ABiVkVlxYNCuyImwhVPsHZ4C/8IFYgTO9NLfdqeodL2O8uRABUGDjNSUvA1K2MC+mZZePp9+my+R4iFAvg1gN0R3g== me@host";
    const RSA2048: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDl8qrt/hCSwivoEnprEJLDsN8tY/9SHhG6braCKXcDZCwR1HPL8tZMltgXCO/xhrSX5Iy7kwI2x3fz32nE3iuTl9kb9EbITO8W32CPWUNv821Lmre8EUiS9SOX1m9Bdd9n+jRKM8Z6hszGvT2/PSjWeaEVqsWpTPblLIqK3kN10VczsRkI12/oM7mgghLYq5hopuEiLwPCwfgSCdnb7J9UKLimnyBOKEPppKqwiT8XwWqqCQ9KOrL+WhkISX+8bcWoUohARqO2skoVxp8wl9odFnSA4okQXwLk9oi9z1O/22CpRlD173u+uvYwBWqbK0pNPoZT3MJmHErs6JrKfSnh me@host";
    const RSA1024: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQCkZfQZ5toIaMQmHs/Ju9FNTiM1c1U4XBMFzmOWe/6tenWjvfimYhxXGixrx/AR+Jd4RYdklNXSP1NhUrXsNX0L4OON4jTPsv3HOjKdX6ud2BLAiG0PryXMouO4yhhTB093xwt/ggTlPeNkDRUnOJR1IS6+tcq6fP1rHD9O+CvVmw== me@host";

    #[test]
    fn accepted_keys_have_ssh_keygens_fingerprint_and_size() {
        for (line, fp, bits) in [
            (ED25519, ED25519_FP, 256),
            (
                P256,
                "SHA256:x260epA+N3dc2hMD947x5fGQPJ4LhH5rtR+dvx8nxZA",
                256,
            ),
            (
                P384,
                "SHA256:3vUz43nZ4WO1u6/cb8qF5abM5xNXqrEBs8Hpq9TM9ks",
                384,
            ),
            (
                P521,
                "SHA256:Vj7xuybZmCPoRKxoxmddbdKKl3pKu0PLYA5nccejwvw",
                521,
            ),
            (
                RSA2048,
                "SHA256:7orWVlhuK3zQCfbNYZlpb/p2C4Oq2trqz1QakWyA1PI",
                2048,
            ),
        ] {
            let k = parse(line).expect(line);
            assert_eq!((k.fingerprint.as_str(), k.bits), (fp, bits), "{line}");
            assert_eq!(k.text, line);
        }
    }

    #[test]
    fn the_text_is_normalised_and_the_comment_is_optional() {
        let blob = ED25519.split(' ').nth(1).expect("blob");
        let k = parse(&format!("  ssh-ed25519\t{blob}  my   laptop \n")).expect("ok");
        assert_eq!(k.text, format!("ssh-ed25519 {blob} my laptop"));
        let k = parse(&format!("ssh-ed25519 {blob}")).expect("ok");
        assert_eq!(
            (k.text, k.fingerprint.as_str()),
            (format!("ssh-ed25519 {blob}"), ED25519_FP)
        );
    }

    #[test]
    fn bad_keys_are_refused_with_the_reason() {
        let msg = |l: &str| parse(l).expect_err(l).to_string();
        assert_eq!(
            msg(RSA1024),
            "key is not a valid OpenSSH public key: an RSA key needs at least 2048 bits, this one has 1024"
        );
        let blob = ED25519.split(' ').nth(1).expect("blob");
        assert_eq!(
            msg(&format!("ssh-rsa {blob}")),
            "key is not a valid OpenSSH public key: the key data is of type 'ssh-ed25519', not ssh-rsa"
        );
        let p256 = P256.split(' ').nth(1).expect("blob");
        assert_eq!(
            msg(&format!("ecdsa-sha2-nistp384 {p256}")),
            "key is not a valid OpenSSH public key: the key data is of type 'ecdsa-sha2-nistp256', not ecdsa-sha2-nistp384"
        );
        assert!(msg("ssh-ed25519 AAAA!!!!").contains("not base64"));
        assert!(msg("ssh-ed25519").contains("the key data is missing"));
        assert!(msg("").contains("the key is empty"));
        assert!(msg("ssh-dss AAAAB3NzaC1kc3M=").contains("unsupported key type 'ssh-dss'"));
        // Truncated: the last 4 bytes of the ed25519 key dropped.
        let mut raw = STANDARD.decode(blob).expect("b64");
        raw.truncate(raw.len() - 4);
        assert!(msg(&format!("ssh-ed25519 {}", STANDARD.encode(&raw))).contains("truncated"));
        // A byte too many.
        let mut raw = STANDARD.decode(blob).expect("b64");
        raw.push(0);
        assert!(msg(&format!("ssh-ed25519 {}", STANDARD.encode(&raw))).contains("trailing"));
    }
}
