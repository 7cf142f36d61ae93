//! Rendering what `install` and `sync` did, one line per command and one per wrapper.

use std::fmt::Write as _;

use xnat_cmd::apply::{Outcome, Status};
use xnat_cmd::plan::Action;

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
