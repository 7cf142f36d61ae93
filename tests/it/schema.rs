//! `xnat-cmd schema command|fleet` checked with a standard validator: Python's `jsonschema`
//! (PyPI, pinned) in the venv `scripts/test.sh` makes under `target/schema-venv`. The schemas
//! are valid 2020-12; every corpus command XNAT accepts passes the command schema and the
//! structural mistakes of the others are caught (exactly those a schema can see); the
//! project's own commands and fleet files pass; a `$schema` key is accepted without a warning
//! by `validate` and by the emulator.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use crate::model::{parse_sources, Outcome};
use crate::support::emulator::Emulator;
use crate::support::images::{write_docker_archive, Compress, ImageBuilder, Saved};
use crate::support::{corpus_dir, Sandbox};

/// Reads `{"schemas": {name: schema}, "cases": [[schema name, instance], ...]}` on stdin;
/// prints `{"invalid": {name: error or null}, "errors": [[[pointer, keyword], ...], ...]}`,
/// the 2020-12 verdicts, after checking that a draft-07 validator gives the same ones.
const CHECKER: &str = r#"
import json, sys
from jsonschema import Draft202012Validator, Draft7Validator
from jsonschema.exceptions import SchemaError
req = json.load(sys.stdin)
invalid = {}
for name, schema in req["schemas"].items():
    try:
        Draft202012Validator.check_schema(schema)
        invalid[name] = None
    except SchemaError as e:
        invalid[name] = str(e)
validators = {n: Draft202012Validator(s) for n, s in req["schemas"].items()}
errors = []
for name, instance in req["cases"]:
    found = sorted(("".join("/" + str(p) for p in e.absolute_path), e.validator)
                   for e in validators[name].iter_errors(instance))
    # Editors (VS Code's JSON and YAML support) implement draft-07: the schemas use nothing
    # whose verdict differs there.
    schema7 = dict(req["schemas"][name], **{"$schema": "http://json-schema.org/draft-07/schema#"})
    found7 = sorted(("".join("/" + str(p) for p in e.absolute_path), e.validator)
                    for e in Draft7Validator(schema7).iter_errors(instance))
    if found7 != found:
        sys.exit("draft-07 disagrees on %s: %s vs %s" % (name, found7, found))
    errors.append(found)
json.dump({"invalid": invalid, "errors": errors}, sys.stdout)
"#;

fn python() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/schema-venv/bin/python");
    assert!(
        p.is_file(),
        "{} is missing: run scripts/test.sh (it installs jsonschema into that venv)",
        p.display()
    );
    p
}

/// The two schemas as the CLI prints them.
fn schemas(sb: &Sandbox) -> Value {
    let mut out = serde_json::Map::new();
    for which in ["command", "fleet"] {
        let run = sb.cmd().args(["schema", which]).output().expect("run");
        assert_eq!(run.status.code(), Some(0), "schema {which}");
        let v: Value = serde_json::from_slice(&run.stdout).expect("the schema is JSON");
        out.insert(which.into(), v);
    }
    Value::Object(out)
}

/// The errors (pointer, keyword) of each `(schema, instance)` case, by the standard validator.
fn check(schemas: &Value, cases: &[(&str, Value)]) -> Vec<Vec<(String, String)>> {
    let req = json!({"schemas": schemas, "cases": cases});
    let mut child = Command::new(python())
        .args(["-c", CHECKER])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start python");
    let mut stdin = child.stdin.take().expect("stdin");
    std::io::Write::write_all(&mut stdin, req.to_string().as_bytes()).expect("write");
    drop(stdin);
    let out = child.wait_with_output().expect("python");
    assert!(
        out.status.success(),
        "the checker failed (scripts/test.sh installs jsonschema into target/schema-venv): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let res: Value = serde_json::from_slice(&out.stdout).expect("checker output");
    for (name, err) in res["invalid"].as_object().expect("invalid") {
        assert!(err.is_null(), "schema {name} is not valid 2020-12: {err}");
    }
    serde_json::from_value(res["errors"].clone()).expect("errors")
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(p, k)| (p.to_string(), k.to_string()))
        .collect()
}

#[test]
fn schemas_are_valid_2020_12_and_printed_the_same_every_time() {
    let sb = Sandbox::new();
    let first = schemas(&sb);
    assert_eq!(check(&first, &[]), Vec::<Vec<(String, String)>>::new());
    for which in ["command", "fleet"] {
        let s = &first[which];
        assert_eq!(s["$schema"], "https://json-schema.org/draft/2020-12/schema");
        assert_eq!(
            s["$id"],
            format!("https://xnat-cmd.invalid/schemas/{which}.json")
        );
        let a = sb.cmd().args(["schema", which]).output().unwrap().stdout;
        let b = sb.cmd().args(["schema", which]).output().unwrap().stdout;
        assert_eq!(a, b, "{which}: same bytes on every run");
        insta::assert_snapshot!(format!("schema_{which}"), String::from_utf8_lossy(&a));
    }
}

#[test]
fn an_unknown_schema_is_a_usage_error() {
    let sb = Sandbox::new();
    let out = sb.cmd().args(["schema", "wrapper"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}

/// What the command schema catches in the corpus files XNAT rejects: (file, errors). Every
/// other parsable file passes. Not caught (they need the whole command or the request):
/// a missing `image` (a label may omit it; the image read supplies it), references between
/// inputs, outputs and handlers, an untagged image (XNAT adds `:latest` on create).
const CAUGHT: &[(&str, &[(&str, &str)])] = &[
    // 4 errors, all input names with spaces: all 4 caught.
    (
        "MonashBI__xnat-nif-qc-analysis__qc-analysis.json",
        &[
            ("/inputs/0/name", "anyOf"),
            ("/inputs/1/name", "anyOf"),
            ("/inputs/2/name", "anyOf"),
            ("/inputs/3/name", "anyOf"),
        ],
    ),
    // 8 errors: the 4 about one object alone are caught (select-one without select-values,
    // select-values on a string input, a `multiple` derived input with a mount and without a
    // command input); the 4 about references are not.
    (
        "NrgXnat__container-service__test-bad-command-INVALID-SEMANTICS.json",
        &[
            ("/inputs/1", "required"),
            ("/inputs/2/select-values", "maxItems"),
            ("/xnat/0/derived-inputs/0", "required"),
            (
                "/xnat/0/derived-inputs/0/provides-files-for-command-mount",
                "not",
            ),
        ],
    ),
    // A list of commands where POST takes one object.
    (
        "NrgXnat__container-service__test-label-commands-LIST.json",
        &[("", "type")],
    ),
];

#[test]
fn corpus_commands_xnat_accepts_pass_and_structural_mistakes_are_caught() {
    if crate::support::skip_without_corpus() {
        return;
    }
    let sb = Sandbox::new();
    let schemas = schemas(&sb);
    let rows = parse_sources();
    let mut files = Vec::new();
    let mut cases = Vec::new();
    let mut accepted = 0;
    for row in &rows {
        let text = std::fs::read_to_string(corpus_dir().join(&row.file)).unwrap();
        let Ok(value) = serde_json::from_str::<Value>(&text) else {
            assert_eq!(row.outcome, vec![Outcome::NotJson], "{}", row.file);
            continue;
        };
        if row.outcome == vec![Outcome::Created] {
            accepted += 1;
        }
        files.push(row);
        cases.push(("command", value));
    }
    assert_eq!(accepted, 33, "accepted files in SOURCES.md");
    let found = check(&schemas, &cases);
    for (row, errors) in files.iter().zip(found) {
        let want = CAUGHT
            .iter()
            .find(|(f, _)| *f == row.file)
            .map(|(_, e)| pairs(e))
            .unwrap_or_default();
        if row.outcome == vec![Outcome::Created] {
            assert!(want.is_empty(), "{}: accepted, listed as caught", row.file);
        }
        assert_eq!(errors, want, "{}", row.file);
    }
}

/// A fleet file as JSON (the schema's instance), through the YAML reader serde_norway.
fn yaml(text: &str) -> Value {
    serde_norway::from_str(text).expect("YAML")
}

/// Fleet files and whether the fleet parser takes them; the schema must agree (`verify` has
/// its own table below).
const FLEETS: &[(&str, bool)] = &[
    ("images: [{image: ghcr.io/lab/tool:1.2}]", true),
    (
        "images:\n  - image: oci:/tmp/x:1\n    platform: linux/arm64/v8\n    commands: [a, b]\n    pin-digest: true\n    enable: {site: true, projects: all}\nprune: [ghcr.io/lab/*]\n",
        true,
    ),
    (
        "images: [{image: a/b:1, sites: [prod], enable: {projects: [P1, 2]}}]\nsites: {prod: {url: https://x.example.org/xnat, user-env: U, password-env: P}}\n",
        true,
    ),
    ("images: [{image: a/b:1, platform: }]", true),
    ("images: []", false),
    ("prune: [a/*]", false),
    ("images: [{image: a/b:1, pin_digest: true}]", false),
    ("images: [{image: a/b:1, pin-digest: 'yes'}]", false),
    ("images: [{image: a/b:1, commands: []}]", false),
    ("images: [{image: a/b:1, commands: [x, x]}]", false),
    ("images: [{image: a/b:1, enable: {projects: some}}]", false),
    ("images: [{image: a/b:1, platform: linux}]", false),
    ("images: [{image: '  '}]", false),
    ("images: [{image: a/b:1}]\nsites: {prod: {url: ftp://x}}", false),
    ("images: [{image: a/b:1}]\nsites: {prod: {user-env: U}}", false),
    ("images: [{image: a/b:1}]\nsites: {}", false),
    // `enable.wrappers` and `projects: []` (no project).
    ("images: [{image: a/b:1, enable: {projects: []}}]", true),
    (
        "images: [{image: a/b:1, enable: {site: true, projects: [P1], wrappers: {a-w: {site: false, projects: []}, b-w: {projects: all}, c-w: {}}}}]",
        true,
    ),
    ("images: [{image: a/b:1, enable: {wrappers: {}}}]", false),
    ("images: [{image: a/b:1, enable: {wrappers: [a-w]}}]", false),
    ("images: [{image: a/b:1, enable: {wrappers: {a-w: true}}}]", false),
    ("images: [{image: a/b:1, enable: {wrappers: {a-w: {project: [P1]}}}}]", false),
    ("images: [{image: a/b:1, enable: {wrappers: {a-w: {site: 'no'}}}}]", false),
    ("images: [{image: a/b:1, enable: {wrappers: {a-w: {projects: [P1, P1]}}}}]", false),
    // `command-file` entries: no source-only keys (an explicit null is no key).
    (
        "images: [{command-file: c.json, image: a/b:1, commands: [x], enable: {site: true}}]",
        true,
    ),
    ("images: [{command-file: c.json, image: a/b:1, platform: }]", true),
    ("images: [{command-file: c.json, image: a/b:1, platform: linux/amd64}]", false),
    ("images: [{command-file: c.json, image: a/b:1, pin-digest: false}]", false),
    ("images: [{command-file: c.json, image: a/b:1, verify: {key: k.pub}}]", false),
    ("images: [{command-file: c.json}]", false),
];

#[test]
fn fleet_files_pass_as_the_parser_takes_them_and_verify_is_described() {
    let sb = Sandbox::new();
    let schemas = schemas(&sb);
    let mut cases: Vec<(&str, Value)> = FLEETS.iter().map(|(t, _)| ("fleet", yaml(t))).collect();
    // The project's own fleet files: the Kubernetes ConfigMap's and docs/fleet-and-operations.md's example.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let configmap = yaml(
        &std::fs::read_to_string(root.join("deploy/kubernetes/base/configmap-fleet.yaml")).unwrap(),
    );
    let own = [
        configmap["data"]["fleet.yaml"]
            .as_str()
            .expect("fleet.yaml")
            .to_string(),
        docs_fleet(&std::fs::read_to_string(root.join("docs/fleet-and-operations.md")).unwrap()),
    ];
    for text in &own {
        xnat_cmd::fleet::parse("own", text).expect("the project's fleet files parse");
        cases.push(("fleet", yaml(text)));
    }
    // `verify`: a key, a list of keys, at the top and per image; nothing else.
    let verify = [
        ("verify: {key: cosign.pub}\nimages: [{image: a/b:1}]", true),
        (
            "images: [{image: a/b:1, verify: {key: [a.pub, b.pub]}}]",
            true,
        ),
        ("images: [{image: a/b:1, verify: {key: []}}]", false),
        ("images: [{image: a/b:1, verify: {keys: a.pub}}]", false),
        (
            "images: [{image: a/b:1, enable: {verify: {key: a.pub}}}]",
            false,
        ),
        (
            "images: [{image: a/b:1}]\nsites: {p: {url: 'https://x', verify: {key: a.pub}}}",
            false,
        ),
    ];
    cases.extend(verify.iter().map(|(t, _)| ("fleet", yaml(t))));
    let found = check(&schemas, &cases);
    for ((text, parses), errors) in FLEETS.iter().zip(&found) {
        assert_eq!(
            xnat_cmd::fleet::parse("f", text).is_ok(),
            *parses,
            "parser on {text:?}"
        );
        assert_eq!(errors.is_empty(), *parses, "schema on {text:?}: {errors:?}");
    }
    for (text, errors) in own.iter().zip(&found[FLEETS.len()..]) {
        assert_eq!(errors, &Vec::new(), "{text}");
    }
    for ((text, ok), errors) in verify.iter().zip(&found[FLEETS.len() + own.len()..]) {
        assert_eq!(errors.is_empty(), *ok, "schema on {text:?}: {errors:?}");
        assert_eq!(
            xnat_cmd::fleet::parse("f", text).is_ok(),
            *ok,
            "parser on {text:?}"
        );
    }
}

/// The first ```yaml block of the fleet section of docs/fleet-and-operations.md.
fn docs_fleet(doc: &str) -> String {
    let section = doc
        .split("## Fleets: `sync`")
        .nth(1)
        .expect("docs/fleet-and-operations.md has the fleet section");
    let block = section
        .split("```yaml\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a yaml block");
    block.to_string()
}

#[test]
fn the_projects_own_commands_pass_the_command_schema() {
    let sb = Sandbox::new();
    let schemas = schemas(&sb);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/hello-xnat");
    let files = ["command.json", "setup-command.json"];
    let cases: Vec<(&str, Value)> = files
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(dir.join(f)).unwrap();
            ("command", serde_json::from_str(&text).unwrap())
        })
        .collect();
    for (f, errors) in files.iter().zip(check(&schemas, &cases)) {
        assert_eq!(errors, Vec::new(), "{f}");
    }
}

fn with_schema_key() -> Value {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/hello-xnat");
    let mut cmd: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("command.json")).unwrap()).unwrap();
    cmd["$schema"] = json!("./command.schema.json");
    cmd
}

#[test]
fn a_schema_key_passes_validate_without_a_warning() {
    let sb = Sandbox::new();
    let file = sb.path().join("command.json");
    std::fs::write(&file, with_schema_key().to_string()).unwrap();
    let out = sb
        .cmd()
        .args(["validate", "--json", "--image", "xnat/hello:1.0"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report[0]["valid"], true);
    assert_eq!(report[0]["errors"], json!([]));
    assert_eq!(report[0]["warnings"], json!([]));
}

#[test]
fn a_schema_key_is_installed_by_the_emulator_and_dropped_as_xnat_drops_it() {
    let sb = Sandbox::new();
    let emu = Emulator::start(&[]);
    let img = ImageBuilder::new()
        .label("org.nrg.commands", &json!([with_schema_key()]).to_string())
        .build();
    let archive = sb.path().join("hello.tar");
    write_docker_archive(
        &archive,
        &[Saved::new(&img, &["xnat/hello:1.0"])],
        Compress::None,
    )
    .expect("write archive");
    let out = emu
        .xnat_cmd(&sb)
        .args(["install", &format!("docker-archive:{}", archive.display())])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("$schema"), "{stderr}");
    let stored = emu.commands();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["name"], "hello-xnat");
    assert!(stored[0].get("$schema").is_none(), "{}", stored[0]);
}

/// A valid docker command with one object of every level.
fn base() -> Value {
    json!({"name": "c", "image": "x:1", "command-line": "run #in#",
        "mounts": [{"name": "out", "path": "/out", "writable": true}],
        "inputs": [{"name": "in"}],
        "outputs": [{"name": "o", "mount": "out"}],
        "xnat": [{"name": "w", "contexts": ["site"],
            "external-inputs": [{"name": "p", "type": "Project"}],
            "derived-inputs": [{"name": "d", "derived-from-wrapper-input": "p"}],
            "output-handlers": [{"name": "h", "accepts-command-output": "o", "as-a-child-of": "p", "label": "L"}]}]})
}

/// Changes of one object (pointer, key, value; null removes the key) on which the schema and
/// the validator must give the same verdict: the coercions, the closed sets and the rules the
/// schema restates.
fn one_object_cases() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        ("/mounts/0", "writable", json!("TRUE")),
        ("/mounts/0", "writable", json!("yes")),
        ("/mounts/0", "writable", json!(1)),
        ("/mounts/0", "writable", json!(2)),
        ("/mounts/0", "writable", json!("")),
        ("/mounts/0", "path", json!(" ")),
        ("/mounts/0", "path", json!([])),
        ("", "reserve-memory", json!("8000")),
        ("", "reserve-memory", json!(" 8000 ")),
        ("", "reserve-memory", json!("8k")),
        ("", "limit-cpu", json!("0.5")),
        ("", "limit-cpu", json!({})),
        ("", "version", json!(1.5)),
        ("", "version", json!({"v": 1})),
        ("", "name", json!(7)),
        ("", "name", json!(" ")),
        ("", "visibility", json!("Public")),
        ("", "visibility", json!(null)),
        ("", "type", json!("Docker")),
        ("", "ulimits", json!({"nofile": "1024"})),
        ("", "ulimits", json!({"nofile": "1024:2048"})),
        ("", "ulimits", json!({"nofile": "1:2:3"})),
        ("", "ulimits", json!({"nofile": "1:2:"})),
        ("", "ulimits", json!({"nofile": ""})),
        ("", "ulimits", json!({"nofile": 5})),
        ("", "ulimits", json!({"nofile": null})),
        ("", "environment-variables", json!({"A": 1})),
        ("", "environment-variables", json!({"A": null})),
        (
            "",
            "secrets",
            json!([{"source": {"type": "system-property", "identifier": "p"}, "destination": {"type": "environment-variable", "identifier": "S"}}]),
        ),
        (
            "",
            "secrets",
            json!([{"destination": {"type": "environment-variable", "identifier": "XNAT_PASS"}}]),
        ),
        ("", "secrets", json!([{"source": {"type": "vault"}}])),
        ("/inputs/0", "name", json!("a b")),
        ("/inputs/0", "name", json!(null)),
        ("/inputs/0", "type", json!("select-one")),
        ("/inputs/0", "type", json!("Select-One")),
        ("/inputs/0", "select-values", json!(["a"])),
        ("/inputs/0", "select-values", json!(["a", null])),
        ("/inputs/0", "multiple-delimiter", json!("comma")),
        ("/inputs/0", "multiple-delimiter", json!("tab")),
        ("/inputs/0", "required", json!("false")),
        ("/outputs/0", "mount", json!("")),
        ("/xnat/0", "name", json!(null)),
        ("/xnat/0", "contexts", json!(["site", 3])),
        ("/xnat/0", "contexts", json!("site")),
        ("/xnat/0/external-inputs/0", "type", json!("project")),
        (
            "/xnat/0/external-inputs/0",
            "via-setup-command",
            json!("a:1:b"),
        ),
        ("/xnat/0/external-inputs/0", "via-setup-command", json!(" ")),
        ("/xnat/0/derived-inputs/0", "multiple", json!("true")),
        (
            "/xnat/0/derived-inputs/0",
            "derived-from-wrapper-input",
            json!(" "),
        ),
        ("/xnat/0/output-handlers/0", "label", json!(null)),
        ("/xnat/0/output-handlers/0", "type", json!("Scan")),
        ("/xnat/0/output-handlers/0", "type", json!("resource")),
        ("/xnat/0/output-handlers/0", "name", json!("h!")),
        ("/xnat/0/output-handlers/0", "tags", json!([1, true])),
    ]
}

#[test]
fn schema_and_validator_agree_on_what_one_object_says() {
    use xnat_cmd::{validate, Form, Severity};

    let sb = Sandbox::new();
    let schemas = schemas(&sb);
    let mut cases = Vec::new();
    let mut labels = Vec::new();
    for (pointer, key, value) in one_object_cases() {
        let mut cmd = base();
        let obj = cmd
            .pointer_mut(pointer)
            .and_then(Value::as_object_mut)
            .expect("pointer into base()");
        if value.is_null() && key != "visibility" {
            obj.remove(key);
        } else {
            obj.insert(key.into(), value.clone());
        }
        labels.push(format!("{pointer}/{key} = {value}"));
        cases.push(("command", cmd));
    }
    // A setup command declaring mounts, and one with the ulimits a docker command may not have.
    for extra in [
        json!({"name": "s", "image": "x:1", "type": "docker-setup", "mounts": [{"name": "m", "path": "/m"}]}),
        json!({"name": "s", "image": "x:1", "type": "docker-setup", "ulimits": {"a": "1:2:3"}}),
    ] {
        labels.push(extra.to_string());
        cases.push(("command", extra));
    }
    let found = check(&schemas, &cases);
    let mut disagree = Vec::new();
    let mut rejected = 0;
    for ((label, (_, cmd)), schema_errors) in labels.iter().zip(&cases).zip(&found) {
        let validator_errors: Vec<String> = validate(cmd, Form::Create)
            .into_iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| d.message)
            .collect();
        rejected += usize::from(!schema_errors.is_empty());
        if validator_errors.is_empty() != schema_errors.is_empty() {
            disagree.push(format!(
                "{label}: validator {validator_errors:?}, schema {schema_errors:?}"
            ));
        }
    }
    assert_eq!(disagree, Vec::<String>::new());
    // Both verdicts are exercised: the table holds changes XNAT takes and ones it refuses.
    assert_eq!((rejected, cases.len()), (33, 56), "rejected of all cases");
}
