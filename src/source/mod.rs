//! Where image configs come from: registries, daemons and archives, behind one [`Reader`].
//!
//! A source is written in containers-transports syntax (as skopeo and podman users know it);
//! [`SourceSpec::parse`] turns the text into a typed value, [`Reader::read`] returns the
//! image's labels with enough provenance (reference, digests, platform) to report and to
//! install. Each transport lives in its own module; this one only dispatches.

pub mod archive;
pub mod daemon;
pub mod manifest;
pub mod registry;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use crate::digest::Digest;
use crate::platform::Platform;
use crate::problem::Hint;

pub use crate::limits::DEFAULT_MAX_JSON_BYTES;

/// An image source as the user wrote it, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    /// `REF` or `docker://REF`.
    Registry { reference: String },
    /// `docker-daemon:REF`.
    DockerDaemon { reference: String },
    /// `docker-archive:PATH[:REF]`.
    DockerArchive {
        path: PathBuf,
        reference: Option<String>,
    },
    /// `oci:DIR[:TAG]`.
    Oci { dir: PathBuf, tag: Option<String> },
    /// `oci-archive:PATH[:TAG]`.
    OciArchive { path: PathBuf, tag: Option<String> },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SpecError {
    #[error("unknown transport `{transport}` in `{source_text}`: use docker://, docker-daemon:, docker-archive:, oci:, oci-archive: or a plain image reference")]
    UnknownTransport {
        transport: String,
        source_text: String,
    },
    #[error("empty path in `{source_text}`")]
    EmptyPath { source_text: String },
    #[error("empty reference in `{source_text}`")]
    EmptyReference { source_text: String },
}

const TRANSPORTS: &[&str] = &[
    "docker",
    "docker-daemon",
    "docker-archive",
    "oci",
    "oci-archive",
];

impl SourceSpec {
    pub fn parse(text: &str) -> Result<Self, SpecError> {
        let source_text = text.to_string();
        if let Some(rest) = text.strip_prefix("docker://") {
            return non_empty_ref(rest, &source_text)
                .map(|reference| SourceSpec::Registry { reference });
        }
        // A transport prefix is `name:` where name has no `/` or `.`; otherwise the colon
        // belongs to a registry reference (`host:5000/repo`, `repo:tag`).
        if let Some((transport, rest)) = text.split_once(':') {
            if TRANSPORTS.contains(&transport) && transport != "docker" {
                let (path, extra) = split_path(rest);
                return match transport {
                    "docker-daemon" => non_empty_ref(rest, &source_text)
                        .map(|reference| SourceSpec::DockerDaemon { reference }),
                    "docker-archive" => Ok(SourceSpec::DockerArchive {
                        path: non_empty_path(path, &source_text)?,
                        reference: extra,
                    }),
                    "oci" => Ok(SourceSpec::Oci {
                        dir: non_empty_path(path, &source_text)?,
                        tag: extra,
                    }),
                    _ => Ok(SourceSpec::OciArchive {
                        path: non_empty_path(path, &source_text)?,
                        tag: extra,
                    }),
                };
            }
            if is_unknown_transport(transport, rest) {
                return Err(SpecError::UnknownTransport {
                    transport: transport.to_string(),
                    source_text,
                });
            }
        }
        non_empty_ref(text, &source_text).map(|reference| SourceSpec::Registry { reference })
    }

    /// The transport name, for messages and JSON reports.
    pub fn transport(&self) -> &'static str {
        match self {
            SourceSpec::Registry { .. } => "docker",
            SourceSpec::DockerDaemon { .. } => "docker-daemon",
            SourceSpec::DockerArchive { .. } => "docker-archive",
            SourceSpec::Oci { .. } => "oci",
            SourceSpec::OciArchive { .. } => "oci-archive",
        }
    }

    /// Is this a local file or directory (as opposed to a registry or daemon)?
    pub fn is_file(&self) -> bool {
        matches!(
            self,
            SourceSpec::DockerArchive { .. }
                | SourceSpec::Oci { .. }
                | SourceSpec::OciArchive { .. }
        )
    }
}

impl fmt::Display for SourceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let with = |f: &mut fmt::Formatter<'_>, t: &str, p: &PathBuf, x: &Option<String>| {
            write!(f, "{t}:{}", p.display())?;
            if let Some(x) = x {
                write!(f, ":{x}")?;
            }
            Ok(())
        };
        match self {
            SourceSpec::Registry { reference } => write!(f, "docker://{reference}"),
            SourceSpec::DockerDaemon { reference } => write!(f, "docker-daemon:{reference}"),
            SourceSpec::DockerArchive { path, reference } => {
                with(f, "docker-archive", path, reference)
            }
            SourceSpec::Oci { dir, tag } => with(f, "oci", dir, tag),
            SourceSpec::OciArchive { path, tag } => with(f, "oci-archive", path, tag),
        }
    }
}

/// Other containers-transports names: recognised so the message can say they are unsupported.
const OTHER_TRANSPORTS: &[&str] = &["containers-storage", "dir", "ostree", "sif", "tarball"];

/// Is `name:rest` a transport we do not know rather than a registry reference? A reference's
/// first colon separates a tag (`ubuntu:22.04`, no `/` after it) or a port (`host:5000/…`).
fn is_unknown_transport(name: &str, rest: &str) -> bool {
    if OTHER_TRANSPORTS.contains(&name) {
        return true;
    }
    let name_ok = name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-') && !name.is_empty();
    let port = rest
        .split('/')
        .next()
        .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    name_ok && rest.contains('/') && !port
}

/// `PATH[:EXTRA]`, split at the first colon as containers/image does on Unix.
fn split_path(rest: &str) -> (&str, Option<String>) {
    match rest.split_once(':') {
        Some((p, x)) if !x.is_empty() => (p, Some(x.to_string())),
        Some((p, _)) => (p, None),
        None => (rest, None),
    }
}

fn non_empty_path(p: &str, source_text: &str) -> Result<PathBuf, SpecError> {
    if p.is_empty() {
        Err(SpecError::EmptyPath {
            source_text: source_text.to_string(),
        })
    } else {
        Ok(PathBuf::from(p))
    }
}

fn non_empty_ref(r: &str, source_text: &str) -> Result<String, SpecError> {
    if r.trim().is_empty() {
        Err(SpecError::EmptyReference {
            source_text: source_text.to_string(),
        })
    } else {
        Ok(r.to_string())
    }
}

/// Run-wide: how to reach registries and daemons (credentials chain, TLS, insecure hosts,
/// concurrency, deadlines, cache, the daemon's address, the environment each reads). A
/// [`Reader`] builds its clients and connections from these once, and every read of the run
/// shares them; what may differ between the images of one run is in [`ReadOptions`].
#[derive(Debug, Clone, Default)]
pub struct SourceOptions {
    /// Registry access: credentials, CAs, insecure hosts, timeouts, concurrency, cache.
    pub registry: registry::RegistryOptions,
    /// `docker-daemon:` settings: where the daemon is, `--pull`.
    pub daemon: daemon::DaemonOptions,
}

/// Per image: how one read goes (which platform(s), the size cap, the keys a signature must
/// verify with). Nothing here touches the run's clients or connections, so one [`Reader`]
/// serves reads with different `ReadOptions` (a fleet file's per-image `platform:` and
/// `verify:`).
#[derive(Debug, Clone)]
pub struct ReadOptions {
    pub platform: Platform,
    pub all_platforms: bool,
    /// Cap on any JSON document (manifest, index, config, label-bearing entry).
    pub max_json_bytes: u64,
    /// `--verify-key`: accept a registry image only with a cosign signature made with one of
    /// these keys (any one suffices); empty: no check.
    pub verify_keys: Vec<crate::cosign::PublicKey>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            platform: Platform::linux_amd64(),
            all_platforms: false,
            max_json_bytes: DEFAULT_MAX_JSON_BYTES,
            verify_keys: Vec::new(),
        }
    }
}

/// One image (one platform) read from a source.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ImageRecord {
    /// The image reference recorded with the image or typed by the user, when known
    /// (OCI `org.opencontainers.image.ref.name` when a full reference, docker-archive
    /// `RepoTags`, the registry reference, the daemon's name).
    pub image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest_digest: Option<Digest>,
    pub config_digest: Option<Digest>,
    pub platform: Option<Platform>,
    pub labels: BTreeMap<String, String>,
    /// The manifest digest a cosign signature was verified for (`ReadOptions::verify_keys`):
    /// the one the tag pointed to when it was read, which the commands are installed under.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified_digest: Option<Digest>,
}

/// What a source gave: one record, or one per platform with `--all-platforms`.
#[derive(Debug, Clone, Default)]
pub struct ReadResult {
    pub images: Vec<ImageRecord>,
    /// Non-fatal findings (a tag's digest header mismatch, a skipped entry, …).
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Archive(#[from] archive::ArchiveError),
    /// Boxed: registry errors carry URLs and server messages, and would make every
    /// `Result<_, SourceError>` large.
    #[error(transparent)]
    Registry(Box<registry::RegistryError>),
    #[error(transparent)]
    Daemon(#[from] daemon::DaemonError),
}

impl Hint for SourceError {
    fn hint(&self) -> Option<String> {
        match self {
            SourceError::Spec(_) => None,
            SourceError::Archive(e) => e.hint(),
            SourceError::Registry(e) => e.hint(),
            SourceError::Daemon(e) => e.hint(),
        }
    }
}

impl From<registry::RegistryError> for SourceError {
    fn from(e: registry::RegistryError) -> Self {
        SourceError::Registry(Box::new(e))
    }
}

/// Reads sources; holds what is shared between reads of one run (clients, tokens, the
/// daemon connection), all built from one [`SourceOptions`].
#[derive(Debug, Clone, Default)]
pub struct Reader {
    opts: SourceOptions,
    /// One registry client per run (tokens, connections), made on first use.
    registry: std::sync::Arc<tokio::sync::OnceCell<registry::RegistryClient>>,
    /// One daemon connection per run (endpoint discovery, version negotiation), made on first use.
    daemon: std::sync::Arc<daemon::Session>,
}

impl Reader {
    pub fn new(opts: SourceOptions) -> Self {
        Reader {
            opts,
            registry: Default::default(),
            daemon: Default::default(),
        }
    }

    pub fn options(&self) -> &SourceOptions {
        &self.opts
    }

    /// Announce every source the run will read, before reading them: registry references
    /// are planned so that repositories on one token registry share token requests (one per
    /// set of up to 16). Optional; reads work the same without it, one token per repository.
    pub fn prepare(&self, specs: &[SourceSpec]) {
        let references: Vec<&str> = specs
            .iter()
            .filter_map(|s| match s {
                SourceSpec::Registry { reference } => Some(reference.as_str()),
                _ => None,
            })
            .collect();
        if references.len() < 2 {
            return;
        }
        if self.registry.get().is_none() {
            // A client that cannot be made is left to the reads, which report why.
            if let Ok(client) = registry::RegistryClient::new(&self.opts.registry) {
                let _ = self.registry.set(client);
            }
        }
        if let Some(client) = self.registry.get() {
            client.plan(references);
        }
    }

    /// Read one source with this image's options (platform, `--all-platforms`, size cap,
    /// keys), through the run's clients and connections.
    pub async fn read(
        &self,
        spec: &SourceSpec,
        opts: &ReadOptions,
    ) -> Result<ReadResult, SourceError> {
        match spec {
            SourceSpec::Oci { .. }
            | SourceSpec::OciArchive { .. }
            | SourceSpec::DockerArchive { .. } => {
                let spec = spec.clone();
                let opts = opts.clone();
                // Archive reading is blocking file I/O: keep it off the async workers.
                tokio::task::spawn_blocking(move || archive::read(&spec, &opts))
                    .await
                    .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
                    .map_err(SourceError::from)
            }
            SourceSpec::Registry { reference } => {
                let client = self
                    .registry
                    .get_or_try_init(|| async {
                        registry::RegistryClient::new(&self.opts.registry)
                    })
                    .await?;
                Ok(client.read(reference, opts).await?)
            }
            SourceSpec::DockerDaemon { reference } => {
                Ok(self.daemon.read(reference, &self.opts, opts).await?)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_table() {
        use SourceSpec::*;
        let p = PathBuf::from;
        let cases: Vec<(&str, Result<SourceSpec, &str>)> = vec![
            (
                "ubuntu",
                Ok(Registry {
                    reference: "ubuntu".into(),
                }),
            ),
            (
                "ubuntu:22.04",
                Ok(Registry {
                    reference: "ubuntu:22.04".into(),
                }),
            ),
            (
                "docker://ubuntu",
                Ok(Registry {
                    reference: "ubuntu".into(),
                }),
            ),
            (
                "localhost:5000/x/y:1",
                Ok(Registry {
                    reference: "localhost:5000/x/y:1".into(),
                }),
            ),
            (
                "docker-daemon:xnat/small:v1",
                Ok(DockerDaemon {
                    reference: "xnat/small:v1".into(),
                }),
            ),
            (
                "oci:/tmp/l",
                Ok(Oci {
                    dir: p("/tmp/l"),
                    tag: None,
                }),
            ),
            (
                "oci:/tmp/l:v1",
                Ok(Oci {
                    dir: p("/tmp/l"),
                    tag: Some("v1".into()),
                }),
            ),
            (
                "oci-archive:a.tar:v1",
                Ok(OciArchive {
                    path: p("a.tar"),
                    tag: Some("v1".into()),
                }),
            ),
            (
                "docker-archive:a.tar",
                Ok(DockerArchive {
                    path: p("a.tar"),
                    reference: None,
                }),
            ),
            (
                "docker-archive:a.tar:xnat/small:v1",
                Ok(DockerArchive {
                    path: p("a.tar"),
                    reference: Some("xnat/small:v1".into()),
                }),
            ),
            ("dir:/tmp/x", Err("unknown transport `dir`")),
            (
                "containers-storage:/x",
                Err("unknown transport `containers-storage`"),
            ),
            ("oci:", Err("empty path")),
            ("docker://", Err("empty reference")),
        ];
        for (input, want) in cases {
            match (SourceSpec::parse(input), want) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{input}"),
                (Err(e), Err(w)) => assert!(e.to_string().contains(w), "{input}: {e}"),
                (got, want) => panic!("{input}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "oci:/tmp/l:v1",
            "docker-archive:a.tar:xnat/small:v1",
            "docker-daemon:x:1",
            "oci-archive:b.tar",
        ] {
            assert_eq!(SourceSpec::parse(s).unwrap().to_string(), s);
        }
    }
}
