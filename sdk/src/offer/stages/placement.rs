//! Placement stage: the pod's Marathon-style constraint against the agent,
//! counting the tasks already placed (stored, and recommended earlier in this
//! cycle).

use std::collections::HashMap;

use crate::offer::attempt::Attempt;
use crate::offer::outcome::Stage;
use crate::offer::prepare::Prepared;
use crate::placement::{Constraint, PlacedTask, Rule};

/// Placed tasks grouped by pod type, with their task names for messages.
#[derive(Debug, Default)]
pub(crate) struct PlacedIndex {
    by_pod: HashMap<String, (Vec<PlacedTask>, Vec<String>)>,
}

impl PlacedIndex {
    pub(crate) fn add(&mut self, task_name: String, placed: PlacedTask) {
        if let Some((tasks, names)) = self.by_pod.get_mut(&placed.pod_type) {
            tasks.push(placed);
            names.push(task_name);
        } else {
            self.by_pod
                .insert(placed.pod_type.clone(), (vec![placed], vec![task_name]));
        }
    }

    fn of(&self, pod_type: &str) -> (&[PlacedTask], &[String]) {
        self.by_pod
            .get(pod_type)
            .map_or((&[], &[]), |(t, n)| (t.as_slice(), n.as_slice()))
    }
}

pub(super) fn evaluate(
    prep: &Prepared<'_, '_>,
    constraint: &Constraint,
    placed: &PlacedIndex,
    a: &mut Attempt<'_>,
) {
    let (tasks, names) = placed.of(&prep.pod.name);
    let facts = &a.pool.facts;
    let outcome = constraint.evaluate(facts, &prep.pod.name, prep.req.index, tasks);
    if outcome.passed {
        a.record(
            Stage::Placement,
            Ok(format!("placement: {}", outcome.reasons.join("; "))),
        );
        return;
    }
    let mut failures = Vec::new();
    for (i, reason) in outcome.reasons.iter().enumerate() {
        let Some(why) = reason.strip_prefix("fail: ") else {
            continue;
        };
        let row = constraint
            .rows
            .get(i)
            .map(|r| r.join(" "))
            .unwrap_or_else(|| "constraint".into());
        let rule = constraint.rules.get(i);
        let message = match rule {
            Some(Rule::MaxPer { field, .. }) | Some(Rule::GroupBy { field, .. }) => {
                match facts.value(field) {
                    Some(value) => {
                        let culprits: Vec<&str> = tasks
                            .iter()
                            .zip(names)
                            .filter(|(t, _)| {
                                t.pod_index != prep.req.index && t.agent.value(field) == Some(value)
                            })
                            .map(|(_, n)| n.as_str())
                            .collect();
                        if culprits.is_empty() {
                            format!("placement: {row} violated: {why}")
                        } else {
                            format!(
                                "placement: {row} violated by {} on {value}",
                                list(&culprits)
                            )
                        }
                    }
                    None => format!("placement: {row} violated: {why}"),
                }
            }
            _ => format!("placement: {row} not satisfied: {why}"),
        };
        failures.push(message);
    }
    a.record(Stage::Placement, Err(failures.join("; ")));
}

fn list(names: &[&str]) -> String {
    const MAX: usize = 5;
    if names.len() <= MAX {
        names.join(", ")
    } else {
        format!("{} and {} more", names[..MAX].join(", "), names.len() - MAX)
    }
}
