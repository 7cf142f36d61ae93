//! deploy/prometheus: the alert rules unit-tested with `promtool test rules` (Debian's
//! `prometheus` package), shown to bite (a weakened rule fails its test), written against the
//! series `status` really emits, and the PrometheusRule variant equal to alerts.yaml.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use xnat_cmd::status::{prometheus, SiteStatus};

fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/prometheus")
}

fn promtool(args: &[&str], dir: &Path) -> std::process::Output {
    Command::new("promtool")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run `promtool` ({e}): install it with `apt-get install prometheus` (Debian's package ships /usr/bin/promtool)")
        })
}

fn yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_shipped_alert_rules_pass_their_promtool_unit_tests() {
    let out = promtool(&["check", "rules", "alerts.yaml"], &deploy());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("SUCCESS: 5 rules found"), "{text}");
    let out = promtool(&["test", "rules", "alerts_test.yaml"], &deploy());
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_weakened_rule_fails_the_unit_tests() {
    // Without `for: 2h`, the absence alert fires at once after a failed run: the tests that
    // expect nothing at 1h59m must catch it.
    let dir = tempfile::tempdir().unwrap();
    let rules = std::fs::read_to_string(deploy().join("alerts.yaml")).unwrap();
    let weakened = rules.replace("        for: 2h\n", "");
    assert_ne!(weakened, rules, "the rule file changed: update this test");
    std::fs::write(dir.path().join("alerts.yaml"), weakened).unwrap();
    std::fs::copy(
        deploy().join("alerts_test.yaml"),
        dir.path().join("alerts_test.yaml"),
    )
    .unwrap();
    let out = promtool(&["test", "rules", "alerts_test.yaml"], dir.path());
    assert!(!out.status.success(), "promtool passed a weakened rule");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("alertname: XnatCmdLastSuccessAbsent"),
        "{text}"
    );
}

#[test]
fn the_alert_rules_name_only_series_that_status_emits() {
    let rules = std::fs::read_to_string(deploy().join("alerts.yaml")).unwrap();
    let mut site = SiteStatus::new("prod", "https://xnat.example.org/");
    site.images = 1;
    let text = prometheus(&[site], 1_700_000_000, true);
    let mut named = Vec::new();
    let mut rest = rules.as_str();
    while let Some(i) = rest.find("xnat_cmd_") {
        let name: String = rest[i..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        rest = &rest[i + name.len()..];
        named.push(name);
    }
    named.sort();
    named.dedup();
    assert_eq!(
        named,
        [
            "xnat_cmd_drift",
            "xnat_cmd_images_unreadable",
            "xnat_cmd_last_run_success",
            "xnat_cmd_last_success_timestamp_seconds",
            "xnat_cmd_site_up",
        ]
    );
    for name in &named {
        assert!(
            text.contains(&format!("\n# TYPE {name} gauge\n")),
            "{name} is not in status's exposition:\n{text}"
        );
    }
}

#[test]
fn the_prometheus_rule_holds_the_same_groups_as_alerts_yaml() {
    let plain = yaml(&deploy().join("alerts.yaml"));
    let operator = yaml(&deploy().join("prometheusrule.yaml"));
    assert_eq!(operator["apiVersion"], "monitoring.coreos.com/v1");
    assert_eq!(operator["kind"], "PrometheusRule");
    assert_eq!(operator["metadata"]["name"], "xnat-cmd");
    assert_eq!(
        operator["spec"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["groups"]
    );
    assert_eq!(
        operator["spec"]["groups"], plain["groups"],
        "prometheusrule.yaml differs from alerts.yaml: copy alerts.yaml's `groups:` into its `spec:`"
    );
    assert_eq!(plain["groups"][0]["rules"].as_array().unwrap().len(), 5);
}
