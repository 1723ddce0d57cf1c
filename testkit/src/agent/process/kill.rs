//! Signals to a task's process group, and the grace period between them.
//!
//! Every process this agent starts leads its own process group (spawned with
//! `process_group(0)`), so signalling the group reaches whatever the command
//! started too. [`ProcessGroup`] SIGKILLs the group when dropped unless it
//! was released, so a supervisor that is cancelled (runtime shutdown, a
//! check that is aborted) never leaves processes behind.

use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use plinth_proto::v1::TaskInfo;

/// Grace period when neither the kill nor the task's kill policy gives one.
pub(crate) const DEFAULT_GRACE: Duration = Duration::from_secs(3);

/// Longest grace period honoured, so a kill policy of years cannot keep a
/// kill (or the deadline arithmetic) pending forever.
const MAX_GRACE: Duration = Duration::from_secs(3600);

/// The grace period for a kill: the one asked for, else the task's
/// `kill_policy.grace_period`, else [`DEFAULT_GRACE`]; capped at an hour.
pub(crate) fn grace_period(asked: Option<Duration>, task: &TaskInfo) -> Duration {
    let from_policy = task
        .kill_policy
        .as_deref()
        .and_then(|policy| policy.grace_period)
        // A negative duration is nonsense from the scheduler: treat it as 0.
        .map(|grace| Duration::from_nanos(u64::try_from(grace.nanoseconds).unwrap_or(0)));
    asked
        .or(from_policy)
        .unwrap_or(DEFAULT_GRACE)
        .min(MAX_GRACE)
}

/// A process group this agent started; killed with SIGKILL on drop unless released.
#[derive(Debug)]
pub(crate) struct ProcessGroup {
    pgid: Pid,
    armed: bool,
}

// === impl ProcessGroup ===

impl ProcessGroup {
    /// The group led by `leader` (a child spawned with `process_group(0)`),
    /// or `None` for a pid that cannot be one.
    pub(crate) fn led_by(leader: Option<u32>) -> Option<Self> {
        let pid = i32::try_from(leader?).ok().filter(|pid| *pid > 1)?;
        Some(Self {
            pgid: Pid::from_raw(pid),
            armed: true,
        })
    }

    /// Sends `signal` to every process of the group. A group that is already
    /// gone is not an error.
    pub(crate) fn signal(&self, signal: Signal) -> Result<(), Errno> {
        match killpg(self.pgid, signal) {
            Ok(()) | Err(Errno::ESRCH) => Ok(()),
            Err(errno) => Err(errno),
        }
    }

    /// SIGKILLs whatever is left of the group (the leader has been reaped)
    /// and disarms the drop guard. Done right after the reap, while the group
    /// id cannot have been reused yet.
    pub(crate) fn finish(mut self) {
        if let Err(errno) = self.signal(Signal::SIGKILL) {
            tracing::warn!(pgid = %self.pgid, %errno, "could not kill the rest of a process group");
        }
        self.armed = false;
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        if self.armed {
            // Best effort: Drop cannot report, and the group may be gone.
            let _ = killpg(self.pgid, Signal::SIGKILL);
        }
    }
}

/// The signal's name (`SIGTERM`), or its number when unknown.
pub(crate) fn signal_name(signal: i32) -> String {
    Signal::try_from(signal).map_or_else(|_| format!("signal {signal}"), |s| s.as_str().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use plinth_proto::v1::{DurationInfo, KillPolicy};

    fn task_with_grace(nanoseconds: Option<i64>) -> TaskInfo {
        TaskInfo {
            kill_policy: nanoseconds.map(|nanoseconds| {
                Box::new(KillPolicy {
                    grace_period: Some(DurationInfo { nanoseconds }),
                })
            }),
            ..TaskInfo::default()
        }
    }

    #[test]
    fn grace_prefers_the_kill_then_the_policy_then_the_default() {
        let task = task_with_grace(Some(5_000_000_000));
        assert_eq!(
            grace_period(Some(Duration::from_secs(1)), &task),
            Duration::from_secs(1)
        );
        assert_eq!(grace_period(None, &task), Duration::from_secs(5));
        assert_eq!(grace_period(None, &task_with_grace(None)), DEFAULT_GRACE);
    }

    #[test]
    fn grace_survives_nonsense_policies() {
        assert_eq!(
            grace_period(None, &task_with_grace(Some(-1))),
            Duration::ZERO
        );
        assert_eq!(
            grace_period(None, &task_with_grace(Some(i64::MAX))),
            MAX_GRACE
        );
    }

    #[test]
    fn group_refuses_pids_that_would_signal_everything() {
        // killpg(0) is our own group and killpg(1) init's: never valid targets.
        assert!(ProcessGroup::led_by(None).is_none());
        assert!(ProcessGroup::led_by(Some(0)).is_none());
        assert!(ProcessGroup::led_by(Some(1)).is_none());
        assert!(ProcessGroup::led_by(Some(u32::MAX)).is_none());
    }

    #[test]
    fn signal_names() {
        assert_eq!(signal_name(15), "SIGTERM");
        assert_eq!(signal_name(9), "SIGKILL");
        assert_eq!(signal_name(999), "signal 999");
    }
}
