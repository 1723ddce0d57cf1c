//! [`StateStore`]: the scheduler's durable state — FrameworkID, TaskInfo and
//! latest TaskStatus per task, task metadata, properties and the schema
//! version — laid out like dcos-commons (reference §1.3) under the
//! persister's root:
//!
//! ```text
//! SchemaVersion                      "1" (UTF-8)
//! FrameworkID                        FrameworkID protobuf
//! Tasks/<task-name>/TaskInfo         TaskInfo protobuf
//! Tasks/<task-name>/TaskStatus       latest TaskStatus protobuf
//! Tasks/<task-name>/Metadata/<key>   bytes (goal-state-override, ...)
//! Properties/<key>                   bytes
//! ```
//! (`ConfigTarget` and `Configurations/<id>` belong to
//! [`ConfigStore`](super::ConfigStore); `lock` to the leader lock.)
//!
//! # Guarantees
//! * A batch of TaskInfos ([`StateStore::store_tasks`]) or statuses
//!   ([`StateStore::store_statuses`]) is one transaction. Store TaskInfos
//!   before the ACCEPT that launches them goes out.
//! * A status is stored only for a task whose stored TaskInfo has the same
//!   task ID, checked again inside the transaction (`require_exists`).
//! * Stored data is never trusted: a node that does not decode, or whose
//!   TaskInfo names another task, is an [`Error::Decode`] naming the node.
//!
//! # Errors
//! [`StateStore::open`] fails with [`Error::SchemaVersion`] on a root
//! written by a newer or unknown schema, and with [`Error::Decode`] if the
//! `SchemaVersion` node is not a number.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use plinth_proto::compact::Compact as _;
use plinth_proto::v1::{FrameworkId, TaskInfo, TaskStatus};
use prost::Message;

use super::error::{Error, Result};
use super::path;
use super::persister::{MAX_VALUE_BYTES, Persister, Txn};

/// The schema version this build reads and writes (dcos-commons: 1 =
/// single service).
pub const SCHEMA_VERSION: u32 = 1;

/// Node holding the schema version.
pub const SCHEMA_VERSION_NODE: &str = "SchemaVersion";
/// Node holding the FrameworkID.
pub const FRAMEWORK_ID_NODE: &str = "FrameworkID";
/// Parent of the per-task nodes.
pub const TASKS_NODE: &str = "Tasks";
/// Parent of the properties.
pub const PROPERTIES_NODE: &str = "Properties";
const TASK_INFO: &str = "TaskInfo";
const TASK_STATUS: &str = "TaskStatus";
const METADATA: &str = "Metadata";

/// What is stored for one task.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StoredTask {
    /// The TaskInfo, if stored.
    pub info: Option<TaskInfo>,
    /// The latest TaskStatus, if stored.
    pub status: Option<TaskStatus>,
}

/// The scheduler's state over a [`Persister`].
#[derive(Clone, Debug)]
pub struct StateStore<P> {
    persister: P,
}

// === impl StateStore ===

impl<P: Persister> StateStore<P> {
    /// Opens the store: writes `SchemaVersion` on first use, and refuses a
    /// root written with another schema version.
    pub async fn open(persister: P) -> Result<Self> {
        let store = StateStore { persister };
        match store.schema_version().await? {
            None => {
                store
                    .persister
                    .set(SCHEMA_VERSION_NODE, Bytes::from(SCHEMA_VERSION.to_string()))
                    .await?;
            }
            Some(SCHEMA_VERSION) => {}
            Some(found) => {
                return Err(Error::SchemaVersion {
                    path: store.persister.location(SCHEMA_VERSION_NODE),
                    found,
                    supported: SCHEMA_VERSION,
                });
            }
        }
        Ok(store)
    }

    /// The underlying persister.
    pub fn persister(&self) -> &P {
        &self.persister
    }

    /// The stored schema version, if any.
    pub async fn schema_version(&self) -> Result<Option<u32>> {
        let Some(bytes) = self.persister.get(SCHEMA_VERSION_NODE).await? else {
            return Ok(None);
        };
        let text = std::str::from_utf8(&bytes)
            .map_err(|e| self.decode_err(SCHEMA_VERSION_NODE, "SchemaVersion", e))?;
        text.trim().parse::<u32>().map(Some).map_err(|e| {
            self.decode_err(
                SCHEMA_VERSION_NODE,
                "SchemaVersion",
                format!("{e} (found {text:?})"),
            )
        })
    }

    // --- FrameworkID ---

    /// The stored FrameworkID.
    pub async fn fetch_framework_id(&self) -> Result<Option<FrameworkId>> {
        self.fetch_proto(FRAMEWORK_ID_NODE, "FrameworkID").await
    }

    /// Stores the FrameworkID (after the first SUBSCRIBED).
    pub async fn store_framework_id(&self, id: &FrameworkId) -> Result<()> {
        self.persister
            .set(FRAMEWORK_ID_NODE, Bytes::from(id.encode_to_vec()))
            .await
    }

    /// Removes the FrameworkID (after the framework is torn down).
    pub async fn clear_framework_id(&self) -> Result<()> {
        self.persister.delete_recursive(FRAMEWORK_ID_NODE).await
    }

    // --- tasks ---

    /// Stores TaskInfos, keyed by name, in one transaction. Call before
    /// sending the ACCEPT that launches them.
    pub async fn store_tasks(&self, tasks: &[TaskInfo]) -> Result<()> {
        let mut txn = Txn::new();
        let mut seen = BTreeSet::new();
        for task in tasks {
            path::validate_segment(&task.name)?;
            if !seen.insert(task.name.as_str()) {
                return Err(Error::InvalidPath {
                    path: task.name.clone(),
                    reason: "task stored twice in one batch",
                });
            }
            txn.set(task_node(&task.name, TASK_INFO), task.encode_to_vec());
        }
        self.persister.commit(txn).await
    }

    /// Stores the latest status of a task (see [`StateStore::store_statuses`]).
    pub async fn store_status(&self, task_name: &str, status: &TaskStatus) -> Result<()> {
        self.store_statuses(&[(task_name.to_owned(), status.clone())])
            .await
    }

    /// Stores the latest statuses of tasks in one transaction. Each task must
    /// have a stored TaskInfo with the status's task ID
    /// ([`Error::UnknownTask`] otherwise); nothing is written if one fails.
    pub async fn store_statuses(&self, statuses: &[(String, TaskStatus)]) -> Result<()> {
        if statuses.is_empty() {
            return Ok(());
        }
        let mut info_paths = Vec::with_capacity(statuses.len());
        for (name, _) in statuses {
            path::validate_segment(name)?;
            info_paths.push(task_node(name, TASK_INFO));
        }
        let infos = self.persister.get_many(&info_paths).await?;
        let mut txn = Txn::new();
        for ((name, status), info_path) in statuses.iter().zip(&info_paths) {
            let task_id = status.task_id.value.clone();
            let unknown = |reason: String| Error::UnknownTask {
                name: name.clone(),
                task_id: task_id.clone(),
                reason,
            };
            let Some(Some(bytes)) = infos.get(info_path) else {
                return Err(unknown("no TaskInfo is stored for it".into()));
            };
            let info: TaskInfo = self.decode(info_path, "TaskInfo", bytes)?;
            if info.task_id.value != task_id {
                return Err(unknown(format!(
                    "the stored TaskInfo has task ID {}",
                    info.task_id.value
                )));
            }
            txn.require_exists(info_path.clone());
            txn.set(task_node(name, TASK_STATUS), status.encode_to_vec());
        }
        self.persister.commit(txn).await
    }

    /// Names of all stored tasks, sorted.
    pub async fn fetch_task_names(&self) -> Result<Vec<String>> {
        self.persister.get_children(TASKS_NODE).await
    }

    /// The stored TaskInfo of `name`.
    pub async fn fetch_task(&self, name: &str) -> Result<Option<TaskInfo>> {
        path::validate_segment(name)?;
        let node = task_node(name, TASK_INFO);
        let info: Option<TaskInfo> = self.fetch_proto(&node, "TaskInfo").await?;
        if let Some(info) = &info {
            self.check_name(&node, name, info)?;
        }
        Ok(info)
    }

    /// The latest stored TaskStatus of `name`.
    pub async fn fetch_status(&self, name: &str) -> Result<Option<TaskStatus>> {
        path::validate_segment(name)?;
        self.fetch_proto(&task_node(name, TASK_STATUS), "TaskStatus")
            .await
    }

    /// Every stored TaskInfo by task name.
    pub async fn fetch_tasks(&self) -> Result<BTreeMap<String, TaskInfo>> {
        Ok(self
            .fetch_all_tasks()
            .await?
            .into_iter()
            .filter_map(|(n, t)| Some((n, t.info?)))
            .collect())
    }

    /// Every stored TaskStatus by task name.
    pub async fn fetch_statuses(&self) -> Result<BTreeMap<String, TaskStatus>> {
        Ok(self
            .fetch_all_tasks()
            .await?
            .into_iter()
            .filter_map(|(n, t)| Some((n, t.status?)))
            .collect())
    }

    /// Every stored task with its TaskInfo and TaskStatus, read in batches:
    /// the scheduler's restart path.
    pub async fn fetch_all_tasks(&self) -> Result<BTreeMap<String, StoredTask>> {
        let names = self.fetch_task_names().await?;
        let mut paths = Vec::with_capacity(names.len() * 2);
        for name in &names {
            paths.push(task_node(name, TASK_INFO));
            paths.push(task_node(name, TASK_STATUS));
        }
        let mut values = self.persister.get_many(&paths).await?;
        let mut tasks = BTreeMap::new();
        for name in names {
            let info_path = task_node(&name, TASK_INFO);
            let status_path = task_node(&name, TASK_STATUS);
            let info = match values.remove(&info_path).flatten() {
                Some(bytes) => {
                    let mut info: TaskInfo = self.decode(&info_path, "TaskInfo", &bytes)?;
                    self.check_name(&info_path, &name, &info)?;
                    // Held for the scheduler's life: without decoding's spare room.
                    info.compact();
                    Some(info)
                }
                None => None,
            };
            let status = match values.remove(&status_path).flatten() {
                Some(bytes) => {
                    let mut status: TaskStatus = self.decode(&status_path, "TaskStatus", &bytes)?;
                    status.compact();
                    Some(status)
                }
                None => None,
            };
            tasks.insert(name, StoredTask { info, status });
        }
        Ok(tasks)
    }

    /// Deletes a task with its status and metadata (one transaction).
    pub async fn delete_task(&self, name: &str) -> Result<()> {
        path::validate_segment(name)?;
        self.persister
            .delete_recursive(&path::join(TASKS_NODE, name))
            .await
    }

    /// Stores a metadata value of a task (`goal-state-override`, ...). The
    /// task's TaskInfo must be stored.
    pub async fn store_task_metadata(
        &self,
        name: &str,
        key: &str,
        value: impl Into<Bytes>,
    ) -> Result<()> {
        path::validate_segment(name)?;
        path::validate_segment(key)?;
        let mut txn = Txn::new();
        txn.require_exists(task_node(name, TASK_INFO));
        txn.set(format!("{}/{key}", task_node(name, METADATA)), value);
        self.persister.commit(txn).await
    }

    /// A metadata value of a task.
    pub async fn fetch_task_metadata(&self, name: &str, key: &str) -> Result<Option<Bytes>> {
        path::validate_segment(name)?;
        path::validate_segment(key)?;
        self.persister
            .get(&format!("{}/{key}", task_node(name, METADATA)))
            .await
    }

    // --- properties ---

    /// Stores a property (at most 1 MB).
    pub async fn store_property(&self, key: &str, value: impl Into<Bytes>) -> Result<()> {
        path::validate_segment(key)?;
        self.persister
            .set(&path::join(PROPERTIES_NODE, key), value.into())
            .await
    }

    /// A property's value.
    pub async fn fetch_property(&self, key: &str) -> Result<Option<Bytes>> {
        path::validate_segment(key)?;
        self.persister.get(&path::join(PROPERTIES_NODE, key)).await
    }

    /// All property keys, sorted.
    pub async fn fetch_property_keys(&self) -> Result<Vec<String>> {
        self.persister.get_children(PROPERTIES_NODE).await
    }

    /// Removes a property (missing is fine).
    pub async fn clear_property(&self, key: &str) -> Result<()> {
        path::validate_segment(key)?;
        self.persister
            .delete_recursive(&path::join(PROPERTIES_NODE, key))
            .await
    }

    // --- uninstall ---

    /// Deletes the whole state root (uninstall's last step). Idempotent.
    pub async fn delete_all(&self) -> Result<()> {
        self.persister.delete_root().await
    }

    // --- helpers ---

    async fn fetch_proto<M: Message + Default>(
        &self,
        node: &str,
        what: &'static str,
    ) -> Result<Option<M>> {
        match self.persister.get(node).await? {
            Some(bytes) => Ok(Some(self.decode(node, what, &bytes)?)),
            None => Ok(None),
        }
    }

    fn decode<M: Message + Default>(
        &self,
        node: &str,
        what: &'static str,
        bytes: &[u8],
    ) -> Result<M> {
        if bytes.len() > MAX_VALUE_BYTES {
            return Err(self.decode_err(
                node,
                what,
                format!("{} bytes is over the limit", bytes.len()),
            ));
        }
        M::decode(bytes).map_err(|e| self.decode_err(node, what, e))
    }

    fn check_name(&self, node: &str, name: &str, info: &TaskInfo) -> Result<()> {
        if info.name != name {
            return Err(self.decode_err(
                node,
                "TaskInfo",
                format!("it names task {:?}", info.name),
            ));
        }
        Ok(())
    }

    fn decode_err(&self, node: &str, what: &'static str, reason: impl ToString) -> Error {
        Error::Decode {
            path: self.persister.location(node),
            what,
            reason: reason.to_string(),
        }
    }
}

fn task_node(name: &str, leaf: &str) -> String {
    format!("{TASKS_NODE}/{name}/{leaf}")
}
