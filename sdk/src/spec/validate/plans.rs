//! Plans: phases must name real pods, steps real tasks, and a step must not launch
//! two tasks that share a resource set or a DNS prefix.

use super::Validator;
use crate::spec::error::SpecError;
use crate::spec::model::{PodSpec, ServiceSpec, StepSelector};
use crate::spec::plans::ResolvedStep;

fn list(names: impl Iterator<Item = String>) -> String {
    let v: Vec<String> = names.collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

pub(super) fn check(spec: &ServiceSpec, v: &mut Validator<'_>) {
    for plan in &spec.plans {
        for phase in &plan.phases {
            let php = format!("plans.{}.phases.{}", plan.name, phase.name);
            let Some(pod) = spec.pod(&phase.pod) else {
                v.error(
                    &format!("{php}.pod"),
                    SpecError::UnknownPod {
                        pod: phase.pod.clone(),
                        known: list(spec.pods.iter().map(|p| p.name.clone())),
                    },
                );
                continue;
            };
            let Some(rules) = &phase.steps else { continue };
            for (ri, rule) in rules.iter().enumerate() {
                let key = match rule.selector {
                    StepSelector::Default => "default".to_string(),
                    StepSelector::Index(i) => i.to_string(),
                };
                let rp = format!("{php}.steps[{ri}].{key}");
                if let StepSelector::Index(i) = rule.selector
                    && i >= pod.count
                {
                    v.warn(
                        &rp,
                        SpecError::InvalidValue {
                            value: i.to_string(),
                            reason: format!(
                                "pod '{}' has {} instance(s), so this step rule never applies",
                                pod.name, pod.count
                            ),
                        },
                    );
                }
                for (gi, group) in rule.task_groups.iter().enumerate() {
                    let gp = format!("{rp}[{gi}]");
                    if group.is_empty() {
                        v.invalid(&gp, "[]", "a step needs at least one task");
                    }
                    let mut all_known = true;
                    for (ti, t) in group.iter().enumerate() {
                        if pod.task(t).is_none() {
                            all_known = false;
                            v.error(
                                &format!("{gp}[{ti}]"),
                                SpecError::UnknownTask {
                                    pod: pod.name.clone(),
                                    task: t.clone(),
                                    known: list(pod.tasks.iter().map(|t| t.name.clone())),
                                },
                            );
                        }
                    }
                    if all_known {
                        check_group(v, pod, group, &gp);
                    }
                }
            }
        }
    }
    // Steps with every task: the generated deploy plan and phases without `steps`.
    for plan in spec.resolved_plans() {
        for phase in plan.phases {
            if phase.step_generation != crate::spec::model::StepGeneration::Default {
                continue;
            }
            let Some(pod) = spec.pod(&phase.pod) else {
                continue;
            };
            if let Some(step) = phase.steps.first() {
                let path = if plan.source == crate::spec::plans::PlanSource::Generated {
                    format!("pods.{}", pod.name)
                } else {
                    format!("plans.{}.phases.{}", plan.name, phase.name)
                };
                check_step(v, pod, step, &path);
            }
        }
    }
}

fn check_step(v: &mut Validator<'_>, pod: &PodSpec, step: &ResolvedStep, path: &str) {
    check_group(v, pod, &step.tasks, path);
}

fn check_group(v: &mut Validator<'_>, pod: &PodSpec, group: &[String], path: &str) {
    let mut seen: Vec<(&str, &str)> = Vec::new();
    let mut prefixes: Vec<(&str, &str)> = Vec::new();
    for name in group {
        let Some(task) = pod.task(name) else { continue };
        let id = task.resources.id();
        if let Some((first, _)) = seen.iter().find(|(_, sid)| *sid == id) {
            v.error(
                path,
                SpecError::StepResourceSetConflict {
                    pod: pod.name.clone(),
                    tasks: group.to_vec(),
                    id: id.to_string(),
                    first: (*first).to_string(),
                    second: name.clone(),
                },
            );
            return;
        }
        seen.push((name, id));
        if let Some(prefix) = task.discovery.as_ref().and_then(|d| d.prefix.as_deref()) {
            if let Some((first, _)) = prefixes.iter().find(|(_, p)| *p == prefix) {
                v.error(
                    path,
                    SpecError::DuplicateName {
                        what: "DNS prefix in one step".into(),
                        name: prefix.to_string(),
                        other: format!("task '{first}' (launch them in separate steps)"),
                    },
                );
                return;
            }
            prefixes.push((name, prefix));
        }
    }
}
