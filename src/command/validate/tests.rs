//! Table tests for `validate`: one or more cases per XNAT rule, messages compared exactly.

use super::*;
use crate::command::{with_image, xnat_error_body, Severity};
use serde_json::json;

fn errors(v: &Value, form: Form) -> Vec<String> {
    validate(v, form)
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.message)
        .collect()
}

fn warnings_of(v: &Value, form: Form) -> Vec<String> {
    validate(v, form)
        .into_iter()
        .filter(|d| d.severity == Severity::Warning)
        .map(|d| d.message)
        .collect()
}

/// A valid docker command to break one piece at a time.
fn base() -> Value {
    json!({
        "name": "cmd", "image": "busybox:1", "command-line": "run #in# #flag#",
        "mounts": [{"name": "out", "writable": true, "path": "/out"}],
        "inputs": [{"name": "in"}, {"name": "flag", "type": "boolean"}],
        "outputs": [{"name": "o", "mount": "out"}],
        "xnat": [{"name": "w", "contexts": ["xnat:projectData"],
                  "external-inputs": [{"name": "project", "type": "Project", "provides-value-for-command-input": "in"}],
                  "derived-inputs": [{"name": "label", "derived-from-wrapper-input": "project", "derived-from-xnat-object-property": "label", "provides-value-for-command-input": "flag"}],
                  "output-handlers": [{"name": "h", "accepts-command-output": "o", "as-a-child-of": "project", "label": "OUT"}]}]
    })
}

/// `v` with the value at `pointer` replaced (or added, when its parent is an object).
fn with(mut v: Value, pointer: &str, new: Value) -> Value {
    if let Some(slot) = v.pointer_mut(pointer) {
        *slot = new;
        return v;
    }
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let obj = v
        .pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .unwrap_or_else(|| panic!("{pointer}"));
    obj.insert(key.to_string(), new);
    v
}

#[test]
fn base_is_valid_without_warnings() {
    assert_eq!(validate(&base(), Form::Create), vec![]);
    assert_eq!(validate(&base(), Form::Update), vec![]);
}

#[test]
fn command_level_rules() {
    let c = "Command \"cmd\" - ";
    let cases: Vec<(Value, Form, Vec<String>)> = vec![
        (with(base(), "/name", json!("  ")), Form::Create, vec!["Command name cannot be blank.".into()]),
        (
            with(base(), "/name", json!(null)),
            Form::Create,
            vec!["Command name cannot be blank.".into()],
        ),
        (with(base(), "/image", json!(null)), Form::Create, vec![format!("{c}image name cannot be blank.")]),
        (with(base(), "/image", json!("busybox")), Form::Create, vec![]),
        (
            with(base(), "/image", json!("busybox")),
            Form::Update,
            vec![format!("{c}image name must include version tag. e.g. image_name:tag")],
        ),
        (
            with(base(), "/image", json!("host:5000/busybox")),
            Form::Update,
            vec![format!("{c}image name must include version tag. e.g. image_name:tag")],
        ),
        (with(base(), "/image", json!("busybox@sha256:abc")), Form::Update, vec![]),
        (
            with(base(), "/visibility", json!("Public")),
            Form::Create,
            vec![format!("{c} has visibility set to an unknown value. Known types: public, private, protected")],
        ),
        (
            with(base(), "/type", json!("kubernetes")),
            Form::Update,
            vec![format!("{c}Cannot validate command of type \"kubernetes\". Known types: docker, docker-setup, docker-wrapup")],
        ),
        (
            with(base(), "/type", json!("kubernetes")),
            Form::Create,
            vec!["Cannot instantiate command with type kubernetes (XNAT answers 500; known types: docker, docker-setup, docker-wrapup)".into()],
        ),
    ];
    for (cmd, form, want) in cases {
        assert_eq!(errors(&cmd, form), want, "{cmd}");
    }
    // Null name is printed as Java prints it.
    let e = errors(&json!({"name": null}), Form::Create);
    assert_eq!(
        e,
        vec![
            "Command name cannot be blank.",
            "Command \"null\" - image name cannot be blank."
        ]
    );
}

#[test]
fn setup_and_wrapup_declare_nothing() {
    let setup = json!({"name": "s", "image": "i:1", "type": "docker-setup", "mounts": [{"name": "a", "path": "/a"}],
                       "inputs": [{"name": "x"}], "outputs": [{"name": "o"}], "xnat": [{"name": "w"}],
                       "environment-variables": {"A": "1"}, "ports": {"1": "2"}, "generic-resources": {"g": "1"}});
    let want: Vec<String> = [
        "mounts",
        "inputs",
        "outputs",
        "wrappers",
        "environment variables",
        "ports",
    ]
    .iter()
    .map(|w| format!("Command \"s\" -  Setup commands cannot declare any {w}."))
    .collect();
    assert_eq!(errors(&setup, Form::Create), want);
    let wrapup = json!({"name": "s", "image": "i:1", "type": "docker-wrapup", "ports": {"1": "2"}});
    assert_eq!(
        errors(&wrapup, Form::Create),
        vec!["Command \"s\" -  Wrapup commands cannot declare any ports."]
    );
}

#[test]
fn ulimits_and_secrets() {
    let c = "Command \"cmd\" - ";
    let cmd = with(
        base(),
        "/ulimits",
        json!({"nofile": "1:2", "nproc": "", "core": "1:2:3", "x": "1:2:"}),
    );
    assert_eq!(
        errors(&cmd, Form::Create),
        vec![
            format!("{c} incorrect ulimit format: . Should be \"name\" : \"softlimit:hardlimit\" or \"name\" : \"limit\""),
            format!("{c} incorrect ulimit format: 1:2:3. Should be \"name\" : \"softlimit:hardlimit\" or \"name\" : \"limit\""),
        ]
    );
    let secret = |env: &str| json!({"source": {"type": "system-property", "identifier": "p"}, "destination": {"type": "environment-variable", "identifier": env}});
    let cmd = with(
        base(),
        "/secrets",
        json!([secret("XNAT_PASS"), secret("A"), secret("B")]),
    );
    let cmd = with(cmd, "/environment-variables", json!({"A": "1"}));
    assert_eq!(
        errors(&cmd, Form::Create),
        vec![
            format!("{c}secret destination environment variable \"XNAT_PASS\" is reserved by XNAT"),
            format!("{c}secret destination environment variable \"A\" is also set in environment-variables"),
        ]
    );
}

#[test]
fn mounts_inputs_outputs() {
    let c = "Command \"cmd\" - ";
    let cmd = with(
        base(),
        "/mounts",
        json!([{"name": "out", "path": "/o"}, {"name": "out", "path": " "}, {"path": "/x"}]),
    );
    assert_eq!(
        errors(&cmd, Form::Create),
        vec![
            format!("{c}mount name \"out\" is not unique."),
            format!("{c}Mount \"out\" path cannot be blank."),
            format!("{c}Mount name cannot be blank."),
        ]
    );
    let cmd = with(
        base(),
        "/inputs",
        json!([{"name": "in"}, {"name": "flag"}, {"name": "in"}, {"name": "a b", "multiple-delimiter": "tab"},
               {"name": "s1", "type": "select-one"}, {"name": "s2", "select-values": ["x"]},
               {"name": "s3", "type": "select-one", "select-values": ["x"], "default-value": "y"},
               {"name": "s4", "type": "select-many", "select-values": ["x", "y"], "default-value": "[\"x\",\"z\"]"},
               {"name": "s5", "type": "select-many", "select-values": ["x", "y"], "default-value": "[\"x\",\"y\"]"},
               {"name": ""}]),
    );
    assert_eq!(
        errors(&cmd, Form::Create),
        vec![
            format!("{c}input name \"in\" is not unique."),
            format!("{c}Command input \"a b\" name should contain only alphanumeric, _ and - characters."),
            format!("{c}Invalid multiple-delimiter \"tab\", choose from: quoted-space, space, comma, flag"),
            format!("{c}Command input \"s1\" is designated as type \"select-one\" but doesn't list select-values. {SELECT_NOTE}"),
            format!("{c}Command input \"s2\" has select-values set, but is not a select type."),
            format!("{c}Command input \"s3\" default value \"y\" is not one of the select-values \"[x]\""),
            format!("{c}Command input \"s4\" one or more default values in \"[x, z]\" is not in the list of select-values \"[x, y]\""),
            format!("{c}Command input name cannot be blank"),
        ]
    );
    let cmd = with(
        base(),
        "/outputs",
        json!([{"name": "o", "mount": "out"}, {"name": "o", "mount": "nope"}, {"name": "p q", "mount": " "}]),
    );
    let cmd = with(cmd, "/xnat", json!([]));
    assert_eq!(
        errors(&cmd, Form::Create),
        vec![
            format!("{c}output name \"o\" is not unique."),
            format!("{c}output \"o\" references unknown mount \"nope\". Known mounts: out"),
            format!("{c}output \"p q\" references unknown mount \" \". Known mounts: out"),
            format!("{c}Output \"p q\" - mount cannot be blank."),
            format!("{c}Command output \"p q\" name should contain only alphanumeric, _ and - characters."),
        ]
    );
}

#[test]
fn wrapper_rules() {
    let w = "Command \"cmd\" - wrapper \"w\" - ";
    let cmd = with(
        base(),
        "/xnat/0/external-inputs",
        json!([{"name": "project", "type": "Project"}, {"name": "project", "type": "project"},
               {"name": "x y", "via-setup-command": "a:b:c"}]),
    );
    assert_eq!(
        errors(&cmd, Form::Create),
        vec![
            format!("{w}external input name \"project\" is not unique."),
            format!("{w}Command wrapper input \"project\" - Unknown type \"project\". Known types: {}", WRAPPER_INPUT_TYPES.join(", ")),
            format!("{w}Command wrapper input \"x y\" - \"via-setup-command\": \"a:b:c\" - You cannot set \"via-setup-command\" on an input that does not provide files for a command mount."),
            format!("{w}Command wrapper input \"x y\" name should contain only alphanumeric, _ and - characters."),
        ]
    );
    let cmd = with(
        base(),
        "/xnat/0/derived-inputs",
        json!([{"name": "label", "derived-from-wrapper-input": "project", "derived-from-xnat-object-property": "label"},
               {"name": "self", "derived-from-wrapper-input": "self"},
               {"name": "later", "derived-from-wrapper-input": "zzz"},
               {"name": "blank"}]),
    );
    assert_eq!(
        errors(&cmd, Form::Create),
        vec![
            format!("{w}derived input \"self\" is derived from itself."),
            format!("{w}derived input \"later\" is derived from an unknown XNAT input \"zzz\". Known inputs: later, project, self, label"),
            format!("{w}derived input \"blank\" is derived from an unknown XNAT input \"null\". Known inputs: later, blank, project, self, label"),
            format!("{w}Command wrapper input \"blank\" - property \"derived-from-wrapper-input\" cannot be blank."),
        ]
    );
    let cmd = with(
        base(),
        "/xnat/0/output-handlers",
        json!([{"name": "h", "accepts-command-output": "nope", "as-a-child-of": "gone", "type": "resource"},
               {"name": "h", "accepts-command-output": "o", "as-a-child-of": "h", "type": "Assessor"},
               {"name": "k", "accepts-command-output": "o", "as-a-child-of": "label", "label": "L"}]),
    );
    assert_eq!(
        errors(&cmd, Form::Create),
        vec![
            format!("{w}output handler refers to unknown command output \"nope\". Known outputs: o."),
            format!("{w}output handler does not refer to a known wrapper input or output. \"as-a-child-of\": \"gone\".\nKnown inputs: project, label.\nKnown outputs (so far): ."),
            format!("{w}Command wrapper output \"h\" - Unknown type \"resource\". Known types: Resource, Assessor, Scan"),
            format!("{w}output handler name \"h\" is not unique."),
            format!("{w}output handler \"k\" has \"as-a-child-of\": \"label\", but that input's value is set to \"label\", which will cause the upload to fail (a \"uri\" is required for upload)."),
        ]
    );
    let cmd = with(base(), "/xnat/0/output-handlers", json!([]));
    let cmd = with(cmd, "/xnat/0/name", json!(""));
    assert_eq!(
        errors(&cmd, Form::Create),
        vec![
            "Command \"cmd\" - wrapper \"\" - command output \"o\" is not handled by any output handler.".to_string(),
            "Command \"cmd\" - Command wrapper name cannot be blank.".to_string(),
        ]
    );
    let mut two = base();
    let w0 = two["xnat"][0].clone();
    two["xnat"].as_array_mut().unwrap().push(w0);
    assert_eq!(
        errors(&two, Form::Create),
        vec!["Command \"cmd\" - wrapper name \"w\" is not unique."]
    );
}

#[test]
fn old_handler_key_works_on_create_only() {
    let cmd = with(
        base(),
        "/xnat/0/output-handlers/0",
        json!({"name": "h", "accepts-command-output": "o", "as-a-child-of-wrapper-input": "project", "label": "L"}),
    );
    assert_eq!(errors(&cmd, Form::Create), Vec::<String>::new());
    assert_eq!(warnings_of(&cmd, Form::Create).len(), 1);
    let e = errors(&cmd, Form::Update);
    assert_eq!(e[0], "Command \"cmd\" - wrapper \"w\" - output handler does not refer to a known wrapper input or output. \"as-a-child-of\": \"null\".\nKnown inputs: project, label.\nKnown outputs (so far): .");
    assert_eq!(e[1], "Command \"cmd\" - wrapper \"w\" - Command wrapper output \"h\" - property \"as-a-child-of\" cannot be blank.");
}

#[test]
fn five_hundred_class_failures_are_reported_alone() {
    let cmd = with(base(), "/outputs/0", json!({"mount": "out"}));
    let d = validate(&cmd, Form::Create);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].pointer, "/outputs/0");
    assert!(d[0].message.contains("500"), "{}", d[0].message);
    let cmd = with(base(), "/inputs/0/required", json!("maybe"));
    let d = validate(&cmd, Form::Create);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].pointer, "/inputs/0/required");
    assert_eq!(
        d[0].message,
        "XNAT cannot read this command (it answers 500): `/inputs/0/required`: expected a boolean, found `\"maybe\"`"
    );
}

#[test]
fn warnings_for_launch_breakers() {
    let mut cmd = with(base(), "/name", json!("my cmd"));
    cmd["command-line"] = json!("run #in# #nope# #nope# #!/bin/sh");
    cmd["workdir"] = json!("/x");
    cmd["mounts"][0]["type"] = json!("output");
    cmd["xnat"][0]["name"] = json!("a/b");
    cmd["xnat"][0]["external-inputs"][0]["provides-value-for-command-input"] = json!("missing");
    cmd["xnat"][0]["external-inputs"][0]["provides-files-for-command-mount"] = json!("nomount");
    let w: Vec<(String, String)> = validate(&cmd, Form::Create)
        .into_iter()
        .map(|d| {
            assert_eq!(d.severity, Severity::Warning, "{}", d.message);
            (d.pointer, d.message)
        })
        .collect();
    let want = vec![
        ("/name", "command name \"my cmd\" contains spaces or slashes: it ends up in launch URLs, prefer A-Za-z0-9_-"),
        ("/mounts/0/type", "key \"type\" is ignored by XNAT (pre-1.0 mount type: mounts are now input or output by use)"),
        ("/workdir", "key \"workdir\" is ignored by XNAT (did you mean \"working-directory\"?)"),
        ("/command-line", "command-line uses #nope#, which matches no input's replacement key: it is passed to the container literally"),
        ("/xnat/0/name", "wrapper name \"a/b\" contains spaces or slashes: it ends up in launch URLs, prefer A-Za-z0-9_-"),
        ("/xnat/0/external-inputs/0/provides-value-for-command-input", "wrapper input \"project\" provides a value for command input \"missing\", which does not exist"),
        ("/xnat/0/external-inputs/0/provides-files-for-command-mount", "wrapper input \"project\" provides files for mount \"nomount\", which does not exist"),
    ];
    let want: Vec<(String, String)> = want
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(w, want);
}

#[test]
fn error_body_is_xnats() {
    let d = validate(&json!({"name": "x"}), Form::Create);
    assert_eq!(
        xnat_error_body(&d),
        "Invalid command:\n\tCommand \"x\" - image name cannot be blank."
    );
    assert_eq!(xnat_error_body(&[]), "Invalid command");
}

#[test]
fn image_override_then_latest() {
    let cmd = json!({"name": "x"});
    assert_eq!(
        errors(&with_image(&cmd, "busybox"), Form::Create),
        Vec::<String>::new()
    );
    assert_eq!(
        with_image(&json!({"image": "a:1"}), "b")["image"],
        json!("b")
    );
    assert_eq!(
        with_image(&json!({"image": "a:1"}), " ")["image"],
        json!("a:1")
    );
}

#[test]
fn java_hash_set_order_matches_java() {
    // String.hashCode: "project" = -309310695 (bucket 9 of 16 after the spread), "label" =
    // 102727412 (11), "self" = 3526476 (9), "later" = 102744716 (3): buckets first, then
    // insertion order within a bucket.
    assert_eq!(
        java_hash_set_order(&["project", "label", "self", "later"]),
        vec!["later", "project", "self", "label"]
    );
    assert_eq!(
        java_hash_set_order(&["output2", "output"]),
        vec!["output", "output2"]
    );
    assert_eq!(java_hash_set_order(&["b", "a"]), vec!["a", "b"]);
    assert_eq!(java_hash_set_order(&["a", "a"]), vec!["a"]);
}

/// A label with two commands of one name passed `validate`, then `install` wrote the first and
/// stopped at the second. Now the second is refused, with XNAT's words when XNAT would refuse
/// it too (same version), and the others pass.
#[test]
fn duplicate_command_names_in_one_list_are_refused() {
    let cmds = [
        json!({"name": "a", "version": "1", "image": "lab/t:1"}),
        json!({"name": "b", "version": "1", "image": "lab/t:1"}),
        json!({"name": "a", "version": "1", "image": "docker.io/lab/t:2"}),
        json!({"name": "a", "version": "2", "image": "lab/t:1"}),
        json!({"name": "a", "version": "1", "image": "lab/other:1"}),
        json!({"name": "b", "image": "lab/t:1"}),
        json!({"name": "b", "image": "lab/t:1"}),
        json!({"image": "lab/t:1"}),
        json!({"image": "lab/t:1"}),
    ];
    let got: Vec<(usize, String, String)> = duplicate_names(cmds.iter())
        .into_iter()
        .map(|(i, d)| (i, d.pointer, d.message))
        .collect();
    let want = vec![
        (2, "/name".to_string(), format!("command `a` version `1` is also command 0 of this list, for the same image: XNAT refuses the second ({XNAT_DUPLICATE})")),
        (3, "/name".to_string(), "command `a` is also command 0 of this list (version `1`, here `2`): xnat-cmd installs one command per name and image repository, so give each version its own name or image".to_string()),
        (5, "/name".to_string(), "command `b` is also command 1 of this list (version `1`, here `(none)`): xnat-cmd installs one command per name and image repository, so give each version its own name or image".to_string()),
        (6, "/name".to_string(), "command `b` is also command 1 of this list (version `1`, here `(none)`): xnat-cmd installs one command per name and image repository, so give each version its own name or image".to_string()),
    ];
    assert_eq!(got, want);
    assert_eq!(
        XNAT_DUPLICATE,
        "This command duplicates a command already in the database."
    );
}
