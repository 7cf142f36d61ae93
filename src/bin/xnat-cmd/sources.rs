//! Reading many sources in one run (concurrently) and turning records into commands.

use xnat_cmd::labels::{commands_from_labels, LabelError};
use xnat_cmd::source::{ImageRecord, ReadOptions, Reader, SourceError, SourceSpec};

use crate::output::CliError;

/// One source as read: its text, and the records or the error.
pub struct SourceRead {
    pub text: String,
    pub result: Result<xnat_cmd::ReadResult, SourceError>,
}

/// Parse every source first (a typo is a usage error before any I/O), then read them all
/// concurrently, results in argument order.
pub async fn read_all(texts: &[String], opts: ReadOptions) -> Result<Vec<SourceRead>, CliError> {
    let specs: Vec<SourceSpec> = texts
        .iter()
        .map(|t| SourceSpec::parse(t).map_err(CliError::usage))
        .collect::<Result<_, _>>()?;
    let reader = Reader::new(opts);
    // Registry references share token requests when announced before the first read.
    reader.prepare(&specs);
    let futures = specs.iter().map(|s| reader.read(s));
    let results = futures::future::join_all(futures).await;
    Ok(texts
        .iter()
        .cloned()
        .zip(results)
        .map(|(text, result)| SourceRead { text, result })
        .collect())
}

/// The commands of one record, warnings printed.
pub fn commands_of(text: &str, record: &ImageRecord) -> Result<Vec<serde_json::Value>, LabelError> {
    let parsed = commands_from_labels(&record.labels)?;
    for w in &parsed.warnings {
        crate::output::warn(format!("{text}: {w}"));
    }
    Ok(parsed.commands)
}
