//! `xnat-cmd schema`: print the JSON Schema of a command file or of a fleet file, for editors
//! (VS Code `json.schemas` / `yaml.schemas`, a `$schema` key) and CI checks.

use crate::exit::ExitStatus;

use clap::{Args, ValueEnum};

use xnat_cmd::schema::Which;

use crate::output::{self, CliError};
use crate::settings::Settings;

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Which schema: `command` (command.json, one element of an org.nrg.commands label) or
    /// `fleet` (the file of sync and status).
    #[arg(value_enum)]
    pub which: SchemaKind,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SchemaKind {
    Command,
    Fleet,
}

pub fn run(args: SchemaArgs, _settings: &Settings) -> Result<ExitStatus, CliError> {
    let which = match args.which {
        SchemaKind::Command => Which::Command,
        SchemaKind::Fleet => Which::Fleet,
    };
    let text = serde_json::to_string_pretty(&which.schema()).map_err(CliError::work)?;
    output::print_stdout(&(text + "\n"))?;
    Ok(ExitStatus::Success)
}
