//! The `xnat-emulator` command line: the clap arguments and their mapping onto [`Config`].
//! In the library (not only in `main.rs`) so that tests start the emulator in-process with
//! exactly the flags the binary takes (`--fail-nth-write 4`, `--mode 3.6`, ...).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Parser;

use crate::{
    Backend, Config, Faults, LabelledImage, Level, Project, Snapshot, Token, User, VersionMode,
};

/// What a run without --user/--project has (see `Config::default`).
pub const DEFAULTS: &str = "Without --user: users admin/admin (Administrator, ContainerManager), \
siteadmin/siteadmin (Administrator only), owner/owner (owns DEMO), member/member (Edit on DEMO). \
Without --project: one project, DEMO. Listens on loopback only.";

/// What is emulated, for `--help` (paths relative to the context path).

#[derive(Debug, Clone, Parser)]
#[command(
    name = "xnat-emulator",
    version,
    about = "A stateful emulator of XNAT Container Service 3.7.3 for tests and demos",
    after_help = DEFAULTS,
    after_long_help = format!("{}\n\n{DEFAULTS}", crate::endpoints::LONG_HELP)
)]
pub struct Args {
    /// Loopback address to listen on (port 0 = a free port)
    #[arg(long, default_value = "127.0.0.1:0")]
    pub bind: SocketAddr,
    /// Serve XNAT under this context path, e.g. /xnat
    #[arg(long, default_value = "")]
    context_path: String,
    /// A user NAME:PASS[:ROLE,ROLE] (repeatable; replaces the default users)
    #[arg(long = "user", value_parser = parse_user)]
    users: Vec<User>,
    /// An alias token ALIAS:SECRET:USER (repeatable)
    #[arg(long = "token", value_parser = parse_token)]
    tokens: Vec<Token>,
    /// A project ID[:OWNER] (repeatable; replaces the default project `DEMO`)
    #[arg(long = "project", value_parser = parse_project)]
    projects: Vec<Project>,
    /// Project access PROJECT:USER:owner|member|collaborator (repeatable)
    #[arg(long = "access", value_parser = parse_access)]
    access: Vec<(String, String, Level)>,
    /// Container Service line to imitate
    #[arg(long, default_value = "3.7", value_parser = ["3.7", "3.6"])]
    mode: String,
    /// Run anonymous requests as `guest` instead of answering 401
    #[arg(long)]
    no_require_login: bool,
    /// Maximum sessions per user
    #[arg(long, default_value_t = 1000)]
    session_cap: usize,
    /// Basic realm (XNAT site id)
    #[arg(long, default_value = "XNAT")]
    site_id: String,
    /// Old framework behaviour: commands without a version are never duplicates
    #[arg(long)]
    versionless_duplicates: bool,
    /// Status for a missing or non-JSON Content-Type on command writes
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u16).range(400..600))]
    unsupported_media_status: u16,
    /// Status for an unreadable JSON body
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u16).range(400..600))]
    unreadable_body_status: u16,
    /// Serve the /__emulator/ test hooks (log, counters, state, faults)
    #[arg(long)]
    test_hooks: bool,
    /// Fault: answer the Nth write (POST/PUT/DELETE under /xapi) with a 500
    #[arg(long)]
    fail_nth_write: Option<u64>,
    /// Fault: answer writes whose path contains TEXT with a 500
    #[arg(long, value_name = "TEXT")]
    fail_writes_matching: Option<String>,
    /// Fault: delay every response
    #[arg(long, default_value_t = 0)]
    delay_ms: u64,
    /// Fault: redirect every /xapi and /data request to the login page
    #[arg(long)]
    force_login_redirect: bool,
    /// Serve HTTPS with this PEM certificate chain (leaf first; needs --tls-key)
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Container backend: kubernetes (image endpoints answer 424) or docker (label import
    /// from the --image table)
    #[arg(long, default_value = "kubernetes", value_parser = ["kubernetes", "docker"])]
    backend: String,
    /// An image of the docker backend: REF=FILE, FILE holding its org.nrg.commands label
    /// (the JSON list) (repeatable)
    #[arg(long = "image", value_name = "REF=FILE", value_parser = parse_image, requires = "backend")]
    images: Vec<LabelledImage>,
    /// Start from this state document (users, tokens, projects, commands, enablement;
    /// the shape `GET /__emulator/state` returns) instead of the default users and project
    #[arg(long, value_name = "FILE", value_parser = parse_state,
          conflicts_with_all = ["users", "tokens", "projects", "access"])]
    state: Option<Snapshot>,
    /// Stop when stdin reaches end of file (lets a parent process own the lifetime)
    #[arg(long)]
    pub exit_on_stdin_eof: bool,
}

fn parse_user(s: &str) -> Result<User, String> {
    let mut parts = s.splitn(3, ':');
    let (Some(name), Some(pass)) = (parts.next(), parts.next()) else {
        return Err(format!("`{s}` is not NAME:PASS[:ROLE,ROLE]"));
    };
    if name.is_empty() {
        return Err(format!("`{s}` has an empty user name"));
    }
    let roles: Vec<&str> = parts
        .next()
        .map(|r| r.split(',').filter(|r| !r.is_empty()).collect())
        .unwrap_or_default();
    Ok(User::new(name, pass, &roles))
}

fn parse_state(s: &str) -> Result<Snapshot, String> {
    Snapshot::from_file(std::path::Path::new(s)).map_err(|e| e.to_string())
}

fn parse_token(s: &str) -> Result<Token, String> {
    match s.splitn(3, ':').collect::<Vec<_>>()[..] {
        [alias, secret, user] if !alias.is_empty() && !user.is_empty() => Ok(Token {
            alias: alias.to_string(),
            secret: secret.to_string(),
            user: user.to_string(),
        }),
        _ => Err(format!("`{s}` is not ALIAS:SECRET:USER")),
    }
}

fn parse_project(s: &str) -> Result<Project, String> {
    match s.split_once(':') {
        Some((id, owner)) if !id.is_empty() && !owner.is_empty() => {
            Ok(Project::new(id).with(owner, Level::Delete))
        }
        None if !s.is_empty() => Ok(Project::new(s)),
        _ => Err(format!("`{s}` is not ID[:OWNER]")),
    }
}

/// `REF=FILE`, read now so a bad file is a usage error, not a 500 at import time.
fn parse_image(s: &str) -> Result<LabelledImage, String> {
    let Some((reference, file)) = s
        .split_once('=')
        .filter(|(r, f)| !r.is_empty() && !f.is_empty())
    else {
        return Err(format!("`{s}` is not REF=FILE"));
    };
    let label = xnat_cmd::limits::read_text(Path::new(file), xnat_cmd::limits::MAX_LABEL_BYTES)
        .map_err(|e| format!("cannot read the label file `{file}`: {e}"))?;
    Ok(LabelledImage {
        reference: reference.to_string(),
        label: Some(label),
    })
}

fn parse_access(s: &str) -> Result<(String, String, Level), String> {
    let parts: Vec<&str> = s.split(':').collect();
    let [project, user, level] = parts[..] else {
        return Err(format!(
            "`{s}` is not PROJECT:USER:owner|member|collaborator"
        ));
    };
    let level = match level {
        "owner" => Level::Delete,
        "member" => Level::Edit,
        "collaborator" => Level::Read,
        other => return Err(format!("unknown access level `{other}` in `{s}`")),
    };
    Ok((project.to_string(), user.to_string(), level))
}

impl Args {
    /// The emulator configuration these flags describe (`--bind` and
    /// `--exit-on-stdin-eof` are the caller's business).
    /// Does this run keep the default users or project ([`DEFAULTS`])?
    pub fn uses_defaults(&self) -> bool {
        self.state.is_none() && (self.users.is_empty() || self.projects.is_empty())
    }

    pub fn config(&self) -> Config {
        let args = self.clone();
        let mut c = Config::default();
        if !args.users.is_empty() {
            c.users = args.users;
        }
        c.tokens = args.tokens;
        if !args.projects.is_empty() {
            c.projects = args.projects;
        }
        for (project, user, level) in args.access {
            match c.projects.iter_mut().find(|p| p.id == project) {
                Some(p) => p.access.push((user, level)),
                None => c.projects.push(Project::new(&project).with(&user, level)),
            }
        }
        c.context_path = args.context_path;
        c.version_mode = if args.mode == "3.6" {
            VersionMode::V36
        } else {
            VersionMode::V37
        };
        c.require_login = !args.no_require_login;
        c.session_cap = args.session_cap;
        c.site_id = args.site_id;
        c.versionless_duplicates_allowed = args.versionless_duplicates;
        c.unsupported_media_status = args.unsupported_media_status;
        c.unreadable_body_status = args.unreadable_body_status;
        c.test_hooks = args.test_hooks;
        c.faults = Faults {
            fail_nth_write: args.fail_nth_write,
            fail_writes_matching: args.fail_writes_matching,
            delay_ms: args.delay_ms,
            force_login_redirect: args.force_login_redirect,
            // Set through the test hooks only (`PUT /__emulator/faults`).
            ..Faults::default()
        };
        c.backend = if args.backend == "docker" {
            Backend::Docker
        } else {
            Backend::Kubernetes
        };
        c.images = args.images;
        c.tls_cert = args.tls_cert;
        c.tls_key = args.tls_key;
        if let Some(seed) = args.state {
            // The document replaces the default users and project as well.
            c.users.clear();
            c.tokens.clear();
            c.projects.clear();
            c.state = Some(seed);
        }
        c
    }
}
