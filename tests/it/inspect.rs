//! `xnat-cmd inspect` end to end, and the author's round trip: `label` → a real image built by
//! the fixture code → `inspect` gives back value-equal commands.

use std::path::Path;

use serde_json::{json, Value};

use crate::support::images::{BuiltIndex, ImageBuilder, OciLayout};
use crate::support::{corpus_dir, Sandbox};

fn layout_with(dir: &Path, tag: &str, label: Option<&str>) -> String {
    let mut b = ImageBuilder::new();
    if let Some(l) = label {
        b = b.label("org.nrg.commands", l);
    }
    let img = b.label("org.example.other", "1").build();
    OciLayout::new(dir).add(tag, &img);
    format!("oci:{}:{tag}", dir.display())
}

fn run(sb: &Sandbox, args: &[&str]) -> (i32, String, String) {
    let out = sb.cmd().args(args).output().expect("run xnat-cmd");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const CORPUS_FILES: [&str; 4] = [
    "NrgXnat__docker-images__debug.json",
    "NrgXnat__docker-images__xnat-populate.json",
    "kelseym__mri_reface__mri-reface.json",
    "NrgXnat__docker-images__dcm2niix.json",
];

fn corpus_values() -> Vec<Value> {
    CORPUS_FILES
        .iter()
        .map(|f| {
            let p = corpus_dir().join(f);
            let text = std::fs::read_to_string(&p)
                .unwrap_or_else(|e| panic!("{}: {e} (set XNAT_CMD_CORPUS)", p.display()));
            serde_json::from_str(&text).unwrap()
        })
        .collect()
}

#[test]
fn label_output_reads_back_value_equal_through_inspect() {
    if crate::support::skip_without_corpus() {
        return;
    }
    let sb = Sandbox::new();
    let files: Vec<String> = CORPUS_FILES
        .iter()
        .map(|f| corpus_dir().join(f).display().to_string())
        .collect();
    let mut args = vec!["label"];
    args.extend(files.iter().map(String::as_str));
    let (code, label, stderr) = run(&sb, &args);
    assert_eq!(code, 0, "{stderr}");
    let label = label.trim_end_matches('\n');

    let src = layout_with(&sb.path().join("img"), "xnat/roundtrip:1.0", Some(label));
    let (code, stdout, stderr) = run(&sb, &["inspect", "--json", &src]);
    assert_eq!(code, 0, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["commands"], Value::Array(corpus_values()));
    assert_eq!(report["image"], "xnat/roundtrip:1.0");
    assert_eq!(
        report["platform"],
        json!({"os": "linux", "architecture": "amd64"})
    );
    assert!(report["config_digest"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));
    assert!(report["manifest_digest"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));
}

/// Docker's (BuildKit's) reading of a double-quoted string: `\\`, `\"`, `\$` unescape, any
/// other backslash stays.
fn buildkit_unquote(s: &str) -> String {
    let mut out = String::new();
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.peek() {
                Some('\\') | Some('"') | Some('$') => out.push(it.next().unwrap()),
                _ => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn dockerfile_line_gives_docker_the_same_label() {
    let sb = Sandbox::new();
    // Backslashes, quotes and $VARS: what NRG's command2label.py gets wrong.
    let cmd = json!({
        "name": "esc", "image": "x/esc:1", "command-line": "sh -c \"echo $XNAT_USER \\\\ #IN#\"",
        "inputs": [{"name": "IN", "default-value": "a\\b \"q\" é ✓"}]
    });
    let f = sb.path().join("esc.json");
    std::fs::write(&f, cmd.to_string()).unwrap();
    let (code, plain, _) = run(&sb, &["label", f.to_str().unwrap()]);
    assert_eq!(code, 0);
    let (code, line, _) = run(&sb, &["label", "--dockerfile", f.to_str().unwrap()]);
    assert_eq!(code, 0);
    let quoted = line
        .trim_end()
        .strip_prefix("LABEL org.nrg.commands=\"")
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or_else(|| panic!("not a LABEL line: {line}"));
    let value = buildkit_unquote(quoted);
    assert_eq!(value, plain.trim_end());
    // And that value, in an image, is the command again.
    let src = layout_with(&sb.path().join("img"), "x/esc:1", Some(&value));
    let (code, stdout, stderr) = run(&sb, &["inspect", "--json", &src]);
    assert_eq!(code, 0, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["commands"], json!([cmd]));
}

#[test]
fn table_shows_commands_wrappers_contexts_and_own_image() {
    if crate::support::skip_without_corpus() {
        return;
    }
    let sb = Sandbox::new();
    let label = Value::Array(corpus_values()).to_string();
    let src = layout_with(&sb.path().join("img"), "xnat/t:1", Some(&label));
    let (code, stdout, stderr) = run(&sb, &["inspect", &src]);
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].contains("(xnat/t:1, linux/amd64, config sha256:"),
        "{stdout}"
    );
    assert!(lines[1]
        .split_whitespace()
        .collect::<Vec<_>>()
        .starts_with(&["COMMAND", "VERSION", "TYPE", "IMAGE"]));
    let debug = lines
        .iter()
        .find(|l| l.trim_start().starts_with("debug "))
        .expect("debug row");
    assert!(debug.contains("own"), "{debug}");
    assert!(
        debug.contains("debug-project [xnat:projectData]"),
        "{debug}"
    );
    let populate = lines
        .iter()
        .find(|l| l.trim_start().starts_with("xnat_populate"))
        .expect("populate row");
    assert!(
        populate.split_whitespace().nth(3) == Some("-"),
        "no own image: {populate}"
    );
}

#[test]
fn several_sources_give_an_array_in_argument_order() {
    let sb = Sandbox::new();
    let a = layout_with(&sb.path().join("a"), "x/a:1", Some(r#"[{"name":"a"}]"#));
    let b = layout_with(&sb.path().join("b"), "x/b:1", Some(r#"{"name":"b"}"#));
    let (code, stdout, stderr) = run(&sb, &["inspect", "--json", &b, &a]);
    assert_eq!(code, 0, "{stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v[0]["commands"], json!([{"name": "b"}]));
    assert_eq!(v[1]["commands"], json!([{"name": "a"}]));
    // The lone object is accepted, with a warning that names XNAT's own behaviour.
    assert!(stderr.contains("warning:"), "{stderr}");
}

#[test]
fn all_platforms_says_when_labels_differ() {
    let sb = Sandbox::new();
    let amd = ImageBuilder::new()
        .label("org.nrg.commands", r#"[{"name":"amd"}]"#)
        .build();
    let arm = ImageBuilder::new()
        .platform("linux/arm64/v8")
        .label("org.nrg.commands", r#"[{"name":"arm"}]"#)
        .build();
    let dir = sb.path().join("multi");
    OciLayout::new(&dir).add_index("x/m:1", &BuiltIndex::with_attestation(vec![amd, arm]));
    let src = format!("oci:{}:x/m:1", dir.display());

    let (code, stdout, _) = run(&sb, &["inspect", "--json", &src]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        v["commands"],
        json!([{"name": "amd"}]),
        "linux/amd64 by default"
    );

    let (code, stdout, _) = run(
        &sb,
        &["inspect", "--json", "--platform", "linux/arm64", &src],
    );
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["commands"], json!([{"name": "arm"}]));

    let (code, stdout, stderr) = run(&sb, &["inspect", "--json", "--all-platforms", &src]);
    assert_eq!(code, 0, "{stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["labels_differ"], true);
    assert_eq!(
        v["platforms"].as_array().unwrap().len(),
        2,
        "the attestation entry is skipped"
    );
    assert!(stderr.contains("differs between platforms"), "{stderr}");

    let (code, _, stderr) = run(&sb, &["inspect", "--platform", "linux/s390x", &src]);
    assert_eq!(code, 1);
    assert!(stderr.contains("linux/s390x"), "{stderr}");
    assert!(
        stderr.contains("linux/amd64") && stderr.contains("linux/arm64/v8"),
        "lists what is there: {stderr}"
    );
}

#[test]
fn bad_inputs_get_one_clear_line_and_the_right_exit_code() {
    let sb = Sandbox::new();
    let not_tar = sb.path().join("not.tar");
    std::fs::write(
        &not_tar,
        b"this is not a tar file at all, just text\n".repeat(40),
    )
    .unwrap();
    let no_label = layout_with(&sb.path().join("nolabel"), "x/n:1", None);
    let bad_json = layout_with(
        &sb.path().join("bad"),
        "x/b:1",
        Some("[{\"name\": \"x\",\n  }]"),
    );
    let missing = format!("oci-archive:{}", sb.path().join("missing.tar").display());
    let not_tar_src = format!("oci-archive:{}", not_tar.display());
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (vec!["inspect", "dir:/tmp/x"], 2, "unknown transport `dir`"),
        (
            vec!["inspect", "--platform", "linux", "oci:/x"],
            2,
            "invalid platform `linux`",
        ),
        (vec!["inspect", &missing], 1, "missing.tar"),
        (vec!["inspect", &not_tar_src], 1, "not.tar"),
        (vec!["inspect", &no_label], 1, "org.nrg.commands"),
        (vec!["inspect", &bad_json], 1, "line 2, column 3"),
    ];
    for (args, want_code, want) in cases {
        let (code, stdout, stderr) = run(&sb, &args);
        assert_eq!(code, want_code, "{args:?}: {stderr}");
        assert!(
            stdout.is_empty(),
            "{args:?}: nothing on stdout, got {stdout}"
        );
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
        assert!(stderr.contains(want), "{args:?}: want {want:?} in {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn the_bundled_example_image_rebuilds_byte_for_byte_from_its_command_files() {
    let sb = Sandbox::new();
    let ex = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/hello-xnat");
    let (code, label, stderr) = run(
        &sb,
        &[
            "label",
            ex.join("command.json").to_str().unwrap(),
            ex.join("setup-command.json").to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let label_file = sb.path().join("label.json");
    std::fs::write(&label_file, label).unwrap();
    let out_tar = sb.path().join("image.oci.tar");
    let status = std::process::Command::new("python3")
        .arg(ex.join("make-image.py"))
        .arg(&label_file)
        .arg(&out_tar)
        .status()
        .expect("python3 (the example's image builder) must be installed");
    assert!(status.success());
    assert!(
        std::fs::read(&out_tar).unwrap() == std::fs::read(ex.join("image.oci.tar")).unwrap(),
        "examples/hello-xnat/image.oci.tar is stale: rebuild it as docs/development.md says"
    );
}
