//! Command JSON as XNAT's Jackson mapper reads it, through the CLI: a command file and image
//! labels (`oci-archive:`, `docker-archive:`) written with single quotes and `#` comments are
//! validated and inspected as XNAT would read them; `label` still prints strict JSON.

use std::process::Output;

use serde_json::{json, Value};

use crate::support::images::{
    write_docker_archive, write_oci_archive, Compress, ImageBuilder, OciLayout, Saved,
};
use crate::support::Sandbox;

/// A command as an image author might write it by hand: XNAT installs it as it is.
const LENIENT: &str = "# hello, written by hand\n\
[{'name': 'hello', 'image': 'xnat/hello:1', # the image XNAT runs\n\
  'command-line': 'echo \\'hi\\' \"#WHO#\"',\n\
  'inputs': [{'name': 'WHO', 'replacement-key': '#WHO#'}],\n\
  'xnat': [{'name': 'hello-project', 'contexts': ['xnat:projectData'],\n\
            'external-inputs': [{'name': 'project', 'type': 'Project'}]}]}]\n";

fn expected() -> Value {
    json!([{"name": "hello", "image": "xnat/hello:1",
            "command-line": "echo 'hi' \"#WHO#\"",
            "inputs": [{"name": "WHO", "replacement-key": "#WHO#"}],
            "xnat": [{"name": "hello-project", "contexts": ["xnat:projectData"],
                      "external-inputs": [{"name": "project", "type": "Project"}]}]}])
}

fn run(sb: &Sandbox, args: &[&str]) -> Output {
    sb.cmd().args(args).output().expect("run xnat-cmd")
}

fn ok_stdout(out: &Output, what: &str) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{what}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    stdout
}

#[test]
fn validate_and_label_read_a_single_quoted_commented_file() {
    let sb = Sandbox::new();
    let file = sb.path().join("hello.json");
    std::fs::write(&file, LENIENT).unwrap();
    let file = file.display().to_string();

    let out = ok_stdout(&run(&sb, &["validate", &file]), "validate");
    assert!(out.contains("✓ hello"), "{out}");

    // Without the `.json` suffix, a file that starts with a `#` comment is still a command file.
    let bare = sb.path().join("hello-command");
    std::fs::write(&bare, LENIENT).unwrap();
    let out = ok_stdout(
        &run(&sb, &["validate", &bare.display().to_string()]),
        "bare",
    );
    assert!(out.contains("✓ hello"), "{out}");

    // `label` prints strict JSON: serde_json (which takes no quotes or comments) reads it back.
    let out = ok_stdout(&run(&sb, &["label", &file]), "label");
    let strict: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(strict, expected());

    // Text after the value: XNAT never reads it, so the file is valid, with a warning.
    std::fs::write(sb.path().join("hello.json"), format!("{LENIENT}]")).unwrap();
    let out = run(&sb, &["validate", &file]);
    let stdout = ok_stdout(&out, "validate with trailing text");
    assert!(stdout.contains("✓ hello"), "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("hello.json: the command file has more text after its JSON value, from line 7, column 1"),
        "{stderr}"
    );
}

#[test]
fn near_miss_file_is_refused_with_line_and_column() {
    let sb = Sandbox::new();
    let file = sb.path().join("bad.json");
    // `//` comments are not among the features XNAT enables.
    std::fs::write(&file, "[{'name': 'a', // comment\n 'command-line': 'x'}]").unwrap();
    let out = run(&sb, &["validate", &file.display().to_string()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("not valid JSON at line 1, column 16: Unexpected character ('/' (code 47)): maybe a (non-standard) comment?"),
        "{stderr}"
    );
}

#[test]
fn inspect_and_validate_archives_whose_label_uses_quotes_and_comments() {
    let sb = Sandbox::new();
    let img = ImageBuilder::new()
        .label(xnat_cmd::LABEL_KEY, LENIENT)
        .build();
    let mut layout = OciLayout::new(sb.path().join("layout"));
    layout.add("xnat/hello:1", &img);
    let oci = sb.path().join("hello-oci.tar");
    write_oci_archive(&layout, &oci, Compress::None).unwrap();
    let docker = sb.path().join("hello-docker.tar");
    write_docker_archive(
        &docker,
        &[Saved::new(&img, &["xnat/hello:1"])],
        Compress::None,
    )
    .unwrap();
    for src in [
        format!("oci-archive:{}:xnat/hello:1", oci.display()),
        format!("docker-archive:{}", docker.display()),
    ] {
        let out = ok_stdout(&run(&sb, &["inspect", "--json", &src]), &src);
        let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{src}: {e}: {out}"));
        assert_eq!(v["commands"], expected(), "{src}");
        let out = ok_stdout(&run(&sb, &["validate", &src]), &src);
        assert!(out.contains("✓ hello"), "{src}: {out}");
    }
}
