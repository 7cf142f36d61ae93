//! `CommandWrapper` (an `xnat[]` entry): its own `validate()`, and the checks
//! `validateDockerCommand` makes of each wrapper in turn — a unique name, its inputs, its
//! output handlers, every command output handled.

use serde_json::Value;

use super::handler::{self, Targets};
use super::java::{blank, js, prefixed, Seen};
use super::wrapper_input::{self, Scope};
use crate::command::{list_field, str_ref as s, Diagnostic};

/// `CommandWrapper.validate()`.
fn validate(wrapper: &Value) -> Vec<String> {
    let mut e = Vec::new();
    if blank(s(wrapper, "name")) {
        e.push("Command wrapper name cannot be blank.".to_string());
    }
    e
}

/// Every wrapper of a docker command, given the command's inputs and output names.
pub(super) fn validate_all(
    cmd: &Value,
    c: &str,
    command_inputs: &[Value],
    outputs: &Seen,
    errs: &mut Vec<Diagnostic>,
) {
    let output_order = outputs.java_order();
    let what = format!("{c}wrapper");
    let mut names = Seen::new();
    for (wi, wrapper) in list_field(cmd, "xnat").iter().enumerate() {
        let wp = format!("/xnat/{wi}");
        let wkey = js(s(wrapper, "name"));
        names.put_unique(wkey, (), (&wp, &what), errs);
        let w = format!("{c}wrapper \"{wkey}\" - ");
        let scope = Scope {
            pointer: &wp,
            prefix: &w,
            command_inputs,
        };
        let mut inputs = Seen::new();
        wrapper_input::validate_external_all(wrapper, &scope, &mut inputs, errs);
        let multiple = wrapper_input::validate_derived_all(wrapper, &scope, &mut inputs, errs);
        let targets = Targets {
            outputs,
            inputs: &inputs,
            multiple: &multiple,
        };
        let handled = handler::validate_all(wrapper, (&wp, &w), &targets, errs);
        for o in &output_order {
            if !handled.contains(o) {
                errs.push(Diagnostic::error(
                    &wp,
                    format!("{w}command output \"{o}\" is not handled by any output handler."),
                ));
            }
        }
        errs.extend(prefixed(&wp, c, validate(wrapper)));
    }
}
