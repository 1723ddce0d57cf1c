//! A small model of how a Mesos master applies offer operations to an
//! agent's resources: RESERVE, UNRESERVE, CREATE, DESTROY and LAUNCH_GROUP
//! each must find what they consume. Used to check recommendations (and
//! shared with the integration tests via `#[path]`, so it only uses
//! `plinth_proto`).

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeSet;

use plinth_proto::v1::offer::{Operation, operation};
use plinth_proto::v1::{Resource, value};

/// The resources of one agent as the master sees them.
#[derive(Debug, Clone, Default)]
pub struct AgentModel {
    /// Free (offerable) resources.
    pub resources: Vec<Resource>,
    /// Executors launched so far.
    pub executors: BTreeSet<String>,
}

fn milli(v: f64) -> i64 {
    (v * 1000.0).round() as i64
}

fn shape(r: &Resource) -> Resource {
    let mut k = r.clone();
    k.scalar = None;
    k.ranges = None;
    k
}

fn spans(r: &Resource) -> Vec<(u64, u64)> {
    r.ranges
        .as_ref()
        .map(|x| x.range.iter().map(|r| (r.begin, r.end)).collect())
        .unwrap_or_default()
}

fn set_spans(r: &mut Resource, s: Vec<(u64, u64)>) {
    r.ranges = Some(value::Ranges {
        range: s
            .into_iter()
            .map(|(begin, end)| value::Range { begin, end })
            .collect(),
    });
}

fn is_scalar(r: &Resource) -> bool {
    r.r#type == value::Type::Scalar as i32
}

fn popped(r: &Resource) -> Resource {
    let mut s = r.clone();
    s.reservations.pop();
    s
}

fn without_volume(r: &Resource) -> Resource {
    let mut s = r.clone();
    if let Some(d) = &mut s.disk {
        d.persistence = None;
        d.volume = None;
        if d.source.is_none() {
            s.disk = None;
        }
    }
    s
}

impl AgentModel {
    /// A model holding `resources`.
    pub fn new(resources: &[Resource]) -> Self {
        let mut m = AgentModel::default();
        for r in resources {
            m.add(r.clone());
        }
        m
    }

    fn add(&mut self, r: Resource) {
        let k = shape(&r);
        if let Some(e) = self.resources.iter_mut().find(|e| shape(e) == k) {
            if is_scalar(&r) {
                let a = e.scalar.as_ref().map_or(0.0, |s| s.value);
                let b = r.scalar.as_ref().map_or(0.0, |s| s.value);
                e.scalar = Some(value::Scalar {
                    value: (milli(a) + milli(b)) as f64 / 1000.0,
                });
            } else {
                let mut all = spans(e);
                all.extend(spans(&r));
                set_spans(e, all);
            }
            return;
        }
        self.resources.push(r);
    }

    fn subtract(&mut self, r: &Resource, why: &str) -> Result<(), String> {
        let k = shape(r);
        if is_scalar(r) {
            let mut need = milli(r.scalar.as_ref().map_or(0.0, |s| s.value));
            let have: i64 = self
                .resources
                .iter()
                .filter(|e| shape(e) == k)
                .map(|e| milli(e.scalar.as_ref().map_or(0.0, |s| s.value)))
                .sum();
            if have < need {
                return Err(format!(
                    "{why}: needs {} of {} ({:?}), agent has {}",
                    need as f64 / 1000.0,
                    r.name,
                    r.reservations.last().and_then(|x| x.role.clone()),
                    have as f64 / 1000.0
                ));
            }
            for e in self.resources.iter_mut().filter(|e| shape(e) == k) {
                let v = milli(e.scalar.as_ref().map_or(0.0, |s| s.value));
                let take = v.min(need);
                need -= take;
                e.scalar = Some(value::Scalar {
                    value: (v - take) as f64 / 1000.0,
                });
            }
            self.resources
                .retain(|e| !is_scalar(e) || e.scalar.as_ref().is_some_and(|s| milli(s.value) > 0));
            return Ok(());
        }
        for (b, e) in spans(r) {
            for p in b..=e {
                let entry = self
                    .resources
                    .iter_mut()
                    .find(|x| shape(x) == k && spans(x).iter().any(|&(lo, hi)| lo <= p && p <= hi));
                let Some(entry) = entry else {
                    return Err(format!("{why}: port {p} of {} not available", r.name));
                };
                let mut out = Vec::new();
                for (lo, hi) in spans(entry) {
                    if lo <= p && p <= hi {
                        if lo < p {
                            out.push((lo, p - 1));
                        }
                        if p < hi {
                            out.push((p + 1, hi));
                        }
                    } else {
                        out.push((lo, hi));
                    }
                }
                set_spans(entry, out);
            }
        }
        self.resources
            .retain(|e| is_scalar(e) || !spans(e).is_empty());
        Ok(())
    }

    /// Applies one operation; `Err` when it would consume something absent.
    pub fn apply(&mut self, op: &Operation) -> Result<(), String> {
        match operation::Type::try_from(op.r#type.unwrap_or_default()) {
            Ok(operation::Type::Reserve) => {
                for r in &op.reserve.as_ref().ok_or("RESERVE without body")?.resources {
                    let top = r.reservations.last().ok_or("RESERVE without reservation")?;
                    let alloc = r.allocation_info.as_ref().and_then(|a| a.role.clone());
                    if top.role != alloc {
                        return Err(format!(
                            "RESERVE role {:?} != allocation role {alloc:?}",
                            top.role
                        ));
                    }
                    self.subtract(&popped(r), "RESERVE")?;
                    self.add(r.clone());
                }
            }
            Ok(operation::Type::Unreserve) => {
                for r in &op
                    .unreserve
                    .as_ref()
                    .ok_or("UNRESERVE without body")?
                    .resources
                {
                    self.subtract(r, "UNRESERVE")?;
                    self.add(popped(r));
                }
            }
            Ok(operation::Type::Create) => {
                for v in &op.create.as_ref().ok_or("CREATE without body")?.volumes {
                    if v.reservations.is_empty() {
                        return Err("CREATE on unreserved disk".into());
                    }
                    self.subtract(&without_volume(v), "CREATE")?;
                    self.add(v.clone());
                }
            }
            Ok(operation::Type::Destroy) => {
                for v in &op.destroy.as_ref().ok_or("DESTROY without body")?.volumes {
                    self.subtract(v, "DESTROY")?;
                    self.add(without_volume(v));
                }
            }
            Ok(operation::Type::LaunchGroup) => {
                let lg = op
                    .launch_group
                    .as_ref()
                    .ok_or("LAUNCH_GROUP without body")?;
                let id = lg.executor.executor_id.value.clone();
                if !self.executors.contains(&id) {
                    for r in &lg.executor.resources {
                        self.subtract(r, "executor")?;
                    }
                    self.executors.insert(id);
                }
                for t in &lg.task_group.tasks {
                    if t.resources.is_empty() {
                        return Err(format!("task {} uses no resources", t.name));
                    }
                    for r in &t.resources {
                        self.subtract(r, &t.name)?;
                    }
                }
            }
            other => return Err(format!("unexpected operation {other:?}")),
        }
        Ok(())
    }

    /// Applies every operation in order.
    pub fn apply_all(&mut self, ops: &[Operation]) -> Result<(), String> {
        ops.iter().try_for_each(|o| self.apply(o))
    }
}
