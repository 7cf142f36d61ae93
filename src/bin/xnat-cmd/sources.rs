//! A subcommand's side of the library pipeline: arguments classified first (a bad one is a
//! usage error before any I/O), then [`xnat_cmd::pipeline::run`], with each input's warnings
//! and failures printed the one way every subcommand prints them.

use xnat_cmd::pipeline::{self, Item, ItemError, Options};
use xnat_cmd::problem::{problem, Problem};

use crate::output::{self, CliError};

/// Classify `texts` (command files too when `allow_files`), then read and prepare them all.
pub async fn run(
    texts: &[String],
    allow_files: bool,
    opts: &Options,
) -> Result<Vec<Item>, CliError> {
    let inputs =
        pipeline::classify_all(texts, allow_files).map_err(|(_, e)| CliError::usage_of(&e))?;
    Ok(pipeline::run(texts, &inputs, opts).await)
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
