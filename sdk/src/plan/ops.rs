//! Operator operations on plans (`/v1/plans/{plan}/...`), with dcos-commons'
//! semantics and "already reported" answers.
//!
//! | operation | on | effect | already reported (208) when |
//! |---|---|---|---|
//! | [`Plan::interrupt`] | plan or phase | interrupts its strategy (a canary phase ignores it while gated) | already interrupted, or complete |
//! | [`Plan::proceed`] (`continue`) | plan or phase | clears the interrupt; on a gated canary phase releases the next canary step | running (`PENDING`, `PREPARED`, `STARTING`, `STARTED`, `IN_PROGRESS`) or complete |
//! | [`Plan::restart`] | plan, phase or step | clears the interrupt, then every step → `PENDING` (launches and delays forgotten) | already `PENDING` |
//! | [`Plan::force_complete`] | plan, phase or step | every step → `COMPLETE` | already `COMPLETE` |
//! | [`Plan::start`] | plan | records parameters on every step, restarts the plan if complete, clears the interrupt | never |
//! | [`Plan::stop`] | plan | interrupts the plan, every step → `PENDING` | never |
//!
//! Phases and steps are named by id or by name (a step name must be unique
//! within its phase).

use std::collections::BTreeMap;

use super::Status;
use super::error::PlanError;
use super::model::{Phase, Plan, StepChange};

/// Whether an operation changed anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done (HTTP 200).
    Applied,
    /// Nothing to do: the element is already in the requested state (HTTP 208).
    AlreadyReported,
}

/// Result of an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpResult {
    /// Applied or already reported.
    pub outcome: Outcome,
    /// dcos-commons' response message, e.g. `Received cmd: continue`.
    pub message: String,
    /// Steps whose displayed status changed.
    pub changes: Vec<StepChange>,
}

impl OpResult {
    /// HTTP status: 200 applied, 208 already reported.
    pub fn http_status(&self) -> u16 {
        match self.outcome {
            Outcome::Applied => 200,
            Outcome::AlreadyReported => 208,
        }
    }

    fn applied(message: String, changes: Vec<StepChange>) -> Self {
        OpResult {
            outcome: Outcome::Applied,
            message,
            changes,
        }
    }

    fn already(message: String) -> Self {
        OpResult {
            outcome: Outcome::AlreadyReported,
            message,
            changes: Vec::new(),
        }
    }
}

/// The plan named `name`.
///
/// # Errors
/// [`PlanError::UnknownPlan`] (HTTP 404).
pub fn find_plan<'a>(plans: &'a [Plan], name: &str) -> Result<&'a Plan, PlanError> {
    plans
        .iter()
        .find(|p| p.name() == name)
        .ok_or_else(|| PlanError::UnknownPlan(name.to_string()))
}

/// The plan named `name`, mutably.
///
/// # Errors
/// [`PlanError::UnknownPlan`] (HTTP 404).
pub fn find_plan_mut<'a>(plans: &'a mut [Plan], name: &str) -> Result<&'a mut Plan, PlanError> {
    plans
        .iter_mut()
        .find(|p| p.name() == name)
        .ok_or_else(|| PlanError::UnknownPlan(name.to_string()))
}

/// Which element an operation targets.
#[derive(Debug, Clone, Copy)]
enum Target {
    Plan,
    Phase(usize),
    Step(usize, usize),
}

fn is_env_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn java_map(parameters: &BTreeMap<String, String>) -> String {
    let inner: Vec<String> = parameters.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", inner.join(", "))
}

// === impl Phase (operations) ===

impl Phase {
    fn proceed(&mut self) {
        if self.canary_active() {
            let next = self
                .canary
                .iter()
                .flatten()
                .copied()
                .find(|&i| self.steps.get(i).is_some_and(|s| s.is_interrupted()));
            if let Some(step) = next.and_then(|i| self.steps.get_mut(i)) {
                step.proceed();
            }
            return;
        }
        self.interrupted = false;
    }

    fn interrupt(&mut self) {
        if !self.canary_active() {
            self.interrupted = true;
        }
    }
}

// === impl Plan (operations) ===

impl Plan {
    fn phase_index(&self, phase: &str) -> Result<usize, PlanError> {
        self.find_phase(phase)
            .ok_or_else(|| PlanError::UnknownPhase {
                plan: self.name.clone(),
                phase: phase.to_string(),
            })
    }

    fn target(&self, phase: Option<&str>, step: Option<&str>) -> Result<Target, PlanError> {
        let phase = phase.filter(|s| !s.trim().is_empty());
        let step = step.filter(|s| !s.trim().is_empty());
        match (phase, step) {
            (None, None) => Ok(Target::Plan),
            (None, Some(step)) => Err(PlanError::MissingPhase {
                step: step.to_string(),
            }),
            (Some(phase), None) => Ok(Target::Phase(self.phase_index(phase)?)),
            (Some(phase), Some(step)) => {
                let pi = self.phase_index(phase)?;
                let si = self
                    .phases
                    .get(pi)
                    .and_then(|p| p.find_step(step))
                    .ok_or_else(|| PlanError::UnknownStep {
                        plan: self.name.clone(),
                        phase: phase.to_string(),
                        step: step.to_string(),
                    })?;
                Ok(Target::Step(pi, si))
            }
        }
    }

    fn target_status(&self, target: Target) -> Status {
        match target {
            Target::Plan => self.status(),
            Target::Phase(pi) => self.phases.get(pi).map_or(Status::Error, Phase::status),
            Target::Step(pi, si) => self
                .phases
                .get(pi)
                .and_then(|p| p.steps.get(si))
                .map_or(Status::Error, |s| s.status()),
        }
    }

    fn for_each_target_step(&mut self, target: Target, mut f: impl FnMut(&mut super::step::Step)) {
        match target {
            Target::Plan => self
                .phases
                .iter_mut()
                .flat_map(|p| p.steps.iter_mut())
                .for_each(f),
            Target::Phase(pi) => {
                if let Some(p) = self.phases.get_mut(pi) {
                    p.steps.iter_mut().for_each(f);
                }
            }
            Target::Step(pi, si) => {
                if let Some(s) = self.phases.get_mut(pi).and_then(|p| p.steps.get_mut(si)) {
                    f(s);
                }
            }
        }
    }

    /// `POST /v1/plans/{plan}/interrupt[?phase=]`: holds the plan (or one
    /// phase) back. Work already launched continues.
    ///
    /// # Errors
    /// [`PlanError::UnknownPhase`].
    pub fn interrupt(&mut self, phase: Option<&str>) -> Result<OpResult, PlanError> {
        let message = "Received cmd: interrupt".to_string();
        match self.target(phase, None)? {
            Target::Phase(pi) => {
                let Some(p) = self.phases.get(pi) else {
                    return Err(PlanError::UnknownPhase {
                        plan: self.name.clone(),
                        phase: phase.unwrap_or_default().to_string(),
                    });
                };
                if p.is_interrupted() || p.status() == Status::Complete {
                    return Ok(OpResult::already(message));
                }
                let ((), changes) = self.tracked(|plan| {
                    if let Some(p) = plan.phases.get_mut(pi) {
                        p.interrupt();
                    }
                });
                Ok(OpResult::applied(message, changes))
            }
            _ => {
                if self.interrupted || self.is_complete() {
                    return Ok(OpResult::already(message));
                }
                let ((), changes) = self.tracked(|plan| plan.interrupted = true);
                Ok(OpResult::applied(message, changes))
            }
        }
    }

    /// `POST /v1/plans/{plan}/continue[?phase=]`: lets the plan (or one phase)
    /// proceed; on a canary phase, releases the next canary step.
    ///
    /// # Errors
    /// [`PlanError::UnknownPhase`].
    pub fn proceed(&mut self, phase: Option<&str>) -> Result<OpResult, PlanError> {
        let message = "Received cmd: continue".to_string();
        match self.target(phase, None)? {
            Target::Phase(pi) => {
                let status = self.phases.get(pi).map_or(Status::Error, Phase::status);
                if status.is_running() || status == Status::Complete {
                    return Ok(OpResult::already(message));
                }
                let ((), changes) = self.tracked(|plan| {
                    if let Some(p) = plan.phases.get_mut(pi) {
                        p.proceed();
                    }
                });
                Ok(OpResult::applied(message, changes))
            }
            _ => {
                let status = self.status();
                if status.is_running() || status == Status::Complete {
                    return Ok(OpResult::already(message));
                }
                let ((), changes) = self.tracked(|plan| plan.interrupted = false);
                Ok(OpResult::applied(message, changes))
            }
        }
    }

    /// `POST /v1/plans/{plan}/restart[?phase=[&step=]]`: clears the target's
    /// interrupt and sends its steps back to `PENDING`.
    ///
    /// # Errors
    /// [`PlanError::UnknownPhase`], [`PlanError::UnknownStep`],
    /// [`PlanError::MissingPhase`].
    pub fn restart(
        &mut self,
        phase: Option<&str>,
        step: Option<&str>,
    ) -> Result<OpResult, PlanError> {
        let target = self.target(phase, step)?;
        let message = format!(
            "Received cmd: restart for Plan: {}, Phase: {}, Step: {}",
            self.name,
            phase.unwrap_or("null"),
            step.unwrap_or("null")
        );
        if self.target_status(target) == Status::Pending {
            return Ok(OpResult::already(message));
        }
        let ((), changes) = self.tracked(|plan| {
            match target {
                Target::Plan => plan.interrupted = false,
                Target::Phase(pi) => {
                    if let Some(p) = plan.phases.get_mut(pi) {
                        p.proceed();
                    }
                }
                Target::Step(..) => {}
            }
            plan.for_each_target_step(target, |s| {
                if matches!(target, Target::Step(..)) {
                    s.proceed();
                }
                s.restart();
            });
        });
        Ok(OpResult::applied(message, changes))
    }

    /// `POST /v1/plans/{plan}/forceComplete[?phase=[&step=]]`: marks the
    /// target's steps `COMPLETE` without doing their work.
    ///
    /// # Errors
    /// [`PlanError::UnknownPhase`], [`PlanError::UnknownStep`],
    /// [`PlanError::MissingPhase`].
    pub fn force_complete(
        &mut self,
        phase: Option<&str>,
        step: Option<&str>,
    ) -> Result<OpResult, PlanError> {
        let target = self.target(phase, step)?;
        let message = format!(
            "Received cmd: forceComplete for Plan: {}, Phase: {}, Step: {}",
            self.name,
            phase.unwrap_or("null"),
            step.unwrap_or("null")
        );
        if self.target_status(target) == Status::Complete {
            return Ok(OpResult::already(message));
        }
        let ((), changes) =
            self.tracked(|plan| plan.for_each_target_step(target, |s| s.force_complete()));
        Ok(OpResult::applied(message, changes))
    }

    /// `POST /v1/plans/{plan}/start` with a JSON object of environment
    /// overrides: records them on every step (offer evaluation adds them to the
    /// launched tasks' env), restarts the plan if it is complete, and lets it
    /// proceed.
    ///
    /// # Errors
    /// [`PlanError::InvalidParameter`] (HTTP 400) for a key that is not an
    /// environment variable name; nothing changes then.
    pub fn start(&mut self, parameters: &BTreeMap<String, String>) -> Result<OpResult, PlanError> {
        if let Some(bad) = parameters.keys().find(|k| !is_env_name(k)) {
            return Err(PlanError::InvalidParameter(bad.clone()));
        }
        let message = format!(
            "Received cmd: start {} with parameters: {}",
            self.name,
            java_map(parameters)
        );
        let ((), changes) = self.tracked(|plan| {
            plan.for_each_target_step(Target::Plan, |s| s.set_parameters(parameters));
            if plan.is_complete() {
                plan.for_each_target_step(Target::Plan, |s| s.restart());
            }
            plan.interrupted = false;
        });
        Ok(OpResult::applied(message, changes))
    }

    /// `POST /v1/plans/{plan}/stop`: interrupts the plan and sends every step
    /// back to `PENDING`.
    pub fn stop(&mut self) -> OpResult {
        let ((), changes) = self.tracked(|plan| {
            plan.interrupted = true;
            plan.for_each_target_step(Target::Plan, |s| s.restart());
        });
        OpResult::applied("Received cmd: stop".to_string(), changes)
    }
}
