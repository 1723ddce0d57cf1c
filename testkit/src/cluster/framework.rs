//! Frameworks and their tasks, executors, offer filters and the per-task
//! status update stream (at-least-once delivery, one outstanding update).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::{Duration, Instant};

use indexmap::IndexMap;
use plinth_proto::v1::framework_info::capability;
use plinth_proto::v1::scheduler::Event;
use plinth_proto::v1::{ExecutorInfo, FrameworkInfo, TaskInfo, TaskState, TaskStatus};

use super::resources::Resources;
use super::validation::has_capability;

/// An offer filter set by DECLINE/ACCEPT `refuse_seconds`.
#[derive(Debug, Clone)]
pub struct Filter {
    /// When it stops applying.
    pub until: Instant,
    /// Offers of resources contained in these are refused.
    pub resources: Resources,
}

/// Status-update faults a test can inject for one framework.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UpdateFaults {
    /// Deliver every UPDATE this much later.
    pub delay: Option<Duration>,
    /// Deliver every UPDATE twice.
    pub duplicate: bool,
    /// Collect UPDATEs for this long, then deliver them in reverse order.
    pub reorder_window: Option<Duration>,
}

/// An executor running on an agent.
#[derive(Debug, Clone)]
pub struct Executor {
    /// Its info as launched.
    pub info: ExecutorInfo,
    /// Resources it holds (internal format).
    pub resources: Resources,
    /// Live tasks it runs.
    pub tasks: usize,
}

/// The update the agent waits to have acknowledged.
#[derive(Debug, Clone)]
pub struct Outstanding {
    /// The update (with its uuid).
    pub status: TaskStatus,
}

/// A task the master knows.
#[derive(Debug, Clone)]
pub struct Task {
    /// The task as launched (resources in the internal format).
    pub info: TaskInfo,
    /// The agent it runs on.
    pub agent_id: String,
    /// Its executor, if any (task groups and custom executors).
    pub executor_id: Option<String>,
    /// Task group number, for group-wide kills.
    pub group: Option<u64>,
    /// Allocation role.
    pub role: String,
    /// Latest state the agent reported (or the master set).
    pub state: TaskState,
    /// State of the latest update forwarded to the framework.
    pub status_update_state: Option<TaskState>,
    /// Every status recorded, oldest first.
    pub statuses: Vec<TaskStatus>,
    /// Agent updates waiting behind the outstanding one.
    pub pending: VecDeque<TaskStatus>,
    /// The update awaiting acknowledgement.
    pub outstanding: Option<Outstanding>,
    /// Resources it holds (internal format).
    pub resources: Resources,
    /// Whether its resources went back to the agent.
    pub freed: bool,
    /// Set while the agent is unreachable.
    pub unreachable_since: Option<f64>,
}

impl Task {
    /// The latest status, if any was recorded.
    #[must_use]
    pub fn latest(&self) -> Option<&TaskStatus> {
        self.statuses.last()
    }
}

/// Whether a state is terminal (TASK_LOST counts: the agent will not send more).
#[must_use]
pub fn is_terminal(state: TaskState) -> bool {
    matches!(
        state,
        TaskState::TaskFinished
            | TaskState::TaskFailed
            | TaskState::TaskKilled
            | TaskState::TaskError
            | TaskState::TaskLost
            | TaskState::TaskDropped
            | TaskState::TaskGone
            | TaskState::TaskGoneByOperator
    )
}

/// A framework the master knows.
#[derive(Debug, Clone)]
pub struct Framework {
    /// `<master-uuid>-NNNN`.
    pub id: String,
    /// As last subscribed.
    pub info: FrameworkInfo,
    /// Its roles.
    pub roles: Vec<String>,
    /// Roles it suppressed.
    pub suppressed: BTreeSet<String>,
    /// The current subscription's stream id (connected when set).
    pub stream: Option<String>,
    /// When the failover timeout fires (while disconnected).
    pub failover_deadline: Option<Instant>,
    /// Bumped on every (re-)subscription so stale timers are ignored.
    pub epoch: u64,
    /// Offer filters per (agent, role).
    pub filters: HashMap<(String, String), Filter>,
    /// Live tasks (including terminal ones whose update is not yet acknowledged).
    pub tasks: IndexMap<String, Task>,
    /// Finished tasks, oldest first, bounded.
    pub completed: VecDeque<Task>,
    /// Executors per (agent, executor id).
    pub executors: BTreeMap<(String, String), Executor>,
    /// Injected update faults.
    pub faults: UpdateFaults,
    /// UPDATE events held by the reorder fault.
    pub reorder_buffer: Vec<Event>,
    /// Registration time (wall clock seconds).
    pub registered_time: f64,
    /// Last re-registration time (wall clock seconds).
    pub reregistered_time: Option<f64>,
    /// Time it was removed (for completed frameworks).
    pub unregistered_time: Option<f64>,
}

// === impl Framework ===

impl Framework {
    /// Whether it can receive events.
    #[must_use]
    pub fn connected(&self) -> bool {
        self.stream.is_some()
    }

    /// PARTITION_AWARE.
    #[must_use]
    pub fn partition_aware(&self) -> bool {
        has_capability(&self.info, capability::Type::PartitionAware)
    }

    /// MULTI_ROLE.
    #[must_use]
    pub fn multi_role(&self) -> bool {
        has_capability(&self.info, capability::Type::MultiRole)
    }

    /// RESERVATION_REFINEMENT.
    #[must_use]
    pub fn refinement(&self) -> bool {
        has_capability(&self.info, capability::Type::ReservationRefinement)
    }

    /// TASK_KILLING_STATE.
    #[must_use]
    pub fn killing_state(&self) -> bool {
        has_capability(&self.info, capability::Type::TaskKillingState)
    }

    /// The ids of its executors on an agent.
    pub fn executor_ids_on<'a>(&'a self, agent_id: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.executors
            .keys()
            .filter(move |(a, _)| a == agent_id)
            .map(|(_, e)| e.as_str())
    }
}
