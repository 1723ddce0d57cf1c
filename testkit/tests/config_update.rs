//! Config updates on the testkit master with state in a real ZooKeeper: a
//! changed spec rolls the changed pods one at a time in plan order, in place
//! (same agents, same volumes), and leaves unchanged pods running with the
//! same task ids; an invalid change is refused with every reason on the
//! deploy plan, and nothing restarts.

mod service;

use std::collections::BTreeMap;
use std::time::Duration;

use plinth::api::ServiceSnapshot;
use plinth::plan::Status;
use plinth::state::BackendConfig;
use plinth::state::testing::TestZooKeeper;
use plinth_testkit::TestMaster;
use service::{Running, plan, running_tasks, volumes};

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
        memory: 128
        volume:
          path: hello-data
          type: ROOT
          size: 32
  world:
    count: 2
    placement: '[["hostname", "UNIQUE"]]'
    tasks:
      server:
        goal: RUNNING
        cmd: "sleep 1000"
        cpus: {{WORLD_CPUS}}
        memory: 128
        env:
          LEVEL: {{LEVEL}}
        volume:
          path: world-data
          type: ROOT
          size: 32
"#;

fn spec(vars: &[(&str, &str)]) -> plinth::spec::ServiceSpec {
    let mut env: BTreeMap<String, String> = [
        ("NAME", "update-test"),
        ("HELLO_COUNT", "1"),
        ("WORLD_CPUS", "0.25"),
        ("LEVEL", "info"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    for (k, v) in vars {
        env.insert((*k).to_owned(), (*v).to_owned());
    }
    plinth::spec::load_str(SPEC, &env, Some("test-svc.yml"))
        .expect("the test spec loads")
        .spec
}

async fn start(
    spec: plinth::spec::ServiceSpec,
    master: &TestMaster,
    state: &BackendConfig,
) -> Running {
    service::start(service::options(spec, master, state, 5)).await
}

fn deploy_plan(s: &ServiceSnapshot) -> Option<&plinth::plan::Plan> {
    plan(s, "deploy")
}

fn step_status(s: &ServiceSnapshot, step: &str) -> Option<Status> {
    deploy_plan(s)?
        .phases()
        .iter()
        .flat_map(|p| p.steps())
        .find(|st| st.name() == step)
        .map(|st| st.status())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_pod_rolls_in_plan_order_and_unchanged_pods_keep_running() {
    let Some(state) = TestZooKeeper::state_backend("config-update") else {
        return;
    };
    let master = service::master(3).await;
    let first = start(spec(&[]), &master, &state).await;
    first.plan_complete("deploy", 60).await;
    let before = running_tasks(&master);
    let volumes_before = volumes(&master);
    assert_eq!(before.len(), 3);
    first.stop().await;

    // world gets more CPU and another env value; hello is untouched.
    let second = start(
        spec(&[("WORLD_CPUS", "0.5"), ("LEVEL", "debug")]),
        &master,
        &state,
    )
    .await;
    let mut snapshot = second.scheduler.snapshot();
    let rolled = tokio::time::timeout(Duration::from_secs(60), async {
        let mut seen_world1_before_world0_complete = false;
        loop {
            let s = snapshot.borrow_and_update().clone();
            let w0 = step_status(&s, "world-0:[server]");
            let w1 = step_status(&s, "world-1:[server]");
            if w1.is_some_and(|st| st != Status::Pending) && w0 != Some(Status::Complete) {
                seen_world1_before_world0_complete = true;
            }
            assert_eq!(
                step_status(&s, "hello-0:[server]"),
                Some(Status::Complete),
                "hello is never restarted"
            );
            if deploy_plan(&s).is_some_and(plinth::plan::Plan::is_complete) {
                return seen_world1_before_world0_complete;
            }
            if snapshot.changed().await.is_err() {
                panic!("scheduler stopped publishing");
            }
        }
    })
    .await
    .expect("the update completes within 60 s");
    assert!(
        !rolled,
        "world-1 started before world-0 completed: the serial phase must roll one pod at a time"
    );

    let after = running_tasks(&master);
    assert_eq!(
        after["hello-0-server"], before["hello-0-server"],
        "hello keeps its task id"
    );
    for w in ["world-0-server", "world-1-server"] {
        assert_ne!(after[w].0, before[w].0, "{w} was relaunched");
        assert_eq!(
            after[w].1, before[w].1,
            "{w} was relaunched in place (same agent)"
        );
    }
    assert_eq!(
        volumes(&master),
        volumes_before,
        "same volumes: nothing created or destroyed"
    );
    second.stop().await;

    // An invalid change: hello shrinks without allow-decommission, world
    // changes again. Refused: the deploy plan shows ERROR with the reason,
    // and nothing restarts (not even world).
    let launched = master.stats().tasks_launched;
    let third = start(
        spec(&[("HELLO_COUNT", "0"), ("WORLD_CPUS", "0.75")]),
        &master,
        &state,
    )
    .await;
    let s = third.scheduler.snapshot().borrow().clone();
    let plan = deploy_plan(&s).expect("a deploy plan");
    assert_eq!(plan.status(), Status::Error);
    let errors = plan.errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("PodSpec named 'hello' has 0 tasks, expected >=1 tasks"),
        "{errors:?}"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        running_tasks(&master),
        after,
        "a refused update restarts nothing"
    );
    assert_eq!(master.stats().tasks_launched, launched);
    third.stop().await;

    // The previous spec again: the kept target matches, nothing to do.
    let fourth = start(
        spec(&[("WORLD_CPUS", "0.5"), ("LEVEL", "debug")]),
        &master,
        &state,
    )
    .await;
    fourth.plan_complete("deploy", 60).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(running_tasks(&master), after);
    assert_eq!(master.stats().tasks_launched, launched);
    fourth.stop().await;
    master.shutdown().await;
}
