//! The `xnat-emulator` binary: the one stdout line with the URL, flags, and stopping on
//! stdin EOF.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[tokio::test]
async fn binary_prints_url_serves_and_exits_on_stdin_eof() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_xnat-emulator"))
        .args([
            "--context-path",
            "/xnat",
            "--user",
            "boss:pw:ContainerManager",
            "--project",
            "p1:boss",
            "--exit-on-stdin-eof",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("xnat-emulator binary runs");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim_end()
        .strip_prefix("xnat-emulator listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_string();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/xnat"),
        "{url}"
    );
    let roles = reqwest::Client::new()
        .get(format!("{url}/xapi/users/boss/roles"))
        .basic_auth("boss", Some("pw"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(roles, "[\"ContainerManager\"]");
    // The default users are replaced by --user.
    let admin = reqwest::Client::new()
        .get(format!("{url}/data/auth"))
        .basic_auth("admin", Some("admin"))
        .send()
        .await
        .unwrap();
    assert_eq!(admin.status().as_u16(), 401);
    drop(child.stdin.take());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

#[test]
fn bad_flag_values_are_usage_errors() {
    let out = Command::new(env!("CARGO_BIN_EXE_xnat-emulator"))
        .args(["--user", "nopassword"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`nopassword` is not NAME:PASS[:ROLE,ROLE]"),
        "{err}"
    );
}

/// The flags as the library parses them for in-process starts: the same `Config` the binary
/// would run with.
#[test]
fn flags_map_onto_the_config() {
    use clap::Parser as _;
    use xnat_emulator::cli::Args;
    use xnat_emulator::{Level, VersionMode};

    let args = Args::try_parse_from([
        "xnat-emulator",
        "--context-path",
        "/xnat",
        "--mode",
        "3.6",
        "--project",
        "P1:boss",
        "--access",
        "P1:ann:member",
        "--fail-nth-write",
        "4",
        "--force-login-redirect",
        "--test-hooks",
    ])
    .unwrap();
    let c = args.config();
    assert_eq!(c.context_path, "/xnat");
    assert_eq!(c.version_mode, VersionMode::V36);
    assert!(c.test_hooks);
    assert_eq!(c.faults.fail_nth_write, Some(4));
    assert!(c.faults.force_login_redirect);
    let projects: Vec<(&str, Vec<(&str, Level)>)> = c
        .projects
        .iter()
        .map(|p| {
            (
                p.id.as_str(),
                p.access.iter().map(|(u, l)| (u.as_str(), *l)).collect(),
            )
        })
        .collect();
    assert_eq!(
        projects,
        vec![("P1", vec![("boss", Level::Delete), ("ann", Level::Edit)])]
    );
    // The default users stay when no --user is given.
    assert!(c.users.iter().any(|u| u.name == "admin"));

    let e = Args::try_parse_from(["xnat-emulator", "--mode", "3.5"]).unwrap_err();
    assert_eq!(e.kind(), clap::error::ErrorKind::InvalidValue);
}

/// A new user reading `--help` or the startup output learns who can log in, and the project
/// the README uses (`DEMO`).
#[test]
fn help_and_startup_name_the_default_users_and_project() {
    let out = Command::new(env!("CARGO_BIN_EXE_xnat-emulator"))
        .arg("--help")
        .output()
        .unwrap();
    // clap wraps to the terminal width: compare with whitespace collapsed.
    let help = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        help.contains("admin/admin (Administrator, ContainerManager)"),
        "{help}"
    );
    assert!(help.contains("one project, DEMO"), "{help}");

    let mut child = Command::new(env!("CARGO_BIN_EXE_xnat-emulator"))
        .arg("--exit-on-stdin-eof")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(
        line.starts_with("xnat-emulator listening on http://127.0.0.1:"),
        "{line}"
    );
    let mut err = String::new();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    stderr.read_line(&mut err).unwrap();
    assert!(
        err.starts_with("xnat-emulator: Without --user: users admin/admin"),
        "{err}"
    );
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
}
