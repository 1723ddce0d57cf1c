//! The fault control endpoint (`POST /testkit/faults`) as out-of-process
//! tests use it: task faults become agent updates with a uuid, agent loss
//! becomes TASK_UNREACHABLE then TASK_GONE_BY_OPERATOR, update faults
//! duplicate updates, and bad faults are refused.

mod common;

use std::time::Duration;

use common::{client, framework_info, master, next_event, raw, subscribed};
use plinth::mesos::calls;
use plinth_proto::codec::Encoding;
use plinth_proto::v1::framework_info::{Capability, capability};
use plinth_proto::v1::{CommandInfo, Resource, TaskId, TaskInfo, TaskState, value};

const JSON: (&str, &str) = ("Content-Type", "application/json");

fn scalar(name: &str, v: f64) -> Resource {
    Resource {
        name: name.into(),
        r#type: value::Type::Scalar as i32,
        scalar: Some(value::Scalar { value: v }),
        ..Default::default()
    }
}

#[tokio::test]
async fn faults_over_http() {
    let master = master().await;
    let addr = master.addr();
    let mut info = framework_info("faulty");
    info.capabilities.push(Capability {
        r#type: Some(capability::Type::PartitionAware as i32),
    });
    let client = client(&master, info, Encoding::Protobuf);
    let caller = client.caller();
    let mut events = client.subscribe();
    subscribed(&mut events).await;
    let offers = next_event(&mut events, |e| e.offers.is_some())
        .await
        .offers
        .unwrap()
        .offers;
    for (i, offer) in offers.iter().enumerate() {
        let task = TaskInfo {
            name: format!("t{i}"),
            task_id: TaskId {
                value: format!("t{i}"),
            },
            agent_id: offer.agent_id.clone(),
            resources: vec![scalar("cpus", 0.1)],
            command: Some(CommandInfo {
                value: Some("sleep 1000".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let op = calls::launch(vec![task]);
        caller
            .call(calls::accept(vec![offer.id.clone()], vec![op], None))
            .await
            .unwrap();
    }
    // Acknowledge STARTING and RUNNING of t0.
    let mut acked = 0;
    while acked < 2 {
        let s = next_event(&mut events, |e| {
            e.update
                .as_ref()
                .is_some_and(|u| u.status.task_id.value == "t0")
        })
        .await
        .update
        .unwrap()
        .status;
        caller
            .call(calls::acknowledge(
                s.agent_id.clone().unwrap(),
                s.task_id.clone(),
                s.uuid.clone().unwrap(),
            ))
            .await
            .unwrap();
        acked += 1;
    }
    let dup = raw(
        addr,
        "POST",
        "/testkit/faults",
        &[JSON],
        br#"{"fault":"update_faults","duplicate":true}"#,
    )
    .await;
    assert_eq!(dup.status, 200, "{}", dup.text());
    let r = raw(
        addr,
        "POST",
        "/testkit/faults",
        &[JSON],
        br#"{"fault":"fail_task","task_id":"t0","message":"exit 3"}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let pick = |e: &plinth_proto::v1::scheduler::Event| {
        e.update
            .as_ref()
            .is_some_and(|u| u.status.task_id.value == "t0")
    };
    let a = next_event(&mut events, pick).await.update.unwrap().status;
    let b = next_event(&mut events, pick).await.update.unwrap().status;
    assert_eq!(a.state, TaskState::TaskFailed as i32);
    assert_eq!(a.message.as_deref(), Some("exit 3"));
    assert_eq!(a.uuid, b.uuid, "duplicated");
    assert!(a.uuid.is_some());

    let agent = offers
        .iter()
        .find(|o| o.agent_id.value != a.agent_id.clone().unwrap().value)
        .map(|o| o.agent_id.value.clone());
    if let Some(agent) = agent {
        let body =
            format!(r#"{{"fault":"lose_agent","agent_id":"{agent}","gone_after_secs":0.2}}"#);
        assert_eq!(
            raw(addr, "POST", "/testkit/faults", &[JSON], body.as_bytes())
                .await
                .status,
            200
        );
        let u = next_event(&mut events, |e| {
            e.update
                .as_ref()
                .is_some_and(|u| u.status.state == TaskState::TaskUnreachable as i32)
        })
        .await;
        assert!(u.update.unwrap().status.uuid.is_none());
        let g = next_event(&mut events, |e| {
            e.update
                .as_ref()
                .is_some_and(|u| u.status.state == TaskState::TaskGoneByOperator as i32)
        })
        .await;
        assert!(g.update.unwrap().status.uuid.is_none());
    }
    let missing = raw(
        addr,
        "POST",
        "/testkit/faults",
        &[JSON],
        br#"{"fault":"finish_task","task_id":"nope"}"#,
    )
    .await;
    assert_eq!(missing.status, 404);
    let garbage = raw(
        addr,
        "POST",
        "/testkit/faults",
        &[JSON],
        br#"{"fault":"explode"}"#,
    )
    .await;
    assert_eq!(garbage.status, 400);
    let added = raw(
        addr,
        "POST",
        "/testkit/faults",
        &[JSON],
        br#"{"fault":"add_agent"}"#,
    )
    .await;
    let id: serde_json::Value = serde_json::from_slice(&added.body).unwrap();
    assert!(id["agent_id"].as_str().unwrap().ends_with("-S2"));
    tokio::time::sleep(Duration::from_millis(50)).await;
    let stats = raw(addr, "GET", "/testkit/stats", &[], b"").await;
    assert_eq!(stats.status, 200);
    master.shutdown().await;
}
