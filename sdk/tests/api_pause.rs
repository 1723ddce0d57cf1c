//! Pause and resume through the operator API: the REST routes (optional JSON
//! task list, 404 unknown pod or task, 400 malformed body, 401 without the
//! token), the gRPC `PausePod`/`ResumePod`, and the override in pod status —
//! against the full router with a fake scheduler loop.

mod api;

use std::sync::Arc;

use api::{TOKEN, fake, json_request, send_json, snapshot, with_token};
use axum::body::Body;
use axum::http::{Request, header};
use plinth::api::grpc::proto::PodTasksRequest;
use plinth::api::grpc::proto::pod_service_client::PodServiceClient;
use plinth::api::{ApiOptions, ApiServer, ServiceSnapshot, app};
use plinth::offer::labels;
use plinth::scheduler::Command;
use plinth_proto::v1::{Label, TaskId};
use serde_json::{Value, json};

fn post(path: &str, body: &str) -> Request<Body> {
    json_request("POST", path, body, None)
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

fn authed(mut r: Request<Body>) -> Request<Body> {
    r.headers_mut().insert(
        header::AUTHORIZATION,
        format!("Bearer {TOKEN}").parse().unwrap(),
    );
    r
}

fn pause(pod: &str, tasks: &[&str]) -> Command {
    Command::PausePod {
        pod: pod.into(),
        tasks: tasks.iter().map(|t| (*t).to_string()).collect(),
    }
}

#[tokio::test]
async fn pause_and_resume_take_an_optional_task_list() {
    let (state, received, _) = fake(snapshot());
    let r = app(state, &ApiOptions::default());
    let (status, body) = send_json(&r, post("/v1/pod/hello-0/pause", "")).await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"pod": "hello-0", "tasks": ["hello-0-server"]}));
    let (status, _) = send_json(&r, post("/v1/pod/world-1/pause", r#"["server"]"#)).await;
    assert_eq!(status, 200);
    let (status, body) = send_json(&r, post("/v1/pod/world-1/resume", " [ ] ")).await;
    assert_eq!(status, 200);
    assert_eq!(body["pod"], "world-1");
    let (status, _) = send_json(&r, post("/v1/pod/hello-0/resume", r#"["hello-0-server"]"#)).await;
    assert_eq!(status, 200);
    assert_eq!(
        received.all(),
        [
            pause("hello-0", &[]),
            pause("world-1", &["server"]),
            Command::ResumePod {
                pod: "world-1".into(),
                tasks: vec![]
            },
            Command::ResumePod {
                pod: "hello-0".into(),
                tasks: vec!["hello-0-server".into()]
            },
        ]
    );
}

#[tokio::test]
async fn unknown_pods_and_tasks_are_404_and_name_what_is_unknown() {
    let (state, _, _) = fake(snapshot());
    let r = app(state, &ApiOptions::default());
    let (status, body) = send_json(&r, post("/v1/pod/nope-7/pause", "")).await;
    assert_eq!(status, 404);
    assert_eq!(body["message"], "Pod nope-7 not found");
    let (status, body) = send_json(&r, post("/v1/pod/hello-0/resume", r#"["server","db"]"#)).await;
    assert_eq!(status, 404);
    assert_eq!(
        body["message"],
        "Pod hello-0 has no task 'db' (its tasks: server)"
    );
}

#[tokio::test]
async fn malformed_bodies_are_400_and_reach_nothing() {
    let (state, received, _) = fake(snapshot());
    let r = app(state, &ApiOptions::default());
    for body in [
        "{bad",
        r#"{"tasks": ["server"]}"#,
        r#""server""#,
        "[1]",
        r#"[""]"#,
        "[null]",
    ] {
        for op in ["pause", "resume"] {
            let (status, answer) =
                send_json(&r, post(&format!("/v1/pod/hello-0/{op}"), body)).await;
            assert_eq!(status, 400, "{op} {body}: {answer}");
            let message = answer["message"].as_str().unwrap();
            assert!(
                message.contains(r#"JSON list of task names, e.g. ["server"]"#),
                "{body}: {message}"
            );
        }
    }
    assert!(received.all().is_empty());
}

#[tokio::test]
async fn pause_and_resume_need_the_bearer_token() {
    let (state, received, _) = fake(snapshot());
    let r = app(state, &with_token(false));
    for path in ["/v1/pod/hello-0/pause", "/v1/pod/hello-0/resume"] {
        let (status, _) = send_json(&r, post(path, r#"["server"]"#)).await;
        assert_eq!(status, 401, "{path}");
        let (status, _) = send_json(&r, post(path, "{bad")).await;
        assert_eq!(status, 401, "auth comes before body validation: {path}");
    }
    assert!(received.all().is_empty(), "nothing reached the scheduler");
    let (status, _) = send_json(&r, authed(post("/v1/pod/hello-0/pause", ""))).await;
    assert_eq!(status, 200);
    assert_eq!(received.all(), [pause("hello-0", &[])]);
}

fn label(key: &str, value: &str) -> Label {
    Label {
        key: key.into(),
        value: Some(value.into()),
    }
}

/// The snapshot with hello-0-server paused and running its idle relaunch,
/// world-0-server paused but not relaunched yet, world-1-server resumed but
/// not relaunched yet.
fn overridden() -> ServiceSnapshot {
    let mut s = snapshot();
    for task in &mut s.tasks {
        let info = std::sync::Arc::make_mut(&mut task.info);
        let list = &mut info.labels.as_mut().unwrap().labels;
        match info.name.as_str() {
            "hello-0-server" => {
                list.push(label(labels::GOAL_STATE_OVERRIDE, labels::PAUSED));
                list.push(label(labels::OVERRIDE_STATUS, labels::OVERRIDE_LAUNCHED));
            }
            "world-0-server" => {
                list.push(label(labels::GOAL_STATE_OVERRIDE, labels::PAUSED));
                list.push(label(labels::OVERRIDE_STATUS, labels::OVERRIDE_PENDING));
            }
            _ => list.push(label(labels::OVERRIDE_STATUS, labels::OVERRIDE_PENDING)),
        }
    }
    s
}

#[tokio::test]
async fn pod_status_shows_the_override_additively() {
    // Without overrides nothing new appears.
    let (state, _, _) = fake(snapshot());
    let r = app(state, &ApiOptions::default());
    let (_, body) = send_json(&r, get("/v1/pod/hello-0/status")).await;
    assert_eq!(
        body["tasks"][0],
        json!({"id": "hello-world__hello-0-server__1", "name": "hello-0-server", "status": "RUNNING"})
    );

    let (state, _, publish) = fake(overridden());
    let r = app(state, &ApiOptions::default());
    let (_, body) = send_json(&r, get("/v1/pod/status")).await;
    let tasks: Vec<&Value> = body["pods"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["instances"].as_array().unwrap())
        .map(|i| &i["tasks"][0])
        .collect();
    assert_eq!(
        *tasks[0],
        json!({
            "id": "hello-world__hello-0-server__1",
            "name": "hello-0-server",
            "status": "PAUSED",
            "mesos_status": "RUNNING",
            "goal_state_override": "PAUSED",
            "override_status": "COMPLETE",
        })
    );
    assert_eq!(tasks[1]["status"], "PAUSING");
    assert_eq!(tasks[1]["override_status"], "PENDING");
    assert_eq!(tasks[2]["status"], "RESUMING");
    assert_eq!(tasks[2]["mesos_status"], "RUNNING");
    assert!(tasks[2].get("goal_state_override").is_none());

    // The idle relaunch launched but its status is still the old task's:
    // IN_PROGRESS, PAUSING.
    let mut s = overridden();
    std::sync::Arc::make_mut(&mut s.tasks[0].info).task_id = TaskId {
        value: "hello-world__hello-0-server__2".into(),
    };
    s.version += 1;
    publish.send_replace(Arc::new(s));
    let (_, body) = send_json(&r, get("/v1/pod/hello-0/status")).await;
    assert_eq!(body["tasks"][0]["status"], "PAUSING");
    assert_eq!(body["tasks"][0]["override_status"], "IN_PROGRESS");
}

#[tokio::test]
async fn grpc_pause_and_resume() {
    let (state, received, _) = fake(overridden());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = ApiServer::new(state, &with_token(false)).unwrap();
    tokio::spawn(server.serve(listener, std::future::pending()));
    let mut pods = PodServiceClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    let request = PodTasksRequest {
        name: "hello-0".into(),
        tasks: vec!["server".into()],
    };
    let err = pods.pause_pod(request.clone()).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unauthenticated);
    let authed = |r: PodTasksRequest| {
        let mut r = tonic::Request::new(r);
        r.metadata_mut()
            .insert("authorization", format!("Bearer {TOKEN}").parse().unwrap());
        r
    };
    let answer = pods.pause_pod(authed(request.clone())).await.unwrap();
    assert_eq!(answer.into_inner().tasks, ["hello-0-server"]);
    let answer = pods.resume_pod(authed(request)).await.unwrap();
    assert_eq!(answer.into_inner().pod, "hello-0");
    let err = pods
        .pause_pod(authed(PodTasksRequest {
            name: "hello-0".into(),
            tasks: vec!["db".into()],
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::NotFound);
    assert!(err.message().contains("no task 'db'"), "{}", err.message());
    assert_eq!(received.all().len(), 3);
    let status = pods
        .get_pod_status(pod_request("hello-0"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.tasks[0].status, "PAUSED");
    assert_eq!(status.tasks[0].mesos_status, "RUNNING");
    assert_eq!(status.tasks[0].goal_state_override, "PAUSED");
    assert_eq!(status.tasks[0].override_status, "COMPLETE");
}

fn pod_request(name: &str) -> plinth::api::grpc::proto::PodRequest {
    plinth::api::grpc::proto::PodRequest { name: name.into() }
}
