//! Per-requirement work that does not depend on the offer: look up the pod,
//! parse its placement, group tasks by resource set, read stored reservations.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use super::context::ServiceContext;
use super::error::OfferError;
use super::existing::ExistingPod;
use super::requirement::{LaunchKind, PodInstanceRequirement};
use crate::placement::{self, Constraint};
use crate::spec::{PodSpec, ResourceSetSpec, TaskSpec};

/// Parsed placement constraints by pod type (`None`: no constraint).
pub(crate) type PlacementCache = HashMap<String, Option<Arc<Constraint>>>;

/// A resource set and the tasks (sorted by name) that use it.
#[derive(Debug)]
pub(crate) struct SetPlan<'s> {
    pub(crate) set: &'s ResourceSetSpec,
    pub(crate) tasks: Vec<&'s TaskSpec>,
}

impl SetPlan<'_> {
    pub(crate) fn task_names(&self) -> Vec<&str> {
        self.tasks.iter().map(|t| t.name.as_str()).collect()
    }
}

/// A requirement ready to be matched against agents.
#[derive(Debug)]
pub(crate) struct Prepared<'s, 'r> {
    pub(crate) req: &'r PodInstanceRequirement,
    pub(crate) pod: &'s PodSpec,
    pub(crate) pod_instance: String,
    /// Pre-reserved role (`*` when none).
    pub(crate) base: String,
    /// Role of every new reservation.
    pub(crate) reservation_role: String,
    /// Evaluated only for new placements and replacements.
    pub(crate) placement: Option<Arc<Constraint>>,
    /// Stored reservations, for a relaunch in place.
    pub(crate) existing: Option<ExistingPod<'r>>,
    /// Resource sets to satisfy, in evaluation order.
    pub(crate) sets: Vec<SetPlan<'s>>,
    /// Tasks to launch.
    pub(crate) launch: BTreeSet<&'s str>,
}

pub(crate) fn prepare<'s, 'r>(
    ctx: &'s ServiceContext,
    req: &'r PodInstanceRequirement,
    cache: &mut PlacementCache,
) -> Result<Prepared<'s, 'r>, OfferError> {
    let pod = ctx
        .spec
        .pod(&req.pod_type)
        .ok_or_else(|| OfferError::UnknownPod(req.pod_type.clone()))?;
    let pod_instance = req.pod_instance_name();
    let mut launch = BTreeSet::new();
    for name in &req.tasks_to_launch {
        let t = pod.task(name).ok_or_else(|| OfferError::UnknownTask {
            pod: pod.name.clone(),
            task: name.clone(),
        })?;
        launch.insert(t.name.as_str());
    }
    let existing = match req.kind {
        LaunchKind::RelaunchInPlace => ExistingPod::from_tasks(&pod_instance, &req.existing),
        _ => None,
    };
    let placement = if existing.is_none() {
        placement_of(pod, cache)?
    } else {
        None
    };
    let mut tasks: Vec<&TaskSpec> = pod
        .tasks
        .iter()
        .filter(|t| existing.is_none() || launch.contains(t.name.as_str()))
        .collect();
    tasks.sort_by(|a, b| a.name.cmp(&b.name));
    let mut sets: Vec<SetPlan<'s>> = Vec::new();
    for t in tasks {
        let set = pod
            .task_resources(t)
            .ok_or_else(|| OfferError::UnknownResourceSet {
                pod: pod.name.clone(),
                task: t.name.clone(),
                set: t.resources.id().to_string(),
            })?;
        match sets.iter_mut().find(|s| s.set.id == set.id) {
            Some(plan) => {
                if let Some(other) = plan.tasks.iter().find(|o| launch.contains(o.name.as_str()))
                    && launch.contains(t.name.as_str())
                {
                    return Err(OfferError::SharedResourceSet {
                        pod: pod.name.clone(),
                        set: set.id.clone(),
                        first: other.name.clone(),
                        second: t.name.clone(),
                    });
                }
                plan.tasks.push(t);
            }
            None => sets.push(SetPlan {
                set,
                tasks: vec![t],
            }),
        }
    }
    let base = pod.pre_reserved_role().to_string();
    Ok(Prepared {
        reservation_role: ctx.reservation_role(&base),
        base,
        req,
        pod,
        pod_instance,
        placement,
        existing,
        sets,
        launch,
    })
}

fn placement_of(
    pod: &PodSpec,
    cache: &mut PlacementCache,
) -> Result<Option<Arc<Constraint>>, OfferError> {
    if let Some(c) = cache.get(&pod.name) {
        return Ok(c.clone());
    }
    let parsed = match pod.placement.as_deref() {
        None => None,
        Some(text) => placement::parse(text)
            .map_err(|source| OfferError::InvalidPlacement {
                pod: pod.name.clone(),
                source,
            })?
            .map(Arc::new),
    };
    cache.insert(pod.name.clone(), parsed.clone());
    Ok(parsed)
}
