//! The `org.nrg.commands` label and command files, then each command through XNAT's
//! validation rules and the normalisation to what XNAT stores (both forms), as `validate`,
//! `install` and `plan` use them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xnat_cmd::command::{self, normalize, CommandView, Form};
use xnat_cmd::labels;

mod alloc_cap;

fuzz_target!(|data: &[u8]| {
    // Labels are JSON strings in an image config, command files are read as UTF-8.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut commands = Vec::new();
    match labels::parse_label(text) {
        Ok(parsed) => commands.extend(parsed.commands),
        Err(e) => {
            let _ = (e.to_string(), e.hint());
        }
    }
    if let Ok(more) = labels::parse_command_file(text) {
        commands.extend(more.commands);
    }
    let _ = labels::dockerfile_line(text);
    for cmd in &commands {
        for form in [Form::Create, Form::Update] {
            let diagnostics = xnat_cmd::validate(cmd, form);
            let _ = command::xnat_error_body(&diagnostics);
            if let Ok(n) = normalize::normalize(cmd, form) {
                let _ = normalize::canonical_for_compare(&n);
            }
        }
        let view = CommandView::new(cmd);
        let _ = (
            view.name(),
            view.version(),
            view.image(),
            view.command_type(),
        );
        for w in view.wrappers() {
            let _ = (w.name(), w.id(), w.contexts());
        }
        let _ = command::with_image(cmd, "registry.example/tool:1");
    }
});
