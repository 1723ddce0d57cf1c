//! `/master/state` in the JSON shape of Mesos 1.11 (the subset tools read):
//! frameworks with their tasks and completed tasks, agents ("slaves") with
//! total, used, unreserved and reserved resources (full form, persistent
//! volumes included).

use std::collections::BTreeMap;
use std::time::Instant;

use plinth_proto::json::{self, JsonOptions};
use plinth_proto::v1::{Resource, TaskStatus};
use serde_json::{Value, json};

use super::framework::{Framework, Task};
use super::resources::{self, Resources};
use super::{AgentStatus, Cluster, MESOS_VERSION};

fn full(r: &Resource) -> Value {
    json::to_value_with(
        &resources::endpoint(r),
        JsonOptions {
            emit_defaults: false,
        },
    )
}

fn status_json(s: &TaskStatus) -> Value {
    let mut v = json!({
        "state": plinth_proto::v1::TaskState::try_from(s.state).map(|t| t.as_str_name()).unwrap_or("TASK_UNKNOWN"),
        "timestamp": s.timestamp.unwrap_or(0.0),
    });
    if let Some(h) = s.healthy {
        v["healthy"] = json!(h);
    }
    if let Some(c) = &s.check_status {
        v["check_status"] = json::to_value(c);
    }
    v
}

fn task_json(fw: &Framework, t: &Task) -> Value {
    let mut v = json!({
        "id": t.info.task_id.value,
        "name": t.info.name,
        "framework_id": fw.id,
        "executor_id": t.executor_id.clone().unwrap_or_default(),
        "slave_id": t.agent_id,
        "agent_id": t.agent_id,
        "state": t.state.as_str_name(),
        "role": t.role,
        "resources": resources::flat_json(&t.resources),
        "resources_full": t.resources.iter().map(full).collect::<Vec<_>>(),
        "statuses": t.statuses.iter().map(status_json).collect::<Vec<_>>(),
    });
    if let Some(labels) = &t.info.labels {
        v["labels"] = json::to_value(labels)["labels"].clone();
    }
    if let Some(d) = &t.info.discovery {
        v["discovery"] = json::to_value(d.as_ref());
    }
    v
}

fn framework_json(c: &Cluster, fw: &Framework) -> Value {
    let used = fw.tasks.values().fold(Resources::new(), |mut acc, t| {
        if !t.freed {
            acc.add_all(&t.resources);
        }
        acc
    });
    let offered = c.offers.values().filter(|o| o.framework_id == fw.id).fold(
        Resources::new(),
        |mut acc, o| {
            acc.add_all(&o.resources);
            acc
        },
    );
    let capabilities: Vec<&str> = fw
        .info
        .capabilities
        .iter()
        .filter_map(|cap| cap.r#type)
        .filter_map(|t| plinth_proto::v1::framework_info::capability::Type::try_from(t).ok())
        .map(|t| t.as_str_name())
        .collect();
    json!({
        "id": fw.id,
        "name": fw.info.name,
        "user": fw.info.user,
        "principal": fw.info.principal,
        "hostname": fw.info.hostname.clone().unwrap_or_default(),
        "webui_url": fw.info.webui_url.clone().unwrap_or_default(),
        "role": fw.info.role.clone().unwrap_or_else(|| "*".into()),
        "roles": fw.roles,
        "suppressed_roles": fw.suppressed.iter().collect::<Vec<_>>(),
        "capabilities": capabilities,
        "failover_timeout": fw.info.failover_timeout.unwrap_or(0.0),
        "checkpoint": fw.info.checkpoint.unwrap_or(false),
        "active": fw.connected(),
        "connected": fw.connected(),
        "recovered": false,
        "registered_time": fw.registered_time,
        "reregistered_time": fw.reregistered_time.unwrap_or(fw.registered_time),
        "unregistered_time": fw.unregistered_time.unwrap_or(0.0),
        "resources": resources::flat_json(&used),
        "used_resources": resources::flat_json(&used),
        "offered_resources": resources::flat_json(&offered),
        "tasks": fw.tasks.values().filter(|t| t.unreachable_since.is_none()).map(|t| task_json(fw, t)).collect::<Vec<_>>(),
        "unreachable_tasks": fw.tasks.values().filter(|t| t.unreachable_since.is_some()).map(|t| task_json(fw, t)).collect::<Vec<_>>(),
        "completed_tasks": fw.completed.iter().map(|t| task_json(fw, t)).collect::<Vec<_>>(),
        "offers": c.offers.iter().filter(|(_, o)| o.framework_id == fw.id).map(|(id, o)| json!({
            "id": id,
            "framework_id": o.framework_id,
            "slave_id": o.agent_id,
            "resources": resources::flat_json(&o.resources),
        })).collect::<Vec<_>>(),
        "executors": fw.executors.iter().map(|((agent, id), e)| json!({
            "executor_id": id,
            "slave_id": agent,
            "framework_id": fw.id,
            "resources": resources::flat_json(&e.resources),
        })).collect::<Vec<_>>(),
    })
}

impl Cluster {
    /// The `/master/state` document.
    #[must_use]
    pub fn state_json(&self, now: Instant) -> Value {
        let slaves: Vec<Value> = self
            .agents
            .values()
            .filter(|a| a.status != AgentStatus::Gone)
            .map(|a| {
                let mut reserved: BTreeMap<String, Vec<Value>> = BTreeMap::new();
                let mut reserved_flat: BTreeMap<String, Resources> = BTreeMap::new();
                let mut unreserved = Resources::new();
                for r in &a.total {
                    match resources::reservation_role(r) {
                        Some(role) => {
                            reserved.entry(role.to_owned()).or_default().push(full(r));
                            reserved_flat.entry(role.to_owned()).or_default().add(r);
                        }
                        None => unreserved.add(r),
                    }
                }
                let attributes: serde_json::Map<String, Value> = a
                    .attributes
                    .iter()
                    .map(|attr| {
                        let v = attr.text.as_ref().map_or(Value::Null, |t| json!(t.value));
                        (attr.name.clone(), v)
                    })
                    .collect();
                json!({
                    "id": a.id,
                    "hostname": a.hostname,
                    "port": a.port,
                    "pid": format!("slave(1)@{}:{}", a.ip, a.port),
                    "registered_time": a.registered_time,
                    "active": a.is_active(),
                    "version": MESOS_VERSION,
                    "attributes": attributes,
                    "domain": a.domain.as_ref().map(json::to_value),
                    "resources": resources::flat_json(&a.total),
                    "used_resources": resources::flat_json(&a.used),
                    "offered_resources": resources::flat_json(&a.offered),
                    "unreserved_resources": resources::flat_json(&unreserved),
                    "reserved_resources": reserved_flat.iter().map(|(k, v)| (k.clone(), resources::flat_json(v))).collect::<serde_json::Map<_, _>>(),
                    "unreserved_resources_full": unreserved.iter().map(full).collect::<Vec<_>>(),
                    "reserved_resources_full": reserved,
                    "used_resources_full": a.used.iter().map(full).collect::<Vec<_>>(),
                    "offered_resources_full": a.offered.iter().map(full).collect::<Vec<_>>(),
                })
            })
            .collect();
        let unreachable: Vec<Value> = self
            .agents
            .values()
            .filter_map(|a| match a.status {
                AgentStatus::Unreachable { since } => {
                    Some(json!({"id": a.id, "hostname": a.hostname, "unreachable_time": since}))
                }
                _ => None,
            })
            .collect();
        json!({
            "version": MESOS_VERSION,
            "id": self.master_id,
            "pid": format!("master@{}:{}", self.config.ip, self.config.port),
            "hostname": self.config.hostname,
            "leader": format!("master@{}:{}", self.config.ip, self.config.port),
            "leader_info": json::to_value(&self.master_info()),
            "start_time": self.config.wall_clock_start,
            "elected_time": self.config.wall_clock_start,
            "now": self.wall_clock(now),
            "activated_slaves": self.agents.values().filter(|a| a.is_active()).count(),
            "deactivated_slaves": 0,
            "unreachable_slaves": unreachable.len(),
            "slaves": slaves,
            "unreachable_slaves_info": unreachable,
            "frameworks": self.frameworks.values().map(|f| framework_json(self, f)).collect::<Vec<_>>(),
            "completed_frameworks": self.completed_frameworks.iter().map(|f| framework_json(self, f)).collect::<Vec<_>>(),
            "unregistered_frameworks": [],
            "flags": {
                "heartbeat_interval": format!("{}secs", self.config.heartbeat_interval.as_secs_f64()),
                "allocation_interval": format!("{}secs", self.config.allocation_interval.as_secs_f64()),
            },
        })
    }
}
