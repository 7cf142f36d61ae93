//! A Container Service command as a JSON value, with typed accessors that accept what XNAT's
//! lenient reader accepts (`"true"` for booleans, numbers as strings, nulls for absent).
//! The value passes through untouched: unknown keys are kept, since XNAT versions add fields.

pub mod normalize;
pub mod validate;
mod warnings;

use serde_json::Value;

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
