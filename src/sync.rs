//! Fleet reconciliation for one XNAT site: what the fleet file declares for the site against
//! what XNAT holds — the same plan and apply as `install` (identity, update in place, conflicts,
//! enablement order, read-back), per image with its own enablement, then the scoped prune.
//!
//! Prune removes only installed commands whose image repository matches one of the file's
//! `prune:` globs and that no declared image of this site accounts for; a site where a declared
//! image could not be read (so its commands are unknown) is not pruned at all.

use serde::Serialize;
use serde_json::Value;

use crate::apply::{apply, check_projects, EnableSpec, Outcome, Status, Tally};
use crate::command::CommandView;
use crate::fleet::{glob_matches, FleetImage, Projects};
use crate::pipeline::{Item, Prepared};
use crate::plan::{plan, Action, Desired, PlanOptions, Planned};
use crate::problem::{problem, Problem};
use crate::reference::InstallRef;
use crate::xnat::client::{StatsSnapshot, XnatClient};

/// One fleet image as this site should have it.
#[derive(Debug, Clone)]
pub struct Declared {
    /// The fleet entry's SOURCE text.
    pub source: String,
    /// Its commands with the install image injected; empty when it could not be read.
    pub commands: Vec<Desired>,
    pub enable_site: bool,
    pub projects: Projects,
    /// `false` when the image could not be read: its commands are unknown, so the site is not
    /// pruned.
    pub readable: bool,
}

/// A command prune removes (or, in a dry run, would remove).
#[derive(Debug, Clone, Serialize)]
pub struct Removal {
    pub id: i64,
    pub name: Option<String>,
    pub image: Option<String>,
    pub removed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Problem>,
}

/// What happened on one site.
#[derive(Debug, Clone, Serialize)]
pub struct SiteReport {
    pub name: String,
    pub url: String,
    pub commands: Vec<Outcome>,
    pub removed: Vec<Removal>,
    /// Images declared for this site that could not be read or selected (why: the run's
    /// `failed_images`): nothing of them was synced here.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failed_images: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Why the site could not be synced at all (unreachable, refused, unknown project).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Problem>,
    pub requests: StatsSnapshot,
}

/// A site's outcome counted for the summary table. `enabled`: commands whose definition was
/// unchanged but whose enablement was (or, in a dry run, would be) written — not "unchanged",
/// since the run changes them. `failed`: commands that failed or are in conflict, removals
/// that failed, and declared images that could not be read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SiteCounts {
    pub created: usize,
    pub updated: usize,
    pub enabled: usize,
    pub unchanged: usize,
    pub removed: usize,
    pub failed: usize,
}

impl SiteReport {
    pub fn new(name: &str, url: &str) -> Self {
        SiteReport {
            name: name.to_string(),
            url: url.to_string(),
            commands: Vec::new(),
            removed: Vec::new(),
            failed_images: Vec::new(),
            warnings: Vec::new(),
            error: None,
            requests: StatsSnapshot::default(),
        }
    }

    pub fn failed(&self) -> bool {
        self.error.is_some() || self.counts().failed > 0
    }

    /// The summary counts (dry-run "would" states counted alike).
    pub fn counts(&self) -> SiteCounts {
        let t = Tally::of(&self.commands);
        let enabled = self
            .commands
            .iter()
            .filter(|o| {
                o.status == Status::Unchanged && o.wrappers.iter().any(|w| !w.changes.is_empty())
            })
            .count();
        let removal_failures = self.removed.iter().filter(|r| r.error.is_some()).count();
        SiteCounts {
            created: t.created,
            updated: t.updated,
            enabled,
            unchanged: t.unchanged - enabled,
            removed: self.removed.len() - removal_failures,
            failed: t.failed + removal_failures + self.failed_images.len(),
        }
    }
}

/// Why a fleet image gives no commands to install.
#[derive(Debug, thiserror::Error)]
pub enum EntryError {
    #[error("the label has no command named {}", names.join(", "))]
    NoSuchCommands {
        names: Vec<String>,
        available: Vec<String>,
    },
}

impl crate::problem::Hint for EntryError {
    fn hint(&self) -> Option<String> {
        match self {
            EntryError::NoSuchCommands { available, .. } => Some(format!(
                "fix `commands:` in the fleet file; the label has: {}",
                available.join(", ")
            )),
        }
    }
}

/// The commands a fleet image installs: those of its first image, filtered by `commands:`,
/// each with the install image injected, and that image (`None` when the input gave no
/// image, so no commands). `Ok(None)` when the input failed (reported by the pipeline's item
/// error).
pub fn entry_commands(
    entry: &FleetImage,
    item: &Item,
) -> Result<Option<(Option<InstallRef>, Vec<Prepared>)>, EntryError> {
    let Ok(images) = &item.outcome else {
        return Ok(None);
    };
    let Some(image) = images.first() else {
        return Ok(Some((None, Vec::new())));
    };
    let Some(install) = image.install_image.clone() else {
        return Ok(None);
    };
    let commands: Vec<Prepared> = match &entry.commands {
        None => image.commands.clone(),
        Some(names) => {
            let available: Vec<String> = image
                .commands
                .iter()
                .filter_map(|p| p.name.clone())
                .collect();
            let missing: Vec<String> = names
                .iter()
                .filter(|n| !available.contains(n))
                .cloned()
                .collect();
            if !missing.is_empty() {
                return Err(EntryError::NoSuchCommands {
                    names: missing,
                    available,
                });
            }
            image
                .commands
                .iter()
                .filter(|p| p.name.as_ref().is_some_and(|n| names.contains(n)))
                .cloned()
                .collect()
        }
    };
    Ok(Some((Some(install), commands)))
}

/// Is `entry` declared for `site`? (`sites:` absent: every site.)
pub fn declared_on(entry: &FleetImage, site: &str) -> bool {
    entry
        .sites
        .as_ref()
        .is_none_or(|s| s.iter().any(|n| n == site))
}

/// Sync one connected, preflighted site: one list call, a plan over every declared command,
/// apply per image with its enablement, then prune (when `prune` globs are given).
pub async fn sync_site(
    client: &XnatClient,
    report: &mut SiteReport,
    declared: &[Declared],
    prune: Option<&[String]>,
    dry_run: bool,
) {
    if let Err(p) = sync_inner(client, report, declared, prune, dry_run).await {
        report.error = Some(p);
    }
    report.requests = client.stats();
}

async fn sync_inner(
    client: &XnatClient,
    report: &mut SiteReport,
    declared: &[Declared],
    prune: Option<&[String]>,
    dry_run: bool,
) -> Result<(), Problem> {
    let installed = client.list_commands().await.map_err(|e| problem(&e))?;
    // Projects are checked before any write: a typo must not half-sync the site.
    let wants_projects = declared
        .iter()
        .any(|d| !matches!(d.projects, Projects::None));
    let existing = if wants_projects {
        client.projects().await.map_err(|e| problem(&e))?
    } else {
        Vec::new()
    };
    let mut specs = Vec::with_capacity(declared.len());
    for d in declared {
        let projects = match &d.projects {
            Projects::None => Vec::new(),
            Projects::All => existing.clone(),
            Projects::List(l) => {
                check_projects(l, &existing).map_err(|e| {
                    problem(&e).about(&format!("{} (site {})", d.source, report.name))
                })?;
                l.clone()
            }
        };
        specs.push(EnableSpec {
            site: d.enable_site,
            projects,
        });
    }
    let desired: Vec<Desired> = declared.iter().flat_map(|d| d.commands.clone()).collect();
    let planned = plan(&desired, &installed, PlanOptions::default());
    let removals = if let Some(globs) = prune {
        orphans(&installed, &planned, declared, globs, &mut report.warnings)
    } else {
        Vec::new()
    };
    let mut planned = planned.into_iter();
    for (d, enable) in declared.iter().zip(&specs) {
        let chunk: Vec<_> = planned.by_ref().take(d.commands.len()).collect();
        if chunk.is_empty() {
            continue;
        }
        let applied = apply(client, chunk, &installed, enable, dry_run).await;
        report.commands.extend(applied.commands);
    }
    for mut r in removals {
        if !dry_run {
            match client.delete_command(r.id).await {
                Ok(()) => r.removed = true,
                Err(e) => r.error = Some(problem(&e)),
            }
        }
        report.removed.push(r);
    }
    Ok(())
}

/// Ids the plan accounts for: unchanged, updated, replaced or in conflict.
fn kept_ids(planned: &[Planned]) -> Vec<i64> {
    let mut ids = Vec::new();
    for p in planned {
        match &p.action {
            Action::Unchanged { id } | Action::Update { id, .. } | Action::Replace { id, .. } => {
                ids.push(*id)
            }
            Action::Conflict { ids: c, .. } => ids.extend(c),
            Action::Create => {}
        }
    }
    ids
}

/// Installed commands inside the `prune:` globs that nothing declared for this site accounts
/// for (`planned`: the plan of every declared command against `installed`). Nothing when a
/// declared image could not be read (its commands are unknown).
pub fn orphans(
    installed: &[Value],
    planned: &[Planned],
    declared: &[Declared],
    globs: &[String],
    warnings: &mut Vec<String>,
) -> Vec<Removal> {
    if let Some(d) = declared.iter().find(|d| !d.readable) {
        warnings.push(format!(
            "not pruning: {} could not be read, so the commands it owns are unknown",
            d.source
        ));
        return Vec::new();
    }
    let kept = kept_ids(planned);
    installed
        .iter()
        .filter_map(|c| {
            let v = CommandView::new(c);
            let id = v.id()?;
            let image = v.image()?;
            let repo = crate::reference::repository(image.trim());
            let owned = globs.iter().any(|g| glob_matches(g, repo));
            (owned && !kept.contains(&id)).then(|| Removal {
                id,
                name: v.name(),
                image: Some(image),
                removed: false,
                error: None,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn desired(name: &str, image: &str) -> Desired {
        Desired {
            source: "s".into(),
            image: InstallRef::tagged(image).unwrap(),
            command: json!({"name": name, "image": image, "type": "docker", "command-line": "x"}),
        }
    }

    fn declared(readable: bool) -> Declared {
        Declared {
            source: "lab/a:2".into(),
            commands: vec![],
            enable_site: false,
            projects: Projects::None,
            readable,
        }
    }

    #[test]
    fn orphans_are_inside_the_globs_and_unaccounted_for() {
        let installed = vec![
            json!({"id": 1, "name": "a", "image": "ghcr.io/lab/a:1", "type": "docker", "command-line": "x"}),
            json!({"id": 2, "name": "old", "image": "ghcr.io/lab/a:1", "type": "docker", "command-line": "x"}),
            json!({"id": 3, "name": "b", "image": "ghcr.io/lab/b:1", "type": "docker", "command-line": "x"}),
            json!({"id": 4, "name": "c", "image": "ghcr.io/other/c:1", "type": "docker", "command-line": "x"}),
            json!({"id": 5, "name": "a", "image": "ghcr.io/lab/a:2", "type": "docker", "command-line": "x"}),
        ];
        // `a` is declared at tag 2: id 5 is it exactly, id 1 (another tag) is an orphan.
        let d = plan(
            &[desired("a", "ghcr.io/lab/a:2")],
            &installed,
            PlanOptions::default(),
        );
        let mut w = Vec::new();
        let ids = |r: Vec<Removal>| r.iter().map(|r| r.id).collect::<Vec<_>>();
        let globs = vec!["ghcr.io/lab/*".to_string()];
        assert_eq!(
            ids(orphans(&installed, &d, &[declared(true)], &globs, &mut w)),
            vec![1, 2, 3]
        );
        // Outside every glob nothing is touched.
        let globs = vec!["ghcr.io/lab/b".to_string()];
        assert_eq!(
            ids(orphans(&installed, &d, &[declared(true)], &globs, &mut w)),
            vec![3]
        );
        // An unreadable declared image stops pruning on the site.
        let globs = vec!["ghcr.io/**".to_string()];
        assert!(orphans(&installed, &d, &[declared(false)], &globs, &mut w).is_empty());
        assert_eq!(w.len(), 1, "{w:?}");
    }
}
