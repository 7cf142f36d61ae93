//! The registry source through the CLI: `inspect` and `install` of references on real
//! `docker-registry` processes (plain, basic auth, token auth with a private repository).

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use serde_json::{json, Value};

use crate::support::emulator::Emulator;
use crate::support::images::{BuiltImage, ImageBuilder};
use crate::support::registry::{Mode, Registry};
use crate::support::token_server::Policy;
use crate::support::Sandbox;

fn push(reg: &Registry, repo: &str, tag: &str, image: &BuiltImage) {
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(reg.push_image_to(repo, tag, image));
}

fn commands() -> Value {
    json!([{"name": "reg-tool", "version": "1", "command-line": "run",
            "xnat": [{"name": "reg-tool-project", "contexts": ["xnat:projectData"],
                      "external-inputs": [{"name": "project", "type": "Project"}]}]}])
}

fn image() -> BuiltImage {
    ImageBuilder::new()
        .label("org.nrg.commands", &commands().to_string())
        .build()
}

#[test]
fn inspect_and_install_a_reference_from_a_plain_registry() {
    let sb = Sandbox::new();
    let reg = Registry::start(Mode::Plain);
    let img = image();
    push(&reg, "xnat/tool", "1.0", &img);
    push(&reg, "xnat/tool", "latest", &img);
    let r = format!("{}/xnat/tool:1.0", reg.addr);

    let out = sb.cmd().args(["inspect", "--json", &r]).output().unwrap();
    let v = crate::support::success_json(&out);
    assert_eq!(v["commands"], commands());
    assert_eq!(v["image"], r.as_str());
    assert_eq!(v["config_digest"], img.config_digest.as_str());
    assert_eq!(v["manifest_digest"], img.manifest_digest.as_str());

    // Untagged: installed as XNAT would store it, with `:latest`.
    let emu = Emulator::start(&[]);
    let untagged = format!("docker://{}/xnat/tool", reg.addr);
    let out = emu
        .xnat_cmd(&sb)
        .args(["install", &untagged, "--enable-site"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cmds = emu.commands();
    assert_eq!(cmds.len(), 1);
    assert_eq!(cmds[0]["image"], format!("{}/xnat/tool:latest", reg.addr));
}

#[test]
fn install_from_a_private_repository_with_config_json_credentials() {
    let sb = Sandbox::new();
    let policy = Policy {
        users: BTreeMap::from([("alice".into(), "wonder-land".into())]),
        public: BTreeSet::new(),
        refresh_tokens: BTreeMap::new(),
    };
    let reg = Registry::start(Mode::Token(policy));
    push(&reg, "lab/private", "2.0", &image());
    let r = format!("{}/lab/private:2.0", reg.addr);
    let emu = Emulator::start(&[]);
    let install = |sb: &Sandbox| emu.xnat_cmd(sb).args(["install", &r]).output().unwrap();

    // Without credentials the registry refuses, and XNAT is never written to.
    let out = install(&sb);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("lab/private"), "{stderr}");
    assert_eq!(emu.writes(), 0);

    // docker's config.json, as `docker login` writes it.
    let auth = base64::engine::general_purpose::STANDARD.encode("alice:wonder-land");
    std::fs::create_dir_all(sb.path().join(".docker")).unwrap();
    std::fs::write(
        sb.path().join(".docker/config.json"),
        json!({"auths": {reg.addr.clone(): {"auth": auth}}}).to_string(),
    )
    .unwrap();
    let out = install(&sb);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("wonder-land"));
    assert_eq!(emu.commands()[0]["image"], r.as_str());
}

#[test]
fn registry_password_from_stdin_on_a_basic_auth_registry() {
    let sb = Sandbox::new();
    let reg = Registry::start(Mode::Basic {
        user: "bob".into(),
        password: "b0b-secret".into(),
    });
    push(&reg, "xnat/basic", "1", &image());
    let r = format!("{}/xnat/basic:1", reg.addr);
    let out = sb
        .cmd()
        .args([
            "inspect",
            "--json",
            "--registry-user",
            "bob",
            "--registry-password-stdin",
            &r,
        ])
        .write_stdin("b0b-secret\n")
        .output()
        .unwrap();
    let v = crate::support::success_json(&out);
    assert_eq!(v["commands"], commands());

    let out = sb
        .cmd()
        .args([
            "inspect",
            "--registry-user",
            "bob",
            "--registry-password-stdin",
            &r,
        ])
        .write_stdin("wrong\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(!stderr.contains("wrong"), "{stderr}");

    // A mounted Secret: the password from a file, its trailing newline dropped.
    let secret = sb.path().join("registry-password");
    std::fs::write(&secret, "b0b-secret\n").unwrap();
    let out = sb
        .cmd()
        .args([
            "inspect",
            "--json",
            "--registry-user",
            "bob",
            "--registry-password-file",
        ])
        .arg(&secret)
        .arg(&r)
        .output()
        .unwrap();
    assert_eq!(crate::support::success_json(&out)["commands"], commands());
    // --registry-user alone says what it needs.
    let out = sb
        .cmd()
        .args(["inspect", "--registry-user", "bob", &r])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: --registry-user needs --registry-password-stdin or --registry-password-file\n"
    );
}

#[test]
fn malformed_references_are_usage_errors_that_name_the_registry_rule() {
    let sb = Sandbox::new();
    let out = sb.cmd().args(["inspect", "Upper/Case:1"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: invalid reference `Upper/Case:1`: repository name `Case` must be lowercase\n\
         hint: `Upper` was taken as a registry host (a first component with `.`, `:` or upper case, \
         or `localhost`, names a registry, as in docker); repository names are lowercase\n"
    );
    let out = sb.cmd().args(["validate", "foo:bar:baz"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: invalid reference `foo:bar:baz`: bad repository path component `foo:bar` \
         (use lowercase letters, digits and single `.`, `_`, `__` or `-` separators)\n"
    );
}

/// `inspect` of several references on a token registry announces them before reading: one
/// token request for the set; an anonymous read of a private repository in it fails alone.
#[test]
fn inspect_of_several_references_shares_one_token() {
    let sb = Sandbox::new();
    let public: Vec<String> = (0..3).map(|i| format!("lab/open-{i}")).collect();
    let policy = Policy {
        users: BTreeMap::new(),
        public: public.iter().cloned().collect(),
        refresh_tokens: BTreeMap::new(),
    };
    let reg = Registry::start(Mode::Token(policy));
    let img = image();
    for repo in public.iter().chain([&"lab/closed".to_string()]) {
        push(&reg, repo, "1", &img);
    }
    let token = reg.token.as_ref().unwrap();
    let refs: Vec<String> = public
        .iter()
        .map(|repo| format!("{}/{repo}:1", reg.addr))
        .collect();

    let before = token.requests();
    let out = sb
        .cmd()
        .arg("inspect")
        .arg("--json")
        .args(&refs)
        .output()
        .unwrap();
    let v = crate::support::success_json(&out);
    let images: Vec<_> = v.as_array().unwrap().iter().map(|o| &o["image"]).collect();
    assert_eq!(images, refs.iter().collect::<Vec<_>>());
    assert!(v
        .as_array()
        .unwrap()
        .iter()
        .all(|o| o["commands"] == commands()));
    assert_eq!(
        token.requests() - before,
        1,
        "one token for three repositories"
    );

    let closed = format!("{}/lab/closed:1", reg.addr);
    let before = token.requests();
    let out = sb
        .cmd()
        .arg("inspect")
        .args(&refs)
        .arg(&closed)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!("error: unauthorized: `{closed}` needs credentials and none were found (authentication required)\nhint: use --registry-user, --registry-auth-file, docker login or podman login\n")
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let headers: Vec<_> = stdout.lines().filter(|l| !l.starts_with(' ')).collect();
    let want: Vec<_> = refs
        .iter()
        .map(|r| {
            format!(
                "{r} ({r}, linux/amd64, config {})",
                &img.config_digest[..19]
            )
        })
        .collect();
    assert_eq!(headers, want, "{stdout}");
    assert_eq!(token.requests() - before, 1, "one token for the set");
}

/// Kubernetes mounts an empty folder for an optional Secret that does not exist (the shipped
/// CronJobs' `regcred`): `--registry-auth-file` naming a file in it gives no credentials, said
/// once at `-v`, and public images read as usual (every run failed on it before).
#[test]
fn missing_registry_auth_file_in_an_empty_secret_folder_is_no_credentials() {
    let sb = Sandbox::new();
    let reg = Registry::start(Mode::Plain);
    let img = image();
    push(&reg, "xnat/tool", "1.0", &img);
    push(&reg, "xnat/other", "1.0", &img);
    let empty = sb.path().join("registry");
    std::fs::create_dir(&empty).unwrap();
    let auth_file = empty.join(".dockerconfigjson");
    let refs = [
        format!("{}/xnat/tool:1.0", reg.addr),
        format!("{}/xnat/other:1.0", reg.addr),
    ];
    let out = sb
        .cmd()
        .args(["-v", "inspect", "--json", "--registry-auth-file"])
        .arg(&auth_file)
        .args(&refs)
        .output()
        .unwrap();
    let v = crate::support::success_json(&out);
    assert_eq!(v.as_array().map(Vec::len), Some(2), "{v}");
    assert!(v
        .as_array()
        .unwrap()
        .iter()
        .all(|o| o["commands"] == commands()));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let said: Vec<_> = stderr
        .lines()
        .filter(|l| l.contains("no credentials from this file"))
        .collect();
    assert_eq!(
        said,
        [format!(
            " INFO xnat_cmd::credentials: registry auth file does not exist: no credentials from this file path={}",
            auth_file.display()
        )],
        "{stderr}"
    );

    // A private image: the registry's own refusal, not a file error.
    let policy = Policy {
        users: BTreeMap::from([("alice".into(), "wonder-land".into())]),
        public: BTreeSet::new(),
        refresh_tokens: BTreeMap::new(),
    };
    let private = Registry::start(Mode::Token(policy));
    push(&private, "lab/private", "2.0", &image());
    let r = format!("{}/lab/private:2.0", private.addr);
    let out = sb
        .cmd()
        .args(["inspect", "--registry-auth-file"])
        .arg(&auth_file)
        .arg(&r)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!("error: unauthorized: `{r}` needs credentials and none were found (authentication required)\nhint: use --registry-user, --registry-auth-file, docker login or podman login\n")
    );
}

/// Only a file that is not there is "no credentials": one that is there but cannot be read, or
/// does not hold credentials, is still an error (exit 1, naming the file, nothing read).
#[test]
fn registry_auth_file_that_exists_but_is_unreadable_or_malformed_is_an_error() {
    let sb = Sandbox::new();
    let reg = Registry::start(Mode::Plain);
    push(&reg, "xnat/tool", "1.0", &image());
    let r = format!("{}/xnat/tool:1.0", reg.addr);
    // Unreadable: a folder where the file should be (the tests may run as root, which reads
    // any mode).
    let folder = sb.path().join("dir.json");
    std::fs::create_dir(&folder).unwrap();
    let malformed = sb.path().join("malformed.json");
    std::fs::write(&malformed, r#"{"auths": 5}"#).unwrap();
    let cases = [
        (
            &folder,
            format!(
                "error: {r}: failed to read credentials file `{}`\ncaused by: ",
                folder.display()
            ),
        ),
        (
            &malformed,
            format!(
                "error: {r}: credentials in `{}` are not valid JSON or YAML\ncaused by: invalid type: integer `5`, expected a map",
                malformed.display()
            ),
        ),
    ];
    for (path, want) in cases {
        let out = sb
            .cmd()
            .args(["inspect", "--registry-auth-file"])
            .arg(path)
            .arg(&r)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", path.display());
        // The error line exactly; the cause's wording is the file reader's (the OS error, or
        // the capped reader's "it is a directory, not a regular file"): it must name it.
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.starts_with(&want), "{stderr}");
        assert_eq!(stderr.lines().count(), 2, "{stderr}");
        if path == &folder {
            assert!(stderr.to_lowercase().contains("directory"), "{stderr}");
        }
        assert!(
            out.stdout.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}
