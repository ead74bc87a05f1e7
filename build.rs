//! Build script: embeds the git commit the binary is built from as `BUILD_GIT_COMMIT` (the
//! metric `nyckel_build_info{version, commit}`). Without git or a repository of this crate
//! (a source tarball) the commit is `unknown`, or what `BUILD_COMMIT` says (for packagers
//! who know it). Reruns when HEAD or the branch it points to moves. (Not `NYCKEL_*`: Cargo
//! also sets the variable when it runs the binary, and `NYCKEL_*` is the configuration's.)

use std::path::Path;
use std::process::Command;

/// Runs git in this crate's folder; its trimmed output when it succeeded.
fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!text.is_empty()).then_some(text)
}

/// A full commit id (SHA-1 or SHA-256, hex): nothing else goes into a metric label.
fn is_commit(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=BUILD_COMMIT");
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    // Only this crate's own repository counts, not one the sources happen to sit in.
    let own_repo = git(&["rev-parse", "--show-toplevel"]).is_some_and(|top| {
        let same = |p: &str| Path::new(p).canonicalize().ok();
        same(&top).is_some() && same(&top) == same(&manifest)
    });
    let mut commit = std::env::var("BUILD_COMMIT").ok().filter(|c| is_commit(c));
    if own_repo {
        // HEAD, the branch it names (a loose ref, or packed). Only files that exist: Cargo
        // would rerun this script (and rebuild the crate) every time for a missing one.
        let mut watched = vec!["HEAD".to_string(), "packed-refs".to_string()];
        if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
            watched.push(branch);
        }
        for name in watched {
            if let Some(p) = git(&["rev-parse", "--git-path", &name])
                && Path::new(&p).exists()
            {
                println!("cargo:rerun-if-changed={p}");
            }
        }
        if commit.is_none() {
            commit = git(&["rev-parse", "HEAD"]).filter(|c| is_commit(c));
        }
    }
    let commit = commit.unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=BUILD_GIT_COMMIT={commit}");
}
