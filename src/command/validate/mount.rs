//! `CommandMount`: its own `validate()`, and the unique-name check `validateDockerCommand`
//! makes of the command's mounts.

use serde_json::Value;

use super::java::{blank, prefixed};
use crate::command::{list_field, str_ref as s, Diagnostic};

/// `CommandMount.validate()`.
fn validate(mount: &Value) -> Vec<String> {
    let mut e = Vec::new();
    let name = s(mount, "name").unwrap_or("");
    if name.trim().is_empty() {
        e.push("Mount name cannot be blank.".to_string());
    }
    if blank(s(mount, "path")) {
        e.push(format!("Mount \"{name}\" path cannot be blank."));
    }
    e
}

/// Every mount of a docker command: a unique name, then its own errors. Returns the names
/// in insertion order (Java's `mountNames`), which outputs must refer to.
pub(super) fn validate_all<'a>(
    cmd: &'a Value,
    c: &str,
    errs: &mut Vec<Diagnostic>,
) -> Vec<&'a str> {
    let mut names: Vec<&str> = Vec::new();
    for (i, m) in list_field(cmd, "mounts").iter().enumerate() {
        let p = format!("/mounts/{i}");
        let name = s(m, "name").unwrap_or("");
        if names.contains(&name) {
            errs.push(Diagnostic::error(
                &p,
                format!("{c}mount name \"{name}\" is not unique."),
            ));
        } else {
            names.push(name);
        }
        errs.extend(prefixed(&p, c, validate(m)));
    }
    names
}
