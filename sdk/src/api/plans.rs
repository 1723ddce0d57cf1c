//! `/v1/plans` (and the deprecated `/v1/plan`): read plans from the
//! snapshot; operations go to the scheduler loop as commands.

use std::collections::BTreeMap;

use axum::Json;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use serde::Deserialize;

use super::{ApiError, ApiState};
use crate::plan::{DEPLOY_PLAN, OpResult, PlanInfo, plan_http_status, plan_names};
use crate::scheduler::{Command, CommandReply, PlanCommand};

pub(super) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/v1/plans", get(list))
        .route("/v1/plans/{plan}", get(show))
        .route("/v1/plans/{plan}/start", post(start))
        .route("/v1/plans/{plan}/stop", post(stop))
        .route("/v1/plans/{plan}/continue", post(proceed))
        .route("/v1/plans/{plan}/interrupt", post(interrupt))
        .route("/v1/plans/{plan}/forceComplete", post(force_complete))
        .route("/v1/plans/{plan}/restart", post(restart))
        .route("/v1/plan", get(deprecated_show))
        .route("/v1/plan/{op}", post(deprecated_op))
}

/// `?phase=&step=`.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Target {
    phase: Option<String>,
    step: Option<String>,
}

fn target(query: Result<Query<Target>, QueryRejection>) -> Result<Target, ApiError> {
    query
        .map(|Query(t)| t)
        .map_err(|e| ApiError::bad_request(format!("malformed query: {}", e.body_text())))
}

async fn list(State(state): State<ApiState>) -> Response {
    Json(plan_names(&state.current().plans)).into_response()
}

async fn show(State(state): State<ApiState>, Path(name): Path<String>) -> Response {
    show_plan(&state, &name)
}

fn show_plan(state: &ApiState, name: &str) -> Response {
    let snapshot = state.current();
    let Some(plan) = snapshot.plans.iter().find(|p| p.name() == name) else {
        return ApiError::not_found(format!("Plan {name} not found")).into_response();
    };
    let status = StatusCode::from_u16(plan_http_status(plan)).unwrap_or(StatusCode::OK);
    (status, Json(PlanInfo::of(plan))).into_response()
}

/// The parameters of `plan start`: a JSON object of environment variables
/// (strings; numbers and booleans are taken as their text). An empty body
/// means no parameters.
///
/// # Errors
/// A 400 naming what is wrong.
pub(super) fn start_parameters(body: &[u8]) -> Result<BTreeMap<String, String>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(BTreeMap::new());
    }
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("malformed JSON body: {e}")))?;
    let serde_json::Value::Object(map) = value else {
        return Err(ApiError::bad_request(
            "the body must be a JSON object of environment variables, e.g. {\"KEY\": \"value\"}",
        ));
    };
    let mut out = BTreeMap::new();
    for (key, value) in map {
        let text = match value {
            serde_json::Value::String(s) => s,
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            other => {
                return Err(ApiError::bad_request(format!(
                    "parameter {key}: expected a string, got {other}"
                )));
            }
        };
        out.insert(key, text);
    }
    Ok(out)
}

async fn run(state: &ApiState, plan: String, op: PlanCommand) -> Response {
    match state.command(Command::Plan { plan, op }).await {
        Ok(CommandReply::Plan(result)) => op_response(&result),
        Ok(_) => {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "unexpected answer").into_response()
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

fn op_response(result: &OpResult) -> Response {
    let status = StatusCode::from_u16(result.http_status()).unwrap_or(StatusCode::OK);
    (
        status,
        Json(serde_json::json!({ "message": result.message })),
    )
        .into_response()
}

async fn start(State(state): State<ApiState>, Path(plan): Path<String>, body: Bytes) -> Response {
    match start_parameters(&body) {
        Ok(parameters) => run(&state, plan, PlanCommand::Start(parameters)).await,
        Err(e) => e.into_response(),
    }
}

async fn stop(State(state): State<ApiState>, Path(plan): Path<String>) -> Response {
    run(&state, plan, PlanCommand::Stop).await
}

async fn proceed(
    State(state): State<ApiState>,
    Path(plan): Path<String>,
    query: Result<Query<Target>, QueryRejection>,
) -> Response {
    targeted(&state, plan, query, "continue").await
}

async fn interrupt(
    State(state): State<ApiState>,
    Path(plan): Path<String>,
    query: Result<Query<Target>, QueryRejection>,
) -> Response {
    targeted(&state, plan, query, "interrupt").await
}

async fn force_complete(
    State(state): State<ApiState>,
    Path(plan): Path<String>,
    query: Result<Query<Target>, QueryRejection>,
) -> Response {
    targeted(&state, plan, query, "forceComplete").await
}

async fn restart(
    State(state): State<ApiState>,
    Path(plan): Path<String>,
    query: Result<Query<Target>, QueryRejection>,
) -> Response {
    targeted(&state, plan, query, "restart").await
}

/// A phase/step operation (`continue`, `interrupt`, `forceComplete`,
/// `restart`: dcos-commons' path names) on `plan`.
async fn targeted(
    state: &ApiState,
    plan: String,
    query: Result<Query<Target>, QueryRejection>,
    op: &str,
) -> Response {
    let t = match target(query) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    let command = match op {
        "continue" => PlanCommand::Continue { phase: t.phase },
        "interrupt" => PlanCommand::Interrupt { phase: t.phase },
        "forceComplete" => PlanCommand::ForceComplete {
            phase: t.phase,
            step: t.step,
        },
        "restart" => PlanCommand::Restart {
            phase: t.phase,
            step: t.step,
        },
        other => {
            return ApiError::not_found(format!("no such endpoint: /v1/plan/{other}"))
                .into_response();
        }
    };
    run(state, plan, command).await
}

async fn deprecated_show(State(state): State<ApiState>) -> Response {
    show_plan(&state, DEPLOY_PLAN)
}

async fn deprecated_op(
    State(state): State<ApiState>,
    Path(op): Path<String>,
    query: Result<Query<Target>, QueryRejection>,
) -> Response {
    targeted(&state, DEPLOY_PLAN.to_string(), query, &op).await
}
