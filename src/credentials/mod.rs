//! Registry credentials: a chain of providers asked in order, where "not found" passes to the
//! next, as docker, podman and cargo users expect.
//!
//! Order: the `--registry-user`/`--registry-password-stdin` flags, `--registry-auth-file`
//! (a Kubernetes image pull secret or a config.json), `DOCKER_AUTH_CONFIG`,
//! `$DOCKER_CONFIG/config.json` (or `~/.docker/config.json`; `credHelpers` > `auths` >
//! `credsStore`), then podman's `REGISTRY_AUTH_FILE` or `${XDG_RUNTIME_DIR}/containers/auth.json`
//! and `~/.config/containers/auth.json`. Written here rather than with `docker_credential`
//! because that crate misses `DOCKER_AUTH_CONFIG`, `username`/`password` entries, podman
//! namespace keys and pull-secret files, and its errors do not say which file is wrong.
//! Debug logs name the provider that answered, never the secret.

mod config;
mod helper;

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

pub use config::AuthConfig;
pub use helper::{Helpers, HELPER_DEADLINE};

use crate::env::Env;
use crate::secret::Secret;

/// What a provider can supply for a registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// User and password (also ECR-style tokens used as passwords).
    Basic { username: String, password: Secret },
    /// An OAuth2 refresh token ("identity token"), exchanged at the token realm.
    IdentityToken(Secret),
    /// A ready bearer token for the registry itself (`registrytoken`).
    RegistryToken(Secret),
}

/// A credential and the provider that supplied it (for debug logs and error hints).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub credential: Credential,
    pub provider: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("failed to read credentials file `{path}`")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("credentials in {origin} are not valid JSON or YAML")]
    Parse {
        origin: String,
        #[source]
        source: serde_norway::Error,
    },
    #[error("credentials in {origin} are malformed: {what}")]
    Malformed { origin: String, what: String },
    #[error("credential helper `docker-credential-{helper}` failed for `{server}`: {message}")]
    Helper {
        helper: String,
        server: String,
        message: String,
    },
    #[error("credential helper `docker-credential-{helper}` did not answer for `{server}` within {after:?} and was stopped")]
    HelperDeadline {
        helper: String,
        server: String,
        after: Duration,
    },
}

/// The variables the chain reads, taken from the run's environment snapshot ([`Env`]) so
/// tests can give their own.
#[derive(Debug, Clone, Default)]
pub struct CredentialEnv {
    pub home: Option<PathBuf>,
    pub docker_config: Option<PathBuf>,
    pub docker_auth_config: Option<String>,
    pub registry_auth_file: Option<PathBuf>,
    pub xdg_runtime_dir: Option<PathBuf>,
    pub xdg_config_home: Option<PathBuf>,
    /// The `PATH` credential helpers are found in; `None`: no helper is found.
    pub path: Option<OsString>,
}

impl CredentialEnv {
    /// The chain's variables from `env`; empty values count as unset (except `PATH`, kept as
    /// it is).
    pub fn from_env(env: &Env) -> Self {
        CredentialEnv {
            home: env.path("HOME"),
            docker_config: env.path("DOCKER_CONFIG"),
            docker_auth_config: env
                .var("DOCKER_AUTH_CONFIG")
                .filter(|v| !v.trim().is_empty())
                .map(str::to_string),
            registry_auth_file: env.path("REGISTRY_AUTH_FILE"),
            xdg_runtime_dir: env.path("XDG_RUNTIME_DIR"),
            xdg_config_home: env.path("XDG_CONFIG_HOME"),
            path: env.var_os("PATH").map(OsString::from),
        }
    }
}

/// Explicit credential options from the command line.
#[derive(Debug, Clone, Default)]
pub struct CredentialOptions {
    /// A user and password given directly (`--registry-user`), first in the chain.
    pub user: Option<GivenUser>,
    /// `--registry-auth-file`: a pull secret or config.json-shaped file.
    pub auth_file: Option<PathBuf>,
}

/// A user and password given directly, and how messages name where they came from: the
/// caller's own words (the CLI says `--registry-user`), since the library has no flags.
#[derive(Debug, Clone)]
pub struct GivenUser {
    pub name: String,
    pub password: Secret,
    pub origin: String,
}

enum Provider {
    Given(GivenUser),
    /// Parsed eagerly (explicit file or env content): errors surface at start-up.
    Config(AuthConfig),
    /// A file looked up lazily; a missing file is "not found".
    File {
        path: PathBuf,
        podman: bool,
    },
}

/// The provider chain.
pub struct Chain {
    providers: Vec<Provider>,
    helpers: Helpers,
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chain")
            .field("providers", &self.providers.len())
            .finish()
    }
}

impl Chain {
    /// No credentials at all: anonymous access only.
    pub fn anonymous() -> Self {
        Chain {
            providers: vec![],
            helpers: Helpers::default(),
        }
    }

    /// Stop credential helpers after `deadline` instead of [`HELPER_DEADLINE`].
    pub fn with_helper_deadline(mut self, deadline: Duration) -> Self {
        self.helpers.deadline = deadline;
        self
    }

    pub fn new(opts: &CredentialOptions, env: &CredentialEnv) -> Result<Self, CredentialError> {
        let mut providers = vec![];
        if let Some(given) = &opts.user {
            providers.push(Provider::Given(given.clone()));
        }
        if let Some(path) = &opts.auth_file {
            // A missing file gives no credentials, as for the files looked up below: Kubernetes
            // mounts an empty folder for an optional Secret that does not exist (a fleet of
            // public images needs no pull secret). A file that is there but cannot be read or
            // parsed is still an error.
            match crate::limits::read_text(path, crate::limits::MAX_CONFIG_FILE_BYTES) {
                Ok(text) => {
                    let origin = format!("`{}`", path.display());
                    providers.push(Provider::Config(AuthConfig::parse_pull_secret(
                        &text, &origin,
                    )?));
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    tracing::info!(
                        path = %path.display(),
                        "registry auth file does not exist: no credentials from this file"
                    );
                }
                Err(source) => {
                    return Err(CredentialError::Read {
                        path: path.clone(),
                        source,
                    })
                }
            }
        }
        if let Some(text) = &env.docker_auth_config {
            providers.push(Provider::Config(AuthConfig::parse(
                text,
                "DOCKER_AUTH_CONFIG",
            )?));
        }
        let docker_dir = env
            .docker_config
            .clone()
            .or_else(|| env.home.as_ref().map(|h| h.join(".docker")));
        if let Some(dir) = docker_dir {
            providers.push(Provider::File {
                path: dir.join("config.json"),
                podman: false,
            });
        }
        // Podman reads REGISTRY_AUTH_FILE instead of its default places when set.
        if let Some(p) = &env.registry_auth_file {
            providers.push(Provider::File {
                path: p.clone(),
                podman: true,
            });
        } else {
            if let Some(run) = &env.xdg_runtime_dir {
                providers.push(Provider::File {
                    path: run.join("containers/auth.json"),
                    podman: true,
                });
            }
            let config_home = env
                .xdg_config_home
                .clone()
                .or_else(|| env.home.as_ref().map(|h| h.join(".config")));
            if let Some(c) = config_home {
                providers.push(Provider::File {
                    path: c.join("containers/auth.json"),
                    podman: true,
                });
            }
        }
        Ok(Chain {
            providers,
            helpers: Helpers {
                path: env.path.clone(),
                ..Helpers::default()
            },
        })
    }

    /// Credentials for `registry` (normalised, e.g. `docker.io`, `localhost:5000`) and
    /// `repository` (for podman's namespace keys), or `None` for anonymous access. Credential
    /// helpers run as child processes awaited on the runtime, with a deadline.
    pub async fn lookup(
        &self,
        registry: &str,
        repository: &str,
    ) -> Result<Option<Found>, CredentialError> {
        for p in &self.providers {
            let found = match p {
                Provider::Given(given) => Some(Found {
                    credential: Credential::Basic {
                        username: given.name.clone(),
                        password: given.password.clone(),
                    },
                    provider: given.origin.clone(),
                }),
                Provider::Config(c) => c.lookup(registry, repository, &self.helpers).await?,
                Provider::File { path, podman } => {
                    let text = match crate::limits::read_text(
                        path,
                        crate::limits::MAX_CONFIG_FILE_BYTES,
                    ) {
                        Ok(t) => t,
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                        Err(source) => {
                            return Err(CredentialError::Read {
                                path: path.clone(),
                                source,
                            })
                        }
                    };
                    let origin = format!("`{}`", path.display());
                    let mut c = AuthConfig::parse(&text, &origin)?;
                    c.podman = *podman;
                    c.lookup(registry, repository, &self.helpers).await?
                }
            };
            if let Some(f) = found {
                tracing::debug!(registry, provider = %f.provider, "credentials found");
                return Ok(Some(f));
            }
        }
        tracing::debug!(registry, "no credentials: anonymous access");
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    async fn user(chain: &Chain, r: &str, repo: &str) -> Option<(String, String)> {
        match chain.lookup(r, repo).await.unwrap() {
            Some(Found {
                credential: Credential::Basic { username, .. },
                provider,
            }) => Some((username, provider)),
            other => other.map(|f| (format!("{:?}", f.credential), f.provider)),
        }
    }

    #[tokio::test]
    async fn chain_order_and_fallthrough() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().to_path_buf();
        std::fs::create_dir_all(home.join(".docker")).unwrap();
        std::fs::write(
            home.join(".docker/config.json"),
            format!(r#"{{"auths":{{"a.io":{{"auth":"{}"}},"https://index.docker.io/v1/":{{"username":"hub","password":"hp"}}}}}}"#, b64("da:dp")),
        )
        .unwrap();
        std::fs::create_dir_all(home.join(".config/containers")).unwrap();
        std::fs::write(
            home.join(".config/containers/auth.json"),
            format!(
                r#"{{"auths":{{"b.io/team":{{"auth":"{}"}}}}}}"#,
                b64("pu:pp")
            ),
        )
        .unwrap();
        let env = CredentialEnv {
            home: Some(home.clone()),
            docker_auth_config: Some(format!(
                r#"{{"auths":{{"a.io":{{"auth":"{}"}}}}}}"#,
                b64("env:ep")
            )),
            ..Default::default()
        };
        let chain = Chain::new(&CredentialOptions::default(), &env).unwrap();
        assert_eq!(
            user(&chain, "a.io", "x").await,
            Some(("env".into(), "DOCKER_AUTH_CONFIG auths `a.io`".into()))
        );
        let (u, p) = user(&chain, "docker.io", "library/ubuntu").await.unwrap();
        assert_eq!(u, "hub");
        assert!(
            p.ends_with("config.json` auths `https://index.docker.io/v1/`"),
            "{p}"
        );
        let (u, _) = user(&chain, "b.io", "team/app").await.unwrap();
        assert_eq!(u, "pu");
        assert_eq!(
            user(&chain, "b.io", "other/app").await,
            None,
            "namespace key must not match other repos"
        );
        assert_eq!(user(&chain, "c.io", "x").await, None);

        let flags = CredentialOptions {
            user: Some(GivenUser {
                name: "flag".into(),
                password: Secret::new("fp"),
                origin: "--registry-user".into(),
            }),
            auth_file: None,
        };
        let chain = Chain::new(&flags, &env).unwrap();
        let f = chain.lookup("a.io", "x").await.unwrap().unwrap();
        assert_eq!(f.provider, "--registry-user");
    }

    #[test]
    fn bad_env_config_is_an_error_naming_it() {
        let env = CredentialEnv {
            docker_auth_config: Some("{not json".into()),
            ..Default::default()
        };
        let e = Chain::new(&CredentialOptions::default(), &env).unwrap_err();
        assert_eq!(
            e.to_string(),
            "credentials in DOCKER_AUTH_CONFIG are not valid JSON or YAML"
        );
    }
}
