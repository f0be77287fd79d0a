//! Records the git revision the binary is built from (`hostkey-emu --version`,
//! `/_emu/health`): `HOSTKEY_EMU_GIT_REV` when set (a Docker build has no `.git`), else
//! `git rev-parse`, else `unknown`.
//!
//! A release build for x86_64 Linux, linked by the toolchain's own lld (the default since
//! Rust 1.90), also gets `link/symbol-order.txt`: the functions a start and the hot paths
//! run, laid out together so that fewer code pages are resident (written by
//! `bench/layout.py`; README, "Performance"), with the optimiser's numbered copies widened
//! to nearby numbers so that the layout survives small code changes (a copy in `OUT_DIR`).
//! `HOSTKEY_EMU_LINK_ORDER=0` leaves it out.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && !text.is_empty()).then_some(text)
}

fn main() {
    println!("cargo:rerun-if-env-changed=HOSTKEY_EMU_GIT_REV");
    let rev = match std::env::var("HOSTKEY_EMU_GIT_REV") {
        Ok(rev) if !rev.trim().is_empty() => rev.trim().to_owned(),
        _ => {
            // Rebuilt when HEAD moves (a commit, a checkout); a worktree has its own git dir.
            if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
                println!("cargo:rerun-if-changed={dir}/HEAD");
                println!("cargo:rerun-if-changed={dir}/logs/HEAD");
            }
            git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".to_owned())
        }
    };
    println!("cargo:rustc-env=HOSTKEY_EMU_GIT_REV={rev}");
    link_order();
}

/// The minor version of the compiler (`1.95.0` → 95), when it says.
fn rustc_minor() -> Option<u32> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let out = Command::new(rustc).arg("--version").output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let version = text.split_whitespace().nth(1)?;
    let mut parts = version.split('.');
    (parts.next()? == "1").then_some(())?;
    parts.next()?.parse().ok()
}

/// Passes the symbol order to the linker where the linker is known to be lld: GNU ld
/// would refuse the option. Names the file does not match (another compiler, other
/// dependency versions) are ignored, so a stale file costs nothing but the layout.
fn link_order() {
    println!("cargo:rerun-if-env-changed=HOSTKEY_EMU_LINK_ORDER");
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("link/symbol-order.txt");
    println!("cargo:rerun-if-changed={}", file.display());
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let wanted = var("HOSTKEY_EMU_LINK_ORDER") != "0"
        && var("PROFILE") == "release"
        && var("TARGET") == "x86_64-unknown-linux-gnu"
        // Another linker chosen in the configuration or the flags: not ours to guess.
        && std::env::var_os("RUSTC_LINKER").is_none()
        && !var("CARGO_ENCODED_RUSTFLAGS").contains("link")
        && file.is_file()
        && rustc_minor().is_some_and(|minor| minor >= 90);
    if !wanted {
        return;
    }
    // The order as it is, or, where the names can be read and the copy written, with the
    // optimiser's numbered copies widened (see `with_nearby_copies`).
    let widened = std::fs::read_to_string(&file).ok().and_then(|order| {
        let out = std::path::Path::new(&std::env::var_os("OUT_DIR")?).join("symbol-order.txt");
        std::fs::write(&out, with_nearby_copies(&order)).ok()?;
        Some(out)
    });
    println!(
        "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
        widened.as_deref().unwrap_or(&file).display()
    );
    println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
}

/// How far the number of an optimiser's copy is looked for on either side.
const NEARBY_COPIES: u64 = 128;

/// The order with each numbered copy of a Rust function (`_R….5774`, `_ZN….1234`: LLVM
/// numbers the local copies it makes under LTO) followed by the same name with the numbers
/// near it, nearest first. The numbers shift with any change to the code (adding a module
/// moved them by 33 to 39), so the copies would otherwise drop out of the layout until the
/// file is regenerated; a name that matches nothing costs the linker nothing. Other names
/// (C functions, GCC's `.part.0` and `.constprop.0`) are kept as they are.
fn with_nearby_copies(order: &str) -> String {
    let mut out = String::with_capacity(order.len() * 4);
    let mut seen = std::collections::HashSet::new();
    let mut push = |out: &mut String, name: &str| {
        if seen.insert(name.to_owned()) {
            out.push_str(name);
            out.push('\n');
        }
    };
    // Each name as it is first, so that an exact name keeps its place before any guess.
    for name in order.lines().map(str::trim).filter(|l| !l.is_empty()) {
        push(&mut out, name);
    }
    let mut guesses = String::new();
    for name in order.lines().map(str::trim) {
        let numbered = (name.starts_with("_R") || name.starts_with("_ZN"))
            .then(|| name.rsplit_once('.'))
            .flatten()
            .and_then(|(base, n)| Some((base, n.parse::<u64>().ok()?)));
        let Some((base, n)) = numbered else { continue };
        for d in 1..=NEARBY_COPIES {
            for m in [n.checked_sub(d), n.checked_add(d)].into_iter().flatten() {
                push(&mut guesses, &format!("{base}.{m}"));
            }
        }
    }
    out + &guesses
}
