//! `/v1/configurations`: the stored target configurations, as JSON.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::{ApiError, ApiState, ConfigsView};

pub(super) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/v1/configurations", get(list))
        .route("/v1/configurations/targetId", get(target_id))
        .route("/v1/configurations/target", get(target))
        .route("/v1/configurations/{id}", get(show))
}

/// The configuration `id`.
///
/// # Errors
/// 400 when `id` is not a UUID, 404 when no such configuration is stored.
pub(super) fn configuration<'c>(
    configs: &'c ConfigsView,
    id: &str,
) -> Result<&'c serde_json::Value, ApiError> {
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(ApiError::bad_request(format!(
            "invalid configuration id '{id}': expected a UUID"
        )));
    }
    configs
        .by_id
        .get(id)
        .ok_or_else(|| ApiError::not_found(format!("Configuration {id} not found")))
}

/// The target configuration's id and content.
///
/// # Errors
/// 404 when there is no target.
pub(super) fn target_of(configs: &ConfigsView) -> Result<(&str, &serde_json::Value), ApiError> {
    let id = configs
        .target_id
        .as_deref()
        .ok_or_else(|| ApiError::not_found("No target configuration exists"))?;
    let config = configs
        .by_id
        .get(id)
        .ok_or_else(|| ApiError::not_found(format!("Configuration {id} not found")))?;
    Ok((id, config))
}

async fn list(State(state): State<ApiState>) -> Response {
    let ids: Vec<String> = state.current().configs.by_id.keys().cloned().collect();
    Json(ids).into_response()
}

async fn show(State(state): State<ApiState>, Path(id): Path<String>) -> Response {
    let snapshot = state.current();
    match configuration(&snapshot.configs, &id) {
        Ok(config) => Json(config).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn target_id(State(state): State<ApiState>) -> Response {
    match state.current().configs.target_id.clone() {
        Some(id) => Json(vec![id]).into_response(),
        None => ApiError::not_found("No target configuration exists").into_response(),
    }
}

async fn target(State(state): State<ApiState>) -> Response {
    let snapshot = state.current();
    match target_of(&snapshot.configs) {
        Ok((_, config)) => Json(config).into_response(),
        Err(e) => e.into_response(),
    }
}
