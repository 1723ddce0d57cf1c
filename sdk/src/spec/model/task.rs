//! Tasks: what runs, with which resources, checks and config files.

use std::time::Duration;

use indexmap::IndexMap;

use super::{ResourceLimits, ResourceSetSpec};

/// When a task is considered done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GoalState {
    /// Keeps running; restarted when it exits.
    #[default]
    Running,
    /// Runs to completion; re-run on config change.
    Finish,
    /// Runs to completion once, never again.
    Once,
}

impl GoalState {
    /// `RUNNING` / `FINISH` / `ONCE`.
    pub fn as_str(self) -> &'static str {
        match self {
            GoalState::Running => "RUNNING",
            GoalState::Finish => "FINISH",
            GoalState::Once => "ONCE",
        }
    }
}

/// A task's reservation: its own, or a shared resource set of the pod.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskResources {
    /// Resources written on the task (`cpus`, `memory`, `ports`, `volume(s)`), as the
    /// set `<task>-resource-set`.
    Own(ResourceSetSpec),
    /// `resource-set: <id>`.
    Shared(String),
}

impl Default for TaskResources {
    fn default() -> Self {
        TaskResources::Own(ResourceSetSpec::default())
    }
}

impl TaskResources {
    /// The resource set id.
    pub fn id(&self) -> &str {
        match self {
            TaskResources::Own(rs) => &rs.id,
            TaskResources::Shared(id) => id,
        }
    }
}

/// One task of a pod.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TaskSpec {
    /// Task name (the `tasks:` key).
    pub name: String,
    /// Goal state.
    pub goal: GoalState,
    /// Failure of an essential task restarts the whole pod.
    pub essential: bool,
    /// Shell command.
    pub cmd: Option<String>,
    /// Environment from the YAML `env:` map.
    pub env: IndexMap<String, String>,
    /// Mesos labels (`k:v,…`).
    pub labels: IndexMap<String, String>,
    /// Config templates by name.
    pub configs: IndexMap<String, ConfigSpec>,
    /// Reservation.
    pub resources: TaskResources,
    /// `resource-limits:` on the task.
    pub resource_limits: Option<ResourceLimits>,
    /// Health check.
    pub health_check: Option<HealthCheckSpec>,
    /// Readiness check.
    pub readiness_check: Option<ReadinessCheckSpec>,
    /// DNS discovery settings.
    pub discovery: Option<DiscoverySpec>,
    /// Time between SIGTERM and SIGKILL.
    pub kill_grace_period: Option<Duration>,
    /// TLS artifacts to provision.
    pub transport_encryption: Vec<TransportEncryptionSpec>,
    /// Task-level `ipc-mode:`.
    pub ipc_mode: Option<super::IpcMode>,
    /// Task-level `shm-size:` in MB.
    pub shm_size: Option<u64>,
}

/// A config template rendered into the sandbox before the task starts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConfigSpec {
    /// Template path, relative to the spec file.
    pub template: String,
    /// Destination path, relative to the sandbox.
    pub dest: String,
    /// Template content, once read (by [`crate::spec::load_file`]).
    pub content: Option<String>,
}

/// A command health check.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HealthCheckSpec {
    /// Command.
    pub cmd: String,
    /// Time between checks.
    pub interval: Duration,
    /// Time after start during which failures are ignored.
    pub grace_period: Duration,
    /// Consecutive failures that kill the task (≥ 1).
    pub max_consecutive_failures: u32,
    /// Delay before the first check.
    pub delay: Duration,
    /// Time one check may take.
    pub timeout: Duration,
}

/// A command readiness check: the step completes when it passes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReadinessCheckSpec {
    /// Command.
    pub cmd: String,
    /// Time between checks.
    pub interval: Duration,
    /// Delay before the first check.
    pub delay: Duration,
    /// Time one check may take.
    pub timeout: Duration,
}

/// DNS discovery visibility.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Framework only.
    Framework,
    /// Cluster.
    Cluster,
    /// External.
    External,
}

impl Visibility {
    /// `FRAMEWORK` / `CLUSTER` / `EXTERNAL`.
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Framework => "FRAMEWORK",
            Visibility::Cluster => "CLUSTER",
            Visibility::External => "EXTERNAL",
        }
    }
}

/// `discovery: {prefix, visibility}`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DiscoverySpec {
    /// DNS prefix: instances are `<prefix>-<index>`.
    pub prefix: Option<String>,
    /// Visibility.
    pub visibility: Option<Visibility>,
}

/// TLS artifact format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsArtifactType {
    /// PEM files.
    Tls,
    /// Java keystore.
    Keystore,
}

impl TlsArtifactType {
    /// `TLS` / `KEYSTORE`.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsArtifactType::Tls => "TLS",
            TlsArtifactType::Keystore => "KEYSTORE",
        }
    }
}

/// `transport-encryption: [{name, type}]`.
#[derive(Debug, Clone, PartialEq)]
pub struct TransportEncryptionSpec {
    /// Artifact name.
    pub name: String,
    /// Format.
    pub kind: TlsArtifactType,
}
