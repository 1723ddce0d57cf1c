//! `/v1/health`: one status code for the whole service, with dcos-commons'
//! codes and priorities (`HealthResource`):
//!
//! | code | meaning | when |
//! | --- | --- | --- |
//! | 500 | error creating service | any plan has errors |
//! | 318 | initializing | no FrameworkID yet |
//! | 207 | deploying, waiting for the operator | the deploy plan is interrupted |
//! | 204 | deploying, pending | a deploy step is PENDING or PREPARED |
//! | 202 | deploying, starting | a deploy step is STARTING or STARTED |
//! | 208 | deploying, delayed | deploy steps wait out a crash-loop backoff |
//! | 203 / 205 | recovering, pending / starting | the recovery plan is at work |
//! | 321 / 320 | restoring / backing up | deploy complete and a `*restor*` / `*back*` plan is running |
//! | 200 | running | deploy and recovery complete |
//! | 503 | unavailable | nothing else applies |
//!
//! The body is `{"value": code}`, with `"reasons"` (one line per rule)
//! under `?verbose=true`.

use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use serde::{Deserialize, Serialize};

use super::{ApiState, ServiceSnapshot, json_with_status};
use crate::plan::{DEPLOY_PLAN, Plan, Status};
use crate::recovery::RECOVERY_PLAN;

pub(super) fn routes() -> Router<ApiState> {
    Router::new().route("/v1/health", get(get_health))
}

/// The service's health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Health {
    /// The status code (also the HTTP status).
    pub value: u16,
    /// Why, rule by rule.
    #[serde(skip)]
    pub reasons: Vec<String>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    total: usize,
    pending: usize,
    starting: usize,
    waiting: usize,
    delayed: usize,
    complete: usize,
}

fn counts(plan: &Plan) -> Counts {
    let mut c = Counts::default();
    for (_, step) in plan.steps() {
        c.total += 1;
        match step.status() {
            Status::Pending | Status::Prepared => c.pending += 1,
            Status::Starting | Status::Started | Status::InProgress => c.starting += 1,
            Status::Waiting => c.waiting += 1,
            Status::Delayed => c.delayed += 1,
            Status::Complete => c.complete += 1,
            Status::Error => {}
        }
    }
    c
}

/// The plan's stage: `(code, reason)` when it is at work.
fn at_work(
    plan: &Plan,
    pending: u16,
    starting: u16,
    waiting: u16,
    delayed: u16,
) -> (Option<u16>, String) {
    let c = counts(plan);
    let code = if plan.is_complete() {
        None
    } else if plan.status() == Status::Waiting && c.starting == 0 {
        Some(waiting)
    } else if c.pending > 0 {
        Some(pending)
    } else if c.starting > 0 {
        Some(starting)
    } else if c.delayed > 0 {
        Some(delayed)
    } else if c.waiting > 0 {
        Some(waiting)
    } else {
        Some(starting)
    };
    let reason = format!(
        "Plan {}: {}. Steps: Total({}) Pending({}) Starting({}) Waiting({}) Delayed({}) Completed({})",
        plan.name(),
        code.map_or_else(|| "complete".to_string(), |c| format!("status code {c}")),
        c.total,
        c.pending,
        c.starting,
        c.waiting,
        c.delayed,
        c.complete
    );
    (code, reason)
}

/// Evaluates the health rules over a snapshot.
#[must_use]
pub fn health(snapshot: &ServiceSnapshot) -> Health {
    let mut reasons = Vec::new();
    let errors = snapshot.plans.iter().any(|p| !p.errors().is_empty());
    reasons.push(format!(
        "Status code 500 is {}: errors in plans.",
        upper(errors)
    ));
    let initializing = snapshot.framework_id.is_none();
    reasons.push(format!(
        "Status code 318 is {}: no FrameworkID yet.",
        upper(initializing)
    ));
    let deploy = snapshot.plans.iter().find(|p| p.name() == DEPLOY_PLAN);
    let deploying = deploy.map(|p| at_work(p, 204, 202, 207, 208));
    if let Some((_, reason)) = &deploying {
        reasons.push(reason.clone());
    }
    let recovery = snapshot.plans.iter().find(|p| p.name() == RECOVERY_PLAN);
    let recovering = recovery.map(|p| at_work(p, 203, 205, 203, 203));
    if let Some((_, reason)) = &recovering {
        reasons.push(reason.clone());
    }
    let running_named = |needle: &str| {
        snapshot.plans.iter().any(|p| {
            p.name().contains(needle) && (p.status().is_running() || p.status() == Status::Starting)
        })
    };
    let deploy_complete = deploy.is_none_or(Plan::is_complete);
    let value = if errors {
        500
    } else if initializing {
        318
    } else if let Some((Some(code), _)) = deploying {
        code
    } else if let Some((Some(code), _)) = recovering {
        code
    } else if deploy_complete {
        if running_named("restor") {
            321
        } else if running_named("back") {
            320
        } else {
            200
        }
    } else {
        503
    };
    Health { value, reasons }
}

fn upper(b: bool) -> &'static str {
    if b { "TRUE" } else { "FALSE" }
}

#[derive(Debug, Default, Deserialize)]
struct Verbose {
    #[serde(default)]
    verbose: Option<String>,
}

async fn get_health(
    State(state): State<ApiState>,
    query: Result<Query<Verbose>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let verbose = query
        .ok()
        .and_then(|Query(v)| v.verbose)
        .is_some_and(|v| v.is_empty() || v.eq_ignore_ascii_case("true"));
    let h = health(&state.current());
    if verbose {
        json_with_status(
            h.value,
            serde_json::json!({ "value": h.value, "reasons": h.reasons }),
        )
    } else {
        json_with_status(h.value, serde_json::json!({ "value": h.value }))
    }
}
