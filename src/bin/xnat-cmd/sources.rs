//! A subcommand's side of the library pipeline: arguments classified first (a bad one is a
//! usage error before any I/O), then [`xnat_cmd::pipeline::run`], with each input's warnings
//! and failures printed the one way every subcommand prints them; a fleet's images loaded the
//! same way ([`load_fleet`]).

use std::path::Path;

use xnat_cmd::fleet::run::{self, ImageReads, Loaded, Selection};
use xnat_cmd::fleet::Fleet;
use xnat_cmd::pipeline::{self, merge_repeated, Item, ItemError, Options, Prepared};
use xnat_cmd::problem::{problem, Problem};
use xnat_cmd::source::SourceOptions;
use xnat_cmd::Severity;

use crate::args::SourceArgs;
use crate::output::{self, error, warn, CliError};
use crate::progress::Progress;
use crate::settings::Settings;

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

/// Read (capped) and parse a fleet file; every mistake in it is printed (the last one is
/// returned, so the run ends with exit 2).
pub fn read_fleet(path: &Path) -> Result<(Fleet, String), CliError> {
    run::read_fleet(path).map_err(output::usages)
}

/// Every fleet image read concurrently (with `progress`) and its `commands:` selected; a bad
/// entry is a usage error before any image is read. Nothing is printed but the progress.
pub async fn read_fleet_images(
    fleet: &Fleet,
    shown: &str,
    source: &SourceArgs,
    settings: &Settings,
    progress: &Progress,
) -> Result<Loaded, CliError> {
    let source = settings.source(source)?;
    let reads = ImageReads::new(fleet, shown, source.run, &source.read)
        .map_err(|e| CliError::usage_of(&e))?;
    progress.start("reading images", reads.len());
    let items = reads.read(&|_| progress.inc()).await;
    let unread = items.iter().filter(|i| i.outcome.is_err()).count();
    progress.finish(&format!(
        "read {} image{} ({unread} failed)",
        items.len(),
        if items.len() == 1 { "" } else { "s" }
    ));
    Ok(run::select(fleet, items))
}

/// [`read_fleet_images`], then every image's warnings, failures and commands' findings
/// printed as they were found, in file order (`sync`, `status`).
pub async fn load_fleet(
    fleet: &Fleet,
    shown: &str,
    source: &SourceArgs,
    settings: &Settings,
    progress: &Progress,
) -> Result<Loaded, CliError> {
    let loaded = read_fleet_images(fleet, shown, source, settings, progress).await?;
    for image in &loaded.images {
        warn_item(&image.item);
        match &image.selection {
            Selection::Selected { commands, .. } => report_commands(&image.item.input, commands),
            Selection::Nothing => {}
            Selection::Failed(p) => error(p),
        }
    }
    Ok(loaded)
}
