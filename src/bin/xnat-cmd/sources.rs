//! A subcommand's side of the library pipeline: arguments classified first (a bad one is a
//! usage error before any I/O), then [`xnat_cmd::pipeline::run`], with each input's warnings
//! and failures printed the one way every subcommand prints them.

use xnat_cmd::pipeline::{self, merge_repeated, Item, ItemError, Options, Prepared};
use xnat_cmd::problem::{problem, Problem};
use xnat_cmd::source::SourceOptions;
use xnat_cmd::Severity;

use crate::output::{self, error, warn, CliError};

/// Classify `texts` (command files too when `allow_files`), then read and prepare them all.
pub async fn run(
    texts: &[String],
    allow_files: bool,
    source: &SourceOptions,
    opts: &Options,
) -> Result<Vec<Item>, CliError> {
    let inputs = pipeline::classify_all(texts, allow_files).map_err(|e| CliError::usage_of(&e))?;
    if !opts.read.verify_keys.is_empty() {
        pipeline::check_verifiable(texts, &inputs).map_err(|e| CliError::usage_of(&e))?;
    }
    Ok(pipeline::run(texts, &inputs, source, opts).await)
}

/// Print an item's warnings, `warning: INPUT: …`.
pub fn warn_item(item: &Item) {
    for w in &item.warnings {
        output::warn(format_args!("{}: {w}", item.input));
    }
}

/// An item's failure as the user sees it, naming the input.
pub fn item_problem(input: &str, e: &ItemError) -> Problem {
    problem(e).about(input)
}

/// Every input's warnings and failures, every command's notes, repeated warnings and errors —
/// printed before anything is written.
pub fn report_items(items: &[Item]) {
    for item in items {
        warn_item(item);
        let images = match &item.outcome {
            Ok(images) => images,
            Err(e) => {
                error(&item_problem(&item.input, e));
                continue;
            }
        };
        if let Some(image) = images.first() {
            report_commands(&item.input, &image.commands);
        }
    }
}

/// Each command's notes, errors and (merged) warnings, naming the input.
pub fn report_commands(input: &str, commands: &[Prepared]) {
    {
        for p in commands {
            let about = format!("{input}: command `{}`", p.display_name());
            for n in &p.notes {
                warn(format!("{input}: {n}"));
            }
            for d in p.errors() {
                error(&Problem::new(format!("{} (at {})", d.message, d.pointer)).about(&about));
            }
            let warnings = p
                .diagnostics
                .iter()
                .filter(|d| d.severity == Severity::Warning);
            for (m, n) in merge_repeated(warnings) {
                let times = if n > 1 {
                    format!(" ({n} places)")
                } else {
                    String::new()
                };
                warn(format!("{about}: {m}{times}"));
            }
        }
    }
}
