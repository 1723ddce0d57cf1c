//! Building the scheduler's core from the stored state and a spec: what a
//! start does, and what a config update through the API does again while
//! the scheduler keeps its leadership, its subscription and its API.
//!
//! The spec is validated against the stored target (crate::config): on
//! success it becomes the target and the TaskInfos of pods it does not
//! change are relabelled; on failure the old target stays and the deploy
//! plan carries every reason (ERROR). Plans start with the steps whose tasks
//! already run on the target COMPLETE, so nothing that runs is relaunched.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{LAST_COMPLETED_UPDATE_TYPE, SchedulerError, StoredConfig, observe};
use crate::offer::ServiceContext;
use crate::plan::{PlanInputs, TaskObservation, generate_plans};
use crate::recovery::RecoveryPolicy;
use crate::scheduler::SchedulerCore;
use crate::spec::ServiceSpec;
use crate::state::{AnyPersister, ConfigStore, StateStore};

/// What a core is built with besides the stored state.
#[derive(Debug, Clone)]
pub(super) struct CoreSettings {
    /// Role override.
    pub(super) role: Option<String>,
    /// Principal override.
    pub(super) principal: Option<String>,
    /// Port of the operator API (task env `SCHEDULER_API_PORT`).
    pub(super) api_port: u16,
    /// Seed of generated ids.
    pub(super) seed: u64,
    /// Backoff and unreachable policy.
    pub(super) recovery: RecoveryPolicy,
}

/// A core built from the state and a spec.
pub(super) struct Generation {
    pub(super) core: SchedulerCore,
    /// The spec the core runs: the new one, or the old target's when the
    /// new one was refused.
    pub(super) spec: Arc<ServiceSpec>,
    /// Why the new spec was refused (empty when it was taken).
    pub(super) refused: Vec<String>,
    /// Whether a deploy completed once (the `update` plan applies then).
    pub(super) update_completed: bool,
}

/// Validates `spec` against the stored target, makes it the target when
/// valid, and builds the core over every stored task.
pub(super) async fn build(
    store: &StateStore<AnyPersister>,
    configs: &ConfigStore<StoredConfig, AnyPersister>,
    spec: &ServiceSpec,
    settings: &CoreSettings,
) -> Result<Generation, SchedulerError> {
    let target = StoredConfig {
        service_yml: crate::spec::to_yaml(spec).map_err(|e| SchedulerError::Spec(e.to_string()))?,
    };
    let framework_id = store.fetch_framework_id().await?;
    let mut stored = store.fetch_all_tasks().await?;
    let update = crate::config::apply_update(store, configs, spec, &target, &mut stored).await?;
    let mut observations: BTreeMap<String, TaskObservation> = BTreeMap::new();
    let mut tasks = Vec::new();
    for (name, task) in stored {
        let Some(info) = task.info else { continue };
        if let Some(status) = &task.status {
            observations.insert(name, observe::observation(&info, status));
        }
        tasks.push((info, task.status));
    }
    let update_completed = store
        .fetch_property(LAST_COMPLETED_UPDATE_TYPE)
        .await?
        .is_some_and(|v| v.as_ref() == b"DEPLOY");
    let mut inputs = PlanInputs::new(&update.target_id, &observations);
    inputs.update_completed = update_completed;
    inputs.deploy_errors = &update.deploy_errors;
    let plans = generate_plans(&update.spec, &inputs)?;

    let spec = Arc::new(update.spec);
    let mut ctx = ServiceContext::new(
        Arc::clone(&spec),
        framework_id.map(|f| f.value).unwrap_or_default(),
        update.target_id.clone(),
    );
    if let Some(role) = &settings.role {
        ctx.role.clone_from(role);
    }
    if let Some(principal) = &settings.principal {
        ctx.principal.clone_from(principal);
    }
    ctx.env_context.scheduler_api_port = settings.api_port;
    let core = SchedulerCore::new(ctx, plans, tasks, settings.seed)
        .with_recovery_policy(settings.recovery);
    Ok(Generation {
        core,
        spec,
        refused: update.deploy_errors,
        update_completed,
    })
}
