//! Recovery: relaunching pods whose tasks failed after their deploy step
//! completed, through a `recovery` plan visible like any plan.
//!
//! A task failure while its deploy step is still at work is the deploy plan's
//! business (the step goes back to PENDING). Once every non-recovery step of a
//! pod instance is COMPLETE, a failure of one of its RUNNING- or FINISH-goal
//! tasks adds a phase to the `recovery` plan (parallel; one phase per pod
//! instance, named like its step) that relaunches the pod in place, on its
//! reservations and volumes (TRANSIENT). An essential task's failure
//! relaunches every long-running task of the pod; a non-essential one's
//! relaunches that task alone. Pure functions over plans and the spec.
//!
//! [`backoff`] holds the crash-loop backoff policy (exponential, capped,
//! reset after a healthy run) that delays relaunches of a failing task.

pub mod backoff;

use std::time::Duration;

use backoff::BackoffPolicy;

use crate::plan::{Phase, Plan, PodInstance, Status, Step, StepKind, Strategy, TaskGoal};
use crate::spec::{GoalState, ServiceSpec};

/// Name of the recovery plan.
pub const RECOVERY_PLAN: &str = "recovery";

/// How the scheduler recovers failed tasks.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RecoveryPolicy {
    /// Crash-loop backoff of transient relaunches.
    pub backoff: BackoffPolicy,
    /// A task UNREACHABLE this long counts as permanently failed: its pod
    /// is replaced elsewhere (reservations and volumes released). `None`
    /// waits for the agent (or for the operator) indefinitely — the default,
    /// since replacing a stateful pod gives up its data.
    pub replace_unreachable_after: Option<Duration>,
}

/// The pod instance of task instance `task_name` (`<pod>-<index>-<task>`) and
/// the goals its recovery relaunches; `None` for unknown tasks and ONCE tasks.
#[must_use]
pub fn recovery_goals(spec: &ServiceSpec, task_name: &str) -> Option<(PodInstance, Vec<TaskGoal>)> {
    for pod in &spec.pods {
        let Some(rest) = task_name.strip_prefix(&format!("{}-", pod.name)) else {
            continue;
        };
        let Some((index, task)) = rest.split_once('-') else {
            continue;
        };
        let Ok(index) = index.parse::<u32>() else {
            continue;
        };
        let Some(failed) = pod.tasks.iter().find(|t| t.name == task) else {
            continue;
        };
        if failed.goal == GoalState::Once {
            return None;
        }
        let relaunch = pod
            .tasks
            .iter()
            .filter(|t| {
                if failed.essential {
                    t.goal == GoalState::Running || t.name == failed.name
                } else {
                    t.name == failed.name
                }
            })
            .map(|t| TaskGoal {
                task: t.name.clone(),
                instance_name: format!("{}-{index}-{}", pod.name, t.name),
                goal: t.goal,
                readiness_check: t.readiness_check.is_some(),
            })
            .collect();
        return Some((
            PodInstance {
                pod_type: pod.name.clone(),
                index,
            },
            relaunch,
        ));
    }
    None
}

/// Whether `pod` is free for recovery: no plan other than recovery has an
/// unfinished step on it, and no recovery phase for it is unfinished.
#[must_use]
pub fn needs_recovery(plans: &[Plan], pod: &PodInstance) -> bool {
    plans.iter().all(|plan| {
        plan.phases()
            .iter()
            .flat_map(Phase::steps)
            .filter(|s| s.pod_instance() == Some(pod))
            .all(|s| s.status() == Status::Complete)
    })
}

/// Adds (or renews) the recovery phase of `pod`, creating the recovery plan
/// when there is none. Returns the new phase's name.
pub fn add_recovery(
    plans: &mut Vec<Plan>,
    pod: PodInstance,
    goals: Vec<TaskGoal>,
    permanent: bool,
) -> String {
    let tasks: Vec<&str> = goals.iter().map(|g| g.task.as_str()).collect();
    let name = format!("{}-{}:[{}]", pod.pod_type, pod.index, tasks.join(", "));
    let step = Step::new(name.clone(), Some(pod.clone()), goals)
        .with_kind(StepKind::Recovery { permanent });
    let phase = Phase::new(name.clone(), Strategy::Serial, vec![step]);
    let mut phases: Vec<Phase> = plans
        .iter()
        .find(|p| p.name() == RECOVERY_PLAN)
        .map(|p| p.phases().to_vec())
        .unwrap_or_default();
    phases.retain(|p| p.steps().iter().all(|s| s.pod_instance() != Some(&pod)));
    phases.push(phase);
    let plan = Plan::new(RECOVERY_PLAN, Strategy::Parallel, phases).with_id_seed(RECOVERY_PLAN);
    match plans.iter_mut().find(|p| p.name() == RECOVERY_PLAN) {
        Some(existing) => *existing = plan,
        None => plans.push(plan),
    }
    name
}

/// An empty recovery plan (COMPLETE), so the API lists it from the start.
#[must_use]
pub fn empty_plan() -> Plan {
    Plan::new(RECOVERY_PLAN, Strategy::Parallel, Vec::new()).with_id_seed(RECOVERY_PLAN)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ServiceSpec {
        let yaml = r"
name: svc
pods:
  web-tier:
    count: 2
    tasks:
      init:
        goal: ONCE
        cmd: 'true'
        cpus: 0.1
        memory: 32
      server:
        goal: RUNNING
        cmd: 'sleep 100'
        cpus: 0.1
        memory: 32
      sidecar:
        goal: RUNNING
        essential: false
        cmd: 'sleep 100'
        cpus: 0.1
        memory: 32
";
        crate::spec::load_str(yaml, &Default::default(), None)
            .unwrap()
            .spec
    }

    #[test]
    fn essential_failure_relaunches_the_long_running_tasks() {
        let (pod, goals) = recovery_goals(&spec(), "web-tier-1-server").unwrap();
        assert_eq!(
            pod,
            PodInstance {
                pod_type: "web-tier".into(),
                index: 1
            }
        );
        let names: Vec<&str> = goals.iter().map(|g| g.instance_name.as_str()).collect();
        assert_eq!(names, ["web-tier-1-server", "web-tier-1-sidecar"]);
    }

    #[test]
    fn non_essential_failure_relaunches_that_task_alone() {
        let (_, goals) = recovery_goals(&spec(), "web-tier-0-sidecar").unwrap();
        let names: Vec<&str> = goals.iter().map(|g| g.instance_name.as_str()).collect();
        assert_eq!(names, ["web-tier-0-sidecar"]);
    }

    #[test]
    fn once_tasks_and_unknown_names_are_not_recovered() {
        assert!(recovery_goals(&spec(), "web-tier-0-init").is_none());
        assert!(recovery_goals(&spec(), "other-0-server").is_none());
        assert!(recovery_goals(&spec(), "web-tier-x-server").is_none());
    }

    #[test]
    fn phases_are_renewed_not_duplicated() {
        let spec = spec();
        let mut plans = vec![empty_plan()];
        assert!(plans[0].is_complete());
        let (pod, goals) = recovery_goals(&spec, "web-tier-0-server").unwrap();
        assert!(needs_recovery(&plans, &pod));
        add_recovery(&mut plans, pod.clone(), goals.clone(), false);
        assert!(
            !needs_recovery(&plans, &pod),
            "a pending recovery phase holds the pod"
        );
        add_recovery(&mut plans, pod, goals, false);
        assert_eq!(plans.len(), 1);
        assert_eq!(plans[0].phases().len(), 1);
        assert_eq!(plans[0].phases()[0].name(), "web-tier-0:[server, sidecar]");
        assert_eq!(plans[0].status(), Status::Pending);
    }
}
