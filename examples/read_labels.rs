//! Read one image source through the library and print its labels: the smallest use of
//! [`Reader::read`], also timed by `scripts/bench-archive.sh` next to skopeo.
//!
//! Usage: `cargo run --example read_labels -- SOURCE [--platform OS/ARCH[/VARIANT]] [--all-platforms]`

use std::process::ExitCode;

use xnat_cmd::source::daemon::DaemonOptions;
use xnat_cmd::source::registry::RegistryOptions;
use xnat_cmd::source::{ReadOptions, Reader, SourceOptions, SourceSpec};
use xnat_cmd::{Env, Platform};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            let mut cause = std::error::Error::source(e.as_ref());
            while let Some(c) = cause {
                eprintln!("caused by: {c}");
                cause = c.source();
            }
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut source = None;
    let mut opts = ReadOptions::default();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--platform" => {
                opts.platform = Platform::parse(&args.next().ok_or("--platform needs a value")?)?
            }
            "--all-platforms" => opts.all_platforms = true,
            _ if source.is_none() => source = Some(a),
            _ => return Err(format!("unexpected argument `{a}`").into()),
        }
    }
    // Registry credentials and the daemon are found as the CLI finds them: from this
    // process's environment.
    let env = Env::from_process();
    let access = SourceOptions {
        registry: RegistryOptions {
            env: env.clone(),
            ..RegistryOptions::default()
        },
        daemon: DaemonOptions {
            env,
            ..DaemonOptions::default()
        },
    };
    let spec = SourceSpec::parse(
        &source.ok_or("usage: read_labels SOURCE [--platform P] [--all-platforms]")?,
    )?;
    let result = tokio::runtime::Builder::new_current_thread()
        .build()?
        .block_on(Reader::new(access).read(&spec, &opts))?;
    for w in &result.warnings {
        eprintln!("warning: {w}");
    }
    println!("{}", serde_json::to_string_pretty(&result.images)?);
    Ok(())
}
