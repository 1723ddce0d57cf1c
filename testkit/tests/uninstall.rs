//! Uninstall on the testkit master with state in a real ZooKeeper: a
//! deployed service (tasks, reservations, persistent volumes) is removed
//! completely — no tasks, no reservations, no volumes, no framework, an empty
//! state root — also when the uninstaller dies half-way and runs again.

mod service;

use std::collections::BTreeMap;
use std::time::Duration;

use plinth::state::testing::TestZooKeeper;
use plinth::state::{AnyPersister, BackendConfig, Persister as _};
use plinth::uninstall::{
    CrashPoint, Timings, UninstallError, UninstallOptions, is_uninstalling, uninstall,
};
use plinth_testkit::TestMaster;
use serde_json::Value;

const SPEC: &str = r#"
name: {{NAME}}
pods:
  hello:
    count: 1
    tasks:
      server:
        goal: RUNNING
        cmd: "sleep 1000"
        cpus: 0.5
        memory: 256
        ports:
          api:
            port: 0
            env-key: PORT_API
        volume:
          path: greeting
          type: ROOT
          size: 64
  world:
    count: 2
    placement: '[["hostname", "UNIQUE"]]'
    tasks:
      server:
        goal: RUNNING
        cmd: "sleep 1000"
        cpus: 0.25
        memory: 128
        volume:
          path: world-data
          type: ROOT
          size: 32
"#;

fn spec(name: &str) -> plinth::spec::ServiceSpec {
    let env = BTreeMap::from([("NAME".to_owned(), name.to_owned())]);
    plinth::spec::load_str(SPEC, &env, Some("test-svc.yml"))
        .expect("the test spec loads")
        .spec
}

async fn master() -> TestMaster {
    service::master(3).await
}

/// Deploys `name` to COMPLETE, then stops its scheduler.
async fn deploy(name: &str, master: &TestMaster, state: &BackendConfig) {
    let running = service::start(service::options(spec(name), master, state, 11)).await;
    running.plan_complete("deploy", 30).await;
    running.stop().await;
}

fn options(name: &str, master: &TestMaster, state: &BackendConfig) -> UninstallOptions {
    let mut options = UninstallOptions::new(spec(name), master.url(), state.clone());
    options.timings = Timings {
        quiet: Duration::from_secs(2),
        ..Timings::default()
    };
    options.deadline = Some(Duration::from_secs(60));
    options
}

/// What the master holds for `role`: running tasks (all frameworks), reserved
/// resources, persistent volumes, active frameworks named `name`.
#[derive(Debug, PartialEq, Eq)]
struct Held {
    running: usize,
    reserved: usize,
    volumes: usize,
    frameworks: usize,
}

/// Nothing held: the state after a complete uninstall.
const NOTHING: Held = Held {
    running: 0,
    reserved: 0,
    volumes: 0,
    frameworks: 0,
};

fn held(master: &TestMaster, name: &str, role: &str) -> Held {
    let state = master.state();
    let mut held = NOTHING;
    for fw in state["frameworks"].as_array().into_iter().flatten() {
        if fw["name"] == name {
            held.frameworks += 1;
        }
        held.running += fw["tasks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|t| t["state"] == "TASK_RUNNING")
            .count();
    }
    for agent in state["slaves"].as_array().into_iter().flatten() {
        let Some(roles) = agent["reserved_resources_full"].as_object() else {
            continue;
        };
        for (r, list) in roles {
            if r != role && !r.ends_with(&format!("/{role}")) {
                continue;
            }
            let list = list.as_array().map(Vec::as_slice).unwrap_or_default();
            held.reserved += list.len();
            held.volumes += list
                .iter()
                .filter(|r: &&Value| !r["disk"]["persistence"].is_null())
                .count();
        }
    }
    held
}

async fn root_is_empty(state: &BackendConfig) -> bool {
    let persister = AnyPersister::open(state).await.expect("ZooKeeper answers");
    persister
        .get_children("")
        .await
        .expect("list the root")
        .is_empty()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uninstall_leaves_nothing_behind() {
    let Some(state) = TestZooKeeper::state_backend("uninstall") else {
        return;
    };
    let master = master().await;
    let name = "uninstall-test";
    deploy(name, &master, &state).await;
    let role = spec(name).role();
    let before = held(&master, name, &role);
    assert_eq!(before.running, 3);
    assert_eq!(before.volumes, 3, "one volume per pod instance");
    assert!(before.reserved > before.volumes, "{before:?}");

    let report = uninstall(options(name, &master, &state))
        .await
        .expect("uninstall finishes");
    assert!(!report.resumed);
    assert!(report.torn_down);
    assert_eq!(report.volumes_destroyed, 3);
    assert_eq!(held(&master, name, &role), NOTHING);
    assert!(root_is_empty(&state).await, "the state root is gone");
    assert!(!is_uninstalling(&state).await.unwrap());

    // Running it again on the empty state is a no-op that succeeds.
    let again = uninstall(options(name, &master, &state))
        .await
        .expect("a second uninstall succeeds");
    assert_eq!((again.kills, again.resources_released), (0, 0));
    assert!(root_is_empty(&state).await);
    master.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uninstaller_killed_half_way_is_finished_by_the_next_run() {
    let Some(state) = TestZooKeeper::state_backend("uninstall-abort") else {
        return;
    };
    let master = master().await;
    let name = "uninstall-abort";
    deploy(name, &master, &state).await;
    let role = spec(name).role();

    // Run until every task is dead, then kill it (abort the task: nothing
    // is cleaned up, as in a crash).
    let first = tokio::spawn(uninstall(options(name, &master, &state)));
    tokio::time::timeout(Duration::from_secs(30), async {
        while held(&master, name, &role).running > 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("tasks are killed within 30 s");
    first.abort();
    assert!(first.await.unwrap_err().is_cancelled());
    assert!(
        is_uninstalling(&state).await.unwrap(),
        "the state says an uninstall is under way"
    );
    assert!(
        !root_is_empty(&state).await,
        "the state root is still there"
    );

    let report = uninstall(options(name, &master, &state))
        .await
        .expect("the second run finishes");
    assert!(report.resumed);
    assert_eq!(held(&master, name, &role), NOTHING);
    assert!(root_is_empty(&state).await);
    master.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashes_after_the_kills_and_after_teardown_are_resumed() {
    let Some(state) = TestZooKeeper::state_backend("uninstall-crash") else {
        return;
    };
    let master = master().await;
    let name = "uninstall-crash";
    deploy(name, &master, &state).await;
    let role = spec(name).role();

    let mut crashing = options(name, &master, &state);
    crashing.crash_at = Some(CrashPoint::TasksGone);
    let err = uninstall(crashing).await.unwrap_err();
    assert!(
        matches!(err, UninstallError::InjectedCrash(CrashPoint::TasksGone)),
        "{err}"
    );
    assert_eq!(held(&master, name, &role).running, 0);

    // Crash between TEARDOWN and deleting the state: the master no longer
    // knows the stored FrameworkID.
    let mut crashing = options(name, &master, &state);
    crashing.crash_at = Some(CrashPoint::AfterTeardown);
    let err = uninstall(crashing).await.unwrap_err();
    assert!(
        matches!(
            err,
            UninstallError::InjectedCrash(CrashPoint::AfterTeardown)
        ),
        "{err}"
    );
    assert_eq!(held(&master, name, &role), NOTHING);
    assert!(!root_is_empty(&state).await);

    let report = uninstall(options(name, &master, &state))
        .await
        .expect("the last run finishes");
    assert!(report.resumed);
    assert_eq!(
        report.framework_ids.len(),
        2,
        "the removed framework's id and a throwaway one: {report:?}"
    );
    assert_eq!(held(&master, name, &role), NOTHING);
    assert!(root_is_empty(&state).await);
    master.shutdown().await;
}
