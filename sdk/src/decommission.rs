//! Scale-in: the `decommission` plan that retires pod instances a config
//! update removed (a lower `count` on a pod with `allow-decommission`, or a
//! pod type with `allow-decommission` dropped from the spec).
//!
//! Built from the spec and the stored tasks, so a scheduler restarted half
//! way rebuilds exactly what is left: one serial phase per surplus pod
//! instance (`world-1`), highest index first and pod types in reverse spec
//! order, each running
//!
//! ```text
//! kill-<task>…  →  unreserve-<resource_id>…  →  erase-<task>…
//! ```
//!
//! The scheduler core drives these steps itself ([`DecommissionAction`]):
//! a kill completes once the task is gone, an unreserve once the resource
//! was destroyed/unreserved (it is then stripped from the stored TaskInfo,
//! so a restart does not wait for it again), an erase deletes the task's
//! stored state. Pure functions; no IO.

use std::collections::{BTreeMap, BTreeSet};

use plinth_proto::v1::TaskInfo;

use crate::offer::{labels, resource_id};
use crate::plan::{DecommissionAction, Phase, Plan, PodInstance, Step, StepKind, Strategy};
use crate::scheduler::command::pod_instance_of;
use crate::spec::ServiceSpec;

/// Name of the decommission plan.
pub const DECOMMISSION_PLAN: &str = "decommission";

/// Whether `pod` is beyond what `spec` keeps: its type is gone or its index
/// is at or above the type's count.
#[must_use]
pub fn is_surplus(spec: &ServiceSpec, pod: &PodInstance) -> bool {
    spec.pod(&pod.pod_type)
        .is_none_or(|spec_pod| pod.index >= spec_pod.count)
}

/// The stored tasks of surplus pod instances, by instance, in the order
/// they are retired (pod types in reverse spec order, unknown types first;
/// highest index first).
#[must_use]
pub fn surplus<'a>(
    spec: &ServiceSpec,
    tasks: impl IntoIterator<Item = &'a TaskInfo>,
) -> Vec<(PodInstance, Vec<&'a TaskInfo>)> {
    let mut by_pod: BTreeMap<PodInstance, Vec<&TaskInfo>> = BTreeMap::new();
    for info in tasks {
        if let Some(pod) = pod_instance_of(info).filter(|p| is_surplus(spec, p)) {
            by_pod.entry(pod).or_default().push(info);
        }
    }
    let rank = |pod: &PodInstance| {
        let position = spec.pods.iter().position(|p| p.name == pod.pod_type);
        // Unknown types (removed from the spec) first, then reverse order.
        (
            position.map_or(0, |i| spec.pods.len() - i),
            std::cmp::Reverse(pod.index),
        )
    };
    let mut out: Vec<(PodInstance, Vec<&TaskInfo>)> = by_pod.into_iter().collect();
    out.sort_by_key(|(pod, _)| rank(pod));
    for (_, infos) in &mut out {
        infos.sort_by(|a, b| a.name.cmp(&b.name));
    }
    out
}

/// The decommission plan for the surplus instances among `tasks` (empty
/// and COMPLETE when there are none).
#[must_use]
pub fn plan<'a>(spec: &ServiceSpec, tasks: impl IntoIterator<Item = &'a TaskInfo>) -> Plan {
    let phases = surplus(spec, tasks)
        .into_iter()
        .map(|(pod, infos)| phase(&pod, &infos))
        .collect();
    Plan::new(DECOMMISSION_PLAN, Strategy::Serial, phases).with_id_seed(DECOMMISSION_PLAN)
}

fn phase(pod: &PodInstance, infos: &[&TaskInfo]) -> Phase {
    let step = |name: String, action: DecommissionAction| {
        Step::new(name, Some(pod.clone()), Vec::new()).with_kind(StepKind::Decommission(action))
    };
    let mut steps = Vec::new();
    for info in infos {
        steps.push(step(
            format!("kill-{}", info.name),
            DecommissionAction::Kill {
                task: info.name.clone(),
            },
        ));
    }
    let held: BTreeSet<String> = infos.iter().flat_map(|i| labels::resource_ids(i)).collect();
    for resource_id in held {
        steps.push(step(
            format!("unreserve-{resource_id}"),
            DecommissionAction::Unreserve { resource_id },
        ));
    }
    for info in infos {
        steps.push(step(
            format!("erase-{}", info.name),
            DecommissionAction::Erase {
                task: info.name.clone(),
            },
        ));
    }
    Phase::new(pod.to_string(), Strategy::Serial, steps)
}

/// Removes the resources with one of `released` ids from a TaskInfo (and
/// its executor); true when something was removed.
pub fn strip_resources(info: &mut TaskInfo, released: &BTreeSet<String>) -> bool {
    let keep =
        |r: &plinth_proto::v1::Resource| resource_id(r).is_none_or(|id| !released.contains(id));
    let before = labels::resource_ids(info).len();
    info.resources.retain(keep);
    if let Some(executor) = info.executor.as_mut() {
        executor.resources.retain(keep);
    }
    labels::resource_ids(info).len() != before
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use plinth_proto::v1::{Label, Labels, Resource, TaskId, value};

    use super::*;
    use crate::plan::Status;

    const SPEC: &str = r"
name: svc
pods:
  hello:
    count: 1
    tasks:
      server:
        goal: RUNNING
        cmd: sleep 1000
        cpus: 0.1
        memory: 32
  world:
    count: 1
    allow-decommission: true
    tasks:
      server:
        goal: RUNNING
        cmd: sleep 1000
        cpus: 0.1
        memory: 32
";

    fn spec() -> ServiceSpec {
        crate::spec::load_str(SPEC, &BTreeMap::new(), None)
            .unwrap()
            .spec
    }

    fn reserved(id: &str) -> Resource {
        let mut r = Resource {
            name: "cpus".into(),
            scalar: Some(value::Scalar { value: 0.1 }),
            ..Resource::default()
        };
        r.set_type(value::Type::Scalar);
        r.reservations.push(crate::offer::dynamic_reservation(
            "svc-role",
            "svc-principal",
            id,
            "fw-1",
        ));
        r
    }

    fn task(pod: &str, index: u32, resource_ids: &[&str]) -> TaskInfo {
        let label = |k: &str, v: String| Label {
            key: k.into(),
            value: Some(v),
        };
        TaskInfo {
            name: format!("{pod}-{index}-server"),
            task_id: TaskId {
                value: format!("{pod}-{index}-server__id"),
            },
            resources: resource_ids.iter().map(|id| reserved(id)).collect(),
            labels: Some(Labels {
                labels: vec![
                    label(labels::TASK_TYPE, pod.into()),
                    label(labels::INDEX, index.to_string()),
                ],
            }),
            ..TaskInfo::default()
        }
    }

    #[test]
    fn surplus_instances_retire_highest_index_first_in_reverse_pod_order() {
        let tasks = [
            task("hello", 0, &["h0"]),
            task("hello", 1, &["h1"]),
            task("world", 0, &["w0"]),
            task("world", 1, &["w1"]),
            task("world", 2, &["w2"]),
            task("gone", 0, &["g0"]),
        ];
        let order: Vec<String> = surplus(&spec(), &tasks)
            .iter()
            .map(|(pod, _)| pod.to_string())
            .collect();
        assert_eq!(order, ["gone-0", "world-2", "world-1", "hello-1"]);
    }

    #[test]
    fn a_phase_kills_then_unreserves_then_erases() {
        let tasks = [task("world", 0, &["w0"]), task("world", 1, &["a", "b"])];
        let plan = plan(&spec(), &tasks);
        assert_eq!(plan.name(), DECOMMISSION_PLAN);
        let phases: Vec<(&str, Vec<&str>)> = plan
            .phases()
            .iter()
            .map(|p| (p.name(), p.steps().iter().map(Step::name).collect()))
            .collect();
        assert_eq!(
            phases,
            [(
                "world-1",
                vec![
                    "kill-world-1-server",
                    "unreserve-a",
                    "unreserve-b",
                    "erase-world-1-server"
                ]
            )]
        );
        assert_eq!(plan.status(), Status::Pending);
        let step = &plan.phases()[0].steps()[1];
        assert!(
            step.message()
                .starts_with("ResourceCleanupStep: 'unreserve-a")
        );
    }

    #[test]
    fn nothing_surplus_is_an_empty_complete_plan() {
        let tasks = [task("hello", 0, &["h0"]), task("world", 0, &["w0"])];
        let plan = plan(&spec(), &tasks);
        assert!(plan.phases().is_empty());
        assert_eq!(plan.status(), Status::Complete);
    }

    #[test]
    fn stripping_removes_only_released_resources() {
        let mut info = task("world", 1, &["a", "b"]);
        let released = BTreeSet::from(["a".to_string()]);
        assert!(strip_resources(&mut info, &released));
        assert_eq!(
            labels::resource_ids(&info),
            BTreeSet::from(["b".to_string()])
        );
        assert!(
            !strip_resources(&mut info, &released),
            "nothing left to strip"
        );
    }
}
