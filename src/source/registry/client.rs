//! The registry HTTP client shared by every read of a run: one token per (registry, scope), or
//! per planned scope set, reused across images, remembered challenges (no `/v2/` ping), keep-alive connections, a
//! concurrency bound per registry, bounded retries, and manual redirects so `Authorization`
//! never leaves the registry's host.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{
    HeaderMap, ACCEPT, AUTHORIZATION, CONTENT_TYPE, LOCATION, RETRY_AFTER, WWW_AUTHENTICATE,
};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use tokio::sync::Semaphore;
use tracing::Instrument as _;

use super::auth::{pull_scope, RegistryAuth};
use super::cache::Cache;
use super::challenge;
use super::http::Clients;
use super::{RegistryError, RegistryOptions};
use crate::credentials::{Chain, CredentialEnv};
use crate::reference::{is_loopback_registry, Reference};
use crate::source::manifest::{self, ImageConfig, ManifestDoc};
use crate::source::{ImageRecord, ReadOptions, ReadResult};
use crate::tls::is_cert_error;

/// Every manifest type we read; without the OCI ones the reference registry answers 404.
pub(super) const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.docker.distribution.manifest.v2+json, \
application/vnd.docker.distribution.manifest.v1+prettyjws;q=0.5, \
application/vnd.docker.distribution.manifest.v1+json;q=0.5";

const MAX_REDIRECTS: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Https,
    Http,
}

/// What a run knows about one registry host, apart from authentication.
struct Host {
    /// HTTPS or HTTP, settled by the first answer.
    scheme: OnceLock<Scheme>,
    /// Held by the one request that makes first contact until its answer (scheme, challenge)
    /// is known, so concurrent first reads neither all probe HTTPS nor all collect a 401.
    first_contact: tokio::sync::Mutex<()>,
    /// Requests in flight at once.
    limit: Semaphore,
}

/// A fetched document.
pub(super) struct Fetched {
    pub(super) body: Bytes,
    pub(super) content_type: Option<String>,
    pub(super) digest_header: Option<String>,
}

pub(super) struct Shared {
    pub(super) clients: Clients,
    opts: RegistryOptions,
    pub(super) chain: Chain,
    /// Per registry; the map lock is only held to look an entry up.
    pub(super) auth: Mutex<HashMap<String, Arc<RegistryAuth>>>,
    hosts: Mutex<HashMap<String, Arc<Host>>>,
    pub(super) requests: AtomicU64,
    cache: Option<Cache>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient")
            .field("requests", &self.requests.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// The registry client of a run; every read runs as its own task.
pub struct RegistryClient {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.shared.fmt(f)
    }
}

/// Aborts the read's task when the caller stops waiting for it (deadline, Ctrl-C).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl RegistryClient {
    pub fn new(opts: &RegistryOptions) -> Result<Self, RegistryError> {
        let chain = Chain::new(&opts.credentials, &CredentialEnv::from_process())?;
        Self::with_chain(opts, chain)
    }

    /// Reads the `--registry-ca` files now; the HTTP clients are built on first use.
    pub fn with_chain(opts: &RegistryOptions, chain: Chain) -> Result<Self, RegistryError> {
        let shared = Shared {
            clients: Clients::new(opts)?,
            opts: opts.clone(),
            chain,
            auth: Mutex::new(HashMap::new()),
            hosts: Mutex::new(HashMap::new()),
            requests: AtomicU64::new(0),
            cache: opts.cache_dir.clone().map(Cache::new),
        };
        Ok(RegistryClient {
            shared: Arc::new(shared),
        })
    }

    /// HTTP requests answered so far (every hop, token requests included).
    pub fn requests(&self) -> u64 {
        self.shared.requests()
    }

    /// Announce the references this run will read, so that reads of several repositories on
    /// one token registry share one token request per set of up to 16 repositories instead of
    /// one each. Optional: without it every repository gets its own token. Texts that are not
    /// valid references are left out (their reads report the error).
    pub fn plan<'a>(&self, references: impl IntoIterator<Item = &'a str>) {
        let parsed: Vec<Reference> = references
            .into_iter()
            .filter_map(|t| Reference::parse(t).ok())
            .collect();
        self.shared.plan(&parsed);
    }

    /// Read one reference's labels (one record, or one per platform with `all_platforms`).
    ///
    /// The read runs as its own task, on the runtime's workers next to the connection tasks
    /// it talks to: awaited in place, inside the caller's single `join_all` task on the
    /// `block_on` thread, every response woke that thread across cores (measured on 40 images:
    /// 733 → 291 context switches, 31 → 25 ms CPU per run).
    pub async fn read(&self, text: &str, opts: &ReadOptions) -> Result<ReadResult, RegistryError> {
        let shared = self.shared.clone();
        let (text, opts) = (text.to_string(), opts.clone());
        let work = async move { shared.read(&text, &opts).await };
        let mut task = AbortOnDrop(tokio::spawn(work.in_current_span()));
        match (&mut task.0).await {
            Ok(result) => result,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            // Only a runtime shutting down cancels the task (our own abort runs when nobody
            // awaits any more); the caller is being torn down with it.
            Err(_) => std::future::pending().await,
        }
    }
}

impl Shared {
    fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    async fn read(&self, text: &str, opts: &ReadOptions) -> Result<ReadResult, RegistryError> {
        let reference = Reference::parse(text)?;
        let before = self.requests();
        let deadline = self.opts.image_deadline;
        let result = tokio::time::timeout(deadline, self.read_inner(&reference, opts))
            .await
            .map_err(|_| RegistryError::Deadline {
                reference: reference.to_string(),
                seconds: deadline.as_secs(),
            })?;
        tracing::debug!(reference = %reference, requests = self.requests() - before, "registry read done");
        result
    }

    async fn read_inner(
        &self,
        r: &Reference,
        opts: &ReadOptions,
    ) -> Result<ReadResult, RegistryError> {
        let mut result = ReadResult::default();
        let target = r.manifest_target().to_string();
        let what = format!("manifest of `{r}`");
        let top = self
            .manifest(r, &target, opts, &what, &mut result.warnings)
            .await?;
        let top_digest = manifest::sha256_digest(&top.body);
        let top_url = format!(
            "{}/v2/{}/manifests/{target}",
            self.origin_of(r),
            r.repository
        );
        let doc = manifest::parse_manifest(&top.body, top.content_type.as_deref(), &what)
            .map_err(|e| body_error(&top.body, &what, &top_url, e))?;
        let image = Some(r.typed_with_tag());
        match doc {
            ManifestDoc::Index(index) => {
                let picks: Vec<_> = if opts.all_platforms {
                    manifest::image_entries(&index)
                        .into_iter()
                        .map(|(_, d)| d)
                        .collect()
                } else {
                    vec![manifest::select_platform(&index, &opts.platform, &what)?]
                };
                for d in picks {
                    let child_what = format!("platform manifest {} of `{r}`", d.digest);
                    let child = self
                        .manifest(r, &d.digest, opts, &child_what, &mut result.warnings)
                        .await?;
                    let doc = manifest::parse_manifest(
                        &child.body,
                        d.media_type.as_deref(),
                        &child_what,
                    )?;
                    let ManifestDoc::Image(m) = doc else {
                        return Err(
                            manifest::ManifestError::Unrecognised { what: child_what }.into()
                        );
                    };
                    let mut rec = self.config(r, &m.config, opts).await?;
                    rec.image = image.clone();
                    rec.manifest_digest = Some(d.digest.clone());
                    if rec.platform.is_none() {
                        rec.platform = d.platform.as_ref().map(|p| p.to_platform());
                    }
                    result.images.push(rec);
                }
            }
            ManifestDoc::Image(m) => {
                let mut rec = self.config(r, &m.config, opts).await?;
                rec.image = image;
                rec.manifest_digest = Some(top_digest);
                result.images.push(rec);
            }
            ManifestDoc::Schema1(m) => {
                // Legacy: the newest layer's v1Compatibility is the image config.
                let cfg_what = format!("schema1 history of `{r}`");
                let first =
                    m.history
                        .first()
                        .ok_or_else(|| manifest::ManifestError::Unrecognised {
                            what: cfg_what.clone(),
                        })?;
                let cfg = ImageConfig::parse(first.v1_compatibility.as_bytes(), &cfg_what)?;
                result.images.push(ImageRecord {
                    image,
                    manifest_digest: Some(top_digest),
                    config_digest: None,
                    platform: cfg.platform(),
                    labels: cfg.labels(),
                });
            }
        }
        Ok(result)
    }

    /// A manifest by tag or digest; digests verified, tag digest headers compared.
    ///
    /// With the cache: a digest is served from it when held; a tag whose last digest is held
    /// is asked with one `HEAD` (Docker Hub counts manifest GETs against the pull limit, not
    /// HEADs) and served from the cache when the registry names a digest we hold. A tag with
    /// no cached digest gets no HEAD, so a cold read costs no extra request.
    async fn manifest(
        &self,
        r: &Reference,
        target: &str,
        opts: &ReadOptions,
        what: &str,
        warnings: &mut Vec<String>,
    ) -> Result<Fetched, RegistryError> {
        let cap = opts.max_json_bytes;
        let by_digest = target.contains(':');
        if let Some(cache) = &self.cache {
            if by_digest {
                if let Some(m) = cache.manifest(target, cap) {
                    tracing::debug!(reference = %r, digest = target, "manifest from the cache");
                    return Ok(super::head::cached(m, target));
                }
            } else if let Some(d) = cache.tag_digest(r, target) {
                if cache.manifest(&d, cap).is_some() {
                    if let Some(m) = self.head_manifest(r, target, &d, what, cap, cache).await? {
                        return Ok(m);
                    }
                }
            }
        }
        let path = format!("/v2/{}/manifests/{target}", r.repository);
        let f = self.get(r, &path, Some(MANIFEST_ACCEPT), what, cap).await?;
        let found = manifest::sha256_digest(&f.body);
        if by_digest {
            manifest::verify_digest(&f.body, target, what)?;
        } else if let Some(h) = &f.digest_header {
            if h.starts_with("sha256:") && !h.eq_ignore_ascii_case(&found) {
                // A warning, not an error: broken registries send wrong headers (ggcr's experience).
                warnings.push(format!(
                    "{what}: Docker-Content-Digest header says {h} but the body hashes to {found}"
                ));
            }
        }
        if let Some(cache) = &self.cache {
            // Keyed by what the body hashes to, so a wrong header cannot poison the cache.
            cache.put_manifest(&found, &f.body, f.content_type.as_deref());
            if !by_digest {
                cache.put_tag_digest(r, target, &found);
            }
        }
        Ok(f)
    }

    async fn config(
        &self,
        r: &Reference,
        desc: &manifest::Descriptor,
        opts: &ReadOptions,
    ) -> Result<ImageRecord, RegistryError> {
        let what = format!("config {} of `{r}`", desc.digest);
        if !manifest::is_sha256_digest(&desc.digest) {
            return Err(manifest::ManifestError::UnsupportedDigest {
                what,
                digest: desc.digest.clone(),
            }
            .into());
        }
        let path = format!("/v2/{}/blobs/{}", r.repository, desc.digest);
        let cached = (self.cache.as_ref()).and_then(|c| c.blob(&desc.digest, opts.max_json_bytes));
        let body = match cached {
            Some(body) => body,
            None => {
                let f = self.get(r, &path, None, &what, opts.max_json_bytes).await?;
                manifest::verify_digest(&f.body, &desc.digest, &what)?;
                if let Some(c) = &self.cache {
                    c.put_blob(&desc.digest, &f.body);
                }
                f.body
            }
        };
        let url = format!("{}{path}", self.origin_of(r));
        let cfg =
            ImageConfig::parse(&body, &what).map_err(|e| body_error(&body, &what, &url, e))?;
        Ok(ImageRecord {
            image: None,
            manifest_digest: None,
            config_digest: Some(desc.digest.clone()),
            platform: cfg.platform(),
            labels: cfg.labels(),
        })
    }

    fn host(&self, registry: &str) -> Arc<Host> {
        let mut m = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        m.entry(registry.to_string())
            .or_insert_with(|| {
                Arc::new(Host {
                    scheme: OnceLock::new(),
                    first_contact: tokio::sync::Mutex::new(()),
                    limit: Semaphore::new(self.opts.per_registry_concurrency.max(1)),
                })
            })
            .clone()
    }

    /// `scheme://host` of a registry as currently known (for messages).
    fn origin_of(&self, r: &Reference) -> String {
        let scheme = self.host(&r.registry).scheme.get().copied();
        origin(scheme.unwrap_or(Scheme::Https), r.api_host())
    }

    fn is_insecure(&self, registry: &str) -> bool {
        self.opts.insecure.iter().any(|h| h == registry)
    }

    /// GET `path` on the registry of `r`, with auth, retries, redirects and a size cap.
    async fn get(
        &self,
        r: &Reference,
        path: &str,
        accept: Option<&str>,
        what: &str,
        cap: u64,
    ) -> Result<Fetched, RegistryError> {
        self.request(Method::GET, r, path, accept, what, cap).await
    }

    /// `method` (GET or HEAD) on `path`, with auth, retries, redirects and a size cap.
    pub(super) async fn request(
        &self,
        method: Method,
        r: &Reference,
        path: &str,
        accept: Option<&str>,
        what: &str,
        cap: u64,
    ) -> Result<Fetched, RegistryError> {
        let registry = r.registry.as_str();
        let host = r.api_host().to_string();
        let scope = pull_scope(r);
        let state = self.host(registry);
        // First contact: one request asks, concurrent ones wait for its answer.
        let mut first = None;
        if state.scheme.get().is_none() {
            let gate = state.first_contact.lock().await;
            if state.scheme.get().is_none() {
                first = Some(gate);
            }
        }
        let _permit = state.limit.acquire().await;
        let (mut scheme, mut may_fallback) = match state.scheme.get() {
            Some(s) => (*s, false),
            None => (
                Scheme::Https,
                self.is_insecure(registry) || is_loopback_registry(registry),
            ),
        };
        let mut undecided = state.scheme.get().is_none();
        let mut url = origin(scheme, &host) + path;
        let mut on_registry = true;
        let mut attempts = 0u32;
        let mut auth_tries = 0u32;
        let mut redirects = 0usize;
        loop {
            let client = self
                .clients
                .pick(&url, self.is_insecure(registry) && on_registry)
                .await?;
            let mut req = client.request(method.clone(), &url);
            if let Some(a) = accept {
                req = req.header(ACCEPT, a);
            }
            let mut sent = None;
            if on_registry {
                sent = self.auth_header(r, &scope).await?;
                if let Some(h) = &sent {
                    req = req.header(AUTHORIZATION, h.expose());
                }
            }
            let resp = match req.send().await {
                Ok(resp) => resp,
                Err(e) => {
                    if on_registry
                        && may_fallback
                        && scheme == Scheme::Https
                        && (!is_cert_error(&e) || self.is_insecure(registry))
                    {
                        // dockerd's rule for loopback and insecure registries: HTTPS, then HTTP.
                        tracing::debug!(registry, "HTTPS failed, trying plain HTTP");
                        scheme = Scheme::Http;
                        may_fallback = false;
                        url = origin(scheme, &host) + path;
                        continue;
                    }
                    // No answer to wait for: concurrent reads make their own attempts.
                    drop(first.take());
                    if is_cert_error(&e) {
                        return Err(RegistryError::Tls {
                            registry: registry.to_string(),
                            source: e,
                        });
                    }
                    if attempts < self.opts.max_retries
                        && (e.is_connect() || e.is_timeout() || e.is_request())
                    {
                        attempts += 1;
                        tokio::time::sleep(backoff(attempts)).await;
                        continue;
                    }
                    return Err(RegistryError::Connect {
                        registry: registry.to_string(),
                        source: e,
                    });
                }
            };
            self.requests.fetch_add(1, Ordering::Relaxed);
            let status = resp.status();
            if on_registry && undecided {
                // The first answer settles the scheme for the rest of the run.
                let _ = state.scheme.set(scheme);
                undecided = false;
                may_fallback = false;
            }
            if status != StatusCode::UNAUTHORIZED {
                drop(first.take());
            }
            tracing::debug!(url = %url, status = status.as_u16(), "registry response");
            if status.is_success() {
                let content_type = header(resp.headers(), CONTENT_TYPE);
                let digest_header = resp
                    .headers()
                    .get("docker-content-digest")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                let body = read_capped(resp, cap, what, &url).await?;
                return Ok(Fetched {
                    body,
                    content_type,
                    digest_header,
                });
            }
            if status.is_redirection() {
                redirects += 1;
                if redirects > MAX_REDIRECTS {
                    return Err(RegistryError::TooManyRedirects { url });
                }
                let next = resp
                    .headers()
                    .get(LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .and_then(|l| reqwest::Url::parse(&url).ok()?.join(l).ok())
                    .ok_or_else(|| RegistryError::BadRedirect { url: url.clone() })?;
                // Authorization only ever goes to the registry's own origin (distribution spec).
                on_registry = reqwest::Url::parse(&origin(scheme, &host))
                    .is_ok_and(|o| o.origin() == next.origin());
                url = next.to_string();
                continue;
            }
            if status == StatusCode::UNAUTHORIZED && on_registry && auth_tries < 2 {
                let challenges = challenge::parse_all(
                    resp.headers()
                        .get_all(WWW_AUTHENTICATE)
                        .iter()
                        .filter_map(|v| v.to_str().ok()),
                );
                // Concurrent first reads may fetch their own tokens as soon as the realm is
                // known; a Basic answer needs no network, so they wait for it instead.
                if self.remember_bearer(registry, &challenges) {
                    drop(first.take());
                }
                let body = resp.bytes().await.unwrap_or_default();
                auth_tries += 1;
                let retry = self
                    .answer_challenge(r, &scope, &challenges, sent.as_ref())
                    .await?;
                drop(first.take());
                if retry {
                    continue;
                }
                return Err(self.unauthorized(r, &challenges, &body).await);
            }
            if status == StatusCode::TOO_MANY_REQUESTS {
                let retry_after =
                    header(resp.headers(), RETRY_AFTER).and_then(|v| parse_retry_after(&v));
                let remaining = header(resp.headers(), "ratelimit-remaining".parse().ok());
                if attempts < self.opts.max_retries {
                    attempts += 1;
                    let wait = retry_after
                        .map(Duration::from_secs)
                        .unwrap_or_else(|| backoff(attempts))
                        .min(self.opts.max_retry_after);
                    tracing::debug!(
                        registry,
                        wait_ms = wait.as_millis() as u64,
                        "rate limited, waiting"
                    );
                    tokio::time::sleep(wait).await;
                    continue;
                }
                return Err(RegistryError::RateLimited {
                    registry: registry.to_string(),
                    retry_after,
                    remaining,
                });
            }
            if status.is_server_error() && attempts < self.opts.max_retries {
                attempts += 1;
                tokio::time::sleep(backoff(attempts)).await;
                continue;
            }
            let body = resp.bytes().await.unwrap_or_default();
            return Err(api_error(&method, r, &url, status, &body));
        }
    }
}

fn origin(s: Scheme, host: &str) -> String {
    match s {
        Scheme::Https => format!("https://{host}"),
        Scheme::Http => format!("http://{host}"),
    }
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(200u64 << attempt.min(5))
}

fn header(h: &HeaderMap, name: impl Into<Option<reqwest::header::HeaderName>>) -> Option<String> {
    let name = name.into()?;
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// `Retry-After`: delta-seconds or an HTTP date.
fn parse_retry_after(v: &str) -> Option<u64> {
    if let Ok(s) = v.trim().parse::<u64>() {
        return Some(s);
    }
    let at = httpdate::parse_http_date(v.trim()).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .map_or(0, |d| d.as_secs()),
    )
}

pub(super) fn connect_error(url: &str, e: reqwest::Error) -> RegistryError {
    let host = reqwest::Url::parse(url)
        .ok()
        .and_then(|u| {
            u.host_str().map(|h| {
                format!(
                    "{h}{}",
                    u.port().map(|p| format!(":{p}")).unwrap_or_default()
                )
            })
        })
        .unwrap_or_else(|| url.to_string());
    if is_cert_error(&e) {
        RegistryError::Tls {
            registry: host,
            source: e,
        }
    } else {
        RegistryError::Connect {
            registry: host,
            source: e,
        }
    }
}

/// Stream a body, failing as soon as it passes `cap` (Content-Length is not trusted).
pub(super) async fn read_capped(
    mut resp: reqwest::Response,
    cap: u64,
    what: &str,
    url: &str,
) -> Result<Bytes, RegistryError> {
    let too_large = || RegistryError::TooLarge {
        what: what.to_string(),
        url: url.to_string(),
        limit: cap,
    };
    if resp.content_length().is_some_and(|n| n > cap) {
        return Err(too_large());
    }
    let mut buf = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(c)) => {
                if buf.len() as u64 + c.len() as u64 > cap {
                    return Err(too_large());
                }
                buf.extend_from_slice(&c);
            }
            Ok(None) => return Ok(Bytes::from(buf)),
            Err(_) => {
                return Err(RegistryError::BadBody {
                    what: what.to_string(),
                    url: url.to_string(),
                    problem: format!(
                        "was cut off after {} bytes (connection closed early)",
                        buf.len()
                    ),
                })
            }
        }
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    errors: Vec<ErrorEntry>,
}

#[derive(Deserialize)]
struct ErrorEntry {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// `(code, message)` from a `{"errors":[…]}` body, or a short description of anything else.
pub(super) fn error_message(body: &[u8]) -> (Option<String>, String) {
    if let Ok(e) = serde_json::from_slice::<ErrorBody>(body) {
        if let Some(first) = e.errors.first() {
            return (Some(first.code.clone()), first.message.clone());
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        (None, String::new())
    } else if looks_like_html(text) {
        (None, "the server answered with an HTML page, not a registry response (wrong host, or a proxy or login page?)".into())
    } else {
        (
            None,
            text.lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(200)
                .collect(),
        )
    }
}

fn looks_like_html(text: &str) -> bool {
    let t = text.trim_start().to_ascii_lowercase();
    t.starts_with("<!doctype") || t.starts_with("<html") || t.starts_with('<')
}

pub(super) fn describe_bad_body(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    if body.is_empty() {
        "is empty".into()
    } else if looks_like_html(&text) {
        "is an HTML page, not JSON (wrong host, or a proxy or login page?)".into()
    } else {
        "is not valid JSON".into()
    }
}

/// A document that failed to parse: say "HTML page" plainly instead of a serde position.
fn body_error(body: &[u8], what: &str, url: &str, e: manifest::ManifestError) -> RegistryError {
    if body.is_empty() || looks_like_html(&String::from_utf8_lossy(body)) {
        RegistryError::BadBody {
            what: what.to_string(),
            url: url.to_string(),
            problem: describe_bad_body(body),
        }
    } else {
        e.into()
    }
}

fn api_error(
    method: &Method,
    r: &Reference,
    url: &str,
    status: StatusCode,
    body: &[u8],
) -> RegistryError {
    let (code, message) = error_message(body);
    match code.as_deref() {
        Some("MANIFEST_UNKNOWN") => RegistryError::ManifestUnknown {
            reference: r.to_string(),
            message,
        },
        Some("NAME_UNKNOWN") => RegistryError::NameUnknown {
            registry: r.registry.clone(),
            repository: r.repository.clone(),
            message,
        },
        Some("UNAUTHORIZED") | Some("DENIED") => RegistryError::Unauthorized {
            reference: r.to_string(),
            detail: format!("was refused ({message})"),
        },
        _ => RegistryError::Http {
            method: if *method == Method::HEAD {
                "HEAD"
            } else {
                "GET"
            },
            url: url.to_string(),
            status: status.as_u16(),
            code,
            message,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies() {
        let (c, m) = error_message(
            br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{}}]}"#,
        );
        assert_eq!(
            (c.as_deref(), m.as_str()),
            (Some("MANIFEST_UNKNOWN"), "manifest unknown")
        );
        let (c, m) = error_message(b"<html><body>Login</body></html>");
        assert_eq!(c, None);
        assert!(
            m.starts_with("the server answered with an HTML page"),
            "{m}"
        );
        assert_eq!(error_message(b"Not Found\n").1, "Not Found");
        assert_eq!(error_message(b"").1, "");
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("3"), Some(3));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(0));
        assert_eq!(parse_retry_after("soon"), None);
    }
}
