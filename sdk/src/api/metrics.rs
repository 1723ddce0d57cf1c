//! Scheduler metrics in a per-scheduler `prometheus-client` [`Registry`]
//! (no globals), served as Prometheus text on `/v1/metrics/prometheus` (and
//! `/metrics`) and as JSON on `/v1/metrics`.
//!
//! | metric | kind | labels |
//! | --- | --- | --- |
//! | `plinth_offers_received_total` | counter | |
//! | `plinth_offers_accepted_total` | counter | |
//! | `plinth_offers_declined_total` | counter | |
//! | `plinth_operations_total` | counter | `operation` (RESERVE, CREATE, LAUNCH_GROUP, …) |
//! | `plinth_calls_total` | counter | `call` (ACCEPT, DECLINE, KILL, REVIVE, SUPPRESS, …) |
//! | `plinth_task_statuses_total` | counter | `state` (TASK_RUNNING, …) |
//! | `plinth_plan_steps` | gauge | `plan`, `status` |
//! | `plinth_offer_evaluation_seconds` | histogram | |

use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use plinth_proto::v1::offer::operation;
use plinth_proto::v1::scheduler::call;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::{ApiError, ApiState};
use crate::plan::Plan;
use crate::scheduler::{Effect, Input};

pub(super) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/v1/metrics", get(json))
        .route("/v1/metrics/prometheus", get(prometheus))
        .route("/metrics", get(prometheus))
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    call: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StepLabels {
    plan: String,
    status: String,
}

/// One scheduler's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    offers_received: Counter,
    offers_accepted: Counter,
    offers_declined: Counter,
    operations: Family<OperationLabels, Counter>,
    calls: Family<CallLabels, Counter>,
    task_statuses: Family<StateLabels, Counter>,
    plan_steps: Family<StepLabels, Gauge>,
    evaluation: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric at zero.
    #[must_use]
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("plinth");
        let offers_received = Counter::default();
        let offers_accepted = Counter::default();
        let offers_declined = Counter::default();
        let operations = Family::<OperationLabels, Counter>::default();
        let calls = Family::<CallLabels, Counter>::default();
        let task_statuses = Family::<StateLabels, Counter>::default();
        let plan_steps = Family::<StepLabels, Gauge>::default();
        let evaluation = Histogram::new(exponential_buckets(0.000_05, 4.0, 10));
        registry.register(
            "offers_received",
            "Offers received from the master",
            offers_received.clone(),
        );
        registry.register(
            "offers_accepted",
            "Offers accepted (launches and cleanups)",
            offers_accepted.clone(),
        );
        registry.register(
            "offers_declined",
            "Offers declined",
            offers_declined.clone(),
        );
        registry.register(
            "operations",
            "Offer operations sent, by type",
            operations.clone(),
        );
        registry.register("calls", "Calls sent to the master, by type", calls.clone());
        registry.register(
            "task_statuses",
            "Task status updates received, by state",
            task_statuses.clone(),
        );
        registry.register(
            "plan_steps",
            "Plan steps by plan and status",
            plan_steps.clone(),
        );
        registry.register(
            "offer_evaluation_seconds",
            "Time to evaluate one batch of offers",
            evaluation.clone(),
        );
        Self {
            registry,
            offers_received,
            offers_accepted,
            offers_declined,
            operations,
            calls,
            task_statuses,
            plan_steps,
            evaluation,
        }
    }

    /// Counts an input to the core.
    pub fn observe_input(&self, input: &Input) {
        match input {
            Input::Offers(offers) => {
                self.offers_received.inc_by(offers.len() as u64);
            }
            Input::Update(status) => {
                let state = plinth_proto::v1::TaskState::try_from(status.state)
                    .map_or("TASK_UNKNOWN", |s| s.as_str_name());
                self.task_statuses
                    .get_or_create(&StateLabels {
                        state: state.to_string(),
                    })
                    .inc();
            }
            _ => {}
        }
    }

    /// Records how long one offer evaluation took.
    pub fn observe_evaluation(&self, took: Duration) {
        self.evaluation.observe(took.as_secs_f64());
    }

    /// Counts the calls among `effects`.
    pub fn observe_effects(&self, effects: &[Effect]) {
        for effect in effects {
            let Effect::Call(c) = effect else { continue };
            let kind = c.r#type.and_then(|t| call::Type::try_from(t).ok());
            let name = kind.map_or("UNKNOWN", |t| t.as_str_name());
            self.calls
                .get_or_create(&CallLabels {
                    call: name.to_string(),
                })
                .inc();
            if let Some(accept) = &c.accept {
                self.offers_accepted.inc_by(accept.offer_ids.len() as u64);
                for op in &accept.operations {
                    let op_name = op
                        .r#type
                        .and_then(|t| operation::Type::try_from(t).ok())
                        .map_or("UNKNOWN", |t| t.as_str_name());
                    self.operations
                        .get_or_create(&OperationLabels {
                            operation: op_name.to_string(),
                        })
                        .inc();
                }
            }
            if let Some(decline) = &c.decline {
                self.offers_declined.inc_by(decline.offer_ids.len() as u64);
            }
        }
    }

    /// Sets the step gauges from `plans`.
    pub fn observe_plans(&self, plans: &[Plan]) {
        self.plan_steps.clear();
        for plan in plans {
            for (_, step) in plan.steps() {
                self.plan_steps
                    .get_or_create(&StepLabels {
                        plan: plan.name().to_string(),
                        status: step.status().to_string(),
                    })
                    .inc();
            }
        }
    }

    /// The Prometheus text exposition.
    ///
    /// # Errors
    /// Formatting failed (never for a `String`).
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

fn no_metrics() -> Response {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "this API has no metrics registry",
    )
    .into_response()
}

async fn prometheus(State(state): State<ApiState>) -> Response {
    let Some(metrics) = state.metrics() else {
        return no_metrics();
    };
    metrics.observe_plans(&state.current().plans);
    match metrics.encode() {
        Ok(text) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(e) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// `/v1/metrics`: every sample as `{"name{labels}": value}`.
async fn json(State(state): State<ApiState>) -> Response {
    let Some(metrics) = state.metrics() else {
        return no_metrics();
    };
    metrics.observe_plans(&state.current().plans);
    let text = match metrics.encode() {
        Ok(text) => text,
        Err(e) => {
            return ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response();
        }
    };
    let mut samples = serde_json::Map::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        if let Some((name, value)) = line.rsplit_once(' ')
            && let Ok(v) = value.parse::<f64>()
        {
            samples.insert(name.to_string(), serde_json::json!(v));
        }
    }
    Json(serde_json::json!({ "metrics": samples })).into_response()
}
