//! Regressions found by running independent third-party Mesos client
//! libraries against the master (`testkit/compat/run.sh`: pymesos,
//! mesos-go in protobuf and JSON mode, mesos-framework for Node, mesoshttp).
//! Each test speaks plain JSON over a raw socket, the way those libraries
//! do, and checks the one thing a real Mesos 1.11 master does that the
//! testkit master once did not.

mod common;

use common::{master_with, raw, read_chunk, read_head};
use plinth_testkit::AgentMode;
use serde_json::{Value, json};
use tokio::io::{AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;

/// A JSON SUBSCRIBE as a third-party client sends it; returns the stream and
/// its id.
async fn subscribe(addr: std::net::SocketAddr, name: &str) -> (BufReader<TcpStream>, String) {
    let body = json!({
        "type": "SUBSCRIBE",
        "subscribe": {"framework_info": {"user": "nobody", "name": name}}
    })
    .to_string();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /api/v1/scheduler HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nAccept: application/json\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body.as_bytes()).await.unwrap();
    let mut reader = BufReader::new(stream);
    let (status, headers) = read_head(&mut reader).await;
    assert_eq!(status, 200);
    let stream_id = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("mesos-stream-id"))
        .map(|(_, v)| v.clone())
        .expect("Mesos-Stream-Id");
    (reader, stream_id)
}

/// The next event (one record per chunk), within the test bound.
async fn next(reader: &mut BufReader<TcpStream>) -> Value {
    let chunk = tokio::time::timeout(common::WAIT, read_chunk(reader))
        .await
        .expect("an event in time")
        .expect("the stream is open");
    let newline = chunk.iter().position(|b| *b == b'\n').expect("length line");
    serde_json::from_slice(&chunk[newline + 1..]).expect("JSON event")
}

async fn call(addr: std::net::SocketAddr, stream_id: &str, body: &Value) {
    let answer = raw(
        addr,
        "POST",
        "/api/v1/scheduler",
        &[
            ("Content-Type", "application/json"),
            ("Mesos-Stream-Id", stream_id),
        ],
        body.to_string().as_bytes(),
    )
    .await;
    assert_eq!(answer.status, 202, "{body}: {}", answer.text());
}

/// A real agent sets `executor_id` on every update it forwards, and a
/// command task runs under the command executor, whose id is the task id.
/// The master used to leave it out for command tasks. pymesos, mesos-go and
/// mesoshttp hand it to the scheduler as is; mesos-framework (npm) records
/// `status.executor_id.value` as the task's executor in its bookkeeping
/// (filling in `{value: undefined}` when it is missing) and dereferences it
/// unguarded for a task it has no runtime info for.
#[tokio::test]
async fn command_task_updates_carry_the_command_executor_id() {
    let work = tempfile::tempdir().unwrap();
    let master = master_with(|c| {
        c.agents = 1;
        c.mode = AgentMode::Process;
        c.work_dir = Some(work.path().to_path_buf());
    })
    .await;
    let addr = master.addr();
    let (mut events, stream_id) = subscribe(addr, "executor-id").await;
    let mut framework_id = Value::Null;
    let offer = loop {
        let event = next(&mut events).await;
        match event["type"].as_str() {
            Some("SUBSCRIBED") => framework_id = event["subscribed"]["framework_id"].clone(),
            Some("OFFERS") => break event["offers"]["offers"][0].clone(),
            _ => {}
        }
    };
    call(
        addr,
        &stream_id,
        &json!({
            "type": "ACCEPT",
            "framework_id": framework_id,
            "accept": {
                "offer_ids": [offer["id"]],
                "operations": [{"type": "LAUNCH", "launch": {"task_infos": [{
                    "name": "hello",
                    "task_id": {"value": "hello-1"},
                    "agent_id": offer["agent_id"],
                    "command": {"value": "echo hello; exit 0", "shell": true},
                    "resources": [
                        {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}},
                        {"name": "mem", "type": "SCALAR", "scalar": {"value": 32}}
                    ]
                }]}}]
            }
        }),
    )
    .await;
    let mut states = Vec::new();
    loop {
        let event = next(&mut events).await;
        if event["type"] != "UPDATE" {
            continue;
        }
        let status = &event["update"]["status"];
        assert_eq!(status["task_id"]["value"], "hello-1");
        assert_eq!(status["agent_id"], offer["agent_id"], "{status}");
        assert_eq!(
            status["executor_id"]["value"], "hello-1",
            "the command executor's id is the task id: {status}"
        );
        assert!(status["uuid"].is_string(), "an agent update: {status}");
        let state = status["state"].as_str().unwrap().to_owned();
        call(
            addr,
            &stream_id,
            &json!({
                "type": "ACKNOWLEDGE",
                "framework_id": framework_id,
                "acknowledge": {
                    "agent_id": status["agent_id"],
                    "task_id": status["task_id"],
                    "uuid": status["uuid"]
                }
            }),
        )
        .await;
        states.push(state.clone());
        if state == "TASK_FINISHED" {
            break;
        }
        assert!(
            state == "TASK_STARTING" || state == "TASK_RUNNING",
            "{states:?}"
        );
    }
    // Master-generated updates keep the task's own executor id, which a
    // command task does not have (as in `Master::reconcile`).
    call(
        addr,
        &stream_id,
        &json!({
            "type": "RECONCILE",
            "framework_id": framework_id,
            "reconcile": {"tasks": [{"task_id": {"value": "not-a-task"}}]}
        }),
    )
    .await;
    let answer = loop {
        let event = next(&mut events).await;
        if event["type"] == "UPDATE" {
            break event["update"]["status"].clone();
        }
    };
    assert_eq!(answer["task_id"]["value"], "not-a-task");
    assert!(answer.get("executor_id").is_none(), "{answer}");
    assert!(answer.get("uuid").is_none(), "{answer}");
    master.shutdown().await;
}
