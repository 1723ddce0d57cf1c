//! Template execution: scope lookup, section truthiness and line tracking.

use super::parse::Node;
use super::{Env, MissingValue, Rendered, escape_html};

/// A value as mustache.java sees an env entry: `true`/`false` become booleans.
#[derive(Clone, Copy)]
enum Value<'a> {
    Bool(bool),
    Str(&'a str),
}

impl<'a> Value<'a> {
    fn from_env(raw: &'a str) -> Self {
        if raw.eq_ignore_ascii_case("true") {
            Value::Bool(true)
        } else if raw.eq_ignore_ascii_case("false") {
            Value::Bool(false)
        } else {
            Value::Str(raw)
        }
    }

    fn truthy(self) -> bool {
        match self {
            Value::Bool(b) => b,
            Value::Str(s) => !s.is_empty(),
        }
    }
}

/// Output buffer that remembers which template line began each output line.
struct Output {
    text: String,
    line_map: Vec<u32>,
    at_line_start: bool,
}

impl Output {
    fn push(&mut self, s: &str, src_line: u32) {
        for c in s.chars() {
            if self.at_line_start {
                self.line_map.push(src_line);
                self.at_line_start = false;
            }
            self.text.push(c);
            if c == '\n' {
                self.at_line_start = true;
            }
        }
    }
}

pub(super) fn render(nodes: &[Node], env: &Env) -> Rendered {
    let mut out = Output {
        text: String::new(),
        line_map: Vec::new(),
        at_line_start: true,
    };
    let mut missing = Vec::new();
    let mut scopes: Vec<Value<'_>> = Vec::new();
    exec(nodes, env, &mut scopes, &mut out, &mut missing);
    Rendered {
        text: out.text,
        missing,
        line_map: out.line_map,
    }
}

fn lookup<'a>(name: &str, env: &'a Env, scopes: &[Value<'a>]) -> Option<Value<'a>> {
    if name == "." {
        return scopes.last().copied();
    }
    env.get(name).map(|raw| Value::from_env(raw))
}

fn exec<'a>(
    nodes: &[Node],
    env: &'a Env,
    scopes: &mut Vec<Value<'a>>,
    out: &mut Output,
    missing: &mut Vec<MissingValue>,
) {
    for node in nodes {
        match node {
            Node::Text { text, line } => out.push(text, *line),
            Node::Value {
                name,
                escaped,
                line,
            } => match lookup(name, env, scopes) {
                None => missing.push(MissingValue {
                    name: name.clone(),
                    line: *line,
                }),
                Some(Value::Bool(b)) => out.push(if b { "true" } else { "false" }, *line),
                Some(Value::Str(s)) if *escaped => out.push(&escape_html(s), *line),
                Some(Value::Str(s)) => out.push(s, *line),
            },
            Node::Section {
                name,
                inverted,
                body,
            } => {
                let value = lookup(name, env, scopes);
                let truthy = value.is_some_and(Value::truthy);
                if *inverted {
                    if !truthy {
                        exec(body, env, scopes, out, missing);
                    }
                } else if let Some(v) = value.filter(|v| v.truthy()) {
                    scopes.push(v);
                    exec(body, env, scopes, out, missing);
                    scopes.pop();
                }
            }
        }
    }
}
