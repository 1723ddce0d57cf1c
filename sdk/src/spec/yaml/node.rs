//! Event stream → positioned node tree.

use std::borrow::Cow;
use std::collections::HashMap;

use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle, Span};

/// At most this many nodes after alias expansion (guards against "billion laughs").
const NODE_BUDGET: usize = 1_000_000;

/// A YAML value with the position (1-based line and column) where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub(crate) value: NodeValue,
    pub(crate) line: u32,
    pub(crate) col: u32,
}

/// The shape of a node.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum NodeValue {
    /// A scalar: its text after YAML escape processing, whether it was written
    /// plain (unquoted, not a block), and its core-schema tag if one was written.
    Scalar {
        text: String,
        plain: bool,
        tag: Option<String>,
    },
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

/// One `key: value` pair.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub(crate) key: String,
    pub(crate) key_line: u32,
    pub(crate) key_col: u32,
    pub(crate) value: Node,
}

impl Node {
    /// True for `~`, `null`, `Null`, `NULL` and the empty plain scalar.
    pub(crate) fn is_null(&self) -> bool {
        match &self.value {
            NodeValue::Scalar { text, plain, tag } => match tag.as_deref() {
                Some("null") => true,
                Some(_) => false,
                None => *plain && matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL"),
            },
            _ => false,
        }
    }

    /// Human description of the node kind, for "expected X, found Y" messages.
    pub(crate) fn describe(&self) -> String {
        match &self.value {
            _ if self.is_null() => "nothing (an empty value)".to_string(),
            NodeValue::Scalar { text, .. } => {
                let shown: String = text.chars().take(40).collect();
                if shown.len() < text.len() {
                    format!("{shown:?}…")
                } else {
                    format!("{shown:?}")
                }
            }
            NodeValue::Seq(_) => "a list".to_string(),
            NodeValue::Map(_) => "a mapping".to_string(),
        }
    }
}

/// Why the YAML text could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum YamlError {
    Syntax {
        message: String,
        line: u32,
        col: u32,
    },
    DuplicateKey {
        key: String,
        line: u32,
        col: u32,
        first_line: u32,
    },
    ComplexKey {
        line: u32,
        col: u32,
    },
    MultipleDocuments {
        line: u32,
    },
    TooLarge {
        line: u32,
    },
}

fn pos(span: &Span) -> (u32, u32) {
    let line = u32::try_from(span.start.line()).unwrap_or(u32::MAX);
    let col = u32::try_from(span.start.col()).unwrap_or(u32::MAX);
    (line.max(1), col.saturating_add(1))
}

fn count_nodes(node: &Node) -> usize {
    match &node.value {
        NodeValue::Scalar { .. } => 1,
        NodeValue::Seq(items) => 1 + items.iter().map(count_nodes).sum::<usize>(),
        NodeValue::Map(entries) => 1 + entries.iter().map(|e| count_nodes(&e.value)).sum::<usize>(),
    }
}

enum Frame {
    Seq {
        node: Node,
        anchor: usize,
    },
    Map {
        node: Node,
        anchor: usize,
        pending_key: Option<(String, u32, u32)>,
        seen: HashMap<String, u32>,
    },
}

struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    nodes: usize,
    root: Option<Node>,
}

impl Builder {
    /// Attaches a finished node to its parent (or makes it the root).
    /// `weight` is how many nodes `node` adds to the budget (1, or the size of an
    /// expanded alias; collections count their children as those are attached).
    fn attach(&mut self, node: Node, anchor: usize, weight: usize) -> Result<(), YamlError> {
        self.nodes = self.nodes.saturating_add(weight);
        if self.nodes > NODE_BUDGET {
            return Err(YamlError::TooLarge { line: node.line });
        }
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => {
                if self.root.is_some() {
                    return Err(YamlError::MultipleDocuments { line: node.line });
                }
                self.root = Some(node);
            }
            Some(Frame::Seq { node: parent, .. }) => {
                if let NodeValue::Seq(items) = &mut parent.value {
                    items.push(node);
                }
            }
            Some(Frame::Map {
                node: parent,
                pending_key,
                seen,
                ..
            }) => match pending_key.take() {
                None => {
                    let NodeValue::Scalar { text, .. } = node.value else {
                        return Err(YamlError::ComplexKey {
                            line: node.line,
                            col: node.col,
                        });
                    };
                    if let Some(first) = seen.get(&text) {
                        return Err(YamlError::DuplicateKey {
                            key: text,
                            line: node.line,
                            col: node.col,
                            first_line: *first,
                        });
                    }
                    seen.insert(text.clone(), node.line);
                    *pending_key = Some((text, node.line, node.col));
                }
                Some((key, key_line, key_col)) => {
                    if let NodeValue::Map(entries) = &mut parent.value {
                        entries.push(Entry {
                            key,
                            key_line,
                            key_col,
                            value: node,
                        });
                    }
                }
            },
        }
        Ok(())
    }
}

/// Parses one YAML document. `Ok(None)` for an empty stream.
pub(crate) fn parse_document(text: &str) -> Result<Option<Node>, YamlError> {
    let mut parser = Parser::new_from_str(text);
    let mut b = Builder {
        stack: Vec::new(),
        anchors: HashMap::new(),
        nodes: 0,
        root: None,
    };
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| {
            let m = e.marker();
            YamlError::Syntax {
                message: e.info(),
                line: u32::try_from(m.line()).unwrap_or(u32::MAX).max(1),
                col: u32::try_from(m.col()).unwrap_or(u32::MAX).saturating_add(1),
            }
        })?;
        let (line, col) = pos(&span);
        match event {
            Event::DocumentStart(..) if b.root.is_some() => {
                return Err(YamlError::MultipleDocuments { line });
            }
            Event::Scalar(value, style, anchor, tag) => {
                let tag = tag.and_then(|t| t.core_suffix().map(str::to_string));
                let node = Node {
                    value: NodeValue::Scalar {
                        text: Cow::into_owned(value),
                        plain: matches!(style, ScalarStyle::Plain),
                        tag,
                    },
                    line,
                    col,
                };
                b.attach(node, anchor, 1)?;
            }
            Event::SequenceStart(_, anchor, _) => b.stack.push(Frame::Seq {
                node: Node {
                    value: NodeValue::Seq(Vec::new()),
                    line,
                    col,
                },
                anchor,
            }),
            Event::MappingStart(_, anchor, _) => b.stack.push(Frame::Map {
                node: Node {
                    value: NodeValue::Map(Vec::new()),
                    line,
                    col,
                },
                anchor,
                pending_key: None,
                seen: HashMap::new(),
            }),
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor) = match b.stack.pop() {
                    Some(Frame::Seq { node, anchor }) | Some(Frame::Map { node, anchor, .. }) => {
                        (node, anchor)
                    }
                    None => {
                        return Err(YamlError::Syntax {
                            message: "unbalanced collection end".to_string(),
                            line,
                            col,
                        });
                    }
                };
                b.attach(node, anchor, 1)?;
            }
            Event::Alias(id) => {
                let Some(target) = b.anchors.get(&id).cloned() else {
                    return Err(YamlError::Syntax {
                        message: "alias refers to an unknown anchor".to_string(),
                        line,
                        col,
                    });
                };
                let weight = count_nodes(&target);
                let mut node = target;
                node.line = line;
                node.col = col;
                b.attach(node, 0, weight)?;
            }
            _ => {}
        }
    }
    Ok(b.root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_scalar_text_and_positions() {
        let n = parse_document("a: 1000\nb:\n  - 'x'\n  - 0.10\n")
            .unwrap()
            .unwrap();
        let NodeValue::Map(entries) = &n.value else {
            panic!("map expected")
        };
        assert_eq!(entries[0].key, "a");
        assert_eq!((entries[0].key_line, entries[0].key_col), (1, 1));
        assert_eq!(
            entries[0].value.value,
            NodeValue::Scalar {
                text: "1000".into(),
                plain: true,
                tag: None
            }
        );
        let NodeValue::Seq(items) = &entries[1].value.value else {
            panic!("seq expected")
        };
        assert_eq!(items[1].line, 4);
        assert!(matches!(&items[1].value, NodeValue::Scalar { text, .. } if text == "0.10"));
    }

    #[test]
    fn rejects_duplicate_keys_with_both_lines() {
        let err = parse_document("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(
            err,
            YamlError::DuplicateKey {
                key: "a".into(),
                line: 3,
                col: 1,
                first_line: 1
            }
        );
    }

    #[test]
    fn expands_aliases() {
        let n = parse_document("a: &x {k: v}\nb: *x\n").unwrap().unwrap();
        let NodeValue::Map(entries) = &n.value else {
            panic!()
        };
        assert_eq!(entries[0].value.value, entries[1].value.value);
        assert_eq!(entries[1].value.line, 2);
    }

    #[test]
    fn nulls() {
        let n = parse_document("a:\nb: ~\nc: ''\nd: null\n")
            .unwrap()
            .unwrap();
        let NodeValue::Map(e) = &n.value else {
            panic!()
        };
        assert!(e[0].value.is_null() && e[1].value.is_null() && e[3].value.is_null());
        assert!(!e[2].value.is_null());
    }

    #[test]
    fn syntax_errors_have_positions() {
        let err = parse_document("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(matches!(err, YamlError::Syntax { line, .. } if line >= 1));
    }
}
