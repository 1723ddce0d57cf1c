//! Test fixture for the core: a spec deployed on fake offers, statuses
//! made up on demand, and a clock that only moves when told to.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use plinth_proto::v1::resource::AllocationInfo;
use plinth_proto::v1::scheduler::call;
use plinth_proto::v1::{
    AgentId, ExecutorId, FrameworkId, Offer, OfferId, Resource, TaskInfo, TaskState, TaskStatus,
    value,
};

use super::{Effect, Input, SchedulerCore};
use crate::offer::ServiceContext;
use crate::plan::{Plan, PlanInputs, generate_plans};
use crate::recovery::RecoveryPolicy;
use crate::scheduler::command::{Command, CommandResult};

pub(super) const ROLE: &str = "svc-role";

fn scalar(name: &str, v: f64) -> Resource {
    let mut r = Resource {
        name: name.into(),
        scalar: Some(value::Scalar { value: v }),
        allocation_info: Some(AllocationInfo {
            role: Some(ROLE.into()),
        }),
        ..Resource::default()
    };
    r.set_type(value::Type::Scalar);
    r
}

/// An offer of `agent` with `resources`.
pub(super) fn offer_of(id: &str, agent: &str, resources: Vec<Resource>) -> Offer {
    Offer {
        id: OfferId { value: id.into() },
        framework_id: FrameworkId {
            value: "fw-1".into(),
        },
        agent_id: AgentId {
            value: agent.into(),
        },
        hostname: format!("host-{agent}"),
        resources,
        allocation_info: Some(AllocationInfo {
            role: Some(ROLE.into()),
        }),
        ..Offer::default()
    }
}

/// An offer of plenty of unreserved resources on `agent`.
pub(super) fn offer(id: &str, agent: &str) -> Offer {
    offer_of(
        id,
        agent,
        vec![
            scalar("cpus", 4.0),
            scalar("mem", 4096.0),
            scalar("disk", 4096.0),
        ],
    )
}

/// A status of `info` in `state` (with a uuid, as agents send them).
pub(super) fn status(info: &TaskInfo, state: TaskState) -> TaskStatus {
    let mut s = TaskStatus {
        task_id: info.task_id.clone(),
        agent_id: Some(info.agent_id.clone()),
        uuid: Some(b"u".to_vec()),
        ..TaskStatus::default()
    };
    s.set_state(state);
    s
}

/// Task ids of the KILLs among `effects`.
pub(super) fn kills(effects: &[Effect]) -> Vec<String> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Call(c) if c.r#type == Some(call::Type::Kill as i32) => {
                c.kill.as_ref().map(|k| k.task_id.value.clone())
            }
            _ => None,
        })
        .collect()
}

/// A core on a paused clock.
pub(super) struct Sim {
    pub(super) core: SchedulerCore,
    pub(super) now: Instant,
    offers: u64,
}

impl Sim {
    /// A subscribed core for `yaml` with `stored` tasks.
    pub(super) fn new(yaml: &str, stored: Vec<(TaskInfo, Option<TaskStatus>)>) -> Self {
        Self::with_policy(yaml, stored, RecoveryPolicy::default())
    }

    /// [`Sim::new`] with a recovery policy.
    pub(super) fn with_policy(
        yaml: &str,
        stored: Vec<(TaskInfo, Option<TaskStatus>)>,
        policy: RecoveryPolicy,
    ) -> Self {
        let spec = crate::spec::load_str(yaml, &BTreeMap::new(), Some("svc.yml"))
            .unwrap()
            .spec;
        let observations = stored
            .iter()
            .filter_map(|(info, status)| {
                status
                    .as_ref()
                    .map(|s| (info.name.clone(), super::observe::observation(info, s)))
            })
            .collect();
        let plans = generate_plans(&spec, &PlanInputs::new("cfg-1", &observations)).unwrap();
        let ctx = ServiceContext::new(Arc::new(spec), "", "cfg-1");
        let mut sim = Sim {
            core: SchedulerCore::new(ctx, plans, stored, 7).with_recovery_policy(policy),
            now: Instant::now(),
            offers: 0,
        };
        sim.input(Input::Subscribed(FrameworkId {
            value: "fw-1".into(),
        }));
        sim
    }

    /// [`Sim::new`] whose explicit reconciliation the master has answered
    /// (every stored status again, without a uuid): ready for offers.
    pub(super) fn reconciled(yaml: &str, stored: Vec<(TaskInfo, Option<TaskStatus>)>) -> Self {
        let mut sim = Self::new(yaml, stored);
        for (_, status) in sim.stored() {
            if let Some(mut status) = status {
                status.uuid = None;
                sim.input(Input::Update(status));
            }
        }
        assert!(sim.core.is_ready(), "reconciled");
        sim
    }

    /// Handles one input at the current instant.
    pub(super) fn input(&mut self, input: Input) -> Vec<Effect> {
        self.core.handle(input, self.now)
    }

    /// Moves the clock and ticks.
    pub(super) fn advance(&mut self, by: Duration) -> Vec<Effect> {
        self.now += by;
        self.input(Input::Tick)
    }

    /// Offers `agent`'s resources plus `extra` (e.g. our reservations).
    pub(super) fn offer(&mut self, agent: &str, extra: &[Resource]) -> Vec<Effect> {
        self.offer_with(agent, extra, &[])
    }

    /// Offers `agent`'s resources plus `reserved`, with `executors` running.
    pub(super) fn offer_with(
        &mut self,
        agent: &str,
        reserved: &[Resource],
        executors: &[ExecutorId],
    ) -> Vec<Effect> {
        self.offers += 1;
        let mut o = offer(&format!("o{}", self.offers), agent);
        o.resources.extend(reserved.iter().cloned());
        o.executor_ids = executors.to_vec();
        self.input(Input::Offers(vec![o]))
    }

    /// A status update for stored task `name`.
    pub(super) fn report(&mut self, name: &str, state: TaskState) -> Vec<Effect> {
        let info = self.task(name);
        self.input(Input::Update(status(&info, state)))
    }

    /// Offers `agent` until no step waits, answering every launch with RUNNING.
    pub(super) fn deploy(&mut self, agent: &str) {
        self.deploy_answering(agent, |_| TaskState::TaskRunning);
    }

    /// [`Sim::deploy`], answering the launch of each task with `answer(name)`
    /// (e.g. FINISHED for ONCE tasks).
    pub(super) fn deploy_answering(&mut self, agent: &str, answer: impl Fn(&str) -> TaskState) {
        for _ in 0..8 {
            self.offer(agent, &[]);
            let launched: Vec<String> = self
                .core
                .tasks()
                .filter(|(i, s)| {
                    !i.task_id.value.is_empty() && s.is_none_or(|s| s.task_id != i.task_id)
                })
                .map(|(i, _)| i.name.clone())
                .collect();
            for name in launched {
                self.report(&name, answer(&name));
            }
        }
    }

    /// Sends `command` as request 9: the other effects and the reply.
    pub(super) fn command(&mut self, command: Command) -> (Vec<Effect>, CommandResult) {
        let mut effects = self.input(Input::Command(9, command));
        let at = effects
            .iter()
            .position(|e| matches!(e, Effect::Reply(9, _)))
            .expect("a reply");
        let Effect::Reply(_, result) = effects.remove(at) else {
            unreachable!()
        };
        (effects, result)
    }

    /// Stored TaskInfo of `name`.
    pub(super) fn task(&self, name: &str) -> TaskInfo {
        self.core
            .tasks()
            .find(|(i, _)| i.name == name)
            .map(|(i, _)| i.clone())
            .unwrap_or_else(|| panic!("no task {name}"))
    }

    /// The plan named `name`.
    pub(super) fn plan(&self, name: &str) -> &Plan {
        self.core
            .plans()
            .iter()
            .find(|p| p.name() == name)
            .unwrap_or_else(|| panic!("no plan {name}"))
    }

    /// Every stored task with its latest status.
    pub(super) fn stored(&self) -> Vec<(TaskInfo, Option<TaskStatus>)> {
        self.core
            .tasks()
            .map(|(i, s)| (i.clone(), s.cloned()))
            .collect()
    }
}
