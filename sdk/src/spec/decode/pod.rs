//! Pods, resource sets, volumes and ports.

use indexmap::IndexMap;

use super::task::decode_task;
use super::{Cx, Unknown, join};
use crate::spec::error::SpecError;
use crate::spec::model::{
    ExternalVolumeSpec, HostVolumeSpec, IpcMode, NetworkSpec, PodSpec, PortRange, PortSpec,
    RLimitSpec, ResourceLimit, ResourceLimits, ResourceSetSpec, SecretSpec, VipSpec, VolumeMode,
    VolumeSpec, VolumeType,
};
use crate::spec::yaml::Node;

const POD_KEYS: &[&str] = &[
    "count",
    "placement",
    "image",
    "networks",
    "rlimits",
    "uris",
    "volume",
    "volumes",
    "pre-reserved-role",
    "secrets",
    "share-pid-namespace",
    "allow-decommission",
    "host-volumes",
    "external-volumes",
    "seccomp-unconfined",
    "seccomp-profile-name",
    "ipc-mode",
    "shm-size",
    "resource-sets",
    "tasks",
];
const RESOURCE_SET_KEYS: &[&str] = &[
    "cpus",
    "gpus",
    "memory",
    "ports",
    "volume",
    "volumes",
    "resource-limits",
];
const VOLUME_KEYS: &[&str] = &["path", "type", "size", "profiles"];
const PORT_KEYS: &[&str] = &["port", "env-key", "advertise", "vip", "ranges"];
const VIP_KEYS: &[&str] = &["port", "prefix", "protocol", "advertise"];
const RANGE_KEYS: &[&str] = &["begin", "end"];
const NETWORK_KEYS: &[&str] = &["host-ports", "container-ports", "labels"];
const RLIMIT_KEYS: &[&str] = &["soft", "hard"];
const SECRET_KEYS: &[&str] = &["secret", "env-key", "file"];
const HOST_VOLUME_KEYS: &[&str] = &["host-path", "container-path", "mode"];
const EXTERNAL_VOLUME_KEYS: &[&str] = &[
    "type",
    "volume-name",
    "volume-mode",
    "driver-name",
    "driver-options",
    "container-path",
];
const LIMIT_KEYS: &[&str] = &["cpus", "memory"];
const LIMIT_HINTS: &[(&str, &str)] = &[("mem", "the key is 'memory' (some docs say 'mem')")];

pub(super) fn decode_pod(cx: &mut Cx<'_>, name: &str, node: &Node, path: &str) -> Option<PodSpec> {
    let mut m = cx.map(node, path)?;
    let mut pod = PodSpec {
        name: name.to_string(),
        ..PodSpec::default()
    };
    match m.get("count") {
        Some(n) => {
            pod.count = cx
                .int_in(n, &m.child("count"), 0, i64::from(u32::MAX))
                .and_then(|v| u32::try_from(v).ok())
                .unwrap_or(0);
            if n.is_null() {
                cx.err_at(
                    n,
                    &m.child("count"),
                    SpecError::MissingKey {
                        key: "count".into(),
                        hint: format!(": pod '{name}' needs a number of instances"),
                    },
                );
            }
        }
        None => cx.err_at(
            node,
            path,
            SpecError::MissingKey {
                key: "count".into(),
                hint: format!(": pod '{name}' needs 'count: <instances>'"),
            },
        ),
    }
    if let Some(n) = m.get("placement") {
        let p = m.child("placement");
        if matches!(n.value, crate::spec::yaml::NodeValue::Seq(_)) {
            cx.err_at(
                n,
                &p,
                SpecError::WrongType {
                    expected: "a string: quote the constraint, e.g. placement: '[[\"hostname\", \"UNIQUE\"]]'".into(),
                    found: "a list".into(),
                },
            );
        } else {
            pod.placement = cx.string(n, &p);
        }
    }
    if let Some(n) = m.get("image") {
        pod.image = cx.string(n, &m.child("image"));
    }
    if let Some(n) = m.get("networks") {
        pod.networks = decode_named(cx, n, &m.child("networks"), decode_network);
    }
    if let Some(n) = m.get("rlimits") {
        pod.rlimits = decode_named(cx, n, &m.child("rlimits"), decode_rlimit);
    }
    if let Some(n) = m.get("uris") {
        let p = m.child("uris");
        if let Some(items) = cx.seq(n, &p) {
            for (i, item) in items.iter().enumerate() {
                if let Some(u) = cx.string(item, &format!("{p}[{i}]")) {
                    pod.uris.push(u);
                }
            }
        }
    }
    pod.volumes = decode_volumes(cx, &mut m, path);
    if let Some(n) = m.get("pre-reserved-role") {
        pod.pre_reserved_role = cx.string(n, &m.child("pre-reserved-role"));
    }
    if let Some(n) = m.get("secrets") {
        pod.secrets = decode_named(cx, n, &m.child("secrets"), decode_secret);
    }
    if let Some(n) = m.get("share-pid-namespace") {
        pod.share_pid_namespace = cx
            .boolean(n, &m.child("share-pid-namespace"))
            .unwrap_or(false);
    }
    if let Some(n) = m.get("allow-decommission") {
        pod.allow_decommission = cx
            .boolean(n, &m.child("allow-decommission"))
            .unwrap_or(false);
    }
    if let Some(n) = m.get("host-volumes") {
        pod.host_volumes = decode_named(cx, n, &m.child("host-volumes"), decode_host_volume);
    }
    if let Some(n) = m.get("external-volumes") {
        pod.external_volumes =
            decode_named(cx, n, &m.child("external-volumes"), decode_external_volume);
    }
    if let Some(n) = m.get("seccomp-unconfined") {
        pod.seccomp_unconfined = cx.boolean(n, &m.child("seccomp-unconfined"));
    }
    if let Some(n) = m.get("seccomp-profile-name") {
        pod.seccomp_profile_name = cx.string(n, &m.child("seccomp-profile-name"));
    }
    if let Some(n) = m.get("ipc-mode") {
        pod.ipc_mode = decode_ipc(cx, n, &m.child("ipc-mode"));
    }
    if let Some(n) = m.get("shm-size") {
        pod.shm_size = cx
            .int_in(n, &m.child("shm-size"), 0, i64::from(u32::MAX))
            .and_then(|v| u64::try_from(v).ok());
    }
    if let Some(n) = m.get("resource-sets") {
        let p = m.child("resource-sets");
        if let Some(mut sets) = cx.map(n, &p) {
            for e in sets.all() {
                let sp = sets.child(&e.key);
                if let Some(mut rs_map) = cx.map(&e.value, &sp) {
                    let mut rs = ResourceSetSpec::new(e.key.clone());
                    decode_resources(cx, &mut rs_map, &mut rs);
                    rs_map.finish(cx, Unknown::Reject(RESOURCE_SET_KEYS, &[]));
                    pod.resource_sets.push(rs);
                }
            }
        }
    }
    match m.get("tasks") {
        Some(n) if !n.is_null() => {
            let p = m.child("tasks");
            if let Some(mut tasks) = cx.map(n, &p) {
                for e in tasks.all() {
                    let tp = tasks.child(&e.key);
                    if let Some(t) = decode_task(cx, &e.key, &e.value, &tp) {
                        pod.tasks.push(t);
                    }
                }
            }
        }
        _ => cx.err_at(
            node,
            path,
            SpecError::MissingKey {
                key: "tasks".into(),
                hint: format!(": pod '{name}' needs at least one task under 'tasks:'"),
            },
        ),
    }
    let mut ignored = Vec::new();
    m.finish(cx, Unknown::Ignore(POD_KEYS, &mut ignored));
    pod.ignored_keys = ignored;
    Some(pod)
}

/// Decodes `name: {...}` entries with `f`.
fn decode_named<T>(
    cx: &mut Cx<'_>,
    node: &Node,
    path: &str,
    f: fn(&mut Cx<'_>, &Node, &str) -> Option<T>,
) -> IndexMap<String, T> {
    let mut out = IndexMap::new();
    if let Some(mut m) = cx.map(node, path) {
        for e in m.all() {
            let p = m.child(&e.key);
            if let Some(v) = f(cx, &e.value, &p) {
                out.insert(e.key.clone(), v);
            }
        }
    }
    out
}

fn decode_ipc(cx: &mut Cx<'_>, node: &Node, path: &str) -> Option<IpcMode> {
    cx.choice(node, path, &["PRIVATE", "SHARE_PARENT"])
        .map(|s| {
            if s == "PRIVATE" {
                IpcMode::Private
            } else {
                IpcMode::ShareParent
            }
        })
}

fn decode_network(cx: &mut Cx<'_>, node: &Node, path: &str) -> Option<NetworkSpec> {
    let mut m = cx.map(node, path)?;
    let mut out = NetworkSpec::default();
    let ports = |cx: &mut Cx<'_>, n: &Node, p: &str| -> Vec<u16> {
        let mut v = Vec::new();
        if let Some(items) = cx.seq(n, p) {
            for (i, item) in items.iter().enumerate() {
                if let Some(x) = cx.int_in(item, &format!("{p}[{i}]"), 0, 65535) {
                    v.push(u16::try_from(x).unwrap_or(0));
                }
            }
        }
        v
    };
    if let Some(n) = m.get("host-ports") {
        out.host_ports = ports(cx, n, &m.child("host-ports"));
    }
    if let Some(n) = m.get("container-ports") {
        out.container_ports = ports(cx, n, &m.child("container-ports"));
    }
    if let Some(n) = m.get("labels") {
        out.labels = cx.labels(n, &m.child("labels")).unwrap_or_default();
    }
    m.finish(cx, Unknown::Reject(NETWORK_KEYS, &[]));
    Some(out)
}

fn decode_rlimit(cx: &mut Cx<'_>, node: &Node, path: &str) -> Option<RLimitSpec> {
    let mut m = cx.map(node, path)?;
    let mut out = RLimitSpec::default();
    if let Some(n) = m.get("soft") {
        out.soft = cx.int_in(n, &m.child("soft"), -1, i64::MAX);
    }
    if let Some(n) = m.get("hard") {
        out.hard = cx.int_in(n, &m.child("hard"), -1, i64::MAX);
    }
    m.finish(cx, Unknown::Reject(RLIMIT_KEYS, &[]));
    Some(out)
}

fn decode_secret(cx: &mut Cx<'_>, node: &Node, path: &str) -> Option<SecretSpec> {
    let mut m = cx.map(node, path)?;
    let secret = m
        .get("secret")
        .and_then(|n| cx.string(n, &join(path, "secret")));
    let env_key = m
        .get("env-key")
        .and_then(|n| cx.string(n, &join(path, "env-key")));
    let file = m
        .get("file")
        .and_then(|n| cx.string(n, &join(path, "file")));
    m.finish(cx, Unknown::Reject(SECRET_KEYS, &[]));
    let Some(secret) = secret else {
        cx.err_at(
            node,
            path,
            SpecError::MissingKey {
                key: "secret".into(),
                hint: ": give the secret's path in the secret store".into(),
            },
        );
        return None;
    };
    Some(SecretSpec {
        secret,
        env_key,
        file,
    })
}

fn decode_mode(cx: &mut Cx<'_>, node: &Node, path: &str) -> VolumeMode {
    match cx.choice(node, path, &["RW", "RO"]).as_deref() {
        Some("RO") => VolumeMode::Ro,
        _ => VolumeMode::Rw,
    }
}

fn required(cx: &mut Cx<'_>, node: &Node, path: &str, key: &str, v: Option<String>) -> String {
    match v {
        Some(v) => v,
        None => {
            cx.err_at(
                node,
                path,
                SpecError::MissingKey {
                    key: key.into(),
                    hint: String::new(),
                },
            );
            String::new()
        }
    }
}

fn decode_host_volume(cx: &mut Cx<'_>, node: &Node, path: &str) -> Option<HostVolumeSpec> {
    let mut m = cx.map(node, path)?;
    let host = m
        .get("host-path")
        .and_then(|n| cx.string(n, &join(path, "host-path")));
    let cont = m
        .get("container-path")
        .and_then(|n| cx.string(n, &join(path, "container-path")));
    let mode = match m.get("mode") {
        Some(n) => decode_mode(cx, n, &join(path, "mode")),
        None => VolumeMode::Rw,
    };
    m.finish(cx, Unknown::Reject(HOST_VOLUME_KEYS, &[]));
    Some(HostVolumeSpec {
        host_path: required(cx, node, path, "host-path", host),
        container_path: required(cx, node, path, "container-path", cont),
        mode,
    })
}

fn decode_external_volume(cx: &mut Cx<'_>, node: &Node, path: &str) -> Option<ExternalVolumeSpec> {
    let mut m = cx.map(node, path)?;
    let kind = m
        .get("type")
        .and_then(|n| cx.choice(n, &join(path, "type"), &["DOCKER"]));
    let volume_name = m
        .get("volume-name")
        .and_then(|n| cx.string(n, &join(path, "volume-name")));
    let volume_mode = match m.get("volume-mode") {
        Some(n) => decode_mode(cx, n, &join(path, "volume-mode")),
        None => VolumeMode::Rw,
    };
    let driver_name = m
        .get("driver-name")
        .and_then(|n| cx.string(n, &join(path, "driver-name")));
    let driver_options = m
        .get("driver-options")
        .and_then(|n| cx.string(n, &join(path, "driver-options")));
    let cont = m
        .get("container-path")
        .and_then(|n| cx.string(n, &join(path, "container-path")));
    m.finish(cx, Unknown::Reject(EXTERNAL_VOLUME_KEYS, &[]));
    Some(ExternalVolumeSpec {
        kind: required(cx, node, path, "type", kind),
        volume_name,
        volume_mode,
        driver_name,
        driver_options,
        container_path: required(cx, node, path, "container-path", cont),
    })
}

/// `volume:` and/or `volumes:` of a pod, task or resource set (both is an error).
pub(super) fn decode_volumes(
    cx: &mut Cx<'_>,
    m: &mut super::MapReader<'_>,
    path: &str,
) -> Vec<VolumeSpec> {
    let mut out = Vec::new();
    let single = m.get("volume");
    let many = m.get("volumes");
    if let (Some(_), Some(n)) = (single, many) {
        cx.err_at(
            n,
            &join(path, "volumes"),
            SpecError::Conflict {
                first: "volume".into(),
                second: "volumes".into(),
                reason: "use 'volume:' for one volume or 'volumes:' for several, not both".into(),
            },
        );
    }
    if let Some(n) = single
        && !n.is_null()
        && let Some(v) = decode_volume(cx, n, &join(path, "volume"), None)
    {
        out.push(v);
    }
    if let Some(n) = many
        && let Some(mut vm) = cx.map(n, &join(path, "volumes"))
    {
        for e in vm.all() {
            let p = vm.child(&e.key);
            if let Some(v) = decode_volume(cx, &e.value, &p, Some(e.key.clone())) {
                out.push(v);
            }
        }
    }
    out
}

fn decode_volume(
    cx: &mut Cx<'_>,
    node: &Node,
    path: &str,
    name: Option<String>,
) -> Option<VolumeSpec> {
    let mut m = cx.map(node, path)?;
    let vpath = m
        .get("path")
        .and_then(|n| cx.string(n, &join(path, "path")));
    let kind = match m.get("type") {
        Some(n) => {
            let tp = join(path, "type");
            match cx.string(n, &tp).as_deref() {
                Some("ROOT") => Some(VolumeType::Root),
                Some("MOUNT") => Some(VolumeType::Mount),
                Some("PATH") => {
                    let loc = cx.locs.locate(&tp);
                    cx.diags.warn(
                        loc,
                        SpecError::InvalidValue {
                            value: "PATH".into(),
                            reason: "PATH volumes are not supported; treated as MOUNT, as dcos-commons does".into(),
                        },
                    );
                    Some(VolumeType::Mount)
                }
                Some(other) => {
                    cx.err_at(
                        n,
                        &tp,
                        SpecError::InvalidValue {
                            value: other.to_string(),
                            reason: "volume type must be ROOT or MOUNT".into(),
                        },
                    );
                    None
                }
                None => None,
            }
        }
        None => None,
    };
    let size = m
        .get("size")
        .and_then(|n| cx.int_in(n, &join(path, "size"), 1, i64::MAX));
    let mut profiles = Vec::new();
    if let Some(n) = m.get("profiles") {
        let pp = join(path, "profiles");
        if let Some(items) = cx.seq(n, &pp) {
            for (i, item) in items.iter().enumerate() {
                if let Some(s) = cx.string(item, &format!("{pp}[{i}]")) {
                    profiles.push(s);
                }
            }
        }
    }
    m.finish(cx, Unknown::Reject(VOLUME_KEYS, &[]));
    let mut missing = Vec::new();
    if vpath.is_none() {
        missing.push("path");
    }
    if kind.is_none() && m_type_absent(node) {
        missing.push("type");
    }
    if size.is_none() && m_key_absent(node, "size") {
        missing.push("size");
    }
    for key in missing {
        cx.err_at(
            node,
            path,
            SpecError::MissingKey {
                key: key.into(),
                hint: ": a volume needs path, type (ROOT or MOUNT) and size (MB)".into(),
            },
        );
    }
    Some(VolumeSpec {
        name,
        path: vpath?,
        kind: kind?,
        size_mb: u64::try_from(size?).unwrap_or(0),
        profiles,
    })
}

fn m_key_absent(node: &Node, key: &str) -> bool {
    match &node.value {
        crate::spec::yaml::NodeValue::Map(entries) => {
            !entries.iter().any(|e| e.key == key && !e.value.is_null())
        }
        _ => true,
    }
}

fn m_type_absent(node: &Node) -> bool {
    m_key_absent(node, "type")
}

/// cpus, gpus, memory, ports, volume(s) and resource-limits into `rs`.
pub(super) fn decode_resources(
    cx: &mut Cx<'_>,
    m: &mut super::MapReader<'_>,
    rs: &mut ResourceSetSpec,
) {
    let path = m.path.clone();
    if let Some(n) = m.get("cpus") {
        rs.cpus = cx.float(n, &join(&path, "cpus"));
    }
    if let Some(n) = m.get("gpus") {
        rs.gpus = cx.float(n, &join(&path, "gpus"));
    }
    if let Some(n) = m.get("memory") {
        rs.memory = cx
            .int_in(n, &join(&path, "memory"), 0, i64::MAX)
            .and_then(|v| u64::try_from(v).ok());
    }
    if let Some(n) = m.get("ports") {
        let pp = join(&path, "ports");
        if let Some(mut pm) = cx.map(n, &pp) {
            for e in pm.all() {
                let p = pm.child(&e.key);
                if let Some(port) = decode_port(cx, &e.key, &e.value, &p) {
                    rs.ports.insert(e.key.clone(), port);
                }
            }
        }
    }
    rs.volumes = decode_volumes(cx, m, &path);
    if let Some(n) = m.get("resource-limits") {
        rs.resource_limits = decode_limits(cx, n, &join(&path, "resource-limits"));
    }
}

pub(super) fn decode_limits(cx: &mut Cx<'_>, node: &Node, path: &str) -> Option<ResourceLimits> {
    let mut m = cx.map(node, path)?;
    let one = |cx: &mut Cx<'_>, n: &Node, p: &str| -> Option<ResourceLimit> {
        match cx.string(n, p)?.trim() {
            s if s.eq_ignore_ascii_case("unlimited") => Some(ResourceLimit::Unlimited),
            _ => cx.float(n, p).map(ResourceLimit::Value),
        }
    };
    let cpus = m.get("cpus").and_then(|n| one(cx, n, &join(path, "cpus")));
    let memory = m
        .get("memory")
        .and_then(|n| one(cx, n, &join(path, "memory")));
    m.finish(cx, Unknown::Reject(LIMIT_KEYS, LIMIT_HINTS));
    Some(ResourceLimits { cpus, memory })
}

fn decode_port(cx: &mut Cx<'_>, name: &str, node: &Node, path: &str) -> Option<PortSpec> {
    let mut m = cx.map(node, path)?;
    let mut port = PortSpec {
        name: name.to_string(),
        ..PortSpec::default()
    };
    match m.get("port") {
        Some(n) => {
            port.port = cx
                .int_in(n, &join(path, "port"), 0, 65535)
                .and_then(|v| u16::try_from(v).ok())
                .unwrap_or(0);
        }
        None => cx.err_at(
            node,
            path,
            SpecError::MissingKey {
                key: "port".into(),
                hint: ": give a port number, or 0 for any free port".into(),
            },
        ),
    }
    if let Some(n) = m.get("env-key") {
        port.env_key = cx.string(n, &join(path, "env-key"));
    }
    if let Some(n) = m.get("advertise") {
        port.advertise = cx.boolean(n, &join(path, "advertise")).unwrap_or(false);
    }
    if let Some(n) = m.get("vip") {
        let vp = join(path, "vip");
        if let Some(mut vm) = cx.map(n, &vp) {
            let mut vip = VipSpec::default();
            match vm.get("port") {
                Some(pn) => {
                    vip.port = cx
                        .int_in(pn, &join(&vp, "port"), 1, 65535)
                        .and_then(|v| u16::try_from(v).ok())
                        .unwrap_or(0);
                }
                None => cx.err_at(
                    n,
                    &vp,
                    SpecError::MissingKey {
                        key: "port".into(),
                        hint: ": a VIP needs the port it is reachable on".into(),
                    },
                ),
            }
            if let Some(pn) = vm.get("prefix") {
                vip.prefix = cx.string(pn, &join(&vp, "prefix"));
            }
            if let Some(pn) = vm.get("protocol") {
                vip.protocol = cx.string(pn, &join(&vp, "protocol"));
            }
            if let Some(pn) = vm.get("advertise")
                && cx.boolean(pn, &join(&vp, "advertise")) == Some(true)
            {
                port.advertise = true;
            }
            vm.finish(cx, Unknown::Reject(VIP_KEYS, &[]));
            port.vip = Some(vip);
        }
    }
    if let Some(n) = m.get("ranges") {
        let rp = join(path, "ranges");
        if let Some(items) = cx.seq(n, &rp) {
            for (i, item) in items.iter().enumerate() {
                let ip = format!("{rp}[{i}]");
                if let Some(mut rm) = cx.map(item, &ip) {
                    let begin = rm
                        .get("begin")
                        .and_then(|b| cx.int_in(b, &join(&ip, "begin"), 0, 65535))
                        .and_then(|v| u16::try_from(v).ok());
                    let end = rm
                        .get("end")
                        .and_then(|b| cx.int_in(b, &join(&ip, "end"), 0, 65535))
                        .and_then(|v| u16::try_from(v).ok());
                    rm.finish(cx, Unknown::Reject(RANGE_KEYS, &[]));
                    port.ranges.push(PortRange { begin, end });
                }
            }
        }
    }
    m.finish(cx, Unknown::Reject(PORT_KEYS, &[]));
    Some(port)
}
