//! Errors of plan generation, plan operations and step transitions.

use super::Status;
use super::model::StepRef;

/// Everything that can go wrong in this module. Lookup errors use dcos-commons'
/// wording (`Plan foo not found`) so the API can pass them through.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// No plan with this name.
    #[error("Plan {0} not found")]
    UnknownPlan(String),
    /// No phase with this id or name in the plan.
    #[error("Phase {phase} not found (plan {plan})")]
    UnknownPhase {
        /// Plan name.
        plan: String,
        /// Phase id or name as given.
        phase: String,
    },
    /// No step (or more than one) with this id or name in the phase.
    #[error("Step {step} not found (plan {plan}, phase {phase})")]
    UnknownStep {
        /// Plan name.
        plan: String,
        /// Phase name.
        phase: String,
        /// Step id or name as given.
        step: String,
    },
    /// A step was named without its phase.
    #[error("Missing phase: give the phase of step {step}")]
    MissingPhase {
        /// Step id or name as given.
        step: String,
    },
    /// A `plan start` parameter is not an environment variable name.
    #[error(
        "Couldn't parse parameters: {0} is not a valid environment variable name (expected [A-Za-z_][A-Za-z0-9_]*)"
    )]
    InvalidParameter(String),
    /// A [`StepRef`] that does not point into this plan.
    #[error("no step at phase {} step {} in plan {plan}", step_ref.phase, step_ref.step)]
    UnknownStepRef {
        /// Plan asked.
        plan: String,
        /// The reference.
        step_ref: StepRef,
    },
    /// The step's state machine does not allow this now.
    #[error("step {step} is {status}: cannot {action}")]
    InvalidTransition {
        /// Step name.
        step: String,
        /// Its displayed status.
        status: Status,
        /// What was attempted.
        action: &'static str,
    },
    /// A YAML phase names a pod type the spec does not have.
    #[error(
        "plan '{plan}', phase '{phase}': unknown pod type '{pod}' (declare it under pods: or fix the phase's pod:)"
    )]
    UnknownPod {
        /// Plan name.
        plan: String,
        /// Phase name.
        phase: String,
        /// Pod type named.
        pod: String,
    },
    /// A custom step names a task its pod does not have.
    #[error(
        "plan '{plan}', phase '{phase}': step {step} names task '{task}', which pod '{pod}' does not have"
    )]
    UnknownTask {
        /// Plan name.
        plan: String,
        /// Phase name.
        phase: String,
        /// Step name.
        step: String,
        /// Pod type.
        pod: String,
        /// Task named.
        task: String,
    },
    /// A custom-steps phase has neither a rule for an instance nor `default`.
    #[error(
        "plan '{plan}', phase '{phase}': no step entry for instance {index} of pod '{pod}' and no 'default' entry (add '- {index}: [[...]]' or '- default: [[...]]')"
    )]
    MissingStepRule {
        /// Plan name.
        plan: String,
        /// Phase name.
        phase: String,
        /// Pod type.
        pod: String,
        /// Instance index without a rule.
        index: u32,
    },
    /// Tasks launched together by one step share a resource set or DNS prefix.
    #[error(
        "plan '{plan}', phase '{phase}': step {step} launches tasks that share {what} '{shared}' together; run them in separate steps or give them their own"
    )]
    SharedByStep {
        /// Plan name.
        plan: String,
        /// Phase name.
        phase: String,
        /// Step name.
        step: String,
        /// `resource set` or `DNS prefix`.
        what: &'static str,
        /// The shared id.
        shared: String,
    },
}

impl PlanError {
    /// HTTP status for the API: 404 for unknown plans, phases and steps, 400 for
    /// bad requests, 409 for transitions the state machine refuses, 500 for
    /// generation errors (a spec that should not have passed validation).
    pub fn http_status(&self) -> u16 {
        match self {
            PlanError::UnknownPlan(_)
            | PlanError::UnknownPhase { .. }
            | PlanError::UnknownStep { .. } => 404,
            PlanError::MissingPhase { .. } | PlanError::InvalidParameter(_) => 400,
            PlanError::UnknownStepRef { .. } | PlanError::InvalidTransition { .. } => 409,
            PlanError::UnknownPod { .. }
            | PlanError::UnknownTask { .. }
            | PlanError::MissingStepRule { .. }
            | PlanError::SharedByStep { .. } => 500,
        }
    }
}
