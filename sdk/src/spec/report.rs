//! A JSON-ready description of a resolved spec: effective defaults, resources per
//! task (a task using a resource set shows the set's), plans with step names. This
//! is what `plinth spec render` prints; its shape follows the `*.expect.json` files
//! of the dcos-commons spec corpus.

use std::collections::BTreeMap;

use indexmap::IndexMap;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::loader::LoadedSpec;
use super::model::{
    PodSpec, PortSpec, ResourceLimit, ResourceLimits, ResourceSetSpec, ServiceSpec, TaskResources,
    TaskSpec, VolumeSpec,
};
use super::plans::{PlanRole, PlanSource};
use crate::template::Env;

/// The whole report.
#[derive(Debug, Serialize)]
pub struct SpecReport {
    /// Always true for a report (the spec rendered).
    pub renders: bool,
    /// Service-level facts.
    pub service: ServiceReport,
    /// Pods in YAML order.
    pub pods: Vec<PodReport>,
    /// Plans (generated deploy first when there is no YAML deploy).
    pub plans: Vec<PlanReport>,
    /// Step names of the deploy plan, flattened.
    pub default_deploy_steps: Vec<String>,
    /// Feature names used.
    pub uses_features: Vec<&'static str>,
    /// The env the spec was rendered with.
    pub env: BTreeMap<String, String>,
    /// Variables mentioned but not set.
    pub env_unset_vars: Vec<String>,
    /// SHA-256 of the rendered YAML.
    pub rendered_sha256: String,
    /// "not supported yet" findings.
    pub unsupported: Vec<String>,
    /// Warnings.
    pub warnings: Vec<String>,
}

/// Service facts with defaults applied.
#[derive(Debug, Serialize)]
pub struct ServiceReport {
    name: String,
    principal: String,
    principal_raw: Option<String>,
    user: String,
    user_explicit: bool,
    zookeeper: String,
    role: String,
    pre_reserved_roles: Vec<String>,
    web_url: Option<String>,
}

#[derive(Debug, Serialize)]
struct VolumeReport {
    path: String,
    #[serde(rename = "type")]
    kind: &'static str,
    size: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    profiles: Vec<String>,
}

#[derive(Debug, Serialize)]
struct RangeReport {
    begin: u16,
    end: u16,
}

#[derive(Debug, Serialize)]
struct VipReport {
    port: u16,
    prefix: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    protocol: Option<String>,
}

#[derive(Debug, Serialize)]
struct PortReport {
    port: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    env_key: Option<String>,
    advertise: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    vip: Option<VipReport>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ranges: Vec<RangeReport>,
}

#[derive(Debug, Serialize)]
struct ResourceSetReport {
    id: String,
    explicit: bool,
    cpus: Option<f64>,
    gpus: Option<f64>,
    memory: Option<u64>,
    ports: IndexMap<String, u16>,
    port_details: IndexMap<String, PortReport>,
    volumes: Vec<VolumeReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_limits: Option<LimitsReport>,
}

#[derive(Debug, Serialize)]
struct LimitsReport {
    cpus: Option<serde_json::Value>,
    memory: Option<serde_json::Value>,
}

/// One pod type.
#[derive(Debug, Serialize)]
pub struct PodReport {
    #[serde(rename = "type")]
    kind: String,
    count: u32,
    placement: Option<String>,
    placement_noop: bool,
    placement_rows: Option<Vec<Vec<String>>>,
    image: Option<String>,
    pre_reserved_role: String,
    allow_decommission: bool,
    share_pid_namespace: bool,
    uris: Vec<String>,
    networks: IndexMap<String, serde_json::Value>,
    rlimits: IndexMap<String, serde_json::Value>,
    volumes: Vec<VolumeReport>,
    secrets: Vec<serde_json::Value>,
    host_volumes: Vec<serde_json::Value>,
    external_volumes: Vec<serde_json::Value>,
    seccomp_unconfined: Option<bool>,
    seccomp_profile_name: Option<String>,
    ipc_mode: Option<&'static str>,
    shm_size: Option<u64>,
    resource_sets: Vec<ResourceSetReport>,
    ignored_keys: Vec<String>,
    tasks: Vec<TaskReport>,
}

#[derive(Debug, Serialize)]
struct HealthReport {
    interval: u64,
    delay: u64,
    timeout: u64,
    grace_period: u64,
    max_consecutive_failures: u32,
    cmd_prefix: String,
}

#[derive(Debug, Serialize)]
struct ReadinessReport {
    interval: u64,
    delay: u64,
    timeout: u64,
    cmd_prefix: String,
}

#[derive(Debug, Serialize)]
struct TaskReport {
    name: String,
    goal: &'static str,
    essential: bool,
    cmd: Option<String>,
    cmd_len: usize,
    cmd_sha256: Option<String>,
    cpus: Option<f64>,
    gpus: Option<f64>,
    memory: Option<u64>,
    ports: IndexMap<String, u16>,
    port_details: IndexMap<String, PortReport>,
    volumes: Vec<VolumeReport>,
    resource_set: String,
    resource_set_explicit: bool,
    readiness_check: bool,
    health_check: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    health_check_params: Option<HealthReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    readiness_check_params: Option<ReadinessReport>,
    env: IndexMap<String, String>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    labels: IndexMap<String, String>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    configs: IndexMap<String, serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    discovery: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kill_grace_period: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    transport_encryption: Vec<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_limits: Option<LimitsReport>,
}

/// One plan.
#[derive(Debug, Serialize)]
pub struct PlanReport {
    name: String,
    source: &'static str,
    role: &'static str,
    strategy: &'static str,
    strategy_explicit: bool,
    phases: Vec<PhaseReport>,
}

#[derive(Debug, Serialize)]
struct PhaseReport {
    name: String,
    pod: String,
    strategy: &'static str,
    strategy_explicit: bool,
    step_generation: &'static str,
    steps: Vec<String>,
    step_details: Vec<StepReport>,
}

#[derive(Debug, Serialize)]
struct StepReport {
    name: String,
    pod_instance: String,
    tasks: Vec<String>,
}

fn prefix(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

fn sha256(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn volumes(v: &[VolumeSpec]) -> Vec<VolumeReport> {
    v.iter()
        .map(|v| VolumeReport {
            path: v.path.clone(),
            kind: v.kind.as_str(),
            size: v.size_mb,
            profiles: v.profiles.clone(),
        })
        .collect()
}

fn port(p: &PortSpec) -> PortReport {
    PortReport {
        port: p.port,
        env_key: p.env_key.clone(),
        advertise: p.advertise,
        vip: p.vip.as_ref().map(|v| VipReport {
            port: v.port,
            prefix: v.prefix.clone().unwrap_or_else(|| p.name.clone()),
            protocol: v.protocol.clone(),
        }),
        ranges: p
            .ranges
            .iter()
            .map(|r| {
                let (begin, end) = r.effective();
                RangeReport { begin, end }
            })
            .collect(),
    }
}

fn limits(l: &ResourceLimits) -> LimitsReport {
    let one = |v: Option<ResourceLimit>| {
        v.map(|v| match v {
            ResourceLimit::Unlimited => serde_json::Value::from("unlimited"),
            ResourceLimit::Value(f) => serde_json::Value::from(f),
        })
    };
    LimitsReport {
        cpus: one(l.cpus),
        memory: one(l.memory),
    }
}

fn resource_set(rs: &ResourceSetSpec, explicit: bool) -> ResourceSetReport {
    ResourceSetReport {
        id: rs.id.clone(),
        explicit,
        cpus: rs.cpus,
        gpus: rs.gpus,
        memory: rs.memory,
        ports: rs.ports.iter().map(|(k, p)| (k.clone(), p.port)).collect(),
        port_details: rs.ports.iter().map(|(k, p)| (k.clone(), port(p))).collect(),
        volumes: volumes(&rs.volumes),
        resource_limits: rs.resource_limits.as_ref().map(limits),
    }
}

fn task(pod: &PodSpec, t: &TaskSpec) -> TaskReport {
    let empty = ResourceSetSpec::new(t.resources.id());
    let rs = pod.task_resources(t).unwrap_or(&empty);
    TaskReport {
        name: t.name.clone(),
        goal: t.goal.as_str(),
        essential: t.essential,
        cmd: t.cmd.as_deref().map(|c| prefix(c, 60)),
        cmd_len: t.cmd.as_deref().map_or(0, |c| c.encode_utf16().count()),
        cmd_sha256: t.cmd.as_deref().map(sha256),
        cpus: rs.cpus,
        gpus: rs.gpus,
        memory: rs.memory,
        ports: rs.ports.iter().map(|(k, p)| (k.clone(), p.port)).collect(),
        port_details: rs.ports.iter().map(|(k, p)| (k.clone(), port(p))).collect(),
        volumes: volumes(&rs.volumes),
        resource_set: t.resources.id().to_string(),
        resource_set_explicit: matches!(t.resources, TaskResources::Shared(_)),
        readiness_check: t.readiness_check.is_some(),
        health_check: t.health_check.is_some(),
        health_check_params: t.health_check.as_ref().map(|h| HealthReport {
            interval: h.interval.as_secs(),
            delay: h.delay.as_secs(),
            timeout: h.timeout.as_secs(),
            grace_period: h.grace_period.as_secs(),
            max_consecutive_failures: h.max_consecutive_failures,
            cmd_prefix: prefix(&h.cmd, 60),
        }),
        readiness_check_params: t.readiness_check.as_ref().map(|r| ReadinessReport {
            interval: r.interval.as_secs(),
            delay: r.delay.as_secs(),
            timeout: r.timeout.as_secs(),
            cmd_prefix: prefix(&r.cmd, 60),
        }),
        env: t.env.clone(),
        labels: t.labels.clone(),
        configs: t
            .configs
            .iter()
            .map(|(k, c)| {
                (
                    k.clone(),
                    serde_json::json!({"template": c.template, "dest": c.dest}),
                )
            })
            .collect(),
        discovery: t.discovery.as_ref().map(|d| {
            serde_json::json!({"prefix": d.prefix, "visibility": d.visibility.map(|v| v.as_str())})
        }),
        kill_grace_period: t.kill_grace_period.map(|d| d.as_secs()),
        transport_encryption: t
            .transport_encryption
            .iter()
            .map(|e| serde_json::json!({"name": e.name, "type": e.kind.as_str()}))
            .collect(),
        resource_limits: t.resource_limits.as_ref().map(limits),
    }
}

fn pod(p: &PodSpec) -> PodReport {
    let constraint = p
        .placement
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty() && *s != "[]");
    PodReport {
        kind: p.name.clone(),
        count: p.count,
        placement: p.placement.clone(),
        placement_noop: constraint.is_none(),
        placement_rows: constraint.map(crate::placement::split_rows),
        image: p.image.clone(),
        pre_reserved_role: p.pre_reserved_role().to_string(),
        allow_decommission: p.allow_decommission,
        share_pid_namespace: p.share_pid_namespace,
        uris: p.uris.clone(),
        networks: p
            .networks
            .iter()
            .map(|(k, n)| {
                (
                    k.clone(),
                    serde_json::json!({"host_ports": n.host_ports, "container_ports": n.container_ports, "labels": n.labels}),
                )
            })
            .collect(),
        rlimits: p
            .rlimits
            .iter()
            .map(|(k, r)| (k.clone(), serde_json::json!({"soft": r.soft, "hard": r.hard})))
            .collect(),
        volumes: volumes(&p.volumes),
        secrets: p
            .secrets
            .iter()
            .map(|(k, s)| {
                serde_json::json!({"name": k, "secret": s.secret, "env_key": s.env_key, "file": s.effective_file()})
            })
            .collect(),
        host_volumes: p
            .host_volumes
            .iter()
            .map(|(k, h)| {
                serde_json::json!({"name": k, "host_path": h.host_path, "container_path": h.container_path, "mode": h.mode.as_str()})
            })
            .collect(),
        external_volumes: p
            .external_volumes
            .iter()
            .map(|(k, e)| {
                serde_json::json!({"name": k, "type": e.kind, "volume_name": e.volume_name, "volume_mode": e.volume_mode.as_str(), "driver_name": e.driver_name, "driver_options": e.driver_options, "container_path": e.container_path})
            })
            .collect(),
        seccomp_unconfined: p.seccomp_unconfined,
        seccomp_profile_name: p.seccomp_profile_name.clone(),
        ipc_mode: p.ipc_mode.map(|m| m.as_str()),
        shm_size: p.shm_size,
        resource_sets: p.resource_sets.iter().map(|rs| resource_set(rs, true)).collect(),
        ignored_keys: p.ignored_keys.clone(),
        tasks: p.tasks.iter().map(|t| task(p, t)).collect(),
    }
}

fn plans(spec: &ServiceSpec) -> Vec<PlanReport> {
    spec.resolved_plans()
        .into_iter()
        .map(|p| PlanReport {
            name: p.name,
            source: match p.source {
                PlanSource::Yaml => "yaml",
                PlanSource::Generated => "generated",
            },
            role: match p.role {
                PlanRole::Deploy => "deploy",
                PlanRole::Update => "update",
                PlanRole::Custom => "custom",
            },
            strategy: p.strategy.as_str(),
            strategy_explicit: p.strategy_explicit,
            phases: p
                .phases
                .into_iter()
                .map(|ph| PhaseReport {
                    steps: ph.steps.iter().map(|s| s.name()).collect(),
                    step_details: ph
                        .steps
                        .iter()
                        .map(|s| StepReport {
                            name: s.name(),
                            pod_instance: s.pod_instance(),
                            tasks: s.tasks.clone(),
                        })
                        .collect(),
                    name: ph.name,
                    pod: ph.pod,
                    strategy: ph.strategy.as_str(),
                    strategy_explicit: ph.strategy_explicit,
                    step_generation: ph.step_generation.as_str(),
                })
                .collect(),
        })
        .collect()
}

/// Describes a loaded spec rendered with `env`.
pub fn describe(loaded: &LoadedSpec, env: &Env) -> SpecReport {
    let spec = &loaded.spec;
    SpecReport {
        renders: true,
        service: ServiceReport {
            name: spec.name.clone(),
            principal: spec.principal(),
            principal_raw: spec.scheduler.principal.clone().filter(|p| !p.is_empty()),
            user: spec.user(),
            user_explicit: spec
                .scheduler
                .user
                .as_deref()
                .is_some_and(|u| !u.is_empty()),
            zookeeper: spec.zookeeper(),
            role: spec.role(),
            pre_reserved_roles: spec.pre_reserved_roles(),
            web_url: spec.web_url.clone(),
        },
        pods: spec.pods.iter().map(pod).collect(),
        plans: plans(spec),
        default_deploy_steps: spec.deploy_step_names(),
        uses_features: super::features::uses_features(spec),
        env: env.clone(),
        env_unset_vars: loaded.env_unset_vars.clone(),
        rendered_sha256: loaded.rendered_sha256(),
        unsupported: loaded
            .unsupported
            .iter()
            .chain(&loaded.template_problems)
            .map(ToString::to_string)
            .collect(),
        warnings: loaded.warnings.iter().map(ToString::to_string).collect(),
    }
}
