//! End-to-end: `xnat-cmd install | list | uninstall` against the XNAT emulator, with images
//! from archives built by the fixture code. Writes are counted by the emulator itself.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::support::cli::Transcript;
use crate::support::emulator::Emulator;
use crate::support::images::{write_docker_archive, Compress, ImageBuilder, Saved};
use crate::support::{corpus_dir, Sandbox};

/// Two commands, the first with two wrappers, as an image author would ship them.
fn tool_commands(cmdline: &str) -> Value {
    json!([
        {
            "name": "tool",
            "version": "1.0",
            "type": "docker",
            "command-line": cmdline,
            "mounts": [{"name": "in", "path": "/input"}, {"name": "out", "writable": "true", "path": "/output"}],
            "inputs": [{"name": "flag", "type": "boolean", "true-value": "-f", "required": "false"}],
            "outputs": [{"name": "result", "mount": "out"}],
            "xnat": [
                {"name": "tool-session", "contexts": ["xnat:imageSessionData"],
                 "external-inputs": [{"name": "session", "type": "Session", "provides-files-for-command-mount": "in"}],
                 "output-handlers": [{"name": "res", "accepts-command-output": "result", "as-a-child-of": "session", "type": "Resource", "label": "OUT"}]},
                {"name": "tool-project", "contexts": ["xnat:projectData"],
                 "external-inputs": [{"name": "project", "type": "Project"}],
                 "output-handlers": [{"name": "res", "accepts-command-output": "result", "as-a-child-of": "project", "type": "Resource", "label": "OUT"}]}
            ]
        },
        {"name": "tool-setup", "version": "1.0", "type": "docker-setup", "command-line": "prep"}
    ])
}

/// A `docker save` archive of an image tagged `reference` whose label holds `commands`.
fn archive(dir: &Path, file: &str, reference: &str, commands: &Value) -> PathBuf {
    let img = ImageBuilder::new()
        .label("org.nrg.commands", &commands.to_string())
        .build();
    let out = dir.join(file);
    write_docker_archive(&out, &[Saved::new(&img, &[reference])], Compress::None)
        .expect("write archive");
    out
}

fn src(p: &Path) -> String {
    format!("docker-archive:{}", p.display())
}

fn xnat_cmd(sb: &Sandbox, emu: &Emulator) -> assert_cmd::Command {
    emu.xnat_cmd(sb)
}

fn xnat_cmd_as(sb: &Sandbox, emu: &Emulator, user: &str, password: &str) -> assert_cmd::Command {
    emu.xnat_cmd_as(sb, user, password)
}

fn by_name<'a>(cmds: &'a [Value], name: &str) -> Vec<&'a Value> {
    cmds.iter().filter(|c| c["name"] == name).collect()
}

fn wrapper_ids(c: &Value) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = c["xnat"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["name"].as_str().unwrap().to_string(),
                w["id"].as_u64().unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

// The emulator's state document: `site_enabled` {wrapper: flag}, `project_enabled`
// {project: {wrapper: flag}}; absent or null = no flag.
fn site_enabled(emu: &Emulator, wrapper: u64) -> Option<bool> {
    emu.state()["site_enabled"][wrapper.to_string()].as_bool()
}

fn project_enabled(emu: &Emulator, project: &str, wrapper: u64) -> Option<bool> {
    emu.state()["project_enabled"][project][wrapper.to_string()].as_bool()
}

#[test]
fn install_creates_every_command_and_a_rerun_writes_nothing() {
    let sb = Sandbox::new();
    let emu = Emulator::start(&[]);
    let a = archive(
        sb.path(),
        "tool.tar",
        "xnat/tool:1.0",
        &tool_commands("run #flag#"),
    );
    let out = xnat_cmd(&sb, &emu)
        .args([
            "install",
            &src(&a),
            "--enable-site",
            "--enable-project",
            "DEMO",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["commands"][0]["status"], "created");
    assert_eq!(report["commands"][1]["status"], "created");

    let cmds = emu.commands();
    assert_eq!(cmds.len(), 2);
    let tool = by_name(&cmds, "tool")[0];
    // The image recorded with the archive, injected; `writable: "true"` coerced by XNAT.
    assert_eq!(tool["image"], "xnat/tool:1.0");
    assert_eq!(by_name(&cmds, "tool-setup")[0]["image"], "xnat/tool:1.0");
    for (_, wid) in wrapper_ids(tool) {
        assert_eq!(site_enabled(&emu, wid), Some(true));
        assert_eq!(project_enabled(&emu, "DEMO", wid), Some(true));
    }
    // 2 creates + 2 wrappers × (site + project) enables.
    assert_eq!(emu.writes(), 6);

    let before = emu.writes();
    let requests = emu.requests();
    let out = xnat_cmd(&sb, &emu)
        .args([
            "install",
            &src(&a),
            "--enable-site",
            "--enable-project",
            "DEMO",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("0 created, 0 updated, 0 enabled, 2 unchanged"),
        "{stdout}"
    );
    // The summary's own count agrees: opening the session is not a write.
    assert!(stdout.contains("; 0 writes,"), "{stdout}");
    assert_eq!(emu.writes(), before, "a re-run must not write");
    // Session open/close, whoami, plugins, roles, ONE list, the project list (the project must
    // exist), and one enablement read per wrapper and project (it also tells the site flag):
    // the two wrappers have different contexts, so a bulk read would save nothing.
    assert_eq!(emu.requests() - requests, 7 + 2);
    // One server session per run, closed at the end: none is left behind.
    assert_eq!(emu.state()["sessions"], json!({}));
    assert_eq!(emu.commands().len(), 2);
}

#[test]
fn upgrade_to_a_new_tag_updates_in_place_and_keeps_wrapper_ids_and_enablement() {
    let sb = Sandbox::new();
    let emu = Emulator::start(&[]);
    let v1 = archive(
        sb.path(),
        "v1.tar",
        "xnat/tool:1.0",
        &tool_commands("run #flag#"),
    );
    let v2 = archive(
        sb.path(),
        "v2.tar",
        "xnat/tool:2.0",
        &tool_commands("run2 #flag#"),
    );
    xnat_cmd(&sb, &emu)
        .args([
            "install",
            &src(&v1),
            "--enable-site",
            "--enable-project",
            "DEMO",
        ])
        .assert()
        .success();
    let before = wrapper_ids(by_name(&emu.commands(), "tool")[0]);

    // Dry run first: the plan with its diff, and no write.
    let writes = emu.writes();
    let out = xnat_cmd(&sb, &emu)
        .args(["install", &src(&v2), "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("would update  tool"), "{stdout}");
    assert!(stdout.contains("upgrade from xnat/tool:1.0"), "{stdout}");
    assert!(
        stdout.contains("/command-line: \"run #flag#\" → \"run2 #flag#\""),
        "{stdout}"
    );
    assert_eq!(emu.writes(), writes);

    xnat_cmd(&sb, &emu)
        .args(["install", &src(&v2)])
        .assert()
        .success();
    let cmds = emu.commands();
    assert_eq!(cmds.len(), 2, "updated in place, not added: {cmds:#?}");
    let tool = by_name(&cmds, "tool")[0];
    assert_eq!(tool["image"], "xnat/tool:2.0");
    assert_eq!(tool["command-line"], "run2 #flag#");
    assert_eq!(wrapper_ids(tool), before, "wrapper ids survive an update");
    for (_, wid) in &before {
        assert_eq!(site_enabled(&emu, *wid), Some(true));
        assert_eq!(project_enabled(&emu, "DEMO", *wid), Some(true));
    }
}

#[test]
fn side_by_side_keeps_the_old_tag_and_replace_resets_ids() {
    let sb = Sandbox::new();
    let emu = Emulator::start(&[]);
    let v1 = archive(sb.path(), "v1.tar", "xnat/tool:1.0", &tool_commands("a"));
    let v2 = archive(sb.path(), "v2.tar", "xnat/tool:2.0", &tool_commands("b"));
    xnat_cmd(&sb, &emu)
        .args(["install", &src(&v1)])
        .assert()
        .success();
    xnat_cmd(&sb, &emu)
        .args(["install", &src(&v2), "--side-by-side"])
        .assert()
        .success();
    let tools = emu.commands();
    let mut images: Vec<&str> = by_name(&tools, "tool")
        .iter()
        .map(|c| c["image"].as_str().unwrap())
        .collect();
    images.sort();
    assert_eq!(images, vec!["xnat/tool:1.0", "xnat/tool:2.0"]);

    // With both installed, a third tag is ambiguous: a conflict, nothing written for it.
    let v3 = archive(sb.path(), "v3.tar", "xnat/tool:3.0", &tool_commands("c"));
    let writes = emu.writes();
    let out = xnat_cmd(&sb, &emu)
        .args(["install", &src(&v3)])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("conflict: 2 installed commands named `tool` use repository xnat/tool"),
        "{stderr}"
    );
    assert!(
        stderr.contains("use repository xnat/tool\nhint: remove the extra ones (xnat-cmd uninstall --id N) and run again\n"),
        "{stderr}"
    );
    assert_eq!(
        emu.writes(),
        writes,
        "nothing written for the conflicting command's twin"
    );
}

#[test]
fn replace_deletes_and_recreates_with_new_wrapper_ids() {
    let sb = Sandbox::new();
    let emu = Emulator::start(&[]);
    let v1 = archive(sb.path(), "v1.tar", "xnat/tool:1.0", &tool_commands("a"));
    let v2 = archive(sb.path(), "v2.tar", "xnat/tool:2.0", &tool_commands("b"));
    xnat_cmd(&sb, &emu)
        .args(["install", &src(&v1)])
        .assert()
        .success();
    let before = wrapper_ids(by_name(&emu.commands(), "tool")[0]);
    let out = xnat_cmd(&sb, &emu)
        .args(["install", &src(&v2), "--replace"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("enablement is reset"));
    let cmds = emu.commands();
    assert_eq!(by_name(&cmds, "tool").len(), 1);
    let after = wrapper_ids(by_name(&cmds, "tool")[0]);
    assert_ne!(after, before);
}

#[test]
fn an_invalid_command_in_the_label_means_no_request_at_all() {
    let sb = Sandbox::new();
    let emu = Emulator::start(&[]);
    let mut cmds = tool_commands("x");
    // An input name XNAT rejects.
    cmds[0]["inputs"][0]["name"] = json!("bad name");
    let a = archive(sb.path(), "bad.tar", "xnat/tool:1.0", &cmds);
    let out = xnat_cmd(&sb, &emu)
        .args(["install", &src(&a), "--enable-site"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "Command input \"bad name\" name should contain only alphanumeric, _ and - characters."
        ),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was written to XNAT"), "{stderr}");
    assert_eq!(emu.requests(), 0, "not even a login");
    assert!(emu.commands().is_empty());
}

#[test]
fn a_500_mid_install_is_retried_and_the_create_is_not_duplicated() {
    let sb = Sandbox::new();
    // Writes: create `tool`, enable its two wrappers, create `tool-setup` ← answered 500 once.
    let emu = Emulator::start(&["--fail-nth-write", "4"]);
    let a = archive(sb.path(), "tool.tar", "xnat/tool:1.0", &tool_commands("x"));
    let out = xnat_cmd(&sb, &emu)
        .env("XNAT_CMD_BACKOFF_MS", "1")
        .args(["install", &src(&a), "--enable-site"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "a 500 is tried again: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cmds = emu.commands();
    assert_eq!(by_name(&cmds, "tool").len(), 1);
    assert_eq!(
        by_name(&cmds, "tool-setup").len(),
        1,
        "looked up, then created once"
    );
}

#[test]
fn a_failure_mid_install_then_a_rerun_converges_without_duplicates() {
    let sb = Sandbox::new();
    // Every site enablement fails (retries included): the commands are created, not enabled.
    let emu = Emulator::start(&[]);
    emu.set_faults(json!({"fail-writes-matching": "/enabled"}));
    let a = archive(sb.path(), "tool.tar", "xnat/tool:1.0", &tool_commands("x"));
    let out = xnat_cmd(&sb, &emu)
        .env("XNAT_CMD_BACKOFF_MS", "1")
        .args(["install", &src(&a), "--enable-site"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("failed with 500"), "{stderr}");
    assert_eq!(emu.commands().len(), 2, "the creates went through");

    emu.set_faults(json!({}));
    let out = xnat_cmd(&sb, &emu)
        .args(["install", &src(&a), "--enable-site"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cmds = emu.commands();
    assert_eq!(cmds.len(), 2);
    assert_eq!(by_name(&cmds, "tool").len(), 1);
    assert_eq!(by_name(&cmds, "tool-setup").len(), 1);
    for (_, wid) in wrapper_ids(by_name(&cmds, "tool")[0]) {
        assert_eq!(site_enabled(&emu, wid), Some(true));
    }
    let writes = emu.writes();
    xnat_cmd(&sb, &emu)
        .args(["install", &src(&a), "--enable-site"])
        .assert()
        .success();
    assert_eq!(emu.writes(), writes);
}

#[test]
fn wrong_password_is_an_authentication_error_naming_the_source() {
    let sb = Sandbox::new();
    let emu = Emulator::start(&[]);
    let a = archive(sb.path(), "tool.tar", "xnat/tool:1.0", &tool_commands("x"));
    let out = xnat_cmd_as(&sb, &emu, "admin", "wrong")
        .args(["install", &src(&a)])
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("wrong"),
        "the password must not appear"
    );
    crate::assert_cli_snapshot!(Transcript::of(&out).sandbox(&sb).xnat(&emu));
    assert_eq!(emu.writes(), 0);
}

#[test]
fn a_site_admin_without_container_manager_is_told_how_to_get_the_role() {
    let sb = Sandbox::new();
    let emu = Emulator::start(&[]);
    let a = archive(sb.path(), "tool.tar", "xnat/tool:1.0", &tool_commands("x"));
    let out = xnat_cmd_as(&sb, &emu, "siteadmin", "siteadmin")
        .args(["install", &src(&a)])
        .output()
        .unwrap();
    crate::assert_cli_snapshot!(Transcript::of(&out).sandbox(&sb).xnat(&emu));
    assert_eq!(emu.writes(), 0);
}

#[test]
fn a_login_redirect_is_an_authentication_error() {
    let sb = Sandbox::new();
    let emu = Emulator::start(&["--force-login-redirect"]);
    let a = archive(sb.path(), "tool.tar", "xnat/tool:1.0", &tool_commands("x"));
    let out = xnat_cmd(&sb, &emu)
        .args(["install", &src(&a)])
        .output()
        .unwrap();
    crate::assert_cli_snapshot!(Transcript::of(&out).sandbox(&sb).xnat(&emu));
    assert_eq!(emu.writes(), 0);
}

#[test]
fn context_path_password_stdin_and_list() {
    let sb = Sandbox::new();
    let emu = Emulator::start(&["--context-path", "/xnat"]);
    assert!(emu.url.ends_with("/xnat"));
    let a = archive(sb.path(), "tool.tar", "xnat/tool:1.0", &tool_commands("x"));
    sb.cmd()
        .args([
            "install",
            &src(&a),
            "--xnat",
            &emu.url,
            "--user",
            "admin",
            "--password-stdin",
            "--enable-site",
        ])
        .write_stdin("admin\n")
        .assert()
        .success();
    assert_eq!(emu.commands().len(), 2);

    let out = xnat_cmd(&sb, &emu)
        .args(["list", "--json"])
        .output()
        .unwrap();
    let listed = crate::support::success_json(&out);
    let tool = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "tool")
        .unwrap();
    assert_eq!(tool["image"], "xnat/tool:1.0");
    assert_eq!(tool["wrappers"].as_array().unwrap().len(), 2);
    assert!(tool["wrappers"]
        .as_array()
        .unwrap()
        .iter()
        .all(|w| w["enabled_site"] == true));
}

#[test]
fn netrc_and_alias_token_credentials() {
    let sb = Sandbox::new();
    let emu = Emulator::start(&[
        "--token",
        "3f1c2e9a-0000-4000-8000-000000000001:s3cret:admin",
    ]);
    let host = emu.url.trim_start_matches("http://").to_string();
    std::fs::write(
        sb.path().join(".netrc"),
        format!("machine {host} login 3f1c2e9a-0000-4000-8000-000000000001 password s3cret\n"),
    )
    .unwrap();
    let out = sb
        .cmd()
        .env("XNAT_HOST", &emu.url)
        .args(["list"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "no commands installed\n"
    );
}

#[test]
fn uninstall_by_source_and_by_id() {
    let sb = Sandbox::new();
    let emu = Emulator::start(&[]);
    let a = archive(sb.path(), "tool.tar", "xnat/tool:1.0", &tool_commands("x"));
    xnat_cmd(&sb, &emu)
        .args(["install", &src(&a)])
        .assert()
        .success();
    let writes = emu.writes();
    let out = xnat_cmd(&sb, &emu)
        .args(["uninstall", &src(&a), "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("would remove tool (id"));
    assert_eq!(emu.writes(), writes);

    let setup_id = by_name(&emu.commands(), "tool-setup")[0]["id"]
        .as_i64()
        .unwrap();
    xnat_cmd(&sb, &emu)
        .args(["uninstall", "--id", &setup_id.to_string()])
        .assert()
        .success();
    assert_eq!(emu.commands().len(), 1);
    xnat_cmd(&sb, &emu)
        .args(["uninstall", &src(&a)])
        .assert()
        .success();
    assert!(emu.commands().is_empty());
}

#[test]
fn pin_digest_installs_under_the_manifest_digest() {
    let sb = Sandbox::new();
    let emu = Emulator::start(&[]);
    let layout = sb.path().join("layout");
    let img = ImageBuilder::new()
        .label("org.nrg.commands", &tool_commands("x").to_string())
        .build();
    let mut l = crate::support::images::OciLayout::new(&layout);
    l.add("registry.example.org/lab/tool:1.0", &img);
    let source = format!("oci:{}:registry.example.org/lab/tool:1.0", layout.display());
    xnat_cmd(&sb, &emu)
        .args(["install", &source, "--pin-digest"])
        .assert()
        .success();
    let want = format!("registry.example.org/lab/tool@{}", img.manifest_digest);
    // Every command of the label is installed, each under the digest (`.all()` alone would
    // also hold for none at all).
    let commands = emu.commands();
    let images: Vec<&Value> = commands.iter().map(|c| &c["image"]).collect();
    let label_commands = tool_commands("x").as_array().map_or(0, Vec::len);
    assert!(label_commands > 0);
    assert_eq!(
        images,
        vec![&Value::from(want); label_commands],
        "{commands:#?}"
    );
}

#[test]
fn real_commands_from_the_corpus_install_and_reinstall_idempotently() {
    if crate::support::skip_without_corpus() {
        return;
    }
    let sb = Sandbox::new();
    let emu = Emulator::start(&[]);
    let dir = corpus_dir();
    let mut label = Vec::new();
    for f in [
        "NrgXnat__docker-images__debug.json",
        "NrgXnat__docker-images__dicomtonrrd-rtstruct.json",
        "NrgXnat__docker-images__anon-on-demand.json",
        "kelseym__mri_reface__mri-reface.json",
        "NrgXnat__docker-images__pyradiomics.json",
    ] {
        let text = std::fs::read_to_string(dir.join(f)).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (set XNAT_CMD_CORPUS to the corpus folder)",
                dir.join(f).display()
            )
        });
        label.push(serde_json::from_str::<Value>(&text).unwrap());
    }
    let a = archive(
        sb.path(),
        "corpus.tar",
        "xnat/corpus:1.0",
        &Value::Array(label),
    );
    let out = xnat_cmd(&sb, &emu)
        .args(["install", &src(&a), "--enable-site"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(emu.commands().len(), 5);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "command `debug` names image busybox:latest but is installed under xnat/corpus:1.0"
        ),
        "{stderr}"
    );
    let writes = emu.writes();
    let out = xnat_cmd(&sb, &emu)
        .args(["install", &src(&a), "--enable-site"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("5 unchanged"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(
        emu.writes(),
        writes,
        "XNAT's normalisation must not look like a change"
    );
}

#[test]
fn enable_all_projects_and_the_project_without_site_warning() {
    let sb = Sandbox::new();
    let emu = Emulator::start(&["--project", "P1", "--project", "P2"]);
    let a = archive(sb.path(), "tool.tar", "xnat/tool:1.0", &tool_commands("x"));
    // Project enablement alone does not count in XNAT while the site flag is off: say so.
    let out = xnat_cmd(&sb, &emu)
        .args(["install", &src(&a), "--enable-project", "P1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is enabled in project P1 but XNAT does not count it while the wrapper is disabled site-wide: add --enable-site"), "{stderr}");

    let out = xnat_cmd(&sb, &emu)
        .args([
            "install",
            &src(&a),
            "--enable-site",
            "--enable-all-projects",
            "--json",
        ])
        .output()
        .unwrap();
    let report = crate::support::success_json(&out);
    let w = &report["commands"][0]["wrappers"][0];
    assert_eq!(w["enabled_site"], true);
    assert_eq!(w["enabled_projects"], json!(["P1", "P2"]));
    for (_, wid) in wrapper_ids(by_name(&emu.commands(), "tool")[0]) {
        assert_eq!(project_enabled(&emu, "P2", wid), Some(true));
    }
}

#[test]
fn container_service_3_6_needs_a_site_admin_not_the_container_manager_role() {
    let sb = Sandbox::new();
    let emu = Emulator::start(&[
        "--mode",
        "3.6",
        "--user",
        "root:pw:Administrator",
        "--user",
        "plain:pw",
    ]);
    let a = archive(sb.path(), "tool.tar", "xnat/tool:1.0", &tool_commands("x"));
    let run = |user: &str| {
        xnat_cmd_as(&sb, &emu, user, "pw")
            .args(["install", &src(&a)])
            .output()
            .unwrap()
    };
    let out = run("plain");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("lacks the `Administrator` role that Container Service 3.6"),
        "{stderr}"
    );
    assert_eq!(emu.writes(), 0);
    let out = run("root");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(emu.commands().len(), 2);
    // 3.6 does not emit `visibility`; the re-run must still see no change.
    let writes = emu.writes();
    assert_eq!(run("root").status.code(), Some(0));
    assert_eq!(emu.writes(), writes);
    // `list` on 3.6, which has no `/wrappers/{id}/projects` (a 404): each project is asked.
    let root = |args: &[&str]| {
        xnat_cmd_as(&sb, &emu, "root", "pw")
            .args(args)
            .output()
            .unwrap()
    };
    let out = root(&[
        "install",
        &src(&a),
        "--enable-site",
        "--enable-project",
        "DEMO",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Only enablement was written (tool; tool-setup has no wrapper): enabled, not unchanged.
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("0 created, 0 updated, 1 enabled, 1 unchanged, 0 failed"),
        "{said}"
    );
    let listed = crate::support::success_json(&root(&["list", "--json"]));
    let wrappers: Vec<&Value> = listed
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["wrappers"].as_array().unwrap())
        .collect();
    assert!(!wrappers.is_empty());
    for w in wrappers {
        assert_eq!(w["enabled_site"], true, "{w}");
        assert_eq!(w["enabled_projects"], json!(["DEMO"]), "{w}");
    }
}

#[test]
fn short_and_fully_qualified_docker_hub_names_are_one_repository() {
    let sb = Sandbox::new();
    let emu = Emulator::start(&[]);
    // `docker save` writes `xnat/tool:1.0`; skopeo writes `docker.io/xnat/tool:2.0`.
    let v1 = archive(sb.path(), "v1.tar", "xnat/tool:1.0", &tool_commands("a"));
    let v2 = archive(
        sb.path(),
        "v2.tar",
        "docker.io/xnat/tool:2.0",
        &tool_commands("b"),
    );
    xnat_cmd(&sb, &emu)
        .args(["install", &src(&v1)])
        .assert()
        .success();
    let ids = wrapper_ids(by_name(&emu.commands(), "tool")[0]);
    xnat_cmd(&sb, &emu)
        .args(["install", &src(&v2)])
        .assert()
        .success();
    let cmds = emu.commands();
    assert_eq!(
        by_name(&cmds, "tool").len(),
        1,
        "an upgrade, not a second command"
    );
    assert_eq!(
        by_name(&cmds, "tool")[0]["image"],
        "docker.io/xnat/tool:2.0"
    );
    assert_eq!(wrapper_ids(by_name(&cmds, "tool")[0]), ids);
}
