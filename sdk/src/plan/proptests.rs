//! Properties of plans under random scheduler events and operator operations.
//!
//! * a `COMPLETE` step (and a `COMPLETE` plan) stays complete unless an
//!   operator restarts, stops or starts;
//! * a serial phase never has two unfinished steps launched at once;
//! * without errors, no status ever aggregates to `ERROR`;
//! * candidates are always `PENDING`/`PREPARED` steps of a non-interrupted plan.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use proptest::prelude::{
    Just, ProptestConfig, any, prop, prop_assert, prop_assert_eq, prop_assert_ne, prop_oneof,
    proptest,
};
use proptest::strategy::Strategy;

use crate::spec::{
    GoalState, PhaseSpec, PhaseStrategy, PlanSpec, PlanStrategy, PodSpec, ReadinessCheckSpec,
    ServiceSpec, StepRule, StepSelector, TaskSpec,
};

use super::{
    LaunchedTask, Plan, PlanInputs, PodInstance, Status, Step, StepRef, TaskObservation, TaskState,
    generate_plans,
};

const TASKS: [&str; 3] = ["a", "b", "c"];
const STATES: [TaskState; 8] = [
    TaskState::Staging,
    TaskState::Starting,
    TaskState::Running,
    TaskState::Running,
    TaskState::Finished,
    TaskState::Failed,
    TaskState::Killed,
    TaskState::Lost,
];

#[derive(Debug, Clone)]
struct PodShape {
    count: u32,
    goals: Vec<(GoalState, bool)>,
    strategy: PhaseStrategy,
    /// Custom steps: groups of task indexes.
    custom: Option<Vec<Vec<usize>>>,
}

fn goal_strategy() -> impl Strategy<Value = GoalState> {
    prop_oneof![
        4 => Just(GoalState::Running),
        1 => Just(GoalState::Finish),
        1 => Just(GoalState::Once),
    ]
}

fn phase_strategy() -> impl Strategy<Value = PhaseStrategy> {
    prop_oneof![
        Just(PhaseStrategy::Serial),
        Just(PhaseStrategy::Parallel),
        Just(PhaseStrategy::SerialCanary),
        Just(PhaseStrategy::ParallelCanary),
    ]
}

fn pod_shape() -> impl Strategy<Value = PodShape> {
    (
        1u32..=3,
        prop::collection::vec((goal_strategy(), any::<bool>()), 1..=3),
        phase_strategy(),
        any::<bool>(),
        prop::collection::vec(prop::collection::vec(0usize..3, 1..=2), 1..=3),
    )
        .prop_map(|(count, goals, strategy, custom, groups)| {
            let n = goals.len();
            let custom = custom.then(|| {
                groups
                    .into_iter()
                    .map(|g| {
                        let mut g: Vec<usize> = g.into_iter().map(|i| i % n).collect();
                        g.dedup();
                        g
                    })
                    .collect()
            });
            PodShape {
                count,
                goals,
                strategy,
                custom,
            }
        })
}

fn build_spec(pods: &[PodShape], parallel_plan: bool, yaml: bool) -> ServiceSpec {
    let pod_specs: Vec<PodSpec> = pods
        .iter()
        .enumerate()
        .map(|(i, shape)| PodSpec {
            name: format!("p{i}"),
            count: shape.count,
            tasks: shape
                .goals
                .iter()
                .enumerate()
                .map(|(t, (goal, readiness))| TaskSpec {
                    name: TASKS[t].to_string(),
                    goal: *goal,
                    readiness_check: readiness.then(ReadinessCheckSpec::default),
                    ..TaskSpec::default()
                })
                .collect(),
            ..PodSpec::default()
        })
        .collect();
    let plans = if yaml {
        vec![PlanSpec {
            name: "deploy".into(),
            strategy: Some(if parallel_plan {
                PlanStrategy::Parallel
            } else {
                PlanStrategy::Serial
            }),
            phases: pods
                .iter()
                .enumerate()
                .map(|(i, shape)| PhaseSpec {
                    name: format!("p{i}-deploy"),
                    strategy: Some(shape.strategy),
                    pod: format!("p{i}"),
                    steps: shape.custom.as_ref().map(|groups| {
                        vec![StepRule {
                            selector: StepSelector::Default,
                            task_groups: groups
                                .iter()
                                .map(|g| g.iter().map(|&t| TASKS[t].to_string()).collect())
                                .collect(),
                        }]
                    }),
                })
                .collect(),
        }]
    } else {
        Vec::new()
    };
    ServiceSpec {
        name: "svc".into(),
        pods: pod_specs,
        plans,
        ..ServiceSpec::default()
    }
}

#[derive(Debug, Clone)]
enum Action {
    Prepare(usize),
    Launch(usize),
    Task {
        step: usize,
        task: usize,
        state: usize,
        readiness: Option<bool>,
        stale: bool,
    },
    Delay {
        step: usize,
        secs: u64,
    },
    Tick(u64),
    Interrupt(Option<usize>),
    Continue(Option<usize>),
    ForceComplete(Option<usize>, Option<usize>),
    Restart(Option<usize>, Option<usize>),
    Start,
    Stop,
}

fn action() -> impl Strategy<Value = Action> {
    let idx = 0usize..16;
    prop_oneof![
        3 => idx.clone().prop_map(Action::Prepare),
        6 => idx.clone().prop_map(Action::Launch),
        12 => (idx.clone(), 0usize..3, 0..STATES.len(), prop::option::of(any::<bool>()), prop::bool::weighted(0.1))
            .prop_map(|(step, task, state, readiness, stale)| Action::Task { step, task, state, readiness, stale }),
        1 => (idx.clone(), 1u64..120).prop_map(|(step, secs)| Action::Delay { step, secs }),
        1 => (1u64..120).prop_map(Action::Tick),
        1 => prop::option::of(idx.clone()).prop_map(Action::Interrupt),
        3 => prop::option::of(idx.clone()).prop_map(Action::Continue),
        1 => (prop::option::of(idx.clone()), prop::option::of(idx.clone()))
            .prop_map(|(p, s)| Action::ForceComplete(p, s)),
        1 => (prop::option::of(idx.clone()), prop::option::of(idx.clone()))
            .prop_map(|(p, s)| Action::Restart(p, s)),
        1 => Just(Action::Start),
        1 => Just(Action::Stop),
    ]
}

/// Applies `action` to `plan`; returns whether it was an operator reset
/// (restart, stop, start) that may legitimately reopen complete steps.
fn apply(plan: &mut Plan, action: &Action, now: &mut Instant) -> bool {
    let all: Vec<StepRef> = plan.steps().map(|(r, _)| r).collect();
    let pick = |i: usize| all.get(i % all.len().max(1)).cloned();
    let phase_name = |plan: &Plan, i: usize| {
        plan.phases()
            .get(i % plan.phases().len().max(1))
            .map(|p| p.name().to_string())
    };
    let step_name = |plan: &Plan, phase: &str, i: usize| {
        plan.find_phase(phase)
            .and_then(|pi| plan.phases().get(pi))
            .and_then(|p| p.steps().get(i % p.steps().len().max(1)))
            .map(|s| s.name().to_string())
    };
    match action {
        Action::Prepare(i) | Action::Launch(i) => {
            let cands = plan.candidates(&BTreeSet::new());
            if let Some(at) = cands.get(i % cands.len().max(1)).cloned() {
                let _ = plan.mark_prepared(&at);
                if matches!(action, Action::Launch(_)) {
                    let tasks: Vec<LaunchedTask> = plan.step(&at).map_or(Vec::new(), |s| {
                        s.goals()
                            .iter()
                            .map(|g| {
                                LaunchedTask::new(
                                    &g.instance_name,
                                    format!("{}@{:?}", g.instance_name, now),
                                )
                            })
                            .collect()
                    });
                    let _ = plan.mark_launched(&at, &tasks);
                }
            }
            false
        }
        Action::Task {
            step,
            task,
            state,
            readiness,
            stale,
        } => {
            if let Some(s) = pick(*step).and_then(|r| plan.step(&r).cloned())
                && let Some(goal) = s.goals().get(task % s.goals().len().max(1))
            {
                let id = match (stale, s.launched_task_id(&goal.instance_name)) {
                    (false, Some(id)) => id.to_string(),
                    _ => "stale".to_string(),
                };
                let mut obs = TaskObservation::new(&goal.instance_name, id, STATES[*state]);
                obs.readiness = *readiness;
                plan.update_task(&obs);
            }
            false
        }
        Action::Delay { step, secs } => {
            if let Some(s) = pick(*step).and_then(|r| plan.step(&r).cloned())
                && let Some(goal) = s.goals().first()
            {
                plan.delay_task(&goal.instance_name, *now + Duration::from_secs(*secs));
            }
            false
        }
        Action::Tick(secs) => {
            *now += Duration::from_secs(*secs);
            plan.tick(*now);
            false
        }
        Action::Interrupt(phase) => {
            let name = phase.and_then(|i| phase_name(plan, i));
            let _ = plan.interrupt(name.as_deref());
            false
        }
        Action::Continue(phase) => {
            let name = phase.and_then(|i| phase_name(plan, i));
            let _ = plan.proceed(name.as_deref());
            false
        }
        Action::ForceComplete(phase, step) => {
            let ph = phase.and_then(|i| phase_name(plan, i));
            let st = match (&ph, step) {
                (Some(p), Some(i)) => step_name(plan, p, *i),
                _ => None,
            };
            let _ = plan.force_complete(ph.as_deref(), st.as_deref());
            false
        }
        Action::Restart(phase, step) => {
            let ph = phase.and_then(|i| phase_name(plan, i));
            let st = match (&ph, step) {
                (Some(p), Some(i)) => step_name(plan, p, *i),
                _ => None,
            };
            let _ = plan.restart(ph.as_deref(), st.as_deref());
            true
        }
        Action::Start => {
            let _ = plan.start(&BTreeMap::new());
            true
        }
        Action::Stop => {
            plan.stop();
            true
        }
    }
}

fn plan_for(pods: &[PodShape], parallel_plan: bool, yaml: bool) -> Plan {
    let spec = build_spec(pods, parallel_plan, yaml);
    let tasks = BTreeMap::new();
    match generate_plans(&spec, &PlanInputs::new("cfg", &tasks)) {
        Ok(mut plans) if !plans.is_empty() => plans.remove(0),
        other => panic!("generation failed: {other:?}"),
    }
}

fn in_flight(s: &Step) -> bool {
    matches!(
        s.status(),
        Status::Prepared | Status::Starting | Status::Started
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn complete_stays_complete_without_a_reset(
        pods in prop::collection::vec(pod_shape(), 1..=3),
        parallel_plan in any::<bool>(),
        yaml in any::<bool>(),
        actions in prop::collection::vec(action(), 1..80),
    ) {
        let mut plan = plan_for(&pods, parallel_plan, yaml);
        let mut now = Instant::now();
        for action in &actions {
            let before_steps: Vec<Status> = plan.steps().map(|(_, s)| s.status()).collect();
            let before_plan = plan.status();
            let reset = apply(&mut plan, action, &mut now);
            let after_plan = plan.status();
            prop_assert_ne!(after_plan, Status::Error, "no errors were injected; after {:?}", action);
            if !reset {
                for ((_, s), before) in plan.steps().zip(&before_steps) {
                    if *before == Status::Complete {
                        prop_assert_eq!(s.status(), Status::Complete, "{} reopened by {:?}", s.name(), action);
                    }
                }
                if before_plan == Status::Complete {
                    prop_assert_eq!(after_plan, Status::Complete, "plan reopened by {:?}", action);
                }
            }
            for at in plan.candidates(&BTreeSet::new()) {
                let s = plan.step(&at);
                prop_assert!(s.is_some_and(|s| matches!(s.status(), Status::Pending | Status::Prepared)));
                prop_assert!(!plan.is_interrupted());
            }
        }
    }

    #[test]
    fn serial_phases_launch_one_step_at_a_time(
        pods in prop::collection::vec(pod_shape(), 1..=3),
        parallel_plan in any::<bool>(),
        actions in prop::collection::vec(action(), 1..80),
    ) {
        let mut plan = plan_for(&pods, parallel_plan, true);
        let mut now = Instant::now();
        for action in &actions {
            // Restarting one step while a later one runs is an operator
            // override that may break the order; restart whole phases instead.
            let action = match action {
                Action::Restart(p, Some(_)) => Action::Restart(*p, None),
                other => other.clone(),
            };
            apply(&mut plan, &action, &mut now);
            for phase in plan.phases() {
                if phase.strategy() == &super::model::Strategy::Serial {
                    let busy: Vec<&str> = phase.steps().iter().filter(|s| in_flight(s)).map(Step::name).collect();
                    prop_assert!(busy.len() <= 1, "phase {} runs {:?} after {:?}", phase.name(), busy, action);
                }
            }
        }
    }

    #[test]
    fn dirty_pods_are_never_handed_out(
        pods in prop::collection::vec(pod_shape(), 1..=3),
        actions in prop::collection::vec(action(), 1..40),
        dirty_index in 0u32..3,
    ) {
        let mut plan = plan_for(&pods, true, true);
        let mut now = Instant::now();
        for action in &actions {
            apply(&mut plan, action, &mut now);
        }
        let dirty = BTreeSet::from([PodInstance::new("p0", dirty_index)]);
        for at in plan.candidates(&dirty) {
            let pod = plan.step(&at).and_then(|s| s.pod_instance().cloned());
            prop_assert!(pod.is_some_and(|p| !dirty.contains(&p)));
        }
    }
}
