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

/// Placeholder until the fleet parser lands: `*` within a path component, `**` across.
pub fn glob_matches(glob: &str, repository: &str) -> bool {
    fn m(g: &[u8], r: &[u8]) -> bool {
        match (g.first(), r.first()) {
            (None, None) => true,
            (Some(b'*'), _) if g.get(1) == Some(&b'*') => {
                (0..=r.len()).any(|i| m(&g[2..], &r[i..]))
            }
            (Some(b'*'), _) => (0..=r.len())
                .take_while(|&i| i == 0 || r[i - 1] != b'/')
                .any(|i| m(&g[1..], &r[i..])),
            (Some(b'?'), Some(c)) if *c != b'/' => m(&g[1..], &r[1..]),
            (Some(a), Some(b)) if a == b => m(&g[1..], &r[1..]),
            _ => false,
        }
    }
    m(glob.as_bytes(), repository.as_bytes())
}

/// Placeholder until the located parser lands: serde with the file's shape, no positions.
pub fn parse(file: &str, text: &str) -> Result<Fleet, FleetError> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RawFleet {
        images: Vec<RawImage>,
        prune: Option<Vec<String>>,
        #[serde(default)]
        sites: BTreeMap<String, RawSite>,
    }
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "kebab-case")]
    struct RawImage {
        image: String,
        platform: Option<String>,
        commands: Option<Vec<String>>,
        #[serde(default)]
        pin_digest: bool,
        sites: Option<Vec<String>>,
        #[serde(default)]
        enable: RawEnable,
    }
    #[derive(serde::Deserialize, Default)]
    #[serde(deny_unknown_fields)]
    struct RawEnable {
        #[serde(default)]
        site: bool,
        projects: Option<serde_norway::Value>,
    }
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "kebab-case")]
    struct RawSite {
        url: String,
        user_env: Option<String>,
        password_env: Option<String>,
    }
    let err = |message: String| FleetError {
        file: file.to_string(),
        line: 1,
        column: 1,
        message,
    };
    let raw: RawFleet = serde_norway::from_str(text).map_err(|e| err(e.to_string()))?;
    let images = raw
        .images
        .into_iter()
        .map(|i| {
            Ok(FleetImage {
                image: i.image,
                platform: i
                    .platform
                    .map(|p| Platform::parse(&p).map_err(|e| err(e.to_string())))
                    .transpose()?,
                commands: i.commands,
                pin_digest: i.pin_digest,
                sites: i.sites,
                enable: Enable {
                    site: i.enable.site,
                    projects: match i.enable.projects {
                        None => Projects::None,
                        Some(serde_norway::Value::String(s)) if s == "all" => Projects::All,
                        Some(v) => Projects::List(
                            serde_norway::from_value(v).map_err(|e| err(e.to_string()))?,
                        ),
                    },
                },
                line: 1,
            })
        })
        .collect::<Result<Vec<_>, FleetError>>()?;
    Ok(Fleet {
        images,
        has_prune: raw.prune.is_some(),
        prune: raw.prune.unwrap_or_default(),
        sites: raw
            .sites
            .into_iter()
            .map(|(name, s)| Site {
                name,
                url: s.url,
                user_env: s.user_env,
                password_env: s.password_env,
            })
            .collect(),
    })
}
