//! The fleet format's lossless forms (issue 21 item 2) end to end against the emulator:
//! `enable.wrappers` (each wrapper enabled where its own entry says, the others as the image
//! says; status and sync per wrapper) and `command-file:` entries (a command JSON file
//! installed under `image`, synced, checked, kept by prune, updated in place when edited,
//! validated like `install` validates).

use std::path::Path;

use serde_json::{json, Value};

use crate::status::status;
use crate::support::emulator::Emulator;
use crate::support::Sandbox;
use crate::sync::{archive, commands, enabled, fleet, names, run, stderr, stdout, wrapper_id};

/// Command `tool` with two wrappers (`tool-session` on sessions, `tool-project` on projects)
/// and command `extra` with one (`extra-w`).
fn tool_commands() -> Value {
    json!([
        {
            "name": "tool", "version": "1.0", "type": "docker", "command-line": "run tool",
            "xnat": [
                {"name": "tool-session", "contexts": ["xnat:imageSessionData"],
                 "external-inputs": [{"name": "session", "type": "Session"}]},
                {"name": "tool-project", "contexts": ["xnat:projectData"],
                 "external-inputs": [{"name": "project", "type": "Project"}]}
            ]
        },
        {
            "name": "extra", "version": "1.0", "type": "docker", "command-line": "run extra",
            "xnat": [{"name": "extra-w", "contexts": ["xnat:imageSessionData"],
                      "external-inputs": [{"name": "session", "type": "Session"}]}]
        }
    ])
}

/// Where `wrapper` is enabled: (site-wide, in DEMO, in P2).
fn where_enabled(emu: &Emulator, wrapper: &str) -> (bool, bool, bool) {
    let id = wrapper_id(emu, wrapper);
    (
        enabled(emu, "site_enabled", id, None),
        enabled(emu, "project_enabled", id, Some("DEMO")),
        enabled(emu, "project_enabled", id, Some("P2")),
    )
}

/// The drift of the first site in `status --json` output: (kind, command, detail).
fn drift(out: &std::process::Output) -> Vec<(String, String, String)> {
    let report: Value = serde_json::from_slice(&out.stdout).expect("status --json");
    report["sites"][0]["drift"]
        .as_array()
        .expect("drift")
        .iter()
        .map(|d| {
            let s = |k: &str| d[k].as_str().unwrap_or_default().to_string();
            (s("kind"), s("command"), s("detail"))
        })
        .collect()
}

#[test]
fn wrapper_overrides_enable_exactly_the_declared_wrappers_and_status_sees_each() {
    let sb = Sandbox::new();
    let emu = Emulator::start(&["--project", "DEMO", "--project", "P2"]);
    let tool = archive(sb.path(), "lab/tool:1", &tool_commands());
    let f = fleet(
        &sb,
        &format!(
            "images:\n  - image: {tool}\n    enable:\n      site: true\n      projects: [DEMO]\n      wrappers:\n        tool-session: {{site: false, projects: []}}\n        tool-project: {{projects: [DEMO, P2]}}\n"
        ),
    );
    let out = run(&sb, &emu, &f, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(names(&emu), ["extra", "tool"]);
    // Asked nowhere: enabled nowhere. Site inherited, projects replaced. Not named: the image's.
    assert_eq!(where_enabled(&emu, "tool-session"), (false, false, false));
    assert_eq!(where_enabled(&emu, "tool-project"), (true, true, true));
    assert_eq!(where_enabled(&emu, "extra-w"), (true, true, false));

    // In sync: a re-sync writes nothing, status exits 0.
    let writes = emu.writes();
    let out = run(&sb, &emu, &f, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(emu.writes(), writes, "a re-sync must not write");
    let out = status(&sb, &emu, &[f.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(drift(&out), vec![]);

    // One declared wrapper disabled behind the file's back: status names it, alone.
    emu.set_enabled(Some("P2"), wrapper_id(&emu, "tool-project"), false);
    let out = status(&sb, &emu, &[f.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(
        drift(&out),
        vec![(
            "enablement".to_string(),
            "tool".to_string(),
            "wrapper `tool-project` not enabled in project P2".to_string()
        )]
    );
    assert_eq!(emu.writes(), writes, "status writes nothing");
    // Sync repairs it with one write, and leaves `tool-session` where the file wants it.
    let out = run(&sb, &emu, &f, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        emu.writes(),
        writes + 1,
        "one write: the project enablement"
    );
    assert_eq!(where_enabled(&emu, "tool-project"), (true, true, true));
    assert_eq!(where_enabled(&emu, "tool-session"), (false, false, false));
    let out = status(&sb, &emu, &[f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));

    // A wrapper enabled where the file does not ask is no drift, and sync never disables.
    emu.set_enabled(None, wrapper_id(&emu, "tool-session"), true);
    let out = status(&sb, &emu, &[f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let writes = emu.writes();
    let out = run(&sb, &emu, &f, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(emu.writes(), writes);
    assert_eq!(where_enabled(&emu, "tool-session"), (true, false, false));

    // A wrapper's projects are checked like the image's, before anything is written.
    let f = fleet(
        &sb,
        &format!(
            "images:\n  - image: {tool}\n    enable:\n      site: true\n      wrappers:\n        tool-session: {{projects: [NOPE]}}\n"
        ),
    );
    let out = run(&sb, &emu, &f, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "error: {tool} (site default, wrapper `tool-session`): project `NOPE` does not exist in XNAT\n"
        )),
        "{}",
        stderr(&out)
    );
    assert_eq!(emu.writes(), writes, "nothing written");
}

#[test]
fn a_wrapper_the_selected_commands_lack_fails_its_image_with_the_wrappers_they_have() {
    let sb = Sandbox::new();
    let emu = Emulator::start(&[]);
    let tool = archive(sb.path(), "lab/tool:1", &tool_commands());
    let other = archive(sb.path(), "lab/other:1", &commands(&["o1"]));
    // `extra-w` belongs to a command `commands:` leaves out.
    let f = fleet(
        &sb,
        &format!(
            "images:\n  - image: {tool}\n    commands: [tool]\n    enable:\n      wrappers:\n        extra-w: {{site: true}}\n  - image: {other}\n"
        ),
    );
    let out = run(&sb, &emu, &f, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "error: {tool}: the selected commands have no wrapper named extra-w\nhint: fix `enable.wrappers` in the fleet file; the selected commands have: tool-session, tool-project\n"
        )),
        "{err}"
    );
    // Nothing of that image was written; the other image was synced.
    assert_eq!(names(&emu), ["o1"]);
    // `validate` says the same, with no XNAT.
    let out = sb.cmd().arg("validate").arg(&f).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the selected commands have no wrapper named extra-w"),
        "{}",
        stderr(&out)
    );
}

/// The command file's command: `tool` with one wrapper, naming an image of its own that the
/// entry's `image` replaces.
fn file_command(command_line: &str) -> Value {
    json!({
        "name": "tool", "version": "1.0", "type": "docker", "image": "lab/tool:0",
        "command-line": command_line,
        "xnat": [{"name": "tool-w", "contexts": ["xnat:imageSessionData"],
                  "external-inputs": [{"name": "session", "type": "Session"}]}]
    })
}

fn write_json(path: &Path, value: &Value) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, serde_json::to_string_pretty(value).unwrap()).unwrap();
}

/// The installed command named `name`.
fn installed(emu: &Emulator, name: &str) -> Value {
    emu.commands()
        .into_iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no command {name}"))
}

#[test]
fn a_command_file_entry_is_installed_under_its_image_kept_by_prune_and_updated_in_place() {
    let sb = Sandbox::new();
    let emu = Emulator::start(&[]);
    let file = sb.path().join("commands/tool-edited.json");
    write_json(&file, &file_command("run tool"));
    let text = "images:\n  - command-file: commands/tool-edited.json\n    image: lab/tool:1\n    enable: {site: true, projects: [DEMO]}\nprune: [lab/*]\n";
    let f = fleet(&sb, text);
    let out = run(&sb, &emu, &f, &["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let outcome = &report["sites"][0]["commands"][0];
    assert_eq!(outcome["status"], "created");
    assert_eq!(outcome["image"], "lab/tool:1");
    assert_eq!(
        outcome["source"],
        file.display().to_string(),
        "named by its file"
    );
    let tool = installed(&emu, "tool");
    assert_eq!(
        tool["image"], "lab/tool:1",
        "installed under the entry's image"
    );
    assert_eq!(tool["command-line"], "run tool");
    let w = wrapper_id(&emu, "tool-w");
    assert!(enabled(&emu, "site_enabled", w, None));
    assert!(enabled(&emu, "project_enabled", w, Some("DEMO")));

    // In sync: nothing written, status 0.
    let writes = emu.writes();
    let out = run(&sb, &emu, &f, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(emu.writes(), writes, "a re-sync must not write");
    let out = status(&sb, &emu, &[f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));

    // Prune keeps the file's command: it is declared and owned like any other. Another
    // command of the owned repositories, declared nowhere, is the one removal.
    let old = archive(sb.path(), "lab/old:1", &commands(&["old"]));
    let out = emu.xnat_cmd(&sb).args(["install", &old]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let old_id = installed(&emu, "old")["id"].as_u64().unwrap();
    let writes = emu.writes();
    let out = run(&sb, &emu, &f, &["--prune", "--dry-run", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let removed: Vec<u64> = report["sites"][0]["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_u64().unwrap())
        .collect();
    assert_eq!(removed, vec![old_id]);
    assert_eq!(report["sites"][0]["commands"][0]["status"], "unchanged");
    assert_eq!(emu.writes(), writes, "a dry run writes nothing");
    let out = status(&sb, &emu, &[f.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(
        drift(&out),
        vec![(
            "orphan".to_string(),
            "old".to_string(),
            "inside `prune:`, declared nowhere for this site".to_string()
        )]
    );

    // The file edited: status reports the command modified; sync updates it in place.
    write_json(&file, &file_command("run tool --edited"));
    let id = tool["id"].clone();
    let out = status(&sb, &emu, &[f.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let d = drift(&out);
    assert_eq!(
        (d[0].0.as_str(), d[0].1.as_str()),
        ("modified", "tool"),
        "{d:?}"
    );
    assert!(d[0].2.contains("/command-line"), "{d:?}");
    let out = run(&sb, &emu, &f, &["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["sites"][0]["commands"][0]["status"], "updated");
    let tool = installed(&emu, "tool");
    assert_eq!(tool["command-line"], "run tool --edited");
    assert_eq!(tool["id"], id, "updated in place");
    assert!(enabled(&emu, "site_enabled", w, None), "enablement kept");

    // Another reference in the file: outdated, then updated to it in place.
    let f = fleet(&sb, &text.replace("lab/tool:1", "lab/tool:2"));
    let out = status(&sb, &emu, &[f.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(
        drift(&out)[0],
        (
            "outdated".to_string(),
            "tool".to_string(),
            "installed as lab/tool:1".to_string()
        )
    );
    let out = run(&sb, &emu, &f, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let tool = installed(&emu, "tool");
    assert_eq!((&tool["image"], &tool["id"]), (&json!("lab/tool:2"), &id));
}

#[test]
fn an_invalid_command_file_fails_validate_with_xnats_message_and_sync_writes_nothing() {
    let sb = Sandbox::new();
    let emu = Emulator::start(&[]);
    let good = archive(sb.path(), "lab/good:1", &commands(&["g"]));
    let mut bad = file_command("run tool");
    bad["visibility"] = "secret".into();
    // A list of commands, as `install FILE.json` takes it.
    write_json(&sb.path().join("bad.json"), &json!([bad]));
    let f = fleet(
        &sb,
        &format!("images:\n  - image: {good}\n  - command-file: bad.json\n    image: lab/tool:1\n"),
    );
    let out = sb.cmd().arg("validate").arg(&f).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let shown = f.display();
    let file = sb.path().join("bad.json");
    let got = stdout(&out);
    assert!(
        got.starts_with(&format!(
            "✓ g  ({shown}:2 {good})\n✗ tool  ({shown}:3 {})\n    error at /visibility: Command \"tool\" -  has visibility set to an unknown value. Known types: public, private, protected\n",
            file.display()
        )),
        "{got}"
    );
    assert!(
        got.ends_with("2 commands checked: 1 valid, 1 invalid\n"),
        "{got}"
    );

    // As for an invalid label command: nothing is written to any site.
    let out = run(&sb, &emu, &f, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("nothing was written to any site"),
        "{}",
        stderr(&out)
    );
    assert_eq!(emu.writes(), 0);
    assert_eq!(names(&emu), Vec::<String>::new());

    // A file that is not there fails its entry, naming the file.
    let f = fleet(
        &sb,
        "images:\n  - command-file: missing.json\n    image: lab/tool:1\n",
    );
    let out = sb.cmd().arg("validate").arg(&f).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let missing = sb.path().join("missing.json");
    assert!(
        stderr(&out).contains(&format!("failed to read `{}`", missing.display())),
        "{}",
        stderr(&out)
    );
}

/// Every fleet example of the fleet section of docs/fleet-and-operations.md parses, the
/// per-wrapper and command-file examples as documented.
#[test]
fn the_documented_examples_parse_as_documented() {
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/fleet-and-operations.md"),
    )
    .unwrap();
    let section = doc
        .split("## Fleets: `sync`")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("the fleet section");
    let fleets: Vec<xnat_cmd::fleet::Fleet> = section
        .split("```yaml\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .filter(|b| b.starts_with("images:"))
        .map(|b| {
            xnat_cmd::fleet::parse("docs/fleet.yaml", b).unwrap_or_else(|e| panic!("{e}\n{b}"))
        })
        .collect();
    let wrappers = fleets
        .iter()
        .flat_map(|f| &f.images)
        .find(|i| !i.enable.wrappers.is_empty())
        .expect("a per-wrapper example");
    let named: Vec<&str> = wrappers
        .enable
        .wrappers
        .iter()
        .map(|w| w.name.as_str())
        .collect();
    assert_eq!(named, ["tool-scan", "tool-qc"]);
    let file = fleets
        .iter()
        .flat_map(|f| &f.images)
        .find(|i| i.command_file.is_some())
        .expect("a command-file example");
    assert_eq!(
        (file.command_file.as_deref(), file.image.as_str()),
        (
            Some(Path::new("docs/commands/tool-edited.json")),
            "lab/tool:1"
        )
    );
}
