//! Pod types and their pod-level settings.

use indexmap::IndexMap;

use super::{ResourceSetSpec, TaskSpec, VolumeSpec};

/// A pod type: `count` instances of a group of tasks placed together.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PodSpec {
    /// Pod type (the `pods:` key).
    pub name: String,
    /// Number of instances.
    pub count: u32,
    /// Marathon-style placement constraint as written (see [`crate::placement`]).
    pub placement: Option<String>,
    /// Docker image run by the Mesos containerizer.
    pub image: Option<String>,
    /// Virtual networks by name.
    pub networks: IndexMap<String, NetworkSpec>,
    /// Resource limits by name (`RLIMIT_NOFILE`, …).
    pub rlimits: IndexMap<String, RLimitSpec>,
    /// URIs fetched into every task's sandbox.
    pub uris: Vec<String>,
    /// Pod-level (executor) volumes shared by all tasks.
    pub volumes: Vec<VolumeSpec>,
    /// `pre-reserved-role:` (default `*`).
    pub pre_reserved_role: Option<String>,
    /// Secrets by name.
    pub secrets: IndexMap<String, SecretSpec>,
    /// Tasks share one PID namespace.
    pub share_pid_namespace: bool,
    /// Instances may be removed by lowering `count`.
    pub allow_decommission: bool,
    /// Host bind mounts by name.
    pub host_volumes: IndexMap<String, HostVolumeSpec>,
    /// Docker (external) volumes by name.
    pub external_volumes: IndexMap<String, ExternalVolumeSpec>,
    /// `seccomp-unconfined:`.
    pub seccomp_unconfined: Option<bool>,
    /// `seccomp-profile-name:`.
    pub seccomp_profile_name: Option<String>,
    /// `ipc-mode:`.
    pub ipc_mode: Option<IpcMode>,
    /// `shm-size:` in MB.
    pub shm_size: Option<u64>,
    /// Resource sets declared under `resource-sets:` (tasks' own sets live on the task).
    pub resource_sets: Vec<ResourceSetSpec>,
    /// Tasks in YAML order.
    pub tasks: Vec<TaskSpec>,
    /// Keys directly under the pod that dcos-commons ignores (kept for reporting).
    pub ignored_keys: Vec<String>,
}

impl PodSpec {
    /// The task with this name.
    pub fn task(&self, name: &str) -> Option<&TaskSpec> {
        self.tasks.iter().find(|t| t.name == name)
    }

    /// An explicitly declared resource set.
    pub fn resource_set(&self, id: &str) -> Option<&ResourceSetSpec> {
        self.resource_sets.iter().find(|r| r.id == id)
    }

    /// The resources a task reserves: its own set or the shared one it names.
    pub fn task_resources<'a>(&'a self, task: &'a TaskSpec) -> Option<&'a ResourceSetSpec> {
        match &task.resources {
            super::TaskResources::Own(rs) => Some(rs),
            super::TaskResources::Shared(id) => self.resource_set(id),
        }
    }

    /// Effective pre-reserved role.
    pub fn pre_reserved_role(&self) -> &str {
        self.pre_reserved_role.as_deref().unwrap_or("*")
    }
}

/// A virtual network the pod joins.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NetworkSpec {
    /// Host side of port mappings.
    pub host_ports: Vec<u16>,
    /// Container side of port mappings.
    pub container_ports: Vec<u16>,
    /// CNI labels (`k:v,k2:v2`).
    pub labels: IndexMap<String, String>,
}

/// An rlimit: both values or neither; -1 is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RLimitSpec {
    /// Soft limit.
    pub soft: Option<i64>,
    /// Hard limit.
    pub hard: Option<i64>,
}

/// A secret from the secret store, exposed as env and/or file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SecretSpec {
    /// Secret path in the store.
    pub secret: String,
    /// Env variable receiving the value.
    pub env_key: Option<String>,
    /// File receiving the value.
    pub file: Option<String>,
}

impl SecretSpec {
    /// The file path: as written, or the secret path when neither env-key nor file is set.
    pub fn effective_file(&self) -> Option<String> {
        match (&self.file, &self.env_key) {
            (Some(f), _) => Some(f.clone()),
            (None, None) => Some(self.secret.clone()),
            (None, Some(_)) => None,
        }
    }
}

/// RW or RO.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VolumeMode {
    /// Read-write.
    #[default]
    Rw,
    /// Read-only.
    Ro,
}

impl VolumeMode {
    /// `RW` / `RO`.
    pub fn as_str(self) -> &'static str {
        match self {
            VolumeMode::Rw => "RW",
            VolumeMode::Ro => "RO",
        }
    }
}

/// A host path bind-mounted into every task.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HostVolumeSpec {
    /// Path on the agent.
    pub host_path: String,
    /// Path in the container.
    pub container_path: String,
    /// Access mode.
    pub mode: VolumeMode,
}

/// A docker volume from a volume driver.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExternalVolumeSpec {
    /// Volume type (only `DOCKER`).
    pub kind: String,
    /// Volume name (default chosen by the scheduler per pod instance).
    pub volume_name: Option<String>,
    /// Access mode.
    pub volume_mode: VolumeMode,
    /// Driver name, e.g. `pxd`.
    pub driver_name: Option<String>,
    /// Driver options string.
    pub driver_options: Option<String>,
    /// Path in the container.
    pub container_path: String,
}

/// IPC namespace mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpcMode {
    /// Own IPC namespace.
    Private,
    /// Share the parent's.
    ShareParent,
}

impl IpcMode {
    /// `PRIVATE` / `SHARE_PARENT`.
    pub fn as_str(self) -> &'static str {
        match self {
            IpcMode::Private => "PRIVATE",
            IpcMode::ShareParent => "SHARE_PARENT",
        }
    }
}
