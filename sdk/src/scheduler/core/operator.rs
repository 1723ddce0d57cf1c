//! Operator commands in the core (pure): plan operations, pod restart and
//! replace, file uploads — each returns its answer and pushes the effects
//! it needs, like any other input.
//!
//! * **restart** kills the pod's live tasks; their failure puts the pod into
//!   the recovery plan, which relaunches it in place (TRANSIENT).
//! * **replace** labels every TaskInfo of the pod `permanently-failed`
//!   (stored before anything else), kills the live tasks and adds a
//!   permanent recovery phase: the pod is placed afresh, and its old
//!   reservations and volumes, held by no task once the new TaskInfos
//!   replace the old ones, are released by the resource GC. Until they are
//!   (or [`RELEASE_WAIT`] passed) the scheduler keeps asking for offers.
//! * **pause** and **resume** set or clear a task's goal-state override and
//!   relaunch it in place (see the `pause` module).

use std::time::Instant;

use plinth_proto::v1::{Label, Labels, TaskInfo, TaskStatus};

use super::pause::Override;
use super::{Effect, SchedulerCore, observe};
use crate::mesos::calls;
use crate::offer::labels;
use crate::plan::{PodInstance, StepChange, TaskGoal, find_plan_mut};
use crate::recovery;
use crate::scheduler::command::{
    Command, CommandError, CommandReply, CommandResult, FILE_PROPERTY_PREFIX, MAX_FILE_BYTES,
    PlanCommand, RELEASE_WAIT, pod_instance_of, valid_file_name,
};
use crate::spec::GoalState;

// === impl SchedulerCore (operator) ===

impl SchedulerCore {
    /// Step status changes since the last call (what `WatchPlan` streams).
    pub fn take_step_changes(&mut self) -> Vec<StepChange> {
        std::mem::take(&mut self.changes)
    }

    /// Every stored task (by name) with its latest status.
    pub fn tasks(&self) -> impl Iterator<Item = (&TaskInfo, Option<&TaskStatus>)> + '_ {
        self.tasks.values().map(|k| (&*k.info, k.status.as_ref()))
    }

    /// [`SchedulerCore::tasks`] with the TaskInfos as shared pointers, for
    /// views that keep them (API snapshots) without copying.
    pub fn shared_tasks(
        &self,
    ) -> impl Iterator<Item = (&std::sync::Arc<TaskInfo>, Option<&TaskStatus>)> + '_ {
        self.tasks.values().map(|k| (&k.info, k.status.as_ref()))
    }

    /// Resource ids of replaced pods still waiting to be released.
    #[must_use]
    pub fn releasing(&self) -> Vec<&str> {
        self.releasing.keys().map(String::as_str).collect()
    }

    pub(super) fn on_command(
        &mut self,
        command: Command,
        now: Instant,
        effects: &mut Vec<Effect>,
    ) -> CommandResult {
        match command {
            Command::Plan { plan, op } => {
                let target = find_plan_mut(&mut self.plans, &plan)?;
                let result = match op {
                    PlanCommand::Start(parameters) => target.start(&parameters)?,
                    PlanCommand::Stop => target.stop(),
                    PlanCommand::Continue { phase } => target.proceed(phase.as_deref())?,
                    PlanCommand::Interrupt { phase } => target.interrupt(phase.as_deref())?,
                    PlanCommand::ForceComplete { phase, step } => {
                        target.force_complete(phase.as_deref(), step.as_deref())?
                    }
                    PlanCommand::Restart { phase, step } => {
                        target.restart(phase.as_deref(), step.as_deref())?
                    }
                };
                tracing::info!(%plan, message = %result.message, "plan command");
                self.changes.extend(result.changes.iter().cloned());
                Ok(CommandReply::Plan(result))
            }
            Command::RestartPod(pod) => {
                let tasks = self.pod_tasks(&pod)?;
                tracing::info!(%pod, ?tasks, "restarting pod: killing its tasks, recovery relaunches them in place");
                self.kill_tasks(&tasks, effects);
                Ok(CommandReply::Pod { pod, tasks })
            }
            Command::ReplacePod(pod) => self.replace_pod(pod, now, effects),
            Command::PausePod { pod, tasks } => {
                self.set_override(pod, &tasks, Override::Pause, effects)
            }
            Command::ResumePod { pod, tasks } => {
                self.set_override(pod, &tasks, Override::Resume, effects)
            }
            // The shell carries these out around the core.
            Command::UpdateConfig { .. } | Command::Uninstall => Err(CommandError::Unavailable(
                "config updates and uninstalls are handled by the scheduler loop, not its core"
                    .into(),
            )),
            Command::PutFile { name, data } => {
                if !valid_file_name(&name) {
                    return Err(CommandError::InvalidFileName(name));
                }
                if data.len() > MAX_FILE_BYTES {
                    return Err(CommandError::FileTooLarge {
                        size: data.len(),
                        limit: MAX_FILE_BYTES,
                    });
                }
                effects.push(Effect::StoreProperty(
                    format!("{FILE_PROPERTY_PREFIX}{name}"),
                    data,
                ));
                Ok(CommandReply::Stored)
            }
        }
    }

    /// Names of the stored tasks of pod instance `pod` (`hello-0`), sorted.
    pub(super) fn pod_tasks(&self, pod: &str) -> Result<Vec<String>, CommandError> {
        let names: Vec<String> = self
            .tasks
            .values()
            .filter(|k| pod_instance_of(&k.info).is_some_and(|p| p.to_string() == pod))
            .map(|k| k.info.name.clone())
            .collect();
        if names.is_empty() {
            return Err(CommandError::UnknownPod(pod.to_string()));
        }
        Ok(names)
    }

    /// KILL for every named task that was launched and is not terminal.
    pub(super) fn kill_tasks(&self, names: &[String], effects: &mut Vec<Effect>) {
        for name in names {
            let Some(known) = self.tasks.get(name) else {
                continue;
            };
            if known.info.task_id.value.is_empty() {
                continue;
            }
            if known
                .status
                .as_ref()
                .is_some_and(|s| observe::is_terminal(s.state))
            {
                continue;
            }
            let agent = Some(known.info.agent_id.clone()).filter(|a| !a.value.is_empty());
            effects.push(Effect::Call(Box::new(calls::kill(
                known.info.task_id.clone(),
                agent,
            ))));
        }
    }

    pub(super) fn replace_pod(
        &mut self,
        pod: String,
        now: Instant,
        effects: &mut Vec<Effect>,
    ) -> CommandResult {
        let names = self.pod_tasks(&pod)?;
        let instance = names
            .iter()
            .find_map(|n| self.tasks.get(n).and_then(|k| pod_instance_of(&k.info)))
            .ok_or_else(|| CommandError::UnknownPod(pod.clone()))?;
        let goals = replacement_goals(&self.ctx.spec, &instance)
            .ok_or_else(|| CommandError::UnknownPod(pod.clone()))?;
        let mut relabelled = Vec::new();
        for name in &names {
            let Some(known) = self.tasks.get_mut(name) else {
                continue;
            };
            if labels::task_label(&known.info, labels::PERMANENTLY_FAILED).is_none() {
                set_label(
                    std::sync::Arc::make_mut(&mut known.info),
                    labels::PERMANENTLY_FAILED,
                    "true",
                );
            }
            relabelled.push(TaskInfo::clone(&known.info));
            for id in labels::resource_ids(&known.info) {
                self.releasing.insert(id, now + RELEASE_WAIT);
            }
        }
        effects.push(Effect::StoreTasks(relabelled));
        self.kill_tasks(&names, effects);
        // The recovery plan changes shape: watchers get a fresh snapshot of it.
        let phase = recovery::add_recovery(&mut self.plans, instance, goals, true);
        tracing::info!(%pod, %phase, "replacing pod: marked permanently failed, placing it anew");
        Ok(CommandReply::Pod { pod, tasks: names })
    }
}

/// The tasks a replaced pod relaunches: every task of its pod type whose goal
/// is RUNNING or FINISH. `None` when the spec has no such pod type.
fn replacement_goals(spec: &crate::spec::ServiceSpec, pod: &PodInstance) -> Option<Vec<TaskGoal>> {
    let spec_pod = spec.pod(&pod.pod_type)?;
    let goals: Vec<TaskGoal> = spec_pod
        .tasks
        .iter()
        .filter(|t| t.goal != GoalState::Once)
        .map(|t| TaskGoal {
            task: t.name.clone(),
            instance_name: pod.task_name(&t.name),
            goal: t.goal,
            readiness_check: t.readiness_check.is_some(),
        })
        .collect();
    (!goals.is_empty()).then_some(goals)
}

pub(super) fn set_label(info: &mut TaskInfo, key: &str, value: &str) {
    let list = info.labels.get_or_insert_with(Labels::default);
    list.labels.retain(|l| l.key != key);
    list.labels.push(Label {
        key: key.to_string(),
        value: Some(value.to_string()),
    });
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use plinth_proto::v1::TaskState;
    use plinth_proto::v1::scheduler::call;

    use super::super::fixture::{Sim, kills, status};
    use super::*;
    use crate::plan::{OpResult, Outcome, PlanError, Status, StepKind};
    use crate::scheduler::Input;

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
  world:
    count: 1
    tasks:
      server:
        goal: RUNNING
        cmd: sleep 1000
        cpus: 0.5
        memory: 64
";

    /// A core with both pods deployed and running.
    fn deployed() -> Sim {
        let mut sim = Sim::new(SPEC, Vec::new());
        sim.deploy("a1");
        assert!(sim.core.plans()[0].is_complete(), "deploy completes");
        sim.core.take_step_changes();
        sim
    }

    fn plan_op(sim: &mut Sim, plan: &str, op: PlanCommand) -> CommandResult {
        sim.command(Command::Plan {
            plan: plan.into(),
            op,
        })
        .1
    }

    #[test]
    fn plan_commands_answer_with_dcos_codes_and_report_step_changes() {
        let mut sim = deployed();
        let interrupt = PlanCommand::Interrupt { phase: None };
        // A complete plan is "already reported".
        let Ok(CommandReply::Plan(r)) = plan_op(&mut sim, "deploy", interrupt.clone()) else {
            panic!()
        };
        assert_eq!(r.http_status(), 208);
        let restart = PlanCommand::Restart {
            phase: Some("hello".into()),
            step: None,
        };
        let Ok(CommandReply::Plan(r)) = plan_op(&mut sim, "deploy", restart) else {
            panic!()
        };
        assert_eq!(r.outcome, Outcome::Applied);
        let changes = sim.core.take_step_changes();
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!(
            (changes[0].from, changes[0].to),
            (Status::Complete, Status::Pending)
        );
        assert!(
            sim.core.take_step_changes().is_empty(),
            "changes are taken once"
        );
        let Ok(CommandReply::Plan(r)) = plan_op(&mut sim, "deploy", interrupt) else {
            panic!()
        };
        assert_eq!(r.message, "Received cmd: interrupt");
        assert_eq!(sim.core.plans()[0].status(), Status::Waiting);
    }

    #[test]
    fn plan_command_errors_name_what_is_unknown_and_change_nothing() {
        let mut sim = deployed();
        let before = sim.core.plans().to_vec();
        let err = plan_op(&mut sim, "nope", PlanCommand::Stop).unwrap_err();
        assert_eq!(
            err,
            CommandError::Plan(PlanError::UnknownPlan("nope".into()))
        );
        assert_eq!(err.http_status(), 404);
        let err = plan_op(
            &mut sim,
            "deploy",
            PlanCommand::Continue {
                phase: Some("x".into()),
            },
        )
        .unwrap_err();
        assert_eq!(err.http_status(), 404);
        let err = plan_op(
            &mut sim,
            "deploy",
            PlanCommand::ForceComplete {
                phase: None,
                step: Some("s".into()),
            },
        )
        .unwrap_err();
        assert_eq!(err.http_status(), 400, "a step needs its phase");
        let bad = BTreeMap::from([("1BAD".to_string(), "x".to_string())]);
        assert_eq!(
            plan_op(&mut sim, "deploy", PlanCommand::Start(bad))
                .unwrap_err()
                .http_status(),
            400
        );
        assert_eq!(sim.core.plans(), before.as_slice());
    }

    #[test]
    fn restart_kills_the_pod_and_recovery_relaunches_it_in_place() {
        let mut sim = deployed();
        let info = sim.task("hello-0-server");
        let (effects, result) = sim.command(Command::RestartPod("hello-0".into()));
        assert_eq!(
            result,
            Ok(CommandReply::Pod {
                pod: "hello-0".into(),
                tasks: vec!["hello-0-server".into()]
            })
        );
        assert_eq!(kills(&effects), std::slice::from_ref(&info.task_id.value));
        assert!(
            !effects.iter().any(|e| matches!(e, Effect::StoreTasks(_))),
            "restart relabels nothing"
        );
        sim.input(Input::Update(status(&info, TaskState::TaskKilled)));
        let recovery = sim.plan("recovery");
        let (_, step) = recovery.steps().next().unwrap();
        assert_eq!(step.kind(), &StepKind::Recovery { permanent: false });
        assert_eq!(step.status(), Status::Pending);
    }

    #[test]
    fn unknown_pods_are_refused() {
        let mut sim = deployed();
        for c in [
            Command::RestartPod("nope-7".into()),
            Command::ReplacePod("hello-9".into()),
        ] {
            let (effects, result) = sim.command(c);
            assert_eq!(result.unwrap_err().http_status(), 404);
            assert!(kills(&effects).is_empty());
        }
    }

    #[test]
    fn replace_labels_stores_then_kills_and_places_anew() {
        let mut sim = deployed();
        let info = sim.task("hello-0-server");
        let held = labels::resource_ids(&info);
        assert!(!held.is_empty());
        let (effects, result) = sim.command(Command::ReplacePod("hello-0".into()));
        assert!(matches!(result, Ok(CommandReply::Pod { .. })));
        let stored = effects
            .iter()
            .position(|e| matches!(e, Effect::StoreTasks(_)))
            .expect("stored");
        let killed = effects
            .iter()
            .position(|e| matches!(e, Effect::Call(c) if c.r#type == Some(call::Type::Kill as i32)))
            .expect("killed");
        assert!(stored < killed, "the label is persisted before the kill");
        let Effect::StoreTasks(tasks) = &effects[stored] else {
            unreachable!()
        };
        assert!(
            tasks
                .iter()
                .all(|t| labels::task_label(t, labels::PERMANENTLY_FAILED) == Some("true"))
        );
        let recovery = sim.plan("recovery");
        let (_, step) = recovery.steps().next().unwrap();
        assert_eq!(step.kind(), &StepKind::Recovery { permanent: true });
        let releasing: std::collections::BTreeSet<String> = sim
            .core
            .releasing()
            .into_iter()
            .map(str::to_string)
            .collect();
        assert_eq!(releasing, held);
        // The old task's KILLED does not turn the replacement into a relaunch in place.
        sim.input(Input::Update(status(&info, TaskState::TaskKilled)));
        let recovery = sim.plan("recovery");
        assert_eq!(
            recovery.steps().next().unwrap().1.kind(),
            &StepKind::Recovery { permanent: true }
        );
    }

    #[test]
    fn files_are_stored_as_properties_within_limits() {
        let mut sim = deployed();
        let (effects, result) = sim.command(Command::PutFile {
            name: "a.txt".into(),
            data: b"hi".to_vec(),
        });
        assert_eq!(result, Ok(CommandReply::Stored));
        assert!(
            matches!(&effects[..], [Effect::StoreProperty(k, v), ..] if k == "file-a.txt" && v == b"hi")
        );
        let big = vec![0u8; MAX_FILE_BYTES + 1];
        let (effects, result) = sim.command(Command::PutFile {
            name: "b".into(),
            data: big,
        });
        assert_eq!(result.unwrap_err().http_status(), 400);
        assert!(
            !effects
                .iter()
                .any(|e| matches!(e, Effect::StoreProperty(..)))
        );
        let (_, result) = sim.command(Command::PutFile {
            name: "../x".into(),
            data: vec![],
        });
        assert!(matches!(result, Err(CommandError::InvalidFileName(_))));
    }

    #[test]
    fn op_result_codes() {
        let r = OpResult {
            outcome: Outcome::AlreadyReported,
            message: String::new(),
            changes: vec![],
        };
        assert_eq!(r.http_status(), 208);
    }
}
