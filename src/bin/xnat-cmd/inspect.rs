//! `xnat-cmd inspect`.

use std::process::ExitCode;

use crate::args::{GlobalArgs, InspectArgs};
use crate::output::CliError;

pub async fn run(_args: InspectArgs, _global: &GlobalArgs) -> Result<ExitCode, CliError> {
    Ok(ExitCode::SUCCESS)
}
