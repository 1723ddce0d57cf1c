//! Shared fixtures of the API tests: a snapshot of a small service, a
//! fake scheduler loop that answers commands with the real plan operations,
//! and JSON requests through the router.

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use bytes::Bytes;
use http_body_util::BodyExt as _;
use plinth::api::{
    ApiOptions, ApiState, ApiToken, CommandRequest, ConfigsView, ServiceSnapshot, TaskView,
};
use plinth::offer::{OfferOutcome, Stage, StageOutcome};
use plinth::plan::{PlanInputs, find_plan_mut, generate_plans};
use plinth::scheduler::{Command, CommandError, CommandReply, PlanCommand};
use plinth_proto::v1::discovery_info::Visibility;
use plinth_proto::v1::{
    AgentId, DiscoveryInfo, Label, Labels, Port, Ports, TaskId, TaskInfo, TaskState, TaskStatus,
};
use serde_json::Value;
use tokio::sync::{mpsc, watch};
use tower::ServiceExt as _;

pub const TOKEN: &str = "s3cret-token";
pub const CONFIG_ID: &str = "7f1c9a52-3f7b-4c55-9a3e-0d5d3f0b8a11";

const SPEC: &str = r"
name: hello-world
pods:
  hello:
    count: 1
    tasks:
      server:
        goal: RUNNING
        cmd: sleep 1000
        cpus: 0.5
        memory: 64
  world:
    count: 2
    tasks:
      server:
        goal: RUNNING
        cmd: sleep 1000
        cpus: 0.5
        memory: 64
";

fn label(key: &str, value: &str) -> Label {
    Label {
        key: key.into(),
        value: Some(value.into()),
    }
}

fn task(pod: &str, index: u32, port: u32) -> TaskView {
    let name = format!("{pod}-{index}-server");
    let mut discovery = DiscoveryInfo {
        ports: Some(Ports {
            ports: vec![Port {
                number: port,
                name: Some("web".into()),
                visibility: Some(Visibility::External as i32),
                ..Port::default()
            }],
        }),
        ..DiscoveryInfo::default()
    };
    discovery.set_visibility(Visibility::External);
    let info = TaskInfo {
        name: name.clone(),
        task_id: TaskId {
            value: format!("hello-world__{name}__1"),
        },
        agent_id: AgentId {
            value: "agent-1".into(),
        },
        labels: Some(Labels {
            labels: vec![
                label("task_type", pod),
                label("index", &index.to_string()),
                label("offer_hostname", "host-1"),
            ],
        }),
        discovery: Some(Box::new(discovery)),
        ..TaskInfo::default()
    };
    let mut status = TaskStatus {
        task_id: info.task_id.clone(),
        ..TaskStatus::default()
    };
    status.set_state(TaskState::TaskRunning);
    TaskView {
        info: info.into(),
        status: Some(status),
    }
}

/// A snapshot: deploy pending, three running tasks, one config, properties.
pub fn snapshot() -> ServiceSnapshot {
    let spec = plinth::spec::load_str(SPEC, &BTreeMap::new(), Some("svc.yml"))
        .unwrap()
        .spec;
    let mut plans = generate_plans(&spec, &PlanInputs::new(CONFIG_ID, &BTreeMap::new())).unwrap();
    plans.push(plinth::recovery::empty_plan());
    let config = serde_json::json!({ "name": "hello-world", "pods": { "hello": { "count": 1 } } });
    ServiceSnapshot {
        version: 1,
        service: "hello-world".into(),
        plans: plans.into(),
        framework_id: Some("fw-1234".into()),
        tasks: vec![
            task("hello", 0, 31000),
            task("world", 0, 31001),
            task("world", 1, 31002),
        ]
        .into(),
        outcomes: vec![OfferOutcome {
            pod_instance: "world-1".into(),
            agent_id: "agent-2".into(),
            hostname: "host-2".into(),
            offer_ids: vec!["o-1".into()],
            passed: false,
            stages: vec![StageOutcome {
                stage: Stage::Resources,
                passed: false,
                message: "insufficient cpus: needed 0.6, offered 0.1".into(),
            }],
        }]
        .into(),
        configs: Arc::new(ConfigsView {
            target_id: Some(CONFIG_ID.into()),
            by_id: BTreeMap::from([(CONFIG_ID.to_string(), config)]),
        }),
        properties: Arc::new(BTreeMap::from([
            (
                "last-completed-update-type".to_string(),
                Bytes::from_static(b"DEPLOY"),
            ),
            ("file-notes.txt".to_string(), Bytes::from_static(b"hello")),
        ])),
    }
}

/// The fake scheduler: every command it received.
#[derive(Clone, Default)]
pub struct Received(pub Arc<Mutex<Vec<Command>>>);

impl Received {
    pub fn all(&self) -> Vec<Command> {
        self.0.lock().unwrap().clone()
    }
}

/// An API state over `snapshot` whose commands a fake loop answers: plan
/// operations run on its own copy of the plans (and are published), pods
/// `hello-0`, `world-0`, `world-1` exist, files up to 1024 bytes are stored.
pub fn fake(
    snapshot: ServiceSnapshot,
) -> (ApiState, Received, watch::Sender<Arc<ServiceSnapshot>>) {
    let (publish, receiver) = watch::channel(Arc::new(snapshot));
    let (tx, mut rx) = mpsc::channel::<CommandRequest>(8);
    let received = Received::default();
    let log = received.clone();
    let publisher = publish.clone();
    tokio::spawn(async move {
        while let Some(request) = rx.recv().await {
            log.0.lock().unwrap().push(request.command.clone());
            let mut snap = (**publisher.borrow()).clone();
            let result = match request.command {
                Command::Plan { plan, op } => match find_plan_mut(&mut snap.plans, &plan) {
                    Err(e) => Err(CommandError::from(e)),
                    Ok(p) => match op {
                        PlanCommand::Start(params) => p.start(&params),
                        PlanCommand::Stop => Ok(p.stop()),
                        PlanCommand::Continue { phase } => p.proceed(phase.as_deref()),
                        PlanCommand::Interrupt { phase } => p.interrupt(phase.as_deref()),
                        PlanCommand::ForceComplete { phase, step } => {
                            p.force_complete(phase.as_deref(), step.as_deref())
                        }
                        PlanCommand::Restart { phase, step } => {
                            p.restart(phase.as_deref(), step.as_deref())
                        }
                    }
                    .map(CommandReply::Plan)
                    .map_err(CommandError::from),
                },
                Command::RestartPod(pod) | Command::ReplacePod(pod) => {
                    if ["hello-0", "world-0", "world-1"].contains(&pod.as_str()) {
                        let tasks = vec![format!("{pod}-server")];
                        Ok(CommandReply::Pod { pod, tasks })
                    } else {
                        Err(CommandError::UnknownPod(pod))
                    }
                }
                Command::PausePod { pod, tasks } | Command::ResumePod { pod, tasks } => {
                    if !["hello-0", "world-0", "world-1"].contains(&pod.as_str()) {
                        Err(CommandError::UnknownPod(pod))
                    } else if let Some(task) = tasks
                        .iter()
                        .find(|t| **t != "server" && **t != format!("{pod}-server"))
                    {
                        Err(CommandError::UnknownTask {
                            task: task.clone(),
                            pod,
                            known: vec!["server".into()],
                        })
                    } else {
                        let tasks = vec![format!("{pod}-server")];
                        Ok(CommandReply::Pod { pod, tasks })
                    }
                }
                // The real loop validates and applies; the fake only
                // answers, so the handlers' side can be tested.
                Command::UpdateConfig { service_yml } => {
                    if service_yml.contains("count: 0") {
                        Err(CommandError::ConfigRefused(vec![
                            "PodSpecsCannotShrink: hello".into(),
                        ]))
                    } else {
                        Ok(CommandReply::ConfigUpdated {
                            target_id: CONFIG_ID.into(),
                        })
                    }
                }
                Command::Uninstall => Ok(CommandReply::Uninstalling),
                Command::PutFile { name, data } => {
                    Arc::make_mut(&mut snap.properties)
                        .insert(format!("file-{name}"), Bytes::from(data));
                    Ok(CommandReply::Stored)
                }
            };
            snap.version += 1;
            publisher.send_replace(Arc::new(snap));
            let _ = request.reply.send(result);
        }
    });
    let state = ApiState::new(receiver)
        .with_commands(tx)
        .with_metrics(Arc::new(plinth::api::Metrics::new()));
    (state, received, publish)
}

/// Options with the test token.
pub fn with_token(auth_reads: bool) -> ApiOptions {
    ApiOptions {
        token: Some(ApiToken::new(TOKEN).unwrap()),
        auth_reads,
        tls: None,
    }
}

/// A request with a JSON body, and `Authorization: Bearer <token>` when a
/// token is given.
pub fn json_request(method: &str, path: &str, body: &str, token: Option<&str>) -> Request<Body> {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap();
    if let Some(t) = token {
        request.headers_mut().insert(
            header::AUTHORIZATION,
            format!("Bearer {t}").parse().unwrap(),
        );
    }
    request
}

/// Sends `request` through `router`: the status and the body, which must be JSON.
pub async fn send_json(router: &axum::Router, request: Request<Body>) -> (StatusCode, Value) {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let value =
        serde_json::from_slice(&body).unwrap_or_else(|e| panic!("not JSON ({e}): {body:?}"));
    (status, value)
}
