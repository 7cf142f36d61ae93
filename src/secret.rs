//! Secrets (passwords, tokens) in a type that never prints its content.
//!
//! `Debug` and `Display` write `<redacted>`, so a secret that ends up in a log line or an
//! error message by accident leaks nothing; the value is reachable only through
//! [`Secret::expose`], which makes every real use easy to find.

use std::fmt;

#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

/// Every secret value the process has held (and, for a `Bearer x` / `Basic x` header, the
/// credential after the scheme), so that text from outside can be redacted before a message
/// quotes it ([`crate::summary`]): a server or helper that echoes the password must not get
/// it printed. Bounded: a run holds a few credentials and a token per scope.
static KNOWN: std::sync::Mutex<std::collections::BTreeSet<String>> =
    std::sync::Mutex::new(std::collections::BTreeSet::new());

/// Most secrets remembered for redaction.
const MAX_KNOWN: usize = 4096;

/// Values shorter than this are not redacted (a one-letter password would blank every `a`).
const MIN_KNOWN_LEN: usize = 4;

fn remember(value: &str) {
    let mut known = KNOWN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let tail = value
        .split_once(' ')
        .filter(|(scheme, _)| matches!(scheme.to_ascii_lowercase().as_str(), "bearer" | "basic"))
        .map(|(_, t)| t);
    for v in std::iter::once(value).chain(tail) {
        if v.len() >= MIN_KNOWN_LEN && known.len() < MAX_KNOWN {
            known.insert(v.to_string());
        }
    }
}

/// The secrets to redact, longest first (so a secret containing another goes whole).
pub fn known() -> Vec<String> {
    let known = KNOWN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut v: Vec<String> = known.iter().cloned().collect();
    v.sort_by_key(|s| std::cmp::Reverse(s.len()));
    v
}

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        remember(&value);
        Secret(value)
    }

    /// The secret itself: call only where it goes on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

pub use crate::limits::MAX_SECRET_FILE_BYTES;

/// Why a secret file gave no secret. Never carries the file's content.
#[derive(Debug, thiserror::Error)]
pub enum SecretFileError {
    #[error("failed to read the secret file `{path}`")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the secret file `{path}` is empty")]
    Empty { path: String },
    #[error("the secret file `{path}` is larger than {MAX_SECRET_FILE_BYTES} bytes: is it the right file?")]
    TooLarge { path: String },
    #[error("the secret file `{path}` is not UTF-8 text")]
    NotText { path: String },
}

impl Secret {
    /// A secret from a file, as Kubernetes mounts a Secret's key: the whole content, one
    /// trailing line ending (`\n` or `\r\n`) removed. The file's mode is not checked.
    pub fn from_file(path: &std::path::Path) -> Result<Secret, SecretFileError> {
        use std::io::Read as _;
        let shown = path.display().to_string();
        let read = |source| SecretFileError::Read {
            path: shown.clone(),
            source,
        };
        let mut raw = Vec::new();
        crate::limits::open_regular(path)
            .map_err(read)?
            .take(MAX_SECRET_FILE_BYTES + 1)
            .read_to_end(&mut raw)
            .map_err(read)?;
        if raw.len() as u64 > MAX_SECRET_FILE_BYTES {
            return Err(SecretFileError::TooLarge { path: shown });
        }
        let mut text = String::from_utf8(raw).map_err(|_| SecretFileError::NotText {
            path: shown.clone(),
        })?;
        if text.ends_with('\n') {
            text.pop();
            if text.ends_with('\r') {
                text.pop();
            }
        }
        if text.is_empty() {
            return Err(SecretFileError::Empty { path: shown });
        }
        Ok(Secret::new(text))
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "<redacted>");
        assert_eq!(format!("{s}"), "<redacted>");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn secret_files_lose_one_line_ending_and_never_show_their_content() {
        let dir = tempfile::tempdir().unwrap();
        let f = |name: &str, bytes: &[u8]| {
            let p = dir.path().join(name);
            std::fs::write(&p, bytes).unwrap();
            p
        };
        let cases: [(&[u8], &str); 4] = [
            (b"s3cret\n", "s3cret"),
            (b"s3cret\r\n", "s3cret"),
            (b"s3cret", "s3cret"),
            (b"two\nlines\n\n", "two\nlines\n"),
        ];
        for (i, (raw, want)) in cases.iter().enumerate() {
            let s = Secret::from_file(&f(&format!("f{i}"), raw)).unwrap();
            assert_eq!(s.expose(), *want);
        }
        let e = Secret::from_file(&f("empty", b"\n")).unwrap_err();
        assert!(matches!(e, SecretFileError::Empty { .. }), "{e}");
        let e = Secret::from_file(&f("bin", b"\xff\xfeZQZ")).unwrap_err();
        assert!(matches!(e, SecretFileError::NotText { .. }));
        assert!(!e.to_string().contains("ZQZ"));
        let big = vec![b'a'; MAX_SECRET_FILE_BYTES as usize + 1];
        assert!(matches!(
            Secret::from_file(&f("big", &big)).unwrap_err(),
            SecretFileError::TooLarge { .. }
        ));
        let e = Secret::from_file(&dir.path().join("missing")).unwrap_err();
        assert!(matches!(e, SecretFileError::Read { .. }));
    }
}
