//! [`ZkPersister`]: the production backend, on ZooKeeper through
//! `zookeeper-client` (one session, multi-op transactions).
//!
//! # Guarantees
//! * Every [`Txn`] is **one** ZooKeeper `multi`: missing ancestors are
//!   created inside it, nodes read as existing are updated with their read
//!   version (so a concurrent change fails the transaction instead of being
//!   overwritten), deletes remove whole subtrees bottom-up, and each
//!   `require_exists` is a `check` op. While this persister holds the
//!   [leader lock](super::LeaderLock), every transaction also starts with a
//!   `check` of the lock node, so a deposed leader's writes fail with
//!   [`Error::NotLeader`]. A transaction that lost a race with another writer
//!   (the nodes it read changed) is re-planned and retried, at most
//!   [`ATOMIC_WRITE_ATTEMPTS`] times — each attempt is all-or-nothing.
//! * Session expiry is terminal: the client never opens a new session behind
//!   the caller's back; calls fail with [`Error::SessionExpired`] and the
//!   leader lock reports [`LeadershipLost::SessionExpired`].
//! * Every network call is bounded by [`ZkConfig::op_timeout`] (connecting by
//!   [`ZkConfig::connect_timeout`]); waiting for the leader lock is the one
//!   wait without a bound, by design (a standby waits for its turn).
//! * Bulk reads ([`Persister::get_many`]) use `multi` reads of
//!   [`READ_BATCH`] nodes with [`READS_IN_FLIGHT`] requests in flight.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::{StreamExt, stream};
use tokio::sync::{oneshot, watch};
use tokio::time::{Instant, timeout};
use zookeeper_client as zk;

use super::error::{BackendError, Error, Result};
use super::lock::{LeaderLock, LeadershipLost};
use super::path;
use super::persister::{MAX_TXN_BYTES, Persister, PreparedTxn, TXN_OP_OVERHEAD_BYTES, Txn};

type ZkResult<T> = std::result::Result<T, zk::Error>;

/// Attempts of one transaction that lost a race with another writer
/// (dcos-commons' `ATOMIC_WRITE_ATTEMPTS`).
pub const ATOMIC_WRITE_ATTEMPTS: usize = 3;
/// Nodes per `multi` read.
pub const READ_BATCH: usize = 128;
/// `multi` reads in flight at once.
pub const READS_IN_FLIGHT: usize = 8;
/// Operations per transaction of [`Persister::delete_root`].
const DELETE_BATCH: usize = 1000;
/// Most nodes a subtree listing will visit.
const MAX_SUBTREE_NODES: usize = 2_000_000;
/// Name of the lock directory below the root.
pub const LOCK_NODE: &str = "lock";

/// Connection settings of a [`ZkPersister`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZkConfig {
    /// `host:port[,host:port...]`.
    pub connect: String,
    /// Absolute root of the state tree (`/dcos-service-hello-world`); not `/`.
    pub root: String,
    /// Session timeout to negotiate.
    pub session_timeout: Duration,
    /// Bound on establishing the session.
    pub connect_timeout: Duration,
    /// Bound on every other call.
    pub op_timeout: Duration,
}

impl ZkConfig {
    /// Settings with default timeouts (session 10 s, connect 15 s, calls 10 s).
    pub fn new(connect: impl Into<String>, root: impl Into<String>) -> Self {
        ZkConfig {
            connect: connect.into(),
            root: root.into(),
            session_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(15),
            op_timeout: Duration::from_secs(10),
        }
    }

    /// The `zk://` form of these settings.
    pub fn url(&self) -> String {
        format!("zk://{}{}", self.connect, self.root)
    }
}

/// A [`Persister`] on ZooKeeper. Clones share one session.
#[derive(Clone, Debug)]
pub struct ZkPersister {
    inner: Arc<ZkInner>,
}

#[derive(Debug)]
struct ZkInner {
    client: zk::Client,
    config: ZkConfig,
    /// Normalised root (`/a/b`).
    root: String,
    /// The lock node while this persister holds the leader lock.
    fence: Mutex<Option<String>>,
}

/// One planned operation of a `multi`.
#[derive(Debug)]
enum Op {
    Check {
        path: String,
        fence: bool,
    },
    Create {
        path: String,
        data: Bytes,
    },
    SetData {
        path: String,
        data: Bytes,
        version: i32,
    },
    Delete {
        path: String,
    },
}

impl Op {
    fn path(&self) -> &str {
        match self {
            Op::Check { path, .. }
            | Op::Create { path, .. }
            | Op::SetData { path, .. }
            | Op::Delete { path } => path,
        }
    }

    fn bytes(&self) -> usize {
        let data = match self {
            Op::Create { data, .. } | Op::SetData { data, .. } => data.len(),
            _ => 0,
        };
        self.path().len() + data + TXN_OP_OVERHEAD_BYTES
    }
}

/// Outcome of one `multi` attempt.
enum Attempt {
    Done,
    /// Lost a race with another writer; re-plan.
    Conflict(String, zk::Error),
}

// === impl ZkPersister ===

impl ZkPersister {
    /// Opens a session (bounded by `connect_timeout`).
    pub async fn connect(config: ZkConfig) -> Result<Self> {
        let root = normalize_root(&config.root)?;
        let location = config.url();
        let connecting = zk::Client::connector()
            .with_session_timeout(config.session_timeout)
            .with_fail_eagerly()
            .connect(&config.connect);
        let client = match timeout(config.connect_timeout, connecting).await {
            Err(_) => {
                return Err(Error::Timeout {
                    op: "connect",
                    path: location,
                    after: config.connect_timeout,
                });
            }
            Ok(Err(e)) => {
                return Err(Error::Connect {
                    location,
                    source: BackendError::Zk(e),
                });
            }
            Ok(Ok(client)) => client,
        };
        tracing::debug!(zk = %location, session = ?client.session_id(), "ZooKeeper session established");
        Ok(ZkPersister {
            inner: Arc::new(ZkInner {
                client,
                config,
                root,
                fence: Mutex::new(None),
            }),
        })
    }

    /// The settings this persister was opened with.
    pub fn config(&self) -> &ZkConfig {
        &self.inner.config
    }

    fn fence(&self) -> Option<String> {
        self.inner
            .fence
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn zk_path(&self, rel: &str) -> String {
        if rel.is_empty() {
            self.inner.root.clone()
        } else {
            format!("{}/{rel}", self.inner.root)
        }
    }

    /// Runs one ZooKeeper call under the op timeout; maps terminal session
    /// errors.
    async fn call<T>(
        &self,
        op: &'static str,
        path: &str,
        fut: impl Future<Output = ZkResult<T>>,
    ) -> Result<ZkResult<T>> {
        call(self.inner.config.op_timeout, op, path, fut).await
    }

    async fn stat(&self, path: &str) -> Result<Option<zk::Stat>> {
        match self
            .call("stat", path, self.inner.client.check_stat(path))
            .await?
        {
            Ok(stat) => Ok(stat),
            Err(e) => Err(Error::Get {
                path: path.to_owned(),
                source: e.into(),
            }),
        }
    }

    /// Stats of many nodes (absolute paths; `None`: missing), read
    /// [`READ_BATCH`] to a request like [`Persister::get_many`] — one round
    /// trip per node made a transaction of 1,000 tasks cost 2,000 of them.
    async fn stat_many(&self, paths: &[String]) -> Result<Vec<Option<zk::Stat>>> {
        let client = &self.inner.client;
        let after = self.inner.config.op_timeout;
        let chunks: Vec<Vec<String>> = paths.chunks(READ_BATCH).map(<[String]>::to_vec).collect();
        let batches: Vec<Result<Vec<Option<zk::Stat>>>> = stream::iter(chunks)
            .map(|chunk: Vec<String>| async move {
                let first = chunk.first().cloned().unwrap_or_default();
                let mut reader = client.new_multi_reader();
                for p in &chunk {
                    reader.add_get_data(p).map_err(|e| Error::Get {
                        path: p.clone(),
                        source: e.into(),
                    })?;
                }
                let results = match call(after, "stat", &first, reader.commit()).await? {
                    Ok(results) => results,
                    Err(e) => {
                        return Err(Error::Get {
                            path: first,
                            source: e.into(),
                        });
                    }
                };
                if results.len() != chunk.len() {
                    return Err(Error::Get {
                        path: first,
                        source: zk::Error::UnexpectedError(
                            "multi read returned a wrong count".into(),
                        )
                        .into(),
                    });
                }
                chunk
                    .iter()
                    .zip(results)
                    .map(|(p, result)| match result {
                        zk::MultiReadResult::Data { stat, .. } => Ok(Some(stat)),
                        zk::MultiReadResult::Error {
                            err: zk::Error::NoNode,
                        } => Ok(None),
                        zk::MultiReadResult::Error { err } => Err(Error::Get {
                            path: p.clone(),
                            source: err.into(),
                        }),
                        _ => Err(Error::Get {
                            path: p.clone(),
                            source: zk::Error::UnexpectedError(
                                "unexpected multi read result".into(),
                            )
                            .into(),
                        }),
                    })
                    .collect()
            })
            .buffered(READS_IN_FLIGHT)
            .collect()
            .await;
        let mut out = Vec::with_capacity(paths.len());
        for batch in batches {
            out.extend(batch?);
        }
        Ok(out)
    }

    /// Every node of the subtree at `root` (absolute), breadth-first, root
    /// first; empty if `root` does not exist.
    async fn list_subtree(&self, root: &str) -> Result<Vec<String>> {
        if self.stat(root).await?.is_none() {
            return Ok(Vec::new());
        }
        let mut all = vec![root.to_owned()];
        let mut level = vec![root.to_owned()];
        while !level.is_empty() {
            let listed: Vec<Result<Vec<String>>> = stream::iter(level.clone())
                .map(|parent: String| async move {
                    match self
                        .call("list", &parent, self.inner.client.list_children(&parent))
                        .await?
                    {
                        Ok(mut children) => {
                            children.sort();
                            Ok(children
                                .into_iter()
                                .map(|c| format!("{parent}/{c}"))
                                .collect())
                        }
                        Err(zk::Error::NoNode) => Ok(Vec::new()),
                        Err(e) => Err(Error::GetChildren {
                            path: parent,
                            source: e.into(),
                        }),
                    }
                })
                .buffered(READS_IN_FLIGHT * 4)
                .collect()
                .await;
            let mut next = Vec::new();
            for children in listed {
                next.extend(children?);
            }
            all.extend(next.iter().cloned());
            if all.len() > MAX_SUBTREE_NODES {
                return Err(Error::TooLarge {
                    path: root.to_owned(),
                    what: "subtree (nodes)",
                    bytes: all.len(),
                    limit: MAX_SUBTREE_NODES,
                });
            }
            level = next;
        }
        Ok(all)
    }

    /// Reads what the transaction touches and turns it into `multi` ops.
    async fn plan(&self, txn: &PreparedTxn, fence: Option<&str>) -> Result<Vec<Op>> {
        let mut ops = Vec::new();
        if let Some(fence) = fence {
            ops.push(Op::Check {
                path: fence.to_owned(),
                fence: true,
            });
        }
        for check in &txn.checks {
            ops.push(Op::Check {
                path: self.zk_path(check),
                fence: false,
            });
        }
        let mut deleted = BTreeSet::new();
        for delete in &txn.deletes {
            let subtree = self.list_subtree(&self.zk_path(delete)).await?;
            for node in subtree.into_iter().rev() {
                ops.push(Op::Delete { path: node.clone() });
                deleted.insert(node);
            }
        }
        if txn.sets.is_empty() {
            return Ok(ops);
        }
        let mut wanted = BTreeSet::new();
        for key in txn.sets.keys() {
            let full = self.zk_path(key);
            for ancestor in path::ancestors(&full).filter(|a| !a.is_empty()) {
                wanted.insert(ancestor.to_owned());
            }
            wanted.insert(full);
        }
        let list: Vec<String> = wanted.iter().cloned().collect();
        let stats = self.stat_many(&list).await?;
        let mut existing = BTreeMap::new();
        for (p, stat) in wanted.iter().zip(stats) {
            if let Some(stat) = stat
                && !deleted.contains(p)
            {
                existing.insert(p.as_str(), stat.version);
            }
        }
        let mut created = BTreeSet::new();
        for (key, data) in &txn.sets {
            let full = self.zk_path(key);
            for ancestor in path::ancestors(&full).filter(|a| !a.is_empty()) {
                if !existing.contains_key(ancestor) && created.insert(ancestor.to_owned()) {
                    ops.push(Op::Create {
                        path: ancestor.to_owned(),
                        data: Bytes::new(),
                    });
                }
            }
            match existing.get(full.as_str()) {
                Some(&version) => ops.push(Op::SetData {
                    path: full,
                    data: data.clone(),
                    version,
                }),
                None => {
                    created.insert(full.clone());
                    ops.push(Op::Create {
                        path: full,
                        data: data.clone(),
                    });
                }
            }
        }
        Ok(ops)
    }

    /// Sends `ops` as one `multi`.
    async fn send(&self, ops: &[Op]) -> Result<Attempt> {
        let first = ops
            .first()
            .map(|op| op.path().to_owned())
            .unwrap_or_else(|| self.inner.root.clone());
        let bytes: usize = ops.iter().map(Op::bytes).sum();
        if bytes > MAX_TXN_BYTES {
            return Err(Error::TooLarge {
                path: first,
                what: "transaction",
                bytes,
                limit: MAX_TXN_BYTES,
            });
        }
        let create = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
        let mut writer = self.inner.client.new_multi_writer();
        for op in ops {
            let added = match op {
                Op::Check { path, .. } => writer.add_check_version(path, -1),
                Op::Create { path, data } => writer.add_create(path, data, &create),
                Op::SetData {
                    path,
                    data,
                    version,
                } => writer.add_set_data(path, data, Some(*version)),
                Op::Delete { path } => writer.add_delete(path, None),
            };
            added.map_err(|e| Error::Commit {
                path: op.path().to_owned(),
                source: e.into(),
            })?;
        }
        let after = self.inner.config.op_timeout;
        match timeout(after, writer.commit()).await {
            Err(_) => Err(Error::Timeout {
                op: "commit",
                path: first,
                after,
            }),
            Ok(Ok(_)) => Ok(Attempt::Done),
            Ok(Err(zk::MultiWriteError::RequestFailed { source })) => {
                if is_terminal(&source) {
                    Err(Error::SessionExpired {
                        op: "commit",
                        path: first,
                    })
                } else {
                    Err(Error::Commit {
                        path: first,
                        source: source.into(),
                    })
                }
            }
            Ok(Err(zk::MultiWriteError::OperationFailed { index, source })) => {
                let Some(op) = ops.get(index) else {
                    return Err(Error::Commit {
                        path: first,
                        source: source.into(),
                    });
                };
                let path = op.path().to_owned();
                match (op, &source) {
                    (_, e) if is_terminal(e) => Err(Error::SessionExpired { op: "commit", path }),
                    (Op::Check { fence: true, .. }, _) => Err(Error::NotLeader { path }),
                    (Op::Check { fence: false, .. }, zk::Error::NoNode) => {
                        Err(Error::PreconditionFailed { path })
                    }
                    (
                        Op::Create { .. } | Op::SetData { .. } | Op::Delete { .. },
                        zk::Error::NodeExists
                        | zk::Error::NoNode
                        | zk::Error::NotEmpty
                        | zk::Error::BadVersion,
                    ) => Ok(Attempt::Conflict(path, source)),
                    _ => Err(Error::Commit {
                        path,
                        source: source.into(),
                    }),
                }
            }
        }
    }
}

impl Persister for ZkPersister {
    async fn get(&self, path: &str) -> Result<Option<Bytes>> {
        let p = self.zk_path(&path::normalize_or_root(path)?);
        match self.call("get", &p, self.inner.client.get_data(&p)).await? {
            Ok((data, _)) => Ok(Some(Bytes::from(data))),
            Err(zk::Error::NoNode) => Ok(None),
            Err(e) => Err(Error::Get {
                path: p,
                source: e.into(),
            }),
        }
    }

    async fn get_many(&self, paths: &[String]) -> Result<BTreeMap<String, Option<Bytes>>> {
        let full = paths
            .iter()
            .map(|p| Ok(self.zk_path(&path::normalize(p)?)))
            .collect::<Result<Vec<_>>>()?;
        let client = &self.inner.client;
        let after = self.inner.config.op_timeout;
        let batches: Vec<Result<Vec<Option<Bytes>>>> = stream::iter(
            full.chunks(READ_BATCH)
                .map(<[String]>::to_vec)
                .collect::<Vec<_>>(),
        )
        .map(|chunk: Vec<String>| async move {
            let first = chunk.first().cloned().unwrap_or_default();
            let mut reader = client.new_multi_reader();
            for p in &chunk {
                reader.add_get_data(p).map_err(|e| Error::Get {
                    path: p.clone(),
                    source: e.into(),
                })?;
            }
            let results = match call(after, "get", &first, reader.commit()).await? {
                Ok(results) => results,
                Err(e) => {
                    return Err(Error::Get {
                        path: first,
                        source: e.into(),
                    });
                }
            };
            if results.len() != chunk.len() {
                return Err(Error::Get {
                    path: first,
                    source: zk::Error::UnexpectedError("multi read returned a wrong count".into())
                        .into(),
                });
            }
            chunk
                .iter()
                .zip(results)
                .map(|(p, result)| match result {
                    zk::MultiReadResult::Data { data, .. } => Ok(Some(Bytes::from(data))),
                    zk::MultiReadResult::Error {
                        err: zk::Error::NoNode,
                    } => Ok(None),
                    zk::MultiReadResult::Error { err } => Err(Error::Get {
                        path: p.clone(),
                        source: err.into(),
                    }),
                    _ => Err(Error::Get {
                        path: p.clone(),
                        source: zk::Error::UnexpectedError("unexpected multi read result".into())
                            .into(),
                    }),
                })
                .collect()
        })
        .buffered(READS_IN_FLIGHT)
        .collect()
        .await;
        let mut out = BTreeMap::new();
        let mut names = paths.iter();
        for batch in batches {
            for value in batch? {
                if let Some(name) = names.next() {
                    out.insert(name.clone(), value);
                }
            }
        }
        Ok(out)
    }

    async fn get_children(&self, path: &str) -> Result<Vec<String>> {
        let p = self.zk_path(&path::normalize_or_root(path)?);
        match self
            .call("list", &p, self.inner.client.list_children(&p))
            .await?
        {
            Ok(mut children) => {
                children.sort();
                Ok(children)
            }
            Err(zk::Error::NoNode) => Ok(Vec::new()),
            Err(e) => Err(Error::GetChildren {
                path: p,
                source: e.into(),
            }),
        }
    }

    async fn commit(&self, txn: Txn) -> Result<()> {
        if txn.is_empty() {
            return Ok(());
        }
        let txn = txn.prepare(|p| self.zk_path(p))?;
        let fence = self.fence();
        let mut last = None;
        for attempt in 1..=ATOMIC_WRITE_ATTEMPTS {
            let ops = self.plan(&txn, fence.as_deref()).await?;
            match self.send(&ops).await? {
                Attempt::Done => return Ok(()),
                Attempt::Conflict(path, e) => {
                    tracing::debug!(%path, error = %e, attempt, "ZooKeeper transaction lost a race; re-planning");
                    last = Some((path, e));
                }
            }
        }
        let (path, e) =
            last.unwrap_or_else(|| (self.inner.root.clone(), zk::Error::RuntimeInconsistent));
        Err(Error::Commit {
            path,
            source: e.into(),
        })
    }

    async fn delete_root(&self) -> Result<()> {
        let root = self.inner.root.clone();
        let lock_dir = format!("{root}/{LOCK_NODE}");
        let mut last = None;
        for _ in 0..ATOMIC_WRITE_ATTEMPTS {
            let nodes = self.list_subtree(&root).await?;
            if nodes.is_empty() {
                return Ok(());
            }
            // Deepest first; the lock subtree and the root last, so a
            // leader keeps its lock until the final transaction.
            let (lock_nodes, others): (Vec<String>, Vec<String>) = nodes
                .into_iter()
                .rev()
                .filter(|n| *n != root)
                .partition(|n| path::is_within(n, &lock_dir));
            let order: Vec<String> = others
                .into_iter()
                .chain(lock_nodes)
                .chain([root.clone()])
                .collect();
            let fence = self.fence();
            let mut conflict = false;
            let mut batch: Vec<Op> = Vec::new();
            let mut bytes = 0;
            let total = order.len();
            for (i, node) in order.into_iter().enumerate() {
                bytes += node.len() + TXN_OP_OVERHEAD_BYTES;
                batch.push(Op::Delete { path: node });
                let last_node = i + 1 == total;
                if last_node || batch.len() >= DELETE_BATCH || bytes > MAX_TXN_BYTES / 2 {
                    let mut ops = Vec::with_capacity(batch.len() + 1);
                    if let Some(fence) = &fence {
                        ops.push(Op::Check {
                            path: fence.clone(),
                            fence: true,
                        });
                    }
                    ops.append(&mut batch);
                    bytes = 0;
                    match self.send(&ops).await {
                        Ok(Attempt::Done) => {}
                        Ok(Attempt::Conflict(path, e)) => {
                            last = Some((path, e));
                            conflict = true;
                            break;
                        }
                        Err(Error::Commit { path, source }) => {
                            return Err(Error::Delete { path, source });
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
            if !conflict {
                return Ok(());
            }
        }
        let (path, e) = last.unwrap_or_else(|| (root.clone(), zk::Error::RuntimeInconsistent));
        Err(Error::Delete {
            path,
            source: e.into(),
        })
    }

    async fn leader_lock(&self) -> Result<LeaderLock> {
        let inner = &self.inner;
        let dir = format!("{}/{LOCK_NODE}", inner.root);
        let zk_err = |e: zk::Error| {
            if is_terminal(&e) {
                Error::SessionExpired {
                    op: "lock",
                    path: dir.clone(),
                }
            } else {
                Error::Lock {
                    path: dir.clone(),
                    source: e.into(),
                }
            }
        };
        let prefix = zk::LockPrefix::new_curator(&dir, "lock-").map_err(zk_err)?;
        let options = zk::LockOptions::new(zk::Acls::anyone_all())
            .with_ancestor_options(zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all()))
            .map_err(zk_err)?;
        let lock = inner
            .client
            .lock(prefix, b"", options)
            .await
            .map_err(zk_err)?
            .into_owned();
        let node = lock.lock_path().to_owned();
        *inner.fence.lock().unwrap_or_else(|p| p.into_inner()) = Some(node.clone());
        tracing::info!(lock = %node, "acquired the leader lock");
        let (lost_tx, lost_rx) = watch::channel(None);
        let (stop_tx, stop_rx) = oneshot::channel();
        let task = tokio::spawn(hold_lock(Arc::clone(inner), lock, lost_tx, stop_rx));
        Ok(LeaderLock::with_task(node, lost_rx, stop_tx, task))
    }

    fn location(&self, path: &str) -> String {
        self.zk_path(path.trim_matches('/'))
    }
}

// === leader lock task ===

/// Holds the lock node until released; reports why leadership ended.
async fn hold_lock(
    inner: Arc<ZkInner>,
    lock: zk::OwnedLockClient,
    lost: watch::Sender<Option<LeadershipLost>>,
    mut stop: oneshot::Receiver<()>,
) {
    let node = lock.lock_path().to_owned();
    let mut state = inner.client.state_watcher();
    let grace = inner.config.session_timeout / 2;
    let mut disconnected_since =
        (state.peek_state() == zk::SessionState::Disconnected).then(Instant::now);
    let deleted = wait_deleted(inner.client.clone(), node.clone(), inner.config.op_timeout);
    tokio::pin!(deleted);
    let reason = loop {
        let deadline = disconnected_since.map(|since| since + grace);
        tokio::select! {
            biased;
            _ = &mut stop => {
                let after = inner.config.op_timeout;
                let _ = timeout(after, inner.client.delete(&node, None)).await;
                let mut fence = inner.fence.lock().unwrap_or_else(|p| p.into_inner());
                if fence.as_deref() == Some(node.as_str()) {
                    *fence = None;
                }
                tracing::info!(lock = %node, "released the leader lock");
                return;
            }
            s = state.changed() => match s {
                zk::SessionState::Expired => break LeadershipLost::SessionExpired,
                zk::SessionState::Closed | zk::SessionState::AuthFailed => break LeadershipLost::SessionClosed,
                zk::SessionState::Disconnected | zk::SessionState::ConnectedReadOnly => {
                    disconnected_since.get_or_insert_with(Instant::now);
                }
                _ => disconnected_since = None,
            },
            _ = sleep_until_opt(deadline) => break LeadershipLost::Disconnected { after: grace },
            () = &mut deleted => break LeadershipLost::LockNodeDeleted,
        }
    };
    tracing::warn!(lock = %node, %reason, "leadership lost");
    lost.send_replace(Some(reason));
    // Dropping `lock` deletes the node in the background if the session
    // still lives; the fence stays, so this persister's writes now fail.
    drop(lock);
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Resolves when `node` is deleted; pends forever once the session ends (the
/// session state watcher reports that).
async fn wait_deleted(client: zk::Client, node: String, op_timeout: Duration) {
    loop {
        match timeout(op_timeout, client.check_and_watch_stat(&node)).await {
            Ok(Ok((None, _))) => return,
            Ok(Ok((Some(_), watcher))) => {
                let event = watcher.changed().await;
                match event.event_type {
                    zk::EventType::NodeDeleted => return,
                    zk::EventType::Session if is_terminal_state(event.session_state) => {
                        std::future::pending::<()>().await;
                    }
                    _ => {}
                }
            }
            Ok(Err(e)) if is_terminal(&e) => std::future::pending::<()>().await,
            Ok(Err(_)) | Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

// === helpers ===

async fn call<T>(
    after: Duration,
    op: &'static str,
    path: &str,
    fut: impl Future<Output = ZkResult<T>>,
) -> Result<ZkResult<T>> {
    match timeout(after, fut).await {
        Err(_) => Err(Error::Timeout {
            op,
            path: path.to_owned(),
            after,
        }),
        Ok(Err(e)) if is_terminal(&e) => Err(Error::SessionExpired {
            op,
            path: path.to_owned(),
        }),
        Ok(result) => Ok(result),
    }
}

fn is_terminal(e: &zk::Error) -> bool {
    matches!(
        e,
        zk::Error::SessionExpired
            | zk::Error::SessionMoved
            | zk::Error::ClientClosed
            | zk::Error::AuthFailed
    )
}

fn is_terminal_state(s: zk::SessionState) -> bool {
    matches!(
        s,
        zk::SessionState::Expired | zk::SessionState::Closed | zk::SessionState::AuthFailed
    )
}

/// Validates an absolute root: `/a/b` (a trailing `/` is dropped; `/` alone
/// is refused, so an uninstall can never delete the whole ZooKeeper tree).
pub(crate) fn normalize_root(root: &str) -> Result<String> {
    if !root.starts_with('/') {
        return Err(Error::InvalidPath {
            path: root.to_owned(),
            reason: "the ZooKeeper root must start with `/`",
        });
    }
    let inner = path::normalize(root).map_err(|_| Error::InvalidPath {
        path: root.to_owned(),
        reason: "the ZooKeeper root must be a valid path other than `/`",
    })?;
    if inner == "zookeeper" || inner.starts_with("zookeeper/") {
        return Err(Error::InvalidPath {
            path: root.to_owned(),
            reason: "`/zookeeper` is reserved by ZooKeeper",
        });
    }
    Ok(format!("/{inner}"))
}
