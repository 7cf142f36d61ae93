//! Registry authentication shared by every read of a run: remembered challenges, one token per
//! (registry, scope) fetched once even when several reads need it at the same moment, one token
//! per planned scope set (batch) when the caller announced the run's references, Basic
//! credentials, and the credential lookup (once per registry). [`ScopeAuth`] is what the
//! transport asks for each request's header and hands every 401; token requests go through
//! the transport.
//!
//! Concurrency: nothing here holds a lock across a network call except a scope's own slot and
//! its batch's slot, always taken in that order (scope, then batch). Reads of different
//! repositories fetch their tokens in parallel, reads of the same repository (or of one batch)
//! wait for the one fetch in flight and reuse its token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde::Deserialize;

use super::cache::Cache;
use super::challenge::Challenge;
use super::transport::{describe_bad_body, error_message, Authorizer, Transport};
use super::RegistryError;
use crate::credentials::{Chain, Credential, Found};
use crate::reference::Reference;
use crate::secret::Secret;

/// Is `realm` (a token server URL) on the registry itself (same host and port as the
/// reference's registry)? Only then is a realm read back from the cache trusted with
/// credentials.
fn realm_on_registry(realm: &str, registry: &str) -> bool {
    let Ok(url) = url::Url::parse(realm) else {
        return false;
    };
    let Some(host) = url.host_str() else {
        return false;
    };
    let authority = match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    };
    authority.eq_ignore_ascii_case(registry)
}

use crate::limits::{DEFAULT_TOKEN_SECONDS, MAX_BATCH_SCOPES};

#[derive(Debug, Clone)]
struct Token {
    value: Secret,
    expires: Instant,
}

impl Token {
    fn new(value: Secret, expires_in: Option<u64>) -> Self {
        // Refresh a little early so a token does not expire between check and use.
        let secs = expires_in
            .unwrap_or(DEFAULT_TOKEN_SECONDS)
            .max(DEFAULT_TOKEN_SECONDS);
        // Checked: the lifetime comes from the network, and `Instant + u64::MAX s` panics.
        // A lifetime past what the clock can hold is capped at a day; the run is shorter.
        let now = Instant::now();
        let expires = now
            .checked_add(Duration::from_secs(secs.saturating_sub(5)))
            .unwrap_or_else(|| now + crate::limits::MAX_TOKEN_LIFETIME);
        Token { value, expires }
    }

    fn fresh(&self) -> bool {
        self.expires > Instant::now()
    }

    fn header(&self) -> Secret {
        Secret::new(format!("Bearer {}", self.value.expose()))
    }
}

/// One scope's token; its async lock is held while the token is fetched, which is what makes
/// concurrent reads of one repository share a single token request.
type TokenSlot = tokio::sync::Mutex<Option<Token>>;

/// Scopes the run announced it will need on one registry, fetched with one token request.
#[derive(Debug, Default)]
struct Batch {
    scopes: Vec<String>,
    /// The set's token; taken after a member scope's own slot, held while it is fetched.
    token: TokenSlot,
}

/// What we know about one registry's authentication.
#[derive(Debug, Default)]
pub(super) struct RegistryAuth {
    /// The last Bearer challenge (realm, service), reused for new scopes.
    bearer: Mutex<Option<Challenge>>,
    /// `bearer` came from the cache of an earlier run and has not been confirmed by this
    /// registry yet: if its token request fails, it is dropped and the 401 path taken.
    seeded: std::sync::atomic::AtomicBool,
    /// `Basic` header value once the registry asked for Basic.
    basic: Mutex<Option<Secret>>,
    tokens: Mutex<HashMap<String, Arc<TokenSlot>>>,
    /// Planned scope sets of more than one scope, by member scope.
    batches: Mutex<HashMap<String, Arc<Batch>>>,
    /// Credential lookup result, once per registry: `None` = anonymous. The lookup reads small
    /// files inline and awaits credential helpers (child processes, with a deadline) on the
    /// runtime; the cell makes concurrent first reads share it.
    credential: tokio::sync::OnceCell<Option<Found>>,
}

impl RegistryAuth {
    fn slot(&self, scope: &str) -> Arc<TokenSlot> {
        lock(&self.tokens)
            .entry(scope.to_string())
            .or_default()
            .clone()
    }

    fn existing_slot(&self, scope: &str) -> Option<Arc<TokenSlot>> {
        lock(&self.tokens).get(scope).cloned()
    }

    fn batch(&self, scope: &str) -> Option<Arc<Batch>> {
        lock(&self.batches).get(scope).cloned()
    }

    /// Group the scopes not planned yet into sets of at most [`MAX_BATCH_SCOPES`]; a set of
    /// one stays an ordinary per-scope token.
    fn plan(&self, scopes: impl IntoIterator<Item = String>) {
        let mut batches = lock(&self.batches);
        let mut new: Vec<String> = scopes
            .into_iter()
            .filter(|s| !batches.contains_key(s))
            .collect();
        new.sort();
        new.dedup();
        for chunk in new.chunks(MAX_BATCH_SCOPES).filter(|c| c.len() > 1) {
            let batch = Arc::new(Batch {
                scopes: chunk.to_vec(),
                token: TokenSlot::default(),
            });
            for scope in chunk {
                batches.insert(scope.clone(), batch.clone());
            }
        }
    }
}

/// These locks guard plain data and are never held across an `.await`; a panic elsewhere
/// cannot leave them half-updated, so a poisoned lock is still usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The scope a read of `r` needs.
fn pull_scope(r: &Reference) -> String {
    format!("repository:{}:pull", r.repository)
}

fn scope_query(scopes: &[String]) -> Vec<(&'static str, String)> {
    scopes.iter().map(|s| ("scope", s.clone())).collect()
}

fn usable_bearer(challenges: &[Challenge]) -> Option<&Challenge> {
    challenges
        .iter()
        .find(|c| c.scheme == "bearer" && c.param("realm").is_some())
}

/// The authentication state of a run, by registry.
pub(super) struct Auth {
    chain: Chain,
    /// Per registry; the map lock is only held to look an entry up.
    registries: Mutex<HashMap<String, Arc<RegistryAuth>>>,
    /// Where registries' challenges are remembered between runs (the digest cache).
    cache: Option<Cache>,
}

/// The authentication of one request: a read of `reference` needs `scope`.
pub(super) struct ScopeAuth<'a> {
    auth: &'a Auth,
    transport: &'a Transport,
    r: &'a Reference,
    scope: String,
}

impl Authorizer for ScopeAuth<'_> {
    async fn header(&self) -> Result<Option<Secret>, RegistryError> {
        self.auth
            .auth_header(self.transport, self.r, &self.scope)
            .await
    }

    fn seen(&self, challenges: &[Challenge]) -> bool {
        self.auth.remember_bearer(&self.r.registry, challenges)
    }

    async fn answer(
        &self,
        challenges: &[Challenge],
        sent: Option<&Secret>,
    ) -> Result<bool, RegistryError> {
        self.auth
            .answer_challenge(self.transport, self.r, &self.scope, challenges, sent)
            .await
    }

    async fn refused(&self, challenges: &[Challenge], body: &[u8]) -> RegistryError {
        self.auth.unauthorized(self.r, challenges, body).await
    }
}

impl Auth {
    pub(super) fn new(chain: Chain, cache: Option<Cache>) -> Self {
        Auth {
            chain,
            registries: Mutex::new(HashMap::new()),
            cache,
        }
    }

    /// The authentication of a request for `r` (its pull scope) through `transport`.
    pub(super) fn for_read<'a>(
        &'a self,
        transport: &'a Transport,
        r: &'a Reference,
    ) -> ScopeAuth<'a> {
        ScopeAuth {
            auth: self,
            transport,
            r,
            scope: pull_scope(r),
        }
    }

    /// A registry's state; new ones start from the challenge an earlier run remembered, so a
    /// re-check run sends no request that only earns a 401.
    fn registry_auth(&self, registry: &str) -> Arc<RegistryAuth> {
        lock(&self.registries)
            .entry(registry.to_string())
            .or_insert_with(|| {
                let ra = RegistryAuth::default();
                if let Some(ch) = self.cache.as_ref().and_then(|c| c.challenge(registry)) {
                    tracing::debug!(registry, "Bearer challenge from the cache");
                    *lock(&ra.bearer) = Some(ch);
                    ra.seeded.store(true, std::sync::atomic::Ordering::Relaxed);
                }
                Arc::new(ra)
            })
            .clone()
    }

    /// Keep `ch` as the registry's challenge, and remember it for later runs when it changed.
    fn set_bearer(&self, registry: &str, ra: &RegistryAuth, ch: &Challenge) {
        ra.seeded.store(false, std::sync::atomic::Ordering::Relaxed);
        let changed = lock(&ra.bearer).replace(ch.clone()).as_ref() != Some(ch);
        if changed {
            if let Some(c) = &self.cache {
                c.put_challenge(registry, ch);
            }
        }
    }

    /// Plan one token per set of the references' scopes on each registry (see `RegistryAuth::plan`).
    pub(super) fn plan(&self, references: &[Reference]) {
        let mut by_registry: HashMap<&str, Vec<String>> = HashMap::new();
        for r in references {
            by_registry
                .entry(r.registry.as_str())
                .or_default()
                .push(pull_scope(r));
        }
        for (registry, scopes) in by_registry {
            self.registry_auth(registry).plan(scopes);
        }
    }

    /// The Authorization value for `scope` if we already know how to authenticate.
    async fn auth_header(
        &self,
        transport: &Transport,
        r: &Reference,
        scope: &str,
    ) -> Result<Option<Secret>, RegistryError> {
        let ra = self.registry_auth(&r.registry);
        let bearer = lock(&ra.bearer).clone();
        let slot = match bearer {
            Some(_) => Some(ra.slot(scope)),
            None => ra.existing_slot(scope),
        };
        if let Some(slot) = slot {
            let mut held = slot.lock().await;
            if let Some(t) = held.as_ref().filter(|t| t.fresh()) {
                return Ok(Some(t.header()));
            }
            if let Some(b) = lock(&ra.basic).clone() {
                return Ok(Some(b));
            }
            // A remembered challenge whose realm is another host may have been rewritten in
            // the cache: it gets no credentials. With credentials for this registry, the live
            // 401 says where the token server is; anonymous reads may still use it.
            let seeded = ra.seeded.load(std::sync::atomic::Ordering::Relaxed);
            if let Some(ch) = bearer.as_ref().filter(|_| seeded) {
                let realm = ch.param("realm").unwrap_or_default();
                if !realm_on_registry(realm, &r.registry)
                    && self.credential(r, &ra).await?.is_some()
                {
                    tracing::debug!(registry = %r.registry, realm, "remembered realm is another host; asking the registry");
                    ra.seeded.store(false, std::sync::atomic::Ordering::Relaxed);
                    *lock(&ra.bearer) = None;
                    return Ok(None);
                }
            }
            // A known Bearer registry: fetch the token for this new scope without a 401 first.
            if let Some(ch) = bearer {
                match self.token_for(transport, r, &ra, &ch, scope, None).await {
                    Ok(t) => {
                        let header = t.header();
                        *held = Some(t);
                        return Ok(Some(header));
                    }
                    Err(e) => {
                        // A remembered challenge that no longer works (this read's, or one a
                        // concurrent read already dropped): forget it and let the registry's
                        // 401 say what it wants now.
                        let seeded = ra.seeded.swap(false, std::sync::atomic::Ordering::Relaxed);
                        let mut current = lock(&ra.bearer);
                        if seeded {
                            *current = None;
                        }
                        if seeded || current.as_ref() != Some(&ch) {
                            tracing::debug!(registry = %r.registry, error = %e, "cached challenge failed");
                            return Ok(None);
                        }
                        return Err(e);
                    }
                }
            }
        }
        let basic = lock(&ra.basic).clone();
        Ok(basic)
    }

    /// Remember a 401's Bearer challenge so reads that start now fetch their token before
    /// their first request. Returns whether there was one.
    fn remember_bearer(&self, registry: &str, challenges: &[Challenge]) -> bool {
        let Some(ch) = usable_bearer(challenges) else {
            return false;
        };
        self.set_bearer(registry, &self.registry_auth(registry), ch);
        true
    }

    /// Act on a 401 to a request that carried `sent`. `Ok(true)` means "retry the request".
    async fn answer_challenge(
        &self,
        transport: &Transport,
        r: &Reference,
        scope: &str,
        challenges: &[Challenge],
        sent: Option<&Secret>,
    ) -> Result<bool, RegistryError> {
        let ra = self.registry_auth(&r.registry);
        let sent = sent.map(Secret::expose);
        if let Some(ch) = usable_bearer(challenges) {
            self.set_bearer(&r.registry, &ra, ch);
            let slot = ra.slot(scope);
            let mut held = slot.lock().await;
            if let Some(t) = held.as_ref().filter(|t| t.fresh()) {
                if sent != Some(t.header().expose()) {
                    // Another read got a token for this scope while ours was in flight.
                    return Ok(true);
                }
                if ch.param("error") != Some("invalid_token") {
                    // insufficient_scope with a token we already hold: a new token changes nothing.
                    return Ok(false);
                }
            }
            // insufficient_scope: ask for what the registry advertises if it differs from ours.
            let wanted = ch.param("scope").unwrap_or(scope).to_string();
            let t = if wanted == scope {
                self.token_for(transport, r, &ra, ch, scope, sent).await?
            } else {
                self.fetch_token(transport, r, &ra, ch, std::slice::from_ref(&wanted))
                    .await?
            };
            *held = Some(t.clone());
            drop(held);
            if wanted != scope {
                // Our own slot is released first: two reads never wait on each other's slot.
                *ra.slot(&wanted).lock().await = Some(t);
            }
            return Ok(true);
        }
        if challenges.iter().any(|c| c.scheme == "basic") {
            if let Some(b) = lock(&ra.basic).clone() {
                // Retry only if another read learnt the credentials after ours was sent.
                return Ok(sent != Some(b.expose()));
            }
            if let Some(Found {
                credential: Credential::Basic { username, password },
                ..
            }) = self.credential(r, &ra).await?
            {
                let raw = format!("{username}:{}", password.expose());
                let value = Secret::new(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(raw)
                ));
                lock(&ra.basic).get_or_insert(value);
                return Ok(true);
            }
        }
        Ok(false)
    }

    async fn credential(
        &self,
        r: &Reference,
        ra: &RegistryAuth,
    ) -> Result<Option<Found>, RegistryError> {
        let found = ra
            .credential
            .get_or_try_init(|| self.chain.lookup(&r.registry, &r.repository))
            .await?;
        Ok(found.clone())
    }

    /// A token for `scope` (the caller holds its slot and stores the token there): its
    /// batch's token when the scope was planned with others — fetched once for the whole set,
    /// unless it is the one the registry just rejected (`rejected`) — else its own.
    async fn token_for(
        &self,
        transport: &Transport,
        r: &Reference,
        ra: &RegistryAuth,
        ch: &Challenge,
        scope: &str,
        rejected: Option<&str>,
    ) -> Result<Token, RegistryError> {
        let Some(batch) = ra.batch(scope) else {
            return self
                .fetch_token(transport, r, ra, ch, &[scope.to_string()])
                .await;
        };
        let mut held = batch.token.lock().await;
        if let Some(t) = held
            .as_ref()
            .filter(|t| t.fresh() && Some(t.header().expose()) != rejected)
        {
            return Ok(t.clone());
        }
        let t = self
            .fetch_token(transport, r, ra, ch, &batch.scopes)
            .await?;
        *held = Some(t.clone());
        Ok(t)
    }

    /// Get one token for `scopes` from the challenge's realm (the caller stores it). The token
    /// server grants the subset the credentials allow; a scope left out is refused later by
    /// the registry with `insufficient_scope`, as a token for that scope alone would be.
    async fn fetch_token(
        &self,
        transport: &Transport,
        r: &Reference,
        ra: &RegistryAuth,
        ch: &Challenge,
        scopes: &[String],
    ) -> Result<Token, RegistryError> {
        let realm = ch.param("realm").unwrap_or_default().to_string();
        let service = ch.param("service").map(str::to_string);
        let found = self.credential(r, ra).await?;
        let credential = found.as_ref().map(|f| &f.credential);
        if let Some(Credential::RegistryToken(t)) = credential {
            return Ok(Token::new(t.clone(), None));
        }
        let build = |client: &reqwest::Client| match credential {
            Some(Credential::IdentityToken(t)) => {
                // OAuth2 refresh grant (distribution `oauth.md`; ACR identity tokens).
                let mut form = vec![
                    ("grant_type", "refresh_token".to_string()),
                    ("refresh_token", t.expose().to_string()),
                    ("client_id", "xnat-cmd".to_string()),
                    // The OAuth2 form takes one space-separated scope list (`oauth.md`).
                    ("scope", scopes.join(" ")),
                ];
                if let Some(s) = &service {
                    form.push(("service", s.clone()));
                }
                client.post(&realm).form(&form)
            }
            Some(Credential::Basic { username, password }) => {
                // The token GET takes one `scope` parameter per scope (`token.md`).
                let mut q = scope_query(scopes);
                q.push(("account", username.clone()));
                if let Some(s) = &service {
                    q.push(("service", s.clone()));
                }
                client
                    .get(&realm)
                    .query(&q)
                    .basic_auth(username, Some(password.expose()))
            }
            // A registry token was returned above.
            None | Some(Credential::RegistryToken(_)) => {
                let mut q = scope_query(scopes);
                if let Some(s) = &service {
                    q.push(("service", s.clone()));
                }
                client.get(&realm).query(&q)
            }
        };
        let (status, body) = transport.token_request(&realm, build).await?;
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
        tracing::debug!(registry = %r.registry, scopes = %scopes.join(" "), provider = %provider, "got a registry token");
        Ok(Token::new(Secret::new(value), t.expires_in))
    }

    /// The error for a 401 we cannot answer, saying where credentials were looked for.
    async fn unauthorized(
        &self,
        r: &Reference,
        challenges: &[Challenge],
        body: &[u8],
    ) -> RegistryError {
        let ra = self.registry_auth(&r.registry);
        let found = self.credential(r, &ra).await.ok().flatten();
        let (_, message) = error_message(body);
        let insufficient = challenges
            .iter()
            .any(|c| c.param("error") == Some("insufficient_scope"));
        let why = match (&found, insufficient) {
            (None, _) => {
                return RegistryError::NoCredentials {
                    reference: r.to_string(),
                    message,
                }
            }
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

#[cfg(test)]
mod tests {

    #[test]
    fn only_a_realm_on_the_registry_itself_is_trusted_from_the_cache() {
        let cases = [
            ("http://127.0.0.1:5000/token", "127.0.0.1:5000", true),
            ("http://127.0.0.1:5001/token", "127.0.0.1:5000", false),
            ("https://GHCR.io/token", "ghcr.io", true),
            ("https://ghcr.io:8443/token", "ghcr.io", false),
            ("https://auth.docker.io/token", "docker.io", false),
            ("http://[::1]:5000/token", "[::1]:5000", true),
            ("not a url", "ghcr.io", false),
        ];
        for (realm, registry, want) in cases {
            assert_eq!(
                realm_on_registry(realm, registry),
                want,
                "{realm} for {registry}"
            );
        }
    }
    use super::*;

    fn sizes(ra: &RegistryAuth, scopes: &[String]) -> Vec<Option<usize>> {
        scopes
            .iter()
            .map(|s| ra.batch(s).map(|b| b.scopes.len()))
            .collect()
    }

    #[test]
    fn plan_chunks_new_scopes_and_leaves_singles_alone() {
        let ra = RegistryAuth::default();
        let scopes: Vec<String> = (0..33)
            .map(|i| format!("repository:r{i:02}:pull"))
            .collect();
        ra.plan(scopes.iter().cloned().chain([scopes[0].clone()]));
        let got = sizes(&ra, &scopes);
        assert_eq!(got[..32], vec![Some(MAX_BATCH_SCOPES); 32][..]);
        assert_eq!(got[32], None, "a set of one is an ordinary scope");
        let first = ra.batch(&scopes[0]).unwrap();
        assert_eq!(first.scopes, scopes[..16]);
        // Planning again keeps the sets made and groups only what is new.
        let more = vec![
            scopes[1].clone(),
            scopes[32].clone(),
            "repository:s:pull".to_string(),
        ];
        ra.plan(more);
        assert!(Arc::ptr_eq(&first, &ra.batch(&scopes[1]).unwrap()));
        assert_eq!(
            ra.batch("repository:s:pull").unwrap().scopes,
            [scopes[32].clone(), "repository:s:pull".to_string()]
        );
    }
}
