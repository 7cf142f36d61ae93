//! The one summary of text from outside the program that a message quotes: error bodies of
//! registries, token servers, XNAT and daemons, a credential helper's output, and input values
//! echoed back (a reference, a name from a label or a fleet file). Such text can be a 1 MB page,
//! hold terminal escapes, or echo the password the run sent; what reaches a message is:
//!
//! - one line: HTML tags dropped, every run of whitespace one space;
//! - control characters escaped (`\x1b`), so nothing from outside drives the terminal;
//! - credentials redacted: every secret of the run ([`crate::secret::known`]) and the value
//!   after an `Authorization`, `Bearer`/`Basic`, `password`, `secret` or `token` marker;
//! - at most [`MAX_SUMMARY_CHARS`] characters, then
//!   `… (N bytes)` naming the whole size.
//!
//! Only the first `SCAN_BYTES` are looked at, so a summary costs the same for any size.

use crate::limits::MAX_SUMMARY_CHARS;

/// What is read of a text to summarise it: the cap is far below, so the rest is only counted.
const SCAN_BYTES: usize = 64 * 1024;

const REDACTED: &str = "<redacted>";

/// Words after which the next value is a credential (lower case).
const MARKERS: [&str; 5] = ["authorization", "bearer", "basic", "password", "secret"];

/// The summary of an error body or other text from outside.
pub fn summarise(text: &str) -> String {
    let total = text.len();
    let mut end = total.min(SCAN_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let head = &text[..end];
    let head = if head.trim_start().starts_with('<') {
        strip_tags(head)
    } else {
        head.to_string()
    };
    let joined = head.split_whitespace().collect::<Vec<_>>().join(" ");
    let clean = escape_controls(&redact(&joined));
    cap(&clean, total, end < total)
}

/// [`summarise`] of bytes that may not be UTF-8.
pub fn summarise_bytes(bytes: &[u8]) -> String {
    let end = bytes.len().min(SCAN_BYTES);
    let s = summarise(&String::from_utf8_lossy(&bytes[..end]));
    if end < bytes.len() && !s.ends_with(" bytes)") {
        format!("{s}… ({} bytes)", bytes.len())
    } else {
        s.replace(
            &format!("({end} bytes)"),
            &format!("({} bytes)", bytes.len()),
        )
    }
}

/// An input value quoted back in a message (kept as written: no tag stripping or whitespace
/// folding, but escaped, redacted and capped like [`summarise`]).
pub fn quote(value: &str) -> String {
    let total = value.len();
    let mut end = total.min(SCAN_BYTES);
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    let clean = escape_controls(&redact(&value[..end]));
    cap(&clean, total, end < total)
}

/// A whole message as shown (an error, a cause, a hint), which may quote input values the
/// program never summarised (a 4 MB reference, an 8-million-digit number): escaped and capped
/// at [`MAX_MESSAGE_CHARS`](crate::limits::MAX_MESSAGE_CHARS). Not redacted: our own words
/// carry no secret (they are `Secret`s), and a user named like their password would read
/// `<redacted>`; outside text in it was summarised where it was quoted.
pub fn message(text: &str) -> String {
    let total = text.len();
    let mut end = total.min(SCAN_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let clean = escape_controls(&text[..end]);
    cap_at(&clean, total, end < total, crate::limits::MAX_MESSAGE_CHARS)
}

/// One line of a human-readable report (a table row, a verdict), which shows names and images
/// from labels and XNAT: escaped, and capped at
/// [`MAX_OUTPUT_LINE_CHARS`](crate::limits::MAX_OUTPUT_LINE_CHARS) (a 15 MB command name is not
/// printed whole). `--json` output is data and is not touched.
pub fn output_line(text: &str) -> String {
    let total = text.len();
    let mut end = total.min(SCAN_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let clean = escape_controls(&text[..end]);
    cap_at(
        &clean,
        total,
        end < total,
        crate::limits::MAX_OUTPUT_LINE_CHARS,
    )
}

fn cap(clean: &str, total: usize, cut: bool) -> String {
    cap_at(clean, total, cut, MAX_SUMMARY_CHARS)
}

fn cap_at(clean: &str, total: usize, cut: bool, max: usize) -> String {
    if clean.chars().count() > max || cut {
        let kept: String = clean.chars().take(max).collect();
        format!("{kept}… ({total} bytes)")
    } else {
        clean.to_string()
    }
}

/// Control characters (and the Unicode line/paragraph separators and bidi overrides that can
/// rearrange a terminal line) as escapes.
fn escape_controls(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let bidi = matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        if c.is_control() || bidi {
            let n = c as u32;
            if n < 0x100 {
                out.push_str(&format!("\\x{n:02x}"));
            } else {
                out.push_str(&format!("\\u{{{n:x}}}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Every known secret, then the value after each marker, replaced by `<redacted>`.
fn redact(s: &str) -> String {
    let mut text = s.to_string();
    for secret in crate::secret::known() {
        if text.contains(&secret) {
            text = text.replace(&secret, REDACTED);
        }
    }
    let lower = text.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    // (start, end) byte ranges of values to hide, in order.
    let mut hide: Vec<(usize, usize)> = Vec::new();
    for m in MARKERS {
        let mut from = 0;
        while let Some(i) = lower[from..].find(m) {
            let at = from + i;
            from = at + m.len();
            // A whole word only: `basically` is not a marker.
            let before_ok = at == 0 || !bytes[at - 1].is_ascii_alphanumeric();
            let mut j = at + m.len();
            if !before_ok || bytes.get(j).is_some_and(|b| b.is_ascii_alphanumeric()) {
                continue;
            }
            // Separators: quotes, `:`, `=`, spaces (`"password": "x"`, `Bearer x`).
            // `password`, `secret` and `authorization` need a `:` or `=` ("wrong password for
            // admin" hides nothing); a scheme word is followed by its credential.
            let mut seps = 0;
            let mut assigns = false;
            while let Some(b) = bytes.get(j) {
                if matches!(b, b'"' | b'\'' | b':' | b'=' | b' ') {
                    assigns |= matches!(b, b':' | b'=');
                    j += 1;
                    seps += 1;
                } else {
                    break;
                }
            }
            let scheme = m == "bearer" || m == "basic";
            if seps == 0 || !(assigns || scheme) {
                continue;
            }
            let value_end = lower[j..]
                .find(|c: char| {
                    c.is_whitespace() || matches!(c, '"' | '\'' | ',' | ';' | '}' | '&')
                })
                .map_or(lower.len(), |k| j + k);
            if value_end > j && &text[j..value_end] != REDACTED {
                // `Authorization: Bearer x`: the scheme is not the secret, the next word is.
                let word = &lower[j..value_end];
                if m == "authorization" && (word == "bearer" || word == "basic") {
                    continue;
                }
                if scheme && !assigns && !looks_like_credential(&text[j..value_end]) {
                    continue;
                }
                hide.push((j, value_end));
            }
        }
    }
    if hide.is_empty() {
        return text;
    }
    hide.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (a, b) in hide {
        if a < last {
            continue;
        }
        out.push_str(&text[last..a]);
        out.push_str(REDACTED);
        last = b;
    }
    out.push_str(&text[last..]);
    out
}

/// Does a word after `Bearer`/`Basic` look like a credential (base64 or a JWT) rather than
/// prose (`basic authentication`, `Basic realm="x"`)? At least 8 characters of the token
/// alphabet, with a digit, an upper-case letter or a token symbol in it, `=` only as padding.
fn looks_like_credential(word: &str) -> bool {
    let body = word.trim_end_matches('=');
    word.len() >= 8
        && body
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+/._-~".contains(c))
        && body
            .chars()
            .any(|c| c.is_ascii_digit() || c.is_ascii_uppercase() || "+/._-~".contains(c))
}

/// The text between tags, each tag replaced by a space. By hand: error pages only need their
/// words shown, not an HTML parser's fidelity.
fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_escaped_capped_and_redacted() {
        crate::secret::Secret::new("hunter2-summary");
        let page = format!(
            "<!DOCTYPE html><html><head><title>403 Forbidden</title></head>\n<body>\n{}</body></html>",
            "<p>line</p>\n".repeat(200)
        );
        let s = summarise(&page);
        assert!(
            !s.contains('\n') && s.starts_with("403 Forbidden line line"),
            "{s}"
        );
        assert!(s.ends_with(&format!("… ({} bytes)", page.len())), "{s}");
        assert_eq!(
            s.chars().count(),
            MAX_SUMMARY_CHARS + format!("… ({} bytes)", page.len()).chars().count()
        );

        let cases = [
            ("denied \x1b[31mred\x1b[0m", "denied \\x1b[31mred\\x1b[0m"),
            (
                "bad password hunter2-summary for admin",
                "bad password <redacted> for admin",
            ),
            (
                "echo: Authorization: Bearer eyJhbGciOi.x.y",
                "echo: Authorization: Bearer <redacted>",
            ),
            (
                "{\"password\":\"p4ss\",\"user\":\"a\"}",
                "{\"password\":\"<redacted>\",\"user\":\"a\"}",
            ),
            (
                "Authorization=Basic dXNlcjpwYXNz",
                "Authorization=Basic <redacted>",
            ),
            (
                "basically fine, the token server is down",
                "basically fine, the token server is down",
            ),
            ("wrong password for admin", "wrong password for admin"),
            (
                "Basic authentication required, Basic realm=\"Registry\"",
                "Basic authentication required, Basic realm=\"Registry\"",
            ),
            ("", ""),
        ];
        for (input, want) in cases {
            assert_eq!(summarise(input), want, "{input:?}");
        }
        let huge = "9".repeat(8_000_000);
        assert_eq!(
            quote(&huge),
            format!("{}… (8000000 bytes)", "9".repeat(MAX_SUMMARY_CHARS))
        );
        assert_eq!(quote("a\tb\nc"), "a\\x09b\\x0ac");
        assert_eq!(
            summarise_bytes(&[b'x'; 100_000]).len(),
            MAX_SUMMARY_CHARS + "… (100000 bytes)".len()
        );
    }
}
