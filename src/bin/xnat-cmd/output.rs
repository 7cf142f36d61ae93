//! Errors, exit codes and logging: the one place where results become what the user sees.

use std::error::Error as StdError;
use std::io::IsTerminal;
use std::io::Write;

use xnat_cmd::problem::{problem, Hint, Problem};

use crate::exit::ExitStatus;

/// What ends a subcommand early. The work's own failures (invalid commands, one item of
/// many) are reported by the subcommand as they happen, which then returns
/// [`ExitStatus::Failed`] as `Ok`.
#[derive(Debug)]
pub enum CliError {
    /// Bad arguments: [`ExitStatus::Usage`].
    Usage(Problem),
    /// The work failed: [`ExitStatus::Failed`].
    Work(Problem),
}

impl CliError {
    pub fn usage(msg: impl std::fmt::Display) -> Self {
        CliError::Usage(Problem::new(msg.to_string()))
    }

    /// A usage error from an error that knows its hint, about one argument.
    pub fn usage_of<E: StdError + Hint + 'static>(e: &E) -> Self {
        CliError::Usage(problem(e))
    }

    pub fn work(e: impl StdError + 'static) -> Self {
        CliError::Work(Problem::from_error(&e))
    }

    /// A failure from an error that knows its hint.
    pub fn work_of<E: StdError + Hint + 'static>(e: &E) -> Self {
        CliError::Work(problem(e))
    }
}

/// Several usage mistakes found together (every mistake of a fleet file): all but the last
/// printed now, the last returned, so each gets its own `error:` line and the run exits 2.
pub fn usages(mut problems: Vec<Problem>) -> CliError {
    let last = problems.pop();
    for p in &problems {
        error(p);
    }
    CliError::Usage(last.unwrap_or_else(|| Problem::new("usage error")))
}

/// Print the problem (`error: …`, `caused by: …`, `hint: …`); return how the run ends.
pub fn report(e: CliError) -> ExitStatus {
    match e {
        CliError::Usage(p) => {
            error(&p);
            ExitStatus::Usage
        }
        CliError::Work(p) => {
            error(&p);
            ExitStatus::Failed
        }
    }
}

/// One problem on stderr, for a whole run or for one item of many alike.
pub fn error(p: &Problem) {
    let _ = std::io::stderr().lock().write_all(p.render().as_bytes());
}

/// Rows as aligned lines: every column but the last padded to its widest cell, two spaces
/// between columns. The first row is usually the header.
pub fn align(rows: &[Vec<String>]) -> Vec<String> {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|k| {
            rows.iter()
                .filter_map(|r| r.get(k))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    rows.iter()
        .map(|r| {
            let mut line = String::new();
            for (k, cell) in r.iter().enumerate() {
                if k + 1 == r.len() {
                    line.push_str(cell);
                } else {
                    line.push_str(&format!("{cell:<w$}  ", w = widths[k]));
                }
            }
            line
        })
        .collect()
}

/// A warning on stderr, in the same shape as errors (escaped and capped like them).
pub fn warn(msg: impl std::fmt::Display) {
    let msg = xnat_cmd::summary::message(&msg.to_string());
    let _ = writeln!(std::io::stderr().lock(), "warning: {msg}");
}

/// A human-readable report to stdout: each line escaped and capped
/// ([`xnat_cmd::summary::output_line`]), since it shows names and images from labels and
/// XNAT. `--json` goes through [`print_stdout`] untouched.
pub fn print_human(text: &str) -> Result<(), CliError> {
    let mut shown = String::with_capacity(text.len());
    for line in text.lines() {
        shown.push_str(&xnat_cmd::summary::output_line(line));
        shown.push('\n');
    }
    print_stdout(&shown)
}

/// Write data to stdout; a closed pipe (`| head`) is not an error.
pub fn print_stdout(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::work(e)),
    }
}

pub fn init_logging(settings: &crate::settings::Settings) {
    use tracing_subscriber::EnvFilter;
    let log = &settings.log_filter;
    let filter = (log.from_env.as_deref())
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new(log.default));
    // Colour only on a terminal, and never with NO_COLOR set (https://no-color.org).
    let ansi = std::io::stderr().is_terminal() && !settings.no_color;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .without_time()
        .try_init();
}
