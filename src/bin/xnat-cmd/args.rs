//! Command-line arguments (clap derive); `settings.rs` resolves them, with the environment, into
//! library settings.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use xnat_cmd::cosign::PublicKey;
use xnat_cmd::limits::{
    DEFAULT_MAX_JSON_BYTES, DEFAULT_REGISTRY_CONCURRENCY, DEFAULT_REGISTRY_IMAGE_DEADLINE,
    DEFAULT_XNAT_CONCURRENCY,
};
use xnat_cmd::secret::Secret;

use crate::exit::{after_help, table, Help};
use crate::output::CliError;

const SYNC_HELP: &str = "A minimal fleet file (YAML or JSON):

  images:
    - image: ghcr.io/lab/tool:1.2        # any SOURCE form install accepts
      enable: {site: true, projects: [P1]}   # projects: all = every project, at each run
  prune: [ghcr.io/lab/*]                 # repositories this file owns (for --prune)

Keys per image: image, platform, commands, pin-digest, sites, enable {site, projects, wrappers
{NAME: {site, projects}}: a wrapper's own enablement}, verify {key}; or command-file (a command
JSON file, relative to the file) with image (the reference to install it under), commands, sites
and enable.
Top level: images, prune, sites ({NAME: {url, user-env, password-env}}; without it one site from
--xnat / XNAT_HOST), verify ({key: FILE} or {key: [FILE, ...]}: cosign public keys, relative to the
file; an image's own verify replaces it; a verified image is installed under repo@sha256).
A site's credentials: its user-env/password-env variables (both must be set when named), else
~/.netrc for its host, else XNAT_USER/XNAT_PASS. Every image is read and every command validated
before anything is written; one invalid command and nothing is written anywhere. An unreadable
image or a failing site does not stop the others.

Check a fleet file offline (CI): `xnat-cmd validate FILE` reports every mistake of the file, then
reads every image and checks every selected command, with no XNAT. Each site's summary counts
commands created, updated, enabled (only their enablement written), unchanged, removed and failed
(including images that could not be read), with its writes and reads; --dry-run writes nothing.";

const STATUS_HELP: &str = "Drift kinds, per command and site: missing (declared, not installed); \
outdated (installed under another tag or digest than declared); modified (installed under the \
declared image with another definition: edited in XNAT, or a tag that moved to a different \
label); enablement (a wrapper not enabled site-wide or in a declared project, including projects \
created since under `projects: all`); orphan (inside a `prune:` glob, declared nowhere for the \
site); conflict (several installed commands could be the declared one). Nothing is written. \
--prometheus FILE writes the text exposition format atomically (for node-exporter's textfile \
collector).";

const EXPORT_HELP: &str = "Each installed image becomes an `image:` entry (with `commands:` when \
the site holds only some of its label's commands, `pin-digest` when installed under a digest); a \
command whose definition differs from its image's label (edited in XNAT), that its label lacks, \
or whose image cannot be read becomes a command file beside the output (commands/NAME.json) and \
a `command-file:` entry, so nothing is lost (an image that cannot be read is a warning). \
Enablement is written as XNAT reports it, per image and, where wrappers differ, under \
`enable.wrappers`; `projects: all` when every project has it (--no-all lists them). `prune:` \
lists the repositories seen. `status FILE` against the same site then reports no drift, and \
`sync FILE` makes another site hold the same.";

/// Shown under the options of every subcommand that talks to XNAT.
const XNAT_ACCESS: &str = "XNAT access: the URL from --xnat or XNAT_HOST (with any context path, \
e.g. https://host/xnat), else the file XNAT_HOST_FILE names. Credentials, first found wins: --user with --password-stdin or \
--password-file; XNAT_USER and XNAT_PASS (or files named by XNAT_USER_FILE and XNAT_PASS_FILE, \
e.g. a mounted Kubernetes Secret); ~/.netrc (or $NETRC: `machine host:port`, then `machine host`, then \
`default`). An alias token works as user (alias) and password (secret). Never put a password \
in argv.";

/// Read XNAT Container Service commands from image labels, validate them, install them in XNAT.
#[derive(Debug, Parser)]
#[command(name = "xnat-cmd", version = env!("XNAT_CMD_VERSION"), about, after_help = table(Help::Top))]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// More logging on stderr (-v info, -vv debug); XNAT_CMD_LOG takes an EnvFilter.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the commands in each image's `org.nrg.commands` label.
    #[command(after_help = table(Help::Read))]
    Inspect(InspectArgs),
    /// Check commands offline with XNAT Container Service's rules and messages.
    #[command(after_help = table(Help::Validate))]
    Validate(ValidateArgs),
    /// For image authors: the label value (or a Dockerfile LABEL line) for command files.
    #[command(after_help = table(Help::Local))]
    Label(LabelArgs),
    /// Install (create, update in place) and enable every command of each image in XNAT.
    #[command(after_help = after_help(XNAT_ACCESS, Help::Xnat))]
    Install(InstallArgs),
    /// List the commands installed in XNAT, with wrappers and where they are enabled.
    #[command(after_help = after_help(XNAT_ACCESS, Help::Xnat))]
    List(ListArgs),
    /// Remove the commands of an image (or by id) from XNAT.
    #[command(after_help = after_help(XNAT_ACCESS, Help::Xnat))]
    Uninstall(UninstallArgs),
    /// Make one or several XNAT sites hold what a fleet file declares (install, update, enable,
    /// and with --prune remove what the file owns but no longer declares).
    #[command(after_help = after_help(SYNC_HELP, Help::Sync))]
    Sync(SyncArgs),
    /// Report how XNAT differs from a fleet file (or from images): missing, outdated, modified,
    /// enablement, orphan, conflict. Exit 3 on drift, for monitoring.
    #[command(after_help = after_help(STATUS_HELP, Help::Status))]
    Status(StatusArgs),
    /// Write the fleet file that reproduces what an XNAT site holds (adopt a site, copy one to
    /// another, compare two). Reads only.
    #[command(after_help = after_help(EXPORT_HELP, Help::Xnat))]
    Export(ExportArgs),
    /// Print the JSON Schema (2020-12) of a command file or a fleet file, for editors and CI.
    #[command(after_help = table(Help::Local))]
    Schema(crate::schema::SchemaArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    #[command(after_help = after_help(crate::completions::INSTALL_HELP, Help::Local))]
    Completions(crate::completions::CompletionsArgs),
    /// Print the man page xnat-cmd(1), or write every page into a folder (for packagers).
    #[command(hide = true, after_help = table(Help::Local))]
    Manpage(crate::completions::ManpageArgs),
}

/// How to reach XNAT. Credentials: --user + --password-stdin, else XNAT_USER/XNAT_PASS, else
/// ~/.netrc (host or host:port). An alias token works as user (alias) and password (secret).
#[derive(Debug, Args, Clone)]
pub struct XnatArgs {
    /// XNAT base URL, with its context path if any (https://host/xnat); else XNAT_HOST, else
    /// the content of the file XNAT_HOST_FILE names (a mounted Secret or ConfigMap key).
    #[arg(long, env = "XNAT_HOST", value_name = "URL")]
    pub xnat: Option<String>,
    /// XNAT user name or alias token (else XNAT_USER, else ~/.netrc).
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,
    /// Read the password (or token secret) for --user from standard input (else XNAT_PASS,
    /// else ~/.netrc).
    #[arg(long, conflicts_with = "password_file")]
    pub password_stdin: bool,
    /// Read the password (or token secret) for --user from FILE, e.g. a mounted Kubernetes
    /// Secret (one trailing newline is dropped). Without flags, XNAT_PASS_FILE (and
    /// XNAT_USER_FILE) name such files.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Trust this PEM CA certificate (bundle) for XNAT, besides the system roots.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Do not verify XNAT's TLS certificate.
    #[arg(long)]
    pub insecure: bool,
}

#[derive(Debug, Args)]
pub struct InstallArgs {
    /// Image sources (see `inspect`).
    #[arg(required = true, value_name = "SOURCE")]
    pub sources: Vec<String>,
    #[command(flatten)]
    pub xnat: XnatArgs,
    /// Image reference to install the commands under (one SOURCE only); archives and daemons
    /// otherwise use the reference recorded with the image.
    #[arg(long, value_name = "REF")]
    pub image: Option<String>,
    /// Install under `repo@sha256:…` of the manifest that was read.
    #[arg(long)]
    pub pin_digest: bool,
    /// Keep the installed command of another tag and add the new one beside it.
    #[arg(long, conflicts_with = "replace")]
    pub side_by_side: bool,
    /// Delete and re-create changed commands instead of updating in place (resets wrapper ids,
    /// so site and project enablement is lost).
    #[arg(long)]
    pub replace: bool,
    /// Enable every wrapper site-wide.
    #[arg(long)]
    pub enable_site: bool,
    /// Enable every wrapper in project P (repeatable; the project must exist, ids are
    /// case-sensitive); effective only with site enablement.
    #[arg(long = "enable-project", value_name = "P")]
    pub enable_projects: Vec<String>,
    /// Enable every wrapper in every project the user can see.
    #[arg(long)]
    pub enable_all_projects: bool,
    /// Show the plan (with a JSON diff for updates) and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// JSON report on stdout.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub apply: ApplyArgs,
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub verify: VerifyArgs,
}

/// How the commands are written to XNAT (`install`, `sync`).
#[derive(Debug, Args, Clone)]
pub struct ApplyArgs {
    /// Commands written to one XNAT site at once, each one's own steps in order (1: one after
    /// another); reports keep their order.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_XNAT_CONCURRENCY)]
    pub xnat_concurrency: usize,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub xnat: XnatArgs,
    /// JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Write the fleet file to FILE (atomically), and command files under commands/ beside it;
    /// without it, the fleet file goes to stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Write the fleet file as JSON (a fleet file too), without comments.
    #[arg(long)]
    pub json: bool,
    /// List every project instead of `projects: all` (which also covers projects created
    /// later).
    #[arg(long)]
    pub no_all: bool,
    /// Export this site of the fleet file's `sites:` (its URL and credentials) instead of
    /// --xnat / XNAT_HOST.
    #[arg(long, value_name = "NAME", requires = "fleet")]
    pub site: Option<String>,
    /// The fleet file whose `sites:` --site names.
    #[arg(long, value_name = "FILE", requires = "site")]
    pub fleet: Option<PathBuf>,
    #[command(flatten)]
    pub xnat: XnatArgs,
    #[command(flatten)]
    pub source: SourceArgs,
}

#[derive(Debug, Args)]
pub struct UninstallArgs {
    /// Image sources whose commands to remove.
    #[arg(value_name = "SOURCE", required_unless_present = "ids")]
    pub sources: Vec<String>,
    /// Remove the command with this id (repeatable).
    #[arg(long = "id", value_name = "N")]
    pub ids: Vec<i64>,
    #[command(flatten)]
    pub xnat: XnatArgs,
    /// Image reference the commands were installed under (one SOURCE only).
    #[arg(long, value_name = "REF")]
    pub image: Option<String>,
    /// Show what would be removed and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// JSON report on stdout.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub source: SourceArgs,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The fleet file (YAML or JSON).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Sync only this site of the file's `sites:` (repeatable).
    #[arg(long = "site", value_name = "NAME")]
    pub sites: Vec<String>,
    /// Show the plan (with diffs, and the removals of --prune) and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Remove installed commands inside the file's `prune:` globs that it does not declare.
    #[arg(long)]
    pub prune: bool,
    /// JSON report on stdout.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub xnat: XnatArgs,
    #[command(flatten)]
    pub apply: ApplyArgs,
    #[command(flatten)]
    pub source: SourceArgs,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// A fleet file (`.yaml`, `.yml` or `.json`), or image sources checked as `install` would
    /// install them.
    #[arg(required = true, value_name = "FILE|SOURCE")]
    pub inputs: Vec<String>,
    /// Check only this site of the file's `sites:` (repeatable).
    #[arg(long = "site", value_name = "NAME")]
    pub sites: Vec<String>,
    /// JSON report on stdout.
    #[arg(long)]
    pub json: bool,
    /// Also write the result in Prometheus text format to FILE (atomically).
    #[arg(long, value_name = "FILE")]
    pub prometheus: Option<PathBuf>,
    /// Also push the same series to the Prometheus Pushgateway at URL (its base URL), replacing
    /// the group job="xnat-cmd" (a failed push exits 1).
    #[arg(long, value_name = "URL")]
    pub pushgateway: Option<String>,
    /// User for the Pushgateway's basic auth; the password from --pushgateway-password-file.
    #[arg(
        long,
        value_name = "USER",
        requires = "pushgateway",
        requires = "pushgateway_password_file"
    )]
    pub pushgateway_user: Option<String>,
    /// Read the Pushgateway password for --pushgateway-user from FILE (a mounted Secret; one
    /// trailing newline is dropped).
    #[arg(long, value_name = "FILE", requires = "pushgateway_user")]
    pub pushgateway_password_file: Option<PathBuf>,
    /// Trust this PEM CA certificate (bundle) for the Pushgateway, besides the system roots
    /// and SSL_CERT_FILE.
    #[arg(long, value_name = "FILE", requires = "pushgateway")]
    pub pushgateway_ca: Option<PathBuf>,
    #[command(flatten)]
    pub xnat: XnatArgs,
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub verify: VerifyArgs,
}

/// Options for reading images from any source.
#[derive(Debug, Args, Clone)]
pub struct SourceArgs {
    /// Platform to read from multi-platform images (default linux/amd64, what XNAT runs).
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub platform: Option<String>,
    /// Read every platform of a multi-platform image and report whether their labels differ.
    #[arg(long, conflicts_with = "platform")]
    pub all_platforms: bool,
    /// Largest manifest, index or config accepted, in bytes (16 MiB).
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_JSON_BYTES)]
    pub max_json_bytes: u64,
    /// docker-daemon: pull the image through the daemon when it is not local.
    #[arg(long)]
    pub pull: bool,
    /// Registry user; the password from --registry-password-stdin or --registry-password-file.
    #[arg(long, value_name = "USER")]
    pub registry_user: Option<String>,
    /// Read the registry password (or token) for --registry-user from stdin.
    #[arg(
        long,
        requires = "registry_user",
        conflicts_with = "registry_password_file"
    )]
    pub registry_password_stdin: bool,
    /// Read the registry password (or token) for --registry-user from FILE (a mounted Secret;
    /// one trailing newline is dropped).
    #[arg(long, value_name = "FILE", requires = "registry_user")]
    pub registry_password_file: Option<PathBuf>,
    /// Registry credentials file: a Kubernetes image pull secret (manifest or
    /// `.dockerconfigjson` content) or a docker config.json. A file that does not exist gives
    /// no credentials (an optional Secret's empty mount); one that cannot be read is an error.
    #[arg(long, value_name = "FILE")]
    pub registry_auth_file: Option<PathBuf>,
    /// Extra CA certificates (PEM) to trust for registries, besides the system's and SSL_CERT_FILE.
    #[arg(long, value_name = "FILE")]
    pub registry_ca: Vec<PathBuf>,
    /// Registry to reach over HTTPS without certificate checks, or plain HTTP.
    #[arg(long, value_name = "HOST[:PORT]")]
    pub insecure_registry: Vec<String>,
    /// Requests in flight at once to one registry (HTTP/2 streams or HTTP/1.1 connections).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_REGISTRY_CONCURRENCY)]
    pub registry_concurrency: usize,
    /// Seconds allowed for reading one image from a registry, retries included.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_REGISTRY_IMAGE_DEADLINE.as_secs())]
    pub registry_timeout: u64,
    /// Directory caching registry manifests and configs by digest, so a re-check of an
    /// unchanged tag is one HEAD request (default: $XNAT_CMD_CACHE, else
    /// $XDG_CACHE_HOME/xnat-cmd, else ~/.cache/xnat-cmd).
    #[arg(long, value_name = "DIR")]
    pub registry_cache: Option<PathBuf>,
    /// Read registries without the cache (no HEAD requests, nothing written).
    #[arg(long, conflicts_with = "registry_cache")]
    pub no_registry_cache: bool,
}

/// Cosign signature verification of registry images (`inspect`, `validate`, `install`,
/// `status`; `sync` reads `verify:` from its fleet file).
#[derive(Debug, Args, Clone)]
pub struct VerifyArgs {
    /// Accept a registry image only when it carries a cosign signature made with this public
    /// key (cosign.pub; repeatable: any one suffices); its commands are installed under
    /// repo@sha256:… of the verified manifest.
    #[arg(long = "verify-key", value_name = "FILE")]
    pub verify_keys: Vec<PathBuf>,
}

/// Read cosign public key files; one that cannot be used is a usage error naming it.
pub fn load_keys(paths: &[PathBuf]) -> Result<Vec<PublicKey>, CliError> {
    paths
        .iter()
        .map(|p| PublicKey::load(p).map_err(|e| CliError::usage_of(&e)))
        .collect()
}

/// A password or token from the file of `flag` (a usage error, naming the flag, when unusable).
pub fn secret_file(flag: &str, path: &std::path::Path) -> Result<Secret, CliError> {
    Secret::from_file(path).map_err(|e| {
        let p = xnat_cmd::problem::Problem::from_error(&e);
        CliError::Usage(xnat_cmd::problem::Problem {
            error: format!("{flag}: {}", p.error),
            ..p
        })
    })
}

/// A password or token from stdin for `flag`: the first line, its line ending removed (as
/// `docker login --password-stdin` reads it). Used for both the registry and XNAT secrets.
pub fn read_password_stdin(flag: &str) -> Result<Secret, CliError> {
    use std::io::{BufRead as _, Read as _};
    use xnat_cmd::limits::MAX_SECRET_FILE_BYTES;
    // Capped like a secret file: stdin may be a stream without a newline (`< /dev/zero`).
    let mut raw = Vec::new();
    std::io::stdin()
        .lock()
        .take(MAX_SECRET_FILE_BYTES + 1)
        .read_until(b'\n', &mut raw)
        .map_err(|e| CliError::usage(format!("{flag}: failed to read stdin: {e}")))?;
    if raw.len() as u64 > MAX_SECRET_FILE_BYTES {
        return Err(CliError::usage(format!(
            "{flag}: the first line of stdin is longer than {MAX_SECRET_FILE_BYTES} bytes: is it the password?"
        )));
    }
    let line = String::from_utf8(raw)
        .map_err(|_| CliError::usage(format!("{flag}: stdin is not UTF-8 text")))?;
    let password = line.trim_end_matches(['\n', '\r']).to_string();
    if password.is_empty() {
        return Err(CliError::usage(format!(
            "{flag}: stdin gave an empty password"
        )));
    }
    Ok(Secret::new(password))
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Image sources: REF, docker://REF, docker-daemon:REF, docker-archive:PATH[:REF],
    /// oci:DIR[:TAG], oci-archive:PATH[:TAG].
    #[arg(required = true, value_name = "SOURCE")]
    pub sources: Vec<String>,
    /// JSON on stdout: one object for one source, an array for several.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub verify: VerifyArgs,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Command JSON files (an object or a list), image sources, or fleet files (`.yaml`,
    /// `.yml`, or `.json` with `images:`): every mistake of the file, then every declared image
    /// read and its selected commands checked as `sync` installs them, with no XNAT.
    #[arg(required = true, value_name = "FILE|SOURCE")]
    pub inputs: Vec<String>,
    /// Image reference to check command files with, as `POST /xapi/commands?image=REF` would.
    #[arg(long, value_name = "REF")]
    pub image: Option<String>,
    /// JSON report on stdout.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub verify: VerifyArgs,
}

#[derive(Debug, Args)]
pub struct LabelArgs {
    /// Command JSON files (each an object or a list), in the order their commands should appear.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Print a Dockerfile line `LABEL org.nrg.commands="…"`, escaped for Docker.
    #[arg(long)]
    pub dockerfile: bool,
}
