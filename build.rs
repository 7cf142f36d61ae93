//! Build script: the version string of `xnat-cmd --version`.
//!
//! Built from a git checkout of this crate, the version names the commit:
//! `xnat-cmd 0.1.0 (abc1234)`. Built from the published .crate (no checkout, or a checkout of
//! some other repository around the unpacked crate, as in `cargo package`'s verify step) or
//! where git is missing, it is the plain package version: `xnat-cmd 0.1.0`. The result is set
//! as `XNAT_CMD_VERSION` for the binary; a build script failure never stops the build.

// Cargo hands a build script its inputs in the environment (clippy.toml's ban is for the
// product, which reads it through `Env`).
#![allow(clippy::disallowed_methods)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let full = match commit(&manifest_dir) {
        Some(hash) => format!("{version} ({hash})"),
        None => version,
    };
    println!("cargo:rustc-env=XNAT_CMD_VERSION={full}");
    println!("cargo:rerun-if-changed=build.rs");
}

/// The short hash of HEAD when `dir` is the top of a git work tree, and the files whose change
/// means HEAD moved (so the build script runs again after a commit or a checkout).
fn commit(dir: &Path) -> Option<String> {
    let top = git(dir, &["rev-parse", "--show-toplevel"])?;
    // `cargo package` verifies in target/package/NAME-VERSION inside the checkout: git sees
    // the outer repository there, whose commit is not what the .crate holds.
    // Its target dir is the checkout's, so the script's result would then stick to the
    // checkout's own build: watching the (missing) `.git` here makes cargo run it again.
    if std::fs::canonicalize(&top).ok()? != std::fs::canonicalize(dir).ok()? {
        println!("cargo:rerun-if-changed={}", dir.join(".git").display());
        return None;
    }
    let mut watched = vec!["HEAD".to_string(), "packed-refs".to_string()];
    watched.extend(git(dir, &["symbolic-ref", "-q", "HEAD"]));
    for name in watched {
        // Only files that exist: cargo reruns the script on every build for a missing one.
        if let Some(p) = git(dir, &["rev-parse", "--git-path", &name]) {
            let p = dir.join(p);
            if p.is_file() {
                println!("cargo:rerun-if-changed={}", p.display());
            } else if let Some(parent) = p
                .parent()
                .filter(|d| name.starts_with("refs/") && d.is_dir())
            {
                // A packed branch ref: the loose file appears in this folder at the next commit.
                println!("cargo:rerun-if-changed={}", parent.display());
            }
        }
    }
    git(dir, &["rev-parse", "--short=7", "HEAD"])
}

/// One git command's trimmed stdout, or None when git is missing or fails.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}
