//! Launch stage: turns the grants of a passing [`Attempt`] into Mesos
//! resources, RESERVE / UNRESERVE / CREATE / LAUNCH_GROUP operations and the
//! TaskInfos to persist. Ids are minted here, only for the winning agent.

use std::collections::BTreeMap;

use plinth_proto::v1::offer::{Operation, operation};
use plinth_proto::v1::resource::DiskInfo;
use plinth_proto::v1::resource::disk_info::Persistence;
use plinth_proto::v1::{
    ExecutorId, ExecutorInfo, FrameworkId, Resource, TaskGroupInfo, TaskId, TaskInfo, Volume,
    executor_info, volume,
};

use super::attempt::{Attempt, ExecutorGrant, Grant, Resize, VolumeGrant};
use super::context::ServiceContext;
use super::error::OfferError;
use super::evaluate::Recommendation;
use super::ids::{self, IdGenerator};
use super::prepare::Prepared;
use super::resources::{self, DISK, PORTS, Ranges};
use super::taskinfo;

/// Accumulates the operations while resources are materialized.
struct Materializer<'a, G: IdGenerator> {
    ctx: &'a ServiceContext,
    role: &'a str,
    stack: &'a [plinth_proto::v1::resource::ReservationInfo],
    ids: &'a mut G,
    reserve: Vec<Resource>,
    unreserve: Vec<Resource>,
    create: Vec<Resource>,
}

impl<G: IdGenerator> Materializer<'_, G> {
    /// A resource carrying a fresh DYNAMIC reservation of ours.
    fn reserved(&mut self, name: &str) -> Resource {
        let id = self.ids.next_uuid();
        let mut stack = self.stack.to_vec();
        stack.push(resources::dynamic_reservation(
            self.role,
            &self.ctx.principal,
            &id,
            &self.ctx.framework_id,
        ));
        resources::base_resource(name, self.role, stack)
    }

    fn grant(&mut self, g: &Grant) -> Resource {
        match g {
            Grant::NewScalar { name, amount } => {
                let r = resources::with_scalar(self.reserved(name), *amount);
                self.reserve.push(r.clone());
                r
            }
            Grant::NewPort { port } => {
                let r = resources::with_ranges(self.reserved(PORTS), &Ranges::single(*port));
                self.reserve.push(r.clone());
                r
            }
            Grant::NewRootVolume { size } => {
                let r = resources::with_scalar(self.reserved(DISK), *size);
                self.reserve.push(r.clone());
                r
            }
            Grant::NewMountVolume { disk } => {
                let fresh = self.reserved(DISK);
                let mut r = disk.resource.clone();
                r.role = None;
                r.reservation = None;
                r.reservations = fresh.reservations;
                r.allocation_info = fresh.allocation_info;
                self.reserve.push(r.clone());
                r
            }
            Grant::Reuse { resource, resize } => {
                let current = resources::scalar_of(resource);
                match *resize {
                    Resize::Keep => resource.clone(),
                    Resize::Grow(more) => {
                        self.reserve
                            .push(resources::with_scalar(resource.clone(), more));
                        resources::with_scalar(resource.clone(), current + more)
                    }
                    Resize::Shrink(less) => {
                        self.unreserve
                            .push(resources::with_scalar(resource.clone(), less));
                        resources::with_scalar(resource.clone(), current - less)
                    }
                }
            }
            Grant::ReuseVolume { resource, .. } => resource.clone(),
        }
    }

    /// A volume: the reserved disk with persistence and a container path,
    /// CREATE'd unless it already is a volume.
    fn volume(&mut self, v: &VolumeGrant) -> Resource {
        let disk = self.grant(&v.grant);
        if resources::persistence_id(&disk).is_some() {
            return disk;
        }
        let persistence_id = match &v.grant {
            Grant::ReuseVolume { persistence_id, .. } => persistence_id.clone(),
            _ => self.ids.next_uuid(),
        };
        let vol = with_volume(disk, &persistence_id, &self.ctx.principal, &v.path);
        self.create.push(vol.clone());
        vol
    }
}

fn with_volume(mut r: Resource, persistence_id: &str, principal: &str, path: &str) -> Resource {
    let mut disk: Box<DiskInfo> = r.disk.take().unwrap_or_default();
    disk.persistence = Some(Persistence {
        id: persistence_id.to_string(),
        principal: Some(principal.to_string()),
    });
    let mut vol = Volume {
        container_path: path.to_string(),
        ..Volume::default()
    };
    vol.set_mode(volume::Mode::Rw);
    disk.volume = Some(vol);
    r.disk = Some(disk);
    r
}

fn op(t: operation::Type) -> Operation {
    let mut o = Operation::default();
    o.set_type(t);
    o
}

/// Builds the recommendation for a passing attempt.
pub(crate) fn build<G: IdGenerator>(
    ctx: &ServiceContext,
    prep: &Prepared<'_, '_>,
    attempt: &Attempt<'_>,
    ids: &mut G,
) -> Result<Recommendation, OfferError> {
    let pool = attempt.pool;
    let stack = attempt
        .offered
        .map(|b| b.stack.as_slice())
        .unwrap_or_default();
    let mut m = Materializer {
        ctx,
        role: &prep.reservation_role,
        stack,
        ids,
        reserve: Vec::new(),
        unreserve: Vec::new(),
        create: Vec::new(),
    };

    let executor = match &attempt.executor {
        Some(ExecutorGrant::Running(info)) => (**info).clone(),
        Some(ExecutorGrant::New { resources }) => {
            let mut rs: Vec<Resource> = resources.iter().map(|g| m.grant(g)).collect();
            rs.extend(attempt.pod_volumes.iter().map(|v| m.volume(v)));
            let uuid = m.ids.next_uuid();
            new_executor(ctx, prep, &uuid, rs)
        }
        None => new_executor(ctx, prep, &m.ids.next_uuid(), Vec::new()),
    };

    let mut task_infos = Vec::new();
    let mut launched = Vec::new();
    let mut group: Vec<TaskInfo> = Vec::new();
    for (plan, grant) in prep.sets.iter().zip(&attempt.sets) {
        let mut rs: Vec<Resource> = grant.scalars.iter().map(|g| m.grant(g)).collect();
        let mut ports = BTreeMap::new();
        for p in &grant.ports {
            ports.insert(p.name.clone(), p.port);
            if let Some(g) = &p.grant {
                rs.push(m.grant(g));
            }
        }
        rs.extend(grant.volumes.iter().map(|v| m.volume(v)));
        let last = plan.tasks.len().saturating_sub(1);
        for (k, task) in plan.tasks.iter().enumerate() {
            let name = crate::spec::env::task_name(&prep.pod.name, prep.req.index, &task.name);
            let launch = prep.launch.contains(task.name.as_str());
            let task_id = if launch {
                ids::task_id(&name, &m.ids.next_uuid())
            } else {
                String::new()
            };
            let resources = if k == last {
                std::mem::take(&mut rs)
            } else {
                rs.clone()
            };
            let mut info = taskinfo::build(
                &taskinfo::TaskBuild {
                    ctx,
                    prep,
                    pool,
                    task,
                    name: name.clone(),
                    task_id: TaskId { value: task_id },
                    ports: &ports,
                },
                resources,
                &mut *m.ids,
            )?;
            if launch {
                launched.push(name);
                group.push(info.clone());
            }
            info.executor = Some(Box::new(executor.clone()));
            task_infos.push(info);
        }
    }

    let mut operations = Vec::new();
    if !m.unreserve.is_empty() {
        let mut o = op(operation::Type::Unreserve);
        o.unreserve = Some(operation::Unreserve {
            resources: std::mem::take(&mut m.unreserve),
        });
        operations.push(o);
    }
    if !m.reserve.is_empty() {
        let mut o = op(operation::Type::Reserve);
        o.reserve = Some(operation::Reserve {
            resources: std::mem::take(&mut m.reserve),
            source: Vec::new(),
        });
        operations.push(o);
    }
    if !m.create.is_empty() {
        let mut o = op(operation::Type::Create);
        o.create = Some(operation::Create {
            volumes: std::mem::take(&mut m.create),
        });
        operations.push(o);
    }
    if !group.is_empty() {
        let mut o = op(operation::Type::LaunchGroup);
        o.launch_group = Some(operation::LaunchGroup {
            executor,
            task_group: TaskGroupInfo { tasks: group },
        });
        operations.push(o);
    }

    Ok(Recommendation {
        pod_instance: prep.pod_instance.clone(),
        kind: prep.req.kind,
        agent_id: pool.agent_id.clone(),
        hostname: pool.hostname.clone(),
        offer_ids: pool.offer_ids.clone(),
        operations,
        task_infos,
        launched,
    })
}

fn new_executor(
    ctx: &ServiceContext,
    prep: &Prepared<'_, '_>,
    uuid: &str,
    resources: Vec<Resource>,
) -> ExecutorInfo {
    let mut e = ExecutorInfo {
        executor_id: ExecutorId {
            value: ids::executor_id(&ctx.spec.name, &prep.pod_instance, uuid),
        },
        framework_id: Some(FrameworkId {
            value: ctx.framework_id.clone(),
        }),
        name: Some(prep.pod_instance.clone()),
        resources,
        container: taskinfo::executor_container(prep.pod).map(Box::new),
        ..ExecutorInfo::default()
    };
    e.set_type(executor_info::Type::Default);
    e
}
