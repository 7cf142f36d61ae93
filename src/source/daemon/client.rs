//! The Engine API connection: one HTTP/1.1 connection over a unix socket, TCP or TLS; the
//! daemon found among the candidates; the API version negotiated once; bodies read with a cap.
//!
//! Written on hyper's connection-level client rather than bollard: we need two endpoints and
//! one field of their JSON, and bollard's generated models have failed to deserialize Podman's
//! compat payloads (bollard#238, #701, #715). hyper's `conn::http1` lets one code path serve
//! unix, TCP and TLS streams, and keeps the connection open across the few requests of a read.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, UnixStream};
use tokio_rustls::rustls;

use super::endpoint::{self, Address, Candidate, TlsFiles};
use super::{Attempt, DaemonError, DaemonOptions, Failure};

/// The newest Engine API version this client is written for. The two endpoints it uses
/// (`/images/{name}/json`, `/images/create`) are unchanged since 1.24, so any version the
/// daemon supports will do; this only caps what we ask for.
pub const API_VERSION: &str = "1.47";

use crate::limits::{CONNECT_TIMEOUT, DAEMON_REQUEST_DEADLINE};
// Limited wants a usize; the cap is 64 KiB, so the conversion is exact.
const MAX_VERSION_BYTES: usize = crate::limits::MAX_DAEMON_VERSION_BYTES as usize;

/// A connected daemon: the endpoint that answered and the API version agreed with it.
pub struct Daemon {
    sender: SendRequest<Full<Bytes>>,
    candidate: Candidate,
    api_version: String,
    /// `/_ping` gives the daemon's newest version but not its oldest: a 400 is answered
    /// once by asking `/version` for both and retrying.
    renegotiated: bool,
}

impl std::fmt::Debug for Daemon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Daemon")
            .field("endpoint", &self.candidate.address.to_string())
            .field("api_version", &self.api_version)
            .finish()
    }
}

impl Daemon {
    /// Find the daemon (see [`endpoint`]) and negotiate the API version with it.
    pub async fn connect(opts: &DaemonOptions) -> Result<Daemon, DaemonError> {
        let (pinned, candidates) = opts.with_env(|env| {
            let pinned = env("DOCKER_API_VERSION").filter(|v| !v.is_empty());
            endpoint::candidates(opts.host.as_deref(), env).map(|c| (pinned, c))
        })?;
        let mut tried = Vec::new();
        for candidate in candidates {
            let attempt = |failure| Attempt {
                endpoint: candidate.address.to_string(),
                origin: candidate.origin.clone(),
                failure,
            };
            // Whatever listens may accept and then say nothing (a socket of another program):
            // the connect and the version handshake together have a deadline.
            let handshake = async {
                let mut sender = match open(&candidate).await? {
                    Ok(s) => s,
                    Err(failure) => return Ok(Err(failure)),
                };
                // `/_ping` is what the Go client negotiates with; `/version` is the fallback
                // because Podman answers it in ~1 s (it collects host details), `/_ping` in 1 ms.
                let negotiated = match server_ping(&mut sender, &candidate).await {
                    Ok(Some(theirs)) => Ok(negotiate(API_VERSION, Some(&theirs), None)),
                    Ok(None) => server_versions(&mut sender, &candidate)
                        .await
                        .map(|(max, min)| negotiate(API_VERSION, max.as_deref(), min.as_deref())),
                    Err(failure) => Err(failure),
                };
                Ok::<_, DaemonError>(negotiated.map(|n| (sender, n)))
            };
            let negotiated = match tokio::time::timeout(DAEMON_REQUEST_DEADLINE, handshake).await {
                Ok(r) => r?,
                Err(_) => Err(Failure::TimedOut),
            };
            match negotiated {
                Ok((sender, negotiated)) => {
                    let api_version = pinned.clone().unwrap_or(negotiated);
                    tracing::debug!(endpoint = %candidate.address, origin = %candidate.origin, %api_version, "daemon connected");
                    return Ok(Daemon {
                        sender,
                        candidate,
                        api_version,
                        // A pinned version is the user's choice: never change it.
                        renegotiated: pinned.is_some(),
                    });
                }
                Err(failure) => tried.push(attempt(failure)),
            }
        }
        Err(DaemonError::NoDaemon {
            tried: tried.into(),
        })
    }

    /// The API version used in every request path (`/v{version}/…`).
    pub fn api_version(&self) -> &str {
        &self.api_version
    }

    /// The endpoint that answered, e.g. `unix:///run/podman/podman.sock`.
    pub fn endpoint(&self) -> String {
        self.candidate.address.to_string()
    }

    /// Send `method /v{N}{path}`; the connection is reopened if the daemon closed it. A 400
    /// (how daemons refuse an API version) makes us ask `/version` for the supported range
    /// once and, when that changes the version, send again.
    pub(crate) async fn send(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Result<Response<Body>, DaemonError> {
        let resp = self.send_once(method.clone(), path, headers).await?;
        if resp.status() != StatusCode::BAD_REQUEST || self.renegotiated {
            return Ok(resp);
        }
        self.renegotiated = true;
        // Read the refusal so the connection can carry the next request.
        let refusal = self.read_body(path, resp, MAX_VERSION_BYTES as u64).await?;
        let versions = server_versions(&mut self.sender, &self.candidate).await;
        if let Ok((max, min)) = versions {
            let again = negotiate(API_VERSION, max.as_deref(), min.as_deref());
            if again != self.api_version {
                tracing::debug!(from = %self.api_version, to = %again, "daemon refused the API version; renegotiated");
                self.api_version = again;
                return self.send_once(method, path, headers).await;
            }
        }
        let mut replay = Response::new(Full::new(refusal).map_err(|never| match never {}).boxed());
        *replay.status_mut() = StatusCode::BAD_REQUEST;
        Ok(replay)
    }

    async fn send_once(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Result<Response<Body>, DaemonError> {
        let path = format!("/v{}{path}", self.api_version);
        if self.sender.is_closed() || self.sender.ready().await.is_err() {
            self.sender =
                open(&self.candidate)
                    .await?
                    .map_err(|failure| DaemonError::NoDaemon {
                        tried: vec![Attempt {
                            endpoint: self.candidate.address.to_string(),
                            origin: self.candidate.origin.clone(),
                            failure,
                        }]
                        .into(),
                    })?;
        }
        let req = request(&self.candidate, method.clone(), &path, headers);
        let sent = tokio::time::timeout(DAEMON_REQUEST_DEADLINE, self.sender.send_request(req));
        match sent.await {
            Err(_) => Err(self.stalled(&path)),
            Ok(Ok(resp)) => Ok(resp.map(|b| b.boxed())),
            Ok(Err(source)) => Err(DaemonError::Http {
                method: method.to_string(),
                path,
                endpoint: self.candidate.address.to_string(),
                source,
            }),
        }
    }

    /// A request or body that passed its deadline.
    pub(crate) fn stalled(&self, path: &str) -> DaemonError {
        DaemonError::Stalled {
            path: path.to_string(),
            endpoint: self.candidate.address.to_string(),
            seconds: DAEMON_REQUEST_DEADLINE.as_secs(),
        }
    }

    /// A whole response body, at most `limit` bytes, within [`DAEMON_REQUEST_DEADLINE`].
    pub(crate) async fn read_body(
        &self,
        path: &str,
        resp: Response<Body>,
        limit: u64,
    ) -> Result<Bytes, DaemonError> {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let body = Limited::new(resp.into_body(), limit).collect();
        let Ok(body) = tokio::time::timeout(DAEMON_REQUEST_DEADLINE, body).await else {
            return Err(self.stalled(path));
        };
        match body {
            Ok(b) => Ok(b.to_bytes()),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(DaemonError::TooLarge {
                path: path.to_string(),
                limit: limit as u64,
            }),
            Err(e) => Err(DaemonError::Body {
                path: path.to_string(),
                reason: e.to_string(),
            }),
        }
    }
}

fn request(
    candidate: &Candidate,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
) -> Request<Full<Bytes>> {
    // A unix socket has no host; Go's server still wants a Host header, as curl sends.
    let host = match &candidate.address {
        Address::Unix(_) => "docker".to_string(),
        Address::Tcp { host, port } if host.contains(':') => format!("[{host}]:{port}"),
        Address::Tcp { host, port } => format!("{host}:{port}"),
    };
    let mut b = Request::builder()
        .method(method)
        .uri(path)
        .header(hyper::header::HOST, host)
        .header(hyper::header::USER_AGENT, crate::http::USER_AGENT);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    // Only the path is input-derived, and it is percent-encoded by the caller.
    b.body(Full::new(Bytes::new()))
        .unwrap_or_else(|e| unreachable!("request for {path}: {e}"))
}

/// Connect and hand-shake HTTP/1.1. The outer error is a configuration problem (unreadable
/// TLS files) that no other candidate can fix; the inner one is why this candidate failed.
async fn open(c: &Candidate) -> Result<Result<SendRequest<Full<Bytes>>, Failure>, DaemonError> {
    let tls = match &c.tls {
        Some(files) => Some(tls_config(files)?),
        None => None,
    };
    let connected = match &c.address {
        Address::Unix(path) => {
            if !path.exists() {
                return Ok(Err(Failure::Missing));
            }
            match UnixStream::connect(path).await {
                Ok(s) => handshake(s).await,
                Err(e) => Err(Failure::from(e)),
            }
        }
        Address::Tcp { host, port } => {
            let stream = match tokio::time::timeout(
                CONNECT_TIMEOUT,
                TcpStream::connect((host.as_str(), *port)),
            )
            .await
            {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => return Ok(Err(Failure::from(e))),
                Err(_) => return Ok(Err(Failure::TimedOut)),
            };
            match tls {
                None => handshake(stream).await,
                Some(config) => {
                    let name = ServerName::try_from(host.clone()).map_err(|_| {
                        DaemonError::UnsupportedHost {
                            value: c.address.to_string(),
                            origin: c.origin.clone(),
                            why: "not a valid TLS server name".into(),
                        }
                    })?;
                    match tokio_rustls::TlsConnector::from(config)
                        .connect(name, stream)
                        .await
                    {
                        Ok(s) => handshake(s).await,
                        Err(e) => Err(Failure::Tls(e.to_string())),
                    }
                }
            }
        }
    };
    Ok(connected)
}

async fn handshake<S>(stream: S) -> Result<SendRequest<Full<Bytes>>, Failure>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sender, conn) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| Failure::NotEngineApi(e.to_string()))?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!("daemon connection ended: {e}");
        }
    });
    Ok(sender)
}

/// `ca.pem` (else the system roots), and `cert.pem` + `key.pem` when present.
fn tls_config(files: &TlsFiles) -> Result<Arc<rustls::ClientConfig>, DaemonError> {
    let tls_err = |path: &Path, reason: String| DaemonError::Tls {
        path: path.to_path_buf(),
        reason,
    };
    let mut roots = rustls::RootCertStore::empty();
    let ca = files.dir.join("ca.pem");
    if ca.exists() {
        let pem = crate::limits::read_file(&ca, crate::limits::MAX_CONFIG_FILE_BYTES)
            .map_err(|e| tls_err(&ca, e.to_string()))?;
        // The one reader of CA bundles; an empty one is refused here too, since trusting
        // nothing would only fail later with a misleading "not trusted".
        let certs = crate::http::pem_certificates(&pem).map_err(|e| match e {
            crate::http::CaError::Unreadable(source) => tls_err(&ca, source.to_string()),
            other => tls_err(&ca, other.to_string()),
        })?;
        for cert in certs {
            roots.add(cert).map_err(|e| tls_err(&ca, e.to_string()))?;
        }
    } else {
        for cert in rustls_native_certs::load_native_certs().certs {
            // A bad system certificate only loses that root, as in every TLS client.
            let _ = roots.add(cert);
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_err(&files.dir, e.to_string()))?
        .with_root_certificates(roots);
    let (cert, key) = (files.dir.join("cert.pem"), files.dir.join("key.pem"));
    let config = if cert.exists() && key.exists() {
        let chain = CertificateDer::pem_file_iter(&cert)
            .map_err(|e| tls_err(&cert, e.to_string()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| tls_err(&cert, e.to_string()))?;
        let private =
            PrivateKeyDer::from_pem_file(&key).map_err(|e| tls_err(&key, e.to_string()))?;
        builder
            .with_client_auth_cert(chain, private)
            .map_err(|e| tls_err(&cert, e.to_string()))?
    } else {
        builder.with_no_client_auth()
    };
    Ok(Arc::new(config))
}

/// The body type of every response: a streamed daemon body, or a replayed one.
pub(crate) type Body = BoxBody<Bytes, hyper::Error>;

/// `GET /_ping` (unversioned): the daemon's newest API version from the `API-Version` header,
/// if it sends one. A failure here means whatever listens is not an Engine API.
async fn server_ping(
    sender: &mut SendRequest<Full<Bytes>>,
    candidate: &Candidate,
) -> Result<Option<String>, Failure> {
    let not_api = |why: String| Failure::NotEngineApi(why);
    let resp = sender
        .send_request(request(candidate, Method::GET, "/_ping", &[]))
        .await
        .map_err(|e| not_api(format!("GET /_ping: {e}")))?;
    let status = resp.status();
    let version = resp
        .headers()
        .get("api-version")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    // Drain the tiny body (`OK`) so the connection carries the next request.
    Limited::new(resp.into_body(), MAX_VERSION_BYTES)
        .collect()
        .await
        .map_err(|e| not_api(format!("GET /_ping: {e}")))?;
    if status != StatusCode::OK {
        return Err(not_api(format!("GET /_ping answered {status}")));
    }
    Ok(version)
}

/// `GET /version` (unversioned): the daemon's newest and
/// oldest API versions. A failure here means whatever listens is not an Engine API.
async fn server_versions(
    sender: &mut SendRequest<Full<Bytes>>,
    candidate: &Candidate,
) -> Result<(Option<String>, Option<String>), Failure> {
    let not_api = |why: String| Failure::NotEngineApi(why);
    let resp = sender
        .send_request(request(candidate, Method::GET, "/version", &[]))
        .await
        .map_err(|e| not_api(format!("GET /version: {e}")))?;
    let status = resp.status();
    let body = Limited::new(resp.into_body(), MAX_VERSION_BYTES)
        .collect()
        .await
        .map_err(|e| not_api(format!("GET /version: {e}")))?
        .to_bytes();
    if status != StatusCode::OK {
        return Err(not_api(format!("GET /version answered {status}")));
    }
    let v: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| not_api(format!("GET /version is not JSON: {e}")))?;
    let field = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
    Ok((field("ApiVersion"), field("MinAPIVersion")))
}

/// min(ours, theirs), but never below their minimum: daemons reject both too-new and
/// too-old versions, and the endpoints we use are the same in all of them.
pub(crate) fn negotiate(ours: &str, theirs: Option<&str>, their_min: Option<&str>) -> String {
    let parse = |v: &str| -> Option<(u32, u32)> {
        let (a, b) = v.split_once('.')?;
        Some((a.parse().ok()?, b.parse().ok()?))
    };
    let mut chosen = ours;
    if let Some(t) = theirs.filter(|t| parse(t).is_some()) {
        if parse(t) < parse(ours) {
            chosen = t;
        }
    }
    if let Some(m) = their_min.filter(|m| parse(m).is_some()) {
        if parse(chosen) < parse(m) {
            chosen = m;
        }
    }
    chosen.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_table() {
        let cases = [
            (Some("1.41"), Some("1.24"), "1.41"), // podman 4.3
            (Some("1.56"), Some("1.40"), "1.47"), // newer dockerd: ours
            (Some("1.56"), Some("1.50"), "1.50"), // a daemon whose minimum is above ours
            (None, None, "1.47"),
            (Some("garbage"), Some("1.24"), "1.47"),
            (Some("1.9"), None, "1.9"), // numeric, not lexical: 1.9 < 1.47
        ];
        for (theirs, min, want) in cases {
            assert_eq!(negotiate("1.47", theirs, min), want, "{theirs:?} {min:?}");
        }
    }

    /// `ca.pem` is read by the one CA reader: a file without a certificate is refused at once
    /// (it made an empty trust store, and every daemon "untrusted"), a real one is used.
    #[test]
    fn a_ca_pem_without_certificates_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let files = TlsFiles {
            dir: dir.path().to_path_buf(),
        };
        std::fs::write(dir.path().join("ca.pem"), "not a certificate\n").unwrap();
        match tls_config(&files) {
            Err(DaemonError::Tls { path, reason }) => {
                assert_eq!(path, dir.path().join("ca.pem"));
                assert!(reason.contains("holds no PEM certificate"), "{reason}");
            }
            other => panic!("{:?}", other.map(|_| ())),
        }
        let (ca, _, _) = xnat_cmd_testkit::pki::test_pki();
        std::fs::write(dir.path().join("ca.pem"), ca).unwrap();
        assert!(tls_config(&files).is_ok());
    }
}
