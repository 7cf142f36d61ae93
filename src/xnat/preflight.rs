//! Preflight before any write: XNAT answers, the credentials work, Container Service is
//! installed (and which version), and the user holds the role that version requires
//! (`ContainerManager` on 3.7+, site `Administrator` before).

use serde::Serialize;

use super::client::{XnatClient, XnatError};

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
    client.login().await?;
    let user = client.whoami().await?;
    // buildInfo is informational: older or locked-down sites may refuse it.
    let xnat_version = client.xnat_version().await.unwrap_or_else(|e| {
        tracing::debug!("XNAT version not available: {e}");
        None
    });
    let cs = client
        .container_service_version()
        .await?
        .ok_or(PreflightError::NoContainerService)?;
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
