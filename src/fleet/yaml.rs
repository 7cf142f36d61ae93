//! A YAML document as a tree of nodes that know where they are (1-based line and column), so
//! that every mistake in the fleet file can be pointed at. Built from yaml-rust2's marked events
//! (serde_norway's `Value` carries no positions). YAML 1.2 core schema for plain scalars; JSON
//! is YAML, so it parses too. Pure: text in, tree out.
//!
//! Bounded: nesting stops at [`MAX_FLEET_DEPTH`] (the builder recurses once per level), and
//! anchors and aliases — which copy a subtree each time they are used — may copy at most
//! [`MAX_FLEET_ALIAS_WEIGHT`] in all, so a few hundred bytes of aliases cannot expand into
//! gigabytes. Duplicate keys are found with a hash set, in linear time.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::limits::{MAX_FLEET_ALIAS_WEIGHT, MAX_FLEET_DEPTH};

/// A position in the text, both 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

impl Pos {
    pub const START: Pos = Pos { line: 1, column: 1 };

    fn of(mark: Marker) -> Pos {
        // yaml-rust2's line is 1-based, its column 0-based.
        Pos {
            line: mark.line(),
            column: mark.col() + 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub pos: Pos,
    pub value: Value,
}

/// What a plain scalar resolves to (YAML 1.2 core schema); quoted scalars are strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarKind {
    Null,
    Bool(bool),
    Number,
    String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Scalar {
        text: String,
        kind: ScalarKind,
    },
    Seq(Vec<Node>),
    /// Entries in file order; keys are checked for duplicates while building.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// What the node is, for "expected X, found Y" messages.
    pub fn describe(&self) -> String {
        match &self.value {
            Value::Scalar { kind, text } => match kind {
                ScalarKind::Null => "nothing".to_string(),
                ScalarKind::Bool(_) => format!("the boolean `{text}`"),
                ScalarKind::Number => format!("the number `{text}`"),
                ScalarKind::String => format!("the string `{text}`"),
            },
            Value::Seq(_) => "a list".to_string(),
            Value::Map(_) => "a mapping".to_string(),
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(
            self.value,
            Value::Scalar {
                kind: ScalarKind::Null,
                ..
            }
        )
    }

    /// The text of a string scalar. Numbers count as strings (a project id `001` stays `001`,
    /// as written); booleans and null do not.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar {
                text,
                kind: ScalarKind::String | ScalarKind::Number,
            } => Some(text),
            _ => None,
        }
    }
}

/// A syntax error (or a document shape the tree does not support), located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub pos: Pos,
    pub message: String,
}

/// Parse the first (and only) document of `text`; `None` for a file with no document.
pub fn parse(text: &str) -> Result<Option<Node>, SyntaxError> {
    let mut builder = Builder {
        // Also for text that did not come through `limits::read_text` (which drops it too).
        parser: Parser::new_from_str(crate::limits::strip_bom(text)),
        anchors: HashMap::new(),
        copied: 0,
        depth: 0,
    };
    builder.document()
}

struct Builder<'a> {
    parser: Parser<std::str::Chars<'a>>,
    /// Anchored nodes by anchor id (ids start at 1; a redefined name gets a new id), with
    /// their [`weight`], for aliases.
    anchors: HashMap<usize, (Node, usize)>,
    /// The weight of every copy made so far for anchors and aliases.
    copied: usize,
    /// Collections open around the node being built.
    depth: usize,
}

impl Builder<'_> {
    fn next(&mut self) -> Result<(Event, Pos), SyntaxError> {
        match self.parser.next_token() {
            Ok((event, mark)) => Ok((event, Pos::of(mark))),
            Err(e) => Err(SyntaxError {
                pos: Pos::of(*e.marker()),
                message: format!("invalid YAML: {}", e.info()),
            }),
        }
    }

    fn document(&mut self) -> Result<Option<Node>, SyntaxError> {
        let mut root = None;
        loop {
            let (event, pos) = self.next()?;
            match event {
                Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
                Event::StreamEnd => return Ok(root),
                Event::DocumentStart if root.is_some() => {
                    return Err(SyntaxError {
                        pos,
                        message: "more than one YAML document: a fleet file is one document"
                            .to_string(),
                    })
                }
                Event::DocumentStart => {
                    let (event, pos) = self.next()?;
                    root = Some(self.node(event, pos)?);
                }
                other => {
                    return Err(SyntaxError {
                        pos,
                        message: format!("invalid YAML: unexpected {other:?}"),
                    })
                }
            }
        }
    }

    fn node(&mut self, event: Event, pos: Pos) -> Result<Node, SyntaxError> {
        let opens = matches!(event, Event::SequenceStart(..) | Event::MappingStart(..));
        if opens {
            if self.depth >= MAX_FLEET_DEPTH {
                return Err(SyntaxError {
                    pos,
                    message: format!(
                        "nesting deeper than {MAX_FLEET_DEPTH} levels: a fleet file nests a few levels"
                    ),
                });
            }
            self.depth += 1;
        }
        let node = self.node_inner(event, pos);
        if opens {
            self.depth -= 1;
        }
        node
    }

    fn node_inner(&mut self, event: Event, pos: Pos) -> Result<Node, SyntaxError> {
        let (node, anchor) = match event {
            Event::Scalar(text, style, anchor, tag) => {
                let kind = scalar_kind(&text, style, tag.as_ref());
                (
                    Node {
                        pos,
                        value: Value::Scalar { text, kind },
                    },
                    anchor,
                )
            }
            Event::SequenceStart(anchor, _) => {
                let mut items = Vec::new();
                loop {
                    let (event, item_pos) = self.next()?;
                    if event == Event::SequenceEnd {
                        break;
                    }
                    items.push(self.node(event, item_pos)?);
                }
                let pos = earliest(pos, items.first().map(|n| n.pos));
                (
                    Node {
                        pos,
                        value: Value::Seq(items),
                    },
                    anchor,
                )
            }
            Event::MappingStart(anchor, _) => {
                let mut entries: Vec<(Node, Node)> = Vec::new();
                // Scalar keys seen so far → the line of the first; only scalars are compared.
                let mut seen: HashMap<String, usize> = HashMap::new();
                loop {
                    let (event, key_pos) = self.next()?;
                    if event == Event::MappingEnd {
                        break;
                    }
                    let key = self.node(event, key_pos)?;
                    if let Value::Scalar { text, .. } = &key.value {
                        if let Some(first) = seen.get(text) {
                            return Err(SyntaxError {
                                pos: key.pos,
                                message: format!(
                                    "duplicate key `{}` (first at line {first})",
                                    key_text(&key),
                                ),
                            });
                        }
                        seen.insert(text.clone(), key.pos.line);
                    }
                    let (event, value_pos) = self.next()?;
                    let value = self.node(event, value_pos)?;
                    entries.push((key, value));
                }
                let pos = earliest(pos, entries.first().map(|(k, _)| k.pos));
                (
                    Node {
                        pos,
                        value: Value::Map(entries),
                    },
                    anchor,
                )
            }
            Event::Alias(id) => {
                let Some((node, weight)) = self.anchors.get(&id) else {
                    return Err(SyntaxError {
                        pos,
                        message: "invalid YAML: alias to an unknown anchor".to_string(),
                    });
                };
                charge(&mut self.copied, *weight, pos)?;
                // The alias stands where it is written: point at the alias, not the anchor.
                return Ok(Node {
                    pos,
                    value: node.value.clone(),
                });
            }
            other => {
                return Err(SyntaxError {
                    pos,
                    message: format!("invalid YAML: unexpected {other:?}"),
                })
            }
        };
        if anchor > 0 {
            let w = weight(&node);
            charge(&mut self.copied, w, pos)?;
            self.anchors.insert(anchor, (node.clone(), w));
        }
        Ok(node)
    }
}

/// Charge `weight` of copying to the alias budget (`copied`, all copies so far).
fn charge(copied: &mut usize, weight: usize, pos: Pos) -> Result<(), SyntaxError> {
    *copied = copied.saturating_add(weight);
    if *copied > MAX_FLEET_ALIAS_WEIGHT {
        return Err(SyntaxError {
            pos,
            message: format!(
                "anchors and aliases expand to more than {MAX_FLEET_ALIAS_WEIGHT} bytes: write the values out, or share less"
            ),
        });
    }
    Ok(())
}

/// Where a collection starts: yaml-rust2 marks a block collection after its first key or
/// item, so the first child wins when it comes earlier.
fn earliest(start: Pos, first_child: Option<Pos>) -> Pos {
    match first_child {
        Some(child) if (child.line, child.column) < (start.line, start.column) => child,
        _ => start,
    }
}

/// What a copy of `node` costs, in bytes of the alias budget: its scalar text, and
/// [`NODE_WEIGHT`] for each node (what one takes in memory besides its text). Recursion is
/// bounded by [`MAX_FLEET_DEPTH`], as the tree is.
fn weight(node: &Node) -> usize {
    NODE_WEIGHT
        + match &node.value {
            Value::Scalar { text, .. } => text.len(),
            Value::Seq(items) => items.iter().map(weight).sum(),
            Value::Map(entries) => entries.iter().map(|(k, v)| weight(k) + weight(v)).sum(),
        }
}

/// The memory one [`Node`] takes besides its text (a `Node` is 56 bytes on 64-bit, plus its
/// share of the vector holding it).
const NODE_WEIGHT: usize = 64;

/// A key for messages: its text when it is a scalar.
pub fn key_text(node: &Node) -> String {
    match &node.value {
        Value::Scalar { text, .. } => text.clone(),
        _ => node.describe(),
    }
}

/// YAML 1.2 core schema resolution of a scalar; an explicit `!!str`/`!!bool`/… tag wins.
fn scalar_kind(text: &str, style: TScalarStyle, tag: Option<&Tag>) -> ScalarKind {
    if let Some(tag) = tag {
        let suffix = tag.suffix.rsplit(':').next().unwrap_or(&tag.suffix);
        match suffix {
            "null" => return ScalarKind::Null,
            "bool" => return ScalarKind::Bool(matches!(text, "true" | "True" | "TRUE")),
            "int" | "float" => return ScalarKind::Number,
            _ => return ScalarKind::String,
        }
    }
    if style != TScalarStyle::Plain {
        return ScalarKind::String;
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => ScalarKind::Null,
        "true" | "True" | "TRUE" => ScalarKind::Bool(true),
        "false" | "False" | "FALSE" => ScalarKind::Bool(false),
        _ if is_number(text) => ScalarKind::Number,
        _ => ScalarKind::String,
    }
}

fn is_number(text: &str) -> bool {
    let t = text.strip_prefix(['-', '+']).unwrap_or(text);
    matches!(t, ".inf" | ".Inf" | ".INF")
        || matches!(text, ".nan" | ".NaN" | ".NAN")
        || t.strip_prefix("0x")
            .is_some_and(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit()))
        || t.strip_prefix("0o")
            .is_some_and(|o| !o.is_empty() && o.bytes().all(|b| (b'0'..=b'7').contains(&b)))
        || (t
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_digit() || b == b'.')
            && t.parse::<f64>().is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(text: &str) -> String {
        match parse(text) {
            Err(e) => format!("{}:{}: {}", e.pos.line, e.pos.column, e.message),
            Ok(n) => panic!("parsed: {n:?}"),
        }
    }

    /// A 40 KB `- - - … x` 20,000 deep overflowed the stack; now refused at level 65.
    #[test]
    fn block_nesting_20000_deep_is_refused_not_a_stack_overflow() {
        let text = format!("{}x\n", "- ".repeat(20_000));
        assert_eq!(
            error_of(&text),
            "1:129: nesting deeper than 64 levels: a fleet file nests a few levels"
        );
        let ok = format!("{}x\n", "- ".repeat(MAX_FLEET_DEPTH));
        assert!(parse(&ok).is_ok());
    }

    /// 9 levels of 9 aliases (a few hundred bytes) expanded into gigabytes by copying.
    #[test]
    fn alias_bomb_stops_at_the_alias_budget() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let refs = vec![format!("*a{}", i - 1); 9].join(", ");
            text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        assert_eq!(
            error_of(&text),
            "4:9: anchors and aliases expand to more than 1048576 bytes: write the values out, or share less"
        );
        // One 64 KiB scalar aliased 100 times: also past the budget, without copying it 100 times.
        let text = format!(
            "s: &s {}\nt: [{}]\n",
            "y".repeat(65_536),
            vec!["*s"; 100].join(", ")
        );
        assert!(error_of(&text).ends_with("anchors and aliases expand to more than 1048576 bytes: write the values out, or share less"));
    }

    /// Sharing a block between images, what anchors are for, still works.
    #[test]
    fn anchors_within_the_budget_expand() {
        let text = "e: &e {site: true, projects: [A, B]}\nimages:\n  - {image: a, enable: *e}\n  - {image: b, enable: *e}\n";
        let Some(Node {
            value: Value::Map(top),
            ..
        }) = parse(text).unwrap()
        else {
            panic!("not a map")
        };
        let Value::Seq(images) = &top[1].1.value else {
            panic!("not a list")
        };
        let Value::Map(first) = &images[0].value else {
            panic!("not a map")
        };
        assert_eq!(first[1].1.value, top[0].1.value);
        assert_eq!(
            first[1].1.pos,
            Pos {
                line: 3,
                column: 24
            }
        );
    }

    /// Each key was compared with every earlier one: 100,000 keys took a minute. A hash map
    /// now; the duplicate is still reported at its place, with the first one's line.
    #[test]
    fn duplicate_key_among_100000_is_found_with_the_first_line() {
        let mut text: String = (0..100_000).map(|i| format!("k{i}: 1\n")).collect();
        text.push_str("k5: 2\n");
        assert_eq!(
            error_of(&text),
            "100001:1: duplicate key `k5` (first at line 6)"
        );
    }

    #[test]
    fn a_leading_bom_is_dropped() {
        let Some(Node {
            value: Value::Map(top),
            ..
        }) = parse("\u{feff}images: []\n").unwrap()
        else {
            panic!("not a map")
        };
        assert_eq!(key_text(&top[0].0), "images");
    }
}
