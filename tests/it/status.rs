//! `xnat-cmd status`: every drift kind against the emulator, exit 3 on drift and 0 once synced,
//! images that could not be read (a tag gone, the registry down) reported as not checked with
//! exit 1; the Prometheus text checked with the reference parser (PyPI's prometheus-client).

use std::process::Command;

use serde_json::Value;

use crate::support::emulator::Emulator;
use crate::support::images::ImageBuilder;
use crate::support::registry::{Mode, Registry};
use crate::support::Sandbox;
use crate::sync::{archive, commands, fleet, run, stderr, stdout};

pub(crate) fn status(sb: &Sandbox, emu: &Emulator, args: &[&str]) -> std::process::Output {
    emu.xnat_cmd(sb)
        .arg("status")
        .args(args)
        // Retries of a registry that is down wait a millisecond, not seconds.
        .env("XNAT_CMD_BACKOFF_MS", "1")
        .output()
        .unwrap()
}

/// Parse the exposition in the file at `path` with prometheus-client.
pub(crate) fn parse_prometheus(path: &std::path::Path) -> Value {
    parse_prometheus_text(&std::fs::read_to_string(path).expect("the Prometheus file"))
}

/// Parse an exposition with prometheus-client; `{"name{labels}": value}`, labels sorted.
pub(crate) fn parse_prometheus_text(text: &str) -> Value {
    let script = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = {}
for fam in text_string_to_metric_families(sys.stdin.read()):
    for s in fam.samples:
        labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
        out[f"{s.name}{{{labels}}}"] = s.value
print(json.dumps(out))
"#;
    use std::io::Write as _;
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 (scripts/test.sh installs it)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "prometheus-client rejected the file (install it with `pip install prometheus-client`): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn status_reports_every_drift_kind_with_exit_3_and_valid_prometheus_text() {
    let sb = Sandbox::new();
    let emu = Emulator::start(&[]);
    let a1 = archive(sb.path(), "lab/a:1", &commands(&["a"]));
    let a2 = archive(sb.path(), "lab/a:2", &commands(&["a"]));
    let b = archive(sb.path(), "lab/b:1", &commands(&["b"]));
    let c1 = archive(sb.path(), "lab/c:1", &commands(&["c"]));
    let c2 = archive(sb.path(), "lab/c:2", &commands(&["c"]));
    let c3 = archive(sb.path(), "lab/c:3", &commands(&["c"]));
    let e = archive(sb.path(), "lab/e:1", &commands(&["e"]));
    let z = archive(sb.path(), "lab/z:1", &commands(&["z"]));
    let mut edited = commands(&["b"]);
    edited[0]["command-line"] = "edited in XNAT".into();
    let b_edited = {
        let d = sb.path().join("edited");
        std::fs::create_dir(&d).unwrap();
        archive(&d, "lab/b:1", &edited)
    };

    // XNAT as it was synced, then changed behind the file's back.
    let first = fleet(
        &sb,
        &format!("images:\n  - image: {a1}\n  - image: {b}\n    enable: {{site: true, projects: all}}\nprune: [lab/*]\n"),
    );
    let out = run(&sb, &emu, &first, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = status(&sb, &emu, &[first.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "in sync right after a sync: {}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("site default ("), "{}", stdout(&out));
    assert!(stdout(&out).contains("): in sync"), "{}", stdout(&out));

    for src in [&b_edited, &z, &c1] {
        let out = emu.xnat_cmd(&sb).args(["install", src]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    let out = emu
        .xnat_cmd(&sb)
        .args(["install", &c2, "--side-by-side"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    emu.add_project("NEW");
    let now = fleet(
        &sb,
        &format!("images:\n  - image: {a2}\n  - image: {b}\n    enable: {{site: true, projects: all}}\n  - image: {c3}\n  - image: {e}\nprune: [lab/*]\n"),
    );
    let prom = sb.path().join("xnat.prom");
    let writes = emu.writes();
    let out = status(
        &sb,
        &emu,
        &[
            now.to_str().unwrap(),
            "--json",
            "--prometheus",
            prom.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(emu.writes(), writes, "status writes nothing");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["in_sync"], false);
    let mut kinds: Vec<(String, String)> = report["sites"][0]["drift"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["kind"].as_str().unwrap().to_string(),
                d["command"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    kinds.sort();
    let want: Vec<(String, String)> = [
        ("conflict", "c"),
        ("enablement", "b"),
        ("missing", "e"),
        ("modified", "b"),
        ("orphan", "z"),
        ("outdated", "a"),
    ]
    .iter()
    .map(|(k, c)| (k.to_string(), c.to_string()))
    .collect();
    assert_eq!(kinds, want);
    let enablement = report["sites"][0]["drift"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["kind"] == "enablement")
        .unwrap();
    assert_eq!(
        enablement["detail"],
        "wrapper `b-w` not enabled in project NEW"
    );

    let metrics = parse_prometheus(&prom);
    for (kind, n) in [
        ("missing", 1.0),
        ("outdated", 1.0),
        ("modified", 1.0),
        ("enablement", 1.0),
        ("orphan", 1.0),
        ("conflict", 1.0),
    ] {
        assert_eq!(
            metrics[format!("xnat_cmd_drift{{kind={kind},site=default}}")],
            n,
            "{kind}: {metrics}"
        );
    }
    assert_eq!(metrics["xnat_cmd_images_checked{site=default}"], 4.0);
    assert_eq!(metrics["xnat_cmd_commands_checked{site=default}"], 4.0);
    assert_eq!(metrics["xnat_cmd_site_up{site=default}"], 1.0);
    assert_eq!(metrics["xnat_cmd_images_unreadable{site=default}"], 0.0);
    assert_eq!(metrics["xnat_cmd_last_run_success{}"], 1.0);
    assert!(
        metrics["xnat_cmd_last_success_timestamp_seconds{}"]
            .as_f64()
            .unwrap()
            > 1.7e9
    );

    // The human table.
    let out = status(&sb, &emu, &[now.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    let text = stdout(&out);
    assert!(
        text.contains(
            "SITE     MISSING  OUTDATED  MODIFIED  ENABLEMENT  ORPHAN  CONFLICT  UNREADABLE\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("default  1        1         1         1           1       1         0\n"),
        "{text}"
    );
}

#[test]
fn status_of_images_and_of_an_unreachable_site() {
    let sb = Sandbox::new();
    let emu = Emulator::start(&[]);
    let a = archive(sb.path(), "lab/a:1", &commands(&["a"]));
    let out = status(&sb, &emu, &[&a]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("missing  a  lab/a:1  not installed"),
        "{}",
        stdout(&out)
    );
    let out = emu.xnat_cmd(&sb).args(["install", &a]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let out = status(&sb, &emu, &[&a]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));

    // Could not check: exit 1, and the Prometheus file says the site is down.
    let prom = sb.path().join("down.prom");
    let out = sb
        .cmd()
        .env("XNAT_HOST", "http://127.0.0.1:9")
        .env("XNAT_USER", "admin")
        .env("XNAT_PASS", "admin")
        .args(["status", &a, "--prometheus", prom.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let metrics = parse_prometheus(&prom);
    assert_eq!(metrics["xnat_cmd_site_up{site=default}"], 0.0);
    assert_eq!(metrics["xnat_cmd_images_checked{site=default}"], 1.0);
    assert_eq!(metrics["xnat_cmd_images_unreadable{site=default}"], 0.0);
    assert_eq!(metrics["xnat_cmd_last_run_success{}"], 0.0);
    assert!(metrics
        .get("xnat_cmd_last_success_timestamp_seconds{}")
        .is_none());
}

/// Issue 17: with every image unreadable (registry down), `status` said `site default: in
/// sync`, the file said drift 0 and `site_up 1`, no alert fired, and it printed sync's `not
/// pruning` warning.
#[test]
fn unreadable_images_are_could_not_check_not_in_sync() {
    let sb = Sandbox::new();
    let emu = Emulator::start(&[]);
    let reg = Registry::start(Mode::Plain);
    let rt = tokio::runtime::Runtime::new().unwrap();
    for name in ["a", "b"] {
        let img = ImageBuilder::new()
            .label("org.nrg.commands", &commands(&[name]).to_string())
            .build();
        rt.block_on(reg.push_image_to(&format!("lab/{name}"), "1", &img));
    }
    let (a, b) = (
        format!("{}/lab/a:1", reg.addr),
        format!("{}/lab/b:1", reg.addr),
    );
    let synced = fleet(
        &sb,
        &format!("images:\n  - image: {a}\n  - image: {b}\nprune: ['**']\n"),
    );
    let out = run(&sb, &emu, &synced, &["--prune"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let prom = sb.path().join("xnat.prom");
    let prom_arg = prom.to_str().unwrap();
    let out = status(
        &sb,
        &emu,
        &[synced.to_str().unwrap(), "--prometheus", prom_arg],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(parse_prometheus(&prom)["xnat_cmd_last_run_success{}"], 1.0);

    // One image unreadable (its tag is gone): the other is checked, the site is not in sync.
    let gone = fleet(
        &sb,
        &format!(
            "images:\n  - image: {a}\n  - image: {}/lab/b:gone\nprune: ['**']\n",
            reg.addr
        ),
    );
    let out = status(
        &sb,
        &emu,
        &[gone.to_str().unwrap(), "--prometheus", prom_arg],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with(&format!(
            "site default ({}/): could not check 1 image\n",
            emu.url
        )),
        "{text}"
    );
    assert!(
        text.contains("default  0        0         0         0           -       0         1\n"),
        "the orphans are unknown: {text}"
    );
    assert!(stderr(&out).contains("lab/b:gone"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("prun"), "{}", stderr(&out));
    let metrics = parse_prometheus(&prom);
    assert_eq!(metrics["xnat_cmd_images_checked{site=default}"], 2.0);
    assert_eq!(metrics["xnat_cmd_images_unreadable{site=default}"], 1.0);
    assert_eq!(metrics["xnat_cmd_site_up{site=default}"], 1.0);
    assert_eq!(metrics["xnat_cmd_last_run_success{}"], 0.0);
    assert!(metrics
        .get("xnat_cmd_last_success_timestamp_seconds{}")
        .is_none());

    // The registry down: nothing can be checked, XNAT still answered.
    drop(reg);
    let out = status(
        &sb,
        &emu,
        &[synced.to_str().unwrap(), "--prometheus", prom_arg, "--json"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(!stderr(&out).contains("prun"), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["in_sync"], false);
    assert_eq!(report["failed_images"].as_array().unwrap().len(), 2);
    assert_eq!(report["sites"][0]["images_unreadable"], 2);
    assert_eq!(report["sites"][0]["drift"], serde_json::json!([]));
    let metrics = parse_prometheus(&prom);
    assert_eq!(metrics["xnat_cmd_images_unreadable{site=default}"], 2.0);
    assert_eq!(metrics["xnat_cmd_site_up{site=default}"], 1.0);
    assert_eq!(metrics["xnat_cmd_last_run_success{}"], 0.0);
    for kind in ["missing", "orphan"] {
        assert_eq!(
            metrics[format!("xnat_cmd_drift{{kind={kind},site=default}}")],
            0.0
        );
    }
    let out = status(&sb, &emu, &[synced.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).starts_with(&format!(
            "site default ({}/): could not check 2 images\n",
            emu.url
        )),
        "{}",
        stdout(&out)
    );
}

#[test]
fn invalid_commands_are_a_failed_run_in_the_metrics_too() {
    let sb = Sandbox::new();
    let emu = Emulator::start(&[]);
    let bad = archive(
        sb.path(),
        "lab/bad:1",
        &serde_json::json!([{"name": "bad", "type": "no-such-type", "command-line": "x"}]),
    );
    let prom = sb.path().join("xnat.prom");
    // A success first, so the failure must remove its timestamp.
    let good = archive(sb.path(), "lab/a:1", &commands(&["a"]));
    let out = emu.xnat_cmd(&sb).args(["install", &good]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = status(&sb, &emu, &[&good, "--prometheus", prom.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(parse_prometheus(&prom)
        .get("xnat_cmd_last_success_timestamp_seconds{}")
        .is_some());

    let out = status(&sb, &emu, &[&bad, "--prometheus", prom.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "error: invalid commands are declared: sync would refuse them; fix them and check again\n"
        ),
        "{}",
        stderr(&out)
    );
    let metrics = parse_prometheus(&prom);
    assert_eq!(metrics["xnat_cmd_last_run_success{}"], 0.0);
    assert_eq!(
        metrics.as_object().unwrap().len(),
        1,
        "no site was checked: {metrics}"
    );
}
