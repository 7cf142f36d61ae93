//! TEMPORARY stand-in for `xnat_cmd::command::normalize` until branch `h-model` lands; it only
//! rejects non-objects. Delete this file after merging `h-model`.

use serde_json::Value;
use xnat_cmd::Form;

#[derive(Debug)]
pub struct NormalizeError(String);

impl std::fmt::Display for NormalizeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

pub fn normalize(value: &Value, _form: Form) -> Result<Value, NormalizeError> {
    match value {
        Value::Object(_) => Ok(value.clone()),
        _ => Err(NormalizeError(
            "Cannot deserialize value of type `Command` from non-object value".to_string(),
        )),
    }
}
