//! Spec errors: what failed, and where (file, line, column, key path).

use std::fmt;

use crate::placement::PlacementError;
use crate::template::TemplateError;

/// What was wrong with a spec. Every variant's message says how to fix it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SpecError {
    /// `{{X}}` with no value in the environment.
    #[error(
        "missing value for template variable '{{{{{name}}}}}': set {name} in an env file or with --env {name}=…"
    )]
    MissingVariable {
        /// Variable name.
        name: String,
    },
    /// The mustache template itself is malformed.
    #[error("template syntax: {0}")]
    TemplateSyntax(#[source] TemplateError),
    /// The rendered text is not valid YAML.
    #[error("YAML syntax: {message}")]
    YamlSyntax {
        /// Parser message.
        message: String,
    },
    /// A mapping repeats a key.
    #[error("duplicate key '{key}' (first defined on line {first_line}): remove one of them")]
    DuplicateKey {
        /// The repeated key.
        key: String,
        /// Line of the first definition.
        first_line: u32,
    },
    /// A mapping key that is itself a list or mapping.
    #[error("mapping keys must be plain strings")]
    ComplexKey,
    /// More than one YAML document.
    #[error("a spec must be a single YAML document: remove the extra '---' document")]
    MultipleDocuments,
    /// Alias expansion grew past the node budget.
    #[error("spec is too large after expanding YAML aliases")]
    TooLarge,
    /// The file is empty (after rendering).
    #[error("spec is empty: it needs at least 'name' and 'pods'")]
    EmptySpec,
    /// A key this position does not accept.
    #[error("unknown key '{key}'{suggestion}; allowed here: {allowed}")]
    UnknownKey {
        /// The key as written.
        key: String,
        /// ` (did you mean 'x'?)` or a specific hint, possibly empty.
        suggestion: String,
        /// Comma-separated list of accepted keys.
        allowed: String,
    },
    /// A required key is absent.
    #[error("missing required key '{key}'{hint}")]
    MissingKey {
        /// The key.
        key: String,
        /// Extra guidance, possibly empty.
        hint: String,
    },
    /// The value has the wrong YAML shape or type.
    #[error("expected {expected}, found {found}")]
    WrongType {
        /// What this key takes.
        expected: String,
        /// What was written.
        found: String,
    },
    /// The value has the right type but is not acceptable.
    #[error("invalid value {value:?}: {reason}")]
    InvalidValue {
        /// The value as written.
        value: String,
        /// Why, and what would be accepted.
        reason: String,
    },
    /// Two keys that exclude each other are both set.
    #[error("'{first}' and '{second}' cannot both be set: {reason}")]
    Conflict {
        /// One key.
        first: String,
        /// The other.
        second: String,
        /// How to resolve it.
        reason: String,
    },
    /// Parsed and understood, but Plinth cannot run it yet.
    #[error("not supported yet: {key} ({detail})")]
    NotSupportedYet {
        /// The key path of the feature.
        key: String,
        /// What is missing.
        detail: String,
    },
    /// A placement constraint that does not parse.
    #[error("invalid placement constraint: {0}")]
    Placement(#[source] PlacementError),
    /// A plan phase names a pod type that does not exist.
    #[error("unknown pod '{pod}': known pods are {known}")]
    UnknownPod {
        /// The name used.
        pod: String,
        /// Comma-separated pod names.
        known: String,
    },
    /// A step or task reference names a task the pod does not have.
    #[error("unknown task '{task}' in pod '{pod}': tasks of '{pod}' are {known}")]
    UnknownTask {
        /// Pod type.
        pod: String,
        /// Task name used.
        task: String,
        /// Comma-separated task names.
        known: String,
    },
    /// A task refers to a resource set the pod does not define.
    #[error(
        "unknown resource-set '{id}': define it under pods.{pod}.resource-sets (defined: {known})"
    )]
    UnknownResourceSet {
        /// Pod type.
        pod: String,
        /// Resource set id.
        id: String,
        /// Comma-separated defined ids.
        known: String,
    },
    /// A name is used twice where it must be unique.
    #[error("duplicate {what} '{name}' (also used at {other}): names must be unique")]
    DuplicateName {
        /// What kind of name.
        what: String,
        /// The name.
        name: String,
        /// Where else it appears.
        other: String,
    },
    /// A step would launch tasks that share one resource set at the same time.
    #[error(
        "step launches tasks {tasks:?} of pod '{pod}' at once, but they share resource set '{id}': run them in separate steps (e.g. [[{first}], [{second}]]) or give them separate resource sets"
    )]
    StepResourceSetConflict {
        /// Pod type.
        pod: String,
        /// Tasks in the step.
        tasks: Vec<String>,
        /// Shared set id.
        id: String,
        /// First conflicting task.
        first: String,
        /// Second conflicting task.
        second: String,
    },
    /// A spec file or config template could not be read.
    #[error("cannot read {path}: {message}")]
    ReadFile {
        /// The path.
        path: String,
        /// OS error text.
        message: String,
    },
}

/// Where a problem is: file, line and column (1-based) and YAML key path.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Location {
    /// The spec file (or template) name, when loaded from one.
    pub file: Option<String>,
    /// Line in the file as the author wrote it (before mustache rendering).
    pub line: Option<u32>,
    /// Column in the rendered line.
    pub column: Option<u32>,
    /// Dotted key path, e.g. `pods.hello.tasks.server.cpus`; `steps[0]` for lists.
    pub path: String,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut wrote = false;
        if let Some(file) = &self.file {
            write!(f, "{file}")?;
            wrote = true;
        }
        if let Some(line) = self.line {
            if wrote {
                write!(f, ":")?;
            } else {
                write!(f, "line ")?;
            }
            write!(f, "{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
            wrote = true;
        }
        if !self.path.is_empty() {
            if wrote {
                write!(f, ": ")?;
            }
            write!(f, "{}", self.path)?;
        }
        Ok(())
    }
}

/// One located problem (or warning).
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// Where.
    pub location: Location,
    /// What.
    pub error: SpecError,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let loc = self.location.to_string();
        if loc.is_empty() {
            write!(f, "{}", self.error)
        } else {
            write!(f, "{loc}: {}", self.error)
        }
    }
}

/// A spec that failed to load or validate: every problem found, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadError {
    /// The problems; never empty.
    pub diagnostics: Vec<Diagnostic>,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.diagnostics.len();
        write!(f, "{n} problem{} in spec:", if n == 1 { "" } else { "s" })?;
        for d in &self.diagnostics {
            write!(f, "\n  {d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadError {}

impl LoadError {
    /// The first diagnostic (there is always one).
    pub fn first(&self) -> Option<&Diagnostic> {
        self.diagnostics.first()
    }
}

/// Collects diagnostics while decoding and validating.
#[derive(Debug, Default)]
pub(crate) struct Diags {
    pub(crate) errors: Vec<Diagnostic>,
    pub(crate) warnings: Vec<Diagnostic>,
}

impl Diags {
    pub(crate) fn error(&mut self, location: Location, error: SpecError) {
        self.errors.push(Diagnostic { location, error });
    }

    pub(crate) fn warn(&mut self, location: Location, error: SpecError) {
        self.warnings.push(Diagnostic { location, error });
    }
}

/// Levenshtein distance, for "did you mean" suggestions.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// ` (did you mean 'x'?)` for the closest candidate within distance 2, else empty.
pub(crate) fn did_you_mean(word: &str, candidates: &[&str]) -> String {
    candidates
        .iter()
        .map(|c| (edit_distance(&word.to_ascii_lowercase(), c), c))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| format!(" (did you mean '{c}'?)"))
        .unwrap_or_default()
}
