//! `xnat-cmd status FILE | SOURCE...`: how each XNAT site differs from what is declared, as a
//! table, JSON and Prometheus text (a file, a Pushgateway); exit 3 on drift, 1 when something
//! could not be checked. Reads only.

use crate::exit::ExitStatus;
use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;
use xnat_cmd::fleet::sites::for_each_site;
use xnat_cmd::fleet::Fleet;
use xnat_cmd::problem::{problem, Problem};
use xnat_cmd::status::push::{PushOptions, Pushgateway};
use xnat_cmd::status::{prometheus, DriftKind, SiteStatus, StatusJob};

use crate::args::{secret_file, StatusArgs};
use crate::connect::{choose_sites, prepare_sites};
use crate::output::{align, error, print_human, print_stdout, CliError};
use crate::progress::Progress;
use crate::report::{failed_list, FailedImage};
use crate::settings::Settings;
use crate::sources::{load_fleet, read_fleet};

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

pub async fn run(args: StatusArgs, settings: &Settings) -> Result<ExitStatus, CliError> {
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
        read_fleet(Path::new(&shown))?
    } else {
        if args.source.all_platforms {
            return Err(CliError::usage(
                "status reads one platform: use --platform instead of --all-platforms",
            ));
        }
        (sources_fleet(&args)?, "the command line".to_string())
    };
    let sites = choose_sites(&fleet, &args.sites)?;
    // Before any image is read: a mistake in the gateway's flags is a usage error.
    let gateway = pushgateway(&args, settings)?;
    let clients = prepare_sites(&sites, &args.xnat, settings)?;
    let progress = Progress::new(args.json);
    let loaded = load_fleet(&fleet, &shown, &args.source, settings, &progress).await?;
    if loaded.invalid() {
        error(&Problem::new(
            "invalid commands are declared: sync would refuse them; fix them and check again",
        ));
        // No site was checked: the run's series say so (and replace the last run's).
        publish(&args, gateway.as_ref(), &[], false).await?;
        return Ok(ExitStatus::Failed);
    }
    let job = StatusJob {
        prune: fleet.has_prune.then_some(fleet.prune.as_slice()),
    };
    progress.start("checking sites", sites.len());
    let reports = for_each_site(&job, &fleet, &loaded, &sites, clients, |site, status| {
        progress.inc();
        progress.finish(&format!(
            "site {}: {}",
            site.name,
            if status.checked() {
                "checked"
            } else {
                "not checked"
            }
        ));
    })
    .await;
    progress.clear();

    let failed_images = loaded.failed_images();
    let checked_all = failed_images.is_empty() && reports.iter().all(SiteStatus::checked);
    let drift = reports.iter().any(|r| !r.drift.is_empty());
    if args.json {
        let r = StatusReport {
            in_sync: checked_all && !drift,
            failed_images: failed_list(&failed_images),
            sites: &reports,
        };
        let text = serde_json::to_string_pretty(&r).map_err(CliError::work)?;
        print_stdout(&format!("{text}\n"))?;
    } else {
        print_human(&human(&reports))?;
    }
    for r in &reports {
        if let Some(p) = &r.error {
            error(&p.clone().about(&format!("site {}", r.name)));
        }
    }
    let pushed = publish(&args, gateway.as_ref(), &reports, checked_all).await?;
    Ok(if !checked_all || !pushed {
        ExitStatus::Failed
    } else if drift {
        ExitStatus::Drift
    } else {
        ExitStatus::Success
    })
}

/// The Pushgateway of `--pushgateway`, its CA and credentials read (usage errors name the flag).
fn pushgateway(args: &StatusArgs, settings: &Settings) -> Result<Option<Pushgateway>, CliError> {
    let Some(url) = &args.pushgateway else {
        return Ok(None);
    };
    let ca = match &args.pushgateway_ca {
        Some(path) => {
            let pem = xnat_cmd::limits::read_file(path, xnat_cmd::limits::MAX_CONFIG_FILE_BYTES)
                .map_err(|e| {
                    CliError::usage(format!(
                        "--pushgateway-ca: failed to read `{}`: {e}",
                        path.display()
                    ))
                })?;
            Some((path.display().to_string(), pem))
        }
        None => None,
    };
    let basic = match (&args.pushgateway_user, &args.pushgateway_password_file) {
        (Some(user), Some(file)) => Some((
            user.clone(),
            secret_file("--pushgateway-password-file", file)?,
        )),
        _ => None,
    };
    let opts = PushOptions {
        ca,
        basic,
        backoff_base: settings.backoff_base,
    };
    Pushgateway::new(url, opts)
        .map(Some)
        .map_err(|e| CliError::usage_of(&e))
}

/// Push to the gateway and write `--prometheus FILE`: the same text. `Ok(false)` when the push
/// failed (reported here, in one line); a file that cannot be written is an error (after the
/// push, so one failure does not cost the other output).
async fn publish(
    args: &StatusArgs,
    gateway: Option<&Pushgateway>,
    reports: &[SiteStatus],
    checked_all: bool,
) -> Result<bool, CliError> {
    if args.prometheus.is_none() && gateway.is_none() {
        return Ok(true);
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let text = prometheus(reports, now, checked_all);
    let mut pushed = true;
    if let Some(g) = gateway {
        match g.push(&text).await {
            Ok(()) => tracing::info!(group = g.url(), "pushed the series"),
            Err(e) => {
                error(&one_line(problem(&e).about("--pushgateway")));
                pushed = false;
            }
        }
    }
    if let Some(path) = &args.prometheus {
        write_prometheus(path, &text)?;
    }
    Ok(pushed)
}

/// The problem as one `error:` line (and its hint): the root cause joins the message; the
/// links between (reqwest's "error sending request", "client error (Connect)") add nothing.
fn one_line(mut p: Problem) -> Problem {
    if let Some(root) = p.causes.pop() {
        p.error = format!("{}: {root}", p.error);
        p.causes.clear();
    }
    p
}

/// Image sources as a fleet of one default site ([`xnat_cmd::fleet::run::sources_fleet`]).
fn sources_fleet(args: &StatusArgs) -> Result<Fleet, CliError> {
    let platform = match &args.source.platform {
        Some(p) => Some(xnat_cmd::Platform::parse(p).map_err(CliError::usage)?),
        None => None,
    };
    Ok(xnat_cmd::fleet::run::sources_fleet(
        &args.inputs,
        platform,
        &args.verify.verify_keys,
    ))
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
        let unread = match r.images_unreadable {
            0 => String::new(),
            1 => " could not check 1 image".to_string(),
            n => format!(" could not check {n} images"),
        };
        if r.error.is_some() {
            let _ = writeln!(s, "site {} ({}): not checked", r.name, r.url);
        } else if r.drift.is_empty() {
            let state = if unread.is_empty() {
                " in sync"
            } else {
                &unread
            };
            let _ = writeln!(s, "site {} ({}):{state}", r.name, r.url);
        } else {
            let _ = writeln!(s, "site {} ({}):{unread}", r.name, r.url);
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
        .chain(std::iter::once("UNREADABLE".to_string()))
        .collect::<Vec<_>>()];
    for r in reports {
        let mut row = vec![r.name.clone()];
        row.extend(DriftKind::ALL.iter().map(|k| {
            // Orphans are unknown while an image's commands are.
            if r.error.is_some() || (*k == DriftKind::Orphan && r.images_unreadable > 0) {
                "-".to_string()
            } else {
                r.count(*k).to_string()
            }
        }));
        row.push(r.images_unreadable.to_string());
        rows.push(row);
    }
    let _ = writeln!(s);
    for line in align(&rows) {
        let _ = writeln!(s, "{line}");
    }
    s
}
