//! XNAT over HTTPS with a site CA that is not a system root (the emulator with an rcgen test
//! CA): an untrusted certificate is one clear error naming `--ca-cert FILE`, `--ca-cert` and
//! `--insecure` both connect, a bad `--ca-cert` file is a usage error, and install works.

use serde_json::{json, Value};

use crate::support::cli::Transcript;
use crate::support::emulator::Emulator;
use crate::support::images::{write_docker_archive, Compress, ImageBuilder, Saved};
use crate::support::Sandbox;

fn xnat_cmd(sb: &Sandbox, emu: &Emulator) -> assert_cmd::Command {
    emu.xnat_cmd(sb)
}

fn ca_arg(emu: &Emulator) -> String {
    emu.ca_path
        .as_ref()
        .expect("an HTTPS emulator")
        .display()
        .to_string()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn an_untrusted_certificate_is_named_with_the_flag_that_fixes_it() {
    let sb = Sandbox::new();
    let emu = Emulator::start_tls(&[]);
    let out = xnat_cmd(&sb, &emu).arg("list").output().unwrap();
    // The rustls reason is kept as a cause for whoever debugs the site's chain.
    crate::assert_cli_snapshot!(Transcript::of(&out).sandbox(&sb).xnat(&emu));
    // No request got through the handshake.
    assert_eq!(emu.requests(), 0);
}

#[test]
fn ca_cert_makes_the_site_trusted() {
    let sb = Sandbox::new();
    let emu = Emulator::start_tls(&[]);
    let out = xnat_cmd(&sb, &emu)
        .args(["list", "--ca-cert", &ca_arg(&emu)])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "no commands installed\n"
    );
}

#[test]
fn insecure_skips_verification() {
    let sb = Sandbox::new();
    let emu = Emulator::start_tls(&[]);
    let out = xnat_cmd(&sb, &emu)
        .args(["list", "--insecure"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "no commands installed\n"
    );
}

#[test]
fn a_missing_or_non_pem_ca_cert_is_a_usage_error() {
    let sb = Sandbox::new();
    let emu = Emulator::start_tls(&[]);
    let missing = sb.path().join("missing.pem");
    let out = xnat_cmd(&sb, &emu)
        .args(["list", "--ca-cert", &missing.display().to_string()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        stderr(&out).lines().next(),
        Some(
            format!(
                "error: failed to read CA certificate `{}`: No such file or directory (os error 2)",
                missing.display()
            )
            .as_str()
        ),
        "{}",
        stderr(&out)
    );

    let not_pem = sb.path().join("ca.der");
    std::fs::write(&not_pem, b"\x30\x82\x01\x0a not a PEM file\n").unwrap();
    let out = xnat_cmd(&sb, &emu)
        .args(["list", "--ca-cert", &not_pem.display().to_string()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        stderr(&out).lines().next(),
        Some(format!(
            "error: CA certificate `{}` holds no PEM certificate (-----BEGIN CERTIFICATE-----): pass the site's CA certificate in PEM form",
            not_pem.display()
        ).as_str()),
        "{}",
        stderr(&out)
    );
    // Usage errors stop before any request.
    assert_eq!(emu.requests(), 0);
}

#[test]
fn install_over_https_creates_the_commands() {
    let sb = Sandbox::new();
    let emu = Emulator::start_tls(&["--context-path", "/xnat"]);
    assert!(emu.url.ends_with("/xnat"), "{}", emu.url);
    let commands = json!([
        {"name": "tls-tool", "version": "1.0", "type": "docker", "command-line": "run",
         "xnat": [{"name": "tls-tool-project", "contexts": ["xnat:projectData"],
                   "external-inputs": [{"name": "project", "type": "Project"}]}]},
        {"name": "tls-setup", "version": "1.0", "type": "docker-setup", "command-line": "prep"}
    ]);
    let img = ImageBuilder::new()
        .label("org.nrg.commands", &commands.to_string())
        .build();
    let archive = sb.path().join("tool.tar");
    write_docker_archive(
        &archive,
        &[Saved::new(&img, &["xnat/tls-tool:1.0"])],
        Compress::None,
    )
    .expect("write archive");
    let out = xnat_cmd(&sb, &emu)
        .args([
            "install",
            &format!("docker-archive:{}", archive.display()),
            "--ca-cert",
            &ca_arg(&emu),
            "--enable-site",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["commands"][0]["status"], "created");
    assert_eq!(report["commands"][1]["status"], "created");
    let mut stored: Vec<(String, String)> = emu
        .commands()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["image"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    stored.sort();
    assert_eq!(
        stored,
        [
            ("tls-setup".to_string(), "xnat/tls-tool:1.0".to_string()),
            ("tls-tool".to_string(), "xnat/tls-tool:1.0".to_string()),
        ]
    );
    // 2 creates + 1 site enable.
    assert_eq!(emu.writes(), 3);
}
