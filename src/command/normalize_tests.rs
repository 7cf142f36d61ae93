//! Table tests for `normalize`, `read` and `canonical_for_compare`.

use super::*;
use serde_json::json;

#[test]
fn spec_2_8_example_exactly() {
    let create = json!({"name":"hello","image":"busybox","command-line":"echo hi","xnat":[{"name":"hello-project","contexts":["xnat:projectData"],"external-inputs":[{"name":"project","type":"Project"}]}]});
    let got = normalize(&create, Form::Create).unwrap();
    let want = json!({"name": "hello", "image": "busybox:latest", "type": "docker",
         "command-line": "echo hi", "mounts": [], "environment-variables": {}, "ports": {},
         "inputs": [], "outputs": [],
         "xnat": [{"name": "hello-project", "contexts": ["xnat:projectData"],
                   "external-inputs": [{"name": "project", "type": "Project",
                                         "required": true, "load-children": true}],
                   "derived-inputs": [], "output-handlers": []}],
         "container-labels": {}, "generic-resources": {}, "ulimits": {},
         "secrets": [], "visibility": "public"});
    assert_eq!(got, want);
    // And the spec's GET value, ids and all, compares equal.
    let mut get = want.clone();
    get["id"] = json!(12);
    get["xnat"][0]["id"] = json!(31);
    assert_eq!(canonical_for_compare(&got), canonical_for_compare(&get));
}

#[test]
fn coercions_and_defaults() {
    let cmd = json!({
        "name": "x", "image": "a:1", "reserve-memory": "8000", "limit-cpu": "0.5",
        "override-entrypoint": "true", "version": 2, "unknown": {"a": 1}, "workdir": "/x",
        "mounts": [{"name": "in", "writable": "false", "path": "/in", "type": "input"},
                   {"name": "out", "writable": null, "path": "/out"}],
        "inputs": [{"name": "a", "type": "Foo", "default-value": false, "required": "TRUE"},
                   {"name": "b", "type": "File", "select-values": null}],
        "outputs": [{"name": "o", "mount": "out"}],
        "xnat": [{"name": "w", "contexts": ["b", "a", "b"],
                  "derived-inputs": [{"name": "d", "derived-from-wrapper-input": "e"}],
                  "output-handlers": [{"name": "h", "accepts-command-output": "o",
                                       "as-a-child-of-wrapper-input": "e", "label": "L"}]}]
    });
    let got = normalize(&cmd, Form::Create).unwrap();
    assert_eq!(got["reserve-memory"], json!(8000));
    assert_eq!(got["limit-cpu"], json!(0.5));
    assert_eq!(got["override-entrypoint"], json!(true));
    assert_eq!(got["version"], json!("2"));
    assert!(got.get("unknown").is_none() && got.get("workdir").is_none());
    assert_eq!(
        got["mounts"][0],
        json!({"name": "in", "writable": false, "path": "/in"})
    );
    assert_eq!(got["mounts"][1]["writable"], json!(false));
    assert_eq!(
        got["inputs"][0],
        json!({"name": "a", "type": "string", "required": true, "default-value": "false", "select-values": []})
    );
    assert_eq!(got["inputs"][1]["type"], json!("file"));
    assert_eq!(
        got["outputs"][0],
        json!({"name": "o", "required": false, "mount": "out"})
    );
    assert_eq!(got["xnat"][0]["contexts"], json!(["b", "a"]));
    assert_eq!(
        got["xnat"][0]["derived-inputs"][0],
        json!({"name": "d", "type": "string", "required": true, "load-children": true,
               "derived-from-wrapper-input": "e", "multiple": false})
    );
    assert_eq!(
        got["xnat"][0]["output-handlers"][0],
        json!({"name": "h", "accepts-command-output": "o", "as-a-child-of": "e", "type": "Resource",
               "label": "L", "tags": []})
    );
    // Read (what validation sees) keeps the command-input type as written.
    assert_eq!(
        read(&cmd, Form::Create).unwrap()["inputs"][0]["type"],
        json!("Foo")
    );
    // Update: no old handler key, no default tag.
    let up = normalize(&cmd, Form::Update).unwrap();
    assert!(up["xnat"][0]["output-handlers"][0]
        .get("as-a-child-of")
        .is_none());
    assert_eq!(
        normalize(&json!({"image": "busybox"}), Form::Update).unwrap()["image"],
        json!("busybox")
    );
}

#[test]
fn create_vs_update_form() {
    let cmd = json!({"id": 5, "name": "x", "ipc-mode": "host", "xnat": [{"id": 9, "name": "w"}, {"id": 10}]});
    let c = normalize(&cmd, Form::Create).unwrap();
    assert!(c.get("id").is_none() && c.get("ipc-mode").is_none());
    assert!(c["xnat"][0].get("id").is_none());
    assert!(c["xnat"][1].get("name").is_none());
    let c = normalize(&json!({"ipcMode": "host"}), Form::Create).unwrap();
    assert_eq!(c["ipc-mode"], json!("host"));
    let u = normalize(&cmd, Form::Update).unwrap();
    assert_eq!(u["id"], json!(5));
    assert_eq!(u["ipc-mode"], json!("host"));
    assert_eq!(u["xnat"][0]["id"], json!(9));
    assert_eq!(u["xnat"][1]["name"], json!(""));
}

#[test]
fn docker_only_fields_dropped_for_setup() {
    let cmd = json!({"type": "docker-setup", "index": "i", "hash": "h", "network": "n", "auto-remove": true,
                     "shm-size": 4, "container-labels": {"a": "b"}, "generic-resources": {"gpu": "1"}});
    let got = normalize(&cmd, Form::Create).unwrap();
    for k in DOCKER_ONLY {
        assert!(got.get(*k).is_none(), "{k}");
    }
    assert_eq!(got["generic-resources"], json!({"gpu": "1"}));
    let got = normalize(&json!({"index": "i", "hash": "h"}), Form::Create).unwrap();
    assert_eq!(got["index"], json!("i"));
}

#[test]
fn reader_rejections() {
    let cases: Vec<(Value, &str)> = vec![
        (json!([{"name": "x"}]), "``: expected an object, found a list"),
        (json!({"name": {"a": 1}}), "`/name`: expected a text value, found an object"),
        (json!({"override-entrypoint": "yes"}), "`/override-entrypoint`: expected a boolean, found `\"yes\"`"),
        (json!({"reserve-memory": "lots"}), "`/reserve-memory`: expected a number, found `\"lots\"`"),
        (json!({"inputs": [{"name": "a", "select-values": ["a", null]}]}), "`/inputs/0/select-values/1`: null is not allowed inside this list"),
        (json!({"xnat": [{"name": "w", "contexts": [null]}]}), "`/xnat/0/contexts/0`: null is not allowed inside this list"),
        (json!({"environment-variables": {"A": null}}), "`/environment-variables/A`: null is not allowed as a map value"),
        (json!({"ports": {"80": null}}), "`/ports/80`: null is not allowed as a map value"),
        (json!({"inputs": [{"type": "string"}]}), "`/inputs/0`: command input has no `name` (XNAT cannot read it)"),
        (json!({"xnat": [{"name": "w", "external-inputs": [{"name": null}]}]}), "`/xnat/0/external-inputs/0`: wrapper input has no `name` (XNAT cannot read it)"),
        (json!({"mounts": {"a": 1}}), "`/mounts`: expected a list, found an object"),
        (json!({"secrets": [{"source": {"type": "vault"}}]}), "`/secrets/0/source/type`: unknown secret source type `vault`, expected `system-property`"),
    ];
    for (cmd, want) in cases {
        let e = normalize(&cmd, Form::Create).unwrap_err();
        assert_eq!(e.to_string(), want, "{cmd}");
    }
}

#[test]
fn canonical_drops_ids_hash_and_sorts_contexts() {
    let a = json!({"id": 1, "hash": "sha256:x", "name": "n", "xnat": [{"id": 3, "contexts": ["b", "a"]}], "inputs": [{"name": "2"}, {"name": "1"}]});
    let b = json!({"id": 2, "name": "n", "xnat": [{"id": 4, "contexts": ["a", "b"]}], "inputs": [{"name": "2"}, {"name": "1"}]});
    assert_eq!(canonical_for_compare(&a), canonical_for_compare(&b));
    let c = json!({"name": "n", "xnat": [{"contexts": ["a", "b"]}], "inputs": [{"name": "1"}, {"name": "2"}]});
    assert_ne!(canonical_for_compare(&a), canonical_for_compare(&c));
}
