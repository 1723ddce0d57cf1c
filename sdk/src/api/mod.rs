//! The operator API: dcos-commons' REST paths and a gRPC service
//! (`plinth.operator.v1`, with server reflection) on one port.
//!
//! The scheduler loop owns its state. After every change it publishes a
//! read-only [`ServiceSnapshot`] through a `watch` channel (and the step
//! status changes through a `broadcast` channel, for `WatchPlan`); every read
//! is answered from the latest snapshot, so a slow client never holds up the
//! loop. Every mutation is a [`Command`] sent through a bounded channel to
//! the loop, which answers once its effects are carried out.
//!
//! | method | path | answer |
//! | --- | --- | --- |
//! | GET | `/v1/plans` | plan names |
//! | GET | `/v1/plans/{plan}` | the plan tree; 200 complete, 202 in progress, 417 errors, 404 unknown |
//! | POST | `/v1/plans/{plan}/start` | JSON object of env overrides (optional); 200, 400 malformed, 404 |
//! | POST | `/v1/plans/{plan}/stop` | 200, 404 |
//! | POST | `/v1/plans/{plan}/continue[?phase=]`, `/interrupt[?phase=]` | 200 applied, 208 already, 404 |
//! | POST | `/v1/plans/{plan}/forceComplete[?phase=[&step=]]`, `/restart[?phase=[&step=]]` | 200, 208, 400 step without phase, 404 |
//! | GET/POST | `/v1/plan`, `/v1/plan/{continue,interrupt,forceComplete,restart}` | deprecated: the `deploy` plan |
//! | GET | `/v1/pod`, `/v1/pod/status`, `/v1/pod/{name}/status`, `/v1/pod/{name}/info` | pods from the stored tasks; 404 unknown |
//! | POST | `/v1/pod/{name}/restart`, `/v1/pod/{name}/replace` | `{"pod","tasks"}`; 404 unknown |
//! | POST | `/v1/pod/{name}/pause`, `/v1/pod/{name}/resume` | optional JSON task list (`["server"]`); `{"pod","tasks"}`; 404 unknown pod or task, 400 malformed |
//! | GET | `/v1/endpoints`, `/v1/endpoints/{name}` | advertised ports: `dns`, `address`, `vip` |
//! | GET | `/v1/configurations`, `/{id}`, `/targetId`, `/target` | stored configs as JSON; 400 bad id, 404 unknown |
//! | POST | `/v1/configurations/dry-run` | `{"spec": "<svc.yml>", "env": {…}}`: the dry run of that update against the target; 400 malformed or not loading |
//! | PUT | `/v1/configurations/target` | the same body: apply the update; 200 `{"target_id"}`, 409 refused with `errors`, 400 |
//! | POST | `/v1/uninstall` | `{"service": "<name>"}` (must match): 202, then the scheduler uninstalls the service and exits |
//! | GET | `/v1/state/frameworkId`, `/properties`, `/properties/{key}`, `/files`, `/files/{name}` | |
//! | PUT | `/v1/state/files/{name}` | multipart field `file`, at most 1024 bytes |
//! | GET | `/v1/health[?verbose=true]` | dcos-commons' service status code ([`health`]) |
//! | GET | `/v2/debug/offers` | why each pending pod was (not) placed, per agent |
//! | GET | `/v1/metrics/prometheus` (also `/metrics`), `/v1/metrics` | Prometheus text; JSON counters |
//!
//! Errors are JSON `{"message": "..."}`. With a token configured
//! ([`ApiOptions::token`]), every mutating call (REST `POST`/`PUT`, gRPC
//! methods that change something) needs `Authorization: Bearer <token>`;
//! reads too with [`ApiOptions::auth_reads`]. Missing or wrong → 401 (gRPC:
//! `UNAUTHENTICATED`) and nothing changes.

pub mod auth;
mod config_update;
pub(crate) mod configs;
mod debug;
mod endpoints;
pub mod grpc;
pub mod health;
pub mod metrics;
mod plans;
pub(crate) mod pods;
pub mod publish;
mod server;
mod shared;
mod state;
mod tasks;
pub mod tls;
mod uninstall;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use plinth_proto::v1::{TaskInfo, TaskStatus};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

pub use auth::ApiToken;
pub use endpoints::{EndpointView, endpoints_of};
pub use metrics::Metrics;
pub use pods::{
    PodInstanceView, PodStatusesView, PodTypeView, TaskSummary, pod_names, pod_status, pod_statuses,
};
pub use publish::{LoadedState, PlanUpdate, Publisher};
pub use server::{ApiServer, ServeError};
pub use shared::Shared;
pub use tasks::Tasks;

use crate::offer::OfferOutcome;
use crate::plan::Plan;
use crate::scheduler::{Command, CommandError, CommandResult};

/// Commands buffered between the API and the scheduler loop.
pub const COMMAND_QUEUE: usize = 64;
/// How long the API waits for the loop to take and answer a command.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest request body accepted (JSON bodies and uploads).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A stored task as the API shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskView {
    /// The stored TaskInfo (shared with the scheduler core).
    pub info: Arc<TaskInfo>,
    /// Its latest status, if any.
    pub status: Option<TaskStatus>,
}

/// The stored configurations.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConfigsView {
    /// The target configuration's id.
    pub target_id: Option<String>,
    /// Every stored configuration as JSON, by id.
    pub by_id: BTreeMap<String, serde_json::Value>,
}

/// What the scheduler publishes for the API after every change.
#[derive(Debug, Clone, Default)]
pub struct ServiceSnapshot {
    /// Increases with every published change.
    pub version: u64,
    /// The service name.
    pub service: String,
    /// Every plan, `deploy` first.
    pub plans: Shared<Vec<Plan>>,
    /// The FrameworkID, once registered.
    pub framework_id: Option<String>,
    /// Every stored task, by name.
    pub tasks: Tasks,
    /// The last offer cycle's evaluation outcomes.
    pub outcomes: Shared<Vec<OfferOutcome>>,
    /// Stored configurations.
    pub configs: Arc<ConfigsView>,
    /// Stored properties.
    pub properties: Arc<BTreeMap<String, Bytes>>,
}

/// One command from the API to the scheduler loop and where to answer it.
#[derive(Debug)]
pub struct CommandRequest {
    /// What to do.
    pub command: Command,
    /// Where the loop sends the result.
    pub reply: oneshot::Sender<CommandResult>,
}

/// Where TLS material for the API is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM certificate chain.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
}

/// How the API is served.
#[derive(Debug, Clone, Default)]
pub struct ApiOptions {
    /// Bearer token required by mutating calls (`None`: no auth).
    pub token: Option<ApiToken>,
    /// Require the token for reads too.
    pub auth_reads: bool,
    /// Serve HTTPS (and gRPC over TLS) with this certificate and key.
    pub tls: Option<TlsFiles>,
}

/// Shared state of the API handlers (REST and gRPC).
#[derive(Debug, Clone)]
pub struct ApiState {
    snapshot: watch::Receiver<Arc<ServiceSnapshot>>,
    commands: Option<mpsc::Sender<CommandRequest>>,
    events: Option<broadcast::Sender<Arc<PlanUpdate>>>,
    metrics: Option<Arc<Metrics>>,
}

impl ApiState {
    /// A read-only API over the snapshots the scheduler publishes: commands
    /// answer 503 until [`ApiState::with_commands`] connects them.
    #[must_use]
    pub fn new(snapshot: watch::Receiver<Arc<ServiceSnapshot>>) -> Self {
        Self {
            snapshot,
            commands: None,
            events: None,
            metrics: None,
        }
    }

    /// Sends commands to `commands` (the scheduler loop, or a test's fake).
    #[must_use]
    pub fn with_commands(mut self, commands: mpsc::Sender<CommandRequest>) -> Self {
        self.commands = Some(commands);
        self
    }

    /// Streams plan changes from `events` to `WatchPlan`.
    #[must_use]
    pub fn with_events(mut self, events: broadcast::Sender<Arc<PlanUpdate>>) -> Self {
        self.events = Some(events);
        self
    }

    /// Serves `metrics` on `/v1/metrics*`.
    #[must_use]
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// The latest snapshot.
    #[must_use]
    pub fn current(&self) -> Arc<ServiceSnapshot> {
        Arc::clone(&self.snapshot.borrow())
    }

    /// A receiver of snapshots (for streams).
    #[must_use]
    pub fn snapshots(&self) -> watch::Receiver<Arc<ServiceSnapshot>> {
        self.snapshot.clone()
    }

    /// Subscribes to plan changes, if the scheduler publishes them.
    #[must_use]
    pub fn subscribe(&self) -> Option<broadcast::Receiver<Arc<PlanUpdate>>> {
        self.events.as_ref().map(broadcast::Sender::subscribe)
    }

    /// Sends `command` to the scheduler loop and waits for its answer.
    ///
    /// # Errors
    /// The command's own error, or [`CommandError::Unavailable`] when the
    /// loop is gone or does not answer within [`COMMAND_TIMEOUT`].
    pub async fn command(&self, command: Command) -> CommandResult {
        let Some(commands) = &self.commands else {
            return Err(CommandError::Unavailable("this API is read-only".into()));
        };
        let (reply, answer) = oneshot::channel();
        let request = CommandRequest { command, reply };
        match tokio::time::timeout(COMMAND_TIMEOUT, commands.send(request)).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => {
                return Err(CommandError::Unavailable(
                    "the scheduler loop stopped".into(),
                ));
            }
            Err(_) => {
                return Err(CommandError::Unavailable(
                    "the scheduler loop is busy".into(),
                ));
            }
        }
        match tokio::time::timeout(COMMAND_TIMEOUT, answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(CommandError::Unavailable(
                "the scheduler loop stopped".into(),
            )),
            Err(_) => Err(CommandError::Unavailable(
                "no answer from the scheduler loop in time".into(),
            )),
        }
    }

    fn metrics(&self) -> Option<&Arc<Metrics>> {
        self.metrics.as_ref()
    }
}

/// The REST routes (no gRPC, no auth layer; see [`app`] for the full service).
pub fn router(state: ApiState) -> Router {
    rest_routes().fallback(not_found).with_state(state)
}

fn rest_routes() -> Router<ApiState> {
    Router::new()
        .merge(plans::routes())
        .merge(pods::routes())
        .merge(endpoints::routes())
        .merge(configs::routes())
        .merge(config_update::routes())
        .merge(uninstall::routes())
        .merge(state::routes())
        .merge(health::routes())
        .merge(debug::routes())
        .merge(metrics::routes())
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// REST and gRPC (with reflection) on one router, behind the auth layer
/// when a token is configured. Requests that match no REST route go to gRPC
/// when their content type is `application/grpc*`, else get a JSON 404.
pub fn app(state: ApiState, options: &ApiOptions) -> Router {
    let grpc = grpc::routes(state.clone()).into_axum_router();
    let app = rest_routes()
        .fallback(move |request: axum::extract::Request| {
            let grpc = grpc.clone();
            async move {
                let is_grpc = request
                    .headers()
                    .get(axum::http::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.starts_with("application/grpc"));
                if is_grpc {
                    use tower::ServiceExt as _;
                    match grpc.oneshot(request).await {
                        Ok(response) => response,
                        Err(never) => match never {},
                    }
                } else {
                    not_found(request.uri().clone()).await
                }
            }
        })
        .with_state(state);
    auth::layer(app, options)
}

/// An API error: status and message, answered as JSON `{"message": ...}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// What went wrong.
    pub message: String,
}

impl ApiError {
    /// An error with `status`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// 400.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
}

impl From<CommandError> for ApiError {
    fn from(e: CommandError) -> Self {
        let status =
            StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Self::new(status, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json_error(self.status, self.message)
    }
}

/// A JSON error body, as every API error is answered.
pub(crate) fn json_error(status: StatusCode, message: impl Into<String>) -> Response {
    let body = serde_json::json!({ "message": message.into() });
    (status, axum::Json(body)).into_response()
}

/// A JSON body with a status code that may be outside the usual range
/// (dcos-commons' health codes).
pub(crate) fn json_with_status(code: u16, body: impl serde::Serialize) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(body)).into_response()
}

async fn not_found(uri: axum::http::Uri) -> Response {
    json_error(
        StatusCode::NOT_FOUND,
        format!("no such endpoint: {}", uri.path()),
    )
}

async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    json_error(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{method} is not allowed on {}", uri.path()),
    )
}
