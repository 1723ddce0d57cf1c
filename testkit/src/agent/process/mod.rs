//! Real local processes for the testkit's *process* agents.
//!
//! A process agent runs each task's command for real, as a child process of
//! the testkit, the way a Mesos agent's command executor (or the default
//! executor, for a task of a task group) would:
//!
//! - **Sandbox**: every launch gets a fresh directory
//!   `<work_dir>/agents/<agent>/frameworks/<framework>/tasks/<task>/runs/<n>`
//!   (`runs/latest` points at the newest), which is the command's working
//!   directory, `$MESOS_SANDBOX` and `$HOME`, and holds its `stdout` and
//!   `stderr` files.
//! - **Command**: `/bin/sh -c <value>` (`CommandInfo.shell`, default true), or
//!   `value` with `arguments` as argv when `shell` is false. The environment
//!   is a minimal base (`PATH`, `HOME`), the Mesos variables (`MESOS_SANDBOX`,
//!   `MESOS_DIRECTORY`, `MESOS_TASK_ID`, `MESOS_AGENT_ID`,
//!   `MESOS_FRAMEWORK_ID`, `MESOS_EXECUTOR_ID`, `MESOS_CONTAINER_IP`), then
//!   the executor's and the task's `command.environment` (later wins, as in
//!   Mesos). `CommandInfo.user` is ignored: everything runs as the testkit's
//!   own user.
//! - **Persistent volumes**: a directory per persistence id under the
//!   agent's work dir ([`ProcessRuntime::volume_dir`]), symlinked into the
//!   sandbox at the volume's container path. It outlives the task and is
//!   deleted only by [`ProcessRuntime::destroy_volume`].
//! - **URIs**: fetched into the sandbox from local paths (absolute or
//!   `file://`) and from loopback HTTP only; `.tar`, `.tar.gz`/`.tgz` and
//!   `.gz` are extracted unless `extract` is false; `executable` sets mode
//!   0755.
//! - **Checks**: COMMAND health checks and COMMAND checks run for real (see
//!   [`ProcessUpdate`] for how their results are reported). HTTP and TCP
//!   checks are not run; the `TASK_RUNNING` update says so in its message.
//! - **Kill**: SIGTERM to the task's process group, SIGKILL after the grace
//!   period.
//!
//! # Guarantees
//!
//! - Every task that [`ProcessRuntime::launch`] accepted (returned `Ok`) gets
//!   exactly one terminal update (FINISHED, FAILED or KILLED), preceded by
//!   STARTING and RUNNING, all through the `updates` channel in order.
//! - Each update is a full snapshot: it carries the latest `healthy` and
//!   `check_status` known for the task, as Mesos executors do.
//! - Every task runs in its own process group; when the task ends (or its
//!   supervisor is dropped) the whole group is killed with SIGKILL, so no helper the
//!   command started in the background outlives it. The task's own process is
//!   always reaped.
//!
//! # Errors
//!
//! [`ProcessRuntime::launch`] returns an [`ProcessError`] when the task could
//! not be started at all: bad task, sandbox or volume setup, a URI fetch, the
//! spawn itself, or a kill that arrived while it was being prepared. In that
//! case **no update was emitted for the task**: the caller reports it, and
//! [`ProcessError::to_update`] builds that status (`TASK_FAILED` with
//! `REASON_CONTAINER_LAUNCH_FAILED`, as a Mesos agent would, or `TASK_KILLED` for
//! a kill during launch).
//!
//! # Caveats
//!
//! - The updates channel is the caller's and is bounded: a caller that stops
//!   reading stalls status reporting (but not kills or shutdown).
//! - Tasks are keyed by task id alone: one live task per id per runtime.
//! - Killing the other tasks of a task group when one of them fails is the
//!   caller's job (it knows the groups).
//!
//! ```no_run
//! # async fn example(task: plinth_proto::v1::TaskInfo) -> Result<(), Box<dyn std::error::Error>> {
//! use plinth_testkit::agent::process::{LaunchSpec, ProcessRuntime};
//!
//! let (tx, mut rx) = tokio::sync::mpsc::channel(64);
//! let runtime = ProcessRuntime::new("/tmp/plinth-agents".into(), tx);
//! let spec = LaunchSpec {
//!     agent_id: "agent-1".into(),
//!     framework_id: "framework-1".into(),
//!     task,
//!     executor: None,
//!     volumes: Vec::new(),
//! };
//! if let Err(error) = runtime.launch(spec).await {
//!     eprintln!("{}", error.to_update("the-task").message.unwrap_or_default());
//! }
//! while let Some(update) = rx.recv().await {
//!     println!("{} {:?}", update.task_id, update.state);
//! }
//! runtime.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod archive;
mod checks;
mod command;
mod exit;
mod fetch;
mod kill;
mod runtime;
mod sandbox;
mod supervisor;

use std::error::Error as _;
use std::path::PathBuf;

use plinth_proto::v1::task_status::Reason;
use plinth_proto::v1::{CheckStatusInfo, ExecutorInfo, TaskInfo, TaskState};

pub use fetch::FetchError;
pub use runtime::ProcessRuntime;

/// What to launch: one task on one agent, with the volumes it mounts.
#[derive(Debug, Clone)]
pub struct LaunchSpec {
    /// The agent the task runs on (sandboxes and volumes are per agent).
    pub agent_id: String,
    /// The framework that launched the task.
    pub framework_id: String,
    /// The task; its `command` is what runs.
    pub task: TaskInfo,
    /// The task's executor (for a task group: the DEFAULT executor); its
    /// command's environment is added under the task's.
    pub executor: Option<ExecutorInfo>,
    /// Persistent volumes to mount into the sandbox.
    pub volumes: Vec<VolumeMount>,
}

/// A persistent volume mounted into a task's sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeMount {
    /// The volume's `disk.persistence.id`.
    pub persistence_id: String,
    /// Where it appears, relative to the sandbox (`volume.container_path`).
    pub container_path: String,
}

/// A task status change, to be turned into a Mesos `TaskStatus` by the
/// caller.
///
/// Health results arrive as `TASK_RUNNING` with `healthy` set and reason
/// `REASON_TASK_HEALTH_CHECK_STATUS_UPDATED`, check results as `TASK_RUNNING`
/// with `check_status` set and reason `REASON_TASK_CHECK_STATUS_UPDATED`; each
/// is sent only when the result changes. A task with a COMMAND check has an
/// empty `check_status{type: COMMAND, command: {}}` on its `TASK_RUNNING`, as in
/// Mesos.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessUpdate {
    /// The task's id.
    pub task_id: String,
    /// The task's new state.
    pub state: TaskState,
    /// A human-readable message (exit status, why it was killed, ...).
    pub message: Option<String>,
    /// Why the update was sent, when Mesos would say.
    pub reason: Option<Reason>,
    /// The latest health check result, if any.
    pub healthy: Option<bool>,
    /// The latest check result, if any.
    pub check_status: Option<CheckStatusInfo>,
}

/// Why a task could not be launched.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// [`ProcessRuntime::shutdown`] has been called.
    #[error("the process agent is shutting down")]
    ShutDown,
    /// A task with this id is still live on this runtime.
    #[error("task {task_id} is already running on this process agent")]
    AlreadyRunning {
        /// The duplicate id.
        task_id: String,
    },
    /// The task has no `command` with a `value` to run.
    #[error(
        "task {task_id} has no command to run: the testkit process agent runs only command \
         tasks and tasks of the DEFAULT executor (custom executors are not supported)"
    )]
    NoCommand {
        /// The task.
        task_id: String,
    },
    /// An environment variable is a secret this agent cannot resolve.
    #[error(
        "environment variable {name} is a secret reference, which the testkit process agent \
         cannot resolve (use a VALUE variable or a secret of type VALUE)"
    )]
    UnsupportedSecret {
        /// The variable's name.
        name: String,
    },
    /// A health check or check is malformed.
    #[error("invalid {what}: {problem}")]
    InvalidCheck {
        /// `health_check` or `check`.
        what: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// A volume's container path is absolute or leaves the sandbox.
    #[error(
        "persistent volume {persistence_id}: container path {container_path:?} must be a \
         relative path inside the sandbox"
    )]
    InvalidContainerPath {
        /// The volume.
        persistence_id: String,
        /// The offending path.
        container_path: String,
    },
    /// Creating the sandbox (or a file in it) failed.
    #[error("could not create the sandbox at {path}")]
    CreateSandbox {
        /// The directory or file that could not be created.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Creating a volume's directory or its symlink in the sandbox failed.
    #[error("could not mount persistent volume {persistence_id} at {path}")]
    MountVolume {
        /// The volume.
        persistence_id: String,
        /// The path in the sandbox (or the volume directory) that failed.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Fetching one of the command's URIs failed.
    #[error("failed to fetch URI {uri}")]
    Fetch {
        /// The URI as given in `CommandInfo.uris[].value`.
        uri: String,
        /// What went wrong.
        #[source]
        source: FetchError,
    },
    /// The command could not be started.
    #[error("could not start command {command:?}")]
    Spawn {
        /// The command line.
        command: String,
        /// The I/O error from exec.
        #[source]
        source: std::io::Error,
    },
    /// A kill arrived while the task was still being prepared.
    #[error("task {task_id} was killed while it was being launched")]
    KilledDuringLaunch {
        /// The task.
        task_id: String,
    },
}

// === impl ProcessError ===

impl ProcessError {
    /// The status a Mesos agent would report for a task whose launch failed
    /// this way: `TASK_KILLED` with `REASON_TASK_KILLED_DURING_LAUNCH` for a kill
    /// during launch, else `TASK_FAILED` with `REASON_CONTAINER_LAUNCH_FAILED`.
    /// The message is the whole error chain, so it names the URI, path or
    /// variable at fault and why.
    pub fn to_update(&self, task_id: &str) -> ProcessUpdate {
        let (state, reason) = match self {
            Self::KilledDuringLaunch { .. } => {
                (TaskState::TaskKilled, Reason::TaskKilledDuringLaunch)
            }
            _ => (TaskState::TaskFailed, Reason::ContainerLaunchFailed),
        };
        ProcessUpdate {
            task_id: task_id.to_owned(),
            state,
            message: Some(self.chain()),
            reason: Some(reason),
            healthy: None,
            check_status: None,
        }
    }

    /// This error and its sources, joined with ": ".
    fn chain(&self) -> String {
        let mut text = self.to_string();
        let mut source = self.source();
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        text
    }
}
