//! `xnat-cmd validate`: command files and image sources → XNAT's verdict per command.
//!
//! A command file is checked as `POST /xapi/commands` would (create rules, `--image` playing
//! `?image=`); an image source's commands get the source's reference injected first, as
//! `install` does. Exit 0 when every command is valid, 1 when any is invalid or any input is
//! unreadable.

use std::path::Path;
use std::process::ExitCode;

use serde::Serialize;
use serde_json::Value;

use xnat_cmd::command::normalize::default_tag;
use xnat_cmd::command::validate::{with_image, Diagnostic};
use xnat_cmd::labels::{commands_from_labels, parse_command_file, CommandFileError, LabelError};
use xnat_cmd::source::{Reader, SourceError, SourceSpec};
use xnat_cmd::{validate, CommandView, Form, Severity};

use crate::args::{GlobalArgs, ValidateArgs};
use crate::output::{self, CliError};

/// Why one input gave no commands to check.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("failed to read `{path}`")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{path}` is not a command file")]
    NotCommands {
        path: String,
        #[source]
        source: CommandFileError,
    },
    #[error("failed to read `{source_text}`")]
    Source {
        source_text: String,
        // Boxed: source errors are large and this enum travels in every Result here.
        #[source]
        source: Box<SourceError>,
    },
    #[error("failed to read the commands of `{source_text}`")]
    Label {
        source_text: String,
        #[source]
        source: LabelError,
    },
    #[error("`{source_text}` records no image reference to check its commands with")]
    NoImage { source_text: String },
}

impl InputError {
    fn hint(&self) -> Option<&'static str> {
        match self {
            InputError::Label { source, .. } => source.hint(),
            InputError::NoImage { .. } => Some("give one with `--image REF`"),
            _ => None,
        }
    }
}

/// One finding in the JSON report.
#[derive(Debug, Serialize)]
pub struct Finding {
    pub pointer: String,
    pub message: String,
}

/// One command's verdict (or one unreadable input, with `command: null`).
#[derive(Debug, Serialize)]
pub struct Verdict {
    pub source: String,
    pub command: Option<String>,
    /// The image the command was checked with (after `--image` or injection, and `:latest`).
    pub image: Option<String>,
    pub valid: bool,
    pub errors: Vec<Finding>,
    pub warnings: Vec<Finding>,
}

/// Is this argument a command JSON file rather than an image source?
pub fn is_command_file(arg: &str) -> bool {
    if arg.ends_with(".json") {
        return true;
    }
    // An existing file whose content starts like JSON (archives start with a tar header).
    // Only the first bytes are read: archives can be gigabytes.
    let path = Path::new(arg);
    let mut head = [0u8; 4096];
    let n = match path.is_file().then(|| std::fs::File::open(path)) {
        Some(Ok(mut f)) => std::io::Read::read(&mut f, &mut head).unwrap_or(0),
        _ => return false,
    };
    head[..n]
        .iter()
        .copied()
        .find(|c| !c.is_ascii_whitespace())
        .is_some_and(|c| c == b'{' || c == b'[')
}

/// Read a command file: one object or a list of them.
pub fn read_command_file(path: &str) -> Result<Vec<Value>, InputError> {
    let text = std::fs::read_to_string(path).map_err(|source| InputError::Read {
        path: path.to_string(),
        source,
    })?;
    parse_command_file(&text).map_err(|source| InputError::NotCommands {
        path: path.to_string(),
        source,
    })
}

/// Check `cmd` with `image` in place of its own (when given), as XNAT's create would.
pub fn verdict(source: &str, cmd: &Value, image: Option<&str>) -> Verdict {
    let cmd = match image {
        Some(i) => with_image(cmd, i),
        None => cmd.clone(),
    };
    let diags = validate(&cmd, Form::Create);
    let pick = |sev: Severity| -> Vec<Finding> {
        diags
            .iter()
            .filter(|d: &&Diagnostic| d.severity == sev)
            .map(|d| Finding {
                pointer: d.pointer.clone(),
                message: d.message.clone(),
            })
            .collect()
    };
    let errors = pick(Severity::Error);
    Verdict {
        source: source.to_string(),
        command: CommandView::new(&cmd).name(),
        image: CommandView::new(&cmd).image().map(|i| default_tag(&i)),
        valid: errors.is_empty(),
        errors,
        warnings: pick(Severity::Warning),
    }
}

pub async fn run(args: ValidateArgs, _global: &GlobalArgs) -> Result<ExitCode, CliError> {
    let reader = Reader::new(args.source.read_options()?);
    // Image sources are read concurrently, registry tokens planned for the whole run.
    let specs: Vec<SourceSpec> = args
        .inputs
        .iter()
        .filter(|i| !is_command_file(i))
        .filter_map(|i| SourceSpec::parse(i).ok())
        .collect();
    reader.prepare(&specs);
    let checks = args
        .inputs
        .iter()
        .map(|input| check_input(&reader, input, args.image.as_deref()));
    let results = futures::future::join_all(checks).await;
    let mut verdicts = Vec::new();
    let mut failed_inputs = Vec::new();
    for (input, result) in args.inputs.iter().zip(results) {
        match result {
            Ok(v) => verdicts.extend(v),
            Err(e) => failed_inputs.push((input.clone(), e)),
        }
    }
    let ok = failed_inputs.is_empty() && verdicts.iter().all(|v| v.valid);
    if args.json {
        for (input, e) in &failed_inputs {
            verdicts.push(Verdict {
                source: input.clone(),
                command: None,
                image: None,
                valid: false,
                errors: vec![Finding {
                    pointer: String::new(),
                    message: error_chain(e),
                }],
                warnings: vec![],
            });
        }
        let text = serde_json::to_string_pretty(&verdicts).map_err(CliError::work)?;
        output::print_stdout(&(text + "\n"))?;
    } else if !verdicts.is_empty() {
        output::print_stdout(&human(&verdicts))?;
    }
    for (_, e) in failed_inputs {
        let hint = e.hint();
        let mut err = CliError::work(e);
        if let Some(h) = hint {
            err = err.with_hint(h);
        }
        output::report(err);
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn check_input(
    reader: &Reader,
    input: &str,
    image: Option<&str>,
) -> Result<Vec<Verdict>, InputError> {
    if is_command_file(input) {
        let cmds = read_command_file(input)?;
        return Ok(cmds.iter().map(|c| verdict(input, c, image)).collect());
    }
    let source_err = |source: SourceError| InputError::Source {
        source_text: input.to_string(),
        source: Box::new(source),
    };
    let spec = SourceSpec::parse(input).map_err(|e| source_err(e.into()))?;
    let result = reader.read(&spec).await.map_err(source_err)?;
    for w in &result.warnings {
        output::warn(format_args!("{input}: {w}"));
    }
    let several = result.images.len() > 1;
    let mut out = Vec::new();
    for record in &result.images {
        let parsed = commands_from_labels(&record.labels).map_err(|source| InputError::Label {
            source_text: input.to_string(),
            source,
        })?;
        for w in &parsed.warnings {
            output::warn(format_args!("{input}: {w}"));
        }
        let image = image
            .map(str::to_string)
            .or_else(|| record.image.clone())
            .ok_or_else(|| InputError::NoImage {
                source_text: input.to_string(),
            })?;
        let name = match (&record.platform, several) {
            (Some(p), true) => format!("{input} ({p})"),
            _ => input.to_string(),
        };
        out.extend(
            parsed
                .commands
                .iter()
                .map(|c| verdict(&name, c, Some(&image))),
        );
    }
    Ok(out)
}

/// The error and its causes on one line, for the JSON report.
fn error_chain(e: &InputError) -> String {
    let mut msg = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        msg.push_str(": ");
        msg.push_str(&c.to_string());
        cause = c.source();
    }
    msg
}

/// `✓ name  (source)`, then indented findings, then a summary.
pub fn human(verdicts: &[Verdict]) -> String {
    let mut out = String::new();
    for v in verdicts {
        let mark = if v.valid { '✓' } else { '✗' };
        let name = v.command.as_deref().unwrap_or("(no name)");
        out.push_str(&format!("{mark} {name}  ({})\n", v.source));
        for (kind, list) in [("error", &v.errors), ("warning", &v.warnings)] {
            for f in list.iter() {
                let at = if f.pointer.is_empty() {
                    String::new()
                } else {
                    format!(" at {}", f.pointer)
                };
                // Some XNAT messages span lines: keep them under the finding.
                let msg = f.message.replace('\n', "\n      ");
                out.push_str(&format!("    {kind}{at}: {msg}\n"));
            }
        }
    }
    let invalid = verdicts.iter().filter(|v| !v.valid).count();
    let plural = if verdicts.len() == 1 { "" } else { "s" };
    out.push_str(&format!(
        "{} command{plural} checked: {} valid, {invalid} invalid\n",
        verdicts.len(),
        verdicts.len() - invalid
    ));
    out
}
