//! One XNAT request with its retries (kept apart from the calls in `client.rs`): which
//! failures another try may fix, how long to wait (`crate::retry`), the session renewed once,
//! a lost DELETE's 404 taken as done, and the answer read whole or reported cut off.

use std::sync::atomic::Ordering;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE, COOKIE, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use url::Url;

use super::{redact_url, XnatClient, XnatError};
use crate::limits::MAX_XNAT_RESPONSE_BYTES;
use crate::retry;

impl XnatClient {
    /// One request with its retries: with `retry`, a reset, a cut-off body, a 5xx or a 429 is
    /// tried again after a backoff (or the 429's `Retry-After`), up to [`retry::MAX_RETRIES`]
    /// times; a DELETE answered 404 on a retry is done (an earlier try deleted it before its
    /// answer was lost). On the session, an expired session is renewed once.
    pub(super) async fn exchange(
        &self,
        method: &Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
        auth: Auth,
        retry: bool,
    ) -> Result<(StatusCode, String), XnatError> {
        let url = self.url(path);
        let mut renewed = false;
        let mut retries = 0;
        loop {
            let failure = match self.try_once(method, &url, query, body, auth).await {
                Ok((status, headers, text)) => {
                    let expired = auth == Auth::Session
                        && !renewed
                        && self.session_cookie().is_some()
                        && (status == StatusCode::UNAUTHORIZED
                            && !text.starts_with("There was an error")
                            || status.is_redirection());
                    if expired {
                        tracing::debug!("session expired; logging in again");
                        renewed = true;
                        // Boxed: login sends through this function too (with Basic auth,
                        // which never renews, so the recursion is one level deep).
                        Box::pin(self.login()).await?;
                        continue;
                    }
                    if retries > 0 && *method == Method::DELETE && status == StatusCode::NOT_FOUND {
                        return Ok((status, text));
                    }
                    self.check_auth(method, &url, status, &headers, &text)?;
                    if status.is_success() {
                        // A success body is data: garbled bytes must not pass as replacement
                        // characters.
                        if text.contains(char::REPLACEMENT_CHARACTER) {
                            return Err(XnatError::BadBody {
                                method: method.to_string(),
                                url: redact_url(&url),
                                reason: "not UTF-8 text".into(),
                            });
                        }
                        return Ok((status, text));
                    }
                    let wait = transient_wait(status, &headers, retries + 1);
                    let error = self.http_error(method, &url, status, &text);
                    match wait {
                        Some(wait) if retry && retries < retry::MAX_RETRIES => {
                            retries += 1;
                            self.wait(method, &url, retries, wait, &error).await;
                            continue;
                        }
                        _ => return Err(error),
                    }
                }
                Err(e) => e,
            };
            if retry && retries < retry::MAX_RETRIES && self.worth_retrying(&failure) {
                retries += 1;
                self.wait(method, &url, retries, retry::backoff(retries), &failure)
                    .await;
                continue;
            }
            return Err(failure);
        }
    }

    /// Send once and read the whole answer.
    async fn try_once(
        &self,
        method: &Method,
        url: &Url,
        query: &[(&str, &str)],
        body: Option<&Value>,
        auth: Auth,
    ) -> Result<(StatusCode, HeaderMap, String), XnatError> {
        let mut req = self.http.request(method.clone(), url.clone());
        if !query.is_empty() {
            req = req.query(query);
        }
        match (auth, self.session_cookie()) {
            (Auth::Session, Some(id)) => req = req.header(COOKIE, format!("JSESSIONID={id}")),
            _ => req = req.basic_auth(&self.creds.user, Some(self.creds.password.expose())),
        }
        if let Some(b) = body {
            req = req
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .body(b.to_string());
        }
        let resp = req
            .send()
            .await
            .map_err(|source| self.send_error(method, url, source))?;
        self.answered.store(true, Ordering::Relaxed);
        // Opening the session (the one Basic exchange, a POST) changes nothing in XNAT: a
        // read, so a run that writes nothing reports 0 writes.
        if *method != Method::GET && *method != Method::HEAD && auth != Auth::Basic {
            self.stats.writes.fetch_add(1, Ordering::Relaxed);
        } else {
            self.stats.reads.fetch_add(1, Ordering::Relaxed);
        }
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = self.read_body(method, url, resp).await?;
        Ok((status, headers, text))
    }

    /// The body, at most [`MAX_XNAT_RESPONSE_BYTES`] (Content-Length is not trusted); bytes
    /// that are not UTF-8 become U+FFFD (error bodies are shown; a success body with them is
    /// refused by [`XnatClient::exchange`]). The request's deadline covers the body too.
    async fn read_body(
        &self,
        method: &Method,
        url: &Url,
        mut resp: reqwest::Response,
    ) -> Result<String, XnatError> {
        let too_large = || XnatError::TooLarge {
            method: method.to_string(),
            url: redact_url(url),
            limit: MAX_XNAT_RESPONSE_BYTES,
        };
        if resp
            .content_length()
            .is_some_and(|n| n > MAX_XNAT_RESPONSE_BYTES)
        {
            return Err(too_large());
        }
        let mut buf = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(c)) => {
                    if buf.len() as u64 + c.len() as u64 > MAX_XNAT_RESPONSE_BYTES {
                        return Err(too_large());
                    }
                    buf.extend_from_slice(&c);
                }
                Ok(None) => break,
                Err(source) => {
                    return Err(XnatError::CutOff {
                        method: method.to_string(),
                        url: redact_url(url),
                        source,
                    })
                }
            }
        }
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }

    /// A failure without a usable answer that another try may fix: a connection reset or
    /// refused once XNAT has answered in this run, or an answer cut short. Never a TLS
    /// failure, a timeout (the deadline already passed once) or a wrong URL.
    pub(super) fn worth_retrying(&self, e: &XnatError) -> bool {
        match e {
            XnatError::CutOff { .. } => true,
            // Before any answer, a refused connection is most likely a wrong URL: say so now.
            XnatError::Unreachable { source, .. } => !source.is_timeout() && !source.is_connect(),
            XnatError::ConnectionLost { source, .. } => !source.is_timeout(),
            _ => false,
        }
    }

    pub(super) async fn wait(
        &self,
        method: &Method,
        url: &Url,
        retry: u32,
        wait: Duration,
        why: &XnatError,
    ) {
        tracing::debug!(
            url = %redact_url(url),
            %method,
            retry,
            of = retry::MAX_RETRIES,
            wait_ms = wait.as_millis() as u64,
            "retrying after: {why}"
        );
        tokio::time::sleep(wait).await;
    }
}

/// How a request authenticates: the run's session (Basic until there is one), or Basic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Auth {
    Session,
    Basic,
}

/// The wait before retry `n` after an answer that another try may fix (5xx, 429), or `None`
/// for an answer that stands. A 429 waits its `Retry-After`, unless that is longer than
/// [`retry::MAX_RETRY_AFTER`] (then the 429 stands).
fn transient_wait(status: StatusCode, headers: &HeaderMap, n: u32) -> Option<Duration> {
    if status == StatusCode::TOO_MANY_REQUESTS {
        let asked = headers
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(retry::parse_retry_after)
            .map(Duration::from_secs);
        return match asked {
            Some(d) if d > retry::MAX_RETRY_AFTER => None,
            Some(d) => Some(d),
            None => Some(retry::backoff(n)),
        };
    }
    matches!(status.as_u16(), 500 | 502 | 503 | 504).then(|| retry::backoff(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_answers_wait_and_lasting_ones_stand() {
        let base = retry::backoff(1);
        let cases: [(u16, Option<&str>, Option<Duration>); 9] = [
            (500, None, Some(base)),
            (502, None, Some(base)),
            (503, None, Some(base)),
            (504, None, Some(base)),
            (429, Some("2"), Some(Duration::from_secs(2))),
            (429, None, Some(base)),
            (429, Some("3600"), None),
            (400, None, None),
            (404, None, None),
        ];
        for (status, retry_after, want) in cases {
            let mut h = HeaderMap::new();
            if let Some(v) = retry_after {
                h.insert(RETRY_AFTER, HeaderValue::from_static(v));
            }
            let status = StatusCode::from_u16(status).unwrap();
            assert_eq!(
                transient_wait(status, &h, 1),
                want,
                "{status} {retry_after:?}"
            );
        }
    }
}
