//! Where the XNAT credentials come from, in order: `--user` + `--password-stdin`, the
//! `XNAT_USER`/`XNAT_PASS` environment (the names XNAT passes into containers), `~/.netrc`
//! (keyed by `host` or `host:port`). Alias tokens are used like a user and password.
//!
//! The netrc reader is hand-written: the crates for it are unmaintained or lack the
//! `host:port` key xnatpy users already write, and the format is a dozen lines to read.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::problem::Hint;
use crate::secret::Secret;

/// Which provider supplied the credentials: named in every authentication error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    Flags,
    Environment,
    /// A fleet site's `user-env` / `password-env` variables.
    SiteEnvironment {
        user_var: String,
        password_var: String,
    },
    Netrc {
        path: PathBuf,
        machine: String,
    },
}

impl fmt::Display for CredentialSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialSource::Flags => {
                f.write_str("the user and password given on the command line")
            }
            CredentialSource::Environment => {
                f.write_str("XNAT_USER and XNAT_PASS (or XNAT_USER_FILE / XNAT_PASS_FILE)")
            }
            CredentialSource::SiteEnvironment {
                user_var,
                password_var,
            } => write!(f, "{user_var} and {password_var}"),
            CredentialSource::Netrc { path, machine } => {
                write!(f, "machine `{machine}` in {}", path.display())
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct Credentials {
    pub user: String,
    pub password: Secret,
    pub source: CredentialSource,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CredentialError {
    #[error("no XNAT credentials for `{host}`: tried the command line, XNAT_USER/XNAT_PASS (or files named by XNAT_USER_FILE/XNAT_PASS_FILE) and {netrc}")]
    NotFound { host: String, netrc: String },
    #[error("a user was given on the command line without a password")]
    UserWithoutPassword,
    #[error("only one of XNAT_USER (or XNAT_USER_FILE) and XNAT_PASS (or XNAT_PASS_FILE) is set")]
    HalfEnvironment,
    #[error("failed to read `{path}`: {message}")]
    Netrc { path: PathBuf, message: String },
    #[error("{var}: {message}")]
    SecretFile { var: String, message: String },
    /// A site's `user-env` / `password-env` name variables that are not set: an error, never
    /// a silent fallback to another user (`~/.netrc`, `XNAT_USER`/`XNAT_PASS`).
    #[error("site `{site}`: {} named by its {} {} not set: set {}, or drop `user-env`/`password-env` from the site to use ~/.netrc or XNAT_USER/XNAT_PASS", unset.join(" and "), if unset.len() == 1 { "`user-env`/`password-env`" } else { "`user-env` and `password-env`" }, if unset.len() == 1 { "is" } else { "are" }, if unset.len() == 1 { "it" } else { "them" })]
    SiteEnvironmentUnset { site: String, unset: Vec<String> },
    /// Only one of `user-env` and `password-env` on a site.
    #[error(
        "site `{site}` has `{given}` but no `{missing}`: name both variables in the fleet file"
    )]
    HalfSiteVariables {
        site: String,
        given: &'static str,
        missing: &'static str,
    },
}

impl Hint for CredentialError {
    fn hint(&self) -> Option<String> {
        match self {
            CredentialError::NotFound { host, netrc } => Some(format!(
                "pass --user with --password-file FILE or --password-stdin, set XNAT_USER and XNAT_PASS, or add a `machine {host} login USER password PASSWORD` line to {netrc}"
            )),
            CredentialError::UserWithoutPassword => Some(
                "name a file holding it with --password-file FILE, or pipe it into --password-stdin"
                    .into(),
            ),
            CredentialError::HalfEnvironment => {
                Some("set both, or use --user with --password-file".into())
            }
            _ => None,
        }
    }
}

/// What the resolver may look at; the binary fills it from flags and the process env.
#[derive(Debug, Default, Clone)]
pub struct CredentialInputs {
    pub flag_user: Option<String>,
    pub flag_password: Option<Secret>,
    pub env_user: Option<String>,
    pub env_pass: Option<Secret>,
    pub netrc_path: Option<PathBuf>,
}

impl CredentialInputs {
    /// The flags, and the environment as `env` shows it: `XNAT_USER` (else the file named by
    /// `XNAT_USER_FILE`), `XNAT_PASS` (else the file named by `XNAT_PASS_FILE`, a mounted
    /// Kubernetes Secret), and the netrc file at `$NETRC`, else `$HOME/.netrc`. Empty
    /// variables count as unset.
    pub fn from_env(
        flag_user: Option<String>,
        flag_password: Option<Secret>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, CredentialError> {
        let env = |k: &str| env(k).filter(|v| !v.is_empty());
        let from_file = |var: &str| -> Result<Option<Secret>, CredentialError> {
            match env(var) {
                Some(path) => Secret::from_file(Path::new(&path)).map(Some).map_err(|e| {
                    let p = crate::problem::Problem::from_error(&e);
                    CredentialError::SecretFile {
                        var: var.to_string(),
                        message: std::iter::once(p.error)
                            .chain(p.causes)
                            .collect::<Vec<_>>()
                            .join(": "),
                    }
                }),
                None => Ok(None),
            }
        };
        let env_user = match env("XNAT_USER") {
            Some(u) => Some(u),
            None => from_file("XNAT_USER_FILE")?.map(|s| s.expose().trim().to_string()),
        };
        let env_pass = match env("XNAT_PASS") {
            Some(p) => Some(Secret::new(p)),
            None => from_file("XNAT_PASS_FILE")?,
        };
        Ok(CredentialInputs {
            flag_user,
            flag_password,
            env_user,
            env_pass,
            netrc_path: env("NETRC")
                .map(PathBuf::from)
                .or_else(|| env("HOME").map(|h| Path::new(&h).join(".netrc"))),
        })
    }
}

/// Resolve credentials for `host` (and `port`, when the URL has one).
pub fn resolve(
    inputs: &CredentialInputs,
    host: &str,
    port: Option<u16>,
) -> Result<Credentials, CredentialError> {
    match (&inputs.flag_user, &inputs.flag_password) {
        (Some(user), Some(password)) => {
            return Ok(Credentials {
                user: user.clone(),
                password: password.clone(),
                source: CredentialSource::Flags,
            })
        }
        (Some(_), None) => return Err(CredentialError::UserWithoutPassword),
        _ => {}
    }
    match (&inputs.env_user, &inputs.env_pass) {
        (Some(user), Some(password)) if !user.is_empty() => {
            return Ok(Credentials {
                user: user.clone(),
                password: password.clone(),
                source: CredentialSource::Environment,
            })
        }
        (Some(u), None) if !u.is_empty() => return Err(CredentialError::HalfEnvironment),
        (None, Some(p)) if !p.is_empty() => return Err(CredentialError::HalfEnvironment),
        _ => {}
    }
    let netrc_desc = inputs
        .netrc_path
        .as_ref()
        .map_or("~/.netrc".to_string(), |p| p.display().to_string());
    if let Some(path) = &inputs.netrc_path {
        if let Some(c) = from_netrc(path, host, port)? {
            return Ok(c);
        }
    }
    Err(CredentialError::NotFound {
        host: match port {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        },
        netrc: netrc_desc,
    })
}

/// Credentials for a fleet site: its `user-env` / `password-env` variables when it names them
/// (both must be set: a site that names its variables never falls back to another user), else
/// `~/.netrc` for its host, else `XNAT_USER` / `XNAT_PASS` (site-specific before run-wide).
pub fn resolve_site(
    site: &str,
    vars: (Option<&str>, Option<&str>),
    env: impl Fn(&str) -> Option<String>,
    host: &str,
    port: Option<u16>,
) -> Result<Credentials, CredentialError> {
    let env = |k: &str| env(k).filter(|v| !v.is_empty());
    match vars {
        (Some(uv), Some(pv)) => {
            return match (env(uv), env(pv)) {
                (Some(user), Some(password)) => Ok(Credentials {
                    user,
                    password: Secret::new(password),
                    source: CredentialSource::SiteEnvironment {
                        user_var: uv.to_string(),
                        password_var: pv.to_string(),
                    },
                }),
                (user, password) => Err(CredentialError::SiteEnvironmentUnset {
                    site: site.to_string(),
                    unset: [(uv, user.is_none()), (pv, password.is_none())]
                        .into_iter()
                        .filter(|(_, unset)| *unset)
                        .map(|(v, _)| v.to_string())
                        .collect(),
                }),
            };
        }
        (Some(_), None) | (None, Some(_)) => {
            let (given, missing) = if vars.0.is_some() {
                ("user-env", "password-env")
            } else {
                ("password-env", "user-env")
            };
            return Err(CredentialError::HalfSiteVariables {
                site: site.to_string(),
                given,
                missing,
            });
        }
        (None, None) => {}
    }
    let all = CredentialInputs::from_env(None, None, env)?;
    let netrc_only = CredentialInputs {
        netrc_path: all.netrc_path.clone(),
        ..CredentialInputs::default()
    };
    match resolve(&netrc_only, host, port) {
        Err(CredentialError::NotFound { .. }) => resolve(&all, host, port),
        other => other,
    }
}

fn from_netrc(
    path: &Path,
    host: &str,
    port: Option<u16>,
) -> Result<Option<Credentials>, CredentialError> {
    let text = match crate::limits::read_text(path, crate::limits::MAX_CONFIG_FILE_BYTES) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(CredentialError::Netrc {
                path: path.to_path_buf(),
                message: e.to_string(),
            })
        }
    };
    let entries = parse_netrc(&text);
    // `host:port` first (xnatpy's key), then the bare host, then `default`.
    let mut keys = Vec::new();
    if let Some(p) = port {
        keys.push(format!("{host}:{p}"));
    }
    keys.push(host.to_string());
    for key in keys.iter().map(String::as_str).chain(std::iter::once("")) {
        if let Some(e) = entries
            .iter()
            .find(|e| e.machine.as_deref().unwrap_or("") == key)
        {
            if let (Some(login), Some(password)) = (&e.login, &e.password) {
                return Ok(Some(Credentials {
                    user: login.clone(),
                    password: Secret::new(password.clone()),
                    source: CredentialSource::Netrc {
                        path: path.to_path_buf(),
                        machine: if key.is_empty() {
                            "default".into()
                        } else {
                            key.to_string()
                        },
                    },
                }));
            }
        }
    }
    Ok(None)
}

#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct NetrcEntry {
    /// `None` for the `default` entry.
    pub(crate) machine: Option<String>,
    pub(crate) login: Option<String>,
    pub(crate) password: Option<String>,
}

/// Tokens separated by any white space; `machine`/`default` start an entry; `login` (or
/// `user`, which some tools write) and `password` fill it; `macdef` bodies are skipped.
pub(crate) fn parse_netrc(text: &str) -> Vec<NetrcEntry> {
    let mut entries: Vec<NetrcEntry> = Vec::new();
    let mut lines = text.lines();
    let mut tokens: Vec<String> = Vec::new();
    while let Some(line) = lines.next() {
        for t in line.split_whitespace() {
            if t == "macdef" {
                // The macro runs to the next empty line.
                for l in lines.by_ref() {
                    if l.trim().is_empty() {
                        break;
                    }
                }
                break;
            }
            tokens.push(t.to_string());
        }
    }
    let mut i = 0;
    while i < tokens.len() {
        let next = tokens.get(i + 1).cloned();
        match tokens[i].as_str() {
            "machine" => {
                entries.push(NetrcEntry {
                    machine: next,
                    ..Default::default()
                });
                i += 2;
            }
            "default" => {
                entries.push(NetrcEntry::default());
                i += 1;
            }
            "login" | "user" => {
                if let Some(e) = entries.last_mut() {
                    e.login = next;
                }
                i += 2;
            }
            "password" => {
                if let Some(e) = entries.last_mut() {
                    e.password = next;
                }
                i += 2;
            }
            _ => i += 1,
        }
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    fn netrc(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(".netrc");
        std::fs::write(&p, text).unwrap();
        (dir, p)
    }

    #[test]
    fn precedence_flags_env_netrc() {
        let (_d, p) = netrc("machine xnat.example.org login n password np\n");
        let mut inputs = CredentialInputs {
            flag_user: Some("f".into()),
            flag_password: Some(Secret::new("fp")),
            env_user: Some("e".into()),
            env_pass: Some(Secret::new("ep")),
            netrc_path: Some(p),
        };
        let c = resolve(&inputs, "xnat.example.org", None).unwrap();
        assert_eq!((c.user.as_str(), c.source), ("f", CredentialSource::Flags));
        inputs.flag_user = None;
        inputs.flag_password = None;
        let c = resolve(&inputs, "xnat.example.org", None).unwrap();
        assert_eq!(
            (c.user.as_str(), c.source),
            ("e", CredentialSource::Environment)
        );
        inputs.env_user = None;
        inputs.env_pass = None;
        let c = resolve(&inputs, "xnat.example.org", None).unwrap();
        assert_eq!(c.user, "n");
        assert_eq!(c.password.expose(), "np");
        assert!(matches!(c.source, CredentialSource::Netrc { .. }));
    }

    #[test]
    fn netrc_host_port_key_wins_over_host_and_default() {
        let (_d, p) = netrc(
            "default login d password dp\nmachine h login h password hp\n\
             machine h:8080\n  user hp8080\n  password x\nmacdef init\ncd /\n\nmachine other login o password op",
        );
        let inputs = CredentialInputs {
            netrc_path: Some(p),
            ..Default::default()
        };
        assert_eq!(resolve(&inputs, "h", Some(8080)).unwrap().user, "hp8080");
        assert_eq!(resolve(&inputs, "h", None).unwrap().user, "h");
        assert_eq!(resolve(&inputs, "zzz", None).unwrap().user, "d");
        assert_eq!(resolve(&inputs, "other", None).unwrap().user, "o");
    }

    #[test]
    fn missing_and_partial_inputs_are_clear_errors() {
        let inputs = CredentialInputs {
            flag_user: Some("u".into()),
            ..Default::default()
        };
        assert_eq!(
            resolve(&inputs, "h", None).unwrap_err(),
            CredentialError::UserWithoutPassword
        );
        let inputs = CredentialInputs {
            env_user: Some("u".into()),
            ..Default::default()
        };
        assert_eq!(
            resolve(&inputs, "h", None).unwrap_err(),
            CredentialError::HalfEnvironment
        );
        let inputs = CredentialInputs::default();
        let e = resolve(&inputs, "h", Some(1)).unwrap_err().to_string();
        assert_eq!(e, "no XNAT credentials for `h:1`: tried the command line, XNAT_USER/XNAT_PASS (or files named by XNAT_USER_FILE/XNAT_PASS_FILE) and ~/.netrc");
        assert_eq!(
            resolve(&inputs, "h", Some(1)).unwrap_err().hint().as_deref(),
            Some("pass --user with --password-file FILE or --password-stdin, set XNAT_USER and XNAT_PASS, or add a `machine h:1 login USER password PASSWORD` line to ~/.netrc")
        );
        assert_eq!(
            CredentialError::UserWithoutPassword.to_string(),
            "a user was given on the command line without a password"
        );
        assert_eq!(
            CredentialError::UserWithoutPassword.hint().as_deref(),
            Some("name a file holding it with --password-file FILE, or pipe it into --password-stdin")
        );
    }

    #[test]
    fn inputs_from_the_environment() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let i = CredentialInputs::from_env(
            None,
            None,
            env(&[("XNAT_USER", "u"), ("XNAT_PASS", ""), ("HOME", "/h")]),
        )
        .unwrap();
        assert_eq!(i.env_user.as_deref(), Some("u"));
        assert!(i.env_pass.is_none(), "an empty XNAT_PASS is unset");
        assert_eq!(i.netrc_path, Some(PathBuf::from("/h/.netrc")));
        let i = CredentialInputs::from_env(
            Some("f".into()),
            None,
            env(&[("NETRC", "/n"), ("HOME", "/h")]),
        )
        .unwrap();
        assert_eq!(i.flag_user.as_deref(), Some("f"));
        assert_eq!(i.netrc_path, Some(PathBuf::from("/n")));
        assert_eq!(
            CredentialInputs::from_env(None, None, env(&[]))
                .unwrap()
                .netrc_path,
            None
        );
    }

    #[test]
    fn site_credentials_prefer_the_site_then_netrc_then_the_run() {
        let dir = tempfile::tempdir().unwrap();
        let netrc = dir.path().join("netrc");
        std::fs::write(&netrc, "machine prod.example.org login n password np\n").unwrap();
        let netrc_s = netrc.display().to_string();
        let env = |extra: &'static [(&'static str, &'static str)], n: String| {
            move |k: &str| {
                if k == "NETRC" {
                    return Some(n.clone());
                }
                extra
                    .iter()
                    .chain([("XNAT_USER", "run"), ("XNAT_PASS", "rp")].iter())
                    .find(|(name, _)| *name == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let vars = (Some("PROD_U"), Some("PROD_P"));
        let c = resolve_site(
            "prod",
            vars,
            env(&[("PROD_U", "s"), ("PROD_P", "sp")], netrc_s.clone()),
            "prod.example.org",
            None,
        )
        .unwrap();
        assert_eq!((c.user.as_str(), c.password.expose()), ("s", "sp"));
        assert_eq!(c.source.to_string(), "PROD_U and PROD_P");
        let c = resolve_site(
            "prod",
            (None, None),
            env(&[], netrc_s.clone()),
            "prod.example.org",
            None,
        )
        .unwrap();
        assert_eq!(c.user, "n", "netrc before XNAT_USER");
        // Named variables that are unset are an error naming them, never a fallback to netrc
        // or XNAT_USER/XNAT_PASS (another user).
        let e = resolve_site(
            "prod",
            vars,
            env(&[], netrc_s.clone()),
            "prod.example.org",
            None,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "site `prod`: PROD_U and PROD_P named by its `user-env` and `password-env` are not set: set them, or drop `user-env`/`password-env` from the site to use ~/.netrc or XNAT_USER/XNAT_PASS"
        );
        let e = resolve_site(
            "prod",
            (Some("PROD_U"), None),
            env(&[("PROD_U", "s")], netrc_s.clone()),
            "x",
            None,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "site `prod` has `user-env` but no `password-env`: name both variables in the fleet file"
        );
        let c = resolve_site(
            "prod",
            (None, None),
            env(&[], netrc_s.clone()),
            "other.example.org",
            None,
        )
        .unwrap();
        assert_eq!(
            (c.user.as_str(), c.source.clone()),
            ("run", CredentialSource::Environment)
        );
        let e =
            resolve_site("prod", vars, env(&[("PROD_U", "s")], netrc_s), "x", None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "site `prod`: PROD_P named by its `user-env`/`password-env` is not set: set it, or drop `user-env`/`password-env` from the site to use ~/.netrc or XNAT_USER/XNAT_PASS"
        );
    }

    #[test]
    fn mounted_secret_files_stand_in_for_the_variables() {
        let dir = tempfile::tempdir().unwrap();
        let user = dir.path().join("user");
        let token = dir.path().join("token");
        std::fs::write(&user, "alias-1\n").unwrap();
        std::fs::write(&token, "s3cret\n").unwrap();
        let (u, t) = (user.display().to_string(), token.display().to_string());
        let vars = [("XNAT_USER_FILE", u.clone()), ("XNAT_PASS_FILE", t.clone())];
        let env = |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone());
        let i = CredentialInputs::from_env(None, None, env).unwrap();
        let c = resolve(&i, "x", None).unwrap();
        assert_eq!(
            (c.user.as_str(), c.password.expose()),
            ("alias-1", "s3cret")
        );
        // XNAT_PASS wins over the file; a missing file is an error naming the variable.
        let vars = [
            ("XNAT_USER", "u".to_string()),
            ("XNAT_PASS", "p".to_string()),
            ("XNAT_PASS_FILE", "/nonexistent".to_string()),
        ];
        let env = |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone());
        assert_eq!(
            CredentialInputs::from_env(None, None, env)
                .unwrap()
                .env_pass
                .unwrap()
                .expose(),
            "p"
        );
        let vars = [("XNAT_PASS_FILE", "/nonexistent".to_string())];
        let env = |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone());
        let e = CredentialInputs::from_env(None, None, env).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("XNAT_PASS_FILE: failed to read the secret file `/nonexistent`"),
            "{e}"
        );
    }
}
