//! TLS failure detection shared by the HTTP clients (registry, XNAT): tell "the server's
//! certificate is not trusted" apart from other connection failures, so the error can name
//! the flag that fixes it.

use tokio_rustls::rustls;

/// Does a reqwest error come from certificate verification (not a protocol mismatch)?
///
/// reqwest has no typed accessor for this. The rustls error sits inside an `io::Error` whose
/// `source()` skips it, so each level is checked by downcast; the text match covers chains
/// where the rustls error was flattened into a message.
pub(crate) fn is_cert_error(e: &reqwest::Error) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if is_rustls_cert_error(err) {
            return true;
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if io
                .get_ref()
                .is_some_and(|inner| is_rustls_cert_error(inner))
            {
                return true;
            }
        }
        let s = err.to_string();
        if s.contains("invalid peer certificate")
            || s.contains("UnknownIssuer")
            || s.contains("certificate")
        {
            return true;
        }
        cur = err.source();
    }
    false
}

fn is_rustls_cert_error(e: &(dyn std::error::Error + 'static)) -> bool {
    matches!(
        e.downcast_ref::<rustls::Error>(),
        Some(rustls::Error::InvalidCertificate(_))
    )
}
