//! `docker-daemon:REF` against a real Podman API service (private storage, temp socket or
//! loopback TCP) with images loaded offline or pulled from a loopback `docker-registry`.
//! Only the version-rejecting daemon is simulated: Podman accepts any API version, so it
//! cannot show dockerd's "too new / too old" refusals.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;
use std::sync::{Arc, Mutex};

use xnat_cmd::credentials::GivenUser;
use xnat_cmd::secret::Secret;
use xnat_cmd::source::daemon::{self, Daemon, DaemonError, DaemonOptions, API_VERSION};
use xnat_cmd::source::{ImageRecord, ReadOptions, Reader, SourceError, SourceOptions, SourceSpec};
use xnat_cmd::Platform;

use crate::support::images::{BuiltImage, ImageBuilder};
use crate::support::podman::{closed_port, Listen, Podman};
use crate::support::registry::{Mode, Registry};
use crate::support::token_server::Policy;
use crate::support::Sandbox;

const COMMANDS: &str = r#"[{"name":"dcm2niix","version":"1.0","image":"xnat/small:v1","type":"docker","command-line":"run <in> & \"out\" é"}]"#;

fn small_image() -> BuiltImage {
    ImageBuilder::new()
        .label("org.nrg.commands", COMMANDS)
        .label("org.example.version", "1.0")
        .build()
}

fn opts(daemon: DaemonOptions) -> SourceOptions {
    SourceOptions {
        daemon,
        ..SourceOptions::default()
    }
}

async fn read(opts: &SourceOptions, reference: &str) -> Result<ImageRecord, SourceError> {
    let spec = SourceSpec::parse(&format!("docker-daemon:{reference}")).unwrap();
    let mut result = Reader::new(opts.clone())
        .read(&spec, &ReadOptions::default())
        .await?;
    assert_eq!(result.images.len(), 1);
    assert_eq!(result.warnings, Vec::<String>::new());
    Ok(result.images.remove(0))
}

fn daemon_error(e: SourceError) -> DaemonError {
    match e {
        SourceError::Daemon(d) => d,
        other => panic!("expected a daemon error, got {other:?}"),
    }
}

fn env(pairs: &[(&str, &str)]) -> xnat_cmd::Env {
    xnat_cmd::Env::from_pairs(pairs.iter().copied())
}

#[tokio::test]
async fn reads_labels_by_tag_short_id_full_id_and_full_name() {
    let podman = Podman::start();
    let image = small_image();
    podman.load(&image, &["xnat/small:v1"]);
    let o = opts(podman.daemon_options());
    let id = image.config_digest.clone();
    // Podman names a loaded `xnat/small:v1` `localhost/xnat/small:v1` and makes up its own
    // manifest (digest in RepoDigests): read both independently of the code under test.
    let raw = crate::support::podman::raw_get(podman.host(), "/images/xnat/small:v1/json").unwrap();
    let raw: serde_json::Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(
        raw["RepoTags"],
        serde_json::json!(["localhost/xnat/small:v1"])
    );
    let repo_digest = raw["RepoDigests"][0].as_str().unwrap();
    let manifest_digest = repo_digest.split_once('@').unwrap().1;
    let hex = &id[7..];
    let cases = [
        ("xnat/small:v1", "xnat/small:v1"),
        ("localhost/xnat/small:v1", "localhost/xnat/small:v1"),
        (&hex[..12], "localhost/xnat/small:v1"),
        (hex, "localhost/xnat/small:v1"),
        (&*id, "localhost/xnat/small:v1"),
    ];
    for (given, want_image) in cases {
        let r = read(&o, given)
            .await
            .unwrap_or_else(|e| panic!("{given}: {e}"));
        assert_eq!(r.image.as_deref(), Some(want_image), "{given}");
        assert_eq!(r.config_digest.as_deref(), Some(&*id), "{given}");
        assert_eq!(
            r.manifest_digest.as_deref(),
            Some(manifest_digest),
            "{given}"
        );
        assert_eq!(r.platform, Some(Platform::linux_amd64()), "{given}");
        assert_eq!(r.labels, image.labels, "{given}");
        assert_eq!(
            r.labels["org.nrg.commands"], COMMANDS,
            "Go's \\u003c escaping is decoded"
        );
    }
}

#[tokio::test]
async fn missing_image_suggests_pull_and_the_registry_source() {
    let podman = Podman::start();
    let e = daemon_error(
        read(&opts(podman.daemon_options()), "xnat/nosuch:v1")
            .await
            .unwrap_err(),
    );
    assert!(matches!(e, DaemonError::NotFound { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        format!(
            "image `xnat/nosuch:v1` is not in the daemon at `{}`",
            podman.host()
        )
    );
    assert_eq!(
        xnat_cmd::problem::Hint::hint(&e).as_deref(),
        Some(
            "add --pull to pull it through the daemon, or read it from the registry with \
             `docker://xnat/nosuch:v1`"
        )
    );
}

#[tokio::test]
async fn pull_from_a_plain_registry_then_read_by_digest() {
    let registry = Registry::start(Mode::Plain);
    let image = small_image();
    registry.push_image_to("xnat/small", "v1", &image).await;
    let podman = Podman::start_with(Listen::Unix, std::slice::from_ref(&registry.addr));
    let reference = format!("{}/xnat/small:v1", registry.addr);

    let mut o = opts(podman.daemon_options());
    o.daemon.pull = true;
    let r = read(&o, &reference).await.unwrap();
    assert_eq!(r.image.as_deref(), Some(&*reference));
    assert_eq!(r.config_digest.as_deref(), Some(&*image.config_digest));
    assert_eq!(r.manifest_digest.as_deref(), Some(&*image.manifest_digest));
    assert_eq!(r.labels, image.labels);

    // Now local: by digest, without --pull.
    let by_digest = format!("{}/xnat/small@{}", registry.addr, image.manifest_digest);
    let r = read(&opts(podman.daemon_options()), &by_digest)
        .await
        .unwrap();
    assert_eq!(r.image.as_deref(), Some(&*by_digest));
    assert_eq!(r.manifest_digest.as_deref(), Some(&*image.manifest_digest));
    assert_eq!(r.labels, image.labels);

    // A tag the registry does not have: the error comes inside a 200 stream.
    let missing = format!("{}/xnat/small:nope", registry.addr);
    let e = daemon_error(read(&o, &missing).await.unwrap_err());
    let DaemonError::PullFailed { ref message, .. } = e else {
        panic!("{e:?}")
    };
    assert!(message.contains("manifest unknown"), "{message}");
    assert!(
        e.to_string().starts_with(&format!(
            "pulling `{missing}` through the daemon at `{}` failed: ",
            podman.host()
        )),
        "{e}"
    );
}

#[tokio::test]
async fn pull_from_a_basic_auth_registry_sends_x_registry_auth() {
    let registry = Registry::start(Mode::Basic {
        user: "testuser".into(),
        password: "testpass".into(),
    });
    let image = small_image();
    registry.push_image_to("xnat/private", "v1", &image).await;
    let podman = Podman::start_with(Listen::Unix, std::slice::from_ref(&registry.addr));
    let reference = format!("{}/xnat/private:v1", registry.addr);
    let mut o = opts(podman.daemon_options());
    o.daemon.pull = true;

    let e = daemon_error(read(&o, &reference).await.unwrap_err());
    let DaemonError::PullFailed { message, .. } = e else {
        panic!("{e:?}")
    };
    assert!(message.contains("unauthorized"), "{message}");

    o.registry.credentials.user = Some(GivenUser {
        name: "testuser".into(),
        password: Secret::new("testpass"),
        origin: "--registry-user".into(),
    });
    let r = read(&o, &reference).await.unwrap();
    assert_eq!(r.config_digest.as_deref(), Some(&*image.config_digest));
    assert_eq!(r.labels, image.labels);
}

#[tokio::test]
async fn pull_from_a_token_registry_with_credentials() {
    let policy = Policy {
        users: [("testuser".to_string(), "testpass".to_string())].into(),
        ..Policy::default()
    };
    let registry = Registry::start(Mode::Token(policy));
    let image = small_image();
    registry.push_image_to("xnat/private", "v1", &image).await;
    let podman = Podman::start_with(Listen::Unix, std::slice::from_ref(&registry.addr));
    let reference = format!("{}/xnat/private:v1", registry.addr);
    let mut o = opts(podman.daemon_options());
    o.daemon.pull = true;

    let e = daemon_error(read(&o, &reference).await.unwrap_err());
    let DaemonError::PullFailed { message, .. } = e else {
        panic!("{e:?}")
    };
    assert!(message.contains("unauthorized"), "{message}");

    // Found by the credential chain in a config.json of the (test-given) environment.
    let home = tempfile::tempdir().unwrap();
    let auth = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        "testuser:testpass",
    );
    std::fs::create_dir_all(home.path().join(".docker")).unwrap();
    std::fs::write(
        home.path().join(".docker/config.json"),
        format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, registry.addr),
    )
    .unwrap();
    o.daemon.env = env(&[("HOME", home.path().to_str().unwrap())]);
    let r = read(&o, &reference).await.unwrap();
    assert_eq!(r.config_digest.as_deref(), Some(&*image.config_digest));
    assert_eq!(r.manifest_digest.as_deref(), Some(&*image.manifest_digest));
    assert_eq!(r.labels, image.labels);
}

#[tokio::test]
async fn no_daemon_lists_every_socket_tried() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    std::fs::create_dir_all(run.join("podman")).unwrap();
    // A socket file nobody listens on any more (a daemon that died): refused, not missing.
    drop(UnixListener::bind(run.join("podman/podman.sock")).unwrap());
    let o = opts(DaemonOptions {
        env: env(&[
            ("HOME", tmp.path().to_str().unwrap()),
            ("XDG_RUNTIME_DIR", run.to_str().unwrap()),
        ]),
        ..DaemonOptions::default()
    });
    let e = daemon_error(read(&o, "xnat/small:v1").await.unwrap_err());
    let r = run.display();
    assert_eq!(
        e.to_string(),
        format!(
            "no Docker or Podman daemon answered; tried `unix:///var/run/docker.sock` (default Docker socket): missing; \
             `unix:///run/podman/podman.sock` (rootful Podman socket): missing; \
             `unix://{r}/podman/podman.sock` (rootless Podman socket): connection refused; \
             `unix://{r}/docker.sock` (rootless Docker socket): missing; \
             set DOCKER_HOST (unix:///PATH or tcp://HOST:PORT) to the daemon's socket"
        ),
        "this test needs a machine without a Docker or rootful Podman socket"
    );
}

#[tokio::test]
async fn docker_host_at_a_closed_tcp_port_is_refused() {
    let (_held, port) = closed_port();
    let o = opts(DaemonOptions {
        env: env(&[("DOCKER_HOST", &format!("tcp://127.0.0.1:{port}"))]),
        ..DaemonOptions::default()
    });
    let e = daemon_error(read(&o, "xnat/small:v1").await.unwrap_err());
    assert_eq!(
        e.to_string(),
        format!(
            "no Docker or Podman daemon answered; tried `tcp://127.0.0.1:{port}` (DOCKER_HOST): connection refused; \
             set DOCKER_HOST (unix:///PATH or tcp://HOST:PORT) to the daemon's socket"
        )
    );
}

#[tokio::test]
async fn reads_over_a_tcp_endpoint_from_docker_host() {
    let podman = Podman::start_with(Listen::Tcp, &[]);
    let image = small_image();
    podman.load(&image, &["xnat/small:v1"]);
    let o = opts(DaemonOptions {
        env: env(&[("DOCKER_HOST", podman.host())]),
        ..DaemonOptions::default()
    });
    let r = read(&o, "xnat/small:v1").await.unwrap();
    assert_eq!(r.config_digest.as_deref(), Some(&*image.config_digest));
    assert_eq!(r.labels, image.labels);
}

#[tokio::test]
async fn negotiates_the_version_podman_reports() {
    let podman = Podman::start();
    let v = podman.version();
    let theirs = v["ApiVersion"].as_str().unwrap();
    let (t, o) = (
        theirs.split_once('.').unwrap(),
        API_VERSION.split_once('.').unwrap(),
    );
    let t = (t.0.parse::<u32>().unwrap(), t.1.parse::<u32>().unwrap());
    let o = (o.0.parse::<u32>().unwrap(), o.1.parse::<u32>().unwrap());
    let want = if t < o { theirs } else { API_VERSION };
    let daemon = Daemon::connect(&podman.daemon_options()).await.unwrap();
    assert_eq!(daemon.api_version(), want);
    assert_eq!(daemon.endpoint(), podman.host());
}

/// A dockerd stand-in that serves only `/v{version}/…` and refuses every other version the
/// way dockerd does; records the paths it was asked for.
struct StrictDaemon {
    _dir: tempfile::TempDir,
    host: String,
    paths: Arc<Mutex<Vec<String>>>,
}

impl StrictDaemon {
    fn start(max: &'static str, min: &'static str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("docker.sock");
        let listener = UnixListener::bind(&sock).unwrap();
        let paths = Arc::new(Mutex::new(Vec::new()));
        let seen = paths.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                let seen = seen.clone();
                std::thread::spawn(move || serve(conn, max, min, &seen));
            }
        });
        StrictDaemon {
            host: format!("unix://{}", sock.display()),
            _dir: dir,
            paths,
        }
    }
}

fn serve(conn: std::os::unix::net::UnixStream, max: &str, min: &str, seen: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut out = conn;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split(' ').nth(1).unwrap_or_default().to_string();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                break;
            }
        }
        seen.lock().unwrap().push(path.clone());
        let mut extra = String::new();
        let (status, body) = if path == "/_ping" {
            // Like dockerd: the newest version in a header, the oldest nowhere.
            extra = format!("Api-Version: {max}\r\n");
            ("200 OK", "OK".to_string())
        } else if path == "/version" {
            (
                "200 OK",
                format!(r#"{{"ApiVersion":"{max}","MinAPIVersion":"{min}","Version":"strict"}}"#),
            )
        } else if path.starts_with(&format!("/v{max}/")) || path.starts_with(&format!("/v{min}/")) {
            (
                "200 OK",
                r#"{"Id":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","RepoTags":["x/y:1"],"Os":"linux","Architecture":"amd64","Config":{"Labels":{"a":"b"}}}"#.to_string(),
            )
        } else {
            (
                "400 Bad Request",
                format!(r#"{{"message":"client version is not supported: use {min} to {max}"}}"#),
            )
        };
        let resp = format!(
            "HTTP/1.1 {status}\r\n{extra}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if out.write_all(resp.as_bytes()).is_err() {
            return;
        }
    }
}

#[tokio::test]
async fn the_negotiated_version_is_the_one_used_in_paths() {
    // An older daemon: min(ours, theirs) = theirs.
    let old = StrictDaemon::start("1.40", "1.24");
    let r = read(
        &opts(DaemonOptions {
            host: Some(old.host.clone()),
            env: env(&[]),
            ..Default::default()
        }),
        "x/y:1",
    )
    .await
    .unwrap();
    assert_eq!(r.labels.get("a").map(String::as_str), Some("b"));
    assert_eq!(
        *old.paths.lock().unwrap(),
        ["/_ping", "/v1.40/images/x/y:1/json"]
    );

    // A daemon whose minimum is above our newest refuses our first try; its `/version` gives
    // the minimum, and the request is sent again with it (never below their minimum).
    let new = StrictDaemon::start("1.56", "1.50");
    read(
        &opts(DaemonOptions {
            host: Some(new.host.clone()),
            env: env(&[]),
            ..Default::default()
        }),
        "x/y:1",
    )
    .await
    .unwrap();
    assert_eq!(
        *new.paths.lock().unwrap(),
        [
            "/_ping",
            &format!("/v{API_VERSION}/images/x/y:1/json"),
            "/version",
            "/v1.50/images/x/y:1/json"
        ]
    );

    // DOCKER_API_VERSION pins the version, as with the docker CLI; the daemon's refusal is
    // reported with its own message.
    let pinned = StrictDaemon::start("1.40", "1.24");
    let o = opts(DaemonOptions {
        host: Some(pinned.host.clone()),
        env: env(&[("DOCKER_API_VERSION", "1.45")]),
        ..Default::default()
    });
    let e = daemon_error(read(&o, "x/y:1").await.unwrap_err());
    assert_eq!(
        e.to_string(),
        "the daemon answered `GET /v1.45/images/x/y:1/json` with 400: client version is not supported: use 1.24 to 1.40"
    );
}

#[tokio::test]
async fn one_connection_serves_many_reads() {
    let podman = Podman::start();
    let a = small_image();
    let b = ImageBuilder::new().label("org.nrg.commands", "[]").build();
    podman.load(&a, &["xnat/a:1"]);
    podman.load(&b, &["xnat/b:1"]);
    let o = opts(podman.daemon_options());
    let mut d = Daemon::connect(&o.daemon).await.unwrap();
    for _ in 0..3 {
        let ra = daemon::read_with(&mut d, "xnat/a:1", &o, &ReadOptions::default())
            .await
            .unwrap();
        let rb = daemon::read_with(&mut d, "xnat/b:1", &o, &ReadOptions::default())
            .await
            .unwrap();
        assert_eq!(
            ra.images[0].config_digest.as_deref(),
            Some(&*a.config_digest)
        );
        assert_eq!(rb.images[0].labels["org.nrg.commands"], "[]");
    }
}

#[test]
fn cli_inspect_reads_the_daemon_in_docker_host() {
    let podman = Podman::start();
    let image = small_image();
    podman.load(&image, &["xnat/small:v1"]);
    let sandbox = Sandbox::new();
    let out = sandbox
        .cmd()
        .env("DOCKER_HOST", podman.host())
        .args(["inspect", "--json", "docker-daemon:xnat/small:v1"])
        .output()
        .unwrap();
    let v = crate::support::success_json(&out);
    assert_eq!(v["source"], "docker-daemon:xnat/small:v1");
    assert_eq!(v["image"], "xnat/small:v1");
    assert_eq!(v["config_digest"], image.config_digest.as_str());
    assert_eq!(
        v["platform"],
        serde_json::json!({"os": "linux", "architecture": "amd64"})
    );
    assert_eq!(
        v["commands"],
        serde_json::from_str::<serde_json::Value>(COMMANDS).unwrap()
    );
}

#[test]
fn cli_missing_image_fails_with_the_pull_hint() {
    let podman = Podman::start();
    let sandbox = Sandbox::new();
    let out = sandbox
        .cmd()
        .env("DOCKER_HOST", podman.host())
        .args(["inspect", "docker-daemon:xnat/nosuch:v1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(out.stdout, b"");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).replace(podman.host(), "[HOST]"),
        "error: docker-daemon:xnat/nosuch:v1: image `xnat/nosuch:v1` is not in the daemon at `[HOST]`\n\
         hint: add --pull to pull it through the daemon, or read it from the registry with \
         `docker://xnat/nosuch:v1`\n"
    );
}

/// A unix-socket proxy in front of a daemon that records the connections made through it and
/// the request paths sent on them (the client's requests carry no body).
struct CountingProxy {
    _dir: tempfile::TempDir,
    host: String,
    connections: Arc<Mutex<usize>>,
    paths: Arc<Mutex<Vec<String>>>,
}

impl CountingProxy {
    fn start(upstream: std::path::PathBuf) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("proxy.sock");
        let listener = UnixListener::bind(&sock).unwrap();
        let connections = Arc::new(Mutex::new(0));
        let paths = Arc::new(Mutex::new(Vec::new()));
        let (conns, seen) = (connections.clone(), paths.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                *conns.lock().unwrap() += 1;
                let Ok(server) = std::os::unix::net::UnixStream::connect(&upstream) else {
                    return;
                };
                let (mut back_from, mut back_to) =
                    (server.try_clone().unwrap(), client.try_clone().unwrap());
                std::thread::spawn(move || std::io::copy(&mut back_from, &mut back_to));
                let seen = seen.clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(client);
                    let mut server = server;
                    let mut at_start = true;
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if at_start {
                            let path = line.split(' ').nth(1).unwrap_or_default();
                            seen.lock().unwrap().push(path.to_string());
                        }
                        at_start = line == "\r\n";
                        if server.write_all(line.as_bytes()).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        CountingProxy {
            host: format!("unix://{}", sock.display()),
            _dir: dir,
            connections,
            paths,
        }
    }

    fn pings(&self) -> usize {
        let paths = self.paths.lock().unwrap();
        paths.iter().filter(|p| p.as_str() == "/_ping").count()
    }
}

#[tokio::test]
async fn one_reader_makes_one_connection_and_one_negotiation() {
    let podman = Podman::start();
    let (a, b) = (
        small_image(),
        ImageBuilder::new().label("org.nrg.commands", "[]").build(),
    );
    podman.load(&a, &["xnat/a:1"]);
    podman.load(&b, &["xnat/b:1"]);
    let proxy = CountingProxy::start(podman.socket());
    let reader = Reader::new(opts(DaemonOptions {
        host: Some(proxy.host.clone()),
        env: env(&[]),
        ..Default::default()
    }));
    let one = ReadOptions::default();
    let spec = |r: &str| SourceSpec::parse(&format!("docker-daemon:{r}")).unwrap();
    let (sa, sb) = (spec("xnat/a:1"), spec("xnat/b:1"));
    // Started together, then once more: every read goes through the one connection.
    let (ra, rb) = tokio::join!(reader.read(&sa, &one), reader.read(&sb, &one));
    let again = reader.read(&sa, &one).await.unwrap();
    assert_eq!(
        ra.unwrap().images[0].config_digest.as_deref(),
        Some(&*a.config_digest)
    );
    assert_eq!(rb.unwrap().images[0].labels["org.nrg.commands"], "[]");
    assert_eq!(
        again.images[0].config_digest.as_deref(),
        Some(&*a.config_digest)
    );
    assert_eq!(*proxy.connections.lock().unwrap(), 1);
    assert_eq!(proxy.pings(), 1, "{:?}", proxy.paths.lock().unwrap());
    assert_eq!(
        proxy.paths.lock().unwrap().len(),
        4,
        "one ping, three inspects"
    );
}

#[test]
fn cli_inspect_of_two_daemon_images_negotiates_once() {
    let podman = Podman::start();
    let (a, b) = (
        small_image(),
        ImageBuilder::new().label("org.nrg.commands", "[]").build(),
    );
    podman.load(&a, &["xnat/a:1"]);
    podman.load(&b, &["xnat/b:1"]);
    let proxy = CountingProxy::start(podman.socket());
    let out = Sandbox::new()
        .cmd()
        .env("DOCKER_HOST", &proxy.host)
        .args([
            "inspect",
            "--json",
            "docker-daemon:xnat/a:1",
            "docker-daemon:xnat/b:1",
        ])
        .output()
        .unwrap();
    let v = crate::support::success_json(&out);
    assert_eq!(v.as_array().map(Vec::len), Some(2), "{v}");
    assert_eq!(*proxy.connections.lock().unwrap(), 1);
    assert_eq!(proxy.pings(), 1, "{:?}", proxy.paths.lock().unwrap());
}
