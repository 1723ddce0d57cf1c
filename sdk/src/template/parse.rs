//! Template parser: reproduces mustache.java's tokenizer, including its handling of
//! whitespace around section tags (which lines disappear and which survive).

use std::collections::BTreeSet;

use super::TemplateError;

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Node {
    /// Literal text; never spans more than one template line (a trailing `\n` at most).
    Text { text: String, line: u32 },
    /// `{{X}}` (escaped) or `{{{X}}}` / `{{&X}}` (raw).
    Value {
        name: String,
        escaped: bool,
        line: u32,
    },
    /// `{{#X}}…{{/X}}` or `{{^X}}…{{/X}}`.
    Section {
        name: String,
        inverted: bool,
        body: Vec<Node>,
    },
}

pub(super) fn parse(text: &str) -> Result<Vec<Node>, TemplateError> {
    let mut p = Parser {
        chars: text.chars().collect(),
        pos: 0,
        line: 1,
        sm: vec!['{', '{'],
        em: vec!['}', '}'],
    };
    p.compile(None, true, false)
}

pub(super) fn collect_names(nodes: &[Node], out: &mut BTreeSet<String>) {
    for n in nodes {
        match n {
            Node::Text { .. } => {}
            Node::Value { name, .. } => {
                out.insert(name.clone());
            }
            Node::Section { name, body, .. } => {
                out.insert(name.clone());
                collect_names(body, out);
            }
        }
    }
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    line: u32,
    sm: Vec<char>,
    em: Vec<char>,
}

/// Java's `String.trim()`: strips every char at or below U+0020.
fn java_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
}

/// Pending literal text of the current line.
struct Pending {
    text: String,
    line: u32,
}

impl Pending {
    fn push(&mut self, c: char, line: u32) {
        if self.text.is_empty() {
            self.line = line;
        }
        self.text.push(c);
    }

    fn flush(&mut self, nodes: &mut Vec<Node>) {
        if !self.text.is_empty() {
            nodes.push(Node::Text {
                text: std::mem::take(&mut self.text),
                line: self.line,
            });
        }
    }

    fn discard(&mut self) {
        self.text.clear();
    }
}

impl Parser {
    fn next(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    /// Tries to consume the start delimiter whose first char `c` was just read.
    fn at_start_delimiter(&mut self, c: char) -> bool {
        if self.sm.first() != Some(&c) {
            return false;
        }
        match self.sm.get(1) {
            None => true,
            Some(&second) if self.peek() == Some(second) => {
                self.pos += 1;
                true
            }
            Some(_) => false,
        }
    }

    /// Reads the tag body up to the end delimiter. `None` at end of input.
    fn read_tag(&mut self) -> Option<String> {
        let mut sb = String::new();
        loop {
            let c = self.next()?;
            if self.em.first() == Some(&c) {
                match self.em.get(1) {
                    None => return Some(sb),
                    Some(&second) if self.peek() == Some(second) => {
                        self.pos += 1;
                        return Some(sb);
                    }
                    Some(_) => {}
                }
            }
            if c == '\n' {
                self.line += 1;
            }
            sb.push(c);
        }
    }

    fn compile(
        &mut self,
        tag: Option<&str>,
        mut start_of_line: bool,
        nested: bool,
    ) -> Result<Vec<Node>, TemplateError> {
        let start_line = self.line;
        let mut nodes = Vec::new();
        let mut only_ws = true;
        let mut iterable = nested;
        let mut saw_cr = false;
        let mut out = Pending {
            text: String::new(),
            line: self.line,
        };
        while let Some(c) = self.next() {
            if c == '\r' {
                saw_cr = true;
                continue;
            }
            if c == '\n' {
                let line = self.line;
                self.line += 1;
                if !iterable || !only_ws {
                    if saw_cr {
                        out.push('\r', line);
                    }
                    out.push('\n', line);
                }
                out.flush(&mut nodes);
                saw_cr = false;
                iterable = false;
                only_ws = true;
                start_of_line = true;
                continue;
            }
            saw_cr = false;
            if self.at_start_delimiter(c) {
                let tag_line = self.line;
                let Some(command) = self.read_tag() else {
                    return Err(TemplateError::UnclosedTag { line: tag_line });
                };
                let Some(kind) = command.chars().next() else {
                    return Err(TemplateError::EmptyTag { line: tag_line });
                };
                let variable = java_trim(&command[kind.len_utf8()..]).to_string();
                match kind {
                    '#' | '^' => {
                        let inner_sol = start_of_line && only_ws;
                        let body = self.compile(Some(&variable), inner_sol, true)?;
                        let lines = self.line - tag_line;
                        if !only_ws || lines == 0 {
                            out.flush(&mut nodes);
                        } else {
                            out.discard();
                        }
                        nodes.push(Node::Section {
                            name: variable,
                            inverted: kind == '^',
                            body,
                        });
                        iterable = lines != 0;
                    }
                    '/' => {
                        if !start_of_line || !only_ws {
                            out.flush(&mut nodes);
                        }
                        return match tag {
                            Some(open) if open == variable => Ok(nodes),
                            Some(open) => Err(TemplateError::MismatchedSectionEnd {
                                expected: open.to_string(),
                                found: variable,
                                line: tag_line,
                            }),
                            None => Err(TemplateError::UnopenedSectionEnd {
                                name: variable,
                                line: tag_line,
                            }),
                        };
                    }
                    '<' | '$' => {
                        return Err(TemplateError::UnsupportedTag {
                            what: "template inheritance",
                            line: tag_line,
                        });
                    }
                    '>' => {
                        return Err(TemplateError::UnsupportedTag {
                            what: "partials",
                            line: tag_line,
                        });
                    }
                    '%' => {
                        return Err(TemplateError::UnsupportedTag {
                            what: "pragmas",
                            line: tag_line,
                        });
                    }
                    '{' => {
                        out.flush(&mut nodes);
                        let name = if self.em.get(1) == Some(&'}') {
                            if self.next() != Some('}') {
                                return Err(TemplateError::UnclosedTripleMustache {
                                    name: variable,
                                    line: tag_line,
                                });
                            }
                            variable
                        } else {
                            let mut v = variable;
                            v.pop();
                            v
                        };
                        nodes.push(Node::Value {
                            name,
                            escaped: false,
                            line: tag_line,
                        });
                    }
                    '&' => {
                        out.flush(&mut nodes);
                        nodes.push(Node::Value {
                            name: variable,
                            escaped: false,
                            line: tag_line,
                        });
                    }
                    '!' => out.flush(&mut nodes),
                    '=' => {
                        out.flush(&mut nodes);
                        let delims: Vec<char> =
                            command.chars().filter(|c| !c.is_whitespace()).collect();
                        let len = delims.len();
                        if len > 6 || !len.is_multiple_of(2) || len < 4 {
                            return Err(TemplateError::InvalidDelimiters {
                                text: command,
                                line: tag_line,
                            });
                        }
                        self.sm = delims[1..len / 2].to_vec();
                        self.em = delims[len / 2..len - 1].to_vec();
                    }
                    _ => {
                        out.flush(&mut nodes);
                        nodes.push(Node::Value {
                            name: java_trim(&command).to_string(),
                            escaped: true,
                            line: tag_line,
                        });
                    }
                }
                start_of_line = false;
                continue;
            }
            only_ws = only_ws && (c == ' ' || c == '\t');
            out.push(c, self.line);
            // Copy the rest of a run of plain text in one go.
            while let Some(&d) = self.chars.get(self.pos) {
                if d == '\r' || d == '\n' || self.sm.first() == Some(&d) {
                    break;
                }
                only_ws = only_ws && (d == ' ' || d == '\t');
                out.text.push(d);
                self.pos += 1;
            }
        }
        out.flush(&mut nodes);
        match tag {
            None => Ok(nodes),
            Some(name) => Err(TemplateError::UnclosedSection {
                name: name.to_string(),
                line: start_line,
            }),
        }
    }
}
