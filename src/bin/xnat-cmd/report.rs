//! Rendering what `install`, `sync`, `uninstall` and `status` did: one line per command and
//! one per wrapper, one per removal, the fleet images that could not be read.

use std::fmt::Write as _;

use serde::Serialize;
use xnat_cmd::apply::{Outcome, Removal, Status};
use xnat_cmd::plan::Action;
use xnat_cmd::problem::Problem;

pub fn status_word(s: Status) -> &'static str {
    match s {
        Status::Created => "created",
        Status::Updated => "updated",
        Status::Replaced => "replaced",
        Status::Unchanged => "unchanged",
        Status::WouldCreate => "would create",
        Status::WouldUpdate => "would update",
        Status::WouldReplace => "would replace",
        Status::Conflict => "conflict",
        Status::Failed => "failed",
    }
}

/// One line per command (with its id and image), the upgrade and dry-run diff under it, and one
/// line per wrapper with its enablement and the writes made for it.
pub fn outcome_lines(s: &mut String, commands: &[Outcome], dry_run: bool) {
    for o in commands {
        let id = o.id.map_or(String::new(), |i| format!(" (id {i})"));
        let _ = writeln!(
            s,
            "{:<13} {}{id}  {}",
            status_word(o.status),
            o.planned.name,
            o.planned.image
        );
        if let Action::Update {
            installed_image,
            changes,
            ..
        } = &o.planned.action
        {
            if installed_image != o.planned.image.as_str() {
                let _ = writeln!(s, "    upgrade from {installed_image}");
            }
            if dry_run {
                for c in changes {
                    let show = |v: &Option<serde_json::Value>| {
                        v.as_ref().map_or("(absent)".to_string(), |v| v.to_string())
                    };
                    let _ = writeln!(
                        s,
                        "    {}: {} → {}",
                        c.pointer,
                        show(&c.installed),
                        show(&c.desired)
                    );
                }
            }
        }
        for w in &o.wrappers {
            let id = w.id.map_or(String::new(), |i| format!(" #{i}"));
            let site = if w.enabled_site {
                "site: enabled"
            } else {
                "site: disabled"
            };
            let projects = if w.enabled_projects.is_empty() {
                String::new()
            } else {
                format!("; projects: {}", w.enabled_projects.join(", "))
            };
            let changes = if w.changes.is_empty() {
                String::new()
            } else {
                format!(
                    " ({}{})",
                    if dry_run { "would " } else { "" },
                    w.changes.join(", ")
                )
            };
            let _ = writeln!(s, "    wrapper {}{id}: {site}{projects}{changes}", w.name);
        }
    }
}

/// One line per removal: `removed`, `would remove` (a dry run) or `failed`, the status word
/// padded to `width` (`sync` aligns it with its command lines; 0: one space), then the name,
/// the id and the image.
pub fn removal_lines(s: &mut String, removals: &[Removal], width: usize) {
    for r in removals {
        let word = if r.removed {
            "removed"
        } else if r.error.is_some() {
            "failed"
        } else {
            "would remove"
        };
        let _ = writeln!(
            s,
            "{word:<width$} {} (id {})  {}",
            r.name.as_deref().unwrap_or("-"),
            r.id,
            r.image.as_deref().unwrap_or("-")
        );
    }
}

/// A fleet image that could not be read or selected, in `--json` reports (`sync`, `status`).
#[derive(Serialize)]
pub struct FailedImage<'a> {
    image: &'a str,
    #[serde(flatten)]
    problem: &'a Problem,
}

pub fn failed_list(list: &[(String, Problem)]) -> Vec<FailedImage<'_>> {
    list.iter()
        .map(|(image, problem)| FailedImage { image, problem })
        .collect()
}
