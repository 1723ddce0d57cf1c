//! [`LeaderLock`]: proof that this process is the one scheduler acting on a
//! state root, and the signal that says when that stops being true.
//!
//! Each backend acquires it its own way ([`Persister::leader_lock`]):
//! * ZooKeeper: an ephemeral-sequential node under `<root>/lock` (Curator's
//!   `_c_<uuid>-lock-<seq>` naming); the lowest node holds the lock. The lock
//!   is lost when the session expires or is closed, when the client has been
//!   disconnected for half the session timeout (the server may already have
//!   expired the session and let another scheduler in), or when the lock node
//!   is deleted. While held, every transaction of the persister starts with a
//!   `check` of the lock node, so a deposed leader cannot write.
//! * File: an exclusive OS lock (`flock`) on `<dir>/.lock`, held by an open
//!   file for as long as the lock lives; never lost while the process runs.
//! * Memory: a process-local mutex shared by all handles of one store; lost
//!   when the handle's simulated session is expired.
//!
//! # Usage
//! ```no_run
//! # async fn run(p: plinth::state::MemPersister) -> plinth::state::Result<()> {
//! use plinth::state::Persister;
//! let lock = p.leader_lock().await?; // waits while another scheduler leads
//! tokio::select! {
//!     biased;
//!     reason = lock.lost() => eprintln!("leadership lost: {reason}; stopping"),
//!     _ = async { /* run the scheduler */ } => {}
//! }
//! lock.release().await?;
//! # Ok(()) }
//! ```
//!
//! [`Persister::leader_lock`]: super::Persister::leader_lock

use std::fmt;
use std::future::Future;
use std::time::Duration;

use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use super::error::{Error, Result};

/// How long [`LeaderLock::release`] waits for the backend to let go.
const RELEASE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why leadership ended.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LeadershipLost {
    /// The ZooKeeper (or simulated) session expired.
    SessionExpired,
    /// The ZooKeeper session was closed or failed authentication.
    SessionClosed,
    /// The client was disconnected for this long, after which another
    /// scheduler may have taken over.
    Disconnected {
        /// How long the client had been disconnected.
        after: Duration,
    },
    /// The lock node was deleted (for example by an uninstall).
    LockNodeDeleted,
    /// The lock was released or dropped by its holder.
    Released,
}

impl fmt::Display for LeadershipLost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SessionExpired => f.write_str("session expired"),
            Self::SessionClosed => f.write_str("session closed"),
            Self::Disconnected { after } => write!(f, "disconnected from ZooKeeper for {after:?}"),
            Self::LockNodeDeleted => f.write_str("lock node deleted"),
            Self::Released => f.write_str("lock released"),
        }
    }
}

/// A held leader lock. Dropping it releases the lock (in the background for
/// ZooKeeper); [`LeaderLock::release`] releases it and waits.
#[derive(Debug)]
pub struct LeaderLock {
    location: String,
    lost: watch::Receiver<Option<LeadershipLost>>,
    holder: Holder,
}

#[derive(Debug)]
enum Holder {
    /// A background task holds the lock and reports its loss.
    Task {
        stop: Option<oneshot::Sender<()>>,
        task: Option<JoinHandle<()>>,
    },
    /// An open file holds an OS lock (never lost).
    File {
        file: Option<std::fs::File>,
        _lost: watch::Sender<Option<LeadershipLost>>,
    },
}

// === impl LeaderLock ===

impl LeaderLock {
    /// A lock held by `task`, which reports loss through `lost` and stops
    /// (releasing the lock) when `stop` fires or is dropped.
    pub(crate) fn with_task(
        location: String,
        lost: watch::Receiver<Option<LeadershipLost>>,
        stop: oneshot::Sender<()>,
        task: JoinHandle<()>,
    ) -> Self {
        LeaderLock {
            location,
            lost,
            holder: Holder::Task {
                stop: Some(stop),
                task: Some(task),
            },
        }
    }

    /// A lock held by an open, OS-locked file.
    pub(crate) fn with_file(location: String, file: std::fs::File) -> Self {
        let (tx, rx) = watch::channel(None);
        LeaderLock {
            location,
            lost: rx,
            holder: Holder::File {
                file: Some(file),
                _lost: tx,
            },
        }
    }

    /// The lock node or file.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// True once leadership has ended.
    pub fn is_lost(&self) -> bool {
        self.lost.borrow().is_some()
    }

    /// Why leadership ended, if it has.
    pub fn lost_reason(&self) -> Option<LeadershipLost> {
        self.lost.borrow().clone()
    }

    /// Resolves when leadership ends. Owns what it needs, so it can be
    /// stored in a `select!` loop or moved to another task.
    pub fn lost(&self) -> impl Future<Output = LeadershipLost> + Send + 'static {
        let mut rx = self.lost.clone();
        async move {
            loop {
                if let Some(reason) = rx.borrow_and_update().clone() {
                    return reason;
                }
                if rx.changed().await.is_err() {
                    return rx.borrow().clone().unwrap_or(LeadershipLost::Released);
                }
            }
        }
    }

    /// Releases the lock and waits (bounded) until the backend has let go.
    pub async fn release(mut self) -> Result<()> {
        match &mut self.holder {
            Holder::Task { stop, task } => {
                if let Some(stop) = stop.take() {
                    let _ = stop.send(());
                }
                if let Some(task) = task.take() {
                    match tokio::time::timeout(RELEASE_TIMEOUT, task).await {
                        Ok(_) => {}
                        Err(_) => {
                            return Err(Error::Timeout {
                                op: "release",
                                path: self.location.clone(),
                                after: RELEASE_TIMEOUT,
                            });
                        }
                    }
                }
                Ok(())
            }
            Holder::File { file, .. } => {
                if let Some(file) = file.take() {
                    file.unlock().map_err(|source| Error::Io {
                        op: "unlock",
                        path: self.location.clone(),
                        source,
                    })?;
                }
                Ok(())
            }
        }
    }
}
