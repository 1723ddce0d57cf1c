//! The master in process mode: launches become real local processes and
//! their updates come back as agent updates with a uuid, held until acked.
//! Exit 0 → TASK_FINISHED, non-zero → TASK_FAILED, KILL → TASK_KILLED, and a
//! persistent volume's contents survive a relaunch.

mod common;

use common::{client, framework_info, master_with, next_event, subscribed};
use plinth::mesos::{Caller, Subscription, calls};
use plinth_proto::codec::Encoding;
use plinth_proto::v1::offer::{Operation, operation};
use plinth_proto::v1::resource::{DiskInfo, ReservationInfo, disk_info};
use plinth_proto::v1::{
    CommandInfo, ExecutorId, ExecutorInfo, FrameworkId, Offer, Resource, TaskGroupInfo, TaskId,
    TaskInfo, TaskState, TaskStatus, Volume, executor_info, value, volume,
};
use plinth_testkit::AgentMode;

fn scalar(name: &str, v: f64) -> Resource {
    Resource {
        name: name.into(),
        r#type: value::Type::Scalar as i32,
        scalar: Some(value::Scalar { value: v }),
        ..Default::default()
    }
}

fn reserved(mut r: Resource) -> Resource {
    r.role = Some("test".into());
    r.reservation = Some(Box::new(ReservationInfo {
        principal: Some("test-principal".into()),
        ..Default::default()
    }));
    r
}

fn volume_res() -> Resource {
    let mut r = reserved(scalar("disk", 10.0));
    r.disk = Some(Box::new(DiskInfo {
        persistence: Some(disk_info::Persistence {
            id: "store".into(),
            principal: Some("test-principal".into()),
        }),
        volume: Some(Volume {
            container_path: "data".into(),
            mode: volume::Mode::Rw as i32,
            ..Default::default()
        }),
        source: None,
    }));
    r
}

async fn offer(events: &mut Subscription) -> Offer {
    next_event(events, |e| e.offers.is_some())
        .await
        .offers
        .unwrap()
        .offers
        .remove(0)
}

/// Acknowledges updates of `task` until a terminal one; returns it.
async fn until_terminal(caller: &Caller, events: &mut Subscription, task: &str) -> TaskStatus {
    loop {
        let s = next_event(events, |e| {
            e.update
                .as_ref()
                .is_some_and(|u| u.status.task_id.value == task)
        })
        .await
        .update
        .unwrap()
        .status;
        let uuid = s.uuid.clone().expect("agent updates carry a uuid");
        caller
            .call(calls::acknowledge(
                s.agent_id.clone().unwrap(),
                s.task_id.clone(),
                uuid,
            ))
            .await
            .unwrap();
        let state = TaskState::try_from(s.state).unwrap();
        if !matches!(
            state,
            TaskState::TaskStarting
                | TaskState::TaskRunning
                | TaskState::TaskStaging
                | TaskState::TaskKilling
        ) {
            return s;
        }
    }
}

fn command_task(id: &str, offer: &Offer, cmd: &str, resources: Vec<Resource>) -> TaskInfo {
    TaskInfo {
        name: id.into(),
        task_id: TaskId { value: id.into() },
        agent_id: offer.agent_id.clone(),
        resources,
        command: Some(CommandInfo {
            value: Some(cmd.into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[tokio::test]
async fn commands_finish_fail_and_get_killed() {
    let dir = tempfile::tempdir().unwrap();
    let master = master_with(|c| {
        c.mode = AgentMode::Process;
        c.agents = 1;
        c.work_dir = Some(dir.path().to_path_buf());
    })
    .await;
    let client = client(&master, framework_info("procs"), Encoding::Json);
    let caller = client.caller();
    let mut events = client.subscribe();
    subscribed(&mut events).await;
    let o = offer(&mut events).await;
    let small = || vec![scalar("cpus", 0.1), scalar("mem", 16.0)];
    let tasks = vec![
        command_task(
            "ok",
            &o,
            "echo hello > out.txt && test -n \"$MESOS_SANDBOX\"",
            small(),
        ),
        command_task("bad", &o, "exit 3", small()),
        command_task("long", &o, "sleep 60", small()),
    ];
    caller
        .call(calls::accept(
            vec![o.id.clone()],
            vec![calls::launch(tasks)],
            Some(0.0),
        ))
        .await
        .unwrap();
    let ok = until_terminal(&caller, &mut events, "ok").await;
    assert_eq!(ok.state, TaskState::TaskFinished as i32, "{ok:?}");
    let bad = until_terminal(&caller, &mut events, "bad").await;
    assert_eq!(bad.state, TaskState::TaskFailed as i32, "{bad:?}");
    assert!(bad.message.unwrap_or_default().contains('3'));
    // Wait for RUNNING, then kill.
    let running = next_event(&mut events, |e| {
        e.update
            .as_ref()
            .is_some_and(|u| u.status.task_id.value == "long")
    })
    .await
    .update
    .unwrap()
    .status;
    caller
        .call(calls::acknowledge(
            running.agent_id.clone().unwrap(),
            running.task_id.clone(),
            running.uuid.clone().unwrap(),
        ))
        .await
        .unwrap();
    caller
        .call(calls::kill(
            TaskId {
                value: "long".into(),
            },
            None,
        ))
        .await
        .unwrap();
    let killed = until_terminal(&caller, &mut events, "long").await;
    assert_eq!(killed.state, TaskState::TaskKilled as i32, "{killed:?}");
    master.shutdown().await;
}

#[tokio::test]
async fn volume_contents_survive_a_relaunch() {
    let dir = tempfile::tempdir().unwrap();
    let master = master_with(|c| {
        c.mode = AgentMode::Process;
        c.agents = 1;
        c.work_dir = Some(dir.path().to_path_buf());
    })
    .await;
    let client = client(&master, framework_info("volumes"), Encoding::Protobuf);
    let caller = client.caller();
    let mut events = client.subscribe();
    let fid = subscribed(&mut events).await;
    let o = offer(&mut events).await;
    let executor = ExecutorInfo {
        r#type: Some(executor_info::Type::Default as i32),
        executor_id: ExecutorId {
            value: "exec".into(),
        },
        framework_id: Some(FrameworkId { value: fid.clone() }),
        ..Default::default()
    };
    let group = |id: &str, cmd: &str, o: &Offer| Operation {
        r#type: Some(operation::Type::LaunchGroup as i32),
        launch_group: Some(operation::LaunchGroup {
            executor: executor.clone(),
            task_group: TaskGroupInfo {
                tasks: vec![command_task(
                    id,
                    o,
                    cmd,
                    vec![
                        reserved(scalar("cpus", 0.1)),
                        reserved(scalar("mem", 16.0)),
                        volume_res(),
                    ],
                )],
            },
        }),
        ..Default::default()
    };
    let ops = vec![
        Operation {
            r#type: Some(operation::Type::Reserve as i32),
            reserve: Some(operation::Reserve {
                resources: vec![
                    reserved(scalar("cpus", 0.1)),
                    reserved(scalar("mem", 16.0)),
                    reserved(scalar("disk", 10.0)),
                ],
                source: vec![],
            }),
            ..Default::default()
        },
        Operation {
            r#type: Some(operation::Type::Create as i32),
            create: Some(operation::Create {
                volumes: vec![volume_res()],
            }),
            ..Default::default()
        },
        group("writer", "echo kept > data/file", &o),
    ];
    caller
        .call(calls::accept(vec![o.id.clone()], ops, Some(0.0)))
        .await
        .unwrap();
    let w = until_terminal(&caller, &mut events, "writer").await;
    assert_eq!(w.state, TaskState::TaskFinished as i32, "{w:?}");
    // The next offer with the volume relaunches a reader on it.
    let o = loop {
        let o = offer(&mut events).await;
        if o.resources.iter().any(|r| {
            r.disk
                .as_ref()
                .and_then(|d| d.persistence.as_ref())
                .is_some()
        }) {
            break o;
        }
        caller
            .call(calls::decline(vec![o.id.clone()], Some(0.0)))
            .await
            .unwrap();
    };
    caller
        .call(calls::accept(
            vec![o.id.clone()],
            vec![group("reader", "grep -q kept data/file", &o)],
            Some(0.0),
        ))
        .await
        .unwrap();
    let r = until_terminal(&caller, &mut events, "reader").await;
    assert_eq!(
        r.state,
        TaskState::TaskFinished as i32,
        "the volume kept its file: {r:?}"
    );
    let on_disk = master
        .process_agents()
        .unwrap()
        .runtime()
        .volume_dir(&o.agent_id.value, "store")
        .join("file");
    assert_eq!(std::fs::read_to_string(on_disk).unwrap().trim(), "kept");
    master.shutdown().await;
}
