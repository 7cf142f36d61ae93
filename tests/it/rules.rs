//! XNAT's validation rules that, before this file, only the shared corpus exercised (its
//! upstream `test-bad-command` and real commands): each one here from a fixture built in
//! code, so a clone with no corpus beside it still checks every rule. One row per rule: a
//! valid command with one piece broken, and the exact diagnostic (pointer and message) XNAT's
//! rule gives for it. The rest of the rules are in `src/command/validate_tests.rs`.

use serde_json::{json, Value};
use xnat_cmd::{validate, Form, Severity};

const C: &str = "Command \"cmd\" - ";
const W: &str = "Command \"cmd\" - wrapper \"w\" - ";
const NOTE: &str = "Note that command inputs with values provided by xnat inputs shouldn't be designated as select (they'll automatically render as a select if their xnat input resolves to more than one value).";

/// A valid docker command to break one piece at a time (the same shape as the unit tests').
fn base() -> Value {
    json!({
        "name": "cmd", "image": "busybox:1", "command-line": "run #in# #flag# #sel#",
        "mounts": [{"name": "out", "writable": true, "path": "/out"}],
        "inputs": [{"name": "in"}, {"name": "flag", "type": "boolean"},
                   {"name": "sel", "type": "select-one", "select-values": ["a", "b"]}],
        "outputs": [{"name": "o", "mount": "out"}],
        "xnat": [{"name": "w", "contexts": ["xnat:projectData"],
                  "external-inputs": [{"name": "project", "type": "Project", "provides-value-for-command-input": "in"}],
                  "derived-inputs": [{"name": "label", "derived-from-wrapper-input": "project", "derived-from-xnat-object-property": "label", "provides-value-for-command-input": "flag"}],
                  "output-handlers": [{"name": "h", "accepts-command-output": "o", "as-a-child-of": "project", "label": "OUT"}]}]
    })
}

/// `base()` with the value at each pointer replaced (or added when its parent is an object);
/// `null` removes an object member.
fn with(changes: &[(&str, Value)]) -> Value {
    let mut v = base();
    for (pointer, new) in changes {
        let (parent, key) = pointer.rsplit_once('/').expect("a pointer below the root");
        let slot = v
            .pointer_mut(parent)
            .unwrap_or_else(|| panic!("no parent for {pointer}"));
        match slot {
            Value::Object(o) if new.is_null() => {
                o.remove(key);
            }
            Value::Object(o) => {
                o.insert(key.to_string(), new.clone());
            }
            Value::Array(a) => {
                let i: usize = key.parse().expect("an array index");
                a[i] = new.clone();
            }
            other => panic!("{pointer}: parent is {other}"),
        }
    }
    v
}

/// The errors `validate` reports, as (pointer, message).
fn errors(cmd: &Value) -> Vec<(String, String)> {
    validate(cmd, Form::Create)
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| (d.pointer, d.message))
        .collect()
}

#[test]
fn the_base_command_is_valid() {
    assert_eq!(errors(&base()), vec![]);
}

#[test]
fn every_rule_the_corpus_used_to_cover_has_a_fixture() {
    let ext = "/xnat/0/external-inputs/0";
    let der = "/xnat/0/derived-inputs/0";
    let hdl = "/xnat/0/output-handlers/0";
    let cases: Vec<(&str, Value, &str, String)> = vec![
        (
            "a command output without a name is a 500 in XNAT, not a validation answer",
            with(&[("/outputs/0", json!({"mount": "out"}))]),
            "/outputs/0",
            "command output 0 has no name: XNAT fails with a 500 (NullPointerException) instead of validating".into(),
        ),
        (
            "an output handler without a name likewise",
            with(&[(hdl, json!({"accepts-command-output": "o", "as-a-child-of": "project", "label": "OUT"}))]),
            hdl,
            "output handler 0 of wrapper 0 has no name: XNAT fails with a 500 (NullPointerException) instead of validating".into(),
        ),
        (
            "a blank output name",
            with(&[("/outputs/0/name", json!(" "))]),
            "/outputs/0",
            format!("{C}Output name cannot be blank."),
        ),
        (
            "an external input feeding a select input",
            with(&[(&format!("{ext}/provides-value-for-command-input"), json!("sel"))]),
            ext,
            format!("{W}external input \"project\" provides values for command input \"sel\", which is a select type. {NOTE}"),
        ),
        (
            "a derived input feeding a select input",
            with(&[(&format!("{der}/provides-value-for-command-input"), json!("sel"))]),
            der,
            format!("{W}derived input \"label\" provides values for command input \"sel\", which is a select type. {NOTE}"),
        ),
        (
            "a multiple derived input that provides files for a mount",
            with(&[
                (&format!("{der}/multiple"), json!(true)),
                (&format!("{der}/provides-files-for-command-mount"), json!("out")),
            ]),
            der,
            format!("{W}derived input \"label\" is designated as a \"multiple\" input, which means it cannot provide files for command mounts (consider mounting the parent element)."),
        ),
        (
            "a multiple derived input that provides no command input value (XNAT's typo kept)",
            with(&[
                (&format!("{der}/multiple"), json!(true)),
                (&format!("{der}/provides-value-for-command-input"), Value::Null),
            ]),
            der,
            format!("{W}derived input \"label\" is designated as a \"multiple\" input, whichmeans it must directly provide values for some command input."),
        ),
        (
            "a derived input named like an external input",
            with(&[(&format!("{der}/name"), json!("project"))]),
            der,
            format!("{W}derived input name \"project\" is not unique."),
        ),
        (
            "an output handler under a multiple input",
            with(&[
                (&format!("{der}/multiple"), json!(true)),
                (&format!("{der}/derived-from-xnat-object-property"), json!("uri")),
                (&format!("{hdl}/as-a-child-of"), json!("label")),
            ]),
            hdl,
            format!("{W}output handler \"h\" has \"as-a-child-of\": \"label\", but that input is set to allow multiple values."),
        ),
        (
            "a blank wrapper input name",
            with(&[(&format!("{ext}/name"), json!(" "))]),
            ext,
            format!("{W}Command wrapper input name cannot be blank."),
        ),
        (
            "a Resource output handler without a label",
            with(&[(&format!("{hdl}/label"), Value::Null)]),
            hdl,
            format!("{W}Command wrapper output \"h\" - when type = Resource, label cannot be blank."),
        ),
        (
            "a blank output handler name",
            with(&[(&format!("{hdl}/name"), json!(" "))]),
            hdl,
            format!("{W}Command wrapper output - name cannot be blank."),
        ),
        (
            "an output handler name with a space",
            with(&[(&format!("{hdl}/name"), json!("h h"))]),
            hdl,
            format!("{W}Command wrapper output \"h h\" name should contain only alphanumeric, _ and - characters."),
        ),
        (
            "an output handler that accepts no output",
            with(&[(&format!("{hdl}/accepts-command-output"), Value::Null)]),
            hdl,
            format!("{W}Command wrapper output \"h\" - property \"accepts-command-output\" cannot be blank."),
        ),
    ];
    for (what, cmd, pointer, message) in cases {
        let got = errors(&cmd);
        assert!(
            got.contains(&(pointer.to_string(), message.clone())),
            "{what}: want {pointer} {message:?}\ngot {got:#?}"
        );
    }
}
