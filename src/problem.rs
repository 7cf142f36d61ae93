//! An error as the user sees it — `error: …`, each `caused by: …`, an optional `hint: …` —
//! built once from any error chain, so a whole run and one item of many print (and serialise
//! to `--json`) the same fields. The library builds these; only the binary prints them. Every
//! line goes through [`crate::summary::message`]: an input value quoted whole (a 15 MB name, a
//! label's terminal escape) is capped and escaped here whatever error quoted it.

use std::error::Error as StdError;
use std::fmt;

use serde::Serialize;

/// A failure ready to show: the message, its causes (outermost first), what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub error: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Problem {
    /// A problem with a message only.
    pub fn new(error: impl Into<String>) -> Self {
        Problem {
            error: crate::summary::message(&error.into()),
            causes: Vec::new(),
            hint: None,
        }
    }

    /// The error's message, then every `source()` below it, each once: a cause whose text
    /// is already part of the message above it (transparent wrappers) is not repeated.
    pub fn from_error(e: &(dyn StdError + 'static)) -> Self {
        let mut p = Problem::new(e.to_string());
        let mut last = p.error.clone();
        let mut cause = e.source();
        while let Some(c) = cause {
            let text = crate::summary::message(&c.to_string());
            if !last.contains(&text) {
                p.causes.push(text.clone());
            }
            last = text;
            cause = c.source();
        }
        p
    }

    pub fn with_hint(mut self, hint: Option<impl Into<String>>) -> Self {
        if let Some(h) = hint {
            self.hint = Some(crate::summary::message(&h.into()));
        }
        self
    }

    /// Name the item the problem belongs to (`SOURCE: message`), for one item of many —
    /// unless the message names it already.
    pub fn about(mut self, item: &str) -> Self {
        let shown = crate::summary::quote(item);
        if !item.is_empty() && !self.error.contains(&shown) {
            self.error = crate::summary::message(&format!("{shown}: {}", self.error));
        }
        self
    }

    /// The lines printed on stderr, each ending in a newline.
    pub fn render(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.error)?;
        for c in &self.causes {
            writeln!(f, "caused by: {c}")?;
        }
        if let Some(h) = &self.hint {
            writeln!(f, "hint: {h}")?;
        }
        Ok(())
    }
}

/// Errors that know what the user can do about them.
pub trait Hint {
    fn hint(&self) -> Option<String>;
}

/// A problem from an error that carries its own hint.
pub fn problem<E: StdError + Hint + 'static>(e: &E) -> Problem {
    Problem::from_error(e).with_hint(e.hint())
}

#[cfg(test)]
#[path = "problem_tests.rs"]
mod texts;

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer `{0}`")]
    struct Outer(String, #[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("inner")]
    struct Inner(#[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error(transparent)]
    struct Transparent(#[from] Inner);

    #[test]
    fn chain_hint_and_item() {
        let e = Outer("x".into(), Inner(std::io::Error::other("disk on fire")));
        let p = Problem::from_error(&e)
            .with_hint(Some("try again"))
            .about("oci:dir");
        assert_eq!(
            p.render(),
            "error: oci:dir: outer `x`\ncaused by: inner\ncaused by: disk on fire\nhint: try again\n"
        );
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["causes"][1], "disk on fire");
        assert_eq!(json["hint"], "try again");
    }

    #[test]
    fn transparent_wrappers_do_not_repeat_their_message() {
        let e = Transparent(Inner(std::io::Error::other("gone")));
        let p = Problem::from_error(&e);
        assert_eq!(p.error, "inner");
        assert_eq!(p.causes, vec!["gone".to_string()]);
        assert_eq!(p.hint, None);
        assert_eq!(p.render(), "error: inner\ncaused by: gone\n");
    }

    #[test]
    fn no_hint_no_hint_line() {
        let p = Problem::new("x").with_hint(None::<String>).about("");
        assert_eq!(p.render(), "error: x\n");
        let p = Problem::new("failed to read `a.json`").about("a.json");
        assert_eq!(p.error, "failed to read `a.json`");
        assert!(serde_json::to_value(&p).unwrap().get("hint").is_none());
    }
}
