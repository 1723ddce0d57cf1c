//! YAML node tree → [`ServiceSpec`](crate::spec::ServiceSpec), with dcos-commons'
//! key names, coercions and unknown-key rules, and a diagnostic (file, line, key
//! path) for everything that does not fit.
//!
//! Scalars are coerced the way Jackson coerces them for dcos-commons: a string
//! field takes any scalar's text (`1000` → `"1000"`), numbers and booleans may be
//! quoted, and an empty value is the same as an absent key.

mod pod;
mod service;
mod task;

use std::collections::HashMap;

use super::error::{Diags, Location, SpecError, did_you_mean};
use super::yaml::{Entry, Node, NodeValue};

pub(crate) use service::decode_service;

/// Maps key paths to positions in the file the author wrote.
#[derive(Debug, Default, Clone)]
pub(crate) struct Locator {
    pub(crate) file: Option<String>,
    positions: HashMap<String, (u32, u32)>,
}

impl Locator {
    pub(crate) fn new(file: Option<String>) -> Self {
        Self {
            file,
            positions: HashMap::new(),
        }
    }

    pub(crate) fn record(&mut self, path: &str, line: u32, col: u32) {
        self.positions
            .entry(path.to_string())
            .or_insert((line, col));
    }

    /// Location of `path`, or of its nearest recorded ancestor.
    pub(crate) fn locate(&self, path: &str) -> Location {
        let mut p = path;
        loop {
            if let Some((line, col)) = self.positions.get(p) {
                return Location {
                    file: self.file.clone(),
                    line: Some(*line),
                    column: Some(*col),
                    path: path.to_string(),
                };
            }
            match p.rfind(['.', '[']) {
                Some(i) => p = &p[..i],
                None => {
                    return Location {
                        file: self.file.clone(),
                        line: None,
                        column: None,
                        path: path.to_string(),
                    };
                }
            }
        }
    }
}

/// Decoding context: diagnostics, positions, and the rendered→source line map.
pub(crate) struct Cx<'a> {
    pub(crate) diags: &'a mut Diags,
    pub(crate) locs: &'a mut Locator,
    pub(crate) line_map: &'a dyn Fn(u32) -> u32,
}

pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

impl Cx<'_> {
    /// Records where `path` is (the first record wins).
    fn note(&mut self, path: &str, line: u32, col: u32) {
        let line = (self.line_map)(line);
        self.locs.record(path, line, col);
    }

    fn at(&mut self, path: &str, line: u32, col: u32) -> Location {
        let line = (self.line_map)(line);
        self.locs.record(path, line, col);
        Location {
            file: self.locs.file.clone(),
            line: Some(line),
            column: Some(col),
            path: path.to_string(),
        }
    }

    /// Reports `error` at `node`: a scalar's own position, or for a mapping or
    /// list the position of the key that holds it.
    pub(crate) fn err_at(&mut self, node: &Node, path: &str, error: SpecError) {
        let loc = match &node.value {
            NodeValue::Map(_) | NodeValue::Seq(_) if !path.is_empty() => {
                self.note(path, node.line, node.col);
                self.locs.locate(path)
            }
            _ => self.at(path, node.line, node.col),
        };
        self.diags.error(loc, error);
    }

    pub(crate) fn err_path(&mut self, path: &str, error: SpecError) {
        let loc = self.locs.locate(path);
        self.diags.error(loc, error);
    }

    fn wrong_type(&mut self, node: &Node, path: &str, expected: &str) {
        let found = node.describe();
        self.err_at(
            node,
            path,
            SpecError::WrongType {
                expected: expected.to_string(),
                found,
            },
        );
    }

    /// Opens a mapping. `None` (after reporting) when the node is not a mapping;
    /// an empty value reads as an empty mapping.
    pub(crate) fn map<'n>(&mut self, node: &'n Node, path: &str) -> Option<MapReader<'n>> {
        self.note(path, node.line, node.col);
        match &node.value {
            NodeValue::Map(entries) => Some(MapReader {
                entries: {
                    for e in entries {
                        let line = (self.line_map)(e.key_line);
                        self.locs.record(&join(path, &e.key), line, e.key_col);
                    }
                    entries.iter().collect()
                },
                used: vec![false; entries.len()],
                path: path.to_string(),
            }),
            _ if node.is_null() => Some(MapReader {
                entries: Vec::new(),
                used: Vec::new(),
                path: path.to_string(),
            }),
            _ => {
                self.wrong_type(node, path, "a mapping (key: value lines)");
                None
            }
        }
    }

    /// Opens a list; an empty value reads as an empty list.
    pub(crate) fn seq<'n>(&mut self, node: &'n Node, path: &str) -> Option<&'n [Node]> {
        self.note(path, node.line, node.col);
        match &node.value {
            NodeValue::Seq(items) => Some(items),
            _ if node.is_null() => Some(&[]),
            _ => {
                self.wrong_type(node, path, "a list");
                None
            }
        }
    }

    /// Any scalar's text; `None` for an empty value.
    pub(crate) fn string(&mut self, node: &Node, path: &str) -> Option<String> {
        self.note(path, node.line, node.col);
        if node.is_null() {
            return None;
        }
        match &node.value {
            NodeValue::Scalar { text, .. } => Some(text.clone()),
            _ => {
                self.wrong_type(node, path, "a string");
                None
            }
        }
    }

    fn scalar_text(&mut self, node: &Node, path: &str, expected: &str) -> Option<String> {
        self.note(path, node.line, node.col);
        if node.is_null() {
            return None;
        }
        match &node.value {
            NodeValue::Scalar { text, .. } => Some(text.trim().to_string()),
            _ => {
                self.wrong_type(node, path, expected);
                None
            }
        }
    }

    pub(crate) fn int(&mut self, node: &Node, path: &str) -> Option<i64> {
        let text = self.scalar_text(node, path, "an integer")?;
        let digits = text.strip_prefix('+').unwrap_or(&text);
        if let Ok(v) = digits.parse::<i64>() {
            return Some(v);
        }
        if let Ok(f) = digits.parse::<f64>()
            && f.is_finite()
            && f.fract() == 0.0
            && f.abs() < 9.0e15
        {
            // Integral floats such as `256.0` are accepted, like Jackson does.
            #[allow(clippy::cast_possible_truncation)]
            return Some(f as i64);
        }
        self.wrong_type(node, path, "an integer");
        None
    }

    /// An integer in `min..=max`.
    pub(crate) fn int_in(&mut self, node: &Node, path: &str, min: i64, max: i64) -> Option<i64> {
        let v = self.int(node, path)?;
        if v < min || v > max {
            self.err_at(
                node,
                path,
                SpecError::InvalidValue {
                    value: v.to_string(),
                    reason: format!("must be between {min} and {max}"),
                },
            );
            return None;
        }
        Some(v)
    }

    pub(crate) fn float(&mut self, node: &Node, path: &str) -> Option<f64> {
        let text = self.scalar_text(node, path, "a number")?;
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() => Some(v),
            _ => {
                self.wrong_type(node, path, "a number");
                None
            }
        }
    }

    pub(crate) fn boolean(&mut self, node: &Node, path: &str) -> Option<bool> {
        let text = self.scalar_text(node, path, "true or false")?;
        if text.eq_ignore_ascii_case("true") {
            Some(true)
        } else if text.eq_ignore_ascii_case("false") {
            Some(false)
        } else {
            self.wrong_type(node, path, "true or false");
            None
        }
    }

    /// A non-negative whole number of seconds.
    pub(crate) fn seconds(&mut self, node: &Node, path: &str) -> Option<std::time::Duration> {
        let v = self.int_in(node, path, 0, i64::from(i32::MAX))?;
        Some(std::time::Duration::from_secs(
            u64::try_from(v).unwrap_or(0),
        ))
    }

    /// One of `choices` (exact spelling).
    pub(crate) fn choice(&mut self, node: &Node, path: &str, choices: &[&str]) -> Option<String> {
        let v = self.string(node, path)?;
        if choices.contains(&v.as_str()) {
            return Some(v);
        }
        let hint = choices
            .iter()
            .find(|c| c.eq_ignore_ascii_case(&v))
            .map(|c| format!(" (write it as '{c}')"))
            .unwrap_or_default();
        self.err_at(
            node,
            path,
            SpecError::InvalidValue {
                value: v,
                reason: format!("must be one of {}{hint}", choices.join(", ")),
            },
        );
        None
    }

    /// `k:v,k2:v2` as dcos-commons parses labels.
    pub(crate) fn labels(
        &mut self,
        node: &Node,
        path: &str,
    ) -> Option<indexmap::IndexMap<String, String>> {
        let text = self.string(node, path)?;
        let mut out = indexmap::IndexMap::new();
        if text.trim().is_empty() {
            return Some(out);
        }
        for part in text.split(',') {
            let kv: Vec<&str> = part.split(':').collect();
            match kv.as_slice() {
                [k, v] if !k.trim().is_empty() => {
                    out.insert(k.trim().to_string(), v.trim().to_string());
                }
                _ => {
                    self.err_at(
                        node,
                        path,
                        SpecError::InvalidValue {
                            value: part.to_string(),
                            reason: "labels are 'key:value' pairs separated by commas, e.g. 'a:1,b:2' (no ':' inside keys or values)".to_string(),
                        },
                    );
                    return None;
                }
            }
        }
        Some(out)
    }
}

/// Reads a mapping's entries by key and reports the ones nobody asked for.
pub(crate) struct MapReader<'n> {
    entries: Vec<&'n Entry>,
    used: Vec<bool>,
    pub(crate) path: String,
}

/// What to do with keys a mapping does not know.
pub(crate) enum Unknown<'a> {
    /// Error, listing the allowed keys; optional per-key hints.
    Reject(&'a [&'a str], &'a [(&'a str, &'a str)]),
    /// Warn and collect them (dcos-commons ignores unknown pod keys).
    Ignore(&'a [&'a str], &'a mut Vec<String>),
}

impl<'n> MapReader<'n> {
    /// The value under `key`, marking it used.
    pub(crate) fn get(&mut self, key: &str) -> Option<&'n Node> {
        let i = self.entries.iter().position(|e| e.key == key)?;
        self.used[i] = true;
        Some(&self.entries[i].value)
    }

    /// All entries in order (marks them used).
    pub(crate) fn all(&mut self) -> Vec<&'n Entry> {
        self.used.iter_mut().for_each(|u| *u = true);
        self.entries.clone()
    }

    pub(crate) fn child(&self, key: &str) -> String {
        join(&self.path, key)
    }

    /// Reports unused keys.
    pub(crate) fn finish(self, cx: &mut Cx<'_>, unknown: Unknown<'_>) {
        for (e, used) in self.entries.iter().zip(&self.used) {
            if *used {
                continue;
            }
            let path = join(&self.path, &e.key);
            let loc = cx.at(&path, e.key_line, e.key_col);
            match &unknown {
                Unknown::Reject(allowed, hints) => {
                    let suggestion = hints
                        .iter()
                        .find(|(k, _)| *k == e.key)
                        .map(|(_, h)| format!(": {h}"))
                        .unwrap_or_else(|| did_you_mean(&e.key, allowed));
                    cx.diags.error(
                        loc,
                        SpecError::UnknownKey {
                            key: e.key.clone(),
                            suggestion,
                            allowed: allowed.join(", "),
                        },
                    );
                }
                Unknown::Ignore(allowed, _) => {
                    cx.diags.warn(
                        loc,
                        SpecError::UnknownKey {
                            key: e.key.clone(),
                            suggestion: format!(
                                "{} (ignored, as dcos-commons ignores unknown pod keys)",
                                did_you_mean(&e.key, allowed)
                            ),
                            allowed: allowed.join(", "),
                        },
                    );
                }
            }
        }
        if let Unknown::Ignore(_, sink) = unknown {
            for (e, used) in self.entries.iter().zip(&self.used) {
                if !*used {
                    sink.push(e.key.clone());
                }
            }
        }
    }
}
