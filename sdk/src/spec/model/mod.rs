//! The ServiceSpec model: plain data describing a service, its pods, tasks,
//! resources and plans, as dcos-commons understands a `svc.yml`.
//!
//! Build one with [`crate::spec::loader`] from YAML or with the builders in
//! [`crate::spec::builder`]. Defaults that dcos-commons applies (principal, user,
//! role, resource-set ids, port range ends, …) are exposed as methods rather than
//! stored, so a loaded spec remembers what its author wrote.

mod plan;
mod pod;
mod resources;
mod service;
mod task;

pub use plan::{
    PhaseSpec, PhaseStrategy, PlanSpec, PlanStrategy, StepGeneration, StepRule, StepSelector,
};
pub use pod::{
    ExternalVolumeSpec, HostVolumeSpec, IpcMode, NetworkSpec, PodSpec, RLimitSpec, SecretSpec,
    VolumeMode,
};
pub use resources::{
    PortRange, PortSpec, ResourceLimit, ResourceLimits, ResourceSetSpec, VipSpec, VolumeSpec,
    VolumeType,
};
pub use service::{SchedulerSpec, ServiceSpec};
pub use task::{
    ConfigSpec, DiscoverySpec, GoalState, HealthCheckSpec, ReadinessCheckSpec, TaskResources,
    TaskSpec, TlsArtifactType, TransportEncryptionSpec, Visibility,
};
