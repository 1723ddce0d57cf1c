//! The one error type of the `state` module.
//!
//! Every variant is named for the operation that failed and carries the full
//! location of the node involved (a ZooKeeper path, a file path, or
//! `memory:<path>`), so a message that reaches an operator says what broke and
//! where. Backend errors are kept as the [`BackendError`] source.

use std::time::Duration;

/// Result of a `state` operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The cause reported by a backend, kept as the `#[source]` of an [`Error`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// ZooKeeper answered with an error.
    #[error(transparent)]
    Zk(#[from] zookeeper_client::Error),
    /// The file system answered with an error.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// A fault injected into a [`MemPersister`](super::MemPersister).
    #[error("injected fault: {0}")]
    Injected(&'static str),
}

/// Errors of the state module.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A `--state` argument could not be parsed.
    #[error(
        "invalid state backend {input:?}: {reason} (expected zk://HOST:PORT[,HOST:PORT...]/ROOT, file:DIR or memory)"
    )]
    ParseStateUrl {
        /// The argument as given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A node path (or a name that becomes one path segment) is not valid.
    #[error("invalid state path {path:?}: {reason}")]
    InvalidPath {
        /// The offending path or name.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Connecting to the backend failed.
    #[error("connecting to state backend {location} failed")]
    Connect {
        /// The backend (`zk://...`, a directory).
        location: String,
        /// The backend's error.
        #[source]
        source: BackendError,
    },
    /// A backend call did not finish in time.
    #[error("{op} of {path} timed out after {after:?}")]
    Timeout {
        /// The operation (`get`, `commit`, ...).
        op: &'static str,
        /// The node.
        path: String,
        /// The bound that expired.
        after: Duration,
    },
    /// The ZooKeeper session expired or was closed. Terminal: the persister
    /// never reconnects with a new session; leadership is lost.
    #[error("ZooKeeper session expired or closed (during {op} of {path}); restart to recover")]
    SessionExpired {
        /// The operation that observed it.
        op: &'static str,
        /// The node.
        path: String,
    },
    /// Reading a node failed.
    #[error("reading {path} failed")]
    Get {
        /// The node.
        path: String,
        /// The backend's error.
        #[source]
        source: BackendError,
    },
    /// Listing the children of a node failed.
    #[error("listing children of {path} failed")]
    GetChildren {
        /// The node.
        path: String,
        /// The backend's error.
        #[source]
        source: BackendError,
    },
    /// A transaction failed; nothing of it was applied (unless `source` is a
    /// connection loss, in which case the outcome is unknown).
    #[error("transaction failed at {path}")]
    Commit {
        /// The node whose operation failed (the first node of the
        /// transaction if the failure is not tied to one).
        path: String,
        /// The backend's error.
        #[source]
        source: BackendError,
    },
    /// A `require_exists` precondition of a transaction did not hold; nothing
    /// was applied.
    #[error("precondition failed: {path} does not exist; nothing was written")]
    PreconditionFailed {
        /// The node that was required to exist.
        path: String,
    },
    /// A write was refused because this persister's leadership was lost (its
    /// lock node no longer exists); nothing was applied.
    #[error("not the leader any more (lock node {path} is gone); nothing was written")]
    NotLeader {
        /// The lock node.
        path: String,
    },
    /// A value or a whole transaction exceeds the size limit.
    #[error("{path}: {what} of {bytes} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The node (for a transaction: its first node).
        path: String,
        /// `value` or `transaction`.
        what: &'static str,
        /// The size.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// Deleting a subtree (the state root, for uninstall) failed.
    #[error("deleting {path} failed")]
    Delete {
        /// The node.
        path: String,
        /// The backend's error.
        #[source]
        source: BackendError,
    },
    /// Acquiring the leader lock failed.
    #[error("acquiring the leader lock {path} failed")]
    Lock {
        /// The lock node or file.
        path: String,
        /// The backend's error.
        #[source]
        source: BackendError,
    },
    /// A file-system operation of the file backend failed.
    #[error("{op} {path} failed")]
    Io {
        /// The operation.
        op: &'static str,
        /// The file or directory.
        path: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The file backend's journal is damaged.
    #[error(
        "journal {path} is corrupt: {reason}; move it aside to start from the last applied state"
    )]
    CorruptJournal {
        /// The journal file.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A stored node could not be decoded.
    #[error("stored node {path} is corrupt: cannot decode {what}: {reason}")]
    Decode {
        /// The node.
        path: String,
        /// What was expected (`TaskInfo`, `FrameworkID`, ...).
        what: &'static str,
        /// Why decoding failed.
        reason: String,
    },
    /// The stored schema version is not one this build understands.
    #[error(
        "{path} is {found}, but this build understands schema version {supported}; \
         use a newer Plinth or a fresh state root"
    )]
    SchemaVersion {
        /// The `SchemaVersion` node.
        path: String,
        /// The stored version.
        found: u32,
        /// The version this build reads and writes.
        supported: u32,
    },
    /// A status was stored for a task whose TaskInfo is missing or has a
    /// different task ID.
    #[error("cannot store TaskStatus for task {name:?} ({task_id}): {reason}")]
    UnknownTask {
        /// The task name.
        name: String,
        /// The task ID of the status.
        task_id: String,
        /// Why it was refused.
        reason: String,
    },
    /// The target configuration cannot be deleted.
    #[error("configuration {id} is the target configuration and cannot be deleted")]
    DeleteTargetConfig {
        /// The configuration ID.
        id: String,
    },
    /// A configuration set as target does not exist.
    #[error("configuration {id} does not exist ({path})")]
    UnknownConfig {
        /// The configuration ID.
        id: String,
        /// Where it was looked for.
        path: String,
    },
    /// Serialising a configuration failed.
    #[error("serialising configuration {id} failed")]
    Encode {
        /// The configuration ID.
        id: String,
        /// The serde error.
        #[source]
        source: serde_json::Error,
    },
    /// A crash injected into the file backend by a test (the operation
    /// stopped half-way, as if the process had died).
    #[error("injected crash at {point} (path {path})")]
    InjectedCrash {
        /// The crash point.
        point: &'static str,
        /// The journal or node being written.
        path: String,
    },
}

// === impl Error ===

impl Error {
    /// True if the error means the ZooKeeper session (or a memory backend's
    /// simulated session) is gone: leadership is over and the process should
    /// stop.
    pub fn is_session_expired(&self) -> bool {
        matches!(self, Error::SessionExpired { .. })
    }

    /// True if retrying the same idempotent call may succeed (timeouts,
    /// connection loss, throttling). Never true for session expiry.
    pub fn is_retryable(&self) -> bool {
        use zookeeper_client::Error as Zk;
        match self {
            Error::Timeout { .. } => true,
            Error::Get { source, .. }
            | Error::GetChildren { source, .. }
            | Error::Commit { source, .. }
            | Error::Delete { source, .. } => matches!(
                source,
                BackendError::Zk(Zk::ConnectionLoss | Zk::Throttled | Zk::Timeout)
                    | BackendError::Injected(_)
            ),
            _ => false,
        }
    }
}
