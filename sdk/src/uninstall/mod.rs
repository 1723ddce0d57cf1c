//! Uninstall: remove a service from the cluster without leaving anything
//! behind — tasks, persistent volumes, reservations, the framework, its state.
//!
//! This module owns:
//!
//! * [`UninstallCore`] (pure): what to do with each offer, task status and
//!   clock tick — kill every known task (and any the master reports), DESTROY
//!   every volume and UNRESERVE every resource whose reservation carries our
//!   `framework_id` label, and say [`Action::Finish`] once every task is gone
//!   and no offer carried our reservations for a quiet period;
//! * [`uninstall`] (async): the flow around it.
//!
//! # Flow
//! 1. Wait for the leader lock (never beside the service's scheduler), then
//!    set the property [`UNINSTALLING_PROPERTY`] — a scheduler started on
//!    this state later resumes the uninstall instead of deploying.
//! 2. No stored FrameworkID: the service never registered; delete the state
//!    root and stop.
//! 3. Subscribe with the stored FrameworkID, reconcile (explicitly and
//!    implicitly), KILL every task that is not gone, REVIVE; accept offers
//!    carrying our reservations with DESTROY + UNRESERVE, decline the rest
//!    (1 s filter); re-KILL, re-reconcile and re-REVIVE periodically.
//! 4. Finish: TEARDOWN the framework, then delete the whole state root.
//!
//! # Guarantees
//! * Resumable: every step is idempotent; after a crash anywhere, running it
//!   again finishes. If the master already removed the framework (a crash
//!   between TEARDOWN and deleting the state), a throwaway framework with
//!   the same role and principal (failover timeout 0) releases whatever the
//!   old FrameworkID still holds, then is torn down.
//! * Only DYNAMIC reservations labelled with our FrameworkID are released.
//!
//! # Caveats
//! The quiet period is a heuristic on top of a precise rule (every agent we
//! released something on must offer again without any of our reservations):
//! an agent holding our reservations that sends no offer at all during the
//! quiet period (e.g. disconnected) keeps them. The master's `/master/state`
//! is the authority, and tests check it.
//!
//! # Example
//! ```no_run
//! use plinth::uninstall::{UninstallOptions, uninstall};
//! # async fn run(spec: plinth::spec::ServiceSpec) -> Result<(), Box<dyn std::error::Error>> {
//! let state = "zk://127.0.0.1:2181/dcos-service-hello-world".parse()?;
//! let report = uninstall(UninstallOptions::new(spec, "http://127.0.0.1:5050", state)).await?;
//! println!("released {} resources, {} volumes", report.resources_released, report.volumes_destroyed);
//! # Ok(()) }
//! ```

mod core;
mod runner;

pub use self::core::{
    Action, Input, KnownTask, Progress, REFUSE_SECONDS, Stage, Timings, UninstallCore, is_gone,
};
pub use self::runner::{
    CrashPoint, UNINSTALLING_PROPERTY, UninstallError, UninstallOptions, UninstallReport,
    is_uninstalling, uninstall, uninstall_on,
};

#[cfg(test)]
mod tests;
