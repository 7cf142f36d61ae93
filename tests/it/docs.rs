//! The documentation against the real CLI: docs/reference.md is the `--help` text of every
//! subcommand (regenerated with `XNAT_CMD_BLESS=1`), every relative link of README.md and
//! docs/*.md resolves, and every `xnat-cmd SUB --flag` the docs show exists.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::support::Sandbox;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `xnat-cmd ARGS --help` as the reference shows it.
fn help(sb: &Sandbox, args: &[&str]) -> String {
    let out = sb
        .cmd()
        .args(args)
        .arg("--help")
        .output()
        .expect("run xnat-cmd");
    assert_eq!(
        out.status.code(),
        Some(0),
        "xnat-cmd {args:?} --help failed"
    );
    String::from_utf8(out.stdout).expect("help is UTF-8")
}

/// The names listed under `Commands:` in a help text, without clap's own `help`.
fn subcommands(help: &str) -> Vec<String> {
    let Some((_, rest)) = help.split_once("\nCommands:\n") else {
        return Vec::new();
    };
    rest.lines()
        .take_while(|l| !l.is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

/// The long flags an `Options:` section defines (`  -v, --verbose...  text` → `--verbose`).
fn flags(help: &str) -> BTreeSet<String> {
    let mut set = BTreeSet::new();
    for line in help.lines() {
        let Some(trimmed) = line.strip_prefix("  ") else {
            continue;
        };
        let trimmed = trimmed.trim_start();
        let trimmed = match trimmed.split_once(", ") {
            Some((short, long)) if short.len() == 2 && short.starts_with('-') => long,
            _ => trimmed,
        };
        if let Some(name) = trimmed.strip_prefix("--") {
            let name: String = name
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            if !name.is_empty() {
                set.insert(format!("--{name}"));
            }
        }
    }
    set
}

/// Every command path (`[]`, `["install"]`, …) with its help text, in the CLI's order.
fn all_help(sb: &Sandbox) -> Vec<(Vec<String>, String)> {
    let mut out = Vec::new();
    let mut todo = vec![Vec::<String>::new()];
    while let Some(path) = todo.pop() {
        let args: Vec<&str> = path.iter().map(String::as_str).collect();
        let text = help(sb, &args);
        for sub in subcommands(&text).into_iter().rev() {
            let mut p = path.clone();
            p.push(sub);
            todo.push(p);
        }
        out.push((path, text));
    }
    out
}

fn reference(sb: &Sandbox) -> String {
    let helps = all_help(sb);
    let mut md = String::from(
        "# xnat-cmd reference\n\n\
         Every subcommand, flag and exit code: the `--help` text of each, generated from the CLI \
         by `tests/it/docs.rs` (do not edit by hand; regenerate with \
         `XNAT_CMD_BLESS=1 cargo test -p xnat-cmd --test it docs::`). Back to the \
         [README](../README.md).\n\n**Contents**\n\n",
    );
    let title = |path: &[String]| {
        if path.is_empty() {
            "xnat-cmd".to_string()
        } else {
            format!("xnat-cmd {}", path.join(" "))
        }
    };
    for (path, _) in &helps {
        let t = title(path);
        md.push_str(&format!("- [`{t}`](#{})\n", slug(&format!("`{t}`"))));
    }
    for (path, text) in &helps {
        md.push_str(&format!(
            "\n## `{}`\n\n```text\n{}\n```\n",
            title(path),
            text.trim_end()
        ));
    }
    md
}

#[test]
fn reference_md_is_the_help_of_every_subcommand() {
    let sb = Sandbox::new();
    let want = reference(&sb);
    let file = root().join("docs/reference.md");
    if std::env::var_os("XNAT_CMD_BLESS").is_some() {
        std::fs::write(&file, &want).expect("write docs/reference.md");
    }
    let have = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(
        have == want,
        "docs/reference.md differs from the CLI's --help: regenerate it with \
         `XNAT_CMD_BLESS=1 cargo test -p xnat-cmd --test it docs::` and commit it"
    );
    assert!(want.contains("Exit codes: 0 success"), "{want}");
}

/// GitHub's anchor of a heading: lowercase, punctuation dropped, spaces as hyphens.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_' || *c == ' ')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// README.md and docs/*.md, with their text.
fn doc_files() -> Vec<(PathBuf, String)> {
    let mut files = vec![root().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs/")
        .map(|e| e.expect("docs/ entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("read doc");
            (p, text)
        })
        .collect()
}

/// Each line of `text` with whether it is inside a fenced code block.
fn lines_with_fence(text: &str) -> Vec<(bool, &str)> {
    let mut fenced = false;
    let mut out = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        out.push((fenced, line));
    }
    out
}

fn anchors(text: &str) -> BTreeSet<String> {
    lines_with_fence(text)
        .into_iter()
        .filter(|(fenced, _)| !fenced)
        .filter_map(|(_, l)| l.strip_prefix('#'))
        .map(|l| slug(l.trim_start_matches('#')))
        .collect()
}

#[test]
fn every_relative_link_and_anchor_of_the_docs_resolves() {
    let files = doc_files();
    let mut broken = Vec::new();
    let mut checked = 0;
    for (file, text) in &files {
        for (fenced, line) in lines_with_fence(text) {
            if fenced {
                continue;
            }
            for part in line.split("](").skip(1) {
                let Some(target) = part.split(')').next() else {
                    continue;
                };
                if target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                checked += 1;
                let (path, anchor) = target.split_once('#').unwrap_or((target, ""));
                let dest = if path.is_empty() {
                    file.clone()
                } else {
                    file.parent().unwrap_or(Path::new(".")).join(path)
                };
                if !dest.exists() {
                    broken.push(format!("{}: {target}: no such file", file.display()));
                    continue;
                }
                if !anchor.is_empty() {
                    let dest_text = std::fs::read_to_string(&dest).unwrap_or_default();
                    if !anchors(&dest_text).contains(anchor) {
                        broken.push(format!("{}: {target}: no such heading", file.display()));
                    }
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
    assert!(checked > 20, "only {checked} relative links found");
}

/// Flags the docs of xnat-cmd itself show in code spans that belong to other tools (cargo) or
/// name a family of xnat-cmd's flags.
const OTHER_TOOLS_FLAGS: &[&str] = &["--no-default-features", "--*-stdin"];

/// Docs whose lone code-span flags (`--prune`) are xnat-cmd's; the emulator and development
/// docs also show the emulator's and cargo's, so only their `xnat-cmd …` lines are checked.
const XNAT_CMD_DOCS: &[&str] = &[
    "README.md",
    "docs/user-guide.md",
    "docs/fleet-and-operations.md",
    "docs/kubernetes.md",
];

/// A shell line without its `# comment`.
fn without_comment(code: &str) -> &str {
    match code.find(" #") {
        Some(i) => &code[..i],
        None if code.trim_start().starts_with('#') => "",
        None => code,
    }
}

/// The code of a line a reader would type: a fenced line whole, otherwise its `code spans`.
fn code_of(fenced: bool, line: &str) -> Vec<&str> {
    if fenced {
        return vec![line];
    }
    line.split('`').skip(1).step_by(2).collect()
}

/// Subcommands `--help` does not list (`#[command(hide = true)]`).
const HIDDEN_SUBCOMMANDS: [&str; 1] = ["manpage"];

#[test]
fn every_documented_subcommand_and_flag_exists() {
    let sb = Sandbox::new();
    let helps = all_help(&sb);
    let global = flags(&helps[0].1);
    let mut by_sub: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, text) in &helps {
        if let Some(sub) = path.first() {
            let mut f = flags(text);
            f.extend(global.iter().cloned());
            by_sub.entry(sub.clone()).or_default().extend(f);
        }
    }
    // Hidden subcommands (not listed under `Commands:`, so not in the reference) may still be
    // documented where they are used: `manpage` by the Install section.
    for sub in HIDDEN_SUBCOMMANDS {
        let mut f = flags(&help(&sb, &[sub]));
        f.extend(global.iter().cloned());
        by_sub.insert(sub.to_string(), f);
    }
    let every_flag: BTreeSet<String> = by_sub.values().flatten().cloned().collect();
    let mut unknown = Vec::new();
    let mut invocations = 0;
    for (file, text) in doc_files() {
        let name = file
            .strip_prefix(root())
            .unwrap_or(&file)
            .display()
            .to_string();
        // A fenced line ending in `\` continues on the next.
        let mut joined: Vec<(bool, String)> = Vec::new();
        let mut carry = String::new();
        for (fenced, line) in lines_with_fence(&text) {
            if fenced && line.ends_with('\\') {
                carry.push_str(line.trim_end_matches('\\'));
                carry.push(' ');
                continue;
            }
            joined.push((fenced, format!("{carry}{line}")));
            carry.clear();
        }
        for (fenced, line) in &joined {
            for code in code_of(*fenced, line) {
                let code = if *fenced { without_comment(code) } else { code };
                // A lone flag in a code span (`--prune`) is one of xnat-cmd's.
                if !fenced && XNAT_CMD_DOCS.contains(&name.as_str()) {
                    let flag = code.split([' ', '=']).next().unwrap_or("");
                    if flag.starts_with("--")
                        && flag.len() > 2
                        && !every_flag.contains(flag)
                        && !OTHER_TOOLS_FLAGS.contains(&flag)
                    {
                        unknown.push(format!("{name}: `{code}`: xnat-cmd has no {flag}"));
                    }
                }
                // A reference table row (`| `install SOURCE... [--dry-run]` | …`): its flags.
                let mut words = code.split_whitespace();
                if !fenced && line.starts_with('|') {
                    if let Some(known) = words.next().and_then(|w| by_sub.get(w)) {
                        for w in words {
                            let flag = w.trim_matches(['[', ']', '.']);
                            let flag = flag.split(['=', '|']).next().unwrap_or(flag);
                            if flag.starts_with("--") && flag.len() > 2 && !known.contains(flag) {
                                unknown.push(format!("{name}: `{code}`: xnat-cmd has no {flag}"));
                            }
                        }
                        invocations += 1;
                    }
                }
                for (i, _) in code.match_indices("xnat-cmd ") {
                    let before = &code[..i];
                    if (i > 0 && !before.ends_with([' ', '/', '(', '$', '"']))
                        || before.ends_with("-p ")
                        || before.ends_with("--package ")
                    {
                        continue;
                    }
                    let rest = &code[i + "xnat-cmd ".len()..];
                    let end = rest
                        .find(['|', ';', '#', '&', ')', '`'])
                        .unwrap_or(rest.len());
                    let mut tokens = rest[..end].split_whitespace();
                    let mut sub = None;
                    let mut seen = Vec::new();
                    for t in tokens.by_ref() {
                        if t.starts_with('-') {
                            seen.push(t);
                        } else {
                            sub = Some(t);
                            break;
                        }
                    }
                    let known = match sub {
                        Some(s) if by_sub.contains_key(s) => &by_sub[s],
                        Some(s) if s.chars().all(|c| c.is_ascii_lowercase() || c == '-') => {
                            unknown.push(format!("{name}: `{code}`: no subcommand {s}"));
                            continue;
                        }
                        // Not a subcommand (prose like "xnat-cmd reads …"): only global flags.
                        _ => &global,
                    };
                    invocations += 1;
                    seen.extend(tokens.filter(|t| t.starts_with("--")));
                    for t in seen {
                        let flag = t.split('=').next().unwrap_or(t);
                        if flag.starts_with("--") && flag.len() > 2 && !known.contains(flag) {
                            unknown.push(format!(
                                "{name}: `{code}`: {flag} is not a flag of xnat-cmd {}",
                                sub.unwrap_or("")
                            ));
                        }
                    }
                }
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "documented but not in the CLI:\n{}",
        unknown.join("\n")
    );
    assert!(
        invocations > 50,
        "only {invocations} xnat-cmd invocations found"
    );
}
