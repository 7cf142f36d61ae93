//! One XNAT request with its retries (kept apart from the calls in `api.rs`): what a try
//! ended with, whether another may fix it ([`crate::http::Policy::xnat`], the one retry
//! policy, with the client's backoff base), the session renewed once, a lost DELETE's 404
//! taken as done, and the answer read whole within its cap ([`crate::http::read_capped`]) or
//! reported too large or cut off.

use std::sync::atomic::Ordering;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use url::Url;

use super::session::Auth;
use super::{one_line, path_of, redact_url, XnatClient, XnatError};
use crate::http::{BodyError, Decision, Outcome, Repeat};
use crate::limits::MAX_XNAT_RESPONSE_BYTES;
use crate::tls::is_cert_error;

/// One request as the calls describe it: the method, the path under the base URL, the query,
/// a JSON body and how it authenticates (the session unless said otherwise).
#[derive(Debug, Clone)]
pub(super) struct Request<'a> {
    method: Method,
    path: &'a str,
    query: &'a [(&'a str, &'a str)],
    body: Option<&'a Value>,
    auth: Auth,
}

impl<'a> Request<'a> {
    pub(super) fn new(method: Method, path: &'a str) -> Self {
        Request {
            method,
            path,
            query: &[],
            body: None,
            auth: Auth::Session,
        }
    }

    pub(super) fn query(mut self, query: &'a [(&'a str, &'a str)]) -> Self {
        self.query = query;
        self
    }

    pub(super) fn json(mut self, body: &'a Value) -> Self {
        self.body = Some(body);
        self
    }

    pub(super) fn auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }

    /// Whether the request may be sent again when a try's effect is unknown: everything but a
    /// POST. A POST that is safe to repeat says so ([`XnatClient::send_retrying`]), and a
    /// create looks before it creates again (`api::create_command`).
    fn repeat(&self) -> Repeat {
        if self.method == Method::POST {
            Repeat::Never
        } else {
            Repeat::Safe
        }
    }
}

/// Where a request's tries stand.
#[derive(Debug, Default)]
pub(super) struct Tries {
    /// Retries made (the first try is not one).
    retries: u32,
    /// The session was renewed once already: another expiry is an error.
    renewed: bool,
}

/// How one try ended.
pub(super) enum Attempt {
    /// The answer, or an error that stands.
    Done(Result<(StatusCode, String), XnatError>),
    /// Another try may fix `after`: wait `wait` first (and for a create, look first).
    Again { wait: Duration, after: XnatError },
}

impl XnatClient {
    /// Send on the session with the retries the method allows ([`Request::repeat`]).
    pub(super) async fn send(&self, req: &Request<'_>) -> Result<(StatusCode, String), XnatError> {
        self.exchange(req, req.repeat()).await
    }

    /// [`XnatClient::send`] for a POST whose repetition changes nothing (an update in place).
    pub(super) async fn send_retrying(
        &self,
        req: &Request<'_>,
    ) -> Result<(StatusCode, String), XnatError> {
        self.exchange(req, Repeat::Safe).await
    }

    /// A GET whose answer is JSON.
    pub(super) async fn get_json(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<Value, XnatError> {
        let (_, text) = self
            .send(&Request::new(Method::GET, path).query(query))
            .await?;
        serde_json::from_str(&text).map_err(|e| XnatError::BadBody {
            method: "GET".into(),
            url: redact_url(&self.url(path)),
            reason: format!("not JSON ({e})"),
        })
    }

    /// One request with its retries: tried again as long as the client's policy
    /// ([`crate::http::Policy::xnat`]) says another try may fix what the last ended with and
    /// `repeat` allows it (never with [`Repeat::LookFirst`]: a request that must look first
    /// loops over [`XnatClient::attempt`] itself).
    pub(super) async fn exchange(
        &self,
        req: &Request<'_>,
        repeat: Repeat,
    ) -> Result<(StatusCode, String), XnatError> {
        let mut tries = Tries::default();
        loop {
            match self.attempt(req, repeat, &mut tries).await {
                Attempt::Done(result) => return result,
                Attempt::Again { wait, after } => self.wait(req, &mut tries, wait, &after).await,
            }
        }
    }

    /// One try of `req` (two when the session expired and is renewed): the answer, an error
    /// that stands, or the wait before another try. A DELETE answered 404 on a retry is done
    /// (an earlier try deleted it before its answer was lost).
    pub(super) async fn attempt(
        &self,
        req: &Request<'_>,
        repeat: Repeat,
        tries: &mut Tries,
    ) -> Attempt {
        let url = self.url(req.path);
        let (outcome, error) = loop {
            // The session this try is sent on: another request may renew it meanwhile.
            let sent_on = self.session_id();
            let (status, headers, text) = match self.try_once(req, &url).await {
                Ok(answer) => answer,
                Err(e) => break (outcome_of(&e), e),
            };
            if req.auth == Auth::Session && !tries.renewed && self.expired(status, &text) {
                tracing::debug!("session expired; logging in again");
                tries.renewed = true;
                // Boxed: login sends through this function too (with Basic auth, which never
                // renews, so the recursion is one level deep).
                if let Err(e) = Box::pin(self.renew(sent_on.as_ref())).await {
                    return Attempt::Done(Err(e));
                }
                continue;
            }
            if tries.retries > 0 && req.method == Method::DELETE && status == StatusCode::NOT_FOUND
            {
                return Attempt::Done(Ok((status, text)));
            }
            if let Err(e) = self.check_auth(&req.method, &url, status, &headers, &text) {
                return Attempt::Done(Err(e));
            }
            if status.is_success() {
                // A success body is data: garbled bytes must not pass as replacement characters.
                if text.contains(char::REPLACEMENT_CHARACTER) {
                    return Attempt::Done(Err(XnatError::BadBody {
                        method: req.method.to_string(),
                        url: redact_url(&url),
                        reason: "not UTF-8 text".into(),
                    }));
                }
                return Attempt::Done(Ok((status, text)));
            }
            let error = self.http_error(&req.method, &url, status, &text);
            break (Outcome::answer(status, &headers), error);
        };
        let answered = self.answered.load(Ordering::Relaxed);
        match self.policy.decide(outcome, tries.retries, repeat, answered) {
            Decision::Retry(wait) | Decision::LookThenRetry(wait) => {
                Attempt::Again { wait, after: error }
            }
            Decision::GiveUp => Attempt::Done(Err(error)),
        }
    }

    /// Send once and read the whole answer.
    async fn try_once(
        &self,
        req: &Request<'_>,
        url: &Url,
    ) -> Result<(StatusCode, HeaderMap, String), XnatError> {
        let mut b = self.http.request(req.method.clone(), url.clone());
        if !req.query.is_empty() {
            b = b.query(req.query);
        }
        b = self.authenticate(b, req.auth);
        if let Some(body) = req.body {
            b = b
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .body(body.to_string());
        }
        let resp = b
            .send()
            .await
            .map_err(|source| self.send_error(&req.method, url, source))?;
        self.answered.store(true, Ordering::Relaxed);
        // Opening the session (the one Basic exchange, a POST) changes nothing in XNAT: a
        // read, so a run that writes nothing reports 0 writes.
        if req.method != Method::GET && req.method != Method::HEAD && req.auth != Auth::Basic {
            self.stats.writes.fetch_add(1, Ordering::Relaxed);
        } else {
            self.stats.reads.fetch_add(1, Ordering::Relaxed);
        }
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = self.read_body(&req.method, url, resp).await?;
        Ok((status, headers, text))
    }

    /// The body, at most [`MAX_XNAT_RESPONSE_BYTES`]; bytes that are not UTF-8 become U+FFFD
    /// (error bodies are shown; a success body with them is refused by
    /// [`XnatClient::attempt`]). The request's deadline covers the body too.
    async fn read_body(
        &self,
        method: &Method,
        url: &Url,
        resp: reqwest::Response,
    ) -> Result<String, XnatError> {
        match crate::http::read_capped(resp, MAX_XNAT_RESPONSE_BYTES).await {
            Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
            Err(BodyError::TooLarge { limit }) => Err(XnatError::TooLarge {
                method: method.to_string(),
                url: redact_url(url),
                limit,
            }),
            Err(BodyError::CutOff { source, .. }) => Err(XnatError::CutOff {
                method: method.to_string(),
                url: redact_url(url),
                source,
            }),
        }
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

    /// An answer that is neither a success nor an authentication failure.
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

    /// Wait before retry `tries.retries + 1`, saying why at `-vv`.
    pub(super) async fn wait(
        &self,
        req: &Request<'_>,
        tries: &mut Tries,
        wait: Duration,
        why: &XnatError,
    ) {
        tries.retries += 1;
        tracing::debug!(
            url = %redact_url(&self.url(req.path)),
            method = %req.method,
            retry = tries.retries,
            of = self.policy.max_retries,
            wait_ms = wait.as_millis() as u64,
            "retrying after: {why}"
        );
        tokio::time::sleep(wait).await;
    }
}

/// What a try that got no usable answer ended with, for [`crate::http::Policy::decide`]: a
/// reset or refusal as reqwest says, an answer cut short, or something another try cannot
/// change (an untrusted certificate, an answer past the cap).
fn outcome_of(e: &XnatError) -> Outcome {
    match e {
        XnatError::CutOff { .. } => Outcome::CutOff,
        XnatError::Unreachable { source, .. } | XnatError::ConnectionLost { source, .. } => {
            Outcome::of_error(source)
        }
        _ => Outcome::Fatal,
    }
}
