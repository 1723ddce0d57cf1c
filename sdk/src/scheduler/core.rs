//! The scheduler's decisions, as a pure state machine.
//!
//! [`SchedulerCore::handle`] takes one [`Input`] (an event from the master or
//! a clock tick) and returns the [`Effect`]s to carry out, **in order**. The
//! async shell ([`super::runner`]) performs them one after another, so an
//! effect list `[StoreTasks, Call(ACCEPT)]` guarantees TaskInfos are persisted
//! before the ACCEPT leaves. Nothing here does IO, sleeps or reads a clock.
//!
//! # What it decides
//! - After SUBSCRIBED: store the FrameworkID, reconcile every stored
//!   non-terminal task explicitly, then implicitly. Offers are declined until
//!   the explicit answers are in (or [`RECONCILE_TIMEOUT`] passed).
//! - OFFERS: candidate steps of all plans ([`coordinate`]) → offer evaluation →
//!   `StoreTasks` + ACCEPT per agent; leftover offers with our orphaned
//!   reservations → DESTROY/UNRESERVE; the rest are declined (long when there
//!   is no work, short when there is).
//! - UPDATE: store the status, move the plans, acknowledge when it carries a
//!   uuid; kill tasks we do not know.
//! - SUPPRESS when no step waits for offers; REVIVE when the set of waiting
//!   steps changes.
//! - Failures (`failure.rs`): transient ones relaunch in place after a
//!   crash-loop backoff; GONE agents and long-unreachable ones replace the
//!   pod elsewhere. Scale-in runs the `decommission` plan ([`crate::decommission`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use plinth_proto::v1::scheduler::Call;
use plinth_proto::v1::{
    AgentId, FrameworkId, Offer, OfferId, TaskId, TaskInfo, TaskState as MesosTaskState, TaskStatus,
};

use super::command::{Command, CommandId, CommandResult};
use super::observe;
use crate::mesos::calls;
use crate::offer::{
    OfferOutcome, PodInstanceRequirement, SeededIds, ServiceContext, evaluate_all, gc, labels,
};
use crate::plan::{LaunchedTask, Plan, PodInstance, StepChange, StepKind, StepRef, coordinate};
use crate::recovery::{self, RecoveryPolicy, backoff::Backoff};

/// Rolling config updates: stale tasks of a deploy step are killed first.
mod rolling;

mod operator;

/// Pause and resume: the goal-state override of some tasks of a pod.
mod pause;

/// Task failures: transient relaunch with backoff, permanent replacement.
mod failure;

/// Driving the `decommission` plan (scale-in).
mod decommission;

#[cfg(test)]
mod fixture;

/// How long offers wait for explicit reconciliation answers at most.
pub const RECONCILE_TIMEOUT: Duration = Duration::from_secs(30);
/// Decline filter when there is nothing to launch.
pub const REFUSE_IDLE: f64 = 3600.0;
/// Decline filter when work is waiting but this offer did not fit.
pub const REFUSE_BUSY: f64 = 5.0;

/// One thing that happened.
// Status updates dominate and are moved once each: boxing them would cost
// an allocation per update for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Input {
    /// SUBSCRIBED (first time or after failover).
    Subscribed(FrameworkId),
    /// The subscription broke: offers are void, reconcile again after re-subscribing.
    Disconnected,
    /// OFFERS.
    Offers(Vec<Offer>),
    /// UPDATE.
    Update(TaskStatus),
    /// Time passed (for delays and reconciliation timeouts).
    Tick,
    /// An operator command from the API; answered by an [`Effect::Reply`]
    /// with the same id once the effects before it are carried out.
    Command(CommandId, Command),
}

/// One thing to do, in order.
// As for `Input`: status stores dominate and are moved once each.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Effect {
    /// Persist the FrameworkID.
    StoreFrameworkId(FrameworkId),
    /// Persist TaskInfos (before the ACCEPT that launches them).
    StoreTasks(Vec<TaskInfo>),
    /// Persist a task's latest status (before acknowledging it).
    StoreStatus(String, TaskStatus),
    /// Send a call to the master.
    Call(Box<Call>),
    /// Persist a property (`/v1/state/files` uploads).
    StoreProperty(String, Vec<u8>),
    /// Delete a task's stored TaskInfo, status and metadata (decommission).
    EraseTask(String),
    /// Answer operator command `id` (after the effects before it).
    Reply(CommandId, CommandResult),
}

/// A stored task: its TaskInfo and latest status.
#[derive(Debug, Clone)]
struct Known {
    /// Shared with the published API snapshots (changed copy-on-write).
    info: Arc<TaskInfo>,
    status: Option<TaskStatus>,
}

/// The scheduler's in-memory state and decision logic.
#[derive(Debug)]
pub struct SchedulerCore {
    ctx: ServiceContext,
    plans: Vec<Plan>,
    /// By task name (`hello-0-server`).
    tasks: BTreeMap<String, Known>,
    /// Task id → task name: a cache over `tasks`, checked on every hit and
    /// rebuilt on a miss (see [`SchedulerCore::task_name_of`]).
    task_names: BTreeMap<String, String>,
    /// Whether `task_names` was rebuilt during the current batch.
    task_names_fresh: bool,
    ids: SeededIds,
    /// Task ids whose explicit reconciliation answer is outstanding.
    reconciling: BTreeSet<String>,
    /// When explicit reconciliation started; `None` when done or not subscribed.
    reconcile_started: Option<Instant>,
    subscribed: bool,
    suppressed: bool,
    /// The steps that waited for offers at the last REVIVE/SUPPRESS decision.
    waiting: BTreeSet<StepRef>,
    outcomes: Vec<OfferOutcome>,
    /// Step status changes since the last [`SchedulerCore::take_step_changes`].
    changes: Vec<StepChange>,
    /// Reservations of replaced pods waiting to be released, with the time
    /// to stop waiting for their offers.
    releasing: BTreeMap<String, Instant>,
    /// Crash-loop backoff per task instance.
    backoff: Backoff,
    /// When an UNREACHABLE task counts as lost for good.
    replace_unreachable_after: Option<std::time::Duration>,
    /// UNREACHABLE task instances, since when.
    unreachable: BTreeMap<String, Instant>,
    /// Task ids the scheduler itself killed (restart, replace, rolling
    /// update, decommission): their end is no crash.
    own_kills: BTreeSet<String>,
}

// === impl SchedulerCore ===

impl SchedulerCore {
    /// A core for `ctx` with the given plans and the tasks found in the state store.
    #[must_use]
    pub fn new(
        ctx: ServiceContext,
        plans: Vec<Plan>,
        stored: Vec<(TaskInfo, Option<TaskStatus>)>,
        seed: u64,
    ) -> Self {
        let tasks = stored
            .into_iter()
            .map(|(info, status)| {
                let info = Arc::new(info);
                (info.name.clone(), Known { info, status })
            })
            .collect();
        let mut plans = plans;
        if !plans.iter().any(|p| p.name() == recovery::RECOVERY_PLAN) {
            plans.push(recovery::empty_plan());
        }
        if !plans
            .iter()
            .any(|p| p.name() == crate::decommission::DECOMMISSION_PLAN)
        {
            let infos = tasks_ref(&tasks);
            plans.push(crate::decommission::plan(&ctx.spec, infos));
        }
        let id_seed = id_seed(seed, &tasks);
        Self {
            ctx,
            plans,
            tasks,
            task_names: BTreeMap::new(),
            task_names_fresh: false,
            ids: SeededIds::new(id_seed),
            reconciling: BTreeSet::new(),
            reconcile_started: None,
            subscribed: false,
            suppressed: false,
            waiting: BTreeSet::new(),
            outcomes: Vec::new(),
            changes: Vec::new(),
            releasing: BTreeMap::new(),
            backoff: Backoff::new(RecoveryPolicy::default().backoff),
            replace_unreachable_after: RecoveryPolicy::default().replace_unreachable_after,
            unreachable: BTreeMap::new(),
            own_kills: BTreeSet::new(),
        }
    }

    /// With another recovery policy (backoff, unreachable timeout).
    #[must_use]
    pub fn with_recovery_policy(mut self, policy: RecoveryPolicy) -> Self {
        self.backoff = Backoff::new(policy.backoff);
        self.replace_unreachable_after = policy.replace_unreachable_after;
        self
    }

    /// The plans, `deploy` first.
    #[must_use]
    pub fn plans(&self) -> &[Plan] {
        &self.plans
    }

    /// Why each pending step was not placed at the last offer cycle.
    #[must_use]
    pub fn outcomes(&self) -> &[OfferOutcome] {
        &self.outcomes
    }

    /// The service context (framework id filled in once subscribed).
    #[must_use]
    pub fn context(&self) -> &ServiceContext {
        &self.ctx
    }

    /// Whether the core was told of a subscription (and no disconnection since).
    #[must_use]
    pub fn is_subscribed(&self) -> bool {
        self.subscribed
    }

    /// Whether offers are being used (subscribed and reconciled).
    #[must_use]
    pub fn is_ready(&self) -> bool {
        self.subscribed && self.reconcile_started.is_none()
    }

    /// Handles one input at `now`; returns the effects to carry out in order.
    pub fn handle(&mut self, input: Input, now: Instant) -> Vec<Effect> {
        let mut effects = self.handle_in_batch(input, now);
        effects.extend(self.finish_batch());
        effects
    }

    /// Handles one input of a batch, like [`SchedulerCore::handle`] but
    /// without the SUPPRESS/REVIVE decision: call
    /// [`SchedulerCore::finish_batch`] after the batch's last input. That
    /// decision walks every plan, so taking it once per batch instead of
    /// once per event keeps a burst of updates linear.
    pub fn handle_in_batch(&mut self, input: Input, now: Instant) -> Vec<Effect> {
        let mut effects = Vec::new();
        let effects_out = &mut effects;
        match input {
            Input::Subscribed(framework_id) => self.on_subscribed(framework_id, now, effects_out),
            Input::Disconnected => {
                self.subscribed = false;
                self.reconcile_started = None;
                self.reconciling.clear();
                // A new subscription starts unsuppressed.
                self.suppressed = false;
                self.waiting.clear();
            }
            Input::Offers(offers) => self.on_offers(offers, effects_out),
            Input::Update(status) => self.on_update(status, now, effects_out),
            Input::Command(id, command) => {
                let result = self.on_command(command, now, effects_out);
                effects_out.push(Effect::Reply(id, result));
            }
            Input::Tick => {
                for plan in &mut self.plans {
                    self.changes.extend(plan.tick(now));
                }
                self.releasing.retain(|_, until| *until > now);
                self.replace_long_unreachable(now, effects_out);
                if let Some(started) = self.reconcile_started
                    && now.saturating_duration_since(started) >= RECONCILE_TIMEOUT
                {
                    tracing::warn!(
                        outstanding = self.reconciling.len(),
                        "explicit reconciliation timed out; using offers anyway"
                    );
                    self.finish_reconciliation(effects_out);
                }
            }
        }
        self.note_own_kills(&effects);
        effects
    }

    /// Ends a batch of [`SchedulerCore::handle_in_batch`] calls: SUPPRESS
    /// when no step waits for offers, REVIVE when new ones do.
    pub fn finish_batch(&mut self) -> Vec<Effect> {
        self.task_names_fresh = false;
        let mut effects = Vec::new();
        if self.is_ready() {
            self.advance_decommission(&mut effects);
            self.note_own_kills(&effects);
            self.revive_or_suppress(&mut effects);
        }
        effects
    }

    fn on_subscribed(
        &mut self,
        framework_id: FrameworkId,
        now: Instant,
        effects: &mut Vec<Effect>,
    ) {
        self.ctx.framework_id.clone_from(&framework_id.value);
        self.subscribed = true;
        self.suppressed = false;
        self.waiting.clear();
        effects.push(Effect::StoreFrameworkId(framework_id));
        let live: Vec<(TaskId, Option<AgentId>)> = self
            .tasks
            .values()
            // Reserved-but-not-launched tasks are stored with an empty id.
            .filter(|k| !k.info.task_id.value.is_empty())
            .filter(|k| {
                k.status
                    .as_ref()
                    .is_none_or(|s| !observe::is_terminal(s.state))
            })
            .map(|k| (k.info.task_id.clone(), Some(k.info.agent_id.clone())))
            .collect();
        self.reconciling = live.iter().map(|(id, _)| id.value.clone()).collect();
        if live.is_empty() {
            self.reconcile_started = None;
            effects.push(Effect::Call(Box::new(calls::reconcile(vec![]))));
        } else {
            self.reconcile_started = Some(now);
            effects.push(Effect::Call(Box::new(calls::reconcile(live))));
        }
    }

    fn finish_reconciliation(&mut self, effects: &mut Vec<Effect>) {
        self.reconciling.clear();
        if self.reconcile_started.take().is_some() {
            // Explicit answers are in: ask for everything the master knows,
            // so tasks we never recorded are found (and killed).
            effects.push(Effect::Call(Box::new(calls::reconcile(vec![]))));
        }
    }

    fn on_update(&mut self, status: TaskStatus, now: Instant, effects: &mut Vec<Effect>) {
        let task_id = status.task_id.value.clone();
        let ack = status.uuid.clone().filter(|u| !u.is_empty());
        let agent_id = status.agent_id.clone();
        let name = self.task_name_of(&task_id);
        let known = name.and_then(|name| self.tasks.get_mut(&name).map(|known| (name, known)));
        match known {
            // A reconciliation answer (no uuid) that repeats the stored live
            // status changes nothing: nothing to store, no plan to move.
            // Skipping it keeps a restart's reconciliation of many tasks cheap.
            Some((_, known))
                if ack.is_none()
                    && matches!(
                        MesosTaskState::try_from(status.state),
                        Ok(MesosTaskState::TaskStaging
                            | MesosTaskState::TaskStarting
                            | MesosTaskState::TaskRunning)
                    )
                    && known.status.as_ref().is_some_and(|old| {
                        old.task_id == status.task_id
                            && old.state == status.state
                            && old.healthy == status.healthy
                            && old.check_status == status.check_status
                    }) => {}
            Some((name, known)) => {
                known.status = Some(status.clone());
                let obs = observe::observation(&known.info, &status);
                effects.push(Effect::StoreStatus(name, status.clone()));
                for plan in &mut self.plans {
                    self.changes.extend(plan.update_task(&obs));
                }
                self.on_task_state(&obs, now, effects);
            }
            None => {
                // A task we have no record of: it must not run (dcos-commons
                // kills unknown task ids).
                if !observe::is_terminal(status.state) {
                    tracing::warn!(%task_id, "killing a task the scheduler does not know");
                    effects.push(Effect::Call(Box::new(calls::kill(
                        status.task_id.clone(),
                        agent_id.clone(),
                    ))));
                }
            }
        }
        if let (Some(uuid), Some(agent_id)) = (ack, agent_id) {
            effects.push(Effect::Call(Box::new(calls::acknowledge(
                agent_id,
                status.task_id,
                uuid,
            ))));
        }
        if self.reconciling.remove(&task_id) && self.reconciling.is_empty() {
            self.finish_reconciliation(effects);
        }
    }

    /// The name of the known task with id `task_id`. The id index is a
    /// cache: a hit is checked against `tasks`; on a miss it is rebuilt (at
    /// most once per batch), and a miss on a fresh index falls back to a
    /// scan, so no writer of `tasks` has to maintain it and a task is never
    /// taken for unknown (and killed) because of a stale index.
    fn task_name_of(&mut self, task_id: &str) -> Option<String> {
        let hit = |core: &Self| {
            core.task_names
                .get(task_id)
                .filter(|name| {
                    core.tasks
                        .get(*name)
                        .is_some_and(|k| k.info.task_id.value == task_id)
                })
                .cloned()
        };
        if let Some(name) = hit(self) {
            return Some(name);
        }
        if !self.task_names_fresh {
            self.task_names_fresh = true;
            self.task_names = self
                .tasks
                .iter()
                .filter(|(_, k)| !k.info.task_id.value.is_empty())
                .map(|(name, k)| (k.info.task_id.value.clone(), name.clone()))
                .collect();
            return hit(self);
        }
        self.tasks
            .iter()
            .find(|(_, k)| k.info.task_id.value == task_id)
            .map(|(name, _)| name.clone())
    }

    fn on_offers(&mut self, offers: Vec<Offer>, effects: &mut Vec<Effect>) {
        if !self.is_ready() {
            let ids = offers.into_iter().map(|o| o.id).collect();
            effects.push(Effect::Call(Box::new(calls::decline(
                ids,
                Some(REFUSE_BUSY),
            ))));
            return;
        }
        let candidates = self.candidates();
        let mut requirements = Vec::new();
        let mut steps_by_pod: BTreeMap<String, StepRef> = BTreeMap::new();
        for at in &candidates {
            if at.plan == crate::decommission::DECOMMISSION_PLAN {
                continue;
            }
            // Rolling update: tasks still on an older config are killed first.
            if self.kill_stale(at, effects) {
                continue;
            }
            let Some(requirement) = self.requirement(at) else {
                continue;
            };
            if let Some(plan) = self.plans.iter_mut().find(|p| p.name() == at.plan)
                && let Ok(changes) = plan.mark_prepared(at)
            {
                self.changes.extend(changes);
                steps_by_pod.insert(requirement.pod_instance_name(), at.clone());
                requirements.push(requirement);
            }
        }
        let (recommendations, outcomes) = evaluate_all(
            &self.ctx,
            self.tasks.values().map(|k| &*k.info),
            &requirements,
            &offers,
            &mut self.ids,
        );
        self.outcomes = outcomes;
        let mut used: BTreeSet<String> = BTreeSet::new();
        for rec in recommendations {
            used.extend(rec.offer_ids.iter().map(|o| o.value.clone()));
            for info in &rec.task_infos {
                let status = self.tasks.get(&info.name).and_then(|k| k.status.clone());
                self.tasks.insert(
                    info.name.clone(),
                    Known {
                        info: Arc::new(info.clone()),
                        status,
                    },
                );
            }
            effects.push(Effect::StoreTasks(rec.task_infos.clone()));
            effects.push(Effect::Call(Box::new(calls::accept(
                rec.offer_ids.clone(),
                rec.operations,
                None,
            ))));
            if let Some(at) = steps_by_pod.get(&rec.pod_instance) {
                let launched: Vec<LaunchedTask> = rec
                    .task_infos
                    .iter()
                    .filter(|t| rec.launched.contains(&t.name))
                    .map(|t| LaunchedTask::new(t.name.clone(), t.task_id.value.clone()))
                    .collect();
                if let Some(plan) = self.plans.iter_mut().find(|p| p.name() == at.plan) {
                    match plan.mark_launched(at, &launched) {
                        Ok(changes) => self.changes.extend(changes),
                        Err(e) => {
                            tracing::warn!(error = %e, step = ?at, "launch not recorded in the plan")
                        }
                    }
                }
            }
        }
        let rest: Vec<Offer> = offers
            .into_iter()
            .filter(|o| !used.contains(&o.id.value))
            .collect();
        let held = self.held_resource_ids();
        let cleanups = gc::cleanup(&rest, &self.ctx.framework_id, &held);
        let mut cleaned: BTreeSet<String> = BTreeSet::new();
        for cleanup in cleanups {
            tracing::info!(agent = %cleanup.agent_id.value, resources = ?cleanup.resource_ids, "releasing orphaned reservations");
            cleaned.extend(cleanup.offer_ids.iter().map(|o| o.value.clone()));
            for id in &cleanup.resource_ids {
                self.releasing.remove(id);
            }
            self.released_by_decommission(&cleanup.resource_ids, effects);
            effects.push(Effect::Call(Box::new(calls::accept(
                cleanup.offer_ids,
                cleanup.operations,
                None,
            ))));
        }
        let declined: Vec<OfferId> = rest
            .into_iter()
            .filter(|o| !cleaned.contains(&o.id.value))
            .map(|o| o.id)
            .collect();
        if !declined.is_empty() {
            let idle = self.candidates().is_empty()
                && self.releasing.is_empty()
                && self.decommission_at_work().is_empty();
            let refuse = if idle { REFUSE_IDLE } else { REFUSE_BUSY };
            effects.push(Effect::Call(Box::new(calls::decline(
                declined,
                Some(refuse),
            ))));
        }
    }

    /// Resource ids held by tasks we know (live or relaunchable); a
    /// decommissioned task holds nothing once it is gone.
    fn held_resource_ids(&self) -> BTreeSet<String> {
        self.tasks
            .values()
            .filter(|k| !self.is_retired(k))
            .flat_map(|k| labels::resource_ids(&k.info))
            .collect()
    }

    fn candidates(&self) -> Vec<StepRef> {
        let refs: Vec<&Plan> = self.plans.iter().collect();
        coordinate(&refs)
    }

    /// The offer requirement of a candidate step: a relaunch in place when the
    /// pod instance already holds reservations, a new placement otherwise.
    fn requirement(&self, at: &StepRef) -> Option<PodInstanceRequirement> {
        let plan = self.plans.iter().find(|p| p.name() == at.plan)?;
        let step = plan.step(at)?;
        let PodInstance { pod_type, index } = step.pod_instance()?.clone();
        let tasks: Vec<String> = step.tasks().into_iter().map(str::to_owned).collect();
        let prefix = format!("{pod_type}-{index}-");
        // Task names sort by pod instance: a range, not a scan of every task.
        let existing: Vec<TaskInfo> = self
            .tasks
            .range(prefix.clone()..)
            .take_while(|(name, _)| name.starts_with(&prefix))
            .map(|(_, k)| k)
            .filter(|k| labels::task_label(&k.info, labels::PERMANENTLY_FAILED).is_none())
            .map(|k| TaskInfo::clone(&k.info))
            .collect();
        let permanent = matches!(step.kind(), StepKind::Recovery { permanent: true });
        let mut requirement = if permanent {
            PodInstanceRequirement::permanent_replacement(pod_type, index, tasks)
        } else if existing.is_empty() {
            PodInstanceRequirement::new_placement(pod_type, index, tasks)
        } else {
            PodInstanceRequirement::relaunch_in_place(pod_type, index, tasks, existing)
        };
        requirement.environment = step.parameters().clone();
        Some(requirement)
    }

    fn revive_or_suppress(&mut self, effects: &mut Vec<Effect>) {
        let mut waiting: BTreeSet<StepRef> = self.candidates().into_iter().collect();
        waiting.extend(self.decommission_at_work());
        let role = self.ctx.role.clone();
        // Orphaned reservations of a replaced pod need offers to be released.
        if waiting.is_empty() && self.releasing.is_empty() {
            if !self.suppressed {
                self.suppressed = true;
                effects.push(Effect::Call(Box::new(calls::suppress(vec![role]))));
            }
        } else if self.suppressed || !waiting.is_subset(&self.waiting) {
            // New work: clear our decline filters and ask for offers again.
            self.suppressed = false;
            effects.push(Effect::Call(Box::new(calls::revive(vec![role]))));
        }
        self.waiting = waiting;
    }
}

/// The seed of generated ids: `seed` mixed with every stored task id, so a
/// scheduler restarted with the same seed (simulations, tests) does not
/// hand out the resource, executor and task ids its predecessor did, while
/// the same seed on the same state still gives the same ids (FNV-1a).
fn id_seed(seed: u64, tasks: &BTreeMap<String, Known>) -> u64 {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = seed ^ 0xcbf2_9ce4_8422_2325;
    for known in tasks.values() {
        for byte in known.info.task_id.value.bytes().chain([0]) {
            hash = (hash ^ u64::from(byte)).wrapping_mul(PRIME);
        }
    }
    hash
}

/// The stored TaskInfos, for building plans.
fn tasks_ref(tasks: &BTreeMap<String, Known>) -> impl Iterator<Item = &TaskInfo> {
    tasks.values().map(|k| &*k.info)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(ids: &[&str]) -> BTreeMap<String, Known> {
        ids.iter()
            .map(|id| {
                let info = TaskInfo {
                    name: format!("t-{id}"),
                    task_id: TaskId {
                        value: (*id).to_owned(),
                    },
                    ..TaskInfo::default()
                };
                (
                    info.name.clone(),
                    Known {
                        info: Arc::new(info),
                        status: None,
                    },
                )
            })
            .collect()
    }

    #[test]
    fn regression_restarts_with_one_seed_do_not_repeat_ids() {
        // Same seed, same state: same ids (replayable simulations).
        assert_eq!(
            id_seed(5, &stored(&["a", "b"])),
            id_seed(5, &stored(&["a", "b"]))
        );
        // Same seed after launches: different ids (a restarted test
        // scheduler once reused its predecessor's resource ids).
        assert_ne!(id_seed(5, &stored(&[])), id_seed(5, &stored(&["a"])));
        assert_ne!(id_seed(5, &stored(&["a"])), id_seed(5, &stored(&["b"])));
        assert_ne!(
            id_seed(5, &stored(&["ab"])),
            id_seed(5, &stored(&["a", "b"]))
        );
        assert_ne!(id_seed(5, &stored(&["a"])), id_seed(6, &stored(&["a"])));
    }
}
