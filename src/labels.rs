//! The `org.nrg.commands` label: from a config's labels to a list of raw command values.
//!
//! XNAT's label importer reads the value as a JSON *list* of command objects, with Jackson set
//! to accept single-quoted strings and `#` comments; [`crate::lenient_json`] reads it the same
//! way, here and for command files. We are more
//! lenient than XNAT where real images need it (a lone object is read as a one-element list,
//! with a warning) and more helpful where XNAT only logs: a broken label is reported with line,
//! column and the text around the spot, and the backslash bug of NRG's `command2label.py` is
//! recognised and named.

use crate::limits::MAX_LABEL_BYTES;
use std::collections::BTreeMap;

use serde_json::Value;

use crate::lenient_json::{self, JsonError, JsonErrorKind};

/// The one label key XNAT reads.
pub const LABEL_KEY: &str = "org.nrg.commands";

/// What to do when the label was produced by `command2label.py` and lost its backslashes.
pub const REBUILD_HINT: &str =
    "rebuild the label with `xnat-cmd label --dockerfile command.json` and replace the LABEL line in the Dockerfile";

/// A parsed label or command file: the commands, untouched, plus what was lenient about it.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedLabel {
    pub commands: Vec<serde_json::Value>,
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LabelError {
    #[error("the image has no `org.nrg.commands` label")]
    Missing,
    #[error("the `org.nrg.commands` label is empty")]
    Empty,
    #[error("the `org.nrg.commands` label is {bytes} bytes, more than the {limit}-byte limit for a label")]
    TooLarge { bytes: usize, limit: u64 },
    #[error("org.nrg.commands label is not valid JSON at line {line}, column {column}: {reason} near `{snippet}`")]
    InvalidJson {
        line: usize,
        column: usize,
        reason: String,
        snippet: String,
    },
    /// The JSON broke on an escape or a raw control character: the signature of a label built
    /// by `command2label.py`, which does not escape `\`, so Docker eats or garbles them.
    #[error("org.nrg.commands label is not valid JSON at line {line}, column {column}: {reason} near `{snippet}`; \
             this looks like the backslash bug of NRG's command2label.py (it does not escape `\\`, so the Dockerfile LABEL lost or garbled them)")]
    LostBackslash {
        line: usize,
        column: usize,
        reason: String,
        snippet: String,
    },
    #[error("org.nrg.commands label must be a JSON list of command objects, found {found}")]
    NotAList { found: &'static str },
    #[error(
        "org.nrg.commands label: element {index} of the list is {found}, not a command object"
    )]
    NotAnObject { index: usize, found: &'static str },
}

impl LabelError {
    /// What the user can do about it, when there is something.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            LabelError::LostBackslash { .. } => Some(REBUILD_HINT),
            LabelError::InvalidJson { .. } => {
                Some("fix the JSON in the Dockerfile LABEL, or rebuild it with `xnat-cmd label --dockerfile`")
            }
            LabelError::NotAList { .. } | LabelError::NotAnObject { .. } => {
                Some("the label must look like `[{\"name\": ...}, ...]`; `xnat-cmd label` builds it from command files")
            }
            LabelError::Missing | LabelError::Empty | LabelError::TooLarge { .. } => None,
        }
    }
}

impl crate::problem::Hint for LabelError {
    fn hint(&self) -> Option<String> {
        LabelError::hint(self).map(str::to_string)
    }
}

/// A short name of a JSON value's kind, for messages.
pub fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Parse a label value (the unescaped string from the image config).
pub fn parse_label(value: &str) -> Result<ParsedLabel, LabelError> {
    if value.len() as u64 > MAX_LABEL_BYTES {
        return Err(LabelError::TooLarge {
            bytes: value.len(),
            limit: MAX_LABEL_BYTES,
        });
    }
    if value.trim().is_empty() {
        return Err(LabelError::Empty);
    }
    let read = lenient_json::parse(value).map_err(|e| json_error(value, &e))?;
    let mut warnings = Vec::new();
    if let Some((line, column)) = read.trailing {
        warnings.push(trailing_warning("the org.nrg.commands label", line, column));
    }
    let parsed = read.value;
    let commands = match parsed {
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                if !item.is_object() {
                    return Err(LabelError::NotAnObject {
                        index,
                        found: json_kind(item),
                    });
                }
            }
            if items.is_empty() {
                warnings.push(
                    "the org.nrg.commands label holds an empty list: no commands".to_string(),
                );
            }
            items
        }
        obj @ Value::Object(_) => {
            warnings.push(
                "the org.nrg.commands label holds a single JSON object, not a list: read as one command, \
                 but XNAT's own label import would fail to parse it and save nothing"
                    .to_string(),
            );
            vec![obj]
        }
        other => {
            return Err(LabelError::NotAList {
                found: json_kind(&other),
            })
        }
    };
    if has_garbled_escape(&commands) {
        warnings.push(
            "a string in the org.nrg.commands label contains a backspace or form-feed character: \
             probably a `\\b` or `\\f` that lost its backslash (command2label.py does not escape `\\`); "
                .to_string()
                + REBUILD_HINT,
        );
    }
    Ok(ParsedLabel { commands, warnings })
}

/// The commands of an image, from its config labels.
pub fn commands_from_labels(labels: &BTreeMap<String, String>) -> Result<ParsedLabel, LabelError> {
    match labels.get(LABEL_KEY) {
        Some(v) => parse_label(v),
        None => Err(LabelError::Missing),
    }
}

/// Why a command JSON file (an object or a list of objects) cannot be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CommandFileError {
    #[error("not valid JSON at line {line}, column {column}: {reason} near `{snippet}`")]
    InvalidJson {
        line: usize,
        column: usize,
        reason: String,
        snippet: String,
    },
    #[error("expected a command object or a list of them, found {found}")]
    NotCommands { found: &'static str },
    #[error("element {index} of the list is {found}, not a command object")]
    NotAnObject { index: usize, found: &'static str },
    /// `[]`: checking it would say nothing and `label` would build an empty label.
    #[error("the list holds no command")]
    Empty,
}

/// The commands of a command JSON file: one object, or a list of objects. The file is read as
/// XNAT reads a `POST /xapi/commands` body ([`lenient_json`]); text after the JSON value, which
/// XNAT ignores, is ignored here too, with a warning.
pub fn parse_command_file(text: &str) -> Result<ParsedLabel, CommandFileError> {
    // A byte order mark is skipped, as Jackson skips it at the start of a request body.
    let text = crate::limits::strip_bom(text);
    let read = lenient_json::parse(text).map_err(|e| {
        let (line, column, reason, snippet) = json_error_parts(text, &e);
        CommandFileError::InvalidJson {
            line,
            column,
            reason,
            snippet,
        }
    })?;
    let warnings = read
        .trailing
        .map(|(line, column)| trailing_warning("the command file", line, column))
        .into_iter()
        .collect();
    let parsed = read.value;
    match parsed {
        Value::Array(items) if items.is_empty() => Err(CommandFileError::Empty),
        Value::Array(items) => {
            if let Some((index, item)) = items.iter().enumerate().find(|(_, i)| !i.is_object()) {
                return Err(CommandFileError::NotAnObject {
                    index,
                    found: json_kind(item),
                });
            }
            Ok(ParsedLabel {
                commands: items,
                warnings,
            })
        }
        obj @ Value::Object(_) => Ok(ParsedLabel {
            commands: vec![obj],
            warnings,
        }),
        other => Err(CommandFileError::NotCommands {
            found: json_kind(&other),
        }),
    }
}

/// The warning for text after the JSON value, which XNAT's Jackson never reads.
fn trailing_warning(what: &str, line: usize, column: usize) -> String {
    format!(
        "{what} has more text after its JSON value, from line {line}, column {column}: \
         ignored (XNAT ignores it too), but it is probably a mistake"
    )
}

/// Position, reason and snippet of a parse error.
fn json_error_parts(text: &str, e: &JsonError) -> (usize, usize, String, String) {
    let snippet = snippet_at(text, e.line, e.column);
    (e.line, e.column, e.kind.to_string(), snippet)
}

/// Turn the parser's error into ours: the reason, the position, a snippet, and whether it
/// looks like the lost-backslash bug.
fn json_error(text: &str, e: &JsonError) -> LabelError {
    let (line, column, reason, snippet) = json_error_parts(text, e);
    // An invalid escape, or a raw control character inside a string, is what a Dockerfile
    // LABEL built without escaping `\` produces (`\\n` → `\n` is fine, `\d`, `\users` or a
    // lone `\` followed by a quote is not).
    let lost_backslash = matches!(
        e.kind,
        JsonErrorKind::InvalidEscape { .. }
            | JsonErrorKind::BadHexEscape { .. }
            | JsonErrorKind::ControlCharInString { .. }
    );
    if lost_backslash {
        LabelError::LostBackslash {
            line,
            column,
            reason,
            snippet,
        }
    } else {
        LabelError::InvalidJson {
            line,
            column,
            reason,
            snippet,
        }
    }
}

/// Up to 24 characters either side of (line, column), on one line; the column counts
/// characters.
fn snippet_at(text: &str, line: usize, column: usize) -> String {
    // Lines end at `\n`, `\r\n` or a lone `\r`, as the parser counts them.
    let mut line_start = 0usize;
    let mut current = 1usize;
    let bytes = text.as_bytes();
    let mut i = 0;
    while current < line.max(1) && i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                current += 1;
                line_start = i + 1;
            }
            b'\r' => {
                current += 1;
                if bytes.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                line_start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    let rest = text.get(line_start..).unwrap_or_default();
    let offset = line_start
        + rest
            .char_indices()
            .take_while(|(_, c)| *c != '\n' && *c != '\r')
            .nth(column.saturating_sub(1))
            .map_or_else(
                || rest.find(['\n', '\r']).unwrap_or(rest.len()),
                |(at, _)| at,
            );
    let offset = offset.min(text.len());
    let mut start = offset;
    let mut taken = 0;
    for (i, _) in text[..offset].char_indices().rev() {
        start = i;
        taken += 1;
        if taken == 24 {
            break;
        }
    }
    let mut end = offset;
    for (count, (i, c)) in text[offset..].char_indices().enumerate() {
        end = offset + i + c.len_utf8();
        if count + 1 == 24 {
            break;
        }
    }
    // One line, whitespace runs collapsed: the snippet goes into a one-line message.
    let mut out = String::new();
    for c in text[start..end].chars() {
        let c = if c.is_control() || c.is_whitespace() {
            ' '
        } else {
            c
        };
        if !(c == ' ' && out.ends_with(' ')) {
            out.push(c);
        }
    }
    out
}

/// Does any string hold a backspace or form feed? JSON `\b`/`\f` parse fine, so a Windows-ish
/// path such as `C:\bin` that lost its escaping parses silently into garbage.
fn has_garbled_escape(values: &[Value]) -> bool {
    fn walk(v: &Value) -> bool {
        match v {
            Value::String(s) => s.contains(['\u{8}', '\u{c}']),
            Value::Array(a) => a.iter().any(walk),
            Value::Object(o) => o
                .iter()
                .any(|(k, v)| walk(&Value::String(k.clone())) || walk(v)),
            _ => false,
        }
    }
    values.iter().any(walk)
}

/// A Dockerfile line `LABEL org.nrg.commands="…"` whose value Docker reads back as exactly
/// `value`. NRG's `command2label.py` escapes `"` and `$` but not `\`, which breaks commands
/// whose JSON holds a backslash; all three characters Docker unescapes are escaped here.
pub fn dockerfile_line(value: &str) -> String {
    format!("LABEL {LABEL_KEY}=\"{}\"\n", dockerfile_escape(value))
}

/// Escape for a double-quoted Dockerfile string: Docker (BuildKit's shell lexer) unescapes
/// exactly `\\`, `\"` and `\$` there, and expands `$NAME` unless escaped.
fn dockerfile_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + value.len() / 8);
    for c in value.chars() {
        if matches!(c, '\\' | '"' | '$') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_objects_and_errors() {
        struct Case {
            label: &'static str,
            want: Result<usize, LabelError>,
            warnings: usize,
        }
        let cases = [
            Case {
                label: r#"[{"name":"a"}]"#,
                want: Ok(1),
                warnings: 0,
            },
            Case {
                label: r#"[{"name":"a"},{"name":"b"}]"#,
                want: Ok(2),
                warnings: 0,
            },
            Case {
                label: r#"{"name":"a"}"#,
                want: Ok(1),
                warnings: 1,
            },
            Case {
                label: "[]",
                want: Ok(0),
                warnings: 1,
            },
            Case {
                label: "",
                want: Err(LabelError::Empty),
                warnings: 0,
            },
            Case {
                label: "  \n",
                want: Err(LabelError::Empty),
                warnings: 0,
            },
            Case {
                label: r#""x""#,
                want: Err(LabelError::NotAList { found: "a string" }),
                warnings: 0,
            },
            Case {
                label: "42",
                want: Err(LabelError::NotAList { found: "a number" }),
                warnings: 0,
            },
            Case {
                label: r#"[{"name":"a"}, 3]"#,
                want: Err(LabelError::NotAnObject {
                    index: 1,
                    found: "a number",
                }),
                warnings: 0,
            },
            Case {
                label: r#"[null]"#,
                want: Err(LabelError::NotAnObject {
                    index: 0,
                    found: "null",
                }),
                warnings: 0,
            },
        ];
        for c in cases {
            let got = parse_label(c.label);
            match (&got, &c.want) {
                (Ok(p), Ok(n)) => {
                    assert_eq!(p.commands.len(), *n, "{}", c.label);
                    assert_eq!(
                        p.warnings.len(),
                        c.warnings,
                        "{}: {:?}",
                        c.label,
                        p.warnings
                    );
                }
                (Err(e), Err(w)) => assert_eq!(e, w, "{}", c.label),
                _ => panic!("{}: got {got:?}, want {:?}", c.label, c.want),
            }
        }
    }

    #[test]
    fn single_object_warning_says_xnat_saves_nothing() {
        let p = parse_label(r#"{"name":"a"}"#).unwrap();
        assert_eq!(p.commands, vec![json!({"name": "a"})]);
        assert!(p.warnings[0].contains("save nothing"), "{}", p.warnings[0]);
    }

    #[test]
    fn broken_json_gives_line_column_reason_and_snippet() {
        let label = "[{\n  \"name\": \"a\",\n  \"x\": [1, 2,],\n}]";
        let e = parse_label(label).unwrap_err();
        assert_eq!(
            e.to_string(),
            "org.nrg.commands label is not valid JSON at line 3, column 14: trailing comma near `ame\": \"a\", \"x\": [1, 2,], }]`"
        );
        assert!(e.hint().is_some());
    }

    #[test]
    fn lost_backslash_is_named_with_hint() {
        // command.json had "sed 's/\\./_/g'" (an escaped backslash); command2label.py did not
        // escape it, Docker turned `\\` into `\`, and JSON now sees the invalid escape `\.`.
        let label = r#"[{"name":"a","command-line":"sed 's/\./_/g'"}]"#;
        let e = parse_label(label).unwrap_err();
        let msg = e.to_string();
        assert!(
            matches!(e, LabelError::LostBackslash { line: 1, .. }),
            "{e:?}"
        );
        assert!(msg.contains("invalid escape"), "{msg}");
        assert!(msg.contains("command2label.py"), "{msg}");
        assert_eq!(e.hint(), Some(REBUILD_HINT));
        // A raw newline inside a string (from a `\n` that lost its backslash pair) as well.
        let e = parse_label("[{\"name\":\"a\nb\"}]").unwrap_err();
        assert!(matches!(e, LabelError::LostBackslash { .. }), "{e:?}");
    }

    #[test]
    fn labels_are_read_as_leniently_as_xnat_reads_them() {
        // Accepted by XNAT's Jackson mapper (ALLOW_SINGLE_QUOTES, ALLOW_YAML_COMMENTS).
        let label =
            "# built by hand\n[{'name': 'a', # the name\n 'command-line': 'echo \\'hi\\' \"x\"'}]";
        let p = parse_label(label).unwrap();
        assert_eq!(
            p.commands,
            vec![json!({"name": "a", "command-line": "echo 'hi' \"x\""})]
        );
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        // Text after the list: XNAT never reads it; we say so.
        let p = parse_label("[{'name':'a'}] ]").unwrap();
        assert_eq!(p.commands.len(), 1);
        assert_eq!(p.warnings.len(), 1);
        assert!(
            p.warnings[0].contains("line 1, column 16"),
            "{}",
            p.warnings[0]
        );
        // Near misses XNAT refuses as well.
        let cases = [
            (
                "[{name: 'a'}]",
                "was expecting double-quote to start field name",
            ),
            ("// c\n[{'name': 'a'}]", "ALLOW_COMMENTS"),
            ("[{'name': 'a'},]", "trailing comma"),
        ];
        for (label, reason) in cases {
            match parse_label(label) {
                Err(LabelError::InvalidJson { reason: got, .. }) => {
                    assert!(got.contains(reason), "{label}: {got}")
                }
                other => panic!("{label}: {other:?}"),
            }
        }
        // `C:\users` that lost its escaping is a bad `\u` escape: the backslash bug.
        let e = parse_label(r#"[{"name":"a","command-line":"C:\users"}]"#).unwrap_err();
        assert!(matches!(e, LabelError::LostBackslash { .. }), "{e:?}");
    }

    #[test]
    fn command_files_take_the_same_dialect_and_a_bom() {
        let file = parse_command_file("\u{feff}# c\n{'name': 'a'}").unwrap();
        assert_eq!(file.commands, vec![json!({"name": "a"})]);
        assert!(file.warnings.is_empty());
        let file = parse_command_file("{'name': 'a'}\n}").unwrap();
        assert_eq!(file.commands.len(), 1);
        assert_eq!(
            file.warnings,
            [
                "the command file has more text after its JSON value, from line 2, column 1: \
              ignored (XNAT ignores it too), but it is probably a mistake"
            ]
        );
        assert_eq!(
            parse_command_file("{'a':\n 1,}").unwrap_err().to_string(),
            "not valid JSON at line 2, column 4: trailing comma near `{'a': 1,}`"
        );
    }

    #[test]
    fn garbled_backspace_is_a_warning() {
        let p = parse_label(r#"[{"name":"a","command-line":"C:\bin"}]"#).unwrap();
        assert_eq!(p.warnings.len(), 1);
        assert!(p.warnings[0].contains("command2label.py"));
    }

    #[test]
    fn missing_label_names_the_key() {
        let labels = BTreeMap::from([("other".to_string(), "x".to_string())]);
        let e = commands_from_labels(&labels).unwrap_err();
        assert_eq!(e, LabelError::Missing);
        assert!(e.to_string().contains("org.nrg.commands"));
        let labels = BTreeMap::from([(LABEL_KEY.to_string(), r#"[{"name":"a"}]"#.to_string())]);
        assert_eq!(commands_from_labels(&labels).unwrap().commands.len(), 1);
    }

    #[test]
    fn command_files() {
        assert_eq!(
            parse_command_file(r#"{"name":"a"}"#)
                .unwrap()
                .commands
                .len(),
            1
        );
        assert_eq!(
            parse_command_file(r#"[{"name":"a"},{"name":"b"}]"#)
                .unwrap()
                .commands
                .len(),
            2
        );
        assert_eq!(
            parse_command_file("[1]").unwrap_err(),
            CommandFileError::NotAnObject {
                index: 0,
                found: "a number"
            }
        );
        assert_eq!(
            parse_command_file("\"x\"").unwrap_err().to_string(),
            "expected a command object or a list of them, found a string"
        );
        assert_eq!(
            parse_command_file("{\n  \"a\": 1,\n}")
                .unwrap_err()
                .to_string(),
            "not valid JSON at line 3, column 1: trailing comma near `{ \"a\": 1, }`"
        );
    }

    #[test]
    fn snippet_is_bounded_and_on_one_line() {
        let text = format!("[{}\n{}]", "a".repeat(100), "b".repeat(100));
        let s = snippet_at(&text, 2, 50);
        assert_eq!(s.chars().count(), 48);
        assert!(s.chars().all(|c| c == 'b'));
        assert_eq!(snippet_at("ab", 1, 99), "ab");
        assert_eq!(snippet_at("é", 1, 1), "é");
        // A lone `\r` ends a line too, as the parser counts lines.
        assert_eq!(snippet_at("ab\rcd", 2, 2), "ab cd");
        assert_eq!(snippet_at("a\r\nxyz", 2, 3), "a xyz");
        assert_eq!(snippet_at("aé", 1, 3), "aé", "a column inside a character");
    }

    /// Found by the `label_command` fuzz target: serde_json's error column fell inside the
    /// last (two-byte) character, and the snippet sliced the text there.
    #[test]
    fn error_inside_a_multibyte_character_is_reported() {
        let label = "\"@ruea*med\\b\\f{\u{727}";
        assert_eq!(label.len(), 17);
        let e = parse_label(label).unwrap_err();
        assert!(
            matches!(&e, LabelError::InvalidJson { snippet, .. } if snippet.ends_with('\u{727}')),
            "{e:?}"
        );
    }

    /// BuildKit's double-quote rules (moby/buildkit `frontend/dockerfile/shell/lex.go`,
    /// `processDoubleQuote`): `\` before `"`, `$`, `\` or a newline escapes it; any other `\`
    /// stays; an unescaped `$NAME` would be expanded (we fail on it: it must not occur).
    fn buildkit_unquote(line: &str) -> String {
        let rest = line
            .strip_prefix("LABEL org.nrg.commands=\"")
            .expect("prefix");
        let rest = rest.strip_suffix("\"\n").expect("closing quote");
        let mut out = String::new();
        let mut chars = rest.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.peek() {
                    Some('"') | Some('$') | Some('\\') => out.push(chars.next().unwrap()),
                    Some('\n') => {
                        chars.next();
                    }
                    _ => out.push('\\'),
                },
                '"' => panic!("unescaped quote ends the string early"),
                '$' => panic!("unescaped $ would be expanded by Docker"),
                c => out.push(c),
            }
        }
        out
    }

    #[test]
    fn dockerfile_line_round_trips_through_buildkit_rules() {
        let values = [
            r#"[{"name":"a","command-line":"echo $XNAT_USER ${XNAT_PASS} \"q\" C:\\dir\\n é ✓ 日本"}]"#,
            r#"[{"a":"\\\\","b":"\\\"","c":"$$","d":"\\$HOME"}]"#,
            "[]",
        ];
        for v in values {
            let line = format!("LABEL {LABEL_KEY}=\"{}\"\n", dockerfile_escape(v));
            assert_eq!(buildkit_unquote(&line), v, "{line}");
        }
    }

    #[test]
    fn escapes_exactly_three_characters() {
        assert_eq!(dockerfile_escape(r#"a\b"c$d'e`f"#), r#"a\\b\"c\$d'e`f"#);
    }
}
