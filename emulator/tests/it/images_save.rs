//! `POST /xapi/docker/images/save`: 424 on the Kubernetes backend, label import from the image
//! table on the Docker backend (create each, skip failures, 200 with the created commands),
//! and the `--backend`/`--image` flags.

use reqwest::Method;
use serde_json::{json, Value};
use xnat_emulator::{Backend, Config, LabelledImage};

use crate::support::{hello, Emu, ADMIN, MEMBER};

const NO_DOCKER: &str = "Set up Docker server before using this REST endpoint.";

#[tokio::test]
async fn kubernetes_backend_answers_424_after_the_aspect() {
    let emu = Emu::default().await;
    let admin = emu
        .call(
            Method::POST,
            "/xapi/docker/images/save?image=busybox:1",
            ADMIN,
        )
        .await;
    assert_eq!((admin.status, admin.body.as_str()), (424, NO_DOCKER));
    let member = emu
        .call(
            Method::POST,
            "/xapi/docker/images/save?image=busybox:1",
            MEMBER,
        )
        .await;
    assert_eq!((member.status, member.body.as_str()), (403, ""));
    let get = emu
        .call(Method::GET, "/xapi/docker/images/save", ADMIN)
        .await;
    assert_eq!((get.status, get.body.as_str()), (424, NO_DOCKER));
}

fn invalid_command() -> Value {
    // Fails XNAT's validation: `Command name cannot be blank.`
    json!({"image": "ignored", "command-line": "true"})
}

fn docker_emulator_config() -> Config {
    let mut named = hello();
    named["name"] = json!("second");
    let two = Value::Array(vec![hello(), invalid_command(), named]).to_string();
    Config {
        backend: Backend::Docker,
        images: vec![
            LabelledImage {
                reference: "repo/tool:1.0".into(),
                label: Some(two.clone()),
            },
            LabelledImage {
                reference: "repo/tool:latest".into(),
                label: Some(two),
            },
            LabelledImage {
                reference: "repo/lone:1".into(),
                label: Some(hello().to_string()),
            },
            LabelledImage {
                reference: "repo/nolabel:1".into(),
                label: None,
            },
        ],
        ..Config::default()
    }
}

#[tokio::test]
async fn docker_backend_imports_the_label_and_skips_failures() {
    let emu = Emu::start(docker_emulator_config()).await;
    let a = emu
        .call(
            Method::POST,
            "/xapi/docker/images/save?image=repo/tool:1.0",
            ADMIN,
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let created = a.json();
    let created = created.as_array().unwrap();
    assert_eq!(created.len(), 2, "{created:?}");
    assert_eq!(created[0]["name"], "hello");
    assert_eq!(created[1]["name"], "second");
    // The requested image replaces the label's, verbatim; the hash is the image id.
    assert_eq!(created[0]["image"], "repo/tool:1.0");
    assert!(created[0]["hash"]
        .as_str()
        .unwrap_or("")
        .starts_with("sha256:"));
    assert_eq!(created[0]["id"], 1);
    assert_eq!(emu.running.emulator().commands().len(), 2);

    // Again: duplicates are skipped, not errors.
    let again = emu
        .call(
            Method::POST,
            "/xapi/docker/images/save?image=repo/tool:1.0",
            ADMIN,
        )
        .await;
    assert_eq!((again.status, again.json()), (200, json!([])));
    // An untagged name finds :latest, but the verbatim name fails validation: nothing saved.
    let untagged = emu
        .call(
            Method::POST,
            "/xapi/docker/images/save?image=repo/tool",
            ADMIN,
        )
        .await;
    assert_eq!((untagged.status, untagged.json()), (200, json!([])));
    for image in ["repo/lone:1", "repo/nolabel:1"] {
        let a = emu
            .call(
                Method::POST,
                &format!("/xapi/docker/images/save?image={image}"),
                ADMIN,
            )
            .await;
        assert_eq!((a.status, a.json()), (200, json!([])), "{image}");
    }
    let unknown = emu
        .call(Method::POST, "/xapi/docker/images/save?image=nope:1", ADMIN)
        .await;
    assert_eq!(
        (unknown.status, unknown.body.as_str()),
        (404, "Could not find image \"nope:1\"")
    );
    let get = emu
        .call(Method::GET, "/xapi/docker/images/save", ADMIN)
        .await;
    assert_eq!(
        (get.status, get.body.as_str()),
        (
            400,
            "To save commands from image labels POST to /images/save."
        )
    );
    assert_eq!(emu.running.emulator().commands().len(), 2);
}

/// XNAT's `save` loop: an unknown `type` fails validation (skipped); a nameless output is a
/// NullPointerException inside validate() that ends the request after earlier commands were saved.
#[tokio::test]
async fn a_crash_inside_validation_ends_the_import() {
    let mut weird = hello();
    weird["name"] = json!("weird");
    weird["type"] = json!("singularity");
    let mut npe = hello();
    npe["name"] = json!("npe");
    npe["mounts"] = json!([{"name": "out", "writable": true, "path": "/out"}]);
    npe["outputs"] = json!([{"mount": "out"}]);
    let mut last = hello();
    last["name"] = json!("last");
    let label = Value::Array(vec![hello(), weird, npe, last]).to_string();
    let emu = Emu::start(Config {
        backend: Backend::Docker,
        images: vec![LabelledImage {
            reference: "repo/mixed:1".into(),
            label: Some(label),
        }],
        ..Config::default()
    })
    .await;
    let a = emu
        .call(
            Method::POST,
            "/xapi/docker/images/save?image=repo/mixed:1",
            ADMIN,
        )
        .await;
    assert_eq!(a.status, 500, "{}", a.body);
    assert!(a.body.contains("NullPointerException"), "{}", a.body);
    let names: Vec<Value> = emu
        .running
        .emulator()
        .commands()
        .iter()
        .map(|c| c["name"].clone())
        .collect();
    assert_eq!(names, vec![json!("hello")]);
}

#[test]
fn backend_and_image_flags() {
    use clap::Parser as _;
    use xnat_emulator::cli::Args;

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("label.json");
    std::fs::write(&file, "[{\"name\": \"x\"}]").unwrap();
    let image = format!("repo/x:1={}", file.display());
    let c = Args::try_parse_from(["xnat-emulator", "--backend", "docker", "--image", &image])
        .unwrap()
        .config();
    assert_eq!(c.backend, Backend::Docker);
    assert_eq!(
        c.images,
        vec![LabelledImage {
            reference: "repo/x:1".into(),
            label: Some("[{\"name\": \"x\"}]".into())
        }]
    );
    assert_eq!(
        Args::try_parse_from(["xnat-emulator"])
            .unwrap()
            .config()
            .backend,
        Backend::Kubernetes
    );
    let missing = format!("repo/x:1={}", dir.path().join("absent.json").display());
    let e = Args::try_parse_from(["xnat-emulator", "--image", &missing]).unwrap_err();
    assert!(e.to_string().contains("cannot read the label file"), "{e}");
    // An image table only makes sense with the Docker backend named.
    let e = Args::try_parse_from(["xnat-emulator", "--image", &image]).unwrap_err();
    assert_eq!(
        e.kind(),
        clap::error::ErrorKind::MissingRequiredArgument,
        "{e}"
    );
    let e = Args::try_parse_from(["xnat-emulator", "--image", "no-equals"]).unwrap_err();
    assert!(e.to_string().contains("is not REF=FILE"), "{e}");
}

#[test]
fn help_lists_the_command_api() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_xnat-emulator"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for endpoint in [
        "/xapi/commands/{id}/wrappers",
        "/xapi/commands/{cid}/wrappers/{wid}",
        "/xapi/command/{id}/visibility/",
        "/xapi/commands/available?project=P&xsiType=T",
        "/xapi/commands/available/site",
        "/xapi/wrappers/{wid}/config",
        "/xapi/projects/{p}/wrappers/{wid}/config",
        "/xapi/docker/images/save?image=X",
    ] {
        assert!(
            help.contains(endpoint),
            "{endpoint} missing from --help:\n{help}"
        );
    }
}
