//! Day-2 through the API and the `plinth` CLI, on the testkit master with
//! state in a real ZooKeeper: `plinth config update` (PUT
//! /v1/configurations/target) rolls the changed pods in place and leaves the
//! others running, a refused update lists every reason and restarts
//! nothing; `plinth uninstall` (POST /v1/uninstall) leaves no task,
//! reservation, volume or state behind, and the scheduler exits.

mod service;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use plinth::plan::{Plan, Status};
use plinth::scheduler::Stopped;
use plinth::state::testing::TestZooKeeper;
use plinth::state::{AnyPersister, BackendConfig, Persister as _};
use plinth_testkit::TestMaster;
use service::{Running, cli, eventually, running_tasks as running};

const SPEC: &str = r#"
name: {{NAME}}
pods:
  hello:
    count: {{HELLO_COUNT}}
    tasks:
      server:
        goal: RUNNING
        cmd: "sleep 1000"
        cpus: 0.25
        memory: 64
        volume:
          path: hello-data
          type: ROOT
          size: 32
  world:
    count: 2
    tasks:
      server:
        goal: RUNNING
        cmd: "sleep 1000"
        cpus: {{WORLD_CPUS}}
        memory: 64
        volume:
          path: world-data
          type: ROOT
          size: 32
"#;

fn env(name: &str, hello_count: u32, world_cpus: &str) -> BTreeMap<String, String> {
    [
        ("NAME", name.to_owned()),
        ("HELLO_COUNT", hello_count.to_string()),
        ("WORLD_CPUS", world_cpus.to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// Writes the spec and an env file for `vars`; returns their paths.
fn files(dir: &Path, tag: &str, vars: &BTreeMap<String, String>) -> (PathBuf, PathBuf) {
    let spec = dir.join("svc.yml");
    std::fs::write(&spec, SPEC).unwrap();
    let env_file = dir.join(format!("{tag}.env"));
    let lines: String = vars.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    std::fs::write(&env_file, lines).unwrap();
    (spec, env_file)
}

async fn start(
    master: &TestMaster,
    state: &BackendConfig,
    vars: &BTreeMap<String, String>,
) -> Running {
    let spec = plinth::spec::load_str(SPEC, vars, Some("svc.yml"))
        .expect("spec loads")
        .spec;
    service::start(service::options(spec, master, state, 21)).await
}

fn deploy_plan(run: &Running) -> Plan {
    let s = run.scheduler.snapshot().borrow().clone();
    service::plan(&s, "deploy").expect("a deploy plan").clone()
}

/// Reserved resources on the master.
fn reserved_count(master: &TestMaster) -> usize {
    service::reserved(master).0
}

async fn master() -> TestMaster {
    service::master_with(3, |c| c.task_start_delay = Duration::from_millis(20)).await
}

/// `plinth config update --spec SPEC --env-file ENV` against `run`.
async fn update(run: &Running, spec: &Path, env_file: &Path) -> service::Output {
    let (spec, env_file) = (spec.to_str().unwrap(), env_file.to_str().unwrap());
    let args = ["config", "update", "--spec", spec, "--env-file", env_file];
    cli(&run.url(), None, &args).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_update_through_the_api_rolls_changed_pods_and_a_refused_one_changes_nothing() {
    let Some(state) = TestZooKeeper::state_backend("api-update") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let master = master().await;
    let vars = env("api-update", 1, "0.25");
    let run = start(&master, &state, &vars).await;
    run.plan_complete("deploy", 60).await;
    let before = running(&master);
    assert_eq!(before.len(), 3);

    // world gets more CPU: world-0 and world-1 roll in place, hello stays.
    let (spec, env_file) = files(dir.path(), "more-cpu", &env("api-update", 1, "0.5"));
    let out = update(&run, &spec, &env_file).await;
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("target configuration is"),
        "{}",
        out.stdout
    );
    let after = eventually("the update rolls", 60, || {
        let now = running(&master);
        let rolled = ["world-0-server", "world-1-server"]
            .iter()
            .all(|w| now.get(*w).is_some_and(|(id, _)| *id != before[*w].0));
        (rolled && deploy_plan(&run).is_complete()).then_some(now)
    })
    .await;
    assert_eq!(
        after["hello-0-server"], before["hello-0-server"],
        "hello untouched"
    );
    for w in ["world-0-server", "world-1-server"] {
        assert_eq!(after[w].1, before[w].1, "{w} relaunched in place");
    }

    // hello shrinks without allow-decommission: refused with the reason,
    // the deploy plan shows it, nothing restarts.
    let launched = master.stats().tasks_launched;
    let (spec, env_file) = files(dir.path(), "shrink", &env("api-update", 0, "0.75"));
    let out = update(&run, &spec, &env_file).await;
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("409"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("PodSpec named 'hello' has 0 tasks, expected >=1 tasks"),
        "{}",
        out.stderr
    );
    let plan = deploy_plan(&run);
    assert_eq!(plan.status(), Status::Error);
    assert_eq!(plan.errors().len(), 1, "{:?}", plan.errors());
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(running(&master), after, "a refused update restarts nothing");
    assert_eq!(master.stats().tasks_launched, launched);

    run.stop().await;
    master.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uninstall_through_the_api_leaves_nothing_behind_and_the_scheduler_exits() {
    let Some(state) = TestZooKeeper::state_backend("api-uninstall") else {
        return;
    };
    let master = master().await;
    let run = start(&master, &state, &env("api-uninstall", 1, "0.25")).await;
    run.plan_complete("deploy", 60).await;
    assert_eq!(running(&master).len(), 3);
    assert!(reserved_count(&master) > 0);

    // The name must match.
    let out = cli(&run.url(), None, &["uninstall", "other-service"]).await;
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("not 'other-service'"), "{}", out.stderr);
    assert_eq!(running(&master).len(), 3, "nothing done");

    let out = cli(&run.url(), None, &["uninstall", "api-uninstall"]).await;
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("uninstalling service 'api-uninstall'"),
        "{}",
        out.stdout
    );
    let stopped = tokio::time::timeout(Duration::from_secs(90), run.scheduler.stopped())
        .await
        .expect("the uninstall finishes within 90 s")
        .expect("the uninstall succeeds");
    let Stopped::Uninstalled(report) = stopped else {
        panic!("the scheduler stopped without uninstalling: {stopped:?}");
    };
    assert!(report.torn_down, "{report:?}");
    assert!(report.volumes_destroyed >= 3, "{report:?}");
    assert!(running(&master).is_empty());
    assert_eq!(reserved_count(&master), 0, "no reservation left");
    let persister = AnyPersister::open(&state).await.unwrap();
    assert!(
        persister.get_children("").await.unwrap().is_empty(),
        "the state root is gone"
    );
    master.shutdown().await;
}
