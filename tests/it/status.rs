//! `xnat-cmd status`: every drift kind against the emulator, exit 3 on drift and 0 once synced,
//! the Prometheus text checked with the reference parser (PyPI's prometheus-client).

use std::process::Command;

use serde_json::Value;

use crate::support::emulator::Emulator;
use crate::support::Sandbox;
use crate::sync::{archive, commands, fleet, run, stderr, stdout};

fn status(sb: &Sandbox, emu: &Emulator, args: &[&str]) -> std::process::Output {
    emu.xnat_cmd(sb).arg("status").args(args).output().unwrap()
}

/// Parse the exposition with prometheus-client; `{"name{labels}": value}`.
fn parse_prometheus(path: &std::path::Path) -> Value {
    let script = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = {}
for fam in text_string_to_metric_families(open(sys.argv[1]).read()):
    for s in fam.samples:
        labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
        out[f"{s.name}{{{labels}}}"] = s.value
print(json.dumps(out))
"#;
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(path)
        .output()
        .expect("python3 (scripts/test.sh installs it)");
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
        text.contains("SITE     MISSING  OUTDATED  MODIFIED  ENABLEMENT  ORPHAN  CONFLICT"),
        "{text}"
    );
    assert!(
        text.contains("default  1        1         1         1           1       1"),
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
    assert!(metrics
        .get("xnat_cmd_last_success_timestamp_seconds{}")
        .is_none());
}
