//! Builders for the scheduler calls a framework sends after SUBSCRIBE.
//!
//! Each returns a [`Call`] with its `type` and sub-message set; the
//! [`Caller`](super::Caller) fills in `framework_id` and sends it.

use plinth_proto::v1::scheduler::{Call, call};
use plinth_proto::v1::{AgentId, ExecutorId, Filters, OfferId, TaskId, TaskInfo, offer};

fn typed(kind: call::Type) -> Call {
    Call {
        r#type: Some(kind as i32),
        ..Call::default()
    }
}

/// ACCEPT: apply `operations` in order to the resources of `offer_ids`.
#[must_use]
pub fn accept(
    offer_ids: Vec<OfferId>,
    operations: Vec<offer::Operation>,
    refuse: Option<f64>,
) -> Call {
    Call {
        accept: Some(call::Accept {
            offer_ids,
            operations,
            filters: refuse.map(|s| Filters {
                refuse_seconds: Some(s),
            }),
        }),
        ..typed(call::Type::Accept)
    }
}

/// The LAUNCH operation of an ACCEPT: start `task_infos` (command tasks).
#[must_use]
pub fn launch(task_infos: Vec<TaskInfo>) -> offer::Operation {
    offer::Operation {
        r#type: Some(offer::operation::Type::Launch as i32),
        launch: Some(offer::operation::Launch { task_infos }),
        ..offer::Operation::default()
    }
}

/// DECLINE: give the offers back, refusing them for `refuse` seconds.
#[must_use]
pub fn decline(offer_ids: Vec<OfferId>, refuse: Option<f64>) -> Call {
    Call {
        decline: Some(call::Decline {
            offer_ids,
            filters: refuse.map(|s| Filters {
                refuse_seconds: Some(s),
            }),
        }),
        ..typed(call::Type::Decline)
    }
}

/// REVIVE the given roles (all subscribed roles when empty).
#[must_use]
pub fn revive(roles: Vec<String>) -> Call {
    Call {
        revive: Some(call::Revive { roles }),
        ..typed(call::Type::Revive)
    }
}

/// SUPPRESS offers for the given roles (all when empty).
#[must_use]
pub fn suppress(roles: Vec<String>) -> Call {
    Call {
        suppress: Some(call::Suppress { roles }),
        ..typed(call::Type::Suppress)
    }
}

/// KILL a task.
#[must_use]
pub fn kill(task_id: TaskId, agent_id: Option<AgentId>) -> Call {
    Call {
        kill: Some(call::Kill {
            task_id,
            agent_id,
            kill_policy: None,
        }),
        ..typed(call::Type::Kill)
    }
}

/// ACKNOWLEDGE a status update that carried a `uuid`.
#[must_use]
pub fn acknowledge(agent_id: AgentId, task_id: TaskId, uuid: Vec<u8>) -> Call {
    Call {
        acknowledge: Some(call::Acknowledge {
            agent_id,
            task_id,
            uuid,
        }),
        ..typed(call::Type::Acknowledge)
    }
}

/// RECONCILE the given tasks; an empty list asks for implicit reconciliation.
#[must_use]
pub fn reconcile(tasks: Vec<(TaskId, Option<AgentId>)>) -> Call {
    Call {
        reconcile: Some(call::Reconcile {
            tasks: tasks
                .into_iter()
                .map(|(task_id, agent_id)| call::reconcile::Task { task_id, agent_id })
                .collect(),
        }),
        ..typed(call::Type::Reconcile)
    }
}

/// SHUTDOWN an executor.
#[must_use]
pub fn shutdown(executor_id: ExecutorId, agent_id: AgentId) -> Call {
    Call {
        shutdown: Some(call::Shutdown {
            executor_id,
            agent_id,
        }),
        ..typed(call::Type::Shutdown)
    }
}

/// MESSAGE an executor.
#[must_use]
pub fn message(agent_id: AgentId, executor_id: ExecutorId, data: Vec<u8>) -> Call {
    Call {
        message: Some(call::Message {
            agent_id,
            executor_id,
            data,
        }),
        ..typed(call::Type::Message)
    }
}

/// TEARDOWN the framework: every task is killed and the framework removed.
#[must_use]
pub fn teardown() -> Call {
    typed(call::Type::Teardown)
}
