//! Test support: the built binary with an isolated environment, CLI transcripts for
//! snapshots, the corpus (skipped when absent), temp dirs. Services (registry, Podman, the
//! XNAT emulator in-process) start on loopback ports they bind themselves and stop on Drop.

#![allow(dead_code)]

use std::path::Path;

use assert_cmd::Command;

pub mod cli;
pub mod emulator;
pub mod podman;

// Shared with the examples and the emulator's tests: see the testkit crate's `//!`.
pub use xnat_cmd_testkit::corpus::{corpus_dir, skip_without_corpus};
pub use xnat_cmd_testkit::{images, pki, registry, token_server};

/// A temp dir that also serves as HOME, DOCKER_CONFIG and XDG dirs for a CLI run.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        Sandbox {
            dir: tempfile::tempdir().expect("create temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `xnat-cmd` with an environment that cannot see the developer's own config.
    pub fn cmd(&self) -> Command {
        let mut c = Command::cargo_bin("xnat-cmd").expect("xnat-cmd binary");
        let home = self.path();
        c.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home)
            .env("DOCKER_CONFIG", home.join(".docker"))
            .env("XDG_RUNTIME_DIR", home.join("run"))
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("NO_COLOR", "1")
            .current_dir(home);
        c
    }
}

/// A CLI run that must have succeeded (stderr shown if not), its stdout parsed as JSON.
pub fn success_json(out: &std::process::Output) -> serde_json::Value {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}
