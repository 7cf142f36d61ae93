//! The CNCF `docker-registry` (distribution 2.8) on a 127.0.0.1 port of its own choosing, in plain, htpasswd
//! Basic, TLS (test CA made with rcgen) or token mode (with [`TokenServer`]); images built by
//! `images` are pushed over the distribution API. The process is killed on Drop.

use std::io::Write as _;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;

use crate::images::{BuiltImage, BuiltIndex, Content, Target};
use crate::pki::test_pki;
use crate::token_server::{Policy, TokenServer, ISSUER, SERVICE};

const BINARY: &str = "docker-registry";

pub enum Mode {
    Plain,
    Basic { user: String, password: String },
    Tls,
    Token(Policy),
}

pub struct Registry {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    pub dir: tempfile::TempDir,
    /// The test CA (TLS mode).
    pub ca_path: Option<PathBuf>,
    pub token: Option<TokenServer>,
    basic: Option<(String, String)>,
    pub log_path: PathBuf,
}

/// The registry is a Go program that cannot take a listening socket from us (no socket
/// activation in distribution 2.8), so it binds `127.0.0.1:0` itself and we read the port it
/// got from the kernel — its listening socket in `/proc/net/tcp`, found through the inodes of
/// its open files — instead of probing for a free port and hoping nobody takes it before the
/// registry does. (Its `listening on` log line would need `info` logging, which costs the
/// registry CPU on every request and would skew the benchmarks that use this harness.)
const TCP_LISTEN: &str = "0A";

impl Registry {
    pub fn start(mode: Mode) -> Registry {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        let mut extra = String::new();
        let mut ca_path = None;
        let mut token = None;
        let mut basic = None;
        match mode {
            Mode::Plain => {}
            Mode::Basic { user, password } => {
                let hash = bcrypt::hash(&password, 4).expect("bcrypt");
                let htpasswd = dir.path().join("htpasswd");
                std::fs::write(&htpasswd, format!("{user}:{hash}\n")).expect("htpasswd");
                extra = format!(
                    "auth:\n  htpasswd:\n    realm: basic-realm\n    path: {}\n",
                    htpasswd.display()
                );
                basic = Some((user, password));
            }
            Mode::Tls => {
                let (ca_pem, cert_pem, key_pem) = test_pki();
                let ca = dir.path().join("ca.crt");
                std::fs::write(&ca, ca_pem).expect("ca");
                std::fs::write(dir.path().join("server.crt"), cert_pem).expect("cert");
                std::fs::write(dir.path().join("server.key"), key_pem).expect("key");
                extra = format!(
                    "  tls:\n    certificate: {}\n    key: {}\n",
                    dir.path().join("server.crt").display(),
                    dir.path().join("server.key").display()
                );
                ca_path = Some(ca);
            }
            Mode::Token(policy) => {
                let t = TokenServer::start(policy);
                let bundle = dir.path().join("token.crt");
                std::fs::write(&bundle, &t.cert_pem).expect("bundle");
                extra = format!(
                    "auth:\n  token:\n    realm: {}\n    service: {SERVICE}\n    issuer: {ISSUER}\n    rootcertbundle: {}\n",
                    t.realm(),
                    bundle.display()
                );
                token = Some(t);
            }
        }
        // `tls:` belongs under `http:`, `auth:` at the top level.
        let (http_extra, top_extra) = if extra.starts_with("  tls") {
            (extra, String::new())
        } else {
            (String::new(), extra)
        };
        let config = format!(
            "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: false\nstorage:\n  cache:\n    blobdescriptor: inmemory\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:0\n  secret: not-a-secret-test-only\n{http_extra}{top_extra}",
            data.display()
        );
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).expect("config");
        let log_path = dir.path().join("registry.log");
        let log = std::fs::File::create(&log_path).expect("log");
        let child = Command::new(BINARY)
            .arg("serve")
            .arg(&config_path)
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start `{BINARY}` ({e}): install it with `apt-get install docker-registry` (Debian's CNCF distribution 2.8)")
            });
        let mut reg = Registry {
            child,
            addr: String::new(),
            dir,
            ca_path,
            token,
            basic,
            log_path,
        };
        reg.wait_ready();
        reg
    }

    /// Take the port it bound from the kernel, then wait until it accepts.
    fn wait_ready(&mut self) {
        let log = self.log_path.clone();
        self.addr = wait_listening(&mut self.child, "docker-registry", || {
            std::fs::read_to_string(&log).unwrap_or_default()
        });
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Requests the registry logged in its access log so far.
    pub fn access_log_requests(&self) -> usize {
        self.log()
            .lines()
            .filter(|l| l.contains("\"GET /v2/") || l.contains("\"HEAD /v2/"))
            .count()
    }

    fn base(&self) -> String {
        let scheme = if self.ca_path.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.addr)
    }

    fn client(&self) -> reqwest::Client {
        let mut b = reqwest::Client::builder();
        if let Some(ca) = &self.ca_path {
            let pem = std::fs::read(ca).expect("ca");
            b = b.add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("ca pem"));
        }
        b.build().expect("client")
    }

    fn auth(&self, repo: &str) -> Option<String> {
        if let Some((u, p)) = &self.basic {
            return Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
            ));
        }
        self.token.as_ref().map(|t| {
            format!(
                "Bearer {}",
                t.mint("pusher", &[&format!("repository:{repo}:pull,push")])
            )
        })
    }

    /// Push an image or index to `repo:tag` with the distribution API.
    pub async fn push(&self, repo: &str, tag: &str, target: Target<'_>) {
        let c = self.client();
        let auth = self.auth(repo);
        match target {
            Target::Image(i) => self.push_image(&c, &auth, repo, i).await,
            Target::Index(x) => {
                for i in x.images.iter().chain(&x.attestations) {
                    self.push_image(&c, &auth, repo, i).await;
                }
                self.put_manifest(&c, &auth, repo, &x.digest, &x.media_type, &x.bytes)
                    .await;
            }
        }
        let (mt, bytes) = match target {
            Target::Image(i) => (&i.manifest_media_type, &i.manifest_bytes),
            Target::Index(x) => (&x.media_type, &x.bytes),
        };
        self.put_manifest(&c, &auth, repo, tag, mt, bytes).await;
    }

    pub async fn push_image_to(&self, repo: &str, tag: &str, image: &BuiltImage) {
        self.push(repo, tag, Target::Image(image)).await;
    }

    pub async fn push_index_to(&self, repo: &str, tag: &str, index: &BuiltIndex) {
        self.push(repo, tag, Target::Index(index)).await;
    }

    /// Push `blobs`, then `manifest` (of `media_type`) as `repo:tag`: any artifact built in
    /// code (a cosign signature manifest).
    pub async fn push_manifest_with_blobs(
        &self,
        repo: &str,
        tag: &str,
        media_type: &str,
        manifest: &[u8],
        blobs: Vec<Vec<u8>>,
    ) {
        let c = self.client();
        let auth = self.auth(repo);
        for blob in blobs {
            let digest = crate::images::sha256(&blob);
            self.push_blob(&c, &auth, repo, &digest, blob).await;
        }
        self.put_manifest(&c, &auth, repo, tag, media_type, manifest)
            .await;
    }

    async fn push_image(
        &self,
        c: &reqwest::Client,
        auth: &Option<String>,
        repo: &str,
        i: &BuiltImage,
    ) {
        let mut blobs: Vec<(String, Content)> = i
            .layers
            .iter()
            .map(|l| (l.digest.clone(), l.blob.clone()))
            .collect();
        blobs.push((
            i.config_digest.clone(),
            Content::Bytes(i.config_bytes.clone()),
        ));
        for (digest, content) in blobs {
            let bytes = match content {
                Content::Bytes(b) => b,
                Content::File(p) => std::fs::read(p).expect("blob file"),
            };
            self.push_blob(c, auth, repo, &digest, bytes).await;
        }
        self.put_manifest(
            c,
            auth,
            repo,
            &i.manifest_digest,
            &i.manifest_media_type,
            &i.manifest_bytes,
        )
        .await;
    }

    async fn push_blob(
        &self,
        c: &reqwest::Client,
        auth: &Option<String>,
        repo: &str,
        digest: &str,
        bytes: Vec<u8>,
    ) {
        let mut req = c.post(format!("{}/v2/{repo}/blobs/uploads/", self.base()));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let resp = req.send().await.expect("start upload");
        assert_eq!(
            resp.status().as_u16(),
            202,
            "start upload: {:?}",
            resp.text().await
        );
        let loc = resp.headers()["location"]
            .to_str()
            .expect("location")
            .to_string();
        let url = reqwest::Url::parse(&self.base())
            .expect("base")
            .join(&loc)
            .expect("join");
        let sep = if url.as_str().contains('?') { '&' } else { '?' };
        let mut req = c
            .put(format!("{url}{sep}digest={digest}"))
            .header("content-type", "application/octet-stream")
            .body(bytes);
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let resp = req.send().await.expect("finish upload");
        assert_eq!(
            resp.status().as_u16(),
            201,
            "finish upload: {:?}",
            resp.text().await
        );
    }

    async fn put_manifest(
        &self,
        c: &reqwest::Client,
        auth: &Option<String>,
        repo: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) {
        let mut req = c
            .put(format!("{}/v2/{repo}/manifests/{reference}", self.base()))
            .header("content-type", media_type)
            .body(bytes.to_vec());
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let resp = req.send().await.expect("put manifest");
        assert_eq!(
            resp.status().as_u16(),
            201,
            "put manifest: {:?}",
            resp.text().await
        );
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The port of the TCP socket process `pid` listens on (Linux `/proc`): the socket inodes
/// among its open files, matched with the LISTEN entries of `/proc/net/tcp`.
/// Wait (15 s at most) until the child `what` listens on a loopback port the kernel gave it
/// (its bind to `:0`), and that port accepts; its address. Panics with its log when it exits
/// or never gets there.
pub(crate) fn wait_listening(
    child: &mut std::process::Child,
    what: &str,
    log: impl Fn() -> String,
) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut addr = String::new();
    while Instant::now() < deadline {
        if addr.is_empty() {
            if let Some(port) = listening_port(child.id()) {
                addr = format!("127.0.0.1:{port}");
            }
        }
        if !addr.is_empty() && TcpStream::connect(&addr).is_ok() {
            return addr;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited with {status}: {}", log());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{what} not ready on {addr:?}: {}", log());
}

pub(crate) fn listening_port(pid: u32) -> Option<u16> {
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()?
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|l| {
            let l = l.to_string_lossy().into_owned();
            Some(l.strip_prefix("socket:[")?.strip_suffix(']')?.to_string())
        })
        .collect();
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    listen_port_in(&table, &inodes)
}

/// In a `/proc/net/tcp` table: the local port of a LISTEN entry whose inode is one of `inodes`.
fn listen_port_in(table: &str, inodes: &[String]) -> Option<u16> {
    table.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
        let (local, state, inode) = (f.get(1)?, f.get(3)?, f.get(9)?);
        if *state != TCP_LISTEN || !inodes.iter().any(|i| i == inode) {
            return None;
        }
        let port = u16::from_str_radix(local.rsplit_once(':')?.1, 16).ok()?;
        (port != 0).then_some(port)
    })
}

/// Write `text` to a file in `dir` and return its path.
pub fn write_file(dir: &std::path::Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    let mut f = std::fs::File::create(&p).expect("create");
    f.write_all(text.as_bytes()).expect("write");
    p
}

#[cfg(test)]
mod tests {
    #[test]
    fn listen_port_from_proc_net_tcp() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0 100 0 0 10 0
   1: 0100007F:A3C2 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 4343 1 0 20 4 30 10 -1";
        let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(super::listen_port_in(table, &ids(&["4242"])), Some(8080));
        assert_eq!(
            super::listen_port_in(table, &ids(&["4343"])),
            None,
            "not listening"
        );
        assert_eq!(super::listen_port_in(table, &ids(&["1"])), None);
    }
}
