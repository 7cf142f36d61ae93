//! `xnat-cmd label`: for image authors, the `org.nrg.commands` value for command files, or a
//! Dockerfile `LABEL` line escaped so that Docker gives back exactly that value.
//!
//! NRG's `command2label.py` escapes `"` and `$` but not `\`, which breaks commands whose JSON
//! holds a backslash; we escape all three characters Docker unescapes inside double quotes.

use crate::exit::ExitStatus;

use serde_json::Value;

use xnat_cmd::command::validate::duplicate_names;
use xnat_cmd::labels::dockerfile_line;
use xnat_cmd::pipeline::{prepare_for_label, read_command_file};
use xnat_cmd::problem::Problem;

use crate::args::LabelArgs;
use crate::output::{self, CliError};
use crate::settings::Settings;
use crate::verdict::{human, verdict};

pub fn run(args: LabelArgs, _settings: &Settings) -> Result<ExitStatus, CliError> {
    let mut commands: Vec<Value> = Vec::new();
    // The file each command came from, for messages.
    let mut origins: Vec<String> = Vec::new();
    let mut verdicts = Vec::new();
    for path in &args.files {
        let file = read_command_file(path).map_err(|e| CliError::work_of(&e))?;
        for w in &file.warnings {
            output::warn(format_args!("{}: {w}", path.display()));
        }
        for c in file.commands {
            let p = prepare_for_label(&c);
            if !p.valid() {
                verdicts.push(verdict(&path.display().to_string(), &p, true));
            }
            commands.push(c);
            origins.push(path.display().to_string());
        }
    }
    if !verdicts.is_empty() {
        // Invalid commands never reach stdout: a label built from them would be refused.
        let mut err = std::io::stderr().lock();
        let _ = std::io::Write::write_all(&mut err, human(&verdicts).as_bytes());
        drop(err);
        let n = verdicts.len();
        return Err(CliError::Work(Problem::new(format!(
            "{n} invalid command{}: no label written",
            if n == 1 { "" } else { "s" }
        ))));
    }
    // One label, one image: XNAT installs every command under it, so names repeat across the
    // files as they would within one (compared without each file's own `image`).
    let imageless: Vec<Value> = commands
        .iter()
        .map(|c| {
            let mut c = c.clone();
            if let Some(o) = c.as_object_mut() {
                o.remove("image");
            }
            c
        })
        .collect();
    let twins = duplicate_names(&imageless);
    if let Some((i, d)) = twins.first() {
        // One line, the first repeat named; the others counted.
        let more = match twins.len() - 1 {
            0 => String::new(),
            n => format!(" ({n} more repeated)"),
        };
        return Err(CliError::Work(Problem::new(format!(
            "{}: {}{more}; one label, one image: no label written",
            origins.get(*i).map(String::as_str).unwrap_or("?"),
            d.message
        ))));
    }
    let json = serde_json::to_string(&commands).map_err(CliError::work)?;
    let text = if args.dockerfile {
        dockerfile_line(&json)
    } else {
        json + "\n"
    };
    output::print_stdout(&text)?;
    Ok(ExitStatus::Success)
}
