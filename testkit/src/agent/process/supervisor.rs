//! One task's life after its process was spawned: status updates, checks,
//! kills, and the final reap.
//!
//! The supervisor is a single loop over a `select!`: the process exiting,
//! kill requests, shutdown, the SIGKILL and max-completion deadlines, check
//! results, and sending queued updates. Updates go through a local queue
//! and are sent as the channel has room, so a caller that reads slowly never
//! delays a kill; check results stop being taken while the queue is full,
//! which in turn holds the check loops back.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::Signal;
use plinth_proto::v1::task_status::Reason;
use plinth_proto::v1::{CheckStatusInfo, TaskInfo, TaskState};
use tokio::process::Child;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::ProcessUpdate;
use super::checks::{self, CheckState, Event, HealthState, Outcome, Plan, Which};
use super::command::Env;
use super::exit::{self, KillCause};
use super::kill::{ProcessGroup, grace_period};
use super::runtime::{Inner, Kill};

/// Longest grace period a shutdown gives a task before SIGKILL.
pub(crate) const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// Updates held for a slow reader before check results are held back.
const MAX_QUEUED: usize = 32;

/// Check results in flight from the check loops.
const EVENTS_CAPACITY: usize = 8;

/// Longest `max_completion_time` honoured (keeps the deadline arithmetic sane).
const MAX_COMPLETION_CAP: Duration = Duration::from_secs(365 * 24 * 3600);

/// A spawned task, as the supervisor needs it.
#[derive(Debug)]
pub(crate) struct Running {
    pub(crate) task_id: String,
    pub(crate) generation: u64,
    pub(crate) task: TaskInfo,
    pub(crate) sandbox: PathBuf,
    pub(crate) env: Env,
    pub(crate) health: Option<Plan>,
    pub(crate) check: Option<Plan>,
    pub(crate) started: Instant,
}

/// A kill in progress.
#[derive(Debug)]
struct Killing {
    cause: KillCause,
    sigkill_at: Instant,
    sigkilled: bool,
}

/// The supervisor's state between two turns of its loop.
struct Supervisor {
    inner: Arc<Inner>,
    running: Running,
    group: Option<ProcessGroup>,
    queue: VecDeque<ProcessUpdate>,
    healthy: Option<bool>,
    check_status: Option<CheckStatusInfo>,
    health_state: Option<HealthState>,
    check_state: CheckState,
    killing: Option<Killing>,
}

/// Supervises `child` until it is reaped and its terminal update is sent.
pub(crate) async fn supervise(
    inner: Arc<Inner>,
    running: Running,
    mut child: Child,
    mut control: mpsc::Receiver<Kill>,
) {
    let mut shutdown = inner.shutdown.subscribe();
    let health_state = running
        .task
        .health_check
        .as_ref()
        .filter(|_| matches!(running.health, Some(Plan::Command { .. })));
    let mut this = Supervisor {
        group: ProcessGroup::led_by(child.id()),
        health_state: health_state.map(|check| HealthState::new(check, running.started)),
        inner,
        running,
        queue: VecDeque::new(),
        healthy: None,
        check_status: None,
        check_state: CheckState::default(),
        killing: None,
    };
    this.announce();
    let (events_tx, mut events) = mpsc::channel(EVENTS_CAPACITY);
    let check_loops = this.start_checks(&events_tx);
    drop(events_tx);
    let max_completion = this.running.task.max_completion_time.map(|limit| {
        let limit = Duration::from_nanos(u64::try_from(limit.nanoseconds).unwrap_or(0));
        limit.min(MAX_COMPLETION_CAP)
    });

    // A handle of our own, so the select can reserve while the arms mutate.
    let updates = this.inner.updates.clone();
    let status = loop {
        let sigkill_at = this
            .killing
            .as_ref()
            .filter(|k| !k.sigkilled)
            .map(|k| k.sigkill_at);
        let shutting_down = *shutdown.borrow();
        tokio::select! {
            biased;
            status = child.wait() => break status,
            Some(kill) = control.recv() => this.kill(kill.cause, grace_period(kill.grace, &this.running.task)),
            _ = shutdown.changed(), if !shutting_down => {}
            () = sleep_until(sigkill_at) => this.sigkill(&mut child),
            () = sleep_until(max_completion.map(|limit| this.running.started + limit)),
                if this.killing.is_none() =>
            {
                let limit = max_completion.unwrap_or_default();
                this.kill(KillCause::MaxCompletionTime(limit), grace_period(None, &this.running.task));
            }
            Some(event) = events.recv(), if this.queue.len() < MAX_QUEUED => this.on_check(&event),
            permit = updates.reserve(), if !this.queue.is_empty() => match permit {
                Ok(permit) => {
                    if let Some(update) = this.queue.pop_front() {
                        permit.send(update);
                    }
                }
                // Nobody listens any more: keep supervising, stop queueing.
                Err(_) => this.queue.clear(),
            },
        }
        // Checked after every turn so a shutdown during a kill shortens it.
        if *shutdown.borrow() {
            let grace = grace_period(None, &this.running.task).min(SHUTDOWN_GRACE);
            this.kill(KillCause::Shutdown, grace);
        }
    };

    // Checks must not report on a task that is gone.
    drop(check_loops);
    if let Some(group) = this.group.take() {
        // Whatever the command left running in the background goes with it.
        group.finish();
    }
    this.inner
        .forget(&this.running.task_id, this.running.generation);
    this.finish(status);
    this.drain(&mut shutdown).await;
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Aborts the check loops when dropped (their check process groups are
/// killed with SIGKILL as they unwind).
struct CheckLoops(Vec<JoinHandle<()>>);

impl Drop for CheckLoops {
    fn drop(&mut self) {
        for handle in &self.0 {
            handle.abort();
        }
    }
}

// === impl Supervisor ===

impl Supervisor {
    /// Queues `TASK_STARTING` and `TASK_RUNNING`.
    fn announce(&mut self) {
        self.push(TaskState::TaskStarting, None, None);
        // Mesos puts an empty check status on TASK_RUNNING for COMMAND checks.
        if matches!(self.running.check, Some(Plan::Command { .. })) {
            self.check_status = Some(checks::empty_command_status());
        }
        let unsupported: Vec<&str> = [&self.running.health, &self.running.check]
            .into_iter()
            .filter_map(|plan| match plan {
                Some(Plan::Unsupported(text)) => Some(text.as_str()),
                _ => None,
            })
            .collect();
        let message = (!unsupported.is_empty()).then(|| unsupported.join("; "));
        self.push(TaskState::TaskRunning, None, message);
    }

    /// Spawns a loop per COMMAND check.
    fn start_checks(&self, events: &mpsc::Sender<Event>) -> CheckLoops {
        let plans = [
            (Which::Health, &self.running.health),
            (Which::Check, &self.running.check),
        ];
        let loops = plans.into_iter().filter_map(|(which, plan)| match plan {
            Some(Plan::Command {
                invocation,
                variables,
                schedule,
            }) => Some(tokio::spawn(checks::run(
                which,
                invocation.clone(),
                variables.clone(),
                *schedule,
                self.running.sandbox.clone(),
                self.running.env.clone(),
                events.clone(),
            ))),
            _ => None,
        });
        CheckLoops(loops.collect())
    }

    /// Queues an update carrying the latest health and check status.
    fn push(&mut self, state: TaskState, reason: Option<Reason>, message: Option<String>) {
        self.queue.push_back(ProcessUpdate {
            task_id: self.running.task_id.clone(),
            state,
            message,
            reason,
            healthy: self.healthy,
            check_status: self.check_status,
        });
    }

    /// Starts killing the task (SIGTERM now, SIGKILL after `grace`), or
    /// shortens a kill in progress to `grace` from now.
    fn kill(&mut self, cause: KillCause, grace: Duration) {
        let sigkill_at = Instant::now() + grace;
        if let Some(killing) = &mut self.killing {
            killing.sigkill_at = killing.sigkill_at.min(sigkill_at);
            return;
        }
        tracing::debug!(task_id = %self.running.task_id, ?cause, ?grace, "killing task");
        self.signal(Signal::SIGTERM);
        self.killing = Some(Killing {
            cause,
            sigkill_at,
            sigkilled: false,
        });
    }

    /// The grace period is over: SIGKILL.
    fn sigkill(&mut self, child: &mut Child) {
        if self.group.is_none() {
            // No group to signal (never expected): at least the process.
            let _ = child.start_kill();
        }
        self.signal(Signal::SIGKILL);
        if let Some(killing) = &mut self.killing {
            killing.sigkilled = true;
        }
    }

    fn signal(&self, signal: Signal) {
        let Some(group) = &self.group else { return };
        if let Err(errno) = group.signal(signal) {
            tracing::warn!(task_id = %self.running.task_id, %signal, %errno, "could not signal the task");
        }
    }

    /// Takes a check result: reports changes, kills the unhealthy.
    fn on_check(&mut self, event: &Event) {
        // After a kill started, nothing but the terminal state is reported.
        if self.killing.is_some() {
            return;
        }
        match event.which {
            Which::Health => {
                let Some(state) = &mut self.health_state else {
                    return;
                };
                let verdict = state.observe(event.outcome == Outcome::Exited(0), Instant::now());
                if let Some(healthy) = verdict.report {
                    self.healthy = Some(healthy);
                    let message = (!healthy).then(|| match &event.outcome {
                        Outcome::Exited(code) => {
                            format!("Health check command exited with status {code}")
                        }
                        Outcome::Failed(text) => format!("Health check failed: {text}"),
                    });
                    self.push(
                        TaskState::TaskRunning,
                        Some(Reason::TaskHealthCheckStatusUpdated),
                        message,
                    );
                }
                if let Some(failures) = verdict.kill_after {
                    let grace = grace_period(None, &self.running.task);
                    self.kill(KillCause::Unhealthy { failures }, grace);
                }
            }
            Which::Check => {
                if let Some(status) = self.check_state.observe(&event.outcome) {
                    self.check_status = Some(status);
                    let message = match &event.outcome {
                        Outcome::Failed(text) => Some(format!("Check failed: {text}")),
                        Outcome::Exited(_) => None,
                    };
                    self.push(
                        TaskState::TaskRunning,
                        Some(Reason::TaskCheckStatusUpdated),
                        message,
                    );
                }
            }
        }
    }

    /// Queues the terminal update for how the process ended.
    fn finish(&mut self, status: std::io::Result<ExitStatus>) {
        let cause = self.killing.as_ref().map(|killing| killing.cause);
        match status {
            Ok(status) => {
                let (state, reason, message) = exit::terminal(status, cause);
                self.push(state, reason, Some(message));
            }
            Err(error) => {
                // wait() failing means the process is not ours to reap; its
                // group was killed above, so report it as failed.
                let message = format!("Could not wait for the command: {error}");
                self.push(
                    TaskState::TaskFailed,
                    Some(Reason::CommandExecutorFailed),
                    Some(message),
                );
            }
        }
    }

    /// Sends what is queued. During shutdown, only what fits right away.
    async fn drain(&mut self, shutdown: &mut watch::Receiver<bool>) {
        while let Some(update) = self.queue.pop_front() {
            if *shutdown.borrow() {
                let _ = self.inner.updates.try_send(update);
                continue;
            }
            tokio::select! {
                biased;
                permit = self.inner.updates.reserve() => match permit {
                    Ok(permit) => permit.send(update),
                    Err(_) => return,
                },
                // Shutdown while waiting for room: re-check at the top.
                _ = shutdown.wait_for(|down| *down) => self.queue.push_front(update),
            }
        }
    }
}
