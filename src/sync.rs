//! Fleet reconciliation for one XNAT site: what the fleet file declares for the site against
//! what XNAT holds — the same plan and apply as `install` (identity, update in place, conflicts,
//! enablement order, read-back), per image with its own enablement, then the scoped prune.
//!
//! Prune removes only installed commands whose image repository matches one of the file's
//! `prune:` globs and that no declared image of this site accounts for; a site where a declared
//! image could not be read (so its commands are unknown) is not pruned at all.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::apply::{
    apply_each, check_projects, EnableSpec, Outcome, Removal, Tally, UnknownProjects,
};
use crate::command::CommandView;
use crate::fleet::run::Declared;
use crate::fleet::sites::{SiteJob, SiteTarget};
use crate::fleet::{glob_matches, Projects};
use crate::plan::{plan, Action, Desired, PlanOptions, Planned};
use crate::problem::{problem, Problem};
use crate::xnat::client::{StatsSnapshot, XnatClient};

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
        let removal_failures = self.removed.iter().filter(|r| r.error.is_some()).count();
        SiteCounts {
            created: t.created,
            updated: t.updated,
            enabled: t.enabled,
            unchanged: t.unchanged,
            removed: self.removed.len() - removal_failures,
            failed: t.failed + removal_failures + self.failed_images.len(),
        }
    }
}

/// `sync` as a fleet run's job on each site ([`crate::fleet::sites::for_each_site`]).
pub struct SyncJob<'a> {
    /// The file's `prune:` globs, when the run prunes.
    pub prune: Option<&'a [String]>,
    pub dry_run: bool,
    /// The fleet images that could not be read or selected (their SOURCE text).
    pub unread: Vec<String>,
    /// Commands applied at once on a site ([`crate::apply::apply_each`]).
    pub concurrency: usize,
}

impl SiteJob for SyncJob<'_> {
    type Report = SiteReport;

    fn writes(&self) -> bool {
        true
    }

    fn report(&self, site: &SiteTarget, declared: &[Declared]) -> SiteReport {
        let mut report = SiteReport::new(&site.name, site.url.as_deref().unwrap_or(""));
        report.failed_images = declared
            .iter()
            .filter(|d| self.unread.contains(&d.source))
            .map(|d| d.source.clone())
            .collect();
        report
    }

    fn connecting(&self, report: &mut SiteReport, client: &XnatClient) {
        report.url = client.base().to_string();
    }

    fn failed(&self, report: &mut SiteReport, problem: Problem) {
        report.error = Some(problem);
    }

    async fn run(&self, client: &XnatClient, report: &mut SiteReport, declared: &[Declared]) {
        let how = SyncOptions {
            prune: self.prune,
            dry_run: self.dry_run,
            concurrency: self.concurrency,
        };
        sync_site(client, report, declared, &how).await;
    }
}

/// How a site is synced.
#[derive(Debug, Clone, Copy)]
pub struct SyncOptions<'a> {
    /// The file's `prune:` globs, when the run prunes.
    pub prune: Option<&'a [String]>,
    pub dry_run: bool,
    /// Commands applied at once ([`crate::apply::apply_each`]).
    pub concurrency: usize,
}

/// Sync one connected, preflighted site: one list call, a plan over every declared command,
/// apply (each command with its image's enablement, several at once), then prune (when
/// `prune` globs are given).
pub async fn sync_site(
    client: &XnatClient,
    report: &mut SiteReport,
    declared: &[Declared],
    how: &SyncOptions<'_>,
) {
    if let Err(p) = sync_inner(client, report, declared, how).await {
        report.error = Some(p);
    }
    report.requests = client.stats();
}

async fn sync_inner(
    client: &XnatClient,
    report: &mut SiteReport,
    declared: &[Declared],
    how: &SyncOptions<'_>,
) -> Result<(), Problem> {
    let (prune, dry_run) = (how.prune, how.dry_run);
    // Projects are checked before any write: a typo must not half-sync the site.
    let wants_projects = declared.iter().any(Declared::asks_projects);
    // The two lists asked together (one round trip), their errors taken in this order.
    let (installed, existing) = futures::join!(client.list_commands(), async {
        if wants_projects {
            client.projects().await
        } else {
            Ok(Vec::new())
        }
    });
    let installed = installed.map_err(|e| problem(&e))?;
    let existing = existing.map_err(|e| problem(&e))?;
    let specs = declared
        .iter()
        .map(|d| {
            enable_spec(d, &existing).map_err(|(wrapper, e)| {
                let wrapper = wrapper
                    .map(|w| format!(", wrapper `{w}`"))
                    .unwrap_or_default();
                problem(&e).about(&format!("{} (site {}{wrapper})", d.source, report.name))
            })
        })
        .collect::<Result<Vec<EnableSpec>, Problem>>()?;
    let desired: Vec<Desired> = declared.iter().flat_map(|d| d.commands.clone()).collect();
    let planned = plan(&desired, &installed, PlanOptions::default());
    let removals = if let Some(globs) = prune {
        orphans(&installed, &planned, declared, globs, &mut report.warnings)
    } else {
        Vec::new()
    };
    // Every declared command with its image's enablement, in declared order: applied
    // together, so the commands of different images overlap too.
    let mut planned = planned.into_iter();
    let mut items = Vec::with_capacity(desired.len());
    for (d, enable) in declared.iter().zip(&specs) {
        items.extend(planned.by_ref().take(d.commands.len()).map(|p| (p, enable)));
    }
    let applied = apply_each(client, items, &installed, dry_run, how.concurrency).await;
    report.commands.extend(applied);
    for mut r in removals {
        if !dry_run {
            if let Err(e) = r.remove(client).await {
                r.error = Some(problem(&e));
            }
        }
        report.removed.push(r);
    }
    Ok(())
}

/// What `d` asks to enable on a site whose projects are `existing`: the image level's, and
/// each wrapper override with what it inherits filled in, `all` resolved; every explicit
/// project list (the image's and the wrappers') checked against `existing` first (`Err`: the
/// wrapper whose list names unknown projects, `None` for the image's own).
fn enable_spec(
    d: &Declared,
    existing: &[String],
) -> Result<EnableSpec, (Option<String>, UnknownProjects)> {
    let lists = std::iter::once((None, &d.projects)).chain(
        d.wrappers
            .iter()
            .filter_map(|w| Some((Some(&w.name), w.projects.as_ref()?))),
    );
    for (wrapper, projects) in lists {
        if let Projects::List(l) = projects {
            check_projects(l, existing).map_err(|e| (wrapper.cloned(), e))?;
        }
    }
    let wrappers = d
        .wrappers
        .iter()
        .map(|w| {
            let (site, projects) = d.enable_for(&w.name);
            let spec = EnableSpec {
                site,
                projects: projects.resolve(existing),
                wrappers: BTreeMap::new(),
            };
            (w.name.clone(), spec)
        })
        .collect();
    Ok(EnableSpec {
        site: d.enable_site,
        projects: d.projects.resolve(existing),
        wrappers,
    })
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
            let image = CommandView::new(c).image()?;
            let repo = crate::reference::repository(image.trim());
            let owned = globs.iter().any(|g| glob_matches(g, repo));
            Removal::of(c).filter(|r| owned && !kept.contains(&r.id))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::InstallRef;
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
            wrappers: Vec::new(),
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
