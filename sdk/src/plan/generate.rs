//! Plans from a [`ServiceSpec`]: the default deploy plan, YAML plans, and the
//! `update` plan rule. Step names and the steps of each phase come from the
//! spec's own resolution ([`ServiceSpec::resolved_plans`]), so `plinth spec
//! render` and the scheduler always agree.

use std::collections::BTreeMap;

use crate::spec::plans::{PlanRole, ResolvedPhase, ResolvedPlan};
use crate::spec::{
    PhaseStrategy, PlanStrategy, ServiceSpec, StepGeneration, StepSelector, TaskResources,
};

use super::error::PlanError;
use super::model::{Phase, Plan, PodInstance, Strategy};
use super::step::Step;
use super::task::{TaskGoal, TaskObservation};

/// Name of the plan that deploys the target configuration.
pub const DEPLOY_PLAN: &str = "deploy";
/// Name of the YAML plan that replaces `deploy` after the first deployment.
pub const UPDATE_PLAN: &str = "update";

/// What plan generation needs besides the spec.
#[derive(Debug, Clone, Copy)]
pub struct PlanInputs<'a> {
    /// Id of the target configuration.
    pub target_config: &'a str,
    /// Latest known status of each task, by task instance name
    /// (`<pod>-<index>-<task>`), from the state store. A step whose tasks are
    /// all at their goal on the target config starts `COMPLETE`, so a
    /// restarted scheduler relaunches nothing that is running.
    pub tasks: &'a BTreeMap<String, TaskObservation>,
    /// The property `last-completed-update-type` is `DEPLOY`: a YAML `update`
    /// plan now runs as `deploy`.
    pub update_completed: bool,
    /// Errors that block the deploy plan (e.g. a rejected config update).
    pub deploy_errors: &'a [String],
    /// Seed for element ids (e.g. the service name); same seed, same ids.
    pub id_seed: &'a str,
}

impl<'a> PlanInputs<'a> {
    /// Inputs for a first deployment (or any deployment without errors).
    pub fn new(target_config: &'a str, tasks: &'a BTreeMap<String, TaskObservation>) -> Self {
        PlanInputs {
            target_config,
            tasks,
            update_completed: false,
            deploy_errors: &[],
            id_seed: "",
        }
    }
}

/// Every plan for `spec`, `deploy` first, then the other YAML plans in YAML
/// order:
///
/// * without a YAML `deploy` plan, a serial `deploy` plan with one serial
///   phase per pod type (named after it) and one step per instance launching
///   all of its tasks;
/// * a YAML `update` plan replaces `deploy` (and is named `deploy`) once
///   `update_completed`; until then it is dropped;
/// * custom steps in a parallel phase run serially within a pod instance and in
///   parallel across instances (dependency strategy);
/// * plans other than `deploy` start interrupted (they wait for `plan start`).
///
/// # Errors
/// As dcos-commons refuses to build such plans: [`PlanError::UnknownPod`] or
/// [`PlanError::UnknownTask`] for a YAML plan naming pods or tasks the spec
/// lacks; [`PlanError::MissingStepRule`] for custom steps that cover neither an
/// instance's index nor `default`; [`PlanError::SharedByStep`] for a step
/// launching tasks that share a resource set or DNS prefix together.
pub fn generate_plans(spec: &ServiceSpec, inputs: &PlanInputs<'_>) -> Result<Vec<Plan>, PlanError> {
    for plan in &spec.plans {
        for phase in &plan.phases {
            let Some(pod) = spec.pod(&phase.pod) else {
                return Err(PlanError::UnknownPod {
                    plan: plan.name.clone(),
                    phase: phase.name.clone(),
                    pod: phase.pod.clone(),
                });
            };
            if let Some(rules) = &phase.steps
                && let Some(index) = (0..pod.count).find(|&i| {
                    !rules.iter().any(|r| {
                        r.selector == StepSelector::Index(i) || r.selector == StepSelector::Default
                    })
                })
            {
                return Err(PlanError::MissingStepRule {
                    plan: plan.name.clone(),
                    phase: phase.name.clone(),
                    pod: pod.name.clone(),
                    index,
                });
            }
        }
    }

    let resolved = spec.resolved_plans();
    let use_update = inputs.update_completed && resolved.iter().any(|p| p.role == PlanRole::Update);
    let mut selected: Vec<&ResolvedPlan> = resolved
        .iter()
        .filter(|p| match p.role {
            PlanRole::Deploy => !use_update,
            PlanRole::Update => use_update,
            PlanRole::Custom => true,
        })
        .collect();
    // deploy (or the update plan standing in for it) first, the rest in order.
    selected.sort_by_key(|p| p.role == PlanRole::Custom);

    let mut out = Vec::with_capacity(selected.len());
    for resolved in selected {
        let name = match resolved.role {
            PlanRole::Custom => resolved.name.clone(),
            PlanRole::Deploy | PlanRole::Update => DEPLOY_PLAN.to_string(),
        };
        let phases = resolved
            .phases
            .iter()
            .map(|ph| build_phase(spec, &resolved.name, ph, inputs))
            .collect::<Result<Vec<_>, _>>()?;
        let strategy = match resolved.strategy {
            PlanStrategy::Serial => Strategy::Serial,
            PlanStrategy::Parallel => Strategy::Parallel,
        };
        let mut plan = Plan::new(name, strategy, phases);
        if plan.name() == DEPLOY_PLAN {
            plan = plan.with_errors(inputs.deploy_errors.to_vec());
        } else {
            plan = plan.interrupted();
        }
        out.push(plan.with_id_seed(inputs.id_seed));
    }
    Ok(out)
}

fn build_phase(
    spec: &ServiceSpec,
    plan: &str,
    phase: &ResolvedPhase,
    inputs: &PlanInputs<'_>,
) -> Result<Phase, PlanError> {
    let Some(pod) = spec.pod(&phase.pod) else {
        return Err(PlanError::UnknownPod {
            plan: plan.to_string(),
            phase: phase.name.clone(),
            pod: phase.pod.clone(),
        });
    };
    let mut steps = Vec::with_capacity(phase.steps.len());
    for resolved in &phase.steps {
        let instance = PodInstance::new(pod.name.clone(), resolved.index);
        let mut goals = Vec::with_capacity(resolved.tasks.len());
        let mut resource_sets: Vec<&str> = Vec::new();
        let mut dns_prefixes: Vec<&str> = Vec::new();
        for task_name in &resolved.tasks {
            let Some(task) = pod.task(task_name) else {
                return Err(PlanError::UnknownTask {
                    plan: plan.to_string(),
                    phase: phase.name.clone(),
                    step: resolved.name(),
                    pod: pod.name.clone(),
                    task: task_name.clone(),
                });
            };
            let shared = |what: &'static str, id: &str| PlanError::SharedByStep {
                plan: plan.to_string(),
                phase: phase.name.clone(),
                step: resolved.name(),
                what,
                shared: id.to_string(),
            };
            if let TaskResources::Shared(id) = &task.resources {
                if resource_sets.contains(&id.as_str()) {
                    return Err(shared("resource set", id));
                }
                resource_sets.push(id);
            }
            if let Some(prefix) = task.discovery.as_ref().and_then(|d| d.prefix.as_deref()) {
                if dns_prefixes.contains(&prefix) {
                    return Err(shared("DNS prefix", prefix));
                }
                dns_prefixes.push(prefix);
            }
            goals.push(TaskGoal {
                task: task.name.clone(),
                instance_name: instance.task_name(&task.name),
                goal: task.goal,
                readiness_check: task.readiness_check.is_some(),
            });
        }
        let at_goal = !goals.is_empty()
            && goals.iter().all(|g| {
                inputs
                    .tasks
                    .get(&g.instance_name)
                    .is_some_and(|obs| g.reached(obs, inputs.target_config))
            });
        let step = Step::new(resolved.name(), Some(instance), goals);
        steps.push(if at_goal { step.completed() } else { step });
    }

    let strategy = match phase.step_generation {
        StepGeneration::CustomParallel => {
            let deps = phase
                .steps
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    phase.steps[..i]
                        .iter()
                        .enumerate()
                        .filter(|(_, earlier)| earlier.index == s.index)
                        .map(|(j, _)| j)
                        .collect()
                })
                .collect();
            Strategy::Dependency(deps)
        }
        StepGeneration::Default | StepGeneration::CustomSerial => {
            if phase.strategy.is_parallel() {
                Strategy::Parallel
            } else {
                Strategy::Serial
            }
        }
    };
    let phase_out = Phase::new(phase.name.clone(), strategy, steps);
    Ok(match phase.strategy {
        PhaseStrategy::SerialCanary | PhaseStrategy::ParallelCanary => phase_out.with_canary(),
        PhaseStrategy::Serial | PhaseStrategy::Parallel => phase_out,
    })
}
