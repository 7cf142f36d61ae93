//! docker credential helpers: `docker-credential-NAME get`, the server on stdin, JSON
//! `{"ServerURL","Username","Secret"}` on stdout; `Username == "<token>"` is an identity token.

use std::io::Write as _;
use std::process::{Command, Stdio};

use serde::Deserialize;

use super::{Credential, CredentialError};
use crate::secret::Secret;

#[derive(Deserialize)]
struct HelperOutput {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

/// Ask helper `name` for `server`. "credentials not found" is `Ok(None)`.
pub(super) fn get(name: &str, server: &str) -> Result<Option<Credential>, CredentialError> {
    let err = |message: String| CredentialError::Helper {
        helper: name.to_string(),
        server: server.to_string(),
        message,
    };
    if name.is_empty() || name.contains(['/', '\\']) {
        return Err(err("invalid helper name".into()));
    }
    let program = format!("docker-credential-{name}");
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                err(format!("`{program}` is not installed or not on PATH"))
            }
            _ => err(e.to_string()),
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that exits without reading stdin is not an error of ours.
        let _ = stdin.write_all(server.as_bytes());
    }
    let out = child.wait_with_output().map_err(|e| err(e.to_string()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        // The helpers' own wording (docker-credential-helpers `ErrCredentialsNotFound`).
        let text = format!("{stdout} {}", String::from_utf8_lossy(&out.stderr));
        if text.to_ascii_lowercase().contains("credentials not found") {
            return Ok(None);
        }
        let first = text.trim().lines().next().unwrap_or("").to_string();
        return Err(err(format!("exited with {}: {first}", out.status)));
    }
    let parsed: HelperOutput = serde_json::from_str(stdout.trim())
        .map_err(|_| err("its output is not the expected JSON {\"Username\",\"Secret\"}".into()))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_helper_says_so() {
        let e = get("xnat-cmd-test-nonexistent", "r.io").unwrap_err();
        assert_eq!(
            e.to_string(),
            "credential helper `docker-credential-xnat-cmd-test-nonexistent` failed for `r.io`: \
             `docker-credential-xnat-cmd-test-nonexistent` is not installed or not on PATH"
        );
    }
}
