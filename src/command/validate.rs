//! Container Service 3.7.x `Command.validate()`, with XNAT's own messages, plus warnings for
//! what XNAT accepts but breaks at launch. Pure: a value in, findings out.

use serde::Serialize;

/// Which JSON form XNAT reads the command in: creation (`POST /xapi/commands`, labels)
/// or full (`POST /xapi/commands/{id}`, GET output).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Form {
    #[default]
    Create,
    Update,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// XNAT would reject the command (400, or a 500 for what fails before validation).
    Error,
    /// XNAT accepts it, but it will misbehave at launch or is likely a mistake.
    Warning,
}

/// One finding, located by a JSON pointer into the command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub pointer: String,
    pub message: String,
}

/// Validate one command value as XNAT would for `form`.
pub fn validate(_command: &serde_json::Value, _form: Form) -> Vec<Diagnostic> {
    Vec::new()
}
