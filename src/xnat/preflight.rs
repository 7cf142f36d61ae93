//! Preflight before any write: XNAT answers, the credentials work, Container Service is
//! installed (and which version), and the user holds the role that version requires
//! (`ContainerManager` on 3.7+, site `Administrator` before).

use serde::Serialize;

use super::client::{redact_url, XnatClient, XnatError};

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ServerInfo {
    pub xnat_version: Option<String>,
    pub container_service_version: String,
    pub user: String,
    pub roles: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    #[error(transparent)]
    Xnat(#[from] XnatError),
    /// The login answered 404: the server is not XNAT, or the context path is wrong.
    #[error("`{url}` answered 404 to XNAT's login (POST data/JSESSION): it is not XNAT, or not XNAT's context path")]
    NotXnat {
        url: String,
        #[source]
        source: XnatError,
    },
    /// An `https://` URL whose server answered in plain HTTP.
    #[error("`{url}` answers plain HTTP, not HTTPS")]
    PlainHttp {
        url: String,
        #[source]
        source: XnatError,
    },
    #[error("the Container Service plugin is not installed on this XNAT (no `containers` in /xapi/plugins)")]
    NoContainerService,
    #[error("user `{user}` lacks the `{role}` role that Container Service {version} requires for installing and enabling commands")]
    MissingRole {
        user: String,
        role: &'static str,
        version: String,
    },
}

impl PreflightError {
    pub fn hint(&self) -> Option<String> {
        match self {
            PreflightError::Xnat(e) => e.hint(),
            PreflightError::NotXnat { url, .. } => Some(format!(
                "check --xnat / XNAT_HOST: XNAT deployed under a context path needs it in the URL (https://host/xnat, not https://host); {url} in a browser should show XNAT's login page"
            )),
            PreflightError::PlainHttp { url, .. } => Some(format!(
                "use {} (the server speaks plain HTTP), or put XNAT behind TLS",
                url.replacen("https://", "http://", 1)
            )),
            PreflightError::NoContainerService => Some("install the container-service plugin jar in XNAT's plugins folder and restart XNAT".into()),
            PreflightError::MissingRole { user, role, .. } => Some(format!(
                "an administrator grants it under Administer → Users → {user} → Roles ({role}); site administrators do not get it automatically after upgrading to 3.7"
            )),
        }
    }
}

impl crate::problem::Hint for PreflightError {
    fn hint(&self) -> Option<String> {
        PreflightError::hint(self)
    }
}

/// `(major, minor)` of a plugin version such as `3.7.3` or `3.7.3-fat`; `None` for `unknown`.
pub fn major_minor(version: &str) -> Option<(u32, u32)> {
    let mut it = version
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty());
    let major = it.next()?.parse().ok()?;
    let minor = it.next()?.parse().ok()?;
    Some((major, minor))
}

/// The role a write needs on this Container Service version. Unknown versions are treated as
/// 3.7+ (the stricter rule), but a site admin holding neither role is told about both.
pub fn required_role(cs_version: &str) -> &'static str {
    match major_minor(cs_version) {
        Some((m, n)) if (m, n) < (3, 7) => "Administrator",
        _ => "ContainerManager",
    }
}

/// Log in, learn who we are and what the server runs; check the role when `will_write`.
pub async fn preflight(
    client: &XnatClient,
    will_write: bool,
) -> Result<ServerInfo, PreflightError> {
    client.login().await.map_err(|e| login_error(client, e))?;
    // Who we are and what the server runs, asked together (one round trip, not two); the
    // answers are checked in this order whatever order they came in.
    let (user, plugins) = futures::join!(client.whoami(), client.container_service_version());
    let user = user?;
    // buildInfo is informational (older or locked-down sites may refuse it) and only logged,
    // so it is asked for only when the log shows it: a run costs one request less.
    let xnat_version = if tracing::enabled!(tracing::Level::INFO) {
        client.xnat_version().await.unwrap_or_else(|e| {
            tracing::debug!("XNAT version not available: {e}");
            None
        })
    } else {
        None
    };
    let cs = plugins?.ok_or(PreflightError::NoContainerService)?;
    let roles = client.roles(&user).await?;
    if will_write {
        let role = required_role(&cs);
        if !roles.iter().any(|r| r == role) {
            return Err(PreflightError::MissingRole {
                user,
                role,
                version: cs,
            });
        }
    }
    tracing::info!(
        "XNAT {} with Container Service {cs}, user {user}",
        xnat_version.as_deref().unwrap_or("(version unknown)")
    );
    Ok(ServerInfo {
        xnat_version,
        container_service_version: cs,
        user,
        roles,
    })
}

/// Name the two wrong-URL cases a first run meets at the login: a server that is not XNAT (or
/// XNAT's context path missing or wrong: a 404) and `https://` to a plain-HTTP server (rustls
/// reads an HTTP answer where a TLS record was due).
fn login_error(client: &XnatClient, e: XnatError) -> PreflightError {
    let url = redact_url(client.base());
    match &e {
        XnatError::Http { status: 404, .. } => PreflightError::NotXnat { url, source: e },
        XnatError::Unreachable { .. }
            if client.base().scheme() == "https" && answered_plain_http(&e) =>
        {
            PreflightError::PlainHttp { url, source: e }
        }
        _ => e.into(),
    }
}

/// Does the error chain say a TLS handshake got an HTTP answer? rustls reports it as a
/// record of type `InvalidContentType` (a plain-HTTP server's `HTTP/1.1 400` read as TLS).
fn answered_plain_http(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        let text = c.to_string();
        if text.contains("InvalidContentType") || text.contains("corrupt message") {
            return true;
        }
        cause = c.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_by_version() {
        assert_eq!(required_role("3.7.3"), "ContainerManager");
        assert_eq!(required_role("3.7.3-fat"), "ContainerManager");
        assert_eq!(required_role("3.8.1"), "ContainerManager");
        assert_eq!(required_role("unknown"), "ContainerManager");
        assert_eq!(required_role("3.6.3"), "Administrator");
        assert_eq!(required_role("3.2.0"), "Administrator");
        assert_eq!(major_minor("3.10.0"), Some((3, 10)));
    }
}
