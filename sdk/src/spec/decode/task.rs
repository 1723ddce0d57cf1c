//! Tasks.

use std::time::Duration;

use super::pod::{decode_limits, decode_resources};
use super::{Cx, Unknown, join};
use crate::spec::error::SpecError;
use crate::spec::model::{
    ConfigSpec, DiscoverySpec, GoalState, HealthCheckSpec, IpcMode, ReadinessCheckSpec,
    ResourceSetSpec, TaskResources, TaskSpec, TlsArtifactType, TransportEncryptionSpec, Visibility,
};
use crate::spec::yaml::{Node, NodeValue};

const TASK_KEYS: &[&str] = &[
    "goal",
    "essential",
    "cmd",
    "env",
    "labels",
    "configs",
    "cpus",
    "gpus",
    "memory",
    "resource-limits",
    "ports",
    "health-check",
    "readiness-check",
    "volume",
    "volumes",
    "resource-set",
    "discovery",
    "kill-grace-period",
    "transport-encryption",
    "ipc-mode",
    "shm-size",
];
const TASK_HINTS: &[(&str, &str)] = &[
    (
        "uris",
        "uris belong to the pod: move them to 'pods.<pod>.uris' (dcos-commons rejects task-level uris too)",
    ),
    ("mem", "the key is 'memory' (in MB)"),
    ("cpu", "the key is 'cpus'"),
    ("command", "the key is 'cmd'"),
];
const HEALTH_KEYS: &[&str] = &[
    "cmd",
    "interval",
    "grace-period",
    "max-consecutive-failures",
    "delay",
    "timeout",
];
const READINESS_KEYS: &[&str] = &["cmd", "interval", "delay", "timeout"];
const CONFIG_KEYS: &[&str] = &["template", "dest"];
const DISCOVERY_KEYS: &[&str] = &["prefix", "visibility"];
const TLS_KEYS: &[&str] = &["name", "type"];
/// Keys that, on a task, are resources (and so exclude `resource-set`).
pub(crate) const RESOURCE_KEYS: &[&str] = &["cpus", "gpus", "memory", "ports", "volume", "volumes"];

pub(super) fn decode_task(
    cx: &mut Cx<'_>,
    name: &str,
    node: &Node,
    path: &str,
) -> Option<TaskSpec> {
    let mut m = cx.map(node, path)?;
    let mut task = TaskSpec {
        name: name.to_string(),
        essential: true,
        ..TaskSpec::default()
    };
    match m.get("goal") {
        Some(n) => {
            let gp = join(path, "goal");
            match cx.string(n, &gp).as_deref() {
                Some("RUNNING") => task.goal = GoalState::Running,
                Some("FINISH") => task.goal = GoalState::Finish,
                Some("ONCE") => task.goal = GoalState::Once,
                Some(other) => {
                    let hint = match other.to_ascii_uppercase().as_str() {
                        "FINISHED" => " ('FINISHED' was renamed: write 'FINISH')".to_string(),
                        u @ ("RUNNING" | "FINISH" | "ONCE") => format!(" (write it as '{u}')"),
                        _ => String::new(),
                    };
                    cx.err_at(
                        n,
                        &gp,
                        SpecError::InvalidValue {
                            value: other.to_string(),
                            reason: format!("goal must be RUNNING, FINISH or ONCE{hint}"),
                        },
                    );
                }
                None => missing(cx, n, &gp, "goal", ": RUNNING, FINISH or ONCE"),
            }
        }
        None => missing(
            cx,
            node,
            path,
            "goal",
            ": add 'goal: RUNNING' (or FINISH, ONCE)",
        ),
    }
    if let Some(n) = m.get("essential") {
        task.essential = cx.boolean(n, &join(path, "essential")).unwrap_or(true);
    }
    if let Some(n) = m.get("cmd") {
        task.cmd = cx.string(n, &join(path, "cmd"));
    }
    if let Some(n) = m.get("env") {
        let ep = join(path, "env");
        if let Some(mut em) = cx.map(n, &ep) {
            for e in em.all() {
                let kp = em.child(&e.key);
                let value = match &e.value.value {
                    NodeValue::Scalar { .. } => cx.string(&e.value, &kp).unwrap_or_default(),
                    _ => {
                        cx.err_at(
                            &e.value,
                            &kp,
                            SpecError::WrongType {
                                expected: "a string value".into(),
                                found: e.value.describe(),
                            },
                        );
                        continue;
                    }
                };
                task.env.insert(e.key.clone(), value);
            }
        }
    }
    if let Some(n) = m.get("labels") {
        task.labels = cx.labels(n, &join(path, "labels")).unwrap_or_default();
    }
    if let Some(n) = m.get("configs") {
        let cp = join(path, "configs");
        if let Some(mut cm) = cx.map(n, &cp) {
            for e in cm.all() {
                let p = cm.child(&e.key);
                if let Some(c) = decode_config(cx, &e.value, &p) {
                    task.configs.insert(e.key.clone(), c);
                }
            }
        }
    }
    let resource_set = m
        .get("resource-set")
        .and_then(|n| cx.string(n, &join(path, "resource-set")));
    let mut own = ResourceSetSpec::new(format!("{name}-resource-set"));
    decode_resources(cx, &mut m, &mut own);
    task.resources = match resource_set {
        Some(id) => {
            if let NodeValue::Map(entries) = &node.value {
                for e in entries
                    .iter()
                    .filter(|e| RESOURCE_KEYS.contains(&e.key.as_str()) && !e.value.is_null())
                {
                    cx.err_at(
                        &e.value,
                        &join(path, &e.key),
                        SpecError::Conflict {
                            first: "resource-set".into(),
                            second: e.key.clone(),
                            reason: format!(
                                "a task using resource-set '{id}' takes its resources from that set: move '{}' into the resource set",
                                e.key
                            ),
                        },
                    );
                }
            }
            TaskResources::Shared(id)
        }
        None => TaskResources::Own(own),
    };
    if let Some(n) = m.get("resource-limits") {
        task.resource_limits = decode_limits(cx, n, &join(path, "resource-limits"));
    }
    if let Some(n) = m.get("health-check") {
        task.health_check = decode_health(cx, n, &join(path, "health-check"));
    }
    if let Some(n) = m.get("readiness-check") {
        task.readiness_check = decode_readiness(cx, n, &join(path, "readiness-check"));
    }
    if let Some(n) = m.get("discovery") {
        task.discovery = decode_discovery(cx, n, &join(path, "discovery"));
    }
    if let Some(n) = m.get("kill-grace-period") {
        task.kill_grace_period = cx
            .int_in(n, &join(path, "kill-grace-period"), 0, 1_209_600)
            .map(|v| Duration::from_secs(u64::try_from(v).unwrap_or(0)));
    }
    if let Some(n) = m.get("transport-encryption") {
        task.transport_encryption = decode_tls(cx, n, &join(path, "transport-encryption"));
    }
    if let Some(n) = m.get("ipc-mode") {
        task.ipc_mode = cx
            .choice(n, &join(path, "ipc-mode"), &["PRIVATE", "SHARE_PARENT"])
            .map(|s| {
                if s == "PRIVATE" {
                    IpcMode::Private
                } else {
                    IpcMode::ShareParent
                }
            });
    }
    if let Some(n) = m.get("shm-size") {
        task.shm_size = cx
            .int_in(n, &join(path, "shm-size"), 0, i64::from(u32::MAX))
            .and_then(|v| u64::try_from(v).ok());
    }
    m.finish(cx, Unknown::Reject(TASK_KEYS, TASK_HINTS));
    Some(task)
}

fn missing(cx: &mut Cx<'_>, node: &Node, path: &str, key: &str, hint: &str) {
    cx.err_at(
        node,
        path,
        SpecError::MissingKey {
            key: key.into(),
            hint: hint.into(),
        },
    );
}

fn decode_config(cx: &mut Cx<'_>, node: &Node, path: &str) -> Option<ConfigSpec> {
    let mut m = cx.map(node, path)?;
    let template = m
        .get("template")
        .and_then(|n| cx.string(n, &join(path, "template")));
    let dest = m
        .get("dest")
        .and_then(|n| cx.string(n, &join(path, "dest")));
    m.finish(cx, Unknown::Reject(CONFIG_KEYS, &[]));
    if template.is_none() {
        missing(
            cx,
            node,
            path,
            "template",
            ": the template file, relative to the spec",
        );
    }
    if dest.is_none() {
        missing(
            cx,
            node,
            path,
            "dest",
            ": where to write the rendered file in the sandbox",
        );
    }
    Some(ConfigSpec {
        template: template?,
        dest: dest?,
        content: None,
    })
}

/// Mesos' own health-check defaults, used for keys a spec leaves out.
const DEFAULT_INTERVAL: u64 = 10;
const DEFAULT_GRACE: u64 = 10;
const DEFAULT_DELAY: u64 = 15;
const DEFAULT_TIMEOUT: u64 = 20;
const DEFAULT_FAILURES: u32 = 3;

fn secs(cx: &mut Cx<'_>, m: &mut super::MapReader<'_>, key: &str, default: u64) -> Duration {
    match m.get(key) {
        Some(n) => cx
            .seconds(n, &m.child(key))
            .unwrap_or(Duration::from_secs(default)),
        None => Duration::from_secs(default),
    }
}

fn check_cmd(cx: &mut Cx<'_>, m: &mut super::MapReader<'_>, node: &Node, path: &str) -> String {
    match m.get("cmd").and_then(|n| cx.string(n, &join(path, "cmd"))) {
        Some(c) if !c.trim().is_empty() => c,
        _ => {
            missing(
                cx,
                node,
                path,
                "cmd",
                ": the command whose exit code is the check result",
            );
            String::new()
        }
    }
}

fn decode_health(cx: &mut Cx<'_>, node: &Node, path: &str) -> Option<HealthCheckSpec> {
    let mut m = cx.map(node, path)?;
    let cmd = check_cmd(cx, &mut m, node, path);
    let interval = secs(cx, &mut m, "interval", DEFAULT_INTERVAL);
    let grace_period = secs(cx, &mut m, "grace-period", DEFAULT_GRACE);
    let delay = secs(cx, &mut m, "delay", DEFAULT_DELAY);
    let timeout = secs(cx, &mut m, "timeout", DEFAULT_TIMEOUT);
    let max_consecutive_failures = match m.get("max-consecutive-failures") {
        Some(n) => cx
            .int_in(
                n,
                &m.child("max-consecutive-failures"),
                1,
                i64::from(i32::MAX),
            )
            .and_then(|v| u32::try_from(v).ok())
            .unwrap_or(DEFAULT_FAILURES),
        None => DEFAULT_FAILURES,
    };
    m.finish(cx, Unknown::Reject(HEALTH_KEYS, &[]));
    Some(HealthCheckSpec {
        cmd,
        interval,
        grace_period,
        max_consecutive_failures,
        delay,
        timeout,
    })
}

fn decode_readiness(cx: &mut Cx<'_>, node: &Node, path: &str) -> Option<ReadinessCheckSpec> {
    let mut m = cx.map(node, path)?;
    let cmd = check_cmd(cx, &mut m, node, path);
    let interval = secs(cx, &mut m, "interval", DEFAULT_INTERVAL);
    let delay = secs(cx, &mut m, "delay", DEFAULT_DELAY);
    let timeout = secs(cx, &mut m, "timeout", DEFAULT_TIMEOUT);
    m.finish(cx, Unknown::Reject(READINESS_KEYS, &[]));
    Some(ReadinessCheckSpec {
        cmd,
        interval,
        delay,
        timeout,
    })
}

fn decode_discovery(cx: &mut Cx<'_>, node: &Node, path: &str) -> Option<DiscoverySpec> {
    let mut m = cx.map(node, path)?;
    let prefix = m
        .get("prefix")
        .and_then(|n| cx.string(n, &join(path, "prefix")));
    let visibility = m
        .get("visibility")
        .and_then(|n| {
            cx.choice(
                n,
                &join(path, "visibility"),
                &["FRAMEWORK", "CLUSTER", "EXTERNAL"],
            )
        })
        .map(|v| match v.as_str() {
            "CLUSTER" => Visibility::Cluster,
            "EXTERNAL" => Visibility::External,
            _ => Visibility::Framework,
        });
    m.finish(cx, Unknown::Reject(DISCOVERY_KEYS, &[]));
    Some(DiscoverySpec { prefix, visibility })
}

fn decode_tls(cx: &mut Cx<'_>, node: &Node, path: &str) -> Vec<TransportEncryptionSpec> {
    let mut out = Vec::new();
    let Some(items) = cx.seq(node, path) else {
        return out;
    };
    for (i, item) in items.iter().enumerate() {
        let ip = format!("{path}[{i}]");
        let Some(mut m) = cx.map(item, &ip) else {
            continue;
        };
        let name = m.get("name").and_then(|n| cx.string(n, &join(&ip, "name")));
        let kind = m
            .get("type")
            .and_then(|n| cx.choice(n, &join(&ip, "type"), &["TLS", "KEYSTORE"]))
            .map(|t| {
                if t == "TLS" {
                    TlsArtifactType::Tls
                } else {
                    TlsArtifactType::Keystore
                }
            });
        m.finish(cx, Unknown::Reject(TLS_KEYS, &[]));
        match (name, kind) {
            (Some(name), Some(kind)) => out.push(TransportEncryptionSpec { name, kind }),
            (None, _) => missing(cx, item, &ip, "name", ": name the TLS artifact"),
            (_, None) => missing(cx, item, &ip, "type", ": TLS or KEYSTORE"),
        }
    }
    out
}
