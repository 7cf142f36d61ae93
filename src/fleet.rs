//! The fleet file: which images, on which XNAT sites, enabled where, and which repositories the
//! file owns (for `sync --prune`). YAML (JSON is YAML too). Every mistake is reported with the
//! file, line and column before any request is made.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::limits::{MAX_FLEET_IMAGES, MAX_PRUNE_GLOB_BYTES};
use crate::platform::Platform;
use crate::reference::Reference;
use crate::source::SourceSpec;

mod glob;
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
    /// `verify: {key: …}` (the image's own, else the file's top-level one): cosign public key
    /// files, relative paths resolved against the fleet file's directory; any one must have
    /// signed the image. Empty: no check.
    pub verify: Vec<PathBuf>,
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

const TOP_KEYS: &[&str] = &["images", "prune", "sites", "verify"];
const IMAGE_KEYS: &[&str] = &[
    "image",
    "platform",
    "commands",
    "pin-digest",
    "sites",
    "enable",
    "verify",
];
const VERIFY_KEYS: &[&str] = &["key"];
const ENABLE_KEYS: &[&str] = &["site", "projects"];
const SITE_KEYS: &[&str] = &["url", "user-env", "password-env"];

/// Parse and check a fleet file. `file` is the path as shown in messages. Every mistake is a
/// [`FleetError`] at the line and column of the offending key or value; the first one found is
/// returned. Nothing is read from the disk or the network: image sources are checked as text
/// (an `oci:` directory need not exist yet).
pub fn parse(file: &str, text: &str) -> Result<Fleet, FleetError> {
    let cx = Cx { file };
    let root = yaml::parse(text).map_err(|e| cx.err(e.pos, e.message))?;
    let Some(root) = root else {
        return Err(cx.err(
            Pos::START,
            "missing key `images` (the list of images to install): the file is empty",
        ));
    };
    let top = match &root.value {
        Value::Map(entries) => entries,
        _ => {
            return Err(cx.err(
                root.pos,
                format!(
                    "a fleet file is a mapping with `images:`, found {}",
                    root.describe()
                ),
            ))
        }
    };
    cx.known_keys(top, TOP_KEYS, "at the top level")?;

    // Sites first: the images name them.
    // `sites:` with nothing after it is no `sites:` key, as for every optional key.
    let sites_key = optional(top, "sites");
    let sites = match sites_key {
        Some(value) => cx.sites(value)?,
        None => Vec::new(),
    };
    let site_names = sites_key.map(|_| sites.iter().map(|s| s.name.as_str()).collect::<Vec<_>>());

    let images = match get(top, "images") {
        None => {
            return Err(cx.err(
                root.pos,
                "missing key `images` (the list of images to install)",
            ))
        }
        Some((key, value)) => {
            // The file's `verify:`, for every image without its own.
            let verify = optional(top, "verify").map(|n| cx.verify(n)).transpose()?;
            cx.images(key, value, site_names.as_deref(), verify.as_ref())?
        }
    };

    let prune_key = get(top, "prune");
    let prune = match prune_key {
        Some((_, value)) => cx.prune(value)?,
        None => Vec::new(),
    };
    Ok(Fleet {
        images,
        prune,
        has_prune: prune_key.is_some(),
        sites,
    })
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
pub(crate) fn key_tables() -> [(&'static str, &'static [&'static str]); 4] {
    [
        ("fleet", TOP_KEYS),
        ("image", IMAGE_KEYS),
        ("enable", ENABLE_KEYS),
        ("site", SITE_KEYS),
    ]
}

/// Checks with the file name at hand, for located errors.
struct Cx<'a> {
    file: &'a str,
}

impl Cx<'_> {
    fn err(&self, pos: Pos, message: impl Into<String>) -> FleetError {
        FleetError {
            file: self.file.to_string(),
            line: pos.line,
            column: pos.column,
            message: message.into(),
        }
    }

    fn known_keys(
        &self,
        entries: &[(Node, Node)],
        allowed: &[&str],
        place: &str,
    ) -> Result<(), FleetError> {
        for (key, _) in entries {
            let Some(name) = key.as_str() else {
                return Err(self.err(
                    key.pos,
                    format!(
                        "a key {place} must be a string, found {} (allowed: {})",
                        key.describe(),
                        list_of(allowed)
                    ),
                ));
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
                return Err(self.err(
                    key.pos,
                    format!(
                        "unknown key `{name}` {place} (allowed: {}){hint}",
                        list_of(allowed)
                    ),
                ));
            }
        }
        Ok(())
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

    /// A list of distinct, non-blank strings (`commands`, an image's `sites`, `projects`).
    fn names(&self, node: &Node, key: &str, what: &str) -> Result<Vec<(String, Pos)>, FleetError> {
        let items = self.seq(node, &format!("`{key}`"))?;
        if items.is_empty() {
            return Err(self.err(
                node.pos,
                format!("`{key}` is empty: list at least one {what}, or drop the key"),
            ));
        }
        let mut names: Vec<(String, Pos)> = Vec::new();
        for item in items {
            let name = self.text(item, &format!("a {what} in `{key}`"))?;
            if let Some((_, first)) = names.iter().find(|(n, _)| n == name) {
                return Err(self.err(
                    item.pos,
                    format!(
                        "duplicate {what} `{name}` in `{key}` (first at line {})",
                        first.line
                    ),
                ));
            }
            names.push((name.to_string(), item.pos));
        }
        Ok(names)
    }

    fn sites(&self, node: &Node) -> Result<Vec<Site>, FleetError> {
        let entries = self.map(node, "`sites` (site names to `{url: …}`)")?;
        if entries.is_empty() {
            return Err(self.err(
                node.pos,
                "`sites` is empty: define at least one site, or drop the key to use --xnat / XNAT_HOST",
            ));
        }
        entries
            .iter()
            .map(|(key, value)| {
                let name = self.text(key, "a site name")?;
                let what = format!("site `{name}`");
                let fields = match &value.value {
                    Value::Map(fields) => fields,
                    _ => {
                        return Err(self.err(
                            value.pos,
                            format!(
                                "{what} must be a mapping with `url:`, found {}",
                                value.describe()
                            ),
                        ))
                    }
                };
                self.known_keys(fields, SITE_KEYS, &format!("in {what}"))?;
                let Some(url_node) = optional(fields, "url") else {
                    return Err(self.err(key.pos, format!("{what} has no `url`")));
                };
                let url = self.text(url_node, &format!("the `url` of {what}"))?;
                match url::Url::parse(url) {
                    Ok(u) if matches!(u.scheme(), "http" | "https") => {}
                    Ok(_) => {
                        return Err(self.err(
                            url_node.pos,
                            format!("{what}: url `{url}` must start with http:// or https://"),
                        ))
                    }
                    Err(e) => {
                        return Err(
                            self.err(url_node.pos, format!("{what}: invalid url `{url}`: {e}"))
                        )
                    }
                }
                let env = |key: &str| -> Result<Option<String>, FleetError> {
                    optional(fields, key)
                        .map(|n| {
                            self.text(n, &format!("`{key}` of {what}"))
                                .map(str::to_string)
                        })
                        .transpose()
                };
                Ok(Site {
                    name: name.to_string(),
                    url: url.to_string(),
                    user_env: env("user-env")?,
                    password_env: env("password-env")?,
                })
            })
            .collect()
    }

    fn images(
        &self,
        key: &Node,
        node: &Node,
        site_names: Option<&[&str]>,
        verify: Option<&Vec<PathBuf>>,
    ) -> Result<Vec<FleetImage>, FleetError> {
        let items = match &node.value {
            Value::Seq(items) => items.as_slice(),
            _ if node.is_null() => &[],
            _ => {
                return Err(self.err(
                    node.pos,
                    format!(
                        "`images` must be a list of image entries, found {}",
                        node.describe()
                    ),
                ))
            }
        };
        if items.len() > MAX_FLEET_IMAGES {
            return Err(self.err(
                node.pos,
                format!(
                    "`images` holds {} entries, more than {MAX_FLEET_IMAGES}: split the fleet into several files",
                    items.len()
                ),
            ));
        }
        if items.is_empty() {
            // `images:` with nothing after it: point at the key, not the next line.
            let pos = if node.is_null() { key.pos } else { node.pos };
            return Err(self.err(pos, "`images` is empty: list at least one image"));
        }
        // The identity of each image (normalised), with its text and line, for duplicates.
        // A hash map, not a scan of the entries so far: 190,000 entries took minutes.
        let mut seen: std::collections::HashMap<String, (usize, usize)> =
            std::collections::HashMap::with_capacity(items.len());
        let mut images: Vec<FleetImage> = Vec::with_capacity(items.len());
        for item in items {
            let (image, image_node) = self.image(item, site_names, verify)?;
            let identity = source_identity(&image.image);
            if let Some(&(index, line)) = seen.get(&identity) {
                let first = &images[index].image;
                let same = if *first == image.image {
                    String::new()
                } else {
                    format!(" (the same image as `{first}`)")
                };
                return Err(self.err(
                    image_node.pos,
                    format!(
                        "duplicate image `{}`{same}: first at line {line}",
                        image.image
                    ),
                ));
            }
            seen.insert(identity, (images.len(), image_node.pos.line));
            images.push(image);
        }
        Ok(images)
    }

    /// One entry of `images:`, and the node of its `image` value.
    fn image<'n>(
        &self,
        node: &'n Node,
        site_names: Option<&[&str]>,
        file_verify: Option<&Vec<PathBuf>>,
    ) -> Result<(FleetImage, &'n Node), FleetError> {
        let fields = match &node.value {
            Value::Map(fields) => fields,
            _ => {
                return Err(self.err(
                    node.pos,
                    format!(
                        "an image entry must be a mapping with `image:`, found {}",
                        node.describe()
                    ),
                ))
            }
        };
        self.known_keys(fields, IMAGE_KEYS, "in an image entry")?;
        let Some(image_node) = optional(fields, "image") else {
            return Err(self.err(
                node.pos,
                "image entry without `image` (the SOURCE to read, e.g. ghcr.io/lab/tool:1.2)",
            ));
        };
        let image = self.text(image_node, "`image`")?;
        check_source(image).map_err(|message| self.err(image_node.pos, message))?;

        let platform = optional(fields, "platform")
            .map(|n| {
                let text = self.text(n, "`platform`")?;
                Platform::parse(text).map_err(|e| self.err(n.pos, e.to_string()))
            })
            .transpose()?;
        let commands = optional(fields, "commands")
            .map(|n| {
                self.names(n, "commands", "command")
                    .map(|v| v.into_iter().map(|(name, _)| name).collect())
            })
            .transpose()?;
        let pin_digest = optional(fields, "pin-digest")
            .map(|n| self.boolean(n, "`pin-digest`"))
            .transpose()?
            .unwrap_or(false);
        let sites = match get(fields, "sites") {
            Some((key, value)) if !value.is_null() => {
                let Some(defined) = site_names else {
                    return Err(self.err(
                        key.pos,
                        "`sites` on an image needs a top-level `sites:` key that defines the sites",
                    ));
                };
                let names = self.names(value, "sites", "site")?;
                for (name, pos) in &names {
                    if !defined.contains(&name.as_str()) {
                        return Err(self.err(
                            *pos,
                            format!(
                                "`sites` names `{name}`, which the file does not define (defined: {})",
                                list_of(defined)
                            ),
                        ));
                    }
                }
                Some(names.into_iter().map(|(name, _)| name).collect())
            }
            _ => None,
        };
        let enable = optional(fields, "enable")
            .map(|n| self.enable(n))
            .transpose()?
            .unwrap_or_default();
        // The image's own `verify:` replaces the file's.
        let own_verify = optional(fields, "verify");
        let verify = match own_verify {
            Some(n) => self.verify(n)?,
            None => file_verify.cloned().unwrap_or_default(),
        };
        if !verify.is_empty() {
            if !matches!(SourceSpec::parse(image), Ok(SourceSpec::Registry { .. })) {
                return Err(self.err(
                    own_verify.unwrap_or(image_node).pos,
                    format!("`verify` checks cosign signatures of registry images only, and `{image}` is not read from a registry"),
                ));
            }
            if let Some(n) = optional(fields, "pin-digest").filter(|_| !pin_digest) {
                return Err(self.err(
                    n.pos,
                    "`pin-digest: false` with `verify`: a verified image is always installed under the digest that was verified (its tag could move to an unsigned image); drop `pin-digest`",
                ));
            }
        }
        Ok((
            FleetImage {
                image: image.to_string(),
                platform,
                commands,
                pin_digest,
                sites,
                enable,
                verify,
                line: node.pos.line,
            },
            image_node,
        ))
    }

    /// `verify: {key: FILE}` or `verify: {key: [FILE, …]}`: key files, resolved against the
    /// fleet file's directory (read later, by the caller: parsing does no I/O).
    fn verify(&self, node: &Node) -> Result<Vec<PathBuf>, FleetError> {
        let fields = self.map(node, "`verify` (`{key: FILE}` or `{key: [FILE, …]}`)")?;
        self.known_keys(fields, VERIFY_KEYS, "in `verify`")?;
        let Some(key) = optional(fields, "key") else {
            return Err(self.err(
                node.pos,
                "`verify` without `key` (the cosign public key file, e.g. `key: cosign.pub`)",
            ));
        };
        let files: Vec<String> = match &key.value {
            Value::Seq(_) => self
                .names(key, "verify.key", "key file")?
                .into_iter()
                .map(|(name, _)| name)
                .collect(),
            _ => vec![self.text(key, "`verify.key`")?.to_string()],
        };
        let base = Path::new(self.file).parent().unwrap_or(Path::new(""));
        Ok(files.iter().map(|f| base.join(f)).collect())
    }

    fn enable(&self, node: &Node) -> Result<Enable, FleetError> {
        let fields = self.map(node, "`enable`")?;
        self.known_keys(fields, ENABLE_KEYS, "in `enable`")?;
        let site = optional(fields, "site")
            .map(|n| self.boolean(n, "`enable.site`"))
            .transpose()?
            .unwrap_or(false);
        let projects = match optional(fields, "projects") {
            None => Projects::None,
            Some(n) if n.as_str() == Some("all") => Projects::All,
            Some(n) if matches!(n.value, Value::Seq(_)) => {
                let items = self.seq(n, "`projects`")?;
                let mut ids: Vec<(String, usize)> = Vec::new();
                for item in items {
                    let id = self.text(item, "a project id in `projects`")?;
                    if let Some((_, line)) = ids.iter().find(|(i, _)| i == id) {
                        return Err(self.err(
                            item.pos,
                            format!(
                                "duplicate project `{id}` in `projects` (first at line {line})"
                            ),
                        ));
                    }
                    ids.push((id.to_string(), item.pos.line));
                }
                Projects::List(ids.into_iter().map(|(id, _)| id).collect())
            }
            Some(n) => {
                return Err(self.err(
                    n.pos,
                    format!(
                        "`projects` must be a list of project ids or `all`, found {}",
                        n.describe()
                    ),
                ))
            }
        };
        Ok(Enable { site, projects })
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

/// Is `text` an image source `install` would accept? As [`crate::pipeline::classify`] checks
/// it, minus the look at the disk: a fleet entry is always a source, never a command file or a
/// path typed without its transport, so the answer must not depend on the current directory.
fn check_source(text: &str) -> Result<(), String> {
    match SourceSpec::parse(text).map_err(|e| e.to_string())? {
        SourceSpec::Registry { reference } => Reference::parse(&reference)
            .map(|_| ())
            .map_err(|e| e.to_string()),
        _ => Ok(()),
    }
}

/// What makes two entries the same image: registry references compare as docker normalises
/// them (`lab/tool` = `docker.io/lab/tool:latest`), other sources by their text.
fn source_identity(text: &str) -> String {
    match SourceSpec::parse(text) {
        Ok(SourceSpec::Registry { reference }) => normalised(&reference, ""),
        Ok(SourceSpec::DockerDaemon { reference }) => normalised(&reference, "docker-daemon:"),
        _ => text.to_string(),
    }
}

fn normalised(reference: &str, prefix: &str) -> String {
    match Reference::parse(reference) {
        Ok(r) => format!("{prefix}{}", r.with_default_tag()),
        Err(_) => format!("{prefix}{reference}"),
    }
}

#[cfg(test)]
#[path = "fleet_tests.rs"]
mod tests;
