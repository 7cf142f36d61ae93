//! Command JSON read exactly as leniently as XNAT reads it, into a `serde_json::Value` with key
//! order kept.
//!
//! XNAT reads command JSON (the `org.nrg.commands` label and the bodies of `POST /xapi/commands`
//! and `POST /xapi/commands/{id}`) with Jackson 2.13 (`jackson = "2.13.5"` in NrgXnat/xnat
//! `gradle/libs.versions.toml`; container-service 3.7.3 builds against XNAT 1.9.3) through one
//! shared `Jackson2ObjectMapperBuilder`:
//!
//! - NrgXnat/xnat `libs/framework/src/main/java/org/nrg/framework/configuration/SerializerConfig.java`
//!   line 65: `.featuresToEnable(JsonParser.Feature.ALLOW_SINGLE_QUOTES, JsonParser.Feature.ALLOW_YAML_COMMENTS)`;
//! - labels: NrgXnat/container-service `src/main/java/org/nrg/containers/config/ContainersConfig.java`
//!   line 131 makes the injected `ObjectMapper` `SerializerService.getObjectMapper()`, which is
//!   that builder's `build()` (NrgXnat/xnat `libs/framework/.../services/SerializerService.java`
//!   line 52); `services/impl/CommandLabelServiceImpl.java` line 50 reads the label with it:
//!   `objectMapper.readValue(labelValue, new TypeReference<List<Command.CommandCreation>>() {})`;
//! - bodies: `rest/CommandRestApi.java` lines 119 and 145 take `@RequestBody` through the
//!   `MappingJackson2HttpMessageConverter` whose mapper NrgXnat/xnat
//!   `web/src/main/java/org/nrg/xnat/configuration/WebConfig.java` line 67 builds from the same
//!   builder.
//!
//! Every other `JsonParser.Feature` keeps Jackson's default (off), so what Jackson 2.13.5's
//! `ReaderBasedJsonParser` / `UTF8StreamJsonParser` then accept, and this module accepts, is:
//!
//! - **`'single-quoted'` strings**, as values and as field names (`_handleOddValue`,
//!   `_handleOddName`); inside them `"` is a plain character, `'` must be escaped as `\'`;
//! - **`\'`** as an escape in *any* string, double-quoted too (`ParserBase.java` line 1086);
//!   the other escapes are JSON's (`\" \\ \/ \b \f \n \r \t \uXXXX`), anything else is an error;
//! - **`#` comments** to the end of the line (`\n` or `\r`) wherever whitespace may stand:
//!   before and after values, around `:` and `,` (`_skipWSOrEnd2`, `_skipColon2`,
//!   `_skipAfterComma2`); a control character other than tab inside one is an error;
//! - **text after the first complete value is ignored**: `ObjectMapper.readValue` leaves
//!   `DeserializationFeature.FAIL_ON_TRAILING_TOKENS` off, so Jackson never reads past it. We do
//!   the same and report where such text starts ([`Parsed::trailing`]) so callers can warn.
//!
//! And what stays refused (each a near miss with a table test below): `//` and `/* */`
//! comments (`ALLOW_COMMENTS` off), unquoted field names, trailing commas, missing values
//! (`[1,,2]`), `NaN`/`Infinity`, leading zeros, `+1`, `.5`, `1.`, raw control characters
//! inside strings (`ALLOW_UNQUOTED_CONTROL_CHARS` off), backslash before any other character,
//! whitespace other than space, tab, `\r`, `\n` between tokens. Duplicate keys are accepted,
//! the last value wins (`STRICT_DUPLICATE_DETECTION` off), and the key keeps its first place.
//!
//! Where we cannot follow Jackson: a lone UTF-16 surrogate (`"\ud800"`) is refused because a
//! Rust string cannot hold it, and numbers are converted by serde_json (so `1e400` is refused
//! as out of range, as it always was here). Nesting is capped at [`MAX_DEPTH`] levels so that
//! no input can exhaust the stack (Jackson 2.13 has no cap; 2.15 added one of 1000).
//!
//! Hand-written because no crate reads exactly this dialect: `json5` also takes unquoted keys,
//! trailing commas, `//` comments, hex numbers and more; serde_json takes none of it.

use serde_json::{Map, Value};

/// The deepest nesting of lists and objects accepted (the reason for the number is in
/// [`crate::limits`]).
pub use crate::limits::MAX_JSON_DEPTH as MAX_DEPTH;

/// A value read, and where ignored text after it starts (if any).
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub value: Value,
    /// 1-based line and column of the first character after the value that is neither
    /// whitespace nor a `#` comment. XNAT ignores it; it is usually a mistake.
    pub trailing: Option<(usize, usize)>,
}

/// Why the text is not JSON as XNAT reads it, and where (1-based line and column, counted in
/// characters; `\n`, `\r` and `\r\n` each end a line, as in Jackson).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at line {line}, column {column}")]
pub struct JsonError {
    pub line: usize,
    pub column: usize,
    pub kind: JsonErrorKind,
}

/// What went wrong. The texts follow Jackson's own messages where they are clear (hence their
/// capitals, unlike this crate's other messages), so that a message seen in XNAT's log and one
/// seen here can be matched up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonErrorKind {
    #[error("No content to map due to end-of-input")]
    NoContent,
    #[error("Unexpected end-of-input {context}")]
    Eof { context: &'static str },
    #[error("Unexpected character ({}): {expected}", describe(.found))]
    Unexpected { found: char, expected: &'static str },
    /// Kept word for word from before (serde_json's text), which tests and users know.
    #[error("trailing comma")]
    TrailingComma,
    #[error("Unexpected character ('/' (code 47)): maybe a (non-standard) comment? (not recognized as one since Feature 'ALLOW_COMMENTS' not enabled for parser); XNAT accepts `#` comments only")]
    SlashComment,
    #[error("Unexpected character ({}): was expecting double-quote to start field name (XNAT accepts \"double\" or 'single' quoted names, not bare ones)", describe(.found))]
    UnquotedName { found: char },
    #[error("Illegal character ({}): only regular white space (\\r, \\n, \\t) is allowed between tokens", describe(.found))]
    InvalidSpace { found: char },
    #[error("Illegal unquoted character ({}): has to be escaped using backslash to be included in string value", describe(.found))]
    ControlCharInString { found: char },
    #[error("invalid escape: Unrecognized character escape {}", describe(.found))]
    InvalidEscape { found: char },
    #[error("invalid escape: Unexpected character ({}): expected a hex-digit for character escape sequence", describe(.found))]
    BadHexEscape { found: char },
    #[error("lone surrogate \\u{code:04X} in a string: it has no UTF-8 form")]
    LoneSurrogate { code: u32 },
    #[error("Unrecognized token '{token}': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')")]
    UnrecognizedToken { token: String },
    #[error("Non-standard token '{token}': XNAT's parser does not accept NaN or Infinity")]
    NonNumeric { token: String },
    #[error("Invalid numeric value: Leading zeroes not allowed")]
    LeadingZero,
    #[error("Unexpected character ({}) in numeric value: {why}", describe(.found))]
    InvalidNumber { found: char, why: &'static str },
    #[error("Unexpected end-of-input in numeric value: {why}")]
    NumberEof { why: &'static str },
    #[error("number `{text}` is out of range")]
    NumberOutOfRange { text: String },
    #[error("nesting deeper than {} lists and objects", MAX_DEPTH)]
    TooDeep,
    #[error("Invalid UTF-8")]
    NotUtf8,
}

/// Jackson's way of showing a character in a message (`_getCharDesc`).
fn describe(c: &char) -> String {
    let c = *c;
    let code = c as u32;
    if c.is_control() && code < 0x20 {
        format!("(CTRL-CHAR, code {code})")
    } else if code > 255 {
        format!("'{c}' (code {code} / 0x{code:x})")
    } else {
        format!("'{c}' (code {code})")
    }
}

/// Read `text` as XNAT reads a label (Jackson on a Java `String`).
pub fn parse(text: &str) -> Result<Parsed, JsonError> {
    Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        depth: 0,
    }
    .document()
}

/// Read `body` as XNAT reads a request body (Jackson on the byte stream): it must be UTF-8, and
/// a leading UTF-8 byte order mark is skipped (`ByteSourceJsonBootstrapper`).
pub fn parse_bytes(body: &[u8]) -> Result<Parsed, JsonError> {
    let mut bom = [0; 4];
    let bom = crate::limits::BOM.encode_utf8(&mut bom).as_bytes();
    let body = body.strip_prefix(bom).unwrap_or(body);
    match std::str::from_utf8(body) {
        Ok(text) => parse(text),
        Err(e) => {
            let valid = &body[..e.valid_up_to()];
            // The prefix up to `valid_up_to` is UTF-8 by definition.
            let text = std::str::from_utf8(valid).unwrap_or_default();
            let (line, column) = line_column(text, text.len());
            Err(JsonError {
                line,
                column,
                kind: JsonErrorKind::NotUtf8,
            })
        }
    }
}

/// 1-based line and column (in characters) of byte `offset`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut line = 1;
    let mut line_start = 0;
    let bytes = text.as_bytes();
    let end = offset.min(bytes.len());
    let mut i = 0;
    while i < end {
        match bytes[i] {
            b'\n' => {
                line += 1;
                line_start = i + 1;
            }
            b'\r' => {
                line += 1;
                if bytes.get(i + 1) == Some(&b'\n') && i + 1 < end {
                    i += 1;
                }
                line_start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    let column = text
        .get(line_start..end)
        .map_or(end - line_start, |s| s.chars().count())
        + 1;
    (line, column)
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn error_at(&self, offset: usize, kind: JsonErrorKind) -> JsonError {
        let (line, column) = line_column(self.text, offset);
        JsonError { line, column, kind }
    }

    fn error(&self, kind: JsonErrorKind) -> JsonError {
        self.error_at(self.pos, kind)
    }

    /// The character at the current position (the input is a `str`, so there is a whole one
    /// wherever `pos` is a char boundary, which the parser keeps it at).
    fn char_here(&self) -> char {
        self.text
            .get(self.pos..)
            .and_then(|s| s.chars().next())
            .unwrap_or('\0')
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn document(mut self) -> Result<Parsed, JsonError> {
        self.skip_ws()?;
        if self.peek().is_none() {
            return Err(self.error(JsonErrorKind::NoContent));
        }
        let value = self.value()?;
        Ok(Parsed {
            value,
            trailing: self.trailing(),
        })
    }

    /// Where non-blank text after the root value starts. Jackson never reads it, so nothing
    /// there is an error: a `/` or a control character just counts as trailing text.
    fn trailing(&mut self) -> Option<(usize, usize)> {
        while let Some(b) = self.peek() {
            match b {
                b' ' | b'\t' | b'\n' | b'\r' => self.pos += 1,
                b'#' => {
                    while !matches!(self.peek(), None | Some(b'\n' | b'\r')) {
                        self.pos += 1;
                    }
                }
                _ => return Some(line_column(self.text, self.pos)),
            }
        }
        None
    }

    /// Skip whitespace and `#` comments (Jackson's `_skipWSOrEnd2` with only YAML comments on).
    fn skip_ws(&mut self) -> Result<(), JsonError> {
        while let Some(b) = self.peek() {
            match b {
                b' ' | b'\t' | b'\n' | b'\r' => self.pos += 1,
                b'#' => {
                    self.pos += 1;
                    while let Some(c) = self.peek() {
                        if c == b'\n' || c == b'\r' {
                            break;
                        }
                        if c < 0x20 && c != b'\t' {
                            return Err(self.error(JsonErrorKind::InvalidSpace {
                                found: char::from(c),
                            }));
                        }
                        // Non-ASCII bytes are skipped one by one; only ASCII ends the comment.
                        self.pos += 1;
                    }
                }
                b'/' => return Err(self.error(JsonErrorKind::SlashComment)),
                c if c < 0x20 => {
                    return Err(self.error(JsonErrorKind::InvalidSpace {
                        found: char::from(c),
                    }))
                }
                _ => return Ok(()),
            }
        }
        Ok(())
    }

    /// A value; whitespace before it is already skipped.
    fn value(&mut self) -> Result<Value, JsonError> {
        let Some(b) = self.peek() else {
            return Err(self.error(JsonErrorKind::Eof {
                context: "while expecting a value",
            }));
        };
        match b {
            b'{' => self.object(),
            b'[' => self.array(),
            b'"' | b'\'' => self.string(b).map(Value::String),
            b'-' | b'0'..=b'9' => self.number(),
            b't' => self.literal("true", Value::Bool(true)),
            b'f' => self.literal("false", Value::Bool(false)),
            b'n' => self.literal("null", Value::Null),
            _ => {
                let c = self.char_here();
                if is_word_start(c) {
                    let start = self.pos;
                    let token = self.word();
                    let kind = if token == "NaN" || token == "Infinity" {
                        JsonErrorKind::NonNumeric { token }
                    } else {
                        JsonErrorKind::UnrecognizedToken { token }
                    };
                    Err(self.error_at(start, kind))
                } else {
                    Err(self.error(JsonErrorKind::Unexpected {
                        found: c,
                        expected: "expected a valid value (JSON String, Number, Array, Object or token 'null', 'true' or 'false')",
                    }))
                }
            }
        }
    }

    /// A run of identifier characters from here (Jackson shows the whole run in its message).
    fn word(&mut self) -> String {
        let start = self.pos;
        let rest = self.text.get(start..).unwrap_or_default();
        let len: usize = rest
            .chars()
            .take_while(|c| is_word_part(*c))
            .map(char::len_utf8)
            .sum();
        // Cap the echo: the message is one line.
        self.pos = start + len;
        rest.get(..len)
            .unwrap_or_default()
            .chars()
            .take(40)
            .collect()
    }

    fn literal(&mut self, name: &str, value: Value) -> Result<Value, JsonError> {
        let start = self.pos;
        let token = self.word();
        if token == name {
            Ok(value)
        } else {
            Err(self.error_at(start, JsonErrorKind::UnrecognizedToken { token }))
        }
    }

    fn enter(&mut self) -> Result<(), JsonError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.error(JsonErrorKind::TooDeep));
        }
        self.depth += 1;
        Ok(())
    }

    fn array(&mut self) -> Result<Value, JsonError> {
        self.enter()?;
        self.pos += 1; // `[`
        let mut items = Vec::new();
        self.skip_ws()?;
        if self.peek() == Some(b']') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value()?);
            self.skip_ws()?;
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_ws()?;
                    if self.peek() == Some(b']') {
                        return Err(self.error(JsonErrorKind::TrailingComma));
                    }
                }
                Some(b']') => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(Value::Array(items));
                }
                Some(_) => {
                    return Err(self.error(JsonErrorKind::Unexpected {
                        found: self.char_here(),
                        expected: "was expecting comma to separate Array entries",
                    }))
                }
                None => {
                    return Err(self.error(JsonErrorKind::Eof {
                        context: ": expected close marker for Array",
                    }))
                }
            }
        }
    }

    fn object(&mut self) -> Result<Value, JsonError> {
        self.enter()?;
        self.pos += 1; // `{`
        let mut map = Map::new();
        self.skip_ws()?;
        if self.peek() == Some(b'}') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(Value::Object(map));
        }
        loop {
            let key = match self.peek() {
                Some(q @ (b'"' | b'\'')) => self.string(q)?,
                Some(_) => {
                    return Err(self.error(JsonErrorKind::UnquotedName {
                        found: self.char_here(),
                    }))
                }
                None => {
                    return Err(self.error(JsonErrorKind::Eof {
                        context: ": expected close marker for Object",
                    }))
                }
            };
            self.skip_ws()?;
            match self.peek() {
                Some(b':') => self.pos += 1,
                Some(_) => {
                    return Err(self.error(JsonErrorKind::Unexpected {
                        found: self.char_here(),
                        expected: "was expecting a colon to separate field name and value",
                    }))
                }
                None => {
                    return Err(self.error(JsonErrorKind::Eof {
                        context: ": expected close marker for Object",
                    }))
                }
            }
            self.skip_ws()?;
            let value = self.value()?;
            // Last one wins and the key keeps its first place, as with serde_json before and
            // with Jackson binding into XNAT's command classes (`STRICT_DUPLICATE_DETECTION` off).
            map.insert(key, value);
            self.skip_ws()?;
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_ws()?;
                    if self.peek() == Some(b'}') {
                        return Err(self.error(JsonErrorKind::TrailingComma));
                    }
                }
                Some(b'}') => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(Value::Object(map));
                }
                Some(_) => {
                    return Err(self.error(JsonErrorKind::Unexpected {
                        found: self.char_here(),
                        expected: "was expecting comma to separate Object entries",
                    }))
                }
                None => {
                    return Err(self.error(JsonErrorKind::Eof {
                        context: ": expected close marker for Object",
                    }))
                }
            }
        }
    }

    /// A string opened by `quote` (`"` or `'`), which is at the current position.
    fn string(&mut self, quote: u8) -> Result<String, JsonError> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            let start = self.pos;
            // Plain bytes are copied in runs; every byte that ends a run is ASCII, so the run
            // ends on a char boundary.
            while let Some(b) = self.peek() {
                if b == quote || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            out.push_str(self.text.get(start..self.pos).unwrap_or_default());
            match self.peek() {
                None => {
                    return Err(self.error(JsonErrorKind::Eof {
                        context: ": was expecting closing quote for a string value",
                    }))
                }
                Some(b) if b == quote => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let c = self.escape()?;
                    out.push(c);
                }
                Some(b) => {
                    return Err(self.error(JsonErrorKind::ControlCharInString {
                        found: char::from(b),
                    }))
                }
            }
        }
    }

    /// The character an escape stands for; the backslash is already consumed.
    fn escape(&mut self) -> Result<char, JsonError> {
        let Some(b) = self.peek() else {
            return Err(self.error(JsonErrorKind::Eof {
                context: "in character escape sequence",
            }));
        };
        let c = match b {
            b'b' => '\u{8}',
            b't' => '\t',
            b'n' => '\n',
            b'f' => '\u{c}',
            b'r' => '\r',
            b'"' => '"',
            b'/' => '/',
            b'\\' => '\\',
            // ALLOW_SINGLE_QUOTES also lets `\'` through in every string (ParserBase line 1086).
            b'\'' => '\'',
            b'u' => {
                self.pos += 1;
                return self.unicode_escape();
            }
            _ => {
                return Err(self.error(JsonErrorKind::InvalidEscape {
                    found: self.char_here(),
                }))
            }
        };
        self.pos += 1;
        Ok(c)
    }

    /// Four hex digits after `\u`, and the low half after a high surrogate.
    fn unicode_escape(&mut self) -> Result<char, JsonError> {
        let at = self.pos.saturating_sub(2);
        let high = self.hex4()?;
        let code = match high {
            0xD800..=0xDBFF => {
                if self.bytes.get(self.pos..self.pos + 2) != Some(b"\\u") {
                    return Err(self.error_at(at, JsonErrorKind::LoneSurrogate { code: high }));
                }
                self.pos += 2;
                let low = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&low) {
                    return Err(self.error_at(at, JsonErrorKind::LoneSurrogate { code: high }));
                }
                0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
            }
            0xDC00..=0xDFFF => {
                return Err(self.error_at(at, JsonErrorKind::LoneSurrogate { code: high }))
            }
            other => other,
        };
        char::from_u32(code).ok_or_else(|| self.error_at(at, JsonErrorKind::LoneSurrogate { code }))
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let mut value = 0u32;
        for _ in 0..4 {
            let Some(b) = self.peek() else {
                return Err(self.error(JsonErrorKind::Eof {
                    context: "in character escape sequence",
                }));
            };
            let Some(digit) = char::from(b).to_digit(16) else {
                return Err(self.error(JsonErrorKind::BadHexEscape {
                    found: self.char_here(),
                }));
            };
            value = value * 16 + digit;
            self.pos += 1;
        }
        Ok(value)
    }

    /// JSON's number grammar (Jackson's with `ALLOW_NUMERIC_LEADING_ZEROS` and
    /// `ALLOW_LEADING_DECIMAL_POINT_FOR_NUMBERS` off); the value is serde_json's reading of the
    /// same text, so numbers come out exactly as they did before this parser.
    fn number(&mut self) -> Result<Value, JsonError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        let int_start = self.pos;
        self.digits("expected digit (0-9) to follow minus sign, for valid numeric value")?;
        if self.pos - int_start > 1 && self.bytes.get(int_start) == Some(&b'0') {
            return Err(self.error_at(int_start, JsonErrorKind::LeadingZero));
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            self.digits("Decimal point not followed by a digit")?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            self.digits("Exponent indicator not followed by a digit")?;
        }
        let text = self.text.get(start..self.pos).unwrap_or_default();
        serde_json::from_str::<serde_json::Number>(text)
            .map(Value::Number)
            .map_err(|_| {
                self.error_at(
                    start,
                    JsonErrorKind::NumberOutOfRange {
                        text: text.to_string(),
                    },
                )
            })
    }

    /// One or more ASCII digits.
    fn digits(&mut self, why: &'static str) -> Result<(), JsonError> {
        match self.peek() {
            Some(b'0'..=b'9') => {}
            Some(_) => {
                return Err(self.error(JsonErrorKind::InvalidNumber {
                    found: self.char_here(),
                    why,
                }))
            }
            None => return Err(self.error(JsonErrorKind::NumberEof { why })),
        }
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        Ok(())
    }
}

/// Characters that start what Jackson reports as an unrecognized token rather than as an
/// unexpected character (`Character.isJavaIdentifierStart`, near enough).
fn is_word_start(c: char) -> bool {
    c.is_alphabetic() || c == '_' || c == '$'
}

fn is_word_part(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$'
}

#[cfg(test)]
#[path = "lenient_json_tests.rs"]
mod tests;
