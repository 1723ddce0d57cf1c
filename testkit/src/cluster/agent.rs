//! Agents of the fake cluster: what they offer (cpus, mem, ROOT disk, MOUNT
//! disks, port ranges), their attributes and fault domain, and what is used
//! and offered on them right now.

use plinth_proto::v1::domain_info::{FaultDomain, fault_domain};
use plinth_proto::v1::{Attribute, DomainInfo, Resource, value};

use super::resources::{self, Resources};

/// How agents run tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AgentMode {
    /// Tasks only exist in the model: STAGING → STARTING → RUNNING after a
    /// delay, then whatever the test injects.
    #[default]
    Simulated,
    /// Tasks run as local processes (`agent::process`).
    Process,
}

/// What one agent looks like when it registers.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct AgentSpec {
    /// Hostname; by default a distinct loopback address (`127.0.1.1`, ...).
    pub hostname: Option<String>,
    /// CPUs.
    pub cpus: f64,
    /// Memory in MB.
    pub mem: f64,
    /// ROOT disk in MB.
    pub disk: f64,
    /// Port ranges (inclusive).
    pub ports: Vec<(u64, u64)>,
    /// Sizes in MB of MOUNT disks (`/mnt/disk<i>`).
    pub mount_disks: Vec<f64>,
    /// TEXT attributes, in order.
    pub attributes: Vec<(String, String)>,
    /// Fault domain region (with `zone`).
    pub region: Option<String>,
    /// Fault domain zone; by default `zone-<1..3>` round-robin.
    pub zone: Option<String>,
}

impl Default for AgentSpec {
    fn default() -> Self {
        Self {
            hostname: None,
            cpus: 4.0,
            mem: 8192.0,
            disk: 32768.0,
            ports: vec![(31000, 32000)],
            mount_disks: Vec::new(),
            attributes: Vec::new(),
            region: None,
            zone: None,
        }
    }
}

/// Whether an agent is registered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AgentStatus {
    /// Registered and offering.
    Active,
    /// Partitioned away since this wall-clock time (seconds).
    Unreachable {
        /// When it became unreachable.
        since: f64,
    },
    /// Removed for good.
    Gone,
}

/// An agent in the model.
#[derive(Debug, Clone)]
pub struct Agent {
    /// `<master-uuid>-S<n>`.
    pub id: String,
    /// Hostname (also the address tasks see).
    pub hostname: String,
    /// IP of the (fake) agent endpoint.
    pub ip: String,
    /// Port of the (fake) agent endpoint.
    pub port: i32,
    /// Everything on the agent, in its current reservation and volume state.
    pub total: Resources,
    /// Resources held by tasks and executors.
    pub used: Resources,
    /// Resources in outstanding offers.
    pub offered: Resources,
    /// Attributes.
    pub attributes: Vec<Attribute>,
    /// Fault domain.
    pub domain: Option<DomainInfo>,
    /// Registration state.
    pub status: AgentStatus,
    /// Registration time (wall clock seconds).
    pub registered_time: f64,
}

// === impl Agent ===

impl Agent {
    /// Builds agent number `index` from a spec.
    #[must_use]
    pub fn new(id: String, index: u64, spec: &AgentSpec, registered_time: f64) -> Self {
        let ip = format!("127.0.{}.{}", 1 + index / 250, 1 + index % 250);
        let hostname = spec.hostname.clone().unwrap_or_else(|| ip.clone());
        let mut list: Vec<Resource> = vec![
            resources::scalar("cpus", spec.cpus),
            resources::scalar("mem", spec.mem),
            resources::scalar("disk", spec.disk),
        ];
        if !spec.ports.is_empty() {
            list.push(resources::ranges("ports", &spec.ports));
        }
        for (i, size) in spec.mount_disks.iter().enumerate() {
            list.push(resources::mount_disk(*size, &format!("/mnt/disk{i}")));
        }
        let attributes = spec
            .attributes
            .iter()
            .map(|(name, text)| Attribute {
                name: name.clone(),
                r#type: value::Type::Text as i32,
                text: Some(value::Text {
                    value: text.clone(),
                }),
                ..Default::default()
            })
            .collect();
        let region = spec.region.clone().unwrap_or_else(|| "region-1".to_owned());
        let zone = spec
            .zone
            .clone()
            .unwrap_or_else(|| format!("zone-{}", 1 + index % 3));
        let domain = Some(DomainInfo {
            fault_domain: Some(FaultDomain {
                region: fault_domain::RegionInfo { name: region },
                zone: fault_domain::ZoneInfo { name: zone },
            }),
        });
        Self {
            id,
            hostname,
            ip,
            port: 5051,
            total: Resources::from_list(&list),
            used: Resources::new(),
            offered: Resources::new(),
            attributes,
            domain,
            status: AgentStatus::Active,
            registered_time,
        }
    }

    /// Total minus used minus offered.
    #[must_use]
    pub fn available(&self) -> Resources {
        let mut free = self.total.clone();
        // Used and offered are carved from total by construction; a failure
        // here would be a bookkeeping bug, and returning less is the safe side.
        if free.subtract_all(&self.used).is_err() || free.subtract_all(&self.offered).is_err() {
            tracing::error!(agent = %self.id, "resource bookkeeping out of balance");
            return Resources::new();
        }
        free
    }

    /// Whether the agent takes part in allocation.
    #[must_use]
    pub fn is_active(&self) -> bool {
        self.status == AgentStatus::Active
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agents_get_distinct_loopback_hostnames_and_zones() {
        let spec = AgentSpec {
            mount_disks: vec![100.0],
            ..AgentSpec::default()
        };
        let a = Agent::new("m-S0".into(), 0, &spec, 0.0);
        let b = Agent::new("m-S1".into(), 251, &spec, 0.0);
        assert_eq!(a.hostname, "127.0.1.1");
        assert_eq!(b.hostname, "127.0.2.2");
        assert_eq!(a.total.scalar("disk"), spec.disk + 100.0);
        assert_eq!(a.available(), a.total);
        let zone = |x: &Agent| x.domain.clone().unwrap().fault_domain.unwrap().zone.name;
        assert_ne!(zone(&a), zone(&b));
    }
}
