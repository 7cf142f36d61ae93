//! `xnat-cmd list`: installed commands with their wrappers and where they are enabled.

use crate::exit::ExitStatus;
use std::fmt::Write as _;

use xnat_cmd::xnat::listing::{installed, Installed};

use crate::args::ListArgs;
use crate::connect::connect;
use crate::output::{align, print_human, print_stdout, CliError};
use crate::settings::Settings;

pub async fn run(args: ListArgs, settings: &Settings) -> Result<ExitStatus, CliError> {
    let (client, _info) = connect(&args.xnat, settings, false).await?;
    let result = installed(&client).await;
    client.logout().await;
    let listed = result.map_err(|e| CliError::work_of(&e))?;
    if args.json {
        let text = serde_json::to_string_pretty(&listed).map_err(CliError::work)?;
        print_stdout(&format!("{text}\n"))?;
    } else {
        print_human(&human(&listed))?;
    }
    Ok(ExitStatus::Success)
}

fn human(listed: &[Installed]) -> String {
    let mut s = String::new();
    if listed.is_empty() {
        s.push_str("no commands installed\n");
        return s;
    }
    let dash = |o: &Option<String>| o.clone().unwrap_or_else(|| "-".into());
    let rows: Vec<[String; 4]> = listed
        .iter()
        .map(|c| {
            [
                c.id.map_or("-".into(), |i| i.to_string()),
                dash(&c.name),
                dash(&c.version),
                dash(&c.image),
            ]
        })
        .collect();
    let header = ["ID", "NAME", "VERSION", "IMAGE"]
        .map(String::from)
        .to_vec();
    let table: Vec<Vec<String>> = std::iter::once(header)
        .chain(rows.iter().map(|r| r.to_vec()))
        .collect();
    let lines = align(&table);
    let _ = writeln!(s, "{}", lines[0]);
    for (c, line) in listed.iter().zip(&lines[1..]) {
        let _ = writeln!(s, "{line}");
        for w in &c.wrappers {
            let mut on = Vec::new();
            if w.enabled_site {
                on.push("site".to_string());
            }
            on.extend(w.enabled_projects.iter().map(|p| {
                if w.enabled_site {
                    format!("project {p}")
                } else {
                    format!("project {p} (inactive: not enabled site-wide)")
                }
            }));
            let _ = writeln!(
                s,
                "    wrapper #{} {} [{}] enabled: {}",
                w.id.map_or("-".into(), |i| i.to_string()),
                dash(&w.name),
                w.contexts.join(", "),
                if on.is_empty() {
                    "no".to_string()
                } else {
                    on.join(", ")
                }
            );
        }
    }
    s
}
