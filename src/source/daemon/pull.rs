//! `--pull`: `POST /images/create` with credentials in `X-Registry-Auth`, and the progress
//! stream scanned for errors — a failed pull still answers 200, with an `{"error":…}` line.

use base64::Engine as _;
use bytes::Buf;
use http_body_util::BodyExt;
use hyper::{Method, StatusCode};

use super::{status_message, Daemon, DaemonError, DaemonOptions};
use crate::credentials::{Chain, Credential, CredentialEnv};
use crate::platform::Platform;
use crate::reference::Reference;
use crate::source::registry::RegistryOptions;

// The buffer is indexed by usize; the cap is 1 MiB, so the conversion is exact.
const MAX_LINE_BYTES: usize = crate::limits::MAX_DAEMON_LINE_BYTES as usize;

/// Credentials for pulling `reference`, from the registry credential chain (flags,
/// `--registry-auth-file`, DOCKER_AUTH_CONFIG, config.json, podman auth.json) read with the
/// same environment the daemon was found with. An id or unparsable name gets none: the pull
/// itself will then say what is wrong.
pub async fn discovered_credentials(
    reference: &str,
    registry: &RegistryOptions,
    daemon: &DaemonOptions,
) -> Result<Option<(Credential, String)>, DaemonError> {
    let Ok(r) = Reference::parse(reference) else {
        return Ok(None);
    };
    let chain = Chain::new(&registry.credentials, &CredentialEnv::from_env(&daemon.env))?;
    Ok(chain
        .lookup(&r.registry, &r.repository)
        .await?
        .map(|found| (found.credential, r.auth_key().to_string())))
}

/// `X-Registry-Auth`: base64url (with padding, as the Go client's `base64.URLEncoding`) of
/// docker's `AuthConfig` JSON: `username`/`password`, or an identity or registry token.
pub(crate) fn auth_header(credential: &Credential, server: &str) -> String {
    let json = match credential {
        Credential::Basic { username, password } => serde_json::json!({
            "username": username,
            "password": password.expose(),
            "serveraddress": server,
        }),
        Credential::IdentityToken(t) => serde_json::json!({
            "identitytoken": t.expose(),
            "serveraddress": server,
        }),
        Credential::RegistryToken(t) => serde_json::json!({
            "registrytoken": t.expose(),
            "serveraddress": server,
        }),
    };
    base64::engine::general_purpose::URL_SAFE.encode(json.to_string())
}

/// `fromImage=REPO&tag=TAG|DIGEST[&platform=…]`: the API wants the tag or digest apart. A
/// `repo:tag@digest` is pulled by its digest, as the docker CLI does.
pub(crate) fn create_query(reference: &str, platform: Option<&Platform>) -> String {
    let repo = crate::reference::repository(reference);
    let tag = match reference.split_once('@') {
        Some((_, digest)) => digest,
        None => reference
            .get(repo.len()..)
            .and_then(|rest| rest.strip_prefix(':'))
            .unwrap_or("latest"),
    };
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("fromImage", repo).append_pair("tag", tag);
    if let Some(p) = platform {
        q.append_pair("platform", &p.to_string());
    }
    q.finish()
}

/// Finds the first error in a pull's JSON-lines progress stream, across chunk boundaries.
#[derive(Debug, Default)]
pub(crate) struct ProgressScan {
    pending: Vec<u8>,
    error: Option<String>,
}

impl ProgressScan {
    pub(crate) fn feed(&mut self, chunk: &[u8]) {
        self.pending.extend_from_slice(chunk);
        while let Some(nl) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=nl).collect();
            self.line(&line);
        }
        if self.pending.len() > MAX_LINE_BYTES {
            // Not JSON lines: keep only the tail so a runaway body cannot grow memory.
            let cut = self.pending.len() - MAX_LINE_BYTES;
            self.pending.drain(..cut);
        }
    }

    /// The first error the stream reported, if any.
    pub(crate) fn finish(mut self) -> Option<String> {
        let rest = std::mem::take(&mut self.pending);
        self.line(&rest);
        self.error
    }

    fn line(&mut self, line: &[u8]) {
        if self.error.is_some() {
            return;
        }
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(line) else {
            return;
        };
        let detail = v.pointer("/errorDetail/message").and_then(|m| m.as_str());
        let error = v.get("error").and_then(|m| m.as_str());
        if let Some(msg) = detail.or(error) {
            self.error = Some(msg.trim().to_string());
        } else if let Some(status) = v.get("status").and_then(|s| s.as_str()) {
            tracing::debug!(%status, "pull progress");
        }
    }
}

/// Pull `reference` into the daemon; `Ok` only when the stream ended without an error line.
pub(crate) async fn pull(
    daemon: &mut Daemon,
    reference: &str,
    platform: Option<&Platform>,
    credentials: Option<&(Credential, String)>,
) -> Result<(), DaemonError> {
    let query = create_query(reference, platform);
    let path = format!("/images/create?{query}");
    let auth = credentials.map(|(credential, server)| auth_header(credential, server));
    let headers: Vec<(&str, &str)> = auth
        .iter()
        .map(|a| ("X-Registry-Auth", a.as_str()))
        .collect();
    tracing::info!(%reference, endpoint = %daemon.endpoint(), "pulling through the daemon");
    let resp = daemon.send(Method::POST, &path, &headers).await?;
    let failed = |message: String| DaemonError::PullFailed {
        reference: reference.to_string(),
        endpoint: daemon.endpoint(),
        message,
    };
    if resp.status() != StatusCode::OK {
        let status = resp.status();
        let body = daemon.read_body(&path, resp, MAX_LINE_BYTES as u64).await?;
        return Err(failed(format!("{status}: {}", status_message(&body))));
    }
    let mut scan = ProgressScan::default();
    let mut body = resp.into_body();
    // A pull may take long, but not in silence: each progress line has a deadline.
    loop {
        let frame = match tokio::time::timeout(crate::limits::DAEMON_PULL_IDLE, body.frame()).await
        {
            Err(_) => {
                return Err(DaemonError::Stalled {
                    path: path.clone(),
                    endpoint: daemon.endpoint(),
                    seconds: crate::limits::DAEMON_PULL_IDLE.as_secs(),
                })
            }
            Ok(None) => break,
            Ok(Some(frame)) => frame,
        };
        let frame = frame.map_err(|e| DaemonError::Body {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        if let Ok(mut data) = frame.into_data() {
            while data.has_remaining() {
                let chunk = data.chunk();
                scan.feed(chunk);
                let n = chunk.len();
                data.advance(n);
            }
        }
    }
    match scan.finish() {
        Some(message) => Err(failed(message)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    #[test]
    fn query_splits_tag_and_digest() {
        let d = "sha256:".to_string() + &"a".repeat(64);
        let cases = [
            (
                "127.0.0.1:5000/xnat/small:v1",
                "fromImage=127.0.0.1%3A5000%2Fxnat%2Fsmall&tag=v1".to_string(),
            ),
            (
                "127.0.0.1:5000/xnat/small",
                "fromImage=127.0.0.1%3A5000%2Fxnat%2Fsmall&tag=latest".to_string(),
            ),
            (
                &*format!("xnat/small@{d}"),
                format!("fromImage=xnat%2Fsmall&tag=sha256%3A{}", "a".repeat(64)),
            ),
            (
                &*format!("xnat/small:v1@{d}"),
                format!("fromImage=xnat%2Fsmall&tag=sha256%3A{}", "a".repeat(64)),
            ),
        ];
        for (r, want) in cases {
            assert_eq!(create_query(r, None), want, "{r}");
        }
        let arm = Platform::parse("linux/arm64").unwrap();
        assert!(create_query("x:1", Some(&arm)).ends_with("&platform=linux%2Farm64%2Fv8"));
    }

    #[test]
    fn auth_header_is_base64url_json() {
        let basic = Credential::Basic {
            username: "testuser".into(),
            password: Secret::new("p?>>"),
        };
        let h = auth_header(&basic, "127.0.0.1:5001");
        assert!(!h.contains(['+', '/']), "{h}");
        let raw = base64::engine::general_purpose::URL_SAFE
            .decode(&h)
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&raw).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"username":"testuser","password":"p?>>","serveraddress":"127.0.0.1:5001"})
        );
        let token = auth_header(&Credential::IdentityToken(Secret::new("rt")), "docker.io");
        let raw = base64::engine::general_purpose::URL_SAFE
            .decode(&token)
            .unwrap();
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&raw).unwrap(),
            serde_json::json!({"identitytoken":"rt","serveraddress":"docker.io"})
        );
    }

    #[test]
    fn error_line_inside_a_200_stream_is_found_across_chunks() {
        let stream = concat!(
            "{\"status\":\"Trying to pull 127.0.0.1:5000/x:nope...\"}\n",
            "{\"progressDetail\":{},\"errorDetail\":{\"message\":\"reading manifest nope: manifest unknown\"},",
            "\"error\":\"reading manifest nope: manifest unknown\"}\n"
        );
        let mut scan = ProgressScan::default();
        for chunk in stream.as_bytes().chunks(7) {
            scan.feed(chunk);
        }
        assert_eq!(
            scan.finish().as_deref(),
            Some("reading manifest nope: manifest unknown")
        );

        let mut ok = ProgressScan::default();
        ok.feed(b"{\"status\":\"Download complete\",\"progressDetail\":{},\"id\":\"bd14b6ea44c2\"}\n{\"status\":\"Pulled\"}");
        assert_eq!(ok.finish(), None);

        let mut only_error = ProgressScan::default();
        only_error.feed(b"{\"error\":\"unauthorized: authentication required\"}");
        assert_eq!(
            only_error.finish().as_deref(),
            Some("unauthorized: authentication required")
        );
    }
}
