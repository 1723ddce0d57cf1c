//! The example service's plans, driven through the public `plinth::plan` API
//! the way the scheduler loop will: candidates → prepared → launched → task
//! statuses, until the deploy plan completes; then a restart rebuilds the plan
//! from task statuses and finds nothing to do.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use plinth::plan::{
    LaunchedTask, Plan, PlanInfo, PlanInputs, Status, StepChange, TaskObservation, TaskState,
    coordinate, generate_plans, plan_http_status,
};

fn example_env() -> BTreeMap<String, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/hello-world/svc.env");
    let text = std::fs::read_to_string(root).expect("svc.env");
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        .collect()
}

fn example_spec() -> plinth::spec::ServiceSpec {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/hello-world/svc.yml");
    match plinth::spec::load_file(&path, &example_env()) {
        Ok(loaded) => loaded.spec,
        Err(e) => panic!("example spec does not load: {e:?}"),
    }
}

/// Runs every candidate of `plan` to its goal; returns the rounds' step names
/// and every change seen, and records the final task statuses in `tasks`.
fn deploy_to_completion(
    plan: &mut Plan,
    tasks: &mut BTreeMap<String, TaskObservation>,
) -> (Vec<Vec<String>>, Vec<StepChange>) {
    let mut rounds = Vec::new();
    let mut changes = Vec::new();
    for round in 0..50 {
        let picked = coordinate(&[&*plan]);
        if picked.is_empty() {
            break;
        }
        let mut launched = Vec::new();
        for at in &picked {
            changes.extend(plan.mark_prepared(at).expect("prepare"));
            let step = plan.step(at).expect("step");
            let these: Vec<LaunchedTask> = step
                .goals()
                .iter()
                .map(|g| {
                    LaunchedTask::new(&g.instance_name, format!("{}__{round}", g.instance_name))
                })
                .collect();
            launched.extend(these.iter().cloned().zip(step.goals().to_vec()));
            changes.extend(plan.mark_launched(at, &these).expect("launch"));
        }
        rounds.push(
            picked
                .iter()
                .filter_map(|r| plan.step(r).map(|s| s.name().to_string()))
                .collect(),
        );
        for (task, goal) in launched {
            let state = match goal.goal {
                plinth::spec::GoalState::Running => TaskState::Running,
                _ => TaskState::Finished,
            };
            let mut obs = TaskObservation::new(&task.task_name, &task.task_id, TaskState::Starting);
            changes.extend(plan.update_task(&obs));
            obs.state = state;
            obs.readiness = goal.readiness_check.then_some(true);
            obs.config_id = Some("target".into());
            changes.extend(plan.update_task(&obs));
            tasks.insert(task.task_name.clone(), obs);
        }
    }
    (rounds, changes)
}

#[test]
fn example_deploys_and_restarts_without_relaunching() {
    let spec = example_spec();
    let no_tasks = BTreeMap::new();
    let mut inputs = PlanInputs::new("target", &no_tasks);
    inputs.id_seed = &spec.name;
    let mut plans = generate_plans(&spec, &inputs).expect("plans");
    assert_eq!(plinth::plan::plan_names(&plans), ["deploy"]);
    let plan = &mut plans[0];
    assert_eq!(plan.status(), Status::Pending);
    assert_eq!(plan_http_status(plan), 202);

    let mut tasks = BTreeMap::new();
    let (rounds, changes) = deploy_to_completion(plan, &mut tasks);
    // store: serial, custom steps [[migrate], [server]] per instance; then web in parallel.
    assert_eq!(
        rounds,
        [
            vec!["store-0:[migrate]"],
            vec!["store-0:[server]"],
            vec!["store-1:[migrate]"],
            vec!["store-1:[server]"],
            vec!["store-2:[migrate]"],
            vec!["store-2:[server]"],
            vec!["web-0:[server]", "web-1:[server]"],
        ]
    );
    assert_eq!(plan.status(), Status::Complete);
    assert_eq!(plan_http_status(plan), 200);
    // Every step went PENDING → PREPARED → STARTING → (STARTED →) COMPLETE.
    let completed: BTreeSet<&str> = changes
        .iter()
        .filter(|c| c.to == Status::Complete)
        .map(|c| c.step.as_str())
        .collect();
    assert_eq!(completed.len(), 8);
    assert!(changes.iter().all(|c| c.from != Status::Complete));

    // Restart: the plan is rebuilt from the stored statuses; nothing to do.
    let rebuilt = generate_plans(&spec, &PlanInputs::new("target", &tasks)).expect("plans");
    assert_eq!(rebuilt[0].status(), Status::Complete);
    assert!(coordinate(&[&rebuilt[0]]).is_empty());

    // A new target config redeploys RUNNING and FINISH tasks, not ONCE tasks.
    let updated = generate_plans(&spec, &PlanInputs::new("next", &tasks)).expect("plans");
    let pending: Vec<String> = updated[0]
        .steps()
        .filter(|(_, s)| s.status() != Status::Complete)
        .map(|(_, s)| s.name().to_string())
        .collect();
    assert_eq!(
        pending,
        [
            "store-0:[server]",
            "store-1:[server]",
            "store-2:[server]",
            "web-0:[server]",
            "web-1:[server]"
        ]
    );

    let json = serde_json::to_value(PlanInfo::of(&updated[0])).expect("json");
    assert_eq!(json["status"], "IN_PROGRESS");
    assert_eq!(json["phases"][1]["strategy"], "parallel");
}
