//! The resources of one agent's offers, sorted into what a pod can reserve
//! (per pre-reserved base role) and what we already reserved (by
//! `resource_id`). Built once per agent per cycle.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use plinth_proto::v1::resource::ReservationInfo;
use plinth_proto::v1::resource::disk_info::source;
use plinth_proto::v1::{AgentId, Offer, OfferId, Resource, value};

use super::context::ServiceContext;
use super::labels;
use super::resources::{self, Milli, Ranges};
use crate::placement::AgentFacts;

/// An unreserved (or statically pre-reserved) MOUNT disk.
#[derive(Debug, Clone)]
pub(crate) struct MountDisk {
    /// As offered.
    pub(crate) resource: Resource,
    /// Whole size.
    pub(crate) size: Milli,
    /// `source.profile`.
    pub(crate) profile: Option<String>,
}

/// What can be reserved under one base role (`*`, or a pre-reserved role).
#[derive(Debug, Clone, Default)]
pub(crate) struct BasePool {
    /// The reservation stack the offered resources carry (empty, or one STATIC).
    pub(crate) stack: Vec<ReservationInfo>,
    /// cpus, mem, gpus, root disk, … by name.
    pub(crate) scalars: BTreeMap<String, Milli>,
    /// ports, … by name.
    pub(crate) ranges: BTreeMap<String, Ranges>,
    /// MOUNT disks, in offer order.
    pub(crate) mounts: Vec<MountDisk>,
}

impl BasePool {
    pub(crate) fn scalar(&self, name: &str) -> Milli {
        self.scalars.get(name).copied().unwrap_or_default()
    }
}

/// All offers of one agent in this cycle.
#[derive(Debug, Clone)]
pub(crate) struct AgentPool {
    pub(crate) agent_id: AgentId,
    pub(crate) hostname: String,
    pub(crate) offer_ids: Vec<OfferId>,
    pub(crate) facts: AgentFacts,
    /// The `offer_attributes` label value.
    pub(crate) attributes: String,
    /// Our executors running on the agent.
    pub(crate) executor_ids: BTreeSet<String>,
    /// Reservable resources by base role.
    pub(crate) bases: BTreeMap<String, BasePool>,
    /// Our reservations (and volumes) by `resource_id`, refined format.
    pub(crate) reserved: HashMap<String, Resource>,
}

impl AgentPool {
    pub(crate) fn offer_id_strings(&self) -> Vec<String> {
        self.offer_ids.iter().map(|o| o.value.clone()).collect()
    }
}

/// Groups offers by agent (first-seen order) and sorts their resources.
pub(crate) fn agent_pools(offers: &[Offer], ctx: &ServiceContext) -> Vec<AgentPool> {
    let mut out: Vec<AgentPool> = Vec::with_capacity(offers.len());
    let mut by_agent: HashMap<&str, usize> = HashMap::with_capacity(offers.len());
    for offer in offers {
        let i = *by_agent
            .entry(offer.agent_id.value.as_str())
            .or_insert_with(|| {
                let facts = labels::agent_facts(offer);
                out.push(AgentPool {
                    agent_id: offer.agent_id.clone(),
                    hostname: offer.hostname.clone(),
                    offer_ids: Vec::new(),
                    attributes: labels::attributes_string(&facts),
                    facts,
                    executor_ids: BTreeSet::new(),
                    bases: BTreeMap::new(),
                    reserved: HashMap::new(),
                });
                out.len() - 1
            });
        let pool = &mut out[i];
        pool.offer_ids.push(offer.id.clone());
        pool.executor_ids
            .extend(offer.executor_ids.iter().map(|e| e.value.clone()));
        let offer_role = offer
            .allocation_info
            .as_ref()
            .and_then(|a| a.role.as_deref());
        for r in &offer.resources {
            add_resource(pool, r, offer_role, ctx);
        }
    }
    out
}

fn add_resource(
    pool: &mut AgentPool,
    r: &Resource,
    offer_role: Option<&str>,
    ctx: &ServiceContext,
) {
    if r.revocable.is_some() || r.shared.is_some() || r.provider_id.is_some() {
        return;
    }
    let stack = resources::reservation_stack(r);
    if let Some(top) = stack.last()
        && resources::is_dynamic(top)
    {
        let ours = resources::reservation_framework_id(r) == Some(ctx.framework_id.as_str())
            && top
                .role
                .as_deref()
                .is_some_and(|role| ctx.is_our_role(role));
        if let (true, Some(id)) = (ours, resources::resource_id(r)) {
            let mut normalized = r.clone();
            normalized.role = None;
            normalized.reservation = None;
            normalized.reservations = stack;
            merge_reserved(&mut pool.reserved, id.to_string(), normalized);
        }
        return;
    }
    let base = match stack.as_slice() {
        [] => "*".to_string(),
        [only] => match only.role.as_deref() {
            Some(role) if !resources::is_dynamic(only) => role.to_string(),
            _ => return,
        },
        _ => return,
    };
    let expected = ctx.reservation_role(&base);
    let alloc = r
        .allocation_info
        .as_ref()
        .and_then(|a| a.role.as_deref())
        .or(offer_role);
    if alloc.is_some_and(|a| a != expected) {
        return;
    }
    let bp = pool.bases.entry(base).or_insert_with(|| BasePool {
        stack: stack.clone(),
        ..BasePool::default()
    });
    if let Some(disk) = &r.disk {
        if disk.persistence.is_some() || disk.volume.is_some() {
            return;
        }
        match &disk.source {
            None => {}
            Some(src) if src.r#type == source::Type::Mount as i32 => {
                let size = resources::scalar_of(r);
                if size.is_positive() {
                    bp.mounts.push(MountDisk {
                        resource: r.clone(),
                        size,
                        profile: src.profile.clone(),
                    });
                }
                return;
            }
            Some(_) => return,
        }
    }
    match value::Type::try_from(r.r#type) {
        Ok(value::Type::Scalar) => {
            let v = resources::scalar_of(r);
            if v.is_positive() {
                *bp.scalars.entry(r.name.clone()).or_default() += v;
            }
        }
        Ok(value::Type::Ranges) => {
            if let Some(rs) = &r.ranges {
                bp.ranges
                    .entry(r.name.clone())
                    .or_default()
                    .extend(&Ranges::from_proto(rs));
            }
        }
        _ => {}
    }
}

fn merge_reserved(map: &mut HashMap<String, Resource>, id: String, r: Resource) {
    match map.get_mut(&id) {
        None => {
            map.insert(id, r);
        }
        Some(existing) => {
            if let (Some(a), Some(b)) = (&mut existing.scalar, &r.scalar) {
                a.value = (Milli::from_f64(a.value) + Milli::from_f64(b.value)).to_f64();
            } else if let (Some(a), Some(b)) = (&existing.ranges, &r.ranges) {
                let mut merged = Ranges::from_proto(a);
                merged.extend(&Ranges::from_proto(b));
                existing.ranges = Some(merged.to_proto());
            }
        }
    }
}
