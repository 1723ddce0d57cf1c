//! ServiceSpec → svc.yml text (serde-saphyr serializer), the inverse of loading.

use indexmap::IndexMap;
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::model::{
    PodSpec, PortSpec, ResourceLimit, ResourceLimits, ResourceSetSpec, ServiceSpec, StepSelector,
    TaskResources, TaskSpec, VolumeSpec,
};

/// A YAML value with ordered mappings.
enum Y {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Seq(Vec<Y>),
    Map(IndexMap<String, Y>),
}

impl Serialize for Y {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Y::Str(v) => s.serialize_str(v),
            Y::Int(v) => s.serialize_i64(*v),
            Y::Float(v) => s.serialize_f64(*v),
            Y::Bool(v) => s.serialize_bool(*v),
            Y::Seq(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for i in items {
                    seq.serialize_element(i)?;
                }
                seq.end()
            }
            Y::Map(m) => {
                let mut map = s.serialize_map(Some(m.len()))?;
                for (k, v) in m {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

#[derive(Default)]
struct M(IndexMap<String, Y>);

impl M {
    fn put(&mut self, k: &str, v: Y) -> &mut Self {
        self.0.insert(k.to_string(), v);
        self
    }
    fn opt_str(&mut self, k: &str, v: Option<&String>) -> &mut Self {
        if let Some(v) = v {
            self.put(k, Y::Str(v.clone()));
        }
        self
    }
    fn y(self) -> Y {
        Y::Map(self.0)
    }
}

fn int<T: TryInto<i64>>(v: T) -> Y {
    Y::Int(v.try_into().unwrap_or(i64::MAX))
}

fn labels(l: &IndexMap<String, String>) -> Y {
    Y::Str(
        l.iter()
            .map(|(k, v)| format!("{k}:{v}"))
            .collect::<Vec<_>>()
            .join(","),
    )
}

fn volume(v: &VolumeSpec) -> Y {
    let mut m = M::default();
    m.put("path", Y::Str(v.path.clone()))
        .put("type", Y::Str(v.kind.as_str().into()))
        .put("size", int(v.size_mb));
    if !v.profiles.is_empty() {
        m.put(
            "profiles",
            Y::Seq(v.profiles.iter().map(|p| Y::Str(p.clone())).collect()),
        );
    }
    m.y()
}

fn volumes(m: &mut M, vols: &[VolumeSpec]) {
    match vols {
        [] => {}
        [one] if one.name.is_none() => {
            m.put("volume", volume(one));
        }
        many => {
            let mut vm = M::default();
            for (i, v) in many.iter().enumerate() {
                let name = v.name.clone().unwrap_or_else(|| format!("volume-{i}"));
                vm.put(&name, volume(v));
            }
            m.put("volumes", vm.y());
        }
    }
}

fn limits(l: &ResourceLimits) -> Y {
    let one = |v: ResourceLimit| match v {
        ResourceLimit::Unlimited => Y::Str("unlimited".into()),
        ResourceLimit::Value(f) => Y::Float(f),
    };
    let mut m = M::default();
    if let Some(c) = l.cpus {
        m.put("cpus", one(c));
    }
    if let Some(c) = l.memory {
        m.put("memory", one(c));
    }
    m.y()
}

fn port(p: &PortSpec) -> Y {
    let mut m = M::default();
    m.put("port", int(p.port))
        .opt_str("env-key", p.env_key.as_ref());
    if p.advertise {
        m.put("advertise", Y::Bool(true));
    }
    if let Some(v) = &p.vip {
        let mut vm = M::default();
        vm.put("port", int(v.port))
            .opt_str("prefix", v.prefix.as_ref())
            .opt_str("protocol", v.protocol.as_ref());
        m.put("vip", vm.y());
    }
    if !p.ranges.is_empty() {
        m.put(
            "ranges",
            Y::Seq(
                p.ranges
                    .iter()
                    .map(|r| {
                        let mut rm = M::default();
                        if let Some(b) = r.begin {
                            rm.put("begin", int(b));
                        }
                        if let Some(e) = r.end {
                            rm.put("end", int(e));
                        }
                        rm.y()
                    })
                    .collect(),
            ),
        );
    }
    m.y()
}

fn resources(m: &mut M, rs: &ResourceSetSpec) {
    if let Some(c) = rs.cpus {
        m.put("cpus", Y::Float(c));
    }
    if let Some(g) = rs.gpus {
        m.put("gpus", Y::Float(g));
    }
    if let Some(mem) = rs.memory {
        m.put("memory", int(mem));
    }
    if !rs.ports.is_empty() {
        let mut pm = M::default();
        for (name, p) in &rs.ports {
            pm.put(name, port(p));
        }
        m.put("ports", pm.y());
    }
    volumes(m, &rs.volumes);
    if let Some(l) = &rs.resource_limits {
        m.put("resource-limits", limits(l));
    }
}

fn secs(d: std::time::Duration) -> Y {
    int(d.as_secs())
}

fn task(t: &TaskSpec) -> Y {
    let mut m = M::default();
    m.put("goal", Y::Str(t.goal.as_str().into()));
    if !t.essential {
        m.put("essential", Y::Bool(false));
    }
    m.opt_str("cmd", t.cmd.as_ref());
    if !t.env.is_empty() {
        m.put(
            "env",
            Y::Map(
                t.env
                    .iter()
                    .map(|(k, v)| (k.clone(), Y::Str(v.clone())))
                    .collect(),
            ),
        );
    }
    if !t.labels.is_empty() {
        m.put("labels", labels(&t.labels));
    }
    if !t.configs.is_empty() {
        let mut cm = M::default();
        for (name, c) in &t.configs {
            let mut one = M::default();
            one.put("template", Y::Str(c.template.clone()))
                .put("dest", Y::Str(c.dest.clone()));
            cm.put(name, one.y());
        }
        m.put("configs", cm.y());
    }
    match &t.resources {
        TaskResources::Own(rs) => resources(&mut m, rs),
        TaskResources::Shared(id) => {
            m.put("resource-set", Y::Str(id.clone()));
        }
    }
    if let Some(l) = &t.resource_limits {
        m.put("resource-limits", limits(l));
    }
    if let Some(h) = &t.health_check {
        let mut hm = M::default();
        hm.put("cmd", Y::Str(h.cmd.clone()))
            .put("interval", secs(h.interval))
            .put("grace-period", secs(h.grace_period))
            .put("max-consecutive-failures", int(h.max_consecutive_failures))
            .put("delay", secs(h.delay))
            .put("timeout", secs(h.timeout));
        m.put("health-check", hm.y());
    }
    if let Some(r) = &t.readiness_check {
        let mut rm = M::default();
        rm.put("cmd", Y::Str(r.cmd.clone()))
            .put("interval", secs(r.interval))
            .put("delay", secs(r.delay))
            .put("timeout", secs(r.timeout));
        m.put("readiness-check", rm.y());
    }
    if let Some(d) = &t.discovery {
        let mut dm = M::default();
        dm.opt_str("prefix", d.prefix.as_ref());
        if let Some(v) = d.visibility {
            dm.put("visibility", Y::Str(v.as_str().into()));
        }
        m.put("discovery", dm.y());
    }
    if let Some(k) = t.kill_grace_period {
        m.put("kill-grace-period", secs(k));
    }
    if !t.transport_encryption.is_empty() {
        m.put(
            "transport-encryption",
            Y::Seq(
                t.transport_encryption
                    .iter()
                    .map(|e| {
                        let mut em = M::default();
                        em.put("name", Y::Str(e.name.clone()))
                            .put("type", Y::Str(e.kind.as_str().into()));
                        em.y()
                    })
                    .collect(),
            ),
        );
    }
    if let Some(i) = t.ipc_mode {
        m.put("ipc-mode", Y::Str(i.as_str().into()));
    }
    if let Some(s) = t.shm_size {
        m.put("shm-size", int(s));
    }
    m.y()
}

fn pod(p: &PodSpec) -> Y {
    let mut m = M::default();
    m.put("count", int(p.count))
        .opt_str("placement", p.placement.as_ref())
        .opt_str("image", p.image.as_ref());
    if !p.networks.is_empty() {
        let mut nm = M::default();
        for (name, n) in &p.networks {
            let mut one = M::default();
            if !n.host_ports.is_empty() {
                one.put(
                    "host-ports",
                    Y::Seq(n.host_ports.iter().map(|x| int(*x)).collect()),
                );
            }
            if !n.container_ports.is_empty() {
                one.put(
                    "container-ports",
                    Y::Seq(n.container_ports.iter().map(|x| int(*x)).collect()),
                );
            }
            if !n.labels.is_empty() {
                one.put("labels", labels(&n.labels));
            }
            nm.put(name, one.y());
        }
        m.put("networks", nm.y());
    }
    if !p.rlimits.is_empty() {
        let mut rm = M::default();
        for (name, r) in &p.rlimits {
            let mut one = M::default();
            if let Some(s) = r.soft {
                one.put("soft", int(s));
            }
            if let Some(h) = r.hard {
                one.put("hard", int(h));
            }
            rm.put(name, one.y());
        }
        m.put("rlimits", rm.y());
    }
    if !p.uris.is_empty() {
        m.put(
            "uris",
            Y::Seq(p.uris.iter().map(|u| Y::Str(u.clone())).collect()),
        );
    }
    volumes(&mut m, &p.volumes);
    m.opt_str("pre-reserved-role", p.pre_reserved_role.as_ref());
    if !p.secrets.is_empty() {
        let mut sm = M::default();
        for (name, s) in &p.secrets {
            let mut one = M::default();
            one.put("secret", Y::Str(s.secret.clone()))
                .opt_str("env-key", s.env_key.as_ref())
                .opt_str("file", s.file.as_ref());
            sm.put(name, one.y());
        }
        m.put("secrets", sm.y());
    }
    if p.share_pid_namespace {
        m.put("share-pid-namespace", Y::Bool(true));
    }
    if p.allow_decommission {
        m.put("allow-decommission", Y::Bool(true));
    }
    if !p.host_volumes.is_empty() {
        let mut hm = M::default();
        for (name, h) in &p.host_volumes {
            let mut one = M::default();
            one.put("host-path", Y::Str(h.host_path.clone()))
                .put("container-path", Y::Str(h.container_path.clone()))
                .put("mode", Y::Str(h.mode.as_str().into()));
            hm.put(name, one.y());
        }
        m.put("host-volumes", hm.y());
    }
    if !p.external_volumes.is_empty() {
        let mut em = M::default();
        for (name, e) in &p.external_volumes {
            let mut one = M::default();
            one.put("type", Y::Str(e.kind.clone()))
                .opt_str("volume-name", e.volume_name.as_ref())
                .put("volume-mode", Y::Str(e.volume_mode.as_str().into()))
                .opt_str("driver-name", e.driver_name.as_ref())
                .opt_str("driver-options", e.driver_options.as_ref())
                .put("container-path", Y::Str(e.container_path.clone()));
            em.put(name, one.y());
        }
        m.put("external-volumes", em.y());
    }
    if let Some(b) = p.seccomp_unconfined {
        m.put("seccomp-unconfined", Y::Bool(b));
    }
    m.opt_str("seccomp-profile-name", p.seccomp_profile_name.as_ref());
    if let Some(i) = p.ipc_mode {
        m.put("ipc-mode", Y::Str(i.as_str().into()));
    }
    if let Some(s) = p.shm_size {
        m.put("shm-size", int(s));
    }
    if !p.resource_sets.is_empty() {
        let mut rm = M::default();
        for rs in &p.resource_sets {
            let mut one = M::default();
            resources(&mut one, rs);
            rm.put(&rs.id, one.y());
        }
        m.put("resource-sets", rm.y());
    }
    let mut tm = M::default();
    for t in &p.tasks {
        tm.put(&t.name, task(t));
    }
    m.put("tasks", tm.y());
    m.y()
}

/// Writes `spec` as svc.yml text that [`super::load_str`] reads back to an equal spec
/// (config template contents are not part of the YAML).
///
/// svc.yml is a mustache template, so any literal `{{` in a value is written as
/// `{{=<% %>=}}{{<%={{ }}=%>` (switch delimiters, emit `{{`, switch back), which
/// renders back to `{{`.
///
/// # Errors
/// Only if the serializer fails, which it does not for these value types.
pub fn to_yaml(spec: &ServiceSpec) -> Result<String, serde_saphyr::SerializeError> {
    let mut top = M::default();
    top.put("name", Y::Str(spec.name.clone()))
        .opt_str("web-url", spec.web_url.as_ref());
    let s = &spec.scheduler;
    if s.principal.is_some() || s.zookeeper.is_some() || s.user.is_some() {
        let mut sm = M::default();
        sm.opt_str("principal", s.principal.as_ref())
            .opt_str("zookeeper", s.zookeeper.as_ref())
            .opt_str("user", s.user.as_ref());
        top.put("scheduler", sm.y());
    }
    let mut pm = M::default();
    for p in &spec.pods {
        pm.put(&p.name, pod(p));
    }
    top.put("pods", pm.y());
    if !spec.plans.is_empty() {
        let mut plans = M::default();
        for plan in &spec.plans {
            let mut one = M::default();
            if let Some(st) = plan.strategy {
                one.put("strategy", Y::Str(st.as_str().into()));
            }
            let mut phases = M::default();
            for ph in &plan.phases {
                let mut pm = M::default();
                if let Some(st) = ph.strategy {
                    pm.put("strategy", Y::Str(st.as_str().into()));
                }
                pm.put("pod", Y::Str(ph.pod.clone()));
                if let Some(rules) = &ph.steps {
                    let items = rules
                        .iter()
                        .map(|r| {
                            let key = match r.selector {
                                StepSelector::Default => "default".to_string(),
                                StepSelector::Index(i) => i.to_string(),
                            };
                            let groups = Y::Seq(
                                r.task_groups
                                    .iter()
                                    .map(|g| Y::Seq(g.iter().map(|t| Y::Str(t.clone())).collect()))
                                    .collect(),
                            );
                            let mut rm = M::default();
                            rm.put(&key, groups);
                            rm.y()
                        })
                        .collect();
                    pm.put("steps", Y::Seq(items));
                }
                phases.put(&ph.name, pm.y());
            }
            one.put("phases", phases.y());
            plans.put(&plan.name, one.y());
        }
        top.put("plans", plans.y());
    }
    let yaml = serde_saphyr::to_string(&top.y())?;
    Ok(yaml.replace("{{", "{{=<% %>=}}{{<%={{ }}=%>"))
}
