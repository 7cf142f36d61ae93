//! The fleet file: which images, on which XNAT sites, enabled where, and which repositories the
//! file owns (for `sync --prune`). YAML (JSON is YAML too). Every mistake is reported with the
//! file, line and column before any request is made.

use std::collections::BTreeMap;

use crate::platform::Platform;

/// A parsed, checked fleet file.
#[derive(Debug, Clone, PartialEq)]
pub struct Fleet {
    pub images: Vec<FleetImage>,
    /// Repository globs this file owns (`prune:`); empty when the key is absent.
    pub prune: Vec<String>,
    /// Whether the file has a `prune:` key at all (`--prune` without one is a usage error).
    pub has_prune: bool,
    /// `sites:` by name, in file order; empty when the key is absent (then one site comes from
    /// `--xnat` / `XNAT_HOST`).
    pub sites: Vec<Site>,
}

/// One entry of `images:`.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetImage {
    /// The SOURCE text (any form `install` accepts).
    pub image: String,
    pub platform: Option<Platform>,
    /// `commands:`: only these commands of the label; `None` for all.
    pub commands: Option<Vec<String>>,
    pub pin_digest: bool,
    /// `sites:`: only these sites; `None` for every site.
    pub sites: Option<Vec<String>>,
    pub enable: Enable,
    /// 1-based line of the entry in the file, for messages.
    pub line: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Enable {
    pub site: bool,
    pub projects: Projects,
}

/// `projects:` — a list of ids, or `all` (every project XNAT lists at each run).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Projects {
    #[default]
    None,
    List(Vec<String>),
    All,
}

/// One entry of `sites:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub name: String,
    pub url: String,
    /// Environment variable names holding the user and the password (or alias token).
    pub user_env: Option<String>,
    pub password_env: Option<String>,
}

/// A mistake in the fleet file, located.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct FleetError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl Fleet {
    /// The sites by name.
    pub fn site_map(&self) -> BTreeMap<&str, &Site> {
        self.sites.iter().map(|s| (s.name.as_str(), s)).collect()
    }
}
