//! Applying a config update when a scheduler starts: validate the new spec
//! against the stored target, store it as the new target (or keep the old
//! one and report the errors), and relabel the tasks that need no restart.

use std::collections::{BTreeMap, BTreeSet};

use plinth_proto::v1::TaskInfo;
use uuid::Uuid;

use super::{
    ConfigError, UpdateDecision, ValidationContext, decide_update, diff, relabel_kept_tasks,
    spec_from_stored,
};
use crate::offer::labels;
use crate::scheduler::StoredConfig;
use crate::spec::ServiceSpec;
use crate::state::{ConfigStore, Persister, StateStore, StoredTask};

/// What a starting scheduler runs with.
#[derive(Debug, Clone)]
pub struct StartTarget {
    /// The spec the plans are built from: the new one, or the current
    /// target's when the update was rejected.
    pub spec: ServiceSpec,
    /// The target configuration id (the `target_configuration` label).
    pub target_id: String,
    /// Validation errors to show on the deploy plan (the update was rejected
    /// and nothing restarts).
    pub deploy_errors: Vec<String>,
    /// Tasks relabelled with the new target (their pods did not change).
    pub relabelled: Vec<String>,
}

/// Applies `new` (stored as `new_stored`) over the stored target:
///
/// * no target yet: `new` becomes the first target (it must pass the
///   validators of a configuration alone, else [`ConfigError::Invalid`]);
/// * identical: nothing changes;
/// * the validators refuse the transition: the current target stays, the
///   returned spec is the current target's, and `deploy_errors` lists every
///   reason (the deploy plan shows ERROR, nothing restarts);
/// * otherwise `new` becomes the target, and every stored task whose pod
///   spec in the configuration it was launched with equals (ignoring count,
///   placement, `allow-decommission`) its pod spec in `new` gets the new
///   target label — stored, and updated in `tasks` — so it is not
///   relaunched. Configurations no task uses any more are pruned.
///
/// # Errors
/// State errors; [`ConfigError::Invalid`] for an invalid first
/// configuration. A stored configuration that no longer loads is logged and
/// treated as unknown (its tasks restart), never fatal.
pub async fn apply_update<P: Persister>(
    store: &StateStore<P>,
    configs: &ConfigStore<StoredConfig, P>,
    new: &ServiceSpec,
    new_stored: &StoredConfig,
    tasks: &mut BTreeMap<String, StoredTask>,
) -> Result<StartTarget, ConfigError> {
    let current = configs.fetch_target().await?;
    if let Some((id, stored)) = &current
        && stored == new_stored
    {
        return Ok(StartTarget {
            spec: new.clone(),
            target_id: id.to_string(),
            deploy_errors: Vec::new(),
            relabelled: Vec::new(),
        });
    }
    let old = current
        .as_ref()
        .and_then(|(id, stored)| parse_logged(&id.to_string(), &stored.service_yml));
    match decide_update(old.as_ref(), new, &ValidationContext::default()) {
        UpdateDecision::FirstDeployment { errors } if !errors.is_empty() => {
            Err(ConfigError::Invalid { errors })
        }
        UpdateDecision::Rejected { errors } => {
            let Some(((id, _), old)) = current.zip(old) else {
                return Err(ConfigError::Invalid { errors });
            };
            for e in &errors {
                tracing::error!(validator = e.validator, error = %e, "config update rejected; keeping the current target");
            }
            Ok(StartTarget {
                spec: old,
                target_id: id.to_string(),
                deploy_errors: errors.iter().map(ToString::to_string).collect(),
                relabelled: Vec::new(),
            })
        }
        UpdateDecision::FirstDeployment { .. }
        | UpdateDecision::Unchanged
        | UpdateDecision::Accepted { .. } => {
            let id = configs.store_as_target(new_stored).await?.to_string();
            tracing::info!(target = %id, previous = ?current.as_ref().map(|(id, _)| id.to_string()), "new target configuration");
            let relabelled = relabel(store, configs, new, &id, tasks).await?;
            prune(configs, tasks).await;
            Ok(StartTarget {
                spec: new.clone(),
                target_id: id,
                deploy_errors: Vec::new(),
                relabelled,
            })
        }
    }
}

fn parse_logged(id: &str, yml: &str) -> Option<ServiceSpec> {
    match spec_from_stored(id, yml) {
        Ok(spec) => Some(spec),
        Err(e) => {
            tracing::error!(error = %e, "a stored configuration does not load; its tasks will be relaunched");
            None
        }
    }
}

/// Relabels the tasks whose pod is unchanged between the configuration they
/// run with and `new`; returns their names.
async fn relabel<P: Persister>(
    store: &StateStore<P>,
    configs: &ConfigStore<StoredConfig, P>,
    new: &ServiceSpec,
    target: &str,
    tasks: &mut BTreeMap<String, StoredTask>,
) -> Result<Vec<String>, ConfigError> {
    // The configurations the stored tasks were launched with.
    let mut used: BTreeSet<String> = BTreeSet::new();
    for t in tasks.values() {
        if let Some(c) = t
            .info
            .as_ref()
            .and_then(|i| labels::task_label(i, labels::TARGET_CONFIGURATION))
            && c != target
        {
            used.insert(c.to_owned());
        }
    }
    let mut kept_by_config: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for config_id in used {
        let Ok(uuid) = Uuid::parse_str(&config_id) else {
            continue;
        };
        let Some(stored) = configs.fetch(uuid).await? else {
            continue;
        };
        let Some(spec) = parse_logged(&config_id, &stored.service_yml) else {
            continue;
        };
        let kept = diff(&spec, new)
            .kept_pods()
            .into_iter()
            .map(str::to_owned)
            .collect();
        kept_by_config.insert(config_id, kept);
    }
    let mut out: Vec<TaskInfo> = Vec::new();
    for (config_id, kept) in &kept_by_config {
        let kept: Vec<&str> = kept.iter().map(String::as_str).collect();
        let on_config = tasks.values().filter_map(|t| t.info.as_ref()).filter(|i| {
            labels::task_label(i, labels::TARGET_CONFIGURATION) == Some(config_id.as_str())
        });
        out.extend(relabel_kept_tasks(on_config, &kept, target));
    }
    if out.is_empty() {
        return Ok(Vec::new());
    }
    store.store_tasks(&out).await?;
    let names: Vec<String> = out.iter().map(|i| i.name.clone()).collect();
    tracing::info!(tasks = ?names, "pods unchanged by the update keep running (relabelled with the new target)");
    for info in out {
        if let Some(t) = tasks.get_mut(&info.name) {
            t.info = Some(info);
        }
    }
    Ok(names)
}

/// Drops configurations that are neither the target nor used by a task.
async fn prune<P: Persister>(
    configs: &ConfigStore<StoredConfig, P>,
    tasks: &BTreeMap<String, StoredTask>,
) {
    let keep: BTreeSet<Uuid> = tasks
        .values()
        .filter_map(|t| t.info.as_ref())
        .filter_map(|i| labels::task_label(i, labels::TARGET_CONFIGURATION))
        .filter_map(|c| Uuid::parse_str(c).ok())
        .collect();
    match configs.prune(&keep).await {
        Ok(gone) if !gone.is_empty() => tracing::debug!(?gone, "pruned unused configurations"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "pruning unused configurations"),
    }
}
