//! Desired commands against installed ones → one action per command. Pure: values in, a
//! serialisable plan out, so the rule is tested with tables and shown verbatim by `--dry-run`.
//!
//! Identity: an installed command is the same command when its name matches and its image is
//! the same repository. Same image and equivalent JSON (compared the way XNAT normalises) →
//! unchanged; same repository with another tag or digest → update in place, which keeps wrapper
//! ids and therefore enablement; several candidates → conflict, nothing written for it.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use serde_json::Value;

use crate::command::normalize::{canonical_for_compare, normalize};
use crate::command::{escape_pointer, CommandView, Form};
use crate::reference::{repository_key, same_repository, InstallRef};

/// The installed commands that `uninstall` of command `name` from `image` removes: the ones
/// of that exact image when any is installed, else every tag of the same repository (so
/// uninstalling `tool:2` also finds the `tool:1` an older run installed).
pub fn uninstall_matches<'a>(name: &str, image: &str, installed: &'a [Value]) -> Vec<&'a Value> {
    let same_name: Vec<&Value> = installed
        .iter()
        .filter(|c| CommandView::new(c).name().as_deref() == Some(name))
        .collect();
    let exact: Vec<&Value> = same_name
        .iter()
        .copied()
        .filter(|c| CommandView::new(c).image().as_deref() == Some(image))
        .collect();
    if !exact.is_empty() {
        return exact;
    }
    same_name
        .into_iter()
        .filter(|c| {
            CommandView::new(c)
                .image()
                .is_some_and(|i| same_repository(&i, image))
        })
        .collect()
}

/// One command as it should be installed.
#[derive(Debug, Clone)]
pub struct Desired {
    /// Where it came from, for reports (`oci-archive:…`).
    pub source: String,
    /// The image to install it under, already with a tag (see [`crate::pipeline::install_image`]).
    pub image: InstallRef,
    /// The command with `image` injected.
    pub command: Value,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct PlanOptions {
    /// Install a new tag next to the old one instead of updating it.
    pub side_by_side: bool,
    /// Delete and re-create instead of updating in place (resets wrapper ids and enablement).
    pub replace: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub pointer: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub installed: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desired: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Action {
    Create,
    Unchanged {
        id: i64,
    },
    Update {
        id: i64,
        installed_image: String,
        changes: Vec<Change>,
    },
    Replace {
        id: i64,
        installed_image: String,
    },
    Conflict {
        ids: Vec<i64>,
        reason: String,
    },
}

impl Action {
    /// What the user can do about a conflict. Only the one between several installed
    /// commands lists their ids: removing the extra ones resolves it.
    pub fn hint(&self) -> Option<String> {
        match self {
            Action::Conflict { ids, .. } if !ids.is_empty() => {
                Some("remove the extra ones (xnat-cmd uninstall --id N) and run again".into())
            }
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Planned {
    pub source: String,
    pub name: String,
    pub version: Option<String>,
    pub image: InstallRef,
    #[serde(flatten)]
    pub action: Action,
    /// What is sent: the create body, or the full update body.
    #[serde(skip)]
    pub body: Value,
}

/// Plan every desired command against the installed list (one `GET /xapi/commands`).
///
/// Linear in the number of commands: the installed ones are indexed by name and repository
/// once, and twins are found with a hash set (a scan of the others for each command took
/// minutes for a label of 40,000 commands).
pub fn plan(desired: &[Desired], installed: &[Value], opts: PlanOptions) -> Vec<Planned> {
    // Installed commands by name, each with its repository identity (none without an image).
    let mut by_name: HashMap<String, Vec<(&Value, Option<String>)>> = HashMap::new();
    for c in installed {
        let v = CommandView::new(c);
        if let Some(name) = v.name() {
            let key = v.image().as_deref().map(repository_key);
            by_name.entry(name).or_default().push((c, key));
        }
    }
    // (name, repository) of the desired commands planned so far.
    let mut planned: HashSet<(String, String)> = HashSet::with_capacity(desired.len());
    let mut out = Vec::with_capacity(desired.len());
    for d in desired {
        let view = CommandView::new(&d.command);
        let name = view.name().unwrap_or_default();
        let version = view.version();
        let repo_key = repository_key(d.image.as_str());
        // Two desired commands with the same name and repository would fight over one slot.
        let twin = !planned.insert((name.clone(), repo_key.clone()));
        let candidates: Vec<&Value> = by_name
            .get(&name)
            .map(|all| {
                all.iter()
                    .filter(|(_, key)| key.as_deref() == Some(repo_key.as_str()))
                    .map(|(c, _)| *c)
                    .collect()
            })
            .unwrap_or_default();
        let id_of = |c: &Value| CommandView::new(c).id();
        let exact: Vec<&Value> = candidates
            .iter()
            .copied()
            .filter(|c| CommandView::new(c).image().as_deref() == Some(d.image.as_str()))
            .collect();
        // XNAT's list is checked for ids when it is read (`XnatClient::list_commands`); a
        // command without one is still never written to as if it had id 0.
        let no_id = exact
            .iter()
            .chain(candidates.iter())
            .any(|c| id_of(c).is_none());
        // The action, and for an update its full body (computed once, compared, then sent).
        let (action, update) = if no_id {
            let action = Action::Conflict {
                ids: vec![],
                reason: format!(
                    "XNAT lists a command named `{name}` of repository {} without an id; nothing is written for it",
                    d.image.repository()
                ),
            };
            (action, None)
        } else if twin {
            let action = Action::Conflict {
                ids: vec![],
                reason: format!(
                    "command `{name}` appears twice for repository {}",
                    d.image.repository()
                ),
            };
            (action, None)
        } else if exact.len() > 1
            || (exact.is_empty() && candidates.len() > 1 && !opts.side_by_side)
        {
            let pool = if exact.len() > 1 { &exact } else { &candidates };
            let action = Action::Conflict {
                ids: pool.iter().filter_map(|c| id_of(c)).collect(),
                reason: format!(
                    "{} installed commands named `{name}` use {}",
                    pool.len(),
                    if exact.len() > 1 {
                        d.image.to_string()
                    } else {
                        format!("repository {}", d.image.repository())
                    }
                ),
            };
            (action, None)
        } else if let Some((current, id)) = exact
            .first()
            .or_else(|| (!opts.side_by_side).then(|| candidates.first()).flatten())
            .and_then(|c| id_of(c).map(|id| (*c, id)))
        {
            let body = update_body(&d.command, current);
            let changes = diff(&canonical_for_compare(&body), &installed_canonical(current));
            let installed_image = CommandView::new(current).image().unwrap_or_default();
            if changes.is_empty() {
                (Action::Unchanged { id }, None)
            } else if opts.replace {
                let action = Action::Replace {
                    id,
                    installed_image,
                };
                (action, None)
            } else {
                let action = Action::Update {
                    id,
                    installed_image,
                    changes,
                };
                (action, Some(body))
            }
        } else {
            (Action::Create, None)
        };
        let body = update.unwrap_or_else(|| d.command.clone());
        out.push(Planned {
            source: d.source.clone(),
            name,
            version,
            image: d.image.clone(),
            action,
            body,
        });
    }
    out
}

/// An installed command (GET output) in comparable form. It goes through the same
/// normalisation, so defaults a server omits (pre-3.7 has no `visibility`) do not count as
/// changes.
fn installed_canonical(v: &Value) -> Value {
    canonical_for_compare(&normalize(v, Form::Update).unwrap_or_else(|_| v.clone()))
}

/// The full-form body for `POST /xapi/commands/{id}`: the desired command as XNAT would store
/// it on create (tag, handler key), no ids (a foreign wrapper id breaks XNAT's merge), and the
/// installed `visibility` kept unless the command sets its own.
pub fn update_body(desired: &Value, installed: &Value) -> Value {
    let mut v = normalize(desired, Form::Create).unwrap_or_else(|_| desired.clone());
    strip_ids(&mut v);
    if let (Some(obj), Some(vis)) = (v.as_object_mut(), installed.get("visibility")) {
        if desired.get("visibility").is_none_or(Value::is_null) {
            obj.insert("visibility".into(), vis.clone());
        }
    }
    v
}

/// Drop what XNAT assigns to a command: its id and hash, its wrappers' ids.
pub(crate) fn strip_ids(v: &mut Value) {
    if let Some(o) = v.as_object_mut() {
        o.remove("id");
        o.remove("hash");
        if let Some(Value::Array(ws)) = o.get_mut("xnat") {
            for w in ws {
                if let Some(wo) = w.as_object_mut() {
                    wo.remove("id");
                }
            }
        }
    }
}

/// Differences between two JSON values as JSON pointers (`installed` → `desired`).
pub fn diff(desired: &Value, installed: &Value) -> Vec<Change> {
    let mut out = Vec::new();
    diff_at(String::new(), Some(desired), Some(installed), &mut out);
    out
}

fn diff_at(ptr: String, d: Option<&Value>, i: Option<&Value>, out: &mut Vec<Change>) {
    match (d, i) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                diff_at(
                    format!("{ptr}/{}", escape_pointer(k)),
                    a.get(k),
                    b.get(k),
                    out,
                );
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) => {
            for idx in 0..a.len().max(b.len()) {
                diff_at(format!("{ptr}/{idx}"), a.get(idx), b.get(idx), out);
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push(Change {
            pointer: if ptr.is_empty() { "/".into() } else { ptr },
            installed: b.cloned(),
            desired: a.cloned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tags_and_repositories() {
        let cases = [
            ("busybox", "busybox:latest", "busybox"),
            ("busybox:1.36", "busybox:1.36", "busybox"),
            ("host:5000/repo", "host:5000/repo:latest", "host:5000/repo"),
            ("host:5000/repo:v1", "host:5000/repo:v1", "host:5000/repo"),
            ("repo@sha256:abc", "repo@sha256:abc", "repo"),
            ("repo:v1@sha256:abc", "repo:v1@sha256:abc", "repo"),
            (" x ", "x:latest", "x"),
        ];
        for (img, installed, repo) in cases {
            let got = crate::pipeline::install_image(Some(img), None, None).unwrap();
            assert_eq!(got.as_str(), installed, "{img}");
            assert_eq!(got.repository(), repo, "{img}");
        }
    }

    fn desired(name: &str, image: &str) -> Desired {
        Desired {
            source: "test".into(),
            image: InstallRef::tagged(image).unwrap(),
            command: json!({"name": name, "image": image, "command-line": "x"}),
        }
    }

    fn installed(id: i64, name: &str, image: &str) -> Value {
        json!({"id": id, "name": name, "image": image, "command-line": "x"})
    }

    #[test]
    fn identity_rule_table() {
        let opts = PlanOptions::default();
        let kind = |p: &Planned| match &p.action {
            Action::Create => "create".to_string(),
            Action::Unchanged { id } => format!("unchanged {id}"),
            Action::Update { id, .. } => format!("update {id}"),
            Action::Replace { id, .. } => format!("replace {id}"),
            Action::Conflict { ids, .. } => format!("conflict {ids:?}"),
        };
        let cases: Vec<(Vec<Value>, &str, PlanOptions, &str)> = vec![
            (vec![], "r/a:1", opts, "create"),
            (
                vec![installed(1, "a", "r/a:1")],
                "r/a:1",
                opts,
                "unchanged 1",
            ),
            (vec![installed(1, "a", "r/a:1")], "r/a:2", opts, "update 1"),
            (
                vec![installed(1, "a", "r/a:1")],
                "r/a:2",
                PlanOptions {
                    side_by_side: true,
                    replace: false,
                },
                "create",
            ),
            (
                vec![installed(1, "a", "r/a:1")],
                "r/a:2",
                PlanOptions {
                    side_by_side: false,
                    replace: true,
                },
                "replace 1",
            ),
            (
                vec![installed(1, "a", "other/a:1")],
                "r/a:1",
                opts,
                "create",
            ),
            (vec![installed(1, "b", "r/a:1")], "r/a:1", opts, "create"),
            (
                vec![installed(1, "a", "r/a:1"), installed(2, "a", "r/a:2")],
                "r/a:3",
                opts,
                "conflict [1, 2]",
            ),
            (
                vec![installed(1, "a", "r/a:1"), installed(2, "a", "r/a:2")],
                "r/a:2",
                opts,
                "unchanged 2",
            ),
            (
                vec![installed(1, "a", "r/a:1"), installed(2, "a", "r/a:1")],
                "r/a:1",
                opts,
                "conflict [1, 2]",
            ),
        ];
        for (inst, image, o, want) in cases {
            let p = plan(&[desired("a", image)], &inst, o);
            assert_eq!(kind(&p[0]), want, "{image} vs {inst:?}");
        }
    }

    /// `plan.rs` used `unwrap_or(0)`: an installed command listed with `"id": null` was updated
    /// as `POST /xapi/commands/0`. Now it is a conflict, and nothing is written for it.
    #[test]
    fn installed_command_with_null_id_is_a_conflict_not_id_0() {
        for id in [json!(null), json!("x"), json!({})] {
            let inst = vec![json!({"id": id, "name": "a", "image": "r/a:1", "command-line": "x"})];
            let p = plan(&[desired("a", "r/a:2")], &inst, PlanOptions::default());
            match &p[0].action {
                Action::Conflict { ids, reason } => {
                    assert!(ids.is_empty(), "{ids:?}");
                    assert_eq!(reason, "XNAT lists a command named `a` of repository r/a without an id; nothing is written for it");
                }
                other => panic!("id {id}: {other:?}"),
            }
        }
    }

    /// The twin check compared each command with every one before it: a label of 40,000
    /// commands took minutes. Now a hash set; the one twin among 40,000 is still found, and
    /// `docker.io/r/a` is the same repository as `r/a`.
    #[test]
    fn plan_of_40000_commands_finds_the_one_twin() {
        let mut want: Vec<Desired> = (0..40_000)
            .map(|i| desired(&format!("c{i}"), "r/a:1"))
            .collect();
        want.push(desired("c7", "docker.io/r/a:2"));
        let inst: Vec<Value> = (0..40_000)
            .map(|i| installed(i, &format!("c{i}"), "r/a:1"))
            .collect();
        let p = plan(&want, &inst, PlanOptions::default());
        let conflicts: Vec<(usize, &Action)> = p
            .iter()
            .enumerate()
            .filter(|(_, p)| matches!(p.action, Action::Conflict { .. }))
            .map(|(i, p)| (i, &p.action))
            .collect();
        assert_eq!(conflicts.len(), 1, "{conflicts:?}");
        assert_eq!(conflicts[0].0, 40_000);
        assert_eq!(p[7].action, Action::Unchanged { id: 7 });
    }

    #[test]
    fn uninstall_matches_exact_image_else_repository() {
        let installed = vec![
            json!({"id": 1, "name": "a", "image": "lab/t:1"}),
            json!({"id": 2, "name": "a", "image": "docker.io/lab/t:2"}),
            json!({"id": 3, "name": "b", "image": "lab/t:1"}),
            json!({"id": 4, "name": "a", "image": "other/t:1"}),
        ];
        let ids = |name: &str, image: &str| -> Vec<i64> {
            uninstall_matches(name, image, &installed)
                .iter()
                .filter_map(|c| c["id"].as_i64())
                .collect()
        };
        assert_eq!(ids("a", "lab/t:1"), vec![1]);
        assert_eq!(ids("a", "lab/t:3"), vec![1, 2]);
        assert_eq!(ids("a", "docker.io/lab/t:9"), vec![1, 2]);
        assert_eq!(ids("b", "lab/t:2"), vec![3]);
        assert_eq!(ids("c", "lab/t:1"), Vec::<i64>::new());
        assert_eq!(ids("a", "ghcr.io/lab/t:1"), Vec::<i64>::new());
    }

    #[test]
    fn update_body_has_no_ids_and_keeps_visibility() {
        let d = json!({"name": "a", "image": "r/a:2", "xnat": [{"id": 99, "name": "w"}]});
        let i = json!({"id": 1, "name": "a", "image": "r/a:1", "visibility": "private", "xnat": [{"id": 5, "name": "w"}]});
        let b = update_body(&d, &i);
        assert_eq!(b.get("id"), None);
        assert_eq!(b.pointer("/xnat/0/id"), None);
        assert_eq!(b.get("visibility"), Some(&json!("private")));
    }

    #[test]
    fn diff_lists_changed_pointers() {
        let d = json!({"image": "r:2", "xnat": [{"name": "w", "contexts": ["a"]}], "new": 1});
        let i = json!({"image": "r:1", "xnat": [{"name": "w", "contexts": ["a"]}]});
        let c = diff(&d, &i);
        let ptrs: Vec<&str> = c.iter().map(|c| c.pointer.as_str()).collect();
        assert_eq!(ptrs, vec!["/image", "/new"]);
        assert_eq!(c[0].installed, Some(json!("r:1")));
    }
}
