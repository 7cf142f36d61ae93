//! The `org.nrg.commands` label: from a config's labels to a list of raw command values.

/// The one label key XNAT reads.
pub const LABEL_KEY: &str = "org.nrg.commands";

/// A parsed label: the commands, untouched, plus what was lenient about it.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedLabel {
    pub commands: Vec<serde_json::Value>,
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LabelError {
    #[error("the image has no `org.nrg.commands` label")]
    Missing,
}

/// Parse a label value (the unescaped string from the image config).
pub fn parse_label(_value: &str) -> Result<ParsedLabel, LabelError> {
    Err(LabelError::Missing)
}

/// The commands of an image, from its config labels.
pub fn commands_from_labels(
    labels: &std::collections::BTreeMap<String, String>,
) -> Result<ParsedLabel, LabelError> {
    match labels.get(LABEL_KEY) {
        Some(v) => parse_label(v),
        None => Err(LabelError::Missing),
    }
}
