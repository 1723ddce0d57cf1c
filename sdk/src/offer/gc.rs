//! Resource GC: reservations and volumes of ours that no known task holds
//! (orphans of a failed launch, a replaced pod, a decommissioned instance)
//! are given back with DESTROY then UNRESERVE.
//!
//! "Ours" means the top reservation is DYNAMIC and its `framework_id` label is
//! our FrameworkID, so resources another framework reserved under the same
//! role and principal are never touched (dcos-commons #3213).

use std::collections::{BTreeMap, BTreeSet};

use plinth_proto::v1::offer::{Operation, operation};
use plinth_proto::v1::{AgentId, Offer, OfferId, Resource};

use super::resources;

/// What to give back on one agent.
#[derive(Debug, Clone, PartialEq)]
pub struct Cleanup {
    /// The agent.
    pub agent_id: AgentId,
    /// Its offers that carry the orphans.
    pub offer_ids: Vec<OfferId>,
    /// `resource_id`s released, sorted.
    pub resource_ids: Vec<String>,
    /// DESTROY (volumes) then UNRESERVE.
    pub operations: Vec<Operation>,
}

/// Our reserved resources in `offer` whose `resource_id` is not in `held`.
pub fn unexpected_resources<'o>(
    offer: &'o Offer,
    framework_id: &str,
    held: &BTreeSet<String>,
) -> Vec<&'o Resource> {
    offer
        .resources
        .iter()
        .filter(|r| {
            let dynamic = resources::top_reservation(r).is_some_and(|t| resources::is_dynamic(&t));
            dynamic
                && resources::reservation_framework_id(r) == Some(framework_id)
                && resources::resource_id(r).is_some_and(|id| !held.contains(id))
        })
        .collect()
}

/// DESTROY for the volumes among `orphans`, then UNRESERVE for all of them.
pub fn operations(orphans: &[&Resource]) -> Vec<Operation> {
    let mut destroy = Vec::new();
    let mut unreserve = Vec::new();
    for r in orphans {
        let r = (*r).clone();
        if r.disk.as_ref().is_some_and(|d| d.persistence.is_some()) {
            let mut plain = r.clone();
            if let Some(d) = &mut plain.disk {
                d.persistence = None;
                d.volume = None;
                if d.source.is_none() {
                    plain.disk = None;
                }
            }
            destroy.push(r);
            unreserve.push(plain);
        } else {
            unreserve.push(r);
        }
    }
    let mut ops = Vec::new();
    if !destroy.is_empty() {
        let mut o = Operation::default();
        o.set_type(operation::Type::Destroy);
        o.destroy = Some(operation::Destroy { volumes: destroy });
        ops.push(o);
    }
    if !unreserve.is_empty() {
        let mut o = Operation::default();
        o.set_type(operation::Type::Unreserve);
        o.unreserve = Some(operation::Unreserve {
            resources: unreserve,
        });
        ops.push(o);
    }
    ops
}

/// Per agent (offers merged), the operations releasing every orphan.
/// Agents without orphans are left out.
pub fn cleanup(offers: &[Offer], framework_id: &str, held: &BTreeSet<String>) -> Vec<Cleanup> {
    let mut by_agent: BTreeMap<&str, (usize, Vec<&OfferId>, Vec<&Resource>)> = BTreeMap::new();
    for (i, offer) in offers.iter().enumerate() {
        let orphans = unexpected_resources(offer, framework_id, held);
        if orphans.is_empty() {
            continue;
        }
        let entry = by_agent
            .entry(offer.agent_id.value.as_str())
            .or_insert_with(|| (i, Vec::new(), Vec::new()));
        entry.1.push(&offer.id);
        entry.2.extend(orphans);
    }
    let mut out: Vec<(usize, Cleanup)> = by_agent
        .into_iter()
        .map(|(agent, (first, offer_ids, orphans))| {
            let mut resource_ids: Vec<String> = orphans
                .iter()
                .filter_map(|r| resources::resource_id(r).map(str::to_string))
                .collect();
            resource_ids.sort();
            resource_ids.dedup();
            (
                first,
                Cleanup {
                    agent_id: AgentId {
                        value: agent.to_string(),
                    },
                    offer_ids: offer_ids.into_iter().cloned().collect(),
                    resource_ids,
                    operations: operations(&orphans),
                },
            )
        })
        .collect();
    out.sort_by_key(|(first, _)| *first);
    out.into_iter().map(|(_, c)| c).collect()
}
