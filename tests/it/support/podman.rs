//! A private Podman API service (rootful, temp socket or loopback TCP, temp storage,
//! `--time=0`) for the `docker-daemon:` tests, with images loaded into it offline. It stops on
//! Drop. Registries to pull from come from `support::registry`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use xnat_cmd::source::daemon::DaemonOptions;

use super::images::{write_docker_archive, BuiltImage, Compress, Saved};

const PODMAN: &str = "podman";
const PODMAN_HINT: &str =
    "install it with `apt-get install podman` (Debian/Ubuntu) or `dnf install podman`";

/// A port on 127.0.0.1 that refuses connections for as long as the returned socket lives:
/// bound (so nothing else can take it) but never listening.
pub fn closed_port() -> (tokio::net::TcpSocket, u16) {
    let socket = tokio::net::TcpSocket::new_v4().expect("tcp socket");
    socket
        .bind("127.0.0.1:0".parse().expect("loopback address"))
        .expect("bind 127.0.0.1:0");
    let port = socket.local_addr().expect("local addr").port();
    (socket, port)
}

/// Poll `ready` until it holds; fail with the service's log if it never does.
fn wait_until(what: &str, child: &mut Child, log: &Path, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if ready() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "{what} exited ({status}) before it was ready: {}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!(
        "{what} not ready after 20 s: {}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

/// Where the Podman service listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listen {
    Unix,
    Tcp,
}

/// `podman system service` on a temp socket (or a loopback TCP port) with private storage.
pub struct Podman {
    pub dir: tempfile::TempDir,
    child: Child,
    host: String,
}

impl Podman {
    /// On a unix socket, with no registries marked insecure.
    pub fn start() -> Self {
        Self::start_with(Listen::Unix, &[])
    }

    /// `insecure` registries (`127.0.0.1:PORT`) are reached over plain HTTP: Podman, unlike
    /// dockerd, does not treat loopback as insecure.
    pub fn start_with(listen: Listen, insecure: &[String]) -> Self {
        let dir = tempfile::tempdir().expect("podman temp dir");
        let conf = dir.path().join("registries.conf");
        let mut text =
            String::from("unqualified-search-registries = []\nshort-name-mode = \"disabled\"\n");
        for r in insecure {
            text.push_str(&format!(
                "[[registry]]\nlocation = \"{r}\"\ninsecure = true\n"
            ));
        }
        std::fs::write(&conf, text).expect("write registries.conf");
        let log = dir.path().join("service.log");
        let (mut cmd, host, stdin) = match listen {
            Listen::Unix => {
                let host = format!("unix://{}", dir.path().join("podman.sock").display());
                let mut cmd = podman_in(dir.path());
                cmd.args(["system", "service", "--time=0", &host]);
                (cmd, host, Stdio::null())
            }
            Listen::Tcp => {
                // We bind the port and hand the listening socket over (systemd socket
                // activation, which `podman system service` speaks when given no URI), so no
                // other process can take the port between choosing and listening. The socket
                // travels as stdin; the shell moves it to fd 3 and sets LISTEN_PID to its own
                // pid, which `exec` keeps for podman.
                let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
                let port = listener.local_addr().expect("local addr").port();
                let podman = podman_in(dir.path());
                let mut cmd = Command::new("sh");
                cmd.arg("-c")
                    .arg(r#"exec 3<&0 0</dev/null; LISTEN_FDS=1 LISTEN_PID=$$ exec "$@""#)
                    .arg("sh")
                    .arg(podman.get_program())
                    .args(podman.get_args())
                    .args(["system", "service", "--time=0"]);
                let fd = std::os::fd::OwnedFd::from(listener);
                (cmd, format!("tcp://127.0.0.1:{port}"), Stdio::from(fd))
            }
        };
        cmd.env("CONTAINERS_REGISTRIES_CONF", &conf)
            .stdin(stdin)
            .stdout(std::fs::File::create(&log).expect("service log"))
            .stderr(std::fs::File::create(&log).expect("service log"));
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => panic!("cannot run `{PODMAN}` ({e}): {PODMAN_HINT}"),
        };
        let probe = host.clone();
        wait_until("podman system service", &mut child, &log, || ping(&probe));
        Podman { dir, child, host }
    }

    /// `unix:///…/podman.sock` or `tcp://127.0.0.1:PORT`: what DOCKER_HOST would hold.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The socket path (unix services only).
    pub fn socket(&self) -> PathBuf {
        PathBuf::from(self.host.trim_start_matches("unix://"))
    }

    /// Daemon options that reach only this service, whatever the test process's environment.
    pub fn daemon_options(&self) -> DaemonOptions {
        DaemonOptions {
            host: Some(self.host.clone()),
            env: xnat_cmd::Env::default(),
            ..DaemonOptions::default()
        }
    }

    /// The podman CLI on this service's storage.
    pub fn podman(&self) -> Command {
        podman_in(self.dir.path())
    }

    /// Save `image` as a `docker save` tar under `names` and `podman load` it (offline).
    pub fn load(&self, image: &BuiltImage, names: &[&str]) {
        let tar = self
            .dir
            .path()
            .join(format!("load-{}.tar", &image.config_digest[7..19]));
        write_docker_archive(&tar, &[Saved::new(image, names)], Compress::None)
            .expect("write docker archive");
        let out = self
            .podman()
            .arg("load")
            .arg("-i")
            .arg(&tar)
            .output()
            .expect("run podman load");
        assert!(
            out.status.success(),
            "podman load: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The service's own `/version` document, read over the socket by hand.
    pub fn version(&self) -> serde_json::Value {
        let body = raw_get(&self.host, "/version").expect("GET /version");
        serde_json::from_str(&body).expect("/version JSON")
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // vfs keeps no mounts, but a crashed run may have left some: unmount before the
        // temp dir is removed.
        let root = self.dir.path().display().to_string();
        if let Ok(mounts) = std::fs::read_to_string("/proc/mounts") {
            for m in mounts
                .lines()
                .filter_map(|l| l.split(' ').nth(1))
                .filter(|m| m.starts_with(&root))
            {
                let _ = Command::new("umount").arg("-l").arg(m).status();
            }
        }
    }
}

/// podman with all state under `dir` (vfs: no overlay mounts to clean up).
fn podman_in(dir: &Path) -> Command {
    let mut cmd = Command::new(PODMAN);
    cmd.arg("--root")
        .arg(dir.join("root"))
        .arg("--runroot")
        .arg(dir.join("run"))
        .arg("--tmpdir")
        .arg(dir.join("tmp"))
        .args([
            "--storage-driver",
            "vfs",
            "--cgroup-manager",
            "cgroupfs",
            "--events-backend",
            "file",
        ]);
    cmd
}

/// A one-shot HTTP/1.0 GET over `unix://` or `tcp://`, independent of the code under test.
pub fn raw_get(host: &str, path: &str) -> std::io::Result<String> {
    let request = format!("GET {path} HTTP/1.0\r\nHost: d\r\n\r\n");
    let mut response = Vec::new();
    if let Some(sock) = host.strip_prefix("unix://") {
        let mut s = UnixStream::connect(sock)?;
        s.write_all(request.as_bytes())?;
        s.read_to_end(&mut response)?;
    } else {
        let mut s = TcpStream::connect(host.trim_start_matches("tcp://"))?;
        s.write_all(request.as_bytes())?;
        s.read_to_end(&mut response)?;
    }
    let text = String::from_utf8_lossy(&response).into_owned();
    Ok(text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default())
}

fn ping(host: &str) -> bool {
    raw_get(host, "/_ping")
        .map(|b| b.trim() == "OK")
        .unwrap_or(false)
}
