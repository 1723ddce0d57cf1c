//! Parsed constraint rules.

/// What a rule looks at on an agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// The agent hostname (`hostname` / `@hostname`).
    Hostname,
    /// The fault-domain zone (`@zone`).
    Zone,
    /// The fault-domain region (`@region`).
    Region,
    /// An agent attribute by name.
    Attribute(String),
}

/// How a field's value is matched.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// Equal to (CLUSTER, IS).
    Exact(String),
    /// Present and not equal to (IS_NOT).
    NotExact(String),
    /// Fully matches the regex (LIKE, UNLIKE); the source is kept for display.
    Regex(String, regex::Regex),
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Matcher::Exact(a), Matcher::Exact(b))
            | (Matcher::NotExact(a), Matcher::NotExact(b)) => a == b,
            (Matcher::Regex(a, _), Matcher::Regex(b, _)) => a == b,
            _ => false,
        }
    }
}

impl Matcher {
    /// Does `value` match?
    pub fn matches(&self, value: &str) -> bool {
        match self {
            Matcher::Exact(v) => value == v,
            Matcher::NotExact(v) => value != v,
            Matcher::Regex(_, re) => re.is_match(value),
        }
    }
}

/// One rule; a constraint ANDs its rules.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// The field must be present and match (CLUSTER, IS, IS_NOT, LIKE).
    Require {
        /// Field.
        field: Field,
        /// Matcher.
        matcher: Matcher,
    },
    /// The field must not match; an absent field passes (UNLIKE).
    Avoid {
        /// Field.
        field: Field,
        /// Matcher.
        matcher: Matcher,
    },
    /// At most `max` tasks of the pod type per field value (UNIQUE = 1, MAX_PER).
    /// For attributes the agent must have the attribute.
    MaxPer {
        /// Field.
        field: Field,
        /// Maximum per value.
        max: u32,
    },
    /// Round-robin across field values; `count` is the number of distinct values
    /// expected (GROUP_BY). The agent must have the field.
    GroupBy {
        /// Field.
        field: Field,
        /// Distinct values, if known.
        count: Option<u32>,
    },
}

/// A parsed `placement:` constraint.
#[derive(Debug, Clone, PartialEq)]
pub struct Constraint {
    /// The rows as read from the string.
    pub rows: Vec<Vec<String>>,
    /// One rule per row.
    pub rules: Vec<Rule>,
}

impl Constraint {
    /// True when any rule looks at `@zone`.
    pub fn references_zone(&self) -> bool {
        self.rules.iter().any(|r| r.field() == &Field::Zone)
    }

    /// True when any rule looks at `@region`.
    pub fn references_region(&self) -> bool {
        self.rules.iter().any(|r| r.field() == &Field::Region)
    }
}

impl Rule {
    /// The field the rule looks at.
    pub fn field(&self) -> &Field {
        match self {
            Rule::Require { field, .. }
            | Rule::Avoid { field, .. }
            | Rule::MaxPer { field, .. }
            | Rule::GroupBy { field, .. } => field,
        }
    }
}
