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
