//! Mustache rendering with dcos-commons semantics.
//!
//! This module owns the one mustache dialect Plinth speaks: the one the DC/OS SDK
//! (dcos-commons) uses for `svc.yml` files and for task config templates. It is a
//! small, self-contained port of the *behaviour* of mustache.java 0.9.x as driven by
//! `TemplateUtils.renderMustache`:
//!
//! * environment values `true` / `false` (any case) are booleans for sections, and
//!   render as `true` / `false` when used as values;
//! * `{{#X}}` renders its body when `X` is `true` or a non-empty string, `{{^X}}` when
//!   `X` is absent, `false` or empty;
//! * `{{X}}` is HTML-escaped exactly like mustache.java (see [`escape_html`]);
//!   `{{{X}}}` and `{{& X}}` are not;
//! * lines holding only a section tag (and whitespace) are removed, with
//!   mustache.java's exact whitespace quirks;
//! * a `{{X}}` whose name is absent is a *missing value*: [`Template::render`]
//!   renders it empty and reports it; [`Template::render_strict`] fails, naming the
//!   variable and its line.
//!
//! Partials, template inheritance and pragmas are rejected with a clear error: no
//! dcos-commons spec uses them.
//!
//! Rendered output keeps a map from output lines to template lines, so errors found
//! later in the rendered text (YAML syntax, validation) can point at the line the
//! author wrote.
//!
//! # Example
//!
//! ```
//! use std::collections::BTreeMap;
//! use plinth::template::Template;
//!
//! let env = BTreeMap::from([("NAME".to_string(), "a<b".to_string())]);
//! let t = Template::parse("x: {{NAME}}\ny: {{{NAME}}}\n").unwrap();
//! assert_eq!(t.render_strict(&env).unwrap().text, "x: a&lt;b\ny: a<b\n");
//! ```

mod escape;
mod parse;
mod render;

use std::collections::{BTreeMap, BTreeSet};

pub use escape::escape_html;

/// Variables a template is rendered with: name → raw string value.
pub type Env = BTreeMap<String, String>;

/// What went wrong while parsing or strictly rendering a template.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// A `{{` was never closed by `}}`.
    #[error("line {line}: tag opened with '{{{{' is never closed: add the closing '}}}}'")]
    UnclosedTag {
        /// Template line of the opening delimiter.
        line: u32,
    },
    /// `{{}}` with nothing inside.
    #[error("line {line}: empty tag '{{{{}}}}': put a variable name between the braces")]
    EmptyTag {
        /// Template line.
        line: u32,
    },
    /// `{{{X}}` without the third closing brace.
    #[error(
        "line {line}: '{{{{{{{name}}}}}' is missing its third closing brace: write '{{{{{{{name}}}}}}}'"
    )]
    UnclosedTripleMustache {
        /// Variable name.
        name: String,
        /// Template line.
        line: u32,
    },
    /// `{{/X}}` closes a different section than the one open.
    #[error(
        "line {line}: '{{{{/{found}}}}}' closes section '{expected}': close sections in the order they were opened"
    )]
    MismatchedSectionEnd {
        /// The section that is open.
        expected: String,
        /// The name in the closing tag.
        found: String,
        /// Template line of the closing tag.
        line: u32,
    },
    /// `{{/X}}` with no section open.
    #[error(
        "line {line}: '{{{{/{name}}}}}' closes a section that was never opened: remove it or add '{{{{#{name}}}}}' before it"
    )]
    UnopenedSectionEnd {
        /// The name in the closing tag.
        name: String,
        /// Template line.
        line: u32,
    },
    /// A section is still open at the end of the template.
    #[error("line {line}: section '{name}' is never closed: add '{{{{/{name}}}}}'")]
    UnclosedSection {
        /// Section name.
        name: String,
        /// Template line of the opening tag.
        line: u32,
    },
    /// Partials, inheritance and pragmas.
    #[error(
        "line {line}: mustache feature '{what}' is not supported in Plinth templates: inline the content instead"
    )]
    UnsupportedTag {
        /// Which feature.
        what: &'static str,
        /// Template line.
        line: u32,
    },
    /// `{{=…=}}` with an unusable delimiter pair.
    #[error(
        "line {line}: invalid delimiter change '{text}': use e.g. '{{{{=<% %>=}}}}' (one or two characters each)"
    )]
    InvalidDelimiters {
        /// The tag text.
        text: String,
        /// Template line.
        line: u32,
    },
    /// Strict rendering found `{{X}}` tags whose variable is not set.
    #[error("{}", format_missing(.0))]
    MissingValues(Vec<MissingValue>),
}

fn format_missing(missing: &[MissingValue]) -> String {
    let parts: Vec<String> = missing
        .iter()
        .map(|m| format!("line {}: missing value for '{{{{{}}}}}'", m.line, m.name))
        .collect();
    format!(
        "{}: set these variables (env file or --env), or wrap their use in a '{{{{#X}}}}…{{{{/X}}}}' section",
        parts.join("; ")
    )
}

/// A `{{X}}` that was rendered without a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingValue {
    /// The variable name as written in the tag.
    pub name: String,
    /// Template line of the tag (1-based).
    pub line: u32,
}

/// A parsed template, ready to render many times.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    nodes: Vec<parse::Node>,
}

/// The result of rendering.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// The rendered text.
    pub text: String,
    /// Values that were referenced but absent (rendered empty), in render order.
    pub missing: Vec<MissingValue>,
    line_map: Vec<u32>,
}

impl Rendered {
    /// The template line that produced `rendered_line` (both 1-based).
    ///
    /// Lines past the end map to the last known template line.
    pub fn source_line(&self, rendered_line: u32) -> u32 {
        let idx = rendered_line.saturating_sub(1) as usize;
        self.line_map
            .get(idx)
            .or_else(|| self.line_map.last())
            .copied()
            .unwrap_or(rendered_line.max(1))
    }
}

impl Template {
    /// Parses mustache text.
    ///
    /// # Errors
    /// A [`TemplateError`] naming the line of the first syntax problem.
    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        Ok(Self {
            nodes: parse::parse(text)?,
        })
    }

    /// Renders with `env`; absent `{{X}}` values render empty and are listed in
    /// [`Rendered::missing`].
    pub fn render(&self, env: &Env) -> Rendered {
        render::render(&self.nodes, env)
    }

    /// Renders with `env`, failing if any executed `{{X}}` has no value.
    ///
    /// # Errors
    /// [`TemplateError::MissingValues`] listing every missing variable and its line.
    pub fn render_strict(&self, env: &Env) -> Result<Rendered, TemplateError> {
        let rendered = self.render(env);
        if rendered.missing.is_empty() {
            Ok(rendered)
        } else {
            Err(TemplateError::MissingValues(rendered.missing))
        }
    }

    /// Every variable name the template mentions (values and sections), sorted.
    pub fn variables(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        parse::collect_names(&self.nodes, &mut out);
        out
    }
}

/// Parses and strictly renders `text` with `env` in one call.
///
/// # Errors
/// Syntax errors, or [`TemplateError::MissingValues`].
pub fn render_strict(text: &str, env: &Env) -> Result<String, TemplateError> {
    Ok(Template::parse(text)?.render_strict(env)?.text)
}

#[cfg(test)]
mod tests;
