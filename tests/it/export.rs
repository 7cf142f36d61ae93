//! `xnat-cmd export` (issue 21) on a realistic site built through the XNAT API: several images
//! from a real registry, one with only some of its commands, wrappers enabled differently,
//! projects in all and in some, a command edited in XNAT after install, a command whose
//! registry is gone, one installed as JSON with no label. Then: the export's `status` against
//! the same site is clean, its `sync --prune --dry-run` plans nothing, a `sync` of it into an
//! empty site exports to the same file, and exporting writes nothing, with a token and a
//! non-admin Container Manager too.

use std::path::Path;

use serde_json::{json, Value};

use crate::status::status;
use crate::support::emulator::Emulator;
use crate::support::images::ImageBuilder;
use crate::support::registry::{Mode, Registry};
use crate::support::Sandbox;
use crate::sync::{fleet, run, stderr, stdout, wrapper_id};

const TOKEN_ALIAS: &str = "5b2e6c1a-0000-4000-8000-00000000000c";
const TOKEN_SECRET: &str = "cm-secret";

fn site() -> Emulator {
    Emulator::start(&[
        "--user",
        "admin:admin:Administrator,ContainerManager",
        "--user",
        "cm:cm:ContainerManager",
        "--token",
        &format!("{TOKEN_ALIAS}:{TOKEN_SECRET}:cm"),
        "--project",
        "P1",
        "--project",
        "P2",
        "--access",
        "P1:cm:member",
        "--access",
        "P2:cm:member",
    ])
}

/// A command `name` whose wrappers (`(name, context)`) each take the context's item.
fn command(name: &str, wrappers: &[(&str, &str)]) -> Value {
    let ws: Vec<Value> = wrappers
        .iter()
        .map(|(w, ctx)| {
            let input = if *ctx == "xnat:projectData" {
                json!({"name": "project", "type": "Project"})
            } else {
                json!({"name": "session", "type": "Session"})
            };
            json!({"name": w, "contexts": [ctx], "external-inputs": [input]})
        })
        .collect();
    json!({"name": name, "version": "1.0", "type": "docker",
           "command-line": format!("run {name}"), "xnat": ws})
}

const SESSION: &str = "xnat:imageSessionData";
const PROJECT: &str = "xnat:projectData";

fn push(rt: &tokio::runtime::Runtime, reg: &Registry, repo: &str, label: Option<Value>) {
    let mut b = ImageBuilder::new();
    if let Some(l) = label {
        b = b.label("org.nrg.commands", &l.to_string());
    }
    let image = b.build();
    rt.block_on(reg.push_image_to(repo, "1", &image));
}

/// One request straight to the emulator as `admin` (as a script or the UI would).
fn xapi(rt: &tokio::runtime::Runtime, emu: &Emulator, path: &str, body: &Value) -> String {
    rt.block_on(async {
        let r = reqwest::Client::new()
            .post(format!("{}{path}", emu.url.trim_end_matches('/')))
            .basic_auth("admin", Some("admin"))
            .json(body)
            .send()
            .await
            .expect("XNAT API call");
        let status = r.status();
        let text = r.text().await.unwrap_or_default();
        assert!(status.is_success(), "{path}: {status} {text}");
        text
    })
}

fn export(sb: &Sandbox, emu: &Emulator, args: &[&str]) -> std::process::Output {
    emu.xnat_cmd(sb)
        .arg("export")
        .args(args)
        .env("XNAT_CMD_BACKOFF_MS", "1")
        .output()
        .unwrap()
}

/// `status FILE` against `emu` exits 0.
fn in_sync(sb: &Sandbox, emu: &Emulator, file: &Path) {
    let out = status(sb, emu, &[file.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every file under `dir`'s `commands/`, by name.
fn command_files(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir.join("commands"))
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| {
                    (
                        e.file_name().to_string_lossy().into_owned(),
                        read(&e.path()),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

#[test]
fn an_exported_site_checks_clean_and_syncs_into_an_empty_site_that_exports_the_same() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let reg = Registry::start(Mode::Plain);
    let gone_reg = Registry::start(Mode::Plain);
    let r = &reg.addr;
    push(
        &rt,
        &reg,
        "lab/full",
        Some(json!([
            command("a", &[("a-w", SESSION)]),
            command("b", &[("b-sess", SESSION), ("b-proj", PROJECT)])
        ])),
    );
    push(
        &rt,
        &reg,
        "lab/part",
        Some(json!([
            command("p1", &[("p1-w", SESSION)]),
            command("p2", &[("p2-w", SESSION)]),
            command("p3", &[("p3-w", SESSION)])
        ])),
    );
    push(
        &rt,
        &reg,
        "lab/edit",
        Some(json!([command("e", &[("e-w", SESSION)])])),
    );
    push(&rt, &reg, "lab/nolabel", None);
    push(
        &rt,
        &gone_reg,
        "lab/gone",
        Some(json!([command("g", &[("g-w", SESSION)])])),
    );

    // Site 1, as years of hand work leave it.
    let sb = Sandbox::new();
    let emu = site();
    let g = &gone_reg.addr.clone();
    let setup = fleet(
        &sb,
        &format!(
            "images:
  - image: {r}/lab/full:1
    enable: {{site: true, projects: [P1, P2]}}
  - image: {r}/lab/part:1
    commands: [p1, p2]
    enable: {{site: true, projects: [P1]}}
  - image: {r}/lab/edit:1
    enable: {{site: true}}
  - image: {g}/lab/gone:1
    enable: {{site: true, projects: [P2]}}
"
        ),
    );
    let out = run(&sb, &emu, &setup, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Enabled by hand: b's project wrapper in no project; p1 in P2 too.
    emu.set_enabled(Some("P1"), wrapper_id(&emu, "b-proj"), false);
    emu.set_enabled(Some("P2"), wrapper_id(&emu, "b-proj"), false);
    emu.set_enabled(Some("P2"), wrapper_id(&emu, "p1-w"), true);
    // e edited in XNAT after install (update in place, as the UI does).
    let e = emu
        .commands()
        .into_iter()
        .find(|c| c["name"] == "e")
        .unwrap();
    let mut edited = e.clone();
    edited["command-line"] = json!("run e --edited-in-xnat");
    xapi(&rt, &emu, &format!("/xapi/commands/{}", e["id"]), &edited);
    // A command installed as JSON, for an image without a label.
    xapi(
        &rt,
        &emu,
        &format!("/xapi/commands?image={r}/lab/nolabel:1"),
        &command("n", &[("n-w", SESSION)]),
    );
    // The registry of lab/gone goes away.
    drop(gone_reg);

    // Export: reads only.
    let dir1 = sb.path().join("site1");
    std::fs::create_dir(&dir1).unwrap();
    let file1 = dir1.join("fleet.yaml");
    let (writes, logged) = (emu.writes(), emu.log().len());
    let out = export(&sb, &emu, &["-o", file1.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(emu.writes(), writes, "export wrote to XNAT");
    for (method, path, _) in &emu.log()[logged..] {
        assert!(
            method == "GET" || path == "/data/JSESSION",
            "export sent {method} {path}"
        );
    }
    let err = stderr(&out);
    assert!(
        err.contains(&format!("warning: {g}/lab/gone:1 could not be read")),
        "{err}"
    );
    assert!(
        err.contains(&format!("warning: {r}/lab/nolabel:1 could not be read")),
        "{err}"
    );
    let text1 = read(&file1);
    // The decisions, as written.
    assert!(text1.contains("  - image: \""), "{text1}");
    assert!(text1.contains("    commands: [p1, p2]\n"), "{text1}");
    assert!(text1.contains("      projects: all\n"), "{text1}");
    assert!(
        text1.contains("        b-proj: {projects: []}\n"),
        "{text1}"
    );
    assert!(
        text1.contains("        p2-w: {projects: [P1]}\n"),
        "{text1}"
    );
    assert!(
        text1.contains("  - command-file: commands/e.json\n"),
        "{text1}"
    );
    assert!(
        text1.contains("  - command-file: commands/g.json\n"),
        "{text1}"
    );
    assert!(
        text1.contains("  - command-file: commands/n.json\n"),
        "{text1}"
    );
    assert!(text1.contains("\nprune:\n"), "{text1}");
    let files1 = command_files(&dir1);
    let names: Vec<&str> = files1.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, vec!["e.json", "g.json", "n.json"]);
    assert!(files1[0].1.contains("--edited-in-xnat"));

    // The same site against its export: no drift; a prune run plans nothing.
    in_sync(&sb, &emu, &file1);
    let out = run(&sb, &emu, &file1, &["--prune", "--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let said = stdout(&out);
    assert!(
        said.contains("0 created, 0 updated, 0 to enable,") && said.contains("0 removed, 0 failed"),
        "{said}"
    );
    assert_eq!(emu.writes(), writes);

    // The JSON form is a fleet file too.
    let json1 = dir1.join("fleet.json");
    let out = export(&sb, &emu, &["--json", "-o", json1.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    in_sync(&sb, &emu, &json1);

    // A token of a Container Manager who is no administrator exports the same.
    let dir_cm = sb.path().join("cm");
    std::fs::create_dir(&dir_cm).unwrap();
    let out = emu
        .xnat_cmd_as(&sb, TOKEN_ALIAS, TOKEN_SECRET)
        .args(["export", "-o", dir_cm.join("fleet.yaml").to_str().unwrap()])
        .env("XNAT_CMD_BACKOFF_MS", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(read(&dir_cm.join("fleet.yaml")), text1);
    assert_eq!(emu.writes(), writes);

    // Into an empty site: sync, then its export is the first one.
    let emu2 = site();
    let out = run(&sb, &emu2, &file1, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let dir2 = sb.path().join("site2");
    std::fs::create_dir(&dir2).unwrap();
    let file2 = dir2.join("fleet.yaml");
    let out = export(&sb, &emu2, &["-o", file2.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(read(&file2), text1);
    assert_eq!(command_files(&dir2), files1);
}

#[test]
fn export_to_stdout_needs_o_for_command_files_and_an_empty_site_has_nothing() {
    let sb = Sandbox::new();
    let emu = site();
    let out = export(&sb, &emu, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the site holds no command"),
        "{}",
        stderr(&out)
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    xapi(
        &rt,
        &emu,
        "/xapi/commands?image=127.0.0.1:9/lab/x:1",
        &command("x", &[("x-w", SESSION)]),
    );
    let out = export(&sb, &emu, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("give -o FILE"), "{}", stderr(&out));
    // With -o: the command file beside it, and a word about one an earlier export left.
    let dir = sb.path().join("out");
    std::fs::create_dir_all(dir.join("commands")).unwrap();
    std::fs::write(dir.join("commands/old.json"), "{}").unwrap();
    let out = export(&sb, &emu, &["-o", dir.join("fleet.yaml").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        command_files(&dir)
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>(),
        vec!["old.json", "x.json"]
    );
    assert!(
        stderr(&out).contains("warning: commands/old.json: not named by the new fleet file"),
        "{}",
        stderr(&out)
    );
    // A missing output folder is refused before XNAT is asked anything.
    let logged = emu.log().len();
    let out = export(&sb, &emu, &["-o", "no/such/dir/fleet.yaml"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(emu.log().len(), logged);
}
