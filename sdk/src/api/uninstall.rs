//! `POST /v1/uninstall`: remove the service. The body names it —
//! `{"service": "<name>"}` — so a script pointed at the wrong scheduler
//! cannot uninstall it by mistake (400 when it does not match).
//!
//! Answers 202 once the scheduler has marked its state `uninstalling`;
//! the scheduler then stops running the service and uninstalls it (every
//! task killed, volume destroyed, reservation released, the framework torn
//! down, the state root deleted) and exits. A scheduler restarted on a
//! state marked `uninstalling` resumes the uninstall, whatever its flags.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use bytes::Bytes;
use serde::Deserialize;

use super::{ApiError, ApiState};
use crate::scheduler::{Command, CommandReply};

pub(super) fn routes() -> Router<ApiState> {
    Router::new().route("/v1/uninstall", post(uninstall))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UninstallRequest {
    /// The service's name, as a confirmation.
    service: String,
}

async fn uninstall(State(state): State<ApiState>, body: Bytes) -> Response {
    let service = state.current().service.clone();
    let request: UninstallRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return ApiError::bad_request(format!(
                "malformed body: {e}; expected {{\"service\": \"{service}\"}}"
            ))
            .into_response();
        }
    };
    if request.service != service {
        return ApiError::bad_request(format!(
            "this scheduler runs service '{service}', not '{}': nothing done",
            request.service
        ))
        .into_response();
    }
    match state.command(Command::Uninstall).await {
        Ok(CommandReply::Uninstalling) => (
            StatusCode::ACCEPTED,
            Json(serde_json::json!({
                "message": format!("uninstalling service '{service}': the scheduler kills every task, releases every reservation and volume, tears the framework down, deletes its state and exits"),
            })),
        )
            .into_response(),
        Ok(_) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "unexpected answer").into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}
