//! The `xnat-cmd` binary: parse arguments, run one subcommand, turn its [`ExitStatus`] into
//! the process exit code.
// Unit tests read their fixtures directly; the product reads files and the environment only
// through `limits` and `env` (clippy.toml).
#![cfg_attr(test, allow(clippy::disallowed_methods))]

mod args;
mod completions;
mod connect;
mod exit;
mod export;
mod inspect;
mod install;
mod label;
mod list;
mod output;
mod progress;
mod report;
mod schema;
mod settings;
mod sources;
mod status;
mod sync;
mod uninstall;
mod validate;
mod verdict;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};
use exit::ExitStatus;
use output::CliError;
use settings::Settings;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help/version to stdout with exit 0, usage errors to stderr with 2.
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    let _ = e.print();
                    ExitStatus::Success.into()
                }
                _ => {
                    // clap quotes the offending argument whole (an 8-million-digit number, a
                    // 4 MB reference): each line through the one summariser, capped, escaped.
                    let text = e.render().to_string();
                    let lines: Vec<String> = text.lines().map(xnat_cmd::summary::message).collect();
                    eprintln!("{}", lines.join("\n"));
                    ExitStatus::Usage.into()
                }
            };
        }
    };
    // The one read of the process environment; everything below gets this snapshot.
    let settings = Settings::resolve(&cli.global, xnat_cmd::Env::from_process());
    output::init_logging(&settings);
    // One thread: the work is network- and file-bound (blocking file reads go to tokio's
    // blocking pool), and a single thread measurably cuts CPU and context switches when many
    // registry reads run at once.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return output::report(CliError::work(e)).into(),
    };
    let result = runtime.block_on(run(cli, settings));
    match result {
        Ok(status) => status.into(),
        Err(e) => output::report(e).into(),
    }
}

async fn run(cli: Cli, settings: Settings) -> Result<ExitStatus, CliError> {
    let s = &settings;
    match cli.command {
        Command::Inspect(a) => inspect::run(a, s).await,
        Command::Validate(a) => validate::run(a, s).await,
        Command::Label(a) => label::run(a, s),
        Command::Install(a) => install::run(a, s).await,
        Command::List(a) => list::run(a, s).await,
        Command::Uninstall(a) => uninstall::run(a, s).await,
        Command::Sync(a) => sync::run(a, s).await,
        Command::Status(a) => status::run(a, s).await,
        Command::Export(a) => export::run(a, s).await,
        Command::Schema(a) => schema::run(a, s),
        Command::Completions(a) => completions::run(a, s),
        Command::Manpage(a) => completions::run_manpage(a, s),
    }
}
