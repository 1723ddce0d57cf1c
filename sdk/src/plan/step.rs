//! One step and its state machine.
//!
//! ```text
//!            prepare            launch (≥1 task)        RUNNING          goal reached
//! PENDING ───────────▶ PREPARED ───────────────▶ STARTING ───────▶ STARTED ─────────▶ COMPLETE
//!    ▲  ▲                 │  launch (no task)       │  any task fails (FAILED, KILLED, LOST, …)
//!    │  │                 └──────▶ PREPARED         ▼
//!    │  └───────────────────────────────────────── PENDING ──delay(until)──▶ DELAYED
//!    └────────────────────────────────────────── tick(now ≥ until) ◀─────────┘
//! ```
//!
//! A step only follows statuses of the task ids it launched itself; a
//! `COMPLETE` step ignores task statuses (only `restart` reopens it). Errors put
//! a step in `ERROR`. An interrupted step that has not launched displays
//! `WAITING`.

use std::collections::BTreeMap;
use std::time::Instant;

use super::Status;
use super::model::PodInstance;
use super::task::{LaunchedTask, TaskGoal, TaskObservation, TaskState};

/// What a step does (used in its status message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepKind {
    /// Deploys tasks of a pod instance towards the target config.
    Deploy,
    /// Relaunches a failed pod instance (recovery plan).
    Recovery {
        /// PERMANENT (replace elsewhere) rather than TRANSIENT (relaunch in place).
        permanent: bool,
    },
    /// One action retiring a pod instance that scale-in removed (the
    /// `decommission` plan); driven by the scheduler, not by offers.
    Decommission(DecommissionAction),
    /// Anything else (uninstall, …), with a short class name.
    Other(String),
}

/// What a [`StepKind::Decommission`] step does, in the order a decommission
/// phase runs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecommissionAction {
    /// Kill task instance `task` (`world-1-server`) and wait until it is gone.
    Kill {
        /// Task instance name.
        task: String,
    },
    /// Destroy (when a volume) and unreserve the resource with this
    /// `resource_id` label, as offers bring it back.
    Unreserve {
        /// The resource's `resource_id`.
        resource_id: String,
    },
    /// Delete the stored TaskInfo, status and metadata of `task`.
    Erase {
        /// Task instance name.
        task: String,
    },
}

impl StepKind {
    /// Class-like name used in messages: `DeploymentStep`, `RecoveryStep`, …
    pub fn class_name(&self) -> &str {
        match self {
            StepKind::Deploy => "DeploymentStep",
            StepKind::Recovery { .. } => "RecoveryStep",
            StepKind::Decommission(DecommissionAction::Kill { .. }) => "TriggerDecommissionStep",
            StepKind::Decommission(DecommissionAction::Unreserve { .. }) => "ResourceCleanupStep",
            StepKind::Decommission(DecommissionAction::Erase { .. }) => "EraseTaskStateStep",
            StepKind::Other(name) => name,
        }
    }
}

/// Progress of one launched task within a step.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Tracked {
    task_id: String,
    status: Status,
}

/// A step: some tasks of one pod instance, launched together.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub(super) id: String,
    pub(super) name: String,
    pod: Option<PodInstance>,
    goals: Vec<TaskGoal>,
    kind: StepKind,
    status: Status,
    interrupted: bool,
    errors: Vec<String>,
    parameters: BTreeMap<String, String>,
    launched: BTreeMap<String, Tracked>,
    prepared: bool,
    delayed_until: Option<Instant>,
    last_failure: Option<String>,
}

impl Step {
    /// A `PENDING` deploy step; its id is assigned when its plan is built.
    pub fn new(name: impl Into<String>, pod: Option<PodInstance>, goals: Vec<TaskGoal>) -> Self {
        Step {
            id: String::new(),
            name: name.into(),
            pod,
            goals,
            kind: StepKind::Deploy,
            status: Status::Pending,
            interrupted: false,
            errors: Vec::new(),
            parameters: BTreeMap::new(),
            launched: BTreeMap::new(),
            prepared: false,
            delayed_until: None,
            last_failure: None,
        }
    }

    /// With another kind.
    pub fn with_kind(mut self, kind: StepKind) -> Self {
        self.kind = kind;
        self
    }

    /// Starts `COMPLETE` (its tasks are already at their goal).
    pub fn completed(mut self) -> Self {
        self.status = Status::Complete;
        self
    }

    /// With errors: the step starts in `ERROR`.
    pub fn with_errors(mut self, errors: Vec<String>) -> Self {
        if !errors.is_empty() {
            self.status = Status::Error;
        }
        self.errors = errors;
        self
    }

    /// Deterministic id (UUID-shaped).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Name, e.g. `hello-0:[server]`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Pod instance the step works on, if any.
    pub fn pod_instance(&self) -> Option<&PodInstance> {
        self.pod.as_ref()
    }

    /// Pod type, if any.
    pub fn pod_type(&self) -> Option<&str> {
        self.pod.as_ref().map(|p| p.pod_type.as_str())
    }

    /// Pod index, if any.
    pub fn pod_index(&self) -> Option<u32> {
        self.pod.as_ref().map(|p| p.index)
    }

    /// Task names within the pod (`server`), in launch order.
    pub fn tasks(&self) -> Vec<&str> {
        self.goals.iter().map(|g| g.task.as_str()).collect()
    }

    /// Goals of the step's tasks.
    pub fn goals(&self) -> &[TaskGoal] {
        &self.goals
    }

    /// Kind.
    pub fn kind(&self) -> &StepKind {
        &self.kind
    }

    /// Displayed status: `WAITING` while interrupted and not launched, else the
    /// state machine's status.
    pub fn status(&self) -> Status {
        if self.interrupted && matches!(self.status, Status::Pending | Status::Prepared) {
            Status::Waiting
        } else {
            self.status
        }
    }

    /// The state machine's status, ignoring interruption.
    pub fn raw_status(&self) -> Status {
        self.status
    }

    /// Whether the step is interrupted (canary gate).
    pub fn is_interrupted(&self) -> bool {
        self.interrupted
    }

    /// Errors.
    pub fn errors(&self) -> &[String] {
        &self.errors
    }

    /// Environment overrides from `plan start`.
    pub fn parameters(&self) -> &BTreeMap<String, String> {
        &self.parameters
    }

    /// Until when a `DELAYED` step waits.
    pub fn delayed_until(&self) -> Option<Instant> {
        match self.status {
            Status::Delayed => self.delayed_until,
            _ => None,
        }
    }

    /// Why the last launch failed (task name, state and Mesos message).
    pub fn last_failure(&self) -> Option<&str> {
        self.last_failure.as_deref()
    }

    /// Task id this step launched for `task_name`, if it launched it.
    pub fn launched_task_id(&self, task_name: &str) -> Option<&str> {
        self.launched.get(task_name).map(|t| t.task_id.as_str())
    }

    /// dcos-commons' user-visible message:
    /// `DeploymentStep: 'hello-0:[server] [<id>]' has status: 'PENDING'.`
    pub fn message(&self) -> String {
        format!(
            "{}: '{} [{}]' has status: '{}'.",
            self.kind.class_name(),
            self.name,
            self.id,
            self.status()
        )
    }

    // === state machine ===

    /// Offer evaluation started (allowed from `PENDING` and `PREPARED`).
    pub(super) fn prepare(&mut self) -> bool {
        if self.interrupted || !matches!(self.status, Status::Pending | Status::Prepared) {
            return false;
        }
        self.launched.clear();
        self.prepared = true;
        self.status = Status::Prepared;
        true
    }

    /// Launch accepted for `tasks` (allowed from `PENDING` and `PREPARED`).
    /// Tasks that are not part of the step are ignored; with none left the
    /// step stays `PREPARED`.
    pub(super) fn launch(&mut self, tasks: &[LaunchedTask]) -> bool {
        if !matches!(self.status, Status::Pending | Status::Prepared) {
            return false;
        }
        self.launched.clear();
        for t in tasks {
            if self.goals.iter().any(|g| g.instance_name == t.task_name) {
                self.launched.insert(
                    t.task_name.clone(),
                    Tracked {
                        task_id: t.task_id.clone(),
                        status: Status::Starting,
                    },
                );
            }
        }
        self.prepared = true;
        self.recompute();
        true
    }

    /// Applies a task status. Returns whether the step tracked that task id.
    pub(super) fn observe(&mut self, obs: &TaskObservation) -> bool {
        if matches!(
            self.status,
            Status::Complete | Status::Delayed | Status::Error
        ) {
            return false;
        }
        let Some(goal) = self.goals.iter().find(|g| g.instance_name == obs.task_name) else {
            return false;
        };
        let Some(tracked) = self.launched.get(&obs.task_name) else {
            return false;
        };
        if tracked.task_id != obs.task_id {
            return false;
        }
        use crate::spec::GoalState;
        let task_status = match obs.state {
            s if s.is_failure() => Status::Pending,
            TaskState::Staging | TaskState::Starting => Status::Starting,
            TaskState::Running => {
                if goal.goal == GoalState::Running && goal.readiness_passed(obs.readiness) {
                    Status::Complete
                } else {
                    Status::Started
                }
            }
            TaskState::Finished => match goal.goal {
                GoalState::Finish | GoalState::Once => Status::Complete,
                GoalState::Running => Status::Pending,
            },
            _ => return true,
        };
        if task_status == Status::Pending {
            self.last_failure = Some(match &obs.message {
                Some(m) if !m.is_empty() => {
                    format!("{} {}: {}", obs.task_name, obs.state.as_mesos_str(), m)
                }
                _ => format!("{} {}", obs.task_name, obs.state.as_mesos_str()),
            });
        }
        if let Some(t) = self.launched.get_mut(&obs.task_name) {
            t.status = task_status;
        }
        self.recompute();
        true
    }

    /// The least advanced task status (dcos-commons' `DeploymentStep.getStatus`).
    fn recompute(&mut self) {
        if !self.errors.is_empty() {
            self.status = Status::Error;
            return;
        }
        let statuses: Vec<Status> = self.launched.values().map(|t| t.status).collect();
        let next = if statuses.is_empty() {
            if self.prepared {
                Status::Prepared
            } else {
                Status::Pending
            }
        } else if statuses.contains(&Status::Pending) {
            Status::Pending
        } else if statuses.contains(&Status::Prepared) {
            Status::Prepared
        } else if statuses.contains(&Status::Starting) {
            Status::Starting
        } else if statuses.contains(&Status::Started) {
            Status::Started
        } else {
            Status::Complete
        };
        if next == Status::Pending {
            self.prepared = false;
        }
        self.status = next;
    }

    /// Crash-loop backoff: no launch before `until` (allowed from `PENDING`,
    /// `PREPARED` and `DELAYED`).
    pub(super) fn delay(&mut self, until: Instant) -> bool {
        if !matches!(
            self.status,
            Status::Pending | Status::Prepared | Status::Delayed
        ) {
            return false;
        }
        self.status = Status::Delayed;
        self.prepared = false;
        self.delayed_until = Some(until);
        true
    }

    /// `DELAYED` → `PENDING` once `now` reaches the delay, or unconditionally
    /// with `now == None`.
    pub(super) fn expire_delay(&mut self, now: Option<Instant>) -> bool {
        if self.status != Status::Delayed {
            return false;
        }
        let due = match (now, self.delayed_until) {
            (Some(now), Some(until)) => now >= until,
            _ => true,
        };
        if due {
            self.status = Status::Pending;
            self.delayed_until = None;
        }
        due
    }

    /// Operator restart: back to `PENDING`, forgetting launches and delays.
    pub(super) fn restart(&mut self) {
        self.status = Status::Pending;
        self.launched.clear();
        self.prepared = false;
        self.delayed_until = None;
    }

    /// Operator force-complete.
    /// A step the scheduler drives itself (no offers, no task statuses):
    /// `IN_PROGRESS`-like `STARTING`, then `COMPLETE`. Not from `COMPLETE`
    /// or `ERROR`, nor while interrupted.
    pub(super) fn drive(&mut self, to: Status) -> bool {
        if self.interrupted || matches!(self.status, Status::Complete | Status::Error) {
            return false;
        }
        self.status = to;
        true
    }

    pub(super) fn force_complete(&mut self) {
        self.status = Status::Complete;
        self.delayed_until = None;
    }

    /// Records an error: the step goes to `ERROR`.
    pub(super) fn add_error(&mut self, error: String) {
        self.errors.push(error);
        self.status = Status::Error;
        self.delayed_until = None;
    }

    pub(super) fn interrupt(&mut self) {
        self.interrupted = true;
    }

    pub(super) fn proceed(&mut self) {
        self.interrupted = false;
    }

    pub(super) fn set_parameters(&mut self, parameters: &BTreeMap<String, String>) {
        self.parameters = parameters.clone();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::GoalState;
    use std::time::Duration;

    fn goal(task: &str, goal: GoalState, readiness_check: bool) -> TaskGoal {
        TaskGoal {
            task: task.into(),
            instance_name: format!("hello-0-{task}"),
            goal,
            readiness_check,
        }
    }

    fn step(goals: Vec<TaskGoal>) -> Step {
        Step::new("hello-0:[...]", Some(PodInstance::new("hello", 0)), goals)
    }

    fn obs(task: &str, id: &str, state: TaskState) -> TaskObservation {
        TaskObservation::new(format!("hello-0-{task}"), id, state)
    }

    #[test]
    fn happy_path_without_readiness() {
        let mut s = step(vec![goal("server", GoalState::Running, false)]);
        assert_eq!(s.status(), Status::Pending);
        assert!(s.prepare());
        assert_eq!(s.status(), Status::Prepared);
        assert!(s.launch(&[LaunchedTask::new("hello-0-server", "id1")]));
        assert_eq!(s.status(), Status::Starting);
        s.observe(&obs("server", "id1", TaskState::Staging));
        assert_eq!(s.status(), Status::Starting);
        s.observe(&obs("server", "id1", TaskState::Running));
        assert_eq!(s.status(), Status::Complete);
        // COMPLETE ignores later statuses.
        s.observe(&obs("server", "id1", TaskState::Failed));
        assert_eq!(s.status(), Status::Complete);
    }

    #[test]
    fn readiness_gates_completion() {
        let mut s = step(vec![goal("server", GoalState::Running, true)]);
        s.prepare();
        s.launch(&[LaunchedTask::new("hello-0-server", "id1")]);
        s.observe(&obs("server", "id1", TaskState::Running));
        assert_eq!(s.status(), Status::Started);
        s.observe(&obs("server", "id1", TaskState::Running).with_readiness(false));
        assert_eq!(s.status(), Status::Started);
        s.observe(&obs("server", "id1", TaskState::Running).with_readiness(true));
        assert_eq!(s.status(), Status::Complete);
    }

    #[test]
    fn goals_finish_and_once() {
        let mut s = step(vec![
            goal("init", GoalState::Once, false),
            goal("job", GoalState::Finish, false),
        ]);
        s.prepare();
        s.launch(&[
            LaunchedTask::new("hello-0-init", "a"),
            LaunchedTask::new("hello-0-job", "b"),
        ]);
        s.observe(&obs("init", "a", TaskState::Running));
        assert_eq!(s.status(), Status::Starting, "least advanced task wins");
        s.observe(&obs("job", "b", TaskState::Running));
        assert_eq!(s.status(), Status::Started);
        s.observe(&obs("init", "a", TaskState::Finished));
        assert_eq!(s.status(), Status::Started);
        s.observe(&obs("job", "b", TaskState::Finished));
        assert_eq!(s.status(), Status::Complete);
    }

    #[test]
    fn running_goal_that_finishes_is_relaunched() {
        let mut s = step(vec![goal("server", GoalState::Running, false)]);
        s.prepare();
        s.launch(&[LaunchedTask::new("hello-0-server", "id1")]);
        s.observe(&obs("server", "id1", TaskState::Finished));
        assert_eq!(s.status(), Status::Pending);
        assert_eq!(s.last_failure(), Some("hello-0-server TASK_FINISHED"));
    }

    #[test]
    fn failures_go_back_to_pending_with_reason() {
        for state in [
            TaskState::Failed,
            TaskState::Killed,
            TaskState::Killing,
            TaskState::Lost,
            TaskState::Error,
            TaskState::Gone,
        ] {
            let mut s = step(vec![goal("server", GoalState::Running, false)]);
            s.prepare();
            s.launch(&[LaunchedTask::new("hello-0-server", "id1")]);
            let mut o = obs("server", "id1", state);
            o.message = Some("boom".into());
            s.observe(&o);
            assert_eq!(s.status(), Status::Pending, "{state:?}");
            assert!(s.last_failure().unwrap_or_default().ends_with(": boom"));
        }
    }

    #[test]
    fn ignores_other_task_ids_and_unknown_tasks() {
        let mut s = step(vec![goal("server", GoalState::Running, false)]);
        s.prepare();
        s.launch(&[LaunchedTask::new("hello-0-server", "new")]);
        assert!(!s.observe(&obs("server", "old", TaskState::Killed)));
        assert!(!s.observe(&obs("other", "new", TaskState::Running)));
        assert_eq!(s.status(), Status::Starting);
        // Nothing launched: nothing tracked.
        let mut fresh = step(vec![goal("server", GoalState::Running, false)]);
        assert!(!fresh.observe(&obs("server", "x", TaskState::Running)));
        assert_eq!(fresh.status(), Status::Pending);
    }

    #[test]
    fn launch_without_tasks_stays_prepared() {
        let mut s = step(vec![goal("server", GoalState::Running, false)]);
        s.prepare();
        s.launch(&[LaunchedTask::new("world-0-server", "x")]);
        assert_eq!(s.status(), Status::Prepared);
    }

    #[test]
    fn delay_and_expiry() {
        let t0 = Instant::now();
        let mut s = step(vec![goal("server", GoalState::Running, false)]);
        assert!(s.delay(t0 + Duration::from_secs(60)));
        assert_eq!(s.status(), Status::Delayed);
        assert!(!s.prepare());
        assert!(!s.expire_delay(Some(t0 + Duration::from_secs(59))));
        assert!(s.expire_delay(Some(t0 + Duration::from_secs(60))));
        assert_eq!(s.status(), Status::Pending);
        assert_eq!(s.delayed_until(), None);
    }

    #[test]
    fn interrupted_display() {
        let mut s = step(vec![goal("server", GoalState::Running, false)]);
        s.interrupt();
        assert_eq!(s.status(), Status::Waiting);
        assert_eq!(s.raw_status(), Status::Pending);
        assert!(!s.prepare());
        s.proceed();
        assert!(s.prepare());
    }

    #[test]
    fn errors_and_operator_overrides() {
        let mut s = step(vec![goal("server", GoalState::Running, false)]);
        s.add_error("bad".into());
        assert_eq!(s.status(), Status::Error);
        s.force_complete();
        assert_eq!(s.status(), Status::Complete);
        s.restart();
        assert_eq!(s.status(), Status::Pending);
        assert_eq!(s.errors(), ["bad"]);
    }

    #[test]
    fn message_format() {
        let mut s = step(vec![goal("server", GoalState::Running, false)]);
        s.id = "abc".into();
        assert_eq!(
            s.message(),
            "DeploymentStep: 'hello-0:[...] [abc]' has status: 'PENDING'."
        );
    }
}
