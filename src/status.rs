//! Drift: how one XNAT site differs from what a fleet file (or a list of images) declares, in
//! the kinds monitoring alerts on — and the Prometheus text exposition of it. Read-only: the
//! same plan as `sync`, never applied.

use std::fmt::Write as _;

use serde::Serialize;

use crate::command::{lenient_i64, CommandView};
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
    pub images: usize,
    pub commands: usize,
    pub drift: Vec<Drift>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
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
            commands: 0,
            drift: Vec::new(),
            warnings: Vec::new(),
            error: None,
            requests: StatsSnapshot::default(),
        }
    }

    pub fn count(&self, kind: DriftKind) -> usize {
        self.drift.iter().filter(|d| d.kind == kind).count()
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
    status.images = declared.len();
    status.commands = declared.iter().map(|d| d.commands.len()).sum();
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
                image: p.image.clone(),
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
                    if installed_image != &p.image {
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
            let Some(cmd) = installed
                .iter()
                .find(|c| c.get("id").and_then(lenient_i64) == Some(id))
            else {
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
        for r in orphans(
            &installed,
            &all_planned,
            declared,
            globs,
            &mut status.warnings,
        ) {
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

/// The Prometheus text exposition (format 0.0.4) of a run: drift per kind and site, images
/// and commands checked, whether each site could be checked, and when the last check that
/// succeeded on every site ended (`now`, Unix seconds; omitted when something failed).
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
    for (metric, help, value) in [
        (
            "xnat_cmd_images_checked",
            "Images declared for the site.",
            (|s: &SiteStatus| s.images as u64) as fn(&SiteStatus) -> u64,
        ),
        (
            "xnat_cmd_commands_checked",
            "Commands declared for the site.",
            |s: &SiteStatus| s.commands as u64,
        ),
        (
            "xnat_cmd_site_up",
            "1 when the site could be checked, else 0.",
            |s: &SiteStatus| u64::from(s.error.is_none()),
        ),
    ] {
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
    if all_checked {
        let _ = writeln!(
            s,
            "# HELP xnat_cmd_last_success_timestamp_seconds End of the last check that reached every site and image.\n# TYPE xnat_cmd_last_success_timestamp_seconds gauge\nxnat_cmd_last_success_timestamp_seconds {now}"
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
        let text = prometheus(&[a, b], 1700000000, false);
        assert!(text.contains("xnat_cmd_drift{site=\"prod\",kind=\"missing\"} 1\n"));
        assert!(text.contains("xnat_cmd_drift{site=\"prod\",kind=\"orphan\"} 0\n"));
        assert!(text.contains("xnat_cmd_drift{site=\"we\\\"ird\",kind=\"conflict\"} 0\n"));
        assert!(text.contains("xnat_cmd_site_up{site=\"we\\\"ird\"} 0\n"));
        assert!(text.contains("xnat_cmd_commands_checked{site=\"prod\"} 3\n"));
        assert!(!text.contains("last_success"));
        assert_eq!(text.matches("# TYPE ").count(), 4);
        let ok = prometheus(&[], 1700000000, true);
        assert!(ok.ends_with("xnat_cmd_last_success_timestamp_seconds 1700000000\n"));
    }
}
