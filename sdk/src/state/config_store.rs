//! [`ConfigStore`]: versioned service configurations (dcos-commons'
//! `ConfigStore` + `ConfigTargetStore`).
//!
//! ```text
//! Configurations/<uuid>   the configuration as JSON
//! ConfigTarget            the target configuration's UUID (UTF-8)
//! ```
//! Setting a target requires the configuration to exist (checked inside the
//! transaction); the target cannot be deleted; [`ConfigStore::prune`] drops
//! every configuration no task needs any more.

use std::collections::BTreeSet;
use std::marker::PhantomData;

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::error::{Error, Result};
use super::persister::{Persister, Txn};

/// Parent of the stored configurations.
pub const CONFIGURATIONS_NODE: &str = "Configurations";
/// Node holding the target configuration's ID.
pub const CONFIG_TARGET_NODE: &str = "ConfigTarget";

/// Configurations of type `T` (stored as JSON) over a [`Persister`].
#[derive(Debug)]
pub struct ConfigStore<T, P> {
    persister: P,
    _config: PhantomData<fn() -> T>,
}

impl<T, P: Clone> Clone for ConfigStore<T, P> {
    fn clone(&self) -> Self {
        ConfigStore {
            persister: self.persister.clone(),
            _config: PhantomData,
        }
    }
}

// === impl ConfigStore ===

impl<T: Serialize + DeserializeOwned, P: Persister> ConfigStore<T, P> {
    /// A store over `persister`.
    pub fn new(persister: P) -> Self {
        ConfigStore {
            persister,
            _config: PhantomData,
        }
    }

    /// Stores `config` under a new random ID.
    pub async fn store(&self, config: &T) -> Result<Uuid> {
        let id = Uuid::new_v4();
        self.store_with_id(id, config).await?;
        Ok(id)
    }

    /// Stores `config` under `id` (replacing what was there).
    pub async fn store_with_id(&self, id: Uuid, config: &T) -> Result<()> {
        let mut txn = Txn::new();
        txn.set(config_node(id), self.encode(id, config)?);
        self.persister.commit(txn).await
    }

    /// Stores `config` under a new ID and makes it the target, in one
    /// transaction.
    pub async fn store_as_target(&self, config: &T) -> Result<Uuid> {
        let id = Uuid::new_v4();
        let mut txn = Txn::new();
        txn.set(config_node(id), self.encode(id, config)?);
        txn.set(CONFIG_TARGET_NODE, id.to_string());
        self.persister.commit(txn).await?;
        Ok(id)
    }

    /// The configuration stored under `id`.
    pub async fn fetch(&self, id: Uuid) -> Result<Option<T>> {
        let node = config_node(id);
        match self.persister.get(&node).await? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| Error::Decode {
                    path: self.persister.location(&node),
                    what: "configuration JSON",
                    reason: e.to_string(),
                }),
        }
    }

    /// IDs of all stored configurations, sorted.
    pub async fn list(&self) -> Result<Vec<Uuid>> {
        let mut ids = Vec::new();
        for name in self.persister.get_children(CONFIGURATIONS_NODE).await? {
            let id = Uuid::parse_str(&name).map_err(|e| Error::Decode {
                path: self
                    .persister
                    .location(&format!("{CONFIGURATIONS_NODE}/{name}")),
                what: "configuration ID",
                reason: e.to_string(),
            })?;
            ids.push(id);
        }
        ids.sort();
        Ok(ids)
    }

    /// Makes `id` the target configuration; it must be stored
    /// ([`Error::UnknownConfig`] otherwise, and nothing changes).
    pub async fn set_target(&self, id: Uuid) -> Result<()> {
        let mut txn = Txn::new();
        txn.require_exists(config_node(id));
        txn.set(CONFIG_TARGET_NODE, id.to_string());
        match self.persister.commit(txn).await {
            Err(Error::PreconditionFailed { path }) => Err(Error::UnknownConfig {
                id: id.to_string(),
                path,
            }),
            other => other,
        }
    }

    /// The target configuration's ID.
    pub async fn target_id(&self) -> Result<Option<Uuid>> {
        let Some(bytes) = self.persister.get(CONFIG_TARGET_NODE).await? else {
            return Ok(None);
        };
        let decode_err = |reason: String| Error::Decode {
            path: self.persister.location(CONFIG_TARGET_NODE),
            what: "target configuration ID",
            reason,
        };
        let text = std::str::from_utf8(&bytes).map_err(|e| decode_err(e.to_string()))?;
        Uuid::parse_str(text.trim())
            .map(Some)
            .map_err(|e| decode_err(format!("{e} (found {text:?})")))
    }

    /// The target configuration with its ID.
    pub async fn fetch_target(&self) -> Result<Option<(Uuid, T)>> {
        let Some(id) = self.target_id().await? else {
            return Ok(None);
        };
        match self.fetch(id).await? {
            Some(config) => Ok(Some((id, config))),
            None => Err(Error::UnknownConfig {
                id: id.to_string(),
                path: self.persister.location(&config_node(id)),
            }),
        }
    }

    /// Deletes a configuration; refuses the target ([`Error::DeleteTargetConfig`]).
    pub async fn delete(&self, id: Uuid) -> Result<()> {
        if self.target_id().await? == Some(id) {
            return Err(Error::DeleteTargetConfig { id: id.to_string() });
        }
        self.persister.delete_recursive(&config_node(id)).await
    }

    /// Deletes, in one transaction, every configuration that is neither the
    /// target nor in `keep` (IDs tasks still run with). Returns what it
    /// deleted.
    pub async fn prune(&self, keep: &BTreeSet<Uuid>) -> Result<Vec<Uuid>> {
        let target = self.target_id().await?;
        let doomed: Vec<Uuid> = self
            .list()
            .await?
            .into_iter()
            .filter(|id| Some(*id) != target && !keep.contains(id))
            .collect();
        let mut txn = Txn::new();
        for id in &doomed {
            txn.delete(config_node(*id));
        }
        if let Some(target) = target {
            // The target may not move while we prune.
            txn.require_exists(config_node(target));
        }
        self.persister.commit(txn).await?;
        Ok(doomed)
    }

    fn encode(&self, id: Uuid, config: &T) -> Result<Bytes> {
        serde_json::to_vec(config)
            .map(Bytes::from)
            .map_err(|source| Error::Encode {
                id: id.to_string(),
                source,
            })
    }
}

fn config_node(id: Uuid) -> String {
    format!("{CONFIGURATIONS_NODE}/{id}")
}
