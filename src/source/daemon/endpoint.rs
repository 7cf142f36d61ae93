//! Where the daemon is: an explicit host, `DOCKER_HOST`, the current docker context,
//! `CONTAINER_HOST`, then the default Docker and Podman sockets — in the order the Docker CLI
//! and Podman use them.
//!
//! An explicit setting is used alone: when the user (or their environment) names a daemon,
//! silently reading another daemon's image store instead would be a worse surprise than a
//! clear "cannot reach" error. Only without any setting are the default sockets probed in turn.

use std::fmt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::DaemonError;

/// A daemon address: a unix socket or a TCP endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    Unix(PathBuf),
    Tcp { host: String, port: u16 },
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Unix(p) => write!(f, "unix://{}", p.display()),
            Address::Tcp { host, port } if host.contains(':') => write!(f, "tcp://[{host}]:{port}"),
            Address::Tcp { host, port } => write!(f, "tcp://{host}:{port}"),
        }
    }
}

/// TLS material for a TCP daemon: `ca.pem`, `cert.pem`, `key.pem` in one directory, as the
/// Docker CLI keeps them (`DOCKER_CERT_PATH`, or a context's `tls/<hash>/docker/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub dir: PathBuf,
}

/// One place a daemon may be, and which setting pointed there (for messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub address: Address,
    pub tls: Option<TlsFiles>,
    pub origin: String,
}

/// Environment lookup: the process environment, or a map in tests.
pub(crate) type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

fn var(env: EnvLookup<'_>, key: &str) -> Option<String> {
    env(key).filter(|v| !v.is_empty())
}

/// Where to look, first to last. `host` is an explicit override (it wins over everything).
pub(crate) fn candidates(
    host: Option<&str>,
    env: EnvLookup<'_>,
) -> Result<Vec<Candidate>, DaemonError> {
    if let Some(h) = host.filter(|h| !h.is_empty()) {
        return Ok(vec![from_host(h, "the daemon host option", env_tls(env)?)?]);
    }
    if let Some(h) = var(env, "DOCKER_HOST") {
        return Ok(vec![from_host(&h, "DOCKER_HOST", env_tls(env)?)?]);
    }
    if let Some(c) = context(env)? {
        return Ok(vec![c]);
    }
    if let Some(h) = var(env, "CONTAINER_HOST") {
        return Ok(vec![from_host(&h, "CONTAINER_HOST", None)?]);
    }
    let unix = |p: PathBuf, origin: &str| Candidate {
        address: Address::Unix(p),
        tls: None,
        origin: origin.to_string(),
    };
    let mut list = vec![
        unix("/var/run/docker.sock".into(), "default Docker socket"),
        unix("/run/podman/podman.sock".into(), "rootful Podman socket"),
    ];
    if let Some(run) = var(env, "XDG_RUNTIME_DIR") {
        let run = PathBuf::from(run);
        list.push(unix(
            run.join("podman/podman.sock"),
            "rootless Podman socket",
        ));
        list.push(unix(run.join("docker.sock"), "rootless Docker socket"));
    }
    Ok(list)
}

/// `DOCKER_TLS_VERIFY` / `DOCKER_CERT_PATH` as the Docker CLI reads them.
fn env_tls(env: EnvLookup<'_>) -> Result<Option<TlsFiles>, DaemonError> {
    let verify = var(env, "DOCKER_TLS_VERIFY").is_some();
    let cert_path = var(env, "DOCKER_CERT_PATH");
    if !verify && cert_path.is_none() {
        return Ok(None);
    }
    if !verify {
        // The Docker CLI then does TLS without verifying the server. We do not offer an
        // unverified TLS mode: say what to set instead of silently verifying or not.
        return Err(DaemonError::UnverifiedTls {
            origin: "DOCKER_CERT_PATH without DOCKER_TLS_VERIFY".into(),
        });
    }
    let dir = match cert_path {
        Some(p) => PathBuf::from(p),
        None => docker_config_dir(env).unwrap_or_else(|| PathBuf::from(".docker")),
    };
    Ok(Some(TlsFiles { dir }))
}

/// `$DOCKER_CONFIG`, else `~/.docker`.
fn docker_config_dir(env: EnvLookup<'_>) -> Option<PathBuf> {
    var(env, "DOCKER_CONFIG")
        .map(PathBuf::from)
        .or_else(|| var(env, "HOME").map(|h| Path::new(&h).join(".docker")))
}

/// The current docker context (`DOCKER_CONTEXT`, else `currentContext` in config.json), when
/// it is not `default`: its `meta.json` lives under `contexts/meta/<sha256 of the name>/`.
fn context(env: EnvLookup<'_>) -> Result<Option<Candidate>, DaemonError> {
    let Some(config_dir) = docker_config_dir(env) else {
        return Ok(None);
    };
    let name = match var(env, "DOCKER_CONTEXT") {
        Some(n) => n,
        None => {
            let path = config_dir.join("config.json");
            let text = match crate::limits::read_text(&path, crate::limits::MAX_CONFIG_FILE_BYTES) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(source) => return Err(DaemonError::ReadConfig { path, source }),
            };
            let v: serde_json::Value = serde_json::from_str(&text)
                .map_err(|source| DaemonError::ConfigJson { path, source })?;
            match v.get("currentContext").and_then(|c| c.as_str()) {
                Some(n) if !n.is_empty() => n.to_string(),
                _ => return Ok(None),
            }
        }
    };
    if name == "default" {
        return Ok(None);
    }
    let hash = hex::encode(Sha256::digest(name.as_bytes()));
    let meta = config_dir
        .join("contexts/meta")
        .join(&hash)
        .join("meta.json");
    let text = crate::limits::read_text(&meta, crate::limits::MAX_CONFIG_FILE_BYTES).map_err(
        |source| DaemonError::Context {
            name: name.clone(),
            path: meta.clone(),
            source,
        },
    )?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|source| DaemonError::ConfigJson {
            path: meta.clone(),
            source,
        })?;
    let docker = &v["Endpoints"]["docker"];
    let Some(host) = docker["Host"].as_str().filter(|h| !h.is_empty()) else {
        return Err(DaemonError::ContextWithoutHost { name, path: meta });
    };
    let origin = format!("docker context `{name}`");
    let tls_dir = config_dir.join("contexts/tls").join(&hash).join("docker");
    let tls = if tls_dir.is_dir() {
        if docker["SkipTLSVerify"].as_bool() == Some(true) {
            return Err(DaemonError::UnverifiedTls {
                origin: format!("{origin} with SkipTLSVerify"),
            });
        }
        Some(TlsFiles { dir: tls_dir })
    } else {
        None
    };
    from_host(host, &origin, tls).map(Some)
}

/// Parse `unix:///path` or `tcp://host[:port]` (`http://`/`https://` as `tcp://`, like the
/// Go client: TLS comes from the TLS settings, not the scheme).
fn from_host(value: &str, origin: &str, tls: Option<TlsFiles>) -> Result<Candidate, DaemonError> {
    let unsupported = |why: &str| DaemonError::UnsupportedHost {
        value: value.to_string(),
        origin: origin.to_string(),
        why: why.to_string(),
    };
    let (scheme, rest) = value
        .split_once("://")
        .ok_or_else(|| unsupported("expected unix:///PATH or tcp://HOST:PORT"))?;
    let candidate = |address, tls| Candidate {
        address,
        tls,
        origin: origin.to_string(),
    };
    match scheme {
        "unix" if rest.starts_with('/') => Ok(candidate(Address::Unix(PathBuf::from(rest)), None)),
        "unix" => Err(unsupported(
            "a unix socket path must be absolute (unix:///PATH)",
        )),
        "tcp" | "http" | "https" => {
            let authority = rest.split('/').next().unwrap_or_default();
            let default_port = if tls.is_some() { 2376 } else { 2375 };
            let (host, port) = split_host_port(authority, default_port)
                .ok_or_else(|| unsupported("expected tcp://HOST:PORT"))?;
            Ok(candidate(Address::Tcp { host, port }, tls))
        }
        "ssh" => Err(unsupported(
            "ssh:// is not supported; forward the socket (ssh -L) and use unix:// or tcp://",
        )),
        _ => Err(unsupported("expected unix:///PATH or tcp://HOST:PORT")),
    }
}

/// `host`, `host:port`, `[v6]`, `[v6]:port`.
fn split_host_port(authority: &str, default_port: u16) -> Option<(String, u16)> {
    if authority.is_empty() {
        return None;
    }
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None if after.is_empty() => default_port,
            None => return None,
        };
        return Some((host.to_string(), port));
    }
    match authority.rsplit_once(':') {
        Some((h, p)) if !h.is_empty() && !h.contains(':') => Some((h.to_string(), p.parse().ok()?)),
        Some(_) => None,
        None => Some((authority.to_string(), default_port)),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn with_env<T>(pairs: &[(&str, &str)], f: impl FnOnce(EnvLookup<'_>) -> T) -> T {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let lookup = move |k: &str| map.get(k).cloned();
        f(&lookup)
    }

    fn addresses(pairs: &[(&str, &str)]) -> Result<Vec<String>, String> {
        with_env(pairs, |env| candidates(None, env))
            .map(|l| {
                l.iter()
                    .map(|c| format!("{} ({})", c.address, c.origin))
                    .collect()
            })
            .map_err(|e| e.to_string())
    }

    #[test]
    fn host_forms() {
        let cases: &[(&str, Result<&str, &str>)] = &[
            (
                "unix:///var/run/docker.sock",
                Ok("unix:///var/run/docker.sock"),
            ),
            ("tcp://127.0.0.1:2375", Ok("tcp://127.0.0.1:2375")),
            ("tcp://localhost", Ok("tcp://localhost:2375")),
            ("tcp://[::1]:2376/", Ok("tcp://[::1]:2376")),
            ("http://10.0.0.1:80", Ok("tcp://10.0.0.1:80")),
            ("ssh://me@host", Err("ssh:// is not supported")),
            ("unix://relative.sock", Err("must be absolute")),
            (
                "/var/run/docker.sock",
                Err("unsupported daemon address `/var/run/docker.sock` from DOCKER_HOST"),
            ),
            ("tcp://host:port", Err("expected tcp://HOST:PORT")),
        ];
        for (value, want) in cases {
            let got = with_env(&[("DOCKER_HOST", value)], |env| candidates(None, env));
            match (got, want) {
                (Ok(l), Ok(w)) => assert_eq!(l[0].address.to_string(), *w, "{value}"),
                (Err(e), Err(w)) => assert!(e.to_string().contains(w), "{value}: {e}"),
                (got, want) => panic!("{value}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn defaults_in_order_without_settings() {
        assert_eq!(
            addresses(&[("XDG_RUNTIME_DIR", "/run/user/7")]).unwrap(),
            [
                "unix:///var/run/docker.sock (default Docker socket)",
                "unix:///run/podman/podman.sock (rootful Podman socket)",
                "unix:///run/user/7/podman/podman.sock (rootless Podman socket)",
                "unix:///run/user/7/docker.sock (rootless Docker socket)",
            ]
        );
    }

    #[test]
    fn an_explicit_setting_is_used_alone() {
        let both = &[
            ("DOCKER_HOST", "tcp://127.0.0.1:1"),
            ("CONTAINER_HOST", "unix:///x.sock"),
        ];
        assert_eq!(
            addresses(both).unwrap(),
            ["tcp://127.0.0.1:1 (DOCKER_HOST)"]
        );
        assert_eq!(
            addresses(&[("CONTAINER_HOST", "unix:///x.sock")]).unwrap(),
            ["unix:///x.sock (CONTAINER_HOST)"]
        );
        let got = with_env(&[("DOCKER_HOST", "tcp://127.0.0.1:1")], |env| {
            candidates(Some("unix:///o.sock"), env)
        });
        assert_eq!(got.unwrap()[0].address.to_string(), "unix:///o.sock");
    }

    #[test]
    fn tls_settings() {
        let l = with_env(
            &[
                ("DOCKER_HOST", "tcp://h:2376"),
                ("DOCKER_TLS_VERIFY", "1"),
                ("DOCKER_CERT_PATH", "/certs"),
            ],
            |env| candidates(None, env),
        )
        .unwrap();
        assert_eq!(
            l[0].tls,
            Some(TlsFiles {
                dir: "/certs".into()
            })
        );
        let l = with_env(
            &[
                ("DOCKER_HOST", "tcp://h"),
                ("DOCKER_TLS_VERIFY", "1"),
                ("HOME", "/home/u"),
            ],
            |env| candidates(None, env),
        )
        .unwrap();
        assert_eq!(l[0].address.to_string(), "tcp://h:2376");
        assert_eq!(
            l[0].tls,
            Some(TlsFiles {
                dir: "/home/u/.docker".into()
            })
        );
        let e = with_env(
            &[("DOCKER_HOST", "tcp://h"), ("DOCKER_CERT_PATH", "/c")],
            |env| candidates(None, env),
        );
        assert!(e.unwrap_err().to_string().contains("DOCKER_TLS_VERIFY"));
    }

    #[test]
    fn current_context_from_config_json() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path();
        std::fs::write(cfg.join("config.json"), r#"{"currentContext":"remote"}"#).unwrap();
        let hash = hex::encode(Sha256::digest(b"remote"));
        let meta = cfg.join("contexts/meta").join(&hash);
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::write(
            meta.join("meta.json"),
            r#"{"Name":"remote","Metadata":{},"Endpoints":{"docker":{"Host":"tcp://127.0.0.1:2999","SkipTLSVerify":false}}}"#,
        )
        .unwrap();
        let c = cfg.to_str().unwrap();
        assert_eq!(
            addresses(&[("DOCKER_CONFIG", c)]).unwrap(),
            ["tcp://127.0.0.1:2999 (docker context `remote`)"]
        );
        // DOCKER_CONTEXT wins over config.json; `default` means no context.
        let defaults = addresses(&[("DOCKER_CONFIG", c), ("DOCKER_CONTEXT", "default")]).unwrap();
        assert_eq!(
            defaults[0],
            "unix:///var/run/docker.sock (default Docker socket)"
        );
        let e = addresses(&[("DOCKER_CONFIG", c), ("DOCKER_CONTEXT", "gone")]).unwrap_err();
        assert!(
            e.starts_with("cannot read docker context `gone` at `"),
            "{e}"
        );
    }
}
