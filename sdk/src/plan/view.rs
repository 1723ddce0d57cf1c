//! The JSON the plans API serves, in dcos-commons' shape, and its status codes.
//!
//! `GET /v1/plans` → `["deploy", "recovery", …]`;
//! `GET /v1/plans/{plan}` →
//! ```json
//! {"phases": [{"id": "…", "name": "hello", "steps": [{"id": "…", "status": "PENDING",
//!   "name": "hello-0:[server]", "message": "…"}], "status": "PENDING", "strategy": "serial"}],
//!  "errors": [], "status": "PENDING", "strategy": "serial"}
//! ```
//! answered with [`plan_http_status`]: 200 complete, 417 errors, 202 anything
//! else; an unknown plan is 404 ([`PlanError::http_status`](super::PlanError::http_status)).

use serde::{Deserialize, Serialize};

use super::Status;
use super::model::{Phase, Plan};
use super::step::Step;

/// `GET /v1/plans/{plan}` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanInfo {
    /// Phases in order.
    pub phases: Vec<PhaseInfo>,
    /// Errors of the plan, its phases and steps.
    pub errors: Vec<String>,
    /// Aggregated status.
    pub status: Status,
    /// `serial` / `parallel` / `dependency`.
    pub strategy: String,
}

/// One phase in [`PlanInfo`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseInfo {
    /// Phase id.
    pub id: String,
    /// Phase name.
    pub name: String,
    /// Steps in order.
    pub steps: Vec<StepInfo>,
    /// Aggregated status.
    pub status: Status,
    /// `serial`, `parallel`, `dependency`, optionally `-canary`.
    pub strategy: String,
}

/// One step in [`PhaseInfo`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepInfo {
    /// Step id.
    pub id: String,
    /// Displayed status.
    pub status: Status,
    /// Step name, e.g. `hello-0:[server]`.
    pub name: String,
    /// `DeploymentStep: 'hello-0:[server] [<id>]' has status: 'PENDING'.`
    pub message: String,
}

impl PlanInfo {
    /// The view of a plan.
    pub fn of(plan: &Plan) -> Self {
        PlanInfo {
            phases: plan.phases().iter().map(PhaseInfo::of).collect(),
            errors: plan.errors(),
            status: plan.status(),
            strategy: plan.strategy().name().to_string(),
        }
    }
}

impl PhaseInfo {
    /// The view of a phase.
    pub fn of(phase: &Phase) -> Self {
        PhaseInfo {
            id: phase.id().to_string(),
            name: phase.name().to_string(),
            steps: phase.steps().iter().map(StepInfo::of).collect(),
            status: phase.status(),
            strategy: phase.strategy_name(),
        }
    }
}

impl StepInfo {
    /// The view of a step.
    pub fn of(step: &Step) -> Self {
        StepInfo {
            id: step.id().to_string(),
            status: step.status(),
            name: step.name().to_string(),
            message: step.message(),
        }
    }
}

/// `GET /v1/plans` body: plan names in order.
pub fn plan_names(plans: &[Plan]) -> Vec<String> {
    plans.iter().map(|p| p.name().to_string()).collect()
}

/// HTTP status of `GET /v1/plans/{plan}`: 417 when the plan is `ERROR`, 200
/// when `COMPLETE`, 202 otherwise (pending, in progress, waiting, delayed).
pub fn plan_http_status(plan: &Plan) -> u16 {
    http_status_for(plan.status())
}

/// The same rule from a status already computed.
pub fn http_status_for(status: Status) -> u16 {
    match status {
        Status::Error => 417,
        Status::Complete => 200,
        _ => 202,
    }
}
