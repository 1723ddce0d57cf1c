//! Label keys Plinth writes on reservations and TaskInfos (dcos-commons
//! compatible), and readers for them.
//!
//! Reservation labels (on the top `ReservationInfo`): [`RESOURCE_ID`],
//! [`FRAMEWORK_ID`]. TaskInfo labels: [`TARGET_CONFIGURATION`], [`TASK_TYPE`]
//! (the pod type), [`INDEX`], [`OFFER_HOSTNAME`], [`OFFER_ATTRIBUTES`],
//! [`OFFER_ZONE`], [`OFFER_REGION`], [`GOAL_STATE`], [`PORTS`] (Plinth's own:
//! the port number of each named port, so dynamic ports stay sticky), the
//! goal-state override of a paused task ([`GOAL_STATE_OVERRIDE`],
//! [`OVERRIDE_STATUS`]) and the spec's own task labels.

use std::collections::{BTreeMap, BTreeSet};

use plinth_proto::v1::{Attribute, Offer, TaskInfo, value};

use super::resources::{self, Milli, Ranges};
use crate::placement::{AgentFacts, PlacedTask};

/// Reservation label: a UUID naming one reserved resource.
pub const RESOURCE_ID: &str = "resource_id";
/// Reservation label: the FrameworkID that made the reservation.
pub const FRAMEWORK_ID: &str = "framework_id";
/// Task label: id of the configuration the task was launched with.
pub const TARGET_CONFIGURATION: &str = "target_configuration";
/// Task label: pod type.
pub const TASK_TYPE: &str = "task_type";
/// Task label: pod instance index.
pub const INDEX: &str = "index";
/// Task label: hostname of the offer the task was placed on.
pub const OFFER_HOSTNAME: &str = "offer_hostname";
/// Task label: agent attributes, `name:value;name:value`.
pub const OFFER_ATTRIBUTES: &str = "offer_attributes";
/// Task label: fault-domain zone of the agent.
pub const OFFER_ZONE: &str = "offer_zone";
/// Task label: fault-domain region of the agent.
pub const OFFER_REGION: &str = "offer_region";
/// Task label: goal state (`RUNNING`, `FINISH`, `ONCE`).
pub const GOAL_STATE: &str = "goal_state";
/// Task label: JSON object of port name → port number (Plinth).
pub const PORTS: &str = "ports";
/// Task label set by recovery when a task is permanently failed.
pub const PERMANENTLY_FAILED: &str = "permanently-failed";

/// Task label: the operator's goal-state override (dcos-commons'
/// `goal-state-override` metadata): [`PAUSED`], or absent for none.
pub const GOAL_STATE_OVERRIDE: &str = "goal_state_override";
/// Task label: progress of a change of override (dcos-commons'
/// `override-status`): [`OVERRIDE_PENDING`] while the running task does not
/// reflect the override yet (set by pause and resume), [`OVERRIDE_LAUNCHED`]
/// on a TaskInfo built with the override. Absent: nothing in flight.
pub const OVERRIDE_STATUS: &str = "override_status";
/// [`GOAL_STATE_OVERRIDE`] value of a paused task.
pub const PAUSED: &str = "PAUSED";
/// [`OVERRIDE_STATUS`]: the task still has to be relaunched.
pub const OVERRIDE_PENDING: &str = "PENDING";
/// [`OVERRIDE_STATUS`]: the TaskInfo was built with the override (the
/// override is complete once that task is RUNNING).
pub const OVERRIDE_LAUNCHED: &str = "IN_PROGRESS";
/// The idle command a paused task runs instead of its own (dcos-commons'
/// `PAUSE_OVERRIDE_CMD`: a sleep loop), with no health or readiness check.
pub const PAUSE_COMMAND: &str = "echo \"This task is PAUSED; resume it with: plinth pod resume\"; while true; do sleep 1000; done";

/// Whether the stored TaskInfo carries the [`PAUSED`] override.
pub fn is_paused(info: &TaskInfo) -> bool {
    task_label(info, GOAL_STATE_OVERRIDE) == Some(PAUSED)
}

/// The value of TaskInfo label `key`.
pub fn task_label<'a>(info: &'a TaskInfo, key: &str) -> Option<&'a str> {
    resources::label_value(info.labels.as_ref(), key)
}

/// Where a stored task was placed, for placement counting. `None` when the
/// TaskInfo lacks the pod type, index or hostname labels.
pub fn placed_task(info: &TaskInfo) -> Option<PlacedTask> {
    let pod_type = task_label(info, TASK_TYPE)?;
    let index = task_label(info, INDEX)?.parse().ok()?;
    let hostname = task_label(info, OFFER_HOSTNAME)?;
    let agent = AgentFacts {
        hostname: hostname.to_string(),
        zone: task_label(info, OFFER_ZONE).map(str::to_string),
        region: task_label(info, OFFER_REGION).map(str::to_string),
        attributes: task_label(info, OFFER_ATTRIBUTES)
            .map(parse_attributes)
            .unwrap_or_default(),
    };
    Some(PlacedTask::new(pod_type, index, agent))
}

/// Every `resource_id` a stored task holds (its resources and its
/// executor's): the set the resource GC must leave alone.
pub fn resource_ids(info: &TaskInfo) -> BTreeSet<String> {
    let executor = info.executor.iter().flat_map(|e| e.resources.iter());
    info.resources
        .iter()
        .chain(executor)
        .filter_map(|r| resources::resource_id(r).map(str::to_string))
        .collect()
}

/// The `ports` label: port name → number.
pub fn task_ports(info: &TaskInfo) -> BTreeMap<String, u64> {
    task_label(info, PORTS)
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default()
}

/// What placement knows about the agent of `offer`.
pub(crate) fn agent_facts(offer: &Offer) -> AgentFacts {
    let fault = offer.domain.as_ref().and_then(|d| d.fault_domain.as_ref());
    AgentFacts {
        hostname: offer.hostname.clone(),
        zone: fault.map(|f| f.zone.name.clone()),
        region: fault.map(|f| f.region.name.clone()),
        attributes: offer
            .attributes
            .iter()
            .map(|a| (a.name.clone(), attribute_value(a)))
            .collect(),
    }
}

/// An attribute's value as text: scalars like `1.5`, ranges `[1-5,7]`, sets
/// `{a,b}`, text as is.
pub(crate) fn attribute_value(a: &Attribute) -> String {
    match value::Type::try_from(a.r#type) {
        Ok(value::Type::Scalar) => a
            .scalar
            .as_ref()
            .map(|s| Milli::from_f64(s.value).to_string())
            .unwrap_or_default(),
        Ok(value::Type::Ranges) => a
            .ranges
            .as_ref()
            .map(|r| Ranges::from_proto(r).to_string())
            .unwrap_or_default(),
        Ok(value::Type::Set) => a
            .set
            .as_ref()
            .map(|s| format!("{{{}}}", s.item.join(",")))
            .unwrap_or_default(),
        _ => a.text.as_ref().map(|t| t.value.clone()).unwrap_or_default(),
    }
}

/// `name:value;name:value` (dcos-commons `AttributeStringUtils`).
pub(crate) fn attributes_string(facts: &AgentFacts) -> String {
    let mut out = String::new();
    for (i, (k, v)) in facts.attributes.iter().enumerate() {
        if i > 0 {
            out.push(';');
        }
        out.push_str(k);
        out.push(':');
        out.push_str(v);
    }
    out
}

fn parse_attributes(s: &str) -> BTreeMap<String, String> {
    s.split(';')
        .filter_map(|kv| kv.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_round_trip() {
        let facts = AgentFacts {
            hostname: "h".into(),
            zone: None,
            region: None,
            attributes: BTreeMap::from([
                ("rack".to_string(), "r1".to_string()),
                ("size".to_string(), "1.5".to_string()),
            ]),
        };
        let s = attributes_string(&facts);
        assert_eq!(s, "rack:r1;size:1.5");
        assert_eq!(parse_attributes(&s), facts.attributes);
    }
}
