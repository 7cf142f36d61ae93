//! From `XnatArgs` and the environment to a logged-in, preflighted XNAT client; a fleet run's
//! sites chosen and prepared from them.

use xnat_cmd::fleet::sites::{self, SiteError, SiteTarget};
use xnat_cmd::fleet::Fleet;
use xnat_cmd::problem::Problem;
use xnat_cmd::xnat::credentials::{resolve, resolve_site, CredentialInputs, Credentials};
use xnat_cmd::xnat::preflight::{preflight, ServerInfo};
use xnat_cmd::xnat::{parse_base, ClientOptions, XnatClient, XnatError};

use crate::args::{read_password_stdin, secret_file, XnatArgs};
use crate::output::CliError;
use crate::settings::Settings;

/// Build the client, log in and run the preflight (role check when `will_write`).
pub async fn connect(
    args: &XnatArgs,
    settings: &Settings,
    will_write: bool,
) -> Result<(XnatClient, ServerInfo), CliError> {
    open(prepare(args, settings)?, will_write).await
}

/// Log in and run the preflight on a prepared client (role check when `will_write`); the
/// session is closed again when the preflight fails.
pub async fn open(
    client: XnatClient,
    will_write: bool,
) -> Result<(XnatClient, ServerInfo), CliError> {
    match preflight(&client, will_write).await {
        Ok(info) => Ok((client, info)),
        Err(e) => {
            client.logout().await;
            Err(CliError::work_of(&e))
        }
    }
}

/// The client of `--xnat`/`XNAT_HOST`(`_FILE`) with its credentials resolved, nothing sent:
/// a missing URL or credentials is a usage error before any image is read.
pub fn prepare(args: &XnatArgs, settings: &Settings) -> Result<XnatClient, CliError> {
    let url = settings.xnat_url(args)?;
    let base = parse_base(&url).map_err(|e| CliError::usage_of(&e))?;
    let flag_password = match (&args.password_file, args.password_stdin) {
        (Some(f), _) => Some(secret_file("--password-file", f)?),
        (None, true) => Some(read_password_stdin("--password-stdin")?),
        (None, false) => None,
    };
    if flag_password.is_some() && args.user.is_none() {
        return Err(CliError::usage(
            "--password-stdin and --password-file need --user",
        ));
    }
    let inputs =
        CredentialInputs::from_env(args.user.clone(), flag_password, settings.env().lookup())
            .map_err(|e| CliError::usage_of(&e))?;
    let host = base
        .host_str()
        .unwrap_or_default()
        .trim_matches(['[', ']'])
        .to_string();
    let creds = resolve(&inputs, &host, base.port()).map_err(|e| CliError::usage_of(&e))?;
    build(base, creds, args, settings)
}

/// A fleet site: its URL, credentials from its `user-env`/`password-env`, else netrc, else
/// `XNAT_USER`/`XNAT_PASS`; TLS options from the command line. Nothing is sent yet.
pub fn prepare_site(
    name: &str,
    url: &str,
    vars: (Option<&str>, Option<&str>),
    args: &XnatArgs,
    settings: &Settings,
) -> Result<XnatClient, CliError> {
    let base = parse_base(url).map_err(|e| CliError::usage_of(&e))?;
    let host = base
        .host_str()
        .unwrap_or_default()
        .trim_matches(['[', ']'])
        .to_string();
    let creds = resolve_site(name, vars, settings.env().lookup(), &host, base.port())
        .map_err(|e| CliError::usage_of(&e))?;
    build(base, creds, args, settings)
}

fn build(
    base: url::Url,
    creds: Credentials,
    args: &XnatArgs,
    settings: &Settings,
) -> Result<XnatClient, CliError> {
    tracing::debug!("XNAT credentials from {}", creds.source);
    let ca_cert_pem = match &args.ca_cert {
        Some(p) => Some(
            xnat_cmd::limits::read_file(p, xnat_cmd::limits::MAX_CONFIG_FILE_BYTES).map_err(
                |e| {
                    CliError::usage(format!(
                        "failed to read CA certificate `{}`: {e}",
                        p.display()
                    ))
                },
            )?,
        ),
        None => None,
    };
    let opts = ClientOptions {
        ca_cert_pem,
        insecure: args.insecure,
        timeout: None,
        backoff_base: settings.backoff_base,
    };
    XnatClient::new(base, creds, &opts).map_err(|e| match (&e, &args.ca_cert) {
        // A bad --ca-cert is a usage error: say which file and what it needs.
        (XnatError::BadCa(source), Some(p)) => CliError::usage(format!(
            "CA certificate `{}` is not valid PEM ({source}): pass the site's CA certificate in PEM form",
            p.display()
        )),
        (XnatError::NoCa, Some(p)) => CliError::usage(format!(
            "CA certificate `{}` holds no PEM certificate (-----BEGIN CERTIFICATE-----): pass the site's CA certificate in PEM form",
            p.display()
        )),
        _ => CliError::work_of(&e),
    })
}

/// The sites of a fleet run (`--site`, all when none), as usage errors naming the flag.
pub fn choose_sites(fleet: &Fleet, chosen: &[String]) -> Result<Vec<SiteTarget>, CliError> {
    sites::choose_sites(fleet, chosen).map_err(|e| match e {
        SiteError::NoSites { name } => CliError::usage(format!(
            "--site {name}: the fleet file has no `sites:`; it syncs the one XNAT of --xnat / XNAT_HOST"
        )),
        SiteError::Unknown {
            name,
            near,
            available,
        } => {
            // A near miss (`prdo`, `Prod`) gets the name it most likely meant.
            let near = near
                .map(|n| format!(" (did you mean `{n}`?)"))
                .unwrap_or_default();
            CliError::usage(format!(
                "--site {name}{near}: the fleet file defines no such site (it has: {})",
                available.join(", ")
            ))
        }
    })
}

/// Every chosen site's client, before any image is read: a file's site with its own
/// credentials, or `--xnat`/`XNAT_HOST` for the default site. A usage error (no URL, no
/// credentials, an unset `user-env`) stops the run; a site that cannot be prepared otherwise
/// fails alone.
pub fn prepare_sites(
    sites: &[SiteTarget],
    xnat: &XnatArgs,
    settings: &Settings,
) -> Result<Vec<Result<XnatClient, Problem>>, CliError> {
    sites::prepare_sites(sites, |site| {
        let client = match &site.url {
            Some(u) => prepare_site(
                &site.name,
                u,
                (site.user_env.as_deref(), site.password_env.as_deref()),
                xnat,
                settings,
            ),
            None => prepare(xnat, settings),
        };
        match client {
            Ok(client) => Ok(Ok(client)),
            Err(CliError::Usage(p)) => Err(CliError::Usage(p)),
            Err(CliError::Work(p)) => Ok(Err(p)),
        }
    })
}
