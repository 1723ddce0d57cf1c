//! Plan, pod and outcome views → gRPC messages.

use super::proto;
use crate::api::{PodInstanceView, TaskView};
use crate::offer::OfferOutcome;
use crate::plan::{Plan, PlanInfo, StepChange};

pub(super) fn plan(plan: &Plan) -> proto::Plan {
    let info = PlanInfo::of(plan);
    proto::Plan {
        name: plan.name().to_string(),
        status: info.status.to_string(),
        strategy: info.strategy,
        errors: info.errors,
        phases: info
            .phases
            .into_iter()
            .map(|p| proto::Phase {
                id: p.id,
                name: p.name,
                status: p.status.to_string(),
                strategy: p.strategy,
                steps: p
                    .steps
                    .into_iter()
                    .map(|s| proto::Step {
                        id: s.id,
                        name: s.name,
                        status: s.status.to_string(),
                        message: s.message,
                    })
                    .collect(),
            })
            .collect(),
    }
}

pub(super) fn step_change(c: &StepChange) -> proto::StepChange {
    proto::StepChange {
        phase: c.phase.clone(),
        step_id: c.step_id.clone(),
        step: c.step.clone(),
        from: c.from.to_string(),
        to: c.to.to_string(),
    }
}

pub(super) fn pod_status(view: PodInstanceView) -> proto::PodStatus {
    proto::PodStatus {
        name: view.name,
        tasks: view
            .tasks
            .into_iter()
            .map(|t| proto::TaskSummary {
                id: t.id,
                name: t.name,
                status: t.status.unwrap_or_default(),
                mesos_status: t.mesos_status.unwrap_or_default(),
                goal_state_override: t.goal_state_override.unwrap_or_default(),
                override_status: t.override_status.unwrap_or_default(),
            })
            .collect(),
    }
}

pub(super) fn task_info_and_status(task: &TaskView) -> proto::TaskInfoAndStatus {
    proto::TaskInfoAndStatus {
        info_json: String::from_utf8_lossy(&plinth_proto::json::to_vec(&*task.info)).into_owned(),
        status_json: task
            .status
            .as_ref()
            .map(|s| String::from_utf8_lossy(&plinth_proto::json::to_vec(s)).into_owned())
            .unwrap_or_default(),
    }
}

pub(super) fn outcome(o: &OfferOutcome) -> proto::OfferOutcome {
    proto::OfferOutcome {
        pod_instance: o.pod_instance.clone(),
        agent_id: o.agent_id.clone(),
        hostname: o.hostname.clone(),
        offer_ids: o.offer_ids.clone(),
        passed: o.passed,
        stages: o
            .stages
            .iter()
            .map(|s| proto::StageOutcome {
                stage: serde_json::to_value(s.stage)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                passed: s.passed,
                message: s.message.clone(),
            })
            .collect(),
    }
}
