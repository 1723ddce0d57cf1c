//! ACCEPT and DECLINE, validated the way the Mesos master does it.
//!
//! 1. The offers: each must exist, belong to the framework, appear once, and
//!    all must be on one agent and for one allocation role. Otherwise every
//!    task in the call gets TASK_LOST (TASK_DROPPED for PARTITION_AWARE
//!    frameworks) with REASON_INVALID_OFFERS, and the offers go back.
//! 2. The operations, in order, against the offered resources: LAUNCH and
//!    LAUNCH_GROUP create tasks or answer TASK_ERROR; RESERVE, UNRESERVE,
//!    CREATE and DESTROY change the agent's resources or are skipped.
//! 3. Whatever is left counts as declined for `refuse_seconds`.

use std::time::{Duration, Instant};

use plinth_proto::v1::offer::{Operation, operation};
use plinth_proto::v1::scheduler::{Event, event};
use plinth_proto::v1::{
    ExecutorInfo, OfferId, OperationState, OperationStatus, Resource, TaskId, TaskInfo, TaskState,
    TaskStatus, task_status,
};

use super::framework::{Executor, Filter, Task};
use super::resources::{self, Resources};
use super::{AgentMode, AgentReport, Cluster, LaunchOrder, Output, Timer, validation};

/// Default and maximum `refuse_seconds`.
const DEFAULT_REFUSE: f64 = 5.0;
const MAX_REFUSE: f64 = 365.0 * 24.0 * 3600.0;

/// The agent and role the offers of one ACCEPT share.
struct Target {
    agent_id: String,
    role: String,
}

impl Cluster {
    /// ACCEPT (DECLINE is ACCEPT without operations).
    pub(super) fn accept(
        &mut self,
        framework_id: &str,
        offer_ids: &[OfferId],
        operations: &[Operation],
        refuse_seconds: Option<f64>,
        now: Instant,
    ) {
        let (target, offered, error) = self.take_offers(framework_id, offer_ids);
        let Some(target) = target.filter(|_| error.is_none()) else {
            let error = error.unwrap_or_else(|| "No offers specified".into());
            self.reject_operations(framework_id, operations, &error, now);
            return;
        };
        let mut offered = offered;
        for op in operations {
            self.apply_operation(framework_id, &target, op, &mut offered, now);
        }
        let refuse = match refuse_seconds {
            Some(s) if s.is_finite() && s >= 0.0 => s.min(MAX_REFUSE),
            _ => DEFAULT_REFUSE,
        };
        if !offered.is_empty()
            && refuse > 0.0
            && let Some(fw) = self.frameworks.get_mut(framework_id)
        {
            let key = (target.agent_id.clone(), target.role.clone());
            let until = now + Duration::from_secs_f64(refuse);
            let mut resources = offered.clone();
            // Filters for the same agent and role accumulate.
            if let Some(old) = fw.filters.get(&key).filter(|f| f.until > now) {
                resources.add_all(&old.resources);
            }
            fw.filters.insert(key, Filter { until, resources });
            self.schedule(until, Timer::FilterExpired);
        }
    }

    /// Validates and removes the offers; returns their agent/role, their
    /// resources, and the first validation error.
    fn take_offers(
        &mut self,
        framework_id: &str,
        offer_ids: &[OfferId],
    ) -> (Option<Target>, Resources, Option<String>) {
        let mut error: Option<String> = None;
        let mut seen = std::collections::BTreeSet::new();
        let mut mine = Vec::new();
        for id in offer_ids {
            if !seen.insert(id.value.clone()) {
                error.get_or_insert_with(|| format!("Duplicate offer {} in offer list", id.value));
                continue;
            }
            match self.offers.get(&id.value) {
                None => {
                    error.get_or_insert_with(|| format!("Offer {} is no longer valid", id.value));
                }
                Some(o) if o.framework_id != framework_id => {
                    error
                        .get_or_insert_with(|| format!("Offer {} has invalid framework", id.value));
                }
                Some(_) => mine.push(id.value.clone()),
            }
        }
        if offer_ids.is_empty() {
            error.get_or_insert_with(|| "No offers specified".into());
        }
        let mut target: Option<Target> = None;
        let mut offered = Resources::new();
        for id in mine {
            let Some(offer) = self.offers.shift_remove(&id) else {
                continue;
            };
            self.touch_agent(&offer.agent_id);
            if let Some(agent) = self.agents.get_mut(&offer.agent_id)
                && agent.offered.subtract_all(&offer.resources).is_err()
            {
                tracing::error!(offer = %id, "offered resources out of balance");
            }
            match &target {
                None => {
                    target = Some(Target {
                        agent_id: offer.agent_id.clone(),
                        role: offer.role.clone(),
                    });
                }
                Some(t) if t.agent_id != offer.agent_id => {
                    error.get_or_insert_with(|| {
                        "Aggregated offers must belong to one single agent".into()
                    });
                }
                Some(t) if t.role != offer.role => {
                    error.get_or_insert_with(|| {
                        "Aggregated offers must be allocated to the same role".into()
                    });
                }
                Some(_) => {}
            }
            offered.add_all(&offer.resources);
        }
        (target, offered, error)
    }

    /// Invalid offers: every task is lost (or dropped), every operation with
    /// an id gets OPERATION_ERROR.
    fn reject_operations(
        &mut self,
        framework_id: &str,
        operations: &[Operation],
        error: &str,
        now: Instant,
    ) {
        let Some(fw) = self.frameworks.get(framework_id) else {
            return;
        };
        let state = if fw.partition_aware() {
            TaskState::TaskDropped
        } else {
            TaskState::TaskLost
        };
        for op in operations {
            let tasks = operation_tasks(op);
            if tasks.is_empty() {
                if op.id.is_some() {
                    self.operation_error(framework_id, op, &format!("Invalid offers: {error}"));
                }
                continue;
            }
            for task in tasks {
                let status = self.invalid_task_status(
                    task,
                    state,
                    task_status::Reason::InvalidOffers,
                    format!("Task launched with invalid offers: {error}"),
                    now,
                );
                self.send_update(framework_id, status, now);
            }
        }
    }

    fn invalid_task_status(
        &self,
        task: &TaskInfo,
        state: TaskState,
        reason: task_status::Reason,
        message: String,
        now: Instant,
    ) -> TaskStatus {
        TaskStatus {
            task_id: task.task_id.clone(),
            state: state as i32,
            message: Some(message),
            source: Some(task_status::Source::Master as i32),
            reason: Some(reason as i32),
            agent_id: Some(task.agent_id.clone()),
            timestamp: Some(self.wall_clock(now)),
            ..Default::default()
        }
    }

    fn operation_error(&mut self, framework_id: &str, op: &Operation, message: &str) {
        let event = Event {
            r#type: Some(event::Type::UpdateOperationStatus as i32),
            update_operation_status: Some(event::UpdateOperationStatus {
                status: OperationStatus {
                    operation_id: op.id.clone(),
                    state: OperationState::OperationError as i32,
                    message: Some(message.to_owned()),
                    ..Default::default()
                },
            }),
            ..Default::default()
        };
        self.deliver(framework_id, event);
    }

    fn apply_operation(
        &mut self,
        framework_id: &str,
        target: &Target,
        op: &Operation,
        offered: &mut Resources,
        now: Instant,
    ) {
        let kind = op
            .r#type
            .and_then(|t| operation::Type::try_from(t).ok())
            .unwrap_or(operation::Type::Unknown);
        match kind {
            operation::Type::Launch => {
                let tasks = op
                    .launch
                    .as_ref()
                    .map(|l| l.task_infos.as_slice())
                    .unwrap_or_default();
                for task in tasks {
                    let result = if op.id.is_some() {
                        Err("The 'id' field is not allowed on LAUNCH operations".to_owned())
                    } else {
                        self.launch_task(framework_id, target, task, offered, now)
                    };
                    if let Err(message) = result {
                        let status = self.invalid_task_status(
                            task,
                            TaskState::TaskError,
                            task_status::Reason::TaskInvalid,
                            message,
                            now,
                        );
                        self.send_update(framework_id, status, now);
                    }
                }
            }
            operation::Type::LaunchGroup => {
                let Some(group) = &op.launch_group else {
                    return;
                };
                let result = if op.id.is_some() {
                    Err("The 'id' field is not allowed on LAUNCH_GROUP operations".to_owned())
                } else {
                    self.launch_group(
                        framework_id,
                        target,
                        &group.executor,
                        &group.task_group.tasks,
                        offered,
                        now,
                    )
                };
                if let Err(message) = result {
                    for task in &group.task_group.tasks {
                        let status = self.invalid_task_status(
                            task,
                            TaskState::TaskError,
                            task_status::Reason::TaskGroupInvalid,
                            message.clone(),
                            now,
                        );
                        self.send_update(framework_id, status, now);
                    }
                }
            }
            operation::Type::Reserve
            | operation::Type::Unreserve
            | operation::Type::Create
            | operation::Type::Destroy => {
                if op.id.is_some() {
                    self.operation_error(
                        framework_id,
                        op,
                        "Operation feedback is not supported on the testkit's agent default resources",
                    );
                    return;
                }
                let result = match kind {
                    operation::Type::Reserve => self.reserve(framework_id, target, op, offered),
                    operation::Type::Unreserve => self.unreserve(target, op, offered),
                    operation::Type::Create => self.create(framework_id, target, op, offered),
                    _ => self.destroy(target, op, offered),
                };
                if let Err(message) = result {
                    tracing::info!(framework = %framework_id, operation = kind.as_str_name(), %message, "dropping invalid operation");
                }
            }
            other => {
                if op.id.is_some() {
                    self.operation_error(
                        framework_id,
                        op,
                        &format!("{} is not supported", other.as_str_name()),
                    );
                }
                tracing::info!(framework = %framework_id, operation = other.as_str_name(), "ignoring unsupported operation");
            }
        }
    }

    /// Upgrades framework resources to the internal format, checking their
    /// allocation role.
    fn incoming(list: &[Resource], role: &str) -> Result<Resources, String> {
        let mut out = Resources::new();
        for r in list {
            if let Some(alloc) = r.allocation_info.as_ref().and_then(|a| a.role.as_deref())
                && alloc != role
            {
                return Err(format!(
                    "Resource {} has invalid allocation info: role '{alloc}' but the offers are for '{role}'",
                    resources::describe(r)
                ));
            }
            out.add(&resources::upgrade(r)?);
        }
        Ok(out)
    }

    fn check_task_id_free(&self, framework_id: &str, task_id: &TaskId) -> Result<(), String> {
        let taken = self
            .frameworks
            .get(framework_id)
            .is_some_and(|f| f.tasks.contains_key(&task_id.value));
        if taken {
            return Err(format!("Task has duplicate ID: {}", task_id.value));
        }
        Ok(())
    }

    fn launch_task(
        &mut self,
        framework_id: &str,
        target: &Target,
        task: &TaskInfo,
        offered: &mut Resources,
        now: Instant,
    ) -> Result<(), String> {
        validation::validate_task_shape(task, &target.agent_id)?;
        self.check_task_id_free(framework_id, &task.task_id)?;
        let needs = Self::incoming(&task.resources, &target.role)?;
        if needs.is_empty() {
            return Err("Task uses no resources".into());
        }
        let mut total = needs.clone();
        let mut new_executor = None;
        if let Some(executor) = &task.executor {
            let key = (target.agent_id.clone(), executor.executor_id.value.clone());
            let running = self
                .frameworks
                .get(framework_id)
                .and_then(|f| f.executors.get(&key));
            match running {
                Some(existing) if existing.info.command != executor.command => {
                    return Err(format!(
                        "ExecutorInfo is not compatible with ExecutorInfo of running executor {}",
                        executor.executor_id.value
                    ));
                }
                Some(_) => {}
                None => {
                    let res = Self::incoming(&executor.resources, &target.role)?;
                    total.add_all(&res);
                    new_executor = Some(((**executor).clone(), res));
                }
            }
        }
        if !offered.contains(&total) {
            return Err(format!(
                "Task uses more resources {total} than available {offered}"
            ));
        }
        offered.subtract_all(&total)?;
        let mut info = task.clone();
        info.resources = needs.clone().into_vec();
        if let Some(executor) = &mut info.executor {
            executor
                .framework_id
                .get_or_insert_with(|| plinth_proto::v1::FrameworkId {
                    value: framework_id.to_owned(),
                });
        }
        let executor_id = task.executor.as_ref().map(|e| e.executor_id.value.clone());
        self.start_task(
            framework_id,
            target,
            info,
            needs,
            executor_id,
            None,
            new_executor,
            now,
        );
        let executor = task.executor.as_deref().cloned();
        self.order_launch(framework_id, target, std::slice::from_ref(task), executor);
        Ok(())
    }

    fn launch_group(
        &mut self,
        framework_id: &str,
        target: &Target,
        executor: &ExecutorInfo,
        tasks: &[TaskInfo],
        offered: &mut Resources,
        now: Instant,
    ) -> Result<(), String> {
        validation::validate_group_executor(executor, framework_id)?;
        if tasks.is_empty() {
            return Err("Task group is empty".into());
        }
        let mut ids = std::collections::BTreeSet::new();
        let mut per_task = Vec::new();
        let mut total = Resources::new();
        for task in tasks {
            validation::validate_group_task(task, executor, &target.agent_id)?;
            self.check_task_id_free(framework_id, &task.task_id)?;
            if !ids.insert(task.task_id.value.clone()) {
                return Err(format!(
                    "Task group has duplicate task ID: {}",
                    task.task_id.value
                ));
            }
            let needs = Self::incoming(&task.resources, &target.role)?;
            if needs.is_empty() {
                return Err(format!("Task {} uses no resources", task.task_id.value));
            }
            total.add_all(&needs);
            per_task.push(needs);
        }
        let key = (target.agent_id.clone(), executor.executor_id.value.clone());
        let running = self
            .frameworks
            .get(framework_id)
            .and_then(|f| f.executors.get(&key))
            .is_some();
        let mut new_executor = None;
        if !running {
            let res = Self::incoming(&executor.resources, &target.role)?;
            total.add_all(&res);
            new_executor = Some((executor.clone(), res));
        }
        if !offered.contains(&total) {
            return Err(format!(
                "Task group uses more resources {total} than available {offered}"
            ));
        }
        offered.subtract_all(&total)?;
        self.next_group += 1;
        let group = self.next_group;
        for (i, (task, needs)) in tasks.iter().zip(per_task).enumerate() {
            let mut info = task.clone();
            info.resources = needs.clone().into_vec();
            let exec = if i == 0 { new_executor.take() } else { None };
            self.start_task(
                framework_id,
                target,
                info,
                needs,
                Some(executor.executor_id.value.clone()),
                Some(group),
                exec,
                now,
            );
        }
        self.order_launch(framework_id, target, tasks, Some(executor.clone()));
        Ok(())
    }

    /// Records a launched task in STAGING and starts its (simulated) progress.
    #[allow(clippy::too_many_arguments)]
    fn start_task(
        &mut self,
        framework_id: &str,
        target: &Target,
        info: TaskInfo,
        needs: Resources,
        executor_id: Option<String>,
        group: Option<u64>,
        new_executor: Option<(ExecutorInfo, Resources)>,
        now: Instant,
    ) {
        let task_id = info.task_id.value.clone();
        let mut held = needs.clone();
        let Some(fw) = self.frameworks.get_mut(framework_id) else {
            return;
        };
        if let Some(eid) = &executor_id {
            let key = (target.agent_id.clone(), eid.clone());
            if let Some((exec_info, res)) = new_executor {
                held.add_all(&res);
                fw.executors.insert(
                    key.clone(),
                    Executor {
                        info: exec_info,
                        resources: res,
                        tasks: 0,
                    },
                );
            }
            if let Some(e) = fw.executors.get_mut(&key) {
                e.tasks += 1;
            }
        }
        fw.tasks.insert(
            task_id.clone(),
            Task {
                info,
                agent_id: target.agent_id.clone(),
                executor_id,
                group,
                role: target.role.clone(),
                state: TaskState::TaskStaging,
                status_update_state: None,
                statuses: Vec::new(),
                pending: Default::default(),
                outstanding: None,
                resources: needs,
                freed: false,
                unreachable_since: None,
            },
        );
        if let Some(agent) = self.agents.get_mut(&target.agent_id) {
            agent.used.add_all(&held);
        }
        self.stats.tasks_launched += 1;
        if self.config.mode == AgentMode::Simulated {
            let at = now + self.config.task_start_delay;
            for state in [TaskState::TaskStarting, TaskState::TaskRunning] {
                self.schedule(
                    at,
                    Timer::SimStatus {
                        framework_id: framework_id.to_owned(),
                        task_id: task_id.clone(),
                        state,
                    },
                );
            }
        }
    }

    /// Process mode: hands the launched tasks to the runtime.
    fn order_launch(
        &mut self,
        framework_id: &str,
        target: &Target,
        tasks: &[TaskInfo],
        executor: Option<ExecutorInfo>,
    ) {
        if self.config.mode != AgentMode::Process {
            return;
        }
        for task in tasks {
            let volumes = self
                .frameworks
                .get(framework_id)
                .and_then(|f| f.tasks.get(&task.task_id.value))
                .map(|t| {
                    t.resources
                        .iter()
                        .filter_map(|r| {
                            let disk = r.disk.as_ref()?;
                            Some((
                                disk.persistence.as_ref()?.id.clone(),
                                disk.volume.as_ref()?.container_path.clone(),
                            ))
                        })
                        .collect()
                })
                .unwrap_or_default();
            self.outputs.push(Output::Launch(Box::new(LaunchOrder {
                agent_id: target.agent_id.clone(),
                framework_id: framework_id.to_owned(),
                task: task.clone(),
                executor: executor.clone(),
                volumes,
            })));
        }
    }

    fn reserve(
        &mut self,
        framework_id: &str,
        target: &Target,
        op: &Operation,
        offered: &mut Resources,
    ) -> Result<(), String> {
        let Some(reserve) = &op.reserve else {
            return Err("Expecting 'reserve' to be present".into());
        };
        if !reserve.source.is_empty() {
            return Err("'Reserve.source' is not supported from schedulers".into());
        }
        if target.role == "*" {
            return Err("Frameworks of role '*' cannot reserve resources".into());
        }
        let principal = self
            .frameworks
            .get(framework_id)
            .and_then(|f| f.info.principal.clone());
        let wanted = Self::incoming(&reserve.resources, &target.role)?;
        let mut next = offered.clone();
        for r in &wanted {
            let Some(top) = r.reservations.last() else {
                return Err(format!(
                    "Invalid RESERVE: {} is not reserved",
                    resources::describe(r)
                ));
            };
            if top.r#type != Some(resources::reservation_type_dynamic()) {
                return Err("Invalid RESERVE: the new reservation must be DYNAMIC".into());
            }
            if top.role.as_deref() != Some(target.role.as_str()) {
                return Err(format!(
                    "Invalid RESERVE: role '{}' does not match the allocation role '{}'",
                    top.role.as_deref().unwrap_or(""),
                    target.role
                ));
            }
            if let (Some(want), Some(have)) = (&top.principal, &principal)
                && want != have
            {
                return Err(format!(
                    "Invalid RESERVE: principal '{want}' does not match the framework's principal '{have}'"
                ));
            }
            if resources::is_persistent_volume(r) {
                return Err("Invalid RESERVE: cannot reserve a persistent volume".into());
            }
            next.subtract(&resources::pop_reservation(r))?;
            next.add(r);
        }
        self.swap_on_agent(target, offered, next)
    }

    fn unreserve(
        &mut self,
        target: &Target,
        op: &Operation,
        offered: &mut Resources,
    ) -> Result<(), String> {
        let Some(unreserve) = &op.unreserve else {
            return Err("Expecting 'unreserve' to be present".into());
        };
        let wanted = Self::incoming(&unreserve.resources, &target.role)?;
        let mut next = offered.clone();
        for r in &wanted {
            let dynamic = r
                .reservations
                .last()
                .is_some_and(|t| t.r#type == Some(resources::reservation_type_dynamic()));
            if !dynamic {
                return Err(format!(
                    "Invalid UNRESERVE: {} is not dynamically reserved",
                    resources::describe(r)
                ));
            }
            if resources::is_persistent_volume(r) {
                return Err(
                    "Invalid UNRESERVE: a persistent volume must be destroyed first".into(),
                );
            }
            next.subtract(r)?;
            next.add(&resources::pop_reservation(r));
        }
        self.swap_on_agent(target, offered, next)
    }

    fn create(
        &mut self,
        framework_id: &str,
        target: &Target,
        op: &Operation,
        offered: &mut Resources,
    ) -> Result<(), String> {
        let Some(create) = &op.create else {
            return Err("Expecting 'create' to be present".into());
        };
        let principal = self
            .frameworks
            .get(framework_id)
            .and_then(|f| f.info.principal.clone());
        let wanted = Self::incoming(&create.volumes, &target.role)?;
        let agent = self.agents.get(&target.agent_id).ok_or("unknown agent")?;
        let mut next = offered.clone();
        for v in &wanted {
            let Some(persistence) = v.disk.as_ref().and_then(|d| d.persistence.as_ref()) else {
                return Err("Invalid CREATE: the resource is not a persistent volume".into());
            };
            let clash = agent.total.iter().any(|r| {
                r.disk
                    .as_ref()
                    .and_then(|d| d.persistence.as_ref())
                    .map(|p| &p.id)
                    == Some(&persistence.id)
                    && resources::reservation_role(r) == resources::reservation_role(v)
            });
            if clash {
                return Err(format!(
                    "Invalid CREATE: persistence ID '{}' is already in use",
                    persistence.id
                ));
            }
            if let (Some(want), Some(have)) = (&persistence.principal, &principal)
                && want != have
            {
                return Err(format!(
                    "Invalid CREATE: principal '{want}' does not match the framework's principal '{have}'"
                ));
            }
            next.subtract(&resources::strip_persistence(v))?;
            next.add(v);
        }
        self.swap_on_agent(target, offered, next)
    }

    fn destroy(
        &mut self,
        target: &Target,
        op: &Operation,
        offered: &mut Resources,
    ) -> Result<(), String> {
        let Some(destroy) = &op.destroy else {
            return Err("Expecting 'destroy' to be present".into());
        };
        let wanted = Self::incoming(&destroy.volumes, &target.role)?;
        let mut next = offered.clone();
        let mut ids = Vec::new();
        for v in &wanted {
            let Some(persistence) = v.disk.as_ref().and_then(|d| d.persistence.as_ref()) else {
                return Err("Invalid DESTROY: the resource is not a persistent volume".into());
            };
            next.subtract(v).map_err(|_| {
                format!(
                    "Invalid DESTROY: volume '{}' is not in the offer (in use?)",
                    persistence.id
                )
            })?;
            next.add(&resources::strip_persistence(v));
            ids.push(persistence.id.clone());
        }
        self.swap_on_agent(target, offered, next)?;
        if self.config.mode == AgentMode::Process {
            for persistence_id in ids {
                self.outputs.push(Output::DestroyVolume {
                    agent_id: target.agent_id.clone(),
                    persistence_id,
                });
            }
        }
        Ok(())
    }

    /// Replaces the offered resources by their converted form, on the agent too.
    fn swap_on_agent(
        &mut self,
        target: &Target,
        offered: &mut Resources,
        next: Resources,
    ) -> Result<(), String> {
        let agent = self
            .agents
            .get_mut(&target.agent_id)
            .ok_or("unknown agent")?;
        // `subtract_all` is all or nothing: no copy of the total needed.
        agent.total.subtract_all(offered)?;
        agent.total.add_all(&next);
        *offered = next;
        Ok(())
    }

    /// Test hook: an agent reports progress of a task (finish, fail, ...).
    pub fn report(&mut self, framework_id: &str, task_id: &str, report: AgentReport, now: Instant) {
        self.agent_update(framework_id, task_id, report, now);
    }
}

/// The tasks a LAUNCH or LAUNCH_GROUP operation carries.
fn operation_tasks(op: &Operation) -> Vec<&TaskInfo> {
    let mut out: Vec<&TaskInfo> = Vec::new();
    if let Some(l) = &op.launch {
        out.extend(l.task_infos.iter());
    }
    if let Some(g) = &op.launch_group {
        out.extend(g.task_group.tasks.iter());
    }
    out
}
