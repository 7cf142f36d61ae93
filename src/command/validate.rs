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

use serde::Serialize;
use serde_json::Value;

use super::normalize::{self, image_has_tag};

/// Which JSON form XNAT reads the command in: creation (`POST /xapi/commands`, labels)
/// or full (`POST /xapi/commands/{id}`, GET output).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Form {
    #[default]
    Create,
    Update,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// XNAT would reject the command (400, or a 500 for what fails before validation).
    Error,
    /// XNAT accepts it, but it will misbehave at launch or is likely a mistake.
    Warning,
}

/// One finding, located by a JSON pointer into the command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub pointer: String,
    pub message: String,
}

impl Diagnostic {
    fn error(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            pointer: pointer.into(),
            message: message.into(),
        }
    }

    pub(super) fn warning(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            pointer: pointer.into(),
            message: message.into(),
        }
    }
}

/// XNAT's 400 body for these findings (errors only): `Invalid command:\n\t<e1>\n\t<e2>…`.
pub fn xnat_error_body(errors: &[Diagnostic]) -> String {
    let msgs: Vec<&str> = errors
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.message.as_str())
        .collect();
    if msgs.is_empty() {
        "Invalid command".to_string()
    } else {
        format!("Invalid command:\n\t{}", msgs.join("\n\t"))
    }
}

/// The command with `image` replaced, as `POST /xapi/commands?image=REF` does (a blank
/// reference leaves the command's own image).
pub fn with_image(command: &Value, image: &str) -> Value {
    let mut c = command.clone();
    if !image.trim().is_empty() {
        if let Some(obj) = c.as_object_mut() {
            obj.insert("image".into(), Value::String(image.to_string()));
        }
    }
    c
}

const WRAPPER_INPUT_TYPES: &[&str] = &[
    "string",
    "boolean",
    "number",
    "Directory",
    "File[]",
    "File",
    "Project",
    "ProjectAsset",
    "Subject",
    "SubjectAssessor",
    "Session",
    "Scan",
    "Assessor",
    "Resource",
    "Config",
    "file",
];
const HANDLER_TYPES: &[&str] = &["Resource", "Assessor", "Scan"];
const MULTIPLE_DELIMITERS: &[&str] = &["quoted-space", "space", "comma", "flag"];
const COMMAND_TYPES: &[&str] = &["docker", "docker-setup", "docker-wrapup"];
const VISIBILITIES: &[&str] = &["public", "private", "protected"];
const RESERVED_ENV: &[&str] = &["XNAT_USER", "XNAT_PASS", "XNAT_HOST"];

const SELECT_NOTE: &str = "Note that command inputs with values provided by xnat inputs shouldn't be \
designated as select (they'll automatically render as a select if their xnat input resolves to more than one value).";

/// Validate one command value as XNAT would for `form`.
pub fn validate(command: &serde_json::Value, form: Form) -> Vec<Diagnostic> {
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
    if let Some(fatal) = fatal_before_validation(&cmd, form) {
        return vec![fatal];
    }
    let mut out = xnat_errors(&cmd);
    out.extend(super::warnings::warnings(command, &cmd, form));
    out
}

pub(super) fn s<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

pub(super) fn arr<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn blank(v: Option<&str>) -> bool {
    v.is_none_or(|s| s.trim().is_empty())
}

/// Java's `"" + s` for a nullable string.
fn js(v: Option<&str>) -> &str {
    v.unwrap_or("null")
}

fn bad_chars(name: &str) -> bool {
    name.bytes()
        .any(|b| !(b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
}

/// What fails with a 500 before (or inside) `validate()`, so nothing else is reported.
fn fatal_before_validation(cmd: &Value, form: Form) -> Option<Diagnostic> {
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
    for (i, o) in arr(cmd, "outputs").iter().enumerate() {
        if s(o, "name").is_none() {
            return Some(Diagnostic::error(
                format!("/outputs/{i}"),
                format!("command output {i} has no name: XNAT fails with a 500 (NullPointerException) instead of validating"),
            ));
        }
    }
    for (w, wrapper) in arr(cmd, "xnat").iter().enumerate() {
        for (i, h) in arr(wrapper, "output-handlers").iter().enumerate() {
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
fn xnat_errors(cmd: &Value) -> Vec<Diagnostic> {
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
    if image.is_some_and(|i| !i.is_empty() && !image_has_tag(i)) {
        errs.push(Diagnostic::error(
            "/image",
            format!("{c}image name must include version tag. e.g. image_name:tag"),
        ));
    }
    let ty = s(cmd, "type").unwrap_or("docker");
    match ty {
        "docker" => docker_errors(cmd, &c, &mut errs),
        "docker-setup" => setup_errors(cmd, &c, "Setup", &mut errs),
        "docker-wrapup" => setup_errors(cmd, &c, "Wrapup", &mut errs),
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

fn setup_errors(cmd: &Value, c: &str, kind: &str, errs: &mut Vec<Diagnostic>) {
    let non_empty = |k: &str| match cmd.get(k) {
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        _ => false,
    };
    for (key, what) in [
        ("mounts", "mounts"),
        ("inputs", "inputs"),
        ("outputs", "outputs"),
        ("xnat", "wrappers"),
        ("environment-variables", "environment variables"),
        ("ports", "ports"),
        ("secrets", "secrets"),
    ] {
        if non_empty(key) {
            errs.push(Diagnostic::error(
                format!("/{key}"),
                format!("{c} {kind} commands cannot declare any {what}."),
            ));
        }
    }
}

/// Java `HashSet<String>` iteration order for these elements inserted in this order:
/// bucket index of the spread `String.hashCode()`, insertion order within a bucket.
pub fn java_hash_set_order<'a>(inserted: &[&'a str]) -> Vec<&'a str> {
    let mut items: Vec<&'a str> = Vec::new();
    let mut cap: usize = 16;
    for &x in inserted {
        if !items.contains(&x) {
            items.push(x);
            if items.len() > cap * 3 / 4 {
                cap *= 2;
            }
        }
    }
    let bucket = |s: &str| {
        let mut h: i32 = 0;
        for u in s.encode_utf16() {
            h = h.wrapping_mul(31).wrapping_add(u as i32);
        }
        let h = (h as u32) ^ ((h as u32) >> 16);
        (h as usize) & (cap - 1)
    };
    let mut keyed: Vec<(usize, usize, &'a str)> = items
        .iter()
        .enumerate()
        .map(|(i, x)| (bucket(x), i, *x))
        .collect();
    keyed.sort();
    keyed.into_iter().map(|(_, _, x)| x).collect()
}

fn java_list(items: &[String]) -> String {
    format!("[{}]", items.join(", "))
}

fn docker_errors(cmd: &Value, c: &str, errs: &mut Vec<Diagnostic>) {
    if let Some(ulimits) = cmd.get("ulimits").and_then(Value::as_object) {
        for (k, v) in ulimits {
            let v = v.as_str().unwrap_or("");
            // Java's split drops trailing empty strings.
            let mut parts: Vec<&str> = v.split(':').collect();
            while parts.last() == Some(&"") {
                parts.pop();
            }
            if v.is_empty() || (v.contains(':') && parts.len() > 2) {
                errs.push(Diagnostic::error(
                    format!("/ulimits/{}", normalize::escape_pointer(k)),
                    format!("{c} incorrect ulimit format: {v}. Should be \"name\" : \"softlimit:hardlimit\" or \"name\" : \"limit\""),
                ));
            }
        }
    }
    let env = cmd.get("environment-variables").and_then(Value::as_object);
    for (i, secret) in arr(cmd, "secrets").iter().enumerate() {
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

    let mut mount_names: Vec<&str> = Vec::new();
    for (i, m) in arr(cmd, "mounts").iter().enumerate() {
        let p = format!("/mounts/{i}");
        let name = s(m, "name").unwrap_or("");
        if mount_names.contains(&name) {
            errs.push(Diagnostic::error(
                &p,
                format!("{c}mount name \"{name}\" is not unique."),
            ));
        } else {
            mount_names.push(name);
        }
        if name.trim().is_empty() {
            errs.push(Diagnostic::error(
                &p,
                format!("{c}Mount name cannot be blank."),
            ));
        }
        if blank(s(m, "path")) {
            errs.push(Diagnostic::error(
                &p,
                format!("{c}Mount \"{name}\" path cannot be blank."),
            ));
        }
    }
    let known_mounts = java_hash_set_order(&mount_names).join(", ");

    let inputs = arr(cmd, "inputs");
    let mut input_names: Vec<&str> = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let p = format!("/inputs/{i}");
        let name = s(input, "name").unwrap_or("");
        if input_names.contains(&name) {
            errs.push(Diagnostic::error(
                &p,
                format!("{c}input name \"{name}\" is not unique."),
            ));
        } else {
            input_names.push(name);
        }
        for m in command_input_errors(input) {
            errs.push(Diagnostic::error(&p, format!("{c}{m}")));
        }
    }
    let is_select_input = |name: Option<&str>| -> Option<&Value> {
        let name = name?;
        // Java keeps the first input of a name in its map.
        inputs
            .iter()
            .find(|i| s(i, "name") == Some(name))
            .filter(|i| {
                matches!(s(i, "type"), Some("select-one") | Some("select-many"))
                    || !arr(i, "select-values").is_empty()
            })
    };

    let mut output_names: Vec<&str> = Vec::new();
    for (i, o) in arr(cmd, "outputs").iter().enumerate() {
        let p = format!("/outputs/{i}");
        let name = s(o, "name").unwrap_or("");
        if output_names.contains(&name) {
            errs.push(Diagnostic::error(
                &p,
                format!("{c}output name \"{name}\" is not unique."),
            ));
        } else {
            output_names.push(name);
        }
        let mount = s(o, "mount");
        if !mount.is_some_and(|m| mount_names.contains(&m)) {
            errs.push(Diagnostic::error(
                &p,
                format!(
                    "{c}output \"{name}\" references unknown mount \"{}\". Known mounts: {known_mounts}",
                    js(mount)
                ),
            ));
        }
        if name.trim().is_empty() {
            errs.push(Diagnostic::error(
                &p,
                format!("{c}Output name cannot be blank."),
            ));
        }
        if blank(mount) {
            errs.push(Diagnostic::error(
                &p,
                format!("{c}Output \"{name}\" - mount cannot be blank."),
            ));
        }
        if bad_chars(name) {
            errs.push(Diagnostic::error(
                &p,
                format!("{c}Command output \"{name}\" name should contain only alphanumeric, _ and - characters."),
            ));
        }
    }
    let output_order = java_hash_set_order(&output_names);
    let known_outputs = output_order.join(", ");

    let mut wrapper_names: Vec<&str> = Vec::new();
    for (wi, wrapper) in arr(cmd, "xnat").iter().enumerate() {
        let wp = format!("/xnat/{wi}");
        let wname = s(wrapper, "name");
        let wkey = js(wname);
        if wrapper_names.contains(&wkey) {
            errs.push(Diagnostic::error(
                &wp,
                format!("{c}wrapper name \"{wkey}\" is not unique."),
            ));
        } else {
            wrapper_names.push(wkey);
        }
        let w = format!("{c}wrapper \"{wkey}\" - ");
        // (name, is derived, derived-from-xnat-object-property)
        let mut wrapper_inputs: Vec<(&str, Option<&Value>)> = Vec::new();
        for (i, ext) in arr(wrapper, "external-inputs").iter().enumerate() {
            let p = format!("{wp}/external-inputs/{i}");
            let name = s(ext, "name").unwrap_or("");
            let own = wrapper_input_errors(ext);
            if wrapper_inputs.iter().any(|(n, _)| *n == name) {
                errs.push(Diagnostic::error(
                    &p,
                    format!("{w}external input name \"{name}\" is not unique."),
                ));
            } else {
                wrapper_inputs.push((name, None));
            }
            if let Some(target) = is_select_input(s(ext, "provides-value-for-command-input")) {
                errs.push(Diagnostic::error(
                    &p,
                    format!(
                        "{w}external input \"{name}\" provides values for command input \"{}\", which is a select type. {SELECT_NOTE}",
                        js(s(target, "name"))
                    ),
                ));
            }
            errs.extend(
                own.into_iter()
                    .map(|m| Diagnostic::error(&p, format!("{w}{m}"))),
            );
        }
        let mut multiple: Vec<&str> = Vec::new();
        for (i, der) in arr(wrapper, "derived-inputs").iter().enumerate() {
            let p = format!("{wp}/derived-inputs/{i}");
            let name = s(der, "name").unwrap_or("");
            let mut own = wrapper_input_errors(der);
            let from = s(der, "derived-from-wrapper-input");
            if blank(from) {
                own.push(format!(
                    "Command wrapper input \"{name}\" - property \"derived-from-wrapper-input\" cannot be blank."
                ));
            }
            let is_multiple = der
                .get("multiple")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            if is_multiple {
                if !blank(s(der, "provides-files-for-command-mount")) {
                    own.push(format!("derived input \"{name}\" is designated as a \"multiple\" input, which means it cannot provide files for command mounts (consider mounting the parent element)."));
                }
                if blank(s(der, "provides-value-for-command-input")) {
                    // Sic: XNAT's message lacks the space between "which" and "means".
                    own.push(format!("derived input \"{name}\" is designated as a \"multiple\" input, whichmeans it must directly provide values for some command input."));
                }
            }
            if wrapper_inputs.iter().any(|(n, _)| *n == name) {
                errs.push(Diagnostic::error(
                    &p,
                    format!("{w}derived input name \"{name}\" is not unique."),
                ));
            } else {
                wrapper_inputs.push((name, Some(der)));
            }
            if Some(name) == from {
                errs.push(Diagnostic::error(
                    &p,
                    format!("{w}derived input \"{name}\" is derived from itself."),
                ));
            }
            if !from.is_some_and(|f| wrapper_inputs.iter().any(|(n, _)| *n == f)) {
                errs.push(Diagnostic::error(
                    &p,
                    format!(
                        "{w}derived input \"{name}\" is derived from an unknown XNAT input \"{}\". Known inputs: {}",
                        js(from),
                        known_inputs(&wrapper_inputs)
                    ),
                ));
            }
            if let Some(target) = is_select_input(s(der, "provides-value-for-command-input")) {
                errs.push(Diagnostic::error(
                    &p,
                    format!(
                        "{w}derived input \"{name}\" provides values for command input \"{}\", which is a select type. {SELECT_NOTE}",
                        js(s(target, "name"))
                    ),
                ));
            }
            errs.extend(
                own.into_iter()
                    .map(|m| Diagnostic::error(&p, format!("{w}{m}"))),
            );
            if is_multiple {
                multiple.push(name);
            }
        }
        let known_wrapper_inputs = known_inputs(&wrapper_inputs);

        let mut handler_names: Vec<&str> = Vec::new();
        let mut handled: Vec<&str> = Vec::new();
        for (i, h) in arr(wrapper, "output-handlers").iter().enumerate() {
            let p = format!("{wp}/output-handlers/{i}");
            let hname = s(h, "name").unwrap_or("");
            let accepts = s(h, "accepts-command-output");
            if accepts.is_some_and(|a| output_names.contains(&a)) {
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
            let target_input = target.and_then(|t| wrapper_inputs.iter().find(|(n, _)| *n == t));
            if target_input.is_none() && !target.is_some_and(|t| handler_names.contains(&t)) {
                errs.push(Diagnostic::error(
                    &p,
                    format!(
                        "{w}output handler does not refer to a known wrapper input or output. \"as-a-child-of\": \"{}\".\nKnown inputs: {known_wrapper_inputs}.\nKnown outputs (so far): {}.",
                        js(target),
                        java_hash_set_order(&handler_names).join(", ")
                    ),
                ));
            }
            if target.is_some_and(|t| multiple.contains(&t)) {
                errs.push(Diagnostic::error(
                    &p,
                    format!(
                        "{w}output handler \"{hname}\" has \"as-a-child-of\": \"{}\", but that input is set to allow multiple values.",
                        js(target)
                    ),
                ));
            }
            if let Some((_, Some(der))) = target_input {
                if let Some(prop) =
                    s(der, "derived-from-xnat-object-property").filter(|p| *p != "uri")
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
            if handler_names.contains(&hname) {
                errs.push(Diagnostic::error(
                    &p,
                    format!("{w}output handler name \"{hname}\" is not unique."),
                ));
            } else {
                handler_names.push(hname);
            }
            errs.extend(
                handler_errors(h)
                    .into_iter()
                    .map(|m| Diagnostic::error(&p, format!("{w}{m}"))),
            );
        }
        for o in &output_order {
            if !handled.contains(o) {
                errs.push(Diagnostic::error(
                    &wp,
                    format!("{w}command output \"{o}\" is not handled by any output handler."),
                ));
            }
        }
        if blank(wname) {
            errs.push(Diagnostic::error(
                &wp,
                format!("{c}Command wrapper name cannot be blank."),
            ));
        }
    }
}

/// XNAT prints the Java map itself here; we print its keys in Java's order (see module doc).
fn known_inputs(inputs: &[(&str, Option<&Value>)]) -> String {
    let names: Vec<&str> = inputs.iter().map(|(n, _)| *n).collect();
    java_hash_set_order(&names).join(", ")
}

fn command_input_errors(input: &Value) -> Vec<String> {
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
    let is_select = ty == "select-one" || ty == "select-many";
    let values: Vec<String> = arr(input, "select-values")
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
        .and_then(|l| l.iter().map(super::lenient_string).collect());
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

fn wrapper_input_errors(input: &Value) -> Vec<String> {
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

fn handler_errors(h: &Value) -> Vec<String> {
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

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
