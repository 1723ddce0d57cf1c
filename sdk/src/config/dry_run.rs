//! The dry run of a config update: validators, restarts in plan order,
//! instances added and removed — as JSON ([`serde::Serialize`]) and as text
//! ([`std::fmt::Display`]).

use std::fmt;

use serde::Serialize;

use super::diff::{Change, ConfigDiff, PodStatus, diff};
use super::validate::{ValidationContext, ValidationError, validate_with};
use crate::spec::ServiceSpec;
use crate::spec::plans::{PlanRole, ResolvedPlan};

/// One pod type that would be relaunched, with its place in the roll.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PodRestart {
    /// 1-based position in the roll (the plan's phase order).
    pub order: usize,
    /// Pod type.
    pub pod: String,
    /// The phase that relaunches it.
    pub phase: String,
    /// The phase's strategy (`serial`, `parallel`, `serial-canary`, …).
    pub strategy: String,
    /// Its steps over existing instances, in order (`world-0:[server]`).
    pub steps: Vec<String>,
    /// What changed (the changes that cause the restart first).
    pub changes: Vec<Change>,
}

/// Instances of one pod type that would be launched or decommissioned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PodInstances {
    /// Pod type.
    pub pod: String,
    /// Pod instances (`world-2`), in the order they would be handled.
    pub instances: Vec<String>,
    /// The whole pod type is new / goes away.
    pub whole_pod: bool,
}

/// A pod type that changed without being relaunched (count, placement, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PodChanges {
    /// Pod type.
    pub pod: String,
    /// What changed.
    pub changes: Vec<Change>,
}

/// What applying a new configuration would do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DryRun {
    /// Service name (new configuration).
    pub service: String,
    /// Whether the scheduler would accept the change (no validation errors).
    pub accepted: bool,
    /// Every validator failure; when not empty the scheduler keeps the
    /// current target, restarts nothing and shows these on the deploy plan.
    pub validation_errors: Vec<ValidationError>,
    /// The plan that rolls the change (`deploy`, or `update` once deployed).
    pub plan: String,
    /// The plan's strategy across phases (`serial` / `parallel`).
    pub plan_strategy: String,
    /// Pods that would be relaunched, in roll order.
    pub restarts: Vec<PodRestart>,
    /// Instances that would be launched (new pods, scale-out).
    pub added: Vec<PodInstances>,
    /// Instances that would be decommissioned (highest index first, pod
    /// types in reverse order, as the decommission plan runs them).
    pub removed: Vec<PodInstances>,
    /// Pods that change without a relaunch.
    pub updated_in_place: Vec<PodChanges>,
    /// Pods with no change at all.
    pub unchanged: Vec<String>,
    /// Service-level changes.
    pub service_changes: Vec<Change>,
    /// Caveats about this comparison.
    pub notes: Vec<String>,
}

impl DryRun {
    /// True when applying the configuration would change nothing.
    #[must_use]
    pub fn is_noop(&self) -> bool {
        self.accepted
            && self.restarts.is_empty()
            && self.added.is_empty()
            && self.removed.is_empty()
            && self.updated_in_place.is_empty()
            && self.service_changes.is_empty()
    }
}

/// The dry run of replacing `old` (the current target) by `new`.
///
/// `update_completed`: the deploy plan completed before (the property
/// `last-completed-update-type` is `DEPLOY`), so a YAML `update` plan rolls
/// the change instead of `deploy`.
#[must_use]
pub fn dry_run(old: &ServiceSpec, new: &ServiceSpec, update_completed: bool) -> DryRun {
    dry_run_with(old, new, update_completed, &ValidationContext::default())
}

/// [`dry_run`] with a [`ValidationContext`].
#[must_use]
pub fn dry_run_with(
    old: &ServiceSpec,
    new: &ServiceSpec,
    update_completed: bool,
    ctx: &ValidationContext,
) -> DryRun {
    let validation_errors = validate_with(Some(old), new, ctx);
    let d = diff(old, new);
    let mut notes = Vec::new();

    let plans = new.resolved_plans();
    let use_update = update_completed && plans.iter().any(|p| p.role == PlanRole::Update);
    let rolling: Option<&ResolvedPlan> = plans.iter().find(|p| {
        if use_update {
            p.role == PlanRole::Update
        } else {
            p.role == PlanRole::Deploy
        }
    });
    let (plan, plan_strategy) = match rolling {
        Some(p) => (p.name.clone(), p.strategy.as_str().to_owned()),
        None => ("deploy".to_owned(), "serial".to_owned()),
    };

    let restarts = restarts(&d, new, rolling, &mut notes);
    let added = added(&d, rolling);
    let removed = removed(&d, old);
    let updated_in_place = d
        .pods
        .iter()
        .filter(|p| p.status == PodStatus::Changed && !p.needs_restart())
        .map(|p| PodChanges {
            pod: p.pod.clone(),
            changes: p.changes.clone(),
        })
        .collect();
    let unchanged = d
        .pods
        .iter()
        .filter(|p| p.status == PodStatus::Unchanged)
        .map(|p| p.pod.clone())
        .collect();

    if has_template_content(new) && !has_template_content(old) {
        notes.push(
            "the current target config does not carry config template contents: template paths and \
             destinations are compared, template contents are not"
                .to_owned(),
        );
    }
    if plan_strategy == "parallel" && restarts.len() > 1 {
        notes.push(format!(
            "plan '{plan}' is parallel: its phases roll at the same time, not in the order shown"
        ));
    }

    DryRun {
        service: new.name.clone(),
        accepted: validation_errors.is_empty(),
        validation_errors,
        plan,
        plan_strategy,
        restarts,
        added,
        removed,
        updated_in_place,
        unchanged,
        service_changes: d.service,
        notes,
    }
}

fn has_template_content(spec: &ServiceSpec) -> bool {
    spec.pods
        .iter()
        .flat_map(|p| &p.tasks)
        .flat_map(|t| t.configs.values())
        .any(|c| c.content.is_some())
}

fn restarts(
    d: &ConfigDiff,
    new: &ServiceSpec,
    rolling: Option<&ResolvedPlan>,
    notes: &mut Vec<String>,
) -> Vec<PodRestart> {
    // ONCE tasks never run again, whatever the config: steps made only of
    // them stay COMPLETE.
    let reruns = |pod: &str, tasks: &[String]| {
        new.pod(pod).is_some_and(|p| {
            tasks.iter().any(|t| {
                p.task(t)
                    .is_some_and(|t| t.goal != crate::spec::GoalState::Once)
            })
        })
    };
    let mut out: Vec<PodRestart> = Vec::new();
    let phases = rolling.map(|p| p.phases.as_slice()).unwrap_or_default();
    for phase in phases {
        let Some(pod) = d.pod(&phase.pod) else {
            continue;
        };
        if !pod.needs_restart() {
            continue;
        }
        let existing = pod.old_count.unwrap_or(0).min(pod.new_count.unwrap_or(0));
        let steps: Vec<String> = phase
            .steps
            .iter()
            .filter(|s| s.index < existing && reruns(&s.pod, &s.tasks))
            .map(crate::spec::plans::ResolvedStep::name)
            .collect();
        if steps.is_empty() {
            continue;
        }
        if let Some(done) = out.iter_mut().find(|r| r.pod == pod.pod) {
            // A pod in several phases: its steps join the first one's.
            done.steps.extend(steps);
            continue;
        }
        let mut changes: Vec<Change> = pod.restart_changes().cloned().collect();
        changes.extend(pod.changes.iter().filter(|c| !c.kind.restarts()).cloned());
        out.push(PodRestart {
            order: out.len() + 1,
            pod: pod.pod.clone(),
            phase: phase.name.clone(),
            strategy: phase.strategy.as_str().to_owned(),
            steps,
            changes,
        });
    }
    for pod in d.pods.iter().filter(|p| p.needs_restart()) {
        let existing = pod.old_count.unwrap_or(0).min(pod.new_count.unwrap_or(0));
        if existing > 0 && !out.iter().any(|r| r.pod == pod.pod) {
            let plan = rolling.map_or("deploy", |p| p.name.as_str());
            notes.push(format!(
                "pod '{}' changed but no phase of plan '{plan}' covers it: its running instances keep the old config",
                pod.pod
            ));
        }
    }
    out
}

fn added(d: &ConfigDiff, rolling: Option<&ResolvedPlan>) -> Vec<PodInstances> {
    let mut out: Vec<PodInstances> = Vec::new();
    let mut push = |pod: &str, instance: String, whole_pod: bool| match out
        .iter_mut()
        .find(|p| p.pod == pod)
    {
        Some(p) => {
            if !p.instances.contains(&instance) {
                p.instances.push(instance);
            }
        }
        None => out.push(PodInstances {
            pod: pod.to_owned(),
            instances: vec![instance],
            whole_pod,
        }),
    };
    let grows = |p: &&super::diff::PodDiff| p.new_count.unwrap_or(0) > p.old_count.unwrap_or(0);
    // In plan order where the plan covers the pod, then the rest.
    if let Some(plan) = rolling {
        for phase in &plan.phases {
            let Some(pod) = d.pod(&phase.pod).filter(grows) else {
                continue;
            };
            let first_new = pod.old_count.unwrap_or(0);
            for step in phase.steps.iter().filter(|s| s.index >= first_new) {
                push(
                    &pod.pod,
                    step.pod_instance(),
                    pod.status == PodStatus::Added,
                );
            }
        }
    }
    for pod in d.pods.iter().filter(grows) {
        for index in pod.old_count.unwrap_or(0)..pod.new_count.unwrap_or(0) {
            push(
                &pod.pod,
                format!("{}-{index}", pod.pod),
                pod.status == PodStatus::Added,
            );
        }
    }
    out
}

fn removed(d: &ConfigDiff, old: &ServiceSpec) -> Vec<PodInstances> {
    // Pod types in reverse old-spec order, highest index first (dcos-commons'
    // decommission plan).
    let mut out = Vec::new();
    for old_pod in old.pods.iter().rev() {
        let Some(pod) = d.pod(&old_pod.name) else {
            continue;
        };
        let from = pod.new_count.unwrap_or(0);
        let to = pod.old_count.unwrap_or(0);
        if to > from {
            out.push(PodInstances {
                pod: pod.pod.clone(),
                instances: (from..to)
                    .rev()
                    .map(|i| format!("{}-{i}", pod.pod))
                    .collect(),
                whole_pod: pod.status == PodStatus::Removed,
            });
        }
    }
    out
}

// === text rendering ===

fn show(v: Option<&String>) -> &str {
    v.map_or("(none)", String::as_str)
}

fn write_change(f: &mut fmt::Formatter<'_>, c: &Change, indent: &str) -> fmt::Result {
    let one_line = |s: &str| s.replace('\n', "\\n");
    let old = one_line(show(c.old.as_ref()));
    let new = one_line(show(c.new.as_ref()));
    let restart = if c.kind.restarts() {
        ""
    } else {
        "  (no restart)"
    };
    writeln!(
        f,
        "{indent}{:<17} {}: {old} -> {new}{restart}",
        c.kind.as_str(),
        c.path
    )
}

impl fmt::Display for DryRun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Config diff for service '{}' (rolled by plan '{}', {})",
            self.service, self.plan, self.plan_strategy
        )?;
        writeln!(f)?;
        if self.accepted {
            writeln!(f, "Validation: passed")?;
        } else {
            let n = self.validation_errors.len();
            writeln!(
                f,
                "Validation: {n} error{} - the scheduler would keep the current target config, restart nothing, \
                 and show these on the deploy plan (ERROR):",
                if n == 1 { "" } else { "s" }
            )?;
            for e in &self.validation_errors {
                writeln!(f, "  x {}: {e}", e.validator)?;
            }
        }
        if self.is_noop() {
            writeln!(f)?;
            writeln!(f, "No changes: nothing would restart.")?;
        }
        let pending = if self.accepted {
            ""
        } else {
            " (if the errors were fixed)"
        };
        if !self.restarts.is_empty() {
            writeln!(f)?;
            writeln!(f, "Pods that would restart{pending}, in order:")?;
            for r in &self.restarts {
                writeln!(
                    f,
                    "  {}. {} (phase '{}', {}): {}",
                    r.order,
                    r.pod,
                    r.phase,
                    r.strategy,
                    r.steps.join(", ")
                )?;
                for c in &r.changes {
                    write_change(f, c, "       ")?;
                }
            }
        }
        if !self.added.is_empty() {
            writeln!(f)?;
            writeln!(f, "Instances that would be launched{pending}:")?;
            for a in &self.added {
                let new = if a.whole_pod { " (new pod type)" } else { "" };
                writeln!(f, "  + {}{new}: {}", a.pod, a.instances.join(", "))?;
            }
        }
        if !self.removed.is_empty() {
            writeln!(f)?;
            writeln!(
                f,
                "Instances that would be decommissioned{pending}, in order:"
            )?;
            for r in &self.removed {
                let gone = if r.whole_pod {
                    " (pod type removed)"
                } else {
                    ""
                };
                writeln!(f, "  - {}{gone}: {}", r.pod, r.instances.join(", "))?;
            }
        }
        if !self.updated_in_place.is_empty() {
            writeln!(f)?;
            writeln!(f, "Pods changed without a restart:")?;
            for p in &self.updated_in_place {
                writeln!(f, "  {}", p.pod)?;
                for c in &p.changes {
                    write_change(f, c, "       ")?;
                }
            }
        }
        if !self.service_changes.is_empty() {
            writeln!(f)?;
            writeln!(f, "Service changes:")?;
            for c in &self.service_changes {
                write_change(f, c, "  ")?;
            }
        }
        if !self.unchanged.is_empty() {
            writeln!(f)?;
            writeln!(
                f,
                "Unchanged pods (not restarted): {}",
                self.unchanged.join(", ")
            )?;
        }
        if !self.notes.is_empty() {
            writeln!(f)?;
            for n in &self.notes {
                writeln!(f, "Note: {n}")?;
            }
        }
        Ok(())
    }
}
