//! `CommandInput`: its own `validate()`, the unique-name check `validateDockerCommand` makes
//! of the command's inputs, and the lookup wrapper inputs use to ask whether the command
//! input they feed is a select.

use serde_json::Value;

use super::java::{bad_chars, java_list, prefixed, Seen};
use crate::command::fields::{MULTIPLE_DELIMITERS, SELECT_TYPES};
use crate::command::{lenient_string, list_field, str_ref as s, Diagnostic};

/// XNAT's advice on select inputs, in two messages of its own.
pub(super) const SELECT_NOTE: &str = "Note that command inputs with values provided by xnat inputs shouldn't be \
designated as select (they'll automatically render as a select if their xnat input resolves to more than one value).";

/// `CommandInput.validate()`.
fn validate(input: &Value) -> Vec<String> {
    let mut e = Vec::new();
    let name = s(input, "name").unwrap_or("");
    if name.trim().is_empty() {
        e.push("Command input name cannot be blank".to_string());
    }
    if bad_chars(name) {
        e.push(format!(
            "Command input \"{name}\" name should contain only alphanumeric, _ and - characters."
        ));
    }
    if let Some(md) = s(input, "multiple-delimiter").filter(|m| !MULTIPLE_DELIMITERS.contains(m)) {
        e.push(format!(
            "Invalid multiple-delimiter \"{md}\", choose from: {}",
            MULTIPLE_DELIMITERS.join(", ")
        ));
    }
    let ty = s(input, "type").unwrap_or("string");
    let is_select = SELECT_TYPES.contains(&ty);
    let values: Vec<String> = list_field(input, "select-values")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    if is_select && values.is_empty() {
        e.push(format!(
            "Command input \"{name}\" is designated as type \"{ty}\" but doesn't list select-values. {SELECT_NOTE}"
        ));
    } else if !is_select && !values.is_empty() {
        e.push(format!(
            "Command input \"{name}\" has select-values set, but is not a select type."
        ));
    }
    let default = s(input, "default-value");
    // select-many defaults may be a JSON list in a string (read by a strict ObjectMapper).
    let default_list: Option<Vec<String>> = (ty == "select-many")
        .then(|| default.and_then(|d| serde_json::from_str::<Vec<Value>>(d).ok()))
        .flatten()
        .and_then(|l| l.iter().map(lenient_string).collect());
    if let Some(list) = default_list {
        if !values.is_empty() && !list.iter().all(|d| values.contains(d)) {
            e.push(format!(
                "Command input \"{name}\" one or more default values in \"{}\" is not in the list of select-values \"{}\"",
                java_list(&list),
                java_list(&values)
            ));
        }
    } else if let Some(d) = default.filter(|d| !values.is_empty() && !values.iter().any(|v| v == d))
    {
        e.push(format!(
            "Command input \"{name}\" default value \"{d}\" is not one of the select-values \"{}\"",
            java_list(&values)
        ));
    }
    e
}

/// Every input of a docker command: a unique name, then its own errors. Returns the inputs,
/// which wrapper inputs refer to (see [`select_input`]).
pub(super) fn validate_all<'a>(cmd: &'a Value, c: &str, errs: &mut Vec<Diagnostic>) -> &'a [Value] {
    let inputs = list_field(cmd, "inputs");
    let what = format!("{c}input");
    let mut names = Seen::new();
    for (i, input) in inputs.iter().enumerate() {
        let p = format!("/inputs/{i}");
        let name = s(input, "name").unwrap_or("");
        names.put_unique(name, (), (&p, &what), errs);
        errs.extend(prefixed(&p, c, validate(input)));
    }
    inputs
}

/// The command input called `name` when it is a select (by type, or because it lists
/// select-values). Java keeps the first input of a name in its map.
pub(super) fn select_input<'a>(inputs: &'a [Value], name: Option<&str>) -> Option<&'a Value> {
    let name = name?;
    inputs
        .iter()
        .find(|i| s(i, "name") == Some(name))
        .filter(|i| {
            s(i, "type").is_some_and(|t| SELECT_TYPES.contains(&t))
                || !list_field(i, "select-values").is_empty()
        })
}
