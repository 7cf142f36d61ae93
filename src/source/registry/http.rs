//! The run's HTTP clients, each built on first use. A client that trusts the system roots reads
//! and parses the whole certificate store when it is built (about 4 ms, ~300 files under
//! `/etc/ssl/certs` on Debian), which a run against an insecure or plain-HTTP registry never
//! needs; the other two clients load no roots at all.
//!
//! The verifying client keeps the full system store (bundle file *and* directory, via
//! `rustls-native-certs`, which honours `SSL_CERT_FILE`/`SSL_CERT_DIR`): loading only the
//! bundle file would be ~3x cheaper, but a CA that an institution put only into the hashed
//! directory (`c_rehash` without `update-ca-certificates`) would stop being trusted, and OpenSSL,
//! Go (skopeo, docker) and the previous behaviour all trust it.

use std::time::Duration;

use tokio::sync::OnceCell;

use super::{RegistryError, RegistryOptions};
use crate::http::client::{builder, direct_http};
use crate::http::{ca_bundle, CaError};

pub(super) struct Clients {
    connect_timeout: Duration,
    /// `--registry-ca` certificates, read up front so a bad file fails the run at start-up.
    extra_roots: Vec<reqwest::Certificate>,
    /// No proxy applies to `http://` URLs, so such a request makes no TLS connection at all.
    direct_http: bool,
    /// System roots + `--registry-ca`: every HTTPS request that is verified.
    verify: OnceCell<reqwest::Client>,
    /// `--insecure-registry` hosts: no verification, hence no roots.
    no_verify: OnceCell<reqwest::Client>,
    /// Plain `http://` URLs: verification on but no roots, so any TLS it might do fails closed.
    plain: OnceCell<reqwest::Client>,
}

#[derive(Clone, Copy)]
enum Kind {
    Verify,
    NoVerify,
    Plain,
}

impl Clients {
    pub(super) fn new(opts: &RegistryOptions) -> Result<Self, RegistryError> {
        let mut extra_roots = vec![];
        for path in &opts.ca_files {
            let pem = crate::limits::read_file(path, crate::limits::MAX_CONFIG_FILE_BYTES)
                .map_err(|source| RegistryError::CaFile {
                    path: path.clone(),
                    source,
                })?;
            let certs = ca_bundle(&pem).map_err(|e| match e {
                CaError::Unreadable(source) => RegistryError::CaPem {
                    path: path.clone(),
                    source,
                },
                CaError::Client(source) => RegistryError::Client(source),
                CaError::Empty => RegistryError::CaFile {
                    path: path.clone(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "no PEM certificate in the file",
                    ),
                },
            })?;
            extra_roots.extend(certs);
        }
        Ok(Clients {
            connect_timeout: opts.connect_timeout,
            extra_roots,
            direct_http: direct_http(&opts.env),
            verify: OnceCell::new(),
            no_verify: OnceCell::new(),
            plain: OnceCell::new(),
        })
    }

    /// The client for a request to `url`; `insecure` for hops to an `--insecure-registry`.
    pub(super) async fn pick(
        &self,
        url: &str,
        insecure: bool,
    ) -> Result<&reqwest::Client, RegistryError> {
        let is_http = url
            .get(..7)
            .is_some_and(|p| p.eq_ignore_ascii_case("http://"));
        let (cell, kind) = if insecure {
            (&self.no_verify, Kind::NoVerify)
        } else if is_http && self.direct_http {
            (&self.plain, Kind::Plain)
        } else {
            (&self.verify, Kind::Verify)
        };
        cell.get_or_try_init(|| async { self.build(kind) }).await
    }

    fn build(&self, kind: Kind) -> Result<reqwest::Client, RegistryError> {
        // Registry requests have no deadline of their own: the image's deadline covers them.
        let roots: &[reqwest::Certificate] = match kind {
            Kind::Verify => &self.extra_roots,
            Kind::NoVerify | Kind::Plain => &[],
        };
        let mut b = builder(self.connect_timeout, None, roots);
        match kind {
            Kind::Verify => {}
            Kind::NoVerify => {
                b = b
                    .tls_built_in_root_certs(false)
                    .danger_accept_invalid_certs(true)
            }
            Kind::Plain => b = b.tls_built_in_root_certs(false),
        }
        b.build().map_err(RegistryError::Client)
    }
}
