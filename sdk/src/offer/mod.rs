//! Offer evaluation: a pod instance's requirement × the offers of one cycle →
//! the operations that launch it, or a per-agent explanation of why not.
//!
//! This module owns what dcos-commons calls the `OfferEvaluator`: the stage
//! pipeline that matches a [`PodInstanceRequirement`] against Mesos offers and
//! produces a [`Recommendation`]. It is pure and synchronous: the scheduler
//! loop hands it data (the [`ServiceContext`], the stored TaskInfos, the
//! offers, an [`IdGenerator`]) and gets data back; nothing here does IO, reads
//! a clock or draws hidden randomness.
//!
//! # Pipeline
//!
//! For each agent (all offers of one agent are merged, so there is one ACCEPT
//! per agent), in offer order, the first agent that passes every stage wins:
//!
//! 1. **executor**: a new DEFAULT executor per pod instance, or the running one
//!    (its id is in `Offer.executor_ids`) on a relaunch;
//! 2. **placement**: the pod's Marathon-style constraint ([`crate::placement`]),
//!    only for new placements and permanent replacements;
//! 3. **pod volumes**: executor-level persistent volumes;
//! 4. **executor resources**: 0.1 cpus, 32 MB mem, 256 MB disk, once per pod;
//! 5. per resource set (tasks sorted by name, each set once): **ports**
//!    (static, then dynamic), **resources** (cpus, mem, gpus), **volumes** (ROOT
//!    takes a slice of the root disk, MOUNT a whole mount disk);
//! 6. **launch**: RESERVE, CREATE and LAUNCH_GROUP operations and the TaskInfos
//!    to persist before the ACCEPT goes out.
//!
//! A relaunch in place ([`LaunchKind::RelaunchInPlace`]) skips placement and
//! maps every requirement onto the reservations the pod already holds on that
//! agent (matched by their `resource_id` label): no RESERVE and no CREATE, the
//! same persistence ids, the same dynamic ports. Scalars whose size changed in
//! a config update are grown (RESERVE of the difference under the same labels,
//! which Mesos merges) or shrunk (UNRESERVE of the surplus).
//!
//! Every agent looked at gets an [`OfferOutcome`] (serializable, for
//! `/v2/debug/offers`) listing each stage's verdict, e.g.
//! `insufficient cpus: needed 1.1, offered 0.5`.
//!
//! [`gc::unexpected_resources`] turns reservations and volumes of ours that no
//! known task holds into DESTROY + UNRESERVE operations.
//!
//! # Guarantees
//! * No panics on offer contents: malformed resources are skipped, never
//!   trusted.
//! * Scalars are added and compared in Mesos' fixed point (three decimals), so
//!   `0.1 + 0.2` fits in `0.3`.
//! * A recommendation never uses more of a resource than its offers hold, and
//!   every RESERVE'd resource ends up in exactly one executor, resource set or
//!   volume (property-tested).
//! * Deterministic: the same inputs and the same [`IdGenerator`] state give
//!   the same operations, byte for byte.
//!
//! # Caveats
//! * One recommendation per agent per cycle (dcos-commons: each offer is used
//!   at most once); other pods wait for the next cycle.
//! * Tasks of a new pod that are not launched yet are stored with an empty
//!   task id (dcos-commons' `emptyTaskId`), so reconciliation skips them.
//!
//! # Example
//! ```no_run
//! use std::sync::Arc;
//! use plinth::offer::{OfferEvaluator, PodInstanceRequirement, SequentialIds, ServiceContext};
//! # let spec: plinth::spec::ServiceSpec = unimplemented!();
//! # let offers: Vec<plinth_proto::v1::Offer> = vec![];
//! let ctx = ServiceContext::new(Arc::new(spec), "framework-id", "config-id");
//! let mut evaluator = OfferEvaluator::new(&ctx, &[], SequentialIds::default());
//! let req = PodInstanceRequirement::new_placement("hello", 0, ["server"]);
//! let (recommendations, outcomes) = evaluator.evaluate_all(&[req], &offers);
//! # let _ = (recommendations, outcomes);
//! ```

mod attempt;
mod build;
mod context;
mod error;
mod evaluate;
mod existing;
pub mod gc;
mod ids;
pub mod labels;
mod outcome;
mod pool;
mod prepare;
mod requirement;
mod resources;
mod stages;
mod taskinfo;

#[cfg(test)]
mod tests;

pub use context::{ExecutorOverhead, ServiceContext};
pub use error::OfferError;
pub use evaluate::{
    Evaluation, ITEMIZED_PER_CYCLE, ITEMIZED_PER_STEP, OfferEvaluator, Recommendation, evaluate_all,
};
pub use ids::{
    IdGenerator, SeededIds, SequentialIds, executor_id, sanitized_service_name, task_id,
};
pub use outcome::{OfferOutcome, Stage, StageOutcome};
pub use requirement::{LaunchKind, PodInstanceRequirement};
#[cfg(test)]
pub(crate) use resources::dynamic_reservation;
pub(crate) use resources::resource_id;
