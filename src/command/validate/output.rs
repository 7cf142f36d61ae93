//! `CommandOutput`: its own `validate()`, and the checks `validateDockerCommand` makes of the
//! command's outputs (unique name, a mount that exists).

use serde_json::Value;

use super::java::{bad_chars, blank, js, prefixed, Seen};
use crate::command::{list_field, str_ref as s, Diagnostic};

/// `CommandOutput.validate()`.
fn validate(output: &Value) -> Vec<String> {
    let mut e = Vec::new();
    let name = s(output, "name").unwrap_or("");
    if name.trim().is_empty() {
        e.push("Output name cannot be blank.".to_string());
    }
    if blank(s(output, "mount")) {
        e.push(format!("Output \"{name}\" - mount cannot be blank."));
    }
    if bad_chars(name) {
        e.push(format!(
            "Command output \"{name}\" name should contain only alphanumeric, _ and - characters."
        ));
    }
    e
}

/// Every output of a docker command: a unique name, a known mount, then its own errors.
/// Returns the names (Java's `outputNames`), which handlers must accept.
pub(super) fn validate_all<'a>(
    cmd: &'a Value,
    c: &str,
    mounts: &Seen,
    errs: &mut Vec<Diagnostic>,
) -> Seen<'a> {
    let known_mounts = mounts.java_joined();
    let what = format!("{c}output");
    let mut names = Seen::new();
    for (i, o) in list_field(cmd, "outputs").iter().enumerate() {
        let p = format!("/outputs/{i}");
        let name = s(o, "name").unwrap_or("");
        names.put_unique(name, (), (&p, &what), errs);
        let mount = s(o, "mount");
        if !mount.is_some_and(|m| mounts.contains(m)) {
            errs.push(Diagnostic::error(
                &p,
                format!(
                    "{c}output \"{name}\" references unknown mount \"{}\". Known mounts: {known_mounts}",
                    js(mount)
                ),
            ));
        }
        errs.extend(prefixed(&p, c, validate(o)));
    }
    names
}
