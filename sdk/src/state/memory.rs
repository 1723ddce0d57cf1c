//! [`MemPersister`]: the in-memory backend for tests and simulation, with
//! injectable faults ([`MemFaults`]) and simulated sessions.
//!
//! One *store* (the tree) can be shared by several *sessions*
//! ([`MemPersister::new_session`]), as two schedulers share one ZooKeeper.
//! Clones of a handle share its session. Expiring a session
//! ([`MemPersister::expire_session`]) fails every later call of that session
//! with [`Error::SessionExpired`] and ends a leader lock it holds, like a
//! ZooKeeper session expiry.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use tokio::sync::{oneshot, watch};

use super::error::{BackendError, Error, Result};
use super::lock::{LeaderLock, LeadershipLost};
use super::path;
use super::persister::{Persister, Txn};

/// In-memory [`Persister`].
#[derive(Clone, Debug)]
pub struct MemPersister {
    store: Arc<MemStore>,
    session: Arc<MemSession>,
}

#[derive(Debug, Default)]
struct MemStore {
    /// Every node by path; `""` is the root. Every node's parent is present.
    nodes: Mutex<BTreeMap<String, Bytes>>,
    /// The leader lock shared by all sessions of this store.
    leader: Arc<tokio::sync::Mutex<()>>,
}

#[derive(Debug)]
struct MemSession {
    expired: watch::Sender<bool>,
    faults: MemFaults,
}

/// Faults to inject into one session of a [`MemPersister`]. Each counter is
/// the number of upcoming calls that fail.
#[derive(Debug, Default)]
pub struct MemFaults {
    fail_reads: AtomicU32,
    fail_commits: AtomicU32,
    lose_commit_acks: AtomicU32,
}

// === impl MemFaults ===

impl MemFaults {
    /// The next `n` reads fail (nothing is read).
    pub fn fail_next_reads(&self, n: u32) {
        self.fail_reads.store(n, Ordering::SeqCst);
    }

    /// The next `n` commits fail before changing anything.
    pub fn fail_next_commits(&self, n: u32) {
        self.fail_commits.store(n, Ordering::SeqCst);
    }

    /// The next `n` commits are applied but report an error, like a
    /// connection loss after ZooKeeper committed (the outcome is unknown to
    /// the caller).
    pub fn lose_next_commit_acks(&self, n: u32) {
        self.lose_commit_acks.store(n, Ordering::SeqCst);
    }

    fn take(counter: &AtomicU32) -> bool {
        counter
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }
}

// === impl MemPersister ===

impl Default for MemPersister {
    fn default() -> Self {
        Self::new()
    }
}

impl MemPersister {
    /// A new, empty store with one session.
    pub fn new() -> Self {
        MemPersister {
            store: Arc::default(),
            session: Self::fresh_session(),
        }
    }

    fn fresh_session() -> Arc<MemSession> {
        Arc::new(MemSession {
            expired: watch::channel(false).0,
            faults: MemFaults::default(),
        })
    }

    /// Another handle on the same store with its own session (a second
    /// scheduler process).
    pub fn new_session(&self) -> Self {
        MemPersister {
            store: Arc::clone(&self.store),
            session: Self::fresh_session(),
        }
    }

    /// Expires this handle's session: every later call fails with
    /// [`Error::SessionExpired`], and a leader lock it holds is lost.
    pub fn expire_session(&self) {
        self.session.expired.send_replace(true);
    }

    /// The fault injector of this session.
    pub fn faults(&self) -> &MemFaults {
        &self.session.faults
    }

    /// A copy of every node (`""` is the root), for invariant checks.
    pub fn snapshot(&self) -> BTreeMap<String, Bytes> {
        self.nodes().clone()
    }

    fn nodes(&self) -> MutexGuard<'_, BTreeMap<String, Bytes>> {
        // Nothing panics while holding the lock; recover from poison anyway.
        self.store
            .nodes
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    fn check_session(&self, op: &'static str, path: &str) -> Result<()> {
        if *self.session.expired.borrow() {
            return Err(Error::SessionExpired {
                op,
                path: self.location(path),
            });
        }
        Ok(())
    }

    fn check_read(&self, path: &str) -> Result<()> {
        self.check_session("get", path)?;
        if MemFaults::take(&self.session.faults.fail_reads) {
            return Err(Error::Get {
                path: self.location(path),
                source: BackendError::Injected("read failed"),
            });
        }
        Ok(())
    }

    fn delete_subtree(nodes: &mut BTreeMap<String, Bytes>, root: &str) {
        if root.is_empty() {
            nodes.clear();
            return;
        }
        let prefix = format!("{root}/");
        let doomed: Vec<String> = nodes
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, _)| k.clone())
            .collect();
        for key in doomed {
            nodes.remove(&key);
        }
        nodes.remove(root);
    }
}

impl Persister for MemPersister {
    async fn get(&self, path: &str) -> Result<Option<Bytes>> {
        self.check_read(path)?;
        let key = path::normalize_or_root(path)?;
        Ok(self.nodes().get(&key).cloned())
    }

    async fn get_many(&self, paths: &[String]) -> Result<BTreeMap<String, Option<Bytes>>> {
        self.check_read(paths.first().map_or("", |p| p.as_str()))?;
        let keys = paths
            .iter()
            .map(|p| path::normalize(p))
            .collect::<Result<Vec<_>>>()?;
        let nodes = self.nodes();
        Ok(paths
            .iter()
            .zip(keys)
            .map(|(p, k)| (p.clone(), nodes.get(&k).cloned()))
            .collect())
    }

    async fn get_children(&self, path: &str) -> Result<Vec<String>> {
        self.check_read(path)?;
        let key = path::normalize_or_root(path)?;
        let nodes = self.nodes();
        let prefix = if key.is_empty() {
            String::new()
        } else {
            format!("{key}/")
        };
        let children = nodes
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter(|(k, _)| !k.is_empty() && !k[prefix.len()..].contains('/'))
            .map(|(k, _)| k[prefix.len()..].to_owned())
            .collect();
        Ok(children)
    }

    async fn commit(&self, txn: Txn) -> Result<()> {
        let txn = txn.prepare(|p| self.location(p))?;
        let first = txn.first_path().unwrap_or_default();
        self.check_session("commit", &first)?;
        if MemFaults::take(&self.session.faults.fail_commits) {
            return Err(Error::Commit {
                path: self.location(&first),
                source: BackendError::Injected("commit failed"),
            });
        }
        {
            let mut nodes = self.nodes();
            if let Some(missing) = txn.checks.iter().find(|c| !nodes.contains_key(*c)) {
                return Err(Error::PreconditionFailed {
                    path: self.location(missing),
                });
            }
            for delete in &txn.deletes {
                Self::delete_subtree(&mut nodes, delete);
            }
            for (key, value) in &txn.sets {
                nodes.entry(String::new()).or_default();
                for ancestor in path::ancestors(key) {
                    nodes.entry(ancestor.to_owned()).or_default();
                }
                nodes.insert(key.clone(), value.clone());
            }
        }
        if MemFaults::take(&self.session.faults.lose_commit_acks) {
            return Err(Error::Commit {
                path: self.location(&first),
                source: BackendError::Injected("commit applied but its reply was lost"),
            });
        }
        Ok(())
    }

    async fn delete_root(&self) -> Result<()> {
        self.check_session("delete", "")?;
        Self::delete_subtree(&mut self.nodes(), "");
        Ok(())
    }

    async fn leader_lock(&self) -> Result<LeaderLock> {
        let mut expired = self.session.expired.subscribe();
        let location = self.location("lock");
        let guard = tokio::select! {
            biased;
            _ = expired.wait_for(|e| *e) => {
                return Err(Error::SessionExpired { op: "lock", path: location });
            }
            guard = Arc::clone(&self.store.leader).lock_owned() => guard,
        };
        let (lost_tx, lost_rx) = watch::channel(None);
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            tokio::select! {
                biased;
                _ = expired.wait_for(|e| *e) => {
                    lost_tx.send_replace(Some(LeadershipLost::SessionExpired));
                }
                _ = stop_rx => {}
            }
            drop(guard);
        });
        Ok(LeaderLock::with_task(location, lost_rx, stop_tx, task))
    }

    fn location(&self, path: &str) -> String {
        format!("memory:/{}", path.trim_matches('/'))
    }
}
