//! A Docker-style token server (the `Bearer realm=…` flow) for the CNCF registry, on
//! 127.0.0.1:0: ES256 JWTs whose header names the signing key by its libtrust `kid`, which
//! distribution 2.8 accepts when that key's certificate is in its `rootcertbundle`.
//!
//! Policy: valid Basic credentials (or a known OAuth2 refresh token) ⇒ every requested action;
//! no credentials ⇒ `pull` on public repositories only (an empty grant elsewhere, so the
//! registry answers `insufficient_scope` as Docker Hub does); wrong credentials ⇒ 401.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::json;

pub const SERVICE: &str = "test-registry";
pub const ISSUER: &str = "test-token-issuer";

/// Who may do what.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub users: BTreeMap<String, String>,
    /// Repositories anyone may pull.
    pub public: BTreeSet<String>,
    /// OAuth2 refresh tokens (identity tokens) and the user each stands for.
    pub refresh_tokens: BTreeMap<String, String>,
}

struct Shared {
    policy: Policy,
    key: EcdsaKeyPair,
    rng: SystemRandom,
    pub requests: AtomicU64,
}

/// A running token server; stops on Drop.
pub struct TokenServer {
    pub addr: std::net::SocketAddr,
    /// PEM of the signing certificate: the registry's `rootcertbundle`.
    pub cert_pem: String,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TokenServer {
    pub fn start(policy: Policy) -> TokenServer {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("EC key");
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("cert params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "test token signer");
        let cert = params.self_signed(&key).expect("self-signed token cert");
        let rng = SystemRandom::new();
        let signing =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &key.serialize_der(), &rng)
                .expect("ring key from pkcs8");
        let shared = Arc::new(Shared {
            policy,
            key: signing,
            rng,
            requests: AtomicU64::new(0),
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind token server");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let app = Router::new()
            .route("/token", get(token_get).post(token_post))
            .with_state(shared.clone());
        // Its own runtime on its own thread: usable from sync and async tests alike.
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = rx.await;
                    })
                    .await;
            });
        });
        TokenServer {
            addr,
            cert_pem: cert.pem(),
            shared,
            stop: Some(tx),
            thread: Some(thread),
        }
    }

    pub fn realm(&self) -> String {
        format!("http://{}/token", self.addr)
    }

    /// Token requests served so far.
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// Mint a token directly (for pushing fixtures).
    pub fn mint(&self, user: &str, scopes: &[&str]) -> String {
        let access: Vec<_> = scopes
            .iter()
            .filter_map(|s| grant(s, true, &self.shared.policy))
            .collect();
        sign(&self.shared, user, access)
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn b64url(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// libtrust's key id, as distribution computes it for the keys of its `rootcertbundle`: the
/// SHA-256 of the DER SubjectPublicKeyInfo, first 240 bits, base32, in groups of four.
fn libtrust_kid(uncompressed_p256_point: &[u8]) -> String {
    // SubjectPublicKeyInfo header for an EC P-256 key (id-ecPublicKey, prime256v1).
    const SPKI_P256: [u8; 26] = [
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08,
        0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
    ];
    let mut der = SPKI_P256.to_vec();
    der.extend_from_slice(uncompressed_p256_point);
    let digest = ring::digest::digest(&ring::digest::SHA256, &der);
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits = 0u32;
    let mut acc = 0u32;
    let mut b32 = String::new();
    for &byte in &digest.as_ref()[..30] {
        acc = (acc << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            b32.push(ALPHABET[((acc >> bits) & 31) as usize] as char);
        }
    }
    b32.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(":")
}

fn sign(s: &Shared, sub: &str, access: Vec<serde_json::Value>) -> String {
    use ring::signature::KeyPair as _;
    // A libtrust `kid` lets the registry look the key up among its trusted ones instead of
    // verifying a certificate chain (`x5c`) on every request — what production token servers
    // (Docker Hub's among them) send, and much cheaper for the registry under load.
    let header = json!({
        "typ": "JWT",
        "alg": "ES256",
        "kid": libtrust_kid(s.key.public_key().as_ref()),
    });
    let t = now();
    // distribution 2.8: `aud` a string, `exp` an integer.
    let claims = json!({
        "iss": ISSUER, "sub": sub, "aud": SERVICE,
        "exp": t + 300, "nbf": t - 10, "iat": t,
        "jti": format!("{t}-{}", s.requests.load(Ordering::Relaxed)),
        "access": access,
    });
    let input = format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    );
    let sig = s.key.sign(&s.rng, input.as_bytes()).expect("sign");
    format!("{input}.{}", b64url(sig.as_ref()))
}

/// The access entry for `repository:NAME:ACTIONS`, limited by the policy.
fn grant(scope: &str, authenticated: bool, policy: &Policy) -> Option<serde_json::Value> {
    let mut parts = scope.splitn(3, ':');
    let (kind, name, actions) = (parts.next()?, parts.next()?, parts.next()?);
    let actions: Vec<&str> = actions
        .split(',')
        .filter(|a| authenticated || (*a == "pull" && policy.public.contains(name)))
        .collect();
    Some(json!({"type": kind, "name": name, "actions": actions}))
}

fn unauthorized(msg: &str) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"errors":[{"code":"UNAUTHORIZED","message":msg}]})),
    )
        .into_response()
}

fn issue(s: &Shared, sub: &str, authenticated: bool, scopes: &[String]) -> Response {
    let access: Vec<_> = scopes
        .iter()
        .filter_map(|sc| grant(sc, authenticated, &s.policy))
        .collect();
    let token = sign(s, sub, access);
    Json(json!({"token": token, "access_token": token, "expires_in": 300, "issued_at": "2026-01-01T00:00:00Z"}))
        .into_response()
}

async fn token_get(
    State(s): State<Arc<Shared>>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    s.requests.fetch_add(1, Ordering::Relaxed);
    let q = q.unwrap_or_default();
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(q.as_bytes())
        .into_owned()
        .collect();
    let scopes: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "scope")
        .map(|(_, v)| v.clone())
        .collect();
    let basic = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok());
    match basic {
        None => issue(&s, "", false, &scopes),
        Some(up) => match up.split_once(':') {
            Some((u, p)) if s.policy.users.get(u).is_some_and(|want| want == p) => {
                issue(&s, u, true, &scopes)
            }
            _ => unauthorized("bad credentials"),
        },
    }
}

async fn token_post(State(s): State<Arc<Shared>>, body: String) -> Response {
    s.requests.fetch_add(1, Ordering::Relaxed);
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    // The OAuth2 form carries a space-separated scope list (distribution `oauth.md`).
    let scopes: Vec<String> = form
        .iter()
        .filter(|(k, _)| k == "scope")
        .flat_map(|(_, v)| v.split_whitespace().map(str::to_string))
        .collect();
    match get("grant_type").as_deref() {
        Some("refresh_token") => {
            match get("refresh_token").and_then(|t| s.policy.refresh_tokens.get(&t).cloned()) {
                Some(user) => issue(&s, &user, true, &scopes),
                None => unauthorized("invalid refresh token"),
            }
        }
        Some("password") => {
            let (u, p) = (
                get("username").unwrap_or_default(),
                get("password").unwrap_or_default(),
            );
            if s.policy.users.get(&u).is_some_and(|want| *want == p) {
                issue(&s, &u, true, &scopes)
            } else {
                unauthorized("bad credentials")
            }
        }
        _ => (StatusCode::BAD_REQUEST, "unsupported grant_type").into_response(),
    }
}
