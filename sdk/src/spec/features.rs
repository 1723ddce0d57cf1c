//! Feature inventory: which svc.yml features a spec uses, and which of those
//! Plinth cannot run yet.
//!
//! Everything the scheduler can carry into a TaskInfo as data (env, labels,
//! secrets, networks, VIPs, volumes, rlimits, seccomp, …) counts as supported.
//! TLS provisioning (`transport-encryption`) needs a certificate authority
//! integration Plinth does not have, so it is reported as not supported yet.

use super::decode::Locator;
use super::error::{Diagnostic, SpecError};
use super::model::{GoalState, PlanStrategy, ServiceSpec, StepGeneration, TaskResources};
use super::plans::{PlanRole, PlanSource};

/// Features Plinth parses but cannot run, as "not supported yet" diagnostics.
pub(crate) fn unsupported(spec: &ServiceSpec, locs: &Locator) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for pod in &spec.pods {
        for task in &pod.tasks {
            if !task.transport_encryption.is_empty() {
                let key = format!("pods.{}.tasks.{}.transport-encryption", pod.name, task.name);
                out.push(Diagnostic {
                    location: locs.locate(&key),
                    error: SpecError::NotSupportedYet {
                        key,
                        detail: "TLS artifacts need a certificate authority integration; remove the key or turn TLS off in the package options".into(),
                    },
                });
            }
        }
    }
    out
}

/// Names of the svc.yml features a spec uses, in a stable order.
pub fn uses_features(spec: &ServiceSpec) -> Vec<&'static str> {
    use super::model::{PhaseStrategy, VolumeType};
    let tasks = || spec.pods.iter().flat_map(|p| p.tasks.iter());
    let sets = || {
        spec.pods.iter().flat_map(|p| {
            p.resource_sets
                .iter()
                .chain(p.tasks.iter().filter_map(|t| match &t.resources {
                    TaskResources::Own(rs) => Some(rs),
                    TaskResources::Shared(_) => None,
                }))
        })
    };
    let ports = || sets().flat_map(|rs| rs.ports.values());
    let volumes = || {
        sets()
            .flat_map(|rs| rs.volumes.iter())
            .chain(spec.pods.iter().flat_map(|p| p.volumes.iter()))
    };
    let plans = spec.resolved_plans();
    let phases = || plans.iter().flat_map(|p| p.phases.iter());
    let has_placement = spec.pods.iter().any(|p| {
        p.placement
            .as_deref()
            .is_some_and(|s| !s.trim().is_empty() && s.trim() != "[]")
    });
    let table: Vec<(&'static str, bool)> = vec![
        (
            "canary",
            phases().any(|ph| {
                matches!(
                    ph.strategy,
                    PhaseStrategy::SerialCanary | PhaseStrategy::ParallelCanary
                )
            }),
        ),
        (
            "custom-steps",
            phases().any(|ph| ph.step_generation != StepGeneration::Default),
        ),
        ("once-goal", tasks().any(|t| t.goal == GoalState::Once)),
        ("finish-goal", tasks().any(|t| t.goal == GoalState::Finish)),
        ("non-essential", tasks().any(|t| !t.essential)),
        (
            "readiness-check",
            tasks().any(|t| t.readiness_check.is_some()),
        ),
        ("health-check", tasks().any(|t| t.health_check.is_some())),
        ("rlimits", spec.pods.iter().any(|p| !p.rlimits.is_empty())),
        (
            "kill-grace-period",
            tasks().any(|t| t.kill_grace_period.is_some()),
        ),
        (
            "decommission",
            spec.pods.iter().any(|p| p.allow_decommission),
        ),
        ("labels", tasks().any(|t| !t.labels.is_empty())),
        ("uris", spec.pods.iter().any(|p| !p.uris.is_empty())),
        ("multiport", sets().any(|rs| rs.ports.len() > 1)),
        (
            "resource-sets",
            spec.pods.iter().any(|p| !p.resource_sets.is_empty()),
        ),
        (
            "mount-volume",
            volumes().any(|v| v.kind == VolumeType::Mount),
        ),
        ("volume-profiles", volumes().any(|v| !v.profiles.is_empty())),
        (
            "pod-volume",
            spec.pods.iter().any(|p| !p.volumes.is_empty()),
        ),
        (
            "multi-task-pod",
            spec.pods.iter().any(|p| p.tasks.len() > 1),
        ),
        ("static-port", ports().any(|p| p.port != 0)),
        ("dynamic-port", ports().any(|p| p.port == 0)),
        ("port-ranges", ports().any(|p| !p.ranges.is_empty())),
        ("port-env-key", ports().any(|p| p.env_key.is_some())),
        ("advertised-port", ports().any(|p| p.advertise)),
        ("vip", ports().any(|p| p.vip.is_some())),
        ("placement", has_placement),
        ("secrets", spec.pods.iter().any(|p| !p.secrets.is_empty())),
        (
            "virtual-network",
            spec.pods.iter().any(|p| !p.networks.is_empty()),
        ),
        ("docker-image", spec.pods.iter().any(|p| p.image.is_some())),
        (
            "host-volumes",
            spec.pods.iter().any(|p| !p.host_volumes.is_empty()),
        ),
        (
            "external-volumes",
            spec.pods.iter().any(|p| !p.external_volumes.is_empty()),
        ),
        (
            "pre-reserved-role",
            spec.pods
                .iter()
                .any(|p| p.pre_reserved_role.as_deref().is_some_and(|r| r != "*")),
        ),
        (
            "share-pid-namespace",
            spec.pods.iter().any(|p| p.share_pid_namespace),
        ),
        (
            "seccomp",
            spec.pods
                .iter()
                .any(|p| p.seccomp_unconfined.is_some() || p.seccomp_profile_name.is_some()),
        ),
        (
            "shm",
            spec.pods
                .iter()
                .any(|p| p.ipc_mode.is_some() || p.shm_size.is_some())
                || tasks().any(|t| t.ipc_mode.is_some() || t.shm_size.is_some()),
        ),
        ("gpus", sets().any(|rs| rs.gpus.is_some())),
        (
            "resource-limits",
            sets().any(|rs| rs.resource_limits.is_some())
                || tasks().any(|t| t.resource_limits.is_some()),
        ),
        ("config-templates", tasks().any(|t| !t.configs.is_empty())),
        ("discovery", tasks().any(|t| t.discovery.is_some())),
        (
            "transport-encryption",
            tasks().any(|t| !t.transport_encryption.is_empty()),
        ),
        ("web-url", spec.web_url.is_some()),
        (
            "yaml-plans",
            plans.iter().any(|p| p.source == PlanSource::Yaml),
        ),
        (
            "custom-plans",
            plans.iter().any(|p| p.role == PlanRole::Custom),
        ),
        (
            "update-plan",
            plans.iter().any(|p| p.role == PlanRole::Update),
        ),
        (
            "parallel-strategy",
            plans.iter().any(|p| {
                p.strategy == PlanStrategy::Parallel
                    || p.phases.iter().any(|ph| ph.strategy.is_parallel())
            }),
        ),
        ("task-env", tasks().any(|t| !t.env.is_empty())),
        (
            "scheduler-user",
            spec.scheduler
                .user
                .as_deref()
                .is_some_and(|u| !u.is_empty()),
        ),
    ];
    table
        .into_iter()
        .filter(|(_, on)| *on)
        .map(|(n, _)| n)
        .collect()
}
