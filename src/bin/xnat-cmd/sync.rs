//! `xnat-cmd sync FILE`: the fleet file → read every image → validate everything → per site:
//! connect, plan, apply, prune → one report.

use crate::exit::ExitStatus;
use std::fmt::Write as _;

use serde::Serialize;
use xnat_cmd::fleet::{self, Fleet};
use xnat_cmd::pipeline::{self, Input, Options};
use xnat_cmd::plan::Desired;
use xnat_cmd::problem::{problem, Problem};
use xnat_cmd::reference::InstallRef;
use xnat_cmd::sync::{declared_on, entry_commands, sync_site, Declared, SiteReport};

use xnat_cmd::xnat::XnatClient;

use crate::args::{SourceArgs, SyncArgs, XnatArgs};
use crate::connect::{open, prepare, prepare_site};
use crate::output::{align, error, print_human, print_stdout, warn, CliError};
use crate::progress::Progress;
use crate::report::outcome_lines;
use crate::settings::Settings;
use crate::sources::{item_problem, report_commands, warn_item};

/// Mistakes of one fleet file printed at most; the rest are counted.
const MAX_MISTAKES_SHOWN: usize = 100;

/// The site a fleet file without `sites:` syncs: the one of `--xnat` / `XNAT_HOST`.
const DEFAULT_SITE: &str = "default";

#[derive(Serialize)]
struct SyncReport<'a> {
    dry_run: bool,
    /// Fleet images that could not be read or selected, each with why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    failed_images: Vec<FailedImage<'a>>,
    sites: &'a [SiteReport],
}

/// A fleet image that could not be read or selected, in `--json` reports.
#[derive(Serialize)]
pub struct FailedImage<'a> {
    image: &'a str,
    #[serde(flatten)]
    problem: &'a Problem,
}

pub fn failed_list(list: &[(String, Problem)]) -> Vec<FailedImage<'_>> {
    list.iter()
        .map(|(image, problem)| FailedImage { image, problem })
        .collect()
}

/// Read (capped) and parse a fleet file; usage errors name the file, and every mistake in it
/// is printed (the last one is returned, so the run ends with exit 2). Also `status FILE`'s.
pub fn read_fleet(path: &std::path::Path) -> Result<(fleet::Fleet, String), CliError> {
    read_fleet_all(path).map_err(crate::output::usages)
}

/// [`read_fleet`] printing nothing: every mistake of the file, in file order, each naming the
/// file with its line and column (`validate FLEET...` reports several files' at once).
pub fn read_fleet_all(path: &std::path::Path) -> Result<(fleet::Fleet, String), Vec<Problem>> {
    let shown = path.display().to_string();
    let text =
        xnat_cmd::limits::read_text(path, xnat_cmd::limits::MAX_FLEET_FILE_BYTES).map_err(|e| {
            vec![Problem::new(format!(
                "failed to read fleet file `{shown}`: {e}"
            ))]
        })?;
    let fleet = fleet::parse_all(&shown, &text).map_err(|errors| {
        // Bounded output: a generated file can hold thousands of the same mistake.
        let mut shown_errors: Vec<Problem> = errors
            .iter()
            .take(MAX_MISTAKES_SHOWN)
            .map(xnat_cmd::problem::problem)
            .collect();
        if errors.len() > MAX_MISTAKES_SHOWN {
            shown_errors.push(Problem::new(format!(
                "`{shown}`: {} more mistakes not shown (fix the ones above and run again)",
                errors.len() - MAX_MISTAKES_SHOWN
            )));
        }
        shown_errors
    })?;
    Ok((fleet, shown))
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
    let sites = chosen_sites(&fleet, &args.sites)?;
    let clients = prepare_sites(&sites, &args.xnat, settings)?;

    let progress = Progress::new(args.json);
    let loaded = load(&fleet, &shown, &args.source, settings, &progress).await?;
    if loaded.invalid {
        error(&Problem::new(
            "nothing was written to any site: fix the invalid commands above and run again",
        ));
        return Ok(ExitStatus::Failed);
    }
    let failed_images = loaded.failed_images;
    let selected = loaded.selected;
    let unread: std::collections::HashSet<&str> =
        failed_images.iter().map(|(i, _)| i.as_str()).collect();

    let mut reports = Vec::new();
    progress.start("syncing sites", sites.len());
    for ((name, url, _), client) in sites.iter().zip(clients) {
        let declared = declared_for(&fleet, &selected, name);
        let mut report = SiteReport::new(name, url.as_deref().unwrap_or(""));
        report.failed_images = fleet
            .images
            .iter()
            .filter(|e| declared_on(e, name) && unread.contains(e.image.as_str()))
            .map(|e| e.image.clone())
            .collect();
        let connected = match client {
            Ok(client) => {
                report.url = client.base().to_string();
                open(client, true).await
            }
            Err(p) => Err(CliError::Work(p)),
        };
        match connected {
            Ok((client, _info)) => {
                let prune = args.prune.then_some(fleet.prune.as_slice());
                sync_site(&client, &mut report, &declared, prune, args.dry_run).await;
                client.logout().await;
            }
            Err(CliError::Usage(p)) | Err(CliError::Work(p)) => report.error = Some(p),
        }
        progress.inc();
        // A dry run plans; it never says "synced".
        let done = match (report.failed(), args.dry_run) {
            (true, _) => "failed",
            (false, true) => "planned (dry run: nothing written)",
            (false, false) => "synced",
        };
        progress.finish(&format!("site {name}: {done}"));
        reports.push(report);
    }
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

/// Every fleet image read and its commands selected and checked (problems printed).
pub struct Loaded {
    /// Per fleet image: the install image and the selected commands, or `None` (unreadable).
    pub selected: Vec<Option<(Option<InstallRef>, Vec<pipeline::Prepared>)>>,
    pub failed_images: Vec<(String, Problem)>,
    /// Some selected command is invalid.
    pub invalid: bool,
}

/// Every fleet image read concurrently, each with its own platform, pin-digest and keys: one
/// pipeline item per entry, in file order. Nothing is printed but the progress; a source that
/// cannot be read at all (bad text, a key file, an unverifiable source) is a usage error.
pub async fn read_images(
    fleet: &Fleet,
    shown: &str,
    source: &SourceArgs,
    settings: &Settings,
    progress: &Progress,
) -> Result<Vec<pipeline::Item>, CliError> {
    // Where an entry is: `FILE:LINE` for a fleet file; nothing for images given on the command
    // line (`status SOURCE...`), whose messages name the image already.
    let at = |line: usize| {
        if line == 0 {
            String::new()
        } else {
            format!("{shown}:{line}")
        }
    };
    // Read every image concurrently, each with its own platform and pin-digest.
    let source = settings.source(source)?;
    let read = source.read;
    let texts: Vec<String> = fleet.images.iter().map(|i| i.image.clone()).collect();
    let mut inputs = Vec::with_capacity(texts.len());
    let mut opts = Vec::with_capacity(texts.len());
    let mut keys = KeyFiles::default();
    for entry in &fleet.images {
        let input = pipeline::classify(&entry.image, false)
            .map_err(|e| CliError::Usage(problem(&e).about(&at(entry.line))))?;
        if let Input::CommandFile(_) = input {
            return Err(CliError::Usage(
                Problem::new(format!("`{}` is not an image source", entry.image))
                    .about(&at(entry.line)),
            ));
        }
        let mut r = read.clone();
        if let Some(p) = &entry.platform {
            r.platform = p.clone();
        }
        if !entry.verify.is_empty() {
            // Before any read: a daemon or archive source cannot be verified.
            pipeline::check_verifiable(
                std::slice::from_ref(&entry.image),
                std::slice::from_ref(&input),
            )
            .map_err(|e| CliError::Usage(problem(&e)))?;
            r.verify_keys = keys.load(&entry.verify)?;
        }
        inputs.push(input);
        opts.push(Options {
            read: r,
            image: None,
            pin_digest: entry.pin_digest,
            need_reference: true,
        });
    }
    progress.start("reading images", texts.len());
    let items =
        pipeline::run_each_with(&texts, &inputs, &source.run, &opts, &|_| progress.inc()).await;
    let unread = items.iter().filter(|i| i.outcome.is_err()).count();
    progress.finish(&format!(
        "read {} image{} ({unread} failed)",
        items.len(),
        if items.len() == 1 { "" } else { "s" }
    ));
    Ok(items)
}

/// Read every fleet image concurrently, each with its own platform and pin-digest; select
/// `commands:`; report every problem as it is found.
pub async fn load(
    fleet: &Fleet,
    shown: &str,
    source: &SourceArgs,
    settings: &Settings,
    progress: &Progress,
) -> Result<Loaded, CliError> {
    let items = read_images(fleet, shown, source, settings, progress).await?;

    // Select and check: an invalid command anywhere and nothing is written anywhere.
    let mut failed_images: Vec<(String, Problem)> = Vec::new();
    let mut selected: Vec<Option<(Option<InstallRef>, Vec<pipeline::Prepared>)>> = Vec::new();
    let mut invalid = false;
    for (entry, item) in fleet.images.iter().zip(&items) {
        warn_item(item);
        if let Err(e) = &item.outcome {
            let p = item_problem(&item.input, e);
            error(&p);
            failed_images.push((entry.image.clone(), p));
            selected.push(None);
            continue;
        }
        match entry_commands(entry, item) {
            Ok(Some((image, commands))) => {
                report_commands(&item.input, &commands);
                invalid |= commands.iter().any(|p| !p.valid());
                selected.push(Some((image, commands)));
            }
            Ok(None) => selected.push(None),
            Err(e) => {
                let p = problem(&e).about(&item.input);
                error(&p);
                failed_images.push((entry.image.clone(), p));
                selected.push(None);
            }
        }
    }
    Ok(Loaded {
        selected,
        failed_images,
        invalid,
    })
}

/// What the fleet declares for `site`, with the commands as read.
pub fn declared_for(
    fleet: &Fleet,
    selected: &[Option<(Option<InstallRef>, Vec<pipeline::Prepared>)>],
    site: &str,
) -> Vec<Declared> {
    fleet
        .images
        .iter()
        .zip(selected)
        .filter(|(entry, _)| declared_on(entry, site))
        .map(|(entry, sel)| Declared {
            source: entry.image.clone(),
            commands: sel.as_ref().map_or_else(Vec::new, |(image, cmds)| {
                image
                    .iter()
                    .flat_map(|image| {
                        cmds.iter().map(|p| Desired {
                            source: entry.image.clone(),
                            image: image.clone(),
                            command: p.command.clone(),
                        })
                    })
                    .collect()
            }),
            enable_site: entry.enable.site,
            projects: entry.enable.projects.clone(),
            readable: sel.is_some(),
        })
        .collect()
}

/// A chosen site's client, nothing sent: a file's site with its own credentials, or
/// `--xnat`/`XNAT_HOST`. Its usage errors (no URL, no credentials, an unset `user-env`) come
/// before any image is read.
fn prepare_choice(
    name: &str,
    url: &Option<String>,
    vars: &(Option<String>, Option<String>),
    xnat: &XnatArgs,
    settings: &Settings,
) -> Result<XnatClient, CliError> {
    match url {
        Some(u) => prepare_site(
            name,
            u,
            (vars.0.as_deref(), vars.1.as_deref()),
            xnat,
            settings,
        ),
        None => prepare(xnat, settings),
    }
}

/// Every chosen site's client, before any image is read: a missing URL or credentials (a usage
/// error) stops the run now, not after minutes of registry reads; a site that cannot be
/// prepared otherwise fails alone.
pub fn prepare_sites(
    sites: &[SiteChoice],
    xnat: &XnatArgs,
    settings: &Settings,
) -> Result<Vec<Result<XnatClient, Problem>>, CliError> {
    let mut clients = Vec::with_capacity(sites.len());
    for (name, url, vars) in sites {
        clients.push(match prepare_choice(name, url, vars, xnat, settings) {
            Ok(client) => Ok(client),
            Err(CliError::Usage(p)) => return Err(CliError::Usage(p)),
            Err(CliError::Work(p)) => Err(p),
        });
    }
    Ok(clients)
}

/// (name, URL from the file or `None` for --xnat/XNAT_HOST, (user-env, password-env)).
pub type SiteChoice = (String, Option<String>, (Option<String>, Option<String>));

pub fn chosen_sites(fleet: &Fleet, chosen: &[String]) -> Result<Vec<SiteChoice>, CliError> {
    if fleet.sites.is_empty() {
        if let Some(s) = chosen.iter().find(|s| *s != DEFAULT_SITE) {
            return Err(CliError::usage(format!(
                "--site {s}: the fleet file has no `sites:`; it syncs the one XNAT of --xnat / XNAT_HOST"
            )));
        }
        return Ok(vec![(DEFAULT_SITE.to_string(), None, (None, None))]);
    }
    for s in chosen {
        if !fleet.sites.iter().any(|x| &x.name == s) {
            let names: Vec<&str> = fleet.sites.iter().map(|x| x.name.as_str()).collect();
            // A near miss (`prdo`, `Prod`) gets the name it most likely meant.
            let near = names
                .iter()
                .map(|n| {
                    (
                        strsim::levenshtein(&s.to_lowercase(), &n.to_lowercase()),
                        *n,
                    )
                })
                .filter(|(d, _)| *d <= 2)
                .min()
                .map(|(_, n)| format!(" (did you mean `{n}`?)"))
                .unwrap_or_default();
            return Err(CliError::usage(format!(
                "--site {s}{near}: the fleet file defines no such site (it has: {})",
                names.join(", ")
            )));
        }
    }
    Ok(fleet
        .sites
        .iter()
        .filter(|s| chosen.is_empty() || chosen.contains(&s.name))
        .map(|s| {
            (
                s.name.clone(),
                Some(s.url.clone()),
                (s.user_env.clone(), s.password_env.clone()),
            )
        })
        .collect())
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
        for x in &r.removed {
            let _ = writeln!(
                s,
                "{:<13} {} (id {})  {}",
                if x.removed {
                    "removed"
                } else if x.error.is_some() {
                    "failed"
                } else {
                    "would remove"
                },
                x.name.as_deref().unwrap_or("-"),
                x.id,
                x.image.as_deref().unwrap_or("-")
            );
        }
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

/// Key files read once each, however many fleet entries name them.
#[derive(Default)]
struct KeyFiles(std::collections::BTreeMap<std::path::PathBuf, xnat_cmd::cosign::PublicKey>);

impl KeyFiles {
    fn load(
        &mut self,
        paths: &[std::path::PathBuf],
    ) -> Result<Vec<xnat_cmd::cosign::PublicKey>, CliError> {
        let mut out = Vec::with_capacity(paths.len());
        for p in paths {
            if !self.0.contains_key(p) {
                let key =
                    xnat_cmd::cosign::PublicKey::load(p).map_err(|e| CliError::usage_of(&e))?;
                self.0.insert(p.clone(), key);
            }
            out.extend(self.0.get(p).cloned());
        }
        Ok(out)
    }
}
