//! Top level, `scheduler:` and `plans:`.

use super::{Cx, Unknown, pod::decode_pod};
use crate::spec::error::SpecError;
use crate::spec::model::{
    PhaseSpec, PhaseStrategy, PlanSpec, PlanStrategy, SchedulerSpec, ServiceSpec, StepRule,
    StepSelector,
};
use crate::spec::yaml::{Node, NodeValue};

const TOP_KEYS: &[&str] = &["name", "web-url", "scheduler", "pods", "plans"];
const TOP_HINTS: &[(&str, &str)] = &[
    (
        "replacement-failure-policy",
        "replacement-failure-policy is set from Rust code, not svc.yml (it is Java-only in dcos-commons too)",
    ),
    (
        "role",
        "the role is derived from the service name ('<name>-role'); remove this key",
    ),
];
const SCHEDULER_KEYS: &[&str] = &["principal", "zookeeper", "user"];
const PLAN_KEYS: &[&str] = &["strategy", "phases"];
const PHASE_KEYS: &[&str] = &["strategy", "pod", "steps"];

pub(crate) fn decode_service(cx: &mut Cx<'_>, root: &Node) -> Option<ServiceSpec> {
    let mut m = cx.map(root, "")?;
    let mut spec = ServiceSpec::default();
    match m.get("name") {
        Some(n) => match cx.string(n, "name") {
            Some(s) if !s.trim().is_empty() => spec.name = s,
            Some(_) | None => cx.err_at(
                n,
                "name",
                SpecError::InvalidValue {
                    value: String::new(),
                    reason: "the service name must not be empty".into(),
                },
            ),
        },
        None => cx.err_path(
            "name",
            SpecError::MissingKey {
                key: "name".into(),
                hint: ": every spec starts with 'name: <service-name>'".into(),
            },
        ),
    }
    if let Some(n) = m.get("web-url") {
        spec.web_url = cx.string(n, "web-url");
    }
    if let Some(n) = m.get("scheduler") {
        spec.scheduler = decode_scheduler(cx, n);
    }
    match m.get("pods") {
        Some(n) if !n.is_null() => {
            if let Some(mut pods) = cx.map(n, "pods") {
                for e in pods.all() {
                    let path = pods.child(&e.key);
                    if let Some(p) = decode_pod(cx, &e.key, &e.value, &path) {
                        spec.pods.push(p);
                    }
                }
                if spec.pods.is_empty()
                    && !cx
                        .diags
                        .errors
                        .iter()
                        .any(|d| d.location.path.starts_with("pods"))
                {
                    cx.err_at(
                        n,
                        "pods",
                        SpecError::InvalidValue {
                            value: String::new(),
                            reason: "a service needs at least one pod type".into(),
                        },
                    );
                }
            }
        }
        Some(n) => cx.err_at(
            n,
            "pods",
            SpecError::InvalidValue {
                value: String::new(),
                reason: "a service needs at least one pod type under 'pods:'".into(),
            },
        ),
        None => cx.err_path(
            "pods",
            SpecError::MissingKey {
                key: "pods".into(),
                hint: ": declare the pod types under 'pods:'".into(),
            },
        ),
    }
    if let Some(n) = m.get("plans")
        && let Some(mut plans) = cx.map(n, "plans")
    {
        for e in plans.all() {
            let path = plans.child(&e.key);
            if let Some(p) = decode_plan(cx, &e.key, &e.value, &path) {
                spec.plans.push(p);
            }
        }
    }
    m.finish(cx, Unknown::Reject(TOP_KEYS, TOP_HINTS));
    Some(spec)
}

fn decode_scheduler(cx: &mut Cx<'_>, node: &Node) -> SchedulerSpec {
    let mut out = SchedulerSpec::default();
    let Some(mut m) = cx.map(node, "scheduler") else {
        return out;
    };
    if let Some(n) = m.get("principal") {
        out.principal = cx.string(n, "scheduler.principal");
    }
    if let Some(n) = m.get("zookeeper") {
        out.zookeeper = cx.string(n, "scheduler.zookeeper");
    }
    if let Some(n) = m.get("user") {
        out.user = cx.string(n, "scheduler.user");
    }
    m.finish(cx, Unknown::Reject(SCHEDULER_KEYS, &[]));
    out
}

fn decode_plan(cx: &mut Cx<'_>, name: &str, node: &Node, path: &str) -> Option<PlanSpec> {
    let mut m = cx.map(node, path)?;
    let mut plan = PlanSpec {
        name: name.to_string(),
        strategy: None,
        phases: Vec::new(),
    };
    if let Some(n) = m.get("strategy") {
        let p = m.child("strategy");
        plan.strategy = match cx.choice(n, &p, &["serial", "parallel"]) {
            Some(s) if s == "parallel" => Some(PlanStrategy::Parallel),
            Some(_) => Some(PlanStrategy::Serial),
            None => None,
        };
    }
    match m.get("phases") {
        Some(n) => {
            let p = m.child("phases");
            if let Some(mut phases) = cx.map(n, &p) {
                let entries = phases.all();
                for e in &entries {
                    let pp = phases.child(&e.key);
                    if let Some(ph) = decode_phase(cx, &e.key, &e.value, &pp) {
                        plan.phases.push(ph);
                    }
                }
                if entries.is_empty() {
                    cx.err_at(
                        n,
                        &p,
                        SpecError::InvalidValue {
                            value: String::new(),
                            reason: format!("plan '{name}' needs at least one phase"),
                        },
                    );
                }
            }
        }
        None => cx.err_at(
            node,
            path,
            SpecError::MissingKey {
                key: "phases".into(),
                hint: format!(": plan '{name}' needs 'phases:'"),
            },
        ),
    }
    m.finish(cx, Unknown::Reject(PLAN_KEYS, &[]));
    Some(plan)
}

fn decode_phase(cx: &mut Cx<'_>, name: &str, node: &Node, path: &str) -> Option<PhaseSpec> {
    let mut m = cx.map(node, path)?;
    let mut strategy = None;
    if let Some(n) = m.get("strategy") {
        let p = m.child("strategy");
        strategy = cx
            .choice(
                n,
                &p,
                &[
                    "serial",
                    "parallel",
                    "serial-canary",
                    "canary",
                    "parallel-canary",
                ],
            )
            .map(|s| match s.as_str() {
                "parallel" => PhaseStrategy::Parallel,
                "serial-canary" | "canary" => PhaseStrategy::SerialCanary,
                "parallel-canary" => PhaseStrategy::ParallelCanary,
                _ => PhaseStrategy::Serial,
            });
    }
    let pod = match m.get("pod") {
        Some(n) => cx.string(n, &m.child("pod")),
        None => None,
    };
    let Some(pod) = pod else {
        cx.err_at(
            node,
            path,
            SpecError::MissingKey {
                key: "pod".into(),
                hint: format!(": phase '{name}' must name the pod type it deploys"),
            },
        );
        m.finish(cx, Unknown::Reject(PHASE_KEYS, &[]));
        return None;
    };
    let steps = match m.get("steps") {
        Some(n) => decode_steps(cx, n, &m.child("steps")),
        None => None,
    };
    m.finish(cx, Unknown::Reject(PHASE_KEYS, &[]));
    Some(PhaseSpec {
        name: name.to_string(),
        strategy,
        pod,
        steps,
    })
}

fn decode_steps(cx: &mut Cx<'_>, node: &Node, path: &str) -> Option<Vec<StepRule>> {
    let items = cx.seq(node, path)?;
    let mut rules = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let ip = format!("{path}[{i}]");
        let NodeValue::Map(entries) = &item.value else {
            cx.err_at(
                item,
                &ip,
                SpecError::WrongType {
                    expected: "'- <index>|default: [[task, ...]]'".into(),
                    found: item.describe(),
                },
            );
            continue;
        };
        let _ = cx.map(item, &ip);
        for e in entries {
            let kp = format!("{ip}.{}", e.key);
            let selector = if e.key == "default" {
                StepSelector::Default
            } else if let Ok(i) = e.key.trim().parse::<u32>() {
                StepSelector::Index(i)
            } else {
                cx.err_at(
                    &e.value,
                    &kp,
                    SpecError::InvalidValue {
                        value: e.key.clone(),
                        reason: "a step key is a pod instance index (0, 1, …) or 'default'".into(),
                    },
                );
                continue;
            };
            let mut groups = Vec::new();
            if let Some(gs) = cx.seq(&e.value, &kp) {
                for (gi, g) in gs.iter().enumerate() {
                    let gp = format!("{kp}[{gi}]");
                    let Some(tasks) = cx.seq(g, &gp) else {
                        continue;
                    };
                    let mut group = Vec::new();
                    for (ti, t) in tasks.iter().enumerate() {
                        if let Some(name) = cx.string(t, &format!("{gp}[{ti}]")) {
                            group.push(name);
                        }
                    }
                    groups.push(group);
                }
            }
            rules.push(StepRule {
                selector,
                task_groups: groups,
            });
        }
    }
    Some(rules)
}
