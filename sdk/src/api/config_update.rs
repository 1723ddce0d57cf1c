//! Config updates through the API, with the same body for both calls:
//! `{"spec": "<svc.yml text>", "env": {"KEY": "VALUE", …}}` (`env` optional).
//!
//! * `POST /v1/configurations/dry-run` — what the update would do,
//!   computed against the running scheduler's target (the API side of
//!   `plinth config diff`): 200 with the [`DryRun`](crate::config::DryRun)
//!   as JSON, its `accepted` saying whether it would be taken. Nothing is
//!   stored or restarted.
//! * `PUT /v1/configurations/target` — the update itself, exactly as a
//!   scheduler restarted with this spec would take it: validated against
//!   the target; accepted → 200 `{"target_id": …}` and the changed pods
//!   roll by the plan's strategy; refused → 409 with every reason in
//!   `errors`, the old target kept and nothing restarted.
//!
//! Both answer 400 when the body is malformed or the new spec does not load
//! (every problem with its line), 404 when there is no target yet.

use std::collections::BTreeMap;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{post, put};
use bytes::Bytes;
use serde::Deserialize;

use super::configs::target_of;
use super::{ApiError, ApiState};
use crate::config::{dry_run, spec_from_stored};
use crate::scheduler::runner::LAST_COMPLETED_UPDATE_TYPE;
use crate::scheduler::{Command, CommandError, CommandReply};
use crate::spec::ServiceSpec;

pub(super) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/v1/configurations/dry-run", post(dry_run_handler))
        .route("/v1/configurations/target", put(update_handler))
}

/// The request body of both calls.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigRequest {
    /// The new svc.yml, as text.
    spec: String,
    /// Variables rendering it.
    #[serde(default)]
    env: BTreeMap<String, String>,
}

/// The new spec from a request body; 400 saying what is wrong.
fn new_spec(body: &[u8]) -> Result<ServiceSpec, ApiError> {
    let request: ConfigRequest = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!(
            "malformed body: {e}; expected {{\"spec\": \"<svc.yml>\", \"env\": {{\"KEY\": \"VALUE\"}}}}"
        ))
    })?;
    Ok(
        crate::spec::load_str(&request.spec, &request.env, Some("request spec"))
            .map_err(|e| ApiError::bad_request(format!("the new spec does not load:\n{e}")))?
            .spec,
    )
}

fn internal(message: String) -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
}

async fn dry_run_handler(State(state): State<ApiState>, body: Bytes) -> Response {
    match dry_run_answer(&state, &body) {
        Ok(json) => Json(json).into_response(),
        Err(e) => e.into_response(),
    }
}

fn dry_run_answer(state: &ApiState, body: &[u8]) -> Result<serde_json::Value, ApiError> {
    let new = new_spec(body)?;
    let snapshot = state.current();
    let (id, target) = target_of(&snapshot.configs)?;
    let yml = target["service_yml"]
        .as_str()
        .ok_or_else(|| internal(format!("target configuration {id} holds no service_yml")))?;
    let old = spec_from_stored(id, yml)
        .map_err(|e| internal(format!("target configuration {id} does not load: {e}")))?;
    let deployed = snapshot
        .properties
        .get(LAST_COMPLETED_UPDATE_TYPE)
        .is_some_and(|v| v.as_ref() == b"DEPLOY");
    serde_json::to_value(dry_run(&old, &new, deployed))
        .map_err(|e| internal(format!("rendering the dry run: {e}")))
}

async fn update_handler(State(state): State<ApiState>, body: Bytes) -> Response {
    let new = match new_spec(&body) {
        Ok(spec) => spec,
        Err(e) => return e.into_response(),
    };
    if let Err(e) = target_of(&state.current().configs) {
        return e.into_response();
    }
    let service_yml = match crate::spec::to_yaml(&new) {
        Ok(yml) => yml,
        Err(e) => return internal(format!("serialising the new spec: {e}")).into_response(),
    };
    match state.command(Command::UpdateConfig { service_yml }).await {
        Ok(CommandReply::ConfigUpdated { target_id }) => Json(serde_json::json!({
            "target_id": target_id,
            "message": format!("target configuration is {target_id}; changed pods roll by the plan's strategy"),
        }))
        .into_response(),
        Ok(_) => internal("unexpected answer".into()).into_response(),
        Err(refused @ CommandError::ConfigRefused(_)) => {
            let CommandError::ConfigRefused(errors) = &refused else {
                unreachable!()
            };
            (
                StatusCode::CONFLICT,
                Json(serde_json::json!({
                    "message": format!("{refused} (the current target stays and nothing restarts)"),
                    "errors": errors,
                })),
            )
                .into_response()
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}
