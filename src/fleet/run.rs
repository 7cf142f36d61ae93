//! Loading a fleet for a run (`sync`, `status`, `validate FLEET`): the file read (capped) and
//! parsed with every mistake located, each entry classified and its `verify:` keys read, every
//! image read concurrently with its own platform and pin-digest (a `command-file:` entry's
//! file read as `install FILE.json --image REF` reads it), `commands:` selected and
//! `enable.wrappers` checked against the selected commands' wrappers, and what each site is
//! declared to hold; images given on the command line become a fleet of their
//! own ([`sources_fleet`]). Never prints: the problems come back as values, in file order,
//! for the binary to show. The sites and the loop over them are in [`super::sites`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::command::CommandView;
use crate::cosign::{KeyError, PublicKey};
use crate::pipeline::{self, Input, InputError, Item, Options, Prepared};
use crate::plan::Desired;
use crate::platform::Platform;
use crate::problem::{problem, Hint, Problem};
use crate::reference::InstallRef;
use crate::source::{ReadOptions, SourceOptions};

use super::{Enable, Fleet, FleetImage, Projects, WrapperEnable};

/// Mistakes of one fleet file shown at most; the rest are counted in one more line.
pub const MAX_MISTAKES_SHOWN: usize = 100;

/// Read (capped) and parse a fleet file, `path` shown as given. `Err`: every mistake of the
/// file, in file order, each naming the file with its line and column (at most
/// [`MAX_MISTAKES_SHOWN`], then one line counting the rest) — never empty.
pub fn read_fleet(path: &Path) -> Result<(Fleet, String), Vec<Problem>> {
    let shown = path.display().to_string();
    let text =
        crate::limits::read_text(path, crate::limits::MAX_FLEET_FILE_BYTES).map_err(|e| {
            vec![Problem::new(format!(
                "failed to read fleet file `{shown}`: {e}"
            ))]
        })?;
    let fleet = super::parse_all(&shown, &text).map_err(|errors| {
        // Bounded output: a generated file can hold thousands of the same mistake.
        let mut shown_errors: Vec<Problem> = errors
            .iter()
            .take(MAX_MISTAKES_SHOWN)
            .map(problem)
            .collect();
        if errors.len() > MAX_MISTAKES_SHOWN {
            shown_errors.push(Problem::new(format!(
                "`{shown}`: {} more mistakes not shown (fix the ones above and run again)",
                errors.len() - MAX_MISTAKES_SHOWN
            )));
        }
        shown_errors
    })?;
    Ok((fleet, shown))
}

/// Image sources given on the command line as a fleet (`status SOURCE...`): one default
/// site, each image read with `platform` and `verify` keys, nothing enabled, nothing owned.
/// Its entries have line 0: messages name the image, not a place in a file.
pub fn sources_fleet(images: &[String], platform: Option<Platform>, verify: &[PathBuf]) -> Fleet {
    Fleet {
        images: images
            .iter()
            .map(|image| FleetImage {
                image: image.clone(),
                command_file: None,
                platform: platform.clone(),
                commands: None,
                pin_digest: false,
                sites: None,
                enable: Enable::default(),
                verify: verify.to_vec(),
                line: 0,
            })
            .collect(),
        prune: Vec::new(),
        has_prune: false,
        sites: Vec::new(),
    }
}

/// A fleet entry that cannot be read at all, found before any image is read: the run stops
/// (a usage error).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The entry's text names no readable source (`at`: `FILE:LINE`, empty for an image given
    /// on the command line).
    #[error("{}", located(at, &source.to_string()))]
    Source {
        at: String,
        #[source]
        source: InputError,
    },
    /// An image entry's `image:` names a command file (`at` as for [`LoadError::Source`]).
    #[error("{}", located(at, &format!("`{image}` is not an image source")))]
    NotAnImage { at: String, image: String },
    /// `verify:` on a source that holds no signatures (a daemon, an archive).
    #[error(transparent)]
    Unverifiable(InputError),
    /// A `verify:` key file that cannot be read or is no public key.
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// `message` after the entry's location, as [`Problem::about`] puts it (none: as it is).
fn located(at: &str, message: &str) -> String {
    if at.is_empty() {
        message.to_string()
    } else {
        format!("{}: {message}", crate::summary::quote(at))
    }
}

impl Hint for LoadError {
    fn hint(&self) -> Option<String> {
        match self {
            LoadError::Source { source, .. } | LoadError::Unverifiable(source) => source.hint(),
            // In a fleet file (not on the command line), a command file has an entry form.
            LoadError::NotAnImage { at, image } => (!at.is_empty()).then(|| {
                format!("a command file is installed with `command-file: {image}` and `image:` the reference to install its commands under")
            }),
            LoadError::Key(e) => e.hint(),
        }
    }
}

/// Every fleet image's read, checked and ready: each entry classified, with its own platform,
/// pin-digest and `verify:` keys. Nothing is read from a source until [`ImageReads::read`].
pub struct ImageReads {
    /// The run's registry and daemon access, shared by every read.
    source: SourceOptions,
    texts: Vec<String>,
    inputs: Vec<Input>,
    opts: Vec<Options>,
}

impl ImageReads {
    /// Check every entry of `fleet` (`shown`: the file as messages name it; `source`: the run's
    /// access; `read`: the default per-image options, each entry's `platform:` and `verify:`
    /// over them) and read its key files. An entry that cannot be read at all (bad text, a key
    /// file, an unverifiable source) stops the run before any image is read.
    pub fn new(
        fleet: &Fleet,
        shown: &str,
        source: SourceOptions,
        read: &ReadOptions,
    ) -> Result<Self, LoadError> {
        // Where an entry is: `FILE:LINE` for a fleet file; nothing for images given on the
        // command line (`status SOURCE...`), whose messages name the image already.
        let at = |line: usize| {
            if line == 0 {
                String::new()
            } else {
                format!("{shown}:{line}")
            }
        };
        let texts: Vec<String> = fleet.images.iter().map(FleetImage::source).collect();
        let mut inputs = Vec::with_capacity(texts.len());
        let mut opts = Vec::with_capacity(texts.len());
        let mut keys = KeyFiles::default();
        for entry in &fleet.images {
            if let Some(file) = &entry.command_file {
                // As `install FILE.json --image REF`: the file read (capped) and its commands
                // installed under `image`, which is not read (the parser checked it as text).
                inputs.push(Input::CommandFile(file.clone()));
                opts.push(Options {
                    read: ReadOptions {
                        verify_keys: Vec::new(),
                        ..read.clone()
                    },
                    image: Some(entry.image.clone()),
                    pin_digest: false,
                    need_reference: true,
                });
                continue;
            }
            // A command file named as an image source is refused (its entry form is
            // `command-file:`), by its name alone: the answer must not depend on the current
            // directory.
            if entry.image.ends_with(".json") {
                return Err(LoadError::NotAnImage {
                    at: at(entry.line),
                    image: entry.image.clone(),
                });
            }
            let input =
                pipeline::classify(&entry.image, false).map_err(|source| LoadError::Source {
                    at: at(entry.line),
                    source,
                })?;
            let mut r = read.clone();
            if let Some(p) = &entry.platform {
                r.platform = p.clone();
            }
            if !entry.verify.is_empty() {
                // Before any read: a daemon or archive source cannot be verified.
                pipeline::check_verifiable(
                    std::slice::from_ref(&entry.image),
                    std::slice::from_ref(&input),
                )
                .map_err(LoadError::Unverifiable)?;
                r.verify_keys = keys.load(&entry.verify)?;
            }
            inputs.push(input);
            opts.push(Options {
                read: r,
                image: None,
                pin_digest: entry.pin_digest,
                need_reference: true,
            });
        }
        Ok(ImageReads {
            source,
            texts,
            inputs,
            opts,
        })
    }

    /// How many images are read.
    pub fn len(&self) -> usize {
        self.texts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.texts.is_empty()
    }

    /// Read every image concurrently: one pipeline item per entry, in file order (`done` is
    /// called as each image is read).
    pub async fn read(&self, done: &(dyn Fn(&Item) + Sync)) -> Vec<Item> {
        pipeline::run_each_with(&self.texts, &self.inputs, &self.source, &self.opts, done).await
    }
}

/// Key files read once each, however many fleet entries name them.
#[derive(Default)]
struct KeyFiles(BTreeMap<PathBuf, PublicKey>);

impl KeyFiles {
    fn load(&mut self, paths: &[PathBuf]) -> Result<Vec<PublicKey>, KeyError> {
        let mut out = Vec::with_capacity(paths.len());
        for p in paths {
            if !self.0.contains_key(p) {
                let key = PublicKey::load(p)?;
                self.0.insert(p.clone(), key);
            }
            out.extend(self.0.get(p).cloned());
        }
        Ok(out)
    }
}

/// Every fleet image read, with what it installs: one [`LoadedImage`] per entry, in file order.
#[derive(Debug)]
pub struct Loaded {
    pub images: Vec<LoadedImage>,
}

/// One fleet image as read: the pipeline's item (its warnings; its failure) and what it
/// installs.
#[derive(Debug)]
pub struct LoadedImage {
    /// The entry's SOURCE text, or its command file ([`FleetImage::source`]).
    pub source: String,
    pub item: Item,
    pub selection: Selection,
}

/// What a fleet image installs.
#[derive(Debug)]
pub enum Selection {
    /// The install image and the commands `commands:` selects, with the image injected
    /// (`image` is `None` only when the input gave no image, so no commands).
    Selected {
        image: Option<InstallRef>,
        commands: Vec<Prepared>,
    },
    /// Nothing to install and nothing failed: the image names no reference to install under
    /// (the pipeline's item says why).
    Nothing,
    /// The image could not be read, `commands:` names commands the label (or file) lacks, or
    /// `enable.wrappers` names wrappers the selected commands lack.
    Failed(Problem),
}

impl Loaded {
    /// The images that could not be read or selected, each with why, in file order.
    pub fn failed_images(&self) -> Vec<(String, Problem)> {
        self.images
            .iter()
            .filter_map(|i| match &i.selection {
                Selection::Failed(p) => Some((i.source.clone(), p.clone())),
                _ => None,
            })
            .collect()
    }

    /// Some selected command is invalid: nothing may be written anywhere.
    pub fn invalid(&self) -> bool {
        self.images.iter().any(|i| match &i.selection {
            Selection::Selected { commands, .. } => commands.iter().any(|p| !p.valid()),
            _ => false,
        })
    }

    /// What the fleet declares for `site`, with the commands as read (`fleet`: the file these
    /// images were loaded from).
    pub fn declared_for(&self, fleet: &Fleet, site: &str) -> Vec<Declared> {
        fleet
            .images
            .iter()
            .zip(&self.images)
            .filter(|(entry, _)| declared_on(entry, site))
            .map(|(entry, loaded)| {
                let source = entry.source();
                let (commands, readable) = match &loaded.selection {
                    Selection::Selected { image, commands } => (
                        image
                            .iter()
                            .flat_map(|image| {
                                commands.iter().map(|p| Desired {
                                    source: source.clone(),
                                    image: image.clone(),
                                    command: p.command.clone(),
                                })
                            })
                            .collect(),
                        true,
                    ),
                    Selection::Nothing | Selection::Failed(_) => (Vec::new(), false),
                };
                Declared {
                    source,
                    commands,
                    enable_site: entry.enable.site,
                    projects: entry.enable.projects.clone(),
                    wrappers: entry.enable.wrappers.clone(),
                    readable,
                }
            })
            .collect()
    }
}

/// Each read image's `commands:` selected (`items`: one per entry of `fleet`, in order, as
/// [`ImageReads::read`] returns them).
pub fn select(fleet: &Fleet, items: Vec<Item>) -> Loaded {
    let images = fleet
        .images
        .iter()
        .zip(items)
        .map(|(entry, item)| {
            let selection = match &item.outcome {
                Err(e) => Selection::Failed(problem(e).about(&item.input)),
                Ok(_) => entry_commands(entry, &item)
                    .unwrap_or_else(|e| Selection::Failed(problem(&e).about(&item.input))),
            };
            LoadedImage {
                source: entry.source(),
                item,
                selection,
            }
        })
        .collect();
    Loaded { images }
}

/// One fleet image as a site should have it.
#[derive(Debug, Clone)]
pub struct Declared {
    /// The fleet entry's SOURCE text, or its command file ([`FleetImage::source`]).
    pub source: String,
    /// Its commands with the install image injected; empty when it could not be read.
    pub commands: Vec<Desired>,
    /// `enable.site`: for every wrapper but those `wrappers` overrides.
    pub enable_site: bool,
    /// `enable.projects`: for every wrapper but those `wrappers` overrides.
    pub projects: Projects,
    /// `enable.wrappers`: per-wrapper overrides of `enable_site` and `projects` (names checked
    /// against the selected commands' wrappers), in file order.
    pub wrappers: Vec<WrapperEnable>,
    /// `false` when the image could not be read: its commands are unknown, so the site is not
    /// pruned.
    pub readable: bool,
}

impl Declared {
    /// Where the wrappers named `name` are to be enabled, (site-wide, projects): their
    /// override's keys where given, the image level's otherwise. Every wrapper of that name
    /// among the image's commands takes it.
    pub fn enable_for(&self, name: &str) -> (bool, &Projects) {
        match self.wrappers.iter().find(|w| w.name == name) {
            Some(w) => (
                w.site.unwrap_or(self.enable_site),
                w.projects.as_ref().unwrap_or(&self.projects),
            ),
            None => (self.enable_site, &self.projects),
        }
    }

    /// Does any wrapper's enablement name `projects: all` (the image level's, or an
    /// override's)?
    pub fn asks_all_projects(&self) -> bool {
        self.projects == Projects::All
            || self
                .wrappers
                .iter()
                .any(|w| w.projects == Some(Projects::All))
    }

    /// Does any wrapper's enablement name projects (a list, or `all`)?
    pub fn asks_projects(&self) -> bool {
        self.projects != Projects::None || self.wrappers.iter().any(|w| w.projects.is_some())
    }
}

/// Why a fleet image gives no commands to install.
#[derive(Debug, thiserror::Error)]
pub enum EntryError {
    /// `commands:` names commands the label (`in_file`: the command file) lacks.
    #[error("the {} has no command named {}", holder(*in_file), names.join(", "))]
    NoSuchCommands {
        names: Vec<String>,
        available: Vec<String>,
        in_file: bool,
    },
    /// `enable.wrappers` names wrappers that no selected command has (`available`: the
    /// wrappers they have, in order, each once).
    #[error("the selected commands have no wrapper named {}", names.join(", "))]
    NoSuchWrappers {
        names: Vec<String>,
        available: Vec<String>,
    },
}

fn holder(in_file: bool) -> &'static str {
    if in_file {
        "command file"
    } else {
        "label"
    }
}

impl Hint for EntryError {
    fn hint(&self) -> Option<String> {
        match self {
            EntryError::NoSuchCommands {
                available, in_file, ..
            } => Some(format!(
                "fix `commands:` in the fleet file; the {} has: {}",
                holder(*in_file),
                available.join(", ")
            )),
            EntryError::NoSuchWrappers { available, .. } if available.is_empty() => Some(
                "fix `enable.wrappers` in the fleet file; the selected commands have no wrappers"
                    .into(),
            ),
            EntryError::NoSuchWrappers { available, .. } => Some(format!(
                "fix `enable.wrappers` in the fleet file; the selected commands have: {}",
                available.join(", ")
            )),
        }
    }
}

/// The commands a fleet image installs: those of its first image, filtered by `commands:`,
/// each with the install image injected, and that image. [`Selection::Nothing`] when the
/// input failed (reported by the pipeline's item error) or names no install image.
pub fn entry_commands(entry: &FleetImage, item: &Item) -> Result<Selection, EntryError> {
    let Ok(images) = &item.outcome else {
        return Ok(Selection::Nothing);
    };
    let Some(image) = images.first() else {
        return Ok(Selection::Selected {
            image: None,
            commands: Vec::new(),
        });
    };
    let Some(install) = image.install_image.clone() else {
        return Ok(Selection::Nothing);
    };
    let commands: Vec<Prepared> = match &entry.commands {
        None => image.commands.clone(),
        Some(names) => {
            let available: Vec<String> = image
                .commands
                .iter()
                .filter_map(|p| p.name.clone())
                .collect();
            let missing: Vec<String> = names
                .iter()
                .filter(|n| !available.contains(n))
                .cloned()
                .collect();
            if !missing.is_empty() {
                return Err(EntryError::NoSuchCommands {
                    names: missing,
                    available,
                    in_file: entry.command_file.is_some(),
                });
            }
            image
                .commands
                .iter()
                .filter(|p| p.name.as_ref().is_some_and(|n| names.contains(n)))
                .cloned()
                .collect()
        }
    };
    check_wrappers(entry, &commands)?;
    Ok(Selection::Selected {
        image: Some(install),
        commands,
    })
}

/// Every name of `enable.wrappers` is a wrapper of one of the selected `commands` (several
/// commands may have a wrapper of that name: the override applies to each).
fn check_wrappers(entry: &FleetImage, commands: &[Prepared]) -> Result<(), EntryError> {
    if entry.enable.wrappers.is_empty() {
        return Ok(());
    }
    // In order, each once; a set beside the list: a label can hold thousands of commands.
    let mut available: Vec<String> = Vec::new();
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    for p in commands {
        for w in CommandView::new(&p.command).wrappers() {
            if let Some(name) = w.name().filter(|n| seen.insert(n.clone())) {
                available.push(name);
            }
        }
    }
    let names: Vec<String> = entry
        .enable
        .wrappers
        .iter()
        .filter(|w| !seen.contains(&w.name))
        .map(|w| w.name.clone())
        .collect();
    if names.is_empty() {
        Ok(())
    } else {
        Err(EntryError::NoSuchWrappers { names, available })
    }
}

/// Is `entry` declared for `site`? (`sites:` absent: every site.)
pub fn declared_on(entry: &FleetImage, site: &str) -> bool {
    entry
        .sites
        .as_ref()
        .is_none_or(|s| s.iter().any(|n| n == site))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::pipeline::{prepare, Image, ItemError};

    const FLEET: &str = "\
images:
  - image: lab/a:1
    sites: [prod]
    enable: {site: true, projects: [P1]}
  - image: lab/b:1
    commands: [b2]
  - image: lab/c:1
    commands: [nope]
  - image: lab/d:1
sites:
  staging: {url: https://staging.example.org}
  prod: {url: https://prod.example.org}
";

    fn fleet() -> Fleet {
        super::super::parse("fleet.yaml", FLEET).unwrap_or_else(|e| panic!("{e}"))
    }

    fn item(input: &str, outcome: Result<Vec<Image>, ItemError>) -> Item {
        Item {
            input: input.into(),
            warnings: Vec::new(),
            outcome,
        }
    }

    /// An image read with `commands`, installed under `install`.
    fn image(install: Option<&str>, commands: &[&str]) -> Vec<Image> {
        vec![Image {
            name: "image".into(),
            record: None,
            install_image: install.and_then(InstallRef::tagged),
            commands: commands
                .iter()
                .map(|n| {
                    let c = json!({"name": n, "type": "docker", "command-line": "x"});
                    prepare(&c, install, true)
                })
                .collect(),
        }]
    }

    fn loaded() -> Loaded {
        select(
            &fleet(),
            vec![
                item("lab/a:1", Ok(image(Some("lab/a:1"), &["a"]))),
                item("lab/b:1", Ok(image(Some("lab/b:1"), &["b1", "b2"]))),
                item("lab/c:1", Ok(image(Some("lab/c:1"), &["c"]))),
                item("lab/d:1", Err(ItemError::NoReference)),
            ],
        )
    }

    #[test]
    fn commands_are_selected_and_what_fails_says_why() {
        let loaded = loaded();
        let selected: Vec<Option<Vec<String>>> = loaded
            .images
            .iter()
            .map(|i| match &i.selection {
                Selection::Selected { commands, .. } => {
                    Some(commands.iter().filter_map(|p| p.name.clone()).collect())
                }
                _ => None,
            })
            .collect();
        assert_eq!(
            selected,
            vec![
                Some(vec!["a".to_string()]),
                Some(vec!["b2".to_string()]),
                None,
                None
            ]
        );
        let failed: Vec<(String, String)> = loaded
            .failed_images()
            .into_iter()
            .map(|(image, p)| (image, p.error))
            .collect();
        assert_eq!(
            failed,
            vec![
                (
                    "lab/c:1".to_string(),
                    "lab/c:1: the label has no command named nope".to_string()
                ),
                (
                    "lab/d:1".to_string(),
                    "lab/d:1: no image reference is recorded with this image".to_string()
                ),
            ]
        );
        assert!(!loaded.invalid());
    }

    #[test]
    fn each_site_is_declared_its_own_images() {
        let (fleet, loaded) = (fleet(), loaded());
        let sources = |site: &str| -> Vec<(String, usize, bool)> {
            loaded
                .declared_for(&fleet, site)
                .into_iter()
                .map(|d| (d.source, d.commands.len(), d.readable))
                .collect()
        };
        let row = |s: &str, n, readable| (s.to_string(), n, readable);
        assert_eq!(
            sources("staging"),
            vec![
                row("lab/b:1", 1, true),
                row("lab/c:1", 0, false),
                row("lab/d:1", 0, false)
            ]
        );
        let prod = loaded.declared_for(&fleet, "prod");
        assert_eq!(prod.len(), 4);
        assert!(prod[0].enable_site);
        assert_eq!(prod[0].projects, Projects::List(vec!["P1".into()]));
        assert_eq!(prod[0].commands[0].image.as_str(), "lab/a:1");
        assert_eq!(prod[0].commands[0].command["image"], "lab/a:1");
    }

    #[test]
    fn an_entry_that_names_no_source_stops_the_run_at_its_line() {
        let mut fleet = fleet();
        fleet.images[1].image = "Lab/B:1".into();
        fleet.images[1].line = 5;
        let run = |fleet: &Fleet| {
            ImageReads::new(
                fleet,
                "fleet.yaml",
                SourceOptions::default(),
                &ReadOptions::default(),
            )
            .err()
            .map(|e| problem(&e).error)
        };
        let error = run(&fleet).unwrap_or_default();
        assert!(error.starts_with("fleet.yaml:5: "), "{error}");
        // Images given on the command line (line 0) are named by the message itself.
        fleet.images[1].line = 0;
        let error = run(&fleet).unwrap_or_default();
        assert!(!error.contains("fleet.yaml"), "{error}");
        assert!(error.contains("Lab/B:1"), "{error}");
    }

    /// An image of one command `t` with wrappers `t-scan` and `t-qc`, and one `u` with `u-w`.
    fn wrapped() -> Vec<Image> {
        let w = |name: &str| json!({"name": name, "contexts": ["xnat:imageSessionData"]});
        let commands = [
            json!({"name": "t", "type": "docker", "command-line": "x", "xnat": [w("t-scan"), w("t-qc")]}),
            json!({"name": "u", "type": "docker", "command-line": "x", "xnat": [w("u-w"), w("t-qc")]}),
        ];
        vec![Image {
            name: "image".into(),
            record: None,
            install_image: InstallRef::tagged("lab/t:1"),
            commands: commands
                .iter()
                .map(|c| prepare(c, Some("lab/t:1"), true))
                .collect(),
        }]
    }

    #[test]
    fn wrapper_names_are_checked_against_the_selected_commands() {
        let entry = |extra: &str| -> Fleet {
            super::super::parse(
                "fleet.yaml",
                &format!("images:\n  - image: lab/t:1\n{extra}    enable:\n      wrappers: {{t-qc: {{site: true}}, u-w: {{}}}}\n"),
            )
            .unwrap_or_else(|e| panic!("{e}"))
        };
        let outcome = |fleet: &Fleet| {
            entry_commands(&fleet.images[0], &item("lab/t:1", Ok(wrapped())))
                .map(|s| matches!(s, Selection::Selected { commands, .. } if !commands.is_empty()))
                .map_err(|e| (e.to_string(), e.hint()))
        };
        // Every named wrapper exists; `t-qc` is a wrapper of both commands.
        assert_eq!(outcome(&entry("")), Ok(true));
        // `u` not selected: its wrapper `u-w` is not the image's to enable.
        assert_eq!(
            outcome(&entry("    commands: [t]\n")),
            Err((
                "the selected commands have no wrapper named u-w".to_string(),
                Some(
                    "fix `enable.wrappers` in the fleet file; the selected commands have: t-scan, t-qc"
                        .to_string()
                )
            ))
        );
    }

    #[test]
    fn an_override_replaces_the_keys_it_gives_and_inherits_the_others() {
        let fleet = super::super::parse(
            "fleet.yaml",
            "images:\n  - image: lab/t:1\n    enable:\n      site: true\n      projects: [P1]\n      wrappers:\n        t-scan: {site: false, projects: []}\n        t-qc: {projects: all}\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let loaded = select(&fleet, vec![item("lab/t:1", Ok(wrapped()))]);
        let declared = loaded.declared_for(&fleet, "default");
        let d = &declared[0];
        assert_eq!(d.enable_for("t-scan"), (false, &Projects::List(vec![])));
        assert_eq!(d.enable_for("t-qc"), (true, &Projects::All));
        assert_eq!(
            d.enable_for("u-w"),
            (true, &Projects::List(vec!["P1".into()]))
        );
        assert!(d.asks_all_projects() && d.asks_projects());
    }

    #[test]
    fn a_command_file_entry_reads_the_file_under_its_image() {
        let fleet = super::super::parse(
            "conf/fleet.yaml",
            "images:\n  - command-file: t.json\n    image: lab/t:1\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let reads = ImageReads::new(
            &fleet,
            "conf/fleet.yaml",
            SourceOptions::default(),
            &ReadOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(reads.texts, vec!["conf/t.json".to_string()]);
        assert_eq!(reads.inputs, vec![Input::CommandFile("conf/t.json".into())]);
        assert_eq!(reads.opts[0].image.as_deref(), Some("lab/t:1"));
        assert!(reads.opts[0].need_reference && !reads.opts[0].pin_digest);
        // An image entry naming a command file is still refused, with the entry form to use.
        let fleet = super::super::parse("fleet.yaml", "images:\n  - image: t.json\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let e = ImageReads::new(
            &fleet,
            "fleet.yaml",
            SourceOptions::default(),
            &ReadOptions::default(),
        )
        .err()
        .map(|e| (e.to_string(), e.hint()));
        assert_eq!(
            e,
            Some((
                "fleet.yaml:2: `t.json` is not an image source".to_string(),
                Some("a command file is installed with `command-file: t.json` and `image:` the reference to install its commands under".to_string())
            ))
        );
    }
}
