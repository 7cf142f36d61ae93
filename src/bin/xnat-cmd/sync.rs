//! `xnat-cmd sync FILE`: the fleet file → read every image → validate everything → per site:
//! connect, plan, apply, prune → one report. The run itself is the library's
//! ([`xnat_cmd::fleet`]'s loading and sites, [`xnat_cmd::sync`]'s job); this parses, calls and
//! renders.

use crate::exit::ExitStatus;
use std::fmt::Write as _;

use serde::Serialize;
use xnat_cmd::fleet::sites::for_each_site;
use xnat_cmd::problem::Problem;
use xnat_cmd::sync::{SiteReport, SyncJob};

use crate::args::SyncArgs;
use crate::connect::{choose_sites, prepare_sites};
use crate::output::{align, error, print_human, print_stdout, warn, CliError};
use crate::progress::Progress;
use crate::report::{failed_list, outcome_lines, removal_lines, FailedImage};
use crate::settings::Settings;
use crate::sources::{load_fleet, read_fleet};

#[derive(Serialize)]
struct SyncReport<'a> {
    dry_run: bool,
    /// Fleet images that could not be read or selected, each with why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    failed_images: Vec<FailedImage<'a>>,
    sites: &'a [SiteReport],
}

pub async fn run(args: SyncArgs, settings: &Settings) -> Result<ExitStatus, CliError> {
    if args.source.platform.is_some() || args.source.all_platforms {
        return Err(CliError::usage(
            "sync reads each image's `platform:` from the fleet file: drop --platform/--all-platforms",
        ));
    }
    let (fleet, shown) = read_fleet(&args.file)?;
    if args.prune && !fleet.has_prune {
        return Err(CliError::usage(format!(
            "--prune needs a `prune:` key in `{shown}`: list the repository globs this file owns (e.g. `prune: [ghcr.io/lab/*]`)"
        )));
    }
    let sites = choose_sites(&fleet, &args.sites)?;
    let clients = prepare_sites(&sites, &args.xnat, settings)?;

    let progress = Progress::new(args.json);
    let loaded = load_fleet(&fleet, &shown, &args.source, settings, &progress).await?;
    if loaded.invalid() {
        error(&Problem::new(
            "nothing was written to any site: fix the invalid commands above and run again",
        ));
        return Ok(ExitStatus::Failed);
    }
    let failed_images = loaded.failed_images();
    let job = SyncJob {
        prune: args.prune.then_some(fleet.prune.as_slice()),
        dry_run: args.dry_run,
        unread: failed_images.iter().map(|(i, _)| i.clone()).collect(),
        concurrency: settings.xnat_concurrency(&args.apply),
    };
    progress.start("syncing sites", sites.len());
    let reports = for_each_site(&job, &fleet, &loaded, &sites, clients, |site, report| {
        progress.inc();
        // A dry run plans; it never says "synced".
        let done = match (report.failed(), args.dry_run) {
            (true, _) => "failed",
            (false, true) => "planned (dry run: nothing written)",
            (false, false) => "synced",
        };
        progress.finish(&format!("site {}: {done}", site.name));
    })
    .await;
    progress.clear();

    let failed = !failed_images.is_empty() || reports.iter().any(SiteReport::failed);
    if args.json {
        let r = SyncReport {
            dry_run: args.dry_run,
            failed_images: failed_list(&failed_images),
            sites: &reports,
        };
        let text = serde_json::to_string_pretty(&r).map_err(CliError::work)?;
        print_stdout(&format!("{text}\n"))?;
    } else {
        print_human(&human(&reports, args.dry_run))?;
    }
    for r in &reports {
        for w in &r.warnings {
            warn(format!("site {}: {w}", r.name));
        }
        for o in &r.commands {
            if let Some(p) = &o.error {
                error(&p.clone().about(&format!(
                    "site {}: {} ({})",
                    r.name, o.planned.name, o.planned.image
                )));
            }
        }
        for x in &r.removed {
            if let Some(p) = &x.error {
                error(
                    &p.clone()
                        .about(&format!("site {}: removing command {}", r.name, x.id)),
                );
            }
        }
        if let Some(p) = &r.error {
            error(&p.clone().about(&format!("site {}", r.name)));
        }
    }
    Ok(if failed {
        ExitStatus::Failed
    } else {
        ExitStatus::Success
    })
}

/// Per site: every command's line, each image that failed, the removals and a summary line
/// with the requests (as `install` ends), then one table of all sites.
fn human(reports: &[SiteReport], dry_run: bool) -> String {
    let mut s = String::new();
    for r in reports {
        if r.url.is_empty() {
            let _ = writeln!(s, "site {}", r.name);
        } else {
            let _ = writeln!(s, "site {} ({})", r.name, r.url);
        }
        outcome_lines(&mut s, &r.commands, dry_run);
        for image in &r.failed_images {
            let _ = writeln!(
                s,
                "{:<13} {image}  (could not be read: see the error below)",
                "failed"
            );
        }
        removal_lines(&mut s, &r.removed, 13);
        if let Some(p) = &r.error {
            let _ = writeln!(s, "site not synced: {}", p.error);
        }
        let c = r.counts();
        let _ = writeln!(
            s,
            "{} created, {} updated, {} {}, {} unchanged, {} removed, {} failed; {} writes, {} reads",
            c.created,
            c.updated,
            c.enabled,
            if dry_run { "to enable" } else { "enabled" },
            c.unchanged,
            c.removed,
            c.failed,
            r.requests.writes,
            r.requests.reads
        );
        let _ = writeln!(s);
    }
    let mut rows = vec![[
        "SITE",
        "CREATED",
        "UPDATED",
        "ENABLED",
        "UNCHANGED",
        "REMOVED",
        "FAILED",
    ]
    .map(String::from)
    .to_vec()];
    for r in reports {
        let c = r.counts();
        let mut row = vec![r.name.clone()];
        row.extend(
            [
                c.created,
                c.updated,
                c.enabled,
                c.unchanged,
                c.removed,
                c.failed,
            ]
            .iter()
            .map(|n| n.to_string()),
        );
        if r.error.is_some() {
            row[6] = "site".into();
        }
        rows.push(row);
    }
    for line in align(&rows) {
        let _ = writeln!(s, "{line}");
    }
    if dry_run {
        let _ = writeln!(s, "(dry run: nothing written)");
    }
    s
}
