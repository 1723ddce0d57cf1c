//! `plinth-testkit`: a fake Apache Mesos master that real Mesos clients
//! accept, with simulated and process agents, for testing Plinth services.
//!
//! - [`cluster`]: the pure model (agents, resources, offers, frameworks,
//!   tasks, status update streams), driven with injected time.
//! - [`master`]: the HTTP server around it (`/api/v1/scheduler`,
//!   `/master/state`, `/version`, `/testkit/faults`) and [`TestMaster`].
//! - [`agent`]: how tasks run (simulated, or local processes).
//! - [`faults`]: what tests can break.
//!
//! # Example
//! ```no_run
//! use plinth_testkit::{MasterConfig, TestMaster};
//!
//! # async fn run() -> Result<(), plinth_testkit::MasterError> {
//! let master = TestMaster::start(MasterConfig::default()).await?;
//! println!("point the scheduler at {}", master.url());
//! master.shutdown().await;
//! # Ok(()) }
//! ```

pub mod agent;
pub mod cluster;
pub mod faults;
pub mod master;

pub use cluster::{AgentMode, AgentSpec};
pub use faults::{Fault, FaultError, Leader};
pub use master::{MasterConfig, MasterError, TestMaster};
