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

/// XNAT's words when a create repeats a command it holds (same name, version and image).
pub const XNAT_DUPLICATE: &str = "This command duplicates a command already in the database.";

/// Commands of one label or file that share a name and image repository, as findings on the
/// later one (by its index): with the same version XNAT refuses the second create (its 400,
/// [`XNAT_DUPLICATE`]); with another version XNAT would keep both, but xnat-cmd installs one
/// command per name and repository, so the second would be reported as a conflict after the
/// first was written — a validated label would be half-installed. Linear: a hash map.
pub fn duplicate_names<'a>(
    commands: impl IntoIterator<Item = &'a Value>,
) -> Vec<(usize, Diagnostic)> {
    use std::collections::HashMap;
    let mut first: HashMap<(String, String), (usize, Option<String>)> = HashMap::new();
    let mut out = Vec::new();
    for (i, c) in commands.into_iter().enumerate() {
        let view = super::CommandView::new(c);
        let Some(name) = view.name() else { continue };
        let repo = view
            .image()
            .map(|img| crate::reference::repository_key(&img))
            .unwrap_or_default();
        let version = view.version();
        let key = (name.clone(), repo);
        match first.get(&key) {
            None => {
                first.insert(key, (i, version));
            }
            Some((j, v)) if *v == version => out.push((
                i,
                Diagnostic::error(
                    "/name",
                    format!(
                        "command `{name}` version `{}` is also command {j} of this list, for the same image: XNAT refuses the second ({XNAT_DUPLICATE})",
                        version.as_deref().unwrap_or("(none)")
                    ),
                ),
            )),
            Some((j, v)) => out.push((
                i,
                Diagnostic::error(
                    "/name",
                    format!(
                        "command `{name}` is also command {j} of this list (version `{}`, here `{}`): xnat-cmd installs one command per name and image repository, so give each version its own name or image",
                        v.as_deref().unwrap_or("(none)"),
                        version.as_deref().unwrap_or("(none)")
                    ),
                ),
            )),
        }
    }
    out
}

// The table tests quote these in expected messages.
#[cfg(test)]
use {input::SELECT_NOTE, wrapper_input::WRAPPER_INPUT_TYPES};

#[cfg(test)]
mod tests;
