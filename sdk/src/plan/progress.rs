//! What the scheduler loop tells a plan: offers evaluated, launches accepted,
//! task statuses, crash-loop delays, the passing of time.

use std::time::Instant;

use super::error::PlanError;
use super::model::{Plan, StepChange, StepRef};
use super::step::Step;
use super::task::{LaunchedTask, TaskObservation};

impl Plan {
    fn step_mut(&mut self, at: &StepRef) -> Result<&mut Step, PlanError> {
        let plan = self.name.clone();
        if at.plan != plan {
            return Err(PlanError::UnknownStepRef {
                plan,
                step_ref: at.clone(),
            });
        }
        self.phases
            .get_mut(at.phase)
            .and_then(|p| p.steps.get_mut(at.step))
            .ok_or(PlanError::UnknownStepRef {
                plan,
                step_ref: at.clone(),
            })
    }

    /// Applies `f` to one step; only that step can change, so only it is
    /// compared (a deploy makes one transition per step: comparing them all
    /// each time made it quadratic).
    fn transition(
        &mut self,
        at: &StepRef,
        action: &'static str,
        f: impl FnOnce(&mut Step) -> bool,
    ) -> Result<Vec<StepChange>, PlanError> {
        let step = self.step_mut(at)?;
        let from = step.status();
        if !f(step) {
            return Err(PlanError::InvalidTransition {
                step: step.name().to_string(),
                status: step.status(),
                action,
            });
        }
        Ok(self
            .change_at(at.phase, at.step, from)
            .into_iter()
            .collect())
    }

    /// Offer evaluation started for a candidate step: `PENDING`/`PREPARED` →
    /// `PREPARED` (its pod instance is now dirty for other plans).
    ///
    /// # Errors
    /// [`PlanError::UnknownStepRef`]; [`PlanError::InvalidTransition`] when the
    /// step is interrupted or not `PENDING`/`PREPARED`.
    pub fn mark_prepared(&mut self, at: &StepRef) -> Result<Vec<StepChange>, PlanError> {
        self.transition(at, "prepare", Step::prepare)
    }

    /// The launch of `tasks` was accepted: the step follows these task ids from
    /// now on and goes to `STARTING` (or stays `PREPARED` if none of `tasks`
    /// belongs to it, e.g. only reservations were made).
    ///
    /// # Errors
    /// [`PlanError::UnknownStepRef`]; [`PlanError::InvalidTransition`] when the
    /// step is not `PENDING`/`PREPARED`.
    pub fn mark_launched(
        &mut self,
        at: &StepRef,
        tasks: &[LaunchedTask],
    ) -> Result<Vec<StepChange>, PlanError> {
        self.transition(at, "launch", |s| s.launch(tasks))
    }

    /// Moves a step the scheduler drives itself (a decommission step) to
    /// `STARTING` or `COMPLETE`.
    ///
    /// # Errors
    /// [`PlanError::UnknownStepRef`]; [`PlanError::InvalidTransition`] when the
    /// step is `COMPLETE`, in `ERROR` or interrupted.
    pub fn mark_driven(
        &mut self,
        at: &StepRef,
        to: super::Status,
    ) -> Result<Vec<StepChange>, PlanError> {
        self.transition(at, "drive", |s| s.drive(to))
    }

    /// Applies a task status to every step that launched that task id.
    /// Failures send the step back to `PENDING` (to be relaunched); RUNNING
    /// gives `STARTED` or, at the goal, `COMPLETE`; FINISHED completes FINISH
    /// and ONCE tasks.
    pub fn update_task(&mut self, obs: &TaskObservation) -> Vec<StepChange> {
        // Called for every status: compare only the steps it touched.
        let mut touched = Vec::new();
        for (pi, phase) in self.phases.iter_mut().enumerate() {
            for (si, step) in phase.steps.iter_mut().enumerate() {
                let from = step.status();
                if step.observe(obs) {
                    touched.push((pi, si, from));
                }
            }
        }
        touched
            .into_iter()
            .filter_map(|(pi, si, from)| self.change_at(pi, si, from))
            .collect()
    }

    /// Crash-loop backoff for `task_name` (`<pod>-<index>-<task>`): every
    /// `PENDING`/`PREPARED` step that launches it becomes `DELAYED` until `until`.
    pub fn delay_task(&mut self, task_name: &str, until: Instant) -> Vec<StepChange> {
        self.tracked(|plan| {
            for step in plan.phases.iter_mut().flat_map(|p| p.steps.iter_mut()) {
                if step.goals().iter().any(|g| g.instance_name == task_name) {
                    step.delay(until);
                }
            }
        })
        .1
    }

    /// Ends the backoff of `task_name` now (e.g. the task ran, or an operator
    /// restarted the pod): its `DELAYED` steps return to `PENDING`.
    pub fn clear_task_delay(&mut self, task_name: &str) -> Vec<StepChange> {
        self.tracked(|plan| {
            for step in plan.phases.iter_mut().flat_map(|p| p.steps.iter_mut()) {
                if step.goals().iter().any(|g| g.instance_name == task_name) {
                    step.expire_delay(None);
                }
            }
        })
        .1
    }

    /// The passing of time: `DELAYED` steps whose delay is over return to
    /// `PENDING`. Call before [`Plan::candidates`].
    pub fn tick(&mut self, now: Instant) -> Vec<StepChange> {
        self.tracked(|plan| {
            for step in plan.phases.iter_mut().flat_map(|p| p.steps.iter_mut()) {
                step.expire_delay(Some(now));
            }
        })
        .1
    }

    /// The earliest instant at which a `DELAYED` step becomes `PENDING`.
    pub fn next_wakeup(&self) -> Option<Instant> {
        self.phases
            .iter()
            .flat_map(|p| p.steps.iter())
            .filter_map(Step::delayed_until)
            .min()
    }

    /// Records an error on a step (it goes to `ERROR`; the plan shows the
    /// message in `errors` and answers 417).
    ///
    /// # Errors
    /// [`PlanError::UnknownStepRef`].
    pub fn add_step_error(
        &mut self,
        at: &StepRef,
        error: impl Into<String>,
    ) -> Result<Vec<StepChange>, PlanError> {
        let error = error.into();
        self.transition(at, "record an error", move |s| {
            s.add_error(error);
            true
        })
    }
}
