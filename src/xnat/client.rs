//! The XNAT client: one authenticated session per run, the `/xapi` calls xnat-cmd makes, and
//! the translation of XNAT's answers (plain-text errors, login redirects, HTML pages) into
//! typed errors that say which credential source was used.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use reqwest::header::{HeaderMap, CONTENT_TYPE, COOKIE, LOCATION};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use url::Url;

use super::credentials::{CredentialSource, Credentials};
use crate::retry;
use crate::tls::is_cert_error;

mod exchange;
use exchange::Auth;

/// A non-browser User-Agent: XNAT answers browser agents with a 302 to its login page.
pub const USER_AGENT: &str = concat!("xnat-cmd/", env!("CARGO_PKG_VERSION"));

#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// Extra PEM CA certificates to trust, besides the system roots.
    pub ca_cert_pem: Option<Vec<u8>>,
    /// Accept any TLS certificate (self-signed test sites).
    pub insecure: bool,
    pub timeout: Option<Duration>,
}

#[derive(Debug, thiserror::Error)]
pub enum XnatError {
    #[error("invalid XNAT URL `{url}`: {reason}")]
    BadUrl { url: String, reason: String },
    /// A user or password typed into the URL (shown masked).
    #[error("invalid XNAT URL `{url}`: credentials in the URL would leak into logs")]
    CredentialsInUrl { url: String },
    #[error("failed to read the CA certificate")]
    BadCa(#[source] reqwest::Error),
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
    session: Mutex<Option<String>>,
    stats: Stats,
    /// XNAT has answered at least once in this run: a connection error after that is a blip
    /// worth retrying, before it most likely a wrong URL (failed at once).
    answered: AtomicBool,
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
        let mut b = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(crate::limits::CONNECT_TIMEOUT)
            .timeout(opts.timeout.unwrap_or(crate::limits::XNAT_REQUEST_TIMEOUT));
        if let Some(pem) = &opts.ca_cert_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(XnatError::BadCa)?;
            // Non-PEM text parses as an empty bundle; trusting nothing extra would only fail
            // later with a misleading "not trusted".
            if certs.is_empty() {
                return Err(XnatError::NoCa);
            }
            for cert in certs {
                b = b.add_root_certificate(cert);
            }
        }
        if opts.insecure {
            b = b.danger_accept_invalid_certs(true);
        }
        Ok(XnatClient {
            http: b.build().map_err(XnatError::Client)?,
            base,
            creds,
            session: Mutex::new(None),
            stats: Stats::default(),
            answered: AtomicBool::new(false),
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

    /// A request that got no answer: an untrusted certificate, XNAT not reachable, or (once
    /// XNAT has answered in this run) a connection lost on the way.
    fn send_error(&self, method: &Method, target: &Url, source: reqwest::Error) -> XnatError {
        let url = redact_url(&self.base);
        if is_cert_error(&source) {
            XnatError::Untrusted { url, source }
        } else if self.answered.load(Ordering::Relaxed) {
            XnatError::ConnectionLost {
                url,
                method: method.to_string(),
                path: path_of(target),
                source,
            }
        } else {
            XnatError::Unreachable { url, source }
        }
    }

    fn auth_error(&self, detail: impl Into<String>) -> XnatError {
        XnatError::Authentication {
            source_desc: self.creds.source.to_string(),
            detail: detail.into(),
        }
    }

    /// Open the one server session of this run: `POST /data/JSESSION` with Basic auth
    /// (retried like a read: another session is harmless, the last one is used).
    pub async fn login(&self) -> Result<(), XnatError> {
        let (_, body) = self
            .exchange(&Method::POST, "data/JSESSION", &[], None, Auth::Basic, true)
            .await?;
        let id = body.trim();
        let valid = !id.is_empty()
            && id.len() < 200
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
        if !valid {
            return Err(self.auth_error("POST /data/JSESSION did not return a session id"));
        }
        if let Ok(mut s) = self.session.lock() {
            *s = Some(id.to_string());
        }
        Ok(())
    }

    /// End the session (`DELETE /data/JSESSION`). Errors are ignored: the work is done.
    pub async fn logout(&self) {
        let cookie = self.session.lock().ok().and_then(|mut s| s.take());
        let Some(id) = cookie else {
            return;
        };
        // Retried on a reset, 5xx or 429: a session left open counts against XNAT's per-user
        // session cap until it times out (the fault runs left 46 open in 210 runs without this).
        for tries in 0..=retry::MAX_RETRIES {
            let sent = self
                .http
                .delete(self.url("data/JSESSION"))
                .header(COOKIE, format!("JSESSIONID={id}"))
                .send()
                .await;
            let again = match sent {
                Ok(resp) => {
                    let status = resp.status();
                    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
                }
                Err(e) => !e.is_timeout(),
            };
            if !again || tries == retry::MAX_RETRIES {
                return;
            }
            tokio::time::sleep(retry::backoff(tries + 1)).await;
        }
    }

    fn session_cookie(&self) -> Option<String> {
        self.session.lock().ok().and_then(|s| s.clone())
    }

    /// Classify authentication failures: 3xx (login redirect), 401, HTML where data was due.
    fn check_auth(
        &self,
        method: &Method,
        url: &Url,
        status: StatusCode,
        headers: &HeaderMap,
        body: &str,
    ) -> Result<(), XnatError> {
        if status.is_redirection() {
            let to = headers
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("?");
            return Err(self.auth_error(format!(
                "{method} {} was redirected to {to}",
                redact_url(url)
            )));
        }
        if status == StatusCode::UNAUTHORIZED {
            let text = body.trim();
            // The controllers' own 401s are permission answers, not login failures.
            if text.starts_with("There was an error in the request") {
                return Err(XnatError::Forbidden {
                    user: self.creds.user.clone(),
                    action: format!("{method} {}", path_of(url)),
                    status: 401,
                    body: text.to_string(),
                });
            }
            return Err(self.auth_error(format!("{method} {} answered 401", redact_url(url))));
        }
        let html = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("text/html"));
        if status.is_success() && html {
            return Err(self.auth_error(format!(
                "{method} {} returned an HTML page (a login or password-change page?)",
                redact_url(url)
            )));
        }
        Ok(())
    }

    fn http_error(&self, method: &Method, url: &Url, status: StatusCode, body: &str) -> XnatError {
        if status == StatusCode::FORBIDDEN {
            return XnatError::Forbidden {
                user: self.creds.user.clone(),
                action: format!("{method} {}", path_of(url)),
                status: 403,
                body: crate::summary::summarise(body),
            };
        }
        XnatError::Http {
            method: method.to_string(),
            url: redact_url(url),
            status: status.as_u16(),
            // XNAT error bodies are plain text, whatever the content type says.
            body: one_line(body),
        }
    }

    /// Send a request on the session; re-open the session once if it expired. Everything but
    /// a POST is retried (see [`XnatClient::exchange`]); POSTs that are safe to repeat say so
    /// with [`XnatClient::send_retrying`], and a create looks before it creates again.
    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<(StatusCode, String), XnatError> {
        let retry = method != Method::POST;
        self.exchange(&method, path, query, body, Auth::Session, retry)
            .await
    }

    /// [`XnatClient::send`] for a POST whose repetition changes nothing (an update in place).
    async fn send_retrying(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<(StatusCode, String), XnatError> {
        self.exchange(&method, path, query, body, Auth::Session, true)
            .await
    }

    async fn get_json(&self, path: &str, query: &[(&str, &str)]) -> Result<Value, XnatError> {
        let (_, text) = self.send(Method::GET, path, query, None).await?;
        serde_json::from_str(&text).map_err(|e| XnatError::BadBody {
            method: "GET".into(),
            url: redact_url(&self.url(path)),
            reason: format!("not JSON ({e})"),
        })
    }

    /// A GET answer of the wrong shape.
    fn unexpected(&self, path: &str, reason: &str) -> XnatError {
        XnatError::BadBody {
            method: "GET".into(),
            url: redact_url(&self.url(path)),
            reason: reason.to_string(),
        }
    }

    fn expect(&self, path: &str, ok: bool, reason: &str) -> Result<(), XnatError> {
        if ok {
            Ok(())
        } else {
            Err(self.unexpected(path, reason))
        }
    }

    // ---- info / preflight -------------------------------------------------------------

    /// `GET /data/auth` → the real user name (an alias token's owner, for instance).
    pub async fn whoami(&self) -> Result<String, XnatError> {
        let (_, text) = self.send(Method::GET, "data/auth", &[], None).await?;
        let name = text
            .trim()
            .strip_prefix("User '")
            .and_then(|r| r.split_once('\''))
            .map(|(n, _)| n.to_string());
        name.ok_or_else(|| XnatError::BadBody {
            method: "GET".into(),
            url: redact_url(&self.url("data/auth")),
            reason: format!(
                "expected `User '<name>' is logged in`, got `{}`",
                one_line(&text)
            ),
        })
    }

    /// XNAT's version from `/xapi/siteConfig/buildInfo`, when it says.
    pub async fn xnat_version(&self) -> Result<Option<String>, XnatError> {
        let path = "xapi/siteConfig/buildInfo";
        let v = self.get_json(path, &[]).await?;
        self.expect(path, v.is_object(), "expected a JSON object")?;
        Ok(v.get("version").and_then(Value::as_str).map(str::to_string))
    }

    /// The Container Service plugin's entry in `/xapi/plugins`, if installed.
    pub async fn container_service_version(&self) -> Result<Option<String>, XnatError> {
        let v = self.get_json("xapi/plugins", &[]).await?;
        self.expect("xapi/plugins", v.is_object(), "expected a JSON object")?;
        Ok(v.get("containers").map(|p| {
            p.get("version")
                .and_then(Value::as_str)
                .unwrap_or("unknown")
                .to_string()
        }))
    }

    pub async fn roles(&self, user: &str) -> Result<Vec<String>, XnatError> {
        let path = format!("xapi/users/{}/roles", seg(user));
        let v = self.get_json(&path, &[]).await?;
        self.expect(&path, v.is_array(), "expected a JSON list of roles")?;
        Ok(v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|r| r.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Project ids visible to the user (`GET /data/projects?format=json`).
    pub async fn projects(&self) -> Result<Vec<String>, XnatError> {
        let v = self
            .get_json("data/projects", &[("format", "json")])
            .await?;
        let listed = v.pointer("/ResultSet/Result").is_some_and(Value::is_array);
        self.expect(
            "data/projects",
            listed,
            "expected `{\"ResultSet\":{\"Result\":[...]}}`",
        )?;
        Ok(v.pointer("/ResultSet/Result")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|p| p.get("ID").and_then(Value::as_str).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default())
    }

    // ---- commands ---------------------------------------------------------------------

    pub async fn list_commands(&self) -> Result<Vec<Value>, XnatError> {
        let v = self.get_json("xapi/commands", &[]).await?;
        match v {
            Value::Array(a) => match super::listing::shape_problem(&a) {
                None => Ok(a),
                Some(reason) => Err(XnatError::BadBody {
                    method: "GET".into(),
                    url: redact_url(&self.url("xapi/commands")),
                    reason,
                }),
            },
            _ => Err(XnatError::BadBody {
                method: "GET".into(),
                url: redact_url(&self.url("xapi/commands")),
                reason: "expected a JSON list of commands".into(),
            }),
        }
    }

    pub async fn get_command(&self, id: i64) -> Result<Value, XnatError> {
        self.get_json(&format!("xapi/commands/{id}"), &[]).await
    }

    /// `POST /xapi/commands?image=…` → the new id. A create is not simply sent again: when a
    /// try fails in a way another may fix (reset, cut-off answer, 5xx, 429), the earlier try
    /// may have created the command before its answer was lost, so the list is read first and
    /// a command of this name and image found there is the one created.
    pub async fn create_command(&self, command: &Value, image: &str) -> Result<i64, XnatError> {
        let name = command.get("name").and_then(Value::as_str);
        let mut retries = 0;
        loop {
            let e = match self
                .exchange(
                    &Method::POST,
                    "xapi/commands",
                    &[("image", image)],
                    Some(command),
                    Auth::Session,
                    false,
                )
                .await
            {
                Ok((_, text)) => {
                    return text.trim().parse().map_err(|_| XnatError::BadBody {
                        method: "POST".into(),
                        url: redact_url(&self.url("xapi/commands")),
                        reason: format!("expected the new command id, got `{}`", one_line(&text)),
                    })
                }
                Err(e) => e,
            };
            let transient = match &e {
                XnatError::Http { status, .. } => {
                    *status == 429
                        || StatusCode::from_u16(*status).is_ok_and(|s| s.is_server_error())
                }
                other => self.worth_retrying(other),
            };
            if !transient || retries >= retry::MAX_RETRIES {
                return Err(e);
            }
            retries += 1;
            let url = self.url("xapi/commands");
            self.wait(&Method::POST, &url, retries, retry::backoff(retries), &e)
                .await;
            if let Some(id) = self.find_command(name, image).await? {
                tracing::debug!(id, "the lost create had happened: command found");
                return Ok(id);
            }
        }
    }

    /// The id of the installed command named `name` with exactly `image`, if one is.
    async fn find_command(
        &self,
        name: Option<&str>,
        image: &str,
    ) -> Result<Option<i64>, XnatError> {
        let Some(name) = name else {
            return Ok(None);
        };
        Ok(self.list_commands().await?.iter().find_map(|c| {
            let same = c.get("name").and_then(Value::as_str) == Some(name)
                && c.get("image").and_then(Value::as_str) == Some(image);
            same.then(|| crate::command::CommandView::new(c).id())
                .flatten()
        }))
    }

    /// `POST /xapi/commands/{id}`: update in place (children merged by name by XNAT). Sending
    /// the same update twice leaves the same command, so it is retried like a PUT.
    pub async fn update_command(&self, id: i64, command: &Value) -> Result<(), XnatError> {
        self.send_retrying(
            Method::POST,
            &format!("xapi/commands/{id}"),
            &[],
            Some(command),
        )
        .await
        .map(|_| ())
    }

    pub async fn delete_command(&self, id: i64) -> Result<(), XnatError> {
        self.send(Method::DELETE, &format!("xapi/commands/{id}"), &[], None)
            .await
            .map(|_| ())
    }

    // ---- enablement -------------------------------------------------------------------

    pub async fn site_enabled(&self, wrapper_id: i64) -> Result<bool, XnatError> {
        let path = format!("xapi/wrappers/{wrapper_id}/enabled");
        let v = self.get_json(&path, &[]).await?;
        // A wrong answer read as "disabled" would make us write an enablement.
        v.as_bool()
            .ok_or_else(|| self.unexpected(&path, "expected true or false"))
    }

    pub async fn set_site_enabled(&self, wrapper_id: i64, enabled: bool) -> Result<(), XnatError> {
        let what = if enabled { "enabled" } else { "disabled" };
        self.send(
            Method::PUT,
            &format!("xapi/wrappers/{wrapper_id}/{what}"),
            &[("reason", "xnat-cmd")],
            None,
        )
        .await
        .map(|_| ())
    }

    /// Projects whose own record enables the wrapper (the site flag is not consulted).
    pub async fn wrapper_projects(&self, wrapper_id: i64) -> Result<Vec<String>, XnatError> {
        let path = format!("xapi/wrappers/{wrapper_id}/projects");
        let v = self.get_json(&path, &[]).await?;
        self.expect(&path, v.is_array(), "expected a JSON list of project ids")?;
        Ok(v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|p| p.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// `(enabled-for-site, enabled-for-project)` of a wrapper in a project.
    pub async fn project_enabled(
        &self,
        project: &str,
        wrapper_id: i64,
    ) -> Result<(bool, bool), XnatError> {
        let v = self
            .get_json(
                &format!(
                    "xapi/projects/{}/wrappers/{wrapper_id}/enabled",
                    seg(project)
                ),
                &[],
            )
            .await?;
        // A wrong answer read as "disabled" would make us write an enablement.
        let flag = |k: &str| {
            v.get(k).and_then(Value::as_bool).ok_or_else(|| {
                self.unexpected(
                    &format!(
                        "xapi/projects/{}/wrappers/{wrapper_id}/enabled",
                        seg(project)
                    ),
                    &format!("expected an object with a true or false `{k}`"),
                )
            })
        };
        Ok((flag("enabled-for-site")?, flag("enabled-for-project")?))
    }

    pub async fn set_project_enabled(
        &self,
        project: &str,
        wrapper_id: i64,
        enabled: bool,
    ) -> Result<(), XnatError> {
        let what = if enabled { "enabled" } else { "disabled" };
        self.send(
            Method::PUT,
            &format!(
                "xapi/projects/{}/wrappers/{wrapper_id}/{what}",
                seg(project)
            ),
            &[("reason", "xnat-cmd")],
            None,
        )
        .await
        .map(|_| ())
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
