//! Scale and recovery on the testkit master over loopback HTTP, state in a
//! real ZooKeeper: scale-out adds instances and touches nothing else;
//! scale-in of an `allow-decommission` pod runs the decommission plan
//! (highest index first) and leaves no task, reservation, volume or stored
//! state of the retired instances; an agent marked gone has its pods
//! replaced elsewhere; a crash-looping task backs off with growing delays.

mod service;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use plinth::plan::Status;
use plinth::recovery::RecoveryPolicy;
use plinth::recovery::backoff::BackoffPolicy;
use plinth::state::testing::TestZooKeeper;
use plinth::state::{AnyPersister, StateStore};
use plinth_testkit::{Fault, TestMaster};
use service::{eventually, options, plan, reserved, running_tasks, start};

const SPEC: &str = r#"
name: {{NAME}}
pods:
  hello:
    count: 1
    tasks:
      server:
        goal: RUNNING
        cmd: "sleep 1000"
        cpus: 0.25
        memory: 64
  world:
    count: {{WORLD_COUNT}}
    allow-decommission: true
    tasks:
      server:
        goal: RUNNING
        cmd: "sleep 1000"
        cpus: 0.25
        memory: 64
        volume:
          path: world-data
          type: ROOT
          size: 32
"#;

fn spec(name: &str, world_count: u32) -> plinth::spec::ServiceSpec {
    let env: BTreeMap<String, String> = [
        ("NAME".to_owned(), name.to_owned()),
        ("WORLD_COUNT".to_owned(), world_count.to_string()),
    ]
    .into();
    plinth::spec::load_str(SPEC, &env, Some("scale.yml"))
        .expect("the test spec loads")
        .spec
}

async fn master(agents: usize) -> TestMaster {
    service::master_with(agents, |config| {
        config.task_start_delay = Duration::from_millis(20);
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_out_adds_instances_and_scale_in_decommissions_highest_index_first() {
    let Some(state) = TestZooKeeper::state_backend("scale") else {
        return;
    };
    let master = master(3).await;
    let first = start(options(spec("scale-test", 1), &master, &state, 1)).await;
    first.plan_complete("deploy", 60).await;
    let one = running_tasks(&master);
    assert_eq!(one.len(), 2);
    let reserved_at_one = reserved(&master);
    assert_eq!(reserved_at_one.1.len(), 1);
    first.stop().await;

    // Scale out: world-1 and world-2 join; the others keep their task ids.
    let second = start(options(spec("scale-test", 3), &master, &state, 2)).await;
    second.plan_complete("deploy", 60).await;
    let three = running_tasks(&master);
    assert_eq!(three.len(), 4, "{three:?}");
    for kept in ["hello-0-server", "world-0-server"] {
        assert_eq!(three[kept], one[kept], "{kept} untouched by scale-out");
    }
    let (resources_at_three, volumes_at_three) = reserved(&master);
    assert_eq!(volumes_at_three.len(), 3);
    assert!(resources_at_three > reserved_at_one.0);
    second.stop().await;

    // Scale in to 1: world-2 then world-1 are killed, their volumes
    // destroyed, their reservations released, their state erased.
    let third = start(options(spec("scale-test", 1), &master, &state, 3)).await;
    let mut snapshot = third.scheduler.snapshot();
    let order = tokio::time::timeout(Duration::from_secs(60), async {
        let mut completed_phases: Vec<String> = Vec::new();
        loop {
            let s = snapshot.borrow_and_update().clone();
            let plan = plan(&s, "decommission").expect("a decommission plan");
            for phase in plan.phases() {
                if phase.status() == Status::Complete
                    && !completed_phases.iter().any(|p| p == phase.name())
                {
                    completed_phases.push(phase.name().to_owned());
                }
            }
            if plan.is_complete() {
                return completed_phases;
            }
            snapshot
                .changed()
                .await
                .expect("scheduler keeps publishing");
        }
    })
    .await
    .expect("decommission completes within 60 s");
    assert_eq!(order, ["world-2", "world-1"]);

    let left = running_tasks(&master);
    assert_eq!(
        left.keys().collect::<Vec<_>>(),
        ["hello-0-server", "world-0-server"]
    );
    assert_eq!(
        left["world-0-server"], one["world-0-server"],
        "world-0 untouched"
    );
    // Exactly what one world instance held before scale-out is left.
    eventually("released on the master", 10, || {
        (reserved(&master) == reserved_at_one).then_some(())
    })
    .await;
    third.stop().await;

    // Nothing of world-1 and world-2 is left in the state store.
    let persister = AnyPersister::open(&state).await.expect("state opens");
    let store = StateStore::open(persister).await.expect("store opens");
    let mut names = store.fetch_task_names().await.expect("task names");
    names.sort();
    assert_eq!(names, ["hello-0-server", "world-0-server"]);
    master.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_marked_gone_has_its_pods_replaced_elsewhere() {
    let Some(state) = TestZooKeeper::state_backend("agent-gone") else {
        return;
    };
    let master = master(3).await;
    let run = start(options(spec("gone-test", 1), &master, &state, 4)).await;
    run.plan_complete("deploy", 60).await;
    let before = running_tasks(&master);
    let (world_id, world_agent) = before["world-0-server"].clone();

    master
        .inject(Fault::AgentGone {
            agent_id: world_agent.clone(),
        })
        .expect("agent marked gone");
    let (new_id, new_agent) = eventually("world-0 replaced", 30, || {
        running_tasks(&master)
            .get("world-0-server")
            .filter(|(id, _)| *id != world_id)
            .cloned()
    })
    .await;
    assert_ne!(new_agent, world_agent, "placed on another agent");
    assert_ne!(new_id, world_id);
    run.until("the recovery plan completes", 30, |s| {
        plan(s, "recovery").is_some_and(|p| {
            p.is_complete() && p.phases().iter().any(|ph| ph.name().starts_with("world-0"))
        })
    })
    .await;
    let s = run.scheduler.snapshot().borrow().clone();
    let step = &plan(&s, "recovery").unwrap().phases()[0].steps()[0];
    assert!(
        step.message().starts_with("RecoveryStep"),
        "{}",
        step.message()
    );
    if before["hello-0-server"].1 != world_agent {
        assert_eq!(
            running_tasks(&master)["hello-0-server"],
            before["hello-0-server"],
            "hello, on another agent, is untouched"
        );
    }
    run.stop().await;
    master.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_looping_task_backs_off_with_growing_delays() {
    let Some(state) = TestZooKeeper::state_backend("backoff") else {
        return;
    };
    let master = master(1).await;
    let mut opts = options(spec("backoff-test", 1), &master, &state, 5);
    opts.recovery = RecoveryPolicy {
        backoff: BackoffPolicy {
            free_failures: 1,
            initial: Duration::from_secs(1),
            factor: 2.0,
            max: Duration::from_secs(60),
            healthy_after: Duration::from_secs(60),
        },
        replace_unreachable_after: None,
    };
    let run = start(opts).await;
    run.plan_complete("deploy", 60).await;

    // Fail hello-0 as soon as it runs, four times; time each relaunch.
    let mut gaps = Vec::new();
    for _ in 0..4 {
        let (id, _) = running_tasks(&master)["hello-0-server"].clone();
        master
            .inject(Fault::FailTask {
                task_id: id.clone(),
                framework_id: None,
                message: Some("crash".into()),
            })
            .expect("task failed");
        let failed = Instant::now();
        eventually("hello-0 relaunched", 30, || {
            running_tasks(&master)
                .get("hello-0-server")
                .filter(|(new, _)| *new != id)
                .map(|_| ())
        })
        .await;
        gaps.push(failed.elapsed());
    }
    // Free, then 1 s, 2 s, 4 s (the scheduler ticks once a second).
    assert!(gaps[0] < Duration::from_millis(900), "{gaps:?}");
    for (gap, least) in gaps[1..].iter().zip([1.0, 2.0, 4.0]) {
        assert!(gap.as_secs_f64() >= least, "{gaps:?}");
    }
    assert!(gaps[1] < gaps[2] && gaps[2] < gaps[3], "growing: {gaps:?}");
    run.stop().await;
    master.shutdown().await;
}
