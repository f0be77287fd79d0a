//! Records the git revision the binary is built from (`hostkey-emu --version`,
//! `/_emu/health`): `HOSTKEY_EMU_GIT_REV` when set (a Docker build has no `.git`), else
//! `git rev-parse`, else `unknown`.

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
}
