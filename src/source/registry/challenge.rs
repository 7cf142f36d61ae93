//! `WWW-Authenticate` challenges (RFC 7235): several per header, several headers, quoted
//! parameters with commas and escapes, case-insensitive schemes. Pure.
//!
//! Hand-written: the one crate for this (`http-auth`) parses far more (digest auth, token68)
//! than registries send, and we need the Bearer `error` parameter verbatim.

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Challenge {
    /// Lower-cased scheme: `bearer`, `basic`, …
    pub scheme: String,
    /// Parameters, names lower-cased.
    pub params: BTreeMap<String, String>,
}

impl Challenge {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }
}

/// All challenges in the given header values, in order.
pub fn parse_all<'a>(headers: impl IntoIterator<Item = &'a str>) -> Vec<Challenge> {
    headers.into_iter().flat_map(parse).collect()
}

/// The challenges in one header value; malformed trailing text is ignored.
pub fn parse(value: &str) -> Vec<Challenge> {
    let mut out: Vec<Challenge> = vec![];
    let mut p = Parser {
        s: value.as_bytes(),
        i: 0,
    };
    loop {
        p.skip(|c| c == b' ' || c == b'\t' || c == b',');
        let Some(tok) = p.token() else { break };
        p.skip(|c| c == b' ' || c == b'\t');
        if p.peek() == Some(b'=') && !out.is_empty() {
            // `name=value` continues the current challenge.
            p.i += 1;
            p.skip(|c| c == b' ' || c == b'\t');
            let v = if p.peek() == Some(b'"') {
                p.quoted()
            } else {
                p.token().unwrap_or_default()
            };
            if let Some(c) = out.last_mut() {
                c.params.insert(tok.to_ascii_lowercase(), v);
            }
        } else {
            out.push(Challenge {
                scheme: tok.to_ascii_lowercase(),
                params: BTreeMap::new(),
            });
        }
    }
    out
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn skip(&mut self, f: impl Fn(u8) -> bool) {
        while self.peek().is_some_and(&f) {
            self.i += 1;
        }
    }

    fn token(&mut self) -> Option<String> {
        let start = self.i;
        self.skip(|c| !matches!(c, b' ' | b'\t' | b',' | b'=' | b'"'));
        (self.i > start).then(|| String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }

    fn quoted(&mut self) -> String {
        self.i += 1; // opening quote
        let mut v = vec![];
        while let Some(c) = self.peek() {
            self.i += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    if let Some(n) = self.peek() {
                        v.push(n);
                        self.i += 1;
                    }
                }
                _ => v.push(c),
            }
        }
        String::from_utf8_lossy(&v).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ch(scheme: &str, params: &[(&str, &str)]) -> Challenge {
        Challenge {
            scheme: scheme.into(),
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn challenge_table() {
        let cases: Vec<(&str, Vec<Challenge>)> = vec![
            (
                r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push""#,
                vec![ch(
                    "bearer",
                    &[
                        ("realm", "https://auth.docker.io/token"),
                        ("service", "registry.docker.io"),
                        ("scope", "repository:samalba/my-app:pull,push"),
                    ],
                )],
            ),
            (
                r#"Basic realm="basic-realm""#,
                vec![ch("basic", &[("realm", "basic-realm")])],
            ),
            (
                r#"bearer realm="r", error="insufficient_scope", scope="repository:a:pull""#,
                vec![ch(
                    "bearer",
                    &[
                        ("realm", "r"),
                        ("error", "insufficient_scope"),
                        ("scope", "repository:a:pull"),
                    ],
                )],
            ),
            (
                r#"Basic realm="a, b", Bearer realm="https://x/token",service=s"#,
                vec![
                    ch("basic", &[("realm", "a, b")]),
                    ch("bearer", &[("realm", "https://x/token"), ("service", "s")]),
                ],
            ),
            (
                r#"Bearer realm="q\"uote""#,
                vec![ch("bearer", &[("realm", "q\"uote")])],
            ),
            (r#"BASIC REALM="x""#, vec![ch("basic", &[("realm", "x")])]),
            ("Negotiate", vec![ch("negotiate", &[])]),
            (
                "Bearer realm=unquoted,service=s",
                vec![ch("bearer", &[("realm", "unquoted"), ("service", "s")])],
            ),
            ("", vec![]),
        ];
        for (input, want) in cases {
            assert_eq!(parse(input), want, "{input}");
        }
    }

    #[test]
    fn several_headers() {
        let got = parse_all([r#"Basic realm="r""#, r#"Bearer realm="t",service="s""#]);
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].param("service"), Some("s"));
    }
}
