//! Settings: the parsed arguments and the environment snapshot resolved into what the library
//! and the subcommands take, in one place (as uv's `settings.rs`). `main` takes the snapshot
//! once ([`Env::from_process`]) and resolves [`Settings`] from it and the global flags; each
//! subcommand asks it for the parts it needs ([`Settings::source`], [`Settings::xnat_url`],
//! [`Settings::env`] for credentials), at the point where it needs them, so usage errors keep
//! their order.
//!
//! Precedence, for every value: **flag > environment > file > default**; the first one set
//! wins, and an empty variable counts as unset.
//!
//! | value | flag | environment | file | default |
//! |---|---|---|---|---|
//! | XNAT URL | `--xnat` | `XNAT_HOST` (read by clap with the flag, shown in `--help`) | `XNAT_HOST_FILE` names it | none: usage error |
//! | XNAT credentials | `--user` + `--password-stdin`/`--password-file` | `XNAT_USER` + `XNAT_PASS` | `XNAT_USER_FILE`/`XNAT_PASS_FILE`, then `$NETRC` or `~/.netrc` | none: usage error (`xnat::credentials::resolve`) |
//! | a fleet site's credentials | — | its `user-env`/`password-env` | `~/.netrc` | `XNAT_USER`/`XNAT_PASS` (`resolve_site`) |
//! | registry cache folder | `--registry-cache`, `--no-registry-cache` | `XNAT_CMD_CACHE`, then `$XDG_CACHE_HOME/xnat-cmd`, then `$HOME/.cache/xnat-cmd` | — | none (no cache) |
//! | registry credentials | `--registry-user` + password flag, `--registry-auth-file` | `DOCKER_AUTH_CONFIG` | docker `config.json`, podman `auth.json` | anonymous (`credentials::Chain`) |
//! | daemon | — | `DOCKER_HOST`, `DOCKER_CONTEXT`, `CONTAINER_HOST`, `DOCKER_TLS_VERIFY`, `DOCKER_CERT_PATH`, `DOCKER_API_VERSION` | docker's `config.json` context | the default sockets |
//! | registry concurrency, timeout, JSON cap | `--registry-concurrency`, `--registry-timeout`, `--max-json-bytes` | — | — | `limits.rs` |
//! | commands written to a site at once | `--xnat-concurrency` (`install`, `sync`; 0 counts as 1) | — | — | `limits.rs` (16) |
//! | retry backoff base | — | `XNAT_CMD_BACKOFF_MS` (milliseconds; a test hook for the seeded fault runs, users have no reason to set it; not a number counts as unset) | — | `limits.rs` (200 ms) |
//! | log filter | `-v`/`-vv` | `XNAT_CMD_LOG` (a full EnvFilter; replaces `-v`'s level) | — | `warn` |
//! | colour on stderr | — | `NO_COLOR` (any value: none) | — | on a terminal |
//!
//! The one exception to "flag first" is `XNAT_CMD_LOG`, which names whole filters that `-v`
//! cannot express; it was always read that way.

use std::path::PathBuf;
use std::time::Duration;

use xnat_cmd::credentials::GivenUser;
use xnat_cmd::http::retry::BACKOFF_ENV;
use xnat_cmd::limits::DEFAULT_BACKOFF_BASE;
use xnat_cmd::source::daemon::DaemonOptions;
use xnat_cmd::source::registry::{default_cache_dir, RegistryOptions};
use xnat_cmd::source::{ReadOptions, SourceOptions};
use xnat_cmd::{Env, Platform};

use crate::args::{
    load_keys, read_password_stdin, secret_file, ApplyArgs, GlobalArgs, SourceArgs, VerifyArgs,
    XnatArgs,
};
use crate::output::CliError;

/// The variable naming a full log filter (tracing's EnvFilter syntax).
pub const LOG_ENV: &str = "XNAT_CMD_LOG";

/// What the whole run is set to, and the environment it was resolved from.
#[derive(Debug, Clone)]
pub struct Settings {
    env: Env,
    /// The log filter: `XNAT_CMD_LOG` when set and valid, else the level of `-v`.
    pub log_filter: LogFilter,
    /// `NO_COLOR` is set (<https://no-color.org>): no colour even on a terminal.
    pub no_color: bool,
    /// The base the waits before retries double from, for every client: `XNAT_CMD_BACKOFF_MS`
    /// when it is a number of milliseconds, else [`DEFAULT_BACKOFF_BASE`].
    pub backoff_base: Duration,
}

/// Where the log filter comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFilter {
    /// `XNAT_CMD_LOG`, tried first (an invalid one falls back to `default`).
    pub from_env: Option<String>,
    /// The filter of `-v`/`-vv` (or none).
    pub default: &'static str,
}

/// The registry and daemon access of a run and the default per-image read options, from the
/// source flags.
#[derive(Debug, Clone)]
pub struct Source {
    pub run: SourceOptions,
    pub read: ReadOptions,
}

/// Where the XNAT URL comes from (before a file is read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlFrom {
    /// `--xnat`, or `XNAT_HOST` that clap gave it.
    Given(String),
    /// The file `XNAT_HOST_FILE` names.
    File(PathBuf),
    Missing,
}

impl Settings {
    /// The run's settings from the global flags and the environment snapshot.
    pub fn resolve(args: &GlobalArgs, env: Env) -> Settings {
        let default = match args.verbose {
            0 => "warn",
            1 => "xnat_cmd=info",
            _ => "xnat_cmd=debug",
        };
        Settings {
            log_filter: LogFilter {
                from_env: env.var(LOG_ENV).map(str::to_string),
                default,
            },
            no_color: env.var_os("NO_COLOR").is_some(),
            backoff_base: env
                .var(BACKOFF_ENV)
                .and_then(|v| v.trim().parse().ok())
                .map_or(DEFAULT_BACKOFF_BASE, Duration::from_millis),
            env,
        }
    }

    /// The environment snapshot (XNAT credentials and a fleet site's `user-env` read it).
    pub fn env(&self) -> &Env {
        &self.env
    }

    /// [`Settings::source`] with the `--verify-key` files read: an image is accepted only with a
    /// signature made with one of them (`inspect`, `validate`, `install`).
    pub fn verified_source(
        &self,
        args: &SourceArgs,
        verify: &VerifyArgs,
    ) -> Result<Source, CliError> {
        let mut source = self.source(args)?;
        source.read.verify_keys = load_keys(&verify.verify_keys)?;
        Ok(source)
    }

    /// The source flags as library options: run-wide access and the default read options.
    /// Reads the registry password (stdin or file) when `--registry-user` is given.
    pub fn source(&self, args: &SourceArgs) -> Result<Source, CliError> {
        let platform = match &args.platform {
            Some(p) => Platform::parse(p).map_err(CliError::usage)?,
            None => Platform::linux_amd64(),
        };
        let mut registry = RegistryOptions {
            ca_files: args.registry_ca.clone(),
            insecure: args.insecure_registry.clone(),
            // 0 s would fail every read before it starts: the shortest deadline is 1 s.
            image_deadline: Duration::from_secs(args.registry_timeout.max(1)),
            // Clamped (0 counts as 1) where it is used, in the registry transport.
            per_registry_concurrency: args.registry_concurrency,
            cache_dir: self.cache_dir(args),
            backoff_base: self.backoff_base,
            env: self.env.clone(),
            ..RegistryOptions::default()
        };
        if let Some(user) = &args.registry_user {
            let password = match &args.registry_password_file {
                Some(f) => secret_file("--registry-password-file", f)?,
                None if args.registry_password_stdin => {
                    read_password_stdin("--registry-password-stdin")?
                }
                None => return Err(CliError::usage(
                    "--registry-user needs --registry-password-stdin or --registry-password-file",
                )),
            };
            registry.credentials.user = Some(GivenUser {
                name: user.clone(),
                password,
                origin: "--registry-user".into(),
            });
        }
        registry.credentials.auth_file = args.registry_auth_file.clone();
        Ok(Source {
            run: SourceOptions {
                registry,
                daemon: DaemonOptions {
                    pull: args.pull,
                    env: self.env.clone(),
                    ..DaemonOptions::default()
                },
            },
            read: ReadOptions {
                platform,
                all_platforms: args.all_platforms,
                max_json_bytes: args.max_json_bytes,
                verify_keys: Vec::new(),
            },
        })
    }

    /// The registry cache folder: `--no-registry-cache` none, `--registry-cache DIR`, else
    /// `XNAT_CMD_CACHE`, `$XDG_CACHE_HOME/xnat-cmd`, `$HOME/.cache/xnat-cmd`.
    fn cache_dir(&self, args: &SourceArgs) -> Option<PathBuf> {
        if args.no_registry_cache {
            return None;
        }
        args.registry_cache
            .clone()
            .or_else(|| default_cache_dir(self.env.lookup()))
    }

    /// Commands written to one XNAT site at once (`--xnat-concurrency`, default
    /// [`xnat_cmd::limits::DEFAULT_XNAT_CONCURRENCY`]); 0 counts as 1.
    pub fn xnat_concurrency(&self, args: &ApplyArgs) -> usize {
        args.xnat_concurrency.max(1)
    }

    /// Where the XNAT URL comes from: `--xnat` (or `XNAT_HOST`), else `XNAT_HOST_FILE`.
    pub fn xnat_url_from(&self, args: &XnatArgs) -> UrlFrom {
        match (&args.xnat, self.env.var_os("XNAT_HOST_FILE")) {
            (Some(u), _) => UrlFrom::Given(u.clone()),
            // A mounted Secret (or ConfigMap) key, like XNAT_USER_FILE / XNAT_PASS_FILE.
            (None, Some(f)) if !f.is_empty() => UrlFrom::File(PathBuf::from(f)),
            _ => UrlFrom::Missing,
        }
    }

    /// The XNAT URL ([`Settings::xnat_url_from`]), a file's content trimmed; none is a usage
    /// error.
    pub fn xnat_url(&self, args: &XnatArgs) -> Result<String, CliError> {
        match self.xnat_url_from(args) {
            UrlFrom::Given(u) => Ok(u),
            UrlFrom::File(f) => Ok(secret_file("XNAT_HOST_FILE", &f)?
                .expose()
                .trim()
                .to_string()),
            UrlFrom::Missing => Err(CliError::usage(
                "no XNAT URL: pass --xnat URL or set XNAT_HOST (or XNAT_HOST_FILE)",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    use crate::args::{Cli, Command};

    fn parse(argv: &[&str]) -> Cli {
        Cli::try_parse_from(argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"))
    }

    /// `xnat-cmd inspect x FLAGS…`.
    fn inspect_with(flags: &[&str]) -> Cli {
        let argv: Vec<&str> = ["xnat-cmd", "inspect", "x"]
            .iter()
            .chain(flags)
            .copied()
            .collect();
        parse(&argv)
    }

    fn source_args(cli: &Cli) -> &SourceArgs {
        match &cli.command {
            Command::Inspect(a) => &a.source,
            other => panic!("not inspect: {other:?}"),
        }
    }

    fn xnat_args(cli: &Cli) -> &XnatArgs {
        match &cli.command {
            Command::List(a) => &a.xnat,
            other => panic!("not list: {other:?}"),
        }
    }

    /// A case's command-line arguments and environment.
    type Args<'a> = &'a [&'a str];
    type Vars<'a> = &'a [(&'a str, &'a str)];

    /// The cache folder, first set wins: flags, then XNAT_CMD_CACHE, XDG_CACHE_HOME, HOME.
    #[test]
    fn cache_dir_precedence() {
        let all = [
            ("XNAT_CMD_CACHE", "/c"),
            ("XDG_CACHE_HOME", "/x"),
            ("HOME", "/h"),
        ];
        let p = |s: &str| Some(PathBuf::from(s));
        let cases: [(Args, Vars, Option<PathBuf>); 7] = [
            (&["--registry-cache", "/flag"], &all, p("/flag")),
            (&["--no-registry-cache"], &all, None),
            (&[], &all, p("/c")),
            (
                &[],
                &[
                    ("XNAT_CMD_CACHE", ""),
                    ("XDG_CACHE_HOME", "/x"),
                    ("HOME", "/h"),
                ],
                p("/x/xnat-cmd"),
            ),
            (&[], &[("HOME", "/h")], p("/h/.cache/xnat-cmd")),
            (&[], &[("HOME", "")], None),
            (&[], &[], None),
        ];
        for (flags, vars, want) in cases {
            let cli = inspect_with(flags);
            let settings = Settings::resolve(&cli.global, Env::from_pairs(vars.iter().copied()));
            let got = settings.source(source_args(&cli)).unwrap();
            assert_eq!(got.run.registry.cache_dir, want, "{flags:?} {vars:?}");
        }
    }

    /// The retry backoff base: XNAT_CMD_BACKOFF_MS in milliseconds, else the default; it
    /// reaches the registry options (the XNAT and Pushgateway options take the same field).
    #[test]
    fn backoff_base_from_the_environment() {
        let ms = Duration::from_millis;
        let cases: [(Vars, Duration); 5] = [
            (&[(BACKOFF_ENV, "1")], ms(1)),
            (&[(BACKOFF_ENV, " 50 ")], ms(50)),
            (&[(BACKOFF_ENV, "soon")], DEFAULT_BACKOFF_BASE),
            (&[(BACKOFF_ENV, "")], DEFAULT_BACKOFF_BASE),
            (&[], DEFAULT_BACKOFF_BASE),
        ];
        let cli = parse(&["xnat-cmd", "inspect", "x"]);
        for (vars, want) in cases {
            let settings = Settings::resolve(&cli.global, Env::from_pairs(vars.iter().copied()));
            assert_eq!(settings.backoff_base, want, "{vars:?}");
            let got = settings.source(source_args(&cli)).unwrap();
            assert_eq!(got.run.registry.backoff_base, want, "{vars:?}");
        }
    }

    /// The XNAT URL: the flag (or XNAT_HOST, which clap reads with it), else XNAT_HOST_FILE.
    #[test]
    fn xnat_url_precedence() {
        let file = [("XNAT_HOST_FILE", "/run/secrets/host")];
        let cases: [(Args, Vars, UrlFrom); 4] = [
            (
                &["--xnat", "https://flag"],
                &file,
                UrlFrom::Given("https://flag".into()),
            ),
            (&[], &file, UrlFrom::File("/run/secrets/host".into())),
            (&[], &[("XNAT_HOST_FILE", "")], UrlFrom::Missing),
            (&[], &[], UrlFrom::Missing),
        ];
        for (flags, vars, want) in cases {
            let argv: Vec<&str> = ["xnat-cmd", "list"].iter().chain(flags).copied().collect();
            let cli = parse(&argv);
            let settings = Settings::resolve(&cli.global, Env::from_pairs(vars.iter().copied()));
            assert_eq!(
                settings.xnat_url_from(xnat_args(&cli)),
                want,
                "{flags:?} {vars:?}"
            );
        }
        let cli = parse(&["xnat-cmd", "list"]);
        let e = Settings::resolve(&cli.global, Env::default())
            .xnat_url(xnat_args(&cli))
            .unwrap_err();
        let CliError::Usage(p) = e else {
            panic!("{e:?}")
        };
        assert_eq!(
            p.error,
            "no XNAT URL: pass --xnat URL or set XNAT_HOST (or XNAT_HOST_FILE)"
        );
    }

    /// Commands written to a site at once: the flag (0 counts as 1), else the default, for
    /// `install` and `sync` alike.
    #[test]
    fn xnat_concurrency_flag() {
        let cases: [(Args, usize); 4] = [
            (&[], xnat_cmd::limits::DEFAULT_XNAT_CONCURRENCY),
            (&["--xnat-concurrency", "1"], 1),
            (&["--xnat-concurrency", "16"], 16),
            (&["--xnat-concurrency", "0"], 1),
        ];
        for (flags, want) in cases {
            for head in [["xnat-cmd", "install", "x"], ["xnat-cmd", "sync", "f.yaml"]] {
                let argv: Vec<&str> = head.iter().chain(flags).copied().collect();
                let cli = parse(&argv);
                let apply = match &cli.command {
                    Command::Install(a) => &a.apply,
                    Command::Sync(a) => &a.apply,
                    other => panic!("not install or sync: {other:?}"),
                };
                let s = Settings::resolve(&cli.global, Env::default());
                assert_eq!(s.xnat_concurrency(apply), want, "{argv:?}");
            }
        }
    }

    /// Logging and colour: XNAT_CMD_LOG is tried before -v's level; NO_COLOR (even empty)
    /// turns colour off.
    #[test]
    fn log_and_colour() {
        let cases: [(Args, Vars, Option<&str>, &str, bool); 5] = [
            (&[], &[], None, "warn", false),
            (&["-v"], &[], None, "xnat_cmd=info", false),
            (
                &["-vv"],
                &[("XNAT_CMD_LOG", "debug")],
                Some("debug"),
                "xnat_cmd=debug",
                false,
            ),
            (&[], &[("NO_COLOR", "")], None, "warn", true),
            (&[], &[("NO_COLOR", "1")], None, "warn", true),
        ];
        for (flags, vars, from_env, default, no_color) in cases {
            let argv: Vec<&str> = ["xnat-cmd"]
                .iter()
                .chain(flags)
                .chain(&["list"])
                .copied()
                .collect();
            let cli = parse(&argv);
            let s = Settings::resolve(&cli.global, Env::from_pairs(vars.iter().copied()));
            assert_eq!(
                s.log_filter,
                LogFilter {
                    from_env: from_env.map(str::to_string),
                    default
                },
                "{flags:?} {vars:?}"
            );
            assert_eq!(s.no_color, no_color, "{flags:?} {vars:?}");
        }
    }

    /// The numbers: flags, else the defaults of limits.rs; the snapshot reaches the registry
    /// and the daemon options.
    #[test]
    fn source_numbers_and_environment() {
        let cases: [(&[&str], usize, u64, u64); 3] = [
            (
                &[],
                xnat_cmd::limits::DEFAULT_REGISTRY_CONCURRENCY,
                120,
                xnat_cmd::limits::DEFAULT_MAX_JSON_BYTES,
            ),
            (
                &[
                    "--registry-concurrency",
                    "4",
                    "--registry-timeout",
                    "7",
                    "--max-json-bytes",
                    "99",
                ],
                4,
                7,
                99,
            ),
            // Passed through as given: the transport counts 0 as 1, the deadline is at least 1 s.
            (
                &["--registry-concurrency", "0", "--registry-timeout", "0"],
                0,
                1,
                xnat_cmd::limits::DEFAULT_MAX_JSON_BYTES,
            ),
        ];
        let env = Env::from_pairs([("DOCKER_HOST", "unix:///d.sock")]);
        for (flags, concurrency, timeout, cap) in cases {
            let cli = inspect_with(flags);
            let s = Settings::resolve(&cli.global, env.clone())
                .source(source_args(&cli))
                .unwrap();
            assert_eq!(
                s.run.registry.per_registry_concurrency, concurrency,
                "{flags:?}"
            );
            assert_eq!(
                s.run.registry.image_deadline,
                Duration::from_secs(timeout),
                "{flags:?}"
            );
            assert_eq!(s.read.max_json_bytes, cap, "{flags:?}");
            assert_eq!(s.run.registry.env, env);
            assert_eq!(s.run.daemon.env, env);
        }
    }
}
