//! Unit and property tests of offer evaluation.

mod fixtures;
pub(crate) mod mesos_model;

mod gc;
mod placement;
mod proptests;
mod relaunch;
mod snapshot;
mod stages;
