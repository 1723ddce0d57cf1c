//! Allocation: turning free agent resources into offers, per agent and per
//! role, honouring SUPPRESS and `refuse_seconds` filters, and rendering
//! offers in the format each framework asked for (MULTI_ROLE allocation
//! info, pre- or post-refinement reservations).

use std::time::Instant;

use plinth_proto::v1::scheduler::{Event, event};
use plinth_proto::v1::{
    Address, AgentId, ExecutorId, FrameworkId, Offer, OfferId, Resource, Url, resource,
};

use super::framework::Framework;
use super::resources;
use super::{Agent, Cluster, OfferRecord};

/// Whether a free resource may go to `role` of a framework.
fn allocatable(r: &Resource, role: &str, refinement: bool) -> bool {
    if r.revocable.is_some() || r.name == "ephemeral_ports" || r.name == "gpus" {
        return false;
    }
    match r.reservations.len() {
        0 => true,
        1 => resources::reservation_role(r) == Some(role),
        _ => refinement && resources::reservation_role(r) == Some(role),
    }
}

impl Cluster {
    /// One allocation run: every active agent's free resources go out as
    /// offers, one per agent and role, to connected frameworks in
    /// round-robin order. Each framework gets one OFFERS event.
    pub(super) fn allocate(&mut self, now: Instant) {
        self.dirty = false;
        self.last_allocation = Some(now);
        // Only agents whose free resources may have changed, unless
        // frameworks, roles or filters changed.
        let all = std::mem::replace(&mut self.dirty_all, false);
        let touched = std::mem::take(&mut self.dirty_agents);
        let order: Vec<String> = self
            .frameworks
            .values()
            .filter(|f| f.connected())
            .map(|f| f.id.clone())
            .collect();
        if order.is_empty() {
            // Nobody to offer to: when someone subscribes, every agent counts.
            self.dirty_all = true;
            return;
        }
        self.allocation_round = self.allocation_round.wrapping_add(1);
        let mut batches: Vec<Vec<Offer>> = vec![Vec::new(); order.len()];
        let agent_ids: Vec<String> = if all {
            self.agents.keys().cloned().collect()
        } else {
            self.agents
                .keys()
                .filter(|id| touched.contains(*id))
                .cloned()
                .collect()
        };
        let mut next_expiry: Option<Instant> = None;
        for (agent_index, agent_id) in agent_ids.iter().enumerate() {
            let Some(agent) = self.agents.get(agent_id) else {
                continue;
            };
            if !agent.is_active() {
                continue;
            }
            let mut free = agent.available();
            if free.is_empty() {
                continue;
            }
            for k in 0..order.len() {
                let slot = (agent_index + self.allocation_round + k) % order.len();
                let fid = order[slot].clone();
                let Some(fw) = self.frameworks.get(&fid) else {
                    continue;
                };
                let refinement = fw.refinement();
                let roles: Vec<String> = fw
                    .roles
                    .iter()
                    .filter(|r| !fw.suppressed.contains(*r))
                    .cloned()
                    .collect();
                for role in roles {
                    let pool = free.filter(|r| allocatable(r, &role, refinement));
                    if pool.is_empty() {
                        continue;
                    }
                    let key = (agent_id.clone(), role.clone());
                    let Some(fw) = self.frameworks.get_mut(&fid) else {
                        continue;
                    };
                    let blocked = match fw.filters.get(&key) {
                        Some(filter) if filter.until > now => {
                            let covers = filter.resources.contains(&pool);
                            if covers {
                                next_expiry =
                                    Some(next_expiry.map_or(filter.until, |e| e.min(filter.until)));
                            }
                            covers
                        }
                        Some(_) => {
                            fw.filters.remove(&key);
                            false
                        }
                        None => false,
                    };
                    if blocked || free.subtract_all(&pool).is_err() {
                        continue;
                    }
                    self.next_offer += 1;
                    let offer_id = format!("{}-O{}", self.master_id, self.next_offer);
                    let record = OfferRecord {
                        framework_id: fid.clone(),
                        agent_id: agent_id.clone(),
                        role: role.clone(),
                        resources: pool,
                    };
                    let (Some(fw), Some(agent)) =
                        (self.frameworks.get(&fid), self.agents.get(agent_id))
                    else {
                        continue;
                    };
                    batches[slot].push(render_offer(&offer_id, &record, fw, agent));
                    if let Some(agent) = self.agents.get_mut(agent_id) {
                        agent.offered.add_all(&record.resources);
                    }
                    self.offers.insert(offer_id, record);
                    self.stats.offers_sent += 1;
                }
                if free.is_empty() {
                    break;
                }
            }
        }
        if let Some(at) = next_expiry {
            self.schedule(at, super::Timer::FilterExpired);
        }
        for (slot, offers) in batches.into_iter().enumerate() {
            if offers.is_empty() {
                continue;
            }
            let event = Event {
                r#type: Some(event::Type::Offers as i32),
                offers: Some(event::Offers { offers }),
                ..Default::default()
            };
            self.deliver(&order[slot], event);
        }
    }
}

/// Renders an offer for a framework in the resource format it understands.
pub(super) fn render_offer(
    offer_id: &str,
    record: &OfferRecord,
    fw: &Framework,
    agent: &Agent,
) -> Offer {
    let multi = fw.multi_role();
    let refinement = fw.refinement();
    let resources: Vec<Resource> = record
        .resources
        .iter()
        .filter_map(|r| {
            if refinement {
                Some(r.clone())
            } else {
                resources::downgrade(r)
            }
        })
        .map(|r| {
            if multi {
                resources::allocated(r, &record.role)
            } else {
                r
            }
        })
        .collect();
    Offer {
        id: OfferId {
            value: offer_id.to_owned(),
        },
        framework_id: FrameworkId {
            value: fw.id.clone(),
        },
        agent_id: AgentId {
            value: agent.id.clone(),
        },
        hostname: agent.hostname.clone(),
        url: Some(Url {
            scheme: "http".into(),
            address: Address {
                hostname: Some(agent.hostname.clone()),
                ip: Some(agent.ip.clone()),
                port: agent.port,
            },
            path: Some("/slave(1)".into()),
            ..Default::default()
        }),
        resources,
        attributes: agent.attributes.clone(),
        executor_ids: fw
            .executor_ids_on(&agent.id)
            .map(|e| ExecutorId {
                value: e.to_owned(),
            })
            .collect(),
        allocation_info: multi.then(|| resource::AllocationInfo {
            role: Some(record.role.clone()),
        }),
        domain: agent.domain.clone(),
        ..Default::default()
    }
}
