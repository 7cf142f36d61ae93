//! What XNAT holds: every installed command with its wrappers and where each is enabled, as
//! `list` shows it (one list call, then one site and one project read per wrapper; on 3.6 one
//! read per project of each wrapper enabled site-wide), and the
//! shape that list must have before anything acts on it (`shape_problem`).

use serde::Serialize;
use serde_json::Value;

use super::client::{XnatClient, XnatError};
use crate::command::CommandView;

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
    /// Projects whose own record enables the wrapper; effective only when `enabled_site`. On
    /// Container Service 3.6 (no such read), the projects where it is effectively enabled.
    pub enabled_projects: Vec<String>,
}

pub async fn installed(client: &XnatClient) -> Result<Vec<Installed>, XnatError> {
    let mut out = Vec::new();
    // Container Service 3.6 has no `/wrappers/{id}/projects` (a 404): there, each project
    // is asked instead (its list read once), which tells effective enablement only.
    let mut projects: Option<Vec<String>> = None;
    for c in client.list_commands().await? {
        let v = CommandView::new(&c);
        let mut wrappers = Vec::new();
        for w in v.wrappers() {
            let (enabled_site, enabled_projects) = match w.id() {
                Some(id) => {
                    let site = client.site_enabled(id).await?;
                    let own = match &projects {
                        Some(_) => None,
                        None => match client.wrapper_projects(id).await {
                            Ok(own) => Some(own),
                            Err(XnatError::Http { status: 404, .. }) => {
                                projects = Some(client.projects().await?);
                                None
                            }
                            Err(e) => return Err(e),
                        },
                    };
                    let enabled = match (own, &projects) {
                        (Some(own), _) => own,
                        (None, Some(all)) if site => {
                            let mut on = Vec::new();
                            for p in all {
                                if client.project_enabled(p, id).await?.1 {
                                    on.push(p.clone());
                                }
                            }
                            on
                        }
                        (None, _) => Vec::new(),
                    };
                    (site, enabled)
                }
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
            id: v.id(),
            name: v.name(),
            version: v.version(),
            image: v.image(),
            wrappers,
        });
    }
    Ok(out)
}

/// What is wrong with XNAT's command list for xnat-cmd to act on it, if anything: every
/// command needs its id, and `xnat` (when present) is a list of wrapper objects with ids. The
/// ids are what updates, deletes and enables are sent to, so none is ever assumed (a `null` id
/// was once updated as id 0, and a string `xnat` compared as a changed command).
pub(super) fn shape_problem(list: &[Value]) -> Option<String> {
    use crate::command::lenient_i64;
    for (i, c) in list.iter().enumerate() {
        let name = c.get("name").and_then(Value::as_str).unwrap_or("(unnamed)");
        let Some(obj) = c.as_object() else {
            return Some(format!("element {i} of the command list is not an object"));
        };
        if CommandView::new(c).id().is_none() {
            return Some(format!(
                "command `{name}` (element {i}) has no integer id (found {})",
                json_kind(obj.get("id"))
            ));
        }
        match obj.get("xnat") {
            None | Some(Value::Null) => {}
            Some(Value::Array(wrappers)) => {
                for (j, w) in wrappers.iter().enumerate() {
                    if w.get("id").and_then(lenient_i64).is_none() {
                        return Some(format!(
                            "wrapper {j} of command `{name}` (element {i}) has no integer id (found {})",
                            json_kind(w.get("id"))
                        ));
                    }
                }
            }
            Some(other) => {
                return Some(format!(
                    "command `{name}` (element {i}) has `xnat` as {}, not a list of wrappers",
                    json_kind(Some(other))
                ))
            }
        }
    }
    None
}

fn json_kind(v: Option<&Value>) -> &'static str {
    match v {
        None => "nothing",
        Some(Value::Null) => "null",
        Some(Value::Bool(_)) => "a boolean",
        Some(Value::Number(_)) => "a number",
        Some(Value::String(_)) => "a string",
        Some(Value::Array(_)) => "a list",
        Some(Value::Object(_)) => "an object",
    }
}
