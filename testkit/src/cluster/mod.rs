//! The pure model of a Mesos master and its agents.
//!
//! [`Cluster`] owns every fact the fake master knows: agents and their
//! resources, frameworks and their subscriptions, offers and filters, tasks
//! and their status update streams, reservations and persistent volumes. It
//! does no IO and never reads a clock: every entry point takes `now`, and
//! the effects come out as [`Output`]s (events for a stream, processes to
//! launch or kill) that the async shell in [`crate::master`] carries out.
//! Timers (simulated task progress, update retries, failover timeouts) are
//! kept inside and fired by [`Cluster::tick`]; [`Cluster::next_deadline`]
//! says when to call it next.
//!
//! Submodules: [`resources`] (arithmetic and formats), [`validation`],
//! [`agent`], [`framework`]; ACCEPT lives in `accept.rs`, allocation in
//! `allocation.rs`, `/master/state` in `state.rs`, fault injection in
//! `inject.rs`.

pub mod agent;
pub mod framework;
pub mod resources;
pub mod validation;

mod accept;
mod allocation;
mod inject;
mod state;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use indexmap::IndexMap;
use plinth_proto::v1::scheduler::{Call, Event, call, event};
use plinth_proto::v1::{
    Address, AgentId, ExecutorId, ExecutorInfo, FrameworkId, MasterInfo, OfferId, TaskId, TaskInfo,
    TaskState, TaskStatus, TimeInfo, task_status,
};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};

pub use agent::{Agent, AgentMode, AgentSpec, AgentStatus};
pub use framework::{Framework, Task, UpdateFaults, is_terminal};
pub use resources::Resources;

/// The version `/version` and `MasterInfo` report.
pub const MESOS_VERSION: &str = "1.11.0";

/// Errors of the cluster model.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClusterError {
    /// A non-SUBSCRIBE call named a framework the master does not know (400).
    #[error("Framework cannot be found")]
    FrameworkNotFound,
    /// The framework is known but has no subscription (403).
    #[error("Framework is not subscribed")]
    NotSubscribed,
    /// The call lacks `Mesos-Stream-Id` (400).
    #[error("All non-subscribe calls should include the 'Mesos-Stream-Id' header")]
    MissingStreamId,
    /// The call's `Mesos-Stream-Id` is not the framework's current one (400).
    #[error(
        "The stream ID '{given}' included in this request didn't match the stream ID currently associated with framework ID {framework_id}"
    )]
    StreamIdMismatch {
        /// What the call carried.
        given: String,
        /// The framework.
        framework_id: String,
    },
    /// The authenticated principal is not the framework's (400).
    #[error(
        "Authenticated principal '{principal}' does not match principal '{expected}' set in `FrameworkInfo`"
    )]
    PrincipalMismatch {
        /// From the credentials.
        principal: String,
        /// From FrameworkInfo.
        expected: String,
    },
    /// A call the fake master does not implement (501).
    #[error("{0} is not implemented by the testkit master")]
    NotImplemented(String),
    /// UPDATE_FRAMEWORK was invalid (400).
    #[error("Invalid UPDATE_FRAMEWORK: {0}")]
    InvalidUpdate(String),
    /// A fault named something that does not exist.
    #[error("{what} '{id}' not found")]
    NotFound {
        /// Kind of thing.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// A fault cannot be applied in the current state.
    #[error("cannot inject fault: {0}")]
    InvalidFault(String),
}

/// Static facts and knobs of the model.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// Hostname in `MasterInfo`.
    pub hostname: String,
    /// IP in `MasterInfo`.
    pub ip: String,
    /// Port in `MasterInfo`.
    pub port: u16,
    /// Reported in SUBSCRIBED.
    pub heartbeat_interval: Duration,
    /// Minimum time between two allocation runs.
    pub allocation_interval: Duration,
    /// How often an unacknowledged update is resent.
    pub update_retry_interval: Duration,
    /// Simulated agents: STAGING → STARTING → RUNNING after this long.
    pub task_start_delay: Duration,
    /// Simulated or process agents.
    pub mode: AgentMode,
    /// Completed tasks kept per framework.
    pub max_completed_tasks: usize,
    /// Completed frameworks kept.
    pub max_completed_frameworks: usize,
    /// Wall clock (seconds since the epoch) at `start`.
    pub wall_clock_start: f64,
    /// The `Instant` that corresponds to `wall_clock_start`.
    pub start: Instant,
    /// Seed of every id and uuid.
    pub seed: u64,
}

impl ClusterConfig {
    /// Defaults for a model started at `start`.
    #[must_use]
    pub fn new(start: Instant, wall_clock_start: f64, seed: u64) -> Self {
        Self {
            hostname: "127.0.0.1".into(),
            ip: "127.0.0.1".into(),
            port: 5050,
            heartbeat_interval: Duration::from_secs(15),
            allocation_interval: Duration::from_millis(100),
            update_retry_interval: Duration::from_secs(10),
            task_start_delay: Duration::from_millis(10),
            mode: AgentMode::Simulated,
            max_completed_tasks: 1000,
            max_completed_frameworks: 50,
            wall_clock_start,
            start,
            seed,
        }
    }
}

/// A process launch for the process-mode runtime.
#[derive(Debug, Clone, PartialEq)]
pub struct LaunchOrder {
    /// Agent id.
    pub agent_id: String,
    /// Framework id.
    pub framework_id: String,
    /// The task.
    pub task: TaskInfo,
    /// The group executor (task groups) or custom executor.
    pub executor: Option<ExecutorInfo>,
    /// Persistent volumes the task uses: (persistence id, container path).
    pub volumes: Vec<(String, String)>,
}

/// An effect for the shell to carry out, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Send an event on a subscription stream.
    Send {
        /// The stream.
        stream_id: String,
        /// The event.
        event: Box<Event>,
    },
    /// End a subscription stream (after its last event).
    Close {
        /// The stream.
        stream_id: String,
    },
    /// Start a task's process (process mode).
    Launch(Box<LaunchOrder>),
    /// Kill a task's process (process mode).
    Kill {
        /// Agent.
        agent_id: String,
        /// Task.
        task_id: String,
        /// Grace period before SIGKILL.
        grace: Option<Duration>,
    },
    /// Delete a persistent volume's directory (process mode).
    DestroyVolume {
        /// Agent.
        agent_id: String,
        /// Persistence id.
        persistence_id: String,
    },
}

/// What a successful SUBSCRIBE produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscribed {
    /// The framework's id.
    pub framework_id: String,
    /// The new stream id (`Mesos-Stream-Id`).
    pub stream_id: String,
}

/// An offer the master made and nobody used yet.
#[derive(Debug, Clone)]
pub struct OfferRecord {
    /// Framework.
    pub framework_id: String,
    /// Agent.
    pub agent_id: String,
    /// Allocation role.
    pub role: String,
    /// Resources (internal format).
    pub resources: Resources,
}

/// Counters for tests and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    /// Offers made.
    pub offers_sent: u64,
    /// Tasks launched (passed validation).
    pub tasks_launched: u64,
    /// UPDATE events sent (including resends).
    pub updates_sent: u64,
    /// Acknowledgements that matched an outstanding update.
    pub acks: u64,
    /// Acknowledgements that matched nothing (ignored, as the agent does).
    pub ignored_acks: u64,
    /// Offers rescinded.
    pub rescinds: u64,
}

/// A timer kept by the model.
#[derive(Debug, Clone)]
enum Timer {
    /// A simulated agent reports a state.
    SimStatus {
        framework_id: String,
        task_id: String,
        state: TaskState,
    },
    /// Resend the outstanding update if it still has this uuid.
    Resend {
        framework_id: String,
        task_id: String,
        uuid: Vec<u8>,
    },
    /// The failover timeout of a disconnected framework.
    FailoverTimeout { framework_id: String, epoch: u64 },
    /// An offer filter expired: allocate again.
    FilterExpired,
    /// A delayed event.
    Deliver {
        framework_id: String,
        event: Box<Event>,
    },
    /// Release reordered updates.
    FlushReorder { framework_id: String },
    /// An unreachable agent becomes gone.
    AgentGone { agent_id: String },
}

/// The model of a Mesos master and its agents. See the module docs.
#[derive(Debug)]
pub struct Cluster {
    config: ClusterConfig,
    master_id: String,
    rng: StdRng,
    agents: IndexMap<String, Agent>,
    frameworks: IndexMap<String, Framework>,
    completed_frameworks: VecDeque<Framework>,
    removed: BTreeSet<String>,
    offers: IndexMap<String, OfferRecord>,
    timers: BTreeMap<(Instant, u64), Timer>,
    timer_seq: u64,
    next_framework: u64,
    next_offer: u64,
    next_agent: u64,
    next_group: u64,
    dirty: bool,
    dirty_all: bool,
    dirty_agents: BTreeSet<String>,
    last_allocation: Option<Instant>,
    allocation_round: usize,
    outputs: Vec<Output>,
    stats: Stats,
}

// === impl Cluster: construction and plumbing ===

impl Cluster {
    /// An empty cluster; the master id derives from the seed.
    #[must_use]
    pub fn new(config: ClusterConfig) -> Self {
        let mut rng = StdRng::seed_from_u64(config.seed);
        let master_id = uuid::Builder::from_random_bytes(rng.random())
            .into_uuid()
            .to_string();
        Self {
            config,
            master_id,
            rng,
            agents: IndexMap::new(),
            frameworks: IndexMap::new(),
            completed_frameworks: VecDeque::new(),
            removed: BTreeSet::new(),
            offers: IndexMap::new(),
            timers: BTreeMap::new(),
            timer_seq: 0,
            next_framework: 0,
            next_offer: 0,
            next_agent: 0,
            next_group: 0,
            dirty: true,
            dirty_all: true,
            dirty_agents: BTreeSet::new(),
            last_allocation: None,
            allocation_round: 0,
            outputs: Vec::new(),
            stats: Stats::default(),
        }
    }

    /// The master's id (a UUID).
    #[must_use]
    pub fn master_id(&self) -> &str {
        &self.master_id
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &ClusterConfig {
        &self.config
    }

    /// Counters.
    #[must_use]
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Agents, in registration order.
    pub fn agents(&self) -> impl Iterator<Item = &Agent> {
        self.agents.values()
    }

    /// One agent.
    #[must_use]
    pub fn agent(&self, id: &str) -> Option<&Agent> {
        self.agents.get(id)
    }

    /// Known (not removed) frameworks.
    pub fn frameworks(&self) -> impl Iterator<Item = &Framework> {
        self.frameworks.values()
    }

    /// One framework.
    #[must_use]
    pub fn framework(&self, id: &str) -> Option<&Framework> {
        self.frameworks.get(id)
    }

    /// Outstanding offers.
    pub fn offers(&self) -> impl Iterator<Item = (&String, &OfferRecord)> {
        self.offers.iter()
    }

    /// Takes the effects produced so far.
    pub fn take_outputs(&mut self) -> Vec<Output> {
        std::mem::take(&mut self.outputs)
    }

    /// Wall-clock seconds at `now`.
    #[must_use]
    pub fn wall_clock(&self, now: Instant) -> f64 {
        self.config.wall_clock_start
            + now
                .saturating_duration_since(self.config.start)
                .as_secs_f64()
    }

    fn new_uuid(&mut self) -> uuid::Uuid {
        uuid::Builder::from_random_bytes(self.rng.random()).into_uuid()
    }

    fn schedule(&mut self, at: Instant, timer: Timer) {
        self.timer_seq += 1;
        self.timers.insert((at, self.timer_seq), timer);
    }

    /// Allocation is due for this agent's free resources.
    fn touch_agent(&mut self, agent_id: &str) {
        self.dirty = true;
        if !self.dirty_all {
            self.dirty_agents.insert(agent_id.to_owned());
        }
    }

    /// Allocation is due for every agent (frameworks, roles or filters changed).
    fn touch_all(&mut self) {
        self.dirty = true;
        self.dirty_all = true;
        self.dirty_agents.clear();
    }

    /// When [`Cluster::tick`] has something to do next.
    #[must_use]
    pub fn next_deadline(&self) -> Option<Instant> {
        let timer = self.timers.keys().next().map(|(at, _)| *at);
        let allocation = self.dirty.then(|| match self.last_allocation {
            Some(last) => last + self.config.allocation_interval,
            None => self.config.start,
        });
        match (timer, allocation) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Fires due timers and runs allocation when it is due.
    pub fn tick(&mut self, now: Instant) {
        while let Some(entry) = self.timers.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let timer = entry.remove();
            self.fire(timer, now);
        }
        let due = self
            .last_allocation
            .is_none_or(|last| now >= last + self.config.allocation_interval);
        if self.dirty && due {
            self.allocate(now);
        }
    }

    fn fire(&mut self, timer: Timer, now: Instant) {
        match timer {
            Timer::SimStatus {
                framework_id,
                task_id,
                state,
            } => {
                let current = self
                    .frameworks
                    .get(&framework_id)
                    .and_then(|f| f.tasks.get(&task_id))
                    .map(|t| t.state);
                let advance = match state {
                    TaskState::TaskStarting => current == Some(TaskState::TaskStaging),
                    TaskState::TaskRunning => current == Some(TaskState::TaskStarting),
                    _ => current.is_some_and(|s| !is_terminal(s)),
                };
                if advance {
                    let mut report = AgentReport::new(state, task_status::Source::Executor);
                    // A simulated task passes its checks: a task with a
                    // COMMAND check reports exit code 0 once RUNNING (tests
                    // inject failures).
                    let check = self
                        .frameworks
                        .get(&framework_id)
                        .and_then(|f| f.tasks.get(&task_id))
                        .and_then(|t| t.info.check.as_ref());
                    if state == TaskState::TaskRunning
                        && let Some(check) = check
                    {
                        report.check_status = Some(simulated_check_pass(check));
                    }
                    self.agent_update(&framework_id, &task_id, report, now);
                }
            }
            Timer::Resend {
                framework_id,
                task_id,
                uuid,
            } => {
                let status = self
                    .frameworks
                    .get(&framework_id)
                    .and_then(|f| f.tasks.get(&task_id))
                    .and_then(|t| t.outstanding.as_ref())
                    .filter(|o| o.status.uuid.as_deref() == Some(uuid.as_slice()))
                    .map(|o| o.status.clone());
                if let Some(status) = status {
                    self.send_update(&framework_id, status, now);
                    let at = now + self.config.update_retry_interval;
                    self.schedule(
                        at,
                        Timer::Resend {
                            framework_id,
                            task_id,
                            uuid,
                        },
                    );
                }
            }
            Timer::FailoverTimeout {
                framework_id,
                epoch,
            } => {
                let expired = self.frameworks.get(&framework_id).is_some_and(|f| {
                    f.epoch == epoch && !f.connected() && f.failover_deadline.is_some()
                });
                if expired {
                    tracing::info!(framework = %framework_id, "failover timeout expired; removing framework");
                    self.remove_framework(&framework_id, now);
                }
            }
            Timer::FilterExpired => self.touch_all(),
            Timer::Deliver {
                framework_id,
                event,
            } => self.deliver(&framework_id, *event),
            Timer::FlushReorder { framework_id } => {
                let held = self
                    .frameworks
                    .get_mut(&framework_id)
                    .map(|f| std::mem::take(&mut f.reorder_buffer))
                    .unwrap_or_default();
                for event in held.into_iter().rev() {
                    self.deliver(&framework_id, event);
                }
            }
            Timer::AgentGone { agent_id } => {
                let unreachable = self
                    .agents
                    .get(&agent_id)
                    .is_some_and(|a| matches!(a.status, AgentStatus::Unreachable { .. }));
                if unreachable {
                    self.mark_agent_gone(&agent_id, now);
                }
            }
        }
    }

    /// Sends an event to a framework's current stream, if it has one.
    fn deliver(&mut self, framework_id: &str, event: Event) {
        if let Some(stream_id) = self
            .frameworks
            .get(framework_id)
            .and_then(|f| f.stream.clone())
        {
            self.outputs.push(Output::Send {
                stream_id,
                event: Box::new(event),
            });
        }
    }

    /// Sends an UPDATE through the framework's injected faults.
    fn send_update(&mut self, framework_id: &str, status: TaskStatus, now: Instant) {
        let Some(fw) = self.frameworks.get_mut(framework_id) else {
            return;
        };
        if !fw.connected() {
            return;
        }
        self.stats.updates_sent += 1;
        let event = Event {
            r#type: Some(event::Type::Update as i32),
            update: Some(event::Update { status }),
            ..Default::default()
        };
        let faults = fw.faults.clone();
        let copies = if faults.duplicate { 2 } else { 1 };
        for _ in 0..copies {
            if let Some(window) = faults.reorder_window {
                let Some(fw) = self.frameworks.get_mut(framework_id) else {
                    return;
                };
                fw.reorder_buffer.push(event.clone());
                if fw.reorder_buffer.len() == 1 {
                    self.schedule(
                        now + window,
                        Timer::FlushReorder {
                            framework_id: framework_id.to_owned(),
                        },
                    );
                }
            } else if let Some(delay) = faults.delay {
                self.schedule(
                    now + delay,
                    Timer::Deliver {
                        framework_id: framework_id.to_owned(),
                        event: Box::new(event.clone()),
                    },
                );
            } else {
                self.deliver(framework_id, event.clone());
            }
        }
    }

    fn master_info(&self) -> MasterInfo {
        let ip = self
            .config
            .ip
            .parse::<std::net::Ipv4Addr>()
            .map(|a| u32::from_le_bytes(a.octets()))
            .unwrap_or(0);
        MasterInfo {
            id: self.master_id.clone(),
            ip,
            port: u32::from(self.config.port),
            pid: Some(format!("master@{}:{}", self.config.ip, self.config.port)),
            hostname: Some(self.config.hostname.clone()),
            version: Some(MESOS_VERSION.into()),
            address: Some(Address {
                hostname: Some(self.config.hostname.clone()),
                ip: Some(self.config.ip.clone()),
                port: i32::from(self.config.port),
            }),
            ..Default::default()
        }
    }
}

// === impl Cluster: agents ===

impl Cluster {
    /// Registers an agent; returns its id (`<master-uuid>-S<n>`).
    pub fn add_agent(&mut self, spec: &AgentSpec, now: Instant) -> String {
        let n = self.next_agent;
        self.next_agent += 1;
        let id = format!("{}-S{n}", self.master_id);
        let agent = Agent::new(id.clone(), n, spec, self.wall_clock(now));
        self.agents.insert(id.clone(), agent);
        self.touch_agent(&id);
        id
    }

    /// Marks an agent unreachable: its offers are rescinded and its tasks
    /// become TASK_UNREACHABLE (TASK_LOST for frameworks that are not
    /// PARTITION_AWARE). With `gone_after`, it becomes gone later.
    pub fn mark_agent_unreachable(
        &mut self,
        agent_id: &str,
        gone_after: Option<Duration>,
        now: Instant,
    ) -> Result<(), ClusterError> {
        let since = self.wall_clock(now);
        let agent = self
            .agents
            .get_mut(agent_id)
            .ok_or_else(|| not_found("agent", agent_id))?;
        if agent.status != AgentStatus::Active {
            return Err(ClusterError::InvalidFault(format!(
                "agent {agent_id} is not active"
            )));
        }
        agent.status = AgentStatus::Unreachable { since };
        self.rescind_offers_where(|o| o.agent_id == agent_id);
        let affected = self.tasks_on_agent(agent_id);
        for (fid, tid) in affected {
            let Some(fw) = self.frameworks.get(&fid) else {
                continue;
            };
            let pa = fw.partition_aware();
            let state = if pa {
                TaskState::TaskUnreachable
            } else {
                TaskState::TaskLost
            };
            let mut status =
                self.master_status(&fid, &tid, state, task_status::Reason::AgentRemoved, now);
            status.message = Some(format!("Agent {agent_id} is unreachable"));
            status.unreachable_time = Some(TimeInfo {
                nanoseconds: (since * 1e9) as i64,
            });
            if let Some(task) = self
                .frameworks
                .get_mut(&fid)
                .and_then(|f| f.tasks.get_mut(&tid))
            {
                task.unreachable_since = Some(since);
            }
            self.master_update(&fid, &tid, status, now);
        }
        for fid in self.frameworks.keys().cloned().collect::<Vec<_>>() {
            self.deliver(&fid, failure_event(agent_id));
        }
        if let Some(after) = gone_after {
            self.schedule(
                now + after,
                Timer::AgentGone {
                    agent_id: agent_id.to_owned(),
                },
            );
        }
        Ok(())
    }

    /// Marks an agent gone for good (operator removal): its tasks end as
    /// TASK_GONE_BY_OPERATOR (TASK_LOST for frameworks that are not PARTITION_AWARE).
    pub fn mark_agent_gone(&mut self, agent_id: &str, now: Instant) {
        let Some(agent) = self.agents.get_mut(agent_id) else {
            return;
        };
        let was_active = agent.status == AgentStatus::Active;
        agent.status = AgentStatus::Gone;
        self.rescind_offers_where(|o| o.agent_id == agent_id);
        for (fid, tid) in self.tasks_on_agent(agent_id) {
            let Some(fw) = self.frameworks.get(&fid) else {
                continue;
            };
            let pa = fw.partition_aware();
            let already_lost = !pa
                && fw
                    .tasks
                    .get(&tid)
                    .is_some_and(|t| t.unreachable_since.is_some());
            if already_lost {
                // Frameworks that are not partition aware got TASK_LOST already.
                self.complete_task(&fid, &tid, TaskState::TaskLost);
                continue;
            }
            let state = if pa {
                TaskState::TaskGoneByOperator
            } else {
                TaskState::TaskLost
            };
            let mut status = self.master_status(
                &fid,
                &tid,
                state,
                task_status::Reason::AgentRemovedByOperator,
                now,
            );
            status.message = Some(format!("Agent {agent_id} is gone"));
            self.master_update(&fid, &tid, status, now);
        }
        if was_active {
            for fid in self.frameworks.keys().cloned().collect::<Vec<_>>() {
                self.deliver(&fid, failure_event(agent_id));
            }
        }
        if let Some(agent) = self.agents.get_mut(agent_id) {
            agent.used = Resources::new();
        }
    }

    fn tasks_on_agent(&self, agent_id: &str) -> Vec<(String, String)> {
        self.frameworks
            .values()
            .flat_map(|f| {
                f.tasks
                    .values()
                    .filter(|t| t.agent_id == agent_id && !is_terminal(t.state))
                    .map(|t| (f.id.clone(), t.info.task_id.value.clone()))
            })
            .collect()
    }
}

fn failure_event(agent_id: &str) -> Event {
    Event {
        r#type: Some(event::Type::Failure as i32),
        failure: Some(event::Failure {
            agent_id: Some(AgentId {
                value: agent_id.to_owned(),
            }),
            executor_id: None,
            status: None,
        }),
        ..Default::default()
    }
}

fn not_found(what: &'static str, id: &str) -> ClusterError {
    ClusterError::NotFound {
        what,
        id: id.to_owned(),
    }
}

// === impl Cluster: subscriptions ===

impl Cluster {
    /// SUBSCRIBE. `Err` is the text of the ERROR event the stream gets
    /// before it closes. On success the SUBSCRIBED and first HEARTBEAT events
    /// are queued for the new stream.
    pub fn subscribe(
        &mut self,
        subscribe: &call::Subscribe,
        now: Instant,
    ) -> Result<Subscribed, String> {
        let mut info = subscribe.framework_info.clone();
        validation::validate_framework_info(&info)?;
        let roles = validation::framework_roles(&info);
        for role in &subscribe.suppressed_roles {
            if !roles.contains(role) {
                return Err(format!(
                    "Suppressed role '{role}' is not contained in the list of roles"
                ));
            }
        }
        let stream_id = self.new_uuid().to_string();
        let wall = self.wall_clock(now);
        let requested = info
            .id
            .as_ref()
            .map(|i| i.value.clone())
            .filter(|v| !v.is_empty());
        let framework_id = match requested {
            Some(id) if self.removed.contains(&id) => {
                return Err("Framework has been removed".into());
            }
            Some(id) if self.frameworks.contains_key(&id) => {
                let Some(fw) = self.frameworks.get(&id) else {
                    return Err("Framework cannot be found".into());
                };
                if fw.info.principal != info.principal {
                    return Err("Changing framework's principal is not allowed.".into());
                }
                // `user` and `checkpoint` changes are silently reverted.
                info.user.clone_from(&fw.info.user);
                info.checkpoint = fw.info.checkpoint;
                let old_stream = fw.stream.clone();
                if let Some(old) = old_stream {
                    self.outputs.push(Output::Send {
                        stream_id: old.clone(),
                        event: Box::new(error_event("Framework failed over")),
                    });
                    self.outputs.push(Output::Close { stream_id: old });
                }
                self.remove_offers_where(|o| o.framework_id == id);
                let Some(fw) = self.frameworks.get_mut(&id) else {
                    return Err("Framework cannot be found".into());
                };
                fw.info = info;
                fw.roles = roles;
                fw.suppressed = subscribe.suppressed_roles.iter().cloned().collect();
                fw.stream = Some(stream_id.clone());
                fw.failover_deadline = None;
                fw.epoch += 1;
                fw.reregistered_time = Some(wall);
                fw.reorder_buffer.clear();
                id
            }
            Some(id) => {
                // Unknown id: a framework re-subscribing after a master failover.
                self.insert_framework(id.clone(), info, roles, subscribe, &stream_id, wall);
                id
            }
            None => {
                let id = format!("{}-{:04}", self.master_id, self.next_framework);
                self.next_framework += 1;
                info.id = Some(FrameworkId { value: id.clone() });
                self.insert_framework(id.clone(), info, roles, subscribe, &stream_id, wall);
                id
            }
        };
        let subscribed = Event {
            r#type: Some(event::Type::Subscribed as i32),
            subscribed: Some(event::Subscribed {
                framework_id: FrameworkId {
                    value: framework_id.clone(),
                },
                heartbeat_interval_seconds: Some(self.config.heartbeat_interval.as_secs_f64()),
                master_info: Some(self.master_info()),
            }),
            ..Default::default()
        };
        self.deliver(&framework_id, subscribed);
        self.deliver(&framework_id, heartbeat_event());
        // The agents resend unacknowledged updates to the new subscription.
        let outstanding: Vec<TaskStatus> = self
            .frameworks
            .get(&framework_id)
            .map(|f| {
                f.tasks
                    .values()
                    .filter_map(|t| t.outstanding.as_ref().map(|o| o.status.clone()))
                    .collect()
            })
            .unwrap_or_default();
        for status in outstanding {
            self.send_update(&framework_id, status, now);
        }
        self.touch_all();
        Ok(Subscribed {
            framework_id,
            stream_id,
        })
    }

    fn insert_framework(
        &mut self,
        id: String,
        info: plinth_proto::v1::FrameworkInfo,
        roles: Vec<String>,
        subscribe: &call::Subscribe,
        stream_id: &str,
        wall: f64,
    ) {
        let fw = Framework {
            id: id.clone(),
            info,
            roles,
            suppressed: subscribe.suppressed_roles.iter().cloned().collect(),
            stream: Some(stream_id.to_owned()),
            failover_deadline: None,
            epoch: 0,
            filters: Default::default(),
            tasks: IndexMap::new(),
            completed: VecDeque::new(),
            executors: BTreeMap::new(),
            faults: UpdateFaults::default(),
            reorder_buffer: Vec::new(),
            registered_time: wall,
            reregistered_time: None,
            unregistered_time: None,
        };
        self.frameworks.insert(id, fw);
    }

    /// The subscription stream `stream_id` ended (the connection broke or
    /// the shell closed it). If it was a framework's current stream, the
    /// framework is disconnected, its offers go away and its failover timer starts.
    pub fn stream_closed(&mut self, stream_id: &str, now: Instant) {
        let Some(fw) = self
            .frameworks
            .values_mut()
            .find(|f| f.stream.as_deref() == Some(stream_id))
        else {
            return;
        };
        let id = fw.id.clone();
        fw.stream = None;
        fw.reorder_buffer.clear();
        let timeout = fw.info.failover_timeout.unwrap_or(0.0).max(0.0);
        let deadline = now + Duration::from_secs_f64(timeout.min(1.0e12));
        fw.failover_deadline = Some(deadline);
        let epoch = fw.epoch;
        tracing::info!(framework = %id, failover_timeout = timeout, "framework disconnected");
        self.remove_offers_where(|o| o.framework_id == id);
        self.schedule(
            deadline,
            Timer::FailoverTimeout {
                framework_id: id,
                epoch,
            },
        );
    }

    /// Checks that a non-SUBSCRIBE call may be processed for this framework
    /// (in Mesos' order: known, principal, subscribed, stream id).
    pub fn check_caller(
        &self,
        framework_id: &str,
        stream_id: Option<&str>,
        principal: Option<&str>,
    ) -> Result<(), ClusterError> {
        let fw = self
            .frameworks
            .get(framework_id)
            .ok_or(ClusterError::FrameworkNotFound)?;
        if let Some(p) = principal {
            let expected = fw.info.principal.clone().unwrap_or_default();
            if p != expected {
                return Err(ClusterError::PrincipalMismatch {
                    principal: p.to_owned(),
                    expected,
                });
            }
        }
        let Some(current) = &fw.stream else {
            return Err(ClusterError::NotSubscribed);
        };
        let given = stream_id.ok_or(ClusterError::MissingStreamId)?;
        if given != current {
            return Err(ClusterError::StreamIdMismatch {
                given: given.to_owned(),
                framework_id: framework_id.to_owned(),
            });
        }
        Ok(())
    }

    /// Removes a framework: its tasks are killed, its offers dropped, its
    /// stream closed, and its id can never subscribe again.
    pub fn remove_framework(&mut self, framework_id: &str, now: Instant) {
        self.remove_offers_where(|o| o.framework_id == framework_id);
        let live: Vec<String> = self
            .frameworks
            .get(framework_id)
            .map(|f| {
                f.tasks
                    .values()
                    .filter(|t| !is_terminal(t.state))
                    .map(|t| t.info.task_id.value.clone())
                    .collect()
            })
            .unwrap_or_default();
        for tid in live {
            if self.config.mode == AgentMode::Process
                && let Some(task) = self
                    .frameworks
                    .get(framework_id)
                    .and_then(|f| f.tasks.get(&tid))
            {
                self.outputs.push(Output::Kill {
                    agent_id: task.agent_id.clone(),
                    task_id: tid.clone(),
                    grace: None,
                });
            }
            self.complete_task(framework_id, &tid, TaskState::TaskKilled);
        }
        let Some(mut fw) = self.frameworks.shift_remove(framework_id) else {
            return;
        };
        // Terminal tasks whose updates were never acknowledged.
        let leftover: Vec<String> = fw.tasks.keys().cloned().collect();
        for tid in leftover {
            if let Some(task) = fw.tasks.shift_remove(&tid) {
                fw.completed.push_back(task);
            }
        }
        if let Some(stream) = fw.stream.take() {
            self.outputs.push(Output::Close { stream_id: stream });
        }
        fw.unregistered_time = Some(self.wall_clock(now));
        fw.failover_deadline = None;
        self.removed.insert(framework_id.to_owned());
        self.completed_frameworks.push_back(fw);
        while self.completed_frameworks.len() > self.config.max_completed_frameworks {
            self.completed_frameworks.pop_front();
        }
        self.touch_all();
    }

    /// A master failover, as schedulers see it: every subscription breaks,
    /// every offer is gone, and failover timeouts are forgotten (MESOS-4659).
    /// Tasks and agents survive (the agents re-register with them).
    pub fn master_failover(&mut self) {
        self.remove_offers_where(|_| true);
        let streams: Vec<String> = self
            .frameworks
            .values_mut()
            .filter_map(|f| f.stream.take())
            .collect();
        for stream_id in streams {
            self.outputs.push(Output::Close { stream_id });
        }
        for fw in self.frameworks.values_mut() {
            fw.failover_deadline = None;
            fw.epoch += 1;
            fw.filters.clear();
            fw.suppressed.clear();
        }
        self.touch_all();
    }
}

fn error_event(message: &str) -> Event {
    Event {
        r#type: Some(event::Type::Error as i32),
        error: Some(event::Error {
            message: message.to_owned(),
        }),
        ..Default::default()
    }
}

/// A HEARTBEAT event.
#[must_use]
pub fn heartbeat_event() -> Event {
    Event {
        r#type: Some(event::Type::Heartbeat as i32),
        ..Default::default()
    }
}

/// An ERROR event with a message.
#[must_use]
pub fn error(message: &str) -> Event {
    error_event(message)
}

// === impl Cluster: calls ===

/// What a call produced beyond 202.
#[derive(Debug, Clone, PartialEq)]
pub enum CallResult {
    /// 202 Accepted.
    Accepted,
    /// 200 OK (UPDATE_FRAMEWORK).
    Ok,
}

impl Cluster {
    /// Handles a validated non-SUBSCRIBE call from a framework that passed
    /// [`Cluster::check_caller`].
    pub fn handle_call(
        &mut self,
        framework_id: &str,
        call: &Call,
        now: Instant,
    ) -> Result<CallResult, ClusterError> {
        let kind = call
            .r#type
            .and_then(|t| call::Type::try_from(t).ok())
            .unwrap_or(call::Type::Unknown);
        match kind {
            call::Type::Teardown => {
                self.remove_framework(framework_id, now);
            }
            call::Type::Accept => {
                if let Some(accept) = &call.accept {
                    let refuse = accept.filters.as_ref().and_then(|f| f.refuse_seconds);
                    self.accept(
                        framework_id,
                        &accept.offer_ids,
                        &accept.operations,
                        refuse,
                        now,
                    );
                }
            }
            call::Type::Decline => {
                if let Some(decline) = &call.decline {
                    let refuse = decline.filters.as_ref().and_then(|f| f.refuse_seconds);
                    // Unlike ACCEPT, each declined offer stands alone (any agent, any role).
                    for offer_id in &decline.offer_ids {
                        let known = self
                            .offers
                            .get(&offer_id.value)
                            .is_some_and(|o| o.framework_id == framework_id);
                        if known {
                            self.accept(
                                framework_id,
                                std::slice::from_ref(offer_id),
                                &[],
                                refuse,
                                now,
                            );
                        }
                    }
                }
            }
            call::Type::Revive => {
                let roles = call
                    .revive
                    .as_ref()
                    .map(|r| r.roles.clone())
                    .unwrap_or_default();
                self.revive(framework_id, &roles);
            }
            call::Type::Suppress => {
                let roles = call
                    .suppress
                    .as_ref()
                    .map(|r| r.roles.clone())
                    .unwrap_or_default();
                self.suppress(framework_id, &roles);
            }
            call::Type::Kill => {
                if let Some(kill) = &call.kill {
                    let grace = kill
                        .kill_policy
                        .as_ref()
                        .and_then(|p| p.grace_period.as_ref())
                        .map(|d| Duration::from_nanos(u64::try_from(d.nanoseconds).unwrap_or(0)));
                    self.kill(
                        framework_id,
                        &kill.task_id.value,
                        kill.agent_id.as_ref(),
                        grace,
                        now,
                    );
                }
            }
            call::Type::Shutdown => {
                if let Some(shutdown) = &call.shutdown {
                    self.shutdown_executor(
                        framework_id,
                        &shutdown.agent_id.value,
                        &shutdown.executor_id.value,
                        now,
                    );
                }
            }
            call::Type::Acknowledge => {
                if let Some(ack) = &call.acknowledge {
                    self.acknowledge(framework_id, &ack.task_id.value, &ack.uuid, now);
                }
            }
            call::Type::Reconcile => {
                let tasks = call
                    .reconcile
                    .as_ref()
                    .map(|r| r.tasks.clone())
                    .unwrap_or_default();
                self.reconcile(framework_id, &tasks, now);
            }
            call::Type::Message => {
                // Best effort, and simulated executors have nothing to say back.
                if let Some(m) = &call.message {
                    tracing::debug!(framework = %framework_id, executor = %m.executor_id.value, bytes = m.data.len(), "MESSAGE for executor");
                }
            }
            call::Type::Request
            | call::Type::AcceptInverseOffers
            | call::Type::DeclineInverseOffers
            | call::Type::AcknowledgeOperationStatus
            | call::Type::ReconcileOperations => {
                // Accepted and ignored, as the built-in allocator does with REQUEST.
            }
            call::Type::UpdateFramework => {
                if let Some(update) = &call.update_framework {
                    self.update_framework(framework_id, update)?;
                }
                return Ok(CallResult::Ok);
            }
            call::Type::Subscribe | call::Type::Unknown => {
                return Err(ClusterError::NotImplemented(kind.as_str_name().to_owned()));
            }
        }
        Ok(CallResult::Accepted)
    }

    fn update_framework(
        &mut self,
        framework_id: &str,
        update: &call::UpdateFramework,
    ) -> Result<(), ClusterError> {
        let info = &update.framework_info;
        validation::validate_framework_info(info).map_err(ClusterError::InvalidUpdate)?;
        if info.id.as_ref().map(|i| i.value.as_str()) != Some(framework_id) {
            return Err(ClusterError::InvalidUpdate(
                "'framework_info.id' must equal the call's 'framework_id'".into(),
            ));
        }
        let fw = self
            .frameworks
            .get(framework_id)
            .ok_or(ClusterError::FrameworkNotFound)?;
        if fw.info.user != info.user
            || fw.info.principal != info.principal
            || fw.info.checkpoint != info.checkpoint
        {
            return Err(ClusterError::InvalidUpdate(
                "Updating 'FrameworkInfo.user', 'principal' or 'checkpoint' is not supported"
                    .into(),
            ));
        }
        let roles = validation::framework_roles(info);
        if let Some(bad) = update.suppressed_roles.iter().find(|r| !roles.contains(r)) {
            return Err(ClusterError::InvalidUpdate(format!(
                "Suppressed role '{bad}' is not contained in the list of roles"
            )));
        }
        let removed_roles: Vec<String> = fw
            .roles
            .iter()
            .filter(|r| !roles.contains(r))
            .cloned()
            .collect();
        let fid = framework_id.to_owned();
        self.rescind_offers_where(|o| o.framework_id == fid && removed_roles.contains(&o.role));
        if let Some(fw) = self.frameworks.get_mut(framework_id) {
            let new_suppressed: BTreeSet<String> =
                update.suppressed_roles.iter().cloned().collect();
            let unsuppressed: Vec<String> =
                fw.suppressed.difference(&new_suppressed).cloned().collect();
            fw.filters
                .retain(|(_, role), _| !unsuppressed.contains(role));
            fw.info = info.clone();
            fw.roles = roles;
            fw.suppressed = new_suppressed;
        }
        self.touch_all();
        Ok(())
    }

    fn revive(&mut self, framework_id: &str, roles: &[String]) {
        if let Some(fw) = self.frameworks.get_mut(framework_id) {
            let all = roles.is_empty();
            fw.filters
                .retain(|(_, role), _| !all && !roles.contains(role));
            if all {
                fw.suppressed.clear();
            } else {
                for r in roles {
                    fw.suppressed.remove(r);
                }
            }
        }
        self.touch_all();
    }

    fn suppress(&mut self, framework_id: &str, roles: &[String]) {
        if let Some(fw) = self.frameworks.get_mut(framework_id) {
            let targets: Vec<String> = if roles.is_empty() {
                fw.roles.clone()
            } else {
                roles.to_vec()
            };
            fw.suppressed.extend(targets);
        }
    }

    fn kill(
        &mut self,
        framework_id: &str,
        task_id: &str,
        agent_id: Option<&AgentId>,
        grace: Option<Duration>,
        now: Instant,
    ) {
        let Some(fw) = self.frameworks.get(framework_id) else {
            return;
        };
        let Some(task) = fw.tasks.get(task_id) else {
            let tasks = vec![call::reconcile::Task {
                task_id: TaskId {
                    value: task_id.to_owned(),
                },
                agent_id: agent_id.cloned(),
            }];
            self.reconcile(framework_id, &tasks, now);
            return;
        };
        if is_terminal(task.state) {
            return;
        }
        let targets: Vec<String> = match task.group {
            Some(g) => fw
                .tasks
                .values()
                .filter(|t| t.group == Some(g) && !is_terminal(t.state))
                .map(|t| t.info.task_id.value.clone())
                .collect(),
            None => vec![task_id.to_owned()],
        };
        let killing = fw.killing_state();
        for tid in targets {
            self.kill_task(
                framework_id,
                &tid,
                grace,
                killing,
                "Task killed by the scheduler",
                now,
            );
        }
    }

    /// Kills one live task: TASK_KILLING (if the framework wants it) and
    /// TASK_KILLED from a simulated agent, or a kill order in process mode.
    fn kill_task(
        &mut self,
        framework_id: &str,
        task_id: &str,
        grace: Option<Duration>,
        killing: bool,
        message: &str,
        now: Instant,
    ) {
        let Some(task) = self
            .frameworks
            .get(framework_id)
            .and_then(|f| f.tasks.get(task_id))
        else {
            return;
        };
        let grace = grace.or_else(|| {
            task.info
                .kill_policy
                .as_ref()
                .and_then(|p| p.grace_period.as_ref())
                .map(|d| Duration::from_nanos(u64::try_from(d.nanoseconds).unwrap_or(0)))
        });
        let agent_id = task.agent_id.clone();
        if killing && task.state != TaskState::TaskKilling {
            self.agent_update(
                framework_id,
                task_id,
                AgentReport::new(TaskState::TaskKilling, task_status::Source::Executor),
                now,
            );
        }
        match self.config.mode {
            AgentMode::Simulated => {
                let mut report =
                    AgentReport::new(TaskState::TaskKilled, task_status::Source::Executor);
                report.message = Some(message.to_owned());
                self.agent_update(framework_id, task_id, report, now);
            }
            AgentMode::Process => self.outputs.push(Output::Kill {
                agent_id,
                task_id: task_id.to_owned(),
                grace,
            }),
        }
    }

    fn shutdown_executor(
        &mut self,
        framework_id: &str,
        agent_id: &str,
        executor_id: &str,
        now: Instant,
    ) {
        let Some(fw) = self.frameworks.get(framework_id) else {
            return;
        };
        let targets: Vec<String> = fw
            .tasks
            .values()
            .filter(|t| {
                t.agent_id == agent_id
                    && t.executor_id.as_deref() == Some(executor_id)
                    && !is_terminal(t.state)
            })
            .map(|t| t.info.task_id.value.clone())
            .collect();
        if targets.is_empty() {
            return;
        }
        for tid in targets {
            self.kill_task(framework_id, &tid, None, false, "Executor shut down", now);
        }
        self.deliver(
            framework_id,
            Event {
                r#type: Some(event::Type::Failure as i32),
                failure: Some(event::Failure {
                    agent_id: Some(AgentId {
                        value: agent_id.to_owned(),
                    }),
                    executor_id: Some(ExecutorId {
                        value: executor_id.to_owned(),
                    }),
                    status: Some(15),
                }),
                ..Default::default()
            },
        );
    }
}

// === impl Cluster: status updates ===

/// A status report from an agent (or the process runtime).
#[derive(Debug, Clone, PartialEq)]
pub struct AgentReport {
    /// New state.
    pub state: TaskState,
    /// Who says so.
    pub source: task_status::Source,
    /// Human text.
    pub message: Option<String>,
    /// Reason.
    pub reason: Option<task_status::Reason>,
    /// Health check result.
    pub healthy: Option<bool>,
    /// Check result.
    pub check_status: Option<plinth_proto::v1::CheckStatusInfo>,
}

impl AgentReport {
    /// A bare report.
    #[must_use]
    pub fn new(state: TaskState, source: task_status::Source) -> Self {
        Self {
            state,
            source,
            message: None,
            reason: None,
            healthy: None,
            check_status: None,
        }
    }
}

impl Cluster {
    /// Finds the framework that has a live task with this id.
    #[must_use]
    pub fn find_task(&self, task_id: &str) -> Option<String> {
        self.frameworks
            .values()
            .find(|f| f.tasks.get(task_id).is_some_and(|t| !is_terminal(t.state)))
            .or_else(|| {
                self.frameworks
                    .values()
                    .find(|f| f.tasks.contains_key(task_id))
            })
            .map(|f| f.id.clone())
    }

    /// An agent-originated status update: recorded, given a uuid, and sent
    /// once the previous update of the task is acknowledged; resent until
    /// acknowledged. Reports after a terminal state are ignored.
    pub fn agent_update(
        &mut self,
        framework_id: &str,
        task_id: &str,
        report: AgentReport,
        now: Instant,
    ) {
        let uuid = self.new_uuid().as_bytes().to_vec();
        let timestamp = self.wall_clock(now);
        let Some(fw) = self.frameworks.get_mut(framework_id) else {
            return;
        };
        let Some(task) = fw.tasks.get_mut(task_id) else {
            return;
        };
        if is_terminal(task.state) {
            return;
        }
        let status = TaskStatus {
            task_id: task.info.task_id.clone(),
            state: report.state as i32,
            message: report.message,
            source: Some(report.source as i32),
            reason: report.reason.map(|r| r as i32),
            agent_id: Some(AgentId {
                value: task.agent_id.clone(),
            }),
            // A real agent always sets the executor id on the updates it
            // forwards; a command task runs under the command executor, whose
            // id is the task id (`Slave::getExecutorInfo`). Master-generated
            // updates keep the task's own (possibly absent) executor id.
            executor_id: Some(ExecutorId {
                value: task
                    .executor_id
                    .clone()
                    .unwrap_or_else(|| task.info.task_id.value.clone()),
            }),
            timestamp: Some(timestamp),
            uuid: Some(uuid),
            healthy: report.healthy,
            check_status: report.check_status,
            ..Default::default()
        };
        task.state = report.state;
        task.statuses.push(status.clone());
        task.pending.push_back(status);
        let idle = task.outstanding.is_none();
        let group = task.group;
        if is_terminal(report.state) {
            self.free_task(framework_id, task_id);
            let failed = !matches!(report.state, TaskState::TaskFinished);
            if let (Some(g), true) = (group, failed) {
                self.kill_group_rest(framework_id, g, task_id, now);
            }
        }
        if idle {
            self.forward_next(framework_id, task_id, now);
        }
    }

    /// Default-executor semantics: one failed task takes its group down.
    fn kill_group_rest(&mut self, framework_id: &str, group: u64, except: &str, now: Instant) {
        let rest: Vec<String> = self
            .frameworks
            .get(framework_id)
            .map(|f| {
                f.tasks
                    .values()
                    .filter(|t| {
                        t.group == Some(group)
                            && t.info.task_id.value != except
                            && !is_terminal(t.state)
                    })
                    .map(|t| t.info.task_id.value.clone())
                    .collect()
            })
            .unwrap_or_default();
        for tid in rest {
            self.kill_task(
                framework_id,
                &tid,
                None,
                false,
                "A task in the task group terminated",
                now,
            );
        }
    }

    fn forward_next(&mut self, framework_id: &str, task_id: &str, now: Instant) {
        let Some(task) = self
            .frameworks
            .get_mut(framework_id)
            .and_then(|f| f.tasks.get_mut(task_id))
        else {
            return;
        };
        let Some(status) = task.pending.pop_front() else {
            return;
        };
        task.status_update_state = TaskState::try_from(status.state).ok();
        task.outstanding = Some(framework::Outstanding {
            status: status.clone(),
        });
        let uuid = status.uuid.clone().unwrap_or_default();
        self.send_update(framework_id, status, now);
        let at = now + self.config.update_retry_interval;
        self.schedule(
            at,
            Timer::Resend {
                framework_id: framework_id.to_owned(),
                task_id: task_id.to_owned(),
                uuid,
            },
        );
    }

    /// ACKNOWLEDGE: if `uuid` is the outstanding update's, the next one goes
    /// out (or the task completes after its terminal update). Anything else
    /// is ignored, as the agent ignores it.
    pub fn acknowledge(&mut self, framework_id: &str, task_id: &str, uuid: &[u8], now: Instant) {
        let Some(task) = self
            .frameworks
            .get_mut(framework_id)
            .and_then(|f| f.tasks.get_mut(task_id))
        else {
            self.stats.ignored_acks += 1;
            return;
        };
        let matches = task
            .outstanding
            .as_ref()
            .is_some_and(|o| o.status.uuid.as_deref() == Some(uuid));
        if !matches {
            self.stats.ignored_acks += 1;
            tracing::debug!(framework = %framework_id, task = %task_id, "ignoring acknowledgement that matches no outstanding update");
            return;
        }
        self.stats.acks += 1;
        let acked = task.outstanding.take().map(|o| o.status);
        if !task.pending.is_empty() {
            self.forward_next(framework_id, task_id, now);
            return;
        }
        let terminal = acked
            .and_then(|s| TaskState::try_from(s.state).ok())
            .is_some_and(is_terminal);
        if terminal {
            self.archive_task(framework_id, task_id);
        }
    }

    /// A master-generated update for a known task: no uuid, sent at once.
    /// Terminal ones complete the task.
    fn master_update(
        &mut self,
        framework_id: &str,
        task_id: &str,
        status: TaskStatus,
        now: Instant,
    ) {
        let state = TaskState::try_from(status.state).unwrap_or(TaskState::TaskLost);
        if let Some(task) = self
            .frameworks
            .get_mut(framework_id)
            .and_then(|f| f.tasks.get_mut(task_id))
        {
            task.state = state;
            task.status_update_state = Some(state);
            task.statuses.push(status.clone());
            task.pending.clear();
            task.outstanding = None;
        }
        self.send_update(framework_id, status, now);
        if is_terminal(state) {
            self.free_task(framework_id, task_id);
            self.archive_task(framework_id, task_id);
        }
    }

    /// Builds a master-generated status (no uuid, SOURCE_MASTER).
    fn master_status(
        &self,
        framework_id: &str,
        task_id: &str,
        state: TaskState,
        reason: task_status::Reason,
        now: Instant,
    ) -> TaskStatus {
        let task = self
            .frameworks
            .get(framework_id)
            .and_then(|f| f.tasks.get(task_id));
        TaskStatus {
            task_id: TaskId {
                value: task_id.to_owned(),
            },
            state: state as i32,
            source: Some(task_status::Source::Master as i32),
            reason: Some(reason as i32),
            agent_id: task.map(|t| AgentId {
                value: t.agent_id.clone(),
            }),
            executor_id: task
                .and_then(|t| t.executor_id.clone())
                .map(|value| ExecutorId { value }),
            timestamp: Some(self.wall_clock(now)),
            ..Default::default()
        }
    }

    /// Sets a task terminal without telling anyone (framework removal).
    fn complete_task(&mut self, framework_id: &str, task_id: &str, state: TaskState) {
        if let Some(task) = self
            .frameworks
            .get_mut(framework_id)
            .and_then(|f| f.tasks.get_mut(task_id))
        {
            task.state = state;
            task.pending.clear();
            task.outstanding = None;
        }
        self.free_task(framework_id, task_id);
        self.archive_task(framework_id, task_id);
    }

    /// Gives a task's resources back to its agent (once).
    fn free_task(&mut self, framework_id: &str, task_id: &str) {
        let Some(fw) = self.frameworks.get_mut(framework_id) else {
            return;
        };
        let Some(task) = fw.tasks.get_mut(task_id) else {
            return;
        };
        if task.freed {
            return;
        }
        task.freed = true;
        let mut give_back = task.resources.clone();
        let agent_id = task.agent_id.clone();
        if let Some(eid) = task.executor_id.clone() {
            let key = (agent_id.clone(), eid);
            if let Some(executor) = fw.executors.get_mut(&key) {
                executor.tasks = executor.tasks.saturating_sub(1);
                if executor.tasks == 0 {
                    give_back.add_all(&executor.resources);
                    fw.executors.remove(&key);
                }
            }
        }
        if let Some(agent) = self.agents.get_mut(&agent_id)
            && agent.status != AgentStatus::Gone
            && agent.used.subtract_all(&give_back).is_err()
        {
            tracing::error!(agent = %agent_id, task = %task_id, "freeing resources that were not in use");
        }
        self.touch_agent(&agent_id);
    }

    /// Moves a terminal task to the framework's completed tasks.
    fn archive_task(&mut self, framework_id: &str, task_id: &str) {
        let max = self.config.max_completed_tasks;
        let Some(fw) = self.frameworks.get_mut(framework_id) else {
            return;
        };
        if let Some(task) = fw.tasks.shift_remove(task_id) {
            fw.completed.push_back(task);
            while fw.completed.len() > max {
                fw.completed.pop_front();
            }
        }
    }
}

// === impl Cluster: reconciliation ===

impl Cluster {
    /// RECONCILE: explicit for the listed tasks, implicit (every known task)
    /// when the list is empty. Answers carry no uuid and REASON_RECONCILIATION.
    pub fn reconcile(&mut self, framework_id: &str, tasks: &[call::reconcile::Task], now: Instant) {
        let Some(fw) = self.frameworks.get(framework_id) else {
            return;
        };
        let pa = fw.partition_aware();
        let mut answers = Vec::new();
        if tasks.is_empty() {
            for task in fw.tasks.values() {
                answers.push(self.reconcile_known(task, now));
            }
        } else {
            for wanted in tasks {
                if let Some(task) = fw.tasks.get(&wanted.task_id.value) {
                    answers.push(self.reconcile_known(task, now));
                    continue;
                }
                let agent = wanted.agent_id.as_ref().map(|a| a.value.as_str());
                let status = agent.and_then(|a| self.agents.get(a)).map(|a| a.status);
                let (state, message, unreachable) = match status {
                    Some(AgentStatus::Active) => (
                        if pa {
                            TaskState::TaskGone
                        } else {
                            TaskState::TaskLost
                        },
                        "Reconciliation: Task is unknown to the agent",
                        None,
                    ),
                    Some(AgentStatus::Unreachable { since }) => (
                        if pa {
                            TaskState::TaskUnreachable
                        } else {
                            TaskState::TaskLost
                        },
                        "Reconciliation: Task is unreachable",
                        Some(since),
                    ),
                    Some(AgentStatus::Gone) => (
                        if pa {
                            TaskState::TaskGoneByOperator
                        } else {
                            TaskState::TaskLost
                        },
                        "Reconciliation: Task is gone",
                        None,
                    ),
                    None => (
                        if pa {
                            TaskState::TaskUnknown
                        } else {
                            TaskState::TaskLost
                        },
                        "Reconciliation: Task is unknown",
                        None,
                    ),
                };
                answers.push(TaskStatus {
                    task_id: wanted.task_id.clone(),
                    state: state as i32,
                    message: Some(message.into()),
                    source: Some(task_status::Source::Master as i32),
                    reason: Some(task_status::Reason::Reconciliation as i32),
                    agent_id: wanted.agent_id.clone(),
                    timestamp: Some(self.wall_clock(now)),
                    unreachable_time: unreachable.map(|s| TimeInfo {
                        nanoseconds: (s * 1e9) as i64,
                    }),
                    ..Default::default()
                });
            }
        }
        for status in answers {
            self.send_update(framework_id, status, now);
        }
    }

    fn reconcile_known(&self, task: &Task, now: Instant) -> TaskStatus {
        let state = task.status_update_state.unwrap_or(task.state);
        let latest = task.statuses.iter().rev().find(|s| s.state == state as i32);
        TaskStatus {
            task_id: task.info.task_id.clone(),
            state: state as i32,
            message: Some("Reconciliation: Latest task state".into()),
            source: Some(task_status::Source::Master as i32),
            reason: Some(task_status::Reason::Reconciliation as i32),
            agent_id: Some(AgentId {
                value: task.agent_id.clone(),
            }),
            executor_id: task.executor_id.clone().map(|value| ExecutorId { value }),
            timestamp: Some(self.wall_clock(now)),
            healthy: latest.and_then(|s| s.healthy),
            check_status: latest.and_then(|s| s.check_status),
            unreachable_time: task.unreachable_since.map(|s| TimeInfo {
                nanoseconds: (s * 1e9) as i64,
            }),
            ..Default::default()
        }
    }
}

// === impl Cluster: offers ===

impl Cluster {
    /// Removes offers silently (their framework cannot be told).
    fn remove_offers_where(
        &mut self,
        mut pred: impl FnMut(&OfferRecord) -> bool,
    ) -> Vec<(String, OfferRecord)> {
        let ids: Vec<String> = self
            .offers
            .iter()
            .filter(|(_, o)| pred(o))
            .map(|(id, _)| id.clone())
            .collect();
        let mut removed = Vec::new();
        for id in ids {
            if let Some(offer) = self.offers.shift_remove(&id) {
                if let Some(agent) = self.agents.get_mut(&offer.agent_id)
                    && agent.offered.subtract_all(&offer.resources).is_err()
                {
                    tracing::error!(offer = %id, "offered resources out of balance");
                }
                removed.push((id, offer));
            }
        }
        for (_, offer) in &removed {
            self.touch_agent(&offer.agent_id);
        }
        removed
    }

    /// Removes offers and sends RESCIND for each.
    fn rescind_offers_where(&mut self, pred: impl FnMut(&OfferRecord) -> bool) -> usize {
        let removed = self.remove_offers_where(pred);
        let count = removed.len();
        for (id, offer) in removed {
            self.stats.rescinds += 1;
            self.deliver(
                &offer.framework_id,
                Event {
                    r#type: Some(event::Type::Rescind as i32),
                    rescind: Some(event::Rescind {
                        offer_id: OfferId { value: id },
                    }),
                    ..Default::default()
                },
            );
        }
        count
    }
}

#[cfg(test)]
mod tests;

/// The result a simulated agent reports for a task's check: success.
fn simulated_check_pass(check: &plinth_proto::v1::CheckInfo) -> plinth_proto::v1::CheckStatusInfo {
    use plinth_proto::v1::{CheckStatusInfo, check_info, check_status_info};
    let kind = check
        .r#type
        .and_then(|t| check_info::Type::try_from(t).ok());
    CheckStatusInfo {
        r#type: check.r#type,
        command: (kind == Some(check_info::Type::Command))
            .then_some(check_status_info::Command { exit_code: Some(0) }),
        http: (kind == Some(check_info::Type::Http)).then_some(check_status_info::Http {
            status_code: Some(200),
        }),
        tcp: (kind == Some(check_info::Type::Tcp)).then_some(check_status_info::Tcp {
            succeeded: Some(true),
        }),
    }
}
