//! PLACEHOLDER until the h-model branch lands: identity normalisation.
use serde_json::Value;

use super::validate::Form;

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct NormalizeError {
    pub message: String,
}

pub fn normalize(cmd: &Value, _form: Form) -> Result<Value, NormalizeError> {
    Ok(cmd.clone())
}

pub fn canonical_for_compare(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("id");
        o.remove("hash");
    }
    v
}
