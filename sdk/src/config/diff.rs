//! What changed between two [`ServiceSpec`]s, pod by pod and field by field,
//! and whether each change restarts the pod.

use std::fmt::Write as _;

use indexmap::IndexMap;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::spec::{
    ConfigSpec, HealthCheckSpec, PodSpec, PortSpec, ReadinessCheckSpec, ResourceLimit,
    ResourceLimits, ResourceSetSpec, ServiceSpec, TaskResources, TaskSpec, VolumeSpec,
};

/// The kind of a change, as an operator groups them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    /// Service name.
    Name,
    /// The Unix user of every task.
    User,
    /// The Mesos principal.
    Principal,
    /// `web-url`, `scheduler.zookeeper`.
    Scheduler,
    /// YAML plans.
    Plans,
    /// Number of instances.
    Count,
    /// Placement constraint.
    Placement,
    /// `allow-decommission`.
    AllowDecommission,
    /// `pre-reserved-role`.
    PreReservedRole,
    /// Container image.
    Image,
    /// Virtual networks.
    Networks,
    /// rlimits.
    Rlimits,
    /// URIs fetched into the sandbox.
    Uris,
    /// Persistent volumes (pod or task).
    Volumes,
    /// Secrets.
    Secrets,
    /// Host and external (docker) volumes.
    HostVolumes,
    /// PID/IPC namespaces, shm, seccomp.
    Isolation,
    /// A task added to or removed from the pod.
    Tasks,
    /// A task's goal state.
    Goal,
    /// A task's `essential` flag.
    Essential,
    /// A task's command.
    Cmd,
    /// A task's environment.
    Env,
    /// A task's Mesos labels.
    Labels,
    /// A config template (path, destination or content).
    ConfigTemplate,
    /// CPUs, GPUs, memory, or the resource set a task uses.
    Resources,
    /// Ports.
    Ports,
    /// Resource limits.
    ResourceLimits,
    /// Health check.
    HealthCheck,
    /// Readiness check.
    ReadinessCheck,
    /// DNS discovery.
    Discovery,
    /// Kill grace period.
    KillGracePeriod,
    /// TLS artifacts.
    TransportEncryption,
}

impl ChangeKind {
    /// The kebab-case name (`config-template`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Name => "name",
            ChangeKind::User => "user",
            ChangeKind::Principal => "principal",
            ChangeKind::Scheduler => "scheduler",
            ChangeKind::Plans => "plans",
            ChangeKind::Count => "count",
            ChangeKind::Placement => "placement",
            ChangeKind::AllowDecommission => "allow-decommission",
            ChangeKind::PreReservedRole => "pre-reserved-role",
            ChangeKind::Image => "image",
            ChangeKind::Networks => "networks",
            ChangeKind::Rlimits => "rlimits",
            ChangeKind::Uris => "uris",
            ChangeKind::Volumes => "volumes",
            ChangeKind::Secrets => "secrets",
            ChangeKind::HostVolumes => "host-volumes",
            ChangeKind::Isolation => "isolation",
            ChangeKind::Tasks => "tasks",
            ChangeKind::Goal => "goal",
            ChangeKind::Essential => "essential",
            ChangeKind::Cmd => "cmd",
            ChangeKind::Env => "env",
            ChangeKind::Labels => "labels",
            ChangeKind::ConfigTemplate => "config-template",
            ChangeKind::Resources => "resources",
            ChangeKind::Ports => "ports",
            ChangeKind::ResourceLimits => "resource-limits",
            ChangeKind::HealthCheck => "health-check",
            ChangeKind::ReadinessCheck => "readiness-check",
            ChangeKind::Discovery => "discovery",
            ChangeKind::KillGracePeriod => "kill-grace-period",
            ChangeKind::TransportEncryption => "transport-encryption",
        }
    }

    /// Whether a pod whose spec changed this way must be relaunched.
    ///
    /// As in dcos-commons (`DefaultConfigurationUpdater`), a pod that is equal
    /// ignoring its count, placement, `allow-decommission` and role is not
    /// restarted: its tasks are only relabelled with the new target config.
    /// Service-level settings that do not reach the tasks (principal,
    /// scheduler settings, YAML plans) restart nothing either.
    #[must_use]
    pub fn restarts(self) -> bool {
        !matches!(
            self,
            ChangeKind::Name
                | ChangeKind::Principal
                | ChangeKind::Scheduler
                | ChangeKind::Plans
                | ChangeKind::Count
                | ChangeKind::Placement
                | ChangeKind::AllowDecommission
                | ChangeKind::PreReservedRole
        )
    }
}

impl std::fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One changed value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// What kind of change.
    pub kind: ChangeKind,
    /// Key path relative to the pod (`tasks.server.env.SLEEP_DURATION`), or
    /// to the service for service-level changes (`scheduler.user`).
    pub path: String,
    /// Value before (`None`: absent).
    pub old: Option<String>,
    /// Value after (`None`: absent).
    pub new: Option<String>,
}

impl Change {
    fn new(
        kind: ChangeKind,
        path: impl Into<String>,
        old: Option<String>,
        new: Option<String>,
    ) -> Self {
        Change {
            kind,
            path: path.into(),
            old,
            new,
        }
    }
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".to_owned());
        write!(
            f,
            "{}: {} -> {}",
            self.path,
            show(&self.old),
            show(&self.new)
        )
    }
}

/// How a pod type fares in a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PodStatus {
    /// Only in the new spec.
    Added,
    /// Only in the old spec.
    Removed,
    /// In both, with changes.
    Changed,
    /// In both, equal.
    Unchanged,
}

/// The changes of one pod type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PodDiff {
    /// Pod type.
    pub pod: String,
    /// Added, removed, changed or unchanged.
    pub status: PodStatus,
    /// Instances before (`None`: pod type absent).
    pub old_count: Option<u32>,
    /// Instances after (`None`: pod type absent).
    pub new_count: Option<u32>,
    /// Every change, in spec order (empty unless `Changed`).
    pub changes: Vec<Change>,
}

impl PodDiff {
    /// Whether the pod's existing instances must be relaunched: it exists in
    /// both specs and some change is not one of count, placement,
    /// `allow-decommission` or role.
    #[must_use]
    pub fn needs_restart(&self) -> bool {
        self.status == PodStatus::Changed && self.changes.iter().any(|c| c.kind.restarts())
    }

    /// Changes that restart the pod.
    pub fn restart_changes(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| c.kind.restarts())
    }
}

/// Everything that differs between two specs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigDiff {
    /// Service-level changes (name, user, principal, scheduler, plans).
    pub service: Vec<Change>,
    /// Every pod type: the new spec's in order, then the removed ones in the
    /// old spec's order.
    pub pods: Vec<PodDiff>,
}

impl ConfigDiff {
    /// True when nothing changed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.service.is_empty() && self.pods.iter().all(|p| p.status == PodStatus::Unchanged)
    }

    /// The diff of pod type `pod`.
    #[must_use]
    pub fn pod(&self, pod: &str) -> Option<&PodDiff> {
        self.pods.iter().find(|p| p.pod == pod)
    }

    /// Pod types whose existing instances must be relaunched, in new-spec order.
    #[must_use]
    pub fn restarted_pods(&self) -> Vec<&str> {
        self.pods
            .iter()
            .filter(|p| p.needs_restart())
            .map(|p| p.pod.as_str())
            .collect()
    }

    /// Pod types present in both specs whose running tasks stay as they are
    /// (their TaskInfos only need the new `target_configuration` label).
    #[must_use]
    pub fn kept_pods(&self) -> Vec<&str> {
        self.pods
            .iter()
            .filter(|p| {
                matches!(p.status, PodStatus::Changed | PodStatus::Unchanged) && !p.needs_restart()
            })
            .map(|p| p.pod.as_str())
            .collect()
    }
}

/// Compares `old` with `new`.
///
/// Pure and total: any two specs give a diff. A user change is reported at
/// service level and on every pod present in both specs (it is the user of
/// their tasks). Config template contents are compared only when both specs
/// carry them (a stored target config keeps paths, not contents).
#[must_use]
pub fn diff(old: &ServiceSpec, new: &ServiceSpec) -> ConfigDiff {
    let mut service = Vec::new();
    if old.name != new.name {
        service.push(Change::new(
            ChangeKind::Name,
            "name",
            Some(old.name.clone()),
            Some(new.name.clone()),
        ));
    }
    let user_changed = old.user() != new.user();
    if user_changed {
        service.push(Change::new(
            ChangeKind::User,
            "scheduler.user",
            Some(old.user()),
            Some(new.user()),
        ));
    }
    if old.principal() != new.principal() {
        service.push(Change::new(
            ChangeKind::Principal,
            "scheduler.principal",
            Some(old.principal()),
            Some(new.principal()),
        ));
    }
    if old.zookeeper() != new.zookeeper() {
        service.push(Change::new(
            ChangeKind::Scheduler,
            "scheduler.zookeeper",
            Some(old.zookeeper()),
            Some(new.zookeeper()),
        ));
    }
    if old.web_url != new.web_url {
        service.push(Change::new(
            ChangeKind::Scheduler,
            "web-url",
            old.web_url.clone(),
            new.web_url.clone(),
        ));
    }
    if old.plans != new.plans {
        let names = |s: &ServiceSpec| {
            Some(
                s.plans
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        };
        service.push(Change::new(
            ChangeKind::Plans,
            "plans",
            names(old),
            names(new),
        ));
    }

    let mut pods = Vec::new();
    for new_pod in &new.pods {
        match old.pod(&new_pod.name) {
            None => pods.push(PodDiff {
                pod: new_pod.name.clone(),
                status: PodStatus::Added,
                old_count: None,
                new_count: Some(new_pod.count),
                changes: Vec::new(),
            }),
            Some(old_pod) => {
                let mut changes = Vec::new();
                if user_changed {
                    changes.push(Change::new(
                        ChangeKind::User,
                        "user",
                        Some(old.user()),
                        Some(new.user()),
                    ));
                }
                pod_changes(old_pod, new_pod, &mut changes);
                pods.push(PodDiff {
                    pod: new_pod.name.clone(),
                    status: if changes.is_empty() {
                        PodStatus::Unchanged
                    } else {
                        PodStatus::Changed
                    },
                    old_count: Some(old_pod.count),
                    new_count: Some(new_pod.count),
                    changes,
                });
            }
        }
    }
    for old_pod in &old.pods {
        if new.pod(&old_pod.name).is_none() {
            pods.push(PodDiff {
                pod: old_pod.name.clone(),
                status: PodStatus::Removed,
                old_count: Some(old_pod.count),
                new_count: None,
                changes: Vec::new(),
            });
        }
    }
    ConfigDiff { service, pods }
}

// === value rendering ===

fn num(v: f64) -> String {
    format!("{v}")
}

fn opt<T>(v: Option<T>, f: impl Fn(T) -> String) -> Option<String> {
    v.map(f)
}

fn volume_text(v: &VolumeSpec) -> String {
    let mut s = format!("{} {} {}MB", v.path, v.kind.as_str(), v.size_mb);
    if !v.profiles.is_empty() {
        let _ = write!(s, " profiles [{}]", v.profiles.join(", "));
    }
    s
}

fn volumes_text(vs: &[VolumeSpec]) -> Option<String> {
    if vs.is_empty() {
        None
    } else {
        Some(vs.iter().map(volume_text).collect::<Vec<_>>().join("; "))
    }
}

fn port_text(p: &PortSpec) -> String {
    let mut s = if p.port == 0 {
        "dynamic".to_owned()
    } else {
        p.port.to_string()
    };
    if let Some(k) = &p.env_key {
        let _ = write!(s, " env-key {k}");
    }
    if p.advertise {
        s.push_str(" advertised");
    }
    if let Some(vip) = &p.vip {
        let prefix = vip.prefix.clone().unwrap_or_else(|| p.name.clone());
        let _ = write!(s, " vip {prefix}:{}", vip.port);
        if let Some(proto) = &vip.protocol {
            let _ = write!(s, "/{proto}");
        }
    }
    if !p.ranges.is_empty() {
        let ranges: Vec<String> = p
            .ranges
            .iter()
            .map(|r| {
                let (b, e) = r.effective();
                format!("{b}-{e}")
            })
            .collect();
        let _ = write!(s, " ranges {}", ranges.join(","));
    }
    s
}

fn limit_text(l: ResourceLimit) -> String {
    match l {
        ResourceLimit::Value(v) => num(v),
        ResourceLimit::Unlimited => "unlimited".to_owned(),
    }
}

fn limits_text(l: Option<&ResourceLimits>) -> Option<String> {
    let l = l?;
    if l.cpus.is_none() && l.memory.is_none() {
        return None;
    }
    let mut parts = Vec::new();
    if let Some(c) = l.cpus {
        parts.push(format!("cpus {}", limit_text(c)));
    }
    if let Some(m) = l.memory {
        parts.push(format!("memory {}", limit_text(m)));
    }
    Some(parts.join(", "))
}

fn secs(d: std::time::Duration) -> String {
    format!("{}s", d.as_secs_f64())
}

fn health_text(h: &HealthCheckSpec) -> String {
    format!(
        "cmd {:?}, interval {}, grace-period {}, delay {}, timeout {}, max-consecutive-failures {}",
        h.cmd,
        secs(h.interval),
        secs(h.grace_period),
        secs(h.delay),
        secs(h.timeout),
        h.max_consecutive_failures
    )
}

fn readiness_text(r: &ReadinessCheckSpec) -> String {
    format!(
        "cmd {:?}, interval {}, delay {}, timeout {}",
        r.cmd,
        secs(r.interval),
        secs(r.delay),
        secs(r.timeout)
    )
}

fn content_text(c: &str) -> String {
    let digest = Sha256::digest(c.as_bytes());
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("{} lines, sha256 {hex}", c.lines().count())
}

// === comparison helpers ===

struct Out<'a> {
    changes: &'a mut Vec<Change>,
}

impl Out<'_> {
    fn value(&mut self, kind: ChangeKind, path: String, old: Option<String>, new: Option<String>) {
        if old != new {
            self.changes.push(Change::new(kind, path, old, new));
        }
    }

    /// Per-key comparison of two ordered maps, rendered by `text`.
    fn map<V: PartialEq>(
        &mut self,
        kind: ChangeKind,
        prefix: &str,
        old: &IndexMap<String, V>,
        new: &IndexMap<String, V>,
        text: impl Fn(&V) -> String,
    ) {
        for (k, nv) in new {
            let ov = old.get(k);
            if ov != Some(nv) {
                self.changes.push(Change::new(
                    kind,
                    format!("{prefix}.{k}"),
                    ov.map(&text),
                    Some(text(nv)),
                ));
            }
        }
        for (k, ov) in old {
            if !new.contains_key(k) {
                self.changes.push(Change::new(
                    kind,
                    format!("{prefix}.{k}"),
                    Some(text(ov)),
                    None,
                ));
            }
        }
    }
}

fn pod_changes(old: &PodSpec, new: &PodSpec, changes: &mut Vec<Change>) {
    let mut out = Out { changes };
    out.value(
        ChangeKind::Count,
        "count".into(),
        Some(old.count.to_string()),
        Some(new.count.to_string()),
    );
    out.value(
        ChangeKind::Placement,
        "placement".into(),
        old.placement.clone(),
        new.placement.clone(),
    );
    out.value(
        ChangeKind::AllowDecommission,
        "allow-decommission".into(),
        Some(old.allow_decommission.to_string()),
        Some(new.allow_decommission.to_string()),
    );
    out.value(
        ChangeKind::PreReservedRole,
        "pre-reserved-role".into(),
        Some(old.pre_reserved_role().to_owned()),
        Some(new.pre_reserved_role().to_owned()),
    );
    out.value(
        ChangeKind::Image,
        "image".into(),
        old.image.clone(),
        new.image.clone(),
    );
    out.map(
        ChangeKind::Networks,
        "networks",
        &old.networks,
        &new.networks,
        |n| {
            let mut s = format!(
                "host-ports {:?} container-ports {:?}",
                n.host_ports, n.container_ports
            );
            if !n.labels.is_empty() {
                let labels: Vec<String> =
                    n.labels.iter().map(|(k, v)| format!("{k}:{v}")).collect();
                let _ = write!(s, " labels {}", labels.join(","));
            }
            s
        },
    );
    out.map(
        ChangeKind::Rlimits,
        "rlimits",
        &old.rlimits,
        &new.rlimits,
        |r| {
            let v = |x: Option<i64>| x.map_or_else(|| "-".to_owned(), |x| x.to_string());
            format!("soft {} hard {}", v(r.soft), v(r.hard))
        },
    );
    let uris = |u: &[String]| {
        if u.is_empty() {
            None
        } else {
            Some(u.join(", "))
        }
    };
    out.value(
        ChangeKind::Uris,
        "uris".into(),
        uris(&old.uris),
        uris(&new.uris),
    );
    out.value(
        ChangeKind::Volumes,
        "volumes".into(),
        volumes_text(&old.volumes),
        volumes_text(&new.volumes),
    );
    out.map(
        ChangeKind::Secrets,
        "secrets",
        &old.secrets,
        &new.secrets,
        |s| {
            format!(
                "{} env-key {} file {}",
                s.secret,
                s.env_key.as_deref().unwrap_or("-"),
                s.effective_file().as_deref().unwrap_or("-")
            )
        },
    );
    out.map(
        ChangeKind::HostVolumes,
        "host-volumes",
        &old.host_volumes,
        &new.host_volumes,
        |h| {
            format!(
                "{} -> {} {}",
                h.host_path,
                h.container_path,
                h.mode.as_str()
            )
        },
    );
    out.map(
        ChangeKind::HostVolumes,
        "external-volumes",
        &old.external_volumes,
        &new.external_volumes,
        |e| {
            format!(
                "{} {} {} driver {} options {} -> {}",
                e.kind,
                e.volume_name.as_deref().unwrap_or("(default name)"),
                e.volume_mode.as_str(),
                e.driver_name.as_deref().unwrap_or("-"),
                e.driver_options.as_deref().unwrap_or("-"),
                e.container_path
            )
        },
    );
    out.value(
        ChangeKind::Isolation,
        "share-pid-namespace".into(),
        Some(old.share_pid_namespace.to_string()),
        Some(new.share_pid_namespace.to_string()),
    );
    out.value(
        ChangeKind::Isolation,
        "seccomp-unconfined".into(),
        old.seccomp_unconfined.map(|b| b.to_string()),
        new.seccomp_unconfined.map(|b| b.to_string()),
    );
    out.value(
        ChangeKind::Isolation,
        "seccomp-profile-name".into(),
        old.seccomp_profile_name.clone(),
        new.seccomp_profile_name.clone(),
    );
    out.value(
        ChangeKind::Isolation,
        "ipc-mode".into(),
        old.ipc_mode.map(|m| m.as_str().to_owned()),
        new.ipc_mode.map(|m| m.as_str().to_owned()),
    );
    out.value(
        ChangeKind::Isolation,
        "shm-size".into(),
        old.shm_size.map(|s| s.to_string()),
        new.shm_size.map(|s| s.to_string()),
    );
    for new_rs in &new.resource_sets {
        let path = format!("resource-sets.{}", new_rs.id);
        match old.resource_set(&new_rs.id) {
            Some(old_rs) => resource_set_changes(&mut out, &path, old_rs, new_rs),
            None => out.value(ChangeKind::Resources, path, None, Some("added".into())),
        }
    }
    for old_rs in &old.resource_sets {
        if new.resource_set(&old_rs.id).is_none() {
            out.value(
                ChangeKind::Resources,
                format!("resource-sets.{}", old_rs.id),
                Some("declared".into()),
                None,
            );
        }
    }
    for new_task in &new.tasks {
        let path = format!("tasks.{}", new_task.name);
        match old.task(&new_task.name) {
            Some(old_task) => task_changes(&mut out, &path, old_task, new_task),
            None => out.value(ChangeKind::Tasks, path, None, Some("added".into())),
        }
    }
    for old_task in &old.tasks {
        if new.task(&old_task.name).is_none() {
            out.value(
                ChangeKind::Tasks,
                format!("tasks.{}", old_task.name),
                Some("present".into()),
                None,
            );
        }
    }
}

fn resource_set_changes(
    out: &mut Out<'_>,
    path: &str,
    old: &ResourceSetSpec,
    new: &ResourceSetSpec,
) {
    out.value(
        ChangeKind::Resources,
        format!("{path}.cpus"),
        opt(old.cpus, num),
        opt(new.cpus, num),
    );
    out.value(
        ChangeKind::Resources,
        format!("{path}.gpus"),
        opt(old.gpus, num),
        opt(new.gpus, num),
    );
    out.value(
        ChangeKind::Resources,
        format!("{path}.memory"),
        opt(old.memory, |m| m.to_string()),
        opt(new.memory, |m| m.to_string()),
    );
    out.map(
        ChangeKind::Ports,
        &format!("{path}.ports"),
        &old.ports,
        &new.ports,
        port_text,
    );
    out.value(
        ChangeKind::Volumes,
        format!("{path}.volumes"),
        volumes_text(&old.volumes),
        volumes_text(&new.volumes),
    );
    out.value(
        ChangeKind::ResourceLimits,
        format!("{path}.resource-limits"),
        limits_text(old.resource_limits.as_ref()),
        limits_text(new.resource_limits.as_ref()),
    );
}

fn config_changes(
    out: &mut Out<'_>,
    path: &str,
    old: &IndexMap<String, ConfigSpec>,
    new: &IndexMap<String, ConfigSpec>,
) {
    for (name, nc) in new {
        let p = format!("{path}.{name}");
        let Some(oc) = old.get(name) else {
            out.value(
                ChangeKind::ConfigTemplate,
                p,
                None,
                Some(format!("{} -> {}", nc.template, nc.dest)),
            );
            continue;
        };
        out.value(
            ChangeKind::ConfigTemplate,
            format!("{p}.template"),
            Some(oc.template.clone()),
            Some(nc.template.clone()),
        );
        out.value(
            ChangeKind::ConfigTemplate,
            format!("{p}.dest"),
            Some(oc.dest.clone()),
            Some(nc.dest.clone()),
        );
        if let (Some(a), Some(b)) = (&oc.content, &nc.content)
            && a != b
        {
            out.value(
                ChangeKind::ConfigTemplate,
                format!("{p}.content"),
                Some(content_text(a)),
                Some(content_text(b)),
            );
        }
    }
    for (name, oc) in old {
        if !new.contains_key(name) {
            out.value(
                ChangeKind::ConfigTemplate,
                format!("{path}.{name}"),
                Some(format!("{} -> {}", oc.template, oc.dest)),
                None,
            );
        }
    }
}

fn task_changes(out: &mut Out<'_>, path: &str, old: &TaskSpec, new: &TaskSpec) {
    out.value(
        ChangeKind::Goal,
        format!("{path}.goal"),
        Some(old.goal.as_str().into()),
        Some(new.goal.as_str().into()),
    );
    out.value(
        ChangeKind::Essential,
        format!("{path}.essential"),
        Some(old.essential.to_string()),
        Some(new.essential.to_string()),
    );
    out.value(
        ChangeKind::Cmd,
        format!("{path}.cmd"),
        old.cmd.clone(),
        new.cmd.clone(),
    );
    out.map(
        ChangeKind::Env,
        &format!("{path}.env"),
        &old.env,
        &new.env,
        Clone::clone,
    );
    out.map(
        ChangeKind::Labels,
        &format!("{path}.labels"),
        &old.labels,
        &new.labels,
        Clone::clone,
    );
    config_changes(out, &format!("{path}.configs"), &old.configs, &new.configs);
    match (&old.resources, &new.resources) {
        (TaskResources::Own(a), TaskResources::Own(b)) => resource_set_changes(out, path, a, b),
        (TaskResources::Shared(a), TaskResources::Shared(b)) => {
            out.value(
                ChangeKind::Resources,
                format!("{path}.resource-set"),
                Some(a.clone()),
                Some(b.clone()),
            );
        }
        (a, b) => {
            let text = |r: &TaskResources| match r {
                TaskResources::Own(_) => "(own resources)".to_owned(),
                TaskResources::Shared(id) => id.clone(),
            };
            out.value(
                ChangeKind::Resources,
                format!("{path}.resource-set"),
                Some(text(a)),
                Some(text(b)),
            );
        }
    }
    out.value(
        ChangeKind::ResourceLimits,
        format!("{path}.resource-limits"),
        limits_text(old.resource_limits.as_ref()),
        limits_text(new.resource_limits.as_ref()),
    );
    out.value(
        ChangeKind::HealthCheck,
        format!("{path}.health-check"),
        old.health_check.as_ref().map(health_text),
        new.health_check.as_ref().map(health_text),
    );
    out.value(
        ChangeKind::ReadinessCheck,
        format!("{path}.readiness-check"),
        old.readiness_check.as_ref().map(readiness_text),
        new.readiness_check.as_ref().map(readiness_text),
    );
    let discovery = |t: &TaskSpec| {
        t.discovery.as_ref().map(|d| {
            format!(
                "prefix {} visibility {}",
                d.prefix.as_deref().unwrap_or("-"),
                d.visibility.map_or("-", |v| v.as_str())
            )
        })
    };
    out.value(
        ChangeKind::Discovery,
        format!("{path}.discovery"),
        discovery(old),
        discovery(new),
    );
    out.value(
        ChangeKind::KillGracePeriod,
        format!("{path}.kill-grace-period"),
        old.kill_grace_period.map(secs),
        new.kill_grace_period.map(secs),
    );
    let tls = |t: &TaskSpec| {
        if t.transport_encryption.is_empty() {
            None
        } else {
            Some(
                t.transport_encryption
                    .iter()
                    .map(|e| format!("{} {}", e.name, e.kind.as_str()))
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        }
    };
    out.value(
        ChangeKind::TransportEncryption,
        format!("{path}.transport-encryption"),
        tls(old),
        tls(new),
    );
    out.value(
        ChangeKind::Isolation,
        format!("{path}.ipc-mode"),
        old.ipc_mode.map(|m| m.as_str().to_owned()),
        new.ipc_mode.map(|m| m.as_str().to_owned()),
    );
    out.value(
        ChangeKind::Isolation,
        format!("{path}.shm-size"),
        old.shm_size.map(|s| s.to_string()),
        new.shm_size.map(|s| s.to_string()),
    );
}
