//! `prune:` globs matched against image repositories, in time linear in the repository for a
//! given glob (at most glob length × repository length steps) and memory of one bit per glob
//! position: the glob is run as a non-deterministic automaton over the set of positions it can
//! be at, never by backtracking (the backtracking matcher this replaces took exponential time:
//! `lab/*a*a*…*b` against a 60-character repository never returned).

use crate::reference::{self, Reference};

/// Does a `prune:` glob match an image repository? `*` matches any run of characters but `/`,
/// `**` any run including `/` (`a/**/b` also matches `a/b`), `?` one character but `/`;
/// everything else is literal. The glob and the repository are compared as written and as
/// docker normalises them, so `xnat/*`, `docker.io/xnat/*` and `index.docker.io/xnat/*` all
/// match `xnat/tool`, and `library/*` matches `ubuntu`. A tag or digest on `repository` is
/// ignored.
///
/// By hand rather than `globset`/`glob`: those are path globs (`globset` needs
/// `literal_separator` to keep `*` inside a component and brings `regex` along), and the
/// automaton is forty lines.
pub fn glob_matches(glob: &str, repository: &str) -> bool {
    let glob = glob.trim();
    let written = reference::repository(repository.trim());
    let normal = match Reference::parse(written) {
        Ok(r) => format!("{}/{}", r.registry, r.repository),
        Err(_) => written.to_string(),
    };
    let glob_normal = normalise_glob(glob);
    matches(glob.as_bytes(), written.as_bytes())
        || matches(glob_normal.as_bytes(), normal.as_bytes())
}

/// docker's normalisation applied to a glob, by text (a glob is no reference): the first
/// component is a registry when it has `.` or `:` or is `localhost`; otherwise the glob is on
/// Docker Hub, where a single component is an official image under `library/`.
fn normalise_glob(glob: &str) -> String {
    let (registry, path) = match glob.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => (first, rest),
        _ => (reference::DOCKER_HUB, glob),
    };
    let registry = if registry == "index.docker.io" {
        reference::DOCKER_HUB
    } else {
        registry
    };
    if registry == reference::DOCKER_HUB && !path.contains('/') && !path.contains("**") {
        format!("{registry}/library/{path}")
    } else {
        format!("{registry}/{path}")
    }
}

/// One step of a glob, read left to right (`**` before `*`, as the syntax reads).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Token {
    /// `*`: any run of characters but `/`.
    Star,
    /// `**`: any run of characters; `slash_follows` when the next token is a literal `/`,
    /// which `**/` may skip together with it (`a/**/b` matches `a/b`).
    DoubleStar {
        slash_follows: bool,
    },
    /// `?`: one character but `/`.
    Any,
    Literal(u8),
}

fn tokens(glob: &[u8]) -> Vec<Token> {
    let mut out = Vec::with_capacity(glob.len());
    let mut i = 0;
    while i < glob.len() {
        let (token, width) = match &glob[i..] {
            [b'*', b'*', rest @ ..] => (
                Token::DoubleStar {
                    slash_follows: rest.first() == Some(&b'/'),
                },
                2,
            ),
            [b'*', ..] => (Token::Star, 1),
            [b'?', ..] => (Token::Any, 1),
            [c, ..] => (Token::Literal(*c), 1),
            [] => break,
        };
        out.push(token);
        i += width;
    }
    out
}

/// The glob as an automaton. State `p` (for `p` in `0..=n`, `n` = matched) is "at token `p`,
/// nothing of it read yet"; state `n + 1 + p` is "inside the `**` at token `p`, at least one
/// character read" — only the former may skip `**/` as a whole (`a/**/b` matches `a/b`, not
/// `a/xb`).
pub(super) fn matches(glob: &[u8], text: &[u8]) -> bool {
    let tokens = tokens(glob);
    let n = tokens.len();
    let inside = |p: usize| n + 1 + p;
    let mut now = vec![false; 2 * (n + 1)];
    let mut next = vec![false; 2 * (n + 1)];
    now[0] = true;
    close(&tokens, &mut now);
    for &c in text {
        next.iter_mut().for_each(|s| *s = false);
        for (p, token) in tokens.iter().enumerate() {
            if !now[p] && !now[inside(p)] {
                continue;
            }
            match *token {
                Token::Star if c != b'/' => next[p] = true,
                Token::DoubleStar { .. } => next[inside(p)] = true,
                Token::Any if c != b'/' => next[p + 1] = true,
                Token::Literal(g) if g == c => next[p + 1] = true,
                _ => {}
            }
        }
        close(&tokens, &mut next);
        if !next.iter().any(|s| *s) {
            return false;
        }
        std::mem::swap(&mut now, &mut next);
    }
    now[n]
}

/// Add the states reachable without reading a character: past a star (it matched nothing
/// more), and past `**/` as a whole when the `**` has read nothing. Every step goes forward,
/// so one pass in token order suffices.
fn close(tokens: &[Token], states: &mut [bool]) {
    let n = tokens.len();
    for p in 0..n {
        let fresh = states[p];
        let inside = states[n + 1 + p];
        match tokens[p] {
            Token::Star if fresh => states[p + 1] = true,
            Token::DoubleStar { slash_follows } => {
                if fresh || inside {
                    states[p + 1] = true;
                }
                if fresh && slash_follows {
                    states[p + 2] = true;
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The backtracking matcher this module replaced, kept as the reference for its meaning.
    fn backtracking(glob: &[u8], text: &[u8]) -> bool {
        match glob {
            [] => text.is_empty(),
            [b'*', b'*', rest @ ..] => {
                if let [b'/', after @ ..] = rest {
                    if backtracking(after, text) {
                        return true;
                    }
                }
                (0..=text.len()).any(|i| backtracking(rest, &text[i..]))
            }
            [b'*', rest @ ..] => {
                let end = text.iter().position(|&c| c == b'/').unwrap_or(text.len());
                (0..=end).any(|i| backtracking(rest, &text[i..]))
            }
            [b'?', rest @ ..] => match text {
                [c, tail @ ..] if *c != b'/' => backtracking(rest, tail),
                _ => false,
            },
            [g, rest @ ..] => match text {
                [c, tail @ ..] if c == g => backtracking(rest, tail),
                _ => false,
            },
        }
    }

    /// Every glob and text of up to 5 and 6 characters over an alphabet that has each kind
    /// of token, compared with the backtracking matcher: the same answer everywhere.
    #[test]
    fn the_automaton_agrees_with_the_backtracking_matcher_everywhere_small() {
        let glob_alphabet = [b'a', b'b', b'/', b'*', b'?'];
        let text_alphabet = [b'a', b'b', b'/'];
        let all = |alphabet: &[u8], max: usize| {
            let mut out: Vec<Vec<u8>> = vec![Vec::new()];
            let mut layer: Vec<Vec<u8>> = vec![Vec::new()];
            for _ in 0..max {
                let mut grown = Vec::new();
                for s in &layer {
                    for c in alphabet {
                        let mut t = s.clone();
                        t.push(*c);
                        grown.push(t);
                    }
                }
                out.extend(grown.iter().cloned());
                layer = grown;
            }
            out
        };
        let globs = all(&glob_alphabet, 5);
        let texts = all(&text_alphabet, 6);
        let mut compared = 0;
        for g in &globs {
            for t in &texts {
                assert_eq!(
                    matches(g, t),
                    backtracking(g, t),
                    "glob {:?} text {:?}",
                    String::from_utf8_lossy(g),
                    String::from_utf8_lossy(t)
                );
                compared += 1;
            }
        }
        assert_eq!(compared, globs.len() * texts.len());
        assert!(compared > 3_000_000, "{compared}");
    }

    #[test]
    fn globs_as_written_in_fleet_files() {
        let cases = [
            ("xnat/*", "xnat/tool", true),
            ("xnat/*", "xnat/a/tool", false),
            ("xnat/**", "xnat/a/tool", true),
            ("a/**/b", "a/b", true),
            ("a/**/b", "a/x/y/b", true),
            ("a/**/b", "a/xb", false),
            ("a/**/b", "a/x/b", true),
            ("lab/t?ol", "lab/tool", true),
            ("lab/t?ol", "lab/t/ol", false),
            ("library/*", "ubuntu", true),
            ("docker.io/xnat/*", "index.docker.io/xnat/tool:1", true),
            ("ghcr.io/lab/*", "lab/tool", false),
        ];
        for (glob, repo, want) in cases {
            assert_eq!(glob_matches(glob, repo), want, "{glob} vs {repo}");
        }
    }

    /// The glob that made the backtracking matcher run for ever; the automaton answers at once.
    #[test]
    fn prune_glob_with_many_stars_does_not_backtrack_exponentially() {
        let glob = format!("lab/{}b", "*a".repeat(40));
        let repo = format!("lab/{}", "a".repeat(60));
        assert!(!glob_matches(&glob, &repo));
        let glob = format!("lab/{}", "**a".repeat(200));
        assert!(glob_matches(&glob, &format!("lab/{}", "a".repeat(300))));
    }
}
