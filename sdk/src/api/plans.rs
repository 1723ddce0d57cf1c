//! `GET /v1/plans` and `GET /v1/plans/{plan}`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{ApiState, json_error};
use crate::plan::{PlanInfo, plan_http_status, plan_names};

pub(super) async fn list(State(state): State<ApiState>) -> Response {
    Json(plan_names(&state.current().plans)).into_response()
}

pub(super) async fn show(State(state): State<ApiState>, Path(name): Path<String>) -> Response {
    let snapshot = state.current();
    let Some(plan) = snapshot.plans.iter().find(|p| p.name() == name) else {
        return json_error(StatusCode::NOT_FOUND, format!("Plan '{name}' not found"));
    };
    let status = StatusCode::from_u16(plan_http_status(plan)).unwrap_or(StatusCode::OK);
    (status, Json(PlanInfo::of(plan))).into_response()
}
