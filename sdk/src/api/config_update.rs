//! `POST /v1/configurations/dry-run`: what a config update would do,
//! computed against the running scheduler's target configuration — the
//! API side of `plinth config diff`. Nothing is stored or restarted.
//!
//! Body: `{"spec": "<svc.yml text>", "env": {"KEY": "VALUE", …}}` (`env`
//! optional). Answers 200 with the [`DryRun`](crate::config::DryRun) as
//! JSON (its `accepted` says whether the scheduler would take the change),
//! 400 when the body is malformed or the new spec does not load (with every
//! problem and its line), 404 when there is no target yet.

use std::collections::BTreeMap;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use bytes::Bytes;
use serde::Deserialize;

use super::configs::target_of;
use super::{ApiError, ApiState};
use crate::config::{dry_run, spec_from_stored};
use crate::scheduler::runner::LAST_COMPLETED_UPDATE_TYPE;

pub(super) fn routes() -> Router<ApiState> {
    Router::new().route("/v1/configurations/dry-run", post(dry_run_handler))
}

/// The request body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DryRunRequest {
    /// The new svc.yml, as text.
    spec: String,
    /// Variables rendering it.
    #[serde(default)]
    env: BTreeMap<String, String>,
}

async fn dry_run_handler(State(state): State<ApiState>, body: Bytes) -> Response {
    match answer(&state, &body) {
        Ok(json) => Json(json).into_response(),
        Err(e) => e.into_response(),
    }
}

fn answer(state: &ApiState, body: &[u8]) -> Result<serde_json::Value, ApiError> {
    let request: DryRunRequest = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!(
            "malformed body: {e}; expected {{\"spec\": \"<svc.yml>\", \"env\": {{\"KEY\": \"VALUE\"}}}}"
        ))
    })?;
    let new = crate::spec::load_str(&request.spec, &request.env, Some("request spec"))
        .map_err(|e| ApiError::bad_request(format!("the new spec does not load:\n{e}")))?
        .spec;
    let snapshot = state.current();
    let (id, target) = target_of(&snapshot.configs)?;
    let yml = target["service_yml"].as_str().ok_or_else(|| {
        ApiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            format!("target configuration {id} holds no service_yml"),
        )
    })?;
    let old = spec_from_stored(id, yml).map_err(|e| {
        ApiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            format!("target configuration {id} does not load: {e}"),
        )
    })?;
    let deployed = snapshot
        .properties
        .get(LAST_COMPLETED_UPDATE_TYPE)
        .is_some_and(|v| v.as_ref() == b"DEPLOY");
    serde_json::to_value(dry_run(&old, &new, deployed)).map_err(|e| {
        ApiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            format!("rendering the dry run: {e}"),
        )
    })
}
