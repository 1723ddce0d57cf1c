//! `/v1/pod`: pod instances from the stored tasks (grouped by their
//! `task_type`/`index` labels), and restart/replace through the loop.

use std::collections::BTreeMap;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use plinth_proto::v1::TaskState;
use serde::Serialize;

use super::{ApiError, ApiState, ServiceSnapshot, TaskView};
use crate::scheduler::command::pod_instance_of;
use crate::scheduler::{Command, CommandReply};

pub(super) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/v1/pod", get(list))
        .route("/v1/pod/status", get(statuses))
        .route("/v1/pod/{name}/status", get(status))
        .route("/v1/pod/{name}/info", get(info))
        .route("/v1/pod/{name}/restart", post(restart))
        .route("/v1/pod/{name}/replace", post(replace))
        .route("/v1/pod/{name}/pause", post(not_supported))
        .route("/v1/pod/{name}/resume", post(not_supported))
}

/// One task in a pod status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskSummary {
    /// Mesos task id (empty before launch).
    pub id: String,
    /// Task name, e.g. `hello-0-server`.
    pub name: String,
    /// Latest state without `TASK_` (`RUNNING`); absent before any status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// `GET /v1/pod/{name}/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PodInstanceView {
    /// Pod instance, e.g. `hello-0`.
    pub name: String,
    /// Its tasks.
    pub tasks: Vec<TaskSummary>,
}

/// One pod type in [`PodStatusesView`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PodTypeView {
    /// Pod type.
    pub name: String,
    /// Its instances by index.
    pub instances: Vec<PodInstanceView>,
}

/// `GET /v1/pod/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PodStatusesView {
    /// Service name.
    pub service: String,
    /// Pod types, sorted.
    pub pods: Vec<PodTypeView>,
}

fn grouped(snapshot: &ServiceSnapshot) -> BTreeMap<(String, u32), Vec<&TaskView>> {
    let mut out: BTreeMap<(String, u32), Vec<&TaskView>> = BTreeMap::new();
    for task in &snapshot.tasks {
        if let Some(pod) = pod_instance_of(&task.info) {
            out.entry((pod.pod_type, pod.index)).or_default().push(task);
        }
    }
    for tasks in out.values_mut() {
        tasks.sort_by(|a, b| a.info.name.cmp(&b.info.name));
    }
    out
}

fn state_name(state: i32) -> String {
    let name = TaskState::try_from(state).map_or("TASK_UNKNOWN", |s| s.as_str_name());
    name.strip_prefix("TASK_").unwrap_or(name).to_string()
}

fn summary(task: &TaskView) -> TaskSummary {
    TaskSummary {
        id: task.info.task_id.value.clone(),
        name: task.info.name.clone(),
        status: task.status.as_ref().map(|s| state_name(s.state)),
    }
}

/// `GET /v1/pod`: pod instance names, sorted by type and index.
#[must_use]
pub fn pod_names(snapshot: &ServiceSnapshot) -> Vec<String> {
    grouped(snapshot)
        .keys()
        .map(|(t, i)| format!("{t}-{i}"))
        .collect()
}

/// `GET /v1/pod/status`.
#[must_use]
pub fn pod_statuses(snapshot: &ServiceSnapshot) -> PodStatusesView {
    let mut pods: Vec<PodTypeView> = Vec::new();
    for ((pod_type, index), tasks) in grouped(snapshot) {
        let instance = PodInstanceView {
            name: format!("{pod_type}-{index}"),
            tasks: tasks.into_iter().map(summary).collect(),
        };
        match pods.last_mut() {
            Some(last) if last.name == pod_type => last.instances.push(instance),
            _ => pods.push(PodTypeView {
                name: pod_type,
                instances: vec![instance],
            }),
        }
    }
    PodStatusesView {
        service: snapshot.service.clone(),
        pods,
    }
}

/// `GET /v1/pod/{name}/status`; `None` for an unknown pod instance.
#[must_use]
pub fn pod_status(snapshot: &ServiceSnapshot, name: &str) -> Option<PodInstanceView> {
    let tasks = pod_tasks(snapshot, name)?;
    Some(PodInstanceView {
        name: name.to_string(),
        tasks: tasks.into_iter().map(summary).collect(),
    })
}

/// The stored tasks of pod instance `name`, sorted by name.
pub(super) fn pod_tasks<'s>(
    snapshot: &'s ServiceSnapshot,
    name: &str,
) -> Option<Vec<&'s TaskView>> {
    grouped(snapshot)
        .into_iter()
        .find(|((t, i), _)| format!("{t}-{i}") == name)
        .map(|(_, tasks)| tasks)
}

/// `GET /v1/pod/{name}/info` body: `[{"info": TaskInfo, "status": TaskStatus}]`
/// in Mesos JSON.
pub(super) fn pod_info(tasks: &[&TaskView]) -> serde_json::Value {
    let list: Vec<serde_json::Value> = tasks
        .iter()
        .map(|t| {
            let mut entry = serde_json::Map::new();
            entry.insert("info".into(), plinth_proto::json::to_value(&t.info));
            if let Some(status) = &t.status {
                entry.insert("status".into(), plinth_proto::json::to_value(status));
            }
            serde_json::Value::Object(entry)
        })
        .collect();
    serde_json::Value::Array(list)
}

fn pod_not_found(name: &str) -> Response {
    ApiError::not_found(format!("Pod {name} not found")).into_response()
}

async fn list(State(state): State<ApiState>) -> Response {
    Json(pod_names(&state.current())).into_response()
}

async fn statuses(State(state): State<ApiState>) -> Response {
    Json(pod_statuses(&state.current())).into_response()
}

async fn status(State(state): State<ApiState>, Path(name): Path<String>) -> Response {
    match pod_status(&state.current(), &name) {
        Some(view) => Json(view).into_response(),
        None => pod_not_found(&name),
    }
}

async fn info(State(state): State<ApiState>, Path(name): Path<String>) -> Response {
    let snapshot = state.current();
    match pod_tasks(&snapshot, &name) {
        Some(tasks) => Json(pod_info(&tasks)).into_response(),
        None => pod_not_found(&name),
    }
}

async fn pod_command(state: &ApiState, command: Command) -> Response {
    match state.command(command).await {
        Ok(CommandReply::Pod { pod, tasks }) => {
            Json(serde_json::json!({ "pod": pod, "tasks": tasks })).into_response()
        }
        Ok(_) => {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "unexpected answer").into_response()
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

async fn restart(State(state): State<ApiState>, Path(name): Path<String>) -> Response {
    pod_command(&state, Command::RestartPod(name)).await
}

async fn replace(State(state): State<ApiState>, Path(name): Path<String>) -> Response {
    pod_command(&state, Command::ReplacePod(name)).await
}

async fn not_supported(Path(name): Path<String>) -> Response {
    ApiError::new(
        StatusCode::NOT_IMPLEMENTED,
        format!("pod pause/resume is not supported yet (pod {name}); use restart or replace"),
    )
    .into_response()
}
