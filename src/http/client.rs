//! Building a reqwest client the way every server here is spoken to: our user agent, no
//! automatic redirects (each client decides where its credentials may go), rustls, a connect
//! timeout and an optional whole-request deadline; extra PEM CA certificates read by one
//! function ([`pem_certificates`], for reqwest through [`ca_bundle`], for the container
//! daemon's own rustls connection directly); and whether a proxy applies to plain `http://`
//! URLs ([`direct_http`]).

use std::time::Duration;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

/// A non-browser User-Agent, sent to every server (registries, XNAT, the Pushgateway, the
/// container daemon): XNAT answers browser agents with a 302 to its login page.
pub const USER_AGENT: &str = concat!("xnat-cmd/", env!("CARGO_PKG_VERSION"));

/// Why a CA bundle cannot be used. Each client maps it into its own error, which names the
/// file or flag it came from.
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    #[error("the CA certificate is not valid PEM")]
    Unreadable(#[source] rustls_pki_types::pem::Error),
    /// Non-PEM text parses as an empty bundle; trusting nothing extra would only fail later
    /// with a misleading "not trusted".
    #[error("the CA certificate holds no PEM certificate (-----BEGIN CERTIFICATE-----)")]
    Empty,
    /// The HTTP library refused a parsed certificate.
    #[error("the CA certificate cannot be used")]
    Client(#[source] reqwest::Error),
}

/// The certificates of a PEM bundle (other PEM sections, such as a key, are skipped); one at
/// least.
pub fn pem_certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, CaError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(CaError::Unreadable)?;
    if certs.is_empty() {
        return Err(CaError::Empty);
    }
    Ok(certs)
}

/// [`pem_certificates`] for a reqwest client.
pub fn ca_bundle(pem: &[u8]) -> Result<Vec<reqwest::Certificate>, CaError> {
    pem_certificates(pem)?
        .iter()
        // With rustls, `from_der` only keeps the bytes: it cannot fail on parsed DER.
        .map(|der| reqwest::Certificate::from_der(der.as_ref()).map_err(CaError::Client))
        .collect()
}

/// A client builder with the settings every server shares: [`USER_AGENT`], redirects left to
/// the caller, rustls, `connect_timeout`, and `timeout` for a whole request (body included)
/// when given; `roots` are trusted besides the system's.
pub fn builder(
    connect_timeout: Duration,
    timeout: Option<Duration>,
    roots: &[reqwest::Certificate],
) -> reqwest::ClientBuilder {
    let mut b = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(connect_timeout)
        .use_rustls_tls();
    if let Some(t) = timeout {
        b = b.timeout(t);
    }
    for c in roots {
        b = b.add_root_certificate(c.clone());
    }
    b
}

/// No proxy applies to `http://` URLs in `env` (the run's snapshot, which reqwest's own reading
/// of the process environment matches): the variables reqwest (hyper-util's matcher) reads
/// for them are unset. A proxy may itself be `https://`, and then even a plain-HTTP request
/// needs a client that verifies certificates.
pub fn direct_http(env: &crate::env::Env) -> bool {
    ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]
        .iter()
        .all(|v| !matches!(env.var_os(v), Some(s) if !s.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundle_without_certificates_is_refused() {
        assert!(matches!(ca_bundle(b"not pem"), Err(CaError::Empty)));
        assert!(matches!(ca_bundle(b""), Err(CaError::Empty)));
        let cut = b"-----BEGIN CERTIFICATE-----\nMIIB\n";
        assert!(matches!(ca_bundle(cut), Err(CaError::Unreadable(_))));
    }

    /// Both kinds of client read the same certificates from a bundle with a key in it.
    #[test]
    fn a_bundle_gives_its_certificates_to_either_client() {
        let (ca, cert, key) = xnat_cmd_testkit::pki::test_pki();
        let pem = format!("{ca}{key}{cert}");
        assert_eq!(pem_certificates(pem.as_bytes()).unwrap().len(), 2);
        assert_eq!(ca_bundle(pem.as_bytes()).unwrap().len(), 2);
    }
}
