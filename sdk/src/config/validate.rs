//! Config validators: what a new target configuration must satisfy, alone and
//! as a transition from the current one (dcos-commons' default
//! `ConfigValidator`s, plus the service name staying the same).

use std::collections::BTreeSet;

use serde::Serialize;

use crate::spec::{PodSpec, ResourceLimit, ServiceSpec, TaskResources, VolumeSpec};

/// Longest service name (slashes removed) that still makes a DNS label.
pub const MAX_SERVICE_NAME_LENGTH: usize = 63;

/// One reason a configuration was refused.
///
/// Displays like dcos-commons' `ConfigValidationError` (`Field: '…';
/// Transition: '…' => '…'; Message: '…'`), so deploy-plan errors read the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValidationError {
    /// The validator that refused (`PodSpecsCannotShrink`).
    pub validator: &'static str,
    /// The field, named as dcos-commons names it (`PodSpec[setname:hello]`).
    pub field: String,
    /// Value in the current target, for transition errors.
    pub old: Option<String>,
    /// Value in the new configuration.
    pub new: Option<String>,
    /// What is wrong and what would fix it.
    pub message: String,
}

impl ValidationError {
    fn transition(
        validator: &'static str,
        field: impl Into<String>,
        old: impl Into<String>,
        new: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        ValidationError {
            validator,
            field: field.into(),
            old: Some(old.into()),
            new: Some(new.into()),
            message: message.into(),
        }
    }

    fn value(
        validator: &'static str,
        field: impl Into<String>,
        new: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        ValidationError {
            validator,
            field: field.into(),
            old: None,
            new: Some(new.into()),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for ValidationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let new = self.new.as_deref().unwrap_or("null");
        match &self.old {
            Some(old) => write!(
                f,
                "Field: '{}'; Transition: '{old}' => '{new}'; Message: '{}'",
                self.field, self.message
            ),
            None => write!(
                f,
                "Field: '{}'; Value: '{new}'; Message: '{}'",
                self.field, self.message
            ),
        }
    }
}

/// Facts about the scheduler's environment that validators compare and the
/// spec does not hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationContext {
    /// The region the current target was deployed for (`SERVICE_REGION`).
    pub old_region: Option<String>,
    /// The region of the new configuration.
    pub new_region: Option<String>,
}

/// Runs the default validators with an empty [`ValidationContext`].
///
/// `old` is the current target configuration (`None` on a first deployment:
/// only the checks of the new configuration alone run). Returns every
/// error, in validator order; empty means the change may be applied.
#[must_use]
pub fn validate(old: Option<&ServiceSpec>, new: &ServiceSpec) -> Vec<ValidationError> {
    validate_with(old, new, &ValidationContext::default())
}

/// Runs the default validators:
///
/// | validator | refuses |
/// | --- | --- |
/// | `ServiceNameCannotContainDoubleUnderscores` | `__` in the name |
/// | `ServiceNameCannotBreakDNS` | a name over 63 characters (slashes removed), on a first deployment |
/// | `ServiceNameCannotChange` | a different name (it names the state root and the framework) |
/// | `PodSpecsCannotShrink` | a lower count or a removed pod type, unless it has `allow-decommission` |
/// | `TaskVolumesCannotChange` | different persistent volumes on an existing task or pod |
/// | `PodSpecsCannotChangeNetworkRegime` | moving an existing pod between host and virtual networking |
/// | `PreReservationCannotChange` | a different `pre-reserved-role` |
/// | `UserCannotChange` | a different user for an existing pod |
/// | `PlacementRuleIsValid` | a placement constraint that does not parse |
/// | `RegionCannotChange` | a different region than the one deployed to |
/// | `ResourceLimitsMustExceedRequestedResources` | a limit below the reservation |
#[must_use]
pub fn validate_with(
    old: Option<&ServiceSpec>,
    new: &ServiceSpec,
    ctx: &ValidationContext,
) -> Vec<ValidationError> {
    let mut errors = Vec::new();
    service_name_cannot_contain_double_underscores(new, &mut errors);
    if old.is_none() {
        service_name_cannot_break_dns(new, &mut errors);
    }
    if let Some(old) = old {
        service_name_cannot_change(old, new, &mut errors);
        pod_specs_cannot_shrink(old, new, &mut errors);
        task_volumes_cannot_change(old, new, &mut errors);
        pod_specs_cannot_change_network_regime(old, new, &mut errors);
        pre_reservation_cannot_change(old, new, &mut errors);
        user_cannot_change(old, new, &mut errors);
    }
    placement_rule_is_valid(new, &mut errors);
    if old.is_some() {
        region_cannot_change(ctx, &mut errors);
    }
    resource_limits_must_exceed_requested(new, &mut errors);
    errors
}

fn service_name_cannot_contain_double_underscores(
    new: &ServiceSpec,
    errors: &mut Vec<ValidationError>,
) {
    if new.name.contains("__") {
        errors.push(ValidationError::value(
            "ServiceNameCannotContainDoubleUnderscores",
            "service.name",
            new.name.clone(),
            "Service name may not contain double underscores ('__'): they separate fields in task ids",
        ));
    }
}

fn service_name_cannot_break_dns(new: &ServiceSpec, errors: &mut Vec<ValidationError>) {
    let len = new.name.replace('/', "").chars().count();
    if len > MAX_SERVICE_NAME_LENGTH {
        errors.push(ValidationError::value(
            "ServiceNameCannotBreakDNS",
            "service.name",
            new.name.clone(),
            format!(
                "Service name (without slashes) has {len} characters; for service DNS to work it must not exceed {MAX_SERVICE_NAME_LENGTH}"
            ),
        ));
    }
}

fn service_name_cannot_change(
    old: &ServiceSpec,
    new: &ServiceSpec,
    errors: &mut Vec<ValidationError>,
) {
    if old.name != new.name {
        errors.push(ValidationError::transition(
            "ServiceNameCannotChange",
            "service.name",
            old.name.clone(),
            new.name.clone(),
            format!(
                "Service name cannot change (it names the framework and the state root); keep '{}' or install a new service",
                old.name
            ),
        ));
    }
}

fn pod_specs_cannot_shrink(
    old: &ServiceSpec,
    new: &ServiceSpec,
    errors: &mut Vec<ValidationError>,
) {
    for old_pod in &old.pods {
        match new.pod(&old_pod.name) {
            None if !old_pod.allow_decommission => errors.push(ValidationError::transition(
                "PodSpecsCannotShrink",
                format!("PodSpec[name:{}]", old_pod.name),
                old_pod.count.to_string(),
                "null",
                format!(
                    "New config is missing PodSpec named '{}' (expected present with >= {} tasks)",
                    old_pod.name, old_pod.count
                ),
            )),
            Some(new_pod) if new_pod.count < old_pod.count && !new_pod.allow_decommission => {
                errors.push(ValidationError::transition(
                    "PodSpecsCannotShrink",
                    format!("PodSpec[setname:{}]", new_pod.name),
                    old_pod.count.to_string(),
                    new_pod.count.to_string(),
                    format!(
                        "New config's PodSpec named '{}' has {} tasks, expected >={} tasks (set allow-decommission: true on the pod to scale it in)",
                        new_pod.name, new_pod.count, old_pod.count
                    ),
                ));
            }
            // A shrink (or removal) of an `allow-decommission` pod is fine:
            // the decommission plan retires the surplus instances.
            _ => {}
        }
    }
}

/// A task's persistent volumes, comparable: its resource set's, sorted.
fn task_volumes(pod: &PodSpec, task: &crate::spec::TaskSpec) -> BTreeSet<String> {
    let set = match &task.resources {
        TaskResources::Own(rs) => Some(rs),
        TaskResources::Shared(_) => pod.task_resources(task),
    };
    set.map(|rs| rs.volumes.iter().map(volume_key).collect())
        .unwrap_or_default()
}

fn volume_key(v: &VolumeSpec) -> String {
    let mut profiles = v.profiles.clone();
    profiles.sort();
    format!(
        "{} {} {}MB [{}]",
        v.path,
        v.kind.as_str(),
        v.size_mb,
        profiles.join(",")
    )
}

fn joined(set: &BTreeSet<String>) -> String {
    format!("[{}]", set.iter().cloned().collect::<Vec<_>>().join("; "))
}

fn task_volumes_cannot_change(
    old: &ServiceSpec,
    new: &ServiceSpec,
    errors: &mut Vec<ValidationError>,
) {
    for old_pod in &old.pods {
        let Some(new_pod) = new.pod(&old_pod.name) else {
            continue;
        };
        let pod_old: BTreeSet<String> = old_pod.volumes.iter().map(volume_key).collect();
        let pod_new: BTreeSet<String> = new_pod.volumes.iter().map(volume_key).collect();
        if pod_old != pod_new {
            errors.push(ValidationError::transition(
                "TaskVolumesCannotChange",
                format!("PodVolumes[podname:{}]", old_pod.name),
                joined(&pod_old),
                joined(&pod_new),
                format!(
                    "Volumes must be equal: the pod-level volumes of '{}' cannot change once deployed",
                    old_pod.name
                ),
            ));
        }
        for old_task in &old_pod.tasks {
            let Some(new_task) = new_pod.task(&old_task.name) else {
                continue;
            };
            let a = task_volumes(old_pod, old_task);
            let b = task_volumes(new_pod, new_task);
            if a != b {
                errors.push(ValidationError::transition(
                    "TaskVolumesCannotChange",
                    format!("TaskVolumes[taskname:{}-{}]", old_pod.name, old_task.name),
                    joined(&a),
                    joined(&b),
                    format!(
                        "Volumes must be equal: the volumes of task '{}' of pod '{}' cannot change once deployed",
                        old_task.name, old_pod.name
                    ),
                ));
            }
        }
    }
}

fn pod_specs_cannot_change_network_regime(
    old: &ServiceSpec,
    new: &ServiceSpec,
    errors: &mut Vec<ValidationError>,
) {
    let regime = |p: &PodSpec| {
        if p.networks.is_empty() {
            "host".to_owned()
        } else {
            p.networks.keys().cloned().collect::<Vec<_>>().join(",")
        }
    };
    for old_pod in &old.pods {
        let Some(new_pod) = new.pod(&old_pod.name) else {
            continue;
        };
        if old_pod.networks.is_empty() != new_pod.networks.is_empty() {
            errors.push(ValidationError::transition(
                "PodSpecsCannotChangeNetworkRegime",
                format!("PodSpec[name:{}].networks", old_pod.name),
                regime(old_pod),
                regime(new_pod),
                format!(
                    "Pod '{}' cannot move between host networking and a virtual network once deployed",
                    old_pod.name
                ),
            ));
        }
    }
}

fn pre_reservation_cannot_change(
    old: &ServiceSpec,
    new: &ServiceSpec,
    errors: &mut Vec<ValidationError>,
) {
    for old_pod in &old.pods {
        let Some(new_pod) = new.pod(&old_pod.name) else {
            continue;
        };
        let (a, b) = (old_pod.pre_reserved_role(), new_pod.pre_reserved_role());
        if a != b {
            errors.push(ValidationError::transition(
                "PreReservationCannotChange",
                format!("PodSpec[pre-reserved-role:{a}]"),
                a,
                b,
                format!(
                    "New config has changed the pre-reserved-role of PodSpec named '{}' (expected it to stay '{a}')",
                    old_pod.name
                ),
            ));
        }
    }
}

fn user_cannot_change(old: &ServiceSpec, new: &ServiceSpec, errors: &mut Vec<ValidationError>) {
    let (a, b) = (old.user(), new.user());
    if a == b {
        return;
    }
    for new_pod in &new.pods {
        if old.pod(&new_pod.name).is_some() {
            errors.push(ValidationError::transition(
                "UserCannotChange",
                "user",
                a.clone(),
                b.clone(),
                format!(
                    "User for old pod type {} must remain the same across deployments (files on its volumes belong to '{a}')",
                    new_pod.name
                ),
            ));
        }
    }
}

fn placement_rule_is_valid(new: &ServiceSpec, errors: &mut Vec<ValidationError>) {
    for pod in &new.pods {
        let Some(text) = &pod.placement else { continue };
        if let Err(e) = crate::placement::parse(text) {
            errors.push(ValidationError::value(
                "PlacementRuleIsValid",
                "PlacementRule",
                text.clone(),
                format!(
                    "The PlacementRule for PodSpec '{}' had invalid constraints: {e}",
                    pod.name
                ),
            ));
        }
    }
}

fn region_cannot_change(ctx: &ValidationContext, errors: &mut Vec<ValidationError>) {
    if let Some(old) = &ctx.old_region
        && ctx.new_region.as_ref() != Some(old)
    {
        errors.push(ValidationError::transition(
            "RegionCannotChange",
            "region",
            old.clone(),
            ctx.new_region.clone().unwrap_or_else(|| "null".to_owned()),
            "Region for old service must remain the same across deployments.",
        ));
    }
}

fn resource_limits_must_exceed_requested(new: &ServiceSpec, errors: &mut Vec<ValidationError>) {
    for pod in &new.pods {
        for task in &pod.tasks {
            let Some(rs) = pod.task_resources(task) else {
                continue;
            };
            let limits = task
                .resource_limits
                .as_ref()
                .or(rs.resource_limits.as_ref());
            let Some(limits) = limits else { continue };
            let below =
                |limit: Option<ResourceLimit>, requested: Option<f64>| match (limit, requested) {
                    (Some(ResourceLimit::Value(l)), Some(r)) if l < r => Some((l, r)),
                    _ => None,
                };
            #[allow(clippy::cast_precision_loss)]
            let memory = rs.memory.map(|m| m as f64);
            for (what, hit) in [
                ("cpus", below(limits.cpus, rs.cpus)),
                ("memory", below(limits.memory, memory)),
            ] {
                if let Some((limit, requested)) = hit {
                    errors.push(ValidationError::value(
                        "ResourceLimitsMustExceedRequestedResources",
                        format!("TaskSpec[name:{}-{}].resource-limits.{what}", pod.name, task.name),
                        limit.to_string(),
                        format!(
                            "The {what} limit of task '{}' of pod '{}' ({limit}) is below the {what} it reserves ({requested}); raise the limit or use 'unlimited'",
                            task.name, pod.name
                        ),
                    ));
                }
            }
        }
    }
}
