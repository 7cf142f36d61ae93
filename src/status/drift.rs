//! Drift in two steps: [`gather`] reads what one site holds (the installed commands, its
//! projects when `projects: all` asks for them, the enablement of the wrappers the declared
//! commands match) into a [`Gathered`]; [`drift`] compares it with what is declared, with no
//! I/O, so the rules are tested with tables.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::command::{command_with_id, CommandView};
use crate::enablement::{EnablementReader, Snapshot, Want};
use crate::fleet::run::Declared;
use crate::plan::{plan, Action, Desired, PlanOptions, Planned};
use crate::sync::orphans;
use crate::xnat::client::{XnatClient, XnatError};

use super::{Drift, DriftKind};

/// What one site holds, as far as its drift needs it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Gathered {
    /// The installed commands, as XNAT lists them.
    pub installed: Vec<Value>,
    /// Every project XNAT lists (read only when a declared image asks for `projects: all`).
    pub projects: Vec<String>,
    /// By wrapper id: the enablement of the wrappers of the installed commands that declared
    /// commands asking for enablement match. A wrapper not here counts as enabled nowhere.
    pub wrappers: BTreeMap<i64, Enablement>,
}

/// One wrapper's enablement as XNAT reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Enablement {
    pub site: bool,
    /// The projects read, each with whether the wrapper is effectively enabled in it.
    pub projects: BTreeMap<String, bool>,
}

/// Every declared command planned against `installed`, in declared order (one plan, as `sync`
/// makes it), each with the image it belongs to.
fn planned<'d>(declared: &'d [Declared], installed: &[Value]) -> Vec<(&'d Declared, Planned)> {
    let desired: Vec<Desired> = declared.iter().flat_map(|d| d.commands.clone()).collect();
    let mut all = plan(&desired, installed, PlanOptions::default()).into_iter();
    let mut out = Vec::with_capacity(desired.len());
    for d in declared {
        out.extend(all.by_ref().take(d.commands.len()).map(|p| (d, p)));
    }
    out
}

/// The id of the installed command a plan matched (none for a create or a conflict).
fn matched(action: &Action) -> Option<i64> {
    match action {
        Action::Unchanged { id } | Action::Update { id, .. } | Action::Replace { id, .. } => {
            Some(*id)
        }
        Action::Create | Action::Conflict { .. } => None,
    }
}

/// The wrappers (id, name) of installed command `id`.
fn wrappers_of(installed: &[Value], id: i64) -> Vec<(i64, String)> {
    command_with_id(installed, id)
        .map(|c| {
            CommandView::new(c)
                .wrappers()
                .iter()
                .filter_map(|w| Some((w.id()?, w.name().unwrap_or_default())))
                .collect()
        })
        .unwrap_or_default()
}

/// Read what one connected site holds for `declared`: one list call, the projects when
/// `projects: all` asks, and each matched wrapper's enablement where enablement is asked for
/// (in bulk where XNAT's bulk reads answer, [`Snapshot`]; else one read per project, or one
/// for the site). `concurrency`: bulk reads at once.
pub async fn gather(
    client: &XnatClient,
    declared: &[Declared],
    concurrency: usize,
) -> Result<Gathered, XnatError> {
    let all = declared.iter().any(Declared::asks_all_projects);
    // The two lists asked together (one round trip), their errors taken in this order.
    let (installed, projects) = futures::join!(client.list_commands(), async {
        if all {
            client.projects().await
        } else {
            Ok(Vec::new())
        }
    });
    let (installed, projects) = (installed?, projects?);
    // Each matched wrapper asked to be enabled somewhere, with its contexts and the projects
    // asked for it (its image's, or its own override's).
    let mut asked_by: Vec<(i64, Vec<String>, Vec<String>)> = Vec::new();
    for (d, p) in planned(declared, &installed) {
        let Some(command) = matched(&p.action).and_then(|id| command_with_id(&installed, id))
        else {
            continue;
        };
        for w in CommandView::new(command).wrappers() {
            let (site, asked) = d.enable_for(&w.name().unwrap_or_default());
            let asked = asked.resolve(&projects);
            if let (Some(wid), true) = (w.id(), site || !asked.is_empty()) {
                asked_by.push((wid, w.contexts(), asked));
            }
        }
    }
    let wants: Vec<Want> = asked_by
        .iter()
        .map(|(wid, contexts, asked)| Want {
            wid: *wid,
            contexts: contexts.clone(),
            projects: asked,
        })
        .collect();
    let snapshot = Snapshot::read(client, &wants, concurrency).await;
    let mut wrappers: BTreeMap<i64, Enablement> = BTreeMap::new();
    for (wid, _, asked) in &asked_by {
        let mut read = EnablementReader::start(client, Some(&snapshot), *wid, asked).await?;
        let e = wrappers.entry(*wid).or_default();
        e.site = read.site();
        for proj in asked {
            e.projects.insert(proj.clone(), read.project(proj).await?);
        }
    }
    Ok(Gathered {
        installed,
        projects,
        wrappers,
    })
}

/// How the site of `gathered` differs from `declared`: per declared command, in order, its
/// state (missing, outdated, modified, conflict) and each wrapper not enabled where asked;
/// then, with `prune` globs, the orphans (none while a declared image is unreadable: its
/// commands are unknown).
pub fn drift(declared: &[Declared], gathered: &Gathered, prune: Option<&[String]>) -> Vec<Drift> {
    let mut out = Vec::new();
    let planned = planned(declared, &gathered.installed);
    for (d, p) in &planned {
        let drift = |kind, id, detail: String| Drift {
            kind,
            command: p.name.clone(),
            image: p.image.to_string(),
            id,
            detail,
        };
        match &p.action {
            Action::Create => out.push(drift(DriftKind::Missing, None, "not installed".into())),
            // The detail keeps the advice (a drift line has no hint line of its own).
            Action::Conflict { ids, reason } => out.push(drift(
                DriftKind::Conflict,
                None,
                match p.action.hint() {
                    Some(hint) => format!("{reason}; {hint} (ids {ids:?})"),
                    None => format!("{reason} (ids {ids:?})"),
                },
            )),
            Action::Update {
                id,
                installed_image,
                changes,
            } => out.push(if installed_image != p.image.as_str() {
                drift(
                    DriftKind::Outdated,
                    Some(*id),
                    format!("installed as {installed_image}"),
                )
            } else {
                let pointers: Vec<&str> =
                    changes.iter().take(5).map(|c| c.pointer.as_str()).collect();
                let more = match changes.len().saturating_sub(pointers.len()) {
                    0 => String::new(),
                    n => format!(" and {n} more"),
                };
                drift(
                    DriftKind::Modified,
                    Some(*id),
                    format!("differs at {}{more}", pointers.join(", ")),
                )
            }),
            Action::Unchanged { .. } | Action::Replace { .. } => {}
        }
        let Some(id) = matched(&p.action) else {
            continue;
        };
        for (wid, name) in wrappers_of(&gathered.installed, id) {
            // The wrapper's own enablement: its override's keys, else its image's.
            let (site, asked) = d.enable_for(&name);
            let asked = asked.resolve(&gathered.projects);
            let state = gathered.wrappers.get(&wid).cloned().unwrap_or_default();
            let mut missing: Vec<String> = Vec::new();
            if site && !state.site {
                missing.push("site-wide".into());
            }
            for proj in &asked {
                if !state.projects.get(proj).copied().unwrap_or(false) {
                    missing.push(format!("in project {proj}"));
                }
            }
            if !missing.is_empty() {
                out.push(drift(
                    DriftKind::Enablement,
                    Some(id),
                    format!("wrapper `{name}` not enabled {}", missing.join(", ")),
                ));
            }
        }
    }
    if let Some(globs) = prune {
        // With an unreadable image `orphans` finds none and says why pruning stops: sync's
        // business; here the site already reports the image as not checked.
        let all: Vec<Planned> = planned.into_iter().map(|(_, p)| p).collect();
        let mut not_pruning = Vec::new();
        for r in orphans(&gathered.installed, &all, declared, globs, &mut not_pruning) {
            out.push(Drift {
                kind: DriftKind::Orphan,
                command: r.name.unwrap_or_default(),
                image: r.image.unwrap_or_default(),
                id: Some(r.id),
                detail: "inside `prune:`, declared nowhere for this site".into(),
            });
        }
    }
    out
}

#[cfg(test)]
#[path = "drift_tests.rs"]
mod tests;
