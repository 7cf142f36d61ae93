//! End-to-end: `xnat-cmd sync FILE` against one or two in-process emulators, with images from
//! `docker save` archives built by the test kit. Writes are counted by the emulator itself.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::support::emulator::Emulator;
use crate::support::images::{write_docker_archive, Compress, ImageBuilder, Saved};
use crate::support::registry::{Mode, Registry};
use crate::support::token_server::Policy;
use crate::support::Sandbox;

/// Commands named `names`, each with one wrapper `<name>-w` for sessions.
pub(crate) fn commands(names: &[&str]) -> Value {
    Value::Array(
        names
            .iter()
            .map(|n| {
                json!({
                    "name": n, "version": "1.0", "type": "docker", "command-line": format!("run {n}"),
                    "xnat": [{"name": format!("{n}-w"), "contexts": ["xnat:imageSessionData"],
                              "external-inputs": [{"name": "session", "type": "Session"}]}]
                })
            })
            .collect(),
    )
}

/// A `docker save` archive of `reference` whose label holds `cmds`; its SOURCE text.
pub(crate) fn archive(dir: &Path, reference: &str, cmds: &Value) -> String {
    let img = ImageBuilder::new()
        .label("org.nrg.commands", &cmds.to_string())
        .build();
    let file = dir.join(format!("{}.tar", reference.replace(['/', ':'], "_")));
    write_docker_archive(&file, &[Saved::new(&img, &[reference])], Compress::None)
        .expect("write archive");
    format!("docker-archive:{}", file.display())
}

pub(crate) fn fleet(sb: &Sandbox, text: &str) -> PathBuf {
    let p = sb.path().join("fleet.yaml");
    std::fs::write(&p, text).unwrap();
    p
}

pub(crate) fn run(
    sb: &Sandbox,
    emu: &Emulator,
    file: &Path,
    extra: &[&str],
) -> std::process::Output {
    emu.xnat_cmd(sb)
        .arg("sync")
        .arg(file)
        .args(extra)
        .output()
        .unwrap()
}

pub(crate) fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub(crate) fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub(crate) fn names(emu: &Emulator) -> Vec<String> {
    let mut n: Vec<String> = emu
        .commands()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    n.sort();
    n
}

pub(crate) fn wrapper_id(emu: &Emulator, wrapper: &str) -> u64 {
    emu.commands()
        .iter()
        .flat_map(|c| c["xnat"].as_array().unwrap().clone())
        .find(|w| w["name"] == wrapper)
        .and_then(|w| w["id"].as_u64())
        .unwrap_or_else(|| panic!("no wrapper {wrapper}"))
}

pub(crate) fn enabled(emu: &Emulator, key: &str, wrapper: u64, project: Option<&str>) -> bool {
    // The emulator's state document: `site_enabled` {wrapper: flag} and `project_enabled`
    // {project: {wrapper: flag}}.
    let state = emu.state();
    let records = match project {
        None => &state[key],
        Some(p) => &state[key][p],
    };
    records[wrapper.to_string()].as_bool().unwrap_or(false)
}

#[test]
fn first_sync_installs_and_enables_a_resync_writes_nothing_and_new_projects_follow_all() {
    let sb = Sandbox::new();
    let emu = Emulator::start(&["--project", "DEMO", "--project", "P2"]);
    let a = archive(sb.path(), "lab/a:1", &commands(&["a1", "a2"]));
    let b = archive(sb.path(), "lab/b:1", &commands(&["b1"]));
    let f = fleet(
        &sb,
        &format!(
            "images:\n  - image: {a}\n    enable: {{site: true, projects: [DEMO]}}\n  - image: {b}\n    enable:\n      site: true\n      projects: all\n"
        ),
    );
    let out = run(&sb, &emu, &f, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(names(&emu), ["a1", "a2", "b1"]);
    let a1 = wrapper_id(&emu, "a1-w");
    let b1 = wrapper_id(&emu, "b1-w");
    assert!(enabled(&emu, "site_enabled", a1, None));
    assert!(enabled(&emu, "project_enabled", a1, Some("DEMO")));
    assert!(!enabled(&emu, "project_enabled", a1, Some("P2")));
    assert!(enabled(&emu, "project_enabled", b1, Some("P2")));
    let text = stdout(&out);
    assert!(
        text.contains("SITE     CREATED  UPDATED  ENABLED  UNCHANGED  REMOVED  FAILED"),
        "{text}"
    );
    assert!(
        text.contains("default  3        0        0        0          0        0"),
        "{text}"
    );

    // Nothing changed: nothing written.
    let writes = emu.writes();
    let out = run(&sb, &emu, &f, &["--json"]);
    let report = crate::support::success_json(&out);
    assert_eq!(stderr(&out), "", "--json: no progress lines");
    assert_eq!(emu.writes(), writes, "a re-sync must not write");
    let statuses: Vec<&Value> = report["sites"][0]["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["status"])
        .collect();
    assert_eq!(statuses, [&json!("unchanged"); 3]);

    // A project created in XNAT since: enabled on the next run under `projects: all` only.
    emu.add_project("NEW");
    let out = run(&sb, &emu, &f, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(enabled(&emu, "project_enabled", b1, Some("NEW")));
    assert!(!enabled(&emu, "project_enabled", a1, Some("NEW")));
    assert_eq!(
        emu.writes(),
        writes + 1,
        "one write: the new project's enablement"
    );
}

#[test]
fn prune_removes_only_undeclared_commands_inside_the_globs() {
    let sb = Sandbox::new();
    let emu = Emulator::start(&[]);
    let a = archive(sb.path(), "lab/a:1", &commands(&["a1", "a2"]));
    let b = archive(sb.path(), "lab/b:1", &commands(&["b1"]));
    let c = archive(sb.path(), "other/c:1", &commands(&["c1"]));
    let all = fleet(
        &sb,
        &format!("images:\n  - image: {a}\n  - image: {b}\n  - image: {c}\nprune: [lab/*]\n"),
    );
    let out = run(&sb, &emu, &all, &["--prune"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(names(&emu), ["a1", "a2", "b1", "c1"]);

    // Drop `b` and `c`, keep only `a1` of `a`: a2 and b1 are orphans; c1 is outside the globs.
    let fewer = fleet(
        &sb,
        &format!("images:\n  - image: {a}\n    commands: [a1]\nprune: [lab/*]\n"),
    );
    let writes = emu.writes();
    let out = run(&sb, &emu, &fewer, &["--prune", "--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    // XNAT numbers commands as their creates arrive, and the first sync sent them at once.
    let id = |name: &str| {
        emu.commands()
            .iter()
            .find(|c| c["name"] == name)
            .and_then(|c| c["id"].as_u64())
            .unwrap_or_else(|| panic!("no command {name}"))
    };
    let (a2, b1) = (id("a2"), id("b1"));
    assert!(
        text.contains(&format!("would remove  a2 (id {a2})  lab/a:1")),
        "{text}"
    );
    assert!(
        text.contains(&format!("would remove  b1 (id {b1})  lab/b:1")),
        "{text}"
    );
    assert!(!text.contains("c1"), "{text}");
    assert_eq!(emu.writes(), writes, "a dry run writes nothing");

    // Without --prune nothing is removed.
    let out = run(&sb, &emu, &fewer, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(names(&emu).len(), 4);

    let out = run(&sb, &emu, &fewer, &["--prune"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(names(&emu), ["a1", "c1"]);
    assert!(stdout(&out).contains("default  0        0        0        1          2        0"));

    // --prune needs the file to say what it owns.
    let no_key = fleet(&sb, &format!("images:\n  - image: {a}\n"));
    let out = run(&sb, &emu, &no_key, &["--prune"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).starts_with("error: --prune needs a `prune:` key in `"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn two_sites_with_different_images_and_one_site_down() {
    let sb = Sandbox::new();
    let staging = Emulator::start(&[]);
    let prod = Emulator::start(&[]);
    let a = archive(sb.path(), "lab/a:1", &commands(&["a1"]));
    let b = archive(sb.path(), "lab/b:1", &commands(&["b1"]));
    let f = fleet(
        &sb,
        &format!(
            "images:\n  - image: {a}\n  - image: {b}\n    sites: [staging, gone]\nsites:\n  staging: {{url: {}, user-env: STAGING_USER, password-env: STAGING_PASS}}\n  prod: {{url: {}}}\n  gone: {{url: 'http://127.0.0.1:9'}}\n",
            staging.url, prod.url
        ),
    );
    // prod takes XNAT_USER/XNAT_PASS (admin/admin); staging its own variables.
    let out = sb
        .cmd()
        .env("XNAT_USER", "admin")
        .env("XNAT_PASS", "admin")
        .env("STAGING_USER", "admin")
        .env("STAGING_PASS", "admin")
        .arg("sync")
        .arg(&f)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(names(&staging), ["a1", "b1"]);
    assert_eq!(names(&prod), ["a1"]);
    let err = stderr(&out);
    assert!(
        err.contains("error: site gone: cannot reach XNAT at http://127.0.0.1:9"),
        "{err}"
    );
    let text = stdout(&out);
    assert!(
        text.contains("gone     0        0        0        0          0        site"),
        "{text}"
    );

    // --site picks sites; a wrong password for one names its variables.
    let out = sb
        .cmd()
        .env("XNAT_USER", "admin")
        .env("XNAT_PASS", "admin")
        .env("STAGING_USER", "admin")
        .env("STAGING_PASS", "wrong")
        .args(["sync", "--site", "staging", "--site", "prod"])
        .arg(&f)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("STAGING_USER and STAGING_PASS"),
        "{}",
        stderr(&out)
    );
    let out = sb
        .cmd()
        .args(["sync", "--site", "nosuch"])
        .arg(&f)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("(it has: staging, prod, gone)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_invalid_command_anywhere_writes_nothing_anywhere() {
    let sb = Sandbox::new();
    let emu = Emulator::start(&[]);
    let good = archive(sb.path(), "lab/a:1", &commands(&["a1"]));
    let bad = archive(
        sb.path(),
        "lab/bad:1",
        &json!([{"name": "bad", "type": "nope", "command-line": "x"}]),
    );
    let f = fleet(
        &sb,
        &format!("images:\n  - image: {good}\n  - image: {bad}\n"),
    );
    let out = run(&sb, &emu, &f, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).ends_with(
            "error: nothing was written to any site: fix the invalid commands above and run again\n"
        ),
        "{}",
        stderr(&out)
    );
    assert_eq!(emu.writes(), 0);
    assert_eq!(emu.requests(), 0, "XNAT is not even contacted");

    // A `commands:` name the label lacks fails that image alone.
    let f = fleet(
        &sb,
        &format!(
            "images:\n  - image: {good}\n  - image: {good2}\n    commands: [zz]\n",
            good2 = archive(sb.path(), "lab/c:1", &commands(&["c1"]))
        ),
    );
    let out = run(&sb, &emu, &f, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("the label has no command named zz\nhint: fix `commands:` in the fleet file; the label has: c1"),
        "{}",
        stderr(&out)
    );
    assert_eq!(names(&emu), ["a1"]);

    // An image that cannot be read fails alone too, and keeps the site from being pruned.
    let gone = sb.path().join("gone.tar");
    let f = fleet(
        &sb,
        &format!(
            "images:\n  - image: {good}\n  - image: docker-archive:{}\nprune: [lab/*]\n",
            gone.display()
        ),
    );
    let out = run(&sb, &emu, &f, &["--prune", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["failed_images"][0]["image"],
        format!("docker-archive:{}", gone.display())
    );
    assert_eq!(report["sites"][0]["commands"][0]["status"], "unchanged");
    assert_eq!(report["sites"][0]["removed"], json!([]));
    assert!(
        report["sites"][0]["warnings"][0]
            .as_str()
            .unwrap()
            .starts_with("not pruning: docker-archive:"),
        "{report}"
    );
}

#[test]
fn fleet_file_mistakes_are_usage_errors_with_their_line_before_any_request() {
    let sb = Sandbox::new();
    let emu = Emulator::start(&[]);
    let a = archive(sb.path(), "lab/a:1", &commands(&["a1"]));
    let cases = [
        (
            format!("images:\n  - image: {a}\n    enabel: {{site: true}}\n"),
            "3:5: unknown key `enabel` in an image entry",
        ),
        (
            format!("images:\n  - image: {a}\n  - image: {a}\n"),
            "3:12: duplicate image",
        ),
        (
            format!("images:\n  - image: {a}\n    enable: {{projects: some}}\n"),
            "`projects` must be a list of project ids or `all`",
        ),
        (
            format!("images:\n  - image: {a}\n    sites: [qa]\nsites:\n  prod: {{url: 'https://x.example.org'}}\n"),
            "`sites` names `qa`, which the file does not define",
        ),
        ("images: []\n".to_string(), "`images` is empty"),
        (
            "images:\n  - image: UPPER/Case:1\n".to_string(),
            "2:12: invalid reference `UPPER/Case:1`",
        ),
    ];
    for (text, want) in cases {
        let f = fleet(&sb, &text);
        let out = run(&sb, &emu, &f, &[]);
        assert_eq!(out.status.code(), Some(2), "{text}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.starts_with(&format!("error: {}:", f.display())) && err.contains(want),
            "{text}\n{err}"
        );
    }
    assert_eq!(emu.requests(), 0, "no request before the file is right");
}

/// 40 images on a token-auth registry: a cold sync installs them all; a re-sync writes nothing
/// to XNAT and costs the registry one HEAD per image (the digest cache); a new label pushed
/// under the same tag updates exactly its command in place, wrapper id and enablement kept.
#[test]
fn forty_registry_images_resync_with_one_head_each_and_a_moved_tag_updates_in_place() {
    let sb = Sandbox::new();
    let emu = Emulator::start(&[]);
    let repos: Vec<String> = (0..40).map(|i| format!("fleet/tool-{i}")).collect();
    let reg = Registry::start(Mode::Token(Policy {
        users: Default::default(),
        public: repos.iter().cloned().collect(),
        refresh_tokens: Default::default(),
    }));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let label = |i: usize, line: &str| {
        ImageBuilder::new()
            .label(
                "org.nrg.commands",
                &commands(&[&format!("t{i}")])
                    .to_string()
                    .replace("run t", line),
            )
            .build()
    };
    let reg_ref = &reg;
    rt.block_on(futures::future::join_all(repos.iter().enumerate().map(
        |(i, r)| async move { reg_ref.push_image_to(r, "v1", &label(i, "run t")).await },
    )));
    let mut text = String::from("images:\n");
    for r in &repos {
        text.push_str(&format!(
            "  - image: {}/{r}:v1\n    enable: {{site: true}}\n",
            reg.addr
        ));
    }
    let f = fleet(&sb, &text);
    let out = run(&sb, &emu, &f, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(emu.commands().len(), 40);
    let w0 = wrapper_id(&emu, "t0-w");
    assert!(enabled(&emu, "site_enabled", w0, None));

    let writes = emu.writes();
    let before = reg.access_log_requests();
    let out = run(&sb, &emu, &f, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(emu.writes(), writes, "an unchanged re-sync writes nothing");
    assert_eq!(
        reg.access_log_requests() - before,
        40,
        "one HEAD per image: the token came from the challenge the first run remembered"
    );

    // The tag moves to an image whose label changed.
    rt.block_on(reg.push_image_to(&repos[0], "v1", &label(0, "run again t")));
    let out = run(&sb, &emu, &f, &["--json"]);
    let report = crate::support::success_json(&out);
    let statuses: Vec<&str> = report["sites"][0]["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == "updated").count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|s| **s == "unchanged").count(), 39);
    assert_eq!(report["sites"][0]["commands"][0]["name"], "t0");
    assert_eq!(
        wrapper_id(&emu, "t0-w"),
        w0,
        "updated in place: the wrapper id is kept"
    );
    assert!(
        enabled(&emu, "site_enabled", w0, None),
        "and so is its enablement"
    );
    let t0 = emu
        .commands()
        .into_iter()
        .find(|c| c["name"] == "t0")
        .unwrap();
    assert_eq!(t0["command-line"], "run again t0");
}

/// `validate FLEET.yaml`, CI's offline check: images from a real registry, `commands:`
/// honoured, the image injected as sync installs it, XNAT's messages naming image and command;
/// no XNAT anywhere (none is configured).
#[test]
fn validate_fleet_reads_every_image_from_the_registry_and_checks_the_selected_commands() {
    let sb = Sandbox::new();
    let reg = Registry::start(Mode::Plain);
    let push = |repo: &str, cmds: &Value| {
        let img = ImageBuilder::new()
            .label("org.nrg.commands", &cmds.to_string())
            .build();
        tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(reg.push_image_to(repo, "1", &img));
    };
    push("lab/good", &commands(&["a", "b"]));
    // `c` is invalid but not selected; `d` is selected and invalid.
    push(
        "lab/mixed",
        &json!([{"name": "c", "type": "nope", "command-line": "x"},
                {"name": "d", "type": "nope", "command-line": "y"}]),
    );
    let r = &reg.addr;
    let text = format!(
        "images:\n  - image: {r}/lab/good:1\n    commands: [a]\n  - image: {r}/lab/mixed:1\n    commands: [d]\n"
    );
    let f = fleet(&sb, &text);
    let out = sb.cmd().arg("validate").arg(&f).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let shown = f.display().to_string();
    let got = stdout(&out);
    assert!(
        got.starts_with(&format!(
            "✓ a  ({shown}:2 {r}/lab/good:1)\n✗ d  ({shown}:4 {r}/lab/mixed:1)\n    error at /type: "
        )),
        "{got}"
    );
    assert!(
        got.ends_with("2 commands checked: 1 valid, 1 invalid\n"),
        "{got}"
    );
    assert!(!got.contains("✓ b") && !got.contains(" c "), "{got}");

    // JSON: the image each command was checked with is the one sync installs.
    let out = sb
        .cmd()
        .arg("validate")
        .arg(&f)
        .arg("--json")
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["command"], "a");
    assert_eq!(v[0]["image"], format!("{r}/lab/good:1"));
    assert_eq!(v[0]["valid"], true);
    assert_eq!(v[1]["command"], "d");
    assert_eq!(v[1]["valid"], false);

    // A valid fleet: exit 0. A tag the registry lacks fails that image, naming it.
    let f = fleet(
        &sb,
        &format!("images:\n  - image: {r}/lab/good:1\n  - image: {r}/lab/good:2\n"),
    );
    let out = sb.cmd().arg("validate").arg(&f).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!(
            "✓ a  ({shown}:2 {r}/lab/good:1)\n✓ b  ({shown}:2 {r}/lab/good:1)\n2 commands checked: 2 valid, 0 invalid\n"
        )
    );
    // A missing tag (the registry's 404 `MANIFEST_UNKNOWN`) says how to list the tags.
    let err = stderr(&out);
    assert!(
        err.starts_with(&format!(
            "error: manifest unknown: `{r}/lab/good:2` has no such tag or digest"
        )) && err.ends_with(&format!(
            "hint: check the tag or digest: `skopeo list-tags docker://{r}/lab/good` lists the tags the registry has (a reference without a tag means `:latest`, which many images do not publish)\n"
        )),
        "{err}"
    );
    let f = fleet(&sb, &format!("images:\n  - image: {r}/lab/good:1\n"));
    let out = sb.cmd().arg("validate").arg(&f).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
}

/// Every mistake of a fleet file in one run, each with its line and column, exit 2, and no
/// image read (the unreachable registry would say so). A `.json` fleet file is one too.
#[test]
fn validate_fleet_reports_every_mistake_in_one_run_before_any_read() {
    let sb = Sandbox::new();
    let f = fleet(
        &sb,
        "images:\n  - image: 127.0.0.1:9/lab/a:1\n    pin_digest: true\n  - image: 127.0.0.1:9/lab/b:1\n    enable: {site: maybe}\nprunes: []\n",
    );
    let out = sb.cmd().arg("validate").arg(&f).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let shown = f.display();
    assert_eq!(
        stderr(&out),
        format!(
            "error: {shown}:3:5: unknown key `pin_digest` in an image entry (allowed: `image`, `command-file`, `platform`, `commands`, `pin-digest`, `sites`, `enable`, `verify`); did you mean `pin-digest`?\n\
             error: {shown}:5:20: `enable.site` must be true or false, found the string `maybe`\n\
             error: {shown}:6:1: unknown key `prunes` at the top level (allowed: `images`, `prune`, `sites`, `verify`); did you mean `prune`?\n"
        )
    );
    assert_eq!(stdout(&out), "");

    // Bounded: 150 mistakes print 100 and count the rest.
    let many: String = (0..150)
        .map(|i| format!("  - image: lab/t{i}\n    platform: x\n"))
        .collect();
    let f = fleet(&sb, &format!("images:\n{many}"));
    let out = sb.cmd().arg("validate").arg(&f).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 101, "{err}");
    assert!(
        err.ends_with(&format!(
            "error: `{}`: 50 more mistakes not shown (fix the ones above and run again)\n",
            f.display()
        )),
        "{err}"
    );

    // JSON with `images:` is a fleet file; a command file keeps today's behaviour.
    let j = sb.path().join("fleet.json");
    std::fs::write(
        &j,
        r#"{"images": [{"image": "lab/a:1", "platform": "linux"}]}"#,
    )
    .unwrap();
    let out = sb.cmd().arg("validate").arg(&j).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).starts_with(&format!("error: {}:1:", j.display()))
            && stderr(&out).contains("invalid platform `linux`"),
        "{}",
        stderr(&out)
    );
    let c = sb.path().join("command.json");
    std::fs::write(&c, commands(&["x"])[0].to_string()).unwrap();
    let out = sb
        .cmd()
        .args(["validate", "--image", "lab/x:1"])
        .arg(&c)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("✓ x  ("), "{}", stdout(&out));
}

/// What an operator reads must be true: a dry run never says "synced"; a command whose only
/// change is its enablement is not "unchanged"; an unreadable image shows in its site's block
/// and table as FAILED; each site says its writes and reads, as `install` does.
#[test]
fn sync_output_a_dry_run_never_says_synced_and_pending_enablement_and_failures_are_counted() {
    let sb = Sandbox::new();
    let emu = Emulator::start(&["--project", "P1"]);
    let a = archive(sb.path(), "lab/a:1", &commands(&["a1"]));
    let gone = format!("docker-archive:{}", sb.path().join("gone.tar").display());
    // First sync: installed, not enabled.
    let plain = fleet(&sb, &format!("images:\n  - image: {a}\n"));
    let out = run(&sb, &emu, &plain, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "read 1 image (0 failed)\nsite default: synced\n"
    );

    // Now the file enables it in P1, and declares an image that cannot be read.
    let f = fleet(
        &sb,
        &format!(
            "images:\n  - image: {a}\n    enable: {{site: true, projects: [P1]}}\n  - image: {gone}\n"
        ),
    );
    let out = run(&sb, &emu, &f, &["--dry-run"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(!err.contains("synced"), "{err}");
    assert!(err.contains("site default: failed\n"), "{err}");
    let url = emu.url.trim_end_matches('/');
    let wid = wrapper_id(&emu, "a1-w");
    assert_eq!(
        stdout(&out),
        format!(
            "site default ({url}/)\n\
             unchanged     a1 (id 1)  lab/a:1\n    \
             wrapper a1-w #{wid}: site: disabled (would enable site-wide, enable in project P1)\n\
             failed        {gone}  (could not be read: see the error below)\n\
             0 created, 0 updated, 1 to enable, 0 unchanged, 0 removed, 1 failed; 0 writes, 7 reads\n\
             \n\
             SITE     CREATED  UPDATED  ENABLED  UNCHANGED  REMOVED  FAILED\n\
             default  0        0        1        0          0        1\n\
             (dry run: nothing written)\n"
        )
    );

    // `--json` lists the unreadable image under its site too.
    let out = run(&sb, &emu, &f, &["--dry-run", "--json"]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["sites"][0]["failed_images"], json!([gone]));
    assert_eq!(report["failed_images"][0]["image"], json!(gone));

    // Without the unreadable image, a dry run that succeeds says "planned", not "synced".
    let f = fleet(
        &sb,
        &format!("images:\n  - image: {a}\n    enable: {{site: true, projects: [P1]}}\n"),
    );
    let writes = emu.writes();
    let out = run(&sb, &emu, &f, &["--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "read 1 image (0 failed)\nsite default: planned (dry run: nothing written)\n"
    );
    assert_eq!(emu.writes(), writes, "a dry run writes nothing");

    // The real run: the enablement is written and counted as such, with its writes.
    let out = run(&sb, &emu, &f, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "0 created, 0 updated, 1 enabled, 0 unchanged, 0 removed, 0 failed; {} writes, ",
            emu.writes() - writes
        )),
        "{text}"
    );
    assert!(
        text.contains("default  0        0        1        0          0        0\n"),
        "{text}"
    );
    // And then it is unchanged.
    let out = run(&sb, &emu, &f, &[]);
    assert!(
        stdout(&out).contains(
            "0 created, 0 updated, 0 enabled, 1 unchanged, 0 removed, 0 failed; 0 writes, "
        ),
        "{}",
        stdout(&out)
    );
}

/// `value` with every `"id"` key dropped, at any depth: XNAT numbers commands and wrappers in
/// the order their creates arrive, which commands written at once do not fix.
fn without_ids(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("id");
            map.values_mut().for_each(without_ids);
        }
        Value::Array(items) => items.iter_mut().for_each(without_ids),
        _ => {}
    }
}

/// Every run of digits as `N` (the ids in the human lines, see [`without_ids`]).
fn digits_masked(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if !c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('N') {
            out.push('N');
        }
    }
    out
}

/// What an emulator holds, by name: (name, image, wrapper enabled site-wide, in DEMO).
fn held(emu: &Emulator) -> Vec<(String, String, bool, bool)> {
    let mut all: Vec<_> = emu
        .commands()
        .iter()
        .map(|c| {
            let w = c["xnat"][0]["id"].as_u64().unwrap_or(0);
            (
                c["name"].as_str().unwrap_or("").to_string(),
                c["image"].as_str().unwrap_or("").to_string(),
                enabled(emu, "site_enabled", w, None),
                enabled(emu, "project_enabled", w, Some("DEMO")),
            )
        })
        .collect();
    all.sort();
    all
}

/// `--xnat-concurrency 1` (one command after another) and the default (16) give the same
/// report, in the same order, with the same counts and requests, and leave XNAT holding the
/// same: creates, in-place updates, enablement per image, a prune, then an unchanged re-sync.
#[test]
fn concurrency_changes_neither_the_report_nor_what_xnat_holds() {
    let sb = Sandbox::new();
    let old_a = archive(sb.path(), "lab/a:1", &commands(&["a1", "a2"]));
    let z = archive(sb.path(), "lab/z:1", &commands(&["z1"]));
    let a = archive(sb.path(), "lab/a:2", &commands(&["a1", "a2", "a3", "a4"]));
    let b = archive(
        sb.path(),
        "lab/b:1",
        &commands(&["b1", "b2", "b3", "b4", "b5", "b6"]),
    );
    let c = archive(sb.path(), "lab/c:1", &commands(&["c1"]));
    let before = sb.path().join("before.yaml");
    std::fs::write(
        &before,
        format!("images:\n  - image: {old_a}\n    enable: {{site: true}}\n  - image: {z}\n"),
    )
    .unwrap();
    let after = sb.path().join("after.yaml");
    std::fs::write(
        &after,
        format!(
            "images:\n  - image: {a}\n    enable: {{site: true, projects: [DEMO]}}\n  - image: {b}\n    enable: {{site: true}}\n  - image: {c}\nprune: [lab/*]\n"
        ),
    )
    .unwrap();
    let mut reports = Vec::new();
    let mut texts = Vec::new();
    let mut holdings = Vec::new();
    for n in [Some("1"), None] {
        let flag: Vec<&str> = n.map(|n| vec!["--xnat-concurrency", n]).unwrap_or_default();
        let emu = Emulator::start(&[]);
        let out = run(&sb, &emu, &before, &["--xnat-concurrency", "1"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let mut runs = Vec::new();
        for extra in [&["--prune", "--json"][..], &["--json"]] {
            let mut args = flag.clone();
            args.extend(extra);
            let out = run(&sb, &emu, &after, &args);
            let text = stdout(&out).replace(&emu.url, "URL");
            let mut report: Value = serde_json::from_str(&text).expect("a JSON report");
            without_ids(&mut report);
            runs.push(report);
        }
        let out = run(&sb, &emu, &after, &flag);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        texts.push(digits_masked(&stdout(&out).replace(&emu.url, "URL")));
        reports.push(runs);
        holdings.push(held(&emu));
    }
    let statuses: Vec<&str> = reports[0][0]["sites"][0]["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        statuses,
        [
            "updated", "updated", "created", "created", "created", "created", "created", "created",
            "created", "created", "created"
        ],
        "in declared order"
    );
    assert_eq!(reports[0][0]["sites"][0]["removed"][0]["name"], "z1");
    assert_eq!(
        reports[0], reports[1],
        "JSON reports, concurrency 1 vs the default"
    );
    assert_eq!(
        texts[0], texts[1],
        "human reports, concurrency 1 vs the default"
    );
    assert_eq!(
        holdings[0], holdings[1],
        "what XNAT holds, concurrency 1 vs the default"
    );
    assert_eq!(holdings[0].len(), 11);
    // a: site and DEMO; b: site; c: neither.
    for (name, _, site, demo) in &holdings[0] {
        let want = (
            name.starts_with('a') || name.starts_with('b'),
            name.starts_with('a'),
        );
        assert_eq!((*site, *demo), want, "{name}");
    }
}

/// Sessions that end mid-run while many requests are in flight on them (XNAT's timeout, a
/// restart): every request that finds its session expired waits for one renewal, so the run
/// logs in once more, not once per request, and completes.
#[test]
fn a_session_ended_under_concurrent_writes_is_renewed_once() {
    let sb = Sandbox::new();
    let emu = Emulator::start(&[]);
    let names: Vec<String> = (0..20).map(|i| format!("c{i:02}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let a = archive(sb.path(), "lab/many:1", &commands(&refs));
    let f = fleet(
        &sb,
        &format!("images:\n  - image: {a}\n    enable: {{site: true, projects: [DEMO]}}\n"),
    );
    // The 5th write arrives with most of the 16 commands' requests in flight.
    emu.set_faults(json!({"expire-sessions-at-write": 5}));
    let out = run(&sb, &emu, &f, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(crate::sync::names(&emu), names);
    let log = emu.log();
    let logins = log
        .iter()
        .filter(|(m, p, _)| m == "POST" && p == "/data/JSESSION")
        .count();
    let expired = log.iter().filter(|(_, _, status)| *status == 401).count();
    assert!(expired >= 1, "the session ended mid-run: {log:?}");
    assert_eq!(logins, 2, "the first login and one renewal: {log:?}");
    for c in &names {
        let w = wrapper_id(&emu, &format!("{c}-w"));
        assert!(enabled(&emu, "site_enabled", w, None), "{c}");
        assert!(enabled(&emu, "project_enabled", w, Some("DEMO")), "{c}");
    }
}
