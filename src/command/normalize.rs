//! What XNAT makes of a command JSON: the reader's coercions and defaults (Jackson + the
//! AutoValue creators of `Command.java`), then what the stored entity gives back on GET.
//!
//! Two stages, because validation runs between them on the server: [`read`] is the command as
//! `Command.validate()` sees it (scalars coerced, defaults filled, unknown keys dropped, the
//! creation form's `:latest` and old handler key applied); [`normalize`] adds what storing
//! does (unknown command-input types become `string`, docker-only fields vanish for setup and
//! wrapup commands). [`canonical_for_compare`] strips what differs between two GETs of the same
//! content (server ids, the image hash, the order of the `contexts` set).

use serde_json::{Map, Value};

use super::fields::{
    Field, Fill as D, Kind as K, Level, COMMAND_INPUT_TYPES, DOCKER_ONLY, SECRET_SIDES,
};
use super::{escape_pointer, lenient_bool, lenient_string, Form};
use crate::labels::json_kind;
use crate::reference::xnat_default_tag;

/// What XNAT's JSON reader rejects: the request fails before validation (a 500 on XNAT 1.9).
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum NormalizeError {
    #[error("`{pointer}`: expected an object, found {found}")]
    NotAnObject {
        pointer: String,
        found: &'static str,
    },
    #[error("`{pointer}`: expected a list, found {found}")]
    NotAList {
        pointer: String,
        found: &'static str,
    },
    #[error("`{pointer}`: expected a text value, found {found}")]
    NotScalar {
        pointer: String,
        found: &'static str,
    },
    #[error("`{pointer}`: expected a boolean, found `{value}`")]
    NotBoolean { pointer: String, value: String },
    #[error("`{pointer}`: expected a number, found `{value}`")]
    NotNumber { pointer: String, value: String },
    #[error("`{pointer}`: null is not allowed inside this list")]
    NullElement { pointer: String },
    #[error("`{pointer}`: null is not allowed as a map value")]
    NullMapValue { pointer: String },
    #[error("`{pointer}`: {what} has no `name` (XNAT cannot read it)")]
    MissingName { pointer: String, what: &'static str },
    #[error("`{pointer}`: unknown secret {side} type `{found}`, expected `{expected}`")]
    BadSecret {
        pointer: String,
        side: &'static str,
        found: String,
        expected: &'static str,
    },
}

impl NormalizeError {
    pub fn pointer(&self) -> &str {
        match self {
            NormalizeError::NotAnObject { pointer, .. }
            | NormalizeError::NotAList { pointer, .. }
            | NormalizeError::NotScalar { pointer, .. }
            | NormalizeError::NotBoolean { pointer, .. }
            | NormalizeError::NotNumber { pointer, .. }
            | NormalizeError::NullElement { pointer }
            | NormalizeError::NullMapValue { pointer }
            | NormalizeError::MissingName { pointer, .. }
            | NormalizeError::BadSecret { pointer, .. } => pointer,
        }
    }
}

/// The command as `Command.validate()` sees it after XNAT read it in `form`.
pub fn read(cmd: &Value, form: Form) -> Result<Value, NormalizeError> {
    let obj = cmd.as_object().ok_or_else(|| NormalizeError::NotAnObject {
        pointer: String::new(),
        found: json_kind(cmd),
    })?;
    let mut out = read_object(obj, Level::Command, "", form)?;
    if form == Form::Create {
        // The creation form has no ids and binds `ipcMode`, not `ipc-mode` (a quirk of
        // its @JsonCreator), and tags the image.
        out.remove("id");
        out.remove("ipc-mode");
        if let Some(v) = obj.get("ipcMode").filter(|v| !v.is_null()) {
            out.insert("ipc-mode".into(), Value::String(scalar(v, "/ipcMode")?));
        }
        if let Some(Value::String(image)) = out.get("image") {
            let tagged = xnat_default_tag(image);
            out.insert("image".into(), Value::String(tagged));
        }
    }
    Ok(Value::Object(out))
}

/// What XNAT's GET returns for this command after a create (`Form::Create`) or an update
/// (`Form::Update`), ids aside (the server assigns them).
pub fn normalize(cmd: &Value, form: Form) -> Result<Value, NormalizeError> {
    let mut v = read(cmd, form)?;
    let Some(obj) = v.as_object_mut() else {
        return Ok(v);
    };
    let ty = obj
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("docker")
        .to_string();
    if ty == "docker-setup" || ty == "docker-wrapup" {
        for k in DOCKER_ONLY {
            obj.remove(*k);
        }
    }
    if let Some(Value::Array(inputs)) = obj.get_mut("inputs") {
        for input in inputs.iter_mut().filter_map(Value::as_object_mut) {
            let t = input
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("string");
            let stored = match t {
                "File" => "file",
                t if COMMAND_INPUT_TYPES.contains(&t) => t,
                _ => "string",
            };
            input.insert("type".into(), Value::String(stored.to_string()));
        }
    }
    Ok(v)
}

/// Make two GET-shaped commands comparable: no command/wrapper ids, no image hash,
/// `contexts` sorted (a set on the server); every other list keeps its order.
pub fn canonical_for_compare(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(obj) = v.as_object_mut() {
        obj.remove("id");
        obj.remove("hash");
        if let Some(Value::Array(wrappers)) = obj.get_mut("xnat") {
            for w in wrappers.iter_mut().filter_map(Value::as_object_mut) {
                w.remove("id");
                if let Some(Value::Array(ctx)) = w.get_mut("contexts") {
                    ctx.sort_by_key(|a| a.to_string());
                    ctx.dedup();
                }
            }
        }
    }
    v
}

fn read_object(
    obj: &Map<String, Value>,
    level: Level,
    pointer: &str,
    form: Form,
) -> Result<Map<String, Value>, NormalizeError> {
    let mut out = Map::new();
    for Field {
        key,
        kind,
        fill: default,
        ..
    } in level.fields()
    {
        let p = format!("{pointer}/{}", escape_pointer(key));
        let raw = obj.get(*key).filter(|v| !v.is_null());
        let value = match raw {
            Some(v) => read_value(v, *kind, &p, form)?,
            None => None,
        };
        let value = match (value, default) {
            (Some(v), _) => Some(v),
            (None, D::None) => None,
            (None, D::EmptyList) => Some(Value::Array(vec![])),
            (None, D::EmptyMap) => Some(Value::Object(Map::new())),
            (None, D::Str(s)) => Some(Value::String(s.to_string())),
            (None, D::Bool(b)) => Some(Value::Bool(*b)),
        };
        if let Some(v) = value {
            out.insert(key.to_string(), v);
        }
    }
    match level {
        Level::Input | Level::External | Level::Derived if !out.contains_key("name") => {
            return Err(NormalizeError::MissingName {
                pointer: pointer.to_string(),
                what: if level == Level::Input {
                    "command input"
                } else {
                    "wrapper input"
                },
            });
        }
        Level::Handler if form == Form::Create && !out.contains_key("as-a-child-of") => {
            // The creation form still reads the pre-1.0 key.
            if let Some(v) = obj
                .get("as-a-child-of-wrapper-input")
                .filter(|v| !v.is_null())
            {
                let s = scalar(v, &format!("{pointer}/as-a-child-of-wrapper-input"))?;
                out.insert("as-a-child-of".into(), Value::String(s));
            }
        }
        Level::Wrapper => {
            if form == Form::Create {
                out.remove("id");
            } else if !out.contains_key("name") {
                // The full form's creator defaults a missing wrapper name to "".
                out.insert("name".into(), Value::String(String::new()));
            }
        }
        _ => {}
    }
    Ok(out)
}

fn read_value(v: &Value, kind: K, p: &str, form: Form) -> Result<Option<Value>, NormalizeError> {
    Ok(Some(match kind {
        K::Str => Value::String(scalar(v, p)?),
        K::Bool => match lenient_bool(v) {
            Ok(Some(b)) => Value::Bool(b),
            Ok(None) => return Ok(None),
            Err(()) => {
                return Err(NormalizeError::NotBoolean {
                    pointer: p.to_string(),
                    value: short(v),
                })
            }
        },
        K::Long => match number(v, p)? {
            Some(n) => Value::from(n.trunc() as i64),
            None => return Ok(None),
        },
        K::Double => match number(v, p)? {
            Some(n) => serde_json::Number::from_f64(n)
                .map(Value::Number)
                .unwrap_or(Value::Null),
            None => return Ok(None),
        },
        K::Any => v.clone(),
        K::StrList | K::StrSet => {
            let items = list(v, p)?;
            let mut out: Vec<Value> = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let ip = format!("{p}/{i}");
                if item.is_null() {
                    return Err(NormalizeError::NullElement { pointer: ip });
                }
                let s = Value::String(scalar(item, &ip)?);
                if !(matches!(kind, K::StrSet) && out.contains(&s)) {
                    out.push(s);
                }
            }
            Value::Array(out)
        }
        K::StrMap => {
            let m = v.as_object().ok_or_else(|| NormalizeError::NotAnObject {
                pointer: p.to_string(),
                found: json_kind(v),
            })?;
            let mut out = Map::new();
            for (k, val) in m {
                let kp = format!("{p}/{}", escape_pointer(k));
                if val.is_null() {
                    return Err(NormalizeError::NullMapValue { pointer: kp });
                }
                out.insert(k.clone(), Value::String(scalar(val, &kp)?));
            }
            Value::Object(out)
        }
        K::Objects(level) => {
            let items = list(v, p)?;
            let mut out = Vec::with_capacity(items.len());
            for (i, el) in items.iter().enumerate() {
                let ip = format!("{p}/{i}");
                let obj = el.as_object().ok_or_else(|| NormalizeError::NotAnObject {
                    pointer: ip.clone(),
                    found: json_kind(el),
                })?;
                out.push(Value::Object(read_object(obj, level, &ip, form)?));
            }
            Value::Array(out)
        }
        K::Secrets => {
            let items = list(v, p)?;
            let mut out = Vec::with_capacity(items.len());
            for (i, el) in items.iter().enumerate() {
                out.push(read_secret(el, &format!("{p}/{i}"))?);
            }
            Value::Array(out)
        }
    }))
}

/// `{"source": {"type": "system-property", ...}, "destination": {"type": "environment-variable", ...}}`:
/// the only subtypes registered with Jackson.
fn read_secret(v: &Value, p: &str) -> Result<Value, NormalizeError> {
    let obj = v.as_object().ok_or_else(|| NormalizeError::NotAnObject {
        pointer: p.to_string(),
        found: json_kind(v),
    })?;
    let mut out = Map::new();
    for &(side, expected, _) in SECRET_SIDES {
        let sp = format!("{p}/{side}");
        let Some(part) = obj.get(side).filter(|v| !v.is_null()) else {
            continue;
        };
        let part = part
            .as_object()
            .ok_or_else(|| NormalizeError::NotAnObject {
                pointer: sp.clone(),
                found: json_kind(part),
            })?;
        let ty = match part.get("type").filter(|v| !v.is_null()) {
            Some(t) => scalar(t, &format!("{sp}/type"))?,
            None => String::new(),
        };
        if ty != expected {
            return Err(NormalizeError::BadSecret {
                pointer: format!("{sp}/type"),
                side,
                found: ty,
                expected,
            });
        }
        let mut m = Map::new();
        m.insert("type".into(), Value::String(ty));
        if let Some(id) = part.get("identifier").filter(|v| !v.is_null()) {
            m.insert(
                "identifier".into(),
                Value::String(scalar(id, &format!("{sp}/identifier"))?),
            );
        }
        out.insert(side.to_string(), Value::Object(m));
    }
    Ok(Value::Object(out))
}

fn scalar(v: &Value, p: &str) -> Result<String, NormalizeError> {
    lenient_string(v).ok_or_else(|| NormalizeError::NotScalar {
        pointer: p.to_string(),
        found: json_kind(v),
    })
}

/// A number as Jackson reads it: numbers, numeric strings; `""` is null.
fn number(v: &Value, p: &str) -> Result<Option<f64>, NormalizeError> {
    let bad = || NormalizeError::NotNumber {
        pointer: p.to_string(),
        value: short(v),
    };
    match v {
        Value::Number(n) => n.as_f64().map(Some).ok_or_else(bad),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => s.trim().parse::<f64>().map(Some).map_err(|_| bad()),
        _ => Err(bad()),
    }
}

fn list<'a>(v: &'a Value, p: &str) -> Result<&'a Vec<Value>, NormalizeError> {
    v.as_array().ok_or_else(|| NormalizeError::NotAList {
        pointer: p.to_string(),
        found: json_kind(v),
    })
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 40 {
        s.chars().take(40).collect::<String>() + "…"
    } else {
        s
    }
}

#[cfg(test)]
#[path = "normalize_tests.rs"]
mod tests;
