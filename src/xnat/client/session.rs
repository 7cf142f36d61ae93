//! The one server session of a run: opened with Basic auth (`POST /data/JSESSION`), its id
//! held as a [`Secret`] and sent as the `JSESSIONID` cookie, renewed once when XNAT says it
//! expired, closed at the end; and the reading of XNAT's authentication answers (a login
//! redirect, a 401, an HTML page where data was due) as typed errors that name the
//! credential source.

use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE, COOKIE, LOCATION};
use reqwest::{Method, RequestBuilder, StatusCode};
use url::Url;

use super::exchange::Request;
use super::{path_of, redact_url, XnatClient, XnatError};
use crate::http::{Decision, Outcome, Repeat};
use crate::secret::Secret;

/// How a request authenticates: the run's session (Basic until there is one), or Basic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Auth {
    Session,
    Basic,
}

/// The longest session id accepted; XNAT's are 32 hex digits.
const MAX_SESSION_ID: usize = 200;

impl XnatClient {
    /// Open the one server session of this run: `POST /data/JSESSION` with Basic auth
    /// (retried like a read: another session is harmless, the last one is used).
    pub async fn login(&self) -> Result<(), XnatError> {
        let req = Request::new(Method::POST, "data/JSESSION").auth(Auth::Basic);
        let (_, body) = self.exchange(&req, Repeat::Safe).await?;
        let id = body.trim();
        let valid = !id.is_empty()
            && id.len() < MAX_SESSION_ID
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
        if !valid {
            return Err(self.auth_error("POST /data/JSESSION did not return a session id"));
        }
        if let Ok(mut s) = self.session.lock() {
            *s = Some(Secret::new(id));
        }
        Ok(())
    }

    /// End the session (`DELETE /data/JSESSION`). Errors are ignored: the work is done.
    pub async fn logout(&self) {
        let Some(id) = self.session.lock().ok().and_then(|mut s| s.take()) else {
            return;
        };
        // Retried as any XNAT request is: a session left open counts against XNAT's per-user
        // session cap until it times out (the fault runs left 46 open in 210 runs without
        // this). Not through `exchange`: the session is gone, and no expiry may renew it.
        let policy = self.policy;
        let mut retries = 0;
        loop {
            let req = with_session(self.http.delete(self.url("data/JSESSION")), &id);
            let outcome = match req.send().await {
                Ok(resp) if resp.status().is_success() => return,
                Ok(resp) => Outcome::answer(resp.status(), resp.headers()),
                Err(e) => Outcome::of_error(&e),
            };
            match policy.decide(outcome, retries, Repeat::Safe, true) {
                Decision::Retry(wait) | Decision::LookThenRetry(wait) => {
                    retries += 1;
                    tokio::time::sleep(wait).await;
                }
                Decision::GiveUp => return,
            }
        }
    }

    /// Log in again after a request sent on session `stale` found it expired. Requests in
    /// flight at once may all find it so: the first renews, and the others, waiting on the
    /// lock, find a new session there and use it (no second login, no session left open).
    pub(super) async fn renew(&self, stale: Option<&Secret>) -> Result<(), XnatError> {
        let _renewing = self.renewal.lock().await;
        if self.session_id().as_ref() != stale {
            return Ok(());
        }
        self.login().await
    }

    /// The session's id, once one is open.
    pub(super) fn session_id(&self) -> Option<Secret> {
        self.session.lock().ok().and_then(|s| s.clone())
    }

    /// `req` authenticated as `auth` says: the session cookie when there is a session, else
    /// Basic auth.
    pub(super) fn authenticate(&self, req: RequestBuilder, auth: Auth) -> RequestBuilder {
        match (auth, self.session_id()) {
            (Auth::Session, Some(id)) => with_session(req, &id),
            _ => req.basic_auth(&self.creds.user, Some(self.creds.password.expose())),
        }
    }

    /// Whether an answer on the session says the session expired (a 401 that is not a
    /// controller's permission answer, or a redirect to the login page).
    pub(super) fn expired(&self, status: StatusCode, text: &str) -> bool {
        self.session_id().is_some()
            && (status == StatusCode::UNAUTHORIZED && !text.starts_with("There was an error")
                || status.is_redirection())
    }

    pub(super) fn auth_error(&self, detail: impl Into<String>) -> XnatError {
        XnatError::Authentication {
            source_desc: self.creds.source.to_string(),
            detail: detail.into(),
        }
    }

    /// Classify authentication failures: 3xx (login redirect), 401, HTML where data was due.
    pub(super) fn check_auth(
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
}

/// `req` carrying the session cookie, marked sensitive so that no log of the request shows it.
fn with_session(req: RequestBuilder, id: &Secret) -> RequestBuilder {
    let text = format!("JSESSIONID={}", id.expose());
    match HeaderValue::from_str(&text) {
        Ok(mut v) => {
            v.set_sensitive(true);
            req.header(COOKIE, v)
        }
        // Not for an id `login` accepted; reqwest reports it as a request it cannot build.
        Err(_) => req.header(COOKIE, text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xnat::credentials::{CredentialSource, Credentials};

    fn client() -> XnatClient {
        let creds = Credentials {
            user: "admin".into(),
            password: Secret::new("admin-password"),
            source: CredentialSource::Flags,
        };
        let base = crate::xnat::parse_base("http://127.0.0.1:9").unwrap();
        XnatClient::new(base, creds, &Default::default()).unwrap()
    }

    /// The session id is a credential: the client's `Debug` and the cookie's never show it.
    #[test]
    fn the_session_id_is_never_printed() {
        let c = client();
        *c.session.lock().unwrap() = Some(Secret::new("0123456789ABCDEF0123456789ABCDEF"));
        let shown = format!("{c:?} {:?}", c.session.lock().unwrap());
        assert!(!shown.contains("0123456789ABCDEF"), "{shown}");
        let req = c
            .authenticate(c.http.get(c.url("data/auth")), Auth::Session)
            .build()
            .unwrap();
        let cookie = &req.headers()[COOKIE];
        assert!(cookie.is_sensitive());
        assert_eq!(format!("{cookie:?}"), "Sensitive");
    }
}
