//! The operator API: dcos-commons' REST paths over the scheduler's state.
//!
//! The scheduler loop owns its state and publishes a read-only
//! [`ServiceSnapshot`] after every change through a `watch` channel; the API
//! only reads snapshots, so a slow client never holds up the loop.
//!
//! | method | path | answer |
//! | --- | --- | --- |
//! | GET | `/v1/plans` | plan names |
//! | GET | `/v1/plans/{plan}` | the plan tree; 200 complete, 202 in progress, 417 errors, 404 unknown |

mod plans;

use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tokio::sync::watch;

use crate::plan::Plan;

/// What the scheduler publishes for the API after every change.
#[derive(Debug, Clone, Default)]
pub struct ServiceSnapshot {
    /// Every plan, `deploy` first.
    pub plans: Vec<Plan>,
}

/// Shared state of the API handlers.
#[derive(Debug, Clone)]
pub struct ApiState {
    snapshot: watch::Receiver<Arc<ServiceSnapshot>>,
}

impl ApiState {
    /// An API over the snapshots the scheduler publishes.
    #[must_use]
    pub fn new(snapshot: watch::Receiver<Arc<ServiceSnapshot>>) -> Self {
        Self { snapshot }
    }

    fn current(&self) -> Arc<ServiceSnapshot> {
        Arc::clone(&self.snapshot.borrow())
    }
}

/// The REST routes.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/v1/plans", axum::routing::get(plans::list))
        .route("/v1/plans/{plan}", axum::routing::get(plans::show))
        .fallback(not_found)
        .with_state(state)
}

/// A JSON error body, as every API error is answered.
pub(crate) fn json_error(status: StatusCode, message: impl Into<String>) -> Response {
    let body = serde_json::json!({ "message": message.into() });
    (status, axum::Json(body)).into_response()
}

async fn not_found(uri: axum::http::Uri) -> Response {
    json_error(StatusCode::NOT_FOUND, format!("no such endpoint: {}", uri.path()))
}
