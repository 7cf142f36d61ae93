//! `CommandWrapperOutput` (an output handler): its own `validate()`, and the checks
//! `validateDockerCommand` makes of a wrapper's handlers (a command output it accepts, a
//! parent it can upload into, a unique name).

use serde_json::Value;

use super::java::{bad_chars, blank, js, prefixed, Seen};
use super::wrapper_input::WrapperInputs;
use crate::command::fields::HANDLER_TYPES;
use crate::command::{list_field, str_ref as s, Diagnostic};

/// `CommandWrapperOutput.validate()`.
fn validate(h: &Value) -> Vec<String> {
    let mut e = Vec::new();
    let name = s(h, "name").unwrap_or("");
    if name.trim().is_empty() {
        e.push("Command wrapper output - name cannot be blank.".to_string());
    }
    let prefix = format!("Command wrapper output \"{name}\" - ");
    if blank(s(h, "accepts-command-output")) {
        e.push(format!(
            "{prefix}property \"accepts-command-output\" cannot be blank."
        ));
    }
    if blank(s(h, "as-a-child-of")) {
        e.push(format!(
            "{prefix}property \"as-a-child-of\" cannot be blank."
        ));
    }
    let ty = s(h, "type").unwrap_or("Resource");
    if !HANDLER_TYPES.contains(&ty) {
        e.push(format!(
            "{prefix}Unknown type \"{ty}\". Known types: {}",
            HANDLER_TYPES.join(", ")
        ));
    }
    if ty == "Resource" && blank(s(h, "label")) {
        e.push(format!(
            "{prefix}when type = Resource, label cannot be blank."
        ));
    }
    if bad_chars(name) {
        e.push(format!(
            "Command wrapper output \"{name}\" name should contain only alphanumeric, _ and - characters."
        ));
    }
    e
}

/// What a wrapper's handlers are checked against.
pub(super) struct Targets<'a, 'b> {
    /// The command's output names.
    pub outputs: &'b Seen<'a>,
    /// The wrapper's inputs, external then derived.
    pub inputs: &'b WrapperInputs<'a>,
    /// The derived inputs that allow multiple values.
    pub multiple: &'b [&'a str],
}

/// Every handler of a wrapper at `wp` (messages prefixed with `w`). Returns the command
/// outputs that some handler accepts.
pub(super) fn validate_all<'a>(
    wrapper: &'a Value,
    (wp, w): (&str, &str),
    targets: &Targets<'a, '_>,
    errs: &mut Vec<Diagnostic>,
) -> Vec<&'a str> {
    let known_outputs = targets.outputs.java_joined();
    let known_wrapper_inputs = targets.inputs.java_joined();
    let what = format!("{w}output handler");
    let mut names = Seen::new();
    let mut handled: Vec<&str> = Vec::new();
    for (i, h) in list_field(wrapper, "output-handlers").iter().enumerate() {
        let p = format!("{wp}/output-handlers/{i}");
        let hname = s(h, "name").unwrap_or("");
        let accepts = s(h, "accepts-command-output");
        if accepts.is_some_and(|a| targets.outputs.contains(a)) {
            handled.extend(accepts);
        } else {
            errs.push(Diagnostic::error(
                &p,
                format!(
                    "{w}output handler refers to unknown command output \"{}\". Known outputs: {known_outputs}.",
                    js(accepts)
                ),
            ));
        }
        let target = s(h, "as-a-child-of");
        let target_input = target.and_then(|t| targets.inputs.get(t));
        if target_input.is_none() && !target.is_some_and(|t| names.contains(t)) {
            errs.push(Diagnostic::error(
                &p,
                format!(
                    "{w}output handler does not refer to a known wrapper input or output. \"as-a-child-of\": \"{}\".\nKnown inputs: {known_wrapper_inputs}.\nKnown outputs (so far): {}.",
                    js(target),
                    names.java_joined()
                ),
            ));
        }
        if target.is_some_and(|t| targets.multiple.contains(&t)) {
            errs.push(Diagnostic::error(
                &p,
                format!(
                    "{w}output handler \"{hname}\" has \"as-a-child-of\": \"{}\", but that input is set to allow multiple values.",
                    js(target)
                ),
            ));
        }
        if let Some(Some(der)) = target_input {
            if let Some(prop) = s(der, "derived-from-xnat-object-property").filter(|p| *p != "uri")
            {
                errs.push(Diagnostic::error(
                    &p,
                    format!(
                        "{w}output handler \"{hname}\" has \"as-a-child-of\": \"{}\", but that input's value is set to \"{prop}\", which will cause the upload to fail (a \"uri\" is required for upload).",
                        js(target)
                    ),
                ));
            }
        }
        names.put_unique(hname, (), (&p, &what), errs);
        errs.extend(prefixed(&p, w, validate(h)));
    }
    handled
}
