//! Driving the `decommission` plan in the core (pure); the plan itself is
//! built by [`crate::decommission`].
//!
//! Each batch (once subscribed and reconciled) the candidate decommission
//! steps advance as far as they can:
//! * `kill-<task>`: KILL once, `STARTING` until the task is gone; a task
//!   never launched or already gone completes at once.
//! * `unreserve-<resource_id>`: `STARTING` while the resource is still in a
//!   stored TaskInfo. Once the task is gone the resource GC no longer sees
//!   it held, releases it from the next offer that carries it
//!   ([`SchedulerCore::released_by_decommission`] then strips it from the
//!   stored TaskInfo) and the step completes.
//! * `erase-<task>`: deletes the task's stored state ([`Effect::EraseTask`]).

use std::collections::BTreeSet;

use plinth_proto::v1::TaskState as MesosState;

use super::failure::is_gone;
use super::{Effect, Known, SchedulerCore};
use crate::decommission::{DECOMMISSION_PLAN, is_surplus, strip_resources};
use crate::mesos::calls;
use crate::offer::labels;
use crate::plan::{DecommissionAction, Status, StepKind, StepRef, coordinate};
use crate::scheduler::command::pod_instance_of;

/// Bound on advancing passes per batch (each pass completes at least one step).
const MAX_PASSES: usize = 10_000;

/// Whether `known`'s agent was marked gone (TASK_GONE_BY_OPERATOR).
fn agent_gone(known: &Known) -> bool {
    known
        .status
        .as_ref()
        .is_some_and(|s| s.state == MesosState::TaskGoneByOperator as i32)
}

// === impl SchedulerCore (decommission) ===

impl SchedulerCore {
    /// Whether `known` is a task of a surplus pod instance that no longer
    /// runs (or never ran): it holds no resources any more.
    pub(super) fn is_retired(&self, known: &Known) -> bool {
        (known.info.task_id.value.is_empty() || is_gone(known.status.as_ref()))
            && pod_instance_of(&known.info).is_some_and(|p| is_surplus(&self.ctx.spec, &p))
    }

    /// Advances the candidate decommission steps as far as possible.
    pub(super) fn advance_decommission(&mut self, effects: &mut Vec<Effect>) {
        for _ in 0..MAX_PASSES {
            // Steps at work (STARTING) and new candidates (PENDING).
            let mut candidates = self.decommission_at_work();
            let plans: Vec<&crate::plan::Plan> = self.plans.iter().collect();
            candidates.extend(
                coordinate(&plans)
                    .into_iter()
                    .filter(|at| at.plan == DECOMMISSION_PLAN),
            );
            let mut progressed = false;
            for at in candidates {
                progressed |= self.advance_step(&at, effects);
            }
            if !progressed {
                return;
            }
        }
    }

    /// Decommission steps at work (`STARTING`): a kill waiting for the
    /// task's end, an unreserve waiting for an offer with the resource —
    /// offers must keep coming (no SUPPRESS, short declines).
    pub(super) fn decommission_at_work(&self) -> Vec<StepRef> {
        self.plans
            .iter()
            .filter(|p| p.name() == DECOMMISSION_PLAN)
            .flat_map(|p| p.steps())
            .filter(|(_, s)| s.raw_status() == Status::Starting)
            .map(|(at, _)| at)
            .collect()
    }

    /// One decommission step; true when it completed.
    fn advance_step(&mut self, at: &StepRef, effects: &mut Vec<Effect>) -> bool {
        let Some(plan) = self.plans.iter().find(|p| p.name() == at.plan) else {
            return false;
        };
        let Some(step) = plan.step(at) else {
            return false;
        };
        let StepKind::Decommission(action) = step.kind().clone() else {
            return false;
        };
        let started = step.raw_status() == Status::Starting;
        let done = match &action {
            DecommissionAction::Kill { task } => match self.tasks.get(task) {
                None => true,
                Some(k) if k.info.task_id.value.is_empty() || is_gone(k.status.as_ref()) => true,
                Some(k) => {
                    if !started {
                        tracing::info!(%task, "decommission: killing the task");
                        let agent = Some(k.info.agent_id.clone()).filter(|a| !a.value.is_empty());
                        effects.push(Effect::Call(Box::new(calls::kill(
                            k.info.task_id.clone(),
                            agent,
                        ))));
                    }
                    false
                }
            },
            // Released once no stored task holds it; resources of an agent
            // marked gone are gone with it (no offer will ever bring them).
            DecommissionAction::Unreserve { resource_id } => !self
                .tasks
                .values()
                .any(|k| !agent_gone(k) && labels::resource_ids(&k.info).contains(resource_id)),
            DecommissionAction::Erase { task } => {
                if self.tasks.remove(task).is_some() {
                    tracing::info!(%task, "decommission: erasing the task's state");
                    effects.push(Effect::EraseTask(task.clone()));
                    self.backoff.reset(task);
                }
                true
            }
        };
        let to = if done {
            Status::Complete
        } else {
            Status::Starting
        };
        if (done || !started)
            && let Some(plan) = self.plans.iter_mut().find(|p| p.name() == at.plan)
        {
            match plan.mark_driven(at, to) {
                Ok(changes) => self.changes.extend(changes),
                Err(e) => {
                    tracing::warn!(error = %e, step = ?at, "decommission step not advanced")
                }
            }
        }
        done
    }

    /// The resource GC released `resource_ids`: strip them from the stored
    /// TaskInfos of decommissioned tasks, so their unreserve steps complete
    /// (also after a restart).
    pub(super) fn released_by_decommission(
        &mut self,
        resource_ids: &[String],
        effects: &mut Vec<Effect>,
    ) {
        let released: BTreeSet<String> = resource_ids.iter().cloned().collect();
        let retired: Vec<String> = self
            .tasks
            .iter()
            .filter(|(_, k)| self.is_retired(k))
            .map(|(name, _)| name.clone())
            .collect();
        let mut stripped = Vec::new();
        for name in retired {
            if let Some(k) = self.tasks.get_mut(&name)
                && strip_resources(std::sync::Arc::make_mut(&mut k.info), &released)
            {
                stripped.push(plinth_proto::v1::TaskInfo::clone(&k.info));
            }
        }
        if !stripped.is_empty() {
            effects.push(Effect::StoreTasks(stripped));
        }
    }
}

#[cfg(test)]
mod tests {
    use plinth_proto::v1::TaskState as Mesos;
    use plinth_proto::v1::offer::operation;

    use super::super::fixture::{Sim, kills};
    use super::*;
    use crate::plan::Plan;

    fn spec(world_count: u32) -> String {
        format!(
            r"
name: svc
pods:
  hello:
    count: 1
    tasks:
      server:
        goal: RUNNING
        cmd: sleep 1000
        cpus: 0.5
        memory: 64
  world:
    count: {world_count}
    allow-decommission: true
    tasks:
      server:
        goal: RUNNING
        cmd: sleep 1000
        cpus: 0.5
        memory: 64
        volume:
          path: data
          type: ROOT
          size: 16
"
        )
    }

    fn decommission_plan(sim: &Sim) -> &Plan {
        sim.core
            .plans()
            .iter()
            .find(|p| p.name() == DECOMMISSION_PLAN)
            .unwrap()
    }

    fn step_statuses(sim: &Sim) -> Vec<(String, Status)> {
        decommission_plan(sim)
            .phases()
            .iter()
            .flat_map(|p| p.steps())
            .map(|s| (s.name().to_owned(), s.status()))
            .collect()
    }

    /// World scaled from 3 to 1 on a restarted scheduler, reconciled.
    fn scaled_in() -> Sim {
        let mut before = Sim::new(&spec(3), Vec::new());
        before.deploy("a1");
        assert!(before.core.plans()[0].is_complete());
        let mut sim = Sim::new(&spec(1), before.stored());
        // Explicit reconciliation answers (no uuid).
        for name in [
            "hello-0-server",
            "world-0-server",
            "world-1-server",
            "world-2-server",
        ] {
            let mut status = super::super::fixture::status(&sim.task(name), Mesos::TaskRunning);
            status.uuid = None;
            sim.input(super::super::Input::Update(status));
        }
        assert!(sim.core.is_ready());
        sim
    }

    fn reservations(sim: &Sim, task: &str) -> Vec<plinth_proto::v1::Resource> {
        let info = sim.task(task);
        let executor = info.executor.iter().flat_map(|e| e.resources.clone());
        info.resources.iter().cloned().chain(executor).collect()
    }

    fn operations(effects: &[Effect]) -> Vec<operation::Type> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Call(c) => c.accept.as_ref(),
                _ => None,
            })
            .flat_map(|a| a.operations.iter().map(|o| o.r#type()))
            .collect()
    }

    #[test]
    fn scale_in_kills_releases_and_erases_the_highest_index_first() {
        let mut sim = scaled_in();
        let phases: Vec<&str> = decommission_plan(&sim)
            .phases()
            .iter()
            .map(|p| p.name())
            .collect();
        assert_eq!(phases, ["world-2", "world-1"]);
        // The kill of world-2 went out with the last reconciliation answer;
        // world-1 waits its turn, world-0 and hello are left alone.
        let world2 = sim.task("world-2-server");
        assert!(sim.core.own_kills().contains(&world2.task_id.value));
        assert_eq!(sim.core.own_kills().len(), 1);
        assert_eq!(step_statuses(&sim)[0].1, Status::Starting);

        let effects = sim.report("world-2-server", Mesos::TaskKilled);
        assert!(kills(&effects).is_empty());
        let recovery = sim
            .core
            .plans()
            .iter()
            .find(|p| p.name() == "recovery")
            .unwrap();
        assert!(
            recovery.phases().is_empty(),
            "a decommissioned task is not recovered"
        );
        assert_eq!(step_statuses(&sim)[0].1, Status::Complete);

        // Its reservations come back in an offer: destroyed and unreserved,
        // stripped from the stored TaskInfo, then the task is erased.
        let held = reservations(&sim, "world-2-server");
        assert_eq!(held.len(), 6, "cpus, mem, volume; executor cpus, mem, disk");
        let effects = sim.offer("a1", &held);
        let ops = operations(&effects);
        assert!(ops.contains(&operation::Type::Destroy), "{ops:?}");
        assert!(ops.contains(&operation::Type::Unreserve), "{ops:?}");
        assert!(
            effects
                .iter()
                .any(|e| matches!(e, Effect::EraseTask(name) if name == "world-2-server"))
        );
        assert!(sim.core.tasks().all(|(i, _)| i.name != "world-2-server"));
        // world-1 is next: killed in the same batch.
        let world1 = sim.task("world-1-server").task_id.value;
        assert_eq!(kills(&effects), [world1]);

        sim.report("world-1-server", Mesos::TaskKilled);
        let held = reservations(&sim, "world-1-server");
        sim.offer("a1", &held);
        assert!(
            decommission_plan(&sim).is_complete(),
            "{:?}",
            step_statuses(&sim)
        );
        let names: Vec<String> = sim.core.tasks().map(|(i, _)| i.name.clone()).collect();
        assert_eq!(names, ["hello-0-server", "world-0-server"]);
    }

    #[test]
    fn an_instance_on_a_gone_agent_is_retired_without_waiting_for_its_resources() {
        let mut sim = scaled_in();
        sim.report("world-2-server", Mesos::TaskGoneByOperator);
        // No offer brings world-2's resources back: nothing to wait for.
        assert!(
            sim.core.tasks().all(|(i, _)| i.name != "world-2-server"),
            "erased"
        );
        let steps = step_statuses(&sim);
        assert!(
            steps[..8].iter().all(|(_, s)| *s == Status::Complete),
            "{steps:?}"
        );
        let recovery = sim.plan("recovery");
        assert!(
            recovery.phases().is_empty(),
            "not replaced: it is being retired"
        );
    }

    #[test]
    fn a_scheduler_restarted_mid_decommission_finishes_the_job() {
        let mut sim = scaled_in();
        sim.report("world-2-server", Mesos::TaskKilled);
        // Only part of the reservations came back before the "crash".
        let held = reservations(&sim, "world-2-server");
        sim.offer("a1", &held[..1]);
        let stored = sim.stored();
        let left = stored
            .iter()
            .find(|(i, _)| i.name == "world-2-server")
            .map(|(i, _)| crate::offer::labels::resource_ids(i).len());
        assert_eq!(
            left,
            Some(5),
            "the released resource is stripped from the stored TaskInfo"
        );

        let mut again = Sim::new(&spec(1), stored);
        for name in ["hello-0-server", "world-0-server", "world-1-server"] {
            let mut status = super::super::fixture::status(&again.task(name), Mesos::TaskRunning);
            status.uuid = None;
            again.input(super::super::Input::Update(status));
        }
        // world-2's kill is done (it is gone); its five remaining
        // unreservations wait for offers.
        let steps = step_statuses(&again);
        assert_eq!(steps.len(), (1 + 5 + 1) + (1 + 6 + 1), "{steps:?}");
        assert_eq!(steps[0].1, Status::Complete);
        let rest = reservations(&again, "world-2-server");
        again.offer("a1", &rest);
        again.report("world-1-server", Mesos::TaskKilled);
        let held = reservations(&again, "world-1-server");
        again.offer("a1", &held);
        assert!(
            decommission_plan(&again).is_complete(),
            "{:?}",
            step_statuses(&again)
        );
    }
}
