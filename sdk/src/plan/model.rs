//! The plan tree: [`Plan`] → [`Phase`] → [`Step`], with deterministic ids.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Status;
use super::step::Step;

/// One instance of a pod type, e.g. `hello-0`. The unit that plans must not
/// work on concurrently (dcos-commons' "dirty asset").
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PodInstance {
    /// Pod type (`hello`).
    pub pod_type: String,
    /// Instance index.
    pub index: u32,
}

impl PodInstance {
    /// A pod instance.
    pub fn new(pod_type: impl Into<String>, index: u32) -> Self {
        PodInstance {
            pod_type: pod_type.into(),
            index,
        }
    }

    /// Name of one of its tasks: `<pod>-<index>-<task>`.
    pub fn task_name(&self, task: &str) -> String {
        format!("{}-{}-{}", self.pod_type, self.index, task)
    }
}

impl fmt::Display for PodInstance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.pod_type, self.index)
    }
}

/// How a parent hands out work to its children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Strategy {
    /// One child at a time, in order: the first child that is not complete.
    Serial,
    /// Every child that is not complete.
    Parallel,
    /// Each child waits until the children it lists (by index) are complete.
    /// `Dependency(deps)` has one entry per child; unknown indexes are ignored.
    Dependency(Vec<Vec<usize>>),
}

impl Strategy {
    /// `serial`, `parallel` or `dependency` (the name the API shows).
    pub fn name(&self) -> &'static str {
        match self {
            Strategy::Serial => "serial",
            Strategy::Parallel => "parallel",
            Strategy::Dependency(_) => "dependency",
        }
    }
}

/// Where a step is: plan name, phase index, step index.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct StepRef {
    /// Plan name.
    pub plan: String,
    /// Phase index within the plan.
    pub phase: usize,
    /// Step index within the phase.
    pub step: usize,
}

/// A step whose displayed status changed, reported by every mutating method
/// (what a `WatchPlan` stream sends).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepChange {
    /// Where the step is.
    pub step_ref: StepRef,
    /// Phase name.
    pub phase: String,
    /// Step id.
    pub step_id: String,
    /// Step name.
    pub step: String,
    /// Displayed status before.
    pub from: Status,
    /// Displayed status after.
    pub to: Status,
}

/// A group of steps, usually over the instances of one pod type.
#[derive(Debug, Clone, PartialEq)]
pub struct Phase {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) strategy: Strategy,
    pub(super) steps: Vec<Step>,
    pub(super) interrupted: bool,
    /// Indexes of the canary steps, when the phase uses a canary strategy.
    pub(super) canary: Option<Vec<usize>>,
    pub(super) errors: Vec<String>,
}

impl Phase {
    /// A phase; its id is assigned when it joins a [`Plan`].
    pub fn new(name: impl Into<String>, strategy: Strategy, steps: Vec<Step>) -> Self {
        Phase {
            id: String::new(),
            name: name.into(),
            strategy,
            steps,
            interrupted: false,
            canary: None,
            errors: Vec::new(),
        }
    }

    /// Wraps the strategy in dcos-commons' canary gate: the first two steps that
    /// are still pending are interrupted. The first `continue` releases the first
    /// of them; once it completes, the phase waits again; the second `continue`
    /// releases the second and hands the phase back to its strategy for all the
    /// rest. With no pending steps (e.g. everything already deployed) the gate is
    /// a no-op.
    pub fn with_canary(mut self) -> Self {
        let mut canary = Vec::new();
        for (i, step) in self.steps.iter_mut().enumerate() {
            if canary.len() == 2 {
                break;
            }
            if step.raw_status() == Status::Pending || step.is_interrupted() {
                step.interrupt();
                canary.push(i);
            }
        }
        self.canary = Some(canary);
        self
    }

    /// Starts the phase interrupted.
    pub fn interrupted(mut self) -> Self {
        self.interrupted = true;
        self
    }

    /// With errors of the phase itself.
    pub fn with_errors(mut self, errors: Vec<String>) -> Self {
        self.errors = errors;
        self
    }

    /// Deterministic id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Strategy over the steps.
    pub fn strategy(&self) -> &Strategy {
        &self.strategy
    }

    /// Strategy name as the API shows it: `serial`, `parallel`, `dependency`,
    /// with `-canary` appended for canary phases.
    pub fn strategy_name(&self) -> String {
        match self.canary {
            Some(_) => format!("{}-canary", self.strategy.name()),
            None => self.strategy.name().to_string(),
        }
    }

    /// Steps in order.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// Errors of the phase itself and all its steps.
    pub fn errors(&self) -> Vec<String> {
        let mut out = self.errors.clone();
        for step in &self.steps {
            out.extend(step.errors().iter().cloned());
        }
        out
    }

    /// Index of the step with this id, or else with this (unique) name.
    pub fn find_step(&self, id_or_name: &str) -> Option<usize> {
        if let Some(i) = self.steps.iter().position(|s| s.id() == id_or_name) {
            return Some(i);
        }
        let mut named = self
            .steps
            .iter()
            .enumerate()
            .filter(|(_, s)| s.name() == id_or_name);
        match (named.next(), named.next()) {
            (Some((i, _)), None) => Some(i),
            _ => None,
        }
    }
}

/// A plan: named, ordered phases under a strategy.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) strategy: Strategy,
    pub(super) phases: Vec<Phase>,
    pub(super) errors: Vec<String>,
    pub(super) interrupted: bool,
}

impl Plan {
    /// A plan with ids derived from its names (see [`Plan::with_id_seed`]).
    pub fn new(name: impl Into<String>, strategy: Strategy, phases: Vec<Phase>) -> Self {
        let mut plan = Plan {
            id: String::new(),
            name: name.into(),
            strategy,
            phases,
            errors: Vec::new(),
            interrupted: false,
        };
        plan.assign_ids("");
        plan
    }

    /// Re-derives every id from `seed` and the plan, phase and step names and
    /// positions: the same seed and tree always give the same ids, so ids are
    /// stable across scheduler restarts and reproducible in tests.
    pub fn with_id_seed(mut self, seed: &str) -> Self {
        self.assign_ids(seed);
        self
    }

    /// Starts the plan interrupted (custom plans wait for `plan start`).
    pub fn interrupted(mut self) -> Self {
        self.interrupted = true;
        self
    }

    /// With errors of the plan itself (e.g. a rejected config update).
    pub fn with_errors(mut self, errors: Vec<String>) -> Self {
        self.errors = errors;
        self
    }

    /// Renames the plan (the `update` plan runs as `deploy`); ids are kept.
    pub fn renamed(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Deterministic id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Strategy over the phases.
    pub fn strategy(&self) -> &Strategy {
        &self.strategy
    }

    /// Phases in order.
    pub fn phases(&self) -> &[Phase] {
        &self.phases
    }

    /// Whether the plan's own strategy is interrupted.
    pub fn is_interrupted(&self) -> bool {
        self.interrupted
    }

    /// Errors of the plan, its phases and their steps.
    pub fn errors(&self) -> Vec<String> {
        let mut out = self.errors.clone();
        for phase in &self.phases {
            out.extend(phase.errors());
        }
        out
    }

    /// The step at `at`, if it exists in this plan.
    pub fn step(&self, at: &StepRef) -> Option<&Step> {
        if at.plan != self.name {
            return None;
        }
        self.phases.get(at.phase)?.steps.get(at.step)
    }

    /// Every step with its reference, in order.
    pub fn steps(&self) -> impl Iterator<Item = (StepRef, &Step)> + '_ {
        self.phases.iter().enumerate().flat_map(move |(pi, phase)| {
            phase.steps.iter().enumerate().map(move |(si, step)| {
                (
                    StepRef {
                        plan: self.name.clone(),
                        phase: pi,
                        step: si,
                    },
                    step,
                )
            })
        })
    }

    /// Index of the phase with this id, or else with this name.
    pub fn find_phase(&self, id_or_name: &str) -> Option<usize> {
        self.phases
            .iter()
            .position(|p| p.id == id_or_name)
            .or_else(|| self.phases.iter().position(|p| p.name == id_or_name))
    }

    /// Environment overrides recorded by `plan start`, as the steps will use
    /// them (all steps of a plan carry the same parameters).
    pub fn parameters(&self) -> BTreeMap<String, String> {
        self.phases
            .iter()
            .flat_map(|p| p.steps.iter())
            .next()
            .map(|s| s.parameters().clone())
            .unwrap_or_default()
    }

    fn assign_ids(&mut self, seed: &str) {
        self.id = element_id(seed, &[&self.name]);
        for (pi, phase) in self.phases.iter_mut().enumerate() {
            let pi_s = pi.to_string();
            phase.id = element_id(seed, &[&self.name, &pi_s, &phase.name]);
            for (si, step) in phase.steps.iter_mut().enumerate() {
                let si_s = si.to_string();
                step.id = element_id(seed, &[&self.name, &pi_s, &phase.name, &si_s, &step.name]);
            }
        }
    }

    /// Displayed status of every step, in order (for change tracking).
    fn snapshot(&self) -> Vec<Status> {
        self.phases
            .iter()
            .flat_map(|p| p.steps.iter().map(Step::status))
            .collect()
    }

    /// Runs `f` and reports every step whose displayed status changed.
    pub(super) fn tracked<R>(&mut self, f: impl FnOnce(&mut Plan) -> R) -> (R, Vec<StepChange>) {
        let before = self.snapshot();
        let out = f(self);
        let mut changes = Vec::new();
        let mut from = before.into_iter();
        for (pi, phase) in self.phases.iter().enumerate() {
            for si in 0..phase.steps.len() {
                if let Some(change) = from.next().and_then(|f| self.change_at(pi, si, f)) {
                    changes.push(change);
                }
            }
        }
        (out, changes)
    }

    /// The change of step `si` of phase `pi` since it was `from`, if any.
    pub(super) fn change_at(&self, pi: usize, si: usize, from: Status) -> Option<StepChange> {
        let phase = self.phases.get(pi)?;
        let step = phase.steps.get(si)?;
        let to = step.status();
        (from != to).then(|| StepChange {
            step_ref: StepRef {
                plan: self.name.clone(),
                phase: pi,
                step: si,
            },
            phase: phase.name.clone(),
            step_id: step.id().to_string(),
            step: step.name().to_string(),
            from,
            to,
        })
    }
}

/// A UUID-shaped id (version 8) derived from a seed and name parts with SHA-256.
pub fn element_id(seed: &str, parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(seed.as_bytes());
    for part in parts {
        hasher.update([0u8]);
        hasher.update(part.as_bytes());
    }
    let digest = hasher.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_deterministic_and_seeded() {
        let a = element_id("seed", &["deploy", "0", "hello"]);
        assert_eq!(a, element_id("seed", &["deploy", "0", "hello"]));
        assert_ne!(a, element_id("other", &["deploy", "0", "hello"]));
        assert_ne!(a, element_id("seed", &["deploy", "0hello"]));
        let parsed = uuid::Uuid::parse_str(&a).unwrap();
        assert_eq!(parsed.get_version_num(), 8);
    }

    #[test]
    fn pod_instance_names() {
        let p = PodInstance::new("hello", 3);
        assert_eq!(p.to_string(), "hello-3");
        assert_eq!(p.task_name("server"), "hello-3-server");
    }
}
