//! Drift: how one XNAT site differs from what a fleet file (or a list of images) declares, in
//! the kinds monitoring alerts on — and the Prometheus text exposition of it ([`push`] sends
//! it to a Pushgateway). Read-only: the same plan as `sync`, never applied.
//!
//! A site is checked only when XNAT answered *and* every image declared for it was read: an
//! unreadable image's commands are unknown, so "no drift" could not be told from "could not
//! look" (and its orphans are unknown too).

pub mod push;

use std::fmt::Write as _;

use serde::Serialize;

use crate::command::{command_with_id, CommandView};
use crate::fleet::Projects;
use crate::plan::{plan, Action, Desired, PlanOptions};
use crate::problem::{problem, Problem};
use crate::sync::{orphans, Declared};
use crate::xnat::client::{StatsSnapshot, XnatClient};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DriftKind {
    /// Declared, not installed.
    Missing,
    /// Installed under another tag or digest than the file names (a pinned tag that moved, a
    /// new tag in the file).
    Outdated,
    /// Installed under the image the file names, with another definition (edited in XNAT, or
    /// a tag that moved to an image whose label differs).
    Modified,
    /// A wrapper not enabled site-wide or in a project the file asks for.
    Enablement,
    /// Installed inside a `prune:` glob, declared nowhere for this site.
    Orphan,
    /// Several installed commands could be the declared one.
    Conflict,
}

impl DriftKind {
    pub const ALL: [DriftKind; 6] = [
        DriftKind::Missing,
        DriftKind::Outdated,
        DriftKind::Modified,
        DriftKind::Enablement,
        DriftKind::Orphan,
        DriftKind::Conflict,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DriftKind::Missing => "missing",
            DriftKind::Outdated => "outdated",
            DriftKind::Modified => "modified",
            DriftKind::Enablement => "enablement",
            DriftKind::Orphan => "orphan",
            DriftKind::Conflict => "conflict",
        }
    }
}

/// One difference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drift {
    pub kind: DriftKind,
    pub command: String,
    /// The image the file declares (for an orphan: the installed one).
    pub image: String,
    /// XNAT's id of the installed command, when there is one.
    pub id: Option<i64>,
    pub detail: String,
}

/// One site's drift.
#[derive(Debug, Clone, Serialize)]
pub struct SiteStatus {
    pub name: String,
    pub url: String,
    /// Images declared for the site.
    pub images: usize,
    /// Of those, the images that could not be read (or whose `commands:` selection failed):
    /// their drift is unknown.
    pub images_unreadable: usize,
    /// Commands declared for the site (of the images that were read).
    pub commands: usize,
    pub drift: Vec<Drift>,
    /// Why the site could not be checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Problem>,
    pub requests: StatsSnapshot,
}

impl SiteStatus {
    pub fn new(name: &str, url: &str) -> Self {
        SiteStatus {
            name: name.to_string(),
            url: url.to_string(),
            images: 0,
            images_unreadable: 0,
            commands: 0,
            drift: Vec::new(),
            error: None,
            requests: StatsSnapshot::default(),
        }
    }

    pub fn count(&self, kind: DriftKind) -> usize {
        self.drift.iter().filter(|d| d.kind == kind).count()
    }

    /// Record what is declared for the site (before connecting, so a site that cannot be
    /// reached still reports its images).
    pub fn declare(&mut self, declared: &[Declared]) {
        self.images = declared.len();
        self.images_unreadable = declared.iter().filter(|d| !d.readable).count();
        self.commands = declared.iter().map(|d| d.commands.len()).sum();
    }

    /// XNAT answered and every declared image was read: the drift is the whole truth.
    pub fn checked(&self) -> bool {
        self.error.is_none() && self.images_unreadable == 0
    }
}

/// Check one connected site against what is declared for it (`prune`: the file's globs, for
/// orphans). Reads only.
pub async fn check_site(
    client: &XnatClient,
    status: &mut SiteStatus,
    declared: &[Declared],
    prune: Option<&[String]>,
) {
    status.declare(declared);
    if let Err(p) = check_inner(client, status, declared, prune).await {
        status.error = Some(p);
    }
    status.requests = client.stats();
}

async fn check_inner(
    client: &XnatClient,
    status: &mut SiteStatus,
    declared: &[Declared],
    prune: Option<&[String]>,
) -> Result<(), Problem> {
    let installed = client.list_commands().await.map_err(|e| problem(&e))?;
    let existing = if declared.iter().any(|d| d.projects == Projects::All) {
        client.projects().await.map_err(|e| problem(&e))?
    } else {
        Vec::new()
    };
    let desired: Vec<Desired> = declared.iter().flat_map(|d| d.commands.clone()).collect();
    let all_planned = plan(&desired, &installed, PlanOptions::default());
    let mut planned = all_planned.iter();
    for d in declared {
        let projects = match &d.projects {
            Projects::None => Vec::new(),
            Projects::All => existing.clone(),
            Projects::List(l) => l.clone(),
        };
        for p in planned.by_ref().take(d.commands.len()) {
            let drift = |kind, id, detail: String| Drift {
                kind,
                command: p.name.clone(),
                image: p.image.to_string(),
                id,
                detail,
            };
            let id = match &p.action {
                Action::Create => {
                    status
                        .drift
                        .push(drift(DriftKind::Missing, None, "not installed".into()));
                    continue;
                }
                Action::Conflict { ids, reason } => {
                    status.drift.push(drift(
                        DriftKind::Conflict,
                        None,
                        format!("{reason} (ids {ids:?})"),
                    ));
                    continue;
                }
                Action::Unchanged { id } => *id,
                Action::Update {
                    id,
                    installed_image,
                    changes,
                } => {
                    if installed_image != p.image.as_str() {
                        status.drift.push(drift(
                            DriftKind::Outdated,
                            Some(*id),
                            format!("installed as {installed_image}"),
                        ));
                    } else {
                        let pointers: Vec<&str> =
                            changes.iter().take(5).map(|c| c.pointer.as_str()).collect();
                        let more = changes.len().saturating_sub(pointers.len());
                        status.drift.push(drift(
                            DriftKind::Modified,
                            Some(*id),
                            format!(
                                "differs at {}{}",
                                pointers.join(", "),
                                if more > 0 {
                                    format!(" and {more} more")
                                } else {
                                    String::new()
                                }
                            ),
                        ));
                    }
                    *id
                }
                Action::Replace { id, .. } => *id,
            };
            if !d.enable_site && projects.is_empty() {
                continue;
            }
            let Some(cmd) = command_with_id(&installed, id) else {
                continue;
            };
            for w in CommandView::new(cmd).wrappers() {
                let (Some(wid), name) = (w.id(), w.name().unwrap_or_default()) else {
                    continue;
                };
                let mut missing: Vec<String> = Vec::new();
                let site_on = match projects.first() {
                    // A project read also tells the site flag.
                    Some(first) => {
                        let (site, on) = client
                            .project_enabled(first, wid)
                            .await
                            .map_err(|e| problem(&e))?;
                        if !on {
                            missing.push(format!("project {first}"));
                        }
                        site
                    }
                    None => client.site_enabled(wid).await.map_err(|e| problem(&e))?,
                };
                for proj in projects.iter().skip(1) {
                    let (_, on) = client
                        .project_enabled(proj, wid)
                        .await
                        .map_err(|e| problem(&e))?;
                    if !on {
                        missing.push(format!("in project {proj}"));
                    }
                }
                if d.enable_site && !site_on {
                    missing.insert(0, "site-wide".into());
                }
                if !missing.is_empty() {
                    status.drift.push(drift(
                        DriftKind::Enablement,
                        Some(id),
                        format!("wrapper `{name}` not enabled {}", missing.join(", ")),
                    ));
                }
            }
        }
    }
    if let Some(globs) = prune {
        // With an unreadable image `orphans` finds none and says why pruning stops: sync's
        // business; here the site already reports the image as not checked.
        let mut not_pruning = Vec::new();
        for r in orphans(&installed, &all_planned, declared, globs, &mut not_pruning) {
            status.drift.push(Drift {
                kind: DriftKind::Orphan,
                command: r.name.unwrap_or_default(),
                image: r.image.unwrap_or_default(),
                id: Some(r.id),
                detail: "inside `prune:`, declared nowhere for this site".into(),
            });
        }
    }
    Ok(())
}

/// The Prometheus text exposition (format 0.0.4) of a run. Per site: drift per kind, images
/// and commands declared, images that could not be read, whether XNAT answered. Per run:
/// `xnat_cmd_last_run_success` (1 when every image and site was checked, always present) and,
/// only in a run where it is 1, `xnat_cmd_last_success_timestamp_seconds` (`now`, Unix
/// seconds). A failed run leaves the timestamp out of the file (or the Pushgateway group) it
/// replaces, so monitoring sees it `absent()` rather than a success that did not happen.
pub fn prometheus(sites: &[SiteStatus], now: u64, all_checked: bool) -> String {
    let mut s = String::new();
    let label = |v: &str| {
        v.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    };
    let _ = writeln!(
        s,
        "# HELP xnat_cmd_drift Commands that differ from the fleet file, by kind.\n# TYPE xnat_cmd_drift gauge"
    );
    for site in sites {
        for k in DriftKind::ALL {
            let _ = writeln!(
                s,
                "xnat_cmd_drift{{site=\"{}\",kind=\"{}\"}} {}",
                label(&site.name),
                k.as_str(),
                site.count(k)
            );
        }
    }
    type Value = fn(&SiteStatus) -> u64;
    let per_site: [(&str, &str, Value); 4] = [
        (
            "xnat_cmd_images_checked",
            "Images declared for the site.",
            |s| s.images as u64,
        ),
        (
            "xnat_cmd_images_unreadable",
            "Images declared for the site that could not be read (their drift is unknown).",
            |s| s.images_unreadable as u64,
        ),
        (
            "xnat_cmd_commands_checked",
            "Commands declared for the site.",
            |s| s.commands as u64,
        ),
        ("xnat_cmd_site_up", "1 when XNAT answered, else 0.", |s| {
            u64::from(s.error.is_none())
        }),
    ];
    for (metric, help, value) in per_site {
        let _ = writeln!(s, "# HELP {metric} {help}\n# TYPE {metric} gauge");
        for site in sites {
            let _ = writeln!(
                s,
                "{metric}{{site=\"{}\"}} {}",
                label(&site.name),
                value(site)
            );
        }
    }
    let _ = writeln!(
        s,
        "# HELP xnat_cmd_last_run_success 1 when the run checked every image and site, else 0.\n# TYPE xnat_cmd_last_run_success gauge\nxnat_cmd_last_run_success {}",
        u64::from(all_checked)
    );
    if all_checked {
        let _ = writeln!(
            s,
            "# HELP xnat_cmd_last_success_timestamp_seconds End of the last run that checked every image and site (absent after a failed run).\n# TYPE xnat_cmd_last_success_timestamp_seconds gauge\nxnat_cmd_last_success_timestamp_seconds {now}"
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_text_has_every_kind_per_site_and_escapes_labels() {
        let mut a = SiteStatus::new("prod", "https://x");
        a.images = 2;
        a.commands = 3;
        a.drift.push(Drift {
            kind: DriftKind::Missing,
            command: "c".into(),
            image: "i".into(),
            id: None,
            detail: String::new(),
        });
        let mut b = SiteStatus::new("we\"ird", "https://y");
        b.error = Some(Problem::new("down"));
        b.images = 2;
        b.images_unreadable = 1;
        let text = prometheus(&[a, b], 1700000000, false);
        assert!(text.contains("xnat_cmd_drift{site=\"prod\",kind=\"missing\"} 1\n"));
        assert!(text.contains("xnat_cmd_drift{site=\"prod\",kind=\"orphan\"} 0\n"));
        assert!(text.contains("xnat_cmd_drift{site=\"we\\\"ird\",kind=\"conflict\"} 0\n"));
        assert!(text.contains("xnat_cmd_site_up{site=\"we\\\"ird\"} 0\n"));
        assert!(text.contains("xnat_cmd_commands_checked{site=\"prod\"} 3\n"));
        assert!(text.contains("xnat_cmd_images_unreadable{site=\"prod\"} 0\n"));
        assert!(text.contains("xnat_cmd_images_unreadable{site=\"we\\\"ird\"} 1\n"));
        assert!(text.contains("\nxnat_cmd_last_run_success 0\n"));
        assert!(!text.contains("last_success_timestamp"));
        assert_eq!(text.matches("# TYPE ").count(), 6);
        let ok = prometheus(&[], 1700000000, true);
        assert!(ok.contains("\nxnat_cmd_last_run_success 1\n"));
        assert!(ok.ends_with("xnat_cmd_last_success_timestamp_seconds 1700000000\n"));
    }
}
