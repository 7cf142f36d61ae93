//! Executes a plan through the XNAT client: create, update in place, replace; then enable the
//! wrappers site-wide and per project (site first — XNAT counts a project enablement only when
//! the site one holds) and verify by reading back. Reports every step; never prints.
//!
//! Failure mid-way: each write is one atomic XNAT call and the next run plans from what XNAT
//! then holds (looked up by name and repository), so a re-run completes the work without
//! duplicating anything.

use serde::Serialize;
use serde_json::Value;

use crate::command::CommandView;
use crate::plan::{Action, Planned};
use crate::xnat::client::{StatsSnapshot, XnatClient, XnatError};

/// What to enable after installing.
#[derive(Debug, Clone, Default)]
pub struct EnableSpec {
    pub site: bool,
    pub projects: Vec<String>,
}

impl EnableSpec {
    pub fn any(&self) -> bool {
        self.site || !self.projects.is_empty()
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

#[derive(Debug, Clone, Serialize)]
pub struct WrapperState {
    pub name: String,
    pub id: Option<i64>,
    pub site_enabled: Option<bool>,
    /// Projects (among those asked for) where the wrapper is effectively enabled.
    pub projects_enabled: Vec<String>,
    /// Writes made (or, in a dry run, that would be made) for this wrapper.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    #[serde(flatten)]
    pub planned: Planned,
    pub status: Status,
    pub id: Option<i64>,
    pub wrappers: Vec<WrapperState>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ApplyReport {
    pub dry_run: bool,
    pub commands: Vec<Outcome>,
    pub requests: StatsSnapshot,
}

impl ApplyReport {
    /// Did anything fail or stay unresolved (conflicts)?
    pub fn failed(&self) -> bool {
        self.commands
            .iter()
            .any(|o| matches!(o.status, Status::Failed | Status::Conflict))
    }

    pub fn writes(&self) -> usize {
        self.requests.writes
    }
}

/// Carry out `plan`. `installed` is the list the plan was made from (for unchanged commands'
/// wrapper ids, so a re-run makes no extra reads).
pub async fn apply(
    client: &XnatClient,
    plan: Vec<Planned>,
    installed: &[Value],
    enable: &EnableSpec,
    dry_run: bool,
) -> ApplyReport {
    let mut commands = Vec::with_capacity(plan.len());
    for planned in plan {
        commands.push(apply_one(client, planned, installed, enable, dry_run).await);
    }
    ApplyReport {
        dry_run,
        commands,
        requests: client.stats(),
    }
}

async fn apply_one(
    client: &XnatClient,
    planned: Planned,
    installed: &[Value],
    enable: &EnableSpec,
    dry_run: bool,
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
            out.error = Some(e.to_string());
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
    for (name, id) in wrappers {
        let mut state = WrapperState {
            name,
            id,
            site_enabled: None,
            projects_enabled: Vec::new(),
            changes: Vec::new(),
        };
        if enable.any() {
            if let Err(e) =
                enable_wrapper(client, &mut state, enable, dry_run, &mut out.warnings).await
            {
                out.status = Status::Failed;
                out.error = Some(format!("wrapper `{}`: {e}", state.name));
            }
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
    let find = |id: i64| {
        installed
            .iter()
            .find(|c| c.get("id").and_then(crate::command::lenient_i64) == Some(id))
            .cloned()
    };
    Ok(match &p.action {
        Action::Conflict { .. } => (Status::Conflict, None, None),
        Action::Unchanged { id } => (Status::Unchanged, Some(*id), find(*id)),
        Action::Create if dry_run => (Status::WouldCreate, None, None),
        Action::Update { id, .. } if dry_run => (Status::WouldUpdate, Some(*id), find(*id)),
        Action::Replace { id, .. } if dry_run => (Status::WouldReplace, Some(*id), None),
        Action::Create => {
            let id = client.create_command(&p.body, &p.image).await?;
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
            let new_id = client.create_command(&p.body, &p.image).await?;
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
    // A project read also says whether the wrapper is enabled site-wide, so with projects to
    // check the first one replaces the site read: a re-run costs one read per project.
    let mut first_project = match enable.projects.first() {
        Some(p) => Some((p.clone(), client.project_enabled(p, wid).await?)),
        None => None,
    };
    let mut site = match &first_project {
        Some((_, (site, _))) => *site,
        None => client.site_enabled(wid).await?,
    };
    if enable.site && !site {
        state.changes.push("enable site-wide".into());
        if !dry_run {
            client.set_site_enabled(wid, true).await?;
            site = client.site_enabled(wid).await?;
            // The project's effective state depends on the site flag: read it again.
            first_project = None;
            if !site {
                warnings.push(format!(
                    "wrapper `{}` still reads as disabled site-wide after enabling",
                    state.name
                ));
            }
        }
    }
    state.site_enabled = Some(site);
    for p in &enable.projects {
        let mut on = match first_project.take() {
            Some((fp, (_, on))) if &fp == p => on,
            _ => client.project_enabled(p, wid).await?.1,
        };
        if !on {
            state.changes.push(format!("enable in project {p}"));
            if !dry_run {
                client.set_project_enabled(p, wid, true).await?;
                on = client.project_enabled(p, wid).await?.1;
                if !on {
                    warnings.push(format!(
                        "wrapper `{}` is enabled in project {p} but XNAT does not count it while the wrapper is disabled site-wide: add --enable-site",
                        state.name
                    ));
                }
            }
        }
        if on {
            state.projects_enabled.push(p.clone());
        }
    }
    Ok(())
}
