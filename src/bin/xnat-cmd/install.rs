//! `xnat-cmd install`: read → validate everything → preflight → plan → apply → report.

use crate::exit::ExitStatus;
use std::fmt::Write as _;

use xnat_cmd::apply::{apply, check_projects, ApplyReport, EnableSpec, Tally};
use xnat_cmd::pipeline::{self, Options};
use xnat_cmd::plan::{plan, Action, PlanOptions};
use xnat_cmd::problem::Problem;

use crate::args::InstallArgs;
use crate::connect::{open, prepare};
use crate::output::{error, print_human, print_stdout, warn, CliError};
use crate::report::outcome_lines;
use crate::settings::Settings;
use crate::sources::{report_items, run as read};

pub async fn run(args: InstallArgs, settings: &Settings) -> Result<ExitStatus, CliError> {
    if args.image.is_some() && args.sources.len() > 1 {
        return Err(CliError::usage("--image applies to one SOURCE only"));
    }
    if args.source.registry_password_stdin && args.xnat.password_stdin {
        return Err(CliError::usage(
            "--password-stdin and --registry-password-stdin cannot both read stdin: give XNAT's password through XNAT_PASS or ~/.netrc",
        ));
    }
    if args.source.all_platforms {
        return Err(CliError::usage(
            "install reads one platform: use --platform instead of --all-platforms",
        ));
    }
    if !args.verify.verify_keys.is_empty() && args.image.is_some() {
        return Err(CliError::usage(
            "--verify-key installs the verified image under its own repository and digest: drop --image",
        ));
    }
    let source = settings.verified_source(&args.source, &args.verify)?;
    let opts = Options {
        read: source.read,
        image: args.image.clone(),
        pin_digest: args.pin_digest,
        need_reference: true,
    };
    // URL and credentials first: a missing one is a usage error before any image is read.
    let client = prepare(&args.xnat, settings)?;
    let items = read(&args.sources, false, &source.run, &opts).await?;
    report_items(&items);
    let Some(desired) = pipeline::desired(&items) else {
        error(&Problem::new(
            "nothing was written to XNAT: fix the errors above and run again",
        ));
        return Ok(ExitStatus::Failed);
    };
    // The commands live on in `desired`; a label at its cap is ~50,000 of them (issue 19).
    drop(items);

    let (client, info) = open(client, true).await?;
    let result = async {
        let installed = client.list_commands().await.map_err(|e| CliError::work_of(&e))?;
        let mut projects = args.enable_projects.clone();
        if args.enable_all_projects || !projects.is_empty() {
            let existing = client.projects().await.map_err(|e| CliError::work_of(&e))?;
            // Before any write: a typo in a project id must not half-install.
            check_projects(&projects, &existing).map_err(|e| CliError::work_of(&e))?;
            if args.enable_all_projects {
                for p in existing {
                    if !projects.contains(&p) {
                        projects.push(p);
                    }
                }
            }
        }
        let enable = EnableSpec {
            site: args.enable_site,
            projects,
            wrappers: Default::default(),
        };
        let opts = PlanOptions {
            side_by_side: args.side_by_side,
            replace: args.replace,
        };
        let planned = plan(&desired, &installed, opts);
        drop(desired);
        if args.replace && planned.iter().any(|p| matches!(p.action, Action::Replace { .. })) {
            warn("--replace deletes and re-creates changed commands: their wrapper ids change and site/project enablement is reset");
        }
        let concurrency = settings.xnat_concurrency(&args.apply);
        Ok::<_, CliError>(
            apply(
                &client,
                planned,
                &installed,
                &enable,
                args.dry_run,
                concurrency,
            )
            .await,
        )
    }
    .await;
    client.logout().await;
    let report = result?;
    tracing::debug!(
        "XNAT {:?}, Container Service {}",
        info.xnat_version,
        info.container_service_version
    );
    if args.json {
        let text = serde_json::to_string_pretty(&report).map_err(CliError::work)?;
        print_stdout(&format!("{text}\n"))?;
    } else {
        print_human(&human(&report))?;
    }
    for o in &report.commands {
        let about = format!("{} ({})", o.planned.name, o.planned.image);
        for w in &o.warnings {
            warn(format!("{about}: {w}"));
        }
        if let Some(p) = &o.error {
            error(&p.clone().about(&about));
        }
        if let Action::Conflict { reason, .. } = &o.planned.action {
            error(
                &Problem::new(format!("conflict: {reason}"))
                    .with_hint(o.planned.action.hint())
                    .about(&about),
            );
        }
    }
    Ok(ExitStatus::failed_if(report.failed()))
}

fn human(report: &ApplyReport) -> String {
    let mut s = String::new();
    outcome_lines(&mut s, &report.commands, report.dry_run);
    let t = Tally::of(&report.commands);
    let _ = writeln!(
        s,
        "{} created, {} updated, {} {}, {} unchanged, {} failed or in conflict; {} writes, {} reads{}",
        t.created,
        t.updated,
        t.enabled,
        if report.dry_run { "to enable" } else { "enabled" },
        t.unchanged,
        t.failed,
        report.requests.writes,
        report.requests.reads,
        if report.dry_run {
            " (dry run: nothing written)"
        } else {
            ""
        }
    );
    s
}
