//! Placement constraints: the Marathon-style syntax dcos-commons accepts in a pod's
//! `placement:` string, and their evaluation against an agent.
//!
//! [`parse`] turns a constraint string into a [`Constraint`] (or `None` for an empty
//! string or `[]`). Three spellings are accepted, tried in this order, exactly as
//! dcos-commons' `MarathonConstraintParser` does:
//!
//! 1. a JSON list of strings: `["hostname", "UNIQUE"]` (one row);
//! 2. a JSON list of lists: `[["hostname", "UNIQUE"], ["rack", "GROUP_BY", "3"]]`;
//! 3. `field:OP[:value],field:OP[:value]`, where `\,` and `\:` escape separators.
//!
//! Fields: `hostname` / `@hostname`, `@zone`, `@region`, anything else is an agent
//! attribute. Operators (any case): `UNIQUE`, `CLUSTER`, `IS`, `IS_NOT`, `LIKE`,
//! `UNLIKE` (full-match regexes), `GROUP_BY [n]`, `MAX_PER n`. Rows are ANDed.
//!
//! [`Constraint::evaluate`] is a pure function of the candidate agent's facts and the
//! tasks already placed. Counting rules (UNIQUE, MAX_PER, GROUP_BY) count the tasks
//! of the same pod type, ignoring the instance being placed (its old tasks are stale
//! when it is relaunched). dcos-commons scopes them with the task-name regex
//! `<pod>-.*`, which also matches pods whose names merely start with `<pod>-`;
//! Plinth compares the pod type exactly.
//!
//! ```
//! use plinth::placement::{AgentFacts, PlacedTask, parse};
//!
//! let rule = parse("[[\"hostname\", \"UNIQUE\"]]").unwrap().unwrap();
//! let a = AgentFacts::new("a");
//! let placed = vec![PlacedTask::new("hello", 0, AgentFacts::new("a"))];
//! assert!(!rule.evaluate(&a, "hello", 1, &placed).passed);
//! assert!(rule.evaluate(&AgentFacts::new("b"), "hello", 1, &placed).passed);
//! ```

mod eval;
mod parse;
mod rule;

pub use eval::{AgentFacts, Outcome, PlacedTask};
pub use parse::{parse, split_rows};
pub use rule::{Constraint, Field, Matcher, Rule};

/// Why a constraint string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlacementError {
    /// A row has fewer than 2 or more than 3 entries.
    #[error(
        "row {row:?} has {len} entries; expected [field, OPERATOR] or [field, OPERATOR, value]"
    )]
    RowLength {
        /// The row.
        row: Vec<String>,
        /// Its length.
        len: usize,
    },
    /// An operator that is not one of the supported ones.
    #[error(
        "unsupported operator '{operator}' in {row:?}: use one of UNIQUE, CLUSTER, IS, IS_NOT, LIKE, UNLIKE, GROUP_BY, MAX_PER"
    )]
    UnknownOperator {
        /// The operator as written.
        operator: String,
        /// The row.
        row: Vec<String>,
    },
    /// An operator that needs a value has none.
    #[error("operator {operator} needs a value: write [\"{field}\", \"{operator}\", \"<value>\"]")]
    MissingValue {
        /// The operator.
        operator: String,
        /// The field.
        field: String,
    },
    /// GROUP_BY / MAX_PER with a value that is not a whole number.
    #[error("{operator} takes a whole number, got {value:?}")]
    NotANumber {
        /// The operator.
        operator: String,
        /// The value.
        value: String,
    },
    /// LIKE / UNLIKE with a regex that does not compile.
    #[error("invalid regular expression {pattern:?}: {reason}")]
    InvalidRegex {
        /// The pattern.
        pattern: String,
        /// Compiler message (first line).
        reason: String,
    },
    /// An empty field name.
    #[error("empty field name in {row:?}: use hostname, @zone, @region or an attribute name")]
    EmptyField {
        /// The row.
        row: Vec<String>,
    },
}
