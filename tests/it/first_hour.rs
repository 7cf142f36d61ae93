//! What a new user hit in the first hour with a fresh clone and the README: each a regression
//! test, mostly with the bundled example image, as the README uses it.

use serde_json::Value;

use crate::support::emulator::Emulator;
use crate::support::Sandbox;

fn example_image() -> String {
    format!(
        "{}/examples/hello-xnat/image.oci.tar",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn example() -> String {
    format!("oci-archive:{}", example_image())
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn an_existing_path_without_transport_names_the_transports() {
    let sb = Sandbox::new();
    let path = example_image();
    let out = sb.cmd().args(["inspect", &path]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "error: `{path}` is a file, not an image reference\nhint: name its transport: `oci-archive:{path}` (a tar of an OCI layout) or `docker-archive:{path}` (a `docker save` tar); `docker://{path}` reads a registry\n"
        )
    );
    // A directory (`validate DIR/`) is pointed at `oci:`.
    let dir = sb.path().join("layout");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("oci-layout"), "{}").unwrap();
    let d = dir.display().to_string();
    let out = sb.cmd().args(["validate", &d]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(&format!("hint: read the OCI layout in it with `oci:{d}`")),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_json_file_read_as_an_archive_does_not_print_its_content() {
    let sb = Sandbox::new();
    let f = format!(
        "{}/examples/hello-xnat/command.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let out = sb
        .cmd()
        .args(["inspect", &format!("oci-archive:{f}")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!("error: oci-archive:{f}: `{f}` is not a valid tar archive\ncaused by: a 512-byte header does not parse as tar: the file is not a tar archive, or is damaged\n")
    );
}

#[test]
fn unreachable_loopback_registry_ends_with_a_hint_without_insecure_registry() {
    let sb = Sandbox::new();
    // Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    let out = sb
        .cmd()
        .args(["inspect", "127.0.0.1:9/lab/tool:1", "--no-registry-cache"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.starts_with("error: 127.0.0.1:9/lab/tool:1: cannot reach `127.0.0.1:9`\n"),
        "{err}"
    );
    assert!(
        err.contains(
            "\nhint: check the name and this machine's network; behind a proxy set HTTPS_PROXY"
        ),
        "{err}"
    );
    // A loopback registry already falls back to plain HTTP: the flag would change nothing.
    assert!(!err.contains("--insecure-registry"), "{err}");
}

#[test]
fn logs_show_retries_and_no_colour_codes_in_a_pipe() {
    let sb = Sandbox::new();
    let out = sb
        .cmd()
        .env_remove("NO_COLOR")
        .args([
            "-vv",
            "inspect",
            "127.0.0.1:9/lab/tool:1",
            "--no-registry-cache",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("DEBUG"), "-vv logs debug lines: {err}");
    // Each retry is logged with its reason and count.
    assert!(
        err.contains("retrying after client error (Connect)"),
        "{err}"
    );
    assert!(err.contains("attempt=3 of=3"), "{err}");
    assert!(!err.contains('\u{1b}'), "escape codes in a pipe: {err:?}");
}

#[test]
fn help_names_credential_sources_and_defaults() {
    let sb = Sandbox::new();
    for sub in ["install", "list", "uninstall"] {
        let out = sb.cmd().args([sub, "--help"]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        for needle in [
            "XNAT_USER",
            "XNAT_PASS",
            "~/.netrc",
            "XNAT_HOST",
            "XNAT_HOST_FILE",
            "--password-file",
            "XNAT_PASS_FILE",
        ] {
            assert!(text.contains(needle), "{sub} --help lacks {needle}");
        }
    }
    let out = sb.cmd().args(["inspect", "--help"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("[default: 16777216]"));
}

#[test]
fn install_into_an_unknown_project_writes_nothing_and_offers_close_matches() {
    let sb = Sandbox::new();
    let emu = Emulator::start(&[]);
    for (project, close) in [("NOSUCHPROJ", ""), ("demo", " (did you mean `DEMO`?)")] {
        let out = emu
            .xnat_cmd(&sb)
            .args([
                "install",
                &example(),
                "--enable-site",
                "--enable-project",
                project,
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(
            stderr(&out),
            format!("error: project `{project}`{close} does not exist in XNAT\nhint: project ids are case-sensitive, as in XNAT's URLs; nothing was written\n")
        );
    }
    assert_eq!(emu.writes(), 0);
    assert!(emu.commands().is_empty());
}

#[test]
fn install_reports_the_true_enablement_and_one_json_schema() {
    let sb = Sandbox::new();
    let emu = Emulator::start(&[]);
    let out = emu
        .xnat_cmd(&sb)
        .args(["install", &example(), "--enable-site"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Without --enable-*: the wrappers are enabled, and the report says so.
    let out = emu
        .xnat_cmd(&sb)
        .args(["install", &example()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("wrapper hello-session #1: site: enabled"),
        "{text}"
    );
    assert!(!text.contains("site: -"), "{text}");

    let out = emu
        .xnat_cmd(&sb)
        .args(["install", &example(), "--json"])
        .output()
        .unwrap();
    let raw = String::from_utf8_lossy(&out.stdout).into_owned();
    let report = crate::support::success_json(&out);
    let commands = report["commands"].as_array().unwrap();
    assert_eq!(commands.len(), 2);
    for c in commands {
        let keys: Vec<&str> = c.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["source", "name", "version", "image", "status", "id", "wrappers"],
            "{c}"
        );
        assert_eq!(c["status"], "unchanged");
    }
    // No key twice in one object (serde_json keeps the last; count the raw text).
    assert_eq!(raw.matches("\"id\": 1,").count(), 2, "{raw}");
    let w = &commands[0]["wrappers"][0];
    assert_eq!(w["enabled_site"], Value::Bool(true));
    assert_eq!(w["enabled_projects"], serde_json::json!([]));
    // The same names as `list --json`.
    let out = emu.xnat_cmd(&sb).args(["list", "--json"]).output().unwrap();
    let list = crate::support::success_json(&out);
    // Listed by id, which follows the order the creates arrived in (sent at once).
    let with_wrapper = list
        .as_array()
        .and_then(|l| l.iter().find(|c| c["wrappers"][0].is_object()))
        .unwrap_or_else(|| panic!("no command with a wrapper: {list}"));
    assert_eq!(
        with_wrapper["wrappers"][0]["enabled_site"],
        Value::Bool(true)
    );
}

#[test]
fn uninstall_of_an_unknown_id_fails_and_removes_nothing() {
    let sb = Sandbox::new();
    let emu = Emulator::start(&[]);
    let out = emu
        .xnat_cmd(&sb)
        .args(["install", &example()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = emu
        .xnat_cmd(&sb)
        .args(["uninstall", "--id", "1", "--id", "99"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "error: no installed command has id 99: nothing was removed\nhint: `xnat-cmd list` shows the installed commands and their ids\n"
    );
    assert_eq!(emu.commands().len(), 2);
}

/// Kubernetes mounts a Secret's keys as files: `--password-file`, or `XNAT_USER_FILE` and
/// `XNAT_PASS_FILE`, stand in for the variables; the secret never reaches a message.
#[test]
fn xnat_credentials_from_mounted_secret_files() {
    let sb = Sandbox::new();
    let emu = Emulator::start(&[]);
    let user = sb.path().join("user");
    let pass = sb.path().join("pass");
    std::fs::write(&user, "admin\n").unwrap();
    std::fs::write(&pass, "admin\n").unwrap();
    let out = sb
        .cmd()
        .env("XNAT_HOST", &emu.url)
        .env("XNAT_USER_FILE", &user)
        .env("XNAT_PASS_FILE", &pass)
        .args(["install", &example()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(emu.commands().len(), 2);
    // The URL from a file too (a Secret key mounted beside the token).
    let host = sb.path().join("url");
    std::fs::write(&host, format!("{}\n", emu.url)).unwrap();
    let out = sb
        .cmd()
        .env("XNAT_HOST_FILE", &host)
        .args(["list", "--user", "admin", "--password-file"])
        .arg(&pass)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    std::fs::write(&pass, "not-the-password\n").unwrap();
    let out = sb
        .cmd()
        .env("XNAT_HOST", &emu.url)
        .env("XNAT_USER", "admin")
        .env("XNAT_PASS_FILE", &pass)
        .args(["list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        !stderr(&out).contains("not-the-password"),
        "{}",
        stderr(&out)
    );
    let out = sb
        .cmd()
        .env("XNAT_HOST", &emu.url)
        .env("XNAT_USER", "admin")
        .env("XNAT_PASS_FILE", sb.path().join("missing"))
        .args(["list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).starts_with("error: XNAT_PASS_FILE: failed to read the secret file `"),
        "{}",
        stderr(&out)
    );
}

/// The login answered 404: the URL is not XNAT's, most often its context path left out.
#[test]
fn a_url_without_the_context_path_is_not_xnat_and_gets_a_hint() {
    let sb = Sandbox::new();
    let emu = Emulator::start(&["--context-path", "/xnat"]);
    let root = emu
        .url
        .trim_end_matches('/')
        .trim_end_matches("/xnat")
        .to_string();
    let out = emu
        .xnat_cmd(&sb)
        .env("XNAT_HOST", &root)
        .arg("list")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "error: `{root}/` answered 404 to XNAT's login (POST data/JSESSION): it is not XNAT, or not XNAT's context path
\
             caused by: POST {root}/data/JSESSION failed with 404: (empty body)
\
             hint: check --xnat / XNAT_HOST: XNAT deployed under a context path needs it in the URL (https://host/xnat, not https://host); {root}/ in a browser should show XNAT's login page
"
        )
    );
}

/// `https://` to an XNAT served over plain HTTP: said so, with the URL to use.
#[test]
fn https_against_a_plain_http_xnat_says_so() {
    let sb = Sandbox::new();
    let emu = Emulator::start(&[]);
    let https = emu.url.replacen("http://", "https://", 1);
    let out = emu
        .xnat_cmd(&sb)
        .env("XNAT_HOST", &https)
        .arg("list")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    let shown = format!("{}/", https.trim_end_matches('/'));
    assert!(
        err.starts_with(&format!("error: `{shown}` answers plain HTTP, not HTTPS\n")),
        "{err}"
    );
    assert!(
        err.ends_with(&format!(
            "hint: use {} (the server speaks plain HTTP), or put XNAT behind TLS\n",
            shown.replacen("https://", "http://", 1)
        )),
        "{err}"
    );
}

/// A missing URL or credentials is a usage error before any image is read: the image here is
/// on a registry that does not answer, which would otherwise be what the run reports.
#[test]
fn a_missing_xnat_url_or_credentials_is_reported_before_any_image_is_read() {
    let sb = Sandbox::new();
    let image = "127.0.0.1:9/lab/tool:1";
    let fleet = sb.path().join("fleet.yaml");
    std::fs::write(&fleet, format!("images:\n  - image: {image}\n")).unwrap();
    let fleet = fleet.display().to_string();
    let runs: [&[&str]; 4] = [
        &["install", image],
        &["uninstall", image],
        &["sync", &fleet],
        &["status", &fleet],
    ];
    for args in runs {
        let out = sb.cmd().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert_eq!(
            stderr(&out),
            "error: no XNAT URL: pass --xnat URL or set XNAT_HOST (or XNAT_HOST_FILE)\n",
            "{args:?}"
        );
        // The URL, but no credentials anywhere: named with every way to give them.
        let out = sb
            .cmd()
            .env("XNAT_HOST", "http://127.0.0.1:9")
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert_eq!(
            stderr(&out),
            format!(
                "error: no XNAT credentials for `127.0.0.1:9`: tried the command line, XNAT_USER/XNAT_PASS (or files named by XNAT_USER_FILE/XNAT_PASS_FILE) and {0}\n\
                 hint: pass --user with --password-file FILE or --password-stdin, set XNAT_USER and XNAT_PASS, or add a `machine 127.0.0.1:9 login USER password PASSWORD` line to {0}\n",
                sb.path().join(".netrc").display()
            ),
            "{args:?}"
        );
    }
    // --user without a password says how to give one.
    let out = sb
        .cmd()
        .args([
            "install",
            image,
            "--xnat",
            "http://127.0.0.1:9",
            "--user",
            "admin",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "error: a user was given on the command line without a password\n\
         hint: name a file holding it with --password-file FILE, or pipe it into --password-stdin\n"
    );
}

/// Images given to `status` on the command line have no file and no line to be named by.
#[test]
fn a_bad_reference_given_to_status_has_no_command_line_0_prefix() {
    let sb = Sandbox::new();
    let out = sb
        .cmd()
        .env("XNAT_HOST", "http://127.0.0.1:9")
        .env("XNAT_USER", "admin")
        .env("XNAT_PASS", "not-used")
        .args(["status", "docker://lab/tool:-1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(!err.contains("the command line"), "{err}");
    assert!(
        err.starts_with("error: invalid reference `lab/tool:-1`: bad tag `-1`"),
        "{err}"
    );
}

fn sites_fleet(sb: &Sandbox, emu: &Emulator) -> String {
    let a = example();
    let f = sb.path().join("sites.yaml");
    std::fs::write(
        &f,
        format!(
            "images:\n  - image: {a}\nsites:\n  prod: {{url: '{}', user-env: PROD_USER, password-env: PROD_PASS}}\n  staging: {{url: '{}'}}\n",
            emu.url, emu.url
        ),
    )
    .unwrap();
    f.display().to_string()
}

#[test]
fn a_site_typo_gets_did_you_mean() {
    let sb = Sandbox::new();
    let emu = Emulator::start(&[]);
    let f = sites_fleet(&sb, &emu);
    let out = emu
        .xnat_cmd(&sb)
        .args(["sync", &f, "--site", "prdo"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "error: --site prdo (did you mean `prod`?): the fleet file defines no such site (it has: prod, staging)\n"
    );
    assert_eq!(emu.requests(), 0);
}

/// A site that names its credential variables never falls back to XNAT_USER/XNAT_PASS
/// (another user, perhaps another site's) when they are unset: an error naming them, before
/// any image is read or any site contacted.
#[test]
fn unset_user_env_and_password_env_of_a_site_are_an_error_naming_them() {
    let sb = Sandbox::new();
    let emu = Emulator::start(&[]);
    let f = sites_fleet(&sb, &emu);
    let out = emu.xnat_cmd(&sb).args(["sync", &f]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "error: site `prod`: PROD_USER and PROD_PASS named by its `user-env` and `password-env` are not set: set them, or drop `user-env`/`password-env` from the site to use ~/.netrc or XNAT_USER/XNAT_PASS\n"
    );
    let out = emu
        .xnat_cmd(&sb)
        .env("PROD_USER", "admin")
        .args(["sync", &f])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with("error: site `prod`: PROD_PASS named by its"),
        "{}",
        stderr(&out)
    );
    assert_eq!(emu.requests(), 0, "no site contacted");
    // Set: both sites synced, each with its own credentials.
    let out = emu
        .xnat_cmd(&sb)
        .env("PROD_USER", "admin")
        .env("PROD_PASS", "admin")
        .args(["sync", &f])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// A site that cannot be reached still shows its URL, never an empty `()`.
#[test]
fn an_unreachable_default_site_shows_its_url() {
    let sb = Sandbox::new();
    let f = sb.path().join("fleet.yaml");
    std::fs::write(&f, format!("images:\n  - image: {}\n", example())).unwrap();
    let out = sb
        .cmd()
        .env("XNAT_HOST", "http://127.0.0.1:9")
        .env("XNAT_USER", "admin")
        .env("XNAT_PASS", "admin")
        .arg("sync")
        .arg(&f)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("site default (http://127.0.0.1:9/)\nsite not synced: cannot reach XNAT at http://127.0.0.1:9/\n"),
        "{text}"
    );
    assert!(!text.contains("()"), "{text}");
}
