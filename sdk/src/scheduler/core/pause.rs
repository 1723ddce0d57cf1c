//! Pause and resume (pure): the operator's goal-state override of some tasks
//! of a pod instance (dcos-commons' `GoalStateOverride.PAUSED`).
//!
//! * **pause** labels the chosen tasks' stored TaskInfos
//!   [`GOAL_STATE_OVERRIDE`](labels::GOAL_STATE_OVERRIDE)`=PAUSED` (with
//!   [`OVERRIDE_STATUS`](labels::OVERRIDE_STATUS)`=PENDING`), stores them
//!   **before** anything else, kills the live ones and relaunches them in
//!   place through a recovery phase. The offer evaluator sees the label on the
//!   stored TaskInfo and builds the relaunch with the idle
//!   [`PAUSE_COMMAND`](labels::PAUSE_COMMAND), no health check and no
//!   readiness check, on the same reservations and volumes, keeping the label.
//! * **resume** removes the override (leaving `override_status=PENDING`
//!   until the task is relaunched), kills and relaunches the same way: the
//!   relaunch is built from the spec again.
//!
//! # Guarantees
//! - The override lives on the stored TaskInfo, so it survives a scheduler
//!   restart: the relaunched TaskInfo carries the current target
//!   configuration, so no rolling update takes it for stale, and any later
//!   relaunch in place (recovery, config update) stays paused until resumed.
//! - Both commands are idempotent: tasks already in the asked state are left
//!   alone (no kill). A task whose override is stored but whose relaunch has
//!   not happened yet (`override_status=PENDING`) is killed and relaunched
//!   again when asked again — the way out if a scheduler restart lost the
//!   KILL (the recovery phase is not persisted).
//!
//! # Caveats
//! - A pod that another plan (deploy, update, ...) is still working on is
//!   relaunched by that plan's step, not by a recovery phase; the override is
//!   applied at that launch.
//! - A permanent replacement (`pod replace`) places the pod afresh from the
//!   spec: the override is dropped.
//!
//! # Errors
//! Unknown pod → [`CommandError::UnknownPod`] (404); a task name the pod does
//! not have → [`CommandError::UnknownTask`] (404); a task that is not
//! long-running → [`CommandError::NotPausable`] (400). Nothing changes then.

use std::sync::Arc;

use plinth_proto::v1::TaskInfo;

use super::operator::set_label;
use super::{Effect, SchedulerCore};
use crate::offer::labels;
use crate::plan::{Plan, PodInstance, Status, StepKind, TaskGoal};
use crate::recovery::{self, RECOVERY_PLAN};
use crate::scheduler::command::{CommandError, CommandReply, CommandResult, pod_instance_of};
use crate::spec::{GoalState, PodSpec};

/// What the operator asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Override {
    Pause,
    Resume,
}

// === impl SchedulerCore (pause) ===

impl SchedulerCore {
    /// Pause or resume `tasks` (short or full names; empty = all) of pod
    /// instance `pod`.
    pub(super) fn set_override(
        &mut self,
        pod: String,
        tasks: &[String],
        op: Override,
        effects: &mut Vec<Effect>,
    ) -> CommandResult {
        let names = self.pod_tasks(&pod)?;
        let instance = names
            .iter()
            .find_map(|n| self.tasks.get(n).and_then(|k| pod_instance_of(&k.info)))
            .ok_or_else(|| CommandError::UnknownPod(pod.clone()))?;
        let spec = std::sync::Arc::clone(&self.ctx.spec);
        let spec_pod = spec
            .pod(&instance.pod_type)
            .ok_or_else(|| CommandError::UnknownPod(pod.clone()))?;
        let selected = self.select(&pod, &instance, spec_pod, tasks, op)?;

        // The labels first: stored before the kill, so a scheduler that
        // restarts in between still relaunches with the override.
        let mut changed: Vec<String> = Vec::new();
        let mut stored: Vec<TaskInfo> = Vec::new();
        for short in &selected {
            let name = instance.task_name(short);
            let Some(known) = self.tasks.get_mut(&name) else {
                continue;
            };
            let paused = labels::is_paused(&known.info);
            // Asked again before the relaunch happened (e.g. the scheduler
            // restarted before its KILL reached the agent): kill and
            // relaunch again.
            let pending = labels::task_label(&known.info, labels::OVERRIDE_STATUS)
                == Some(labels::OVERRIDE_PENDING);
            match op {
                Override::Pause if !paused => {
                    set_label(
                        Arc::make_mut(&mut known.info),
                        labels::GOAL_STATE_OVERRIDE,
                        labels::PAUSED,
                    );
                }
                Override::Resume if paused => {
                    remove_label(Arc::make_mut(&mut known.info), labels::GOAL_STATE_OVERRIDE);
                }
                _ if pending => {}
                _ => continue,
            }
            set_label(
                Arc::make_mut(&mut known.info),
                labels::OVERRIDE_STATUS,
                labels::OVERRIDE_PENDING,
            );
            stored.push(TaskInfo::clone(&known.info));
            changed.push(short.clone());
        }
        let reply_tasks: Vec<String> = selected.iter().map(|t| instance.task_name(t)).collect();
        if changed.is_empty() {
            tracing::info!(%pod, ?op, tasks = ?reply_tasks, "nothing to change: the tasks are already in that state");
            return Ok(CommandReply::Pod {
                pod,
                tasks: reply_tasks,
            });
        }
        effects.push(Effect::StoreTasks(stored));

        // Then the relaunch in place.
        if busy_elsewhere(&self.plans, &instance) {
            // The unfinished step relaunches the killed tasks (with the override).
            let kill: Vec<String> = changed.iter().map(|t| instance.task_name(t)).collect();
            self.kill_tasks(&kill, effects);
            tracing::info!(%pod, ?op, tasks = ?kill, "goal-state override set; the pod's unfinished step relaunches it");
        } else {
            // A recovery phase for the changed tasks, merged with an
            // unfinished one of the pod (which it replaces).
            let mut relaunch: Vec<String> = unfinished_recovery_tasks(&self.plans, &instance);
            for t in changed {
                if !relaunch.contains(&t) {
                    relaunch.push(t);
                }
            }
            let goals: Vec<TaskGoal> = spec_pod
                .tasks
                .iter()
                .filter(|t| relaunch.contains(&t.name))
                .map(|t| {
                    let name = instance.task_name(&t.name);
                    let paused = self
                        .tasks
                        .get(&name)
                        .is_some_and(|k| labels::is_paused(&k.info));
                    TaskGoal {
                        task: t.name.clone(),
                        instance_name: name,
                        goal: t.goal,
                        // A paused task runs without its readiness check.
                        readiness_check: t.readiness_check.is_some() && !paused,
                    }
                })
                .collect();
            let kill: Vec<String> = goals.iter().map(|g| g.instance_name.clone()).collect();
            self.kill_tasks(&kill, effects);
            let phase = recovery::add_recovery(&mut self.plans, instance, goals, false);
            tracing::info!(%pod, ?op, %phase, "goal-state override set: relaunching in place");
        }
        Ok(CommandReply::Pod {
            pod,
            tasks: reply_tasks,
        })
    }

    /// The short names of the tasks a pause or resume applies to.
    fn select(
        &self,
        pod: &str,
        instance: &PodInstance,
        spec_pod: &PodSpec,
        tasks: &[String],
        op: Override,
    ) -> Result<Vec<String>, CommandError> {
        let mut out: Vec<String> = Vec::new();
        if tasks.is_empty() {
            for t in &spec_pod.tasks {
                let paused = self
                    .tasks
                    .get(&instance.task_name(&t.name))
                    .is_some_and(|k| labels::is_paused(&k.info));
                // Resume also takes a paused task whose goal changed since.
                if t.goal == GoalState::Running || (op == Override::Resume && paused) {
                    out.push(t.name.clone());
                }
            }
            if out.is_empty() {
                return Err(CommandError::NotPausable(format!(
                    "pod {pod} has no long-running task"
                )));
            }
            return Ok(out);
        }
        let prefix = format!("{pod}-");
        for asked in tasks {
            let short = asked.strip_prefix(&prefix).unwrap_or(asked);
            let Some(t) = spec_pod.task(short) else {
                return Err(CommandError::UnknownTask {
                    pod: pod.to_string(),
                    task: asked.clone(),
                    known: spec_pod.tasks.iter().map(|t| t.name.clone()).collect(),
                });
            };
            let paused = self
                .tasks
                .get(&instance.task_name(&t.name))
                .is_some_and(|k| labels::is_paused(&k.info));
            if t.goal != GoalState::Running && !(op == Override::Resume && paused) {
                return Err(CommandError::NotPausable(format!(
                    "task '{}' of pod {pod} has goal {}",
                    t.name,
                    t.goal.as_str()
                )));
            }
            if !out.iter().any(|o| o == &t.name) {
                out.push(t.name.clone());
            }
        }
        Ok(out)
    }
}

/// Whether a plan other than recovery, or a permanent replacement, has an
/// unfinished step on `pod`.
fn busy_elsewhere(plans: &[Plan], pod: &PodInstance) -> bool {
    plans
        .iter()
        .flat_map(|p| {
            let recovery = p.name() == RECOVERY_PLAN;
            p.phases()
                .iter()
                .flat_map(|ph| ph.steps().iter())
                .map(move |s| (recovery, s))
        })
        .filter(|(_, s)| s.pod_instance() == Some(pod) && s.status() != Status::Complete)
        .any(|(recovery, s)| {
            !recovery || matches!(s.kind(), StepKind::Recovery { permanent: true })
        })
}

/// Short task names of the unfinished recovery step of `pod`, if any.
fn unfinished_recovery_tasks(plans: &[Plan], pod: &PodInstance) -> Vec<String> {
    plans
        .iter()
        .filter(|p| p.name() == RECOVERY_PLAN)
        .flat_map(|p| p.phases().iter().flat_map(|ph| ph.steps().iter()))
        .filter(|s| s.pod_instance() == Some(pod) && s.status() != Status::Complete)
        .flat_map(|s| s.tasks().into_iter().map(str::to_owned))
        .collect()
}

fn remove_label(info: &mut TaskInfo, key: &str) {
    if let Some(list) = info.labels.as_mut() {
        list.labels.retain(|l| l.key != key);
    }
}

#[cfg(test)]
mod tests {
    use plinth_proto::v1::scheduler::call;
    use plinth_proto::v1::{TaskInfo, TaskState};

    use super::super::fixture::{Sim, kills};
    use super::*;
    use crate::scheduler::Effect;
    use crate::scheduler::command::Command;

    const SPEC: &str = r"
name: svc
pods:
  hello:
    count: 1
    tasks:
      server:
        goal: RUNNING
        cmd: ./server --serve
        cpus: 0.5
        memory: 64
        volume:
          path: data
          type: ROOT
          size: 16
        health-check:
          cmd: curl -f localhost
          interval: 5
          grace-period: 30
          max-consecutive-failures: 3
          delay: 0
          timeout: 10
      helper:
        goal: RUNNING
        cmd: ./helper
        cpus: 0.25
        memory: 32
      init:
        goal: ONCE
        cmd: ./init
        cpus: 0.1
        memory: 32
";

    /// A reconciled core for [`SPEC`] with the pod deployed on a1 (the ONCE
    /// init task FINISHED, the others RUNNING).
    fn deployed() -> Sim {
        let mut sim = Sim::reconciled(SPEC, Vec::new());
        sim.deploy_answering("a1", |name| {
            if name.ends_with("-init") {
                TaskState::TaskFinished
            } else {
                TaskState::TaskRunning
            }
        });
        assert!(sim.core.plans()[0].is_complete(), "deploy completes");
        sim
    }

    /// Kills `names` (KILLED), offers their reservations back with the
    /// pod's executor running, answers the relaunch with RUNNING; returns
    /// the new TaskInfo of the first.
    fn relaunch(sim: &mut Sim, names: &[&str]) -> TaskInfo {
        let old: Vec<TaskInfo> = names.iter().map(|n| sim.task(n)).collect();
        let mut reserved = Vec::new();
        for (name, info) in names.iter().zip(&old) {
            sim.report(name, TaskState::TaskKilled);
            reserved.extend(info.resources.iter().cloned());
        }
        let executor = old[0].executor.as_ref().unwrap().executor_id.clone();
        let effects = sim.offer_with("a1", &reserved, &[executor]);
        for (name, info) in names.iter().zip(&old) {
            assert!(
                effects.iter().any(
                    |e| matches!(e, Effect::StoreTasks(t) if t.iter().any(|t| t.name == *name))
                ),
                "{name} relaunched: {:?}",
                sim.core.outcomes()
            );
            assert_ne!(sim.task(name).task_id, info.task_id);
            sim.report(name, TaskState::TaskRunning);
        }
        sim.task(names[0])
    }

    fn resource_ids(info: &TaskInfo) -> Vec<String> {
        let mut ids: Vec<String> = labels::resource_ids(info).into_iter().collect();
        ids.sort();
        ids
    }

    fn pause(tasks: &[&str]) -> Command {
        Command::PausePod {
            pod: "hello-0".into(),
            tasks: tasks.iter().map(|t| (*t).to_string()).collect(),
        }
    }

    fn resume(tasks: &[&str]) -> Command {
        Command::ResumePod {
            pod: "hello-0".into(),
            tasks: tasks.iter().map(|t| (*t).to_string()).collect(),
        }
    }

    #[test]
    fn pause_stores_the_override_kills_and_relaunches_idle_in_place() {
        let mut sim = deployed();
        let before = sim.task("hello-0-server");
        assert!(before.health_check.is_some());
        let helper = sim.task("hello-0-helper");

        let (effects, result) = sim.command(pause(&["server"]));
        assert_eq!(
            result,
            Ok(CommandReply::Pod {
                pod: "hello-0".into(),
                tasks: vec!["hello-0-server".into()]
            })
        );
        let stored = effects
            .iter()
            .position(|e| matches!(e, Effect::StoreTasks(_)))
            .expect("the override is stored");
        let Effect::StoreTasks(infos) = &effects[stored] else {
            unreachable!()
        };
        assert_eq!(infos.len(), 1);
        assert!(labels::is_paused(&infos[0]));
        assert_eq!(
            labels::task_label(&infos[0], labels::OVERRIDE_STATUS),
            Some(labels::OVERRIDE_PENDING)
        );
        assert_eq!(
            kills(&effects),
            std::slice::from_ref(&before.task_id.value),
            "only server is killed"
        );
        let kill_at = effects
            .iter()
            .position(|e| matches!(e, Effect::Call(c) if c.r#type == Some(call::Type::Kill as i32)))
            .unwrap();
        assert!(stored < kill_at, "stored before the kill");
        let recovery = sim.plan(RECOVERY_PLAN);
        assert_eq!(recovery.phases().len(), 1);
        assert_eq!(recovery.phases()[0].name(), "hello-0:[server]");

        let paused = relaunch(&mut sim, &["hello-0-server"]);
        let cmd = paused.command.as_ref().unwrap();
        assert_eq!(cmd.value.as_deref(), Some(labels::PAUSE_COMMAND));
        assert!(
            paused.health_check.is_none(),
            "no health check while paused"
        );
        assert!(paused.check.is_none(), "no readiness check while paused");
        assert!(labels::is_paused(&paused));
        assert_eq!(
            labels::task_label(&paused, labels::OVERRIDE_STATUS),
            Some(labels::OVERRIDE_LAUNCHED)
        );
        assert_eq!(paused.agent_id, before.agent_id, "same agent");
        assert_eq!(
            resource_ids(&paused),
            resource_ids(&before),
            "same reservations and volume"
        );
        assert_eq!(
            sim.task("hello-0-helper").task_id,
            helper.task_id,
            "helper untouched"
        );
        let recovery = sim.plan(RECOVERY_PLAN);
        assert!(recovery.is_complete(), "RUNNING completes the relaunch");

        // Pausing again once relaunched changes nothing.
        let (effects, result) = sim.command(pause(&["hello-0-server"]));
        assert!(result.is_ok());
        assert!(effects.is_empty(), "{effects:?}");
    }

    #[test]
    fn a_paused_task_stays_paused_across_a_scheduler_restart_and_resume_restores_it() {
        let mut sim = deployed();
        let original = sim.task("hello-0-server");
        let (_, result) = sim.command(pause(&[]));
        assert!(result.is_ok());
        let paused = relaunch(&mut sim, &["hello-0-server", "hello-0-helper"]);
        // No body: every long-running task (not the ONCE init task).
        assert!(labels::is_paused(&sim.task("hello-0-helper")));
        assert!(!labels::is_paused(&sim.task("hello-0-init")));

        // A new scheduler on the stored state: the deploy plan is complete and
        // nothing is killed or relaunched.
        let mut restarted = Sim::reconciled(SPEC, sim.stored());
        assert!(restarted.core.plans()[0].is_complete());
        for _ in 0..3 {
            let effects = restarted.offer("a1", &[]);
            assert!(kills(&effects).is_empty(), "{effects:?}");
            assert!(
                !effects.iter().any(|e| matches!(e, Effect::StoreTasks(_))),
                "{effects:?}"
            );
        }
        assert_eq!(restarted.task("hello-0-server").task_id, paused.task_id);

        // Resume one task: the override goes, it is killed and relaunched
        // with its own command and health check.
        let (effects, result) = restarted.command(resume(&["server"]));
        assert!(result.is_ok());
        assert_eq!(kills(&effects), std::slice::from_ref(&paused.task_id.value));
        let Some(Effect::StoreTasks(infos)) =
            effects.iter().find(|e| matches!(e, Effect::StoreTasks(_)))
        else {
            panic!("stored: {effects:?}")
        };
        assert!(!labels::is_paused(&infos[0]));
        let resumed = relaunch(&mut restarted, &["hello-0-server"]);
        assert_eq!(
            resumed.command.as_ref().unwrap().value,
            original.command.as_ref().unwrap().value
        );
        assert!(resumed.health_check.is_some());
        assert!(!labels::is_paused(&resumed));
        assert_eq!(labels::task_label(&resumed, labels::OVERRIDE_STATUS), None);
        assert_eq!(resource_ids(&resumed), resource_ids(&original));
        assert!(
            labels::is_paused(&restarted.task("hello-0-helper")),
            "helper still paused"
        );
    }

    #[test]
    fn a_pause_lost_in_a_scheduler_restart_is_redone_when_asked_again() {
        let mut sim = deployed();
        let running = sim.task("hello-0-server");
        let (effects, _) = sim.command(pause(&["server"]));
        assert_eq!(kills(&effects).len(), 1);
        // The scheduler restarts before the KILL took effect: the override is
        // stored, the task still runs its own command, no recovery phase.
        let mut restarted = Sim::reconciled(SPEC, sim.stored());
        assert!(labels::is_paused(&restarted.task("hello-0-server")));
        let (effects, result) = restarted.command(pause(&["server"]));
        assert!(result.is_ok());
        assert_eq!(
            kills(&effects),
            std::slice::from_ref(&running.task_id.value),
            "killed again"
        );
        let paused = relaunch(&mut restarted, &["hello-0-server"]);
        assert_eq!(
            paused.command.unwrap().value.as_deref(),
            Some(labels::PAUSE_COMMAND)
        );
    }

    #[test]
    fn bad_pause_requests_change_nothing() {
        let mut sim = deployed();
        for (command, code) in [
            (
                Command::PausePod {
                    pod: "nope-0".into(),
                    tasks: vec![],
                },
                404,
            ),
            (pause(&["nope"]), 404),
            (pause(&["server", "hello-0-nope"]), 404),
            (pause(&["init"]), 400),
            (resume(&["nope"]), 404),
        ] {
            let (effects, result) = sim.command(command.clone());
            let err = result.unwrap_err();
            assert_eq!(err.http_status(), code, "{command:?}: {err}");
            assert!(effects.is_empty(), "{command:?}: {effects:?}");
        }
        let (_, result) = sim.command(pause(&["nope"]));
        assert_eq!(
            result.unwrap_err().to_string(),
            "Pod hello-0 has no task 'nope' (its tasks: server, helper, init)"
        );
        // Resuming tasks that are not paused is a no-op.
        let (effects, result) = sim.command(resume(&[]));
        assert!(result.is_ok());
        assert!(effects.is_empty(), "{effects:?}");
    }
}
