//! `xnat-cmd validate`: command files and image sources → XNAT's verdict per command.
//!
//! A command file is checked as `POST /xapi/commands` would (create rules, `--image` playing
//! `?image=`); an image source's commands get the source's reference injected first, as
//! `install` does — or, when the image records none, are checked with their own `image`.
//! A fleet file (`validate FLEET.yaml`, see [`is_fleet_file`]) is CI's offline check of a
//! fleet: every mistake of the file (exit 2), then every declared image read and every selected
//! command checked as `sync` would install it — no XNAT involved.
//! Exit 0 when every command is valid, 1 when any is invalid or any input is unreadable.

use crate::exit::ExitStatus;
use std::path::Path;

use xnat_cmd::fleet::run::{read_fleet, Selection};
use xnat_cmd::pipeline::Options;
use xnat_cmd::problem::Problem;

use crate::args::ValidateArgs;
use crate::output::{self, CliError};
use crate::progress::Progress;
use crate::settings::Settings;
use crate::sources::{item_problem, read_fleet_images, run as read, warn_item};
use crate::verdict::{human, verdict, Finding, Verdict};

pub async fn run(args: ValidateArgs, settings: &Settings) -> Result<ExitStatus, CliError> {
    if args.inputs.iter().any(|i| is_fleet_file(i)) {
        return fleets(&args, settings).await;
    }
    let source = settings.verified_source(&args.source, &args.verify)?;
    let opts = Options {
        read: source.read,
        image: args.image.clone(),
        ..Options::default()
    };
    let items = read(&args.inputs, true, &source.run, &opts).await?;
    let mut verdicts = Vec::new();
    let mut failed: Vec<(&str, Problem)> = Vec::new();
    for item in &items {
        warn_item(item);
        match &item.outcome {
            Ok(images) => {
                for image in images {
                    for p in &image.commands {
                        verdicts.push(verdict(&image.name, p, args.image.is_some()));
                    }
                }
            }
            Err(e) => failed.push((&item.input, item_problem(&item.input, e))),
        }
    }
    let failed = failed
        .into_iter()
        .map(|(input, p)| (input.to_string(), p))
        .collect();
    report(args.json, verdicts, failed)
}

/// Print the verdicts (and the inputs that gave none) as text or JSON; the exit code.
fn report(
    json: bool,
    mut verdicts: Vec<Verdict>,
    failed: Vec<(String, Problem)>,
) -> Result<ExitStatus, CliError> {
    let ok = failed.is_empty() && verdicts.iter().all(|v| v.valid);
    if json {
        // One array: a verdict per command, then one entry per input that gave none.
        for (input, p) in &failed {
            verdicts.push(Verdict {
                source: input.to_string(),
                command: None,
                image: None,
                valid: false,
                errors: vec![Finding {
                    pointer: String::new(),
                    message: p.error.clone(),
                }],
                warnings: vec![],
                hint: p.hint.clone(),
                problem: Some(p.clone()),
            });
        }
        let text = serde_json::to_string_pretty(&verdicts).map_err(CliError::work)?;
        output::print_stdout(&(text + "\n"))?;
    } else if !verdicts.is_empty() {
        output::print_human(&human(&verdicts))?;
    }
    for (_, p) in &failed {
        output::error(p);
    }
    Ok(ExitStatus::failed_if(!ok))
}

/// Is this `validate` argument a fleet file rather than a command file or an image source?
/// A name ending in `.yaml` or `.yml` (command files are JSON; an image whose repository ends
/// so is named with `docker://`), or an existing `.json` file whose top level is a mapping
/// with `images` and no `name` (every command has a `name`, every fleet file `images`).
pub fn is_fleet_file(arg: &str) -> bool {
    if arg.ends_with(".yaml") || arg.ends_with(".yml") {
        return !arg.starts_with("docker://");
    }
    if !arg.ends_with(".json") || !Path::new(arg).is_file() {
        return false;
    }
    // Capped as a fleet file is: a larger file is not one, and is read as a command file.
    let Ok(text) =
        xnat_cmd::limits::read_text(Path::new(arg), xnat_cmd::limits::MAX_FLEET_FILE_BYTES)
    else {
        return false;
    };
    match serde_json::from_str::<serde_json::Value>(text.trim_start_matches('\u{feff}')) {
        Ok(serde_json::Value::Object(top)) => {
            top.contains_key("images") && !top.contains_key("name")
        }
        _ => false,
    }
}

/// `validate FLEET...`: every mistake of every file first (exit 2), then each declared image
/// read (its own platform, pin-digest and `verify:`) and each selected command checked with
/// the image injected, as `sync` installs it.
async fn fleets(args: &ValidateArgs, settings: &Settings) -> Result<ExitStatus, CliError> {
    if let Some(other) = args.inputs.iter().find(|i| !is_fleet_file(i)) {
        return Err(CliError::usage(format!(
            "`{other}` is not a fleet file: validate fleet files (.yaml, .yml) on their own, command files and images in another run"
        )));
    }
    if args.image.is_some() {
        return Err(CliError::usage(
            "--image does not apply to a fleet file: each image is installed under its own reference",
        ));
    }
    if args.source.platform.is_some() || args.source.all_platforms {
        return Err(CliError::usage(
            "a fleet file names each image's platform (`platform:`): drop --platform/--all-platforms",
        ));
    }
    if !args.verify.verify_keys.is_empty() {
        return Err(CliError::usage(
            "a fleet file names its keys (`verify:`): drop --verify-key",
        ));
    }
    // Every file's mistakes, all files checked before any image is read.
    let mut parsed = Vec::with_capacity(args.inputs.len());
    let mut mistakes = Vec::new();
    for input in &args.inputs {
        match read_fleet(Path::new(input)) {
            Ok(f) => parsed.push(f),
            Err(problems) => mistakes.extend(problems),
        }
    }
    if !mistakes.is_empty() {
        return Err(output::usages(mistakes));
    }

    let quiet = Progress::new(true);
    let mut verdicts = Vec::new();
    let mut failed: Vec<(String, Problem)> = Vec::new();
    for (fleet, shown) in &parsed {
        let loaded = read_fleet_images(fleet, shown, &args.source, settings, &quiet).await?;
        for (entry, image) in fleet.images.iter().zip(&loaded.images) {
            warn_item(&image.item);
            // Named as the file names it, with where: `fleet.yaml:3 ghcr.io/lab/tool:1`.
            let source = format!("{shown}:{} {}", entry.line, entry.source());
            match &image.selection {
                Selection::Selected { commands, .. } => {
                    verdicts.extend(commands.iter().map(|p| verdict(&source, p, false)));
                }
                Selection::Nothing => {}
                Selection::Failed(p) => failed.push((source, p.clone())),
            }
        }
    }
    report(args.json, verdicts, failed)
}
