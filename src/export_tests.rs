//! `build` decisions as tables over synthetic sites, and the written file read back by the
//! fleet parser.

use serde_json::json;

use super::*;
use crate::reference::InstallRef;

/// A label command `name` with wrappers `wrappers` (each for sessions).
fn command(name: &str, image: &str, wrappers: &[&str]) -> Value {
    let ws: Vec<Value> = wrappers
        .iter()
        .map(|w| {
            json!({"name": w, "contexts": ["xnat:imageSessionData"],
                        "external-inputs": [{"name": "session", "type": "Session"}]})
        })
        .collect();
    json!({"name": name, "image": image, "command-line": format!("run {name}"), "xnat": ws})
}

fn desired(image: &str, commands: &[Value]) -> Label {
    Label::Read(
        commands
            .iter()
            .map(|c| Desired {
                source: image.into(),
                image: InstallRef::tagged(image).unwrap(),
                command: c.clone(),
            })
            .collect(),
    )
}

/// `command` as XNAT lists it: command id `id`, wrapper ids from `first_wid` on.
fn installed(command: &Value, id: i64, first_wid: i64) -> Value {
    let mut c = command.clone();
    c["id"] = json!(id);
    if let Some(ws) = c["xnat"].as_array_mut() {
        for (i, w) in ws.iter_mut().enumerate() {
            w["id"] = json!(first_wid + i as i64);
        }
    }
    c
}

fn on(site: bool, projects: &[&str]) -> Enabled {
    Enabled {
        site,
        projects: projects.iter().map(|p| p.to_string()).collect(),
    }
}

fn site(installed: Vec<Value>, wrappers: &[(i64, Enabled)]) -> Holdings {
    Holdings {
        installed,
        projects: vec!["P1".into(), "P2".into()],
        wrappers: wrappers.iter().cloned().collect(),
    }
}

fn labels(list: Vec<(&str, Label)>) -> BTreeMap<String, Label> {
    list.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

#[test]
fn a_whole_label_installed_as_is_is_one_image_entry() {
    let a = command("a", "lab/a:1", &["a-w"]);
    let b = command("b", "lab/a:1", &["b-w"]);
    let holdings = site(
        vec![installed(&a, 1, 10), installed(&b, 2, 20)],
        &[(10, on(true, &["P1"])), (20, on(true, &["P1"]))],
    );
    let e = build(
        &holdings,
        &labels(vec![("lab/a:1", desired("lab/a:1", &[a, b]))]),
        ExportOptions::default(),
    );
    assert_eq!(e.entries.len(), 1);
    assert_eq!(
        e.entries[0].source,
        EntrySource::Image {
            image: "lab/a:1".into(),
            commands: None,
            pin_digest: false
        }
    );
    assert_eq!(
        e.entries[0].enable,
        EnableOut {
            site: true,
            projects: Some(ProjectsOut::List(vec!["P1".into()])),
            wrappers: vec![]
        }
    );
    assert!(e.files.is_empty() && e.warnings.is_empty());
    assert_eq!(e.prune, vec!["lab/a"]);
}

#[test]
fn part_of_a_label_is_selected_and_an_edited_command_is_a_command_file() {
    let a = command("a", "lab/a:1", &["a-w"]);
    let b = command("b", "lab/a:1", &["b-w"]);
    let c = command("c", "lab/a:1", &["c-w"]);
    let mut b_edited = installed(&b, 2, 20);
    b_edited["command-line"] = json!("run b --edited");
    let holdings = site(
        vec![installed(&a, 1, 10), b_edited],
        &[(10, on(false, &[])), (20, on(true, &[]))],
    );
    let e = build(
        &holdings,
        &labels(vec![("lab/a:1", desired("lab/a:1", &[a, b, c]))]),
        ExportOptions::default(),
    );
    assert_eq!(e.entries.len(), 2);
    assert_eq!(
        e.entries[0].source,
        EntrySource::Image {
            image: "lab/a:1".into(),
            commands: Some(vec!["a".into()]),
            pin_digest: false
        }
    );
    assert!(e.entries[0].enable.is_empty());
    assert_eq!(
        e.entries[1].source,
        EntrySource::CommandFile {
            path: "commands/b.json".into(),
            image: "lab/a:1".into()
        }
    );
    assert!(
        e.entries[1].notes[0].contains("differs from the label"),
        "{:?}",
        e.entries[1].notes
    );
    assert!(e.entries[1].enable.site);
    // The file is the command as XNAT holds it, without what XNAT assigns.
    let (path, content) = &e.files[0];
    assert_eq!(path, "commands/b.json");
    assert_eq!(content["command-line"], "run b --edited");
    assert!(content.get("id").is_none());
    assert!(content["xnat"][0].get("id").is_none());
}

#[test]
fn an_unreadable_image_keeps_every_command_as_a_file_with_a_warning() {
    let a = command("a", "lab/gone:1", &["a-w"]);
    let a2 = command("a", "lab/other:1", &["a-w"]);
    let holdings = site(
        vec![installed(&a, 1, 10), installed(&a2, 2, 20)],
        &[(10, on(true, &["P1", "P2"])), (20, on(false, &[]))],
    );
    let e = build(
        &holdings,
        &labels(vec![(
            "lab/gone:1",
            Label::Unreadable("manifest unknown".into()),
        )]),
        ExportOptions::default(),
    );
    // lab/other:1 was not read at all: the same.
    let paths: Vec<&str> = e.files.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, vec!["commands/a.json", "commands/a-2.json"]);
    assert_eq!(e.warnings.len(), 2, "{:?}", e.warnings);
    assert!(e.warnings[0].contains("lab/gone:1 could not be read (manifest unknown)"));
    assert_eq!(e.entries[0].enable.projects, Some(ProjectsOut::All));
    assert!(e.entries[0].notes.iter().any(|n| n.contains("--no-all")));
    assert_eq!(e.prune, vec!["lab/gone", "lab/other"]);
}

#[test]
fn wrappers_enabled_differently_are_written_under_wrappers() {
    let t = command("t", "lab/t:1", &["w1", "w2", "w3"]);
    let holdings = site(
        vec![installed(&t, 1, 10)],
        &[
            (10, on(true, &["P1", "P2"])),
            (11, on(true, &["P1", "P2"])),
            (12, on(false, &[])),
        ],
    );
    let all = build(
        &holdings,
        &labels(vec![(
            "lab/t:1",
            desired("lab/t:1", std::slice::from_ref(&t)),
        )]),
        ExportOptions::default(),
    );
    assert_eq!(
        all.entries[0].enable,
        EnableOut {
            site: true,
            projects: Some(ProjectsOut::All),
            wrappers: vec![("w3".into(), Some(false), Some(ProjectsOut::List(vec![])))]
        }
    );
    let listed = build(
        &holdings,
        &labels(vec![("lab/t:1", desired("lab/t:1", &[t]))]),
        ExportOptions { no_all: true },
    );
    assert_eq!(
        listed.entries[0].enable.projects,
        Some(ProjectsOut::List(vec!["P1".into(), "P2".into()]))
    );
}

#[test]
fn a_digest_reference_is_pinned_and_a_tag_at_a_digest_is_not() {
    let d = format!("sha256:{}", "a".repeat(64));
    for (image, pinned) in [
        (format!("lab/p@{d}"), true),
        (format!("lab/p:1@{d}"), false),
        ("host:5000/lab/p:1".to_string(), false),
    ] {
        let c = command("c", &image, &["w"]);
        let e = build(
            &site(vec![installed(&c, 1, 10)], &[]),
            &labels(vec![(&image, desired(&image, std::slice::from_ref(&c)))]),
            ExportOptions::default(),
        );
        match &e.entries[0].source {
            EntrySource::Image { pin_digest, .. } => assert_eq!(*pin_digest, pinned, "{image}"),
            other => panic!("{image}: {other:?}"),
        }
    }
}

#[test]
fn a_command_without_an_image_is_not_exported_and_says_so() {
    let c = json!({"id": 4, "name": "bare", "command-line": "x"});
    let e = build(
        &site(vec![c], &[]),
        &BTreeMap::new(),
        ExportOptions::default(),
    );
    assert!(e.entries.is_empty());
    assert!(
        e.warnings[0].contains("`bare` (id 4) names no image"),
        "{:?}",
        e.warnings
    );
}

#[test]
fn scalars_are_plain_only_when_nothing_else_can_be_read() {
    for (s, want) in [
        ("lab/a:1", "lab/a:1"),
        ("P1", "P1"),
        ("127.0.0.1:5000/lab/a:1", "\"127.0.0.1:5000/lab/a:1\""),
        ("1.0", "\"1.0\""),
        ("true", "\"true\""),
        ("No", "\"No\""),
        ("a b", "\"a b\""),
        ("x: y", "\"x: y\""),
        ("#p", "\"#p\""),
        ("q\"uote", "\"q\\\"uote\""),
        ("", "\"\""),
    ] {
        assert_eq!(scalar(s), want, "{s}");
    }
}

#[test]
fn file_stems_are_safe_and_unique_whatever_the_case() {
    let mut taken = BTreeSet::new();
    assert_eq!(unique_stem("Tool", &mut taken), "Tool");
    assert_eq!(unique_stem("tool", &mut taken), "tool-2");
    assert_eq!(unique_stem("../x y", &mut taken), ".._x_y");
    assert_eq!(unique_stem("..", &mut taken), "command");
}
