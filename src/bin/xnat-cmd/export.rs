//! `xnat-cmd export`: read one XNAT site ([`xnat_cmd::export::gather`]), read the label of
//! every image it has installed, decide the entries ([`xnat_cmd::export::build`]) and write the
//! fleet file (stdout or `-o FILE`) with its command files. Makes no XNAT write.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use xnat_cmd::export::{build, gather, is_digest_only, to_json, to_yaml, ExportOptions, Label};
use xnat_cmd::fleet::run::{sources_fleet, Selection};
use xnat_cmd::limits::DEFAULT_XNAT_CONCURRENCY;
use xnat_cmd::plan::Desired;
use xnat_cmd::problem::Problem;
use xnat_cmd::source::SourceSpec;

use crate::args::ExportArgs;
use crate::connect::{choose_sites, open, prepare, prepare_sites};
use crate::exit::ExitStatus;
use crate::output::{print_stdout, warn, CliError};
use crate::progress::Progress;
use crate::settings::Settings;
use crate::sources::{read_fleet, read_fleet_images};

pub async fn run(args: ExportArgs, settings: &Settings) -> Result<ExitStatus, CliError> {
    // Where the files go is checked before XNAT is asked anything.
    let out_dir = match &args.output {
        Some(path) => Some(output_dir(path)?),
        None => None,
    };
    let client = match (&args.fleet, &args.site) {
        (Some(file), Some(name)) => {
            let (fleet, _) = read_fleet(file)?;
            let sites = choose_sites(&fleet, std::slice::from_ref(name))?;
            match prepare_sites(&sites, &args.xnat, settings)?.pop() {
                Some(Ok(client)) => client,
                Some(Err(p)) => return Err(CliError::Work(p)),
                None => return Err(CliError::usage(format!("--site {name}: no such site"))),
            }
        }
        _ => prepare(&args.xnat, settings)?,
    };
    let (client, _info) = open(client, false).await?;
    let holdings = gather(&client, DEFAULT_XNAT_CONCURRENCY).await;
    client.logout().await;
    let holdings = holdings.map_err(|e| CliError::work_of(&e))?;
    if holdings.installed.is_empty() {
        return Err(CliError::Work(Problem::new(
            "the site holds no command: there is nothing to export",
        )));
    }
    let labels = read_labels(&holdings.installed, &args, settings).await?;
    let export = build(
        &holdings,
        &labels,
        ExportOptions {
            no_all: args.no_all,
        },
    );
    for w in &export.warnings {
        warn(w);
    }
    let text = if args.json {
        let v = to_json(&export);
        format!(
            "{}\n",
            serde_json::to_string_pretty(&v).map_err(CliError::work)?
        )
    } else {
        to_yaml(&export)
    };
    let Some((path, dir)) = args.output.as_ref().zip(out_dir) else {
        if !export.files.is_empty() {
            return Err(CliError::usage(format!(
                "{} must be written as command files beside the fleet file: give -o FILE",
                match export.files.len() {
                    1 => "1 command".to_string(),
                    n => format!("{n} commands"),
                }
            )));
        }
        print_stdout(&text)?;
        return Ok(ExitStatus::Success);
    };
    // The command files first, the fleet file that names them last: a run that stops half-way
    // leaves no fleet file pointing at a missing command file, and a re-run writes them all.
    for (rel, content) in &export.files {
        let file = dir.join(rel);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent).map_err(|e| {
                CliError::Work(Problem::new(format!(
                    "failed to create `{}`: {e}",
                    parent.display()
                )))
            })?;
        }
        let body = format!(
            "{}\n",
            serde_json::to_string_pretty(content).map_err(CliError::work)?
        );
        write(&file, &body)?;
    }
    write(path, &text)?;
    stale_files(&dir, &export.files);
    eprintln!(
        "wrote {}: {} entries, {} command files",
        path.display(),
        export.entries.len(),
        export.files.len()
    );
    Ok(ExitStatus::Success)
}

/// Warn of command files under `DIR/commands/` that the new fleet file does not name (left
/// by an earlier export, or put there by hand): `sync` never reads them, and deleting them is
/// the admin's call. At most 10 are named.
fn stale_files(dir: &Path, written: &[(String, serde_json::Value)]) {
    let Ok(entries) = std::fs::read_dir(dir.join("commands")) else {
        return;
    };
    let named: std::collections::BTreeSet<&str> =
        written.iter().map(|(rel, _)| rel.as_str()).collect();
    let mut stale: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|e| format!("commands/{}", e.file_name().to_string_lossy()))
        .filter(|rel| rel.ends_with(".json") && !named.contains(rel.as_str()))
        .take(1000)
        .collect();
    if stale.is_empty() {
        return;
    }
    stale.sort();
    let more = stale.len().saturating_sub(10);
    stale.truncate(10);
    warn(format!(
        "{}{}: not named by the new fleet file (left from an earlier export?); sync does not read {}",
        stale.join(", "),
        if more > 0 { format!(" and {more} more") } else { String::new() },
        if stale.len() + more == 1 { "it" } else { "them" }
    ));
}

/// The directory `-o FILE` writes into; it must exist (a usage error before any request).
fn output_dir(path: &Path) -> Result<PathBuf, CliError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(CliError::usage(format!(
            "-o {}: the directory `{}` does not exist",
            path.display(),
            dir.display()
        )));
    }
    if path.is_dir() {
        return Err(CliError::usage(format!(
            "-o {}: is a directory; name the fleet file to write",
            path.display()
        )));
    }
    Ok(dir)
}

fn write(path: &Path, text: &str) -> Result<(), CliError> {
    xnat_cmd::atomic::write_atomic(path, text.as_bytes()).map_err(|e| {
        CliError::Work(Problem::new(format!(
            "failed to write `{}`: {e}",
            path.display()
        )))
    })
}

/// The label of every image the site has installed, read from its registry as `sync` reads
/// it. Only registry references are read: an image text in XNAT never makes this read a local
/// file or a daemon. One that cannot be read is [`Label::Unreadable`] (a warning later).
async fn read_labels(
    installed: &[serde_json::Value],
    args: &ExportArgs,
    settings: &Settings,
) -> Result<BTreeMap<String, Label>, CliError> {
    let mut labels = BTreeMap::new();
    let mut readable = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for c in installed {
        let Some(image) = xnat_cmd::command::CommandView::new(c).image() else {
            continue;
        };
        let image = image.trim().to_string();
        if !seen.insert(image.clone()) {
            continue;
        }
        match SourceSpec::parse(&image) {
            Ok(SourceSpec::Registry { reference })
                if xnat_cmd::reference::Reference::parse(&reference).is_ok() =>
            {
                readable.push(image)
            }
            _ => {
                labels.insert(
                    image,
                    Label::Unreadable("not an image reference a registry serves".into()),
                );
            }
        }
    }
    if readable.is_empty() {
        return Ok(labels);
    }
    let mut fleet = sources_fleet(&readable, None, &[]);
    for entry in &mut fleet.images {
        // Installed under `repository@digest`: read that manifest, install under it again.
        entry.pin_digest = is_digest_only(&entry.image);
    }
    let progress = Progress::new(false);
    let loaded = read_fleet_images(&fleet, "XNAT", &args.source, settings, &progress).await?;
    for (text, image) in readable.iter().zip(&loaded.images) {
        let label = match &image.selection {
            Selection::Selected {
                image: Some(install),
                commands,
            } => Label::Read(
                commands
                    .iter()
                    .map(|p| Desired {
                        source: text.clone(),
                        image: install.clone(),
                        command: p.command.clone(),
                    })
                    .collect(),
            ),
            Selection::Selected { image: None, .. } => Label::Read(Vec::new()),
            Selection::Nothing => {
                Label::Unreadable("it names no reference to install under".into())
            }
            // The reason without the image the warning names anyway.
            Selection::Failed(p) => Label::Unreadable(
                p.error
                    .strip_prefix(&format!("{text}: "))
                    .unwrap_or(&p.error)
                    .to_string(),
            ),
        };
        labels.insert(text.clone(), label);
    }
    Ok(labels)
}
