//! The XNAT client: its options, its typed errors and the client value itself. The work is
//! split by concern: `session` opens, renews and closes the one server session of a run
//! and tells a login failure from a permission answer; `exchange` sends one request with
//! its retries (`crate::http::Policy::xnat`) and reads the answer within its cap; `api`
//! holds the calls xnat-cmd makes (`/data` and `/xapi`) and the shapes of their answers.
//!
//! One client serves every request of a site at once (`apply` runs several commands
//! together): its methods take `&self`, the session id sits behind a lock that is never held
//! across a request, a renewal is one login however many requests found the session expired,
//! and the request counts are atomic.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use url::Url;

use super::credentials::{CredentialSource, Credentials};
use crate::http::{ca_bundle, CaError, Policy};
use crate::secret::Secret;

mod api;
mod exchange;
mod session;

#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Extra PEM CA certificates to trust, besides the system roots.
    pub ca_cert_pem: Option<Vec<u8>>,
    /// Accept any TLS certificate (self-signed test sites).
    pub insecure: bool,
    pub timeout: Option<Duration>,
    /// The base the waits before retries double from (default
    /// [`crate::limits::DEFAULT_BACKOFF_BASE`]; the CLI's `XNAT_CMD_BACKOFF_MS`).
    pub backoff_base: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            ca_cert_pem: None,
            insecure: false,
            timeout: None,
            backoff_base: crate::limits::DEFAULT_BACKOFF_BASE,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum XnatError {
    #[error("invalid XNAT URL `{url}`: {reason}")]
    BadUrl { url: String, reason: String },
    /// A user or password typed into the URL (shown masked).
    #[error("invalid XNAT URL `{url}`: credentials in the URL would leak into logs")]
    CredentialsInUrl { url: String },
    #[error("failed to read the CA certificate")]
    BadCa(#[source] rustls_pki_types::pem::Error),
    #[error("the CA certificate holds no PEM certificate (-----BEGIN CERTIFICATE-----)")]
    NoCa,
    #[error("failed to build the HTTP client")]
    Client(#[source] reqwest::Error),
    #[error("TLS certificate of XNAT at {url} is not trusted")]
    Untrusted {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("cannot reach XNAT at {url}")]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// A request without an answer after XNAT had answered others in this run.
    #[error("the connection to XNAT at {url} was lost during {method} {path}")]
    ConnectionLost {
        url: String,
        method: String,
        path: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("XNAT did not accept the credentials from {source_desc} ({detail})")]
    Authentication { source_desc: String, detail: String },
    #[error("user `{user}` may not {action}: XNAT answered {status}{}", if body.is_empty() { String::new() } else { format!(" `{body}`") })]
    Forbidden {
        user: String,
        action: String,
        status: u16,
        body: String,
    },
    #[error("{method} {url} failed with {status}: {body}")]
    Http {
        method: String,
        url: String,
        status: u16,
        body: String,
    },
    #[error("{method} {url} answered with more than {limit} bytes: is the URL XNAT's?")]
    TooLarge {
        method: String,
        url: String,
        limit: u64,
    },
    #[error("{method} {url}: the answer was cut off (the connection closed before the whole body arrived)")]
    CutOff {
        method: String,
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{method} {url} returned an unexpected body: {reason}")]
    BadBody {
        method: String,
        url: String,
        reason: String,
    },
}

impl XnatError {
    /// A hint for the user, where one helps.
    pub fn hint(&self) -> Option<String> {
        match self {
            XnatError::Forbidden { user, .. } => Some(format!(
                "grant `{user}` the ContainerManager role (Administer → Users → {user} → roles) — Container Service 3.7+ requires it for installing and site-enabling commands"
            )),
            XnatError::Authentication { .. } => Some(
                "check the user and password (or alias token); a browser-style redirect means XNAT did not see valid credentials".into(),
            ),
            XnatError::Untrusted { .. } => Some(
                "pass the site's CA certificate with --ca-cert FILE (PEM), or skip verification with --insecure (test sites only)".into(),
            ),
            XnatError::Unreachable { .. } => Some("check --xnat / XNAT_HOST, including any context path such as /xnat".into()),
            XnatError::CredentialsInUrl { .. } => {
                Some("use XNAT_USER/XNAT_PASS, --password-stdin or ~/.netrc".into())
            }
            XnatError::ConnectionLost { .. } | XnatError::CutOff { .. } => Some(
                "XNAT answered earlier in this run, so the network or a proxy in front of it dropped the connection (after retries); run again: a re-run completes the work without duplicating it".into(),
            ),
            _ => None,
        }
    }
}

impl crate::problem::Hint for XnatError {
    fn hint(&self) -> Option<String> {
        XnatError::hint(self)
    }
}

/// Counts of requests sent, for reports and benchmarks.
#[derive(Debug, Default)]
pub struct Stats {
    pub reads: AtomicUsize,
    pub writes: AtomicUsize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct StatsSnapshot {
    pub reads: usize,
    pub writes: usize,
}

pub struct XnatClient {
    http: reqwest::Client,
    base: Url,
    creds: Credentials,
    /// The server session's id (`JSESSIONID`) once [`XnatClient::login`] opened one: a
    /// credential as good as the password while it lasts.
    session: Mutex<Option<Secret>>,
    /// Held while the session is renewed, so that requests in flight at once that all find it
    /// expired log in once between them ([`XnatClient::renew`]).
    renewal: tokio::sync::Mutex<()>,
    stats: Stats,
    /// XNAT has answered at least once in this run: a connection error after that is a blip
    /// worth retrying, before it most likely a wrong URL (failed at once).
    answered: AtomicBool,
    /// XNAT's retry rules ([`Policy::xnat`]) with the options' backoff base.
    policy: Policy,
}

impl std::fmt::Debug for XnatClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XnatClient")
            .field("base", &redact_url(&self.base))
            .field("user", &self.creds.user)
            .finish()
    }
}

/// The URL without userinfo or query: safe for logs and errors.
pub fn redact_url(u: &Url) -> String {
    let mut u = u.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.set_query(None);
    u.to_string()
}

/// Parse the XNAT base URL; keep its path (context path) and make it a directory.
pub fn parse_base(text: &str) -> Result<Url, XnatError> {
    // Never echo a password that was typed into the URL.
    let shown = match (text.find("://"), text.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***@{}", &text[..s], &text[at + 1..]),
        (None, Some(at)) => format!("***@{}", &text[at + 1..]),
        _ => text.to_string(),
    };
    let bad = |reason: &str| XnatError::BadUrl {
        url: shown.clone(),
        reason: reason.to_string(),
    };
    let with_scheme = if text.contains("://") {
        text.to_string()
    } else {
        format!("https://{text}")
    };
    let mut url = Url::parse(&with_scheme).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("the scheme must be http or https"));
    }
    if url.host_str().is_none() {
        return Err(bad("no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(XnatError::CredentialsInUrl { url: shown });
    }
    url.set_query(None);
    url.set_fragment(None);
    if !url.path().ends_with('/') {
        let p = format!("{}/", url.path());
        url.set_path(&p);
    }
    Ok(url)
}

impl XnatClient {
    pub fn new(base: Url, creds: Credentials, opts: &ClientOptions) -> Result<Self, XnatError> {
        let roots = match &opts.ca_cert_pem {
            Some(pem) => ca_bundle(pem).map_err(|e| match e {
                CaError::Unreadable(source) => XnatError::BadCa(source),
                CaError::Empty => XnatError::NoCa,
                CaError::Client(source) => XnatError::Client(source),
            })?,
            None => Vec::new(),
        };
        let mut b = crate::http::client::builder(
            crate::limits::CONNECT_TIMEOUT,
            Some(opts.timeout.unwrap_or(crate::limits::XNAT_REQUEST_TIMEOUT)),
            &roots,
        );
        if opts.insecure {
            b = b.danger_accept_invalid_certs(true);
        }
        Ok(XnatClient {
            http: b.build().map_err(XnatError::Client)?,
            base,
            creds,
            session: Mutex::new(None),
            renewal: tokio::sync::Mutex::new(()),
            stats: Stats::default(),
            answered: AtomicBool::new(false),
            policy: Policy::xnat().with_backoff(opts.backoff_base),
        })
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    pub fn user(&self) -> &str {
        &self.creds.user
    }

    pub fn credential_source(&self) -> &CredentialSource {
        &self.creds.source
    }

    pub fn stats(&self) -> StatsSnapshot {
        StatsSnapshot {
            reads: self.stats.reads.load(Ordering::Relaxed),
            writes: self.stats.writes.load(Ordering::Relaxed),
        }
    }

    fn url(&self, path: &str) -> Url {
        // `path` is relative and built from our own constants and escaped segments.
        self.base.join(path).unwrap_or_else(|_| self.base.clone())
    }
}

/// A path segment, percent-encoded (project ids and user names are user input).
fn seg(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

fn path_of(u: &Url) -> String {
    u.path().to_string()
}

/// Server text on one line, capped, for error messages; an HTML error page (Tomcat's, a
/// proxy's) is shown as its text, without the markup.
fn one_line(s: &str) -> String {
    // The one summariser: one line, tags dropped, capped, escaped, credentials redacted.
    let text = crate::summary::summarise(s);
    if text.is_empty() {
        "(empty body)".to_string()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_keeps_context_path() {
        let cases = [
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080/"),
            ("https://host/xnat", "https://host/xnat/"),
            ("https://host/xnat/", "https://host/xnat/"),
            ("host.example.org/xnat", "https://host.example.org/xnat/"),
        ];
        for (input, want) in cases {
            assert_eq!(parse_base(input).unwrap().as_str(), want);
            assert_eq!(
                parse_base(input)
                    .unwrap()
                    .join("xapi/commands")
                    .unwrap()
                    .as_str(),
                format!("{want}xapi/commands")
            );
        }
        assert!(parse_base("ftp://host").is_err());
        let e = parse_base("https://u:p@host").unwrap_err().to_string();
        assert!(e.contains("credentials in the URL"), "{e}");
        assert!(!e.contains(":p@"), "{e}");
    }

    #[test]
    fn segments_are_escaped() {
        assert_eq!(seg("a b/c"), "a%20b%2Fc");
        let cases = [
            ("a\n\tb", "a b"),
            ("", "(empty body)"),
            (
                "<html><body><h1>HTTP Status 500</h1><pre>java.lang.NPE</pre></body></html>",
                "HTTP Status 500 java.lang.NPE",
            ),
            ("5 < 6 > 4", "5 < 6 > 4"),
        ];
        for (body, shown) in cases {
            assert_eq!(one_line(body), shown, "{body}");
        }
    }
}
