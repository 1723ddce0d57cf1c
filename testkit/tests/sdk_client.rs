//! The Plinth scheduler client against the testkit master over loopback
//! HTTP: offers, RESERVE + CREATE + LAUNCH_GROUP, updates and acks,
//! reconciliation, kill, decline filters, suppress/revive and framework
//! failover, in both encodings.

mod common;

use std::time::Duration;

use common::{WAIT, client, framework_info, master, next_event, subscribed};
use futures::StreamExt as _;
use plinth::mesos::{Caller, ClientEvent, MesosError, Subscription, calls};
use plinth_proto::codec::Encoding;
use plinth_proto::v1::offer::{Operation, operation};
use plinth_proto::v1::resource::{DiskInfo, ReservationInfo, disk_info};
use plinth_proto::v1::scheduler::{Event, event};
use plinth_proto::v1::{
    CommandInfo, ExecutorId, ExecutorInfo, FrameworkId, Offer, Resource, TaskGroupInfo, TaskId,
    TaskInfo, TaskState, TaskStatus, Volume, executor_info, task_status, value, volume,
};

fn scalar(name: &str, v: f64) -> Resource {
    Resource {
        name: name.into(),
        r#type: value::Type::Scalar as i32,
        scalar: Some(value::Scalar { value: v }),
        ..Default::default()
    }
}

/// Pre-refinement dynamic reservation for role `test`.
fn reserved(mut r: Resource) -> Resource {
    r.role = Some("test".into());
    r.reservation = Some(Box::new(ReservationInfo {
        principal: Some("test-principal".into()),
        ..Default::default()
    }));
    r
}

fn persistent(mut r: Resource, id: &str) -> Resource {
    r.disk = Some(Box::new(DiskInfo {
        persistence: Some(disk_info::Persistence {
            id: id.into(),
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

async fn offers(events: &mut Subscription) -> Vec<Offer> {
    next_event(events, |e| e.offers.is_some())
        .await
        .offers
        .map(|o| o.offers)
        .unwrap_or_default()
}

async fn update(events: &mut Subscription, task: &str) -> TaskStatus {
    let e = next_event(events, |e| {
        e.update
            .as_ref()
            .is_some_and(|u| u.status.task_id.value == task)
    })
    .await;
    e.update.map(|u| u.status).expect("an update")
}

async fn ack(caller: &Caller, status: &TaskStatus) {
    let uuid = status.uuid.clone().expect("agent updates carry a uuid");
    assert_eq!(uuid.len(), 16);
    caller
        .call(calls::acknowledge(
            status.agent_id.clone().expect("agent id"),
            status.task_id.clone(),
            uuid,
        ))
        .await
        .expect("ACKNOWLEDGE accepted");
}

/// No event matching `pick` arrives within `d`.
async fn quiet(events: &mut Subscription, d: Duration, mut pick: impl FnMut(&Event) -> bool) {
    let until = tokio::time::Instant::now() + d;
    while let Ok(item) = tokio::time::timeout_at(until, events.next()).await {
        if let Some(Ok(ClientEvent::Event(e))) = item {
            assert!(!pick(&e), "unexpected event {e:?}");
        }
    }
}

#[tokio::test]
async fn reserve_create_launch_group_with_acks_reconcile_and_kill() {
    let master = master().await;
    let client = client(&master, framework_info("pods"), Encoding::Protobuf);
    let caller = client.caller();
    let mut events = client.subscribe();
    let fid = subscribed(&mut events).await;
    let offer = offers(&mut events).await.remove(0);
    let agent = offer.agent_id.clone();

    let volume = persistent(reserved(scalar("disk", 64.0)), "vol-0");
    let task = TaskInfo {
        name: "pod-0-server".into(),
        task_id: TaskId {
            value: "pod-0-server".into(),
        },
        agent_id: agent.clone(),
        resources: vec![
            reserved(scalar("cpus", 0.5)),
            reserved(scalar("mem", 128.0)),
            volume.clone(),
        ],
        command: Some(CommandInfo {
            value: Some("sleep 1000".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let executor = ExecutorInfo {
        r#type: Some(executor_info::Type::Default as i32),
        executor_id: ExecutorId {
            value: "pod-0-executor".into(),
        },
        framework_id: Some(FrameworkId { value: fid.clone() }),
        resources: vec![reserved(scalar("cpus", 0.1)), reserved(scalar("mem", 32.0))],
        ..Default::default()
    };
    let ops = vec![
        Operation {
            r#type: Some(operation::Type::Reserve as i32),
            reserve: Some(operation::Reserve {
                resources: vec![
                    reserved(scalar("cpus", 0.6)),
                    reserved(scalar("mem", 160.0)),
                    reserved(scalar("disk", 64.0)),
                ],
                source: vec![],
            }),
            ..Default::default()
        },
        Operation {
            r#type: Some(operation::Type::Create as i32),
            create: Some(operation::Create {
                volumes: vec![volume],
            }),
            ..Default::default()
        },
        Operation {
            r#type: Some(operation::Type::LaunchGroup as i32),
            launch_group: Some(operation::LaunchGroup {
                executor,
                task_group: TaskGroupInfo { tasks: vec![task] },
            }),
            ..Default::default()
        },
    ];
    caller
        .call(calls::accept(vec![offer.id.clone()], ops, None))
        .await
        .expect("ACCEPT accepted");

    let starting = update(&mut events, "pod-0-server").await;
    assert_eq!(starting.state, TaskState::TaskStarting as i32);
    ack(&caller, &starting).await;
    let running = update(&mut events, "pod-0-server").await;
    assert_eq!(running.state, TaskState::TaskRunning as i32);
    ack(&caller, &running).await;

    let state = master.state();
    let held = &state["slaves"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == agent.value)
        .unwrap()["reserved_resources_full"]["test"];
    assert!(
        held.as_array()
            .unwrap()
            .iter()
            .any(|r| r["disk"]["persistence"]["id"] == "vol-0"),
        "{held}"
    );

    caller
        .call(calls::reconcile(vec![(
            TaskId {
                value: "pod-0-server".into(),
            },
            Some(agent.clone()),
        )]))
        .await
        .unwrap();
    let answer = update(&mut events, "pod-0-server").await;
    assert_eq!(answer.state, TaskState::TaskRunning as i32);
    assert_eq!(
        answer.reason,
        Some(task_status::Reason::Reconciliation as i32)
    );
    assert!(
        answer.uuid.is_none(),
        "master-generated updates carry no uuid"
    );

    caller
        .call(calls::kill(
            TaskId {
                value: "pod-0-server".into(),
            },
            Some(agent.clone()),
        ))
        .await
        .unwrap();
    let killed = update(&mut events, "pod-0-server").await;
    assert_eq!(killed.state, TaskState::TaskKilled as i32);
    ack(&caller, &killed).await;

    // The volume outlives the task and comes back, reserved, in a later offer.
    let found = tokio::time::timeout(WAIT, async {
        loop {
            let batch = offers(&mut events).await;
            let with_volume = batch.iter().find(|o| {
                o.resources.iter().any(|r| {
                    r.disk
                        .as_ref()
                        .and_then(|d| d.persistence.as_ref())
                        .is_some_and(|p| p.id == "vol-0")
                })
            });
            if let Some(o) = with_volume {
                return o.clone();
            }
            caller
                .call(calls::decline(
                    batch.iter().map(|o| o.id.clone()).collect(),
                    Some(0.0),
                ))
                .await
                .unwrap();
        }
    })
    .await
    .expect("an offer with the volume");
    let vol = found.resources.iter().find(|r| r.disk.is_some()).unwrap();
    assert_eq!(
        vol.role.as_deref(),
        Some("test"),
        "pre-refinement format for this framework"
    );
    master.shutdown().await;
}

#[tokio::test]
async fn decline_filters_and_suppress_revive_in_json() {
    let master = master().await;
    let client = client(&master, framework_info("filters"), Encoding::Json);
    let caller = client.caller();
    let mut events = client.subscribe();
    subscribed(&mut events).await;
    let mut seen = Vec::new();
    while seen.len() < 2 {
        seen.extend(offers(&mut events).await);
    }
    caller
        .call(calls::decline(
            seen.iter().map(|o| o.id.clone()).collect(),
            Some(3600.0),
        ))
        .await
        .unwrap();
    quiet(&mut events, Duration::from_millis(600), |e| {
        e.offers.is_some()
    })
    .await;

    caller.call(calls::revive(vec![])).await.unwrap();
    let again = offers(&mut events).await;
    assert!(!again.is_empty(), "REVIVE clears the filters");

    caller
        .call(calls::suppress(vec!["test".into()]))
        .await
        .unwrap();
    caller
        .call(calls::decline(
            again.iter().map(|o| o.id.clone()).collect(),
            Some(0.0),
        ))
        .await
        .unwrap();
    // Whatever was outstanding before SUPPRESS is declined too.
    let until = tokio::time::Instant::now() + Duration::from_millis(600);
    while let Ok(Some(Ok(ClientEvent::Event(e)))) =
        tokio::time::timeout_at(until, events.next()).await
    {
        if let Some(o) = e.offers {
            let state = master.state();
            assert!(
                state["frameworks"][0]["suppressed_roles"]
                    .as_array()
                    .unwrap()
                    .is_empty(),
                "offer while suppressed: {o:?}"
            );
        }
    }
    caller
        .call(calls::revive(vec!["test".into()]))
        .await
        .unwrap();
    assert!(!offers(&mut events).await.is_empty());
    master.shutdown().await;
}

async fn launch_one(caller: &Caller, events: &mut Subscription, id: &str) {
    let offer = offers(events).await.remove(0);
    let task = TaskInfo {
        name: id.into(),
        task_id: TaskId { value: id.into() },
        agent_id: offer.agent_id.clone(),
        resources: vec![scalar("cpus", 0.1), scalar("mem", 16.0)],
        command: Some(CommandInfo {
            value: Some("sleep 1000".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let op = calls::launch(vec![task]);
    caller
        .call(calls::accept(vec![offer.id], vec![op], None))
        .await
        .unwrap();
    for _ in 0..2 {
        let s = update(events, id).await;
        ack(caller, &s).await;
    }
}

async fn wait_inactive(master: &plinth_testkit::TestMaster, fid: &str) {
    tokio::time::timeout(WAIT, async {
        loop {
            let s = master.state();
            let fw = s["frameworks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["id"] == fid)
                .cloned();
            if fw.is_none_or(|f| f["active"] == false) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the master notices the broken stream");
}

#[tokio::test]
async fn failover_within_timeout_keeps_tasks_and_after_it_removes_the_framework() {
    let master = master().await;
    let mut info = framework_info("failover");
    info.failover_timeout = Some(30.0);
    let first = client(&master, info.clone(), Encoding::Protobuf);
    let caller = first.caller();
    let mut events = first.subscribe();
    let fid = subscribed(&mut events).await;
    launch_one(&caller, &mut events, "keeper").await;
    drop(events);
    wait_inactive(&master, &fid).await;
    // Calls while disconnected: 403.
    let err = caller.call(calls::revive(vec![])).await.unwrap_err();
    assert!(matches!(err, MesosError::Forbidden { .. }), "{err}");

    info.id = Some(FrameworkId { value: fid.clone() });
    let second = client(&master, info.clone(), Encoding::Json);
    let caller = second.caller();
    let mut events = second.subscribe();
    assert_eq!(subscribed(&mut events).await, fid, "same framework");
    caller.call(calls::reconcile(vec![])).await.unwrap();
    let status = update(&mut events, "keeper").await;
    assert_eq!(
        status.state,
        TaskState::TaskRunning as i32,
        "tasks survive a failover within the timeout"
    );

    // Now a short timeout, and let it expire.
    info.failover_timeout = Some(0.2);
    let third = client(&master, info.clone(), Encoding::Protobuf);
    let mut third_events = third.subscribe();
    assert_eq!(subscribed(&mut third_events).await, fid);
    // The superseded subscription is told and closed.
    let err = tokio::time::timeout(WAIT, async {
        loop {
            match events.next().await {
                Some(Err(e)) => return e,
                Some(Ok(_)) => {}
                None => panic!("ended without ERROR"),
            }
        }
    })
    .await
    .unwrap();
    assert!(err.to_string().contains("Framework failed over"), "{err}");
    drop(third_events);
    wait_inactive(&master, &fid).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let state = master.state();
    let done = &state["completed_frameworks"][0];
    assert_eq!(done["id"], fid.as_str());
    assert_eq!(done["completed_tasks"][0]["state"], "TASK_KILLED");

    let late = client(&master, info, Encoding::Protobuf);
    let mut late_events = late.subscribe();
    let err = tokio::time::timeout(WAIT, late_events.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    assert!(
        err.to_string().contains("Framework has been removed"),
        "{err}"
    );
    master.shutdown().await;
}

#[tokio::test]
async fn unknown_offer_loses_the_task_and_the_master_keeps_serving() {
    let master = master().await;
    let client = client(&master, framework_info("bad-offer"), Encoding::Json);
    let caller = client.caller();
    let mut events = client.subscribe();
    subscribed(&mut events).await;
    let mut offer = offers(&mut events).await.remove(0);
    let real = offer.id.clone();
    offer.id.value.push_str("-bogus");
    let task = TaskInfo {
        name: "t".into(),
        task_id: TaskId { value: "t".into() },
        agent_id: offer.agent_id.clone(),
        resources: vec![scalar("cpus", 0.1)],
        command: Some(CommandInfo {
            value: Some("true".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let op = calls::launch(vec![task]);
    caller
        .call(calls::accept(
            vec![offer.id.clone()],
            vec![op.clone()],
            None,
        ))
        .await
        .unwrap();
    let lost = update(&mut events, "t").await;
    assert_eq!(lost.state, TaskState::TaskLost as i32);
    assert_eq!(lost.reason, Some(task_status::Reason::InvalidOffers as i32));
    assert_eq!(lost.source, Some(task_status::Source::Master as i32));
    assert!(lost.uuid.is_none());
    assert!(lost.message.unwrap().contains("is no longer valid"));
    // The real offer still works.
    caller
        .call(calls::accept(vec![real], vec![op], None))
        .await
        .unwrap();
    let starting = update(&mut events, "t").await;
    assert_eq!(starting.state, TaskState::TaskStarting as i32);
    let _ = event::Type::Update;
    master.shutdown().await;
}
