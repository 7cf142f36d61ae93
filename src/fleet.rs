//! The fleet file: which images, on which XNAT sites, enabled where, and which repositories the
//! file owns (for `sync --prune`). YAML (JSON is YAML too). Every mistake is reported with the
//! file, line and column before any request is made.
//!
//! This file holds the types and the located parser's top level (over `yaml`'s tree, with
//! `glob`'s matcher for `prune:`); `entry` checks the entries of `images:` (source and
//! `command-file:` entries, `enable:` with its per-wrapper overrides). A run of the file is in
//! two submodules: [`run`] loads it (the file read, every image read, `commands:` selected,
//! what each site is declared to hold) and [`sites`] chooses the sites and runs a job on each
//! (`sync`, `status`).

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use crate::limits::MAX_PRUNE_GLOB_BYTES;
use crate::platform::Platform;

mod entry;
mod glob;
pub mod run;
pub mod sites;
mod yaml;

pub use glob::glob_matches;

use yaml::{Node, Pos, Value};

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

/// One entry of `images:`: an image read from a source (`image:` alone), or a command file's
/// commands installed under a reference (`command-file:` with `image:`).
#[derive(Debug, Clone, PartialEq)]
pub struct FleetImage {
    /// The SOURCE text (any form `install` accepts); with [`FleetImage::command_file`], the
    /// reference the file's commands are installed under (a registry reference with a tag or
    /// digest, checked as text; the image is not read).
    pub image: String,
    /// `command-file:`: a JSON file of one command or a list of them (as `install FILE.json`
    /// takes it), resolved against the fleet file's directory; its commands are installed
    /// under `image`. `None` for an image read from a source.
    pub command_file: Option<PathBuf>,
    pub platform: Option<Platform>,
    /// `commands:`: only these commands of the label (or file); `None` for all.
    pub commands: Option<Vec<String>>,
    pub pin_digest: bool,
    /// `sites:`: only these sites; `None` for every site.
    pub sites: Option<Vec<String>>,
    pub enable: Enable,
    /// `verify: {key: …}` (the image's own, else the file's top-level one): cosign public key
    /// files, relative paths resolved against the fleet file's directory; any one must have
    /// signed the image. Empty: no check.
    pub verify: Vec<PathBuf>,
    /// 1-based line of the entry in the file, for messages.
    pub line: usize,
}

impl FleetImage {
    /// The entry as reports and messages name it: the SOURCE text, or the command file's
    /// path (as resolved).
    pub fn source(&self) -> String {
        match &self.command_file {
            Some(file) => file.display().to_string(),
            None => self.image.clone(),
        }
    }
}

/// `enable:` of an image entry: where its commands' wrappers are enabled.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Enable {
    pub site: bool,
    pub projects: Projects,
    /// `wrappers:`: per-wrapper overrides, in file order (names distinct). A wrapper not named
    /// takes `site` and `projects` above.
    pub wrappers: Vec<WrapperEnable>,
}

/// One entry of `enable.wrappers`: each key given replaces the image-level value for the
/// wrappers of that name (of any selected command of the image), each key not given is
/// inherited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrapperEnable {
    pub name: String,
    pub site: Option<bool>,
    /// `projects: []` is `Some(Projects::List(vec![]))`: no project.
    pub projects: Option<Projects>,
}

/// `projects:` — a list of ids, or `all` (every project XNAT lists at each run).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Projects {
    #[default]
    None,
    List(Vec<String>),
    All,
}

impl Projects {
    /// The project ids to enable in: `all` is `every` (each project XNAT lists at this run).
    pub fn resolve(&self, every: &[String]) -> Vec<String> {
        match self {
            Projects::None => Vec::new(),
            Projects::List(ids) => ids.clone(),
            Projects::All => every.to_vec(),
        }
    }
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
    /// What to do about it, when the fix lies outside the file (a flag, the environment).
    pub hint: Option<String>,
}

impl crate::problem::Hint for FleetError {
    fn hint(&self) -> Option<String> {
        self.hint.clone()
    }
}

impl Fleet {
    /// The sites by name.
    pub fn site_map(&self) -> BTreeMap<&str, &Site> {
        self.sites.iter().map(|s| (s.name.as_str(), s)).collect()
    }
}

const TOP_KEYS: &[&str] = &["images", "prune", "sites", "verify"];
const IMAGE_KEYS: &[&str] = &[
    "image",
    "command-file",
    "platform",
    "commands",
    "pin-digest",
    "sites",
    "enable",
    "verify",
];
const VERIFY_KEYS: &[&str] = &["key"];
const ENABLE_KEYS: &[&str] = &["site", "projects", "wrappers"];
/// The keys of one wrapper's entry in `enable.wrappers`.
const WRAPPER_KEYS: &[&str] = &["site", "projects"];
/// The image-entry keys that apply to an image read from a source only.
const SOURCE_ONLY_KEYS: &[&str] = &["platform", "verify", "pin-digest"];
const SITE_KEYS: &[&str] = &["url", "user-env", "password-env"];

/// Parse and check a fleet file. `file` is the path as shown in messages. Every mistake is a
/// [`FleetError`] at the line and column of the offending key or value; this returns the first
/// of them in file order ([`parse_all`] returns them all). Nothing is read from the disk or the
/// network: image sources are checked as text (an `oci:` directory need not exist yet).
pub fn parse(file: &str, text: &str) -> Result<Fleet, FleetError> {
    parse_all(file, text).map_err(|mut errors| errors.swap_remove(0))
}

/// Parse and check a fleet file, reporting every mistake in one run (sorted by line and column,
/// never empty on `Err`), so that a CI check or an admin fixes them all at once. A YAML syntax
/// error stops at itself (the parser cannot resume); every other mistake is collected and the
/// rest of the file still checked: the other keys of the entry, the other entries, the other
/// top-level keys.
pub fn parse_all(file: &str, text: &str) -> Result<Fleet, Vec<FleetError>> {
    let cx = Cx {
        file,
        errors: RefCell::new(Vec::new()),
    };
    let fleet = cx.fleet(text);
    let mut errors = cx.errors.into_inner();
    match fleet {
        Some(fleet) if errors.is_empty() => Ok(fleet),
        _ => {
            // Stable: mistakes at one position keep the order they were found in.
            errors.sort_by_key(|e| (e.line, e.column));
            if errors.is_empty() {
                // Unreachable by construction (no fleet means a mistake was recorded); a
                // generic message rather than a panic if that ever changes.
                errors.push(cx_error(
                    file,
                    Pos::START,
                    "the fleet file could not be read",
                ));
            }
            Err(errors)
        }
    }
}

fn cx_error(file: &str, pos: Pos, message: impl Into<String>) -> FleetError {
    FleetError {
        file: file.to_string(),
        line: pos.line,
        column: pos.column,
        message: message.into(),
        hint: None,
    }
}

/// The value of `key` in a mapping, with the key node.
fn get<'n>(entries: &'n [(Node, Node)], key: &str) -> Option<(&'n Node, &'n Node)> {
    entries
        .iter()
        .find(|(k, _)| k.as_str() == Some(key))
        .map(|(k, v)| (k, v))
}

/// The value of an optional key; an explicit null (`platform:`) counts as absent.
fn optional<'n>(entries: &'n [(Node, Node)], key: &str) -> Option<&'n Node> {
    get(entries, key).map(|(_, v)| v).filter(|v| !v.is_null())
}

fn list_of(allowed: &[&str]) -> String {
    allowed
        .iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The keys each mapping of the file allows, as the parser checks them: (mapping, keys). The
/// JSON Schema of the format (`crate::schema`) is built from these, so it cannot drift.
pub(crate) fn key_tables() -> [(&'static str, &'static [&'static str]); 5] {
    [
        ("fleet", TOP_KEYS),
        ("image", IMAGE_KEYS),
        ("enable", ENABLE_KEYS),
        ("wrapper", WRAPPER_KEYS),
        ("site", SITE_KEYS),
    ]
}

/// Checks with the file name at hand, for located errors. Mistakes are recorded in `errors`
/// as they are found and the check goes on, so one run reports them all; a check that returns
/// `None` has recorded why.
struct Cx<'a> {
    file: &'a str,
    errors: RefCell<Vec<FleetError>>,
}

impl Cx<'_> {
    fn err(&self, pos: Pos, message: impl Into<String>) -> FleetError {
        cx_error(self.file, pos, message)
    }

    /// Record a mistake and go on.
    fn report(&self, e: FleetError) {
        self.errors.borrow_mut().push(e);
    }

    /// The value, or `None` with the mistake recorded.
    fn ok<T>(&self, r: Result<T, FleetError>) -> Option<T> {
        r.map_err(|e| self.report(e)).ok()
    }

    /// The whole file; `None` when it has no usable top level (the mistake recorded).
    fn fleet(&self, text: &str) -> Option<Fleet> {
        // A syntax error ends the check: the YAML parser cannot resume after it.
        let root = self.ok(yaml::parse(text).map_err(|e| self.err(e.pos, e.message)))?;
        let Some(root) = root else {
            self.report(self.err(
                Pos::START,
                "missing key `images` (the list of images to install): the file is empty",
            ));
            return None;
        };
        let Value::Map(top) = &root.value else {
            self.report(self.err(
                root.pos,
                format!(
                    "a fleet file is a mapping with `images:`, found {}",
                    root.describe()
                ),
            ));
            return None;
        };
        self.known_keys(top, TOP_KEYS, "at the top level");

        // Sites first: the images name them.
        // `sites:` with nothing after it is no `sites:` key, as for every optional key.
        let sites_key = optional(top, "sites");
        let sites = match sites_key {
            Some(value) => self.sites(value),
            None => Vec::new(),
        };
        // The names the file defines, valid entries or not: a mistake in a site's entry must
        // not also be reported at every image that names the site.
        let defined: Option<Vec<&str>> = sites_key.map(|node| match &node.value {
            Value::Map(entries) => entries.iter().filter_map(|(k, _)| k.as_str()).collect(),
            _ => Vec::new(),
        });

        // The file's `verify:`, for every image without its own.
        let verify = optional(top, "verify").map(|n| self.verify(n));
        let images = match get(top, "images") {
            None => {
                self.report(self.err(
                    root.pos,
                    "missing key `images` (the list of images to install)",
                ));
                Vec::new()
            }
            Some((key, value)) => {
                let verify = verify.as_ref().map(|v| v.clone().unwrap_or_default());
                self.ok(self.images(key, value, defined.as_deref(), verify.as_ref()))
                    .unwrap_or_default()
            }
        };

        let prune_key = get(top, "prune");
        let prune = match prune_key {
            Some((_, value)) => self.ok(self.prune(value)).unwrap_or_default(),
            None => Vec::new(),
        };
        Some(Fleet {
            images,
            prune,
            has_prune: prune_key.is_some(),
            sites,
        })
    }

    /// Every key of the mapping is one of `allowed` (each other one recorded).
    fn known_keys(&self, entries: &[(Node, Node)], allowed: &[&str], place: &str) {
        for (key, _) in entries {
            let Some(name) = key.as_str() else {
                self.report(self.err(
                    key.pos,
                    format!(
                        "a key {place} must be a string, found {} (allowed: {})",
                        key.describe(),
                        list_of(allowed)
                    ),
                ));
                continue;
            };
            if !allowed.contains(&name) {
                // A near miss (`pin_digest`, `image:` misspelt) gets a suggestion.
                let hint = allowed
                    .iter()
                    .map(|a| (strsim::levenshtein(&name.to_lowercase(), a), a))
                    .filter(|(d, _)| *d <= 2)
                    .min()
                    .map(|(_, a)| format!("; did you mean `{a}`?"))
                    .unwrap_or_default();
                self.report(self.err(
                    key.pos,
                    format!(
                        "unknown key `{name}` {place} (allowed: {}){hint}",
                        list_of(allowed)
                    ),
                ));
            }
        }
    }

    fn map<'n>(&self, node: &'n Node, what: &str) -> Result<&'n [(Node, Node)], FleetError> {
        match &node.value {
            Value::Map(entries) => Ok(entries),
            _ => Err(self.err(
                node.pos,
                format!("{what} must be a mapping, found {}", node.describe()),
            )),
        }
    }

    fn seq<'n>(&self, node: &'n Node, what: &str) -> Result<&'n [Node], FleetError> {
        match &node.value {
            Value::Seq(items) => Ok(items),
            _ => Err(self.err(
                node.pos,
                format!("{what} must be a list, found {}", node.describe()),
            )),
        }
    }

    fn string<'n>(&self, node: &'n Node, what: &str) -> Result<&'n str, FleetError> {
        node.as_str().ok_or_else(|| {
            self.err(
                node.pos,
                format!("{what} must be a string, found {}", node.describe()),
            )
        })
    }

    /// A string that is not blank, trimmed.
    fn text<'n>(&self, node: &'n Node, what: &str) -> Result<&'n str, FleetError> {
        let text = self.string(node, what)?.trim();
        if text.is_empty() {
            return Err(self.err(node.pos, format!("{what} is empty")));
        }
        Ok(text)
    }

    fn boolean(&self, node: &Node, what: &str) -> Result<bool, FleetError> {
        match &node.value {
            Value::Scalar {
                kind: yaml::ScalarKind::Bool(b),
                ..
            } => Ok(*b),
            _ => Err(self.err(
                node.pos,
                format!("{what} must be true or false, found {}", node.describe()),
            )),
        }
    }

    /// A list of distinct, non-blank strings (`commands`, an image's `sites`, `projects`):
    /// every bad item recorded; `None` when any was bad. Duplicates are found with a map
    /// (linear in the list).
    fn names(&self, node: &Node, key: &str, what: &str) -> Option<Vec<(String, Pos)>> {
        let items = self.ok(self.seq(node, &format!("`{key}`")))?;
        if items.is_empty() {
            self.report(self.err(
                node.pos,
                format!("`{key}` is empty: list at least one {what}, or drop the key"),
            ));
            return None;
        }
        let mut names: Vec<(String, Pos)> = Vec::with_capacity(items.len());
        let mut first: HashMap<&str, usize> = HashMap::with_capacity(items.len());
        let mut bad = false;
        for item in items {
            let Some(name) = self.ok(self.text(item, &format!("a {what} in `{key}`"))) else {
                bad = true;
                continue;
            };
            if let Some(line) = first.get(name) {
                self.report(self.err(
                    item.pos,
                    format!("duplicate {what} `{name}` in `{key}` (first at line {line})"),
                ));
                bad = true;
                continue;
            }
            first.insert(name, item.pos.line);
            names.push((name.to_string(), item.pos));
        }
        (!bad).then_some(names)
    }

    /// The valid entries of `sites:` (every mistake recorded).
    fn sites(&self, node: &Node) -> Vec<Site> {
        let Some(entries) = self.ok(self.map(node, "`sites` (site names to `{url: …}`)")) else {
            return Vec::new();
        };
        if entries.is_empty() {
            self.report(FleetError {
                hint: Some("without `sites`, the one site is --xnat / XNAT_HOST".into()),
                ..self.err(
                    node.pos,
                    "`sites` is empty: define at least one site, or drop the key",
                )
            });
        }
        entries
            .iter()
            .filter_map(|(key, value)| self.site(key, value))
            .collect()
    }

    fn site(&self, key: &Node, value: &Node) -> Option<Site> {
        let name = self.ok(self.text(key, "a site name"))?;
        let what = format!("site `{name}`");
        let Value::Map(fields) = &value.value else {
            self.report(self.err(
                value.pos,
                format!(
                    "{what} must be a mapping with `url:`, found {}",
                    value.describe()
                ),
            ));
            return None;
        };
        self.known_keys(fields, SITE_KEYS, &format!("in {what}"));
        let url = match optional(fields, "url") {
            None => {
                self.report(self.err(key.pos, format!("{what} has no `url`")));
                None
            }
            Some(url_node) => self
                .ok(self.text(url_node, &format!("the `url` of {what}")))
                .and_then(|url| match url::Url::parse(url) {
                    Ok(u) if matches!(u.scheme(), "http" | "https") => Some(url),
                    Ok(_) => {
                        self.report(self.err(
                            url_node.pos,
                            format!("{what}: url `{url}` must start with http:// or https://"),
                        ));
                        None
                    }
                    Err(e) => {
                        self.report(
                            self.err(url_node.pos, format!("{what}: invalid url `{url}`: {e}")),
                        );
                        None
                    }
                }),
        };
        let env = |key: &str| -> Option<Option<String>> {
            match optional(fields, key) {
                None => Some(None),
                Some(n) => self
                    .ok(self.text(n, &format!("`{key}` of {what}")))
                    .map(|v| Some(v.to_string())),
            }
        };
        let (user_env, password_env) = (env("user-env"), env("password-env"));
        Some(Site {
            name: name.to_string(),
            url: url?.to_string(),
            user_env: user_env?,
            password_env: password_env?,
        })
    }

    fn prune(&self, node: &Node) -> Result<Vec<String>, FleetError> {
        if node.is_null() {
            return Ok(Vec::new());
        }
        let items = match &node.value {
            Value::Seq(items) => items,
            _ => {
                return Err(self.err(
                    node.pos,
                    format!(
                        "`prune` must be a list of repository globs, found {}",
                        node.describe()
                    ),
                ))
            }
        };
        items
            .iter()
            .map(|item| {
                let glob = self.text(item, "a glob in `prune`")?;
                if glob.len() > MAX_PRUNE_GLOB_BYTES {
                    return Err(self.err(
                        item.pos,
                        format!(
                            "a glob in `prune` is longer than {MAX_PRUNE_GLOB_BYTES} bytes: a glob names repositories, which are at most 255 characters"
                        ),
                    ));
                }
                Ok(glob.to_string())
            })
            .collect()
    }
}

#[cfg(test)]
#[path = "fleet_tests.rs"]
mod tests;
