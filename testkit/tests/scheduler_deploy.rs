//! The scheduler deploying svc.yml services on the testkit master over
//! loopback HTTP, with state in a real ZooKeeper: deploy to COMPLETE,
//! restart recovery, relaunch in place, and one leader per state root.

mod service;

use std::collections::BTreeMap;
use std::time::Duration;

use plinth::scheduler::{Scheduler, SchedulerOptions};
use plinth::state::BackendConfig;
use plinth::state::testing::TestZooKeeper;
use plinth_testkit::{Fault, TestMaster};
use serde_json::Value;
use service::{Running, plan_complete, running_list, volumes_by_agent};
use tokio::sync::oneshot;

const SPEC: &str = r#"
name: {{NAME}}
pods:
  hello:
    count: 1
    tasks:
      server:
        goal: RUNNING
        cmd: "echo hello >> greeting/log && sleep 1000"
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
        ports:
          web:
            port: 31080
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

async fn start(name: &str, master: &TestMaster, state: &BackendConfig) -> Running {
    service::start(service::options(spec(name), master, state, 7)).await
}

async fn master() -> TestMaster {
    service::master(3).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploys_volumes_ports_and_placement_to_complete() {
    let Some(state) = TestZooKeeper::state_backend("deploy") else {
        return;
    };
    let master = master().await;
    let running = start("deploy-test", &master, &state).await;
    running.plan_complete("deploy", 30).await;

    let tasks = running_list(&master);
    let names: Vec<&str> = tasks.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["hello-0-server", "world-0-server", "world-1-server"]
    );
    assert_ne!(
        tasks[1].2, tasks[2].2,
        "hostname UNIQUE puts the world pods on different agents"
    );
    assert!(
        tasks[0].1.starts_with("hello-0-server__"),
        "task id shape: {}",
        tasks[0].1
    );
    let volume_count: usize = volumes_by_agent(&master).values().map(Vec::len).sum();
    assert_eq!(
        volume_count,
        3,
        "one persistent volume per pod: {:?}",
        volumes_by_agent(&master)
    );

    // The plans API serves dcos-commons' shape.
    let url = format!("http://{}/v1/plans/deploy", running.scheduler.api_addr());
    let body: Value = http_get_json(&url).await;
    assert_eq!(body["status"], "COMPLETE");
    assert_eq!(body["phases"][1]["steps"][1]["name"], "world-1:[server]");
    running.stop().await;
    master.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_relaunches_nothing_and_recovers_a_task_that_died_meanwhile() {
    let Some(state) = TestZooKeeper::state_backend("restart") else {
        return;
    };
    let master = master().await;
    let first = start("restart-test", &master, &state).await;
    first.plan_complete("deploy", 30).await;
    let before = running_list(&master);
    let volumes_before = volumes_by_agent(&master);
    first.stop().await;

    // A plain restart launches nothing.
    let launched = master.stats().tasks_launched;
    let second = start("restart-test", &master, &state).await;
    second.plan_complete("deploy", 30).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        running_list(&master),
        before,
        "restart changed the running tasks"
    );
    assert_eq!(
        master.stats().tasks_launched,
        launched,
        "restart launched tasks"
    );
    second.stop().await;

    // world-1 fails while no scheduler runs: the next one relaunches it in
    // place, on the same agent and the same volume.
    let (_, world1_id, world1_agent) = before
        .iter()
        .find(|(n, _, _)| n == "world-1-server")
        .cloned()
        .unwrap();
    master
        .inject(Fault::FailTask {
            task_id: world1_id.clone(),
            framework_id: None,
            message: Some("boom".into()),
        })
        .expect("fault injected");
    let third = start("restart-test", &master, &state).await;
    let mut snapshot = third.scheduler.snapshot();
    let relaunched = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let tasks = running_list(&master);
            if let Some(t) = tasks
                .iter()
                .find(|(n, id, _)| n == "world-1-server" && *id != world1_id)
            {
                return t.clone();
            }
            let _ = tokio::time::timeout(Duration::from_millis(200), snapshot.changed()).await;
        }
    })
    .await
    .expect("world-1 relaunched within 30 s");
    assert_eq!(relaunched.2, world1_agent, "relaunched on the same agent");
    assert_eq!(
        volumes_by_agent(&master),
        volumes_before,
        "same volumes, none created or destroyed"
    );
    let others: Vec<_> = running_list(&master)
        .into_iter()
        .filter(|(n, _, _)| n != "world-1-server")
        .collect();
    let others_before: Vec<_> = before
        .into_iter()
        .filter(|(n, _, _)| n != "world-1-server")
        .collect();
    assert_eq!(others, others_before, "other tasks untouched");
    third.stop().await;
    master.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_scheduler_waits_for_the_first_and_takes_over() {
    let Some(state) = TestZooKeeper::state_backend("leader") else {
        return;
    };
    let master = master().await;
    let first = start("leader-test", &master, &state).await;
    first.plan_complete("deploy", 30).await;

    let contender_state = state.clone();
    let contender_master = master.url().to_owned();
    let (stop_second, second_stopped) = oneshot::channel::<()>();
    let second = tokio::spawn(async move {
        let mut options =
            SchedulerOptions::new(spec("leader-test"), contender_master, contender_state);
        options.seed = 8;
        Scheduler::start(options, async {
            let _ = second_stopped.await;
        })
        .await
    });
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        !second.is_finished(),
        "the second scheduler must wait while the first leads"
    );
    let launched = master.stats().tasks_launched;

    first.stop().await;
    let second = tokio::time::timeout(Duration::from_secs(20), second)
        .await
        .expect("the second scheduler takes over within 20 s")
        .expect("no panic")
        .expect("starts");
    plan_complete(&mut second.snapshot(), "deploy", 30).await;
    assert_eq!(
        master.stats().tasks_launched,
        launched,
        "the new leader relaunched nothing"
    );
    let _ = stop_second.send(());
    second.wait().await.expect("stops cleanly");
    master.shutdown().await;
}

async fn http_get_json(url: &str) -> Value {
    use http_body_util::BodyExt as _;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Empty<bytes::Bytes>>();
    let response = client.get(url.parse().unwrap()).await.expect("GET");
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    serde_json::from_slice(&body).expect("JSON body")
}
