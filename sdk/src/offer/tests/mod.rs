//! Unit and property tests of offer evaluation.

mod fixtures;
pub(crate) mod mesos_model;

mod gc;
mod outcomes;
mod placement;
mod proptests;
mod relaunch;
mod snapshot;
mod stages;
