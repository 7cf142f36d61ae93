//! `xnat-cmd label`: for image authors, the `org.nrg.commands` value for command files, or a
//! Dockerfile `LABEL` line escaped so that Docker gives back exactly that value.
//!
//! NRG's `command2label.py` escapes `"` and `$` but not `\`, which breaks commands whose JSON
//! holds a backslash; we escape all three characters Docker unescapes inside double quotes.

use std::process::ExitCode;

use serde_json::Value;

use xnat_cmd::pipeline::{prepare, read_command_file};
use xnat_cmd::problem::Problem;
use xnat_cmd::{CommandView, LABEL_KEY};

use crate::args::{GlobalArgs, LabelArgs};
use crate::output::{self, CliError};
use crate::validate::{human, verdict};

/// Stand-in image for commands without one: XNAT's label import sets the image the label is
/// read from, so a missing `image` is not an authoring error.
const LABEL_IMAGE: &str = "label-image:latest";

pub fn run(args: LabelArgs, _global: &GlobalArgs) -> Result<ExitCode, CliError> {
    let mut commands: Vec<Value> = Vec::new();
    let mut verdicts = Vec::new();
    for path in &args.files {
        let cmds = read_command_file(path).map_err(|e| CliError::work_of(&e))?;
        for c in cmds {
            let own = CommandView::new(&c).image().is_some();
            let p = prepare(&c, (!own).then_some(LABEL_IMAGE), false);
            if !p.valid() {
                verdicts.push(verdict(&path.display().to_string(), &p, true));
            }
            commands.push(c);
        }
    }
    if !verdicts.is_empty() {
        // Invalid commands never reach stdout: a label built from them would be refused.
        let mut err = std::io::stderr().lock();
        let _ = std::io::Write::write_all(&mut err, human(&verdicts).as_bytes());
        drop(err);
        let n = verdicts.len();
        return Err(CliError::Work(Problem::new(format!(
            "{n} invalid command{}: no label written",
            if n == 1 { "" } else { "s" }
        ))));
    }
    let json = serde_json::to_string(&commands).map_err(CliError::work)?;
    let text = if args.dockerfile {
        format!("LABEL {LABEL_KEY}=\"{}\"\n", dockerfile_escape(&json))
    } else {
        json + "\n"
    };
    output::print_stdout(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// Escape for a double-quoted Dockerfile string: Docker (BuildKit's shell lexer) unescapes
/// exactly `\\`, `\"` and `\$` there, and expands `$NAME` unless escaped.
pub fn dockerfile_escape(value: &str) -> String {
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
