//! Scenario tests: generation, strategies (incl. dcos-commons' CustomStepsTest
//! and canary semantics), restart recovery, operations, the JSON view.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use crate::spec::{
    GoalState, PhaseSpec, PhaseStrategy, PlanSpec, PlanStrategy, PodSpec, ReadinessCheckSpec,
    ServiceSpec, StepRule, StepSelector, TaskSpec,
};

use super::*;

// === fixtures ===

fn task(name: &str, goal: GoalState, readiness: bool) -> TaskSpec {
    TaskSpec {
        name: name.into(),
        goal,
        essential: true,
        cmd: Some("sleep 1000".into()),
        readiness_check: readiness.then(ReadinessCheckSpec::default),
        ..TaskSpec::default()
    }
}

fn pod(name: &str, count: u32, tasks: Vec<TaskSpec>) -> PodSpec {
    PodSpec {
        name: name.into(),
        count,
        tasks,
        ..PodSpec::default()
    }
}

/// helloworld's svc.yml shape: hello ×1, world ×2 with a readiness check.
fn hello_world() -> ServiceSpec {
    ServiceSpec {
        name: "hello-world".into(),
        pods: vec![
            pod("hello", 1, vec![task("server", GoalState::Running, false)]),
            pod("world", 2, vec![task("server", GoalState::Running, true)]),
        ],
        ..ServiceSpec::default()
    }
}

fn groups(g: &[&[&str]]) -> Vec<Vec<String>> {
    g.iter()
        .map(|grp| grp.iter().map(|t| t.to_string()).collect())
        .collect()
}

/// helloworld's custom_steps.yml: hello ×2 with tasks first/second/third, a
/// deploy plan with one phase using `strategy` and `default: steps`.
fn custom_steps(strategy: PhaseStrategy, steps: &[&[&str]]) -> ServiceSpec {
    ServiceSpec {
        name: "hello-world".into(),
        pods: vec![pod(
            "hello",
            2,
            vec![
                task("first", GoalState::Running, false),
                task("second", GoalState::Running, false),
                task("third", GoalState::Running, false),
            ],
        )],
        plans: vec![PlanSpec {
            name: "deploy".into(),
            strategy: Some(PlanStrategy::Serial),
            phases: vec![PhaseSpec {
                name: "hello-deploy".into(),
                strategy: Some(strategy),
                pod: "hello".into(),
                steps: Some(vec![StepRule {
                    selector: StepSelector::Default,
                    task_groups: groups(steps),
                }]),
            }],
        }],
        ..ServiceSpec::default()
    }
}

fn no_tasks() -> BTreeMap<String, TaskObservation> {
    BTreeMap::new()
}

fn generate(spec: &ServiceSpec) -> Vec<Plan> {
    let tasks = no_tasks();
    generate_plans(spec, &PlanInputs::new("cfg-1", &tasks)).expect("plans")
}

fn deploy(spec: &ServiceSpec) -> Plan {
    generate(spec).into_iter().next().expect("deploy plan")
}

fn none() -> BTreeSet<PodInstance> {
    BTreeSet::new()
}

fn names(plan: &Plan, refs: &[StepRef]) -> Vec<String> {
    refs.iter()
        .filter_map(|r| plan.step(r))
        .map(|s| s.name().to_string())
        .collect()
}

fn candidate_names(plan: &Plan) -> Vec<String> {
    names(plan, &plan.candidates(&none()))
}

fn step_ref(plan: &Plan, name: &str) -> StepRef {
    plan.steps()
        .find(|(_, s)| s.name() == name)
        .map(|(r, _)| r)
        .unwrap_or_else(|| panic!("no step {name}"))
}

fn status_of(plan: &Plan, name: &str) -> Status {
    plan.step(&step_ref(plan, name))
        .map(Step::status)
        .unwrap_or(Status::Error)
}

/// Prepares and launches a step: every task gets id `<task name>#1`.
fn launch(plan: &mut Plan, name: &str) -> Vec<StepChange> {
    let at = step_ref(plan, name);
    let tasks: Vec<LaunchedTask> = plan
        .step(&at)
        .map(|s| {
            s.goals()
                .iter()
                .map(|g| LaunchedTask::new(&g.instance_name, format!("{}#1", g.instance_name)))
                .collect()
        })
        .unwrap_or_default();
    let mut changes = plan.mark_prepared(&at).expect("prepare");
    changes.extend(plan.mark_launched(&at, &tasks).expect("launch"));
    changes
}

fn report(
    plan: &mut Plan,
    task: &str,
    state: TaskState,
    readiness: Option<bool>,
) -> Vec<StepChange> {
    let mut obs = TaskObservation::new(task, format!("{task}#1"), state);
    obs.readiness = readiness;
    plan.update_task(&obs)
}

fn running(plan: &mut Plan, task: &str) -> Vec<StepChange> {
    report(plan, task, TaskState::Running, None)
}

// === generation ===

#[test]
fn default_deploy_plan_shape() {
    let plans = generate(&hello_world());
    assert_eq!(plan_names(&plans), ["deploy"]);
    let plan = &plans[0];
    assert_eq!(plan.strategy(), &Strategy::Serial);
    assert!(!plan.is_interrupted());
    let phases: Vec<(&str, String, Vec<&str>)> = plan
        .phases()
        .iter()
        .map(|p| {
            (
                p.name(),
                p.strategy_name(),
                p.steps().iter().map(Step::name).collect(),
            )
        })
        .collect();
    assert_eq!(
        phases,
        [
            ("hello", "serial".to_string(), vec!["hello-0:[server]"]),
            (
                "world",
                "serial".to_string(),
                vec!["world-0:[server]", "world-1:[server]"]
            ),
        ]
    );
    assert_eq!(plan.status(), Status::Pending);
    let step = &plan.phases()[1].steps()[1];
    assert_eq!(step.pod_type(), Some("world"));
    assert_eq!(step.pod_index(), Some(1));
    assert_eq!(step.tasks(), ["server"]);
    assert!(step.goals()[0].readiness_check);
}

#[test]
fn step_names_match_spec_rendering() {
    for spec in [
        hello_world(),
        custom_steps(PhaseStrategy::Parallel, &[&["first"], &["second", "third"]]),
    ] {
        let plan = deploy(&spec);
        let ours: Vec<String> = plan.steps().map(|(_, s)| s.name().to_string()).collect();
        assert_eq!(ours, spec.deploy_step_names());
    }
}

#[test]
fn ids_are_deterministic_per_seed() {
    let spec = hello_world();
    let tasks = no_tasks();
    let mut inputs = PlanInputs::new("cfg-1", &tasks);
    inputs.id_seed = "hello-world";
    let a = generate_plans(&spec, &inputs).unwrap();
    let b = generate_plans(&spec, &inputs).unwrap();
    assert_eq!(a, b);
    inputs.id_seed = "other";
    let c = generate_plans(&spec, &inputs).unwrap();
    assert_ne!(
        a[0].phases()[0].steps()[0].id(),
        c[0].phases()[0].steps()[0].id()
    );
    let ids: BTreeSet<&str> = a[0].steps().map(|(_, s)| s.id()).collect();
    assert_eq!(ids.len(), 3, "unique step ids");
}

#[test]
fn yaml_plans_update_rule_and_custom_plans_interrupted() {
    let mut spec = hello_world();
    let phase = |name: &str, pod: &str| PhaseSpec {
        name: name.into(),
        strategy: None,
        pod: pod.into(),
        steps: None,
    };
    spec.plans = vec![
        PlanSpec {
            name: "deploy".into(),
            strategy: None,
            phases: vec![phase("hello-deploy", "hello")],
        },
        PlanSpec {
            name: "update".into(),
            strategy: Some(PlanStrategy::Parallel),
            phases: vec![
                phase("hello-update", "hello"),
                phase("world-update", "world"),
            ],
        },
        PlanSpec {
            name: "sidecar".into(),
            strategy: None,
            phases: vec![phase("sidecar-deploy", "world")],
        },
    ];
    let tasks = no_tasks();
    let mut inputs = PlanInputs::new("cfg-1", &tasks);

    let first = generate_plans(&spec, &inputs).unwrap();
    assert_eq!(plan_names(&first), ["deploy", "sidecar"]);
    assert_eq!(first[0].phases()[0].name(), "hello-deploy");
    assert!(!first[0].is_interrupted());
    assert!(first[1].is_interrupted());
    assert_eq!(first[1].status(), Status::Waiting);

    inputs.update_completed = true;
    let later = generate_plans(&spec, &inputs).unwrap();
    assert_eq!(plan_names(&later), ["deploy", "sidecar"]);
    let phases: Vec<&str> = later[0].phases().iter().map(Phase::name).collect();
    assert_eq!(phases, ["hello-update", "world-update"]);
    assert_eq!(later[0].strategy(), &Strategy::Parallel);
    assert!(!later[0].is_interrupted());
}

#[test]
fn update_plan_without_yaml_deploy_replaces_generated_deploy() {
    let mut spec = hello_world();
    spec.plans = vec![PlanSpec {
        name: "update".into(),
        strategy: None,
        phases: vec![PhaseSpec {
            name: "world-update".into(),
            strategy: Some(PhaseStrategy::Parallel),
            pod: "world".into(),
            steps: None,
        }],
    }];
    let tasks = no_tasks();
    let mut inputs = PlanInputs::new("cfg-1", &tasks);
    let first = generate_plans(&spec, &inputs).unwrap();
    assert_eq!(plan_names(&first), ["deploy"]);
    assert_eq!(first[0].phases().len(), 2, "generated deploy plan");
    inputs.update_completed = true;
    let later = generate_plans(&spec, &inputs).unwrap();
    assert_eq!(plan_names(&later), ["deploy"]);
    assert_eq!(later[0].phases()[0].name(), "world-update");
}

#[test]
fn invalid_custom_step_is_an_error() {
    // CustomStepsTest.testInvalidStep: [[foo, bar]] names unknown tasks.
    let spec = custom_steps(PhaseStrategy::Serial, &[&["foo", "bar"]]);
    let tasks = no_tasks();
    let err = generate_plans(&spec, &PlanInputs::new("cfg-1", &tasks)).unwrap_err();
    assert!(
        matches!(err, PlanError::UnknownTask { ref task, .. } if task == "foo"),
        "{err}"
    );
    assert!(err.to_string().contains("pod 'hello' does not have"));

    let mut spec = hello_world();
    spec.plans = vec![PlanSpec {
        name: "deploy".into(),
        strategy: None,
        phases: vec![PhaseSpec {
            name: "p".into(),
            strategy: None,
            pod: "nope".into(),
            steps: None,
        }],
    }];
    let err = generate_plans(&spec, &PlanInputs::new("cfg-1", &tasks)).unwrap_err();
    assert!(matches!(err, PlanError::UnknownPod { .. }), "{err}");
}

#[test]
fn steps_that_dcos_commons_refuses() {
    // An instance without a step entry and no default.
    let mut spec = custom_steps(PhaseStrategy::Serial, &[&["first"]]);
    if let Some(steps) = spec.plans[0].phases[0].steps.as_mut() {
        steps[0].selector = StepSelector::Index(0);
    }
    let tasks = no_tasks();
    let err = generate_plans(&spec, &PlanInputs::new("cfg-1", &tasks)).unwrap_err();
    assert!(
        matches!(err, PlanError::MissingStepRule { index: 1, .. }),
        "{err}"
    );

    // Two tasks sharing a resource set cannot launch in one step...
    let mut spec = hello_world();
    spec.pods[0].tasks = vec![
        task("init", GoalState::Once, false),
        task("server", GoalState::Running, false),
    ];
    for t in &mut spec.pods[0].tasks {
        t.resources = crate::spec::TaskResources::Shared("shared".into());
    }
    let err = generate_plans(&spec, &PlanInputs::new("cfg-1", &tasks)).unwrap_err();
    assert!(
        matches!(err, PlanError::SharedByStep { what: "resource set", ref shared, .. } if shared == "shared"),
        "{err}"
    );
    // ...but may in separate steps.
    spec.plans = vec![PlanSpec {
        name: "deploy".into(),
        strategy: None,
        phases: vec![PhaseSpec {
            name: "hello".into(),
            strategy: None,
            pod: "hello".into(),
            steps: Some(vec![StepRule {
                selector: StepSelector::Default,
                task_groups: groups(&[&["init"], &["server"]]),
            }]),
        }],
    }];
    assert!(generate_plans(&spec, &PlanInputs::new("cfg-1", &tasks)).is_ok());
}

#[test]
fn empty_default_steps_give_a_complete_phase() {
    let spec = custom_steps(PhaseStrategy::Serial, &[]);
    let plan = deploy(&spec);
    assert!(plan.phases()[0].steps().is_empty());
    assert_eq!(plan.phases()[0].status(), Status::Complete);
    assert_eq!(plan.status(), Status::Complete);
    assert!(plan.candidates(&none()).is_empty());
}

#[test]
fn deploy_errors_make_the_plan_error() {
    let spec = hello_world();
    let tasks = no_tasks();
    let errors = vec!["PodSpec named 'hello' has 0 tasks, expected >=1 tasks".to_string()];
    let mut inputs = PlanInputs::new("cfg-1", &tasks);
    inputs.deploy_errors = &errors;
    let plan = generate_plans(&spec, &inputs).unwrap().remove(0);
    assert_eq!(plan.status(), Status::Error);
    assert_eq!(plan_http_status(&plan), 417);
    assert_eq!(PlanInfo::of(&plan).errors, errors);
}

// === default deployment (ServiceTest#getDefaultDeploymentTicks) ===

#[test]
fn hello_world_default_deployment() {
    let mut plan = deploy(&hello_world());
    assert_eq!(candidate_names(&plan), ["hello-0:[server]"]);

    let changes = launch(&mut plan, "hello-0:[server]");
    let seen: Vec<(Status, Status)> = changes.iter().map(|c| (c.from, c.to)).collect();
    assert_eq!(
        seen,
        [
            (Status::Pending, Status::Prepared),
            (Status::Prepared, Status::Starting)
        ]
    );
    assert_eq!(plan.status(), Status::Starting);
    // Serial plan: world is not handed out while hello is starting.
    assert!(candidate_names(&plan).is_empty());
    assert_eq!(
        plan.dirty_pods(),
        BTreeSet::from([PodInstance::new("hello", 0)])
    );

    let changes = running(&mut plan, "hello-0-server");
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].step, "hello-0:[server]");
    assert_eq!(changes[0].to, Status::Complete);
    assert_eq!(plan.status(), Status::InProgress);
    assert_eq!(candidate_names(&plan), ["world-0:[server]"]);

    launch(&mut plan, "world-0:[server]");
    running(&mut plan, "world-0-server");
    // world has a readiness check: RUNNING without a check result is STARTED.
    assert_eq!(status_of(&plan, "world-0:[server]"), Status::Started);
    assert_eq!(plan.phases()[1].status(), Status::Started);
    assert!(candidate_names(&plan).is_empty());
    report(&mut plan, "world-0-server", TaskState::Running, Some(true));
    assert_eq!(status_of(&plan, "world-0:[server]"), Status::Complete);
    assert_eq!(candidate_names(&plan), ["world-1:[server]"]);

    launch(&mut plan, "world-1:[server]");
    report(&mut plan, "world-1-server", TaskState::Running, Some(true));
    assert_eq!(plan.status(), Status::Complete);
    assert_eq!(plan_http_status(&plan), 200);
    assert!(candidate_names(&plan).is_empty());
}

#[test]
fn failed_launch_is_relaunched() {
    let mut plan = deploy(&hello_world());
    launch(&mut plan, "hello-0:[server]");
    let changes = report(&mut plan, "hello-0-server", TaskState::Failed, None);
    assert_eq!(changes[0].to, Status::Pending);
    assert_eq!(candidate_names(&plan), ["hello-0:[server]"]);
    let at = step_ref(&plan, "hello-0:[server]");
    assert_eq!(
        plan.step(&at).and_then(Step::last_failure),
        Some("hello-0-server TASK_FAILED")
    );
    // The relaunch uses a new task id; the old id's late statuses are ignored.
    plan.mark_prepared(&at).unwrap();
    plan.mark_launched(
        &at,
        &[LaunchedTask::new("hello-0-server", "hello-0-server#2")],
    )
    .unwrap();
    assert!(report(&mut plan, "hello-0-server", TaskState::Killed, None).is_empty());
    plan.update_task(&TaskObservation::new(
        "hello-0-server",
        "hello-0-server#2",
        TaskState::Running,
    ));
    assert_eq!(status_of(&plan, "hello-0:[server]"), Status::Complete);
}

#[test]
fn step_errors_stop_the_phase() {
    let mut plan = deploy(&hello_world());
    let at = step_ref(&plan, "hello-0:[server]");
    let changes = plan.add_step_error(&at, "cannot place").unwrap();
    assert_eq!(changes[0].to, Status::Error);
    assert_eq!(plan.status(), Status::Error);
    assert_eq!(plan.errors(), ["cannot place"]);
    assert!(candidate_names(&plan).is_empty());
    assert_eq!(plan_http_status(&plan), 417);
}

#[test]
fn transitions_are_checked() {
    let mut plan = deploy(&hello_world());
    let at = step_ref(&plan, "hello-0:[server]");
    launch(&mut plan, "hello-0:[server]");
    let err = plan.mark_prepared(&at).unwrap_err();
    assert!(
        matches!(
            err,
            PlanError::InvalidTransition {
                status: Status::Starting,
                ..
            }
        ),
        "{err}"
    );
    let bogus = StepRef {
        plan: "deploy".into(),
        phase: 9,
        step: 0,
    };
    assert!(matches!(
        plan.mark_prepared(&bogus),
        Err(PlanError::UnknownStepRef { .. })
    ));
    let other_plan = StepRef {
        plan: "recovery".into(),
        ..at
    };
    assert!(plan.mark_prepared(&other_plan).is_err());
}

// === CustomStepsTest ===

/// Runs a custom-steps deploy to completion, returning, per round, the
/// candidate step names handed out (all of which are launched and run).
fn rounds(spec: &ServiceSpec) -> Vec<Vec<String>> {
    let mut plan = deploy(spec);
    let mut out = Vec::new();
    for _ in 0..10 {
        let cands = candidate_names(&plan);
        if cands.is_empty() {
            break;
        }
        for name in &cands {
            launch(&mut plan, name);
        }
        for name in &cands {
            let at = step_ref(&plan, name);
            let tasks: Vec<String> = plan.step(&at).map_or(Vec::new(), |s| {
                s.goals().iter().map(|g| g.instance_name.clone()).collect()
            });
            for t in tasks {
                running(&mut plan, &t);
            }
        }
        out.push(cands);
    }
    assert_eq!(plan.status(), Status::Complete, "{out:?}");
    out
}

#[test]
fn custom_steps_serial_strategy_serial_steps() {
    let spec = custom_steps(PhaseStrategy::Serial, &[&["first"], &["second"]]);
    assert_eq!(
        rounds(&spec),
        [
            vec!["hello-0:[first]"],
            vec!["hello-0:[second]"],
            vec!["hello-1:[first]"],
            vec!["hello-1:[second]"],
        ]
    );
    // Nothing else is handed out while hello-0-first is launching.
    let mut plan = deploy(&spec);
    launch(&mut plan, "hello-0:[first]");
    assert!(candidate_names(&plan).is_empty());
}

#[test]
fn custom_steps_serial_strategy_parallel_steps() {
    let spec = custom_steps(PhaseStrategy::Serial, &[&["first", "second"]]);
    assert_eq!(
        rounds(&spec),
        [
            vec!["hello-0:[first, second]"],
            vec!["hello-1:[first, second]"]
        ]
    );
    // Both tasks must run before the next pod.
    let mut plan = deploy(&spec);
    launch(&mut plan, "hello-0:[first, second]");
    running(&mut plan, "hello-0-first");
    assert_eq!(
        status_of(&plan, "hello-0:[first, second]"),
        Status::Starting
    );
    assert!(candidate_names(&plan).is_empty());
    running(&mut plan, "hello-0-second");
    assert_eq!(candidate_names(&plan), ["hello-1:[first, second]"]);
}

#[test]
fn custom_steps_serial_strategy_mixed_steps() {
    let spec = custom_steps(PhaseStrategy::Serial, &[&["first"], &["second", "third"]]);
    assert_eq!(
        rounds(&spec),
        [
            vec!["hello-0:[first]"],
            vec!["hello-0:[second, third]"],
            vec!["hello-1:[first]"],
            vec!["hello-1:[second, third]"],
        ]
    );
}

#[test]
fn custom_steps_parallel_strategy_serial_steps() {
    let spec = custom_steps(PhaseStrategy::Parallel, &[&["first"], &["second"]]);
    let plan = deploy(&spec);
    assert_eq!(plan.phases()[0].strategy_name(), "dependency");
    assert_eq!(
        rounds(&spec),
        [
            vec!["hello-0:[first]", "hello-1:[first]"],
            vec!["hello-0:[second]", "hello-1:[second]"],
        ]
    );
    // Pod 0 moves on as soon as its first task runs, whatever pod 1 does.
    let mut plan = deploy(&spec);
    launch(&mut plan, "hello-0:[first]");
    launch(&mut plan, "hello-1:[first]");
    assert!(candidate_names(&plan).is_empty());
    running(&mut plan, "hello-0-first");
    assert_eq!(candidate_names(&plan), ["hello-0:[second]"]);
    running(&mut plan, "hello-1-first");
    assert_eq!(
        candidate_names(&plan),
        ["hello-0:[second]", "hello-1:[second]"]
    );
}

#[test]
fn custom_steps_parallel_strategy_parallel_steps() {
    let spec = custom_steps(PhaseStrategy::Parallel, &[&["first", "second"]]);
    assert_eq!(
        rounds(&spec),
        [vec!["hello-0:[first, second]", "hello-1:[first, second]"]]
    );
}

#[test]
fn custom_steps_parallel_strategy_mixed_steps() {
    let spec = custom_steps(PhaseStrategy::Parallel, &[&["first"], &["second", "third"]]);
    assert_eq!(
        rounds(&spec),
        [
            vec!["hello-0:[first]", "hello-1:[first]"],
            vec!["hello-0:[second, third]", "hello-1:[second, third]"],
        ]
    );
}

#[test]
fn per_index_step_rules_override_default() {
    let mut spec = custom_steps(PhaseStrategy::Serial, &[&["first", "second"]]);
    if let Some(steps) = spec.plans[0].phases[0].steps.as_mut() {
        steps.insert(
            0,
            StepRule {
                selector: StepSelector::Index(1),
                task_groups: groups(&[&["third"]]),
            },
        );
    }
    let plan = deploy(&spec);
    let ours: Vec<&str> = plan.steps().map(|(_, s)| s.name()).collect();
    assert_eq!(ours, ["hello-0:[first, second]", "hello-1:[third]"]);
}

// === strategies ===

#[test]
fn parallel_phase_hands_out_every_pending_step() {
    let mut spec = hello_world();
    spec.plans = vec![PlanSpec {
        name: "deploy".into(),
        strategy: Some(PlanStrategy::Parallel),
        phases: vec![
            PhaseSpec {
                name: "hello".into(),
                strategy: Some(PhaseStrategy::Parallel),
                pod: "hello".into(),
                steps: None,
            },
            PhaseSpec {
                name: "world".into(),
                strategy: Some(PhaseStrategy::Parallel),
                pod: "world".into(),
                steps: None,
            },
        ],
    }];
    let mut plan = deploy(&spec);
    assert_eq!(
        candidate_names(&plan),
        ["hello-0:[server]", "world-0:[server]", "world-1:[server]"]
    );
    launch(&mut plan, "world-0:[server]");
    assert_eq!(
        candidate_names(&plan),
        ["hello-0:[server]", "world-1:[server]"]
    );
    // Pods another plan works on are skipped.
    let dirty = BTreeSet::from([PodInstance::new("world", 1)]);
    assert_eq!(names(&plan, &plan.candidates(&dirty)), ["hello-0:[server]"]);
}

fn canary_spec(strategy: PhaseStrategy, count: u32) -> ServiceSpec {
    ServiceSpec {
        name: "hello-world".into(),
        pods: vec![pod(
            "hello",
            count,
            vec![task("server", GoalState::Running, false)],
        )],
        plans: vec![PlanSpec {
            name: "deploy".into(),
            strategy: None,
            phases: vec![PhaseSpec {
                name: "hello-deploy".into(),
                strategy: Some(strategy),
                pod: "hello".into(),
                steps: None,
            }],
        }],
        ..ServiceSpec::default()
    }
}

fn statuses(plan: &Plan) -> Vec<Status> {
    plan.steps().map(|(_, s)| s.status()).collect()
}

#[test]
fn serial_canary_needs_two_continues() {
    use Status::*;
    let mut plan = deploy(&canary_spec(PhaseStrategy::SerialCanary, 4));
    assert_eq!(plan.phases()[0].strategy_name(), "serial-canary");
    assert_eq!(statuses(&plan), [Waiting, Waiting, Pending, Pending]);
    assert_eq!(plan.phases()[0].status(), Waiting);
    assert_eq!(plan.status(), Waiting);
    assert!(candidate_names(&plan).is_empty());
    // Interrupting a gated canary phase changes nothing.
    assert_eq!(
        plan.interrupt(Some("hello-deploy")).unwrap().outcome,
        Outcome::AlreadyReported
    );
    // A plan-level continue only affects the plan's own strategy.
    assert!(plan.proceed(None).unwrap().changes.is_empty());
    assert!(candidate_names(&plan).is_empty());

    // First continue: the first step only.
    let r = plan.proceed(Some("hello-deploy")).unwrap();
    assert_eq!(r.outcome, Outcome::Applied);
    assert_eq!(r.changes.len(), 1);
    assert_eq!((r.changes[0].from, r.changes[0].to), (Waiting, Pending));
    assert_eq!(candidate_names(&plan), ["hello-0:[server]"]);
    assert_eq!(plan.phases()[0].status(), Pending);
    launch(&mut plan, "hello-0:[server]");
    assert!(candidate_names(&plan).is_empty());
    running(&mut plan, "hello-0-server");
    // The phase waits again.
    assert_eq!(statuses(&plan), [Complete, Waiting, Pending, Pending]);
    assert_eq!(plan.phases()[0].status(), Waiting);
    assert!(candidate_names(&plan).is_empty());

    // Second continue: the rest, serially.
    plan.proceed(Some("hello-deploy")).unwrap();
    assert_eq!(statuses(&plan), [Complete, Pending, Pending, Pending]);
    assert_eq!(candidate_names(&plan), ["hello-1:[server]"]);
    launch(&mut plan, "hello-1:[server]");
    running(&mut plan, "hello-1-server");
    assert_eq!(candidate_names(&plan), ["hello-2:[server]"]);
    // Now a regular phase: interrupt works.
    assert_eq!(
        plan.interrupt(Some("hello-deploy")).unwrap().outcome,
        Outcome::Applied
    );
    assert!(candidate_names(&plan).is_empty());
    plan.proceed(Some("hello-deploy")).unwrap();
    assert_eq!(candidate_names(&plan), ["hello-2:[server]"]);
}

#[test]
fn second_continue_while_the_canary_runs() {
    use Status::*;
    // As in dcos-commons, a phase whose canary step is still starting shows
    // WAITING (its second canary step waits), so a second continue is accepted
    // and ends the gate; the serial strategy still waits for the first step.
    let mut plan = deploy(&canary_spec(PhaseStrategy::SerialCanary, 3));
    plan.proceed(Some("hello-deploy")).unwrap();
    launch(&mut plan, "hello-0:[server]");
    assert_eq!(plan.phases()[0].status(), Waiting);
    assert_eq!(
        plan.proceed(Some("hello-deploy")).unwrap().outcome,
        Outcome::Applied
    );
    assert_eq!(statuses(&plan), [Starting, Pending, Pending]);
    assert!(candidate_names(&plan).is_empty());
    running(&mut plan, "hello-0-server");
    assert_eq!(candidate_names(&plan), ["hello-1:[server]"]);
    // Once the gate is open, continue on a running phase is already reported.
    assert_eq!(
        plan.proceed(Some("hello-deploy")).unwrap().outcome,
        Outcome::AlreadyReported
    );
}

#[test]
fn parallel_canary_releases_the_rest_at_once() {
    use Status::*;
    let mut plan = deploy(&canary_spec(PhaseStrategy::ParallelCanary, 4));
    assert_eq!(plan.phases()[0].strategy_name(), "parallel-canary");
    plan.proceed(Some("hello-deploy")).unwrap();
    assert_eq!(candidate_names(&plan), ["hello-0:[server]"]);
    launch(&mut plan, "hello-0:[server]");
    running(&mut plan, "hello-0-server");
    assert!(candidate_names(&plan).is_empty());
    plan.proceed(Some("hello-deploy")).unwrap();
    assert_eq!(
        candidate_names(&plan),
        ["hello-1:[server]", "hello-2:[server]", "hello-3:[server]"]
    );
    assert_eq!(statuses(&plan), [Complete, Pending, Pending, Pending]);
}

#[test]
fn canary_with_custom_parallel_steps() {
    let mut spec = custom_steps(PhaseStrategy::ParallelCanary, &[&["first"], &["second"]]);
    spec.pods[0].count = 2;
    let mut plan = deploy(&spec);
    assert_eq!(plan.phases()[0].strategy_name(), "dependency-canary");
    assert!(candidate_names(&plan).is_empty());
    plan.proceed(Some("hello-deploy")).unwrap();
    assert_eq!(candidate_names(&plan), ["hello-0:[first]"]);
    launch(&mut plan, "hello-0:[first]");
    running(&mut plan, "hello-0-first");
    plan.proceed(Some("hello-deploy")).unwrap();
    assert_eq!(
        candidate_names(&plan),
        ["hello-0:[second]", "hello-1:[first]"]
    );
}

#[test]
fn canary_gate_skips_completed_steps() {
    let spec = canary_spec(PhaseStrategy::SerialCanary, 3);
    let tasks = BTreeMap::from([(
        "hello-0-server".to_string(),
        TaskObservation::new("hello-0-server", "x", TaskState::Running).with_config("cfg-1"),
    )]);
    let plan = generate_plans(&spec, &PlanInputs::new("cfg-1", &tasks))
        .unwrap()
        .remove(0);
    assert_eq!(
        statuses(&plan),
        [Status::Complete, Status::Waiting, Status::Waiting]
    );
}

#[test]
fn interrupted_phase_blocks_a_serial_plan() {
    let mut plan = deploy(&hello_world());
    let r = plan.interrupt(Some("hello")).unwrap();
    assert_eq!(r.outcome, Outcome::Applied);
    assert!(
        r.changes.is_empty(),
        "phase interrupts do not touch step statuses"
    );
    assert_eq!(plan.phases()[0].status(), Status::Waiting);
    assert_eq!(plan.status(), Status::Waiting);
    assert!(candidate_names(&plan).is_empty());
    assert_eq!(
        plan.interrupt(Some("hello")).unwrap().outcome,
        Outcome::AlreadyReported
    );
    plan.proceed(Some("hello")).unwrap();
    assert_eq!(candidate_names(&plan), ["hello-0:[server]"]);
}

// === delays ===

#[test]
fn crash_loop_backoff_delays_the_step() {
    let t0 = Instant::now();
    let mut plan = deploy(&hello_world());
    launch(&mut plan, "hello-0:[server]");
    report(&mut plan, "hello-0-server", TaskState::Failed, None);
    let changes = plan.delay_task("hello-0-server", t0 + Duration::from_secs(60));
    assert_eq!(changes[0].to, Status::Delayed);
    assert_eq!(status_of(&plan, "hello-0:[server]"), Status::Delayed);
    assert_eq!(plan.phases()[0].status(), Status::Delayed);
    // Serial plan with later pending phases: Plinth reports DELAYED, not ERROR.
    assert_eq!(plan.status(), Status::Delayed);
    assert_eq!(plan_http_status(&plan), 202);
    assert!(candidate_names(&plan).is_empty());
    assert_eq!(plan.next_wakeup(), Some(t0 + Duration::from_secs(60)));

    assert!(plan.tick(t0 + Duration::from_secs(30)).is_empty());
    let changes = plan.tick(t0 + Duration::from_secs(60));
    assert_eq!(
        (changes[0].from, changes[0].to),
        (Status::Delayed, Status::Pending)
    );
    assert_eq!(plan.next_wakeup(), None);
    assert_eq!(candidate_names(&plan), ["hello-0:[server]"]);

    plan.delay_task("hello-0-server", t0 + Duration::from_secs(600));
    assert_eq!(plan.clear_task_delay("hello-0-server").len(), 1);
    assert_eq!(candidate_names(&plan), ["hello-0:[server]"]);

    // An operator restart clears a delay too.
    plan.delay_task("hello-0-server", t0 + Duration::from_secs(600));
    plan.restart(Some("hello"), Some("hello-0:[server]"))
        .unwrap();
    assert_eq!(status_of(&plan, "hello-0:[server]"), Status::Pending);
}

// === restart recovery ===

fn observed(
    entries: &[(&str, TaskState, Option<bool>, &str)],
) -> BTreeMap<String, TaskObservation> {
    entries
        .iter()
        .map(|(name, state, readiness, config)| {
            let mut o =
                TaskObservation::new(*name, format!("{name}#0"), *state).with_config(*config);
            o.readiness = *readiness;
            (name.to_string(), o)
        })
        .collect()
}

#[test]
fn restart_recovery_relaunches_nothing_that_runs() {
    // SchedulerRestartServiceTest: hello-0 RUNNING; world-0 RUNNING with
    // readiness exit 1 → PENDING after restart, exit 0 → COMPLETE.
    let spec = hello_world();
    for (readiness, want) in [
        (Some(false), Status::Pending),
        (Some(true), Status::Complete),
    ] {
        let tasks = observed(&[
            ("hello-0-server", TaskState::Running, None, "cfg-1"),
            ("world-0-server", TaskState::Running, readiness, "cfg-1"),
        ]);
        let plan = generate_plans(&spec, &PlanInputs::new("cfg-1", &tasks))
            .unwrap()
            .remove(0);
        assert_eq!(status_of(&plan, "hello-0:[server]"), Status::Complete);
        assert_eq!(status_of(&plan, "world-0:[server]"), want);
        assert_eq!(status_of(&plan, "world-1:[server]"), Status::Pending);
    }

    // Everything running on the target: the whole plan is complete.
    let tasks = observed(&[
        ("hello-0-server", TaskState::Running, None, "cfg-1"),
        ("world-0-server", TaskState::Running, Some(true), "cfg-1"),
        ("world-1-server", TaskState::Running, Some(true), "cfg-1"),
    ]);
    let plan = generate_plans(&spec, &PlanInputs::new("cfg-1", &tasks))
        .unwrap()
        .remove(0);
    assert_eq!(plan.status(), Status::Complete);
    assert!(plan.candidates(&none()).is_empty());

    // A new target config: everything is deployed again.
    let plan = generate_plans(&spec, &PlanInputs::new("cfg-2", &tasks))
        .unwrap()
        .remove(0);
    assert_eq!(plan.status(), Status::Pending);
}

#[test]
fn restart_recovery_goal_rules() {
    let spec = ServiceSpec {
        name: "svc".into(),
        pods: vec![pod(
            "job",
            3,
            vec![
                task("init", GoalState::Once, false),
                task("run", GoalState::Finish, false),
            ],
        )],
        ..ServiceSpec::default()
    };
    let tasks = observed(&[
        // ONCE finished with an old config, FINISH finished with the target.
        ("job-0-init", TaskState::Finished, None, "old"),
        ("job-0-run", TaskState::Finished, None, "cfg-1"),
        // FINISH finished with an old config: rerun.
        ("job-1-init", TaskState::Finished, None, "cfg-1"),
        ("job-1-run", TaskState::Finished, None, "old"),
        // One task never launched.
        ("job-2-init", TaskState::Finished, None, "cfg-1"),
    ]);
    let plan = generate_plans(&spec, &PlanInputs::new("cfg-1", &tasks))
        .unwrap()
        .remove(0);
    assert_eq!(
        statuses(&plan),
        [Status::Complete, Status::Pending, Status::Pending]
    );
}

// === coordination across plans ===

fn recovery_plan(pod_type: &str, index: u32) -> Plan {
    let instance = PodInstance::new(pod_type, index);
    let goal = TaskGoal {
        task: "server".into(),
        instance_name: instance.task_name("server"),
        goal: GoalState::Running,
        readiness_check: false,
    };
    let name = format!("{instance}:[server]");
    let step = Step::new(&name, Some(instance), vec![goal])
        .with_kind(StepKind::Recovery { permanent: false });
    Plan::new(
        "recovery",
        Strategy::Parallel,
        vec![Phase::new(name, Strategy::Serial, vec![step])],
    )
}

#[test]
fn one_plan_per_pod_instance() {
    let mut deploy_plan = deploy(&hello_world());
    let recovery = recovery_plan("hello", 0);
    // Both want hello-0: deploy has priority.
    let picked = coordinate(&[&deploy_plan, &recovery]);
    assert_eq!(picked.len(), 1);
    assert_eq!(picked[0].plan, "deploy");
    // Once deploy works on hello-0, recovery still may not.
    launch(&mut deploy_plan, "hello-0:[server]");
    assert!(coordinate(&[&deploy_plan, &recovery]).is_empty());
    // Recovery's own dirty pod does not block itself.
    let mut recovery = recovery_plan("world", 1);
    let at = recovery.steps().next().map(|(r, _)| r).unwrap();
    recovery.mark_prepared(&at).unwrap();
    let picked = coordinate(&[&deploy_plan, &recovery]);
    assert_eq!(picked, [at]);
    assert_eq!(
        recovery
            .steps()
            .next()
            .map(|(_, s)| s.message())
            .unwrap_or_default(),
        format!(
            "RecoveryStep: 'world-1:[server] [{}]' has status: 'PREPARED'.",
            recovery.phases()[0].steps()[0].id()
        )
    );
    // Interrupted (WAITING) plans are skipped.
    let sidecar = recovery_plan("hello", 0).interrupted();
    assert_eq!(sidecar.status(), Status::Waiting);
    assert!(coordinate(&[&sidecar]).is_empty());
}

// === operations ===

#[test]
fn operations_and_lookup_errors() {
    let mut plans = generate(&hello_world());
    assert!(matches!(
        find_plan(&plans, "nope"),
        Err(PlanError::UnknownPlan(ref n)) if n == "nope"
    ));
    let err = find_plan_mut(&mut plans, "nope").unwrap_err();
    assert_eq!(err.http_status(), 404);
    assert_eq!(err.to_string(), "Plan nope not found");
    let plan = find_plan_mut(&mut plans, "deploy").unwrap();

    let err = plan.interrupt(Some("nope")).unwrap_err();
    assert!(matches!(err, PlanError::UnknownPhase { .. }));
    assert_eq!(err.http_status(), 404);
    let err = plan
        .force_complete(Some("hello"), Some("nope"))
        .unwrap_err();
    assert!(matches!(err, PlanError::UnknownStep { .. }));
    assert_eq!(err.http_status(), 404);
    let err = plan.restart(None, Some("hello-0:[server]")).unwrap_err();
    assert_eq!(err.http_status(), 400);
    let err = plan
        .start(&BTreeMap::from([("1BAD".to_string(), "x".to_string())]))
        .unwrap_err();
    assert_eq!(err, PlanError::InvalidParameter("1BAD".into()));
    assert_eq!(err.http_status(), 400);

    // Phases and steps by id as well as by name.
    let phase_id = plan.phases()[1].id().to_string();
    let step_id = plan.phases()[1].steps()[0].id().to_string();
    let r = plan
        .force_complete(Some(&phase_id), Some(&step_id))
        .unwrap();
    assert_eq!(r.http_status(), 200);
    assert_eq!(r.changes.len(), 1);
    assert_eq!(r.changes[0].step, "world-0:[server]");
    assert_eq!(
        r.message,
        format!("Received cmd: forceComplete for Plan: deploy, Phase: {phase_id}, Step: {step_id}")
    );
    let again = plan
        .force_complete(Some("world"), Some("world-0:[server]"))
        .unwrap();
    assert_eq!(again.http_status(), 208);

    // Restart a step: back to PENDING; already pending: 208.
    let r = plan
        .restart(Some("world"), Some("world-0:[server]"))
        .unwrap();
    assert_eq!(r.changes[0].to, Status::Pending);
    assert_eq!(
        plan.restart(Some("world"), Some("world-0:[server]"))
            .unwrap()
            .outcome,
        Outcome::AlreadyReported
    );

    // Force-complete the whole plan, then restart it.
    let r = plan.force_complete(None, None).unwrap();
    assert_eq!(r.changes.len(), 3);
    assert!(plan.is_complete());
    assert_eq!(
        plan.interrupt(None).unwrap().outcome,
        Outcome::AlreadyReported,
        "complete plans are not interrupted"
    );
    assert_eq!(
        plan.proceed(None).unwrap().outcome,
        Outcome::AlreadyReported
    );
    let r = plan.restart(None, None).unwrap();
    assert_eq!(r.changes.len(), 3);
    assert_eq!(plan.status(), Status::Pending);
    assert_eq!(plan.restart(None, None).unwrap().http_status(), 208);
}

#[test]
fn plan_interrupt_and_continue() {
    let mut plan = deploy(&hello_world());
    let r = plan.interrupt(None).unwrap();
    assert_eq!(r.message, "Received cmd: interrupt");
    assert_eq!(plan.status(), Status::Waiting);
    assert_eq!(plan_http_status(&plan), 202);
    assert!(candidate_names(&plan).is_empty());
    assert_eq!(plan.interrupt(None).unwrap().http_status(), 208);
    let r = plan.proceed(None).unwrap();
    assert_eq!(r.message, "Received cmd: continue");
    assert_eq!(r.http_status(), 200);
    assert_eq!(
        plan.proceed(None).unwrap().http_status(),
        208,
        "PENDING is running"
    );
    assert_eq!(candidate_names(&plan), ["hello-0:[server]"]);
}

#[test]
fn start_and_stop_a_custom_plan() {
    let mut spec = hello_world();
    spec.plans = vec![PlanSpec {
        name: "sidecar".into(),
        strategy: None,
        phases: vec![PhaseSpec {
            name: "sidecar-deploy".into(),
            strategy: Some(PhaseStrategy::Parallel),
            pod: "hello".into(),
            steps: None,
        }],
    }];
    let mut plans = generate(&spec);
    assert_eq!(plan_names(&plans), ["deploy", "sidecar"]);
    let plan = find_plan_mut(&mut plans, "sidecar").unwrap();
    assert_eq!(plan.status(), Status::Waiting);
    assert!(plan.candidates(&none()).is_empty());

    let params = BTreeMap::from([("PLAN_PARAMETER".to_string(), "value".to_string())]);
    let r = plan.start(&params).unwrap();
    assert_eq!(
        r.message,
        "Received cmd: start sidecar with parameters: {PLAN_PARAMETER=value}"
    );
    assert_eq!(plan.parameters(), params);
    assert_eq!(candidate_names(plan), ["hello-0:[server]"]);
    launch(plan, "hello-0:[server]");
    running(plan, "hello-0-server");
    assert!(plan.is_complete());

    // Starting a complete plan runs it again, with the new parameters.
    let params2 = BTreeMap::from([("PLAN_PARAMETER".to_string(), "other".to_string())]);
    let r = plan.start(&params2).unwrap();
    assert_eq!(r.changes.len(), 1);
    assert_eq!(plan.status(), Status::Pending);
    let at = step_ref(plan, "hello-0:[server]");
    assert_eq!(
        plan.step(&at).map(|s| s.parameters().clone()),
        Some(params2)
    );

    launch(plan, "hello-0:[server]");
    let r = plan.stop();
    assert_eq!(r.message, "Received cmd: stop");
    assert_eq!(r.changes.len(), 1);
    assert_eq!(plan.status(), Status::Waiting);
    assert!(plan.is_interrupted());
    assert_eq!(statuses(plan), [Status::Pending]);
}

#[test]
fn restart_of_a_phase_clears_its_interrupt() {
    let mut plan = deploy(&hello_world());
    plan.interrupt(Some("world")).unwrap();
    plan.force_complete(Some("world"), None).unwrap();
    plan.restart(Some("world"), None).unwrap();
    assert!(!plan.phases()[1].is_interrupted());
    assert_eq!(plan.phases()[1].status(), Status::Pending);
}

// === view ===

#[test]
fn json_view_of_hello_world_deploy_plan() {
    let spec = hello_world();
    let tasks = no_tasks();
    let mut inputs = PlanInputs::new("cfg-1", &tasks);
    inputs.id_seed = "hello-world";
    let mut plan = generate_plans(&spec, &inputs).unwrap().remove(0);
    insta::assert_json_snapshot!("hello_world_deploy_pending", PlanInfo::of(&plan));
    launch(&mut plan, "hello-0:[server]");
    running(&mut plan, "hello-0-server");
    launch(&mut plan, "world-0:[server]");
    running(&mut plan, "world-0-server");
    assert_eq!(plan_http_status(&plan), 202);
    insta::assert_json_snapshot!("hello_world_deploy_in_progress", PlanInfo::of(&plan));

    let json = serde_json::to_value(PlanInfo::of(&plan)).unwrap();
    let keys: Vec<&str> = json
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    assert_eq!(keys.len(), 4);
    for k in ["phases", "errors", "status", "strategy"] {
        assert!(keys.contains(&k), "{k}");
    }
    assert_eq!(json["phases"][1]["steps"][0]["status"], "STARTED");
    assert_eq!(json["phases"][1]["status"], "STARTED");
    assert_eq!(json["status"], "IN_PROGRESS");
    let back: PlanInfo = serde_json::from_value(json).unwrap();
    assert_eq!(back, PlanInfo::of(&plan));
}

#[test]
fn http_status_codes() {
    use view::http_status_for;
    assert_eq!(http_status_for(Status::Complete), 200);
    assert_eq!(http_status_for(Status::Error), 417);
    for s in [
        Status::Pending,
        Status::InProgress,
        Status::Waiting,
        Status::Starting,
        Status::Started,
        Status::Prepared,
        Status::Delayed,
    ] {
        assert_eq!(http_status_for(s), 202, "{s}");
    }
    assert_eq!(plan_names(&generate(&hello_world())), ["deploy"]);
}
