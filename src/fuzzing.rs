//! The parsers the fuzz targets in `fuzz/` reach that are not otherwise public: the
//! `WWW-Authenticate` challenge parser and the netrc reader. Hidden from the docs and not a
//! stable API; each function here only forwards to the product code, so what is fuzzed is
//! exactly what runs.

use crate::source::registry::Challenge;

/// The challenges in one `WWW-Authenticate` header value
/// (see `source::registry::challenge::parse`).
pub fn www_authenticate(value: &str) -> Vec<Challenge> {
    crate::source::registry::challenge::parse(value)
}

/// The entries of a netrc file as `(machine, login, password)`; `machine` is `None` for
/// `default` (see `xnat::credentials::parse_netrc`).
pub fn netrc(text: &str) -> Vec<(Option<String>, Option<String>, Option<String>)> {
    crate::xnat::credentials::parse_netrc(text)
        .into_iter()
        .map(|e| (e.machine, e.login, e.password))
        .collect()
}
