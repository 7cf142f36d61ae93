//! The XNAT emulator as a child process on a free loopback port, over HTTP or HTTPS (a test
//! CA from [`super::pki`]), with its test hooks (request counters, state, faults) read over
//! HTTP(S); killed on Drop.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

/// The `xnat-emulator` binary next to the test binary (built by `cargo build --workspace`).
pub fn emulator_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target dir")
        .to_path_buf();
    let bin = dir.join("xnat-emulator");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --workspace --bins` first (scripts/test.sh does)",
        bin.display()
    );
    bin
}

pub struct Emulator {
    child: Child,
    /// `http://127.0.0.1:PORT[/ctx]`, or `https://...` from [`Emulator::start_tls`].
    pub url: String,
    /// The CA that signed the HTTPS certificate ([`Emulator::start_tls`] only).
    pub ca_path: Option<PathBuf>,
    http: reqwest::blocking::Client,
    /// Holds the PEM files while the emulator runs.
    _pki_dir: Option<tempfile::TempDir>,
}

impl Emulator {
    /// Start with the default users (admin/admin a Container Manager) and extra flags.
    pub fn start(extra: &[&str]) -> Self {
        Self::spawn(extra, &[], reqwest::blocking::Client::new(), None, None)
    }

    /// Like [`Emulator::start`] but over HTTPS, with a fresh test CA and a server certificate
    /// for 127.0.0.1; the hooks client trusts that CA, the CA file is [`Emulator::ca_path`].
    pub fn start_tls(extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let pki = super::pki::write_test_pki(dir.path());
        let ca = std::fs::read(&pki.ca).expect("read ca.pem");
        let http = reqwest::blocking::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&ca).expect("ca pem"))
            .build()
            .expect("hooks client");
        let tls = [
            "--tls-cert".to_string(),
            pki.cert.display().to_string(),
            "--tls-key".to_string(),
            pki.key.display().to_string(),
        ];
        let emu = Self::spawn(extra, &tls, http, Some(pki.ca), Some(dir));
        assert!(emu.url.starts_with("https://"), "{}", emu.url);
        emu
    }

    fn spawn(
        extra: &[&str],
        tls: &[String],
        http: reqwest::blocking::Client,
        ca_path: Option<PathBuf>,
        pki_dir: Option<tempfile::TempDir>,
    ) -> Self {
        let mut child = Command::new(emulator_bin())
            .args(["--bind", "127.0.0.1:0", "--test-hooks"])
            .args(tls)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start xnat-emulator");
        let stdout = child.stdout.take().expect("emulator stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the emulator's first line");
        let url = line
            .trim()
            .strip_prefix("xnat-emulator listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from the emulator: {line:?}"))
            .to_string();
        Emulator {
            child,
            url,
            ca_path,
            http,
            _pki_dir: pki_dir,
        }
    }

    fn hook(&self, path: &str) -> Value {
        self.http
            .get(format!("{}/__emulator/{path}", self.url))
            .send()
            .and_then(|r| r.json())
            .unwrap_or_else(|e| panic!("GET /__emulator/{path}: {e}"))
    }

    /// Writes (POST/PUT/DELETE under /xapi) answered so far.
    pub fn writes(&self) -> u64 {
        self.hook("counters")["writes"]
            .as_u64()
            .expect("writes counter")
    }

    pub fn requests(&self) -> u64 {
        self.hook("counters")["requests"]
            .as_u64()
            .expect("requests counter")
    }

    pub fn state(&self) -> Value {
        self.hook("state")
    }

    /// The stored commands (GET /__emulator/state `commands`).
    pub fn commands(&self) -> Vec<Value> {
        let s = self.state();
        match &s["commands"] {
            Value::Array(a) => a.clone(),
            Value::Object(o) => o.values().cloned().collect(),
            other => panic!("unexpected commands in state: {other}"),
        }
    }

    pub fn set_faults(&self, faults: Value) {
        let r = self
            .http
            .put(format!("{}/__emulator/faults", self.url))
            .json(&faults)
            .send()
            .expect("PUT faults");
        assert!(r.status().is_success(), "PUT faults: {}", r.status());
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Emulator {
    /// `xnat-cmd` run in `sb`, pointed at this emulator with these credentials in the
    /// environment (never in argv).
    pub fn xnat_cmd_as(
        &self,
        sb: &super::Sandbox,
        user: &str,
        password: &str,
    ) -> assert_cmd::Command {
        let mut c = sb.cmd();
        c.env("XNAT_HOST", &self.url)
            .env("XNAT_USER", user)
            .env("XNAT_PASS", password);
        c
    }

    /// `xnat-cmd` as the emulator's default Container Manager (`admin`).
    pub fn xnat_cmd(&self, sb: &super::Sandbox) -> assert_cmd::Command {
        self.xnat_cmd_as(sb, "admin", "admin")
    }
}
