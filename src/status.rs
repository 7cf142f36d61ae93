//! Drift: how one XNAT site differs from what a fleet file (or a list of images) declares, in
//! the kinds monitoring alerts on — and the Prometheus text exposition of it ([`push`] sends
//! it to a Pushgateway). Read-only: the same plan as `sync`, never applied.
//!
//! A site is checked only when XNAT answered *and* every image declared for it was read: an
//! unreadable image's commands are unknown, so "no drift" could not be told from "could not
//! look" (and its orphans are unknown too).

pub mod drift;
pub mod push;

use std::fmt::Write as _;

use serde::Serialize;

use crate::fleet::run::Declared;
use crate::fleet::sites::{SiteJob, SiteTarget};
use crate::problem::{problem, Problem};
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
/// orphans): [`drift::gather`], then [`drift::drift`]. Reads only.
pub async fn check_site(
    client: &XnatClient,
    status: &mut SiteStatus,
    declared: &[Declared],
    prune: Option<&[String]>,
) {
    status.declare(declared);
    match drift::gather(client, declared, crate::limits::DEFAULT_XNAT_CONCURRENCY).await {
        Ok(gathered) => status.drift = drift::drift(declared, &gathered, prune),
        Err(e) => status.error = Some(problem(&e)),
    }
    status.requests = client.stats();
}

/// `status` as a fleet run's job on each site ([`crate::fleet::sites::for_each_site`]).
pub struct StatusJob<'a> {
    /// The file's `prune:` globs, when it has the key: what is inside and declared nowhere is
    /// an orphan.
    pub prune: Option<&'a [String]>,
}

impl SiteJob for StatusJob<'_> {
    type Report = SiteStatus;

    fn writes(&self) -> bool {
        false
    }

    fn report(&self, site: &SiteTarget, declared: &[Declared]) -> SiteStatus {
        let mut status = SiteStatus::new(&site.name, site.url.as_deref().unwrap_or(""));
        status.declare(declared);
        status
    }

    fn connecting(&self, status: &mut SiteStatus, client: &XnatClient) {
        status.url = client.base().to_string();
    }

    fn failed(&self, status: &mut SiteStatus, problem: Problem) {
        status.error = Some(problem);
    }

    async fn run(&self, client: &XnatClient, status: &mut SiteStatus, declared: &[Declared]) {
        check_site(client, status, declared, self.prune).await;
    }
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
