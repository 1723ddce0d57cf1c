//! Resources: resource sets, volumes, ports, limits.

use indexmap::IndexMap;

/// A reservation: scalar resources, ports and volumes, shared by the tasks that
/// name it (those tasks run one at a time).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResourceSetSpec {
    /// Id: the `resource-sets` key, or `<task>-resource-set` for a task's own.
    pub id: String,
    /// CPU shares.
    pub cpus: Option<f64>,
    /// GPUs.
    pub gpus: Option<f64>,
    /// Memory in MB.
    pub memory: Option<u64>,
    /// Ports by name, in YAML order.
    pub ports: IndexMap<String, PortSpec>,
    /// Persistent volumes.
    pub volumes: Vec<VolumeSpec>,
    /// `resource-limits:`.
    pub resource_limits: Option<ResourceLimits>,
}

impl ResourceSetSpec {
    /// An empty set with this id.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            ..Self::default()
        }
    }

    /// True when the set reserves nothing at all.
    pub fn is_empty(&self) -> bool {
        self.cpus.is_none()
            && self.gpus.is_none()
            && self.memory.is_none()
            && self.ports.is_empty()
            && self.volumes.is_empty()
    }
}

/// ROOT (a slice of the agent's root disk) or MOUNT (a whole dedicated disk).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VolumeType {
    /// Slice of the root disk.
    #[default]
    Root,
    /// A whole mount disk.
    Mount,
}

impl VolumeType {
    /// `ROOT` / `MOUNT`.
    pub fn as_str(self) -> &'static str {
        match self {
            VolumeType::Root => "ROOT",
            VolumeType::Mount => "MOUNT",
        }
    }
}

/// A persistent volume.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VolumeSpec {
    /// Key under `volumes:` (None for a single `volume:`).
    pub name: Option<String>,
    /// Container path, relative to the sandbox.
    pub path: String,
    /// ROOT or MOUNT.
    pub kind: VolumeType,
    /// Size in MB.
    pub size_mb: u64,
    /// Disk profiles (MOUNT only).
    pub profiles: Vec<String>,
}

/// A port requirement.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PortSpec {
    /// The `ports:` key.
    pub name: String,
    /// Fixed port, or 0 for any port (within `ranges`).
    pub port: u16,
    /// Env variable that receives the port number.
    pub env_key: Option<String>,
    /// Advertise in `/v1/endpoints`.
    pub advertise: bool,
    /// Named VIP.
    pub vip: Option<VipSpec>,
    /// Acceptable ranges for a dynamic port, as written.
    pub ranges: Vec<PortRange>,
}

/// A named VIP for a port.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VipSpec {
    /// VIP port.
    pub port: u16,
    /// Name prefix; defaults to the port name.
    pub prefix: Option<String>,
    /// `protocol:` (tcp/udp), when given.
    pub protocol: Option<String>,
}

/// A port range: `begin` defaults to 0, `end` of 0 or absent means 65535.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PortRange {
    /// First port.
    pub begin: Option<u16>,
    /// Last port.
    pub end: Option<u16>,
}

impl PortRange {
    /// Effective `(begin, end)`.
    pub fn effective(self) -> (u16, u16) {
        let begin = self.begin.unwrap_or(0);
        let end = match self.end {
            None | Some(0) => u16::MAX,
            Some(e) => e,
        };
        (begin, end)
    }
}

/// A resource limit: a number or `unlimited`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ResourceLimit {
    /// A fixed limit.
    Value(f64),
    /// No limit.
    Unlimited,
}

/// `resource-limits: {cpus, memory}`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ResourceLimits {
    /// CPU limit.
    pub cpus: Option<ResourceLimit>,
    /// Memory limit (MB).
    pub memory: Option<ResourceLimit>,
}
