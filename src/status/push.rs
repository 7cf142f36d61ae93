//! Pushing `status`'s series to a Prometheus Pushgateway, for a CronJob whose pod has no
//! place a scraper could read a file from.
//!
//! One group per run, grouping key `job="xnat-cmd"` only, sent with `PUT`: the Pushgateway
//! replaces the whole group, so a site or image that left the fleet file loses its series on
//! the next run instead of lingering with its last values. Per-site groups would leave a site
//! removed from the file (never pushed again) in the gateway forever, and the run-wide series
//! (`xnat_cmd_last_run_success`) belong to no site.
//!
//! TLS as everywhere here: the system roots (`SSL_CERT_FILE`/`SSL_CERT_DIR` honoured by
//! rustls-native-certs) plus an optional PEM CA file. Basic auth comes from a user and a
//! password file, never from the URL: a URL with userinfo is refused, and the URL is shown
//! without it.

use std::time::Duration;

use url::Url;

use crate::http::{ca_bundle, CaError, Decision, Outcome, Policy, Repeat};
use crate::limits::{
    MAX_PUSHGATEWAY_ERROR_BYTES as MAX_ERROR_BODY, PUSHGATEWAY_TIMEOUT as PUSH_TIMEOUT,
};
use crate::secret::Secret;
use crate::tls::is_cert_error;

/// The `job` label of the group every run replaces.
pub const JOB: &str = "xnat-cmd";

/// Why the series could not be pushed.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("invalid Pushgateway URL `{url}`: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("the CA certificate `{path}` for the Pushgateway holds no PEM certificate")]
    NoCa {
        path: String,
        #[source]
        source: Option<rustls_pki_types::pem::Error>,
    },
    #[error("failed to build the HTTP client for the Pushgateway")]
    Client(#[source] reqwest::Error),
    #[error("TLS certificate of the Pushgateway at {url} is not trusted")]
    Untrusted {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("cannot reach the Pushgateway at {url}")]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("PUT {url} failed with {status}{}", if body.is_empty() { String::new() } else { format!(": {body}") })]
    Http {
        url: String,
        status: u16,
        body: String,
    },
}

impl crate::problem::Hint for PushError {
    fn hint(&self) -> Option<String> {
        match self {
            PushError::BadUrl { .. } => Some(
                "pass the Pushgateway's base URL, e.g. --pushgateway http://pushgateway.monitoring.svc:9091, and its credentials with --pushgateway-user and --pushgateway-password-file".into(),
            ),
            PushError::Untrusted { .. } => Some(
                "pass the Pushgateway's CA certificate with --pushgateway-ca FILE (PEM), or add it to SSL_CERT_FILE".into(),
            ),
            PushError::Unreachable { .. } => {
                Some("check --pushgateway (scheme, host, port and any route prefix)".into())
            }
            PushError::Http { status: 401 | 403, .. } => Some(
                "the Pushgateway wants credentials: pass --pushgateway-user and --pushgateway-password-file".into(),
            ),
            _ => None,
        }
    }
}

/// How to reach the gateway besides its URL.
#[derive(Debug, Clone)]
pub struct PushOptions {
    /// Extra PEM CA certificates to trust, with the file they came from (for messages).
    pub ca: Option<(String, Vec<u8>)>,
    /// Basic auth.
    pub basic: Option<(String, Secret)>,
    /// The base the waits before retries double from (default
    /// [`crate::limits::DEFAULT_BACKOFF_BASE`]; the CLI's `XNAT_CMD_BACKOFF_MS`).
    pub backoff_base: Duration,
}

impl Default for PushOptions {
    fn default() -> Self {
        PushOptions {
            ca: None,
            basic: None,
            backoff_base: crate::limits::DEFAULT_BACKOFF_BASE,
        }
    }
}

/// A Pushgateway and the group this run replaces.
pub struct Pushgateway {
    http: reqwest::Client,
    /// `BASE/metrics/job/xnat-cmd`.
    group: Url,
    basic: Option<(String, Secret)>,
    /// The Pushgateway's retry rules ([`Policy::pushgateway`]) with the options' backoff base.
    policy: Policy,
}

impl std::fmt::Debug for Pushgateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pushgateway")
            .field("group", &self.group.as_str())
            .field("basic", &self.basic)
            .finish()
    }
}

/// The group URL for the gateway at `text` (its base URL, with any route prefix). Userinfo,
/// a query or a fragment are refused, and neither userinfo nor a query is echoed.
pub fn group_url(text: &str) -> Result<Url, PushError> {
    let shown = mask(text);
    let bad = |reason: &str| PushError::BadUrl {
        url: shown.clone(),
        reason: reason.to_string(),
    };
    let url = Url::parse(text).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("the scheme must be http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            "credentials in the URL would show in the process list and in logs",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("a query or fragment has no meaning here"));
    }
    if url.path().split('/').any(|s| s == "metrics") {
        return Err(bad(&format!(
            "give the gateway's base URL: xnat-cmd adds /metrics/job/{JOB} itself"
        )));
    }
    let mut group = url;
    let path = format!("{}/metrics/job/{JOB}", group.path().trim_end_matches('/'));
    group.set_path(&path);
    Ok(group)
}

/// The URL text fit for a message: userinfo as `***@`, a query as `?***` (either may hold a
/// token).
fn mask(text: &str) -> String {
    let (text, query) = match text.split_once('?') {
        Some((t, _)) => (t, "?***"),
        None => (text, ""),
    };
    let start = text.find("://").map_or(0, |s| s + 3);
    let authority_end = text[start..]
        .find(['/', '#'])
        .map_or(text.len(), |e| start + e);
    match text[start..authority_end].rfind('@') {
        Some(at) => format!("{}***@{}{query}", &text[..start], &text[start + at + 1..]),
        None => format!("{text}{query}"),
    }
}

impl Pushgateway {
    pub fn new(url: &str, opts: PushOptions) -> Result<Self, PushError> {
        let group = group_url(url)?;
        let roots = match &opts.ca {
            Some((path, pem)) => ca_bundle(pem).map_err(|e| match e {
                CaError::Unreadable(source) => PushError::NoCa {
                    path: path.clone(),
                    source: Some(source),
                },
                CaError::Empty => PushError::NoCa {
                    path: path.clone(),
                    source: None,
                },
                CaError::Client(source) => PushError::Client(source),
            })?,
            None => Vec::new(),
        };
        let b = crate::http::client::builder(
            crate::limits::CONNECT_TIMEOUT,
            Some(PUSH_TIMEOUT),
            &roots,
        );
        Ok(Pushgateway {
            http: b.build().map_err(PushError::Client)?,
            group,
            basic: opts.basic,
            policy: Policy::pushgateway().with_backoff(opts.backoff_base),
        })
    }

    /// The group's URL (no credentials in it), for messages.
    pub fn url(&self) -> &str {
        self.group.as_str()
    }

    /// Replace the group with `text` (the exposition format 0.0.4). A `PUT` is idempotent, so
    /// failures are retried as [`Policy::pushgateway`] decides.
    pub async fn push(&self, text: &str) -> Result<(), PushError> {
        let policy = self.policy;
        let mut retries = 0;
        loop {
            let mut req = self
                .http
                .put(self.group.clone())
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "text/plain; version=0.0.4; charset=utf-8",
                )
                .body(text.to_string());
            if let Some((user, password)) = &self.basic {
                req = req.basic_auth(user, Some(password.expose()));
            }
            let (outcome, err) = match req.send().await {
                Ok(resp) if resp.status().is_success() => return Ok(()),
                Ok(resp) => {
                    let outcome = Outcome::answer(resp.status(), resp.headers());
                    let e = PushError::Http {
                        url: self.url().to_string(),
                        status: resp.status().as_u16(),
                        body: error_body(resp).await,
                    };
                    (outcome, e)
                }
                Err(e) if is_cert_error(&e) => {
                    return Err(PushError::Untrusted {
                        url: self.url().to_string(),
                        source: e,
                    })
                }
                Err(e) => (
                    Outcome::of_error(&e),
                    PushError::Unreachable {
                        url: self.url().to_string(),
                        source: e,
                    },
                ),
            };
            let wait = match policy.decide(outcome, retries, Repeat::Safe, true) {
                Decision::Retry(wait) | Decision::LookThenRetry(wait) => wait,
                Decision::GiveUp => return Err(err),
            };
            retries += 1;
            tracing::debug!(attempt = retries, error = %err, "pushing again");
            tokio::time::sleep(wait).await;
        }
    }
}

/// An error body through the one summariser (one line, capped, escaped, credentials
/// redacted), like every other server's; read in chunks, so a huge body is not held.
async fn error_body(resp: reqwest::Response) -> String {
    crate::summary::summarise_bytes(&crate::http::read_prefix(resp, MAX_ERROR_BODY).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A gateway (or a proxy in front of it) that echoes the request's `Authorization` in a
    /// multi-line page: the message gets one escaped line without the credentials.
    #[tokio::test]
    async fn an_error_body_is_summarised_and_redacted() {
        let page = "<html><body>\n<h1>Forbidden</h1>\nAuthorization: Basic dXNlcjpTM2NyZXQ=\n\x1b[2J</body></html>";
        let resp = reqwest::Response::from(hyper::Response::new(page.to_string()));
        let shown = error_body(resp).await;
        assert!(!shown.contains("dXNlcjpTM2NyZXQ="), "{shown}");
        assert!(!shown.contains('\n') && !shown.contains('\x1b'), "{shown}");
        assert!(shown.contains("Forbidden"), "{shown}");
    }

    #[test]
    fn group_urls_keep_the_route_prefix_and_refuse_credentials() {
        let ok = [
            ("http://pg:9091", "http://pg:9091/metrics/job/xnat-cmd"),
            (
                "https://pg.example.org/push/",
                "https://pg.example.org/push/metrics/job/xnat-cmd",
            ),
        ];
        for (text, want) in ok {
            assert_eq!(group_url(text).unwrap().as_str(), want, "{text}");
        }
        let bad = [
            (
                "http://u:s3cret@pg:9091",
                "invalid Pushgateway URL `http://***@pg:9091`: credentials in the URL would show in the process list and in logs",
            ),
            (
                "http://tok@pg:9091/x",
                "invalid Pushgateway URL `http://***@pg:9091/x`: credentials in the URL would show in the process list and in logs",
            ),
            (
                "pg:9091",
                "invalid Pushgateway URL `pg:9091`: the scheme must be http or https",
            ),
            (
                "http://pg:9091/metrics/job/x",
                "invalid Pushgateway URL `http://pg:9091/metrics/job/x`: give the gateway's base URL: xnat-cmd adds /metrics/job/xnat-cmd itself",
            ),
            (
                "http://pg:9091/?token=abc",
                "invalid Pushgateway URL `http://pg:9091/?***`: a query or fragment has no meaning here",
            ),
        ];
        for (text, want) in bad {
            assert_eq!(group_url(text).unwrap_err().to_string(), want, "{text}");
        }
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused() {
        let e = Pushgateway::new(
            "http://pg:9091",
            PushOptions {
                ca: Some(("ca.pem".into(), b"not pem".to_vec())),
                ..PushOptions::default()
            },
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "the CA certificate `ca.pem` for the Pushgateway holds no PEM certificate"
        );
    }
}
