//! The emulator's whole XNAT state as one JSON document: what `xnat-emulator --state FILE`
//! loads and `GET /__emulator/state` returns, so a test can start from a known XNAT and compare
//! the end state (a document written from the hook loads back to the same state).
//!
//! Shape (every key optional; a missing key is empty):
//!
//! ```json
//! {
//!   "users":    {"admin": {"password": "admin", "roles": ["Administrator", "ContainerManager"],
//!                          "enabled": true, "password_expired": false}},
//!   "tokens":   {"<alias>": {"secret": "<secret>", "user": "admin"}},
//!   "projects": {"DEMO": {"owner": "owner", "member": "member"}},
//!   "commands": [{"id": 1, "name": "hello", ..., "xnat": [{"id": 1, "name": "w", ...}]}],
//!   "site_enabled":    {"1": true},
//!   "project_enabled": {"DEMO": {"1": true}},
//!   "site_config":     {"1": {"inputs": {...}, "outputs": {...}}},
//!   "project_config":  {"DEMO": {"1": {"inputs": {...}, "outputs": {...}}}},
//!   "sessions": {"<JSESSIONID>": "admin"},
//!   "counters": {"next_command_id": 2, "next_wrapper_id": 2, "writes": 3}
//! }
//! ```
//!
//! `projects` maps each project to its users' access (`owner`, `member`, `collaborator`);
//! `commands` are the stored commands exactly as `GET /xapi/commands/{id}` returns them (ids
//! included); in the enablement maps `null` is a record without a flag (§1.3: a site record
//! without `false` counts as enabled, a project record needs `true`). The config maps hold a
//! wrapper's stored input/output configuration (S8–S10, P7) apart from its `enabled` flag.
//! New kinds of state are new top-level keys; unknown keys are refused, so a misspelt key is
//! an error rather than silently empty state.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use xnat_cmd::command::lenient_i64;

/// Why a state document was refused; every variant names the file and the JSON path.
#[derive(Debug, thiserror::Error)]
pub enum StateFileError {
    #[error("cannot read state file `{file}`: {source}")]
    Read {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("state file `{file}` at `{json_path}`: {message} (the shape is in docs/emulator.md, \"Using the emulator in your own tests\")")]
    Invalid {
        file: PathBuf,
        json_path: String,
        message: String,
    },
}

/// Project access as the state document spells it (the `--access` words).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    Owner,
    Member,
    Collaborator,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserEntry {
    pub password: String,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub password_expired: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenEntry {
    pub secret: String,
    pub user: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Counters {
    /// Id of the next created command (raised to one past the highest loaded id).
    pub next_command_id: u64,
    /// Id of the next new wrapper (raised to one past the highest loaded wrapper id).
    pub next_wrapper_id: u64,
    /// Writes (POST/PUT/DELETE under `/xapi`) so far.
    pub writes: u64,
}

/// The state document (see the module doc for its JSON shape).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Snapshot {
    pub users: BTreeMap<String, UserEntry>,
    pub tokens: BTreeMap<String, TokenEntry>,
    pub projects: BTreeMap<String, BTreeMap<String, Access>>,
    pub commands: Vec<Value>,
    pub site_enabled: BTreeMap<u64, Option<bool>>,
    pub project_enabled: BTreeMap<String, BTreeMap<u64, Option<bool>>>,
    pub site_config: BTreeMap<u64, Value>,
    pub project_config: BTreeMap<String, BTreeMap<u64, Value>>,
    pub sessions: BTreeMap<String, String>,
    pub counters: Counters,
}

/// A problem found in a parsed document: JSON path and message (the caller adds the file).
type Problem = (String, String);

pub(crate) fn wrapper_ids(command: &Value) -> Vec<(usize, Option<i64>)> {
    command
        .get("xnat")
        .and_then(Value::as_array)
        .map(|ws| {
            ws.iter()
                .enumerate()
                .map(|(i, w)| (i, w.get("id").and_then(lenient_i64)))
                .collect()
        })
        .unwrap_or_default()
}

/// The largest state file read (a site's worth of commands is a few MiB); a bigger file is
/// refused before it fills memory.
pub const MAX_STATE_FILE_BYTES: u64 = 256 * 1024 * 1024;

impl Snapshot {
    /// Read (capped, regular files only) and check a state file.
    pub fn from_file(file: &Path) -> Result<Snapshot, StateFileError> {
        let text = xnat_cmd::limits::read_text(file, MAX_STATE_FILE_BYTES).map_err(|source| {
            StateFileError::Read {
                file: file.to_path_buf(),
                source,
            }
        })?;
        Snapshot::from_str_named(&text, file)
    }

    /// Parse and check a state document; `file` names it in errors.
    pub fn from_str_named(text: &str, file: &Path) -> Result<Snapshot, StateFileError> {
        let invalid = |(json_path, message): Problem| StateFileError::Invalid {
            file: file.to_path_buf(),
            json_path,
            message,
        };
        // Syntax first (with line and column), then the shape with the JSON path.
        let value: Value =
            serde_json::from_str(text).map_err(|e| invalid(("$".to_string(), e.to_string())))?;
        if !value.is_object() {
            return Err(invalid((
                "$".to_string(),
                "the state document must be a JSON object".to_string(),
            )));
        }
        let snapshot: Snapshot = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let path = if path == "." { "$".to_string() } else { path };
            invalid((path, e.inner().to_string()))
        })?;
        snapshot.check().map_err(invalid)?;
        Ok(snapshot)
    }

    /// Rules serde cannot express: ids present and unique, tokens and access naming users.
    fn check(&self) -> Result<(), Problem> {
        let mut command_ids = BTreeSet::new();
        let mut wrapper_seen = BTreeSet::new();
        for (i, c) in self.commands.iter().enumerate() {
            let at = format!("commands[{i}]");
            if !c.is_object() {
                return Err((at, "a command must be a JSON object".into()));
            }
            let id = c.get("id").and_then(Value::as_u64).filter(|id| *id > 0);
            let Some(id) = id else {
                return Err((
                    format!("{at}.id"),
                    "missing or not a positive integer: stored commands carry their id".into(),
                ));
            };
            if !command_ids.insert(id) {
                return Err((format!("{at}.id"), format!("command id {id} appears twice")));
            }
            if c.get("xnat").is_some_and(|x| !x.is_array()) {
                return Err((format!("{at}.xnat"), "must be an array of wrappers".into()));
            }
            for (j, wid) in wrapper_ids(c) {
                let wat = format!("{at}.xnat[{j}].id");
                let Some(wid) = wid.filter(|w| *w > 0) else {
                    return Err((
                        wat,
                        "missing or not a positive integer: stored wrappers carry their id".into(),
                    ));
                };
                if !wrapper_seen.insert(wid) {
                    return Err((wat, format!("wrapper id {wid} appears twice")));
                }
            }
        }
        for (alias, t) in &self.tokens {
            if !self.users.contains_key(&t.user) {
                return Err((
                    format!("tokens.{alias}.user"),
                    format!("no user `{}` in `users`", t.user),
                ));
            }
        }
        for (project, access) in &self.projects {
            if let Some(user) = access.keys().find(|u| !self.users.contains_key(*u)) {
                return Err((
                    format!("projects.{project}.{user}"),
                    format!("no user `{user}` in `users`"),
                ));
            }
        }
        for (session, user) in &self.sessions {
            if !self.users.contains_key(user) {
                return Err((
                    format!("sessions.{session}"),
                    format!("no user `{user}` in `users`"),
                ));
            }
        }
        Ok(())
    }

    pub fn to_json(&self) -> Value {
        // A derived Serialize of maps with string/integer keys and JSON values cannot fail.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(text: &str) -> (String, String) {
        match Snapshot::from_str_named(text, Path::new("s.json")) {
            Err(StateFileError::Invalid {
                json_path, message, ..
            }) => (json_path, message),
            other => panic!("expected Invalid for {text}, got {other:?}"),
        }
    }

    /// A FIFO (`--state <(…)` by mistake, or a pipe nobody writes) and a directory are refused
    /// at once with the file named, instead of blocking or reading without end.
    #[test]
    fn a_state_file_that_is_not_a_regular_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("state.json");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        for (path, what) in [(fifo.as_path(), "FIFO"), (dir.path(), "directory")] {
            match Snapshot::from_file(path) {
                Err(e @ StateFileError::Read { .. }) => {
                    let text = e.to_string();
                    assert!(text.contains(&path.display().to_string()), "{text}");
                    let source = std::error::Error::source(&e).unwrap().to_string();
                    assert!(source.contains(what), "{source}");
                }
                other => panic!("expected Read for a {what}, got {other:?}"),
            }
        }
    }

    #[test]
    fn bad_documents_name_the_json_path() {
        let cases: &[(&str, &str, &str)] = &[
            ("[]", "$", "must be a JSON object"),
            ("{\"user\": {}}", "user", "unknown field `user`"),
            ("{\"users\": {\"a\": {}}}", "users.a", "missing field `password`"),
            ("{\"users\": {\"a\": {\"password\": 1}}}", "users.a.password", "invalid type"),
            ("{\"projects\": {\"P\": {\"a\": \"boss\"}}}", "projects.P.a", "unknown variant"),
            ("{\"commands\": [{\"name\": \"x\"}]}", "commands[0].id", "positive integer"),
            (
                "{\"commands\": [{\"id\": 1}, {\"id\": 1}]}",
                "commands[1].id",
                "appears twice",
            ),
            (
                "{\"commands\": [{\"id\": 1, \"xnat\": [{\"id\": 2}]}, {\"id\": 2, \"xnat\": [{\"id\": 2}]}]}",
                "commands[1].xnat[0].id",
                "appears twice",
            ),
            ("{\"site_enabled\": {\"x\": true}}", "site_enabled", "expected key to be a number"),
            (
                "{\"tokens\": {\"t\": {\"secret\": \"s\", \"user\": \"nobody\"}}}",
                "tokens.t.user",
                "no user `nobody`",
            ),
            (
                "{\"users\": {\"a\": {\"password\": \"a\"}}, \"projects\": {\"P\": {\"b\": \"owner\"}}}",
                "projects.P.b",
                "no user `b`",
            ),
            ("{} x", "$", "trailing characters"),
        ];
        for (text, path, message) in cases {
            let (p, m) = problem(text);
            assert!(p.starts_with(path), "{text}: path {p}, want {path}");
            assert!(m.contains(message), "{text}: message {m}, want {message}");
        }
    }
}
