//! The process environment, read once: [`Env`] is a snapshot the binary takes at start-up
//! ([`Env::from_process`], the only place in the library or the binary that reads the process
//! environment; `clippy.toml` forbids `std::env::var*` everywhere else) and passes down to
//! whatever needs a variable: the registry credential chain, the daemon's endpoint discovery,
//! the registry's proxy check, the default cache folder, XNAT credentials, the CLI's colour
//! and log settings. The library never reads the environment by itself: a caller that wants
//! the process's passes `Env::from_process()`, a test passes the variables it means
//! ([`Env::from_pairs`]), and the default is empty.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// A snapshot of environment variables. Cheap to clone (shared); its `Debug` shows the names
/// only, never the values (`XNAT_PASS` is one of them).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Env {
    vars: Arc<BTreeMap<OsString, OsString>>,
}

impl Env {
    /// Every variable of the process, now. Called once per run, by the binary's `main`.
    #[allow(clippy::disallowed_methods)] // the one read of the process environment
    pub fn from_process() -> Env {
        Env {
            vars: Arc::new(std::env::vars_os().collect()),
        }
    }

    /// Exactly these variables (tests, embedding); a name given twice keeps the last value.
    pub fn from_pairs<K: Into<OsString>, V: Into<OsString>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Env {
        Env {
            vars: Arc::new(
                pairs
                    .into_iter()
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect(),
            ),
        }
    }

    /// The value of `key` when it is set and UTF-8, as `std::env::var(key).ok()` gives it.
    pub fn var(&self, key: &str) -> Option<&str> {
        self.var_os(key).and_then(OsStr::to_str)
    }

    /// The value of `key` when it is set, whatever its bytes, as `std::env::var_os` gives it.
    pub fn var_os(&self, key: &str) -> Option<&OsStr> {
        self.vars.get(OsStr::new(key)).map(OsString::as_os_str)
    }

    /// [`Env::var`], an empty value counting as unset (as the XDG and docker conventions read
    /// their variables).
    pub fn non_empty(&self, key: &str) -> Option<&str> {
        self.var(key).filter(|v| !v.is_empty())
    }

    /// A path variable (`HOME`, `DOCKER_CONFIG`, …): set and non-empty, any bytes.
    pub fn path(&self, key: &str) -> Option<PathBuf> {
        self.var_os(key)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    }

    /// A lookup for the APIs that take one (`Fn(&str) -> Option<String>`), answering as
    /// [`Env::var`].
    pub fn lookup(&self) -> impl Fn(&str) -> Option<String> + '_ {
        |k| self.var(k).map(str::to_string)
    }
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values may be secrets (XNAT_PASS, DOCKER_AUTH_CONFIG): names only.
        f.debug_set().entries(self.vars.keys()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStringExt as _;

    #[test]
    fn reads_as_std_env_does() {
        let env = Env::from_pairs([
            (OsString::from("A"), OsString::from("1")),
            (OsString::from("EMPTY"), OsString::new()),
            (
                OsString::from("BYTES"),
                OsString::from_vec(vec![0xff, b'x']),
            ),
        ]);
        let cases: [(&str, Option<&str>, Option<&str>, bool); 4] = [
            ("A", Some("1"), Some("1"), true),
            ("EMPTY", Some(""), None, false),
            // Not UTF-8: unset for `var` (as `std::env::var(..).ok()`), a path for `path`.
            ("BYTES", None, None, true),
            ("UNSET", None, None, false),
        ];
        for (key, var, non_empty, is_path) in cases {
            assert_eq!(env.var(key), var, "{key}");
            assert_eq!(env.non_empty(key), non_empty, "{key}");
            assert_eq!(env.path(key).is_some(), is_path, "{key}");
            assert_eq!(env.lookup()(key), var.map(str::to_string), "{key}");
        }
        assert_eq!(env.var_os("BYTES").map(|v| v.len()), Some(2));
    }

    #[test]
    fn debug_shows_names_never_values() {
        let env = Env::from_pairs([("XNAT_PASS", "hunter22"), ("HOME", "/h")]);
        let shown = format!("{env:?}");
        assert_eq!(shown, r#"{"HOME", "XNAT_PASS"}"#);
    }
}
