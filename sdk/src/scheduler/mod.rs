//! The scheduler: deploys a [`ServiceSpec`](crate::spec::ServiceSpec) on Mesos
//! and keeps it running.
//!
//! [`core`] decides (pure: inputs in, ordered effects out); [`runner`] does the
//! IO — state, leadership, the Mesos subscription, the operator API.

pub mod command;
pub mod core;
pub mod observe;
pub mod runner;

pub use command::{Command, CommandError, CommandId, CommandReply, CommandResult, PlanCommand};
pub use core::{Effect, Input, SchedulerCore};
pub use runner::{Scheduler, SchedulerError, SchedulerOptions, Stopped, StoredConfig};
