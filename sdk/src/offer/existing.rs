//! The reservations a pod instance already holds, read from its stored
//! TaskInfos, so a relaunch in place can map each requirement onto them.

use std::collections::BTreeMap;

use plinth_proto::v1::{ExecutorInfo, Resource, TaskInfo};

use super::labels;
use super::pool::AgentPool;
use super::resources::{self, PORTS, Ranges};

/// A persistent volume a task or executor holds.
#[derive(Debug, Clone)]
pub(crate) struct StoredVolume {
    pub(crate) resource_id: String,
    pub(crate) persistence_id: String,
}

/// Reserved resources of one executor or resource set, by what they are.
#[derive(Debug, Clone, Default)]
pub(crate) struct StoredItems {
    /// `cpus`/`mem`/`gpus`/`disk` (not volumes) → resource id.
    pub(crate) scalars: BTreeMap<String, String>,
    /// Port name → number (from the `ports` task label).
    pub(crate) port_numbers: BTreeMap<String, u64>,
    /// Port number → resource id.
    pub(crate) ports: BTreeMap<u64, String>,
    /// Container path → volume.
    pub(crate) volumes: BTreeMap<String, StoredVolume>,
}

impl StoredItems {
    pub(crate) fn from_resources(rs: &[Resource], port_numbers: BTreeMap<String, u64>) -> Self {
        let mut out = StoredItems {
            port_numbers,
            ..StoredItems::default()
        };
        for r in rs {
            let Some(id) = resources::resource_id(r) else {
                continue;
            };
            if let (Some(pid), Some(path)) =
                (resources::persistence_id(r), resources::container_path(r))
            {
                out.volumes.insert(
                    path.to_string(),
                    StoredVolume {
                        resource_id: id.to_string(),
                        persistence_id: pid.to_string(),
                    },
                );
            } else if r.name == PORTS {
                if let Some(ranges) = &r.ranges {
                    let ranges = Ranges::from_proto(ranges);
                    // A reserved port resource is one port; bound the walk anyway.
                    let mut p = ranges.first();
                    let mut n = 0;
                    while let Some(v) = p
                        && n < 1024
                    {
                        out.ports.insert(v, id.to_string());
                        p = ranges
                            .first_in(v.saturating_add(1), u64::MAX)
                            .filter(|&x| x > v);
                        n += 1;
                    }
                }
            } else if r.scalar.is_some() {
                out.scalars.insert(r.name.clone(), id.to_string());
            }
        }
        out
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.scalars.is_empty() && self.ports.is_empty() && self.volumes.is_empty()
    }
}

/// The stored state of one pod instance.
#[derive(Debug)]
pub(crate) struct ExistingPod<'r> {
    /// Agent holding the reservations.
    pub(crate) agent_id: &'r str,
    /// Hostname the pod was placed on.
    pub(crate) hostname: Option<&'r str>,
    /// Distinct executors in stored TaskInfos.
    pub(crate) executors: Vec<&'r ExecutorInfo>,
    /// The executor's reserved resources.
    pub(crate) executor_items: StoredItems,
    /// Short task name → stored TaskInfo.
    pub(crate) tasks: BTreeMap<&'r str, &'r TaskInfo>,
}

impl<'r> ExistingPod<'r> {
    /// `None` when the stored TaskInfos hold no reservation at all.
    pub(crate) fn from_tasks(pod_instance: &str, infos: &'r [TaskInfo]) -> Option<Self> {
        let prefix = format!("{pod_instance}-");
        let holder = infos.iter().find(|t| {
            !t.resources.is_empty() || t.executor.as_ref().is_some_and(|e| !e.resources.is_empty())
        })?;
        let mut executors: Vec<&ExecutorInfo> = Vec::new();
        let mut tasks = BTreeMap::new();
        for t in infos {
            if let Some(short) = t.name.strip_prefix(&prefix) {
                tasks.insert(short, t);
            }
            if let Some(e) = &t.executor
                && !executors.iter().any(|x| x.executor_id == e.executor_id)
            {
                executors.push(e);
            }
        }
        let executor_items = executors
            .first()
            .map(|e| StoredItems::from_resources(&e.resources, BTreeMap::new()))
            .unwrap_or_default();
        Some(ExistingPod {
            agent_id: holder.agent_id.value.as_str(),
            hostname: labels::task_label(holder, labels::OFFER_HOSTNAME),
            executors,
            executor_items,
            tasks,
        })
    }

    /// The stored reservations of the resource set used by `tasks` (the first
    /// of them with a stored TaskInfo that holds resources).
    pub(crate) fn set_items(&self, tasks: &[&str]) -> Option<StoredItems> {
        tasks.iter().find_map(|name| {
            let info = self.tasks.get(name)?;
            let items = StoredItems::from_resources(&info.resources, labels::task_ports(info));
            (!items.is_empty()).then_some(items)
        })
    }

    /// A stored executor that is running on the agent (its id is in the offer).
    pub(crate) fn running_executor(&self, pool: &AgentPool) -> Option<&'r ExecutorInfo> {
        self.executors
            .iter()
            .copied()
            .find(|e| pool.executor_ids.contains(&e.executor_id.value))
    }
}
