//! Plinth: an SDK for stateful distributed services on Apache Mesos.
//!
//! One module per concept (see `DESIGN.md`): [`mesos`] speaks the Mesos v1
//! scheduler API.

pub mod api;
pub mod config;
pub mod decommission;
pub mod mesos;
pub mod offer;
pub mod placement;
pub mod plan;
pub mod recovery;
pub mod scheduler;
pub mod spec;
pub mod state;
pub mod template;
pub mod uninstall;
