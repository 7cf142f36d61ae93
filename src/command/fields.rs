//! The command model as tables: every key XNAT's reader binds at each level of a command
//! (Container Service 3.7.3 `Command.java`), with the JSON kind it coerces to, the default it
//! fills in, the values XNAT allows, whether validation needs it, and a one-line description.
//!
//! One source for three readers, so they cannot drift: [`super::normalize`] reads and fills a
//! command from `kind` and `fill`; [`super::validate`] takes its closed value sets (command
//! types, visibilities, delimiters, wrapper-input and handler types) and the setup/wrapup
//! restrictions from here; [`crate::schema`] prints all of it as a JSON Schema.

/// The JSON kind XNAT's reader coerces a key to.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    Str,
    Bool,
    Long,
    Double,
    /// Any JSON (stored as jsonb).
    Any,
    StrList,
    /// A list read into a set: duplicates collapse, first occurrence wins.
    StrSet,
    StrMap,
    /// A list of objects of this level.
    Objects(Level),
    Secrets,
}

/// What the reader fills in when the key is absent or null.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Fill {
    None,
    EmptyList,
    EmptyMap,
    Str(&'static str),
    Bool(bool),
}

/// What validation asks of a key's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Need {
    /// May be absent, null or blank.
    Optional,
    /// Absent, null or blank is an error (a 400, or a 500 before validation).
    Required,
}

/// The values a key may hold.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Values {
    Any,
    /// Exactly one of these (case-sensitive); anything else is an error.
    OneOf(&'static [&'static str]),
    /// Usually one of these; anything else is accepted (and stored differently).
    Suggest(&'static [&'static str]),
    /// Only `A-Za-z0-9_-` ([`NAME_PATTERN`]).
    Name,
}

/// An old spelling of a key (see [`ALIASES`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Alias {
    pub old: &'static str,
    pub new: &'static str,
    pub deprecated: bool,
    pub doc: &'static str,
}

#[derive(Debug)]
pub(crate) struct Field {
    pub key: &'static str,
    pub kind: Kind,
    pub fill: Fill,
    pub need: Need,
    pub values: Values,
    pub doc: &'static str,
}

const fn f(key: &'static str, kind: Kind, fill: Fill, doc: &'static str) -> Field {
    Field {
        key,
        kind,
        fill,
        need: Need::Optional,
        values: Values::Any,
        doc,
    }
}

impl Field {
    const fn required(mut self) -> Field {
        self.need = Need::Required;
        self
    }

    const fn values(mut self, values: Values) -> Field {
        self.values = values;
        self
    }
}

use Fill as D;
use Kind as K;

/// `COMMAND_NAME` in `Command.java`: what input, output, wrapper-input and handler names may
/// hold (the validator's `bad_chars` is its negation).
pub(crate) const NAME_PATTERN: &str = "^[A-Za-z0-9_-]*$";

/// The key an editor reads a schema from. XNAT ignores it (as every unknown key); the
/// validator does not warn about it.
pub(crate) const SCHEMA_KEY: &str = "$schema";

pub(crate) const COMMAND_TYPES: &[&str] = &["docker", "docker-setup", "docker-wrapup"];
pub(crate) const SETUP_TYPES: &[&str] = &["docker-setup", "docker-wrapup"];
pub(crate) const VISIBILITIES: &[&str] = &["public", "private", "protected"];
pub(crate) const MULTIPLE_DELIMITERS: &[&str] = &["quoted-space", "space", "comma", "flag"];
pub(crate) const SELECT_TYPES: &[&str] = &["select-one", "select-many"];
/// Command-input types the entity knows; anything else is stored as `string`.
pub(crate) const COMMAND_INPUT_TYPES: &[&str] = &[
    "string",
    "boolean",
    "number",
    "select-one",
    "select-many",
    "file",
];
pub(crate) const WRAPPER_INPUT_TYPES: &[&str] = &[
    "string",
    "boolean",
    "number",
    "Directory",
    "File[]",
    "File",
    "Project",
    "ProjectAsset",
    "Subject",
    "SubjectAssessor",
    "Session",
    "Scan",
    "Assessor",
    "Resource",
    "Config",
    "file",
];
pub(crate) const HANDLER_TYPES: &[&str] = &["Resource", "Assessor", "Scan"];
/// Common wrapper contexts (not validated: any XSI type works).
const CONTEXTS: &[&str] = &[
    "site",
    "xnat:projectData",
    "xnat:subjectData",
    "xnat:imageSessionData",
    "xnat:mrSessionData",
    "xnat:imageScanData",
    "xnat:imageAssessorData",
    "xnat:resourceCatalog",
];
const OBJECT_PROPERTIES: &[&str] = &["id", "label", "name", "uri", "project-id"];

/// What `docker-setup` and `docker-wrapup` commands may not declare (non-empty is an error),
/// with the word XNAT's message uses.
pub(crate) const NOT_IN_SETUP: &[(&str, &str)] = &[
    ("mounts", "mounts"),
    ("inputs", "inputs"),
    ("outputs", "outputs"),
    ("xnat", "wrappers"),
    ("environment-variables", "environment variables"),
    ("ports", "ports"),
    ("secrets", "secrets"),
];

/// The two sides of a secret: (key, the only `type` Jackson knows for it, description).
pub(crate) const SECRET_SIDES: &[(&str, &str, &str)] = &[
    (
        "source",
        "system-property",
        "Where XNAT reads the secret: a Java system property named by identifier.",
    ),
    (
        "destination",
        "environment-variable",
        "Where the container gets it: the environment variable named by identifier.",
    ),
];

/// Environment variables XNAT sets itself; a secret may not be written to them.
pub(crate) const RESERVED_ENV: &[&str] = &["XNAT_USER", "XNAT_PASS", "XNAT_HOST"];

/// Fields XNAT keeps only for `docker` commands (`DockerCommandEntity`).
pub(crate) const DOCKER_ONLY: &[&str] = &[
    "index",
    "hash",
    "auto-remove",
    "shm-size",
    "network",
    "container-labels",
];

/// Old spellings a level's reader also binds: (level, old key, the key it stands for, whether
/// it is deprecated, description).
pub(crate) const ALIASES: &[(Level, &str, &str, bool, &str)] = &[
    (
        Level::Command,
        "ipcMode",
        "ipc-mode",
        false,
        "The key the creation form binds for ipc-mode (ipc-mode itself is honoured only on update).",
    ),
    (
        Level::Handler,
        "as-a-child-of-wrapper-input",
        "as-a-child-of",
        true,
        "Pre-1.0 spelling of as-a-child-of: read on create and label import only, not on update.",
    ),
];

#[rustfmt::skip] // A table: one field per line.
const MOUNT: &[Field] = &[
    f("name", K::Str, D::Str(""), "Mount name, unique in the command; outputs and wrapper inputs refer to it.").required(),
    f("writable", K::Bool, D::Bool(false), "Mounted read-write (output mounts) rather than read-only."),
    f("path", K::Str, D::None, "Absolute path of the mount inside the container.").required(),
];

#[rustfmt::skip] // A table: one field per line.
const INPUT: &[Field] = &[
    f("name", K::Str, D::None, "Input name, unique in the command; default replacement key is #name#.").required().values(Values::Name),
    f("label", K::Str, D::None, "Label shown in the launch form."),
    f("description", K::Str, D::None, "Help text shown in the launch form."),
    f("type", K::Str, D::Str("string"), "Value type; unknown types are stored as string (File as file).").values(Values::Suggest(COMMAND_INPUT_TYPES)),
    f("required", K::Bool, D::Bool(false), "A launch needs a value for this input."),
    f("matcher", K::Str, D::None, "JSONPath filter expression the value must match."),
    f("default-value", K::Str, D::None, "Default value; for select-many may be a JSON list in a string."),
    f("replacement-key", K::Str, D::None, "Token replaced by the value in command-line and environment (default #name#)."),
    f("command-line-flag", K::Str, D::None, "Flag written before the value on the command line, e.g. --in."),
    f("command-line-separator", K::Str, D::None, "Text between the flag and the value (default a space)."),
    f("true-value", K::Str, D::None, "Text written for a true boolean value."),
    f("false-value", K::Str, D::None, "Text written for a false boolean value."),
    f("sensitive", K::Bool, D::None, "The value is masked in logs and the UI."),
    f("select-values", K::StrList, D::EmptyList, "The choices of a select-one or select-many input (only for those types)."),
    f("multiple-delimiter", K::Str, D::None, "How several values are joined on the command line.").values(Values::OneOf(MULTIPLE_DELIMITERS)),
];

#[rustfmt::skip] // A table: one field per line.
const OUTPUT: &[Field] = &[
    f("name", K::Str, D::None, "Output name, unique in the command; output handlers accept it by name.").required().values(Values::Name),
    f("description", K::Str, D::None, "What the output holds."),
    f("required", K::Bool, D::Bool(false), "The launch fails when the output is missing."),
    f("mount", K::Str, D::None, "Name of the (writable) mount the output is read from.").required(),
    f("path", K::Str, D::None, "Path of the output relative to the mount."),
    f("glob", K::Str, D::None, "Glob selecting files under path."),
];

/// What external and derived wrapper inputs share (`CommandWrapperInput`).
#[rustfmt::skip] // A table: one field per line.
const WRAPPER_INPUT: &[Field] = &[
    f("name", K::Str, D::None, "Wrapper input name, unique in the wrapper (external and derived).").required().values(Values::Name),
    f("label", K::Str, D::None, "Label shown in the launch form."),
    f("description", K::Str, D::None, "Help text shown in the launch form."),
    f("type", K::Str, D::Str("string"), "XNAT object or value type of the input.").values(Values::OneOf(WRAPPER_INPUT_TYPES)),
    f("matcher", K::Str, D::None, "JSONPath filter the XNAT object must match, e.g. @.scan-type == 'T1'."),
    f("provides-value-for-command-input", K::Str, D::None, "Name of the command input this input's value is given to."),
    f("provides-files-for-command-mount", K::Str, D::None, "Name of the mount this input's files are staged into."),
    f("via-setup-command", K::Str, D::None, "image:tag:command of a docker-setup command preparing the files (needs provides-files-for-command-mount)."),
    f("default-value", K::Str, D::None, "Default value."),
    f("user-settable", K::Bool, D::None, "The user may change the value at launch."),
    f("replacement-key", K::Str, D::None, "Token replaced by the value in the command line."),
    f("required", K::Bool, D::Bool(true), "A launch needs a value for this input."),
    f("load-children", K::Bool, D::Bool(true), "Load the object's children (scans, resources, files) when resolving."),
    f("sensitive", K::Bool, D::None, "The value is masked in logs and the UI."),
];

/// What a derived input has besides (`CommandWrapperDerivedInput`).
#[rustfmt::skip] // A table: one field per line.
const DERIVED_ONLY: &[Field] = &[
    f("derived-from-wrapper-input", K::Str, D::None, "Name of the wrapper input (declared earlier) this one is derived from.").required(),
    f("derived-from-xnat-object-property", K::Str, D::None, "Property of the parent object used as the value (uri is needed for uploads).").values(Values::Suggest(OBJECT_PROPERTIES)),
    f("multiple", K::Bool, D::Bool(false), "Resolves to all matching children at once (must provide a command input value, no mount)."),
    f("parser", K::Str, D::None, "Parser applied to the parent's file to get the value."),
];

#[rustfmt::skip] // A table: one field per line.
const HANDLER: &[Field] = &[
    f("name", K::Str, D::None, "Handler name, unique in the wrapper; later handlers may upload into it.").required().values(Values::Name),
    f("accepts-command-output", K::Str, D::None, "Name of the command output this handler uploads.").required(),
    f("via-wrapup-command", K::Str, D::None, "image:tag:command of a docker-wrapup command run on the output first."),
    f("as-a-child-of", K::Str, D::None, "Wrapper input or earlier handler the output is uploaded into.").required(),
    f("type", K::Str, D::Str("Resource"), "What the output becomes in XNAT (case-sensitive).").values(Values::OneOf(HANDLER_TYPES)),
    f("xsi-type", K::Str, D::None, "XSI type of the assessor, for type Assessor."),
    f("label", K::Str, D::None, "Resource label (required for type Resource)."),
    f("format", K::Str, D::None, "Format of the uploaded files."),
    f("description", K::Str, D::None, "Description of the uploaded resource."),
    f("content", K::Str, D::None, "Content label of the uploaded files."),
    f("tags", K::StrList, D::EmptyList, "Tags of the uploaded files."),
];

#[rustfmt::skip] // A table: one field per line.
const WRAPPER: &[Field] = &[
    f("id", K::Long, D::None, "Server-assigned wrapper id (full form only; ignored on create)."),
    f("name", K::Str, D::None, "Wrapper name, unique in the command; appears in launch URLs.").required(),
    f("label", K::Str, D::None, "Name shown in XNAT's Run menu."),
    f("description", K::Str, D::None, "What the wrapper runs on."),
    f("contexts", K::StrSet, D::EmptyList, "XSI types the wrapper is offered on (site, xnat:mrSessionData, …; not validated).").values(Values::Suggest(CONTEXTS)),
    f("external-inputs", K::Objects(Level::External), D::EmptyList, "Inputs given at launch (usually the context object)."),
    f("derived-inputs", K::Objects(Level::Derived), D::EmptyList, "Inputs derived from other wrapper inputs, in order."),
    f("output-handlers", K::Objects(Level::Handler), D::EmptyList, "How each command output is uploaded into XNAT."),
];

#[rustfmt::skip] // A table: one field per line.
const COMMAND: &[Field] = &[
    f("id", K::Long, D::None, "Server-assigned command id (full form only; ignored on create)."),
    f("name", K::Str, D::None, "Command name; with image and version it identifies the command.").required(),
    f("label", K::Str, D::None, "Name shown in the UI."),
    f("description", K::Str, D::None, "What the command does."),
    f("version", K::Str, D::None, "Command version, part of its identity."),
    f("schema-version", K::Str, D::None, "Informational (1.0 in the wild)."),
    f("info-url", K::Str, D::None, "Web page about the command."),
    f("image", K::Str, D::None, "Image with a tag (repo:tag or repo@sha256:…); a label may omit it: XNAT uses the image the label is read from."),
    f("container-name", K::Str, D::None, "Name given to the container."),
    f("type", K::Str, D::Str("docker"), "Kind of command (exact, lower case).").values(Values::OneOf(COMMAND_TYPES)),
    f("index", K::Str, D::None, "Registry index URL (docker commands only)."),
    f("hash", K::Str, D::None, "Image id (sha256), set by the label importer (docker commands only)."),
    f("working-directory", K::Str, D::None, "Working directory inside the container."),
    f("command-line", K::Str, D::None, "Command run in the container; #KEY# tokens are replaced by input values."),
    f("command-metadata", K::Any, D::None, "Free-form metadata, stored as JSON."),
    f("override-entrypoint", K::Bool, D::None, "Replace the image's entrypoint by the command line (null: the server decides)."),
    f("mounts", K::Objects(Level::Mount), D::EmptyList, "Directories mounted into the container."),
    f("environment-variables", K::StrMap, D::EmptyMap, "Environment of the container; values may use #KEY# tokens."),
    f("ports", K::StrMap, D::EmptyMap, "Container port to host port."),
    f("inputs", K::Objects(Level::Input), D::EmptyList, "Values the command line takes."),
    f("outputs", K::Objects(Level::Output), D::EmptyList, "Files the container leaves in its writable mounts."),
    f("xnat", K::Objects(Level::Wrapper), D::EmptyList, "Wrappers: how the command runs on XNAT objects."),
    f("reserve-memory", K::Long, D::None, "Memory reserved for the container, in MB."),
    f("limit-memory", K::Long, D::None, "Memory limit of the container, in MB."),
    f("limit-cpu", K::Double, D::None, "CPU limit of the container, in CPUs."),
    f("runtime", K::Str, D::None, "Container runtime, e.g. nvidia."),
    f("ipc-mode", K::Str, D::None, "IPC mode of the container (honoured on update; the creation form reads ipcMode)."),
    f("auto-remove", K::Bool, D::None, "Remove the container when it exits (docker commands only)."),
    f("shm-size", K::Long, D::None, "Size of /dev/shm in bytes (docker commands only)."),
    f("network", K::Str, D::None, "Docker network of the container (docker commands only)."),
    f("container-labels", K::StrMap, D::EmptyMap, "Labels set on the container (docker commands only)."),
    f("gpus", K::Str, D::None, "GPUs given to the container, e.g. all."),
    f("generic-resources", K::StrMap, D::EmptyMap, "Swarm generic resources, name to value."),
    f("ulimits", K::StrMap, D::EmptyMap, "Resource limits, name to \"limit\" or \"soft:hard\"."),
    f("secrets", K::Secrets, D::EmptyList, "Secrets passed to the container (3.7+)."),
    f("visibility", K::Str, D::Str("public"), "Who sees the command (3.7+).").values(Values::OneOf(VISIBILITIES)),
];

/// The levels of a command: each kind of object with its own fields (and, for warnings,
/// its own ignored keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    Command,
    Mount,
    Input,
    Output,
    Wrapper,
    External,
    Derived,
    Handler,
}

impl Level {
    pub(crate) const ALL: [Level; 8] = [
        Level::Command,
        Level::Mount,
        Level::Input,
        Level::Output,
        Level::Wrapper,
        Level::External,
        Level::Derived,
        Level::Handler,
    ];

    /// The fields XNAT's reader binds at this level, in the order it writes them back.
    pub(crate) fn fields(self) -> impl Iterator<Item = &'static Field> {
        let tables: &[&[Field]] = match self {
            Level::Command => &[COMMAND],
            Level::Mount => &[MOUNT],
            Level::Input => &[INPUT],
            Level::Output => &[OUTPUT],
            Level::Wrapper => &[WRAPPER],
            Level::External => &[WRAPPER_INPUT],
            Level::Derived => &[WRAPPER_INPUT, DERIVED_ONLY],
            Level::Handler => &[HANDLER],
        };
        tables.iter().flat_map(|t| t.iter())
    }

    /// The old spellings this level also reads.
    pub(crate) fn aliases(self) -> impl Iterator<Item = Alias> {
        ALIASES
            .iter()
            .filter(move |(level, ..)| *level == self)
            .map(|&(_, old, new, deprecated, doc)| Alias {
                old,
                new,
                deprecated,
                doc,
            })
    }

    /// The name of this level's object in messages and schemas.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Level::Command => "command",
            Level::Mount => "mount",
            Level::Input => "input",
            Level::Output => "output",
            Level::Wrapper => "wrapper",
            Level::External => "external-input",
            Level::Derived => "derived-input",
            Level::Handler => "output-handler",
        }
    }
}

/// Does XNAT's reader understand `key` at this level (in either form)?
pub(crate) fn is_known_key(level: Level, key: &str) -> bool {
    level.fields().any(|f| f.key == key) || level.aliases().any(|a| a.old == key)
}
