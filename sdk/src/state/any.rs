//! [`AnyPersister`]: the backend chosen at run time (from `--state`), as one
//! type that implements [`Persister`] by delegation — no `dyn` needed.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::error::Result;
use super::file::FilePersister;
use super::lock::LeaderLock;
use super::memory::MemPersister;
use super::persister::{Persister, Txn};
use super::url::BackendConfig;
use super::zk::{ZkConfig, ZkPersister};

/// One of the three backends.
#[derive(Clone, Debug)]
pub enum AnyPersister {
    /// ZooKeeper.
    Zk(ZkPersister),
    /// A local directory.
    File(FilePersister),
    /// Memory.
    Memory(MemPersister),
}

macro_rules! delegate {
    ($self:ident, $p:ident => $call:expr) => {
        match $self {
            AnyPersister::Zk($p) => $call,
            AnyPersister::File($p) => $call,
            AnyPersister::Memory($p) => $call,
        }
    };
}

impl AnyPersister {
    /// Opens the backend `config` names (ZooKeeper with default timeouts).
    pub async fn open(config: &BackendConfig) -> Result<Self> {
        Ok(match config {
            BackendConfig::Zk { connect, root } => AnyPersister::Zk(
                ZkPersister::connect(ZkConfig::new(connect.clone(), root.clone())).await?,
            ),
            BackendConfig::File { dir } => AnyPersister::File(FilePersister::open(dir).await?),
            BackendConfig::Memory => AnyPersister::Memory(MemPersister::new()),
        })
    }
}

impl Persister for AnyPersister {
    async fn get(&self, path: &str) -> Result<Option<Bytes>> {
        delegate!(self, p => p.get(path).await)
    }

    async fn get_many(&self, paths: &[String]) -> Result<BTreeMap<String, Option<Bytes>>> {
        delegate!(self, p => p.get_many(paths).await)
    }

    async fn get_children(&self, path: &str) -> Result<Vec<String>> {
        delegate!(self, p => p.get_children(path).await)
    }

    async fn commit(&self, txn: Txn) -> Result<()> {
        delegate!(self, p => p.commit(txn).await)
    }

    async fn delete_root(&self) -> Result<()> {
        delegate!(self, p => p.delete_root().await)
    }

    async fn leader_lock(&self) -> Result<LeaderLock> {
        delegate!(self, p => p.leader_lock().await)
    }

    fn location(&self, path: &str) -> String {
        delegate!(self, p => p.location(path))
    }
}
