//! `/v1/pod`: pod instances from the stored tasks (grouped by their
//! `task_type`/`index` labels), and restart/replace/pause/resume through the
//! loop.
//!
//! Pause and resume take an optional JSON list of task names (`["server"]`
//! or `["hello-0-server"]`; no body = every long-running task of the pod),
//! like dcos-commons. A paused task shows `status` `PAUSED` (`PAUSING` until
//! its idle relaunch runs, `RESUMING` after a resume until the real one runs),
//! with `goal_state_override`, `override_status` and the Mesos state in
//! `mesos_status`.

use std::collections::BTreeMap;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use plinth_proto::v1::TaskState;
use serde::Serialize;

use super::{ApiError, ApiState, ServiceSnapshot, TaskView};
use crate::offer::labels;
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
        .route("/v1/pod/{name}/pause", post(pause))
        .route("/v1/pod/{name}/resume", post(resume))
}

/// One task in a pod status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskSummary {
    /// Mesos task id (empty before launch).
    pub id: String,
    /// Task name, e.g. `hello-0-server`.
    pub name: String,
    /// Latest state without `TASK_` (`RUNNING`); absent before any status.
    /// With a goal-state override in play, dcos-commons' override state
    /// instead: `PAUSED`, `PAUSING` or `RESUMING`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The Mesos state when `status` shows an override state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mesos_status: Option<String>,
    /// The operator's goal-state override (`PAUSED`); absent for none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub goal_state_override: Option<String>,
    /// Progress of the last pause or resume: `PENDING` (not relaunched yet),
    /// `IN_PROGRESS` (relaunched, not running yet) or `COMPLETE`; absent when
    /// the task was never paused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub override_status: Option<String>,
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
    let mesos = task
        .status
        .as_ref()
        .filter(|s| s.task_id == task.info.task_id)
        .map(|s| state_name(s.state));
    let paused = labels::is_paused(&task.info);
    let progress = labels::task_label(&task.info, labels::OVERRIDE_STATUS);
    // The override is complete once the task launched with it (or, after a
    // resume, the task launched without it) runs.
    let running = mesos.as_deref() == Some("RUNNING");
    let override_status = match progress {
        None if paused => Some("PENDING"),
        None => None,
        Some(labels::OVERRIDE_PENDING) => Some("PENDING"),
        Some(_) if running => Some("COMPLETE"),
        Some(_) => Some("IN_PROGRESS"),
    };
    let shown = match (paused, override_status) {
        (true, Some("COMPLETE")) => Some("PAUSED"),
        (true, _) => Some("PAUSING"),
        (false, Some("PENDING")) => Some("RESUMING"),
        _ => None,
    };
    let status = task.status.as_ref().map(|s| state_name(s.state));
    TaskSummary {
        id: task.info.task_id.value.clone(),
        name: task.info.name.clone(),
        status: shown.map(str::to_string).or_else(|| status.clone()),
        mesos_status: shown.and(status),
        goal_state_override: paused.then(|| labels::PAUSED.to_string()),
        override_status: override_status.map(str::to_string),
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
            entry.insert("info".into(), plinth_proto::json::to_value(&*t.info));
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

/// The task names of a pause/resume body: empty (or whitespace) = all, else
/// a JSON list of strings, e.g. `["server"]`.
pub(super) fn task_filter(body: &[u8]) -> Result<Vec<String>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    const SHAPE: &str = "the body must be a JSON list of task names, e.g. [\"server\"]";
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("malformed JSON body ({e}): {SHAPE}")))?;
    let list = value
        .as_array()
        .ok_or_else(|| ApiError::bad_request(SHAPE))?;
    list.iter()
        .map(|v| match v.as_str() {
            Some(name) if !name.is_empty() => Ok(name.to_string()),
            _ => Err(ApiError::bad_request(format!(
                "{SHAPE}; got the element {v}"
            ))),
        })
        .collect()
}

async fn pause(State(state): State<ApiState>, Path(name): Path<String>, body: Bytes) -> Response {
    match task_filter(&body) {
        Ok(tasks) => pod_command(&state, Command::PausePod { pod: name, tasks }).await,
        Err(e) => e.into_response(),
    }
}

async fn resume(State(state): State<ApiState>, Path(name): Path<String>, body: Bytes) -> Response {
    match task_filter(&body) {
        Ok(tasks) => pod_command(&state, Command::ResumePod { pod: name, tasks }).await,
        Err(e) => e.into_response(),
    }
}
