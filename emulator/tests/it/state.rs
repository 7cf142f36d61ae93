//! Seeded state: `--state FILE` / [`Config::state`] loads the document `GET /__emulator/state`
//! returns (round trip), bad files are one usage line naming file and JSON path, and the
//! The "Using the emulator in your own tests" examples, extracted from docs/emulator.md and run.

use std::path::{Path, PathBuf};
use std::process::Command;

use reqwest::Method;
use serde_json::{json, Value};
use xnat_emulator::{Config, Snapshot};

use crate::clients::venv_python;
use crate::support::{hello, Emu, ADMIN, OWNER};

async fn state_of(emu: &Emu) -> Value {
    let a = emu
        .send(emu.req(Method::GET, "/__emulator/state", None))
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    a.json()
}

#[tokio::test]
async fn a_state_written_from_the_hook_loads_back_to_the_same_state() {
    let first = Emu::default().await;
    let id = first.create_ok(&hello()).await;
    let wid = first.wrapper_ids(id).await[0].1;
    let site = format!("/xapi/wrappers/{wid}/enabled");
    assert_eq!(first.call(Method::PUT, &site, ADMIN).await.status, 200);
    let project = format!("/xapi/projects/DEMO/wrappers/{wid}/enabled");
    assert_eq!(first.call(Method::PUT, &project, OWNER).await.status, 200);
    // Stored wrapper configurations (S8, P7) are state too.
    let config = json!({"inputs": {}, "outputs": {}});
    let site_config = format!("/xapi/wrappers/{wid}/config?enable=true");
    assert_eq!(
        first.post_json(&site_config, ADMIN, &config).await.status,
        201
    );
    let project_config = format!("/xapi/projects/DEMO/wrappers/{wid}/config?enable=true");
    assert_eq!(
        first
            .post_json(&project_config, OWNER, &config)
            .await
            .status,
        201
    );
    let token = first
        .call(Method::GET, "/data/services/tokens/issue", ADMIN)
        .await
        .json();
    let before = state_of(&first).await;
    assert_eq!(before["site_enabled"], json!({wid.to_string(): true}));
    assert_eq!(
        before["project_enabled"],
        json!({"DEMO": {wid.to_string(): true}})
    );
    assert!(
        before["site_config"][wid.to_string()].is_object(),
        "{before}"
    );
    assert!(
        before["project_config"]["DEMO"][wid.to_string()].is_object(),
        "{before}"
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&before).unwrap()).unwrap();
    let seed = Snapshot::from_file(&file).expect("the hook's document loads");
    let second = Emu::start(Config {
        state: Some(seed),
        ..Config::default()
    })
    .await;
    assert_eq!(state_of(&second).await, before);

    // The loaded state behaves: the command, its enablement, the token, the next ids.
    assert_eq!(second.get_command(id).await, first.get_command(id).await);
    let e = second.running.emulator();
    assert!(e.site_enabled(wid) && e.project_enabled("DEMO", wid));
    let alias = token["alias"].as_str().unwrap();
    let secret = token["secret"].as_str().unwrap();
    let who = second
        .call(Method::GET, "/data/auth", (alias, secret))
        .await;
    assert_eq!(who.body, "User 'admin' is logged in");
    let mut other = hello();
    other["name"] = json!("other");
    let next = second.create_ok(&other).await;
    assert_eq!(next, id + 1);
    assert_eq!(second.wrapper_ids(next).await[0].1, wid + 1);
}

#[tokio::test]
async fn a_seeded_state_replaces_the_default_users_and_projects() {
    let seed = Snapshot::from_str_named(
        r#"{"users": {"boss": {"password": "pw", "roles": ["ContainerManager"]},
                      "off": {"password": "off", "enabled": false}},
            "projects": {"P1": {"boss": "owner"}}}"#,
        Path::new("seed.json"),
    )
    .unwrap();
    let emu = Emu::start(Config {
        state: Some(seed),
        ..Config::default()
    })
    .await;
    assert_eq!(emu.call(Method::GET, "/data/auth", ADMIN).await.status, 401);
    assert_eq!(
        emu.call(Method::GET, "/data/auth", ("off", "off"))
            .await
            .status,
        401
    );
    let projects = emu
        .call(Method::GET, "/data/projects", ("boss", "pw"))
        .await
        .json();
    assert_eq!(projects["ResultSet"]["Result"][0]["ID"], "P1");
    assert_eq!(projects["ResultSet"]["totalRecords"], "1");
    let id = {
        let a = emu
            .post_json("/xapi/commands", ("boss", "pw"), &hello())
            .await;
        assert_eq!(a.status, 201, "{}", a.body);
        a.body
    };
    assert_eq!(id, "1");
}

#[tokio::test]
async fn the_binary_loads_a_document_written_from_the_hook() {
    let first = Emu::default().await;
    first.create_ok(&hello()).await;
    let before = state_of(&first).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.json");
    std::fs::write(&file, before.to_string()).unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_xnat-emulator"))
        .arg("--state")
        .arg(&file)
        .args(["--test-hooks", "--exit-on-stdin-eof"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("xnat-emulator runs");
    let mut line = String::new();
    let stdout = child.stdout.take().unwrap();
    tokio::io::AsyncBufReadExt::read_line(&mut tokio::io::BufReader::new(stdout), &mut line)
        .await
        .unwrap();
    let url = line
        .trim_end()
        .strip_prefix("xnat-emulator listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_string();
    let after: Value = reqwest::get(format!("{url}/__emulator/state"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    drop(child.stdin.take());
    assert!(child.wait().await.unwrap().success());
    assert_eq!(after, before);
}

fn emulator_bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_xnat-emulator"))
}

#[test]
fn bad_state_files_are_one_usage_line_naming_file_and_json_path() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "{\"users\": {\"a\": {\"password\": 3}}}",
            "`users.a.password`",
        ),
        ("{\"commands\": [{\"name\": \"x\"}]}", "`commands[0].id`"),
        (
            "{\"projects\": {\"P\": {\"ghost\": \"owner\"}}}",
            "`projects.P.ghost`",
        ),
        ("{\"users\": {}, }", "`$`"),
    ];
    for (text, path) in cases {
        let file = dir.path().join("seed.json");
        std::fs::write(&file, text).unwrap();
        let out = emulator_bin().arg("--state").arg(&file).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{text}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first = stderr.lines().next().unwrap_or("");
        assert!(
            first.starts_with("error: ") && first.contains(&file.display().to_string()),
            "{text}: {stderr}"
        );
        assert!(first.contains(path), "{text}: {stderr}");
        assert!(out.stdout.is_empty(), "{text}: nothing may listen");
    }
    let missing = emulator_bin()
        .args(["--state", "/nonexistent/seed.json"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr)
        .contains("cannot read state file `/nonexistent/seed.json`"));
    let file = dir.path().join("ok.json");
    std::fs::write(&file, "{}").unwrap();
    let both = emulator_bin()
        .arg("--state")
        .arg(&file)
        .args(["--user", "a:b"])
        .output()
        .unwrap();
    assert_eq!(both.status.code(), Some(2), "--state excludes --user");
}

/// The fenced block after `<!-- example: NAME -->` in docs/emulator.md.
fn readme_example(name: &str) -> String {
    let readme = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/emulator.md");
    let text = std::fs::read_to_string(&readme).expect("docs/emulator.md");
    let marker = format!("<!-- example: {name} -->");
    let after = text
        .split_once(&marker)
        .unwrap_or_else(|| panic!("docs/emulator.md has no `{marker}`"))
        .1;
    let body = after
        .split_once("```")
        .and_then(|(_, rest)| rest.split_once('\n'))
        .map(|(_, rest)| rest)
        .unwrap_or_else(|| panic!("no fenced block after `{marker}`"));
    body.split_once("\n```")
        .unwrap_or_else(|| panic!("unclosed fenced block after `{marker}`"))
        .0
        .to_string()
}

#[tokio::test]
async fn readme_shell_example_runs_and_leaves_the_state_it_promises() {
    let script = readme_example("emulator-shell");
    let dir = tempfile::tempdir().unwrap();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_xnat-emulator"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = tokio::process::Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(dir.path())
        .env("PATH", path)
        .output()
        .await
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "docs/emulator.md shell example failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout, "1\n\"name\":\"hello\"\n");
    let end = Snapshot::from_file(&dir.path().join("end.json")).expect("end.json loads");
    assert_eq!(end.commands.len(), 1);
    assert_eq!(end.site_enabled.get(&1), Some(&Some(true)));
    assert!(end.users.contains_key("reader"));
}

#[tokio::test]
async fn readme_python_example_runs_against_the_emulator() {
    let script = readme_example("emulator-python");
    let emu = Emu::default().await;
    let out = tokio::process::Command::new(venv_python())
        .args(["-c", &script])
        .env("XNAT_URL", emu.running.url())
        .output()
        .await
        .expect("the venv's python starts");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "docs/emulator.md Python example failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.trim_end(), "201 ['hello'] {'1': True}");
    assert_eq!(
        emu.running.emulator().commands()[0]["name"],
        "hello",
        "the example's command is in the emulator"
    );
}
