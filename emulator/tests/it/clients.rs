//! XNAT's own Python clients against the emulator: xnatpy (PyPI `xnat`) and pyxnat, pinned in
//! scripts/test.sh's venv, run the scripts in `emulator/tests/python/` (connect, list, create
//! through the raw POST, enable, disconnect; a wrong password), and the tests check both what
//! the client printed and the emulator's state and request log. Also the status codes and
//! bodies of the connect endpoints themselves, over plain HTTP.

use std::path::PathBuf;

use reqwest::Method;
use serde_json::Value;
use xnat_emulator::Config;

use crate::support::{hello, Emu, ADMIN};

/// Python of the clients' venv (made by scripts/test.sh). The clients are a required service
/// of these tests: a missing venv fails them.
pub fn venv_python() -> PathBuf {
    let venv = std::env::var_os("XNAT_CLIENTS_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/py-clients"));
    let python = venv.join("bin/python");
    assert!(
        python.is_file(),
        "the XNAT Python clients' venv is missing ({}): run scripts/test.sh, which creates it \
         (or point XNAT_CLIENTS_VENV at a venv with the pinned xnat and pyxnat)",
        python.display()
    );
    python
}

/// Run `emulator/tests/python/<script>` with the venv's python; its stdout is one JSON object.
async fn run_script(script: &str, args: &[&str]) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(script);
    let out = tokio::process::Command::new(venv_python())
        .arg(&path)
        .args(args)
        .output()
        .await
        .expect("the venv's python starts");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{script} failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{script} printed no JSON ({e}):\n{stdout}\n{stderr}"))
}

/// (method, path, status) of every request the emulator saw.
fn requests(emu: &Emu) -> Vec<(String, String, u16)> {
    emu.running
        .emulator()
        .log()
        .into_iter()
        .map(|r| (r.method, r.path, r.status))
        .collect()
}

fn saw(emu: &Emu, method: &str, path: &str, status: u16) -> bool {
    requests(emu)
        .iter()
        .any(|(m, p, s)| m == method && p == path && *s == status)
}

fn names(emu: &Emu) -> Vec<String> {
    emu.running
        .emulator()
        .commands()
        .iter()
        .filter_map(|c| c["name"].as_str().map(str::to_string))
        .collect()
}

fn first_wrapper_id(emu: &Emu) -> u64 {
    emu.running.emulator().commands()[0]["xnat"][0]["id"]
        .as_u64()
        .expect("stored wrapper id")
}

#[tokio::test]
async fn xnatpy_connects_lists_creates_enables_and_disconnects() {
    let emu = Emu::default().await;
    let seen = run_script(
        "xnatpy_flow.py",
        &[&emu.running.url(), "admin", "admin", &hello().to_string()],
    )
    .await;
    assert_eq!(seen["logged_in_user"], "admin", "{seen}");
    assert_eq!(seen["xnat_version"], "1.9.2");
    let jsession = seen["jsession"].as_str().unwrap_or("");
    assert_eq!(jsession.len(), 32, "session id from the form login: {seen}");
    assert_eq!(seen["commands_before"], serde_json::json!([]));
    assert_eq!(seen["create_status"], 201);
    assert_eq!(seen["site_enabled"], true);
    assert_eq!(seen["commands_after"], serde_json::json!(["hello"]));

    let e = emu.running.emulator();
    assert_eq!(names(&emu), ["hello"]);
    assert!(e.site_enabled(first_wrapper_id(&emu)));
    // The form login made the session; disconnect ended it.
    assert!(saw(&emu, "PUT", "/data/services/auth", 200));
    assert!(saw(&emu, "GET", "/data/auth", 200));
    assert!(saw(&emu, "DELETE", "/data/JSESSION", 200));
    assert_eq!(e.session_count("admin"), 0, "{:?}", requests(&emu));
    assert!(
        requests(&emu).iter().all(|(_, _, s)| *s != 401),
        "{:?}",
        requests(&emu)
    );
}

#[tokio::test]
async fn xnatpy_wrong_password_is_its_own_login_error() {
    let emu = Emu::default().await;
    let seen = run_script(
        "xnatpy_flow.py",
        &[&emu.running.url(), "admin", "wrong", &hello().to_string()],
    )
    .await;
    assert_eq!(seen["login_error"], "XNATLoginFailedError", "{seen}");
    assert_eq!(
        seen["message"],
        "Encountered a problem logging in: Authentication failed."
    );
    assert!(saw(&emu, "PUT", "/data/services/auth", 401));
    assert!(names(&emu).is_empty());
    assert_eq!(emu.running.emulator().session_count("admin"), 0);
}

#[tokio::test]
async fn xnatpy_logs_in_with_an_alias_token_as_xnat_issues_it() {
    let emu = Emu::default().await;
    let issued = emu
        .call(Method::GET, "/data/services/tokens/issue", ADMIN)
        .await
        .json();
    let alias = issued["alias"].as_str().unwrap_or("").to_string();
    let secret = issued["secret"].as_str().unwrap_or("").to_string();
    // XNAT's AliasToken: a UUID alias (xnatpy picks the token login by that pattern) and a
    // 64-character alphanumeric secret.
    let groups: Vec<usize> = alias.split('-').map(str::len).collect();
    assert_eq!(groups, [8, 4, 4, 4, 12], "{alias}");
    assert!(alias
        .chars()
        .all(|c| c == '-' || c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    assert_eq!(secret.len(), 64);
    assert!(secret.chars().all(|c| c.is_ascii_alphanumeric()));
    emu.running.emulator().reset_log();
    // The issuing request's own Basic session stays; the client's must come and go.
    let sessions_before = emu.running.emulator().session_count("admin");

    let seen = run_script(
        "xnatpy_flow.py",
        &[&emu.running.url(), &alias, &secret, &hello().to_string()],
    )
    .await;
    assert_eq!(seen["logged_in_user"], "admin", "{seen}");
    assert_eq!(seen["create_status"], 201);
    assert_eq!(names(&emu), ["hello"]);
    // The token login is Basic on the site root, never the form login.
    assert!(saw(&emu, "GET", "/", 200), "{:?}", requests(&emu));
    assert!(!requests(&emu)
        .iter()
        .any(|(_, p, _)| p == "/data/services/auth"));
    assert!(saw(&emu, "DELETE", "/data/JSESSION", 200));
    assert_eq!(
        emu.running.emulator().session_count("admin"),
        sessions_before
    );
}

#[tokio::test]
async fn pyxnat_connects_lists_creates_enables_and_disconnects() {
    let emu = Emu::default().await;
    let seen = run_script(
        "pyxnat_flow.py",
        &[&emu.running.url(), "admin", "admin", &hello().to_string()],
    )
    .await;
    // pyxnat keeps `JSESSIONID=` + str() of the body bytes (`b'…'`): the 32-digit id inside.
    let jsession = seen["jsession"].as_str().unwrap_or("");
    let id: String = jsession
        .trim_start_matches("JSESSIONID=b'")
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    assert!(
        jsession.starts_with("JSESSIONID=") && id.len() == 32,
        "{seen}"
    );
    assert_eq!(seen["version"], "1.9.2");
    assert_eq!(seen["commands_before"], serde_json::json!([]));
    assert_eq!(seen["create_status"], 201);
    assert_eq!(seen["site_enabled"], true);
    assert_eq!(seen["commands_after"], serde_json::json!(["hello"]));

    let e = emu.running.emulator();
    assert_eq!(names(&emu), ["hello"]);
    assert!(e.site_enabled(first_wrapper_id(&emu)));
    assert!(saw(&emu, "GET", "/data/JSESSION", 200));
    assert!(saw(&emu, "DELETE", "/data/JSESSION", 200));
    // pyxnat sends Basic credentials and the session cookie together: one session, reused
    // by every request, then ended.
    assert_eq!(e.session_count("admin"), 0, "{:?}", requests(&emu));
}

#[tokio::test]
async fn pyxnat_wrong_password_is_its_own_error() {
    let emu = Emu::default().await;
    let seen = run_script(
        "pyxnat_flow.py",
        &[&emu.running.url(), "admin", "wrong", &hello().to_string()],
    )
    .await;
    assert_eq!(seen["login_error"], "DatabaseError", "{seen}");
    let message = seen["message"].as_str().unwrap_or("");
    assert!(message.contains("status code: 401"), "{message}");
    assert!(names(&emu).is_empty());
    assert_eq!(emu.running.emulator().session_count("admin"), 0);
}

// The connect endpoints over plain HTTP, with XNAT's statuses and bodies.

#[tokio::test]
async fn form_login_answers_the_session_id_and_its_cookie() {
    let emu = Emu::default().await;
    let a = emu
        .send(
            emu.req(Method::PUT, "/data/services/auth", None)
                .header("content-type", "application/x-www-form-urlencoded")
                .body("username=admin&password=admin"),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(
        a.content_type.starts_with("text/plain"),
        "{}",
        a.content_type
    );
    assert_eq!(a.body.len(), 32);
    let cookie = a.header("set-cookie").unwrap_or_default();
    assert!(
        cookie.starts_with(&format!("JSESSIONID={};", a.body)),
        "{cookie}"
    );
    // The session is the user's: who-am-I with the cookie alone.
    let who = emu
        .send(
            emu.req(Method::GET, "/data/auth", None)
                .header("cookie", format!("JSESSIONID={}", a.body)),
        )
        .await;
    assert_eq!(
        (who.status, who.body.as_str()),
        (200, "User 'admin' is logged in")
    );
    assert_eq!(emu.running.emulator().session_count("admin"), 1);
}

#[tokio::test]
async fn form_login_refusals_are_restlet_status_pages() {
    let emu = Emu::default().await;
    // XNAT's AuthenticationRestlet: j_username/j_password are accepted too; blank or wrong
    // credentials are 401 "Authentication failed." in Restlet's page.
    let cases = [
        ("j_username=admin&j_password=admin", 200),
        ("username=admin&password=nope", 401),
        ("username=admin", 401),
        ("username=&password=admin", 401),
        ("username=ghost&password=ghost", 401),
        ("", 401),
    ];
    for (body, status) in cases {
        let a = emu
            .send(
                emu.req(Method::POST, "/data/services/auth", None)
                    .body(body),
            )
            .await;
        assert_eq!(a.status, status, "{body}: {}", a.body);
        if status == 401 {
            assert!(
                a.body.contains("<h3>Authentication failed.</h3>"),
                "{body}: {}",
                a.body
            );
            assert!(a.header("set-cookie").is_none(), "{body}");
        }
    }
    assert_eq!(emu.running.emulator().session_count("admin"), 1);
}

#[tokio::test]
async fn site_root_redirects_anonymous_callers_and_names_logged_in_ones() {
    let emu = Emu::default().await;
    let anonymous = emu.send(emu.req(Method::GET, "/", None)).await;
    assert_eq!(anonymous.status, 302);
    assert_eq!(
        anonymous.header("location").as_deref(),
        Some("/app/template/Login.vm")
    );
    let admin = emu.call(Method::GET, "/", ADMIN).await;
    assert_eq!(admin.status, 200);
    assert!(
        admin
            .body
            .contains("Logged in as: &nbsp;<a id=\"username-link\" href="),
        "{}",
        admin.body
    );
    assert!(admin.body.contains(">admin</a>"), "{}", admin.body);
    assert!(admin.header("set-cookie").is_some());

    let open = Emu::start(Config {
        require_login: false,
        ..Config::default()
    })
    .await;
    let guest = open.send(open.req(Method::GET, "/", None)).await;
    assert_eq!(guest.status, 200);
    assert!(guest
        .body
        .contains("<span style=\"color:red;\">Guest</span>"));
}

#[tokio::test]
async fn connect_endpoints_work_under_a_context_path() {
    let emu = Emu::start(Config {
        context_path: "/xnat".to_string(),
        ..Config::default()
    })
    .await;
    let root = emu.send(emu.req(Method::GET, "", None)).await;
    assert_eq!(
        (root.status, root.header("location").as_deref()),
        (302, Some("/xnat/app/template/Login.vm"))
    );
    let login = emu
        .send(
            emu.req(Method::PUT, "/data/services/auth", None)
                .body("username=admin&password=admin"),
        )
        .await;
    assert_eq!(login.status, 200);
    assert!(login
        .header("set-cookie")
        .is_some_and(|c| c.contains("Path=/xnat")));
}

#[test]
fn help_lists_the_connect_endpoints_and_the_state_flag() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_xnat-emulator"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "GET /  ",
        "PUT|POST /data/services/auth",
        "GET|POST|DELETE /data/JSESSION",
        "GET /data/auth",
        "--state <FILE>",
        "GET /__emulator/state",
    ] {
        assert!(help.contains(needle), "--help lacks `{needle}`:\n{help}");
    }
}
