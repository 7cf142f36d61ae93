//! A Container Service command as a JSON value, with typed accessors that accept what XNAT's
//! lenient reader accepts (`"true"` for booleans, numbers as strings, nulls for absent).
//! The value passes through untouched: unknown keys are kept, since XNAT versions add fields.
//!
//! This file owns the vocabulary the two stages share: [`Form`] (which JSON form XNAT reads),
//! [`Diagnostic`] (a finding located by a JSON pointer), the lenient field readers and the
//! views. `fields` is the model as tables (every key of every level: kind, default, allowed
//! values, description), read by both stages and by the JSON Schema (`crate::schema`).
//! [`normalize`] is what XNAT's reader makes of a command; [`validate`] runs XNAT's rules on
//! that result. Both import from here; `validate` uses `normalize`, never the reverse.

pub(crate) mod fields;
pub mod normalize;
pub mod validate;

use serde::Serialize;
use serde_json::Value;

/// Which JSON form XNAT reads the command in: creation (`POST /xapi/commands`, labels)
/// or full (`POST /xapi/commands/{id}`, GET output).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Form {
    #[default]
    Create,
    Update,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// XNAT would reject the command (400, or a 500 for what fails before validation).
    Error,
    /// XNAT accepts it, but it will misbehave at launch or is likely a mistake.
    Warning,
}

/// One finding, located by a JSON pointer into the command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub pointer: String,
    pub message: String,
}

impl Diagnostic {
    pub fn new(severity: Severity, pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity,
            pointer: pointer.into(),
            message: message.into(),
        }
    }

    pub fn error(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic::new(Severity::Error, pointer, message)
    }

    pub fn warning(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic::new(Severity::Warning, pointer, message)
    }
}

/// XNAT's 400 body for these findings (errors only): `Invalid command:\n\t<e1>\n\t<e2>…`.
pub fn xnat_error_body(errors: &[Diagnostic]) -> String {
    let msgs: Vec<&str> = errors
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.message.as_str())
        .collect();
    if msgs.is_empty() {
        "Invalid command".to_string()
    } else {
        format!("Invalid command:\n\t{}", msgs.join("\n\t"))
    }
}

/// The command with `image` replaced, as `POST /xapi/commands?image=REF` does (a blank
/// reference leaves the command's own image).
pub fn with_image(command: &Value, image: &str) -> Value {
    let mut c = command.clone();
    if !image.trim().is_empty() {
        if let Some(obj) = c.as_object_mut() {
            obj.insert("image".into(), Value::String(image.to_string()));
        }
    }
    c
}

/// One key as a JSON pointer token (RFC 6901: `~` → `~0`, `/` → `~1`).
pub fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Read-only, lenient view of one command.
#[derive(Debug, Clone, Copy)]
pub struct CommandView<'a> {
    value: &'a Value,
}

impl<'a> CommandView<'a> {
    pub fn new(value: &'a Value) -> Self {
        CommandView { value }
    }

    pub fn value(&self) -> &'a Value {
        self.value
    }

    pub fn name(&self) -> Option<String> {
        str_field(self.value, "name")
    }

    pub fn version(&self) -> Option<String> {
        str_field(self.value, "version")
    }

    /// The server-assigned id, read leniently as XNAT's Jackson reads a `long` (`7`, `"7"`);
    /// `None` when absent or not an integer. The one reader of a command's id.
    pub fn id(&self) -> Option<i64> {
        self.value.get("id").and_then(lenient_i64)
    }

    pub fn image(&self) -> Option<String> {
        str_field(self.value, "image").filter(|s| !s.trim().is_empty())
    }

    /// `docker` when absent, as XNAT defaults it.
    pub fn command_type(&self) -> String {
        str_field(self.value, "type").unwrap_or_else(|| "docker".to_string())
    }

    pub fn wrappers(&self) -> Vec<WrapperView<'a>> {
        list_field(self.value, "xnat")
            .iter()
            .map(|w| WrapperView { value: w })
            .collect()
    }
}

/// The command of `commands` (XNAT's list) whose id ([`CommandView::id`]) is `id`.
pub fn command_with_id(commands: &[Value], id: i64) -> Option<&Value> {
    commands
        .iter()
        .find(|c| CommandView::new(c).id() == Some(id))
}

/// Read-only view of one wrapper (`xnat[]` entry).
#[derive(Debug, Clone, Copy)]
pub struct WrapperView<'a> {
    value: &'a Value,
}

impl<'a> WrapperView<'a> {
    pub fn value(&self) -> &'a Value {
        self.value
    }

    pub fn name(&self) -> Option<String> {
        str_field(self.value, "name")
    }

    pub fn id(&self) -> Option<i64> {
        self.value.get("id").and_then(lenient_i64)
    }

    /// Contexts as written (XNAT treats them as a set).
    pub fn contexts(&self) -> Vec<String> {
        list_field(self.value, "contexts")
            .iter()
            .filter_map(lenient_string)
            .collect()
    }
}

/// A string as XNAT's reader coerces it: strings as they are, booleans and numbers as text,
/// null as absent. Objects and arrays are not strings.
pub fn lenient_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A boolean as XNAT's reader coerces it: `true`/`false`, the strings `"true"`/`"false"`
/// (any case, as Jackson does), numbers 0/1. `Err(())` for anything else that is present.
// `()` error: the caller knows the value and the place, and says both in its own error.
#[allow(clippy::result_unit_err)]
pub fn lenient_bool(v: &Value) -> Result<Option<bool>, ()> {
    match v {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(*b)),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Value::String(s) if s.is_empty() => Ok(None),
        Value::Number(n) => match n.as_i64() {
            Some(0) => Ok(Some(false)),
            Some(1) => Ok(Some(true)),
            _ => Err(()),
        },
        _ => Err(()),
    }
}

/// An integer as XNAT's reader coerces it (numbers, numeric strings).
pub fn lenient_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `obj[key]` as a lenient string; absent, null and non-scalars are `None`.
pub fn str_field(obj: &Value, key: &str) -> Option<String> {
    obj.get(key).and_then(lenient_string)
}

/// `obj[key]` when it is a JSON string, borrowed. After [`normalize::read`] every scalar
/// field is a string, so this is how the rules read a command XNAT has read.
pub fn str_ref<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj.get(key).and_then(Value::as_str)
}

/// `obj[key]` as a list; absent, null or not a list is empty.
pub fn list_field<'a>(obj: &'a Value, key: &str) -> &'a [Value] {
    obj.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lenient_scalars() {
        assert_eq!(lenient_bool(&json!("true")), Ok(Some(true)));
        assert_eq!(lenient_bool(&json!("FALSE")), Ok(Some(false)));
        assert_eq!(lenient_bool(&json!(null)), Ok(None));
        assert_eq!(lenient_bool(&json!("yes")), Err(()));
        assert_eq!(lenient_bool(&json!([])), Err(()));
        assert_eq!(lenient_string(&json!(1)), Some("1".into()));
        assert_eq!(lenient_string(&json!(false)), Some("false".into()));
        assert_eq!(lenient_string(&json!({})), None);
        assert_eq!(lenient_i64(&json!("8000")), Some(8000));
        assert_eq!(lenient_i64(&json!(8000)), Some(8000));
    }

    #[test]
    fn pointer_tokens_escape_tilde_then_slash() {
        for (key, want) in [
            ("name", "name"),
            ("a/b", "a~1b"),
            ("a~b", "a~0b"),
            ("~/", "~0~1"),
            ("~1", "~01"),
            ("", ""),
        ] {
            assert_eq!(escape_pointer(key), want, "{key}");
        }
    }

    #[test]
    fn view_reads_the_fields_it_needs() {
        let v = json!({"name": "x", "version": 1.5, "xnat": [{"name": "w", "id": "7", "contexts": ["a", "b"]}]});
        let c = CommandView::new(&v);
        assert_eq!(c.name().as_deref(), Some("x"));
        assert_eq!(c.version().as_deref(), Some("1.5"));
        assert_eq!(c.image(), None);
        assert_eq!(c.command_type(), "docker");
        let w = c.wrappers();
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].id(), Some(7));
        assert_eq!(w[0].contexts(), vec!["a", "b"]);
    }
}
