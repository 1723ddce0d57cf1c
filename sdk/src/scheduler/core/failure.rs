//! Task failures in the core (pure): what a status means for recovery.
//!
//! * **Transient** (FAILED, ERROR, LOST, DROPPED, KILLED outside the
//!   scheduler): the pod is relaunched in place by the recovery plan (or by
//!   its deploy step, if that is still at work), after the crash-loop
//!   backoff of [`crate::recovery::backoff`]: the task's steps wait in
//!   `DELAYED` until their instant; `Input::Tick` releases them.
//! * **Ours**: a task the scheduler killed itself (restart, replace,
//!   rolling update, pause, decommission) is relaunched at once and its
//!   backoff starts over.
//! * **Permanent**: GONE_BY_OPERATOR (an operator marked the agent gone:
//!   its reservations and volumes are gone with it), or UNREACHABLE for
//!   longer than
//!   [`RecoveryPolicy::replace_unreachable_after`](crate::recovery::RecoveryPolicy):
//!   the pod is replaced like an operator `pod replace` does.
//!
//! UNREACHABLE alone relaunches nothing: the agent's resources are not
//! offered while it is away, and a returning agent brings the task back.
//! GONE (the agent rebooted) is transient: an agent keeps its checkpointed
//! reservations and volumes across a reboot, so the pod relaunches in place.

use std::time::Instant;

use super::{Effect, SchedulerCore, observe};
use crate::offer::labels;
use crate::plan::{TaskObservation, TaskState};
use crate::recovery;
use crate::scheduler::command::pod_instance_of;

// === impl SchedulerCore (failures) ===

impl SchedulerCore {
    /// Recovery's reaction to a stored task's new status.
    pub(super) fn on_task_state(
        &mut self,
        obs: &TaskObservation,
        now: Instant,
        effects: &mut Vec<Effect>,
    ) {
        let name = obs.task_name.as_str();
        let ours = self.own_kills.contains(&obs.task_id);
        if obs.state.is_terminal() {
            self.own_kills.remove(&obs.task_id);
        }
        match obs.state {
            TaskState::Running => {
                self.backoff.on_running(name, now);
                self.unreachable.remove(name);
            }
            TaskState::Unreachable => {
                self.unreachable.entry(name.to_owned()).or_insert(now);
            }
            TaskState::GoneByOperator => {
                self.unreachable.remove(name);
                self.backoff.reset(name);
                self.replace_lost(name, obs.state.as_mesos_str(), now, effects);
            }
            // A kill in progress: its terminal status decides.
            TaskState::Killing => {}
            state if state.is_failure() => {
                self.unreachable.remove(name);
                self.recover(name);
                if ours {
                    self.backoff.reset(name);
                } else if let Some(until) = self.backoff.on_failure(name, now) {
                    let failures = self.backoff.failures(name);
                    tracing::info!(task = %name, failures, delay = ?until.saturating_duration_since(now), "crash loop: delaying the relaunch");
                    for plan in &mut self.plans {
                        self.changes.extend(plan.delay_task(name, until));
                    }
                }
            }
            _ => {}
        }
    }

    /// Puts a failed task's pod into the recovery plan, unless another plan
    /// is still working on it (the deploy step relaunches it then).
    fn recover(&mut self, task_name: &str) {
        let Some((pod, goals)) = recovery::recovery_goals(&self.ctx.spec, task_name) else {
            return;
        };
        if recovery::needs_recovery(&self.plans, &pod) {
            let phase = recovery::add_recovery(&mut self.plans, pod, goals, false);
            tracing::info!(%task_name, %phase, "task failed: relaunching in place (recovery plan)");
        }
    }

    /// Replaces the pod of `task_name` elsewhere (permanent failure), once:
    /// a pod already being replaced or being decommissioned is left alone.
    fn replace_lost(
        &mut self,
        task_name: &str,
        why: &str,
        now: Instant,
        effects: &mut Vec<Effect>,
    ) {
        let Some(known) = self.tasks.get(task_name) else {
            return;
        };
        if labels::task_label(&known.info, labels::PERMANENTLY_FAILED).is_some() {
            return;
        }
        let Some(pod) = pod_instance_of(&known.info) else {
            return;
        };
        if crate::decommission::is_surplus(&self.ctx.spec, &pod) {
            return;
        }
        tracing::warn!(task = %task_name, %pod, why, "permanent failure: replacing the pod elsewhere");
        if let Err(e) = self.replace_pod(pod.to_string(), now, effects) {
            tracing::warn!(%pod, error = %e, "could not replace the pod");
        }
    }

    /// Replaces the pods of tasks UNREACHABLE for longer than the policy allows.
    pub(super) fn replace_long_unreachable(&mut self, now: Instant, effects: &mut Vec<Effect>) {
        let Some(after) = self.replace_unreachable_after else {
            return;
        };
        let expired: Vec<String> = self
            .unreachable
            .iter()
            .filter(|(_, since)| now.saturating_duration_since(**since) >= after)
            .map(|(name, _)| name.clone())
            .collect();
        for name in expired {
            self.unreachable.remove(&name);
            let why = format!("TASK_UNREACHABLE for more than {after:?}");
            self.replace_lost(&name, &why, now, effects);
        }
    }

    /// Remembers the task ids of the KILLs among `effects`.
    pub(super) fn note_own_kills(&mut self, effects: &[Effect]) {
        let killed = effects.iter().filter_map(|e| match e {
            Effect::Call(call) => call.kill.as_ref().map(|k| k.task_id.value.clone()),
            _ => None,
        });
        self.own_kills.extend(killed);
    }

    /// Task ids of live tasks killed by the scheduler (tests).
    #[cfg(test)]
    pub(super) fn own_kills(&self) -> &std::collections::BTreeSet<String> {
        &self.own_kills
    }
}

/// Whether a stored status is terminal (the task no longer runs).
pub(super) fn is_gone(status: Option<&plinth_proto::v1::TaskStatus>) -> bool {
    status.is_some_and(|s| observe::is_terminal(s.state))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use plinth_proto::v1::TaskState as Mesos;

    use super::super::fixture::{Sim, kills};
    use crate::plan::{Status, StepKind};
    use crate::recovery::RecoveryPolicy;
    use crate::recovery::backoff::BackoffPolicy;

    const SPEC: &str = r"
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
        volume:
          path: data
          type: ROOT
          size: 16
";

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    fn deployed(policy: RecoveryPolicy) -> Sim {
        let mut sim = Sim::with_policy(SPEC, Vec::new(), policy);
        sim.deploy("a1");
        assert!(sim.core.plans()[0].is_complete());
        sim
    }

    /// The recovery step of hello-0, if any: (status, delayed until).
    fn recovery_step(sim: &Sim) -> Option<(Status, Option<std::time::Instant>)> {
        let plan = sim.core.plans().iter().find(|p| p.name() == "recovery")?;
        let step = plan.phases().iter().flat_map(|p| p.steps()).next()?;
        Some((step.status(), step.delayed_until()))
    }

    /// Fails the running task and returns how long the relaunch waits: the
    /// clock is advanced second by second until the step may take offers.
    fn fail_and_measure_delay(sim: &mut Sim) -> Duration {
        sim.report("hello-0-server", Mesos::TaskFailed);
        let mut waited = Duration::ZERO;
        while recovery_step(sim).is_some_and(|(s, _)| s == Status::Delayed) {
            sim.advance(secs(1));
            waited += secs(1);
            assert!(waited < secs(3600), "never released");
        }
        assert_eq!(recovery_step(sim).unwrap().0, Status::Pending);
        // Relaunch in place and see it run (briefly: not a healthy run).
        let before = sim.task("hello-0-server").task_id;
        sim.offer("a1", &reservations(sim));
        let after = sim.task("hello-0-server");
        assert_ne!(after.task_id, before, "relaunched");
        assert_eq!(after.agent_id.value, "a1", "in place");
        sim.report("hello-0-server", Mesos::TaskRunning);
        waited
    }

    fn reservations(sim: &Sim) -> Vec<plinth_proto::v1::Resource> {
        let info = sim.task("hello-0-server");
        let executor = info.executor.iter().flat_map(|e| e.resources.clone());
        info.resources.iter().cloned().chain(executor).collect()
    }

    #[test]
    fn a_crash_looping_task_backs_off_exponentially_and_resets_after_a_healthy_run() {
        let policy = RecoveryPolicy {
            backoff: BackoffPolicy {
                free_failures: 1,
                initial: secs(5),
                factor: 2.0,
                max: secs(30),
                healthy_after: secs(120),
            },
            replace_unreachable_after: None,
        };
        let mut sim = deployed(policy);
        let delays: Vec<u64> = (0..6)
            .map(|_| fail_and_measure_delay(&mut sim).as_secs())
            .collect();
        assert_eq!(
            delays,
            [0, 5, 10, 20, 30, 30],
            "free, then doubling, capped"
        );
        // A healthy run (longer than healthy_after) starts the count over.
        sim.advance(secs(121));
        assert_eq!(fail_and_measure_delay(&mut sim).as_secs(), 0);
        assert_eq!(fail_and_measure_delay(&mut sim).as_secs(), 5);
    }

    #[test]
    fn a_task_the_scheduler_killed_is_relaunched_at_once_and_its_backoff_resets() {
        let mut sim = deployed(RecoveryPolicy::default());
        fail_and_measure_delay(&mut sim);
        assert_eq!(sim.core.backoff.failures("hello-0-server"), 1);
        // Operator restart: our KILL, then the KILLED update.
        let effects = sim.input(super::super::Input::Command(
            1,
            crate::scheduler::Command::RestartPod("hello-0".into()),
        ));
        let id = sim.task("hello-0-server").task_id.value;
        assert_eq!(kills(&effects), std::slice::from_ref(&id));
        assert!(sim.core.own_kills().contains(&id));
        sim.report("hello-0-server", Mesos::TaskKilled);
        assert!(
            !sim.core.own_kills().contains(&id),
            "forgotten once terminal"
        );
        assert_eq!(recovery_step(&sim).unwrap().0, Status::Pending, "no delay");
        assert_eq!(sim.core.backoff.failures("hello-0-server"), 0);
    }

    #[test]
    fn a_gone_agent_replaces_the_pod_elsewhere() {
        let mut sim = deployed(RecoveryPolicy::default());
        let old = sim.task("hello-0-server");
        sim.report("hello-0-server", Mesos::TaskGoneByOperator);
        let plan = sim
            .core
            .plans()
            .iter()
            .find(|p| p.name() == "recovery")
            .unwrap();
        let step = plan.phases()[0].steps()[0].clone();
        assert_eq!(step.kind(), &StepKind::Recovery { permanent: true });
        assert!(
            !sim.core.releasing().is_empty(),
            "old reservations to release"
        );
        // Placed anew on another agent, with new reservations.
        sim.offer("a2", &[]);
        let new = sim.task("hello-0-server");
        assert_eq!(new.agent_id.value, "a2");
        assert!(
            crate::offer::labels::resource_ids(&new)
                .is_disjoint(&crate::offer::labels::resource_ids(&old))
        );
    }

    #[test]
    fn unreachable_is_waited_out_until_the_configured_time_then_replaced() {
        let policy = RecoveryPolicy {
            replace_unreachable_after: Some(secs(300)),
            ..RecoveryPolicy::default()
        };
        let mut sim = deployed(policy);
        sim.report("hello-0-server", Mesos::TaskUnreachable);
        assert!(recovery_step(&sim).is_none(), "nothing relaunched yet");
        // Back in time: forgiven.
        sim.advance(secs(200));
        sim.report("hello-0-server", Mesos::TaskRunning);
        sim.advance(secs(200));
        assert!(recovery_step(&sim).is_none());
        // Away for longer than allowed: replaced.
        sim.report("hello-0-server", Mesos::TaskUnreachable);
        sim.advance(secs(299));
        assert!(recovery_step(&sim).is_none());
        sim.advance(secs(1));
        let plan = sim
            .core
            .plans()
            .iter()
            .find(|p| p.name() == "recovery")
            .unwrap();
        assert_eq!(
            plan.phases()[0].steps()[0].kind(),
            &StepKind::Recovery { permanent: true }
        );
    }

    #[test]
    fn unreachable_without_a_limit_waits_for_the_agent() {
        let mut sim = deployed(RecoveryPolicy::default());
        sim.report("hello-0-server", Mesos::TaskUnreachable);
        sim.advance(secs(30 * 24 * 3600));
        assert!(recovery_step(&sim).is_none());
    }
}
