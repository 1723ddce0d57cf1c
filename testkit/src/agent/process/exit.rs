//! How a task's end becomes its terminal state and message.
//!
//! Mirrors the Mesos command executor: what decides the state is whether
//! *we* killed the task, not how it died (a task that traps SIGTERM and exits
//! 0 after our kill is still `TASK_KILLED`); the message describes the exit
//! ("Command exited with status 3", "Command terminated with signal SIGKILL").

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::Duration;

use plinth_proto::v1::TaskState;
use plinth_proto::v1::task_status::Reason;

use super::kill::signal_name;

/// Why the agent killed a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KillCause {
    /// [`super::ProcessRuntime::kill`].
    Requested,
    /// [`super::ProcessRuntime::shutdown`].
    Shutdown,
    /// The health check failed this many times in a row.
    Unhealthy {
        /// Consecutive failures when the kill was decided.
        failures: u32,
    },
    /// `max_completion_time` expired.
    MaxCompletionTime(Duration),
}

/// The terminal state, reason and message for a task that ended with
/// `status`, killed by us for `cause` if any.
pub(crate) fn terminal(
    status: ExitStatus,
    cause: Option<KillCause>,
) -> (TaskState, Option<Reason>, String) {
    let exit = describe(status);
    match cause {
        None if status.success() => (TaskState::TaskFinished, None, exit),
        None => (TaskState::TaskFailed, None, exit),
        Some(KillCause::Requested) => (TaskState::TaskKilled, None, exit),
        Some(KillCause::Shutdown) => (
            TaskState::TaskKilled,
            None,
            format!("Killed because the process agent is shutting down; {exit}"),
        ),
        Some(KillCause::Unhealthy { failures }) => (
            TaskState::TaskKilled,
            None,
            format!("Killed after {failures} consecutive failed health checks; {exit}"),
        ),
        Some(KillCause::MaxCompletionTime(limit)) => (
            TaskState::TaskFailed,
            Some(Reason::MaxCompletionTimeReached),
            format!("Task exceeded its max_completion_time of {limit:?}; {exit}"),
        ),
    }
}

/// "Command exited with status N" or "Command terminated with signal S".
pub(crate) fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("Command exited with status {code}"),
        (None, Some(signal)) => format!("Command terminated with signal {}", signal_name(signal)),
        // Stopped/continued statuses are never returned by wait() here.
        (None, None) => format!("Command ended with wait status {}", status.into_raw()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exited(code: i32) -> ExitStatus {
        ExitStatus::from_raw(code << 8)
    }

    fn signalled(signal: i32) -> ExitStatus {
        ExitStatus::from_raw(signal)
    }

    #[test]
    fn exit_codes_decide_finished_or_failed() {
        assert_eq!(
            terminal(exited(0), None),
            (
                TaskState::TaskFinished,
                None,
                "Command exited with status 0".into()
            )
        );
        assert_eq!(
            terminal(exited(3), None),
            (
                TaskState::TaskFailed,
                None,
                "Command exited with status 3".into()
            )
        );
    }

    #[test]
    fn a_foreign_signal_is_a_failure() {
        let (state, _, message) = terminal(signalled(9), None);
        assert_eq!(state, TaskState::TaskFailed);
        assert_eq!(message, "Command terminated with signal SIGKILL");
    }

    #[test]
    fn our_kill_is_killed_however_the_command_ended() {
        assert_eq!(
            terminal(exited(0), Some(KillCause::Requested)).0,
            TaskState::TaskKilled
        );
        assert_eq!(
            terminal(signalled(15), Some(KillCause::Requested)).0,
            TaskState::TaskKilled
        );
        let (state, _, message) =
            terminal(signalled(15), Some(KillCause::Unhealthy { failures: 3 }));
        assert_eq!(state, TaskState::TaskKilled);
        assert!(
            message.contains("3 consecutive failed health checks"),
            "{message}"
        );
    }

    #[test]
    fn max_completion_time_fails_with_its_reason() {
        let cause = KillCause::MaxCompletionTime(Duration::from_secs(2));
        let (state, reason, _) = terminal(signalled(15), Some(cause));
        assert_eq!(state, TaskState::TaskFailed);
        assert_eq!(reason, Some(Reason::MaxCompletionTimeReached));
    }
}
