//! Executes a plan through the XNAT client: create, update in place, replace; then enable the
//! wrappers site-wide and per project (site first — XNAT counts a project enablement only when
//! the site one holds) and verify by reading back. Reports every step; never prints.
//!
//! Failure mid-way: each write is one atomic XNAT call and the next run plans from what XNAT
//! then holds (looked up by name and repository), so a re-run completes the work without
//! duplicating anything.
//!
//! Concurrency: the commands of a plan are independent (the plan gives each installed command
//! to at most one of them: identity is name and repository, and twins are conflicts), so up to
//! `concurrency` of them are applied at once, each one's own steps in order. Outcomes come
//! back in the plan's order whatever order XNAT answers in; with 1 the requests are sent
//! exactly as one after another.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::command::{command_with_id, CommandView};
use crate::enablement::{EnablementReader, Snapshot, Want};
use crate::plan::{Action, Change, Planned};
use crate::problem::Problem;
use crate::xnat::client::{StatsSnapshot, XnatClient, XnatError};

/// What to enable after installing: for every wrapper, but those `wrappers` names.
#[derive(Debug, Clone, Default)]
pub struct EnableSpec {
    pub site: bool,
    pub projects: Vec<String>,
    /// Per-wrapper specs by wrapper name (a fleet's `enable.wrappers`), each complete: what it
    /// inherits resolved, `all` resolved against XNAT's projects, their own `wrappers` empty.
    /// Every wrapper of that name among the commands applied with this spec takes it.
    pub wrappers: BTreeMap<String, EnableSpec>,
}

impl EnableSpec {
    /// Does this spec enable anything (the wrappers it does not name)?
    pub fn any(&self) -> bool {
        self.site || !self.projects.is_empty()
    }

    /// The spec of the wrapper named `name`: its own when `wrappers` names it, else this one.
    pub fn for_wrapper(&self, name: &str) -> &EnableSpec {
        self.wrappers.get(name).unwrap_or(self)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Created,
    Updated,
    Replaced,
    Unchanged,
    WouldCreate,
    WouldUpdate,
    WouldReplace,
    Conflict,
    Failed,
}

/// A wrapper's enablement after the run, as XNAT reports it (names as in `list --json`).
#[derive(Debug, Clone, Serialize)]
pub struct WrapperState {
    pub name: String,
    pub id: Option<i64>,
    /// Enabled site-wide. A wrapper XNAT has just created is disabled until enabled; in a
    /// dry run, the state before the run.
    pub enabled_site: bool,
    /// Projects, among those asked to enable, where the wrapper is effectively enabled.
    pub enabled_projects: Vec<String>,
    /// Writes made (or, in a dry run, that would be made) for this wrapper.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<String>,
}

/// One command's outcome. Serialised as one flat object (see `OutcomeJson`): the plan's
/// facts, the `status` word, and `error` in the shape every error takes (`error`, `causes`,
/// `hint`).
#[derive(Debug, Clone)]
pub struct Outcome {
    pub planned: Planned,
    pub status: Status,
    pub id: Option<i64>,
    pub wrappers: Vec<WrapperState>,
    pub warnings: Vec<String>,
    pub error: Option<Problem>,
}

/// The JSON form of an [`Outcome`]: every key once.
#[derive(Serialize)]
struct OutcomeJson<'a> {
    source: &'a str,
    name: &'a str,
    version: Option<&'a str>,
    image: &'a str,
    status: Status,
    /// The command's id in XNAT after the run (the new id after a replace).
    id: Option<i64>,
    /// The image installed before an update or a replace.
    #[serde(skip_serializing_if = "Option::is_none")]
    previous_image: Option<&'a str>,
    /// What an update changes, as JSON pointers.
    #[serde(skip_serializing_if = "Option::is_none")]
    changes: Option<&'a [Change]>,
    /// The installed commands that made the match ambiguous.
    #[serde(skip_serializing_if = "Option::is_none")]
    conflict: Option<ConflictJson<'a>>,
    wrappers: &'a [WrapperState],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    warnings: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a Problem>,
}

#[derive(Serialize)]
struct ConflictJson<'a> {
    ids: &'a [i64],
    reason: &'a str,
}

impl Serialize for Outcome {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = &self.planned;
        let (previous_image, changes, conflict) = match &p.action {
            Action::Update {
                installed_image,
                changes,
                ..
            } => (
                Some(installed_image.as_str()),
                Some(changes.as_slice()),
                None,
            ),
            Action::Replace {
                installed_image, ..
            } => (Some(installed_image.as_str()), None, None),
            Action::Conflict { ids, reason } => (None, None, Some(ConflictJson { ids, reason })),
            Action::Create | Action::Unchanged { .. } => (None, None, None),
        };
        OutcomeJson {
            source: &p.source,
            name: &p.name,
            version: p.version.as_deref(),
            image: p.image.as_str(),
            status: self.status,
            id: self.id,
            previous_image,
            changes,
            conflict,
            wrappers: &self.wrappers,
            warnings: &self.warnings,
            error: self.error.as_ref(),
        }
        .serialize(s)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ApplyReport {
    pub dry_run: bool,
    pub commands: Vec<Outcome>,
    pub requests: StatsSnapshot,
}

/// Outcomes counted the way every summary line and table shows them (a dry run's "would"
/// states count with what they would be).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub created: usize,
    pub updated: usize,
    /// Unchanged commands whose enablement was (or, in a dry run, would be) written: not
    /// "unchanged" to whoever reads the summary.
    pub enabled: usize,
    /// Unchanged, enablement included.
    pub unchanged: usize,
    /// Failed or in conflict.
    pub failed: usize,
}

impl Tally {
    pub fn of(outcomes: &[Outcome]) -> Self {
        let mut t = Tally::default();
        for o in outcomes {
            match o.status {
                Status::Created | Status::Replaced | Status::WouldCreate | Status::WouldReplace => {
                    t.created += 1
                }
                Status::Updated | Status::WouldUpdate => t.updated += 1,
                Status::Unchanged if o.wrappers.iter().any(|w| !w.changes.is_empty()) => {
                    t.enabled += 1
                }
                Status::Unchanged => t.unchanged += 1,
                Status::Failed | Status::Conflict => t.failed += 1,
            }
        }
        t
    }
}

impl ApplyReport {
    /// Did anything fail or stay unresolved (conflicts)?
    pub fn failed(&self) -> bool {
        Tally::of(&self.commands).failed > 0
    }

    pub fn writes(&self) -> usize {
        self.requests.writes
    }
}

/// Carry out `plan`, every command with the same enablement, up to `concurrency` commands at
/// once ([`apply_each`]). `installed` is the list the plan was made from (for unchanged
/// commands' wrapper ids, so a re-run makes no extra reads).
pub async fn apply(
    client: &XnatClient,
    plan: Vec<Planned>,
    installed: &[Value],
    enable: &EnableSpec,
    dry_run: bool,
    concurrency: usize,
) -> ApplyReport {
    let items = plan.into_iter().map(|p| (p, enable)).collect();
    ApplyReport {
        dry_run,
        commands: apply_each(client, items, installed, dry_run, concurrency).await,
        requests: client.stats(),
    }
}

/// Carry out each planned command with its own enablement (`sync`: each image's), up to
/// `concurrency` at once (0 counts as 1); the outcomes in the order of `items`.
pub async fn apply_each(
    client: &XnatClient,
    items: Vec<(Planned, &EnableSpec)>,
    installed: &[Value],
    dry_run: bool,
    concurrency: usize,
) -> Vec<Outcome> {
    use futures::stream::StreamExt as _;
    let wants = wants(&items, installed, dry_run);
    let snapshot = Snapshot::read(client, &wants, concurrency).await;
    drop(wants);
    let snapshot = &snapshot;
    // `buffered`, not `buffer_unordered`: at most `concurrency` run at once and they are
    // yielded in order, so reports stay deterministic.
    futures::stream::iter(items)
        .map(|(planned, enable)| apply_one(client, planned, installed, enable, dry_run, snapshot))
        .buffered(concurrency.max(1))
        .collect()
        .await
}

/// The wrappers whose enablement [`apply_one`] will read from before any write of theirs:
/// those of commands left unchanged (or, in a dry run, updated), as `installed` lists them.
fn wants<'a>(
    items: &'a [(Planned, &EnableSpec)],
    installed: &[Value],
    dry_run: bool,
) -> Vec<Want<'a>> {
    let mut out = Vec::new();
    for (planned, enable) in items {
        let id = match &planned.action {
            Action::Unchanged { id } => *id,
            Action::Update { id, .. } if dry_run => *id,
            _ => continue,
        };
        let Some(command) = command_with_id(installed, id) else {
            continue;
        };
        for w in CommandView::new(command).wrappers() {
            let enable = enable.for_wrapper(&w.name().unwrap_or_default());
            let projects: &[String] = if enable.any() { &enable.projects } else { &[] };
            if let Some(wid) = w.id() {
                out.push(Want {
                    wid,
                    contexts: w.contexts(),
                    projects,
                });
            }
        }
    }
    out
}

async fn apply_one(
    client: &XnatClient,
    planned: Planned,
    installed: &[Value],
    enable: &EnableSpec,
    dry_run: bool,
    snapshot: &Snapshot,
) -> Outcome {
    let mut out = Outcome {
        status: Status::Failed,
        id: None,
        wrappers: Vec::new(),
        warnings: Vec::new(),
        error: None,
        planned,
    };
    let stored = match write_command(client, &out.planned, installed, dry_run).await {
        Ok((status, id, stored)) => {
            out.status = status;
            out.id = id;
            stored
        }
        Err(e) => {
            out.error = Some(Problem::from_error(&e).with_hint(e.hint()));
            return out;
        }
    };
    if out.status == Status::Conflict {
        return out;
    }
    // The wrappers as XNAT holds them (with ids), or as planned in a dry-run create.
    let source = stored.as_ref().unwrap_or(&out.planned.body);
    let wrappers: Vec<(String, Option<i64>)> = CommandView::new(source)
        .wrappers()
        .iter()
        .map(|w| (w.name().unwrap_or_default(), w.id()))
        .collect();
    // XNAT creates wrappers disabled: a fresh command's state needs no read.
    let fresh = matches!(out.status, Status::Created | Status::Replaced);
    // The bulk answers hold for the commands nothing has written to yet ([`wants`]).
    let snapshot =
        matches!(out.status, Status::Unchanged | Status::WouldUpdate).then_some(snapshot);
    for (name, id) in wrappers {
        let enable = enable.for_wrapper(&name);
        let mut state = WrapperState {
            name,
            id,
            enabled_site: false,
            enabled_projects: Vec::new(),
            changes: Vec::new(),
        };
        let result = if enable.any() {
            enable_wrapper(
                client,
                snapshot,
                &mut state,
                enable,
                dry_run,
                &mut out.warnings,
            )
            .await
        } else {
            match id {
                Some(wid) if !fresh => EnablementReader::start(client, snapshot, wid, &[])
                    .await
                    .map(|read| state.enabled_site = read.site()),
                _ => Ok(()),
            }
        };
        if let Err(e) = result {
            out.status = Status::Failed;
            out.error = Some(
                Problem::from_error(&e)
                    .with_hint(e.hint())
                    .about(&format!("wrapper `{}`", state.name)),
            );
        }
        out.wrappers.push(state);
    }
    out
}

async fn write_command(
    client: &XnatClient,
    p: &Planned,
    installed: &[Value],
    dry_run: bool,
) -> Result<(Status, Option<i64>, Option<Value>), XnatError> {
    let find = |id: i64| crate::command::command_with_id(installed, id).cloned();
    Ok(match &p.action {
        Action::Conflict { .. } => (Status::Conflict, None, None),
        Action::Unchanged { id } => (Status::Unchanged, Some(*id), find(*id)),
        Action::Create if dry_run => (Status::WouldCreate, None, None),
        Action::Update { id, .. } if dry_run => (Status::WouldUpdate, Some(*id), find(*id)),
        Action::Replace { id, .. } if dry_run => (Status::WouldReplace, Some(*id), None),
        Action::Create => {
            let id = client.create_command(&p.body, p.image.as_str()).await?;
            (
                Status::Created,
                Some(id),
                Some(client.get_command(id).await?),
            )
        }
        Action::Update { id, .. } => {
            client.update_command(*id, &p.body).await?;
            (
                Status::Updated,
                Some(*id),
                Some(client.get_command(*id).await?),
            )
        }
        Action::Replace { id, .. } => {
            client.delete_command(*id).await?;
            let new_id = client.create_command(&p.body, p.image.as_str()).await?;
            (
                Status::Replaced,
                Some(new_id),
                Some(client.get_command(new_id).await?),
            )
        }
    })
}

async fn enable_wrapper(
    client: &XnatClient,
    snapshot: Option<&Snapshot>,
    state: &mut WrapperState,
    enable: &EnableSpec,
    dry_run: bool,
    warnings: &mut Vec<String>,
) -> Result<(), XnatError> {
    let Some(wid) = state.id else {
        // A dry-run create: nothing exists to read; everything asked for would be written.
        if enable.site {
            state.changes.push("enable site-wide".into());
        }
        for p in &enable.projects {
            state.changes.push(format!("enable in project {p}"));
        }
        return Ok(());
    };
    let mut read = EnablementReader::start(client, snapshot, wid, &enable.projects).await?;
    let mut site = read.site();
    if enable.site && !site {
        state.changes.push("enable site-wide".into());
        if !dry_run {
            client.set_site_enabled(wid, true).await?;
            site = read.reread_site().await?;
            if !site {
                warnings.push(format!(
                    "wrapper `{}` still reads as disabled site-wide after enabling",
                    state.name
                ));
            }
        }
    }
    state.enabled_site = site;
    for p in &enable.projects {
        let mut on = read.project(p).await?;
        if !on {
            state.changes.push(format!("enable in project {p}"));
            if !dry_run {
                client.set_project_enabled(p, wid, true).await?;
                on = read.project(p).await?;
                if !on {
                    warnings.push(format!(
                        "wrapper `{}` is enabled in project {p} but XNAT does not count it while the wrapper is disabled site-wide: add --enable-site",
                        state.name
                    ));
                }
            }
        }
        if on {
            state.enabled_projects.push(p.clone());
        }
    }
    Ok(())
}

/// A command removed (or, in a dry run, that would be removed): `uninstall`'s targets and
/// `sync --prune`'s orphans.
#[derive(Debug, Clone, Serialize)]
pub struct Removal {
    pub id: i64,
    pub name: Option<String>,
    pub image: Option<String>,
    pub removed: bool,
    /// Why it could not be removed (`sync` goes on with the next; `uninstall` stops).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Problem>,
}

impl Removal {
    /// An installed command (as XNAT lists it) to remove; `None` when it has no id.
    pub fn of(command: &Value) -> Option<Removal> {
        let v = CommandView::new(command);
        Some(Removal {
            id: v.id()?,
            name: v.name(),
            image: v.image(),
            removed: false,
            error: None,
        })
    }

    /// Delete it from XNAT; `removed` once XNAT has.
    pub async fn remove(&mut self, client: &XnatClient) -> Result<(), XnatError> {
        client.delete_command(self.id).await?;
        self.removed = true;
        Ok(())
    }
}

/// Projects asked to enable that XNAT does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", describe_unknown(.missing))]
pub struct UnknownProjects {
    /// Each unknown id with the existing ids it resembles.
    pub missing: Vec<(String, Vec<String>)>,
}

fn describe_unknown(missing: &[(String, Vec<String>)]) -> String {
    let parts: Vec<String> = missing
        .iter()
        .map(|(id, close)| {
            if close.is_empty() {
                format!("`{id}`")
            } else {
                let c: Vec<String> = close.iter().map(|c| format!("`{c}`")).collect();
                format!("`{id}` (did you mean {}?)", c.join(" or "))
            }
        })
        .collect();
    let (noun, verb) = if missing.len() == 1 {
        ("project", "does")
    } else {
        ("projects", "do")
    };
    format!("{noun} {} {verb} not exist in XNAT", parts.join(", "))
}

impl crate::problem::Hint for UnknownProjects {
    fn hint(&self) -> Option<String> {
        Some("project ids are case-sensitive, as in XNAT's URLs; nothing was written".into())
    }
}

/// Check that every project to enable exists, comparing ids exactly (XNAT's project ids are
/// case-sensitive). Close matches — the same id in another case, or a few edits away — are
/// offered for each unknown one.
pub fn check_projects(asked: &[String], existing: &[String]) -> Result<(), UnknownProjects> {
    let missing: Vec<(String, Vec<String>)> = asked
        .iter()
        .filter(|p| !existing.contains(p))
        .map(|p| (p.clone(), close_matches(p, existing)))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(UnknownProjects { missing })
    }
}

fn close_matches(id: &str, existing: &[String]) -> Vec<String> {
    let lower = id.to_lowercase();
    let mut scored: Vec<(usize, &String)> = existing
        .iter()
        .filter_map(|e| {
            let d = strsim::levenshtein(&lower, &e.to_lowercase());
            // Short ids tolerate one edit, longer ones two.
            let limit = if id.chars().count() <= 4 { 1 } else { 2 };
            (d <= limit).then_some((d, e))
        })
        .collect();
    scored.sort();
    scored.into_iter().take(3).map(|(_, e)| e.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn projects_must_exist_exactly() {
        let existing = v(&["DEMO", "P1", "Neuro_7T", "other"]);
        assert_eq!(check_projects(&v(&["DEMO", "P1"]), &existing), Ok(()));
        assert_eq!(check_projects(&[], &existing), Ok(()));
        let e =
            check_projects(&v(&["demo", "NOSUCHPROJ", "neuro_7t", "P2"]), &existing).unwrap_err();
        assert_eq!(
            e.missing,
            vec![
                ("demo".to_string(), v(&["DEMO"])),
                ("NOSUCHPROJ".to_string(), vec![]),
                ("neuro_7t".to_string(), v(&["Neuro_7T"])),
                ("P2".to_string(), v(&["P1"])),
            ]
        );
        assert_eq!(
            e.to_string(),
            "projects `demo` (did you mean `DEMO`?), `NOSUCHPROJ`, `neuro_7t` (did you mean `Neuro_7T`?), `P2` (did you mean `P1`?) do not exist in XNAT"
        );
        let one = check_projects(&v(&["X"]), &[]).unwrap_err();
        assert_eq!(one.to_string(), "project `X` does not exist in XNAT");
    }
}
