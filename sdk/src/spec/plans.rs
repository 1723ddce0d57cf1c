//! Plan resolution: the plans a spec yields on a first deployment, with step names
//! as dcos-commons gives them (`<pod>-<index>:[<task>, <task>]`).
//!
//! Without a YAML `deploy` plan, a serial `deploy` plan is generated: one serial
//! phase per pod type (named after it), one step per instance launching all of its
//! tasks. A YAML phase without `steps` does the same for its pod. With `steps`,
//! each instance gets one step per task group, taken from the rule for its index or
//! else the `default` rule.

use super::model::{
    PhaseStrategy, PlanStrategy, ServiceSpec, StepGeneration, StepRule, StepSelector,
};

/// Where a plan came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanSource {
    /// Written under `plans:`.
    Yaml,
    /// Generated (no YAML `deploy` plan).
    Generated,
}

/// What the scheduler uses a plan for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanRole {
    /// Initial deployment.
    Deploy,
    /// Replaces `deploy` after the first completed deployment.
    Update,
    /// Started by an operator.
    Custom,
}

/// A plan with its steps enumerated.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedPlan {
    /// Name.
    pub name: String,
    /// Origin.
    pub source: PlanSource,
    /// Role.
    pub role: PlanRole,
    /// Effective strategy.
    pub strategy: PlanStrategy,
    /// Whether the strategy was written.
    pub strategy_explicit: bool,
    /// Phases.
    pub phases: Vec<ResolvedPhase>,
}

/// A phase with its steps.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedPhase {
    /// Name.
    pub name: String,
    /// Pod type.
    pub pod: String,
    /// Effective strategy.
    pub strategy: PhaseStrategy,
    /// Whether the strategy was written.
    pub strategy_explicit: bool,
    /// How steps were produced.
    pub step_generation: StepGeneration,
    /// Steps in order.
    pub steps: Vec<ResolvedStep>,
}

/// One step: some tasks of one pod instance, launched together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedStep {
    /// Pod type.
    pub pod: String,
    /// Instance index.
    pub index: u32,
    /// Tasks to launch.
    pub tasks: Vec<String>,
}

impl ResolvedStep {
    /// `<pod>-<index>:[a, b]`.
    pub fn name(&self) -> String {
        format!("{}-{}:[{}]", self.pod, self.index, self.tasks.join(", "))
    }

    /// `<pod>-<index>`.
    pub fn pod_instance(&self) -> String {
        format!("{}-{}", self.pod, self.index)
    }
}

impl ServiceSpec {
    /// Every plan, deploy first when generated, else in YAML order.
    pub fn resolved_plans(&self) -> Vec<ResolvedPlan> {
        let mut out = Vec::new();
        if !self.plans.iter().any(|p| p.name == "deploy") {
            out.push(self.generated_deploy_plan());
        }
        for plan in &self.plans {
            let role = match plan.name.as_str() {
                "deploy" => PlanRole::Deploy,
                "update" => PlanRole::Update,
                _ => PlanRole::Custom,
            };
            let phases = plan
                .phases
                .iter()
                .filter_map(|ph| {
                    let pod = self.pod(&ph.pod)?;
                    let strategy = ph.strategy.unwrap_or(PhaseStrategy::Serial);
                    let (generation, steps) = match &ph.steps {
                        None => (StepGeneration::Default, self.default_steps(&pod.name)),
                        Some(rules) => (
                            if strategy.is_parallel() {
                                StepGeneration::CustomParallel
                            } else {
                                StepGeneration::CustomSerial
                            },
                            custom_steps(&pod.name, pod.count, rules),
                        ),
                    };
                    Some(ResolvedPhase {
                        name: ph.name.clone(),
                        pod: pod.name.clone(),
                        strategy,
                        strategy_explicit: ph.strategy.is_some(),
                        step_generation: generation,
                        steps,
                    })
                })
                .collect();
            out.push(ResolvedPlan {
                name: plan.name.clone(),
                source: PlanSource::Yaml,
                role,
                strategy: plan.strategy.unwrap_or(PlanStrategy::Serial),
                strategy_explicit: plan.strategy.is_some(),
                phases,
            });
        }
        out
    }

    /// The deploy plan's step names, flattened in order.
    pub fn deploy_step_names(&self) -> Vec<String> {
        self.resolved_plans()
            .into_iter()
            .find(|p| p.role == PlanRole::Deploy)
            .map(|p| {
                p.phases
                    .iter()
                    .flat_map(|ph| ph.steps.iter().map(ResolvedStep::name))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn generated_deploy_plan(&self) -> ResolvedPlan {
        ResolvedPlan {
            name: "deploy".into(),
            source: PlanSource::Generated,
            role: PlanRole::Deploy,
            strategy: PlanStrategy::Serial,
            strategy_explicit: false,
            phases: self
                .pods
                .iter()
                .map(|p| ResolvedPhase {
                    name: p.name.clone(),
                    pod: p.name.clone(),
                    strategy: PhaseStrategy::Serial,
                    strategy_explicit: false,
                    step_generation: StepGeneration::Default,
                    steps: self.default_steps(&p.name),
                })
                .collect(),
        }
    }

    fn default_steps(&self, pod: &str) -> Vec<ResolvedStep> {
        let Some(p) = self.pod(pod) else {
            return Vec::new();
        };
        let tasks: Vec<String> = p.tasks.iter().map(|t| t.name.clone()).collect();
        (0..p.count)
            .map(|index| ResolvedStep {
                pod: p.name.clone(),
                index,
                tasks: tasks.clone(),
            })
            .collect()
    }
}

fn custom_steps(pod: &str, count: u32, rules: &[StepRule]) -> Vec<ResolvedStep> {
    let mut out = Vec::new();
    for index in 0..count {
        let rule = rules
            .iter()
            .find(|r| r.selector == StepSelector::Index(index))
            .or_else(|| rules.iter().find(|r| r.selector == StepSelector::Default));
        let Some(rule) = rule else { continue };
        for group in &rule.task_groups {
            out.push(ResolvedStep {
                pod: pod.to_string(),
                index,
                tasks: group.clone(),
            });
        }
    }
    out
}
