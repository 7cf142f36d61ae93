//! The XNAT emulator started in-process (the `xnat_emulator` library, no binary to build
//! first) on `127.0.0.1:0`, over HTTP or HTTPS (a test CA from [`super::pki`]). It runs on a
//! background thread with its own tokio runtime, so blocking tests (which spawn the
//! `xnat-cmd` binary and wait for it) and `#[tokio::test]`s alike can use it; its counters and
//! state are read directly, not over the HTTP hooks. Stopped on Drop.
//!
//! Flags are the binary's own (`--fail-nth-write 4`, `--context-path /xnat`, ...), parsed by
//! the emulator library's clap definition ([`xnat_emulator::cli::Args`]), so a test reads
//! like the command line it stands for.

use std::path::PathBuf;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use clap::Parser as _;
use serde_json::Value;
use xnat_emulator::cli::Args;
use xnat_emulator::Faults;

pub struct Emulator {
    /// `http://127.0.0.1:PORT[/ctx]`, or `https://...` from [`Emulator::start_tls`].
    pub url: String,
    /// The CA that signed the HTTPS certificate ([`Emulator::start_tls`] only).
    pub ca_path: Option<PathBuf>,
    handle: xnat_emulator::Emulator,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    /// Holds the PEM files while the emulator runs.
    _pki_dir: Option<tempfile::TempDir>,
}

impl Emulator {
    /// Start with the default users (admin/admin a Container Manager) and extra flags.
    pub fn start(extra: &[&str]) -> Self {
        Self::run(extra, &[], None, None)
    }

    /// Like [`Emulator::start`] but over HTTPS, with a fresh test CA and a server certificate
    /// for 127.0.0.1; the CA file is [`Emulator::ca_path`].
    pub fn start_tls(extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let pki = super::pki::write_test_pki(dir.path());
        let tls = [
            "--tls-cert".to_string(),
            pki.cert.display().to_string(),
            "--tls-key".to_string(),
            pki.key.display().to_string(),
        ];
        let emu = Self::run(extra, &tls, Some(pki.ca), Some(dir));
        assert!(emu.url.starts_with("https://"), "{}", emu.url);
        emu
    }

    fn run(
        extra: &[&str],
        tls: &[String],
        ca_path: Option<PathBuf>,
        pki_dir: Option<tempfile::TempDir>,
    ) -> Self {
        let argv = ["xnat-emulator", "--bind", "127.0.0.1:0", "--test-hooks"]
            .into_iter()
            .map(str::to_string)
            .chain(tls.iter().cloned())
            .chain(extra.iter().map(|s| s.to_string()));
        let args =
            Args::try_parse_from(argv).unwrap_or_else(|e| panic!("emulator flags {extra:?}: {e}"));
        let (ready_tx, ready_rx) = mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("xnat-emulator".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("emulator runtime");
                rt.block_on(async move {
                    let running = match xnat_emulator::start(args.config(), args.bind).await {
                        Ok(r) => r,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e.to_string()));
                            return;
                        }
                    };
                    let _ = ready_tx.send(Ok((running.url(), running.emulator().clone())));
                    // A dropped sender (the test panicked) stops the server too.
                    let _ = stopped.await;
                    // Graceful, but a client that holds a request open must not hang Drop.
                    let _ = tokio::time::timeout(Duration::from_secs(5), running.shutdown()).await;
                });
            })
            .expect("spawn the emulator thread");
        let (url, handle) = match ready_rx.recv() {
            Ok(Ok(started)) => started,
            Ok(Err(e)) => panic!("the emulator did not start: {e}"),
            Err(_) => panic!("the emulator thread ended before it started"),
        };
        Emulator {
            url,
            ca_path,
            handle,
            stop: Some(stop),
            thread: Some(thread),
            _pki_dir: pki_dir,
        }
    }

    /// Writes (POST/PUT/DELETE under /xapi) answered so far.
    pub fn writes(&self) -> u64 {
        self.handle.writes()
    }

    /// Requests answered so far (the test hooks excluded).
    pub fn requests(&self) -> u64 {
        self.handle.log().len() as u64
    }

    /// `(method, path, status)` of every request answered so far, in arrival order.
    pub fn log(&self) -> Vec<(String, String, u16)> {
        self.handle
            .log()
            .into_iter()
            .map(|r| (r.method, r.path, r.status))
            .collect()
    }

    /// Commands, enablement and sessions, as `GET /__emulator/state` shows them.
    pub fn state(&self) -> Value {
        self.handle.dump()
    }

    /// Create a project in XNAT (as a user would in the UI).
    pub fn add_project(&self, id: &str) {
        self.handle.add_project(id);
    }

    /// Set a wrapper's own enablement record, site-wide (`project` None) or in a project, as
    /// an administrator would in the UI.
    pub fn set_enabled(&self, project: Option<&str>, wrapper: u64, on: bool) {
        self.handle.set_enabled(project, wrapper, on);
    }

    /// The stored commands, as GET would return them.
    pub fn commands(&self) -> Vec<Value> {
        self.handle.commands()
    }

    /// Replace the faults with these ([`Faults`] as JSON; missing keys = off).
    pub fn set_faults(&self, faults: Value) {
        let faults: Faults = serde_json::from_value(faults).expect("faults JSON");
        self.handle.set_faults(faults);
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
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
