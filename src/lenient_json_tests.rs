//! Table tests of `lenient_json`: each form XNAT's Jackson mapper accepts, each near miss it
//! refuses, and inputs that must not panic or overflow the stack.

use super::*;
use serde_json::json;

#[test]
fn accepts_what_xnat_accepts() {
    let cases: &[(&str, Value)] = &[
        // Plain JSON, unchanged.
        (
            r#"{"a":1,"b":[true,false,null],"c":"x"}"#,
            json!({"a":1,"b":[true,false,null],"c":"x"}),
        ),
        (" [ ] ", json!([])),
        ("{}", json!({})),
        (r#""\u00e9\ud83d\ude00\n\t\/\\\"""#, json!("é😀\n\t/\\\"")),
        (
            "[-1, 0.5, 1e3, -2E-2, 12345678901234567890]",
            json!([-1, 0.5, 1e3, -2E-2, 12345678901234567890u64]),
        ),
        // ALLOW_SINGLE_QUOTES: single-quoted values and names.
        ("{'name':'a'}", json!({"name": "a"})),
        (r#"['say "hi"']"#, json!(["say \"hi\""])),
        (r"['it\'s']", json!(["it's"])),
        (r#"["it\'s"]"#, json!(["it's"])),
        (r"['a\nb\u0041']", json!(["a\nbA"])),
        (r#"{'a':"x", "b":'y'}"#, json!({"a": "x", "b": "y"})),
        ("['#not a comment']", json!(["#not a comment"])),
        // ALLOW_YAML_COMMENTS: `#` to end of line wherever whitespace may stand.
        ("# lead\n[1]", json!([1])),
        (
            "[ # after [\n 1 # after value\n , # after comma\n 2 ]",
            json!([1, 2]),
        ),
        (
            "{ 'a' # before colon\n : # after colon\n 1 }",
            json!({"a": 1}),
        ),
        ("[1]# no newline at the end", json!([1])),
        ("[1,#c\r2]", json!([1, 2])),
        ("[true#c\n]", json!([true])),
        ("[1#c\n]", json!([1])),
        ("{\"a\":1}\n# trailing comment only", json!({"a": 1})),
        ("[\"a\" # comment with ünïcödé and a\ttab\n]", json!(["a"])),
        // Duplicate keys: the last value wins, the key keeps its first place.
        (r#"{"a":1,"b":2,"a":3}"#, json!({"a": 3, "b": 2})),
    ];
    for (text, want) in cases {
        match parse(text) {
            Ok(p) => {
                assert_eq!(&p.value, want, "{text}");
                assert_eq!(p.trailing, None, "{text}");
            }
            Err(e) => panic!("{text:?}: {e}"),
        }
    }
    // Key order is kept as written.
    let p = parse("{'z':1,'a':2,'m':3}").unwrap();
    let keys: Vec<&String> = p.value.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["z", "a", "m"]);
}

#[test]
fn text_after_the_value_is_ignored_and_located() {
    let cases: &[(&str, Value, (usize, usize))] = &[
        ("[1] x", json!([1]), (1, 5)),
        ("[1]]", json!([1]), (1, 4)),
        (
            "{}\n# c\n // not read, so not an error\n",
            json!({}),
            (3, 2),
        ),
        ("[1]\n\u{1}", json!([1]), (2, 1)),
    ];
    for (text, want, at) in cases {
        let p = parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert_eq!(&p.value, want, "{text:?}");
        assert_eq!(p.trailing, Some(*at), "{text:?}");
    }
}

#[test]
fn refuses_near_misses_as_xnat_does() {
    use JsonErrorKind as K;
    let u = |found, expected| K::Unexpected { found, expected };
    let value = "expected a valid value (JSON String, Number, Array, Object or token 'null', 'true' or 'false')";
    let cases: Vec<(&str, usize, usize, JsonErrorKind)> = vec![
        ("", 1, 1, K::NoContent),
        ("  # only a comment\n", 2, 1, K::NoContent),
        // ALLOW_UNQUOTED_FIELD_NAMES is off.
        ("{name: 'a'}", 1, 2, K::UnquotedName { found: 'n' }),
        // ALLOW_TRAILING_COMMA is off.
        ("[1,]", 1, 4, K::TrailingComma),
        ("{'a':1,}", 1, 8, K::TrailingComma),
        ("[1, # c\n]", 2, 1, K::TrailingComma),
        // ALLOW_COMMENTS is off: no `//` or `/* */`.
        ("// c\n[1]", 1, 1, K::SlashComment),
        ("[1 /* c */]", 1, 4, K::SlashComment),
        ("{'a': // c\n 1}", 1, 7, K::SlashComment),
        // ALLOW_MISSING_VALUES is off.
        ("[1,,2]", 1, 4, u(',', value)),
        ("[,]", 1, 2, u(',', value)),
        // ALLOW_NON_NUMERIC_NUMBERS is off.
        (
            "[NaN]",
            1,
            2,
            K::NonNumeric {
                token: "NaN".into(),
            },
        ),
        (
            "[Infinity]",
            1,
            2,
            K::NonNumeric {
                token: "Infinity".into(),
            },
        ),
        // ALLOW_NUMERIC_LEADING_ZEROS and ALLOW_LEADING_DECIMAL_POINT_FOR_NUMBERS are off.
        ("[01]", 1, 2, K::LeadingZero),
        ("[-00]", 1, 3, K::LeadingZero),
        ("[.5]", 1, 2, u('.', value)),
        ("[+1]", 1, 2, u('+', value)),
        (
            "[1.]",
            1,
            4,
            K::InvalidNumber {
                found: ']',
                why: "Decimal point not followed by a digit",
            },
        ),
        (
            "[1e]",
            1,
            4,
            K::InvalidNumber {
                found: ']',
                why: "Exponent indicator not followed by a digit",
            },
        ),
        (
            "[-x]",
            1,
            3,
            K::InvalidNumber {
                found: 'x',
                why: "expected digit (0-9) to follow minus sign, for valid numeric value",
            },
        ),
        (
            "-",
            1,
            2,
            K::NumberEof {
                why: "expected digit (0-9) to follow minus sign, for valid numeric value",
            },
        ),
        (
            "[1e400]",
            1,
            2,
            K::NumberOutOfRange {
                text: "1e400".into(),
            },
        ),
        // ALLOW_UNQUOTED_CONTROL_CHARS is off: raw control characters in strings.
        ("['a\nb']", 1, 4, K::ControlCharInString { found: '\n' }),
        ("[\"a\tb\"]", 1, 4, K::ControlCharInString { found: '\t' }),
        // ALLOW_BACKSLASH_ESCAPING_ANY_CHARACTER is off.
        (r#"["a\.b"]"#, 1, 5, K::InvalidEscape { found: '.' }),
        (r"['\x']", 1, 4, K::InvalidEscape { found: 'x' }),
        (r#"["C:\users"]"#, 1, 7, K::BadHexEscape { found: 's' }),
        (r#"["\ud800"]"#, 1, 3, K::LoneSurrogate { code: 0xD800 }),
        (r#"["\udc00"]"#, 1, 3, K::LoneSurrogate { code: 0xDC00 }),
        // Other whitespace between tokens.
        ("[1,\u{b}2]", 1, 4, K::InvalidSpace { found: '\u{b}' }),
        ("[1 # c \u{1} \n]", 1, 8, K::InvalidSpace { found: '\u{1}' }),
        ("\u{feff}[1]", 1, 1, u('\u{feff}', value)),
        // Bad tokens, missing separators, early ends.
        (
            "[tru]",
            1,
            2,
            K::UnrecognizedToken {
                token: "tru".into(),
            },
        ),
        (
            "[truex]",
            1,
            2,
            K::UnrecognizedToken {
                token: "truex".into(),
            },
        ),
        (
            "[undefined]",
            1,
            2,
            K::UnrecognizedToken {
                token: "undefined".into(),
            },
        ),
        (
            "[1 2]",
            1,
            4,
            u('2', "was expecting comma to separate Array entries"),
        ),
        (
            "{'a' 1}",
            1,
            6,
            u(
                '1',
                "was expecting a colon to separate field name and value",
            ),
        ),
        (
            "{'a':1 'b':2}",
            1,
            8,
            u('\'', "was expecting comma to separate Object entries"),
        ),
        (
            "[1",
            1,
            3,
            K::Eof {
                context: ": expected close marker for Array",
            },
        ),
        (
            "{'a':1",
            1,
            7,
            K::Eof {
                context: ": expected close marker for Object",
            },
        ),
        (
            "{'a'",
            1,
            5,
            K::Eof {
                context: ": expected close marker for Object",
            },
        ),
        (
            "['abc",
            1,
            6,
            K::Eof {
                context: ": was expecting closing quote for a string value",
            },
        ),
        (
            "{'a':",
            1,
            6,
            K::Eof {
                context: "while expecting a value",
            },
        ),
        // Positions count characters, and \r\n as one line end.
        (
            "[\r\n'é', x]",
            2,
            6,
            K::UnrecognizedToken { token: "x".into() },
        ),
    ];
    for (text, line, column, kind) in cases {
        let got = parse(text);
        let want = JsonError { line, column, kind };
        assert_eq!(got.as_ref().err(), Some(&want), "{text:?}: got {got:?}");
    }
}

#[test]
fn messages_read_like_jacksons() {
    let e = parse("{name: 1}").unwrap_err();
    assert_eq!(
        e.to_string(),
        "Unexpected character ('n' (code 110)): was expecting double-quote to start field name \
         (XNAT accepts \"double\" or 'single' quoted names, not bare ones) at line 1, column 2"
    );
    let e = parse("[\"a\u{1}\"]").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("Illegal unquoted character ((CTRL-CHAR, code 1))"),
        "{e}"
    );
    let e = parse("[\"\\é\"]").unwrap_err();
    assert!(e.to_string().contains("'é' (code 233)"), "{e}");
    let e = parse("[\"\\✓\"]").unwrap_err();
    assert!(e.to_string().contains("'✓' (code 10003 / 0x2713)"), "{e}");
}

#[test]
fn bodies_are_utf8_and_may_start_with_a_bom() {
    assert_eq!(
        parse_bytes(b"\xEF\xBB\xBF{'a':1}").unwrap().value,
        json!({"a": 1})
    );
    let e = parse_bytes(b"{\n'a':'\xFF'}").unwrap_err();
    assert_eq!((e.line, e.column, e.kind), (2, 6, JsonErrorKind::NotUtf8));
}

#[test]
fn strict_json_reads_as_serde_json_reads_it() {
    let texts = [
        r#"[{"name":"a","inputs":[{"name":"x","default-value":"1.5","required":false}],"n":-1.25e-3,"big":18446744073709551616}]"#,
        "{\"z\":{\"y\":[[],{},\"\\u0000\\b\\f\"]},\"a\":null}",
        "[-0, -0.0, 0e0, 1E+2]",
    ];
    for t in texts {
        let want: Value = serde_json::from_str(t).unwrap();
        assert_eq!(parse(t).unwrap().value, want, "{t}");
        assert_eq!(
            serde_json::to_string(&parse(t).unwrap().value).unwrap(),
            serde_json::to_string(&want).unwrap()
        );
    }
}

#[test]
fn nesting_is_capped_without_overflowing_the_stack() {
    let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
    assert!(parse(&ok).is_ok());
    let deep = format!("{}{}", "[{'a':".repeat(MAX_DEPTH), "1");
    let e = parse(&deep).unwrap_err();
    assert_eq!(e.kind, JsonErrorKind::TooDeep);
    // Far deeper than the cap: refused at the cap, no stack overflow.
    let e = parse(&"[".repeat(1_000_000)).unwrap_err();
    assert_eq!(
        (e.line, e.column, e.kind),
        (1, MAX_DEPTH + 1, JsonErrorKind::TooDeep)
    );
}

#[test]
fn no_panic_on_any_prefix_or_odd_byte() {
    // Every prefix of a rich document, and every cut of it with one byte replaced, must give a
    // value or an error, never a panic.
    let doc = "# c\n[{'a\\'b': \"\\u00e9\\ud83d\\ude00\", \"n\": [-0.5e+3, 0, true, false, null]}, 'é✓'] x";
    let odd = [
        '\0', '\'', '"', '\\', '#', '/', '\u{b}', 'é', ']', '}', '-', 'e',
    ];
    for (i, _) in doc.char_indices() {
        let _ = parse(&doc[..i]);
        for c in odd {
            let mut s = doc[..i].to_string();
            s.push(c);
            s.push_str(doc.get(i + 1..).unwrap_or(""));
            let _ = parse(&s);
            let _ = parse_bytes(s.as_bytes());
        }
        let _ = parse_bytes(&doc.as_bytes()[..i]);
    }
    let _ = parse_bytes(&[0xC3]);
}
