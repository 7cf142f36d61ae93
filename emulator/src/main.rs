//! `xnat-emulator`: run the emulator on a loopback port. Prints exactly one line,
//! `xnat-emulator listening on <url>`, to stdout once it accepts connections, so scripts can
//! read the URL; stops on SIGINT/SIGTERM (or stdin EOF with `--exit-on-stdin-eof`).

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use xnat_emulator::cli::Args;

async fn stop_signal(exit_on_stdin_eof: bool) {
    let stdin_eof = async {
        if !exit_on_stdin_eof {
            return std::future::pending::<()>().await;
        }
        let mut stdin = tokio::io::stdin();
        let mut buf = [0u8; 1024];
        loop {
            match tokio::io::AsyncReadExt::read(&mut stdin, &mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
        _ = stdin_eof => {}
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("XNAT_EMULATOR_LOG"))
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let bind = args.bind;
    let exit_on_eof = args.exit_on_stdin_eof;
    let defaults = args.uses_defaults();
    let running = match xnat_emulator::start(args.config(), bind).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            if let Some(cause) = std::error::Error::source(&e) {
                eprintln!("caused by: {cause}");
            }
            return ExitCode::from(1);
        }
    };
    let mut out = std::io::stdout().lock();
    // A closed stdout only means nobody reads the URL; the server still runs.
    let _ = writeln!(out, "xnat-emulator listening on {}", running.url());
    let _ = out.flush();
    drop(out);
    // stdout carries the URL alone (scripts read it); who can log in goes to stderr.
    if defaults {
        eprintln!("xnat-emulator: {}", xnat_emulator::cli::DEFAULTS);
    }
    stop_signal(exit_on_eof).await;
    running.shutdown().await;
    ExitCode::SUCCESS
}
