//! `export`: the fleet file that reproduces what one XNAT site holds, so a site set up by hand
//! can be adopted by `sync` without undoing it (Terraform's import, Argo CD's adoption), copied
//! to another site, or compared with one.
//!
//! Three steps: [`gather`] reads the site (commands, projects, every wrapper's effective
//! enablement, in bulk where XNAT's bulk reads answer: [`crate::enablement`]); the caller reads
//! each installed image's label ([`Label`]); [`build`] decides, with no I/O, what each entry is:
//! - an image whose installed commands are exactly (or a part of) its label's, definitions
//!   equal as `sync` plans them: one `image:` entry (with `commands:` for a part);
//! - a command whose definition differs from its image's label (edited in XNAT), or that the
//!   label lacks, or whose image could not be read: a command file beside the fleet file and a
//!   `command-file:` entry, so nothing is lost;
//! - enablement as XNAT reports it (effective: a project counts only while the wrapper is
//!   enabled site-wide): the image's most common state, and `wrappers:` for the others;
//!   `projects: all` when every project has it (unless `no_all`);
//! - `pin-digest` where the installed reference is `repository@digest`;
//! - `prune:` with exactly the repositories seen (every installed command is declared, so a
//!   `sync --prune` of the file removes nothing until an entry is dropped).
//!
//! [`to_yaml`] writes it with comments explaining each decision; [`to_json`] the same without.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use crate::command::CommandView;
use crate::enablement::{EnablementReader, Snapshot, Want};
use crate::plan::{plan, Action, Desired, PlanOptions};
use crate::xnat::client::{XnatClient, XnatError};

/// A wrapper's effective enablement.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Enabled {
    pub site: bool,
    /// Projects where it is effectively enabled (empty when not enabled site-wide).
    pub projects: BTreeSet<String>,
}

/// What one site holds.
#[derive(Debug, Clone, Default)]
pub struct Holdings {
    /// The installed commands, as XNAT lists them.
    pub installed: Vec<Value>,
    /// Every project XNAT lists to the user.
    pub projects: Vec<String>,
    /// Each wrapper's enablement, by wrapper id.
    pub wrappers: BTreeMap<i64, Enabled>,
}

/// Read what a connected site holds: the command and project lists, then every wrapper's
/// enablement site-wide and in every project (bulk reads first, then up to `concurrency`
/// wrappers at once for what they leave open). Reads only.
pub async fn gather(client: &XnatClient, concurrency: usize) -> Result<Holdings, XnatError> {
    use futures::stream::StreamExt as _;
    let (installed, projects) = futures::join!(client.list_commands(), client.projects());
    let (installed, mut projects) = (installed?, projects?);
    projects.sort();
    let ids: Vec<(i64, Vec<String>)> = installed
        .iter()
        .flat_map(|c| CommandView::new(c).wrappers())
        .filter_map(|w| Some((w.id()?, w.contexts())))
        .collect();
    let wants: Vec<Want> = ids
        .iter()
        .map(|(wid, contexts)| Want {
            wid: *wid,
            contexts: contexts.clone(),
            projects: &projects,
        })
        .collect();
    let snapshot = Snapshot::read(client, &wants, concurrency).await;
    let (snapshot, projects_ref) = (&snapshot, &projects);
    let read: Vec<Result<(i64, Enabled), XnatError>> = futures::stream::iter(&ids)
        .map(|(wid, _)| async move {
            let mut r = EnablementReader::start(client, Some(snapshot), *wid, projects_ref).await?;
            let mut on = Enabled {
                site: r.site(),
                projects: BTreeSet::new(),
            };
            // Not enabled site-wide: enabled in no project (XNAT's effective rule).
            if on.site {
                for p in projects_ref {
                    if r.project(p).await? {
                        on.projects.insert(p.clone());
                    }
                }
            }
            Ok((*wid, on))
        })
        .buffered(concurrency.max(1))
        .collect()
        .await;
    let wrappers = read.into_iter().collect::<Result<_, _>>()?;
    Ok(Holdings {
        installed,
        projects,
        wrappers,
    })
}

/// An installed image's label, as read for the export.
#[derive(Debug, Clone)]
pub enum Label {
    /// Its commands, prepared as `sync` would install them from this image.
    Read(Vec<Desired>),
    /// Why it could not be read.
    Unreadable(String),
}

#[derive(Debug, Clone, Copy, Default)]
pub struct ExportOptions {
    /// Write every project's id instead of `projects: all`.
    pub no_all: bool,
}

/// The fleet file to write, and the command files beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct Export {
    pub entries: Vec<Entry>,
    /// Repositories seen, sorted.
    pub prune: Vec<String>,
    /// Command files: path relative to the fleet file, content.
    pub files: Vec<(String, Value)>,
    /// What the admin should know (an image that could not be read, a command not exported).
    pub warnings: Vec<String>,
    /// Every project of the site when the export was made (for the `all` comments).
    pub projects: Vec<String>,
}

/// One `images:` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub source: EntrySource,
    pub enable: EnableOut,
    /// Why the entry is written this way (YAML comments).
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum EntrySource {
    Image {
        image: String,
        /// Only these commands of the label.
        commands: Option<Vec<String>>,
        pin_digest: bool,
    },
    CommandFile {
        path: String,
        image: String,
    },
}

/// `projects:` as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectsOut {
    All,
    List(Vec<String>),
}

/// An entry's `enable:`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EnableOut {
    pub site: bool,
    /// `None`: no project.
    pub projects: Option<ProjectsOut>,
    /// Wrappers whose state differs from the image level: name, `site` when it differs,
    /// `projects` when they differ (an empty list for none).
    pub wrappers: Vec<(String, Option<bool>, Option<ProjectsOut>)>,
}

impl EnableOut {
    fn is_empty(&self) -> bool {
        !self.site && self.projects.is_none() && self.wrappers.is_empty()
    }
}

/// Decide every entry of the export of `holdings`, with each installed image's label
/// (`labels`, by the image text XNAT holds; an image missing there counts as unreadable).
pub fn build(holdings: &Holdings, labels: &BTreeMap<String, Label>, opts: ExportOptions) -> Export {
    let mut out = Export {
        entries: Vec::new(),
        prune: Vec::new(),
        files: Vec::new(),
        warnings: Vec::new(),
        projects: holdings.projects.clone(),
    };
    // Installed commands by image text, sorted; each image's commands sorted by name.
    let mut by_image: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for c in &holdings.installed {
        let v = CommandView::new(c);
        match v.image() {
            Some(image) => by_image.entry(image.trim().to_string()).or_default().push(c),
            None => out.warnings.push(format!(
                "command `{}` (id {}) names no image: a fleet entry needs one, so it is not exported",
                v.name().unwrap_or_default(),
                v.id().map_or("?".into(), |i| i.to_string())
            )),
        }
    }
    let mut repositories = BTreeSet::new();
    let mut stems = BTreeSet::new();
    let all = |set: &BTreeSet<String>| projects_out(set, &holdings.projects, opts.no_all);
    for (image, mut commands) in by_image {
        commands.sort_by_key(|c| CommandView::new(c).name());
        repositories.insert(crate::reference::repository(&image).to_string());
        let (exact, reason) = match labels.get(&image) {
            Some(Label::Read(desired)) => (exact_matches(desired, &commands), None),
            Some(Label::Unreadable(why)) => (Vec::new(), Some(why.clone())),
            None => (Vec::new(), Some("it was not read".to_string())),
        };
        if let Some(why) = &reason {
            out.warnings.push(format!(
                "{image} could not be read ({why}): its {} written as command files",
                plural(commands.len(), "command is", "commands are")
            ));
        }
        if !exact.is_empty() {
            let label_len = match labels.get(&image) {
                Some(Label::Read(d)) => d.len(),
                _ => 0,
            };
            let names: Vec<String> = exact
                .iter()
                .filter_map(|c| CommandView::new(c).name())
                .collect();
            let mut notes = Vec::new();
            let selection = (names.len() < label_len).then(|| {
                notes.push(format!(
                    "the site holds {} of the label's {label_len} commands",
                    names.len()
                ));
                names.clone()
            });
            let pin_digest = is_digest_only(&image);
            if pin_digest {
                notes.push("installed under a digest".into());
            }
            let (enable, more) = enable_of(&exact, holdings, &all);
            notes.extend(more);
            out.entries.push(Entry {
                source: EntrySource::Image {
                    image: image.clone(),
                    commands: selection,
                    pin_digest,
                },
                enable,
                notes,
            });
        }
        let label_names: BTreeSet<String> = match labels.get(&image) {
            Some(Label::Read(d)) => d
                .iter()
                .filter_map(|d| CommandView::new(&d.command).name())
                .collect(),
            _ => BTreeSet::new(),
        };
        // By id (every listed command has one): linear, not a scan of `exact` per command.
        let exact_ids: BTreeSet<Option<i64>> =
            exact.iter().map(|c| CommandView::new(c).id()).collect();
        for c in commands
            .iter()
            .filter(|c| !exact_ids.contains(&CommandView::new(c).id()))
        {
            let v = CommandView::new(c);
            let name = v.name().unwrap_or_else(|| "command".into());
            let stem = unique_stem(&name, &mut stems);
            let path = format!("commands/{stem}.json");
            let why = match &reason {
                Some(_) => format!("{image} could not be read: `{name}` kept as XNAT holds it"),
                None if label_names.contains(&name) => {
                    format!("`{name}` differs from the label of {image} (edited in XNAT)")
                }
                None => format!("the label of {image} has no command `{name}`"),
            };
            let mut notes = vec![why];
            let (enable, more) = enable_of(&[*c], holdings, &all);
            notes.extend(more);
            out.files.push((path.clone(), file_content(c)));
            out.entries.push(Entry {
                source: EntrySource::CommandFile {
                    path,
                    image: image.clone(),
                },
                enable,
                notes,
            });
        }
    }
    out.prune = repositories.into_iter().collect();
    out
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The installed commands (of one image text) that are exactly a label command as `sync`
/// would install it: planned `Unchanged`.
fn exact_matches<'v>(desired: &[Desired], commands: &[&'v Value]) -> Vec<&'v Value> {
    let installed: Vec<Value> = commands.iter().map(|c| (*c).clone()).collect();
    let unchanged: BTreeSet<i64> = plan(desired, &installed, PlanOptions::default())
        .iter()
        .filter_map(|p| match p.action {
            Action::Unchanged { id } => Some(id),
            _ => None,
        })
        .collect();
    commands
        .iter()
        .copied()
        .filter(|c| {
            CommandView::new(c)
                .id()
                .is_some_and(|id| unchanged.contains(&id))
        })
        .collect()
}

/// `repository@sha256:…` with no tag: installed pinned to a digest (an entry's `pin-digest`,
/// and how its label is read).
pub fn is_digest_only(image: &str) -> bool {
    image
        .rsplit_once('@')
        .is_some_and(|(name, _)| !crate::reference::xnat_has_tag(name))
}

/// `projects:` for a set: `all` when it is every project of the site (and there is one).
fn projects_out(set: &BTreeSet<String>, every: &[String], no_all: bool) -> Option<ProjectsOut> {
    if set.is_empty() {
        None
    } else if !no_all && set.len() == every.len() && every.iter().all(|p| set.contains(p)) {
        Some(ProjectsOut::All)
    } else {
        Some(ProjectsOut::List(set.iter().cloned().collect()))
    }
}

/// An entry's `enable:` from its commands' wrappers: the most common state (ties: the first
/// wrapper's) at the image level, every other wrapper under `wrappers:`; with the notes it
/// needs.
fn enable_of(
    commands: &[&Value],
    holdings: &Holdings,
    all: &dyn Fn(&BTreeSet<String>) -> Option<ProjectsOut>,
) -> (EnableOut, Vec<String>) {
    let mut notes = Vec::new();
    // Each wrapper name once, in order (maps, not scans: a label may hold thousands).
    let mut states: Vec<(String, Enabled)> = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for c in commands {
        for w in CommandView::new(c).wrappers() {
            let name = w.name().unwrap_or_default();
            let state = w
                .id()
                .and_then(|id| holdings.wrappers.get(&id))
                .cloned()
                .unwrap_or_default();
            match seen.get(&name) {
                Some(&i) if states[i].1 != state => notes.push(format!(
                    "two wrappers named `{name}` are enabled differently; the first one's state is written"
                )),
                Some(_) => {}
                None => {
                    seen.insert(name.clone(), states.len());
                    states.push((name, state));
                }
            }
        }
    }
    // The most common state, the first among equals.
    let mut counts: BTreeMap<&Enabled, (usize, usize)> = BTreeMap::new();
    for (i, (_, s)) in states.iter().enumerate() {
        counts.entry(s).or_insert((0, i)).0 += 1;
    }
    let base = counts
        .iter()
        .max_by_key(|(_, (n, first))| (*n, std::cmp::Reverse(*first)))
        .map(|(s, _)| (*s).clone())
        .unwrap_or_default();
    let mut enable = EnableOut {
        site: base.site,
        projects: all(&base.projects),
        wrappers: Vec::new(),
    };
    for (name, s) in &states {
        if *s == base {
            continue;
        }
        let site = (s.site != base.site).then_some(s.site);
        let projects = (s.projects != base.projects)
            .then(|| all(&s.projects).unwrap_or(ProjectsOut::List(Vec::new())));
        enable.wrappers.push((name.clone(), site, projects));
    }
    if enable.projects == Some(ProjectsOut::All)
        || enable
            .wrappers
            .iter()
            .any(|(_, _, p)| *p == Some(ProjectsOut::All))
    {
        notes.push(
            "`all` is every project the site has now, and also every project created later (--no-all lists them)"
                .into(),
        );
    }
    (enable, notes)
}

/// A file name for command `name`: its safe characters, numbered when taken.
fn unique_stem(name: &str, taken: &mut BTreeSet<String>) -> String {
    let mut base: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    if base.trim_matches('.').is_empty() {
        base = "command".into();
    }
    let mut stem = base.clone();
    let mut n = 2;
    while !taken.insert(stem.to_lowercase()) {
        stem = format!("{base}-{n}");
        n += 1;
    }
    stem
}

/// A command as XNAT holds it, without what XNAT assigns (ids, hash): what a `sync` of its
/// command file creates again.
fn file_content(command: &Value) -> Value {
    let mut v = command.clone();
    crate::plan::strip_ids(&mut v);
    v
}

// ---- writing ------------------------------------------------------------------------------

/// A YAML scalar: plain when it cannot be read as anything but this string, else JSON's
/// double-quoted form (valid YAML).
fn scalar(s: &str) -> String {
    let plain = s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | ':' | '@' | '+')
        })
        && !s.ends_with(':')
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n"
        );
    if plain {
        s.to_string()
    } else {
        Value::String(s.to_string()).to_string()
    }
}

/// The fleet file, YAML with a comment for each decision.
pub fn to_yaml(export: &Export) -> String {
    let mut s = String::new();
    s.push_str(
        "# Written by `xnat-cmd export`: what the site held, as a fleet file.\n\
         # `xnat-cmd status FILE` against that site reports no drift; `xnat-cmd sync FILE`\n\
         # makes another site hold the same. Enablement is XNAT's effective one (a project\n\
         # counts only while the wrapper is enabled site-wide).\n",
    );
    if export.entries.is_empty() {
        s.push_str("# The site held no command.\n");
    }
    s.push_str("images:\n");
    for e in &export.entries {
        for n in &e.notes {
            s.push_str(&format!("  # {n}\n"));
        }
        // The entry as JSON writes it, in block style: one renderer of what an entry holds.
        for (i, (k, v)) in entry_json(e).iter().enumerate() {
            let lead = if i == 0 { "  - " } else { "    " };
            yaml_pair(&mut s, lead, k, v, 0);
        }
    }
    if !export.prune.is_empty() {
        s.push_str(
            "# The repositories seen. `sync --prune` removes a command of these only when no entry\n\
             # above declares it; drop this key to never prune.\n",
        );
        s.push_str("prune:\n");
        for r in &export.prune {
            s.push_str(&format!("  - {}\n", scalar(r)));
        }
    }
    s
}

fn projects_json(p: &ProjectsOut) -> Value {
    match p {
        ProjectsOut::All => json!("all"),
        ProjectsOut::List(l) => json!(l),
    }
}

/// One `images:` entry, keys in the order a person writes them.
fn entry_json(e: &Entry) -> Map<String, Value> {
    let mut m = Map::new();
    match &e.source {
        EntrySource::Image {
            image,
            commands,
            pin_digest,
        } => {
            m.insert("image".into(), json!(image));
            if let Some(c) = commands {
                m.insert("commands".into(), json!(c));
            }
            if *pin_digest {
                m.insert("pin-digest".into(), json!(true));
            }
        }
        EntrySource::CommandFile { path, image } => {
            m.insert("command-file".into(), json!(path));
            m.insert("image".into(), json!(image));
        }
    }
    if !e.enable.is_empty() {
        let mut en = Map::new();
        en.insert("site".into(), json!(e.enable.site));
        if let Some(p) = &e.enable.projects {
            en.insert("projects".into(), projects_json(p));
        }
        if !e.enable.wrappers.is_empty() {
            let mut ws = Map::new();
            for (name, site, projects) in &e.enable.wrappers {
                let mut w = Map::new();
                if let Some(site) = site {
                    w.insert("site".into(), json!(site));
                }
                if let Some(p) = projects {
                    w.insert("projects".into(), projects_json(p));
                }
                ws.insert(name.clone(), Value::Object(w));
            }
            en.insert("wrappers".into(), Value::Object(ws));
        }
        m.insert("enable".into(), Value::Object(en));
    }
    m
}

/// `KEY: VALUE` after `lead`: a mapping in block style down to `depth` 2 (`enable`,
/// `wrappers`), in flow style below (a wrapper's `{site: false, projects: []}`).
fn yaml_pair(s: &mut String, lead: &str, key: &str, v: &Value, depth: usize) {
    match v {
        Value::Object(m) if depth < 2 && !m.is_empty() => {
            s.push_str(&format!("{lead}{}:\n", scalar(key)));
            let inner = " ".repeat(lead.len() + 2);
            for (k, v) in m {
                yaml_pair(s, &inner, k, v, depth + 1);
            }
        }
        _ => s.push_str(&format!("{lead}{}: {}\n", scalar(key), yaml_inline(v))),
    }
}

/// A value in flow style.
fn yaml_inline(v: &Value) -> String {
    match v {
        Value::String(t) => scalar(t),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(yaml_inline).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(m) => {
            let items: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}: {}", scalar(k), yaml_inline(v)))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
        other => other.to_string(),
    }
}

/// The fleet file as JSON (a fleet file too), without comments.
pub fn to_json(export: &Export) -> Value {
    let images: Vec<Value> = export
        .entries
        .iter()
        .map(|e| Value::Object(entry_json(e)))
        .collect();
    let mut top = Map::new();
    top.insert("images".into(), Value::Array(images));
    if !export.prune.is_empty() {
        top.insert("prune".into(), json!(export.prune));
    }
    Value::Object(top)
}

#[cfg(test)]
#[path = "export_tests.rs"]
mod tests;
