//! Operator commands: what the API asks the scheduler loop to change, and
//! the answers.
//!
//! The API never mutates scheduler state itself. It sends a [`Command`]
//! through a bounded channel to the loop, which feeds it to the core as
//! [`Input::Command`](super::Input::Command); the core answers with an
//! [`Effect::Reply`](super::Effect::Reply) after the effects the command
//! caused (stored TaskInfos, KILL calls), so a reply means "done", not
//! "queued".

use std::collections::BTreeMap;

use plinth_proto::v1::TaskInfo;

use crate::offer::labels;
use crate::plan::{OpResult, PlanError, PodInstance};

/// Identifies one command in flight, so its reply finds its caller.
pub type CommandId = u64;

/// What the operator asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// An operation on plan `plan`.
    Plan {
        /// Plan name.
        plan: String,
        /// The operation.
        op: PlanCommand,
    },
    /// `POST /v1/pod/{name}/restart`: kill the pod's tasks; recovery relaunches
    /// them in place (same agent, reservations and volumes).
    RestartPod(String),
    /// `POST /v1/pod/{name}/replace`: mark the pod's tasks permanently failed,
    /// kill them and place the pod anew; its old reservations and volumes are
    /// released once no task holds them.
    ReplacePod(String),
    /// `POST /v1/pod/{name}/pause`: give the named tasks (short or full
    /// names; none = every long-running task of the pod) the `PAUSED`
    /// goal-state override, kill them and relaunch them in place with an idle
    /// command and no health or readiness check. Idempotent.
    PausePod {
        /// Pod instance, e.g. `hello-0`.
        pod: String,
        /// Task names (`server` or `hello-0-server`); empty = all.
        tasks: Vec<String>,
    },
    /// `POST /v1/pod/{name}/resume`: clear the override of the named paused
    /// tasks (none = all), kill them and relaunch them in place with their own
    /// command and checks. Idempotent.
    ResumePod {
        /// Pod instance, e.g. `hello-0`.
        pod: String,
        /// Task names (`server` or `hello-0-server`); empty = all.
        tasks: Vec<String>,
    },
    /// `PUT /v1/configurations/target`: make this resolved spec (YAML, as
    /// stored in the ConfigStore) the target, exactly as a scheduler
    /// restarted with it would: validated against the current target; on
    /// success the changed pods roll, on failure nothing changes. Carried
    /// out by the scheduler shell, not the core.
    UpdateConfig {
        /// The resolved spec (no template variables left).
        service_yml: String,
    },
    /// `POST /v1/uninstall`: stop running the service and uninstall it
    /// (kill, destroy, unreserve, teardown, delete the state). Carried out by
    /// the scheduler shell.
    Uninstall,
    /// `PUT /v1/state/files/{name}`: store a small file as property
    /// `file-<name>` (dcos-commons' prefix).
    PutFile {
        /// File name.
        name: String,
        /// Content (at most [`MAX_FILE_BYTES`]).
        data: Vec<u8>,
    },
}

/// The largest file `PutFile` stores (dcos-commons' limit).
pub const MAX_FILE_BYTES: usize = 1024;

/// How long the scheduler keeps asking for offers to release a replaced
/// pod's reservations.
pub const RELEASE_WAIT: std::time::Duration = std::time::Duration::from_secs(600);

/// Property key prefix of stored files.
pub const FILE_PROPERTY_PREFIX: &str = "file-";

/// An operation on one plan (`/v1/plans/{plan}/...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanCommand {
    /// `start` with environment overrides.
    Start(BTreeMap<String, String>),
    /// `stop`.
    Stop,
    /// `continue[?phase=]`.
    Continue {
        /// Phase id or name.
        phase: Option<String>,
    },
    /// `interrupt[?phase=]`.
    Interrupt {
        /// Phase id or name.
        phase: Option<String>,
    },
    /// `forceComplete[?phase=[&step=]]`.
    ForceComplete {
        /// Phase id or name.
        phase: Option<String>,
        /// Step id or name.
        step: Option<String>,
    },
    /// `restart[?phase=[&step=]]`.
    Restart {
        /// Phase id or name.
        phase: Option<String>,
        /// Step id or name.
        step: Option<String>,
    },
}

/// A successful answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandReply {
    /// A plan operation's result (200 applied, 208 already reported).
    Plan(OpResult),
    /// A pod restart, replace, pause or resume: the pod and the tasks it
    /// applies to.
    Pod {
        /// Pod instance, e.g. `hello-0`.
        pod: String,
        /// Task names of the pod.
        tasks: Vec<String>,
    },
    /// A file was stored.
    Stored,
    /// A config update was taken: the new target (or the old one again when
    /// nothing changed); the plans now roll towards it.
    ConfigUpdated {
        /// Target configuration id.
        target_id: String,
    },
    /// The uninstall starts once this answer is sent.
    Uninstalling,
}

/// Why a command was refused. Nothing changed then.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// A plan operation failed (unknown plan/phase/step, bad parameter).
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// No pod instance with this name has tasks.
    #[error("Pod {0} not found")]
    UnknownPod(String),
    /// A pause or resume named a task the pod does not have.
    #[error("Pod {pod} has no task '{task}' (its tasks: {})", known.join(", "))]
    UnknownTask {
        /// Pod instance.
        pod: String,
        /// The name asked for.
        task: String,
        /// The pod's task names (short).
        known: Vec<String>,
    },
    /// A pause or resume of a task that is not long-running (goal FINISH or
    /// ONCE), or of a pod without long-running tasks.
    #[error("{0}: only tasks with goal RUNNING can be paused or resumed")]
    NotPausable(String),
    /// A file name that is empty or has characters other than `[A-Za-z0-9._-]`.
    #[error("invalid file name '{0}': use letters, digits, '.', '_' and '-'")]
    InvalidFileName(String),
    /// A file over [`MAX_FILE_BYTES`].
    #[error("file too large: {size} bytes, the limit is {limit} bytes")]
    FileTooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// A config update failed validation: every reason, in dcos-commons'
    /// words. Nothing changed.
    #[error("config update refused: {}", .0.join("; "))]
    ConfigRefused(Vec<String>),
    /// The scheduler loop is not running (stopped, or too busy to answer).
    #[error("the scheduler is not available: {0}")]
    Unavailable(String),
}

impl CommandError {
    /// HTTP status for the API: 404 unknown, 400 bad input, 503 unavailable.
    #[must_use]
    pub fn http_status(&self) -> u16 {
        match self {
            CommandError::Plan(e) => e.http_status(),
            CommandError::UnknownPod(_) | CommandError::UnknownTask { .. } => 404,
            CommandError::InvalidFileName(_)
            | CommandError::FileTooLarge { .. }
            | CommandError::NotPausable(_) => 400,
            CommandError::ConfigRefused(_) => 409,
            CommandError::Unavailable(_) => 503,
        }
    }
}

/// What a command ends with.
pub type CommandResult = Result<CommandReply, CommandError>;

/// Whether `name` may name a stored file.
#[must_use]
pub fn valid_file_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// The pod instance a stored task belongs to, from its `task_type` and
/// `index` labels.
#[must_use]
pub fn pod_instance_of(info: &TaskInfo) -> Option<PodInstance> {
    let pod_type = labels::task_label(info, labels::TASK_TYPE)?;
    let index = labels::task_label(info, labels::INDEX)?.parse().ok()?;
    Some(PodInstance::new(pod_type, index))
}
