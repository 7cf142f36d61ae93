//! JSON Schemas (draft 2020-12) of the two files people write by hand: a Container Service
//! command (`command.json`, the `org.nrg.commands` label) and a fleet file (`sync`, `status`).
//! For editors (completion, hover text, squiggles) and CI checks; `xnat-cmd schema` prints them.
//!
//! Both are built from the tables the readers use — the command's from
//! `crate::command::fields` (what XNAT's reader binds and the validator checks), the fleet's
//! from the fleet parser's key tables — so a key added to a reader appears in its schema. A
//! schema catches what one object says about itself (types as XNAT coerces them, required
//! keys, closed value sets, names); what needs the rest of the command (references between
//! inputs, outputs and handlers, uniqueness) stays with `xnat-cmd validate`.
//!
//! Output is deterministic: keys in the order written (serde_json keeps insertion order).

mod command;
mod fleet;

use serde_json::{json, Map, Value};

pub use command::command_schema;
pub use fleet::fleet_schema;

/// The JSON Schema dialect both documents declare.
pub const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

/// Where the ids of the schemas live. An identifier, not a download location: `.invalid` is
/// reserved (RFC 2606), so no one else can serve a different document under it.
pub const ID_BASE: &str = "https://xnat-cmd.invalid/schemas/";

/// The schemas `xnat-cmd schema` prints, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Command,
    Fleet,
}

impl Which {
    pub fn schema(self) -> Value {
        match self {
            Which::Command => command_schema(),
            Which::Fleet => fleet_schema(),
        }
    }
}

/// The head every schema starts with.
fn document(name: &str, title: &str, description: &str) -> Map<String, Value> {
    let mut doc = Map::new();
    doc.insert("$schema".into(), json!(DIALECT));
    doc.insert("$id".into(), json!(format!("{ID_BASE}{name}.json")));
    doc.insert("title".into(), json!(title));
    doc.insert("description".into(), json!(description));
    doc
}

/// `schema` with `description` (and `default`, when given) added.
fn described(mut schema: Value, description: &str, default: Option<Value>) -> Value {
    if let Some(obj) = schema.as_object_mut() {
        obj.insert("description".into(), json!(description));
        if let Some(d) = default {
            obj.insert("default".into(), d);
        }
    }
    schema
}

fn reference(def: &str) -> Value {
    json!({ "$ref": format!("#/$defs/{def}") })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every property of `schema` (at any depth) with no `description`, as paths.
    fn undescribed(schema: &Value, path: &str, out: &mut Vec<String>) {
        match schema {
            Value::Object(obj) => {
                for (k, v) in obj {
                    let p = format!("{path}/{k}");
                    if k == "properties" {
                        for (name, prop) in v.as_object().into_iter().flatten() {
                            if !prop["description"].is_string() {
                                out.push(format!("{p}/{name}"));
                            }
                        }
                    }
                    undescribed(v, &p, out);
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    undescribed(v, &format!("{path}/{i}"), out);
                }
            }
            _ => {}
        }
    }

    #[test]
    fn every_property_is_described_except_in_rules() {
        for which in [Which::Command, Which::Fleet] {
            let schema = which.schema();
            let defs = schema["$defs"].as_object().expect("$defs");
            for (name, def) in defs {
                // `allOf` holds the if/then rules, which restate properties without text.
                let mut def = def.clone();
                if let Some(obj) = def.as_object_mut() {
                    obj.remove("allOf");
                }
                let mut missing = Vec::new();
                undescribed(&def, name, &mut missing);
                assert_eq!(missing, Vec::<String>::new(), "{which:?}");
            }
        }
    }

    #[test]
    fn head_of_each_document() {
        for (which, name) in [(Which::Command, "command"), (Which::Fleet, "fleet")] {
            let s = which.schema();
            let keys: Vec<&str> = s
                .as_object()
                .expect("object")
                .keys()
                .map(String::as_str)
                .collect();
            assert_eq!(
                keys,
                ["$schema", "$id", "title", "description", "$ref", "$defs"]
            );
            assert_eq!(s["$id"], format!("{ID_BASE}{name}.json"));
            assert_eq!(s["$ref"], format!("#/$defs/{name}"));
        }
    }
}
