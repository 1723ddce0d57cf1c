//! The [`Persister`] trait (dcos-commons' `Persister`): a tree of nodes with
//! bytes, written only through atomic [`Txn`]s.
//!
//! # Semantics (all backends)
//! * Paths are relative to the persister's root (see [`path`](super::path)).
//!   Every node may hold data and have children; writing a node creates its
//!   missing ancestors with empty data.
//! * [`Persister::commit`] applies a [`Txn`] atomically: all of it or none of
//!   it. Its checks are evaluated against the state *before* the
//!   transaction; then its deletes run (each removes a whole subtree;
//!   deleting a missing node is a no-op), then its sets, parents first. So
//!   `delete(a)` + `set(a/b)` replaces the subtree `a` with one node.
//! * A value is at most [`MAX_VALUE_BYTES`]; a whole transaction (paths plus
//!   values plus a small per-operation overhead) at most [`MAX_TXN_BYTES`],
//!   the same on every backend, so what works in tests works on ZooKeeper.
//! * [`Persister::delete_root`] (uninstall) is the only operation that may
//!   use several transactions: it deletes bottom-up, so any prefix of it
//!   leaves a valid tree, and re-running it finishes the job.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use bytes::Bytes;

use super::error::{Error, Result};
use super::lock::LeaderLock;
use super::path;

/// Largest value a node may hold, in bytes (ZooKeeper's default
/// `jute.maxbuffer` is just over 1 MiB per request).
pub const MAX_VALUE_BYTES: usize = 1_000_000;
/// Largest transaction, in bytes: the sum over its operations of path and
/// value length plus [`TXN_OP_OVERHEAD_BYTES`].
pub const MAX_TXN_BYTES: usize = 1_040_000;
/// Per-operation overhead counted against [`MAX_TXN_BYTES`].
pub const TXN_OP_OVERHEAD_BYTES: usize = 32;

/// A storage backend for the state store: ZooKeeper, a directory, or memory.
///
/// All methods are cancel-safe in the sense that dropping a future never
/// leaves a half-applied transaction (a transaction is applied whole or not
/// at all); the outcome of a cancelled `commit` may be unknown.
pub trait Persister: Clone + std::fmt::Debug + Send + Sync + 'static {
    /// Data of the node at `path`, or `None` if it does not exist.
    fn get(&self, path: &str) -> impl Future<Output = Result<Option<Bytes>>> + Send;

    /// Data of many nodes (missing ones map to `None`), read in batches.
    fn get_many(
        &self,
        paths: &[String],
    ) -> impl Future<Output = Result<BTreeMap<String, Option<Bytes>>>> + Send;

    /// Names of the children of `path`, sorted; empty if the node does not
    /// exist. An empty `path` lists the children of the root.
    fn get_children(&self, path: &str) -> impl Future<Output = Result<Vec<String>>> + Send;

    /// Applies `txn` atomically (see the module docs).
    fn commit(&self, txn: Txn) -> impl Future<Output = Result<()>> + Send;

    /// Deletes the whole state root, bottom-up, in as few transactions as the
    /// size limit allows. Idempotent: a missing root is success.
    fn delete_root(&self) -> impl Future<Output = Result<()>> + Send;

    /// Waits until this process is the only leader of the state root and
    /// returns the lock. See [`LeaderLock`].
    fn leader_lock(&self) -> impl Future<Output = Result<LeaderLock>> + Send;

    /// Human-readable location of a node, used in error messages
    /// (`/dcos-service-x/Tasks/a/TaskInfo`, `/var/lib/x/tree/Tasks/...`).
    fn location(&self, path: &str) -> String;

    /// Sets (`Some`) or deletes (`None`, recursive) many nodes in one atomic
    /// transaction.
    fn set_many(
        &self,
        ops: BTreeMap<String, Option<Bytes>>,
    ) -> impl Future<Output = Result<()>> + Send {
        self.commit(Txn::from(ops))
    }

    /// Sets one node (creating its ancestors).
    fn set(&self, path: &str, value: Bytes) -> impl Future<Output = Result<()>> + Send {
        let mut txn = Txn::new();
        txn.set(path, value);
        self.commit(txn)
    }

    /// Deletes a node and everything below it in one transaction; a missing
    /// node is success.
    fn delete_recursive(&self, path: &str) -> impl Future<Output = Result<()>> + Send {
        let mut txn = Txn::new();
        txn.delete(path);
        self.commit(txn)
    }
}

/// One atomic write: checks, then deletes, then sets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Txn {
    checks: BTreeSet<String>,
    ops: BTreeMap<String, Option<Bytes>>,
}

// === impl Txn ===

impl Txn {
    /// An empty transaction.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `path` to `value` (a later call for the same path wins).
    pub fn set(&mut self, path: impl Into<String>, value: impl Into<Bytes>) -> &mut Self {
        self.ops.insert(path.into(), Some(value.into()));
        self
    }

    /// Deletes `path` and its subtree (a later call for the same path wins).
    pub fn delete(&mut self, path: impl Into<String>) -> &mut Self {
        self.ops.insert(path.into(), None);
        self
    }

    /// Makes the transaction fail with [`Error::PreconditionFailed`] (and
    /// write nothing) unless `path` exists before it runs.
    pub fn require_exists(&mut self, path: impl Into<String>) -> &mut Self {
        self.checks.insert(path.into());
        self
    }

    /// True if the transaction has no operations and no checks.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty() && self.checks.is_empty()
    }

    /// Number of set and delete operations.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Validates paths and sizes and splits the transaction into its parts.
    pub(crate) fn prepare(self, location: impl Fn(&str) -> String) -> Result<PreparedTxn> {
        let mut prepared = PreparedTxn::default();
        let mut bytes = 0usize;
        for check in &self.checks {
            let p = path::normalize(check)?;
            bytes += p.len() + TXN_OP_OVERHEAD_BYTES;
            prepared.checks.insert(p);
        }
        for (raw, value) in self.ops {
            let p = path::normalize(&raw)?;
            bytes += p.len() + TXN_OP_OVERHEAD_BYTES;
            match value {
                Some(v) => {
                    if v.len() > MAX_VALUE_BYTES {
                        return Err(Error::TooLarge {
                            path: location(&p),
                            what: "value",
                            bytes: v.len(),
                            limit: MAX_VALUE_BYTES,
                        });
                    }
                    bytes += v.len();
                    prepared.sets.insert(p, v);
                }
                None => {
                    prepared.deletes.insert(p);
                }
            }
        }
        if bytes > MAX_TXN_BYTES {
            let first = prepared.first_path().unwrap_or_default();
            return Err(Error::TooLarge {
                path: location(&first),
                what: "transaction",
                bytes,
                limit: MAX_TXN_BYTES,
            });
        }
        // A delete below another delete is redundant.
        let deletes: Vec<String> = prepared.deletes.iter().cloned().collect();
        prepared.deletes.retain(|d| {
            !deletes
                .iter()
                .any(|other| other != d && path::is_within(d, other))
        });
        Ok(prepared)
    }
}

impl From<BTreeMap<String, Option<Bytes>>> for Txn {
    fn from(ops: BTreeMap<String, Option<Bytes>>) -> Self {
        Txn {
            checks: BTreeSet::new(),
            ops,
        }
    }
}

/// A validated transaction with normalised paths.
#[derive(Debug, Default)]
pub(crate) struct PreparedTxn {
    /// Nodes that must exist before the transaction.
    pub(crate) checks: BTreeSet<String>,
    /// Subtrees to delete (none inside another).
    pub(crate) deletes: BTreeSet<String>,
    /// Nodes to set, in path order (parents before children).
    pub(crate) sets: BTreeMap<String, Bytes>,
}

impl PreparedTxn {
    pub(crate) fn is_noop(&self) -> bool {
        self.deletes.is_empty() && self.sets.is_empty()
    }

    pub(crate) fn first_path(&self) -> Option<String> {
        self.checks
            .iter()
            .chain(self.deletes.iter())
            .chain(self.sets.keys())
            .next()
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepare_validates_and_drops_nested_deletes() {
        let mut txn = Txn::new();
        txn.delete("a")
            .delete("/a/b/")
            .set("a/c", Bytes::from_static(b"x"))
            .require_exists("z");
        let p = txn.prepare(|p| p.to_owned()).unwrap();
        assert_eq!(p.deletes.iter().collect::<Vec<_>>(), ["a"]);
        assert_eq!(p.sets.len(), 1);
        assert!(p.checks.contains("z"));

        let mut bad = Txn::new();
        bad.set("a//b", Bytes::new());
        assert!(matches!(
            bad.prepare(|p| p.to_owned()),
            Err(Error::InvalidPath { .. })
        ));

        let mut big = Txn::new();
        big.set("a", vec![0u8; MAX_VALUE_BYTES + 1]);
        assert!(matches!(
            big.prepare(|p| p.to_owned()),
            Err(Error::TooLarge { what: "value", .. })
        ));

        let mut many = Txn::new();
        for i in 0..3 {
            many.set(format!("n{i}"), vec![0u8; MAX_VALUE_BYTES / 2]);
        }
        assert!(matches!(
            many.prepare(|p| p.to_owned()),
            Err(Error::TooLarge {
                what: "transaction",
                ..
            })
        ));
    }
}
