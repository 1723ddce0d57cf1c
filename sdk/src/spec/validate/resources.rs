//! Resource sets, volumes and ports.

use std::collections::BTreeMap;

use super::pods::{check_volume, volume_path};
use super::{Validator, is_env_name, pod_path, task_path};
use crate::spec::error::SpecError;
use crate::spec::model::{PodSpec, ResourceSetSpec, ServiceSpec, TaskResources};

pub(super) fn check(spec: &ServiceSpec, v: &mut Validator<'_>) {
    for pod in &spec.pods {
        check_pod(pod, v);
    }
}

/// Path of a resource set's own keys: the pod's `resource-sets.<id>` or the task.
fn set_path(pod: &PodSpec, rs: &ResourceSetSpec, owner: Option<&str>) -> String {
    match owner {
        Some(task) => task_path(&pod.name, task),
        None => format!("{}.resource-sets.{}", pod_path(&pod.name), rs.id),
    }
}

fn check_pod(pod: &PodSpec, v: &mut Validator<'_>) {
    let known: Vec<&str> = pod.resource_sets.iter().map(|r| r.id.as_str()).collect();
    // Every set the pod reserves, with the task that owns it (None: shared set).
    let mut sets: Vec<(&ResourceSetSpec, Option<&str>)> =
        pod.resource_sets.iter().map(|r| (r, None)).collect();
    for task in &pod.tasks {
        let tp = task_path(&pod.name, &task.name);
        match &task.resources {
            TaskResources::Shared(id) => {
                if pod.resource_set(id).is_none() {
                    v.error(
                        &format!("{tp}.resource-set"),
                        SpecError::UnknownResourceSet {
                            pod: pod.name.clone(),
                            id: id.clone(),
                            known: if known.is_empty() {
                                "none".to_string()
                            } else {
                                known.join(", ")
                            },
                        },
                    );
                }
            }
            TaskResources::Own(rs) => {
                if rs.cpus.is_none()
                    && rs.memory.is_none()
                    && rs.gpus.is_none()
                    && rs.ports.is_empty()
                    && rs.volumes.is_empty()
                {
                    v.error(
                        &tp,
                        SpecError::MissingKey {
                            key: "cpus".into(),
                            hint: format!(
                                ": task '{}' reserves no resources; set cpus and memory, or resource-set",
                                task.name
                            ),
                        },
                    );
                }
                sets.push((rs, Some(&task.name)));
            }
        }
    }
    let mut port_names: BTreeMap<&str, String> = BTreeMap::new();
    let mut static_ports: BTreeMap<u16, String> = BTreeMap::new();
    let mut volume_paths: BTreeMap<&str, String> = BTreeMap::new();
    for (i, vol) in pod.volumes.iter().enumerate() {
        volume_paths.insert(
            &vol.path,
            volume_path(&pod_path(&pod.name), vol, i, pod.volumes.len()),
        );
    }
    for (rs, owner) in &sets {
        let base = set_path(pod, rs, *owner);
        if let Some(c) = rs.cpus
            && c <= 0.0
        {
            v.invalid(
                &format!("{base}.cpus"),
                &c.to_string(),
                "cpus must be greater than 0",
            );
        }
        if rs.memory == Some(0) {
            v.invalid(
                &format!("{base}.memory"),
                "0",
                "memory (MB) must be greater than 0",
            );
        }
        if let Some(g) = rs.gpus
            && g < 0.0
        {
            v.invalid(
                &format!("{base}.gpus"),
                &g.to_string(),
                "gpus cannot be negative",
            );
        }
        for (i, vol) in rs.volumes.iter().enumerate() {
            let vp = volume_path(&base, vol, i, rs.volumes.len());
            check_volume(v, vol, &vp);
            if let Some(first) = volume_paths.get(vol.path.as_str()) {
                v.error(
                    &format!("{vp}.path"),
                    SpecError::DuplicateName {
                        what: "volume path".into(),
                        name: vol.path.clone(),
                        other: first.clone(),
                    },
                );
            } else {
                volume_paths.insert(&vol.path, vp);
            }
        }
        for (name, port) in &rs.ports {
            let pp = format!("{base}.ports.{name}");
            let name_ok = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
            if !name_ok {
                v.invalid(
                    &pp,
                    name,
                    "port names use letters, digits, '-', '_' and '.'",
                );
            }
            if let Some(first) = port_names.insert(name, pp.clone()) {
                v.error(
                    &pp,
                    SpecError::DuplicateName {
                        what: "port name".into(),
                        name: name.clone(),
                        other: first,
                    },
                );
            }
            if port.port != 0
                && let Some(first) = static_ports.insert(port.port, pp.clone())
            {
                v.error(
                    &format!("{pp}.port"),
                    SpecError::DuplicateName {
                        what: "port number".into(),
                        name: port.port.to_string(),
                        other: first,
                    },
                );
            }
            if let Some(k) = &port.env_key
                && !is_env_name(k)
            {
                v.invalid(
                    &format!("{pp}.env-key"),
                    k,
                    "not a valid environment variable name",
                );
            }
            for (i, r) in port.ranges.iter().enumerate() {
                let (b, e) = r.effective();
                if b > e {
                    v.invalid(
                        &format!("{pp}.ranges[{i}]"),
                        &format!("{b}-{e}"),
                        "a range's begin must not be after its end",
                    );
                }
            }
            if !port.ranges.is_empty() && port.port != 0 {
                let inside = port.ranges.iter().any(|r| {
                    let (b, e) = r.effective();
                    (b..=e).contains(&port.port)
                });
                if !inside {
                    v.invalid(
                        &format!("{pp}.port"),
                        &port.port.to_string(),
                        "a fixed port must lie inside its ranges (or use port: 0 to pick from them)",
                    );
                }
            }
            if let Some(vip) = &port.vip
                && let Some(prefix) = &vip.prefix
                && (prefix.is_empty()
                    || !prefix
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'))
            {
                v.invalid(
                    &format!("{pp}.vip.prefix"),
                    prefix,
                    "VIP prefixes are DNS labels: letters, digits, '-' and '.'",
                );
            }
        }
    }
}
