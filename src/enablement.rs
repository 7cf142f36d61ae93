//! Reading wrapper enablement: [`EnablementReader`], one wrapper's answers read the cheapest
//! way (`apply` before and after its writes, `status`), and [`Snapshot`], the answers of
//! XNAT's bulk "available commands" reads taken once per site before the per-wrapper work, so
//! a site where everything is already right costs a few requests whatever its size.
//!
//! The bulk reads answer exactly the questions the per-wrapper reads ask (Container Service
//! 3.7.3 source lines in docs/design/xnat-bulk-reads.md):
//! - `GET /xapi/commands/available/site?xsiType=T` lists every wrapper with a context matched
//!   by `T`, its `enabled` computed by the same `isEnabledForSite` as
//!   `GET /xapi/wrappers/{id}/enabled`, with no permission filter;
//! - `GET /xapi/projects/P/commands/available?xsiType=T` gives, for each wrapper it lists,
//!   `enabled` = `isEnabledForProject` = `enabled-for-project` of
//!   `GET /xapi/projects/P/wrappers/{id}/enabled`. It leaves wrappers out (no external input;
//!   the user's permissions, e.g. every scan-context wrapper in a project with no image
//!   session): a wrapper it does not list is **unknown** and read one by one, never taken for
//!   disabled.
//!
//! Any failed or odd bulk answer only means "unknown": the per-wrapper reads then ask, and
//! report a failure as they always did. `&projects=` is never sent (it intersects whole
//! entries, enablement included).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde_json::Value;

use crate::command::lenient_i64;
use crate::xnat::client::{XnatClient, XnatError};

/// One wrapper whose enablement a run will read: its id, its contexts (as XNAT lists them)
/// and the projects asked (none: the site flag only).
#[derive(Debug, Clone)]
pub struct Want<'a> {
    pub wid: i64,
    pub contexts: Vec<String>,
    pub projects: &'a [String],
}

/// Enablement answers read in bulk, by wrapper id. A key answered differently by two reads
/// (which XNAT should never do) is dropped, so it is read one by one.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Snapshot {
    site: HashMap<i64, bool>,
    /// Effective enablement in a project, by (project, wrapper id).
    projects: HashMap<(String, i64), bool>,
    /// Bulk requests made (reported at debug level and by tests).
    pub requests: usize,
}

/// Where one bulk read was made: site-wide or in a project.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Scope {
    Site,
    Project(String),
}

impl Snapshot {
    /// Enabled site-wide, when a bulk read said.
    pub fn site(&self, wid: i64) -> Option<bool> {
        self.site.get(&wid).copied()
    }

    /// Effectively enabled in `project`, when a bulk read listed the wrapper there.
    pub fn project(&self, project: &str, wid: i64) -> Option<bool> {
        self.projects.get(&(project.to_string(), wid)).copied()
    }

    /// Read what the bulk reads can answer for `wants`, up to `concurrency` requests at once:
    /// per project asked, one read per type of a small cover of the wrappers' contexts; then
    /// site-wide, the same for the wrappers whose site flag is still unknown (a wrapper
    /// effectively enabled in its first project is enabled site-wide too). A scope is read in
    /// bulk only when that takes fewer requests than reading its wrappers one by one.
    pub async fn read(client: &XnatClient, wants: &[Want<'_>], concurrency: usize) -> Snapshot {
        let mut snap = Snapshot::default();
        // Sorted, so the same requests go out in the same order every run.
        let mut by_project: BTreeMap<&str, Vec<&Want>> = BTreeMap::new();
        for w in wants {
            for p in w.projects {
                by_project.entry(p.as_str()).or_default().push(w);
            }
        }
        let mut reads = Vec::new();
        for (p, group) in &by_project {
            for t in cover(group) {
                reads.push((Scope::Project(p.to_string()), t));
            }
        }
        snap.run(client, reads, concurrency).await;
        let unknown_site: Vec<&Want> = wants
            .iter()
            // Listed as disabled in its first project: maybe enabled site-wide. Not listed:
            // the one-by-one read of that project answers the site flag too.
            .filter(|w| match w.projects.first() {
                Some(p) => snap.project(p, w.wid) == Some(false),
                None => true,
            })
            .collect();
        let reads = cover(&unknown_site)
            .into_iter()
            .map(|t| (Scope::Site, t))
            .collect();
        snap.run(client, reads, concurrency).await;
        snap
    }

    /// Make `reads` (scope, xsiType), several at once, and keep their answers.
    async fn run(&mut self, client: &XnatClient, reads: Vec<(Scope, String)>, concurrency: usize) {
        use futures::stream::StreamExt as _;
        if reads.is_empty() {
            return;
        }
        self.requests += reads.len();
        let answers: Vec<(Scope, Result<Vec<Value>, XnatError>)> = futures::stream::iter(reads)
            .map(|(scope, t)| async move {
                let answer = match &scope {
                    Scope::Site => client.available_site(&t).await,
                    Scope::Project(p) => client.available_in_project(p, &t).await,
                };
                (scope, answer)
            })
            .buffered(concurrency.max(1))
            .collect()
            .await;
        let mut dropped_site = HashSet::new();
        let mut dropped_projects = HashSet::new();
        for (scope, answer) in answers {
            let list = match answer {
                Ok(list) => list,
                Err(e) => {
                    tracing::debug!("bulk enablement read failed, reading one by one: {e}");
                    continue;
                }
            };
            for (wid, on) in list.iter().filter_map(entry) {
                match &scope {
                    Scope::Site => keep(&mut self.site, &mut dropped_site, wid, on),
                    Scope::Project(p) => keep(
                        &mut self.projects,
                        &mut dropped_projects,
                        (p.clone(), wid),
                        on,
                    ),
                }
            }
        }
    }
}

/// Keep the first answer for `key`; drop a contradicted one for good (it is then read one by
/// one). A wrapper listed under several types gives the same answer each time.
fn keep<K: Eq + std::hash::Hash + Clone>(
    map: &mut HashMap<K, bool>,
    dropped: &mut HashSet<K>,
    key: K,
    on: bool,
) {
    if dropped.contains(&key) {
        return;
    }
    match map.get(&key) {
        Some(&before) if before != on => {
            map.remove(&key);
            dropped.insert(key);
        }
        Some(_) => {}
        None => {
            map.insert(key, on);
        }
    }
}

/// `(wrapper-id, enabled)` of one summary; `None` for an entry without both (left unknown).
fn entry(summary: &Value) -> Option<(i64, bool)> {
    let wid = summary.get("wrapper-id").and_then(lenient_i64)?;
    let on = summary.get("enabled").and_then(Value::as_bool)?;
    Some((wid, on))
}

/// The xsiTypes to ask so that every wrapper of `group` with a context is listed: each chosen
/// among the wrappers' own contexts (XNAT matches a type equal to a context without a schema
/// lookup), greedily the one most still-uncovered wrappers have (ties: the smaller string, so
/// the requests are the same every run). Empty when the cover would not take fewer requests
/// than the wrappers one by one. Stops there too, which bounds the work by the group's size
/// times the contexts' total.
fn cover(group: &[&Want]) -> Vec<String> {
    let mut left: Vec<BTreeSet<&str>> = group
        .iter()
        .map(|w| w.contexts.iter().map(String::as_str).collect())
        .filter(|c: &BTreeSet<&str>| !c.is_empty())
        .collect();
    let mut chosen = Vec::new();
    while !left.is_empty() {
        if chosen.len() + 1 >= group.len() {
            return Vec::new();
        }
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for contexts in &left {
            for c in contexts {
                *counts.entry(c).or_default() += 1;
            }
        }
        // Most wrappers first; among equals the first in string order (BTreeMap order).
        let Some((best, _)) = counts
            .iter()
            .fold(None, |best: Option<(&str, usize)>, (t, n)| match best {
                Some((_, m)) if m >= *n => best,
                _ => Some((t, *n)),
            })
        else {
            break;
        };
        let best = best.to_string();
        left.retain(|contexts| !contexts.contains(best.as_str()));
        chosen.push(best);
    }
    chosen
}

/// One wrapper's enablement as XNAT reports it, read the cheapest way; `apply` (before and
/// after its writes) and `status` both read through it. A bulk [`Snapshot`] answers first:
/// each of its answers is used once (so asking again after a write reads XNAT), and none
/// after the site flag is written. Otherwise a project read also answers whether the wrapper
/// is enabled site-wide, so with projects to check, the first one's read stands in for the
/// site read: checking costs one read per project (one for the site without any).
pub struct EnablementReader<'c> {
    client: &'c XnatClient,
    wid: i64,
    site: bool,
    /// The first project's answer, read with the site flag, until it is asked for.
    first: Option<(String, bool)>,
    snapshot: Option<&'c Snapshot>,
    /// Projects whose snapshot answer is used up (the first project's included).
    used: HashSet<String>,
}

impl<'c> EnablementReader<'c> {
    /// The first read of wrapper `wid`: of the first of `projects`, else of the site flag,
    /// from `snapshot` when it can tell.
    pub async fn start(
        client: &'c XnatClient,
        snapshot: Option<&'c Snapshot>,
        wid: i64,
        projects: &[String],
    ) -> Result<Self, XnatError> {
        let known_site = snapshot.and_then(|s| s.site(wid));
        let (site, first) = match projects.first() {
            Some(p) => {
                let known = snapshot.and_then(|s| s.project(p, wid));
                let (site, on) = match (known, known_site) {
                    // Effectively enabled in a project means enabled site-wide.
                    (Some(true), _) => (true, true),
                    (Some(false), Some(site)) => (site, false),
                    _ => client.project_enabled(p, wid).await?,
                };
                (site, Some((p.clone(), on)))
            }
            None => match known_site {
                Some(site) => (site, None),
                None => (client.site_enabled(wid).await?, None),
            },
        };
        Ok(EnablementReader {
            client,
            wid,
            site,
            used: first.iter().map(|(p, _)| p.clone()).collect(),
            first,
            snapshot,
        })
    }

    /// Enabled site-wide, as last read.
    pub fn site(&self) -> bool {
        self.site
    }

    /// Read the site flag again (after writing it). The first project's answer and the
    /// snapshot are forgotten too: a project's effective state depends on the site flag.
    pub async fn reread_site(&mut self) -> Result<bool, XnatError> {
        self.first = None;
        self.snapshot = None;
        self.site = self.client.site_enabled(self.wid).await?;
        Ok(self.site)
    }

    /// Effectively enabled in `project`: the first project's answer or the snapshot's the
    /// first time it is asked for, a read otherwise (so asking again after a write reads
    /// again).
    pub async fn project(&mut self, project: &str) -> Result<bool, XnatError> {
        if let Some((p, on)) = self.first.take() {
            if p == project {
                return Ok(on);
            }
        }
        if let Some(on) = self
            .snapshot
            .filter(|_| !self.used.contains(project))
            .and_then(|s| s.project(project, self.wid))
        {
            self.used.insert(project.to_string());
            return Ok(on);
        }
        Ok(self.client.project_enabled(project, self.wid).await?.1)
    }
}

#[cfg(test)]
#[path = "enablement_tests.rs"]
mod tests;
