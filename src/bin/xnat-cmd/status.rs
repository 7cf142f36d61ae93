//! `xnat-cmd status FILE | SOURCE...`: how each XNAT site differs from what is declared, as a
//! table, JSON and Prometheus text; exit 3 on drift. Reads only.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use serde::Serialize;
use xnat_cmd::fleet::{Enable, Fleet, FleetImage};
use xnat_cmd::problem::Problem;
use xnat_cmd::status::{check_site, prometheus, DriftKind, SiteStatus};

use crate::args::{GlobalArgs, StatusArgs};
use crate::output::{align, error, print_human, print_stdout, warn, CliError};
use crate::progress::Progress;
use crate::sync::{chosen_sites, connect_choice, declared_for, failed_list, load, FailedImage};

#[derive(Serialize)]
struct StatusReport<'a> {
    in_sync: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    failed_images: Vec<FailedImage<'a>>,
    sites: &'a [SiteStatus],
}

/// Is the one argument a fleet file rather than an image source?
fn is_fleet_file(inputs: &[String]) -> bool {
    match inputs {
        [one] => {
            let p = Path::new(one);
            p.is_file()
                && matches!(
                    p.extension().and_then(|e| e.to_str()),
                    Some("yaml" | "yml" | "json")
                )
        }
        _ => false,
    }
}

pub async fn run(args: StatusArgs, _global: &GlobalArgs) -> Result<ExitCode, CliError> {
    let (fleet, shown) = if is_fleet_file(&args.inputs) {
        let shown = args.inputs[0].clone();
        if args.source.platform.is_some() || args.source.all_platforms {
            return Err(CliError::usage(
                "status of a fleet file reads each image's `platform:` from it: drop --platform/--all-platforms",
            ));
        }
        if !args.verify.verify_keys.is_empty() {
            return Err(CliError::usage(
                "status of a fleet file reads its keys from its `verify:` key: drop --verify-key",
            ));
        }
        crate::sync::read_fleet(std::path::Path::new(&shown))?
    } else {
        if args.source.all_platforms {
            return Err(CliError::usage(
                "status reads one platform: use --platform instead of --all-platforms",
            ));
        }
        (sources_fleet(&args)?, "the command line".to_string())
    };
    let sites = chosen_sites(&fleet, &args.sites)?;
    let progress = Progress::new(args.json);
    let loaded = load(&fleet, &shown, &args.source, &progress).await?;
    if loaded.invalid {
        error(&Problem::new(
            "invalid commands are declared: sync would refuse them; fix them and check again",
        ));
        return Ok(ExitCode::from(1));
    }
    let prune = fleet.has_prune.then_some(fleet.prune.as_slice());
    let mut reports = Vec::new();
    progress.start("checking sites", sites.len());
    for (name, url, vars) in &sites {
        let declared = declared_for(&fleet, &loaded.selected, name);
        let mut status = SiteStatus::new(name, url.as_deref().unwrap_or(""));
        match connect_choice(name, url, vars, &args.xnat, false).await {
            Ok((client, _info)) => {
                status.url = client.base().to_string();
                check_site(&client, &mut status, &declared, prune).await;
                client.logout().await;
            }
            Err(CliError::Usage(p)) => return Err(CliError::Usage(p)),
            Err(CliError::Work(p)) => status.error = Some(p),
        }
        progress.inc();
        progress.finish(&format!(
            "site {name}: {}",
            if status.error.is_some() {
                "not checked"
            } else {
                "checked"
            }
        ));
        reports.push(status);
    }
    progress.clear();

    let checked_all = loaded.failed_images.is_empty() && reports.iter().all(|r| r.error.is_none());
    let drift = reports.iter().any(|r| !r.drift.is_empty());
    if let Some(path) = &args.prometheus {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        write_prometheus(path, &prometheus(&reports, now, checked_all))?;
    }
    if args.json {
        let r = StatusReport {
            in_sync: checked_all && !drift,
            failed_images: failed_list(&loaded.failed_images),
            sites: &reports,
        };
        let text = serde_json::to_string_pretty(&r).map_err(CliError::work)?;
        print_stdout(&format!("{text}\n"))?;
    } else {
        print_human(&human(&reports))?;
    }
    for r in &reports {
        for w in &r.warnings {
            warn(format!("site {}: {w}", r.name));
        }
        if let Some(p) = &r.error {
            error(&p.clone().about(&format!("site {}", r.name)));
        }
    }
    Ok(if !checked_all {
        ExitCode::from(1)
    } else if drift {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}

/// Image sources as a fleet of one default site, nothing to enable, nothing owned.
fn sources_fleet(args: &StatusArgs) -> Result<Fleet, CliError> {
    let platform = match &args.source.platform {
        Some(p) => Some(xnat_cmd::Platform::parse(p).map_err(CliError::usage)?),
        None => None,
    };
    Ok(Fleet {
        images: args
            .inputs
            .iter()
            .map(|i| FleetImage {
                image: i.clone(),
                platform: platform.clone(),
                commands: None,
                pin_digest: false,
                sites: None,
                enable: Enable::default(),
                verify: args.verify.verify_keys.clone(),
                line: 0,
            })
            .collect(),
        prune: Vec::new(),
        has_prune: false,
        sites: Vec::new(),
    })
}

/// Write the exposition atomically, so node-exporter never reads half a file.
fn write_prometheus(path: &Path, text: &str) -> Result<(), CliError> {
    xnat_cmd::atomic::write_atomic(path, text.as_bytes()).map_err(|e| {
        CliError::Work(
            Problem::new(format!("failed to write `{}`: {e}", path.display())).with_hint(Some(
                "the directory of --prometheus FILE must exist and be writable",
            )),
        )
    })
}

fn human(reports: &[SiteStatus]) -> String {
    let mut s = String::new();
    for r in reports {
        if r.error.is_some() {
            let _ = writeln!(s, "site {} ({}): not checked", r.name, r.url);
        } else if r.drift.is_empty() {
            let _ = writeln!(s, "site {} ({}): in sync", r.name, r.url);
        } else {
            let _ = writeln!(s, "site {} ({}):", r.name, r.url);
            let rows: Vec<Vec<String>> = r
                .drift
                .iter()
                .map(|d| {
                    vec![
                        d.kind.as_str().to_string(),
                        d.command.clone(),
                        d.image.clone(),
                        d.detail.clone(),
                    ]
                })
                .collect();
            for line in align(&rows) {
                let _ = writeln!(s, "  {line}");
            }
        }
    }
    let mut rows = vec![std::iter::once("SITE".to_string())
        .chain(DriftKind::ALL.iter().map(|k| k.as_str().to_uppercase()))
        .collect::<Vec<_>>()];
    for r in reports {
        let mut row = vec![r.name.clone()];
        row.extend(DriftKind::ALL.iter().map(|k| {
            if r.error.is_some() {
                "-".to_string()
            } else {
                r.count(*k).to_string()
            }
        }));
        rows.push(row);
    }
    let _ = writeln!(s);
    for line in align(&rows) {
        let _ = writeln!(s, "{line}");
    }
    s
}
