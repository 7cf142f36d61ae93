//! `CommandMount`: its own `validate()`, and the unique-name check `validateDockerCommand`
//! makes of the command's mounts.

use serde_json::Value;

use super::java::{blank, prefixed, Seen};
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
/// (Java's `mountNames`), which outputs must refer to.
pub(super) fn validate_all<'a>(cmd: &'a Value, c: &str, errs: &mut Vec<Diagnostic>) -> Seen<'a> {
    let what = format!("{c}mount");
    let mut names = Seen::new();
    for (i, m) in list_field(cmd, "mounts").iter().enumerate() {
        let p = format!("/mounts/{i}");
        let name = s(m, "name").unwrap_or("");
        names.put_unique(name, (), (&p, &what), errs);
        errs.extend(prefixed(&p, c, validate(m)));
    }
    names
}
