//! `xnat-cmd uninstall`: remove the commands of an image (its exact image when installed, else
//! every tag of its repository: [`xnat_cmd::plan::uninstall_matches`]), or commands by id.

use crate::exit::ExitStatus;

use serde::Serialize;
use xnat_cmd::command::command_with_id;
use xnat_cmd::pipeline::Options;
use xnat_cmd::plan::uninstall_matches;
use xnat_cmd::problem::Problem;
use xnat_cmd::reference::InstallRef;
use xnat_cmd::CommandView;

use crate::args::UninstallArgs;
use crate::connect::{open, prepare};
use crate::output::{error, print_human, print_stdout, warn, CliError};
use crate::settings::Settings;
use crate::sources::{item_problem, run as read, warn_item};

#[derive(Debug, Serialize)]
struct Removal {
    id: i64,
    name: Option<String>,
    image: Option<String>,
    removed: bool,
}

pub async fn run(args: UninstallArgs, settings: &Settings) -> Result<ExitStatus, CliError> {
    if args.image.is_some() && args.sources.len() > 1 {
        return Err(CliError::usage("--image applies to one SOURCE only"));
    }
    // URL and credentials first: a missing one is a usage error before any image is read.
    let client = prepare(&args.xnat, settings)?;
    // (name, image) pairs wanted gone, from the sources.
    let mut wanted: Vec<(String, InstallRef)> = Vec::new();
    if !args.sources.is_empty() {
        let source = settings.source(&args.source)?;
        let opts = Options {
            read: source.read,
            image: args.image.clone(),
            need_reference: true,
            ..Options::default()
        };
        let mut failed = false;
        for item in read(&args.sources, false, &source.run, &opts).await? {
            warn_item(&item);
            match &item.outcome {
                Ok(images) => {
                    for image in images.iter().take(1) {
                        let Some(install) = &image.install_image else {
                            continue;
                        };
                        for p in &image.commands {
                            if let Some(n) = &p.name {
                                wanted.push((n.clone(), install.clone()));
                            }
                        }
                    }
                }
                Err(e) => {
                    error(&item_problem(&item.input, e));
                    failed = true;
                }
            }
        }
        if failed {
            error(&Problem::new(
                "nothing was removed from XNAT: fix the errors above and run again",
            ));
            return Ok(ExitStatus::Failed);
        }
    }
    let (client, _info) = open(client, true).await?;
    let result = async {
        let installed = client
            .list_commands()
            .await
            .map_err(|e| CliError::work_of(&e))?;
        let mut targets: Vec<Removal> = Vec::new();
        let mut unknown_ids = Vec::new();
        let mut push = |c: &serde_json::Value| {
            let v = CommandView::new(c);
            if let Some(id) = v.id() {
                if !targets.iter().any(|t| t.id == id) {
                    targets.push(Removal {
                        id,
                        name: v.name(),
                        image: v.image(),
                        removed: false,
                    });
                }
            }
        };
        for id in &args.ids {
            match command_with_id(&installed, *id) {
                Some(c) => push(c),
                None => unknown_ids.push(*id),
            }
        }
        for (name, image) in &wanted {
            let found = uninstall_matches(name, image.as_str(), &installed);
            if found.is_empty() {
                warn(format!("command `{name}` of {image} is not installed"));
            }
            for c in found {
                push(c);
            }
        }
        // An id the user named that XNAT does not have is a mistake: remove nothing.
        if !unknown_ids.is_empty() {
            let ids: Vec<String> = unknown_ids.iter().map(|i| i.to_string()).collect();
            return Err(CliError::Work(
                Problem::new(format!(
                    "no installed command has id {}: nothing was removed",
                    ids.join(", ")
                ))
                .with_hint(Some(
                    "`xnat-cmd list` shows the installed commands and their ids",
                )),
            ));
        }
        if !args.dry_run {
            for t in &mut targets {
                client
                    .delete_command(t.id)
                    .await
                    .map_err(|e| CliError::work_of(&e))?;
                t.removed = true;
            }
        }
        Ok::<_, CliError>(targets)
    }
    .await;
    client.logout().await;
    let targets = result?;
    if args.json {
        let text = serde_json::to_string_pretty(&targets).map_err(CliError::work)?;
        print_stdout(&format!("{text}\n"))?;
    } else {
        let mut s = String::new();
        for t in &targets {
            s.push_str(&format!(
                "{} {} (id {})  {}\n",
                if t.removed { "removed" } else { "would remove" },
                t.name.as_deref().unwrap_or("-"),
                t.id,
                t.image.as_deref().unwrap_or("-")
            ));
        }
        if targets.is_empty() {
            s.push_str("nothing to remove\n");
        }
        print_human(&s)?;
    }
    Ok(ExitStatus::Success)
}
