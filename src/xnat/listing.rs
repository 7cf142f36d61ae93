//! What XNAT holds: every installed command with its wrappers and where each is enabled, as
//! `list` shows it (one list call, then one site and one project read per wrapper).

use serde::Serialize;

use super::client::{XnatClient, XnatError};
use crate::command::{lenient_i64, CommandView};

#[derive(Debug, Serialize)]
pub struct Installed {
    pub id: Option<i64>,
    pub name: Option<String>,
    pub version: Option<String>,
    pub image: Option<String>,
    pub wrappers: Vec<InstalledWrapper>,
}

#[derive(Debug, Serialize)]
pub struct InstalledWrapper {
    pub id: Option<i64>,
    pub name: Option<String>,
    pub contexts: Vec<String>,
    pub enabled_site: bool,
    /// Projects whose own record enables the wrapper; effective only when `enabled_site`.
    pub enabled_projects: Vec<String>,
}

pub async fn installed(client: &XnatClient) -> Result<Vec<Installed>, XnatError> {
    let mut out = Vec::new();
    for c in client.list_commands().await? {
        let v = CommandView::new(&c);
        let mut wrappers = Vec::new();
        for w in v.wrappers() {
            let (enabled_site, enabled_projects) = match w.id() {
                Some(id) => (
                    client.site_enabled(id).await?,
                    client.wrapper_projects(id).await?,
                ),
                None => (false, Vec::new()),
            };
            wrappers.push(InstalledWrapper {
                id: w.id(),
                name: w.name(),
                contexts: w.contexts(),
                enabled_site,
                enabled_projects,
            });
        }
        out.push(Installed {
            id: c.get("id").and_then(lenient_i64),
            name: v.name(),
            version: v.version(),
            image: v.image(),
            wrappers,
        });
    }
    Ok(out)
}
