//! Emulator configuration: users, tokens, projects, XNAT version mode and switches for the
//! behaviours the spec leaves open (status of unreadable bodies, version-less duplicates).

use std::path::PathBuf;

use crate::faults::Faults;

/// Which Container Service line to imitate; it decides who may install commands (§1.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VersionMode {
    /// 3.7.x: the `ContainerManager` role; commands carry `visibility`.
    #[default]
    V37,
    /// 3.6.x: site administrators; no `visibility` in GET output.
    V36,
}

impl VersionMode {
    pub fn plugin_version(self) -> &'static str {
        match self {
            VersionMode::V37 => "3.7.3",
            VersionMode::V36 => "3.6.3",
        }
    }
}

/// The container backend XNAT is set up with; it decides whether label import works (§1.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// Kubernetes (the default here, as on the sites this tool is for): image endpoints 424.
    #[default]
    Kubernetes,
    /// A Docker server whose images are [`Config::images`].
    Docker,
}

/// An image "on the Docker server" of the Docker backend: its reference and the value of its
/// `org.nrg.commands` label (absent = the image has no such label).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelledImage {
    pub reference: String,
    pub label: Option<String>,
}

/// Project access level of a non-manager user (owner = Delete, member = Edit, collaborator = Read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Read,
    Edit,
    Delete,
}

impl Level {
    /// The word XNAT puts in `User <u> does not have <Level> access.`
    pub fn word(self) -> &'static str {
        match self {
            Level::Read => "Read",
            Level::Edit => "Edit",
            Level::Delete => "Delete",
        }
    }
}

#[derive(Debug, Clone)]
pub struct User {
    pub name: String,
    pub password: String,
    /// Role names as XNAT spells them: `Administrator`, `ContainerManager`.
    pub roles: Vec<String>,
    pub enabled: bool,
    /// Authenticated requests are redirected to the change-password page (§7.2 step 4).
    pub password_expired: bool,
}

impl User {
    pub fn new(name: &str, password: &str, roles: &[&str]) -> Self {
        User {
            name: name.to_string(),
            password: password.to_string(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            enabled: true,
            password_expired: false,
        }
    }
}

/// An alias token usable as Basic credentials `alias:secret`.
#[derive(Debug, Clone)]
pub struct Token {
    pub alias: String,
    pub secret: String,
    pub user: String,
}

#[derive(Debug, Clone)]
pub struct Project {
    pub id: String,
    /// Per-user access for users who are not managers.
    pub access: Vec<(String, Level)>,
}

impl Project {
    pub fn new(id: &str) -> Self {
        Project {
            id: id.to_string(),
            access: Vec::new(),
        }
    }

    pub fn with(mut self, user: &str, level: Level) -> Self {
        self.access.push((user.to_string(), level));
        self
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub users: Vec<User>,
    pub tokens: Vec<Token>,
    pub projects: Vec<Project>,
    /// `""` or a path such as `/xnat`, no trailing slash.
    pub context_path: String,
    pub version_mode: VersionMode,
    /// XNAT's `requireLogin`; when false, anonymous requests run as `guest`.
    pub require_login: bool,
    /// Sessions per user (`concurrentMaxSessions`); beyond it even good credentials get 401.
    pub session_cap: usize,
    /// The Basic realm.
    pub site_id: String,
    /// XNAT version reported by `/xapi/siteConfig/buildInfo`.
    pub xnat_version: String,
    /// Status for a missing/non-JSON Content-Type on command writes (415 in upstream unit
    /// tests, probably 500 behind XNAT's global advice — unverified).
    pub unsupported_media_status: u16,
    /// Status for unreadable JSON bodies (500 per source reading, 400 in unit tests).
    pub unreadable_body_status: u16,
    /// Old framework behaviour (§10.2): commands without `version` never count as duplicates.
    pub versionless_duplicates_allowed: bool,
    /// Serve the `/__emulator/` test hooks (not part of XNAT).
    pub test_hooks: bool,
    /// Container backend; `Docker` serves `POST /xapi/docker/images/save` from `images`.
    pub backend: Backend,
    /// The Docker backend's images.
    pub images: Vec<LabelledImage>,
    pub faults: Faults,
    /// PEM certificate chain for HTTPS (leaf first); set together with `tls_key`.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of the leaf in `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// Seeded state (`--state FILE`): replaces users, tokens and projects above.
    pub state: Option<crate::snapshot::Snapshot>,
}

impl Default for Config {
    /// `admin`/`admin` (Administrator + ContainerManager), `siteadmin`/`siteadmin`
    /// (Administrator only: a plain admin who is not a Container Manager), `owner`/`owner`
    /// (owns project `DEMO`), `member`/`member` (Edit on `DEMO`).
    fn default() -> Self {
        Config {
            users: vec![
                User::new("admin", "admin", &["Administrator", "ContainerManager"]),
                User::new("siteadmin", "siteadmin", &["Administrator"]),
                User::new("owner", "owner", &[]),
                User::new("member", "member", &[]),
            ],
            tokens: Vec::new(),
            projects: vec![Project::new("DEMO")
                .with("owner", Level::Delete)
                .with("member", Level::Edit)],
            context_path: String::new(),
            version_mode: VersionMode::V37,
            require_login: true,
            session_cap: 1000,
            site_id: "XNAT".to_string(),
            xnat_version: "1.9.2".to_string(),
            unsupported_media_status: 500,
            unreadable_body_status: 500,
            versionless_duplicates_allowed: false,
            test_hooks: false,
            backend: Backend::Kubernetes,
            images: Vec::new(),
            faults: Faults::default(),
            tls_cert: None,
            tls_key: None,
            state: None,
        }
    }
}
