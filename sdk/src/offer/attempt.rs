//! One requirement against one agent: the remaining resources, the stage
//! verdicts so far, and the grants (how each requirement is satisfied) that
//! the launch stage turns into operations.

use std::collections::BTreeMap;

use plinth_proto::v1::{ExecutorInfo, Resource};

use super::outcome::{Stage, StageOutcome};
use super::pool::{AgentPool, BasePool, MountDisk};
use super::resources::{self, Milli, PORTS, Ranges};

/// How an existing scalar reservation is adjusted to the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resize {
    Keep,
    /// RESERVE this much more under the same labels.
    Grow(Milli),
    /// UNRESERVE this much.
    Shrink(Milli),
}

/// How one resource requirement is satisfied.
#[derive(Debug, Clone)]
pub(crate) enum Grant {
    /// Reserve a new scalar.
    NewScalar { name: &'static str, amount: Milli },
    /// Reserve a new port.
    NewPort { port: u64 },
    /// Reserve root disk and create a volume on it.
    NewRootVolume { size: Milli },
    /// Reserve a whole MOUNT disk and create a volume on it.
    NewMountVolume { disk: MountDisk },
    /// Reuse a reservation of ours (as offered).
    Reuse { resource: Resource, resize: Resize },
    /// Reuse a reserved volume disk; CREATE again if the volume is missing.
    ReuseVolume {
        resource: Resource,
        persistence_id: String,
    },
}

/// A volume requirement and its grant.
#[derive(Debug, Clone)]
pub(crate) struct VolumeGrant {
    pub(crate) path: String,
    pub(crate) grant: Grant,
}

/// A port requirement and its grant (`None`: a virtual network, nothing to reserve).
#[derive(Debug, Clone)]
pub(crate) struct PortGrant {
    pub(crate) name: String,
    pub(crate) port: u64,
    pub(crate) grant: Option<Grant>,
}

/// Grants of one resource set.
#[derive(Debug, Clone, Default)]
pub(crate) struct SetGrant {
    pub(crate) scalars: Vec<Grant>,
    pub(crate) ports: Vec<PortGrant>,
    pub(crate) volumes: Vec<VolumeGrant>,
}

/// The executor of the pod instance.
#[derive(Debug, Clone)]
pub(crate) enum ExecutorGrant {
    /// Already running on the agent: reuse its ExecutorInfo verbatim.
    Running(Box<ExecutorInfo>),
    /// A new executor id with these resources (volumes go in
    /// [`Attempt::pod_volumes`]).
    New { resources: Vec<Grant> },
}

/// State of one requirement × agent evaluation.
#[derive(Debug)]
pub(crate) struct Attempt<'p> {
    pub(crate) pool: &'p AgentPool,
    /// What the agent offers under the pod's base role (None: nothing).
    pub(crate) offered: Option<&'p BasePool>,
    /// Scalars taken so far, by name.
    taken: Vec<(&'static str, Milli)>,
    /// Free ports, copied from the offer on first use.
    free_ports: Option<Ranges>,
    used_mounts: Vec<bool>,
    used_reserved: Vec<&'p str>,
    /// Cumulative amount asked for, per scalar name (for messages).
    needed: BTreeMap<&'static str, Milli>,
    pub(crate) stages: Vec<StageOutcome>,
    pub(crate) executor: Option<ExecutorGrant>,
    pub(crate) pod_volumes: Vec<VolumeGrant>,
    pub(crate) sets: Vec<SetGrant>,
    /// Ports given out on a virtual network (not reserved).
    pub(crate) overlay_ports: Vec<u64>,
}

impl<'p> Attempt<'p> {
    pub(crate) fn new(pool: &'p AgentPool, base: &str) -> Self {
        let offered = pool.bases.get(base);
        Attempt {
            pool,
            offered,
            taken: Vec::new(),
            free_ports: None,
            used_mounts: vec![false; offered.map_or(0, |b| b.mounts.len())],
            used_reserved: Vec::new(),
            needed: BTreeMap::new(),
            stages: Vec::new(),
            executor: None,
            pod_volumes: Vec::new(),
            sets: Vec::new(),
            overlay_ports: Vec::new(),
        }
    }

    pub(crate) fn passed(&self) -> bool {
        self.stages.iter().all(|s| s.passed)
    }

    pub(crate) fn record(&mut self, stage: Stage, result: Result<String, String>) {
        let (passed, message) = match result {
            Ok(m) => (true, m),
            Err(m) => (false, m),
        };
        self.stages.push(StageOutcome {
            stage,
            passed,
            message,
        });
    }

    /// Takes `amount` of scalar `name` from the unreserved pool.
    pub(crate) fn take_scalar(&mut self, name: &'static str, amount: Milli) -> Result<(), String> {
        let needed = {
            let n = self.needed.entry(name).or_default();
            *n += amount;
            *n
        };
        let offered = self.offered.map(|b| b.scalar(name)).unwrap_or_default();
        let i = match self.taken.iter().position(|(n, _)| *n == name) {
            Some(i) => i,
            None => {
                self.taken.push((name, Milli(0)));
                self.taken.len() - 1
            }
        };
        let taken = &mut self.taken[i].1;
        if offered - *taken >= amount {
            *taken += amount;
            Ok(())
        } else {
            Err(format!(
                "insufficient {name}: needed {needed}, offered {offered}"
            ))
        }
    }

    fn free_ports(&mut self) -> Option<&mut Ranges> {
        if self.free_ports.is_none() {
            self.free_ports = Some(self.offered?.ranges.get(PORTS)?.clone());
        }
        self.free_ports.as_mut()
    }

    /// Takes static port `port`.
    pub(crate) fn take_port(&mut self, port: u64) -> bool {
        self.free_ports().is_some_and(|r| r.remove(port))
    }

    /// Takes the lowest free port in any of `ranges`.
    pub(crate) fn take_dynamic_port(&mut self, ranges: &[(u64, u64)]) -> Option<u64> {
        let free = self.free_ports()?;
        let port = ranges
            .iter()
            .filter_map(|&(lo, hi)| free.first_in(lo.max(1), hi))
            .min()?;
        free.remove(port);
        Some(port)
    }

    /// Offered ports, for messages.
    pub(crate) fn offered_ports(&self) -> String {
        self.offered
            .and_then(|b| b.ranges.get(PORTS))
            .map_or_else(|| "[]".to_string(), Ranges::to_string)
    }

    /// Takes the first unused MOUNT disk of at least `size` whose profile is
    /// one of `profiles` (any when empty).
    pub(crate) fn take_mount(
        &mut self,
        size: Milli,
        profiles: &[String],
    ) -> Result<MountDisk, String> {
        let mounts: &[MountDisk] = self.offered.map_or(&[], |b| b.mounts.as_slice());
        let found = mounts.iter().enumerate().position(|(i, m)| {
            !self.used_mounts[i]
                && m.size >= size
                && (profiles.is_empty() || m.profile.as_ref().is_some_and(|p| profiles.contains(p)))
        });
        match found {
            Some(i) => {
                self.used_mounts[i] = true;
                Ok(mounts[i].clone())
            }
            None => {
                let sizes: Vec<String> = mounts
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !self.used_mounts[*i])
                    .map(|(_, m)| match &m.profile {
                        Some(p) => format!("{} MB ({p})", m.size),
                        None => format!("{} MB", m.size),
                    })
                    .collect();
                let profiles = if profiles.is_empty() {
                    String::new()
                } else {
                    format!(" with profile {}", profiles.join("|"))
                };
                Err(format!(
                    "no MOUNT disk of at least {size} MB{profiles} offered (free mount disks: [{}])",
                    sizes.join(", ")
                ))
            }
        }
    }

    /// Takes our reservation `resource_id` as offered.
    pub(crate) fn take_reserved(
        &mut self,
        resource_id: &str,
        what: &str,
    ) -> Result<Resource, String> {
        match self.pool.reserved.get_key_value(resource_id) {
            Some((key, r)) if !self.used_reserved.contains(&key.as_str()) => {
                self.used_reserved.push(key.as_str());
                Ok(r.clone())
            }
            _ => Err(format!(
                "reserved {what} (resource_id {resource_id}) is not in this offer"
            )),
        }
    }

    /// Reuses scalar reservation `resource_id`, resized to `amount`.
    pub(crate) fn reuse_scalar(
        &mut self,
        name: &'static str,
        resource_id: &str,
        amount: Milli,
        what: &str,
    ) -> Result<Grant, String> {
        let resource = self.take_reserved(resource_id, what)?;
        let current = resources::scalar_of(&resource);
        let resize = if amount > current {
            let more = amount - current;
            self.take_scalar(name, more)
                .map_err(|e| format!("growing {what} from {current} to {amount}: {e}"))?;
            Resize::Grow(more)
        } else if amount < current {
            Resize::Shrink(current - amount)
        } else {
            Resize::Keep
        };
        Ok(Grant::Reuse { resource, resize })
    }
}
