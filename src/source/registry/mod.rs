//! Labels straight from an OCI/Docker registry, without pulling: manifest (→ platform
//! manifest) → config blob, every document digest-checked and size-capped.
//!
//! Layers, each using only the ones after it: `client` (the public [`RegistryClient`]) →
//! `read` (index → manifest → config, HEAD re-check, `cache`) → `auth` (challenges, tokens,
//! credentials) → `transport` (scheme, retries, redirects, capped bodies, error bodies) →
//! `http` (the reqwest clients); `challenge` parses `WWW-Authenticate`; `signatures` reads
//! cosign signatures (referrers API, `sha256-<hex>.sig` tag) for `ReadOptions::verify_keys`.
//!
//! Requests per image: no `/v2/` ping; the first request of a run to a token
//! registry is answered 401 and the challenge is remembered, so later repositories on that
//! registry get their token straight away. Cold, single-platform tag on a Bearer registry:
//! manifest (401) → token → manifest → config = 4; an index adds the platform manifest (5).
//! Warm (token cached for the repository): 2, or 3 for an index. Reads started together
//! share the first contact: N cold images on one token registry cost 1 + 3N requests (one
//! 401, then token, manifest and config each), and two reads of one repository share a token.
//! References announced with `RegistryClient::plan` share one token per set of up to 16
//! repositories: 1 + ceil(N/16) + 2N.
//!
//! With a cache (`RegistryOptions::cache_dir`, see `cache`), a re-check of a tag whose digest
//! is cached is one HEAD (+ token in a new run), and a cached `@sha256:` read is no request.

mod auth;
mod cache;
// pub(crate): the fuzz target reaches the parser through `crate::fuzzing`.
pub(crate) mod challenge;
mod client;
mod http;
mod read;
mod signatures;
mod transport;

use std::path::PathBuf;
use std::time::Duration;

pub use cache::{default_dir as default_cache_dir, CACHE_ENV};
pub use challenge::Challenge;
pub use client::RegistryClient;

use crate::credentials::{CredentialError, CredentialOptions};
use crate::env::Env;
use crate::problem::Hint;
use crate::reference::{is_loopback_registry, repository, ReferenceError};
use crate::source::manifest::ManifestError;

/// Registry access settings (flags and environment, resolved by the CLI).
#[derive(Debug, Clone)]
pub struct RegistryOptions {
    pub credentials: CredentialOptions,
    /// Extra PEM CA bundles (`--registry-ca`), on top of the system roots and `SSL_CERT_FILE`.
    pub ca_files: Vec<PathBuf>,
    /// `--insecure-registry HOST[:PORT]`: HTTPS without verification, then plain HTTP.
    pub insecure: Vec<String>,
    pub connect_timeout: Duration,
    /// Deadline for reading one image (all its requests, retries and waits).
    pub image_deadline: Duration,
    /// Retries after connection errors, 5xx and 429.
    pub max_retries: u32,
    /// Longest `Retry-After` honoured on 429.
    pub max_retry_after: Duration,
    /// The base the waits before retries double from (default
    /// [`crate::limits::DEFAULT_BACKOFF_BASE`]; the CLI's `XNAT_CMD_BACKOFF_MS`).
    pub backoff_base: Duration,
    /// Requests in flight at once to one registry (default
    /// [`crate::limits::DEFAULT_REGISTRY_CONCURRENCY`]); 0 counts as 1.
    pub per_registry_concurrency: usize,
    /// Digest-keyed manifest/config cache (`--registry-cache`); `None` (the library default)
    /// reads without one. With it, a re-check of a cached tag is one `HEAD`.
    pub cache_dir: Option<PathBuf>,
    /// The environment the credential chain and the proxy check read: the run's snapshot in
    /// the CLI; empty by default (no ambient credentials, no proxy). Its `Debug` shows names
    /// only.
    pub env: Env,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        RegistryOptions {
            credentials: CredentialOptions::default(),
            ca_files: vec![],
            insecure: vec![],
            connect_timeout: crate::limits::CONNECT_TIMEOUT,
            image_deadline: crate::limits::DEFAULT_REGISTRY_IMAGE_DEADLINE,
            max_retries: crate::limits::MAX_RETRIES,
            max_retry_after: crate::limits::MAX_RETRY_AFTER,
            backoff_base: crate::limits::DEFAULT_BACKOFF_BASE,
            per_registry_concurrency: crate::limits::DEFAULT_REGISTRY_CONCURRENCY,
            cache_dir: None,
            env: Env::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    #[error(transparent)]
    Credentials(#[from] CredentialError),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error("failed to read CA file `{path}`")]
    CaFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("CA file `{path}` holds no PEM certificate")]
    CaPem {
        path: PathBuf,
        #[source]
        source: rustls_pki_types::pem::Error,
    },
    #[error("failed to set up the HTTP client")]
    Client(#[source] reqwest::Error),
    #[error("manifest unknown: `{reference}` has no such tag or digest, or the repository does not exist ({message})")]
    ManifestUnknown { reference: String, message: String },
    #[error("name unknown: repository `{repository}` does not exist on `{registry}` ({message})")]
    NameUnknown {
        registry: String,
        repository: String,
        message: String,
    },
    #[error("unauthorized: `{reference}` {detail}")]
    Unauthorized { reference: String, detail: String },
    /// A 401 with no credential for the registry anywhere in the chain.
    #[error("unauthorized: `{reference}` needs credentials and none were found{}", if .message.is_empty() { String::new() } else { format!(" ({})", .message) })]
    NoCredentials { reference: String, message: String },
    #[error("authentication failed at `{realm}` for `{registry}` with credentials from {provider}: {message}")]
    BadCredentials {
        registry: String,
        realm: String,
        provider: String,
        message: String,
    },
    #[error("rate limited by `{registry}`{}{}", .retry_after.map(|s| format!(" (Retry-After {s}s)")).unwrap_or_default(), .remaining.as_ref().map(|r| format!(", ratelimit-remaining: {r}")).unwrap_or_default())]
    RateLimited {
        registry: String,
        retry_after: Option<u64>,
        remaining: Option<String>,
    },
    #[error("{method} {url} failed with HTTP {status}{}{}", .code.as_ref().map(|c| format!(" {c}")).unwrap_or_default(), if .message.is_empty() { String::new() } else { format!(": {}", .message) })]
    Http {
        method: &'static str,
        url: String,
        status: u16,
        code: Option<String>,
        message: String,
    },
    /// The connection closed before the whole body arrived (retried like a reset).
    #[error("{what} from {url} was cut off after {received} bytes (connection closed early)")]
    CutOff {
        what: String,
        url: String,
        received: usize,
    },
    #[error("{what} from {url} {problem}")]
    BadBody {
        what: String,
        url: String,
        problem: String,
    },
    #[error("{what} from {url} is larger than {limit} bytes")]
    TooLarge {
        what: String,
        url: String,
        limit: u64,
    },
    #[error("TLS certificate of `{registry}` is not trusted")]
    Tls {
        registry: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("cannot reach `{registry}`")]
    Connect {
        registry: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("too many redirects from {url}")]
    TooManyRedirects { url: String },
    #[error("redirect from {url} without a usable Location header")]
    BadRedirect { url: String },
    #[error("reading `{reference}` took longer than {seconds} s")]
    Deadline { reference: String, seconds: u64 },
    /// The distinct signature payloads of one image pass their budget together.
    #[error("the cosign signature payloads of `{reference}` pass {limit} bytes together; a signed image has a few small ones, so its signature manifests are damaged or crafted")]
    SignaturesTooLarge { reference: String, limit: u64 },
    /// `--verify-key`: the image has no signature made with one of the keys.
    #[error(transparent)]
    Signature(#[from] crate::cosign::SignatureError),
}

impl Hint for RegistryError {
    fn hint(&self) -> Option<String> {
        use RegistryError as R;
        match self {
            R::Connect { registry, .. } => Some(format!(
                "check the name and this machine's network; behind a proxy set HTTPS_PROXY (and NO_PROXY); {}on an air-gapped site read an image archive instead (docker-archive:PATH, oci-archive:PATH)",
                // A loopback registry already falls back to plain HTTP, as dockerd does:
                // the flag would change nothing there.
                if is_loopback_registry(registry) {
                    String::new()
                } else {
                    format!("a registry on plain HTTP needs --insecure-registry {registry}; ")
                }
            )),
            R::ManifestUnknown { reference, .. } => Some(format!(
                "check the tag or digest: `skopeo list-tags docker://{}` lists the tags the registry has (a reference without a tag means `:latest`, which many images do not publish)",
                repository(reference)
            )),
            R::NameUnknown { registry, repository, .. } => Some(format!(
                "check the repository name (`{registry}/{repository}`; Docker Hub names without a `/` are under `library/`); a private repository may answer this to a client without its credentials"
            )),
            R::Deadline { .. } => {
                Some("raise --registry-timeout, or check the network to the registry".into())
            }
            R::BadCredentials { .. } => Some(
                "check the credentials for this registry (`-vv` logs which provider supplied them); --registry-user with --registry-password-stdin overrides every file".into(),
            ),
            R::RateLimited { .. } => Some(
                "wait and run again, or log in (authenticated pulls have a higher limit); the digest cache makes re-checks a HEAD, which Docker Hub does not count".into(),
            ),
            R::NoCredentials { .. } => Some(
                "use --registry-user, --registry-auth-file, docker login or podman login".into(),
            ),
            R::Signature(e) => e.hint(),
            R::TooLarge { .. } => Some("raise --max-json-bytes if this is expected".into()),
            R::Tls { registry, .. } => Some(format!(
                "pass its CA with --registry-ca FILE (or SSL_CERT_FILE), or allow it with --insecure-registry {registry}"
            )),
            _ => None,
        }
    }
}
