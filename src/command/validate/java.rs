//! What Java does that XNAT's messages depend on: `StringUtils.isBlank`, `"" + s` of a null
//! string, the `COMMAND_NAME` pattern, `List.toString`, `HashSet` iteration order, and the
//! prefixing of an entity's own messages.

use crate::command::Diagnostic;

/// `StringUtils.isBlank`: absent, empty or white space only.
pub(super) fn blank(v: Option<&str>) -> bool {
    v.is_none_or(|s| s.trim().is_empty())
}

/// Java's `"" + s` for a nullable string.
pub(super) fn js(v: Option<&str>) -> &str {
    v.unwrap_or("null")
}

/// `COMMAND_NAME.matcher(name).find()`: a character outside `A-Za-z0-9_-`.
pub(super) fn bad_chars(name: &str) -> bool {
    name.bytes()
        .any(|b| !(b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
}

/// `List<String>.toString()`: `[a, b]`.
pub(super) fn java_list(items: &[String]) -> String {
    format!("[{}]", items.join(", "))
}

/// Java `HashSet<String>` iteration order for these elements inserted in this order:
/// bucket index of the spread `String.hashCode()`, insertion order within a bucket.
pub fn java_hash_set_order<'a>(inserted: &[&'a str]) -> Vec<&'a str> {
    let mut items: Vec<&'a str> = Vec::new();
    let mut cap: usize = 16;
    for &x in inserted {
        if !items.contains(&x) {
            items.push(x);
            if items.len() > cap * 3 / 4 {
                cap *= 2;
            }
        }
    }
    let bucket = |s: &str| {
        let mut h: i32 = 0;
        for u in s.encode_utf16() {
            h = h.wrapping_mul(31).wrapping_add(u as i32);
        }
        let h = (h as u32) ^ ((h as u32) >> 16);
        (h as usize) & (cap - 1)
    };
    let mut keyed: Vec<(usize, usize, &'a str)> = items
        .iter()
        .enumerate()
        .map(|(i, x)| (bucket(x), i, *x))
        .collect();
    keyed.sort();
    keyed.into_iter().map(|(_, _, x)| x).collect()
}

/// A Java `HashSet<String>` (or the key set of a `HashMap<String, T>`) as
/// `validateDockerCommand` fills it: names in insertion order, each with what the map holds
/// (`()` for a set). Printed the way Java iterates it.
pub(super) struct Seen<'a, T = ()> {
    entries: Vec<(&'a str, T)>,
}

impl<'a, T> Seen<'a, T> {
    pub(super) fn new() -> Self {
        Seen {
            entries: Vec::new(),
        }
    }

    pub(super) fn contains(&self, name: &str) -> bool {
        self.entries.iter().any(|(n, _)| *n == name)
    }

    /// What the map holds for `name` (the first one put).
    pub(super) fn get(&self, name: &str) -> Option<&T> {
        self.entries
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
    }

    /// XNAT's uniqueness rule: a name already seen is `{what} name "{name}" is not unique.`
    /// at `pointer`; a new one is put.
    pub(super) fn put_unique(
        &mut self,
        name: &'a str,
        value: T,
        (pointer, what): (&str, &str),
        errs: &mut Vec<Diagnostic>,
    ) {
        if self.contains(name) {
            errs.push(Diagnostic::error(
                pointer,
                format!("{what} name \"{name}\" is not unique."),
            ));
        } else {
            self.entries.push((name, value));
        }
    }

    /// The names in Java's iteration order.
    pub(super) fn java_order(&self) -> Vec<&'a str> {
        let names: Vec<&'a str> = self.entries.iter().map(|(n, _)| *n).collect();
        java_hash_set_order(&names)
    }

    /// `StringUtils.join(set, ", ")`. For a map XNAT prints the map itself ("Known inputs: …");
    /// we print its keys (the one deliberate difference, see the module doc).
    pub(super) fn java_joined(&self) -> String {
        self.java_order().join(", ")
    }
}

/// Java's `.map(addCommandNameToError)` over an entity's own `validate()`: each message with
/// the command's or wrapper's prefix, as an error at `pointer`.
pub(super) fn prefixed<'a>(
    pointer: &'a str,
    prefix: &'a str,
    messages: Vec<String>,
) -> impl Iterator<Item = Diagnostic> + 'a {
    messages
        .into_iter()
        .map(move |m| Diagnostic::error(pointer, format!("{prefix}{m}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_keeps_the_first_of_a_name_and_reports_the_rest() {
        let mut errs = Vec::new();
        let mut seen: Seen<u8> = Seen::new();
        for (name, v) in [("output2", 1), ("output", 2), ("output2", 3)] {
            seen.put_unique(name, v, ("/p", "X - output"), &mut errs);
        }
        assert_eq!(
            errs,
            [Diagnostic::error(
                "/p",
                "X - output name \"output2\" is not unique."
            )]
        );
        assert_eq!(seen.get("output2"), Some(&1));
        assert!(seen.contains("output") && !seen.contains("x"));
        assert_eq!(seen.java_order(), ["output", "output2"]);
        assert_eq!(seen.java_joined(), "output, output2");
    }

    #[test]
    fn java_text_helpers() {
        for (v, want) in [
            (None, true),
            (Some(""), true),
            (Some(" \t"), true),
            (Some("a"), false),
        ] {
            assert_eq!(blank(v), want, "{v:?}");
        }
        assert_eq!(js(None), "null");
        assert_eq!(js(Some("x")), "x");
        for (name, want) in [("a_b-1", false), ("a b", true), ("a/b", true), ("", false)] {
            assert_eq!(bad_chars(name), want, "{name}");
        }
        assert_eq!(java_list(&["a".into(), "b".into()]), "[a, b]");
    }
}
