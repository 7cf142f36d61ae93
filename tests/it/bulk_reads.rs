//! Issue 20 item 3: a re-sync or `status` of a site where everything is already right reads
//! enablement through XNAT's bulk "available commands" reads (one per project and context
//! type, one site-wide when needed), whatever the number of images; a wrapper a bulk read
//! leaves out is read one by one, never taken for disabled; a change made outside xnat-cmd is
//! still seen and repaired. Requests are counted from the emulator's own log.

use serde_json::{json, Value};

use crate::status::status;
use crate::support::emulator::Emulator;
use crate::support::Sandbox;
use crate::sync::{archive, commands, fleet, run, stderr, wrapper_id};

/// The fleet file of `n` images (`lab/cN:1`, one command `cN`, one wrapper `cN-w`, built by
/// `make`) with this `enable:` text.
fn images(sb: &Sandbox, n: usize, make: fn(&str) -> Value, enable: &str) -> std::path::PathBuf {
    let mut text = String::from("images:\n");
    for i in 1..=n {
        let name = format!("c{i}");
        let a = archive(sb.path(), &format!("lab/{name}:1"), &make(&name));
        text.push_str(&format!("  - image: {a}\n    enable: {enable}\n"));
    }
    fleet(sb, &text)
}

fn session_commands(name: &str) -> Value {
    commands(&[name])
}

/// One command whose wrapper runs on scans.
fn scan_commands(name: &str) -> Value {
    json!([{
        "name": name, "version": "1.0", "type": "docker", "command-line": format!("run {name}"),
        "xnat": [{"name": format!("{name}-w"), "contexts": ["xnat:imageScanData"],
                  "external-inputs": [{"name": "scan", "type": "Scan"}]}]
    }])
}

/// The requests of a run (what the log gained while `f` ran), as `METHOD path`.
fn requests_of(emu: &Emulator, f: impl FnOnce()) -> Vec<String> {
    let before = emu.log().len();
    f();
    emu.log()[before..]
        .iter()
        .map(|(m, p, _)| format!("{m} {p}"))
        .collect()
}

fn synced(sb: &Sandbox, emu: &Emulator, file: &std::path::Path) {
    let out = run(sb, emu, file, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// The requests that read enablement one wrapper at a time.
fn per_wrapper(log: &[String]) -> usize {
    log.iter().filter(|r| r.contains("/wrappers/")).count()
}

#[test]
fn an_unchanged_site_costs_the_same_few_requests_whatever_its_size() {
    let sb = Sandbox::new();
    let emu = Emulator::start(&["--project", "P1"]);
    let both = "{site: true, projects: [P1]}";
    for n in [3, 12] {
        let file = images(&sb, n, session_commands, both);
        synced(&sb, &emu, &file);
        let writes = emu.writes();
        let log = requests_of(&emu, || synced(&sb, &emu, &file));
        assert_eq!(
            emu.writes(),
            writes,
            "a re-sync of {n} images writes nothing"
        );
        // Session, whoami, plugins, roles, the command list, the project list, ONE bulk read
        // for P1 (every wrapper effectively enabled there is enabled site-wide), logout.
        assert_eq!(log.len(), 8, "{n} images: {log:#?}");
        assert_eq!(per_wrapper(&log), 0, "{log:#?}");
        assert!(
            log.iter()
                .any(|r| r.starts_with("GET /xapi/projects/P1/commands/available")),
            "{log:#?}"
        );
        // status reads the same way (and lists projects only for `projects: all`).
        let log = requests_of(&emu, || {
            let out = status(&sb, &emu, &[file.to_str().unwrap()]);
            assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        });
        assert_eq!(log.len(), 7, "status of {n} images: {log:#?}");
        assert_eq!(per_wrapper(&log), 0, "{log:#?}");
    }

    // Changed outside xnat-cmd: c2 disabled in P1, c3 disabled site-wide. Both are seen.
    let file = images(&sb, 12, session_commands, both);
    let (w2, w3) = (wrapper_id(&emu, "c2-w"), wrapper_id(&emu, "c3-w"));
    emu.set_enabled(Some("P1"), w2, false);
    emu.set_enabled(None, w3, false);
    let out = status(&sb, &emu, &[file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("c2") && said.contains("c3"), "{said}");
    let writes = emu.writes();
    let log = requests_of(&emu, || synced(&sb, &emu, &file));
    assert_eq!(emu.writes() - writes, 2, "{log:#?}");
    assert!(
        log.contains(&format!("PUT /xapi/projects/P1/wrappers/{w2}/enabled")),
        "{log:#?}"
    );
    assert!(
        log.contains(&format!("PUT /xapi/wrappers/{w3}/enabled")),
        "{log:#?}"
    );
    // c3's project record was never touched: enabling it site-wide made it count in P1 again.
    let st = emu.state();
    assert_eq!(st["site_enabled"][w3.to_string()], true);
    assert_eq!(st["project_enabled"]["P1"][w2.to_string()], true);
    let writes = emu.writes();
    synced(&sb, &emu, &file);
    assert_eq!(emu.writes(), writes);
}

#[test]
fn wrappers_a_project_read_leaves_out_are_read_one_by_one_not_taken_for_disabled() {
    let sb = Sandbox::new();
    let emu = Emulator::start(&["--project", "P1"]);
    // XNAT lists no scan wrapper in a project without image sessions (the emulator's never
    // hold any), whatever their enablement.
    let file = images(&sb, 4, scan_commands, "{site: true, projects: [P1]}");
    synced(&sb, &emu, &file);
    let writes = emu.writes();
    let log = requests_of(&emu, || synced(&sb, &emu, &file));
    assert_eq!(emu.writes(), writes, "nothing rewritten: {log:#?}");
    assert_eq!(per_wrapper(&log), 4, "{log:#?}");
    assert_eq!(log.len(), 8 + 4, "{log:#?}");
    // A change there is still found.
    let w = wrapper_id(&emu, "c4-w");
    emu.set_enabled(Some("P1"), w, false);
    let log = requests_of(&emu, || synced(&sb, &emu, &file));
    assert_eq!(emu.writes(), writes + 1, "{log:#?}");
    assert!(
        log.contains(&format!("PUT /xapi/projects/P1/wrappers/{w}/enabled")),
        "{log:#?}"
    );
}

#[test]
fn site_only_enablement_is_read_in_one_site_wide_request() {
    let sb = Sandbox::new();
    let emu = Emulator::start(&[]);
    let file = images(&sb, 5, session_commands, "{site: true}");
    synced(&sb, &emu, &file);
    let writes = emu.writes();
    let log = requests_of(&emu, || synced(&sb, &emu, &file));
    assert_eq!(emu.writes(), writes);
    // Session, whoami, plugins, roles, the command list, one site-wide bulk read, logout.
    assert_eq!(log.len(), 7, "{log:#?}");
    assert!(
        log.iter()
            .any(|r| r.starts_with("GET /xapi/commands/available/site")),
        "{log:#?}"
    );
    let w = wrapper_id(&emu, "c5-w");
    emu.set_enabled(None, w, false);
    synced(&sb, &emu, &file);
    assert_eq!(emu.writes(), writes + 1);
    assert_eq!(emu.state()["site_enabled"][w.to_string()], true);
}
