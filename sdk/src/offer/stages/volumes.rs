//! Volume stages: pod-level (executor) volumes and resource-set volumes.
//! ROOT volumes take a slice of the root disk; MOUNT volumes take a whole
//! mount disk. Existing volumes are reused with their persistence id.

use crate::offer::attempt::{Attempt, ExecutorGrant, Grant, SetGrant, VolumeGrant};
use crate::offer::existing::StoredItems;
use crate::offer::outcome::Stage;
use crate::offer::prepare::{Prepared, SetPlan};
use crate::offer::resources::{DISK, Milli};
use crate::spec::{VolumeSpec, VolumeType};

pub(super) fn pod_volumes(prep: &Prepared<'_, '_>, a: &mut Attempt<'_>) {
    if prep.pod.volumes.is_empty() {
        return;
    }
    if matches!(a.executor, Some(ExecutorGrant::Running(_))) {
        a.record(
            Stage::PodVolumes,
            Ok("executor is running: pod volumes stay in use".into()),
        );
        return;
    }
    let stored = prep.existing.as_ref().map(|e| &e.executor_items);
    let (grants, result) = evaluate_all(&prep.pod.volumes, stored, a);
    a.pod_volumes = grants;
    a.record(
        Stage::PodVolumes,
        result.map_err(|e| format!("pod volumes: {e}")),
    );
}

pub(super) fn set_volumes(
    _prep: &Prepared<'_, '_>,
    plan: &SetPlan<'_>,
    stored: Option<&StoredItems>,
    a: &mut Attempt<'_>,
    grant: &mut SetGrant,
) {
    if plan.set.volumes.is_empty() {
        return;
    }
    let (grants, result) = evaluate_all(&plan.set.volumes, stored, a);
    grant.volumes = grants;
    let id = &plan.set.id;
    a.record(
        Stage::Volumes,
        result
            .map(|m| format!("{id}: {m}"))
            .map_err(|e| format!("{id}: {e}")),
    );
}

fn evaluate_all(
    volumes: &[VolumeSpec],
    stored: Option<&StoredItems>,
    a: &mut Attempt<'_>,
) -> (Vec<VolumeGrant>, Result<String, String>) {
    let mut grants = Vec::new();
    let mut errors = Vec::new();
    let mut done = Vec::new();
    for v in volumes {
        match one(v, stored, a) {
            Ok((g, m)) => {
                done.push(m);
                grants.push(g);
            }
            Err(e) => errors.push(e),
        }
    }
    let result = if errors.is_empty() {
        Ok(done.join(", "))
    } else {
        Err(errors.join("; "))
    };
    (grants, result)
}

fn one(
    v: &VolumeSpec,
    stored: Option<&StoredItems>,
    a: &mut Attempt<'_>,
) -> Result<(VolumeGrant, String), String> {
    let path = v.path.clone();
    let size = Milli::from_units(v.size_mb);
    if let Some(sv) = stored.and_then(|s| s.volumes.get(&v.path)) {
        let resource = a.take_reserved(&sv.resource_id, &format!("volume {}", v.path))?;
        let message = format!(
            "volume {path} reused (persistence id {})",
            sv.persistence_id
        );
        return Ok((
            VolumeGrant {
                path,
                grant: Grant::ReuseVolume {
                    resource,
                    persistence_id: sv.persistence_id.clone(),
                },
            },
            message,
        ));
    }
    match v.kind {
        VolumeType::Root => {
            a.take_scalar(DISK, size)
                .map_err(|e| format!("ROOT volume {path}: {e}"))?;
            let message = format!("ROOT volume {path} {size} MB");
            Ok((
                VolumeGrant {
                    path,
                    grant: Grant::NewRootVolume { size },
                },
                message,
            ))
        }
        VolumeType::Mount => {
            let disk = a
                .take_mount(size, &v.profiles)
                .map_err(|e| format!("MOUNT volume {path}: {e}"))?;
            let message = format!("MOUNT volume {path} on a {} MB disk", disk.size);
            Ok((
                VolumeGrant {
                    path,
                    grant: Grant::NewMountVolume { disk },
                },
                message,
            ))
        }
    }
}
