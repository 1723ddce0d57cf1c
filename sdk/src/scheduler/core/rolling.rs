//! Rolling config updates in the core: a deploy step whose pod instance
//! still runs tasks launched with an older configuration kills them first
//! (their reservations are offered back only once they are gone), then is
//! evaluated like any step and relaunches the pod in place.

use super::{Effect, SchedulerCore};
use crate::mesos::calls;
use crate::plan::{StepKind, StepRef};

// === impl SchedulerCore ===

impl SchedulerCore {
    /// Kills the live tasks of deploy step `at` that run on a configuration
    /// other than the target; true when there were some (the step waits).
    /// Repeated on every offer cycle until they are gone (KILL is idempotent).
    pub(super) fn kill_stale(&self, at: &StepRef, effects: &mut Vec<Effect>) -> bool {
        let Some(step) = self
            .plans
            .iter()
            .find(|p| p.name() == at.plan)
            .and_then(|p| p.step(at))
        else {
            return false;
        };
        if *step.kind() != StepKind::Deploy {
            return false;
        }
        let Some(instance) = step.pod_instance() else {
            return false;
        };
        let names: Vec<String> = step
            .tasks()
            .into_iter()
            .map(|t| instance.task_name(t))
            .collect();
        // Only the step's own tasks: a lookup each, not a scan of every task.
        let known = names
            .iter()
            .filter_map(|n| self.tasks.get(n))
            .map(|k| (&*k.info, k.status.as_ref()));
        let stale = crate::config::stale_tasks(known, &names, &self.ctx.target_config_id);
        for info in &stale {
            tracing::info!(task = %info.name, step = %step.name(), "rolling update: killing the task running on an older config");
            let agent = Some(info.agent_id.clone()).filter(|a| !a.value.is_empty());
            effects.push(Effect::Call(Box::new(calls::kill(
                info.task_id.clone(),
                agent,
            ))));
        }
        !stale.is_empty()
    }
}
