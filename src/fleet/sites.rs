//! The sites of a fleet run: which are chosen ([`SiteTarget`], `sites:` or the one default
//! site), each one's client prepared before any image is read ([`prepare_sites`]), and the one
//! loop over them that `sync` and `status` share ([`for_each_site`], several sites at once,
//! reports in the sites' order): the site's report, the login and preflight, the job, the
//! logout. How a site's URL and credentials become a client is the caller's (the binary
//! resolves them from its arguments and the environment).

use crate::problem::{problem, Problem};
use crate::xnat::preflight::preflight;
use crate::xnat::XnatClient;

use super::run::{Declared, Loaded};
use super::Fleet;

/// The site a fleet file without `sites:` runs against: the XNAT the caller names.
pub const DEFAULT_SITE: &str = "default";

/// One site a run goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteTarget {
    pub name: String,
    /// The file's `url:`; `None` for the default site of a file without `sites:`, whose XNAT
    /// the caller names.
    pub url: Option<String>,
    /// The site's `user-env` / `password-env`: environment variable names holding its
    /// credentials.
    pub user_env: Option<String>,
    pub password_env: Option<String>,
}

/// A chosen site the fleet file does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SiteError {
    /// A named site, but the file has no `sites:` (only the default site).
    #[error("site `{name}` is chosen, but the fleet file has no `sites:`: it runs against one XNAT, its default site")]
    NoSites { name: String },
    #[error("the fleet file defines no site `{name}` (it has: {})", available.join(", "))]
    Unknown {
        name: String,
        /// The file's site the name most likely meant (`prdo`, `Prod` → `prod`).
        near: Option<String>,
        available: Vec<String>,
    },
}

/// The sites of `fleet` a run goes to: those named in `chosen` (all when empty), in file order;
/// the one [`DEFAULT_SITE`] when the file has no `sites:`.
pub fn choose_sites(fleet: &Fleet, chosen: &[String]) -> Result<Vec<SiteTarget>, SiteError> {
    if fleet.sites.is_empty() {
        if let Some(s) = chosen.iter().find(|s| *s != DEFAULT_SITE) {
            return Err(SiteError::NoSites { name: s.clone() });
        }
        return Ok(vec![SiteTarget {
            name: DEFAULT_SITE.to_string(),
            url: None,
            user_env: None,
            password_env: None,
        }]);
    }
    for s in chosen {
        if !fleet.sites.iter().any(|x| &x.name == s) {
            let available: Vec<String> = fleet.sites.iter().map(|x| x.name.clone()).collect();
            let near = available
                .iter()
                .map(|n| (strsim::levenshtein(&s.to_lowercase(), &n.to_lowercase()), n))
                .filter(|(d, _)| *d <= 2)
                .min()
                .map(|(_, n)| n.clone());
            return Err(SiteError::Unknown {
                name: s.clone(),
                near,
                available,
            });
        }
    }
    Ok(fleet
        .sites
        .iter()
        .filter(|s| chosen.is_empty() || chosen.contains(&s.name))
        .map(|s| SiteTarget {
            name: s.name.clone(),
            url: Some(s.url.clone()),
            user_env: s.user_env.clone(),
            password_env: s.password_env.clone(),
        })
        .collect())
}

/// Every chosen site's client, before any image is read, nothing sent: `prepare` answers
/// `Err` for a mistake that stops the run now (a missing URL or credentials: not after
/// minutes of registry reads), `Ok(Err)` for a site that cannot be prepared and fails alone.
pub fn prepare_sites<E>(
    sites: &[SiteTarget],
    prepare: impl FnMut(&SiteTarget) -> Result<Result<XnatClient, Problem>, E>,
) -> Result<Vec<Result<XnatClient, Problem>>, E> {
    sites.iter().map(prepare).collect()
}

/// What a fleet run does on each site, and the report it keeps of it: `sync` and `status`.
// `async fn` in a public trait: its futures are not declared `Send`, which is right here —
// a run drives its sites together on the caller's task ([`for_each_site`]), never spawned.
#[allow(async_fn_in_trait)]
pub trait SiteJob {
    type Report;

    /// The job writes: the preflight checks the role that writing needs.
    fn writes(&self) -> bool;

    /// The site's report before connecting, so a site that cannot be reached still reports
    /// what is declared for it.
    fn report(&self, site: &SiteTarget, declared: &[Declared]) -> Self::Report;

    /// The client is prepared: its base URL is the one the report names.
    fn connecting(&self, report: &mut Self::Report, client: &XnatClient);

    /// The site could not be run at all (no client, no login, the preflight refused).
    fn failed(&self, report: &mut Self::Report, problem: Problem);

    /// The job on a logged-in, preflighted client; its failures go into the report.
    async fn run(&self, client: &XnatClient, report: &mut Self::Report, declared: &[Declared]);
}

/// Run `job` on every site (`clients`: from [`prepare_sites`], one per site), up to
/// [`crate::limits::SITES_IN_FLIGHT`] sites at once: what the fleet declares for the site,
/// its report, login and preflight, the job, logout. One site's failure is its report's; the
/// others go on. Sites on the same host and port may be one XNAT under two names (two
/// sites of a file naming one server): they run one after the other, in the file's order, so
/// the second plans from what the first wrote, as it always did. The reports come back in the
/// sites' order, and `done` sees each in that order as soon as it and the sites before it
/// have ended (a caller printing per site prints them grouped and in the file's order).
pub async fn for_each_site<J: SiteJob>(
    job: &J,
    fleet: &Fleet,
    loaded: &Loaded,
    sites: &[SiteTarget],
    clients: Vec<Result<XnatClient, Problem>>,
    mut done: impl FnMut(&SiteTarget, &J::Report),
) -> Vec<J::Report> {
    use futures::stream::StreamExt as _;
    // One lock per server; the first site polled takes it first (tokio's lock is fair), and
    // `buffered` polls the sites in order.
    let servers: std::collections::HashMap<String, tokio::sync::Mutex<()>> = clients
        .iter()
        .filter_map(|c| c.as_ref().ok().map(|c| (server_key(c), Default::default())))
        .collect();
    let servers = &servers;
    let mut runs = futures::stream::iter(sites.iter().zip(clients))
        .map(|(site, client)| async move {
            let server = client
                .as_ref()
                .ok()
                .and_then(|c| servers.get(&server_key(c)));
            let _one_at_a_time = match server {
                Some(lock) => Some(lock.lock().await),
                None => None,
            };
            (site, run_site(job, fleet, loaded, site, client).await)
        })
        // In order, whichever site ends first.
        .buffered(crate::limits::SITES_IN_FLIGHT);
    let mut reports = Vec::with_capacity(sites.len());
    while let Some((site, report)) = runs.next().await {
        done(site, &report);
        reports.push(report);
    }
    reports
}

/// The server a client talks to, as far as a URL tells: its host and port.
fn server_key(client: &XnatClient) -> String {
    let base = client.base();
    format!(
        "{}:{}",
        base.host_str().unwrap_or_default(),
        base.port_or_known_default().unwrap_or_default()
    )
}

/// `job` on one site, start to end, into the site's report.
async fn run_site<J: SiteJob>(
    job: &J,
    fleet: &Fleet,
    loaded: &Loaded,
    site: &SiteTarget,
    client: Result<XnatClient, Problem>,
) -> J::Report {
    let declared = loaded.declared_for(fleet, &site.name);
    let mut report = job.report(site, &declared);
    match client {
        Ok(client) => {
            job.connecting(&mut report, &client);
            match preflight(&client, job.writes()).await {
                Ok(_info) => {
                    job.run(&client, &mut report, &declared).await;
                    client.logout().await;
                }
                Err(e) => {
                    // The session is closed again when the preflight fails.
                    client.logout().await;
                    job.failed(&mut report, problem(&e));
                }
            }
        }
        Err(p) => job.failed(&mut report, p),
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::Site;

    fn fleet(sites: &[&str]) -> Fleet {
        Fleet {
            images: Vec::new(),
            prune: Vec::new(),
            has_prune: false,
            sites: sites
                .iter()
                .map(|name| Site {
                    name: name.to_string(),
                    url: format!("https://{name}.example.org"),
                    user_env: Some(format!("{}_USER", name.to_uppercase())),
                    password_env: None,
                })
                .collect(),
        }
    }

    fn names(chosen: &[&str], sites: &[&str]) -> Result<Vec<String>, SiteError> {
        let chosen: Vec<String> = chosen.iter().map(|s| s.to_string()).collect();
        choose_sites(&fleet(sites), &chosen).map(|s| s.into_iter().map(|t| t.name).collect())
    }

    #[test]
    fn choose_sites_table() {
        let unknown = |name: &str, near: Option<&str>| SiteError::Unknown {
            name: name.into(),
            near: near.map(String::from),
            available: vec!["staging".into(), "prod".into()],
        };
        let both = ["staging", "prod"];
        // chosen, the file's sites → the run's sites
        type Case<'a> = (&'a [&'a str], &'a [&'a str], Result<Vec<String>, SiteError>);
        let cases: Vec<Case> = vec![
            (&[], &[], Ok(vec![DEFAULT_SITE.into()])),
            (&[DEFAULT_SITE], &[], Ok(vec![DEFAULT_SITE.into()])),
            (
                &["prod"],
                &[],
                Err(SiteError::NoSites {
                    name: "prod".into(),
                }),
            ),
            (&[], &both, Ok(vec!["staging".into(), "prod".into()])),
            // In file order, whatever order they are chosen in.
            (
                &["prod", "staging"],
                &both,
                Ok(vec!["staging".into(), "prod".into()]),
            ),
            (&["prod"], &both, Ok(vec!["prod".into()])),
            (&["prdo"], &both, Err(unknown("prdo", Some("prod")))),
            (&["Prod"], &both, Err(unknown("Prod", Some("prod")))),
            (&["qa"], &both, Err(unknown("qa", None))),
        ];
        for (chosen, sites, want) in cases {
            assert_eq!(names(chosen, sites), want, "{chosen:?} of {sites:?}");
        }
    }

    #[test]
    fn a_file_site_carries_its_url_and_credential_variables() {
        let sites = choose_sites(&fleet(&["prod"]), &[]).unwrap_or_default();
        assert_eq!(
            sites,
            vec![SiteTarget {
                name: "prod".into(),
                url: Some("https://prod.example.org".into()),
                user_env: Some("PROD_USER".into()),
                password_env: None,
            }]
        );
        let default = choose_sites(&fleet(&[]), &[]).unwrap_or_default();
        assert_eq!(
            default[0].url, None,
            "the caller names the default site's XNAT"
        );
    }
}
