//! Evaluating constraints against agent facts.

use std::collections::{BTreeMap, HashMap};

use super::rule::{Constraint, Field, Rule};

/// What placement knows about an agent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AgentFacts {
    /// Hostname.
    pub hostname: String,
    /// Fault-domain zone.
    pub zone: Option<String>,
    /// Fault-domain region.
    pub region: Option<String>,
    /// Attributes as text (`rack` → `r1`).
    pub attributes: BTreeMap<String, String>,
}

impl AgentFacts {
    /// An agent known only by hostname.
    pub fn new(hostname: impl Into<String>) -> Self {
        Self {
            hostname: hostname.into(),
            ..Self::default()
        }
    }

    /// The value of `field` on this agent.
    pub fn value(&self, field: &Field) -> Option<&str> {
        match field {
            Field::Hostname => Some(&self.hostname),
            Field::Zone => self.zone.as_deref(),
            Field::Region => self.region.as_deref(),
            Field::Attribute(name) => self.attributes.get(name).map(String::as_str),
        }
    }
}

/// A task already placed (launched or reserved) on an agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedTask {
    /// Its pod type.
    pub pod_type: String,
    /// Its pod instance index.
    pub pod_index: u32,
    /// Where it is.
    pub agent: AgentFacts,
}

impl PlacedTask {
    /// A placed task of `pod_type`-`pod_index` on `agent`.
    pub fn new(pod_type: impl Into<String>, pod_index: u32, agent: AgentFacts) -> Self {
        Self {
            pod_type: pod_type.into(),
            pod_index,
            agent,
        }
    }
}

/// Whether an agent is acceptable, and why (one reason per rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// All rules passed.
    pub passed: bool,
    /// One line per rule: `pass: …` or `fail: …`.
    pub reasons: Vec<String>,
}

fn field_name(f: &Field) -> String {
    match f {
        Field::Hostname => "hostname".into(),
        Field::Zone => "zone".into(),
        Field::Region => "region".into(),
        Field::Attribute(a) => format!("attribute '{a}'"),
    }
}

impl Constraint {
    /// Evaluates every rule for placing instance `pod_index` of `pod_type` on `agent`,
    /// given the tasks already placed anywhere.
    pub fn evaluate(
        &self,
        agent: &AgentFacts,
        pod_type: &str,
        pod_index: u32,
        placed: &[PlacedTask],
    ) -> Outcome {
        let peers: Vec<&PlacedTask> = placed
            .iter()
            .filter(|t| t.pod_type == pod_type && t.pod_index != pod_index)
            .collect();
        let mut passed = true;
        let mut reasons = Vec::with_capacity(self.rules.len());
        for rule in &self.rules {
            let (ok, why) = eval_rule(rule, agent, &peers);
            passed &= ok;
            reasons.push(format!("{}: {why}", if ok { "pass" } else { "fail" }));
        }
        Outcome { passed, reasons }
    }
}

fn eval_rule(rule: &Rule, agent: &AgentFacts, peers: &[&PlacedTask]) -> (bool, String) {
    match rule {
        Rule::Require { field, matcher } => match agent.value(field) {
            Some(v) if matcher.matches(v) => (true, format!("{} '{v}' matches", field_name(field))),
            Some(v) => (false, format!("{} '{v}' does not match", field_name(field))),
            None => (false, format!("agent has no {}", field_name(field))),
        },
        Rule::Avoid { field, matcher } => match agent.value(field) {
            Some(v) if matcher.matches(v) => {
                (false, format!("{} '{v}' is excluded", field_name(field)))
            }
            Some(v) => (true, format!("{} '{v}' is not excluded", field_name(field))),
            None => (true, format!("agent has no {}", field_name(field))),
        },
        Rule::MaxPer { field, max } => {
            let Some(key) = agent.value(field) else {
                return match field {
                    Field::Attribute(_) => (false, format!("agent has no {}", field_name(field))),
                    _ => (
                        true,
                        format!("agent has no {}, nothing to count", field_name(field)),
                    ),
                };
            };
            let count = peers
                .iter()
                .filter(|t| t.agent.value(field) == Some(key))
                .count();
            let limit = usize::try_from(*max).unwrap_or(usize::MAX);
            if count < limit {
                (
                    true,
                    format!(
                        "{count} task(s) already on {} '{key}', max {max}",
                        field_name(field)
                    ),
                )
            } else {
                (
                    false,
                    format!(
                        "{count} task(s) already on {} '{key}', max {max}",
                        field_name(field)
                    ),
                )
            }
        }
        Rule::GroupBy { field, count } => {
            let Some(offer) = agent.value(field) else {
                return (
                    false,
                    format!("agent has no {} to group by", field_name(field)),
                );
            };
            let mut counts: HashMap<&str, usize> = HashMap::new();
            for t in peers {
                if let Some(v) = t.agent.value(field) {
                    *counts.entry(v).or_default() += 1;
                }
            }
            let max = counts.values().copied().max().unwrap_or(0);
            let min = counts.values().copied().min().unwrap_or(0);
            let here = counts.get(offer).copied().unwrap_or(0);
            let known = counts.len();
            if min == max || here <= min {
                match count {
                    None => (
                        true,
                        format!("'{offer}' has {here} task(s), others {min}..{max}"),
                    ),
                    Some(n) if known >= usize::try_from(*n).unwrap_or(usize::MAX) => (
                        true,
                        format!("all {n} values seen; '{offer}' has {here}, others {min}..{max}"),
                    ),
                    Some(_) if here == 0 => (true, format!("'{offer}' is still empty")),
                    Some(_) => (
                        false,
                        format!("'{offer}' has {here} task(s) while other values are still empty"),
                    ),
                }
            } else {
                (
                    false,
                    format!("'{offer}' is full ({here}) while others have {min}"),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;

    fn agent(host: &str, zone: &str, rack: &str) -> AgentFacts {
        AgentFacts {
            hostname: host.into(),
            zone: Some(zone.into()),
            region: None,
            attributes: BTreeMap::from([("rack".to_string(), rack.to_string())]),
        }
    }

    #[test]
    fn operators_behave() {
        let a = agent("h1", "z1", "r1");
        let placed = vec![PlacedTask::new("p", 0, agent("h1", "z1", "r1"))];
        let check = |c: &str, idx: u32| {
            parse(c)
                .unwrap()
                .unwrap()
                .evaluate(&a, "p", idx, &placed)
                .passed
        };
        assert!(!check("hostname:UNIQUE", 1));
        assert!(check("hostname:UNIQUE", 0), "own instance is not counted");
        assert!(check("@zone:MAX_PER:2", 1));
        assert!(check("rack:CLUSTER:r1", 1));
        assert!(!check("rack:IS:r2", 1));
        assert!(check("rack:IS_NOT:r2", 1));
        assert!(check("hostname:LIKE:h[0-9]", 1));
        assert!(!check("hostname:UNLIKE:h.*", 1));
        assert!(!check("missing:UNIQUE", 1));
        assert!(check("missing:UNLIKE:x", 1));
        assert!(!check("@region:IS:r", 1));
        assert!(check("@region:UNIQUE", 1));
        assert!(
            !check("@zone:GROUP_BY:2", 1),
            "z1 has one task, another zone is empty"
        );
        assert!(
            check("@zone:GROUP_BY", 1),
            "without a count any least-used value is fine"
        );
    }
}
