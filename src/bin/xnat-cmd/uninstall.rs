//! `xnat-cmd uninstall`: remove the commands of an image (matched by name and image, like
//! install), or commands by id.

use std::process::ExitCode;

use serde::Serialize;
use xnat_cmd::command::lenient_i64;
use xnat_cmd::plan::{install_image, same_repository};
use xnat_cmd::CommandView;

use crate::args::{GlobalArgs, UninstallArgs};
use crate::connect::connect;
use crate::output::{print_stdout, CliError};
use crate::sources::{commands_of, read_all};

#[derive(Debug, Serialize)]
struct Removal {
    id: i64,
    name: Option<String>,
    image: Option<String>,
    removed: bool,
}

pub async fn run(args: UninstallArgs, _global: &GlobalArgs) -> Result<ExitCode, CliError> {
    if args.image.is_some() && args.sources.len() > 1 {
        return Err(CliError::usage("--image applies to one SOURCE only"));
    }
    // (name, image) pairs wanted gone, from the sources.
    let mut wanted: Vec<(String, String)> = Vec::new();
    if !args.sources.is_empty() {
        for r in read_all(&args.sources, args.source.read_options()?).await? {
            let result = r.result.map_err(CliError::work)?;
            let Some(record) = result.images.first() else {
                continue;
            };
            let commands = commands_of(&r.text, record).map_err(CliError::work)?;
            let image = install_image(record.image.as_deref(), args.image.as_deref(), None)
                .ok_or_else(|| {
                    CliError::usage(format!(
                        "{}: no image reference is recorded with this image: pass --image REF",
                        r.text
                    ))
                })?;
            for c in commands {
                if let Some(n) = CommandView::new(&c).name() {
                    wanted.push((n, image.clone()));
                }
            }
        }
    }
    let (client, _info) = connect(&args.xnat, true).await?;
    let result = async {
        let installed = client.list_commands().await.map_err(CliError::work)?;
        let mut targets: Vec<Removal> = Vec::new();
        let mut push = |c: &serde_json::Value| {
            let v = CommandView::new(c);
            if let Some(id) = c.get("id").and_then(lenient_i64) {
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
            match installed
                .iter()
                .find(|c| c.get("id").and_then(lenient_i64) == Some(*id))
            {
                Some(c) => push(c),
                None => crate::output::warn(format!("no installed command has id {id}")),
            }
        }
        for (name, image) in &wanted {
            let same_name: Vec<&serde_json::Value> = installed
                .iter()
                .filter(|c| CommandView::new(c).name().as_deref() == Some(name.as_str()))
                .collect();
            // The exact image when installed; otherwise every tag of the same repository.
            let exact: Vec<_> = same_name
                .iter()
                .filter(|c| CommandView::new(c).image().as_deref() == Some(image.as_str()))
                .collect();
            let pool: Vec<_> = if exact.is_empty() {
                same_name
                    .iter()
                    .filter(|c| {
                        CommandView::new(c)
                            .image()
                            .is_some_and(|i| same_repository(&i, image))
                    })
                    .collect()
            } else {
                exact
            };
            if pool.is_empty() {
                crate::output::warn(format!("command `{name}` of {image} is not installed"));
            }
            for c in pool {
                push(c);
            }
        }
        if !args.dry_run {
            for t in &mut targets {
                client.delete_command(t.id).await.map_err(CliError::work)?;
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
        print_stdout(&s)?;
    }
    Ok(ExitCode::SUCCESS)
}
