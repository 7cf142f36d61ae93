//! The command model against the real corpus: label parsing, validation verdicts, the CLI.

use std::path::PathBuf;

use xnat_cmd::labels::{parse_label, LabelError};

use crate::support::cli::Transcript;
use crate::support::corpus_dir;

fn label_files() -> Vec<PathBuf> {
    let dir = corpus_dir().join("labels");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| {
            panic!(
                "corpus labels at {} unreadable ({e}); set XNAT_CMD_CORPUS",
                dir.display()
            )
        })
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".label.txt"))
        .collect();
    files.sort();
    files
}

#[test]
fn corpus_labels_parse_as_documented() {
    if crate::support::skip_without_corpus() {
        return;
    }
    let files = label_files();
    assert_eq!(files.len(), 9, "the corpus has 9 labels");
    for f in files {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&f).unwrap();
        let got = parse_label(&text);
        // The file name says what the label holds: `-Ncmd(s)`, `OBJECT-not-list`, `INVALID-json`.
        if name.contains("INVALID-json") {
            let e = got.unwrap_err();
            assert!(
                matches!(e, LabelError::InvalidJson { line: 1, .. }),
                "{name}: {e:?}"
            );
            assert!(e.to_string().contains("trailing comma"), "{name}: {e}");
        } else if name.contains("OBJECT-not-list") {
            let p = got.unwrap();
            assert_eq!(p.commands.len(), 1, "{name}");
            assert_eq!(p.warnings.len(), 1, "{name}");
        } else {
            let want = if name.contains("3cmds") {
                3
            } else if name.contains("2cmds") {
                2
            } else {
                1
            };
            let p = got.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(p.commands.len(), want, "{name}");
            assert!(p.warnings.is_empty(), "{name}: {:?}", p.warnings);
            for c in &p.commands {
                assert!(
                    c.get("name").and_then(|n| n.as_str()).is_some(),
                    "{name}: command without name"
                );
            }
        }
    }
}

#[test]
fn dollar_escapes_survive_in_the_decoded_label() {
    if crate::support::skip_without_corpus() {
        return;
    }
    let text = std::fs::read_to_string(
        corpus_dir().join("labels/NrgXnat__docker-images__xnat-populate-dollar-escapes.label.txt"),
    )
    .unwrap();
    let p = parse_label(&text).unwrap();
    let cl = p.commands[0]["command-line"].as_str().unwrap();
    assert!(
        cl.contains("-u $XNAT_USER -p $XNAT_PASS --url $XNAT_HOST"),
        "{cl}"
    );
}

/// One row of SOURCES.md: the file and its predicted `POST /xapi/commands` outcome per command.
#[derive(Debug)]
pub(crate) struct Row {
    pub(crate) file: String,
    pub(crate) outcome: Vec<Outcome>,
}

#[derive(Debug, PartialEq)]
pub(crate) enum Outcome {
    Created,
    Rejected { errors: usize, first: String },
    NotJson,
}

pub(crate) fn parse_sources() -> Vec<Row> {
    let text =
        std::fs::read_to_string(corpus_dir().join("SOURCES.md")).expect("SOURCES.md in the corpus");
    let mut rows = Vec::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split(" | ").collect();
        if cells.len() < 7 || !cells[0].starts_with("| `") || !cells[0].ends_with(".json`") {
            continue;
        }
        let file = cells[0]
            .trim_start_matches("| `")
            .trim_end_matches('`')
            .to_string();
        let outcome_text = cells[5];
        let outcome = if outcome_text.starts_with("201") {
            vec![Outcome::Created]
        } else if outcome_text.contains("not valid JSON") {
            vec![Outcome::NotJson]
        } else {
            outcome_text
                .split("400, ")
                .skip(1)
                .map(|seg| {
                    let (n, rest) = seg
                        .split_once(" error(s), first: \"")
                        .expect("400 outcome shape");
                    let rest = rest.split("\" [").next().unwrap();
                    let end = rest.rfind('"').expect("closing quote");
                    Outcome::Rejected {
                        errors: n.parse().expect("error count"),
                        first: rest[..end].to_string(),
                    }
                })
                .collect()
        };
        rows.push(Row { file, outcome });
    }
    rows
}

#[test]
fn every_corpus_file_gets_the_predicted_post_verdict() {
    if crate::support::skip_without_corpus() {
        return;
    }
    use xnat_cmd::command::normalize::normalize;
    use xnat_cmd::{validate, Form, Severity};

    let rows = parse_sources();
    assert_eq!(rows.len(), 42, "SOURCES.md lists 42 command files");
    for row in rows {
        let text = std::fs::read_to_string(corpus_dir().join(&row.file)).unwrap();
        let value: serde_json::Value = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(_) => {
                assert_eq!(
                    row.outcome,
                    vec![Outcome::NotJson],
                    "{}: parsed, but predicted not JSON",
                    row.file
                );
                continue;
            }
        };
        let commands = match value {
            serde_json::Value::Array(items) => items,
            other => vec![other],
        };
        assert_eq!(commands.len(), row.outcome.len(), "{}", row.file);
        for (cmd, want) in commands.iter().zip(&row.outcome) {
            let errors: Vec<String> = validate(cmd, Form::Create)
                .into_iter()
                .filter(|d| d.severity == Severity::Error)
                .map(|d| d.message)
                .collect();
            match want {
                Outcome::Created => {
                    assert_eq!(errors, Vec::<String>::new(), "{}", row.file);
                    // What the emulator stores is stable: re-posting it as an update changes nothing.
                    let stored = normalize(cmd, Form::Create).unwrap();
                    assert_eq!(
                        normalize(&stored, Form::Update).unwrap(),
                        stored,
                        "{}",
                        row.file
                    );
                }
                Outcome::Rejected { errors: n, first } => {
                    assert_eq!(errors.len(), *n, "{}: {errors:#?}", row.file);
                    assert!(
                        errors[0].starts_with(first.as_str()),
                        "{}: first error {:?}, want {first:?}",
                        row.file,
                        errors[0]
                    );
                }
                Outcome::NotJson => panic!("{}: predicted not JSON, but it parsed", row.file),
            }
        }
    }
}

#[test]
fn upstream_bad_command_yields_exactly_the_eight_upstream_errors() {
    if crate::support::skip_without_corpus() {
        return;
    }
    use xnat_cmd::{validate, Form, Severity};

    let text = std::fs::read_to_string(
        corpus_dir().join("NrgXnat__container-service__test-bad-command-INVALID-SEMANTICS.json"),
    )
    .unwrap();
    let cmd: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut got: Vec<String> = validate(&cmd, Form::Create)
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.message)
        .collect();
    let p = "Command \"hello-world1\" - ";
    let w = "wrapper \"bad-command\" - ";
    let note = "Note that command inputs with values provided by xnat inputs shouldn't be designated as select (they'll automatically render as a select if their xnat input resolves to more than one value).";
    // CommandEntityTest.testDerivedInputsValidation, verbatim (order-insensitive there).
    let mut want = vec![
        format!("{p}Command input \"some_bad_config\" is designated as type \"select-one\" but doesn't list select-values. {note}"),
        format!("{p}Command input \"some_bad_config2\" has select-values set, but is not a select type."),
        format!("{p}{w}derived input \"scan\" is designated as a \"multiple\" input, which means it cannot provide files for command mounts (consider mounting the parent element)."),
        format!("{p}{w}derived input \"scan\" is designated as a \"multiple\" input, whichmeans it must directly provide values for some command input."),
        format!("{p}{w}output handler \"output-handler\" has \"as-a-child-of\": \"scan\", but that input is set to allow multiple values."),
        format!("{p}{w}output handler \"output-handler2\" has \"as-a-child-of\": \"scan2\", but that input's value is set to \"id\", which will cause the upload to fail (a \"uri\" is required for upload)."),
        format!("{p}{w}external input \"session\" provides values for command input \"some_config\", which is a select type. {note}"),
        format!("{p}{w}derived input \"scan3\" provides values for command input \"some_mult_config\", which is a select type. {note}"),
    ];
    got.sort();
    want.sort();
    assert_eq!(got, want);
}

/// A CLI run as a transcript for snapshots, with the corpus and sandbox paths redacted.
fn run_cli(sb: &crate::support::Sandbox, args: &[&str]) -> Transcript {
    let out = sb.cmd().args(args).output().expect("run xnat-cmd");
    Transcript::of(&out)
        .sandbox(sb)
        .path(&corpus_dir(), "[CORPUS]")
}

fn corpus_file(name: &str) -> String {
    corpus_dir().join(name).display().to_string()
}

#[test]
fn cli_validate_valid_file() {
    if crate::support::skip_without_corpus() {
        return;
    }
    let sb = crate::support::Sandbox::new();
    let f = corpus_file("NrgXnat__docker-images__dicomtonrrd-rtstruct.json");
    crate::assert_cli_snapshot!(run_cli(&sb, &["validate", &f]));
}

#[test]
fn cli_validate_invalid_file() {
    if crate::support::skip_without_corpus() {
        return;
    }
    let sb = crate::support::Sandbox::new();
    let f = corpus_file("NrgXnat__container-service__test-bad-command-INVALID-SEMANTICS.json");
    crate::assert_cli_snapshot!(run_cli(&sb, &["validate", &f]));
}

#[test]
fn cli_validate_without_image_and_with_image_flag() {
    if crate::support::skip_without_corpus() {
        return;
    }
    let sb = crate::support::Sandbox::new();
    let f = corpus_file("NrgXnat__docker-images__rtlab.json");
    crate::assert_cli_snapshot!("file_without_image", run_cli(&sb, &["validate", &f]));
    crate::assert_cli_snapshot!(
        "file_with_image_flag",
        run_cli(&sb, &["validate", "--image", "xnat/rtlab", &f])
    );
}

#[test]
fn cli_validate_non_json_file() {
    if crate::support::skip_without_corpus() {
        return;
    }
    let sb = crate::support::Sandbox::new();
    let f = corpus_file("NrgXnat__docker-images__ecat-dump-INVALID.json");
    crate::assert_cli_snapshot!(run_cli(&sb, &["validate", &f]));
}

#[test]
fn cli_validate_missing_file() {
    let sb = crate::support::Sandbox::new();
    let missing = sb.path().join("missing.json").display().to_string();
    crate::assert_cli_snapshot!(run_cli(&sb, &["validate", &missing]));
}

#[test]
fn cli_validate_json_report() {
    if crate::support::skip_without_corpus() {
        return;
    }
    let sb = crate::support::Sandbox::new();
    let good = corpus_file("NrgXnat__docker-images__webapp-test.json");
    let list = corpus_file("NrgXnat__container-service__test-label-commands-LIST.json");
    let missing = sb.path().join("missing.json").display().to_string();
    let out = run_cli(&sb, &["validate", "--json", &good, &list, &missing]);
    crate::assert_cli_snapshot!(out);
}

#[test]
fn cli_validate_usage_error() {
    let sb = crate::support::Sandbox::new();
    let out = sb.cmd().args(["validate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("<FILE|SOURCE>"));
}

#[test]
fn cli_label_prints_the_compact_list_in_argument_order() {
    if crate::support::skip_without_corpus() {
        return;
    }
    let sb = crate::support::Sandbox::new();
    let a = corpus_file("NrgXnat__docker-images__webapp-test.json");
    let b = corpus_file("NrgXnat__container-service__test-label-commands-LIST.json");
    crate::assert_cli_snapshot!(run_cli(&sb, &["label", &a, &b]));
    // The printed label parses back into the files' commands, value-equal.
    let out = sb.cmd().args(["label", &a, &b]).output().unwrap();
    let label = xnat_cmd::labels::parse_label(&String::from_utf8(out.stdout).unwrap()).unwrap();
    let mut want =
        vec![
            serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(&a).unwrap())
                .unwrap(),
        ];
    want.extend(
        serde_json::from_str::<Vec<serde_json::Value>>(&std::fs::read_to_string(&b).unwrap())
            .unwrap(),
    );
    assert_eq!(label.commands, want);
}

#[test]
fn cli_label_dockerfile_line() {
    let sb = crate::support::Sandbox::new();
    let f = sb.path().join("cmd.json");
    std::fs::write(
        &f,
        r##"{"name": "esc", "image": "x/esc:1", "command-line": "run -u $XNAT_USER \"#IN#\" C:\\tmp ✓",
            "inputs": [{"name": "IN"}]}"##,
    )
    .unwrap();
    crate::assert_cli_snapshot!(run_cli(
        &sb,
        &["label", "--dockerfile", &f.display().to_string()]
    ));
}

#[test]
fn cli_label_of_an_invalid_file_writes_nothing() {
    if crate::support::skip_without_corpus() {
        return;
    }
    let sb = crate::support::Sandbox::new();
    let f = corpus_file("NrgXnat__docker-images__xnat-populate.json");
    let bad = corpus_file("NrgXnat__container-service__test-bad-command-INVALID-SEMANTICS.json");
    crate::assert_cli_snapshot!(run_cli(&sb, &["label", &f, &bad]));
}

/// An OCI layout in the sandbox with one image carrying `labels`, tagged `ref_name`.
fn oci_with_labels(sb: &crate::support::Sandbox, ref_name: &str, label: Option<&str>) -> String {
    use crate::support::images::{oci_layout_files, ref_name as annotation, ImageBuilder, Target};
    let mut b = ImageBuilder::new();
    if let Some(l) = label {
        b = b.label(xnat_cmd::LABEL_KEY, l);
    }
    let img = b.build();
    let dir = sb.path().join("layout");
    oci_layout_files(&[(annotation(ref_name), Target::Image(&img))])
        .write_dir(&dir)
        .unwrap();
    format!("oci:{}", dir.display())
}

const LABEL_OK: &str = r#"[{"name":"hello","command-line":"echo #WHO#","inputs":[{"name":"WHO"}],
  "xnat":[{"name":"hello-project","contexts":["xnat:projectData"],"external-inputs":[{"name":"project","type":"Project"}]}]}]"#;

#[test]
fn cli_validate_oci_source_injects_its_reference() {
    let sb = crate::support::Sandbox::new();
    let src = oci_with_labels(&sb, "registry.example.org/lab/hello:1.2", Some(LABEL_OK));
    crate::assert_cli_snapshot!(run_cli(&sb, &["validate", "--json", &src]));
}

#[test]
fn cli_validate_oci_source_without_reference_asks_for_image() {
    let sb = crate::support::Sandbox::new();
    let src = oci_with_labels(&sb, "v1", Some(LABEL_OK));
    crate::assert_cli_snapshot!("oci_without_reference", run_cli(&sb, &["validate", &src]));
    crate::assert_cli_snapshot!(
        "oci_with_image_flag",
        run_cli(&sb, &["validate", "--image", "lab/hello", &src])
    );
}

/// An `oci:DIR:TAG` made by buildah or `skopeo copy` records only the tag: the commands that
/// carry their own `image` are still checked; only the others ask for `--image`.
#[test]
fn cli_validate_tag_only_layout_checks_commands_with_their_own_image() {
    let sb = crate::support::Sandbox::new();
    let label = r#"[{"name":"own","image":"lab/own:2","command-line":"echo"},
      {"name":"bare","command-line":"echo"}]"#;
    let src = oci_with_labels(&sb, "v1", Some(label));
    let out = run_cli(&sb, &["validate", &src]).render();
    assert!(out.starts_with("exit: 1\n"), "{out}");
    assert!(out.contains("✓ own  (oci:"), "{out}");
    assert!(out.contains("✗ bare  (oci:"), "{out}");
    assert_eq!(out.matches("hint: pass --image REF").count(), 1, "{out}");
    assert!(
        out.contains("2 commands checked: 1 valid, 1 invalid"),
        "{out}"
    );
    // install still needs the reference of the image itself (credentials are checked first,
    // before any image is read, so they are given).
    let pw = sb.path().join("xnat-password");
    std::fs::write(&pw, "not-used\n").unwrap();
    let pw = pw.display().to_string();
    let install = [
        "install",
        &src,
        "--xnat",
        "http://127.0.0.1:9",
        "--user",
        "admin",
        "--password-file",
        &pw,
    ];
    let out = run_cli(&sb, &install).render();
    assert!(out.starts_with("exit: 1\n"), "{out}");
    assert!(
        out.contains("no image reference is recorded with this image\nhint: pass --image REF"),
        "{out}"
    );
}

#[test]
fn cli_validate_oci_source_with_broken_or_missing_label() {
    let sb = crate::support::Sandbox::new();
    let src = oci_with_labels(
        &sb,
        "registry.example.org/lab/hello:1.2",
        Some("[{\"name\": \"a\",}]"),
    );
    crate::assert_cli_snapshot!("oci_broken_label", run_cli(&sb, &["validate", &src]));
    let sb = crate::support::Sandbox::new();
    let src = oci_with_labels(&sb, "registry.example.org/lab/hello:1.2", None);
    crate::assert_cli_snapshot!("oci_missing_label", run_cli(&sb, &["validate", &src]));
}

/// Real GET exports in the corpus: what XNAT returned must be a fixed point of `normalize`
/// (apart from `visibility`, which pre-3.7 servers do not emit).
#[test]
fn real_get_exports_are_what_normalize_produces() {
    if crate::support::skip_without_corpus() {
        return;
    }
    use xnat_cmd::command::normalize::{canonical_for_compare, normalize};
    use xnat_cmd::Form;
    for name in [
        "emmaspeh__OXI_NIRFASTer_Demo__nirfaster-demo.json",
        "Australian-Imaging-Service__acemid-uploader__cr2metadata-extract.json",
    ] {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(corpus_file(name)).unwrap()).unwrap();
        let mut got = canonical_for_compare(&normalize(&v, Form::Update).unwrap());
        got.as_object_mut().unwrap().remove("visibility");
        assert_eq!(got, canonical_for_compare(&v), "{name}");
    }
}

#[test]
fn cli_validate_reads_a_json_file_without_the_json_suffix() {
    let sb = crate::support::Sandbox::new();
    let f = sb.path().join("command");
    std::fs::write(&f, r#"  {"name": "x", "image": "busybox"}"#).unwrap();
    let out = sb
        .cmd()
        .args(["validate", "--json", &f.display().to_string()])
        .output()
        .unwrap();
    let v = crate::support::success_json(&out);
    assert_eq!(v[0]["image"], "busybox:latest");
}
