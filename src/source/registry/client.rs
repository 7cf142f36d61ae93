//! The registry HTTP client shared by every read of a run: one token per (registry, scope)
//! reused across images, remembered challenges (no `/v2/` ping), keep-alive connections, a
//! concurrency bound per registry, bounded retries, and manual redirects so `Authorization`
//! never leaves the registry's host.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use reqwest::header::{
    HeaderMap, ACCEPT, AUTHORIZATION, CONTENT_TYPE, LOCATION, RETRY_AFTER, WWW_AUTHENTICATE,
};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use tokio::sync::Semaphore;

use super::challenge::{self, Challenge};
use super::{RegistryError, RegistryOptions};
use crate::credentials::{Chain, Credential, CredentialEnv, Found};
use crate::reference::{is_loopback_registry, Reference};
use crate::secret::Secret;
use crate::source::manifest::{self, ImageConfig, ManifestDoc};
use crate::source::{ImageRecord, ReadOptions, ReadResult};
use crate::tls::is_cert_error;

/// Every manifest type we read; without the OCI ones the reference registry answers 404.
const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.docker.distribution.manifest.v2+json, \
application/vnd.docker.distribution.manifest.v1+prettyjws;q=0.5, \
application/vnd.docker.distribution.manifest.v1+json;q=0.5";

const MAX_REDIRECTS: usize = 5;
/// The token spec's default and minimum lifetime.
const DEFAULT_TOKEN_SECONDS: u64 = 60;
const USER_AGENT: &str = concat!("xnat-cmd/", env!("CARGO_PKG_VERSION"));

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Https,
    Http,
}

#[derive(Debug, Clone)]
struct Token {
    value: Secret,
    expires: Instant,
}

/// What we know about one registry's authentication.
#[derive(Debug, Default)]
struct RegistryAuth {
    /// The last Bearer challenge (realm, service), reused for new scopes.
    bearer: Option<Challenge>,
    /// `Basic` header value once the registry asked for Basic.
    basic: Option<Secret>,
    tokens: HashMap<String, Token>,
    /// Credential lookup result, cached per registry: `None` = anonymous.
    credential: Option<Option<Found>>,
}

/// A fetched document.
struct Fetched {
    body: Bytes,
    content_type: Option<String>,
    digest_header: Option<String>,
}

pub struct RegistryClient {
    verify: reqwest::Client,
    no_verify: reqwest::Client,
    opts: RegistryOptions,
    chain: Chain,
    auth: tokio::sync::Mutex<HashMap<String, RegistryAuth>>,
    schemes: Mutex<HashMap<String, Scheme>>,
    limits: Mutex<HashMap<String, Arc<Semaphore>>>,
    requests: AtomicU64,
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient")
            .field("requests", &self.requests.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl RegistryClient {
    pub fn new(opts: &RegistryOptions) -> Result<Self, RegistryError> {
        let chain = Chain::new(&opts.credentials, &CredentialEnv::from_process())?;
        Self::with_chain(opts, chain)
    }

    pub fn with_chain(opts: &RegistryOptions, chain: Chain) -> Result<Self, RegistryError> {
        let base = || {
            reqwest::Client::builder()
                .user_agent(USER_AGENT)
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(opts.connect_timeout)
                .use_rustls_tls()
        };
        let mut verify = base();
        for path in &opts.ca_files {
            let pem = std::fs::read(path).map_err(|source| RegistryError::CaFile {
                path: path.clone(),
                source,
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|source| {
                RegistryError::CaPem {
                    path: path.clone(),
                    source,
                }
            })?;
            if certs.is_empty() {
                return Err(RegistryError::CaFile {
                    path: path.clone(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "no PEM certificate in the file",
                    ),
                });
            }
            for c in certs {
                verify = verify.add_root_certificate(c);
            }
        }
        Ok(RegistryClient {
            verify: verify.build().map_err(RegistryError::Client)?,
            no_verify: base()
                .danger_accept_invalid_certs(true)
                .build()
                .map_err(RegistryError::Client)?,
            opts: opts.clone(),
            chain,
            auth: tokio::sync::Mutex::new(HashMap::new()),
            schemes: Mutex::new(HashMap::new()),
            limits: Mutex::new(HashMap::new()),
            requests: AtomicU64::new(0),
        })
    }

    /// HTTP requests answered so far (every hop, token requests included).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Read one reference's labels (one record, or one per platform with `all_platforms`).
    pub async fn read(&self, text: &str, opts: &ReadOptions) -> Result<ReadResult, RegistryError> {
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

    /// GET a manifest by tag or digest; digests verified, tag digest headers compared.
    async fn manifest(
        &self,
        r: &Reference,
        target: &str,
        opts: &ReadOptions,
        what: &str,
        warnings: &mut Vec<String>,
    ) -> Result<Fetched, RegistryError> {
        let path = format!("/v2/{}/manifests/{target}", r.repository);
        let f = self
            .get(r, &path, Some(MANIFEST_ACCEPT), what, opts.max_json_bytes)
            .await?;
        if target.contains(':') {
            manifest::verify_digest(&f.body, target, what)?;
        } else if let Some(h) = &f.digest_header {
            let found = manifest::sha256_digest(&f.body);
            if h.starts_with("sha256:") && !h.eq_ignore_ascii_case(&found) {
                // A warning, not an error: broken registries send wrong headers (ggcr's experience).
                warnings.push(format!(
                    "{what}: Docker-Content-Digest header says {h} but the body hashes to {found}"
                ));
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
        let f = self.get(r, &path, None, &what, opts.max_json_bytes).await?;
        manifest::verify_digest(&f.body, &desc.digest, &what)?;
        let url = format!("{}{path}", self.origin_of(r));
        let cfg =
            ImageConfig::parse(&f.body, &what).map_err(|e| body_error(&f.body, &what, &url, e))?;
        Ok(ImageRecord {
            image: None,
            manifest_digest: None,
            config_digest: Some(desc.digest.clone()),
            platform: cfg.platform(),
            labels: cfg.labels(),
        })
    }

    fn semaphore(&self, registry: &str) -> Arc<Semaphore> {
        let mut m = self.limits.lock().unwrap_or_else(|e| e.into_inner());
        m.entry(registry.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(self.opts.per_registry_concurrency.max(1))))
            .clone()
    }

    /// `scheme://host` of a registry as currently known (for messages).
    fn origin_of(&self, r: &Reference) -> String {
        origin(self.scheme(&r.registry).0, r.api_host())
    }

    fn is_insecure(&self, registry: &str) -> bool {
        self.opts.insecure.iter().any(|h| h == registry)
    }

    /// The scheme to try for a registry and whether plain HTTP may follow a failed HTTPS.
    fn scheme(&self, registry: &str) -> (Scheme, bool) {
        let known = self
            .schemes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(registry)
            .copied();
        match known {
            Some(s) => (s, false),
            None => (
                Scheme::Https,
                self.is_insecure(registry) || is_loopback_registry(registry),
            ),
        }
    }

    fn remember_scheme(&self, registry: &str, s: Scheme) {
        self.schemes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(registry.to_string(), s);
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
        let registry = r.registry.as_str();
        let host = r.api_host().to_string();
        let scope = format!("repository:{}:pull", r.repository);
        let _permit = self.semaphore(registry).acquire_owned().await;
        let (mut scheme, mut may_fallback) = self.scheme(registry);
        let mut undecided = self
            .schemes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(registry)
            .is_none();
        let mut url = origin(scheme, &host) + path;
        let mut on_registry = true;
        let mut attempts = 0u32;
        let mut auth_tries = 0u32;
        let mut redirects = 0usize;
        loop {
            let client = if self.is_insecure(registry) && on_registry {
                &self.no_verify
            } else {
                &self.verify
            };
            let mut req = client.request(Method::GET, &url);
            if let Some(a) = accept {
                req = req.header(ACCEPT, a);
            }
            if on_registry {
                if let Some(h) = self.auth_header(r, &scope).await? {
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
            if on_registry && undecided {
                // The first answer settles the scheme for the rest of the run.
                self.remember_scheme(registry, scheme);
                undecided = false;
                may_fallback = false;
            }
            let status = resp.status();
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
                let body = resp.bytes().await.unwrap_or_default();
                auth_tries += 1;
                if self.answer_challenge(r, &scope, &challenges).await? {
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
            return Err(api_error(r, &url, status, &body));
        }
    }

    /// The Authorization value for `scope` if we already know how to authenticate.
    async fn auth_header(
        &self,
        r: &Reference,
        scope: &str,
    ) -> Result<Option<Secret>, RegistryError> {
        let mut all = self.auth.lock().await;
        let state = all.entry(r.registry.clone()).or_default();
        if let Some(t) = state.tokens.get(scope) {
            if t.expires > Instant::now() {
                return Ok(Some(Secret::new(format!("Bearer {}", t.value.expose()))));
            }
        }
        if let Some(b) = &state.basic {
            return Ok(Some(b.clone()));
        }
        // A known Bearer registry: fetch the token for this new scope without a 401 first.
        if let Some(ch) = state.bearer.clone() {
            let token = self.fetch_token(r, state, &ch, scope).await?;
            return Ok(Some(Secret::new(format!("Bearer {}", token.expose()))));
        }
        Ok(None)
    }

    /// Act on a 401. `Ok(true)` means "retry the request".
    async fn answer_challenge(
        &self,
        r: &Reference,
        scope: &str,
        challenges: &[Challenge],
    ) -> Result<bool, RegistryError> {
        let mut all = self.auth.lock().await;
        let state = all.entry(r.registry.clone()).or_default();
        if let Some(ch) = challenges
            .iter()
            .find(|c| c.scheme == "bearer" && c.param("realm").is_some())
        {
            let already = state.tokens.contains_key(scope);
            if already && ch.param("error") != Some("invalid_token") {
                // insufficient_scope with a token we already hold: a new token changes nothing.
                return Ok(false);
            }
            state.bearer = Some(ch.clone());
            state.tokens.remove(scope);
            // insufficient_scope: ask for what the registry advertises if it differs from ours.
            let wanted = ch.param("scope").unwrap_or(scope).to_string();
            self.fetch_token(r, state, ch, &wanted).await?;
            if let Some(t) = state.tokens.get(&wanted).cloned() {
                state.tokens.insert(scope.to_string(), t);
            }
            return Ok(true);
        }
        if challenges.iter().any(|c| c.scheme == "basic") && state.basic.is_none() {
            let found = self.credential(r, state)?;
            if let Some(Found {
                credential: Credential::Basic { username, password },
                ..
            }) = found
            {
                let raw = format!("{username}:{}", password.expose());
                state.basic = Some(Secret::new(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(raw)
                )));
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn credential(
        &self,
        r: &Reference,
        state: &mut RegistryAuth,
    ) -> Result<Option<Found>, RegistryError> {
        if state.credential.is_none() {
            state.credential = Some(self.chain.lookup(&r.registry, &r.repository)?);
        }
        Ok(state.credential.clone().flatten())
    }

    /// Get a token for `scope` from the challenge's realm and cache it.
    async fn fetch_token(
        &self,
        r: &Reference,
        state: &mut RegistryAuth,
        ch: &Challenge,
        scope: &str,
    ) -> Result<Secret, RegistryError> {
        let realm = ch.param("realm").unwrap_or_default().to_string();
        let service = ch.param("service").map(str::to_string);
        let found = self.credential(r, state)?;
        let client = &self.verify;
        let req = match found.as_ref().map(|f| &f.credential) {
            Some(Credential::RegistryToken(t)) => {
                insert_token(state, scope, t.clone(), None);
                return Ok(t.clone());
            }
            Some(Credential::IdentityToken(t)) => {
                // OAuth2 refresh grant (distribution `oauth.md`; ACR identity tokens).
                let mut form = vec![
                    ("grant_type", "refresh_token".to_string()),
                    ("refresh_token", t.expose().to_string()),
                    ("client_id", "xnat-cmd".to_string()),
                    ("scope", scope.to_string()),
                ];
                if let Some(s) = &service {
                    form.push(("service", s.clone()));
                }
                client.post(&realm).form(&form)
            }
            Some(Credential::Basic { username, password }) => {
                let mut q = vec![("scope", scope.to_string()), ("account", username.clone())];
                if let Some(s) = &service {
                    q.push(("service", s.clone()));
                }
                client
                    .get(&realm)
                    .query(&q)
                    .basic_auth(username, Some(password.expose()))
            }
            None => {
                let mut q = vec![("scope", scope.to_string())];
                if let Some(s) = &service {
                    q.push(("service", s.clone()));
                }
                client.get(&realm).query(&q)
            }
        };
        let resp = req.send().await.map_err(|e| connect_error(&realm, e))?;
        self.requests.fetch_add(1, Ordering::Relaxed);
        let status = resp.status();
        let body = read_capped(resp, 1024 * 1024, "token response", &realm).await?;
        let provider = found
            .as_ref()
            .map_or("none (anonymous)".to_string(), |f| f.provider.clone());
        if !status.is_success() {
            let (_, message) = error_message(&body);
            return Err(RegistryError::BadCredentials {
                registry: r.registry.clone(),
                realm,
                provider,
                message: format!(
                    "HTTP {}{}",
                    status.as_u16(),
                    if message.is_empty() {
                        String::new()
                    } else {
                        format!(" {message}")
                    }
                ),
            });
        }
        #[derive(Deserialize)]
        struct TokenResponse {
            token: Option<String>,
            access_token: Option<String>,
            expires_in: Option<u64>,
        }
        let t: TokenResponse =
            serde_json::from_slice(&body).map_err(|_| RegistryError::BadBody {
                what: "token response".into(),
                url: realm.clone(),
                problem: describe_bad_body(&body),
            })?;
        let value = t
            .token
            .or(t.access_token)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| RegistryError::BadBody {
                what: "token response".into(),
                url: realm.clone(),
                problem: "has neither `token` nor `access_token`".into(),
            })?;
        let secret = Secret::new(value);
        insert_token(state, scope, secret.clone(), t.expires_in);
        tracing::debug!(registry = %r.registry, scope, provider = %provider, "got a registry token");
        Ok(secret)
    }

    /// The error for a 401 we cannot answer, saying where credentials were looked for.
    async fn unauthorized(
        &self,
        r: &Reference,
        challenges: &[Challenge],
        body: &[u8],
    ) -> RegistryError {
        let mut all = self.auth.lock().await;
        let state = all.entry(r.registry.clone()).or_default();
        let found = self.credential(r, state).ok().flatten();
        let (_, message) = error_message(body);
        let insufficient = challenges
            .iter()
            .any(|c| c.param("error") == Some("insufficient_scope"));
        let why = match (&found, insufficient) {
            (None, _) => "needs credentials and none were found (use --registry-user, --registry-auth-file, docker login or podman login)".to_string(),
            (Some(f), true) => format!("is not readable with the credentials from {}: the repository does not exist or access is denied", f.provider),
            (Some(f), false) => format!("refused the credentials from {}", f.provider),
        };
        RegistryError::Unauthorized {
            reference: r.to_string(),
            detail: if message.is_empty() {
                why
            } else {
                format!("{why} ({message})")
            },
        }
    }
}

fn insert_token(state: &mut RegistryAuth, scope: &str, value: Secret, expires_in: Option<u64>) {
    // Refresh a little early so a token does not expire between check and use.
    let secs = expires_in
        .unwrap_or(DEFAULT_TOKEN_SECONDS)
        .max(DEFAULT_TOKEN_SECONDS);
    let expires = Instant::now() + Duration::from_secs(secs.saturating_sub(5));
    state
        .tokens
        .insert(scope.to_string(), Token { value, expires });
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

fn connect_error(url: &str, e: reqwest::Error) -> RegistryError {
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
async fn read_capped(
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
fn error_message(body: &[u8]) -> (Option<String>, String) {
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

fn describe_bad_body(body: &[u8]) -> String {
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

fn api_error(r: &Reference, url: &str, status: StatusCode, body: &[u8]) -> RegistryError {
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
            method: "GET",
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
