//! The fleet-file schema: one `$defs` entry per mapping of the file, its properties in the
//! order of the parser's key tables ([`crate::fleet::key_tables`]), each described here. The
//! parser rejects unknown keys, so the schema does too.
//!
//! `verify` (cosign public keys, issue 12) is described here before the parser knows it: it
//! is added to the top level and to image entries when their tables lack it.

use serde_json::{json, Map, Value};

use super::{described, document, reference};

/// Where `verify` is allowed.
const VERIFY_IN: &[&str] = &["fleet", "image"];

/// The JSON Schema of a fleet file (YAML or JSON).
pub fn fleet_schema() -> Value {
    let mut doc = document(
        "fleet",
        "xnat-cmd fleet file",
        "Which images `xnat-cmd sync` installs on which XNAT sites, enabled where, and which repositories the file owns.",
    );
    doc.insert("$ref".into(), reference("fleet")["$ref"].clone());
    let mut defs = Map::new();
    for (mapping, keys) in tables() {
        let mut props = Map::new();
        let mut required = Vec::new();
        for key in keys {
            // Every parser key has a row (a unit test holds it); a missing one still gets a
            // property, so the schema never rejects what the parser accepts.
            let (schema, is_required) = key_schema(mapping, key)
                .unwrap_or_else(|| (json!({"description": "(undocumented)"}), false));
            if is_required {
                required.push(json!(key));
            }
            props.insert(key.to_string(), schema);
        }
        let mut schema = Map::new();
        schema.insert("type".into(), json!("object"));
        schema.insert("description".into(), json!(mapping_doc(mapping)));
        if !required.is_empty() {
            schema.insert("required".into(), Value::Array(required));
        }
        schema.insert("properties".into(), Value::Object(props));
        schema.insert("additionalProperties".into(), json!(false));
        if let Some(rules) = rules(mapping) {
            schema.insert("allOf".into(), rules);
        }
        defs.insert(mapping.into(), Value::Object(schema));
    }
    for (name, schema) in shared_defs() {
        defs.insert(name.into(), schema);
    }
    doc.insert("$defs".into(), Value::Object(defs));
    Value::Object(doc)
}

/// The parser's key tables, with `verify` where it belongs.
fn tables() -> Vec<(&'static str, Vec<&'static str>)> {
    crate::fleet::key_tables()
        .into_iter()
        .map(|(mapping, keys)| {
            let mut keys = keys.to_vec();
            if VERIFY_IN.contains(&mapping) && !keys.contains(&"verify") {
                keys.push("verify");
            }
            (mapping, keys)
        })
        .collect()
}

fn mapping_doc(mapping: &str) -> &'static str {
    match mapping {
        "fleet" => "A fleet file.",
        "image" => "One image to install (an entry of images): an image read from its SOURCE, or with command-file, a command file's commands installed under image.",
        "enable" => "Where the image's commands are enabled.",
        "wrapper" => "Where one wrapper is enabled (an entry of enable.wrappers): each key given replaces the image's value, each key left out is inherited.",
        "site" => "An XNAT site.",
        _ => "",
    }
}

/// The rules between a mapping's keys (`allOf` of `if`/`then`), where it has any: a
/// `command-file` entry has none of the keys of an image read from a source.
fn rules(mapping: &str) -> Option<Value> {
    (mapping == "image").then(|| {
        json!([{
            "if": {"required": ["command-file"], "properties": {"command-file": {"not": {"type": "null"}}}},
            "then": {"properties": {"platform": {"type": "null"}, "pin-digest": {"type": "null"}, "verify": {"type": "null"}}}
        }])
    })
}

/// The schema of `key` in `mapping`, and whether the parser requires it.
fn key_schema(mapping: &str, key: &str) -> Option<(Value, bool)> {
    let optional = |schema: Value, doc: &str, default: Option<Value>| {
        Some((described(or_null(schema), doc, default), false))
    };
    match (mapping, key) {
        ("fleet", "images") => Some((
            described(
                json!({"type": "array", "minItems": 1, "items": reference("image")}),
                "The images to install, at least one.",
                None,
            ),
            true,
        )),
        ("fleet", "prune") => optional(
            json!({"type": "array", "items": reference("text")}),
            "Repository globs this file owns (* ? **): sync --prune removes their commands the file no longer lists.",
            None,
        ),
        ("fleet", "sites") => optional(
            json!({"type": "object", "minProperties": 1, "additionalProperties": reference("site")}),
            "The XNAT sites by name (without it, one site from --xnat or XNAT_HOST).",
            None,
        ),
        ("fleet", "verify") => optional(
            reference("verify"),
            "Cosign public keys every image of the file must be signed with.",
            None,
        ),
        ("image", "image") => Some((
            described(
                reference("text"),
                "The SOURCE to read, as install takes it: a registry reference (ghcr.io/lab/tool:1.2), docker-daemon:, docker-archive:, oci: or oci-archive:. With command-file: the registry reference, with a tag or digest, its commands are installed under (not read).",
                None,
            ),
            true,
        )),
        ("image", "command-file") => optional(
            reference("text"),
            "A command JSON file (one command, or a list of them), relative to the fleet file: its commands are installed under image, as install FILE.json --image REF does. platform, pin-digest and verify do not apply.",
            None,
        ),
        ("image", "platform") => optional(
            json!({"type": "string", "pattern": "^\\s*[^/\\s]+/[^/\\s]+(/[^/\\s]+)?\\s*$"}),
            "The platform to read from a multi-platform image, os/arch[/variant] (default linux/amd64).",
            None,
        ),
        ("image", "commands") => optional(
            reference("names"),
            "Only these commands of the image's label (default: all).",
            None,
        ),
        ("image", "pin-digest") => optional(
            json!({"type": "boolean"}),
            "Install the commands under repo@sha256:… of the manifest read, not the tag.",
            Some(json!(false)),
        ),
        ("image", "sites") => optional(
            reference("names"),
            "Only these sites (names defined under the top-level sites; default: every site).",
            None,
        ),
        ("image", "enable") => optional(
            reference("enable"),
            "Where to enable the image's commands.",
            None,
        ),
        ("image", "verify") => optional(
            reference("verify"),
            "Cosign public keys this image must be signed with.",
            None,
        ),
        ("enable", "site") => optional(
            json!({"type": "boolean"}),
            "Enable the commands site-wide.",
            Some(json!(false)),
        ),
        ("enable", "projects") => optional(
            reference("projects"),
            "Enable in these projects (ids), or `all` (every project XNAT lists at each run).",
            None,
        ),
        ("enable", "wrappers") => optional(
            json!({"type": "object", "minProperties": 1, "additionalProperties": reference("wrapper")}),
            "Per wrapper, by name (a wrapper of the selected commands; of every one that has it): where it is enabled instead of site and projects above.",
            None,
        ),
        ("wrapper", "site") => optional(
            json!({"type": "boolean"}),
            "Enable this wrapper site-wide (default: the image's enable.site).",
            None,
        ),
        ("wrapper", "projects") => optional(
            reference("projects"),
            "Enable this wrapper in these projects ([] for none), or `all` (default: the image's enable.projects).",
            None,
        ),
        ("site", "url") => Some((
            described(
                json!({"type": "string", "pattern": "^\\s*[Hh][Tt][Tt][Pp][Ss]?://"}),
                "Base URL of the XNAT, with its context path if any (https://host/xnat).",
                None,
            ),
            true,
        )),
        ("site", "user-env") => optional(
            reference("text"),
            "Environment variable holding the user name (or alias token).",
            None,
        ),
        ("site", "password-env") => optional(
            reference("text"),
            "Environment variable holding the password (or alias token secret).",
            None,
        ),
        _ => None,
    }
}

/// `schema`, or null (the parser reads an explicit null as an absent key).
fn or_null(schema: Value) -> Value {
    json!({"anyOf": [schema, {"type": "null"}]})
}

fn shared_defs() -> Vec<(&'static str, Value)> {
    vec![
        (
            "text",
            json!({"description": "Text that is not blank (a plain number is read as text).", "anyOf": [{"type": "number"}, {"type": "string", "pattern": "\\S"}]}),
        ),
        (
            "names",
            json!({"description": "A list of distinct names, at least one.", "type": "array", "minItems": 1, "uniqueItems": true, "items": reference("text")}),
        ),
        (
            "projects",
            json!({"description": "Project ids (distinct; an empty list enables in none), or `all`.", "anyOf": [{"const": "all"}, {"type": "array", "uniqueItems": true, "items": reference("text")}]}),
        ),
        (
            "verify",
            json!({
                "description": "Cosign verification: the image must carry a signature made with one of these keys.",
                "type": "object",
                "required": ["key"],
                "properties": {
                    "key": {
                        "description": "A cosign public key file (PEM, e.g. cosign.pub), or a list of them: any one suffices.",
                        "anyOf": [reference("text"), {"type": "array", "minItems": 1, "items": reference("text")}]
                    }
                },
                "additionalProperties": false
            }),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_parser_key_is_described() {
        for (mapping, keys) in tables() {
            assert!(!mapping_doc(mapping).is_empty(), "{mapping}");
            for key in keys {
                assert!(key_schema(mapping, key).is_some(), "{mapping}.{key}");
            }
        }
    }

    #[test]
    fn verify_is_allowed_at_the_top_and_per_image_only() {
        let schema = fleet_schema();
        for (mapping, want) in [
            ("fleet", true),
            ("image", true),
            ("enable", false),
            ("wrapper", false),
            ("site", false),
        ] {
            let has = schema["$defs"][mapping]["properties"]
                .get("verify")
                .is_some();
            assert_eq!(has, want, "{mapping}");
        }
    }
}
