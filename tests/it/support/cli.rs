//! CLI runs as snapshots: exit code, stdout and stderr of one `xnat-cmd` run in one text,
//! with what changes from run to run filtered out (the emulator's URL, the sandbox and other
//! temp paths, loopback ports), compared with insta.
//!
//! ```ignore
//! let out = emu.xnat_cmd(&sb).args(["list"]).output().unwrap();
//! assert_cli_snapshot!(Transcript::of(&out).sandbox(&sb).xnat(&emu));
//! ```

use std::path::Path;
use std::process::Output;

use super::emulator::Emulator;
use super::Sandbox;

/// One CLI run as text, with literal redactions applied in the order given.
#[derive(Debug, Clone)]
pub struct Transcript {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    redactions: Vec<(String, String)>,
}

impl Transcript {
    pub fn of(out: &Output) -> Self {
        Transcript {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            redactions: Vec::new(),
        }
    }

    /// Replace every `text` with `placeholder` (literal, not a pattern).
    pub fn redact(mut self, text: impl Into<String>, placeholder: &str) -> Self {
        let text = text.into();
        if !text.is_empty() {
            self.redactions.push((text, placeholder.to_string()));
        }
        self
    }

    /// The sandbox (HOME, the temp files of the test) as `[TMP]`.
    pub fn sandbox(self, sb: &Sandbox) -> Self {
        self.path(sb.path(), "[TMP]")
    }

    pub fn path(self, p: &Path, placeholder: &str) -> Self {
        self.redact(p.display().to_string(), placeholder)
    }

    /// The emulator's base URL as `[XNAT]`.
    pub fn xnat(self, emu: &Emulator) -> Self {
        self.redact(emu.url.clone(), "[XNAT]")
    }

    /// The text insta compares (before its regex filters, see [`settings`]).
    pub fn render(&self) -> String {
        let code = self
            .code
            .map_or_else(|| "signal".to_string(), |c| c.to_string());
        let mut text = format!(
            "exit: {code}\n--- stdout\n{}--- stderr\n{}",
            self.stdout, self.stderr
        );
        for (from, to) in &self.redactions {
            text = text.replace(from, to);
        }
        text
    }
}

/// insta settings for CLI transcripts: loopback ports and leftover temp dirs filtered.
pub fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]");
    s.add_filter(r"\[::1\]:\d+", "[::1]:[PORT]");
    s.add_filter(r"localhost:\d+", "localhost:[PORT]");
    s.add_filter(r"/tmp/\.tmp[A-Za-z0-9]+", "[TMPDIR]");
    s
}

/// `insta::assert_snapshot!` of a [`Transcript`] under [`settings`]; the snapshot is named
/// after the test (or given, as with insta).
#[macro_export]
macro_rules! assert_cli_snapshot {
    ($transcript:expr) => {{
        let text = $transcript.render();
        $crate::support::cli::settings().bind(|| insta::assert_snapshot!(text));
    }};
    ($name:expr, $transcript:expr) => {{
        let text = $transcript.render();
        $crate::support::cli::settings().bind(|| insta::assert_snapshot!($name, text));
    }};
}
