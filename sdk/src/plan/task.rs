//! What plans know about tasks: a small, protobuf-free mirror of Mesos task
//! states and the observations the scheduler feeds in.

use serde::{Deserialize, Serialize};

use crate::spec::GoalState;

/// Mesos `TaskState`, mirrored so that plans do not depend on protobuf types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskState {
    /// `TASK_STAGING`.
    Staging,
    /// `TASK_STARTING`.
    Starting,
    /// `TASK_RUNNING`.
    Running,
    /// `TASK_KILLING`.
    Killing,
    /// `TASK_FINISHED`.
    Finished,
    /// `TASK_FAILED`.
    Failed,
    /// `TASK_KILLED`.
    Killed,
    /// `TASK_ERROR`.
    Error,
    /// `TASK_LOST`.
    Lost,
    /// `TASK_DROPPED`.
    Dropped,
    /// `TASK_UNREACHABLE`.
    Unreachable,
    /// `TASK_GONE`.
    Gone,
    /// `TASK_GONE_BY_OPERATOR`.
    GoneByOperator,
    /// `TASK_UNKNOWN`.
    Unknown,
}

impl TaskState {
    /// True for states that mean "this launch did not work out; launch again":
    /// ERROR, FAILED, KILLED, KILLING, LOST, GONE, DROPPED, UNREACHABLE,
    /// GONE_BY_OPERATOR (dcos-commons treats all of them alike in a deploy step).
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            TaskState::Error
                | TaskState::Failed
                | TaskState::Killed
                | TaskState::Killing
                | TaskState::Lost
                | TaskState::Dropped
                | TaskState::Unreachable
                | TaskState::Gone
                | TaskState::GoneByOperator
        )
    }

    /// True for Mesos' terminal states (not LOST, which may come back).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            TaskState::Finished
                | TaskState::Failed
                | TaskState::Killed
                | TaskState::Error
                | TaskState::Dropped
                | TaskState::Gone
                | TaskState::GoneByOperator
        )
    }

    /// The Mesos spelling (`TASK_RUNNING`, …).
    pub fn as_mesos_str(self) -> &'static str {
        match self {
            TaskState::Staging => "TASK_STAGING",
            TaskState::Starting => "TASK_STARTING",
            TaskState::Running => "TASK_RUNNING",
            TaskState::Killing => "TASK_KILLING",
            TaskState::Finished => "TASK_FINISHED",
            TaskState::Failed => "TASK_FAILED",
            TaskState::Killed => "TASK_KILLED",
            TaskState::Error => "TASK_ERROR",
            TaskState::Lost => "TASK_LOST",
            TaskState::Dropped => "TASK_DROPPED",
            TaskState::Unreachable => "TASK_UNREACHABLE",
            TaskState::Gone => "TASK_GONE",
            TaskState::GoneByOperator => "TASK_GONE_BY_OPERATOR",
            TaskState::Unknown => "TASK_UNKNOWN",
        }
    }
}

/// One observed task status, as the scheduler learned it (from a Mesos update,
/// or from the state store when plans are built after a restart).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskObservation {
    /// Task instance name: `<pod>-<index>-<task>`.
    pub task_name: String,
    /// Mesos task id.
    pub task_id: String,
    /// Latest state.
    pub state: TaskState,
    /// Readiness check result carried by the status: `Some(true)` exit 0,
    /// `Some(false)` failed, `None` no check status on the update.
    pub readiness: Option<bool>,
    /// Target configuration the task was launched with (`target_configuration`
    /// label of its stored TaskInfo), when known.
    pub config_id: Option<String>,
    /// The stored TaskInfo carries the `permanently-failed` label: the deploy
    /// plan leaves the pod to the recovery plan.
    pub permanently_failed: bool,
    /// Mesos status message, if any (kept as the step's last failure).
    pub message: Option<String>,
}

impl TaskObservation {
    /// An observation with no readiness result, config, failure mark or message.
    pub fn new(task_name: impl Into<String>, task_id: impl Into<String>, state: TaskState) -> Self {
        TaskObservation {
            task_name: task_name.into(),
            task_id: task_id.into(),
            state,
            readiness: None,
            config_id: None,
            permanently_failed: false,
            message: None,
        }
    }

    /// With a readiness result.
    pub fn with_readiness(mut self, passed: bool) -> Self {
        self.readiness = Some(passed);
        self
    }

    /// With the config id the task runs.
    pub fn with_config(mut self, config_id: impl Into<String>) -> Self {
        self.config_id = Some(config_id.into());
        self
    }
}

/// A task the scheduler launched for a step (reported with
/// [`Plan::mark_launched`](super::Plan::mark_launched)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaunchedTask {
    /// Task instance name: `<pod>-<index>-<task>`.
    pub task_name: String,
    /// Mesos task id of this launch; updates for other ids are ignored.
    pub task_id: String,
}

impl LaunchedTask {
    /// A launched task.
    pub fn new(task_name: impl Into<String>, task_id: impl Into<String>) -> Self {
        LaunchedTask {
            task_name: task_name.into(),
            task_id: task_id.into(),
        }
    }
}

/// What "done" means for one task of a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskGoal {
    /// Task name within the pod (`server`).
    pub task: String,
    /// Task instance name (`hello-0-server`).
    pub instance_name: String,
    /// Goal state from the spec.
    pub goal: GoalState,
    /// The spec declares a readiness check for the task.
    pub readiness_check: bool,
}

impl TaskGoal {
    /// Whether a RUNNING status passes readiness: with a readiness check in the
    /// spec the status must carry a passing check; without one, a status without
    /// a check result passes (dcos-commons' `isReadinessCheckSucceeded`).
    pub fn readiness_passed(&self, readiness: Option<bool>) -> bool {
        match readiness {
            Some(passed) => passed,
            None => !self.readiness_check,
        }
    }

    /// Whether an observation shows the task at its goal on `target_config`,
    /// the rule for a step's initial status when a plan is built:
    /// RUNNING goal: `TASK_RUNNING`, readiness passed, launched with the target
    /// config; FINISH: `TASK_FINISHED` with the target config; ONCE:
    /// `TASK_FINISHED` with any config. A permanently failed task also counts
    /// (the recovery plan owns it).
    pub fn reached(&self, obs: &TaskObservation, target_config: &str) -> bool {
        if obs.permanently_failed {
            return true;
        }
        let on_target = obs.config_id.as_deref() == Some(target_config);
        match self.goal {
            GoalState::Running => {
                obs.state == TaskState::Running && self.readiness_passed(obs.readiness) && on_target
            }
            GoalState::Finish => obs.state == TaskState::Finished && on_target,
            GoalState::Once => obs.state == TaskState::Finished,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn goal(goal: GoalState, readiness_check: bool) -> TaskGoal {
        TaskGoal {
            task: "server".into(),
            instance_name: "hello-0-server".into(),
            goal,
            readiness_check,
        }
    }

    #[test]
    fn readiness_rule() {
        let with = goal(GoalState::Running, true);
        let without = goal(GoalState::Running, false);
        assert!(!with.readiness_passed(None));
        assert!(with.readiness_passed(Some(true)));
        assert!(!with.readiness_passed(Some(false)));
        assert!(without.readiness_passed(None));
        assert!(!without.readiness_passed(Some(false)));
    }

    #[test]
    fn reached_goal_rules() {
        let running =
            TaskObservation::new("hello-0-server", "id", TaskState::Running).with_config("c1");
        assert!(goal(GoalState::Running, false).reached(&running, "c1"));
        assert!(!goal(GoalState::Running, false).reached(&running, "c2"));
        assert!(!goal(GoalState::Running, true).reached(&running, "c1"));
        assert!(
            goal(GoalState::Running, true).reached(&running.clone().with_readiness(true), "c1")
        );
        assert!(!goal(GoalState::Finish, false).reached(&running, "c1"));

        let finished =
            TaskObservation::new("hello-0-server", "id", TaskState::Finished).with_config("c1");
        assert!(goal(GoalState::Finish, false).reached(&finished, "c1"));
        assert!(!goal(GoalState::Finish, false).reached(&finished, "c2"));
        assert!(goal(GoalState::Once, false).reached(&finished, "c2"));
        assert!(!goal(GoalState::Running, false).reached(&finished, "c1"));

        let mut failed = TaskObservation::new("hello-0-server", "id", TaskState::Failed);
        assert!(!goal(GoalState::Running, false).reached(&failed, "c1"));
        failed.permanently_failed = true;
        assert!(goal(GoalState::Running, false).reached(&failed, "c1"));
    }

    #[test]
    fn failure_states() {
        assert!(TaskState::Killing.is_failure());
        assert!(TaskState::GoneByOperator.is_failure());
        assert!(!TaskState::Finished.is_failure());
        assert!(!TaskState::Unknown.is_failure());
        assert_eq!(
            TaskState::GoneByOperator.as_mesos_str(),
            "TASK_GONE_BY_OPERATOR"
        );
    }
}
