//! The image pipeline every subcommand shares: input text → source → image records → label →
//! the image each command is installed under → the command with that image injected → XNAT's
//! verdict. `inspect`, `validate`, `install` and `uninstall` (and fleet `sync`) call [`run`] and
//! only render what it returns; the rules in between live here, with tests.
//!
//! Two stages, so that a typo is a usage error before any I/O: [`classify`] turns every
//! argument into an [`Input`] (or an [`InputError`], exit 2); [`run`] reads the inputs
//! concurrently — registry tokens planned for the whole run — and returns one [`Item`] per
//! input, in argument order, each either its images and prepared commands or an [`ItemError`].

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::command::validate::duplicate_names;
use crate::command::CommandView;
use crate::digest::Digest;
use crate::labels::{
    commands_from_labels, parse_command_file, CommandFileError, LabelError, ParsedLabel,
};
use crate::plan::Desired;
use crate::problem::Hint;
use crate::reference::{same_repository, xnat_default_tag, InstallRef, Reference, ReferenceError};
use crate::source::{
    ImageRecord, ReadOptions, Reader, SourceError, SourceOptions, SourceSpec, SpecError,
};
use crate::{validate, Diagnostic, Form, Severity};

/// One argument, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A command JSON file: an object or a list of them (`validate` only).
    CommandFile(PathBuf),
    /// An image source in containers-transports syntax.
    Source(SourceSpec),
}

/// An argument that names no readable input: a usage error, reported before any I/O.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InputError {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    #[error("`{path}` is a file, not an image reference")]
    BareFile { path: String },
    #[error("`{path}` is a directory, not an image reference")]
    BareDirectory { path: String, oci_layout: bool },
    #[error("`{input}` is read from {from}, which holds no cosign signatures: signatures are checked on registry images only")]
    NotVerifiable { input: String, from: &'static str },
}

impl Hint for InputError {
    fn hint(&self) -> Option<String> {
        match self {
            InputError::BareFile { path } => Some(format!(
                "name its transport: `oci-archive:{path}` (a tar of an OCI layout) or `docker-archive:{path}` (a `docker save` tar); `docker://{path}` reads a registry"
            )),
            InputError::BareDirectory { path, oci_layout } => Some(if *oci_layout {
                format!("read the OCI layout in it with `oci:{path}`; `docker://{path}` reads a registry")
            } else {
                format!("an OCI layout directory is read with `oci:DIR` (it has no `oci-layout` file, so it may not be one); `docker://{path}` reads a registry")
            }),
            InputError::Reference(e) => e.hint(),
            InputError::NotVerifiable { .. } => Some(
                "read the image from the registry it was signed in (`cosign sign` stores signatures there), or drop the key".into(),
            ),
            InputError::Spec(_) => None,
        }
    }
}

/// What kind of argument `text` is. `allow_files`: command JSON files are accepted
/// (`validate`); otherwise every argument is an image source.
pub fn classify(text: &str, allow_files: bool) -> Result<Input, InputError> {
    if allow_files && is_command_file(text) {
        return Ok(Input::CommandFile(PathBuf::from(text)));
    }
    let spec = SourceSpec::parse(text)?;
    if let SourceSpec::Registry { reference } = &spec {
        // Only a plain argument (no `docker://`) can be a path typed without its transport.
        if !text.starts_with("docker://") {
            let path = Path::new(text);
            if path.is_dir() {
                return Err(InputError::BareDirectory {
                    path: text.to_string(),
                    oci_layout: path.join("oci-layout").is_file(),
                });
            }
            if path.is_file() {
                return Err(InputError::BareFile {
                    path: text.to_string(),
                });
            }
        }
        Reference::parse(reference)?;
    }
    Ok(Input::Source(spec))
}

/// Is this argument a command JSON file rather than an image source? A name ending in
/// `.json`, or an existing file whose content starts like JSON as XNAT reads it (after a byte
/// order mark, whitespace and `#` comment lines; archives start with a tar header or gzip
/// magic). Only the first bytes are read: archives can be gigabytes.
pub fn is_command_file(arg: &str) -> bool {
    if arg.ends_with(".json") {
        return true;
    }
    let path = Path::new(arg);
    let mut head = [0u8; 4096];
    let n = match path.is_file().then(|| crate::limits::open_regular(path)) {
        Some(Ok(mut f)) => std::io::Read::read(&mut f, &mut head).unwrap_or(0),
        _ => return false,
    };
    starts_like_json(&head[..n])
}

/// Does `head` begin with `{` or `[` once a byte order mark, whitespace and `#` comment lines
/// are skipped?
fn starts_like_json(head: &[u8]) -> bool {
    let mut rest = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    loop {
        match rest.iter().position(|c| !c.is_ascii_whitespace()) {
            Some(i) if rest[i] == b'#' => {
                let line_end = rest[i..].iter().position(|c| *c == b'\n' || *c == b'\r');
                match line_end {
                    Some(j) => rest = &rest[i + j..],
                    None => return false,
                }
            }
            Some(i) => return rest[i] == b'{' || rest[i] == b'[',
            None => return false,
        }
    }
}

/// Classify every argument; the first that names nothing readable is the error (each
/// error's message names its argument).
pub fn classify_all(texts: &[String], allow_files: bool) -> Result<Vec<Input>, InputError> {
    texts.iter().map(|t| classify(t, allow_files)).collect()
}

/// With keys to verify (`ReadOptions::verify_keys`), every input must be a registry image:
/// daemons, archives and command files carry no cosign signatures.
pub fn check_verifiable(texts: &[String], inputs: &[Input]) -> Result<(), InputError> {
    for (text, input) in texts.iter().zip(inputs) {
        let from = match input {
            Input::Source(SourceSpec::Registry { .. }) => continue,
            Input::Source(SourceSpec::DockerDaemon { .. }) => "a container engine",
            Input::Source(_) => "an image archive or layout",
            Input::CommandFile(_) => "a command file",
        };
        return Err(InputError::NotVerifiable {
            input: text.clone(),
            from,
        });
    }
    Ok(())
}

/// One input's options: how its image is read, and which image its commands go under. What
/// the whole run shares (registry and daemon access) is a [`SourceOptions`], given once to
/// [`run`] and [`run_each`].
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub read: ReadOptions,
    /// `--image REF`: the reference to check and install the commands under, instead of the
    /// one recorded with the image.
    pub image: Option<String>,
    /// `--pin-digest`: install under `repo@sha256:…` of the manifest that was read.
    pub pin_digest: bool,
    /// The run must know the reference of every image (`install`, `uninstall`); otherwise
    /// (`validate`, `inspect`) a command that carries its own `image` is checked with it.
    pub need_reference: bool,
}

/// One input's outcome.
#[derive(Debug)]
pub struct Item {
    /// The argument as typed.
    pub input: String,
    /// Non-fatal findings of reading it and parsing its label, in order.
    pub warnings: Vec<String>,
    pub outcome: Result<Vec<Image>, ItemError>,
}

/// One image read from an input (one per platform with `--all-platforms`; one pseudo-image
/// for a command file).
#[derive(Debug, Clone)]
pub struct Image {
    /// The input, with the platform when an input gave several images.
    pub name: String,
    /// What the source said about the image; `None` for a command file.
    pub record: Option<ImageRecord>,
    /// The reference the commands are installed under, tagged as XNAT tags on create
    /// ([`install_image`]); `None` when neither `--image` nor the image names one.
    pub install_image: Option<InstallRef>,
    pub commands: Vec<Prepared>,
}

/// One command, ready to check and send.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    /// What XNAT is sent: the command as the label (or file) holds it, with the install image
    /// injected ([`Prepared::original`] gives it back as held).
    pub command: Value,
    /// The `image` the command held before one was injected: `Some(None)` when it had none,
    /// `None` when nothing was injected. Kept instead of a second copy of the whole command:
    /// a label at the 16 MiB cap is ~50,000 commands, and each copy costs ~17× its text.
    replaced_image: Option<Option<Value>>,
    pub name: Option<String>,
    /// The image it was checked with (injected, else its own), tagged as XNAT tags.
    pub image: Option<String>,
    /// XNAT's findings for `command` (create form); empty when it could not be checked.
    pub diagnostics: Vec<Diagnostic>,
    /// Findings of the pipeline itself (an image of another repository replaced).
    pub notes: Vec<String>,
    /// Neither `--image`, the source nor the command names an image: not checked.
    pub missing_image: bool,
}

impl Prepared {
    /// The command as the label (or file) holds it.
    pub fn original(&self) -> Value {
        let mut v = self.command.clone();
        if let (Some(before), Some(obj)) = (&self.replaced_image, v.as_object_mut()) {
            match before {
                // `insert` keeps a replaced key in its place, so the order is the original's.
                Some(image) => {
                    obj.insert("image".into(), image.clone());
                }
                None => {
                    obj.shift_remove("image");
                }
            }
        }
        v
    }

    pub fn valid(&self) -> bool {
        !self.missing_image
            && !self
                .diagnostics
                .iter()
                .any(|d| d.severity == Severity::Error)
    }

    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
    }

    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or("(unnamed)")
    }
}

/// Why one input gave no commands.
#[derive(Debug, thiserror::Error)]
pub enum ItemError {
    #[error("failed to read `{path}`")]
    ReadFile {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{path}` is not a command file")]
    NotCommands {
        path: String,
        #[source]
        source: CommandFileError,
    },
    #[error(transparent)]
    Source(Box<SourceError>),
    #[error(transparent)]
    Label(#[from] LabelError),
    #[error("no image reference is recorded with this image")]
    NoReference,
    #[error("no manifest digest is known for this source to pin it to")]
    NoDigest,
    #[error("`{image}` names another repository than the signed image `{signed}`: a signature vouches for its own repository only")]
    OtherThanSigned { image: String, signed: String },
    #[error(transparent)]
    NotVerifiable(#[from] InputError),
}

impl From<SourceError> for ItemError {
    fn from(e: SourceError) -> Self {
        ItemError::Source(Box::new(e))
    }
}

impl Hint for ItemError {
    fn hint(&self) -> Option<String> {
        match self {
            ItemError::Label(e) => e.hint().map(str::to_string),
            ItemError::NoReference => {
                Some("pass --image REF: the reference XNAT should run the commands with".into())
            }
            ItemError::NoDigest => Some(
                "read the image from a registry or an archive that records its manifest, or drop --pin-digest".into(),
            ),
            ItemError::Source(e) => e.hint(),
            ItemError::OtherThanSigned { .. } => Some(
                "drop --image: a verified image is installed under its own repository and the digest that was verified".into(),
            ),
            ItemError::NotVerifiable(e) => e.hint(),
            ItemError::ReadFile { .. } | ItemError::NotCommands { .. } => None,
        }
    }
}

/// The image a command is installed under: `--image` when given, else the reference recorded
/// with the source; tagged the way XNAT tags on create; with `pin`, `repo@sha256:…` of the
/// manifest that was read. `None` when there is no reference.
pub fn install_image(
    recorded: Option<&str>,
    override_ref: Option<&str>,
    pin: Option<&Digest>,
) -> Option<InstallRef> {
    let base = override_ref.or(recorded).filter(|s| !s.trim().is_empty())?;
    match pin {
        Some(digest) => Some(InstallRef::pinned(base, digest)),
        None => InstallRef::tagged(base),
    }
}

/// Check one command as XNAT's create would, with `image` injected when known (else its own).
/// `from_image`: the command comes from an image's label, where XNAT's label import replaces
/// the command's image — so an author's image of another repository is worth a note.
pub fn prepare(original: &Value, image: Option<&str>, from_image: bool) -> Prepared {
    prepare_owned(original.clone(), image, from_image)
}

/// [`prepare`] of a command the caller no longer needs: it becomes [`Prepared::command`]
/// without a copy.
fn prepare_owned(original: Value, image: Option<&str>, from_image: bool) -> Prepared {
    let own = CommandView::new(&original).image();
    let mut command = original;
    let mut replaced_image = None;
    if let (Some(i), Some(obj)) = (
        image.filter(|i| !i.trim().is_empty()),
        command.as_object_mut(),
    ) {
        // As `with_image`, in place.
        replaced_image = Some(obj.insert("image".into(), Value::String(i.to_string())));
    }
    let name = CommandView::new(&command).name();
    let mut notes = Vec::new();
    if let (Some(own), Some(installed), true) = (&own, image, from_image) {
        if !same_repository(own, installed) {
            notes.push(format!(
                "command `{}` names image {own} but is installed under {installed}, the image it was read from",
                name.as_deref().unwrap_or("(unnamed)")
            ));
        }
    }
    // In a label, a command without an image is normal (the import supplies one), so with no
    // image to inject it is reported as "needs --image", not as XNAT's "image is required".
    let missing_image = from_image && image.is_none() && own.is_none();
    let diagnostics = if missing_image {
        Vec::new()
    } else {
        validate(&command, Form::Create)
    };
    Prepared {
        image: CommandView::new(&command)
            .image()
            .map(|i| xnat_default_tag(&i)),
        command,
        replaced_image,
        name,
        diagnostics,
        notes,
        missing_image,
    }
}

/// [`prepare`] every command of one label or file, then refuse the ones that repeat an earlier
/// one's name for the same repository ([`duplicate_names`]): installing such a list would
/// write the first and stop at the second.
fn prepare_all(commands: Vec<Value>, image: Option<&str>, from_image: bool) -> Vec<Prepared> {
    let mut out: Vec<Prepared> = commands
        .into_iter()
        .map(|c| prepare_owned(c, image, from_image))
        .collect();
    for (i, finding) in duplicate_names(out.iter().map(|p| &p.command)) {
        out[i].diagnostics.insert(0, finding);
    }
    out
}

/// Stand-in image for label commands without one: XNAT's label import sets the image the label
/// is read from, so a missing `image` is not an authoring error.
pub const LABEL_IMAGE: &str = "label-image:latest";

/// Check a command an author puts in a label: as XNAT's label import will, with an image
/// injected when it names none.
pub fn prepare_for_label(command: &Value) -> Prepared {
    let own = CommandView::new(command).image().is_some();
    prepare(command, (!own).then_some(LABEL_IMAGE), false)
}

/// Warnings that repeat per occurrence (an ignored key in every input) said once each, with
/// how many places they occur in, in first-seen order.
pub fn merge_repeated<'a>(diags: impl IntoIterator<Item = &'a Diagnostic>) -> Vec<(String, usize)> {
    // Indexed by message: a command with thousands of distinct warnings stays linear.
    let mut merged: Vec<(String, usize)> = Vec::new();
    let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for d in diags {
        match index.get(d.message.as_str()) {
            Some(&i) => merged[i].1 += 1,
            None => {
                index.insert(&d.message, merged.len());
                merged.push((d.message.clone(), 1));
            }
        }
    }
    merged
}

/// Read every input concurrently (results in input order) and prepare its commands, through
/// one [`Reader`] made from `source`.
pub async fn run(
    texts: &[String],
    inputs: &[Input],
    source: &SourceOptions,
    opts: &Options,
) -> Vec<Item> {
    let each = vec![opts.clone(); inputs.len()];
    run_each(texts, inputs, source, &each).await
}

/// [`run`] with options of each input's own (a fleet file's per-image platform, keys and
/// pin-digest); the clients, tokens and connections are the run's, made from `source`.
pub async fn run_each(
    texts: &[String],
    inputs: &[Input],
    source: &SourceOptions,
    opts: &[Options],
) -> Vec<Item> {
    run_each_with(texts, inputs, source, opts, &|_| ()).await
}

/// [`run_each`], telling `done` about each input as soon as it is read (for progress).
pub async fn run_each_with(
    texts: &[String],
    inputs: &[Input],
    source: &SourceOptions,
    opts: &[Options],
    done: &(dyn Fn(&Item) + Sync),
) -> Vec<Item> {
    let reader = Reader::new(source.clone());
    let specs: Vec<SourceSpec> = inputs
        .iter()
        .filter_map(|i| match i {
            Input::Source(s) => Some(s.clone()),
            Input::CommandFile(_) => None,
        })
        .collect();
    // Registry references share token requests when announced before the first read.
    reader.prepare(&specs);
    let work = texts
        .iter()
        .zip(inputs)
        .zip(opts)
        .map(|((text, input), opts)| async {
            let item = run_one(&reader, text, input, opts).await;
            done(&item);
            item
        });
    futures::future::join_all(work).await
}

async fn run_one(reader: &Reader, text: &str, input: &Input, opts: &Options) -> Item {
    let mut item = Item {
        input: text.to_string(),
        warnings: Vec::new(),
        outcome: Ok(Vec::new()),
    };
    let verifiable = if opts.read.verify_keys.is_empty() {
        Ok(())
    } else {
        check_verifiable(&[text.to_string()], std::slice::from_ref(input))
    };
    item.outcome = match input {
        // Callers check before any I/O (a usage error); this keeps the library safe alone.
        _ if verifiable.is_err() => verifiable.map(|_| Vec::new()).map_err(ItemError::from),
        Input::CommandFile(path) => command_file(path, opts, &mut item.warnings).map(|i| vec![i]),
        Input::Source(spec) => match reader.read(spec, &opts.read).await {
            Ok(result) => {
                item.warnings.extend(result.warnings);
                images(text, &result.images, opts, &mut item.warnings)
            }
            Err(e) => Err(e.into()),
        },
    };
    item
}

/// The commands of a command JSON file (an object or a list of them), read as XNAT reads a
/// `POST /xapi/commands` body, and what was lenient about it.
pub fn read_command_file(path: &Path) -> Result<ParsedLabel, ItemError> {
    let shown = path.display().to_string();
    let text = crate::limits::read_text(path, crate::limits::MAX_COMMAND_FILE_BYTES).map_err(
        |source| ItemError::ReadFile {
            path: shown.clone(),
            source,
        },
    )?;
    parse_command_file(&text).map_err(|source| ItemError::NotCommands {
        path: shown,
        source,
    })
}

fn command_file(
    path: &Path,
    opts: &Options,
    warnings: &mut Vec<String>,
) -> Result<Image, ItemError> {
    let shown = path.display().to_string();
    let file = read_command_file(path)?;
    warnings.extend(file.warnings);
    let commands = file.commands;
    // As `POST /xapi/commands[?image=]`: `--image` replaces, else the command's own.
    let image = opts.image.as_deref().and_then(InstallRef::tagged);
    Ok(Image {
        name: shown,
        record: None,
        commands: prepare_all(commands, image.as_ref().map(InstallRef::as_str), false),
        install_image: image,
    })
}

fn images(
    text: &str,
    records: &[ImageRecord],
    opts: &Options,
    warnings: &mut Vec<String>,
) -> Result<Vec<Image>, ItemError> {
    let several = records.len() > 1;
    let mut out = Vec::with_capacity(records.len());
    for record in records {
        let mut parsed = commands_from_labels(&record.labels)?;
        warnings.extend(parsed.warnings);
        // A verified image is always installed under the digest that was verified: its tag
        // could move to an unsigned image before XNAT pulls it.
        let pin = match (
            &record.verified_digest,
            opts.pin_digest,
            &record.manifest_digest,
        ) {
            (Some(v), _, _) => Some(v),
            (None, false, _) => None,
            (None, true, Some(d)) => Some(d),
            (None, true, None) => return Err(ItemError::NoDigest),
        };
        if let (Some(_), Some(over), Some(signed)) =
            (&record.verified_digest, &opts.image, &record.image)
        {
            if !same_repository(over, signed) {
                return Err(ItemError::OtherThanSigned {
                    image: over.clone(),
                    signed: signed.clone(),
                });
            }
        }
        let image = install_image(record.image.as_deref(), opts.image.as_deref(), pin);
        if image.is_none() && opts.need_reference {
            return Err(ItemError::NoReference);
        }
        let name = match (&record.platform, several) {
            (Some(p), true) => format!("{text} ({p})"),
            _ => text.to_string(),
        };
        out.push(Image {
            name,
            commands: prepare_all(
                std::mem::take(&mut parsed.commands),
                image.as_ref().map(InstallRef::as_str),
                true,
            ),
            record: Some(record.clone()),
            install_image: image,
        });
    }
    Ok(out)
}

/// The commands to install from a run's items: the first image of each readable input.
/// `None` when anything failed or is invalid — then nothing may be written.
pub fn desired(items: &[Item]) -> Option<Vec<Desired>> {
    let mut out = Vec::new();
    for item in items {
        let images = item.outcome.as_ref().ok()?;
        let Some(image) = images.first() else {
            continue;
        };
        let install = image.install_image.as_ref()?;
        for p in &image.commands {
            if !p.valid() {
                return None;
            }
            out.push(Desired {
                source: item.input.clone(),
                image: install.clone(),
                command: p.command.clone(),
            });
        }
    }
    Some(out)
}

#[cfg(test)]
#[path = "pipeline_tests.rs"]
mod tests;
