//! Warnings: what XNAT accepts but what breaks at launch or is likely a mistake (names that end
//! up in URLs, references to inputs or mounts that do not exist, replacement keys that match
//! nothing, keys XNAT ignores). XNAT itself checks none of this (§3.2 item 7).

use serde_json::Value;

use crate::command::fields::{is_known_key, Level, SCHEMA_KEY};
use crate::command::{escape_pointer, list_field as arr, str_ref as s, Diagnostic, Form};

/// What XNAT accepts but breaks at launch, or is likely a mistake. `raw` is the command as
/// written (for ignored keys), `cmd` as XNAT read it.
pub(super) fn warnings(raw: &Value, cmd: &Value, form: Form) -> Vec<Diagnostic> {
    let mut w = Vec::new();
    url_unsafe_name(cmd, "", "command", &mut w);
    ignored_keys(raw, Level::Command, "", &mut w);
    unmatched_replacement_keys(cmd, &mut w);
    for (wi, wrapper) in arr(cmd, "xnat").iter().enumerate() {
        let wp = format!("/xnat/{wi}");
        url_unsafe_name(wrapper, &wp, "wrapper", &mut w);
        dangling_wrapper_inputs(cmd, wrapper, &wp, &mut w);
        let raw_wrapper = raw
            .get("xnat")
            .and_then(|x| x.get(wi))
            .unwrap_or(&Value::Null);
        old_handler_keys(raw_wrapper, &wp, form, &mut w);
    }
    w
}

/// A command or wrapper name ends up in launch URLs.
fn url_unsafe_name(v: &Value, pointer: &str, what: &str, w: &mut Vec<Diagnostic>) {
    if let Some(n) = s(v, "name").filter(|n| n.contains(' ') || n.contains('/')) {
        w.push(Diagnostic::warning(
            format!("{pointer}/name"),
            format!("{what} name \"{n}\" contains spaces or slashes: it ends up in launch URLs, prefer A-Za-z0-9_-"),
        ));
    }
}

/// Java's `Input.replacementKey()`: the key as written unless blank, else `#name#`.
fn replacement_key(input: &Value) -> Option<String> {
    s(input, "replacement-key")
        .filter(|k| !k.trim().is_empty())
        .map(str::to_string)
        .or_else(|| s(input, "name").map(|n| format!("#{n}#")))
}

/// `#KEY#` tokens of the command line that no command or wrapper input replaces.
fn unmatched_replacement_keys(cmd: &Value, w: &mut Vec<Diagnostic>) {
    let Some(cl) = s(cmd, "command-line") else {
        return;
    };
    let wrapper_inputs = arr(cmd, "xnat").iter().flat_map(|wrapper| {
        ["external-inputs", "derived-inputs"]
            .into_iter()
            .flat_map(|kind| arr(wrapper, kind))
    });
    let keys: Vec<String> = arr(cmd, "inputs")
        .iter()
        .chain(wrapper_inputs)
        .filter_map(replacement_key)
        .collect();
    let mut seen = Vec::new();
    for key in replacement_keys(cl) {
        if !keys.contains(&key) && !seen.contains(&key) {
            w.push(Diagnostic::warning(
                "/command-line",
                format!("command-line uses {key}, which matches no input's replacement key: it is passed to the container literally"),
            ));
            seen.push(key);
        }
    }
}

/// Wrapper inputs that provide for a command input or mount that does not exist.
fn dangling_wrapper_inputs(cmd: &Value, wrapper: &Value, wp: &str, w: &mut Vec<Diagnostic>) {
    let names =
        |key: &str| -> Vec<&str> { arr(cmd, key).iter().filter_map(|i| s(i, "name")).collect() };
    let targets = [
        (
            "provides-value-for-command-input",
            names("inputs"),
            "provides a value for command input",
        ),
        (
            "provides-files-for-command-mount",
            names("mounts"),
            "provides files for mount",
        ),
    ];
    for kind in ["external-inputs", "derived-inputs"] {
        for (i, input) in arr(wrapper, kind).iter().enumerate() {
            let name = s(input, "name").unwrap_or("");
            for (key, known, provides) in &targets {
                if let Some(t) = s(input, key).filter(|t| !known.contains(t)) {
                    w.push(Diagnostic::warning(
                        format!("{wp}/{kind}/{i}/{key}"),
                        format!(
                            "wrapper input \"{name}\" {provides} \"{t}\", which does not exist"
                        ),
                    ));
                }
            }
        }
    }
}

/// Handlers (as written) that still use the pre-1.0 key for their parent.
fn old_handler_keys(raw_wrapper: &Value, wp: &str, form: Form, w: &mut Vec<Diagnostic>) {
    for (i, h) in arr(raw_wrapper, "output-handlers").iter().enumerate() {
        if h.get("as-a-child-of-wrapper-input")
            .is_some_and(|v| !v.is_null())
            && h.get("as-a-child-of").is_none_or(Value::is_null)
        {
            let msg = match form {
                Form::Create => "old key \"as-a-child-of-wrapper-input\": XNAT reads it on create, but not on update; rename it to \"as-a-child-of\"",
                Form::Update => "old key \"as-a-child-of-wrapper-input\" is not read on update: rename it to \"as-a-child-of\"",
            };
            w.push(Diagnostic::warning(
                format!("{wp}/output-handlers/{i}/as-a-child-of-wrapper-input"),
                msg,
            ));
        }
    }
}

/// `#KEY#` tokens of a command line.
fn replacement_keys(cl: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = cl.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'#' {
            let start = i;
            let mut j = i + 1;
            while j < bytes.len()
                && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_' || bytes[j] == b'-')
            {
                j += 1;
            }
            if j < bytes.len() && bytes[j] == b'#' && j > start + 1 {
                out.push(cl[start..=j].to_string());
                i = j + 1;
                continue;
            }
        }
        i += 1;
    }
    out
}

/// Keys XNAT's reader ignores, one warning each (old schema keys get a word of explanation).
fn ignored_keys(v: &Value, level: Level, pointer: &str, w: &mut Vec<Diagnostic>) {
    let Some(obj) = v.as_object() else { return };
    for (k, child) in obj {
        let p = format!("{pointer}/{}", escape_pointer(k));
        if level == Level::Command && k == SCHEMA_KEY {
            // An editor's pointer to the JSON Schema (`xnat-cmd schema command`): XNAT
            // ignores it like any unknown key, and it is no mistake.
            continue;
        }
        if !is_known_key(level, k) {
            let why = match (level, k.as_str()) {
                (Level::Mount, "type") => {
                    " (pre-1.0 mount type: mounts are now input or output by use)"
                }
                (Level::Command, "workdir") => " (did you mean \"working-directory\"?)",
                _ => "",
            };
            w.push(Diagnostic::warning(
                &p,
                format!("key \"{k}\" is ignored by XNAT{why}"),
            ));
            continue;
        }
        let child_level = match (level, k.as_str()) {
            (Level::Command, "mounts") => Level::Mount,
            (Level::Command, "inputs") => Level::Input,
            (Level::Command, "outputs") => Level::Output,
            (Level::Command, "xnat") => Level::Wrapper,
            (Level::Wrapper, "external-inputs") => Level::External,
            (Level::Wrapper, "derived-inputs") => Level::Derived,
            (Level::Wrapper, "output-handlers") => Level::Handler,
            _ => continue,
        };
        if let Some(items) = child.as_array() {
            for (i, item) in items.iter().enumerate() {
                ignored_keys(item, child_level, &format!("{p}/{i}"), w);
            }
        }
    }
}
