//! `xnat-cmd completions SHELL` and the hidden `xnat-cmd manpage`: shell completion scripts
//! (clap_complete) and man pages (clap_mangen), generated from the same clap definition the
//! parser uses, so neither can name a flag that does not exist.
//!
//! The man pages come from the binary itself (not from an xtask or a build script) so that
//! release.sh, a distribution packager or a user gets the pages of exactly the binary they
//! hold, with nothing else to build.

use crate::exit::ExitStatus;
use std::path::{Path, PathBuf};

use clap::{Args, CommandFactory};
use clap_complete::Shell;
use xnat_cmd::problem::Hint;

use crate::args::Cli;
use crate::output::{self, CliError};
use crate::settings::Settings;

/// How to install a completion script, shown under `completions --help`.
pub const INSTALL_HELP: &str = "Install, e.g.:
  bash:       xnat-cmd completions bash > ~/.local/share/bash-completion/completions/xnat-cmd
  zsh:        xnat-cmd completions zsh > ~/.zfunc/_xnat-cmd   (with fpath+=(~/.zfunc) before compinit)
  fish:       xnat-cmd completions fish > ~/.config/fish/completions/xnat-cmd.fish
  powershell: xnat-cmd completions powershell >> $PROFILE";

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to print the completion script for.
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Debug, Args)]
pub struct ManpageArgs {
    /// Write xnat-cmd.1 and one page per subcommand (xnat-cmd-install.1, …) into DIR instead
    /// of printing xnat-cmd.1 to stdout.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Writing the man pages into a folder failed.
#[derive(Debug, thiserror::Error)]
#[error("failed to write the man pages into `{dir}`")]
pub struct ManpageError {
    dir: PathBuf,
    #[source]
    source: std::io::Error,
}

impl Hint for ManpageError {
    fn hint(&self) -> Option<String> {
        Some("create the folder first, or pick one you can write to".to_string())
    }
}

pub fn run(args: CompletionsArgs, _settings: &Settings) -> Result<ExitStatus, CliError> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "xnat-cmd", &mut script);
    let mut text = String::from_utf8_lossy(&script).into_owned();
    if args.shell == Shell::Bash {
        // clap_complete's bash script spells the state of a subcommand of a hyphenated binary
        // two ways (`xnat__cmd__subcmd__install` when set, `xnat__subcmd__cmd__subcmd__install`
        // in the case arms), so no flag of a subcommand ever completes
        // (https://github.com/clap-rs/clap/issues/6421, open). The arms are respelled to match;
        // a no-op once clap fixes it; tests/it/dist.rs completes a subcommand's flag in bash.
        text = text.replace("xnat__subcmd__cmd__", "xnat__cmd__");
    }
    output::print_stdout(&text)?;
    Ok(ExitStatus::Success)
}

pub fn run_manpage(args: ManpageArgs, _settings: &Settings) -> Result<ExitStatus, CliError> {
    match args.dir {
        Some(dir) => {
            write_pages(&dir).map_err(|source| {
                CliError::work_of(&ManpageError {
                    dir: dir.clone(),
                    source,
                })
            })?;
        }
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut page)
                .map_err(CliError::work)?;
            output::print_stdout(&String::from_utf8_lossy(&page))?;
        }
    }
    Ok(ExitStatus::Success)
}

fn write_pages(dir: &Path) -> std::io::Result<()> {
    clap_mangen::generate_to(Cli::command(), dir)
}
