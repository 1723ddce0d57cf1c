//! Read-only cluster endpoints (`/version`, `/master/state`) and the fault
//! control endpoint (`POST /testkit/faults`, `GET /testkit/stats`).

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::json;

use super::Shared;
use super::http::text;
use crate::cluster::{ClusterError, MESOS_VERSION};
use crate::faults::{Fault, FaultError};

pub(crate) async fn version() -> Json<serde_json::Value> {
    Json(json!({
        "version": MESOS_VERSION,
        "build_date": "2020-11-24 00:00:00",
        "build_time": 1_606_176_000.0,
        "build_user": "plinth-testkit",
        "git_sha": "",
        "git_tag": MESOS_VERSION,
    }))
}

pub(crate) async fn state(State(shared): State<Arc<Shared>>) -> Json<serde_json::Value> {
    Json(shared.with_cluster(|c, now| c.state_json(now)))
}

pub(crate) async fn stats(State(shared): State<Arc<Shared>>) -> Json<serde_json::Value> {
    let stats = shared.with_cluster(|c, _| c.stats());
    Json(serde_json::to_value(stats).unwrap_or_default())
}

pub(crate) async fn faults(State(shared): State<Arc<Shared>>, body: Body) -> Response {
    let limit = 1024 * 1024;
    let bytes = match tokio::time::timeout(
        shared.config.request_timeout,
        axum::body::to_bytes(body, limit),
    )
    .await
    {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => {
            return text(
                StatusCode::BAD_REQUEST,
                format!("cannot read the fault: {e}"),
            );
        }
        Err(_) => return text(StatusCode::REQUEST_TIMEOUT, "timed out reading the fault"),
    };
    let fault: Fault = match serde_json::from_slice(&bytes) {
        Ok(f) => f,
        Err(e) => return text(StatusCode::BAD_REQUEST, FaultError::Json(e).to_string()),
    };
    match shared.inject(&fault) {
        Ok(answer) => Json(answer).into_response(),
        Err(FaultError::Cluster(e @ ClusterError::NotFound { .. })) => {
            text(StatusCode::NOT_FOUND, e.to_string())
        }
        Err(e) => text(StatusCode::CONFLICT, e.to_string()),
    }
}
