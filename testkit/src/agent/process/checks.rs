//! COMMAND health checks and checks, run for real next to the task.
//!
//! A check loop waits `delay_seconds`, then runs the check command
//! (`/bin/sh -c` in the sandbox, with the task's environment plus the
//! check's own variables) every `interval_seconds`, killing it after
//! `timeout_seconds` (0 = no timeout). It only reports raw [`Outcome`]s; the
//! pure state machines here decide what the scheduler sees, as the Mesos
//! executors do:
//!
//! - [`HealthState`]: failures within `grace_period_seconds` of the launch
//!   are ignored until the first success; the health status is reported when
//!   it changes; after `consecutive_failures` failures in a row the task is
//!   to be killed.
//! - [`CheckState`]: the exit code is reported when it changes; a check that
//!   could not run (timeout, spawn error) reports an unset exit code.
//!
//! HTTP and TCP checks are not run: [`Plan::Unsupported`] carries the text
//! the task's `TASK_RUNNING` update shows instead.

use std::path::PathBuf;
use std::time::Duration;

use plinth_proto::v1::{
    CheckInfo, CheckStatusInfo, CommandInfo, HealthCheck, check_info, check_status_info,
    health_check,
};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::ProcessError;
use super::command::{self, Env, Invocation};
use super::exit::describe;
use super::kill::ProcessGroup;

/// Shortest interval between two runs, so `interval_seconds: 0` cannot spin.
const MIN_INTERVAL: Duration = Duration::from_millis(10);
/// Longest delay, interval, timeout or grace honoured (keeps deadlines sane).
const MAX_SECONDS: f64 = 365.0 * 24.0 * 3600.0;
/// How long to wait for a timed-out check's process to be reaped after SIGKILL.
const REAP_TIMEOUT: Duration = Duration::from_secs(1);

/// Which of the task's checks an outcome is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Which {
    /// `TaskInfo.health_check`.
    Health,
    /// `TaskInfo.check`.
    Check,
}

/// How one run of a check command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// It exited with this code.
    Exited(i32),
    /// It could not run to completion: killed by a signal, timed out, or
    /// failed to start. The text says which.
    Failed(String),
}

/// A check result, sent from a check loop to the task's supervisor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Event {
    /// The health check or the check.
    pub(crate) which: Which,
    /// How the run ended.
    pub(crate) outcome: Outcome,
}

/// When and how often a check runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Schedule {
    delay: Duration,
    interval: Duration,
    timeout: Option<Duration>,
}

/// What to do for one of the task's checks.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Plan {
    /// Run this command on this schedule.
    Command {
        /// The check command.
        invocation: Invocation,
        /// The check command's own variables, added over the task's.
        variables: Env,
        /// When to run it.
        schedule: Schedule,
    },
    /// A check this agent cannot run; the text explains it to the user.
    Unsupported(String),
}

/// Seconds from a proto double, clamped to `[0, MAX_SECONDS]`; NaN is 0.
fn seconds(value: f64) -> Duration {
    Duration::from_secs_f64(if value.is_nan() {
        0.0
    } else {
        value.clamp(0.0, MAX_SECONDS)
    })
}

/// The plan for `TaskInfo.health_check`.
pub(crate) fn health_plan(check: &HealthCheck) -> Result<Plan, ProcessError> {
    let schedule = Schedule {
        delay: seconds(check.delay_seconds()),
        interval: seconds(check.interval_seconds()).max(MIN_INTERVAL),
        timeout: Some(seconds(check.timeout_seconds())).filter(|t| !t.is_zero()),
    };
    // Before Mesos 1.2 the type was implied by which field was set.
    let kind = match check.r#type {
        Some(_) => check.r#type(),
        None if check.command.is_some() => health_check::Type::Command,
        None if check.http.is_some() => health_check::Type::Http,
        None if check.tcp.is_some() => health_check::Type::Tcp,
        None => health_check::Type::Unknown,
    };
    match kind {
        health_check::Type::Command => {
            command_plan("health_check", check.command.as_ref(), schedule)
        }
        health_check::Type::Http | health_check::Type::Tcp => Ok(Plan::Unsupported(format!(
            "{} health checks are not supported by the testkit process agent; this task's health \
             is not checked",
            kind.as_str_name()
        ))),
        health_check::Type::Unknown => Err(ProcessError::InvalidCheck {
            what: "health_check",
            problem: "it has no type".into(),
        }),
    }
}

/// The plan for `TaskInfo.check`.
pub(crate) fn check_plan(check: &CheckInfo) -> Result<Plan, ProcessError> {
    let schedule = Schedule {
        delay: seconds(check.delay_seconds()),
        interval: seconds(check.interval_seconds()).max(MIN_INTERVAL),
        timeout: Some(seconds(check.timeout_seconds())).filter(|t| !t.is_zero()),
    };
    match check.r#type() {
        check_info::Type::Command => command_plan(
            "check",
            check.command.as_ref().map(|c| &c.command),
            schedule,
        ),
        kind @ (check_info::Type::Http | check_info::Type::Tcp) => Ok(Plan::Unsupported(format!(
            "{} checks are not supported by the testkit process agent; this task's check does not \
             run",
            kind.as_str_name()
        ))),
        check_info::Type::Unknown => Err(ProcessError::InvalidCheck {
            what: "check",
            problem: "it has no type".into(),
        }),
    }
}

fn command_plan(
    what: &'static str,
    command: Option<&CommandInfo>,
    schedule: Schedule,
) -> Result<Plan, ProcessError> {
    let missing = || ProcessError::InvalidCheck {
        what,
        problem: "type is COMMAND but it has no command value".into(),
    };
    let command = command.ok_or_else(missing)?;
    let invocation = Invocation::of(command).ok_or_else(missing)?;
    let mut variables = Env::new();
    command::add_variables(&mut variables, command.environment.as_ref())?;
    Ok(Plan::Command {
        invocation,
        variables,
        schedule,
    })
}

/// The empty check status Mesos puts on `TASK_RUNNING` for a COMMAND check.
pub(crate) fn empty_command_status() -> CheckStatusInfo {
    command_status(None)
}

fn command_status(exit_code: Option<i32>) -> CheckStatusInfo {
    CheckStatusInfo {
        r#type: Some(check_info::Type::Command as i32),
        command: Some(check_status_info::Command { exit_code }),
        http: None,
        tcp: None,
    }
}

// === Running ===

/// Runs `plan`'s command forever on its schedule, sending each outcome to
/// `events`. Ends when the receiver is gone; the supervisor aborts it when
/// the task ends (the running check's process group is killed on drop).
pub(crate) async fn run(
    which: Which,
    invocation: Invocation,
    variables: Env,
    schedule: Schedule,
    sandbox: PathBuf,
    mut env: Env,
    events: mpsc::Sender<Event>,
) {
    env.extend(variables);
    tokio::time::sleep(schedule.delay).await;
    let mut ticks = tokio::time::interval(schedule.interval);
    // A check slower than its interval runs back to back, not in bursts.
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let outcome = run_once(&invocation, &sandbox, &env, schedule.timeout).await;
        if events.send(Event { which, outcome }).await.is_err() {
            return;
        }
    }
}

/// Runs the check command once.
async fn run_once(
    invocation: &Invocation,
    sandbox: &std::path::Path,
    env: &Env,
    timeout: Option<Duration>,
) -> Outcome {
    let mut command = invocation.command(sandbox, env);
    command
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(error) => {
            return Outcome::Failed(format!("could not start the check command: {error}"));
        }
    };
    let group = ProcessGroup::led_by(child.id());
    let waited = match timeout {
        Some(limit) => tokio::time::timeout(limit, child.wait()).await.ok(),
        None => Some(child.wait().await),
    };
    match waited {
        Some(Ok(status)) => {
            if let Some(group) = group {
                group.finish();
            }
            match status.code() {
                Some(code) => Outcome::Exited(code),
                None => Outcome::Failed(describe(status)),
            }
        }
        Some(Err(error)) => {
            Outcome::Failed(format!("could not wait for the check command: {error}"))
        }
        None => {
            drop(group); // SIGKILLs the check's whole group
            let _ = tokio::time::timeout(REAP_TIMEOUT, child.wait()).await;
            Outcome::Failed(format!(
                "the check command timed out after {:?}",
                timeout.unwrap_or_default()
            ))
        }
    }
}

// === State machines ===

/// What the supervisor should do after a health check result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HealthVerdict {
    /// Report this health status (it changed, or is the first).
    pub(crate) report: Option<bool>,
    /// Kill the task: this many consecutive failures.
    pub(crate) kill_after: Option<u32>,
}

/// The health of a task, from its health check results.
#[derive(Debug, Clone)]
pub(crate) struct HealthState {
    started: Instant,
    grace: Duration,
    max_failures: u32,
    in_grace: bool,
    failures: u32,
    reported: Option<bool>,
}

impl HealthState {
    /// A task launched at `started` with `check`'s grace and failure limit.
    pub(crate) fn new(check: &HealthCheck, started: Instant) -> Self {
        Self {
            started,
            grace: seconds(check.grace_period_seconds()),
            max_failures: check.consecutive_failures(),
            in_grace: true,
            failures: 0,
            reported: None,
        }
    }

    /// Takes one result, observed at `now`.
    pub(crate) fn observe(&mut self, healthy: bool, now: Instant) -> HealthVerdict {
        if healthy {
            // The first success ends the grace period for good.
            self.in_grace = false;
            self.failures = 0;
        } else {
            if self.in_grace && now.saturating_duration_since(self.started) < self.grace {
                return HealthVerdict {
                    report: None,
                    kill_after: None,
                };
            }
            self.in_grace = false;
            self.failures = self.failures.saturating_add(1);
        }
        let report = (self.reported != Some(healthy)).then_some(healthy);
        self.reported = Some(healthy);
        let kill_after = (!healthy && self.failures >= self.max_failures).then_some(self.failures);
        HealthVerdict { report, kill_after }
    }
}

/// The last check result reported for a task.
#[derive(Debug, Clone, Default)]
pub(crate) struct CheckState {
    /// `None` before the first report; `Some(None)` after reporting a check
    /// that could not run (an unset exit code, as Mesos sends).
    reported: Option<Option<i32>>,
}

impl CheckState {
    /// Takes one result; returns the status to report if it changed.
    pub(crate) fn observe(&mut self, outcome: &Outcome) -> Option<CheckStatusInfo> {
        let exit_code = match outcome {
            Outcome::Exited(code) => Some(*code),
            Outcome::Failed(_) => None,
        };
        if self.reported == Some(exit_code) {
            return None;
        }
        self.reported = Some(exit_code);
        Some(command_status(exit_code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn health(grace: f64, failures: u32) -> HealthCheck {
        HealthCheck {
            r#type: Some(health_check::Type::Command as i32),
            command: Some(CommandInfo {
                value: Some("true".into()),
                ..CommandInfo::default()
            }),
            grace_period_seconds: Some(grace),
            consecutive_failures: Some(failures),
            ..HealthCheck::default()
        }
    }

    #[test]
    fn health_reports_changes_only_and_kills_after_the_limit() {
        let t0 = Instant::now();
        let mut state = HealthState::new(&health(0.0, 2), t0);
        assert_eq!(
            state.observe(true, t0),
            HealthVerdict {
                report: Some(true),
                kill_after: None
            }
        );
        assert_eq!(
            state.observe(true, t0),
            HealthVerdict {
                report: None,
                kill_after: None
            }
        );
        assert_eq!(
            state.observe(false, t0),
            HealthVerdict {
                report: Some(false),
                kill_after: None
            }
        );
        assert_eq!(
            state.observe(false, t0),
            HealthVerdict {
                report: None,
                kill_after: Some(2)
            }
        );
    }

    #[test]
    fn failures_in_the_grace_period_are_ignored_until_the_first_success() {
        let t0 = Instant::now();
        let mut state = HealthState::new(&health(10.0, 1), t0);
        let early = t0 + Duration::from_secs(1);
        assert_eq!(
            state.observe(false, early),
            HealthVerdict {
                report: None,
                kill_after: None
            }
        );
        assert_eq!(state.observe(true, early).report, Some(true));
        // Grace ended with the success, even though 10 s have not passed.
        assert_eq!(
            state.observe(false, early),
            HealthVerdict {
                report: Some(false),
                kill_after: Some(1)
            }
        );
    }

    #[test]
    fn failures_after_the_grace_period_count() {
        let t0 = Instant::now();
        let mut state = HealthState::new(&health(1.0, 3), t0);
        let late = t0 + Duration::from_secs(2);
        assert_eq!(
            state.observe(false, late),
            HealthVerdict {
                report: Some(false),
                kill_after: None
            }
        );
    }

    #[test]
    fn checks_report_exit_code_changes() {
        let mut state = CheckState::default();
        assert_eq!(
            state.observe(&Outcome::Exited(0)),
            Some(command_status(Some(0)))
        );
        assert_eq!(state.observe(&Outcome::Exited(0)), None);
        assert_eq!(
            state.observe(&Outcome::Exited(7)),
            Some(command_status(Some(7)))
        );
        assert_eq!(
            state.observe(&Outcome::Failed("timeout".into())),
            Some(command_status(None))
        );
        assert_eq!(state.observe(&Outcome::Failed("again".into())), None);
    }

    #[test]
    fn plans() {
        assert!(matches!(
            health_plan(&health(0.0, 1)),
            Ok(Plan::Command { .. })
        ));
        let http = HealthCheck {
            r#type: Some(health_check::Type::Http as i32),
            ..HealthCheck::default()
        };
        assert!(
            matches!(health_plan(&http), Ok(Plan::Unsupported(text)) if text.contains("not supported"))
        );
        let legacy = HealthCheck {
            r#type: None,
            ..health(0.0, 1)
        };
        assert!(matches!(health_plan(&legacy), Ok(Plan::Command { .. })));
        let empty = HealthCheck {
            command: None,
            ..health(0.0, 1)
        };
        assert!(matches!(
            health_plan(&empty),
            Err(ProcessError::InvalidCheck { .. })
        ));
        let tcp = CheckInfo {
            r#type: Some(check_info::Type::Tcp as i32),
            ..CheckInfo::default()
        };
        assert!(matches!(check_plan(&tcp), Ok(Plan::Unsupported(text)) if text.contains("TCP")));
        assert!(matches!(
            check_plan(&CheckInfo::default()),
            Err(ProcessError::InvalidCheck { .. })
        ));
    }

    #[test]
    fn nonsense_durations_are_clamped() {
        assert_eq!(seconds(f64::NAN), Duration::ZERO);
        assert_eq!(seconds(-1.0), Duration::ZERO);
        assert_eq!(seconds(f64::INFINITY), Duration::from_secs_f64(MAX_SECONDS));
        let spin = HealthCheck {
            interval_seconds: Some(0.0),
            ..health(0.0, 1)
        };
        let Ok(Plan::Command { schedule, .. }) = health_plan(&spin) else {
            panic!("a command plan")
        };
        assert_eq!(schedule.interval, MIN_INTERVAL);
    }
}
