//! Plans, phases and steps: what the scheduler must do next, how far it got,
//! and what operators may change — dcos-commons' plan model, as pure data.
//!
//! This module owns the plan tree ([`Plan`] → [`Phase`] → [`Step`]), its
//! generation from a [`ServiceSpec`](crate::spec::ServiceSpec)
//! ([`generate_plans`]), strategies (serial, parallel, serial-canary,
//! parallel-canary, dependency), the step state machine, status aggregation,
//! operator operations ([`ops`]) and the JSON the API serves ([`view`]).
//! Everything is synchronous and does no IO; time comes in as arguments.
//!
//! # How the scheduler loop drives a plan
//!
//! ```text
//! plans = generate_plans(spec, inputs)            // at start, and on config change
//! loop {
//!     plan.tick(now)                              // DELAYED → PENDING when due
//!     for step in coordinate(&[&deploy, &recovery, …])   // candidate steps
//!         plan.mark_prepared(step)                // offer evaluation starts
//!         plan.mark_launched(step, tasks)         // LAUNCH_GROUP accepted → STARTING
//!     plan.update_task(observation)               // every task status → STARTED / COMPLETE / PENDING
//!     plan.delay_task(task, until)                // crash-loop backoff → DELAYED
//! }
//! ```
//! Every mutating call returns the [`StepChange`]s it caused (a `WatchPlan`
//! stream is the concatenation of them).
//!
//! # Step states
//! `PENDING` → `PREPARED` (offer evaluation started) → `STARTING` (launch
//! accepted) → `STARTED` (running, readiness not yet passed) → `COMPLETE`
//! (every task at its goal: RUNNING with readiness passed — a status without a
//! check result passes only if the spec declares no readiness check —,
//! FINISH/ONCE finished). Any failure of a launched task (FAILED, KILLED, LOST,
//! …) sends the step back to `PENDING` to be relaunched; a RUNNING-goal task
//! that finishes does too. `DELAYED` holds a step back until an instant
//! (crash-loop backoff); `ERROR` marks a step that cannot proceed. An
//! interrupted step that has not launched shows `WAITING`. A step whose tasks
//! are already at their goal on the target config when its plan is built starts
//! `COMPLETE`. See [`step`] for the diagram.
//!
//! # Strategies and candidates
//! A parent hands out children by strategy — *serial* (the first child that is
//! not complete), *parallel* (all not complete), *dependency* (those whose
//! prerequisites are complete) — never children that are complete, `ERROR`,
//! interrupted, or (for steps) on a pod instance another plan is working on.
//! *Canary* phases gate the first two pending steps: the first `continue`
//! releases step one; after it completes the phase waits again; the second
//! `continue` releases the rest to the underlying strategy. Custom steps in a
//! parallel phase use a dependency strategy: serial within a pod instance,
//! parallel across instances. [`Plan::candidates`] returns the handed-out
//! steps that wait for offers (`PENDING`/`PREPARED`); [`coordinate`] does it
//! across plans in priority order, so one pod instance is worked on by one
//! plan at a time.
//!
//! # Status aggregation
//! A phase's status comes from its steps, a plan's from its phases, by the
//! ordered rules of [`aggregate_status`] (dcos-commons'
//! `PlanUtils.getAggregateStatus`): errors → `ERROR`; all complete (or no
//! children) → `COMPLETE`; all delayed → `DELAYED`; interrupted → `WAITING`;
//! any child `PREPARED` → `IN_PROGRESS`; a `WAITING` candidate → `WAITING`; an
//! `IN_PROGRESS` candidate → `IN_PROGRESS`; some complete and a candidate
//! pending/starting/started → `IN_PROGRESS`; a pending candidate → `PENDING`;
//! a waiting child → `WAITING`; a starting candidate → `STARTING`; a started
//! candidate → `STARTED`; (Plinth) a delayed candidate → `DELAYED`; (Plinth) a
//! child at work → `IN_PROGRESS`; (Plinth) a delayed child → `DELAYED`; else
//! `ERROR` (unreachable without errors).
//!
//! # Guarantees
//! * No panics, no IO, no clocks, no randomness: ids derive from a seed and the
//!   element names ([`Plan::with_id_seed`]).
//! * A `COMPLETE` step leaves `COMPLETE` only through an operator `restart`,
//!   `stop` or `start` (of a complete plan).
//! * A serial phase never has two unfinished steps launched at once.
//!
//! # Caveats
//! Like dcos-commons, plans are runtime state: operator overrides are lost when
//! plans are regenerated. Step errors stay until the plan is regenerated, even
//! across `force-complete` (the plan keeps answering 417).

mod error;
mod generate;
mod model;
pub mod ops;
mod progress;
mod status;
pub mod step;
mod strategy;
mod task;
pub mod view;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use error::PlanError;
pub use generate::{DEPLOY_PLAN, PlanInputs, UPDATE_PLAN, generate_plans};
pub use model::{Phase, Plan, PodInstance, StepChange, StepRef, Strategy, element_id};
pub use ops::{OpResult, Outcome, find_plan, find_plan_mut};
pub use status::{Status, aggregate_status};
pub use step::{DecommissionAction, Step, StepKind};
pub use strategy::coordinate;
pub use task::{LaunchedTask, TaskGoal, TaskObservation, TaskState};
pub use view::{PhaseInfo, PlanInfo, StepInfo, plan_http_status, plan_names};
