//! Errors, exit codes and logging: the one place where results become what the user sees.

use std::error::Error as StdError;
use std::io::Write;
use std::process::ExitCode;

/// What ends a subcommand early. The work's own failures (invalid commands) are reported by
/// the subcommand, which then returns exit code 1 as `Ok`.
#[derive(Debug)]
pub enum CliError {
    /// Bad arguments: exit 2.
    Usage(String),
    /// The work failed: exit 1.
    Work {
        error: Box<dyn StdError + Send + Sync>,
        hint: Option<String>,
    },
}

impl CliError {
    pub fn usage(e: impl std::fmt::Display) -> Self {
        CliError::Usage(e.to_string())
    }

    pub fn work(e: impl StdError + Send + Sync + 'static) -> Self {
        CliError::Work {
            error: Box::new(e),
            hint: None,
        }
    }

    pub fn with_hint(self, hint: impl Into<String>) -> Self {
        match self {
            CliError::Work { error, .. } => CliError::Work {
                error,
                hint: Some(hint.into()),
            },
            other => other,
        }
    }
}

/// Print `error: …`, each `caused by: …` once, and a hint; return the exit code.
pub fn report(e: CliError) -> ExitCode {
    let mut err = std::io::stderr().lock();
    match e {
        CliError::Usage(msg) => {
            let _ = writeln!(err, "error: {msg}");
            ExitCode::from(2)
        }
        CliError::Work { error, hint } => {
            let _ = writeln!(err, "error: {error}");
            let mut cause = error.source();
            while let Some(c) = cause {
                let _ = writeln!(err, "caused by: {c}");
                cause = c.source();
            }
            if let Some(h) = hint {
                let _ = writeln!(err, "hint: {h}");
            }
            ExitCode::from(1)
        }
    }
}

/// An error and its causes on one line (`a: b: c`), for per-item failures in a batch.
pub fn chain(e: &(dyn StdError + 'static)) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s
}

/// A warning on stderr, in the same shape as errors.
pub fn warn(msg: impl std::fmt::Display) {
    let _ = writeln!(std::io::stderr().lock(), "warning: {msg}");
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

pub fn init_logging(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        0 => "warn",
        1 => "xnat_cmd=info",
        _ => "xnat_cmd=debug",
    };
    let filter =
        EnvFilter::try_from_env("XNAT_CMD_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .try_init();
}
