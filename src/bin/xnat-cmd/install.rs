//! `xnat-cmd install`: read → validate everything → preflight → plan → apply → report.

use std::fmt::Write as _;
use std::process::ExitCode;

use xnat_cmd::apply::{apply, ApplyReport, EnableSpec, Status};
use xnat_cmd::command::validate::with_image;
use xnat_cmd::plan::{install_image, plan, same_repository, Action, Desired, PlanOptions};
use xnat_cmd::{validate, Form, Severity};

use crate::args::{GlobalArgs, InstallArgs};
use crate::connect::connect;
use crate::output::{print_stdout, warn, CliError};
use crate::sources::{commands_of, read_all};

pub async fn run(args: InstallArgs, _global: &GlobalArgs) -> Result<ExitCode, CliError> {
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
    let desired = collect(&args).await?;
    let Some(desired) = desired else {
        return Ok(ExitCode::from(1));
    };

    let (client, info) = connect(&args.xnat, true).await?;
    let result = async {
        let installed = client.list_commands().await.map_err(CliError::work)?;
        let mut projects = args.enable_projects.clone();
        if args.enable_all_projects {
            for p in client.projects().await.map_err(CliError::work)? {
                if !projects.contains(&p) {
                    projects.push(p);
                }
            }
        }
        let enable = EnableSpec {
            site: args.enable_site,
            projects,
        };
        let opts = PlanOptions {
            side_by_side: args.side_by_side,
            replace: args.replace,
        };
        let planned = plan(&desired, &installed, opts);
        if args.replace && planned.iter().any(|p| matches!(p.action, Action::Replace { .. })) {
            warn("--replace deletes and re-creates changed commands: their wrapper ids change and site/project enablement is reset");
        }
        Ok::<_, CliError>(apply(&client, planned, &installed, &enable, args.dry_run).await)
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
        print_stdout(&human(&report))?;
    }
    for o in &report.commands {
        for w in &o.warnings {
            warn(format!("{}: {w}", o.planned.name));
        }
        if let Some(e) = &o.error {
            eprintln!("error: {} ({}): {e}", o.planned.name, o.planned.image);
        }
        if let Action::Conflict { reason, .. } = &o.planned.action {
            eprintln!(
                "error: {} ({}): conflict: {reason}",
                o.planned.name, o.planned.image
            );
        }
    }
    Ok(if report.failed() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Read every source, inject images, validate everything. `None` when anything is invalid
/// (already reported): then nothing is written, not even a login.
async fn collect(args: &InstallArgs) -> Result<Option<Vec<Desired>>, CliError> {
    let reads = read_all(&args.sources, args.source.read_options()?).await?;
    let mut desired = Vec::new();
    let mut ok = true;
    for r in reads {
        let result = match r.result {
            Ok(res) => res,
            Err(e) => {
                eprintln!("error: {}: {}", r.text, crate::output::chain(&e));
                ok = false;
                continue;
            }
        };
        for w in &result.warnings {
            warn(format!("{}: {w}", r.text));
        }
        let Some(record) = result.images.first() else {
            continue;
        };
        let commands = match commands_of(&r.text, record) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: {}: {e}", r.text);
                ok = false;
                continue;
            }
        };
        let pin = if args.pin_digest {
            match &record.manifest_digest {
                Some(d) => Some(d.as_str()),
                None => {
                    eprintln!("error: {}: no manifest digest known for this source, so --pin-digest cannot pin it", r.text);
                    ok = false;
                    continue;
                }
            }
        } else {
            None
        };
        let Some(image) = install_image(record.image.as_deref(), args.image.as_deref(), pin) else {
            eprintln!("error: {}: no image reference is recorded with this image: pass --image REF (the reference XNAT should run)", r.text);
            ok = false;
            continue;
        };
        for c in commands {
            let command = with_image(&c, &image);
            let name = xnat_cmd::CommandView::new(&command)
                .name()
                .unwrap_or_else(|| "(unnamed)".into());
            // XNAT's own label import also replaces the command's image; say so when the
            // author named another repository, as that is often a stale copy-paste.
            if let Some(own) = xnat_cmd::CommandView::new(&c).image() {
                if !same_repository(&own, &image) {
                    warn(format!(
                        "{}: command `{name}` names image {own} but is installed under {image}, the image it was read from",
                        r.text
                    ));
                }
            }
            // Warnings repeat per occurrence (an ignored key in every input): say each once.
            let mut warned: Vec<(String, usize)> = Vec::new();
            for d in validate(&command, Form::Create) {
                match d.severity {
                    Severity::Error => {
                        eprintln!(
                            "error: {}: command `{name}`: {} (at {})",
                            r.text, d.message, d.pointer
                        );
                        ok = false;
                    }
                    Severity::Warning => match warned.iter_mut().find(|(m, _)| *m == d.message) {
                        Some((_, n)) => *n += 1,
                        None => warned.push((d.message, 1)),
                    },
                }
            }
            for (m, n) in warned {
                let times = if n > 1 {
                    format!(" ({n} places)")
                } else {
                    String::new()
                };
                warn(format!("{}: command `{name}`: {m}{times}", r.text));
            }
            desired.push(Desired {
                source: r.text.clone(),
                image: image.clone(),
                command,
            });
        }
    }
    if !ok {
        eprintln!("error: nothing was written to XNAT: fix the errors above and run again");
        return Ok(None);
    }
    Ok(Some(desired))
}

fn status_word(s: Status) -> &'static str {
    match s {
        Status::Created => "created",
        Status::Updated => "updated",
        Status::Replaced => "replaced",
        Status::Unchanged => "unchanged",
        Status::WouldCreate => "would create",
        Status::WouldUpdate => "would update",
        Status::WouldReplace => "would replace",
        Status::Conflict => "conflict",
        Status::Failed => "failed",
    }
}

fn human(report: &ApplyReport) -> String {
    let mut s = String::new();
    for o in &report.commands {
        let id = o.id.map_or(String::new(), |i| format!(" (id {i})"));
        let _ = writeln!(
            s,
            "{:<13} {}{id}  {}",
            status_word(o.status),
            o.planned.name,
            o.planned.image
        );
        if let Action::Update {
            installed_image,
            changes,
            ..
        } = &o.planned.action
        {
            if installed_image != &o.planned.image {
                let _ = writeln!(s, "    upgrade from {installed_image}");
            }
            if report.dry_run {
                for c in changes {
                    let show = |v: &Option<serde_json::Value>| {
                        v.as_ref().map_or("(absent)".to_string(), |v| v.to_string())
                    };
                    let _ = writeln!(
                        s,
                        "    {}: {} → {}",
                        c.pointer,
                        show(&c.installed),
                        show(&c.desired)
                    );
                }
            }
        }
        for w in &o.wrappers {
            let id = w.id.map_or(String::new(), |i| format!(" #{i}"));
            let site = match w.site_enabled {
                Some(true) => "site: enabled",
                Some(false) => "site: disabled",
                None => "site: -",
            };
            let projects = if w.projects_enabled.is_empty() {
                String::new()
            } else {
                format!("; projects: {}", w.projects_enabled.join(", "))
            };
            let changes = if w.changes.is_empty() {
                String::new()
            } else {
                format!(
                    " ({}{})",
                    if report.dry_run { "would " } else { "" },
                    w.changes.join(", ")
                )
            };
            let _ = writeln!(s, "    wrapper {}{id}: {site}{projects}{changes}", w.name);
        }
    }
    let count = |st: &[Status]| {
        report
            .commands
            .iter()
            .filter(|o| st.contains(&o.status))
            .count()
    };
    let _ = writeln!(
        s,
        "{} created, {} updated, {} unchanged, {} failed or in conflict; {} writes, {} reads{}",
        count(&[
            Status::Created,
            Status::Replaced,
            Status::WouldCreate,
            Status::WouldReplace
        ]),
        count(&[Status::Updated, Status::WouldUpdate]),
        count(&[Status::Unchanged]),
        count(&[Status::Failed, Status::Conflict]),
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
