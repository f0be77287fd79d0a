//! Records the git revision the binary is built from (`hostkey-emu --version`,
//! `/_emu/health`): `HOSTKEY_EMU_GIT_REV` when set (a Docker build has no `.git`), else
//! `git rev-parse`, else `unknown`.
//!
//! A release build for x86_64 Linux, linked by the toolchain's own lld (the default since
//! Rust 1.90), also gets `link/symbol-order.txt`: the functions a start and the hot paths
//! run, laid out together so that fewer code pages are resident (written by
//! `bench/layout.py`; README, "Performance"). `HOSTKEY_EMU_LINK_ORDER=0` leaves it out.

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
    if wanted {
        println!(
            "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
            file.display()
        );
        println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
}
