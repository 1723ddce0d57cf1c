//! Agents of the testkit master.
pub mod process;
