//! Table tests of the drift rules: what a site holds (as [`gather`] would read it) against what
//! is declared, with no XNAT.

use serde_json::json;

use super::*;
use crate::fleet::{Projects, WrapperEnable};
use crate::reference::InstallRef;

/// A command as a fleet image declares it, with the install image injected.
fn command(name: &str, image: &str, line: &str) -> Value {
    json!({
        "name": name,
        "image": image,
        "type": "docker",
        "command-line": line,
        "xnat": [{"name": format!("{name}-w"), "contexts": ["xnat:projectData"]}],
    })
}

/// The same command as XNAT lists it: with its id and its wrapper's id (`10 * id`).
fn installed(id: i64, name: &str, image: &str, line: &str) -> Value {
    let mut c = command(name, image, line);
    c["id"] = json!(id);
    c["xnat"][0]["id"] = json!(10 * id);
    c
}

/// One readable image declaring `commands` (name, image), enabled as given.
fn declared(commands: &[(&str, &str)], enable_site: bool, projects: Projects) -> Declared {
    Declared {
        source: "fleet image".into(),
        commands: commands
            .iter()
            .map(|(name, image)| Desired {
                source: "fleet image".into(),
                image: InstallRef::tagged(image).unwrap(),
                command: command(name, image, "run"),
            })
            .collect(),
        enable_site,
        projects,
        wrappers: Vec::new(),
        readable: true,
    }
}

fn unreadable() -> Declared {
    Declared {
        source: "unreadable image".into(),
        commands: Vec::new(),
        enable_site: false,
        projects: Projects::None,
        wrappers: Vec::new(),
        readable: false,
    }
}

fn list(projects: &[&str]) -> Projects {
    Projects::List(projects.iter().map(|p| p.to_string()).collect())
}

/// A wrapper's enablement: site-wide, and the projects read.
fn enabled(site: bool, projects: &[(&str, bool)]) -> Enablement {
    Enablement {
        site,
        projects: projects
            .iter()
            .map(|(p, on)| (p.to_string(), *on))
            .collect(),
    }
}

fn gathered(installed: Vec<Value>, wrappers: Vec<(i64, Enablement)>) -> Gathered {
    Gathered {
        installed,
        projects: Vec::new(),
        wrappers: wrappers.into_iter().collect(),
    }
}

/// (kind, command, id, detail) of each drift, in order.
type Row = (DriftKind, &'static str, Option<i64>, String);

fn rows(drift: &[Drift]) -> Vec<(DriftKind, String, Option<i64>, String)> {
    drift
        .iter()
        .map(|d| (d.kind, d.command.clone(), d.id, d.detail.clone()))
        .collect()
}

/// Each case's drift (no prune globs) is its rows.
fn check(cases: Vec<Case>) {
    for c in cases {
        let got = drift(&c.declared, &c.gathered, None);
        let want: Vec<_> = c
            .want
            .into_iter()
            .map(|(k, n, id, d)| (k, n.to_string(), id, d))
            .collect();
        assert_eq!(rows(&got), want, "{}", c.what);
    }
}

struct Case {
    what: &'static str,
    declared: Vec<Declared>,
    gathered: Gathered,
    want: Vec<Row>,
}

fn case(what: &'static str, declared: Vec<Declared>, gathered: Gathered, want: Vec<Row>) -> Case {
    Case {
        what,
        declared,
        gathered,
        want,
    }
}

#[test]
fn drift_table() {
    use DriftKind::*;
    let a = ("a", "lab/a:2");
    let cases = vec![
        case(
            "declared, nothing installed",
            vec![declared(&[a], false, Projects::None)],
            gathered(vec![], vec![]),
            vec![(Missing, "a", None, "not installed".into())],
        ),
        case(
            "installed as declared",
            vec![declared(&[a], false, Projects::None)],
            gathered(vec![installed(1, "a", "lab/a:2", "run")], vec![]),
            vec![],
        ),
        case(
            "installed under another tag",
            vec![declared(&[a], false, Projects::None)],
            gathered(vec![installed(1, "a", "lab/a:1", "run")], vec![]),
            vec![(Outdated, "a", Some(1), "installed as lab/a:1".into())],
        ),
        case(
            "installed under the declared image with another definition",
            vec![declared(&[a], false, Projects::None)],
            gathered(vec![installed(1, "a", "lab/a:2", "edited")], vec![]),
            vec![(Modified, "a", Some(1), "differs at /command-line".into())],
        ),
        case(
            "two installed tags of the repository, neither the declared one",
            vec![declared(&[a], false, Projects::None)],
            gathered(
                vec![
                    installed(1, "a", "lab/a:0", "run"),
                    installed(2, "a", "lab/a:1", "run"),
                ],
                vec![],
            ),
            vec![(
                Conflict,
                "a",
                None,
                "2 installed commands named `a` use repository lab/a; remove the extra ones \
                 (xnat-cmd uninstall --id N) and run again (ids [1, 2])"
                    .into(),
            )],
        ),
        case(
            "enablement not asked for: a disabled wrapper is no drift",
            vec![declared(&[a], false, Projects::None)],
            gathered(
                vec![installed(1, "a", "lab/a:2", "run")],
                vec![(10, enabled(false, &[]))],
            ),
            vec![],
        ),
        case(
            "enabled site-wide as asked",
            vec![declared(&[a], true, Projects::None)],
            gathered(
                vec![installed(1, "a", "lab/a:2", "run")],
                vec![(10, enabled(true, &[]))],
            ),
            vec![],
        ),
        case(
            "not enabled site-wide",
            vec![declared(&[a], true, Projects::None)],
            gathered(
                vec![installed(1, "a", "lab/a:2", "run")],
                vec![(10, enabled(false, &[]))],
            ),
            vec![(
                Enablement,
                "a",
                Some(1),
                "wrapper `a-w` not enabled site-wide".into(),
            )],
        ),
        case(
            // The first project is read with the site flag; it reads like the others.
            "not enabled in the first of two projects",
            vec![declared(&[a], false, list(&["P1", "P2"]))],
            gathered(
                vec![installed(1, "a", "lab/a:2", "run")],
                vec![(10, enabled(true, &[("P1", false), ("P2", true)]))],
            ),
            vec![(
                Enablement,
                "a",
                Some(1),
                "wrapper `a-w` not enabled in project P1".into(),
            )],
        ),
        case(
            "site-wide first, then each project in file order",
            vec![declared(&[a], true, list(&["P2", "P1"]))],
            gathered(
                vec![installed(1, "a", "lab/a:2", "run")],
                vec![(10, enabled(false, &[("P1", false), ("P2", false)]))],
            ),
            vec![(
                Enablement,
                "a",
                Some(1),
                "wrapper `a-w` not enabled site-wide, in project P2, in project P1".into(),
            )],
        ),
        case(
            "a wrapper whose enablement was not read counts as enabled nowhere",
            vec![declared(&[a], true, list(&["P1"]))],
            gathered(vec![installed(1, "a", "lab/a:2", "run")], vec![]),
            vec![(
                Enablement,
                "a",
                Some(1),
                "wrapper `a-w` not enabled site-wide, in project P1".into(),
            )],
        ),
        case(
            "an outdated command is checked for enablement too",
            vec![declared(&[a], true, Projects::None)],
            gathered(
                vec![installed(1, "a", "lab/a:1", "run")],
                vec![(10, enabled(false, &[]))],
            ),
            vec![
                (Outdated, "a", Some(1), "installed as lab/a:1".into()),
                (
                    Enablement,
                    "a",
                    Some(1),
                    "wrapper `a-w` not enabled site-wide".into(),
                ),
            ],
        ),
        case(
            "a missing command has no wrapper to check",
            vec![declared(&[a], true, list(&["P1"]))],
            gathered(vec![], vec![]),
            vec![(Missing, "a", None, "not installed".into())],
        ),
        case(
            "declared order kept across images",
            vec![
                declared(&[("b", "lab/b:1")], false, Projects::None),
                declared(&[a], false, Projects::None),
            ],
            gathered(vec![installed(1, "a", "lab/a:1", "run")], vec![]),
            vec![
                (Missing, "b", None, "not installed".into()),
                (Outdated, "a", Some(1), "installed as lab/a:1".into()),
            ],
        ),
    ];
    check(cases);
}

#[test]
fn projects_all_asks_every_project_the_site_lists() {
    let mut g = gathered(
        vec![installed(1, "a", "lab/a:2", "run")],
        vec![(10, enabled(true, &[("A", true), ("B", false)]))],
    );
    g.projects = vec!["A".into(), "B".into()];
    let got = drift(
        &[declared(&[("a", "lab/a:2")], false, Projects::All)],
        &g,
        None,
    );
    assert_eq!(
        rows(&got),
        vec![(
            DriftKind::Enablement,
            "a".to_string(),
            Some(1),
            "wrapper `a-w` not enabled in project B".to_string()
        )]
    );
    // A site with no projects: `all` asks for nothing.
    g.projects.clear();
    g.wrappers.clear();
    let got = drift(
        &[declared(&[("a", "lab/a:2")], false, Projects::All)],
        &g,
        None,
    );
    assert_eq!(got, vec![]);
}

#[test]
fn orphans_table() {
    let globs = vec!["lab/*".to_string()];
    let site = || {
        gathered(
            vec![
                installed(1, "a", "lab/a:2", "run"),
                installed(2, "z", "lab/z:1", "run"),
                installed(3, "o", "other/o:1", "run"),
            ],
            vec![],
        )
    };
    type Orphan = (DriftKind, String, Option<i64>, String);
    let orphan = |id, name: &str| -> Orphan {
        (
            DriftKind::Orphan,
            name.to_string(),
            Some(id),
            "inside `prune:`, declared nowhere for this site".to_string(),
        )
    };
    let a = declared(&[("a", "lab/a:2")], false, Projects::None);
    // what, declared, prune → the orphans
    type Case<'a> = (&'a str, Vec<Declared>, Option<&'a [String]>, Vec<Orphan>);
    let cases: Vec<Case> = vec![
        ("no `prune:`: no orphans", vec![a.clone()], None, vec![]),
        (
            "inside the globs and declared nowhere; outside them is not the file's",
            vec![a.clone()],
            Some(&globs),
            vec![orphan(2, "z")],
        ),
        (
            "an unreadable image: its commands are unknown, so no orphans",
            vec![a.clone(), unreadable()],
            Some(&globs),
            vec![],
        ),
    ];
    for (what, declared, prune, want) in cases {
        let got = drift(&declared, &site(), prune);
        assert_eq!(rows(&got), want, "{what}");
    }
    // An orphan names the installed image.
    let got = drift(&[a], &site(), Some(&globs));
    assert_eq!(got[0].image, "lab/z:1");
}

/// Command `t` with two wrappers, `t-scan` and `t-qc`; installed (id 1) their ids are 10 and
/// 11.
fn two_wrappers(installed_id: Option<i64>) -> Value {
    let mut c = json!({
        "name": "t",
        "image": "lab/t:1",
        "type": "docker",
        "command-line": "run",
        "xnat": [
            {"name": "t-scan", "contexts": ["xnat:imageScanData"]},
            {"name": "t-qc", "contexts": ["xnat:imageSessionData"]},
        ],
    });
    if let Some(id) = installed_id {
        c["id"] = json!(id);
        c["xnat"][0]["id"] = json!(10 * id);
        c["xnat"][1]["id"] = json!(10 * id + 1);
    }
    c
}

/// `t` declared with the image-level enablement and these wrapper overrides.
fn declared_t(site: bool, projects: Projects, wrappers: Vec<WrapperEnable>) -> Declared {
    Declared {
        source: "fleet image".into(),
        commands: vec![Desired {
            source: "fleet image".into(),
            image: InstallRef::tagged("lab/t:1").unwrap(),
            command: two_wrappers(None),
        }],
        enable_site: site,
        projects,
        wrappers,
        readable: true,
    }
}

fn over(name: &str, site: Option<bool>, projects: Option<Projects>) -> WrapperEnable {
    WrapperEnable {
        name: name.into(),
        site,
        projects,
    }
}

#[test]
fn each_wrapper_is_held_to_its_own_enablement() {
    use DriftKind::Enablement;
    let enablement = |detail: &str| vec![(Enablement, "t", Some(1), detail.to_string())];
    // Not enabled anywhere, both wrappers (10: t-scan, 11: t-qc).
    let nowhere = || {
        gathered(
            vec![two_wrappers(Some(1))],
            vec![
                (10, enabled(false, &[("P1", false), ("P2", false)])),
                (11, enabled(false, &[("P1", false), ("P2", false)])),
            ],
        )
    };
    let cases = vec![
        case(
            "a wrapper asked for nowhere is no drift; the other inherits the image's",
            vec![declared_t(
                true,
                list(&["P1"]),
                vec![over("t-scan", Some(false), Some(list(&[])))],
            )],
            nowhere(),
            enablement("wrapper `t-qc` not enabled site-wide, in project P1"),
        ),
        case(
            "the site flag inherited, the projects replaced",
            vec![declared_t(
                true,
                list(&["P1"]),
                vec![over("t-qc", None, Some(list(&["P2"])))],
            )],
            gathered(
                vec![two_wrappers(Some(1))],
                vec![
                    (10, enabled(true, &[("P1", true)])),
                    (11, enabled(true, &[("P1", true), ("P2", false)])),
                ],
            ),
            enablement("wrapper `t-qc` not enabled in project P2"),
        ),
        case(
            "an override asks where the image asks nothing",
            vec![declared_t(
                false,
                Projects::None,
                vec![over("t-scan", Some(true), None)],
            )],
            nowhere(),
            enablement("wrapper `t-scan` not enabled site-wide"),
        ),
        case(
            "each enabled where its own enablement asks: in sync",
            vec![declared_t(
                false,
                list(&["P1"]),
                vec![
                    over("t-scan", Some(true), Some(list(&[]))),
                    over("t-qc", None, Some(list(&["P2"]))),
                ],
            )],
            gathered(
                vec![two_wrappers(Some(1))],
                vec![
                    (10, enabled(true, &[])),
                    (11, enabled(false, &[("P2", true)])),
                ],
            ),
            vec![],
        ),
        case(
            "an empty image-level project list asks for nothing",
            vec![declared_t(false, list(&[]), vec![])],
            nowhere(),
            vec![],
        ),
    ];
    check(cases);

    // `projects: all` in an override: every project the site lists, for that wrapper only.
    let mut g = gathered(
        vec![two_wrappers(Some(1))],
        vec![
            (10, enabled(true, &[])),
            (11, enabled(true, &[("A", true), ("B", false)])),
        ],
    );
    g.projects = vec!["A".into(), "B".into()];
    let d = declared_t(
        true,
        Projects::None,
        vec![over("t-qc", None, Some(Projects::All))],
    );
    assert!(d.asks_all_projects() && d.asks_projects());
    assert_eq!(
        rows(&drift(&[d], &g, None)),
        vec![(
            Enablement,
            "t".to_string(),
            Some(1),
            "wrapper `t-qc` not enabled in project B".to_string()
        )]
    );
}
