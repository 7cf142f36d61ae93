//! The Prometheus Pushgateway from Debian (`prometheus-pushgateway`) on a 127.0.0.1 port of its
//! own choosing, without persistence (Debian's build defaults `--persistence.file` to a file
//! under /var/lib), plain or with TLS (the test CA) and Basic auth through its web config.
//! The process is killed on Drop.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use crate::pki::test_pki;
use crate::registry::wait_listening;

const BINARY: &str = "/usr/bin/prometheus-pushgateway";

#[derive(Default)]
pub struct Options {
    /// Serve HTTPS with a certificate of the test CA.
    pub tls: bool,
    /// Require Basic auth with this user and password.
    pub basic: Option<(String, String)>,
}

pub struct Pushgateway {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    pub dir: tempfile::TempDir,
    /// The test CA (TLS mode).
    pub ca_path: Option<PathBuf>,
    basic: Option<(String, String)>,
    log_path: PathBuf,
}

impl Pushgateway {
    pub fn start(opts: Options) -> Pushgateway {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut web = String::new();
        let mut ca_path = None;
        if opts.tls {
            let (ca_pem, cert_pem, key_pem) = test_pki();
            let ca = dir.path().join("ca.crt");
            std::fs::write(&ca, ca_pem).expect("ca");
            std::fs::write(dir.path().join("server.crt"), cert_pem).expect("cert");
            std::fs::write(dir.path().join("server.key"), key_pem).expect("key");
            web.push_str(&format!(
                "tls_server_config:\n  cert_file: {}\n  key_file: {}\n",
                dir.path().join("server.crt").display(),
                dir.path().join("server.key").display()
            ));
            ca_path = Some(ca);
        }
        if let Some((user, password)) = &opts.basic {
            let hash = bcrypt::hash(password, 4).expect("bcrypt");
            web.push_str(&format!("basic_auth_users:\n  {user}: {hash}\n"));
        }
        let web_config = dir.path().join("web.yml");
        std::fs::write(&web_config, web).expect("web config");
        let log_path = dir.path().join("pushgateway.log");
        let log = std::fs::File::create(&log_path).expect("log");
        let child = Command::new(BINARY)
            .arg("--web.listen-address=127.0.0.1:0")
            .arg(format!("--web.config.file={}", web_config.display()))
            // Metrics in memory only: nothing outlives the test.
            .arg("--persistence.file=")
            .arg("--log.level=warn")
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start `{BINARY}` ({e}): install it with `apt-get install prometheus-pushgateway`")
            });
        let mut pg = Pushgateway {
            child,
            addr: String::new(),
            dir,
            ca_path,
            basic: opts.basic,
            log_path,
        };
        pg.wait_ready();
        pg
    }

    /// Take the port it bound from the kernel (as the registry's), then wait until it accepts.
    fn wait_ready(&mut self) {
        let log_path = self.log_path.clone();
        self.addr = wait_listening(&mut self.child, "prometheus-pushgateway", || {
            std::fs::read_to_string(&log_path).unwrap_or_default()
        });
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// The base URL (what `--pushgateway` takes).
    pub fn url(&self) -> String {
        let scheme = if self.ca_path.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.addr)
    }

    /// The gateway's own `/metrics`: every pushed series (with its grouping labels) and the
    /// gateway's metrics about itself.
    pub fn metrics(&self) -> String {
        let mut b = reqwest::Client::builder();
        if let Some(ca) = &self.ca_path {
            let pem = std::fs::read(ca).expect("ca");
            b = b.add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("ca pem"));
        }
        let client = b.build().expect("client");
        let url = format!("{}/metrics", self.url());
        let basic = self.basic.clone();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let mut req = client.get(&url);
            if let Some((u, p)) = &basic {
                req = req.basic_auth(u, Some(p));
            }
            let resp = req.send().await.expect("GET /metrics");
            assert!(resp.status().is_success(), "GET {url}: {}", resp.status());
            resp.text().await.expect("body")
        })
    }
}

impl Drop for Pushgateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
