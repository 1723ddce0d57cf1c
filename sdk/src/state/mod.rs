//! Durable scheduler state: the [`Persister`] trait and its three backends,
//! the [`StateStore`] and [`ConfigStore`] laid out like dcos-commons, and the
//! [`LeaderLock`] that keeps two schedulers of one service from acting at
//! once.
//!
//! | file | owns |
//! | --- | --- |
//! | `persister.rs` | the [`Persister`] trait, [`Txn`] (atomic multi-node writes), size limits |
//! | `zk.rs` | [`ZkPersister`]: ZooKeeper, one `multi` per transaction, terminal session expiry, the ZooKeeper leader lock |
//! | `file.rs` | [`FilePersister`]: a directory, atomic through a redo journal, `flock` leader lock |
//! | `memory.rs` | [`MemPersister`]: memory, simulated sessions and injected faults |
//! | `any.rs` | [`AnyPersister`]: the backend chosen at run time |
//! | `url.rs` | [`BackendConfig`]: parsing `--state zk://HOST:PORT/ROOT \| file:DIR \| memory` |
//! | `lock.rs` | [`LeaderLock`] and [`LeadershipLost`] |
//! | `store.rs` | [`StateStore`]: FrameworkID, TaskInfos, TaskStatuses, task metadata, properties, schema version |
//! | `config_store.rs` | [`ConfigStore`]: configurations by UUID and the target ID |
//! | `path.rs` | node path validation |
//! | `error.rs` | [`Error`], the module's one error type |
//! | `testing/` | [`testing::TestZooKeeper`]: a throwaway ZooKeeper for tests; [`testing::Partition`]: a proxy that cuts a client off it |
//!
//! # Usage
//! ```no_run
//! use plinth::state::{AnyPersister, BackendConfig, Persister, StateStore};
//! # async fn run() -> plinth::state::Result<()> {
//! let backend: BackendConfig = "zk://127.0.0.1:2181/dcos-service-hello".parse()?;
//! let persister = AnyPersister::open(&backend).await?;
//! let leadership = persister.leader_lock().await?; // one scheduler at a time
//! let store = StateStore::open(persister).await?; // checks SchemaVersion
//! let framework_id = store.fetch_framework_id().await?;
//! let tasks = store.fetch_all_tasks().await?; // restart path
//! # let _ = (leadership, framework_id, tasks); Ok(()) }
//! ```
//!
//! # Guarantees
//! Nothing is half-written: every multi-node write is one transaction on
//! every backend. Nothing read back is trusted: a corrupt node is an
//! [`Error::Decode`] naming it. ZooKeeper session expiry is never papered
//! over: it is [`Error::SessionExpired`] and ends leadership.

mod any;
mod config_store;
mod error;
mod file;
mod lock;
mod memory;
mod path;
mod persister;
mod store;
pub mod testing;
mod url;
mod zk;

pub use any::AnyPersister;
pub use config_store::{CONFIG_TARGET_NODE, CONFIGURATIONS_NODE, ConfigStore};
pub use error::{BackendError, Error, Result};
#[doc(hidden)]
pub use file::CrashPoint;
pub use file::FilePersister;
pub use lock::{LeaderLock, LeadershipLost};
pub use memory::{MemFaults, MemPersister};
pub use persister::{MAX_TXN_BYTES, MAX_VALUE_BYTES, Persister, TXN_OP_OVERHEAD_BYTES, Txn};
pub use store::{
    FRAMEWORK_ID_NODE, PROPERTIES_NODE, SCHEMA_VERSION, SCHEMA_VERSION_NODE, StateStore,
    StoredTask, TASKS_NODE,
};
pub use url::{BackendConfig, DEFAULT_ZK_PORT};
pub use zk::{
    ATOMIC_WRITE_ATTEMPTS, LOCK_NODE, READ_BATCH, READS_IN_FLIGHT, ZkConfig, ZkPersister,
};
