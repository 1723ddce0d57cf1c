//! Turning Mesos task statuses into the plan's observations.

use plinth_proto::v1::{TaskInfo, TaskState as MesosState, TaskStatus, check_info};

use crate::offer::labels;
use crate::plan::{TaskObservation, TaskState};

/// The plan's view of a Mesos task state.
#[must_use]
pub fn task_state(state: i32) -> TaskState {
    match MesosState::try_from(state).unwrap_or(MesosState::TaskUnknown) {
        MesosState::TaskStaging => TaskState::Staging,
        MesosState::TaskStarting => TaskState::Starting,
        MesosState::TaskRunning => TaskState::Running,
        MesosState::TaskKilling => TaskState::Killing,
        MesosState::TaskFinished => TaskState::Finished,
        MesosState::TaskFailed => TaskState::Failed,
        MesosState::TaskKilled => TaskState::Killed,
        MesosState::TaskError => TaskState::Error,
        MesosState::TaskLost => TaskState::Lost,
        MesosState::TaskDropped => TaskState::Dropped,
        MesosState::TaskUnreachable => TaskState::Unreachable,
        MesosState::TaskGone => TaskState::Gone,
        MesosState::TaskGoneByOperator => TaskState::GoneByOperator,
        MesosState::TaskUnknown => TaskState::Unknown,
    }
}

/// Whether a Mesos state is terminal (the task will not come back).
#[must_use]
pub fn is_terminal(state: i32) -> bool {
    task_state(state).is_terminal()
}

/// The readiness result a status carries: a COMMAND check's exit code
/// (dcos-commons delivers readiness checks as Mesos checks).
#[must_use]
pub fn readiness(status: &TaskStatus) -> Option<bool> {
    let check = status.check_status.as_ref()?;
    if check.r#type != Some(check_info::Type::Command as i32) {
        return None;
    }
    check.command.as_ref()?.exit_code.map(|code| code == 0)
}

/// The observation of a stored task for the plans.
#[must_use]
pub fn observation(info: &TaskInfo, status: &TaskStatus) -> TaskObservation {
    let mut obs = TaskObservation::new(
        info.name.clone(),
        status.task_id.value.clone(),
        task_state(status.state),
    );
    // A paused task runs without its readiness check: nothing to wait for.
    obs.readiness = if labels::is_paused(info) {
        Some(true)
    } else {
        readiness(status)
    };
    obs.config_id = labels::task_label(info, labels::TARGET_CONFIGURATION).map(str::to_owned);
    obs.permanently_failed = labels::task_label(info, labels::PERMANENTLY_FAILED).is_some();
    obs.message.clone_from(&status.message);
    obs
}

#[cfg(test)]
mod tests {
    use super::*;
    use plinth_proto::v1::{CheckStatusInfo, TaskId, check_status_info};

    #[test]
    fn readiness_comes_from_command_check_exit_codes() {
        let mut status = TaskStatus {
            task_id: TaskId { value: "t".into() },
            state: MesosState::TaskRunning as i32,
            ..Default::default()
        };
        assert_eq!(readiness(&status), None);
        status.check_status = Some(CheckStatusInfo {
            r#type: Some(check_info::Type::Command as i32),
            command: Some(check_status_info::Command { exit_code: Some(1) }),
            ..Default::default()
        });
        assert_eq!(readiness(&status), Some(false));
        status.check_status.as_mut().unwrap().command =
            Some(check_status_info::Command { exit_code: Some(0) });
        assert_eq!(readiness(&status), Some(true));
    }

    #[test]
    fn a_paused_task_counts_as_ready_without_a_check() {
        let status = TaskStatus {
            task_id: TaskId { value: "t".into() },
            state: MesosState::TaskRunning as i32,
            ..Default::default()
        };
        let mut info = TaskInfo::default();
        assert_eq!(observation(&info, &status).readiness, None);
        info.labels = Some(plinth_proto::v1::Labels {
            labels: vec![plinth_proto::v1::Label {
                key: labels::GOAL_STATE_OVERRIDE.into(),
                value: Some(labels::PAUSED.into()),
            }],
        });
        assert!(labels::is_paused(&info));
        assert_eq!(observation(&info, &status).readiness, Some(true));
    }

    #[test]
    fn terminal_states() {
        assert!(is_terminal(MesosState::TaskFailed as i32));
        assert!(is_terminal(MesosState::TaskGone as i32));
        assert!(
            !is_terminal(MesosState::TaskLost as i32),
            "LOST may come back"
        );
        assert!(!is_terminal(MesosState::TaskRunning as i32));
        assert_eq!(
            task_state(MesosState::TaskUnreachable as i32),
            TaskState::Unreachable
        );
    }
}
