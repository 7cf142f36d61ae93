//! How one registry request travels: the scheme (HTTPS, then plain HTTP for loopback and
//! `--insecure-registry` hosts, settled by the first answer), one first contact per host at a
//! time, a concurrency bound per host, retries as [`Policy::registry`] decides (connection
//! errors, timeouts, 5xx, `Retry-After` on 429), redirects followed by hand so `Authorization`
//! never leaves the registry's origin, bodies read up to a cap ([`crate::http::body`]), and
//! error bodies decoded into typed errors.
//!
//! Authentication is not decided here: each hop to the registry asks an [`Authorizer`] (the
//! `auth` module) for its header and hands it every 401, so this module depends on nothing
//! above it. Token requests come back through [`Transport::token_request`], so every request
//! of a run is counted in one place.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, CONTENT_TYPE, LOCATION, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use tokio::sync::{OwnedMutexGuard, OwnedSemaphorePermit, Semaphore};

use super::challenge::{self, Challenge};
use super::http::Clients;
use super::{RegistryError, RegistryOptions};
use crate::http::{BodyError, Decision, Outcome, Policy, Repeat};
use crate::reference::{is_loopback_registry, Reference};
use crate::secret::Secret;
use crate::tls::is_cert_error;

use crate::limits::{MAX_REDIRECTS, MAX_REGISTRY_ERROR_BYTES, MAX_TOKEN_RESPONSE_BYTES};

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
    first_contact: Arc<tokio::sync::Mutex<()>>,
    /// Requests in flight at once.
    limit: Arc<Semaphore>,
}

/// A fetched document.
pub(super) struct Fetched {
    pub(super) body: Bytes,
    pub(super) content_type: Option<String>,
    pub(super) digest_header: Option<String>,
}

/// The authentication of one request's hops to the registry (implemented by `auth`).
pub(super) trait Authorizer {
    /// The `Authorization` value to send, when it is known how to authenticate.
    async fn header(&self) -> Result<Option<Secret>, RegistryError>;
    /// Note a 401's challenges before answering them; `true` when they name a Bearer realm,
    /// so concurrent first reads may fetch their own tokens at once (a Basic answer needs no
    /// network, so they wait for it instead).
    fn seen(&self, challenges: &[Challenge]) -> bool;
    /// Answer a 401 to a request that carried `sent`: `Ok(true)` means "send it again".
    async fn answer(
        &self,
        challenges: &[Challenge],
        sent: Option<&Secret>,
    ) -> Result<bool, RegistryError>;
    /// The error for a 401 that cannot be answered (`body` is the registry's).
    async fn refused(&self, challenges: &[Challenge], body: &[u8]) -> RegistryError;
}

/// What one request asks for.
pub(super) struct Ask<'a> {
    pub(super) method: Method,
    pub(super) path: &'a str,
    pub(super) accept: Option<&'a str>,
    /// The document, for messages (`manifest of `x``).
    pub(super) what: &'a str,
    /// Most bytes the body may have.
    pub(super) cap: u64,
}

/// The HTTP side of a run: clients, per-host state and the request count.
pub(super) struct Transport {
    clients: Clients,
    insecure: Vec<String>,
    policy: Policy,
    per_registry_concurrency: usize,
    hosts: Mutex<HashMap<String, Arc<Host>>>,
    requests: AtomicU64,
}

impl Transport {
    pub(super) fn new(opts: &RegistryOptions) -> Result<Self, RegistryError> {
        Ok(Transport {
            clients: Clients::new(opts)?,
            insecure: opts.insecure.clone(),
            policy: Policy::registry(opts.max_retries, opts.max_retry_after)
                .with_backoff(opts.backoff_base),
            per_registry_concurrency: opts.per_registry_concurrency,
            hosts: Mutex::new(HashMap::new()),
            requests: AtomicU64::new(0),
        })
    }

    /// HTTP requests answered so far (every hop, token requests included).
    pub(super) fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// `ask` on the registry of `r`, authenticated by `auth`, with retries, redirects and
    /// the size cap.
    pub(super) async fn request(
        &self,
        r: &Reference,
        ask: Ask<'_>,
        auth: &impl Authorizer,
    ) -> Result<Fetched, RegistryError> {
        Exchange::start(self, r, ask, auth).await.run().await
    }

    /// Send a token request (built by `auth` on the client for `realm`) and read its answer.
    pub(super) async fn token_request(
        &self,
        realm: &str,
        build: impl FnOnce(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<(StatusCode, Bytes), RegistryError> {
        let client = self.clients.pick(realm, false).await?;
        let resp = build(client)
            .send()
            .await
            .map_err(|e| connect_error(realm, e))?;
        self.requests.fetch_add(1, Ordering::Relaxed);
        let status = resp.status();
        let body = read_capped(resp, MAX_TOKEN_RESPONSE_BYTES, "token response", realm).await?;
        Ok((status, body))
    }

    /// `scheme://host` of a registry as currently known (for messages).
    pub(super) fn origin_of(&self, r: &Reference) -> String {
        let scheme = self.host(&r.registry).scheme.get().copied();
        origin(scheme.unwrap_or(Scheme::Https), r.api_host())
    }

    fn host(&self, registry: &str) -> Arc<Host> {
        let mut m = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        m.entry(registry.to_string())
            .or_insert_with(|| {
                Arc::new(Host {
                    scheme: OnceLock::new(),
                    first_contact: Arc::new(tokio::sync::Mutex::new(())),
                    limit: Arc::new(Semaphore::new(self.per_registry_concurrency.max(1))),
                })
            })
            .clone()
    }

    fn is_insecure(&self, registry: &str) -> bool {
        self.insecure.iter().any(|h| h == registry)
    }
}

/// One request on its way: the hop being made and what the earlier hops taught.
struct Exchange<'a, A> {
    transport: &'a Transport,
    r: &'a Reference,
    ask: Ask<'a>,
    auth: &'a A,
    host: Arc<Host>,
    /// Held while this request makes the host's first contact.
    first: Option<OwnedMutexGuard<()>>,
    _permit: Option<OwnedSemaphorePermit>,
    scheme: Scheme,
    /// HTTPS failed to connect may still be tried as HTTP (loopback, insecure hosts).
    may_fallback: bool,
    /// The scheme is not settled yet: the first answer settles it.
    undecided: bool,
    url: String,
    /// The hop goes to the registry's own origin (not a redirect elsewhere).
    on_registry: bool,
    attempts: u32,
    auth_tries: u32,
    redirects: usize,
}

impl<'a, A: Authorizer> Exchange<'a, A> {
    /// Wait for the host's first contact (unless this request makes it) and a slot.
    async fn start(
        transport: &'a Transport,
        r: &'a Reference,
        ask: Ask<'a>,
        auth: &'a A,
    ) -> Exchange<'a, A> {
        let registry = r.registry.as_str();
        let host = transport.host(registry);
        // First contact: one request asks, concurrent ones wait for its answer.
        let mut first = None;
        if host.scheme.get().is_none() {
            let gate = host.first_contact.clone().lock_owned().await;
            if host.scheme.get().is_none() {
                first = Some(gate);
            }
        }
        // The semaphore is never closed.
        let permit = host.limit.clone().acquire_owned().await.ok();
        let (scheme, may_fallback) = match host.scheme.get() {
            Some(s) => (*s, false),
            None => (
                Scheme::Https,
                transport.is_insecure(registry) || is_loopback_registry(registry),
            ),
        };
        let undecided = host.scheme.get().is_none();
        let url = origin(scheme, r.api_host()) + ask.path;
        Exchange {
            transport,
            r,
            ask,
            auth,
            host,
            first,
            _permit: permit,
            scheme,
            may_fallback,
            undecided,
            url,
            on_registry: true,
            attempts: 0,
            auth_tries: 0,
            redirects: 0,
        }
    }

    async fn run(mut self) -> Result<Fetched, RegistryError> {
        loop {
            let sent = self.authorization().await?;
            let Some(resp) = self.send(sent.as_ref()).await? else {
                continue;
            };
            let status = self.answered(&resp);
            match status {
                s if s.is_success() => match self.body(resp).await {
                    // A body cut short is a reset mid-answer: the GET is tried again.
                    Err(e @ RegistryError::CutOff { received, .. }) => {
                        let Some(wait) = self.retry_after(Outcome::CutOff) else {
                            return Err(e);
                        };
                        let why = format!("a body cut off after {received} bytes");
                        self.back_off(wait, &why).await
                    }
                    done => return done,
                },
                s if s.is_redirection() => self.follow_redirect(&resp)?,
                StatusCode::UNAUTHORIZED if self.on_registry && self.auth_tries < 2 => {
                    self.handle_401(resp, sent.as_ref()).await?
                }
                StatusCode::TOO_MANY_REQUESTS => self.wait_rate_limit(&resp).await?,
                s => match self.retry_after(Outcome::answer(s, resp.headers())) {
                    Some(wait) => self.back_off(wait, &format!("HTTP {}", s.as_u16())).await,
                    None => return Err(self.failed(resp).await),
                },
            }
        }
    }

    /// The wait before another try after `outcome`, or `None` when it stands
    /// ([`Policy::registry`]; every registry request is a read, so safe to repeat).
    fn retry_after(&self, outcome: Outcome) -> Option<Duration> {
        match self
            .transport
            .policy
            .decide(outcome, self.attempts, Repeat::Safe, true)
        {
            Decision::Retry(wait) | Decision::LookThenRetry(wait) => Some(wait),
            Decision::GiveUp => None,
        }
    }

    fn registry(&self) -> &'a str {
        &self.r.registry
    }

    /// The header for this hop: only hops to the registry's own origin carry one.
    async fn authorization(&self) -> Result<Option<Secret>, RegistryError> {
        if self.on_registry {
            self.auth.header().await
        } else {
            Ok(None)
        }
    }

    async fn build(&self, sent: Option<&Secret>) -> Result<reqwest::RequestBuilder, RegistryError> {
        let insecure = self.transport.is_insecure(self.registry()) && self.on_registry;
        let client = self.transport.clients.pick(&self.url, insecure).await?;
        let mut req = client.request(self.ask.method.clone(), &self.url);
        if let Some(a) = self.ask.accept {
            req = req.header(ACCEPT, a);
        }
        if let Some(h) = sent {
            req = req.header(AUTHORIZATION, h.expose());
        }
        Ok(req)
    }

    /// Make the hop; `None` when it failed in a way worth another try (made by the caller).
    async fn send(
        &mut self,
        sent: Option<&Secret>,
    ) -> Result<Option<reqwest::Response>, RegistryError> {
        match self.build(sent).await?.send().await {
            Ok(resp) => Ok(Some(resp)),
            Err(e) => self.send_failed(e).await.map(|()| None),
        }
    }

    /// A hop without an answer: HTTP after HTTPS where allowed, else a retry after backoff
    /// for connection errors, else the error.
    async fn send_failed(&mut self, e: reqwest::Error) -> Result<(), RegistryError> {
        let registry = self.registry();
        if self.on_registry
            && self.may_fallback
            && self.scheme == Scheme::Https
            && (!is_cert_error(&e) || self.transport.is_insecure(registry))
        {
            // dockerd's rule for loopback and insecure registries: HTTPS, then HTTP.
            tracing::debug!(registry, "HTTPS failed, trying plain HTTP");
            self.scheme = Scheme::Http;
            self.may_fallback = false;
            self.url = origin(self.scheme, self.r.api_host()) + self.ask.path;
            return Ok(());
        }
        // No answer to wait for: concurrent reads make their own attempts.
        drop(self.first.take());
        if is_cert_error(&e) {
            return Err(RegistryError::Tls {
                registry: registry.to_string(),
                source: e,
            });
        }
        if let Some(wait) = self.retry_after(Outcome::of_error(&e)) {
            self.back_off(
                wait,
                &crate::problem::Problem::from_error(&e).causes.join(": "),
            )
            .await;
            return Ok(());
        }
        Err(RegistryError::Connect {
            registry: registry.to_string(),
            source: e,
        })
    }

    /// Count the answer; the first one settles the scheme for the rest of the run, and any
    /// but a 401 ends the first contact.
    fn answered(&mut self, resp: &reqwest::Response) -> StatusCode {
        self.transport.requests.fetch_add(1, Ordering::Relaxed);
        let status = resp.status();
        if self.on_registry && self.undecided {
            let _ = self.host.scheme.set(self.scheme);
            self.undecided = false;
            self.may_fallback = false;
        }
        if status != StatusCode::UNAUTHORIZED {
            drop(self.first.take());
        }
        tracing::debug!(url = %self.url, status = status.as_u16(), "registry response");
        status
    }

    async fn body(&self, resp: reqwest::Response) -> Result<Fetched, RegistryError> {
        let content_type = header(resp.headers(), CONTENT_TYPE);
        let digest_header = header(resp.headers(), "docker-content-digest".parse().ok());
        let body = read_capped(resp, self.ask.cap, self.ask.what, &self.url).await?;
        Ok(Fetched {
            body,
            content_type,
            digest_header,
        })
    }

    /// Go where the redirect points; `Authorization` only ever goes to the registry's own
    /// origin (distribution spec), so a hop elsewhere (a blob store) is sent without it.
    fn follow_redirect(&mut self, resp: &reqwest::Response) -> Result<(), RegistryError> {
        self.redirects += 1;
        if self.redirects > MAX_REDIRECTS {
            return Err(RegistryError::TooManyRedirects {
                url: self.url.clone(),
            });
        }
        let next = resp
            .headers()
            .get(LOCATION)
            .and_then(|l| l.to_str().ok())
            .and_then(|l| reqwest::Url::parse(&self.url).ok()?.join(l).ok())
            .ok_or_else(|| RegistryError::BadRedirect {
                url: self.url.clone(),
            })?;
        self.on_registry = reqwest::Url::parse(&origin(self.scheme, self.r.api_host()))
            .is_ok_and(|o| o.origin() == next.origin());
        self.url = next.to_string();
        Ok(())
    }

    /// A 401 from the registry: the authorizer answers the challenge (then the hop is sent
    /// again) or says why it cannot.
    async fn handle_401(
        &mut self,
        resp: reqwest::Response,
        sent: Option<&Secret>,
    ) -> Result<(), RegistryError> {
        let challenges = challenge::parse_all(
            resp.headers()
                .get_all(WWW_AUTHENTICATE)
                .iter()
                .filter_map(|v| v.to_str().ok()),
        );
        if self.auth.seen(&challenges) {
            drop(self.first.take());
        }
        let body = crate::http::read_prefix(resp, MAX_REGISTRY_ERROR_BYTES).await;
        self.auth_tries += 1;
        let retry = self.auth.answer(&challenges, sent).await?;
        drop(self.first.take());
        if retry {
            Ok(())
        } else {
            Err(self.auth.refused(&challenges, &body).await)
        }
    }

    /// A 429: wait as long as `Retry-After` says when that is within `max_retry_after` (a
    /// longer one is the error, as for XNAT: `Retry-After: 999999` would otherwise cost every
    /// retry its full capped wait), or back off.
    async fn wait_rate_limit(&mut self, resp: &reqwest::Response) -> Result<(), RegistryError> {
        let outcome = Outcome::answer(resp.status(), resp.headers());
        let Some(wait) = self.retry_after(outcome) else {
            let retry_after = match outcome {
                Outcome::Answer { retry_after, .. } => retry_after,
                _ => None,
            };
            return Err(RegistryError::RateLimited {
                registry: self.registry().to_string(),
                retry_after,
                remaining: header(resp.headers(), "ratelimit-remaining".parse().ok()),
            });
        };
        self.attempts += 1;
        tracing::debug!(
            registry = self.registry(),
            wait_ms = wait.as_millis() as u64,
            "rate limited, waiting"
        );
        tokio::time::sleep(wait).await;
        Ok(())
    }

    /// Wait `wait` before another try, saying why at `-vv`.
    async fn back_off(&mut self, wait: Duration, why: &str) {
        self.attempts += 1;
        tracing::debug!(
            url = %self.url,
            attempt = self.attempts,
            of = self.transport.policy.max_retries,
            wait_ms = wait.as_millis() as u64,
            "retrying after {why}"
        );
        tokio::time::sleep(wait).await;
    }

    /// Any other answer: the registry's error body as a typed error.
    async fn failed(&self, resp: reqwest::Response) -> RegistryError {
        let status = resp.status();
        let body = crate::http::read_prefix(resp, MAX_REGISTRY_ERROR_BYTES).await;
        api_error(&self.ask.method, self.r, &self.url, status, &body)
    }
}

fn origin(s: Scheme, host: &str) -> String {
    match s {
        Scheme::Https => format!("https://{host}"),
        Scheme::Http => format!("http://{host}"),
    }
}

fn header(h: &HeaderMap, name: impl Into<Option<reqwest::header::HeaderName>>) -> Option<String> {
    let name = name.into()?;
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
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

/// Stream a body, failing as soon as it passes `cap` (the one reader, [`crate::http::body`]).
async fn read_capped(
    resp: reqwest::Response,
    cap: u64,
    what: &str,
    url: &str,
) -> Result<Bytes, RegistryError> {
    crate::http::read_capped(resp, cap)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge { limit } => RegistryError::TooLarge {
                what: what.to_string(),
                url: url.to_string(),
                limit,
            },
            BodyError::CutOff { received, .. } => RegistryError::CutOff {
                what: what.to_string(),
                url: url.to_string(),
                received,
            },
        })
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
            return (
                Some(crate::summary::summarise(&first.code)),
                crate::summary::summarise(&first.message),
            );
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        (None, String::new())
    } else if looks_like_html(text) {
        (None, "the server answered with an HTML page, not a registry response (wrong host, or a proxy or login page?)".into())
    } else {
        // The first line only (a stack trace follows it), through the one summariser.
        (
            None,
            crate::summary::summarise(text.lines().next().unwrap_or("")),
        )
    }
}

pub(super) fn looks_like_html(text: &str) -> bool {
    let t = text.trim_start().to_ascii_lowercase();
    t.starts_with("<!doctype") || t.starts_with("<html") || t.starts_with('<')
}

/// Why a body that should be JSON is not, in words.
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
}
