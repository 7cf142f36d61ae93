//! docker credential helpers: `docker-credential-NAME get`, the server on stdin, JSON
//! `{"ServerURL","Username","Secret"}` on stdout; `Username == "<token>"` is an identity token.
//!
//! A helper is a child process run with `tokio::process`, so a slow one (a keychain prompt, a
//! cloud CLI refreshing its login) waits on the runtime instead of blocking its one thread and
//! every read with it; it is killed when it passes [`HELPER_DEADLINE`] and its output is read
//! up to a cap.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWriteExt as _};
use tokio::process::Command;

use super::{Credential, CredentialError};
use crate::secret::Secret;

pub use crate::limits::HELPER_DEADLINE;
use crate::limits::MAX_HELPER_OUTPUT_BYTES as MAX_OUTPUT_BYTES;

/// Where helpers are found and how long they may run.
#[derive(Debug, Clone)]
pub struct Helpers {
    /// The `PATH` to find `docker-credential-*` in (the run's, from its `Env`); `None`: no
    /// `PATH`, so no helper is found.
    pub path: Option<OsString>,
    pub deadline: Duration,
}

impl Default for Helpers {
    fn default() -> Self {
        Helpers {
            path: None,
            deadline: HELPER_DEADLINE,
        }
    }
}

#[derive(Deserialize)]
struct HelperOutput {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

impl Helpers {
    /// Ask helper `name` for `server`. "credentials not found" is `Ok(None)`.
    pub(super) async fn get(
        &self,
        name: &str,
        server: &str,
    ) -> Result<Option<Credential>, CredentialError> {
        let err = |message: String| CredentialError::Helper {
            helper: name.to_string(),
            server: server.to_string(),
            message,
        };
        if name.is_empty() || name.contains(['/', '\\']) {
            return Err(err("invalid helper name".into()));
        }
        let program = format!("docker-credential-{name}");
        let not_found = || err(format!("`{program}` is not installed or not on PATH"));
        let path = self.find(&program).ok_or_else(not_found)?;
        let mut child = Command::new(&path)
            .arg("get")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Past the deadline the future is dropped, and with it the helper.
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => not_found(),
                _ => err(e.to_string()),
            })?;
        let (stdin, stdout, stderr) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take());
        let run = async {
            if let Some(mut stdin) = stdin {
                // A helper that exits without reading stdin is not an error of ours.
                let _ = stdin.write_all(server.as_bytes()).await;
            }
            let (out, errs) = tokio::join!(read_capped(stdout), read_capped(stderr));
            let status = child.wait().await;
            (status, out, errs)
        };
        let (status, out, errs) = tokio::time::timeout(self.deadline, run)
            .await
            .map_err(|_| CredentialError::HelperDeadline {
                helper: name.to_string(),
                server: server.to_string(),
                after: self.deadline,
            })?;
        let status = status.map_err(|e| err(e.to_string()))?;
        let too_large = || {
            err(format!(
                "its output is larger than {MAX_OUTPUT_BYTES} bytes"
            ))
        };
        let (out, errs) = (out.ok_or_else(too_large)?, errs.ok_or_else(too_large)?);
        let stdout = String::from_utf8_lossy(&out);
        if !status.success() {
            // The helpers' own wording (docker-credential-helpers `ErrCredentialsNotFound`).
            let text = format!("{stdout} {}", String::from_utf8_lossy(&errs));
            if text.to_ascii_lowercase().contains("credentials not found") {
                return Ok(None);
            }
            // One line, capped, escaped, credentials redacted (a helper may echo its JSON).
            let first = crate::summary::summarise(text.trim().lines().next().unwrap_or(""));
            return Err(err(format!("exited with {status}: {first}")));
        }
        let parsed: HelperOutput = serde_json::from_str(stdout.trim()).map_err(|_| {
            err("its output is not the expected JSON {\"Username\",\"Secret\"}".into())
        })?;
        if parsed.secret.is_empty() {
            return Ok(None);
        }
        Ok(Some(if parsed.username == "<token>" {
            Credential::IdentityToken(Secret::new(parsed.secret))
        } else {
            Credential::Basic {
                username: parsed.username,
                password: Secret::new(parsed.secret),
            }
        }))
    }

    /// The first executable `program` on the path, as a shell would find it.
    fn find(&self, program: &str) -> Option<PathBuf> {
        use std::os::unix::fs::PermissionsExt as _;
        let path = self.path.as_ref()?;
        std::env::split_paths(path)
            .map(|dir| dir.join(program))
            .find(|p| {
                std::fs::metadata(p)
                    .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            })
    }
}

/// All of a pipe up to [`MAX_OUTPUT_BYTES`]; `None` when there is more. A pipe that fails to
/// read counts as empty (the exit status then says what happened).
async fn read_capped(pipe: Option<impl AsyncRead + Unpin>) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    if let Some(pipe) = pipe {
        let _ = pipe.take(MAX_OUTPUT_BYTES + 1).read_to_end(&mut buf).await;
    }
    (buf.len() as u64 <= MAX_OUTPUT_BYTES).then_some(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn missing_helper_says_so() {
        let e = Helpers::default()
            .get("xnat-cmd-test-nonexistent", "r.io")
            .await
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "credential helper `docker-credential-xnat-cmd-test-nonexistent` failed for `r.io`: \
             `docker-credential-xnat-cmd-test-nonexistent` is not installed or not on PATH"
        );
    }
}
