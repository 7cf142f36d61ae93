//! `xnat-cmd validate`.

use std::process::ExitCode;

use crate::args::{GlobalArgs, ValidateArgs};
use crate::output::CliError;

pub async fn run(_args: ValidateArgs, _global: &GlobalArgs) -> Result<ExitCode, CliError> {
    Ok(ExitCode::SUCCESS)
}
