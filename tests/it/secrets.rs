//! Secret hygiene: every subcommand at `-vv`, with known secrets — the XNAT password (from the
//! environment and from a password file), a basic-auth registry's password (from
//! `--registry-password-file` and from an auth file), a token registry's credentials (from an
//! auth file) — against the real registries and the emulator; every byte of stdout, stderr and
//! the Prometheus file is scanned for each secret and its encoded forms (the `user:pass` Basic
//! value, base64 of the password alone), on successful and on failing runs alike.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Output;

use base64::Engine as _;
use serde_json::{json, Value};

use crate::support::emulator::Emulator;
use crate::support::images::{BuiltImage, ImageBuilder};
use crate::support::registry::{Mode, Registry};
use crate::support::token_server::Policy;
use crate::support::Sandbox;

const XNAT_PASSWORD: &str = "xnat-S3cret-9f2c41";
/// A wrong XNAT password: a refusal must not echo it either.
const WRONG_XNAT_PASSWORD: &str = "wrong-S3cret-0b7e55";
const REGISTRY_PASSWORD: &str = "reg-S3cret-71ab09";
const WRONG_REGISTRY_PASSWORD: &str = "wrong-reg-S3cret-3d4f";
const TOKEN_PASSWORD: &str = "tok-S3cret-55cd83";

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// Every form in which a secret could leak: as is, base64 alone, and in a Basic value.
fn forbidden() -> Vec<(String, String)> {
    let pairs = [
        ("admin", XNAT_PASSWORD),
        ("admin", WRONG_XNAT_PASSWORD),
        ("bob", REGISTRY_PASSWORD),
        ("bob", WRONG_REGISTRY_PASSWORD),
        ("alice", TOKEN_PASSWORD),
    ];
    let mut v = Vec::new();
    for (user, pass) in pairs {
        v.push((pass.to_string(), format!("the password of `{user}`")));
        v.push((b64(pass), format!("base64 of the password of `{user}`")));
        let basic = b64(&format!("{user}:{pass}"));
        v.push((basic.clone(), format!("the Basic value of `{user}`")));
        // Without padding, as some encoders write it.
        v.push((
            basic.trim_end_matches('=').to_string(),
            format!("the unpadded Basic value of `{user}`"),
        ));
    }
    v
}

fn commands(name: &str) -> Value {
    json!([{"name": name, "version": "1", "type": "docker", "command-line": "run",
            "xnat": [{"name": format!("{name}-w"), "contexts": ["xnat:projectData"],
                      "external-inputs": [{"name": "project", "type": "Project"}]}]}])
}

fn image(name: &str) -> BuiltImage {
    ImageBuilder::new()
        .label("org.nrg.commands", &commands(name).to_string())
        .build()
}

fn push(reg: &Registry, repo: &str, image: &BuiltImage) {
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(reg.push_image_to(repo, "1", image));
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p.display().to_string()
}

/// Every secret form found in `bytes`.
fn leaks(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    forbidden()
        .into_iter()
        .filter(|(s, _)| text.contains(s.as_str()))
        .map(|(_, what)| what)
        .collect()
}

#[test]
fn no_secret_reaches_stdout_stderr_or_the_prometheus_file_at_debug_verbosity() {
    // The scanner itself finds what it looks for.
    let sample = format!(
        "authorization: Basic {}",
        b64(&format!("bob:{REGISTRY_PASSWORD}"))
    );
    assert_eq!(
        leaks(sample.as_bytes()),
        [
            "the Basic value of `bob`",
            "the unpadded Basic value of `bob`"
        ]
    );
    let sb = Sandbox::new();
    let d = sb.path();
    let user = format!("admin:{XNAT_PASSWORD}:Administrator,ContainerManager");
    let emu = Emulator::start(&["--project", "DEMO", "--user", &user]);
    let basic = Registry::start(Mode::Basic {
        user: "bob".into(),
        password: REGISTRY_PASSWORD.into(),
    });
    let token = Registry::start(Mode::Token(Policy {
        users: BTreeMap::from([("alice".into(), TOKEN_PASSWORD.into())]),
        public: BTreeSet::new(),
        refresh_tokens: BTreeMap::new(),
    }));
    push(&basic, "lab/basic", &image("sec-basic"));
    push(&token, "lab/private", &image("sec-private"));
    let basic_ref = format!("{}/lab/basic:1", basic.addr);
    let token_ref = format!("{}/lab/private:1", token.addr);

    let xnat_pw_file = write(d, "xnat-pw", &format!("{XNAT_PASSWORD}\n"));
    let reg_pw_file = write(d, "reg-pw", &format!("{REGISTRY_PASSWORD}\n"));
    let wrong_reg_pw_file = write(d, "wrong-reg-pw", WRONG_REGISTRY_PASSWORD);
    // One docker config.json for both registries, as `docker login` writes it.
    let auth_file = write(
        d,
        "auth.json",
        &json!({"auths": {
            basic.addr.clone(): {"auth": b64(&format!("bob:{REGISTRY_PASSWORD}"))},
            token.addr.clone(): {"auth": b64(&format!("alice:{TOKEN_PASSWORD}"))},
        }})
        .to_string(),
    );
    let cmd_file = write(d, "cmd.json", &commands("sec-file").to_string());
    let fleet = write(
        d,
        "fleet.yaml",
        &format!("images:\n  - image: {basic_ref}\n    enable: {{site: true, projects: [DEMO]}}\n  - image: {token_ref}\nprune: ['{}/lab/*']\n", basic.addr),
    );
    let prom = d.join("status.prom");
    let reg_flags = [
        "--registry-user",
        "bob",
        "--registry-password-file",
        &reg_pw_file,
    ];
    let auth_flags = ["--registry-auth-file", auth_file.as_str()];

    // (what, args, XNAT password from: env / file / none, expected exit code)
    #[derive(Clone, Copy)]
    enum Xnat {
        None,
        Env(&'static str),
        File,
    }
    #[rustfmt::skip]
    let runs: Vec<(&str, Vec<&str>, Xnat, i32)> = vec![
        ("inspect, basic registry, password file", [&["inspect", basic_ref.as_str()][..], &reg_flags].concat(), Xnat::None, 0),
        ("inspect, token registry, auth file", [&["inspect", "--json", token_ref.as_str()][..], &auth_flags].concat(), Xnat::None, 0),
        ("inspect, wrong registry password", vec!["inspect", &basic_ref, "--registry-user", "bob", "--registry-password-file", &wrong_reg_pw_file], Xnat::None, 1),
        ("inspect, no credentials for the token registry", vec!["inspect", &token_ref], Xnat::None, 1),
        ("validate, token registry", [&["validate", token_ref.as_str()][..], &auth_flags].concat(), Xnat::None, 0),
        ("label", vec!["label", &cmd_file], Xnat::None, 0),
        ("install, XNAT_PASS, registry password file", [&["install", basic_ref.as_str(), "--enable-site"][..], &reg_flags].concat(), Xnat::Env(XNAT_PASSWORD), 0),
        ("install, XNAT password file, auth file", [&["install", token_ref.as_str(), "--enable-project", "DEMO"][..], &auth_flags].concat(), Xnat::File, 0),
        ("install, wrong XNAT password", [&["install", basic_ref.as_str()][..], &reg_flags].concat(), Xnat::Env(WRONG_XNAT_PASSWORD), 1),
        ("list", vec!["list"], Xnat::Env(XNAT_PASSWORD), 0),
        ("list --json, password file", vec!["list", "--json"], Xnat::File, 0),
        ("list, wrong XNAT password", vec!["list"], Xnat::Env(WRONG_XNAT_PASSWORD), 1),
        ("sync", [&["sync", fleet.as_str()][..], &auth_flags].concat(), Xnat::Env(XNAT_PASSWORD), 0),
        ("sync --prune --dry-run", [&["sync", fleet.as_str(), "--prune", "--dry-run"][..], &auth_flags].concat(), Xnat::File, 0),
        ("status --prometheus", [&["status", fleet.as_str(), "--prometheus", prom.to_str().unwrap_or("status.prom")][..], &auth_flags].concat(), Xnat::Env(XNAT_PASSWORD), 0),
        ("status, wrong registry password", vec!["status", &basic_ref, "--registry-user", "bob", "--registry-password-file", &wrong_reg_pw_file], Xnat::Env(XNAT_PASSWORD), 1),
        ("uninstall", [&["uninstall", basic_ref.as_str()][..], &reg_flags].concat(), Xnat::File, 0),
    ];

    let mut failures = Vec::new();
    for (what, args, xnat, want) in &runs {
        let mut cmd = sb.cmd();
        cmd.arg("-vv").args(args);
        match xnat {
            Xnat::None => {}
            Xnat::Env(pw) => {
                cmd.env("XNAT_HOST", &emu.url)
                    .env("XNAT_USER", "admin")
                    .env("XNAT_PASS", pw);
            }
            Xnat::File => {
                cmd.env("XNAT_HOST", &emu.url).args([
                    "--user",
                    "admin",
                    "--password-file",
                    &xnat_pw_file,
                ]);
            }
        }
        let out: Output = cmd.output().expect("run xnat-cmd");
        let code = out.status.code();
        if code != Some(*want) {
            failures.push(format!(
                "{what}: exit {code:?}, want {want}\n{}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        // -vv must actually log, or the scan proves nothing about the logs.
        if !String::from_utf8_lossy(&out.stderr).contains("DEBUG") && *what != "label" {
            failures.push(format!("{what}: no DEBUG lines on stderr at -vv"));
        }
        for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            for leak in leaks(bytes) {
                failures.push(format!("{what}: {leak} is on {stream}"));
            }
        }
    }
    let prom_text = std::fs::read(&prom).expect("the Prometheus file was written");
    assert!(
        String::from_utf8_lossy(&prom_text).contains("xnat_cmd"),
        "not a Prometheus file"
    );
    for leak in leaks(&prom_text) {
        failures.push(format!("status --prometheus: {leak} is in the file"));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The runs did what they say: both images were installed, then one removed.
    let names: Vec<String> = emu
        .commands()
        .iter()
        .filter_map(|c| c["name"].as_str().map(str::to_string))
        .collect();
    assert_eq!(names, ["sec-private"]);
}

/// A server that answers every request with `status`, a challenge when `challenge` is set,
/// and a body that echoes the request's `Authorization` header and the decoded credential,
/// a terminal escape and 20,000 lines: what a misconfigured proxy or debug endpoint does.
/// Its address.
fn echoing_server(status: u16, challenge: Option<&'static str>) -> String {
    use std::io::{BufRead as _, BufReader, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut auth = String::new();
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                if line.to_ascii_lowercase().starts_with("authorization:") {
                    auth = line.trim_end().to_string();
                }
                line.clear();
            }
            let decoded = auth
                .rsplit(' ')
                .next()
                .and_then(|v| base64::engine::general_purpose::STANDARD.decode(v).ok())
                .map(|v| String::from_utf8_lossy(&v).into_owned())
                .unwrap_or_default();
            let (status, challenge) = match (challenge, auth.is_empty()) {
                (Some(c), true) => (401, Some(c)),
                _ => (status, None),
            };
            let body = format!(
                "you sent {auth}\ncredentials: {decoded}\n\x1b[2J\x1b]0;owned\x07{}",
                "stack frame at org.example.Proxy.handle(Proxy.java:42)\n".repeat(20_000)
            );
            let mut head = format!(
                "HTTP/1.1 {status} Echo\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n",
                body.len()
            );
            if let Some(c) = challenge {
                head.push_str(&format!("www-authenticate: {c}\r\n"));
            }
            head.push_str("\r\n");
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(body.as_bytes());
        }
    });
    addr
}

/// Error bodies that echo the credentials the run sent (XNAT, a registry) reach the user as
/// one short line: no password in any form, no terminal escape, not 20,000 lines.
#[test]
fn error_bodies_echoing_the_credentials_are_summarised_and_redacted() {
    let sb = Sandbox::new();
    let xnat = echoing_server(500, None);
    let out = sb
        .cmd()
        .env("XNAT_HOST", format!("http://{xnat}"))
        .env("XNAT_USER", "admin")
        .env("XNAT_PASS", XNAT_PASSWORD)
        .arg("list")
        .output()
        .expect("run");
    let registry = echoing_server(403, Some(r#"Basic realm="echo""#));
    let pw = write(sb.path(), "reg-pw", REGISTRY_PASSWORD);
    let out2 = sb
        .cmd()
        .args([
            "inspect",
            "--no-registry-cache",
            "--registry-user",
            "bob",
            "--registry-password-file",
            &pw,
        ])
        .arg(format!("{registry}/lab/tool:1"))
        .output()
        .expect("run");
    for (what, out) in [("XNAT", &out), ("registry", &out2)] {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{what}: {stderr}");
        assert_eq!(leaks(&out.stderr), Vec::<String>::new(), "{what}: {stderr}");
        assert_eq!(leaks(&out.stdout), Vec::<String>::new(), "{what}");
        assert!(
            !stderr.contains('\x1b'),
            "{what}: a raw escape reached the terminal: {stderr:?}"
        );
        assert!(
            stderr
                .to_ascii_lowercase()
                .contains("you sent authorization: ")
                && stderr.contains("<redacted>"),
            "{what}: {stderr}"
        );
        assert!(
            stderr.lines().count() <= 4,
            "{what}: {} lines: {stderr}",
            stderr.lines().count()
        );
        assert!(
            stderr.len() < 2000,
            "{what}: {} bytes of stderr",
            stderr.len()
        );
    }
}

/// A command name with terminal escapes, or of 4 MB (near the command file cap), from a command file: `validate` shows it
/// escaped and capped (it printed the ESC raw and all 15 MB); `--json` keeps the data whole.
#[test]
fn names_from_outside_are_shown_escaped_and_capped() {
    let sb = Sandbox::new();
    let cmd = |name: &str| {
        json!([{"name": name, "version": "1", "type": "docker", "command-line": "run", "image": "x/y:1"}])
            .to_string()
    };
    let esc = write(
        sb.path(),
        "esc.json",
        &cmd("evil\x1b[2J\x1b]0;owned\x07name"),
    );
    let big = write(sb.path(), "big.json", &cmd(&"n".repeat(4_000_000)));
    let out = sb.cmd().args(["validate", &esc]).output().expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        !stdout.contains('\x1b') && !stdout.contains('\x07'),
        "{stdout:?}"
    );
    assert!(
        stdout.contains("evil\\x1b[2J\\x1b]0;owned\\x07name"),
        "{stdout}"
    );
    let out = sb.cmd().args(["validate", &big]).output().expect("run");
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stdout.len() < 10_000,
        "{} bytes of output",
        out.stdout.len()
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("… (4000"),
        "the cut says how long the line was"
    );
    let out = sb
        .cmd()
        .args(["validate", "--json", &esc])
        .output()
        .expect("run");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("evil\\u001b[2J"),
        "JSON escapes it itself"
    );
}
