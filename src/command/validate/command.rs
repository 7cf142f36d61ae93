//! `Command`: its `validate()` (name, image, type, visibility), `validateDockerCommand`
//! (ulimits, secrets, then mounts, inputs, outputs and wrappers, each against the ones before)
//! and `validateDockerSetupOrWrapupCommand`; and what fails with a 500 before `validate()`
//! can run.

use serde_json::Value;

use super::java::{blank, js};
use super::{input, mount, output, wrapper};
use crate::command::fields::{COMMAND_TYPES, NOT_IN_SETUP, RESERVED_ENV, VISIBILITIES};
use crate::command::{escape_pointer, list_field, str_ref as s, Diagnostic, Form};
use crate::reference::xnat_has_tag;

// Secrets and visibility are 3.7 additions; the source available to us predates them, so
// their messages follow the reference doc (§3.1, §3.2) rather than verbatim Java strings.

/// What fails with a 500 before (or inside) `validate()`, so nothing else is reported.
pub(super) fn fatal_before_validation(cmd: &Value, form: Form) -> Option<Diagnostic> {
    let ty = s(cmd, "type").unwrap_or("docker");
    if form == Form::Create && !COMMAND_TYPES.contains(&ty) {
        return Some(Diagnostic::error(
            "/type",
            format!("Cannot instantiate command with type {ty} (XNAT answers 500; known types: docker, docker-setup, docker-wrapup)"),
        ));
    }
    if ty != "docker" {
        return None;
    }
    // validate() runs a regex over these names; null → NullPointerException → 500.
    for (i, o) in list_field(cmd, "outputs").iter().enumerate() {
        if s(o, "name").is_none() {
            return Some(Diagnostic::error(
                format!("/outputs/{i}"),
                format!("command output {i} has no name: XNAT fails with a 500 (NullPointerException) instead of validating"),
            ));
        }
    }
    for (w, wrapper) in list_field(cmd, "xnat").iter().enumerate() {
        for (i, h) in list_field(wrapper, "output-handlers").iter().enumerate() {
            if s(h, "name").is_none() {
                return Some(Diagnostic::error(
                    format!("/xnat/{w}/output-handlers/{i}"),
                    format!("output handler {i} of wrapper {w} has no name: XNAT fails with a 500 (NullPointerException) instead of validating"),
                ));
            }
        }
    }
    None
}

/// `Command.validate()`: the 400 errors, in XNAT's order.
pub(super) fn validate(cmd: &Value) -> Vec<Diagnostic> {
    let mut errs = Vec::new();
    let name = s(cmd, "name");
    if blank(name) {
        errs.push(Diagnostic::error("/name", "Command name cannot be blank."));
    }
    let c = format!("Command \"{}\" - ", js(name));
    let image = s(cmd, "image");
    if blank(image) {
        errs.push(Diagnostic::error(
            "/image",
            format!("{c}image name cannot be blank."),
        ));
    }
    if image.is_some_and(|i| !i.is_empty() && !xnat_has_tag(i)) {
        errs.push(Diagnostic::error(
            "/image",
            format!("{c}image name must include version tag. e.g. image_name:tag"),
        ));
    }
    let ty = s(cmd, "type").unwrap_or("docker");
    match ty {
        "docker" => validate_docker(cmd, &c, &mut errs),
        "docker-setup" => validate_setup_or_wrapup(cmd, &c, "Setup", &mut errs),
        "docker-wrapup" => validate_setup_or_wrapup(cmd, &c, "Wrapup", &mut errs),
        other => errs.push(Diagnostic::error(
            "/type",
            format!(
                "{c}Cannot validate command of type \"{other}\". Known types: {}",
                COMMAND_TYPES.join(", ")
            ),
        )),
    }
    if s(cmd, "visibility").is_some_and(|v| !VISIBILITIES.contains(&v)) {
        errs.push(Diagnostic::error(
            "/visibility",
            format!("{c} has visibility set to an unknown value. Known types: public, private, protected"),
        ));
    }
    errs
}

/// `validateDockerSetupOrWrapupCommand`: such commands declare none of these.
fn validate_setup_or_wrapup(cmd: &Value, c: &str, kind: &str, errs: &mut Vec<Diagnostic>) {
    let non_empty = |k: &str| match cmd.get(k) {
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        _ => false,
    };
    for (key, what) in NOT_IN_SETUP {
        if non_empty(key) {
            errs.push(Diagnostic::error(
                format!("/{key}"),
                format!("{c} {kind} commands cannot declare any {what}."),
            ));
        }
    }
}

/// `validateDockerCommand`: the command's own docker settings, then each entity in the order
/// XNAT walks them, every one checked against those before it.
fn validate_docker(cmd: &Value, c: &str, errs: &mut Vec<Diagnostic>) {
    validate_ulimits(cmd, c, errs);
    validate_secrets(cmd, c, errs);
    let mounts = mount::validate_all(cmd, c, errs);
    let inputs = input::validate_all(cmd, c, errs);
    let outputs = output::validate_all(cmd, c, &mounts, errs);
    wrapper::validate_all(cmd, c, inputs, &outputs, errs);
}

/// `"name": "soft:hard"` or `"name": "limit"`.
fn validate_ulimits(cmd: &Value, c: &str, errs: &mut Vec<Diagnostic>) {
    let Some(ulimits) = cmd.get("ulimits").and_then(Value::as_object) else {
        return;
    };
    for (k, v) in ulimits {
        let v = v.as_str().unwrap_or("");
        // Java's split drops trailing empty strings.
        let mut parts: Vec<&str> = v.split(':').collect();
        while parts.last() == Some(&"") {
            parts.pop();
        }
        if v.is_empty() || (v.contains(':') && parts.len() > 2) {
            errs.push(Diagnostic::error(
                format!("/ulimits/{}", escape_pointer(k)),
                format!("{c} incorrect ulimit format: {v}. Should be \"name\" : \"softlimit:hardlimit\" or \"name\" : \"limit\""),
            ));
        }
    }
}

/// A secret's environment variable is neither reserved by XNAT nor set another way.
fn validate_secrets(cmd: &Value, c: &str, errs: &mut Vec<Diagnostic>) {
    let env = cmd.get("environment-variables").and_then(Value::as_object);
    for (i, secret) in list_field(cmd, "secrets").iter().enumerate() {
        let Some(dest) = secret
            .pointer("/destination/identifier")
            .and_then(Value::as_str)
        else {
            continue;
        };
        let p = format!("/secrets/{i}/destination/identifier");
        if RESERVED_ENV.contains(&dest) {
            errs.push(Diagnostic::error(
                &p,
                format!(
                    "{c}secret destination environment variable \"{dest}\" is reserved by XNAT"
                ),
            ));
        } else if env.is_some_and(|e| e.contains_key(dest)) {
            errs.push(Diagnostic::error(
                &p,
                format!("{c}secret destination environment variable \"{dest}\" is also set in environment-variables"),
            ));
        }
    }
}
