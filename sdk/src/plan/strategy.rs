//! Strategies: which children may work now, and the statuses that follow.

use std::collections::BTreeSet;

use super::Status;
use super::model::{Phase, Plan, PodInstance, StepRef, Strategy};
use super::status::aggregate_status;

/// What a strategy needs to know about one child.
#[derive(Debug, Clone, Copy)]
struct Child {
    complete: bool,
    error: bool,
    interrupted: bool,
    dirty: bool,
}

impl Child {
    fn eligible(self) -> bool {
        !self.complete && !self.error && !self.interrupted && !self.dirty
    }
}

/// Indexes of the children `strategy` hands out (dcos-commons' strategies over
/// `PlanUtils.isEligible`): never complete, errored, interrupted or dirty ones.
fn strategy_candidates(strategy: &Strategy, children: &[Child]) -> Vec<usize> {
    match strategy {
        Strategy::Serial => children
            .iter()
            .position(|c| !c.complete)
            .filter(|&i| children[i].eligible())
            .into_iter()
            .collect(),
        Strategy::Parallel => (0..children.len())
            .filter(|&i| children[i].eligible())
            .collect(),
        Strategy::Dependency(deps) => (0..children.len())
            .filter(|&i| {
                children[i].eligible()
                    && deps
                        .get(i)
                        .map(|d| {
                            d.iter()
                                .all(|&p| p == i || children.get(p).is_none_or(|c| c.complete))
                        })
                        .unwrap_or(true)
            })
            .collect(),
    }
}

// === impl Phase ===

impl Phase {
    /// Whether the phase holds its steps back: its strategy is interrupted, or
    /// its canary gate waits for a `continue` (some canary step is still
    /// interrupted and none is released and unfinished).
    pub fn is_interrupted(&self) -> bool {
        if let Some(canary) = &self.canary
            && self.canary_active()
        {
            let released = canary.iter().any(|&i| {
                self.steps
                    .get(i)
                    .is_some_and(|s| !s.is_interrupted() && s.raw_status() != Status::Complete)
            });
            if !released {
                return true;
            }
        }
        self.interrupted
    }

    /// Some canary step is still interrupted: the gate decides candidates.
    pub(super) fn canary_active(&self) -> bool {
        self.canary.as_ref().is_some_and(|c| {
            c.iter()
                .any(|&i| self.steps.get(i).is_some_and(|s| s.is_interrupted()))
        })
    }

    /// Step indexes the strategy hands out, skipping steps on `dirty` pods.
    pub(super) fn candidate_indexes(&self, dirty: Option<&BTreeSet<PodInstance>>) -> Vec<usize> {
        let children: Vec<Child> = self
            .steps
            .iter()
            .map(|s| Child {
                complete: s.status() == Status::Complete,
                error: s.status() == Status::Error,
                interrupted: s.is_interrupted(),
                dirty: match (dirty, s.pod_instance()) {
                    (Some(d), Some(p)) => d.contains(p),
                    _ => false,
                },
            })
            .collect();
        if self.canary_active() {
            return self
                .canary
                .iter()
                .flatten()
                .copied()
                .filter(|&i| children.get(i).is_some_and(|c| c.eligible()))
                .collect();
        }
        if self.interrupted {
            return Vec::new();
        }
        strategy_candidates(&self.strategy, &children)
    }

    /// Status from the steps (see [`aggregate_status`]).
    pub fn status(&self) -> Status {
        let children: Vec<Status> = self.steps.iter().map(|s| s.status()).collect();
        let candidates: Vec<Status> = self
            .candidate_indexes(None)
            .into_iter()
            .filter_map(|i| children.get(i).copied())
            .collect();
        let has_errors =
            !self.errors.is_empty() || self.steps.iter().any(|s| !s.errors().is_empty());
        aggregate_status(&children, &candidates, has_errors, self.is_interrupted())
    }
}

// === impl Plan ===

impl Plan {
    fn phase_children(&self) -> (Vec<Status>, Vec<Child>) {
        let statuses: Vec<Status> = self.phases.iter().map(Phase::status).collect();
        let children = self
            .phases
            .iter()
            .zip(&statuses)
            .map(|(p, s)| Child {
                complete: *s == Status::Complete,
                error: *s == Status::Error,
                interrupted: p.is_interrupted(),
                dirty: false,
            })
            .collect();
        (statuses, children)
    }

    fn phase_candidates(&self, children: &[Child]) -> Vec<usize> {
        if self.interrupted {
            return Vec::new();
        }
        strategy_candidates(&self.strategy, children)
    }

    /// Status from the phases (see [`aggregate_status`]).
    pub fn status(&self) -> Status {
        let (statuses, children) = self.phase_children();
        let candidates: Vec<Status> = self
            .phase_candidates(&children)
            .into_iter()
            .filter_map(|i| statuses.get(i).copied())
            .collect();
        let has_errors = !self.errors().is_empty();
        aggregate_status(&statuses, &candidates, has_errors, self.interrupted)
    }

    /// `status() == COMPLETE`.
    pub fn is_complete(&self) -> bool {
        self.status() == Status::Complete
    }

    /// The steps that may do work now: handed out by the plan's and phases'
    /// strategies, not interrupted, not in `ERROR`, not `DELAYED`, not on a pod
    /// instance in `dirty` (pods another plan is working on), and waiting for
    /// offers (`PENDING` or `PREPARED`; steps already launched need no offers).
    /// Returned in plan order.
    pub fn candidates(&self, dirty: &BTreeSet<PodInstance>) -> Vec<StepRef> {
        let (_, children) = self.phase_children();
        let mut out = Vec::new();
        for pi in self.phase_candidates(&children) {
            let Some(phase) = self.phases.get(pi) else {
                continue;
            };
            for si in phase.candidate_indexes(Some(dirty)) {
                if phase
                    .steps
                    .get(si)
                    .is_some_and(|s| matches!(s.status(), Status::Pending | Status::Prepared))
                {
                    out.push(StepRef {
                        plan: self.name.clone(),
                        phase: pi,
                        step: si,
                    });
                }
            }
        }
        out
    }

    /// Pod instances this plan is working on: those of its `PREPARED` and
    /// `STARTING` steps.
    pub fn dirty_pods(&self) -> BTreeSet<PodInstance> {
        self.phases
            .iter()
            .flat_map(|p| p.steps.iter())
            .filter(|s| matches!(s.status(), Status::Prepared | Status::Starting))
            .filter_map(|s| s.pod_instance().cloned())
            .collect()
    }
}

/// Candidate steps across plans, as dcos-commons' `DefaultPlanCoordinator`
/// picks them. Pass plans in priority order (`deploy`, `recovery`,
/// `decommission`, custom plans). Plans whose status is `WAITING` are skipped.
/// A pod instance already being worked on by one plan (its step is `PREPARED`
/// or `STARTING`), or handed out by an earlier plan in this call, is not handed
/// out by another.
pub fn coordinate(plans: &[&Plan]) -> Vec<StepRef> {
    let active: Vec<&Plan> = plans
        .iter()
        .copied()
        .filter(|p| p.status() != Status::Waiting)
        .collect();
    let mut dirty: BTreeSet<PodInstance> = active.iter().flat_map(|p| p.dirty_pods()).collect();
    let mut out = Vec::new();
    for plan in active {
        let own = plan.dirty_pods();
        let others: BTreeSet<PodInstance> = dirty.difference(&own).cloned().collect();
        let picked = plan.candidates(&others);
        for r in &picked {
            if let Some(p) = plan.step(r).and_then(|s| s.pod_instance()) {
                dirty.insert(p.clone());
            }
        }
        out.extend(picked);
    }
    out
}
