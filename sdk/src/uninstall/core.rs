//! The uninstall decisions, as a pure state machine: inputs in (subscribed,
//! offers, task statuses, clock ticks), ordered [`Action`]s out.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use plinth_proto::v1::scheduler::Call;
use plinth_proto::v1::{AgentId, FrameworkId, Offer, OfferId, TaskId, TaskState, TaskStatus};

use crate::mesos::calls;
use crate::offer::gc;

/// Decline filter for offers that carry nothing of ours (short: freed
/// reservations must come back quickly).
pub const REFUSE_SECONDS: f64 = 1.0;

/// Timings of the uninstall flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timings {
    /// How long no offer may carry our reservations before the framework is
    /// torn down.
    pub quiet: Duration,
    /// Interval between KILLs of a task that is not gone yet.
    pub kill_retry: Duration,
    /// Interval between explicit reconciliations of tasks not known gone.
    pub reconcile_every: Duration,
    /// Interval between REVIVEs while waiting.
    pub revive_every: Duration,
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            quiet: Duration::from_secs(5),
            kill_retry: Duration::from_secs(5),
            reconcile_every: Duration::from_secs(10),
            revive_every: Duration::from_secs(5),
        }
    }
}

/// One thing that happened.
#[derive(Debug, Clone)]
pub enum Input {
    /// SUBSCRIBED (first time or again).
    Subscribed(FrameworkId),
    /// The subscription broke.
    Disconnected,
    /// OFFERS.
    Offers(Vec<Offer>),
    /// UPDATE.
    Update(Box<TaskStatus>),
    /// Time passed.
    Tick,
}

/// One thing to do, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Send a call to the master.
    Call(Box<Call>),
    /// Every task is gone and no offer carried our reservations for the
    /// quiet period: tear the framework down, then delete the state root.
    Finish,
}

/// Where the flow is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Waiting for SUBSCRIBED.
    Subscribing,
    /// Killing tasks and releasing reservations as offers bring them.
    Releasing,
    /// [`Action::Finish`] was returned.
    Finished,
}

#[derive(Debug, Clone)]
struct TrackedTask {
    name: String,
    agent_id: Option<AgentId>,
    state: Option<TaskState>,
    last_kill: Option<Instant>,
}

impl TrackedTask {
    fn gone(&self) -> bool {
        self.state.is_some_and(is_gone)
    }
}

/// Whether a task in `state` no longer runs nor holds resources: terminal,
/// or unknown to the master (LOST, UNKNOWN). UNREACHABLE is not gone.
#[must_use]
pub fn is_gone(state: TaskState) -> bool {
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
            | TaskState::TaskUnknown
    )
}

/// A stored task the uninstall must see gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownTask {
    /// Task name (`hello-0-server`).
    pub name: String,
    /// Its id.
    pub task_id: String,
    /// Its agent.
    pub agent_id: Option<AgentId>,
    /// Its last stored state.
    pub state: Option<TaskState>,
}

/// Counters for the report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    /// KILL calls sent.
    pub kills: u64,
    /// `resource_id`s given back (DESTROY and/or UNRESERVE).
    pub released: BTreeSet<String>,
    /// Persistent volumes destroyed.
    pub volumes_destroyed: u64,
    /// Offers seen.
    pub offers: u64,
}

/// The uninstall state machine.
///
/// # Guarantees
/// * Only resources whose top reservation is DYNAMIC and labelled with one of
///   our FrameworkIDs are touched (never another framework's).
/// * [`Action::Finish`] comes only once every known task is gone, every
///   agent we released something on has offered again without any of our
///   reservations, and no offer carried any for [`Timings::quiet`].
#[derive(Debug)]
pub struct UninstallCore {
    role: String,
    timings: Timings,
    ours: BTreeSet<String>,
    tasks: BTreeMap<String, TrackedTask>,
    stage: Stage,
    subscribed: bool,
    /// Last time an offer carried our reservations (or subscription time).
    last_ours: Option<Instant>,
    /// Agents released on that have not re-offered clean yet.
    dirty_agents: BTreeSet<String>,
    last_reconcile: Option<Instant>,
    last_revive: Option<Instant>,
    progress: Progress,
}

// === impl UninstallCore ===

impl UninstallCore {
    /// A core releasing reservations of `framework_ids` (the stored one, plus
    /// any earlier) for `role`, waiting for `tasks` to be gone.
    #[must_use]
    pub fn new(
        role: impl Into<String>,
        framework_ids: impl IntoIterator<Item = String>,
        tasks: Vec<KnownTask>,
        timings: Timings,
    ) -> Self {
        let tasks = tasks
            .into_iter()
            .filter(|t| !t.task_id.is_empty())
            .map(|t| {
                (
                    t.task_id,
                    TrackedTask {
                        name: t.name,
                        agent_id: t.agent_id,
                        state: t.state,
                        last_kill: None,
                    },
                )
            })
            .collect();
        UninstallCore {
            role: role.into(),
            timings,
            ours: framework_ids
                .into_iter()
                .filter(|f| !f.is_empty())
                .collect(),
            tasks,
            stage: Stage::Subscribing,
            subscribed: false,
            last_ours: None,
            dirty_agents: BTreeSet::new(),
            last_reconcile: None,
            last_revive: None,
            progress: Progress::default(),
        }
    }

    /// Where the flow is.
    #[must_use]
    pub fn stage(&self) -> Stage {
        self.stage
    }

    /// What was done so far.
    #[must_use]
    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// Names of tasks not known gone yet, sorted.
    #[must_use]
    pub fn tasks_left(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .tasks
            .values()
            .filter(|t| !t.gone())
            .map(|t| t.name.as_str())
            .collect();
        names.sort_unstable();
        names
    }

    /// The FrameworkIDs whose reservations are released.
    #[must_use]
    pub fn framework_ids(&self) -> &BTreeSet<String> {
        &self.ours
    }

    /// Handles one input at `now`.
    pub fn handle(&mut self, input: Input, now: Instant) -> Vec<Action> {
        let mut actions = Vec::new();
        if self.stage == Stage::Finished {
            if let Input::Offers(offers) = input {
                decline_all(offers, &mut actions);
            }
            return actions;
        }
        match input {
            Input::Subscribed(id) => self.on_subscribed(id, now, &mut actions),
            Input::Disconnected => self.subscribed = false,
            Input::Update(status) => self.on_update(*status, now, &mut actions),
            Input::Offers(offers) => self.on_offers(offers, now, &mut actions),
            Input::Tick => self.on_tick(now, &mut actions),
        }
        actions
    }

    fn on_subscribed(&mut self, id: FrameworkId, now: Instant, actions: &mut Vec<Action>) {
        self.ours.insert(id.value);
        self.subscribed = true;
        self.stage = Stage::Releasing;
        self.last_ours = Some(now);
        self.reconcile(now, actions);
        // Implicit: the master reports every task it knows for us, so tasks
        // the state store never recorded are found and killed too.
        actions.push(Action::Call(Box::new(calls::reconcile(vec![]))));
        let live: Vec<String> = self
            .tasks
            .iter()
            .filter(|(_, t)| !t.gone())
            .map(|(id, _)| id.clone())
            .collect();
        for task_id in live {
            self.kill(&task_id, now, actions);
        }
        self.last_revive = Some(now);
        actions.push(Action::Call(Box::new(calls::revive(vec![
            self.role.clone(),
        ]))));
    }

    fn reconcile(&mut self, now: Instant, actions: &mut Vec<Action>) {
        self.last_reconcile = Some(now);
        let wanted: Vec<(TaskId, Option<AgentId>)> = self
            .tasks
            .iter()
            .filter(|(_, t)| !t.gone())
            .map(|(id, t)| (TaskId { value: id.clone() }, t.agent_id.clone()))
            .collect();
        if !wanted.is_empty() {
            actions.push(Action::Call(Box::new(calls::reconcile(wanted))));
        }
    }

    fn kill(&mut self, task_id: &str, now: Instant, actions: &mut Vec<Action>) {
        let Some(task) = self.tasks.get_mut(task_id) else {
            return;
        };
        task.last_kill = Some(now);
        self.progress.kills += 1;
        actions.push(Action::Call(Box::new(calls::kill(
            TaskId {
                value: task_id.to_owned(),
            },
            task.agent_id.clone(),
        ))));
    }

    fn on_update(&mut self, status: TaskStatus, now: Instant, actions: &mut Vec<Action>) {
        let task_id = status.task_id.value.clone();
        let state = TaskState::try_from(status.state).unwrap_or(TaskState::TaskUnknown);
        let task = self
            .tasks
            .entry(task_id.clone())
            .or_insert_with(|| TrackedTask {
                name: task_id.clone(),
                agent_id: None,
                state: None,
                last_kill: None,
            });
        task.state = Some(state);
        if status.agent_id.is_some() {
            task.agent_id.clone_from(&status.agent_id);
        }
        let recently_killed = task
            .last_kill
            .is_some_and(|k| now.saturating_duration_since(k) < Duration::from_secs(1));
        if !is_gone(state) && !recently_killed && self.subscribed {
            self.kill(&task_id, now, actions);
        }
        if let (Some(uuid), Some(agent_id)) =
            (status.uuid.filter(|u| !u.is_empty()), status.agent_id)
        {
            actions.push(Action::Call(Box::new(calls::acknowledge(
                agent_id,
                status.task_id,
                uuid,
            ))));
        }
    }

    fn on_offers(&mut self, offers: Vec<Offer>, now: Instant, actions: &mut Vec<Action>) {
        self.progress.offers += offers.len() as u64;
        if !self.subscribed {
            decline_all(offers, actions);
            return;
        }
        let empty = BTreeSet::new();
        // Per agent: the offers and our reservations in them.
        let mut by_agent: BTreeMap<String, (Vec<OfferId>, Vec<plinth_proto::v1::Resource>)> =
            BTreeMap::new();
        let mut declined = Vec::new();
        let mut clean: BTreeSet<String> = BTreeSet::new();
        for offer in offers {
            let mine: Vec<plinth_proto::v1::Resource> = self
                .ours
                .iter()
                .flat_map(|fid| gc::unexpected_resources(&offer, fid, &empty))
                .cloned()
                .collect();
            let agent = offer.agent_id.value.clone();
            if mine.is_empty() {
                clean.insert(agent);
                declined.push(offer.id);
            } else {
                let entry = by_agent.entry(agent).or_default();
                entry.0.push(offer.id);
                entry.1.extend(mine);
            }
        }
        for agent in clean.iter().filter(|a| !by_agent.contains_key(*a)) {
            self.dirty_agents.remove(agent);
        }
        for (agent, (offer_ids, resources)) in by_agent {
            self.last_ours = Some(now);
            self.dirty_agents.insert(agent);
            let refs: Vec<&plinth_proto::v1::Resource> = resources.iter().collect();
            let operations = gc::operations(&refs);
            for r in &resources {
                if let Some(id) = resource_id(r) {
                    self.progress.released.insert(id.to_owned());
                }
                if r.disk.as_ref().is_some_and(|d| d.persistence.is_some()) {
                    self.progress.volumes_destroyed += 1;
                }
            }
            actions.push(Action::Call(Box::new(calls::accept(
                offer_ids,
                operations,
                Some(REFUSE_SECONDS),
            ))));
        }
        if !declined.is_empty() {
            actions.push(Action::Call(Box::new(calls::decline(
                declined,
                Some(REFUSE_SECONDS),
            ))));
        }
        self.maybe_finish(now, actions);
    }

    fn on_tick(&mut self, now: Instant, actions: &mut Vec<Action>) {
        if !self.subscribed {
            return;
        }
        let due: Vec<String> = self
            .tasks
            .iter()
            .filter(|(_, t)| !t.gone())
            .filter(|(_, t)| {
                t.last_kill
                    .is_none_or(|k| now.saturating_duration_since(k) >= self.timings.kill_retry)
            })
            .map(|(id, _)| id.clone())
            .collect();
        for task_id in due {
            self.kill(&task_id, now, actions);
        }
        if self
            .last_reconcile
            .is_none_or(|r| now.saturating_duration_since(r) >= self.timings.reconcile_every)
        {
            self.reconcile(now, actions);
        }
        if self
            .last_revive
            .is_none_or(|r| now.saturating_duration_since(r) >= self.timings.revive_every)
        {
            self.last_revive = Some(now);
            actions.push(Action::Call(Box::new(calls::revive(vec![
                self.role.clone(),
            ]))));
        }
        self.maybe_finish(now, actions);
    }

    fn maybe_finish(&mut self, now: Instant, actions: &mut Vec<Action>) {
        let quiet = self
            .last_ours
            .is_some_and(|t| now.saturating_duration_since(t) >= self.timings.quiet);
        let tasks_gone = self.tasks.values().all(TrackedTask::gone);
        if self.subscribed && quiet && tasks_gone && self.dirty_agents.is_empty() {
            self.stage = Stage::Finished;
            actions.push(Action::Finish);
        }
    }
}

fn decline_all(offers: Vec<Offer>, actions: &mut Vec<Action>) {
    if offers.is_empty() {
        return;
    }
    let ids = offers.into_iter().map(|o| o.id).collect();
    actions.push(Action::Call(Box::new(calls::decline(
        ids,
        Some(REFUSE_SECONDS),
    ))));
}

/// The `resource_id` label of the top reservation (refined or old format).
fn resource_id(r: &plinth_proto::v1::Resource) -> Option<&str> {
    let labels = match r.reservations.last() {
        Some(top) => top.labels.as_ref(),
        None => r.reservation.as_ref().and_then(|x| x.labels.as_ref()),
    }?;
    labels
        .labels
        .iter()
        .find(|l| l.key == crate::offer::labels::RESOURCE_ID)?
        .value
        .as_deref()
}
