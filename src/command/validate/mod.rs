//! Container Service 3.7.x `Command.validate()`, with XNAT's own messages, plus warnings for
//! what XNAT accepts but breaks at launch. Pure: a value in, findings out.
//!
//! Errors come first, in the order XNAT lists them in its 400 body; then the 500-class failures
//! XNAT hits before it can validate (reader rejections, unknown `type` on create, outputs or
//! handlers without a name) — those are reported alone, as XNAT reports nothing else. Warnings
//! follow the errors.
//!
//! Where XNAT prints a Java `HashSet` (known mounts, known outputs, unhandled outputs) we
//! reproduce Java's iteration order. Where it prints a Java `Map` through `StringUtils.join`
//! ("Known inputs: …"), XNAT's text is the map's `toString` of whole AutoValue objects; we print
//! the input names instead — the only deliberate difference from XNAT's wording.
//!
//! One file per entity, as Container Service has one `validate()` per nested class of
//! `Command.java`; each file holds the entity's own `validate()` and the checks
//! `validateDockerCommand` makes of it against its siblings (unique names, references):
//! `command` (`Command`: name, image, type, visibility, ulimits, secrets, setup/wrapup, and
//! the order the entities are walked in), `mount` (`CommandMount`), `input` (`CommandInput`),
//! `output` (`CommandOutput`), `wrapper` (`CommandWrapper`), `wrapper_input`
//! (`CommandWrapperInput` and its external and derived kinds), `handler`
//! (`CommandWrapperOutput`). `java` is what Java does that the messages depend on;
//! `warnings` is ours, not XNAT's.

mod command;
mod handler;
mod input;
mod java;
mod mount;
mod output;
mod warnings;
mod wrapper;
mod wrapper_input;

use serde_json::Value;

use super::normalize;
pub use java::java_hash_set_order;

use super::{Diagnostic, Form};

/// Validate one command value as XNAT would for `form`.
pub fn validate(command: &Value, form: Form) -> Vec<Diagnostic> {
    let cmd = match normalize::read(command, form) {
        Ok(c) => c,
        Err(e) => {
            let pointer = e.pointer().to_string();
            return vec![Diagnostic::error(
                pointer,
                format!("XNAT cannot read this command (it answers 500): {e}"),
            )];
        }
    };
    if let Some(fatal) = command::fatal_before_validation(&cmd, form) {
        return vec![fatal];
    }
    let mut out = command::validate(&cmd);
    out.extend(warnings::warnings(command, &cmd, form));
    out
}

// The table tests quote these in expected messages.
#[cfg(test)]
use {input::SELECT_NOTE, wrapper_input::WRAPPER_INPUT_TYPES};

#[cfg(test)]
mod tests;
