//! `xnat-cmd inspect`: the commands in each image's label, as a table or JSON.

use crate::exit::ExitStatus;
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;
use xnat_cmd::pipeline::{Image, Options, Prepared};
use xnat_cmd::{CommandView, Digest, Platform};

use crate::args::InspectArgs;
use crate::output::{align, error, print_human, print_stdout, warn, CliError};
use crate::settings::Settings;
use crate::sources::{item_problem, run as read, warn_item};

#[derive(Debug, Serialize)]
struct Inspected {
    source: String,
    image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    manifest_digest: Option<Digest>,
    config_digest: Option<Digest>,
    /// With --verify-key: the manifest digest whose cosign signature was verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    verified_digest: Option<Digest>,
    platform: Option<Platform>,
    commands: Vec<Value>,
    /// With --all-platforms: every platform's reading, and whether their labels differ.
    #[serde(skip_serializing_if = "Option::is_none")]
    platforms: Option<Vec<PlatformCommands>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    labels_differ: Option<bool>,
}

#[derive(Debug, Serialize)]
struct PlatformCommands {
    platform: Option<Platform>,
    config_digest: Option<Digest>,
    commands: Vec<Value>,
}

pub async fn run(args: InspectArgs, settings: &Settings) -> Result<ExitStatus, CliError> {
    let source = settings.verified_source(&args.source, &args.verify)?;
    let opts = Options {
        read: source.read,
        ..Options::default()
    };
    let items = read(&args.sources, false, &source.run, &opts).await?;
    let mut results = Vec::new();
    let mut failed = false;
    for item in &items {
        warn_item(item);
        match &item.outcome {
            Ok(images) => match inspect_one(&item.input, images, args.source.all_platforms) {
                Some(i) => results.push(i),
                None => failed = true,
            },
            Err(e) => {
                error(&item_problem(&item.input, e));
                failed = true;
            }
        }
    }
    if args.json {
        let text = if args.sources.len() == 1 {
            match results.first() {
                Some(one) => serde_json::to_string_pretty(one),
                None => Ok(String::new()),
            }
        } else {
            serde_json::to_string_pretty(&results)
        }
        .map_err(CliError::work)?;
        if !text.is_empty() {
            print_stdout(&format!("{text}\n"))?;
        }
    } else {
        let mut s = String::new();
        for i in &results {
            s.push_str(&human(i));
        }
        print_human(&s)?;
    }
    Ok(ExitStatus::failed_if(failed))
}

fn originals(image: &Image) -> Vec<Value> {
    image.commands.iter().map(Prepared::original).collect()
}

/// `None` (reported) when the source gave no image at all.
fn inspect_one(text: &str, images: &[Image], all_platforms: bool) -> Option<Inspected> {
    let first = images.first()?;
    let record = first.record.as_ref()?;
    let commands = originals(first);
    let (platforms, labels_differ) = if all_platforms {
        let per: Vec<PlatformCommands> = images
            .iter()
            .map(|i| PlatformCommands {
                platform: i.record.as_ref().and_then(|r| r.platform.clone()),
                config_digest: i.record.as_ref().and_then(|r| r.config_digest.clone()),
                commands: originals(i),
            })
            .collect();
        let differ = per.iter().any(|p| p.commands != commands);
        if differ {
            warn(format!("{text}: the org.nrg.commands label differs between platforms; XNAT runs linux/amd64"));
        }
        (Some(per), Some(differ))
    } else {
        (None, None)
    };
    Some(Inspected {
        source: text.to_string(),
        image: record.image.clone(),
        manifest_digest: record.manifest_digest.clone(),
        config_digest: record.config_digest.clone(),
        verified_digest: record.verified_digest.clone(),
        platform: record.platform.clone(),
        commands,
        platforms,
        labels_differ,
    })
}

fn human(i: &Inspected) -> String {
    let mut s = String::new();
    let mut facts = Vec::new();
    if let Some(img) = &i.image {
        facts.push(img.clone());
    }
    if let Some(p) = &i.platform {
        facts.push(p.to_string());
    }
    if let Some(d) = &i.config_digest {
        facts.push(format!("config {}", short_digest(d)));
    }
    if let Some(d) = &i.verified_digest {
        facts.push(format!("signed {}", short_digest(d)));
    }
    let _ = writeln!(s, "{} ({})", i.source, facts.join(", "));
    let rows: Vec<[String; 5]> = i
        .commands
        .iter()
        .map(|c| {
            let v = CommandView::new(c);
            let wrappers = v
                .wrappers()
                .iter()
                .map(|w| {
                    format!(
                        "{} [{}]",
                        w.name().unwrap_or_else(|| "-".into()),
                        w.contexts().join(", ")
                    )
                })
                .collect::<Vec<_>>()
                .join("; ");
            [
                v.name().unwrap_or_else(|| "-".into()),
                v.version().unwrap_or_else(|| "-".into()),
                v.command_type(),
                if v.image().is_some() {
                    "own".into()
                } else {
                    "-".into()
                },
                if wrappers.is_empty() {
                    "-".into()
                } else {
                    wrappers
                },
            ]
        })
        .collect();
    let head = ["COMMAND", "VERSION", "TYPE", "IMAGE", "WRAPPERS (CONTEXTS)"];
    let table: Vec<Vec<String>> = std::iter::once(head.map(String::from).to_vec())
        .chain(rows.into_iter().map(|r| r.to_vec()))
        .collect();
    for line in align(&table) {
        let _ = writeln!(s, "  {line}");
    }
    if let Some(true) = i.labels_differ {
        let _ = writeln!(
            s,
            "  note: the label differs between platforms (see --json)"
        );
    }
    s
}

fn short_digest(d: &str) -> String {
    match d.strip_prefix("sha256:") {
        Some(h) if h.len() > 12 => format!("sha256:{}", &h[..12]),
        _ => d.to_string(),
    }
}
