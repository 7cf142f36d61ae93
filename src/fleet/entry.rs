//! The entries of `images:` — an image read from its SOURCE, or a `command-file:` entry (a
//! command JSON file installed under `image`) — with their `enable:` (`wrappers:` included)
//! and `verify:`, checked with located errors: the fleet parser ([`super::Cx`]) below the top
//! level. Two entries are the same by their [`Identity`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::limits::MAX_FLEET_IMAGES;
use crate::platform::Platform;
use crate::reference::Reference;
use crate::source::SourceSpec;

use super::yaml::{Node, Value};
use super::{
    get, list_of, optional, Cx, Enable, FleetError, FleetImage, Projects, WrapperEnable,
    ENABLE_KEYS, IMAGE_KEYS, SOURCE_ONLY_KEYS, VERIFY_KEYS, WRAPPER_KEYS,
};

impl Cx<'_> {
    pub(super) fn images(
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
        let mut seen: HashMap<Identity, (usize, usize)> = HashMap::with_capacity(items.len());
        let mut images: Vec<FleetImage> = Vec::with_capacity(items.len());
        for item in items {
            let Some((image, at)) = self.image(item, site_names, verify) else {
                continue;
            };
            let identity = Identity::of(&image);
            if let Some(&(index, line)) = seen.get(&identity) {
                let first = &images[index].image;
                let same = if *first == image.image {
                    String::new()
                } else {
                    format!(" (the same image as `{first}`)")
                };
                let message = match &image.command_file {
                    None => format!("duplicate image `{}`{same}: first at line {line}", image.image),
                    Some(file) => format!(
                        "duplicate command file `{}` installed under `{}`{same}: first at line {line}",
                        file.display(),
                        image.image
                    ),
                };
                self.report(self.err(at.pos, message));
                continue;
            }
            seen.insert(identity, (images.len(), at.pos.line));
            images.push(image);
        }
        Ok(images)
    }

    /// One entry of `images:`, and the node duplicates are reported at (its `image` value, or
    /// its `command-file` value); `None` when the entry has a mistake (every one of its
    /// mistakes recorded).
    fn image<'n>(
        &self,
        node: &'n Node,
        site_names: Option<&[&str]>,
        file_verify: Option<&Vec<PathBuf>>,
    ) -> Option<(FleetImage, &'n Node)> {
        let Value::Map(fields) = &node.value else {
            self.report(self.err(
                node.pos,
                format!(
                    "an image entry must be a mapping with `image:`, found {}",
                    node.describe()
                ),
            ));
            return None;
        };
        let before = self.errors.borrow().len();
        self.known_keys(fields, IMAGE_KEYS, "in an image entry");
        // A `command-file` entry, even with a bad value: its `image` is then a reference to
        // install under, not a source, and the source-only keys do not apply.
        let file_node = optional(fields, "command-file");
        let command_file = file_node.and_then(|n| {
            let text = self.ok(self.text(n, "`command-file`"))?;
            Some(self.relative(text))
        });
        let image_node = optional(fields, "image");
        let image = match (image_node, file_node) {
            (None, None) => {
                self.report(self.err(
                    node.pos,
                    "image entry without `image` (the SOURCE to read, e.g. ghcr.io/lab/tool:1.2)",
                ));
                None
            }
            (None, Some(_)) => {
                self.report(self.err(
                    node.pos,
                    "`command-file` entry without `image` (the reference its commands are installed under, e.g. ghcr.io/lab/tool:1.2)",
                ));
                None
            }
            (Some(n), None) => self.ok(self.text(n, "`image`")).and_then(|image| {
                self.ok(check_source(image).map_err(|message| self.err(n.pos, message)))
                    .map(|()| image)
            }),
            (Some(n), Some(_)) => self.ok(self.text(n, "`image`")).and_then(|image| {
                self.ok(check_install_ref(image).map_err(|message| self.err(n.pos, message)))
                    .map(|()| image)
            }),
        };
        let commands = optional(fields, "commands").and_then(|n| {
            self.names(n, "commands", "command")
                .map(|v| v.into_iter().map(|(name, _)| name).collect())
        });
        let sites = match get(fields, "sites") {
            Some((key, value)) if !value.is_null() => match site_names {
                None => {
                    self.report(self.err(
                        key.pos,
                        "`sites` on an image needs a top-level `sites:` key that defines the sites",
                    ));
                    None
                }
                Some(defined) => self.names(value, "sites", "site").map(|names| {
                    for (name, pos) in &names {
                        if !defined.contains(&name.as_str()) {
                            self.report(self.err(
                                *pos,
                                format!(
                                    "`sites` names `{name}`, which the file does not define (defined: {})",
                                    list_of(defined)
                                ),
                            ));
                        }
                    }
                    names.into_iter().map(|(name, _)| name).collect()
                }),
            },
            _ => None,
        };
        let enable = optional(fields, "enable")
            .and_then(|n| self.enable(n))
            .unwrap_or_default();
        let read = match file_node {
            None => self.source_keys(fields, image.zip(image_node), file_verify),
            Some(file) => {
                self.no_source_keys(fields, file, file_verify);
                SourceKeys::default()
            }
        };
        if self.errors.borrow().len() > before {
            return None;
        }
        Some((
            FleetImage {
                image: image?.to_string(),
                command_file,
                platform: read.platform,
                commands,
                pin_digest: read.pin_digest,
                sites,
                enable,
                verify: read.verify,
                line: node.pos.line,
            },
            file_node.or(image_node)?,
        ))
    }

    /// The keys of an entry read from a source: `platform`, `pin-digest` and `verify` (the
    /// entry's own, else the file's: `file_verify`), checked against the source (`source`:
    /// its text and node, when valid).
    fn source_keys(
        &self,
        fields: &[(Node, Node)],
        source: Option<(&str, &Node)>,
        file_verify: Option<&Vec<PathBuf>>,
    ) -> SourceKeys {
        let platform = optional(fields, "platform").and_then(|n| {
            let text = self.ok(self.text(n, "`platform`"))?;
            self.ok(Platform::parse(text).map_err(|e| self.err(n.pos, e.to_string())))
        });
        let pin_digest = optional(fields, "pin-digest")
            .and_then(|n| self.ok(self.boolean(n, "`pin-digest`")))
            .unwrap_or(false);
        // The image's own `verify:` replaces the file's.
        let own_verify = optional(fields, "verify");
        let verify = match own_verify {
            Some(n) => self.verify(n).unwrap_or_default(),
            None => file_verify.cloned().unwrap_or_default(),
        };
        if let (false, Some((image, image_node))) = (verify.is_empty(), source) {
            if !matches!(SourceSpec::parse(image), Ok(SourceSpec::Registry { .. })) {
                self.report(self.err(
                    own_verify.unwrap_or(image_node).pos,
                    format!("`verify` checks cosign signatures of registry images only, and `{image}` is not read from a registry"),
                ));
            }
            if let Some(n) = optional(fields, "pin-digest").filter(|_| !pin_digest) {
                self.report(self.err(
                    n.pos,
                    "`pin-digest: false` with `verify`: a verified image is always installed under the digest that was verified (its tag could move to an unsigned image); drop `pin-digest`",
                ));
            }
        }
        SourceKeys {
            platform,
            pin_digest,
            verify,
        }
    }

    /// A `command-file` entry (`file`: its value) has none of the keys of an image read from
    /// a source, and the file's `verify:` cannot apply to it (a command file has no
    /// signature).
    fn no_source_keys(
        &self,
        fields: &[(Node, Node)],
        file: &Node,
        file_verify: Option<&Vec<PathBuf>>,
    ) {
        for key in SOURCE_ONLY_KEYS {
            if let Some((k, _)) = get(fields, key).filter(|(_, v)| !v.is_null()) {
                self.report(self.err(
                    k.pos,
                    format!("`{key}` applies to an image read from a source, and a `command-file` entry's commands are read from the file: drop `{key}`"),
                ));
            }
        }
        if file_verify.is_some_and(|keys| !keys.is_empty()) && optional(fields, "verify").is_none()
        {
            self.report(self.err(
                file.pos,
                "the top-level `verify` checks the cosign signature of every entry, and a `command-file` entry has none: give the image entries their own `verify` instead",
            ));
        }
    }

    /// `file` (as written in the fleet file) resolved against the fleet file's directory.
    fn relative(&self, file: &str) -> PathBuf {
        Path::new(self.file)
            .parent()
            .unwrap_or(Path::new(""))
            .join(file)
    }

    /// `verify: {key: FILE}` or `verify: {key: [FILE, …]}`: key files, resolved against the
    /// fleet file's directory (read later, by the caller: parsing does no I/O).
    pub(super) fn verify(&self, node: &Node) -> Option<Vec<PathBuf>> {
        let fields = self.ok(self.map(node, "`verify` (`{key: FILE}` or `{key: [FILE, …]}`)"))?;
        self.known_keys(fields, VERIFY_KEYS, "in `verify`");
        let Some(key) = optional(fields, "key") else {
            self.report(self.err(
                node.pos,
                "`verify` without `key` (the cosign public key file, e.g. `key: cosign.pub`)",
            ));
            return None;
        };
        let files: Vec<String> = match &key.value {
            Value::Seq(_) => self
                .names(key, "verify.key", "key file")?
                .into_iter()
                .map(|(name, _)| name)
                .collect(),
            _ => vec![self.ok(self.text(key, "`verify.key`"))?.to_string()],
        };
        Some(files.iter().map(|f| self.relative(f)).collect())
    }

    fn enable(&self, node: &Node) -> Option<Enable> {
        let fields = self.ok(self.map(node, "`enable`"))?;
        self.known_keys(fields, ENABLE_KEYS, "in `enable`");
        let site = optional(fields, "site")
            .and_then(|n| self.ok(self.boolean(n, "`enable.site`")))
            .unwrap_or(false);
        let projects = optional(fields, "projects")
            .map(|n| self.projects(n))
            .unwrap_or_default();
        let wrappers = optional(fields, "wrappers")
            .map(|n| self.wrappers(n))
            .unwrap_or_default();
        Some(Enable {
            site,
            projects,
            wrappers,
        })
    }

    /// `projects:` (of `enable`, or of a wrapper in it): a list of ids (empty allowed: no
    /// project) or `all`; every bad item recorded.
    fn projects(&self, n: &Node) -> Projects {
        match &n.value {
            _ if n.as_str() == Some("all") => Projects::All,
            Value::Seq(items) => {
                let mut ids: Vec<String> = Vec::with_capacity(items.len());
                let mut first: HashMap<&str, usize> = HashMap::with_capacity(items.len());
                for item in items {
                    let Some(id) = self.ok(self.text(item, "a project id in `projects`")) else {
                        continue;
                    };
                    if let Some(line) = first.get(id) {
                        self.report(self.err(
                            item.pos,
                            format!(
                                "duplicate project `{id}` in `projects` (first at line {line})"
                            ),
                        ));
                        continue;
                    }
                    first.insert(id, item.pos.line);
                    ids.push(id.to_string());
                }
                Projects::List(ids)
            }
            _ => {
                self.report(self.err(
                    n.pos,
                    format!(
                        "`projects` must be a list of project ids or `all`, found {}",
                        n.describe()
                    ),
                ));
                Projects::None
            }
        }
    }

    /// `enable.wrappers`: wrapper names to `{site, projects}`, in file order (every mistake
    /// recorded; the valid entries returned). Whether the image has wrappers of these names is
    /// known once it is read ([`super::run::entry_commands`]).
    fn wrappers(&self, node: &Node) -> Vec<WrapperEnable> {
        let Some(entries) = self.ok(self.map(
            node,
            "`enable.wrappers` (wrapper names to `{site, projects}`)",
        )) else {
            return Vec::new();
        };
        if entries.is_empty() {
            self.report(self.err(
                node.pos,
                "`enable.wrappers` is empty: name at least one wrapper, or drop the key",
            ));
        }
        let mut out: Vec<WrapperEnable> = Vec::with_capacity(entries.len());
        // Names as trimmed (YAML finds keys repeated as written) → the line of the first.
        let mut first: HashMap<&str, usize> = HashMap::with_capacity(entries.len());
        for (key, value) in entries {
            let Some(name) = self.ok(self.text(key, "a wrapper name in `enable.wrappers`")) else {
                continue;
            };
            if let Some(line) = first.get(name) {
                self.report(self.err(
                    key.pos,
                    format!(
                        "duplicate wrapper `{name}` in `enable.wrappers` (first at line {line})"
                    ),
                ));
                continue;
            }
            first.insert(name, key.pos.line);
            let what = format!("wrapper `{name}` in `enable.wrappers`");
            let Value::Map(fields) = &value.value else {
                // Nothing after the name: point at the name, not the next line.
                let pos = if value.is_null() { key.pos } else { value.pos };
                self.report(self.err(
                    pos,
                    format!(
                        "{what} must be a mapping with `site:` and/or `projects:`, found {}",
                        value.describe()
                    ),
                ));
                continue;
            };
            self.known_keys(fields, WRAPPER_KEYS, &format!("in {what}"));
            let site = optional(fields, "site")
                .and_then(|n| self.ok(self.boolean(n, &format!("`site` of {what}"))));
            let projects = optional(fields, "projects").map(|n| self.projects(n));
            out.push(WrapperEnable {
                name: name.to_string(),
                site,
                projects,
            });
        }
        out
    }
}

/// An entry's keys that apply to an image read from a source (defaults for a `command-file`
/// entry).
#[derive(Default)]
struct SourceKeys {
    platform: Option<Platform>,
    pin_digest: bool,
    verify: Vec<PathBuf>,
}

/// What makes two entries the same: the source ([`source_identity`]), or a command file (its
/// path as written, `.` components dropped: no look at the disk) with the reference it is installed under (normalised). A
/// `command-file` entry is never the same as an image entry.
#[derive(Debug, PartialEq, Eq, Hash)]
enum Identity {
    Source(String),
    CommandFile(PathBuf, String),
}

impl Identity {
    fn of(image: &FleetImage) -> Identity {
        match &image.command_file {
            None => Identity::Source(source_identity(&image.image)),
            Some(file) => Identity::CommandFile(
                file.components()
                    .filter(|c| *c != std::path::Component::CurDir)
                    .collect(),
                normalised(&image.image, ""),
            ),
        }
    }
}

/// Is `text` a reference a `command-file` entry's commands can be installed under? A registry
/// reference, written without a transport, with a tag or a digest: XNAT runs the commands with
/// it as written.
fn check_install_ref(text: &str) -> Result<(), String> {
    let not_source = |_| {
        format!("`{text}` is a SOURCE to read, and the `image` of a `command-file` entry is the reference its commands are installed under: write a registry reference such as ghcr.io/lab/tool:1.2")
    };
    match SourceSpec::parse(text) {
        Ok(SourceSpec::Registry { .. }) if !text.starts_with("docker://") => {}
        Ok(_) => return Err(not_source(())),
        Err(_) => {}
    }
    let reference = Reference::parse(text).map_err(|e| e.to_string())?;
    if reference.tag.is_none() && reference.digest.is_none() {
        return Err(format!(
            "`{text}` has no tag or digest, and the `image` of a `command-file` entry is the reference XNAT runs its commands with: name a tag (e.g. `{text}:1.2`) or a digest"
        ));
    }
    Ok(())
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
