//! `xnat-cmd inspect`: the commands in each image's label, as a table or JSON.

use std::fmt::Write as _;
use std::process::ExitCode;

use serde::Serialize;
use serde_json::Value;
use xnat_cmd::source::ImageRecord;
use xnat_cmd::{CommandView, Platform};

use crate::args::{GlobalArgs, InspectArgs};
use crate::output::{print_stdout, warn, CliError};
use crate::sources::{commands_of, read_all};

#[derive(Debug, Serialize)]
struct Inspected {
    source: String,
    image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    manifest_digest: Option<String>,
    config_digest: Option<String>,
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
    config_digest: Option<String>,
    commands: Vec<Value>,
}

pub async fn run(args: InspectArgs, _global: &GlobalArgs) -> Result<ExitCode, CliError> {
    let reads = read_all(&args.sources, args.source.read_options()?).await?;
    let single = args.sources.len() == 1;
    let mut results = Vec::new();
    let mut failed = false;
    for r in reads {
        let res = match r.result {
            Ok(res) => res,
            Err(e) => {
                if single {
                    return Err(CliError::work(e));
                }
                eprintln!("error: {}: {}", r.text, crate::output::chain(&e));
                failed = true;
                continue;
            }
        };
        for w in &res.warnings {
            warn(format!("{}: {w}", r.text));
        }
        match inspect_one(&r.text, &res.images, args.source.all_platforms) {
            Ok(i) => results.push(i),
            Err(e) => {
                eprintln!("error: {}: {e}", r.text);
                failed = true;
            }
        }
    }
    if args.json {
        let text = if single {
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
        print_stdout(&s)?;
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn inspect_one(
    text: &str,
    images: &[ImageRecord],
    all_platforms: bool,
) -> Result<Inspected, xnat_cmd::labels::LabelError> {
    let first = images
        .first()
        .ok_or(xnat_cmd::labels::LabelError::Missing)?;
    let commands = commands_of(text, first)?;
    let (platforms, labels_differ) = if all_platforms {
        let mut per = Vec::new();
        for rec in images {
            per.push(PlatformCommands {
                platform: rec.platform.clone(),
                config_digest: rec.config_digest.clone(),
                commands: commands_of(text, rec)?,
            });
        }
        let differ = per.iter().any(|p| p.commands != commands);
        if differ {
            warn(format!("{text}: the org.nrg.commands label differs between platforms; XNAT runs linux/amd64"));
        }
        (Some(per), Some(differ))
    } else {
        (None, None)
    };
    Ok(Inspected {
        source: text.to_string(),
        image: first.image.clone(),
        manifest_digest: first.manifest_digest.clone(),
        config_digest: first.config_digest.clone(),
        platform: first.platform.clone(),
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
    let widths: Vec<usize> = (0..4)
        .map(|k| {
            rows.iter()
                .map(|r| r[k].chars().count())
                .chain([head[k].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut line = |r: [&str; 5]| {
        let _ = writeln!(
            s,
            "  {:<a$}  {:<b$}  {:<c$}  {:<d$}  {}",
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            a = widths[0],
            b = widths[1],
            c = widths[2],
            d = widths[3]
        );
    };
    line(head);
    for r in &rows {
        line([&r[0], &r[1], &r[2], &r[3], &r[4]]);
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
