//! The command schema: one `$defs` entry per level of a command, each property from its row
//! in [`crate::command::fields`] (kind as XNAT coerces it, default, values, required, text),
//! plus the rules the validator applies to one object alone.
//!
//! XNAT's reader is lenient (§2.9 of the Container Service notes): text fields take numbers
//! and booleans, booleans take `"true"`/`"false"` (any case) and 0/1, numbers take numeric
//! strings, and every optional key takes `null`. The schema accepts exactly that, or real
//! command files XNAT accepts would fail it. Unknown keys are allowed (XNAT ignores them).

use serde_json::{json, Map, Value};

use super::{described, document, reference};
use crate::command::fields::{
    Field, Fill, Kind, Level, Need, Values, HANDLER_TYPES, NAME_PATTERN, NOT_IN_SETUP,
    RESERVED_ENV, SCHEMA_KEY, SECRET_SIDES, SELECT_TYPES, SETUP_TYPES,
};

/// The JSON Schema of one Container Service 3.7.3 command, creation or full form.
pub fn command_schema() -> Value {
    let mut doc = document(
        "command",
        "XNAT Container Service command (3.7.3)",
        "One command as POST /xapi/commands takes it (or one element of an org.nrg.commands label). Checks types, required keys and allowed values; `xnat-cmd validate` checks the rest.",
    );
    doc.insert(
        "$ref".into(),
        reference(Level::Command.name())["$ref"].clone(),
    );
    let mut defs = Map::new();
    for level in Level::ALL {
        defs.insert(level.name().into(), level_schema(level));
    }
    defs.insert("secret".into(), secret_schema());
    for (name, schema) in scalar_defs() {
        defs.insert(name.into(), schema);
    }
    doc.insert("$defs".into(), Value::Object(defs));
    Value::Object(doc)
}

/// The lenient scalars, shared by every level.
fn scalar_defs() -> Vec<(&'static str, Value)> {
    let name_pattern = NAME_PATTERN.replace('*', "+");
    vec![
        (
            "text",
            json!({"description": "Text; XNAT also reads numbers and booleans as their text.", "type": ["string", "number", "boolean", "null"]}),
        ),
        (
            "non-blank",
            json!({"description": "Text that is not blank.", "anyOf": [{"type": ["number", "boolean"]}, {"type": "string", "pattern": "\\S"}]}),
        ),
        (
            "name",
            json!({"description": "A name of letters, digits, _ and - only.", "anyOf": [{"type": ["integer", "boolean"]}, {"type": "string", "pattern": name_pattern}]}),
        ),
        (
            "boolean",
            json!({"description": "A boolean; XNAT also reads \"true\"/\"false\" (any case), \"\" (as null) and 0/1.", "anyOf": [
                {"type": ["boolean", "null"]},
                {"enum": [0, 1, ""]},
                {"type": "string", "pattern": "^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])$"}
            ]}),
        ),
        (
            "true",
            json!({"description": "What XNAT reads as true.", "anyOf": [{"const": true}, {"const": 1}, {"type": "string", "pattern": "^[Tt][Rr][Uu][Ee]$"}]}),
        ),
        (
            "number",
            json!({"description": "A number; XNAT also reads numeric text (\"8000\"), and \"\" as null.", "anyOf": [
                {"type": ["number", "null"]},
                {"type": "string", "pattern": "^\\s*([+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+-]?[0-9]+)?)?\\s*$"}
            ]}),
        ),
        (
            "text-list",
            json!({"description": "A list of text values (no nulls).", "type": ["array", "null"], "items": {"type": ["string", "number", "boolean"]}}),
        ),
        (
            "text-map",
            json!({"description": "A map of text values (no nulls).", "type": ["object", "null"], "additionalProperties": {"type": ["string", "number", "boolean"]}}),
        ),
    ]
}

fn level_schema(level: Level) -> Value {
    let mut props = Map::new();
    if level == Level::Command {
        props.insert(
            SCHEMA_KEY.into(),
            json!({"type": "string", "description": "The JSON Schema of this file, for editors (XNAT ignores it)."}),
        );
    }
    let mut required = Vec::new();
    let mut rules = Vec::new();
    for field in level.fields() {
        let alias = level.aliases().find(|a| a.new == field.key);
        props.insert(field.key.into(), field_schema(field, alias.is_some()));
        match (field.need, alias) {
            (Need::Required, None) => required.push(json!(field.key)),
            (Need::Required, Some(a)) => {
                rules.push(json!({"anyOf": [{"required": [field.key]}, {"required": [a.old]}]}))
            }
            (Need::Optional, _) => {}
        }
    }
    for alias in level.aliases() {
        let Some(target) = level.fields().find(|f| f.key == alias.new) else {
            continue;
        };
        let mut schema = described(field_schema(target, true), alias.doc, None);
        if alias.deprecated {
            if let Some(obj) = schema.as_object_mut() {
                obj.insert("deprecated".into(), json!(true));
            }
        }
        props.insert(alias.old.into(), schema);
    }
    rules.extend(object_rules(level));
    let mut schema = Map::new();
    schema.insert("type".into(), json!("object"));
    schema.insert("description".into(), json!(level_doc(level)));
    if !required.is_empty() {
        schema.insert("required".into(), Value::Array(required));
    }
    schema.insert("properties".into(), Value::Object(props));
    if !rules.is_empty() {
        schema.insert("allOf".into(), Value::Array(rules));
    }
    Value::Object(schema)
}

fn level_doc(level: Level) -> &'static str {
    match level {
        Level::Command => "A Container Service command.",
        Level::Mount => "A directory mounted into the container (mounts[]).",
        Level::Input => "A value of the command line (inputs[]).",
        Level::Output => "A file or directory the container produces (outputs[]).",
        Level::Wrapper => "How the command runs on XNAT objects (xnat[]).",
        Level::External => "A wrapper input given at launch (external-inputs[]).",
        Level::Derived => "A wrapper input derived from another (derived-inputs[]).",
        Level::Handler => "How a command output is uploaded into XNAT (output-handlers[]).",
    }
}

/// One property. `has_alias`: another key may stand in for it, so it may be absent or null
/// even when required.
fn field_schema(field: &Field, has_alias: bool) -> Value {
    let required = field.need == Need::Required && !has_alias;
    let schema = match field.kind {
        Kind::Str => match (field.values, required) {
            (Values::OneOf(values), _) => {
                let mut allowed: Vec<Value> = values.iter().map(|v| json!(v)).collect();
                if !required {
                    allowed.push(Value::Null);
                }
                json!({ "enum": allowed })
            }
            (Values::Name, true) => reference("name"),
            (Values::Name, false) => json!({"anyOf": [reference("name"), {"type": "null"}]}),
            (_, true) => reference("non-blank"),
            (Values::Suggest(values), false) => {
                let mut s = reference("text");
                if let Some(obj) = s.as_object_mut() {
                    obj.insert("examples".into(), json!(values));
                }
                s
            }
            (Values::Any, false) => reference("text"),
        },
        Kind::Bool => reference("boolean"),
        Kind::Long | Kind::Double => reference("number"),
        Kind::Any => json!({}),
        Kind::StrList | Kind::StrSet => {
            let mut s = reference("text-list");
            if let (Values::Suggest(values), Some(obj)) = (field.values, s.as_object_mut()) {
                obj.insert("items".into(), json!({ "examples": values }));
            }
            s
        }
        Kind::StrMap => reference("text-map"),
        Kind::Objects(level) => {
            json!({"type": ["array", "null"], "items": reference(level.name())})
        }
        Kind::Secrets => json!({"type": ["array", "null"], "items": reference("secret")}),
    };
    described(schema, field.doc, fill_default(field.fill))
}

fn fill_default(fill: Fill) -> Option<Value> {
    match fill {
        Fill::None => None,
        Fill::EmptyList => Some(json!([])),
        Fill::EmptyMap => Some(json!({})),
        Fill::Str(s) => Some(json!(s)),
        Fill::Bool(b) => Some(json!(b)),
    }
}

/// What the validator checks of one object alone, beyond types and required keys. Each rule
/// names the message of `xnat-cmd validate` (and XNAT) it mirrors.
fn object_rules(level: Level) -> Vec<Value> {
    match level {
        // "Setup commands cannot declare any mounts." and the rest of NOT_IN_SETUP.
        Level::Command => {
            let mut empty = Map::new();
            for (key, _) in NOT_IN_SETUP {
                let is_map = level
                    .fields()
                    .any(|f| f.key == *key && matches!(f.kind, Kind::StrMap));
                let limit = if is_map { "maxProperties" } else { "maxItems" };
                empty.insert((*key).into(), json!({ limit: 0 }));
            }
            // Docker commands only: " incorrect ulimit format: …" (Java's split drops
            // trailing empty parts, so `1:2:` is two parts).
            let ulimit = json!({"anyOf": [
                {"type": ["number", "boolean"]},
                {"type": "string", "minLength": 1, "pattern": "^[^:]*(:[^:]*)?:*$"}
            ]});
            vec![json!({
                "if": {"required": ["type"], "properties": {"type": {"enum": SETUP_TYPES}}},
                "then": {"properties": empty},
                "else": {"properties": {"ulimits": {"additionalProperties": ulimit}}}
            })]
        }
        // "… is designated as type "select-one" but doesn't list select-values." and
        // "… has select-values set, but is not a select type."
        Level::Input => vec![json!({
            "if": {"required": ["type"], "properties": {"type": {"enum": SELECT_TYPES}}},
            "then": {"required": ["select-values"], "properties": {"select-values": {"type": "array", "minItems": 1}}},
            "else": {"properties": {"select-values": {"maxItems": 0}}}
        })],
        Level::External => vec![via_setup_rule()],
        // "… is designated as a "multiple" input, which means it cannot provide files for
        // command mounts …" and "… whichmeans it must directly provide values for some
        // command input."
        Level::Derived => vec![
            via_setup_rule(),
            json!({
                "if": {"required": ["multiple"], "properties": {"multiple": reference("true")}},
                "then": {
                    "required": ["provides-value-for-command-input"],
                    "properties": {
                        "provides-value-for-command-input": reference("non-blank"),
                        "provides-files-for-command-mount": {"not": reference("non-blank")}
                    }
                }
            }),
        ],
        // "… when type = Resource, label cannot be blank." (Resource is the default type.)
        Level::Handler => vec![json!({
            "if": {"properties": {"type": {"enum": [HANDLER_TYPES[0], null]}}},
            "then": {"required": ["label"], "properties": {"label": reference("non-blank")}}
        })],
        Level::Mount | Level::Output | Level::Wrapper => Vec::new(),
    }
}

/// "You cannot set "via-setup-command" on an input that does not provide files for a command
/// mount."
fn via_setup_rule() -> Value {
    json!({
        "if": {"required": ["via-setup-command"], "properties": {"via-setup-command": reference("non-blank")}},
        "then": {"required": ["provides-files-for-command-mount"], "properties": {"provides-files-for-command-mount": reference("non-blank")}}
    })
}

/// `secrets[]`: the only subtypes Jackson knows, and no variable XNAT sets itself.
fn secret_schema() -> Value {
    let mut props = Map::new();
    for &(side, ty, doc) in SECRET_SIDES {
        let mut identifier = reference("text");
        if side == "destination" {
            identifier = json!({"allOf": [identifier, {"not": {"enum": RESERVED_ENV}}]});
        }
        props.insert(
            side.into(),
            json!({
                "description": doc,
                "type": ["object", "null"],
                "required": ["type"],
                "properties": {
                    "type": {"const": ty, "description": "The only kind XNAT knows here."},
                    "identifier": described(identifier, "The property or variable name.", None)
                }
            }),
        );
    }
    json!({
        "type": "object",
        "description": "A secret XNAT passes to the container (secrets[]).",
        "properties": props
    })
}

/// The schema against the validator, from the same tables: what the schema requires or
/// restricts, the validator rejects when it is missing or wrong.
#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;
    use crate::command::validate::validate;
    use crate::command::{Form, Severity};

    /// A valid command with one object of every level.
    fn full() -> Value {
        json!({"name": "c", "image": "x:1", "command-line": "run #in#",
            "mounts": [{"name": "out", "path": "/out", "writable": true}],
            "inputs": [{"name": "in"}],
            "outputs": [{"name": "o", "mount": "out"}],
            "xnat": [{"name": "w", "contexts": ["site"],
                "external-inputs": [{"name": "p", "type": "Project"}],
                "derived-inputs": [{"name": "d", "derived-from-wrapper-input": "p"}],
                "output-handlers": [{"name": "h", "accepts-command-output": "o", "as-a-child-of": "p", "label": "L"}]}]})
    }

    fn pointer(level: Level) -> &'static str {
        match level {
            Level::Command => "",
            Level::Mount => "/mounts/0",
            Level::Input => "/inputs/0",
            Level::Output => "/outputs/0",
            Level::Wrapper => "/xnat/0",
            Level::External => "/xnat/0/external-inputs/0",
            Level::Derived => "/xnat/0/derived-inputs/0",
            Level::Handler => "/xnat/0/output-handlers/0",
        }
    }

    fn errors(cmd: &Value) -> Vec<String> {
        validate(cmd, Form::Create)
            .into_iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| format!("{}: {}", d.pointer, d.message))
            .collect()
    }

    /// `full()` with `key` of the object at `level` set to `value` (`None`: removed).
    fn with(level: Level, key: &str, value: Option<Value>) -> Value {
        let mut cmd = full();
        if let Some(obj) = cmd
            .pointer_mut(pointer(level))
            .and_then(Value::as_object_mut)
        {
            match value {
                Some(v) => obj.insert(key.into(), v),
                None => obj.remove(key),
            };
        }
        cmd
    }

    #[test]
    fn the_base_command_is_valid() {
        assert_eq!(errors(&full()), Vec::<String>::new());
        assert!(validate(&full(), Form::Create).is_empty());
    }

    #[test]
    fn what_the_schema_requires_the_validator_requires() {
        let mut checked = 0;
        for level in Level::ALL {
            for field in level.fields().filter(|f| f.need == Need::Required) {
                for value in [None, Some(json!("  ")), Some(Value::Null)] {
                    let cmd = with(level, field.key, value.clone());
                    assert!(
                        !errors(&cmd).is_empty(),
                        "{}.{} = {value:?} passes the validator",
                        level.name(),
                        field.key
                    );
                }
                checked += 1;
            }
        }
        assert_eq!(checked, 13, "required fields in the tables");
    }

    #[test]
    fn closed_value_sets_are_the_validators() {
        for level in Level::ALL {
            for field in level.fields() {
                let Values::OneOf(values) = field.values else {
                    continue;
                };
                let bad = with(level, field.key, Some(json!("Bogus")));
                assert!(!errors(&bad).is_empty(), "{}.{}", level.name(), field.key);
                for v in values {
                    let cmd = if level == Level::Command {
                        json!({"name": "c", "image": "x:1", field.key: v})
                    } else {
                        with(level, field.key, Some(json!(v)))
                    };
                    assert_eq!(
                        errors(&cmd),
                        Vec::<String>::new(),
                        "{}.{} = {v}",
                        level.name(),
                        field.key
                    );
                }
            }
        }
    }

    #[test]
    fn name_fields_reject_what_the_validator_rejects() {
        for level in Level::ALL {
            for field in level.fields() {
                if !matches!(field.values, Values::Name) {
                    continue;
                }
                // Renaming breaks references; only the character rule is compared.
                let bad = errors(&with(level, field.key, Some(json!("a b"))));
                assert!(
                    bad.iter()
                        .any(|e| e.contains("should contain only alphanumeric")),
                    "{}.{}: {bad:?}",
                    level.name(),
                    field.key
                );
            }
        }
    }

    #[test]
    fn every_field_has_one_line_of_text() {
        for level in Level::ALL {
            for field in level.fields() {
                assert!(
                    !field.doc.is_empty() && !field.doc.contains('\n'),
                    "{}.{}",
                    level.name(),
                    field.key
                );
            }
        }
    }

    #[test]
    fn the_schema_has_every_key_the_reader_binds() {
        let schema = command_schema();
        for level in Level::ALL {
            let props = &schema["$defs"][level.name()]["properties"];
            let keys = level
                .fields()
                .map(|f| f.key)
                .chain(level.aliases().map(|a| a.old));
            for key in keys {
                assert!(
                    props[key]["description"].is_string(),
                    "{}.{key}",
                    level.name()
                );
            }
        }
        assert_eq!(
            schema["$defs"]["command"]["properties"]["type"]["default"],
            "docker"
        );
    }

    #[test]
    fn a_schema_key_is_no_finding() {
        let mut cmd = full();
        cmd["$schema"] = json!("./command.schema.json");
        assert!(validate(&cmd, Form::Create).is_empty());
        // Anywhere else it is an unknown key like any other.
        let nested = with(Level::Mount, "$schema", Some(json!("x")));
        let found = validate(&nested, Form::Create);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].severity, Severity::Warning);
    }
}
