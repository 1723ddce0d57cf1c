//! `/v2/debug/offers`: the last offer cycle's evaluation outcomes — for each
//! pod instance waiting to be placed and each agent looked at, every
//! stage's verdict (e.g. `insufficient cpus: needed 1.1, offered 0.5`).

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::ApiState;

pub(super) fn routes() -> Router<ApiState> {
    Router::new().route("/v2/debug/offers", get(offers))
}

async fn offers(State(state): State<ApiState>) -> Response {
    Json(state.current().outcomes.clone()).into_response()
}
