//! placeholder
pub mod agent;
