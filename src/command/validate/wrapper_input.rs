//! `CommandWrapperInput` and its two kinds, `CommandWrapperExternalInput` and
//! `CommandWrapperDerivedInput`: their own `validate()`s, and the checks `validateDockerCommand`
//! makes of a wrapper's inputs (unique names across both kinds, what a derived input derives
//! from, no select command input fed by a wrapper input).

use serde_json::Value;

use super::input::{select_input, SELECT_NOTE};
use super::java::{bad_chars, blank, js, prefixed, Seen};
use crate::command::{list_field, str_ref as s, Diagnostic};

pub(super) use crate::command::fields::WRAPPER_INPUT_TYPES;

/// Java's `wrapperInputs` map: each name with `Some(input)` for a derived input (handlers
/// look at its `derived-from-xnat-object-property`), `None` for an external one.
pub(super) type WrapperInputs<'a> = Seen<'a, Option<&'a Value>>;

/// Where the checks of one wrapper's inputs report, and what they refer to.
pub(super) struct Scope<'a, 'b> {
    /// `/xnat/{i}`.
    pub pointer: &'b str,
    /// `Command "…" - wrapper "…" - `.
    pub prefix: &'b str,
    /// The command's inputs, for the select rule.
    pub command_inputs: &'a [Value],
}

/// `CommandWrapperInput.validate()`: what external and derived inputs share.
fn validate(input: &Value) -> Vec<String> {
    let mut e = Vec::new();
    let name = s(input, "name").unwrap_or("");
    if name.trim().is_empty() {
        e.push("Command wrapper input name cannot be blank.".to_string());
    }
    let ty = s(input, "type").unwrap_or("string");
    if !WRAPPER_INPUT_TYPES.contains(&ty) {
        e.push(format!(
            "Command wrapper input \"{name}\" - Unknown type \"{ty}\". Known types: {}",
            WRAPPER_INPUT_TYPES.join(", ")
        ));
    }
    if let Some(via) = s(input, "via-setup-command").filter(|v| !v.trim().is_empty()) {
        if blank(s(input, "provides-files-for-command-mount")) {
            e.push(format!("Command wrapper input \"{name}\" - \"via-setup-command\": \"{via}\" - You cannot set \"via-setup-command\" on an input that does not provide files for a command mount."));
        }
    }
    if bad_chars(name) {
        e.push(format!(
            "Command wrapper input \"{name}\" name should contain only alphanumeric, _ and - characters."
        ));
    }
    e
}

/// `CommandWrapperDerivedInput.validate()`: the shared rules, then its own.
fn validate_derived(input: &Value) -> Vec<String> {
    let mut e = validate(input);
    let name = s(input, "name").unwrap_or("");
    if blank(s(input, "derived-from-wrapper-input")) {
        e.push(format!(
            "Command wrapper input \"{name}\" - property \"derived-from-wrapper-input\" cannot be blank."
        ));
    }
    if is_multiple(input) {
        if !blank(s(input, "provides-files-for-command-mount")) {
            e.push(format!("derived input \"{name}\" is designated as a \"multiple\" input, which means it cannot provide files for command mounts (consider mounting the parent element)."));
        }
        if blank(s(input, "provides-value-for-command-input")) {
            // Sic: XNAT's message lacks the space between "which" and "means".
            e.push(format!("derived input \"{name}\" is designated as a \"multiple\" input, whichmeans it must directly provide values for some command input."));
        }
    }
    e
}

fn is_multiple(input: &Value) -> bool {
    input
        .get("multiple")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// A wrapper input must not provide the value of a select command input.
fn check_not_select(scope: &Scope, input: &Value, kind: &str, p: &str, errs: &mut Vec<Diagnostic>) {
    let name = s(input, "name").unwrap_or("");
    let target = select_input(
        scope.command_inputs,
        s(input, "provides-value-for-command-input"),
    );
    if let Some(target) = target {
        errs.push(Diagnostic::error(
            p,
            format!(
                "{}{kind} input \"{name}\" provides values for command input \"{}\", which is a select type. {SELECT_NOTE}",
                scope.prefix,
                js(s(target, "name"))
            ),
        ));
    }
}

/// Every external input of a wrapper: a unique name, not feeding a select, its own errors.
pub(super) fn validate_external_all<'a>(
    wrapper: &'a Value,
    scope: &Scope<'a, '_>,
    known: &mut WrapperInputs<'a>,
    errs: &mut Vec<Diagnostic>,
) {
    let w = scope.prefix;
    let what = format!("{w}external input");
    for (i, ext) in list_field(wrapper, "external-inputs").iter().enumerate() {
        let p = format!("{}/external-inputs/{i}", scope.pointer);
        let name = s(ext, "name").unwrap_or("");
        known.put_unique(name, None, (&p, &what), errs);
        check_not_select(scope, ext, "external", &p, errs);
        errs.extend(prefixed(&p, w, validate(ext)));
    }
}

/// Every derived input of a wrapper, after its external inputs: a unique name, derived from
/// another input known so far, not feeding a select, its own errors. Returns the names of
/// those that allow multiple values (handlers may not be children of them).
pub(super) fn validate_derived_all<'a>(
    wrapper: &'a Value,
    scope: &Scope<'a, '_>,
    known: &mut WrapperInputs<'a>,
    errs: &mut Vec<Diagnostic>,
) -> Vec<&'a str> {
    let w = scope.prefix;
    let what = format!("{w}derived input");
    let mut multiple: Vec<&str> = Vec::new();
    for (i, der) in list_field(wrapper, "derived-inputs").iter().enumerate() {
        let p = format!("{}/derived-inputs/{i}", scope.pointer);
        let name = s(der, "name").unwrap_or("");
        let from = s(der, "derived-from-wrapper-input");
        known.put_unique(name, Some(der), (&p, &what), errs);
        if Some(name) == from {
            errs.push(Diagnostic::error(
                &p,
                format!("{w}derived input \"{name}\" is derived from itself."),
            ));
        }
        if !from.is_some_and(|f| known.contains(f)) {
            errs.push(Diagnostic::error(
                &p,
                format!(
                    "{w}derived input \"{name}\" is derived from an unknown XNAT input \"{}\". Known inputs: {}",
                    js(from),
                    known.java_joined()
                ),
            ));
        }
        check_not_select(scope, der, "derived", &p, errs);
        errs.extend(prefixed(&p, w, validate_derived(der)));
        if is_multiple(der) {
            multiple.push(name);
        }
    }
    multiple
}
