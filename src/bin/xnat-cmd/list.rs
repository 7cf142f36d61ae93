//! `xnat-cmd list`: installed commands with their wrappers and where they are enabled.

use std::fmt::Write as _;
use std::process::ExitCode;

use serde::Serialize;
use xnat_cmd::command::lenient_i64;
use xnat_cmd::xnat::XnatClient;
use xnat_cmd::CommandView;

use crate::args::{GlobalArgs, ListArgs};
use crate::connect::connect;
use crate::output::{print_stdout, CliError};

#[derive(Debug, Serialize)]
struct Listed {
    id: Option<i64>,
    name: Option<String>,
    version: Option<String>,
    image: Option<String>,
    wrappers: Vec<ListedWrapper>,
}

#[derive(Debug, Serialize)]
struct ListedWrapper {
    id: Option<i64>,
    name: Option<String>,
    contexts: Vec<String>,
    enabled_site: bool,
    /// Projects whose own record enables the wrapper; effective only when `enabled_site`.
    enabled_projects: Vec<String>,
}

pub async fn run(args: ListArgs, _global: &GlobalArgs) -> Result<ExitCode, CliError> {
    let (client, _info) = connect(&args.xnat, false).await?;
    let result = gather(&client).await;
    client.logout().await;
    let listed = result.map_err(CliError::work)?;
    if args.json {
        let text = serde_json::to_string_pretty(&listed).map_err(CliError::work)?;
        print_stdout(&format!("{text}\n"))?;
    } else {
        print_stdout(&human(&listed))?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn gather(client: &XnatClient) -> Result<Vec<Listed>, xnat_cmd::xnat::XnatError> {
    let mut out = Vec::new();
    for c in client.list_commands().await? {
        let v = CommandView::new(&c);
        let mut wrappers = Vec::new();
        for w in v.wrappers() {
            let (enabled_site, enabled_projects) = match w.id() {
                Some(id) => (
                    client.site_enabled(id).await?,
                    client.wrapper_projects(id).await?,
                ),
                None => (false, Vec::new()),
            };
            wrappers.push(ListedWrapper {
                id: w.id(),
                name: w.name(),
                contexts: w.contexts(),
                enabled_site,
                enabled_projects,
            });
        }
        out.push(Listed {
            id: c.get("id").and_then(lenient_i64),
            name: v.name(),
            version: v.version(),
            image: v.image(),
            wrappers,
        });
    }
    Ok(out)
}

fn human(listed: &[Listed]) -> String {
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
    let widths: Vec<usize> = (0..4)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([["ID", "NAME", "VERSION", "IMAGE"][i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |s: &mut String, r: [&str; 4]| {
        let _ = writeln!(
            s,
            "{:<w0$}  {:<w1$}  {:<w2$}  {}",
            r[0],
            r[1],
            r[2],
            r[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        );
    };
    line(&mut s, ["ID", "NAME", "VERSION", "IMAGE"]);
    for (c, r) in listed.iter().zip(&rows) {
        line(&mut s, [&r[0], &r[1], &r[2], &r[3]]);
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
