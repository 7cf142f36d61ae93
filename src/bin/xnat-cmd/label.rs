//! `xnat-cmd label`.

use std::process::ExitCode;

use crate::args::{GlobalArgs, LabelArgs};
use crate::output::CliError;

pub fn run(_args: LabelArgs, _global: &GlobalArgs) -> Result<ExitCode, CliError> {
    Ok(ExitCode::SUCCESS)
}
