//! Warnings: what XNAT accepts but what breaks at launch or is likely a mistake (names that end
//! up in URLs, references to inputs or mounts that do not exist, replacement keys that match
//! nothing, keys XNAT ignores). XNAT itself checks none of this (§3.2 item 7).

use serde_json::Value;

use crate::command::normalize::{is_known_key, Level};
use crate::command::{escape_pointer, list_field as arr, str_ref as s, Diagnostic, Form};

/// What XNAT accepts but breaks at launch, or is likely a mistake. `raw` is the command as
/// written (for ignored keys), `cmd` as XNAT read it.
pub(super) fn warnings(raw: &Value, cmd: &Value, form: Form) -> Vec<Diagnostic> {
    let mut w = Vec::new();
    let url_unsafe = |n: &str| n.contains(' ') || n.contains('/');
    if let Some(n) = s(cmd, "name").filter(|n| url_unsafe(n)) {
        w.push(Diagnostic::warning(
            "/name",
            format!("command name \"{n}\" contains spaces or slashes: it ends up in launch URLs, prefer A-Za-z0-9_-"),
        ));
    }
    ignored_keys(raw, Level::Command, "", &mut w);

    let input_names: Vec<&str> = arr(cmd, "inputs")
        .iter()
        .filter_map(|i| s(i, "name"))
        .collect();
    let mount_names: Vec<&str> = arr(cmd, "mounts")
        .iter()
        .filter_map(|m| s(m, "name"))
        .collect();
    let mut keys: Vec<String> = arr(cmd, "inputs")
        .iter()
        .filter_map(|i| {
            s(i, "replacement-key")
                .filter(|k| !k.trim().is_empty())
                .map(str::to_string)
                .or_else(|| s(i, "name").map(|n| format!("#{n}#")))
        })
        .collect();
    for wrapper in arr(cmd, "xnat") {
        for kind in ["external-inputs", "derived-inputs"] {
            for i in arr(wrapper, kind) {
                keys.extend(
                    s(i, "replacement-key")
                        .filter(|k| !k.trim().is_empty())
                        .map(str::to_string)
                        .or_else(|| s(i, "name").map(|n| format!("#{n}#"))),
                );
            }
        }
    }
    if let Some(cl) = s(cmd, "command-line") {
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

    for (wi, wrapper) in arr(cmd, "xnat").iter().enumerate() {
        let wp = format!("/xnat/{wi}");
        if let Some(n) = s(wrapper, "name").filter(|n| url_unsafe(n)) {
            w.push(Diagnostic::warning(
                format!("{wp}/name"),
                format!("wrapper name \"{n}\" contains spaces or slashes: it ends up in launch URLs, prefer A-Za-z0-9_-"),
            ));
        }
        for kind in ["external-inputs", "derived-inputs"] {
            for (i, input) in arr(wrapper, kind).iter().enumerate() {
                let p = format!("{wp}/{kind}/{i}");
                let name = s(input, "name").unwrap_or("");
                if let Some(t) = s(input, "provides-value-for-command-input")
                    .filter(|t| !input_names.contains(t))
                {
                    w.push(Diagnostic::warning(
                        format!("{p}/provides-value-for-command-input"),
                        format!("wrapper input \"{name}\" provides a value for command input \"{t}\", which does not exist"),
                    ));
                }
                if let Some(t) = s(input, "provides-files-for-command-mount")
                    .filter(|t| !mount_names.contains(t))
                {
                    w.push(Diagnostic::warning(
                        format!("{p}/provides-files-for-command-mount"),
                        format!("wrapper input \"{name}\" provides files for mount \"{t}\", which does not exist"),
                    ));
                }
            }
        }
        for (i, h) in arr(
            raw.get("xnat")
                .and_then(|x| x.get(wi))
                .unwrap_or(&Value::Null),
            "output-handlers",
        )
        .iter()
        .enumerate()
        {
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
    w
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
