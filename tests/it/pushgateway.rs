//! `xnat-cmd status --pushgateway URL` against the real Pushgateway (Debian's
//! `prometheus-pushgateway`) on loopback: the series arrive under `job="xnat-cmd"`, a site or
//! image that left the file is gone after the next push (PUT replaces the group), a failed
//! run's push has no success timestamp; TLS with the test CA and Basic auth from a file; a
//! failed push is one error and exit 1.

use std::collections::BTreeMap;

use base64::Engine as _;

use xnat_cmd_testkit::pushgateway::{Options, Pushgateway};

use crate::status::{parse_prometheus_text, status};
use crate::support::emulator::Emulator;
use crate::support::Sandbox;
use crate::sync::{archive, commands, fleet, run, stderr, stdout};

/// The gateway's `xnat_cmd_*` samples, parsed by prometheus-client: `{"name{labels}": value}`.
fn series(pg: &Pushgateway) -> BTreeMap<String, f64> {
    let parsed = parse_prometheus_text(&pg.metrics());
    parsed
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.starts_with("xnat_cmd_"))
        .map(|(k, v)| (k.clone(), v.as_f64().unwrap()))
        .collect()
}

#[test]
fn status_pushes_its_series_and_a_site_that_left_the_file_is_gone_from_the_gateway() {
    let sb = Sandbox::new();
    let emu = Emulator::start(&[]);
    let pg = Pushgateway::start(Options::default());
    let a = archive(sb.path(), "lab/a:1", &commands(&["a"]));
    let b = archive(sb.path(), "lab/b:1", &commands(&["b"]));
    let url = &emu.url;
    let two_sites = fleet(
        &sb,
        &format!("images:\n  - image: {a}\n  - image: {b}\n    sites: [two]\nsites:\n  one: {{url: '{url}'}}\n  two: {{url: '{url}'}}\n"),
    );
    let out = run(&sb, &emu, &two_sites, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = status(
        &sb,
        &emu,
        &[two_sites.to_str().unwrap(), "--pushgateway", &pg.url()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let s = series(&pg);
    assert_eq!(
        s["xnat_cmd_images_checked{instance=,job=xnat-cmd,site=one}"],
        1.0
    );
    assert_eq!(
        s["xnat_cmd_images_checked{instance=,job=xnat-cmd,site=two}"],
        2.0
    );
    assert_eq!(s["xnat_cmd_site_up{instance=,job=xnat-cmd,site=two}"], 1.0);
    assert_eq!(
        s["xnat_cmd_drift{instance=,job=xnat-cmd,kind=missing,site=two}"],
        0.0
    );
    assert_eq!(s["xnat_cmd_last_run_success{instance=,job=xnat-cmd}"], 1.0);
    let first_success = s["xnat_cmd_last_success_timestamp_seconds{instance=,job=xnat-cmd}"];
    assert!(first_success > 1.7e9, "{s:?}");

    // Site `two` and image b leave the file: the next push replaces the group, nothing of
    // them lingers.
    let one_site = fleet(
        &sb,
        &format!("images:\n  - image: {a}\nsites:\n  one: {{url: '{url}'}}\n"),
    );
    let out = status(
        &sb,
        &emu,
        &[one_site.to_str().unwrap(), "--pushgateway", &pg.url()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let s = series(&pg);
    let stale: Vec<&String> = s.keys().filter(|k| k.contains("site=two")).collect();
    assert!(stale.is_empty(), "site two lingers: {stale:?}");
    assert_eq!(
        s["xnat_cmd_images_checked{instance=,job=xnat-cmd,site=one}"],
        1.0
    );
    // 6 drift kinds + 4 per-site series for one site, + the 2 run series.
    assert_eq!(s.len(), 12, "{s:#?}");

    // A run that fails pushes last_run_success 0 and no success timestamp.
    let gone = fleet(
        &sb,
        &format!(
            "images:\n  - image: {a}\n  - image: docker-archive:{}/missing.tar\nsites:\n  one: {{url: '{url}'}}\n",
            sb.path().display()
        ),
    );
    let out = status(
        &sb,
        &emu,
        &[gone.to_str().unwrap(), "--pushgateway", &pg.url()],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("): could not check 1 image\n"),
        "{}",
        stdout(&out)
    );
    let s = series(&pg);
    assert_eq!(s["xnat_cmd_last_run_success{instance=,job=xnat-cmd}"], 0.0);
    assert_eq!(
        s["xnat_cmd_images_unreadable{instance=,job=xnat-cmd,site=one}"],
        1.0
    );
    assert!(
        !s.keys()
            .any(|k| k.starts_with("xnat_cmd_last_success_timestamp")),
        "{s:#?}"
    );
}

#[test]
fn pushes_over_tls_with_basic_auth_from_a_file_and_a_failed_push_exits_1() {
    let sb = Sandbox::new();
    let emu = Emulator::start(&[]);
    let password = "gateway-s3cret";
    let pg = Pushgateway::start(Options {
        tls: true,
        basic: Some(("pusher".into(), password.into())),
    });
    let ca = pg.ca_path.clone().unwrap();
    let ca = ca.to_str().unwrap();
    let pw_file = sb.path().join("pg-password");
    std::fs::write(&pw_file, format!("{password}\n")).unwrap();
    let a = archive(sb.path(), "lab/a:1", &commands(&["a"]));
    let out = emu.xnat_cmd(&sb).args(["install", &a]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let url = pg.url();
    let auth = [
        "--pushgateway-user",
        "pusher",
        "--pushgateway-password-file",
        pw_file.to_str().unwrap(),
    ];

    // The CA not given: in sync, but the push fails: one error with its hint, exit 1.
    let out = status(&sb, &emu, &[&a, "--pushgateway", &url]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stdout(&out).contains("): in sync\n"), "{}", stdout(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "read 1 image (0 failed)\nsite default: checked\nerror: --pushgateway: TLS certificate of the Pushgateway at {url}/metrics/job/xnat-cmd is not trusted: invalid peer certificate: UnknownIssuer\nhint: pass the Pushgateway's CA certificate with --pushgateway-ca FILE (PEM), or add it to SSL_CERT_FILE\n"
        ),
        "the progress lines, then one error line and its hint"
    );

    // Trusted, no credentials: the gateway's 401, named.
    let out = status(
        &sb,
        &emu,
        &[&a, "--pushgateway", &url, "--pushgateway-ca", ca],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "error: --pushgateway: PUT {url}/metrics/job/xnat-cmd failed with 401: Unauthorized\n"
        )),
        "{err}"
    );
    assert!(err.contains("--pushgateway-password-file"), "{err}");

    // SSL_CERT_FILE is trusted like the system roots; credentials from the file.
    let out = emu
        .xnat_cmd(&sb)
        .env("SSL_CERT_FILE", ca)
        .args(["status", &a, "-vv", "--pushgateway", &url])
        .args(auth)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("DEBUG"), "-vv logs: {}", stderr(&out));
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    for text in [stdout(&out), stderr(&out)] {
        for secret in [
            password.to_string(),
            b64(password),
            b64(&format!("pusher:{password}")),
        ] {
            assert!(!text.contains(&secret), "the password leaked: {text}");
        }
    }
    let s = series(&pg);
    assert_eq!(s["xnat_cmd_last_run_success{instance=,job=xnat-cmd}"], 1.0);
    assert_eq!(
        s["xnat_cmd_commands_checked{instance=,job=xnat-cmd,site=default}"],
        1.0
    );

    // Drift found but not pushed: the push failure decides (exit 1, not 3).
    let b = archive(sb.path(), "lab/b:1", &commands(&["b"]));
    let out = status(&sb, &emu, &[&b, "--pushgateway", "http://127.0.0.1:9"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("error: --pushgateway: cannot reach the Pushgateway at http://127.0.0.1:9/metrics/job/xnat-cmd: Connection refused (os error 111)\nhint: check --pushgateway"),
        "{}",
        stderr(&out)
    );
    // The check failed (XNAT down) and so did the push: exit 1, both reported.
    let out = sb
        .cmd()
        .env("XNAT_HOST", "http://127.0.0.1:9")
        .env("XNAT_USER", "admin")
        .env("XNAT_PASS", "admin")
        .env("XNAT_CMD_BACKOFF_MS", "1")
        .args(["status", &a, "--pushgateway", "http://127.0.0.1:9"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("error: site default: "),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("error: --pushgateway: "),
        "{}",
        stderr(&out)
    );
}

#[test]
fn credentials_in_the_pushgateway_url_are_refused_before_any_read_and_never_echoed() {
    let sb = Sandbox::new();
    let out = sb
        .cmd()
        .args([
            "status",
            "lab/a:1",
            "--pushgateway",
            "https://pusher:hunter2@pg.example.org",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "error: invalid Pushgateway URL `https://***@pg.example.org`: credentials in the URL would show in the process list and in logs\nhint: pass the Pushgateway's base URL, e.g. --pushgateway http://pushgateway.monitoring.svc:9091, and its credentials with --pushgateway-user and --pushgateway-password-file\n"
    );
    assert_eq!(stdout(&out), "");

    // The other flags' mistakes are usage errors too, before any image is read.
    let missing = sb.path().join("no-such-ca.pem");
    let out = sb
        .cmd()
        .args(["status", "lab/a:1", "--pushgateway", "http://127.0.0.1:9"])
        .args(["--pushgateway-ca", missing.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with(&format!(
            "error: --pushgateway-ca: failed to read `{}`: ",
            missing.display()
        )),
        "{}",
        stderr(&out)
    );
    let out = sb
        .cmd()
        .args(["status", "lab/a:1", "--pushgateway", "http://127.0.0.1:9"])
        .args(["--pushgateway-user", "pusher"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--pushgateway-password-file <FILE>"),
        "{}",
        stderr(&out)
    );
}

/// The overlay's patch appends `--pushgateway URL` to the status container, and its placeholder
/// URL is one `--pushgateway` accepts (scripts/test-k8s.sh validates the rendered manifests).
#[test]
fn the_pushgateway_overlay_appends_an_accepted_url_to_the_status_cronjob() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy/kubernetes/overlays/pushgateway");
    let read = |name: &str| -> serde_json::Value {
        serde_norway::from_str(&std::fs::read_to_string(dir.join(name)).unwrap()).unwrap()
    };
    let k = read("kustomization.yaml");
    assert_eq!(k["resources"], serde_json::json!(["../../base"]));
    assert_eq!(k["patches"][0]["path"], "pushgateway-args.yaml");
    assert_eq!(k["patches"][0]["target"]["kind"], "CronJob");
    assert_eq!(k["patches"][0]["target"]["name"], "xnat-cmd-status");
    let ops = read("pushgateway-args.yaml");
    let args = "/spec/jobTemplate/spec/template/spec/containers/0/args/-";
    let ops = ops.as_array().unwrap();
    assert_eq!(ops.len(), 2);
    for op in ops {
        assert_eq!(op["op"], "add");
        assert_eq!(op["path"], args);
    }
    assert_eq!(ops[0]["value"], "--pushgateway");
    let url = ops[1]["value"].as_str().unwrap();
    let group = xnat_cmd::status::push::group_url(url).unwrap();
    assert_eq!(
        group.as_str(),
        "http://prometheus-pushgateway.monitoring.svc:9091/metrics/job/xnat-cmd"
    );
    // The base's status CronJob has the container the patch addresses.
    let base: serde_json::Value = serde_norway::from_str(
        &std::fs::read_to_string(dir.join("../../base/cronjob-status.yaml")).unwrap(),
    )
    .unwrap();
    let container = &base["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["args"][0], "status");
}

/// A push is a PUT of the whole group, so a reset, a 5xx or a 429 on the way is retried (the
/// seeded fault proxy of tests/it/faults.rs between xnat-cmd and the real gateway).
#[test]
fn a_push_through_resets_and_5xx_is_retried_until_it_lands() {
    use xnat_cmd_testkit::fault_proxy::{FaultPlan, FaultProxy};
    let sb = Sandbox::new();
    let emu = Emulator::start(&[]);
    let pg = Pushgateway::start(Options::default());
    let plan = FaultPlan::new();
    let proxy = FaultProxy::start("pushgateway", pg.addr.parse().unwrap(), plan.clone());
    let a = archive(sb.path(), "lab/a:1", &commands(&["a"]));
    let out = emu.xnat_cmd(&sb).args(["install", &a]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let via_proxy = format!("http://{}", proxy.addr);
    // Seed 11 at 70 %: a 500, then a reset after the gateway acted, then the PUT lands (under a
    // cut-short body, which a push does not read); the same in every run.
    plan.arm(11, 70);
    let out = status(&sb, &emu, &[&a, "--pushgateway", &via_proxy]);
    let injected = plan.injected();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{injected:#?}",
        stderr(&out)
    );
    assert_eq!(
        injected,
        [
            "pushgateway: PUT /metrics/job/xnat-cmd #1 → Status(500)",
            "pushgateway: PUT /metrics/job/xnat-cmd #2 → ResetAfter",
            "pushgateway: PUT /metrics/job/xnat-cmd #3 → Truncate",
        ]
    );
    let s = series(&pg);
    assert_eq!(s["xnat_cmd_last_run_success{instance=,job=xnat-cmd}"], 1.0);

    // Seed 7: the first try and all three retries fail; one error line, exit 1.
    plan.arm(7, 70);
    let out = status(&sb, &emu, &[&a, "--pushgateway", &via_proxy]);
    assert_eq!(plan.injected().len(), 4, "{:#?}", plan.injected());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "error: --pushgateway: cannot reach the Pushgateway at {via_proxy}/metrics/job/xnat-cmd: "
        )),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        stderr(&out).matches("error:").count(),
        1,
        "{}",
        stderr(&out)
    );
}
