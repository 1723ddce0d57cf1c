//! Constraint strings → rows → rules.

use super::PlacementError;
use super::rule::{Constraint, Field, Matcher, Rule};

/// Parses a `placement:` string. `Ok(None)` when it is empty or `[]`.
///
/// # Errors
/// A [`PlacementError`] describing the first bad row.
pub fn parse(text: &str) -> Result<Option<Constraint>, PlacementError> {
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed == "[]" {
        return Ok(None);
    }
    let rows = split_rows(text);
    let mut rules = Vec::new();
    for row in &rows {
        rules.extend(parse_row(row)?);
    }
    Ok(Some(Constraint { rows, rules }))
}

/// Splits a constraint string into rows the way `MarathonConstraintParser` does
/// (JSON flat list, then JSON nested list, then `a:b:c,d:e`). Never fails: the
/// last form accepts anything; bad rows are reported by [`parse`].
pub fn split_rows(text: &str) -> Vec<Vec<String>> {
    if let Ok(serde_json::Value::Array(items)) = serde_json::from_str::<serde_json::Value>(text) {
        if let Some(row) = items.iter().map(json_scalar).collect::<Option<Vec<_>>>() {
            return vec![row];
        }
        let nested: Option<Vec<Vec<String>>> = items
            .iter()
            .map(|r| match r {
                serde_json::Value::Array(cells) => {
                    cells.iter().map(json_scalar).collect::<Option<Vec<_>>>()
                }
                _ => None,
            })
            .collect();
        if let Some(rows) = nested {
            return rows;
        }
    }
    escaped_split(text, ',')
        .iter()
        .map(|row| escaped_split(row, ':'))
        .collect()
}

/// A JSON scalar as Jackson reads it into a `String` (numbers and booleans by text).
fn json_scalar(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Splits on `sep` unless escaped with a backslash; trims each token.
fn escaped_split(text: &str, sep: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut buf = String::new();
    let mut escaped = false;
    for c in text.chars() {
        if escaped {
            if c != sep {
                buf.push('\\');
            }
            buf.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == sep {
            out.push(buf.trim().to_string());
            buf.clear();
        } else {
            buf.push(c);
        }
    }
    if escaped {
        buf.push('\\');
    }
    out.push(buf.trim().to_string());
    out
}

fn field(name: &str) -> Field {
    match name {
        "hostname" | "@hostname" => Field::Hostname,
        "@zone" => Field::Zone,
        "@region" => Field::Region,
        other => Field::Attribute(other.to_string()),
    }
}

fn regex(pattern: &str) -> Result<Matcher, PlacementError> {
    regex::Regex::new(&format!("^(?:{pattern})$"))
        .map(|re| Matcher::Regex(pattern.to_string(), re))
        .map_err(|e| PlacementError::InvalidRegex {
            pattern: pattern.to_string(),
            reason: e
                .to_string()
                .lines()
                .last()
                .unwrap_or("invalid")
                .trim()
                .to_string(),
        })
}

fn number(operator: &str, value: &str) -> Result<u32, PlacementError> {
    value
        .trim()
        .parse::<u32>()
        .map_err(|_| PlacementError::NotANumber {
            operator: operator.to_string(),
            value: value.to_string(),
        })
}

fn parse_row(row: &[String]) -> Result<Vec<Rule>, PlacementError> {
    if row.len() < 2 || row.len() > 3 {
        return Err(PlacementError::RowLength {
            row: row.to_vec(),
            len: row.len(),
        });
    }
    if row[0].is_empty() {
        return Err(PlacementError::EmptyField { row: row.to_vec() });
    }
    let f = field(&row[0]);
    let op = row[1].to_ascii_uppercase();
    let value = row.get(2);
    let need = |v: Option<&String>| {
        v.cloned().ok_or_else(|| PlacementError::MissingValue {
            operator: op.clone(),
            field: row[0].clone(),
        })
    };
    let rule = match op.as_str() {
        "UNIQUE" => Rule::MaxPer { field: f, max: 1 },
        "MAX_PER" => {
            let n = number(&op, &need(value)?)?;
            Rule::MaxPer { field: f, max: n }
        }
        "GROUP_BY" => {
            let n = match value {
                Some(v) => Some(number(&op, v)?),
                None => None,
            };
            Rule::GroupBy { field: f, count: n }
        }
        "CLUSTER" | "IS" => Rule::Require {
            field: f,
            matcher: Matcher::Exact(need(value)?),
        },
        "IS_NOT" => Rule::Require {
            field: f,
            matcher: Matcher::NotExact(need(value)?),
        },
        "LIKE" => Rule::Require {
            field: f,
            matcher: regex(&need(value)?)?,
        },
        "UNLIKE" => Rule::Avoid {
            field: f,
            matcher: regex(&need(value)?)?,
        },
        _ => {
            return Err(PlacementError::UnknownOperator {
                operator: row[1].clone(),
                row: row.to_vec(),
            });
        }
    };
    Ok(vec![rule])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(s: &str) -> Vec<Vec<String>> {
        split_rows(s)
    }

    fn v(x: &[&[&str]]) -> Vec<Vec<String>> {
        x.iter()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect()
    }

    #[test]
    fn splits_every_syntax() {
        assert_eq!(rows(r#"["a", "b", "c"]"#), v(&[&["a", "b", "c"]]));
        assert_eq!(
            rows(r#"[["a", "b", "c"], ["d", "e"]]"#),
            v(&[&["a", "b", "c"], &["d", "e"]])
        );
        assert_eq!(rows("a:b:c,d:e"), v(&[&["a", "b", "c"], &["d", "e"]]));
        assert_eq!(rows(r"a:LIKE:x\,y\:z"), v(&[&["a", "LIKE", "x,y:z"]]));
        assert_eq!(rows(r"a:LIKE:\d"), v(&[&["a", "LIKE", r"\d"]]));
        assert_eq!(
            rows(r#"[["rack", "GROUP_BY", 3]]"#),
            v(&[&["rack", "GROUP_BY", "3"]])
        );
        assert_eq!(rows(""), v(&[&[""]]));
    }

    #[test]
    fn parses_operators_case_insensitively() {
        let c = parse(
            r#"[["hostname", "unique"], ["@zone", "group_by", "3"], ["rack", "LIKE", "r[12]"]]"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(c.rules.len(), 3);
        assert!(parse("").unwrap().is_none());
        assert!(parse("[]").unwrap().is_none());
    }

    #[test]
    fn reports_bad_rows() {
        assert!(matches!(
            parse("hostname"),
            Err(PlacementError::RowLength { len: 1, .. })
        ));
        assert!(matches!(
            parse("hostname:FOO"),
            Err(PlacementError::UnknownOperator { .. })
        ));
        assert!(matches!(
            parse("rack:MAX_PER"),
            Err(PlacementError::MissingValue { .. })
        ));
        assert!(matches!(
            parse("rack:MAX_PER:x"),
            Err(PlacementError::NotANumber { .. })
        ));
        assert!(matches!(
            parse("rack:LIKE:("),
            Err(PlacementError::InvalidRegex { .. })
        ));
        assert!(matches!(
            parse(r#"[[\"hostname\", \"UNIQUE\"]]"#),
            Err(PlacementError::RowLength { .. })
        ));
    }
}
