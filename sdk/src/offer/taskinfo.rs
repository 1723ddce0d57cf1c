//! TaskInfo for one task of the pod: command and environment (from the task
//! environment builder, with port env keys), health check, readiness check
//! as a COMMAND `CheckInfo`, kill policy, container settings, discovery and
//! labels.
//!
//! A task whose stored TaskInfo carries the [`PAUSED`](keys::PAUSED)
//! goal-state override (see `scheduler::core::pause`) is built with the idle
//! [`PAUSE_COMMAND`](keys::PAUSE_COMMAND) and without health and readiness
//! checks, on the same resources, and keeps the override label.

use std::collections::BTreeMap;

use plinth_proto::v1::{
    CheckInfo, CommandInfo, ContainerInfo, DiscoveryInfo, DurationInfo, Environment, HealthCheck,
    Image, KillPolicy, Labels, LinuxInfo, NetworkInfo, Port, Ports, RLimitInfo, Resource,
    SeccompInfo, Secret, TaskId, TaskInfo, Volume, check_info, command_info, container_info,
    discovery_info, environment, health_check, image, linux_info, r_limit_info, secret, value,
    volume,
};

use super::context::ServiceContext;
use super::error::OfferError;
use super::ids::IdGenerator;
use super::labels as keys;
use super::pool::AgentPool;
use super::prepare::Prepared;
use super::resources::label;
use crate::spec::env::task_environment;
use crate::spec::{
    IpcMode, PodSpec, ResourceLimit, ResourceLimits, TaskSpec, Visibility, VolumeMode,
};

/// Inputs of one TaskInfo.
pub(crate) struct TaskBuild<'a> {
    pub(crate) ctx: &'a ServiceContext,
    pub(crate) prep: &'a Prepared<'a, 'a>,
    pub(crate) pool: &'a AgentPool,
    pub(crate) task: &'a TaskSpec,
    /// `<pod>-<index>-<task>`.
    pub(crate) name: String,
    /// Empty for a task that is stored, not launched.
    pub(crate) task_id: TaskId,
    /// Port name → number for the task's resource set.
    pub(crate) ports: &'a BTreeMap<String, u64>,
}

/// The TaskInfo, without `executor` (the caller sets it where needed).
pub(crate) fn build<G: IdGenerator>(
    b: &TaskBuild<'_>,
    resources: Vec<Resource>,
    ids: &mut G,
) -> Result<TaskInfo, OfferError> {
    let ctx = b.ctx;
    let prep = b.prep;
    let task = b.task;
    let paused = is_paused(b);
    let port_numbers: BTreeMap<String, u16> = b
        .ports
        .iter()
        .filter_map(|(k, &v)| u16::try_from(v).ok().map(|v| (k.clone(), v)))
        .collect();
    let mut env = task_environment(
        &ctx.spec,
        &prep.pod.name,
        prep.req.index,
        &task.name,
        &ctx.env_router,
        &ctx.env_context,
        &port_numbers,
    )
    .map_err(|source| OfferError::TaskEnvironment {
        task: b.name.clone(),
        source,
    })?;
    env.extend(
        prep.req
            .environment
            .iter()
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    let api = (!task.configs.is_empty()).then(|| {
        (
            env.get("SCHEDULER_API_HOSTNAME")
                .cloned()
                .unwrap_or_default(),
            env.get("SCHEDULER_API_PORT").cloned().unwrap_or_default(),
        )
    });
    let environment = environment_of(env, prep.pod);

    let mut command = CommandInfo {
        value: if paused {
            Some(keys::PAUSE_COMMAND.to_string())
        } else {
            task.cmd.clone()
        },
        environment: Some(environment.clone()),
        user: Some(ctx.user.clone()),
        uris: prep
            .pod
            .uris
            .iter()
            .map(|u| command_info::Uri {
                value: u.clone(),
                ..Default::default()
            })
            .collect(),
        ..CommandInfo::default()
    };
    if let Some((host, port)) = api {
        for name in task.configs.keys() {
            command.uris.push(command_info::Uri {
                value: format!(
                    "http://{host}:{port}/v1/artifacts/template/{}/{}/{}/{name}",
                    ctx.target_config_id, prep.pod.name, task.name
                ),
                extract: Some(false),
                output_file: Some(format!("config-templates/{name}")),
                ..Default::default()
            });
        }
    }

    let health_check = task.health_check.as_ref().filter(|_| !paused).map(|hc| {
        let mut h = HealthCheck {
            command: Some(CommandInfo {
                value: Some(hc.cmd.clone()),
                environment: Some(environment.clone()),
                ..CommandInfo::default()
            }),
            delay_seconds: Some(hc.delay.as_secs_f64()),
            interval_seconds: Some(hc.interval.as_secs_f64()),
            timeout_seconds: Some(hc.timeout.as_secs_f64()),
            consecutive_failures: Some(hc.max_consecutive_failures),
            grace_period_seconds: Some(hc.grace_period.as_secs_f64()),
            ..HealthCheck::default()
        };
        h.set_type(health_check::Type::Command);
        h
    });
    let check = task.readiness_check.as_ref().filter(|_| !paused).map(|rc| {
        let mut c = CheckInfo {
            command: Some(check_info::Command {
                command: CommandInfo {
                    value: Some(rc.cmd.clone()),
                    environment: Some(environment.clone()),
                    ..CommandInfo::default()
                },
            }),
            delay_seconds: Some(rc.delay.as_secs_f64()),
            interval_seconds: Some(rc.interval.as_secs_f64()),
            timeout_seconds: Some(rc.timeout.as_secs_f64()),
            ..CheckInfo::default()
        };
        c.set_type(check_info::Type::Command);
        c
    });
    let kill_policy = task.kill_grace_period.map(|d| KillPolicy {
        grace_period: Some(DurationInfo {
            nanoseconds: i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        }),
    });

    let limits = limits_of(task.resource_limits.as_ref().or_else(|| {
        prep.pod
            .task_resources(task)
            .and_then(|rs| rs.resource_limits.as_ref())
    }));

    Ok(TaskInfo {
        name: b.name.clone(),
        task_id: b.task_id.clone(),
        agent_id: b.pool.agent_id.clone(),
        resources,
        command: Some(command),
        health_check: health_check.map(Box::new),
        check: check.map(Box::new),
        kill_policy: kill_policy.map(Box::new),
        container: task_container(prep.pod, task, !limits.is_empty()).map(Box::new),
        labels: Some(task_labels(b, paused)),
        discovery: discovery_of(b, ids).map(Box::new),
        limits,
        ..TaskInfo::default()
    })
}

fn environment_of(env: BTreeMap<String, String>, pod: &PodSpec) -> Environment {
    let mut variables: Vec<environment::Variable> = env
        .into_iter()
        .map(|(name, value)| environment::Variable {
            name,
            value: Some(value),
            ..Default::default()
        })
        .collect();
    for s in pod.secrets.values() {
        if let Some(key) = &s.env_key {
            let mut sec = Secret {
                reference: Some(secret::Reference {
                    name: s.secret.clone(),
                    key: None,
                }),
                ..Secret::default()
            };
            sec.set_type(secret::Type::Reference);
            let mut var = environment::Variable {
                name: key.clone(),
                secret: Some(Box::new(sec)),
                ..Default::default()
            };
            var.set_type(environment::variable::Type::Secret);
            variables.retain(|v| &v.name != key);
            variables.push(var);
        }
    }
    Environment { variables }
}

/// Whether the task being built is paused: its stored TaskInfo (a relaunch
/// in place) carries the [`PAUSED`](keys::PAUSED) override.
fn is_paused(b: &TaskBuild<'_>) -> bool {
    b.prep
        .req
        .existing
        .iter()
        .any(|t| t.name == b.name && keys::is_paused(t))
}

fn task_labels(b: &TaskBuild<'_>, paused: bool) -> Labels {
    let prep = b.prep;
    let facts = &b.pool.facts;
    let mut labels = vec![
        label(keys::TARGET_CONFIGURATION, b.ctx.target_config_id.clone()),
        label(keys::TASK_TYPE, prep.pod.name.clone()),
        label(keys::INDEX, prep.req.index.to_string()),
        label(keys::OFFER_HOSTNAME, b.pool.hostname.clone()),
    ];
    if !b.pool.attributes.is_empty() {
        labels.push(label(keys::OFFER_ATTRIBUTES, b.pool.attributes.clone()));
    }
    if let Some(z) = &facts.zone {
        labels.push(label(keys::OFFER_ZONE, z.clone()));
    }
    if let Some(r) = &facts.region {
        labels.push(label(keys::OFFER_REGION, r.clone()));
    }
    labels.push(label(keys::GOAL_STATE, b.task.goal.as_str()));
    if paused {
        labels.push(label(keys::GOAL_STATE_OVERRIDE, keys::PAUSED));
        labels.push(label(keys::OVERRIDE_STATUS, keys::OVERRIDE_LAUNCHED));
    }
    if !b.ports.is_empty() {
        let json = serde_json::to_string(b.ports).unwrap_or_default();
        labels.push(label(keys::PORTS, json));
    }
    for (k, v) in &b.task.labels {
        if !labels.iter().any(|l| &l.key == k) {
            labels.push(label(k, v.clone()));
        }
    }
    Labels { labels }
}

fn limits_of(limits: Option<&ResourceLimits>) -> BTreeMap<String, value::Scalar> {
    let mut out = BTreeMap::new();
    let Some(l) = limits else {
        return out;
    };
    let as_f64 = |x: ResourceLimit| match x {
        ResourceLimit::Value(v) => v,
        ResourceLimit::Unlimited => f64::INFINITY,
    };
    if let Some(c) = l.cpus {
        out.insert("cpus".to_string(), value::Scalar { value: as_f64(c) });
    }
    if let Some(m) = l.memory {
        out.insert("mem".to_string(), value::Scalar { value: as_f64(m) });
    }
    out
}

fn rlimits(pod: &PodSpec) -> Option<RLimitInfo> {
    if pod.rlimits.is_empty() {
        return None;
    }
    let rlimits = pod
        .rlimits
        .iter()
        .map(|(name, spec)| {
            let mut r = r_limit_info::RLimit {
                soft: spec.soft.and_then(|v| u64::try_from(v).ok()),
                hard: spec.hard.and_then(|v| u64::try_from(v).ok()),
                ..Default::default()
            };
            let wire = name.replacen("RLIMIT_", "RLMT_", 1);
            r.set_type(
                r_limit_info::r_limit::Type::from_str_name(&wire)
                    .unwrap_or(r_limit_info::r_limit::Type::Unknown),
            );
            r
        })
        .collect();
    Some(RLimitInfo { rlimits })
}

fn mode(m: VolumeMode) -> volume::Mode {
    match m {
        VolumeMode::Rw => volume::Mode::Rw,
        VolumeMode::Ro => volume::Mode::Ro,
    }
}

fn ipc(m: IpcMode) -> linux_info::IpcMode {
    match m {
        IpcMode::Private => linux_info::IpcMode::Private,
        IpcMode::ShareParent => linux_info::IpcMode::ShareParent,
    }
}

fn task_container(pod: &PodSpec, task: &TaskSpec, has_limits: bool) -> Option<ContainerInfo> {
    let mut c = ContainerInfo::default();
    c.set_type(container_info::Type::Mesos);
    let mut used = false;
    if let Some(img) = &pod.image {
        let mut i = Image {
            docker: Some(image::Docker {
                name: img.clone(),
                ..Default::default()
            }),
            ..Image::default()
        };
        i.set_type(image::Type::Docker);
        c.mesos = Some(container_info::MesosInfo { image: Some(i) });
        used = true;
    }
    if let Some(r) = rlimits(pod) {
        c.rlimit_info = Some(r);
        used = true;
    }
    for hv in pod.host_volumes.values() {
        let mut src = volume::Source {
            host_path: Some(volume::source::HostPath {
                path: hv.host_path.clone(),
                mount_propagation: None,
            }),
            ..Default::default()
        };
        src.set_type(volume::source::Type::HostPath);
        let mut v = Volume {
            container_path: hv.container_path.clone(),
            source: Some(src),
            ..Volume::default()
        };
        v.set_mode(mode(hv.mode));
        c.volumes.push(v);
        used = true;
    }
    // Pod volumes live in the executor's sandbox; tasks see them as their
    // parent's sandbox paths.
    for pv in &pod.volumes {
        let mut src = volume::Source {
            sandbox_path: Some(volume::source::SandboxPath {
                r#type: None,
                path: pv.path.clone(),
            }),
            ..Default::default()
        };
        if let Some(sp) = &mut src.sandbox_path {
            sp.set_type(volume::source::sandbox_path::Type::Parent);
        }
        src.set_type(volume::source::Type::SandboxPath);
        let mut v = Volume {
            container_path: pv.path.clone(),
            source: Some(src),
            ..Volume::default()
        };
        v.set_mode(volume::Mode::Rw);
        c.volumes.push(v);
        used = true;
    }
    for s in pod.secrets.values() {
        if let Some(file) = s.effective_file() {
            let mut sec = Secret {
                reference: Some(secret::Reference {
                    name: s.secret.clone(),
                    key: None,
                }),
                ..Secret::default()
            };
            sec.set_type(secret::Type::Reference);
            let mut src = volume::Source {
                secret: Some(sec),
                ..Default::default()
            };
            src.set_type(volume::source::Type::Secret);
            let mut v = Volume {
                container_path: file,
                source: Some(src),
                ..Volume::default()
            };
            v.set_mode(volume::Mode::Ro);
            c.volumes.push(v);
            used = true;
        }
    }
    let mut linux = LinuxInfo::default();
    let mut linux_used = false;
    if pod.share_pid_namespace {
        linux.share_pid_namespace = Some(true);
        linux_used = true;
    }
    if pod.seccomp_unconfined.is_some() || pod.seccomp_profile_name.is_some() {
        linux.seccomp = Some(SeccompInfo {
            profile_name: pod.seccomp_profile_name.clone(),
            unconfined: pod.seccomp_unconfined,
        });
        linux_used = true;
    }
    if let Some(m) = task.ipc_mode {
        linux.set_ipc_mode(ipc(m));
        linux_used = true;
    }
    if let Some(s) = task.shm_size {
        linux.shm_size = u32::try_from(s).ok();
        linux_used = true;
    }
    if has_limits {
        linux.share_cgroups = Some(false);
        linux_used = true;
    }
    if linux_used {
        c.linux_info = Some(linux);
        used = true;
    }
    used.then_some(c)
}

/// The DEFAULT executor's container: virtual networks and pod IPC settings.
pub(crate) fn executor_container(pod: &PodSpec) -> Option<ContainerInfo> {
    if pod.networks.is_empty() && pod.ipc_mode.is_none() && pod.shm_size.is_none() {
        return None;
    }
    let mut c = ContainerInfo::default();
    c.set_type(container_info::Type::Mesos);
    c.network_infos = pod
        .networks
        .iter()
        .map(|(name, n)| NetworkInfo {
            name: Some(name.clone()),
            labels: (!n.labels.is_empty()).then(|| Labels {
                labels: n.labels.iter().map(|(k, v)| label(k, v.clone())).collect(),
            }),
            ..NetworkInfo::default()
        })
        .collect();
    if pod.ipc_mode.is_some() || pod.shm_size.is_some() {
        let mut linux = LinuxInfo::default();
        if let Some(m) = pod.ipc_mode {
            linux.set_ipc_mode(ipc(m));
        }
        linux.shm_size = pod.shm_size.and_then(|s| u32::try_from(s).ok());
        c.linux_info = Some(linux);
    }
    Some(c)
}

fn visibility(v: Visibility) -> discovery_info::Visibility {
    match v {
        Visibility::Framework => discovery_info::Visibility::Framework,
        Visibility::Cluster => discovery_info::Visibility::Cluster,
        Visibility::External => discovery_info::Visibility::External,
    }
}

fn discovery_of<G: IdGenerator>(b: &TaskBuild<'_>, ids: &mut G) -> Option<DiscoveryInfo> {
    let prep = b.prep;
    let set = prep.pod.task_resources(b.task)?;
    let advertised: Vec<_> = set
        .ports
        .values()
        .filter(|p| p.advertise || p.vip.is_some())
        .collect();
    if b.task.discovery.is_none() && advertised.is_empty() {
        return None;
    }
    let name = match b.task.discovery.as_ref().and_then(|d| d.prefix.as_ref()) {
        Some(prefix) => format!("{prefix}-{}", prep.req.index),
        None => b.name.clone(),
    };
    let ports = advertised
        .iter()
        .filter_map(|p| {
            let number = u32::try_from(*b.ports.get(&p.name)?).ok()?;
            let mut port = Port {
                number,
                name: Some(p.name.clone()),
                protocol: Some("tcp".to_string()),
                ..Port::default()
            };
            port.set_visibility(if p.advertise {
                discovery_info::Visibility::External
            } else {
                discovery_info::Visibility::Cluster
            });
            if let Some(vip) = &p.vip {
                let prefix = vip.prefix.clone().unwrap_or_else(|| p.name.clone());
                port.labels = Some(Labels {
                    labels: vec![label(
                        &format!("VIP_{}", ids.next_uuid()),
                        format!("{prefix}:{}", vip.port),
                    )],
                });
            }
            Some(port)
        })
        .collect::<Vec<_>>();
    let mut d = DiscoveryInfo {
        name: Some(name),
        ports: (!ports.is_empty()).then_some(Ports { ports }),
        ..DiscoveryInfo::default()
    };
    d.set_visibility(
        b.task
            .discovery
            .as_ref()
            .and_then(|x| x.visibility)
            .map_or(discovery_info::Visibility::Cluster, visibility),
    );
    Some(d)
}
