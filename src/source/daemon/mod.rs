//! `docker-daemon:REF`: an image's labels from a local Docker or Podman daemon over the
//! Engine API (`GET /images/{name}/json` → `Config.Labels`), never a `docker save`.
//!
//! [`endpoint`] finds the daemon, [`client`] talks to it and negotiates the API version,
//! [`pull`] implements `--pull`. This module turns the inspect JSON into an [`ImageRecord`];
//! it reads the raw JSON and only the fields it needs, because dockerd and Podman differ in
//! the rest (null vs missing `Labels`, `ContainerConfig`, id forms).

pub mod client;
pub mod endpoint;
pub mod pull;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use hyper::{Method, StatusCode};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;

pub use client::{Daemon, API_VERSION};
pub use endpoint::{Address, Candidate};
pub use pull::discovered_credentials;

use super::{ImageRecord, ReadOptions, ReadResult, SourceOptions};
use crate::digest::Digest;
use crate::env::Env;
use crate::platform::Platform;
use crate::problem::Hint;
use crate::reference::{familiar, same_repository, xnat_default_tag};

/// How to reach the daemon and what to do when the image is not there.
#[derive(Debug, Clone, Default)]
pub struct DaemonOptions {
    /// Pull the image through the daemon when it is not local.
    pub pull: bool,
    /// Daemon address (`unix:///PATH`, `tcp://HOST:PORT`) overriding `DOCKER_HOST` and the rest.
    pub host: Option<String>,
    /// The environment the daemon is found with (`DOCKER_HOST`, `DOCKER_CONTEXT`, …) and a
    /// `--pull`'s credentials are looked up in: the run's snapshot in the CLI; empty by default
    /// (only the default sockets are tried). Its `Debug` shows names only.
    pub env: Env,
}

impl DaemonOptions {
    /// Run `f` with this options' environment.
    pub(crate) fn with_env<T>(&self, f: impl FnOnce(endpoint::EnvLookup<'_>) -> T) -> T {
        f(&|k: &str| self.env.var(k).map(str::to_string))
    }
}

/// Why one candidate endpoint did not answer.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("missing")]
    Missing,
    #[error("connection refused")]
    Refused,
    #[error("permission denied")]
    PermissionDenied,
    #[error("timed out")]
    TimedOut,
    #[error("{0}")]
    Io(std::io::Error),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("not a Docker Engine API: {0}")]
    NotEngineApi(String),
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        match e.kind() {
            std::io::ErrorKind::NotFound => Failure::Missing,
            std::io::ErrorKind::ConnectionRefused => Failure::Refused,
            std::io::ErrorKind::PermissionDenied => Failure::PermissionDenied,
            _ => Failure::Io(e),
        }
    }
}

/// One endpoint tried, where it came from, and why it failed.
#[derive(Debug)]
pub struct Attempt {
    pub endpoint: String,
    pub origin: String,
    pub failure: Failure,
}

/// Every endpoint tried, for the "no daemon" message.
#[derive(Debug)]
pub struct Tried(pub Vec<Attempt>);

impl From<Vec<Attempt>> for Tried {
    fn from(v: Vec<Attempt>) -> Self {
        Tried(v)
    }
}

impl fmt::Display for Tried {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, a) in self.0.iter().enumerate() {
            let sep = if i == 0 { "" } else { "; " };
            write!(f, "{sep}`{}` ({}): {}", a.endpoint, a.origin, a.failure)?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("no Docker or Podman daemon answered; tried {tried}; set DOCKER_HOST (unix:///PATH or tcp://HOST:PORT) to the daemon's socket")]
    NoDaemon { tried: Tried },
    #[error("unsupported daemon address `{value}` from {origin}: {why}")]
    UnsupportedHost {
        value: String,
        origin: String,
        why: String,
    },
    #[error("TLS without server verification ({origin}) is not supported: set DOCKER_TLS_VERIFY=1 and put ca.pem in the cert directory")]
    UnverifiedTls { origin: String },
    #[error("cannot use the TLS files in `{path}`: {reason}")]
    Tls { path: PathBuf, reason: String },
    #[error("failed to read `{path}`")]
    ReadConfig {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{path}` is not valid JSON")]
    ConfigJson {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot read docker context `{name}` at `{path}`: set DOCKER_CONTEXT or `docker context use` an existing one")]
    Context {
        name: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("docker context `{name}` has no docker endpoint host in `{path}`")]
    ContextWithoutHost { name: String, path: PathBuf },
    #[error("invalid image reference `{reference}` for the daemon: {why}")]
    InvalidReference {
        reference: String,
        why: &'static str,
    },
    #[error("request `{method} {path}` to the daemon at `{endpoint}` failed")]
    Http {
        method: String,
        path: String,
        endpoint: String,
        #[source]
        source: hyper::Error,
    },
    #[error("the daemon at `{endpoint}` did not answer `{path}` within {seconds} s")]
    Stalled {
        path: String,
        endpoint: String,
        seconds: u64,
    },
    #[error("reading the daemon's answer to `{path}` failed: {reason}")]
    Body { path: String, reason: String },
    #[error("the daemon's answer to `{path}` is larger than {limit} bytes")]
    TooLarge { path: String, limit: u64 },
    #[error("the daemon answered `{method} {path}` with {status}: {message}")]
    Status {
        method: String,
        path: String,
        status: u16,
        message: String,
    },
    #[error("the daemon's answer to `{path}` is not the JSON expected: {why}")]
    BadAnswer { path: String, why: String },
    #[error("image `{reference}` is not in the daemon at `{endpoint}`")]
    NotFound { reference: String, endpoint: String },
    #[error("pulling `{reference}` through the daemon at `{endpoint}` failed: {message}")]
    PullFailed {
        reference: String,
        endpoint: String,
        message: String,
    },
    #[error("cannot read the registry credentials for the pull")]
    Credentials(#[from] crate::credentials::CredentialError),
    #[error(
        "image `{reference}` is still not in the daemon at `{endpoint}` after a successful pull"
    )]
    MissingAfterPull { reference: String, endpoint: String },
}

impl Hint for DaemonError {
    fn hint(&self) -> Option<String> {
        match self {
            DaemonError::TooLarge { .. } => Some("raise --max-json-bytes".into()),
            DaemonError::NotFound { reference, .. } => Some(format!(
                "add --pull to pull it through the daemon, or read it from the registry with `docker://{reference}`"
            )),
            _ => None,
        }
    }
}

/// Read `reference`'s labels from the daemon the run's options point at.
pub async fn read(
    reference: &str,
    source: &SourceOptions,
    opts: &ReadOptions,
) -> Result<ReadResult, DaemonError> {
    check_reference(reference)?;
    let mut daemon = Daemon::connect(&source.daemon).await?;
    read_with(&mut daemon, reference, source, opts).await
}

/// A run's daemon connection: found, connected and version-negotiated on the first read, then
/// shared by every `docker-daemon:` read of the run (one endpoint discovery, one `/_ping`).
/// The connection carries one request at a time, so reads take turns on it; a daemon
/// answers an inspect in about a millisecond.
#[derive(Debug, Default)]
pub struct Session {
    daemon: tokio::sync::OnceCell<tokio::sync::Mutex<Daemon>>,
}

impl Session {
    /// [`read`] through the run's connection, made now if this is the first read. A failed
    /// connection is not kept: the next read tries again (and reports the same failure).
    pub async fn read(
        &self,
        reference: &str,
        source: &SourceOptions,
        opts: &ReadOptions,
    ) -> Result<ReadResult, DaemonError> {
        check_reference(reference)?;
        let daemon = self
            .daemon
            .get_or_try_init(|| async {
                Daemon::connect(&source.daemon)
                    .await
                    .map(tokio::sync::Mutex::new)
            })
            .await?;
        read_with(&mut *daemon.lock().await, reference, source, opts).await
    }
}

/// [`read`] on a daemon already connected (many images in one run share the connection).
pub async fn read_with(
    daemon: &mut Daemon,
    reference: &str,
    source: &SourceOptions,
    opts: &ReadOptions,
) -> Result<ReadResult, DaemonError> {
    check_reference(reference)?;
    let inspect = match inspect(daemon, reference, opts.max_json_bytes).await? {
        Some(v) => v,
        None if source.daemon.pull => {
            // Looked up only now: a read of a local image never touches credential files.
            let credentials =
                discovered_credentials(reference, &source.registry, &source.daemon).await?;
            pull::pull(
                daemon,
                reference,
                Some(&opts.platform),
                credentials.as_ref(),
            )
            .await?;
            inspect(daemon, reference, opts.max_json_bytes)
                .await?
                .ok_or_else(|| DaemonError::MissingAfterPull {
                    reference: reference.to_string(),
                    endpoint: daemon.endpoint(),
                })?
        }
        None => {
            return Err(DaemonError::NotFound {
                reference: reference.to_string(),
                endpoint: daemon.endpoint(),
            })
        }
    };
    let mut warnings = Vec::new();
    let record = record(reference, &inspect, &mut warnings);
    if let Some(p) = &record.platform {
        if !p.satisfies(&opts.platform) {
            warnings.push(format!(
                "`{reference}` in the daemon is {p}, not the requested {}: the daemon keeps one platform per name",
                opts.platform
            ));
        }
    }
    Ok(ReadResult {
        images: vec![record],
        warnings,
    })
}

/// Characters left as they are in the path: those of image references (`/`, `:`, `@`, `.`,
/// `-`, `_`) — the daemons route `/images/{name:.*}/json` on the raw path.
const NAME: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b':')
    .remove(b'@')
    .remove(b'.')
    .remove(b'-')
    .remove(b'_');

/// `GET /images/{name}/json`: the raw inspect JSON, or `None` on 404.
async fn inspect(
    daemon: &mut Daemon,
    reference: &str,
    limit: u64,
) -> Result<Option<Value>, DaemonError> {
    let path = format!("/images/{}/json", utf8_percent_encode(reference, NAME));
    let resp = daemon.send(Method::GET, &path, &[]).await?;
    let status = resp.status();
    let body = daemon.read_body(&path, resp, limit).await?;
    match status {
        StatusCode::OK => {
            serde_json::from_slice(&body)
                .map(Some)
                .map_err(|e| DaemonError::BadAnswer {
                    path,
                    why: e.to_string(),
                })
        }
        StatusCode::NOT_FOUND => Ok(None),
        _ => Err(DaemonError::Status {
            method: "GET".into(),
            path: format!("/v{}{path}", daemon.api_version()),
            status: status.as_u16(),
            message: status_message(&body),
        }),
    }
}

/// The daemon's own message from an error body: `{"message":…}` (dockerd and Podman), else
/// the text.
pub(crate) fn status_message(body: &[u8]) -> String {
    let from_json = serde_json::from_slice::<Value>(body).ok().and_then(|v| {
        v.get("message")
            .and_then(|m| m.as_str())
            .map(crate::summary::summarise)
    });
    from_json.unwrap_or_else(|| crate::summary::summarise_bytes(body))
}

/// A reference must not be able to leave `/images/…/json` (`..` segments, `?`, `#`).
fn check_reference(reference: &str) -> Result<(), DaemonError> {
    let bad = |why| {
        Err(DaemonError::InvalidReference {
            reference: reference.to_string(),
            why,
        })
    };
    if reference.trim().is_empty() {
        return bad("it is empty");
    }
    if reference
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '?' || c == '#')
    {
        return bad("it contains spaces or characters a reference never has");
    }
    if reference
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return bad("it has an empty, `.` or `..` path component");
    }
    Ok(())
}

/// The inspect JSON as a record: the name as given (with `:latest` when untagged), or the
/// first `RepoTags` entry when the image was addressed by id.
fn record(given: &str, v: &Value, warnings: &mut Vec<String>) -> ImageRecord {
    let strings = |key: &str| -> Vec<String> {
        v.get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (repo_tags, repo_digests) = (strings("RepoTags"), strings("RepoDigests"));
    let id = v.get("Id").and_then(Value::as_str).map(full_id);
    // The id as a digest (`sha256:<hex>`); a daemon's id that is not one names no config.
    let config_digest = id.as_deref().and_then(|id| Digest::parse(id).ok());
    let by_id = id
        .as_deref()
        .is_some_and(|id| is_id_of(given, id, &repo_tags));
    let image = if by_id {
        repo_tags.first().cloned()
    } else {
        Some(xnat_default_tag(given))
    };
    let manifest_digest = match given.split_once('@') {
        Some((_, digest)) if !by_id => Digest::parse(digest).ok(),
        _ => pick_repo_digest(image.as_deref(), &repo_digests),
    };
    let text = |key: &str| v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty());
    let platform = match (text("Os"), text("Architecture")) {
        (Some(os), Some(arch)) => Some(Platform::new(os, arch, text("Variant"))),
        _ => None,
    };
    // Labels live in `Config.Labels`; Podman sends `null` there when there are none and
    // `ContainerConfig` is `null` or absent. Very old builders left them only in
    // `ContainerConfig` — the fallback costs nothing.
    let labels_of = |key: &str| {
        v.get(key)
            .and_then(|c| c.get("Labels"))
            .and_then(Value::as_object)
    };
    let mut labels = BTreeMap::new();
    if let Some(map) = labels_of("Config").or_else(|| labels_of("ContainerConfig")) {
        for (k, val) in map {
            match val.as_str() {
                Some(s) => {
                    labels.insert(k.clone(), s.to_string());
                }
                None => warnings.push(format!("label `{k}` of `{given}` is not a string; ignored")),
            }
        }
    }
    ImageRecord {
        image,
        manifest_digest,
        config_digest,
        platform,
        labels,
        verified_digest: None,
    }
}

/// `sha256:<hex>` whether the daemon sent the prefix or not.
fn full_id(id: &str) -> String {
    if id.contains(':') {
        id.to_string()
    } else {
        format!("sha256:{id}")
    }
}

/// Was `given` an image id (full, `sha256:`-prefixed, or a short prefix) of image `id`, rather
/// than a name? A hex name that is also one of the image's tags counts as a name.
fn is_id_of(given: &str, id: &str, repo_tags: &[String]) -> bool {
    let hex = given.strip_prefix("sha256:").unwrap_or(given);
    let id_hex = id.strip_prefix("sha256:").unwrap_or(id);
    let tagged = familiar(without_podman_localhost(&xnat_default_tag(given)));
    !hex.is_empty()
        && hex.bytes().all(|b| b.is_ascii_hexdigit())
        && id_hex.starts_with(hex)
        && !repo_tags
            .iter()
            .any(|t| familiar(without_podman_localhost(t)) == tagged)
}

/// Podman names the images it builds or loads `localhost/NAME` where docker says `NAME`;
/// without that prefix, names from either engine compare the docker way.
fn without_podman_localhost(name: &str) -> &str {
    name.strip_prefix("localhost/").unwrap_or(name)
}

/// The manifest digest for `image` among `RepoDigests` (`repo@sha256:…`): the entry of the
/// same repository, else the first.
fn pick_repo_digest(image: Option<&str>, repo_digests: &[String]) -> Option<Digest> {
    let digest_of = |rd: &String| rd.split_once('@').and_then(|(_, d)| Digest::parse(d).ok());
    let same_repo = image.and_then(|img| {
        let img = without_podman_localhost(img);
        repo_digests
            .iter()
            .find(|rd| same_repository(without_podman_localhost(rd), img))
    });
    same_repo.or(repo_digests.first()).and_then(digest_of)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const ID: &str = "sha256:bd14b6ea44c2aaaabbbbccccddddeeeeffff0000111122223333444455556666";
    const DIGEST: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

    fn podman_inspect() -> Value {
        json!({
            "Id": ID,
            "RepoTags": ["docker.io/xnat/small:v1", "127.0.0.1:5000/xnat/small:v1"],
            "RepoDigests": [format!("127.0.0.1:5000/xnat/small@{DIGEST}"), format!("docker.io/xnat/small@{DIGEST}")],
            "Os": "linux", "Architecture": "amd64",
            "Config": {"Labels": {"org.nrg.commands": "[{\"name\":\"a<b\"}]", "n": 1}},
            "ContainerConfig": null
        })
    }

    #[test]
    fn record_by_name_id_and_digest() {
        let v = podman_inspect();
        let cases = [
            ("xnat/small:v1", Some("xnat/small:v1"), Some(DIGEST)),
            ("xnat/small", Some("xnat/small:latest"), Some(DIGEST)),
            (
                "bd14b6ea44c2",
                Some("docker.io/xnat/small:v1"),
                Some(DIGEST),
            ),
            (ID, Some("docker.io/xnat/small:v1"), Some(DIGEST)),
            (&ID[7..], Some("docker.io/xnat/small:v1"), Some(DIGEST)),
        ];
        for (given, image, digest) in cases {
            let mut w = Vec::new();
            let r = record(given, &v, &mut w);
            assert_eq!(r.image.as_deref(), image, "{given}");
            assert_eq!(r.manifest_digest.as_deref(), digest, "{given}");
            assert_eq!(r.config_digest.as_deref(), Some(ID));
            assert_eq!(r.platform, Some(Platform::linux_amd64()));
            assert_eq!(r.labels["org.nrg.commands"], "[{\"name\":\"a<b\"}]");
            assert_eq!(
                w,
                ["label `n` of `".to_string() + given + "` is not a string; ignored"]
            );
        }
        let other = "sha256:".to_string() + &"2".repeat(64);
        let by_digest = format!("127.0.0.1:5000/xnat/small@{other}");
        let r = record(&by_digest, &v, &mut Vec::new());
        assert_eq!(r.image.as_deref(), Some(&*by_digest));
        assert_eq!(r.manifest_digest.as_deref(), Some(&*other));
    }

    #[test]
    fn labels_null_missing_or_only_in_container_config() {
        let cases = [
            (json!({"Id": ID, "Config": {"Labels": null}}), 0),
            (json!({"Id": ID, "Config": {}}), 0),
            (json!({"Id": ID}), 0),
            (
                json!({"Id": ID, "Config": {"Labels": null}, "ContainerConfig": {"Labels": {"a": "b"}}}),
                1,
            ),
        ];
        for (v, n) in cases {
            let r = record("x:1", &v, &mut Vec::new());
            assert_eq!(r.labels.len(), n, "{v}");
            assert_eq!(r.manifest_digest, None);
            assert_eq!(r.platform, None);
        }
    }

    #[test]
    fn id_without_prefix_and_untagged_image_by_id() {
        let v = json!({"Id": &ID[7..], "RepoTags": null, "Os": "linux", "Architecture": "arm64", "Variant": "v8"});
        let r = record("bd14b6", &v, &mut Vec::new());
        assert_eq!(r.config_digest.as_deref(), Some(ID));
        assert_eq!(r.image, None);
        assert_eq!(r.platform, Some(Platform::parse("linux/arm64/v8").unwrap()));
        // A hex name that is also a tag of the image is a name.
        let v = json!({"Id": ID, "RepoTags": ["docker.io/library/bd14b6:latest"]});
        assert_eq!(
            record("bd14b6", &v, &mut Vec::new()).image.as_deref(),
            Some("bd14b6:latest")
        );
    }

    #[test]
    fn references_that_could_leave_the_path_are_refused() {
        for r in [
            "../../containers/json",
            "x/./y",
            "a b",
            "x?all=1",
            "",
            "x//y",
        ] {
            let e = check_reference(r).unwrap_err();
            assert!(
                e.to_string()
                    .starts_with(&format!("invalid image reference `{r}`")),
                "{e}"
            );
        }
        for r in [
            "xnat/small:v1",
            "127.0.0.1:5000/x@sha256:ab",
            "bd14b6ea44c2",
            "a..b:v1..2",
        ] {
            check_reference(r).unwrap();
        }
    }

    #[test]
    fn tried_list_reads_as_one_line() {
        let e = DaemonError::NoDaemon {
            tried: vec![
                Attempt {
                    endpoint: "unix:///var/run/docker.sock".into(),
                    origin: "default Docker socket".into(),
                    failure: Failure::Missing,
                },
                Attempt {
                    endpoint: "tcp://127.0.0.1:9".into(),
                    origin: "DOCKER_HOST".into(),
                    failure: Failure::Refused,
                },
            ]
            .into(),
        };
        assert_eq!(
            e.to_string(),
            "no Docker or Podman daemon answered; tried `unix:///var/run/docker.sock` (default Docker socket): missing; \
             `tcp://127.0.0.1:9` (DOCKER_HOST): connection refused; set DOCKER_HOST (unix:///PATH or tcp://HOST:PORT) to the daemon's socket"
        );
    }
}
