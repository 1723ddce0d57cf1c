//! Specs, offers and helpers shared by the offer tests.

use std::collections::BTreeMap;
use std::sync::Arc;

use plinth_proto::v1::offer::{Operation, operation};
use plinth_proto::v1::resource::disk_info::{Source, source};
use plinth_proto::v1::resource::{AllocationInfo, DiskInfo, ReservationInfo, reservation_info};
use plinth_proto::v1::{
    AgentId, Attribute, ExecutorId, FrameworkId, Offer, OfferId, Resource, TaskInfo, value,
};

use super::mesos_model::AgentModel;
use crate::offer::{OfferOutcome, PodInstanceRequirement, Recommendation, ServiceContext};
use crate::spec::{ServiceSpec, load_str};

pub(crate) const ROLE: &str = "hello-world-role";
pub(crate) const FRAMEWORK: &str = "fw-1";

/// A small hello-world: one task with a dynamic port, a ROOT volume and both checks.
pub(crate) const HELLO: &str = r#"
name: hello-world
pods:
  hello:
    count: 3
    placement: '[["hostname", "UNIQUE"]]'
    rlimits:
      RLIMIT_NOFILE:
        soft: 128000
        hard: 128000
    tasks:
      server:
        goal: RUNNING
        cmd: echo hello >> data/output && sleep $SLEEP_DURATION
        cpus: 1
        memory: 256
        ports:
          http:
            port: 0
            env-key: PORT_HTTP
        volume:
          path: data
          type: ROOT
          size: 100
        env:
          SLEEP_DURATION: 1000
        health-check:
          cmd: stat data/output
          interval: 5
          grace-period: 30
          delay: 0
          timeout: 10
          max-consecutive-failures: 3
        readiness-check:
          cmd: test -s data/output
          interval: 5
          delay: 0
          timeout: 10
        kill-grace-period: 5
"#;

pub(crate) fn spec(yaml: &str) -> ServiceSpec {
    match load_str(yaml, &BTreeMap::new(), Some("test.yml")) {
        Ok(l) => l.spec,
        Err(e) => panic!("test spec does not load: {e:?}"),
    }
}

pub(crate) fn ctx(yaml: &str) -> ServiceContext {
    ServiceContext::new(Arc::new(spec(yaml)), FRAMEWORK, "cfg-1")
}

fn alloc() -> Option<AllocationInfo> {
    Some(AllocationInfo {
        role: Some(ROLE.to_string()),
    })
}

pub(crate) fn scalar(name: &str, v: f64) -> Resource {
    let mut r = Resource {
        name: name.to_string(),
        scalar: Some(value::Scalar { value: v }),
        allocation_info: alloc(),
        ..Resource::default()
    };
    r.set_type(value::Type::Scalar);
    r
}

pub(crate) fn ports(ranges: &[(u64, u64)]) -> Resource {
    let mut r = Resource {
        name: "ports".to_string(),
        ranges: Some(value::Ranges {
            range: ranges
                .iter()
                .map(|&(begin, end)| value::Range { begin, end })
                .collect(),
        }),
        allocation_info: alloc(),
        ..Resource::default()
    };
    r.set_type(value::Type::Ranges);
    r
}

pub(crate) fn mount(root: &str, size: f64, profile: Option<&str>) -> Resource {
    let mut src = Source {
        mount: Some(source::Mount {
            root: Some(root.to_string()),
        }),
        profile: profile.map(str::to_string),
        ..Source::default()
    };
    src.set_type(source::Type::Mount);
    Resource {
        disk: Some(Box::new(DiskInfo {
            source: Some(src),
            ..DiskInfo::default()
        })),
        ..scalar("disk", size)
    }
}

/// Statically reserved for `role` (pre-reserved), allocated to `alloc_role`.
pub(crate) fn pre_reserved(mut r: Resource, role: &str, alloc_role: &str) -> Resource {
    let mut info = ReservationInfo {
        role: Some(role.to_string()),
        ..ReservationInfo::default()
    };
    info.set_type(reservation_info::Type::Static);
    r.reservations = vec![info];
    r.allocation_info = Some(AllocationInfo {
        role: Some(alloc_role.to_string()),
    });
    r
}

pub(crate) fn offer_with(id: &str, agent: &str, host: &str, resources: Vec<Resource>) -> Offer {
    Offer {
        id: OfferId {
            value: id.to_string(),
        },
        framework_id: FrameworkId {
            value: FRAMEWORK.to_string(),
        },
        agent_id: AgentId {
            value: agent.to_string(),
        },
        hostname: host.to_string(),
        resources,
        allocation_info: alloc(),
        ..Offer::default()
    }
}

/// An unreserved offer: cpus, mem, disk and ports 31000–32000.
pub(crate) fn offer(id: &str, agent: &str, host: &str, cpus: f64, mem: f64, disk: f64) -> Offer {
    offer_with(
        id,
        agent,
        host,
        vec![
            scalar("cpus", cpus),
            scalar("mem", mem),
            scalar("disk", disk),
            ports(&[(31000, 32000)]),
        ],
    )
}

pub(crate) fn big_offer(n: usize) -> Offer {
    offer(
        &format!("o{n}"),
        &format!("a{n}"),
        &format!("host-{n}"),
        8.0,
        16384.0,
        100_000.0,
    )
}

pub(crate) fn with_attribute(mut o: Offer, name: &str, text: &str) -> Offer {
    let mut a = Attribute {
        name: name.to_string(),
        text: Some(value::Text {
            value: text.to_string(),
        }),
        ..Attribute::default()
    };
    a.set_type(value::Type::Text);
    o.attributes.push(a);
    o
}

pub(crate) fn with_executor(mut o: Offer, id: &str) -> Offer {
    o.executor_ids.push(ExecutorId {
        value: id.to_string(),
    });
    o
}

pub(crate) fn op_types(rec: &Recommendation) -> Vec<operation::Type> {
    rec.operations
        .iter()
        .map(|o| operation::Type::try_from(o.r#type.unwrap_or_default()).unwrap_or_default())
        .collect()
}

pub(crate) fn ops_of(rec: &Recommendation, t: operation::Type) -> Vec<&Operation> {
    rec.operations
        .iter()
        .filter(|o| o.r#type == Some(t as i32))
        .collect()
}

pub(crate) fn env_of(info: &TaskInfo) -> BTreeMap<String, String> {
    info.command
        .as_ref()
        .and_then(|c| c.environment.as_ref())
        .map(|e| {
            e.variables
                .iter()
                .map(|v| (v.name.clone(), v.value.clone().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default()
}

/// The offer the master would send after the reservations and volumes of
/// `rec` were made and its tasks ended: the same agent, our reserved
/// resources plus what is left unreserved.
pub(crate) fn reoffer(original: &Offer, rec: &Recommendation, id: &str) -> Offer {
    let mut model = AgentModel::new(&original.resources);
    let setup: Vec<Operation> = rec
        .operations
        .iter()
        .filter(|o| o.r#type != Some(operation::Type::LaunchGroup as i32))
        .cloned()
        .collect();
    if let Err(e) = model.apply_all(&setup) {
        panic!("operations do not apply: {e}");
    }
    Offer {
        id: OfferId {
            value: id.to_string(),
        },
        resources: model.resources,
        ..original.clone()
    }
}

/// A new placement of `hello-<index>` launching its `server` task.
pub(crate) fn hello(index: u32) -> PodInstanceRequirement {
    PodInstanceRequirement::new_placement("hello", index, ["server"])
}

/// (pod instance, agent id) of each recommendation, in order.
pub(crate) fn placed(recs: &[Recommendation]) -> Vec<(&str, &str)> {
    recs.iter()
        .map(|r| (r.pod_instance.as_str(), r.agent_id.value.as_str()))
        .collect()
}

pub(crate) fn reasons(outcomes: &[OfferOutcome]) -> Vec<String> {
    outcomes
        .iter()
        .filter_map(|o| o.reason().map(str::to_string))
        .collect()
}
